//! Storage behind one trait. The HTTP layer talks to `dyn Store` only; the
//! SQLite backend is the embedded default. Nothing backend-specific crosses
//! the trait: ids are strings or `ClickId`, money is `Decimal`, time is unix
//! milliseconds.

pub mod alerts;
mod conversion_rollup;
mod corrupt;
mod health;
mod key_values;
pub mod model;
pub mod postgres;
pub(crate) mod query;
mod record;
pub mod report_threads;
mod rollup;
pub mod sqlite;
pub mod sub_guard;
pub mod users;

// The conversions table's columns, as the PostgreSQL backend imports them
// (`crate::money_tx::CONVERSION_COLUMNS`): the same in both schemas.

use async_trait::async_trait;
use clickledger_domain::codes::Refusal;
pub use clickledger_domain::destination_health::HealthPolicy;
use clickledger_domain::status::{Decision, Incoming};
use clickledger_domain::{ClickId, Currency};
use rust_decimal::Decimal;

pub use alerts::{AlertDelivery, AlertFilter, AlertHookRecord};
pub use clickledger_domain::alerts::{Alert, OfferHistory, PostbackTally};
pub use model::*;
pub use query::reports::rollup_serves;
pub use sqlite::SqliteStore;
pub use users::{parse_role, LinkKind, OneTimeLink, Session, User};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Opens the store a `--db` value names: a `postgres://` (or
/// `postgresql://`) URL, else the path of a SQLite file. The rest of the
/// program sees only `dyn Store`.
pub async fn open(db: &str) -> StoreResult<std::sync::Arc<dyn Store>> {
    if is_postgres_url(db) {
        Ok(std::sync::Arc::new(postgres::PgStore::connect(db).await?))
    } else {
        let path = db.to_string();
        let store = tokio::task::spawn_blocking(move || SqliteStore::open(path))
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))??;
        Ok(std::sync::Arc::new(store))
    }
}

pub fn is_postgres_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// A postback that passed validation, ready to be decided and recorded in
/// one transaction.
#[derive(Clone, Debug)]
pub struct ConversionAttempt {
    /// The row to insert if the decision is to insert.
    pub conversion: Conversion,
    pub incoming: Incoming,
    pub repeatable: bool,
    /// Whether a new conversion may be inserted: `Err` when its commission
    /// rule is not satisfied (a resend of a known one is still decided).
    pub insertable: Result<(), Refusal>,
    /// The log entry; the store fills in the result before writing it.
    pub log: PostbackLogEntry,
    /// The affiliate's matching postback template, if any: a delivery job is
    /// queued in the same transaction when the resulting status fires it.
    pub notify: Option<Notify>,
    /// The account's base currency, for FX and ledger base amounts.
    pub base_currency: Currency,
    /// The offer's caps, as windows to count in.
    pub caps: Vec<CapCheck>,
    pub refuse_over_cap: bool,
    /// A refund or chargeback event, and the txid it reverses.
    pub reverses: bool,
    pub original_txid: Option<String>,
}

/// One write of the postback path.
#[derive(Clone, Debug)]
pub enum PostbackWrite {
    Conversion(Box<ConversionAttempt>),
    /// A refused postback's log entry.
    Log(Box<PostbackLogEntry>),
}

