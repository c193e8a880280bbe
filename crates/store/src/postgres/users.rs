//! People who log in, their sessions and one-time links, on PostgreSQL:
//! sessions live here, so a login on one node is valid on every node.

use tokio_postgres::{GenericClient, Row};

use super::config::insert_audit;
use super::sql::{corrupt, pg_error};
use super::PgStore;
use crate::model::AuditEntry;
use crate::users::{parse_role, LinkKind, OneTimeLink, Session, User};
use crate::StoreResult;

const USER_COLUMNS: &str = "id, email, password_hash, role, partner_id, created_ms, disabled";

fn user_from_row(r: &Row) -> StoreResult<User> {
    let id: String = r.get(0);
    let role: &str = r.get(3);
    Ok(User {
        role: parse_role(role)
            .ok_or_else(|| corrupt("users", &id, "role", role, "admin, advertiser or affiliate"))?,
        email: r.get(1),
        password_hash: r.get(2),
        partner_id: r.get(4),
        created_ms: r.get(5),
        disabled: r.get(6),
        id,
    })
}

pub async fn put_user(s: &PgStore, u: &User, change: Option<&AuditEntry>) -> StoreResult<()> {
    let mut c = s.client().await?;
    let tx = super::begin(&mut c).await?;
    tx.execute(
        &format!(
            "INSERT INTO users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (id) DO UPDATE SET email = excluded.email, password_hash = excluded.password_hash,
                 role = excluded.role, partner_id = excluded.partner_id, created_ms = excluded.created_ms,
                 disabled = excluded.disabled"
        ),
        &[&u.id, &u.email, &u.password_hash, &u.role.as_str(), &u.partner_id, &u.created_ms, &u.disabled],
    )
    .await
    .map_err(pg_error)?;
    if u.disabled {
        // a disabled user's open sessions end with it
        tx.execute("DELETE FROM sessions WHERE user_id = $1", &[&u.id])
            .await
            .map_err(pg_error)?;
    }
    if let Some(e) = change {
        insert_audit(&tx, e).await?;
    }
    tx.commit().await.map_err(pg_error)
}

pub async fn users(s: &PgStore) -> StoreResult<Vec<User>> {
    let c = s.client().await?;
    let rows = c
        .query(
            &format!("SELECT {USER_COLUMNS} FROM users ORDER BY created_ms, id"),
            &[],
        )
        .await
        .map_err(pg_error)?;
    rows.iter().map(user_from_row).collect()
}

/// By id, or by e-mail (case-insensitive) when `by_email`.
pub async fn user(c: &impl GenericClient, key: &str, by_email: bool) -> StoreResult<Option<User>> {
    let clause = if by_email {
        "lower(email) = lower($1)"
    } else {
        "id = $1"
    };
    let row = c
        .query_opt(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE {clause}"),
            &[&key],
        )
        .await
        .map_err(pg_error)?;
    row.as_ref().map(user_from_row).transpose()
}

pub async fn put_session(s: &PgStore, x: &Session) -> StoreResult<()> {
    s.execute(
        "INSERT INTO sessions (id_hash, user_id, key_hash, csrf, created_ms, last_seen_ms) VALUES ($1, $2, $3, $4, $5, $6)",
        &[&x.id_hash, &x.user_id, &x.key_hash, &x.csrf, &x.created_ms, &x.last_seen_ms],
    )
    .await
    .map(drop)
}

pub async fn session(s: &PgStore, id_hash: &str) -> StoreResult<Option<Session>> {
    let c = s.client().await?;
    let row = c
        .query_opt(
            "SELECT id_hash, user_id, key_hash, csrf, created_ms, last_seen_ms FROM sessions WHERE id_hash = $1",
            &[&id_hash],
        )
        .await
        .map_err(pg_error)?;
    Ok(row.map(|r| Session {
        id_hash: r.get(0),
        user_id: r.get(1),
        key_hash: r.get(2),
        csrf: r.get(3),
        created_ms: r.get(4),
        last_seen_ms: r.get(5),
    }))
}

pub async fn put_link(s: &PgStore, l: &OneTimeLink, change: &AuditEntry) -> StoreResult<()> {
    let mut c = s.client().await?;
    let tx = super::begin(&mut c).await?;
    tx.execute(
        "INSERT INTO invitations (token_hash, user_id, kind, created_ms, expires_ms, used_ms, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[&l.token_hash, &l.user_id, &l.kind.as_str(), &l.created_ms, &l.expires_ms, &l.used_ms, &l.created_by],
    )
    .await
    .map_err(pg_error)?;
    insert_audit(&tx, change).await?;
    tx.commit().await.map_err(pg_error)
}

/// The link if it can still be used at `now_ms`; `lock` holds it for the
/// transaction that redeems it.
async fn find_link(
    c: &impl GenericClient,
    token_hash: &str,
    now_ms: i64,
    lock: bool,
) -> StoreResult<Option<OneTimeLink>> {
    let sql = format!(
        "SELECT token_hash, user_id, kind, created_ms, expires_ms, used_ms, created_by FROM invitations
         WHERE token_hash = $1 AND used_ms IS NULL AND expires_ms > $2{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let row = c
        .query_opt(&sql, &[&token_hash, &now_ms])
        .await
        .map_err(pg_error)?;
    Ok(row.map(|r| OneTimeLink {
        token_hash: r.get(0),
        user_id: r.get(1),
        kind: if r.get::<_, &str>(2) == "reset" {
            LinkKind::Reset
        } else {
            LinkKind::Invite
        },
        created_ms: r.get(3),
        expires_ms: r.get(4),
        used_ms: r.get(5),
        created_by: r.get(6),
    }))
}

pub async fn usable_link(
    c: &impl GenericClient,
    token_hash: &str,
    now_ms: i64,
) -> StoreResult<Option<OneTimeLink>> {
    find_link(c, token_hash, now_ms, false).await
}

/// Uses the link once (locked, so two nodes cannot both redeem it): marks
/// it used, sets the password, ends the user's sessions, audits it.
pub async fn redeem_link(
    s: &PgStore,
    token_hash: &str,
    now_ms: i64,
    password_hash: &str,
) -> StoreResult<Option<User>> {
    let mut c = s.client().await?;
    let tx = super::begin(&mut c).await?;
    let Some(link) = find_link(&tx, token_hash, now_ms, true).await? else {
        return Ok(None);
    };
    for (sql, args) in [
        (
            "UPDATE invitations SET used_ms = $2 WHERE token_hash = $1",
            [
                &token_hash as &(dyn tokio_postgres::types::ToSql + Sync),
                &now_ms,
            ],
        ),
        (
            "UPDATE users SET password_hash = $2 WHERE id = $1",
            [&link.user_id, &password_hash],
        ),
    ] {
        tx.execute(sql, &args).await.map_err(pg_error)?;
    }
    tx.execute("DELETE FROM sessions WHERE user_id = $1", &[&link.user_id])
        .await
        .map_err(pg_error)?;
    let entry = link.used(now_ms);
    insert_audit(&tx, &entry).await?;
    let out = user(&tx, &link.user_id, false).await?;
    tx.commit().await.map_err(pg_error)?;
    Ok(out)
}
