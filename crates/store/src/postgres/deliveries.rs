//! The outbox on PostgreSQL, drained by every node: a claim takes due jobs
//! with `FOR UPDATE SKIP LOCKED` (two nodes claiming at once never take the
//! same job, and neither waits for the other) and leases them to its node;
//! a job whose node died is due again when the lease ends. Destination
//! health lives in the `destinations` row, so every node respects it.

use clickledger_domain::destination_health::HealthPolicy;
use clickledger_domain::Status;
use tokio_postgres::Row;

use super::sql::{corrupt, pg_error, rows};
use super::PgStore;
use crate::health::{decide, enable, event_view, Decided, Stored, DESTINATION_COLUMNS};
use crate::model::*;
use crate::query::{self, DELIVERY_COLUMNS};
use crate::record::parse_method;
use crate::StoreResult;

fn delivery_from_row(r: &Row) -> StoreResult<Delivery> {
    let id: String = r.get(0);
    let (status, method, state): (&str, &str, &str) = (r.get(3), r.get(4), r.get(7));
    let column = |name, text: &str, expected| corrupt("deliveries", &id, name, text, expected);
    Ok(Delivery {
        status: Status::parse(status).ok_or_else(|| column("status", status, "a status"))?,
        method: parse_method(method).ok_or_else(|| column("method", method, "GET or POST"))?,
        state: DeliveryState::parse(state)
            .ok_or_else(|| column("state", state, "a delivery state"))?,
        affiliate_id: r.get(1),
        conversion_id: r.get(2),
        url: r.get(5),
        body: r.get(6),
        attempts: r.get::<_, i32>(8) as u32,
        next_attempt_ms: r.get(9),
        created_ms: r.get(10),
        updated_ms: r.get(11),
        last_error: r.get(12),
        last_status: r.get::<_, Option<i32>>(13).map(|s| s as u16),
        id,
    })
}

/// One probe per failing destination whose probe time has come, then due
/// jobs of healthy destinations, in one transaction. The probe's
/// destination row is taken `FOR UPDATE SKIP LOCKED` and its
/// `next_probe_ms` moved to the lease's end before commit: a node claiming
/// at the same time skips the locked row, and one claiming after sees the
/// new time, so two nodes never probe the same destination at once.
pub async fn claim(
    s: &PgStore,
    now_ms: i64,
    lease_ms: i64,
    n: u32,
    node: &str,
) -> StoreResult<Vec<Delivery>> {
    let mut c = s.client().await?;
    let tx = super::begin(&mut c).await?;
    let until = now_ms + lease_ms;
    let due = tx
        .query(
            "UPDATE destinations SET next_probe_ms = $2 WHERE affiliate_id IN (
                 SELECT s.affiliate_id FROM destinations s
                 WHERE s.state = 'failing' AND s.next_probe_ms <= $1
                   AND EXISTS (SELECT 1 FROM deliveries j WHERE j.affiliate_id = s.affiliate_id
                               AND j.state = 'pending' AND j.lease_until <= $1)
                 ORDER BY s.affiliate_id LIMIT $3 FOR UPDATE SKIP LOCKED)
             RETURNING affiliate_id",
            &[&now_ms, &until, &i64::from(n)],
        )
        .await
        .map_err(pg_error)?;
    let mut jobs = Vec::new();
    for d in &due {
        let affiliate: String = d.get(0);
        let probe = tx
            .query_opt(
                &format!(
                    "UPDATE deliveries SET lease_until = $2, leased_by = $3 WHERE id = (
                         SELECT id FROM deliveries
                         WHERE affiliate_id = $4 AND state = 'pending' AND lease_until <= $1
                         ORDER BY created_ms, id LIMIT 1 FOR UPDATE SKIP LOCKED)
                     RETURNING {DELIVERY_COLUMNS}"
                ),
                &[&now_ms, &until, &node, &affiliate],
            )
            .await
            .map_err(pg_error)?;
        if let Some(row) = probe {
            let job = delivery_from_row(&row)?;
            tx.execute(
                "UPDATE destinations SET probe_id = $1 WHERE affiliate_id = $2",
                &[&job.id, &affiliate],
            )
            .await
            .map_err(pg_error)?;
            jobs.push(job);
        }
    }
    let rest = n.saturating_sub(jobs.len() as u32);
    if rest > 0 {
        let rows = tx
            .query(
                &format!(
                    "UPDATE deliveries SET lease_until = $2, leased_by = $3 WHERE id IN (
                         SELECT id FROM deliveries
                         WHERE state = 'pending' AND next_attempt_ms <= $1 AND lease_until <= $1
                           AND affiliate_id NOT IN (SELECT affiliate_id FROM destinations WHERE state <> 'healthy')
                         ORDER BY created_ms, id LIMIT $4 FOR UPDATE SKIP LOCKED)
                     RETURNING {DELIVERY_COLUMNS}"
                ),
                &[&now_ms, &until, &node, &i64::from(rest)],
            )
            .await
            .map_err(pg_error)?;
        for r in &rows {
            jobs.push(delivery_from_row(r)?);
        }
    }
    tx.commit().await.map_err(pg_error)?;
    // RETURNING keeps no order: oldest first, as claimed
    jobs.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
    Ok(jobs)
}

