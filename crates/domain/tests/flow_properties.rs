//! Property tests of a link's traffic flow (`clickledger_domain::flow`):
//! the weighted split keeps to its weights, renormalises over the available
//! targets and is sticky; the parser never panics on any JSON and its output
//! reads back as itself; a rule takes exactly the visitors its conditions
//! match (the packed prefilter never turns one away).
//!
//! `PROPTEST_CASES` sets the number of cases per property (256 by default);
//! see docs/TESTING.md for the long run.

use clickledger_domain::codes::ErrorCode;
use clickledger_domain::flow::{sticky_draw, Choice, Flow, Visitor};
use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use serde_json::{json, Value};

const DRAWS: u64 = 100_000;

/// The `i`th of `DRAWS` draws: evenly spread, or hashed (as a caller's
/// `sticky_draw` of a cookie would be).
fn draw(i: u64, hashed: bool) -> u64 {
    match hashed {
        true => sticky_draw(&i.to_le_bytes()),
        false => i * (u64::MAX / DRAWS),
    }
}

/// A flow whose default splits over offers `o0`, `o1`, ... with `weights`.
fn split_flow(weights: &[u32]) -> Flow {
    let to: Vec<Value> = weights
        .iter()
        .enumerate()
        .map(|(i, w)| json!({"offer_id": format!("o{i}"), "weight": w}))
        .collect();
    Flow::from_json(&json!({ "default": to })).unwrap()
}

/// How many of the draws land on each target, `available` deciding.
fn counts(f: &Flow, n: usize, hashed: bool, available: impl Fn(usize) -> bool) -> Vec<u64> {
    let mut counts = vec![0u64; n];
    let v = Visitor::default();
    for i in 0..DRAWS {
        match f.choose(&v, draw(i, hashed), |t| {
            available(t.key["offer:o".len()..].parse().unwrap())
        }) {
            Choice::Target { rule: None, target } => {
                counts[target.key["offer:o".len()..].parse::<usize>().unwrap()] += 1
            }
            other => panic!("{other:?}"),
        }
    }
    counts
}

fn assert_shares(counts: &[u64], expected: impl Fn(usize) -> f64) {
    for (i, c) in counts.iter().enumerate() {
        let share = *c as f64 / DRAWS as f64;
        let want = expected(i);
        assert!(
            (share - want).abs() <= 0.01,
            "target {i}: share {share:.4}, weight share {want:.4}; counts {counts:?}"
        );
    }
}

proptest! {
    #[test]
    fn shares_follow_the_weights(
        weights in prop::collection::vec(1u32..=1000, 1..=8),
        hashed in any::<bool>(),
    ) {
        let f = split_flow(&weights);
        let sum: u32 = weights.iter().sum();
        let c = counts(&f, weights.len(), hashed, |_| true);
        assert_shares(&c, |i| f64::from(weights[i]) / f64::from(sum));
    }

    #[test]
    fn an_unavailable_target_is_never_chosen_and_the_rest_renormalise(
        (weights, off) in prop::collection::vec(1u32..=1000, 2..=8)
            .prop_flat_map(|w| { let n = w.len(); (Just(w), 0..n) }),
        hashed in any::<bool>(),
    ) {
        let f = split_flow(&weights);
        let rest: u32 = weights.iter().sum::<u32>() - weights[off];
        let c = counts(&f, weights.len(), hashed, |i| i != off);
        prop_assert_eq!(c[off], 0);
        assert_shares(&c, |i| match i == off {
            true => 0.0,
            false => f64::from(weights[i]) / f64::from(rest),
        });
    }

    #[test]
    fn the_same_draw_gets_the_same_target(
        weights in prop::collection::vec(1u32..=1_000_000, 1..=50),
        mask in any::<u64>(),
        key in prop::collection::vec(any::<u8>(), 0..40),
        raw in any::<u64>(),
    ) {
        let f = split_flow(&weights);
        let available = |t: &clickledger_domain::flow::Target| {
            let i: usize = t.key["offer:o".len()..].parse().unwrap();
            mask & (1 << i) != 0
        };
        for d in [sticky_draw(&key), raw] {
            let first = f.choose(&Visitor::default(), d, available);
            for _ in 0..3 {
                prop_assert_eq!(f.choose(&Visitor::default(), d, available), first);
            }
            prop_assert_eq!(sticky_draw(&key), sticky_draw(&key.clone()));
            if let Choice::Target { target, .. } = first {
                prop_assert!(available(target), "chose an unavailable target");
            }
        }
    }
}

