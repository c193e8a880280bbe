//! Postbacks to affiliates: the outbox of delivery jobs (queued in the
//! transaction that records the conversion), their attempts, and each
//! destination's health (healthy, failing with probes, disabled) and its
//! changes of state.

use clickledger_domain::destination_health::HealthPolicy;
use clickledger_domain::Status;
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};

use super::sql::rows;
use crate::corrupt::corrupt;
use crate::health::{decide, enable, event_view, Decided, Stored, DESTINATION_COLUMNS};
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

/// Takes up to `limit` due jobs and leases them to `node`: first one probe
/// per failing destination whose probe time has come (its oldest waiting
/// job; the probe time moves to the lease's end), then due jobs of healthy
/// destinations. One IMMEDIATE transaction: nothing else writes meanwhile.
pub(super) fn claim(
    c: &mut Connection,
    now_ms: i64,
    lease_ms: i64,
    limit: u32,
    node: &str,
) -> rusqlite::Result<Vec<Delivery>> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut jobs = {
        let mut st = tx.prepare_cached(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE id IN (
                 SELECT (SELECT j.id FROM deliveries j
                         WHERE j.affiliate_id = s.affiliate_id AND j.state = 'pending' AND j.lease_until <= ?1
                         ORDER BY j.created_ms, j.id LIMIT 1)
                 FROM destinations s WHERE s.state = 'failing' AND s.next_probe_ms <= ?1)
             ORDER BY created_ms, id LIMIT ?2"
        ))?;
        let rows = st.query_map(params![now_ms, limit], delivery_from_row)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    {
        let mut probe = tx.prepare_cached(
            "UPDATE destinations SET next_probe_ms = ?1, probe_id = ?2 WHERE affiliate_id = ?3",
        )?;
        for j in &jobs {
            probe.execute(params![now_ms + lease_ms, j.id, j.affiliate_id])?;
        }
    }
    let rest = limit.saturating_sub(jobs.len() as u32);
    if rest > 0 {
        let mut st = tx.prepare_cached(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries
             WHERE state = 'pending' AND next_attempt_ms <= ?1 AND lease_until <= ?1
               AND affiliate_id NOT IN (SELECT affiliate_id FROM destinations WHERE state <> 'healthy')
             ORDER BY created_ms, id LIMIT ?2"
        ))?;
        let rows = st.query_map(params![now_ms, rest], delivery_from_row)?;
        for r in rows {
            jobs.push(r?);
        }
    }
    {
        let mut lease = tx.prepare_cached(
            "UPDATE deliveries SET lease_until = ?1, leased_by = ?2 WHERE id = ?3",
        )?;
        for j in &jobs {
            lease.execute(params![now_ms + lease_ms, node, j.id])?;
        }
    }
    tx.commit()?;
    jobs.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
    Ok(jobs)
}

fn stored_from_row(r: &Row) -> rusqlite::Result<Stored> {
    Ok(Stored {
        affiliate_id: r.get(0)?,
        state: r.get(1)?,
        consecutive_failures: r.get(2)?,
        reason: r.get(3)?,
        failing_since_ms: r.get(4)?,
        probe_interval_ms: r.get(5)?,
        next_probe_ms: r.get(6)?,
        probe_id: r.get(7)?,
        last_error: r.get(8)?,
    })
}

/// The destination's row, created healthy if it has none yet.
fn destination_row(tx: &Connection, affiliate: &str, now_ms: i64) -> rusqlite::Result<Stored> {
    tx.prepare_cached(
        "INSERT INTO destinations (affiliate_id, consecutive_failures, suspended, reason, updated_ms)
         VALUES (?1, 0, 0, NULL, ?2) ON CONFLICT (affiliate_id) DO NOTHING",
    )?
    .execute(params![affiliate, now_ms])?;
    tx.prepare_cached(&format!(
        "SELECT {DESTINATION_COLUMNS} FROM destinations WHERE affiliate_id = ?1"
    ))?
    .query_row([affiliate], stored_from_row)
}

