//! Pages for running the program day to day: one conversion, outbound
//! postbacks (deliveries) with their destinations' health, the audit log
//! and an affiliate's ledger. Like every page they call the API handlers
//! with the session's caller.

use std::sync::Arc;

use askama::Template;
use axum::body::to_bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form as Posted;
use clickledger_store::{ConversionFilter, Role};
use serde_json::{json, Value};

use super::format::{money, time};
use super::html;
use super::login::{field, Fields};
use super::pages::{
    admin, api_list, body, checked, choice_filter, fetch, filter_form, list, post_form, refusal, s,
    urlencode, value, Outcome,
};
use super::session::Viewer;
use super::view::{Button, Cell, Chrome, DetailPage, Field, Table};
use crate::api::{parse_params, ApiError, Params};
use crate::AppState;

pub(super) fn page(chrome: Chrome, heading: &str) -> DetailPage {
    DetailPage {
        chrome,
        heading: heading.to_string(),
        notice: None,
        facts: Vec::new(),
        filter: None,
        tables: Vec::new(),
        forms: Vec::new(),
        built: None,
        steps: Vec::new(),
        links: Vec::new(),
    }
}

pub(super) fn table(
    caption: &str,
    columns: &[&str],
    rows: Vec<Vec<Cell>>,
    empty: &'static str,
) -> Table {
    Table {
        caption: caption.to_string(),
        columns: columns.iter().map(|c| c.to_string()).collect(),
        rows,
        empty,
    }
}

/// The query string's values by name (a missing one is empty).
pub(super) fn query(q: &Option<String>) -> impl Fn(&str) -> String + '_ {
    move |k| {
        form_urlencoded::parse(q.as_deref().unwrap_or("").as_bytes())
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    }
}

// ------------------------------------------------------------ a conversion

