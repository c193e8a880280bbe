//! Report reads: clicks and conversions per bucket from the rollups of the
//! shape that holds every requested dimension (else from raw rows), and
//! refused postbacks per bucket.

use super::{first_click_id_at, Query, Value};
use crate::conversion_rollup;
use crate::model::*;
use crate::rollup::ROLLUPS;

const QUARTER: i64 = 900_000;

/// The ranges a report reads (`from..to` when none are given); `None` when
/// they are all empty.
fn ranges_of(q: &ReportQuery) -> Option<Vec<(i64, i64)>> {
    let ranges: Vec<(i64, i64)> = if q.ranges.is_empty() {
        vec![(q.from_ms, q.to_ms)]
    } else {
        q.ranges.clone()
    };
    (!ranges.iter().all(|(a, b)| a >= b)).then_some(ranges)
}

/// Dimensions a report groups or filters by, event and status aside.
fn used(q: &ReportQuery) -> Vec<Dimension> {
    use Dimension::*;
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
    used
}

/// The rollup shape (its place in `ROLLUPS`) that has every dimension the
/// report uses (the offer is in all but those keyed by affiliate or by a
/// sub slot without it), smallest first. `None`: only raw
/// rows have them, or the ranges do not fall on the grain's buckets.
fn pick(q: &ReportQuery, ranges: &[(i64, i64)]) -> Option<usize> {
    let on_grain = |a: i64, b: i64| match q.grain {
        // a range of days starts on a UTC day or a local one (`LocalDays`)
        Grain::Day => (b - a).rem_euclid(Grain::Day.end(0)) == 0,
        g => g.start(a) == a && g.start(b) == b,
    };
    if !ranges.iter().all(|(a, b)| on_grain(*a, *b)) {
        return None;
    }
    shape(q)
}

/// Whether a rollup has every dimension the report uses: if not, it reads
/// raw clicks and conversions, 15 minutes at a time, whatever its grain.
pub fn rollup_serves(q: &ReportQuery) -> bool {
    shape(q).is_some()
}

/// The smallest rollup shape with every dimension the report uses.
pub(crate) fn shape(q: &ReportQuery) -> Option<usize> {
    use Dimension::*;
    if q.raw {
        return None;
    }
    let used = used(q);
    let fits = |has: &[Dimension]| used.iter().all(|d| *d == Offer || has.contains(d));
    // a shape with no offer column: only when neither a dimension, a
    // filter nor the scope needs the offer (or its advertiser)
    let without_offer = |has: &[Dimension]| {
        used.iter().all(|d| has.contains(d)) && !matches!(q.scope, Scope::Advertiser(_))
    };
    // a shape keyed by its values alone: unscoped, nothing else used
    let unscoped =
        |has: &[Dimension]| matches!(q.scope, Scope::All) && used.iter().all(|u| has.contains(u));
    let alone = |d: Dimension| unscoped(&[d]);
    let stem = match () {
        _ if fits(&[]) => "rollup_offer",
        _ if fits(&[Source]) => "rollup_source",
        // sub1 or the country alone, unscoped: the value's own rollup, as
        // sub2 to sub5; the affiliate alone, unscoped or a partner's own
        // (not an advertiser's, whose scope is by offer)
        _ if alone(Sub(1)) => "rollup_sub1_alone",
        _ if alone(Country) => "rollup_country_alone",
        _ if without_offer(&[Affiliate]) => "rollup_affiliate_alone",
        _ if fits(&[Country, Device, Os, Browser]) => "rollup_geo",
        _ if fits(&[Affiliate]) => "rollup_affiliate",
        _ if fits(&[Sub(1)]) => "rollup_sub1",
        _ if without_offer(&[Affiliate, Sub(1)]) => "rollup_affiliate_sub1",
        _ if without_offer(&[Affiliate, Country, Device, Os, Browser]) => "rollup_affiliate_geo",
        _ if fits(&[Affiliate, Link]) => "rollup_link_offer",
        _ if fits(&[Affiliate, Link, Source, Rule, Target]) => "rollup_link",
        _ if fits(&[Affiliate, Sub(1)]) => "rollup_sub",
        _ if fits(&[Affiliate, Link, Country]) => "rollup_link_country",
        // the pairs no shape above holds: unscoped (no offer, no
        // affiliate), but for the link's, which has its offer
        _ if unscoped(&[Source, Country]) => "rollup_source_country",
        _ if unscoped(&[Source, Device]) => "rollup_source_device",
        _ if unscoped(&[Source, Sub(1)]) => "rollup_source_sub1",
        _ if unscoped(&[Sub(1), Country]) => "rollup_sub1_country",
        _ if unscoped(&[Sub(1), Device]) => "rollup_sub1_device",
        _ if fits(&[Affiliate, Link, Device]) => "rollup_link_device",
        // sub2 to sub5: the slot's own rollup (no offer, no affiliate)
        // serves unscoped reports by that slot alone (and event or
        // status); the slot with its affiliate, a partner's or one
        // filtered by affiliate. Neither has an offer.
        _ => {
            let slot = used.iter().find_map(|d| match d {
                Sub(n) if (2..=5).contains(n) => Some(*n),
                _ => None,
            })?;
            let columns: &[&str] = if alone(Sub(slot)) {
                &[Sub(slot).column()]
            } else if without_offer(&[Affiliate, Sub(slot)]) {
                &["affiliate_id", Sub(slot).column()]
            } else {
                return None;
            };
            return ROLLUPS.iter().position(|r| r.columns == columns);
        }
    };
    ROLLUPS.iter().position(|r| r.stem == stem)
}

