//! The tracker end to end over real HTTP on loopback and a real SQLite file.

mod common;

use clickledger_domain::ClickId;
use clickledger_server::Settings;
use clickledger_store::Click;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A postback query, the status it must get, and its error code.
type Case<'a> = (Vec<(&'a str, &'a str)>, StatusCode, &'a str);

fn code(v: &Value) -> &str {
    v["error"].as_str().unwrap_or("")
}

#[tokio::test]
async fn click_postback_conversion_flow() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    assert_eq!(s.link_url, app.url(&format!("/c/{}", s.link_id)));

    let loc = app
        .click_location(&s.link_id, "sub1=spring&source=news&gclid=g1")
        .await;
    let cid = click_id_of(&loc);
    assert!(loc.starts_with("https://adv.example/land?cid="), "{loc}");
    assert!(loc.ends_with("&s1=spring&src=news"), "{loc}");
    assert!(ClickId::parse(&cid).is_ok());

    // the click is stored with what we know about it
    let (st, click) = app.get(&format!("/api/v1/clicks/{cid}")).await;
    assert_eq!(st, StatusCode::OK, "{click}");
    assert_eq!(click["sub1"], "spring");
    assert_eq!(click["source"], "news");
    assert_eq!(click["extra"]["gclid"], "g1");
    assert_eq!(click["offer_id"], s.offer_id.as_str());
    assert_eq!(click["affiliate_id"], s.affiliate_id.as_str());
    assert_eq!(click["device"], "mobile");
    assert_eq!(click["os"], "ios");
    assert_eq!(click["unique"], true);
    assert_eq!(click["bot"], false);
    assert_eq!(click["ip"], "127.0.0.1");
    assert_eq!(
        click["country"], "",
        "no GeoIP database: country stays empty"
    );

    // an accepted sale, priced by its revshare rules
    let (st, v) = app
        .postback(&[
            ("token", &s.token),
            ("click_id", &cid),
            ("event", "sale"),
            ("txid", "o-1"),
            ("amount", "99.99"),
        ])
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["result"], "accepted");
    assert_eq!(v["payout"], "30.00");
    let conv_id = v["conversion_id"].as_str().unwrap().to_string();

    let (_, list) = app
        .get(&format!("/api/v1/conversions?click_id={cid}"))
        .await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let c = &items[0];
    assert_eq!(c["id"], conv_id.as_str());
    assert_eq!(c["event"], "sale");
    assert_eq!(c["txid"], "o-1");
    assert_eq!(c["status"], "approved");
    assert_eq!(c["amount"], "99.99");
    assert_eq!(c["currency"], "USD");
    assert_eq!(c["payout"], "30.00");
    assert_eq!(c["revenue"], "40.00");
    assert_eq!(c["link_id"], s.link_id.as_str());
    assert_eq!(c["affiliate_id"], s.affiliate_id.as_str());
    assert!(c["delay_seconds"].as_i64().unwrap() >= 0);
    assert!(c["click_time"].as_str().unwrap() <= c["conversion_time"].as_str().unwrap());

    // same again: duplicate, pointing at the first
    let (st, v) = app
        .postback(&[
            ("token", &s.token),
            ("click_id", &cid),
            ("event", "sale"),
            ("txid", "o-1"),
            ("amount", "99.99"),
        ])
        .await;
    assert_eq!(
        (st, v["result"].as_str()),
        (StatusCode::OK, Some("duplicate"))
    );
    assert_eq!(v["conversion_id"], conv_id.as_str());

    // reversal: updated
    let (st, v) = app
        .postback(&[
            ("token", &s.token),
            ("click_id", &cid),
            ("event", "sale"),
            ("txid", "o-1"),
            ("status", "reversed"),
        ])
        .await;
    assert_eq!(
        (st, v["result"].as_str()),
        (StatusCode::OK, Some("updated")),
        "{v}"
    );
    assert_eq!(v["previous_status"], "approved");
    assert_eq!(v["status"], "reversed");

    // and reversed is final
    let (st, v) = app
        .postback(&[
            ("token", &s.token),
            ("click_id", &cid),
            ("event", "sale"),
            ("txid", "o-1"),
            ("status", "approved"),
        ])
        .await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_transition"),
        "{v}"
    );

    // the log holds every one of them, newest first, with the token masked
    let (_, log) = app.get("/api/v1/postbacks").await;
    let entries = log["items"].as_array().unwrap();
    assert_eq!(entries.len(), 4);
    let results: Vec<&str> = entries
        .iter()
        .map(|e| e["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, ["rejected", "updated", "duplicate", "accepted"]);
    assert_eq!(entries[0]["error"], "invalid_transition");
    let logged = serde_json::to_string(&entries).unwrap();
    assert!(!logged.contains(&s.token), "token leaked into the log");
    assert_eq!(entries[3]["click_id"], cid.as_str());
    assert_eq!(entries[3]["source_ip"], "127.0.0.1");
    assert_eq!(entries[3]["method"], "GET");
    let (_, rejected) = app.get("/api/v1/postbacks?result=rejected").await;
    assert_eq!(rejected["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn post_form_and_json_and_path_token() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let cid = app.click(&s.link_id).await;
    let resp = app
        .client
        .post(app.url("/postback"))
        .form(&[
            ("token", s.token.as_str()),
            ("cid", &cid),
            ("goal", "registration"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["result"], "accepted");
    assert_eq!(v["payout"], "2.00");

    let cid2 = app.click(&s.link_id).await;
    let resp = app
        .client
        .post(app.url(&format!("/postback/{}", s.token)))
        .json(&json!({"clickid": cid2, "et": "deposit", "tid": "d-1", "sum": 25}))
        .send()
        .await
        .unwrap();
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["result"], "accepted", "{v}");
    let (_, list) = app
        .get(&format!("/api/v1/conversions?click_id={cid2}"))
        .await;
    assert_eq!(list["items"][0]["amount"], "25.00");
    assert_eq!(list["items"][0]["event"], "deposit");
    assert_eq!(list["items"][0]["txid"], "d-1");
}

#[tokio::test]
async fn every_postback_answer_code() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let cid = app.click(&s.link_id).await;
    let tok = s.token.as_str();

    // another advertiser's offer and click
    let other = app
        .create("/api/v1/advertisers", json!({"name": "Other"}))
        .await;
    let other_offer = app
        .create(
            "/api/v1/offers",
            json!({"advertiser_id": other["id"], "name": "O2", "destination_url": "https://o.example/?c={click_id}",
                   "currency": "EUR", "events": [{"name": "lead", "payout": {"type": "fixed", "amount": "1"}}]}),
        )
        .await;
    let other_link = app
        .create(
            "/api/v1/links",
            json!({"offer_id": other_offer["id"], "affiliate_id": s.affiliate_id}),
        )
        .await;
    let other_loc = app
        .click_location(other_link["id"].as_str().unwrap(), "")
        .await;
    let other_cid = reqwest::Url::parse(&other_loc)
        .unwrap()
        .query_pairs()
        .next()
        .unwrap()
        .1
        .into_owned();

    // a click older than the 30-day window, written straight to the store
    let old_ms = clickledger_server::util::now_ms() - 31 * 86_400_000;
    let old_id = ClickId::new(old_ms as u64, 99);
    app.store
        .insert_clicks(&[Click {
            id: old_id,
            ts_ms: old_ms,
            link_id: s.link_id.clone(),
            offer_id: s.offer_id.clone(),
            affiliate_id: s.affiliate_id.clone(),
            sub1: None,
            sub2: None,
            sub3: None,
            sub4: None,
            sub5: None,
            source: None,
            extra: Default::default(),
            params_cut: 0,
            ip: "127.0.0.1".into(),
            country: String::new(),
            user_agent: String::new(),
            device: "desktop".into(),
            os: "other".into(),
            browser: "other".into(),
            referer_host: String::new(),
            unique: true,
            bot: false,
            suspicious: false,
            test: false,
            blocked: false,
            rule: None,
            target: None,
            flow_offer: false,
        }])
        .unwrap();
    let old_cid = old_id.encode();

    let mut altered = cid.clone().into_bytes();
    altered[10] = if altered[10] == b'a' { b'b' } else { b'a' };
    let altered = String::from_utf8(altered).unwrap();
    let never_issued = ClickId::new(1_700_000_000_000, 12345).encode();

    let cases: Vec<Case> = vec![
        (
            vec![("click_id", &cid)],
            StatusCode::UNAUTHORIZED,
            "invalid_token",
        ),
        (
            vec![("token", "nope"), ("click_id", &cid)],
            StatusCode::UNAUTHORIZED,
            "invalid_token",
        ),
        (
            vec![("token", tok)],
            StatusCode::BAD_REQUEST,
            "missing_click_id",
        ),
        (
            vec![("token", tok), ("click_id", &cid), ("amount", "1,5")],
            StatusCode::BAD_REQUEST,
            "invalid_amount",
        ),
        (
            vec![("token", tok), ("click_id", &cid), ("currency", "ABC")],
            StatusCode::BAD_REQUEST,
            "invalid_currency",
        ),
        (
            vec![("token", tok), ("click_id", &cid), ("status", "maybe")],
            StatusCode::BAD_REQUEST,
            "invalid_status",
        ),
        (
            vec![("token", tok), ("click_id", &altered)],
            StatusCode::NOT_FOUND,
            "corrupted_click_id",
        ),
        (
            vec![("token", tok), ("click_id", &cid[..20])],
            StatusCode::NOT_FOUND,
            "corrupted_click_id",
        ),
        (
            vec![("token", tok), ("click_id", &never_issued)],
            StatusCode::NOT_FOUND,
            "unknown_click_id",
        ),
        (
            vec![("token", tok), ("click_id", &other_cid)],
            StatusCode::FORBIDDEN,
            "wrong_advertiser",
        ),
        (
            vec![("token", tok), ("click_id", &cid), ("event", "install")],
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_event",
        ),
        (
            vec![("token", tok), ("click_id", &old_cid)],
            StatusCode::UNPROCESSABLE_ENTITY,
            "click_expired",
        ),
        (
            vec![("token", tok), ("click_id", &cid), ("event", "deposit")],
            StatusCode::BAD_REQUEST,
            "missing_txid",
        ),
        (
            vec![("token", tok), ("click_id", &cid), ("event", "sale")],
            StatusCode::BAD_REQUEST,
            "missing_amount",
        ),
        (
            vec![
                ("token", tok),
                ("click_id", &cid),
                ("event", "sale"),
                ("amount", "10"),
                ("currency", "EUR"),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
            "currency_mismatch",
        ),
        (
            vec![
                ("token", tok),
                ("click_id", &cid),
                ("event", "lead"),
                ("payout", "50.01"),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
            "payout_out_of_bounds",
        ),
    ];
    for (query, status, expected) in &cases {
        let (st, v) = app.postback(query).await;
        assert_eq!((st, code(&v)), (*status, *expected), "{query:?} -> {v}");
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    }

    // the truncated id carries a hint
    let (_, v) = app
        .postback(&[("token", tok), ("click_id", &cid[..20])])
        .await;
    assert!(v["hint"].as_str().unwrap().starts_with("truncated"), "{v}");

    // an uppercased id still attributes
    let upper = cid.to_uppercase();
    let (st, v) = app
        .postback(&[
            ("token", tok),
            ("click_id", &upper),
            ("event", "registration"),
        ])
        .await;
    assert_eq!(
        (st, v["result"].as_str()),
        (StatusCode::OK, Some("accepted")),
        "{v}"
    );

    // a non-repeatable event counts once per click, whatever the txid
    let (_, v) = app
        .postback(&[
            ("token", tok),
            ("click_id", &cid),
            ("event", "registration"),
            ("txid", "r-2"),
        ])
        .await;
    assert_eq!(v["result"], "duplicate", "{v}");

    // a known txid with another amount is a conflict, never an overwrite
    app.postback(&[
        ("token", tok),
        ("click_id", &cid),
        ("event", "deposit"),
        ("txid", "d-1"),
        ("amount", "10"),
    ])
    .await;
    let (st, v) = app
        .postback(&[
            ("token", tok),
            ("click_id", &cid),
            ("event", "deposit"),
            ("txid", "d-1"),
            ("amount", "11"),
        ])
        .await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::CONFLICT, "txid_conflict"),
        "{v}"
    );
    // ... and so is the same txid on another click
    let cid2 = app.click(&s.link_id).await;
    let (st, v) = app
        .postback(&[
            ("token", tok),
            ("click_id", &cid2),
            ("event", "deposit"),
            ("txid", "d-1"),
        ])
        .await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::CONFLICT, "txid_conflict"),
        "{v}"
    );
    let (_, list) = app
        .get(&format!("/api/v1/conversions?click_id={cid}"))
        .await;
    let deposit = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["event"] == "deposit")
        .unwrap()
        .clone();
    assert_eq!(deposit["amount"], "10.00");

    // a pending lead is approved by a later postback: updated
    let (_, v) = app
        .postback(&[
            ("token", tok),
            ("click_id", &cid),
            ("event", "lead"),
            ("payout", "12.5"),
        ])
        .await;
    assert_eq!(
        (v["result"].as_str(), v["status"].as_str()),
        (Some("accepted"), Some("pending")),
        "{v}"
    );
    let (_, v) = app
        .postback(&[
            ("token", tok),
            ("click_id", &cid),
            ("event", "lead"),
            ("status", "approved"),
        ])
        .await;
    assert_eq!(v["result"], "updated", "{v}");

    // every refusal is in the log with its code
    let (_, log) = app.get("/api/v1/postbacks?limit=1000").await;
    let logged: Vec<String> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["error"].as_str().map(String::from))
        .collect();
    for (_, _, expected) in &cases {
        assert!(
            logged.iter().any(|l| l == expected),
            "{expected} missing from the log"
        );
    }
    let (_, by_code) = app.get("/api/v1/postbacks?error=wrong_advertiser").await;
    let e = &by_code["items"][0];
    assert_eq!(e["advertiser_id"], s.advertiser_id.as_str());
    assert_eq!(e["click_id"], other_cid.as_str());
}

