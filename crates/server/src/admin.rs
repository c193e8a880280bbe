//! The admin API for advertisers, offers, affiliates and links.
//!
//! Configuration is small and served from the cache; every change is
//! written to the store together with its audit entry (and, for postback
//! templates, a new template version) under one lock, so concurrent PATCHes
//! never lose each other's fields; then the cache is rebuilt. Partners read
//! only their own records; anything else is a 404.

use clickledger_domain::alerts::AlertOverrides;
use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use base64::Engine;
use clickledger_domain::net::Cidr;
use clickledger_domain::offer::validate_events;
use clickledger_domain::outbound::OutboundTemplate;
use clickledger_domain::pixel_host::HostPattern;
use clickledger_domain::postback::{validate_alias_map, validate_status_map};
use clickledger_domain::rate::Limit;
use clickledger_domain::template::{CLICK_MACROS, OUTBOUND_MACROS};
use clickledger_domain::{Currency, ErrorCode, EventDef, UrlTemplate};
use clickledger_store::{
    key_hint, rotate, Advertiser, AdvertiserSecrets, Affiliate, AffiliateSecrets, ApiKey,
    AuditEntry, BrowserSettings, Cap, EntityStatus, Expiring, Link, Offer, Role, Scope,
};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::answers::{AdvertiserCreated, AffiliateCreated, Items, LinkView, Rotated};
use crate::api::{ApiError, JsonBody, Params, Path};
use crate::auth::{Admin, Caller};
use crate::util::{now_ms, random_id, random_u128, sha256_hex};
use crate::AppState;

pub type ApiResult = Result<(StatusCode, Json<Value>), ApiError>;

pub fn ok(status: StatusCode, v: impl serde::Serialize) -> ApiResult {
    Ok((status, Json(serde_json::to_value(v).expect("serializable"))))
}

pub fn items<T: serde::Serialize>(list: impl IntoIterator<Item = T>) -> ApiResult {
    let items: Vec<T> = list.into_iter().collect();
    ok(StatusCode::OK, Items { items })
}

fn name_ok(field: &str, name: &str) -> Result<String, ApiError> {
    let n = name.trim();
    if n.is_empty() {
        return Err(ApiError::validation(format!(
            "{field}: is blank; give a name of 1 to 200 characters"
        )));
    }
    if n.chars().count() > 200 {
        return Err(ApiError::validation(format!(
            "{field}: has {} characters, at most 200 are allowed",
            n.chars().count()
        )));
    }
    Ok(n.to_string())
}

fn template(field: &str, raw: &str, macros: &[&str]) -> Result<UrlTemplate, ApiError> {
    UrlTemplate::parse(raw, macros)
        .map_err(|e| ApiError::new(ErrorCode::InvalidTemplate, format!("{field}: {e}")))
}

/// A cached record by id, or the 404 naming it.
fn lookup<T: Clone>(
    map: &std::collections::HashMap<String, T>,
    id: &str,
    what: &str,
) -> Result<T, ApiError> {
    map.get(id)
        .cloned()
        .ok_or_else(|| ApiError::not_found(what, id))
}

pub(crate) fn view<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("serializable")
}

/// An audit entry for a change by `key`.
pub fn change(
    key: &ApiKey,
    action: &str,
    kind: &str,
    id: &str,
    before: Option<Value>,
    after: Option<Value>,
) -> AuditEntry {
    AuditEntry {
        id: 0,
        ts_ms: now_ms(),
        key_id: key.id.clone(),
        action: action.to_string(),
        entity_kind: kind.to_string(),
        entity_id: id.to_string(),
        before,
        after,
        template: None,
    }
}

fn advertiser_template(a: &Advertiser) -> Value {
    json!({"alias_map": a.alias_map, "status_map": a.status_map})
}

fn affiliate_template(a: &Affiliate) -> Value {
    json!({"postback_url": a.postback_url, "postbacks": a.postbacks})
}

