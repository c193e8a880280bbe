//! Alerts over real HTTP and a real store, with the evaluator's clock
//! injected (`evaluate(state, now_ms)`), and alert hooks heard by a real
//! receiver on loopback.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use clickledger_domain::alerts::{Change, Thresholds};
use clickledger_domain::signature::webhook_sign;
use clickledger_domain::ClickId;
use clickledger_server::alerts::evaluate::{evaluate, AlertSettings};
use clickledger_server::delivery::DeliverySettings;
use clickledger_server::util::now_ms;
use clickledger_server::Settings;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// What a hook receiver heard: headers and JSON body, in order.
type Message = (HeaderMap, Vec<u8>);

#[derive(Clone, Default)]
struct Heard(Arc<Mutex<Vec<Message>>>);

impl Heard {
    fn all(&self) -> Vec<Message> {
        self.0.lock().unwrap().clone()
    }

    fn bodies(&self) -> Vec<Value> {
        self.all()
            .iter()
            .map(|(_, b)| serde_json::from_slice(b).unwrap())
            .collect()
    }

    /// Waits until `n` messages have arrived (5 s at most).
    async fn wait_for(&self, n: usize) -> Vec<Value> {
        for _ in 0..100 {
            if self.all().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.bodies()
    }
}

/// A receiver on loopback answering 200 to everything; its base URL.
async fn receiver() -> (String, Heard) {
    let heard = Heard::default();
    let h = heard.clone();
    let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
        let h = h.clone();
        async move {
            h.0.lock().unwrap().push((headers, body.to_vec()));
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), heard)
}

fn settings(thresholds: Thresholds) -> Settings {
    Settings {
        delivery: DeliverySettings {
            allow_private: true,
            backoff: vec![Duration::from_millis(100)],
            poll: Duration::from_millis(50),
            ..DeliverySettings::default()
        },
        alerts: AlertSettings {
            thresholds,
            quiet_ms: 0,
            // the minute's evaluator stays out of the way: tests evaluate
            every: Duration::from_secs(3600),
            digest_hour: None,
            ..AlertSettings::default()
        },
        ..Settings::default()
    }
}

async fn eval(app: &TestApp, now: i64) -> Vec<Change> {
    evaluate(&app.running.as_ref().unwrap().state, now)
        .await
        .unwrap()
}

