//! Links' traffic flows end to end: real HTTP on loopback, a real SQLite
//! file, the test GeoIP database. Visitors are told apart by their user
//! agent and their address (X-Forwarded-For from loopback, a trusted proxy
//! here): 127.0.0.0/8 is DE (region BY), 10.0.0.0/8 IN, 192.0.2.0/24 US.

mod common;

use std::collections::{BTreeMap, HashMap};

use clickledger_domain::net::Cidr;
use clickledger_server::Settings;
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const IPHONE: &str =
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1";
const DESKTOP: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
const BOT: &str = "curl/8.5.0";

async fn app() -> TestApp {
    TestApp::spawn_with(Settings {
        geoip: Some(fixture("geo-test.mmdb")),
        trusted_proxies: vec![Cidr::parse("127.0.0.0/8").unwrap()],
        ..Settings::default()
    })
    .await
}

/// An offer of the setup's advertiser whose destination is
/// `https://{host}/?cid={click_id}`.
async fn offer(app: &TestApp, s: &Setup, host: &str) -> String {
    let o = app
        .create(
            "/api/v1/offers",
            json!({
                "advertiser_id": s.advertiser_id, "name": host,
                "destination_url": format!("https://{host}/?cid={{click_id}}&o={{offer_id}}"),
                "currency": "USD",
                "events": [{"name": "registration", "payout": {"type": "fixed", "amount": "3.00"}}]
            }),
        )
        .await;
    o["id"].as_str().unwrap().to_string()
}

async fn put_flow(app: &TestApp, link: &str, flow: Value) -> (StatusCode, Value) {
    app.admin(
        Method::PUT,
        &format!("/api/v1/links/{link}/flow"),
        Some(flow),
    )
    .await
}

/// One visit: status, Location (or the body), and the cookie set, if any.
async fn visit(
    app: &TestApp,
    link: &str,
    ua: &str,
    ip: &str,
    cookie: Option<&str>,
) -> (StatusCode, String, Option<String>) {
    let mut req = app
        .client
        .get(app.url(&format!("/c/{link}?sub1=s")))
        .header("user-agent", ua)
        .header("x-forwarded-for", ip);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let set = r
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string());
    let location = match r.headers().get("location") {
        Some(l) => l.to_str().unwrap().to_string(),
        None => r.text().await.unwrap(),
    };
    (status, location, set)
}

/// The host a Location points to.
fn host(location: &str) -> String {
    reqwest::Url::parse(location)
        .unwrap()
        .host_str()
        .unwrap()
        .to_string()
}

