//! PostgreSQL: the shared store for several stateless nodes.
//!
//! Every node holds a small pool of connections; nothing a node keeps in
//! memory is needed by another. What SQLite's single writer gave for free
//! is explicit here: unique constraints and row locks decide races between
//! nodes (a postback that loses a race on a unique key is decided again and
//! finds the winner's row), cap checks of an offer take an advisory lock,
//! delivery jobs are claimed with `FOR UPDATE SKIP LOCKED` under leases
//! that name their node, rollups are folded in with `n = n + excluded.n`,
//! and configuration writes bump a stamp and `NOTIFY` every node.

mod alerts;
mod click_rollup;
mod clicks;
mod config;
mod conversions;
mod deliveries;
mod lane;
mod ledger;
mod listen;
mod migrate;
mod reports;
mod rollup;
mod sql;
mod users;

use std::sync::Arc;

use async_trait::async_trait;
use clickledger_domain::status::Decision;
use clickledger_domain::{ClickId, Currency};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use rust_decimal::Decimal;
use tokio_postgres::NoTls;

use crate::model::*;
use crate::users::{OneTimeLink, Session, User};
use crate::{
    ConversionAttempt, HealthPolicy, PostbackWrite, Recorded, Store, StoreError, StoreResult,
};

pub use sql::pg_error;

/// Connections per node: the click and postback writers hold one each per
/// batch, reads and the delivery loop share the rest.
const POOL_SIZE: usize = 16;
/// How often reports look for rollup generations a stopped node left.
const ORPHANS_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

pub struct PgStore {
    pool: Pool,
    /// The click writer's and the postback writer's own connections.
    click_lane: lane::Lane,
    postback_lane: lane::Lane,
    /// user agent -> row id, so repeated agents cost no lookup
    ua_ids: Arc<std::sync::Mutex<std::collections::HashMap<String, i64>>>,
    /// Click rollup sums not folded yet (the click lane's alone, but a
    /// report asks whether there are any).
    click_rollups: Arc<tokio::sync::Mutex<click_rollup::Pending>>,
    /// When a report last looked for generations a stopped node left. Held
    /// through the repair, so that a report's other reads (run at once)
    /// wait for the generations it folds instead of reading without them.
    orphans_checked: tokio::sync::Mutex<std::time::Instant>,
    changes: tokio::sync::broadcast::Sender<()>,
    /// Ends the LISTEN task when the store goes.
    alive: Arc<()>,
}

impl PgStore {
    /// Connects, runs the migrations (one node at a time, under an advisory
    /// lock) and starts listening for configuration changes.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let mut pg: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Unavailable(format!("not a PostgreSQL URL: {e}")))?;
        // a committed batch is on disk before the 302 or the postback's
        // answer, whatever the server's default says. A report groups up
        // to some 40,000 rollup rows in memory: the default 4 MB of
        // work_mem sorted a report by link's 63,000 rows on disk (180 ms
        // against 100 ms hashed in memory). It is a ceiling per sort or
        // hash, taken only by the reads that need it
        pg.options("-c synchronous_commit=on -c work_mem=64MB");
        if pg.get_application_name().is_none() {
            pg.application_name("clickledger");
        }
        // a server that is away is found out in seconds, not at the
        // operating system's TCP timeout: writes then go to the fallback
        // journal instead of waiting
        if pg.get_connect_timeout().is_none() {
            pg.connect_timeout(std::time::Duration::from_secs(3));
        }
        pg.keepalives_idle(std::time::Duration::from_secs(10));
        let manager = Manager::from_config(
            pg.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let store = PgStore {
            pool,
            click_lane: lane::Lane::start("clicks", pg.clone())?,
            postback_lane: lane::Lane::start("postbacks", pg.clone())?,
            ua_ids: Default::default(),
            click_rollups: Default::default(),
            orphans_checked: tokio::sync::Mutex::new(std::time::Instant::now()),
            changes: tokio::sync::broadcast::channel(16).0,
            alive: Arc::new(()),
        };
        {
            let mut c = store.client().await?;
            migrate::run(&mut c).await?;
            // a node that stopped without folding its clicks' rollups
            click_rollup::repair(&mut c).await?;
        }
        listen::spawn(pg, store.changes.clone(), Arc::downgrade(&store.alive));
        Ok(store)
    }

