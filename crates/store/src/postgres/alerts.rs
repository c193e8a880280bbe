//! Alerts on PostgreSQL: the alerts and their outbox written in one
//! transaction, hooks, and the outbox's claim (`FOR UPDATE SKIP LOCKED`, a
//! lease per node, like deliveries).

use clickledger_domain::alerts::{Alert, OfferHistory, PostbackTally};
use tokio_postgres::Row;

use super::config::insert_audit;
use super::sql::{pg_error, rows};
use super::{begin, PgStore};
use crate::alerts::*;
use crate::query::{self, ALERT_DELIVERY_COLUMNS};
use crate::AuditEntry;
use crate::StoreResult;

fn alert_row(r: &Row) -> AlertRow {
    (
        r.get(0),
        r.get(1),
        r.get(2),
        r.get(3),
        r.get(4),
        r.get(5),
        r.get(6),
        r.get(7),
        r.get(8),
        r.get(9),
        r.get(10),
        r.get(11),
        r.get(12),
    )
}

pub async fn alerts(s: &PgStore, q: &query::Query) -> StoreResult<Vec<Alert>> {
    let c = s.client().await?;
    rows(&**c, q)
        .await?
        .iter()
        .map(|r| alert_from_row(alert_row(r)))
        .collect()
}

fn delivery_row(r: &Row) -> AlertDelivery {
    AlertDelivery {
        id: r.get(0),
        hook_id: r.get(1),
        alert_id: r.get(2),
        event: r.get(3),
        body: r.get(4),
        state: r.get(5),
        attempts: r.get(6),
        next_attempt_ms: r.get(7),
        created_ms: r.get(8),
        updated_ms: r.get(9),
        last_error: r.get(10),
        last_status: r.get(11),
    }
}

pub async fn deliveries(
    s: &PgStore,
    hook_id: Option<&str>,
    limit: u32,
) -> StoreResult<Vec<AlertDelivery>> {
    let c = s.client().await?;
    Ok(rows(&**c, &query::alert_deliveries(hook_id, limit))
        .await?
        .iter()
        .map(delivery_row)
        .collect())
}

pub async fn save(s: &PgStore, alerts: &[Alert], outbox: &[AlertDelivery]) -> StoreResult<()> {
    let mut c = s.client().await?;
    let tx = begin(&mut c).await?;
    for a in alerts {
        tx.execute(
            "INSERT INTO alerts (id, kind, subject, state, advertiser_id, offer_id, affiliate_id, summary, figures,
                 opened_ms, updated_ms, resolved_ms, clear_since_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
             ON CONFLICT (id) DO UPDATE SET state = excluded.state, summary = excluded.summary,
                 figures = excluded.figures, updated_ms = excluded.updated_ms,
                 resolved_ms = excluded.resolved_ms, clear_since_ms = excluded.clear_since_ms",
            &[
                &a.id,
                &a.kind.as_str(),
                &a.subject,
                &a.state.as_str(),
                &a.advertiser_id,
                &a.offer_id,
                &a.affiliate_id,
                &a.summary,
                &a.figures.to_string(),
                &a.opened_ms,
                &a.updated_ms,
                &a.resolved_ms,
                &a.clear_since_ms,
            ],
        )
        .await
        .map_err(pg_error)?;
    }
    for d in outbox {
        tx.execute(
            "INSERT INTO alert_deliveries (id, hook_id, alert_id, event, body, state, attempts, next_attempt_ms,
                 lease_until, created_ms, updated_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10) ON CONFLICT (id) DO NOTHING",
            &[
                &d.id,
                &d.hook_id,
                &d.alert_id,
                &d.event,
                &d.body,
                &d.state,
                &d.attempts,
                &d.next_attempt_ms,
                &d.created_ms,
                &d.updated_ms,
            ],
        )
        .await
        .map_err(pg_error)?;
    }
    tx.commit().await.map_err(pg_error)
}

pub async fn tallies(s: &PgStore, from_ms: i64, to_ms: i64) -> StoreResult<Vec<PostbackTally>> {
    let c = s.client().await?;
    Ok(rows(&**c, &query::postback_tallies(from_ms, to_ms))
        .await?
        .iter()
        .map(|r| PostbackTally {
            advertiser_id: r.get(0),
            offer_id: r.get(1),
            error: r.get(2),
            hint: r.get(3),
            count: r.get::<_, i64>(4).max(0) as u64,
        })
        .collect())
}