/// A new `whsec_` signing secret: 24 random bytes, base64. The same string
/// keys the contract's `sig` (as text) and Standard Webhooks (decoded).
pub(crate) fn new_signing_secret() -> String {
    let mut bytes = random_u128().to_be_bytes().to_vec();
    bytes.extend_from_slice(&random_u128().to_be_bytes()[..8]);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

fn new_api_key(role: Role, partner_id: &str) -> (String, ApiKey) {
    let key = random_id("ak", 32);
    let record = ApiKey {
        id: random_id("key", 10),
        key_hash: sha256_hex(&key),
        role,
        partner_id: Some(partner_id.to_string()),
        created_ms: now_ms(),
        expires_ms: None,
        name: String::new(),
        hint: key_hint(&key),
        revoked_ms: None,
    };
    (key, record)
}

// ---------- advertisers ----------

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAdvertiser {
    /// 1 to 200 characters, not blank.
    #[schemars(length(min = 1, max = 200), regex(pattern = r"\S"))]
    name: String,
    #[serde(default)]
    require_signature: bool,
    #[serde(default)]
    require_https: bool,
    #[serde(default)]
    ip_allowlist: Vec<String>,
    #[serde(default)]
    alias_map: BTreeMap<String, String>,
    #[serde(default)]
    status_map: BTreeMap<String, String>,
    rate_limit: Option<String>,
    /// Hosts of the pages that may send browser conversions
    /// (`shop.example`, `*.shop.example`); none by default.
    #[serde(default)]
    pixel_hosts: Vec<String>,
    /// Browser conversions start `pending` (default false).
    #[serde(default)]
    browser_pending: bool,
    /// The landing-page parameter `t.js` reads the click id from (default `click_id`).
    click_id_param: Option<String>,
    /// The domain of `t.js`'s click-id cookie (default: the page's host).
    cookie_domain: Option<String>,
    /// Days `t.js` keeps the click id (1 to 400; default 30).
    cookie_days: Option<u32>,
    /// Thresholds of its own for its alerts.
    #[serde(default)]
    alert_overrides: AlertOverrides,
}

#[derive(Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdvertiserPatch {
    /// 1 to 200 characters, not blank.
    #[schemars(length(min = 1, max = 200), regex(pattern = r"\S"))]
    name: Option<String>,
    status: Option<EntityStatus>,
    require_signature: Option<bool>,
    require_https: Option<bool>,
    ip_allowlist: Option<Vec<String>>,
    alias_map: Option<BTreeMap<String, String>>,
    status_map: Option<BTreeMap<String, String>>,
    /// An empty string removes the override.
    rate_limit: Option<String>,
    pixel_hosts: Option<Vec<String>>,
    browser_pending: Option<bool>,
    click_id_param: Option<String>,
    /// An empty string: the page's own host.
    cookie_domain: Option<String>,
    cookie_days: Option<u32>,
    /// Replaces the alert thresholds of its own (`{}` removes them).
    alert_overrides: Option<AlertOverrides>,
}

fn check_advertiser(a: &Advertiser) -> Result<(), ApiError> {
    validate_alias_map(&a.alias_map).map_err(ApiError::validation)?;
    validate_status_map(&a.status_map).map_err(ApiError::validation)?;
    for (i, cidr) in a.ip_allowlist.iter().enumerate() {
        Cidr::parse(cidr).map_err(|e| ApiError::validation(format!("ip_allowlist[{i}]: {e}")))?;
    }
    if let Some(r) = &a.rate_limit {
        Limit::parse(r).map_err(|e| ApiError::validation(format!("rate_limit: {e}")))?;
    }
    a.alert_overrides.validate().map_err(ApiError::validation)?;
    check_browser(&a.browser)
}

/// The most pixel hosts an advertiser lists.
const MAX_PIXEL_HOSTS: usize = 100;

fn check_browser(b: &BrowserSettings) -> Result<(), ApiError> {
    if b.pixel_hosts.len() > MAX_PIXEL_HOSTS {
        return Err(ApiError::validation(format!(
            "pixel_hosts: {} hosts, at most {MAX_PIXEL_HOSTS}; use a wildcard (`*.shop.example`)",
            b.pixel_hosts.len()
        )));
    }
    for (i, h) in b.pixel_hosts.iter().enumerate() {
        HostPattern::parse(h)
            .map_err(|e| ApiError::validation(format!("pixel_hosts[{i}]: {e}")))?;
    }
    let p = &b.click_id_param;
    if p.is_empty()
        || p.len() > 64
        || !p
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'))
    {
        return Err(ApiError::validation(format!(
            "click_id_param: `{p}` is not a URL parameter name of 1 to 64 letters, digits, `_`, `-` or `.`"
        )));
    }
    if let Some(d) = &b.cookie_domain {
        match HostPattern::parse(d) {
            Ok(_) if !d.starts_with('*') => {}
            Ok(_) => {
                return Err(ApiError::validation(format!(
                    "cookie_domain: `{d}`: a cookie domain takes no wildcard; `shop.example` covers its subdomains"
                )))
            }
            Err(e) => return Err(ApiError::validation(format!("cookie_domain: {e}"))),
        }
    }
    if !(1..=400).contains(&b.cookie_days) {
        return Err(ApiError::validation(format!(
            "cookie_days: {} is not 1 to 400 (browsers keep a cookie at most 400 days)",
            b.cookie_days
        )));
    }
    Ok(())
}

/// A new publishable key: `pk_` and 24 random characters.
fn new_publishable_key() -> String {
    random_id("pk", 24)
}

pub fn postback_url_template(app: &AppState, token: &str) -> String {
    clickledger_domain::postback::url_template(&app.public_url, token)
}

