//! Alerts in SQLite: the alerts and their outbox written in one
//! transaction, hooks, and the outbox's claim (a lease, like deliveries).

use clickledger_domain::alerts::{Alert, OfferHistory, PostbackTally};
use rusqlite::{params, Connection, Row, TransactionBehavior};

use super::config::insert_audit;
use super::sql::rows;
use crate::alerts::*;
use crate::query::{self, ALERT_DELIVERY_COLUMNS};
use crate::AuditEntry;

fn alert_row(r: &Row) -> rusqlite::Result<AlertRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
        r.get(11)?,
        r.get(12)?,
    ))
}

pub(super) fn alerts(c: &Connection, q: &query::Query) -> rusqlite::Result<Vec<AlertRow>> {
    rows(c, q, alert_row)
}

fn delivery_row(r: &Row) -> rusqlite::Result<AlertDelivery> {
    Ok(AlertDelivery {
        id: r.get(0)?,
        hook_id: r.get(1)?,
        alert_id: r.get(2)?,
        event: r.get(3)?,
        body: r.get(4)?,
        state: r.get(5)?,
        attempts: r.get(6)?,
        next_attempt_ms: r.get(7)?,
        created_ms: r.get(8)?,
        updated_ms: r.get(9)?,
        last_error: r.get(10)?,
        last_status: r.get(11)?,
    })
}

pub(super) fn deliveries(
    c: &Connection,
    hook_id: Option<&str>,
    limit: u32,
) -> rusqlite::Result<Vec<AlertDelivery>> {
    rows(c, &query::alert_deliveries(hook_id, limit), delivery_row)
}

pub(super) fn save(
    c: &mut Connection,
    alerts: &[Alert],
    outbox: &[AlertDelivery],
) -> rusqlite::Result<()> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for a in alerts {
        tx.prepare_cached(
            "INSERT INTO alerts (id, kind, subject, state, advertiser_id, offer_id, affiliate_id, summary, figures,
                 opened_ms, updated_ms, resolved_ms, clear_since_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
             ON CONFLICT (id) DO UPDATE SET state = excluded.state, summary = excluded.summary,
                 figures = excluded.figures, updated_ms = excluded.updated_ms,
                 resolved_ms = excluded.resolved_ms, clear_since_ms = excluded.clear_since_ms",
        )?
        .execute(params![
            a.id,
            a.kind.as_str(),
            a.subject,
            a.state.as_str(),
            a.advertiser_id,
            a.offer_id,
            a.affiliate_id,
            a.summary,
            a.figures.to_string(),
            a.opened_ms,
            a.updated_ms,
            a.resolved_ms,
            a.clear_since_ms
        ])?;
    }
    for d in outbox {
        tx.prepare_cached(
            "INSERT INTO alert_deliveries (id, hook_id, alert_id, event, body, state, attempts, next_attempt_ms,
                 lease_until, created_ms, updated_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, ?10) ON CONFLICT (id) DO NOTHING",
        )?
        .execute(params![
            d.id,
            d.hook_id,
            d.alert_id,
            d.event,
            d.body,
            d.state,
            d.attempts,
            d.next_attempt_ms,
            d.created_ms,
            d.updated_ms
        ])?;
    }
    tx.commit()
}

pub(super) fn tallies(
    c: &Connection,
    from_ms: i64,
    to_ms: i64,
) -> rusqlite::Result<Vec<PostbackTally>> {
    rows(c, &query::postback_tallies(from_ms, to_ms), |r| {
        Ok(PostbackTally {
            advertiser_id: r.get(0)?,
            offer_id: r.get(1)?,
            error: r.get(2)?,
            hint: r.get(3)?,
            count: r.get::<_, i64>(4)?.max(0) as u64,
        })
    })
}

