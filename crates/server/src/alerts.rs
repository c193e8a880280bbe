//! Alerts (issue 19) and the destination-health announcements before them.
//!
//! `evaluate` runs the detectors once a minute and records alerts;
//! `outbox` sends their messages to the alert hooks (`hooks`: the API);
//! `digest` queues the daily digest. What follows here is older: the
//! immediate, best-effort announcement of a destination's change of state.
//!
//! Tells an operator's endpoint when a destination changes state.
//!
//! Each change the store records (`destination.failing`,
//! `destination.recovered`, `destination.disabled`, `destination.enabled`)
//! is POSTed to the alert hook (`--alert-hook-url`,
//! `CLICKLEDGER_ALERT_HOOK_URL`) as JSON:
//!
//! ```json
//! {"type": "destination.failing", "event_id": 7, "affiliate_id": "aff_...",
//!  "at": "2026-01-01T00:00:00.000Z", "consecutive_failures": 5,
//!  "last_error": "HTTP 503"}
//! ```
//!
//! signed the Standard Webhooks way like outbound postbacks (`webhook-id`
//! `dstevt_<event_id>`, `webhook-timestamp`, and `webhook-signature` when
//! `CLICKLEDGER_ALERT_HOOK_SECRET` is set). Only the node whose attempt (or
//! re-enable) changed the state sends it, once. Best effort: sent on a task
//! of its own so delivery work never waits for it, tried three times, then
//! only logged (the event stays in `GET /api/v1/destinations/{id}/events`).
//! The hook may be plain http (the operator chose it), but internal
//! addresses follow `CLICKLEDGER_ALLOW_PRIVATE_DESTINATIONS` like deliveries.

pub mod digest;
pub mod evaluate;
pub mod hooks;
pub mod outbox;

use std::time::Duration;

use clickledger_domain::signature::webhook_sign;
use clickledger_domain::time::rfc3339_ms;
use clickledger_store::DestinationEvent;
use serde_json::json;

use clickledger_domain::destination_health::HealthEvent;

use crate::delivery::check_destination;
use crate::util::now_ms;
use crate::AppState;

/// Where alerts go.
#[derive(Clone, Debug, Default)]
pub struct AlertHook {
    pub url: String,
    /// A `whsec_` secret (or any string) to sign with; none: unsigned.
    pub secret: Option<String>,
}

/// The hook's URL against the destination rules: plain http is allowed
/// (the operator chose it), internal addresses only when private
/// destinations are (names are checked again by the resolver at send time).
pub fn check(url: &str, allow_private: bool) -> Result<(), String> {
    check_destination(url, true, allow_private).map(drop)
}

/// The JSON body announced for `event`.
pub fn body(event: &DestinationEvent) -> serde_json::Value {
    json!({
        "type": format!("destination.{}", event.kind),
        "event_id": event.id,
        "affiliate_id": event.affiliate_id,
        "at": rfc3339_ms(event.ts_ms),
        "consecutive_failures": event.consecutive_failures,
        "last_error": event.last_error,
    })
}

/// Counts and logs the change and sends the alert on a task of its own;
/// returns at once.
pub fn announce(app: &AppState, event: DestinationEvent) {
    if let Some(kind) = HealthEvent::parse(&event.kind) {
        app.metrics.destination_event(kind.as_str());
    }
    let settings = &app.delivery;
    tracing::warn!(
        affiliate = %event.affiliate_id,
        kind = %event.kind,
        failures = event.consecutive_failures,
        "destination {}", event.kind
    );
    let Some(hook) = settings.alert_hook.clone() else {
        return;
    };
    if let Err(e) = check(&hook.url, settings.allow_private) {
        tracing::warn!(error = %e, "alert hook refused");
        return;
    }
    // changes of state are rare: a client of its own each time, with the
    // delivery client's rules (no redirects, the guarded resolver, timeouts)
    let client = crate::delivery::client(settings);
    tokio::spawn(async move {
        send(&client, &hook, &event).await;
    });
}

async fn send(client: &reqwest::Client, hook: &AlertHook, event: &DestinationEvent) {
    let body = body(event).to_string();
    let id = format!("dstevt_{}", event.id);
    let mut wait = Duration::from_millis(500);
    for attempt in 1..=3 {
        let ts = (now_ms() / 1000).to_string();
        let mut req = client
            .post(&hook.url)
            .header("content-type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", &ts)
            .body(body.clone());
        if let Some(secret) = &hook.secret {
            req = req.header(
                "webhook-signature",
                webhook_sign(secret, &id, &ts, body.as_bytes()),
            );
        }
        match req.send().await {
            Ok(r) if r.status().is_success() => return,
            Ok(r) => tracing::warn!(status = %r.status(), attempt, "alert hook answered"),
            Err(e) => tracing::warn!(error = %e, attempt, "alert hook unreachable"),
        }
        tokio::time::sleep(wait).await;
        wait *= 4;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_and_the_rules() {
        let e = DestinationEvent {
            id: 7,
            affiliate_id: "aff_1".into(),
            kind: "failing".into(),
            ts_ms: 0,
            consecutive_failures: 5,
            last_error: Some("HTTP 503".into()),
        };
        assert_eq!(
            body(&e),
            json!({"type": "destination.failing", "event_id": 7, "affiliate_id": "aff_1",
                   "at": "1970-01-01T00:00:00.000Z", "consecutive_failures": 5, "last_error": "HTTP 503"})
        );
        assert!(check("http://alerts.example/hook", false).is_ok());
        assert!(check("http://127.0.0.1:9/hook", false)
            .unwrap_err()
            .contains("internal address"));
        assert!(check("http://127.0.0.1:9/hook", true).is_ok());
        assert!(check("ftp://alerts.example/", true).is_err());
    }
}
