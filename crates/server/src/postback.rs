//! `GET|POST /postback` and `/postback/{token}`: the advertiser's server
//! reports a conversion.
//!
//! The order of checks is the contract's: token first (nothing else is
//! looked up for an unauthenticated caller), then fields, click id, click,
//! advertiser ownership, event, attribution window, commission rule. The
//! decision against recorded conversions (duplicate, update, conflict) and
//! the write happen in one store transaction. Every postback is logged.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use clickledger_domain::codes::Refusal;
use clickledger_domain::hints::click_id_hint;
use clickledger_domain::net::{any_contains, client_ip};
use clickledger_domain::outbound;
use clickledger_domain::pii;
use clickledger_domain::postback::{
    find, find_token, mask_secrets, parse_fields, Field as PostbackField,
};
use clickledger_domain::signature::{verify_query_signature, verify_webhook};
use clickledger_domain::status::{Decision, Incoming};
use clickledger_domain::wording::count;
use clickledger_domain::Status;
use clickledger_domain::{ClickId, ClickIdError, ErrorCode};
use clickledger_store::PostbackWrite;
use clickledger_store::{
    Advertiser, Channel, Click, ClickDims, Conversion, ConversionAttempt, Notify, PostbackLogEntry,
    Scope,
};
use rust_decimal::Decimal;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::collections::BTreeMap;

use crate::api::{ApiError, Path};
use crate::cache::Config;
use crate::journal::{Entry, QueuedPostback};
use crate::util::{now_ms, sha256_hex, time_ordered_id};
use crate::writer::WriteError;
use crate::AppState;

const MAX_FIELDS: usize = 64;
const MAX_BODY: usize = 64 * 1024;
const DAY_MS: i64 = 86_400_000;

pub async fn postback(
    State(app): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let inbound = Inbound::from_http(&app, peer, method, query, headers, body, None);
    respond(process(&app, inbound).await)
}

pub async fn postback_with_token(
    State(app): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let inbound = Inbound::from_http(&app, peer, method, query, headers, body, Some(token));
    respond(process(&app, inbound).await)
}

/// The answer: status, JSON body, and seconds for `Retry-After` if any.
/// Kept as a value (not a response) because the webhook replay guard
/// answers a resend with the first answer, and uploads put it in a CSV.
#[derive(Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub retry_after: Option<u64>,
}

/// A refusal's answer: the one error shape (`ApiError`), never built here.
impl From<ApiError> for Answer {
    fn from(e: ApiError) -> Answer {
        Answer {
            status: e.status(),
            body: e.body(),
            retry_after: e.retry_after,
        }
    }
}

/// Clicks that postbacks asked for lately. Postbacks for one click come
/// together (a registration, then a deposit; status updates; an advertiser
/// resending), and a stored click never changes, so the ones after the
/// first need no read of the store. Bounded; an entry lives an hour, so a
/// click that retention removes is not answered from here for long.
#[derive(Default)]
pub struct RecentClicks {
    seen: std::sync::Mutex<std::collections::HashMap<ClickId, (i64, Arc<Click>)>>,
}

impl RecentClicks {
    const MAX: usize = 20_000;
    const TTL_MS: i64 = 3_600_000;

    pub fn get(&self, id: ClickId, now: i64) -> Option<Arc<Click>> {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.get(&id)
            .filter(|(at, _)| now - at < Self::TTL_MS)
            .map(|(_, c)| c.clone())
    }

    pub fn put(&self, click: Click, now: i64) -> Arc<Click> {
        let click = Arc::new(click);
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= Self::MAX {
            seen.retain(|_, (at, _)| now - *at < Self::TTL_MS);
            if seen.len() >= Self::MAX {
                seen.clear();
            }
        }
        seen.insert(click.id, (now, click.clone()));
        click
    }
}

