//! Read endpoints over recorded data: clicks, conversions, the postback log
//! (with what was expected beside what was received), the audit log and
//! postback template versions. Partner keys are scoped inside the store
//! queries.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use clickledger_domain::postback::Field;
use clickledger_domain::{ClickId, ErrorCode};
use clickledger_store::{
    Advertiser, AuditFilter, Channel, ClickFilter, ConversionFilter, PostbackFilter,
    PostbackLogEntry, Scope,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::admin::{items, ok, postback_url_template, ApiResult};
use crate::api::{ApiError, Params, Path};
use crate::auth::{Admin, Caller};
use crate::filters::{
    Country, DeliveryStateChoice, ErrorChoice, Limit, OneOf, ResultChoice, StatusChoice,
};
use crate::report::parse_time_opt;
use crate::AppState;

pub async fn get_click(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Path(raw): Path<String>,
) -> ApiResult {
    let id = ClickId::parse(&raw).map_err(|e| {
        ApiError::new(
            ErrorCode::CorruptedClickId,
            format!("click_id `{raw}`: {e}"),
        )
    })?;
    let click = app
        .store
        .click(id, &caller.scope())
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::UnknownClickId, format!("no click `{raw}`")))?;
    ok(StatusCode::OK, click)
}

/// `GET /api/v1/clicks`: every filter must match.
#[derive(Deserialize, JsonSchema, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ClickQuery {
    /// Only clicks on this offer's links.
    offer_id: Option<String>,
    /// Only this affiliate's clicks.
    affiliate_id: Option<String>,
    /// Only clicks on this tracking link.
    link_id: Option<String>,
    /// Only clicks whose `source` is exactly this.
    source: Option<String>,
    /// Only clicks whose `sub1` is exactly this.
    sub1: Option<String>,
    /// Only clicks whose `sub2` is exactly this.
    sub2: Option<String>,
    /// Only clicks whose `sub3` is exactly this.
    sub3: Option<String>,
    /// Only clicks whose `sub4` is exactly this.
    sub4: Option<String>,
    /// Only clicks whose `sub5` is exactly this.
    sub5: Option<String>,
    /// Only clicks from this country (ISO 3166 alpha-2, e.g. `DE`).
    country: Option<Country>,
    /// Clicks at or after this time: a date (`2026-11-25`, UTC), an RFC 3339 time or unix milliseconds.
    from: Option<String>,
    /// Clicks before this time; a date includes that whole day.
    to: Option<String>,
    /// How many clicks to answer, newest first (1 to 10000; default 100).
    limit: Limit,
}

pub async fn list_clicks(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Params(q): Params<ClickQuery>,
) -> ApiResult {
    let filter = ClickFilter {
        scope: caller.scope(),
        offer_id: q.offer_id,
        affiliate_id: q.affiliate_id,
        link_id: q.link_id,
        source: q.source,
        subs: [q.sub1, q.sub2, q.sub3, q.sub4, q.sub5],
        country: q.country.map(|c| c.0),
        from_ms: parse_time_opt("from", q.from.as_deref())?,
        to_ms: parse_time_opt("to", q.to.as_deref())?,
        limit: q.limit.0,
    };
    items(app.store.clicks(&filter).await?)
}

/// `GET /api/v1/conversions`: every filter must match.
#[derive(Deserialize, JsonSchema, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ConversionQuery {
    /// Only conversions in this status.
    status: Option<OneOf<StatusChoice>>,
    /// Only conversions of this event (as named on the offer).
    event: Option<String>,
    /// Only conversions with this txid (the advertiser's order id).
    txid: Option<String>,
    /// Only conversions of this click.
    click_id: Option<String>,
    /// Only conversions on this offer.
    offer_id: Option<String>,
    /// Only conversions of this advertiser's offers.
    advertiser_id: Option<String>,
    /// Only this affiliate's conversions.
    affiliate_id: Option<String>,
    /// Only conversions through this tracking link.
    link_id: Option<String>,
    /// Only conversions whose click's `source` is exactly this.
    source: Option<String>,
    /// Only conversions that came by this channel: `s2s` (postbacks) or `browser` (t.js, /px).
    channel: Option<Channel>,
    /// Conversions at or after this time: a date (`2026-11-25`, UTC), an RFC 3339 time or unix milliseconds.
    from: Option<String>,
    /// Conversions before this time; a date includes that whole day.
    to: Option<String>,
    /// How many conversions to answer, newest first (1 to 10000; default 100).
    limit: Limit,
}

