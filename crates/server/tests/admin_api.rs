//! The admin API's refusals, the OpenAPI document, metrics and health.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn keys_are_required_and_partner_keys_are_forbidden() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    for (key, status, error) in [
        (None, StatusCode::UNAUTHORIZED, "unauthorized"),
        (Some("wrong"), StatusCode::UNAUTHORIZED, "unauthorized"),
        (
            Some(s.affiliate_key.as_str()),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
    ] {
        let (st, _, v) = app.anon("/api/v1/audit", key).await;
        assert_eq!((st, v["error"].as_str()), (status, Some(error)), "{key:?}");
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

#[tokio::test]
async fn offers_are_validated_when_saved() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let base = |url: &str| {
        json!({"advertiser_id": s.advertiser_id, "name": "x", "destination_url": url, "currency": "USD",
               "events": [{"name": "sale", "payout": {"type": "fixed", "amount": "1"}}]})
    };
    let (st, v) = app
        .post("/api/v1/offers", base("https://a.example/?c={clickid}"))
        .await;
    assert_eq!(
        (st, v["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_template"))
    );
    let msg = v["message"].as_str().unwrap();
    assert!(
        msg.starts_with("destination_url") && msg.contains("{clickid}"),
        "{msg}"
    );

    let (st, v) = app
        .post("/api/v1/offers", base("not a url {click_id}"))
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["message"]
        .as_str()
        .unwrap()
        .starts_with("destination_url"));

    let mut bad_currency = base("https://a.example/");
    bad_currency["currency"] = json!("DOLLARS");
    let (st, v) = app.post("/api/v1/offers", bad_currency).await;
    assert_eq!(
        (st, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_currency"))
    );
    assert!(v["message"].as_str().unwrap().starts_with("currency"));

    let mut float_money = base("https://a.example/");
    float_money["events"] = json!([{"name": "sale", "payout": {"type": "fixed", "amount": 1.5}}]);
    let (st, v) = app.post("/api/v1/offers", float_money).await;
    assert_eq!(
        (st, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_json")),
        "{v}"
    );

    let mut dup = base("https://a.example/");
    dup["events"] = json!([{"name": "a", "payout": {"type": "fixed", "amount": "1"}},
                           {"name": "a", "payout": {"type": "fixed", "amount": "2"}}]);
    let (st, v) = app.post("/api/v1/offers", dup).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        v["message"].as_str().unwrap().contains("events[1].name"),
        "{v}"
    );

    let (st, v) = app.post("/api/v1/offers", json!({"name": "x"})).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(
        v["message"].as_str().unwrap().contains("advertiser_id"),
        "{v}"
    );

    let (st, v) = app
        .post("/api/v1/offers", {
            let mut b = base("https://a.example/");
            b["advertiser_id"] = json!("adv_missing");
            b
        })
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v["message"].as_str().unwrap().contains("advertiser_id"));

    // PATCH keeps what it does not mention; a bad PATCH changes nothing
    let (st, o) = app
        .patch(
            &format!("/api/v1/offers/{}", s.offer_id),
            json!({"name": "Renamed"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(o["name"], "Renamed");
    assert_eq!(o["events"].as_array().unwrap().len(), 4);
    let (st, _) = app
        .patch(
            &format!("/api/v1/offers/{}", s.offer_id),
            json!({"destination_url": "https://a.example/{nope}"}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, o) = app.get(&format!("/api/v1/offers/{}", s.offer_id)).await;
    assert!(o["destination_url"]
        .as_str()
        .unwrap()
        .contains("{click_id}"));
    let (st, _) = app
        .patch(
            &format!("/api/v1/offers/{}", s.offer_id),
            json!({"typo": 1}),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    let (st, v) = app
        .post(
            "/api/v1/affiliates",
            json!({"name": "A", "postback_url": "https://aff.example/?p={payout}&x={bogus}"}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(v["message"].as_str().unwrap().contains("{bogus}"));
}

#[tokio::test]
async fn entities_read_back_and_pause() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    for (path, id) in [
        ("advertisers", &s.advertiser_id),
        ("offers", &s.offer_id),
        ("affiliates", &s.affiliate_id),
        ("links", &s.link_id),
    ] {
        let (st, one) = app.get(&format!("/api/v1/{path}/{id}")).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(one["id"], id.as_str());
        assert_eq!(one["status"], "active");
        let (_, list) = app.get(&format!("/api/v1/{path}")).await;
        assert!(list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == id.as_str()));
        let (st, v) = app
            .post(&format!("/api/v1/{path}/{id}/pause"), json!({}))
            .await;
        assert_eq!((st, v["status"].as_str()), (StatusCode::OK, Some("paused")));
        let (st, v) = app
            .post(&format!("/api/v1/{path}/{id}/resume"), json!({}))
            .await;
        assert_eq!((st, v["status"].as_str()), (StatusCode::OK, Some("active")));
        let (st, v) = app.get(&format!("/api/v1/{path}/nope")).await;
        assert_eq!(
            (st, v["error"].as_str()),
            (StatusCode::NOT_FOUND, Some("not_found"))
        );
    }
    // secrets are not shown after creation
    let (_, adv) = app
        .get(&format!("/api/v1/advertisers/{}", s.advertiser_id))
        .await;
    let text = adv.to_string();
    assert!(
        !text.contains(&s.token)
            && !text.contains("token_hash")
            && !text.contains("signing_secret")
    );
    // a paused offer stops its links
    app.post(&format!("/api/v1/offers/{}/pause", s.offer_id), json!({}))
        .await;
    let r = app
        .client
        .get(app.url(&format!("/c/{}", s.link_id)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::GONE);
}

#[tokio::test]
async fn openapi_lists_every_contract_route() {
    let app = TestApp::spawn().await;
    let r = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let doc: Value = r.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let contract = [
        ("post", "/api/v1/advertisers"),
        ("patch", "/api/v1/advertisers/{id}"),
        ("post", "/api/v1/offers"),
        ("post", "/api/v1/affiliates"),
        ("patch", "/api/v1/affiliates/{id}"),
        ("post", "/api/v1/links"),
        ("get", "/api/v1/clicks/{click_id}"),
        ("get", "/api/v1/conversions"),
        ("get", "/api/v1/postbacks"),
        ("get", "/api/v1/reports"),
        ("get", "/c/{link_id}"),
        ("get", "/postback"),
        ("post", "/postback"),
        ("get", "/postback/{token}"),
        ("get", "/healthz"),
        ("get", "/metrics"),
    ];
    for (method, path) in contract {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} missing from the OpenAPI document"
        );
    }
    // and every documented route is really served (not the 404 fallback)
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            let concrete = path
                .replace("{id}", "x")
                .replace("{click_id}", "x")
                .replace("{link_id}", "x")
                .replace("{token}", "x");
            let r = app
                .client
                .request(method.to_uppercase().parse().unwrap(), app.url(&concrete))
                .send()
                .await
                .unwrap();
            let status = r.status();
            let body = r.text().await.unwrap();
            assert!(
                !body.contains("no such endpoint"),
                "{method} {path} is documented but not served ({status})"
            );
        }
    }
}

#[tokio::test]
async fn health_metrics_and_request_ids() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let r = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().contains_key("x-request-id"));
    let r = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "abc-123");
    let cid = app.click(&s.link_id).await;
    app.postback(&[
        ("token", &s.token),
        ("click_id", &cid),
        ("event", "registration"),
    ])
    .await;
    app.postback(&[("token", "bad"), ("click_id", &cid)]).await;
    let text = app.metrics().await;
    for needle in [
        "clickledger_clicks_total{result=\"redirected\"} 1",
        "clickledger_postbacks_total{result=\"accepted\",error=\"\"} 1",
        "clickledger_postbacks_total{result=\"rejected\",error=\"invalid_token\"} 1",
        "clickledger_writer_queue_depth 0",
        "clickledger_writer_batch_size_count 1",
        "clickledger_writer_commit_seconds_bucket{le=\"+Inf\"} 1",
    ] {
        assert!(text.contains(needle), "{needle} not in\n{text}");
    }
}

