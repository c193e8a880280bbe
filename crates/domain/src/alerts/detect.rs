//! The detectors: figures and thresholds in, findings out. A finding says
//! "this condition holds now"; `reconcile` decides what that changes.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{AlertKind, Thresholds};

/// A condition that holds now, for one subject.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub kind: AlertKind,
    /// What it is about, unique within the kind: `offer:<id>`,
    /// `advertiser:<id>/<error>`, `affiliate:<id>`, `node:<name>`.
    pub subject: String,
    pub advertiser_id: Option<String>,
    pub offer_id: Option<String>,
    pub affiliate_id: Option<String>,
    /// One sentence for a person.
    pub summary: String,
    /// The numbers behind it.
    pub figures: Value,
}

/// An offer's successful postbacks over the history window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferHistory {
    pub offer_id: String,
    pub advertiser_id: String,
    pub count: u64,
    pub first_ms: i64,
    pub last_ms: i64,
}

/// Postbacks in the window with the same advertiser, offer, error code
/// (none: not refused) and click id hint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostbackTally {
    pub advertiser_id: Option<String>,
    pub offer_id: Option<String>,
    pub error: Option<String>,
    pub hint: Option<String>,
    pub count: u64,
}

/// The thresholds for a kind and an advertiser (and offer); `None` when the
/// kind is silenced there.
pub trait Policy {
    fn thresholds(
        &self,
        kind: AlertKind,
        advertiser: Option<&str>,
        offer: Option<&str>,
    ) -> Option<Thresholds>;
}

impl<F> Policy for F
where
    F: Fn(AlertKind, Option<&str>, Option<&str>) -> Option<Thresholds>,
{
    fn thresholds(&self, k: AlertKind, a: Option<&str>, o: Option<&str>) -> Option<Thresholds> {
        self(k, a, o)
    }
}

/// The offer's usual interval between postbacks (the mean gap over its
/// history, at least the minimum), and the silence that stops it: `None`
/// while it has too little history to have a usual interval.
pub fn stopped_after_ms(h: &OfferHistory, t: &Thresholds) -> Option<(i64, i64)> {
    if h.count < u64::from(t.stopped_min_history.max(2)) {
        return None;
    }
    let mean = (h.last_ms - h.first_ms) / (h.count as i64 - 1);
    let usual = mean.max(t.stopped_min_interval_ms).max(1);
    Some((usual, (usual as f64 * t.stopped_factor) as i64))
}

/// Whether the offer's silence at `now_ms` is long enough to ask how many
/// clicks it had meanwhile.
pub fn silent_too_long(h: &OfferHistory, t: &Thresholds, now_ms: i64) -> bool {
    stopped_after_ms(h, t).is_some_and(|(_, after)| now_ms - h.last_ms > after)
}

/// Postbacks stopped: silent for longer than k usual intervals while clicks
/// kept coming (`clicks` since its last postback).
pub fn postbacks_stopped(
    h: &OfferHistory,
    clicks: u64,
    t: &Thresholds,
    now_ms: i64,
) -> Option<Finding> {
    let (usual, after) = stopped_after_ms(h, t)?;
    let silent = now_ms - h.last_ms;
    if silent <= after || clicks < u64::from(t.stopped_min_clicks) {
        return None;
    }
    Some(Finding {
        kind: AlertKind::PostbacksStopped,
        subject: format!("offer:{}", h.offer_id),
        advertiser_id: Some(h.advertiser_id.clone()),
        offer_id: Some(h.offer_id.clone()),
        affiliate_id: None,
        summary: format!(
            "offer {} has had no postback for {} min (usually one every {} min) while {} clicks arrived",
            h.offer_id,
            silent / 60_000,
            usual / 60_000,
            clicks
        ),
        figures: json!({
            "last_postback_ms": h.last_ms,
            "silent_seconds": silent / 1000,
            "usual_interval_seconds": usual / 1000,
            "threshold_seconds": after / 1000,
            "clicks_since": clicks,
        }),
    })
}

