//! `GET|POST /postback` and `/postback/{token}`: the advertiser's server
//! reports a conversion.
//!
//! The order of checks is the contract's: token first (nothing else is
//! looked up for an unauthenticated caller), then fields, click id, click,
//! advertiser ownership, event, attribution window, commission rule. The
//! decision against recorded conversions (duplicate, update, conflict) and
//! the write happen in one store transaction. Every postback is logged.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use clickledger_domain::codes::Refusal;
use clickledger_domain::hints::click_id_hint;
use clickledger_domain::postback::{find_token, mask_secrets, parse_fields};
use clickledger_domain::status::{Decision, Incoming};
use clickledger_domain::{ClickId, ClickIdError, ErrorCode};
use clickledger_store::{Conversion, ConversionAttempt, PostbackLogEntry};
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::util::{now_ms, random_id, sha256_hex};
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
    handle(app, peer, method, query, headers, body, None).await
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
    handle(app, peer, method, query, headers, body, Some(token)).await
}

/// Query pairs, then body pairs (form or JSON object of scalars).
fn collect_fields(
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<(String, String)>, Refusal> {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    if body.len() > MAX_BODY {
        return Err(Refusal::new(
            ErrorCode::InvalidField,
            format!("body is over {MAX_BODY} bytes"),
        ));
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("json"));
    if is_json && !body.is_empty() {
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| Refusal::new(ErrorCode::InvalidJson, format!("body: {e}")))?;
        let Value::Object(map) = v else {
            return Err(Refusal::new(
                ErrorCode::InvalidJson,
                "body: a JSON object of fields is expected",
            ));
        };
        for (k, v) in map {
            let s = match v {
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Null => continue,
                _ => {
                    return Err(Refusal::new(
                        ErrorCode::InvalidField,
                        format!("{k}: nested objects and arrays are not postback fields"),
                    ))
                }
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
                "{} fields received, at most {MAX_FIELDS} are read",
                pairs.len()
            ),
        ));
    }
    Ok(pairs)
}

/// What is known about a postback so far, for its log entry.
#[derive(Default)]
struct Context {
    advertiser_id: Option<String>,
    offer_id: Option<String>,
    click_raw: Option<String>,
    hint: Option<&'static str>,
}

async fn handle(
    app: Arc<AppState>,
    peer: SocketAddr,
    method: Method,
    query: Option<String>,
    headers: HeaderMap,
    body: Bytes,
    path_token: Option<String>,
) -> Response {
    let now = now_ms();
    let mut ctx = Context::default();
    let pairs = collect_fields(query.as_deref(), &headers, &body);
    let logged_fields = match &pairs {
        Ok(p) => mask_secrets(p),
        Err(_) => Vec::new(),
    };
    let mut log = PostbackLogEntry {
        id: 0,
        ts_ms: now,
        source_ip: peer.ip().to_string(),
        method: method.to_string(),
        advertiser_id: None,
        offer_id: None,
        click_id: None,
        fields: logged_fields,
        result: "rejected".into(),
        error: None,
        message: String::new(),
        hint: None,
        conversion_id: None,
        http_status: 0,
    };
    let evaluated = match pairs {
        Ok(p) => evaluate(&app, &p, path_token, &mut ctx, now).await,
        Err(r) => Err(r),
    };
    log.advertiser_id = ctx.advertiser_id.take();
    log.offer_id = ctx.offer_id.take();
    log.click_id = ctx.click_raw.take();
    log.hint = ctx.hint.map(str::to_string);
    let attempt = match evaluated {
        Ok(mut attempt) => {
            attempt.log = log;
            attempt
        }
        Err(refusal) => return refuse(&app, log, refusal).await,
    };
    match app.store.record_conversion(attempt).await {
        Ok((decision, conversion)) => answer(&app, decision, conversion),
        Err(e) => {
            tracing::error!(error = %e, "postback not recorded");
            app.metrics
                .postback("rejected", Some(ErrorCode::StoreUnavailable.as_str()));
            crate::api::ApiError::new(
                ErrorCode::StoreUnavailable,
                "the conversion could not be stored; retry shortly",
            )
            .into_response()
        }
    }
}

