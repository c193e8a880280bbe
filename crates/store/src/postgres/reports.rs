//! Report reads: clicks from the rollups when they hold every requested
//! dimension (else raw clicks), conversions from their rows. The same
//! shapes as SQLite's, in PostgreSQL's SQL (SUM of a bigint is numeric
//! there, hence the casts).

use clickledger_domain::Status;

use super::sql::{corrupt, first_click_id_at, pg_error, scope_clause, Where};
use super::PgStore;
use crate::model::*;
use crate::StoreResult;

const QUARTER: i64 = 900_000;
const DAY: i64 = 86_400_000;

pub async fn click_buckets(s: &PgStore, q: &ReportQuery) -> StoreResult<Vec<BucketRow>> {
    use Dimension::*;
    let ranges: Vec<(i64, i64)> = if q.ranges.is_empty() {
        vec![(q.from_ms, q.to_ms)]
    } else {
        q.ranges.clone()
    };
    if ranges.iter().all(|(a, b)| a >= b) {
        return Ok(Vec::new());
    }
    let width = if q.grain == Grain::Day { DAY } else { QUARTER };
    let aligned = ranges.iter().all(|(a, b)| a % width == 0 && b % width == 0);
    let mut used: Vec<Dimension> = q
        .dimensions
        .iter()
        .copied()
        .chain(q.filters.iter().map(|(d, _)| *d))
        .filter(|d| !matches!(d, Event | Status))
        .collect();
    if let Scope::Affiliate(_) = q.scope {
        used.push(Affiliate);
    }
    let fits = |has: &[Dimension]| used.iter().all(|d| *d == Offer || has.contains(d));
    let suffix = if q.grain == Grain::Day { "d" } else { "q" };
    // (table, whether offer/affiliate come from the links join)
    let rollup = match () {
        _ if !aligned => None,
        _ if fits(&[Affiliate, Link, Source]) => Some(("rollup_link", true)),
        _ if fits(&[Country, Device]) => Some(("rollup_geo", false)),
        _ if fits(&[Affiliate, Sub(1)]) => Some(("rollup_sub", false)),
        _ => None,
    };
    if rollup.is_none() && q.grain == Grain::Day {
        // no day rollup has these dimensions: read raw clicks instead
        let mut raw = q.clone();
        raw.grain = Grain::Quarter;
        return Box::pin(click_buckets(s, &raw)).await;
    }
    let joined = matches!(rollup, Some((_, true)) | None);
    let value = |d: &Dimension| match (d, rollup) {
        (Event | Status, _) => "''".to_string(),
        (Offer, _) if joined => "l.offer_id".to_string(),
        (Affiliate, _) if joined => "l.affiliate_id".to_string(),
        (d, Some(_)) => format!("r.{}", d.column()),
        (Device | Os | Browser, None) => format!("u.{}", d.column()),
        (d, None) => format!("COALESCE(r.{}, '')", d.column()),
    };
    let dims: Vec<String> = q.dimensions.iter().map(value).collect();
    let mut w = Where::default();
    let offer_col = value(&Offer);
    scope_clause(
        &mut w,
        &q.scope,
        &value(&Affiliate),
        &format!("{offer_col} IN (SELECT id FROM offers WHERE advertiser_id = ?)"),
    );
    for (d, vals) in &q.filters {
        if !matches!(d, Event | Status) {
            w.add_in(&value(d), vals);
        }
    }
    let mut spans = Vec::new();
    for (a, b) in &ranges {
        let (from, to) = match rollup {
            Some(_) => ("r.bucket_ms", (w.arg(*a), w.arg(*b))),
            None => (
                "r.id",
                (w.arg(first_click_id_at(*a)), w.arg(first_click_id_at(*b))),
            ),
        };
        spans.push(format!("({from} >= {} AND {from} < {})", to.0, to.1));
    }
    w.clauses.push(format!("({})", spans.join(" OR ")));
    let (time, source, counts) = match rollup {
        Some((table, joined)) => (
            "r.bucket_ms".to_string(),
            if joined {
                format!("{table}_{suffix} r JOIN links l ON l.id = r.link_id")
            } else {
                format!("{table}_{suffix} r")
            },
            "SUM(r.clicks)::bigint, SUM(r.unique_clicks)::bigint, SUM(r.bot_clicks)::bigint, SUM(r.suspicious_clicks)::bigint",
        ),
        None => {
            w.clauses.push("NOT r.test".into());
            let mut source = "clicks r".to_string();
            if !matches!(q.scope, Scope::All) || used.iter().any(|d| matches!(d, Offer | Affiliate)) {
                source.push_str(" JOIN links l ON l.id = r.link_id");
            }
            if used.iter().any(|d| matches!(d, Device | Os | Browser)) {
                source.push_str(" JOIN user_agents u ON u.id = r.ua_id");
            }
            (
                format!("(r.ts_ms / {QUARTER}) * {QUARTER}"),
                source,
                "COUNT(*), SUM(r.is_unique::int)::bigint, SUM(r.is_bot::int)::bigint, SUM(r.suspicious::int)::bigint",
            )
        }
    };
    let select_dims: String = dims
        .iter()
        .enumerate()
        .map(|(i, d)| format!(", {d} AS d{i}"))
        .collect();
    let group: Vec<String> = (1..=dims.len() + 1).map(|i| i.to_string()).collect();
    let sql = format!(
        "SELECT {time} AS b{select_dims}, {counts} FROM {source} {} GROUP BY {}",
        w.sql(),
        group.join(", ")
    );
    let n = dims.len();
    let c = s.client().await?;
    let rows = c.query(&sql, &w.params()).await.map_err(pg_error)?;
    Ok(rows
        .iter()
        .map(|r| BucketRow {
            bucket_ms: r.get(0),
            values: (0..n).map(|i| r.get(1 + i)).collect(),
            clicks: r.get(1 + n),
            unique_clicks: r.get(2 + n),
            bot_clicks: r.get(3 + n),
            suspicious_clicks: r.get(4 + n),
        })
        .collect())
}

