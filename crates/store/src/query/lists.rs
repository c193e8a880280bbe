//! The list reads the API pages through: clicks, conversions, the postback
//! log, deliveries and the audit log, each filtered and scoped to what the
//! caller may see, newest first.

use clickledger_domain::ClickId;

use super::{first_click_id_at, limit, Query};
use crate::model::*;

pub(crate) const CONVERSION_COLUMNS: &str = "id, click_id, offer_id, advertiser_id, affiliate_id, link_id, event, txid, status, \
     status_received, amount_micros, currency, payout_micros, revenue_micros, payout_currency, click_ms, conv_ms, \
     updated_ms, too_fast, test, capped, parent_id, payout_base_micros, revenue_base_micros, fx_missing, hold_until_ms, \
     duplicates, source, sub1, sub2, sub3, sub4, sub5, country, device, os, browser, rule, target, channel";

/// A click as read back, with its link's offer and affiliate and its user
/// agent's text and classification.
pub(crate) const CLICK_SELECT: &str = "SELECT r.id, r.ts_ms, r.link_id, COALESCE(r.offer_id, l.offer_id), l.affiliate_id, r.sub1, r.sub2, r.sub3, r.sub4, r.sub5, \
     r.source, r.extra, r.ip, r.country, u.ua, u.device, u.os, u.browser, r.referer_host, r.is_unique, r.is_bot, \
     r.suspicious, r.test, r.params_cut, r.rule, r.target, r.blocked, r.offer_id IS NOT NULL \
     FROM clicks r JOIN links l ON l.id = r.link_id JOIN user_agents u ON u.id = r.ua_id";
const ADVERTISER_CLICKS: &str =
    "COALESCE(r.offer_id, l.offer_id) IN (SELECT id FROM offers WHERE advertiser_id = ?)";

pub(crate) const DELIVERY_COLUMNS: &str =
    "id, affiliate_id, conversion_id, status, method, url, body, state, attempts, \
     next_attempt_ms, created_ms, updated_ms, last_error, last_status";
const ADVERTISER_JOBS: &str =
    "conversion_id IN (SELECT id FROM conversions WHERE advertiser_id = ?)";
/// Destinations whose jobs wait: failing (but for a probe) or disabled.
const SUSPENDED: &str = "SELECT affiliate_id FROM destinations WHERE state <> 'healthy'";

pub(crate) const POSTBACK_LOG_COLUMNS: &str =
    "id, ts_ms, source_ip, method, advertiser_id, offer_id, click_id, fields, \
     result, error, message, hint, conversion_id, http_status, pii_removed, txid, replayed, channel";

/// The click, if `scope` may see it.
pub(crate) fn click(id: ClickId, scope: &Scope) -> Query {
    let mut q = Query::new(CLICK_SELECT);
    q.add("r.id = ?", Some(id.to_bytes().to_vec()));
    q.scope(scope, "l.affiliate_id", ADVERTISER_CLICKS);
    q
}

pub(crate) fn clicks(f: &ClickFilter) -> Query {
    let mut q = Query::new(CLICK_SELECT);
    q.scope(&f.scope, "l.affiliate_id", ADVERTISER_CLICKS);
    q.add("COALESCE(r.offer_id, l.offer_id) = ?", f.offer_id.clone());
    q.add("l.affiliate_id = ?", f.affiliate_id.clone());
    q.add("r.link_id = ?", f.link_id.clone());
    q.add("r.source = ?", f.source.clone());
    for (n, sub) in f.subs.iter().enumerate() {
        q.add(&format!("r.sub{} = ?", n + 1), sub.clone());
    }
    q.add("r.country = ?", f.country.clone());
    // click ids begin with their time: a time range is an id range,
    // which bounds the newest-first scan of the primary key
    q.add("r.id >= ?", f.from_ms.map(first_click_id_at));
    q.add("r.id < ?", f.to_ms.map(first_click_id_at));
    q.tail = format!("ORDER BY r.id DESC LIMIT {}", limit(f.limit));
    q
}

