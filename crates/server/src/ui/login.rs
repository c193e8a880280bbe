//! Logging in and out, and using an invitation or reset link.
//!
//! `/login` takes an e-mail and a password, or an API key (`api_key`) for
//! those who only have one: the session then has that key's scope. Failed
//! logins are limited per client address and per account (only failures
//! count) and written to the audit log, as are logins.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use clickledger_store::AuditEntry;
use serde_json::json;

use super::html;
use super::session::{
    self, constant_time_eq, set_cookie, Origin, Viewer, FORM_COOKIE, SESSION_COOKIE,
};
use super::view::{Chrome, InvitePage, LoginPage, MessagePage};
use crate::users::{check_password, hash_password, verify_password};
use crate::util::{now_ms, random_token, sha256_hex};
use crate::AppState;
use askama::Template;

pub type Fields = Vec<(String, String)>;

pub fn field<'a>(fields: &'a Fields, name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A message page with its status.
pub fn message(
    status: StatusCode,
    heading: &str,
    text: &str,
    link: Option<(&str, &str)>,
) -> Response {
    let page = MessagePage {
        chrome: Chrome::bare(heading),
        heading: heading.to_string(),
        message: text.to_string(),
        link: link.map(|(h, l)| (h.to_string(), l.to_string())),
    };
    html(status, page.render())
}

/// A form posted without its token (or with another session's).
pub fn csrf_refused() -> Response {
    message(
        StatusCode::FORBIDDEN,
        "Form refused",
        "This form was sent without its security token, or with one from another session, so nothing was changed. Go back, reload the page and send the form again.",
        Some(("/", "Back to the dashboard")),
    )
}

/// A form shown before login, with the token its cookie must match.
fn with_form_cookie(
    status: StatusCode,
    body: Result<String, askama::Error>,
    token: &str,
    https: bool,
) -> Response {
    let mut resp = html(status, body);
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(FORM_COOKIE, token, https, 3600),
    );
    resp
}

fn form_token_ok(origin: &Origin, fields: &Fields) -> bool {
    match (&origin.form_token, field(fields, "csrf")) {
        (Some(c), Some(f)) => constant_time_eq(c.as_bytes(), f.as_bytes()),
        _ => false,
    }
}

fn login_page(status: StatusCode, email: &str, error: Option<String>, https: bool) -> Response {
    let token = random_token();
    let page = LoginPage {
        chrome: Chrome::bare("Log in"),
        csrf: token.clone(),
        email: email.to_string(),
        error,
    };
    with_form_cookie(status, page.render(), &token, https)
}

pub async fn form(State(app): State<Arc<AppState>>, origin: Origin) -> Response {
    if let Some(id) = &origin.session {
        if session::resolve(&app, &sha256_hex(id), now_ms())
            .await
            .is_some()
        {
            return Redirect::to("/").into_response();
        }
    }
    login_page(StatusCode::OK, "", None, origin.https)
}

fn login_audit(
    action: &str,
    entity: &str,
    origin: &Origin,
    detail: serde_json::Value,
) -> AuditEntry {
    AuditEntry {
        id: 0,
        ts_ms: now_ms(),
        key_id: "login".into(),
        action: action.into(),
        entity_kind: "user".into(),
        entity_id: entity.into(),
        before: None,
        after: Some(json!({"ip": origin.ip.to_string(), "detail": detail})),
        template: None,
    }
}