#[tokio::test]
async fn advertiser_aliases_and_status_words() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let (st, v) = app
        .patch(
            &format!("/api/v1/advertisers/{}", s.advertiser_id),
            json!({"alias_map": {"transaction_id": "click_id", "goal_name": "event"}, "status_map": {"1": "approved", "lead": "pending"}}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let cid = app.click(&s.link_id).await;
    let (_, v) = app
        .postback(&[
            ("token", &s.token),
            ("transaction_id", &cid),
            ("goal_name", "lead"),
            ("payout", "5"),
            ("status", "lead"),
        ])
        .await;
    assert_eq!(v["result"], "accepted", "{v}");
    assert_eq!(v["status"], "pending");
    let (_, v) = app
        .postback(&[
            ("token", &s.token),
            ("transaction_id", &cid),
            ("goal_name", "lead"),
            ("status", "1"),
        ])
        .await;
    assert_eq!(v["result"], "updated", "{v}");
    let (_, list) = app
        .get(&format!("/api/v1/conversions?click_id={cid}"))
        .await;
    assert_eq!(list["items"][0]["status"], "approved");
    assert_eq!(list["items"][0]["status_received"], "1");

    let (st, v) = app
        .patch(
            &format!("/api/v1/advertisers/{}", s.advertiser_id),
            json!({"alias_map": {"x": "clickid"}}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        v["message"].as_str().unwrap().contains("alias_map.x"),
        "{v}"
    );
}

#[tokio::test]
async fn racing_identical_postbacks_make_one_conversion() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let cid = app.click(&s.link_id).await;
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let client = app.client.clone();
        let url = app.url("/postback");
        let q = vec![
            ("token", s.token.clone()),
            ("click_id", cid.clone()),
            ("event", "deposit".into()),
            ("txid", "race-1".into()),
        ];
        tasks.push(tokio::spawn(async move {
            let v: Value = client
                .get(url)
                .query(&q)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v
        }));
    }
    let mut accepted = 0;
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let v = t.await.unwrap();
        match v["result"].as_str() {
            Some("accepted") => accepted += 1,
            Some("duplicate") => {}
            other => panic!("unexpected {other:?}: {v}"),
        }
        ids.insert(v["conversion_id"].as_str().unwrap().to_string());
    }
    assert_eq!(accepted, 1);
    assert_eq!(ids.len(), 1);
    let (_, list) = app
        .get(&format!("/api/v1/conversions?click_id={cid}"))
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn macro_values_are_encoded_exactly_once() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    for value in [
        "a&b=c",
        "100%",
        "two words",
        "x#y",
        "ünï😀",
        "already%20encoded",
    ] {
        let query: String = form_urlencoded_pair("sub1", value);
        let loc = app.click_location(&s.link_id, &query).await;
        let url = reqwest::Url::parse(&loc).unwrap();
        let s1 = url
            .query_pairs()
            .find(|(k, _)| k == "s1")
            .unwrap()
            .1
            .into_owned();
        assert_eq!(s1, value, "{loc}");
        assert!(url.fragment().is_none(), "{loc}");
        assert_eq!(url.query_pairs().count(), 3, "{loc}");
    }
}