/// Whether a shape is keyed by link, not by affiliate (a link's affiliate
/// never changes): an affiliate is read from the links.
fn by_link(which: usize) -> bool {
    let columns = ROLLUPS[which].columns;
    columns.contains(&"link_id") && !columns.contains(&"affiliate_id")
}

/// Whether a report reads its affiliate from the links join: its shape is
/// keyed by link, and it groups by affiliate. A report by link alone joins
/// nothing (the join cost a lookup per rollup row), and one filtered or
/// scoped by affiliate reads the affiliate's links (`links_of`) instead.
fn joined(q: &ReportQuery, which: usize) -> bool {
    by_link(which) && q.dimensions.contains(&Dimension::Affiliate)
}

/// Affiliates as the set of their links, for rows keyed by link. Beside
/// the buckets listed one by one, SQLite seeks each bucket and link in the
/// key and reads no other link's rows: a partner's report by country read
/// 50 ms of conversion month rows through the join, 1 ms so (10 M clicks).
fn links_of(marks: &str) -> String {
    format!("r.link_id IN (SELECT id FROM links WHERE affiliate_id IN ({marks}))")
}

impl Query {
    /// Only what the report's scope may see, with its filters (`value`: a
    /// dimension's SQL; `advertiser`: the clause for an advertiser's scope;
    /// `as_links`: an affiliate as the set of its links; event and status
    /// are left to the caller, `skip`).
    fn restrict(
        &mut self,
        q: &ReportQuery,
        value: &dyn Fn(&Dimension) -> String,
        advertiser: &str,
        as_links: bool,
        skip: &dyn Fn(&Dimension) -> bool,
    ) {
        match &q.scope {
            Scope::Affiliate(id) if as_links => self.any_of_in(links_of, std::slice::from_ref(id)),
            scope => self.scope(scope, &value(&Dimension::Affiliate), advertiser),
        }
        for (d, vals) in q.filters.iter().filter(|(d, _)| !skip(d)) {
            match d {
                Dimension::Affiliate if as_links => self.any_of_in(links_of, vals),
                d => self.any_of(&value(d), vals),
            }
        }
    }
}

/// Who sums a rollup read's rows per bucket and key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Summing {
    /// The database: `SUM` per figure and `GROUP BY` (PostgreSQL, whose
    /// aggregates cost less than sending it every row).
    Sql,
    /// The backend's reader, from rows selected as they are stored:
    /// SQLite's `GROUP BY` with a `SUM` per figure took 3 times as long as
    /// reading the same rows plainly (geo week rows by country, 26,824 rows
    /// of 24 figures: 39 ms against 13). Each row's bucket is its own: a
    /// reader of a `whole` report keeps the earliest per key.
    Reader,
}

