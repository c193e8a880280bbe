//! Property tests of the HTTP layer's readers of the outside world: JSON
//! bodies and query strings (`api.rs`), CSV text (`money.rs`), and, through
//! a real server on loopback, postbacks of any shape and CSV imports of any
//! text. Nothing may panic or answer a 5xx; every refusal names the field
//! (or the body, or the row) and the reason; what is accepted is the exact
//! value sent.
//!
//! `PROPTEST_CASES` sets the number of cases per property (256 by default);
//! `PROPTEST_CASES=100000` is the long run (docs/TESTING.md). The multipart
//! reader is private: its properties are in `src/ui/multipart.rs`.

mod common;

use std::collections::BTreeMap;

use clickledger_domain::status::Decision;
use clickledger_domain::{ClickId, ErrorCode};
use clickledger_server::admin::NewOffer;
use clickledger_server::api::{humanize, parse_json_object, parse_params};
use clickledger_server::money::{csv_line, parse_csv};
use clickledger_server::postback::decode_click_id;
use clickledger_server::reads::ConversionQuery;
use clickledger_server::Settings;
use common::{Setup, TestApp};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestRunner};
use rust_decimal::Decimal;
use serde_json::{json, Value};

/// Mostly-ASCII text with the characters that break naive readers.
fn partner_text(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        proptest::string::string_regex(&format!("[ -~]{{0,{max}}}")).unwrap(),
        proptest::string::string_regex(&format!(
            "[0-9a-zA-Z .,;\"'\\r\\n\t{{}}%&=+é😀]{{0,{max}}}"
        ))
        .unwrap(),
    ]
}

// ---------- JSON bodies ----------

/// A JSON value of any shape, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        partner_text(12).prop_map(Value::String),
        select(vec![
            "2.00",
            "30",
            "-1",
            "1e3",
            "USD",
            "fixed",
            "revshare",
            "sale",
            "https://a.example/?c={click_id}"
        ])
        .prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(
                select(vec![
                    "type", "amount", "percent", "max", "name", "payout", "x", "limit", "window"
                ])
                .prop_map(String::from),
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const OFFER_FIELDS: [&str; 14] = [
    "advertiser_id",
    "name",
    "destination_url",
    "fallback_url",
    "currency",
    "attribution_window_days",
    "events",
    "min_conversion_seconds",
    "reject_too_fast",
    "hold_hours",
    "caps",
    "cap_timezone",
    "refuse_over_cap",
    "nope",
];

/// A new offer's body, near valid: its fields with values of any shape,
/// written out, cut short, or garbage.
fn offer_body() -> impl Strategy<Value = (Vec<u8>, Vec<String>)> {
    let object = || {
        proptest::collection::btree_map(
            select(OFFER_FIELDS.to_vec()).prop_map(String::from),
            json_value(),
            0..10,
        )
    };
    prop_oneof![
        object().prop_map(|m| {
            let keys = m.keys().cloned().collect();
            (serde_json::to_vec(&m).unwrap(), keys)
        }),
        (object(), any::<prop::sample::Index>()).prop_map(|(m, cut)| {
            let keys = m.keys().cloned().collect();
            let bytes = serde_json::to_vec(&m).unwrap();
            let at = cut.index(bytes.len() + 1);
            (bytes[..at].to_vec(), keys)
        }),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(|b| (b, Vec::new())),
        partner_text(40).prop_map(|s| (s.into_bytes(), Vec::new())),
    ]
}

/// serde's names for Rust types, which no refusal may show.
fn rust_words(m: &str) -> Option<&'static str> {
    [
        "NewOffer",
        "EventDef",
        "Rule",
        "Cap ",
        "struct ",
        "enum ",
        "Decimal type",
        "sequence",
        " map",
        "Option",
        "Vec<",
    ]
    .into_iter()
    .find(|w| m.contains(w))
}

