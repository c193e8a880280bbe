//! A file written by the first version (clicks carrying offer, affiliate,
//! device, OS and browser on every row) opens with its clicks intact.

use clickledger_domain::ClickId;
use clickledger_store::{Scope, SqliteStore, Store};
use rusqlite::{params, Connection};

const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";

#[tokio::test]
async fn first_version_clicks_survive_the_migration() {
    let dir = std::env::temp_dir().join(format!("clickledger-migrate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("v1.db");
    let id = ClickId::new(1_760_000_000_000, 7);
    {
        let c = Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE links (id TEXT PRIMARY KEY, offer_id TEXT NOT NULL, affiliate_id TEXT NOT NULL, doc TEXT NOT NULL);
             CREATE TABLE clicks (
                id BLOB PRIMARY KEY, ts_ms INTEGER NOT NULL,
                link_id TEXT NOT NULL, offer_id TEXT NOT NULL, affiliate_id TEXT NOT NULL,
                sub1 TEXT, sub2 TEXT, sub3 TEXT, sub4 TEXT, sub5 TEXT, source TEXT, extra TEXT,
                ip TEXT NOT NULL, country TEXT NOT NULL, ua_id INTEGER NOT NULL,
                device TEXT NOT NULL, os TEXT NOT NULL, browser TEXT NOT NULL, referer_host TEXT NOT NULL,
                is_unique INTEGER NOT NULL, is_bot INTEGER NOT NULL,
                suspicious INTEGER NOT NULL, test INTEGER NOT NULL
             ) WITHOUT ROWID;
             CREATE TABLE user_agents (id INTEGER PRIMARY KEY, ua TEXT NOT NULL UNIQUE);
             INSERT INTO links VALUES ('lnk_a', 'off_a', 'aff_a', '{}');",
        )
        .unwrap();
        c.execute("INSERT INTO user_agents (id, ua) VALUES (1, ?1)", [IPHONE])
            .unwrap();
        c.execute(
            "INSERT INTO clicks VALUES (?1, ?2, 'lnk_a', 'off_a', 'aff_a', 'camp', NULL, NULL, NULL, NULL, 'fb',
                 '{\"gclid\":\"g1\"}', '203.0.113.9', 'DE', 1, 'mobile', 'ios', 'safari', 'news.example', 1, 0, 0, 0)",
            params![&id.to_bytes()[..], 1_760_000_000_000i64],
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let k = store
        .click(id, &Scope::All)
        .await
        .unwrap()
        .expect("the click is still there");
    assert_eq!(
        (
            k.link_id.as_str(),
            k.offer_id.as_str(),
            k.affiliate_id.as_str()
        ),
        ("lnk_a", "off_a", "aff_a")
    );
    assert_eq!(
        (k.device.as_str(), k.os.as_str(), k.browser.as_str()),
        ("mobile", "ios", "safari")
    );
    assert_eq!(k.user_agent, IPHONE);
    assert_eq!(k.sub1.as_deref(), Some("camp"));
    assert_eq!(k.source.as_deref(), Some("fb"));
    assert_eq!(k.extra.get("gclid").map(String::as_str), Some("g1"));
    assert_eq!((k.ip.as_str(), k.country.as_str()), ("203.0.113.9", "DE"));
    assert!(k.unique && !k.bot && !k.test);
    assert_eq!(k.params_cut, 0);
    // and the affiliate scope still finds it through its link
    let scoped = store
        .click(id, &Scope::Affiliate("aff_a".into()))
        .await
        .unwrap();
    assert!(scoped.is_some());
    let other = store
        .click(id, &Scope::Affiliate("aff_b".into()))
        .await
        .unwrap();
    assert!(other.is_none());
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Conversions written while once-per-click was a text `once_key` column
/// with its own UNIQUE index keep every row and the rule itself.
#[test]
fn once_key_conversions_survive_the_migration() {
    let dir = std::env::temp_dir().join(format!("clickledger-migrate-once-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("once.db");
    let click = ClickId::new(1_760_000_000_000, 9);
    // `once` as SQL: the old text key, the new 1, or NULL
    // the columns of the legacy table, in its order (later migrations add
    // more at the end)
    let insert = |id: &str, event: &str, once_column: &str, once: &str| {
        format!(
            "INSERT INTO conversions (id, click_id, offer_id, advertiser_id, affiliate_id, link_id, event, txid,
             {once_column}, status, status_received, amount_micros, currency, payout_micros, revenue_micros,
             payout_currency, click_ms, conv_ms, updated_ms, too_fast, test, capped, parent_id, payout_base_micros,
             revenue_base_micros, fx_missing, hold_until_ms, duplicates, source, sub1, sub2, sub3, sub4, sub5,
             country, device, os, browser) VALUES ('{id}', x'{click}', 'off_a', 'adv_a', 'aff_a', 'lnk_a', '{event}', NULL, {once},
             'approved', NULL, NULL, 'USD', 2000000, 3000000, 'USD', 1, 2, 2, 0, 0, 0, NULL, NULL, NULL, 0, NULL, 0,
             NULL, NULL, NULL, NULL, NULL, NULL, 'DE', 'mobile', 'ios', 'safari');",
            click = hex(&click.to_bytes()),
        )
    };
    {
        let c = Connection::open(&path).unwrap();
        c.execute_batch(&format!(
            "CREATE TABLE conversions (
                id TEXT PRIMARY KEY, click_id BLOB NOT NULL, offer_id TEXT NOT NULL,
                advertiser_id TEXT NOT NULL, affiliate_id TEXT NOT NULL, link_id TEXT NOT NULL,
                event TEXT NOT NULL, txid TEXT,
                once_key TEXT UNIQUE,
                status TEXT NOT NULL, status_received TEXT,
                amount_micros INTEGER, currency TEXT NOT NULL,
                payout_micros INTEGER NOT NULL, revenue_micros INTEGER NOT NULL, payout_currency TEXT NOT NULL,
                click_ms INTEGER NOT NULL, conv_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,
                too_fast INTEGER NOT NULL, test INTEGER NOT NULL, capped INTEGER NOT NULL, parent_id TEXT,
                payout_base_micros INTEGER, revenue_base_micros INTEGER, fx_missing INTEGER NOT NULL,
                hold_until_ms INTEGER, duplicates INTEGER NOT NULL,
                source TEXT, sub1 TEXT, sub2 TEXT, sub3 TEXT, sub4 TEXT, sub5 TEXT,
                country TEXT NOT NULL, device TEXT NOT NULL, os TEXT NOT NULL, browser TEXT NOT NULL);
             CREATE INDEX conversions_click ON conversions (click_id, event);
             CREATE INDEX conversions_time ON conversions (conv_ms);
             {}{}{}",
            insert("cv_reg", "registration", "once_key", &format!("'{click}:registration'")),
            insert("cv_dep1", "deposit", "once_key", "NULL"),
            insert("cv_dep2", "deposit", "once_key", "NULL"),
        ))
        .unwrap();
    }
    drop(SqliteStore::open(&path).unwrap());
    let c = Connection::open(&path).unwrap();
    let rows: Vec<(String, Option<i64>)> = c
        .prepare("SELECT id, once FROM conversions ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        rows,
        [
            ("cv_dep1".to_string(), None),
            ("cv_dep2".to_string(), None),
            ("cv_reg".to_string(), Some(1))
        ]
    );
    let indexes: Vec<String> = c
        .prepare("SELECT name FROM pragma_index_list('conversions') ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        indexes.contains(&"conversions_click_once".to_string()),
        "{indexes:?}"
    );
    assert!(
        indexes.contains(&"conversions_time".to_string()),
        "{indexes:?}"
    );
    assert!(
        !indexes.contains(&"conversions_click".to_string()),
        "{indexes:?}"
    );
    // the rule still holds: a second registration on the click is refused,
    // a third deposit is not
    let err = c
        .execute_batch(&insert("cv_reg2", "registration", "once", "1"))
        .unwrap_err();
    assert!(err.to_string().contains("UNIQUE"), "{err}");
    c.execute_batch(&insert("cv_dep3", "deposit", "once", "NULL"))
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Clicks written before over-long parameters were cut (when they were
/// refused) have no `params_cut` column: the file opens, its clicks read
/// as uncut, and new clicks record their cut.
#[tokio::test]
async fn clicks_from_before_the_cut_column_open_uncut() {
    let dir = std::env::temp_dir().join(format!("clickledger-migrate-cut-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("cut.db");
    let old = ClickId::new(1_760_000_000_000, 1);
    let new = ClickId::new(1_760_000_000_001, 2);
    {
        let c = Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE links (id TEXT PRIMARY KEY, offer_id TEXT NOT NULL, affiliate_id TEXT NOT NULL, doc TEXT NOT NULL);
             CREATE TABLE clicks (
                id BLOB PRIMARY KEY, ts_ms INTEGER NOT NULL, link_id TEXT NOT NULL,
                sub1 TEXT, sub2 TEXT, sub3 TEXT, sub4 TEXT, sub5 TEXT, source TEXT, extra TEXT,
                ip TEXT NOT NULL, country TEXT NOT NULL, ua_id INTEGER NOT NULL, referer_host TEXT NOT NULL,
                is_unique INTEGER NOT NULL, is_bot INTEGER NOT NULL,
                suspicious INTEGER NOT NULL, test INTEGER NOT NULL
             ) WITHOUT ROWID;
             CREATE TABLE user_agents (
                id INTEGER PRIMARY KEY, ua TEXT NOT NULL UNIQUE, device TEXT NOT NULL, os TEXT NOT NULL, browser TEXT NOT NULL);
             INSERT INTO links VALUES ('lnk_a', 'off_a', 'aff_a', '{}');",
        )
        .unwrap();
        c.execute(
            "INSERT INTO user_agents (id, ua, device, os, browser) VALUES (1, ?1, 'mobile', 'ios', 'safari')",
            [IPHONE],
        )
        .unwrap();
        c.execute(
            "INSERT INTO clicks VALUES (?1, ?2, 'lnk_a', 'camp', NULL, NULL, NULL, NULL, 'fb', NULL,
                 '203.0.113.9', 'DE', 1, '', 1, 0, 0, 0)",
            params![&old.to_bytes()[..], 1_760_000_000_000i64],
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let k = store.click(old, &Scope::All).await.unwrap().unwrap();
    assert_eq!((k.sub1.as_deref(), k.params_cut), (Some("camp"), 0));
    let mut cut = k.clone();
    cut.id = new;
    cut.ts_ms += 1;
    cut.params_cut = 3;
    store.insert_clicks(&[cut]).unwrap();
    let k = store.click(new, &Scope::All).await.unwrap().unwrap();
    assert_eq!(k.params_cut, 3);
    drop(store);
    // and a second start finds nothing left to do
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        store
            .click(new, &Scope::All)
            .await
            .unwrap()
            .unwrap()
            .params_cut,
        3
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn api_keys_from_before_names_and_revocation_still_open_the_api() {
    let dir = std::env::temp_dir().join(format!("clickledger-keys-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("keys.db");
    {
        let c = Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE api_keys (id TEXT PRIMARY KEY, key_hash TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);
             INSERT INTO api_keys VALUES ('key_old', 'h1',
                '{\"id\":\"key_old\",\"key_hash\":\"h1\",\"role\":\"admin\",\"partner_id\":null,\"created_ms\":1760000000000}');",
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let keys = store.api_keys().await.unwrap();
    assert_eq!(keys.len(), 1);
    let k = &keys[0];
    assert_eq!(
        (k.id.as_str(), k.name.as_str(), k.hint.as_str()),
        ("key_old", "", "")
    );
    assert_eq!(k.revoked_ms, None);
    assert!(k.valid_at(1_770_000_000_000), "an old key keeps working");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The migrations recorded in a file: (version, name, applied_ms).
fn recorded(path: &std::path::Path) -> Vec<(i64, String, i64)> {
    Connection::open(path)
        .unwrap()
        .prepare("SELECT version, name, applied_ms FROM schema_migrations ORDER BY version")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// A fresh file records migrations 1 and 2; opening it again applies nothing
/// again (same row, same time) and keeps what was written; several opening
/// a fresh file at once end with one record; a file from before the
/// numbering is adopted as version 1 with its rows.
#[tokio::test]
async fn migrations_are_numbered_and_applied_once() {
    // every migration file of the SQLite backend, by number
    const VERSIONS: [i64; 22] = [
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
    ];
    let dir = std::env::temp_dir().join(format!("clickledger-migrate-num-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    let fresh = dir.join("fresh.db");
    let store = SqliteStore::open(&fresh).unwrap();
    store.check_writable().await.unwrap();
    drop(store);
    let first = recorded(&fresh);
    let versions = |r: &[(i64, String, i64)]| r.iter().map(|m| m.0).collect::<Vec<_>>();
    assert_eq!(versions(&first), VERSIONS, "{first:?}");
    assert_eq!((first[0].0, first[0].1.as_str()), (1, "init"));
    assert_eq!((first[1].0, first[1].1.as_str()), (2, "destination_health"));
    assert!(
        first[0].2 > 1_700_000_000_000,
        "applied_ms is a time: {first:?}"
    );
    drop(SqliteStore::open(&fresh).unwrap());
    assert_eq!(recorded(&fresh), first, "nothing applied twice");
    let health: String = Connection::open(&fresh)
        .unwrap()
        .query_row("SELECT v FROM meta WHERE k = 'health'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(health, "1");

    // sixteen at once, on ten fresh files: switching a new file to WAL
    // needs it to itself, and SQLite's busy timeout does not wait for that
    for round in 0..10 {
        let raced = dir.join(format!("raced-{round}.db"));
        let opens: Vec<_> = (0..16)
            .map(|_| {
                let path = raced.clone();
                std::thread::spawn(move || SqliteStore::open(path).map(drop))
            })
            .collect();
        for o in opens {
            o.join().unwrap().expect("every concurrent open succeeds");
        }
        let raced = recorded(&raced);
        assert_eq!(versions(&raced), VERSIONS, "{raced:?}");
    }

    let legacy = dir.join("legacy.db");
    Connection::open(&legacy)
        .unwrap()
        .execute_batch(
            "CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
             INSERT INTO meta VALUES ('kept', 'yes');",
        )
        .unwrap();
    drop(SqliteStore::open(&legacy).unwrap());
    assert_eq!(versions(&recorded(&legacy)), VERSIONS);
    let c = Connection::open(&legacy).unwrap();
    let kept: String = c
        .query_row("SELECT v FROM meta WHERE k = 'kept'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kept, "yes");
    let tables: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('clicks', 'conversions', 'users', 'rollup_sub_d')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 4, "0001 created what the file lacked");
    let _ = std::fs::remove_dir_all(&dir);
}
