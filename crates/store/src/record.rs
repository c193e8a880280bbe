//! Recording a conversion or changing its status, written once for every
//! backend: the dedup decision, refunds, caps, FX, the ledger entries and
//! the outbox job. A backend supplies the few reads and writes it needs
//! through [`ConversionTx`], all inside the one transaction that makes
//! money and notifications move only with the conversion they belong to.

use clickledger_domain::codes::{ErrorCode, Refusal};
use clickledger_domain::money::from_micros;
use clickledger_domain::offer::refund_share;
use clickledger_domain::outbound::{self, Method};
use clickledger_domain::status::{decide, Decision, Recorded};
use clickledger_domain::time::rfc3339_ms;
use clickledger_domain::{ClickId, Currency, Status};
use rust_decimal::Decimal;

use crate::conversion_rollup::{self, Change};
use crate::model::*;
use crate::{ConversionAttempt, StoreResult};

/// The reads and writes of one open transaction that recording needs.
/// Lookups that precede an update lock what they find where the backend
/// has row locks, so two writers deciding about the same conversion take
/// turns.
#[allow(async_fn_in_trait)]
pub(crate) trait ConversionTx {
    /// The earliest conversion of the offer's event with this txid.
    async fn recorded_by_txid(
        &mut self,
        offer_id: &str,
        event: &str,
        txid: &str,
    ) -> StoreResult<Option<Recorded>>;
    /// The earliest conversion of the click's event.
    async fn recorded_by_click(
        &mut self,
        click_id: ClickId,
        event: &str,
    ) -> StoreResult<Option<Recorded>>;
    async fn conversion(&mut self, id: &str) -> StoreResult<Option<Conversion>>;
    /// The offer's conversion (not itself a refund) with this txid.
    async fn original(&mut self, offer_id: &str, txid: &str) -> StoreResult<Option<Conversion>>;
    /// Payout and revenue already taken back from a conversion by its
    /// refunds, as positive amounts.
    async fn refunded(&mut self, parent_id: &str) -> StoreResult<(Decimal, Decimal)>;
    /// The stored rate of `currency` on a UTC date (`YYYY-MM-DD`).
    async fn fx_rate(&mut self, currency: Currency, date: &str) -> StoreResult<Option<Decimal>>;
    /// Makes cap checks of one offer take turns until the transaction ends
    /// (a single-writer backend has nothing to do).
    async fn lock_caps(&mut self, offer_id: &str) -> StoreResult<()>;
    async fn cap_usage(
        &mut self,
        offer_id: &str,
        affiliate_id: Option<&str>,
        since_ms: i64,
    ) -> StoreResult<(i64, Decimal)>;
    async fn insert_conversion(&mut self, c: &Conversion, repeatable: bool) -> StoreResult<()>;
    /// Sets the status (clearing any hold); the conversion as it now stands.
    async fn set_status(
        &mut self,
        id: &str,
        to: Status,
        received: Option<&str>,
        now_ms: i64,
    ) -> StoreResult<Option<Conversion>>;
    async fn count_duplicate(&mut self, id: &str) -> StoreResult<Option<Conversion>>;
    /// Approves a conversion still pending on a hold that has ended; `None`
    /// when something changed it first.
    async fn approve_held(&mut self, id: &str, now_ms: i64) -> StoreResult<Option<Conversion>>;
    /// Appends the entry; answers its id.
    async fn insert_ledger(&mut self, e: &LedgerEntry) -> StoreResult<i64>;
    /// Queues an outbox job unless one with its id exists.
    async fn insert_delivery(&mut self, job: &NewDelivery) -> StoreResult<()>;
    async fn insert_log(&mut self, e: &PostbackLogEntry) -> StoreResult<()>;
    /// Keeps what a conversion's change does to the conversion rollups; the
    /// backend writes a transaction's changes together, in key order, just
    /// before it commits.
    fn roll(&mut self, change: Change);
}

/// Moves a conversion's figures in the rollups from how it stood to how it
/// stands.
fn roll(tx: &mut impl ConversionTx, before: Option<&Conversion>, after: &Conversion) {
    let change = conversion_rollup::change(before, after);
    if !change.is_empty() {
        tx.roll(change);
    }
}

/// `c` with one change undone: how it stood before a status change or a
/// duplicate (for `roll`).
fn before(c: &Conversion, undo: impl FnOnce(&mut Conversion)) -> Conversion {
    let mut b = c.clone();
    undo(&mut b);
    b
}

/// An outbox job as queued: rendered from the affiliate's template for the
/// conversion as it stood when its status changed.
#[derive(Clone, Debug)]
pub(crate) struct NewDelivery {
    pub id: String,
    pub affiliate_id: String,
    pub conversion_id: String,
    pub status: Status,
    pub method: Method,
    pub url: String,
    pub body: Option<String>,
    pub now_ms: i64,
}

pub(crate) fn method_str(m: Method) -> &'static str {
    match m {
        Method::Get => "GET",
        Method::Post => "POST",
    }
}