pub(crate) fn respond(a: Answer) -> Response {
    let mut resp = (a.status, Json(a.body)).into_response();
    if let Some(s) = a.retry_after {
        if let Ok(v) = header::HeaderValue::from_str(&s.to_string()) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    resp
}

/// A postback as received.
pub struct Inbound {
    /// The client's address (behind trusted proxies, the forwarded one).
    pub ip: IpAddr,
    pub https: bool,
    pub method: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub path_token: Option<String>,
    /// Set by the test-postback endpoint, which authenticates the admin
    /// instead of the advertiser.
    pub test_advertiser: Option<String>,
    /// Set by bulk uploads: the caller's key was checked instead of a token.
    pub authenticated_advertiser: Option<String>,
    /// Set when the postback is replayed from the fallback journal: when it
    /// was received. It is decided as of that moment, without the rate
    /// limits it passed then, and is never journaled again.
    pub replay_of: Option<i64>,
    /// `Browser` for `t.js` and `/px`: authenticated by the publishable key
    /// and the page's host (`crate::browser`) instead of a token.
    pub channel: Channel,
}

impl Inbound {
    /// Whether the fallback journal may keep this postback while the store
    /// is away: one from an advertiser's server, not a replay, not a test
    /// or an upload (those callers are answered 503 and retry).
    fn may_queue(&self) -> bool {
        self.replay_of.is_none()
            && self.test_advertiser.is_none()
            && self.authenticated_advertiser.is_none()
    }

    /// A postback made inside the tracker (test postbacks, bulk uploads):
    /// JSON fields from loopback over a trusted path, the advertiser
    /// already authenticated by the caller's API key.
    pub fn internal(
        method: &str,
        fields: &impl serde::Serialize,
        advertiser: String,
        test: bool,
    ) -> Inbound {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        );
        Inbound {
            ip: IpAddr::from([127, 0, 0, 1]),
            https: true,
            method: method.to_string(),
            query: None,
            headers,
            body: serde_json::to_vec(fields).unwrap_or_default().into(),
            path_token: None,
            test_advertiser: test.then(|| advertiser.clone()),
            authenticated_advertiser: (!test).then_some(advertiser),
            replay_of: None,
            channel: Channel::S2s,
        }
    }

    pub fn from_http(
        app: &AppState,
        peer: SocketAddr,
        method: Method,
        query: Option<String>,
        headers: HeaderMap,
        body: Bytes,
        path_token: Option<String>,
    ) -> Inbound {
        let xff = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
        let ip = client_ip(peer.ip(), xff, &app.trusted_proxies);
        let proxied_https = any_contains(&app.trusted_proxies, peer.ip())
            && headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|p| p.eq_ignore_ascii_case("https"));
        Inbound {
            ip,
            https: app.serves_tls || proxied_https,
            method: method.to_string(),
            query,
            headers,
            body,
            path_token,
            test_advertiser: None,
            authenticated_advertiser: None,
            replay_of: None,
            channel: Channel::S2s,
        }
    }
}

/// The click a postback names, as its advertiser's aliases read it
/// (lowercased, as click ids compare): postbacks for different clicks
/// cannot affect each other's decision, so a replay may decide them
/// together. `None` when that cannot be told without deciding it.
pub fn order_key(app: &AppState, inbound: &Inbound) -> Option<String> {
    let pairs = collect_fields(inbound.query.as_deref(), &inbound.headers, &inbound.body).ok()?;
    let cfg = app.cache.get();
    let now = inbound.replay_of.unwrap_or_else(now_ms);
    let adv = match inbound.channel {
        Channel::Browser => crate::browser::keyed_advertiser(&cfg, &pairs).ok()?,
        Channel::S2s => named_advertiser(&cfg, inbound, &pairs, now).ok()?.0,
    };
    find(&pairs, &adv.alias_map, PostbackField::ClickId).map(str::to_ascii_lowercase)
}

/// The advertiser a postback names — by its token (in the path or a
/// field, and not expired at `now`), else by `adv` (to be proven by a
/// signature) — and whether it came with a token.
fn named_advertiser<'c>(
    cfg: &'c Config,
    inbound: &Inbound,
    pairs: &[(String, String)],
    now: i64,
) -> Result<(&'c Advertiser, bool), Refusal> {
    let token = inbound
        .path_token
        .as_deref()
        .filter(|t| !t.is_empty())
        .or_else(|| find_token(pairs));
    let adv_field = pairs
        .iter()
        .find(|(k, _)| k == "adv")
        .map(|(_, v)| v.as_str());
    let adv = match (token, adv_field) {
        (Some(token), _) => cfg
            .advertiser_by_token
            .get(&sha256_hex(token))
            .filter(|(_, exp)| exp.is_none_or(|e| now < e))
            .and_then(|(id, _)| cfg.advertisers.get(id))
            .ok_or_else(|| Refusal::new(ErrorCode::InvalidToken, "token is not a valid postback token"))?,
        (None, Some(adv)) => cfg
            .advertisers
            .get(adv)
            .ok_or_else(|| Refusal::new(ErrorCode::InvalidToken, format!("adv `{adv}` is not an advertiser id")))?,
        (None, None) => {
            return Err(Refusal::new(
                ErrorCode::InvalidToken,
                "token is missing: send it as ?token= or in the path /postback/{token}, or sign with adv, ts and sig",
            ))
        }
    };
    Ok((adv, token.is_some()))
}

