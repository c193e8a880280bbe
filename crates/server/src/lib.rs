//! Clickledger's HTTP layer: the click redirect, postbacks, the admin API,
//! health and metrics. Handlers are thin: they parse, call the domain core
//! for decisions and the store for records.

pub mod admin;
pub mod alerts;
pub mod answers;
pub mod api;
pub mod auth;
pub mod browser;
pub mod cache;
pub mod canned;
pub mod caps;
pub mod click;
pub mod delivery;
pub mod filters;
pub mod flow;
pub mod geo;
pub mod journal;
pub mod keys;
pub mod metrics;
pub mod money;
pub mod openapi;
pub mod postback;
pub mod progress;
pub mod qa;
pub mod reads;
pub mod report;
pub mod requests;
pub mod security;
pub mod serve;
pub mod shared;
pub mod status_change;
pub mod test_postback;
pub mod tls;
pub mod ui;
pub mod users;
pub mod util;
pub mod writer;

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use clickledger_store::{EntityStatus, Store};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tower_layer::Layer;
use tracing::Instrument;

use crate::api::{Api, ApiError, Params, Path};
use crate::auth::{Admin, Caller};
use crate::cache::ConfigCache;
use crate::delivery::DeliverySettings;
use crate::geo::Geo;
use crate::metrics::Metrics;
use crate::security::Vault;
use crate::shared::buckets::Buckets;
use crate::shared::connection::Redis;
use crate::shared::replays::Replays;
use crate::shared::uniques::Uniques;
use crate::writer::ClickWriter;
use clickledger_domain::net::Cidr;
use clickledger_domain::rate::Limit;

pub struct Settings {
    /// Base URL used in the tracking and postback URLs the API returns.
    pub public_url: String,
    pub geoip: Option<PathBuf>,
    /// Clicks that may wait for the writer before new ones get a 503.
    pub queue_capacity: usize,
    /// Most clicks committed in one transaction.
    pub batch_max: usize,
    /// Peers whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed.
    pub trusted_proxies: Vec<Cidr>,
    /// Postbacks per source IP.
    pub postback_rate_ip: Limit,
    /// Postbacks per advertiser (an advertiser's `rate_limit` overrides it).
    pub postback_rate_advertiser: Limit,
    /// Clicks per IP before further clicks are marked suspicious.
    pub click_rate_ip: Limit,
    /// Browser conversions (`t.js`, `/px`) per visitor IP.
    pub browser_rate_ip: Limit,
    /// How long a rotated secret keeps working.
    pub secret_grace_seconds: i64,
    /// Seals signing secrets at rest.
    pub vault: Arc<Vault>,
    /// Set when the server terminates TLS itself.
    pub tls: Option<tls::TlsFiles>,
    pub delivery: DeliverySettings,
    /// The account's currency: reports and ledger balances are in it.
    pub base_currency: clickledger_domain::Currency,
    /// Raw clicks older than this many days are deleted (0: kept forever);
    /// rollups and conversions stay, so reports are unaffected.
    pub click_retention_days: u32,
    /// Dashboard sessions and login limits.
    pub ui: ui::UiSettings,
    /// This process's name among the nodes sharing a database: it names the
    /// delivery leases it takes. Stable across restarts (so a restarted
    /// node takes back its own jobs at once); `None` means host name and
    /// listening port.
    pub node: Option<String>,
    /// `redis://host:port/db` of the Redis the nodes share for rate limits,
    /// the webhook replay guard and unique clicks; `None`: each node keeps
    /// them alone.
    pub redis: Option<String>,
    /// The first part of every key this server writes in Redis, so several
    /// deployments (or tests) can share one.
    pub redis_prefix: String,
    /// The fallback journal's directory: while the store cannot take
    /// writes, clicks and postbacks are kept there and replayed when it is
    /// back. `None`: no journal (postbacks answer 503 while the store is
    /// away, and clicks are redirected unrecorded after a second's tries).
    pub journal: Option<PathBuf>,
    /// How often the journal's replayer probes the store while the journal
    /// holds records.
    pub journal_probe: Duration,
    /// How long a client may take to send a request's head (slowloris).
    pub header_read_timeout: Duration,
    /// The alert detectors' thresholds and the evaluator's schedule.
    pub alerts: alerts::evaluate::AlertSettings,
    /// IANA timezones reports by day are read in often: the rollups keep
    /// day rows for their local days too (`report::local_days`); in a
    /// tracker that has rollups already, from the next such day on, and
    /// on SQLite the days before are filled in behind.
    pub report_timezones: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            public_url: "http://127.0.0.1:7878".into(),
            geoip: None,
            queue_capacity: 16_384,
            batch_max: 1024,
            trusted_proxies: Vec::new(),
            postback_rate_ip: Limit {
                per_second: 1000.0,
                burst: 2000.0,
            },
            postback_rate_advertiser: Limit {
                per_second: 1000.0,
                burst: 2000.0,
            },
            click_rate_ip: Limit {
                per_second: 10.0,
                burst: 30.0,
            },
            browser_rate_ip: Limit {
                per_second: 5.0,
                burst: 50.0,
            },
            secret_grace_seconds: 86_400,
            vault: Arc::new(Vault::new([7u8; 32])),
            tls: None,
            delivery: DeliverySettings::default(),
            base_currency: clickledger_domain::Currency::parse("USD").expect("USD"),
            click_retention_days: 0,
            ui: ui::UiSettings::default(),
            node: None,
            redis: None,
            redis_prefix: "clickledger".into(),
            journal: None,
            journal_probe: Duration::from_millis(500),
            header_read_timeout: Duration::from_secs(10),
            alerts: Default::default(),
            report_timezones: Vec::new(),
        }
    }
}

