//! `clickledger check`: the integration checklist, run against a live
//! tracker through its public API. Every step prints ✓ or ✗ with the reason.

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

struct Checklist {
    failed: bool,
}

impl Checklist {
    fn pass(&mut self, step: &str, detail: &str) {
        println!("  ✓ {step}: {detail}");
    }

    fn fail(&mut self, step: &str, detail: &str) {
        self.failed = true;
        println!("  ✗ {step}: {detail}");
    }
}

async fn call(
    client: &Client,
    req: reqwest::RequestBuilder,
) -> Result<(StatusCode, Value), String> {
    let _ = client;
    let resp = req.send().await.map_err(|e| {
        let origin = e.url().map(|u| u.origin().ascii_serialization());
        crate::client::unreachable(origin.as_deref().unwrap_or("the tracker"), &e)
    })?;
    let status = resp.status();
    let text = resp.text().await.map_err(|e| e.to_string())?;
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    ))
}

/// Runs the checklist; true when every step passed.
pub async fn run(base: &str, offer_id: &str, key: &str, event: Option<&str>, amount: &str) -> bool {
    let base = base.trim_end_matches('/');
    let client = Client::new();
    let mut list = Checklist { failed: false };
    println!("Integration check of offer {offer_id} at {base}");

    let offer = match call(
        &client,
        client
            .get(format!("{base}/api/v1/offers/{offer_id}"))
            .bearer_auth(key),
    )
    .await
    {
        Ok((StatusCode::OK, v)) => {
            list.pass(
                "offer",
                &format!(
                    "{} ({})",
                    v["name"].as_str().unwrap_or(""),
                    v["status"].as_str().unwrap_or("")
                ),
            );
            v
        }
        Ok((s, v)) => {
            list.fail(
                "offer",
                &format!("{s}: {}", v["message"].as_str().unwrap_or("")),
            );
            return false;
        }
        Err(e) => {
            list.fail("offer", &e);
            return false;
        }
    };
    let event = event
        .map(str::to_string)
        .or_else(|| offer["events"][0]["name"].as_str().map(str::to_string))
        .unwrap_or_default();

    let click = call(
        &client,
        client
            .post(format!("{base}/api/v1/offers/{offer_id}/test-click"))
            .bearer_auth(key)
            .json(&json!({})),
    )
    .await;
    let (click_id, location) = match click {
        Ok((StatusCode::CREATED, v)) => {
            let id = v["click_id"].as_str().unwrap_or("").to_string();
            list.pass("test click", &format!("click {id} recorded"));
            (id, v["location"].as_str().unwrap_or("").to_string())
        }
        Ok((s, v)) => {
            list.fail(
                "test click",
                &format!("{s}: {}", v["message"].as_str().unwrap_or("")),
            );
            return false;
        }
        Err(e) => {
            list.fail("test click", &e);
            return false;
        }
    };
    if location.contains(&click_id) {
        list.pass("click id in destination", &location);
    } else {
        list.fail(
            "click id in destination",
            &format!("{location} does not carry the click id: add {{click_id}} to the offer's destination_url"),
        );
    }

    let txid = format!("check-{}", &click_id[click_id.len().saturating_sub(8)..]);
    let fields = json!({"click_id": click_id, "event": event, "txid": txid, "amount": amount});
    match call(
        &client,
        client
            .post(format!("{base}/api/v1/offers/{offer_id}/test-postback"))
            .bearer_auth(key)
            .json(&fields),
    )
    .await
    {
        Ok((StatusCode::OK, v)) if v["result"] == "accepted" => list.pass(
            "test postback",
            &format!(
                "accepted as {} (payout {} {})",
                v["conversion_id"].as_str().unwrap_or(""),
                v["payout"].as_str().unwrap_or(""),
                v["currency"].as_str().unwrap_or("")
            ),
        ),
        Ok((s, v)) => list.fail(
            "test postback",
            &format!(
                "{s} {}: {}",
                v["error"].as_str().or(v["result"].as_str()).unwrap_or(""),
                v["message"].as_str().unwrap_or("")
            ),
        ),
        Err(e) => list.fail("test postback", &e),
    }

    match call(
        &client,
        client
            .get(format!(
                "{base}/api/v1/postbacks?offer_id={offer_id}&limit=50"
            ))
            .bearer_auth(key),
    )
    .await
    {
        Ok((StatusCode::OK, v)) => {
            let entry = v["items"].as_array().and_then(|items| {
                items
                    .iter()
                    .find(|e| e["click_id"] == click_id.as_str())
                    .cloned()
            });
            match entry {
                Some(e) if e["result"] == "accepted" => {
                    list.pass("postback log", &format!("entry {} says accepted", e["id"]))
                }
                Some(e) => list.fail(
                    "postback log",
                    &format!(
                        "entry says {} {}: {}",
                        e["result"], e["error"], e["message"]
                    ),
                ),
                None => list.fail("postback log", "no entry for the test postback"),
            }
        }
        Ok((s, _)) => list.fail("postback log", &format!("{s}")),
        Err(e) => list.fail("postback log", &e),
    }

    match call(
        &client,
        client
            .get(format!("{base}/api/v1/conversions?click_id={click_id}"))
            .bearer_auth(key),
    )
    .await
    {
        Ok((StatusCode::OK, v)) => match v["items"].as_array().and_then(|i| i.first()) {
            Some(c) if c["test"] == true => list.pass(
                "conversion",
                &format!(
                    "{} {} {}, flagged test",
                    c["event"], c["status"], c["payout"]
                ),
            ),
            Some(_) => list.fail("conversion", "recorded but not flagged test"),
            None => list.fail("conversion", "no conversion recorded for the test click"),
        },
        Ok((s, _)) => list.fail("conversion", &format!("{s}")),
        Err(e) => list.fail("conversion", &e),
    }

    println!("{}", if list.failed { "FAILED" } else { "PASSED" });
    !list.failed
}
