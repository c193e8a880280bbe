//! The dashboard's pages. Each calls the API handler that answers the same
//! question, with the session's caller, and renders its JSON: a partner
//! sees what its key sees, a refusal is the API's message (shown next to
//! the field it names), and no page has a query of its own that could
//! drift from the API's.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form as Posted;
use clickledger_store::{EntityStatus, PostbackFilter, Role, Scope};
use jiff::civil::Date;
use jiff::ToSpan;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::format::{group, money, time};
use super::html;
use super::login::{csrf_refused, field, message, Fields};
use super::session::Viewer;
use super::view::*;
use crate::admin::{self, ApiResult};
use crate::api::{parse_params, ApiError, JsonBody, Params};
use crate::auth::Admin;
use crate::report::{self, Spec};
use crate::util::now_ms;
use crate::AppState;

pub(super) fn value(r: ApiResult) -> Result<Value, ApiError> {
    r.map(|(_, axum::Json(v))| v)
}

/// A configuration list (offers, advertisers, affiliates, links) through
/// its API handler, unfiltered, as the viewer's key sees it.
pub(super) async fn api_list<Q: Default, F: std::future::Future<Output = ApiResult>>(
    app: &Arc<AppState>,
    viewer: &Viewer,
    handler: impl FnOnce(State<Arc<AppState>>, crate::auth::Caller, Params<Q>) -> F,
) -> Result<Value, ApiError> {
    value(handler(State(app.clone()), viewer.caller(), Params(Q::default())).await)
}

pub(super) fn list(v: &Value) -> &[Value] {
    v["items"].as_array().map(Vec::as_slice).unwrap_or(&[])
}

pub(super) fn s(v: &Value, k: &str) -> String {
    match &v[k] {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A record by id through the API's own `GET …/{id}` handler, with the
/// viewer's key: its JSON, or the refusal as a page (another partner's
/// record is a 404, as in the API).
pub(super) async fn fetch<F, Fut>(
    app: &Arc<AppState>,
    viewer: &Viewer,
    id: &str,
    get: F,
) -> Result<Value, Response>
where
    F: FnOnce(State<Arc<AppState>>, crate::auth::Caller, crate::api::Path<String>) -> Fut,
    Fut: std::future::Future<Output = ApiResult>,
{
    value(
        get(
            State(app.clone()),
            viewer.caller(),
            crate::api::Path(id.to_string()),
        )
        .await,
    )
    .map_err(refusal)
}

/// An API refusal as a page, with the API's status and message.
pub(super) fn refusal(e: ApiError) -> Response {
    let status = e.status();
    let heading = match status {
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::SERVICE_UNAVAILABLE => "Try again shortly",
        _ => "Refused",
    };
    message(
        status,
        heading,
        &e.message,
        Some(("/", "Back to the overview")),
    )
}

/// Why a page or form was not served.
pub(super) enum Denied {
    Csrf,
    Api(ApiError),
}

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        match self {
            Denied::Csrf => csrf_refused(),
            Denied::Api(e) => refusal(e),
        }
    }
}

/// The admin a page needs, or why not.
pub(super) fn admin(v: &Viewer, what: &str) -> Result<Admin, Denied> {
    if v.is_admin() {
        Ok(Admin(v.key.clone()))
    } else {
        Err(Denied::Api(v.caller().forbid(what)))
    }
}

pub(super) fn body<T: DeserializeOwned>(v: Value) -> Result<JsonBody<T>, ApiError> {
    serde_json::from_value(v)
        .map(JsonBody)
        .map_err(|e| ApiError::validation(e.to_string()))
}

pub(super) fn post_form(
    id: &'static str,
    title: &'static str,
    action: &str,
    submit: &'static str,
    csrf: &str,
    fields: Vec<Field>,
) -> Form {
    Form {
        id,
        title,
        action: action.to_string(),
        method: "post",
        submit,
        fields,
        error: None,
        csrf: csrf.to_string(),
        live: None,
    }
}

/// A filter form of one choice (`Any` or one of `choices`); answers the
/// form and the value chosen, empty for any (or for one not offered).
pub(super) fn choice_filter(
    action: &str,
    name_label: (&'static str, &'static str),
    choices: &[&str],
    given: String,
) -> (Form, String) {
    let field = choice_field(name_label, choices, given);
    let chosen = field.value.clone();
    (filter_form(action, vec![field]), chosen)
}

/// A select of `Any` or one of `choices`, set to `given` when it is one of
/// them (else to any).
pub(super) fn choice_field(
    (name, label): (&'static str, &'static str),
    choices: &[&str],
    given: String,
) -> Field {
    let chosen = if choices.contains(&given.as_str()) {
        given
    } else {
        String::new()
    };
    let options = std::iter::once((String::new(), "Any".to_string()))
        .chain(choices.iter().map(|c| (c.to_string(), c.to_string())))
        .collect();
    Field::text(name, label)
        .optional()
        .value(chosen)
        .select(options)
}