/// What a batch item became: for a conversion, the decision and the
/// conversion as it now stands; nothing for a log entry.
pub type Recorded = Option<(Decision, Option<Conversion>)>;

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Succeeds when the store accepts writes.
    async fn check_writable(&self) -> StoreResult<()>;

    /// Inserts or replaces a key; `change`, when given, is audited in the
    /// same transaction.
    async fn put_api_key(&self, key: &ApiKey, change: Option<&AuditEntry>) -> StoreResult<()>;
    async fn api_keys(&self) -> StoreResult<Vec<ApiKey>>;

    /// Inserts or replaces (by id), and records `change` in the audit log
    /// (and, when it carries a template, as a new template version) in the
    /// same transaction.
    async fn put_advertiser(&self, a: &Advertiser, change: &AuditEntry) -> StoreResult<()>;
    async fn advertisers(&self) -> StoreResult<Vec<Advertiser>>;
    async fn put_offer(&self, o: &Offer, change: &AuditEntry) -> StoreResult<()>;
    async fn offers(&self) -> StoreResult<Vec<Offer>>;
    async fn put_affiliate(&self, a: &Affiliate, change: &AuditEntry) -> StoreResult<()>;
    async fn affiliates(&self) -> StoreResult<Vec<Affiliate>>;
    async fn put_link(&self, l: &Link, change: &AuditEntry) -> StoreResult<()>;
    async fn links(&self) -> StoreResult<Vec<Link>>;

    async fn audit(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditEntry>>;
    /// Every version of an entity's postback template, oldest first.
    async fn template_versions(
        &self,
        entity_kind: &str,
        entity_id: &str,
    ) -> StoreResult<Vec<TemplateVersion>>;

    /// Commits a batch of clicks in one transaction: all or none. Blocks
    /// the calling thread: the click writer calls it from a thread of its
    /// own, so the hot path has no hop through an async task.
    fn insert_clicks(&self, clicks: &[Click]) -> StoreResult<()>;
    /// Folds click counts held in memory into the rollup tables (and on
    /// PostgreSQL repairs what a node that died left unfolded). A report
    /// calls it once before its reads, so it counts every committed click;
    /// called at shutdown too.
    async fn flush_rollups(&self) -> StoreResult<()>;
    /// What a report by `query` needs folded before it reads, so it counts
    /// every committed click and conversion: on SQLite the sums of the one
    /// rollup shape it reads (none for a report from raw rows); by default
    /// everything (`flush_rollups`).
    async fn flush_for(&self, query: &ReportQuery) -> StoreResult<()> {
        let _ = query;
        self.flush_rollups().await
    }
    /// Keeps day rows for local days that start `phases` after UTC
    /// midnight (`LocalDays`), beside the UTC day's, from the next such
    /// day on (from the start when nothing is rolled up yet); phases
    /// already kept stay as they are. Returns every phase kept.
    async fn keep_local_days(&self, phases: &[i64], now_ms: i64) -> StoreResult<Vec<LocalDays>>;
    /// Fills in one more local day of a phase kept late (kept on rolled-up
    /// data, it is complete only from a later day): every rollup's row
    /// for the day before its `since_ms`, rebuilt from what is stored,
    /// then `since_ms` moved back to it, or to 0 once no earlier day holds
    /// data. Returns the phase as now kept; `None` when the phase is not
    /// kept, or the backend does not fill days in (PostgreSQL: a phase
    /// there counts from its next local day).
    async fn backfill_local_day(&self, phase_ms: i64) -> StoreResult<Option<LocalDays>> {
        let _ = phase_ms;
        Ok(None)
    }
    /// The click, if it exists and `scope` may see it.
    async fn click(&self, id: ClickId, scope: &Scope) -> StoreResult<Option<Click>>;
    /// Clicks matching the filter that `filter.scope` may see, newest first.
    async fn clicks(&self, filter: &ClickFilter) -> StoreResult<Vec<Click>>;

    /// Decides what the postback does against what is recorded, carries it
    /// out and logs it, all in one transaction. Returns the decision and the
    /// conversion as it now stands.
    async fn record_conversion(
        &self,
        attempt: ConversionAttempt,
    ) -> StoreResult<(Decision, Option<Conversion>)>;
    /// Group commit for the postback path: many conversion attempts and
    /// refusal log entries in one transaction, decided in order. One failing
    /// item does not sink the others; its slot carries the error. Blocks the
    /// calling thread (the postback writer's own).
    fn record_batch(&self, items: &[PostbackWrite]) -> StoreResult<Vec<Result<Recorded, String>>>;
    async fn conversions(&self, filter: &ConversionFilter) -> StoreResult<Vec<Conversion>>;

    async fn postback_log(&self, filter: &PostbackFilter) -> StoreResult<Vec<PostbackLogEntry>>;

    /// Takes up to `limit` due jobs (pending, time reached, not leased, the
    /// destination healthy), oldest first, and leases them to `node`
    /// until `now + lease_ms`; a job whose node died is due again after
    /// that, on any node. Nodes claiming at once never take the same job.
    /// A failing destination whose `next_probe_ms` has come gives one
    /// probe, its oldest waiting job (due or not): the same claim moves
    /// `next_probe_ms` to the lease's end, so no other claim, on any node,
    /// probes it again before this probe is finished (which sets the next
    /// probe time) or its lease ends. A disabled destination gives nothing.
    async fn claim_deliveries(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
        node: &str,
    ) -> StoreResult<Vec<Delivery>>;
    /// Records an attempt and its outcome, and what it does to the
    /// destination's health under `policy`; a failed probe leaves its job's
    /// attempts and schedule as they were. Returns the destination's change
    /// of state, if any, as recorded in its events.
    async fn finish_attempt(
        &self,
        attempt: &DeliveryAttempt,
        outcome: AttemptOutcome,
        policy: &HealthPolicy,
    ) -> StoreResult<Option<DestinationEvent>>;
    async fn deliveries(&self, filter: &DeliveryFilter) -> StoreResult<Vec<Delivery>>;
    async fn delivery(
        &self,
        id: &str,
        scope: &Scope,
    ) -> StoreResult<Option<(Delivery, Vec<DeliveryAttempt>)>>;
    /// Makes a job due now with a fresh schedule; false when unknown.
    async fn retry_delivery(&self, id: &str, now_ms: i64) -> StoreResult<bool>;
    /// Makes every job created in [from, to) (of one affiliate, if given) due
    /// again; returns how many.
    async fn replay_deliveries(
        &self,
        affiliate_id: Option<&str>,
        from_ms: i64,
        to_ms: i64,
        now_ms: i64,
    ) -> StoreResult<u64>;
    async fn destinations(&self) -> StoreResult<Vec<Destination>>;
    /// A person re-enables the destination (disabled or failing): healthy,
    /// its waiting jobs due now, oldest first. The `enabled` event, if the
    /// state changed.
    async fn resume_destination(
        &self,
        affiliate_id: &str,
        now_ms: i64,
    ) -> StoreResult<Option<DestinationEvent>>;
    /// A destination's changes of state, newest first.
    async fn destination_events(
        &self,
        affiliate_id: &str,
        limit: u32,
    ) -> StoreResult<Vec<DestinationEvent>>;
    /// Clears the leases `node` holds, so jobs it held when it crashed are
    /// due at once when it starts again; other nodes' leases stay.
    async fn release_leases(&self, node: &str) -> StoreResult<()>;

    /// A number that changes whenever the configuration (keys, partners,
    /// offers, links, FX rates) changes, on any node: polled to know when
    /// to reload the cached configuration.
    async fn config_stamp(&self) -> StoreResult<i64>;
    /// Wakes when another node changes the configuration, where the
    /// backend can push that (PostgreSQL's LISTEN); `None` means polling
    /// `config_stamp` is the only way to know.
    fn config_changes(&self) -> Option<tokio::sync::broadcast::Receiver<()>> {
        None
    }
    /// Whether `node` leads `task` (housekeeping that must run once across
    /// nodes) until `now + ttl`: true when the lease was free, ended, or
    /// already this node's. A store one server owns always says yes.
    async fn lead(&self, task: &str, node: &str, now_ms: i64, ttl_ms: i64) -> StoreResult<bool> {
        let _ = (task, node, now_ms, ttl_ms);
        Ok(true)
    }

    /// Clicks per 15-minute UTC bucket and the requested dimensions, from
    /// the rollup when it has them all, else from raw clicks. Test clicks
    /// never count. Reads what is folded: clicks still summed in memory
    /// count once `flush_for` has run (a report reads eight times or
    /// more, and a fold per read kept the click writer folding).
    async fn click_buckets(&self, query: &ReportQuery) -> StoreResult<Vec<BucketRow>>;
    /// Conversion figures per bucket, dimensions, event and status, from
    /// the conversion rollups (else from raw conversions: one per row).
    /// Test conversions never count.
    async fn conversion_buckets(&self, query: &ReportQuery) -> StoreResult<Vec<ConversionBucket>>;
    /// The sub slots (1 to 5) that went over their distinct-value cap
    /// (`sub_guard`) on some UTC day overlapping `from_ms..to_ms`: a report
    /// that groups or filters by such a slot there reads raw rows.
    async fn sub_overflows(&self, from_ms: i64, to_ms: i64) -> StoreResult<Vec<u8>>;
    /// Refused postbacks per 15-minute bucket and offer.
    async fn failed_postbacks(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> StoreResult<Vec<(i64, String, i64)>>;

    /// An affiliate's entries up to `until_ms`, oldest first.
    async fn ledger(
        &self,
        affiliate_id: &str,
        until_ms: Option<i64>,
    ) -> StoreResult<Vec<LedgerEntry>>;
    /// Appends an adjustment or payout with its audit record in one
    /// transaction and answers the entry with its id (the audit's
    /// after-image gets the same id). With `floor`, an entry that would take
    /// the affiliate's balance in the entry's currency below it is not
    /// written: the answer is the balance available.
    async fn add_ledger_entry(
        &self,
        entry: &LedgerEntry,
        change: &AuditEntry,
        floor: Option<Decimal>,
    ) -> StoreResult<LedgerWrite>;
    async fn put_fx_rates(&self, rates: &[FxRate]) -> StoreResult<()>;
    async fn fx_rates(&self) -> StoreResult<Vec<FxRate>>;

    /// Held conversions whose hold has ended.
    async fn due_holds(&self, now_ms: i64, limit: u32) -> StoreResult<Vec<String>>;
    async fn release_hold(
        &self,
        id: &str,
        now_ms: i64,
        notify: Option<Notify>,
        base: Currency,
    ) -> StoreResult<Option<Conversion>>;
    /// Deletes up to `limit` raw clicks older than `before_ms` (rollups and
    /// conversions stay); returns how many went.
    async fn expire_clicks(&self, before_ms: i64, limit: u32) -> StoreResult<u64>;
    /// Counted conversions and payout of an offer (and affiliate) since a time.
    async fn cap_usage(
        &self,
        offer_id: &str,
        affiliate_id: Option<&str>,
        since_ms: i64,
    ) -> StoreResult<(i64, rust_decimal::Decimal)>;

    /// Inserts or replaces a user (by id); `change` is audited in the same
    /// transaction. Disabling a user ends its sessions.
    async fn put_user(&self, user: &User, change: Option<&AuditEntry>) -> StoreResult<()>;
    async fn users(&self) -> StoreResult<Vec<User>>;
    /// By id, or by e-mail (case-insensitive) when `by_email`.
    async fn user(&self, key: &str, by_email: bool) -> StoreResult<Option<User>>;
    async fn put_session(&self, session: &Session) -> StoreResult<()>;
    async fn session(&self, id_hash: &str) -> StoreResult<Option<Session>>;
    async fn touch_session(&self, id_hash: &str, now_ms: i64) -> StoreResult<()>;
    async fn delete_session(&self, id_hash: &str) -> StoreResult<()>;
    /// Deletes sessions last seen before `idle_before_ms` or created before
    /// `created_before_ms`; returns how many went.
    async fn expire_sessions(
        &self,
        idle_before_ms: i64,
        created_before_ms: i64,
    ) -> StoreResult<u64>;
    /// Stores a one-time link with its audit entry.
    async fn put_one_time_link(&self, link: &OneTimeLink, change: &AuditEntry) -> StoreResult<()>;
    /// The link, if it is still usable at `now_ms`.
    async fn usable_link(&self, token_hash: &str, now_ms: i64) -> StoreResult<Option<OneTimeLink>>;
    /// Uses a link once: sets the password, ends the user's sessions.
    /// `None` when it is unknown, used or expired.
    async fn redeem_link(
        &self,
        token_hash: &str,
        now_ms: i64,
        password_hash: &str,
    ) -> StoreResult<Option<User>>;
    /// Records an event that changes nothing else (a failed login).
    async fn record_audit(&self, entry: &AuditEntry) -> StoreResult<()>;

    /// Alerts `filter.scope` may see, newest first.
    async fn alerts(&self, filter: &AlertFilter) -> StoreResult<Vec<Alert>>;
    /// Every open alert.
    async fn open_alerts(&self) -> StoreResult<Vec<Alert>>;
    /// Writes alerts (inserted, or changed by id) and queues their messages
    /// in one transaction; a message already queued (same id) stays as it
    /// is, so a digest queued twice goes out once.
    async fn save_alerts(&self, alerts: &[Alert], outbox: &[AlertDelivery]) -> StoreResult<()>;
    /// Postbacks logged in [from, to) per advertiser, offer, error, hint.
    async fn postback_tallies(&self, from_ms: i64, to_ms: i64) -> StoreResult<Vec<PostbackTally>>;
    /// Each offer's taken postbacks in [from, to): count, first, last.
    async fn offer_postback_history(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> StoreResult<Vec<OfferHistory>>;
    /// An offer's clicks (not test clicks) in [from, to).
    async fn offer_clicks(&self, offer_id: &str, from_ms: i64, to_ms: i64) -> StoreResult<u64>;
    /// Inserts or replaces an alert hook (by id), with its audit entry in
    /// the same transaction.
    async fn put_alert_hook(&self, hook: &AlertHookRecord, change: &AuditEntry) -> StoreResult<()>;
    async fn alert_hooks(&self) -> StoreResult<Vec<AlertHookRecord>>;
    /// Deletes a hook (its waiting messages fail) and records `change`;
    /// false when unknown (nothing recorded).
    async fn delete_alert_hook(&self, id: &str, change: &AuditEntry) -> StoreResult<bool>;
    /// Takes up to `limit` due alert messages and leases them to `node`
    /// until `now + lease_ms`, oldest first.
    async fn claim_alert_deliveries(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
        node: &str,
    ) -> StoreResult<Vec<AlertDelivery>>;
    /// Writes a message's state after an attempt and ends its lease.
    async fn finish_alert_delivery(&self, delivery: &AlertDelivery) -> StoreResult<()>;
    /// A hook's messages (every hook's without one), newest first.
    async fn alert_deliveries(
        &self,
        hook_id: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<AlertDelivery>>;
}
