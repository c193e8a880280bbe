//! The admin API: advertisers, offers, affiliates, links, and read access to
//! clicks, conversions and the postback log.
//!
//! Configuration is small and read from the cache; every change is written
//! to the store under one lock (so concurrent PATCHes never lose each
//! other's fields) and then the cache is rebuilt.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::Json;
use clickledger_domain::offer::validate_events;
use clickledger_domain::postback::{validate_alias_map, validate_status_map};
use clickledger_domain::template::{CLICK_MACROS, OUTBOUND_MACROS};
use clickledger_domain::{ClickId, Currency, ErrorCode, EventDef, UrlTemplate};
use clickledger_store::{
    Advertiser, Affiliate, ApiKey, ConversionFilter, EntityStatus, Link, Offer, PostbackFilter,
    Role,
};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::{ApiError, JsonBody};
use crate::util::{now_ms, random_id, sha256_hex};
use crate::AppState;

type ApiResult = Result<(StatusCode, Json<Value>), ApiError>;

/// A request authenticated with an admin key.
pub struct Admin(pub ApiKey);

impl FromRequestParts<Arc<AppState>> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let key = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Unauthorized,
                    "Authorization: Bearer <api key> is missing",
                )
            })?;
        let found = app
            .cache
            .get()
            .keys
            .get(&sha256_hex(key))
            .cloned()
            .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "the API key is not valid"))?;
        if found.role != Role::Admin {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                format!("a {} key cannot use this endpoint", found.role.as_str()),
            ));
        }
        Ok(Admin(found))
    }
}

fn ok(status: StatusCode, v: impl serde::Serialize) -> ApiResult {
    Ok((status, Json(serde_json::to_value(v).expect("serializable"))))
}

fn items<T: serde::Serialize>(list: impl IntoIterator<Item = T>) -> ApiResult {
    let items: Vec<T> = list.into_iter().collect();
    ok(StatusCode::OK, json!({ "items": items }))
}

fn name_ok(field: &str, name: &str) -> Result<String, ApiError> {
    let n = name.trim();
    if n.is_empty() || n.len() > 200 {
        return Err(ApiError::validation(format!(
            "{field} must be 1-200 characters"
        )));
    }
    Ok(n.to_string())
}

fn template(field: &str, raw: &str, macros: &[&str]) -> Result<UrlTemplate, ApiError> {
    UrlTemplate::parse(raw, macros)
        .map_err(|e| ApiError::new(ErrorCode::InvalidTemplate, format!("{field}: {e}")))
}

async fn reload(app: &AppState) -> Result<(), ApiError> {
    app.cache.reload(app.store.as_ref()).await?;
    Ok(())
}

// ---------- advertisers ----------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAdvertiser {
    name: String,
    #[serde(default)]
    require_signature: bool,
    #[serde(default)]
    ip_allowlist: Vec<String>,
    #[serde(default)]
    alias_map: BTreeMap<String, String>,
    #[serde(default)]
    status_map: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AdvertiserPatch {
    name: Option<String>,
    status: Option<EntityStatus>,
    require_signature: Option<bool>,
    ip_allowlist: Option<Vec<String>>,
    alias_map: Option<BTreeMap<String, String>>,
    status_map: Option<BTreeMap<String, String>>,
}

fn check_maps(
    alias: &BTreeMap<String, String>,
    status: &BTreeMap<String, String>,
) -> Result<(), ApiError> {
    validate_alias_map(alias).map_err(ApiError::validation)?;
    validate_status_map(status).map_err(ApiError::validation)
}

fn check_allowlist(list: &[String]) -> Result<(), ApiError> {
    for (i, cidr) in list.iter().enumerate() {
        let (addr, len) = cidr.split_once('/').unwrap_or((cidr.as_str(), ""));
        let ip: Result<std::net::IpAddr, _> = addr.parse();
        let max = match ip {
            Ok(std::net::IpAddr::V4(_)) => 32,
            Ok(std::net::IpAddr::V6(_)) => 128,
            Err(_) => {
                return Err(ApiError::validation(format!(
                    "ip_allowlist[{i}]: `{cidr}` is not an IP address or CIDR"
                )))
            }
        };
        if !len.is_empty() && len.parse::<u8>().map_or(true, |l| l > max) {
            return Err(ApiError::validation(format!(
                "ip_allowlist[{i}]: prefix length of `{cidr}` must be 0-{max}"
            )));
        }
    }
    Ok(())
}

