//! The records the store keeps.

use std::collections::BTreeMap;

use clickledger_domain::outbound::{Method, OutboundTemplate};
use clickledger_domain::time::{from_rfc3339, rfc3339};
use clickledger_domain::{ClickId, Currency, EventDef, Status};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum EntityStatus {
    #[default]
    Active,
    Paused,
}

/// How a conversion reached the tracker: the advertiser's server
/// (`s2s`, a postback) or a visitor's browser (`browser`: `t.js` or the
/// `/px` pixel). Stored as NULL for s2s, the common case.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    #[default]
    S2s,
    Browser,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::S2s => "s2s",
            Channel::Browser => "browser",
        }
    }

    /// The stored value: NULL for s2s.
    pub fn column(self) -> Option<&'static str> {
        match self {
            Channel::S2s => None,
            Channel::Browser => Some("browser"),
        }
    }

    /// Reads the stored value back; `None` for one this version does not know.
    pub fn from_column(v: Option<&str>) -> Option<Channel> {
        match v {
            None => Some(Channel::S2s),
            Some("browser") => Some(Channel::Browser),
            Some(_) => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Advertiser,
    Affiliate,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Advertiser => "advertiser",
            Role::Affiliate => "affiliate",
        }
    }
}

/// An API key; only its SHA-256 is kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: String,
    pub key_hash: String,
    pub role: Role,
    /// The advertiser or affiliate a partner key belongs to.
    pub partner_id: Option<String>,
    pub created_ms: i64,
    /// Set when the key was rotated: it works until then.
    #[serde(default)]
    pub expires_ms: Option<i64>,
    /// What the key is for, given when it was created (empty for keys made
    /// before keys had names).
    #[serde(default)]
    pub name: String,
    /// The key's prefix and last characters (`ck_…x7k2`), so a listed key
    /// can be recognized without being shown; empty for keys made before.
    #[serde(default)]
    pub hint: String,
    /// Set when the key was revoked: it stopped working then, for good.
    #[serde(default)]
    pub revoked_ms: Option<i64>,
}

impl ApiKey {
    /// Whether the key opens the API at `now_ms`: not revoked, and not
    /// past the end of a rotation's grace period.
    pub fn valid_at(&self, now_ms: i64) -> bool {
        self.revoked_ms.is_none() && self.expires_ms.is_none_or(|e| now_ms < e)
    }
}

/// How a key is shown once it has been issued: its prefix (up to the first
/// `_`) and its last 4 characters. A short key shows nothing of itself.
pub fn key_hint(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() < 16 {
        return "…".into();
    }
    let prefix = key.split_once('_').map_or("", |(p, _)| p);
    let prefix = if prefix.len() <= 4 && !prefix.is_empty() {
        format!("{prefix}_")
    } else {
        String::new()
    };
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{prefix}…{tail}")
}

/// A secret (or its hash, or its sealed form) with the time it stops
/// working; `None` for the current one. Rotation keeps the old one until its
/// grace period ends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expiring {
    pub value: String,
    pub expires_ms: Option<i64>,
}

impl Expiring {
    pub fn current(value: String) -> Self {
        Expiring {
            value,
            expires_ms: None,
        }
    }

    pub fn valid_at(&self, now_ms: i64) -> bool {
        self.expires_ms.is_none_or(|e| now_ms < e)
    }
}

/// Puts a new current secret first and gives the previous ones `grace_ms`.
pub fn rotate(list: &mut Vec<Expiring>, new_value: String, now_ms: i64, grace_ms: i64) {
    list.retain(|s| s.valid_at(now_ms));
    for s in list.iter_mut() {
        let end = now_ms + grace_ms;
        s.expires_ms = Some(s.expires_ms.map_or(end, |e| e.min(end)));
    }
    list.insert(0, Expiring::current(new_value));
}

/// An advertiser's secrets, kept apart from the record the API shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AdvertiserSecrets {
    /// SHA-256 of each postback token that still works.
    pub tokens: Vec<Expiring>,
    /// Signing secrets, sealed with the server's master key.
    pub signing: Vec<Expiring>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Advertiser {
    pub id: String,
    pub name: String,
    pub status: EntityStatus,
    pub require_signature: bool,
    /// Refuse postbacks that did not arrive over HTTPS.
    #[serde(default)]
    pub require_https: bool,
    pub ip_allowlist: Vec<String>,
    pub alias_map: BTreeMap<String, String>,
    pub status_map: BTreeMap<String, String>,
    /// Postbacks per advertiser, overriding the server default (`100/s:200`).
    #[serde(default)]
    pub rate_limit: Option<String>,
    #[serde(flatten)]
    pub browser: BrowserSettings,
    /// Thresholds of its own for the alerts about it (and its offers).
    #[serde(default)]
    pub alert_overrides: clickledger_domain::alerts::AlertOverrides,
    #[serde(
        serialize_with = "rfc3339",
        deserialize_with = "from_rfc3339",
        rename = "created_at"
    )]
    #[schemars(with = "clickledger_domain::schema::Rfc3339")]
    pub created_ms: i64,
    #[serde(skip)]
    pub secrets: AdvertiserSecrets,
}