pub struct AppState {
    pub store: Arc<dyn Store>,
    /// This node's name (see `Settings::node`).
    pub node: String,
    pub cache: ConfigCache,
    pub writer: ClickWriter,
    pub postback_writer: writer::PostbackWriter,
    /// The fallback journal, when the server has one.
    pub fallback: Option<journal::Fallback>,
    pub metrics: Arc<Metrics>,
    pub geo: Option<Geo>,
    pub uniques: Uniques,
    pub agents: click::AgentCache,
    /// The weights optimized flows use now.
    pub optimizer: flow::optimizer::Optimizer,
    pub public_url: String,
    /// Serializes admin changes (read-modify-write of cached records).
    pub admin_lock: tokio::sync::Mutex<()>,
    pub vault: Arc<Vault>,
    pub trusted_proxies: Vec<Cidr>,
    pub limits: Limits,
    pub postback_ip_limiter: Buckets<IpAddr>,
    pub postback_adv_limiter: Buckets<String>,
    pub click_ip_limiter: Buckets<IpAddr>,
    pub browser_ip_limiter: Buckets<IpAddr>,
    pub secret_grace_ms: i64,
    pub webhooks_seen: Replays,
    pub recent_clicks: postback::RecentClicks,
    pub delivery: DeliverySettings,
    pub dispatcher: delivery::Dispatcher,
    pub base_currency: clickledger_domain::Currency,
    pub caps: caps::CapState,
    pub click_retention_days: u32,
    /// True when this server terminates TLS, so every request is HTTPS.
    pub serves_tls: bool,
    /// The dashboard's sessions policy and login limiters.
    pub ui: ui::UiState,
    pub alerts: alerts::evaluate::AlertSettings,
    /// Where reports merge their rows, behind the click path
    /// (`report::merge`).
    pub report_threads: clickledger_store::report_threads::ReportThreads,
    /// Local days the rollups keep rows for, as the store said at start,
    /// each `since_ms` moved back as its earlier days are filled in
    /// (`report::local_days::fill_in`); a phase another node adds later
    /// is read as UTC days are.
    pub local_days: std::sync::RwLock<Vec<clickledger_store::LocalDays>>,
    /// Wakes the alert outbox's sender.
    pub alert_outbox: tokio::sync::Notify,
    /// The UTC day (days since the epoch) whose digest was queued last.
    pub alert_digest_day: std::sync::Mutex<i64>,
    /// The store's config stamp when the cached config was loaded.
    config_stamp: AtomicI64,
    openapi: Value,
}

pub struct Limits {
    pub postback_ip: Limit,
    pub postback_advertiser: Limit,
    pub click_ip: Limit,
    pub browser_ip: Limit,
}

impl AppState {
    /// Loads the config from the store, noting its stamp (read first: a
    /// change that lands during the load shows as a newer stamp, and the
    /// config watcher loads again).
    pub async fn reload(&self) -> Result<(), clickledger_store::StoreError> {
        let stamp = self.store.config_stamp().await.unwrap_or(i64::MIN);
        self.cache.reload(self.store.as_ref(), &self.vault).await?;
        self.config_stamp.store(stamp, Relaxed);
        self.metrics.config_reloads.fetch_add(1, Relaxed);
        Ok(())
    }

    /// The stamp of the cached config (`i64::MIN` when it could not be read,
    /// so the next readable stamp reloads).
    pub fn seen_config_stamp(&self) -> i64 {
        self.config_stamp.load(Relaxed)
    }
}

pub use keys::{ensure_admin_key, AdminKeyStart};

/// Pause and resume routes for one kind of record, each `(path,
/// summary)`; they answer the record.
fn status_routes<T: schemars::JsonSchema>(
    api: Api,
    kind: &'static str,
    pause: (&'static str, &'static str),
    resume: (&'static str, &'static str),
) -> Api {
    use admin::set_status;
    api.post(
        pause.0,
        pause.1,
        move |State(app): State<Arc<AppState>>, a: Admin, Path(id): Path<String>| {
            set_status(app, a, kind, id, EntityStatus::Paused)
        },
    )
    .answer::<T>(200, "the record, paused")
    .refuses(&[422])
    .post(
        resume.0,
        resume.1,
        move |State(app): State<Arc<AppState>>, a: Admin, Path(id): Path<String>| {
            set_status(app, a, kind, id, EntityStatus::Active)
        },
    )
    .answer::<T>(200, "the record, active")
    .refuses(&[422])
}

