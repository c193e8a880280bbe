//! Outbound postbacks to real HTTP receivers on loopback.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use base64::Engine;
use clickledger_domain::destination_health::HealthPolicy;
use clickledger_server::alerts::AlertHook;
use clickledger_server::delivery::DeliverySettings;
use clickledger_server::Settings;
use common::*;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

#[derive(Clone, Debug)]
struct Hit {
    method: String,
    uri: String,
    headers: HeaderMap,
    body: Vec<u8>,
    at: Instant,
    /// What the receiver answered.
    status: u16,
}

type Behavior = Arc<dyn Fn(usize) -> (u16, Duration) + Send + Sync>;

struct Receiver {
    base: String,
    hits: Arc<Mutex<Vec<Hit>>>,
    max_inflight: Arc<AtomicUsize>,
}

impl Receiver {
    async fn start(behavior: Behavior) -> Receiver {
        let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
        let inflight = Arc::new(AtomicUsize::new(0));
        let max_inflight = Arc::new(AtomicUsize::new(0));
        let (h, i, m) = (hits.clone(), inflight.clone(), max_inflight.clone());
        let handler = move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let (hits, inflight, max, behavior) =
                (h.clone(), i.clone(), m.clone(), behavior.clone());
            async move {
                let (status, delay) = {
                    let mut hits = hits.lock().unwrap();
                    let (status, delay) = behavior(hits.len());
                    hits.push(Hit {
                        method: method.to_string(),
                        uri: uri.to_string(),
                        headers,
                        body: body.to_vec(),
                        at: Instant::now(),
                        status,
                    });
                    (status, delay)
                };
                let now = inflight.fetch_add(1, SeqCst) + 1;
                max.fetch_max(now, SeqCst);
                tokio::time::sleep(delay).await;
                inflight.fetch_sub(1, SeqCst);
                let mut resp =
                    axum::response::Response::new(axum::body::Body::from("ok from receiver"));
                *resp.status_mut() = StatusCode::from_u16(status).unwrap();
                if status == 302 {
                    resp.headers_mut()
                        .insert("location", "http://127.0.0.1:9/elsewhere".parse().unwrap());
                }
                resp
            }
        };
        let app = axum::Router::new().fallback(handler);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver {
            base: format!("http://{addr}"),
            hits,
            max_inflight,
        }
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }
}

fn fast_settings() -> Settings {
    Settings {
        delivery: DeliverySettings {
            backoff: vec![
                Duration::from_millis(100),
                Duration::from_millis(200),
                Duration::from_millis(400),
            ],
            allow_private: true,
            timeout: Duration::from_millis(800),
            connect_timeout: Duration::from_millis(500),
            health: HealthPolicy {
                probe_first_ms: 100,
                probe_max_ms: 400,
                ..HealthPolicy::default()
            },
            poll: Duration::from_millis(50),
            ..DeliverySettings::default()
        },
        ..Settings::default()
    }
}

/// An affiliate posting back to `url`, with a link on the setup's offer;
/// returns the link id and the affiliate's webhook secret.
async fn affiliate_with(app: &TestApp, s: &Setup, url: String) -> (String, String) {
    let (aff, link) = app
        .affiliate_with_link(
            &s.offer_id,
            json!({"name": "Receiver", "postback_url": url}),
        )
        .await;
    (
        link["id"].as_str().unwrap().to_string(),
        aff["webhook_secret"].as_str().unwrap().to_string(),
    )
}

/// A click on `link` and its registration postback: the answer's body.
async fn register(app: &TestApp, s: &Setup, link: &str) -> Value {
    let cid = app.click(link).await;
    let (_, v) = app
        .postback(&[
            ("token", &s.token),
            ("click_id", &cid),
            ("event", "registration"),
        ])
        .await;
    v
}

async fn wait_for<F: Fn(&Value) -> bool>(app: &TestApp, path: &str, what: &str, cond: F) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, v) = app.get(path).await;
        if cond(&v) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {v}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// HMAC-SHA256 written out from RFC 2104, independent of the server's code.
fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let inner: Vec<u8> = k
        .iter()
        .map(|b| b ^ 0x36)
        .chain(msg.iter().copied())
        .collect();
    let inner_hash = Sha256::digest(&inner);
    let outer: Vec<u8> = k
        .iter()
        .map(|b| b ^ 0x5c)
        .chain(inner_hash.iter().copied())
        .collect();
    Sha256::digest(&outer).to_vec()
}

