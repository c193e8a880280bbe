//! Finance endpoints: affiliate ledgers, FX rates, bulk conversion upload
//! and reconciliation against an advertiser's own records.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use clickledger_domain::hints::click_id_hint;
use clickledger_domain::money::parse_amount;
use clickledger_domain::postback::{find, Field};
use clickledger_domain::{Currency, ErrorCode};
use clickledger_store::{ConversionFilter, FxRate, LedgerEntry, LedgerKind, LedgerWrite, Scope};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::admin::{change, ok, ApiResult};
use crate::api::{ApiError, Format, JsonBody, Params, Path};
use crate::auth::{Admin, Caller};
use crate::postback::{decode_click_id, process, unknown_click_id, Inbound};
use crate::report::parse_time;
use crate::util::now_ms;
use crate::AppState;

/// Splits CSV text into rows of fields (quotes, doubled quotes, CRLF).
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    // a file saved by a spreadsheet may begin with a byte-order mark, which
    // would stick to the first column's name
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                if !(row.len() == 1 && row[0].trim().is_empty()) {
                    rows.push(std::mem::take(&mut row));
                }
                row.clear();
            }
            ('\r', false) => {}
            (c, _) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

pub fn csv_line(fields: &[String]) -> String {
    fields
        .iter()
        .map(|f| {
            if f.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Rows as maps from the header's column names.
fn records(text: &str) -> Result<Vec<BTreeMap<String, String>>, ApiError> {
    let mut rows = parse_csv(text).into_iter();
    let header: Vec<String> = rows
        .next()
        .ok_or_else(|| {
            ApiError::validation("body: the CSV is empty; the first line names the columns")
        })?
        .into_iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    Ok(rows
        .map(|r| {
            header
                .iter()
                .cloned()
                .zip(r.into_iter().map(|v| v.trim().to_string()))
                .collect()
        })
        .collect())
}

// ---------- ledger ----------

#[derive(Deserialize, Default, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LedgerQuery {
    at: Option<String>,
    format: Option<Format>,
}

pub async fn ledger(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    Params(q): Params<LedgerQuery>,
) -> Result<Response, ApiError> {
    let visible = match caller.scope() {
        Scope::All => app.cache.get().affiliates.contains_key(&id),
        Scope::Affiliate(me) => me == id,
        Scope::Advertiser(_) => false,
    };
    if !visible {
        return Err(ApiError::not_found("affiliate", &id));
    }
    let until =
        q.at.as_deref()
            .map(|a| parse_time("at", a, &jiff::tz::TimeZone::UTC, true))
            .transpose()?;
    let base = app.base_currency;
    let entries: Vec<LedgerEntry> = app
        .store
        .ledger(&id, until)
        .await?
        .into_iter()
        .map(|e| shown(e, base))
        .collect();
    let mut balances: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut balance = Decimal::ZERO;
    let mut unconverted = 0;
    for e in &entries {
        *balances.entry(e.currency.code().to_string()).or_default() += e.amount;
        match e.amount_base {
            Some(b) => balance += b,
            None => unconverted += 1,
        }
    }
    if q.format == Some(Format::Csv) {
        let mut out =
            String::from("id,time,kind,amount,currency,amount_base,conversion_id,reason\n");
        for e in &entries {
            out.push_str(&csv_line(&[
                e.id.to_string(),
                clickledger_domain::time::rfc3339_ms(e.ts_ms),
                e.kind.as_str().to_string(),
                e.amount.to_string(),
                e.currency.code().to_string(),
                e.amount_base.map(|a| a.to_string()).unwrap_or_default(),
                e.conversion_id.clone().unwrap_or_default(),
                e.reason.clone().unwrap_or_default(),
            ]));
            out.push('\n');
        }
        return Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response());
    }
    let shown: BTreeMap<String, String> = balances
        .iter()
        .map(|(c, v)| {
            (
                c.clone(),
                Currency::parse(c)
                    .map(|c| c.display(*v))
                    .unwrap_or(*v)
                    .to_string(),
            )
        })
        .collect();
    Ok((
        StatusCode::OK,
        axum::Json(json!({
            "affiliate_id": id,
            "currency": base.code(),
            "balance": base.display(balance).to_string(),
            "balances": shown,
            "unconverted_entries": unconverted,
            "at": q.at,
            "entries": entries,
        })),
    )
        .into_response())
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEntry {
    /// `adjustment` (either sign, with a reason) or `payout` (the positive
    /// sum paid out).
    kind: String,
    /// A decimal string, e.g. "25.00" or "-3.10" for an adjustment.
    amount: String,
    /// ISO 4217; the base currency when absent.
    currency: Option<String>,
    reason: Option<String>,
    /// A payout over the balance available in its currency is refused
    /// unless it is an advance: `true` lets the balance go negative, and
    /// the audit log records that it was allowed.
    #[serde(default)]
    allow_negative: bool,
}

/// An entry as the API shows it: amounts in their currency's format
/// ("30.00", not "30"), the same as conversions and reports show money.
pub fn shown(mut e: LedgerEntry, base: Currency) -> LedgerEntry {
    e.amount = e.currency.display(e.amount);
    e.amount_base = e.amount_base.map(|b| base.display(b));
    e
}

/// Adjustments (either sign, with a reason) and payouts (money paid out,
/// recorded as a negative amount). Accruals and reversals only come from
/// conversions.
pub async fn add_entry(
    State(app): State<Arc<AppState>>,
    Admin(key): Admin,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<NewEntry>,
) -> ApiResult {
    crate::reads::known_affiliate(&app, &id)?;
    let kind = match b.kind.as_str() {
        "adjustment" => LedgerKind::Adjustment,
        "payout" => LedgerKind::Payout,
        other => return Err(ApiError::validation(format!("kind: `{other}` is not adjustment or payout (accruals and reversals come from conversions)"))),
    };
    let (negative, digits) = match b.amount.trim().strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, b.amount.trim()),
    };
    let magnitude = parse_amount(digits)
        .map_err(|e| ApiError::new(ErrorCode::InvalidAmount, format!("amount: {e}")))?;
    if magnitude.is_zero() {
        return Err(ApiError::new(
            ErrorCode::InvalidAmount,
            "amount: must not be zero",
        ));
    }
    let amount = match kind {
        LedgerKind::Payout if negative => {
            return Err(ApiError::new(
                ErrorCode::InvalidAmount,
                "amount: a payout is the positive sum paid out",
            ))
        }
        LedgerKind::Payout => -magnitude,
        _ if negative => -magnitude,
        _ => magnitude,
    };
    let reason = b.reason.filter(|r| !r.trim().is_empty());
    if kind == LedgerKind::Adjustment && reason.is_none() {
        return Err(ApiError::validation("reason: an adjustment needs a reason"));
    }
    let currency = match &b.currency {
        Some(c) => Currency::parse(c)
            .map_err(|e| ApiError::new(ErrorCode::InvalidCurrency, format!("currency: {e}")))?,
        None => app.base_currency,
    };
    let now = now_ms();
    let rate = if currency == app.base_currency {
        Some(Decimal::ONE)
    } else {
        let date = clickledger_domain::time::rfc3339_ms(now)[..10].to_string();
        app.store
            .fx_rates()
            .await?
            .into_iter()
            .find(|r| r.currency == currency && r.date == date)
            .map(|r| r.rate)
    };
    let entry = LedgerEntry {
        id: 0,
        affiliate_id: id.clone(),
        ts_ms: now,
        kind,
        amount,
        currency,
        amount_base: rate.map(|r| app.base_currency.round(amount * r)),
        conversion_id: None,
        reason,
    };
    let entry = shown(entry, app.base_currency);
    let mut after = serde_json::to_value(&entry).expect("serializable");
    if kind == LedgerKind::Payout && b.allow_negative {
        after["allow_negative"] = json!(true);
    }
    let audit = change(
        &key,
        &format!("ledger_{}", kind.as_str()),
        "affiliate",
        &id,
        None,
        Some(after),
    );
    // Only a payout is bounded: an adjustment is a correction either way.
    let floor = (kind == LedgerKind::Payout && !b.allow_negative).then_some(Decimal::ZERO);
    match app.store.add_ledger_entry(&entry, &audit, floor).await? {
        LedgerWrite::Added(entry) => ok(StatusCode::CREATED, entry),
        LedgerWrite::BelowFloor { available } => Err(ApiError::new(
            ErrorCode::InsufficientBalance,
            format!(
                "amount: a payout of {} {cur} is more than the {} {cur} available; \
                 send \"allow_negative\": true to pay it as an advance",
                currency.display(magnitude),
                currency.display(available),
                cur = currency.code(),
            ),
        )),
    }
}