/// A filter form's filled fields as a query string, for the API handler
/// whose parameters they are named after.
pub(super) fn filled(filter: &Form) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for f in filter.fields.iter().filter(|f| !f.value.is_empty()) {
        ser.append_pair(f.name, &f.value);
    }
    ser.finish()
}

pub(super) fn filter_form(action: &str, fields: Vec<Field>) -> Form {
    Form {
        id: "filter",
        title: "Find",
        action: action.to_string(),
        method: "get",
        submit: "Find",
        fields,
        error: None,
        csrf: String::new(),
        live: None,
    }
}

/// What a create form's answer does to its page: a notice, or the form
/// back with the refusal next to its field.
pub(super) enum Outcome {
    Created(String),
    Refused(String, Fields),
    None,
}

pub(super) fn apply(outcome: Outcome, form: &mut Option<Form>) -> (Option<String>, StatusCode) {
    match outcome {
        Outcome::Created(n) => (Some(n), StatusCode::CREATED),
        Outcome::Refused(m, values) => {
            if let Some(f) = form {
                f.refused(&m, &values);
            }
            (None, StatusCode::UNPROCESSABLE_ENTITY)
        }
        Outcome::None => (None, StatusCode::OK),
    }
}

// ---------------------------------------------------------------- overview

pub(super) fn today_utc() -> Date {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
}

/// Totals (or rows by `group_by`) through the reports' own code.
pub(super) async fn report_run(
    app: &AppState,
    scope: &Scope,
    group_by: &str,
    from: Date,
    to: Date,
) -> Result<report::Report, ApiError> {
    let params: BTreeMap<String, String> = [
        ("group_by", group_by.to_string()),
        ("from", from.to_string()),
        ("to", to.to_string()),
        ("tz", "UTC".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let spec = Spec::parse(&params, &app.cache.get())?;
    report::run(app, &spec, scope.clone()).await
}

pub(super) fn metric_map(app: &AppState, agg: &report::Agg) -> BTreeMap<&'static str, Value> {
    agg.metrics(app.base_currency).into_iter().collect()
}

fn trend(now: &Value, before: &Value) -> &'static str {
    let n = |v: &Value| match v {
        Value::String(s) => s.parse::<f64>().unwrap_or(0.0),
        other => other.as_f64().unwrap_or(0.0),
    };
    let (a, b) = (n(now), n(before));
    if a > b {
        "up"
    } else if a < b {
        "down"
    } else {
        "same"
    }
}

pub async fn overview(State(app): State<Arc<AppState>>, viewer: Viewer) -> Response {
    match overview_page(&app, &viewer).await {
        Ok(r) => r,
        Err(e) => refusal(e),
    }
}