fn routes() -> Api {
    use admin::*;
    use answers::*;
    use clickledger_store::{
        Advertiser, Affiliate, AuditEntry, Click, Conversion, Destination, DestinationEvent,
        FxRate, LedgerEntry, Offer, TemplateVersion,
    };
    use openapi::{Answer, Body};
    use reads::*;
    let rotation = |api: Api, path: &'static str, summary: &'static str, what: Rotation| {
        api.post(
            path,
            summary,
            move |State(app): State<Arc<AppState>>, Admin(key): Admin, Path(id): Path<String>| {
                rotate_advertiser(app, key, id, what)
            },
        )
        .answer::<Rotated>(200, "the new secret, shown once")
    };
    let version_routes = |api: Api, kind: &'static str, list: &'static str, diff: &'static str| {
        api.get(
            list,
            "Postback template versions, oldest first",
            move |State(app): State<Arc<AppState>>, c: Caller, Path(id): Path<String>| {
                versions(app, c, kind, id)
            },
        )
        .answer::<Items<TemplateVersion>>(200, "the versions")
        .get(
            diff,
            "Differences between two template versions (?from=&to=)",
            move |State(app): State<Arc<AppState>>,
                  c: Caller,
                  Path(id): Path<String>,
                  Params(q): Params<DiffQuery>| { versions_diff(app, c, kind, id, q) },
        )
        .query::<DiffQuery>()
        .answer::<VersionDiff>(200, "both versions and the changed paths")
    };
    let csv = "text/csv";
    let api = Api::new()
        .post("/api/v1/advertisers", "Create an advertiser; returns its postback token, signing secret and API key once", create_advertiser)
        .body::<NewAdvertiser>().answer::<AdvertiserCreated>(201, "the advertiser with its secrets").refuses(&[422])
        .get("/api/v1/advertisers", "List advertisers (status, q: part of the name); an advertiser key sees itself", list_advertisers)
        .query::<PartnerListQuery>().answer::<Items<Advertiser>>(200, "the advertisers")
        .get("/api/v1/advertisers/{id}", "Get an advertiser", get_advertiser)
        .answer::<Advertiser>(200, "the advertiser")
        .patch("/api/v1/advertisers/{id}", "Change name, status, alias_map, status_map, ip_allowlist, require_signature, require_https, rate_limit, alert_overrides", patch_advertiser)
        .body::<AdvertiserPatch>().answer::<Advertiser>(200, "the changed advertiser").refuses(&[422])
        .post("/api/v1/offers", "Create an offer with its destination template and events", create_offer)
        .body::<NewOffer>().answer::<Offer>(201, "the offer").refuses(&[422])
        .get("/api/v1/offers", "List offers (status, q: part of the name, advertiser_id); partners see theirs", list_offers)
        .query::<OfferListQuery>().answer::<Items<Offer>>(200, "the offers")
        .get("/api/v1/offers/{id}", "Get an offer", get_offer)
        .answer::<Offer>(200, "the offer")
        .patch("/api/v1/offers/{id}", "Change name, status, URLs, window, events, too-fast rules, caps, alert_overrides", patch_offer)
        .body::<OfferPatch>().answer::<Offer>(200, "the changed offer").refuses(&[422])
        .get("/api/v1/offers/{id}/setup", "The offer's integration setup document (?format=md|html)", qa::setup)
        .query::<qa::SetupQuery>()
        .answer_as(Answer::text(200, "text/markdown", "the setup document").or_text("text/html"))
        .post("/api/v1/offers/{id}/test-click", "Record a test click; answers the click id and the destination", qa::test_click)
        .optional_body::<qa::TestClick>().answer::<TestClicked>(201, "the test click").refuses(&[422])
        .post("/api/v1/offers/{id}/test-postback", "Fire a postback for a test click through full validation (JSON fields)", qa::test_postback)
        .body::<requests::PostbackFields>().answer::<PostbackAnswer>(200, "the postback's answer").refuses(&[409, 422, 429])
        .post("/api/v1/affiliates", "Create an affiliate; returns its API key once", create_affiliate)
        .body::<NewAffiliate>().answer::<AffiliateCreated>(201, "the affiliate with its secrets").refuses(&[422])
        .get("/api/v1/affiliates", "List affiliates (status, q: part of the name); an affiliate key sees itself", list_affiliates)
        .query::<PartnerListQuery>().answer::<Items<Affiliate>>(200, "the affiliates")
        .get("/api/v1/affiliates/{id}", "Get an affiliate", get_affiliate)
        .answer::<Affiliate>(200, "the affiliate")
        .patch("/api/v1/affiliates/{id}", "Change name, status or postback_url", patch_affiliate)
        .body::<AffiliatePatch>().answer::<Affiliate>(200, "the changed affiliate").refuses(&[422])
        .post("/api/v1/affiliates/{id}/rotate-api-key", "Issue a new API key; the old one works for the grace period", rotate_affiliate_key)
        .answer::<Rotated>(200, "the new key, shown once")
        .post("/api/v1/links", "Create a tracking link for an offer and an affiliate", create_link)
        .body::<NewLink>().answer::<LinkView>(201, "the link with its tracking URL").refuses(&[422])
        .get("/api/v1/links", "List links (status, offer_id, affiliate_id); partners see theirs", list_links)
        .query::<LinkListQuery>().answer::<Items<LinkView>>(200, "the links")
        .get("/api/v1/links/{id}", "Get a link", get_link)
        .answer::<LinkView>(200, "the link")
        .patch("/api/v1/links/{id}", "Change a link's status", patch_link)
        .body::<LinkPatch>().answer::<LinkView>(200, "the changed link")
        .put("/api/v1/links/{id}/flow", "Save the link's traffic flow: ordered rules (name, if, then to: a weighted split of offers and URLs, or action: block|redirect) and a default split; the first rule whose conditions all match takes the visitor (a new version, audited)", flow::api::put_flow)
        .body::<flow::api::FlowBody>().answer::<flow::api::FlowView>(200, "the saved flow with its version").refuses(&[422])
        .get("/api/v1/links/{id}/flow", "The link's flow, its version and, for optimized rules, the weights in use", flow::api::get_flow)
        .answer::<flow::api::FlowView>(200, "the flow")
        .delete("/api/v1/links/{id}/flow", "Remove the link's flow: every visitor goes to the link's offer again (a new version, audited)", flow::api::delete_flow)
        .answer::<LinkView>(200, "the link")
        .get("/api/v1/clicks", "List clicks, newest first (offer_id, affiliate_id, link_id, source, sub1..sub5, country, from, to, limit); partners see theirs", list_clicks)
        .query::<ClickQuery>().answer::<Items<Click>>(200, "the clicks, newest first")
        .get("/api/v1/clicks/{click_id}", "Get a click", get_click)
        .answer::<Click>(200, "the click")
        .get("/api/v1/conversions", "List conversions, newest first (status, event, txid, click_id, offer_id, advertiser_id, affiliate_id, link_id, source, from, to, limit); partners see theirs", list_conversions)
        .query::<ConversionQuery>().answer::<Items<Conversion>>(200, "the conversions, newest first")
        .get("/api/v1/postbacks", "The inbound postback log with expected fields and differences, newest first (result, error, advertiser_id, offer_id, click_id, txid, from, to, limit)", list_postbacks)
        .query::<PostbackQuery>().answer::<Items<PostbackLogView>>(200, "the log entries, newest first")
        .get("/api/v1/reports", "Report (group_by, from, to, tz, format=json|csv, dimension filters)", report::report)
        .query::<report::ReportParams>()
        .answer_as(Answer::json(200, "the report (format=json), or CSV with a TOTAL row (format=csv)", openapi::schema_fn::<Report>()).or_text(csv))
        .get("/api/v1/audit", "Every admin change: who, when, what, before and after, newest first (entity_id, key_id, action, from, to, limit)", list_audit)
        .query::<AuditQuery>().answer::<Items<AuditEntry>>(200, "the audit entries, newest first")
        .get("/api/v1/admin-keys", "Admin keys: id, name, hint (prefix and last characters), created, revoked; never the key", keys::list_admin_keys)
        .answer::<Items<AdminKeyView>>(200, "the admin keys")
        .post("/api/v1/admin-keys", "Create an admin key ({name}); answers the key once", keys::create_admin_key)
        .body::<keys::NewAdminKey>().answer::<AdminKeyCreated>(201, "the key's record and the key, shown once").refuses(&[422])
        .post("/api/v1/admin-keys/{id}/revoke", "Revoke an admin key for good (not the last one, not the caller's own)", keys::revoke_admin_key)
        .answer::<AdminKeyView>(200, "the revoked key's record").refuses(&[409, 422])
        .delete("/api/v1/admin-keys/{id}", "Revoke an admin key (same as POST …/revoke)", keys::revoke_admin_key)
        .answer::<AdminKeyView>(200, "the revoked key's record").refuses(&[409, 422])
        .get("/api/v1/affiliates/{id}/ledger", "The affiliate's ledger: balance (base currency), balances per currency, entries (?at=date, format=csv)", money::ledger)
        .query::<money::LedgerQuery>()
        .answer_as(Answer::json(200, "the ledger (JSON), or its entries as CSV (format=csv)", openapi::schema_fn::<Ledger>()).or_text(csv))
        .post("/api/v1/affiliates/{id}/ledger", "Add an adjustment (with a reason) or a payout", money::add_entry)
        .body::<money::NewEntry>().answer::<LedgerEntry>(201, "the entry").refuses(&[422])
        .get("/api/v1/fx-rates", "Dated FX rates into the base currency", money::list_fx)
        .answer::<Items<FxRate>>(200, "the rates")
        .post("/api/v1/fx-rates", "Store FX rates: JSON [{currency, date, rate}] or CSV", money::put_fx)
        .body_as(Body::Content(vec![("application/json", Some(openapi::schema_fn::<Vec<FxRate>>())), (csv, None)], true))
        .answer::<FxStored>(200, "how many rates were stored").refuses(&[422])
        .post("/api/v1/conversions/import", "Upload conversions as CSV (click_id, event, txid, amount, currency, status); answers a CSV result per row", money::import_conversions)
        .body_as(Body::Content(vec![(csv, None)], true))
        .answer_as(Answer::text(200, csv, "one result line per row")).refuses(&[422])
        .post("/api/v1/reconciliation", "Compare an advertiser's CSV (txid, amount, status) with what was recorded (?advertiser_id, from, to)", money::reconcile)
        .query::<money::ReconcileQuery>()
        .body_as(Body::Content(vec![(csv, None)], true))
        .answer::<Reconciliation>(200, "matches, rows missing on either side, and differences").refuses(&[422])
        .get("/api/v1/deliveries", "Outbound postbacks, newest first (affiliate_id, state=pending|delivered|failed|suspended, conversion_id, from, to, limit)", list_deliveries)
        .query::<DeliveryQuery>().answer::<Items<DeliveryView>>(200, "the deliveries, newest first")
        .get("/api/v1/deliveries/{id}", "One outbound postback with every attempt", get_delivery)
        .answer::<DeliveryDetail>(200, "the delivery and its attempts")
        .post("/api/v1/deliveries/{id}/retry", "Send a delivery again now, with a fresh schedule", retry_delivery)
        .answer::<Retried>(200, "the delivery, pending again")
        .post("/api/v1/deliveries/replay", "Queue again every delivery created in a time range ({affiliate_id?, from, to})", replay_deliveries)
        .body::<Replay>().answer::<Requeued>(200, "how many were queued again").refuses(&[422])
        .get("/api/v1/destinations", "Affiliates' endpoint health: state (healthy, failing: jobs wait and one probe goes out per interval, disabled: until re-enabled), failures in a row, failing since, next probe, reason", list_destinations)
        .answer::<Items<Destination>>(200, "the destinations")
        .get("/api/v1/destinations/{id}/events", "A destination's changes of state (failing, recovered, disabled, enabled), newest first (the last 100)", destination_events)
        .answer::<Items<DestinationEvent>>(200, "the events")
        .post("/api/v1/affiliates/{id}/resume-deliveries", "Re-enable a destination (disabled or failing): healthy, its waiting jobs sent in order", resume_destination)
        .answer::<Resumed>(200, "the destination, healthy again")
        .post("/api/v1/affiliates/{id}/test-postback", "Send the affiliate's postback once for a made-up approved conversion (test: true; signed, destination rules apply; nothing recorded but the audit entry); answers what was sent and what came back (admin or the affiliate's own key; ?offer_id, event choose the template)", test_postback::test_postback)
        .query::<test_postback::TestPostbackQuery>()
        .answer::<test_postback::TestPostback>(200, "the request sent and the answer received (a failed send is an answer too)").refuses(&[422])
        .get("/api/v1/alerts", "Alerts, newest first (state=open|resolved, kind, limit): postbacks stopped, rejection spikes, unreplaced macros, double-encoded click ids, failing or disabled destinations, caps reached, a journal not draining; partners see theirs", alerts::hooks::list_alerts)
        .query::<alerts::hooks::AlertQuery>().answer::<Items<alerts::hooks::AlertView>>(200, "the alerts, newest first")
        .post("/api/v1/alert-hooks", "Add an alert hook ({url, kinds?, format?: standard|slack}): it receives a Standard Webhooks-signed message when an alert opens or resolves, and the daily digest; answers its signing secret once", alerts::hooks::create_hook)
        .body::<alerts::hooks::NewAlertHook>().answer::<alerts::hooks::AlertHookCreated>(201, "the hook with its secret, shown once").refuses(&[422])
        .get("/api/v1/alert-hooks", "The alert hooks (never their secrets)", alerts::hooks::list_hooks)
        .answer::<Items<alerts::hooks::AlertHookView>>(200, "the hooks")
        .delete("/api/v1/alert-hooks/{id}", "Remove an alert hook; its waiting messages fail", alerts::hooks::delete_hook)
        .answer::<alerts::hooks::AlertHookView>(200, "the removed hook")
        .get("/api/v1/alert-hooks/{id}/deliveries", "The messages sent to a hook and how each went, newest first (limit)", alerts::hooks::hook_deliveries)
        .query::<alerts::hooks::HookDeliveryQuery>().answer::<Items<alerts::hooks::AlertDeliveryView>>(200, "the messages, newest first")
        .post("/api/v1/affiliates/{id}/rotate-webhook-secret", "Issue a new outbound signing secret; both sign during the grace period", rotate_affiliate_webhook_secret)
        .answer::<Rotated>(200, "the new secret, shown once");
    let api = rotation(
        api,
        "/api/v1/advertisers/{id}/rotate-token",
        "Issue a new postback token; the old one works for the grace period",
        Rotation::Token,
    );
    let api = rotation(
        api,
        "/api/v1/advertisers/{id}/rotate-signing-secret",
        "Issue a new signing secret; the old one works for the grace period",
        Rotation::SigningSecret,
    );
    let api = rotation(
        api,
        "/api/v1/advertisers/{id}/rotate-publishable-key",
        "Issue a new publishable key for browser conversions; the old one stops working at once",
        Rotation::PublishableKey,
    );
    let api = rotation(
        api,
        "/api/v1/advertisers/{id}/rotate-api-key",
        "Issue a new advertiser API key; the old one works for the grace period",
        Rotation::ApiKey,
    );
    let api = version_routes(
        api,
        "advertiser",
        "/api/v1/advertisers/{id}/versions",
        "/api/v1/advertisers/{id}/versions/diff",
    );
    let api = version_routes(
        api,
        "affiliate",
        "/api/v1/affiliates/{id}/versions",
        "/api/v1/affiliates/{id}/versions/diff",
    );
    let api = version_routes(
        api,
        "link",
        "/api/v1/links/{id}/flow/versions",
        "/api/v1/links/{id}/flow/versions/diff",
    );
    let api = status_routes::<Advertiser>(
        api,
        "advertisers",
        (
            "/api/v1/advertisers/{id}/pause",
            "Pause an advertiser: the links of its offers redirect to the offer's fallback_url, or answer 410 naming the advertiser (same as PATCH status=paused)",
        ),
        (
            "/api/v1/advertisers/{id}/resume",
            "Resume an advertiser (same as PATCH status=active)",
        ),
    );
    let api = status_routes::<Offer>(
        api,
        "offers",
        (
            "/api/v1/offers/{id}/pause",
            "Pause an offer: its links redirect to the offer's fallback_url, or answer 410 naming the offer (same as PATCH status=paused)",
        ),
        (
            "/api/v1/offers/{id}/resume",
            "Resume an offer (same as PATCH status=active)",
        ),
    );
    let api = status_routes::<Affiliate>(
        api,
        "affiliates",
        (
            "/api/v1/affiliates/{id}/pause",
            "Pause an affiliate: its links redirect to the offer's fallback_url, or answer 410 naming the affiliate (same as PATCH status=paused)",
        ),
        (
            "/api/v1/affiliates/{id}/resume",
            "Resume an affiliate (same as PATCH status=active)",
        ),
    );
    let api = status_routes::<LinkView>(
        api,
        "links",
        (
            "/api/v1/links/{id}/pause",
            "Pause a link: it redirects to the offer's fallback_url, or answers 410 naming the link (same as PATCH status=paused)",
        ),
        (
            "/api/v1/links/{id}/resume",
            "Resume a link (same as PATCH status=active)",
        ),
    );
    let postback_body = || {
        Body::Content(
            vec![
                (
                    "application/x-www-form-urlencoded",
                    Some(openapi::schema_fn::<requests::PostbackFields>()),
                ),
                (
                    "application/json",
                    Some(openapi::schema_fn::<requests::PostbackFields>()),
                ),
            ],
            false,
        )
    };
    let postback_refusals = [401, 403, 404, 409, 422, 429, 503];
    let browser_body = Body::Content(
        vec![
            (
                "text/plain",
                Some(openapi::schema_fn::<requests::BrowserFields>()),
            ),
            (
                "application/json",
                Some(openapi::schema_fn::<requests::BrowserFields>()),
            ),
            (
                "application/x-www-form-urlencoded",
                Some(openapi::schema_fn::<requests::BrowserFields>()),
            ),
        ],
        false,
    );
    let public = Api::new()
        .tag("public")
        .get(
            "/c/{link_id}",
            "Tracking link: records the click and redirects (302)",
            click::click,
        )
        .query::<requests::TrackingLinkQuery>()
        .answer_as(Answer::redirect(
            302,
            "to the offer's destination (or its fallback when paused)",
        ))
        .refuses(&[410, 503])
        .get(
            "/postback",
            "Advertiser postback (query fields)",
            postback::postback,
        )
        .query::<requests::PostbackFields>()
        .answer::<PostbackAnswer>(200, "recorded, duplicate or updated")
        .answer::<PostbackQueued>(202, "the store is away: kept in the fallback journal, decided when it is back")
        .refuses(&postback_refusals)
        .post(
            "/postback",
            "Advertiser postback (form or JSON body)",
            postback::postback,
        )
        .query::<requests::PostbackFields>()
        .body_as(postback_body())
        .answer::<PostbackAnswer>(200, "recorded, duplicate or updated")
        .answer::<PostbackQueued>(202, "the store is away: kept in the fallback journal, decided when it is back")
        .refuses(&postback_refusals)
        .get(
            "/postback/{token}",
            "Advertiser postback with the token in the path",
            postback::postback_with_token,
        )
        .query::<requests::PostbackFields>()
        .answer::<PostbackAnswer>(200, "recorded, duplicate or updated")
        .answer::<PostbackQueued>(202, "the store is away: kept in the fallback journal, decided when it is back")
        .refuses(&postback_refusals)
        .post(
            "/postback/{token}",
            "Advertiser postback with the token in the path",
            postback::postback_with_token,
        )
        .query::<requests::PostbackFields>()
        .body_as(postback_body())
        .answer::<PostbackAnswer>(200, "recorded, duplicate or updated")
        .answer::<PostbackQueued>(202, "the store is away: kept in the fallback journal, decided when it is back")
        .refuses(&postback_refusals)
        .get(
            "/t.js",
            "The landing-page script for browser conversions (keeps the click id in a first-party cookie; clickledger.conversion({...}))",
            browser::script,
        )
        .query::<browser::ScriptQuery>()
        .answer_as(Answer::text(200, "text/javascript", "the script (cached a year with ?v=1; ETag)"))
        .answer_as(Answer::empty(304, "If-None-Match matched the ETag"))
        .get(
            "/px",
            "Browser conversion pixel: always a 1x1 GIF; the outcome is in X-Clickledger-Result and the postback log",
            browser::pixel,
        )
        .query::<requests::BrowserFields>()
        .answer_as(Answer::text(200, "image/gif", "a transparent 1x1 GIF, whatever the outcome").header("X-Clickledger-Result", "accepted, duplicate, updated, queued, or the refusal's error code"))
        .post(
            "/t/conversion",
            "Browser conversion as t.js sends it (JSON, also as text/plain); authenticated by publishable_key and the page's Origin/Referer host",
            browser::conversion,
        )
        .query::<requests::BrowserFields>()
        .body_as(browser_body)
        .answer::<PostbackAnswer>(200, "recorded, duplicate or updated")
        .answer::<PostbackQueued>(202, "the store is away: kept in the fallback journal, decided when it is back")
        .refuses(&postback_refusals)
        .options(
            "/t/conversion",
            "CORS preflight: 204, with Access-Control-Allow-Origin only for an allowed page origin",
            browser::preflight,
        )
        .answer_as(Answer::empty(204, "no body; CORS headers when the Origin is allowed"))
        .get(
            "/healthz",
            "200 while the tracker takes writes, into the store or (while the store is away) into its fallback journal; 503 when neither takes them",
            healthz,
        )
        .answer::<Health>(200, "writes are taken; the body says where")
        .refuses(&[503])
        .get(
            "/readyz",
            "200 while writes go to the store and the fallback journal is empty; 503 while the store is away or the journal drains",
            readyz,
        )
        .answer::<Health>(200, "writes go to the store")
        .refuses(&[503])
        .get("/metrics", "Prometheus metrics", metrics_text)
        .answer_as(Answer::text(
            200,
            "text/plain",
            "the Prometheus text format",
        ))
        .get("/api/v1/openapi.json", "This document", openapi_doc)
        .answer::<serde_json::Map<String, Value>>(200, "the OpenAPI 3.1 document");
    api.merge(users::routes())
        .merge(status_change::routes())
        .merge(public)
}

