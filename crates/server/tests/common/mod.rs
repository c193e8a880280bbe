//! Test helpers: a real server on loopback over a fresh store, and
//! short-hands for the API calls every test makes.
//!
//! The store is a SQLite file in the test's directory, or, when
//! `CLICKLEDGER_TEST_PG` names a PostgreSQL server
//! (`postgres://root@127.0.0.1:5432`), a fresh database on it: the whole
//! suite proves both backends. Tests that read the SQLite file itself skip
//! on PostgreSQL (see `skip_on_postgres`).
#![allow(dead_code)]

pub mod private_pg;

use std::path::PathBuf;
use std::sync::Arc;

use clickledger_server::{Running, Settings};
use clickledger_store::Store;
use clickledger_testdb::ScratchDb;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

pub const ADMIN_KEY: &str = "test-admin-key";

/// A directory removed when the test ends, and the store that lives in
/// it: its `test.db`, or the PostgreSQL database made for it (dropped with
/// it), so a restart on the same `TempDir` reopens the same data.
pub struct TempDir(pub PathBuf, Option<ScratchDb>);

impl TempDir {
    pub fn new() -> Self {
        let p = std::env::temp_dir().join(format!(
            "clickledger-test-{}-{}",
            std::process::id(),
            clickledger_server::util::random_id("d", 12)
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p, None)
    }

    /// Opens this directory's store: the SQLite file, or the PostgreSQL
    /// database (created on the first call).
    pub async fn open_store(&mut self) -> Arc<dyn Store> {
        let db = match clickledger_testdb::server_from_env() {
            None => self.0.join("test.db").to_string_lossy().into_owned(),
            Some(server) => {
                if self.1.is_none() {
                    self.1 = Some(ScratchDb::create(&server, "cl_test").await.unwrap());
                }
                self.1.as_ref().unwrap().url().to_string()
            }
        };
        clickledger_store::open(&db)
            .await
            .unwrap_or_else(|e| panic!("{db}: {e}"))
    }

    /// The PostgreSQL database, when the test runs on one.
    pub fn postgres(&self) -> Option<&ScratchDb> {
        self.1.as_ref()
    }

    /// Everything stored, as text: the SQLite file and its WAL, or every
    /// row of the PostgreSQL database. For "no secret is stored in clear".
    pub async fn stored_text(&self) -> String {
        if let Some(db) = &self.1 {
            return db.all_rows_text().await.unwrap();
        }
        let mut bytes = std::fs::read(self.0.join("test.db")).unwrap();
        if let Ok(wal) = std::fs::read(self.0.join("test.db-wal")) {
            bytes.extend(wal);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A fresh database of its own on the PostgreSQL server
/// `CLICKLEDGER_TEST_PG` names, whatever backend the suite runs on; `None`
/// (after saying why) when it is unset.
pub async fn postgres_database() -> Option<ScratchDb> {
    let Some(server) = clickledger_testdb::server_from_env() else {
        println!(
            "skipped: {} is unset, and this test needs PostgreSQL",
            clickledger_testdb::ENV
        );
        return None;
    };
    Some(ScratchDb::create(&server, "cl_test").await.unwrap())
}

/// Whether the suite runs on PostgreSQL.
pub fn on_postgres() -> bool {
    clickledger_testdb::server_from_env().is_some()
}

/// True (after saying why on stdout) when the suite runs on PostgreSQL and
/// the calling test is about the SQLite file itself: `if
/// skip_on_postgres("...") { return; }`.
pub fn skip_on_postgres(why: &str) -> bool {
    let skip = on_postgres();
    if skip {
        println!("skipped on PostgreSQL: {why}");
    }
    skip
}

pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub running: Option<Running>,
    pub store: Arc<dyn Store>,
    pub dir: TempDir,
}

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(Settings::default()).await
    }

    pub async fn spawn_with(settings: Settings) -> TestApp {
        let dir = TempDir::new();
        Self::spawn_in(dir, settings).await
    }

    /// Starts on an existing directory's store, e.g. after a restart.
    pub async fn spawn_in(mut dir: TempDir, settings: Settings) -> TestApp {
        let store = dir.open_store().await;
        Self::spawn_on(store, dir, settings).await
    }

    /// A second node on this one's store, as two servers behind one load
    /// balancer share a database: own caches, limits and memory, one store.
    pub async fn spawn_beside(&self, settings: Settings) -> TestApp {
        Self::spawn_on(self.store.clone(), TempDir::new(), settings).await
    }

    /// Starts on `store` (with the test admin key in it).
    pub async fn spawn_on(store: Arc<dyn Store>, dir: TempDir, mut settings: Settings) -> TestApp {
        clickledger_server::ensure_admin_key(store.as_ref(), Some(ADMIN_KEY))
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        settings.public_url = format!("http://{addr}");
        let running = clickledger_server::start(store.clone(), settings, listener)
            .await
            .unwrap();
        let client = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        TestApp {
            base: format!("http://{addr}"),
            client,
            running: Some(running),
            store,
            dir,
        }
    }

    /// Graceful stop; returns the directory so the test can start again on it.
    pub async fn stop(mut self) -> TempDir {
        self.running.take().unwrap().shutdown().await;
        self.dir
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn admin(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call_as(ADMIN_KEY, method, path, body).await
    }

    /// A request with `key`: status and the JSON body (or the text).
    pub async fn call_as(
        &self,
        key: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, self.url(path)).bearer_auth(key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// A GET without credentials: status, headers and the JSON body.
    pub async fn anon(
        &self,
        path: &str,
        bearer: Option<&str>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut req = self.client.get(self.url(path));
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        let r = req.send().await.unwrap();
        let (status, headers) = (r.status(), r.headers().clone());
        let text = r.text().await.unwrap();
        (
            status,
            headers,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// The Prometheus metrics text.
    pub async fn metrics(&self) -> String {
        let r = self.client.get(self.url("/metrics")).send().await.unwrap();
        r.text().await.unwrap()
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.admin(reqwest::Method::GET, path, None).await
    }

    /// An admin GET's body as text (CSV, or JSON whose bytes matter).
    pub async fn get_text(&self, path: &str) -> String {
        let r = self.client.get(self.url(path)).bearer_auth(ADMIN_KEY);
        r.send().await.unwrap().text().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.admin(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.admin(reqwest::Method::PATCH, path, Some(body)).await
    }

    pub async fn create(&self, path: &str, body: Value) -> Value {
        let (status, v) = self.post(path, body).await;
        assert_eq!(status, StatusCode::CREATED, "{path}: {v}");
        v
    }

    /// An advertiser, a USD offer with the contract's example events (plus
    /// a from_postback one), an affiliate and a link.
    pub async fn setup(&self) -> Setup {
        let adv = self
            .create("/api/v1/advertisers", json!({"name": "Adv"}))
            .await;
        let offer = self
            .create(
                "/api/v1/offers",
                json!({
                    "advertiser_id": adv["id"], "name": "Offer",
                    "destination_url": "https://adv.example/land?cid={click_id}&s1={sub1}&src={source}",
                    "currency": "USD",
                    "events": [
                        {"name": "registration", "payout": {"type": "fixed", "amount": "2.00"}},
                        {"name": "sale", "payout": {"type": "revshare", "percent": "30"},
                         "revenue": {"type": "revshare", "percent": "40"}},
                        {"name": "deposit", "payout": {"type": "fixed", "amount": "10.00"}, "repeatable": true},
                        {"name": "lead", "payout": {"type": "from_postback", "max": "50"}, "default_status": "pending"}
                    ]
                }),
            )
            .await;
        let aff = self
            .create("/api/v1/affiliates", json!({"name": "Aff"}))
            .await;
        let link = self
            .create(
                "/api/v1/links",
                json!({"offer_id": offer["id"], "affiliate_id": aff["id"]}),
            )
            .await;
        Setup {
            token: adv["postback_token"].as_str().unwrap().to_string(),
            signing_secret: adv["signing_secret"].as_str().unwrap().to_string(),
            advertiser_key: adv["api_key"].as_str().unwrap().to_string(),
            advertiser_id: adv["id"].as_str().unwrap().to_string(),
            offer_id: offer["id"].as_str().unwrap().to_string(),
            affiliate_id: aff["id"].as_str().unwrap().to_string(),
            affiliate_key: aff["api_key"].as_str().unwrap().to_string(),
            link_id: link["id"].as_str().unwrap().to_string(),
            link_url: link["url"].as_str().unwrap().to_string(),
        }
    }

    /// An affiliate made from `body` and a link of it on `offer_id`: both
    /// records as created.
    pub async fn affiliate_with_link(&self, offer_id: &str, body: Value) -> (Value, Value) {
        let aff = self.create("/api/v1/affiliates", body).await;
        let link = self
            .create(
                "/api/v1/links",
                json!({"offer_id": offer_id, "affiliate_id": aff["id"]}),
            )
            .await;
        (aff, link)
    }

    /// A link of the affiliate's on the offer: its id.
    pub async fn link(&self, offer_id: &Value, affiliate_id: &str) -> String {
        let body = json!({"offer_id": offer_id, "affiliate_id": affiliate_id});
        let link = self.create("/api/v1/links", body).await;
        link["id"].as_str().unwrap().to_string()
    }

    /// Follows a tracking link; returns the redirect's Location.
    pub async fn click_location(&self, link_id: &str, query: &str) -> String {
        let resp = self
            .client
            .get(self.url(&format!("/c/{link_id}?{query}")))
            .header(
                "user-agent",
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 Safari/604.1",
            )
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::FOUND);
        resp.headers()["location"].to_str().unwrap().to_string()
    }

    /// Follows a tracking link; returns the click id from the destination.
    pub async fn click(&self, link_id: &str) -> String {
        let loc = self.click_location(link_id, "sub1=s").await;
        click_id_of(&loc)
    }

    pub async fn postback(&self, query: &[(&str, &str)]) -> (StatusCode, Value) {
        let resp = self
            .client
            .get(self.url("/postback"))
            .query(query)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap())
    }
}

pub fn click_id_of(location: &str) -> String {
    let url = reqwest::Url::parse(location).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == "cid")
        .unwrap()
        .1
        .into_owned()
}

pub struct Setup {
    pub token: String,
    pub signing_secret: String,
    pub advertiser_key: String,
    pub advertiser_id: String,
    pub offer_id: String,
    pub affiliate_id: String,
    pub affiliate_key: String,
    pub link_id: String,
    pub link_url: String,
}