async fn overview_page(app: &AppState, viewer: &Viewer) -> Result<Response, ApiError> {
    let scope = viewer.caller().scope();
    let today = today_utc();
    let yesterday = today.yesterday().unwrap_or(today);
    let month_start = today.first_of_month();
    let last_month_end = month_start.yesterday().unwrap_or(month_start);
    let last_month_start = last_month_end.first_of_month();
    let ranges = [
        (today, today),
        (yesterday, yesterday),
        (month_start, today),
        (last_month_start, last_month_end),
    ];
    // the four ranges and the chart's days are read at once (the store
    // serves reads in parallel), so the page waits for the slowest only
    let first = today.checked_sub(29.days()).unwrap_or(today);
    let total = |(from, to): (Date, Date)| report_run(app, &scope, "", from, to);
    let (r0, r1, r2, r3, by_day) = tokio::join!(
        total(ranges[0]),
        total(ranges[1]),
        total(ranges[2]),
        total(ranges[3]),
        report_run(app, &scope, "day", first, today),
    );
    let totals: Vec<BTreeMap<&'static str, Value>> = [r0?, r1?, r2?, r3?]
        .iter()
        .map(|r| metric_map(app, &r.totals))
        .collect();
    let by_day = by_day?;
    let currency = app.base_currency.code().to_string();
    let cards: [(&str, &str, bool); 5] = [
        ("Clicks", "clicks", false),
        ("Conversions", "conversions", false),
        ("Revenue", "revenue", true),
        ("Payout", "payout", true),
        ("Profit", "profit", true),
    ];
    let show = |m: &BTreeMap<&str, Value>, k: &str, is_money: bool| {
        let raw = match m.get(k) {
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => String::new(),
        };
        if is_money {
            money(&raw, &currency)
        } else {
            group(&raw)
        }
    };
    // an affiliate's page is about its earnings: the advertiser's revenue
    // and the network's profit are not its business
    let affiliate = matches!(scope, Scope::Affiliate(_));
    let kpis = cards
        .iter()
        .filter(|(_, k, _)| !(affiliate && matches!(*k, "revenue" | "profit")))
        .map(|(label, k, is_money)| Kpi {
            label,
            today: show(&totals[0], k, *is_money),
            yesterday: show(&totals[1], k, *is_money),
            month: show(&totals[2], k, *is_money),
            last_month: show(&totals[3], k, *is_money),
            day_trend: trend(&totals[0][k], &totals[1][k]),
            month_trend: trend(&totals[2][k], &totals[3][k]),
        })
        .collect();
    // the chart: the last 30 days, every day present even when empty
    let chart_json = day_chart(app, &by_day.rows, first, today);
    // the month's top rows by each dimension the viewer may group by
    let dims: &[(&str, &str)] = match viewer.key.role {
        Role::Admin => &[
            ("offer", "Top offers this month"),
            ("affiliate", "Top affiliates this month"),
            ("sub1", "Top sub ids this month"),
        ],
        Role::Advertiser => &[("offer", "Top offers this month")],
        Role::Affiliate => &[
            ("offer", "Top offers this month"),
            ("sub1", "Top sub ids this month"),
        ],
    };
    let mut tops = Vec::new();
    for (dim, caption) in dims {
        let r = report_run(app, &scope, dim, month_start, today).await?;
        let mut rows: Vec<(String, BTreeMap<&str, Value>)> = r
            .rows
            .iter()
            .map(|(k, a)| (k.first().cloned().unwrap_or_default(), metric_map(app, a)))
            .collect();
        let clicks_of =
            |m: &BTreeMap<&str, Value>| m.get("clicks").and_then(Value::as_i64).unwrap_or(0);
        let conversions_of =
            |m: &BTreeMap<&str, Value>| m.get("conversions").and_then(Value::as_i64).unwrap_or(0);
        // refused postbacks make rows of their own (no offer); not a top anything
        rows.retain(|(_, m)| clicks_of(m) + conversions_of(m) > 0);
        rows.sort_by_key(|(_, m)| std::cmp::Reverse(clicks_of(m)));
        tops.push(Table {
            caption: caption.to_string(),
            columns: [dim_label(dim), "Clicks", "Conversions", "Payout", "Revenue"]
                .iter()
                .take(if affiliate { 4 } else { 5 })
                .map(|c| c.to_string())
                .collect(),
            rows: rows
                .iter()
                .take(5)
                .map(|(name, m)| {
                    vec![
                        Cell::text(if name.is_empty() {
                            "(none)".to_string()
                        } else {
                            name.clone()
                        }),
                        Cell::num(show(m, "clicks", false)),
                        Cell::num(show(m, "conversions", false)),
                        Cell::num(show(m, "payout", true)),
                        Cell::num(show(m, "revenue", true)),
                    ]
                    .into_iter()
                    .take(if affiliate { 4 } else { 5 })
                    .collect()
                })
                .collect(),
            empty: "Nothing this month yet.",
        });
    }
    let failed_24h = if matches!(scope, Scope::Affiliate(_)) {
        None
    } else {
        let filter = PostbackFilter {
            scope: scope.clone(),
            result: Some("rejected".into()),
            from_ms: Some(now_ms() - 86_400_000),
            limit: 10_000,
            ..Default::default()
        };
        Some(app.store.postback_log(&filter).await?.len() as i64)
    };
    let page = OverviewPage {
        chrome: Chrome::new(viewer, "Overview", "/"),
        kpis,
        currency,
        chart_json,
        tops,
        failed_24h,
    };
    Ok(html(StatusCode::OK, page.render()))
}

/// Clicks and conversions per day from `day`-grouped report rows (the day
/// first in each key), every day from `first` to `last` present, as the
/// JSON the chart script reads.
pub(super) fn day_chart(
    app: &AppState,
    rows: &[(Vec<String>, report::Agg)],
    first: Date,
    last: Date,
) -> String {
    let by_day: BTreeMap<String, BTreeMap<&'static str, Value>> = rows
        .iter()
        .map(|(key, agg)| {
            (
                key.first().cloned().unwrap_or_default(),
                metric_map(app, agg),
            )
        })
        .collect();
    let mut points = Vec::new();
    let mut d = first;
    while d <= last && points.len() < 400 {
        let ts = d
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp().as_second())
            .unwrap_or(0);
        points.push((ts, by_day.get(&d.to_string())));
        d = match d.tomorrow() {
            Ok(n) => n,
            Err(_) => break,
        };
    }
    chart_json(app, &points)
}

