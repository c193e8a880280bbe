//! People who log in to the dashboard: users (only an argon2id hash of the
//! password is kept), their server-side sessions, and one-time invitation
//! and password-reset links.
//!
//! Sessions and links are stored by the SHA-256 of the random value the
//! browser holds, so a copy of the file opens no session and redeems no
//! link. Sessions live in the store (not in a node's memory) so that several
//! nodes on one database can share them.

use clickledger_domain::time::rfc3339;
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use serde::Serialize;

use crate::model::{AuditEntry, Role};

/// Tables added after the first files shipped; `CREATE … IF NOT EXISTS`
/// adopts an existing file as it opens.
pub(crate) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE COLLATE NOCASE, password_hash TEXT NOT NULL,
    role TEXT NOT NULL, partner_id TEXT, created_ms INTEGER NOT NULL, disabled INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS sessions (
    id_hash TEXT PRIMARY KEY, user_id TEXT, key_hash TEXT, csrf TEXT NOT NULL,
    created_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id);
CREATE TABLE IF NOT EXISTS invitations (
    token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, kind TEXT NOT NULL, created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL, used_ms INTEGER, created_by TEXT NOT NULL
);
"#;

/// A person who logs in with an e-mail and a password.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: String,
    pub email: String,
    /// The argon2id PHC string; empty until an invitation sets a password.
    #[serde(skip)]
    pub password_hash: String,
    pub role: Role,
    /// The advertiser or affiliate a partner user belongs to.
    pub partner_id: Option<String>,
    #[serde(serialize_with = "rfc3339", rename = "created")]
    pub created_ms: i64,
    pub disabled: bool,
}

/// A logged-in browser: a person (`user_id`) or an API key (`key_hash`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 (hex) of the cookie's id.
    pub id_hash: String,
    pub user_id: Option<String>,
    /// For a session opened with an API key: that key's hash, so a revoked
    /// or expired key ends its sessions too.
    pub key_hash: Option<String>,
    /// The token every form of this session carries.
    pub csrf: String,
    pub created_ms: i64,
    pub last_seen_ms: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkKind {
    /// Sets the first password of an invited user.
    Invite,
    /// Replaces a user's password.
    Reset,
}

impl LinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::Invite => "invite",
            LinkKind::Reset => "reset",
        }
    }
}

/// A one-time link (invitation or password reset).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OneTimeLink {
    /// SHA-256 (hex) of the token in the link.
    pub token_hash: String,
    pub user_id: String,
    pub kind: LinkKind,
    pub created_ms: i64,
    pub expires_ms: i64,
    pub used_ms: Option<i64>,
    /// Who made it (an API key id or `user:<id>`).
    pub created_by: String,
}

pub fn parse_role(s: &str) -> Option<Role> {
    match s {
        "admin" => Some(Role::Admin),
        "advertiser" => Some(Role::Advertiser),
        "affiliate" => Some(Role::Affiliate),
        _ => None,
    }
}

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

pub(crate) fn put_user(
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
        crate::sqlite::insert_audit(&tx, e)?;
    }
    tx.commit()
}

pub(crate) fn users(c: &Connection) -> rusqlite::Result<Vec<User>> {
    let mut st = c.prepare(&format!(
        "SELECT {USER_COLUMNS} FROM users ORDER BY created_ms, id"
    ))?;
    let rows = st.query_map([], user_from_row)?;
    rows.collect()
}

/// By id, or by e-mail (case-insensitive) when `by_email`.
pub(crate) fn user(c: &Connection, key: &str, by_email: bool) -> rusqlite::Result<Option<User>> {
    let column = if by_email { "email" } else { "id" };
    c.query_row(
        &format!("SELECT {USER_COLUMNS} FROM users WHERE {column} = ?1"),
        [key],
        user_from_row,
    )
    .optional()
}

pub(crate) fn put_session(c: &Connection, s: &Session) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO sessions (id_hash, user_id, key_hash, csrf, created_ms, last_seen_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![s.id_hash, s.user_id, s.key_hash, s.csrf, s.created_ms, s.last_seen_ms],
    )?;
    Ok(())
}

pub(crate) fn session(c: &Connection, id_hash: &str) -> rusqlite::Result<Option<Session>> {
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

pub(crate) fn put_link(
    c: &mut Connection,
    l: &OneTimeLink,
    change: &AuditEntry,
) -> rusqlite::Result<()> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "INSERT INTO invitations (token_hash, user_id, kind, created_ms, expires_ms, used_ms, created_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![l.token_hash, l.user_id, l.kind.as_str(), l.created_ms, l.expires_ms, l.used_ms, l.created_by],
    )?;
    crate::sqlite::insert_audit(&tx, change)?;
    tx.commit()
}

/// The link if it can still be used at `now_ms` (not used, not expired).
pub(crate) fn usable_link(
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
pub(crate) fn redeem_link(
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
    let entry = AuditEntry {
        id: 0,
        ts_ms: now_ms,
        key_id: format!("user:{}", link.user_id),
        action: format!("{}_used", link.kind.as_str()),
        entity_kind: "user".into(),
        entity_id: link.user_id.clone(),
        before: None,
        after: None,
        template: None,
    };
    crate::sqlite::insert_audit(&tx, &entry)?;
    let user = user(&tx, &link.user_id, false)?;
    tx.commit()?;
    Ok(user)
}