pub async fn submit(
    State(app): State<Arc<AppState>>,
    origin: Origin,
    Form(fields): Form<Fields>,
) -> Response {
    if !form_token_ok(&origin, &fields) {
        return csrf_refused();
    }
    let now = now_ms();
    let email = field(&fields, "email").unwrap_or("").trim().to_string();
    let api_key = field(&fields, "api_key").unwrap_or("").trim().to_string();
    let account = if api_key.is_empty() {
        email.to_lowercase()
    } else {
        // a key login is limited per key, never by an e-mail typed beside it
        format!("key:{}", &sha256_hex(&api_key)[..16])
    };
    let s = &app.ui.settings;
    let (by_ip, by_account) = tokio::join!(
        app.ui.login_ip.peek(&origin.ip, s.login_rate_ip, now),
        app.ui
            .login_account
            .peek(&account, s.login_rate_account, now),
    );
    let limited = by_ip.and(by_account);
    if let Err(wait) = limited {
        let _ = app
            .store
            .record_audit(&login_audit(
                "login_rate_limited",
                &account,
                &origin,
                json!({"retry_after_s": wait}),
            ))
            .await;
        let mut resp = login_page(
            StatusCode::TOO_MANY_REQUESTS,
            &email,
            Some(format!(
                "Too many failed logins; try again in {wait} seconds."
            )),
            origin.https,
        );
        if let Ok(v) = wait.to_string().parse() {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return resp;
    }
    let (who, user_id, key_hash) = if api_key.is_empty() {
        let password = field(&fields, "password").unwrap_or("").to_string();
        let found = match app.store.user(&email, true).await {
            Ok(u) => u,
            Err(e) => return store_down(e),
        };
        let phc = found
            .as_ref()
            .map(|u| u.password_hash.clone())
            .unwrap_or_default();
        let matches = tokio::task::spawn_blocking(move || verify_password(&password, &phc))
            .await
            .unwrap_or(false);
        match found {
            Some(u) if matches && !u.disabled => (u.id.clone(), Some(u.id), None),
            other => {
                let reason = match other {
                    None => "no such user",
                    Some(u) if u.disabled => "user disabled",
                    Some(_) => "wrong password",
                };
                return failed(&app, &origin, &account, &email, reason, now).await;
            }
        }
    } else {
        let hash = sha256_hex(&api_key);
        match app.cache.get().keys.get(&hash).filter(|k| k.valid_at(now)) {
            Some(k) => (k.id.clone(), None, Some(hash)),
            None => return failed(&app, &origin, &account, &email, "API key not valid", now).await,
        }
    };
    let cookie = match session::open(
        &app,
        user_id,
        key_hash,
        origin.session.as_deref(),
        origin.https,
    )
    .await
    {
        Ok(c) => c,
        Err(e) => return store_down(e),
    };
    let _ = app
        .store
        .record_audit(&login_audit("login", &who, &origin, json!({})))
        .await;
    let mut resp = Redirect::to("/").into_response();
    let h = resp.headers_mut();
    h.append(header::SET_COOKIE, cookie);
    h.append(
        header::SET_COOKIE,
        set_cookie(FORM_COOKIE, "", origin.https, 0),
    );
    resp
}

/// A failed login: counted against the address and the account, audited,
/// answered with one message whatever was wrong (no account probing).
async fn failed(
    app: &AppState,
    origin: &Origin,
    account: &str,
    email: &str,
    reason: &str,
    now: i64,
) -> Response {
    let s = &app.ui.settings;
    let _ = tokio::join!(
        app.ui.login_ip.check(origin.ip, s.login_rate_ip, now),
        app.ui
            .login_account
            .check(account.to_string(), s.login_rate_account, now),
    );
    let _ = app
        .store
        .record_audit(&login_audit(
            "login_failed",
            account,
            origin,
            json!({"reason": reason}),
        ))
        .await;
    login_page(
        StatusCode::UNAUTHORIZED,
        email,
        Some(
            "The e-mail and password (or the API key) do not match an account that may log in."
                .into(),
        ),
        origin.https,
    )
}

fn store_down(e: clickledger_store::StoreError) -> Response {
    tracing::error!(error = %e, "store error on a dashboard page");
    message(
        StatusCode::SERVICE_UNAVAILABLE,
        "Try again shortly",
        "The store is unavailable at the moment; nothing was changed.",
        None,
    )
}

pub async fn logout(
    State(app): State<Arc<AppState>>,
    origin: Origin,
    viewer: Option<Viewer>,
    Form(fields): Form<Fields>,
) -> Response {
    if let Some(v) = viewer {
        if !v.csrf_ok(field(&fields, "csrf")) {
            return csrf_refused();
        }
        if let Err(e) = app.store.delete_session(&v.id_hash).await {
            return store_down(e);
        }
    }
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", origin.https, 0),
    );
    resp
}

fn link_gone() -> Response {
    message(
        StatusCode::NOT_FOUND,
        "This link cannot be used",
        "It was used already, it has expired, or it was never issued. Ask an admin for a new one.",
        Some(("/login", "Go to the login page")),
    )
}

fn invite_page(
    status: StatusCode,
    token: &str,
    email: &str,
    error: Option<String>,
    https: bool,
) -> Response {
    let form_token = random_token();
    let page = InvitePage {
        chrome: Chrome::bare("Choose your password"),
        csrf: form_token.clone(),
        email: email.to_string(),
        action: format!("/invite/{token}"),
        error,
    };
    with_form_cookie(status, page.render(), &form_token, https)
}

/// The user a usable link is for.
async fn link_user(app: &AppState, token: &str) -> Option<clickledger_store::User> {
    let link = app
        .store
        .usable_link(&sha256_hex(token), now_ms())
        .await
        .ok()??;
    app.store.user(&link.user_id, false).await.ok()?
}

pub async fn invite_form(
    State(app): State<Arc<AppState>>,
    origin: Origin,
    Path(token): Path<String>,
) -> Response {
    match link_user(&app, &token).await {
        Some(u) => invite_page(StatusCode::OK, &token, &u.email, None, origin.https),
        None => link_gone(),
    }
}

pub async fn invite_submit(
    State(app): State<Arc<AppState>>,
    origin: Origin,
    Path(token): Path<String>,
    Form(fields): Form<Fields>,
) -> Response {
    if !form_token_ok(&origin, &fields) {
        return csrf_refused();
    }
    let Some(user) = link_user(&app, &token).await else {
        return link_gone();
    };
    let password = field(&fields, "password").unwrap_or("").to_string();
    if let Err(e) = check_password(&password) {
        return invite_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &token,
            &user.email,
            Some(e.to_string()),
            origin.https,
        );
    }
    let phc = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .unwrap_or_default();
    match app
        .store
        .redeem_link(&sha256_hex(&token), now_ms(), &phc)
        .await
    {
        Ok(Some(_)) => message(
            StatusCode::OK,
            "Password set",
            "Your password is set; log in with your e-mail and it.",
            Some(("/login", "Log in")),
        ),
        Ok(None) => link_gone(),
        Err(e) => store_down(e),
    }
}

impl axum::extract::OptionalFromRequestParts<Arc<AppState>> for Viewer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        app: &Arc<AppState>,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(
            <Viewer as axum::extract::FromRequestParts<_>>::from_request_parts(parts, app)
                .await
                .ok(),
        )
    }
}
