//! Several nodes behind one load balancer: two servers in this process on
//! one store (as two nodes on one database), sharing the real Redis at
//! 127.0.0.1:6379 under a key prefix of their own. A client limited at one
//! node is limited at the other, a webhook replayed to the other node gets
//! the first answer, a click unique at one node is not unique at the other,
//! and a configuration change made through one node is live on the other.
//! With Redis unreachable, clicks and postbacks are still served, with
//! this node's own limits. With CLICKLEDGER_TEST_PG set, two nodes with a
//! store each on one fresh PostgreSQL database do the same.

mod common;

use std::time::{Duration, Instant};

use clickledger_domain::rate::Limit;
use clickledger_domain::signature::webhook_sign;
use clickledger_server::cache::Config;
use clickledger_server::Settings;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

const REDIS: &str = "redis://127.0.0.1:6379/0";

/// A key prefix of the test's own; its keys are deleted when it ends,
/// whether it passed or not.
struct Keys {
    prefix: String,
}

impl Keys {
    fn new() -> Keys {
        Keys {
            prefix: clickledger_server::util::random_id("cltest", 12),
        }
    }

    fn settings(&self) -> Settings {
        Settings {
            redis: Some(REDIS.into()),
            redis_prefix: self.prefix.clone(),
            ..Settings::default()
        }
    }

    fn conn() -> redis::Connection {
        redis::Client::open(REDIS)
            .unwrap()
            .get_connection()
            .expect("the Redis at 127.0.0.1:6379")
    }

    /// The keys written under the prefix, sorted.
    fn list(&self, part: &str) -> Vec<String> {
        let mut keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}:{part}*", self.prefix))
            .query(&mut Self::conn())
            .unwrap();
        keys.sort();
        keys
    }
}

impl Drop for Keys {
    fn drop(&mut self) {
        let keys = self.list("");
        if !keys.is_empty() {
            let _: () = redis::cmd("DEL")
                .arg(&keys)
                .query(&mut Self::conn())
                .unwrap();
        }
    }
}

/// Slow enough to refill that no token comes back during a test.
fn few(burst: f64) -> Limit {
    Limit {
        per_second: 1.0 / 3600.0,
        burst,
    }
}

async fn click_record(app: &TestApp, link_id: &str, ua: &str) -> Value {
    let resp = app
        .client
        .get(app.url(&format!("/c/{link_id}?sub1=s")))
        .header("user-agent", ua)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FOUND);
    let cid = click_id_of(resp.headers()["location"].to_str().unwrap());
    let (st, click) = app.get(&format!("/api/v1/clicks/{cid}")).await;
    assert_eq!(st, StatusCode::OK, "{click}");
    click
}

/// A failed dashboard login (no such account): the status and the page.
async fn failed_login(app: &TestApp, email: &str) -> (StatusCode, String) {
    let form = app.client.get(app.url("/login")).send().await.unwrap();
    let cookies: Vec<String> = form
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_string())
        .collect();
    let html = form.text().await.unwrap();
    let at = html.find("name=\"csrf\" value=\"").expect("a login form") + 19;
    let token = html[at..].split('"').next().unwrap();
    let resp = app
        .client
        .post(app.url("/login"))
        .header("cookie", cookies.join("; "))
        .form(&[("csrf", token), ("email", email), ("password", "not it")])
        .send()
        .await
        .unwrap();
    (resp.status(), resp.text().await.unwrap())
}

