//! The reads alerts need, for every backend: the alerts list, the figures
//! the detectors look at (postback tallies, each offer's postback history,
//! an offer's clicks), the hooks and their outbox.

use super::{first_click_id_at, limit, Query};
use crate::alerts::AlertFilter;

pub(crate) const ALERT_COLUMNS: &str =
    "id, kind, subject, state, advertiser_id, offer_id, affiliate_id, summary, figures, \
     opened_ms, updated_ms, resolved_ms, clear_since_ms";

pub(crate) const ALERT_DELIVERY_COLUMNS: &str =
    "id, hook_id, alert_id, event, body, state, attempts, next_attempt_ms, created_ms, updated_ms, \
     last_error, last_status";

pub(crate) const ALERT_HOOK_COLUMNS: &str = "id, url, kinds, format, secret, created_ms";

/// Alerts `f.scope` may see, newest first: an advertiser sees its offers'
/// and its own, an affiliate its destination's.
pub(crate) fn alerts(f: &AlertFilter) -> Query {
    let mut q = Query::new(format!("SELECT {ALERT_COLUMNS} FROM alerts"));
    q.scope(&f.scope, "affiliate_id", "advertiser_id = ?");
    q.add("state = ?", f.state.map(|s| s.as_str()));
    q.add("kind = ?", f.kind.map(|k| k.as_str()));
    q.tail = format!("ORDER BY opened_ms DESC, id LIMIT {}", limit(f.limit));
    q
}

/// Every open alert (the evaluator's starting point).
pub(crate) fn open_alerts() -> Query {
    let mut q = Query::new(format!("SELECT {ALERT_COLUMNS} FROM alerts"));
    q.push("state = 'open'", vec![]);
    q.tail = "ORDER BY id".into();
    q
}

/// Postbacks in [from, to) per advertiser, offer, error and hint.
pub(crate) fn postback_tallies(from_ms: i64, to_ms: i64) -> Query {
    let mut q =
        Query::new("SELECT advertiser_id, offer_id, error, hint, COUNT(*) FROM postback_log");
    q.add("ts_ms >= ?", Some(from_ms));
    q.add("ts_ms < ?", Some(to_ms));
    q.tail = "GROUP BY advertiser_id, offer_id, error, hint".into();
    q
}

/// Each offer's postbacks that were taken (no error) in [from, to): how
/// many, the first and the last.
pub(crate) fn offer_postback_history(from_ms: i64, to_ms: i64) -> Query {
    let mut q = Query::new(
        "SELECT offer_id, MIN(advertiser_id), COUNT(*), MIN(ts_ms), MAX(ts_ms) FROM postback_log",
    );
    q.push("error IS NULL", vec![]);
    q.push("offer_id IS NOT NULL", vec![]);
    q.push("advertiser_id IS NOT NULL", vec![]);
    q.add("ts_ms >= ?", Some(from_ms));
    q.add("ts_ms < ?", Some(to_ms));
    q.tail = "GROUP BY offer_id".into();
    q
}

/// The offer's clicks (not test clicks) in [from, to).
pub(crate) fn offer_clicks(offer_id: &str, from_ms: i64, to_ms: i64) -> Query {
    let mut q = Query::new("SELECT COUNT(*) FROM clicks r JOIN links l ON l.id = r.link_id");
    q.add("COALESCE(r.offer_id, l.offer_id) = ?", Some(offer_id));
    q.push("r.test = FALSE", vec![]);
    q.add("r.id >= ?", Some(first_click_id_at(from_ms)));
    q.add("r.id < ?", Some(first_click_id_at(to_ms)));
    q
}

pub(crate) fn alert_hooks() -> Query {
    let mut q = Query::new(format!("SELECT {ALERT_HOOK_COLUMNS} FROM alert_hooks"));
    q.tail = "ORDER BY created_ms, id".into();
    q
}

/// A hook's messages (or every hook's), newest first.
pub(crate) fn alert_deliveries(hook_id: Option<&str>, n: u32) -> Query {
    let mut q = Query::new(format!(
        "SELECT {ALERT_DELIVERY_COLUMNS} FROM alert_deliveries"
    ));
    q.add("hook_id = ?", hook_id);
    q.tail = format!("ORDER BY created_ms DESC, id DESC LIMIT {}", limit(n));
    q
}