pub fn postback_url_template(app: &AppState, token: &str) -> String {
    format!(
        "{}/postback?token={token}&click_id={{click_id}}&event={{event}}&txid={{txid}}&amount={{amount}}&currency={{currency}}&status={{status}}",
        app.public_url
    )
}

pub async fn create_advertiser(
    State(app): State<Arc<AppState>>,
    _: Admin,
    JsonBody(b): JsonBody<NewAdvertiser>,
) -> ApiResult {
    let name = name_ok("name", &b.name)?;
    check_maps(&b.alias_map, &b.status_map)?;
    check_allowlist(&b.ip_allowlist)?;
    let token = random_id("pt", 32);
    let signing_secret = random_id("ss", 40);
    let adv = Advertiser {
        id: random_id("adv", 10),
        name,
        status: EntityStatus::Active,
        token_hash: sha256_hex(&token),
        signing_secret: signing_secret.clone(),
        require_signature: b.require_signature,
        ip_allowlist: b.ip_allowlist,
        alias_map: b.alias_map,
        status_map: b.status_map,
        created_ms: now_ms(),
    };
    let _guard = app.admin_lock.lock().await;
    app.store.put_advertiser(&adv).await?;
    reload(&app).await?;
    let mut v = serde_json::to_value(&adv).expect("serializable");
    v["postback_token"] = json!(token);
    v["signing_secret"] = json!(signing_secret);
    v["postback_url"] = json!(postback_url_template(&app, &token));
    ok(StatusCode::CREATED, v)
}

pub async fn patch_advertiser(
    State(app): State<Arc<AppState>>,
    _: Admin,
    Path(id): Path<String>,
    JsonBody(p): JsonBody<AdvertiserPatch>,
) -> ApiResult {
    let _guard = app.admin_lock.lock().await;
    let mut a = app
        .cache
        .get()
        .advertisers
        .get(&id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("advertiser", &id))?;
    if let Some(n) = p.name {
        a.name = name_ok("name", &n)?;
    }
    if let Some(s) = p.status {
        a.status = s;
    }
    if let Some(r) = p.require_signature {
        a.require_signature = r;
    }
    if let Some(l) = p.ip_allowlist {
        check_allowlist(&l)?;
        a.ip_allowlist = l;
    }
    if let Some(m) = p.alias_map {
        a.alias_map = m;
    }
    if let Some(m) = p.status_map {
        a.status_map = m;
    }
    check_maps(&a.alias_map, &a.status_map)?;
    app.store.put_advertiser(&a).await?;
    reload(&app).await?;
    ok(StatusCode::OK, a)
}

pub async fn get_advertiser(
    State(app): State<Arc<AppState>>,
    _: Admin,
    Path(id): Path<String>,
) -> ApiResult {
    let cfg = app.cache.get();
    let a = cfg
        .advertisers
        .get(&id)
        .ok_or_else(|| ApiError::not_found("advertiser", &id))?;
    ok(StatusCode::OK, a)
}

pub async fn list_advertisers(State(app): State<Arc<AppState>>, _: Admin) -> ApiResult {
    let cfg = app.cache.get();
    let mut v: Vec<&Advertiser> = cfg.advertisers.values().collect();
    v.sort_by_key(|a| (a.created_ms, a.id.clone()));
    items(v)
}

// ---------- offers ----------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOffer {
    advertiser_id: String,
    name: String,
    destination_url: String,
    fallback_url: Option<String>,
    currency: String,
    attribution_window_days: Option<u32>,
    events: Vec<EventDef>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct OfferPatch {
    name: Option<String>,
    status: Option<EntityStatus>,
    destination_url: Option<String>,
    /// An empty string removes the fallback.
    fallback_url: Option<String>,
    attribution_window_days: Option<u32>,
    events: Option<Vec<EventDef>>,
}