/// How an advertiser takes browser conversions (`t.js` and `/px`). Every
/// field reads a default, so records from before browser conversions load.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BrowserSettings {
    /// Identifies the advertiser in browser conversions (`pk_…`). Not a
    /// secret: it is in the advertiser's pages. Empty for an advertiser made
    /// before browser conversions until it is rotated.
    #[serde(default)]
    pub publishable_key: String,
    /// The hosts of the pages that may send browser conversions
    /// (`shop.example`, `*.shop.example`); empty: none may.
    #[serde(default)]
    pub pixel_hosts: Vec<String>,
    /// Browser conversions start `pending` whatever status they carry; the
    /// advertiser's server approves them with a postback.
    #[serde(default)]
    pub browser_pending: bool,
    /// The landing-page URL parameter `t.js` reads the click id from.
    #[serde(default = "default_click_id_param")]
    pub click_id_param: String,
    /// The domain of the cookie `t.js` keeps the click id in (e.g.
    /// `shop.example` to share it with its subdomains); `None`: the page's
    /// own host.
    #[serde(default)]
    pub cookie_domain: Option<String>,
    /// How long `t.js` keeps the click id, in days.
    #[serde(default = "default_cookie_days")]
    pub cookie_days: u32,
}

fn default_click_id_param() -> String {
    "click_id".into()
}

fn default_cookie_days() -> u32 {
    30
}

impl Default for BrowserSettings {
    fn default() -> Self {
        BrowserSettings {
            publishable_key: String::new(),
            pixel_hosts: Vec::new(),
            browser_pending: false,
            click_id_param: default_click_id_param(),
            cookie_domain: None,
            cookie_days: default_cookie_days(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Offer {
    pub id: String,
    pub advertiser_id: String,
    pub name: String,
    pub status: EntityStatus,
    pub destination_url: String,
    pub fallback_url: Option<String>,
    pub currency: Currency,
    pub attribution_window_days: u32,
    pub events: Vec<EventDef>,
    /// Conversions sooner than this after their click are flagged `too_fast`.
    #[serde(default)]
    pub min_conversion_seconds: u32,
    /// Refuse `too_fast` conversions instead of flagging them.
    #[serde(default)]
    pub reject_too_fast: bool,
    /// Hold conversions `pending` this long, then approve them unless they
    /// were rejected first (0: no hold).
    #[serde(default)]
    pub hold_hours: u32,
    #[serde(default)]
    pub caps: Vec<Cap>,
    /// The IANA zone in which cap days, weeks and months are counted.
    #[serde(default = "utc")]
    pub cap_timezone: String,
    /// Over a cap, refuse conversions (`cap_reached`) instead of recording
    /// them as `capped` with no payout.
    #[serde(default)]
    pub refuse_over_cap: bool,
    /// Thresholds of its own for the alerts about it (over its
    /// advertiser's).
    #[serde(default)]
    pub alert_overrides: clickledger_domain::alerts::AlertOverrides,
    #[serde(
        serialize_with = "rfc3339",
        deserialize_with = "from_rfc3339",
        rename = "created_at"
    )]
    #[schemars(with = "clickledger_domain::schema::Rfc3339")]
    pub created_ms: i64,
}

fn utc() -> String {
    "UTC".into()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CapPeriod {
    Day,
    Week,
    Month,
    Total,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CapMetric {
    Conversions,
    Payout,
}

/// A limit on an offer's conversions or payout per period, for the whole
/// offer or for each affiliate on it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Cap {
    pub period: CapPeriod,
    pub metric: CapMetric,
    #[serde(with = "rust_decimal::serde::str")]
    #[schemars(with = "clickledger_domain::schema::DecimalString")]
    pub limit: Decimal,
    #[serde(default)]
    pub per_affiliate: bool,
}

/// A cap as the store checks it: counted since `since_ms`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapCheck {
    pub since_ms: i64,
    pub metric: CapMetric,
    pub limit: Decimal,
    /// Counted for this affiliate only.
    pub affiliate_id: Option<String>,
}

impl Offer {
    /// The named event, or the offer's first when no name is given.
    pub fn event(&self, name: Option<&str>) -> Option<&EventDef> {
        match name {
            None => self.events.first(),
            Some(n) => self.events.iter().find(|e| e.name == n),
        }
    }
}

/// An affiliate's secrets, kept apart from the record the API shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AffiliateSecrets {
    /// `whsec_` secrets signing outbound postbacks, sealed.
    pub webhook: Vec<Expiring>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Affiliate {
    pub id: String,
    pub name: String,
    pub status: EntityStatus,
    /// The global postback template (fired for approved and reversed).
    pub postback_url: Option<String>,
    /// More templates: per offer, per event, with their statuses and method.
    #[serde(default)]
    pub postbacks: Vec<OutboundTemplate>,
    /// Allow plain-http destinations for this affiliate.
    #[serde(default)]
    pub allow_http: bool,
    #[serde(skip)]
    pub secrets: AffiliateSecrets,
    #[serde(
        serialize_with = "rfc3339",
        deserialize_with = "from_rfc3339",
        rename = "created_at"
    )]
    #[schemars(with = "clickledger_domain::schema::Rfc3339")]
    pub created_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Link {
    pub id: String,
    pub offer_id: String,
    pub affiliate_id: String,
    pub status: EntityStatus,
    #[serde(
        serialize_with = "rfc3339",
        deserialize_with = "from_rfc3339",
        rename = "created_at"
    )]
    #[schemars(with = "clickledger_domain::schema::Rfc3339")]
    pub created_ms: i64,
    /// The link's traffic flow as saved (`PUT /api/v1/links/{id}/flow`);
    /// none: every visitor goes to the link's offer. Kept in a column of
    /// its own beside the document, and shown through its own route. The
    /// JSON text, not a parsed value: the config cache holds every link, and
    /// text is a fraction of a JSON tree's memory.
    #[serde(skip)]
    pub flow: Option<String>,
}