proptest! {
    /// A body is an offer or a refusal that begins `body:` and names the
    /// field it is about (one the body has) in words, not Rust's.
    #[test]
    fn a_json_body_is_read_or_refused_naming_its_field((bytes, keys) in offer_body()) {
        let Err(e) = parse_json_object::<NewOffer>(&bytes) else { return Ok(()) };
        prop_assert_eq!(e.code, ErrorCode::InvalidJson);
        let m = &e.message;
        prop_assert!(m.starts_with("body: "), "{}", m);
        prop_assert!(rust_words(m).is_none(), "{} shows {:?}", m, rust_words(m));
        // `body: events[0].payout: ...` is about a field the body has
        let rest = &m["body: ".len()..];
        if let Some((path, _)) = rest.split_once(": ") {
            let top = path.split(['.', '[']).next().unwrap_or_default();
            let path_like = !path.is_empty()
                && path.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.[]".contains(&b));
            if path_like && !path.starts_with("the ") {
                prop_assert!(keys.iter().any(|k| k == top), "{} names `{}`, not in {:?}", m, top, keys);
            }
        }
    }

    #[test]
    fn humanize_keeps_any_text_readable(s in prop_oneof![
        partner_text(60),
        (select(vec!["struct ", "enum ", "internally tagged enum ", "tuple struct ", "invalid length 2, expected struct "]),
         "[A-Za-z_:]{0,10}", "( with [0-9]{1,2} elements?)?", partner_text(10))
            .prop_map(|(a, b, c, d)| format!("{a}{b}{c}{d}")),
    ]) {
        let out = humanize(&s);
        if !["struct ", "enum ", "map", "sequence", "Decimal", "invalid length"].iter().any(|w| s.contains(w)) {
            prop_assert_eq!(out, s);
        }
    }
}

// ---------- query strings ----------

const CONVERSION_PARAMETERS: [&str; 12] = [
    "status",
    "event",
    "txid",
    "click_id",
    "offer_id",
    "advertiser_id",
    "affiliate_id",
    "link_id",
    "source",
    "from",
    "to",
    "limit",
];

fn query_text() -> impl Strategy<Value = String> {
    let pair = (
        prop_oneof![
            select(CONVERSION_PARAMETERS.to_vec()).prop_map(String::from),
            select(vec!["nope", "Status", "", "limit[]"]).prop_map(String::from),
        ],
        prop_oneof![
            select(vec![
                "approved",
                "pending,rejected",
                "x",
                "",
                "2026-11-25",
                "1764000000000",
                "0",
                "10001",
                "-1",
                "abc",
                "2026-02-31"
            ])
            .prop_map(String::from),
            partner_text(10),
        ],
    );
    prop_oneof![
        proptest::collection::vec(pair, 0..5).prop_map(|pairs| {
            let mut s = form_urlencoded::Serializer::new(String::new());
            for (k, v) in pairs {
                s.append_pair(&k, &v);
            }
            s.finish()
        }),
        partner_text(40),
    ]
}

proptest! {
    /// A query is read, or refused with a sentence that begins with the
    /// parameter it is about: one the query has, or one the endpoint takes.
    #[test]
    fn a_query_is_read_or_refused_naming_its_parameter(q in query_text()) {
        let Err(e) = parse_params::<ConversionQuery>(&q) else { return Ok(()) };
        prop_assert_eq!(e.code, ErrorCode::InvalidField);
        let sent: Vec<String> = form_urlencoded::parse(q.as_bytes()).map(|(k, _)| k.into_owned()).collect();
        let named = sent.iter().any(|k| e.message.starts_with(&format!("{k}: ")))
            || CONVERSION_PARAMETERS.iter().any(|k| e.message.starts_with(&format!("{k}: ")))
            || e.message.starts_with("the query string does not parse");
        prop_assert!(named, "{:?} for {:?}", e.message, q);
    }
}

// ---------- CSV ----------

fn csv_field() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z0-9 ._-]{0,8}", "[a-z,\"\r\n ]{0,8}", partner_text(10),]
}

