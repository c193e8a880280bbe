//! Dashboard users: passwords hashed with argon2id, users created by an
//! admin (API or `clickledger user add`), invitations and password resets
//! as one-time links with an expiry, shown to the admin who made them (no
//! mail server needed). The API and the CLI share these functions, so both
//! refuse the same things.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::State;
use axum::http::StatusCode;
use clickledger_domain::codes::Refusal;
use clickledger_domain::schema::Rfc3339;
use clickledger_domain::time::rfc3339_ms;
use clickledger_domain::ErrorCode;
use clickledger_store::{
    parse_role, AuditEntry, LinkKind, OneTimeLink, Role, Store, StoreError, User,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::admin::{items, ok, ApiResult};
use crate::answers::Items;
use crate::api::{Api, ApiError, JsonBody, Path};
use crate::auth::Admin;
use crate::util::{now_ms, random_id, random_token, sha256_hex};
use crate::AppState;

/// Shortest password accepted; longer ones are better, none is refused
/// for its characters.
pub const MIN_PASSWORD: usize = 10;
/// Longest password hashed (argon2 reads it all; a megabyte would be work).
pub const MAX_PASSWORD: usize = 1000;
/// How long an invitation or a reset link can be used.
pub const LINK_TTL_MS: i64 = 72 * 3_600_000;

/// Why an account operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("{}", .0.message)]
    Refused(Refusal),
    #[error("{0}")]
    Store(#[from] StoreError),
}

impl From<UserError> for ApiError {
    fn from(e: UserError) -> Self {
        match e {
            UserError::Refused(r) => r.into(),
            UserError::Store(e) => e.into(),
        }
    }
}

fn refused(code: ErrorCode, message: impl Into<String>) -> UserError {
    UserError::Refused(Refusal::new(code, message))
}

/// The argon2id PHC string of `password` with a fresh random salt.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashes any password within MAX_PASSWORD")
        .to_string()
}

/// Whether `password` matches `phc`. An empty or malformed hash matches
/// nothing (an invited user has no password until the link is used).
pub fn verify_password(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        // the same work as a real check, so a missing account takes as long
        let _ = Argon2::default().verify_password(password.as_bytes(), &dummy_hash());
        return false;
    };
    password.len() <= MAX_PASSWORD
        && Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
}

fn dummy_hash() -> PasswordHash<'static> {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let phc = DUMMY.get_or_init(|| hash_password("not a password of anyone"));
    PasswordHash::new(phc).expect("a hash made above parses")
}

pub fn check_password(password: &str) -> Result<(), UserError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD || password.len() > MAX_PASSWORD {
        return Err(refused(
            ErrorCode::Validation,
            format!("password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters long"),
        ));
    }
    Ok(())
}

/// A user as the API and the dashboard show it (never the hash).
#[derive(Serialize, JsonSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
    /// `admin`, `advertiser` or `affiliate`.
    pub role: String,
    /// The advertiser or affiliate a partner user belongs to.
    pub partner_id: Option<String>,
    #[schemars(with = "Rfc3339")]
    pub created_at: String,
    /// A disabled user cannot log in.
    pub disabled: bool,
    /// False until an invited user has used the invitation.
    pub has_password: bool,
}

pub fn view(u: &User) -> UserView {
    UserView {
        id: u.id.clone(),
        email: u.email.clone(),
        role: u.role.as_str().to_string(),
        partner_id: u.partner_id.clone(),
        created_at: rfc3339_ms(u.created_ms),
        disabled: u.disabled,
        has_password: !u.password_hash.is_empty(),
    }
}

/// An invitation or password-reset link, shown once to the admin who made it.
#[derive(Serialize, JsonSchema)]
pub struct LinkIssued {
    pub user: UserView,
    /// `invite` or `reset`.
    pub kind: String,
    /// The one-time link to give to the person.
    pub url: String,
    #[schemars(with = "Rfc3339")]
    pub expires_at: String,
}

fn audit(by: &str, action: &str, u: &User, after: Option<Value>) -> AuditEntry {
    let after = after.or_else(|| serde_json::to_value(view(u)).ok());
    AuditEntry {
        id: 0,
        ts_ms: now_ms(),
        key_id: by.to_string(),
        action: action.to_string(),
        entity_kind: "user".into(),
        entity_id: u.id.clone(),
        before: None,
        after,
        template: None,
    }
}

/// What a new user is: checked before anything is written.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// The e-mail the user logs in with (unique, case-insensitive).
    pub email: String,
    /// `admin`, `advertiser` or `affiliate`.
    pub role: String,
    /// The advertiser or affiliate id, for a partner user.
    #[serde(default)]
    pub partner_id: Option<String>,
    /// The password; without it, use `POST /api/v1/invitations` instead.
    #[serde(default)]
    pub password: Option<String>,
}