/// The OpenAPI document of every route the server serves.
pub fn openapi() -> Value {
    let (_, docs) = routes().into_parts();
    openapi::document(&docs)
}

/// Where writes can go now, probed: the store (within 2 s), else the
/// fallback journal (a probe file written and synced in its directory).
async fn write_health(app: &AppState) -> (answers::Health, Option<String>) {
    let store = match tokio::time::timeout(Duration::from_secs(2), app.store.check_writable()).await
    {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("the store did not answer within 2 s".to_string()),
    };
    let journal = app.fallback.as_ref().map(|f| &f.journal);
    if let (Err(e), Some(j)) = (&store, journal) {
        // no write needs to fail first to find out
        j.store_down(e);
    }
    let journal_writable = match journal {
        Some(j) if store.is_err() => j.probe().await,
        Some(j) => j.status().error.is_none(),
        None => false,
    };
    let writes = match (&store, journal) {
        (Ok(()), Some(j)) if !j.store_up() => "journal",
        (Ok(()), _) => "store",
        (Err(_), _) if journal_writable => "journal",
        _ => "none",
    };
    let health = answers::Health {
        status: if writes == "none" {
            "unavailable"
        } else {
            "ok"
        },
        store: if store.is_ok() {
            "available"
        } else {
            "unavailable"
        },
        writes,
        journal: journal.map(|j| {
            let s = j.status();
            answers::JournalHealth {
                depth: s.depth,
                clicks: s.clicks,
                postbacks: s.postbacks,
                oldest_age_seconds: s.age_seconds(util::now_ms()),
                writable: journal_writable,
            }
        }),
    };
    (health, store.err())
}