/// Deserialize reads back what Serialize wrote: the fallback journal keeps
/// clicks in this shape while the store is away.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Click {
    pub id: ClickId,
    #[serde(
        serialize_with = "rfc3339",
        deserialize_with = "from_rfc3339",
        rename = "time"
    )]
    #[schemars(with = "clickledger_domain::schema::Rfc3339")]
    pub ts_ms: i64,
    pub link_id: String,
    pub offer_id: String,
    pub affiliate_id: String,
    pub sub1: Option<String>,
    pub sub2: Option<String>,
    pub sub3: Option<String>,
    pub sub4: Option<String>,
    pub sub5: Option<String>,
    pub source: Option<String>,
    /// Query parameters beyond the known ones, bounded at the edge.
    pub extra: BTreeMap<String, String>,
    /// How many of the click's query parameters were cut to fit the bounds
    /// (a value shortened, or a parameter left out: a name too long, or an
    /// extra past the limit); 0 when it kept them all.
    pub params_cut: u32,
    pub ip: String,
    /// ISO 3166 alpha-2 from the GeoIP database; empty without one.
    pub country: String,
    pub user_agent: String,
    pub device: String,
    pub os: String,
    pub browser: String,
    pub referer_host: String,
    pub unique: bool,
    pub bot: bool,
    /// Over the per-IP click rate: recorded, but suspect.
    pub suspicious: bool,
    /// A test click (integration checks); never counted in reports.
    pub test: bool,
    /// The link's flow rule that took the click (none: the flow's default,
    /// or a link without a flow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The flow target chosen (`offer:<id>`, `url:<n>` or the target's
    /// `id`); none without a flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The flow sent the visitor to another offer than its link's:
    /// `offer_id` is that offer (and only then is it stored on the click,
    /// which otherwise takes its link's).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub flow_offer: bool,
    /// A flow rule blocked the visitor (answered 404, recorded all the same).
    #[serde(default)]
    pub blocked: bool,
}

impl Affiliate {
    /// Every template, the global `postback_url` included.
    pub fn templates(&self) -> Vec<OutboundTemplate> {
        let mut all = self.postbacks.clone();
        if let Some(url) = &self.postback_url {
            all.push(OutboundTemplate {
                url: url.clone(),
                offer_id: None,
                event: None,
                statuses: clickledger_domain::outbound::default_statuses(),
                method: Method::Get,
            });
        }
        all
    }
}

