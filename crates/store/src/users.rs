//! People who log in to the dashboard: users (only an argon2id hash of the
//! password is kept), their server-side sessions, and one-time invitation
//! and password-reset links.
//!
//! Sessions and links are stored by the SHA-256 of the random value the
//! browser holds, so a copy of the file opens no session and redeems no
//! link. Sessions live in the store (not in a node's memory) so that several
//! nodes on one database can share them.

use clickledger_domain::time::rfc3339;
use serde::Serialize;

use crate::model::{AuditEntry, Role};

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

impl OneTimeLink {
    /// The audit entry of its use at `now_ms`, by the user it was for:
    /// both backends write it in the transaction that redeems it.
    pub fn used(&self, now_ms: i64) -> AuditEntry {
        AuditEntry {
            id: 0,
            ts_ms: now_ms,
            key_id: format!("user:{}", self.user_id),
            action: format!("{}_used", self.kind.as_str()),
            entity_kind: "user".into(),
            entity_id: self.user_id.clone(),
            before: None,
            after: None,
            template: None,
        }
    }
}

pub fn parse_role(s: &str) -> Option<Role> {
    match s {
        "admin" => Some(Role::Admin),
        "advertiser" => Some(Role::Advertiser),
        "affiliate" => Some(Role::Affiliate),
        _ => None,
    }
}
