//! What an attempt's outcome does to its destination's health row, the
//! same for both backends: they read the row under their lock, call
//! [`decide`], and write back what it says (the rules themselves are
//! `clickledger_domain::destination_health`).

use clickledger_domain::destination_health::{
    on_enable, on_failure, on_success, Health, HealthEvent, HealthPolicy, HealthState,
};
use clickledger_domain::time::rfc3339_ms;

use crate::model::{AttemptOutcome, DeliveryAttempt, Destination, DestinationEvent};

/// The destination columns both backends select, in this order.
pub(crate) const DESTINATION_COLUMNS: &str =
    "affiliate_id, state, consecutive_failures, reason, failing_since_ms, \
     probe_interval_ms, next_probe_ms, probe_id, last_error";

/// A destination row as stored.
#[derive(Clone, Debug)]
pub(crate) struct Stored {
    pub affiliate_id: String,
    pub state: String,
    pub consecutive_failures: u32,
    pub reason: Option<String>,
    pub failing_since_ms: Option<i64>,
    pub probe_interval_ms: i64,
    pub next_probe_ms: i64,
    pub probe_id: Option<String>,
    pub last_error: Option<String>,
}

impl Stored {
    pub fn health(&self) -> Health {
        Health {
            // an unknown state is read as healthy: it can only have been
            // written by a newer version, and sending is the safe default
            state: HealthState::parse(&self.state).unwrap_or(HealthState::Healthy),
            consecutive_failures: self.consecutive_failures,
            failing_since_ms: self.failing_since_ms,
            probe_interval_ms: self.probe_interval_ms,
            next_probe_ms: self.next_probe_ms,
        }
    }

    pub fn view(self) -> Destination {
        let failing = self.state == "failing";
        Destination {
            suspended: self.state == "disabled",
            next_probe_ms: failing.then_some(self.next_probe_ms),
            probe_interval_ms: if failing { self.probe_interval_ms } else { 0 },
            affiliate_id: self.affiliate_id,
            state: self.state,
            consecutive_failures: self.consecutive_failures,
            reason: self.reason,
            failing_since_ms: self.failing_since_ms,
            last_error: self.last_error,
        }
    }
}

/// The row after an attempt, and what happened.
#[derive(Clone, Debug)]
pub(crate) struct Decided {
    pub row: Stored,
    pub event: Option<HealthEvent>,
    /// The attempt was the failing destination's probe and failed in a way
    /// worth retrying: its job keeps its attempts and schedule (the
    /// destination failed, not it).
    pub hold_job: bool,
}

pub(crate) fn attempt_error(a: &DeliveryAttempt) -> String {
    a.error
        .clone()
        .unwrap_or_else(|| format!("HTTP {}", a.status.unwrap_or(0)))
}

pub(crate) fn decide(
    old: &Stored,
    a: &DeliveryAttempt,
    outcome: AttemptOutcome,
    policy: &HealthPolicy,
) -> Decided {
    let h = old.health();
    let was_probe =
        h.state == HealthState::Failing && old.probe_id.as_deref() == Some(&a.delivery_id);
    let delivered = outcome == AttemptOutcome::Delivered;
    let (n, event) = if delivered {
        on_success(&h, was_probe, a.ts_ms)
    } else {
        on_failure(&h, a.ts_ms, was_probe, policy)
    };
    let last_error = if delivered {
        old.last_error.clone()
    } else {
        Some(attempt_error(a))
    };
    let reason = match (n.state, event) {
        (HealthState::Healthy, _) => None,
        (_, Some(HealthEvent::Failing)) => Some(format!(
            "failing after {} failed attempts in a row; last: {}",
            n.consecutive_failures,
            last_error.as_deref().unwrap_or_default()
        )),
        (_, Some(HealthEvent::Disabled)) => Some(format!(
            "disabled after {} failed attempts since {}; last: {}",
            n.consecutive_failures,
            rfc3339_ms(n.failing_since_ms.unwrap_or(a.ts_ms)),
            last_error.as_deref().unwrap_or_default()
        )),
        _ => old.reason.clone(),
    };
    Decided {
        event,
        // a probe refused for good (a 4xx other than 408/429: the receiver
        // answers, this job is the trouble) fails its job as usual, so one
        // bad job at the head of the queue cannot be every probe
        hold_job: was_probe && matches!(outcome, AttemptOutcome::RetryAt(_)),
        row: Stored {
            affiliate_id: old.affiliate_id.clone(),
            state: n.state.as_str().to_string(),
            consecutive_failures: n.consecutive_failures,
            reason,
            failing_since_ms: n.failing_since_ms,
            probe_interval_ms: n.probe_interval_ms,
            next_probe_ms: n.next_probe_ms,
            // the probe slot frees when its probe ends
            probe_id: if was_probe || n.state == HealthState::Healthy {
                None
            } else {
                old.probe_id.clone()
            },
            last_error,
        },
    }
}

/// A person re-enables the destination.
pub(crate) fn enable(old: &Stored) -> Decided {
    let (n, event) = on_enable(&old.health());
    Decided {
        event,
        hold_job: false,
        row: Stored {
            affiliate_id: old.affiliate_id.clone(),
            state: n.state.as_str().to_string(),
            consecutive_failures: 0,
            reason: None,
            failing_since_ms: None,
            probe_interval_ms: 0,
            next_probe_ms: 0,
            probe_id: None,
            last_error: old.last_error.clone(),
        },
    }
}

/// The event as recorded, once the store knows its id.
pub(crate) fn event_view(id: i64, row: &Stored, kind: HealthEvent, ts_ms: i64) -> DestinationEvent {
    DestinationEvent {
        id,
        affiliate_id: row.affiliate_id.clone(),
        kind: kind.as_str().to_string(),
        ts_ms,
        consecutive_failures: row.consecutive_failures,
        last_error: row.last_error.clone(),
    }
}