fn check_offer(o: &Offer) -> Result<(), ApiError> {
    template("destination_url", &o.destination_url, CLICK_MACROS)?;
    if let Some(f) = &o.fallback_url {
        template("fallback_url", f, CLICK_MACROS)?;
    }
    if !(1..=365).contains(&o.attribution_window_days) {
        return Err(ApiError::validation(
            "attribution_window_days must be 1-365",
        ));
    }
    validate_events(&o.events).map_err(ApiError::validation)
}

pub async fn create_offer(
    State(app): State<Arc<AppState>>,
    _: Admin,
    JsonBody(b): JsonBody<NewOffer>,
) -> ApiResult {
    let currency = Currency::parse(&b.currency)
        .map_err(|e| ApiError::new(ErrorCode::InvalidCurrency, format!("currency: {e}")))?;
    let offer = Offer {
        id: random_id("off", 10),
        advertiser_id: b.advertiser_id,
        name: name_ok("name", &b.name)?,
        status: EntityStatus::Active,
        destination_url: b.destination_url,
        fallback_url: b.fallback_url.filter(|f| !f.is_empty()),
        currency,
        attribution_window_days: b.attribution_window_days.unwrap_or(30),
        events: b.events,
        created_ms: now_ms(),
    };
    check_offer(&offer)?;
    let _guard = app.admin_lock.lock().await;
    if !app
        .cache
        .get()
        .advertisers
        .contains_key(&offer.advertiser_id)
    {
        return Err(ApiError::validation(format!(
            "advertiser_id: no advertiser `{}`",
            offer.advertiser_id
        )));
    }
    app.store.put_offer(&offer).await?;
    reload(&app).await?;
    ok(StatusCode::CREATED, offer)
}

pub async fn patch_offer(
    State(app): State<Arc<AppState>>,
    _: Admin,
    Path(id): Path<String>,
    JsonBody(p): JsonBody<OfferPatch>,
) -> ApiResult {
    let _guard = app.admin_lock.lock().await;
    let cfg = app.cache.get();
    let mut o = cfg
        .offers
        .get(&id)
        .map(|e| e.offer.clone())
        .ok_or_else(|| ApiError::not_found("offer", &id))?;
    if let Some(n) = p.name {
        o.name = name_ok("name", &n)?;
    }
    if let Some(s) = p.status {
        o.status = s;
    }
    if let Some(d) = p.destination_url {
        o.destination_url = d;
    }
    if let Some(f) = p.fallback_url {
        o.fallback_url = Some(f).filter(|f| !f.is_empty());
    }
    if let Some(w) = p.attribution_window_days {
        o.attribution_window_days = w;
    }
    if let Some(e) = p.events {
        o.events = e;
    }
    check_offer(&o)?;
    app.store.put_offer(&o).await?;
    reload(&app).await?;
    ok(StatusCode::OK, o)
}

pub async fn get_offer(
    State(app): State<Arc<AppState>>,
    _: Admin,
    Path(id): Path<String>,
) -> ApiResult {
    let cfg = app.cache.get();
    let e = cfg
        .offers
        .get(&id)
        .ok_or_else(|| ApiError::not_found("offer", &id))?;
    ok(StatusCode::OK, &e.offer)
}

pub async fn list_offers(State(app): State<Arc<AppState>>, _: Admin) -> ApiResult {
    let cfg = app.cache.get();
    let mut v: Vec<&Offer> = cfg.offers.values().map(|e| &e.offer).collect();
    v.sort_by_key(|o| (o.created_ms, o.id.clone()));
    items(v)
}

// ---------- affiliates ----------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAffiliate {
    name: String,
    postback_url: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AffiliatePatch {
    name: Option<String>,
    status: Option<EntityStatus>,
    /// An empty string removes the postback URL.
    postback_url: Option<String>,
}

fn check_postback_url(url: &Option<String>) -> Result<(), ApiError> {
    if let Some(u) = url {
        template("postback_url", u, OUTBOUND_MACROS)?;
    }
    Ok(())
}

