//! The alerts page: what is open or was resolved (partners see theirs),
//! and, for admins, the alert hooks with a form to add one (its signing
//! secret shown once) and a button to remove one. Like every page it calls
//! the API handlers with the session's caller.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form as Posted;
use clickledger_domain::alerts::AlertKind;
use serde_json::{json, Value};

use super::format::time;
use super::html;
use super::login::{field, Fields};
use super::operations::{page, query, table};
use super::pages::{
    admin, apply, body, checked, choice_field, filled, filter_form, list, post_form, refusal,
    refused_or, s, value, Outcome,
};
use super::session::Viewer;
use super::view::{Button, Cell, Chrome, Field};
use crate::api::{parse_params, Params};
use crate::AppState;

pub async fn page_get(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    RawQuery(q): RawQuery,
) -> Response {
    alerts_page(&app, &viewer, &q, Outcome::None).await
}

async fn alerts_page(
    app: &Arc<AppState>,
    viewer: &Viewer,
    q: &Option<String>,
    outcome: Outcome,
) -> Response {
    let get = query(q);
    let kinds: Vec<&str> = AlertKind::ALL.iter().map(|k| k.as_str()).collect();
    let mut p = page(Chrome::new(viewer, "Alerts", "/alerts"), "Alerts");
    let filter = filter_form(
        "/alerts",
        vec![
            choice_field(("state", "State"), &["open", "resolved"], get("state")),
            choice_field(("kind", "Kind"), &kinds, get("kind")),
        ],
    );
    let params = match parse_params(&filled(&filter)) {
        Ok(p) => p,
        Err(e) => return refusal(e),
    };
    p.filter = Some(filter);
    let listed = match value(
        crate::alerts::hooks::list_alerts(State(app.clone()), viewer.caller(), Params(params))
            .await,
    ) {
        Ok(v) => v,
        Err(e) => return refusal(e),
    };
    let rows = list(&listed)
        .iter()
        .map(|a| {
            let state = s(a, "state");
            vec![
                Cell::text(time(&s(a, "opened_at"))),
                Cell::text(s(a, "kind")),
                Cell::text(s(a, "subject")),
                Cell {
                    class: if state == "open" { "paused" } else { "active" },
                    text: state,
                    ..Default::default()
                },
                Cell::text(s(a, "summary")),
                Cell::text(time(&s(a, "updated_at"))),
                Cell::text(time(&s(a, "resolved_at"))),
            ]
        })
        .collect();
    p.tables.push(table(
        "Alerts, newest first",
        &[
            "Opened", "Kind", "Subject", "State", "Summary", "Updated", "Resolved",
        ],
        rows,
        "No alerts match.",
    ));
    let mut status = StatusCode::OK;
    if let Ok(a) = admin(viewer, "list alert hooks") {
        let hooks = value(crate::alerts::hooks::list_hooks(State(app.clone()), a).await)
            .unwrap_or_default();
        let rows = list(&hooks)
            .iter()
            .map(|h| {
                let id = s(h, "id");
                let kinds: Vec<String> = h["kinds"]
                    .as_array()
                    .map(|k| {
                        k.iter()
                            .filter_map(Value::as_str)
                            .map(String::from)
                            .collect()
                    })
                    .unwrap_or_default();
                vec![
                    Cell::text(id.clone()),
                    Cell::text(s(h, "url")),
                    Cell::text(if kinds.is_empty() {
                        "all".to_string()
                    } else {
                        kinds.join(", ")
                    }),
                    Cell::text(s(h, "format")),
                    Cell {
                        text: time(&s(h, "created_at")),
                        button: Some(Button {
                            action: format!("/alerts/hooks/{id}/delete"),
                            label: format!("Remove {id}"),
                        }),
                        ..Default::default()
                    },
                ]
            })
            .collect();
        p.tables.push(table(
            "Alert hooks",
            &["Id", "URL", "Kinds", "Format", "Created"],
            rows,
            "No alert hooks yet.",
        ));
        let mut form = Some(post_form(
            "hook",
            "Add an alert hook",
            "/alerts/hooks",
            "Add the hook",
            &viewer.csrf,
            vec![
                Field::text("url", "URL").kind("url"),
                Field::text("kinds", "Kinds").optional().help(
                    "Comma-separated alert kinds (those of the Kind filter) and digest for the daily digest; empty: all",
                ),
                Field::text("format", "Format").select(vec![
                    ("standard".into(), "Standard Webhooks JSON".into()),
                    ("slack".into(), "Slack-compatible text".into()),
                ]),
            ],
        ));
        let (notice, answered) = apply(outcome, &mut form);
        p.notice = notice;
        status = answered;
        p.forms.extend(form);
    }
    html(status, p.render())
}

pub async fn add_hook(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    Posted(fields): Posted<Fields>,
) -> Response {
    let a = match checked(&viewer, &fields, "add alert hooks") {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let f = |k: &str| field(&fields, k).unwrap_or("").trim().to_string();
    let kinds: Vec<String> = f("kinds")
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(String::from)
        .collect();
    let r = match body(json!({"url": f("url"), "kinds": kinds, "format": f("format")})) {
        Ok(b) => value(crate::alerts::hooks::create_hook(State(app.clone()), a, b).await),
        Err(e) => Err(e),
    };
    let outcome = refused_or(r, fields.clone(), |v| {
        format!(
            "Alert hook {} added. Its signing secret, shown only now: {}",
            s(v, "id"),
            s(v, "secret")
        )
    });
    alerts_page(&app, &viewer, &None, outcome).await
}

pub async fn remove_hook(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    Path(id): Path<String>,
    Posted(fields): Posted<Fields>,
) -> Response {
    let a = match checked(&viewer, &fields, "remove alert hooks") {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    match crate::alerts::hooks::delete_hook(State(app), a, crate::api::Path(id)).await {
        Ok(_) => Redirect::to("/alerts").into_response(),
        Err(e) => refusal(e),
    }
}