fn form_urlencoded_pair(k: &str, v: &str) -> String {
    reqwest::Url::parse_with_params("http://x/", &[(k, v)])
        .unwrap()
        .query()
        .unwrap()
        .to_string()
}

/// Ad platforms append utm_*, gclid, fbclid and more: a click over the
/// bounds still reaches the offer, keeps what fits and says it was cut.
#[tokio::test]
async fn a_click_over_the_bounds_redirects_and_is_stored_cut() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let extras: String = (0..40).map(|i| format!("&p{i:02}=v{i}")).collect();
    let sub1 = "é".repeat(1024); // 2 KB
    let long_name = "n".repeat(65);
    let query = format!(
        "{}{extras}&{long_name}=x&source={}",
        form_urlencoded_pair("sub1", &sub1),
        "s".repeat(600)
    );
    let loc = app.click_location(&s.link_id, &query).await;
    let url = reqwest::Url::parse(&loc).unwrap();
    let got = |k: &str| {
        url.query_pairs()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    };
    // the destination's macros carry the kept (cut) values
    assert_eq!(got("s1"), "é".repeat(256));
    assert_eq!(got("src"), "s".repeat(512));
    let (st, c) = app.get(&format!("/api/v1/clicks/{}", got("cid"))).await;
    assert_eq!(st, StatusCode::OK, "{c}");
    assert_eq!(c["sub1"], "é".repeat(256));
    assert_eq!(c["source"], "s".repeat(512));
    let extra = c["extra"].as_object().unwrap();
    let kept: Vec<&str> = extra.keys().map(String::as_str).collect();
    let first_20: Vec<String> = (0..20).map(|i| format!("p{i:02}")).collect();
    assert_eq!(kept, first_20);
    assert_eq!(extra["p07"], "v7");
    // sub1 and source shortened; 20 extras and the long name left out
    assert_eq!(c["params_cut"], 2 + 20 + 1);
    let (_, plain) = app
        .get(&format!("/api/v1/clicks/{}", app.click(&s.link_id).await))
        .await;
    assert_eq!(plain["params_cut"], 0);
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("\nclickledger_click_params_cut_total 1\n"),
        "{metrics}"
    );
}