pub async fn create_advertiser(
    State(app): State<Arc<AppState>>,
    Admin(key): Admin,
    JsonBody(b): JsonBody<NewAdvertiser>,
) -> ApiResult {
    let token = random_id("pt", 32);
    let signing_secret = new_signing_secret();
    let mut adv = Advertiser {
        id: random_id("adv", 10),
        name: name_ok("name", &b.name)?,
        status: EntityStatus::Active,
        require_signature: b.require_signature,
        require_https: b.require_https,
        ip_allowlist: b.ip_allowlist,
        alias_map: b.alias_map,
        status_map: b.status_map,
        rate_limit: b.rate_limit.filter(|r| !r.is_empty()),
        browser: BrowserSettings {
            publishable_key: new_publishable_key(),
            pixel_hosts: b.pixel_hosts,
            browser_pending: b.browser_pending,
            click_id_param: b.click_id_param.unwrap_or_else(|| "click_id".into()),
            cookie_domain: b.cookie_domain.filter(|d| !d.is_empty()),
            cookie_days: b.cookie_days.unwrap_or(30),
        },
        alert_overrides: b.alert_overrides,
        created_ms: now_ms(),
        secrets: AdvertiserSecrets::default(),
    };
    check_advertiser(&adv)?;
    adv.secrets
        .tokens
        .push(Expiring::current(sha256_hex(&token)));
    adv.secrets
        .signing
        .push(Expiring::current(app.vault.seal(&signing_secret)));
    let (api_key, key_record) = new_api_key(Role::Advertiser, &adv.id);
    let mut audit = change(
        &key,
        "create",
        "advertiser",
        &adv.id,
        None,
        Some(view(&adv)),
    );
    audit.template = Some(advertiser_template(&adv));
    let _guard = app.admin_lock.lock().await;
    app.store.put_advertiser(&adv, &audit).await?;
    app.store.put_api_key(&key_record, None).await?;
    app.reload().await?;
    ok(
        StatusCode::CREATED,
        AdvertiserCreated {
            advertiser: &adv,
            postback_url: postback_url_template(&app, &token),
            postback_token: token,
            signing_secret,
            api_key,
        },
    )
}

pub async fn patch_advertiser(
    State(app): State<Arc<AppState>>,
    Admin(key): Admin,
    Path(id): Path<String>,
    JsonBody(p): JsonBody<AdvertiserPatch>,
) -> ApiResult {
    let _guard = app.admin_lock.lock().await;
    let before = lookup(&app.cache.get().advertisers, &id, "advertiser")?;
    let mut a = before.clone();
    if let Some(n) = p.name {
        a.name = name_ok("name", &n)?;
    }
    a.status = p.status.unwrap_or(a.status);
    a.require_signature = p.require_signature.unwrap_or(a.require_signature);
    a.require_https = p.require_https.unwrap_or(a.require_https);
    a.ip_allowlist = p.ip_allowlist.unwrap_or(a.ip_allowlist);
    a.alias_map = p.alias_map.unwrap_or(a.alias_map);
    a.status_map = p.status_map.unwrap_or(a.status_map);
    if let Some(r) = p.rate_limit {
        a.rate_limit = Some(r).filter(|r| !r.is_empty());
    }
    let b = &mut a.browser;
    b.pixel_hosts = p.pixel_hosts.unwrap_or(std::mem::take(&mut b.pixel_hosts));
    b.browser_pending = p.browser_pending.unwrap_or(b.browser_pending);
    b.click_id_param = p
        .click_id_param
        .unwrap_or(std::mem::take(&mut b.click_id_param));
    if let Some(d) = p.cookie_domain {
        b.cookie_domain = Some(d).filter(|d| !d.is_empty());
    }
    b.cookie_days = p.cookie_days.unwrap_or(b.cookie_days);
    a.alert_overrides = p.alert_overrides.unwrap_or(a.alert_overrides);
    check_advertiser(&a)?;
    let mut audit = change(
        &key,
        "update",
        "advertiser",
        &id,
        Some(view(&before)),
        Some(view(&a)),
    );
    if advertiser_template(&a) != advertiser_template(&before) {
        audit.template = Some(advertiser_template(&a));
    }
    app.store.put_advertiser(&a, &audit).await?;
    app.reload().await?;
    ok(StatusCode::OK, a)
}

/// Which secret a rotation replaces.
#[derive(Clone, Copy)]
pub enum Rotation {
    Token,
    SigningSecret,
    ApiKey,
    /// Replaced at once: pages with the old key stop counting.
    PublishableKey,
}