/// A health answer: 200 when `ok`, else 503 with the error shape added.
fn health_answer(ok: bool, health: answers::Health, why: &str) -> Response {
    if ok {
        return (StatusCode::OK, Json(health)).into_response();
    }
    // the error shape, with the health fields beside it
    let error = ApiError::new(clickledger_domain::ErrorCode::StoreUnavailable, why);
    let mut body = error.body();
    if let (Value::Object(b), Value::Object(h)) = (&mut body, json!(health)) {
        for (k, v) in h {
            b.entry(k).or_insert(v);
        }
    }
    body["status"] = json!("unavailable");
    let mut resp = error.into_response();
    *resp.body_mut() = axum::body::Body::from(body.to_string());
    resp
}

/// For load balancers: a node that takes writes into its journal while the
/// shared database is away stays in, so clicks keep redirecting.
async fn healthz(State(app): State<Arc<AppState>>) -> Response {
    let (health, store_error) = write_health(&app).await;
    let why = format!(
        "neither the store nor a fallback journal takes writes: {}",
        store_error.as_deref().unwrap_or("")
    );
    health_answer(health.writes != "none", health, &why)
}

/// For operators and orchestrators: ready means writes go to the store.
async fn readyz(State(app): State<Arc<AppState>>) -> Response {
    let (health, store_error) = write_health(&app).await;
    let why = match &store_error {
        Some(e) => format!("the store does not take writes: {e}"),
        None => "the fallback journal is still being replayed into the store".to_string(),
    };
    health_answer(health.writes == "store", health, &why)
}