// ---------- the parser ----------

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        any::<String>().prop_map(Value::from),
        select(vec![
            "block",
            "redirect",
            "DE",
            "mobile",
            "9-17",
            "25",
            "mon",
            "10.0.0.0/8",
            "*.x.com",
            "fb_*",
            "https://x.example/?c={click_id}",
            "off_a",
            "not",
            "weight",
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        let key = select(vec![
            "rules",
            "default",
            "name",
            "if",
            "to",
            "action",
            "url",
            "optimize",
            "floor",
            "offer_id",
            "weight",
            "id",
            "country",
            "not",
            "hour",
            "weekday",
            "timezone",
            "ip",
            "sub1",
            "referer_host",
            "language",
            "bot",
            "device",
            "x",
        ]);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(key, inner, 0..6).prop_map(|m| Value::Object(
                m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
            )),
        ]
    })
}

fn conditions() -> impl Strategy<Value = Value> {
    let list = |items: Vec<Value>| {
        (subsequence(items.clone(), 1..=items.len()), any::<bool>()).prop_map(
            |(l, not)| match not {
                true => json!({ "not": l }),
                false => Value::from(l),
            },
        )
    };
    (
        prop::option::of(list(vec!["de".into(), "AT".into(), "us".into()])),
        prop::option::of(list(vec!["mobile".into(), "Desktop".into()])),
        prop::option::of(list(vec!["fb_*".into(), "native".into()])),
        prop::option::of(list(vec![
            "10.0.0.0/8".into(),
            "::1".into(),
            "192.168.1.7/24".into(),
        ])),
        prop::option::of(list(vec!["*.Google.com".into(), "bing.com".into()])),
        prop::option::of(list(vec![
            json!(3),
            json!("9-17"),
            json!("22-2"),
            json!("05"),
        ])),
        prop::option::of(list(vec!["mon".into(), "SUN".into()])),
        prop::option::of(select(vec!["Europe/Berlin", "UTC"])),
        prop::option::of(any::<bool>()),
        prop::option::of(list(vec!["de".into(), "EN".into()])),
    )
        .prop_map(
            |(country, device, sub3, ip, referer, hour, weekday, tz, bot, lang)| {
                let mut m = serde_json::Map::new();
                let mut put = |k: &str, v: Option<Value>| {
                    if let Some(v) = v {
                        m.insert(k.into(), v);
                    }
                };
                let timed = hour.is_some() || weekday.is_some();
                put("country", country);
                put("device", device);
                put("sub3", sub3);
                put("ip", ip);
                put("referer_host", referer);
                put("hour", hour);
                put("weekday", weekday);
                put("timezone", tz.filter(|_| timed).map(Value::from));
                put("bot", bot.map(Value::from));
                put("language", lang);
                Value::Object(m)
            },
        )
}

fn targets() -> impl Strategy<Value = Value> {
    prop::collection::vec((1u32..=1000, any::<bool>(), any::<bool>()), 1..=5).prop_map(|ts| {
        Value::from(
            ts.into_iter()
                .enumerate()
                .map(|(i, (w, url, id))| {
                    let mut t = match url {
                        true => json!({"url": format!("https://lp{i}.example/?c={{click_id}}"), "weight": w}),
                        false => json!({"offer_id": format!("off_{i}"), "weight": w}),
                    };
                    if id {
                        t["id"] = format!("t{i}").into();
                    }
                    t
                })
                .collect::<Vec<_>>(),
        )
    })
}

/// Valid flow JSON, written the loose ways the parser accepts.
fn valid_flow() -> impl Strategy<Value = Value> {
    let rule = (
        prop::option::of(conditions()),
        0..3u8,
        targets(),
        any::<bool>(),
        prop::option::of(0u8..=50),
    );
    (prop::collection::vec(rule, 0..6), targets()).prop_map(|(rules, default)| {
        let rules: Vec<Value> = rules
            .into_iter()
            .enumerate()
            .map(|(i, (cond, then, to, optimize, floor))| {
                let mut r = json!({ "name": format!("rule {i}") });
                if let Some(c) = cond {
                    r["if"] = c;
                }
                match then {
                    0 => r["action"] = "block".into(),
                    1 => {
                        r["action"] = "redirect".into();
                        r["url"] = "https://r.example/{sub1}".into();
                    }
                    _ => r["to"] = to,
                }
                if optimize {
                    r["optimize"] = true.into();
                }
                if let Some(f) = floor {
                    r["floor"] = f.into();
                }
                r
            })
            .collect();
        json!({ "rules": rules, "default": default })
    })
}

/// A valid flow with one value somewhere replaced by arbitrary JSON.
fn near_valid_flow() -> impl Strategy<Value = Value> {
    (valid_flow(), any::<prop::sample::Index>(), any_json()).prop_map(|(mut v, at, junk)| {
        let mut slots: Vec<String> = Vec::new();
        collect_pointers(&v, String::new(), &mut slots);
        let p = at.get(&slots).clone();
        *v.pointer_mut(&p).unwrap() = junk;
        v
    })
}