async fn clicks_of(app: &TestApp, link: &str) -> Vec<Value> {
    let (st, v) = app
        .get(&format!("/api/v1/clicks?link_id={link}&limit=1000"))
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    v["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_flow_sends_each_kind_of_visitor_where_it_should() {
    let app = app().await;
    let s = app.setup().await;
    let (a, b) = (
        offer(&app, &s, "a.example").await,
        offer(&app, &s, "b.example").await,
    );
    let (st, saved) = put_flow(
        &app,
        &s.link_id,
        json!({
            "rules": [
                {"name": "bots", "if": {"bot": true}, "action": "block"},
                {"name": "DE/AT mobile", "if": {"country": ["DE", "AT"], "device": ["mobile"]},
                 "to": [{"offer_id": a, "weight": 1}]},
                {"name": "Bavaria", "if": {"region": ["BY"]},
                 "to": [{"url": "https://lp.example/by?cid={click_id}&s={sub1}", "weight": 1, "id": "lp-by"}]},
                {"name": "not US", "if": {"country": {"not": ["US"]}},
                 "to": [{"offer_id": b, "weight": 1}]}
            ],
            "default": [{"offer_id": s.offer_id, "weight": 1}]
        }),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{saved}");
    assert_eq!(saved["version"], 1);
    assert_eq!(saved["flow"]["rules"][1]["name"], "DE/AT mobile");

    // a bot: a plain 404, as for a link that does not exist
    let (st, body, _) = visit(&app, &s.link_id, BOT, "127.0.0.9", None).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"], "not_found", "{body}");
    // a German phone: offer A, with A's id in the macros
    let (st, to_a, _) = visit(&app, &s.link_id, IPHONE, "127.0.0.2", None).await;
    assert_eq!(st, StatusCode::FOUND);
    assert_eq!(host(&to_a), "a.example");
    assert!(to_a.ends_with(&format!("&o={a}")), "{to_a}");
    // a Bavarian desktop: the landing page, macros filled
    let (_, to_lp, _) = visit(&app, &s.link_id, DESKTOP, "127.0.0.3", None).await;
    assert!(to_lp.starts_with("https://lp.example/by?cid="), "{to_lp}");
    assert!(to_lp.ends_with("&s=s"), "{to_lp}");
    // an Indian desktop: not US, offer B
    let (_, to_b, _) = visit(&app, &s.link_id, DESKTOP, "10.1.2.3", None).await;
    assert_eq!(host(&to_b), "b.example");
    // an American desktop: the default, the link's own offer
    let (_, to_default, _) = visit(&app, &s.link_id, DESKTOP, "192.0.2.7", None).await;
    assert_eq!(host(&to_default), "adv.example");
    // an address the database does not know: its country is unknown, and
    // so "not in [US]": offer B
    let (_, unknown, _) = visit(&app, &s.link_id, DESKTOP, "203.0.113.5", None).await;
    assert_eq!(host(&unknown), "b.example");

    // every click is recorded with the rule and target that took it, and
    // the offer the flow chose
    let clicks = clicks_of(&app, &s.link_id).await;
    assert_eq!(clicks.len(), 6);
    let by_rule: BTreeMap<String, Vec<&Value>> = clicks.iter().fold(BTreeMap::new(), |mut m, c| {
        m.entry(c["rule"].as_str().unwrap_or("").to_string())
            .or_insert_with(Vec::new)
            .push(c);
        m
    });
    let one = |rule: &str| by_rule[rule][0];
    assert_eq!(one("bots")["blocked"], true);
    assert_eq!(one("bots").get("target"), None);
    assert_eq!(one("DE/AT mobile")["target"], format!("offer:{a}"));
    assert_eq!(one("DE/AT mobile")["offer_id"], a);
    assert_eq!(one("DE/AT mobile")["flow_offer"], true);
    assert_eq!(
        one("Bavaria").get("flow_offer"),
        None,
        "the link's own offer"
    );
    assert_eq!(one("DE/AT mobile")["country"], "DE");
    assert_eq!(one("Bavaria")["target"], "lp-by");
    assert_eq!(one("Bavaria")["offer_id"], s.offer_id);
    assert_eq!(by_rule["not US"].len(), 2);
    assert_eq!(one("not US")["offer_id"], b);
    assert_eq!(one("")["target"], format!("offer:{}", s.offer_id));
    assert_eq!(one("")["blocked"], false);

    // the German phone converts: on offer A, at A's payout, with its rule
    let cid = click_id_of(&to_a);
    let (st, pb) = app
        .postback(&[
            ("token", &s.token),
            ("click_id", &cid),
            ("event", "registration"),
            ("txid", "t-a"),
        ])
        .await;
    assert_eq!(st, StatusCode::OK, "{pb}");
    let (_, conv) = app
        .get(&format!("/api/v1/conversions?click_id={cid}"))
        .await;
    let conv = &conv["items"][0];
    assert_eq!(conv["offer_id"], a);
    assert_eq!(conv["payout"], "3.00");
    assert_eq!(conv["rule"], "DE/AT mobile");
    assert_eq!(conv["target"], format!("offer:{a}"));

    // the report by rule and target reads the split, and adds up
    let (st, r) = app
        .get(&format!(
            "/api/v1/reports?group_by=rule,target&link={}",
            s.link_id
        ))
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    let rows = r["rows"].as_array().unwrap();
    let row = |rule: &str| {
        rows.iter()
            .find(|x| x["rule"] == rule)
            .unwrap_or_else(|| panic!("no row {rule}: {r}"))
    };
    assert_eq!(row("DE/AT mobile")["clicks"], 1);
    assert_eq!(row("DE/AT mobile")["conversions"], 1);
    assert_eq!(row("DE/AT mobile")["payout"], "3.00");
    assert_eq!(row("DE/AT mobile")["epc"], "3.0000");
    assert_eq!(row("not US")["clicks"], 2);
    assert_eq!(row("not US")["target"], format!("offer:{b}"));
    assert_eq!(row("bots")["clicks"], 1);
    assert_eq!(row("")["target"], format!("offer:{}", s.offer_id));
    let sum: i64 = rows.iter().map(|x| x["clicks"].as_i64().unwrap()).sum();
    assert_eq!(sum, 6);
    assert_eq!(r["totals"]["clicks"], 6);
    assert_eq!(r["totals"]["payout"], "3.00");
    // by offer, the flow's offers are the clicks' offers
    let (_, r) = app
        .get(&format!(
            "/api/v1/reports?group_by=offer&link={}",
            s.link_id
        ))
        .await;
    let by_offer: HashMap<String, i64> = r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["offer"].as_str().unwrap().to_string(),
                x["clicks"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(by_offer[&a], 1);
    assert_eq!(by_offer[&b], 2);
    // the bot, the Bavarian landing page and the default
    assert_eq!(by_offer[&s.offer_id], 3);
    // by link (its own rollup: link and offer), the same clicks, with the
    // link's affiliate and the conversion under the offer it went to
    let (_, r) = app
        .get("/api/v1/reports?group_by=link,affiliate,offer&sort=offer")
        .await;
    let rows: Vec<(String, String, String, i64, i64)> = r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["link"].as_str().unwrap().to_string(),
                x["affiliate"].as_str().unwrap().to_string(),
                x["offer"].as_str().unwrap().to_string(),
                x["clicks"].as_i64().unwrap(),
                x["conversions"].as_i64().unwrap(),
            )
        })
        .collect();
    let mut expected = vec![
        (s.link_id.clone(), s.affiliate_id.clone(), a.clone(), 1, 1),
        (s.link_id.clone(), s.affiliate_id.clone(), b.clone(), 2, 0),
        (
            s.link_id.clone(),
            s.affiliate_id.clone(),
            s.offer_id.clone(),
            3,
            0,
        ),
    ];
    expected.sort_by(|x, y| x.2.cmp(&y.2));
    assert_eq!(rows, expected, "{r}");
    assert_eq!(r["totals"]["payout"], "3.00");
}

