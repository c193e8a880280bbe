//! Configuration: API keys, partners, offers, links, their audit trail and
//! template versions. Every write bumps the stamp and notifies every node
//! in its own transaction, so no node serves a stale copy for long.

use serde::de::DeserializeOwned;
use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, Row};

use super::listen::CHANNEL;
use super::sql::{corrupt, json, pg_error, rows};
use super::PgStore;
use crate::model::*;
use crate::query;
use crate::StoreResult;

/// Upserts one row by id, audits the change and tells the other nodes.
async fn put_row(
    s: &PgStore,
    sql: &str,
    values: &[&(dyn ToSql + Sync)],
    change: Option<&AuditEntry>,
) -> StoreResult<()> {
    let mut c = s.client().await?;
    let tx = super::begin(&mut c).await?;
    tx.execute(sql, values).await.map_err(pg_error)?;
    if let Some(e) = change {
        insert_audit(&tx, e).await?;
    }
    changed(&tx).await?;
    tx.commit().await.map_err(pg_error)
}

/// Marks the configuration changed: the stamp every node polls, and a
/// NOTIFY delivered when the transaction commits.
pub(super) async fn changed(tx: &impl GenericClient) -> StoreResult<()> {
    tx.batch_execute(&format!(
        "UPDATE config_stamp SET n = n + 1; NOTIFY {CHANNEL};"
    ))
    .await
    .map_err(pg_error)
}

pub async fn stamp(s: &PgStore) -> StoreResult<i64> {
    let c = s.client().await?;
    let row = c
        .query_one("SELECT n FROM config_stamp", &[])
        .await
        .map_err(pg_error)?;
    Ok(row.get(0))
}

/// Writes one audit entry (and, when it carries a template, a new template
/// version); the caller's transaction makes it part of the change.
pub async fn insert_audit(tx: &impl GenericClient, e: &AuditEntry) -> StoreResult<()> {
    let (before, after) = (e.before.as_ref().map(json), e.after.as_ref().map(json));
    tx.execute(
        "INSERT INTO audit (ts_ms, key_id, action, entity_kind, entity_id, before, after) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[&e.ts_ms, &e.key_id, &e.action, &e.entity_kind, &e.entity_id, &before, &after],
    )
    .await
    .map_err(pg_error)?;
    if let Some(t) = &e.template {
        tx.execute(
            "INSERT INTO template_versions (entity_kind, entity_id, version, ts_ms, key_id, template)
             SELECT $1::text, $2::text, COALESCE(MAX(version), 0) + 1, $3, $4, $5 FROM template_versions
             WHERE entity_kind = $1 AND entity_id = $2",
            &[&e.entity_kind, &e.entity_id, &e.ts_ms, &e.key_id, &json(t)],
        )
        .await
        .map_err(pg_error)?;
    }
    Ok(())
}

/// Reads the `doc` column (and `secrets`, when the table has it) of every
/// row as `T`; a document that does not parse names its table and row.
async fn docs<T: DeserializeOwned>(
    s: &PgStore,
    table: &'static str,
    with_secrets: Option<fn(&mut T, &str) -> bool>,
) -> StoreResult<Vec<T>> {
    let c = s.client().await?;
    let columns = if with_secrets.is_some() {
        "id, doc, secrets"
    } else {
        "id, doc"
    };
    let rows = c
        .query(&format!("SELECT {columns} FROM {table} ORDER BY id"), &[])
        .await
        .map_err(pg_error)?;
    rows.iter()
        .map(|r| {
            let id: &str = r.get(0);
            let doc: &str = r.get(1);
            let mut v: T = serde_json::from_str(doc)
                .map_err(|_| corrupt(table, id, "doc", doc, "a JSON document of its kind"))?;
            if let Some(fill) = with_secrets {
                if !fill(&mut v, r.get(2)) {
                    return Err(corrupt(table, id, "secrets", "…", "a JSON list of secrets"));
                }
            }
            Ok(v)
        })
        .collect()
}

/// Reads a partner's secrets column into its document.
fn secrets_into<T: DeserializeOwned>(slot: &mut T, text: &str) -> bool {
    serde_json::from_str(text).map(|v| *slot = v).is_ok()
}

pub async fn put_api_key(
    s: &PgStore,
    key: &ApiKey,
    change: Option<&AuditEntry>,
) -> StoreResult<()> {
    put_row(
        s,
        "INSERT INTO api_keys (id, key_hash, doc) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET key_hash = excluded.key_hash, doc = excluded.doc",
        &[&key.id, &key.key_hash, &json(key)],
        change,
    )
    .await
}

pub async fn api_keys(s: &PgStore) -> StoreResult<Vec<ApiKey>> {
    docs(s, "api_keys", None).await
}

