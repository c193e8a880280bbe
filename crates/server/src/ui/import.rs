//! Importing conversions from a CSV (admins and advertisers): the
//! conversions page's form, a file or pasted text, through the API's own
//! `POST /api/v1/conversions/import`; the page lists its result per row.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use clickledger_store::Role;

use super::html;
use super::multipart::Submitted;
use super::operations::{page, table};
use super::pages::{post_form, refusal};
use super::partners::csv_of;
use super::session::Viewer;
use super::view::{Cell, Chrome, Field, Form};
use crate::AppState;

/// The import form, for those who may import (not affiliates).
pub fn form(viewer: &Viewer) -> Option<Form> {
    (viewer.key.role != Role::Affiliate).then(|| {
        post_form(
            "import",
            "Import conversions from a CSV",
            "/conversions/import",
            "Import",
            &viewer.csrf,
            vec![
                Field::text("csv_file", "CSV file")
                    .kind("file")
                    .optional()
                    .help("Or paste it below"),
                Field::text("csv", "CSV")
                    .kind("textarea")
                    .optional()
                    .help("A header line with click_id, event, txid, amount, currency and status (as the postback's fields), then one line per conversion"),
            ],
        )
    })
}

pub async fn submit(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    Submitted(fields): Submitted,
) -> Response {
    if !viewer.csrf_ok(super::login::field(&fields, "csrf")) {
        return super::login::csrf_refused();
    }
    let Some(mut form) = form(&viewer) else {
        return refusal(viewer.caller().forbid("upload conversions"));
    };
    let answer = crate::money::import_conversions(
        State(app.clone()),
        viewer.caller(),
        Bytes::from(csv_of(&fields)),
    )
    .await;
    let mut p = page(
        Chrome::new(&viewer, "Conversion import", "/conversions"),
        "Conversion import",
    );
    let mut status = StatusCode::OK;
    match answer {
        Ok(resp) => {
            let body = axum::body::to_bytes(resp.into_body(), crate::api::BODY_LIMIT * 4)
                .await
                .unwrap_or_default();
            let mut lines = crate::money::parse_csv(&String::from_utf8_lossy(&body)).into_iter();
            let header = lines.next().unwrap_or_default();
            let rows: Vec<BTreeMap<String, String>> = lines
                .map(|r| header.iter().cloned().zip(r).collect())
                .collect();
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            for r in &rows {
                *counts.entry(col(r, "result")).or_default() += 1;
            }
            let summary: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
            p.notice = Some(format!(
                "{} read: {}.",
                clickledger_domain::wording::count(rows.len() as u64, "row"),
                if summary.is_empty() {
                    "none".to_string()
                } else {
                    summary.join(", ")
                }
            ));
            let cells = rows
                .iter()
                .map(|r| {
                    let conv = col(r, "conversion_id");
                    vec![
                        Cell::num(col(r, "row")),
                        Cell::text(col(r, "click_id")),
                        Cell::text(col(r, "txid")),
                        Cell::text(col(r, "result")),
                        Cell::text(col(r, "error")),
                        Cell::text(col(r, "message")),
                        if conv.is_empty() {
                            Cell::text("")
                        } else {
                            Cell::link(conv.clone(), format!("/conversions/{conv}"))
                        },
                        Cell::text(col(r, "hint")),
                    ]
                })
                .collect();
            p.tables.push(table(
                "The import, row by row",
                &[
                    "Row",
                    "Click id",
                    "Txid",
                    "Result",
                    "Error",
                    "Message",
                    "Conversion",
                    "Hint",
                ],
                cells,
                "The CSV had no rows.",
            ));
        }
        Err(e) if e.code.http_status() == 403 => return refusal(e),
        Err(e) => {
            // the CSV's refusals name its body: shown against the pasted text
            let m = e.message.strip_prefix("body: ").unwrap_or(&e.message);
            form.refused(&format!("csv: {m}"), &fields);
            status = StatusCode::UNPROCESSABLE_ENTITY;
        }
    }
    p.links
        .push(("/conversions".into(), "Back to the conversions".into()));
    p.forms.push(form);
    html(status, p.render())
}

fn col(r: &BTreeMap<String, String>, k: &str) -> String {
    r.get(k).cloned().unwrap_or_default()
}
