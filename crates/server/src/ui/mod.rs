//! The web dashboard: server-rendered pages (askama templates compiled into
//! the binary), one stylesheet, vendored htmx and uPlot, served by the same
//! binary as the tracker. Pages call the API's own handlers with the
//! session's caller, so a page shows exactly what that caller's API key
//! would see and refuses what it would refuse, with the same messages.

pub mod alerts;
pub mod assets;
pub mod format;
pub mod import;
pub mod integration;
pub mod login;
pub mod multipart;
pub mod operations;
pub mod pages;
pub mod partners;
pub mod reports;
pub mod session;
pub mod view;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use clickledger_domain::rate::Limit;
use clickledger_domain::session::SessionPolicy;

use crate::shared::buckets::Buckets;
use crate::shared::connection::Redis;
use crate::AppState;

/// Dashboard settings.
#[derive(Clone, Debug)]
pub struct UiSettings {
    pub sessions: SessionPolicy,
    /// Failed logins per client IP.
    pub login_rate_ip: Limit,
    /// Failed logins per account (the e-mail tried).
    pub login_rate_account: Limit,
}

impl Default for UiSettings {
    fn default() -> Self {
        UiSettings {
            sessions: SessionPolicy::default(),
            // `120/h:20` and `30/h:5`, as `serve --help` says
            login_rate_ip: Limit {
                per_second: 120.0 / 3600.0,
                burst: 20.0,
            },
            login_rate_account: Limit {
                per_second: 30.0 / 3600.0,
                burst: 5.0,
            },
        }
    }
}

/// What the dashboard keeps in the server's state.
pub struct UiState {
    pub policy: SessionPolicy,
    pub settings: UiSettings,
    pub login_ip: Buckets<IpAddr>,
    pub login_account: Buckets<String>,
}

impl UiState {
    pub fn new(settings: &UiSettings, redis: Option<&Arc<Redis>>) -> UiState {
        UiState {
            policy: settings.sessions,
            settings: settings.clone(),
            login_ip: Buckets::new("login_ip", redis),
            login_account: Buckets::new("login_account", redis).hashed(),
        }
    }
}

/// Forgets login buckets that are full again (every node its own).
pub fn housekeeping(app: &AppState, now: i64) {
    let s = &app.ui.settings;
    app.ui.login_ip.prune(s.login_rate_ip, now);
    app.ui.login_account.prune(s.login_rate_account, now);
}

/// Deletes sessions past their idle or absolute expiry (one node does it).
pub async fn expire_sessions(app: &AppState, now: i64) {
    let p = app.ui.policy;
    if let Err(e) = app
        .store
        .expire_sessions(now - p.idle_ms, now - p.absolute_ms)
        .await
    {
        tracing::warn!(error = %e, "expired sessions not deleted");
    }
}

/// The pause/resume route of one kind of record.
macro_rules! status {
    ($kind:literal) => {
        post(
            |st: axum::extract::State<Arc<AppState>>,
             viewer: session::Viewer,
             id: axum::extract::Path<String>,
             to: axum::extract::Query<pages::StatusTo>,
             form: axum::Form<login::Fields>| {
                pages::set_status($kind, st, viewer, id, to, form)
            },
        )
    };
}