fn stored_from_row(r: &Row) -> Stored {
    Stored {
        affiliate_id: r.get(0),
        state: r.get(1),
        consecutive_failures: r.get::<_, i32>(2) as u32,
        reason: r.get(3),
        failing_since_ms: r.get(4),
        probe_interval_ms: r.get(5),
        next_probe_ms: r.get(6),
        probe_id: r.get(7),
        last_error: r.get(8),
    }
}

/// The destination's row, created healthy if it has none, locked until the
/// transaction ends.
async fn destination_row(
    tx: &tokio_postgres::Transaction<'_>,
    affiliate: &str,
    now_ms: i64,
) -> StoreResult<Stored> {
    tx.execute(
        "INSERT INTO destinations (affiliate_id, consecutive_failures, suspended, reason, updated_ms)
         VALUES ($1, 0, FALSE, NULL, $2) ON CONFLICT (affiliate_id) DO NOTHING",
        &[&affiliate, &now_ms],
    )
    .await
    .map_err(pg_error)?;
    let row = tx
        .query_one(
            &format!(
                "SELECT {DESTINATION_COLUMNS} FROM destinations WHERE affiliate_id = $1 FOR UPDATE"
            ),
            &[&affiliate],
        )
        .await
        .map_err(pg_error)?;
    Ok(stored_from_row(&row))
}

/// Writes the decided row, records the event, and on a return to health
/// makes the waiting jobs due now (they go out oldest first).
async fn apply(
    tx: &tokio_postgres::Transaction<'_>,
    d: &Decided,
    event_row: &Stored,
    now_ms: i64,
) -> StoreResult<Option<DestinationEvent>> {
    let r = &d.row;
    tx.execute(
        "UPDATE destinations SET state = $1, suspended = $2, consecutive_failures = $3, reason = $4,
             failing_since_ms = $5, probe_interval_ms = $6, next_probe_ms = $7, probe_id = $8, last_error = $9,
             updated_ms = $10 WHERE affiliate_id = $11",
        &[
            &r.state,
            &(r.state == "disabled"),
            &(r.consecutive_failures as i32),
            &r.reason,
            &r.failing_since_ms,
            &r.probe_interval_ms,
            &r.next_probe_ms,
            &r.probe_id,
            &r.last_error,
            &now_ms,
            &r.affiliate_id,
        ],
    )
    .await
    .map_err(pg_error)?;
    let Some(kind) = d.event else {
        return Ok(None);
    };
    if r.state == "healthy" {
        tx.execute(
            "UPDATE deliveries SET next_attempt_ms = $1
             WHERE affiliate_id = $2 AND state = 'pending' AND next_attempt_ms > $1",
            &[&now_ms, &r.affiliate_id],
        )
        .await
        .map_err(pg_error)?;
    }
    let row = tx
        .query_one(
            "INSERT INTO destination_events (affiliate_id, ts_ms, kind, consecutive_failures, last_error)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[
                &r.affiliate_id,
                &now_ms,
                &kind.as_str(),
                &(event_row.consecutive_failures as i32),
                &event_row.last_error,
            ],
        )
        .await
        .map_err(pg_error)?;
    Ok(Some(event_view(row.get(0), event_row, kind, now_ms)))
}

