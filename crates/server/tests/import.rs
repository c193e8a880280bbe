//! `POST /api/v1/conversions/import` refuses what it cannot read, naming
//! why, and answers each row with the postback path's code and hint.

mod common;

use common::TestApp;
use reqwest::StatusCode;
use serde_json::Value;

async fn upload(app: &TestApp, key: &str, csv: &str) -> (StatusCode, String) {
    let r = app
        .client
        .post(app.url("/api/v1/conversions/import"))
        .bearer_auth(key)
        .header("content-type", "text/csv")
        .body(csv.to_string())
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

fn refusal(status: StatusCode, body: &str) -> (u16, String, String) {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body}"));
    (
        status.as_u16(),
        v["error"].as_str().unwrap().to_string(),
        v["message"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn another_separator_is_named() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let cid = app.click(&s.link_id).await;
    for (csv, name) in [
        (
            format!("click_id;event;txid;amount\n{cid};sale;t1;10\n"),
            "semicolons",
        ),
        (format!("click_id\tevent\ttxid\n{cid}\tsale\tt1\n"), "tabs"),
        (
            format!("click_id|event|txid\n{cid}|sale|t1\n"),
            "vertical bars",
        ),
    ] {
        let (st, body) = upload(&app, &s.advertiser_key, &csv).await;
        let (code, error, message) = refusal(st, &body);
        assert_eq!((code, error.as_str()), (422, "validation_failed"), "{body}");
        assert!(
            message.contains(name) && message.contains("comma-separated"),
            "{message}"
        );
    }
    // nothing was recorded
    let (_, list) = app
        .get(&format!("/api/v1/conversions?click_id={cid}"))
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0, "{list}");
}

#[tokio::test]
async fn a_header_without_a_click_id_column_is_refused_by_name() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let (st, body) = upload(&app, &s.advertiser_key, "order,event,amount\nx,sale,10\n").await;
    let (code, _, message) = refusal(st, &body);
    assert_eq!(code, 422, "{body}");
    assert!(
        message.contains("no click_id column") && message.contains("`order`"),
        "{message}"
    );
    let (st, body) = upload(&app, &s.advertiser_key, "").await;
    assert_eq!(refusal(st, &body).0, 422, "{body}");
    // an alias of click_id is a click id column
    let cid = app.click(&s.link_id).await;
    let (st, out) = upload(
        &app,
        &s.advertiser_key,
        &format!("clickid,event,txid\n{cid},registration,r1\n"),
    )
    .await;
    assert_eq!(st, 200, "{out}");
    assert!(out.lines().nth(1).unwrap().contains(",accepted,"), "{out}");
}

#[tokio::test]
async fn rows_get_the_postback_paths_codes_and_hints() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let cid = app.click(&s.link_id).await;
    let unknown = clickledger_domain::ClickId::new(1_700_000_000_000, 1).encode();
    let csv = format!(
        "click_id,event,txid,amount\n{},sale,t1,10\n{cid},sale,t2,10\n{unknown},sale,t3,10\n{{clickid}},sale,t4,10\n",
        &cid[..20]
    );
    let (st, out) = upload(&app, &s.advertiser_key, &csv).await;
    assert_eq!(st, 200, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "row,click_id,txid,result,error,message,conversion_id,hint"
    );
    // a click id cut short: corrupted, with the truncation hint, as a postback says
    assert!(
        lines[1].starts_with(&format!("1,{},t1,rejected,corrupted_click_id,", &cid[..20])),
        "{out}"
    );
    assert!(
        lines[1].ends_with(
            "truncated: the click id is shorter than issued ids; a field may be cutting it"
        ),
        "{out}"
    );
    let (_, pb) = app
        .postback(&[
            ("token", &s.token),
            ("click_id", &cid[..20]),
            ("event", "sale"),
            ("txid", "p1"),
            ("amount", "10"),
        ])
        .await;
    assert_eq!(pb["error"], "corrupted_click_id");
    assert!(
        lines[1].contains(pb["message"].as_str().unwrap()),
        "the same sentence: {pb}"
    );
    assert!(lines[2].contains(",accepted,"), "{out}");
    assert!(
        lines[3].contains(",unknown_click_id,") && lines[3].contains("was never issued here"),
        "{out}"
    );
    assert!(
        lines[4].contains(",corrupted_click_id,")
            && lines[4].ends_with("did not fill in its macro"),
        "{out}"
    );
}