pub async fn history(s: &PgStore, from_ms: i64, to_ms: i64) -> StoreResult<Vec<OfferHistory>> {
    let c = s.client().await?;
    Ok(rows(&**c, &query::offer_postback_history(from_ms, to_ms))
        .await?
        .iter()
        .map(|r| OfferHistory {
            offer_id: r.get(0),
            advertiser_id: r.get(1),
            count: r.get::<_, i64>(2).max(0) as u64,
            first_ms: r.get(3),
            last_ms: r.get(4),
        })
        .collect())
}

pub async fn offer_clicks(s: &PgStore, offer: &str, from_ms: i64, to_ms: i64) -> StoreResult<u64> {
    let c = s.client().await?;
    let found = rows(&**c, &query::offer_clicks(offer, from_ms, to_ms)).await?;
    Ok(found
        .first()
        .map(|r| r.get::<_, i64>(0))
        .unwrap_or(0)
        .max(0) as u64)
}

pub async fn put_hook(s: &PgStore, h: &AlertHookRecord, change: &AuditEntry) -> StoreResult<()> {
    let mut c = s.client().await?;
    let tx = begin(&mut c).await?;
    tx.execute(
        "INSERT INTO alert_hooks (id, url, kinds, format, secret, created_ms) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO UPDATE SET url = excluded.url, kinds = excluded.kinds, format = excluded.format,
             secret = excluded.secret",
        &[
            &h.id,
            &h.url,
            &serde_json::to_string(&h.kinds).expect("strings serialize"),
            &h.format,
            &h.secret_sealed,
            &h.created_ms,
        ],
    )
    .await
    .map_err(pg_error)?;
    insert_audit(&tx, change).await?;
    tx.commit().await.map_err(pg_error)
}

pub async fn hooks(s: &PgStore) -> StoreResult<Vec<AlertHookRecord>> {
    let c = s.client().await?;
    Ok(rows(&**c, &query::alert_hooks())
        .await?
        .iter()
        .map(|r| AlertHookRecord {
            id: r.get(0),
            url: r.get(1),
            kinds: kinds_from(r.get(2)),
            format: r.get(3),
            secret_sealed: r.get(4),
            created_ms: r.get(5),
        })
        .collect())
}

pub async fn delete_hook(s: &PgStore, id: &str, change: &AuditEntry) -> StoreResult<bool> {
    let mut c = s.client().await?;
    let tx = begin(&mut c).await?;
    let n = tx
        .execute("DELETE FROM alert_hooks WHERE id = $1", &[&id])
        .await
        .map_err(pg_error)?;
    if n == 0 {
        return Ok(false);
    }
    tx.execute(
        "UPDATE alert_deliveries SET state = 'failed', last_error = 'hook deleted'
         WHERE hook_id = $1 AND state = 'pending'",
        &[&id],
    )
    .await
    .map_err(pg_error)?;
    insert_audit(&tx, change).await?;
    tx.commit().await.map_err(pg_error)?;
    Ok(true)
}

pub async fn claim(
    s: &PgStore,
    now_ms: i64,
    lease_ms: i64,
    limit: u32,
    node: &str,
) -> StoreResult<Vec<AlertDelivery>> {
    let c = s.client().await?;
    let found = c
        .query(
            &format!(
                "UPDATE alert_deliveries SET lease_until = $2, leased_by = $3 WHERE id IN (
                     SELECT id FROM alert_deliveries
                     WHERE state = 'pending' AND next_attempt_ms <= $1 AND lease_until <= $1
                     ORDER BY created_ms, id LIMIT $4 FOR UPDATE SKIP LOCKED)
                 RETURNING {ALERT_DELIVERY_COLUMNS}"
            ),
            &[&now_ms, &(now_ms + lease_ms), &node, &i64::from(limit)],
        )
        .await
        .map_err(pg_error)?;
    let mut jobs: Vec<AlertDelivery> = found.iter().map(delivery_row).collect();
    jobs.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
    Ok(jobs)
}

pub async fn finish(s: &PgStore, d: &AlertDelivery) -> StoreResult<()> {
    let c = s.client().await?;
    c.execute(
        "UPDATE alert_deliveries SET state = $1, attempts = $2, next_attempt_ms = $3, updated_ms = $4,
             last_error = $5, last_status = $6, lease_until = 0 WHERE id = $7",
        &[
            &d.state,
            &d.attempts,
            &d.next_attempt_ms,
            &d.updated_ms,
            &d.last_error,
            &d.last_status,
            &d.id,
        ],
    )
    .await
    .map_err(pg_error)
    .map(drop)
}