impl Click {
    pub fn sub(&self, n: usize) -> Option<&str> {
        [&self.sub1, &self.sub2, &self.sub3, &self.sub4, &self.sub5]
            .get(n.wrapping_sub(1))
            .and_then(|s| s.as_deref())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Conversion {
    pub id: String,
    pub click_id: ClickId,
    pub offer_id: String,
    pub advertiser_id: String,
    pub affiliate_id: String,
    pub link_id: String,
    pub event: String,
    pub txid: Option<String>,
    pub status: Status,
    /// The status word the advertiser sent, when it sent one.
    pub status_received: Option<String>,
    #[serde(with = "rust_decimal::serde::str_option")]
    #[schemars(with = "Option<clickledger_domain::schema::DecimalString>")]
    pub amount: Option<Decimal>,
    pub currency: Currency,
    #[serde(with = "rust_decimal::serde::str")]
    #[schemars(with = "clickledger_domain::schema::DecimalString")]
    pub payout: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    #[schemars(with = "clickledger_domain::schema::DecimalString")]
    pub revenue: Decimal,
    /// The offer's currency, in which payout and revenue are counted.
    pub payout_currency: Currency,
    #[serde(serialize_with = "rfc3339", rename = "click_time")]
    #[schemars(with = "clickledger_domain::schema::Rfc3339")]
    pub click_ms: i64,
    #[serde(serialize_with = "rfc3339", rename = "conversion_time")]
    #[schemars(with = "clickledger_domain::schema::Rfc3339")]
    pub conv_ms: i64,
    #[serde(serialize_with = "rfc3339", rename = "updated_at")]
    #[schemars(with = "clickledger_domain::schema::Rfc3339")]
    pub updated_ms: i64,
    /// Seconds from click to conversion.
    pub delay_seconds: i64,
    /// Sooner after the click than the offer's minimum.
    pub too_fast: bool,
    /// From a test click; never counted in money or reports.
    pub test: bool,
    /// Over a cap: recorded, but pays nothing.
    pub capped: bool,
    /// For refunds and chargebacks: the conversion they reverse (their
    /// payout and revenue are negative).
    pub parent_id: Option<String>,
    /// Payout and revenue in the account's base currency at the FX rate of
    /// the conversion's date; `None` (and `fx_missing`) without a rate.
    #[serde(with = "rust_decimal::serde::str_option")]
    #[schemars(with = "Option<clickledger_domain::schema::DecimalString>")]
    pub payout_base: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option")]
    #[schemars(with = "Option<clickledger_domain::schema::DecimalString>")]
    pub revenue_base: Option<Decimal>,
    pub fx_missing: bool,
    /// Pending until then, then approved unless rejected first.
    pub hold_until_ms: Option<i64>,
    /// Resends answered `duplicate`.
    pub duplicates: i64,
    /// `s2s` (a postback) or `browser` (`t.js`, `/px`); `source` stays the
    /// click's traffic source.
    pub channel: Channel,
    /// The click's dimensions, kept on the conversion for reports.
    #[serde(flatten)]
    pub dims: ClickDims,
}

/// The click's report dimensions, copied onto its conversions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Default, schemars::JsonSchema)]
pub struct ClickDims {
    pub source: Option<String>,
    pub sub1: Option<String>,
    pub sub2: Option<String>,
    pub sub3: Option<String>,
    pub sub4: Option<String>,
    pub sub5: Option<String>,
    pub country: String,
    pub device: String,
    pub os: String,
    pub browser: String,
    /// The flow rule and target that took the click, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

impl ClickDims {
    pub fn of(c: &Click) -> ClickDims {
        ClickDims {
            source: c.source.clone(),
            sub1: c.sub1.clone(),
            sub2: c.sub2.clone(),
            sub3: c.sub3.clone(),
            sub4: c.sub4.clone(),
            sub5: c.sub5.clone(),
            country: c.country.clone(),
            device: c.device.clone(),
            os: c.os.clone(),
            browser: c.browser.clone(),
            rule: c.rule.clone(),
            target: c.target.clone(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LedgerKind {
    Accrual,
    Reversal,
    Adjustment,
    Payout,
}

impl LedgerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerKind::Accrual => "accrual",
            LedgerKind::Reversal => "reversal",
            LedgerKind::Adjustment => "adjustment",
            LedgerKind::Payout => "payout",
        }
    }

    pub fn parse(s: &str) -> Option<LedgerKind> {
        [
            LedgerKind::Accrual,
            LedgerKind::Reversal,
            LedgerKind::Adjustment,
            LedgerKind::Payout,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One append-only entry of an affiliate's account. Positive amounts are
/// owed to the affiliate; reversals and payouts are negative.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct LedgerEntry {
    pub id: i64,
    pub affiliate_id: String,
    #[serde(serialize_with = "rfc3339", rename = "time")]
    #[schemars(with = "clickledger_domain::schema::Rfc3339")]
    pub ts_ms: i64,
    pub kind: LedgerKind,
    #[serde(with = "rust_decimal::serde::str")]
    #[schemars(with = "clickledger_domain::schema::DecimalString")]
    pub amount: Decimal,
    pub currency: Currency,
    /// In the base currency at the entry's date, when a rate is known.
    #[serde(with = "rust_decimal::serde::str_option")]
    #[schemars(with = "Option<clickledger_domain::schema::DecimalString>")]
    pub amount_base: Option<Decimal>,
    pub conversion_id: Option<String>,
    pub reason: Option<String>,
}

/// What became of an adjustment or payout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LedgerWrite {
    /// Written; the entry carries its id.
    Added(LedgerEntry),
    /// Not written: it would take the balance in its currency below the
    /// floor. `available` is that balance.
    BelowFloor { available: Decimal },
}

/// A dated FX rate: one unit of `currency` is `rate` units of the base.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FxRate {
    pub currency: Currency,
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    #[serde(with = "rust_decimal::serde::str")]
    #[schemars(with = "clickledger_domain::schema::DecimalString")]
    pub rate: Decimal,
}

/// Conversion figures as reports need them: a conversion rollup's row
/// (per bucket, dimensions, event and status), or one conversion read raw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversionBucket {
    /// The bucket's start (or a conversion's own time, read raw): click
    /// time or conversion time, per the report's date basis.
    pub bucket_ms: i64,
    pub values: Vec<String>,
    pub event: String,
    pub status: Status,
    /// Conversions, refunds not included.
    pub conversions: i64,
    pub refunds: i64,
    pub duplicates: i64,
    pub capped: i64,
    /// Conversions without a base-currency amount (no FX rate yet).
    pub unconverted: i64,
    pub payout_base_micros: i64,
    pub revenue_base_micros: i64,
    /// Click-to-conversion delays (`clickledger_domain::delay`), refunds
    /// not included.
    pub delays: clickledger_domain::delay::Histogram,
}

/// One conversion as a report reads it raw (for dimensions no rollup has).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversionFact {
    /// Click time or conversion time, per the report's date basis.
    pub time_ms: i64,
    pub values: Vec<String>,
    pub event: String,
    pub status: Status,
    pub payout_base_micros: Option<i64>,
    pub revenue_base_micros: Option<i64>,
    pub delay_seconds: i64,
    pub duplicates: i64,
    pub refund: bool,
    pub capped: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default, schemars::JsonSchema)]
pub struct PostbackLogEntry {
    pub id: i64,
    #[serde(
        serialize_with = "rfc3339",
        deserialize_with = "from_rfc3339",
        rename = "time"
    )]
    #[schemars(with = "clickledger_domain::schema::Rfc3339")]
    pub ts_ms: i64,
    pub source_ip: String,
    pub method: String,
    pub advertiser_id: Option<String>,
    pub offer_id: Option<String>,
    /// The click id exactly as received.
    pub click_id: Option<String>,
    /// Every received field, secrets masked.
    pub fields: Vec<(String, String)>,
    /// accepted, duplicate, updated or rejected.
    pub result: String,
    pub error: Option<String>,
    /// The txid as received (under its name or an alias), when one was.
    pub txid: Option<String>,
    pub message: String,
    pub hint: Option<String>,
    pub conversion_id: Option<String>,
    pub http_status: u16,
    /// Personal data was found in the fields and replaced by a marker.
    pub pii_removed: bool,
    /// Received while the store was away, kept in a node's fallback
    /// journal, and decided (this entry's result) when it was replayed.
    #[serde(default)]
    pub replayed: bool,
    /// `browser` for a conversion sent by `t.js` or `/px`.
    #[serde(default)]
    pub channel: Channel,
}

