//! Browser conversions: `GET /t.js` (the landing-page script), `POST
//! /t/conversion` (what the script sends) and `GET /px` (a 1×1 GIF for
//! pages without JavaScript).
//!
//! Nothing is secret in a browser, so a browser conversion is not
//! authenticated by a token or a signature: its `publishable_key` names
//! the advertiser, and the page it comes from (the `Origin` header, else
//! the `Referer`, which a browser does not let a page forge) must be on the
//! advertiser's `pixel_hosts`. After that step it is a postback like any
//! other: it goes through `postback::process`, so the same field checks,
//! txid dedup, status rules, caps, payout bounds, log and outbox apply, and
//! the conversion records `channel: "browser"`.

use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use clickledger_domain::codes::Refusal;
use clickledger_domain::pixel_host::{allowed, host_of, page_host};
use clickledger_domain::ErrorCode;
use clickledger_store::{Advertiser, Channel};
use serde::Deserialize;
use serde_json::Value;

use crate::api::Params;
use crate::cache::Config;
use crate::postback::{collect_fields, process, respond, Answer, Context, Inbound};
use crate::util::sha256_hex;
use crate::AppState;

/// The landing-page script, served as is.
pub const SCRIPT: &str = include_str!("../assets/t.js");
/// The script's version: `/t.js?v=1` is cached for a year. Bump it with
/// any change to `assets/t.js` (the setup documents print the new URL).
pub const SCRIPT_VERSION: &str = "1";

/// The field naming the advertiser in a browser conversion.
pub const KEY_FIELD: &str = "publishable_key";

/// A transparent 1×1 GIF.
const GIF: [u8; 43] = [
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00,
    0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// The script's ETag: its content's hash, so a changed file is refetched.
static ETAG: LazyLock<String> = LazyLock::new(|| format!("\"{}\"", &sha256_hex(SCRIPT)[..16]));

/// `GET /t.js`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScriptQuery {
    /// The script version the page asks for; with the current one (`1`)
    /// the answer is cached for a year, without it for an hour.
    v: Option<String>,
}

pub async fn script(headers: HeaderMap, Params(q): Params<ScriptQuery>) -> Response {
    let cache = if q.v.as_deref() == Some(SCRIPT_VERSION) {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=3600"
    };
    let etag = ETAG.as_str();
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let common = [
        (header::CACHE_CONTROL, cache),
        (header::ETAG, etag),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    if fresh {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (
        common,
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        SCRIPT,
    )
        .into_response()
}

/// A browser conversion as received: a postback on the browser channel.
/// `sendBeacon` and `t.js` send JSON as `text/plain` (no CORS preflight),
/// read as the JSON it is.
fn inbound(
    app: &AppState,
    peer: SocketAddr,
    method: Method,
    query: Option<String>,
    mut headers: HeaderMap,
    body: Bytes,
) -> Inbound {
    let plain = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|ct| ct.starts_with("text/plain"));
    if plain && body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    let mut inbound = Inbound::from_http(app, peer, method, query, headers, body, None);
    inbound.channel = Channel::Browser;
    inbound
}

/// `GET /px?publishable_key=…&click_id=…`: always the GIF with 200 (a
/// browser ignores an image's status, and a 4xx would only show as a
/// broken image); the outcome is in the postback log and in the
/// `X-Clickledger-Result` header (`accepted`, `duplicate`, `updated`,
/// `queued`, or the refusal's code).
pub async fn pixel(
    State(app): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let answer = process(
        &app,
        inbound(&app, peer, Method::GET, query, headers, Bytes::new()),
    )
    .await;
    let outcome = outcome(&answer)
        .and_then(|s| HeaderValue::from_str(s).ok())
        .unwrap_or(HeaderValue::from_static("unknown"));
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/gif")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        [("x-clickledger-result", outcome)],
        GIF,
    )
        .into_response()
}

/// `POST /t/conversion`: the answer is the postback's, readable by the
/// page only when its origin is allowed (CORS names that origin alone).
pub async fn conversion(
    State(app): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let inbound = inbound(&app, peer, Method::POST, query, headers, body);
    let key = collect_fields(inbound.query.as_deref(), &inbound.headers, &inbound.body)
        .ok()
        .and_then(|pairs| {
            pairs
                .into_iter()
                .find(|(k, _)| k == KEY_FIELD)
                .map(|(_, v)| v)
        });
    let origin = allowed_origin(&app.cache.get(), &inbound.headers, key.as_deref());
    let mut resp = respond(process(&app, inbound).await);
    cors(&mut resp, origin);
    resp
}

/// `OPTIONS /t/conversion`: `t.js` needs no preflight (it sends
/// `text/plain`), but a page posting JSON itself does. The origin is
/// allowed when its host is on the pixel_hosts of the advertiser whose
/// `publishable_key` is in the query, or without one, of any advertiser.
pub async fn preflight(
    State(app): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let key = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == KEY_FIELD)
        .map(|(_, v)| v.into_owned());
    let origin = allowed_origin(&app.cache.get(), &headers, key.as_deref());
    let mut resp = StatusCode::NO_CONTENT.into_response();
    if origin.is_some() {
        let h = resp.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("POST"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("content-type"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("86400"),
        );
    }
    cors(&mut resp, origin);
    resp
}