/// A rollup table's rows in the report's ranges, scope and filters, summed
/// per bucket and dimension (then per event and status for a conversion
/// rollup: `conversions`), by the database or by the reader (`summing`).
/// Click rollups have no event or status: those dimensions read '' there.
fn from_rollup(
    q: &ReportQuery,
    ranges: &[(i64, i64)],
    which: usize,
    table: &str,
    conversions: bool,
    metrics: &[impl AsRef<str>],
    summing: Summing,
) -> Source {
    use Dimension::{Affiliate, Event, Status};
    let joined = joined(q, which);
    let value = |d: &Dimension| match d {
        Event | Status if !conversions => "''".to_string(),
        Affiliate if joined => "l.affiliate_id".to_string(),
        d => format!("r.{}", d.column()),
    };
    let mut columns: Vec<String> = q.dimensions.iter().map(value).collect();
    if conversions {
        columns.extend(["r.event".to_string(), "r.status".to_string()]);
    }
    let select: String = columns
        .iter()
        .enumerate()
        .map(|(i, d)| format!(", {d} AS d{i}"))
        .collect();
    let source = if joined {
        format!("{table} r JOIN links l ON l.id = r.link_id")
    } else {
        format!("{table} r")
    };
    // summed over all the ranges: the earliest bucket stands for them
    let whole = q.whole && !columns.is_empty() && summing == Summing::Sql;
    let bucket = if whole {
        "MIN(r.bucket_ms)"
    } else {
        "r.bucket_ms"
    };
    // grouped by its bucket and every key column, a row is its own group:
    // summing would copy it, at a cost per figure (by day and sub2 on
    // PostgreSQL summed 135,000 rows of 24 figures into NUMERIC and back)
    let grouped: Vec<&str> = q.dimensions.iter().map(|d| d.column()).collect();
    let own_group = !q.whole && ROLLUPS[which].columns.iter().all(|c| grouped.contains(c));
    let plain = own_group || summing == Summing::Reader;
    let figures: Vec<String> = metrics
        .iter()
        .map(|c| {
            if plain {
                format!("r.{}", c.as_ref())
            } else {
                // PostgreSQL sums BIGINTs into NUMERIC
                format!("CAST(SUM(r.{}) AS BIGINT)", c.as_ref())
            }
        })
        .collect();
    let mut out = Query::new(format!(
        "SELECT {bucket} AS b{select}, {} FROM {source}",
        figures.join(", ")
    ));
    out.restrict(
        q,
        &value,
        "r.offer_id IN (SELECT id FROM offers WHERE advertiser_id = ?)",
        by_link(which) && !joined,
        &|d| !conversions && matches!(d, Event | Status),
    );
    if conversions {
        let basis = if q.by_conversion_time {
            "conversion"
        } else {
            "click"
        };
        out.push("r.basis = ?", vec![Value::from(basis)]);
    }
    let filtered = q.scope != Scope::All || !q.filters.is_empty();
    out.push_buckets(q.grain, ranges, filtered);
    if own_group {
        return Source::Rollup(out);
    }
    if summing == Summing::Reader {
        return Source::Unsummed(out);
    }
    let first = if whole { 2 } else { 1 };
    let group: Vec<String> = (first..=columns.len() + 1).map(|i| i.to_string()).collect();
    out.tail = format!("GROUP BY {}", group.join(", "));
    Source::Rollup(out)
}

/// At most this many buckets are listed one by one (see `push_buckets`).
const LISTED_BUCKETS: usize = 2_000;
/// At most this many buckets of one range are listed when the key is
/// filtered.
const SOUGHT_BUCKETS: usize = 100;

impl Query {
    /// Only rows of `r.bucket_ms` in `ranges` (of `grain`'s buckets). One
    /// range is one index range; several are listed bucket by bucket, each
    /// an index seek: both SQLite and PostgreSQL read every row under the
    /// key prefix for ranges joined with OR (the whole 15-minute table for
    /// a week's correction rows at either end). A few buckets of one range
    /// are listed too when the key after the bucket is `filtered` (a link,
    /// an offer, a partner's links): with the bucket equal, the filter is a
    /// seek in the key rather than a test of every row in the range.
    fn push_buckets(&mut self, grain: Grain, ranges: &[(i64, i64)], filtered: bool) {
        // months differ in length: each bucket's end is the next's start
        let starts = || {
            ranges.iter().flat_map(move |&(a, b)| {
                std::iter::successors(Some(a), move |s| Some(grain.end(*s)))
                    .take_while(move |s| *s < b)
            })
        };
        let listed = if ranges.len() > 1 {
            LISTED_BUCKETS
        } else if filtered {
            SOUGHT_BUCKETS
        } else {
            0
        };
        if starts().take(listed + 1).count() <= listed {
            let buckets: Vec<Value> = starts().map(Value::Int).collect();
            let marks = vec!["?"; buckets.len()].join(", ");
            self.push(&format!("r.bucket_ms IN ({marks})"), buckets);
            return;
        }
        // a day table holds local days beside UTC days (`LocalDays`): a
        // range of days reads those of its first day's phase
        let (span, phase) = if grain == Grain::Day {
            (
                "(r.bucket_ms >= ? AND r.bucket_ms < ? AND r.bucket_ms % 86400000 = ?)",
                true,
            )
        } else {
            ("(r.bucket_ms >= ? AND r.bucket_ms < ?)", false)
        };
        let spans = vec![span; ranges.len()];
        self.push(
            &format!("({})", spans.join(" OR ")),
            ranges
                .iter()
                .flat_map(|(a, b)| {
                    let p = phase.then(|| Value::Int(day_phase(*a)));
                    [Value::Int(*a), Value::Int(*b)].into_iter().chain(p)
                })
                .collect(),
        );
    }
}