/// Issues a new secret; the old one keeps working for the grace period.
pub async fn rotate_advertiser(
    app: Arc<AppState>,
    key: ApiKey,
    id: String,
    what: Rotation,
) -> ApiResult {
    let _guard = app.admin_lock.lock().await;
    let mut a = app
        .cache
        .get()
        .advertisers
        .get(&id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("advertiser", &id))?;
    let now = now_ms();
    let grace = app.secret_grace_ms;
    let (field, secret) = match what {
        Rotation::Token => {
            let token = random_id("pt", 32);
            rotate(&mut a.secrets.tokens, sha256_hex(&token), now, grace);
            ("postback_token", token)
        }
        Rotation::SigningSecret => {
            let secret = new_signing_secret();
            rotate(&mut a.secrets.signing, app.vault.seal(&secret), now, grace);
            ("signing_secret", secret)
        }
        Rotation::PublishableKey => {
            let pk = new_publishable_key();
            a.browser.publishable_key = pk.clone();
            ("publishable_key", pk)
        }
        Rotation::ApiKey => {
            let secret = rotate_partner_key(&app, &key, Role::Advertiser, &id).await?;
            app.reload().await?;
            return ok(
                StatusCode::OK,
                Rotated {
                    api_key: Some(secret),
                    previous_valid_for_seconds: grace / 1000,
                    ..Default::default()
                },
            );
        }
    };
    let audit = change(
        &key,
        &format!("rotate_{field}"),
        "advertiser",
        &id,
        None,
        None,
    );
    app.store.put_advertiser(&a, &audit).await?;
    app.reload().await?;
    let mut answer = Rotated {
        previous_valid_for_seconds: grace / 1000,
        ..Default::default()
    };
    match what {
        Rotation::Token => {
            answer.postback_url = Some(postback_url_template(&app, &secret));
            answer.postback_token = Some(secret);
        }
        Rotation::PublishableKey => {
            answer.previous_valid_for_seconds = 0;
            answer.publishable_key = Some(secret);
        }
        _ => answer.signing_secret = Some(secret),
    }
    ok(StatusCode::OK, answer)
}

async fn rotate_partner_key(
    app: &AppState,
    by: &ApiKey,
    role: Role,
    partner: &str,
) -> Result<String, ApiError> {
    let now = now_ms();
    let cfg = app.cache.get();
    for old in cfg
        .keys
        .values()
        .filter(|k| k.partner_id.as_deref() == Some(partner) && k.role == role)
    {
        if old.expires_ms.is_none_or(|e| e > now + app.secret_grace_ms) {
            let mut expiring = old.clone();
            expiring.expires_ms = Some(now + app.secret_grace_ms);
            app.store.put_api_key(&expiring, None).await?;
        }
    }
    let (secret, record) = new_api_key(role, partner);
    let kind = if role == Role::Advertiser {
        "advertiser"
    } else {
        "affiliate"
    };
    let audit = change(
        by,
        "rotate_api_key",
        kind,
        partner,
        None,
        Some(json!({"key_id": record.id})),
    );
    app.store.put_api_key(&record, Some(&audit)).await?;
    Ok(secret)
}

pub async fn get_advertiser(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let cfg = app.cache.get();
    let a = cfg
        .advertisers
        .get(&id)
        .filter(|a| visible_advertiser(&caller.scope(), a))
        .ok_or_else(|| ApiError::not_found("advertiser", &id))?;
    ok(StatusCode::OK, a)
}

fn visible_advertiser(scope: &Scope, a: &Advertiser) -> bool {
    match scope {
        Scope::All => true,
        Scope::Advertiser(me) => *me == a.id,
        Scope::Affiliate(_) => false,
    }
}

/// Filters of the configuration lists (advertisers, offers, affiliates,
/// links), read from the in-memory cache. A parameter a list does not take
/// is refused, like every list's.
#[derive(Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PartnerListQuery {
    /// `active` or `paused`.
    status: Option<EntityStatus>,
    /// Part of the name, any case.
    q: Option<String>,
}

#[derive(Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferListQuery {
    /// `active` or `paused`.
    status: Option<EntityStatus>,
    /// Part of the name, any case.
    q: Option<String>,
    advertiser_id: Option<String>,
}

#[derive(Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkListQuery {
    /// `active` or `paused`.
    status: Option<EntityStatus>,
    offer_id: Option<String>,
    affiliate_id: Option<String>,
}

/// Whether a record passes a list's `status` and `q` (name) filters.
fn listed(
    status: EntityStatus,
    name: &str,
    want: Option<EntityStatus>,
    q: &Option<String>,
) -> bool {
    want.is_none_or(|w| w == status)
        && q.as_ref()
            .is_none_or(|q| name.to_lowercase().contains(&q.to_lowercase()))
}

pub async fn list_advertisers(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Params(f): Params<PartnerListQuery>,
) -> ApiResult {
    let cfg = app.cache.get();
    let scope = caller.scope();
    let mut v: Vec<&Advertiser> = cfg
        .advertisers
        .values()
        .filter(|a| visible_advertiser(&scope, a) && listed(a.status, &a.name, f.status, &f.q))
        .collect();
    v.sort_by_key(|a| (a.created_ms, a.id.clone()));
    items(v)
}