#[derive(Default)]
struct Counts {
    total: u64,
    refused: BTreeMap<String, u64>,
}

/// Rejections spikes, per advertiser and per offer, one per error code. An
/// offer's spike is not reported beside its advertiser's for the same code
/// (one wave, one alert).
pub fn rejections_spikes(tallies: &[PostbackTally], policy: &impl Policy) -> Vec<Finding> {
    let mut advertisers: BTreeMap<&str, Counts> = BTreeMap::new();
    let mut offers: BTreeMap<(&str, &str), Counts> = BTreeMap::new();
    for t in tallies {
        let Some(adv) = t.advertiser_id.as_deref() else {
            continue;
        };
        let add = |c: &mut Counts| {
            c.total += t.count;
            if let Some(e) = &t.error {
                *c.refused.entry(e.clone()).or_default() += t.count;
            }
        };
        add(advertisers.entry(adv).or_default());
        if let Some(offer) = t.offer_id.as_deref() {
            add(offers.entry((adv, offer)).or_default());
        }
    }
    let mut out = Vec::new();
    let spike = |adv: &str, offer: Option<&str>, code: &str, n: u64, total: u64| {
        let t = policy.thresholds(AlertKind::RejectionsSpike, Some(adv), offer)?;
        let share = n as f64 / total.max(1) as f64;
        if n < u64::from(t.spike_min_count) || share < t.spike_share {
            return None;
        }
        let (subject, whose) = match offer {
            Some(o) => (format!("offer:{o}/{code}"), format!("offer {o}")),
            None => (
                format!("advertiser:{adv}/{code}"),
                format!("advertiser {adv}"),
            ),
        };
        Some(Finding {
            kind: AlertKind::RejectionsSpike,
            subject,
            advertiser_id: Some(adv.to_string()),
            offer_id: offer.map(str::to_string),
            affiliate_id: None,
            summary: format!(
                "{n} of {total} postbacks from {whose} in the last {} min were refused with {code}",
                t.window_ms / 60_000
            ),
            figures: json!({
                "error": code,
                "refused": n,
                "total": total,
                "share": (share * 1000.0).round() / 1000.0,
                "window_seconds": t.window_ms / 1000,
            }),
        })
    };
    for (adv, c) in &advertisers {
        for (code, n) in &c.refused {
            out.extend(spike(adv, None, code, *n, c.total));
        }
    }
    let advertiser_codes: Vec<(String, String)> = out
        .iter()
        .map(|f| {
            let code = f.figures["error"].as_str().unwrap_or_default().to_string();
            (f.advertiser_id.clone().unwrap_or_default(), code)
        })
        .collect();
    for ((adv, offer), c) in &offers {
        for (code, n) in &c.refused {
            if advertiser_codes.contains(&(adv.to_string(), code.clone())) {
                continue;
            }
            out.extend(spike(adv, Some(offer), code, *n, c.total));
        }
    }
    out
}

/// The kind of a postback log hint (`unreplaced_macro: ...`), when it is
/// one alerts are kept for.
pub fn hint_kind(hint: &str) -> Option<AlertKind> {
    match hint.split(':').next()? {
        "unreplaced_macro" => Some(AlertKind::UnreplacedMacro),
        "double_encoded" => Some(AlertKind::DoubleEncoded),
        _ => None,
    }
}