/// Whose rows a caller may see; applied inside store queries.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Scope {
    #[default]
    All,
    Advertiser(String),
    Affiliate(String),
}

/// One admin change, written in the same transaction as the change.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct AuditEntry {
    pub id: i64,
    #[serde(serialize_with = "rfc3339", rename = "time")]
    #[schemars(with = "clickledger_domain::schema::Rfc3339")]
    pub ts_ms: i64,
    /// The API key that made the change (`system` for the server itself).
    pub key_id: String,
    pub action: String,
    pub entity_kind: String,
    pub entity_id: String,
    /// The record before and after, as the API shows it (no secrets).
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    /// When the change touched a postback template (alias map, status map,
    /// postback URL): the template as it now stands, kept as a new version.
    #[serde(skip)]
    pub template: Option<serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct TemplateVersion {
    pub entity_kind: String,
    pub entity_id: String,
    pub version: i64,
    #[serde(serialize_with = "rfc3339", rename = "time")]
    #[schemars(with = "clickledger_domain::schema::Rfc3339")]
    pub ts_ms: i64,
    pub key_id: String,
    pub template: serde_json::Value,
}

#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub entity_id: Option<String>,
    pub key_id: Option<String>,
    pub action: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub limit: u32,
}

/// Which conversions a list returns; every `Some` must match.
#[derive(Clone, Debug, Default)]
pub struct ConversionFilter {
    pub scope: Scope,
    pub id: Option<String>,
    pub click_id: Option<ClickId>,
    pub offer_id: Option<String>,
    pub affiliate_id: Option<String>,
    pub advertiser_id: Option<String>,
    pub link_id: Option<String>,
    pub status: Option<Status>,
    pub event: Option<String>,
    pub txid: Option<String>,
    pub source: Option<String>,
    pub channel: Option<Channel>,
    /// Conversion time, `[from, to)`.
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub limit: u32,
}

