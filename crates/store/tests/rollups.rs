//! Rollups are kept in memory between flushes; these tests prove that a
//! crash between flushes loses no count (the rollups are rebuilt from the
//! raw clicks on the next open) and that a clean stop leaves nothing to
//! rebuild.

use clickledger_domain::ClickId;
use clickledger_store::{Click, SqliteStore, Store};
use rusqlite::Connection;

const DAY: i64 = 86_400_000;

const LINKS: i64 = 7;

/// A link's offer and affiliate never change; clicks take them from it.
fn link(k: i64) -> (String, String, String) {
    (
        format!("lnk_{k}"),
        format!("off_{}", k % 3),
        format!("aff_{}", k % 5),
    )
}

/// Opens the store and adds the links the clicks use.
fn open_with_links(path: &std::path::Path) -> SqliteStore {
    let store = SqliteStore::open(path).unwrap();
    let c = Connection::open(path).unwrap();
    for k in 0..LINKS {
        let (l, o, a) = link(k);
        c.execute(
            "INSERT OR IGNORE INTO links (id, offer_id, affiliate_id, doc) VALUES (?1, ?2, ?3, '{}')",
            [l, o, a],
        )
        .unwrap();
    }
    store
}

fn click(n: i64, ts_ms: i64) -> Click {
    let (link_id, offer_id, affiliate_id) = link(n % LINKS);
    Click {
        id: ClickId::new(ts_ms as u64, n as u128),
        ts_ms,
        link_id,
        offer_id,
        affiliate_id,
        sub1: (n % 4 != 0).then(|| format!("s{}", n % 11)),
        sub2: None,
        sub3: None,
        sub4: None,
        sub5: None,
        source: (n % 2 == 0).then(|| "fb".to_string()),
        extra: Default::default(),
        params_cut: 0,
        ip: "192.0.2.1".into(),
        country: ["DE", "IN", "US"][(n % 3) as usize].into(),
        user_agent: format!("agent {}", n % 2),
        device: ["mobile", "desktop"][(n % 2) as usize].into(),
        os: "other".into(),
        browser: "other".into(),
        referer_host: String::new(),
        unique: n % 3 == 0,
        bot: n % 10 == 0,
        suspicious: n % 13 == 0,
        // test clicks count nowhere
        test: n % 17 == 0,
        blocked: false,
        rule: None,
        target: None,
        flow_offer: false,
    }
}

/// (rollup table, total clicks, unique, bot, suspicious) for every rollup.
fn rollup_totals(path: &std::path::Path) -> Vec<(String, [i64; 4])> {
    let c = Connection::open(path).unwrap();
    let mut out = Vec::new();
    for stem in ["rollup_link", "rollup_geo", "rollup_sub", "rollup_offer"] {
        for grain in ["q", "d", "w", "m"] {
            let t = format!("{stem}_{grain}");
            let v = c
                .query_row(
                    &format!("SELECT COALESCE(SUM(clicks), 0), COALESCE(SUM(unique_clicks), 0), COALESCE(SUM(bot_clicks), 0), COALESCE(SUM(suspicious_clicks), 0) FROM {t}"),
                    [],
                    |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?]),
                )
                .unwrap();
            out.push((t, v));
        }
    }
    out
}

/// The same totals recounted from the raw clicks.
fn raw_totals(path: &std::path::Path) -> [i64; 4] {
    Connection::open(path)
        .unwrap()
        .query_row(
            "SELECT COUNT(*), SUM(is_unique), SUM(is_bot), SUM(suspicious) FROM clicks WHERE test = 0",
            [],
            |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?]),
        )
        .unwrap()
}

type LinkDay = (i64, String, String, i64);

