//! Limits with clear answers against hostile clients: JSON nested too deep
//! (API bodies and postbacks), and a slowloris (a request head sent a byte
//! at a time, or a connection opened and left) disconnected after the
//! header read timeout while other clients are served.

mod common;

use std::time::{Duration, Instant};

use clickledger_server::Settings;
use common::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn json_nested_too_deep_is_refused_in_words() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let deep = format!(
        "{{\"name\": {}1{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let r = app
        .client
        .post(app.url("/api/v1/advertisers"))
        .bearer_auth(ADMIN_KEY)
        .header("content-type", "application/json")
        .body(deep.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_json", "{v}");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("nested more than 32 levels"),
        "{v}"
    );

    // a postback's JSON body
    let r = app
        .client
        .post(app.url(&format!("/postback/{}", s.token)))
        .header("content-type", "application/json")
        .body(format!(
            "{{\"click_id\": \"x\", \"a\": {}{}}}",
            "[".repeat(5000),
            "]".repeat(5000)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_json", "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("nested more than"),
        "{v}"
    );

    // brackets inside strings are text, not depth
    let (st, v) = app
        .post(
            "/api/v1/advertisers",
            json!({"name": format!("{}\\\"{}", "[".repeat(40), "{".repeat(40))}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
}

async fn closed_within(stream: &mut tokio::net::TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(
            limit.saturating_sub(started.elapsed()),
            stream.read(&mut buf),
        )
        .await
        {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => continue,
            Err(_) => return None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slowloris_is_disconnected_and_others_are_served_meanwhile() {
    let app = TestApp::spawn_with(Settings {
        header_read_timeout: Duration::from_secs(1),
        ..Settings::default()
    })
    .await;
    let s = app.setup().await;
    let addr = app.base.trim_start_matches("http://").to_string();
    // one sends its head a byte every 200 ms, for ever
    let mut drip = tokio::net::TcpStream::connect(&addr).await.unwrap();
    drip.write_all(b"GET /c/").await.unwrap();
    let dripping = tokio::spawn(async move {
        let started = Instant::now();
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if drip.write_all(b"x").await.is_err() {
                return Some(started.elapsed());
            }
            if started.elapsed() > Duration::from_secs(10) {
                return None;
            }
        }
    });
    // one sends half a head and waits
    let half_sent = Instant::now();
    let mut half = tokio::net::TcpStream::connect(&addr).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // one connects and says nothing
    let mut silent = tokio::net::TcpStream::connect(&addr).await.unwrap();
    // meanwhile, visitors are redirected
    for _ in 0..5 {
        app.click(&s.link_id).await;
    }
    // timed from the connection, not from the wait: the clicks above take
    // a while on a busy machine, and the timeout runs from the accept
    let half_closed = closed_within(&mut half, Duration::from_secs(5))
        .await
        .map(|_| half_sent.elapsed());
    let silent_closed = closed_within(&mut silent, Duration::from_secs(5)).await;
    let drip_closed = dripping.await.unwrap();
    assert!(
        half_closed.is_some(),
        "a half-sent head keeps its connection"
    );
    assert!(silent_closed.is_some(), "a silent connection is kept");
    assert!(
        drip_closed.is_some(),
        "a head sent a byte at a time keeps its connection"
    );
    // closed after the timeout, not at once
    assert!(
        half_closed.unwrap() >= Duration::from_millis(900),
        "{half_closed:?}"
    );
    // the server still answers
    let (st, _) = app.get("/healthz").await;
    assert_eq!(st, StatusCode::OK);
}