pub(crate) fn parse_method(s: &str) -> Option<Method> {
    match s {
        "GET" => Some(Method::Get),
        "POST" => Some(Method::Post),
        _ => None,
    }
}

/// A base-currency amount shown with at least two decimals.
pub(crate) fn cents(micros: i64) -> Decimal {
    let mut d = from_micros(micros);
    if d.scale() < 2 {
        d.rescale(2);
    }
    d
}

/// The rate of `currency` into `base` on the UTC date of `ms`: 1 for the
/// base itself, `None` without a rate for that exact date (never guessed).
async fn rate(
    tx: &mut impl ConversionTx,
    currency: Currency,
    base: Currency,
    ms: i64,
) -> StoreResult<Option<Decimal>> {
    if currency == base {
        return Ok(Some(Decimal::ONE));
    }
    tx.fx_rate(currency, &rfc3339_ms(ms)[..10]).await
}

async fn base_amounts(
    tx: &mut impl ConversionTx,
    conv: &mut Conversion,
    base: Currency,
) -> StoreResult<()> {
    match rate(tx, conv.payout_currency, base, conv.conv_ms).await? {
        Some(r) => {
            conv.payout_base = Some(base.round(conv.payout * r));
            conv.revenue_base = Some(base.round(conv.revenue * r));
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
async fn post(
    tx: &mut impl ConversionTx,
    conv: &Conversion,
    kind: LedgerKind,
    sign: i64,
    now: i64,
    base: Currency,
) -> StoreResult<()> {
    if conv.test || conv.capped || conv.payout.is_zero() {
        return Ok(());
    }
    let amount = conv.payout * Decimal::from(sign);
    let amount_base = rate(tx, conv.payout_currency, base, now)
        .await?
        .map(|r| base.round(amount * r));
    tx.insert_ledger(&LedgerEntry {
        id: 0,
        affiliate_id: conv.affiliate_id.clone(),
        ts_ms: now,
        kind,
        amount,
        currency: conv.payout_currency,
        amount_base,
        conversion_id: Some(conv.id.clone()),
        reason: None,
    })
    .await
    .map(drop)
}

/// The ledger moves a status change implies.
async fn post_transition(
    tx: &mut impl ConversionTx,
    conv: &Conversion,
    from: Status,
    to: Status,
    now: i64,
    base: Currency,
) -> StoreResult<()> {
    match (from, to) {
        (_, Status::Approved) => post(tx, conv, LedgerKind::Accrual, 1, now, base).await,
        (Status::Approved, Status::Reversed | Status::Rejected) => {
            post(tx, conv, LedgerKind::Reversal, -1, now, base).await
        }
        _ => Ok(()),
    }
}

async fn over_cap(
    tx: &mut impl ConversionTx,
    attempt: &ConversionAttempt,
) -> StoreResult<Option<String>> {
    let conv = &attempt.conversion;
    if attempt.caps.is_empty() {
        return Ok(None);
    }
    tx.lock_caps(&conv.offer_id).await?;
    for cap in &attempt.caps {
        let (n, payout) = tx
            .cap_usage(&conv.offer_id, cap.affiliate_id.as_deref(), cap.since_ms)
            .await?;
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

/// Decides and records a postback inside `tx`, and logs it with its outcome.
pub(crate) async fn record_and_log(
    tx: &mut impl ConversionTx,
    attempt: &ConversionAttempt,
) -> StoreResult<(Decision, Option<Conversion>)> {
    let (decision, result) = record(tx, attempt).await?;
    let mut log = attempt.log.clone();
    let (word, code) = decision.answer();
    log.result = word.to_string();
    log.error = code.map(|c| c.as_str().to_string());
    log.http_status = code.map(|c| c.http_status()).unwrap_or(200);
    log.message = decision.message();
    log.conversion_id = result.as_ref().map(|r| r.id.clone());
    tx.insert_log(&log).await?;
    Ok((decision, result))
}

/// Decides and records a postback inside `tx`.
async fn record(
    tx: &mut impl ConversionTx,
    attempt: &ConversionAttempt,
) -> StoreResult<(Decision, Option<Conversion>)> {
    let conv = &attempt.conversion;
    let base = attempt.base_currency;
    let now = attempt.log.ts_ms;
    let by_txid = match &conv.txid {
        Some(t) => tx.recorded_by_txid(&conv.offer_id, &conv.event, t).await?,
        None => None,
    };
    // `decide` consults the click's earlier conversion only for an event
    // that counts once per click and when the txid found nothing
    let by_click = if by_txid.is_none() && !attempt.repeatable {
        tx.recorded_by_click(conv.click_id, &conv.event).await?
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
        if let Err(r) = prepare_refund(tx, attempt, &mut new).await? {
            decision = Decision::Refused(r);
        }
    }
    if decision == Decision::Insert && !attempt.reverses && !new.test {
        if let Some(why) = over_cap(tx, attempt).await? {
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
            base_amounts(tx, &mut new, base).await?;
            tx.insert_conversion(&new, attempt.repeatable).await?;
            roll(tx, None, &new);
            if new.status == Status::Approved {
                let kind = if new.parent_id.is_some() {
                    LedgerKind::Reversal
                } else {
                    LedgerKind::Accrual
                };
                post(tx, &new, kind, 1, now, base).await?;
            }
            Some(new)
        }
        Decision::Update {
            conversion_id,
            from,
            to,
        } => {
            let received = attempt.conversion.status_received.as_deref();
            let updated = tx.set_status(conversion_id, *to, received, now).await?;
            if let Some(u) = &updated {
                roll(tx, Some(&before(u, |b| b.status = *from)), u);
                post_transition(tx, u, *from, *to, now, base).await?;
            }
            updated
        }
        Decision::Refused(_) => None,
        Decision::Duplicate { conversion_id } => {
            let counted = tx.count_duplicate(conversion_id).await?;
            if let Some(c) = &counted {
                roll(tx, Some(&before(c, |b| b.duplicates -= 1)), c);
            }
            counted
        }
        Decision::TxidConflict { conversion_id, .. }
        | Decision::InvalidTransition { conversion_id, .. } => tx.conversion(conversion_id).await?,
    };
    if let (Some(notify), Some(c)) = (&attempt.notify, &result) {
        let changed = matches!(decision, Decision::Insert | Decision::Update { .. });
        if changed && !c.test && !c.capped {
            queue_delivery(tx, notify, c, now).await?;
        }
    }
    Ok((decision, result))
}

async fn prepare_refund(
    tx: &mut impl ConversionTx,
    attempt: &ConversionAttempt,
    new: &mut Conversion,
) -> StoreResult<Result<(), Refusal>> {
    let Some(orig_txid) = &attempt.original_txid else {
        return Ok(Err(Refusal::new(
            ErrorCode::UnknownOriginal,
            format!(
                "original_txid is required: event `{}` reverses an earlier conversion",
                new.event
            ),
        )));
    };
    let Some(original) = tx.original(&new.offer_id, orig_txid).await? else {
        return Ok(Err(Refusal::new(
            ErrorCode::UnknownOriginal,
            format!(
                "original_txid `{orig_txid}` is not a recorded conversion of offer {}",
                new.offer_id
            ),
        )));
    };
    let (paid, earned) = tx.refunded(&original.id).await?;
    let cur = original.payout_currency;
    let payout = match refund_share(original.payout, original.amount, paid, new.amount, cur) {
        Ok(p) => p,
        Err(r) => return Ok(Err(r)),
    };
    let revenue = refund_share(original.revenue, original.amount, earned, new.amount, cur)
        .unwrap_or(Decimal::ZERO);
    new.parent_id = Some(original.id.clone());
    new.payout = -payout;
    new.revenue = -revenue;
    new.status = Status::Approved;
    Ok(Ok(()))
}

/// Renders the affiliate's template for the conversion as it now stands and
/// queues the job, inside the conversion's transaction (the outbox).
async fn queue_delivery(
    tx: &mut impl ConversionTx,
    notify: &Notify,
    conv: &Conversion,
    now: i64,
) -> StoreResult<()> {
    let mut values = notify.values.clone();
    values.insert("conversion_id", conv.id.clone());
    values.insert("event", conv.event.clone());
    values.insert("status", conv.status.as_str().to_string());
    values.insert("payout", conv.payout.to_string());
    values.insert("currency", conv.payout_currency.code().to_string());
    values.insert("timestamp", (now / 1000).to_string());
    let Some(req) = outbound::render(&notify.template, conv.status, &values) else {
        return Ok(());
    };
    tx.insert_delivery(&NewDelivery {
        // a status change gets its own job (and webhook-id)
        id: format!("{}-{}", notify.delivery_id, conv.status.as_str()),
        affiliate_id: conv.affiliate_id.clone(),
        conversion_id: conv.id.clone(),
        status: conv.status,
        method: req.method,
        url: req.url,
        body: req.body,
        now_ms: now,
    })
    .await
}

/// Approves a held conversion whose hold has ended, with its ledger entry
/// and notification, unless something changed it first.
pub(crate) async fn release_hold(
    tx: &mut impl ConversionTx,
    id: &str,
    now: i64,
    notify: Option<&Notify>,
    base: Currency,
) -> StoreResult<Option<Conversion>> {
    let conv = tx.approve_held(id, now).await?;
    if let Some(c) = &conv {
        roll(tx, Some(&before(c, |b| b.status = Status::Pending)), c);
        post_transition(tx, c, Status::Pending, Status::Approved, now, base).await?;
        if let Some(notify) = notify {
            if !c.test && !c.capped {
                queue_delivery(tx, notify, c, now).await?;
            }
        }
    }
    Ok(conv)
}

/// Runs a future that never waits: SQLite's transaction does its work
/// synchronously, so the shared async logic completes on the first poll
/// and the writer thread needs no runtime.
pub(crate) fn run_ready<F: std::future::Future>(f: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut f = std::pin::pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!("a synchronous transaction never waits"),
    }
}
