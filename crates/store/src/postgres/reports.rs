//! Report reads on PostgreSQL: the shared report queries, read back.

use clickledger_domain::Status;

use super::sql::{corrupt, rows};
use super::PgStore;
use crate::conversion_rollup;
use crate::model::*;
use crate::query::{self, Source, Summing};
use crate::StoreResult;

pub async fn click_buckets(s: &PgStore, q: &ReportQuery) -> StoreResult<Vec<BucketRow>> {
    // PostgreSQL sums: its aggregates cost less than sending every row
    let Some(Source::Rollup(query) | Source::Unsummed(query) | Source::Raw(query)) =
        query::click_buckets(q, Summing::Sql)
    else {
        return Ok(Vec::new());
    };
    let n = q.dimensions.len();
    let c = s.client().await?;
    Ok(rows(&**c, &query)
        .await?
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

pub async fn conversion_buckets(
    s: &PgStore,
    q: &ReportQuery,
) -> StoreResult<Vec<ConversionBucket>> {
    let n = q.dimensions.len();
    let status = |s: &str, at: i64| {
        Status::parse(s).ok_or_else(|| {
            corrupt(
                "conversions",
                format_args!("at {at} ms"),
                "status",
                s,
                "a status",
            )
        })
    };
    let Some(source) = query::conversion_buckets(q, Summing::Sql) else {
        return Ok(Vec::new());
    };
    let c = s.client().await?;
    match source {
        // (Summing::Sql gives no unsummed rows; were they, the report
        // would add them up all the same)
        Source::Rollup(query) | Source::Unsummed(query) => rows(&**c, &query)
            .await?
            .iter()
            .map(|r| {
                let bucket_ms: i64 = r.get(0);
                let mut m = [0; conversion_rollup::METRICS];
                for (i, v) in m.iter_mut().enumerate() {
                    *v = r.get(n + 3 + i);
                }
                Ok(conversion_rollup::bucket(
                    bucket_ms,
                    (0..n).map(|i| r.get(1 + i)).collect(),
                    r.get(n + 1),
                    status(r.get(n + 2), bucket_ms)?,
                    &m,
                ))
            })
            .collect(),
        Source::Raw(query) => rows(&**c, &query)
            .await?
            .iter()
            .map(|r| {
                let time_ms: i64 = r.get(0);
                Ok(conversion_rollup::fact_bucket(ConversionFact {
                    time_ms,
                    values: (0..n).map(|i| r.get(1 + i)).collect(),
                    event: r.get(n + 1),
                    status: status(r.get(n + 2), time_ms)?,
                    payout_base_micros: r.get(n + 3),
                    revenue_base_micros: r.get(n + 4),
                    delay_seconds: r.get::<_, i64>(n + 5) / 1000,
                    duplicates: r.get(n + 6),
                    refund: r.get(n + 7),
                    capped: r.get(n + 8),
                }))
            })
            .collect(),
    }
}

pub async fn sub_overflows(s: &PgStore, from_ms: i64, to_ms: i64) -> StoreResult<Vec<u8>> {
    let c = s.client().await?;
    Ok(rows(&**c, &query::sub_overflows(from_ms, to_ms))
        .await?
        .iter()
        .map(|r| r.get::<_, i64>(0) as u8)
        .collect())
}

pub async fn failed_postbacks(
    s: &PgStore,
    from_ms: i64,
    to_ms: i64,
) -> StoreResult<Vec<(i64, String, i64)>> {
    let c = s.client().await?;
    Ok(rows(&**c, &query::failed_postbacks(from_ms, to_ms))
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}