fn checked_email(email: &str) -> Result<String, UserError> {
    let e = email.trim();
    let ok = e.len() <= 254
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
        })
        && !e.contains(char::is_whitespace);
    if !ok {
        return Err(refused(
            ErrorCode::Validation,
            format!("email: `{e}` is not an e-mail address"),
        ));
    }
    Ok(e.to_string())
}

/// Creates a user; `password` None leaves it without one (an invitation
/// sets it). `partners` says whether a partner id exists for the role.
pub async fn create(
    store: &dyn Store,
    new: &NewUser,
    partner_exists: impl Fn(Role, &str) -> bool,
    by: &str,
) -> Result<User, UserError> {
    let email = checked_email(&new.email)?;
    let role = parse_role(new.role.trim()).ok_or_else(|| {
        refused(
            ErrorCode::Validation,
            format!("role: `{}` is not admin, advertiser or affiliate", new.role),
        )
    })?;
    let partner_id = new
        .partner_id
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty());
    let partner_id = match (role, partner_id) {
        (Role::Admin, None) => None,
        (Role::Admin, Some(_)) => {
            return Err(refused(
                ErrorCode::Validation,
                "partner_id: an admin belongs to no partner; leave it out",
            ))
        }
        (r, None) => {
            return Err(refused(
                ErrorCode::Validation,
                format!(
                    "partner_id: {} user needs the id of its {}",
                    clickledger_domain::wording::a(r.as_str()),
                    r.as_str()
                ),
            ))
        }
        (r, Some(p)) if !partner_exists(r, p) => {
            return Err(refused(
                ErrorCode::Validation,
                format!("partner_id: no {} `{p}`", r.as_str()),
            ))
        }
        (_, Some(p)) => Some(p.to_string()),
    };
    let password_hash = match &new.password {
        Some(p) => {
            check_password(p)?;
            let p = p.clone();
            tokio::task::spawn_blocking(move || hash_password(&p))
                .await
                .map_err(|e| StoreError::Unavailable(e.to_string()))?
        }
        None => String::new(),
    };
    if store.user(&email, true).await?.is_some() {
        return Err(refused(
            ErrorCode::Validation,
            format!("email: a user with `{email}` exists already"),
        ));
    }
    let user = User {
        id: random_id("usr", 10),
        email,
        password_hash,
        role,
        partner_id,
        created_ms: now_ms(),
        disabled: false,
    };
    store
        .put_user(&user, Some(&audit(by, "create_user", &user, None)))
        .await?;
    Ok(user)
}

/// Issues a one-time link for `user`: the token (to put in the URL, shown
/// once) and its record.
pub async fn issue_link(
    store: &dyn Store,
    user: &User,
    kind: LinkKind,
    by: &str,
) -> Result<(String, OneTimeLink), UserError> {
    let token = random_token();
    let now = now_ms();
    let link = OneTimeLink {
        token_hash: sha256_hex(&token),
        user_id: user.id.clone(),
        kind,
        created_ms: now,
        expires_ms: now + LINK_TTL_MS,
        used_ms: None,
        created_by: by.to_string(),
    };
    let after = json!({"expires_at": rfc3339_ms(link.expires_ms)});
    store
        .put_one_time_link(
            &link,
            &audit(by, &format!("{}_created", kind.as_str()), user, Some(after)),
        )
        .await?;
    Ok((token, link))
}

fn link_view(app: &AppState, user: &User, token: &str, link: &OneTimeLink) -> LinkIssued {
    LinkIssued {
        user: view(user),
        kind: link.kind.as_str().to_string(),
        url: format!("{}/invite/{token}", app.public_url),
        expires_at: rfc3339_ms(link.expires_ms),
    }
}

fn partner_exists(app: &AppState) -> impl Fn(Role, &str) -> bool + '_ {
    move |role, id| {
        let cfg = app.cache.get();
        match role {
            Role::Advertiser => cfg.advertisers.contains_key(id),
            Role::Affiliate => cfg.affiliates.contains_key(id),
            Role::Admin => false,
        }
    }
}

pub async fn create_user(
    State(app): State<Arc<AppState>>,
    Admin(key): Admin,
    JsonBody(b): JsonBody<NewUser>,
) -> ApiResult {
    if b.password.is_none() {
        return Err(ApiError::validation(
            "password: give a password, or invite the user with POST /api/v1/invitations",
        ));
    }
    let _guard = app.admin_lock.lock().await;
    let user = create(app.store.as_ref(), &b, partner_exists(&app), &key.id).await?;
    ok(StatusCode::CREATED, view(&user))
}

pub async fn list_users(State(app): State<Arc<AppState>>, _: Admin) -> ApiResult {
    let users = app.store.users().await?;
    items(users.iter().map(view))
}

