//! The reports page: the form's fields are `GET /api/v1/reports`'s
//! parameters, read by the same parser (a refusal is shown next to the
//! field it names) and answered by the same handler, as a table, a chart
//! for day groups, and the same report as CSV.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::to_bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::format::{group, money};
use super::html;
use super::pages::{chart_json, filter_form, refusal, s, today_utc};
use super::session::Viewer;
use super::view::{Cell, Chrome, Field, ReportPage, Table};
use crate::api::{parse_params, ApiError, Params};
use crate::report::{self, ReportParams};
use crate::AppState;

/// The parameters the page's form sets.
const FIELDS: &[&str] = &[
    "group_by",
    "from",
    "to",
    "tz",
    "date_basis",
    "sort",
    "offer",
    "affiliate",
    "sub1",
    "source",
    "country",
];

/// The metrics shown, in order, and how each is written.
const METRICS: &[(&str, &str, Kind)] = &[
    ("clicks", "Clicks", Kind::Count),
    ("unique_clicks", "Unique", Kind::Count),
    ("conversions", "Conversions", Kind::Count),
    ("cr", "CR", Kind::Percent),
    ("approved", "Approved", Kind::Count),
    ("payout", "Payout", Kind::Money),
    ("revenue", "Revenue", Kind::Money),
    ("profit", "Profit", Kind::Money),
    ("epc", "EPC", Kind::Money),
];

#[derive(Clone, Copy)]
enum Kind {
    Count,
    Percent,
    Money,
}

/// The request's form values (only the page's fields, empty ones left out).
fn given(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .filter(|(k, v)| FIELDS.contains(&k.as_str()) && !v.trim().is_empty())
        .map(|(k, v)| (k, v.trim().to_string()))
        .collect()
}