/// Standard Webhooks verification as the spec describes it.
fn verify_standard_webhook(secret: &str, hit: &Hit) -> bool {
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let id = hit.headers["webhook-id"].to_str().unwrap();
    let ts = hit.headers["webhook-timestamp"].to_str().unwrap();
    let signed: Vec<u8> = [id.as_bytes(), b".", ts.as_bytes(), b"."].concat();
    let expected = b64.encode(hmac_sha256(&key, &[signed, hit_content(hit)].concat()));
    hit.headers["webhook-signature"]
        .to_str()
        .unwrap()
        .split(' ')
        .any(|s| s == format!("v1,{expected}"))
}

/// For a GET the full URL is signed, as the receiver sees it.
fn hit_content(hit: &Hit) -> Vec<u8> {
    if hit.method == "GET" {
        format!(
            "http://{}{}",
            hit.headers["host"].to_str().unwrap(),
            hit.uri
        )
        .into_bytes()
    } else {
        hit.body.clone()
    }
}

#[tokio::test]
async fn fails_twice_then_succeeds_signed_and_idempotent() {
    let rx = Receiver::start(Arc::new(|n| {
        (if n < 2 { 500 } else { 200 }, Duration::ZERO)
    }))
    .await;
    let app = TestApp::spawn_with(fast_settings()).await;
    let s = app.setup().await;
    let (link, secret) = affiliate_with(
        &app,
        &s,
        format!(
            "{}/pb?c={{click_id}}&p={{payout}}&st={{status}}&s1={{sub1}}&cv={{conversion_id}}",
            rx.base
        ),
    )
    .await;
    let cid = app.click(&link).await;
    let (_, v) = app
        .postback(&[
            ("token", &s.token),
            ("click_id", &cid),
            ("event", "registration"),
        ])
        .await;
    let conv = v["conversion_id"].as_str().unwrap().to_string();
    let list = wait_for(
        &app,
        "/api/v1/deliveries?state=delivered",
        "delivery",
        |v| v["items"].as_array().is_some_and(|i| !i.is_empty()),
    )
    .await;
    let id = list["items"][0]["id"].as_str().unwrap().to_string();
    let (_, d) = app.get(&format!("/api/v1/deliveries/{id}")).await;
    assert_eq!(d["attempts"], 3, "{d}");
    let statuses: Vec<u64> = d["attempts_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [500, 500, 200]);
    assert_eq!(d["attempts_log"][2]["response"], "ok from receiver");
    assert_eq!(d["conversion_id"], conv.as_str());

    let hits = rx.hits();
    assert_eq!(hits.len(), 3);
    let first = &hits[0];
    assert_eq!(
        first.uri,
        format!("/pb?c={cid}&p=2.00&st=approved&s1=s&cv={conv}")
    );
    for h in &hits {
        assert_eq!(
            h.headers["webhook-id"],
            id.as_str(),
            "stable across retries"
        );
        assert_eq!(h.headers["idempotency-key"], id.as_str());
        assert!(
            verify_standard_webhook(&secret, h),
            "signature does not verify: {:?}",
            h.headers
        );
    }
    // the backoff was followed: ~100 ms then ~200 ms (±10 %)
    let gap1 = hits[1].at - hits[0].at;
    let gap2 = hits[2].at - hits[1].at;
    assert!(gap1 >= Duration::from_millis(85), "{gap1:?}");
    assert!(gap2 >= Duration::from_millis(175), "{gap2:?}");
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("clickledger_delivery_attempts_total{outcome=\"retry\"} 2"),
        "{metrics}"
    );
}

