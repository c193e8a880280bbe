//! Configuration: API keys, advertisers, offers, affiliates and links (each
//! a JSON document in a row, with the columns lookups need beside it), and
//! the audit log and postback template versions every change leaves.

use rusqlite::{params, Connection, Row, TransactionBehavior};
use serde::de::DeserializeOwned;

use super::sql::{json, rows};
use crate::corrupt::corrupt;
use crate::model::*;
use crate::query;

/// Upserts one row and records its audit entry (and template version)
/// in the same transaction.
fn put_row(
    c: &mut Connection,
    sql: &str,
    values: &[impl rusqlite::ToSql],
    change: Option<&AuditEntry>,
) -> rusqlite::Result<()> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(sql, rusqlite::params_from_iter(values.iter()))?;
    if let Some(e) = change {
        insert_audit(&tx, e)?;
    }
    tx.commit()
}

/// Reads the `doc` column of every row as a `T`; `fill` adds what is kept
/// beside the document.
fn docs<T: DeserializeOwned>(
    c: &Connection,
    sql: &str,
    fill: fn(&mut T, &Row) -> rusqlite::Result<()>,
) -> rusqlite::Result<Vec<T>> {
    let mut st = c.prepare(sql)?;
    let rows = st.query_map([], |r| {
        let doc: String = r.get("doc")?;
        let mut v: T = serde_json::from_str(&doc).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
        })?;
        fill(&mut v, r)?;
        Ok(v)
    })?;
    rows.collect()
}

/// Reads the `secrets` JSON column of a partner row.
fn parse_secrets<T: DeserializeOwned>(r: &Row) -> rusqlite::Result<T> {
    let secrets: String = r.get("secrets")?;
    serde_json::from_str(&secrets).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn no_fill<T>(_: &mut T, _: &Row) -> rusqlite::Result<()> {
    Ok(())
}

pub(super) fn put_api_key(
    c: &mut Connection,
    key: &ApiKey,
    change: Option<&AuditEntry>,
) -> rusqlite::Result<()> {
    put_row(
        c,
        "INSERT OR REPLACE INTO api_keys (id, key_hash, doc) VALUES (?1, ?2, ?3)",
        &[key.id.clone(), key.key_hash.clone(), json(key)],
        change,
    )
}

pub(super) fn api_keys(c: &Connection) -> rusqlite::Result<Vec<ApiKey>> {
    docs(c, "SELECT doc FROM api_keys", no_fill)
}

pub(super) fn put_advertiser(
    c: &mut Connection,
    a: &Advertiser,
    change: &AuditEntry,
) -> rusqlite::Result<()> {
    put_row(
        c,
        "INSERT OR REPLACE INTO advertisers (id, secrets, doc) VALUES (?1, ?2, ?3)",
        &[a.id.clone(), json(&a.secrets), json(a)],
        Some(change),
    )
}

pub(super) fn advertisers(c: &Connection) -> rusqlite::Result<Vec<Advertiser>> {
    docs(
        c,
        "SELECT doc, secrets FROM advertisers ORDER BY id",
        |a: &mut Advertiser, r| {
            a.secrets = parse_secrets(r)?;
            Ok(())
        },
    )
}

pub(super) fn put_offer(
    c: &mut Connection,
    o: &Offer,
    change: &AuditEntry,
) -> rusqlite::Result<()> {
    put_row(
        c,
        "INSERT OR REPLACE INTO offers (id, advertiser_id, doc) VALUES (?1, ?2, ?3)",
        &[o.id.clone(), o.advertiser_id.clone(), json(o)],
        Some(change),
    )
}

pub(super) fn offers(c: &Connection) -> rusqlite::Result<Vec<Offer>> {
    docs(c, "SELECT doc FROM offers ORDER BY id", no_fill)
}

pub(super) fn put_affiliate(
    c: &mut Connection,
    a: &Affiliate,
    change: &AuditEntry,
) -> rusqlite::Result<()> {
    put_row(
        c,
        "INSERT OR REPLACE INTO affiliates (id, secrets, doc) VALUES (?1, ?2, ?3)",
        &[a.id.clone(), json(&a.secrets), json(a)],
        Some(change),
    )
}

pub(super) fn affiliates(c: &Connection) -> rusqlite::Result<Vec<Affiliate>> {
    docs(
        c,
        "SELECT doc, secrets FROM affiliates ORDER BY id",
        |a: &mut Affiliate, r| {
            a.secrets = parse_secrets(r)?;
            Ok(())
        },
    )
}

pub(super) fn put_link(c: &mut Connection, l: &Link, change: &AuditEntry) -> rusqlite::Result<()> {
    put_row(
        c,
        "INSERT OR REPLACE INTO links (id, offer_id, affiliate_id, doc, flow) VALUES (?1, ?2, ?3, ?4, ?5)",
        &[
            Some(l.id.clone()),
            Some(l.offer_id.clone()),
            Some(l.affiliate_id.clone()),
            Some(json(l)),
            l.flow.clone(),
        ],
        Some(change),
    )
}

pub(super) fn links(c: &Connection) -> rusqlite::Result<Vec<Link>> {
    docs(
        c,
        "SELECT doc, flow FROM links ORDER BY id",
        |l: &mut Link, r| {
            l.flow = r.get("flow")?;
            Ok(())
        },
    )
}

/// Writes one audit entry (and, when it carries a template, a new template
/// version); the caller's transaction makes it part of the change.
pub(super) fn insert_audit(tx: &Connection, e: &AuditEntry) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO audit (ts_ms, key_id, action, entity_kind, entity_id, before, after) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            e.ts_ms,
            e.key_id,
            e.action,
            e.entity_kind,
            e.entity_id,
            e.before.as_ref().map(json),
            e.after.as_ref().map(json)
        ],
    )?;
    if let Some(t) = &e.template {
        tx.execute(
            "INSERT INTO template_versions (entity_kind, entity_id, version, ts_ms, key_id, template)
             SELECT ?1, ?2, COALESCE(MAX(version), 0) + 1, ?3, ?4, ?5 FROM template_versions
             WHERE entity_kind = ?1 AND entity_id = ?2",
            params![e.entity_kind, e.entity_id, e.ts_ms, e.key_id, json(t)],
        )?;
    }
    Ok(())
}