proptest! {
    /// What `csv_line` writes, `parse_csv` reads back field for field (a
    /// line of one blank field is a blank line, skipped by design).
    #[test]
    fn csv_lines_round_trip(rows in proptest::collection::vec(proptest::collection::vec(csv_field(), 1..6), 0..6), crlf in any::<bool>()) {
        let rows: Vec<Vec<String>> = rows
            .into_iter()
            .filter(|r| !(r.len() == 1 && r[0].trim().is_empty()))
            .collect();
        let end = if crlf { "\r\n" } else { "\n" };
        let text: String = rows.iter().map(|r| format!("{}{end}", csv_line(r))).collect();
        prop_assert_eq!(parse_csv(&text), rows);
    }

    #[test]
    fn any_text_splits_into_rows(text in partner_text(200)) {
        let rows = parse_csv(&text);
        // every row but a blank line is kept, and no field holds a line end
        // outside quotes
        prop_assert!(rows.iter().all(|r| !r.is_empty()));
        if !text.contains('"') {
            prop_assert!(rows.iter().flatten().all(|f| !f.contains('\n') && !f.contains('\r')));
            prop_assert!(rows.iter().flatten().all(|f| !f.contains(',')));
        }
    }

    /// A click id as received: decoded, or refused naming `click_id`, with
    /// the code the postback contract gives it.
    #[test]
    fn a_received_click_id_is_decoded_or_refused_by_name(raw in prop_oneof![
        partner_text(40),
        any::<u128>().prop_map(|v| ClickId::from_u128(v).encode()),
    ]) {
        match decode_click_id(&raw) {
            Ok(id) => prop_assert_eq!(id.encode(), raw.trim().to_ascii_lowercase().replace(['i', 'l'], "1").replace('o', "0")),
            Err(r) => {
                prop_assert!(r.message.starts_with(&format!("click_id `{raw}`: ")), "{}", r.message);
                let expected = if raw.trim().is_empty() { ErrorCode::MissingClickId } else { ErrorCode::CorruptedClickId };
                prop_assert_eq!(r.code, expected);
            }
        }
    }
}

// ---------- through the server ----------

/// The words a refusal with this code must say: the field it is about.
fn words_for(code: &str) -> &'static [&'static str] {
    match code {
        "invalid_amount" | "missing_amount" => &["amount"],
        "invalid_payout" | "missing_payout" => &["payout"],
        "invalid_currency" | "currency_mismatch" => &["currency"],
        "invalid_status" | "invalid_transition" => &["status"],
        "missing_click_id" | "corrupted_click_id" | "wrong_advertiser" | "click_expired" => {
            &["click_id"]
        }
        "unknown_click_id" => &["click_id", "click's offer"],
        "invalid_json" | "payload_too_large" => &["body"],
        "invalid_token" => &["token", "adv"],
        "missing_txid" | "txid_conflict" => &["txid"],
        "unknown_event" => &["event"],
        "stale_timestamp" => &["ts"],
        "invalid_signature" | "signature_required" => &["sig", "signature"],
        "too_many_params" => &["field"],
        _ => &[""],
    }
}

/// A server with the usual setup, a few clicks, and rate limits out of the
/// way (the properties send hundreds of requests a second).
struct Tracker {
    app: TestApp,
    setup: Setup,
    clicks: Vec<String>,
}

impl Tracker {
    async fn start() -> Tracker {
        let fast = clickledger_domain::rate::Limit {
            per_second: 1e6,
            burst: 1e6,
        };
        let app = TestApp::spawn_with(Settings {
            postback_rate_ip: fast,
            postback_rate_advertiser: fast,
            click_rate_ip: fast,
            ..Settings::default()
        })
        .await;
        let setup = app.setup().await;
        let mut clicks = Vec::new();
        for _ in 0..4 {
            clicks.push(app.click(&setup.link_id).await);
        }
        Tracker { app, setup, clicks }
    }

    /// Runs `test` on `PROPTEST_CASES` values of `strategy` (proptest's
    /// runner is synchronous: it waits on the test's runtime for each
    /// case); panics with the smallest failing value.
    fn check<S: Strategy>(
        &self,
        strategy: S,
        test: impl Fn(&Tracker, S::Value) -> Result<(), TestCaseError>,
    ) where
        S::Value: std::fmt::Debug,
    {
        let mut runner = TestRunner::new(Config::default());
        let result = tokio::task::block_in_place(|| runner.run(&strategy, |v| test(self, v)));
        if let Err(e) = result {
            panic!("{e}");
        }
    }
}

