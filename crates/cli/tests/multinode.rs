//! Several `clickledger serve` processes on one PostgreSQL database, as
//! they run behind a load balancer: duplicates, caps and configuration
//! changes hold across nodes, and a node killed mid-work loses nothing it
//! acknowledged. They need a shared PostgreSQL (`CLICKLEDGER_TEST_PG`, e.g.
//! `postgres://root@127.0.0.1:5432`); without it each test says so and
//! passes, so the SQLite run stays green.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clickledger_testdb::ScratchDb;
use serde_json::{json, Value};

const ADMIN_KEY: &str = "multinode-admin-key";
/// Every node seals and opens signing secrets with the same key.
const MASTER_KEY: &str = "0123456789abcdeffedcba98765432100123456789abcdeffedcba9876543210";

/// A fresh database on the server `CLICKLEDGER_TEST_PG` names, or `None`
/// (after saying why) when it is unset.
async fn shared_database() -> Option<ScratchDb> {
    let Some(server) = clickledger_testdb::server_from_env() else {
        println!(
            "skipped: {} is unset, and nodes share state only through PostgreSQL",
            clickledger_testdb::ENV
        );
        return None;
    };
    Some(ScratchDb::create(&server, "cl_test").await.unwrap())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One `clickledger serve` process; killed when dropped. Its log goes to a
/// file, printed when the test fails.
struct Node {
    name: String,
    base: String,
    child: Option<Child>,
    log: PathBuf,
    client: reqwest::Client,
}

impl Node {
    /// Starts a node on the database at `db` without waiting for it;
    /// `extra` are more `serve` arguments.
    fn start(db: &str, name: &str, extra: &[&str]) -> Node {
        let port = free_port();
        let log = std::env::temp_dir().join(format!("clickledger-node-{port}-{name}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_clickledger"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--db", db, "--node", name, "--master-key", MASTER_KEY])
            // every request comes from 127.0.0.1: no per-IP limit may
            // decide what these tests see
            .args(["--click-rate-ip", "1000000/s:1000000"])
            .args(["--postback-rate-ip", "1000000/s:1000000"])
            .args(["--postback-rate-advertiser", "1000000/s:1000000"])
            .args(extra)
            .args(if extra.contains(&"--journal") {
                vec![]
            } else {
                let dir =
                    std::env::temp_dir().join(format!("clickledger-node-{port}-{name}.journal"));
                vec!["--journal".to_string(), dir.to_string_lossy().into_owned()]
            })
            .env("CLICKLEDGER_ADMIN_KEY", ADMIN_KEY)
            .env("CLICKLEDGER_ALLOW_PRIVATE_DESTINATIONS", "1")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Node {
            name: name.to_string(),
            base: format!("http://127.0.0.1:{port}"),
            child: Some(child),
            log,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    async fn started(db: &ScratchDb, name: &str, extra: &[&str]) -> Node {
        let mut node = Node::start(db.url(), name, extra);
        node.wait_healthy().await;
        node
    }

    async fn wait_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(exit) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                panic!("node {} exited ({exit}):\n{}", self.name, self.log_text());
            }
            if let Ok(r) = self.client.get(self.url("/healthz")).send().await {
                if r.status() == 200 {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "node {} did not become healthy:\n{}",
                self.name,
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no shutdown, no flush, as a crash or the OOM killer.
    fn sigkill(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .client
            .request(method, self.url(path))
            .bearer_auth(ADMIN_KEY);
        if let Some(b) = body {
            req = req.json(&b);
        }
        answer(req.send().await.unwrap()).await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn create(&self, path: &str, body: Value) -> Value {
        let (status, v) = self.post(path, body).await;
        assert_eq!(status, 201, "{path} on node {}: {v}", self.name);
        v
    }

    /// A registration postback on the click, which must be accepted: its
    /// answer.
    async fn register(&self, token: &str, click_id: &str) -> Value {
        let (st, v) = postback_on(
            &self.client,
            &self.url("/postback"),
            &[
                ("token", token),
                ("click_id", click_id),
                ("event", "registration"),
            ],
        )
        .await;
        assert_eq!(
            (st, &v["result"]),
            (200, &json!("accepted")),
            "node {}: {v}",
            self.name
        );
        v
    }

    /// A click on the link: its id from the destination, or the status and
    /// body of a refusal.
    async fn click(&self, link_id: &str) -> Result<String, (u16, Value)> {
        click_on(&self.client, &self.url(&format!("/c/{link_id}"))).await
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!("--- log of node {} ---\n{}", self.name, self.log_text());
        }
        let _ = std::fs::remove_file(&self.log);
    }
}

async fn answer(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn click_on(client: &reqwest::Client, url: &str) -> Result<String, (u16, Value)> {
    let r = client
        .get(url)
        .header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
        )
        .send()
        .await
        .map_err(|e| (0, Value::String(e.to_string())))?;
    if r.status() != 302 {
        return Err(answer(r).await);
    }
    let location = r.headers()["location"].to_str().unwrap().to_string();
    let cid = reqwest::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "cid")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no click id in {location}"));
    Ok(cid)
}

async fn postback_on(client: &reqwest::Client, url: &str, query: &[(&str, &str)]) -> (u16, Value) {
    answer(client.get(url).query(query).send().await.unwrap()).await
}

/// An advertiser, a USD offer (registration pays 2.00) with `offer_extra`
/// patched in, an affiliate made from `affiliate` and its link.
struct Setup {
    token: String,
    offer_id: String,
    affiliate_id: String,
    link_id: String,
}

async fn setup(node: &Node, offer_extra: Value, affiliate: Value) -> Setup {
    let adv = node
        .create("/api/v1/advertisers", json!({"name": "Adv"}))
        .await;
    let offer = node
        .create(
            "/api/v1/offers",
            json!({
                "advertiser_id": adv["id"], "name": "Offer",
                "destination_url": "https://adv.example/land?cid={click_id}",
                "currency": "USD",
                "events": [{"name": "registration", "payout": {"type": "fixed", "amount": "2.00"}}]
            }),
        )
        .await;
    let offer_id = offer["id"].as_str().unwrap().to_string();
    if offer_extra != json!({}) {
        let (st, v) = node
            .call(
                reqwest::Method::PATCH,
                &format!("/api/v1/offers/{offer_id}"),
                Some(offer_extra),
            )
            .await;
        assert_eq!(st, 200, "{v}");
    }
    let aff = node.create("/api/v1/affiliates", affiliate).await;
    let link = node
        .create(
            "/api/v1/links",
            json!({"offer_id": offer_id, "affiliate_id": aff["id"]}),
        )
        .await;
    Setup {
        token: adv["postback_token"].as_str().unwrap().to_string(),
        offer_id,
        affiliate_id: aff["id"].as_str().unwrap().to_string(),
        link_id: link["id"].as_str().unwrap().to_string(),
    }
}

/// `n` clicks on the link, alternating between the nodes.
async fn clicks(nodes: [&Node; 2], link_id: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let node = nodes[i % 2];
        let id = node
            .click(link_id)
            .await
            .unwrap_or_else(|e| panic!("click {i} on node {}: {e:?}", node.name));
        ids.push(id);
    }
    ids
}

/// Fires the postbacks all at once, the i-th to node i % 2; the answers in
/// the same order.
async fn fire(nodes: [&Node; 2], queries: Vec<Vec<(&'static str, String)>>) -> Vec<(u16, Value)> {
    let start = Arc::new(tokio::sync::Barrier::new(queries.len()));
    let mut tasks = Vec::new();
    for (i, q) in queries.into_iter().enumerate() {
        let node = nodes[i % 2];
        let (client, url, start) = (node.client.clone(), node.url("/postback"), start.clone());
        tasks.push(tokio::spawn(async move {
            let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
            start.wait().await;
            postback_on(&client, &url, &q).await
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    answers
}

async fn ledger_entries(node: &Node, affiliate_id: &str) -> Vec<Value> {
    let (st, l) = node
        .get(&format!("/api/v1/affiliates/{affiliate_id}/ledger"))
        .await;
    assert_eq!(st, 200, "{l}");
    l["entries"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_starting_at_once_on_an_empty_database_both_serve() {
    let Some(db) = shared_database().await else {
        return;
    };
    // both run the migrations and add the admin key at the same moment
    let (mut a, mut b) = (
        Node::start(db.url(), "a", &[]),
        Node::start(db.url(), "b", &[]),
    );
    a.wait_healthy().await;
    b.wait_healthy().await;
    for node in [&a, &b] {
        let (st, keys) = node.get("/api/v1/admin-keys").await;
        assert_eq!(st, 200, "node {}: {keys}", node.name);
        assert_eq!(
            keys["items"].as_array().map(|k| k.len()),
            Some(1),
            "node {}: the admin key is added once: {keys}",
            node.name
        );
        // both write
        node.create("/api/v1/advertisers", json!({"name": node.name}))
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_postbacks_racing_on_two_nodes_make_one_conversion() {
    let Some(db) = shared_database().await else {
        return;
    };
    let a = Node::started(&db, "a", &[]).await;
    let s = setup(&a, json!({}), json!({"name": "Aff"})).await;
    let b = Node::started(&db, "b", &[]).await;
    let cid = a.click(&s.link_id).await.unwrap();

    let query = vec![
        ("token", s.token.clone()),
        ("click_id", cid.clone()),
        ("event", "registration".to_string()),
        ("txid", "race-1".to_string()),
    ];
    let answers = fire([&a, &b], vec![query; 64]).await;
    let mut results: HashMap<String, usize> = HashMap::new();
    let mut ids = std::collections::HashSet::new();
    for (i, (st, v)) in answers.iter().enumerate() {
        assert_eq!(*st, 200, "postback {i} (node {}): {v}", ["a", "b"][i % 2]);
        *results
            .entry(v["result"].as_str().unwrap_or("?").to_string())
            .or_default() += 1;
        ids.insert(v["conversion_id"].to_string());
    }
    assert_eq!(
        results,
        HashMap::from([("accepted".to_string(), 1), ("duplicate".to_string(), 63)]),
        "{answers:?}"
    );
    assert_eq!(
        ids.len(),
        1,
        "every answer names the one conversion: {ids:?}"
    );
    let accepted = &answers
        .iter()
        .find(|(_, v)| v["result"] == "accepted")
        .unwrap()
        .1;
    assert_eq!(
        (&accepted["payout"], &accepted["status"]),
        (&json!("2.00"), &json!("approved")),
        "{accepted}"
    );

    for node in [&a, &b] {
        let (_, list) = node
            .get(&format!("/api/v1/conversions?click_id={cid}"))
            .await;
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "node {}: {list}", node.name);
        assert_eq!(items[0]["id"], accepted["conversion_id"]);
    }
    let entries = ledger_entries(&b, &s.affiliate_id).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(
        (
            &entries[0]["kind"],
            &entries[0]["amount"],
            &entries[0]["conversion_id"]
        ),
        (
            &json!("accrual"),
            &json!("2.00"),
            &accepted["conversion_id"]
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cap_of_ten_holds_across_two_nodes() {
    let Some(db) = shared_database().await else {
        return;
    };
    let a = Node::started(&db, "a", &[]).await;
    let cap = json!({"caps": [{"period": "day", "metric": "conversions", "limit": "10"}]});
    // over the cap: recorded as capped, paying nothing (the default)...
    let kept = setup(&a, cap.clone(), json!({"name": "Kept"})).await;
    // ...or refused
    let mut refusing = cap;
    refusing["refuse_over_cap"] = json!(true);
    let refused = setup(&a, refusing, json!({"name": "Refused"})).await;
    let b = Node::started(&db, "b", &[]).await;

    for (s, refuse) in [(&kept, false), (&refused, true)] {
        let cids = clicks([&a, &b], &s.link_id, 50).await;
        let queries = cids
            .iter()
            .map(|c| {
                vec![
                    ("token", s.token.clone()),
                    ("click_id", c.clone()),
                    ("event", "registration".to_string()),
                ]
            })
            .collect();
        let answers = fire([&a, &b], queries).await;
        let paid: Vec<&Value> = answers
            .iter()
            .filter(|(st, v)| *st == 200 && v["result"] == "accepted" && v["payout"] == "2.00")
            .map(|(_, v)| v)
            .collect();
        assert_eq!(paid.len(), 10, "refuse_over_cap {refuse}: {answers:?}");
        let over: Vec<&(u16, Value)> = answers
            .iter()
            .filter(|(_, v)| v["payout"] != "2.00")
            .collect();
        assert_eq!(over.len(), 40);
        for (st, v) in over {
            if refuse {
                assert_eq!((*st, &v["error"]), (422, &json!("cap_reached")), "{v}");
            } else {
                assert_eq!(
                    (*st, &v["result"], &v["payout"]),
                    (200, &json!("accepted"), &json!("0.00")),
                    "{v}"
                );
            }
        }

        let (_, list) = b
            .get(&format!(
                "/api/v1/conversions?offer_id={}&limit=1000",
                s.offer_id
            ))
            .await;
        let items = list["items"].as_array().unwrap();
        let uncapped = items.iter().filter(|c| c["capped"] == false).count();
        let capped = items.iter().filter(|c| c["capped"] == true).count();
        assert_eq!(
            (uncapped, capped),
            (10, if refuse { 0 } else { 40 }),
            "refuse_over_cap {refuse}: {list}"
        );
        let entries = ledger_entries(&a, &s.affiliate_id).await;
        assert_eq!(entries.len(), 10, "{entries:?}");
        assert!(
            entries
                .iter()
                .all(|e| e["kind"] == "accrual" && e["amount"] == "2.00"),
            "{entries:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offer_paused_on_one_node_stops_clicks_on_the_other_within_a_second() {
    let Some(db) = shared_database().await else {
        return;
    };
    let a = Node::started(&db, "a", &[]).await;
    let s = setup(&a, json!({}), json!({"name": "Aff"})).await;
    let b = Node::started(&db, "b", &[]).await;
    b.click(&s.link_id).await.expect("a live offer redirects");

    let (st, v) = a
        .post(&format!("/api/v1/offers/{}/pause", s.offer_id), json!({}))
        .await;
    assert_eq!((st, &v["status"]), (200, &json!("paused")), "{v}");
    let paused_at = Instant::now();
    let refusal = loop {
        match b.click(&s.link_id).await {
            Err(refusal) => break refusal,
            Ok(_) if paused_at.elapsed() < Duration::from_secs(1) => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Ok(cid) => {
                panic!("node b still redirects (click {cid}) a second after the pause on node a")
            }
        }
    };
    let (st, v) = refusal;
    assert_eq!(st, 410, "{v}");
    assert_eq!(
        v["message"],
        format!("offer `{}` is paused", s.offer_id),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_click_acknowledged_by_a_killed_node_is_stored() {
    let Some(db) = shared_database().await else {
        return;
    };
    let mut a = Node::started(&db, "a", &[]).await;
    let s = setup(&a, json!({}), json!({"name": "Aff"})).await;
    let b = Node::started(&db, "b", &[]).await;

    // clicks from many connections on both nodes while node a is killed
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for i in 0..16 {
        let node = if i % 2 == 0 { &a } else { &b };
        let (client, url, stop) = (
            node.client.clone(),
            node.url(&format!("/c/{}", s.link_id)),
            stop.clone(),
        );
        let name = node.name.clone();
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            while !stop.load(SeqCst) {
                match click_on(&client, &url).await {
                    Ok(id) => acked.push(id),
                    // node a is gone: its connections fail from now on
                    Err((0, _)) if name == "a" => break,
                    Err(e) => panic!("click on node {name}: {e:?}"),
                }
            }
            (name, acked)
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    a.sigkill();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, SeqCst);
    let mut acked: HashMap<String, Vec<String>> = HashMap::new();
    for t in tasks {
        let (name, ids) = t.await.unwrap();
        acked.entry(name).or_default().extend(ids);
    }
    let (on_a, on_b) = (&acked["a"], &acked["b"]);
    assert!(
        on_a.len() >= 8 && on_b.len() >= 8,
        "too few clicks to test anything: {} on a, {} on b",
        on_a.len(),
        on_b.len()
    );

    let mut missing = Vec::new();
    for id in on_a.iter().chain(on_b) {
        let (st, v) = b.get(&format!("/api/v1/clicks/{id}")).await;
        if st != 200 || v["id"] != id.as_str() {
            missing.push((id.clone(), st, v));
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged clicks ({} on the killed node) are not stored; first: {:?}",
        missing.len(),
        on_a.len() + on_b.len(),
        on_a.len(),
        missing.first()
    );

    // node a's click rollups of its last second died with it: the next
    // node to start folds them, so a report counts every stored click
    let _c = Node::started(&db, "c", &[]).await;
    let stored: i64 = db
        .client()
        .await
        .unwrap()
        .query_one("SELECT COUNT(*) FROM clicks", &[])
        .await
        .unwrap()
        .get(0);
    let (st, r) = b.get("/api/v1/reports?group_by=offer").await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["totals"]["clicks"], stored, "{r}");
}

/// A destination that records each request's `webhook-id` and, while
/// `holding`, never answers (the connection stays open); afterwards it
/// answers 200.
struct Destination {
    url: String,
    holding: Arc<AtomicBool>,
    /// (webhook-id, whether it was held, when it came)
    hits: Arc<Mutex<Vec<(String, bool, Instant)>>>,
}

impl Destination {
    async fn start() -> Destination {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/pb", listener.local_addr().unwrap());
        let holding = Arc::new(AtomicBool::new(true));
        let hits: Arc<Mutex<Vec<(String, bool, Instant)>>> = Arc::default();
        let (h, seen) = (holding.clone(), hits.clone());
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let (holding, seen) = (h.clone(), seen.clone());
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head).to_lowercase();
                    let id = head
                        .lines()
                        .find_map(|l| l.strip_prefix("webhook-id:"))
                        .unwrap_or("")
                        .trim()
                        .to_string();
                    let held = holding.load(SeqCst);
                    seen.lock().unwrap().push((id, held, Instant::now()));
                    if held {
                        // hold the connection until the sender dies
                        let _ = sock.read(&mut chunk).await;
                        return;
                    }
                    let _ = sock
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                        )
                        .await;
                });
            }
        });
        Destination { url, holding, hits }
    }

    fn hits(&self) -> Vec<(String, bool, Instant)> {
        self.hits.lock().unwrap().clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_in_flight_on_a_killed_node_are_sent_by_another_after_the_lease() {
    let Some(db) = shared_database().await else {
        return;
    };
    // a lease of 2 s (connect) + 2 s (answer) + 5 s
    let delivery = ["--delivery-timeout", "2", "--delivery-backoff", "1s,1s,1s"];
    let lease = Duration::from_secs(9);
    let dest = Destination::start().await;
    let mut a = Node::started(&db, "a", &delivery).await;
    let s = setup(
        &a,
        json!({}),
        json!({"name": "Notified", "postback_url": format!("{}?cv={{conversion_id}}", dest.url)}),
    )
    .await;
    let mut conversions = Vec::new();
    for _ in 0..4 {
        let cid = a.click(&s.link_id).await.unwrap();
        let v = a.register(&s.token, &cid).await;
        conversions.push(v["conversion_id"].as_str().unwrap().to_string());
    }
    // node a has claimed every job and is waiting on the destination
    let deadline = Instant::now() + Duration::from_secs(20);
    while dest.hits().len() < conversions.len() {
        assert!(Instant::now() < deadline, "node a sent {:?}", dest.hits());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    a.sigkill();
    let claimed = dest.hits();
    dest.holding.store(false, SeqCst);
    let b = Node::started(&db, "b", &delivery).await;

    let deadline = Instant::now() + lease + Duration::from_secs(30);
    let delivered = loop {
        let (_, v) = b.get("/api/v1/deliveries?state=delivered&limit=100").await;
        let items = v["items"].as_array().cloned().unwrap_or_default();
        if items.len() >= conversions.len() {
            break items;
        }
        let (_, all) = b.get("/api/v1/deliveries?limit=100").await;
        assert!(
            Instant::now() < deadline,
            "node b has not sent node a's jobs: {all}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut delivered_conversions: Vec<String> = delivered
        .iter()
        .map(|d| d["conversion_id"].as_str().unwrap().to_string())
        .collect();
    delivered_conversions.sort();
    conversions.sort();
    assert_eq!(delivered_conversions, conversions);

    let hits = dest.hits();
    for d in &delivered {
        let id = d["id"].as_str().unwrap();
        let (_, detail) = b.get(&format!("/api/v1/deliveries/{id}")).await;
        // node a died mid-attempt, before recording it: only b's is there
        assert_eq!(detail["attempts"], 1, "{detail}");
        assert_eq!(detail["attempts_log"][0]["status"], 200, "{detail}");
        let mine: Vec<&(String, bool, Instant)> = hits.iter().filter(|h| h.0 == id).collect();
        assert_eq!(
            mine.iter().map(|h| h.1).collect::<Vec<_>>(),
            [true, false],
            "held once (node a), then answered (node b): {hits:?}"
        );
        // node b waited for node a's lease to end (less the time between
        // a's claim and its request reaching the destination)
        let waited = mine[1].2 - mine[0].2;
        assert!(
            waited >= lease - Duration::from_secs(2),
            "node b sent {id} {waited:?} after node a did, inside a's lease"
        );
    }
    assert_eq!(claimed.len(), conversions.len(), "{claimed:?}");
}

/// A TCP relay to PostgreSQL that can be cut (every connection through it
/// dropped, new ones refused) and mended: the database going away and
/// coming back, without touching the shared server.
struct Relay {
    port: u16,
    up: tokio::sync::watch::Sender<bool>,
}

impl Relay {
    async fn start(to: u16) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (up, watch) = tokio::sync::watch::channel(true);
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !*watch.borrow() {
                    continue;
                }
                let mut watch = watch.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = tokio::net::TcpStream::connect(("127.0.0.1", to)).await
                    else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = watch.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Relay { port, up }
    }

    /// `url` with its host and port replaced by the relay's.
    fn url(&self, url: &str) -> String {
        let mut u = reqwest::Url::parse(url).unwrap();
        u.set_host(Some("127.0.0.1")).unwrap();
        u.set_port(Some(self.port)).unwrap();
        u.to_string()
    }

    fn set(&self, up: bool) {
        self.up.send_replace(up);
    }
}

/// Node `a` keeps a fallback journal, node `b` has none (`--journal
/// none`): while PostgreSQL is away, `a` redirects clicks and queues
/// postbacks (202) and stays healthy; `b` answers postbacks 503 with
/// Retry-After and its health check fails. When PostgreSQL is back, `a`'s
/// journal is replayed: its click and conversion are stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_postgresql_is_away_the_journal_keeps_what_is_answered_and_nodes_serve_again_after() {
    let Some(db) = shared_database().await else {
        return;
    };
    let pg_port = reqwest::Url::parse(db.url())
        .unwrap()
        .port()
        .unwrap_or(5432);
    let relay = Relay::start(pg_port).await;
    let mut a = Node::start(&relay.url(db.url()), "a", &[]);
    a.wait_healthy().await;
    let mut b = Node::start(&relay.url(db.url()), "b", &["--journal", "none"]);
    b.wait_healthy().await;
    let s = setup(&a, json!({}), json!({"name": "Aff"})).await;
    let before = a.click(&s.link_id).await.unwrap();

    relay.set(false);
    let deadline = Instant::now() + Duration::from_secs(20);
    let health = loop {
        let r = b.client.get(b.url("/healthz")).send().await.unwrap();
        let (st, v) = answer(r).await;
        if st != 200 {
            break (st, v);
        }
        assert!(
            Instant::now() < deadline,
            "healthz stays 200 without PostgreSQL nor a journal"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        (health.0, &health.1["status"], &health.1["error"]),
        (503, &json!("unavailable"), &json!("store_unavailable")),
        "{}",
        health.1
    );
    let postback = |node: &Node, txid: &'static str| {
        node.client.get(node.url("/postback")).query(&[
            ("token", s.token.as_str()),
            ("click_id", &before),
            ("event", "registration"),
            ("txid", txid),
        ])
    };
    let r = postback(&b, "d-b").send().await.unwrap();
    let retry_after = r.headers().get("retry-after").cloned();
    let (st, v) = answer(r).await;
    assert_eq!((st, &v["error"]), (503, &json!("store_unavailable")), "{v}");
    assert_eq!(
        retry_after.as_ref().and_then(|h| h.to_str().ok()),
        Some("1"),
        "a refusal while the store is away says when to try again"
    );

    // a, with its journal: healthy, says where writes go, redirects and
    // queues
    let r = a.client.get(a.url("/healthz")).send().await.unwrap();
    let (st, h) = answer(r).await;
    assert_eq!(
        (st, &h["store"], &h["writes"]),
        (200, &json!("unavailable"), &json!("journal")),
        "{h}"
    );
    let during = a
        .click(&s.link_id)
        .await
        .expect("a click is redirected while the database is away");
    let (st, v) = answer(postback(&a, "d-a").send().await.unwrap()).await;
    assert_eq!((st, &v["result"]), (202, &json!("queued")), "{v}");
    let r = a
        .client
        .get(a.url("/postback"))
        .query(&[
            ("token", s.token.as_str()),
            ("click_id", &during),
            ("event", "registration"),
        ])
        .send()
        .await
        .unwrap();
    let (st, v) = answer(r).await;
    assert_eq!(
        (st, &v["result"]),
        (202, &json!("queued")),
        "a postback for a journaled click waits with it: {v}"
    );

    relay.set(true);
    // back: both nodes serve again without a restart, a's journal drains
    a.wait_healthy().await;
    b.wait_healthy().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = a.client.get(a.url("/readyz")).send().await.unwrap();
        let (st, h) = answer(r).await;
        if st == 200 && h["journal"]["depth"] == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a's journal did not drain: {h}\n{}",
            a.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for id in [&before, &during] {
        let (st, v) = b.get(&format!("/api/v1/clicks/{id}")).await;
        assert_eq!(st, 200, "click {id}: {v}");
    }
    let (_, convs) = b
        .get(&format!(
            "/api/v1/conversions?affiliate_id={}",
            s.affiliate_id
        ))
        .await;
    let mut got: Vec<(String, String)> = convs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["click_id"].as_str().unwrap().to_string(),
                c["event"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    let mut want = vec![
        (before.clone(), "registration".to_string()),
        (during.clone(), "registration".to_string()),
    ];
    want.sort();
    assert_eq!(
        got, want,
        "the queued postbacks are recorded, b's refused one is not"
    );
    let (_, log) = b.get("/api/v1/postbacks?result=accepted").await;
    let replayed = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["replayed"] == true)
        .count();
    assert_eq!(replayed, 2, "{log}");
    let after = b.click(&s.link_id).await.unwrap();
    let (st, _) = a.get(&format!("/api/v1/clicks/{after}")).await;
    assert_eq!(st, 200);
}

/// A request as a [`Recorder`] saw it.
#[derive(Clone, Debug)]
struct Seen {
    /// The request line and headers, lower-cased.
    head: String,
    body: Vec<u8>,
    status: u16,
    at: Instant,
}

impl Seen {
    fn header(&self, name: &str) -> String {
        self.head
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .unwrap_or("")
            .trim()
            .to_string()
    }
}

/// An HTTP receiver answering 200 while `ok` is true, else 503, and
/// recording every request.
struct Recorder {
    url: String,
    ok: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Recorder {
    async fn start(ok: bool) -> Recorder {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let ok = Arc::new(AtomicBool::new(ok));
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let (o, s) = (ok.clone(), seen.clone());
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let (ok, seen) = (o.clone(), s.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    let end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    while buf.len() < end + length {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let status = if ok.load(SeqCst) { 200 } else { 503 };
                    seen.lock().unwrap().push(Seen {
                        head,
                        body: buf[end..end + length].to_vec(),
                        status,
                        at: Instant::now(),
                    });
                    let answer =
                        format!(
                        "HTTP/1.1 {status} {}\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                        if status == 200 { "OK" } else { "Service Unavailable" }
                    );
                    let _ = sock.write_all(answer.as_bytes()).await;
                });
            }
        });
        Recorder { url, ok, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// Destination health is in the database, so two nodes share it: a failing
/// destination gets one probe per interval in all (always its oldest job,
/// spaced by the interval whichever node sends it), not one per node; the
/// alert hook hears `destination.failing` and `destination.recovered` once
/// each, from whichever node made the change; the first successful probe
/// releases every waiting job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_probe_a_failing_destination_once_per_interval_and_alert_once() {
    let Some(db) = shared_database().await else {
        return;
    };
    let dest = Recorder::start(false).await;
    let alerts = Recorder::start(true).await;
    let interval = Duration::from_millis(400);
    let flags = [
        "--delivery-backoff",
        "100ms,100ms,100ms,100ms,100ms",
        "--delivery-failing-after",
        "2",
        "--delivery-probe-interval",
        "400ms",
        "--delivery-probe-max",
        "400ms",
        "--alert-hook-url",
        &alerts.url,
    ];
    let a = Node::started(&db, "a", &flags).await;
    let b = Node::started(&db, "b", &flags).await;
    let s = setup(
        &a,
        json!({}),
        json!({"name": "Flaky", "postback_url": format!("{}?cv={{conversion_id}}", dest.url)}),
    )
    .await;
    for i in 0..6 {
        let node = [&a, &b][i % 2];
        let cid = node.click(&s.link_id).await.unwrap();
        node.register(&s.token, &cid).await;
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, v) = b.get("/api/v1/destinations").await;
        if v["items"][0]["state"] == "failing" {
            break;
        }
        assert!(Instant::now() < deadline, "not failing: {v}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // let the jobs already in flight finish, then watch the probes
    tokio::time::sleep(Duration::from_millis(300)).await;
    let from = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let probes: Vec<Seen> = dest
        .seen()
        .into_iter()
        .filter(|h| h.at >= from && h.at < from + Duration::from_secs(3))
        .collect();
    assert!(probes.len() >= 2, "no probes: {probes:?}");
    assert!(
        probes.len() <= 8,
        "{} probes in 3 s at one per {interval:?}: {probes:?}",
        probes.len()
    );
    let ids: std::collections::BTreeSet<String> =
        probes.iter().map(|h| h.header("webhook-id")).collect();
    assert_eq!(ids.len(), 1, "only the oldest job is probed: {ids:?}");
    assert!(probes.iter().all(|h| h.status == 503), "{probes:?}");
    eprintln!("{} probes in 3 s from two nodes", probes.len());
    for w in probes.windows(2) {
        let gap = w[1].at - w[0].at;
        assert!(
            gap >= interval - Duration::from_millis(100),
            "two probes {gap:?} apart"
        );
    }

    dest.ok.store(true, SeqCst);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, v) = a.get("/api/v1/deliveries?state=delivered&limit=100").await;
        if v["items"].as_array().is_some_and(|i| i.len() == 6) {
            break;
        }
        assert!(Instant::now() < deadline, "not all delivered: {v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while alerts.seen().len() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let kinds: Vec<String> = alerts
        .seen()
        .iter()
        .map(|h| {
            let body: Value = serde_json::from_slice(&h.body).unwrap();
            assert_eq!(body["affiliate_id"], s.affiliate_id.as_str(), "{body}");
            body["type"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(kinds, ["destination.failing", "destination.recovered"]);
    let (_, events) = b
        .get(&format!("/api/v1/destinations/{}/events", s.affiliate_id))
        .await;
    let recorded: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(recorded, ["recovered", "failing"], "{events}");
}