// ---------- offers ----------

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOffer {
    advertiser_id: String,
    /// 1 to 200 characters, not blank.
    #[schemars(length(min = 1, max = 200), regex(pattern = r"\S"))]
    name: String,
    /// An absolute http(s) URL; macros: {click_id}, {offer_id}, {affiliate_id}, {link_id}, {sub1}..{sub5}, {source}.
    #[schemars(length(max = 2048), regex(pattern = r"^https?://"))]
    destination_url: String,
    /// Where paused or capped traffic goes (same macros).
    #[schemars(length(max = 2048))]
    fallback_url: Option<String>,
    /// ISO 4217, e.g. USD.
    #[schemars(regex(pattern = r"^[A-Za-z]{3}$"))]
    currency: String,
    /// 1 to 365 (default 30).
    #[schemars(range(min = 1, max = 365))]
    attribution_window_days: Option<u32>,
    events: Vec<EventDef>,
    #[serde(default)]
    min_conversion_seconds: u32,
    #[serde(default)]
    reject_too_fast: bool,
    #[serde(default)]
    #[schemars(range(max = 8760))]
    hold_hours: u32,
    #[serde(default)]
    caps: Vec<Cap>,
    cap_timezone: Option<String>,
    #[serde(default)]
    refuse_over_cap: bool,
    /// Thresholds of its own for its alerts (over its advertiser's).
    #[serde(default)]
    alert_overrides: AlertOverrides,
}

#[derive(Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferPatch {
    /// 1 to 200 characters, not blank.
    #[schemars(length(min = 1, max = 200), regex(pattern = r"\S"))]
    name: Option<String>,
    status: Option<EntityStatus>,
    #[schemars(length(max = 2048), regex(pattern = r"^https?://"))]
    destination_url: Option<String>,
    /// An empty string removes the fallback.
    fallback_url: Option<String>,
    #[schemars(range(min = 1, max = 365))]
    attribution_window_days: Option<u32>,
    events: Option<Vec<EventDef>>,
    min_conversion_seconds: Option<u32>,
    reject_too_fast: Option<bool>,
    #[schemars(range(max = 8760))]
    hold_hours: Option<u32>,
    caps: Option<Vec<Cap>>,
    cap_timezone: Option<String>,
    refuse_over_cap: Option<bool>,
    /// Replaces the alert thresholds of its own (`{}` removes them).
    alert_overrides: Option<AlertOverrides>,
}

/// Checks an offer before it is saved, and writes its event money in the
/// offer currency's format.
fn check_offer(o: &mut Offer) -> Result<(), ApiError> {
    template("destination_url", &o.destination_url, CLICK_MACROS)?;
    if let Some(f) = &o.fallback_url {
        template("fallback_url", f, CLICK_MACROS)?;
    }
    if !(1..=365).contains(&o.attribution_window_days) {
        return Err(ApiError::validation(
            "attribution_window_days must be 1-365",
        ));
    }
    if o.hold_hours > 24 * 365 {
        return Err(ApiError::validation("hold_hours must be at most 8760"));
    }
    o.alert_overrides.validate().map_err(ApiError::validation)?;
    if jiff::tz::TimeZone::get(&o.cap_timezone).is_err() {
        return Err(ApiError::validation(format!(
            "cap_timezone: `{}` is not an IANA timezone",
            o.cap_timezone
        )));
    }
    for (i, c) in o.caps.iter().enumerate() {
        if c.limit <= rust_decimal::Decimal::ZERO {
            return Err(ApiError::validation(format!(
                "caps[{i}].limit must be above 0"
            )));
        }
    }
    validate_events(&o.events).map_err(ApiError::validation)?;
    for e in &mut o.events {
        e.in_currency_format(o.currency);
    }
    Ok(())
}

pub async fn create_offer(
    State(app): State<Arc<AppState>>,
    Admin(key): Admin,
    JsonBody(b): JsonBody<NewOffer>,
) -> ApiResult {
    let currency = Currency::parse(&b.currency)
        .map_err(|e| ApiError::new(ErrorCode::InvalidCurrency, format!("currency: {e}")))?;
    let mut offer = Offer {
        id: random_id("off", 10),
        advertiser_id: b.advertiser_id,
        name: name_ok("name", &b.name)?,
        status: EntityStatus::Active,
        destination_url: b.destination_url,
        fallback_url: b.fallback_url.filter(|f| !f.is_empty()),
        currency,
        attribution_window_days: b.attribution_window_days.unwrap_or(30),
        events: b.events,
        min_conversion_seconds: b.min_conversion_seconds,
        reject_too_fast: b.reject_too_fast,
        hold_hours: b.hold_hours,
        caps: b.caps,
        cap_timezone: b.cap_timezone.unwrap_or_else(|| "UTC".into()),
        refuse_over_cap: b.refuse_over_cap,
        alert_overrides: b.alert_overrides,
        created_ms: now_ms(),
    };
    check_offer(&mut offer)?;
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
    let audit = change(&key, "create", "offer", &offer.id, None, Some(view(&offer)));
    app.store.put_offer(&offer, &audit).await?;
    app.reload().await?;
    ok(StatusCode::CREATED, offer)
}

