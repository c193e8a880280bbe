//! The store goes away mid-load and comes back: the fallback journal keeps
//! every click and postback that was answered, and replays them.
//!
//! Two real outages: the SQLite file made unwritable (`chattr +i` on the
//! database and its WAL: writes fail with an I/O error, reads go on), and a
//! private PostgreSQL server (initdb/pg_ctl on a port of its own) stopped
//! and started again. Under a mixed load of clicks and postbacks, every
//! answer is counted; after the store is back and the journal has drained,
//! the store must hold exactly what was answered: each redirected click
//! once, one conversion per accepted or queued txid, attributed to its
//! click, each queued postback's outcome in the log marked `replayed`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clickledger_server::Settings;
use clickledger_store::{ClickFilter, ConversionFilter, PostbackFilter, Scope};
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn journaled(dir: &Path) -> Settings {
    Settings {
        journal: Some(dir.join("journal")),
        journal_probe: Duration::from_millis(200),
        ..Settings::default()
    }
}

/// Files made immutable (`chattr +i`: writes fail even through open
/// descriptors, reads go on) until dropped, even when the test panics.
struct Immutable(Vec<PathBuf>);

impl Immutable {
    fn new(paths: Vec<PathBuf>) -> Immutable {
        chattr("+i", &paths);
        Immutable(paths)
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").args(&self.0).output();
    }
}

/// The SQLite file of a test directory and its WAL.
fn sqlite_files(dir: &Path) -> Vec<PathBuf> {
    let db = dir.join("test.db");
    vec![db.clone(), PathBuf::from(format!("{}-wal", db.display()))]
}

/// A server on a SQLite file of its own with a journal, and its partners;
/// `None` on the PostgreSQL run (these tests make the file unwritable).
async fn journaled_sqlite_app() -> Option<(TestApp, Setup)> {
    if skip_on_postgres("makes the SQLite file unwritable") {
        return None;
    }
    let dir = TempDir::new();
    let settings = journaled(&dir.0);
    let app = TestApp::spawn_in(dir, settings).await;
    let s = app.setup().await;
    Some((app, s))
}

fn chattr(flag: &str, paths: &[PathBuf]) {
    let out = Command::new("chattr")
        .arg(flag)
        .args(paths)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chattr {flag} (this test runs as root, as CI does): {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What the load was answered.
#[derive(Default)]
struct Answers {
    /// Click ids of every 302.
    clicks: Vec<String>,
    /// txid -> (click id, first answer's status and result)
    postbacks: BTreeMap<String, (String, u16, String)>,
    /// Resends of a txid already sent, with their answers.
    resends: Vec<(String, u16, String)>,
    /// Anything else: a click not redirected, a postback answered otherwise.
    unexpected: Vec<String>,
}

/// Clicks from 6 workers and registration postbacks (each for a fresh click,
/// every fifth one sent twice) from 2, until `stop`.
fn start_load(
    app: &TestApp,
    s: &Setup,
    stop: Arc<AtomicBool>,
) -> (Arc<Mutex<Answers>>, Vec<tokio::task::JoinHandle<()>>) {
    let answers = Arc::new(Mutex::new(Answers::default()));
    let fresh = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut tasks = Vec::new();
    for w in 0..6 {
        let (client, base, link) = (app.client.clone(), app.base.clone(), s.link_id.clone());
        let (answers, fresh, stop) = (answers.clone(), fresh.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let r = client
                    .get(format!("{base}/c/{link}?sub1=w{w}&sub2=n{n}"))
                    .send()
                    .await
                    .unwrap();
                if r.status() != StatusCode::FOUND {
                    let text = format!(
                        "click: {} {}",
                        r.status(),
                        r.text().await.unwrap_or_default()
                    );
                    answers.lock().unwrap().unexpected.push(text);
                    continue;
                }
                let id = click_id_of(r.headers()["location"].to_str().unwrap());
                answers.lock().unwrap().clicks.push(id.clone());
                fresh.lock().unwrap().push(id);
            }
        }));
    }
    for w in 0..2 {
        let (client, base, token) = (app.client.clone(), app.base.clone(), s.token.clone());
        let (answers, fresh, stop) = (answers.clone(), fresh.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let Some(click) = fresh.lock().unwrap().pop() else {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                };
                n += 1;
                let txid = format!("tx-{w}-{n}");
                let sends = if n % 5 == 0 { 2 } else { 1 };
                for i in 0..sends {
                    let r = client
                        .get(format!("{base}/postback"))
                        .query(&[
                            ("token", token.as_str()),
                            ("click_id", &click),
                            ("event", "registration"),
                            ("txid", &txid),
                        ])
                        .send()
                        .await
                        .unwrap();
                    let status = r.status().as_u16();
                    let body: Value = r.json().await.unwrap();
                    let result = body["result"].as_str().unwrap_or("").to_string();
                    let mut a = answers.lock().unwrap();
                    let ok = matches!(
                        (status, result.as_str()),
                        (200, "accepted" | "duplicate") | (202, "queued")
                    );
                    if !ok {
                        a.unexpected
                            .push(format!("postback {txid}: {status} {body}"));
                    } else if i == 0 {
                        a.postbacks
                            .insert(txid.clone(), (click.clone(), status, result));
                    } else {
                        a.resends.push((txid.clone(), status, result));
                    }
                }
            }
        }));
    }
    (answers, tasks)
}

