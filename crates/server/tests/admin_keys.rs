//! Admin keys through the API: created with a name and shown once, listed
//! without the key, revoked for good (never the last one, never the key
//! asking), every change audited; and what CLICKLEDGER_ADMIN_KEY does at
//! start.

mod common;

use clickledger_server::{ensure_admin_key, AdminKeyStart};
use common::{TempDir, TestApp, ADMIN_KEY};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn admin_keys_are_created_listed_and_revoked() {
    let app = TestApp::spawn().await;
    let (st, list) = app.get("/api/v1/admin-keys").await;
    assert_eq!(st, 200, "{list}");
    let first = ids(&list)[0].clone();
    assert_eq!(list["items"][0]["name"], "CLICKLEDGER_ADMIN_KEY");

    // created with a name: the key once, in the answer only
    let created = app
        .create("/api/v1/admin-keys", json!({"name": "laptop"}))
        .await;
    let key = created["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("ck_") && key.len() > 30, "{created}");
    assert_eq!(created["name"], "laptop");
    let hint = created["hint"].as_str().unwrap();
    assert!(
        hint.starts_with("ck_…") && key.ends_with(&hint["ck_…".len()..]),
        "{hint}"
    );
    let id = created["id"].as_str().unwrap().to_string();

    // the new key works at once
    let (st, list) = app
        .call_as(&key, Method::GET, "/api/v1/admin-keys", None)
        .await;
    assert_eq!(st, 200, "{list}");
    assert_eq!(ids(&list), vec![first.clone(), id.clone()]);
    let text = list.to_string();
    assert!(
        !text.contains(&key),
        "a listed key never shows the key: {text}"
    );
    assert!(!text.contains("key_hash"), "{text}");
    assert_eq!(list["items"][1]["revoked_at"], Value::Null);

    // the key asking cannot revoke itself
    let (st, v) = app
        .call_as(
            &key,
            Method::POST,
            &format!("/api/v1/admin-keys/{id}/revoke"),
            None,
        )
        .await;
    assert_eq!(st, 422, "{v}");
    assert_eq!(v["error"], "validation_failed");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("the key making this request"),
        "{v}"
    );

    // another admin key can; the revoked key stops working at once
    let (st, v) = app
        .admin(Method::DELETE, &format!("/api/v1/admin-keys/{id}"), None)
        .await;
    assert_eq!(st, 200, "{v}");
    assert!(v["revoked_at"].is_string(), "{v}");
    let (st, v) = app
        .call_as(&key, Method::GET, "/api/v1/admin-keys", None)
        .await;
    assert_eq!(st, 401, "{v}");
    assert_eq!(v["error"], "unauthorized");
    let (st, v) = app
        .post(&format!("/api/v1/admin-keys/{id}/revoke"), json!({}))
        .await;
    assert_eq!(st, 422, "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("already revoked"),
        "{v}"
    );

    // the last working admin key cannot be revoked (by a key about to go)
    let spare = app
        .create("/api/v1/admin-keys", json!({"name": "spare"}))
        .await;
    let spare_key = spare["key"].as_str().unwrap();
    let (st, v) = app
        .call_as(
            spare_key,
            Method::POST,
            &format!("/api/v1/admin-keys/{first}/revoke"),
            None,
        )
        .await;
    assert_eq!(st, 200, "{v}");
    let spare_id = spare["id"].as_str().unwrap();
    let (st, v) = app
        .call_as(
            spare_key,
            Method::POST,
            &format!("/api/v1/admin-keys/{spare_id}/revoke"),
            None,
        )
        .await;
    assert_eq!(st, 422, "{v}");

    // unknown ids and bad names are refused by name
    let (st, v) = app
        .call_as(
            spare_key,
            Method::POST,
            "/api/v1/admin-keys/key_nope/revoke",
            None,
        )
        .await;
    assert_eq!(
        (st, v["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found")),
        "{v}"
    );
    let (st, v) = app
        .call_as(
            spare_key,
            Method::POST,
            "/api/v1/admin-keys",
            Some(json!({"name": " "})),
        )
        .await;
    assert_eq!(st, 422, "{v}");
    assert!(v["message"].as_str().unwrap().starts_with("name "), "{v}");

    // every change is in the audit log, without the key
    let (st, audit) = app
        .call_as(
            spare_key,
            Method::GET,
            &format!("/api/v1/audit?entity_id={id}"),
            None,
        )
        .await;
    assert_eq!(st, 200, "{audit}");
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"create_admin_key") && actions.contains(&"revoke_admin_key"),
        "{audit}"
    );
    assert!(!audit.to_string().contains(&key), "{audit}");
}

#[tokio::test]
async fn partner_keys_cannot_touch_admin_keys() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    for key in [&s.advertiser_key, &s.affiliate_key] {
        let (st, v) = app
            .call_as(key, Method::GET, "/api/v1/admin-keys", None)
            .await;
        assert_eq!(st, 403, "{v}");
        let (st, v) = app
            .call_as(
                key,
                Method::POST,
                "/api/v1/admin-keys",
                Some(json!({"name": "x"})),
            )
            .await;
        assert_eq!(st, 403, "{v}");
        assert_eq!(v["error"], "forbidden");
    }
}

#[tokio::test]
async fn the_admin_key_variable_adds_a_key_and_keeps_the_others() {
    let mut dir = TempDir::new();
    let store = dir.open_store().await;
    let store = store.as_ref();
    // first start without the variable: a key is generated
    let AdminKeyStart::Generated(generated) = ensure_admin_key(store, None).await.unwrap() else {
        panic!("no key generated")
    };
    assert_eq!(
        ensure_admin_key(store, None).await.unwrap(),
        AdminKeyStart::Known
    );
    // the variable adds its key beside the generated one
    assert_eq!(
        ensure_admin_key(store, Some(ADMIN_KEY)).await.unwrap(),
        AdminKeyStart::Added
    );
    assert_eq!(
        ensure_admin_key(store, Some(ADMIN_KEY)).await.unwrap(),
        AdminKeyStart::Known
    );
    let keys = store.api_keys().await.unwrap();
    assert_eq!(keys.len(), 2);
    let now = clickledger_server::util::now_ms();
    assert!(keys.iter().all(|k| k.valid_at(now)), "{keys:?}");
    let by_hash = |k: &str| {
        let h = clickledger_server::util::sha256_hex(k);
        keys.iter().find(|x| x.key_hash == h).cloned().unwrap()
    };
    assert_eq!(by_hash(&generated).name, "generated at first start");
    // a revoked key named by the variable stays revoked
    let id = by_hash(ADMIN_KEY).id;
    clickledger_server::keys::revoke(store, &id, None)
        .await
        .unwrap();
    assert_eq!(
        ensure_admin_key(store, Some(ADMIN_KEY)).await.unwrap(),
        AdminKeyStart::Revoked
    );
    assert!(store
        .api_keys()
        .await
        .unwrap()
        .iter()
        .any(|k| k.id == id && k.revoked_ms.is_some()));
}
