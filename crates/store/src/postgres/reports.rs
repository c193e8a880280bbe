//! Report reads on PostgreSQL: the shared report queries, read back.

use clickledger_domain::Status;

use super::sql::{corrupt, rows};
use super::PgStore;
use crate::model::*;
use crate::{query, StoreResult};

pub async fn click_buckets(s: &PgStore, q: &ReportQuery) -> StoreResult<Vec<BucketRow>> {
    let Some(query) = query::click_buckets(q) else {
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

pub async fn conversion_facts(s: &PgStore, q: &ReportQuery) -> StoreResult<Vec<ConversionFact>> {
    let n = q.dimensions.len();
    let c = s.client().await?;
    rows(&**c, &query::conversion_facts(q))
        .await?
        .iter()
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
    Ok(rows(&**c, &query::failed_postbacks(from_ms, to_ms))
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}
