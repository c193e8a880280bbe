//! Browser conversions over real HTTP: `t.js`, the conversion endpoint it
//! calls (`POST /t/conversion`) and the `/px` pixel, authenticated by the
//! advertiser's publishable key and the page's Origin/Referer host.

mod common;

use common::{Setup, TestApp};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The test advertiser takes browser conversions from `shop.test` and its
/// subdomains; `patch` adds more settings. Answers its publishable key.
async fn browser_advertiser(app: &TestApp, s: &Setup, patch: Value) -> String {
    let mut body = json!({"pixel_hosts": ["shop.test", "*.shop.test"]});
    body.as_object_mut()
        .unwrap()
        .extend(patch.as_object().unwrap().clone());
    let (status, adv) = app
        .patch(&format!("/api/v1/advertisers/{}", s.advertiser_id), body)
        .await;
    assert_eq!(status, StatusCode::OK, "{adv}");
    let pk = adv["publishable_key"].as_str().unwrap().to_string();
    assert!(pk.starts_with("pk_") && pk.len() > 20, "{pk}");
    pk
}

/// What `t.js` sends: JSON as text/plain, from a page at `origin`.
async fn send(app: &TestApp, origin: Option<&str>, body: Value) -> (StatusCode, HeaderMap, Value) {
    let mut req = app
        .client
        .post(app.url("/t/conversion"))
        .header("content-type", "text/plain;charset=UTF-8")
        .body(body.to_string());
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    let r = req.send().await.unwrap();
    let (status, headers) = (r.status(), r.headers().clone());
    (status, headers, r.json().await.unwrap())
}

/// The pixel from a page at `referer`: status, the outcome header, the body.
async fn pixel(
    app: &TestApp,
    referer: &str,
    query: &[(&str, &str)],
) -> (StatusCode, String, Vec<u8>) {
    let r = app
        .client
        .get(app.url("/px"))
        .query(query)
        .header("referer", referer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "image/gif");
    let outcome = r.headers()["x-clickledger-result"]
        .to_str()
        .unwrap()
        .to_string();
    (r.status(), outcome, r.bytes().await.unwrap().to_vec())
}