/// Records an attempt and its outcome and what it does to the
/// destination's health (its row locked meanwhile); a failed probe leaves
/// its job's attempts and schedule alone.
pub async fn finish_attempt(
    s: &PgStore,
    a: &DeliveryAttempt,
    outcome: AttemptOutcome,
    policy: &HealthPolicy,
) -> StoreResult<Option<DestinationEvent>> {
    let mut c = s.client().await?;
    let tx = super::begin(&mut c).await?;
    let status = a.status.map(i32::from);
    tx.execute(
        "INSERT INTO delivery_attempts (delivery_id, ts_ms, url, status, latency_ms, response, error) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[&a.delivery_id, &a.ts_ms, &a.url, &status, &a.latency_ms, &a.response, &a.error],
    )
    .await
    .map_err(pg_error)?;
    let affiliate: String = tx
        .query_one(
            "SELECT affiliate_id FROM deliveries WHERE id = $1",
            &[&a.delivery_id],
        )
        .await
        .map_err(pg_error)?
        .get(0);
    let old = destination_row(&tx, &affiliate, a.ts_ms).await?;
    let d = decide(&old, a, outcome, policy);
    if d.hold_job {
        tx.execute(
            "UPDATE deliveries SET lease_until = 0, leased_by = NULL, updated_ms = $1, last_error = $2, last_status = $3 WHERE id = $4",
            &[&a.ts_ms, &a.error, &status, &a.delivery_id],
        )
        .await
        .map_err(pg_error)?;
    } else {
        let (state, next) = match outcome {
            AttemptOutcome::Delivered => ("delivered", a.ts_ms),
            AttemptOutcome::RetryAt(t) => ("pending", t),
            AttemptOutcome::Failed => ("failed", a.ts_ms),
        };
        tx.execute(
            "UPDATE deliveries SET state = $1, attempts = attempts + 1, next_attempt_ms = $2, lease_until = 0, leased_by = NULL,
                 updated_ms = $3, last_error = $4, last_status = $5 WHERE id = $6",
            &[&state, &next, &a.ts_ms, &a.error, &status, &a.delivery_id],
        )
        .await
        .map_err(pg_error)?;
    }
    let event = apply(&tx, &d, &d.row, a.ts_ms).await?;
    tx.commit().await.map_err(pg_error)?;
    Ok(event)
}

pub async fn list(s: &PgStore, f: &DeliveryFilter) -> StoreResult<Vec<Delivery>> {
    let c = s.client().await?;
    rows(&**c, &query::deliveries(f))
        .await?
        .iter()
        .map(delivery_from_row)
        .collect()
}

pub async fn one(
    s: &PgStore,
    id: &str,
    scope: &Scope,
) -> StoreResult<Option<(Delivery, Vec<DeliveryAttempt>)>> {
    let c = s.client().await?;
    let Some(row) = rows(&**c, &query::delivery(id, scope))
        .await?
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    let d = delivery_from_row(&row)?;
    let attempts = c
        .query(
            "SELECT delivery_id, ts_ms, url, status, latency_ms, response, error FROM delivery_attempts WHERE delivery_id = $1 ORDER BY id",
            &[&d.id],
        )
        .await
        .map_err(pg_error)?
        .iter()
        .map(|r| DeliveryAttempt {
            delivery_id: r.get(0),
            ts_ms: r.get(1),
            url: r.get(2),
            status: r.get::<_, Option<i32>>(3).map(|s| s as u16),
            latency_ms: r.get(4),
            response: r.get(5),
            error: r.get(6),
        })
        .collect();
    Ok(Some((d, attempts)))
}

