//! Postbacks to affiliates: the outbox of delivery jobs (queued in the
//! transaction that records the conversion), their attempts, and each
//! destination's run of failures.

use clickledger_domain::Status;
use rusqlite::{params, Connection, Row, TransactionBehavior};

use super::sql::rows;
use crate::corrupt::corrupt;
use crate::model::*;
use crate::query::{self, DELIVERY_COLUMNS};
use crate::record::{method_str, parse_method, NewDelivery};

fn delivery_from_row(r: &Row) -> rusqlite::Result<Delivery> {
    let status: String = r.get(3)?;
    let method: String = r.get(4)?;
    let state: String = r.get(7)?;
    let id: String = r.get(0)?;
    let column = |name, text: &str, expected| corrupt("deliveries", &id, name, text, expected);
    Ok(Delivery {
        status: Status::parse(&status).ok_or_else(|| column("status", &status, "a status"))?,
        method: parse_method(&method).ok_or_else(|| column("method", &method, "GET or POST"))?,
        state: DeliveryState::parse(&state)
            .ok_or_else(|| column("state", &state, "a delivery state"))?,
        id,
        affiliate_id: r.get(1)?,
        conversion_id: r.get(2)?,
        url: r.get(5)?,
        body: r.get(6)?,
        attempts: r.get(8)?,
        next_attempt_ms: r.get(9)?,
        created_ms: r.get(10)?,
        updated_ms: r.get(11)?,
        last_error: r.get(12)?,
        last_status: r.get(13)?,
    })
}

/// Queues a job in the caller's transaction; a job already queued (same
/// id) stays as it is.
pub(super) fn insert_delivery(tx: &Connection, job: &NewDelivery) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT OR IGNORE INTO deliveries (id, affiliate_id, conversion_id, status, method, url, body, state, attempts,
             next_attempt_ms, lease_until, created_ms, updated_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', 0, ?8, 0, ?8, ?8)",
    )?
    .execute(params![
        job.id,
        job.affiliate_id,
        job.conversion_id,
        job.status.as_str(),
        method_str(job.method),
        job.url,
        job.body,
        job.now_ms
    ])
    .map(drop)
}

/// Takes up to `limit` due jobs and leases them to `node`.
pub(super) fn claim(
    c: &mut Connection,
    now_ms: i64,
    lease_ms: i64,
    limit: u32,
    node: &str,
) -> rusqlite::Result<Vec<Delivery>> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let jobs = {
        let mut st = tx.prepare_cached(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries
             WHERE state = 'pending' AND next_attempt_ms <= ?1 AND lease_until <= ?1
               AND affiliate_id NOT IN (SELECT affiliate_id FROM destinations WHERE suspended = 1)
             ORDER BY created_ms, id LIMIT ?2"
        ))?;
        let rows = st.query_map(params![now_ms, limit], delivery_from_row)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    {
        let mut lease = tx.prepare_cached(
            "UPDATE deliveries SET lease_until = ?1, leased_by = ?2 WHERE id = ?3",
        )?;
        for j in &jobs {
            lease.execute(params![now_ms + lease_ms, node, j.id])?;
        }
    }
    tx.commit()?;
    Ok(jobs)
}

/// Records an attempt and its outcome; counts the destination's
/// consecutive failures and suspends it at `suspend_after`.
pub(super) fn finish_attempt(
    c: &mut Connection,
    a: &DeliveryAttempt,
    outcome: AttemptOutcome,
    suspend_after: u32,
) -> rusqlite::Result<()> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.prepare_cached(
        "INSERT INTO delivery_attempts (delivery_id, ts_ms, url, status, latency_ms, response, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![a.delivery_id, a.ts_ms, a.url, a.status, a.latency_ms, a.response, a.error])?;
    let (state, next) = match outcome {
        AttemptOutcome::Delivered => ("delivered", a.ts_ms),
        AttemptOutcome::RetryAt(t) => ("pending", t),
        AttemptOutcome::Failed => ("failed", a.ts_ms),
    };
    tx.prepare_cached(
        "UPDATE deliveries SET state = ?1, attempts = attempts + 1, next_attempt_ms = ?2, lease_until = 0,
             updated_ms = ?3, last_error = ?4, last_status = ?5 WHERE id = ?6",
    )?
    .execute(params![state, next, a.ts_ms, a.error, a.status, a.delivery_id])?;
    let affiliate: String = tx.query_row(
        "SELECT affiliate_id FROM deliveries WHERE id = ?1",
        [&a.delivery_id],
        |r| r.get(0),
    )?;
    if outcome == AttemptOutcome::Delivered {
        tx.execute(
            "INSERT INTO destinations (affiliate_id, consecutive_failures, suspended, reason, updated_ms) VALUES (?1, 0, 0, NULL, ?2)
             ON CONFLICT (affiliate_id) DO UPDATE SET consecutive_failures = 0, updated_ms = ?2",
            params![affiliate, a.ts_ms],
        )?;
    } else {
        let reason = format!(
            "suspended after {suspend_after} failed attempts in a row; last: {}",
            a.error
                .clone()
                .unwrap_or_else(|| format!("HTTP {}", a.status.unwrap_or(0)))
        );
        tx.execute(
            "INSERT INTO destinations (affiliate_id, consecutive_failures, suspended, reason, updated_ms) VALUES (?1, 1, 0, NULL, ?2)
             ON CONFLICT (affiliate_id) DO UPDATE SET consecutive_failures = consecutive_failures + 1, updated_ms = ?2",
            params![affiliate, a.ts_ms],
        )?;
        tx.execute(
            "UPDATE destinations SET suspended = 1, reason = ?1 WHERE affiliate_id = ?2 AND suspended = 0 AND consecutive_failures >= ?3",
            params![reason, affiliate, suspend_after],
        )?;
    }
    tx.commit()
}

