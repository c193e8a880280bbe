//! Destination health as the store keeps it, on SQLite and (when
//! CLICKLEDGER_TEST_PG names a server) PostgreSQL: a failing destination's
//! jobs are not claimed but for one probe per interval, even with claims
//! racing from two store handles (two nodes); a failed probe keeps its
//! job's attempts and schedule; a success recovers it and its waiting jobs
//! are due at once, oldest first; disabled after the window and the count;
//! re-enabled by a person. Each change is an event. A node's restart ends
//! its probe in flight.

use std::sync::Arc;

use clickledger_domain::destination_health::HealthPolicy;
use clickledger_store::{AttemptOutcome, DeliveryAttempt, Scope, Store};
use clickledger_testdb::ScratchDb;

/// Inserts a pending job: (id, affiliate, created_ms) → id.
type Insert = Box<dyn Fn(&str, &str, i64) -> String + Send + Sync>;

/// A store and a second handle on the same data (a second node), and the
/// way to insert jobs directly.
struct Backend {
    a: Arc<dyn Store>,
    b: Arc<dyn Store>,
    insert: Insert,
    _pg: Option<ScratchDb>,
    _dir: Option<std::path::PathBuf>,
}

async fn sqlite() -> Backend {
    let dir = std::env::temp_dir().join(format!(
        "clickledger-health-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("t.db").to_string_lossy().into_owned();
    let a = clickledger_store::open(&path).await.unwrap();
    let p = path.clone();
    Backend {
        b: a.clone(),
        a,
        insert: Box::new(move |id, aff, created| {
            let c = rusqlite::Connection::open(&p).unwrap();
            c.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
            c.execute(
                "INSERT INTO deliveries (id, affiliate_id, conversion_id, status, method, url, body, state, attempts,
                     next_attempt_ms, lease_until, created_ms, updated_ms)
                 VALUES (?1, ?2, ?1, 'approved', 'GET', 'http://x.example/', NULL, 'pending', 0, 0, 0, ?3, ?3)",
                rusqlite::params![id, aff, created],
            )
            .unwrap();
            id.to_string()
        }),
        _pg: None,
        _dir: Some(dir),
    }
}

async fn postgres() -> Option<Backend> {
    let server = clickledger_testdb::server_from_env()?;
    let db = ScratchDb::create(&server, "cl_health").await.unwrap();
    let url = db.url().to_string();
    let (a, b) = (
        clickledger_store::open(&url).await.unwrap(),
        clickledger_store::open(&url).await.unwrap(),
    );
    let u = url.clone();
    Some(Backend {
        a,
        b,
        insert: Box::new(move |id, aff, created| {
            let (u, id, aff) = (u.clone(), id.to_string(), aff.to_string());
            // a thread of its own: the caller is inside the test's runtime
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    let (c, conn) = tokio_postgres::connect(&u, tokio_postgres::NoTls)
                        .await
                        .unwrap();
                    tokio::spawn(conn);
                    c.execute(
                        "INSERT INTO deliveries (id, affiliate_id, conversion_id, status, method, url, body, state, attempts,
                             next_attempt_ms, lease_until, created_ms, updated_ms)
                         VALUES ($1, $2, $1, 'approved', 'GET', 'http://x.example/', NULL, 'pending', 0, 0, 0, $3, $3)",
                        &[&id, &aff, &created],
                    )
                    .await
                    .unwrap();
                    id
                })
            })
            .join()
            .unwrap()
        }),
        _pg: Some(db),
        _dir: None,
    })
}

fn policy() -> HealthPolicy {
    HealthPolicy {
        failing_after: 2,
        probe_first_ms: 1_000,
        probe_max_ms: 4_000,
        disable_after_ms: 10_000,
        disable_min_failures: 6,
    }
}

fn failed(id: &str, ts_ms: i64) -> DeliveryAttempt {
    DeliveryAttempt {
        delivery_id: id.into(),
        ts_ms,
        url: "http://x.example/".into(),
        status: Some(503),
        latency_ms: 1,
        response: String::new(),
        error: Some("HTTP 503".into()),
    }
}

fn ok(id: &str, ts_ms: i64) -> DeliveryAttempt {
    DeliveryAttempt {
        status: Some(200),
        error: None,
        ..failed(id, ts_ms)
    }
}

