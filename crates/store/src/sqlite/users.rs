//! Dashboard users, their sessions and one-time links, in SQLite (the
//! types are in `crate::users`, shared with every backend).

use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};

use super::config::insert_audit;
use crate::model::AuditEntry;
use crate::users::{parse_role, LinkKind, OneTimeLink, Session, User};

const USER_COLUMNS: &str = "id, email, password_hash, role, partner_id, created_ms, disabled";

fn user_from_row(r: &Row) -> rusqlite::Result<User> {
    let role: String = r.get(3)?;
    Ok(User {
        id: r.get(0)?,
        email: r.get(1)?,
        password_hash: r.get(2)?,
        role: parse_role(&role).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                3,
                rusqlite::types::Type::Text,
                format!("unknown role `{role}`").into(),
            )
        })?,
        partner_id: r.get(4)?,
        created_ms: r.get(5)?,
        disabled: r.get(6)?,
    })
}

pub(super) fn put_user(
    c: &mut Connection,
    u: &User,
    change: Option<&AuditEntry>,
) -> rusqlite::Result<()> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        &format!(
            "INSERT OR REPLACE INTO users ({USER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        ),
        params![
            u.id,
            u.email,
            u.password_hash,
            u.role.as_str(),
            u.partner_id,
            u.created_ms,
            u.disabled
        ],
    )?;
    if u.disabled {
        // a disabled user's open sessions end with it
        tx.execute("DELETE FROM sessions WHERE user_id = ?1", [&u.id])?;
    }
    if let Some(e) = change {
        insert_audit(&tx, e)?;
    }
    tx.commit()
}

pub(super) fn users(c: &Connection) -> rusqlite::Result<Vec<User>> {
    let mut st = c.prepare(&format!(
        "SELECT {USER_COLUMNS} FROM users ORDER BY created_ms, id"
    ))?;
    let rows = st.query_map([], user_from_row)?;
    rows.collect()
}

/// By id, or by e-mail (case-insensitive) when `by_email`.
pub(super) fn user(c: &Connection, key: &str, by_email: bool) -> rusqlite::Result<Option<User>> {
    let column = if by_email { "email" } else { "id" };
    c.query_row(
        &format!("SELECT {USER_COLUMNS} FROM users WHERE {column} = ?1"),
        [key],
        user_from_row,
    )
    .optional()
}

pub(super) fn put_session(c: &Connection, s: &Session) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO sessions (id_hash, user_id, key_hash, csrf, created_ms, last_seen_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![s.id_hash, s.user_id, s.key_hash, s.csrf, s.created_ms, s.last_seen_ms],
    )?;
    Ok(())
}

pub(super) fn session(c: &Connection, id_hash: &str) -> rusqlite::Result<Option<Session>> {
    c.query_row(
        "SELECT id_hash, user_id, key_hash, csrf, created_ms, last_seen_ms FROM sessions WHERE id_hash = ?1",
        [id_hash],
        |r| {
            Ok(Session {
                id_hash: r.get(0)?,
                user_id: r.get(1)?,
                key_hash: r.get(2)?,
                csrf: r.get(3)?,
                created_ms: r.get(4)?,
                last_seen_ms: r.get(5)?,
            })
        },
    )
    .optional()
}

pub(super) fn touch_session(c: &Connection, id_hash: &str, now_ms: i64) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE sessions SET last_seen_ms = ?2 WHERE id_hash = ?1",
        params![id_hash, now_ms],
    )
    .map(drop)
}

pub(super) fn delete_session(c: &Connection, id_hash: &str) -> rusqlite::Result<()> {
    c.execute("DELETE FROM sessions WHERE id_hash = ?1", [id_hash])
        .map(drop)
}

/// Deletes sessions idle since `idle_before_ms` or older than
/// `created_before_ms`; returns how many went.
pub(super) fn expire_sessions(
    c: &Connection,
    idle_before_ms: i64,
    created_before_ms: i64,
) -> rusqlite::Result<u64> {
    c.execute(
        "DELETE FROM sessions WHERE last_seen_ms < ?1 OR created_ms < ?2",
        params![idle_before_ms, created_before_ms],
    )
    .map(|n| n as u64)
}

pub(super) fn put_link(
    c: &mut Connection,
    l: &OneTimeLink,
    change: &AuditEntry,
) -> rusqlite::Result<()> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "INSERT INTO invitations (token_hash, user_id, kind, created_ms, expires_ms, used_ms, created_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![l.token_hash, l.user_id, l.kind.as_str(), l.created_ms, l.expires_ms, l.used_ms, l.created_by],
    )?;
    insert_audit(&tx, change)?;
    tx.commit()
}

/// The link if it can still be used at `now_ms` (not used, not expired).
pub(super) fn usable_link(
    c: &Connection,
    token_hash: &str,
    now_ms: i64,
) -> rusqlite::Result<Option<OneTimeLink>> {
    c.query_row(
        "SELECT token_hash, user_id, kind, created_ms, expires_ms, used_ms, created_by FROM invitations
         WHERE token_hash = ?1 AND used_ms IS NULL AND expires_ms > ?2",
        params![token_hash, now_ms],
        |r| {
            let kind: String = r.get(2)?;
            Ok(OneTimeLink {
                token_hash: r.get(0)?,
                user_id: r.get(1)?,
                kind: if kind == "reset" {
                    LinkKind::Reset
                } else {
                    LinkKind::Invite
                },
                created_ms: r.get(3)?,
                expires_ms: r.get(4)?,
                used_ms: r.get(5)?,
                created_by: r.get(6)?,
            })
        },
    )
    .optional()
}

/// Uses the link once: marks it used, sets the user's password, ends the
/// user's other sessions, audits it, in one transaction. `None` when the
/// link is unknown, used or expired (nothing changes then).
pub(super) fn redeem_link(
    c: &mut Connection,
    token_hash: &str,
    now_ms: i64,
    password_hash: &str,
) -> rusqlite::Result<Option<User>> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Some(link) = usable_link(&tx, token_hash, now_ms)? else {
        return Ok(None);
    };
    tx.execute(
        "UPDATE invitations SET used_ms = ?2 WHERE token_hash = ?1",
        params![token_hash, now_ms],
    )?;
    tx.execute(
        "UPDATE users SET password_hash = ?2 WHERE id = ?1",
        params![link.user_id, password_hash],
    )?;
    tx.execute("DELETE FROM sessions WHERE user_id = ?1", [&link.user_id])?;
    let entry = link.used(now_ms);
    insert_audit(&tx, &entry)?;
    let user = user(&tx, &link.user_id, false)?;
    tx.commit()?;
    Ok(user)
}