/// Which postback log entries a list returns; every `Some` must match.
#[derive(Clone, Debug, Default)]
pub struct PostbackFilter {
    pub scope: Scope,
    pub result: Option<String>,
    pub error: Option<String>,
    pub advertiser_id: Option<String>,
    pub offer_id: Option<String>,
    /// The click id exactly as received.
    pub click_id: Option<String>,
    pub txid: Option<String>,
    pub channel: Option<Channel>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub limit: u32,
}

/// Which clicks a list returns, newest first; every `Some` must match.
#[derive(Clone, Debug, Default)]
pub struct ClickFilter {
    pub scope: Scope,
    pub offer_id: Option<String>,
    pub affiliate_id: Option<String>,
    pub link_id: Option<String>,
    pub source: Option<String>,
    /// `sub1..sub5`, by position.
    pub subs: [Option<String>; 5],
    pub country: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub limit: u32,
}

/// Dimensions a report can group or filter by, besides time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dimension {
    Offer,
    Affiliate,
    Link,
    Source,
    Sub(u8),
    Country,
    Device,
    Os,
    Browser,
    /// The link flow's rule that took the click (empty: the default split,
    /// or no flow).
    Rule,
    /// The flow target chosen (empty without a flow).
    Target,
    /// Conversions only: click figures have no event.
    Event,
    /// Conversions only.
    Status,
}