pub async fn list_conversions(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Params(q): Params<ConversionQuery>,
) -> ApiResult {
    let click_id = q
        .click_id
        .map(|c| {
            // a filter value that cannot be a click id is a bad request,
            // not an unknown click
            ClickId::parse(&c)
                .map_err(|e| ApiError::new(ErrorCode::InvalidField, format!("click_id: {e}")))
        })
        .transpose()?;
    let filter = ConversionFilter {
        scope: caller.scope(),
        id: None,
        click_id,
        offer_id: q.offer_id,
        affiliate_id: q.affiliate_id,
        advertiser_id: q.advertiser_id,
        link_id: q.link_id,
        status: q.status.map(|s| s.status()),
        event: q.event,
        txid: q.txid,
        source: q.source,
        channel: q.channel,
        from_ms: parse_time_opt("from", q.from.as_deref())?,
        to_ms: parse_time_opt("to", q.to.as_deref())?,
        limit: q.limit.0,
    };
    items(app.store.conversions(&filter).await?)
}

/// `GET /api/v1/postbacks`: every filter must match.
#[derive(Deserialize, JsonSchema, Default)]
#[serde(default, deny_unknown_fields)]
pub struct PostbackQuery {
    /// Only postbacks that ended so.
    result: Option<OneOf<ResultChoice>>,
    /// Only refused postbacks with this error code.
    error: Option<OneOf<ErrorChoice>>,
    /// Only this advertiser's postbacks.
    advertiser_id: Option<String>,
    /// Only postbacks for this offer's clicks.
    offer_id: Option<String>,
    /// Only postbacks that carried this click id, exactly as received.
    click_id: Option<String>,
    /// Only postbacks that carried this txid (under its name or an alias).
    txid: Option<String>,
    /// Only entries of this channel: `s2s` (postbacks) or `browser` (t.js, /px).
    channel: Option<Channel>,
    /// Postbacks at or after this time: a date (`2026-11-25`, UTC), an RFC 3339 time or unix milliseconds.
    from: Option<String>,
    /// Postbacks before this time; a date includes that whole day.
    to: Option<String>,
    /// How many entries to answer, newest first (1 to 10000; default 100).
    limit: Limit,
}

