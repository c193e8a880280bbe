//! The embedded default: one SQLite file in WAL mode.
//!
//! One write connection behind a mutex serializes writers (SQLite allows one
//! at a time anyway; queuing here instead of in SQLite avoids `database is
//! locked`), and a small pool of read connections serves queries alongside.
//! Async calls run on tokio's blocking pool; the two batch writes
//! (`insert_clicks`, `record_batch`) block the writer thread that calls them.
//!
//! This file holds the connections and the `Store` methods, each handing a
//! closure to the writer or a reader; the SQL is in one module per area,
//! which share only the helpers in `sql`.

mod alerts;
mod backfill;
mod clicks;
mod config;
mod conversion_rollup;
pub(crate) mod conversions;
mod deliveries;
mod ledger;
mod migrate;
mod reports;
mod rollup;
mod sql;
mod users;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use clickledger_domain::status::Decision;
use clickledger_domain::{ClickId, Currency};
use rusqlite::Connection;
use rust_decimal::Decimal;

use crate::corrupt::store_error;
use crate::model::*;
use crate::report_threads::ReportThreads;
use crate::users::{OneTimeLink, Session, User};
use crate::{ConversionAttempt, HealthPolicy, PostbackWrite, Recorded, Store, StoreResult};
use clicks::ClickWriter;
use sql::err;

pub struct SqliteStore {
    path: PathBuf,
    writer: Arc<Mutex<Writer>>,
    readers: Arc<Mutex<Vec<Connection>>>,
    /// Where reports read (`report_threads`).
    report_threads: Arc<ReportThreads>,
    /// At most this many reads at once, so every read reuses a pooled
    /// connection (opening one parses the schema: costly per request).
    read_permits: Arc<tokio::sync::Semaphore>,
}

const READERS: usize = 8;

impl Drop for SqliteStore {
    /// A clean stop leaves no rollup repair for the next start.
    fn drop(&mut self) {
        let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let Writer {
            conn,
            clicks,
            conversions,
        } = &mut *w;
        if let Err(e) = clicks.flush(conn) {
            tracing::warn!(error = %e, "click rollups not flushed at stop; rebuilt on the next start");
        }
        if let Err(e) = conversions.flush(conn) {
            tracing::warn!(error = %e, "conversion rollups not flushed at stop; rebuilt on the next start");
        }
    }
}

/// The one write connection and what only the writer touches.
struct Writer {
    conn: Connection,
    clicks: ClickWriter,
    /// Conversion rollup changes committed but not yet folded in.
    conversions: conversion_rollup::Pending,
}

/// Prepared statements the writer keeps (rusqlite's LRU cache): more than
/// its distinct statements, about 250. A fold upserts into 28 click
/// rollups at four grains and a postback batch into 85 conversion tables;
/// with rusqlite's default of 16 nearly every upserted row prepared its
/// statement again (a third of the CPU beside back-to-back reports went to
/// SQLite's parser). Readers keep the default: their statements are the
/// reports' own, of as many texts as there are filters, and preparing one
/// is little beside the read.
const WRITER_STATEMENTS: usize = 1024;

fn open(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    write_ahead_log(&conn)?;
    // FULL: a committed batch survives power loss, not only a crash; group
    // commit makes the extra fsync per batch affordable.
    conn.execute_batch(
        "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-32000;",
    )?;
    // Measurement aid only: CLICKLEDGER_SQLITE_SYNC=normal trades power-loss
    // durability (a process crash still loses nothing) for speed.
    if std::env::var("CLICKLEDGER_SQLITE_SYNC").is_ok_and(|v| v.eq_ignore_ascii_case("normal")) {
        conn.execute_batch("PRAGMA synchronous=NORMAL;")?;
    }
    Ok(conn)
}

/// Runs `f` on a reader connection from the pool (opened if none is
/// free), and puts it back.
fn pooled<T>(
    readers: &Mutex<Vec<Connection>>,
    path: &Path,
    f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    let pooled = readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
    let conn = match pooled {
        Some(c) => c,
        None => open(path)?,
    };
    let out = f(&conn);
    readers.lock().unwrap_or_else(|p| p.into_inner()).push(conn);
    out
}