// ---------- FX ----------

/// Rates as a JSON list of `{currency, date, rate}` or CSV with those
/// columns; one unit of `currency` is worth `rate` of the base currency on
/// `date` (UTC).
pub async fn put_fx(
    State(app): State<Arc<AppState>>,
    _: Admin,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let is_csv = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.contains("csv"));
    let raw: Vec<BTreeMap<String, String>> = if is_csv {
        records(&String::from_utf8_lossy(&body))?
    } else {
        let v: Vec<BTreeMap<String, Value>> = serde_json::from_slice(&body).map_err(|e| {
            ApiError::new(
                ErrorCode::InvalidJson,
                format!("body: {}", crate::api::humanize(&e.to_string())),
            )
        })?;
        // Every field is a string: a JSON number is read as a float, and a
        // rate must arrive exactly as written.
        v.into_iter()
            .enumerate()
            .map(|(i, m)| {
                m.into_iter()
                    .map(|(k, v)| match v {
                        Value::String(s) => Ok((k, s)),
                        other => Err(ApiError::new(
                            ErrorCode::InvalidJson,
                            format!(
                                "rates[{i}].{k}: `{other}` is not a string; write it in quotes, \
                                 like \"1.08\" or \"2026-11-25\""
                            ),
                        )),
                    })
                    .collect()
            })
            .collect::<Result<_, _>>()?
    };
    let mut rates = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let field = |k: &str| r.get(k).cloned().unwrap_or_default();
        let currency = Currency::parse(&field("currency")).map_err(|e| {
            ApiError::new(
                ErrorCode::InvalidCurrency,
                format!("rates[{i}].currency: {e}"),
            )
        })?;
        let date = field("date");
        if date.parse::<jiff::civil::Date>().is_err() {
            return Err(ApiError::validation(format!(
                "rates[{i}].date: `{date}` is not a date like 2026-11-25"
            )));
        }
        let rate = parse_amount(&field("rate")).map_err(|e| {
            ApiError::new(ErrorCode::InvalidAmount, format!("rates[{i}].rate: {e}"))
        })?;
        if rate.is_zero() {
            return Err(ApiError::new(
                ErrorCode::InvalidAmount,
                format!("rates[{i}].rate: must be above 0"),
            ));
        }
        rates.push(FxRate {
            currency,
            date,
            rate,
        });
    }
    app.store.put_fx_rates(&rates).await?;
    ok(
        StatusCode::OK,
        json!({"stored": rates.len(), "base_currency": app.base_currency.code()}),
    )
}

