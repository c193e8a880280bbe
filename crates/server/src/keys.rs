//! Admin API keys: created with a name (the key is shown once, only its
//! SHA-256 is kept), listed without the key, revoked for good. The API and
//! `clickledger admin-key` share these functions, so both refuse the same
//! things: revoking the last admin key (nobody could administer the
//! tracker any more) and revoking the key making the request.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use clickledger_domain::codes::Refusal;
use clickledger_domain::time::rfc3339_ms;
use clickledger_domain::ErrorCode;
use clickledger_store::{key_hint, ApiKey, AuditEntry, Role, Store, StoreError};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::admin::{items, ok, ApiResult};
use crate::api::{ApiError, JsonBody};
use crate::auth::Admin;
use crate::util::{now_ms, random_id, sha256_hex};
use crate::AppState;

/// Why a key operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{}", .0.message)]
    Refused(Refusal),
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl From<KeyError> for ApiError {
    fn from(e: KeyError) -> Self {
        match e {
            KeyError::Refused(r) => r.into(),
            KeyError::Store(e) => e.into(),
        }
    }
}

fn refused(code: ErrorCode, message: impl Into<String>) -> KeyError {
    KeyError::Refused(Refusal::new(code, message))
}

/// A key as it may be shown after it was issued: never the key itself.
pub fn view(k: &ApiKey) -> Value {
    json!({
        "id": k.id,
        "name": k.name,
        "role": k.role.as_str(),
        "hint": k.hint,
        "created_at": rfc3339_ms(k.created_ms),
        "revoked_at": k.revoked_ms.map(rfc3339_ms),
    })
}

/// The record of a new admin key for `key` (the secret itself).
fn admin_record(key: &str, name: &str) -> ApiKey {
    ApiKey {
        id: random_id("key", 10),
        key_hash: sha256_hex(key),
        role: Role::Admin,
        partner_id: None,
        created_ms: now_ms(),
        expires_ms: None,
        name: name.to_string(),
        hint: key_hint(key),
        revoked_ms: None,
    }
}

fn audit(by: &str, action: &str, k: &ApiKey, before: Option<Value>) -> AuditEntry {
    AuditEntry {
        id: 0,
        ts_ms: now_ms(),
        key_id: by.to_string(),
        action: action.to_string(),
        entity_kind: "api_key".into(),
        entity_id: k.id.clone(),
        before,
        after: Some(view(k)),
        template: None,
    }
}

fn checked_name(name: &str) -> Result<String, KeyError> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 200 {
        return Err(refused(
            ErrorCode::Validation,
            "name must be 1 to 200 characters long",
        ));
    }
    Ok(n.to_string())
}

/// Every admin key, oldest first (revoked ones too, marked).
pub async fn list(store: &dyn Store) -> Result<Vec<ApiKey>, KeyError> {
    let mut keys: Vec<ApiKey> = store
        .api_keys()
        .await?
        .into_iter()
        .filter(|k| k.role == Role::Admin)
        .collect();
    keys.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
    Ok(keys)
}

/// Issues a new admin key named `name`; returns the key (to show once) and
/// its record. `by` is the key id (or `cli`) recorded in the audit log.
pub async fn create(store: &dyn Store, name: &str, by: &str) -> Result<(String, ApiKey), KeyError> {
    let name = checked_name(name)?;
    let key = random_id("ck", 40);
    let record = admin_record(&key, &name);
    store
        .put_api_key(&record, Some(&audit(by, "create_admin_key", &record, None)))
        .await?;
    Ok((key, record))
}

/// Revokes admin key `id`. `caller` is the key making the request (None
/// from the command line, which works on the file directly).
pub async fn revoke(store: &dyn Store, id: &str, caller: Option<&str>) -> Result<ApiKey, KeyError> {
    let keys = list(store).await?;
    let mut key = keys
        .iter()
        .find(|k| k.id == id)
        .cloned()
        .ok_or_else(|| refused(ErrorCode::NotFound, format!("no admin key with id `{id}`")))?;
    if key.revoked_ms.is_some() {
        return Err(refused(
            ErrorCode::Validation,
            format!("admin key `{id}` is already revoked"),
        ));
    }
    if caller == Some(id) {
        return Err(refused(
            ErrorCode::Validation,
            format!(
                "admin key `{id}` is the key making this request; revoke it with another admin key"
            ),
        ));
    }
    let now = now_ms();
    if !keys.iter().any(|k| k.id != id && k.valid_at(now)) {
        return Err(refused(
            ErrorCode::Validation,
            format!("admin key `{id}` is the last admin key; create another one first (`clickledger admin-key create`)"),
        ));
    }
    let before = view(&key);
    key.revoked_ms = Some(now);
    store
        .put_api_key(
            &key,
            Some(&audit(
                caller.unwrap_or("cli"),
                "revoke_admin_key",
                &key,
                Some(before),
            )),
        )
        .await?;
    Ok(key)
}