async fn claim_ids(s: &Arc<dyn Store>, now: i64, node: &str) -> Vec<String> {
    s.claim_deliveries(now, 60_000, 100, node)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect()
}

async fn health_cycle(be: Backend) {
    let (a, b, p) = (be.a.clone(), be.b.clone(), policy());
    for i in 0..5 {
        (be.insert)(&format!("a{i}"), "aff_1", 10 + i);
    }
    for i in 0..3 {
        (be.insert)(&format!("b{i}"), "aff_2", 20 + i);
    }
    // two failures in a row: failing, announced once
    let first = a.claim_deliveries(1_000, 60_000, 2, "n1").await.unwrap();
    let first: Vec<&str> = first.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(first, ["a0", "a1"]);
    let e0 = a
        .finish_attempt(&failed("a0", 1_000), AttemptOutcome::RetryAt(1_050), &p)
        .await
        .unwrap();
    assert_eq!(e0, None);
    let e1 = a
        .finish_attempt(&failed("a1", 1_001), AttemptOutcome::RetryAt(1_050), &p)
        .await
        .unwrap()
        .expect("the second failure makes it failing");
    assert_eq!(
        (
            e1.kind.as_str(),
            e1.consecutive_failures,
            e1.affiliate_id.as_str()
        ),
        ("failing", 2, "aff_1")
    );
    let d = a.destinations().await.unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(
        (
            d[0].state.as_str(),
            d[0].suspended,
            d[0].next_probe_ms,
            d[0].failing_since_ms
        ),
        ("failing", false, Some(2_001), Some(1_000)),
        "{d:?}"
    );

    // before the probe time: only the healthy destination's jobs
    assert_eq!(claim_ids(&a, 1_500, "n1").await, ["b0", "b1", "b2"]);
    for i in 0..3 {
        let id = format!("b{i}");
        a.finish_attempt(&ok(&id, 1_600), AttemptOutcome::Delivered, &p)
            .await
            .unwrap();
    }
    // at the probe time, from two nodes at once: one probe in all, the
    // oldest waiting job (due or not)
    let races: Vec<_> = (0..8)
        .map(|i| {
            let s = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move { claim_ids(&s, 2_001, &format!("n{i}")).await })
        })
        .collect();
    let mut probes = Vec::new();
    for r in races {
        probes.extend(r.await.unwrap());
    }
    assert_eq!(probes, ["a0"], "one probe per interval");
    assert!(claim_ids(&a, 2_500, "n1").await.is_empty());
    // the probe fails: its job keeps its attempts and schedule; the
    // interval doubles from the probe's end
    let e = a
        .finish_attempt(&failed("a0", 2_100), AttemptOutcome::RetryAt(9_999), &p)
        .await
        .unwrap();
    assert_eq!(e, None, "a failed probe is no new event");
    let (job, log) = a.delivery("a0", &Scope::All).await.unwrap().unwrap();
    assert_eq!((job.attempts, job.next_attempt_ms), (1, 1_050), "{job:?}");
    assert_eq!(log.len(), 2, "the probe is in the attempts' log");
    let d = a.destinations().await.unwrap();
    assert_eq!(
        (
            d[0].next_probe_ms,
            d[0].probe_interval_ms,
            d[0].consecutive_failures
        ),
        (Some(4_100), 2_000, 3)
    );
    assert!(claim_ids(&b, 4_099, "n2").await.is_empty());
    assert_eq!(claim_ids(&b, 4_100, "n2").await, ["a0"]);
    assert!(claim_ids(&a, 4_100, "n1").await.is_empty());
    // the probing node restarts: its probe is over, the next goes at once
    b.release_leases("n2").await.unwrap();
    assert_eq!(claim_ids(&a, 4_150, "n1").await, ["a0"]);

    // the probe succeeds: recovered, the waiting jobs due now, oldest first
    let e = a
        .finish_attempt(&ok("a0", 4_200), AttemptOutcome::Delivered, &p)
        .await
        .unwrap()
        .expect("recovered");
    assert_eq!(e.kind, "recovered");
    assert_eq!(claim_ids(&a, 4_200, "n1").await, ["a1", "a2", "a3", "a4"]);
    let (job, _) = a.delivery("a0", &Scope::All).await.unwrap().unwrap();
    assert_eq!(
        job.attempts, 2,
        "one failure and the success: the probe's failure was not spent"
    );
    let d = a.destinations().await.unwrap();
    assert_eq!(
        (
            d[0].state.as_str(),
            d[0].consecutive_failures,
            d[0].next_probe_ms,
            d[0].reason.clone()
        ),
        ("healthy", 0, None, None)
    );

    // failing continuously: disabled only after the window AND the count
    for (i, ts) in [(1, 10_000), (2, 10_001)] {
        a.finish_attempt(
            &failed(&format!("a{i}"), ts),
            AttemptOutcome::RetryAt(ts + 50),
            &p,
        )
        .await
        .unwrap();
    }
    let e = a
        .finish_attempt(&failed("a3", 20_001), AttemptOutcome::RetryAt(20_050), &p)
        .await
        .unwrap();
    assert_eq!(e, None, "long enough, but 3 failures of the 6 needed");
    let mut last = None;
    for ts in [20_002, 20_003, 20_004] {
        last = a
            .finish_attempt(&failed("a4", ts), AttemptOutcome::RetryAt(ts + 50), &p)
            .await
            .unwrap();
    }
    let e = last.expect("the sixth failure disables it");
    assert_eq!((e.kind.as_str(), e.consecutive_failures), ("disabled", 6));
    let d = a.destinations().await.unwrap();
    assert_eq!((d[0].state.as_str(), d[0].suspended), ("disabled", true));
    assert!(d[0]
        .reason
        .as_deref()
        .unwrap()
        .starts_with("disabled after 6 failed attempts"));
    assert!(
        claim_ids(&a, 1_000_000, "n1").await.is_empty(),
        "no probe either"
    );

    // a person re-enables it: its jobs go out again
    let e = a
        .resume_destination("aff_1", 1_000_001)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((e.kind.as_str(), e.consecutive_failures), ("enabled", 6));
    assert_eq!(
        a.resume_destination("aff_1", 1_000_002).await.unwrap(),
        None
    );
    assert_eq!(
        claim_ids(&a, 1_000_002, "n1").await,
        ["a1", "a2", "a3", "a4"]
    );
    let kinds: Vec<String> = a
        .destination_events("aff_1", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        ["enabled", "disabled", "failing", "recovered", "failing"]
    );
    assert!(a.destination_events("aff_2", 10).await.unwrap().is_empty());
    // re-enabling a destination never called changes nothing
    assert_eq!(
        a.resume_destination("aff_9", 1_000_003).await.unwrap(),
        None
    );
    assert!(a
        .destinations()
        .await
        .unwrap()
        .iter()
        .all(|d| d.affiliate_id != "aff_9"));

    // a probe refused for good (a 404: the receiver answers, the job is the
    // trouble) fails its job as usual; the next probe is the next job
    for i in 0..2 {
        (be.insert)(&format!("c{i}"), "aff_3", 1_010_000 + i);
    }
    // (a1..a4 are still leased to n1)
    let t = 1_010_000;
    assert_eq!(claim_ids(&a, t, "n1").await, ["c0", "c1"]);
    for id in ["c0", "c1"] {
        a.finish_attempt(&failed(id, t), AttemptOutcome::RetryAt(t + 50), &p)
            .await
            .unwrap();
    }
    assert_eq!(claim_ids(&a, t + 1_000, "n1").await, ["c0"]);
    let gone = DeliveryAttempt {
        status: Some(404),
        error: Some("HTTP 404".into()),
        ..failed("c0", t + 1_000)
    };
    a.finish_attempt(&gone, AttemptOutcome::Failed, &p)
        .await
        .unwrap();
    let (job, _) = a.delivery("c0", &Scope::All).await.unwrap().unwrap();
    assert_eq!((job.state.as_str(), job.attempts), ("failed", 2));
    assert_eq!(claim_ids(&a, t + 3_000, "n1").await, ["c1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_destination_gives_one_probe_per_interval_on_sqlite() {
    health_cycle(sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_destination_gives_one_probe_per_interval_on_postgres() {
    let Some(be) = postgres().await else {
        eprintln!("skipped: set CLICKLEDGER_TEST_PG=postgres://root@127.0.0.1:5432 to run it on PostgreSQL");
        return;
    };
    health_cycle(be).await;
}