impl Tracker {
    /// A postback with a JSON body as written: status and answer.
    async fn post_json(&self, body: String) -> (u16, Value) {
        let resp = self
            .app
            .client
            .post(
                self.app
                    .url(&format!("/postback?token={}", self.setup.token)),
            )
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }

    /// A CSV upload as the advertiser: status and the answer's text.
    async fn import(&self, csv: String) -> (u16, String) {
        let resp = self
            .app
            .client
            .post(self.app.url("/api/v1/conversions/import"))
            .bearer_auth(&self.setup.advertiser_key)
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }
}

/// Waits for `f` on the test's runtime, inside [`Tracker::check`].
fn wait<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Handle::current().block_on(f)
}

/// A field's value as partners send it: issued and made-up click ids,
/// words, amounts, codes, long values and noise (CSV's quotes and line ends
/// among them).
fn field_value(clicks: Vec<String>) -> impl Strategy<Value = String> {
    prop_oneof![
        select(clicks),
        any::<u128>().prop_map(|v| ClickId::from_u128(v).encode()),
        select(vec![
            "sale",
            "lead",
            "deposit",
            "registration",
            "nope",
            "approved",
            "REJECTED",
            "1",
            "",
            "maybe",
            "USD",
            "eur",
            "XXX",
            "US",
            "1e3",
            "-5",
            "NaN",
        ])
        .prop_map(String::from),
        "[ ]?[0-9]{1,14}(\\.[0-9]{1,8})?",
        (select(vec!["t", "é"]), 100usize..200).prop_map(|(c, n)| c.repeat(n)),
        "[a-z0-9 ,\"\r\n;\t|{}%-]{0,12}",
        partner_text(20),
    ]
}

/// How a postback travels.
#[derive(Clone, Debug)]
enum Transport {
    Query,
    Form,
    /// A JSON object; each value written as is (numbers, `true`, arrays).
    Json,
    /// Any bytes with any content type.
    Raw(&'static str, Vec<u8>),
}

/// A postback: its pairs (values are JSON text for `Json`) and transport.
#[derive(Clone, Debug)]
struct Postback {
    pairs: Vec<(String, String)>,
    transport: Transport,
    real_token: bool,
}

fn postback_strategy(clicks: Vec<String>) -> impl Strategy<Value = Postback> {
    // a well-formed postback to start from (each field may be left out) ...
    let base = (
        proptest::option::weighted(0.9, select(clicks.clone())),
        proptest::option::weighted(
            0.9,
            select(vec!["deposit", "deposit", "sale", "lead", "registration"]),
        ),
        proptest::option::weighted(0.9, "t-[a-z0-9]{1,10}"),
        proptest::option::weighted(0.8, "[0-9]{1,5}(\\.[0-9]{1,2})?"),
        proptest::option::weighted(
            0.3,
            select(vec!["approved", "pending", "rejected", "reversed"]),
        ),
    )
        .prop_map(|(click, event, txid, amount, status)| {
            [
                ("click_id", click),
                ("event", event.map(String::from)),
                ("txid", txid),
                ("amount", amount),
                ("status", status.map(String::from)),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_string(), v.to_string())))
            .collect::<Vec<_>>()
        });
    // ... and any fields besides, under any names
    let key = prop_oneof![
        8 => select(vec![
            "click_id", "clickid", "cid", "event", "goal", "txid", "tid", "amount", "sum", "payout",
            "currency", "status", "original_txid", "x", "Click_ID",
        ]),
        1 => select(vec!["ts", "sig", "adv"]),
    ]
    .prop_map(String::from);
    let value = field_value(clicks);
    let transport = prop_oneof![
        3 => Just(Transport::Query),
        2 => Just(Transport::Form),
        3 => Just(Transport::Json),
        1 => (
            select(vec!["application/json", "application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x", ""]),
            proptest::collection::vec(any::<u8>(), 0..80),
        )
            .prop_map(|(ct, b)| Transport::Raw(ct, b)),
    ];
    (
        (base, proptest::collection::vec((key, value), 0..6)).prop_map(|(mut base, extra)| {
            base.extend(extra);
            base
        }),
        transport,
        prop_oneof![9 => Just(true), 1 => Just(false)],
        proptest::collection::vec(
            prop_oneof![
                Just(None),
                select(vec![
                    "12.5",
                    "1e3",
                    "123456789012.345678",
                    "true",
                    "null",
                    "[1]",
                    "{\"a\":1}",
                    "-0",
                    "0.1234567"
                ])
                .prop_map(Some),
            ],
            10,
        ),
    )
        .prop_map(|(pairs, transport, real_token, raw)| {
            let pairs = match transport {
                // a JSON value in place of some strings
                Transport::Json => pairs
                    .into_iter()
                    .zip(raw)
                    .map(|((k, v), r)| (k, r.map_or_else(|| json!(v).to_string(), String::from)))
                    .collect(),
                _ => pairs,
            };
            Postback {
                pairs,
                transport,
                real_token,
            }
        })
}