async fn metrics_text(State(app): State<Arc<AppState>>) -> Response {
    let mut text = app.metrics.render();
    if let Some(f) = &app.fallback {
        f.journal.render_metrics(&mut text, util::now_ms());
    }
    ([("content-type", "text/plain; version=0.0.4")], text).into_response()
}

async fn openapi_doc(State(app): State<Arc<AppState>>) -> Json<Value> {
    Json(app.openapi.clone())
}

/// Gives every request an id (kept from `x-request-id` when the caller sent
/// a sane one), logs it in a span and echoes it in the answer.
async fn request_id(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        .map(str::to_string)
        .unwrap_or_else(|| format!("{:016x}", util::random_u128() as u64));
    // The path only: query strings carry tokens.
    let span =
        tracing::info_span!("request", id = %id, method = %req.method(), path = %req.uri().path());
    let mut resp = next.run(req).instrument(span.clone()).await;
    span.in_scope(|| tracing::debug!(status = resp.status().as_u16(), "answered"));
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

/// No route: a browser asking for a dashboard page gets the dashboard's 404
/// page; API clients (and every tracker path) get the JSON 404.
async fn fallback(
    State(app): State<Arc<AppState>>,
    headers: axum::http::HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    if ui::wants_page(uri.path(), &headers) {
        return ui::not_found(&app, &headers, uri.path()).await;
    }
    ApiError::new(
        clickledger_domain::ErrorCode::NotFound,
        "no such endpoint; see /api/v1/openapi.json",
    )
    .into_response()
}

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
    server: JoinHandle<std::io::Result<()>>,
    writer: JoinHandle<()>,
    postback_writer: JoinHandle<()>,
    dispatcher: JoinHandle<()>,
    alert_sender: JoinHandle<()>,
    replayer: JoinHandle<()>,
    fallback: Option<JoinHandle<()>>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Running {
    /// Graceful stop: no new connections, in-flight requests finish, every
    /// queued click is committed.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.server.await;
        // a replay under way ends before the writers it feeds close
        let _ = self.replayer.await;
        self.state.writer.close().await;
        let _ = self.writer.await;
        if let Err(e) = self.state.store.flush_rollups().await {
            tracing::warn!(error = %e, "click rollups not flushed; rebuilt on the next start");
        }
        self.state.postback_writer.close().await;
        let _ = self.postback_writer.await;
        let _ = self.dispatcher.await;
        let _ = self.alert_sender.await;
        if let (Some(f), Some(task)) = (&self.state.fallback, self.fallback) {
            f.close().await;
            let _ = task.await;
        }
    }

    /// Waits for `signal`, then shuts down.
    pub async fn run_until(self, signal: impl Future<Output = ()>) {
        signal.await;
        tracing::info!("shutting down: finishing requests and flushing clicks");
        self.shutdown().await;
    }
}

