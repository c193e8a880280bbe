//! A stored value that does not parse is an error naming its table, row and
//! column — never a silent default (a status read as `pending`, a rate as
//! 0), because money and notifications would follow the default.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Writes straight into the test's SQLite file, as a bad migration or a
/// hand edit would.
fn tamper(app: &TestApp, sql: &str) {
    let c = rusqlite::Connection::open(app.dir.0.join("test.db")).unwrap();
    c.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    assert_eq!(c.execute(sql, []).unwrap(), 1, "{sql}");
}

async fn refused(app: &TestApp, path: &str) -> String {
    let (st, v): (StatusCode, Value) = app.get(path).await;
    assert_eq!(st, StatusCode::INTERNAL_SERVER_ERROR, "{path}: {v}");
    assert_eq!(v["error"], "internal_error", "{path}: {v}");
    v["message"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn unparseable_stored_values_are_errors_naming_table_row_and_column() {
    if skip_on_postgres("it writes bad values straight into the SQLite file") {
        return;
    }
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let cid = app.click(&s.link_id).await;
    let registration = [
        ("token", s.token.as_str()),
        ("click_id", &cid),
        ("event", "registration"),
        ("txid", "t1"),
    ];
    let (_, v) = app.postback(&registration).await;
    let conversion = v["conversion_id"].as_str().unwrap().to_string();
    let (_, l) = app
        .get(&format!("/api/v1/affiliates/{}/ledger", s.affiliate_id))
        .await;
    let entry = l["entries"][0]["id"].as_i64().unwrap();

    tamper(
        &app,
        &format!("UPDATE conversions SET status = 'aproved' WHERE id = '{conversion}'"),
    );
    let m = refused(&app, "/api/v1/conversions").await;
    assert_eq!(
        m,
        format!("stored data does not read back: table `conversions`, row `{conversion}`: column `status` holds `aproved`, which is not a status")
    );
    // The same postback again does not take the bad status for pending (a
    // "pending -> approved" update would book the payout twice): it is not
    // acknowledged, so the advertiser retries once the row is mended.
    let (st, v) = app.postback(&registration).await;
    assert_eq!(
        (st, &v["error"]),
        (StatusCode::SERVICE_UNAVAILABLE, &json!("store_unavailable")),
        "{v}"
    );
    tamper(
        &app,
        &format!("UPDATE conversions SET status = 'approved' WHERE id = '{conversion}'"),
    );
    let (st, _) = app.get("/api/v1/conversions").await;
    assert_eq!(st, StatusCode::OK);

    tamper(
        &app,
        &format!("UPDATE ledger SET kind = 'bonus' WHERE id = {entry}"),
    );
    let m = refused(
        &app,
        &format!("/api/v1/affiliates/{}/ledger", s.affiliate_id),
    )
    .await;
    assert!(m.ends_with(&format!("table `ledger`, row `{entry}`: column `kind` holds `bonus`, which is not accrual, reversal, adjustment or payout")), "{m}");

    let (st, v) = app
        .post(
            "/api/v1/fx-rates",
            json!([{"currency": "EUR", "date": "2026-11-25", "rate": "1.08"}]),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    tamper(
        &app,
        "UPDATE fx_rates SET rate = 'one' WHERE currency = 'EUR'",
    );
    let m = refused(&app, "/api/v1/fx-rates").await;
    assert!(m.ends_with("table `fx_rates`, row `EUR/2026-11-25`: column `rate` holds `one`, which is not a decimal above 0"), "{m}");
}