/// Clicks per bucket and the requested dimensions: columns bucket, one per
/// dimension, clicks, unique, bot, suspicious. `None` when the ranges are
/// empty. Test clicks never count.
pub(crate) fn click_buckets(q: &ReportQuery, summing: Summing) -> Option<Source> {
    let ranges = ranges_of(q)?;
    let Some(which) = pick(q, &ranges) else {
        if q.grain != Grain::Quarter {
            // no rollup has these dimensions: read raw clicks instead
            let mut raw = q.clone();
            raw.grain = Grain::Quarter;
            return click_buckets(&raw, summing);
        }
        return Some(Source::Raw(raw_clicks(q, &ranges)));
    };
    Some(from_rollup(
        q,
        &ranges,
        which,
        &format!("{}_{}", ROLLUPS[which].stem, q.grain.suffix()),
        false,
        &["clicks", "unique_clicks", "bot_clicks", "suspicious_clicks"],
        summing,
    ))
}

/// Clicks per 15 minutes from the raw rows, for dimensions no rollup has.
fn raw_clicks(q: &ReportQuery, ranges: &[(i64, i64)]) -> Query {
    use Dimension::*;
    let used = used(q);
    // raw clicks take their affiliate from their link, their offer from
    // the flow's choice or else their link, device, OS and browser from
    // their user agent
    let value = |d: &Dimension| match d {
        Event | Status => "''".to_string(),
        Offer => "COALESCE(r.offer_id, l.offer_id)".to_string(),
        Affiliate => "l.affiliate_id".to_string(),
        Device | Os | Browser => format!("u.{}", d.column()),
        d => format!("COALESCE(r.{}, '')", d.column()),
    };
    // join only what the query reads: a join costs a lookup per click
    // (SQLite kept unused LEFT JOINs: 7.5 → 9.5 s on 10M). An affiliate
    // only filtered on (or a partner's scope) is a set of links instead:
    // a lookup in it per click took half the join's time (777,000 clicks:
    // 0.52-0.84 s against 1.28-1.46 s on SQLite)
    let joined = matches!(q.scope, Scope::Advertiser(_))
        || q.dimensions.iter().any(|d| matches!(d, Offer | Affiliate))
        || q.filters.iter().any(|(d, _)| *d == Offer);
    let mut source = "clicks r".to_string();
    if joined {
        source.push_str(" JOIN links l ON l.id = r.link_id");
    }
    if used.iter().any(|d| matches!(d, Device | Os | Browser)) {
        source.push_str(" JOIN user_agents u ON u.id = r.ua_id");
    }
    let select: String = q
        .dimensions
        .iter()
        .map(value)
        .enumerate()
        .map(|(i, d)| format!(", {d} AS d{i}"))
        .collect();
    let mut out = Query::new(format!(
        "SELECT (r.ts_ms / {QUARTER}) * {QUARTER} AS b{select}, COUNT(*), \
         CAST(SUM(CASE WHEN r.is_unique THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN r.is_bot THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN r.suspicious THEN 1 ELSE 0 END) AS BIGINT) FROM {source}"
    ));
    // an affiliate as the set of its links (a partner's scope the same)
    out.restrict(
        q,
        &value,
        &format!(
            "{} IN (SELECT id FROM offers WHERE advertiser_id = ?)",
            value(&Offer)
        ),
        !joined,
        &|d| matches!(d, Event | Status),
    );
    let spans = vec!["(r.id >= ? AND r.id < ?)"; ranges.len()];
    out.push(
        &format!("({})", spans.join(" OR ")),
        ranges
            .iter()
            .flat_map(|(a, b)| {
                [
                    Value::Bytes(first_click_id_at(*a)),
                    Value::Bytes(first_click_id_at(*b)),
                ]
            })
            .collect(),
    );
    out.push("r.test = FALSE", vec![]);
    let group: Vec<String> = (1..=q.dimensions.len() + 1)
        .map(|i| i.to_string())
        .collect();
    out.tail = format!("GROUP BY {}", group.join(", "));
    out
}

/// Where a report's figures come from.
pub(crate) enum Source {
    /// A rollup, a row per bucket and key: summed by the database, or each
    /// stored row its own group. Columns: bucket, one per dimension, (for
    /// conversions) event and status, then the figures (clicks, unique,
    /// bot, suspicious; or `conversion_rollup::Metrics`).
    Rollup(Query),
    /// A rollup's rows as stored, with the same columns, several per bucket
    /// and key: the reader sums them (`Summing::Reader`).
    Unsummed(Query),
    /// Raw rows, for dimensions no rollup has: clicks summed per 15 minutes
    /// (the rollup's columns); conversions one by one (`conversion_facts`).
    Raw(Query),
}

