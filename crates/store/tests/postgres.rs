//! The PostgreSQL backend's own guarantees, against the real server on
//! this machine (a fresh database per test, dropped after): migrations run
//! once when several nodes start together, rollups from several nodes add
//! up, two nodes claiming deliveries never take the same job, a starting
//! node releases only its own leases, configuration writes reach the other
//! nodes, and a stored value that does not parse is an error naming it.
//!
//! Skipped (with a line saying so) when CLICKLEDGER_TEST_PG is unset.

use std::sync::Arc;

use clickledger_domain::ClickId;
use clickledger_store::{Click, ConversionFilter, Grain, ReportQuery, Scope, Store, StoreError};
use tokio_postgres::NoTls;

/// A fresh database, dropped when the value goes.
struct Db {
    base: String,
    name: String,
}

impl Db {
    async fn new() -> Option<Db> {
        let Ok(base) = std::env::var("CLICKLEDGER_TEST_PG") else {
            eprintln!("skipped: set CLICKLEDGER_TEST_PG=postgres://root@127.0.0.1:5432 to run the PostgreSQL tests");
            return None;
        };
        let name = format!("cl_store_{}_{}", std::process::id(), rand_suffix());
        admin(&base)
            .await
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        Some(Db { base, name })
    }

    fn url(&self) -> String {
        format!("{}/{}", self.base.trim_end_matches('/'), self.name)
    }

    async fn sql(&self) -> tokio_postgres::Client {
        connect(&self.url()).await
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let (base, name) = (self.base.clone(), self.name.clone());
        // a thread of its own: Drop may run inside the test's runtime
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let _ = admin(&base)
                    .await
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
            });
        })
        .join()
        .unwrap();
    }
}

fn rand_suffix() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    format!("{}", t.as_nanos() % 1_000_000_000_000)
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(conn);
    client
}

async fn admin(base: &str) -> tokio_postgres::Client {
    connect(&format!("{}/postgres", base.trim_end_matches('/'))).await
}

async fn open(db: &Db) -> Arc<dyn Store> {
    clickledger_store::open(&db.url()).await.unwrap()
}