/// What starting the server did about admin keys.
#[derive(Debug, PartialEq, Eq)]
pub enum AdminKeyStart {
    /// An admin key was already there (or CLICKLEDGER_ADMIN_KEY was known).
    Known,
    /// CLICKLEDGER_ADMIN_KEY was new and is now an admin key, beside any
    /// existing ones.
    Added,
    /// There was no admin key: this one was generated, to be shown once.
    Generated(String),
    /// CLICKLEDGER_ADMIN_KEY is a key that was revoked; it stays revoked.
    Revoked,
}

/// Makes sure an admin key exists. `fixed` (CLICKLEDGER_ADMIN_KEY) is
/// added if it is not known; keys already stored keep working, so setting
/// the variable never locks anyone out. Without it, a key is generated
/// only when no working admin key exists.
pub async fn ensure_admin_key(
    store: &dyn Store,
    fixed: Option<&str>,
) -> Result<AdminKeyStart, StoreError> {
    let keys = store.api_keys().await?;
    let now = now_ms();
    let (key, name) = match fixed {
        Some(k) => match keys.iter().find(|x| x.key_hash == sha256_hex(k)) {
            Some(x) if x.role == Role::Admin && x.revoked_ms.is_some() => {
                return Ok(AdminKeyStart::Revoked)
            }
            Some(x) if x.role == Role::Admin => return Ok(AdminKeyStart::Known),
            // a partner's key can never become an admin key
            Some(_) => return Ok(AdminKeyStart::Revoked),
            None => (k.to_string(), "CLICKLEDGER_ADMIN_KEY"),
        },
        None if keys
            .iter()
            .any(|k| k.role == Role::Admin && k.valid_at(now)) =>
        {
            return Ok(AdminKeyStart::Known)
        }
        None => (random_id("ck", 40), "generated at first start"),
    };
    let record = admin_record(&key, name);
    let put = store
        .put_api_key(
            &record,
            Some(&audit("system", "create_admin_key", &record, None)),
        )
        .await;
    if let Err(e) = put {
        // another node starting at the same moment stored the same key
        // first (its hash is unique): it is known now
        let stored = store.api_keys().await?;
        if fixed.is_some() && stored.iter().any(|x| x.key_hash == record.key_hash) {
            return Ok(AdminKeyStart::Known);
        }
        return Err(e);
    }
    Ok(if fixed.is_some() {
        AdminKeyStart::Added
    } else {
        AdminKeyStart::Generated(key)
    })
}

// ---------- the API ----------

#[derive(Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAdminKey {
    /// What the key is for, e.g. `laptop` or `billing export`.
    #[serde(default)]
    name: Option<String>,
}

pub async fn list_admin_keys(State(app): State<Arc<AppState>>, _: Admin) -> ApiResult {
    items(list(app.store.as_ref()).await?.iter().map(view))
}

pub async fn create_admin_key(
    State(app): State<Arc<AppState>>,
    Admin(by): Admin,
    JsonBody(b): JsonBody<NewAdminKey>,
) -> ApiResult {
    let name = b.name.unwrap_or_else(|| "admin key".into());
    // reloaded under the lock, as every change is: the config watcher
    // skips a stamp already seen, so an older snapshot must never land
    // after a newer one
    let (key, record) = {
        let _guard = app.admin_lock.lock().await;
        let made = create(app.store.as_ref(), &name, &by.id).await?;
        app.reload().await?;
        made
    };
    let mut v = view(&record);
    v["key"] = json!(key);
    ok(StatusCode::CREATED, v)
}

pub async fn revoke_admin_key(
    State(app): State<Arc<AppState>>,
    Admin(by): Admin,
    Path(id): Path<String>,
) -> ApiResult {
    let key = {
        let _guard = app.admin_lock.lock().await;
        let revoked = revoke(app.store.as_ref(), &id, Some(&by.id)).await?;
        app.reload().await?;
        revoked
    };
    ok(StatusCode::OK, view(&key))
}