/// The dashboard's routes, merged into the server's router.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/", get(pages::overview))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route(
            "/invite/{token}",
            get(login::invite_form).post(login::invite_submit),
        )
        .route("/offers", get(pages::offers).post(pages::create_offer))
        .route(
            "/advertisers",
            get(pages::advertisers).post(pages::create_advertiser),
        )
        .route(
            "/affiliates",
            get(pages::affiliates).post(pages::create_affiliate),
        )
        .route("/links", get(pages::links).post(pages::create_link))
        .route("/links/{id}", get(integration::link))
        .route(
            "/advertisers/{id}",
            get(partners::advertiser).post(partners::edit_advertiser),
        )
        .route("/advertisers/{id}/reconcile", post(partners::reconcile))
        .route(
            "/affiliates/{id}",
            get(partners::affiliate).post(partners::edit_affiliate),
        )
        .route(
            "/offers/{id}",
            get(integration::offer).post(integration::edit_offer),
        )
        .route(
            "/affiliates/{id}/test-postback",
            post(partners::test_postback),
        )
        .route("/finance/{id}/ledger.csv", get(operations::ledger_csv))
        .route("/offers/{id}/setup", get(integration::setup))
        .route("/offers/{id}/check", post(integration::check))
        .route("/advertisers/{id}/status", status!("advertisers"))
        .route("/offers/{id}/status", status!("offers"))
        .route("/affiliates/{id}/status", status!("affiliates"))
        .route("/links/{id}/status", status!("links"))
        .route("/conversions", get(pages::conversions))
        .route("/conversions/import", post(import::submit))
        .route("/conversions/{id}", get(operations::conversion))
        .route("/conversions/{id}/status", post(operations::change_status))
        .route("/deliveries", get(operations::deliveries))
        .route("/deliveries/{id}", get(operations::delivery))
        .route("/deliveries/{id}/retry", post(operations::retry))
        .route("/destinations/{id}/resume", post(operations::resume))
        .route("/audit", get(operations::audit))
        .route("/alerts", get(alerts::page_get))
        .route("/alerts/hooks", post(alerts::add_hook))
        .route("/alerts/hooks/{id}/delete", post(alerts::remove_hook))
        .route("/finance", get(operations::finance))
        .route("/finance/{id}", post(operations::add_entry))
        .route("/reports", get(reports::page))
        .route("/reports.csv", get(reports::csv))
        .route("/postback-log", get(pages::postback_log))
        .route("/users", get(pages::users).post(pages::invite_user))
        .route("/users/{id}/reset", post(pages::reset_user))
        .route("/users/{id}/{to}", post(pages::set_user_disabled))
        .route("/assets/{version}/{name}", get(assets::serve))
        .route("/assets/{version}/vendor/{name}", get(assets::serve_vendor))
        .layer(middleware::from_fn(page_headers))
}

/// Every page: how long the server took (`Server-Timing`, read by the
/// browser tests), never cached, never framed, scripts only from here.
async fn page_headers(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let is_asset = req.uri().path().starts_with("/assets/");
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if let Ok(v) = HeaderValue::from_str(&format!("app;dur={ms:.2}")) {
        h.insert("server-timing", v);
    }
    if !is_asset {
        page_policy(h);
    }
    resp
}

/// A page's headers: never cached, never framed, scripts only from here.
fn page_policy(h: &mut axum::http::HeaderMap) {
    h.entry("cache-control")
        .or_insert(HeaderValue::from_static("no-store"));
    h.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
}

/// Paths that belong to the tracker or the API, never to the dashboard:
/// their unknown paths keep the JSON 404 whatever the client accepts.
const NOT_PAGES: [&str; 7] = [
    "/api/",
    "/c/",
    "/postback",
    "/healthz",
    "/metrics",
    "/t.js",
    "/assets/",
];

/// Whether a request that matched no route should get the dashboard's 404
/// page: a browser (its `Accept` names `text/html`) asking for a path
/// outside the API and the tracker.
pub fn wants_page(path: &str, headers: &axum::http::HeaderMap) -> bool {
    let html = headers
        .get_all(axum::http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/html"));
    html && !NOT_PAGES.iter().any(|p| path.starts_with(p))
}

/// The dashboard's 404 page, with the navigation when the browser has a
/// live session.
pub async fn not_found(app: &AppState, headers: &axum::http::HeaderMap, path: &str) -> Response {
    let viewer = match session::cookie(headers, session::SESSION_COOKIE) {
        Some(id) => {
            session::resolve(app, &crate::util::sha256_hex(id), crate::util::now_ms()).await
        }
        None => None,
    };
    let chrome = match &viewer {
        Some(v) => view::Chrome::new(v, "Page not found", ""),
        None => view::Chrome::bare("Page not found"),
    };
    let (href, label) = match viewer {
        Some(_) => ("/", "Back to the overview"),
        None => ("/login", "Log in"),
    };
    let page = view::MessagePage {
        chrome,
        heading: "Page not found".to_string(),
        message: format!(
            "There is no page at {path}. It may have been moved, or the address was mistyped."
        ),
        link: Some((href.to_string(), label.to_string())),
    };
    let mut resp = html(StatusCode::NOT_FOUND, askama::Template::render(&page));
    page_policy(resp.headers_mut());
    resp
}

/// A rendered page with its status.
pub fn html(status: StatusCode, body: Result<String, askama::Error>) -> Response {
    match body {
        Ok(b) => (status, Html(b)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "page not rendered");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be rendered",
            )
                .into_response()
        }
    }
}
