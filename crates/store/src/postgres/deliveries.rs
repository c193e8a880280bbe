//! The outbox on PostgreSQL, drained by every node: a claim takes due jobs
//! with `FOR UPDATE SKIP LOCKED` (two nodes claiming at once never take the
//! same job, and neither waits for the other) and leases them to its node;
//! a job whose node died is due again when the lease ends.

use clickledger_domain::Status;
use tokio_postgres::Row;

use super::sql::{corrupt, pg_error, rows};
use super::PgStore;
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

pub async fn claim(
    s: &PgStore,
    now_ms: i64,
    lease_ms: i64,
    n: u32,
    node: &str,
) -> StoreResult<Vec<Delivery>> {
    let c = s.client().await?;
    let rows = c
        .query(
            &format!(
                "UPDATE deliveries SET lease_until = $2, leased_by = $3 WHERE id IN (
                     SELECT id FROM deliveries
                     WHERE state = 'pending' AND next_attempt_ms <= $1 AND lease_until <= $1
                       AND affiliate_id NOT IN (SELECT affiliate_id FROM destinations WHERE suspended)
                     ORDER BY created_ms, id LIMIT $4 FOR UPDATE SKIP LOCKED)
                 RETURNING {DELIVERY_COLUMNS}"
            ),
            &[&now_ms, &(now_ms + lease_ms), &node, &i64::from(n)],
        )
        .await
        .map_err(pg_error)?;
    let mut jobs: Vec<Delivery> = rows
        .iter()
        .map(delivery_from_row)
        .collect::<StoreResult<_>>()?;
    // RETURNING keeps no order: oldest first, as claimed
    jobs.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
    Ok(jobs)
}

pub async fn finish_attempt(
    s: &PgStore,
    a: &DeliveryAttempt,
    outcome: AttemptOutcome,
    suspend_after: u32,
) -> StoreResult<()> {
    let mut c = s.client().await?;
    let tx = super::begin(&mut c).await?;
    let status = a.status.map(i32::from);
    tx.execute(
        "INSERT INTO delivery_attempts (delivery_id, ts_ms, url, status, latency_ms, response, error) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[&a.delivery_id, &a.ts_ms, &a.url, &status, &a.latency_ms, &a.response, &a.error],
    )
    .await
    .map_err(pg_error)?;
    let (state, next) = match outcome {
        AttemptOutcome::Delivered => ("delivered", a.ts_ms),
        AttemptOutcome::RetryAt(t) => ("pending", t),
        AttemptOutcome::Failed => ("failed", a.ts_ms),
    };
    let row = tx
        .query_one(
            "UPDATE deliveries SET state = $1, attempts = attempts + 1, next_attempt_ms = $2, lease_until = 0, leased_by = NULL,
                 updated_ms = $3, last_error = $4, last_status = $5 WHERE id = $6 RETURNING affiliate_id",
            &[&state, &next, &a.ts_ms, &a.error, &status, &a.delivery_id],
        )
        .await
        .map_err(pg_error)?;
    let affiliate: String = row.get(0);
    if outcome == AttemptOutcome::Delivered {
        tx.execute(
            "INSERT INTO destinations (affiliate_id, consecutive_failures, suspended, reason, updated_ms) VALUES ($1, 0, FALSE, NULL, $2)
             ON CONFLICT (affiliate_id) DO UPDATE SET consecutive_failures = 0, updated_ms = $2",
            &[&affiliate, &a.ts_ms],
        )
        .await
        .map_err(pg_error)?;
    } else {
        let reason = format!(
            "suspended after {suspend_after} failed attempts in a row; last: {}",
            a.error
                .clone()
                .unwrap_or_else(|| format!("HTTP {}", a.status.unwrap_or(0)))
        );
        tx.execute(
            "INSERT INTO destinations (affiliate_id, consecutive_failures, suspended, reason, updated_ms) VALUES ($1, 1, FALSE, NULL, $2)
             ON CONFLICT (affiliate_id) DO UPDATE SET consecutive_failures = destinations.consecutive_failures + 1, updated_ms = $2",
            &[&affiliate, &a.ts_ms],
        )
        .await
        .map_err(pg_error)?;
        tx.execute(
            "UPDATE destinations SET suspended = TRUE, reason = $1 WHERE affiliate_id = $2 AND NOT suspended AND consecutive_failures >= $3",
            &[&reason, &affiliate, &(suspend_after as i32)],
        )
        .await
        .map_err(pg_error)?;
    }
    tx.commit().await.map_err(pg_error)
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
        .query("SELECT affiliate_id, consecutive_failures, suspended, reason FROM destinations ORDER BY affiliate_id", &[])
        .await
        .map_err(pg_error)?;
    Ok(rows
        .iter()
        .map(|r| Destination {
            affiliate_id: r.get(0),
            consecutive_failures: r.get::<_, i32>(1) as u32,
            suspended: r.get(2),
            reason: r.get(3),
        })
        .collect())
}

pub async fn resume_destination(s: &PgStore, affiliate_id: &str) -> StoreResult<()> {
    s.execute(
        "UPDATE destinations SET suspended = FALSE, consecutive_failures = 0, reason = NULL WHERE affiliate_id = $1",
        &[&affiliate_id],
    )
    .await
    .map(drop)
}

/// Only this node's leases: other nodes are alive and sending theirs.
pub async fn release_leases(s: &PgStore, node: &str) -> StoreResult<()> {
    s.execute(
        "UPDATE deliveries SET lease_until = 0, leased_by = NULL WHERE state = 'pending' AND leased_by = $1",
        &[&node],
    )
    .await
    .map(drop)
}