/// Conversions per bucket, dimensions, event and status, from the
/// conversion rollup of the click rollup the same report reads (its
/// 15-minute rows from the conversions themselves where the rollup keeps
/// none: `conversion_rollup::keeps_quarters`); `None` when the ranges are
/// empty.
pub(crate) fn conversion_buckets(q: &ReportQuery, summing: Summing) -> Option<Source> {
    let ranges = ranges_of(q)?;
    let Some(which) = pick(q, &ranges)
        .filter(|w| q.grain != Grain::Quarter || conversion_rollup::keeps_quarters(*w))
    else {
        return Some(Source::Raw(conversion_facts(q, &ranges)));
    };
    Some(from_rollup(
        q,
        &ranges,
        which,
        &conversion_rollup::table(which, q.grain.suffix()),
        true,
        conversion_rollup::metric_columns(),
        summing,
    ))
}

/// Every non-test conversion in the ranges, with the requested dimensions:
/// columns time, one per dimension, event, status, payout and revenue in
/// base micros, delay in ms, duplicates, is a refund, capped.
fn conversion_facts(q: &ReportQuery, ranges: &[(i64, i64)]) -> Query {
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
    let mut out = Query::new(format!(
        "SELECT {time}, {dims}event, status, payout_base_micros, revenue_base_micros, conv_ms - click_ms, duplicates,
                parent_id IS NOT NULL, capped
         FROM conversions"
    ));
    out.scope(&q.scope, "affiliate_id", "advertiser_id = ?");
    out.push("test = FALSE", vec![]);
    let spans: Vec<&str>;
    let mut values = Vec::new();
    if q.by_conversion_time {
        spans = vec!["(conv_ms >= ? AND conv_ms < ?)"; ranges.len()];
        for (a, b) in ranges {
            values.extend([Value::Int(*a), Value::Int(*b)]);
        }
    } else {
        // by click time, through the click-id index: a conversion's own
        // index on click time would cost a random page per new row
        spans = vec!["(click_id >= ? AND click_id < ?)"; ranges.len()];
        for (a, b) in ranges {
            values.extend([
                Value::Bytes(first_click_id_at(*a)),
                Value::Bytes(first_click_id_at(*b)),
            ]);
        }
    }
    out.push(&format!("({})", spans.join(" OR ")), values);
    for (d, vals) in &q.filters {
        out.any_of(&value(d), vals);
    }
    out
}

/// Refused postbacks per 15-minute bucket and offer: bucket, offer, count.
pub(crate) fn failed_postbacks(from_ms: i64, to_ms: i64) -> Query {
    let mut out = Query::new(format!(
        "SELECT (ts_ms / {QUARTER}) * {QUARTER} AS b, COALESCE(offer_id, '') AS o, COUNT(*) FROM postback_log"
    ));
    out.push("result = 'rejected'", vec![]);
    out.add("ts_ms >= ?", Some(from_ms));
    out.add("ts_ms < ?", Some(to_ms));
    out.tail = "GROUP BY 1, 2".into();
    out
}

