//! Money that adds up: the ledger, refunds, FX, holds, caps, bulk upload and
//! reconciliation.

mod common;

use std::collections::HashMap;

use clickledger_server::util::now_ms;
use common::*;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use rust_decimal::Decimal;
use serde_json::{json, Value};

fn d(v: &Value) -> Decimal {
    Decimal::from_str_exact(
        v.as_str()
            .unwrap_or_else(|| panic!("not a decimal string: {v}")),
    )
    .unwrap()
}

async fn ledger(app: &TestApp, aff: &str) -> Value {
    let (st, v) = app.get(&format!("/api/v1/affiliates/{aff}/ledger")).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    v
}

/// Balance = sum of entries; every conversion's entries net to its payout
/// when approved and to nothing otherwise; the balance equals the approved
/// payouts plus manual entries.
async fn check_books(app: &TestApp, aff: &str, manual: Decimal) {
    let l = ledger(app, aff).await;
    let entries = l["entries"].as_array().unwrap();
    let sum: Decimal = entries.iter().map(|e| d(&e["amount"])).sum();
    assert_eq!(d(&l["balance"]), sum, "balance is the sum of the entries");
    let (_, convs) = app
        .get(&format!(
            "/api/v1/conversions?affiliate_id={aff}&limit=10000"
        ))
        .await;
    let mut per_conv: HashMap<String, Decimal> = HashMap::new();
    for e in entries.iter().filter(|e| e["conversion_id"].is_string()) {
        *per_conv
            .entry(e["conversion_id"].as_str().unwrap().to_string())
            .or_default() += d(&e["amount"]);
    }
    let mut approved_total = Decimal::ZERO;
    for c in convs["items"].as_array().unwrap() {
        let expected = if c["status"] == "approved" && c["capped"] == false {
            d(&c["payout"])
        } else {
            Decimal::ZERO
        };
        approved_total += expected;
        let booked = per_conv
            .get(c["id"].as_str().unwrap())
            .copied()
            .unwrap_or_default();
        assert_eq!(
            booked, expected,
            "conversion {} ({}) is not traceable: {c}",
            c["id"], c["status"]
        );
    }
    assert_eq!(sum, approved_total + manual);
}