/// A destination that never answers well: failing after 3 failures in a
/// row, then only probes (always the oldest job, whose attempts they do not
/// spend), disabled once it has failed for the (short) window and at least
/// the minimum count, then nothing at all; a person re-enables it and the
/// waiting jobs go out oldest first.
#[tokio::test]
async fn always_failing_destination_is_probed_then_disabled_then_re_enabled_in_order() {
    let healthy = Arc::new(AtomicBool::new(false));
    let h = healthy.clone();
    let rx = Receiver::start(Arc::new(move |_| {
        (if h.load(SeqCst) { 200 } else { 503 }, Duration::ZERO)
    }))
    .await;
    let mut settings = fast_settings();
    settings.delivery.backoff = vec![Duration::from_millis(50); 10];
    settings.delivery.health = HealthPolicy {
        failing_after: 3,
        probe_first_ms: 100,
        probe_max_ms: 200,
        disable_after_ms: 1_500,
        disable_min_failures: 8,
    };
    let app = TestApp::spawn_with(settings).await;
    let s = app.setup().await;
    let (link, _) = affiliate_with(&app, &s, format!("{}/pb?cv={{conversion_id}}", rx.base)).await;
    let v1 = register(&app, &s, &link).await;
    let cv1 = v1["conversion_id"].as_str().unwrap().to_string();
    let dest = wait_for(&app, "/api/v1/destinations", "failing", |v| {
        v["items"][0]["state"] == "failing"
    })
    .await;
    let d = &dest["items"][0];
    assert_eq!(d["suspended"], false, "failing is not disabled: {dest}");
    assert!(d["consecutive_failures"].as_u64().unwrap() >= 3, "{dest}");
    assert!(d["failing_since"].is_string(), "{dest}");
    assert!(d["next_probe_at"].is_string(), "{dest}");
    assert!(
        d["reason"]
            .as_str()
            .unwrap()
            .starts_with("failing after 3 failed attempts in a row; last: HTTP 503"),
        "{dest}"
    );
    let aff = d["affiliate_id"].as_str().unwrap().to_string();

    // a new conversion waits behind it
    let cid2 = app.click(&link).await;
    let (_, v2) = app
        .postback(&[
            ("token", &s.token),
            ("click_id", &cid2),
            ("event", "registration"),
        ])
        .await;
    let cv2 = v2["conversion_id"].as_str().unwrap().to_string();
    let (_, waiting) = app.get("/api/v1/deliveries?state=suspended").await;
    assert_eq!(waiting["items"].as_array().unwrap().len(), 2, "{waiting}");

    let dest = wait_for(&app, "/api/v1/destinations", "disabled", |v| {
        v["items"][0]["state"] == "disabled"
    })
    .await;
    let d = &dest["items"][0];
    assert_eq!(d["suspended"], true, "{dest}");
    assert!(d["consecutive_failures"].as_u64().unwrap() >= 8, "{dest}");
    assert!(d["next_probe_at"].is_null(), "{dest}");
    assert!(
        d["reason"].as_str().unwrap().starts_with("disabled after "),
        "{dest}"
    );
    let hits_when_disabled = rx.hits().len();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let hits = rx.hits();
    assert_eq!(
        hits.len(),
        hits_when_disabled,
        "a disabled destination gets nothing, not even probes"
    );
    assert!(hits.len() >= 8, "{}", hits.len());
    assert!(
        hits.iter().all(|h| h.uri.ends_with(&cv1)),
        "only the oldest job went out (as the probe)"
    );
    // the probes did not spend its retries: 3 attempts counted, all logged
    let (_, list) = app
        .get(&format!("/api/v1/deliveries?conversion_id={cv1}"))
        .await;
    let id1 = list["items"][0]["id"].as_str().unwrap();
    let (_, job) = app.get(&format!("/api/v1/deliveries/{id1}")).await;
    assert_eq!(job["attempts"], 3, "{job}");
    assert_eq!(job["state"], "pending", "{job}");
    assert_eq!(
        job["attempts_log"].as_array().unwrap().len(),
        hits.len(),
        "{job}"
    );
    let kinds = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, events) = app.get(&format!("/api/v1/destinations/{aff}/events")).await;
    assert_eq!(kinds(&events), ["disabled", "failing"], "{events}");
    assert_eq!(events["items"][0]["last_error"], "HTTP 503", "{events}");

    healthy.store(true, SeqCst);
    let (st, r) = app
        .post(
            &format!("/api/v1/affiliates/{aff}/resume-deliveries"),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        r,
        json!({"affiliate_id": aff, "suspended": false, "state": "healthy"})
    );
    wait_for(
        &app,
        "/api/v1/deliveries?state=delivered",
        "both delivered",
        |v| v["items"].as_array().is_some_and(|i| i.len() == 2),
    )
    .await;
    let delivered: Vec<Hit> = rx.hits().into_iter().filter(|h| h.status == 200).collect();
    assert_eq!(delivered.len(), 2);
    assert!(delivered[0].uri.ends_with(&cv1), "the older job first");
    assert!(delivered[1].uri.ends_with(&cv2));
    let (_, events) = app.get(&format!("/api/v1/destinations/{aff}/events")).await;
    assert_eq!(
        kinds(&events),
        ["enabled", "disabled", "failing"],
        "{events}"
    );
    let (_, dest) = app.get("/api/v1/destinations").await;
    assert_eq!(dest["items"][0]["state"], "healthy", "{dest}");
    assert_eq!(dest["items"][0]["consecutive_failures"], 0, "{dest}");
}

