//! Wiring an offer up: its page (events, links, the setup document), the
//! integration check in the browser (the steps of `clickledger check`,
//! each ✓ or ✗, through the same test-click and test-postback handlers),
//! and the link builder for affiliates.

use std::sync::Arc;

use askama::Template;
use axum::body::to_bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form as Posted;
use clickledger_domain::ClickId;
use clickledger_store::{ConversionFilter, PostbackFilter};
use serde_json::{json, Value};

use super::format::time;
use super::html;
use super::login::Fields;
use super::operations::{page, query, table};
use super::pages::{api_list, checked, fetch, list, post_form, refusal, s, value};
use super::session::Viewer;
use super::view::{Button, Cell, Chrome, DetailPage, Field, Form};
use crate::api::{JsonBody, Params};
use crate::AppState;

/// The offer as the viewer's key sees it, with its page around it.
async fn offer_page(
    app: &Arc<AppState>,
    viewer: &Viewer,
    id: &str,
) -> Result<(Value, DetailPage), Response> {
    let offer = fetch(app, viewer, id, crate::admin::get_offer).await?;
    let title = format!("Offer {}", s(&offer, "name"));
    let mut p = page(Chrome::new(viewer, &title, "/offers"), &title);
    p.facts = vec![
        ("Id".into(), s(&offer, "id")),
        ("Advertiser".into(), s(&offer, "advertiser_id")),
        ("Status".into(), s(&offer, "status")),
        ("Currency".into(), s(&offer, "currency")),
        ("Destination".into(), s(&offer, "destination_url")),
        ("Fallback".into(), s(&offer, "fallback_url")),
        (
            "Attribution window".into(),
            format!("{} days", s(&offer, "attribution_window_days")),
        ),
    ];
    let events = offer["events"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .map(|e| {
            let rule = &e["payout"];
            let payout = match s(rule, "type").as_str() {
                "fixed" => format!("{} {}", s(rule, "amount"), s(&offer, "currency")),
                "revshare" => format!("{} % of the amount", s(rule, "percent")),
                other => other.to_string(),
            };
            vec![
                Cell::text(s(e, "name")),
                Cell::text(payout),
                Cell::text(s(e, "default_status")),
                Cell::text(if e["repeatable"] == json!(true) {
                    "yes"
                } else {
                    "no"
                }),
            ]
        })
        .collect();
    p.tables.push(table(
        "Events",
        &["Event", "Payout", "Default status", "Repeatable"],
        events,
        "No events.",
    ));
    let links = api_list(app, viewer, crate::admin::list_links)
        .await
        .unwrap_or_default();
    let rows = list(&links)
        .iter()
        .filter(|l| s(l, "offer_id") == id)
        .map(|l| {
            vec![
                Cell::link(s(l, "id"), format!("/links/{}", s(l, "id"))),
                Cell::text(s(l, "affiliate_id")),
                Cell::copy(s(l, "url")),
            ]
        })
        .collect();
    p.tables.push(table(
        "Tracking links of this offer",
        &["Link", "Affiliate", "URL"],
        rows,
        "No links yet.",
    ));
    if viewer.key.role != clickledger_store::Role::Affiliate {
        p.links.push((
            format!("/offers/{id}/setup"),
            "The setup document for the advertiser's developer".into(),
        ));
    }
    if viewer.is_admin() {
        p.forms.push(post_form(
            "edit",
            "Change the offer",
            &format!("/offers/{id}"),
            "Save the changes",
            &viewer.csrf,
            vec![
                Field::text("name", "Name").value(s(&offer, "name")),
                Field::text("destination_url", "Destination URL")
                    .kind("url")
                    .value(s(&offer, "destination_url")),
                Field::text("fallback_url", "Fallback URL")
                    .kind("url")
                    .optional()
                    .value(s(&offer, "fallback_url"))
                    .help("Where a paused offer's visitors go; empty: they get 410"),
                Field::text("events", "Events (JSON)")
                    .kind("textarea")
                    .value(pretty(&offer["events"]))
                    .help("A list of {\"name\", \"payout\": {\"type\": \"fixed\", \"amount\": \"2.00\"} or {\"type\": \"revshare\", \"percent\": \"10\"}, optional \"default_status\", \"repeatable\", \"max_payout\"}, as in the API"),
                Field::text("caps", "Caps (JSON)")
                    .kind("textarea")
                    .optional()
                    .value(pretty(&offer["caps"]))
                    .help("A list of {\"period\": \"day\", \"week\", \"month\" or \"total\", \"metric\": \"conversions\" or \"payout\", \"limit\": \"100\", optional \"per_affiliate\"}; empty: no caps"),
            ],
        ));
        p.forms.push(Form {
            id: "check",
            title: "Integration check",
            action: format!("/offers/{id}/check"),
            method: "post",
            submit: "Run the integration check",
            fields: vec![Field::text("amount", "Amount of the test sale").value("10.00")],
            error: None,
            csrf: viewer.csrf.clone(),
            live: None,
        });
    }
    Ok((offer, p))
}

pub async fn offer(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Response {
    match offer_page(&app, &viewer, &id).await {
        Ok((_, p)) => html(StatusCode::OK, p.render()),
        Err(r) => r,
    }
}

/// The edit form: the API's PATCH; a refusal goes back next to its field.
pub async fn edit_offer(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    Path(id): Path<String>,
    Posted(fields): Posted<Fields>,
) -> Response {
    let admin = match checked(&viewer, &fields, "change offers") {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let f = |k: &str| {
        super::login::field(&fields, k)
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let mut b = json!({"name": f("name"), "destination_url": f("destination_url"), "fallback_url": f("fallback_url")});
    let r = match lists(&fields, &mut b).and_then(|()| patch(&b)) {
        Ok(b) => value(
            crate::admin::patch_offer(State(app.clone()), admin, crate::api::Path(id.clone()), b)
                .await,
        ),
        Err(e) => Err(e),
    };
    let (mut p, status) = match offer_page(&app, &viewer, &id).await {
        Ok((_, p)) => (p, StatusCode::OK),
        Err(r) => return r,
    };
    let status = match r {
        Ok(_) => {
            p.notice = Some("Saved.".into());
            status
        }
        Err(e) => {
            if let Some(form) = p.forms.iter_mut().find(|f| f.id == "edit") {
                form.refused(&e.message, &fields);
            }
            StatusCode::UNPROCESSABLE_ENTITY
        }
    };
    html(status, p.render())
}

/// A JSON value as the form's textarea shows it (`[]` for none).
fn pretty(v: &Value) -> String {
    match v {
        Value::Null => "[]".into(),
        v => serde_json::to_string_pretty(v).unwrap_or_default(),
    }
}

/// The form's `events` and `caps` (JSON text, when the form sent them)
/// into the patch; text that is not JSON is refused by its field's name.
fn lists(fields: &Fields, b: &mut Value) -> Result<(), crate::api::ApiError> {
    for name in ["events", "caps"] {
        let Some(text) = super::login::field(fields, name) else {
            continue;
        };
        let text = if text.trim().is_empty() { "[]" } else { text };
        let v: Value = serde_json::from_str(text).map_err(|e| {
            crate::api::ApiError::validation(format!("{name}: the JSON does not parse: {e}"))
        })?;
        b[name] = v;
    }
    Ok(())
}

/// The patch read as the API reads its body, so a refusal names the same
/// path (`events[0].payout.amount: …`), here without the `body: ` prefix.
fn patch(b: &Value) -> Result<JsonBody<crate::admin::OfferPatch>, crate::api::ApiError> {
    let bytes = serde_json::to_vec(b).unwrap_or_default();
    crate::api::parse_json_object(&bytes)
        .map(JsonBody)
        .map_err(|mut e| {
            if let Some(m) = e.message.strip_prefix("body: ") {
                e.message = m.to_string();
            }
            // the position is in the JSON built here, not in the textarea
            if let Some(at) = e.message.rfind(" at line ") {
                if e.message[at..].contains(" column ") {
                    e.message.truncate(at);
                }
            }
            e
        })
}

/// The setup document, as the API serves it in HTML.
pub async fn setup(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Response {
    let params = match crate::api::parse_params("format=html") {
        Ok(p) => p,
        Err(e) => return refusal(e),
    };
    match crate::qa::setup(
        State(app),
        viewer.caller(),
        crate::api::Path(id),
        Params(params),
    )
    .await
    {
        Ok(r) => r,
        Err(e) => refusal(e),
    }
}

/// The steps of `clickledger check`: a test click, its id in the
/// destination, a test postback through full validation, its log entry,
/// its conversion flagged test.
pub async fn check(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    Path(id): Path<String>,
    Posted(fields): Posted<Fields>,
) -> Response {
    let admin = match checked(&viewer, &fields, "run integration checks") {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let (offer, mut p) = match offer_page(&app, &viewer, &id).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let amount = super::login::field(&fields, "amount")
        .unwrap_or("10.00")
        .trim()
        .to_string();
    let mut steps: Vec<(bool, String, String)> = Vec::new();
    let mut step =
        |ok: bool, name: &str, detail: String| steps.push((ok, name.to_string(), detail));
    step(
        true,
        "offer",
        format!("{} ({})", s(&offer, "name"), s(&offer, "status")),
    );
    let event = offer["events"][0]["name"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let click = value(
        crate::qa::test_click(
            State(app.clone()),
            crate::auth::Admin(admin.0.clone()),
            crate::api::Path(id.clone()),
            None,
        )
        .await,
    );
    let click = match click {
        Ok(v) => {
            step(
                true,
                "test click",
                format!("click {} recorded", s(&v, "click_id")),
            );
            v
        }
        Err(e) => {
            step(false, "test click", e.message);
            p.steps = steps;
            return html(StatusCode::OK, p.render());
        }
    };
    let (click_id, location) = (s(&click, "click_id"), s(&click, "location"));
    if location.contains(&click_id) {
        step(true, "click id in destination", location.clone());
    } else {
        step(false, "click id in destination", format!("{location} does not carry the click id: add {{click_id}} to the offer's destination URL"));
    }
    let txid = format!("check-{}", &click_id[click_id.len().saturating_sub(8)..]);
    let body = json!({"click_id": click_id, "event": event, "txid": txid, "amount": amount});
    // the endpoint takes the fields as written (raw JSON)
    let body = serde_json::from_str(&body.to_string()).unwrap_or_default();
    let answer = crate::qa::test_postback(
        State(app.clone()),
        admin,
        crate::api::Path(id.clone()),
        JsonBody(body),
    )
    .await;
    let answer: Value = match to_bytes(answer.into_body(), 1 << 20).await {
        Ok(b) => serde_json::from_slice(&b).unwrap_or_default(),
        Err(_) => Value::Null,
    };
    let accepted = answer["result"] == "accepted";
    let detail = if accepted {
        format!(
            "accepted as {} (payout {} {})",
            s(&answer, "conversion_id"),
            s(&answer, "payout"),
            s(&answer, "currency")
        )
    } else {
        format!(
            "{} {}: {}",
            s(&answer, "result"),
            s(&answer, "error"),
            s(&answer, "message")
        )
    };
    step(accepted, "test postback", detail);
    let log = app
        .store
        .postback_log(&PostbackFilter {
            offer_id: Some(id.clone()),
            click_id: Some(click_id.clone()),
            limit: 5,
            ..Default::default()
        })
        .await
        .unwrap_or_default();
    match log.first() {
        Some(e) if e.result == "accepted" => step(
            true,
            "postback log",
            format!("entry {} says accepted", e.id),
        ),
        Some(e) => step(
            false,
            "postback log",
            format!(
                "entry says {} {}: {}",
                e.result,
                e.error.clone().unwrap_or_default(),
                e.message
            ),
        ),
        None => step(
            false,
            "postback log",
            "no entry for the test postback".into(),
        ),
    }
    let conversion = match ClickId::parse(&click_id) {
        Ok(cid) => app
            .store
            .conversions(&ConversionFilter {
                click_id: Some(cid),
                limit: 1,
                ..Default::default()
            })
            .await
            .unwrap_or_default()
            .pop(),
        Err(_) => None,
    };
    match conversion {
        Some(c) if c.test => step(
            true,
            "conversion",
            format!(
                "{} {} {}, flagged test",
                c.event,
                c.status.as_str(),
                c.payout
            ),
        ),
        Some(_) => step(false, "conversion", "recorded but not flagged test".into()),
        None => step(
            false,
            "conversion",
            "no conversion recorded for the test click".into(),
        ),
    }
    p.steps = steps;
    html(StatusCode::OK, p.render())
}

// ------------------------------------------------------------ link builder

const BUILDER_FIELDS: &[(&str, &str)] = &[
    ("sub1", "Sub id 1"),
    ("sub2", "Sub id 2"),
    ("sub3", "Sub id 3"),
    ("sub4", "Sub id 4"),
    ("sub5", "Sub id 5"),
    ("source", "Source"),
];

/// A link's page: where it goes, and its URL built with sub ids and a
/// source, with a copy button (refreshed as one types, with htmx).
pub async fn link(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let l = match fetch(&app, &viewer, &id, crate::admin::get_link).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let get = query(&q);
    let mut url = url::Url::parse(&s(&l, "url")).ok();
    if let Some(u) = url.as_mut() {
        let mut pairs = u.query_pairs_mut();
        for (name, _) in BUILDER_FIELDS {
            let v = get(name);
            if !v.is_empty() {
                pairs.append_pair(name, &v);
            }
        }
    }
    let built = url.map(|u| u.to_string().trim_end_matches('?').to_string());
    let title = format!("Link {id}");
    let mut p = page(Chrome::new(&viewer, &title, "/links"), &title);
    p.facts = vec![
        ("Offer".into(), s(&l, "offer_id")),
        ("Affiliate".into(), s(&l, "affiliate_id")),
        ("Status".into(), s(&l, "status")),
        ("Created".into(), time(&s(&l, "created_at"))),
    ];
    p.filter = Some(Form {
        id: "builder",
        title: "Link builder",
        action: format!("/links/{id}"),
        method: "get",
        submit: "Build the link",
        fields: BUILDER_FIELDS
            .iter()
            .map(|(name, label)| Field::text(name, label).optional().value(get(name)))
            .collect(),
        error: None,
        csrf: String::new(),
        live: Some("#built"),
    });
    p.built = built;
    if viewer.is_admin() {
        let status = s(&l, "status");
        let (label, to) = if status == "paused" {
            ("Resume", "resume")
        } else {
            ("Pause", "pause")
        };
        p.tables.push(table(
            "State",
            &["Status"],
            vec![vec![Cell {
                text: status,
                button: Some(Button {
                    action: format!("/links/{id}/status?to={to}"),
                    label: format!("{label} {id}"),
                }),
                ..Default::default()
            }]],
            "",
        ));
    }
    html(StatusCode::OK, p.render())
}
