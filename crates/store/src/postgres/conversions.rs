//! Conversions on PostgreSQL: the reads and writes `record` asks for, on a
//! transaction shared with other nodes' writers. Lookups before an update
//! lock the row (`FOR UPDATE`); two nodes inserting the same postback at
//! once meet on a unique index, and the loser decides again, finding the
//! winner's row (a duplicate); cap checks of an offer take an advisory lock.

use clickledger_domain::money::{from_micros, to_micros};
use clickledger_domain::status::Recorded as Found;
use clickledger_domain::{ClickId, Currency, Status};
use rust_decimal::Decimal;
use tokio_postgres::{GenericClient, Row, Transaction};

use super::sql::{click_id, corrupt, currency, json, lost_race, pg_error, rows};
use super::PgStore;
use crate::conversion_rollup::{self, Change};
use crate::model::*;
use crate::query::{self, CONVERSION_COLUMNS};
use crate::record::{self, cents, method_str, ConversionTx, NewDelivery};
use crate::{PostbackWrite, Recorded, StoreError, StoreResult};

/// How often an item that lost a race is decided again before its slot
/// carries the error.
const RACE_RETRIES: usize = 4;

fn status(text: &str, id: &str) -> StoreResult<Status> {
    Status::parse(text).ok_or_else(|| corrupt("conversions", id, "status", text, "a status"))
}

/// A `channel` column: NULL is s2s.
fn channel(
    v: Option<&str>,
    table: &'static str,
    row: impl std::fmt::Display,
) -> StoreResult<Channel> {
    Channel::from_column(v).ok_or_else(|| {
        corrupt(
            table,
            row,
            "channel",
            v.unwrap_or_default(),
            "s2s (NULL) or browser",
        )
    })
}

pub fn conversion_from_row(r: &Row) -> StoreResult<Conversion> {
    let id: String = r.get(0);
    let click_ms: i64 = r.get(15);
    let conv_ms: i64 = r.get(16);
    let cur = currency(r.get(11), "conversions", &id)?;
    let payout_currency = currency(r.get(14), "conversions", &id)?;
    let money = |m: i64| payout_currency.display(from_micros(m));
    Ok(Conversion {
        click_id: click_id(r.get(1), "conversions", &id)?,
        offer_id: r.get(2),
        advertiser_id: r.get(3),
        affiliate_id: r.get(4),
        link_id: r.get(5),
        event: r.get(6),
        txid: r.get(7),
        status: status(r.get(8), &id)?,
        status_received: r.get(9),
        amount: r
            .get::<_, Option<i64>>(10)
            .map(|m| cur.display(from_micros(m))),
        currency: cur,
        payout: money(r.get(12)),
        revenue: money(r.get(13)),
        payout_currency,
        click_ms,
        conv_ms,
        updated_ms: r.get(17),
        delay_seconds: (conv_ms - click_ms) / 1000,
        too_fast: r.get(18),
        test: r.get(19),
        capped: r.get(20),
        parent_id: r.get(21),
        payout_base: r.get::<_, Option<i64>>(22).map(cents),
        revenue_base: r.get::<_, Option<i64>>(23).map(cents),
        fx_missing: r.get(24),
        hold_until_ms: r.get(25),
        duplicates: r.get(26),
        channel: channel(r.get(39), "conversions", &id)?,
        dims: ClickDims {
            source: r.get(27),
            sub1: r.get(28),
            sub2: r.get(29),
            sub3: r.get(30),
            sub4: r.get(31),
            sub5: r.get(32),
            country: r.get(33),
            device: r.get(34),
            os: r.get(35),
            browser: r.get(36),
            rule: r.get(37),
            target: r.get(38),
        },
        id,
    })
}

/// An open transaction as recording sees it. `raced` remembers whether the
/// last failure lost a race with another node, which is worth a retry.
struct PgTx<'a> {
    tx: &'a Transaction<'a>,
    raced: bool,
    /// The conversion rollups' changes, written just before the commit.
    rollups: Change,
}