/// What the advertiser was expected to send, and how the entry differs.
pub fn explain(
    app: &AppState,
    entry: &PostbackLogEntry,
    adv: Option<&Advertiser>,
) -> (Value, Value) {
    let aliases = adv.map(|a| a.alias_map.clone()).unwrap_or_default();
    let mut accepted = Map::new();
    let mut name_to_field: BTreeMap<String, &str> = BTreeMap::new();
    for f in Field::ALL {
        let mut names = vec![f.name().to_string()];
        names.extend(
            aliases
                .iter()
                .filter(|(_, c)| c.as_str() == f.name())
                .map(|(t, _)| t.clone()),
        );
        names.extend(f.default_aliases().iter().map(|s| s.to_string()));
        for n in &names {
            name_to_field.entry(n.clone()).or_insert(f.name());
        }
        accepted.insert(f.name().to_string(), json!(names));
    }
    let browser = entry.channel == Channel::Browser;
    let expected = if browser {
        json!({
            "template": format!("{}/px?publishable_key=<publishable_key>&click_id=<click_id>&event=<event>&txid=<txid>&amount=<amount>", app.public_url),
            "accepted_names": accepted,
            "status_map": adv.map(|a| json!(a.status_map)).unwrap_or(Value::Null),
            "required": ["click_id", "publishable_key", "a page whose host is on pixel_hosts (Origin or Referer)"],
            "pixel_hosts": adv.map(|a| json!(a.browser.pixel_hosts)).unwrap_or(Value::Null),
        })
    } else {
        json!({
            "template": postback_url_template(app, "<token>"),
            "accepted_names": accepted,
            "status_map": adv.map(|a| json!(a.status_map)).unwrap_or(Value::Null),
            "required": ["click_id", "token (or adv + ts + sig)"],
        })
    };
    let mut recognized = Map::new();
    let mut unrecognized = Vec::new();
    for (k, _) in &entry.fields {
        if browser && k == crate::browser::KEY_FIELD {
            recognized.insert(k.clone(), json!(k));
            continue;
        }
        match name_to_field.get(k) {
            Some(f) => {
                recognized.insert(k.clone(), json!(f));
            }
            None => unrecognized.push(k.clone()),
        }
    }
    let has = |field: &str| recognized.values().any(|v| v == field);
    let mut missing = Vec::new();
    if !has("click_id") {
        missing.push("click_id");
    }
    if !(has("token") || (has("adv") && has("sig")))
        && entry.error.as_deref() == Some("invalid_token")
    {
        missing.push("token");
    }
    if browser && !has(crate::browser::KEY_FIELD) {
        missing.push(crate::browser::KEY_FIELD);
    }
    let diff = json!({"recognized": recognized, "unrecognized": unrecognized, "missing": missing});
    (expected, diff)
}

pub async fn list_postbacks(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Params(q): Params<PostbackQuery>,
) -> ApiResult {
    if let Scope::Affiliate(_) = caller.scope() {
        return Err(caller.forbid("read the advertisers' postback log"));
    }
    let filter = PostbackFilter {
        scope: caller.scope(),
        result: q.result.map(|r| r.0.to_string()),
        error: q.error.map(|e| e.0.to_string()),
        advertiser_id: q.advertiser_id,
        offer_id: q.offer_id,
        click_id: q.click_id,
        txid: q.txid,
        channel: q.channel,
        from_ms: parse_time_opt("from", q.from.as_deref())?,
        to_ms: parse_time_opt("to", q.to.as_deref())?,
        limit: q.limit.0,
    };
    let cfg = app.cache.get();
    let entries = app.store.postback_log(&filter).await?;
    items(entries.iter().map(|e| {
        let adv = e
            .advertiser_id
            .as_ref()
            .and_then(|id| cfg.advertisers.get(id));
        let (expected, diff) = explain(&app, e, adv);
        let mut v = serde_json::to_value(e).expect("serializable");
        v["expected"] = expected;
        v["diff"] = diff;
        v
    }))
}

/// `GET /api/v1/audit`: every filter must match.
#[derive(Deserialize, JsonSchema, Default)]
#[serde(default, deny_unknown_fields)]
pub struct AuditQuery {
    /// Only changes to this record (an advertiser, offer, affiliate or link id).
    entity_id: Option<String>,
    /// Only changes made with this API key (its id; `system` for the server itself).
    key_id: Option<String>,
    /// Only this kind of change, e.g. `create`, `update`, `rotate_token`.
    action: Option<String>,
    /// Changes at or after this time: a date (`2026-11-25`, UTC), an RFC 3339 time or unix milliseconds.
    from: Option<String>,
    /// Changes before this time; a date includes that whole day.
    to: Option<String>,
    /// How many changes to answer, newest first (1 to 10000; default 100).
    limit: Limit,
}

