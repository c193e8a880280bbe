//! Offer caps: the windows they count in (in the offer's timezone), and the
//! in-memory set of capped offers and affiliates the click path reads.

use clickledger_domain::alerts::CapFigures;
use std::collections::HashSet;
use std::sync::RwLock;

use clickledger_store::{CapCheck, CapMetric, CapPeriod, Offer, Store, StoreResult};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// Start of the period containing `now_ms`, in `tz`.
pub fn period_start(period: CapPeriod, tz: &TimeZone, now_ms: i64) -> i64 {
    let Ok(ts) = Timestamp::from_millisecond(now_ms) else {
        return 0;
    };
    let z = ts.to_zoned(tz.clone());
    let date = z.date();
    let first = match period {
        CapPeriod::Total => return 0,
        CapPeriod::Day => date,
        CapPeriod::Week => date
            .checked_sub((date.weekday().to_monday_zero_offset() as i64).days())
            .unwrap_or(date),
        CapPeriod::Month => date.first_of_month(),
    };
    first
        .to_zoned(tz.clone())
        .map(|z| z.timestamp().as_millisecond())
        .unwrap_or(0)
}

/// The checks for a conversion by `affiliate_id` on `offer` now.
pub fn checks(offer: &Offer, affiliate_id: &str, now_ms: i64) -> Vec<CapCheck> {
    let tz = TimeZone::get(&offer.cap_timezone).unwrap_or(TimeZone::UTC);
    offer
        .caps
        .iter()
        .map(|c| CapCheck {
            since_ms: period_start(c.period, &tz, now_ms),
            metric: c.metric,
            limit: c.limit,
            affiliate_id: c.per_affiliate.then(|| affiliate_id.to_string()),
        })
        .collect()
}

/// Which (offer, affiliate) pairs are over a cap now; `None` as affiliate
/// means the whole offer.
#[derive(Default)]
pub struct CapState {
    capped: RwLock<HashSet<(String, Option<String>)>>,
}

impl CapState {
    pub fn is_capped(&self, offer_id: &str, affiliate_id: &str) -> bool {
        let set = self.capped.read().unwrap_or_else(|p| p.into_inner());
        if set.is_empty() {
            // the usual case: no allocation on the click path
            return false;
        }
        set.contains(&(offer_id.to_string(), None))
            || set.contains(&(offer_id.to_string(), Some(affiliate_id.to_string())))
    }

    /// The offers (and affiliates of per-affiliate caps) at a cap now.
    pub fn reached(&self, cfg: &crate::cache::Config) -> Vec<CapFigures> {
        let set = self.capped.read().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<CapFigures> = set
            .iter()
            .filter_map(|(offer, aff)| {
                let entry = cfg.offers.get(offer)?;
                Some(CapFigures {
                    offer_id: offer.clone(),
                    advertiser_id: entry.offer.advertiser_id.clone(),
                    affiliate_id: aff.clone(),
                })
            })
            .collect();
        out.sort_by(|a, b| (&a.offer_id, &a.affiliate_id).cmp(&(&b.offer_id, &b.affiliate_id)));
        out
    }

    /// Recounts one offer's caps for the given affiliates.
    pub async fn refresh(
        &self,
        store: &dyn Store,
        offer: &Offer,
        affiliates: &[String],
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut capped = Vec::new();
        let tz = TimeZone::get(&offer.cap_timezone).unwrap_or(TimeZone::UTC);
        for cap in &offer.caps {
            let since = period_start(cap.period, &tz, now_ms);
            let targets: Vec<Option<&String>> = if cap.per_affiliate {
                affiliates.iter().map(Some).collect()
            } else {
                vec![None]
            };
            for aff in targets {
                let (n, payout) = store
                    .cap_usage(&offer.id, aff.map(String::as_str), since)
                    .await?;
                let reached = match cap.metric {
                    CapMetric::Conversions => rust_decimal::Decimal::from(n) >= cap.limit,
                    CapMetric::Payout => payout >= cap.limit,
                };
                if reached {
                    capped.push((offer.id.clone(), aff.cloned()));
                }
            }
        }
        let mut set = self.capped.write().unwrap_or_else(|p| p.into_inner());
        set.retain(|(o, _)| *o != offer.id);
        set.extend(capped);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_start_in_the_offer_zone() {
        // 2026-11-25T03:00Z is 2026-11-25 08:30 in Kolkata, 2026-11-24 22:00 in New York
        let now = "2026-11-25T03:00:00Z"
            .parse::<Timestamp>()
            .unwrap()
            .as_millisecond();
        let ms = |s: &str| s.parse::<Timestamp>().unwrap().as_millisecond();
        let kolkata = TimeZone::get("Asia/Kolkata").unwrap();
        let ny = TimeZone::get("America/New_York").unwrap();
        assert_eq!(
            period_start(CapPeriod::Day, &kolkata, now),
            ms("2026-11-24T18:30:00Z")
        );
        assert_eq!(
            period_start(CapPeriod::Day, &ny, now),
            ms("2026-11-24T05:00:00Z")
        );
        assert_eq!(
            period_start(CapPeriod::Week, &TimeZone::UTC, now),
            ms("2026-11-23T00:00:00Z")
        );
        assert_eq!(
            period_start(CapPeriod::Month, &TimeZone::UTC, now),
            ms("2026-11-01T00:00:00Z")
        );
        assert_eq!(period_start(CapPeriod::Total, &TimeZone::UTC, now), 0);
    }
}