/// `POST /api/v1/invitations`: a new user without a password, and the
/// link that sets it.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvitation {
    /// The invited person's e-mail.
    pub email: String,
    /// `admin`, `advertiser` or `affiliate`.
    pub role: String,
    /// The advertiser or affiliate id, for a partner user.
    #[serde(default)]
    pub partner_id: Option<String>,
}

pub async fn invite(app: &AppState, b: NewInvitation, by: &str) -> Result<LinkIssued, UserError> {
    let new = NewUser {
        email: b.email,
        role: b.role,
        partner_id: b.partner_id,
        password: None,
    };
    let _guard = app.admin_lock.lock().await;
    let user = create(app.store.as_ref(), &new, partner_exists(app), by).await?;
    let (token, link) = issue_link(app.store.as_ref(), &user, LinkKind::Invite, by).await?;
    Ok(link_view(app, &user, &token, &link))
}

pub async fn create_invitation(
    State(app): State<Arc<AppState>>,
    Admin(key): Admin,
    JsonBody(b): JsonBody<NewInvitation>,
) -> ApiResult {
    let v = invite(&app, b, &key.id).await?;
    ok(StatusCode::CREATED, v)
}

pub async fn password_reset(app: &AppState, id: &str, by: &str) -> Result<LinkIssued, UserError> {
    let user = app
        .store
        .user(id, false)
        .await?
        .ok_or_else(|| refused(ErrorCode::NotFound, format!("no user with id `{id}`")))?;
    let (token, link) = issue_link(app.store.as_ref(), &user, LinkKind::Reset, by).await?;
    Ok(link_view(app, &user, &token, &link))
}

pub async fn create_password_reset(
    State(app): State<Arc<AppState>>,
    Admin(key): Admin,
    Path(id): Path<String>,
) -> ApiResult {
    let v = password_reset(&app, &id, &key.id).await?;
    ok(StatusCode::OK, v)
}

/// `PATCH /api/v1/users/{id}`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// A disabled user cannot log in; its sessions end at once.
    pub disabled: bool,
}

pub async fn patch_user(
    State(app): State<Arc<AppState>>,
    Admin(key): Admin,
    Path(id): Path<String>,
    JsonBody(p): JsonBody<UserPatch>,
) -> ApiResult {
    let _guard = app.admin_lock.lock().await;
    let mut user = app
        .store
        .user(&id, false)
        .await?
        .ok_or_else(|| ApiError::not_found("user", &id))?;
    user.disabled = p.disabled;
    let action = if p.disabled {
        "disable_user"
    } else {
        "enable_user"
    };
    app.store
        .put_user(&user, Some(&audit(&key.id, action, &user, None)))
        .await?;
    ok(StatusCode::OK, view(&user))
}

/// The users API, merged into the server's routes.
pub fn routes() -> Api {
    Api::new()
        .post("/api/v1/users", "Create a dashboard user ({email, role, partner_id?, password})", create_user)
        .body::<NewUser>()
        .answer::<UserView>(201, "the user (never the password)")
        .refuses(&[422])
        .get("/api/v1/users", "Dashboard users (never their passwords)", list_users)
        .answer::<Items<UserView>>(200, "the users")
        .patch("/api/v1/users/{id}", "Disable or enable a user ({disabled}); disabling ends its sessions", patch_user)
        .body::<UserPatch>()
        .answer::<UserView>(200, "the changed user")
        .post("/api/v1/users/{id}/password-reset", "A one-time password-reset link for the user (valid 72 hours)", create_password_reset)
        .answer::<LinkIssued>(200, "the link, shown once")
        .post("/api/v1/invitations", "Invite a user ({email, role, partner_id?}): answers the one-time link that sets the password (valid 72 hours)", create_invitation)
        .body::<NewInvitation>()
        .answer::<LinkIssued>(201, "the new user and the link, shown once")
        .refuses(&[422])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_own_hash() {
        let h = hash_password("correct horse battery");
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterY", &h));
        assert_ne!(h, hash_password("correct horse battery"), "salts differ");
        // an invited user without a password matches nothing
        assert!(!verify_password("", ""));
        assert!(!verify_password("anything at all", ""));
    }

    #[test]
    fn short_and_huge_passwords_are_refused_with_the_bounds() {
        let e = check_password("short").unwrap_err();
        assert_eq!(e.to_string(), "password must be 10 to 1000 characters long");
        assert!(check_password(&"x".repeat(1001)).is_err());
        assert!(check_password("ten chars!").is_ok());
    }

    #[test]
    fn emails_are_checked() {
        assert!(checked_email(" a@example.com ").is_ok());
        for bad in ["a", "@example.com", "a@b", "a b@example.com", "a@.com"] {
            let e = checked_email(bad).unwrap_err();
            assert!(e.to_string().starts_with("email: "), "{e}");
        }
    }
}