pub async fn start(
    store: Arc<dyn Store>,
    settings: Settings,
    listener: TcpListener,
) -> Result<Running, String> {
    let geo = match &settings.geoip {
        Some(p) => Some(Geo::open(p)?),
        None => None,
    };
    let metrics = Arc::new(Metrics::default());
    let journal = match &settings.journal {
        Some(dir) => {
            Some(Arc::new(journal::Journal::open(dir).map_err(|e| {
                format!("fallback journal {}: {e}", dir.display())
            })?))
        }
        None => None,
    };
    let (fallback_journal, fallback_task) = match &journal {
        Some(j) => {
            let (f, t) = journal::Fallback::spawn(j.clone());
            (Some(f), Some(t))
        }
        None => (None, None),
    };
    let (writer, writer_task) = ClickWriter::spawn(
        store.clone(),
        journal.clone(),
        metrics.clone(),
        settings.queue_capacity,
        settings.batch_max,
    );
    let (postback_writer, postback_task) =
        writer::PostbackWriter::spawn(store.clone(), settings.queue_capacity, 512);
    let (router, docs) = routes().into_parts();
    let redis = match &settings.redis {
        Some(url) => {
            let r = Arc::new(Redis::open(url, &settings.redis_prefix, metrics.clone())?);
            // a node serves while Redis is away; this only says so early
            r.connect().await;
            Some(r)
        }
        None => None,
    };
    let redis = redis.as_ref();
    let local_days =
        report::local_days::keep(&*store, &settings.report_timezones, util::now_ms()).await?;
    // one merge per core at once; a report's reads go on meanwhile
    let report_threads =
        clickledger_store::report_threads::ReportThreads::per_core("report-merge", 1)
            .map_err(|e| format!("starting the report threads: {e}"))?;
    let state = Arc::new(AppState {
        store: store.clone(),
        cache: ConfigCache::default(),
        writer,
        postback_writer,
        fallback: fallback_journal,
        metrics,
        geo,
        uniques: Uniques::new(redis),
        agents: Default::default(),
        optimizer: Default::default(),
        public_url: settings.public_url.trim_end_matches('/').to_string(),
        admin_lock: tokio::sync::Mutex::new(()),
        vault: settings.vault.clone(),
        trusted_proxies: settings.trusted_proxies.clone(),
        limits: Limits {
            postback_ip: settings.postback_rate_ip,
            postback_advertiser: settings.postback_rate_advertiser,
            click_ip: settings.click_rate_ip,
            browser_ip: settings.browser_rate_ip,
        },
        postback_ip_limiter: Buckets::new("postback_ip", redis),
        postback_adv_limiter: Buckets::new("postback_advertiser", redis),
        click_ip_limiter: Buckets::new("click_ip", redis),
        browser_ip_limiter: Buckets::new("browser_ip", redis),
        secret_grace_ms: settings.secret_grace_seconds * 1000,
        webhooks_seen: Replays::new(redis),
        recent_clicks: Default::default(),
        delivery: settings.delivery.clone(),
        dispatcher: Default::default(),
        base_currency: settings.base_currency,
        caps: Default::default(),
        click_retention_days: settings.click_retention_days,
        serves_tls: settings.tls.is_some(),
        ui: ui::UiState::new(&settings.ui, redis),
        alerts: settings.alerts.clone(),
        local_days: std::sync::RwLock::new(local_days),
        report_threads,
        alert_outbox: tokio::sync::Notify::new(),
        alert_digest_day: std::sync::Mutex::new(i64::MIN),
        config_stamp: AtomicI64::new(i64::MIN),
        openapi: openapi::document(&docs),
        node: node_name(&settings, &listener),
    });
    state.reload().await.map_err(|e| e.to_string())?;
    shared::config_watch::spawn(&state);
    spawn_housekeeping(state.clone());
    flow::optimizer::spawn(&state);
    alerts::evaluate::spawn(&state);
    report::local_days::fill_in(&state);
    let routed: Router = router
        .merge(ui::router())
        .fallback(fallback)
        .layer(DefaultBodyLimit::max(api::BODY_LIMIT))
        .with_state(state.clone());
    // Outside the routes, so it sees answers as they leave the router
    // (a 405 with its Allow header) and nothing can bypass it.
    let app: Router = Router::new()
        .fallback_service(middleware::from_fn(api::json_errors).layer(routed))
        .layer(middleware::from_fn(request_id));
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let dispatcher = tokio::spawn(delivery::run(state.clone(), stop.subscribe()));
    let alert_sender = tokio::spawn(alerts::outbox::run(state.clone(), stop.subscribe()));
    let replayer = tokio::spawn(journal::replay::run(
        Arc::downgrade(&state),
        settings.journal_probe,
        stop.subscribe(),
    ));
    let tls = settings.tls.as_ref().map(tls::acceptor).transpose()?;
    let server = tokio::spawn(serve::serve(
        listener,
        app,
        tls,
        settings.header_read_timeout,
        stopped,
    ));
    Ok(Running {
        addr,
        state,
        server,
        writer: writer_task,
        postback_writer: postback_task,
        dispatcher,
        alert_sender,
        replayer,
        fallback: fallback_task,
        stop,
    })
}

