//! Conversions: recording one (the reads and writes [`ConversionTx`] asks
//! for, on the writer's open transaction; the decisions themselves are in
//! `record`, shared with every backend), reading them back, releasing
//! holds, and the log of every postback received.

use clickledger_domain::money::{from_micros, to_micros};
use clickledger_domain::status::{Decision, Recorded};
use clickledger_domain::{ClickId, Currency, Status};
use rusqlite::{
    params, Connection, OptionalExtension, Row, ToSql, Transaction, TransactionBehavior,
};
use rust_decimal::Decimal;

use super::conversion_rollup::Pending;
use super::sql::{json, parse_currency, rows};
use super::{deliveries, ledger};
use crate::conversion_rollup::{self, Change};
use crate::corrupt::{corrupt, parsed, store_error};
use crate::model::*;
use crate::query::{self, CONVERSION_COLUMNS};
use crate::record::{self, cents, run_ready, ConversionTx, NewDelivery};
use crate::{ConversionAttempt, PostbackWrite, Recorded as ItemOutcome, StoreResult};

fn conversion_from_row(r: &Row) -> rusqlite::Result<Conversion> {
    let status: String = r.get(8)?;
    let click_ms: i64 = r.get(15)?;
    let conv_ms: i64 = r.get(16)?;
    let currency = parse_currency(r.get(11)?)?;
    let payout_currency = parse_currency(r.get(14)?)?;
    let money = |m: i64| payout_currency.display(from_micros(m));
    Ok(Conversion {
        id: r.get(0)?,
        click_id: click_id_column(r, 1)?,
        offer_id: r.get(2)?,
        advertiser_id: r.get(3)?,
        affiliate_id: r.get(4)?,
        link_id: r.get(5)?,
        event: r.get(6)?,
        txid: r.get(7)?,
        status: parsed(
            Status::parse,
            &status,
            "conversions",
            r.get::<_, String>(0)?,
            "status",
            "a status",
        )?,
        status_received: r.get(9)?,
        amount: r
            .get::<_, Option<i64>>(10)?
            .map(|m| currency.display(from_micros(m))),
        currency,
        payout: money(r.get(12)?),
        revenue: money(r.get(13)?),
        payout_currency,
        click_ms,
        conv_ms,
        updated_ms: r.get(17)?,
        delay_seconds: (conv_ms - click_ms) / 1000,
        too_fast: r.get(18)?,
        test: r.get(19)?,
        capped: r.get(20)?,
        parent_id: r.get(21)?,
        payout_base: r.get::<_, Option<i64>>(22)?.map(cents),
        revenue_base: r.get::<_, Option<i64>>(23)?.map(cents),
        fx_missing: r.get(24)?,
        hold_until_ms: r.get(25)?,
        duplicates: r.get(26)?,
        channel: channel_column(r, 39, "conversions", r.get::<_, String>(0)?)?,
        dims: ClickDims {
            source: r.get(27)?,
            sub1: r.get(28)?,
            sub2: r.get(29)?,
            sub3: r.get(30)?,
            sub4: r.get(31)?,
            sub5: r.get(32)?,
            country: r.get(33)?,
            device: r.get(34)?,
            os: r.get(35)?,
            browser: r.get(36)?,
            rule: r.get(37)?,
            target: r.get(38)?,
        },
    })
}

/// A `channel` column: NULL is s2s.
fn channel_column(
    r: &Row,
    idx: usize,
    table: &'static str,
    row: impl std::fmt::Display,
) -> rusqlite::Result<Channel> {
    let v: Option<String> = r.get(idx)?;
    Channel::from_column(v.as_deref()).ok_or_else(|| {
        corrupt(
            table,
            row,
            "channel",
            v.unwrap_or_default(),
            "s2s (NULL) or browser",
        )
    })
}

