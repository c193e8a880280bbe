//! The shapes of the API's answers that are more than one stored record:
//! lists, records with their one-time secrets, and the views the read,
//! finance and report endpoints assemble. Handlers serialize the typed ones
//! directly; the rest describe, for the OpenAPI document, JSON that a
//! handler assembles field by field (each names the handler that builds it,
//! and schemathesis in `.ci/run` checks the real answers against them).

use std::collections::BTreeMap;

use clickledger_domain::schema::{DecimalString, Rfc3339};
use clickledger_domain::{Currency, Status};
use clickledger_store::{
    Advertiser, Affiliate, Delivery, DeliveryAttempt, LedgerEntry, Link, PostbackLogEntry,
    TemplateVersion,
};
use schemars::JsonSchema;
use serde::Serialize;

/// `{"items": [...]}`: every list answer.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "{T}List")]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// A new advertiser with its secrets, shown this once.
#[derive(Serialize, JsonSchema)]
pub struct AdvertiserCreated<'a> {
    #[serde(flatten)]
    pub advertiser: &'a Advertiser,
    pub postback_token: String,
    pub signing_secret: String,
    /// The advertiser's own API key (its conversions and postback log).
    pub api_key: String,
    /// The postback URL to give the advertiser, with its macros.
    pub postback_url: String,
}

/// A new affiliate with its secrets, shown this once.
#[derive(Serialize, JsonSchema)]
pub struct AffiliateCreated<'a> {
    #[serde(flatten)]
    pub affiliate: &'a Affiliate,
    pub api_key: String,
    /// Signs outbound postbacks (Standard Webhooks).
    pub webhook_secret: String,
}

/// A tracking link with its full URL.
#[derive(Serialize, JsonSchema)]
pub struct LinkView<'a> {
    #[serde(flatten)]
    pub link: &'a Link,
    /// The tracking URL to give the affiliate.
    pub url: String,
    /// Whether a flow chooses where its visitors go (`…/links/{id}/flow`).
    pub has_flow: bool,
}

/// A rotated secret; the previous one keeps working for the grace period.
#[derive(Serialize, JsonSchema, Default)]
pub struct Rotated {
    pub previous_valid_for_seconds: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postback_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postback_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
    /// Rotated at once (`previous_valid_for_seconds` is 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publishable_key: Option<String>,
}

/// `GET /healthz` and `GET /readyz`.
#[derive(Serialize, JsonSchema)]
pub struct Health {
    /// `ok`, or `unavailable` (with 503, `error` and `message`).
    pub status: &'static str,
    /// `available` when the store takes writes, else `unavailable` (writes
    /// then go to the fallback journal).
    pub store: &'static str,
    /// Where writes go now: `store` or `journal` (`none` when neither
    /// takes them).
    pub writes: &'static str,
    /// The fallback journal, when the server has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub journal: Option<JournalHealth>,
}

/// The fallback journal's state in `/healthz`.
#[derive(Serialize, JsonSchema)]
pub struct JournalHealth {
    /// Records waiting to be replayed into the store.
    pub depth: u64,
    pub clicks: u64,
    pub postbacks: u64,
    /// Age of the oldest record waiting, in seconds (0 when empty).
    pub oldest_age_seconds: f64,
    /// False when the journal cannot be written (postbacks then answer 503).
    pub writable: bool,
}

/// A postback kept in the fallback journal while the store is away:
/// `202 {"result": "queued"}`. Its outcome is decided when the store is
/// back and lands in the postback log with `replayed: true`.
#[derive(Serialize, JsonSchema)]
pub struct PostbackQueued {
    /// `queued`
    pub result: String,
    pub message: String,
}

/// The answer to a postback (and to a test postback) that was recorded or
/// recognised; refusals are the Error shape (with `hint` for click ids).
/// Built in `postback::answer`.
#[derive(Serialize, JsonSchema)]
pub struct PostbackAnswer {
    /// accepted, duplicate or updated.
    pub result: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversion_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_status: Option<Status>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<DecimalString>")]
    pub payout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub currency: Option<Currency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub too_fast: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test: Option<bool>,
}

/// What an advertiser was expected to send (`reads::explain`).
#[derive(Serialize, JsonSchema)]
pub struct Expected {
    /// The postback URL template.
    pub template: String,
    /// For each field, every name it is read from.
    pub accepted_names: BTreeMap<String, Vec<String>>,
    pub status_map: Option<BTreeMap<String, String>>,
    pub required: Vec<String>,
}

/// How a received postback differs from what was expected.
#[derive(Serialize, JsonSchema)]
pub struct Difference {
    /// Received name → the field it was read as.
    pub recognized: BTreeMap<String, String>,
    pub unrecognized: Vec<String>,
    pub missing: Vec<String>,
}

/// One postback log entry with the explanation (`reads::list_postbacks`).
#[derive(Serialize, JsonSchema)]
pub struct PostbackLogView {
    #[serde(flatten)]
    pub entry: PostbackLogEntry,
    pub expected: Expected,
    pub diff: Difference,
}

/// An outbound postback, its URL masked (`reads::delivery_view`).
#[derive(Serialize, JsonSchema)]
pub struct DeliveryView {
    #[serde(flatten)]
    pub delivery: Delivery,
    pub url: String,
}

