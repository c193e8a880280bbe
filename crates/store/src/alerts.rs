//! What the store keeps for alerts: the alerts themselves (the domain's
//! `Alert`), the hooks that hear of them, and the outbox of messages to
//! those hooks. The reads are written once in `query::alerts`; each
//! backend writes in its own `alerts.rs`.

use clickledger_domain::alerts::{Alert, AlertKind, AlertState};

use crate::model::Scope;

/// Which alerts a list answers, newest first.
#[derive(Clone, Debug, Default)]
pub struct AlertFilter {
    pub scope: Scope,
    pub state: Option<AlertState>,
    pub kind: Option<AlertKind>,
    pub limit: u32,
}

/// A place alerts are sent (`POST /api/v1/alert-hooks`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertHookRecord {
    pub id: String,
    pub url: String,
    /// The kinds it hears of (and `digest`); empty: every kind.
    pub kinds: Vec<String>,
    /// `standard` (the alert as JSON) or `slack` (`{"text": ...}`).
    pub format: String,
    /// The signing secret, sealed by the server.
    pub secret_sealed: String,
    pub created_ms: i64,
}

/// One message to one hook, from the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertDelivery {
    /// Also its `webhook-id`: the same on every attempt.
    pub id: String,
    pub hook_id: String,
    pub alert_id: Option<String>,
    /// `alert.opened`, `alert.resolved` or `alert.digest`.
    pub event: String,
    /// The JSON body, as sent.
    pub body: String,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i64,
    pub next_attempt_ms: i64,
    pub created_ms: i64,
    pub updated_ms: i64,
    pub last_error: Option<String>,
    pub last_status: Option<i64>,
}

/// An alert row's columns as read, in `ALERT_COLUMNS` order.
pub(crate) type AlertRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
);

pub(crate) fn alert_from_row(r: AlertRow) -> Result<Alert, crate::StoreError> {
    let bad = |column, value: &str, expected| {
        crate::StoreError::Corrupt(
            crate::corrupt::CorruptValue::new("alerts", &r.0, column, value, expected).to_string(),
        )
    };
    Ok(Alert {
        kind: AlertKind::parse(&r.1).ok_or_else(|| bad("kind", &r.1, "an alert kind"))?,
        state: AlertState::parse(&r.3).ok_or_else(|| bad("state", &r.3, "open or resolved"))?,
        figures: serde_json::from_str(&r.8).map_err(|_| bad("figures", &r.8, "JSON"))?,
        id: r.0.clone(),
        subject: r.2,
        advertiser_id: r.4,
        offer_id: r.5,
        affiliate_id: r.6,
        summary: r.7,
        opened_ms: r.9,
        updated_ms: r.10,
        resolved_ms: r.11,
        clear_since_ms: r.12,
    })
}

/// The kinds of a hook as stored (a JSON list).
pub(crate) fn kinds_from(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_default()
}