pub async fn list_audit(
    State(app): State<Arc<AppState>>,
    _: Admin,
    Params(q): Params<AuditQuery>,
) -> ApiResult {
    let filter = AuditFilter {
        entity_id: q.entity_id,
        key_id: q.key_id,
        action: q.action,
        from_ms: parse_time_opt("from", q.from.as_deref())?,
        to_ms: parse_time_opt("to", q.to.as_deref())?,
        limit: q.limit.0,
    };
    items(app.store.audit(&filter).await?)
}

fn may_see_partner(caller: &Caller, kind: &str, id: &str) -> bool {
    match caller.scope() {
        Scope::All => true,
        Scope::Advertiser(me) => kind == "advertiser" && me == id,
        Scope::Affiliate(me) => kind == "affiliate" && me == id,
    }
}

pub async fn versions(
    app: Arc<AppState>,
    caller: Caller,
    kind: &'static str,
    id: String,
) -> ApiResult {
    if !may_see_partner(&caller, kind, &id) {
        return Err(ApiError::not_found(kind, &id));
    }
    let list = app.store.template_versions(kind, &id).await?;
    if list.is_empty() {
        return Err(ApiError::not_found(kind, &id));
    }
    items(list)
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiffQuery {
    /// The version to compare from.
    from: i64,
    /// The version to compare to.
    to: i64,
}

/// Flattens JSON into `path -> value` for diffing.
fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, v) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&p, v, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.clone());
        }
    }
}

pub fn diff_values(a: &Value, b: &Value) -> Vec<Value> {
    let (mut fa, mut fb) = (BTreeMap::new(), BTreeMap::new());
    flatten("", a, &mut fa);
    flatten("", b, &mut fb);
    let keys: std::collections::BTreeSet<&String> = fa.keys().chain(fb.keys()).collect();
    keys.into_iter()
        .filter(|k| fa.get(*k) != fb.get(*k))
        .map(|k| json!({"path": k, "from": fa.get(k), "to": fb.get(k)}))
        .collect()
}

pub async fn versions_diff(
    app: Arc<AppState>,
    caller: Caller,
    kind: &'static str,
    id: String,
    q: DiffQuery,
) -> ApiResult {
    if !may_see_partner(&caller, kind, &id) {
        return Err(ApiError::not_found(kind, &id));
    }
    let list = app.store.template_versions(kind, &id).await?;
    let find = |n: i64, field: &str| {
        list.iter().find(|v| v.version == n).ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                format!("{field}: {kind} `{id}` has no version {n}"),
            )
        })
    };
    let (a, b) = (find(q.from, "from")?, find(q.to, "to")?);
    ok(
        StatusCode::OK,
        json!({"from": a, "to": b, "changes": diff_values(&a.template, &b.template)}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_lists_changed_added_and_removed_paths() {
        let a = json!({"alias_map": {"tid": "txid", "x": "click_id"}, "status_map": {}});
        let b =
            json!({"alias_map": {"tid": "txid", "y": "click_id"}, "status_map": {"1": "approved"}});
        let d = diff_values(&a, &b);
        let paths: Vec<&str> = d.iter().map(|c| c["path"].as_str().unwrap()).collect();
        assert_eq!(
            paths,
            ["alias_map.x", "alias_map.y", "status_map", "status_map.1"]
        );
        assert_eq!(d[0]["to"], Value::Null);
        assert_eq!(d[1]["to"], "click_id");
    }
}

// ---------- outbound deliveries ----------

fn delivery_view(d: &clickledger_store::Delivery) -> Value {
    let mut v = serde_json::to_value(d).expect("serializable");
    v["url"] = json!(clickledger_domain::outbound::mask_url(&d.url));
    v
}

/// `GET /api/v1/deliveries`: every filter must match.
#[derive(Deserialize, JsonSchema, Default)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveryQuery {
    /// Only deliveries to this affiliate.
    affiliate_id: Option<String>,
    /// Only deliveries in this state (`suspended`: pending, waiting behind a failing or disabled destination).
    state: Option<OneOf<DeliveryStateChoice>>,
    /// Only deliveries announcing this conversion.
    conversion_id: Option<String>,
    /// Deliveries created at or after this time: a date (`2026-11-25`, UTC), an RFC 3339 time or unix milliseconds.
    from: Option<String>,
    /// Deliveries created before this time; a date includes that whole day.
    to: Option<String>,
    /// How many deliveries to answer, newest first (1 to 10000; default 100).
    limit: Limit,
}