pub async fn patch_offer(
    State(app): State<Arc<AppState>>,
    Admin(key): Admin,
    Path(id): Path<String>,
    JsonBody(p): JsonBody<OfferPatch>,
) -> ApiResult {
    let _guard = app.admin_lock.lock().await;
    let before = app
        .cache
        .get()
        .offers
        .get(&id)
        .map(|e| e.offer.clone())
        .ok_or_else(|| ApiError::not_found("offer", &id))?;
    let mut o = before.clone();
    if let Some(n) = p.name {
        o.name = name_ok("name", &n)?;
    }
    o.status = p.status.unwrap_or(o.status);
    o.destination_url = p.destination_url.unwrap_or(o.destination_url);
    if let Some(f) = p.fallback_url {
        o.fallback_url = Some(f).filter(|f| !f.is_empty());
    }
    o.attribution_window_days = p
        .attribution_window_days
        .unwrap_or(o.attribution_window_days);
    o.events = p.events.unwrap_or(o.events);
    o.min_conversion_seconds = p.min_conversion_seconds.unwrap_or(o.min_conversion_seconds);
    o.reject_too_fast = p.reject_too_fast.unwrap_or(o.reject_too_fast);
    o.hold_hours = p.hold_hours.unwrap_or(o.hold_hours);
    o.caps = p.caps.unwrap_or(o.caps);
    o.cap_timezone = p.cap_timezone.unwrap_or(o.cap_timezone);
    o.refuse_over_cap = p.refuse_over_cap.unwrap_or(o.refuse_over_cap);
    o.alert_overrides = p.alert_overrides.unwrap_or(o.alert_overrides);
    check_offer(&mut o)?;
    let audit = change(
        &key,
        "update",
        "offer",
        &id,
        Some(view(&before)),
        Some(view(&o)),
    );
    app.store.put_offer(&o, &audit).await?;
    app.reload().await?;
    ok(StatusCode::OK, o)
}

/// Whether `scope` may see `offer`: its advertiser, or an affiliate with a
/// link to it.
pub fn visible_offer(app_cfg: &crate::cache::Config, scope: &Scope, offer: &Offer) -> bool {
    match scope {
        Scope::All => true,
        Scope::Advertiser(me) => offer.advertiser_id == *me,
        Scope::Affiliate(me) => app_cfg
            .links
            .values()
            .any(|l| l.offer_id == offer.id && l.affiliate_id == *me),
    }
}

pub async fn get_offer(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let cfg = app.cache.get();
    let e = cfg
        .offers
        .get(&id)
        .filter(|e| visible_offer(&cfg, &caller.scope(), &e.offer))
        .ok_or_else(|| ApiError::not_found("offer", &id))?;
    ok(StatusCode::OK, &e.offer)
}

pub async fn list_offers(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Params(f): Params<OfferListQuery>,
) -> ApiResult {
    let cfg = app.cache.get();
    let scope = caller.scope();
    let mut v: Vec<&Offer> = cfg
        .offers
        .values()
        .map(|e| &e.offer)
        .filter(|o| {
            visible_offer(&cfg, &scope, o)
                && listed(o.status, &o.name, f.status, &f.q)
                && f.advertiser_id
                    .as_ref()
                    .is_none_or(|a| *a == o.advertiser_id)
        })
        .collect();
    v.sort_by_key(|o| (o.created_ms, o.id.clone()));
    items(v)
}

// ---------- affiliates ----------

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAffiliate {
    /// 1 to 200 characters, not blank.
    #[schemars(length(min = 1, max = 200), regex(pattern = r"\S"))]
    name: String,
    /// The postback template fired for approved conversions and reversals.
    #[schemars(length(max = 2048))]
    postback_url: Option<String>,
    #[serde(default)]
    postbacks: Vec<OutboundTemplate>,
    #[serde(default)]
    allow_http: bool,
}

#[derive(Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AffiliatePatch {
    /// 1 to 200 characters, not blank.
    #[schemars(length(min = 1, max = 200), regex(pattern = r"\S"))]
    name: Option<String>,
    status: Option<EntityStatus>,
    /// An empty string removes the postback URL.
    postback_url: Option<String>,
    postbacks: Option<Vec<OutboundTemplate>>,
    allow_http: Option<bool>,
}