/// How long a connection waits for another's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Puts the file in WAL mode. That is a property of the file, so after its
/// first open there is nothing to do. Converting needs the file to itself,
/// and SQLite runs no busy handler for it: several processes opening a new
/// file at once would get "database is locked" at once (CI saw it), so the
/// conversion is retried for as long as any other lock is waited for.
fn write_ahead_log(conn: &Connection) -> rusqlite::Result<()> {
    let is_wal = |mode: &str| mode.eq_ignore_ascii_case("wal");
    let deadline = Instant::now() + BUSY_TIMEOUT;
    loop {
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
        if is_wal(&mode) {
            return Ok(());
        }
        match conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0)) {
            Ok(mode) if is_wal(&mode) => return Ok(()),
            Err(e) if e.sqlite_error_code() != Some(rusqlite::ErrorCode::DatabaseBusy) => {
                return Err(e)
            }
            // busy, or left as it was because another connection held it
            other if Instant::now() >= deadline => {
                return other.and_then(|_| {
                    Err(rusqlite::Error::SqliteFailure(
                        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                        Some("could not switch the file to WAL mode".into()),
                    ))
                })
            }
            _ => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl SqliteStore {
    pub fn open(path: impl AsRef<Path>) -> StoreResult<Self> {
        Self::open_with(path.as_ref(), true)
    }

    /// For tools that may run beside a live server on the same file
    /// (`clickledger admin-key`): everything `open` does except the rollup
    /// repair, because a live server's pending-rollups marker means counts
    /// still in its memory, not lost ones; rebuilding would count them twice.
    pub fn open_beside_server(path: impl AsRef<Path>) -> StoreResult<Self> {
        Self::open_with(path.as_ref(), false)
    }

    fn open_with(path: &Path, repair: bool) -> StoreResult<Self> {
        let path = path.to_path_buf();
        let mut conn = open(&path).map_err(err)?;
        conn.set_prepared_statement_cache_capacity(WRITER_STATEMENTS);
        for version in migrate::migrate(&mut conn, now_ms()).map_err(err)? {
            tracing::info!(version, "applied schema migration");
        }
        let repaired = if repair {
            rollup::repair(&mut conn).map_err(err)?
        } else {
            None
        };
        if let Some(day) = repaired {
            tracing::warn!(
                from_ms = day,
                "click rollups were not flushed before the last stop; rebuilt them from the raw clicks"
            );
        }
        if repair {
            if let Some(from) = conversion_rollup::repair(&mut conn).map_err(err)? {
                tracing::warn!(
                    from_ms = from,
                    "conversion rollups were not flushed before the last stop; rebuilt them from the conversions"
                );
            }
        }
        Ok(SqliteStore {
            path,
            writer: Arc::new(Mutex::new(Writer {
                conn,
                clicks: ClickWriter::default(),
                conversions: Default::default(),
            })),
            readers: Arc::new(Mutex::new(Vec::new())),
            read_permits: Arc::new(tokio::sync::Semaphore::new(READERS)),
            // a report holds two reads per core at once
            report_threads: Arc::new(ReportThreads::per_core("report-read", 2).map_err(err)?),
        })
    }

    /// For bulk loads (benchmarks, imports): commits skip fsync, so a power
    /// cut may lose the last transactions. Never used by the server.
    pub fn open_for_bulk_load(path: impl AsRef<Path>) -> StoreResult<Self> {
        let store = SqliteStore::open(path)?;
        store
            .writer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .conn
            .execute_batch("PRAGMA synchronous=OFF;")
            .map_err(err)?;
        Ok(store)
    }

    /// Folds the WAL into the main file (for measuring its size).
    pub async fn checkpoint(&self) -> StoreResult<()> {
        self.flush_rollups().await?;
        self.write(|c| c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);"))
            .await
    }

    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> StoreResult<T> {
        self.with_writer(move |w| f(&mut w.conn)).await
    }

    async fn with_writer<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Writer) -> rusqlite::Result<T> + Send + 'static,
    ) -> StoreResult<T> {
        let writer = self.writer.clone();
        tokio::task::spawn_blocking(move || {
            let mut w = writer.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut w)
        })
        .await
        .map_err(err)?
        .map_err(store_error)
    }

    /// The writer, on the calling thread (for the batch writers' own).
    fn writer_here(&self) -> std::sync::MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A report's read: on a pooled connection, on the report threads
    /// (behind the click path for the CPU), without a read permit (the
    /// threads are two per core; other reads keep their eight).
    async fn report_read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> StoreResult<T> {
        let (readers, path) = (self.readers.clone(), self.path.clone());
        self.report_threads
            .run(move || pooled(&readers, &path, f))
            .await
            .ok_or_else(|| err("the report read threads stopped"))?
            .map_err(store_error)
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> StoreResult<T> {
        let readers = self.readers.clone();
        let path = self.path.clone();
        let permit = self
            .read_permits
            .clone()
            .acquire_owned()
            .await
            .map_err(err)?;
        tokio::task::spawn_blocking(move || {
            let out = pooled(&readers, &path, f);
            drop(permit);
            out
        })
        .await
        .map_err(err)?
        .map_err(store_error)
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn check_writable(&self) -> StoreResult<()> {
        self.write(|c| {
            c.execute(
                "INSERT INTO meta (k, v) VALUES ('health', '1') ON CONFLICT (k) DO UPDATE SET v = excluded.v",
                [],
            )
            .map(|_| ())
        })
        .await
    }

    async fn put_api_key(&self, key: &ApiKey, change: Option<&AuditEntry>) -> StoreResult<()> {
        let (key, change) = (key.clone(), change.cloned());
        self.write(move |c| config::put_api_key(c, &key, change.as_ref()))
            .await
    }

    async fn api_keys(&self) -> StoreResult<Vec<ApiKey>> {
        self.read(config::api_keys).await
    }

    async fn put_advertiser(&self, a: &Advertiser, change: &AuditEntry) -> StoreResult<()> {
        let (a, change) = (a.clone(), change.clone());
        self.write(move |c| config::put_advertiser(c, &a, &change))
            .await
    }

    async fn advertisers(&self) -> StoreResult<Vec<Advertiser>> {
        self.read(config::advertisers).await
    }

    async fn put_offer(&self, o: &Offer, change: &AuditEntry) -> StoreResult<()> {
        let (o, change) = (o.clone(), change.clone());
        self.write(move |c| config::put_offer(c, &o, &change)).await
    }

    async fn offers(&self) -> StoreResult<Vec<Offer>> {
        self.read(config::offers).await
    }

    async fn put_affiliate(&self, a: &Affiliate, change: &AuditEntry) -> StoreResult<()> {
        let (a, change) = (a.clone(), change.clone());
        self.write(move |c| config::put_affiliate(c, &a, &change))
            .await
    }

    async fn affiliates(&self) -> StoreResult<Vec<Affiliate>> {
        self.read(config::affiliates).await
    }

    async fn put_link(&self, l: &Link, change: &AuditEntry) -> StoreResult<()> {
        let (l, change) = (l.clone(), change.clone());
        self.write(move |c| config::put_link(c, &l, &change)).await
    }

    async fn links(&self) -> StoreResult<Vec<Link>> {
        self.read(config::links).await
    }

    async fn audit(&self, f: &AuditFilter) -> StoreResult<Vec<AuditEntry>> {
        let f = f.clone();
        self.read(move |c| config::audit(c, &f)).await
    }

    async fn template_versions(
        &self,
        entity_kind: &str,
        entity_id: &str,
    ) -> StoreResult<Vec<TemplateVersion>> {
        let (kind, id) = (entity_kind.to_string(), entity_id.to_string());
        self.read(move |c| config::template_versions(c, &kind, &id))
            .await
    }

    fn insert_clicks(&self, clicks: &[Click]) -> StoreResult<()> {
        let mut w = self.writer_here();
        let Writer {
            conn,
            clicks: state,
            ..
        } = &mut *w;
        clicks::insert_clicks(conn, state, clicks).map_err(err)
    }

    async fn flush_rollups(&self) -> StoreResult<()> {
        self.with_writer(|w| {
            w.clicks.flush(&mut w.conn)?;
            w.conversions.flush(&mut w.conn)
        })
        .await
    }

    async fn flush_for(&self, query: &ReportQuery) -> StoreResult<()> {
        let Some(which) = crate::query::reports::shape(query) else {
            return Ok(());
        };
        self.with_writer(move |w| {
            w.clicks.flush_shape(&mut w.conn, which)?;
            w.conversions.flush_shape(&mut w.conn, which)
        })
        .await
    }

    async fn keep_local_days(&self, phases: &[i64], now_ms: i64) -> StoreResult<Vec<LocalDays>> {
        let phases = phases.to_vec();
        self.with_writer(move |w| rollup::keep_local_days(&mut w.conn, &phases, now_ms))
            .await
    }

    async fn backfill_local_day(&self, phase_ms: i64) -> StoreResult<Option<LocalDays>> {
        let next = self.write(move |c| backfill::next(c, phase_ms)).await?;
        let (day, since) = match next {
            backfill::Next::Unknown => return Ok(None),
            backfill::Next::Done => {
                return Ok(Some(LocalDays {
                    phase_ms,
                    since_ms: 0,
                }))
            }
            backfill::Next::Day { day, since } => (day, since),
        };
        // a table at a time: clicks wait for one table's day at most
        for which in 0..crate::rollup::ROLLUPS.len() {
            self.write(move |c| backfill::clicks(c, which, day)).await?;
            self.with_writer(move |w| backfill::conversions(w, which, day))
                .await?;
        }
        self.write(move |c| backfill::moved(c, phase_ms, since, day))
            .await
            .map(Some)
    }

    async fn click(&self, id: ClickId, scope: &Scope) -> StoreResult<Option<Click>> {
        let scope = scope.clone();
        self.read(move |c| clicks::click(c, id, &scope)).await
    }

    async fn clicks(&self, f: &ClickFilter) -> StoreResult<Vec<Click>> {
        let f = f.clone();
        self.read(move |c| clicks::clicks(c, &f)).await
    }

    async fn record_conversion(
        &self,
        attempt: ConversionAttempt,
    ) -> StoreResult<(Decision, Option<Conversion>)> {
        self.with_writer(move |w| {
            conversions::record_conversion(&mut w.conn, &mut w.conversions, &attempt)
        })
        .await?
    }

    fn record_batch(&self, items: &[PostbackWrite]) -> StoreResult<Vec<Result<Recorded, String>>> {
        let mut w = self.writer_here();
        let Writer {
            conn, conversions, ..
        } = &mut *w;
        conversions::record_batch(conn, conversions, items).map_err(err)
    }

    async fn conversions(&self, f: &ConversionFilter) -> StoreResult<Vec<Conversion>> {
        let f = f.clone();
        self.read(move |c| conversions::conversions(c, &f)).await
    }

    async fn postback_log(&self, f: &PostbackFilter) -> StoreResult<Vec<PostbackLogEntry>> {
        let f = f.clone();
        self.read(move |c| conversions::postback_log(c, &f)).await
    }

    async fn claim_deliveries(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
        node: &str,
    ) -> StoreResult<Vec<Delivery>> {
        let node = node.to_string();
        self.write(move |c| deliveries::claim(c, now_ms, lease_ms, limit, &node))
            .await
    }

    async fn finish_attempt(
        &self,
        a: &DeliveryAttempt,
        outcome: AttemptOutcome,
        policy: &HealthPolicy,
    ) -> StoreResult<Option<DestinationEvent>> {
        let (a, policy) = (a.clone(), *policy);
        self.write(move |c| deliveries::finish_attempt(c, &a, outcome, &policy))
            .await
    }

    async fn deliveries(&self, f: &DeliveryFilter) -> StoreResult<Vec<Delivery>> {
        let f = f.clone();
        self.read(move |c| deliveries::deliveries(c, &f)).await
    }

    async fn delivery(
        &self,
        id: &str,
        scope: &Scope,
    ) -> StoreResult<Option<(Delivery, Vec<DeliveryAttempt>)>> {
        let (id, scope) = (id.to_string(), scope.clone());
        self.read(move |c| deliveries::delivery(c, &id, &scope))
            .await
    }

    async fn retry_delivery(&self, id: &str, now_ms: i64) -> StoreResult<bool> {
        let id = id.to_string();
        self.write(move |c| deliveries::retry(c, &id, now_ms)).await
    }

    async fn replay_deliveries(
        &self,
        affiliate_id: Option<&str>,
        from_ms: i64,
        to_ms: i64,
        now_ms: i64,
    ) -> StoreResult<u64> {
        let aff = affiliate_id.map(str::to_string);
        self.write(move |c| deliveries::replay(c, aff.as_deref(), from_ms, to_ms, now_ms))
            .await
    }

    async fn destinations(&self) -> StoreResult<Vec<Destination>> {
        self.read(deliveries::destinations).await
    }

    async fn resume_destination(
        &self,
        affiliate_id: &str,
        now_ms: i64,
    ) -> StoreResult<Option<DestinationEvent>> {
        let aff = affiliate_id.to_string();
        self.write(move |c| deliveries::resume_destination(c, &aff, now_ms))
            .await
    }

    async fn destination_events(
        &self,
        affiliate_id: &str,
        limit: u32,
    ) -> StoreResult<Vec<DestinationEvent>> {
        let aff = affiliate_id.to_string();
        self.read(move |c| deliveries::destination_events(c, &aff, limit))
            .await
    }

    async fn release_leases(&self, node: &str) -> StoreResult<()> {
        // a SQLite file has one server: every lease is its own
        let _ = node;
        self.write(|c| deliveries::release_leases(c)).await
    }

    async fn config_stamp(&self) -> StoreResult<i64> {
        self.read(config::config_stamp).await
    }

    async fn click_buckets(&self, q: &ReportQuery) -> StoreResult<Vec<BucketRow>> {
        let q = q.clone();
        self.report_read(move |c| reports::click_buckets(c, &q))
            .await
    }

    async fn conversion_buckets(&self, q: &ReportQuery) -> StoreResult<Vec<ConversionBucket>> {
        let q = q.clone();
        self.report_read(move |c| reports::conversion_buckets(c, &q))
            .await
    }

    async fn sub_overflows(&self, from_ms: i64, to_ms: i64) -> StoreResult<Vec<u8>> {
        self.read(move |c| reports::sub_overflows(c, from_ms, to_ms))
            .await
    }

    async fn failed_postbacks(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> StoreResult<Vec<(i64, String, i64)>> {
        self.read(move |c| reports::failed_postbacks(c, from_ms, to_ms))
            .await
    }

    async fn ledger(
        &self,
        affiliate_id: &str,
        until_ms: Option<i64>,
    ) -> StoreResult<Vec<LedgerEntry>> {
        let aff = affiliate_id.to_string();
        self.read(move |c| ledger::ledger(c, &aff, until_ms)).await
    }

    async fn add_ledger_entry(
        &self,
        entry: &LedgerEntry,
        change: &AuditEntry,
        floor: Option<Decimal>,
    ) -> StoreResult<LedgerWrite> {
        let (e, change) = (entry.clone(), change.clone());
        self.write(move |c| ledger::add_entry(c, e, change, floor))
            .await
    }

    async fn put_fx_rates(&self, rates: &[FxRate]) -> StoreResult<()> {
        let rates = rates.to_vec();
        self.write(move |c| ledger::put_fx_rates(c, &rates)).await
    }

    async fn fx_rates(&self) -> StoreResult<Vec<FxRate>> {
        self.read(ledger::fx_rates).await
    }

    async fn due_holds(&self, now_ms: i64, limit: u32) -> StoreResult<Vec<String>> {
        self.read(move |c| conversions::due_holds(c, now_ms, limit))
            .await
    }

    async fn release_hold(
        &self,
        id: &str,
        now_ms: i64,
        notify: Option<Notify>,
        base: Currency,
    ) -> StoreResult<Option<Conversion>> {
        let id = id.to_string();
        self.with_writer(move |w| {
            conversions::release_hold(
                &mut w.conn,
                &mut w.conversions,
                &id,
                now_ms,
                notify.as_ref(),
                base,
            )
        })
        .await?
    }

    async fn expire_clicks(&self, before_ms: i64, limit: u32) -> StoreResult<u64> {
        self.write(move |c| clicks::expire_clicks(c, before_ms, limit))
            .await
    }

    async fn cap_usage(
        &self,
        offer_id: &str,
        affiliate_id: Option<&str>,
        since_ms: i64,
    ) -> StoreResult<(i64, rust_decimal::Decimal)> {
        let (o, a) = (offer_id.to_string(), affiliate_id.map(str::to_string));
        self.read(move |c| ledger::cap_usage(c, &o, a.as_deref(), since_ms))
            .await
    }

    async fn put_user(&self, user: &User, change: Option<&AuditEntry>) -> StoreResult<()> {
        let (user, change) = (user.clone(), change.cloned());
        self.write(move |c| users::put_user(c, &user, change.as_ref()))
            .await
    }

    async fn users(&self) -> StoreResult<Vec<User>> {
        self.read(users::users).await
    }

    async fn user(&self, key: &str, by_email: bool) -> StoreResult<Option<User>> {
        let key = key.to_string();
        self.read(move |c| users::user(c, &key, by_email)).await
    }

    async fn put_session(&self, session: &Session) -> StoreResult<()> {
        let session = session.clone();
        self.write(move |c| users::put_session(c, &session)).await
    }

    async fn session(&self, id_hash: &str) -> StoreResult<Option<Session>> {
        let id_hash = id_hash.to_string();
        self.read(move |c| users::session(c, &id_hash)).await
    }

    async fn touch_session(&self, id_hash: &str, now_ms: i64) -> StoreResult<()> {
        let id_hash = id_hash.to_string();
        self.write(move |c| users::touch_session(c, &id_hash, now_ms))
            .await
    }

    async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        let id_hash = id_hash.to_string();
        self.write(move |c| users::delete_session(c, &id_hash))
            .await
    }

    async fn expire_sessions(
        &self,
        idle_before_ms: i64,
        created_before_ms: i64,
    ) -> StoreResult<u64> {
        self.write(move |c| users::expire_sessions(c, idle_before_ms, created_before_ms))
            .await
    }

    async fn put_one_time_link(&self, link: &OneTimeLink, change: &AuditEntry) -> StoreResult<()> {
        let (link, change) = (link.clone(), change.clone());
        self.write(move |c| users::put_link(c, &link, &change))
            .await
    }

    async fn usable_link(&self, token_hash: &str, now_ms: i64) -> StoreResult<Option<OneTimeLink>> {
        let token_hash = token_hash.to_string();
        self.read(move |c| users::usable_link(c, &token_hash, now_ms))
            .await
    }

    async fn redeem_link(
        &self,
        token_hash: &str,
        now_ms: i64,
        password_hash: &str,
    ) -> StoreResult<Option<User>> {
        let (token_hash, password_hash) = (token_hash.to_string(), password_hash.to_string());
        self.write(move |c| users::redeem_link(c, &token_hash, now_ms, &password_hash))
            .await
    }

    async fn record_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        let entry = entry.clone();
        self.write(move |c| config::insert_audit(c, &entry)).await
    }

    async fn alerts(&self, filter: &crate::AlertFilter) -> StoreResult<Vec<crate::Alert>> {
        let q = crate::query::alerts(filter);
        let rows = self.read(move |c| alerts::alerts(c, &q)).await?;
        rows.into_iter()
            .map(crate::alerts::alert_from_row)
            .collect()
    }
    async fn open_alerts(&self) -> StoreResult<Vec<crate::Alert>> {
        let q = crate::query::open_alerts();
        let rows = self.read(move |c| alerts::alerts(c, &q)).await?;
        rows.into_iter()
            .map(crate::alerts::alert_from_row)
            .collect()
    }
    async fn save_alerts(
        &self,
        list: &[crate::Alert],
        outbox: &[crate::AlertDelivery],
    ) -> StoreResult<()> {
        let (list, outbox) = (list.to_vec(), outbox.to_vec());
        self.write(move |c| alerts::save(c, &list, &outbox)).await
    }
    async fn postback_tallies(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> StoreResult<Vec<crate::PostbackTally>> {
        self.read(move |c| alerts::tallies(c, from_ms, to_ms)).await
    }
    async fn offer_postback_history(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> StoreResult<Vec<crate::OfferHistory>> {
        self.read(move |c| alerts::history(c, from_ms, to_ms)).await
    }
    async fn offer_clicks(&self, offer_id: &str, from_ms: i64, to_ms: i64) -> StoreResult<u64> {
        let offer = offer_id.to_string();
        self.read(move |c| alerts::offer_clicks(c, &offer, from_ms, to_ms))
            .await
    }
    async fn put_alert_hook(
        &self,
        hook: &crate::AlertHookRecord,
        change: &AuditEntry,
    ) -> StoreResult<()> {
        let (hook, change) = (hook.clone(), change.clone());
        self.write(move |c| alerts::put_hook(c, &hook, &change))
            .await
    }
    async fn alert_hooks(&self) -> StoreResult<Vec<crate::AlertHookRecord>> {
        self.read(alerts::hooks).await
    }
    async fn delete_alert_hook(&self, id: &str, change: &AuditEntry) -> StoreResult<bool> {
        let (id, change) = (id.to_string(), change.clone());
        self.write(move |c| alerts::delete_hook(c, &id, &change))
            .await
    }
    async fn claim_alert_deliveries(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
        node: &str,
    ) -> StoreResult<Vec<crate::AlertDelivery>> {
        let node = node.to_string();
        self.write(move |c| alerts::claim(c, now_ms, lease_ms, limit, &node))
            .await
    }
    async fn finish_alert_delivery(&self, delivery: &crate::AlertDelivery) -> StoreResult<()> {
        let d = delivery.clone();
        self.write(move |c| alerts::finish(c, &d)).await
    }
    async fn alert_deliveries(
        &self,
        hook_id: Option<&str>,
        limit: u32,
    ) -> StoreResult<Vec<crate::AlertDelivery>> {
        let hook = hook_id.map(str::to_string);
        self.read(move |c| alerts::deliveries(c, hook.as_deref(), limit))
            .await
    }
}