pub async fn create_affiliate(
    State(app): State<Arc<AppState>>,
    _: Admin,
    JsonBody(b): JsonBody<NewAffiliate>,
) -> ApiResult {
    let postback_url = b.postback_url.filter(|u| !u.is_empty());
    check_postback_url(&postback_url)?;
    let aff = Affiliate {
        id: random_id("aff", 10),
        name: name_ok("name", &b.name)?,
        status: EntityStatus::Active,
        postback_url,
        created_ms: now_ms(),
    };
    let api_key = random_id("ak", 32);
    let key = ApiKey {
        id: random_id("key", 10),
        key_hash: sha256_hex(&api_key),
        role: Role::Affiliate,
        partner_id: Some(aff.id.clone()),
        created_ms: aff.created_ms,
    };
    let _guard = app.admin_lock.lock().await;
    app.store.put_affiliate(&aff).await?;
    app.store.put_api_key(&key).await?;
    reload(&app).await?;
    let mut v = serde_json::to_value(&aff).expect("serializable");
    v["api_key"] = json!(api_key);
    ok(StatusCode::CREATED, v)
}

pub async fn patch_affiliate(
    State(app): State<Arc<AppState>>,
    _: Admin,
    Path(id): Path<String>,
    JsonBody(p): JsonBody<AffiliatePatch>,
) -> ApiResult {
    let _guard = app.admin_lock.lock().await;
    let mut a = app
        .cache
        .get()
        .affiliates
        .get(&id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("affiliate", &id))?;
    if let Some(n) = p.name {
        a.name = name_ok("name", &n)?;
    }
    if let Some(s) = p.status {
        a.status = s;
    }
    if let Some(u) = p.postback_url {
        a.postback_url = Some(u).filter(|u| !u.is_empty());
    }
    check_postback_url(&a.postback_url)?;
    app.store.put_affiliate(&a).await?;
    reload(&app).await?;
    ok(StatusCode::OK, a)
}

pub async fn get_affiliate(
    State(app): State<Arc<AppState>>,
    _: Admin,
    Path(id): Path<String>,
) -> ApiResult {
    let cfg = app.cache.get();
    ok(
        StatusCode::OK,
        cfg.affiliates
            .get(&id)
            .ok_or_else(|| ApiError::not_found("affiliate", &id))?,
    )
}

pub async fn list_affiliates(State(app): State<Arc<AppState>>, _: Admin) -> ApiResult {
    let cfg = app.cache.get();
    let mut v: Vec<&Affiliate> = cfg.affiliates.values().collect();
    v.sort_by_key(|a| (a.created_ms, a.id.clone()));
    items(v)
}

// ---------- links ----------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewLink {
    offer_id: String,
    affiliate_id: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LinkPatch {
    status: Option<EntityStatus>,
}

fn link_view(app: &AppState, l: &Link) -> Value {
    let mut v = serde_json::to_value(l).expect("serializable");
    v["url"] = json!(format!("{}/c/{}", app.public_url, l.id));
    v
}

pub async fn create_link(
    State(app): State<Arc<AppState>>,
    _: Admin,
    JsonBody(b): JsonBody<NewLink>,
) -> ApiResult {
    let _guard = app.admin_lock.lock().await;
    let cfg = app.cache.get();
    if !cfg.offers.contains_key(&b.offer_id) {
        return Err(ApiError::validation(format!(
            "offer_id: no offer `{}`",
            b.offer_id
        )));
    }
    if !cfg.affiliates.contains_key(&b.affiliate_id) {
        return Err(ApiError::validation(format!(
            "affiliate_id: no affiliate `{}`",
            b.affiliate_id
        )));
    }
    let link = Link {
        id: random_id("lnk", 10),
        offer_id: b.offer_id,
        affiliate_id: b.affiliate_id,
        status: EntityStatus::Active,
        created_ms: now_ms(),
    };
    app.store.put_link(&link).await?;
    reload(&app).await?;
    ok(StatusCode::CREATED, link_view(&app, &link))
}

pub async fn patch_link(
    State(app): State<Arc<AppState>>,
    _: Admin,
    Path(id): Path<String>,
    JsonBody(p): JsonBody<LinkPatch>,
) -> ApiResult {
    let _guard = app.admin_lock.lock().await;
    let mut l = app
        .cache
        .get()
        .links
        .get(&id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("link", &id))?;
    if let Some(s) = p.status {
        l.status = s;
    }
    app.store.put_link(&l).await?;
    reload(&app).await?;
    ok(StatusCode::OK, link_view(&app, &l))
}