/// Sends a postback: status and the JSON body.
async fn send(app: &TestApp, token: &str, p: &Postback) -> (u16, Value) {
    let client = &app.client;
    let url = app.url(&format!(
        "/postback?token={}",
        if p.real_token { token } else { "nope" }
    ));
    let encoded = || {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &p.pairs {
            s.append_pair(k, v);
        }
        s.finish()
    };
    let req = match &p.transport {
        Transport::Query => client.get(format!("{url}&{}", encoded())),
        Transport::Form => client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(encoded()),
        Transport::Json => {
            let fields: Vec<String> = p
                .pairs
                .iter()
                .map(|(k, v)| format!("{}: {v}", json!(k)))
                .collect();
            client
                .post(&url)
                .header("content-type", "application/json")
                .body(format!("{{{}}}", fields.join(", ")))
        }
        Transport::Raw(ct, bytes) => {
            let req = client.post(&url).body(bytes.clone());
            if ct.is_empty() {
                req
            } else {
                req.header("content-type", *ct)
            }
        }
    };
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

/// Postbacks of any shape, over any transport: a JSON answer, never a 5xx;
/// a refusal's message names its field; what is accepted is recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postbacks_of_any_shape_are_answered_naming_the_field() {
    let t = Tracker::start().await;
    t.check(postback_strategy(t.clicks.clone()), |t, p| {
        let (status, body) = wait(send(&t.app, &t.setup.token, &p));
        prop_assert!(status < 500, "{} {} for {:?}", status, body, p);
        prop_assert!(body.is_object(), "{} for {:?}", body, p);
        let message = body["message"].as_str().unwrap_or_default();
        prop_assert!(!message.is_empty(), "{}", body);
        if (200..300).contains(&status) {
            let result = body["result"].as_str().unwrap_or_default();
            prop_assert!(Decision::RESULTS.contains(&result), "{}", body);
        } else {
            let code = body["error"].as_str().unwrap_or_default();
            prop_assert!(!code.is_empty(), "{}", body);
            let words = words_for(code);
            prop_assert!(
                words.iter().any(|w| message.contains(w)),
                "{} does not name {:?}",
                body,
                words
            );
            if code == "invalid_field" {
                // `<field> is 300 bytes long`, `<name>: nested objects ...`
                let names: Vec<&str> = p.pairs.iter().map(|(k, _)| k.as_str()).collect();
                prop_assert!(
                    names.iter().any(|k| message.starts_with(&format!("{k}:"))
                        || message.starts_with(&format!("{k} ")))
                        || clickledger_domain::postback::Field::ALL
                            .iter()
                            .any(|f| message.starts_with(f.name())),
                    "{} for {:?}",
                    body,
                    p
                );
            }
        }
        Ok(())
    });
}