/// Pausing an advertiser, an offer, an affiliate or a link stops the link's
/// traffic, and the visitor's answer names what was paused.
#[tokio::test]
async fn pausing_each_kind_names_it() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    for (path, kind, id) in [
        ("advertisers", "advertiser", &s.advertiser_id),
        ("offers", "offer", &s.offer_id),
        ("affiliates", "affiliate", &s.affiliate_id),
        ("links", "link", &s.link_id),
    ] {
        let (st, v) = app
            .post(&format!("/api/v1/{path}/{id}/pause"), json!({}))
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(
            (v["id"].as_str(), v["status"].as_str()),
            (Some(id.as_str()), Some("paused"))
        );
        let (st, _, v) = app.anon(&format!("/c/{}", s.link_id), None).await;
        assert_eq!(st, StatusCode::GONE, "{kind}: {v}");
        assert_eq!(v["error"], "gone");
        assert_eq!(v["message"], format!("{kind} `{id}` is paused"));
        let (st, _) = app
            .post(&format!("/api/v1/{path}/{id}/resume"), json!({}))
            .await;
        assert_eq!(st, StatusCode::OK);
        app.click(&s.link_id).await;
    }
}

#[tokio::test]
async fn affiliate_postback_templates_name_offers_and_events_that_exist() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let url = "https://aff.example/pb?c={click_id}";
    for (template, message) in [
        (
            json!({"url": url, "offer_id": "off_nosuchoffer"}),
            "postbacks[0].offer_id: no offer with id `off_nosuchoffer`",
        ),
        (
            json!({"url": url, "offer_id": s.offer_id, "event": "subscription"}),
            &*format!(
                "postbacks[0].event: offer `{}` has no event `subscription`",
                s.offer_id
            ),
        ),
    ] {
        let (st, v) = app
            .post(
                "/api/v1/affiliates",
                json!({"name": "A", "postbacks": [template]}),
            )
            .await;
        assert_eq!(
            (st, v["message"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(message)),
            "{v}"
        );
        let (st, v) = app
            .patch(
                &format!("/api/v1/affiliates/{}", s.affiliate_id),
                json!({"postbacks": [template]}),
            )
            .await;
        assert_eq!(
            (st, v["message"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(message)),
            "{v}"
        );
    }
    let (st, v) = app
        .patch(
            &format!("/api/v1/affiliates/{}", s.affiliate_id),
            json!({"postbacks": [{"url": url, "offer_id": s.offer_id, "event": "sale"}]}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
}
