//! `GET /api/v1/reports`: clicks and conversions grouped by time (in any
//! IANA timezone) and dimensions.
//!
//! The store returns 15-minute UTC buckets; every real UTC offset is a
//! multiple of 15 minutes (+05:30 and +05:45 included), so regrouping
//! buckets into local hours, days, weeks and months is exact, DST changes
//! included. Money is summed as integer micro-units per currency, so the
//! totals are exactly the sum of the rows. Each row carries the currency of
//! its offers' payouts; offers in different currencies never share a row.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use clickledger_domain::money::from_micros;
use clickledger_domain::{Currency, ErrorCode};
use clickledger_store::{Dimension, ReportQuery};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, Zoned};
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

use crate::api::ApiError;
use crate::auth::Caller;
use crate::util::now_ms;
use crate::AppState;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TimeGroup {
    Hour,
    Day,
    Week,
    Month,
}

/// Parses `2026-11-25`, an RFC 3339 instant, or unix milliseconds. A date
/// means its first instant in `tz`; for an end bound, `end_of_day` moves it
/// to the start of the next day, so `to=2026-11-25` includes that day.
pub fn parse_time(field: &str, s: &str, tz: &TimeZone, end_of_day: bool) -> Result<i64, ApiError> {
    let s = s.trim();
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    if let Ok(ts) = s.parse::<Timestamp>() {
        return Ok(ts.as_millisecond());
    }
    if let Ok(date) = s.parse::<Date>() {
        let date = if end_of_day {
            date.checked_add(1.day()).unwrap_or(date)
        } else {
            date
        };
        let z = date
            .to_zoned(tz.clone())
            .map_err(|e| ApiError::validation(format!("{field}: {e}")))?;
        return Ok(z.timestamp().as_millisecond());
    }
    Err(ApiError::new(
        ErrorCode::InvalidField,
        format!("{field}: `{s}` is not a date (2026-11-25), an RFC 3339 time or unix milliseconds"),
    ))
}

pub fn parse_time_opt(field: &str, s: Option<&str>) -> Result<Option<i64>, ApiError> {
    s.filter(|s| !s.is_empty())
        .map(|s| parse_time(field, s, &TimeZone::UTC, field == "to"))
        .transpose()
}

fn label(z: &Zoned, g: TimeGroup) -> String {
    let d = z.date();
    match g {
        TimeGroup::Hour => format!("{d} {:02}:00", z.hour()),
        TimeGroup::Day => d.to_string(),
        TimeGroup::Week => {
            let back = d.weekday().to_monday_zero_offset() as i64;
            d.checked_sub(back.days()).unwrap_or(d).to_string()
        }
        TimeGroup::Month => format!("{:04}-{:02}", d.year(), d.month()),
    }
}

#[derive(Default, Clone)]
struct Totals {
    clicks: i64,
    unique_clicks: i64,
    bot_clicks: i64,
    conversions: i64,
    approved: i64,
    payout_micros: i64,
    revenue_micros: i64,
}

impl Totals {
    fn add(&mut self, o: &Totals) {
        self.clicks += o.clicks;
        self.unique_clicks += o.unique_clicks;
        self.bot_clicks += o.bot_clicks;
        self.conversions += o.conversions;
        self.approved += o.approved;
        self.payout_micros += o.payout_micros;
        self.revenue_micros += o.revenue_micros;
    }

    fn metrics(&self, currency: &str) -> Vec<(&'static str, Value)> {
        let cur = Currency::parse(currency).ok();
        let money = |m: i64| {
            let d = from_micros(m);
            json!(cur.map(|c| c.display(d)).unwrap_or(d).to_string())
        };
        let ratio = |a: i64, b: i64, scale: u32| {
            if b == 0 {
                json!("0")
            } else {
                json!((Decimal::from(a) / Decimal::from(b))
                    .round_dp(scale)
                    .normalize()
                    .to_string())
            }
        };
        vec![
            ("currency", json!(currency)),
            ("clicks", json!(self.clicks)),
            ("unique_clicks", json!(self.unique_clicks)),
            ("bot_clicks", json!(self.bot_clicks)),
            ("conversions", json!(self.conversions)),
            ("approved", json!(self.approved)),
            ("cr", ratio(self.conversions * 100, self.clicks, 2)),
            ("payout", money(self.payout_micros)),
            ("revenue", money(self.revenue_micros)),
            ("profit", money(self.revenue_micros - self.payout_micros)),
            ("epc", {
                if self.clicks == 0 {
                    json!("0")
                } else {
                    json!(
                        (from_micros(self.payout_micros) / Decimal::from(self.clicks))
                            .round_dp(4)
                            .normalize()
                            .to_string()
                    )
                }
            }),
        ]
    }
}