pub(crate) fn conversions(f: &ConversionFilter) -> Query {
    let mut q = Query::new(format!("SELECT {CONVERSION_COLUMNS} FROM conversions"));
    q.scope(&f.scope, "affiliate_id", "advertiser_id = ?");
    q.add("id = ?", f.id.clone());
    q.add("click_id = ?", f.click_id.map(|c| c.to_bytes().to_vec()));
    q.add("offer_id = ?", f.offer_id.clone());
    q.add("affiliate_id = ?", f.affiliate_id.clone());
    q.add("advertiser_id = ?", f.advertiser_id.clone());
    q.add("link_id = ?", f.link_id.clone());
    q.add("status = ?", f.status.map(|s| s.as_str()));
    q.add("event = ?", f.event.clone());
    q.add("txid = ?", f.txid.clone());
    q.add("source = ?", f.source.clone());
    channel(&mut q, f.channel);
    q.add("conv_ms >= ?", f.from_ms);
    q.add("conv_ms < ?", f.to_ms);
    q.tail = format!("ORDER BY conv_ms DESC, id LIMIT {}", limit(f.limit));
    q
}

/// `channel` is NULL for s2s (see `Channel::column`).
fn channel(q: &mut Query, channel: Option<Channel>) {
    match channel.map(Channel::column) {
        None => {}
        Some(None) => q.push("channel IS NULL", vec![]),
        Some(Some(c)) => q.add("channel = ?", Some(c)),
    }
}

pub(crate) fn postback_log(f: &PostbackFilter) -> Query {
    let mut q = Query::new(format!("SELECT {POSTBACK_LOG_COLUMNS} FROM postback_log"));
    // affiliates have no postback log of their own: an impossible clause
    q.scope(
        &f.scope,
        "FALSE AND CAST(? AS TEXT) IS NOT NULL",
        "advertiser_id = ?",
    );
    q.add("result = ?", f.result.clone());
    q.add("error = ?", f.error.clone());
    q.add("advertiser_id = ?", f.advertiser_id.clone());
    q.add("offer_id = ?", f.offer_id.clone());
    q.add("click_id = ?", f.click_id.clone());
    q.add("txid = ?", f.txid.clone());
    channel(&mut q, f.channel);
    q.add("ts_ms >= ?", f.from_ms);
    q.add("ts_ms < ?", f.to_ms);
    q.tail = format!("ORDER BY id DESC LIMIT {}", limit(f.limit));
    q
}

/// The job, if `scope` may see it.
pub(crate) fn delivery(id: &str, scope: &Scope) -> Query {
    let mut q = Query::new(format!("SELECT {DELIVERY_COLUMNS} FROM deliveries"));
    q.add("id = ?", Some(id));
    q.scope(scope, "affiliate_id", ADVERTISER_JOBS);
    q
}

pub(crate) fn deliveries(f: &DeliveryFilter) -> Query {
    let mut q = Query::new(format!("SELECT {DELIVERY_COLUMNS} FROM deliveries"));
    q.scope(&f.scope, "affiliate_id", ADVERTISER_JOBS);
    q.add("affiliate_id = ?", f.affiliate_id.clone());
    q.add("conversion_id = ?", f.conversion_id.clone());
    match f.state.as_deref() {
        Some("suspended") => q.push(
            &format!("state = 'pending' AND affiliate_id IN ({SUSPENDED})"),
            vec![],
        ),
        Some("pending") => q.push(
            &format!("state = 'pending' AND affiliate_id NOT IN ({SUSPENDED})"),
            vec![],
        ),
        other => q.add("state = ?", other),
    }
    q.add("created_ms >= ?", f.from_ms);
    q.add("created_ms < ?", f.to_ms);
    q.tail = format!("ORDER BY created_ms DESC, id LIMIT {}", limit(f.limit));
    q
}

pub(crate) fn audit(f: &AuditFilter) -> Query {
    let mut q = Query::new(
        "SELECT id, ts_ms, key_id, action, entity_kind, entity_id, before, after FROM audit",
    );
    q.add("entity_id = ?", f.entity_id.clone());
    q.add("key_id = ?", f.key_id.clone());
    q.add("action = ?", f.action.clone());
    q.add("ts_ms >= ?", f.from_ms);
    q.add("ts_ms < ?", f.to_ms);
    q.tail = format!("ORDER BY id DESC LIMIT {}", limit(f.limit));
    q
}