fn click(n: u64, ts_ms: i64, link: &str) -> Click {
    Click {
        id: ClickId::new(ts_ms as u64, u128::from(n)),
        ts_ms,
        link_id: link.into(),
        offer_id: "off_1".into(),
        affiliate_id: "aff_1".into(),
        sub1: Some(format!("s{}", n % 3)),
        sub2: None,
        sub3: None,
        sub4: None,
        sub5: None,
        source: n.is_multiple_of(2).then(|| "fb".to_string()),
        extra: Default::default(),
        params_cut: 0,
        ip: "192.0.2.1".into(),
        country: ["DE", "US"][(n % 2) as usize].into(),
        user_agent: format!("agent {}", n % 4),
        device: "mobile".into(),
        os: "other".into(),
        browser: "other".into(),
        referer_host: String::new(),
        unique: n.is_multiple_of(3),
        bot: false,
        suspicious: false,
        test: false,
        blocked: false,
        rule: None,
        target: None,
        flow_offer: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_starting_together_migrate_once() {
    let Some(db) = Db::new().await else { return };
    let url = db.url();
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { clickledger_store::open(&url).await.map(drop) })
        })
        .collect();
    for s in starts {
        s.await.unwrap().unwrap();
    }
    let rows = db
        .sql()
        .await
        .query(
            "SELECT version, name FROM schema_migrations ORDER BY version",
            &[],
        )
        .await
        .unwrap();
    let applied: Vec<(i64, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        applied,
        vec![
            (1, "init".to_string()),
            (2, "leader_leases".to_string()),
            (3, "destination_health".to_string()),
            (4, "replayed_postbacks".to_string()),
            (5, "flows".to_string()),
            (6, "browser_conversions".to_string()),
            (7, "alerts".to_string()),
            (8, "report_rollups".to_string()),
            (9, "link_rollup".to_string()),
            (10, "pending_rollups".to_string()),
            (11, "affiliate_sub1_rollup".to_string()),
            (12, "sub_slot_rollups".to_string()),
            (13, "link_country_rollup".to_string()),
            (14, "month_rollups".to_string()),
            (15, "affiliate_sub_slot_rollups".to_string()),
            (16, "affiliate_geo_rollup".to_string()),
            (17, "conversion_quarters_from_conversions".to_string()),
            (18, "local_days".to_string()),
            (19, "sub1_alone_rollup".to_string()),
            (20, "country_and_affiliate_alone_rollups".to_string()),
            (21, "pair_rollups".to_string()),
            (22, "link_device_rollup".to_string()),
            (23, "sub_value_overflows".to_string()),
            (24, "conversions_click_time".to_string())
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollups_from_two_nodes_add_up() {
    let Some(db) = Db::new().await else { return };
    let (a, b) = (open(&db).await, open(&db).await);
    db.sql()
        .await
        .batch_execute("INSERT INTO links (id, offer_id, affiliate_id, doc) VALUES ('lnk_1', 'off_1', 'aff_1', '{}')")
        .await
        .unwrap();
    let t0 = 1_764_547_200_000; // a UTC midnight
                                // both nodes write batches with the same rollup keys at the same time
    let writers: Vec<_> = [a.clone(), b.clone()]
        .into_iter()
        .enumerate()
        .map(|(node, store)| {
            std::thread::spawn(move || {
                for batch in 0..20u64 {
                    let clicks: Vec<Click> = (0..50)
                        .map(|i| {
                            click(
                                node as u64 * 1_000_000 + batch * 100 + i,
                                t0 + i as i64 * 1000,
                                "lnk_1",
                            )
                        })
                        .collect();
                    store.insert_clicks(&clicks).unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    // each node folds its sums about once a second; a report on a node
    // folds that node's first
    a.flush_rollups().await.unwrap();
    b.flush_rollups().await.unwrap();
    let sql = db.sql().await;
    let raw: i64 = sql
        .query_one("SELECT COUNT(*) FROM clicks", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(raw, 2 * 20 * 50);
    for table in [
        "rollup_link_q",
        "rollup_link_d",
        "rollup_geo_q",
        "rollup_geo_d",
        "rollup_sub_q",
        "rollup_sub_d",
        "rollup_offer_q",
        "rollup_offer_d",
        "rollup_affiliate_w",
        "rollup_source_w",
        "rollup_sub1_w",
        "rollup_link_w",
        "rollup_link_offer_q",
        "rollup_link_offer_d",
        "rollup_link_offer_w",
        "rollup_affiliate_sub1_q",
        "rollup_affiliate_sub1_d",
        "rollup_affiliate_sub1_w",
        "rollup_link_m",
        "rollup_link_country_m",
        "rollup_affiliate_sub2_q",
        "rollup_affiliate_sub5_m",
    ] {
        let (n, u): (i64, i64) = {
            let r = sql
                .query_one(
                    &format!("SELECT SUM(clicks)::bigint, SUM(unique_clicks)::bigint FROM {table}"),
                    &[],
                )
                .await
                .unwrap();
            (r.get(0), r.get(1))
        };
        let uniques: i64 = sql
            .query_one("SELECT COUNT(*) FROM clicks WHERE is_unique", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!((n, u), (raw, uniques), "{table}");
    }
    // and the report reads them back, by day and by source
    let q = ReportQuery {
        scope: Scope::All,
        from_ms: t0,
        to_ms: t0 + 86_400_000,
        dimensions: vec![clickledger_store::Dimension::Source],
        grain: Grain::Day,
        ..Default::default()
    };
    let rows = b.click_buckets(&q).await.unwrap();
    let mut by_source: Vec<(String, i64)> = rows
        .iter()
        .map(|r| (r.values[0].clone(), r.clicks))
        .collect();
    by_source.sort();
    assert_eq!(
        by_source,
        vec![(String::new(), 1000), ("fb".to_string(), 1000)]
    );
}

/// Sums of every click rollup table, next to the raw clicks' own counts
/// (each table's clicks and unique clicks, by name).
async fn rollups_and_raw(sql: &tokio_postgres::Client) -> (Vec<(String, i64, i64)>, (i64, i64)) {
    let raw = sql
        .query_one(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE is_unique) FROM clicks",
            &[],
        )
        .await
        .unwrap();
    let mut tables = Vec::new();
    for stem in [
        "rollup_link",
        "rollup_geo",
        "rollup_sub",
        "rollup_offer",
        "rollup_affiliate",
        "rollup_source",
        "rollup_sub1",
        "rollup_link_offer",
        "rollup_affiliate_sub1",
        "rollup_sub2",
        "rollup_sub3",
        "rollup_sub4",
        "rollup_sub5",
        "rollup_link_country",
        "rollup_affiliate_sub2",
        "rollup_affiliate_sub3",
        "rollup_affiliate_sub4",
        "rollup_affiliate_sub5",
        "rollup_affiliate_geo",
        "rollup_sub1_alone",
        "rollup_country_alone",
        "rollup_affiliate_alone",
        "rollup_source_country",
        "rollup_source_device",
        "rollup_source_sub1",
        "rollup_sub1_country",
        "rollup_sub1_device",
        "rollup_link_device",
    ] {
        for g in ["q", "d", "w", "m"] {
            let table = format!("{stem}_{g}");
            let r = sql
                .query_one(
                    &format!("SELECT COALESCE(SUM(clicks), 0)::bigint, COALESCE(SUM(unique_clicks), 0)::bigint FROM {table}"),
                    &[],
                )
                .await
                .unwrap();
            tables.push((table, r.get(0), r.get(1)));
        }
    }
    (tables, (raw.get(0), raw.get(1)))
}

/// Every table counts exactly the raw clicks.
async fn assert_rollups_exact(sql: &tokio_postgres::Client) {
    let (tables, (n, u)) = rollups_and_raw(sql).await;
    assert!(n > 0);
    for (table, clicks, uniques) in tables {
        assert_eq!((clicks, uniques), (n, u), "{table}");
    }
}

async fn pending_generations(sql: &tokio_postgres::Client) -> i64 {
    sql.query_one("SELECT COUNT(*) FROM rollups_pending", &[])
        .await
        .unwrap()
        .get(0)
}

/// Ends the connection that holds the lock of the oldest pending rollup
/// generation: its node's writer, as if the node died or lost its network.
/// Only this database's locks: tests beside this one number their
/// generations from 1 too.
async fn cut_oldest_writer(sql: &tokio_postgres::Client) {
    let cut: bool = sql
        .query_one(
            "SELECT pg_terminate_backend(l.pid, 5000)
             FROM pg_locks l, (SELECT hashtextextended('rollups:' || MIN(tag)::text, 0) AS k FROM rollups_pending) p
             WHERE l.locktype = 'advisory' AND l.objsubid = 1
               AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
               AND l.classid::bigint = (p.k >> 32) & 4294967295 AND l.objid::bigint = p.k & 4294967295",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(cut);
}

/// Click rollups are summed in each node's memory and folded about once a
/// second. A node that dies in between leaves its generation's row; the
/// next node to start folds exactly that generation's clicks, and never a
/// living node's. A node whose connection broke and whose generation was
/// folded meanwhile drops its sums and goes on: no click counts twice or
/// not at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_dies_between_folds_loses_no_click_and_counts_none_twice() {
    let Some(db) = Db::new().await else { return };
    let (a, b) = (open(&db).await, open(&db).await);
    let sql = db.sql().await;
    sql.batch_execute("INSERT INTO links (id, offer_id, affiliate_id, doc) VALUES ('lnk_1', 'off_1', 'aff_1', '{}')")
        .await
        .unwrap();
    let t0 = 1_764_547_200_000;
    let batch = |from: u64| -> Vec<Click> {
        (from..from + 40)
            .map(|n| click(n, t0 + n as i64 * 1000, "lnk_1"))
            .collect()
    };
    for (store, from) in [(&a, 0), (&a, 100), (&b, 200)] {
        let (store, clicks) = (store.clone(), batch(from));
        tokio::task::spawn_blocking(move || store.insert_clicks(&clicks).unwrap())
            .await
            .unwrap();
    }
    // a's generation is the older one; nothing of a's is folded
    assert_eq!(pending_generations(&sql).await, 2);
    cut_oldest_writer(&sql).await;
    std::mem::forget(a);
    // a starting node folds the dead node's generation, not b's
    let c = open(&db).await;
    assert_eq!(pending_generations(&sql).await, 1);
    b.flush_rollups().await.unwrap();
    assert_eq!(pending_generations(&sql).await, 0);
    assert_rollups_exact(&sql).await;

    // b loses its connection with a generation open; a starting node
    // folds it; b, still running, finds it folded and goes on
    for from in [300, 400] {
        let (b, clicks) = (b.clone(), batch(from));
        tokio::task::spawn_blocking(move || b.insert_clicks(&clicks).unwrap())
            .await
            .unwrap();
    }
    cut_oldest_writer(&sql).await;
    let d = open(&db).await;
    assert_eq!(pending_generations(&sql).await, 0);
    let (b2, clicks) = (b.clone(), batch(500));
    tokio::task::spawn_blocking(move || {
        // the first use of the cut connection fails (nothing committed),
        // as the click writer sees it; the lane reconnects for the next
        if let Err(e) = b2.insert_clicks(&clicks) {
            assert!(e.to_string().contains("terminating connection"), "{e}");
            b2.insert_clicks(&clicks).unwrap();
        }
    })
    .await
    .unwrap();
    b.flush_rollups().await.unwrap();
    assert_rollups_exact(&sql).await;
    let raw: i64 = sql
        .query_one("SELECT COUNT(*) FROM clicks", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(raw, 6 * 40);
    drop((b, c, d));
}

/// A migration that fills a rollup from the raw clicks leaves out the
/// clicks of generations not yet folded: their fold adds them to every
/// rollup, the new one included, and would count them twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_device_migration_leaves_unfolded_clicks_to_their_fold() {
    let Some(db) = Db::new().await else { return };
    let a = open(&db).await;
    let sql = db.sql().await;
    sql.batch_execute("INSERT INTO links (id, offer_id, affiliate_id, doc) VALUES ('lnk_1', 'off_1', 'aff_1', '{}')")
        .await
        .unwrap();
    let t0 = 1_764_547_200_000;
    for (from, fold) in [(0, true), (100, false)] {
        let (writer, clicks): (_, Vec<Click>) = (
            a.clone(),
            (from..from + 40)
                .map(|n| click(n, t0 + n as i64 * 1000, "lnk_1"))
                .collect(),
        );
        tokio::task::spawn_blocking(move || writer.insert_clicks(&clicks).unwrap())
            .await
            .unwrap();
        if fold {
            a.flush_rollups().await.unwrap();
        }
    }
    assert_eq!(pending_generations(&sql).await, 1);
    // the migration again, on a database with 40 clicks folded and 40 not
    let migration = include_str!("../src/postgres/migrations/0022_link_device_rollup.sql");
    for g in ["q", "d", "w", "m"] {
        sql.batch_execute(&format!("DROP TABLE rollup_link_device_{g}"))
            .await
            .unwrap();
    }
    for g in ["d", "w", "m"] {
        sql.batch_execute(&format!("DROP TABLE conv_rollup_link_device_{g}"))
            .await
            .unwrap();
    }
    sql.batch_execute(migration).await.unwrap();
    a.flush_rollups().await.unwrap();
    assert_rollups_exact(&sql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_never_claim_the_same_delivery_and_a_start_releases_only_its_own() {
    let Some(db) = Db::new().await else { return };
    let (a, b) = (open(&db).await, open(&db).await);
    let sql = db.sql().await;
    for i in 0..200 {
        sql.execute(
            "INSERT INTO deliveries (id, affiliate_id, conversion_id, status, method, url, body, state, attempts,
                 next_attempt_ms, lease_until, created_ms, updated_ms)
             VALUES ($1, 'aff_1', $2, 'approved', 'GET', 'http://x.example/', NULL, 'pending', 0, 0, 0, $3, $3)",
            &[&format!("d{i:03}"), &format!("cv{i}"), &(i as i64)],
        )
        .await
        .unwrap();
    }
    let now = 1_000;
    let claims: Vec<_> = [(a.clone(), "node-a"), (b.clone(), "node-b")]
        .into_iter()
        .flat_map(|(s, node)| (0..5).map(move |_| (s.clone(), node)))
        .map(|(s, node)| {
            tokio::spawn(async move {
                (
                    node,
                    s.claim_deliveries(now, 60_000, 30, node).await.unwrap(),
                )
            })
        })
        .collect();
    let mut seen = std::collections::HashMap::new();
    for c in claims {
        let (node, jobs) = c.await.unwrap();
        for j in jobs {
            assert!(
                seen.insert(j.id.clone(), node).is_none(),
                "{} claimed twice",
                j.id
            );
        }
    }
    assert!(seen.len() > 60, "both nodes claimed: {}", seen.len());
    let held_by = |node: &'static str| seen.values().filter(|n| **n == node).count() as i64;
    let (by_a, by_b) = (held_by("node-a"), held_by("node-b"));
    assert!(by_a > 0 && by_b > 0);
    // node A restarts: its jobs are due again at once, B's stay leased
    a.release_leases("node-a").await.unwrap();
    let leased = |node: &'static str| {
        let sql = &sql;
        async move {
            let r = sql
                .query_one(
                    "SELECT COUNT(*) FROM deliveries WHERE leased_by = $1 AND lease_until > $2",
                    &[&node, &now],
                )
                .await
                .unwrap();
            r.get::<_, i64>(0)
        }
    };
    assert_eq!((leased("node-a").await, leased("node-b").await), (0, by_b));
    let again = a
        .claim_deliveries(now, 60_000, 1000, "node-a")
        .await
        .unwrap();
    assert_eq!(
        again.len() as i64,
        200 - by_b,
        "A takes back its own and the unclaimed, never B's"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configuration_write_reaches_the_other_node() {
    let Some(db) = Db::new().await else { return };
    let (a, b) = (open(&db).await, open(&db).await);
    let mut heard = b.config_changes().expect("PostgreSQL pushes changes");
    // the LISTEN connection says so once it is up
    tokio::time::timeout(std::time::Duration::from_secs(5), heard.recv())
        .await
        .unwrap()
        .unwrap();
    let before = b.config_stamp().await.unwrap();
    a.put_fx_rates(&[clickledger_store::FxRate {
        currency: clickledger_domain::Currency::parse("EUR").unwrap(),
        date: "2026-12-01".into(),
        rate: "1.0825".parse().unwrap(),
    }])
    .await
    .unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), heard.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(b.config_stamp().await.unwrap() > before);
    let rates = b.fx_rates().await.unwrap();
    assert_eq!(rates.len(), 1);
    assert_eq!(rates[0].rate.to_string(), "1.0825");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_values_that_do_not_parse_are_errors_naming_table_row_and_column() {
    let Some(db) = Db::new().await else { return };
    let store = open(&db).await;
    let sql = db.sql().await;
    sql.batch_execute(
        "INSERT INTO conversions (id, click_id, offer_id, advertiser_id, affiliate_id, link_id, event, txid, once, status,
             amount_micros, currency, payout_micros, revenue_micros, payout_currency, click_ms, conv_ms, updated_ms,
             too_fast, test, capped, fx_missing, duplicates, country, device, os, browser)
         VALUES ('cv_bad', '\\x00000000000000000000000000000001', 'off_1', 'adv_1', 'aff_1', 'lnk_1', 'sale', 't1', TRUE,
             'aproved', NULL, 'USD', 1000000, 0, 'USD', 0, 0, 0, FALSE, FALSE, FALSE, FALSE, 0, '', '', '', '');
         INSERT INTO fx_rates (currency, date, rate) VALUES ('EUR', '2026-12-01', 'one point one');",
    )
    .await
    .unwrap();
    match store.conversions(&ConversionFilter::default()).await {
        Err(StoreError::Corrupt(m)) => assert_eq!(
            m,
            "table `conversions`, row `cv_bad`: column `status` holds `aproved`, which is not a status"
        ),
        other => panic!("{other:?}"),
    }
    match store.fx_rates().await {
        Err(StoreError::Corrupt(m)) => assert_eq!(
            m,
            "table `fx_rates`, row `EUR/2026-12-01`: column `rate` holds `one point one`, which is not a decimal above 0"
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_node_leads_housekeeping_until_its_lease_ends() {
    let Some(db) = Db::new().await else { return };
    let (a, b) = (open(&db).await, open(&db).await);
    let (t, ttl) = (1_000_000, 30_000);
    assert!(a.lead("holds", "node-a", t, ttl).await.unwrap());
    assert!(
        !b.lead("holds", "node-b", t + 1, ttl).await.unwrap(),
        "A leads"
    );
    // another task is free; the leader renews its own
    assert!(b.lead("retention", "node-b", t + 1, ttl).await.unwrap());
    assert!(a.lead("holds", "node-a", t + 10_000, ttl).await.unwrap());
    assert!(
        !b.lead("holds", "node-b", t + 39_000, ttl).await.unwrap(),
        "renewed to t + 40 s"
    );
    // A stops renewing (it died): B takes over once the lease has ended
    assert!(b.lead("holds", "node-b", t + 40_001, ttl).await.unwrap());
    assert!(!a.lead("holds", "node-a", t + 40_002, ttl).await.unwrap());
}

/// A loopback relay to the test server that can lose the answer to one
/// COMMIT: armed, it passes the next COMMIT on, lets the server finish it,
/// and closes the connection without passing the answer back, as a
/// network that breaks at that moment would.
struct CommitCutter {
    url: String,
    armed: Arc<std::sync::atomic::AtomicBool>,
}

impl CommitCutter {
    async fn start(db: &Db) -> CommitCutter {
        use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let config: tokio_postgres::Config = db.url().parse().unwrap();
        let server = match &config.get_hosts()[0] {
            tokio_postgres::config::Host::Tcp(h) => format!("{h}:{}", config.get_ports()[0]),
            other => panic!("CLICKLEDGER_TEST_PG must be a TCP address, not {other:?}"),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "postgres://{}@{}/{}",
            config.get_user().unwrap_or("root"),
            listener.local_addr().unwrap(),
            db.name
        );
        let armed = Arc::new(AtomicBool::new(false));
        let arm = armed.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let upstream = tokio::net::TcpStream::connect(&server).await.unwrap();
                let (mut from_client, mut to_client) = client.into_split();
                let (mut from_server, mut to_server) = upstream.into_split();
                let cut = Arc::new(AtomicBool::new(false));
                let (arm, cut_up) = (arm.clone(), cut.clone());
                tokio::spawn(async move {
                    let mut buf = vec![0; 64 * 1024];
                    while let Ok(n @ 1..) = from_client.read(&mut buf).await {
                        let commit = buf[..n].windows(6).any(|w| w == b"COMMIT");
                        if commit && arm.swap(false, SeqCst) {
                            cut_up.store(true, SeqCst);
                        }
                        if to_server.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                        if cut_up.load(SeqCst) {
                            // the server commits; then both ends go
                            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                            return;
                        }
                    }
                });
                tokio::spawn(async move {
                    let mut buf = vec![0; 64 * 1024];
                    while let Ok(n @ 1..) = from_server.read(&mut buf).await {
                        if cut.load(SeqCst) || to_client.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        CommitCutter { url, armed }
    }

    fn arm(&self) {
        self.armed.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A click batch whose COMMIT reached the server but whose answer was
/// lost: its clicks are stored under the generation's tag, and the writer,
/// seeing an error, cannot know it. It leaves that generation to the
/// repair, which folds it from its clicks, so every stored click counts
/// once (the node's own sums of earlier batches went with it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_whose_answer_is_lost_counts_its_clicks_once() {
    let Some(db) = Db::new().await else { return };
    let sql = db.sql().await;
    let relay = CommitCutter::start(&db).await;
    let store = clickledger_store::open(&relay.url).await.unwrap();
    sql.batch_execute("INSERT INTO links (id, offer_id, affiliate_id, doc) VALUES ('lnk_1', 'off_1', 'aff_1', '{}')")
        .await
        .unwrap();
    let t0 = 1_764_547_200_000;
    let insert = |from: u64| {
        let store = store.clone();
        let clicks: Vec<Click> = (from..from + 40)
            .map(|n| click(n, t0 + n as i64 * 1000, "lnk_1"))
            .collect();
        tokio::task::spawn_blocking(move || store.insert_clicks(&clicks))
    };
    insert(0).await.unwrap().unwrap();
    relay.arm();
    let lost = insert(100).await.unwrap();
    assert!(lost.is_err(), "the relay cut the answer to COMMIT");
    // the server finishes the COMMIT, then finds the connection closed
    // and ends, which frees its generation's lock
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    for _ in 0..100 {
        let held: i64 = sql
            .query_one(
                "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory'
                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        if held == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let stored: i64 = sql
        .query_one("SELECT COUNT(*) FROM clicks", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, 80, "the cut batch was committed");
    // the writer's next batch may be the one that finds its connection
    // gone (nothing committed); its lane reconnects for the one after
    if insert(200).await.unwrap().is_err() {
        insert(200).await.unwrap().unwrap();
    }
    // reports fold at once on several requests; every fold waits for the
    // repair the first one starts (else a read counts 80: a CI failure)
    let q = ReportQuery {
        scope: Scope::All,
        from_ms: t0,
        to_ms: t0 + 86_400_000,
        ..Default::default()
    };
    let reads: Vec<_> = (0..6)
        .map(|_| {
            let (store, q) = (store.clone(), q.clone());
            tokio::spawn(async move {
                store.flush_rollups().await.unwrap();
                store.click_buckets(&q).await.unwrap()
            })
        })
        .collect();
    for read in reads {
        let clicks: i64 = read.await.unwrap().iter().map(|r| r.clicks).sum();
        assert_eq!(
            clicks, 120,
            "a read saw the lost commit's generation folded"
        );
    }
    assert_eq!(pending_generations(&sql).await, 0);
    assert_rollups_exact(&sql).await;
    let (_, (n, _)) = rollups_and_raw(&sql).await;
    assert_eq!(n, 120);
}
