//! Money: the affiliates' ledger (accruals and reversals written with
//! their conversions, adjustments and payouts with their audit entry), FX
//! rates, and what an offer's caps have used.

use clickledger_domain::money::{from_micros, to_micros};
use clickledger_domain::Currency;
use rusqlite::{params, Connection, TransactionBehavior};
use rust_decimal::Decimal;

use super::sql::{json, parse_currency};
use crate::corrupt::parsed;
use crate::model::*;

/// An affiliate's entries before `until_ms`, oldest first.
pub(super) fn ledger(
    c: &Connection,
    affiliate_id: &str,
    until_ms: Option<i64>,
) -> rusqlite::Result<Vec<LedgerEntry>> {
    let mut st = c.prepare(
        "SELECT id, affiliate_id, ts_ms, kind, amount_micros, currency, amount_base_micros, conversion_id, reason
         FROM ledger WHERE affiliate_id = ?1 AND ts_ms < ?2 ORDER BY id",
    )?;
    let rows = st.query_map(params![affiliate_id, until_ms.unwrap_or(i64::MAX)], |r| {
        let kind: String = r.get(3)?;
        let currency: String = r.get(5)?;
        Ok(LedgerEntry {
            id: r.get(0)?,
            affiliate_id: r.get(1)?,
            ts_ms: r.get(2)?,
            kind: parsed(
                LedgerKind::parse,
                &kind,
                "ledger",
                r.get::<_, i64>(0)?,
                "kind",
                "accrual, reversal, adjustment or payout",
            )?,
            amount: from_micros(r.get(4)?),
            currency: parse_currency(currency)?,
            amount_base: r.get::<_, Option<i64>>(6)?.map(from_micros),
            conversion_id: r.get(7)?,
            reason: r.get(8)?,
        })
    })?;
    rows.collect()
}

/// Appends an adjustment or payout with its audit record; with `floor`,
/// not below it (the answer is then the balance available).
pub(super) fn add_entry(
    c: &mut Connection,
    mut e: LedgerEntry,
    mut change: AuditEntry,
    floor: Option<Decimal>,
) -> rusqlite::Result<LedgerWrite> {
    // IMMEDIATE: the balance read and the insert see no other writer
    // between them, so two payouts cannot both spend the same money.
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if let Some(floor) = floor {
        let available = from_micros(tx.query_row(
            "SELECT COALESCE(SUM(amount_micros), 0) FROM ledger WHERE affiliate_id = ?1 AND currency = ?2",
            params![e.affiliate_id, e.currency.code()],
            |r| r.get(0),
        )?);
        if available + e.amount < floor {
            return Ok(LedgerWrite::BelowFloor { available });
        }
    }
    insert_ledger(&tx, &e)?;
    e.id = tx.last_insert_rowid();
    if let Some(after) = change.after.as_mut().and_then(|a| a.as_object_mut()) {
        after.insert("id".into(), e.id.into());
    }
    tx.execute(
        "INSERT INTO audit (ts_ms, key_id, action, entity_kind, entity_id, before, after) VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6)",
        params![change.ts_ms, change.key_id, change.action, change.entity_kind, change.entity_id, change.after.as_ref().map(json)],
    )?;
    tx.commit()?;
    Ok(LedgerWrite::Added(e))
}

/// Writes one entry in the caller's transaction.
pub(super) fn insert_ledger(tx: &Connection, e: &LedgerEntry) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO ledger (affiliate_id, ts_ms, kind, amount_micros, currency, amount_base_micros, conversion_id, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        e.affiliate_id,
        e.ts_ms,
        e.kind.as_str(),
        to_micros(e.amount),
        e.currency.code(),
        e.amount_base.map(to_micros),
        e.conversion_id,
        e.reason
    ])?;
    Ok(())
}

pub(super) fn put_fx_rates(c: &mut Connection, rates: &[FxRate]) -> rusqlite::Result<()> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut st = tx.prepare_cached(
            "INSERT OR REPLACE INTO fx_rates (currency, date, rate) VALUES (?1, ?2, ?3)",
        )?;
        for r in rates {
            st.execute(params![r.currency.code(), r.date, r.rate.to_string()])?;
        }
    }
    tx.commit()
}

pub(super) fn fx_rates(c: &Connection) -> rusqlite::Result<Vec<FxRate>> {
    let mut st = c.prepare("SELECT currency, date, rate FROM fx_rates ORDER BY date, currency")?;
    let rows = st.query_map([], |r| {
        let cur: String = r.get(0)?;
        let rate: String = r.get(2)?;
        let currency = parse_currency(cur)?;
        let date: String = r.get(1)?;
        Ok(FxRate {
            rate: parse_rate(&rate, currency, &date)?,
            currency,
            date,
        })
    })?;
    rows.collect()
}

/// A stored FX rate: a decimal above 0, or an error naming the row.
pub(super) fn parse_rate(text: &str, currency: Currency, date: &str) -> rusqlite::Result<Decimal> {
    parsed(
        |s| {
            Decimal::from_str_exact(s)
                .ok()
                .filter(|d| *d > Decimal::ZERO)
        },
        text,
        "fx_rates",
        format_args!("{}/{date}", currency.code()),
        "rate",
        "a decimal above 0",
    )
}

/// Counted conversions and payout of an offer (and affiliate) since a time:
/// not test, not capped, not refunds, not rejected or reversed.
pub(super) fn cap_usage(
    tx: &Connection,
    offer_id: &str,
    affiliate_id: Option<&str>,
    since_ms: i64,
) -> rusqlite::Result<(i64, Decimal)> {
    let (n, payout): (i64, i64) = tx
        .prepare_cached(
            "SELECT COUNT(*), COALESCE(SUM(payout_micros), 0) FROM conversions
             WHERE offer_id = ?1 AND (?2 IS NULL OR affiliate_id = ?2) AND conv_ms >= ?3
               AND test = 0 AND capped = 0 AND parent_id IS NULL AND status IN ('pending', 'approved')",
        )?
        .query_row(params![offer_id, affiliate_id, since_ms], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok((n, from_micros(payout)))
}