impl Dimension {
    pub fn parse(s: &str) -> Option<Dimension> {
        Some(match s {
            "offer" => Dimension::Offer,
            "affiliate" => Dimension::Affiliate,
            "link" => Dimension::Link,
            "source" => Dimension::Source,
            "sub1" => Dimension::Sub(1),
            "sub2" => Dimension::Sub(2),
            "sub3" => Dimension::Sub(3),
            "sub4" => Dimension::Sub(4),
            "sub5" => Dimension::Sub(5),
            "country" => Dimension::Country,
            "device" => Dimension::Device,
            "os" => Dimension::Os,
            "browser" => Dimension::Browser,
            "rule" => Dimension::Rule,
            "target" => Dimension::Target,
            "event" => Dimension::Event,
            "status" => Dimension::Status,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Dimension::Offer => "offer",
            Dimension::Affiliate => "affiliate",
            Dimension::Link => "link",
            Dimension::Source => "source",
            Dimension::Sub(1) => "sub1",
            Dimension::Sub(2) => "sub2",
            Dimension::Sub(3) => "sub3",
            Dimension::Sub(4) => "sub4",
            Dimension::Sub(_) => "sub5",
            Dimension::Country => "country",
            Dimension::Device => "device",
            Dimension::Os => "os",
            Dimension::Browser => "browser",
            Dimension::Rule => "rule",
            Dimension::Target => "target",
            Dimension::Event => "event",
            Dimension::Status => "status",
        }
    }

    /// The column holding this dimension, in clicks, the click rollup and
    /// conversions alike (event and status exist on conversions only).
    pub fn column(self) -> &'static str {
        match self {
            Dimension::Offer => "offer_id",
            Dimension::Affiliate => "affiliate_id",
            Dimension::Link => "link_id",
            other => other.name(),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct ReportQuery {
    pub scope: Scope,
    pub from_ms: i64,
    pub to_ms: i64,
    pub dimensions: Vec<Dimension>,
    pub filters: Vec<(Dimension, Vec<String>)>,
    /// Conversions counted at their click's time (default) or their own.
    pub by_conversion_time: bool,
    /// Which rollups to read: whole UTC months, weeks or days, or 15-minute
    /// buckets, over `ranges` (empty: `from_ms..to_ms`).
    pub grain: Grain,
    pub ranges: Vec<(i64, i64)>,
    /// One row per dimension values for all the ranges together, its
    /// bucket the earliest of its rows', where a rollup serves: for a report
    /// without time, whose month, week and day rows all go to one label. A row
    /// per bucket costs as much again in aggregation as reading it.
    pub whole: bool,
    /// Raw rows even where a rollup has the dimensions: a sub slot the
    /// report uses went over its distinct-value cap in the range
    /// (`crate::sub_guard`), and the slot's rollups count some clicks
    /// under '(other)'.
    pub raw: bool,
}

/// The bucket sizes every rollup is kept at. Every real UTC offset is a
/// multiple of 15 minutes, so quarters serve any timezone; whole UTC days,
/// weeks (from Monday) and calendar months serve the spans a report labels
/// as one: 90 days are three month rows per key, where weeks were thirteen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Grain {
    #[default]
    Quarter,
    Day,
    Week,
    Month,
}

const QUARTER_MS: i64 = 900_000;
const DAY_MS: i64 = 86_400_000;
const WEEK_MS: i64 = 7 * DAY_MS;
/// 1970-01-01 was a Thursday: weeks start 4 days after the epoch.
const MONDAY_MS: i64 = 4 * DAY_MS;

impl Grain {
    pub const ALL: [Grain; 4] = [Grain::Quarter, Grain::Day, Grain::Week, Grain::Month];
    /// The grains summed from the 15-minute rows a write adds.
    pub const COARSE: [Grain; 3] = [Grain::Day, Grain::Week, Grain::Month];

    /// Its place in `ALL`.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The rollup tables' suffix.
    pub fn suffix(self) -> &'static str {
        match self {
            Grain::Quarter => "q",
            Grain::Day => "d",
            Grain::Week => "w",
            Grain::Month => "m",
        }
    }

    /// The start of the bucket holding `ms`.
    pub fn start(self, ms: i64) -> i64 {
        match self {
            Grain::Quarter => ms.div_euclid(QUARTER_MS) * QUARTER_MS,
            Grain::Day => ms.div_euclid(DAY_MS) * DAY_MS,
            Grain::Week => (ms - MONDAY_MS).div_euclid(WEEK_MS) * WEEK_MS + MONDAY_MS,
            Grain::Month => clickledger_domain::time::month_start_ms(ms),
        }
    }

    /// The end of the bucket starting at `start`.
    pub fn end(self, start: i64) -> i64 {
        start
            + match self {
                Grain::Quarter => QUARTER_MS,
                Grain::Day => DAY_MS,
                Grain::Week => WEEK_MS,
                Grain::Month => return clickledger_domain::time::next_month_ms(start),
            }
    }

    /// SQLite's SQL for the start of the bucket holding `column` (a time in
    /// ms, not before 1970).
    pub(crate) fn sql_start(self, column: &str) -> String {
        match self {
            Grain::Quarter => format!("({column} / {QUARTER_MS}) * {QUARTER_MS}"),
            Grain::Day => format!("({column} / {DAY_MS}) * {DAY_MS}"),
            Grain::Week => {
                format!("(({column} - {MONDAY_MS}) / {WEEK_MS}) * {WEEK_MS} + {MONDAY_MS}")
            }
            Grain::Month => format!(
                "CAST(strftime('%s', {column} / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000"
            ),
        }
    }
}

/// The start of the local day holding `ms`, for days that start
/// `phase_ms` after UTC midnight (0: the UTC day; Asia/Kolkata's start at
/// 18:30 UTC, 66,600,000). The day tables (`_d`) hold such days' rows
/// beside the UTC days' for the phases a tracker keeps (`LocalDays`): a
/// row's bucket says which day it is.
pub fn local_day_start(ms: i64, phase_ms: i64) -> i64 {
    (ms - phase_ms).div_euclid(DAY_MS) * DAY_MS + phase_ms
}

/// SQL for `local_day_start` of `column` (a time in ms after `phase_ms`,
/// as every click's is).
pub(crate) fn sql_local_day_start(column: &str, phase_ms: i64) -> String {
    format!("(({column} - {phase_ms}) / {DAY_MS}) * {DAY_MS} + {phase_ms}")
}

/// Where a day bucket starts within the UTC day (its phase).
pub fn day_phase(bucket_ms: i64) -> i64 {
    bucket_ms.rem_euclid(DAY_MS)
}

/// Local days the rollups keep day rows for: those starting `phase_ms`
/// after UTC midnight, complete from `since_ms` (a day start) on. A
/// report reads them only from there; before it, UTC days and their
/// corrections serve as for any other timezone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalDays {
    pub phase_ms: i64,
    pub since_ms: i64,
}