/// Adds a transaction's changes to the conversion rollups (what it
/// writes: `conversion_rollup::writes`), one statement per table, rows in
/// key order.
async fn write_rollups(tx: &Transaction<'_>, change: &Change) -> StoreResult<()> {
    if change.is_empty() {
        return Ok(());
    }
    let phases = super::rollup::local_phases(tx).await.map_err(pg_error)?;
    let mut writes = conversion_rollup::writes(change, &phases);
    // a change can leave a table with no rows: no statement for it
    writes.retain(|_, rows| !rows.is_empty());
    let tables: Vec<(String, Vec<&str>)> = writes
        .keys()
        .map(|(which, grain)| {
            (
                conversion_rollup::table(*which, grain),
                conversion_rollup::key_columns(*which),
            )
        })
        .collect();
    let adders = super::rollup::prepare_adds(tx, &tables, conversion_rollup::metric_columns())
        .await
        .map_err(pg_error)?;
    // every table's statement at once: the connection pipelines them (one
    // round trip for the batch's 85, not one each), run in this order
    let adds = writes.values().zip(&adders).map(|(rows, to)| {
        super::rollup::add_rows(tx, to, rows.iter().map(|((b, k), m)| (*b, &k[..], &m[..])))
    });
    futures_util::future::try_join_all(adds)
        .await
        .map_err(pg_error)?;
    Ok(())
}

impl<'a> PgTx<'a> {
    fn new(tx: &'a Transaction<'a>) -> Self {
        PgTx {
            tx,
            raced: false,
            rollups: Change::new(),
        }
    }

    fn fail(&mut self, e: tokio_postgres::Error) -> StoreError {
        self.raced = lost_race(&e);
        pg_error(e)
    }