/// Per (day, link, source) counts from the rollup vs from the raw clicks.
fn link_days(path: &std::path::Path) -> (Vec<LinkDay>, Vec<LinkDay>) {
    let c = Connection::open(path).unwrap();
    let q = |sql: &str| -> Vec<LinkDay> {
        let mut st = c.prepare(sql).unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    (
        q("SELECT bucket_ms, link_id, source, clicks FROM rollup_link_d ORDER BY 1, 2, 3"),
        q(&format!(
            "SELECT (ts_ms / {DAY}) * {DAY}, link_id, COALESCE(source, ''), COUNT(*) FROM clicks WHERE test = 0 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
        )),
    )
}

/// The crash marker: the earliest click time not yet in the rollups.
fn marker(path: &std::path::Path) -> Option<String> {
    Connection::open(path)
        .unwrap()
        .query_row(
            "SELECT v FROM meta WHERE k = 'rollups_pending_since'",
            [],
            |r| r.get(0),
        )
        .ok()
}

fn temp_db(name: &str) -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("clickledger-rollups-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("t.db")
}

#[test]
fn a_crash_between_flushes_is_repaired_from_raw_clicks() {
    let path = temp_db("crash");
    let t0 = 1_750_000_000_000 - 3 * DAY;
    {
        let store = open_with_links(&path);
        // three days of clicks, in batches, all within a second: nothing is
        // due to be flushed yet
        let clicks: Vec<Click> = (0..900).map(|n| click(n, t0 + n * (DAY / 300))).collect();
        for batch in clicks.chunks(50) {
            store.insert_clicks(batch).unwrap();
        }
        // a crash: the store is never dropped, so nothing flushes
        std::mem::forget(store);
    }
    let raw = raw_totals(&path);
    assert!(raw[0] > 800, "{raw:?}");
    // the counts are not in the rollup tables yet; the marker says so
    for (t, v) in rollup_totals(&path) {
        assert!(v[0] < raw[0], "{t} already holds every click: {v:?}");
    }
    let since: i64 = marker(&path).expect("a marker").parse().unwrap();
    assert!(since <= t0, "{since} > {t0}");

    // the next open rebuilds them from the raw clicks
    drop(SqliteStore::open(&path).unwrap());
    for (t, v) in rollup_totals(&path) {
        assert_eq!(v, raw, "{t}");
    }
    let (rolled, recounted) = link_days(&path);
    assert_eq!(rolled, recounted);
    assert_eq!(marker(&path), None);
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[tokio::test]
async fn flushes_keep_counts_exact_and_a_clean_stop_leaves_no_marker() {
    let path = temp_db("clean");
    let t0 = 1_750_000_000_000;
    {
        let store = open_with_links(&path);
        for (i, batch) in (0..600)
            .map(|n| click(n, t0 + n * 1000))
            .collect::<Vec<_>>()
            .chunks(40)
            .enumerate()
        {
            store.insert_clicks(batch).unwrap();
            if i == 5 {
                // a flush in the middle, then more batches on top of it
                store.flush_rollups().await.unwrap();
                let raw = raw_totals(&path);
                for (t, v) in rollup_totals(&path) {
                    assert_eq!(v, raw, "{t} after a flush");
                }
            }
        }
    }
    let raw = raw_totals(&path);
    for (t, v) in rollup_totals(&path) {
        assert_eq!(v, raw, "{t}");
    }
    let (rolled, recounted) = link_days(&path);
    assert_eq!(rolled, recounted);
    assert_eq!(marker(&path), None);
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[test]
fn a_due_flush_folds_in_slices_and_a_crash_half_way_is_repaired() {
    let path = temp_db("slices");
    let t0 = 1_750_000_000_000;
    let mut n = 0;
    let mut next = |sub: bool| {
        n += 1;
        let mut k = click(n, t0 + n);
        k.test = false;
        if sub {
            // a distinct sub1: a rollup row of its own
            k.sub1 = Some(format!("distinct-{n}"));
        }
        k
    };
    let store = open_with_links(&path);
    // each distinct sub1 is a row in seven shapes (sub1 alone, with the
    // offer, the affiliate, both, the source, the country, the device):
    // 7,200 of them pass the 50,000 rows that make a flush due at once
    // (the 10 s it is otherwise due after are too long for a test)
    const DISTINCT: i64 = 7_200;
    let many: Vec<Click> = (0..DISTINCT).map(|_| next(true)).collect();
    store.insert_clicks(&many).unwrap();
    // the flush is due: this batch folds one slice of the rows, not all
    store.insert_clicks(&[next(false)]).unwrap();
    let raw = raw_totals(&path);
    let sub = |p: &std::path::Path| {
        rollup_totals(p)
            .into_iter()
            .find(|(t, _)| t == "rollup_sub_q")
            .unwrap()
            .1[0]
    };
    let partial = sub(&path);
    assert!(partial > 0 && partial < raw[0], "{partial} of {}", raw[0]);
    assert!(marker(&path).is_some());
    // later batches fold the rest, without any explicit flush (what they
    // bring themselves waits for the next flush): 256 rows each, less
    // the 28 a batch's click may bring back (one per shape)
    for _ in 0..(7 * DISTINCT / (256 - 28) + 2) {
        store.insert_clicks(&[next(false)]).unwrap();
    }
    let folded: i64 = Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT COUNT(*), SUM(clicks) FROM rollup_sub_q WHERE sub1 LIKE 'distinct-%'",
            [],
            |r| Ok(r.get::<_, i64>(0)? + r.get::<_, i64>(1)?),
        )
        .unwrap();
    assert_eq!(folded, 2 * DISTINCT, "every distinct row, once");
    assert!(sub(&path) > DISTINCT);

    // again, and a crash half way through the slices
    let many: Vec<Click> = (0..DISTINCT).map(|_| next(true)).collect();
    store.insert_clicks(&many).unwrap();
    store.insert_clicks(&[next(false)]).unwrap();
    std::mem::forget(store);
    let raw = raw_totals(&path);
    assert!(sub(&path) < raw[0]);
    drop(SqliteStore::open(&path).unwrap());
    for (t, v) in rollup_totals(&path) {
        assert_eq!(v, raw, "{t} after the repair");
    }
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

/// The rollup tables of `stem`, each with its click total.
fn totals_of(path: &std::path::Path, stem: &str) -> Vec<(String, [i64; 4])> {
    rollup_totals(path)
        .into_iter()
        .filter(|(t, _)| t.starts_with(&format!("{stem}_")))
        .collect()
}

#[tokio::test]
async fn a_report_folds_the_shape_it_reads_and_the_rest_stays_pending() {
    use clickledger_store::{Dimension, ReportQuery};
    let path = temp_db("shape");
    let t0 = 1_750_000_000_000;
    let store = open_with_links(&path);
    let clicks: Vec<Click> = (0..500).map(|n| click(n, t0 + n * 1000)).collect();
    for batch in clicks.chunks(50) {
        store.insert_clicks(batch).unwrap();
    }
    let raw = raw_totals(&path);
    // from raw rows: nothing to fold
    let by_device = ReportQuery {
        dimensions: vec![Dimension::Device],
        raw: true,
        ..ReportQuery::default()
    };
    store.flush_for(&by_device).await.unwrap();
    assert!(rollup_totals(&path).iter().all(|(_, v)| v[0] == 0));
    // by device: the geo shape's rows alone, at every grain
    store
        .flush_for(&ReportQuery {
            raw: false,
            ..by_device.clone()
        })
        .await
        .unwrap();
    for (t, v) in totals_of(&path, "rollup_geo") {
        assert_eq!(v, raw, "{t}");
    }
    for stem in ["rollup_link", "rollup_sub", "rollup_offer"] {
        for (t, v) in totals_of(&path, stem) {
            assert_eq!(v, [0; 4], "{t}");
        }
    }
    assert!(
        marker(&path).is_some(),
        "the other shapes are still pending"
    );
    // the whole flush after it writes the rest, the geo rows not again
    store.flush_rollups().await.unwrap();
    for (t, v) in rollup_totals(&path) {
        assert_eq!(v, raw, "{t} after the whole flush");
    }
    assert_eq!(marker(&path), None);
    // more clicks, the geo shape folded again
    let more: Vec<Click> = (500..800).map(|n| click(n, t0 + n * 1000)).collect();
    store.insert_clicks(&more).unwrap();
    let by_device = ReportQuery {
        raw: false,
        ..by_device
    };
    store.flush_for(&by_device).await.unwrap();
    let raw = raw_totals(&path);
    for (t, v) in totals_of(&path, "rollup_geo") {
        assert_eq!(v, raw, "{t} folded again");
    }
    assert!(totals_of(&path, "rollup_link")[0].1[0] < raw[0]);
    // a crash now: the repair rebuilds every shape, the folded one too,
    // and counts no click twice
    std::mem::forget(store);
    drop(SqliteStore::open(&path).unwrap());
    for (t, v) in rollup_totals(&path) {
        assert_eq!(v, raw, "{t} after the repair");
    }
    assert_eq!(marker(&path), None);
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}
