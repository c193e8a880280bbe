//! Dashboard sessions: a random 260-bit id in an HttpOnly, SameSite=Strict
//! cookie (Secure when the request came over HTTPS), stored server-side by
//! its SHA-256 with idle and absolute expiry. A session is a person (a
//! user) or an API key; either way it resolves to the same `Caller` the API
//! uses, so a page runs the same scoped queries as that key would.
//!
//! Every form carries the session's CSRF token in a hidden field; forms
//! shown before a session exists (login, invitation) carry one that must
//! match a cookie set with the form (double submit).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use clickledger_domain::net::{any_contains, client_ip};
use clickledger_domain::session::Liveness;
use clickledger_store::{ApiKey, Session, User};

use crate::auth::Caller;
use crate::util::{now_ms, random_token, sha256_hex};
use crate::AppState;

pub const SESSION_COOKIE: &str = "cl_session";
/// The token of a form shown before login (double submit).
pub const FORM_COOKIE: &str = "cl_form";

/// A cookie's value from the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Where a request came from: the client's address (through trusted
/// proxies), whether it came over HTTPS (this server terminates TLS, or a
/// trusted proxy says so), and the dashboard's cookies.
pub struct Origin {
    pub ip: IpAddr,
    pub https: bool,
    pub session: Option<String>,
    pub form_token: Option<String>,
}

impl FromRequestParts<Arc<AppState>> for Origin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::from([0, 0, 0, 0]));
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let trusted = any_contains(&app.trusted_proxies, peer);
        Ok(Origin {
            ip: client_ip(peer, header("x-forwarded-for"), &app.trusted_proxies),
            https: app.serves_tls
                || (trusted
                    && header("x-forwarded-proto")
                        .is_some_and(|v| v.eq_ignore_ascii_case("https"))),
            session: cookie(&parts.headers, SESSION_COOKIE).map(str::to_string),
            form_token: cookie(&parts.headers, FORM_COOKIE).map(str::to_string),
        })
    }
}

/// A `Set-Cookie` value; `max_age` 0 deletes the cookie.
pub fn set_cookie(name: &str, value: &str, secure: bool, max_age_s: i64) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}"
    ))
    .expect("cookie values are base32")
}

/// The logged-in viewer of a page.
pub struct Viewer {
    pub key: ApiKey,
    pub csrf: String,
    /// What the header shows: the e-mail, or the key's name.
    pub label: String,
    pub id_hash: String,
}

impl Viewer {
    pub fn caller(&self) -> Caller {
        Caller(self.key.clone())
    }

    pub fn is_admin(&self) -> bool {
        self.caller().is_admin()
    }

    /// Whether a submitted form carries this session's token.
    pub fn csrf_ok(&self, submitted: Option<&str>) -> bool {
        submitted.is_some_and(|s| constant_time_eq(s.as_bytes(), self.csrf.as_bytes()))
    }
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A user acts with the rights of a key of its role and partner; audit
/// entries name it `user:<id>`.
pub fn user_key(u: &User) -> ApiKey {
    ApiKey {
        id: format!("user:{}", u.id),
        key_hash: String::new(),
        role: u.role,
        partner_id: u.partner_id.clone(),
        created_ms: u.created_ms,
        expires_ms: None,
        name: u.email.clone(),
        hint: String::new(),
        revoked_ms: None,
    }
}

/// Without a live session, a page sends the browser to /login.
pub struct ToLogin;

impl IntoResponse for ToLogin {
    fn into_response(self) -> Response {
        Redirect::to("/login").into_response()
    }
}

impl FromRequestParts<Arc<AppState>> for Viewer {
    type Rejection = ToLogin;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let id = cookie(&parts.headers, SESSION_COOKIE).ok_or(ToLogin)?;
        resolve(app, &sha256_hex(id), now_ms()).await.ok_or(ToLogin)
    }
}

/// The viewer of a stored session at `now`, if it is live and its user or
/// key still may log in. An expired session is deleted.
pub async fn resolve(app: &AppState, id_hash: &str, now: i64) -> Option<Viewer> {
    let s = app.store.session(id_hash).await.ok()??;
    match app.ui.policy.check(s.created_ms, s.last_seen_ms, now) {
        Liveness::Live { touch } => {
            if touch {
                let _ = app.store.touch_session(id_hash, now).await;
            }
        }
        Liveness::IdleExpired | Liveness::AbsoluteExpired => {
            let _ = app.store.delete_session(id_hash).await;
            return None;
        }
    }
    let (key, label) = match (&s.user_id, &s.key_hash) {
        (Some(uid), _) => {
            let u = app.store.user(uid, false).await.ok()??;
            if u.disabled {
                return None;
            }
            (user_key(&u), u.email)
        }
        (None, Some(kh)) => {
            let k = app
                .cache
                .get()
                .keys
                .get(kh)
                .filter(|k| k.valid_at(now))
                .cloned()?;
            let label = if k.name.is_empty() {
                format!("{} key", k.role.as_str())
            } else {
                k.name.clone()
            };
            (k, label)
        }
        (None, None) => return None,
    };
    Some(Viewer {
        key,
        csrf: s.csrf,
        label,
        id_hash: s.id_hash,
    })
}

/// Opens a session with a new random id (never one the browser brought:
/// no fixation); the old one, if any, is deleted. Answers the cookie.
pub async fn open(
    app: &AppState,
    user_id: Option<String>,
    key_hash: Option<String>,
    previous: Option<&str>,
    secure: bool,
) -> Result<HeaderValue, clickledger_store::StoreError> {
    if let Some(old) = previous {
        app.store.delete_session(&sha256_hex(old)).await?;
    }
    let id = random_token();
    let now = now_ms();
    app.store
        .put_session(&Session {
            id_hash: sha256_hex(&id),
            user_id,
            key_hash,
            csrf: random_token(),
            created_ms: now,
            last_seen_ms: now,
        })
        .await?;
    Ok(set_cookie(
        SESSION_COOKIE,
        &id,
        secure,
        app.ui.policy.absolute_ms / 1000,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_name() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=1; cl_session=abc; b=2".parse().unwrap());
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "cl_form"), None);
        let c = set_cookie(SESSION_COOKIE, "x", true, 60);
        assert_eq!(
            c.to_str().unwrap(),
            "cl_session=x; Path=/; HttpOnly; SameSite=Strict; Max-Age=60; Secure"
        );
        assert!(!set_cookie(SESSION_COOKIE, "x", false, 60)
            .to_str()
            .unwrap()
            .contains("Secure"));
    }

    #[test]
    fn csrf_compares_whole_tokens() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
