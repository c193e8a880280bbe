//! An alert's life: opened by a finding, updated (silently) while the
//! finding stays, resolved once the condition has been clear for the quiet
//! period (so a flapping condition does not open and resolve every minute).

use std::collections::HashMap;

use serde_json::Value;

use super::{AlertKind, Finding};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertState {
    Open,
    Resolved,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Open => "open",
            AlertState::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<AlertState> {
        [AlertState::Open, AlertState::Resolved]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

/// One alert: from its opening to its resolution.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    pub id: String,
    pub kind: AlertKind,
    pub subject: String,
    pub state: AlertState,
    pub advertiser_id: Option<String>,
    pub offer_id: Option<String>,
    pub affiliate_id: Option<String>,
    pub summary: String,
    pub figures: Value,
    pub opened_ms: i64,
    pub updated_ms: i64,
    pub resolved_ms: Option<i64>,
    /// Since when the condition has been clear (open alerts only).
    pub clear_since_ms: Option<i64>,
}

/// What an evaluation changes.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    Opened(Alert),
    /// New figures, or the condition cleared (not yet for the quiet
    /// period) or came back: stored, nobody told.
    Updated(Alert),
    Resolved(Alert),
}

impl Change {
    pub fn alert(&self) -> &Alert {
        match self {
            Change::Opened(a) | Change::Updated(a) | Change::Resolved(a) => a,
        }
    }

    /// The message type hooks receive, for changes they hear of.
    pub fn event(&self) -> Option<&'static str> {
        match self {
            Change::Opened(_) => Some("alert.opened"),
            Change::Resolved(_) => Some("alert.resolved"),
            Change::Updated(_) => None,
        }
    }
}

/// The changes `findings` make to the `open` alerts at `now_ms`. An open
/// alert that no finding matches resolves once it has been clear for
/// `quiet_ms` (at once for 0) — but only when `covers` says this evaluation
/// looked at its subject (a node sees only its own journal). `new_id`
/// names opened alerts.
pub fn reconcile(
    open: &[Alert],
    findings: Vec<Finding>,
    now_ms: i64,
    quiet_ms: i64,
    covers: impl Fn(&Alert) -> bool,
    mut new_id: impl FnMut() -> String,
) -> Vec<Change> {
    let mut by_key: HashMap<(AlertKind, String), &Alert> = open
        .iter()
        .filter(|a| a.state == AlertState::Open)
        .map(|a| ((a.kind, a.subject.clone()), a))
        .collect();
    let mut changes = Vec::new();
    for f in findings {
        match by_key.remove(&(f.kind, f.subject.clone())) {
            None => changes.push(Change::Opened(Alert {
                id: new_id(),
                kind: f.kind,
                subject: f.subject,
                state: AlertState::Open,
                advertiser_id: f.advertiser_id,
                offer_id: f.offer_id,
                affiliate_id: f.affiliate_id,
                summary: f.summary,
                figures: f.figures,
                opened_ms: now_ms,
                updated_ms: now_ms,
                resolved_ms: None,
                clear_since_ms: None,
            })),
            Some(a) => {
                if a.figures != f.figures || a.summary != f.summary || a.clear_since_ms.is_some() {
                    changes.push(Change::Updated(Alert {
                        summary: f.summary,
                        figures: f.figures,
                        updated_ms: now_ms,
                        clear_since_ms: None,
                        ..a.clone()
                    }));
                }
            }
        }
    }
    let mut rest: Vec<&Alert> = by_key.into_values().filter(|a| covers(a)).collect();
    rest.sort_by(|a, b| a.id.cmp(&b.id));
    for a in rest {
        let since = a.clear_since_ms.unwrap_or(now_ms);
        if now_ms - since >= quiet_ms {
            changes.push(Change::Resolved(Alert {
                state: AlertState::Resolved,
                updated_ms: now_ms,
                resolved_ms: Some(now_ms),
                clear_since_ms: Some(since),
                ..a.clone()
            }));
        } else if a.clear_since_ms.is_none() {
            changes.push(Change::Updated(Alert {
                updated_ms: now_ms,
                clear_since_ms: Some(since),
                ..a.clone()
            }));
        }
    }
    changes
}