pub async fn get_link(
    State(app): State<Arc<AppState>>,
    _: Admin,
    Path(id): Path<String>,
) -> ApiResult {
    let cfg = app.cache.get();
    let l = cfg
        .links
        .get(&id)
        .ok_or_else(|| ApiError::not_found("link", &id))?;
    ok(StatusCode::OK, link_view(&app, l))
}

pub async fn list_links(State(app): State<Arc<AppState>>, _: Admin) -> ApiResult {
    let cfg = app.cache.get();
    let mut v: Vec<&Link> = cfg.links.values().collect();
    v.sort_by_key(|l| (l.created_ms, l.id.clone()));
    items(v.into_iter().map(|l| link_view(&app, l)))
}

/// Pause or resume any entity: the same as PATCH with `status`.
pub async fn set_status(
    app: Arc<AppState>,
    admin: Admin,
    kind: &str,
    id: String,
    status: EntityStatus,
) -> ApiResult {
    let s = Some(status);
    match kind {
        "advertisers" => {
            patch_advertiser(
                State(app),
                admin,
                Path(id),
                JsonBody(AdvertiserPatch {
                    status: s,
                    ..Default::default()
                }),
            )
            .await
        }
        "offers" => {
            patch_offer(
                State(app),
                admin,
                Path(id),
                JsonBody(OfferPatch {
                    status: s,
                    ..Default::default()
                }),
            )
            .await
        }
        "affiliates" => {
            patch_affiliate(
                State(app),
                admin,
                Path(id),
                JsonBody(AffiliatePatch {
                    status: s,
                    ..Default::default()
                }),
            )
            .await
        }
        _ => {
            patch_link(
                State(app),
                admin,
                Path(id),
                JsonBody(LinkPatch { status: s }),
            )
            .await
        }
    }
}

// ---------- clicks, conversions, postback log ----------

pub async fn get_click(
    State(app): State<Arc<AppState>>,
    _: Admin,
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
        .click(id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::UnknownClickId, format!("no click `{raw}`")))?;
    ok(StatusCode::OK, click)
}

#[derive(Deserialize, Default)]
pub struct ConversionQuery {
    click_id: Option<String>,
    offer_id: Option<String>,
    affiliate_id: Option<String>,
    advertiser_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<u32>,
}

pub async fn list_conversions(
    State(app): State<Arc<AppState>>,
    _: Admin,
    Query(q): Query<ConversionQuery>,
) -> ApiResult {
    let click_id = q
        .click_id
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(|c| {
            ClickId::parse(c)
                .map_err(|e| ApiError::new(ErrorCode::CorruptedClickId, format!("click_id: {e}")))
        })
        .transpose()?;
    let filter = ConversionFilter {
        click_id,
        offer_id: q.offer_id.filter(|s| !s.is_empty()),
        affiliate_id: q.affiliate_id.filter(|s| !s.is_empty()),
        advertiser_id: q.advertiser_id.filter(|s| !s.is_empty()),
        from_ms: crate::report::parse_time_opt("from", q.from.as_deref())?,
        to_ms: crate::report::parse_time_opt("to", q.to.as_deref())?,
        limit: q.limit.unwrap_or(100),
    };
    items(app.store.conversions(&filter).await?)
}

#[derive(Deserialize, Default)]
pub struct PostbackQuery {
    result: Option<String>,
    error: Option<String>,
    advertiser_id: Option<String>,
    offer_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<u32>,
}

pub async fn list_postbacks(
    State(app): State<Arc<AppState>>,
    _: Admin,
    Query(q): Query<PostbackQuery>,
) -> ApiResult {
    let filter = PostbackFilter {
        result: q.result.filter(|s| !s.is_empty()),
        error: q.error.filter(|s| !s.is_empty()),
        advertiser_id: q.advertiser_id.filter(|s| !s.is_empty()),
        offer_id: q.offer_id.filter(|s| !s.is_empty()),
        from_ms: crate::report::parse_time_opt("from", q.from.as_deref())?,
        to_ms: crate::report::parse_time_opt("to", q.to.as_deref())?,
        limit: q.limit.unwrap_or(100),
    };
    items(app.store.postback_log(&filter).await?)
}