pub async fn list_deliveries(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Params(q): Params<DeliveryQuery>,
) -> ApiResult {
    let filter = clickledger_store::DeliveryFilter {
        scope: caller.scope(),
        affiliate_id: q.affiliate_id,
        conversion_id: q.conversion_id,
        state: q.state.map(|s| s.0.to_string()),
        from_ms: parse_time_opt("from", q.from.as_deref())?,
        to_ms: parse_time_opt("to", q.to.as_deref())?,
        limit: q.limit.0,
    };
    let list = app.store.deliveries(&filter).await?;
    items(list.iter().map(delivery_view))
}

pub async fn get_delivery(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let (d, attempts) = app
        .store
        .delivery(&id, &caller.scope())
        .await?
        .ok_or_else(|| ApiError::not_found("delivery", &id))?;
    let mut v = delivery_view(&d);
    v["attempts_log"] = json!(attempts);
    ok(StatusCode::OK, v)
}

pub async fn retry_delivery(
    State(app): State<Arc<AppState>>,
    _: Admin,
    Path(id): Path<String>,
) -> ApiResult {
    if !app.store.retry_delivery(&id, crate::util::now_ms()).await? {
        return Err(ApiError::not_found("delivery", &id));
    }
    app.dispatcher.wake.notify_one();
    ok(StatusCode::OK, json!({"id": id, "state": "pending"}))
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Replay {
    affiliate_id: Option<String>,
    from: String,
    to: String,
}

pub async fn replay_deliveries(
    State(app): State<Arc<AppState>>,
    _: Admin,
    crate::api::JsonBody(b): crate::api::JsonBody<Replay>,
) -> ApiResult {
    let from = parse_time_opt("from", Some(&b.from))?.unwrap_or(0);
    let to = parse_time_opt("to", Some(&b.to))?.unwrap_or(i64::MAX);
    let n = app
        .store
        .replay_deliveries(b.affiliate_id.as_deref(), from, to, crate::util::now_ms())
        .await?;
    app.dispatcher.wake.notify_one();
    ok(StatusCode::OK, json!({"requeued": n}))
}

/// `Ok` when the affiliate exists, else the 404 that names it.
pub(crate) fn known_affiliate(app: &AppState, id: &str) -> Result<(), ApiError> {
    match app.cache.get().affiliates.contains_key(id) {
        true => Ok(()),
        false => Err(ApiError::not_found("affiliate", id)),
    }
}

pub async fn list_destinations(State(app): State<Arc<AppState>>, _: Admin) -> ApiResult {
    items(app.store.destinations().await?)
}

pub async fn resume_destination(
    State(app): State<Arc<AppState>>,
    _: Admin,
    Path(id): Path<String>,
) -> ApiResult {
    known_affiliate(&app, &id)?;
    if let Some(event) = app
        .store
        .resume_destination(&id, crate::util::now_ms())
        .await?
    {
        crate::alerts::announce(&app, event);
    }
    app.dispatcher.wake.notify_one();
    ok(
        StatusCode::OK,
        json!({"affiliate_id": id, "suspended": false, "state": "healthy"}),
    )
}

/// `GET /api/v1/destinations/{id}/events`: its changes of state, newest
/// first.
pub async fn destination_events(
    State(app): State<Arc<AppState>>,
    _: Admin,
    Path(id): Path<String>,
) -> ApiResult {
    known_affiliate(&app, &id)?;
    items(app.store.destination_events(&id, 100).await?)
}