/// Unreplaced macros and double-encoded click ids arriving, per advertiser.
pub fn hint_findings(tallies: &[PostbackTally], policy: &impl Policy) -> Vec<Finding> {
    let mut counts: BTreeMap<(AlertKind, &str), u64> = BTreeMap::new();
    for t in tallies {
        let (Some(adv), Some(kind)) = (
            t.advertiser_id.as_deref(),
            t.hint.as_deref().and_then(hint_kind),
        ) else {
            continue;
        };
        *counts.entry((kind, adv)).or_default() += t.count;
    }
    counts
        .into_iter()
        .filter_map(|((kind, adv), n)| {
            let t = policy.thresholds(kind, Some(adv), None)?;
            if n < u64::from(t.hint_min_count.max(1)) {
                return None;
            }
            let what = match kind {
                AlertKind::UnreplacedMacro => "a literal macro instead of the click id",
                _ => "a click id URL-encoded twice",
            };
            Some(Finding {
                kind,
                subject: format!("advertiser:{adv}"),
                advertiser_id: Some(adv.to_string()),
                offer_id: None,
                affiliate_id: None,
                summary: format!(
                    "{n} postbacks from advertiser {adv} in the last {} min carried {what}",
                    t.window_ms / 60_000
                ),
                figures: json!({"postbacks": n, "window_seconds": t.window_ms / 1000}),
            })
        })
        .collect()
}

/// A destination's state as far as alerts go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DestinationFigures {
    pub affiliate_id: String,
    /// healthy, failing or disabled.
    pub state: String,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
}

/// Failing and disabled destinations (a recovery resolves them).
pub fn destination_findings(list: &[DestinationFigures]) -> Vec<Finding> {
    list.iter()
        .filter_map(|d| {
            let kind = match d.state.as_str() {
                "failing" => AlertKind::DestinationFailing,
                "disabled" => AlertKind::DestinationDisabled,
                _ => return None,
            };
            Some(Finding {
                kind,
                subject: format!("affiliate:{}", d.affiliate_id),
                advertiser_id: None,
                offer_id: None,
                affiliate_id: Some(d.affiliate_id.clone()),
                summary: format!(
                    "affiliate {}'s postback destination is {} after {} failures in a row{}",
                    d.affiliate_id,
                    d.state,
                    d.consecutive_failures,
                    d.last_error
                        .as_deref()
                        .map(|e| format!(" (last: {e})"))
                        .unwrap_or_default()
                ),
                figures: json!({
                    "consecutive_failures": d.consecutive_failures,
                    "last_error": d.last_error,
                }),
            })
        })
        .collect()
}

/// An offer at one of its caps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapFigures {
    pub offer_id: String,
    pub advertiser_id: String,
    /// The affiliate a per-affiliate cap stopped; none: the whole offer.
    pub affiliate_id: Option<String>,
}

pub fn cap_findings(list: &[CapFigures], policy: &impl Policy) -> Vec<Finding> {
    list.iter()
        .filter(|c| {
            policy
                .thresholds(
                    AlertKind::CapReached,
                    Some(&c.advertiser_id),
                    Some(&c.offer_id),
                )
                .is_some()
        })
        .map(|c| {
            let (subject, whom) = match &c.affiliate_id {
                Some(a) => (
                    format!("offer:{}/affiliate:{a}", c.offer_id),
                    format!("affiliate {a}'s"),
                ),
                None => (format!("offer:{}", c.offer_id), "its".to_string()),
            };
            Finding {
                kind: AlertKind::CapReached,
                subject,
                advertiser_id: Some(c.advertiser_id.clone()),
                offer_id: Some(c.offer_id.clone()),
                affiliate_id: c.affiliate_id.clone(),
                summary: format!("offer {} reached {whom} cap", c.offer_id),
                figures: json!({"affiliate_id": c.affiliate_id}),
            }
        })
        .collect()
}

/// The journal of `node` holds records older than the threshold: the store
/// is away, or the replay is stuck.
pub fn journal_finding(
    node: &str,
    depth: u64,
    oldest_age_ms: i64,
    t: &Thresholds,
) -> Option<Finding> {
    (depth > 0 && oldest_age_ms > t.journal_age_ms).then(|| Finding {
        kind: AlertKind::JournalNotDraining,
        subject: format!("node:{node}"),
        advertiser_id: None,
        offer_id: None,
        affiliate_id: None,
        summary: format!(
            "node {node}'s fallback journal holds {depth} records, the oldest {} min old",
            oldest_age_ms / 60_000
        ),
        figures: json!({"depth": depth, "oldest_age_seconds": oldest_age_ms / 1000}),
    })
}