#[tokio::test]
async fn hanging_404_and_redirecting_destinations() {
    // hangs past the timeout: retried, error says timeout
    let rx = Receiver::start(Arc::new(|_| (200, Duration::from_secs(3)))).await;
    let app = TestApp::spawn_with(fast_settings()).await;
    let s = app.setup().await;
    let (link, _) = affiliate_with(&app, &s, format!("{}/slow", rx.base)).await;
    register(&app, &s, &link).await;
    let list = wait_for(&app, "/api/v1/deliveries", "a timed-out attempt", |v| {
        v["items"][0]["attempts"].as_u64() >= Some(1)
    })
    .await;
    assert!(
        list["items"][0]["last_error"]
            .as_str()
            .unwrap()
            .starts_with("timeout"),
        "{list}"
    );
    assert_eq!(list["items"][0]["state"], "pending");

    // 404: failed for good after one attempt
    let rx = Receiver::start(Arc::new(|_| (404, Duration::ZERO))).await;
    let app = TestApp::spawn_with(fast_settings()).await;
    let s = app.setup().await;
    let (link, _) = affiliate_with(&app, &s, format!("{}/gone", rx.base)).await;
    register(&app, &s, &link).await;
    let list = wait_for(
        &app,
        "/api/v1/deliveries?state=failed",
        "a failed delivery",
        |v| v["items"].as_array().is_some_and(|i| !i.is_empty()),
    )
    .await;
    assert_eq!(list["items"][0]["attempts"], 1);
    assert_eq!(list["items"][0]["last_status"], 404);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rx.hits().len(), 1);
    // a manual retry sends it again
    let id = list["items"][0]["id"].as_str().unwrap();
    app.post(&format!("/api/v1/deliveries/{id}/retry"), json!({}))
        .await;
    let _ = wait_for(
        &app,
        &format!("/api/v1/deliveries/{id}"),
        "the retry",
        |v| v["attempts_log"].as_array().is_some_and(|a| a.len() == 2),
    )
    .await;
    assert_eq!(rx.hits().len(), 2);

    // a redirect is not followed
    let rx = Receiver::start(Arc::new(|_| (302, Duration::ZERO))).await;
    let app = TestApp::spawn_with(fast_settings()).await;
    let s = app.setup().await;
    let (link, _) = affiliate_with(&app, &s, format!("{}/moved", rx.base)).await;
    register(&app, &s, &link).await;
    let list = wait_for(
        &app,
        "/api/v1/deliveries?state=failed",
        "a refused redirect",
        |v| v["items"].as_array().is_some_and(|i| !i.is_empty()),
    )
    .await;
    assert_eq!(list["items"][0]["last_error"], "redirects are not followed");
    assert_eq!(rx.hits().len(), 1);
}