#[tokio::test]
async fn the_ledger_balances_on_random_sequences_of_postbacks() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let (st, v) = app
        .patch(&format!("/api/v1/offers/{}", s.offer_id), json!({"events": [
            {"name": "sale", "payout": {"type": "revshare", "percent": "30"}, "default_status": "pending"},
            {"name": "deposit", "payout": {"type": "fixed", "amount": "10.00"}, "repeatable": true},
            {"name": "refund", "payout": {"type": "fixed", "amount": "0"}, "reverses": true}]}))
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let mut clicks = Vec::new();
    for _ in 0..8 {
        clicks.push(app.click(&s.link_id).await);
    }
    // (txid, its click)
    let mut txids: Vec<(String, String)> = Vec::new();
    let mut updated = 0;
    let mut manual = Decimal::ZERO;
    let (mut paid, mut refused) = (0, 0);
    for step in 0..500 {
        let cid = clicks[rng.random_range(0..clicks.len())].clone();
        match rng.random_range(0..7) {
            0 | 1 => {
                let tx = format!("s{step}");
                let amount = format!(
                    "{}.{:02}",
                    rng.random_range(1..500),
                    rng.random_range(0..100)
                );
                app.postback(&[
                    ("token", &s.token),
                    ("click_id", &cid),
                    ("event", "sale"),
                    ("txid", &tx),
                    ("amount", &amount),
                ])
                .await;
                txids.push((tx, cid));
            }
            2 => {
                let tx = format!("d{step}");
                app.postback(&[
                    ("token", &s.token),
                    ("click_id", &cid),
                    ("event", "deposit"),
                    ("txid", &tx),
                ])
                .await;
                txids.push((tx, cid));
            }
            3 | 4 if !txids.is_empty() => {
                let (tx, cid) = txids[rng.random_range(0..txids.len())].clone();
                let status = ["approved", "approved", "rejected", "reversed", "pending"]
                    [rng.random_range(0..5)];
                let event = if tx.starts_with('s') {
                    "sale"
                } else {
                    "deposit"
                };
                let (_, v) = app
                    .postback(&[
                        ("token", &s.token),
                        ("click_id", &cid),
                        ("event", event),
                        ("txid", &tx),
                        ("status", status),
                    ])
                    .await;
                updated += (v["result"] == "updated") as u32;
            }
            5 if !txids.is_empty() => {
                let (orig, cid) = txids[rng.random_range(0..txids.len())].clone();
                let part = format!("{}", rng.random_range(1..300));
                let mut q = vec![
                    ("token", s.token.clone()),
                    ("click_id", cid.clone()),
                    ("event", "refund".into()),
                    ("txid", format!("r{step}")),
                    ("original_txid", orig),
                ];
                if rng.random_bool(0.5) {
                    q.push(("amount", part));
                }
                let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
                app.postback(&q).await;
            }
            _ => {
                let path = format!("/api/v1/affiliates/{}/ledger", s.affiliate_id);
                let body = if rng.random_bool(0.5) {
                    json!({"kind": "adjustment", "amount": "-1.25", "reason": "test"})
                } else {
                    // A payout is bounded by the balance unless it is an advance.
                    let l = ledger(&app, &s.affiliate_id).await;
                    let available = l["balances"].get("USD").map_or(Decimal::ZERO, d);
                    let (st, e) = app
                        .post(&path, json!({"kind": "payout", "amount": "3.50"}))
                        .await;
                    if available >= Decimal::new(350, 2) {
                        assert_eq!(st, StatusCode::CREATED, "{e}");
                        manual += d(&e["amount"]);
                        paid += 1;
                        continue;
                    }
                    refused += 1;
                    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
                    assert_eq!(e["error"], "insufficient_balance", "{e}");
                    json!({"kind": "payout", "amount": "3.50", "allow_negative": true})
                };
                let (st, e) = app.post(&path, body).await;
                assert_eq!(st, StatusCode::CREATED, "{e}");
                manual += d(&e["amount"]);
            }
        }
        if step % 50 == 49 {
            check_books(&app, &s.affiliate_id, manual).await;
        }
    }
    assert!(
        updated > 15,
        "too few status changes to prove anything: {updated}"
    );
    assert!(
        paid > 0 && refused > 0,
        "payouts within ({paid}) and over ({refused}) the balance"
    );
    let l = ledger(&app, &s.affiliate_id).await;
    let kinds: std::collections::HashSet<&str> = l["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for k in ["accrual", "reversal", "adjustment", "payout"] {
        assert!(kinds.contains(k), "no {k} in the random run");
    }
    // the balance at a past date only counts entries before it
    let (_, past) = app
        .get(&format!(
            "/api/v1/affiliates/{}/ledger?at=2020-01-01",
            s.affiliate_id
        ))
        .await;
    assert_eq!(past["balance"], "0.00");
    assert_eq!(past["entries"].as_array().unwrap().len(), 0);
    let csv = app
        .get_text(&format!(
            "/api/v1/affiliates/{}/ledger?format=csv",
            s.affiliate_id
        ))
        .await;
    assert_eq!(
        csv.lines().count(),
        l["entries"].as_array().unwrap().len() + 1
    );
    // the affiliate reads its own ledger, not another's
    let (st, _, own) = app
        .anon(
            &format!("/api/v1/affiliates/{}/ledger", s.affiliate_id),
            Some(&s.affiliate_key),
        )
        .await;
    assert_eq!((st, &own["balance"]), (StatusCode::OK, &l["balance"]));
    let (st, _, _) = app
        .anon(
            &format!("/api/v1/affiliates/{}/ledger", s.affiliate_id),
            Some(&s.advertiser_key),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // manual entries are checked
    let (st, v) = app
        .post(
            &format!("/api/v1/affiliates/{}/ledger", s.affiliate_id),
            json!({"kind": "adjustment", "amount": "5"}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v["message"].as_str().unwrap().starts_with("reason"));
    let (st, _) = app
        .post(
            &format!("/api/v1/affiliates/{}/ledger", s.affiliate_id),
            json!({"kind": "accrual", "amount": "5", "reason": "x"}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn refunds_take_back_what_was_paid_and_no_more() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    app.patch(&format!("/api/v1/offers/{}", s.offer_id), json!({"events": [
        {"name": "sale", "payout": {"type": "revshare", "percent": "30"}, "revenue": {"type": "revshare", "percent": "50"}},
        {"name": "chargeback", "payout": {"type": "fixed", "amount": "0"}, "reverses": true}]})).await;
    let cid = app.click(&s.link_id).await;
    app.postback(&[
        ("token", &s.token),
        ("click_id", &cid),
        ("event", "sale"),
        ("txid", "o1"),
        ("amount", "100"),
    ])
    .await;
    let (st, v) = app
        .postback(&[
            ("token", &s.token),
            ("click_id", &cid),
            ("event", "chargeback"),
            ("txid", "c1"),
            ("original_txid", "o1"),
            ("amount", "40"),
        ])
        .await;
    assert_eq!(
        (st, v["result"].as_str()),
        (StatusCode::OK, Some("accepted")),
        "{v}"
    );
    assert_eq!(v["payout"], "-12.00");
    let (st, v) = app
        .postback(&[
            ("token", &s.token),
            ("click_id", &cid),
            ("event", "chargeback"),
            ("txid", "c2"),
            ("original_txid", "o1"),
            ("amount", "70"),
        ])
        .await;
    assert_eq!(
        (st, v["error"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("refund_exceeds_original")
        ),
        "{v}"
    );
    let (_, v) = app
        .postback(&[
            ("token", &s.token),
            ("click_id", &cid),
            ("event", "chargeback"),
            ("txid", "c3"),
            ("original_txid", "o1"),
        ])
        .await;
    assert_eq!(v["payout"], "-18.00", "the rest: {v}");
    let (_, v) = app
        .postback(&[
            ("token", &s.token),
            ("click_id", &cid),
            ("event", "chargeback"),
            ("txid", "c4"),
            ("original_txid", "nope"),
        ])
        .await;
    assert_eq!(v["error"], "unknown_original_txid");
    let l = ledger(&app, &s.affiliate_id).await;
    assert_eq!(l["balance"], "0.00", "{l}");
    let (_, r) = app.get("/api/v1/reports?group_by=offer").await;
    assert_eq!(r["totals"]["payout"], "0.00");
    assert_eq!(r["totals"]["revenue"], "0.00");
    assert_eq!(r["totals"]["refunds"], 2);
    assert_eq!(r["totals"]["conversions"], 1);
}

#[tokio::test]
async fn fx_rates_convert_and_missing_rates_are_flagged() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let eur = app
        .create("/api/v1/offers", json!({"advertiser_id": s.advertiser_id, "name": "EU", "destination_url": "https://eu.example/?c={click_id}",
            "currency": "EUR", "events": [{"name": "lead", "payout": {"type": "fixed", "amount": "10.00"}}]}))
        .await;
    let link = app
        .create(
            "/api/v1/links",
            json!({"offer_id": eur["id"], "affiliate_id": s.affiliate_id}),
        )
        .await;
    let link = link["id"].as_str().unwrap();
    let cid = click_id_of(&app.click_location(link, "").await.replace("?c=", "?cid="));
    let (_, v) = app
        .postback(&[("token", &s.token), ("click_id", &cid), ("event", "lead")])
        .await;
    assert_eq!(v["result"], "accepted", "{v}");
    let (_, list) = app
        .get(&format!("/api/v1/conversions?click_id={cid}"))
        .await;
    assert_eq!(list["items"][0]["fx_missing"], true);
    assert_eq!(list["items"][0]["payout_base"], Value::Null);
    let (_, r) = app.get("/api/v1/reports?group_by=offer").await;
    assert_eq!(r["totals"]["unconverted"], 1);
    assert_eq!(r["totals"]["payout"], "0.00", "never guessed");
    let l = ledger(&app, &s.affiliate_id).await;
    assert_eq!(l["balances"]["EUR"], "10.00");
    assert_eq!(l["unconverted_entries"], 1);

    let today = &clickledger_domain::time::rfc3339_ms(now_ms())[..10];
    let r = app
        .client
        .post(app.url("/api/v1/fx-rates"))
        .bearer_auth(ADMIN_KEY)
        .header("content-type", "text/csv")
        .body(format!("currency,date,rate\nEUR,{today},1.0825\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let cid = click_id_of(&app.click_location(link, "").await.replace("?c=", "?cid="));
    app.postback(&[("token", &s.token), ("click_id", &cid), ("event", "lead")])
        .await;
    let (_, list) = app
        .get(&format!("/api/v1/conversions?click_id={cid}"))
        .await;
    // 10.825 rounds half to even
    assert_eq!(list["items"][0]["payout_base"], "10.82");
    let (_, r) = app.get("/api/v1/reports?group_by=offer").await;
    assert_eq!(r["totals"]["payout"], "10.82");
    let l = ledger(&app, &s.affiliate_id).await;
    assert_eq!(l["balance"], "10.82");
    let (st, v) = app
        .post(
            "/api/v1/fx-rates",
            json!([{"currency": "XXX", "date": today, "rate": "1"}]),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(v["message"]
        .as_str()
        .unwrap()
        .starts_with("rates[0].currency"));
    // a JSON number would be read through a float: refused, nothing stored
    let (st, v) = app
        .post(
            "/api/v1/fx-rates",
            json!([{"currency": "GBP", "date": today, "rate": 1.0000000000000002}]),
        )
        .await;
    assert_eq!(
        (st, &v["error"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_json")),
        "{v}"
    );
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .starts_with("rates[0].rate: `1.0000000000000002` is not a string"),
        "{v}"
    );
    let (_, fx) = app.get("/api/v1/fx-rates").await;
    assert!(!fx.to_string().contains("GBP"), "{fx}");
}

#[tokio::test]
async fn holds_approve_later_unless_rejected_first() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    app.patch(
        &format!("/api/v1/offers/{}", s.offer_id),
        json!({"hold_hours": 24}),
    )
    .await;
    let (a, b) = (app.click(&s.link_id).await, app.click(&s.link_id).await);
    let (_, v) = app
        .postback(&[
            ("token", &s.token),
            ("click_id", &a),
            ("event", "registration"),
        ])
        .await;
    assert_eq!(v["status"], "pending", "{v}");
    app.postback(&[
        ("token", &s.token),
        ("click_id", &b),
        ("event", "registration"),
    ])
    .await;
    app.postback(&[
        ("token", &s.token),
        ("click_id", &b),
        ("event", "registration"),
        ("status", "rejected"),
    ])
    .await;
    assert_eq!(ledger(&app, &s.affiliate_id).await["balance"], "0.00");
    let state = &app.running.as_ref().unwrap().state;
    clickledger_server::release_holds(state, now_ms() + 23 * 3_600_000).await;
    let (_, l) = app.get(&format!("/api/v1/conversions?click_id={a}")).await;
    assert_eq!(l["items"][0]["status"], "pending", "not yet");
    clickledger_server::release_holds(state, now_ms() + 25 * 3_600_000).await;
    let (_, l) = app.get(&format!("/api/v1/conversions?click_id={a}")).await;
    assert_eq!(l["items"][0]["status"], "approved");
    let (_, l) = app.get(&format!("/api/v1/conversions?click_id={b}")).await;
    assert_eq!(l["items"][0]["status"], "rejected");
    assert_eq!(ledger(&app, &s.affiliate_id).await["balance"], "2.00");
}

#[tokio::test]
async fn caps_record_capped_conversions_refuse_and_divert_clicks() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let (st, v) = app
        .patch(
            &format!("/api/v1/offers/{}", s.offer_id),
            json!({"caps": [{"period": "day", "metric": "conversions", "limit": "2"}],
            "cap_timezone": "Asia/Kolkata", "fallback_url": "https://fallback.example/?s={sub1}"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    // three visitors click before the cap is reached; all three convert
    let mut cids = Vec::new();
    for _ in 0..4 {
        cids.push(app.click(&s.link_id).await);
    }
    let mut results = Vec::new();
    for cid in &cids[..3] {
        let (_, v) = app
            .postback(&[
                ("token", &s.token),
                ("click_id", cid),
                ("event", "registration"),
            ])
            .await;
        results.push(v);
    }
    assert_eq!(results[2]["result"], "accepted");
    assert_eq!(
        results[2]["payout"], "0.00",
        "capped: recorded, pays nothing"
    );
    let (_, l) = app.get("/api/v1/conversions?limit=10").await;
    assert_eq!(
        l["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["capped"] == true)
            .count(),
        1
    );
    assert_eq!(ledger(&app, &s.affiliate_id).await["balance"], "4.00");
    // clicks now go to the fallback, unrecorded
    let r = app
        .client
        .get(app.url(&format!("/c/{}?sub1=z", s.link_id)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["location"], "https://fallback.example/?s=z");
    // refusing instead
    app.patch(
        &format!("/api/v1/offers/{}", s.offer_id),
        json!({"refuse_over_cap": true, "fallback_url": ""}),
    )
    .await;
    let (st, v) = app
        .postback(&[
            ("token", &s.token),
            ("click_id", &cids[3]),
            ("event", "registration"),
        ])
        .await;
    assert_eq!(
        (st, v["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("cap_reached")),
        "{v}"
    );
    let (st, v) = app
        .patch(
            &format!("/api/v1/offers/{}", s.offer_id),
            json!({"cap_timezone": "Mars/Base"}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v["message"].as_str().unwrap().starts_with("cap_timezone"));
}

#[tokio::test]
async fn bulk_upload_and_reconciliation() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let (a, b, c) = (
        app.click(&s.link_id).await,
        app.click(&s.link_id).await,
        app.click(&s.link_id).await,
    );
    let csv = format!(
        "click_id,event,txid,amount,currency,status\n{a},sale,t1,100,USD,approved\n{b},sale,t2,1\u{2c}5,USD,\n{c},deposit,t3,,,pending\nnot-a-click,sale,t4,1,,\n{a},sale,t1,100,USD,approved\n"
    );
    let r = app
        .client
        .post(app.url("/api/v1/conversions/import"))
        .bearer_auth(&s.advertiser_key)
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let out = r.text().await.unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "row,click_id,txid,result,error,message,conversion_id,hint"
    );
    assert!(lines[1].contains(",accepted,"), "{out}");
    assert!(
        lines[2].contains("invalid_amount") || lines[2].contains(",rejected,"),
        "{out}"
    );
    assert!(lines[3].contains(",accepted,"), "{out}");
    // not a click id at all: the postback path's code, not unknown_click_id
    assert!(lines[4].contains("corrupted_click_id"), "{out}");
    assert!(lines[5].contains(",duplicate,"), "{out}");
    let (_, log) = app.get("/api/v1/postbacks?limit=20").await;
    assert!(log["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["method"] == "CSV"));

    let theirs = "txid,amount,status\nt1,100,approved\nt3,,approved\nt9,5,approved\n";
    let r = app
        .client
        .post(app.url("/api/v1/reconciliation?from=2020-01-01&to=2100-01-01"))
        .bearer_auth(&s.advertiser_key)
        .body(theirs)
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["matched"], 1, "{v}");
    assert_eq!(v["missing_here"][0]["txid"], "t9");
    assert_eq!(v["differences"][0]["txid"], "t3");
    assert_eq!(v["differences"][0]["differences"][0]["field"], "status");
    assert_eq!(v["missing_there"].as_array().unwrap().len(), 0, "{v}");
    let (st, _, _) = app.anon("/api/v1/postbacks", Some(&s.affiliate_key)).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn ledger_entries_answer_their_id_in_the_currency_format_and_payouts_are_bounded() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let path = format!("/api/v1/affiliates/{}/ledger", s.affiliate_id);
    // a deposit accrues 10.00 USD
    let cid = app.click(&s.link_id).await;
    let (_, v) = app
        .postback(&[
            ("token", &s.token),
            ("click_id", &cid),
            ("event", "deposit"),
            ("txid", "d1"),
        ])
        .await;
    assert_eq!(v["result"], "accepted", "{v}");
    let (st, adj) = app
        .post(
            &path,
            json!({"kind": "adjustment", "amount": "7.5", "reason": "bonus"}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{adj}");
    assert_eq!(
        adj["amount"], "7.50",
        "money in the currency's format: {adj}"
    );
    let adj_id = adj["id"].as_i64().unwrap();
    assert!(adj_id > 0, "the real id, not 0: {adj}");

    // over the 17.50 available: refused, nothing written
    let (st, e) = app
        .post(&path, json!({"kind": "payout", "amount": "20"}))
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"], "insufficient_balance");
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.starts_with("amount:") && msg.contains("20.00 USD") && msg.contains("17.50 USD"),
        "{msg}"
    );
    assert!(msg.contains("allow_negative"), "{msg}");
    let l = ledger(&app, &s.affiliate_id).await;
    assert_eq!(l["balance"], "17.50");
    assert_eq!(l["entries"].as_array().unwrap().len(), 2);

    // exactly the balance is allowed; then an advance takes it below zero
    let (st, p1) = app
        .post(&path, json!({"kind": "payout", "amount": "17.5"}))
        .await;
    assert_eq!(
        (st, &p1["amount"]),
        (StatusCode::CREATED, &json!("-17.50")),
        "{p1}"
    );
    let (st, p2) = app
        .post(
            &path,
            json!({"kind": "payout", "amount": "5", "allow_negative": true}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{p2}");
    let ids: Vec<i64> = [&adj, &p1, &p2]
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert!(ids[0] < ids[1] && ids[1] < ids[2], "{ids:?}");

    let l = ledger(&app, &s.affiliate_id).await;
    assert_eq!(l["balance"], "-5.00");
    assert_eq!(l["balances"]["USD"], "-5.00");
    let shown: Vec<(&str, &str)> = l["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["amount"].as_str().unwrap()))
        .collect();
    assert_eq!(
        shown,
        [
            ("accrual", "10.00"),
            ("adjustment", "7.50"),
            ("payout", "-17.50"),
            ("payout", "-5.00")
        ]
    );
    // the ids the API answered are the ledger's ids
    let listed: Vec<i64> = l["entries"].as_array().unwrap()[1..]
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(listed, ids);

    // the audit log records the same ids, and that the advance was allowed
    let (_, audit) = app
        .get(&format!("/api/v1/audit?entity_id={}", s.affiliate_id))
        .await;
    let ledger_changes: Vec<&Value> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"].as_str().unwrap().starts_with("ledger_"))
        .collect();
    assert_eq!(ledger_changes.len(), 3, "{audit}");
    for a in &ledger_changes {
        let id = a["after"]["id"].as_i64().unwrap();
        assert!(
            ids.contains(&id),
            "audit records id {id}, the API answered {ids:?}"
        );
        let advance = a["after"]["allow_negative"] == json!(true);
        assert_eq!(advance, id == ids[2], "{a}");
    }
}

#[tokio::test]
async fn an_offer_shows_its_event_money_as_its_conversions_do() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let (st, offer) = app
        .patch(
            &format!("/api/v1/offers/{}", s.offer_id),
            json!({"events": [
                {"name": "lead", "payout": {"type": "fixed", "amount": "2"}, "max_payout": "5.5"},
                {"name": "sale", "payout": {"type": "revshare", "percent": "30"}}]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{offer}");
    assert_eq!(offer["events"][0]["payout"]["amount"], "2.00", "{offer}");
    assert_eq!(offer["events"][0]["max_payout"], "5.50", "{offer}");
    assert_eq!(offer["events"][1]["payout"]["percent"], "30", "{offer}");
    let cid = app.click(&s.link_id).await;
    let (_, v) = app
        .postback(&[("token", &s.token), ("click_id", &cid), ("event", "lead")])
        .await;
    assert_eq!(v["payout"], "2.00", "{v}");
    let (_, got) = app.get(&format!("/api/v1/offers/{}", s.offer_id)).await;
    assert_eq!(got["events"][0]["payout"]["amount"], "2.00", "{got}");
}
