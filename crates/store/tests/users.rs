//! Dashboard users, sessions and one-time links on a real SQLite file: a
//! file from before users existed adopts the new tables; a link works once
//! and not after its expiry.

use clickledger_store::{
    AuditEntry, LinkKind, OneTimeLink, Role, Session, SqliteStore, Store, User,
};
use rusqlite::Connection;

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("clickledger-users-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn user(id: &str, email: &str) -> User {
    User {
        id: id.into(),
        email: email.into(),
        password_hash: String::new(),
        role: Role::Affiliate,
        partner_id: Some("aff_a".into()),
        created_ms: 1_000,
        disabled: false,
    }
}

fn audit(action: &str, id: &str) -> AuditEntry {
    AuditEntry {
        id: 0,
        ts_ms: 1_000,
        key_id: "key_admin".into(),
        action: action.into(),
        entity_kind: "user".into(),
        entity_id: id.into(),
        before: None,
        after: None,
        template: None,
    }
}

#[tokio::test]
async fn a_file_from_before_users_adopts_them() {
    let dir = temp_dir("adopt");
    let path = dir.join("old.db");
    {
        // what the version before dashboards wrote: no users, no sessions
        let c = Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
             CREATE TABLE api_keys (id TEXT PRIMARY KEY, key_hash TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);
             INSERT INTO meta VALUES ('kept', 'yes');",
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert!(store.users().await.unwrap().is_empty());
    store
        .put_user(
            &user("usr_a", "Ann@Example.com"),
            Some(&audit("create", "usr_a")),
        )
        .await
        .unwrap();
    drop(store);
    // opened again: nothing is recreated over the rows
    let store = SqliteStore::open(&path).unwrap();
    let found = store.user("ann@example.com", true).await.unwrap();
    assert_eq!(
        found.map(|u| u.id),
        Some("usr_a".to_string()),
        "e-mail is case-insensitive"
    );
    let c = Connection::open(&path).unwrap();
    let kept: String = c
        .query_row("SELECT v FROM meta WHERE k = 'kept'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(kept, "yes");
    let audited: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM audit WHERE entity_id = 'usr_a'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audited, 1);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_one_time_link_works_once_and_not_after_expiry() {
    let dir = temp_dir("links");
    let store = SqliteStore::open(dir.join("u.db")).unwrap();
    store
        .put_user(&user("usr_a", "a@example.com"), None)
        .await
        .unwrap();
    store
        .put_session(&Session {
            id_hash: "s1".into(),
            user_id: Some("usr_a".into()),
            key_hash: None,
            csrf: "c".into(),
            created_ms: 1_000,
            last_seen_ms: 1_000,
        })
        .await
        .unwrap();
    let link = |token: &str, expires_ms| OneTimeLink {
        token_hash: token.into(),
        user_id: "usr_a".into(),
        kind: LinkKind::Reset,
        created_ms: 1_000,
        expires_ms,
        used_ms: None,
        created_by: "key_admin".into(),
    };
    store
        .put_one_time_link(&link("t1", 5_000), &audit("reset_created", "usr_a"))
        .await
        .unwrap();
    store
        .put_one_time_link(&link("t2", 5_000), &audit("reset_created", "usr_a"))
        .await
        .unwrap();

    assert!(store.usable_link("t1", 4_999).await.unwrap().is_some());
    let u = store
        .redeem_link("t1", 4_999, "$argon2id$new")
        .await
        .unwrap();
    assert_eq!(
        u.map(|u| u.password_hash),
        Some("$argon2id$new".to_string())
    );
    assert!(
        store.session("s1").await.unwrap().is_none(),
        "a new password ends old sessions"
    );
    // used once: the second use changes nothing
    assert!(store.usable_link("t1", 4_999).await.unwrap().is_none());
    assert!(store
        .redeem_link("t1", 4_999, "$argon2id$other")
        .await
        .unwrap()
        .is_none());
    // expired: refused at its expiry, the password stays
    assert!(store
        .redeem_link("t2", 5_000, "$argon2id$late")
        .await
        .unwrap()
        .is_none());
    assert!(store
        .redeem_link("unknown", 1_000, "$argon2id$x")
        .await
        .unwrap()
        .is_none());
    let now = store.user("usr_a", false).await.unwrap().unwrap();
    assert_eq!(now.password_hash, "$argon2id$new");
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