async fn refuse(app: &AppState, mut log: PostbackLogEntry, r: Refusal) -> Response {
    log.error = Some(r.code.as_str().to_string());
    log.message = r.message.clone();
    log.http_status = r.code.http_status();
    app.metrics.postback("rejected", Some(r.code.as_str()));
    if let Err(e) = app.store.log_postback(&log).await {
        tracing::error!(error = %e, "postback log entry not written");
    }
    let mut body = json!({"error": r.code.as_str(), "message": r.message});
    if let Some(h) = &log.hint {
        body["hint"] = json!(h);
    }
    let status = StatusCode::from_u16(r.code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    (status, Json(body)).into_response()
}

async fn evaluate(
    app: &AppState,
    pairs: &[(String, String)],
    path_token: Option<String>,
    ctx: &mut Context,
    now: i64,
) -> Result<ConversionAttempt, Refusal> {
    // 1. who is calling
    let token = path_token
        .as_deref()
        .filter(|t| !t.is_empty())
        .or_else(|| find_token(pairs))
        .ok_or_else(|| {
            Refusal::new(
                ErrorCode::InvalidToken,
                "token is missing: send it as ?token= or in the path /postback/{token}",
            )
        })?;
    let cfg = app.cache.get();
    let adv = cfg
        .advertiser_by_token
        .get(&sha256_hex(token))
        .and_then(|id| cfg.advertisers.get(id))
        .ok_or_else(|| {
            Refusal::new(
                ErrorCode::InvalidToken,
                "token is not a valid postback token",
            )
        })?;
    ctx.advertiser_id = Some(adv.id.clone());

    // 2. fields well-formed
    let fields = match parse_fields(pairs, &adv.alias_map, &adv.status_map) {
        Ok(f) => f,
        Err(e) => {
            // keep the click id for the log even when another field is bad
            ctx.click_raw = clickledger_domain::postback::find(
                pairs,
                &adv.alias_map,
                clickledger_domain::postback::Field::ClickId,
            )
            .map(str::to_string);
            return Err(e);
        }
    };
    ctx.click_raw = Some(fields.click_id.clone());
    ctx.hint = click_id_hint(&fields.click_id);

    // 3. click id decodes
    let click_id = ClickId::parse(&fields.click_id).map_err(|e| {
        let code = match e {
            ClickIdError::Empty => ErrorCode::MissingClickId,
            _ => ErrorCode::CorruptedClickId,
        };
        Refusal::new(code, format!("click_id `{}`: {e}", fields.click_id))
    })?;

    // 4. click known
    let click = app
        .store
        .click(click_id)
        .await
        .map_err(|_| {
            Refusal::new(
                ErrorCode::StoreUnavailable,
                "clicks cannot be read right now; retry shortly",
            )
        })?
        .ok_or_else(|| {
            Refusal::new(
                ErrorCode::UnknownClickId,
                format!("click_id `{}` was never issued here", fields.click_id),
            )
        })?;
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

    // 6. attribution window
    let window_ms = offer.attribution_window_days as i64 * DAY_MS;
    if now - click.ts_ms > window_ms {
        return Err(Refusal::new(
            ErrorCode::ClickExpired,
            format!(
                "click_id is {} days old; offer {} attributes conversions for {} days",
                (now - click.ts_ms) / DAY_MS,
                offer.id,
                offer.attribution_window_days
            ),
        ));
    }
    if event.repeatable && fields.txid.is_none() {
        return Err(Refusal::new(
            ErrorCode::MissingTxid,
            format!(
                "txid is required: event `{}` is repeatable, so each one needs its own order id",
                event.name
            ),
        ));
    }

    // 7. commission rules; a failure only blocks inserting a new conversion
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
        Err(e) => (Decimal::ZERO, Decimal::ZERO, Err(e)),
    };
    let conversion = Conversion {
        id: random_id("cv", 16),
        click_id,
        offer_id: offer.id.clone(),
        advertiser_id: adv.id.clone(),
        affiliate_id: click.affiliate_id.clone(),
        link_id: click.link_id.clone(),
        event: event.name.clone(),
        txid: fields.txid.clone(),
        status: fields.status.unwrap_or(event.default_status),
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
    };
    Ok(ConversionAttempt {
        incoming: Incoming {
            click_id: click_id.as_u128(),
            txid: fields.txid,
            status: fields.status,
            amount: fields.amount,
            currency,
        },
        conversion,
        repeatable: event.repeatable,
        insertable,
        log: PostbackLogEntry {
            id: 0,
            ts_ms: now,
            source_ip: String::new(),
            method: String::new(),
            advertiser_id: None,
            offer_id: None,
            click_id: None,
            fields: Vec::new(),
            result: String::new(),
            error: None,
            message: String::new(),
            hint: None,
            conversion_id: None,
            http_status: 0,
        },
    })
}

fn answer(app: &AppState, decision: Decision, conversion: Option<Conversion>) -> Response {
    let (word, code) = decision.answer();
    app.metrics.postback(word, code.map(|c| c.as_str()));
    let conversion_id = conversion.as_ref().map(|c| c.id.clone());
    let mut body = match code {
        Some(code) => json!({"error": code.as_str(), "message": decision.message()}),
        None => json!({"result": word, "message": decision.message()}),
    };
    if let Some(id) = conversion_id {
        body["conversion_id"] = json!(id);
    }
    if let Some(c) = &conversion {
        body["status"] = json!(c.status);
        if matches!(decision, Decision::Insert) {
            body["payout"] = json!(c.payout.to_string());
            body["currency"] = json!(c.payout_currency.code());
        }
    }
    if let Decision::Update { from, .. } = decision {
        body["previous_status"] = json!(from);
    }
    let status = code
        .map(|c| StatusCode::from_u16(c.http_status()).unwrap_or(StatusCode::BAD_REQUEST))
        .unwrap_or(StatusCode::OK);
    (status, Json(body)).into_response()
}
