//! What happens inside the transaction that records a conversion or changes
//! its status: the dedup decision, refunds, caps, FX, the ledger entries and
//! the outbox job. Kept together so that money and notifications can only
//! ever move with the conversion they belong to.

use clickledger_domain::codes::{ErrorCode, Refusal};
use clickledger_domain::money::{from_micros, to_micros};
use clickledger_domain::offer::refund_share;
use clickledger_domain::status::{decide, Decision, Recorded};
use clickledger_domain::time::rfc3339_ms;
use clickledger_domain::{Currency, Status};
use rusqlite::{params, Connection, OptionalExtension, Row, ToSql};
use rust_decimal::Decimal;

use crate::corrupt::parsed;
use crate::model::*;
use crate::ConversionAttempt;

pub const CONVERSION_COLUMNS: &str = "id, click_id, offer_id, advertiser_id, affiliate_id, link_id, event, txid, status, \
     status_received, amount_micros, currency, payout_micros, revenue_micros, payout_currency, click_ms, conv_ms, \
     updated_ms, too_fast, test, capped, parent_id, payout_base_micros, revenue_base_micros, fx_missing, hold_until_ms, \
     duplicates, source, sub1, sub2, sub3, sub4, sub5, country, device, os, browser";

pub(crate) fn parse_currency(s: String) -> rusqlite::Result<Currency> {
    Currency::parse(&s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

pub fn conversion_from_row(r: &Row) -> rusqlite::Result<Conversion> {
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
        },
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

/// A base-currency amount shown with at least two decimals.
fn cents(micros: i64) -> Decimal {
    let mut d = from_micros(micros);
    if d.scale() < 2 {
        d.rescale(2);
    }
    d
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

pub fn select_one(
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

/// The rate of `currency` into `base` on the UTC date of `ms`: 1 for the
/// base itself, `None` without a rate for that exact date (never guessed).
pub fn fx_rate(
    tx: &Connection,
    currency: Currency,
    base: Currency,
    ms: i64,
) -> rusqlite::Result<Option<Decimal>> {
    if currency == base {
        return Ok(Some(Decimal::ONE));
    }
    let date = &rfc3339_ms(ms)[..10];
    let rate: Option<String> = tx
        .prepare_cached("SELECT rate FROM fx_rates WHERE currency = ?1 AND date = ?2")?
        .query_row(params![currency.code(), date], |r| r.get(0))
        .optional()?;
    Ok(rate.and_then(|r| Decimal::from_str_exact(&r).ok()))
}

fn base_amounts(tx: &Connection, conv: &mut Conversion, base: Currency) -> rusqlite::Result<()> {
    match fx_rate(tx, conv.payout_currency, base, conv.conv_ms)? {
        Some(rate) => {
            conv.payout_base = Some(base.round(conv.payout * rate));
            conv.revenue_base = Some(base.round(conv.revenue * rate));
            conv.fx_missing = false;
        }
        None => {
            conv.payout_base = None;
            conv.revenue_base = None;
            conv.fx_missing = true;
        }
    }
    Ok(())
}

/// Appends a ledger entry for `conv`'s payout (`sign` +1 accrues, -1
/// reverses), unless the conversion pays nothing.
fn post(
    tx: &Connection,
    conv: &Conversion,
    kind: LedgerKind,
    sign: i64,
    now: i64,
    base: Currency,
) -> rusqlite::Result<()> {
    if conv.test || conv.capped || conv.payout.is_zero() {
        return Ok(());
    }
    let amount = conv.payout * Decimal::from(sign);
    let amount_base = fx_rate(tx, conv.payout_currency, base, now)?.map(|r| base.round(amount * r));
    insert_ledger(
        tx,
        &LedgerEntry {
            id: 0,
            affiliate_id: conv.affiliate_id.clone(),
            ts_ms: now,
            kind,
            amount,
            currency: conv.payout_currency,
            amount_base,
            conversion_id: Some(conv.id.clone()),
            reason: None,
        },
    )
}

pub fn insert_ledger(tx: &Connection, e: &LedgerEntry) -> rusqlite::Result<()> {
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

/// The ledger moves a status change implies.
pub fn post_transition(
    tx: &Connection,
    conv: &Conversion,
    from: Status,
    to: Status,
    now: i64,
    base: Currency,
) -> rusqlite::Result<()> {
    match (from, to) {
        (_, Status::Approved) => post(tx, conv, LedgerKind::Accrual, 1, now, base),
        (Status::Approved, Status::Reversed | Status::Rejected) => {
            post(tx, conv, LedgerKind::Reversal, -1, now, base)
        }
        _ => Ok(()),
    }
}

/// Counted conversions and payout of an offer (and affiliate) since a time:
/// not test, not capped, not refunds, not rejected or reversed.
pub fn cap_usage(
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

fn over_cap(tx: &Connection, attempt: &ConversionAttempt) -> rusqlite::Result<Option<String>> {
    let conv = &attempt.conversion;
    for cap in &attempt.caps {
        let (n, payout) = cap_usage(
            tx,
            &conv.offer_id,
            cap.affiliate_id.as_deref(),
            cap.since_ms,
        )?;
        let over = match cap.metric {
            CapMetric::Conversions => Decimal::from(n + 1) > cap.limit,
            CapMetric::Payout => payout + conv.payout > cap.limit,
        };
        if over {
            let whose = if cap.affiliate_id.is_some() {
                "this affiliate's"
            } else {
                "the offer's"
            };
            return Ok(Some(
                format!("{whose} {:?} cap of {} is reached", cap.metric, cap.limit).to_lowercase(),
            ));
        }
    }
    Ok(None)
}

/// Decides and records a postback inside `tx`.
pub fn record(
    tx: &Connection,
    attempt: &ConversionAttempt,
) -> rusqlite::Result<(Decision, Option<Conversion>)> {
    let conv = &attempt.conversion;
    let base = attempt.base_currency;
    let now = attempt.log.ts_ms;
    let by_txid = match &conv.txid {
        Some(t) => select_recorded(
            tx,
            "offer_id = ?1 AND event = ?2 AND txid = ?3",
            &[&conv.offer_id, &conv.event, t],
        )?,
        None => None,
    };
    // `decide` consults the click's earlier conversion only for an event
    // that counts once per click and when the txid found nothing
    let by_click = if by_txid.is_none() && !attempt.repeatable {
        select_recorded(
            tx,
            "click_id = ?1 AND event = ?2",
            &[&&conv.click_id.to_bytes()[..], &conv.event],
        )?
    } else {
        None
    };
    let mut decision = decide(
        by_txid.as_ref(),
        by_click.as_ref(),
        &attempt.incoming,
        attempt.repeatable,
        &attempt.insertable,
    );
    let mut new = conv.clone();
    if decision == Decision::Insert && attempt.reverses {
        // a refund or chargeback: a negative share of its original
        match prepare_refund(tx, attempt, &mut new)? {
            Ok(()) => {}
            Err(r) => decision = Decision::Refused(r),
        }
    }
    if decision == Decision::Insert && !attempt.reverses && !new.test {
        if let Some(why) = over_cap(tx, attempt)? {
            if attempt.refuse_over_cap {
                decision = Decision::Refused(Refusal::new(ErrorCode::CapReached, why));
            } else {
                new.capped = true;
                new.payout = new.payout_currency.round(Decimal::ZERO);
                new.revenue = new.payout_currency.round(Decimal::ZERO);
            }
        }
    }
    let result = match &decision {
        Decision::Insert => {
            base_amounts(tx, &mut new, base)?;
            insert_conversion(tx, &new, attempt.repeatable)?;
            if new.status == Status::Approved {
                let kind = if new.parent_id.is_some() {
                    LedgerKind::Reversal
                } else {
                    LedgerKind::Accrual
                };
                post(tx, &new, kind, 1, now, base)?;
            }
            Some(new)
        }
        Decision::Update {
            conversion_id,
            from,
            to,
        } => {
            let updated = tx.prepare_cached(&format!("UPDATE conversions SET status = ?1, status_received = ?2, updated_ms = ?3, \
                 hold_until_ms = NULL WHERE id = ?4 RETURNING {CONVERSION_COLUMNS}"))?
                .query_row(params![to.as_str(), attempt.conversion.status_received, now, conversion_id], conversion_from_row)
                .optional()?;
            if let Some(u) = &updated {
                post_transition(tx, u, *from, *to, now, base)?;
            }
            updated
        }
        Decision::Refused(_) => None,
        Decision::Duplicate { conversion_id } => {
            tx.prepare_cached(&format!(
                "UPDATE conversions SET duplicates = duplicates + 1 WHERE id = ?1 RETURNING {CONVERSION_COLUMNS}"
            ))?
            .query_row([conversion_id], conversion_from_row)
            .optional()?
        }
        Decision::TxidConflict { conversion_id, .. }
        | Decision::InvalidTransition { conversion_id, .. } => {
            select_one(tx, "id = ?1", &[conversion_id])?
        }
    };
    if let (Some(notify), Some(c)) = (&attempt.notify, &result) {
        let changed = matches!(decision, Decision::Insert | Decision::Update { .. });
        if changed && !c.test && !c.capped {
            crate::sqlite::queue_delivery(tx, notify, c, now)?;
        }
    }
    Ok((decision, result))
}

fn prepare_refund(
    tx: &Connection,
    attempt: &ConversionAttempt,
    new: &mut Conversion,
) -> rusqlite::Result<Result<(), Refusal>> {
    let Some(orig_txid) = &attempt.original_txid else {
        return Ok(Err(Refusal::new(
            ErrorCode::UnknownOriginal,
            format!(
                "original_txid is required: event `{}` reverses an earlier conversion",
                new.event
            ),
        )));
    };
    let Some(original) = select_one(
        tx,
        "offer_id = ?1 AND txid = ?2 AND parent_id IS NULL",
        &[&new.offer_id, orig_txid],
    )?
    else {
        return Ok(Err(Refusal::new(
            ErrorCode::UnknownOriginal,
            format!(
                "original_txid `{orig_txid}` is not a recorded conversion of offer {}",
                new.offer_id
            ),
        )));
    };
    let (paid, earned): (i64, i64) = tx
        .prepare_cached("SELECT COALESCE(-SUM(payout_micros), 0), COALESCE(-SUM(revenue_micros), 0) FROM conversions WHERE parent_id = ?1")?
        .query_row([&original.id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let cur = original.payout_currency;
    let payout = match refund_share(
        original.payout,
        original.amount,
        from_micros(paid),
        new.amount,
        cur,
    ) {
        Ok(p) => p,
        Err(r) => return Ok(Err(r)),
    };
    let revenue = refund_share(
        original.revenue,
        original.amount,
        from_micros(earned),
        new.amount,
        cur,
    )
    .unwrap_or(Decimal::ZERO);
    new.parent_id = Some(original.id.clone());
    new.payout = -payout;
    new.revenue = -revenue;
    new.status = Status::Approved;
    Ok(Ok(()))
}

fn insert_conversion(tx: &Connection, c: &Conversion, repeatable: bool) -> rusqlite::Result<()> {
    // see `once` in the schema: NULL lets a repeatable event recur
    let once = (!repeatable).then_some(1);
    let d = &c.dims;
    tx.prepare_cached(&format!(
        "INSERT INTO conversions ({CONVERSION_COLUMNS}, once) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,
         ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36, ?37, ?38)"
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
        once
    ])?;
    Ok(())
}

/// Approves a held conversion whose hold has ended, with its ledger entry
/// and notification, unless something changed it first.
pub fn release_hold(
    tx: &Connection,
    id: &str,
    now: i64,
    notify: Option<&Notify>,
    base: Currency,
) -> rusqlite::Result<Option<Conversion>> {
    let n = tx.execute(
        "UPDATE conversions SET status = 'approved', status_received = NULL, updated_ms = ?1, hold_until_ms = NULL
         WHERE id = ?2 AND status = 'pending' AND hold_until_ms IS NOT NULL AND hold_until_ms <= ?1",
        params![now, id],
    )?;
    if n == 0 {
        return Ok(None);
    }
    let conv = select_one(tx, "id = ?1", &[&id])?;
    if let Some(c) = &conv {
        post_transition(tx, c, Status::Pending, Status::Approved, now, base)?;
        if let Some(notify) = notify {
            if !c.test && !c.capped {
                crate::sqlite::queue_delivery(tx, notify, c, now)?;
            }
        }
    }
    Ok(conv)
}