fn cors(resp: &mut Response, origin: Option<HeaderValue>) {
    let h = resp.headers_mut();
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(o) = origin {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
    }
}

/// The request's `Origin`, when its host is on the pixel_hosts of the
/// advertiser `key` names (of any advertiser without a key).
fn allowed_origin(cfg: &Config, headers: &HeaderMap, key: Option<&str>) -> Option<HeaderValue> {
    let origin = headers.get(header::ORIGIN)?;
    let host = host_of(origin.to_str().ok()?)?;
    let ok = match key {
        Some(k) => cfg
            .advertiser_by_publishable_key
            .get(k)
            .and_then(|id| cfg.advertiser_auth.get(id))
            .is_some_and(|a| allowed(&a.pixel_hosts, &host)),
        None => cfg
            .advertiser_auth
            .values()
            .any(|a| allowed(&a.pixel_hosts, &host)),
    };
    ok.then(|| origin.clone())
}

/// At most the first 64 characters of a received value, for a message.
fn shown(v: &str) -> String {
    match v.char_indices().nth(64) {
        Some((i, _)) => format!("{}…", &v[..i]),
        None => v.to_string(),
    }
}

/// The advertiser a browser conversion's `publishable_key` names.
pub(crate) fn keyed_advertiser<'c>(
    cfg: &'c Config,
    pairs: &[(String, String)],
) -> Result<&'c Advertiser, Refusal> {
    let key = pairs
        .iter()
        .find(|(k, _)| k == KEY_FIELD)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            Refusal::new(
                ErrorCode::InvalidPublishableKey,
                "publishable_key: missing; a browser conversion carries the advertiser's publishable key (pk_…, in its record and setup document)",
            )
        })?;
    cfg.advertiser_by_publishable_key
        .get(key)
        .and_then(|id| cfg.advertisers.get(id))
        .ok_or_else(|| {
            Refusal::new(
                ErrorCode::InvalidPublishableKey,
                format!(
                    "publishable_key: `{}` is not an advertiser's publishable key (was it rotated?)",
                    shown(key)
                ),
            )
        })
}

/// The browser channel's authentication step: the per-IP limit, the
/// publishable key, then the page's host against the advertiser's
/// pixel_hosts. (The advertiser's own rate limit follows, as for
/// postbacks.)
pub(crate) async fn authenticate<'c>(
    app: &AppState,
    cfg: &'c Config,
    inbound: &Inbound,
    pairs: &[(String, String)],
    ctx: &mut Context,
    now: i64,
) -> Result<&'c Advertiser, Refusal> {
    // a replay passed the limit when it was received
    if inbound.replay_of.is_none() {
        if let Err(secs) = app
            .browser_ip_limiter
            .check(inbound.ip, app.limits.browser_ip, now)
            .await
        {
            ctx.retry_after = Some(secs);
            return Err(Refusal::new(
                ErrorCode::RateLimited,
                format!(
                    "too many browser conversions from {}; retry in {secs} s",
                    inbound.ip
                ),
            ));
        }
    }
    let adv = keyed_advertiser(cfg, pairs)?;
    ctx.advertiser_id = Some(adv.id.clone());
    let hosts = cfg
        .advertiser_auth
        .get(&adv.id)
        .map(|a| a.pixel_hosts.as_slice())
        .unwrap_or_default();
    if hosts.is_empty() {
        return Err(Refusal::new(
            ErrorCode::HostNotAllowed,
            format!(
                "pixel_hosts: advertiser {} lists no page hosts, so it takes no browser conversions; add its pages' hosts",
                adv.id
            ),
        ));
    }
    let header = |name: &str| inbound.headers.get(name).and_then(|v| v.to_str().ok());
    let (host, from) = page_host(header("origin"), header("referer")).ok_or_else(|| {
        Refusal::new(
            ErrorCode::HostNotAllowed,
            "the request names no page: it has neither an Origin nor a Referer header (a page with Referrer-Policy: no-referrer cannot use the pixel)",
        )
    })?;
    if !allowed(hosts, &host) {
        return Err(Refusal::new(
            ErrorCode::HostNotAllowed,
            format!(
                "page host `{}` (from the {from} header) is not on the advertiser's pixel_hosts ({})",
                shown(&host),
                adv.browser.pixel_hosts.join(", ")
            ),
        ));
    }
    Ok(adv)
}

/// The answer in a word: its `result`, or its `error` code.
fn outcome(a: &Answer) -> Option<&str> {
    a.body
        .get("error")
        .or_else(|| a.body.get("result"))
        .and_then(Value::as_str)
}