    async fn found(
        &mut self,
        clause: &str,
        args: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> StoreResult<Option<Found>> {
        let sql = format!(
            "SELECT id, click_id, txid, status, amount_micros, currency FROM conversions WHERE {clause}
             ORDER BY conv_ms LIMIT 1 FOR UPDATE"
        );
        let row = match self.query_opt(&sql, args).await {
            Ok(r) => r,
            Err(e) => return Err(self.fail(e)),
        };
        let Some(r) = row else { return Ok(None) };
        let id: String = r.get(0);
        let cur = currency(r.get(5), "conversions", &id)?;
        Ok(Some(Found {
            click_id: click_id(r.get(1), "conversions", &id)?.as_u128(),
            txid: r.get(2),
            status: status(r.get(3), &id)?,
            amount: r
                .get::<_, Option<i64>>(4)
                .map(|m| cur.display(from_micros(m))),
            currency: cur,
            conversion_id: id,
        }))
    }

    async fn one(
        &mut self,
        sql: &str,
        args: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> StoreResult<Option<Conversion>> {
        match self.query_opt(sql, args).await {
            Ok(r) => r.as_ref().map(conversion_from_row).transpose(),
            Err(e) => Err(self.fail(e)),
        }
    }

    async fn exec(
        &mut self,
        sql: &str,
        args: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> StoreResult<u64> {
        match self.execute(sql, args).await {
            Ok(n) => Ok(n),
            Err(e) => Err(self.fail(e)),
        }
    }

    async fn execute(
        &self,
        sql: &str,
        args: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<u64, tokio_postgres::Error> {
        let st = super::lane::prepared(self.tx, sql).await?;
        self.tx.execute(&st, args).await
    }

    async fn query_opt(
        &self,
        sql: &str,
        args: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Option<tokio_postgres::Row>, tokio_postgres::Error> {
        let st = super::lane::prepared(self.tx, sql).await?;
        self.tx.query_opt(&st, args).await
    }
}

impl ConversionTx for PgTx<'_> {
    async fn recorded_by_txid(
        &mut self,
        offer_id: &str,
        event: &str,
        txid: &str,
    ) -> StoreResult<Option<Found>> {
        self.found(
            "offer_id = $1 AND event = $2 AND txid = $3",
            &[&offer_id, &event, &txid],
        )
        .await
    }

    async fn recorded_by_click(
        &mut self,
        click: ClickId,
        event: &str,
    ) -> StoreResult<Option<Found>> {
        self.found(
            "click_id = $1 AND event = $2",
            &[&click.to_bytes().to_vec(), &event],
        )
        .await
    }

    async fn conversion(&mut self, id: &str) -> StoreResult<Option<Conversion>> {
        self.one(
            &format!("SELECT {CONVERSION_COLUMNS} FROM conversions WHERE id = $1"),
            &[&id],
        )
        .await
    }

    async fn original(&mut self, offer_id: &str, txid: &str) -> StoreResult<Option<Conversion>> {
        // locked: two refunds of one sale take turns, so together they
        // never take back more than it paid
        self.one(
            &format!(
                "SELECT {CONVERSION_COLUMNS} FROM conversions WHERE offer_id = $1 AND txid = $2 AND parent_id IS NULL
                 ORDER BY conv_ms LIMIT 1 FOR UPDATE"
            ),
            &[&offer_id, &txid],
        )
        .await
    }

    async fn refunded(&mut self, parent_id: &str) -> StoreResult<(Decimal, Decimal)> {
        let row = self
            .tx
            .query_one(
                "SELECT COALESCE(-SUM(payout_micros), 0)::bigint, COALESCE(-SUM(revenue_micros), 0)::bigint
                 FROM conversions WHERE parent_id = $1",
                &[&parent_id],
            )
            .await;
        match row {
            Ok(r) => Ok((from_micros(r.get(0)), from_micros(r.get(1)))),
            Err(e) => Err(self.fail(e)),
        }
    }

    async fn fx_rate(&mut self, cur: Currency, date: &str) -> StoreResult<Option<Decimal>> {
        let row = self
            .tx
            .query_opt(
                "SELECT rate FROM fx_rates WHERE currency = $1 AND date = $2",
                &[&cur.code(), &date],
            )
            .await;
        match row {
            Ok(Some(r)) => super::ledger::parse_rate(r.get(0), cur, date).map(Some),
            Ok(None) => Ok(None),
            Err(e) => Err(self.fail(e)),
        }
    }

    async fn lock_caps(&mut self, offer_id: &str) -> StoreResult<()> {
        lock_offer_caps(self.tx, offer_id)
            .await
            .map_err(|e| self.fail(e))
    }

    async fn cap_usage(
        &mut self,
        offer_id: &str,
        affiliate_id: Option<&str>,
        since_ms: i64,
    ) -> StoreResult<(i64, Decimal)> {
        cap_usage(self.tx, offer_id, affiliate_id, since_ms).await
    }

    async fn insert_conversion(&mut self, c: &Conversion, repeatable: bool) -> StoreResult<()> {
        // see `once` in the schema: NULL lets a repeatable event recur
        let once = (!repeatable).then_some(true);
        let d = &c.dims;
        let marks: Vec<String> = (1..=41).map(|i| format!("${i}")).collect();
        let sql = format!(
            "INSERT INTO conversions ({CONVERSION_COLUMNS}, once) VALUES ({})",
            marks.join(", ")
        );
        let click = c.click_id.to_bytes().to_vec();
        let (amount, payout, revenue) = (
            c.amount.map(to_micros),
            to_micros(c.payout),
            to_micros(c.revenue),
        );
        let (payout_base, revenue_base) =
            (c.payout_base.map(to_micros), c.revenue_base.map(to_micros));
        self.exec(
            &sql,
            &[
                &c.id,
                &click,
                &c.offer_id,
                &c.advertiser_id,
                &c.affiliate_id,
                &c.link_id,
                &c.event,
                &c.txid,
                &c.status.as_str(),
                &c.status_received,
                &amount,
                &c.currency.code(),
                &payout,
                &revenue,
                &c.payout_currency.code(),
                &c.click_ms,
                &c.conv_ms,
                &c.updated_ms,
                &c.too_fast,
                &c.test,
                &c.capped,
                &c.parent_id,
                &payout_base,
                &revenue_base,
                &c.fx_missing,
                &c.hold_until_ms,
                &c.duplicates,
                &d.source,
                &d.sub1,
                &d.sub2,
                &d.sub3,
                &d.sub4,
                &d.sub5,
                &d.country,
                &d.device,
                &d.os,
                &d.browser,
                &d.rule,
                &d.target,
                &c.channel.column(),
                &once,
            ],
        )
        .await
        .map(drop)
    }

    async fn set_status(
        &mut self,
        id: &str,
        to: Status,
        received: Option<&str>,
        now_ms: i64,
    ) -> StoreResult<Option<Conversion>> {
        self.one(
            &format!(
                "UPDATE conversions SET status = $1, status_received = $2, updated_ms = $3, hold_until_ms = NULL
                 WHERE id = $4 RETURNING {CONVERSION_COLUMNS}"
            ),
            &[&to.as_str(), &received, &now_ms, &id],
        )
        .await
    }

    async fn count_duplicate(&mut self, id: &str) -> StoreResult<Option<Conversion>> {
        self.one(
            &format!("UPDATE conversions SET duplicates = duplicates + 1 WHERE id = $1 RETURNING {CONVERSION_COLUMNS}"),
            &[&id],
        )
        .await
    }

    async fn approve_held(&mut self, id: &str, now_ms: i64) -> StoreResult<Option<Conversion>> {
        self.one(
            &format!(
                "UPDATE conversions SET status = 'approved', status_received = NULL, updated_ms = $1, hold_until_ms = NULL
                 WHERE id = $2 AND status = 'pending' AND hold_until_ms IS NOT NULL AND hold_until_ms <= $1
                 RETURNING {CONVERSION_COLUMNS}"
            ),
            &[&now_ms, &id],
        )
        .await
    }

    async fn insert_ledger(&mut self, e: &LedgerEntry) -> StoreResult<i64> {
        super::ledger::insert(self.tx, e).await
    }

    async fn insert_delivery(&mut self, job: &NewDelivery) -> StoreResult<()> {
        self.exec(
            "INSERT INTO deliveries (id, affiliate_id, conversion_id, status, method, url, body, state, attempts,
                 next_attempt_ms, lease_until, created_ms, updated_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, 0, $8, $8) ON CONFLICT (id) DO NOTHING",
            &[
                &job.id, &job.affiliate_id, &job.conversion_id, &job.status.as_str(), &method_str(job.method),
                &job.url, &job.body, &job.now_ms,
            ],
        )
        .await
        .map(drop)
    }

    fn roll(&mut self, change: Change) {
        conversion_rollup::merge(&mut self.rollups, change);
    }

    async fn insert_log(&mut self, e: &PostbackLogEntry) -> StoreResult<()> {
        let http_status = i32::from(e.http_status);
        self.exec(
            "INSERT INTO postback_log (ts_ms, source_ip, method, advertiser_id, offer_id, click_id, fields, result, error,
                 message, hint, conversion_id, http_status, pii_removed, txid, replayed, channel)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
            &[
                &e.ts_ms, &e.source_ip, &e.method, &e.advertiser_id, &e.offer_id, &e.click_id, &json(&e.fields),
                &e.result, &e.error, &e.message, &e.hint, &e.conversion_id, &http_status, &e.pii_removed, &e.txid,
                &e.replayed, &e.channel.column(),
            ],
        )
        .await
        .map(drop)
    }
}

/// Cap checks of one offer take turns across nodes until the transaction
/// ends (an advisory lock keyed by the offer).
async fn lock_offer_caps(
    tx: &Transaction<'_>,
    offer_id: &str,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('cap:' || $1, 0))",
        &[&offer_id],
    )
    .await
    .map(drop)
}

