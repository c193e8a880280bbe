//! Reports: clicks and conversions per bucket (from the rollups when they
//! have the dimensions asked for), refused postbacks.

use clickledger_domain::Status;
use rusqlite::Connection;

use super::sql::rows;
use crate::conversion_rollup;
use crate::corrupt::parsed;
use crate::model::*;
use crate::query::{self, ConversionSource};

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

/// Conversion figures per bucket, dimensions, event and status: from a
/// conversion rollup, else from the conversions themselves.
pub(super) fn conversion_buckets(
    c: &Connection,
    q: &ReportQuery,
) -> rusqlite::Result<Vec<ConversionBucket>> {
    let n = q.dimensions.len();
    let status = |s: String, at: i64| {
        parsed(
            Status::parse,
            &s,
            "conversions",
            format_args!("at {at} ms"),
            "status",
            "a status",
        )
    };
    match query::conversion_buckets(q) {
        None => Ok(Vec::new()),
        Some(ConversionSource::Rollup(query)) => rows(c, &query, |r| {
            let values = (0..n).map(|i| r.get(1 + i)).collect::<Result<_, _>>()?;
            let bucket_ms: i64 = r.get(0)?;
            let mut m = [0; conversion_rollup::METRICS];
            for (i, v) in m.iter_mut().enumerate() {
                *v = r.get(n + 3 + i)?;
            }
            Ok(conversion_rollup::bucket(
                bucket_ms,
                values,
                r.get(n + 1)?,
                status(r.get(n + 2)?, bucket_ms)?,
                &m,
            ))
        }),
        Some(ConversionSource::Raw(query)) => rows(c, &query, |r| {
            let values = (0..n).map(|i| r.get(1 + i)).collect::<Result<_, _>>()?;
            let time_ms: i64 = r.get(0)?;
            Ok(conversion_rollup::fact_bucket(ConversionFact {
                time_ms,
                values,
                event: r.get(n + 1)?,
                status: status(r.get(n + 2)?, time_ms)?,
                payout_base_micros: r.get(n + 3)?,
                revenue_base_micros: r.get(n + 4)?,
                delay_seconds: r.get::<_, i64>(n + 5)? / 1000,
                duplicates: r.get(n + 6)?,
                refund: r.get(n + 7)?,
                capped: r.get(n + 8)?,
            }))
        }),
    }
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