/// Query pairs, then body pairs (form or JSON object of scalars).
pub(crate) fn collect_fields(
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<(String, String)>, Refusal> {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    if body.len() > MAX_BODY {
        return Err(Refusal::new(
            ErrorCode::PayloadTooLarge,
            format!("body: larger than the limit of {MAX_BODY} bytes (64 KiB) for postbacks"),
        ));
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("json"));
    if is_json {
        crate::api::check_json_depth(body)?;
    }
    if is_json && !body.is_empty() {
        // Each value as written: a number read as a `Value` passes through a
        // float, and `"amount": 68719476736.09272` would be recorded as
        // 68719476736.09271.
        let map: BTreeMap<String, &RawValue> = serde_json::from_slice(body).map_err(|_| {
            match serde_json::from_slice::<Value>(body) {
                Err(e) => Refusal::new(ErrorCode::InvalidJson, format!("body: {e}")),
                Ok(_) => Refusal::new(
                    ErrorCode::InvalidJson,
                    "body: a JSON object of fields is expected",
                ),
            }
        })?;
        for (k, v) in map {
            let raw = v.get();
            let s = match raw.as_bytes().first() {
                Some(b'"') => serde_json::from_str::<String>(raw)
                    .map_err(|e| Refusal::new(ErrorCode::InvalidJson, format!("body: {e}")))?,
                Some(b'n') => continue,
                Some(b'{' | b'[') => {
                    return Err(Refusal::new(
                        ErrorCode::InvalidField,
                        format!("{k}: nested objects and arrays are not postback fields"),
                    ))
                }
                // a number, true or false: its text
                _ => raw.to_string(),
            };
            pairs.push((k, s));
        }
    } else if !body.is_empty() {
        pairs.extend(form_urlencoded::parse(body).into_owned());
    }
    if pairs.len() > MAX_FIELDS {
        return Err(Refusal::new(
            ErrorCode::TooManyParams,
            format!(
                "{} received, at most {MAX_FIELDS} are read",
                count(pairs.len() as u64, "field")
            ),
        ));
    }
    Ok(pairs)
}

/// The affiliate's template for this conversion's offer and event, with
/// the macro values known before the store decides (the rest — status,
/// payout — are filled in the transaction).
pub fn notify_for(cfg: &Config, conv: &Conversion) -> Option<Notify> {
    let aff = cfg.affiliates.get(&conv.affiliate_id)?;
    let templates = aff.templates();
    let template = outbound::choose(&templates, &conv.offer_id, &conv.event)?.clone();
    let d = &conv.dims;
    let mut values = BTreeMap::new();
    values.insert("click_id", conv.click_id.encode());
    values.insert("offer_id", conv.offer_id.clone());
    values.insert("link_id", conv.link_id.clone());
    values.insert("affiliate_id", conv.affiliate_id.clone());
    values.insert("source", d.source.clone().unwrap_or_default());
    for (name, v) in [
        ("sub1", &d.sub1),
        ("sub2", &d.sub2),
        ("sub3", &d.sub3),
        ("sub4", &d.sub4),
        ("sub5", &d.sub5),
    ] {
        values.insert(name, v.clone().unwrap_or_default());
    }
    Some(Notify {
        delivery_id: time_ordered_id("dl", conv.conv_ms),
        template,
        values,
    })
}

/// What is known about a postback so far, for its log entry.
#[derive(Default)]
pub(crate) struct Context {
    pub(crate) advertiser_id: Option<String>,
    offer_id: Option<String>,
    click_raw: Option<String>,
    /// As received, so the log can be searched by it.
    txid: Option<String>,
    hint: Option<&'static str>,
    pub(crate) retry_after: Option<u64>,
    /// `advertiser:webhook-id` of a verified Standard Webhooks message.
    webhook_key: Option<String>,
    /// The click waits in the fallback journal, so the postback must too.
    click_in_journal: bool,
}

pub async fn process(app: &AppState, inbound: Inbound) -> Answer {
    let now = inbound.replay_of.unwrap_or_else(now_ms);
    let mut ctx = Context::default();
    let pairs = collect_fields(inbound.query.as_deref(), &inbound.headers, &inbound.body);
    let mut fields = match &pairs {
        Ok(p) => mask_secrets(p),
        Err(_) => Vec::new(),
    };
    // personal data never reaches the log
    let pii_removed = pii::scrub(&mut fields);
    let mut log = PostbackLogEntry {
        ts_ms: now,
        source_ip: inbound.ip.to_string(),
        method: if inbound.test_advertiser.is_some() {
            "TEST".into()
        } else {
            inbound.method.clone()
        },
        fields,
        result: "rejected".into(),
        pii_removed,
        replayed: inbound.replay_of.is_some(),
        channel: inbound.channel,
        ..Default::default()
    };
    let evaluated = match pairs {
        Ok(p) => evaluate(app, &inbound, &p, &mut ctx, now).await,
        Err(r) => Err(r),
    };
    log.advertiser_id = ctx.advertiser_id.take();
    log.offer_id = ctx.offer_id.take();
    log.click_id = ctx.click_raw.take();
    log.txid = ctx.txid.take();
    log.hint = ctx.hint.map(str::to_string);
    let Some(replay_key) = ctx.webhook_key.take() else {
        return decide_and_record(app, &inbound, evaluated, log, &ctx, now).await;
    };
    // A signed Standard Webhooks message seen before: answer as the first
    // time, record nothing new.
    if let Some(first) = app.webhooks_seen.first_answer(&replay_key, now).await {
        log.result = "duplicate".into();
        log.http_status = first.status.as_u16();
        log.message = "webhook-id already processed; answered as the first time".into();
        app.metrics.postback("duplicate", Some("webhook_replay"));
        write_log(app, &inbound, log).await;
        return first;
    }
    let answer = decide_and_record(app, &inbound, evaluated, log, &ctx, now).await;
    // a queued message is decided (and remembered) when it is replayed
    if answer.status != StatusCode::ACCEPTED && answer.status.is_success()
        || answer.status.is_client_error() && answer.status != StatusCode::TOO_MANY_REQUESTS
    {
        return app.webhooks_seen.settle(replay_key, answer, now).await;
    }
    answer
}

async fn decide_and_record(
    app: &AppState,
    inbound: &Inbound,
    evaluated: Result<ConversionAttempt, Refusal>,
    log: PostbackLogEntry,
    ctx: &Context,
    now: i64,
) -> Answer {
    // the journal keeps what cannot be decided or stored now: the click
    // could not be read, or waits in the journal itself, or earlier
    // postbacks wait there (so this one keeps its place behind them)
    let fallback = app.fallback.as_ref().filter(|_| inbound.may_queue());
    let attempt = match evaluated {
        Err(r) if r.code == ErrorCode::StoreUnavailable && fallback.is_some() => {
            return queue(app, inbound, now).await;
        }
        Ok(_) if fallback.is_some_and(|f| ctx.click_in_journal || f.journal.holds_postbacks()) => {
            return queue(app, inbound, now).await;
        }
        Ok(mut attempt) => {
            attempt.log = log;
            attempt
        }
        Err(refusal) => {
            let mut a = refuse(app, inbound, log, refusal).await;
            // a rate limit's wait, else the refusal's own
            a.retry_after = ctx.retry_after.or(a.retry_after);
            return a;
        }
    };
    let attempt_notifies = attempt.notify.is_some();
    let capped_offer = (!attempt.caps.is_empty()).then(|| {
        (
            attempt.conversion.offer_id.clone(),
            attempt.conversion.affiliate_id.clone(),
        )
    });
    match app
        .postback_writer
        .write(PostbackWrite::Conversion(Box::new(attempt)))
        .await
    {
        Ok(Some((decision, conversion))) => {
            if attempt_notifies {
                app.dispatcher.wake.notify_one();
            }
            if let Some((offer_id, affiliate_id)) = capped_offer {
                if let Some(entry) = app.cache.get().offers.get(&offer_id) {
                    if let Err(e) = app
                        .caps
                        .refresh(app.store.as_ref(), &entry.offer, &[affiliate_id], now_ms())
                        .await
                    {
                        tracing::warn!(error = %e, "cap state not refreshed");
                    }
                }
            }
            answer(app, decision, conversion)
        }
        Ok(None) => unreachable!("a conversion write answers with its decision"),
        Err(WriteError::Store(e)) if fallback.is_some() => {
            if let Some(f) = fallback {
                f.journal.store_down(&e);
            }
            queue(app, inbound, now).await
        }
        Err(e) => {
            tracing::error!(error = %e, "postback not recorded");
            app.metrics
                .postback("rejected", Some(ErrorCode::StoreUnavailable.as_str()));
            ApiError::new(
                ErrorCode::StoreUnavailable,
                "the conversion could not be stored; retry shortly",
            )
            .into()
        }
    }
}

/// Keeps the postback in the fallback journal, to be decided when the
/// store is back: `202 {"result": "queued"}`. When the journal cannot be
/// written either, nothing was kept: 503 with `Retry-After`.
async fn queue(app: &AppState, inbound: &Inbound, now: i64) -> Answer {
    let Some(f) = &app.fallback else {
        unreachable!("queued only with a fallback journal")
    };
    match f
        .keep(Entry::Postback(QueuedPostback::of(inbound, now)))
        .await
    {
        Ok(()) => {
            app.metrics.postback("queued", None);
            Answer {
                status: StatusCode::ACCEPTED,
                body: json!({
                    "result": "queued",
                    "message": "the store is away: the postback is kept in this node's fallback journal and will be decided when the store is back (its outcome is in the postback log, marked replayed)"
                }),
                retry_after: None,
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "POSTBACK NOT KEPT: neither the store nor the fallback journal takes writes");
            app.metrics
                .postback("rejected", Some(ErrorCode::StoreUnavailable.as_str()));
            ApiError::new(
                ErrorCode::StoreUnavailable,
                "neither the store nor the fallback journal takes writes; retry shortly",
            )
            .into()
        }
    }
}

/// A log entry for a postback that records no conversion, through the
/// same group-commit writer as conversions; while the store is away, into
/// the fallback journal. False when it was kept nowhere.
async fn write_log(app: &AppState, inbound: &Inbound, log: PostbackLogEntry) -> bool {
    let fallback = app
        .fallback
        .as_ref()
        .filter(|_| inbound.replay_of.is_none());
    if let Some(f) = fallback.filter(|f| !f.journal.store_up()) {
        return f.keep(Entry::Log(log)).await.is_ok();
    }
    match app
        .postback_writer
        .write(PostbackWrite::Log(Box::new(log.clone())))
        .await
    {
        Ok(_) => true,
        Err(WriteError::Store(e)) if fallback.is_some() => {
            let f = fallback.expect("checked");
            f.journal.store_down(&e);
            f.keep(Entry::Log(log)).await.is_ok()
        }
        Err(e) => {
            tracing::error!(error = %e, "postback log entry not written");
            false
        }
    }
}

/// A received click id as a `ClickId`: an empty one is `missing_click_id`,
/// any other that does not decode (cut short, altered, lengthened) is
/// `corrupted_click_id` — never `unknown_click_id`, which means a well-formed
/// id that was never issued. Bulk uploads decide the same way.
pub fn decode_click_id(raw: &str) -> Result<ClickId, Refusal> {
    ClickId::parse(raw).map_err(|e| {
        let code = match e {
            ClickIdError::Empty => ErrorCode::MissingClickId,
            _ => ErrorCode::CorruptedClickId,
        };
        Refusal::new(code, format!("click_id `{raw}`: {e}"))
    })
}

/// A well-formed click id this tracker has no click for.
pub fn unknown_click_id(raw: &str) -> Refusal {
    Refusal::new(
        ErrorCode::UnknownClickId,
        format!("click_id `{raw}` was never issued here"),
    )
}

async fn refuse(
    app: &AppState,
    inbound: &Inbound,
    mut log: PostbackLogEntry,
    r: Refusal,
) -> Answer {
    log.error = Some(r.code.as_str().to_string());
    log.message = r.message.clone();
    log.http_status = r.code.http_status();
    let logged = write_log(app, inbound, log.clone()).await;
    if !logged && inbound.replay_of.is_some() {
        // a replayed refusal stays in the journal until its log entry is
        // written: every postback lands in the log
        return ApiError::new(
            ErrorCode::StoreUnavailable,
            "the log entry could not be written",
        )
        .into();
    }
    app.metrics.postback("rejected", Some(r.code.as_str()));
    ApiError::from(r).with_hint(log.hint.as_deref()).into()
}

/// Finds the advertiser and checks that the postback really comes from it:
/// token or signature, HTTPS, IP allowlist, rate limit.
async fn authenticate<'c>(
    app: &AppState,
    cfg: &'c Config,
    inbound: &Inbound,
    pairs: &[(String, String)],
    ctx: &mut Context,
    now: i64,
) -> Result<&'c Advertiser, Refusal> {
    if let Some(id) = inbound
        .test_advertiser
        .as_ref()
        .or(inbound.authenticated_advertiser.as_ref())
    {
        return cfg
            .advertisers
            .get(id)
            .ok_or_else(|| Refusal::new(ErrorCode::NotFound, "advertiser not found"));
    }
    if inbound.channel == Channel::Browser {
        let adv = crate::browser::authenticate(app, cfg, inbound, pairs, ctx, now).await?;
        advertiser_limit(app, cfg, inbound, adv, ctx, now).await?;
        return Ok(adv);
    }
    // a replay passed the limits when it was received
    let replay = inbound.replay_of.is_some();
    if let Err(secs) = match replay {
        true => Ok(()),
        false => {
            app.postback_ip_limiter
                .check(inbound.ip, app.limits.postback_ip, now)
                .await
        }
    } {
        ctx.retry_after = Some(secs);
        return Err(Refusal::new(
            ErrorCode::RateLimited,
            format!("too many postbacks from {}; retry in {secs} s", inbound.ip),
        ));
    }
    let (adv, has_token) = named_advertiser(cfg, inbound, pairs, now)?;
    ctx.advertiser_id = Some(adv.id.clone());
    let auth = cfg
        .advertiser_auth
        .get(&adv.id)
        .ok_or_else(|| Refusal::new(ErrorCode::InvalidToken, "advertiser has no credentials"))?;
    let secrets = auth.signing_secrets(now);
    let header = |name: &str| inbound.headers.get(name).and_then(|v| v.to_str().ok());
    let now_s = now / 1000;
    if let (Some(id), Some(ts), Some(sig)) = (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
    ) {
        verify_webhook(&secrets, id, ts, sig, &inbound.body, now_s)?;
        ctx.webhook_key = Some(format!("{}:{id}", adv.id));
    } else if pairs.iter().any(|(k, _)| k == "sig") {
        verify_query_signature(&secrets, pairs, now_s)?;
    } else if adv.require_signature || !has_token {
        return Err(Refusal::new(
            ErrorCode::SignatureRequired,
            "this advertiser signs its postbacks: add ts and sig (or Standard Webhooks headers)",
        ));
    }
    if adv.require_https && !inbound.https {
        return Err(Refusal::new(
            ErrorCode::HttpsRequired,
            "this advertiser's postbacks must arrive over HTTPS",
        ));
    }
    if !auth.allowlist.is_empty() && !any_contains(&auth.allowlist, inbound.ip) {
        return Err(Refusal::new(
            ErrorCode::IpNotAllowed,
            format!("{} is not on the advertiser's IP allowlist", inbound.ip),
        ));
    }
    advertiser_limit(app, cfg, inbound, adv, ctx, now).await?;
    Ok(adv)
}

