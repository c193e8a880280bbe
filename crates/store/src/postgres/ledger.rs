//! The ledger and FX rates. A payout checks the balance and appends under
//! a per-affiliate advisory lock, so two payouts on two nodes cannot both
//! spend the same money.

use clickledger_domain::money::{from_micros, to_micros};
use clickledger_domain::Currency;
use rust_decimal::Decimal;
use tokio_postgres::GenericClient;

use super::config::{changed, insert_audit};
use super::sql::{corrupt, currency, pg_error};
use super::PgStore;
use crate::model::*;
use crate::StoreResult;

/// Appends an entry in the caller's transaction; answers its id.
pub async fn insert(tx: &impl GenericClient, e: &LedgerEntry) -> StoreResult<i64> {
    let (amount, base) = (to_micros(e.amount), e.amount_base.map(to_micros));
    let row = tx
        .query_one(
            "INSERT INTO ledger (affiliate_id, ts_ms, kind, amount_micros, currency, amount_base_micros, conversion_id, reason)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            &[&e.affiliate_id, &e.ts_ms, &e.kind.as_str(), &amount, &e.currency.code(), &base, &e.conversion_id, &e.reason],
        )
        .await
        .map_err(pg_error)?;
    Ok(row.get(0))
}

/// A stored FX rate: a decimal above 0, or an error naming the row.
pub fn parse_rate(text: &str, cur: Currency, date: &str) -> StoreResult<Decimal> {
    Decimal::from_str_exact(text)
        .ok()
        .filter(|d| *d > Decimal::ZERO)
        .ok_or_else(|| {
            corrupt(
                "fx_rates",
                format_args!("{}/{date}", cur.code()),
                "rate",
                text,
                "a decimal above 0",
            )
        })
}

pub async fn entries(
    s: &PgStore,
    affiliate_id: &str,
    until_ms: Option<i64>,
) -> StoreResult<Vec<LedgerEntry>> {
    let c = s.client().await?;
    let rows = c
        .query(
            "SELECT id, affiliate_id, ts_ms, kind, amount_micros, currency, amount_base_micros, conversion_id, reason
             FROM ledger WHERE affiliate_id = $1 AND ts_ms < $2 ORDER BY id",
            &[&affiliate_id, &until_ms.unwrap_or(i64::MAX)],
        )
        .await
        .map_err(pg_error)?;
    rows.iter()
        .map(|r| {
            let id: i64 = r.get(0);
            let kind: &str = r.get(3);
            Ok(LedgerEntry {
                id,
                affiliate_id: r.get(1),
                ts_ms: r.get(2),
                kind: LedgerKind::parse(kind).ok_or_else(|| {
                    corrupt(
                        "ledger",
                        id,
                        "kind",
                        kind,
                        "accrual, reversal, adjustment or payout",
                    )
                })?,
                amount: from_micros(r.get(4)),
                currency: currency(r.get(5), "ledger", id)?,
                amount_base: r.get::<_, Option<i64>>(6).map(from_micros),
                conversion_id: r.get(7),
                reason: r.get(8),
            })
        })
        .collect()
}

pub async fn add_entry(
    s: &PgStore,
    entry: &LedgerEntry,
    change: &AuditEntry,
    floor: Option<Decimal>,
) -> StoreResult<LedgerWrite> {
    let (mut e, mut change) = (entry.clone(), change.clone());
    let mut c = s.client().await?;
    let tx = super::begin(&mut c).await?;
    if let Some(floor) = floor {
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('ledger:' || $1, 0))",
            &[&e.affiliate_id],
        )
        .await
        .map_err(pg_error)?;
        let row = tx
            .query_one(
                "SELECT COALESCE(SUM(amount_micros), 0)::bigint FROM ledger WHERE affiliate_id = $1 AND currency = $2",
                &[&e.affiliate_id, &e.currency.code()],
            )
            .await
            .map_err(pg_error)?;
        let available = from_micros(row.get(0));
        if available + e.amount < floor {
            return Ok(LedgerWrite::BelowFloor { available });
        }
    }
    e.id = insert(&tx, &e).await?;
    if let Some(after) = change.after.as_mut().and_then(|a| a.as_object_mut()) {
        after.insert("id".into(), e.id.into());
    }
    change.template = None;
    change.before = None;
    insert_audit(&tx, &change).await?;
    tx.commit().await.map_err(pg_error)?;
    Ok(LedgerWrite::Added(e))
}

pub async fn put_fx_rates(s: &PgStore, rates: &[FxRate]) -> StoreResult<()> {
    let mut c = s.client().await?;
    let tx = super::begin(&mut c).await?;
    for r in rates {
        tx.execute(
            "INSERT INTO fx_rates (currency, date, rate) VALUES ($1, $2, $3)
             ON CONFLICT (currency, date) DO UPDATE SET rate = excluded.rate",
            &[&r.currency.code(), &r.date, &r.rate.to_string()],
        )
        .await
        .map_err(pg_error)?;
    }
    changed(&tx).await?;
    tx.commit().await.map_err(pg_error)
}

pub async fn fx_rates(s: &PgStore) -> StoreResult<Vec<FxRate>> {
    let c = s.client().await?;
    let rows = c
        .query(
            "SELECT currency, date, rate FROM fx_rates ORDER BY date, currency",
            &[],
        )
        .await
        .map_err(pg_error)?;
    rows.iter()
        .map(|r| {
            let date: String = r.get(1);
            let cur = currency(r.get(0), "fx_rates", &date)?;
            Ok(FxRate {
                rate: parse_rate(r.get(2), cur, &date)?,
                currency: cur,
                date,
            })
        })
        .collect()
}