fn encode(pairs: &[(String, String)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    q.finish()
}

/// Runs the report through the API's handler; answers its JSON or CSV.
async fn run(app: &Arc<AppState>, viewer: &Viewer, query: &str) -> Result<Response, ApiError> {
    let params: ReportParams = parse_params(query)?;
    report::report(State(app.clone()), viewer.caller(), Params(params)).await
}

fn cell(v: &Value, kind: Kind, currency: &str) -> Cell {
    let raw = match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    Cell::num(match kind {
        Kind::Count => group(&raw),
        Kind::Percent => format!("{raw} %"),
        Kind::Money => money(&raw, currency),
    })
}

pub async fn page(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
) -> Response {
    let given = given(q.as_deref());
    let value = |k: &str, default: &str| {
        given
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| default.to_string())
    };
    let today = today_utc();
    let month_ago = today.checked_sub(jiff::ToSpan::days(29)).unwrap_or(today);
    let mut filter = filter_form(
        "/reports",
        vec![
            Field::text("group_by", "Group by")
                .value(value("group_by", "day"))
                .help("Comma-separated: hour, day, week or month, and offer, advertiser, affiliate, link, source, sub1..sub5, country, device, os, browser, event, status"),
            Field::text("from", "From").kind("date").value(value("from", &month_ago.to_string())),
            Field::text("to", "To (included)").kind("date").value(value("to", &today.to_string())),
            Field::text("tz", "Timezone").value(value("tz", "UTC")).suggest(timezones()).help("An IANA name, e.g. Europe/Berlin"),
            Field::text("date_basis", "Conversions counted at").value(value("date_basis", "click")).select(vec![
                ("click".into(), "their click's time".into()),
                ("conversion".into(), "their own time".into()),
            ]),
            Field::text("sort", "Sort by").optional().value(value("sort", "")).select(
                std::iter::once((String::new(), "the groups".to_string()))
                    .chain(METRICS.iter().flat_map(|(k, label, _)| {
                        [(format!("-{k}"), format!("{label}, highest first")), (k.to_string(), format!("{label}, lowest first"))]
                    }))
                    .collect(),
            ),
            Field::text("offer", "Offer id").optional().value(value("offer", "")),
            Field::text("affiliate", "Affiliate id").optional().value(value("affiliate", "")),
            Field::text("sub1", "Sub id (sub1)").optional().value(value("sub1", "")),
            Field::text("source", "Source").optional().value(value("source", "")),
            Field::text("country", "Country").optional().value(value("country", "")).help("Two letters, e.g. DE"),
        ],
    );
    filter.title = "Report";
    filter.submit = "Run the report";
    // the form's defaults are sent as given, so the page shows what it ran
    let mut pairs: Vec<(String, String)> = filter
        .fields
        .iter()
        .filter(|f| !f.value.is_empty())
        .map(|f| (f.name.to_string(), f.value.clone()))
        .collect();
    pairs.sort();
    let query = encode(&pairs);
    let currency = app.base_currency.code().to_string();
    let mut table = Table {
        caption: "Report".into(),
        columns: Vec::new(),
        rows: Vec::new(),
        empty: "Nothing in this range.",
    };
    let mut chart_json = None;
    let mut csv_href = None;
    let mut status = StatusCode::OK;
    match run(&app, &viewer, &query).await {
        Err(e) if e.code.http_status() == 403 => return refusal(e),
        Err(e) => {
            status = e.status();
            filter.refused(&e.message, &given);
        }
        Ok(resp) => {
            let bytes = match to_bytes(resp.into_body(), 64 << 20).await {
                Ok(b) => b,
                Err(e) => return refusal(ApiError::validation(e.to_string())),
            };
            let v: Value = serde_json::from_slice(&bytes).unwrap_or_default();
            let names: Vec<String> = v["group_by"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            // an affiliate's report is about its earnings (see the overview)
            let affiliate = viewer.key.role == clickledger_store::Role::Affiliate;
            let metrics: Vec<&(&str, &str, Kind)> = METRICS
                .iter()
                .filter(|(k, _, _)| !(affiliate && matches!(*k, "revenue" | "profit")))
                .collect();
            table.columns = names
                .iter()
                .map(|n| group_label(n))
                .chain(metrics.iter().map(|(_, label, _)| label.to_string()))
                .collect();
            let row = |r: &Value, first: Option<&str>| {
                let mut cells: Vec<Cell> = names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| match (i, first) {
                        (0, Some(t)) => Cell::text(t),
                        (_, Some(_)) => Cell::text(""),
                        _ => Cell::text(match s(r, n) {
                            v if v.is_empty() => "(none)".to_string(),
                            v => v,
                        }),
                    })
                    .collect();
                cells.extend(
                    metrics
                        .iter()
                        .map(|(k, _, kind)| cell(&r[*k], *kind, &currency)),
                );
                cells
            };
            table.rows = v["rows"]
                .as_array()
                .map(|rows| rows.iter().map(|r| row(r, None)).collect())
                .unwrap_or_default();
            if !table.rows.is_empty() {
                let mut total = row(&v["totals"], Some("Total"));
                if names.is_empty() {
                    total.insert(0, Cell::text("Total"));
                    table.columns.insert(0, "Row".into());
                }
                table.rows.push(total);
            }
            if names == ["day"] {
                chart_json = Some(day_points(&app, &v["rows"]));
            }
            csv_href = Some(format!("/reports.csv?{query}"));
        }
    }
    let page = ReportPage {
        chrome: Chrome::new(&viewer, "Reports", "/reports"),
        filter,
        currency,
        csv_href,
        chart_json,
        table,
    };
    html(status, askama::Template::render(&page))
}

/// Every IANA timezone the binary knows (its bundled database), sorted.
fn timezones() -> &'static [String] {
    static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        let mut v: Vec<String> = jiff::tz::db()
            .available()
            .map(|n| n.as_str().to_string())
            .filter(|n| n.contains('/') || n == "UTC")
            .collect();
        v.sort();
        v.dedup();
        v
    })
}

fn group_label(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The chart's JSON from the API's rows grouped by day.
fn day_points(app: &AppState, rows: &Value) -> String {
    let maps: Vec<(i64, BTreeMap<&'static str, Value>)> = rows
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .filter_map(|r| {
            let d = s(r, "day").parse::<jiff::civil::Date>().ok()?;
            let ts = d
                .to_zoned(jiff::tz::TimeZone::UTC)
                .ok()?
                .timestamp()
                .as_second();
            let m = ["clicks", "conversions", "payout"]
                .into_iter()
                .map(|k| (k, r[k].clone()))
                .collect();
            Some((ts, m))
        })
        .collect();
    let points: Vec<_> = maps.iter().map(|(t, m)| (*t, Some(m))).collect();
    chart_json(app, &points)
}

/// The same report as CSV, named for its range.
pub async fn csv(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
) -> Response {
    let mut pairs = given(q.as_deref());
    pairs.push(("format".into(), "csv".into()));
    match run(&app, &viewer, &encode(&pairs)).await {
        Ok(mut resp) => {
            resp.headers_mut().insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"clickledger-report.csv\""),
            );
            resp.into_response()
        }
        Err(e) => refusal(e),
    }
}
