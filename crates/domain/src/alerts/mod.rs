//! Alerts: which conditions deserve a person's attention, and how an alert
//! opens, updates and resolves.
//!
//! Pure: the server reads the figures (postback tallies, each offer's
//! postback history, destination states, the journal), passes them here
//! with the time, and stores what comes back. `detect` turns figures into
//! findings; `reconcile` turns findings and the alerts open now into
//! changes, so an alert keyed by (kind, subject) opens once, updates its
//! figures while open without telling anyone again, and resolves when its
//! condition has been clear for the quiet period.

mod detect;
mod state;
#[cfg(test)]
mod tests;

pub use detect::*;
pub use state::*;

use serde::{Deserialize, Serialize};

/// What an alert is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlertKind {
    /// An offer that keeps receiving clicks has had no postback for k times
    /// its usual interval.
    PostbacksStopped,
    /// An advertiser's or offer's refused postbacks passed a share of all
    /// in the window, for one error code.
    RejectionsSpike,
    /// Postbacks arrive with a literal macro for the click id.
    UnreplacedMacro,
    /// Postbacks arrive with a click id URL-encoded twice.
    DoubleEncoded,
    /// An affiliate's destination is failing (resolves when it recovers).
    DestinationFailing,
    /// An affiliate's destination is disabled until a person re-enables it.
    DestinationDisabled,
    /// An offer reached one of its caps.
    CapReached,
    /// The fallback journal holds records that are not being replayed.
    JournalNotDraining,
}

impl AlertKind {
    pub const ALL: [AlertKind; 8] = [
        AlertKind::PostbacksStopped,
        AlertKind::RejectionsSpike,
        AlertKind::UnreplacedMacro,
        AlertKind::DoubleEncoded,
        AlertKind::DestinationFailing,
        AlertKind::DestinationDisabled,
        AlertKind::CapReached,
        AlertKind::JournalNotDraining,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::PostbacksStopped => "postbacks_stopped",
            AlertKind::RejectionsSpike => "rejections_spike",
            AlertKind::UnreplacedMacro => "unreplaced_macro",
            AlertKind::DoubleEncoded => "double_encoded",
            AlertKind::DestinationFailing => "destination_failing",
            AlertKind::DestinationDisabled => "destination_disabled",
            AlertKind::CapReached => "cap_reached",
            AlertKind::JournalNotDraining => "journal_not_draining",
        }
    }

    pub fn parse(s: &str) -> Option<AlertKind> {
        AlertKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The thresholds every detector uses (settings: `clickledger serve
/// --alert-*`), before an advertiser's or offer's overrides.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    /// Postbacks stopped: silence longer than this many usual intervals...
    pub stopped_factor: f64,
    /// ...where the usual interval is at least this long...
    pub stopped_min_interval_ms: i64,
    /// ...learned from at least this many postbacks in the history window...
    pub stopped_min_history: u32,
    /// ...while at least this many clicks arrived since the last postback.
    pub stopped_min_clicks: u32,
    /// Rejections spike and hints: the window counted.
    pub window_ms: i64,
    /// Rejections spike: refused postbacks with one code over this share of
    /// all postbacks in the window...
    pub spike_share: f64,
    /// ...and at least this many of them.
    pub spike_min_count: u32,
    /// Unreplaced macros, double-encoded ids: this many in the window.
    pub hint_min_count: u32,
    /// Journal not draining: records older than this.
    pub journal_age_ms: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            stopped_factor: 4.0,
            stopped_min_interval_ms: 30 * 60_000,
            stopped_min_history: 5,
            stopped_min_clicks: 20,
            window_ms: 15 * 60_000,
            spike_share: 0.5,
            spike_min_count: 20,
            hint_min_count: 3,
            journal_age_ms: 5 * 60_000,
        }
    }
}

/// An advertiser's or offer's own thresholds (its `alert_overrides`):
/// each set field replaces the setting. An offer's override wins over its
/// advertiser's. `disabled` silences the listed kinds for it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AlertOverrides {
    /// Postbacks stopped after this many usual intervals of silence.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub stopped_factor: Option<u32>,
    /// The shortest usual interval, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub stopped_min_interval_seconds: Option<i64>,
    /// Clicks since the last postback before its silence counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_min_clicks: Option<u32>,
    /// Refused share of the window's postbacks for one error code, in
    /// percent.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub spike_share_percent: Option<u32>,
    /// The fewest refused postbacks with one code that make a spike.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spike_min_count: Option<u32>,
    /// The fewest postbacks with an unreplaced macro or a double-encoded
    /// click id in the window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint_min_count: Option<u32>,
    /// Alert kinds never opened for this advertiser or offer.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub disabled: Vec<String>,
}

impl AlertOverrides {
    pub fn is_empty(&self) -> bool {
        *self == AlertOverrides::default()
    }

    /// Checks ranges; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        if self
            .stopped_factor
            .is_some_and(|f| !(1..=1000).contains(&f))
        {
            return Err("alert_overrides.stopped_factor must be 1-1000".into());
        }
        if self.stopped_min_interval_seconds.is_some_and(|s| s < 1) {
            return Err("alert_overrides.stopped_min_interval_seconds must be at least 1".into());
        }
        if self
            .spike_share_percent
            .is_some_and(|s| !(1..=100).contains(&s))
        {
            return Err("alert_overrides.spike_share_percent must be 1-100".into());
        }
        if let Some(k) = self.disabled.iter().find(|k| AlertKind::parse(k).is_none()) {
            return Err(format!(
                "alert_overrides.disabled: `{k}` is not an alert kind"
            ));
        }
        Ok(())
    }

    /// Whether `kind` is silenced here.
    pub fn silences(&self, kind: AlertKind) -> bool {
        self.disabled.iter().any(|k| k == kind.as_str())
    }
}

impl Thresholds {
    /// These thresholds with `o`'s set fields in their place.
    pub fn with(mut self, o: &AlertOverrides) -> Thresholds {
        if let Some(v) = o.stopped_factor {
            self.stopped_factor = f64::from(v);
        }
        if let Some(v) = o.stopped_min_interval_seconds {
            self.stopped_min_interval_ms = v * 1000;
        }
        if let Some(v) = o.stopped_min_clicks {
            self.stopped_min_clicks = v;
        }
        if let Some(v) = o.spike_share_percent {
            self.spike_share = f64::from(v) / 100.0;
        }
        if let Some(v) = o.spike_min_count {
            self.spike_min_count = v;
        }
        if let Some(v) = o.hint_min_count {
            self.hint_min_count = v;
        }
        self
    }
}