async fn health(app: &TestApp, path: &str) -> (StatusCode, Value) {
    let r = app.client.get(app.url(path)).send().await.unwrap();
    (r.status(), r.json().await.unwrap())
}

/// Every conversion and every postback log entry stored (the lists' own
/// filters, with room for all a test makes).
async fn stored_conversions(app: &TestApp) -> Vec<clickledger_store::Conversion> {
    let all = ConversionFilter {
        limit: 1_000_000,
        ..Default::default()
    };
    app.store.conversions(&all).await.unwrap()
}

async fn stored_log(app: &TestApp) -> Vec<clickledger_store::PostbackLogEntry> {
    let all = PostbackFilter {
        limit: 1_000_000,
        ..Default::default()
    };
    app.store.postback_log(&all).await.unwrap()
}

/// Waits until writes go to the store again and the journal is empty.
async fn wait_drained(app: &TestApp) -> Duration {
    let started = Instant::now();
    loop {
        let (st, h) = health(app, "/readyz").await;
        if st == StatusCode::OK && h["journal"]["depth"] == 0 {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the journal did not drain: {h}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The store holds exactly what was answered.
async fn check_nothing_lost(app: &TestApp, answers: &Answers) {
    assert!(
        answers.unexpected.is_empty(),
        "answers outside the contract: {:?}",
        answers.unexpected
    );
    // each by id (a list stops at 10,000); the report's total then says
    // none is stored twice and none was stored that was not answered
    let answered: BTreeSet<String> = answers.clicks.iter().cloned().collect();
    assert_eq!(answered.len(), answers.clicks.len(), "click ids are unique");
    let mut missing = Vec::new();
    for id in &answered {
        let id = clickledger_domain::ClickId::parse(id).unwrap();
        if app.store.click(id, &Scope::All).await.unwrap().is_none() {
            missing.push(id);
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} redirected clicks not stored, e.g. {:?}",
        missing.len(),
        answered.len(),
        missing.first()
    );
    // the report (rollups) counts each click once too
    let (_, report) = app.get("/api/v1/reports?group_by=offer").await;
    assert_eq!(
        report["totals"]["clicks"],
        json!(answered.len()),
        "{report}"
    );

    let convs = stored_conversions(app).await;
    let by_txid: BTreeMap<String, String> = convs
        .iter()
        .map(|c| (c.txid.clone().unwrap(), c.click_id.encode()))
        .collect();
    assert_eq!(by_txid.len(), convs.len(), "one conversion per txid");
    assert_eq!(
        convs.len(),
        answers.postbacks.len(),
        "a conversion for every txid answered accepted or queued"
    );
    for (txid, (click, _, _)) in &answers.postbacks {
        assert_eq!(
            by_txid.get(txid),
            Some(click),
            "{txid} is attributed to its click"
        );
    }
    // every queued postback's outcome is in the log, marked replayed
    let log = stored_log(app).await;
    let queued = answers
        .postbacks
        .values()
        .filter(|(_, st, _)| *st == 202)
        .count()
        + answers
            .resends
            .iter()
            .filter(|(_, st, _)| *st == 202)
            .count();
    let replayed: Vec<_> = log.iter().filter(|e| e.replayed).collect();
    assert_eq!(
        replayed.len(),
        queued,
        "one replayed log entry per queued postback"
    );
    assert!(
        replayed
            .iter()
            .all(|e| e.result == "accepted" || e.result == "duplicate"),
        "{replayed:?}"
    );
}

/// Waits for the journal to drain, prints the figures, and checks that the
/// store holds exactly what was answered; answers how many postbacks were
/// queued.
async fn after_the_outage(app: &TestApp, answers: &Mutex<Answers>, back: &str) -> usize {
    let drained = wait_drained(app).await;
    let answers = std::mem::take(&mut *answers.lock().unwrap());
    let queued = answers
        .postbacks
        .values()
        .filter(|(_, st, _)| *st == 202)
        .count();
    println!(
        "clicks answered {}, postbacks {} ({queued} queued), drained {drained:?} after {back}",
        answers.clicks.len(),
        answers.postbacks.len(),
    );
    assert!(
        queued > 0,
        "the outage queued postbacks (else this test proves nothing)"
    );
    check_nothing_lost(app, &answers).await;
    queued
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_made_unwritable_mid_load_loses_nothing() {
    let Some((app, s)) = journaled_sqlite_app().await else {
        return;
    };
    let stop = Arc::new(AtomicBool::new(false));
    let (answers, tasks) = start_load(&app, &s, stop.clone());
    tokio::time::sleep(Duration::from_millis(400)).await;
    let unwritable = Immutable::new(sqlite_files(&app.dir.0));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // while the file is unwritable: the node is healthy (writes go to the
    // journal), not ready, and says why
    let (st, h) = health(&app, "/healthz").await;
    let (ready, _) = health(&app, "/readyz").await;
    let metrics = app.metrics().await;
    // a postback refused while the store is away is still logged (later)
    let (bad, _) = app
        .postback(&[("token", "not-a-token"), ("click_id", "x")])
        .await;
    drop(unwritable);
    tokio::time::sleep(Duration::from_millis(400)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(st, StatusCode::OK, "{h}");
    assert_eq!(
        (h["store"].as_str(), h["writes"].as_str()),
        (Some("unavailable"), Some("journal")),
        "{h}"
    );
    assert!(h["journal"]["depth"].as_u64().unwrap() > 0, "{h}");
    assert_eq!(ready, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        metrics.contains("clickledger_store_available 0"),
        "{metrics}"
    );
    assert_eq!(bad, StatusCode::UNAUTHORIZED);

    let queued = after_the_outage(&app, &answers, "the file was writable again").await;
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("clickledger_store_available 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("clickledger_clicks_unrecorded_total 0"),
        "{metrics}"
    );
    let appended = metric(&metrics, "clickledger_journal_appended_total");
    assert!(
        appended > queued as f64,
        "clicks were journaled too: {appended}"
    );
    assert_eq!(
        metric(&metrics, "clickledger_journal_replayed_total"),
        appended
    );
    // the refused postback's log entry, journaled and written on replay
    let (_, log) = app.get("/api/v1/postbacks?error=invalid_token").await;
    assert_eq!(log["items"].as_array().unwrap().len(), 1, "{log}");
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in the metrics"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_stopped_mid_load_loses_nothing() {
    if on_postgres() {
        // it starts a PostgreSQL of its own; once per CI run is enough
        println!("skipped on the PostgreSQL run: runs in the SQLite one with a private server");
        return;
    }
    let pg = common::private_pg::PrivatePg::start();
    let store = clickledger_store::open(&pg.url()).await.unwrap();
    let dir = TempDir::new();
    let settings = journaled(&dir.0);
    let app = TestApp::spawn_on(store, dir, settings).await;
    let s = app.setup().await;

    let stop = Arc::new(AtomicBool::new(false));
    let (answers, tasks) = start_load(&app, &s, stop.clone());
    tokio::time::sleep(Duration::from_millis(500)).await;
    pg.kill();
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let (st, h) = health(&app, "/healthz").await;
    let during = answers.lock().unwrap().clicks.len();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let redirected_while_away = answers.lock().unwrap().clicks.len() - during;
    pg.resume();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(st, StatusCode::OK, "{h}");
    assert_eq!(
        (h["store"].as_str(), h["writes"].as_str()),
        (Some("unavailable"), Some("journal")),
        "{h}"
    );
    assert!(
        redirected_while_away > 0,
        "clicks kept redirecting while PostgreSQL was away"
    );

    after_the_outage(&app, &answers, "PostgreSQL was back").await;
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("clickledger_clicks_unrecorded_total 0"),
        "{metrics}"
    );
}

/// What the store holds, counted: clicks, conversions, the click report's
/// total, the affiliate's balance.
async fn holdings(app: &TestApp, s: &Setup) -> (usize, usize, Value, Value) {
    let clicks = app
        .store
        .clicks(&ClickFilter {
            limit: 1_000_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .len();
    let convs = stored_conversions(app).await.len();
    let (_, report) = app.get("/api/v1/reports?group_by=offer").await;
    let (_, ledger) = app
        .get(&format!("/api/v1/affiliates/{}/ledger", s.affiliate_id))
        .await;
    (
        clicks,
        convs,
        report["totals"]["clicks"].clone(),
        ledger["balance"].clone(),
    )
}

#[tokio::test]
async fn a_crash_during_replay_replays_again_without_duplicates() {
    let Some((app, s)) = journaled_sqlite_app().await else {
        return;
    };
    let before = app.click(&s.link_id).await;
    let journal = app.dir.0.join("journal");
    let snapshot = app.dir.0.join("journal-before-replay");
    {
        let _unwritable = Immutable::new(sqlite_files(&app.dir.0));
        for n in 0..20 {
            let click = app.click(&s.link_id).await;
            let txid = format!("o{n}");
            let (st, v) = app
                .postback(&[
                    ("token", &s.token),
                    ("click_id", &click),
                    ("event", "registration"),
                    ("txid", &txid),
                ])
                .await;
            assert_eq!(
                (st, v["result"].as_str()),
                (StatusCode::ACCEPTED, Some("queued")),
                "{v}"
            );
        }
        // a postback for a click from before the outage, and a deposit
        let (st, _) = app
            .postback(&[
                ("token", &s.token),
                ("click_id", &before),
                ("event", "deposit"),
                ("txid", "d1"),
                ("amount", "5"),
            ])
            .await;
        assert_eq!(st, StatusCode::ACCEPTED);
        // what a crash before the cursor moved would leave
        std::fs::create_dir_all(&snapshot).unwrap();
        for f in std::fs::read_dir(&journal).unwrap() {
            let f = f.unwrap();
            std::fs::copy(f.path(), snapshot.join(f.file_name())).unwrap();
        }
    }
    wait_drained(&app).await;
    let first = holdings(&app, &s).await;
    assert_eq!((first.0, first.1), (21, 21), "{first:?}");
    assert_eq!(first.2, json!(21));
    assert_eq!(
        first.3,
        json!("50.00"),
        "20 registrations at 2.00 and a deposit at 10.00"
    );

    // the node goes down; it comes back with the journal as it was before
    // the replay had moved its cursor
    let dir = app.stop().await;
    std::fs::remove_dir_all(&journal).unwrap();
    std::fs::rename(&snapshot, &journal).unwrap();
    let app = TestApp::spawn_in(dir, journaled(journal.parent().unwrap())).await;
    let (_, h) = health(&app, "/healthz").await;
    assert_eq!(
        h["journal"]["depth"], 41,
        "20 clicks and 21 postbacks to replay again: {h}"
    );
    wait_drained(&app).await;
    assert_eq!(
        holdings(&app, &s).await,
        first,
        "the second replay changed nothing"
    );
    let log = stored_log(&app).await;
    let replayed: Vec<&str> = log
        .iter()
        .filter(|e| e.replayed)
        .map(|e| e.result.as_str())
        .collect();
    assert_eq!(
        replayed.iter().filter(|r| **r == "accepted").count(),
        21,
        "{replayed:?}"
    );
    assert_eq!(
        replayed.iter().filter(|r| **r == "duplicate").count(),
        21,
        "{replayed:?}"
    );
}

#[tokio::test]
async fn with_the_journal_unwritable_too_postbacks_answer_503_and_clicks_still_redirect() {
    let Some((app, s)) = journaled_sqlite_app().await else {
        return;
    };
    let before = app.click(&s.link_id).await;
    let journal = app.dir.0.join("journal");
    let mut files = sqlite_files(&app.dir.0);
    for f in std::fs::read_dir(&journal).unwrap() {
        files.push(f.unwrap().path());
    }
    files.push(journal.clone());
    let unwritable = Immutable::new(files);
    // the visitor is redirected all the same; the click is counted lost
    let lost = app.click(&s.link_id).await;
    let (st, v) = app
        .postback(&[
            ("token", &s.token),
            ("click_id", &before),
            ("event", "registration"),
            ("txid", "t1"),
        ])
        .await;
    let (health_status, h) = health(&app, "/healthz").await;
    let metrics = app.metrics().await;
    drop(unwritable);
    assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(v["error"], "store_unavailable", "{v}");
    assert!(v["message"].as_str().unwrap().contains("journal"), "{v}");
    assert_eq!(health_status, StatusCode::SERVICE_UNAVAILABLE, "{h}");
    assert_eq!(
        (h["status"].as_str(), h["writes"].as_str()),
        (Some("unavailable"), Some("none")),
        "{h}"
    );
    assert_eq!(h["journal"]["writable"], false, "{h}");
    assert!(
        metrics.contains("clickledger_clicks_unrecorded_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("clickledger_journal_writable 0"),
        "{metrics}"
    );

    // writable again: the retried postback is taken; the lost click is not
    // there, and says so
    wait_drained(&app).await;
    let (st, v) = app
        .postback(&[
            ("token", &s.token),
            ("click_id", &before),
            ("event", "registration"),
            ("txid", "t1"),
        ])
        .await;
    assert_eq!(
        (st, v["result"].as_str()),
        (StatusCode::OK, Some("accepted")),
        "{v}"
    );
    let (st, v) = app.get(&format!("/api/v1/clicks/{lost}")).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{v}");
}

#[tokio::test]
async fn browser_conversions_taken_while_the_store_is_away_replay_as_browser() {
    let Some((app, s)) = journaled_sqlite_app().await else {
        return;
    };
    let (status, adv) = app
        .patch(
            &format!("/api/v1/advertisers/{}", s.advertiser_id),
            json!({"pixel_hosts": ["shop.test"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{adv}");
    let pk = adv["publishable_key"].as_str().unwrap().to_string();
    let click = app.click(&s.link_id).await;
    let send = |origin: &'static str| {
        app.client
            .post(app.url("/t/conversion"))
            .header("origin", origin)
            .header("content-type", "text/plain")
            .body(
                json!({"publishable_key": pk, "click_id": click, "event": "registration", "txid": "b1"})
                    .to_string(),
            )
            .send()
    };
    {
        let _unwritable = Immutable::new(sqlite_files(&app.dir.0));
        let r = send("https://shop.test").await.unwrap();
        assert_eq!(r.status(), StatusCode::ACCEPTED);
        assert_eq!(
            r.headers()["access-control-allow-origin"],
            "https://shop.test"
        );
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["result"], "queued", "{v}");
        // the page's host is checked at once, store or not
        let r = send("https://evil.test").await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
    wait_drained(&app).await;
    let conversions = stored_conversions(&app).await;
    assert_eq!(conversions.len(), 1, "{conversions:?}");
    let c = &conversions[0];
    assert_eq!(c.channel, clickledger_store::Channel::Browser);
    assert_eq!(
        (c.txid.as_deref(), c.payout.to_string()),
        (Some("b1"), "2.00".into())
    );
    let log = stored_log(&app).await;
    let browser: Vec<(&str, Option<&str>, bool)> = log
        .iter()
        .filter(|e| e.channel == clickledger_store::Channel::Browser)
        .map(|e| (e.result.as_str(), e.error.as_deref(), e.replayed))
        .collect();
    assert!(browser.contains(&("accepted", None, true)), "{browser:?}");
    assert!(
        browser.contains(&("rejected", Some("host_not_allowed"), false)),
        "{browser:?}"
    );
}