#[tokio::test]
async fn click_edge_cases() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let (st, _, v) = app.anon("/c/lnk_nothing", None).await;
    assert_eq!(
        (st, v["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );

    // the same visitor again: not unique; a bot agent: flagged
    let first = app.click(&s.link_id).await;
    let second = app.click(&s.link_id).await;
    let (_, c1) = app.get(&format!("/api/v1/clicks/{first}")).await;
    let (_, c2) = app.get(&format!("/api/v1/clicks/{second}")).await;
    assert_eq!(
        (c1["unique"].as_bool(), c2["unique"].as_bool()),
        (Some(true), Some(false))
    );
    let r = app
        .client
        .get(app.url(&format!("/c/{}", s.link_id)))
        .header("user-agent", "curl/8.0")
        .send()
        .await
        .unwrap();
    let bot = click_id_of(r.headers()["location"].to_str().unwrap());
    let (_, c3) = app.get(&format!("/api/v1/clicks/{bot}")).await;
    assert_eq!(c3["bot"], true);
    assert_eq!(c3["device"], "bot");

    // paused link: 410 without fallback, 302 to the fallback with one
    let (st, _) = app
        .post(&format!("/api/v1/links/{}/pause", s.link_id), json!({}))
        .await;
    assert_eq!(st, StatusCode::OK);
    let r = app
        .client
        .get(app.url(&format!("/c/{}", s.link_id)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::GONE);
    let (st, v) = app
        .patch(
            &format!("/api/v1/offers/{}", s.offer_id),
            json!({"fallback_url": "https://fallback.example/?s={sub1}"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let r = app
        .client
        .get(app.url(&format!("/c/{}?sub1=x", s.link_id)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(r.headers()["location"], "https://fallback.example/?s=x");
    app.post(&format!("/api/v1/links/{}/resume", s.link_id), json!({}))
        .await;
    app.click(&s.link_id).await;

    // unknown click id in the API
    let (st, v) = app
        .get(&format!("/api/v1/clicks/{}", ClickId::new(5, 5).encode()))
        .await;
    assert_eq!((st, code(&v)), (StatusCode::NOT_FOUND, "unknown_click_id"));
}

#[tokio::test]
async fn country_comes_from_the_geoip_database() {
    let settings = Settings {
        geoip: Some(fixture("geo-test.mmdb")),
        ..Settings::default()
    };
    let app = TestApp::spawn_with(settings).await;
    let s = app.setup().await;
    let cid = app.click(&s.link_id).await;
    let (_, c) = app.get(&format!("/api/v1/clicks/{cid}")).await;
    assert_eq!(c["country"], "DE");
    let geo = clickledger_server::geo::Geo::open(&fixture("geo-test.mmdb")).unwrap();
    assert_eq!(geo.country("10.1.2.3".parse().unwrap()), "IN");
    assert_eq!(geo.country("192.0.2.1".parse().unwrap()), "US");
    assert_eq!(geo.country("198.51.100.1".parse().unwrap()), "AT");
    assert_eq!(geo.country("203.0.113.1".parse().unwrap()), "");
    assert_eq!(geo.country("::1".parse().unwrap()), "");
    // regions, in both layouts, where the database has them
    assert_eq!(
        geo.region("127.0.0.1".parse().unwrap()).as_deref(),
        Some("BY")
    );
    assert_eq!(
        geo.region("192.0.2.1".parse().unwrap()).as_deref(),
        Some("California")
    );
    assert_eq!(geo.region("198.51.100.1".parse().unwrap()), None);
    assert_eq!(geo.region("10.1.2.3".parse().unwrap()), None);
}

#[tokio::test]
async fn a_full_queue_answers_503_and_loses_nothing_it_acknowledged() {
    let settings = Settings {
        queue_capacity: 2,
        batch_max: 2,
        ..Settings::default()
    };
    let app = TestApp::spawn_with(settings).await;
    let s = app.setup().await;
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let client = app.client.clone();
        let url = app.url(&format!("/c/{}", s.link_id));
        tasks.push(tokio::spawn(async move {
            client.get(url).send().await.unwrap()
        }));
    }
    let (mut ok, mut refused) = (Vec::new(), 0);
    for t in tasks {
        let r = t.await.unwrap();
        match r.status() {
            StatusCode::FOUND => ok.push(click_id_of(r.headers()["location"].to_str().unwrap())),
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_eq!(r.headers()["retry-after"], "1");
                let v: Value = r.json().await.unwrap();
                assert_eq!(v["error"], "overloaded");
                refused += 1;
            }
            other => panic!("{other}"),
        }
    }
    assert!(
        refused > 0,
        "a queue of 2 under 200 concurrent clicks should refuse some"
    );
    assert!(!ok.is_empty());
    for id in &ok {
        let found = app
            .store
            .click(ClickId::parse(id).unwrap(), &clickledger_store::Scope::All)
            .await
            .unwrap();
        assert!(found.is_some(), "acknowledged click {id} is not stored");
    }
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(&format!(
            "clickledger_clicks_total{{result=\"overloaded\"}} {refused}"
        )),
        "{metrics}"
    );
}

#[tokio::test]
async fn clicks_and_conversions_survive_a_restart() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let mut ids = Vec::new();
    for _ in 0..20 {
        ids.push(app.click(&s.link_id).await);
    }
    app.postback(&[
        ("token", &s.token),
        ("click_id", &ids[0]),
        ("event", "registration"),
    ])
    .await;
    let dir = app.stop().await;
    let app = TestApp::spawn_in(dir, Settings::default()).await;
    for id in &ids {
        let (st, _) = app.get(&format!("/api/v1/clicks/{id}")).await;
        assert_eq!(st, StatusCode::OK);
    }
    // config came back too: the link still redirects, the token still works
    let cid = app.click(&s.link_id).await;
    let (_, v) = app
        .postback(&[
            ("token", &s.token),
            ("click_id", &cid),
            ("event", "registration"),
        ])
        .await;
    assert_eq!(v["result"], "accepted");
    let (_, v) = app
        .postback(&[
            ("token", &s.token),
            ("click_id", &ids[0]),
            ("event", "registration"),
        ])
        .await;
    assert_eq!(v["result"], "duplicate");
}