/// Clicks in one bucket (15 minutes, or a UTC day) for one combination of
/// dimension values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BucketRow {
    pub bucket_ms: i64,
    pub values: Vec<String>,
    pub clicks: i64,
    pub unique_clicks: i64,
    pub bot_clicks: i64,
    pub suspicious_clicks: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryState> {
        [
            DeliveryState::Pending,
            DeliveryState::Delivered,
            DeliveryState::Failed,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
    }
}

/// An outbound postback job, written in the same transaction as the
/// conversion change it announces. Its id is the `webhook-id`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Delivery {
    pub id: String,
    pub affiliate_id: String,
    pub conversion_id: String,
    /// The conversion status it announces.
    pub status: Status,
    pub method: Method,
    #[serde(skip)]
    pub url: String,
    #[serde(skip)]
    pub body: Option<String>,
    pub state: DeliveryState,
    pub attempts: u32,
    #[serde(serialize_with = "rfc3339", rename = "next_attempt_at")]
    #[schemars(with = "clickledger_domain::schema::Rfc3339")]
    pub next_attempt_ms: i64,
    #[serde(serialize_with = "rfc3339", rename = "created_at")]
    #[schemars(with = "clickledger_domain::schema::Rfc3339")]
    pub created_ms: i64,
    #[serde(serialize_with = "rfc3339", rename = "updated_at")]
    #[schemars(with = "clickledger_domain::schema::Rfc3339")]
    pub updated_ms: i64,
    pub last_error: Option<String>,
    pub last_status: Option<u16>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct DeliveryAttempt {
    pub delivery_id: String,
    #[serde(serialize_with = "rfc3339", rename = "time")]
    #[schemars(with = "clickledger_domain::schema::Rfc3339")]
    pub ts_ms: i64,
    /// With secret-looking query values masked.
    pub url: String,
    pub status: Option<u16>,
    pub latency_ms: i64,
    /// The first bytes of the answer.
    pub response: String,
    pub error: Option<String>,
}

/// What became of an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptOutcome {
    Delivered,
    RetryAt(i64),
    Failed,
}

/// An affiliate's endpoint health (`clickledger_domain::destination_health`):
/// healthy, failing (jobs wait, one probe per interval) or disabled (a
/// person re-enables it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Destination {
    pub affiliate_id: String,
    /// `healthy`, `failing` or `disabled`.
    pub state: String,
    /// Failed attempts since the last success.
    pub consecutive_failures: u32,
    /// True when disabled (the field from before `state`, kept for
    /// existing readers).
    pub suspended: bool,
    /// Why it is failing or disabled.
    pub reason: Option<String>,
    /// The first failure of the current run of failures.
    #[serde(serialize_with = "opt_rfc3339", rename = "failing_since")]
    #[schemars(with = "Option<clickledger_domain::schema::Rfc3339>")]
    pub failing_since_ms: Option<i64>,
    /// When the next probe may go out (failing only).
    #[serde(serialize_with = "opt_rfc3339", rename = "next_probe_at")]
    #[schemars(with = "Option<clickledger_domain::schema::Rfc3339>")]
    pub next_probe_ms: Option<i64>,
    /// The current probe interval (failing only; doubles after each failed
    /// probe up to the bound).
    pub probe_interval_ms: i64,
    /// The last failed attempt's error.
    pub last_error: Option<String>,
}

/// A change of a destination's state, as recorded (and announced to the
/// alert hook).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct DestinationEvent {
    pub id: i64,
    pub affiliate_id: String,
    /// `failing`, `recovered`, `disabled` or `enabled` (by a person).
    pub kind: String,
    #[serde(serialize_with = "rfc3339", rename = "at")]
    #[schemars(with = "clickledger_domain::schema::Rfc3339")]
    pub ts_ms: i64,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
}

fn opt_rfc3339<S: serde::Serializer>(ms: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match ms {
        Some(ms) => rfc3339(ms, s),
        None => s.serialize_none(),
    }
}

#[derive(Clone, Debug, Default)]
pub struct DeliveryFilter {
    pub scope: Scope,
    pub affiliate_id: Option<String>,
    pub conversion_id: Option<String>,
    /// pending, delivered, failed, or suspended (pending, waiting behind a
    /// failing or disabled destination).
    pub state: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub limit: u32,
}

/// What the store needs to queue a notification with a conversion change.
#[derive(Clone, Debug)]
pub struct Notify {
    pub delivery_id: String,
    pub template: OutboundTemplate,
    /// Macro values known before the decision (click and link values).
    pub values: BTreeMap<&'static str, String>,
}