/// One conversion, if the viewer's key may see it: another partner's id
/// is a 404, like an id that does not exist.
pub async fn conversion(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Response {
    conversion_page(&app, &viewer, &id, Outcome::None).await
}

async fn conversion_page(
    app: &Arc<AppState>,
    viewer: &Viewer,
    id: &str,
    outcome: Outcome,
) -> Response {
    let id = id.to_string();
    let filter = ConversionFilter {
        scope: viewer.caller().scope(),
        id: Some(id.clone()),
        limit: 1,
        ..Default::default()
    };
    let found = match app.store.conversions(&filter).await {
        Ok(mut list) => list.pop(),
        Err(e) => return refusal(e.into()),
    };
    let Some(c) = found else {
        return refusal(ApiError::not_found("conversion", &id));
    };
    let v = serde_json::to_value(&c).unwrap_or_default();
    let mut p = page(
        Chrome::new(viewer, &format!("Conversion {id}"), "/conversions"),
        &format!("Conversion {id}"),
    );
    let fact = |label: &str, text: String| (label.to_string(), text);
    p.facts = vec![
        fact("Status", s(&v, "status")),
        fact("Status received", s(&v, "status_received")),
        fact("Event", s(&v, "event")),
        fact("Txid", s(&v, "txid")),
        fact("Payout", money(&s(&v, "payout"), &s(&v, "payout_currency"))),
        fact("Amount", money(&s(&v, "amount"), &s(&v, "currency"))),
        fact("Offer", s(&v, "offer_id")),
        fact("Affiliate", s(&v, "affiliate_id")),
        fact("Link", s(&v, "link_id")),
        fact("Click id", s(&v, "click_id")),
        fact("Clicked", time(&s(&v, "click_time"))),
        fact("Converted", time(&s(&v, "conversion_time"))),
        fact("Delay", format!("{} s", s(&v, "delay_seconds"))),
        fact(
            "Sub ids",
            ["sub1", "sub2", "sub3", "sub4", "sub5"]
                .iter()
                .map(|k| s(&v, k))
                .filter(|x| !x.is_empty())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        fact("Source", s(&v, "source")),
        fact("Duplicates received", s(&v, "duplicates")),
    ];
    let mut status = StatusCode::OK;
    if viewer.is_admin() {
        let mut form = post_form(
            "status",
            "Change the status",
            &format!("/conversions/{id}/status"),
            "Change the status",
            &viewer.csrf,
            vec![
                Field::text("status", "New status").select(
                    clickledger_domain::Status::ALL
                        .iter()
                        .map(|st| (st.as_str().to_string(), st.as_str().to_string()))
                        .collect(),
                ),
                Field::text("reason", "Reason").help("Kept in the audit log with the change"),
            ],
        );
        match outcome {
            Outcome::Created(n) => p.notice = Some(n),
            Outcome::Refused(m, values) => {
                form.refused(&m, &values);
                status = StatusCode::UNPROCESSABLE_ENTITY;
            }
            Outcome::None => {}
        }
        p.forms.push(form);
    }
    html(status, p.render())
}

pub async fn change_status(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    Path(id): Path<String>,
    Posted(fields): Posted<Fields>,
) -> Response {
    let a = match checked(&viewer, &fields, "change conversions") {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let b = crate::status_change::StatusChange {
        status: field(&fields, "status").unwrap_or("").to_string(),
        reason: field(&fields, "reason").unwrap_or("").to_string(),
    };
    let outcome = match crate::status_change::change(&app, &a.0, &id, b).await {
        Ok(v) => Outcome::Created(format!("Status changed: {}", s(&v, "message"))),
        Err(e) => Outcome::Refused(e.message, fields.clone()),
    };
    conversion_page(&app, &viewer, &id, outcome).await
}

// -------------------------------------------------------------- deliveries

pub async fn deliveries(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
) -> Response {
    let get = query(&q);
    let state = get("state");
    let (mut filter, state) = choice_filter(
        "/deliveries",
        ("state", "State"),
        &["pending", "delivered", "failed", "suspended"],
        state,
    );
    if viewer.is_admin() {
        filter.fields.push(
            Field::text("affiliate", "Affiliate id")
                .optional()
                .value(get("affiliate")),
        );
    }
    let mut p = page(
        Chrome::new(&viewer, "Deliveries", "/deliveries"),
        "Outbound postbacks",
    );
    p.filter = Some(filter);
    let affiliate = get("affiliate");
    let param = [("state", &state), ("affiliate_id", &affiliate)]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let params = match parse_params(&param) {
        Ok(p) => p,
        Err(e) => return refusal(e),
    };
    let listed = match value(
        crate::reads::list_deliveries(State(app.clone()), viewer.caller(), Params(params)).await,
    ) {
        Ok(v) => v,
        Err(e) => return refusal(e),
    };
    let is_admin = viewer.is_admin();
    let rows = list(&listed)
        .iter()
        .map(|d| {
            let id = s(d, "id");
            vec![
                Cell::text(time(&s(d, "created_at"))),
                Cell::link(id.clone(), format!("/deliveries/{id}")),
                Cell::text(s(d, "affiliate_id")),
                Cell::link(
                    s(d, "conversion_id"),
                    format!("/conversions/{}", s(d, "conversion_id")),
                ),
                Cell::text(s(d, "state")),
                Cell::num(s(d, "attempts")),
                Cell::text(s(d, "last_error")),
                Cell {
                    text: s(d, "last_status"),
                    button: is_admin.then(|| Button {
                        action: format!("/deliveries/{id}/retry"),
                        label: format!("Retry {id}"),
                    }),
                    ..Default::default()
                },
            ]
        })
        .collect();
    p.tables.push(table(
        "Outbound postbacks, newest first",
        &[
            "Created",
            "Id",
            "Affiliate",
            "Conversion",
            "State",
            "Attempts",
            "Last error",
            "Last status",
        ],
        rows,
        "No outbound postbacks match.",
    ));
    if is_admin {
        let dest = value(
            crate::reads::list_destinations(
                State(app.clone()),
                crate::auth::Admin(viewer.key.clone()),
            )
            .await,
        )
        .unwrap_or_default();
        let rows = list(&dest)
            .iter()
            .map(|d| {
                let aff = s(d, "affiliate_id");
                // healthy sends; failing waits for its probe; disabled
                // waits for a person, who re-enables it here
                let state = s(d, "state");
                let disabled = state == "disabled";
                vec![
                    Cell::text(aff.clone()),
                    Cell::num(s(d, "consecutive_failures")),
                    Cell {
                        text: state.clone(),
                        class: match state.as_str() {
                            "healthy" => "active",
                            _ => "paused",
                        },
                        button: disabled.then(|| Button {
                            action: format!("/destinations/{aff}/resume"),
                            label: format!("Re-enable {aff}"),
                        }),
                        ..Default::default()
                    },
                    Cell::text(s(d, "failing_since")),
                    Cell::text(s(d, "next_probe_at")),
                    Cell::text(s(d, "reason")),
                ]
            })
            .collect();
        p.tables.push(table(
            "Destinations' health",
            &[
                "Affiliate",
                "Failures in a row",
                "State",
                "Failing since",
                "Next probe",
                "Reason",
            ],
            rows,
            "No destination has been called yet.",
        ));
    }
    html(StatusCode::OK, p.render())
}

pub async fn retry(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    Path(id): Path<String>,
    Posted(fields): Posted<Fields>,
) -> Response {
    let a = match checked(&viewer, &fields, "retry deliveries") {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    match crate::reads::retry_delivery(State(app), a, crate::api::Path(id)).await {
        Ok(_) => Redirect::to("/deliveries").into_response(),
        Err(e) => refusal(e),
    }
}

pub async fn resume(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    Path(id): Path<String>,
    Posted(fields): Posted<Fields>,
) -> Response {
    let a = match checked(&viewer, &fields, "resume deliveries") {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    match crate::reads::resume_destination(State(app), a, crate::api::Path(id)).await {
        Ok(_) => Redirect::to("/deliveries").into_response(),
        Err(e) => refusal(e),
    }
}

// --------------------------------------------------------------- audit log

pub async fn audit(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
) -> Response {
    let a = match admin(&viewer, "read the audit log") {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let get = query(&q);
    let (action, entity) = (get("action"), get("entity_id"));
    let mut filter = filter_form(
        "/audit",
        vec![
            Field::text("action", "Action")
                .optional()
                .value(action.clone())
                .help("e.g. create, update, login_failed"),
            Field::text("entity_id", "Record id")
                .optional()
                .value(entity.clone()),
        ],
    );
    let given = {
        let mut pairs = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [("action", &action), ("entity_id", &entity)] {
            if !v.is_empty() {
                pairs.append_pair(k, v);
            }
        }
        pairs.finish()
    };
    let listed = match parse_params(&given) {
        Ok(params) => value(crate::reads::list_audit(State(app.clone()), a, Params(params)).await),
        Err(e) => Err(e),
    };
    let listed = listed.unwrap_or_else(|e| {
        filter.refused(&e.message, &[]);
        json!({"items": []})
    });
    let rows = list(&listed)
        .iter()
        .map(|e| {
            let detail = match (&e["before"], &e["after"]) {
                (Value::Null, Value::Null) => String::new(),
                (Value::Null, after) => after.to_string(),
                (before, after) => format!("{before} → {after}"),
            };
            vec![
                Cell::text(time(&s(e, "time"))),
                Cell::text(s(e, "key_id")),
                Cell::text(s(e, "action")),
                Cell::text(format!("{} {}", s(e, "entity_kind"), s(e, "entity_id"))),
                Cell::text(detail.chars().take(300).collect::<String>()),
            ]
        })
        .collect();
    let mut p = page(Chrome::new(&viewer, "Audit log", "/audit"), "Audit log");
    p.filter = Some(filter);
    p.tables.push(table(
        "Every change and login, newest first",
        &["Time", "Who", "Action", "Record", "What"],
        rows,
        "Nothing matches.",
    ));
    html(StatusCode::OK, p.render())
}

// ------------------------------------------------------------------ ledger

pub async fn finance(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
) -> Response {
    finance_page(&app, &viewer, query(&q)("affiliate"), Outcome::None).await
}

async fn finance_page(
    app: &Arc<AppState>,
    viewer: &Viewer,
    affiliate: String,
    outcome: Outcome,
) -> Response {
    let is_admin = viewer.is_admin();
    // an affiliate sees its own ledger; an advertiser has none
    let affiliate = match (viewer.key.role, &viewer.key.partner_id) {
        (Role::Affiliate, Some(me)) => me.clone(),
        (Role::Advertiser, _) => {
            return refusal(viewer.caller().forbid("read affiliates' ledgers"))
        }
        _ => affiliate,
    };
    let mut p = page(Chrome::new(viewer, "Finance", "/finance"), "Finance");
    if is_admin {
        let affiliates = api_list(app, viewer, crate::admin::list_affiliates)
            .await
            .unwrap_or_default();
        p.filter = Some(filter_form(
            "/finance",
            vec![Field::text("affiliate", "Affiliate")
                .value(affiliate.clone())
                .select(super::pages::options(list(&affiliates)))],
        ));
    }
    if affiliate.is_empty() {
        return html(StatusCode::OK, p.render());
    }
    let params = match parse_params("") {
        Ok(p) => p,
        Err(e) => return refusal(e),
    };
    let ledger = match crate::money::ledger(
        State(app.clone()),
        viewer.caller(),
        crate::api::Path(affiliate.clone()),
        Params(params),
    )
    .await
    {
        Ok(resp) => match to_bytes(resp.into_body(), 64 << 20).await {
            Ok(b) => serde_json::from_slice::<Value>(&b).unwrap_or_default(),
            Err(e) => return refusal(ApiError::validation(e.to_string())),
        },
        Err(e) => return refusal(e),
    };
    let base = app.base_currency.code().to_string();
    p.facts.push(("Affiliate".into(), affiliate.clone()));
    p.links.push((
        format!("/finance/{affiliate}/ledger.csv"),
        "Download the ledger as CSV".into(),
    ));
    p.facts
        .push(("Balance".into(), money(&s(&ledger, "balance"), &base)));
    if let Some(per) = ledger["balances"].as_object() {
        for (cur, amount) in per {
            let amount = amount
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| s(amount, "available"));
            p.facts
                .push((format!("Balance in {cur}"), money(&amount, cur)));
        }
    }
    let rows = ledger["entries"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .rev()
        .map(|e| {
            vec![
                Cell::text(time(&s(e, "time"))),
                Cell::text(s(e, "kind")),
                Cell::num(money(&s(e, "amount"), &s(e, "currency"))),
                Cell::text(s(e, "conversion_id")),
                Cell::text(s(e, "reason")),
            ]
        })
        .collect();
    p.tables.push(table(
        "Ledger, newest first",
        &["Time", "Kind", "Amount", "Conversion", "Reason"],
        rows,
        "No entries yet.",
    ));
    if is_admin {
        let mut form = post_form(
            "entry",
            "Add a payout or an adjustment",
            &format!("/finance/{affiliate}"),
            "Add the entry",
            &viewer.csrf,
            vec![
                Field::text("kind", "Kind").select(vec![
                    ("payout".into(), "Payout (money paid out)".into()),
                    ("adjustment".into(), "Adjustment (either sign)".into()),
                ]),
                Field::text("amount", "Amount").help("e.g. 25.00, or -3.10 for an adjustment"),
                Field::text("currency", "Currency")
                    .optional()
                    .help("The base currency when empty"),
                Field::text("reason", "Reason")
                    .optional()
                    .help("Required for an adjustment"),
            ],
        );
        match outcome {
            Outcome::Created(n) => p.notice = Some(n),
            Outcome::Refused(m, values) => form.refused(&m, &values),
            Outcome::None => {}
        }
        p.forms.push(form);
    }
    let status = if p
        .forms
        .iter()
        .any(|f| f.fields.iter().any(|f| f.error.is_some()) || f.error.is_some())
    {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    html(status, p.render())
}

pub async fn add_entry(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    Path(id): Path<String>,
    Posted(fields): Posted<Fields>,
) -> Response {
    let a = match checked(&viewer, &fields, "add ledger entries") {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let f = |k: &str| field(&fields, k).unwrap_or("").trim().to_string();
    let mut b = json!({"kind": f("kind"), "amount": f("amount")});
    for k in ["currency", "reason"] {
        if !f(k).is_empty() {
            b[k] = json!(f(k));
        }
    }
    let r = match body(b) {
        Ok(b) => value(
            crate::money::add_entry(State(app.clone()), a, crate::api::Path(id.clone()), b).await,
        ),
        Err(e) => Err(e),
    };
    let outcome = match r {
        Ok(v) => Outcome::Created(format!(
            "{} recorded: {} in the ledger.",
            if s(&v, "kind") == "payout" {
                "Payout"
            } else {
                "Adjustment"
            },
            money(&s(&v, "amount"), &s(&v, "currency"))
        )),
        Err(e) => Outcome::Refused(e.message, fields.clone()),
    };
    finance_page(&app, &viewer, id, outcome).await
}

/// The ledger as the API writes it in CSV.
pub async fn ledger_csv(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Response {
    let params = match parse_params("format=csv") {
        Ok(p) => p,
        Err(e) => return refusal(e),
    };
    match crate::money::ledger(
        State(app),
        viewer.caller(),
        crate::api::Path(id.clone()),
        Params(params),
    )
    .await
    {
        Ok(mut r) => {
            if let Ok(v) = format!("attachment; filename=\"ledger-{id}.csv\"").parse() {
                r.headers_mut()
                    .insert(axum::http::header::CONTENT_DISPOSITION, v);
            }
            r
        }
        Err(e) => refusal(e),
    }
}

/// One outbound postback with every attempt.
pub async fn delivery(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Response {
    let d = match fetch(&app, &viewer, &id, crate::reads::get_delivery).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let title = format!("Delivery {id}");
    let mut p = page(Chrome::new(&viewer, &title, "/deliveries"), &title);
    p.facts = vec![
        ("State".into(), s(&d, "state")),
        ("Affiliate".into(), s(&d, "affiliate_id")),
        ("Conversion".into(), s(&d, "conversion_id")),
        ("Method".into(), s(&d, "method")),
        ("URL".into(), s(&d, "url")),
        ("Attempts".into(), s(&d, "attempts")),
        ("Next attempt".into(), time(&s(&d, "next_attempt_at"))),
    ];
    let rows = d["attempts_log"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .map(|a| {
            vec![
                Cell::text(time(&s(a, "time"))),
                Cell::text(s(a, "status")),
                Cell::num(format!("{} ms", s(a, "latency_ms"))),
                Cell::text(s(a, "error")),
                Cell::text(s(a, "response")),
            ]
        })
        .collect();
    p.tables.push(table(
        "Every attempt",
        &[
            "Time",
            "Status",
            "Time taken",
            "Error",
            "Answer (first bytes)",
        ],
        rows,
        "Not attempted yet.",
    ));
    if viewer.is_admin() {
        p.tables.push(table(
            "Send it again",
            &["Retry"],
            vec![vec![Cell {
                text: String::new(),
                button: Some(Button {
                    action: format!("/deliveries/{id}/retry"),
                    label: format!("Retry {id}"),
                }),
                ..Default::default()
            }]],
            "",
        ));
    }
    html(StatusCode::OK, p.render())
}