async fn conversions(app: &TestApp, query: &str) -> Vec<Value> {
    let (status, v) = app.get(&format!("/api/v1/conversions?{query}")).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    v["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_conversion_from_an_allowed_page_is_recorded_with_its_payout_and_channel_browser() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let pk = browser_advertiser(&app, &s, json!({})).await;
    let loc = app
        .click_location(&s.link_id, "sub1=spring&source=newsletter")
        .await;
    let cid = common::click_id_of(&loc);
    let (status, headers, v) = send(
        &app,
        Some("https://shop.test"),
        json!({"publishable_key": pk, "click_id": cid, "event": "sale", "txid": "web-1", "amount": "49.90"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["result"], "accepted", "{v}");
    assert_eq!(v["payout"], "14.97", "{v}");
    // the page may read the answer: CORS names its origin, and only it
    assert_eq!(headers["access-control-allow-origin"], "https://shop.test");

    let browser = conversions(&app, &format!("click_id={cid}&channel=browser")).await;
    assert_eq!(browser.len(), 1, "{browser:?}");
    let c = &browser[0];
    assert_eq!(c["channel"], "browser");
    assert_eq!(c["payout"], "14.97");
    assert_eq!(c["txid"], "web-1");
    assert_eq!(c["status"], "approved");
    // the click's traffic source stays the source
    assert_eq!(c["source"], "newsletter");
    assert_eq!(c["sub1"], "spring");
    assert!(conversions(&app, &format!("click_id={cid}&channel=s2s"))
        .await
        .is_empty());

    // a server-to-server postback records channel s2s
    let cid2 = app.click(&s.link_id).await;
    let (status, v) = app
        .postback(&[
            ("token", &s.token),
            ("click_id", &cid2),
            ("event", "registration"),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let s2s = conversions(&app, "channel=s2s").await;
    assert_eq!(s2s.len(), 1, "{s2s:?}");
    assert_eq!(s2s[0]["channel"], "s2s");
    assert_eq!(s2s[0]["click_id"], cid2.as_str());
    assert_eq!(conversions(&app, "channel=browser").await.len(), 1);
    let (status, v) = app.get("/api/v1/conversions?channel=email").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .starts_with("channel: `email`"),
        "{v}"
    );

    // accepted browser conversions are in the postback log as browser
    let (_, log) = app
        .get("/api/v1/postbacks?result=accepted&channel=browser")
        .await;
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{log}");
    assert_eq!(items[0]["channel"], "browser");
    assert_eq!(items[0]["click_id"], cid.as_str());
}

#[tokio::test]
async fn a_page_not_on_the_list_is_refused_and_the_refusal_is_logged_with_its_reason() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let pk = browser_advertiser(&app, &s, json!({})).await;
    let cid = app.click(&s.link_id).await;
    let body =
        json!({"publishable_key": pk, "click_id": cid, "event": "registration", "txid": "o-1"});
    let (status, headers, v) = send(&app, Some("https://evil.test"), body.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["error"], "host_not_allowed", "{v}");
    let msg = v["message"].as_str().unwrap();
    assert!(
        msg.contains("`evil.test` (from the Origin header)")
            && msg.contains("shop.test, *.shop.test"),
        "{msg}"
    );
    assert!(headers.get("access-control-allow-origin").is_none());
    // a look-alike is no subdomain
    let (status, _, v) = send(&app, Some("https://shop.test.evil.example"), body.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    // no page at all
    let (status, _, v) = send(&app, None, body).await;
    assert_eq!(v["error"], "host_not_allowed", "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("neither an Origin nor a Referer"),
        "{v}"
    );
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(conversions(&app, "channel=browser").await.is_empty());

    let (_, log) = app
        .get("/api/v1/postbacks?result=rejected&error=host_not_allowed&channel=browser")
        .await;
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{log}");
    let first = items.last().unwrap();
    assert_eq!(first["advertiser_id"], s.advertiser_id.as_str());
    assert_eq!(first["http_status"], 403);
    assert!(
        first["message"].as_str().unwrap().contains("`evil.test`"),
        "{first}"
    );
    assert_eq!(first["channel"], "browser");
    // the same expected-vs-received view as postbacks, in browser terms
    let required = first["expected"]["required"].to_string();
    assert!(required.contains("publishable_key"), "{required}");
    assert_eq!(
        first["expected"]["pixel_hosts"],
        json!(["shop.test", "*.shop.test"])
    );
    assert_eq!(
        first["diff"]["recognized"]["publishable_key"],
        "publishable_key"
    );
    assert_eq!(first["diff"]["missing"], json!([]));
}

#[tokio::test]
async fn wildcard_hosts_take_subdomains_at_any_depth_but_not_the_apex() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let (status, adv) = app
        .patch(
            &format!("/api/v1/advertisers/{}", s.advertiser_id),
            json!({"pixel_hosts": ["*.shop.test"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{adv}");
    let pk = adv["publishable_key"].as_str().unwrap();
    for (n, (origin, ok)) in [
        ("https://www.shop.test", true),
        ("http://a.b.shop.test:8080", true),
        ("https://shop.test", false),
        ("https://evilshop.test", false),
    ]
    .into_iter()
    .enumerate()
    {
        let cid = app.click(&s.link_id).await;
        let (status, _, v) = send(
            &app,
            Some(origin),
            json!({"publishable_key": pk, "click_id": cid, "event": "registration", "txid": format!("w-{n}")}),
        )
        .await;
        if ok {
            assert_eq!(
                (status, &v["result"]),
                (StatusCode::OK, &json!("accepted")),
                "{origin}: {v}"
            );
        } else {
            assert_eq!(v["error"], "host_not_allowed", "{origin}: {v}");
        }
    }
    // the pixel has no Origin: the Referer's host decides
    let cid = app.click(&s.link_id).await;
    let (status, outcome, _) = pixel(
        &app,
        "https://deep.sub.shop.test/thanks?order=1",
        &[
            ("publishable_key", pk),
            ("click_id", &cid),
            ("event", "registration"),
        ],
    )
    .await;
    assert_eq!((status, outcome.as_str()), (StatusCode::OK, "accepted"));
    assert_eq!(conversions(&app, "channel=browser").await.len(), 3);
}

#[tokio::test]
async fn a_missing_or_wrong_publishable_key_is_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    browser_advertiser(&app, &s, json!({})).await;
    let cid = app.click(&s.link_id).await;
    for (body, starts) in [
        (
            json!({"click_id": cid, "event": "registration"}),
            "publishable_key: missing",
        ),
        (
            json!({"publishable_key": "pk_nope", "click_id": cid}),
            "publishable_key: `pk_nope` is not",
        ),
    ] {
        let (status, _, v) = send(&app, Some("https://shop.test"), body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{v}");
        assert_eq!(v["error"], "invalid_publishable_key");
        assert!(v["message"].as_str().unwrap().starts_with(starts), "{v}");
    }
    // the postback token is no publishable key
    let (_, _, v) = send(
        &app,
        Some("https://shop.test"),
        json!({"token": s.token, "click_id": cid}),
    )
    .await;
    assert_eq!(v["error"], "invalid_publishable_key", "{v}");
    let (_, log) = app
        .get("/api/v1/postbacks?error=invalid_publishable_key")
        .await;
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{log}");
    assert_eq!(items[2]["diff"]["missing"], json!(["publishable_key"]));
    // its token is masked in the log, as for postbacks
    assert!(!log.to_string().contains(&s.token), "{log}");
    assert!(conversions(&app, "").await.is_empty());
}

#[tokio::test]
async fn a_txid_sent_twice_is_a_duplicate_by_script_and_by_pixel() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let pk = browser_advertiser(&app, &s, json!({})).await;
    let cid = app.click(&s.link_id).await;
    let body = json!({"publishable_key": pk, "click_id": cid, "event": "deposit", "txid": "dep-1"});
    let (_, _, first) = send(&app, Some("https://www.shop.test"), body.clone()).await;
    assert_eq!(first["result"], "accepted", "{first}");
    let (status, _, again) = send(&app, Some("https://www.shop.test"), body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["result"], "duplicate", "{again}");
    assert_eq!(again["conversion_id"], first["conversion_id"]);
    let q = [
        ("publishable_key", pk.as_str()),
        ("click_id", cid.as_str()),
        ("event", "deposit"),
        ("txid", "dep-1"),
    ];
    let (_, outcome, _) = pixel(&app, "https://shop.test/thanks", &q).await;
    assert_eq!(outcome, "duplicate");
    let list = conversions(&app, &format!("click_id={cid}")).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["duplicates"], 2);
    assert_eq!(list[0]["payout"], "10.00");
}

#[tokio::test]
async fn browser_pending_starts_browser_conversions_pending_and_the_server_approves_them() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let pk = browser_advertiser(&app, &s, json!({"browser_pending": true})).await;
    let cid = app.click(&s.link_id).await;
    // a visitor cannot approve: whatever the page says, it starts pending
    let (_, _, v) = send(
        &app,
        Some("https://shop.test"),
        json!({"publishable_key": pk, "click_id": cid, "event": "sale", "txid": "p-1", "amount": "100", "status": "approved"}),
    )
    .await;
    assert_eq!(v["result"], "accepted", "{v}");
    assert_eq!(v["status"], "pending", "{v}");
    let c = &conversions(&app, &format!("click_id={cid}")).await[0];
    assert_eq!(
        (&c["status"], &c["status_received"]),
        (&json!("pending"), &json!("approved"))
    );
    assert_eq!(c["payout"], "30.00");
    // the advertiser's server approves it by txid
    let (status, v) = app
        .postback(&[
            ("token", &s.token),
            ("click_id", &cid),
            ("event", "sale"),
            ("txid", "p-1"),
            ("status", "approved"),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(
        (&v["result"], &v["previous_status"]),
        (&json!("updated"), &json!("pending"))
    );
    let c = &conversions(&app, &format!("click_id={cid}")).await[0];
    assert_eq!(
        (&c["status"], &c["channel"]),
        (&json!("approved"), &json!("browser"))
    );
}

#[tokio::test]
async fn the_pixel_always_answers_the_gif_and_logs_a_refusal() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let pk = browser_advertiser(&app, &s, json!({})).await;
    let cid = app.click(&s.link_id).await;
    let q = [
        ("publishable_key", pk.as_str()),
        ("click_id", cid.as_str()),
        ("event", "registration"),
    ];
    let (status, outcome, gif) = pixel(&app, "https://other.example/thanks", &q).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(outcome, "host_not_allowed");
    assert_eq!(gif.len(), 43);
    assert!(gif.starts_with(b"GIF89a"));
    let (status, outcome, gif) = pixel(&app, "https://shop.test/thanks", &q).await;
    assert_eq!(
        (status, outcome.as_str(), gif.len()),
        (StatusCode::OK, "accepted", 43)
    );
    let c = &conversions(&app, "channel=browser").await[0];
    assert_eq!(
        (&c["event"], &c["payout"]),
        (&json!("registration"), &json!("2.00"))
    );
    let (_, log) = app.get("/api/v1/postbacks?channel=browser").await;
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{log}");
    assert_eq!(items[1]["error"], "host_not_allowed");
    assert_eq!(items[1]["method"], "GET");
    assert!(
        items[1]["message"]
            .as_str()
            .unwrap()
            .contains("`other.example` (from the Referer header)"),
        "{log}"
    );
}

#[tokio::test]
async fn browser_conversions_are_rate_limited_per_ip() {
    let settings = clickledger_server::Settings {
        browser_rate_ip: clickledger_domain::rate::Limit {
            per_second: 0.01,
            burst: 2.0,
        },
        ..Default::default()
    };
    let app = TestApp::spawn_with(settings).await;
    let s = app.setup().await;
    let pk = browser_advertiser(&app, &s, json!({})).await;
    let cid = app.click(&s.link_id).await;
    let body = json!({"publishable_key": pk, "click_id": cid, "event": "registration"});
    for _ in 0..2 {
        let (status, _, v) = send(&app, Some("https://shop.test"), body.clone()).await;
        assert_eq!(status, StatusCode::OK, "{v}");
    }
    let (status, headers, v) = send(&app, Some("https://shop.test"), body).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert_eq!(v["error"], "rate_limited");
    assert!(headers.contains_key("retry-after"));
    // postbacks from the same address have their own limit
    let (status, v) = app
        .postback(&[
            ("token", &s.token),
            ("click_id", &cid),
            ("event", "deposit"),
            ("txid", "d"),
        ])
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
}

#[tokio::test]
async fn the_script_is_small_versioned_and_cacheable() {
    let app = TestApp::spawn().await;
    let r = app.client.get(app.url("/t.js?v=1")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let h = r.headers().clone();
    assert_eq!(h["content-type"], "text/javascript; charset=utf-8");
    assert_eq!(h["cache-control"], "public, max-age=31536000, immutable");
    let etag = h["etag"].to_str().unwrap().to_string();
    let js = r.text().await.unwrap();
    assert!(js.contains("clickledger") && js.contains("_clcid") && js.contains("SameSite=Lax"));
    assert!(js.contains("/t/conversion") && js.contains("keepalive"));
    // under 2 KB gzipped, measured as a server would send it
    let mut gzip = std::process::Command::new("gzip")
        .args(["-9", "-c"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip");
    use std::io::Write;
    gzip.stdin.take().unwrap().write_all(js.as_bytes()).unwrap();
    let gz = gzip.wait_with_output().unwrap().stdout.len();
    println!("t.js: {} bytes, {gz} bytes gzipped", js.len());
    assert!(gz > 200 && gz < 2048, "t.js is {gz} bytes gzipped");
    // unversioned: an hour; the ETag answers 304
    let r = app.client.get(app.url("/t.js")).send().await.unwrap();
    assert_eq!(r.headers()["cache-control"], "public, max-age=3600");
    let r = app
        .client
        .get(app.url("/t.js?v=1"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    assert!(r.bytes().await.unwrap().is_empty());
    let (status, _, v) = app.anon("/t.js?k=1", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .starts_with("k: no such parameter"),
        "{v}"
    );
}

#[tokio::test]
async fn the_preflight_allows_only_listed_origins() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let pk = browser_advertiser(&app, &s, json!({})).await;
    let preflight = |origin: &'static str, q: String| {
        app.client
            .request(
                reqwest::Method::OPTIONS,
                app.url(&format!("/t/conversion{q}")),
            )
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let r = preflight("https://www.shop.test", format!("?publishable_key={pk}"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://www.shop.test"
    );
    assert_eq!(r.headers()["access-control-allow-methods"], "POST");
    let r = preflight("https://www.shop.test", String::new())
        .await
        .unwrap();
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://www.shop.test"
    );
    let r = preflight("https://evil.test", String::new()).await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(r.headers().get("access-control-allow-origin").is_none());
    let r = preflight("https://www.shop.test", "?publishable_key=pk_other".into())
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn browser_settings_are_validated_naming_the_field_and_the_key_rotates() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let path = format!("/api/v1/advertisers/{}", s.advertiser_id);
    for (body, starts) in [
        (
            json!({"pixel_hosts": ["shop.test", "https://shop.test"]}),
            "pixel_hosts[1]: `https://shop.test` has `:`",
        ),
        (
            json!({"pixel_hosts": ["*.test"]}),
            "pixel_hosts[0]: `*.test` would match every host",
        ),
        (json!({"cookie_days": 0}), "cookie_days: 0 is not 1 to 400"),
        (json!({"click_id_param": "a b"}), "click_id_param: `a b`"),
        (
            json!({"cookie_domain": "*.shop.test"}),
            "cookie_domain: `*.shop.test`",
        ),
    ] {
        let (status, v) = app.patch(&path, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(v["message"].as_str().unwrap().starts_with(starts), "{v}");
    }
    let created = app
        .create(
            "/api/v1/advertisers",
            json!({"name": "B", "pixel_hosts": ["b.test"], "browser_pending": true, "cookie_domain": "b.test", "cookie_days": 7}),
        )
        .await;
    assert_eq!(created["pixel_hosts"], json!(["b.test"]));
    assert_eq!(
        (&created["browser_pending"], &created["cookie_days"]),
        (&json!(true), &json!(7))
    );
    assert_eq!(created["click_id_param"], "click_id");
    let pk = browser_advertiser(&app, &s, json!({})).await;
    let (status, rotated) = app
        .post(&format!("{path}/rotate-publishable-key"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new = rotated["publishable_key"].as_str().unwrap();
    assert_ne!(new, pk);
    let cid = app.click(&s.link_id).await;
    let (_, _, v) = send(
        &app,
        Some("https://shop.test"),
        json!({"publishable_key": pk, "click_id": cid}),
    )
    .await;
    assert_eq!(v["error"], "invalid_publishable_key", "{v}");
    let (_, _, v) = send(
        &app,
        Some("https://shop.test"),
        json!({"publishable_key": new, "click_id": cid}),
    )
    .await;
    assert_eq!(v["result"], "accepted", "{v}");
}

#[tokio::test]
async fn the_setup_document_has_the_browser_snippet_for_the_offer() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let pk = browser_advertiser(&app, &s, json!({"cookie_domain": "shop.test"})).await;
    let r = app
        .client
        .get(app.url(&format!("/api/v1/offers/{}/setup", s.offer_id)))
        .bearer_auth(common::ADMIN_KEY)
        .send()
        .await
        .unwrap();
    let md = r.text().await.unwrap();
    assert!(md.contains("## 5. Browser conversions"), "{md}");
    assert!(
        md.contains(&format!("<script async src=\"{}/t.js?v=1\" data-key=\"{pk}\" data-domain=\"shop.test\"></script>", app.base)),
        "{md}"
    );
    assert!(
        md.contains("clickledger.conversion({event: \"registration\""),
        "{md}"
    );
    assert!(
        md.contains(&format!(
            "{}/px?publishable_key={pk}&click_id=CLICK_ID",
            app.base
        )),
        "{md}"
    );
    assert!(md.contains("`shop.test`, `*.shop.test`"), "{md}");
    assert!(md.contains("Safari") && md.contains("Ad blockers"), "{md}");
}
