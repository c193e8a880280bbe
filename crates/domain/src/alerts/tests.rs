use serde_json::json;

use super::*;

const MIN: i64 = 60_000;

fn steady(count: u64, every_ms: i64, last_ms: i64) -> OfferHistory {
    OfferHistory {
        offer_id: "off_1".into(),
        advertiser_id: "adv_1".into(),
        count,
        first_ms: last_ms - every_ms * (count as i64 - 1),
        last_ms,
    }
}

fn tally(adv: &str, offer: Option<&str>, error: Option<&str>, count: u64) -> PostbackTally {
    PostbackTally {
        advertiser_id: Some(adv.into()),
        offer_id: offer.map(str::to_string),
        error: error.map(str::to_string),
        hint: None,
        count,
    }
}

fn defaults(_: AlertKind, _: Option<&str>, _: Option<&str>) -> Option<Thresholds> {
    Some(Thresholds::default())
}

#[test]
fn a_steady_offer_is_stopped_after_k_usual_intervals_with_clicks() {
    let t = Thresholds::default();
    // one postback an hour: usual interval 60 min, stopped after 240 min
    let h = steady(24, 60 * MIN, 1_000 * MIN);
    assert_eq!(stopped_after_ms(&h, &t), Some((60 * MIN, 240 * MIN)));
    assert!(postbacks_stopped(&h, 500, &t, 1_000 * MIN + 240 * MIN).is_none());
    assert!(!silent_too_long(&h, &t, 1_000 * MIN + 240 * MIN));
    let f = postbacks_stopped(&h, 500, &t, 1_000 * MIN + 241 * MIN).expect("stopped");
    assert_eq!(f.kind, AlertKind::PostbacksStopped);
    assert_eq!(f.subject, "offer:off_1");
    assert_eq!(f.advertiser_id.as_deref(), Some("adv_1"));
    assert_eq!(f.figures["usual_interval_seconds"], 3600);
    assert_eq!(f.figures["clicks_since"], 500);
    // without clicks the silence is the traffic's, not the postbacks'
    assert!(postbacks_stopped(&h, 19, &t, 1_000 * MIN + 241 * MIN).is_none());
}

#[test]
fn the_usual_interval_has_a_floor_and_needs_history() {
    let t = Thresholds::default();
    // a postback a minute: the 30 min floor applies, stopped after 120 min
    let h = steady(100, MIN, 10_000 * MIN);
    assert_eq!(stopped_after_ms(&h, &t), Some((30 * MIN, 120 * MIN)));
    // four postbacks are not a history
    assert_eq!(stopped_after_ms(&steady(4, MIN, 0), &t), None);
    let o = AlertOverrides {
        stopped_factor: Some(2),
        stopped_min_interval_seconds: Some(60),
        ..Default::default()
    };
    assert_eq!(stopped_after_ms(&h, &t.with(&o)), Some((MIN, 2 * MIN)));
}

#[test]
fn a_wave_of_unknown_click_ids_is_a_spike_of_the_advertiser() {
    let tallies = vec![
        tally("adv_1", Some("off_1"), None, 10),
        tally("adv_1", None, Some("unknown_click_id"), 30),
        tally("adv_1", Some("off_1"), Some("invalid_amount"), 2),
        tally("adv_2", Some("off_2"), None, 100),
        tally("adv_2", None, Some("unknown_click_id"), 25),
    ];
    let found = rejections_spikes(&tallies, &defaults);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].subject, "advertiser:adv_1/unknown_click_id");
    assert_eq!(
        found[0].figures,
        json!({"error": "unknown_click_id", "refused": 30, "total": 42, "share": 0.714, "window_seconds": 900})
    );
}

#[test]
fn an_offer_spike_is_reported_alone_and_overrides_apply() {
    // the advertiser's other offer dilutes the share: only the offer spikes
    let tallies = vec![
        tally("adv_1", Some("off_1"), Some("unknown_event"), 20),
        tally("adv_1", Some("off_2"), None, 100),
    ];
    let found = rejections_spikes(&tallies, &defaults);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].subject, "offer:off_1/unknown_event");
    // the offer silences the kind
    let silenced = |k: AlertKind, _: Option<&str>, o: Option<&str>| {
        let over = AlertOverrides {
            disabled: vec!["rejections_spike".into()],
            ..Default::default()
        };
        (!(o == Some("off_1") && over.silences(k))).then(Thresholds::default)
    };
    assert!(rejections_spikes(&tallies, &silenced).is_empty());
    // below the minimum count: nothing
    let few = vec![tally("adv_1", None, Some("unknown_click_id"), 19)];
    assert!(rejections_spikes(&few, &defaults).is_empty());
}

#[test]
fn hints_open_per_advertiser() {
    let mut t = tally("adv_1", None, Some("unknown_click_id"), 3);
    t.hint = Some("unreplaced_macro: the click id is a literal placeholder".into());
    let mut d = tally("adv_1", None, Some("corrupted_click_id"), 2);
    d.hint = Some("double_encoded: the click id was URL-encoded twice".into());
    let found = hint_findings(&[t, d], &defaults);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, AlertKind::UnreplacedMacro);
    assert_eq!(found[0].subject, "advertiser:adv_1");
    assert_eq!(found[0].figures["postbacks"], 3);
}