/// The chart script's JSON: per day, clicks, conversions and payout.
pub(super) fn chart_json(
    app: &AppState,
    points: &[(i64, Option<&BTreeMap<&'static str, Value>>)],
) -> String {
    let n = |m: Option<&BTreeMap<&'static str, Value>>, k: &str| {
        m.and_then(|m| m.get(k))
            .and_then(Value::as_i64)
            .unwrap_or(0)
    };
    let payout = |m: Option<&BTreeMap<&'static str, Value>>| {
        m.and_then(|m| m.get("payout"))
            .and_then(Value::as_str)
            .and_then(|p| p.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    json!({
        "days": points.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
        "clicks": points.iter().map(|(_, m)| n(*m, "clicks")).collect::<Vec<_>>(),
        "conversions": points.iter().map(|(_, m)| n(*m, "conversions")).collect::<Vec<_>>(),
        "payout": points.iter().map(|(_, m)| payout(*m)).collect::<Vec<_>>(),
        "currency": app.base_currency.code(),
    })
    .to_string()
    .replace('<', "\\u003c")
}

fn dim_label(dim: &str) -> &'static str {
    match dim {
        "offer" => "Offer",
        "affiliate" => "Affiliate",
        _ => "Sub id (sub1)",
    }
}

// ------------------------------------------------------------------ lists

pub(super) fn options(items: &[Value]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|i| (s(i, "id"), format!("{} ({})", s(i, "name"), s(i, "id"))))
        .collect()
}

pub async fn offers(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
) -> Response {
    offers_page(&app, &viewer, Outcome::None, search_words(q)).await
}

async fn offers_page(
    app: &Arc<AppState>,
    viewer: &Viewer,
    outcome: Outcome,
    search: String,
) -> Response {
    let offers = match api_list(app, viewer, crate::admin::list_offers).await {
        Ok(v) => v,
        Err(e) => return refusal(e),
    };
    let admin_view = viewer.is_admin();
    let mut create = None;
    if admin_view {
        let advertisers = api_list(app, viewer, crate::admin::list_advertisers)
            .await
            .unwrap_or_default();
        create = Some(post_form(
            "new-offer",
            "New offer",
            "/offers",
            "Create the offer",
            &viewer.csrf,
            vec![
                Field::text("advertiser_id", "Advertiser").select(options(list(&advertisers))),
                Field::text("name", "Name"),
                Field::text("destination_url", "Destination URL")
                    .kind("url")
                    .help("Macros: {click_id}, {sub1}..{sub5}, {source}, {offer_id}, {affiliate_id}, {link_id}"),
                Field::text("currency", "Currency").value("USD").help("ISO 4217, e.g. USD or EUR"),
                Field::text("event", "Event name").value("sale"),
                Field::text("payout_type", "Payout rule").select(vec![
                    ("fixed".into(), "Fixed amount per conversion".into()),
                    ("revshare".into(), "Percent of the amount".into()),
                ]),
                Field::text("payout", "Payout (amount or percent)").value("10.00"),
            ],
        ));
    }
    let (notice, status) = apply(outcome, &mut create);
    let rows = list(&offers)
        .iter()
        .map(|o| {
            let events: Vec<String> = o["events"]
                .as_array()
                .map(|es| es.iter().map(|e| s(e, "name")).collect())
                .unwrap_or_default();
            vec![
                Cell::link(s(o, "id"), format!("/offers/{}", s(o, "id"))),
                Cell::text(s(o, "name")),
                Cell::text(s(o, "advertiser_id")),
                Cell::text(s(o, "currency")),
                Cell::text(events.join(", ")),
                Cell::status(&s(o, "status"), "offers", &s(o, "id"), admin_view),
            ]
        })
        .collect();
    ListPage {
        search: Some(search),
        notice,
        create,
        ..ListPage::new(
            viewer,
            "Offers",
            "/offers",
            vec!["Id", "Name", "Advertiser", "Currency", "Events", "Status"],
            rows,
            "No offers yet.",
        )
    }
    .answer(status)
}

pub(super) fn refused_or(
    r: Result<Value, ApiError>,
    fields: Fields,
    created: impl FnOnce(&Value) -> String,
) -> Outcome {
    match r {
        Ok(v) => Outcome::Created(created(&v)),
        Err(e) => Outcome::Refused(e.message, fields),
    }
}

/// The session, its token checked, and the admin it must be.
pub(super) fn checked(viewer: &Viewer, fields: &Fields, what: &str) -> Result<Admin, Denied> {
    if !viewer.csrf_ok(field(fields, "csrf")) {
        return Err(Denied::Csrf);
    }
    admin(viewer, what)
}