    async fn client(&self) -> StoreResult<deadpool_postgres::Object> {
        self.pool
            .get()
            .await
            .map_err(|e| StoreError::Unavailable(format!("PostgreSQL: {e}")))
    }
}

/// Folds the click rollup sums a node holds, on the click writer's
/// connection (between its batches). Blocks the calling thread.
fn fold_on_lane(
    lane: &lane::Lane,
    pending: &Arc<tokio::sync::Mutex<click_rollup::Pending>>,
) -> StoreResult<()> {
    let pending = pending.clone();
    lane.run(async move |c| pending.lock().await.flush(c).await)
}

impl Drop for PgStore {
    /// A clean stop leaves no generation for another node to fold.
    fn drop(&mut self) {
        let idle = self
            .click_rollups
            .try_lock()
            .map(|p| p.is_empty())
            .unwrap_or(false);
        if idle {
            return;
        }
        if let Err(e) = fold_on_lane(&self.click_lane, &self.click_rollups) {
            tracing::warn!(error = %e, "click rollups not folded at stop; another node folds them");
        }
    }
}

#[async_trait]
impl Store for PgStore {
    async fn check_writable(&self) -> StoreResult<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO meta (k, v) VALUES ('health', '1') ON CONFLICT (k) DO UPDATE SET v = excluded.v",
            &[],
        )
        .await
        .map_err(pg_error)
        .map(drop)
    }

    async fn put_api_key(&self, key: &ApiKey, change: Option<&AuditEntry>) -> StoreResult<()> {
        config::put_api_key(self, key, change).await
    }
    async fn api_keys(&self) -> StoreResult<Vec<ApiKey>> {
        config::api_keys(self).await
    }
    async fn put_advertiser(&self, a: &Advertiser, change: &AuditEntry) -> StoreResult<()> {
        config::put_advertiser(self, a, change).await
    }
    async fn advertisers(&self) -> StoreResult<Vec<Advertiser>> {
        config::advertisers(self).await
    }
    async fn put_offer(&self, o: &Offer, change: &AuditEntry) -> StoreResult<()> {
        config::put_offer(self, o, change).await
    }
    async fn offers(&self) -> StoreResult<Vec<Offer>> {
        config::offers(self).await
    }
    async fn put_affiliate(&self, a: &Affiliate, change: &AuditEntry) -> StoreResult<()> {
        config::put_affiliate(self, a, change).await
    }
    async fn affiliates(&self) -> StoreResult<Vec<Affiliate>> {
        config::affiliates(self).await
    }
    async fn put_link(&self, l: &Link, change: &AuditEntry) -> StoreResult<()> {
        config::put_link(self, l, change).await
    }
    async fn links(&self) -> StoreResult<Vec<Link>> {
        config::links(self).await
    }
    async fn audit(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditEntry>> {
        config::audit(self, filter).await
    }
    async fn template_versions(
        &self,
        entity_kind: &str,
        entity_id: &str,
    ) -> StoreResult<Vec<TemplateVersion>> {
        config::template_versions(self, entity_kind, entity_id).await
    }

    fn insert_clicks(&self, clicks: &[Click]) -> StoreResult<()> {
        // the lane's thread needs its own copy; a batch is small beside a
        // round trip
        let (ua_ids, clicks) = (self.ua_ids.clone(), clicks.to_vec());
        let pending = self.click_rollups.clone();
        self.click_lane.run(async move |c| {
            clicks::insert(&ua_ids, &mut *pending.lock().await, c, &clicks).await
        })
    }
    async fn flush_rollups(&self) -> StoreResult<()> {
        if !self.click_rollups.lock().await.is_empty() {
            let (lane, pending) = (self.click_lane.clone(), self.click_rollups.clone());
            tokio::task::spawn_blocking(move || fold_on_lane(&lane, &pending))
                .await
                .map_err(|e| StoreError::Unavailable(e.to_string()))??;
        }
        // a node that died leaves its last second of clicks to the others;
        // so does this node's writer after a commit it could not confirm
        let mut checked = self.orphans_checked.lock().await;
        let abandoned = std::mem::take(&mut self.click_rollups.lock().await.abandoned);
        if abandoned || checked.elapsed() >= ORPHANS_EVERY {
            let repaired = async {
                let mut c = self.client().await?;
                click_rollup::repair(&mut c).await
            }
            .await;
            if let Err(e) = repaired {
                // the next report tries again
                self.click_rollups.lock().await.abandoned |= abandoned;
                return Err(e);
            }
            *checked = std::time::Instant::now();
        }
        Ok(())
    }
    async fn keep_local_days(&self, phases: &[i64], now_ms: i64) -> StoreResult<Vec<LocalDays>> {
        let mut c = self.client().await?;
        rollup::keep_local_days(&mut c, phases, now_ms)
            .await
            .map_err(pg_error)
    }
    async fn click(&self, id: ClickId, scope: &Scope) -> StoreResult<Option<Click>> {
        clicks::click(self, id, scope).await
    }
    async fn clicks(&self, filter: &ClickFilter) -> StoreResult<Vec<Click>> {
        clicks::list(self, filter).await
    }

    async fn record_conversion(
        &self,
        attempt: ConversionAttempt,
    ) -> StoreResult<(Decision, Option<Conversion>)> {
        let item = PostbackWrite::Conversion(Box::new(attempt));
        let mut c = self.client().await?;
        let mut out = conversions::record_batch(&mut c, std::slice::from_ref(&item)).await?;
        match out.pop() {
            Some(Ok(Some(r))) => Ok(r),
            Some(Err(e)) => Err(StoreError::Unavailable(e)),
            _ => Err(StoreError::Unavailable("nothing recorded".into())),
        }
    }
    fn record_batch(&self, items: &[PostbackWrite]) -> StoreResult<Vec<Result<Recorded, String>>> {
        let items = items.to_vec();
        self.postback_lane
            .run(async move |c| conversions::record_batch(c, &items).await)
    }
    async fn conversions(&self, filter: &ConversionFilter) -> StoreResult<Vec<Conversion>> {
        conversions::list(self, filter).await
    }
    async fn postback_log(&self, filter: &PostbackFilter) -> StoreResult<Vec<PostbackLogEntry>> {
        conversions::postback_log(self, filter).await
    }

    async fn claim_deliveries(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
        node: &str,
    ) -> StoreResult<Vec<Delivery>> {
        deliveries::claim(self, now_ms, lease_ms, limit, node).await
    }
    async fn finish_attempt(
        &self,
        attempt: &DeliveryAttempt,
        outcome: AttemptOutcome,
        policy: &HealthPolicy,
    ) -> StoreResult<Option<DestinationEvent>> {
        deliveries::finish_attempt(self, attempt, outcome, policy).await
    }
    async fn deliveries(&self, filter: &DeliveryFilter) -> StoreResult<Vec<Delivery>> {
        deliveries::list(self, filter).await
    }
    async fn delivery(
        &self,
        id: &str,
        scope: &Scope,
    ) -> StoreResult<Option<(Delivery, Vec<DeliveryAttempt>)>> {
        deliveries::one(self, id, scope).await
    }
    async fn retry_delivery(&self, id: &str, now_ms: i64) -> StoreResult<bool> {
        deliveries::retry(self, id, now_ms).await
    }
    async fn replay_deliveries(
        &self,
        affiliate_id: Option<&str>,
        from_ms: i64,
        to_ms: i64,
        now_ms: i64,
    ) -> StoreResult<u64> {
        deliveries::replay(self, affiliate_id, from_ms, to_ms, now_ms).await
    }
    async fn destinations(&self) -> StoreResult<Vec<Destination>> {
        deliveries::destinations(self).await
    }
    async fn resume_destination(
        &self,
        affiliate_id: &str,
        now_ms: i64,
    ) -> StoreResult<Option<DestinationEvent>> {
        deliveries::resume_destination(self, affiliate_id, now_ms).await
    }
    async fn destination_events(
        &self,
        affiliate_id: &str,
        limit: u32,
    ) -> StoreResult<Vec<DestinationEvent>> {
        deliveries::destination_events(self, affiliate_id, limit).await
    }
    async fn release_leases(&self, node: &str) -> StoreResult<()> {
        deliveries::release_leases(self, node).await
    }
    async fn config_stamp(&self) -> StoreResult<i64> {
        config::stamp(self).await
    }
    fn config_changes(&self) -> Option<tokio::sync::broadcast::Receiver<()>> {
        Some(self.changes.subscribe())
    }
    async fn lead(&self, task: &str, node: &str, now_ms: i64, ttl_ms: i64) -> StoreResult<bool> {
        // one statement, atomic under the row's lock: a lease row, not an
        // advisory lock, because a session lock would live and die with
        // whichever pooled connection took it
        let c = self.client().await?;
        let row = c
            .query_opt(
                "INSERT INTO leader_leases (task, node, until_ms) VALUES ($1, $2, $3::bigint + $4::bigint)
                 ON CONFLICT (task) DO UPDATE SET node = excluded.node, until_ms = excluded.until_ms
                 WHERE leader_leases.until_ms < $3 OR leader_leases.node = $2
                 RETURNING node",
                &[&task, &node, &now_ms, &ttl_ms],
            )
            .await
            .map_err(pg_error)?;
        Ok(row.is_some())
    }

    async fn click_buckets(&self, query: &ReportQuery) -> StoreResult<Vec<BucketRow>> {
        reports::click_buckets(self, query).await
    }
    async fn conversion_buckets(&self, query: &ReportQuery) -> StoreResult<Vec<ConversionBucket>> {
        reports::conversion_buckets(self, query).await
    }
    async fn sub_overflows(&self, from_ms: i64, to_ms: i64) -> StoreResult<Vec<u8>> {
        reports::sub_overflows(self, from_ms, to_ms).await
    }

    async fn failed_postbacks(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> StoreResult<Vec<(i64, String, i64)>> {
        reports::failed_postbacks(self, from_ms, to_ms).await
    }

    async fn ledger(
        &self,
        affiliate_id: &str,
        until_ms: Option<i64>,
    ) -> StoreResult<Vec<LedgerEntry>> {
        ledger::entries(self, affiliate_id, until_ms).await
    }
    async fn add_ledger_entry(
        &self,
        entry: &LedgerEntry,
        change: &AuditEntry,
        floor: Option<Decimal>,
    ) -> StoreResult<LedgerWrite> {
        ledger::add_entry(self, entry, change, floor).await
    }
    async fn put_fx_rates(&self, rates: &[FxRate]) -> StoreResult<()> {
        ledger::put_fx_rates(self, rates).await
    }
    async fn fx_rates(&self) -> StoreResult<Vec<FxRate>> {
        ledger::fx_rates(self).await
    }
    async fn due_holds(&self, now_ms: i64, limit: u32) -> StoreResult<Vec<String>> {
        conversions::due_holds(self, now_ms, limit).await
    }
    async fn release_hold(
        &self,
        id: &str,
        now_ms: i64,
        notify: Option<Notify>,
        base: Currency,
    ) -> StoreResult<Option<Conversion>> {
        conversions::release_hold(self, id, now_ms, notify, base).await
    }
    async fn expire_clicks(&self, before_ms: i64, limit: u32) -> StoreResult<u64> {
        clicks::expire(self, before_ms, limit).await
    }
    async fn cap_usage(
        &self,
        offer_id: &str,
        affiliate_id: Option<&str>,
        since_ms: i64,
    ) -> StoreResult<(i64, Decimal)> {
        let c = self.client().await?;
        conversions::cap_usage(&**c, offer_id, affiliate_id, since_ms).await
    }

    async fn put_user(&self, user: &User, change: Option<&AuditEntry>) -> StoreResult<()> {
        users::put_user(self, user, change).await
    }
    async fn users(&self) -> StoreResult<Vec<User>> {
        users::users(self).await
    }
    async fn user(&self, key: &str, by_email: bool) -> StoreResult<Option<User>> {
        users::user(&**self.client().await?, key, by_email).await
    }
    async fn put_session(&self, session: &Session) -> StoreResult<()> {
        users::put_session(self, session).await
    }
    async fn session(&self, id_hash: &str) -> StoreResult<Option<Session>> {
        users::session(self, id_hash).await
    }
    async fn touch_session(&self, id_hash: &str, now_ms: i64) -> StoreResult<()> {
        self.execute(
            "UPDATE sessions SET last_seen_ms = $2 WHERE id_hash = $1",
            &[&id_hash, &now_ms],
        )
        .await
        .map(drop)
    }
    async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        self.execute("DELETE FROM sessions WHERE id_hash = $1", &[&id_hash])
            .await
            .map(drop)
    }
    async fn expire_sessions(
        &self,
        idle_before_ms: i64,
        created_before_ms: i64,
    ) -> StoreResult<u64> {
        self.execute(
            "DELETE FROM sessions WHERE last_seen_ms < $1 OR created_ms < $2",
            &[&idle_before_ms, &created_before_ms],
        )
        .await
    }
    async fn put_one_time_link(&self, link: &OneTimeLink, change: &AuditEntry) -> StoreResult<()> {
        users::put_link(self, link, change).await
    }
    async fn usable_link(&self, token_hash: &str, now_ms: i64) -> StoreResult<Option<OneTimeLink>> {
        users::usable_link(&**self.client().await?, token_hash, now_ms).await
    }
    async fn redeem_link(
        &self,
        token_hash: &str,
        now_ms: i64,
        password_hash: &str,
    ) -> StoreResult<Option<User>> {
        users::redeem_link(self, token_hash, now_ms, password_hash).await
    }
    async fn record_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        let c = self.client().await?;
        config::insert_audit(&**c, entry).await
    }

    async fn alerts(&self, filter: &crate::AlertFilter) -> StoreResult<Vec<crate::Alert>> {
        alerts::alerts(self, &crate::query::alerts(filter)).await
    }
    async fn open_alerts(&self) -> StoreResult<Vec<crate::Alert>> {
        alerts::alerts(self, &crate::query::open_alerts()).await
    }
    async fn save_alerts(
        &self,
        list: &[crate::Alert],
        outbox: &[crate::AlertDelivery],
    ) -> StoreResult<()> {
        alerts::save(self, list, outbox).await
    }
    async fn postback_tallies(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> StoreResult<Vec<crate::PostbackTally>> {
        alerts::tallies(self, from_ms, to_ms).await
    }
    async fn offer_postback_history(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> StoreResult<Vec<crate::OfferHistory>> {
        alerts::history(self, from_ms, to_ms).await
    }
    async fn offer_clicks(&self, offer_id: &str, from_ms: i64, to_ms: i64) -> StoreResult<u64> {
        alerts::offer_clicks(self, offer_id, from_ms, to_ms).await
    }
    async fn put_alert_hook(
        &self,
        hook: &crate::AlertHookRecord,
        change: &AuditEntry,
    ) -> StoreResult<()> {
        alerts::put_hook(self, hook, change).await
    }
    async fn alert_hooks(&self) -> StoreResult<Vec<crate::AlertHookRecord>> {
        alerts::hooks(self).await
    }
    async fn delete_alert_hook(&self, id: &str, change: &AuditEntry) -> StoreResult<bool> {
        alerts::delete_hook(self, id, change).await
    }
    async fn claim_alert_deliveries(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
        node: &str,
    ) -> StoreResult<Vec<crate::AlertDelivery>> {
        alerts::claim(self, now_ms, lease_ms, limit, node).await
    }
    async fn finish_alert_delivery(&self, delivery: &crate::AlertDelivery) -> StoreResult<()> {
        alerts::finish(self, delivery).await
    }
    async fn alert_deliveries(
        &self,
        hook_id: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<crate::AlertDelivery>> {
        alerts::deliveries(self, hook_id, limit).await
    }
}

/// Opens a transaction on a pooled connection (PostgreSQL's own type, so
/// one helper serves it and a plain connection alike).
async fn begin(c: &mut deadpool_postgres::Object) -> StoreResult<tokio_postgres::Transaction<'_>> {
    let client: &mut tokio_postgres::Client = c;
    client.transaction().await.map_err(pg_error)
}

impl PgStore {
    /// One statement on a pooled connection; the rows it touched.
    async fn execute(
        &self,
        sql: &str,
        args: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> StoreResult<u64> {
        let c = self.client().await?;
        c.execute(sql, args).await.map_err(pg_error)
    }
}