#[tokio::test]
async fn a_client_limited_at_one_node_is_limited_at_the_other() {
    let keys = Keys::new();
    let settings = || Settings {
        postback_rate_ip: few(3.0),
        click_rate_ip: few(2.0),
        ui: clickledger_server::ui::UiSettings {
            login_rate_account: few(2.0),
            ..Default::default()
        },
        ..keys.settings()
    };
    let (a, b, s) = two_nodes(settings).await;

    // postbacks per IP: three at A (refused for their token, but counted)…
    for _ in 0..3 {
        let (st, v) = a.postback(&[("token", "not-a-token")]).await;
        assert_eq!(
            (st, v["error"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("invalid_token")),
            "{v}"
        );
    }
    // …and B has no token left for this address
    let (st, v) = b.postback(&[("token", &s.token)]).await;
    assert_eq!(
        (st, v["error"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")),
        "{v}"
    );
    // the wait is the shared bucket's: about an hour for one token at 1/h
    let message = v["message"].as_str().unwrap();
    let wait: u64 = message
        .strip_prefix("too many postbacks from 127.0.0.1; retry in ")
        .and_then(|m| m.strip_suffix(" s"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{message}"));
    assert!((3000..=3600).contains(&wait), "{message}");

    // clicks per IP: two at A are fine, the third, at B, is suspicious
    let ua = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0";
    for _ in 0..2 {
        assert_eq!(click_record(&a, &s.link_id, ua).await["suspicious"], false);
    }
    let third = click_record(&b, &s.link_id, ua).await;
    assert_eq!(third["suspicious"], true, "{third}");

    // failed logins per account: two at A, then B refuses the account
    for _ in 0..2 {
        let (st, page) = failed_login(&a, "who@example.com").await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{page}");
    }
    let (st, page) = failed_login(&b, "who@example.com").await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "{page}");
    assert!(page.contains("Too many failed logins"));

    // the buckets are in Redis, one per kind and key; the e-mail only hashed
    let buckets = keys.list("rl:");
    let p = &keys.prefix;
    for k in [
        format!("{p}:rl:postback_ip:127.0.0.1"),
        format!("{p}:rl:click_ip:127.0.0.1"),
        format!("{p}:rl:login_ip:127.0.0.1"),
    ] {
        assert!(buckets.contains(&k), "{k} not in {buckets:?}");
    }
    let account: Vec<&String> = buckets
        .iter()
        .filter(|k| k.contains(":login_account:"))
        .collect();
    assert_eq!(account.len(), 1, "{buckets:?}");
    assert!(!account[0].contains('@'), "{account:?}");
    assert!(b
        .metrics()
        .await
        .contains("clickledger_redis_fallbacks_total 0\n"));
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn an_advertiser_limited_at_one_node_is_limited_at_the_other() {
    let keys = Keys::new();
    let (a, b, s) = two_nodes(|| keys.settings()).await;
    let (st, v) = a
        .patch(
            &format!("/api/v1/advertisers/{}", s.advertiser_id),
            json!({"rate_limit": "1/h:2"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    // the change reaches B through the config watcher
    let id = s.advertiser_id.clone();
    wait_until_cached(&b, |c| {
        c.advertiser_auth
            .get(&id)
            .is_some_and(|a| a.rate_limit.is_some())
    })
    .await;
    // refused after the limits (no click_id): one token taken at each node…
    for node in [&a, &b] {
        let (st, v) = node
            .postback(&[("token", &s.token), ("event", "registration")])
            .await;
        assert_eq!(
            (st, v["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("missing_click_id")),
            "{v}"
        );
    }
    // …and then neither has one
    for node in [&b, &a] {
        let (st, v) = node
            .postback(&[("token", &s.token), ("event", "registration")])
            .await;
        assert_eq!(
            (st, v["error"].as_str()),
            (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")),
            "{v}"
        );
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains("for this advertiser"),
            "{v}"
        );
    }
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn a_webhook_replayed_to_another_node_gets_the_first_answer() {
    let keys = Keys::new();
    let (a, b, s) = two_nodes(|| keys.settings()).await;
    let cid = a.click(&s.link_id).await;
    let message = Webhook::registration(&s, "msg_shared_1", &cid);
    let (_, first) = message.send(&a).await;
    assert_eq!(first["result"], "accepted", "{first}");
    assert_eq!(first["payout"], "2.00", "{first}");
    let (st, again) = message.send(&b).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(again, first, "B answers A's first answer verbatim");
    // one conversion; B logged the replay as one
    let (_, list) = a.get(&format!("/api/v1/conversions?click_id={cid}")).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    let (_, log) = b.get("/api/v1/postbacks?result=duplicate").await;
    assert!(
        log["items"][0]["message"]
            .as_str()
            .unwrap()
            .contains("webhook-id already processed"),
        "{log}"
    );
    assert_eq!(
        keys.list("wh:"),
        vec![format!(
            "{}:wh:{}:msg_shared_1",
            keys.prefix, s.advertiser_id
        )]
    );
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn a_click_unique_at_one_node_is_not_unique_at_the_other() {
    let keys = Keys::new();
    let (a, b, s) = two_nodes(|| keys.settings()).await;
    let ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0 Safari/537.36";
    assert_eq!(click_record(&a, &s.link_id, ua).await["unique"], true);
    // the same visitor sent to B by the load balancer
    assert_eq!(click_record(&b, &s.link_id, ua).await["unique"], false);
    assert_eq!(click_record(&b, &s.link_id, ua).await["unique"], false);
    // another visitor (another user agent) is unique at B
    let other = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) Safari/605.1.15";
    assert_eq!(click_record(&b, &s.link_id, other).await["unique"], true);
    assert_eq!(click_record(&a, &s.link_id, other).await["unique"], false);
    // one key per visitor, named by a hash (no IP or user agent in it)
    let uq = keys.list("uq:");
    assert_eq!(uq.len(), 2, "{uq:?}");
    assert!(uq.iter().all(|k| !k.contains("127.0.0.1")), "{uq:?}");
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn without_redis_each_node_counts_unique_clicks_alone() {
    // what --redis is for: the same two clicks as above, each unique
    let (a, b, s) = two_nodes(Settings::default).await;
    let ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0 Safari/537.36";
    assert_eq!(click_record(&a, &s.link_id, ua).await["unique"], true);
    assert_eq!(click_record(&b, &s.link_id, ua).await["unique"], true);
    assert_eq!(click_record(&b, &s.link_id, ua).await["unique"], false);
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn a_config_change_through_one_node_is_live_on_the_other() {
    let (a, b, s) = two_nodes(Settings::default).await;
    let (st, v) = a
        .post(&format!("/api/v1/links/{}/pause", s.link_id), json!({}))
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    wait_for(|| async {
        let (st, _, v) = b.anon(&format!("/c/{}", s.link_id), None).await;
        st == StatusCode::GONE && v["message"] == format!("link `{}` is paused", s.link_id)
    })
    .await;
    // a key revoked through A stops working at B
    let created = a.create("/api/v1/admin-keys", json!({"name": "ops"})).await;
    let key = created["key"].as_str().unwrap().to_string();
    wait_for(|| async {
        b.call_as(&key, reqwest::Method::GET, "/api/v1/offers", None)
            .await
            .0
            == StatusCode::OK
    })
    .await;
    let id = created["id"].as_str().unwrap();
    let (st, v) = a
        .post(&format!("/api/v1/admin-keys/{id}/revoke"), json!({}))
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    wait_for(|| async {
        b.call_as(&key, reqwest::Method::GET, "/api/v1/offers", None)
            .await
            .0
            == StatusCode::UNAUTHORIZED
    })
    .await;
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn with_redis_unreachable_clicks_and_postbacks_are_served_with_local_limits() {
    // a port nothing listens on
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let app = TestApp::spawn_with(Settings {
        redis: Some(format!("redis://127.0.0.1:{port}/0")),
        postback_rate_ip: few(2.0),
        ..Settings::default()
    })
    .await;
    let s = app.setup().await;
    let ua = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0";
    let first = click_record(&app, &s.link_id, ua).await;
    assert_eq!(
        (first["unique"].as_bool(), first["suspicious"].as_bool()),
        (Some(true), Some(false))
    );
    // this node's memory still knows the visitor
    assert_eq!(click_record(&app, &s.link_id, ua).await["unique"], false);
    let cid = first["id"].as_str().unwrap();
    let (st, v) = app
        .postback(&[
            ("token", &s.token),
            ("click_id", cid),
            ("event", "registration"),
        ])
        .await;
    assert_eq!(
        (st, v["result"].as_str()),
        (StatusCode::OK, Some("accepted")),
        "{v}"
    );
    // the second of two tokens, then this node's own bucket refuses
    let (st, v) = app.postback(&[("token", "not-a-token")]).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{v}");
    let (st, v) = app.postback(&[("token", &s.token)]).await;
    assert_eq!(
        (st, v["error"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")),
        "{v}"
    );
    let fallbacks: u64 = app
        .metrics()
        .await
        .lines()
        .find_map(|l| l.strip_prefix("clickledger_redis_fallbacks_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(fallbacks >= 5, "every shared check fell back: {fallbacks}");
    app.stop().await;
}

#[tokio::test]
async fn two_nodes_on_postgresql_share_config_limits_replays_and_uniques() {
    // two stores on one database, as two processes have: B hears of A's
    // changes only through PostgreSQL (LISTEN/NOTIFY, the stamp)
    let Some(db) = postgres_database().await else {
        return;
    };
    let keys = Keys::new();
    let node = || async {
        let store = clickledger_store::open(db.url()).await.unwrap();
        let settings = Settings {
            postback_rate_ip: few(50.0),
            ..keys.settings()
        };
        TestApp::spawn_on(store, TempDir::new(), settings).await
    };
    let a = node().await;
    let b = node().await;
    let s = a.setup().await;
    wait_until_cached(&b, |c| c.links.contains_key(&s.link_id)).await;

    let ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0 Safari/537.36";
    let first = click_record(&a, &s.link_id, ua).await;
    assert_eq!(first["unique"], true);
    assert_eq!(click_record(&b, &s.link_id, ua).await["unique"], false);

    let cid = first["id"].as_str().unwrap();
    let message = Webhook::registration(&s, "msg_pg_1", cid);
    let (_, answer) = message.send(&a).await;
    assert_eq!(answer["result"], "accepted", "{answer}");
    assert_eq!(message.send(&b).await.1, answer);
    let (_, list) = b.get(&format!("/api/v1/conversions?click_id={cid}")).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");

    // a pause through B reaches A
    let (st, v) = b
        .post(&format!("/api/v1/links/{}/pause", s.link_id), json!({}))
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    wait_for(|| async {
        let (st, _, _) = a.anon(&format!("/c/{}", s.link_id), None).await;
        st == StatusCode::GONE
    })
    .await;
    // both nodes spent one shared bucket per IP: 50 tokens, 2 taken so far
    let mut refused = 0;
    for i in 0..50 {
        let node = if i % 2 == 0 { &a } else { &b };
        let (st, _) = node.postback(&[("token", "not-a-token")]).await;
        refused += u32::from(st == StatusCode::TOO_MANY_REQUESTS);
    }
    assert_eq!(refused, 2, "48 tokens were left for the two nodes together");
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn a_redis_url_that_does_not_parse_stops_the_start_without_its_password() {
    let dir = TempDir::new();
    let store: std::sync::Arc<dyn clickledger_store::Store> =
        std::sync::Arc::new(clickledger_store::SqliteStore::open(dir.0.join("t.db")).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let settings = Settings {
        redis: Some("http://user:hunter2@cache:6379".into()),
        ..Settings::default()
    };
    let err = match clickledger_server::start(store, settings, listener).await {
        Ok(_) => panic!("started with a URL that is not redis://"),
        Err(e) => e,
    };
    assert!(err.starts_with("--redis: "), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

/// A signed Standard Webhooks message reporting a registration, sent (and
/// resent: same id, time and signature) as an advertiser's server does.
struct Webhook {
    path: String,
    id: &'static str,
    ts: String,
    sig: String,
    body: Vec<u8>,
}

impl Webhook {
    fn registration(s: &Setup, id: &'static str, click_id: &str) -> Webhook {
        let body =
            serde_json::to_vec(&json!({"click_id": click_id, "event": "registration"})).unwrap();
        let ts = (clickledger_server::util::now_ms() / 1000).to_string();
        Webhook {
            path: format!("/postback/{}", s.token),
            id,
            sig: webhook_sign(&s.signing_secret, id, &ts, &body),
            ts,
            body,
        }
    }

    async fn send(&self, node: &TestApp) -> (StatusCode, Value) {
        let r = node
            .client
            .post(node.url(&self.path))
            .header("content-type", "application/json")
            .header("webhook-id", self.id)
            .header("webhook-timestamp", &self.ts)
            .header("webhook-signature", &self.sig)
            .body(self.body.clone())
            .send()
            .await
            .unwrap();
        (r.status(), r.json().await.unwrap())
    }
}

#[tokio::test]
async fn a_node_loads_its_config_once_per_change_it_makes_and_the_other_once_per_burst() {
    let Some(db) = postgres_database().await else {
        return;
    };
    let node = || async {
        let store = clickledger_store::open(db.url()).await.unwrap();
        TestApp::spawn_on(store, TempDir::new(), Settings::default()).await
    };
    let a = node().await;
    let b = node().await;
    let s = a.setup().await;
    wait_until_cached(&b, |c| c.links.contains_key(&s.link_id)).await;
    // every push of the setup heard, and a poll or two besides
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (a0, b0) = (reloads(&a).await, reloads(&b).await);
    let mut last = String::new();
    for _ in 0..12 {
        let link = a
            .create(
                "/api/v1/links",
                json!({"offer_id": s.offer_id, "affiliate_id": s.affiliate_id}),
            )
            .await;
        last = link["id"].as_str().unwrap().to_string();
    }
    wait_until_cached(&b, |c| c.links.contains_key(&last)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // A heard its own 12 pushes too: each found the stamp already seen
    assert_eq!(
        reloads(&a).await - a0,
        12,
        "one load per change made through A"
    );
    let heard = reloads(&b).await - b0;
    assert!(
        (1..=12).contains(&heard),
        "B loaded {heard} times for 12 changes"
    );
    b.stop().await;
    a.stop().await;
}

/// How many times a node has loaded its configuration.
async fn reloads(node: &TestApp) -> u64 {
    let text = node.metrics().await;
    text.lines()
        .find_map(|l| l.strip_prefix("clickledger_config_reloads_total "))
        .expect("the reload counter")
        .parse()
        .unwrap()
}

/// Two nodes on one store, each started with `settings()`, and the usual
/// setup made through A and known to B.
async fn two_nodes(settings: impl Fn() -> Settings) -> (TestApp, TestApp, Setup) {
    let a = TestApp::spawn_with(settings()).await;
    let b = a.spawn_beside(settings()).await;
    let s = a.setup().await;
    wait_until_cached(&b, |c| c.links.contains_key(&s.link_id)).await;
    (a, b, s)
}

/// Waits until `node`'s cached configuration satisfies `ok`.
async fn wait_until_cached(node: &TestApp, ok: impl Fn(&Config) -> bool) {
    let state = node.running.as_ref().unwrap().state.clone();
    wait_for(|| {
        let known = ok(&state.cache.get());
        async move { known }
    })
    .await;
}

/// Waits until `ok` holds. Changes reach other nodes within a second; the
/// bound is generous for a loaded machine and only stops a broken test.
async fn wait_for<F, Fut>(ok: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(5);
    while !ok().await {
        assert!(
            Instant::now() < deadline,
            "not seen on the other node within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