pub async fn create_offer(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    Posted(fields): Posted<Fields>,
) -> Response {
    let a = match checked(&viewer, &fields, "create offers") {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let f = |k: &str| field(&fields, k).unwrap_or("").trim().to_string();
    let payout = if f("payout_type") == "revshare" {
        json!({"type": "revshare", "percent": f("payout")})
    } else {
        json!({"type": "fixed", "amount": f("payout")})
    };
    let b = json!({
        "advertiser_id": f("advertiser_id"),
        "name": f("name"),
        "destination_url": f("destination_url"),
        "currency": f("currency"),
        "events": [{"name": f("event"), "payout": payout}],
    });
    let r = match body(b) {
        Ok(b) => value(admin::create_offer(State(app.clone()), a, b).await),
        Err(e) => Err(e),
    };
    let outcome = refused_or(r, fields.clone(), |v| {
        format!("Offer {} created.", s(v, "id"))
    });
    offers_page(&app, &viewer, outcome, String::new()).await
}

pub async fn advertisers(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
) -> Response {
    advertisers_page(&app, &viewer, Outcome::None, search_words(q)).await
}

async fn advertisers_page(
    app: &Arc<AppState>,
    viewer: &Viewer,
    outcome: Outcome,
    search: String,
) -> Response {
    if let Err(r) = admin(viewer, "open the advertisers page") {
        return r.into_response();
    }
    let all = match api_list(app, viewer, crate::admin::list_advertisers).await {
        Ok(v) => v,
        Err(e) => return refusal(e),
    };
    let mut create = Some(post_form(
        "new-advertiser",
        "New advertiser",
        "/advertisers",
        "Create the advertiser",
        &viewer.csrf,
        vec![Field::text("name", "Name")],
    ));
    let (notice, status) = apply(outcome, &mut create);
    let rows = list(&all)
        .iter()
        .map(|a| {
            vec![
                Cell::link(s(a, "id"), format!("/advertisers/{}", s(a, "id"))),
                Cell::text(s(a, "name")),
                Cell::text(if a["require_signature"] == json!(true) {
                    "required"
                } else {
                    "optional"
                }),
                Cell::text(time(&s(a, "created_at"))),
                Cell::status(&s(a, "status"), "advertisers", &s(a, "id"), true),
            ]
        })
        .collect();
    ListPage {
        search: Some(search),
        intro:
            "An advertiser's postback token, signing secret and API key are shown once, when it is created."
                .into(),
        notice,
        create,
        ..ListPage::new(
            viewer,
            "Advertisers",
            "/advertisers",
            vec!["Id", "Name", "Signature", "Created", "Status"],
            rows,
            "No advertisers yet.",
        )
    }
    .answer(status)
}

pub async fn create_advertiser(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    Posted(fields): Posted<Fields>,
) -> Response {
    let a = match checked(&viewer, &fields, "create advertisers") {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let b = json!({"name": field(&fields, "name").unwrap_or("")});
    let r = match body(b) {
        Ok(b) => value(admin::create_advertiser(State(app.clone()), a, b).await),
        Err(e) => Err(e),
    };
    let outcome = refused_or(r, fields.clone(), |v| {
        format!(
            "Advertiser {} created. Shown once, keep them: postback URL {} — signing secret {} — API key {}",
            s(v, "id"),
            s(v, "postback_url"),
            s(v, "signing_secret"),
            s(v, "api_key")
        )
    });
    advertisers_page(&app, &viewer, outcome, String::new()).await
}

pub async fn affiliates(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
) -> Response {
    affiliates_page(&app, &viewer, Outcome::None, search_words(q)).await
}

async fn affiliates_page(
    app: &Arc<AppState>,
    viewer: &Viewer,
    outcome: Outcome,
    search: String,
) -> Response {
    if let Err(r) = admin(viewer, "open the affiliates page") {
        return r.into_response();
    }
    let all = match api_list(app, viewer, crate::admin::list_affiliates).await {
        Ok(v) => v,
        Err(e) => return refusal(e),
    };
    let mut create = Some(post_form(
        "new-affiliate",
        "New affiliate",
        "/affiliates",
        "Create the affiliate",
        &viewer.csrf,
        vec![
            Field::text("name", "Name"),
            Field::text("postback_url", "Postback URL")
                .kind("url")
                .optional()
                .help("Called for approved conversions and reversals; macros such as {click_id}, {payout}"),
        ],
    ));
    let (notice, status) = apply(outcome, &mut create);
    let rows = list(&all)
        .iter()
        .map(|a| {
            vec![
                Cell::link(s(a, "id"), format!("/affiliates/{}", s(a, "id"))),
                Cell::text(s(a, "name")),
                Cell::text(s(a, "postback_url")),
                Cell::text(time(&s(a, "created_at"))),
                Cell::status(&s(a, "status"), "affiliates", &s(a, "id"), true),
            ]
        })
        .collect();
    ListPage {
        search: Some(search),
        intro: "An affiliate's API key is shown once, when it is created.".into(),
        notice,
        create,
        ..ListPage::new(
            viewer,
            "Affiliates",
            "/affiliates",
            vec!["Id", "Name", "Postback URL", "Created", "Status"],
            rows,
            "No affiliates yet.",
        )
    }
    .answer(status)
}

pub async fn create_affiliate(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    Posted(fields): Posted<Fields>,
) -> Response {
    let a = match checked(&viewer, &fields, "create affiliates") {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let url = field(&fields, "postback_url").unwrap_or("").trim();
    let mut b = json!({"name": field(&fields, "name").unwrap_or("")});
    if !url.is_empty() {
        b["postback_url"] = json!(url);
    }
    let r = match body(b) {
        Ok(b) => value(admin::create_affiliate(State(app.clone()), a, b).await),
        Err(e) => Err(e),
    };
    let outcome = refused_or(r, fields.clone(), |v| {
        format!(
            "Affiliate {} created. API key (shown once): {}",
            s(v, "id"),
            s(v, "api_key")
        )
    });
    affiliates_page(&app, &viewer, outcome, String::new()).await
}

pub async fn links(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
) -> Response {
    links_page(&app, &viewer, Outcome::None, search_words(q)).await
}

async fn links_page(
    app: &Arc<AppState>,
    viewer: &Viewer,
    outcome: Outcome,
    search: String,
) -> Response {
    let all = match api_list(app, viewer, crate::admin::list_links).await {
        Ok(v) => v,
        Err(e) => return refusal(e),
    };
    let admin_view = viewer.is_admin();
    let mut create = None;
    if admin_view {
        let offers = api_list(app, viewer, crate::admin::list_offers)
            .await
            .unwrap_or_default();
        let affiliates = api_list(app, viewer, crate::admin::list_affiliates)
            .await
            .unwrap_or_default();
        create = Some(post_form(
            "new-link",
            "New tracking link",
            "/links",
            "Create the link",
            &viewer.csrf,
            vec![
                Field::text("offer_id", "Offer").select(options(list(&offers))),
                Field::text("affiliate_id", "Affiliate").select(options(list(&affiliates))),
            ],
        ));
    }
    let (notice, status) = apply(outcome, &mut create);
    let rows = list(&all)
        .iter()
        .map(|l| {
            vec![
                Cell::link(s(l, "id"), format!("/links/{}", s(l, "id"))),
                Cell::text(s(l, "offer_id")),
                Cell::text(s(l, "affiliate_id")),
                Cell::copy(s(l, "url")),
                Cell::status(&s(l, "status"), "links", &s(l, "id"), admin_view),
            ]
        })
        .collect();
    ListPage {
        search: Some(search),
        heading: "Tracking links".into(),
        intro: "Add sub1..sub5 and source to a link's URL to tell traffic apart: ?sub1=spring&source=newsletter.".into(),
        notice,
        create,
        ..ListPage::new(viewer, "Links", "/links", vec!["Id", "Offer", "Affiliate", "URL", "Status"], rows, "No links yet.")
    }
    .answer(status)
}

pub async fn create_link(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    Posted(fields): Posted<Fields>,
) -> Response {
    let a = match checked(&viewer, &fields, "create links") {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let b = json!({
        "offer_id": field(&fields, "offer_id").unwrap_or(""),
        "affiliate_id": field(&fields, "affiliate_id").unwrap_or(""),
    });
    let r = match body(b) {
        Ok(b) => value(admin::create_link(State(app.clone()), a, b).await),
        Err(e) => Err(e),
    };
    let outcome = refused_or(r, fields.clone(), |v| {
        format!("Link {} created: {}", s(v, "id"), s(v, "url"))
    });
    links_page(&app, &viewer, outcome, String::new()).await
}

#[derive(serde::Deserialize)]
pub struct StatusTo {
    to: String,
}

/// Pause or resume: `POST /{kind}/{id}/status?to=pause|resume`, one
/// route per kind (so no other path of three segments lands here).
pub async fn set_status(
    kind: &'static str,
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(q): Query<StatusTo>,
    Posted(fields): Posted<Fields>,
) -> Response {
    let a = match checked(&viewer, &fields, "pause or resume") {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let status = if q.to == "resume" {
        EntityStatus::Active
    } else {
        EntityStatus::Paused
    };
    match admin::set_status(app, a, kind, id, status).await {
        Ok(_) => Redirect::to(&format!("/{kind}")).into_response(),
        Err(e) => refusal(e),
    }
}

// ------------------------------------------------------------ conversions

pub async fn conversions(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
) -> Response {
    let q: BTreeMap<String, String> =
        serde_urlencoded::from_str(q.as_deref().unwrap_or("")).unwrap_or_default();
    let find = q.get("q").map(|s| s.trim().to_string()).unwrap_or_default();
    let mut filter = filter_form(
        "/conversions",
        vec![Field::text("q", "Click id or txid")
            .optional()
            .value(find.clone())
            .help("A click id (30 characters) or the advertiser's order id")],
    );
    // a click id is looked up as one; anything else as a txid
    let param = if find.is_empty() {
        String::new()
    } else if clickledger_domain::ClickId::parse(&find).is_ok() {
        format!("click_id={}", urlencode(&find))
    } else {
        format!("txid={}", urlencode(&find))
    };
    let params = match parse_params(&param) {
        Ok(p) => p,
        Err(e) => return refusal(e),
    };
    let listed = value(
        crate::reads::list_conversions(State(app.clone()), viewer.caller(), Params(params)).await,
    );
    let all = match listed {
        Ok(v) => v,
        Err(e) => {
            filter.refused(&e.message, &[]);
            json!({"items": []})
        }
    };
    let rows = list(&all)
        .iter()
        .map(|c| {
            vec![
                Cell::text(time(&s(c, "conversion_time"))),
                Cell::link(s(c, "id"), format!("/conversions/{}", s(c, "id"))),
                Cell::text(s(c, "offer_id")),
                Cell::text(s(c, "affiliate_id")),
                Cell::text(s(c, "event")),
                Cell::text(s(c, "status")),
                Cell::num(money(&s(c, "payout"), &s(c, "payout_currency"))),
                Cell::num(money(&s(c, "amount"), &s(c, "currency"))),
                Cell::text(s(c, "txid")),
                Cell::copy(s(c, "click_id")),
            ]
        })
        .collect();
    ListPage {
        intro: "Newest first (the last 100).".into(),
        notice: None,
        filter: Some(filter),
        create: super::import::form(&viewer),
        ..ListPage::new(
            &viewer,
            "Conversions",
            "/conversions",
            vec![
                "Time",
                "Id",
                "Offer",
                "Affiliate",
                "Event",
                "Status",
                "Payout",
                "Amount",
                "Txid",
                "Click id",
            ],
            rows,
            "No conversions match.",
        )
    }
    .answer(StatusCode::OK)
}

/// `?q=` of a list page.
fn search_words(q: Option<String>) -> String {
    form_urlencoded::parse(q.as_deref().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "q")
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default()
}

pub(super) fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

// ------------------------------------------------------------ postback log

pub async fn postback_log(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
) -> Response {
    let q: BTreeMap<String, String> =
        serde_urlencoded::from_str(q.as_deref().unwrap_or("")).unwrap_or_default();
    let given = |k: &str| q.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let results = ["accepted", "duplicate", "updated", "rejected"];
    let mut fields = vec![Field::text("result", "Result")
        .optional()
        .value(given("result"))
        .select(
            std::iter::once((String::new(), "Any".to_string()))
                .chain(results.iter().map(|r| (r.to_string(), r.to_string())))
                .collect(),
        )];
    fields.push(
        Field::text("error", "Error code")
            .optional()
            .value(given("error"))
            .help("e.g. unknown_click_id, invalid_token"),
    );
    if viewer.is_admin() {
        fields.push(
            Field::text("advertiser_id", "Advertiser id")
                .optional()
                .value(given("advertiser_id")),
        );
    }
    fields.push(
        Field::text("offer_id", "Offer id")
            .optional()
            .value(given("offer_id")),
    );
    fields.push(
        Field::text("click_id", "Click id")
            .optional()
            .value(given("click_id"))
            .help("exactly as received"),
    );
    fields.push(Field::text("txid", "Txid").optional().value(given("txid")));
    let mut filter = filter_form("/postback-log", fields);
    let param = filled(&filter);
    let mut status = StatusCode::OK;
    let listed = match parse_params(&param) {
        Ok(params) => value(
            crate::reads::list_postbacks(State(app.clone()), viewer.caller(), Params(params)).await,
        ),
        Err(e) => Err(e),
    };
    let all = match listed {
        Ok(v) => v,
        Err(e) if e.code.http_status() == 403 => return refusal(e),
        Err(e) => {
            status = e.status();
            filter.refused(&e.message, &[]);
            json!({"items": []})
        }
    };
    let entries = list(&all).iter().map(entry).collect();
    let page = PostbackPage {
        chrome: Chrome::new(&viewer, "Postback log", "/postback-log"),
        filter,
        entries,
    };
    html(status, page.render())
}

/// One log entry as the page shows it, from the API's `diff`.
fn entry(e: &Value) -> PostbackEntry {
    let recognized = &e["diff"]["recognized"];
    let received = e["fields"]
        .as_array()
        .map(|fs| {
            fs.iter()
                .map(|pair| {
                    let name = pair[0].as_str().unwrap_or("").to_string();
                    let value = pair[1].as_str().unwrap_or("").to_string();
                    let read_as = recognized[&name].as_str().map(str::to_string);
                    let bad = read_as.is_none();
                    (
                        name,
                        value,
                        read_as.unwrap_or_else(|| "— not a known name".into()),
                        bad,
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    PostbackEntry {
        time: time(&s(e, "time")),
        result: s(e, "result"),
        error: e["error"].as_str().map(str::to_string),
        message: s(e, "message"),
        hint: e["hint"].as_str().map(str::to_string),
        advertiser: e["advertiser_id"].as_str().unwrap_or("unknown").to_string(),
        ip: s(e, "source_ip"),
        received,
        missing: e["diff"]["missing"]
            .as_array()
            .map(|m| {
                m.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        template: s(&e["expected"], "template"),
    }
}

// ------------------------------------------------------------------ users

pub async fn users(State(app): State<Arc<AppState>>, viewer: Viewer) -> Response {
    users_page(&app, &viewer, Outcome::None).await
}

async fn users_page(app: &Arc<AppState>, viewer: &Viewer, outcome: Outcome) -> Response {
    let a = match admin(viewer, "open the users page") {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let all = match value(crate::users::list_users(State(app.clone()), a).await) {
        Ok(v) => v,
        Err(e) => return refusal(e),
    };
    let mut create = Some(post_form(
        "invite",
        "Invite a user",
        "/users",
        "Create the invitation",
        &viewer.csrf,
        vec![
            Field::text("email", "E-mail").kind("email"),
            Field::text("role", "Role").select(vec![
                ("affiliate".into(), "Affiliate".into()),
                ("advertiser".into(), "Advertiser".into()),
                ("admin".into(), "Admin".into()),
            ]),
            Field::text("partner_id", "Partner id")
                .optional()
                .help("The affiliate's or advertiser's id; empty for an admin"),
        ],
    ));
    let (notice, status) = apply(outcome, &mut create);
    let rows = list(&all)
        .iter()
        .map(|u| {
            let id = s(u, "id");
            vec![
                Cell::text(s(u, "email")),
                Cell::text(s(u, "role")),
                Cell::text(s(u, "partner_id")),
                {
                    let disabled = u["disabled"] == json!(true);
                    let (label, to) = if disabled {
                        ("Enable", "enable")
                    } else {
                        ("Disable", "disable")
                    };
                    Cell {
                        text: if disabled { "disabled" } else { "active" }.into(),
                        class: if disabled { "paused" } else { "active" },
                        button: Some(Button {
                            action: format!("/users/{id}/{to}"),
                            label: format!("{label} {}", s(u, "email")),
                        }),
                        ..Default::default()
                    }
                },
                Cell::text(time(&s(u, "created_at"))),
                Cell {
                    text: if u["has_password"] == json!(true) {
                        "set".into()
                    } else {
                        "not yet".into()
                    },
                    button: Some(Button {
                        action: format!("/users/{id}/reset"),
                        label: format!("Reset password of {}", s(u, "email")),
                    }),
                    ..Default::default()
                },
            ]
        })
        .collect();
    ListPage {
        intro:
            "Invitation and reset links work once, for 72 hours; give them to the person yourself."
                .into(),
        notice,
        create,
        ..ListPage::new(
            viewer,
            "Users",
            "/users",
            vec!["E-mail", "Role", "Partner", "State", "Created", "Password"],
            rows,
            "No users yet.",
        )
    }
    .answer(status)
}

pub async fn invite_user(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    Posted(fields): Posted<Fields>,
) -> Response {
    let a = match checked(&viewer, &fields, "invite users") {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let f = |k: &str| field(&fields, k).unwrap_or("").trim().to_string();
    let partner = f("partner_id");
    let b = crate::users::NewInvitation {
        email: f("email"),
        role: f("role"),
        partner_id: (!partner.is_empty()).then_some(partner),
    };
    let r = crate::users::invite(&app, b, &a.0.id)
        .await
        .map(|l| json!(l))
        .map_err(ApiError::from);
    let outcome = refused_or(r, fields.clone(), |v| {
        format!(
            "Invitation for {} (until {}): {}",
            s(&v["user"], "email"),
            time(&s(v, "expires_at")),
            s(v, "url")
        )
    });
    users_page(&app, &viewer, outcome).await
}

pub async fn reset_user(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    Path(id): Path<String>,
    Posted(fields): Posted<Fields>,
) -> Response {
    let a = match checked(&viewer, &fields, "reset passwords") {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let r = crate::users::password_reset(&app, &id, &a.0.id)
        .await
        .map(|l| json!(l))
        .map_err(ApiError::from);
    let outcome = refused_or(r, fields.clone(), |v| {
        format!(
            "Password reset link for {} (until {}): {}",
            s(&v["user"], "email"),
            time(&s(v, "expires_at")),
            s(v, "url")
        )
    });
    users_page(&app, &viewer, outcome).await
}

/// Disables (its sessions end) or enables a user: the API's PATCH.
pub async fn set_user_disabled(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    Path((id, to)): Path<(String, String)>,
    Posted(fields): Posted<Fields>,
) -> Response {
    let a = match checked(&viewer, &fields, "disable users") {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let disabled = match to.as_str() {
        "disable" => true,
        "enable" => false,
        _ => return refusal(ApiError::not_found("page", &format!("/users/{id}/{to}"))),
    };
    let r = value(
        crate::users::patch_user(
            State(app.clone()),
            a,
            crate::api::Path(id),
            JsonBody(crate::users::UserPatch { disabled }),
        )
        .await,
    );
    let outcome = refused_or(r, fields.clone(), |v| {
        format!(
            "{} is {} now.",
            s(v, "email"),
            if disabled { "disabled" } else { "enabled" }
        )
    });
    users_page(&app, &viewer, outcome).await
}