/// An amount sent as a JSON number is recorded as written, digit for
/// digit, or refused as an amount: never read through a float.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_amount_sent_as_a_json_number_is_recorded_as_written() {
    let t = Tracker::start().await;
    let number = prop_oneof![
        (0u64..1_000_000_000_000, "[0-9]{0,6}").prop_map(|(u, f)| if f.is_empty() {
            u.to_string()
        } else {
            format!("{u}.{f}")
        }),
        // as JSON writes numbers: no leading zeros
        "(0|[1-9][0-9]{0,2})(\\.[0-9]{1,3})?[eE][+-]?[0-9]{1,2}",
        "-?(0|[1-9][0-9]{0,19})(\\.[0-9]{1,20})?",
    ];
    let seq = std::sync::atomic::AtomicU64::new(0);
    t.check((number, select(t.clicks.clone())), |t, (number, click)| {
        let txid = format!("jn-{}", seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        let body = format!(
            r#"{{"click_id": "{click}", "event": "deposit", "txid": "{txid}", "amount": {number}, "currency": "USD"}}"#
        );
        let (status, answer, recorded) = wait(async {
            let (status, answer) = t.post_json(body.clone()).await;
            let (_, list) = t.app.get(&format!("/api/v1/conversions?txid={txid}")).await;
            (status, answer, list["items"][0]["amount"].clone())
        });
        let written = Decimal::from_str_exact(&number).ok();
        match status {
            200 => {
                let recorded: Decimal = recorded.as_str().unwrap().parse().unwrap();
                prop_assert_eq!(Some(recorded), written.map(|d| d.normalize()), "{} recorded {}", number, recorded);
            }
            _ => {
                // not a plain decimal within bounds, or over the field's
                // 40 bytes (`invalid_field`: "amount is 41 bytes long")
                let code = answer["error"].as_str().unwrap_or_default();
                prop_assert!(["invalid_amount", "invalid_field"].contains(&code), "{} {}", number, answer);
                prop_assert!(answer["message"].as_str().unwrap().starts_with("amount"), "{}", answer);
            }
        }
        Ok(())
    });
}