/// Templates parse with the outbound macros, and plain http is allowed only
/// for affiliates allowed it (or on a server that allows private
/// destinations, for tests and internal setups).
fn check_affiliate(app: &AppState, a: &Affiliate) -> Result<(), ApiError> {
    let http_ok = a.allow_http || app.delivery.allow_private;
    let check_scheme = |field: &str, t: &UrlTemplate| {
        if t.as_str().starts_with("http://") && !http_ok {
            return Err(ApiError::validation(format!(
                "{field}: must be https (or set allow_http)"
            )));
        }
        Ok(())
    };
    if let Some(u) = &a.postback_url {
        let t = template("postback_url", u, OUTBOUND_MACROS)?;
        check_scheme("postback_url", &t)?;
    }
    let cfg = app.cache.get();
    for (i, p) in a.postbacks.iter().enumerate() {
        let field = format!("postbacks[{i}]");
        let t = p
            .validate(&field)
            .map_err(|e| ApiError::new(ErrorCode::InvalidTemplate, e))?;
        check_scheme(&field, &t)?;
        // a template for an offer or event that does not exist would never fire
        if let Some(offer_id) = &p.offer_id {
            let entry = cfg.offers.get(offer_id).ok_or_else(|| {
                ApiError::validation(format!("{field}.offer_id: no offer with id `{offer_id}`"))
            })?;
            if let Some(event) = p
                .event
                .as_ref()
                .filter(|e| entry.offer.event(Some(e.as_str())).is_none())
            {
                return Err(ApiError::validation(format!(
                    "{field}.event: offer `{offer_id}` has no event `{event}`"
                )));
            }
        }
    }
    Ok(())
}

pub async fn create_affiliate(
    State(app): State<Arc<AppState>>,
    Admin(key): Admin,
    JsonBody(b): JsonBody<NewAffiliate>,
) -> ApiResult {
    let webhook_secret = new_signing_secret();
    let aff = Affiliate {
        id: random_id("aff", 10),
        name: name_ok("name", &b.name)?,
        status: EntityStatus::Active,
        postback_url: b.postback_url.filter(|u| !u.is_empty()),
        postbacks: b.postbacks,
        allow_http: b.allow_http,
        created_ms: now_ms(),
        secrets: AffiliateSecrets {
            webhook: vec![Expiring::current(app.vault.seal(&webhook_secret))],
        },
    };
    check_affiliate(&app, &aff)?;
    let (api_key, key_record) = new_api_key(Role::Affiliate, &aff.id);
    let mut audit = change(&key, "create", "affiliate", &aff.id, None, Some(view(&aff)));
    audit.template = Some(affiliate_template(&aff));
    let _guard = app.admin_lock.lock().await;
    app.store.put_affiliate(&aff, &audit).await?;
    app.store.put_api_key(&key_record, None).await?;
    app.reload().await?;
    ok(
        StatusCode::CREATED,
        AffiliateCreated {
            affiliate: &aff,
            api_key,
            webhook_secret,
        },
    )
}

pub async fn patch_affiliate(
    State(app): State<Arc<AppState>>,
    Admin(key): Admin,
    Path(id): Path<String>,
    JsonBody(p): JsonBody<AffiliatePatch>,
) -> ApiResult {
    let _guard = app.admin_lock.lock().await;
    let before = lookup(&app.cache.get().affiliates, &id, "affiliate")?;
    let mut a = before.clone();
    if let Some(n) = p.name {
        a.name = name_ok("name", &n)?;
    }
    a.status = p.status.unwrap_or(a.status);
    if let Some(u) = p.postback_url {
        a.postback_url = Some(u).filter(|u| !u.is_empty());
    }
    a.postbacks = p.postbacks.unwrap_or(a.postbacks);
    a.allow_http = p.allow_http.unwrap_or(a.allow_http);
    check_affiliate(&app, &a)?;
    let mut audit = change(
        &key,
        "update",
        "affiliate",
        &id,
        Some(view(&before)),
        Some(view(&a)),
    );
    if affiliate_template(&a) != affiliate_template(&before) {
        audit.template = Some(affiliate_template(&a));
    }
    app.store.put_affiliate(&a, &audit).await?;
    app.reload().await?;
    ok(StatusCode::OK, a)
}

/// A new `whsec_` secret for signing outbound postbacks. During the grace
/// period deliveries carry a signature by each valid secret (Standard
/// Webhooks allows several), so receivers can switch at their pace.
pub async fn rotate_affiliate_webhook_secret(
    State(app): State<Arc<AppState>>,
    Admin(key): Admin,
    Path(id): Path<String>,
) -> ApiResult {
    let _guard = app.admin_lock.lock().await;
    let mut a = lookup(&app.cache.get().affiliates, &id, "affiliate")?;
    let secret = new_signing_secret();
    rotate(
        &mut a.secrets.webhook,
        app.vault.seal(&secret),
        now_ms(),
        app.secret_grace_ms,
    );
    let audit = change(&key, "rotate_webhook_secret", "affiliate", &id, None, None);
    app.store.put_affiliate(&a, &audit).await?;
    app.reload().await?;
    ok(
        StatusCode::OK,
        Rotated {
            webhook_secret: Some(secret),
            previous_valid_for_seconds: app.secret_grace_ms / 1000,
            ..Default::default()
        },
    )
}