#[tokio::test]
async fn a_returning_visitor_keeps_their_branch_unless_it_is_gone() {
    let app = app().await;
    let s = app.setup().await;
    let a = offer(&app, &s, "a.example").await;
    let (st, v) = put_flow(
        &app,
        &s.link_id,
        json!({"default": [
            {"offer_id": a, "weight": 1},
            {"url": "https://lp.example/?cid={click_id}", "weight": 1}
        ]}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut first = Vec::new();
    for i in 0..40 {
        let ip = format!("10.0.{}.{}", i / 200, i % 200 + 1);
        let (st, loc, cookie) = visit(&app, &s.link_id, DESKTOP, &ip, None).await;
        assert_eq!(st, StatusCode::FOUND);
        let cookie = cookie.expect("the first visit sets the visitor cookie");
        assert!(cookie.starts_with("clv="), "{cookie}");
        // the same address and agent again, without the cookie: same branch
        let (_, again, _) = visit(&app, &s.link_id, DESKTOP, &ip, None).await;
        assert_eq!(host(&again), host(&loc), "visitor {ip}");
        // with the cookie from another address: same branch, no new cookie
        let (_, moved, set) = visit(&app, &s.link_id, DESKTOP, "192.0.2.200", Some(&cookie)).await;
        assert_eq!(host(&moved), host(&loc), "visitor {ip} with {cookie}");
        assert_eq!(set, None);
        *seen.entry(host(&loc)).or_default() += 1;
        first.push((cookie, host(&loc)));
    }
    // both branches take visitors
    assert!(
        seen["a.example"] >= 8 && seen["lp.example"] >= 8,
        "{seen:?}"
    );

    // offer A paused: its visitors move to the landing page, the others stay
    let (st, _) = app
        .post(&format!("/api/v1/offers/{a}/pause"), json!({}))
        .await;
    assert_eq!(st, StatusCode::OK);
    for (cookie, _) in &first {
        let (_, loc, _) = visit(&app, &s.link_id, DESKTOP, "10.9.9.9", Some(cookie)).await;
        assert_eq!(host(&loc), "lp.example");
    }
    // back again: everyone returns to their first branch
    app.post(&format!("/api/v1/offers/{a}/resume"), json!({}))
        .await;
    for (cookie, was) in &first {
        let (_, loc, _) = visit(&app, &s.link_id, DESKTOP, "10.9.9.9", Some(cookie)).await;
        assert_eq!(&host(&loc), was);
    }
}

#[tokio::test]
async fn with_every_target_gone_the_fallback_takes_the_visitor_else_410() {
    let app = app().await;
    let s = app.setup().await;
    let a = offer(&app, &s, "a.example").await;
    put_flow(
        &app,
        &s.link_id,
        json!({"rules": [{"name": "phones", "if": {"device": ["mobile"]}, "to": [{"offer_id": a, "weight": 1}]}],
               "default": [{"offer_id": s.offer_id, "weight": 1}]}),
    )
    .await;
    app.post(&format!("/api/v1/offers/{a}/pause"), json!({}))
        .await;
    let before = clicks_of(&app, &s.link_id).await.len();
    let (st, body, _) = visit(&app, &s.link_id, IPHONE, "127.0.0.2", None).await;
    assert_eq!(st, StatusCode::GONE);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"], "gone");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("every target of rule `phones`"),
        "{body}"
    );
    // desktops still go to the default
    let (st, loc, _) = visit(&app, &s.link_id, DESKTOP, "127.0.0.2", None).await;
    assert_eq!((st, host(&loc)), (StatusCode::FOUND, "adv.example".into()));
    // with a fallback on the link's offer, phones go there, unrecorded
    let (st, _) = app
        .patch(
            &format!("/api/v1/offers/{}", s.offer_id),
            json!({"fallback_url": "https://fallback.example/?s={sub1}"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, loc, _) = visit(&app, &s.link_id, IPHONE, "127.0.0.2", None).await;
    assert_eq!(
        (st, loc.as_str()),
        (StatusCode::FOUND, "https://fallback.example/?s=s")
    );
    assert_eq!(clicks_of(&app, &s.link_id).await.len(), before + 1);
}

#[tokio::test]
async fn flows_are_checked_versioned_audited_and_removable() {
    let app = app().await;
    let s = app.setup().await;
    let a = offer(&app, &s, "a.example").await;
    let path = format!("/api/v1/links/{}/flow", s.link_id);
    // refusals name the path and the reason
    let cases = [
        (
            json!({"rules": [{"name": "x", "if": {"country": ["Germany"]}, "action": "block"}],
                   "default": [{"offer_id": a, "weight": 1}]}),
            "rules[0].if.country[0]",
        ),
        (json!({"rules": []}), "default: is missing"),
        (
            json!({"default": [{"offer_id": "off_nope", "weight": 1}]}),
            "offer_id: no offer `off_nope`",
        ),
        (
            json!({"rules": [{"name": "t", "if": {"hour": [9], "timezone": "Mars/Base"}, "action": "block"}],
                   "default": [{"offer_id": a, "weight": 1}]}),
            "Mars/Base",
        ),
    ];
    for (body, says) in cases {
        let (st, v) = put_flow(&app, &s.link_id, body).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["error"], "validation_failed", "{v}");
        assert!(v["message"].as_str().unwrap().contains(says), "{says}: {v}");
    }
    let (st, v) = app.get(&path).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("has no flow"),
        "{v}"
    );

    let first = json!({"default": [{"offer_id": a, "weight": 1}]});
    let second =
        json!({"default": [{"offer_id": a, "weight": 3}, {"offer_id": s.offer_id, "weight": 1}]});
    assert_eq!(put_flow(&app, &s.link_id, first).await.0, StatusCode::OK);
    let (_, v) = put_flow(&app, &s.link_id, second).await;
    assert_eq!(v["version"], 2);
    let (_, link) = app.get(&format!("/api/v1/links/{}", s.link_id)).await;
    assert_eq!(link["has_flow"], true);
    let (_, versions) = app.get(&format!("{path}/versions")).await;
    let versions = versions["items"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["template"]["default"][0]["weight"], 1);
    let (_, diff) = app.get(&format!("{path}/versions/diff?from=1&to=2")).await;
    assert!(!diff["changes"].as_array().unwrap().is_empty(), "{diff}");
    let (_, audit) = app
        .get(&format!(
            "/api/v1/audit?entity_id={}&action=flow",
            s.link_id
        ))
        .await;
    let audit = audit["items"].as_array().unwrap();
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[0]["after"]["default"][1]["offer_id"], s.offer_id);
    assert_eq!(audit[0]["before"]["default"][0]["weight"], 1);
    // partners cannot change or read flows
    let (st, _) = app
        .call_as(&s.affiliate_key, Method::GET, &path, None)
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // removed: every visitor goes to the link's offer again
    let (st, link) = app.admin(Method::DELETE, &path, None).await;
    assert_eq!((st, &link["has_flow"]), (StatusCode::OK, &json!(false)));
    let (_, loc, cookie) = visit(&app, &s.link_id, DESKTOP, "127.0.0.2", None).await;
    assert_eq!(host(&loc), "adv.example");
    assert_eq!(cookie, None, "no flow, no visitor cookie");
    let (_, versions) = app.get(&format!("{path}/versions")).await;
    assert_eq!(versions["items"][2]["template"], Value::Null);
    assert_eq!(app.get(&path).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_optimizer_moves_weight_to_the_better_epc_and_shows_it() {
    let app = app().await;
    let s = app.setup().await;
    let (st, v) = put_flow(
        &app,
        &s.link_id,
        json!({"rules": [{"name": "test", "optimize": true, "to": [
                {"url": "https://x.example/?cid={click_id}", "weight": 1, "id": "x"},
                {"url": "https://y.example/?cid={click_id}", "weight": 1, "id": "y"}]}],
               "default": [{"offer_id": s.offer_id, "weight": 1}]}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["weights"], json!([]), "nothing computed yet");
    // 60 visitors; x's convert, y's do not
    let mut n = 0;
    for i in 0..60 {
        let (_, loc, _) = visit(&app, &s.link_id, DESKTOP, &format!("10.1.0.{i}"), None).await;
        if host(&loc) == "x.example" {
            n += 1;
            let (st, pb) = app
                .postback(&[
                    ("token", &s.token),
                    ("click_id", &click_id_of(&loc)),
                    ("event", "registration"),
                ])
                .await;
            assert_eq!(st, StatusCode::OK, "{pb}");
        }
    }
    assert!((10..50).contains(&n), "x took {n} of 60");
    let running = app.running.as_ref().unwrap();
    running
        .state
        .optimizer
        .run(&running.state, clickledger_server::util::now_ms())
        .await
        .unwrap();
    let (_, v) = app.get(&format!("/api/v1/links/{}/flow", s.link_id)).await;
    let w = &v["weights"][0];
    assert_eq!(w["rule"], "test", "{v}");
    let (x, y) = (&w["targets"][0], &w["targets"][1]);
    assert_eq!(
        (x["target"].as_str(), y["target"].as_str()),
        (Some("x"), Some("y"))
    );
    assert_eq!(x["conversions"], n);
    assert_eq!(x["clicks"], n);
    assert_eq!(y["conversions"], 0);
    assert_eq!(x["payout"], format!("{}.00", 2 * n));
    // all but the 5 % floor goes to x
    assert_eq!(x["weight_in_use"], 9_500, "{v}");
    assert_eq!(y["weight_in_use"], 500, "{v}");
    assert!(v["optimized_at"].is_string());
    // and the clicks follow: nearly all new visitors go to x
    let mut to_x = 0;
    for i in 0..100 {
        let (_, loc, _) = visit(&app, &s.link_id, DESKTOP, &format!("10.2.0.{i}"), None).await;
        to_x += usize::from(host(&loc) == "x.example");
    }
    assert!(to_x >= 85, "{to_x} of 100 went to x");
}