fn collect_pointers(v: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match v {
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                collect_pointers(x, format!("{at}/{i}"), out);
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                collect_pointers(
                    x,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        _ => {}
    }
}

fn check_answer(v: &Value) {
    match Flow::from_json(v) {
        Ok(f) => assert_eq!(Flow::from_json(&f.to_json()).unwrap(), f),
        Err(r) => {
            assert_eq!(r.code, ErrorCode::Validation);
            assert!(!r.message.is_empty());
            // the message starts with the path: a field name, not prose
            let head = r.message.split(':').next().unwrap();
            assert!(
                head.starts_with("rules")
                    || head.starts_with("default")
                    || head == "flow"
                    || !head.contains(' '),
                "{}",
                r.message
            );
        }
    }
}

proptest! {
    #[test]
    fn any_json_is_a_flow_or_a_refusal(v in any_json()) {
        check_answer(&v);
        check_answer(&json!({"rules": [v.clone()], "default": [{"offer_id": "o", "weight": 1}]}));
        check_answer(&json!({"rules": [{"name": "r", "if": v.clone(), "action": "block"}],
                             "default": [{"offer_id": "o", "weight": 1}]}));
        check_answer(&json!({"default": v}));
    }

    #[test]
    fn near_valid_flows_are_flows_or_refusals(v in near_valid_flow()) {
        check_answer(&v);
    }

    #[test]
    fn any_text_is_a_flow_or_a_refusal(s in any::<String>()) {
        if let Err(r) = Flow::parse(&s) {
            prop_assert!(matches!(r.code, ErrorCode::InvalidJson | ErrorCode::Validation));
        }
    }

    #[test]
    fn a_flow_reads_back_as_itself(v in valid_flow()) {
        let f = Flow::from_json(&v).map_err(|r| TestCaseError::fail(r.message))?;
        let out = f.to_json();
        let again = Flow::from_json(&out).map_err(|r| TestCaseError::fail(r.message))?;
        prop_assert_eq!(&again, &f);
        // the written form is a fixed point
        prop_assert_eq!(again.to_json(), out.clone());
        // and through text, as it is stored
        let text = serde_json::to_string(&f).unwrap();
        prop_assert_eq!(serde_json::from_str::<Flow>(&text).unwrap(), f);
    }

    #[test]
    fn a_rule_takes_exactly_the_visitors_its_conditions_match(
        cond in conditions(),
        os in prop::option::of(list_of(&["ios", "Android", "windows", "other", "plan9"])),
        browser in prop::option::of(list_of(&["safari", "Chrome", "other"])),
        unique in prop::option::of(any::<bool>()),
        country in prop::option::of(select(vec!["DE", "at", "US", "fr", "D", "DEU", "1A", ""])),
        device in select(vec!["mobile", "desktop", "tablet", "bot", "other", "toaster"]),
        v_os in select(vec!["ios", "android", "windows", "macos", "other", "plan9"]),
        v_browser in select(vec!["safari", "chrome", "firefox", "other", "lynx"]),
        bot in any::<bool>(),
        v_unique in any::<bool>(),
    ) {
        let mut cond = cond;
        let m = cond.as_object_mut().unwrap();
        if let Some(os) = os { m.insert("os".into(), os); }
        if let Some(b) = browser { m.insert("browser".into(), b); }
        if let Some(u) = unique { m.insert("unique".into(), u.into()); }
        let Ok(f) = Flow::from_json(&json!({"rules": [{"name": "r", "if": cond, "action": "block"}],
                                           "default": [{"offer_id": "o", "weight": 1}]})) else {
            // a value outside a vocabulary ("plan9") is refused when saved
            return Ok(());
        };
        let v = Visitor {
            country,
            device,
            os: v_os,
            browser: v_browser,
            bot,
            unique: v_unique,
            ..Visitor::default()
        };
        let blocked = matches!(f.choose(&v, 0, |_| true), Choice::Block { .. });
        prop_assert_eq!(blocked, f.rules()[0].when.matches(&v));
    }
}

/// A list condition of some of `words`, or its `{"not": [...]}`.
fn list_of(words: &[&'static str]) -> impl Strategy<Value = Value> {
    let items: Vec<Value> = words.iter().map(|w| Value::from(*w)).collect();
    (subsequence(items.clone(), 1..=items.len()), any::<bool>()).prop_map(|(l, not)| {
        if not {
            json!({ "not": l })
        } else {
            Value::from(l)
        }
    })
}