pub(super) fn audit(c: &Connection, f: &AuditFilter) -> rusqlite::Result<Vec<AuditEntry>> {
    rows(c, &query::audit(f), |r| {
        let value = |i: usize| -> rusqlite::Result<Option<serde_json::Value>> {
            Ok(r.get::<_, Option<String>>(i)?
                .and_then(|t| serde_json::from_str(&t).ok()))
        };
        Ok(AuditEntry {
            id: r.get(0)?,
            ts_ms: r.get(1)?,
            key_id: r.get(2)?,
            action: r.get(3)?,
            entity_kind: r.get(4)?,
            entity_id: r.get(5)?,
            before: value(6)?,
            after: value(7)?,
            template: None,
        })
    })
}

/// Every version of an entity's postback template, oldest first.
pub(super) fn template_versions(
    c: &Connection,
    kind: &str,
    id: &str,
) -> rusqlite::Result<Vec<TemplateVersion>> {
    let mut st = c.prepare(
        "SELECT entity_kind, entity_id, version, ts_ms, key_id, template FROM template_versions
         WHERE entity_kind = ?1 AND entity_id = ?2 ORDER BY version",
    )?;
    let rows = st.query_map(params![kind, id], |r| {
        let t: String = r.get(5)?;
        let (entity_id, version): (String, i64) = (r.get(1)?, r.get(2)?);
        Ok(TemplateVersion {
            template: serde_json::from_str(&t).map_err(|_| {
                let row = format!("{entity_id} v{version}");
                corrupt("template_versions", row, "template", &t, "a JSON template")
            })?,
            entity_kind: r.get(0)?,
            entity_id,
            version,
            ts_ms: r.get(3)?,
            key_id: r.get(4)?,
        })
    })?;
    rows.collect()
}

/// Changes with every configuration write. Every one goes through this
/// process's cache reload already (a SQLite file has one server); the
/// number only has to change with the data.
pub(super) fn config_stamp(c: &Connection) -> rusqlite::Result<i64> {
    c.query_row(
        "SELECT (SELECT COALESCE(MAX(id), 0) FROM audit) + (SELECT COUNT(*) FROM fx_rates) + (SELECT COUNT(*) FROM api_keys)",
        [],
        |r| r.get(0),
    )
}