#[test]
fn destinations_and_journal() {
    let list = vec![
        DestinationFigures {
            affiliate_id: "aff_1".into(),
            state: "failing".into(),
            consecutive_failures: 5,
            last_error: Some("HTTP 503".into()),
        },
        DestinationFigures {
            affiliate_id: "aff_2".into(),
            state: "healthy".into(),
            consecutive_failures: 0,
            last_error: None,
        },
    ];
    let found = destination_findings(&list);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, AlertKind::DestinationFailing);
    assert_eq!(found[0].affiliate_id.as_deref(), Some("aff_1"));
    let t = Thresholds::default();
    assert!(journal_finding("n1", 10, 4 * MIN, &t).is_none());
    assert!(journal_finding("n1", 0, 60 * MIN, &t).is_none());
    assert_eq!(
        journal_finding("n1", 10, 6 * MIN, &t).unwrap().subject,
        "node:n1"
    );
}

fn finding(figure: i64) -> Finding {
    Finding {
        kind: AlertKind::PostbacksStopped,
        subject: "offer:off_1".into(),
        advertiser_id: Some("adv_1".into()),
        offer_id: Some("off_1".into()),
        affiliate_id: None,
        summary: "stopped".into(),
        figures: json!({"silent_seconds": figure}),
    }
}

fn step(open: &mut Vec<Alert>, findings: Vec<Finding>, now: i64, quiet: i64) -> Vec<Change> {
    let mut n = 0;
    let changes = reconcile(
        open,
        findings,
        now,
        quiet,
        |_| true,
        || {
            n += 1;
            format!("alrt_{now}_{n}")
        },
    );
    for c in &changes {
        open.retain(|a| a.id != c.alert().id);
        if c.alert().state == AlertState::Open {
            open.push(c.alert().clone());
        }
    }
    changes
}

#[test]
fn an_alert_opens_once_updates_silently_and_resolves_after_the_quiet_period() {
    let mut open = Vec::new();
    let c = step(&mut open, vec![finding(1)], 0, 5 * MIN);
    assert!(matches!(&c[..], [Change::Opened(a)] if a.id == "alrt_0_1"));
    assert_eq!(c[0].event(), Some("alert.opened"));
    // the same figures: nothing at all
    assert!(step(&mut open, vec![finding(1)], MIN, 5 * MIN).is_empty());
    // new figures: an update nobody hears of
    let c = step(&mut open, vec![finding(2)], 2 * MIN, 5 * MIN);
    assert!(
        matches!(&c[..], [Change::Updated(a)] if a.figures["silent_seconds"] == 2 && a.opened_ms == 0)
    );
    assert_eq!(c[0].event(), None);
    // clear: quiet period starts
    let c = step(&mut open, vec![], 3 * MIN, 5 * MIN);
    assert!(matches!(&c[..], [Change::Updated(a)] if a.clear_since_ms == Some(3 * MIN)));
    // back before the quiet period ends: still the same alert
    let c = step(&mut open, vec![finding(2)], 4 * MIN, 5 * MIN);
    assert!(
        matches!(&c[..], [Change::Updated(a)] if a.clear_since_ms.is_none() && a.id == "alrt_0_1")
    );
    step(&mut open, vec![], 5 * MIN, 5 * MIN);
    assert!(step(&mut open, vec![], 9 * MIN, 5 * MIN).is_empty());
    let c = step(&mut open, vec![], 10 * MIN, 5 * MIN);
    assert!(
        matches!(&c[..], [Change::Resolved(a)] if a.resolved_ms == Some(10 * MIN) && a.state == AlertState::Resolved)
    );
    assert_eq!(c[0].event(), Some("alert.resolved"));
    assert!(open.is_empty());
    // the condition again: a new alert
    let c = step(&mut open, vec![finding(1)], 11 * MIN, 5 * MIN);
    assert!(matches!(&c[..], [Change::Opened(a)] if a.id != "alrt_0_1"));
}

#[test]
fn without_a_quiet_period_it_resolves_at_once_and_uncovered_alerts_stay() {
    let mut open = Vec::new();
    step(&mut open, vec![finding(1)], 0, 0);
    let not_covered = reconcile(&open, vec![], MIN, 0, |_| false, || unreachable!());
    assert!(not_covered.is_empty());
    let c = step(&mut open, vec![], MIN, 0);
    assert!(matches!(&c[..], [Change::Resolved(_)]));
}

#[test]
fn overrides_are_checked() {
    let bad = AlertOverrides {
        spike_share_percent: Some(150),
        ..Default::default()
    };
    assert!(bad.validate().unwrap_err().contains("spike_share_percent"));
    let bad = AlertOverrides {
        disabled: vec!["nope".into()],
        ..Default::default()
    };
    assert!(bad.validate().unwrap_err().contains("nope"));
    assert!(AlertOverrides::default().validate().is_ok());
    for k in AlertKind::ALL {
        assert_eq!(AlertKind::parse(k.as_str()), Some(k));
    }
}