pub async fn put_advertiser(s: &PgStore, a: &Advertiser, change: &AuditEntry) -> StoreResult<()> {
    put_row(
        s,
        "INSERT INTO advertisers (id, secrets, doc) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET secrets = excluded.secrets, doc = excluded.doc",
        &[&a.id, &json(&a.secrets), &json(a)],
        Some(change),
    )
    .await
}

pub async fn advertisers(s: &PgStore) -> StoreResult<Vec<Advertiser>> {
    docs(
        s,
        "advertisers",
        Some(|a: &mut Advertiser, t| secrets_into(&mut a.secrets, t)),
    )
    .await
}

pub async fn put_offer(s: &PgStore, o: &Offer, change: &AuditEntry) -> StoreResult<()> {
    put_row(
        s,
        "INSERT INTO offers (id, advertiser_id, doc) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET advertiser_id = excluded.advertiser_id, doc = excluded.doc",
        &[&o.id, &o.advertiser_id, &json(o)],
        Some(change),
    )
    .await
}

pub async fn offers(s: &PgStore) -> StoreResult<Vec<Offer>> {
    docs(s, "offers", None).await
}

pub async fn put_affiliate(s: &PgStore, a: &Affiliate, change: &AuditEntry) -> StoreResult<()> {
    put_row(
        s,
        "INSERT INTO affiliates (id, secrets, doc) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET secrets = excluded.secrets, doc = excluded.doc",
        &[&a.id, &json(&a.secrets), &json(a)],
        Some(change),
    )
    .await
}

pub async fn affiliates(s: &PgStore) -> StoreResult<Vec<Affiliate>> {
    docs(
        s,
        "affiliates",
        Some(|a: &mut Affiliate, t| secrets_into(&mut a.secrets, t)),
    )
    .await
}

pub async fn put_link(s: &PgStore, l: &Link, change: &AuditEntry) -> StoreResult<()> {
    put_row(
        s,
        "INSERT INTO links (id, offer_id, affiliate_id, doc, flow) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO UPDATE SET offer_id = excluded.offer_id, affiliate_id = excluded.affiliate_id,
             doc = excluded.doc, flow = excluded.flow",
        &[
            &l.id,
            &l.offer_id,
            &l.affiliate_id,
            &json(l),
            &l.flow,
        ],
        Some(change),
    )
    .await
}

pub async fn links(s: &PgStore) -> StoreResult<Vec<Link>> {
    let c = s.client().await?;
    let rows = c
        .query("SELECT id, doc, flow FROM links ORDER BY id", &[])
        .await
        .map_err(pg_error)?;
    rows.iter()
        .map(|r| {
            let (id, doc, flow): (&str, &str, Option<&str>) = (r.get(0), r.get(1), r.get(2));
            let mut l: Link = serde_json::from_str(doc)
                .map_err(|_| corrupt("links", id, "doc", doc, "a JSON document of its kind"))?;
            l.flow = flow.map(str::to_string);
            Ok(l)
        })
        .collect()
}

pub async fn audit(s: &PgStore, f: &AuditFilter) -> StoreResult<Vec<AuditEntry>> {
    let c = s.client().await?;
    let rows = rows(&**c, &query::audit(f)).await?;
    let value = |r: &Row, i: usize| {
        r.get::<_, Option<&str>>(i)
            .and_then(|t| serde_json::from_str(t).ok())
    };
    Ok(rows
        .iter()
        .map(|r| AuditEntry {
            id: r.get(0),
            ts_ms: r.get(1),
            key_id: r.get(2),
            action: r.get(3),
            entity_kind: r.get(4),
            entity_id: r.get(5),
            before: value(r, 6),
            after: value(r, 7),
            template: None,
        })
        .collect())
}

pub async fn template_versions(
    s: &PgStore,
    entity_kind: &str,
    entity_id: &str,
) -> StoreResult<Vec<TemplateVersion>> {
    let c = s.client().await?;
    let rows = c
        .query(
            "SELECT entity_kind, entity_id, version, ts_ms, key_id, template FROM template_versions
             WHERE entity_kind = $1 AND entity_id = $2 ORDER BY version",
            &[&entity_kind, &entity_id],
        )
        .await
        .map_err(pg_error)?;
    rows.iter()
        .map(|r| {
            let (entity_id, version, t): (String, i64, &str) = (r.get(1), r.get(2), r.get(5));
            Ok(TemplateVersion {
                template: serde_json::from_str(t).map_err(|_| {
                    let row = format!("{entity_id} v{version}");
                    corrupt("template_versions", row, "template", t, "a JSON template")
                })?,
                entity_kind: r.get(0),
                entity_id,
                version,
                ts_ms: r.get(3),
                key_id: r.get(4),
            })
        })
        .collect()
}
