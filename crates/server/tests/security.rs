//! Step 2's controls, each against a real server on loopback.

mod common;

use clickledger_domain::net::Cidr;
use clickledger_domain::rate::Limit;
use clickledger_domain::signature::{sign_hex, webhook_sign};
use clickledger_server::tls::TlsFiles;
use clickledger_server::util::now_ms;
use clickledger_server::Settings;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A signed query for `adv` with `secret`, at unix second `ts`.
fn signed(adv: &str, secret: &str, ts: i64, fields: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut p = pairs(fields);
    p.push(("adv".into(), adv.into()));
    p.push(("ts".into(), ts.to_string()));
    let sig = sign_hex(secret, &p);
    p.push(("sig".into(), sig));
    p
}

async fn get_postback(app: &TestApp, q: &[(String, String)]) -> (StatusCode, Value) {
    let r = app
        .client
        .get(app.url("/postback"))
        .query(q)
        .send()
        .await
        .unwrap();
    let st = r.status();
    (st, r.json().await.unwrap())
}

fn now_s() -> i64 {
    now_ms() / 1000
}

#[tokio::test]
async fn signatures_accepted_and_forgeries_refused() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let other = app
        .create("/api/v1/advertisers", json!({"name": "Other"}))
        .await;
    let (_, adv) = app
        .patch(
            &format!("/api/v1/advertisers/{}", s.advertiser_id),
            json!({"require_signature": true}),
        )
        .await;
    assert_eq!(adv["require_signature"], true);
    let secret = s.signing_secret.clone();
    assert!(secret.starts_with("whsec_"));
    let cid = app.click(&s.link_id).await;
    let adv_id = s.advertiser_id.as_str();

    // unsigned, even with the right token: refused
    let (st, v) = app
        .postback(&[
            ("token", &s.token),
            ("click_id", &cid),
            ("event", "registration"),
        ])
        .await;
    assert_eq!(
        (st, v["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("signature_required")),
        "{v}"
    );

    // one flipped byte, stale, future, another advertiser's secret
    let good = signed(
        adv_id,
        &secret,
        now_s(),
        &[("click_id", &cid), ("event", "registration")],
    );
    let mut flipped = good.clone();
    let sig = &mut flipped.last_mut().unwrap().1;
    let last = sig.pop().unwrap();
    sig.push(if last == '0' { '1' } else { '0' });
    let stale = signed(
        adv_id,
        &secret,
        now_s() - 330,
        &[("click_id", &cid), ("event", "registration")],
    );
    let future = signed(
        adv_id,
        &secret,
        now_s() + 330,
        &[("click_id", &cid), ("event", "registration")],
    );
    let foreign = signed(
        adv_id,
        other["signing_secret"].as_str().unwrap(),
        now_s(),
        &[("click_id", &cid), ("event", "registration")],
    );
    let mut tampered = good.clone();
    tampered[1].1 = "sale".into();
    for (q, code) in [
        (&flipped, "invalid_signature"),
        (&stale, "stale_timestamp"),
        (&future, "stale_timestamp"),
        (&foreign, "invalid_signature"),
        (&tampered, "invalid_signature"),
    ] {
        let (st, v) = get_postback(&app, q).await;
        assert_eq!(
            (st, v["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some(code)),
            "{q:?}: {v}"
        );
    }
    // no conversion came through any of them
    let (_, list) = app
        .get(&format!("/api/v1/conversions?click_id={cid}"))
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);

    // the valid one, identified by adv alone (no token)
    let (st, v) = get_postback(&app, &good).await;
    assert_eq!(
        (st, v["result"].as_str()),
        (StatusCode::OK, Some("accepted")),
        "{v}"
    );
    // the signature is masked in the log
    let (_, log) = app.get("/api/v1/postbacks?result=accepted").await;
    let logged = log["items"][0]["fields"].to_string();
    assert!(!logged.contains(&good.last().unwrap().1));

    // Standard Webhooks, POST JSON with the token in the path
    let cid2 = app.click(&s.link_id).await;
    let body = serde_json::to_vec(&json!({"click_id": cid2, "event": "registration"})).unwrap();
    let ts = now_s().to_string();
    let sig = webhook_sign(&secret, "msg_1", &ts, &body);
    let send = |sig: String, body: Vec<u8>| {
        app.client
            .post(app.url(&format!("/postback/{}", s.token)))
            .header("content-type", "application/json")
            .header("webhook-id", "msg_1")
            .header("webhook-timestamp", ts.clone())
            .header("webhook-signature", sig)
            .body(body)
            .send()
    };
    let r = send(sig.clone(), b"{\"click_id\": \"x\"}".to_vec())
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = send(sig.clone(), body.clone()).await.unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["result"], "accepted", "{v}");
    // the same message again: the first answer, nothing recorded twice
    let r = send(sig, body).await.unwrap();
    let again: Value = r.json().await.unwrap();
    assert_eq!(again, v);
    let (_, list) = app
        .get(&format!("/api/v1/conversions?click_id={cid2}"))
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (_, log) = app.get("/api/v1/postbacks?result=duplicate").await;
    assert!(
        log["items"][0]["message"]
            .as_str()
            .unwrap()
            .contains("webhook-id"),
        "{log}"
    );
}

#[tokio::test]
async fn ip_allowlists_and_forwarded_for() {
    let settings = Settings {
        trusted_proxies: vec![Cidr::parse("127.0.0.1/32").unwrap()],
        ..Settings::default()
    };
    let app = TestApp::spawn_with(settings).await;
    let s = app.setup().await;
    app.patch(
        &format!("/api/v1/advertisers/{}", s.advertiser_id),
        json!({"ip_allowlist": ["2001:db8:abcd::/48", "198.51.100.0/24"]}),
    )
    .await;
    let send = |xff: &'static str, cid: String| {
        app.client
            .get(app.url("/postback"))
            .header("x-forwarded-for", xff)
            .query(&[
                ("token", s.token.as_str()),
                ("click_id", cid.as_str()),
                ("event", "registration"),
            ])
            .send()
    };
    let cid = app.click(&s.link_id).await;
    let v: Value = send("2001:db8:abce::1", cid.clone())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["error"], "ip_not_allowed", "{v}");
    let v: Value = send("2001:db8:abcd:5::7", cid.clone())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["result"], "accepted", "{v}");
    let (_, log) = app.get("/api/v1/postbacks?result=accepted").await;
    assert_eq!(log["items"][0]["source_ip"], "2001:db8:abcd:5::7");

    // a bad allowlist entry is refused when saved
    let (st, v) = app
        .patch(
            &format!("/api/v1/advertisers/{}", s.advertiser_id),
            json!({"ip_allowlist": ["10.0.0.0/33"]}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v["message"]
        .as_str()
        .unwrap()
        .starts_with("ip_allowlist[0]"));

    // without trusted proxies, X-Forwarded-For is ignored: spoofing fails
    let plain = TestApp::spawn().await;
    let s = plain.setup().await;
    plain
        .patch(
            &format!("/api/v1/advertisers/{}", s.advertiser_id),
            json!({"ip_allowlist": ["198.51.100.0/24"]}),
        )
        .await;
    let cid = plain.click(&s.link_id).await;
    let r = plain
        .client
        .get(plain.url("/postback"))
        .header("x-forwarded-for", "198.51.100.7")
        .query(&[("token", s.token.as_str()), ("click_id", cid.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "ip_not_allowed");
    assert!(v["message"].as_str().unwrap().contains("127.0.0.1"));
}

#[tokio::test]
async fn rate_limits_under_a_burst() {
    let settings = Settings {
        postback_rate_ip: Limit {
            per_second: 1.0,
            burst: 5.0,
        },
        click_rate_ip: Limit {
            per_second: 1.0,
            burst: 3.0,
        },
        ..Settings::default()
    };
    let app = TestApp::spawn_with(settings).await;
    let s = app.setup().await;
    // clicks over the per-IP rate still redirect, but are marked
    let mut flags = Vec::new();
    for _ in 0..6 {
        let cid = app.click(&s.link_id).await;
        let (_, c) = app.get(&format!("/api/v1/clicks/{cid}")).await;
        flags.push(c["suspicious"].as_bool().unwrap());
    }
    assert_eq!(&flags[..3], [false, false, false]);
    assert!(flags[3..].iter().all(|f| *f), "{flags:?}");

    let mut statuses = Vec::new();
    for i in 0..12 {
        let r = app
            .client
            .get(app.url("/postback"))
            .query(&[
                ("token", s.token.as_str()),
                ("click_id", "x"),
                ("txid", &i.to_string()),
            ])
            .send()
            .await
            .unwrap();
        let status = r.status();
        statuses.push(status);
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert!(
                r.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse::<u64>()
                    .unwrap()
                    >= 1
            );
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["error"], "rate_limited");
        }
    }
    assert!(
        statuses[..5]
            .iter()
            .all(|s| *s != StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let limited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(limited >= 6, "{statuses:?}");

    // per advertiser, its own override
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    app.patch(
        &format!("/api/v1/advertisers/{}", s.advertiser_id),
        json!({"rate_limit": "1/m:2"}),
    )
    .await;
    let mut codes = Vec::new();
    for _ in 0..4 {
        let (st, _) = app
            .postback(&[("token", &s.token), ("click_id", "x")])
            .await;
        codes.push(st.as_u16());
    }
    assert_eq!(codes, [404, 404, 429, 429]);
}

#[tokio::test]
async fn bounds_too_fast_and_personal_data() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let (st, v) = app
        .patch(
            &format!("/api/v1/offers/{}", s.offer_id),
            json!({"min_conversion_seconds": 3600, "events": [
                {"name": "sale", "payout": {"type": "revshare", "percent": "50"}, "max_amount": "1000", "max_payout": "300"},
                {"name": "lead", "payout": {"type": "from_postback", "max": "50"}}]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let cid = app.click(&s.link_id).await;
    let (st, v) = app
        .postback(&[
            ("token", &s.token),
            ("click_id", &cid),
            ("event", "sale"),
            ("txid", "a"),
            ("amount", "1000.01"),
        ])
        .await;
    assert_eq!(
        (st, v["error"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("payout_out_of_bounds")
        )
    );
    assert!(v["message"].as_str().unwrap().contains("max_amount"));
    let (_, v) = app
        .postback(&[
            ("token", &s.token),
            ("click_id", &cid),
            ("event", "sale"),
            ("txid", "b"),
            ("amount", "700"),
        ])
        .await;
    assert_eq!(v["error"], "payout_out_of_bounds");
    assert!(v["message"].as_str().unwrap().contains("max_payout"), "{v}");

    // a conversion seconds after its click: recorded, flagged
    let (_, v) = app
        .postback(&[
            ("token", &s.token),
            ("click_id", &cid),
            ("event", "sale"),
            ("txid", "c"),
            ("amount", "100"),
            ("email", "jane@example.com"),
            ("phone", "+49 30 1234567"),
        ])
        .await;
    assert_eq!(v["result"], "accepted", "{v}");
    assert_eq!(v["too_fast"], true);
    let (_, list) = app
        .get(&format!("/api/v1/conversions?click_id={cid}"))
        .await;
    assert_eq!(list["items"][0]["too_fast"], true);
    // personal data never reaches the log
    let (_, log) = app.get("/api/v1/postbacks?result=accepted").await;
    let e = &log["items"][0];
    assert_eq!(e["pii_removed"], true);
    let text = e["fields"].to_string();
    assert!(
        text.contains("[removed:email]") && text.contains("[removed:phone]"),
        "{text}"
    );
    assert!(!text.contains("jane@example.com") && !text.contains("1234567"));

    // and refused when the offer says so
    app.patch(
        &format!("/api/v1/offers/{}", s.offer_id),
        json!({"reject_too_fast": true}),
    )
    .await;
    let cid = app.click(&s.link_id).await;
    let (st, v) = app
        .postback(&[
            ("token", &s.token),
            ("click_id", &cid),
            ("event", "lead"),
            ("payout", "5"),
        ])
        .await;
    assert_eq!(
        (st, v["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("too_fast"))
    );
}

#[tokio::test]
async fn https_required_and_served() {
    let settings = Settings {
        trusted_proxies: vec![Cidr::parse("127.0.0.1/32").unwrap()],
        ..Settings::default()
    };
    let app = TestApp::spawn_with(settings).await;
    let s = app.setup().await;
    app.patch(
        &format!("/api/v1/advertisers/{}", s.advertiser_id),
        json!({"require_https": true}),
    )
    .await;
    let cid = app.click(&s.link_id).await;
    let (st, v) = app
        .postback(&[("token", &s.token), ("click_id", &cid)])
        .await;
    assert_eq!(
        (st, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("https_required"))
    );
    let r = app
        .client
        .get(app.url("/postback"))
        .header("x-forwarded-proto", "https")
        .query(&[("token", s.token.as_str()), ("click_id", cid.as_str())])
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["result"], "accepted", "{v}");

    // served over TLS by the tracker itself
    let tls = TlsFiles {
        cert: fixture("tls-cert.pem"),
        key: fixture("tls-key.pem"),
    };
    let app = TestApp::spawn_with(Settings {
        tls: Some(tls),
        ..Settings::default()
    })
    .await;
    let cert =
        reqwest::Certificate::from_pem(&std::fs::read(fixture("tls-ca.pem")).unwrap()).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(cert)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = app.base.replace("http://", "https://");
    let r = client
        .post(format!("{base}/api/v1/advertisers"))
        .bearer_auth(ADMIN_KEY)
        .json(&json!({"name": "T", "require_https": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let adv: Value = r.json().await.unwrap();
    let r = client
        .get(format!("{base}/postback"))
        .query(&[
            ("token", adv["postback_token"].as_str().unwrap()),
            ("click_id", "x"),
        ])
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["error"], "corrupted_click_id",
        "https passed, then the click id was judged: {v}"
    );
    // plain HTTP to the TLS port does not get an answer
    assert!(app.client.get(app.url("/healthz")).send().await.is_err());
}

#[tokio::test]
async fn secrets_rotate_with_grace_and_rest_sealed() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let (st, v) = app
        .post(
            &format!("/api/v1/advertisers/{}/rotate-token", s.advertiser_id),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let new_token = v["postback_token"].as_str().unwrap().to_string();
    assert_ne!(new_token, s.token);
    for token in [&s.token, &new_token] {
        let (st, v) = app.postback(&[("token", token), ("click_id", "x")]).await;
        assert_eq!(
            (st, v["error"].as_str()),
            (StatusCode::NOT_FOUND, Some("corrupted_click_id")),
            "token still valid in grace"
        );
    }
    let (_, v) = app
        .post(
            &format!(
                "/api/v1/advertisers/{}/rotate-signing-secret",
                s.advertiser_id
            ),
            json!({}),
        )
        .await;
    let new_secret = v["signing_secret"].as_str().unwrap().to_string();
    let cid = app.click(&s.link_id).await;
    let q = signed(
        &s.advertiser_id,
        &s.signing_secret,
        now_s(),
        &[("click_id", &cid), ("event", "registration")],
    );
    let (_, v) = get_postback(&app, &q).await;
    assert_eq!(v["result"], "accepted", "old secret in grace: {v}");
    let q = signed(
        &s.advertiser_id,
        &new_secret,
        now_s(),
        &[("click_id", &cid), ("event", "registration")],
    );
    let (_, v) = get_postback(&app, &q).await;
    assert_eq!(v["result"], "duplicate", "new secret: {v}");
    let (_, v) = app
        .post(
            &format!("/api/v1/affiliates/{}/rotate-api-key", s.affiliate_id),
            json!({}),
        )
        .await;
    let new_key = v["api_key"].as_str().unwrap().to_string();
    for key in [&s.affiliate_key, &new_key] {
        let (st, _, _) = app
            .anon(&format!("/api/v1/affiliates/{}", s.affiliate_id), Some(key))
            .await;
        assert_eq!(st, StatusCode::OK);
    }

    // with no grace, the old token stops at once
    let strict = TestApp::spawn_with(Settings {
        secret_grace_seconds: 0,
        ..Settings::default()
    })
    .await;
    let s2 = strict.setup().await;
    strict
        .post(
            &format!("/api/v1/advertisers/{}/rotate-token", s2.advertiser_id),
            json!({}),
        )
        .await;
    let (st, v) = strict
        .postback(&[("token", &s2.token), ("click_id", "x")])
        .await;
    assert_eq!(
        (st, v["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_token"))
    );
    let (_, v) = strict
        .post(
            &format!("/api/v1/affiliates/{}/rotate-api-key", s2.affiliate_id),
            json!({}),
        )
        .await;
    assert!(v["api_key"].is_string());
    let (st, _, _) = strict.anon("/api/v1/offers", Some(&s2.affiliate_key)).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    // no secret is stored in clear
    let dir = app.stop().await;
    let text = dir.stored_text().await;
    for secret in [
        &s.token,
        &new_token,
        &s.signing_secret,
        &new_secret,
        &s.affiliate_key,
        &new_key,
        &ADMIN_KEY.to_string(),
    ] {
        assert!(
            !text.contains(secret.as_str()),
            "a secret is stored in clear"
        );
    }
}

#[tokio::test]
async fn audit_log_and_template_versions() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let path = format!("/api/v1/advertisers/{}", s.advertiser_id);
    app.patch(&path, json!({"alias_map": {"transaction_id": "click_id"}}))
        .await;
    app.patch(&path, json!({"name": "Renamed"})).await;
    app.patch(&path, json!({"alias_map": {"transaction_id": "click_id", "goal": "event"}, "status_map": {"1": "approved"}})).await;

    let (_, audit) = app
        .get(&format!("/api/v1/audit?entity_id={}", s.advertiser_id))
        .await;
    let items = audit["items"].as_array().unwrap();
    assert_eq!(items.len(), 4, "{audit}");
    let rename = &items[1];
    assert_eq!(rename["action"], "update");
    assert_eq!(rename["before"]["name"], "Adv");
    assert_eq!(rename["after"]["name"], "Renamed");
    assert!(rename["key_id"].as_str().unwrap().starts_with("key_"));
    assert!(!audit.to_string().contains(&s.token) && !audit.to_string().contains("whsec_"));

    // only template changes make versions: create, and two map changes
    let (_, versions) = app.get(&format!("{path}/versions")).await;
    let v = versions["items"].as_array().unwrap();
    assert_eq!(v.len(), 3, "{versions}");
    assert_eq!(v[1]["template"]["alias_map"]["transaction_id"], "click_id");
    let (_, diff) = app.get(&format!("{path}/versions/diff?from=2&to=3")).await;
    let changes: Vec<&str> = diff["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        changes,
        ["alias_map.goal", "status_map", "status_map.1"],
        "{diff}"
    );
    let (st, _) = app.get(&format!("{path}/versions/diff?from=1&to=9")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    let aff = format!("/api/v1/affiliates/{}", s.affiliate_id);
    app.patch(
        &aff,
        json!({"postback_url": "https://aff.example/pb?c={click_id}&p={payout}"}),
    )
    .await;
    let (_, versions) = app.get(&format!("{aff}/versions")).await;
    assert_eq!(versions["items"].as_array().unwrap().len(), 2);
    // the affiliate sees its own versions, not the advertiser's
    let (st, _, _) = app
        .anon(&format!("{aff}/versions"), Some(&s.affiliate_key))
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _, _) = app
        .anon(&format!("{path}/versions"), Some(&s.affiliate_key))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn postback_log_shows_expected_and_difference() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    app.patch(
        &format!("/api/v1/advertisers/{}", s.advertiser_id),
        json!({"alias_map": {"transaction_id": "click_id"}}),
    )
    .await;
    app.postback(&[("token", &s.token), ("clickId", "abc"), ("goal", "sale")])
        .await;
    let (_, log) = app
        .get(&format!(
            "/api/v1/postbacks?advertiser_id={}",
            s.advertiser_id
        ))
        .await;
    let e = &log["items"][0];
    assert_eq!(e["error"], "missing_click_id");
    let accepted: Vec<&str> = e["expected"]["accepted_names"]["click_id"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(accepted.contains(&"transaction_id") && accepted.contains(&"cid"));
    assert_eq!(e["diff"]["unrecognized"], json!(["clickId"]));
    assert_eq!(e["diff"]["missing"], json!(["click_id"]));
    assert_eq!(e["diff"]["recognized"]["goal"], "event");
    assert!(e["expected"]["template"]
        .as_str()
        .unwrap()
        .contains("click_id={click_id}"));
}

#[tokio::test]
async fn setup_document_and_test_flow() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let r = app
        .client
        .get(app.url(&format!("/api/v1/offers/{}/setup", s.offer_id)))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "text/markdown; charset=utf-8");
    let md = r.text().await.unwrap();
    for needle in [
        &format!("/c/{}?sub1={{sub1}}", s.link_id),
        "click_id={click_id}",
        "| `click_id` | yes |",
        "`cid`",
        "| `sale` | 30% of amount |",
        "openssl dgst -sha256 -hmac",
        "curl -s",
        "| `corrupted_click_id` | 404 |",
        "- [ ] ",
        "webhook-signature",
    ] {
        assert!(md.contains(needle), "{needle} missing from\n{md}");
    }
    let r = app
        .client
        .get(app.url(&format!("/api/v1/offers/{}/setup?format=html", s.offer_id)))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    assert!(
        html.starts_with("<!doctype html>") && html.contains("<table>") && html.contains("<h2>")
    );
    assert!(!html.contains("<script"));
    // an affiliate cannot read the advertiser's setup
    let (st, _, _) = app
        .anon(
            &format!("/api/v1/offers/{}/setup", s.offer_id),
            Some(&s.affiliate_key),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // a test click and postback go through, flagged, and stay out of reports
    let (st, click) = app
        .post(
            &format!("/api/v1/offers/{}/test-click", s.offer_id),
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{click}");
    let cid = click["click_id"].as_str().unwrap();
    assert!(click["location"].as_str().unwrap().contains(cid));
    let (st, v) = app
        .post(
            &format!("/api/v1/offers/{}/test-postback", s.offer_id),
            json!({"click_id": cid, "event": "registration"}),
        )
        .await;
    assert_eq!(
        (st, v["result"].as_str()),
        (StatusCode::OK, Some("accepted")),
        "{v}"
    );
    assert_eq!(v["test"], true);
    let real = app.click(&s.link_id).await;
    let (st, v) = app
        .post(
            &format!("/api/v1/offers/{}/test-postback", s.offer_id),
            json!({"click_id": real}),
        )
        .await;
    assert_eq!(
        (st, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden")),
        "{v}"
    );
    let (_, r) = app.get("/api/v1/reports?group_by=offer").await;
    assert_eq!(r["totals"]["clicks"], 1, "only the real click counts: {r}");
    assert_eq!(r["totals"]["conversions"], 0);
}