/// The sub slots over their distinct-value cap (`crate::sub_guard`) on a
/// UTC day that overlaps `from_ms..to_ms`.
pub(crate) fn sub_overflows(from_ms: i64, to_ms: i64) -> Query {
    let mut out =
        Query::new("SELECT DISTINCT CAST(slot AS BIGINT) FROM sub_value_overflows".to_string());
    out.add("day_ms > ?", Some(from_ms - Grain::Day.end(0)));
    out.add("day_ms < ?", Some(to_ms));
    out.tail = "ORDER BY 1".into();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stem(dimensions: &[Dimension], filters: &[Dimension], scope: Scope) -> Option<&'static str> {
        let q = ReportQuery {
            scope,
            dimensions: dimensions.to_vec(),
            filters: filters.iter().map(|d| (*d, vec!["x".into()])).collect(),
            ..Default::default()
        };
        shape(&q).map(|which| ROLLUPS[which].stem)
    }

    #[test]
    fn a_sub_slot_rollup_serves_that_slot_alone_unscoped() {
        use Dimension::*;
        let all = Scope::All;
        assert_eq!(stem(&[Sub(2)], &[], all.clone()), Some("rollup_sub2"));
        assert_eq!(
            stem(&[Sub(5), Event, Status], &[Sub(5)], all.clone()),
            Some("rollup_sub5")
        );
        assert_eq!(stem(&[Sub(3)], &[Status], all.clone()), Some("rollup_sub3"));
        // no offer or other slot in these rollups
        assert_eq!(stem(&[Sub(2)], &[Offer], all.clone()), None);
        assert_eq!(stem(&[Sub(2), Sub(3)], &[], all.clone()), None);
        assert_eq!(stem(&[Sub(4)], &[], Scope::Advertiser("a".into())), None);
        assert_eq!(stem(&[Sub(2), Country], &[Affiliate], all.clone()), None);
        // sub1 alone, unscoped, too; with an offer, an advertiser's scope
        // or an affiliate, the shapes with those
        assert_eq!(stem(&[Sub(1)], &[], all.clone()), Some("rollup_sub1_alone"));
        assert_eq!(
            stem(&[Sub(1), Event, Status], &[Sub(1)], all.clone()),
            Some("rollup_sub1_alone")
        );
        assert_eq!(stem(&[Sub(1)], &[Offer], all.clone()), Some("rollup_sub1"));
        let advertiser = Scope::Advertiser("a".into());
        assert_eq!(stem(&[Sub(1)], &[], advertiser), Some("rollup_sub1"));
        let partner = Scope::Affiliate("a".into());
        assert_eq!(stem(&[Sub(1)], &[], partner), Some("rollup_affiliate_sub1"));
        assert_eq!(
            stem(&[Sub(1), Affiliate], &[], all),
            Some("rollup_affiliate_sub1")
        );
    }

    #[test]
    fn a_sub_slot_with_an_affiliate_reads_the_slot_by_affiliate() {
        use Dimension::*;
        let all = Scope::All;
        let partner = Scope::Affiliate("a".into());
        let of = |n| {
            Some(
                [
                    "",
                    "",
                    "rollup_affiliate_sub2",
                    "rollup_affiliate_sub3",
                    "rollup_affiliate_sub4",
                    "rollup_affiliate_sub5",
                ][n],
            )
        };
        assert_eq!(stem(&[Sub(2)], &[Affiliate], all.clone()), of(2));
        assert_eq!(stem(&[Affiliate, Sub(3)], &[], all.clone()), of(3));
        assert_eq!(stem(&[Sub(4), Status], &[Sub(4)], partner.clone()), of(4));
        assert_eq!(stem(&[Sub(5)], &[], partner.clone()), of(5));
        // an offer, or another slot, is in none of them
        assert_eq!(stem(&[Sub(2)], &[Offer], partner.clone()), None);
        assert_eq!(stem(&[Sub(2), Sub(3)], &[], partner), None);
        assert_eq!(
            stem(&[Affiliate, Sub(2)], &[], Scope::Advertiser("v".into())),
            None
        );
    }

    #[test]
    fn countries_by_link_or_a_partners_offers_read_the_link_country_rollup() {
        use Dimension::*;
        let all = Scope::All;
        let partner = Scope::Affiliate("a".into());
        let link_country = Some("rollup_link_country");
        assert_eq!(stem(&[Link, Country], &[], all.clone()), link_country);
        assert_eq!(stem(&[Country, Offer], &[], partner.clone()), link_country);
        assert_eq!(stem(&[Country], &[Link], partner.clone()), link_country);
        // the geo shape still serves the country with an offer or a device
        assert_eq!(stem(&[Country], &[Offer], all.clone()), Some("rollup_geo"));
        assert_eq!(
            stem(&[Country, Device], &[], all.clone()),
            Some("rollup_geo")
        );
        // the country alone (and event or status), unscoped: its own
        assert_eq!(
            stem(&[Country], &[], all.clone()),
            Some("rollup_country_alone")
        );
        assert_eq!(
            stem(&[Country, Event, Status], &[Country], all),
            Some("rollup_country_alone")
        );
        let advertiser = Scope::Advertiser("v".into());
        assert_eq!(stem(&[Country], &[], advertiser), Some("rollup_geo"));
        // no device and no source here
        assert_eq!(stem(&[Link, Country, Device], &[], partner.clone()), None);
        assert_eq!(stem(&[Link, Country, Source], &[], partner), None);
    }

    #[test]
    fn geo_dimensions_by_affiliate_read_the_affiliate_geo_rollup() {
        use Dimension::*;
        let all = Scope::All;
        let partner = Scope::Affiliate("a".into());
        let affiliate_geo = Some("rollup_affiliate_geo");
        assert_eq!(stem(&[Affiliate, Country], &[], all.clone()), affiliate_geo);
        assert_eq!(stem(&[Affiliate, Device], &[], all.clone()), affiliate_geo);
        assert_eq!(stem(&[Country], &[Affiliate], all.clone()), affiliate_geo);
        assert_eq!(stem(&[Os, Browser], &[], partner.clone()), affiliate_geo);
        assert_eq!(
            stem(&[Country, Device], &[], partner.clone()),
            affiliate_geo
        );
        // an offer or an advertiser is not in it: the link x device
        // rollup has both (and the affiliate from the link)
        let link_device = Some("rollup_link_device");
        assert_eq!(stem(&[Device], &[Offer], partner.clone()), link_device);
        assert_eq!(
            stem(&[Affiliate, Device], &[], Scope::Advertiser("v".into())),
            link_device
        );
        assert_eq!(stem(&[Os], &[Offer], partner.clone()), None);
        // the affiliate alone keeps its own, smaller shape: unscoped, or a
        // partner's report by time, event or status
        let alone = Some("rollup_affiliate_alone");
        assert_eq!(stem(&[Affiliate], &[], all.clone()), alone);
        assert_eq!(stem(&[Event], &[], partner.clone()), alone);
        assert_eq!(stem(&[], &[Affiliate], all.clone()), alone);
        // with an offer, or an advertiser's (scoped by offer): by offer
        // and affiliate
        assert_eq!(stem(&[Affiliate], &[Offer], all), Some("rollup_affiliate"));
        assert_eq!(stem(&[Offer], &[], partner), Some("rollup_affiliate"));
        let advertiser = Scope::Advertiser("v".into());
        assert_eq!(
            stem(&[Affiliate], &[], advertiser),
            Some("rollup_affiliate")
        );
    }

    #[test]
    fn pairs_no_wider_shape_holds_read_their_own_rollup_unscoped() {
        use Dimension::*;
        let all = Scope::All;
        for (dims, filters, want) in [
            (&[Source, Country][..], &[][..], "rollup_source_country"),
            (&[Country], &[Source], "rollup_source_country"),
            (&[Device, Source, Status], &[], "rollup_source_device"),
            (&[Source, Sub(1)], &[], "rollup_source_sub1"),
            (&[Sub(1), Country, Event], &[], "rollup_sub1_country"),
            (&[Device], &[Sub(1)], "rollup_sub1_device"),
            (&[Link, Device], &[], "rollup_link_device"),
            (&[Affiliate, Link, Device], &[Offer], "rollup_link_device"),
        ] {
            assert_eq!(stem(dims, filters, all.clone()), Some(want), "{dims:?}");
        }
        // one of the pair alone keeps its smaller shape
        assert_eq!(stem(&[Source], &[], all.clone()), Some("rollup_source"));
        assert_eq!(stem(&[Device], &[], all.clone()), Some("rollup_geo"));
        // the link's has its offer and its affiliate (from the link): a
        // partner's or an advertiser's report by link and device reads it
        let partner = Scope::Affiliate("a".into());
        let advertiser = Scope::Advertiser("v".into());
        assert_eq!(
            stem(&[Device], &[Link], partner.clone()),
            Some("rollup_link_device")
        );
        assert_eq!(
            stem(&[Link, Device], &[], advertiser.clone()),
            Some("rollup_link_device")
        );
        // the others have no offer and no affiliate: scoped, with an offer
        // or a third dimension, raw rows
        assert_eq!(stem(&[Source, Country], &[], partner), None);
        assert_eq!(stem(&[Sub(1), Device], &[], advertiser), None);
        assert_eq!(stem(&[Source, Country], &[Offer], all.clone()), None);
        assert_eq!(stem(&[Source, Country, Device], &[], all), None);
    }

    #[test]
    fn a_partner_report_on_a_link_shape_seeks_its_links_month_by_month() {
        use Dimension::{Affiliate, Country, Link};
        const DAY: i64 = 86_400_000;
        // 2026-09-01 to 2026-12-01: three month rows
        let (from_ms, to_ms) = (20_697 * DAY, 20_788 * DAY);
        let read = |scope: Scope, dimensions: Vec<Dimension>| {
            let q = ReportQuery {
                scope,
                dimensions,
                grain: Grain::Month,
                from_ms,
                to_ms,
                whole: true,
                ..Default::default()
            };
            [
                click_buckets(&q, Summing::Reader),
                conversion_buckets(&q, Summing::Reader),
            ]
            .map(|s| match s.expect("a read") {
                Source::Rollup(q) | Source::Unsummed(q) => q.render(|i| format!("?{i}")).0,
                Source::Raw(_) => panic!("read from a rollup"),
            })
        };
        for sql in read(Scope::Affiliate("aff_1".into()), vec![Link, Country]) {
            assert!(sql.contains("link_country_m r WHERE"), "{sql}");
            assert!(!sql.contains("JOIN"), "{sql}");
            assert!(
                sql.contains("r.link_id IN (SELECT id FROM links WHERE affiliate_id IN (?1))"),
                "{sql}"
            );
            assert!(sql.contains("r.bucket_ms IN (?"), "{sql}");
        }
        // grouped by affiliate: the join gives each row's, over one range
        for sql in read(Scope::All, vec![Affiliate, Link, Country]) {
            assert!(sql.contains("JOIN links l ON l.id = r.link_id"), "{sql}");
            assert!(sql.contains("r.bucket_ms >= ?"), "{sql}");
        }
    }

    #[test]
    fn a_report_by_bucket_and_every_key_reads_rows_as_they_are() {
        use Dimension::{Affiliate, Link, Offer, Status, Sub};
        let read = |dimensions: &[Dimension], whole: bool, summing: Summing| {
            let q = ReportQuery {
                dimensions: dimensions.to_vec(),
                grain: Grain::Day,
                from_ms: 0,
                to_ms: 86_400_000,
                whole,
                ..Default::default()
            };
            [click_buckets(&q, summing), conversion_buckets(&q, summing)]
                .map(|s| s.expect("a read"))
        };
        let plain = |s: &Source| {
            let q = match s {
                Source::Rollup(q) | Source::Unsummed(q) => q,
                Source::Raw(_) => panic!("read from a rollup"),
            };
            assert!(q.head.starts_with("SELECT r.bucket_ms AS b"), "{}", q.head);
            assert!(!q.head.contains("SUM("), "{}", q.head);
            assert!(q.tail.is_empty(), "{}", q.tail);
        };
        // by day and sub2: rollup_sub2's key; by day and link: the link
        // rollup's (link and offer) with the affiliate from the join
        for dims in [&[Sub(2)][..], &[Link, Offer, Affiliate], &[Offer, Status]] {
            for summing in [Summing::Sql, Summing::Reader] {
                for s in read(dims, false, summing) {
                    assert!(matches!(s, Source::Rollup(_)), "{dims:?}");
                    plain(&s);
                }
            }
        }
        // a key column left out, or every bucket summed into one row: the
        // database sums, or the reader from rows as they are
        for (dims, whole) in [
            (&[Link][..], false),
            (&[Sub(2)], true),
            (&[Status][..], false),
        ] {
            for s in read(dims, whole, Summing::Sql) {
                let Source::Rollup(q) = s else {
                    panic!("{dims:?} summed by the database");
                };
                assert!(q.head.contains("SUM(r.clicks)") || q.head.contains("SUM(r.conversions)"));
                assert!(q.tail.starts_with("GROUP BY"), "{dims:?}");
            }
            for s in read(dims, whole, Summing::Reader) {
                assert!(matches!(s, Source::Unsummed(_)), "{dims:?}");
                plain(&s);
            }
        }
    }

    #[test]
    fn fifteen_minute_conversions_come_from_the_conversions_but_for_the_offer_shape() {
        use Dimension::{Country, Device, Sub};
        let read = |dimensions: &[Dimension], grain: Grain| {
            let q = ReportQuery {
                dimensions: dimensions.to_vec(),
                grain,
                from_ms: 0,
                to_ms: 86_400_000,
                ..Default::default()
            };
            let head = |s: Source| match s {
                Source::Rollup(q) | Source::Unsummed(q) | Source::Raw(q) => q.head,
            };
            (
                head(click_buckets(&q, Summing::Sql).unwrap()),
                head(conversion_buckets(&q, Summing::Sql).unwrap()),
            )
        };
        // by time alone: the offer shape's own 15-minute rows
        let (_, conversions) = read(&[], Grain::Quarter);
        assert!(
            conversions.contains("FROM conv_rollup_offer_q"),
            "{conversions}"
        );
        // by country or sub2: the clicks' 15-minute rows, the conversions'
        // own rows; the day rows from both rollups
        for (dims, stem) in [
            (&[Country][..], "rollup_country_alone"),
            (&[Country, Device], "rollup_geo"),
            (&[Sub(2)], "rollup_sub2"),
        ] {
            let (clicks, conversions) = read(dims, Grain::Quarter);
            assert!(clicks.contains(&format!("FROM {stem}_q")), "{clicks}");
            assert!(conversions.contains("FROM conversions"), "{conversions}");
            let (clicks, conversions) = read(dims, Grain::Day);
            assert!(clicks.contains(&format!("FROM {stem}_d")), "{clicks}");
            assert!(
                conversions.contains(&format!("FROM conv_{stem}_d")),
                "{conversions}"
            );
        }
    }
}