/// A CSV upload of any text: per-row answers numbered like the rows, each
/// refusal naming its field, or a refusal of the whole body naming why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csv_import_of_any_text_answers_every_row() {
    let t = Tracker::start().await;
    let header_name = select(vec![
        "click_id",
        "clickid",
        "cid",
        "event",
        "txid",
        "tid",
        "amount",
        "sum",
        "currency",
        "status",
        "payout",
        "original_txid",
        "x",
        "Click_ID",
        " click_id ",
    ]);
    let cell = field_value(t.clicks.clone());
    // well-formed rows, and rows of anything
    let good_row = (
        select(t.clicks.clone()),
        select(vec!["deposit", "sale", "lead"]),
        "t-[a-z0-9]{1,10}",
        "[0-9]{1,5}(\\.[0-9]{1,2})?",
    )
        .prop_map(|(c, e, t, a)| vec![c, e.to_string(), t, a]);
    let row = prop_oneof![
        2 => good_row,
        1 => proptest::collection::vec(cell, 0..8),
    ];
    let header = prop_oneof![
        2 => Just(vec!["click_id", "event", "txid", "amount"]),
        1 => proptest::collection::vec(header_name, 1..7),
    ];
    let text = prop_oneof![
        3 => (
            header,
            proptest::collection::vec(row, 0..6),
            select(vec![",", ",", ",", ",", ",", ";", "\t", "|"]),
            select(vec!["\n", "\r\n"]),
            prop_oneof![4 => Just(""), 1 => Just("\u{feff}")],
            any::<bool>(),
        )
            .prop_map(|(header, rows, sep, end, bom, quote)| {
                let line = |cells: Vec<String>| {
                    if quote && sep == "," {
                        csv_line(&cells)
                    } else {
                        cells.join(sep)
                    }
                };
                let mut text = format!("{bom}{}{end}", line(header.into_iter().map(String::from).collect()));
                for r in rows {
                    text.push_str(&line(r));
                    text.push_str(end);
                }
                text
            }),
        1 => partner_text(200),
    ];
    t.check(text, |t, text| {
        let (status, body) = wait(t.import(text.clone()));
        prop_assert!(status < 500, "{} {} for {:?}", status, body, text);
        let read = text.strip_prefix('\u{feff}').unwrap_or(&text);
        if status == 200 {
            let rows = parse_csv(&body);
            prop_assert_eq!(
                rows[0].join(","),
                "row,click_id,txid,result,error,message,conversion_id,hint"
            );
            let data_rows = parse_csv(read).len().saturating_sub(1);
            prop_assert_eq!(rows.len() - 1, data_rows, "{} for {:?}", body, text);
            for (i, r) in rows[1..].iter().enumerate() {
                prop_assert_eq!(r.len(), 8, "{:?}", r);
                prop_assert_eq!(&r[0], &(i + 1).to_string());
                prop_assert!(Decision::RESULTS.contains(&r[3].as_str()), "{:?}", r);
                if r[3] == "rejected" {
                    let words = words_for(&r[4]);
                    prop_assert!(
                        !r[4].is_empty() && words.iter().any(|w| r[5].contains(w)),
                        "{:?}",
                        r
                    );
                }
            }
        } else {
            let v: Value = serde_json::from_str(&body).unwrap();
            let m = v["message"].as_str().unwrap_or_default();
            prop_assert_eq!(status, 422, "{}", body);
            prop_assert!(m.starts_with("body: "), "{}", body);
            if m.contains("no click_id column") {
                // then no column is named click_id or one of its aliases
                let header = read
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or_default();
                let names: Vec<String> = parse_csv(header)
                    .into_iter()
                    .next()
                    .unwrap_or_default()
                    .iter()
                    .map(|h| h.trim().to_ascii_lowercase())
                    .collect();
                let ids: BTreeMap<&str, ()> = [
                    "click_id",
                    "clickid",
                    "cid",
                    "subid",
                    "cnv_id",
                    "hit",
                    "aff_click_id",
                ]
                .into_iter()
                .map(|n| (n, ()))
                .collect();
                prop_assert!(
                    !names.iter().any(|n| ids.contains_key(n.as_str())),
                    "{} for {:?}",
                    m,
                    text
                );
            }
        }
        Ok(())
    });
}

/// Each input a property above shrank a failure to, kept as it was found.
#[tokio::test]
async fn inputs_the_properties_found() {
    let t = Tracker::start().await;
    // a JSON number was read through a float: 68719476736.09272 was
    // recorded as 68719476736.09271
    let body = format!(
        r#"{{"click_id": "{}", "event": "deposit", "txid": "f-1", "amount": 68719476736.09272}}"#,
        t.clicks[0]
    );
    let (_, answer) = t.post_json(body).await;
    assert_eq!(answer["result"], "accepted", "{answer}");
    let (_, list) = t.app.get("/api/v1/conversions?txid=f-1").await;
    assert_eq!(list["items"][0]["amount"], "68719476736.09272", "{list}");
    // and 1e3 was 1000: an exponent is no plain decimal
    let body = format!(
        r#"{{"click_id": "{}", "event": "deposit", "txid": "f-2", "amount": 1e3}}"#,
        t.clicks[0]
    );
    let (_, answer) = t.post_json(body).await;
    assert_eq!(answer["error"], "invalid_amount", "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .starts_with("amount: `1e3` is not a decimal number"),
        "{answer}"
    );
    // a CSV that begins with a byte-order mark (as spreadsheets save it)
    // had no click_id column, though its header showed one
    let csv = format!(
        "\u{feff}click_id,event,txid,amount\r\n{},deposit,f-3,5\r\n",
        t.clicks[1]
    );
    let (status, answer) = t.import(csv).await;
    assert_eq!(status, 200, "{answer}");
    let rows = parse_csv(&answer);
    assert_eq!(
        (rows.len(), rows[1][3].as_str()),
        (2, "accepted"),
        "{rows:?}"
    );
}
