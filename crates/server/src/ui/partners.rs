//! An advertiser's and an affiliate's own pages: their settings with an
//! edit form (admins; the API's PATCH, its refusals next to the field),
//! their postback template versions, and for an advertiser the
//! reconciliation of its CSV, for an affiliate its outbound postbacks.

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form as Posted;
use serde_json::{json, Map, Value};

use super::format::time;
use super::html;
use super::login::{field, Fields};
use super::multipart::Submitted;
use super::operations::{page, table};
use super::pages::{body, checked, fetch, list, post_form, s, today_utc, value, Outcome};
use super::session::Viewer;
use super::view::{Cell, Chrome, DetailPage, Field, Form};
use crate::api::{parse_params, ApiError, Params};
use crate::AppState;

/// `a, b c` -> `["a", "b", "c"]`.
fn words(v: &str) -> Vec<String> {
    v.split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// `their=click_id, tid=txid` -> an object (a pair without `=` is kept
/// as a name with an empty value, which the API then refuses by name).
fn pairs(v: &str) -> Map<String, Value> {
    v.split([',', '\n'])
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(|w| match w.split_once('=') {
            Some((k, v)) => (k.trim().to_string(), json!(v.trim())),
            None => (w.to_string(), json!("")),
        })
        .collect()
}

fn joined(v: &Value) -> String {
    match v {
        Value::Array(a) => a
            .iter()
            .map(|x| s(&json!({ "x": x }), "x"))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
            .collect::<Vec<_>>()
            .join(", "),
        _ => String::new(),
    }
}

fn yes_no(v: &Value) -> String {
    if *v == json!(true) { "yes" } else { "no" }.to_string()
}

/// A template version history as a table, each version with what it
/// changed from the one before (`path: from → to`).
async fn versions(
    app: &Arc<AppState>,
    viewer: &Viewer,
    kind: &'static str,
    id: &str,
) -> super::view::Table {
    let v = value(crate::reads::versions(app.clone(), viewer.caller(), kind, id.to_string()).await)
        .unwrap_or_default();
    let all = list(&v);
    let rows = all
        .iter()
        .enumerate()
        .rev()
        .map(|(i, t)| {
            let before = if i == 0 {
                json!({})
            } else {
                all[i - 1]["template"].clone()
            };
            let changed: Vec<String> = crate::reads::diff_values(&before, &t["template"])
                .iter()
                .map(|d| {
                    format!(
                        "{}: {} → {}",
                        s(d, "path"),
                        short(&d["from"]),
                        short(&d["to"])
                    )
                })
                .collect();
            vec![
                Cell::num(s(t, "version")),
                Cell::text(time(&s(t, "time"))),
                Cell::text(s(t, "key_id")),
                Cell::text(if changed.is_empty() {
                    "nothing".to_string()
                } else {
                    changed.join("; ")
                }),
            ]
        })
        .collect();
    table(
        "Postback template versions, newest first",
        &["Version", "Time", "By", "Changed"],
        rows,
        "No versions yet.",
    )
}

fn short(v: &Value) -> String {
    match v {
        Value::Null => "(none)".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A partner's page: titled with its name; for the partner itself, its
/// Settings item is the current one.
fn partner_page(viewer: &Viewer, kind: &str, label: &str, id: &str, record: &Value) -> DetailPage {
    let title = format!("{label} {}", s(record, "name"));
    let current = if viewer.is_admin() {
        format!("/{kind}")
    } else {
        format!("/{kind}/{id}")
    };
    page(Chrome::new(viewer, &title, &current), &title)
}

fn apply(p: &mut DetailPage, form: &mut Form, outcome: Outcome) -> StatusCode {
    match outcome {
        Outcome::Created(n) => {
            p.notice = Some(n);
            StatusCode::OK
        }
        Outcome::Refused(m, values) => {
            form.refused(&m, &values);
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Outcome::None => StatusCode::OK,
    }
}

// ------------------------------------------------------------- advertiser

pub async fn advertiser(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Response {
    advertiser_page(&app, &viewer, &id, Outcome::None, None).await
}

async fn advertiser_page(
    app: &Arc<AppState>,
    viewer: &Viewer,
    id: &str,
    outcome: Outcome,
    reconciled: Option<Result<Value, (String, Fields)>>,
) -> Response {
    let a = match fetch(app, viewer, id, crate::admin::get_advertiser).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut p = partner_page(viewer, "advertisers", "Advertiser", id, &a);
    p.facts = vec![
        ("Id".into(), s(&a, "id")),
        ("Status".into(), s(&a, "status")),
        ("Signature required".into(), yes_no(&a["require_signature"])),
        ("HTTPS required".into(), yes_no(&a["require_https"])),
        (
            "Allowed source addresses".into(),
            match joined(&a["ip_allowlist"]) {
                x if x.is_empty() => "any".into(),
                x => x,
            },
        ),
        ("Own field names".into(), joined(&a["alias_map"])),
        ("Own status words".into(), joined(&a["status_map"])),
    ];
    let mut status = StatusCode::OK;
    if viewer.is_admin() {
        let mut form = post_form(
            "edit",
            "Change the advertiser",
            &format!("/advertisers/{id}"),
            "Save the changes",
            &viewer.csrf,
            vec![
                Field::text("name", "Name").value(s(&a, "name")),
                Field::text("require_signature", "Signed postbacks")
                    .value(yes_no(&a["require_signature"]))
                    .select(vec![
                        ("no".into(), "accepted unsigned".into()),
                        ("yes".into(), "required".into()),
                    ]),
                Field::text("ip_allowlist", "Allowed source addresses")
                    .optional()
                    .value(joined(&a["ip_allowlist"]))
                    .help("CIDRs separated by commas; empty: any"),
                Field::text("alias_map", "Own field names")
                    .optional()
                    .value(joined(&a["alias_map"]))
                    .help("their_name=field, e.g. tid=txid, clickref=click_id"),
                Field::text("status_map", "Own status words")
                    .optional()
                    .value(joined(&a["status_map"]))
                    .help("their_word=status, e.g. 1=approved, 2=rejected"),
            ],
        );
        status = apply(&mut p, &mut form, outcome);
        p.forms.push(form);
    }
    let today = today_utc();
    let mut rec = post_form(
        "reconcile",
        "Reconcile the advertiser's report",
        &format!("/advertisers/{id}/reconcile"),
        "Compare",
        &viewer.csrf,
        vec![
            Field::text("from", "From")
                .kind("date")
                .value(today.first_of_month().to_string()),
            Field::text("to", "To (not included)")
                .kind("date")
                .value(today.tomorrow().unwrap_or(today).to_string()),
            Field::text("csv_file", "The advertiser's CSV file")
                .kind("file")
                .optional()
                .help("Or paste it below"),
            Field::text("csv", "The advertiser's CSV")
                .kind("textarea")
                .optional()
                .help("A header line with txid, amount and status, then one line per conversion"),
        ],
    );
    match reconciled {
        Some(Ok(r)) => {
            let missing_here = list(&json!({"items": r["missing_here"]}))
                .iter()
                .map(|m| {
                    vec![
                        Cell::text(s(m, "txid")),
                        Cell::text(s(m, "amount")),
                        Cell::text(s(m, "status")),
                    ]
                })
                .collect();
            p.tables.push(table(
                "In their report, not recorded here",
                &["Txid", "Amount", "Status"],
                missing_here,
                "None: every line of their report is recorded.",
            ));
            let missing_there = list(&json!({"items": r["missing_there"]}))
                .iter()
                .map(|m| {
                    vec![
                        Cell::text(s(m, "txid")),
                        Cell::text(s(m, "conversion_id")),
                        Cell::text(s(m, "amount")),
                        Cell::text(s(m, "status")),
                    ]
                })
                .collect();
            p.tables.push(table(
                "Recorded here, not in their report",
                &["Txid", "Conversion", "Amount", "Status"],
                missing_there,
                "None: every recorded conversion is in their report.",
            ));
            let diffs = list(&json!({"items": r["differences"]}))
                .iter()
                .flat_map(|d| {
                    list(&json!({"items": d["differences"]}))
                        .iter()
                        .map(|x| {
                            vec![
                                Cell::text(s(d, "txid")),
                                Cell::text(s(x, "field")),
                                Cell::text(s(x, "theirs")),
                                Cell::text(s(x, "ours")),
                            ]
                        })
                        .collect::<Vec<_>>()
                })
                .collect();
            p.tables.push(table(
                "Recorded differently",
                &["Txid", "Field", "Theirs", "Ours"],
                diffs,
                "None: amounts and statuses agree.",
            ));
        }
        Some(Err((m, values))) => {
            rec.refused(&m, &values);
            status = StatusCode::UNPROCESSABLE_ENTITY;
        }
        None => {}
    }
    if viewer.key.role != clickledger_store::Role::Affiliate {
        p.tables.push(versions(app, viewer, "advertiser", id).await);
    }
    p.forms.push(rec);
    html(status, p.render())
}

pub async fn edit_advertiser(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    Path(id): Path<String>,
    Posted(fields): Posted<Fields>,
) -> Response {
    let a = match checked(&viewer, &fields, "change advertisers") {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let f = |k: &str| field(&fields, k).unwrap_or("").trim().to_string();
    let b = json!({
        "name": f("name"),
        "require_signature": f("require_signature") == "yes",
        "ip_allowlist": words(&f("ip_allowlist")),
        "alias_map": pairs(&f("alias_map")),
        "status_map": pairs(&f("status_map")),
    });
    let r = match body(b) {
        Ok(b) => value(
            crate::admin::patch_advertiser(State(app.clone()), a, crate::api::Path(id.clone()), b)
                .await,
        ),
        Err(e) => Err(e),
    };
    let outcome = match r {
        Ok(_) => Outcome::Created("Saved.".into()),
        Err(e) => Outcome::Refused(e.message, fields.clone()),
    };
    advertiser_page(&app, &viewer, &id, outcome, None).await
}

pub async fn reconcile(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    Path(id): Path<String>,
    Submitted(fields): Submitted,
) -> Response {
    if !viewer.csrf_ok(field(&fields, "csrf")) {
        return super::login::csrf_refused();
    }
    let f = |k: &str| field(&fields, k).unwrap_or("").trim().to_string();
    let query = {
        let mut q = form_urlencoded::Serializer::new(String::new());
        if viewer.is_admin() {
            q.append_pair("advertiser_id", &id);
        }
        q.append_pair("from", &f("from"));
        q.append_pair("to", &f("to"));
        q.finish()
    };
    let r = match parse_params(&query) {
        Ok(params) => value(
            crate::money::reconcile(
                State(app.clone()),
                viewer.caller(),
                Params(params),
                Bytes::from(csv_of(&fields)),
            )
            .await,
        ),
        Err(e) => Err(e),
    };
    let r = r.map_err(|e: ApiError| {
        // the CSV's own refusals name no form field: shown against it
        let m = if ["from", "to"].iter().any(|k| e.message.starts_with(k)) {
            e.message
        } else {
            format!("csv: {}", e.message)
        };
        (m, fields.clone())
    });
    advertiser_page(&app, &viewer, &id, Outcome::None, Some(r)).await
}

/// A form's CSV: the file chosen, else the text pasted.
pub(super) fn csv_of(fields: &Fields) -> String {
    match field(fields, "csv_file").filter(|f| !f.trim().is_empty()) {
        Some(file) => file.to_string(),
        None => field(fields, "csv").unwrap_or("").to_string(),
    }
}

// -------------------------------------------------------------- affiliate

pub async fn affiliate(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Response {
    affiliate_page(&app, &viewer, &id, Outcome::None, None).await
}

async fn affiliate_page(
    app: &Arc<AppState>,
    viewer: &Viewer,
    id: &str,
    outcome: Outcome,
    tested: Option<Result<Value, String>>,
) -> Response {
    let a = match fetch(app, viewer, id, crate::admin::get_affiliate).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut p = partner_page(viewer, "affiliates", "Affiliate", id, &a);
    p.facts = vec![
        ("Id".into(), s(&a, "id")),
        ("Status".into(), s(&a, "status")),
        (
            "Postback URL".into(),
            match s(&a, "postback_url") {
                x if x.is_empty() => "none".into(),
                x => x,
            },
        ),
        ("Created".into(), time(&s(&a, "created_at"))),
    ];
    p.links.push((
        format!("/finance?affiliate={id}"),
        "Balance and ledger".into(),
    ));
    p.links.push((
        format!("/deliveries?affiliate={id}"),
        "Outbound postbacks".into(),
    ));
    let mut status = StatusCode::OK;
    if viewer.is_admin() {
        let mut form = post_form(
            "edit",
            "Change the affiliate",
            &format!("/affiliates/{id}"),
            "Save the changes",
            &viewer.csrf,
            vec![
                Field::text("name", "Name").value(s(&a, "name")),
                Field::text("postback_url", "Postback URL").kind("url").optional().value(s(&a, "postback_url")).help("Called for approved conversions and reversals, e.g. https://aff.example/pb?cid={click_id}&payout={payout}; empty: none"),
            ],
        );
        status = apply(&mut p, &mut form, outcome);
        p.forms.push(form);
    }
    let mut test = post_form(
        "test-postback",
        "Send a test postback",
        &format!("/affiliates/{id}/test-postback"),
        "Send a test postback",
        &viewer.csrf,
        Vec::new(),
    );
    match tested {
        Some(Ok(t)) => p.tables.push(test_result(&t)),
        Some(Err(m)) => {
            test.error = Some(m);
            status = StatusCode::UNPROCESSABLE_ENTITY;
        }
        None => {}
    }
    p.forms.push(test);
    p.tables.push(versions(app, viewer, "affiliate", id).await);
    html(status, p.render())
}

/// What a test postback sent and what came back, one line each.
fn test_result(t: &Value) -> super::view::Table {
    let (req, resp) = (&t["request"], &t["response"]);
    let headers = req["headers"]
        .as_object()
        .map(|h| {
            h.iter()
                .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default();
    let answer = match resp["status"].as_u64() {
        Some(code) => format!("HTTP {code}"),
        None => "no answer".to_string(),
    };
    let rows = [
        ("Sent", format!("{} {}", s(req, "method"), s(req, "url"))),
        ("Headers", headers),
        ("Body", s(req, "body")),
        ("Answer", answer),
        ("Answer body", s(resp, "body")),
        ("Problem", s(resp, "error")),
        ("Time", format!("{} ms", s(resp, "latency_ms"))),
        ("Counts as delivered", yes_no(&resp["delivered"])),
    ]
    .into_iter()
    .map(|(k, v)| vec![Cell::text(k), Cell::text(v)])
    .collect();
    table(
        "Test postback (a made-up approved conversion): what was sent and what came back",
        &["What", "Value"],
        rows,
        "Nothing was sent.",
    )
}

/// "Send a test postback": the API's test for this affiliate, with the
/// viewer's rights (an admin, or the affiliate itself).
pub async fn test_postback(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    Path(id): Path<String>,
    Posted(fields): Posted<Fields>,
) -> Response {
    if !viewer.csrf_ok(field(&fields, "csrf")) {
        return super::login::csrf_refused();
    }
    let r = value(
        crate::test_postback::test_postback(
            State(app.clone()),
            viewer.caller(),
            crate::api::Path(id.clone()),
            Params(Default::default()),
        )
        .await,
    );
    let r = match r {
        Ok(v) => Ok(v),
        // another's affiliate: the same 404 page as for its settings
        Err(e) if e.code.http_status() == 404 => return super::pages::refusal(e),
        Err(e) => Err(e.message),
    };
    affiliate_page(&app, &viewer, &id, Outcome::None, Some(r)).await
}

pub async fn edit_affiliate(
    State(app): State<Arc<AppState>>,
    viewer: Viewer,
    Path(id): Path<String>,
    Posted(fields): Posted<Fields>,
) -> Response {
    let a = match checked(&viewer, &fields, "change affiliates") {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let f = |k: &str| field(&fields, k).unwrap_or("").trim().to_string();
    let b = json!({"name": f("name"), "postback_url": f("postback_url")});
    let r = match body(b) {
        Ok(b) => value(
            crate::admin::patch_affiliate(State(app.clone()), a, crate::api::Path(id.clone()), b)
                .await,
        ),
        Err(e) => Err(e),
    };
    let outcome = match r {
        Ok(_) => Outcome::Created("Saved.".into()),
        Err(e) => Outcome::Refused(e.message, fields.clone()),
    };
    affiliate_page(&app, &viewer, &id, outcome, None).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_maps_are_read_from_one_line() {
        assert_eq!(
            words("10.0.0.0/8, 192.0.2.1\n 2001:db8::/32"),
            ["10.0.0.0/8", "192.0.2.1", "2001:db8::/32"]
        );
        assert_eq!(
            Value::Object(pairs("tid=txid, clickref = click_id")),
            json!({"tid": "txid", "clickref": "click_id"})
        );
        assert_eq!(joined(&json!({"1": "approved"})), "1=approved");
        assert_eq!(joined(&json!(["a", "b"])), "a, b");
    }
}