pub(super) fn deliveries(c: &Connection, f: &DeliveryFilter) -> rusqlite::Result<Vec<Delivery>> {
    rows(c, &query::deliveries(f), delivery_from_row)
}

/// The job, if `scope` may see it, with its attempts, oldest first.
pub(super) fn delivery(
    c: &Connection,
    id: &str,
    scope: &Scope,
) -> rusqlite::Result<Option<(Delivery, Vec<DeliveryAttempt>)>> {
    let Some(d) = rows(c, &query::delivery(id, scope), delivery_from_row)?
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    let mut st = c.prepare(
        "SELECT delivery_id, ts_ms, url, status, latency_ms, response, error FROM delivery_attempts WHERE delivery_id = ?1 ORDER BY id",
    )?;
    let attempts = st
        .query_map([&d.id], |r| {
            Ok(DeliveryAttempt {
                delivery_id: r.get(0)?,
                ts_ms: r.get(1)?,
                url: r.get(2)?,
                status: r.get(3)?,
                latency_ms: r.get(4)?,
                response: r.get(5)?,
                error: r.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Some((d, attempts)))
}

/// Makes a job due now with a fresh schedule; false when unknown.
pub(super) fn retry(c: &Connection, id: &str, now_ms: i64) -> rusqlite::Result<bool> {
    let n = c.execute(
        "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_ms = ?1, lease_until = 0, updated_ms = ?1 WHERE id = ?2",
        params![now_ms, id],
    )?;
    Ok(n > 0)
}

/// Makes every job created in [from, to) (of one affiliate, if given) due
/// again; returns how many.
pub(super) fn replay(
    c: &Connection,
    affiliate_id: Option<&str>,
    from_ms: i64,
    to_ms: i64,
    now_ms: i64,
) -> rusqlite::Result<u64> {
    let n = c.execute(
        "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_ms = ?1, lease_until = 0, updated_ms = ?1
         WHERE created_ms >= ?2 AND created_ms < ?3 AND (?4 IS NULL OR affiliate_id = ?4)",
        params![now_ms, from_ms, to_ms, affiliate_id],
    )?;
    Ok(n as u64)
}

pub(super) fn destinations(c: &Connection) -> rusqlite::Result<Vec<Destination>> {
    let mut st = c.prepare("SELECT affiliate_id, consecutive_failures, suspended, reason FROM destinations ORDER BY affiliate_id")?;
    let rows = st.query_map([], |r| {
        Ok(Destination {
            affiliate_id: r.get(0)?,
            consecutive_failures: r.get(1)?,
            suspended: r.get(2)?,
            reason: r.get(3)?,
        })
    })?;
    rows.collect()
}

pub(super) fn resume_destination(c: &Connection, affiliate_id: &str) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE destinations SET suspended = 0, consecutive_failures = 0, reason = NULL WHERE affiliate_id = ?1",
        [affiliate_id],
    )
    .map(|_| ())
}

/// Clears every lease: a SQLite file has one server, so its leases are its
/// own whatever node name it had when it took them.
pub(super) fn release_leases(c: &Connection) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE deliveries SET lease_until = 0 WHERE state = 'pending'",
        [],
    )
    .map(|_| ())
}
