//! Links' traffic flows on the server: the parsed flow each link keeps in
//! the config cache, and the choice for one click.
//!
//! The rules themselves (conditions, splits, stickiness) are the domain's
//! pure `clickledger_domain::flow`; this module feeds them what the click
//! path knows of the visitor and says which targets may take traffic now.
//! Choosing reads only the in-memory config: no store round trip.

pub mod api;
pub mod optimizer;

use std::sync::Arc;

use axum::http::{header, HeaderMap};
use clickledger_domain::flow::{
    sticky_draw, Choice, Destination, Flow, LocalTime, Target, Visitor,
};
use clickledger_store::{EntityStatus, Link};
use jiff::tz::TimeZone;

use crate::cache::Config;
use crate::AppState;

/// A link's flow as the click path uses it.
pub struct LinkFlow {
    /// As saved (the optimizer's weights are applied on top, see
    /// `optimizer::Optimizer::flow_for`).
    pub flow: Arc<Flow>,
    /// The zones of the rules' `timezone`s, resolved once.
    pub zones: Vec<(String, TimeZone)>,
    /// A fingerprint of the saved JSON: the optimizer's weights hold only
    /// for the flow they were computed for.
    pub fingerprint: u64,
}

impl LinkFlow {
    /// A fingerprint of saved JSON text.
    pub fn fingerprint_of(json: &str) -> u64 {
        sticky_draw(json.as_bytes())
    }

    /// Reads a saved flow; `Err` names what no longer parses (a flow is
    /// checked when saved, so this is a zone or offer gone since).
    pub fn load(json: &str) -> Result<LinkFlow, String> {
        let flow = Flow::parse(json).map_err(|r| r.message)?;
        let zones = flow
            .timezones()
            .map(|z| {
                TimeZone::get(z)
                    .map(|tz| (z.to_string(), tz))
                    .map_err(|_| format!("`{z}` is not an IANA timezone"))
            })
            .collect::<Result<_, _>>()?;
        Ok(LinkFlow {
            flow: Arc::new(flow),
            zones,
            fingerprint: LinkFlow::fingerprint_of(json),
        })
    }
}

/// The name of the tracker's first-party cookie that keeps a visitor's
/// draw, so a returning visitor lands on the same branch.
pub const VISITOR_COOKIE: &str = "clv";
/// How long the cookie lasts: 30 days.
pub const VISITOR_COOKIE_SECONDS: u32 = 30 * 86_400;

/// The visitor's key for sticky draws: their cookie when they bring a
/// well-formed one, else a hash of IP and user agent (which the cookie then
/// keeps, so the visitor stays put when their address changes). The
/// second value is the cookie to set, when one must be.
pub fn visitor_key(headers: &HeaderMap, ip: &str, ua: &str) -> (String, bool) {
    let sent = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().strip_prefix(VISITOR_COOKIE)?.strip_prefix('='))
        .find(|v| (1..=32).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric()));
    match sent {
        Some(v) => (v.to_string(), false),
        None => {
            let mut key = Vec::with_capacity(ip.len() + ua.len() + 1);
            key.extend_from_slice(ip.as_bytes());
            key.push(b'\n');
            key.extend_from_slice(ua.as_bytes());
            (format!("{:016x}", sticky_draw(&key)), true)
        }
    }
}

/// The draw for a visitor on a link: independent across links.
pub fn draw(link_id: &str, visitor: &str) -> u64 {
    let mut key = Vec::with_capacity(link_id.len() + visitor.len() + 1);
    key.extend_from_slice(link_id.as_bytes());
    key.push(0);
    key.extend_from_slice(visitor.as_bytes());
    sticky_draw(&key)
}

/// Weekday (Monday 0) and hour of a UTC time in milliseconds.
pub fn utc_time(ms: i64) -> LocalTime {
    let days = ms.div_euclid(86_400_000);
    LocalTime {
        // 1970-01-01 was a Thursday
        weekday: (days + 3).rem_euclid(7) as u8,
        hour: (ms.div_euclid(3_600_000).rem_euclid(24)) as u8,
    }
}

/// The same time in each zone.
pub fn local_times(zones: &[(String, TimeZone)], ms: i64) -> Vec<(&str, LocalTime)> {
    let Ok(ts) = jiff::Timestamp::from_millisecond(ms) else {
        return Vec::new();
    };
    zones
        .iter()
        .map(|(name, tz)| {
            let z = ts.to_zoned(tz.clone());
            (
                name.as_str(),
                LocalTime {
                    weekday: z.weekday().to_monday_zero_offset() as u8,
                    hour: z.hour() as u8,
                },
            )
        })
        .collect()
}

/// Whether a target may take traffic now: a URL always; an offer while it
/// and its advertiser are active and no cap of it holds for the link's
/// affiliate.
pub fn available(app: &AppState, cfg: &Config, link: &Link, t: &Target) -> bool {
    match &t.destination {
        Destination::Url(_) => true,
        Destination::Offer(id) => cfg.offers.get(id).is_some_and(|e| {
            e.offer.status == EntityStatus::Active
                && cfg
                    .advertisers
                    .get(&e.offer.advertiser_id)
                    .is_some_and(|a| a.status == EntityStatus::Active)
                && !app.caps.is_capped(id, &link.affiliate_id)
        }),
    }
}

/// Chooses for one visitor.
pub fn choose<'f>(
    app: &AppState,
    cfg: &Config,
    link: &Link,
    flow: &'f Flow,
    visitor: &Visitor<'_>,
    draw: u64,
) -> Choice<'f> {
    flow.choose(visitor, draw, |t| available(app, cfg, link, t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_weekday_and_hour() {
        // 2026-12-04 is a Friday
        let t = utc_time(1_796_389_200_000); // 2026-12-04T13:00:00Z
        assert_eq!((t.weekday, t.hour), (4, 13));
        assert_eq!(utc_time(0).weekday, 3);
        let z = vec![(
            "Asia/Tokyo".to_string(),
            TimeZone::get("Asia/Tokyo").unwrap(),
        )];
        let l = local_times(&z, 1_796_389_200_000);
        assert_eq!(
            l[0].1,
            LocalTime {
                weekday: 4,
                hour: 22
            }
        );
    }

    #[test]
    fn the_cookie_is_kept_and_a_missing_one_is_the_address_hash() {
        let mut h = HeaderMap::new();
        let (k1, set) = visitor_key(&h, "1.2.3.4", "UA");
        assert!(set && k1.len() == 16);
        assert_eq!(visitor_key(&h, "1.2.3.4", "UA").0, k1);
        assert_ne!(visitor_key(&h, "1.2.3.5", "UA").0, k1);
        h.insert(header::COOKIE, format!("a=b; clv={k1}").parse().unwrap());
        assert_eq!(visitor_key(&h, "9.9.9.9", "other"), (k1, false));
        // a malformed cookie is replaced
        h.insert(header::COOKIE, "clv=<script>".parse().unwrap());
        assert!(visitor_key(&h, "1.2.3.4", "UA").1);
        assert_ne!(draw("lnk_a", "v"), draw("lnk_b", "v"));
    }
}
