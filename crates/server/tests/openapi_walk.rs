//! The OpenAPI document describes what each route takes and answers, and
//! every refusal — the handlers' and the HTTP layer's alike — is JSON
//! `{"error": code, "message": sentence}`. The walk reads the document a
//! client would read, then sends every operation malformed input.

mod common;

use common::{TestApp, ADMIN_KEY};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn document(app: &TestApp) -> Value {
    let resp = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.unwrap()
}

fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            ops.push((method.clone(), path.clone(), op.clone()));
        }
    }
    ops
}

fn query_params(op: &Value) -> Vec<String> {
    op["parameters"]
        .as_array()
        .map(|p| {
            p.iter()
                .filter(|p| p["in"] == "query")
                .map(|p| p["name"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Words that only a Rust program would say.
fn assert_user_words(message: &str) {
    for word in [
        "struct ",
        "enum ",
        "Vec<",
        "Option<",
        "::",
        "String",
        "BTreeMap",
        "HashMap",
        "u32",
        "i64",
        "sequence",
        "relative URL without a base",
        "Failed to",
    ] {
        assert!(!message.contains(word), "`{word}` in message: {message}");
    }
}

/// Sends a request; every error answer must be our JSON shape. Returns the
/// status and the body (JSON, or the text for other answers).
async fn send(req: reqwest::RequestBuilder, what: &str) -> (StatusCode, Value) {
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let json_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json"));
    let text = resp.text().await.unwrap();
    assert!(
        !status.is_server_error() || status == StatusCode::SERVICE_UNAVAILABLE,
        "{what}: {status} {text}"
    );
    if status.is_client_error() || status.is_server_error() {
        assert!(json_type, "{what}: {status} is not JSON: {text:?}");
        let body: Value = serde_json::from_str(&text).unwrap();
        assert!(body["error"].is_string(), "{what}: {status} {body}");
        let message = body["message"].as_str();
        assert!(
            message.is_some_and(|m| !m.is_empty()),
            "{what}: {status} {body}"
        );
        assert_user_words(message.unwrap());
        return (status, body);
    }
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn the_document_describes_parameters_bodies_and_answers() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    // every reference resolves
    let text = doc.to_string();
    for piece in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
        let name = &piece[..piece.find('"').unwrap()];
        assert!(schemas.contains_key(name), "dangling $ref {name}");
    }
    let ops = operations(&doc);
    assert!(ops.len() > 50, "{} operations", ops.len());
    for (method, path, op) in &ops {
        let what = format!("{method} {path}");
        let responses = op["responses"].as_object().unwrap();
        assert!(
            responses
                .keys()
                .any(|s| s.starts_with('2') || s.starts_with('3')),
            "{what}: no success answer"
        );
        for (status, r) in responses {
            assert!(
                status.len() == 3 && status.parse::<u16>().is_ok(),
                "{what}: {status}"
            );
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(
                    r["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/Error",
                    "{what} {status}"
                );
            }
        }
        let path_params: Vec<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        for p in &path_params {
            assert!(
                op["parameters"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x["in"] == "path" && x["name"] == *p),
                "{what}: path parameter {p} undocumented"
            );
            assert!(responses.contains_key("404"), "{what}: 404 undocumented");
        }
        if op["security"].is_array() {
            assert!(responses.contains_key("401"), "{what}: 401 undocumented");
        }
        // every change of a record takes a body
        if method == "patch" || (method == "post" && responses.contains_key("201")) {
            let body = &op["requestBody"]["content"]["application/json"]["schema"];
            assert!(body.is_object(), "{what}: no JSON request body");
            assert!(responses.contains_key("413"), "{what}: 413 undocumented");
        }
    }
    let op = |m: &str, p: &str| doc["paths"][p][m].clone();
    for (path, names) in [
        (
            "/api/v1/conversions",
            &[
                "click_id",
                "offer_id",
                "affiliate_id",
                "from",
                "to",
                "limit",
            ][..],
        ),
        (
            "/api/v1/postbacks",
            &["result", "error", "from", "to", "limit"],
        ),
        (
            "/api/v1/deliveries",
            &["affiliate_id", "state", "from", "to"],
        ),
        ("/api/v1/audit", &["entity_id", "key_id", "from", "to"]),
        (
            "/api/v1/reports",
            &["group_by", "from", "to", "tz", "format", "country"],
        ),
        ("/api/v1/affiliates/{id}/ledger", &["at", "format"]),
        ("/api/v1/advertisers/{id}/versions/diff", &["from", "to"]),
        ("/c/{link_id}", &["sub1", "sub5", "source"]),
        ("/postback", &["click_id", "txid", "token"]),
    ] {
        let have = query_params(&op("get", path));
        for n in names {
            assert!(
                have.iter().any(|h| h == n),
                "{path}: no query parameter {n}: {have:?}"
            );
        }
    }
    // creates answer 201 with the record's schema
    let created = &op("post", "/api/v1/advertisers")["responses"]["201"];
    let s = created["content"]["application/json"]["schema"]["$ref"]
        .as_str()
        .unwrap();
    let name = s.rsplit('/').next().unwrap();
    let props = &schemas[name]["properties"];
    for field in ["id", "name", "postback_token", "signing_secret", "api_key"] {
        assert!(props[field].is_object(), "{name} lacks {field}");
    }
    let body =
        &op("post", "/api/v1/offers")["requestBody"]["content"]["application/json"]["schema"];
    let name = body["$ref"].as_str().unwrap().rsplit('/').next().unwrap();
    let required: Vec<&str> = schemas[name]["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for f in [
        "advertiser_id",
        "name",
        "destination_url",
        "currency",
        "events",
    ] {
        assert!(
            required.contains(&f),
            "{name}: {f} not required: {required:?}"
        );
    }
    // the redirect, the text answers
    let click = &op("get", "/c/{link_id}")["responses"];
    assert!(click["302"]["headers"]["Location"].is_object());
    assert!(click["302"]["content"].is_null());
    assert!(click["410"].is_object());
    assert!(op("get", "/metrics")["responses"]["200"]["content"]["text/plain"].is_object());
    let setup = &op("get", "/api/v1/offers/{id}/setup")["responses"]["200"]["content"];
    assert!(setup["text/markdown"].is_object() && setup["text/html"].is_object());
    let report = &op("get", "/api/v1/reports")["responses"]["200"]["content"];
    assert!(report["text/csv"].is_object() && report["application/json"].is_object());
    let postback = &op("post", "/postback")["responses"];
    for s in [
        "200", "400", "401", "403", "404", "409", "413", "422", "429",
    ] {
        assert!(postback[s].is_object(), "postback {s} undocumented");
    }
}

/// Values for the required query parameters, so a request gets past them.
fn required_query(op: &Value) -> String {
    let mut q = Vec::new();
    for p in op["parameters"].as_array().into_iter().flatten() {
        if p["in"] == "query" && p["required"] == true {
            let name = p["name"].as_str().unwrap();
            let value = match name {
                "from" => "1",
                "to" => "2",
                _ => "x",
            };
            q.push(format!("{name}={value}"));
        }
    }
    if q.is_empty() {
        String::new()
    } else {
        format!("?{}", q.join("&"))
    }
}

/// Real ids for the path parameters, so a refusal comes from the malformed
/// part of the request rather than from an unknown id.
fn real_path(path: &str, s: &common::Setup, click_id: &str) -> String {
    let id = if path.starts_with("/api/v1/advertisers/") {
        s.advertiser_id.as_str()
    } else if path.starts_with("/api/v1/offers/") {
        s.offer_id.as_str()
    } else if path.starts_with("/api/v1/affiliates/") {
        s.affiliate_id.as_str()
    } else if path.starts_with("/api/v1/links/") {
        s.link_id.as_str()
    } else {
        "nope"
    };
    path.replace("{id}", id)
        .replace("{click_id}", click_id)
        .replace("{link_id}", &s.link_id)
        .replace("{token}", &s.token)
}

#[tokio::test]
async fn every_route_refuses_malformed_input_as_json() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let click_id = app.click(&s.link_id).await;
    let doc = document(&app).await;
    let big = vec![b' '; 1024 * 1024 + 1];
    for (method, path, op) in operations(&doc) {
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let real = format!("{}{}", real_path(&path, &s, &click_id), required_query(&op));
        let req =
            |m: Method, url: String| app.client.request(m, app.url(&url)).bearer_auth(ADMIN_KEY);
        let what = |case: &str| format!("{method} {path} ({case})");

        // ids that do not exist, and segments that do not decode
        if path.contains('{') {
            let unknown = path
                .split('/')
                .map(|seg| if seg.starts_with('{') { "nope" } else { seg })
                .collect::<Vec<_>>()
                .join("/");
            send(req(m.clone(), unknown), &what("unknown id")).await;
            let undecodable = path
                .split('/')
                .map(|seg| if seg.starts_with('{') { "%FF%FE" } else { seg })
                .collect::<Vec<_>>()
                .join("/");
            let (status, body) = send(req(m.clone(), undecodable), &what("bad id")).await;
            assert!(status.is_client_error(), "{}: {status}", what("bad id"));
            if status == StatusCode::BAD_REQUEST {
                assert!(body["message"].as_str().unwrap().contains("path"), "{body}");
            }
        }

        // a parameter nobody declared: an endpoint that reads parameters
        // refuses it by name (the tracking link and postbacks keep any
        // parameter by design)
        let sep = if real.contains('?') { '&' } else { '?' };
        let (status, body) = send(
            req(m.clone(), format!("{real}{sep}zz_unknown=1")),
            &what("unknown parameter"),
        )
        .await;
        if op["security"].is_array() && method == "get" && !query_params(&op).is_empty() {
            assert_eq!(
                status,
                StatusCode::BAD_REQUEST,
                "{}",
                what("unknown parameter")
            );
            let msg = body["message"].as_str().unwrap();
            assert!(
                msg.starts_with("zz_unknown: no such parameter here"),
                "{}: {msg}",
                what("unknown parameter")
            );
        }

        // no credentials
        if op["security"].is_array() {
            let (status, body) = send(
                app.client.request(m.clone(), app.url(&real)),
                &what("no key"),
            )
            .await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{}", what("no key"));
            assert_eq!(body["error"], "unauthorized");
        }

        // bodies: an array, broken JSON, too large
        if let Some(content) = op["requestBody"]["content"].as_object() {
            if content.contains_key("application/json") {
                for (case, raw) in [("array body", "[1, 2]"), ("broken JSON", "{\"name\": ")] {
                    let (status, _) = send(
                        req(m.clone(), real.clone())
                            .header("content-type", "application/json")
                            .body(raw),
                        &what(case),
                    )
                    .await;
                    assert!(status.is_client_error(), "{}: {status}", what(case));
                }
            }
            let mime = content.keys().next().unwrap().clone();
            let (status, body) = send(
                req(m.clone(), real.clone())
                    .header("content-type", mime)
                    .body(big.clone()),
                &what("oversized body"),
            )
            .await;
            assert_eq!(
                status,
                StatusCode::PAYLOAD_TOO_LARGE,
                "{}",
                what("oversized body")
            );
            assert_eq!(body["error"], "payload_too_large");
        }

        // a method the path does not take
        let wrong = [Method::DELETE, Method::PUT, Method::PATCH, Method::POST]
            .into_iter()
            .find(|m| doc["paths"][&path][m.as_str().to_lowercase()].is_null())
            .expect("a method the path does not take");
        let (status, body) = send(req(wrong.clone(), real.clone()), &what("wrong method")).await;
        assert_eq!(
            status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{}",
            what("wrong method")
        );
        assert_eq!(body["error"], "method_not_allowed");
        assert!(
            body["message"].as_str().unwrap().contains(wrong.as_str()),
            "{body}"
        );
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_json_on_every_kind_of_endpoint() {
    let app = TestApp::spawn().await;
    let big = "x".repeat(1024 * 1024 + 1);
    // a JSON endpoint, a CSV endpoint, a route without a body of its own
    for (path, mime) in [
        ("/api/v1/advertisers", "application/json"),
        ("/api/v1/fx-rates", "text/csv"),
        ("/api/v1/conversions/import", "text/csv"),
    ] {
        let (status, body) = send(
            app.client
                .post(app.url(path))
                .bearer_auth(ADMIN_KEY)
                .header("content-type", mime)
                .body(big.clone()),
            path,
        )
        .await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        assert_eq!(body["error"], "payload_too_large");
        assert!(
            body["message"].as_str().unwrap().contains("1048576 bytes"),
            "{body}"
        );
    }
    // postbacks keep their tighter bound, answered the same way
    let (status, body) = send(
        app.client
            .post(app.url("/postback"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("click_id=x&pad={}", "y".repeat(70_000))),
        "postback",
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["error"], "payload_too_large");
    assert!(
        body["message"].as_str().unwrap().contains("65536 bytes"),
        "{body}"
    );
}

#[tokio::test]
async fn a_wrong_method_is_405_json_naming_the_allowed_ones() {
    let app = TestApp::spawn().await;
    let resp = app
        .client
        .delete(app.url("/api/v1/advertisers"))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    let allow = resp.headers()["allow"].to_str().unwrap().to_string();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "method_not_allowed");
    assert_eq!(
        body["message"],
        format!("DELETE is not allowed on /api/v1/advertisers; allowed: {allow}")
    );
}

#[tokio::test]
async fn query_refusals_name_the_parameter() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let cases = [
        (
            "/api/v1/reports?group_by=day&colour=red".to_string(),
            "colour: no such parameter here; the parameters are ",
        ),
        (
            "/api/v1/reports?limit=ten".to_string(),
            "limit: `ten` is not a whole number",
        ),
        (
            "/api/v1/reports?format=xml".to_string(),
            "format: `xml` is not json or csv",
        ),
        (
            "/api/v1/reports?tz=UTC&tz=CET".to_string(),
            "tz: given twice; give it once",
        ),
        (
            format!("/api/v1/affiliates/{}/ledger?format=pdf", s.affiliate_id),
            "format: `pdf` is not json or csv",
        ),
        (
            format!("/api/v1/offers/{}/setup?format=pdf", s.offer_id),
            "format: `pdf` is not md or html",
        ),
        (
            format!(
                "/api/v1/advertisers/{}/versions/diff?from=1",
                s.advertiser_id
            ),
            "to: required here",
        ),
        (
            format!(
                "/api/v1/advertisers/{}/versions/diff?from=one&to=2",
                s.advertiser_id
            ),
            "from: `one` is not a whole number",
        ),
        // found by schemathesis: a malformed filter value was a 404
        ("/api/v1/conversions?click_id=abc".to_string(), "click_id: "),
    ];
    for (path, expected) in cases {
        let (status, body) =
            send(app.client.get(app.url(&path)).bearer_auth(ADMIN_KEY), &path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["error"], "invalid_field", "{path}");
        let msg = body["message"].as_str().unwrap();
        assert!(msg.starts_with(expected), "{path}: {msg}");
    }
    // a reconciliation without its required range
    let (status, body) = send(
        app.client
            .post(app.url("/api/v1/reconciliation?advertiser_id=x"))
            .bearer_auth(ADMIN_KEY)
            .header("content-type", "text/csv")
            .body("txid,amount\n"),
        "reconciliation",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["message"], "from: required here");
}

#[tokio::test]
async fn json_bodies_are_refused_in_words_naming_the_field() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let post = |path: &'static str, raw: String| {
        app.client
            .post(app.url(path))
            .bearer_auth(ADMIN_KEY)
            .header("content-type", "application/json")
            .body(raw)
    };
    let (status, body) = send(post("/api/v1/advertisers", "[]".into()), "array").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_json");
    assert_eq!(
        body["message"],
        "body: expected a JSON object, got a JSON array"
    );

    // a form where JSON belongs is not mistaken for `null` by its first letter
    let (status, body) = send(post("/api/v1/advertisers", "name=x".into()), "form").await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::BAD_REQUEST, &json!("invalid_json"))
    );
    let msg = body["message"].as_str().unwrap();
    assert!(
        msg.starts_with("body: expected a JSON object, got text that is not JSON"),
        "{msg}"
    );
    let (_, body) = send(post("/api/v1/advertisers", "null".into()), "null").await;
    assert_eq!(
        body["message"],
        "body: expected a JSON object, got JSON null"
    );

    // a number where a decimal string belongs says so in words
    let (status, body) = send(
        post(
            "/api/v1/offers",
            json!({"advertiser_id": s.advertiser_id, "name": "O",
                   "destination_url": "https://a.example/?c={click_id}", "currency": "USD",
                   "events": [{"name": "sale", "payout": {"type": "fixed", "amount": 2}}]})
            .to_string(),
        ),
        "amount as a number",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let msg = body["message"].as_str().unwrap();
    assert!(
        msg.contains("expected a decimal string such as \"2.00\""),
        "{msg}"
    );
    assert!(!msg.contains("Decimal type"), "{msg}");

    let (status, body) = send(
        post(
            "/api/v1/advertisers",
            r#"{"name": "A", "require_signature": "yes"}"#.into(),
        ),
        "wrong type",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let msg = body["message"].as_str().unwrap();
    assert!(
        msg.starts_with(
            "body: require_signature: invalid type: string \"yes\", expected a boolean"
        ),
        "{msg}"
    );

    let offer = |extra: Value| {
        let mut o = json!({
            "advertiser_id": s.advertiser_id, "name": "O",
            "destination_url": "https://a.example/?c={click_id}", "currency": "USD",
            "events": [{"name": "sale", "payout": {"type": "fixed", "amount": "1.00"}}]
        });
        o.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        o.to_string()
    };
    let (status, body) = send(
        post("/api/v1/offers", offer(json!({"caps": [[]]}))),
        "cap as an array",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let msg = body["message"].as_str().unwrap();
    assert!(
        msg.starts_with("body: caps[0]: expected a JSON object, got a JSON array"),
        "{msg}"
    );

    let (status, body) = send(
        post(
            "/api/v1/offers",
            offer(json!({"events": [{"name": "sale", "payout": "fixed"}]})),
        ),
        "rule as an array",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let msg = body["message"].as_str().unwrap();
    assert!(
        msg.starts_with(
            "body: events[0].payout: invalid type: string \"fixed\", expected a JSON object"
        ),
        "{msg}"
    );

    // a relative destination says what is wanted
    for url in ["/landing?c={click_id}", "a.example/landing"] {
        let (status, body) = send(
            post("/api/v1/offers", offer(json!({"destination_url": url}))),
            "relative URL",
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"], "invalid_template");
        assert_eq!(
            body["message"],
            "destination_url: must be an absolute http(s) URL, like https://example.com/landing"
        );
    }
    let (status, body) = send(
        post(
            "/api/v1/affiliates",
            json!({"name": "A", "postback_url": "/pb?c={click_id}"}).to_string(),
        ),
        "relative postback URL",
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("postback_url: must be an absolute http(s) URL"),
        "{body}"
    );

    // the test-postback body is an object of fields too
    let path = format!("/api/v1/offers/{}/test-postback", s.offer_id);
    let (status, body) = send(
        app.client
            .post(app.url(&path))
            .bearer_auth(ADMIN_KEY)
            .body("[\"x\"]"),
        "test-postback array",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["message"],
        "body: expected a JSON object, got a JSON array"
    );
}

#[tokio::test]
async fn path_and_credential_refusals_are_json() {
    let app = TestApp::spawn().await;
    let (status, body) = send(
        app.client
            .get(app.url("/api/v1/advertisers/%FF"))
            .bearer_auth(ADMIN_KEY),
        "bad path",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(
        body["message"],
        "path: `id` is not valid UTF-8 once percent-decoded"
    );
    let (status, body) = send(app.client.get(app.url("/api/v1/offers")), "no key").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "unauthorized");
    let (status, body) = send(app.client.get(app.url("/nowhere")), "no route").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "not_found");
}

/// Writes raw bytes on a fresh connection; answers the status line's code,
/// the head and the JSON body. (A client library refuses to send a URL
/// over 64 KiB, and a malformed request line, at all.)
async fn raw(app: &TestApp, request: &[u8]) -> (String, String, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.base.trim_start_matches("http://").to_string();
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request).await.unwrap();
    let mut answer = String::new();
    tcp.read_to_string(&mut answer).await.unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").expect("a head");
    let status = head.get(9..12).unwrap_or("").to_string();
    (
        status,
        head.to_string(),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn a_url_over_hypers_bound_is_414_json_and_a_broken_request_line_400_json() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    // thousands of parameters: past the 64 KiB of URL that hyper reads
    let query: String = (0..8000).map(|i| format!("p{i}=vvvvvvvv&")).collect();
    let request = format!("GET /c/{}?{query} HTTP/1.1\r\nhost: x\r\n\r\n", s.link_id);
    let (status, head, body) = raw(&app, request.as_bytes()).await;
    assert_eq!(status, "414", "{head}");
    assert!(head.contains("content-type: application/json"), "{head}");
    assert_eq!(body["error"], "uri_too_long");
    assert!(
        body["message"].as_str().unwrap().contains("64 KiB"),
        "{body}"
    );

    let (status, head, body) = raw(&app, b"NOT-HTTP\r\n\r\n").await;
    assert_eq!(status, "400", "{head}");
    assert!(head.contains("content-type: application/json"), "{head}");
    assert_eq!(body["error"], "invalid_request");
    assert!(body["message"].is_string());

    // the connection-level rewrite leaves ordinary answers alone
    let loc = app.click_location(&s.link_id, "sub1=after").await;
    assert!(loc.contains("s1=after"), "{loc}");
}