fn click_id_column(r: &Row, idx: usize) -> rusqlite::Result<clickledger_domain::ClickId> {
    let bytes: [u8; 16] = r.get_ref(idx)?.as_blob()?.try_into().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            idx,
            rusqlite::types::Type::Blob,
            "click id is not 16 bytes".into(),
        )
    })?;
    Ok(clickledger_domain::ClickId::from_bytes(bytes))
}

/// What the dedup decision needs of the earliest matching conversion: six
/// columns, not the whole row (two of these are read for every postback).
/// `min(conv_ms)` instead of `ORDER BY conv_ms LIMIT 1`: SQLite takes a bare
/// column's value from the row holding the min, and an aggregate needs no
/// sorter (the ORDER BY opened a temporary b-tree, a pager of its own, on
/// every call). With no match the one row it answers is all NULL.
fn select_recorded(
    tx: &Connection,
    clause: &str,
    args: &[&dyn ToSql],
) -> rusqlite::Result<Option<Recorded>> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT id, click_id, txid, status, amount_micros, currency, min(conv_ms) \
         FROM conversions WHERE {clause}"
    ))?;
    let mut rows = stmt.query(args)?;
    let Some(r) = rows.next()? else {
        return Ok(None);
    };
    if r.get_ref(0)?.data_type() == rusqlite::types::Type::Null {
        return Ok(None);
    }
    let currency = parse_currency(r.get(5)?)?;
    Ok(Some(Recorded {
        conversion_id: r.get(0)?,
        click_id: click_id_column(r, 1)?.as_u128(),
        txid: r.get(2)?,
        status: parsed(
            Status::parse,
            r.get_ref(3)?.as_str()?,
            "conversions",
            r.get::<_, String>(0)?,
            "status",
            "a status",
        )?,
        amount: r
            .get::<_, Option<i64>>(4)?
            .map(|m| currency.display(from_micros(m))),
        currency,
    }))
}

fn select_one(
    tx: &Connection,
    clause: &str,
    args: &[&dyn ToSql],
) -> rusqlite::Result<Option<Conversion>> {
    tx.prepare_cached(&format!(
        "SELECT {CONVERSION_COLUMNS} FROM conversions WHERE {clause} ORDER BY conv_ms LIMIT 1"
    ))?
    .query_row(args, conversion_from_row)
    .optional()
}

fn insert_conversion(tx: &Connection, c: &Conversion, repeatable: bool) -> rusqlite::Result<()> {
    // see `once` in the schema: NULL lets a repeatable event recur
    let once = (!repeatable).then_some(1);
    let d = &c.dims;
    tx.prepare_cached(&format!(
        "INSERT INTO conversions ({CONVERSION_COLUMNS}, once) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,
         ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36, ?37, ?38, ?39, ?40, ?41)"
    ))?
    .execute(rusqlite::params![
        c.id,
        &c.click_id.to_bytes()[..],
        c.offer_id,
        c.advertiser_id,
        c.affiliate_id,
        c.link_id,
        c.event,
        c.txid,
        c.status.as_str(),
        c.status_received,
        c.amount.map(to_micros),
        c.currency.code(),
        to_micros(c.payout),
        to_micros(c.revenue),
        c.payout_currency.code(),
        c.click_ms,
        c.conv_ms,
        c.updated_ms,
        c.too_fast,
        c.test,
        c.capped,
        c.parent_id,
        c.payout_base.map(to_micros),
        c.revenue_base.map(to_micros),
        c.fx_missing,
        c.hold_until_ms,
        c.duplicates,
        d.source,
        d.sub1,
        d.sub2,
        d.sub3,
        d.sub4,
        d.sub5,
        d.country,
        d.device,
        d.os,
        d.browser,
        d.rule,
        d.target,
        c.channel.column(),
        once
    ])?;
    Ok(())
}

/// The writer's open transaction, as recording sees it. SQLite has one
/// writer at a time, so nothing here needs a lock of its own.
struct SqliteTx<'a> {
    conn: &'a Connection,
    /// The conversion rollups' changes, for the writer's pending sums.
    rollups: Change,
}

