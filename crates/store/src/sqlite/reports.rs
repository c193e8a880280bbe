//! Reports: clicks per bucket (from the rollups when they have the
//! dimensions asked for), conversion facts, refused postbacks.

use clickledger_domain::Status;
use rusqlite::Connection;

use super::sql::rows;
use crate::corrupt::parsed;
use crate::model::*;
use crate::query;

/// Clicks per bucket and dimensions, from the rollup when it has them
/// all, else from raw clicks (the caller flushes the rollups first: a
/// report counts every committed click).
pub(super) fn click_buckets(c: &Connection, q: &ReportQuery) -> rusqlite::Result<Vec<BucketRow>> {
    let Some(query) = query::click_buckets(q) else {
        return Ok(Vec::new());
    };
    let n = q.dimensions.len();
    rows(c, &query, |r| {
        let mut values = Vec::with_capacity(n);
        for i in 0..n {
            values.push(r.get(1 + i)?);
        }
        Ok(BucketRow {
            bucket_ms: r.get(0)?,
            values,
            clicks: r.get(1 + n)?,
            unique_clicks: r.get(2 + n)?,
            bot_clicks: r.get(3 + n)?,
            suspicious_clicks: r.get(4 + n)?,
        })
    })
}

/// Every non-test conversion in range, with the requested dimensions.
pub(super) fn conversion_facts(
    c: &Connection,
    q: &ReportQuery,
) -> rusqlite::Result<Vec<ConversionFact>> {
    let n = q.dimensions.len();
    rows(c, &query::conversion_facts(q), |r| {
        let mut values = Vec::with_capacity(n);
        for i in 0..n {
            values.push(r.get(1 + i)?);
        }
        let status: String = r.get(n + 2)?;
        let time_ms: i64 = r.get(0)?;
        Ok(ConversionFact {
            time_ms,
            values,
            event: r.get(n + 1)?,
            status: parsed(
                Status::parse,
                &status,
                "conversions",
                format_args!("at {time_ms} ms"),
                "status",
                "a status",
            )?,
            payout_base_micros: r.get(n + 3)?,
            revenue_base_micros: r.get(n + 4)?,
            delay_seconds: r.get::<_, i64>(n + 5)? / 1000,
            duplicates: r.get(n + 6)?,
            refund: r.get(n + 7)?,
            capped: r.get(n + 8)?,
        })
    })
}

/// Refused postbacks per 15-minute bucket and offer.
pub(super) fn failed_postbacks(
    c: &Connection,
    from_ms: i64,
    to_ms: i64,
) -> rusqlite::Result<Vec<(i64, String, i64)>> {
    rows(c, &query::failed_postbacks(from_ms, to_ms), |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })
}