/// Writes the decided row, records the event, and on a return to health
/// makes the waiting jobs due now (they go out oldest first).
fn apply(
    tx: &Connection,
    d: &Decided,
    event_row: &Stored,
    now_ms: i64,
) -> rusqlite::Result<Option<DestinationEvent>> {
    let r = &d.row;
    tx.prepare_cached(
        "UPDATE destinations SET state = ?1, suspended = ?2, consecutive_failures = ?3, reason = ?4,
             failing_since_ms = ?5, probe_interval_ms = ?6, next_probe_ms = ?7, probe_id = ?8, last_error = ?9,
             updated_ms = ?10 WHERE affiliate_id = ?11",
    )?
    .execute(params![
        r.state,
        r.state == "disabled",
        r.consecutive_failures,
        r.reason,
        r.failing_since_ms,
        r.probe_interval_ms,
        r.next_probe_ms,
        r.probe_id,
        r.last_error,
        now_ms,
        r.affiliate_id
    ])?;
    let Some(kind) = d.event else {
        return Ok(None);
    };
    if r.state == "healthy" {
        tx.prepare_cached(
            "UPDATE deliveries SET next_attempt_ms = ?1
             WHERE affiliate_id = ?2 AND state = 'pending' AND next_attempt_ms > ?1",
        )?
        .execute(params![now_ms, r.affiliate_id])?;
    }
    tx.prepare_cached(
        "INSERT INTO destination_events (affiliate_id, ts_ms, kind, consecutive_failures, last_error)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        r.affiliate_id,
        now_ms,
        kind.as_str(),
        event_row.consecutive_failures,
        event_row.last_error
    ])?;
    Ok(Some(event_view(
        tx.last_insert_rowid(),
        event_row,
        kind,
        now_ms,
    )))
}

/// Records an attempt and its outcome and what it does to the
/// destination's health; a failed probe leaves its job's attempts and
/// schedule alone.
pub(super) fn finish_attempt(
    c: &mut Connection,
    a: &DeliveryAttempt,
    outcome: AttemptOutcome,
    policy: &HealthPolicy,
) -> rusqlite::Result<Option<DestinationEvent>> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.prepare_cached(
        "INSERT INTO delivery_attempts (delivery_id, ts_ms, url, status, latency_ms, response, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![a.delivery_id, a.ts_ms, a.url, a.status, a.latency_ms, a.response, a.error])?;
    let affiliate: String = tx.query_row(
        "SELECT affiliate_id FROM deliveries WHERE id = ?1",
        [&a.delivery_id],
        |r| r.get(0),
    )?;
    let old = destination_row(&tx, &affiliate, a.ts_ms)?;
    let d = decide(&old, a, outcome, policy);
    if d.hold_job {
        tx.prepare_cached(
            "UPDATE deliveries SET lease_until = 0, updated_ms = ?1, last_error = ?2, last_status = ?3 WHERE id = ?4",
        )?
        .execute(params![a.ts_ms, a.error, a.status, a.delivery_id])?;
    } else {
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
    }
    let event = apply(&tx, &d, &d.row, a.ts_ms)?;
    tx.commit()?;
    Ok(event)
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
    let mut st = c.prepare(&format!(
        "SELECT {DESTINATION_COLUMNS} FROM destinations ORDER BY affiliate_id"
    ))?;
    let rows = st.query_map([], stored_from_row)?;
    rows.map(|r| r.map(Stored::view)).collect()
}

/// A person re-enables the destination.
pub(super) fn resume_destination(
    c: &mut Connection,
    affiliate_id: &str,
    now_ms: i64,
) -> rusqlite::Result<Option<DestinationEvent>> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // a destination never called has no row, and nothing to re-enable
    let Some(old) = tx
        .query_row(
            &format!("SELECT {DESTINATION_COLUMNS} FROM destinations WHERE affiliate_id = ?1"),
            [affiliate_id],
            stored_from_row,
        )
        .optional()?
    else {
        return Ok(None);
    };
    let d = enable(&old);
    let event = apply(&tx, &d, &old, now_ms)?;
    tx.commit()?;
    Ok(event)
}

pub(super) fn destination_events(
    c: &Connection,
    affiliate_id: &str,
    limit: u32,
) -> rusqlite::Result<Vec<DestinationEvent>> {
    let mut st = c.prepare(
        "SELECT id, affiliate_id, kind, ts_ms, consecutive_failures, last_error FROM destination_events
         WHERE affiliate_id = ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = st.query_map(params![affiliate_id, limit], |r| {
        Ok(DestinationEvent {
            id: r.get(0)?,
            affiliate_id: r.get(1)?,
            kind: r.get(2)?,
            ts_ms: r.get(3)?,
            consecutive_failures: r.get(4)?,
            last_error: r.get(5)?,
        })
    })?;
    rows.collect()
}

/// Clears every lease: a SQLite file has one server, so its leases are its
/// own whatever node name it had when it took them.
/// A probe that was in flight is over too: the next may go out at once.
pub(super) fn release_leases(c: &Connection) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE destinations SET next_probe_ms = 0, probe_id = NULL WHERE probe_id IS NOT NULL",
        [],
    )?;
    c.execute(
        "UPDATE deliveries SET lease_until = 0 WHERE state = 'pending'",
        [],
    )
    .map(|_| ())
}