/// One outbound postback with every attempt (`reads::get_delivery`).
#[derive(Serialize, JsonSchema)]
pub struct DeliveryDetail {
    #[serde(flatten)]
    pub delivery: DeliveryView,
    pub attempts_log: Vec<DeliveryAttempt>,
}

/// `POST /api/v1/deliveries/{id}/retry`.
#[derive(Serialize, JsonSchema)]
pub struct Retried {
    pub id: String,
    /// Always `pending`.
    pub state: String,
}

/// `POST /api/v1/deliveries/replay`.
#[derive(Serialize, JsonSchema)]
pub struct Requeued {
    pub requeued: u64,
}

/// `POST /api/v1/affiliates/{id}/resume-deliveries`.
#[derive(Serialize, JsonSchema)]
pub struct Resumed {
    pub affiliate_id: String,
    /// Always false.
    pub suspended: bool,
    /// Always `healthy`: its waiting jobs are due now, oldest first.
    pub state: String,
}

/// One changed path between two template versions.
#[derive(Serialize, JsonSchema)]
pub struct Change {
    pub path: String,
    pub from: Option<serde_json::Value>,
    pub to: Option<serde_json::Value>,
}

/// `GET .../versions/diff` (`reads::versions_diff`).
#[derive(Serialize, JsonSchema)]
pub struct VersionDiff {
    pub from: TemplateVersion,
    pub to: TemplateVersion,
    pub changes: Vec<Change>,
}

/// An affiliate's ledger (`money::ledger`).
#[derive(Serialize, JsonSchema)]
pub struct Ledger {
    pub affiliate_id: String,
    /// The base currency of `balance`.
    pub currency: Currency,
    #[schemars(with = "DecimalString")]
    pub balance: String,
    /// Per currency, in that currency.
    #[schemars(with = "BTreeMap<String, DecimalString>")]
    pub balances: BTreeMap<String, String>,
    /// Entries without an FX rate, left out of `balance`.
    pub unconverted_entries: u64,
    /// The `at` parameter, when given.
    pub at: Option<String>,
    pub entries: Vec<LedgerEntry>,
}

/// `POST /api/v1/fx-rates` (`money::put_fx`).
#[derive(Serialize, JsonSchema)]
pub struct FxStored {
    pub stored: u64,
    pub base_currency: Currency,
}

/// A row of the advertiser's file with no conversion here.
#[derive(Serialize, JsonSchema)]
pub struct MissingHere {
    pub row: u64,
    pub txid: String,
    pub amount: Option<String>,
    pub status: Option<String>,
}

/// A recorded conversion absent from the advertiser's file.
#[derive(Serialize, JsonSchema)]
pub struct MissingThere {
    pub txid: String,
    pub conversion_id: String,
    pub amount: Option<String>,
    pub status: Status,
}

#[derive(Serialize, JsonSchema)]
pub struct FieldDifference {
    pub field: String,
    pub theirs: String,
    pub ours: Option<String>,
}

#[derive(Serialize, JsonSchema)]
pub struct Differences {
    pub txid: String,
    pub conversion_id: String,
    pub differences: Vec<FieldDifference>,
}

/// `POST /api/v1/reconciliation` (`money::reconcile`).
#[derive(Serialize, JsonSchema)]
pub struct Reconciliation {
    pub advertiser_id: String,
    pub matched: u64,
    pub missing_here: Vec<MissingHere>,
    pub missing_there: Vec<MissingThere>,
    pub differences: Vec<Differences>,
}

/// `GET /api/v1/reports?format=json` (`report::report`). Each row holds
/// its group values (by the `group_by` names) and the metrics.
#[derive(Serialize, JsonSchema)]
pub struct Report {
    pub group_by: Vec<String>,
    pub tz: String,
    #[schemars(with = "Rfc3339")]
    pub from: String,
    #[schemars(with = "Rfc3339")]
    pub to: String,
    /// `click` or `conversion`.
    pub date_basis: String,
    pub total_rows: u64,
    pub offset: u64,
    pub rows: Vec<serde_json::Map<String, serde_json::Value>>,
    pub totals: serde_json::Map<String, serde_json::Value>,
}

/// `POST /api/v1/offers/{id}/test-click` (`qa::test_click`).
#[derive(Serialize, JsonSchema)]
pub struct TestClicked {
    pub click_id: String,
    pub link_id: String,
    /// Where the click redirects.
    pub location: String,
    pub test: bool,
}

/// An admin key's record, never the key itself (`keys::view`).
#[derive(Serialize, JsonSchema)]
pub struct AdminKeyView {
    pub id: String,
    pub name: String,
    /// Always `admin`.
    pub role: String,
    /// The key's prefix and last characters, to tell keys apart.
    pub hint: String,
    #[schemars(with = "Rfc3339")]
    pub created_at: String,
    #[schemars(with = "Option<Rfc3339>")]
    pub revoked_at: Option<String>,
}

/// A new admin key: its record and the key, shown this once.
#[derive(Serialize, JsonSchema)]
pub struct AdminKeyCreated {
    #[serde(flatten)]
    pub record: AdminKeyView,
    pub key: String,
}