pub(super) fn history(
    c: &Connection,
    from_ms: i64,
    to_ms: i64,
) -> rusqlite::Result<Vec<OfferHistory>> {
    rows(c, &query::offer_postback_history(from_ms, to_ms), |r| {
        Ok(OfferHistory {
            offer_id: r.get(0)?,
            advertiser_id: r.get(1)?,
            count: r.get::<_, i64>(2)?.max(0) as u64,
            first_ms: r.get(3)?,
            last_ms: r.get(4)?,
        })
    })
}

pub(super) fn offer_clicks(
    c: &Connection,
    offer_id: &str,
    from_ms: i64,
    to_ms: i64,
) -> rusqlite::Result<u64> {
    let n = rows(c, &query::offer_clicks(offer_id, from_ms, to_ms), |r| {
        r.get::<_, i64>(0)
    })?;
    Ok(n.first().copied().unwrap_or(0).max(0) as u64)
}

pub(super) fn put_hook(
    c: &mut Connection,
    h: &AlertHookRecord,
    change: &AuditEntry,
) -> rusqlite::Result<()> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.prepare_cached(
        "INSERT OR REPLACE INTO alert_hooks (id, url, kinds, format, secret, created_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        h.id,
        h.url,
        serde_json::to_string(&h.kinds).expect("strings serialize"),
        h.format,
        h.secret_sealed,
        h.created_ms
    ])?;
    insert_audit(&tx, change)?;
    tx.commit()
}

pub(super) fn hooks(c: &Connection) -> rusqlite::Result<Vec<AlertHookRecord>> {
    rows(c, &query::alert_hooks(), |r| {
        Ok(AlertHookRecord {
            id: r.get(0)?,
            url: r.get(1)?,
            kinds: kinds_from(&r.get::<_, String>(2)?),
            format: r.get(3)?,
            secret_sealed: r.get(4)?,
            created_ms: r.get(5)?,
        })
    })
}

pub(super) fn delete_hook(
    c: &mut Connection,
    id: &str,
    change: &AuditEntry,
) -> rusqlite::Result<bool> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let n = tx.execute("DELETE FROM alert_hooks WHERE id = ?1", [id])?;
    if n == 0 {
        return Ok(false);
    }
    // its waiting messages have nowhere to go
    tx.execute(
        "UPDATE alert_deliveries SET state = 'failed', last_error = 'hook deleted'
         WHERE hook_id = ?1 AND state = 'pending'",
        [id],
    )?;
    insert_audit(&tx, change)?;
    tx.commit()?;
    Ok(true)
}

pub(super) fn claim(
    c: &mut Connection,
    now_ms: i64,
    lease_ms: i64,
    limit: u32,
    node: &str,
) -> rusqlite::Result<Vec<AlertDelivery>> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let jobs = {
        let mut st = tx.prepare_cached(&format!(
            "SELECT {ALERT_DELIVERY_COLUMNS} FROM alert_deliveries
             WHERE state = 'pending' AND next_attempt_ms <= ?1 AND lease_until <= ?1
             ORDER BY created_ms, id LIMIT ?2"
        ))?;
        let rows = st.query_map(params![now_ms, limit], delivery_row)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    for j in &jobs {
        tx.prepare_cached(
            "UPDATE alert_deliveries SET lease_until = ?1, leased_by = ?2 WHERE id = ?3",
        )?
        .execute(params![now_ms + lease_ms, node, j.id])?;
    }
    tx.commit()?;
    Ok(jobs)
}

pub(super) fn finish(c: &Connection, d: &AlertDelivery) -> rusqlite::Result<()> {
    c.prepare_cached(
        "UPDATE alert_deliveries SET state = ?1, attempts = ?2, next_attempt_ms = ?3, updated_ms = ?4,
             last_error = ?5, last_status = ?6, lease_until = 0 WHERE id = ?7",
    )?
    .execute(params![
        d.state,
        d.attempts,
        d.next_attempt_ms,
        d.updated_ms,
        d.last_error,
        d.last_status,
        d.id
    ])
    .map(drop)
}