pub async fn retry(s: &PgStore, id: &str, now_ms: i64) -> StoreResult<bool> {
    let n = s
        .execute(
            "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_ms = $1, lease_until = 0, leased_by = NULL, updated_ms = $1 WHERE id = $2",
            &[&now_ms, &id],
        )
        .await?;
    Ok(n > 0)
}

pub async fn replay(
    s: &PgStore,
    affiliate_id: Option<&str>,
    from_ms: i64,
    to_ms: i64,
    now_ms: i64,
) -> StoreResult<u64> {
    s.execute(
        "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_ms = $1, lease_until = 0, leased_by = NULL, updated_ms = $1
         WHERE created_ms >= $2 AND created_ms < $3 AND ($4::text IS NULL OR affiliate_id = $4)",
        &[&now_ms, &from_ms, &to_ms, &affiliate_id],
    )
    .await
}

pub async fn destinations(s: &PgStore) -> StoreResult<Vec<Destination>> {
    let c = s.client().await?;
    let rows = c
        .query(
            &format!("SELECT {DESTINATION_COLUMNS} FROM destinations ORDER BY affiliate_id"),
            &[],
        )
        .await
        .map_err(pg_error)?;
    Ok(rows.iter().map(|r| stored_from_row(r).view()).collect())
}

/// A person re-enables the destination.
pub async fn resume_destination(
    s: &PgStore,
    affiliate_id: &str,
    now_ms: i64,
) -> StoreResult<Option<DestinationEvent>> {
    let mut c = s.client().await?;
    let tx = super::begin(&mut c).await?;
    // a destination never called has no row, and nothing to re-enable
    let Some(row) = tx
        .query_opt(
            &format!(
                "SELECT {DESTINATION_COLUMNS} FROM destinations WHERE affiliate_id = $1 FOR UPDATE"
            ),
            &[&affiliate_id],
        )
        .await
        .map_err(pg_error)?
    else {
        return Ok(None);
    };
    let old = stored_from_row(&row);
    let d = enable(&old);
    let event = apply(&tx, &d, &old, now_ms).await?;
    tx.commit().await.map_err(pg_error)?;
    Ok(event)
}

pub async fn destination_events(
    s: &PgStore,
    affiliate_id: &str,
    limit: u32,
) -> StoreResult<Vec<DestinationEvent>> {
    let c = s.client().await?;
    let rows = c
        .query(
            "SELECT id, affiliate_id, kind, ts_ms, consecutive_failures, last_error FROM destination_events
             WHERE affiliate_id = $1 ORDER BY id DESC LIMIT $2",
            &[&affiliate_id, &i64::from(limit)],
        )
        .await
        .map_err(pg_error)?;
    Ok(rows
        .iter()
        .map(|r| DestinationEvent {
            id: r.get(0),
            affiliate_id: r.get(1),
            kind: r.get(2),
            ts_ms: r.get(3),
            consecutive_failures: r.get::<_, i32>(4) as u32,
            last_error: r.get(5),
        })
        .collect())
}

/// Only this node's leases: other nodes are alive and sending theirs. A
/// probe of this node's that was in flight is over too: the next may go
/// out at once.
pub async fn release_leases(s: &PgStore, node: &str) -> StoreResult<()> {
    s.execute(
        "UPDATE destinations SET next_probe_ms = 0, probe_id = NULL WHERE probe_id IN (
             SELECT id FROM deliveries WHERE state = 'pending' AND leased_by = $1)",
        &[&node],
    )
    .await?;
    s.execute(
        "UPDATE deliveries SET lease_until = 0, leased_by = NULL WHERE state = 'pending' AND leased_by = $1",
        &[&node],
    )
    .await
    .map(drop)
}