pub async fn conversion_facts(s: &PgStore, q: &ReportQuery) -> StoreResult<Vec<ConversionFact>> {
    let time = if q.by_conversion_time {
        "conv_ms"
    } else {
        "click_ms"
    };
    let value = |d: &Dimension| format!("COALESCE({}, '')", d.column());
    let dims: String = q
        .dimensions
        .iter()
        .map(|d| format!("{}, ", value(d)))
        .collect();
    let mut w = Where::default();
    scope_clause(&mut w, &q.scope, "affiliate_id", "advertiser_id = ?");
    w.clauses.push("NOT test".into());
    if q.by_conversion_time {
        w.push("conv_ms >= ?", q.from_ms);
        w.push("conv_ms < ?", q.to_ms);
    } else {
        // by click time, through the click-id index
        w.push("click_id >= ?", first_click_id_at(q.from_ms));
        w.push("click_id < ?", first_click_id_at(q.to_ms));
    }
    for (d, vals) in &q.filters {
        w.add_in(&value(d), vals);
    }
    let sql = format!(
        "SELECT {time}, {dims}event, status, payout_base_micros, revenue_base_micros, conv_ms - click_ms, duplicates,
                parent_id IS NOT NULL, capped
         FROM conversions {}",
        w.sql()
    );
    let n = q.dimensions.len();
    let c = s.client().await?;
    let rows = c.query(&sql, &w.params()).await.map_err(pg_error)?;
    rows.iter()
        .map(|r| {
            let time_ms: i64 = r.get(0);
            let status: &str = r.get(n + 2);
            Ok(ConversionFact {
                time_ms,
                values: (0..n).map(|i| r.get(1 + i)).collect(),
                event: r.get(n + 1),
                status: Status::parse(status).ok_or_else(|| {
                    corrupt(
                        "conversions",
                        format_args!("at {time_ms} ms"),
                        "status",
                        status,
                        "a status",
                    )
                })?,
                payout_base_micros: r.get(n + 3),
                revenue_base_micros: r.get(n + 4),
                delay_seconds: r.get::<_, i64>(n + 5) / 1000,
                duplicates: r.get(n + 6),
                refund: r.get(n + 7),
                capped: r.get(n + 8),
            })
        })
        .collect()
}

pub async fn failed_postbacks(
    s: &PgStore,
    from_ms: i64,
    to_ms: i64,
) -> StoreResult<Vec<(i64, String, i64)>> {
    let c = s.client().await?;
    let rows = c
        .query(
            &format!(
                "SELECT (ts_ms / {QUARTER}) * {QUARTER} AS b, COALESCE(offer_id, '') AS o, COUNT(*) FROM postback_log
                 WHERE result = 'rejected' AND ts_ms >= $1 AND ts_ms < $2 GROUP BY b, o"
            ),
            &[&from_ms, &to_ms],
        )
        .await
        .map_err(pg_error)?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}