impl<'a> SqliteTx<'a> {
    fn new(conn: &'a Connection) -> Self {
        SqliteTx {
            conn,
            rollups: Change::new(),
        }
    }
}

/// Commits a postback transaction whose recording succeeded, with its
/// rollup changes staged (`conversion_rollup::Pending`); a refusal or a
/// failed read rolls it back (dropping it) and is the answer.
fn commit<T>(
    tx: Transaction,
    pending: &mut Pending,
    rollups: Change,
    out: StoreResult<T>,
) -> rusqlite::Result<StoreResult<T>> {
    let out = match out {
        Ok(out) => out,
        Err(e) => return Ok(Err(e)),
    };
    let step = pending.stage(&tx, rollups)?;
    tx.commit()?;
    pending.apply(step);
    Ok(Ok(out))
}

impl ConversionTx for SqliteTx<'_> {
    async fn recorded_by_txid(
        &mut self,
        offer_id: &str,
        event: &str,
        txid: &str,
    ) -> StoreResult<Option<Recorded>> {
        select_recorded(
            self.conn,
            "offer_id = ?1 AND event = ?2 AND txid = ?3",
            &[&offer_id, &event, &txid],
        )
        .map_err(store_error)
    }

    async fn recorded_by_click(
        &mut self,
        click_id: ClickId,
        event: &str,
    ) -> StoreResult<Option<Recorded>> {
        select_recorded(
            self.conn,
            "click_id = ?1 AND event = ?2",
            &[&&click_id.to_bytes()[..], &event],
        )
        .map_err(store_error)
    }

    async fn conversion(&mut self, id: &str) -> StoreResult<Option<Conversion>> {
        select_one(self.conn, "id = ?1", &[&id]).map_err(store_error)
    }

    async fn original(&mut self, offer_id: &str, txid: &str) -> StoreResult<Option<Conversion>> {
        select_one(
            self.conn,
            "offer_id = ?1 AND txid = ?2 AND parent_id IS NULL",
            &[&offer_id, &txid],
        )
        .map_err(store_error)
    }

    async fn refunded(&mut self, parent_id: &str) -> StoreResult<(Decimal, Decimal)> {
        let (paid, earned): (i64, i64) = self
            .conn
            .prepare_cached("SELECT COALESCE(-SUM(payout_micros), 0), COALESCE(-SUM(revenue_micros), 0) FROM conversions WHERE parent_id = ?1")
            .and_then(|mut st| st.query_row([parent_id], |r| Ok((r.get(0)?, r.get(1)?))))
            .map_err(store_error)?;
        Ok((from_micros(paid), from_micros(earned)))
    }

    async fn fx_rate(&mut self, currency: Currency, date: &str) -> StoreResult<Option<Decimal>> {
        let rate: Option<String> = self
            .conn
            .prepare_cached("SELECT rate FROM fx_rates WHERE currency = ?1 AND date = ?2")
            .and_then(|mut st| {
                st.query_row(params![currency.code(), date], |r| r.get(0))
                    .optional()
            })
            .map_err(store_error)?;
        rate.map(|r| ledger::parse_rate(&r, currency, date))
            .transpose()
            .map_err(store_error)
    }

    async fn lock_caps(&mut self, _offer_id: &str) -> StoreResult<()> {
        Ok(())
    }

    async fn cap_usage(
        &mut self,
        offer_id: &str,
        affiliate_id: Option<&str>,
        since_ms: i64,
    ) -> StoreResult<(i64, Decimal)> {
        ledger::cap_usage(self.conn, offer_id, affiliate_id, since_ms).map_err(store_error)
    }

    async fn insert_conversion(&mut self, c: &Conversion, repeatable: bool) -> StoreResult<()> {
        insert_conversion(self.conn, c, repeatable).map_err(store_error)
    }

    async fn set_status(
        &mut self,
        id: &str,
        to: Status,
        received: Option<&str>,
        now_ms: i64,
    ) -> StoreResult<Option<Conversion>> {
        self.conn
            .prepare_cached(&format!(
                "UPDATE conversions SET status = ?1, status_received = ?2, updated_ms = ?3, \
                 hold_until_ms = NULL WHERE id = ?4 RETURNING {CONVERSION_COLUMNS}"
            ))
            .and_then(|mut st| {
                st.query_row(
                    params![to.as_str(), received, now_ms, id],
                    conversion_from_row,
                )
                .optional()
            })
            .map_err(store_error)
    }

    async fn count_duplicate(&mut self, id: &str) -> StoreResult<Option<Conversion>> {
        self.conn
            .prepare_cached(&format!(
                "UPDATE conversions SET duplicates = duplicates + 1 WHERE id = ?1 RETURNING {CONVERSION_COLUMNS}"
            ))
            .and_then(|mut st| st.query_row([id], conversion_from_row).optional())
            .map_err(store_error)
    }

    async fn approve_held(&mut self, id: &str, now_ms: i64) -> StoreResult<Option<Conversion>> {
        self.conn
            .prepare_cached(&format!(
                "UPDATE conversions SET status = 'approved', status_received = NULL, updated_ms = ?1, hold_until_ms = NULL
                 WHERE id = ?2 AND status = 'pending' AND hold_until_ms IS NOT NULL AND hold_until_ms <= ?1
                 RETURNING {CONVERSION_COLUMNS}"
            ))
            .and_then(|mut st| st.query_row(params![now_ms, id], conversion_from_row).optional())
            .map_err(store_error)
    }

    async fn insert_ledger(&mut self, e: &LedgerEntry) -> StoreResult<i64> {
        ledger::insert_ledger(self.conn, e).map_err(store_error)?;
        Ok(self.conn.last_insert_rowid())
    }

    async fn insert_delivery(&mut self, job: &NewDelivery) -> StoreResult<()> {
        deliveries::insert_delivery(self.conn, job).map_err(store_error)
    }

    fn roll(&mut self, change: Change) {
        conversion_rollup::merge(&mut self.rollups, change);
    }

    async fn insert_log(&mut self, e: &PostbackLogEntry) -> StoreResult<()> {
        insert_log(self.conn, e).map_err(store_error)
    }
}

