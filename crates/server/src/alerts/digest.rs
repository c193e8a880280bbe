//! The daily digest: once a UTC day, after `--alert-digest-hour`, each hook
//! that hears of `digest` (every hook without a `kinds` list) gets the
//! last 24 hours in one message: refused postbacks by error code, outbound
//! postbacks still waiting (delayed conversions: pending, or held behind a
//! failing or disabled destination), disabled destinations, and the alerts
//! open now. The message's id is the day's and the hook's, so however many
//! evaluations queue it, it goes out once.

use std::collections::BTreeMap;

use clickledger_domain::alerts::AlertState;
use clickledger_store::{AlertDelivery, AlertFilter, DeliveryFilter, StoreResult};
use serde_json::json;

use super::hooks;
use super::outbox::{body, queued};
use crate::AppState;

const DAY_MS: i64 = 86_400_000;

/// The digest messages due at `now_ms`, if today's is due.
pub async fn due(app: &AppState, now_ms: i64) -> StoreResult<Option<Vec<AlertDelivery>>> {
    let Some(hour) = app.alerts.digest_hour else {
        return Ok(None);
    };
    let day = now_ms.div_euclid(DAY_MS);
    if now_ms - day * DAY_MS < i64::from(hour) * 3_600_000 {
        return Ok(None);
    }
    {
        let mut last = app
            .alert_digest_day
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if *last == day {
            return Ok(None);
        }
        *last = day;
    }
    let hooks: Vec<_> = hooks::all(app)
        .await?
        .into_iter()
        .filter(|h| h.hears("digest"))
        .collect();
    if hooks.is_empty() {
        return Ok(None);
    }
    let store = app.store.as_ref();
    let mut refused: BTreeMap<String, u64> = BTreeMap::new();
    for t in store.postback_tallies(now_ms - DAY_MS, now_ms + 1).await? {
        if let Some(e) = t.error {
            *refused.entry(e).or_default() += t.count;
        }
    }
    let waiting = |state: &str| DeliveryFilter {
        state: Some(state.into()),
        limit: 10_000,
        ..Default::default()
    };
    let pending = store.deliveries(&waiting("pending")).await?.len();
    let suspended = store.deliveries(&waiting("suspended")).await?.len();
    let disabled: Vec<String> = store
        .destinations()
        .await?
        .into_iter()
        .filter(|d| d.state == "disabled")
        .map(|d| d.affiliate_id)
        .collect();
    let open = store
        .alerts(&AlertFilter {
            state: Some(AlertState::Open),
            limit: 10_000,
            ..Default::default()
        })
        .await?;
    let total_refused: u64 = refused.values().sum();
    let data = json!({
        "from": clickledger_domain::time::rfc3339_ms(now_ms - DAY_MS),
        "to": clickledger_domain::time::rfc3339_ms(now_ms),
        "failed_postbacks": {"total": total_refused, "by_error": refused},
        "delayed_conversions": {"pending": pending, "behind_failing_destinations": suspended},
        "disabled_destinations": disabled,
        "open_alerts": open.len(),
    });
    let text = format!(
        ":bar_chart: Daily digest: {total_refused} refused postbacks, {} outbound postbacks waiting, {} disabled destinations, {} open alerts",
        pending + suspended,
        disabled.len(),
        open.len()
    );
    Ok(Some(
        hooks
            .iter()
            .map(|h| {
                queued(
                    format!("almsg_digest_{day}_{}", h.id),
                    h,
                    None,
                    "alert.digest",
                    body(
                        &h.format,
                        "alert.digest",
                        now_ms,
                        data.clone(),
                        text.clone(),
                    ),
                    now_ms,
                )
            })
            .collect(),
    ))
}
