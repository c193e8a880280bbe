//! Partners see only their own rows: every read endpoint in the OpenAPI
//! document, with every role, against two of each partner. Each partner's
//! conversion fires an outbound postback to a real receiver on loopback
//! (A's answers 200, B's 503), so deliveries, their attempts and the
//! destinations' health are among the rows walked.

mod common;

use std::time::Duration;

use clickledger_server::delivery::DeliverySettings;
use clickledger_server::Settings;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// A receiver of outbound postbacks: `/ok/...` answers 200, anything else
/// 503.
async fn receiver() -> String {
    let app = axum::Router::new().fallback(|uri: axum::http::Uri| async move {
        if uri.path().starts_with("/ok/") {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn delivering() -> Settings {
    Settings {
        delivery: DeliverySettings {
            allow_private: true,
            backoff: vec![Duration::from_millis(100); 3],
            poll: Duration::from_millis(50),
            ..DeliverySettings::default()
        },
        ..Settings::default()
    }
}

struct Partner {
    advertiser_id: String,
    advertiser_key: String,
    offer_id: String,
    affiliate_id: String,
    affiliate_key: String,
    link_id: String,
    click_id: String,
    conversion_id: String,
    delivery_id: String,
}

/// A partner pair with a conversion whose postback goes to `destination`.
async fn partner(app: &TestApp, name: &str, destination: String) -> Partner {
    let s = app.setup().await;
    app.patch(
        &format!("/api/v1/advertisers/{}", s.advertiser_id),
        json!({"name": name, "alias_map": {"x": "txid"}}),
    )
    .await;
    let (st, v) = app
        .patch(
            &format!("/api/v1/affiliates/{}", s.affiliate_id),
            json!({"postback_url": format!("{destination}?cv={{conversion_id}}")}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let click_id = app.click(&s.link_id).await;
    let (_, v) = app
        .postback(&[
            ("token", &s.token),
            ("click_id", &click_id),
            ("event", "registration"),
        ])
        .await;
    app.postback(&[("token", &s.token), ("click_id", "bogus")])
        .await;
    // its delivery, attempted at least once
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let delivery_id = loop {
        let (_, d) = app
            .get(&format!(
                "/api/v1/deliveries?affiliate_id={}",
                s.affiliate_id
            ))
            .await;
        if let Some(id) = d["items"][0]["id"]
            .as_str()
            .filter(|_| d["items"][0]["attempts"].as_u64() > Some(0))
        {
            break id.to_string();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no delivery attempted: {d}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    Partner {
        advertiser_id: s.advertiser_id,
        advertiser_key: s.advertiser_key,
        offer_id: s.offer_id,
        affiliate_id: s.affiliate_id,
        affiliate_key: s.affiliate_key,
        link_id: s.link_id,
        click_id,
        conversion_id: v["conversion_id"].as_str().unwrap().to_string(),
        delivery_id,
    }
}

impl Partner {
    fn ids(&self) -> Vec<&str> {
        vec![
            &self.advertiser_id,
            &self.offer_id,
            &self.affiliate_id,
            &self.link_id,
            &self.click_id,
            &self.conversion_id,
            &self.delivery_id,
        ]
    }
}

#[tokio::test]
async fn no_partner_ever_sees_another_partners_rows() {
    let app = TestApp::spawn_with(delivering()).await;
    let rx = receiver().await;
    let a = partner(&app, "A", format!("{rx}/ok/a")).await;
    let b = partner(&app, "B", format!("{rx}/down/b")).await;
    // B's destination is failing: it has a health row to leak or not
    let (_, dest) = app.get("/api/v1/destinations").await;
    assert!(
        dest["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["affiliate_id"] == b.affiliate_id.as_str()),
        "{dest}"
    );

    let (_, doc) = app.get("/api/v1/openapi.json").await;
    let mut read_paths: Vec<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(p, ops)| {
            p.starts_with("/api/v1/") && ops.get("get").is_some() && !p.ends_with("openapi.json")
        })
        .map(|(p, _)| p.clone())
        .collect();
    read_paths.sort();
    assert!(read_paths.len() >= 15, "{read_paths:?}");

    let mut checked = 0;
    for (me, other, role) in [
        (&a, &b, "advertiser"),
        (&b, &a, "advertiser"),
        (&a, &b, "affiliate"),
        (&b, &a, "affiliate"),
    ] {
        let key = if role == "advertiser" {
            &me.advertiser_key
        } else {
            &me.affiliate_key
        };
        for path in &read_paths {
            // try the path with my ids and with the other partner's ids
            for target in [me, other] {
                let id_for = |p: &str| -> String {
                    let id = if p.starts_with("/api/v1/advertisers") {
                        &target.advertiser_id
                    } else if p.starts_with("/api/v1/offers") {
                        &target.offer_id
                    } else if p.starts_with("/api/v1/affiliates") {
                        &target.affiliate_id
                    } else if p.starts_with("/api/v1/deliveries") {
                        &target.delivery_id
                    } else {
                        &target.link_id
                    };
                    p.replace("{id}", id)
                        .replace("{click_id}", &target.click_id)
                };
                let mut concrete = id_for(path);
                if concrete.ends_with("/versions/diff") {
                    concrete.push_str("?from=1&to=2");
                }
                if concrete.ends_with("/reports") {
                    concrete.push_str("?group_by=offer,affiliate,link");
                }
                let (status, _, body) = app.anon(&concrete, Some(key)).await;
                checked += 1;
                if status != StatusCode::OK {
                    assert!(
                        [StatusCode::NOT_FOUND, StatusCode::FORBIDDEN].contains(&status),
                        "{role} {concrete}: {status} {body}"
                    );
                    continue;
                }
                let text = body.to_string();
                for foreign in other.ids() {
                    assert!(
                        !text.contains(foreign),
                        "{role} key of {} got {foreign} from {concrete}: {text}",
                        me.advertiser_id
                    );
                }
                if std::ptr::eq(target, other) && path.contains('{') {
                    panic!("{role} {concrete}: another partner's record answered 200: {text}");
                }
            }
        }
    }
    assert!(checked > 100);

    // and each sees its own
    let (_, _, convs) = app
        .anon("/api/v1/conversions", Some(&a.advertiser_key))
        .await;
    assert_eq!(convs["items"].as_array().unwrap().len(), 1);
    assert_eq!(convs["items"][0]["id"], a.conversion_id.as_str());
    let (_, _, convs) = app
        .anon("/api/v1/conversions", Some(&b.affiliate_key))
        .await;
    assert_eq!(convs["items"][0]["id"], b.conversion_id.as_str());
    let (_, _, log) = app.anon("/api/v1/postbacks", Some(&a.advertiser_key)).await;
    assert_eq!(log["items"].as_array().unwrap().len(), 2);
    let (st, _, _) = app.anon("/api/v1/postbacks", Some(&a.affiliate_key)).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (_, _, click) = app
        .anon(
            &format!("/api/v1/clicks/{}", a.click_id),
            Some(&a.affiliate_key),
        )
        .await;
    assert_eq!(click["id"], a.click_id.as_str());
    let (_, _, report) = app
        .anon("/api/v1/reports?group_by=affiliate", Some(&b.affiliate_key))
        .await;
    assert_eq!(report["rows"].as_array().unwrap().len(), 1);
    assert_eq!(report["rows"][0]["affiliate"], b.affiliate_id.as_str());
    // a slot, the geo dimensions or the day, for one affiliate, read the
    // rollups by affiliate: the partner's own figures, whether its scope
    // or a filter asks, and fewer than everyone's
    let own = &report["totals"];
    assert!(own["clicks"].as_i64().unwrap() > 0, "{report}");
    for group_by in ["sub2", "device", "country", "os,browser", "day"] {
        let (_, _, scoped) = app
            .anon(
                &format!("/api/v1/reports?group_by={group_by}"),
                Some(&b.affiliate_key),
            )
            .await;
        let (_, filtered) = app
            .get(&format!(
                "/api/v1/reports?group_by={group_by},status&affiliate={}",
                b.affiliate_id
            ))
            .await;
        let (_, everyone) = app
            .get(&format!("/api/v1/reports?group_by={group_by}"))
            .await;
        for k in ["clicks", "unique_clicks", "conversions", "payout"] {
            assert_eq!(scoped["totals"][k], own[k], "{group_by} {k}: {scoped}");
            assert_eq!(filtered["totals"][k], own[k], "{group_by} {k}: {filtered}");
        }
        assert!(
            everyone["totals"]["clicks"].as_i64().unwrap() > own["clicks"].as_i64().unwrap(),
            "{group_by}: {everyone}"
        );
    }
    let (_, _, offers) = app.anon("/api/v1/offers", Some(&a.affiliate_key)).await;
    assert_eq!(
        offers["items"].as_array().unwrap().len(),
        1,
        "an affiliate sees the offers it has links to"
    );
    // partners cannot write
    let r = app
        .client
        .post(app.url("/api/v1/links"))
        .bearer_auth(&a.affiliate_key)
        .json(&json!({"offer_id": b.offer_id, "affiliate_id": a.affiliate_id}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "forbidden");

    // deliveries: each affiliate sees its own, with its attempts, and
    // cannot retry, replay or resume another's
    let (_, _, mine) = app.anon("/api/v1/deliveries", Some(&a.affiliate_key)).await;
    let ids: Vec<&str> = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["id"].as_str())
        .collect();
    assert_eq!(ids, [a.delivery_id.as_str()], "{mine}");
    let (st, _, one) = app
        .anon(
            &format!("/api/v1/deliveries/{}", b.delivery_id),
            Some(&b.affiliate_key),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{one}");
    assert!(!one["attempts_log"].as_array().unwrap().is_empty(), "{one}");
    for (path, body) in [
        (
            format!("/api/v1/deliveries/{}/retry", b.delivery_id),
            json!({}),
        ),
        (
            format!("/api/v1/affiliates/{}/resume-deliveries", b.affiliate_id),
            json!({}),
        ),
        (
            "/api/v1/deliveries/replay".to_string(),
            json!({"affiliate_id": b.affiliate_id, "from": "2020-01-01T00:00:00.000Z", "to": "2100-01-01T00:00:00.000Z"}),
        ),
    ] {
        for key in [&a.affiliate_key, &a.advertiser_key, &b.advertiser_key] {
            let r = app
                .client
                .post(app.url(&path))
                .bearer_auth(key)
                .json(&body)
                .send()
                .await
                .unwrap();
            let st = r.status();
            let v: Value = r.json().await.unwrap();
            assert!(
                [StatusCode::FORBIDDEN, StatusCode::NOT_FOUND].contains(&st),
                "{path} with another partner's key: {st} {v}"
            );
            assert!(!v.to_string().contains(&b.delivery_id), "{v}");
        }
    }
}