pub async fn list_fx(State(app): State<Arc<AppState>>, _: Caller) -> ApiResult {
    crate::admin::items(app.store.fx_rates().await?)
}

// ---------- bulk upload ----------

/// The separators a spreadsheet may save "CSV" with, and their names.
const SEPARATORS: [(char, &str); 4] = [
    (',', "commas"),
    (';', "semicolons (;)"),
    ('\t', "tabs"),
    ('|', "vertical bars (|)"),
];

/// Refuses an upload whose header cannot be read as the import's: not
/// comma-separated (a spreadsheet set to another locale saves `;`), or
/// without a click id column.
fn check_import_header(text: &str) -> Result<(), ApiError> {
    let header = text.lines().find(|l| !l.trim().is_empty()).ok_or_else(|| {
        ApiError::validation("body: the CSV is empty; the first line names the columns")
    })?;
    let count = |sep: char| header.chars().filter(|c| *c == sep).count();
    let (sep, name) = SEPARATORS
        .into_iter()
        .max_by_key(|(sep, _)| count(*sep))
        .expect("separators");
    if sep != ',' && count(sep) > count(',') {
        return Err(ApiError::validation(format!(
            "body: the columns are separated by {name}; the import reads comma-separated files \
             (save the file as CSV with commas)"
        )));
    }
    let names: Vec<(String, String)> = parse_csv(header)
        .into_iter()
        .next()
        .unwrap_or_default()
        .into_iter()
        .map(|h| (h.trim().to_ascii_lowercase(), String::new()))
        .collect();
    if find(&names, &BTreeMap::new(), Field::ClickId).is_none() {
        return Err(ApiError::validation(format!(
            "body: the header has no click_id column (nor {}); it names {}",
            Field::ClickId.default_aliases().join(", "),
            names
                .iter()
                .map(|(n, _)| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(())
}

/// CSV of conversions (`click_id, event, txid, amount, currency, status`),
/// each row through the same validation as a postback; answers a CSV with
/// one result per row, with the postback path's codes and hints (a click id
/// cut short is `corrupted_click_id`, with why).
pub async fn import_conversions(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    if let Scope::Affiliate(_) = caller.scope() {
        return Err(caller.forbid("upload conversions"));
    }
    let text = String::from_utf8_lossy(&body);
    check_import_header(&text)?;
    let rows = records(&text)?;
    let mut out = String::from("row,click_id,txid,result,error,message,conversion_id,hint\n");
    let cfg = app.cache.get();
    for (i, row) in rows.iter().enumerate() {
        let pairs: Vec<(String, String)> =
            row.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let raw = find(&pairs, &BTreeMap::new(), Field::ClickId).unwrap_or("");
        let txid = find(&pairs, &BTreeMap::new(), Field::Txid).unwrap_or("");
        // the click names its advertiser, who must be the caller (or an admin)
        let click = match decode_click_id(raw) {
            Ok(id) => app
                .store
                .click(id, &caller.scope())
                .await?
                .ok_or_else(|| unknown_click_id(raw)),
            Err(r) => Err(r),
        };
        let adv = click.and_then(|c| {
            cfg.offers
                .get(&c.offer_id)
                .map(|o| o.offer.advertiser_id.clone())
                .ok_or_else(|| unknown_click_id(raw))
        });
        let answer = match adv {
            Ok(adv) => {
                let fields: serde_json::Map<String, Value> = row
                    .iter()
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(k, v)| (k.clone(), json!(v)))
                    .collect();
                let inbound = Inbound::internal("CSV", &Value::Object(fields), adv, false);
                process(&app, inbound).await.body
            }
            Err(r) => ApiError::from(r).with_hint(click_id_hint(raw)).body(),
        };
        let text = |k: &str| answer[k].as_str().unwrap_or("").to_string();
        out.push_str(&csv_line(&[
            (i + 1).to_string(),
            raw.to_string(),
            txid.to_string(),
            answer["result"].as_str().unwrap_or("rejected").to_string(),
            text("error"),
            text("message"),
            text("conversion_id"),
            text("hint"),
        ]));
        out.push('\n');
    }
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response())
}

#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReconcileQuery {
    advertiser_id: Option<String>,
    from: String,
    to: String,
}

/// Compares an advertiser's CSV (`txid, amount, status`, optionally
/// `event`, `click_id`) with what is recorded for it in [from, to):
/// conversions missing here, missing there, and amount or status
/// differences.
pub async fn reconcile(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Params(q): Params<ReconcileQuery>,
    body: Bytes,
) -> ApiResult {
    let advertiser = match caller.scope() {
        Scope::Advertiser(me) => me,
        Scope::All => q
            .advertiser_id
            .clone()
            .ok_or_else(|| ApiError::validation("advertiser_id: required for an admin key"))?,
        Scope::Affiliate(_) => return Err(caller.forbid("reconcile an advertiser's records")),
    };
    let from = parse_time("from", &q.from, &jiff::tz::TimeZone::UTC, false)?;
    let to = parse_time("to", &q.to, &jiff::tz::TimeZone::UTC, true)?;
    let theirs = records(&String::from_utf8_lossy(&body))?;
    let ours = app
        .store
        .conversions(&ConversionFilter {
            advertiser_id: Some(advertiser.clone()),
            from_ms: Some(from),
            to_ms: Some(to),
            limit: 10_000,
            ..Default::default()
        })
        .await?;
    let ours: HashMap<String, &clickledger_store::Conversion> = ours
        .iter()
        .filter(|c| c.parent_id.is_none() && !c.test)
        .filter_map(|c| c.txid.clone().map(|t| (t, c)))
        .collect();
    let mut missing_here = Vec::new();
    let mut differences = Vec::new();
    let mut matched = 0;
    let mut seen = std::collections::HashSet::new();
    for (i, row) in theirs.iter().enumerate() {
        let txid = row.get("txid").cloned().unwrap_or_default();
        seen.insert(txid.clone());
        let Some(c) = ours.get(&txid) else {
            missing_here.push(json!({"row": i + 1, "txid": txid, "amount": row.get("amount"), "status": row.get("status")}));
            continue;
        };
        let mut diffs = Vec::new();
        if let Some(a) = row.get("amount").filter(|a| !a.is_empty()) {
            let theirs = parse_amount(a).ok();
            if theirs != c.amount {
                diffs.push(json!({"field": "amount", "theirs": a, "ours": c.amount.map(|a| a.to_string())}));
            }
        }
        if let Some(s) = row.get("status").filter(|s| !s.is_empty()) {
            if !s.eq_ignore_ascii_case(c.status.as_str())
                && c.status_received.as_deref() != Some(s.as_str())
            {
                diffs.push(json!({"field": "status", "theirs": s, "ours": c.status}));
            }
        }
        if diffs.is_empty() {
            matched += 1;
        } else {
            differences.push(json!({"txid": txid, "conversion_id": c.id, "differences": diffs}));
        }
    }
    let mut missing_there: Vec<Value> = ours
        .iter()
        .filter(|(t, _)| !seen.contains(*t))
        .map(|(t, c)| json!({"txid": t, "conversion_id": c.id, "amount": c.amount.map(|a| a.to_string()), "status": c.status}))
        .collect();
    missing_there.sort_by(|a, b| a["txid"].as_str().cmp(&b["txid"].as_str()));
    ok(
        StatusCode::OK,
        json!({
            "advertiser_id": advertiser,
            "matched": matched,
            "missing_here": missing_here,
            "missing_there": missing_there,
            "differences": differences,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_parses_quotes_and_line_ends() {
        let rows = parse_csv("a,b,c\r\n1,\"x, y\",\"say \"\"hi\"\"\"\n\n2,,3");
        assert_eq!(
            rows,
            vec![
                vec!["a", "b", "c"],
                vec!["1", "x, y", "say \"hi\""],
                vec!["2", "", "3"]
            ]
        );
        assert_eq!(
            csv_line(&["a,b".into(), "q\"".into(), "plain".into()]),
            "\"a,b\",\"q\"\"\",plain"
        );
    }
}