pub async fn rotate_affiliate_key(
    State(app): State<Arc<AppState>>,
    Admin(key): Admin,
    Path(id): Path<String>,
) -> ApiResult {
    let _guard = app.admin_lock.lock().await;
    if !app.cache.get().affiliates.contains_key(&id) {
        return Err(ApiError::not_found("affiliate", &id));
    }
    let secret = rotate_partner_key(&app, &key, Role::Affiliate, &id).await?;
    app.reload().await?;
    ok(
        StatusCode::OK,
        Rotated {
            api_key: Some(secret),
            previous_valid_for_seconds: app.secret_grace_ms / 1000,
            ..Default::default()
        },
    )
}

fn visible_affiliate(scope: &Scope, a: &Affiliate) -> bool {
    match scope {
        Scope::All => true,
        Scope::Affiliate(me) => *me == a.id,
        Scope::Advertiser(_) => false,
    }
}

pub async fn get_affiliate(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let cfg = app.cache.get();
    let a = cfg
        .affiliates
        .get(&id)
        .filter(|a| visible_affiliate(&caller.scope(), a))
        .ok_or_else(|| ApiError::not_found("affiliate", &id))?;
    ok(StatusCode::OK, a)
}

pub async fn list_affiliates(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Params(f): Params<PartnerListQuery>,
) -> ApiResult {
    let cfg = app.cache.get();
    let scope = caller.scope();
    let mut v: Vec<&Affiliate> = cfg
        .affiliates
        .values()
        .filter(|a| visible_affiliate(&scope, a) && listed(a.status, &a.name, f.status, &f.q))
        .collect();
    v.sort_by_key(|a| (a.created_ms, a.id.clone()));
    items(v)
}

// ---------- links ----------

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLink {
    offer_id: String,
    affiliate_id: String,
}

#[derive(Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkPatch {
    status: Option<EntityStatus>,
}

pub fn link_view<'a>(app: &AppState, l: &'a Link) -> LinkView<'a> {
    LinkView {
        link: l,
        url: format!("{}/c/{}", app.public_url, l.id),
        has_flow: l.flow.is_some(),
    }
}

pub async fn create_link(
    State(app): State<Arc<AppState>>,
    Admin(key): Admin,
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
        flow: None,
    };
    let audit = change(&key, "create", "link", &link.id, None, Some(view(&link)));
    app.store.put_link(&link, &audit).await?;
    app.reload().await?;
    ok(StatusCode::CREATED, link_view(&app, &link))
}

pub async fn patch_link(
    State(app): State<Arc<AppState>>,
    Admin(key): Admin,
    Path(id): Path<String>,
    JsonBody(p): JsonBody<LinkPatch>,
) -> ApiResult {
    let _guard = app.admin_lock.lock().await;
    let before = lookup(&app.cache.get().links, &id, "link")?;
    let mut l = before.clone();
    l.status = p.status.unwrap_or(l.status);
    let audit = change(
        &key,
        "update",
        "link",
        &id,
        Some(view(&before)),
        Some(view(&l)),
    );
    app.store.put_link(&l, &audit).await?;
    app.reload().await?;
    ok(StatusCode::OK, link_view(&app, &l))
}

fn visible_link(cfg: &crate::cache::Config, scope: &Scope, l: &Link) -> bool {
    match scope {
        Scope::All => true,
        Scope::Affiliate(me) => l.affiliate_id == *me,
        Scope::Advertiser(me) => cfg
            .offers
            .get(&l.offer_id)
            .is_some_and(|o| o.offer.advertiser_id == *me),
    }
}

pub async fn get_link(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult {
    let cfg = app.cache.get();
    let l = cfg
        .links
        .get(&id)
        .filter(|l| visible_link(&cfg, &caller.scope(), l))
        .ok_or_else(|| ApiError::not_found("link", &id))?;
    ok(StatusCode::OK, link_view(&app, l))
}

pub async fn list_links(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Params(f): Params<LinkListQuery>,
) -> ApiResult {
    let cfg = app.cache.get();
    let scope = caller.scope();
    let mut v: Vec<&Link> = cfg
        .links
        .values()
        .filter(|l| {
            visible_link(&cfg, &scope, l)
                && f.status.is_none_or(|s| s == l.status)
                && f.offer_id.as_ref().is_none_or(|o| *o == l.offer_id)
                && f.affiliate_id.as_ref().is_none_or(|a| *a == l.affiliate_id)
        })
        .collect();
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
    let (app, id) = (State(app), Path(id));
    match kind {
        "advertisers" => {
            patch_advertiser(
                app,
                admin,
                id,
                JsonBody(AdvertiserPatch {
                    status: s,
                    ..Default::default()
                }),
            )
            .await
        }
        "offers" => {
            patch_offer(
                app,
                admin,
                id,
                JsonBody(OfferPatch {
                    status: s,
                    ..Default::default()
                }),
            )
            .await
        }
        "affiliates" => {
            patch_affiliate(
                app,
                admin,
                id,
                JsonBody(AffiliatePatch {
                    status: s,
                    ..Default::default()
                }),
            )
            .await
        }
        _ => patch_link(app, admin, id, JsonBody(LinkPatch { status: s })).await,
    }
}
