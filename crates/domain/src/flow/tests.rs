use serde_json::{json, Value};

use super::*;

fn flow(v: Value) -> Flow {
    Flow::from_json(&v).unwrap_or_else(|r| panic!("{}", r.message))
}

fn refusal(v: Value) -> String {
    let r = Flow::from_json(&v).expect_err("should be refused");
    assert_eq!(r.code, ErrorCode::Validation);
    r.message
}

/// A flow with one rule `r` of conditions `cond` (to off_r) and default off_d.
fn one_rule(cond: Value) -> Flow {
    flow(json!({
        "rules": [{"name": "r", "if": cond, "to": [{"offer_id": "off_r", "weight": 1}]}],
        "default": [{"offer_id": "off_d", "weight": 1}]
    }))
}

/// Which rule took the visitor (`None`: the default).
fn rule_of<'f>(f: &'f Flow, v: &Visitor<'_>) -> Option<&'f str> {
    match f.choose(v, 0, |_| true) {
        Choice::Target { rule, .. } | Choice::Nothing { rule } => rule,
        Choice::Block { rule } | Choice::Redirect { rule, .. } => Some(rule),
    }
}

fn matches(cond: Value, v: &Visitor<'_>) -> bool {
    rule_of(&one_rule(cond), v) == Some("r")
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn example() -> Flow {
    flow(json!({"rules": [
        {"name": "bots", "if": {"bot": true}, "action": "block"},
        {"name": "DE/AT mobile", "if": {"country": ["DE", "AT"], "device": ["mobile"]},
         "to": [{"offer_id": "off_a", "weight": 70}, {"url": "https://lp.example/b?cid={click_id}", "weight": 30}]},
        {"name": "not US", "if": {"country": {"not": ["US"]}}, "to": [{"offer_id": "off_b", "weight": 1}]}],
     "default": [{"offer_id": "off_c", "weight": 1}]}))
}

#[test]
fn the_first_matching_rule_wins() {
    let f = example();
    let de_mobile = Visitor {
        country: Some("de"),
        device: "mobile",
        ..Visitor::default()
    };
    assert_eq!(rule_of(&f, &de_mobile), Some("DE/AT mobile"));
    // a German bot matches all three rules: the first takes it
    let de_bot = Visitor {
        bot: true,
        ..de_mobile
    };
    assert_eq!(
        f.choose(&de_bot, 0, |_| true),
        Choice::Block { rule: "bots" }
    );
    // German desktop: not rule 2 (all-of), but "not US"
    let de_desktop = Visitor {
        device: "desktop",
        ..de_mobile
    };
    assert_eq!(rule_of(&f, &de_desktop), Some("not US"));
}

#[test]
fn the_default_takes_who_no_rule_matches() {
    let f = example();
    let us = Visitor {
        country: Some("US"),
        ..Visitor::default()
    };
    match f.choose(&us, 123, |_| true) {
        Choice::Target { rule: None, target } => assert_eq!(target.key, "offer:off_c"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn negation_is_the_complement() {
    let us = Visitor {
        country: Some("US"),
        ..Visitor::default()
    };
    let fr = Visitor {
        country: Some("FR"),
        ..Visitor::default()
    };
    let c = json!({"country": {"not": ["US", "CA"]}});
    assert!(!matches(c.clone(), &us));
    assert!(matches(c.clone(), &fr));
    // unknown country: not in the list, so "not" in it
    assert!(matches(c, &Visitor::default()));
    assert!(!matches(json!({"country": ["US"]}), &Visitor::default()));
}

#[test]
fn any_value_within_a_condition_matches() {
    let c = json!({"os": ["ios", "android"]});
    for os in ["ios", "android"] {
        assert!(
            matches(
                c.clone(),
                &Visitor {
                    os,
                    ..Visitor::default()
                }
            ),
            "{os}"
        );
    }
    assert!(!matches(
        c,
        &Visitor {
            os: "windows",
            ..Visitor::default()
        }
    ));
}

#[test]
fn every_condition_must_match() {
    let c = json!({"browser": ["chrome"], "region": ["DE-BY"], "unique": true});
    let all = Visitor {
        browser: "chrome",
        region: Some("de-by"),
        unique: true,
        ..Visitor::default()
    };
    assert!(matches(c.clone(), &all));
    assert!(!matches(
        c.clone(),
        &Visitor {
            unique: false,
            ..all
        }
    ));
    assert!(!matches(
        c.clone(),
        &Visitor {
            region: Some("DE-BE"),
            ..all
        }
    ));
    assert!(!matches(
        c,
        &Visitor {
            browser: "firefox",
            ..all
        }
    ));
}

#[test]
fn subs_and_source_are_exact_or_prefixes() {
    let c = json!({"sub1": ["fb_*", "native"], "source": ["tiktok"]});
    let v = |s1, src| Visitor {
        subs: [Some(s1), None, None, None, None],
        source: Some(src),
        ..Visitor::default()
    };
    assert!(matches(c.clone(), &v("fb_123", "tiktok")));
    assert!(matches(c.clone(), &v("native", "tiktok")));
    assert!(
        !matches(c.clone(), &v("nativeX", "tiktok")),
        "exact is exact"
    );
    assert!(
        !matches(c.clone(), &v("xfb_1", "tiktok")),
        "a prefix is a prefix"
    );
    assert!(!matches(c.clone(), &v("fb_1", "tiktokX")));
    assert!(!matches(c, &Visitor::default()), "no sub1 matches nothing");
    // sub5 is the fifth
    let c5 = json!({"sub5": ["x"]});
    let v5 = Visitor {
        subs: [None, None, None, None, Some("x")],
        ..Visitor::default()
    };
    assert!(matches(c5.clone(), &v5));
    assert!(!matches(c5, &v("x", "y")));
}

#[test]
fn referer_hosts_exact_and_wildcard() {
    let c = json!({"referer_host": ["*.google.com", "bing.com"]});
    let v = |h| Visitor {
        referer_host: Some(h),
        ..Visitor::default()
    };
    assert!(matches(c.clone(), &v("www.google.com")));
    assert!(matches(c.clone(), &v("BING.com")));
    assert!(!matches(c.clone(), &v("google.com")));
    assert!(!matches(c.clone(), &v("www.bing.com")));
    assert!(!matches(c.clone(), &v("evilgoogle.com")));
    assert!(!matches(c, &Visitor::default()));
}

#[test]
fn ip_ranges() {
    let c = json!({"ip": ["10.0.0.0/8", "2001:db8::/32", "203.0.113.7"]});
    let v = |a: &str| Visitor::new(ip(a));
    assert!(matches(c.clone(), &v("10.20.30.40")));
    assert!(matches(c.clone(), &v("2001:db8:1::5")));
    assert!(matches(c.clone(), &v("203.0.113.7")));
    assert!(!matches(c.clone(), &v("203.0.113.8")));
    assert!(!matches(c, &v("11.0.0.1")));
    assert!(matches(
        json!({"ip": {"not": ["10.0.0.0/8"]}}),
        &v("11.0.0.1")
    ));
}

#[test]
fn language_against_accept_language() {
    let v = Visitor {
        accept_language: Some("de-AT,de;q=0.9,en;q=0.5"),
        ..Visitor::default()
    };
    assert!(matches(json!({"language": ["de"]}), &v));
    assert!(matches(json!({"language": ["fr", "EN"]}), &v));
    assert!(!matches(json!({"language": ["fr"]}), &v));
    assert!(!matches(json!({"language": {"not": ["en"]}}), &v));
    assert!(!matches(json!({"language": ["de"]}), &Visitor::default()));
}

#[test]
fn weekday_and_hour_in_the_rules_zone() {
    let c = json!({"weekday": ["mon", "fri"], "hour": ["9-17"], "timezone": "Europe/Berlin"});
    let berlin = [(
        "Europe/Berlin",
        LocalTime {
            weekday: 4,
            hour: 17,
        },
    )];
    let v = Visitor {
        local: &berlin,
        utc: LocalTime {
            weekday: 6,
            hour: 3,
        },
        ..Visitor::default()
    };
    assert!(matches(c.clone(), &v));
    let late = [(
        "Europe/Berlin",
        LocalTime {
            weekday: 4,
            hour: 18,
        },
    )];
    assert!(!matches(c.clone(), &Visitor { local: &late, ..v }));
    let tuesday = [(
        "Europe/Berlin",
        LocalTime {
            weekday: 1,
            hour: 10,
        },
    )];
    assert!(!matches(
        c.clone(),
        &Visitor {
            local: &tuesday,
            ..v
        }
    ));
    // the caller did not convert to the zone: the rule does not match
    assert!(!matches(c, &Visitor { local: &[], ..v }));
    // no zone: UTC; a single hour and a wrapping range
    let utc = json!({"hour": [3, "22-1"]});
    assert!(matches(utc.clone(), &v));
    assert!(!matches(
        utc,
        &Visitor {
            utc: LocalTime {
                weekday: 0,
                hour: 2
            },
            ..v
        }
    ));
}

#[test]
fn timezones_are_listed_once() {
    let f = flow(json!({"rules": [
        {"name": "a", "if": {"hour": [1], "timezone": "Europe/Berlin"}, "action": "block"},
        {"name": "b", "if": {"hour": [1], "timezone": "Asia/Tokyo"}, "action": "block"},
        {"name": "c", "if": {"hour": [1], "timezone": "Europe/Berlin"}, "action": "block"},
        {"name": "d", "if": {"hour": [1]}, "action": "block"}],
        "default": [{"offer_id": "o", "weight": 1}]}));
    assert_eq!(
        f.timezones().collect::<Vec<_>>(),
        ["Europe/Berlin", "Asia/Tokyo"]
    );
}

#[test]
fn block_and_redirect_actions() {
    let f = flow(json!({"rules": [
        {"name": "bots", "if": {"bot": true}, "action": "block"},
        {"name": "old", "if": {"os": ["windows"]}, "action": "redirect",
         "url": "https://old.example/?c={click_id}"}],
        "default": [{"offer_id": "o", "weight": 1}]}));
    let bot = Visitor {
        bot: true,
        ..Visitor::default()
    };
    assert_eq!(f.choose(&bot, 0, |_| true), Choice::Block { rule: "bots" });
    let win = Visitor {
        os: "windows",
        ..Visitor::default()
    };
    match f.choose(&win, 0, |_| false) {
        Choice::Redirect { rule: "old", url } => {
            assert_eq!(url.as_str(), "https://old.example/?c={click_id}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_rule_without_if_matches_everyone() {
    let f = flow(json!({"rules": [{"name": "all", "action": "block"}],
                        "default": [{"offer_id": "o", "weight": 1}]}));
    assert_eq!(
        f.choose(&Visitor::default(), 0, |_| true),
        Choice::Block { rule: "all" }
    );
}

#[test]
fn nothing_available_is_nothing_not_the_default() {
    let f = example();
    let de = Visitor {
        country: Some("DE"),
        device: "mobile",
        ..Visitor::default()
    };
    assert_eq!(
        f.choose(&de, 0, |t| t.key == "offer:off_c"),
        Choice::Nothing {
            rule: Some("DE/AT mobile")
        }
    );
    // one unavailable: the other takes all
    for draw in [0, u64::MAX / 2, u64::MAX] {
        match f.choose(&de, draw, |t| t.key != "offer:off_a") {
            Choice::Target { target, .. } => assert_eq!(target.key, "url:1"),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn optimize_and_floor_are_kept() {
    let f = flow(json!({"rules": [
        {"name": "a", "optimize": true, "floor": 12.5, "to": [{"offer_id": "o", "weight": 1}]},
        {"name": "b", "to": [{"offer_id": "o", "weight": 1}]}],
        "default": [{"offer_id": "o", "weight": 1}]}));
    assert!(f.rules()[0].optimize);
    assert_eq!(f.rules()[0].floor_percent, 12.5);
    assert!(!f.rules()[1].optimize);
    assert_eq!(f.rules()[1].floor_percent, DEFAULT_FLOOR_PERCENT);
}

#[test]
fn the_json_is_normalised_and_reads_back() {
    let f = flow(json!({"rules": [
        {"name": "r", "if": {"country": ["de"], "device": ["Mobile"], "language": ["DE"],
                             "referer_host": ["*.Google.com"], "sub2": ["ab*"],
                             "weekday": ["SAT"], "hour": ["9-17", "20", 22], "timezone": "Europe/Berlin",
                             "ip": ["10.1.2.3/8"], "unique": false},
         "to": [{"offer_id": "o", "weight": 2, "id": "main"}], "floor": 0}],
        "default": [{"url": "https://x.example/", "weight": 1}]}));
    let j = f.to_json();
    assert_eq!(
        j["rules"][0]["if"],
        json!({"country": ["DE"], "device": ["mobile"], "language": ["de"],
               "referer_host": ["*.google.com"], "sub2": ["ab*"], "weekday": ["sat"],
               "hour": ["9-17", 20, 22], "timezone": "Europe/Berlin", "ip": ["10.1.2.3/8"],
               "unique": false})
    );
    assert_eq!(Flow::from_json(&j).unwrap(), f);
    let text = serde_json::to_string(&f).unwrap();
    assert_eq!(serde_json::from_str::<Flow>(&text).unwrap(), f);
}

#[test]
fn serde_reads_refusals_as_errors() {
    let e = serde_json::from_str::<Flow>(r#"{"default": []}"#).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("default: the list of targets is empty"),
        "{e}"
    );
    let r = Flow::parse("{nope").unwrap_err();
    assert_eq!(r.code, ErrorCode::InvalidJson);
    assert!(r.message.starts_with("flow: "), "{}", r.message);
}

const D: &str = r#"[{"offer_id": "o", "weight": 1}]"#;

fn with_rule(rule: Value) -> Value {
    json!({"rules": [rule], "default": serde_json::from_str::<Value>(D).unwrap()})
}

fn cond_refusal(cond: Value) -> String {
    refusal(with_rule(
        json!({"name": "r", "if": cond, "action": "block"}),
    ))
}

#[test]
fn refusals_name_the_path_and_the_reason() {
    let cases: Vec<(Value, &str)> = vec![
        (json!({"colour": ["red"]}), "rules[0].if.colour: unknown condition; the conditions are country,"),
        (json!({"country": []}), "rules[0].if.country: the list is empty"),
        (json!({"country": {"not": []}}), "rules[0].if.country.not: the list is empty"),
        (json!({"country": "DE"}), "rules[0].if.country: must be a list like [\"a\", \"b\"] or {\"not\": [\"a\"]}, not a string"),
        (json!({"country": ["DE", "DEU"]}), "rules[0].if.country[1]: `DEU` is not an ISO 3166 alpha-2 country code"),
        (json!({"country": {"not": ["1x"]}}), "rules[0].if.country.not[0]: `1x` is not an ISO 3166 alpha-2"),
        (json!({"ip": ["10.0.0.0/33"]}), "rules[0].if.ip[0]: the prefix length of `10.0.0.0/33` must be 0-32"),
        (json!({"ip": ["example.com"]}), "rules[0].if.ip[0]: `example.com` is not an IP address or CIDR"),
        (json!({"hour": [24]}), "rules[0].if.hour[0]: 24 is not an hour 0-23"),
        (json!({"hour": ["9-25"]}), "rules[0].if.hour[0]: \"9-25\" is not an hour 0-23"),
        (json!({"hour": [-1]}), "rules[0].if.hour[0]: -1 is not an hour"),
        (json!({"weekday": ["monday"]}), "rules[0].if.weekday[0]: `monday` is not a weekday; the weekdays are mon, tue"),
        (json!({"device": ["phone"]}), "rules[0].if.device[0]: `phone` is not one of mobile, tablet, desktop, bot, other"),
        (json!({"bot": "yes"}), "rules[0].if.bot: must be true or false, not a string"),
        (json!({"language": ["german"]}), "rules[0].if.language[0]: `german` is not a primary language subtag"),
        (json!({"referer_host": ["a.*.com"]}), "rules[0].if.referer_host[0]: `a.*.com` is not a host name"),
        (json!({"sub3": ["a*b"]}), "rules[0].if.sub3[0]: `a*b` has a `*` before its end"),
        (json!({"timezone": "Europe/Berlin"}), "rules[0].if.timezone: applies only to weekday and hour"),
        (json!({"hour": [1], "timezone": "Europe Berlin"}), "rules[0].if.timezone: `Europe Berlin` is not an IANA time zone name"),
        (json!(["DE"]), "rules[0].if: must be an object of conditions, not a list"),
    ];
    for (cond, want) in cases {
        let got = cond_refusal(cond.clone());
        assert!(got.starts_with(want), "{cond}:\n got {got}\nwant {want}");
    }
}

#[test]
fn refusals_of_rules_and_targets() {
    let t = json!([{"offer_id": "o", "weight": 1}]);
    let cases: Vec<(Value, &str)> = vec![
        (
            with_rule(json!({"name": "r", "to": t, "action": "block"})),
            "rules[0]: has both to and action",
        ),
        (
            with_rule(json!({"name": "r"})),
            "rules[0]: needs to (a list of targets) or an action",
        ),
        (
            with_rule(json!({"name": "r", "action": "drop"})),
            "rules[0].action: `drop` is not an action; the actions are block and redirect",
        ),
        (
            with_rule(json!({"name": "r", "action": "redirect"})),
            "rules[0].url: is missing; a redirect action needs a url",
        ),
        (
            with_rule(
                json!({"name": "r", "action": "redirect", "url": "https://x.example/{nope}"}),
            ),
            "rules[0].url: unknown macro `{nope}`",
        ),
        (
            with_rule(json!({"name": "r", "action": "block", "url": "https://x.example/"})),
            "rules[0].url: a block action takes no url",
        ),
        (
            with_rule(json!({"name": "r", "to": []})),
            "rules[0].to: the list of targets is empty",
        ),
        (
            with_rule(json!({"name": "r", "to": [{"offer_id": "o", "weight": 0}]})),
            "rules[0].to[0].weight: 0 is not a whole number from 1 to 1000000",
        ),
        (
            with_rule(json!({"name": "r", "to": [{"offer_id": "o", "weight": -3}]})),
            "rules[0].to[0].weight: -3 is not a whole number",
        ),
        (
            with_rule(json!({"name": "r", "to": [{"offer_id": "o", "weight": 1.5}]})),
            "rules[0].to[0].weight: 1.5 is not a whole number",
        ),
        (
            with_rule(json!({"name": "r", "to": [{"offer_id": "o"}]})),
            "rules[0].to[0].weight: is missing",
        ),
        (
            with_rule(
                json!({"name": "r", "to": [{"offer_id": "o", "url": "https://x.example/", "weight": 1}]}),
            ),
            "rules[0].to[0]: has both offer_id and url",
        ),
        (
            with_rule(json!({"name": "r", "to": [{"weight": 1}]})),
            "rules[0].to[0]: needs an offer_id or a url",
        ),
        (
            with_rule(json!({"name": "r", "to": [{"offer_id": "o", "weight": 1, "share": 2}]})),
            "rules[0].to[0].share: unknown field",
        ),
        (
            with_rule(
                json!({"name": "r", "to": [{"offer_id": "o", "weight": 1}, {"offer_id": "o", "weight": 2}]}),
            ),
            "rules[0].to[1]: its key `offer:o` is also rules[0].to[0]'s",
        ),
        (
            with_rule(json!({"name": "r", "to": [{"url": "example.com/x", "weight": 1}]})),
            "rules[0].to[0].url: must be an absolute http(s) URL",
        ),
        (
            with_rule(json!({"name": "r", "action": "block", "optimise": true})),
            "rules[0].optimise: unknown field",
        ),
        (
            with_rule(json!({"name": "r", "action": "block", "floor": 51})),
            "rules[0].floor: 51 is not a percentage from 0 to 50",
        ),
        (
            with_rule(json!({"name": "r", "action": "block", "optimize": 1})),
            "rules[0].optimize: must be true or false",
        ),
        (
            with_rule(json!({"action": "block"})),
            "rules[0].name: is missing",
        ),
        (
            with_rule(json!({"name": " ", "action": "block"})),
            "rules[0].name: must be 1-100 characters",
        ),
        (
            json!({"rules": [{"name": "a", "action": "block"}, {"name": "a", "action": "block"}], "default": t}),
            "rules[1].name: `a` is also rules[0]'s; names must differ",
        ),
        (json!({"rules": []}), "default: is missing"),
        (
            json!({"default": []}),
            "default: the list of targets is empty",
        ),
        (
            json!({"default": {"offer_id": "o"}}),
            "default: must be a list of targets",
        ),
        (
            json!({"rules": {}, "default": t}),
            "rules: must be a list, not an object",
        ),
        (
            json!({"rule": [], "default": t}),
            "rule: unknown field; a flow has rules and default",
        ),
        (json!([]), "flow: must be an object with rules and default"),
    ];
    for (v, want) in cases {
        let got = refusal(v.clone());
        assert!(got.starts_with(want), "{v}:\n got {got}\nwant {want}");
    }
}

#[test]
fn limits_on_rules_and_targets() {
    let rules: Vec<Value> = (0..=MAX_RULES)
        .map(|i| json!({"name": format!("r{i}"), "action": "block"}))
        .collect();
    let mut v = json!({"rules": rules, "default": [{"offer_id": "o", "weight": 1}]});
    assert_eq!(refusal(v.clone()), "rules: lists 101 rules; at most 100");
    v["rules"].as_array_mut().unwrap().pop();
    assert_eq!(flow(v).rules().len(), 100);

    let targets: Vec<Value> = (0..=split::MAX_TARGETS)
        .map(|i| json!({"offer_id": format!("o{i}"), "weight": 1}))
        .collect();
    let mut v = json!({"default": targets});
    assert_eq!(refusal(v.clone()), "default: lists 51 targets; at most 50");
    v["default"].as_array_mut().unwrap().pop();
    assert_eq!(flow(v).default_split().targets().len(), 50);
}

#[test]
fn targets_lists_every_split() {
    let f = example();
    let keys: Vec<&str> = f.targets().map(|t| t.key.as_str()).collect();
    assert_eq!(keys, ["offer:off_a", "url:1", "offer:off_b", "offer:off_c"]);
}
