//! Every list filters by what it says: rows that differ in the filtered
//! field are created, and exactly the matching ones come back (by id). An
//! unknown parameter or an impossible value is a 400 naming it.

mod common;

use common::{click_id_of, Setup, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The ids of a list answer, in order.
fn ids(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {v}"))
        .iter()
        .map(|x| match &x["id"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

async fn list(app: &TestApp, path: &str) -> Vec<String> {
    let (st, v) = app.get(path).await;
    assert_eq!(st, StatusCode::OK, "{path}: {v}");
    ids(&v)
}

async fn list_as(app: &TestApp, path: &str, key: &str) -> Vec<String> {
    let (st, _, v) = app.anon(path, Some(key)).await;
    assert_eq!(st, StatusCode::OK, "{path}: {v}");
    ids(&v)
}

/// Each query is refused with 400 `invalid_field` (or the code given) and a
/// message that starts with the parameter's name.
async fn refused(app: &TestApp, base: &str, cases: &[(&str, &str)]) {
    for (query, param) in cases {
        let path = format!("{base}?{query}");
        let (st, v) = app.get(&path).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{path}: {v}");
        assert_eq!(v["error"], "invalid_field", "{path}: {v}");
        let m = v["message"].as_str().unwrap();
        assert!(m.starts_with(&format!("{param}: ")), "{path}: {m}");
    }
}

/// Refusals every list shares.
async fn refuses_the_common_mistakes(app: &TestApp, base: &str) {
    refused(
        app,
        base,
        &[
            ("bogus=1", "bogus"),
            ("limit=0", "limit"),
            ("limit=10001", "limit"),
            ("limit=many", "limit"),
            ("from=notatime", "from"),
            ("to=2026-13-45", "to"),
            ("limit=5&limit=6", "limit"),
        ],
    )
    .await;
    // an empty value is the same as none
    let (st, v) = app.get(&format!("{base}?limit=&from=")).await;
    assert_eq!(st, StatusCode::OK, "{base}: {v}");
}

/// A second affiliate with a link on the setup's offer: (affiliate id,
/// its key, link id).
async fn second_affiliate(app: &TestApp, s: &Setup) -> (String, String, String) {
    let (aff, link) = app
        .affiliate_with_link(
            &s.offer_id,
            json!({"name": "Other", "postback_url": "https://aff-two.invalid/pb?c={click_id}"}),
        )
        .await;
    let text = |v: &Value| v.as_str().unwrap().to_string();
    (text(&aff["id"]), text(&aff["api_key"]), text(&link["id"]))
}

async fn click(app: &TestApp, link: &str, query: &str) -> String {
    click_id_of(&app.click_location(link, query).await)
}

async fn convert(app: &TestApp, s: &Setup, fields: &[(&str, &str)]) -> String {
    let mut q = vec![("token", s.token.as_str())];
    q.extend_from_slice(fields);
    let (st, v) = app.postback(&q).await;
    assert_eq!(st, StatusCode::OK, "{fields:?}: {v}");
    v["conversion_id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn conversions_filter_by_every_field() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let (aff2, aff2_key, link2) = second_affiliate(&app, &s).await;
    let c1 = click(&app, &s.link_id, "sub1=a&source=fb").await;
    let c2 = click(&app, &link2, "sub1=b&source=tw").await;
    let reg = convert(
        &app,
        &s,
        &[("click_id", &c1), ("event", "registration"), ("txid", "t1")],
    )
    .await;
    let dep1 = convert(
        &app,
        &s,
        &[
            ("click_id", &c1),
            ("event", "deposit"),
            ("txid", "t2"),
            ("status", "pending"),
        ],
    )
    .await;
    let dep2 = convert(
        &app,
        &s,
        &[("click_id", &c2), ("event", "deposit"), ("txid", "t3")],
    )
    .await;
    let base = "/api/v1/conversions";
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let of = |v: &[&String]| sorted(v.iter().map(|s| s.to_string()).collect());
    assert_eq!(sorted(list(&app, base).await), of(&[&reg, &dep1, &dep2]));
    for (query, want) in [
        ("status=approved".to_string(), of(&[&reg, &dep2])),
        ("status=pending".to_string(), of(&[&dep1])),
        ("status=reversed".to_string(), vec![]),
        ("event=deposit".to_string(), of(&[&dep1, &dep2])),
        ("event=registration".to_string(), of(&[&reg])),
        ("txid=t2".to_string(), of(&[&dep1])),
        (format!("click_id={c2}"), of(&[&dep2])),
        (
            format!("click_id={}", c1.to_uppercase()),
            of(&[&reg, &dep1]),
        ),
        (format!("link_id={link2}"), of(&[&dep2])),
        (
            format!("affiliate_id={}", s.affiliate_id),
            of(&[&reg, &dep1]),
        ),
        (format!("affiliate_id={aff2}"), of(&[&dep2])),
        (
            format!("offer_id={}", s.offer_id),
            of(&[&reg, &dep1, &dep2]),
        ),
        ("offer_id=off_other".to_string(), vec![]),
        (
            format!("advertiser_id={}", s.advertiser_id),
            of(&[&reg, &dep1, &dep2]),
        ),
        ("source=tw".to_string(), of(&[&dep2])),
        ("source=fb&event=deposit".to_string(), of(&[&dep1])),
        (
            "from=2000-01-01&to=2100-01-01".to_string(),
            of(&[&reg, &dep1, &dep2]),
        ),
        ("from=2100-01-01".to_string(), vec![]),
        ("to=2000-01-01".to_string(), vec![]),
        ("status=".to_string(), of(&[&reg, &dep1, &dep2])),
    ] {
        let got = sorted(list(&app, &format!("{base}?{query}")).await);
        assert_eq!(got, want, "{query}");
    }
    assert_eq!(list(&app, &format!("{base}?limit=1")).await.len(), 1);
    // a partner key sees only its own, whatever it asks for
    assert_eq!(
        list_as(&app, &format!("{base}?event=deposit"), &aff2_key).await,
        std::slice::from_ref(&dep2)
    );
    assert_eq!(
        list_as(
            &app,
            &format!("{base}?affiliate_id={}", s.affiliate_id),
            &aff2_key
        )
        .await,
        Vec::<String>::new()
    );
    refuses_the_common_mistakes(&app, base).await;
    refused(
        &app,
        base,
        &[
            ("status=approvedd", "status"),
            ("Status=approved", "Status"),
        ],
    )
    .await;
    let (st, v) = app.get(&format!("{base}?status=approvedd")).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(
        v["message"],
        "status: `approvedd` is not pending, approved, rejected or reversed"
    );
    // a value that cannot be a click id (too short, altered)
    let mut altered = c1.clone().into_bytes();
    altered[10] = if altered[10] == b'a' { b'b' } else { b'a' };
    let altered = String::from_utf8(altered).unwrap();
    refused(
        &app,
        base,
        &[
            ("click_id=abc", "click_id"),
            (&format!("click_id={altered}"), "click_id"),
        ],
    )
    .await;
}

#[tokio::test]
async fn clicks_list_filters_and_is_scoped() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let (aff2, aff2_key, link2) = second_affiliate(&app, &s).await;
    let a = click(&app, &s.link_id, "sub1=a&source=fb").await;
    let b = click(&app, &s.link_id, "sub1=b&sub2=x&source=tw").await;
    let c = click(&app, &link2, "sub1=a&sub5=z").await;
    let base = "/api/v1/clicks";
    // newest first (to the millisecond: ids within one are in no order)
    let newest_first = list(&app, base).await;
    let mut all = vec![a.clone(), b.clone(), c.clone()];
    all.sort();
    all.reverse();
    assert_eq!(newest_first, all);
    for (query, want) in [
        (format!("link_id={}", s.link_id), vec![&a, &b]),
        (format!("link_id={link2}"), vec![&c]),
        (format!("affiliate_id={aff2}"), vec![&c]),
        (format!("offer_id={}", s.offer_id), vec![&a, &b, &c]),
        ("offer_id=off_none".to_string(), vec![]),
        ("source=fb".to_string(), vec![&a]),
        ("sub1=a".to_string(), vec![&a, &c]),
        ("sub1=a&source=fb".to_string(), vec![&a]),
        ("sub2=x".to_string(), vec![&b]),
        ("sub5=z".to_string(), vec![&c]),
        // no GeoIP database here: no click has a country
        ("country=de".to_string(), vec![]),
        (
            "from=2000-01-01&to=2100-01-01".to_string(),
            vec![&a, &b, &c],
        ),
        ("from=2100-01-01".to_string(), vec![]),
        ("to=2000-01-01".to_string(), vec![]),
    ] {
        let mut want: Vec<String> = want.into_iter().cloned().collect();
        want.sort();
        let mut got = list(&app, &format!("{base}?{query}")).await;
        got.sort();
        assert_eq!(got, want, "{query}");
    }
    assert_eq!(list(&app, &format!("{base}?limit=2")).await, all[..2]);
    let (_, v) = app.get(&format!("{base}?sub2=x")).await;
    assert_eq!(v["items"][0]["sub1"], "b");
    // partners see their own clicks only
    assert_eq!(
        list_as(&app, base, &aff2_key).await,
        std::slice::from_ref(&c)
    );
    let mut mine = list_as(&app, base, &s.affiliate_key).await;
    mine.sort();
    // two clicks in one millisecond sort by their random part
    let mut theirs = [a, b];
    theirs.sort();
    assert_eq!(mine, theirs);
    assert_eq!(list_as(&app, base, &s.advertiser_key).await, all);
    refuses_the_common_mistakes(&app, base).await;
    refused(
        &app,
        base,
        &[
            ("country=Germany", "country"),
            ("sub6=x", "sub6"),
            ("click_id=x", "click_id"),
        ],
    )
    .await;
}

#[tokio::test]
async fn postback_log_filters_by_result_error_click_and_txid() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let c1 = click(&app, &s.link_id, "sub1=a").await;
    let c2 = click(&app, &s.link_id, "sub1=b").await;
    convert(
        &app,
        &s,
        &[("click_id", &c1), ("event", "registration"), ("txid", "t1")],
    )
    .await;
    // the same again: a duplicate
    convert(
        &app,
        &s,
        &[("click_id", &c1), ("event", "registration"), ("txid", "t1")],
    )
    .await;
    // under a default alias of txid
    convert(
        &app,
        &s,
        &[("click_id", &c2), ("event", "deposit"), ("tid", "t2")],
    )
    .await;
    let (st, _) = app
        .postback(&[
            ("token", &s.token),
            ("click_id", &c2),
            ("event", "nope"),
            ("txid", "t3"),
        ])
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let (st, _) = app.postback(&[("token", "wrong"), ("click_id", &c1)]).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let base = "/api/v1/postbacks";
    let all = list(&app, base).await;
    assert_eq!(all.len(), 5);
    // newest first: [bad token, unknown event, deposit, duplicate, registration]
    let id = |i: usize| all[i].clone();
    for (query, want) in [
        ("result=accepted".to_string(), vec![id(2), id(4)]),
        ("result=duplicate".to_string(), vec![id(3)]),
        ("result=rejected".to_string(), vec![id(0), id(1)]),
        ("result=updated".to_string(), vec![]),
        ("error=unknown_event".to_string(), vec![id(1)]),
        ("error=invalid_token".to_string(), vec![id(0)]),
        ("error=txid_conflict".to_string(), vec![]),
        (format!("click_id={c2}"), vec![id(1), id(2)]),
        ("txid=t1".to_string(), vec![id(3), id(4)]),
        ("txid=t2".to_string(), vec![id(2)]),
        ("txid=t3".to_string(), vec![id(1)]),
        (
            format!("advertiser_id={}", s.advertiser_id),
            vec![id(1), id(2), id(3), id(4)],
        ),
        (
            format!("offer_id={}", s.offer_id),
            vec![id(1), id(2), id(3), id(4)],
        ),
        ("from=2100-01-01".to_string(), vec![]),
        ("limit=2".to_string(), vec![id(0), id(1)]),
    ] {
        assert_eq!(
            list(&app, &format!("{base}?{query}")).await,
            want,
            "{query}"
        );
    }
    // the advertiser sees its own entries, not the unauthenticated one
    assert_eq!(
        list_as(&app, base, &s.advertiser_key).await,
        [id(1), id(2), id(3), id(4)]
    );
    refuses_the_common_mistakes(&app, base).await;
    refused(
        &app,
        base,
        &[
            ("result=rejectedd", "result"),
            ("error=no_such_code", "error"),
            ("status=x", "status"),
        ],
    )
    .await;
    let (_, v) = app.get(&format!("{base}?error=no_such_code")).await;
    assert!(
        v["message"].as_str().unwrap().contains(" or "),
        "the message lists the codes: {v}"
    );
}

#[tokio::test]
async fn deliveries_filter_by_affiliate_conversion_and_state() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let (aff2, _, link2) = second_affiliate(&app, &s).await;
    let (st, v) = app
        .patch(
            &format!("/api/v1/affiliates/{}", s.affiliate_id),
            json!({"postback_url": "https://aff-one.invalid/pb?c={click_id}"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let c1 = click(&app, &s.link_id, "sub1=a").await;
    let c2 = click(&app, &link2, "sub1=b").await;
    let conv1 = convert(&app, &s, &[("click_id", &c1), ("event", "registration")]).await;
    let conv2 = convert(&app, &s, &[("click_id", &c2), ("event", "registration")]).await;
    let base = "/api/v1/deliveries";
    let (_, v) = app.get(base).await;
    let rows = v["items"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{v}");
    let of = |conv: &str| {
        rows.iter()
            .find(|d| d["conversion_id"] == conv)
            .map(|d| d["id"].as_str().unwrap().to_string())
            .unwrap()
    };
    let (d1, d2) = (of(&conv1), of(&conv2));
    for (query, want) in [
        (format!("affiliate_id={}", s.affiliate_id), vec![&d1]),
        (format!("affiliate_id={aff2}"), vec![&d2]),
        (format!("conversion_id={conv2}"), vec![&d2]),
        ("conversion_id=cv_none".to_string(), vec![]),
        // nothing can be delivered to .invalid hosts
        ("state=delivered".to_string(), vec![]),
        ("from=2100-01-01".to_string(), vec![]),
    ] {
        let want: Vec<String> = want.into_iter().cloned().collect();
        assert_eq!(
            list(&app, &format!("{base}?{query}")).await,
            want,
            "{query}"
        );
    }
    refuses_the_common_mistakes(&app, base).await;
    refused(
        &app,
        base,
        &[("state=lost", "state"), ("status=pending", "status")],
    )
    .await;
}

#[tokio::test]
async fn audit_filters_by_entity_key_and_action() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let (st, _) = app
        .patch(
            &format!("/api/v1/links/{}", s.link_id),
            json!({"status": "paused"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let base = "/api/v1/audit";
    let (_, v) = app.get(base).await;
    let rows = v["items"].as_array().unwrap().clone();
    let where_ = |f: &dyn Fn(&Value) -> bool| -> Vec<String> {
        rows.iter()
            .filter(|r| f(r))
            .map(|r| r["id"].to_string())
            .collect()
    };
    let link_rows = where_(&|r| r["entity_id"] == s.link_id.as_str());
    assert_eq!(link_rows.len(), 2, "{v}");
    let updates = where_(&|r| r["action"] == "update");
    assert_eq!(updates.len(), 1, "{v}");
    let key_id = rows[0]["key_id"].as_str().unwrap().to_string();
    for (query, want) in [
        (format!("entity_id={}", s.link_id), link_rows.clone()),
        ("action=update".to_string(), updates.clone()),
        (format!("action=update&entity_id={}", s.offer_id), vec![]),
        (
            "action=create".to_string(),
            where_(&|r| r["action"] == "create"),
        ),
        (
            format!("key_id={key_id}"),
            where_(&|r| r["key_id"] == key_id.as_str()),
        ),
        ("key_id=key_none".to_string(), vec![]),
        ("from=2100-01-01".to_string(), vec![]),
        ("limit=1".to_string(), vec![rows[0]["id"].to_string()]),
    ] {
        assert_eq!(
            list(&app, &format!("{base}?{query}")).await,
            want,
            "{query}"
        );
    }
    refuses_the_common_mistakes(&app, base).await;
    refused(&app, base, &[("entity=x", "entity")]).await;
}

#[tokio::test]
async fn configuration_lists_filter_by_status_name_and_parent() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let (aff2, _key2, link2) = second_affiliate(&app, &s).await;
    let adv2 = app
        .create("/api/v1/advertisers", json!({"name": "Northwind Media"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let offer2 = app
        .create(
            "/api/v1/offers",
            json!({"advertiser_id": adv2, "name": "Winter Sale", "destination_url": "https://w.example/?c={click_id}",
                   "currency": "EUR", "events": [{"name": "sale", "payout": {"type": "fixed", "amount": "1"}}]}),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    for path in [
        format!("/api/v1/affiliates/{aff2}/pause"),
        format!("/api/v1/offers/{offer2}/pause"),
        format!("/api/v1/links/{link2}/pause"),
    ] {
        let (st, v) = app.post(&path, json!({})).await;
        assert_eq!(st, StatusCode::OK, "{path}: {v}");
    }
    assert_eq!(
        list(&app, "/api/v1/advertisers?q=NORTHWIND").await,
        [adv2.as_str()]
    );
    assert_eq!(
        list(&app, "/api/v1/advertisers?q=zzz").await,
        Vec::<String>::new()
    );
    assert_eq!(
        list(&app, "/api/v1/offers?status=paused").await,
        [offer2.as_str()]
    );
    assert_eq!(
        list(&app, "/api/v1/offers?status=active").await,
        [s.offer_id.as_str()]
    );
    assert_eq!(
        list(&app, &format!("/api/v1/offers?advertiser_id={adv2}")).await,
        [offer2.as_str()]
    );
    assert_eq!(
        list(&app, "/api/v1/offers?q=winter&status=active").await,
        Vec::<String>::new()
    );
    assert_eq!(
        list(&app, "/api/v1/affiliates?status=paused").await,
        [aff2.as_str()]
    );
    assert_eq!(
        list(&app, "/api/v1/links?status=paused").await,
        [link2.as_str()]
    );
    assert_eq!(
        list(
            &app,
            &format!("/api/v1/links?affiliate_id={}", s.affiliate_id)
        )
        .await,
        [s.link_id.as_str()]
    );
    assert_eq!(
        list(&app, &format!("/api/v1/links?offer_id={}", s.offer_id))
            .await
            .len(),
        2
    );
    // a partner's filters narrow what it may see, never widen it
    assert_eq!(
        list_as(
            &app,
            &format!("/api/v1/links?affiliate_id={aff2}"),
            &s.affiliate_key
        )
        .await,
        Vec::<String>::new()
    );
    for base in [
        "/api/v1/advertisers",
        "/api/v1/offers",
        "/api/v1/affiliates",
        "/api/v1/links",
    ] {
        refused(
            &app,
            base,
            &[("bogus=1", "bogus"), ("status=sleeping", "status")],
        )
        .await;
    }
    refused(&app, "/api/v1/links", &[("q=x", "q")]).await;
}