/// A click on the setup's link and its registration postback.
async fn converted(app: &TestApp, s: &Setup, txid: &str) {
    let cid = app.click(&s.link_id).await;
    let (status, v) = app
        .postback(&[
            ("click_id", cid.as_str()),
            ("event", "registration"),
            ("txid", txid),
            ("token", s.token.as_str()),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
}

async fn hook(app: &TestApp, body: Value) -> Value {
    app.create("/api/v1/alert-hooks", body).await
}

fn check_signed(headers: &HeaderMap, body: &[u8], secret: &str) {
    let id = headers["webhook-id"].to_str().unwrap();
    let ts = headers["webhook-timestamp"].to_str().unwrap();
    assert!(id.starts_with("almsg_"), "{id}");
    assert_eq!(
        headers["webhook-signature"].to_str().unwrap(),
        webhook_sign(secret, id, ts, body)
    );
}

#[tokio::test]
async fn a_steady_offer_whose_postbacks_stop_opens_one_alert_and_resolves_when_they_return() {
    let app = TestApp::spawn_with(settings(Thresholds {
        stopped_min_interval_ms: 1_000,
        stopped_min_clicks: 3,
        ..Thresholds::default()
    }))
    .await;
    let s = app.setup().await;
    let (rx, heard) = receiver().await;
    let standard = hook(&app, json!({"url": format!("{rx}/standard")})).await;
    let secret = standard["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    let (slack_rx, slack_heard) = receiver().await;
    hook(
        &app,
        json!({"url": format!("{slack_rx}/slack"), "kinds": ["postbacks_stopped"], "format": "slack"}),
    )
    .await;
    let (other_rx, other_heard) = receiver().await;
    hook(
        &app,
        json!({"url": other_rx, "kinds": ["rejections_spike"]}),
    )
    .await;
    // the secret is shown once
    let (_, list) = app.get("/api/v1/alert-hooks").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
    assert!(list["items"][0].get("secret").is_none(), "{list}");

    // a steady history: five conversions, then clicks without postbacks
    for n in 0..5 {
        converted(&app, &s, &format!("tx{n}")).await;
    }
    // times are milliseconds, and on loopback a click can land in the
    // same one as the postback before it: "since the last postback" is
    // then ambiguous, so the clicks come a few milliseconds later
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    for _ in 0..3 {
        app.click(&s.link_id).await;
    }
    let t = now_ms();
    // usual interval: the 1 s floor; stopped after 4 s of silence
    assert!(eval(&app, t + 1_000).await.is_empty());
    let changes = eval(&app, t + 10_000).await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert!(matches!(&changes[0], Change::Opened(a) if a.kind.as_str() == "postbacks_stopped"));

    let (status, v) = app.get("/api/v1/alerts?state=open").await;
    assert_eq!(status, StatusCode::OK);
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{v}");
    let alert = &items[0];
    assert_eq!(alert["kind"], "postbacks_stopped");
    assert_eq!(alert["subject"], format!("offer:{}", s.offer_id));
    assert_eq!(alert["offer_id"], s.offer_id.as_str());
    assert_eq!(alert["advertiser_id"], s.advertiser_id.as_str());
    assert_eq!(alert["state"], "open");
    assert_eq!(alert["figures"]["clicks_since"], 3);
    assert_eq!(alert["figures"]["usual_interval_seconds"], 1);
    assert!(alert["resolved_at"].is_null());

    // partners: the advertiser sees its offer's alert, the affiliate not
    let (_, adv) = app
        .call_as(
            &s.advertiser_key,
            reqwest::Method::GET,
            "/api/v1/alerts",
            None,
        )
        .await;
    assert_eq!(adv["items"][0]["id"], alert["id"]);
    let (_, aff) = app
        .call_as(
            &s.affiliate_key,
            reqwest::Method::GET,
            "/api/v1/alerts",
            None,
        )
        .await;
    assert_eq!(aff["items"], json!([]));

    let opened = heard.wait_for(1).await;
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0]["type"], "alert.opened");
    assert_eq!(opened[0]["data"]["id"], alert["id"]);
    assert_eq!(opened[0]["data"]["kind"], "postbacks_stopped");
    let (headers, raw) = &heard.all()[0];
    check_signed(headers, raw, &secret);
    let slack = slack_heard.wait_for(1).await;
    assert!(
        slack[0]["text"]
            .as_str()
            .unwrap()
            .contains("Opened: postbacks_stopped"),
        "{slack:?}"
    );
    assert_eq!(slack[0].as_object().unwrap().len(), 1);

    // still silent a minute later: updated figures, no second message
    let changes = eval(&app, t + 70_000).await;
    assert!(
        matches!(&changes[..], [Change::Updated(a)] if a.figures["silent_seconds"].as_i64() > Some(60)),
        "{changes:?}"
    );
    assert!(eval(&app, t + 70_000).await.is_empty(), "nothing changed");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(heard.all().len(), 1, "one message per state change");

    // the postbacks return: resolved, and told once
    converted(&app, &s, "tx-back").await;
    let changes = eval(&app, now_ms() + 500).await;
    assert!(matches!(&changes[..], [Change::Resolved(_)]), "{changes:?}");
    let (_, v) = app.get("/api/v1/alerts?state=resolved").await;
    assert_eq!(v["items"][0]["id"], alert["id"]);
    assert!(v["items"][0]["resolved_at"].is_string());
    let (_, v) = app.get("/api/v1/alerts?state=open").await;
    assert_eq!(v["items"], json!([]));
    let all = heard.wait_for(2).await;
    assert_eq!(all.len(), 2);
    assert_eq!(all[1]["type"], "alert.resolved");
    assert_eq!(all[1]["data"]["id"], alert["id"]);
    assert_eq!(all[1]["data"]["state"], "resolved");
    let (headers, raw) = &heard.all()[1];
    check_signed(headers, raw, &secret);
    assert_ne!(
        heard.all()[0].0["webhook-id"],
        heard.all()[1].0["webhook-id"]
    );
    assert!(slack_heard.wait_for(2).await[1]["text"]
        .as_str()
        .unwrap()
        .contains("Resolved"));
    // the hook for other kinds heard nothing
    assert!(other_heard.all().is_empty());

    // each message is listed with how it went (the sender records the
    // answer just after the receiver has the message: wait for it)
    let path = format!(
        "/api/v1/alert-hooks/{}/deliveries",
        standard["id"].as_str().unwrap()
    );
    let delivered = |d: &Value| {
        d["items"]
            .as_array()
            .is_some_and(|d| d.iter().all(|m| m["state"] == "delivered"))
    };
    let mut d = app.get(&path).await.1;
    for _ in 0..50 {
        if delivered(&d) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        d = app.get(&path).await.1;
    }
    let d = d["items"].as_array().unwrap();
    assert_eq!(d.len(), 2);
    assert!(
        d.iter()
            .all(|m| m["state"] == "delivered" && m["attempts"] == 1),
        "{d:?}"
    );
    let mut events: Vec<&str> = d.iter().map(|m| m["event"].as_str().unwrap()).collect();
    events.sort();
    assert_eq!(events, ["alert.opened", "alert.resolved"]);
}

#[tokio::test]
async fn a_spike_of_unknown_click_ids_opens_one_alert_and_macros_another() {
    let app = TestApp::spawn_with(settings(Thresholds {
        spike_min_count: 5,
        ..Thresholds::default()
    }))
    .await;
    let s = app.setup().await;
    let (rx, heard) = receiver().await;
    let h = hook(&app, json!({"url": rx, "kinds": ["rejections_spike"]})).await;
    converted(&app, &s, "ok-1").await;
    for n in 0..6u128 {
        // well-formed ids that were never issued here
        let id = ClickId::new(now_ms() as u64, 1000 + n).encode();
        let (status, v) = app
            .postback(&[("click_id", id.as_str()), ("token", s.token.as_str())])
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{v}");
        assert_eq!(v["error"], "unknown_click_id");
    }
    for _ in 0..3 {
        let (status, _) = app
            .postback(&[("click_id", "{click_id}"), ("token", s.token.as_str())])
            .await;
        assert!(status.is_client_error());
    }
    let now = now_ms() + 100;
    let changes = eval(&app, now).await;
    let mut opened: Vec<(String, String)> = changes
        .iter()
        .map(|c| match c {
            Change::Opened(a) => (a.kind.as_str().to_string(), a.subject.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    opened.sort();
    assert_eq!(
        opened,
        vec![
            (
                "rejections_spike".to_string(),
                format!("advertiser:{}/unknown_click_id", s.advertiser_id)
            ),
            (
                "unreplaced_macro".to_string(),
                format!("advertiser:{}", s.advertiser_id)
            ),
        ]
    );
    let (_, v) = app.get("/api/v1/alerts?kind=rejections_spike").await;
    let spike = &v["items"][0];
    assert_eq!(spike["figures"]["error"], "unknown_click_id");
    assert_eq!(spike["figures"]["refused"], 6);
    assert_eq!(spike["figures"]["total"], 10);
    // evaluated again with the same figures: nothing new, nothing sent again
    assert!(eval(&app, now + 1).await.is_empty());
    let got = heard.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(heard.all().len(), 1, "{got:?}");
    assert_eq!(got[0]["data"]["kind"], "rejections_spike");
    check_signed(
        &heard.all()[0].0,
        &heard.all()[0].1,
        h["secret"].as_str().unwrap(),
    );
    // an unknown kind or state is refused with the error shape
    let (status, v) = app.get("/api/v1/alerts?kind=nope").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["message"].as_str().unwrap().contains("kind"), "{v}");
    let (status, v) = app
        .post("/api/v1/alert-hooks", json!({"url": rx, "kinds": ["nope"]}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["message"].as_str().unwrap().contains("`nope`"), "{v}");
    // an offer's override silences the kind for it
    let (status, v) = app
        .patch(
            &format!("/api/v1/advertisers/{}", s.advertiser_id),
            json!({"alert_overrides": {"disabled": ["rejections_spike", "unreplaced_macro"]}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["alert_overrides"]["disabled"][0], "rejections_spike");
    app.running.as_ref().unwrap().state.reload().await.unwrap();
    let changes = eval(&app, now + 2).await;
    assert_eq!(changes.len(), 2, "both resolve: {changes:?}");
    assert!(changes.iter().all(|c| matches!(c, Change::Resolved(_))));

    // adding and removing a hook are in the audit log, without its secret
    let id = h["id"].as_str().unwrap();
    let path = format!("/api/v1/alert-hooks/{id}");
    // removed once; the second time there is nothing to remove
    for expected in [StatusCode::OK, StatusCode::NOT_FOUND] {
        let (status, v) = app.admin(reqwest::Method::DELETE, &path, None).await;
        assert_eq!(status, expected, "{v}");
    }
    let (_, audit) = app.get(&format!("/api/v1/audit?entity_id={id}")).await;
    let entries = audit["items"].as_array().unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["delete", "create"], "{audit}");
    assert_eq!(entries[1]["after"]["url"], json!(rx), "{audit}");
    assert_eq!(entries[0]["before"]["kinds"], json!(["rejections_spike"]));
    assert!(entries[0]["after"].is_null(), "{audit}");
    let secret = h["secret"].as_str().unwrap();
    assert!(!audit.to_string().contains(secret), "{audit}");
}