#[tokio::test]
async fn a_reversal_is_announced_and_templates_pick_by_offer_and_event() {
    let rx = Receiver::start(Arc::new(|_| (200, Duration::ZERO))).await;
    let app = TestApp::spawn_with(fast_settings()).await;
    let s = app.setup().await;
    let aff = app
        .create(
            "/api/v1/affiliates",
            json!({"name": "R", "postback_url": format!("{}/global?st={{status}}&e={{event}}", rx.base),
                   "postbacks": [{"url": format!("{}/sales?st={{status}}&p={{payout}}&cur={{currency}}", rx.base), "offer_id": s.offer_id, "event": "sale",
                                  "statuses": ["approved", "pending", "reversed"], "method": "POST"}]}),
        )
        .await;
    let link = app
        .create(
            "/api/v1/links",
            json!({"offer_id": s.offer_id, "affiliate_id": aff["id"]}),
        )
        .await;
    let link = link["id"].as_str().unwrap();
    let cid = app.click(link).await;
    app.postback(&[
        ("token", &s.token),
        ("click_id", &cid),
        ("event", "sale"),
        ("txid", "t1"),
        ("amount", "10"),
        ("status", "pending"),
    ])
    .await;
    app.postback(&[
        ("token", &s.token),
        ("click_id", &cid),
        ("event", "sale"),
        ("txid", "t1"),
        ("status", "approved"),
    ])
    .await;
    app.postback(&[
        ("token", &s.token),
        ("click_id", &cid),
        ("event", "sale"),
        ("txid", "t1"),
        ("status", "reversed"),
    ])
    .await;
    // pending on the global template does not fire; registration uses it
    app.postback(&[
        ("token", &s.token),
        ("click_id", &cid),
        ("event", "lead"),
        ("payout", "1"),
    ])
    .await;
    app.postback(&[
        ("token", &s.token),
        ("click_id", &cid),
        ("event", "registration"),
    ])
    .await;
    wait_for(
        &app,
        "/api/v1/deliveries?state=delivered",
        "four deliveries",
        |v| v["items"].as_array().is_some_and(|i| i.len() == 4),
    )
    .await;
    let hits = rx.hits();
    let sales: Vec<&Hit> = hits
        .iter()
        .filter(|h| h.uri.starts_with("/sales"))
        .collect();
    let statuses: Vec<&str> = sales
        .iter()
        .map(|h| {
            h.uri
                .split("st=")
                .nth(1)
                .unwrap()
                .split('&')
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(statuses.len(), 3);
    assert!(
        statuses.contains(&"reversed")
            && statuses.contains(&"pending")
            && statuses.contains(&"approved")
    );
    let body: Value = serde_json::from_slice(&sales[0].body).unwrap();
    assert_eq!(sales[0].method, "POST");
    assert_eq!(body["payout"], "3.00");
    assert_eq!(body["currency"], "USD");
    assert_eq!(body["click_id"], cid.as_str());
    let global: Vec<&Hit> = hits
        .iter()
        .filter(|h| h.uri.starts_with("/global"))
        .collect();
    assert_eq!(global.len(), 1);
    assert_eq!(global[0].uri, "/global?st=approved&e=registration");
}

#[tokio::test]
async fn destinations_are_guarded() {
    // a server that does not allow private destinations
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let (st, v) = app
        .post(
            "/api/v1/affiliates",
            json!({"name": "X", "postback_url": "http://aff.example/pb"}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v["message"].as_str().unwrap().contains("https"), "{v}");
    let (st, _) = app
        .post(
            "/api/v1/affiliates",
            json!({"name": "X", "postback_url": "http://aff.example/pb", "allow_http": true}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    // metadata and loopback addresses are refused at send time
    for url in [
        "https://169.254.169.254/latest/meta-data",
        "https://localhost:1/pb",
        "https://10.0.0.1/pb",
    ] {
        let (link, _) = affiliate_with(&app, &s, url.to_string()).await;
        register(&app, &s, &link).await;
    }
    let list = wait_for(
        &app,
        "/api/v1/deliveries?state=failed",
        "three refusals",
        |v| v["items"].as_array().is_some_and(|i| i.len() == 3),
    )
    .await;
    for d in list["items"].as_array().unwrap() {
        assert!(
            d["last_error"]
                .as_str()
                .unwrap()
                .contains("internal address (refused)"),
            "{d}"
        );
        assert_eq!(d["attempts"], 1);
    }
}

async fn thousand(settings: Settings, rx: &Receiver) -> (TestApp, Duration) {
    let app = TestApp::spawn_with(settings).await;
    let s = app.setup().await;
    let (link, _) = affiliate_with(&app, &s, format!("{}/pb?cv={{conversion_id}}", rx.base)).await;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (client, base, link, token) = (
            app.client.clone(),
            app.base.clone(),
            link.clone(),
            s.token.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for _ in 0..125 {
                let r = client.get(format!("{base}/c/{link}")).send().await.unwrap();
                let cid = click_id_of(r.headers()["location"].to_str().unwrap());
                let r = client
                    .get(format!("{base}/postback"))
                    .query(&[
                        ("token", token.as_str()),
                        ("click_id", &cid),
                        ("event", "registration"),
                    ])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::OK);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        // delivered is final: waiting for every job there does not race a
        // destination's recovery, as reading `pending` and then
        // `suspended` did (a job moved from one to the other between the
        // two reads, and both came back empty with 887 jobs to go)
        let (_, d) = app
            .get("/api/v1/deliveries?state=delivered&limit=1000")
            .await;
        let (_, f) = app.get("/api/v1/deliveries?state=failed&limit=1").await;
        assert_eq!(f["items"].as_array().unwrap().len(), 0, "{f}");
        if d["items"].as_array().unwrap().len() == 1000 {
            break;
        }
        assert!(Instant::now() < deadline, "deliveries still pending");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed();
    let mut seen: Vec<String> = rx.hits().iter().map(|h| h.uri.clone()).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 1000, "every conversion delivered");
    (app, elapsed)
}

#[tokio::test]
async fn a_thousand_conversions_to_a_slow_receiver_respect_the_bounds() {
    let rx = Receiver::start(Arc::new(|_| (200, Duration::from_millis(20)))).await;
    let mut settings = fast_settings();
    settings.delivery.concurrency = 16;
    settings.delivery.per_host = 4;
    thousand(settings, &rx).await;
    let max = rx.max_inflight.load(SeqCst);
    assert!(max <= 4, "per-host bound broken: {max} in flight");
    assert!(max >= 2, "deliveries never overlapped: {max}");
}

/// Prints the delivery rate to a fast local receiver (for the docs); the
/// figure is not asserted. Jobs pile up behind a failing destination,
/// then a person's re-enable is timed until the last one is delivered.
#[tokio::test]
async fn delivery_throughput_to_a_fast_receiver() {
    let open = Arc::new(AtomicBool::new(false));
    let o = open.clone();
    let rx = Receiver::start(Arc::new(move |_| {
        (if o.load(SeqCst) { 200 } else { 503 }, Duration::ZERO)
    }))
    .await;
    let mut settings = fast_settings();
    settings.delivery.per_host = 32;
    // failing at the first failure, never disabled: the jobs wait
    settings.delivery.health.failing_after = 1;
    settings.delivery.health.probe_first_ms = 1_000;
    settings.delivery.health.probe_max_ms = 60_000;
    settings.delivery.backoff = vec![Duration::from_millis(10); 3];
    let app = TestApp::spawn_with(settings).await;
    let s = app.setup().await;
    let (link, _) = affiliate_with(&app, &s, format!("{}/pb?cv={{conversion_id}}", rx.base)).await;
    for _ in 0..1000 {
        register(&app, &s, &link).await;
    }
    let (_, waiting) = app
        .get("/api/v1/deliveries?state=suspended&limit=1000")
        .await;
    assert_eq!(waiting["items"].as_array().unwrap().len(), 1000);
    let aff = waiting["items"][0]["affiliate_id"]
        .as_str()
        .unwrap()
        .to_string();
    open.store(true, SeqCst);
    let started = Instant::now();
    app.post(
        &format!("/api/v1/affiliates/{aff}/resume-deliveries"),
        json!({}),
    )
    .await;
    wait_for(
        &app,
        "/api/v1/deliveries?state=pending&limit=1",
        "all delivered",
        |v| v["items"].as_array().is_some_and(|i| i.is_empty()),
    )
    .await;
    let elapsed = started.elapsed();
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    eprintln!("delivery throughput: 1000 deliveries in {elapsed:?} = {:.0}/s ({build} build, 32 in flight)", 1000.0 / elapsed.as_secs_f64());
}

#[tokio::test]
async fn a_test_postback_is_sent_once_signed_and_answers_what_came_back() {
    let rx = Receiver::start(Arc::new(|_| (200, Duration::ZERO))).await;
    let app = TestApp::spawn_with(fast_settings()).await;
    let s = app.setup().await;
    let (aff, _) = app
        .affiliate_with_link(
            &s.offer_id,
            json!({"name": "Receiver", "postback_url": format!("{}/pb?cv={{conversion_id}}&st={{status}}&p={{payout}}&src={{source}}", rx.base)}),
        )
        .await;
    let id = aff["id"].as_str().unwrap();
    let key = aff["api_key"].as_str().unwrap();
    let secret = aff["webhook_secret"].as_str().unwrap();
    let path = format!("/api/v1/affiliates/{id}/test-postback");
    // the affiliate's own key may test its postback
    let (st, v) = app.call_as(key, reqwest::Method::POST, &path, None).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["test"], true);
    assert_eq!(v["response"]["status"], 200, "{v}");
    assert_eq!(v["response"]["body"], "ok from receiver");
    assert_eq!(v["response"]["delivered"], true);
    assert!(v["response"]["error"].is_null());
    assert_eq!(v["request"]["method"], "GET");
    let cv = v["values"]["conversion_id"].as_str().unwrap();
    assert!(cv.starts_with("cv_test-"), "{v}");
    assert_eq!(v["values"]["status"], "approved");
    assert_eq!(v["values"]["source"], "test");
    assert_eq!(v["request"]["headers"]["clickledger-test"], "true");
    let hits = rx.hits();
    assert_eq!(hits.len(), 1, "sent once");
    let hit = &hits[0];
    assert_eq!(
        hit.uri,
        format!("/pb?cv={cv}&st=approved&p=1.00&src=test"),
        "the template rendered with the made-up conversion"
    );
    assert_eq!(hit.headers["clickledger-test"], "true");
    assert_eq!(
        hit.headers["webhook-id"].to_str().unwrap(),
        v["request"]["headers"]["webhook-id"].as_str().unwrap()
    );
    assert!(
        verify_standard_webhook(secret, hit),
        "signed like a real delivery"
    );
    // nothing was queued; the test is in the audit log, by the affiliate's key
    let (_, d) = app
        .get(&format!("/api/v1/deliveries?affiliate_id={id}"))
        .await;
    assert_eq!(d["items"], json!([]), "{d}");
    let (_, audit) = app.get("/api/v1/audit?action=test_postback").await;
    assert_eq!(audit["items"][0]["entity_id"], id, "{audit}");
    assert_eq!(audit["items"][0]["after"]["status"], 200);
    // another affiliate's key, an advertiser's: as if it did not exist
    for other in [&s.affiliate_key, &s.advertiser_key] {
        let (st, v) = app.call_as(other, reqwest::Method::POST, &path, None).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{v}");
    }
    // an admin's test of an affiliate without a postback URL names the field
    let (st, v) = app
        .post(
            &format!("/api/v1/affiliates/{}/test-postback", s.affiliate_id),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["message"].as_str().unwrap().starts_with("postback_url: "),
        "{v}"
    );
    assert_eq!(rx.hits().len(), 1);
}

#[tokio::test]
async fn a_test_postback_keeps_to_the_destination_rules() {
    let rx = Receiver::start(Arc::new(|_| (200, Duration::ZERO))).await;
    // internal addresses are refused unless the server allows them
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let port = rx.base.rsplit(':').next().unwrap();
    let (aff, _) = app
        .affiliate_with_link(
            &s.offer_id,
            json!({"name": "Inside", "postback_url": format!("https://127.0.0.1:{port}/pb?cv={{conversion_id}}")}),
        )
        .await;
    let (st, v) = app
        .post(
            &format!(
                "/api/v1/affiliates/{}/test-postback",
                aff["id"].as_str().unwrap()
            ),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert!(v["response"]["status"].is_null(), "{v}");
    assert_eq!(v["response"]["delivered"], false);
    assert_eq!(
        v["response"]["error"],
        "destination refused: 127.0.0.1 is an internal address (refused)"
    );
    assert!(rx.hits().is_empty(), "nothing reached the receiver");
}

/// The burst outage: the receiver answers 503 for two seconds in the middle
/// of a burst of 1,000 conversions, and nobody acts. The destination turns
/// failing, its jobs wait without spending their retries, a probe finds it
/// back, and every conversion arrives (by webhook-id), none failed, with few
/// attempts each. Prints the time from recovery to the last delivery.
#[tokio::test]
async fn a_two_second_outage_during_a_burst_heals_without_anyone() {
    // when it began, on both clocks (the wall clock to compare with the
    // jobs' creation times)
    let outage: Arc<Mutex<Option<(Instant, std::time::SystemTime)>>> = Arc::default();
    let o = outage.clone();
    let down_for = Duration::from_secs(2);
    let rx = Receiver::start(Arc::new(move |n| {
        let mut o = o.lock().unwrap();
        if n == 100 {
            *o = Some((Instant::now(), std::time::SystemTime::now()));
        }
        let down = o.is_some_and(|(t, _)| t.elapsed() < down_for);
        (if down { 503 } else { 200 }, Duration::ZERO)
    }))
    .await;
    let mut settings = fast_settings();
    settings.delivery.health = HealthPolicy {
        failing_after: 5,
        probe_first_ms: 100,
        probe_max_ms: 400,
        ..HealthPolicy::default()
    };
    let (app, _) = thousand(settings, &rx).await;
    let hits = rx.hits();
    let (began, began_wall) = outage.lock().unwrap().expect("the outage happened");
    let recovered = began + down_for;
    let recovered_ms = (began_wall + down_for)
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let refused = hits.iter().filter(|h| h.status == 503).count();
    let mut ok: Vec<&Hit> = hits.iter().filter(|h| h.status == 200).collect();
    ok.sort_by_key(|h| h.at);
    let mut ids: Vec<String> = ok
        .iter()
        .map(|h| h.headers["webhook-id"].to_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1000, "every conversion's delivery arrived");
    assert!(refused > 0, "the outage refused some");
    // without the breaker each waiting job would have been tried on its own
    // schedule through the outage; with it, the jobs in flight plus probes
    assert!(
        refused < 150,
        "{refused} attempts hit the outage: jobs did not wait"
    );
    let (_, list) = app.get("/api/v1/deliveries?limit=1000").await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1000);
    assert!(items.iter().all(|d| d["state"] == "delivered"), "{list}");
    let most = items
        .iter()
        .map(|d| d["attempts"].as_u64().unwrap())
        .max()
        .unwrap();
    // a job in flight when the outage began failed once, rarely twice (a
    // success that arrived just before the outage but left after a failure
    // restarts the count); none was retried on and on into the outage (the
    // schedule allows 4 attempts)
    assert!(most <= 3, "retries were spent: a job took {most} attempts");
    // found back by a probe, within one (largest) probe interval and a margin
    let first_after = ok
        .iter()
        .find(|h| h.at >= recovered)
        .expect("deliveries after the outage");
    let found = first_after.at - recovered;
    assert!(
        found <= Duration::from_millis(400) + Duration::from_secs(2),
        "the recovery was found {found:?} after it"
    );
    let last = ok.last().unwrap().at;
    // the backlog: jobs created before the recovery; when its last arrived
    let backlog: std::collections::HashSet<&str> = items
        .iter()
        .filter(|d| {
            clickledger_domain::time::parse_rfc3339_ms(d["created_at"].as_str().unwrap()).unwrap()
                < recovered_ms
        })
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    let drained = ok
        .iter()
        .filter(|h| backlog.contains(h.headers["webhook-id"].to_str().unwrap()))
        .map(|h| h.at)
        .max()
        .unwrap()
        .saturating_duration_since(recovered);
    let aff = list["items"][0]["affiliate_id"].as_str().unwrap();
    let (_, events) = app.get(&format!("/api/v1/destinations/{aff}/events")).await;
    let kinds: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"recovered"), "{events}");
    assert_eq!(kinds.last(), Some(&"failing"), "{events}");
    let (_, dest) = app.get("/api/v1/destinations").await;
    assert_eq!(dest["items"][0]["state"], "healthy", "{dest}");
    eprintln!(
        "burst outage: {refused} attempts refused during the 2 s outage; recovery found after {found:?}; \
         the {} jobs created before the recovery all delivered {drained:?} after it; \
         last of 1000 delivered {:?} after recovery; at most {most} attempts a job; events {kinds:?}",
        backlog.len(),
        last.saturating_duration_since(recovered)
    );
}

/// The alert hook hears `destination.failing` once when the destination
/// turns failing (not once per failure, nor per failed probe), then
/// `destination.recovered` once, each signed the Standard Webhooks way.
#[tokio::test]
async fn the_alert_hook_hears_failing_then_recovered_once_each_signed() {
    let alerts = Receiver::start(Arc::new(|_| (200, Duration::ZERO))).await;
    let healthy = Arc::new(AtomicBool::new(false));
    let h = healthy.clone();
    let rx = Receiver::start(Arc::new(move |_| {
        (if h.load(SeqCst) { 200 } else { 503 }, Duration::ZERO)
    }))
    .await;
    let secret = format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode([42u8; 24])
    );
    let mut settings = fast_settings();
    settings.delivery.health = HealthPolicy {
        failing_after: 3,
        probe_first_ms: 100,
        probe_max_ms: 200,
        ..HealthPolicy::default()
    };
    settings.delivery.alert_hook = Some(AlertHook {
        url: format!("{}/alerts", alerts.base),
        secret: Some(secret.clone()),
    });
    let app = TestApp::spawn_with(settings).await;
    let s = app.setup().await;
    let (link, _) = affiliate_with(&app, &s, format!("{}/pb?cv={{conversion_id}}", rx.base)).await;
    for _ in 0..4 {
        register(&app, &s, &link).await;
    }
    let dest = wait_for(&app, "/api/v1/destinations", "failing", |v| {
        v["items"][0]["state"] == "failing"
    })
    .await;
    let aff = dest["items"][0]["affiliate_id"]
        .as_str()
        .unwrap()
        .to_string();
    // let several probes fail
    let failures_then = dest["items"][0]["consecutive_failures"].as_u64().unwrap();
    wait_for(&app, "/api/v1/destinations", "failed probes", |v| {
        v["items"][0]["consecutive_failures"].as_u64() >= Some(failures_then + 3)
    })
    .await;
    let check = |hit: &Hit, kind: &str| {
        let body: Value = serde_json::from_slice(&hit.body).unwrap();
        assert_eq!(hit.method, "POST");
        assert_eq!(hit.uri, "/alerts");
        assert_eq!(body["type"], format!("destination.{kind}"), "{body}");
        assert_eq!(body["affiliate_id"], aff.as_str(), "{body}");
        assert!(body["at"].as_str().unwrap().ends_with('Z'), "{body}");
        assert!(
            hit.headers["webhook-id"]
                .to_str()
                .unwrap()
                .starts_with("dstevt_"),
            "{:?}",
            hit.headers
        );
        assert!(
            verify_standard_webhook(&secret, hit),
            "the alert's signature does not verify: {:?}",
            hit.headers
        );
        body
    };
    let a = alerts.hits();
    assert_eq!(a.len(), 1, "one alert for the change, not one per failure");
    let failing = check(&a[0], "failing");
    assert_eq!(failing["consecutive_failures"], 3, "{failing}");
    assert_eq!(failing["last_error"], "HTTP 503", "{failing}");

    healthy.store(true, SeqCst);
    wait_for(
        &app,
        "/api/v1/deliveries?state=delivered",
        "all four delivered",
        |v| v["items"].as_array().is_some_and(|i| i.len() == 4),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while alerts.hits().len() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let a = alerts.hits();
    assert_eq!(a.len(), 2, "failing, then recovered, and nothing more");
    check(&a[1], "recovered");
    let (_, events) = app.get(&format!("/api/v1/destinations/{aff}/events")).await;
    let kinds: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["recovered", "failing"], "{events}");
    let metrics = app.metrics().await;
    for kind in ["failing", "recovered"] {
        assert!(
            metrics.contains(&format!(
                "clickledger_destination_events_total{{kind=\"{kind}\"}} 1\n"
            )),
            "{metrics}"
        );
    }
}