/// Decides, records and logs one postback in one transaction.
pub(super) fn record_conversion(
    c: &mut Connection,
    pending: &mut Pending,
    attempt: &ConversionAttempt,
) -> rusqlite::Result<StoreResult<(Decision, Option<Conversion>)>> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut stx = SqliteTx::new(&tx);
    let out = run_ready(record::record_and_log(&mut stx, attempt));
    let rollups = stx.rollups;
    commit(tx, pending, rollups, out)
}

/// Group commit for the postback path: every item in one transaction,
/// decided in order; one failing item does not sink the others.
pub(super) fn record_batch(
    c: &mut Connection,
    pending: &mut Pending,
    items: &[PostbackWrite],
) -> rusqlite::Result<Vec<Result<ItemOutcome, String>>> {
    // An item fails only on a storage error, which is rare: write the
    // batch straight through, and only when an item fails, redo it
    // with a savepoint per item so the others still commit.
    // (Savepoints on every item cost a fifth of the writer's time.)
    {
        let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut stx = SqliteTx::new(&tx);
        let all: StoreResult<Vec<ItemOutcome>> = items
            .iter()
            .map(|item| record_item(&mut stx, item))
            .collect();
        if all.is_ok() {
            let rollups = stx.rollups;
            if let Ok(all) = commit(tx, pending, rollups, all)? {
                return Ok(all.into_iter().map(Ok).collect());
            }
        }
    }
    let mut tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut out = Vec::with_capacity(items.len());
    let mut rollups = Change::new();
    for item in items {
        let sp = tx.savepoint()?;
        let mut stx = SqliteTx::new(&sp);
        match record_item(&mut stx, item) {
            Ok(r) => {
                conversion_rollup::merge(&mut rollups, stx.rollups);
                sp.commit()?;
                out.push(Ok(r));
            }
            // dropping the savepoint rolls this item back only
            Err(e) => out.push(Err(e.to_string())),
        }
    }
    let step = pending.stage(&tx, rollups)?;
    tx.commit()?;
    pending.apply(step);
    Ok(out)
}