pub async fn report(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Query(params): Query<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    let tz_name = params.get("tz").map(String::as_str).unwrap_or("UTC");
    let tz = TimeZone::get(tz_name).map_err(|_| {
        ApiError::new(
            ErrorCode::InvalidField,
            format!("tz: `{tz_name}` is not an IANA timezone"),
        )
    })?;
    let mut time_group = None;
    let mut dims = Vec::new();
    let mut names = Vec::new();
    for g in params
        .get("group_by")
        .map(String::as_str)
        .unwrap_or("day")
        .split(',')
        .map(str::trim)
        .filter(|g| !g.is_empty())
    {
        let t = match g {
            "hour" => Some(TimeGroup::Hour),
            "day" => Some(TimeGroup::Day),
            "week" => Some(TimeGroup::Week),
            "month" => Some(TimeGroup::Month),
            _ => None,
        };
        if let Some(t) = t {
            if time_group.replace(t).is_some() {
                return Err(ApiError::new(
                    ErrorCode::InvalidField,
                    "group_by: only one of hour, day, week, month",
                ));
            }
        } else {
            let d = Dimension::parse(g).ok_or_else(|| {
                ApiError::new(
                    ErrorCode::InvalidField,
                    format!("group_by: `{g}` is not one of hour, day, week, month, offer, affiliate, link, source, sub1..sub5, country, device, os, browser"),
                )
            })?;
            dims.push(d);
        }
        names.push(g.to_string());
    }
    let mut filters = Vec::new();
    for (k, v) in &params {
        if let Some(d) = Dimension::parse(k) {
            filters.push((d, v.clone()));
        }
    }
    let to_ms = match params.get("to") {
        Some(s) => parse_time("to", s, &tz, true)?,
        None => now_ms() + 1,
    };
    let from_ms = match params.get("from") {
        Some(s) => parse_time("from", s, &tz, false)?,
        None => to_ms - 30 * 86_400_000,
    };
    // Offers are always grouped in the store so each click can be given its
    // offer's currency; the offer column is dropped again unless asked for.
    let offer_pos = match dims.iter().position(|d| *d == Dimension::Offer) {
        Some(p) => p,
        None => {
            dims.push(Dimension::Offer);
            dims.len() - 1
        }
    };
    let buckets = app
        .store
        .report_buckets(&ReportQuery {
            scope: caller.scope(),
            from_ms,
            to_ms,
            dimensions: dims.clone(),
            filters,
        })
        .await?;
    let cfg = app.cache.get();
    let mut rows: BTreeMap<(Vec<String>, String), Totals> = BTreeMap::new();
    for b in buckets {
        let currency = if b.currency.is_empty() {
            cfg.offers
                .get(&b.values[offer_pos])
                .map(|o| o.offer.currency.code().to_string())
                .unwrap_or_default()
        } else {
            b.currency.clone()
        };
        let mut key = Vec::with_capacity(names.len());
        let mut dim_values = b.values.iter();
        for n in &names {
            if Dimension::parse(n).is_some() {
                key.push(dim_values.next().cloned().unwrap_or_default());
            } else if let Some(g) = time_group {
                let z = Timestamp::from_millisecond(b.bucket_ms)
                    .map_err(|e| ApiError::validation(e.to_string()))?
                    .to_zoned(tz.clone());
                key.push(label(&z, g));
            }
        }
        rows.entry((key, currency)).or_default().add(&Totals {
            clicks: b.clicks,
            unique_clicks: b.unique_clicks,
            bot_clicks: b.bot_clicks,
            conversions: b.conversions,
            approved: b.approved,
            payout_micros: b.payout_micros,
            revenue_micros: b.revenue_micros,
        });
    }
    let mut totals: BTreeMap<String, Totals> = BTreeMap::new();
    for ((_, cur), t) in &rows {
        totals.entry(cur.clone()).or_default().add(t);
    }
    let format = params.get("format").map(String::as_str).unwrap_or("json");
    match format {
        "csv" => Ok(csv(&names, &rows, &totals)),
        "json" => {
            let out_rows: Vec<Value> = rows
                .iter()
                .map(|((key, cur), t)| {
                    let mut m = Map::new();
                    for (n, v) in names.iter().zip(key) {
                        m.insert(n.clone(), json!(v));
                    }
                    for (k, v) in t.metrics(cur) {
                        m.insert(k.to_string(), v);
                    }
                    Value::Object(m)
                })
                .collect();
            let totals: Vec<Value> = totals
                .iter()
                .map(|(cur, t)| {
                    Value::Object(
                        t.metrics(cur)
                            .into_iter()
                            .map(|(k, v)| (k.to_string(), v))
                            .collect(),
                    )
                })
                .collect();
            Ok((
                StatusCode::OK,
                Json(json!({
                    "group_by": names,
                    "tz": tz_name,
                    "from": clickledger_domain::time::rfc3339_ms(from_ms),
                    "to": clickledger_domain::time::rfc3339_ms(to_ms),
                    "rows": out_rows,
                    "totals": totals,
                })),
            )
                .into_response())
        }
        other => Err(ApiError::new(
            ErrorCode::InvalidField,
            format!("format: `{other}` is not json or csv"),
        )),
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv(
    names: &[String],
    rows: &BTreeMap<(Vec<String>, String), Totals>,
    totals: &BTreeMap<String, Totals>,
) -> Response {
    let metric_names: Vec<&str> = Totals::default()
        .metrics("")
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let mut out = String::new();
    let header: Vec<String> = names
        .iter()
        .cloned()
        .chain(metric_names.iter().map(|s| s.to_string()))
        .collect();
    out.push_str(&header.join(","));
    out.push('\n');
    let plain = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let lines = rows
        .iter()
        .map(|((key, cur), t)| (key.clone(), cur, t))
        .chain(totals.iter().map(|(cur, t)| {
            let mut key = vec![String::new(); names.len()];
            if let Some(first) = key.first_mut() {
                *first = "TOTAL".into();
            }
            (key, cur, t)
        }));
    for (key, cur, t) in lines {
        let mut fields: Vec<String> = key.iter().map(|k| csv_field(k)).collect();
        fields.extend(t.metrics(cur).iter().map(|(_, v)| csv_field(&plain(v))));
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response()
}