/// The advertiser's own rate limit (its `rate_limit`, else the server's),
/// which its postbacks and browser conversions share.
async fn advertiser_limit(
    app: &AppState,
    cfg: &Config,
    inbound: &Inbound,
    adv: &Advertiser,
    ctx: &mut Context,
    now: i64,
) -> Result<(), Refusal> {
    // a replay passed the limits when it was received
    if inbound.replay_of.is_some() {
        return Ok(());
    }
    let limit = cfg
        .advertiser_auth
        .get(&adv.id)
        .and_then(|a| a.rate_limit)
        .unwrap_or(app.limits.postback_advertiser);
    if let Err(secs) = app
        .postback_adv_limiter
        .check(adv.id.clone(), limit, now)
        .await
    {
        ctx.retry_after = Some(secs);
        return Err(Refusal::new(
            ErrorCode::RateLimited,
            format!("too many postbacks for this advertiser; retry in {secs} s"),
        ));
    }
    Ok(())
}

async fn evaluate(
    app: &AppState,
    inbound: &Inbound,
    pairs: &[(String, String)],
    ctx: &mut Context,
    now: i64,
) -> Result<ConversionAttempt, Refusal> {
    // 1. who is calling
    let cfg = app.cache.get();
    let adv = authenticate(app, &cfg, inbound, pairs, ctx, now).await?;

    // 2. fields well-formed
    let mut fields = match parse_fields(pairs, &adv.alias_map, &adv.status_map) {
        Ok(f) => f,
        Err(e) => {
            // keep the click id for the log even when another field is bad
            ctx.click_raw = find(pairs, &adv.alias_map, PostbackField::ClickId).map(str::to_string);
            ctx.txid = find(pairs, &adv.alias_map, PostbackField::Txid).map(str::to_string);
            return Err(e);
        }
    };
    ctx.click_raw = Some(fields.click_id.clone());
    ctx.txid = fields.txid.clone();
    ctx.hint = click_id_hint(&fields.click_id);
    // a visitor's browser cannot approve: the advertiser's server does
    if inbound.channel == Channel::Browser && adv.browser.browser_pending {
        fields.status = Some(Status::Pending);
    }

    // 3. click id decodes
    let click_id = decode_click_id(&fields.click_id)?;

    // 4. click known
    let mut known = app.recent_clicks.get(click_id, now);
    if known.is_none() {
        known = app
            .fallback
            .as_ref()
            .and_then(|f| f.journal.pending_click(click_id));
        ctx.click_in_journal = known.is_some();
    }
    let click = match known {
        Some(c) => c,
        None => {
            let stored = app
                .store
                .click(click_id, &Scope::All)
                .await
                .map_err(|_| {
                    Refusal::new(
                        ErrorCode::StoreUnavailable,
                        "clicks cannot be read right now; retry shortly",
                    )
                })?
                .ok_or_else(|| unknown_click_id(&fields.click_id))?;
            app.recent_clicks.put(stored, now)
        }
    };
    ctx.offer_id = Some(click.offer_id.clone());
    let entry = cfg.offers.get(&click.offer_id).ok_or_else(|| {
        Refusal::new(
            ErrorCode::UnknownClickId,
            "the click's offer no longer exists",
        )
    })?;
    let offer = &entry.offer;
    if offer.advertiser_id != adv.id {
        return Err(Refusal::new(
            ErrorCode::WrongAdvertiser,
            "click_id belongs to an offer of another advertiser",
        ));
    }
    if inbound.test_advertiser.is_some() && !click.test {
        return Err(Refusal::new(
            ErrorCode::Forbidden,
            "test postbacks only attribute test clicks",
        ));
    }

    // 5. event on the offer
    let event = offer.event(fields.event.as_deref()).ok_or_else(|| {
        Refusal::new(
            ErrorCode::UnknownEvent,
            format!(
                "event `{}` is not on offer {}; its events are {}",
                fields.event.as_deref().unwrap_or(""),
                offer.id,
                offer
                    .events
                    .iter()
                    .map(|e| e.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })?;

    // 6. attribution window, and not implausibly soon
    let window_ms = offer.attribution_window_days as i64 * DAY_MS;
    if now - click.ts_ms > window_ms {
        return Err(Refusal::new(
            ErrorCode::ClickExpired,
            format!(
                "click_id is {} old; offer {} attributes conversions for {}",
                count(((now - click.ts_ms) / DAY_MS) as u64, "day"),
                offer.id,
                count(offer.attribution_window_days.into(), "day")
            ),
        ));
    }
    let too_fast = now - click.ts_ms < offer.min_conversion_seconds as i64 * 1000;
    if too_fast && offer.reject_too_fast {
        return Err(Refusal::new(
            ErrorCode::TooFast,
            format!(
                "the conversion came {} ms after its click; offer {} expects at least {} s",
                now - click.ts_ms,
                offer.id,
                offer.min_conversion_seconds
            ),
        ));
    }
    if (event.repeatable || event.reverses) && fields.txid.is_none() {
        return Err(Refusal::new(
            ErrorCode::MissingTxid,
            format!(
                "txid is required: event `{}` is repeatable, so each one needs its own order id",
                event.name
            ),
        ));
    }

    // 7. commission rules and bounds; a failure only blocks a new conversion
    let currency = fields.currency.unwrap_or(offer.currency);
    let priced = event
        .payout
        .compute(
            offer.currency,
            fields.amount,
            fields.payout,
            currency,
            "payout",
        )
        .and_then(|payout| {
            event.check_bounds(fields.amount, payout)?;
            let revenue = match &event.revenue {
                Some(rule) => rule.compute(
                    offer.currency,
                    fields.amount,
                    fields.payout,
                    currency,
                    "revenue",
                )?,
                None => Decimal::ZERO,
            };
            Ok((payout, revenue))
        });
    let (payout, revenue, insertable) = match priced {
        Ok((p, r)) => (p, r, Ok(())),
        // a refund's amounts come from its original, in the store
        Err(_) if event.reverses => (Decimal::ZERO, Decimal::ZERO, Ok(())),
        Err(e) => (Decimal::ZERO, Decimal::ZERO, Err(e)),
    };
    // a hold keeps a conversion pending unless the advertiser said otherwise
    let held = offer.hold_hours > 0 && fields.status.is_none() && !event.reverses;
    let status = if held {
        Status::Pending
    } else {
        fields.status.unwrap_or(event.default_status)
    };
    let conversion = Conversion {
        id: time_ordered_id("cv", now),
        click_id,
        offer_id: offer.id.clone(),
        advertiser_id: adv.id.clone(),
        affiliate_id: click.affiliate_id.clone(),
        link_id: click.link_id.clone(),
        event: event.name.clone(),
        txid: fields.txid.clone(),
        status,
        status_received: fields.status_received.clone(),
        amount: fields.amount,
        currency,
        payout,
        revenue,
        payout_currency: offer.currency,
        click_ms: click.ts_ms,
        conv_ms: now,
        updated_ms: now,
        delay_seconds: (now - click.ts_ms) / 1000,
        too_fast,
        test: click.test,
        capped: false,
        parent_id: None,
        payout_base: None,
        revenue_base: None,
        fx_missing: false,
        hold_until_ms: held.then(|| now + offer.hold_hours as i64 * 3_600_000),
        duplicates: 0,
        channel: inbound.channel,
        dims: ClickDims::of(&click),
    };
    let notify = notify_for(&cfg, &conversion);
    Ok(ConversionAttempt {
        notify,
        base_currency: app.base_currency,
        caps: crate::caps::checks(offer, &click.affiliate_id, now),
        refuse_over_cap: offer.refuse_over_cap,
        reverses: event.reverses,
        original_txid: fields.original_txid.clone(),
        incoming: Incoming {
            click_id: click_id.as_u128(),
            txid: fields.txid,
            status: fields.status,
            amount: fields.amount,
            currency,
        },
        conversion,
        repeatable: event.repeatable || event.reverses,
        insertable,
        log: PostbackLogEntry::default(),
    })
}

fn answer(app: &AppState, decision: Decision, conversion: Option<Conversion>) -> Answer {
    let (word, code) = decision.answer();
    app.metrics.postback(word, code.map(|c| c.as_str()));
    let mut body = match code {
        Some(code) => ApiError::new(code, decision.message()).body(),
        None => json!({"result": word, "message": decision.message()}),
    };
    if let Some(c) = &conversion {
        body["conversion_id"] = json!(c.id);
        body["status"] = json!(c.status);
        if matches!(decision, Decision::Insert) {
            body["payout"] = json!(c.payout.to_string());
            body["currency"] = json!(c.payout_currency.code());
            if c.too_fast {
                body["too_fast"] = json!(true);
            }
        }
        if c.test {
            body["test"] = json!(true);
        }
    }
    if let Decision::Update { from, .. } = decision {
        body["previous_status"] = json!(from);
    }
    let status = code
        .map(|c| StatusCode::from_u16(c.http_status()).unwrap_or(StatusCode::BAD_REQUEST))
        .unwrap_or(StatusCode::OK);
    Answer {
        status,
        body,
        retry_after: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn click(n: u128) -> Click {
        Click {
            id: ClickId::new(1_764_000_000_000, n),
            ts_ms: 1_764_000_000_000,
            link_id: "lnk_1".into(),
            offer_id: "off_1".into(),
            affiliate_id: "aff_1".into(),
            sub1: Some(format!("s{n}")),
            sub2: None,
            sub3: None,
            sub4: None,
            sub5: None,
            source: None,
            extra: Default::default(),
            params_cut: 0,
            ip: "192.0.2.1".into(),
            country: String::new(),
            user_agent: "agent".into(),
            device: "desktop".into(),
            os: "other".into(),
            browser: "other".into(),
            referer_host: String::new(),
            unique: true,
            bot: false,
            suspicious: false,
            test: false,
            blocked: false,
            rule: None,
            target: None,
            flow_offer: false,
        }
    }

    #[test]
    fn recent_clicks_answer_for_an_hour_and_stay_bounded() {
        let recent = RecentClicks::default();
        let now = 1_764_000_000_000;
        assert!(recent.get(click(1).id, now).is_none());
        recent.put(click(1), now);
        assert_eq!(*recent.get(click(1).id, now + 1).unwrap(), click(1));
        assert!(recent.get(click(2).id, now + 1).is_none());
        let hour = RecentClicks::TTL_MS;
        assert!(recent.get(click(1).id, now + hour - 1).is_some());
        assert!(recent.get(click(1).id, now + hour).is_none());
        for n in 0..RecentClicks::MAX as u128 + 10 {
            recent.put(click(n), now);
        }
        assert!(recent.seen.lock().unwrap().len() <= RecentClicks::MAX);
        let last = RecentClicks::MAX as u128 + 9;
        assert_eq!(*recent.get(click(last).id, now).unwrap(), click(last));
    }
}
