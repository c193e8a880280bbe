//! Reports: clicks and conversions per bucket (from the rollups when they
//! have the dimensions asked for), refused postbacks.

use std::collections::HashMap;

use clickledger_domain::Status;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, Row};

use super::sql::rows;
use crate::conversion_rollup;
use crate::corrupt::parsed;
use crate::model::*;
use crate::query::{self, Query, Source, Summing};

/// A key column's text, borrowed from the row ('' for NULL).
fn text<'r>(r: &'r Row, i: usize) -> rusqlite::Result<&'r str> {
    match r.get_ref(i)? {
        ValueRef::Null => Ok(""),
        v => v.as_str().map_err(Into::into),
    }
}

/// A rollup read's rows, made into `T` by `make` (bucket, key, figures):
/// the first `keys` columns after the bucket are the key, the `N` after
/// them the figures. `Sum::Each` takes rows as they come (one per bucket
/// and key); otherwise they are summed here first, per bucket and key
/// (`Source::Unsummed`), or with `Sum::Whole` per key over every bucket,
/// the earliest standing for them.
fn rollup_rows<const N: usize, T>(
    c: &Connection,
    q: &Query,
    keys: usize,
    sum: Sum,
    make: impl Fn(i64, Vec<String>, &[i64; N]) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let (sql, values) = q.render(|i| format!("?{i}"));
    let mut st = c.prepare_cached(&sql)?;
    let mut rows = st.query(rusqlite::params_from_iter(values))?;
    let values = |r: &Row| -> rusqlite::Result<Vec<String>> {
        (1..=keys).map(|i| text(r, i).map(str::to_string)).collect()
    };
    let add = |r: &Row, figures: &mut [i64; N]| -> rusqlite::Result<()> {
        for (i, f) in figures.iter_mut().enumerate() {
            *f += r.get::<_, i64>(1 + keys + i)?;
        }
        Ok(())
    };
    if sum == Sum::Each {
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            let mut figures = [0; N];
            add(r, &mut figures)?;
            out.push(make(r.get(0)?, values(r)?, &figures)?);
        }
        return Ok(out);
    }
    let mut groups: Vec<(i64, Vec<String>, [i64; N])> = Vec::new();
    // the key as bytes in one buffer: a row adds to its group without
    // allocating; only a new group does
    let mut at: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut key: Vec<u8> = Vec::new();
    while let Some(r) = rows.next()? {
        let bucket: i64 = r.get(0)?;
        key.clear();
        if sum == Sum::PerBucket {
            key.extend(bucket.to_le_bytes());
        }
        // each value after its length: a sub slot may hold any byte
        for i in 1..=keys {
            let v = text(r, i)?;
            key.extend((v.len() as u32).to_le_bytes());
            key.extend(v.as_bytes());
        }
        let group = match at.get(key.as_slice()) {
            Some(&g) => g,
            None => {
                at.insert(key.clone(), groups.len());
                groups.push((bucket, values(r)?, [0; N]));
                groups.len() - 1
            }
        };
        let (earliest, _, figures) = &mut groups[group];
        *earliest = (*earliest).min(bucket);
        add(r, figures)?;
    }
    groups
        .into_iter()
        .map(|(bucket, values, figures)| make(bucket, values, &figures))
        .collect()
}

/// How `rollup_rows` sums.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sum {
    Each,
    PerBucket,
    Whole,
}

/// How a source's rows are summed, and its query (`None`: raw rows).
fn summing(source: &Source, whole: bool) -> (Option<Sum>, &Query) {
    match source {
        Source::Rollup(q) => (Some(Sum::Each), q),
        Source::Unsummed(q) if whole => (Some(Sum::Whole), q),
        Source::Unsummed(q) => (Some(Sum::PerBucket), q),
        Source::Raw(q) => (None, q),
    }
}

/// Clicks per bucket and dimensions, from the rollup when it has them
/// all, else from raw clicks (the caller flushes the rollups first: a
/// report counts every committed click).
pub(super) fn click_buckets(c: &Connection, q: &ReportQuery) -> rusqlite::Result<Vec<BucketRow>> {
    let Some(source) = query::click_buckets(q, Summing::Reader) else {
        return Ok(Vec::new());
    };
    // raw clicks come summed per 15 minutes, with a rollup's columns
    let (sum, query) = summing(&source, q.whole);
    let n = q.dimensions.len();
    rollup_rows(
        c,
        query,
        n,
        sum.unwrap_or(Sum::Each),
        |bucket_ms, values, f: &[i64; 4]| {
            Ok(BucketRow {
                bucket_ms,
                values,
                clicks: f[0],
                unique_clicks: f[1],
                bot_clicks: f[2],
                suspicious_clicks: f[3],
            })
        },
    )
}

/// Conversion figures per bucket, dimensions, event and status: from a
/// conversion rollup, else from the conversions themselves.
pub(super) fn conversion_buckets(
    c: &Connection,
    q: &ReportQuery,
) -> rusqlite::Result<Vec<ConversionBucket>> {
    let n = q.dimensions.len();
    let status = |s: &str, at: i64| {
        parsed(
            Status::parse,
            s,
            "conversions",
            format_args!("at {at} ms"),
            "status",
            "a status",
        )
    };
    let Some(source) = query::conversion_buckets(q, Summing::Reader) else {
        return Ok(Vec::new());
    };
    match summing(&source, q.whole) {
        (Some(sum), query) => rollup_rows(c, query, n + 2, sum, |bucket_ms, mut values, m| {
            let status = status(&values[n + 1], bucket_ms)?;
            let event = values.swap_remove(n);
            values.truncate(n);
            Ok(conversion_rollup::bucket(
                bucket_ms, values, event, status, m,
            ))
        }),
        (None, query) => rows(c, query, |r| {
            let values = (0..n).map(|i| r.get(1 + i)).collect::<Result<_, _>>()?;
            let time_ms: i64 = r.get(0)?;
            Ok(conversion_rollup::fact_bucket(ConversionFact {
                time_ms,
                values,
                event: r.get(n + 1)?,
                status: status(&r.get::<_, String>(n + 2)?, time_ms)?,
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

/// The sub slots over their distinct-value cap on a UTC day overlapping
/// the span (`query::sub_overflows`).
pub(super) fn sub_overflows(c: &Connection, from_ms: i64, to_ms: i64) -> rusqlite::Result<Vec<u8>> {
    rows(c, &query::sub_overflows(from_ms, to_ms), |r| {
        Ok(r.get::<_, i64>(0)? as u8)
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