/// Approves held conversions whose hold has ended, with their ledger entry
/// and notification.
pub async fn release_holds(state: &AppState, now: i64) {
    let due = match state.store.due_holds(now, 1000).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "holds not checked");
            return;
        }
    };
    let cfg = state.cache.get();
    for id in due {
        let filter = clickledger_store::ConversionFilter {
            id: Some(id.clone()),
            limit: 1,
            ..Default::default()
        };
        let notify = match state.store.conversions(&filter).await {
            Ok(list) => list.first().and_then(|c| postback::notify_for(&cfg, c)),
            Err(_) => continue,
        };
        match state
            .store
            .release_hold(&id, now, notify, state.base_currency)
            .await
        {
            Ok(Some(_)) => state.dispatcher.wake.notify_one(),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, conversion = %id, "hold not released"),
        }
    }
}

/// Recounts every capped offer (periods roll over with time).
async fn refresh_caps(state: &AppState, now: i64) {
    let cfg = state.cache.get();
    for entry in cfg.offers.values().filter(|e| !e.offer.caps.is_empty()) {
        let affiliates: Vec<String> = cfg
            .links
            .values()
            .filter(|l| l.offer_id == entry.offer.id)
            .map(|l| l.affiliate_id.clone())
            .collect();
        if let Err(e) = state
            .caps
            .refresh(state.store.as_ref(), &entry.offer, &affiliates, now)
            .await
        {
            tracing::warn!(error = %e, "caps not refreshed");
        }
    }
}

/// The node's name: as configured, else host name and listening port.
fn node_name(settings: &Settings, listener: &tokio::net::TcpListener) -> String {
    if let Some(n) = &settings.node {
        return n.clone();
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".into());
    match listener.local_addr() {
        Ok(a) => format!("{host}:{}", a.port()),
        Err(_) => host,
    }
}

/// Periodic work: forget day-old unique-click keys and full rate buckets,
/// release ended holds, expire old clicks and sessions, recount caps. Every
/// node runs it; the store makes each step idempotent (a hold released or a
/// click expired by one node is not there for the next). The config follows
/// other nodes' changes through `shared::config_watch`.
fn spawn_housekeeping(state: Arc<AppState>) {
    let weak = Arc::downgrade(&state);
    drop(state);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(10));
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(state) = weak.upgrade() else { break };
            let now = util::now_ms();
            state.uniques.prune(now);
            state.webhooks_seen.prune(now);
            state
                .postback_ip_limiter
                .prune(state.limits.postback_ip, now);
            state
                .postback_adv_limiter
                .prune(state.limits.postback_advertiser, now);
            state.click_ip_limiter.prune(state.limits.click_ip, now);
            state.browser_ip_limiter.prune(state.limits.browser_ip, now);
            ui::housekeeping(&state, now);
            // the store's own work runs on one node at a time (each step
            // is idempotent anyway: this saves the others the scans); the
            // lease outlives three ticks, so a dead leader's turn passes on
            let leads = state
                .store
                .lead("housekeeping", &state.node, now, 30_000)
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "housekeeping lease not taken");
                    false
                });
            if leads {
                ui::expire_sessions(&state, now).await;
                release_holds(&state, now).await;
                if state.click_retention_days > 0 {
                    let before = now - state.click_retention_days as i64 * 86_400_000;
                    if let Err(e) = state.store.expire_clicks(before, 50_000).await {
                        tracing::warn!(error = %e, "old clicks not expired");
                    }
                }
            }
            refresh_caps(&state, now).await;
        }
    });
}