/// Counted conversions and payout of an offer (and affiliate) since a time:
/// not test, not capped, not refunds, not rejected or reversed.
pub async fn cap_usage(
    c: &impl GenericClient,
    offer_id: &str,
    affiliate_id: Option<&str>,
    since_ms: i64,
) -> StoreResult<(i64, Decimal)> {
    let r = c
        .query_one(
            "SELECT COUNT(*), COALESCE(SUM(payout_micros), 0)::bigint FROM conversions
             WHERE offer_id = $1 AND ($2::text IS NULL OR affiliate_id = $2) AND conv_ms >= $3
               AND NOT test AND NOT capped AND parent_id IS NULL AND status IN ('pending', 'approved')",
            &[&offer_id, &affiliate_id, &since_ms],
        )
        .await
        .map_err(pg_error)?;
    Ok((r.get(0), from_micros(r.get(1))))
}

async fn record_item(tx: &mut PgTx<'_>, item: &PostbackWrite) -> StoreResult<Recorded> {
    match item {
        PostbackWrite::Conversion(a) => record::record_and_log(tx, a).await.map(Some),
        PostbackWrite::Log(e) => tx.insert_log(e).await.map(|_| None),
    }
}

/// Group commit for the postback path: the batch in one transaction.
/// An item fails only on a storage error or a lost race, which are rare:
/// the batch runs straight through, and only when an item fails is it run
/// again with a savepoint per item, so the others still commit and a lost
/// race is decided again.
pub async fn record_batch(
    c: &mut tokio_postgres::Client,
    items: &[PostbackWrite],
) -> StoreResult<Vec<Result<Recorded, String>>> {
    {
        let tx = c.transaction().await.map_err(pg_error)?;
        lock_batch_keys(&tx, items).await?;
        let mut ptx = PgTx::new(&tx);
        let mut all = Vec::with_capacity(items.len());
        let mut failed = false;
        for item in items {
            match record_item(&mut ptx, item).await {
                Ok(r) => all.push(r),
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        if !failed && write_rollups(&tx, &ptx.rollups).await.is_ok() {
            tx.commit().await.map_err(pg_error)?;
            return Ok(all.into_iter().map(Ok).collect());
        }
        // dropping `tx` rolls the whole first pass back
    }
    let tx = c.transaction().await.map_err(pg_error)?;
    lock_batch_keys(&tx, items).await?;
    let mut out = Vec::with_capacity(items.len());
    let mut rollups = Change::new();
    for item in items {
        let mut result = Err(String::new());
        for _ in 0..RACE_RETRIES {
            tx.batch_execute("SAVEPOINT item").await.map_err(pg_error)?;
            let mut ptx = PgTx::new(&tx);
            match record_item(&mut ptx, item).await {
                Ok(r) => {
                    conversion_rollup::merge(&mut rollups, ptx.rollups);
                    tx.batch_execute("RELEASE SAVEPOINT item")
                        .await
                        .map_err(pg_error)?;
                    result = Ok(r);
                    break;
                }
                Err(e) => {
                    tx.batch_execute("ROLLBACK TO SAVEPOINT item")
                        .await
                        .map_err(pg_error)?;
                    result = Err(e.to_string());
                    if !ptx.raced {
                        break;
                    }
                }
            }
        }
        out.push(result);
    }
    write_rollups(&tx, &rollups).await?;
    tx.commit().await.map_err(pg_error)?;
    Ok(out)
}

/// Takes, up front and in one order, the advisory locks of everything the
/// batch decides about: the caps of its offers, its txids, its clicks'
/// once-only events, the originals its refunds reverse. Two nodes' batches
/// then never wait for each other in a circle (inserting the same new txid
/// in opposite orders did, each on the other's uncommitted index entry,
/// until PostgreSQL's deadlock timeout aborted one a second later).
async fn lock_batch_keys(tx: &Transaction<'_>, items: &[PostbackWrite]) -> StoreResult<()> {
    let mut keys: Vec<String> = Vec::new();
    for item in items {
        let PostbackWrite::Conversion(a) = item else {
            continue;
        };
        let c = &a.conversion;
        if !a.caps.is_empty() {
            keys.push(format!("cap:{}", c.offer_id));
        }
        if let Some(t) = &c.txid {
            keys.push(format!("tx:{}\u{1f}{}\u{1f}{t}", c.offer_id, c.event));
        }
        if !a.repeatable {
            keys.push(format!("click:{}\u{1f}{}", c.click_id, c.event));
        }
        if let Some(t) = &a.original_txid {
            keys.push(format!("original:{}\u{1f}{t}", c.offer_id));
        }
    }
    if keys.is_empty() {
        return Ok(());
    }
    tx.execute(
        "SELECT pg_advisory_xact_lock(h) FROM
             (SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest($1::text[]) AS k ORDER BY h) AS ordered",
        &[&keys],
    )
    .await
    .map_err(pg_error)
    .map(drop)
}

pub async fn list(s: &PgStore, f: &ConversionFilter) -> StoreResult<Vec<Conversion>> {
    let c = s.client().await?;
    rows(&**c, &query::conversions(f))
        .await?
        .iter()
        .map(conversion_from_row)
        .collect()
}

pub async fn postback_log(s: &PgStore, f: &PostbackFilter) -> StoreResult<Vec<PostbackLogEntry>> {
    let c = s.client().await?;
    let rows = rows(&**c, &query::postback_log(f)).await?;
    rows.iter()
        .map(|r| {
            let id: i64 = r.get(0);
            let fields: &str = r.get(7);
            Ok(PostbackLogEntry {
                id,
                ts_ms: r.get(1),
                source_ip: r.get(2),
                method: r.get(3),
                advertiser_id: r.get(4),
                offer_id: r.get(5),
                click_id: r.get(6),
                fields: serde_json::from_str(fields).map_err(|_| {
                    corrupt(
                        "postback_log",
                        id,
                        "fields",
                        fields,
                        "a JSON list of fields",
                    )
                })?,
                result: r.get(8),
                error: r.get(9),
                message: r.get(10),
                hint: r.get(11),
                conversion_id: r.get(12),
                http_status: r.get::<_, i32>(13) as u16,
                pii_removed: r.get(14),
                txid: r.get(15),
                replayed: r.get(16),
                channel: channel(r.get(17), "postback_log", id)?,
            })
        })
        .collect()
}

pub async fn due_holds(s: &PgStore, now_ms: i64, limit: u32) -> StoreResult<Vec<String>> {
    let c = s.client().await?;
    let rows = c
        .query(
            "SELECT id FROM conversions WHERE hold_until_ms IS NOT NULL AND hold_until_ms <= $1 AND status = 'pending'
             ORDER BY hold_until_ms LIMIT $2",
            &[&now_ms, &i64::from(limit)],
        )
        .await
        .map_err(pg_error)?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

pub async fn release_hold(
    s: &PgStore,
    id: &str,
    now_ms: i64,
    notify: Option<Notify>,
    base: Currency,
) -> StoreResult<Option<Conversion>> {
    let mut c = s.client().await?;
    let tx = c.transaction().await.map_err(pg_error)?;
    // the conditional UPDATE decides: a hold two nodes release at once is
    // approved (and paid) by one of them
    let mut ptx = PgTx::new(&tx);
    let out = record::release_hold(&mut ptx, id, now_ms, notify.as_ref(), base).await?;
    write_rollups(&tx, &ptx.rollups).await?;
    tx.commit().await.map_err(pg_error)?;
    Ok(out)
}