/// Decides, records and logs one item of the postback path.
fn record_item(tx: &mut SqliteTx, item: &PostbackWrite) -> StoreResult<ItemOutcome> {
    match item {
        PostbackWrite::Conversion(a) => run_ready(record::record_and_log(tx, a)).map(Some),
        PostbackWrite::Log(e) => run_ready(tx.insert_log(e)).map(|_| None),
    }
}

/// Held conversions whose hold has ended.
pub(super) fn due_holds(c: &Connection, now_ms: i64, limit: u32) -> rusqlite::Result<Vec<String>> {
    let mut st = c.prepare(
        "SELECT id FROM conversions WHERE hold_until_ms IS NOT NULL AND hold_until_ms <= ?1 AND status = 'pending'
         ORDER BY hold_until_ms LIMIT ?2",
    )?;
    let rows = st.query_map(params![now_ms, limit], |r| r.get(0))?;
    rows.collect()
}

/// Approves a conversion whose hold has ended, with what follows from it
/// (ledger, delivery), in one transaction.
pub(super) fn release_hold(
    c: &mut Connection,
    pending: &mut Pending,
    id: &str,
    now_ms: i64,
    notify: Option<&Notify>,
    base: Currency,
) -> rusqlite::Result<StoreResult<Option<Conversion>>> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut stx = SqliteTx::new(&tx);
    let out = run_ready(record::release_hold(&mut stx, id, now_ms, notify, base));
    let rollups = stx.rollups;
    commit(tx, pending, rollups, out)
}

/// Conversions matching the filter, newest first.
pub(super) fn conversions(
    c: &Connection,
    f: &ConversionFilter,
) -> rusqlite::Result<Vec<Conversion>> {
    rows(c, &query::conversions(f), conversion_from_row)
}

fn insert_log(conn: &Connection, e: &PostbackLogEntry) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO postback_log (ts_ms, source_ip, method, advertiser_id, offer_id, click_id, fields, result, error, message, hint, conversion_id, http_status, pii_removed, txid, replayed, channel)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
    )?
    .execute(params![
        e.ts_ms,
        e.source_ip,
        e.method,
        e.advertiser_id,
        e.offer_id,
        e.click_id,
        json(&e.fields),
        e.result,
        e.error,
        e.message,
        e.hint,
        e.conversion_id,
        e.http_status,
        e.pii_removed,
        e.txid,
        e.replayed,
        e.channel.column()
    ])?;
    Ok(())
}

/// The postback log, newest first.
pub(super) fn postback_log(
    c: &Connection,
    f: &PostbackFilter,
) -> rusqlite::Result<Vec<PostbackLogEntry>> {
    rows(c, &query::postback_log(f), |r| {
        let fields: String = r.get(7)?;
        let id: i64 = r.get(0)?;
        Ok(PostbackLogEntry {
            id,
            ts_ms: r.get(1)?,
            source_ip: r.get(2)?,
            method: r.get(3)?,
            advertiser_id: r.get(4)?,
            offer_id: r.get(5)?,
            click_id: r.get(6)?,
            fields: serde_json::from_str(&fields).map_err(|_| {
                corrupt(
                    "postback_log",
                    id,
                    "fields",
                    &fields,
                    "a JSON list of fields",
                )
            })?,
            result: r.get(8)?,
            error: r.get(9)?,
            message: r.get(10)?,
            hint: r.get(11)?,
            conversion_id: r.get(12)?,
            http_status: r.get(13)?,
            pii_removed: r.get(14)?,
            txid: r.get(15)?,
            replayed: r.get(16)?,
            channel: channel_column(r, 17, "postback_log", id)?,
        })
    })
}
