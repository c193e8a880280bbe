//! Prometheus text-format metrics, kept with atomics so the click path pays
//! a few relaxed increments and nothing else.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

pub struct Histogram {
    bounds: &'static [f64],
    counts: Vec<AtomicU64>,
    sum_micros: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            counts: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            sum_micros: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, v: f64) {
        for (b, c) in self.bounds.iter().zip(&self.counts) {
            if v <= *b {
                c.fetch_add(1, Relaxed);
            }
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_micros.fetch_add((v * 1e6) as u64, Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (b, c) in self.bounds.iter().zip(&self.counts) {
            let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {}", c.load(Relaxed));
        }
        let n = self.count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {n}");
        let _ = writeln!(
            out,
            "{name}_sum {}",
            self.sum_micros.load(Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count {n}");
    }
}

/// What happened to a click request.
/// One more under `key` in a counter by label.
fn bump(counts: &Mutex<BTreeMap<&'static str, u64>>, key: &'static str) {
    *counts
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(key)
        .or_insert(0) += 1;
}

#[derive(Clone, Copy, Debug)]
pub enum ClickResult {
    Redirected = 0,
    Fallback,
    NotFound,
    Gone,
    Overloaded,
    Failed,
    /// A flow rule blocked the visitor (recorded, answered 404).
    Blocked,
}

const CLICK_RESULTS: [&str; 7] = [
    "redirected",
    "fallback",
    "not_found",
    "gone",
    "overloaded",
    "failed",
    "blocked",
];

pub struct Metrics {
    clicks: [AtomicU64; 7],
    /// Clicks that kept only part of their parameters.
    params_cut: AtomicU64,
    /// Checks decided by this node alone because Redis was away.
    redis_fallbacks: AtomicU64,
    deliveries: Mutex<BTreeMap<&'static str, u64>>,
    /// Changes of a destination's state this node made, by kind.
    destination_events: Mutex<BTreeMap<&'static str, u64>>,
    /// Alerts this node opened or resolved, by event and kind.
    alerts: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    /// Attempts to send alert messages to hooks, by outcome.
    alert_deliveries: Mutex<BTreeMap<&'static str, u64>>,
    postbacks: Mutex<BTreeMap<(String, String), u64>>,
    pub queue_depth: AtomicI64,
    /// Clicks redirected that neither the store nor the journal took.
    pub unrecorded_clicks: AtomicU64,
    /// Times this node loaded its configuration from the store.
    pub config_reloads: AtomicU64,
    pub batch_size: Histogram,
    pub commit_seconds: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            clicks: Default::default(),
            params_cut: AtomicU64::new(0),
            redis_fallbacks: AtomicU64::new(0),
            deliveries: Mutex::new(BTreeMap::new()),
            destination_events: Mutex::new(BTreeMap::new()),
            alerts: Mutex::new(BTreeMap::new()),
            alert_deliveries: Mutex::new(BTreeMap::new()),
            postbacks: Mutex::new(BTreeMap::new()),
            queue_depth: AtomicI64::new(0),
            unrecorded_clicks: AtomicU64::new(0),
            config_reloads: AtomicU64::new(0),
            batch_size: Histogram::new(&[
                1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0,
            ]),
            commit_seconds: Histogram::new(&[
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
        }
    }
}

impl Metrics {
    pub fn click(&self, r: ClickResult) {
        self.clicks[r as usize].fetch_add(1, Relaxed);
    }

    /// A click whose parameters were cut to the bounds (it still redirects).
    pub fn params_cut(&self) {
        self.params_cut.fetch_add(1, Relaxed);
    }

    /// A shared check (rate limit, replay, unique click) this node decided
    /// alone because Redis did not answer.
    pub fn redis_fallback(&self) {
        self.redis_fallbacks.fetch_add(1, Relaxed);
    }

    pub fn postback(&self, result: &str, error: Option<&str>) {
        let mut m = self.postbacks.lock().unwrap_or_else(|p| p.into_inner());
        *m.entry((result.to_string(), error.unwrap_or("").to_string()))
            .or_insert(0) += 1;
    }

    pub fn delivery(&self, outcome: &'static str) {
        bump(&self.deliveries, outcome);
    }

    pub fn destination_event(&self, kind: &'static str) {
        bump(&self.destination_events, kind);
    }

    /// An alert opened or resolved (`alert.opened`, `alert.resolved`).
    pub fn alert(&self, event: &'static str, kind: &'static str) {
        let event = event.trim_start_matches("alert.");
        *self
            .alerts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((event, kind))
            .or_insert(0) += 1;
    }

    /// An attempt to send an alert message: delivered, retry or failed.
    pub fn alert_delivery(&self, outcome: &'static str) {
        bump(&self.alert_deliveries, outcome);
    }

    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        out.push_str("# HELP clickledger_clicks_total Click requests by result.\n# TYPE clickledger_clicks_total counter\n");
        for (name, c) in CLICK_RESULTS.iter().zip(&self.clicks) {
            let _ = writeln!(
                out,
                "clickledger_clicks_total{{result=\"{name}\"}} {}",
                c.load(Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP clickledger_click_params_cut_total Clicks that kept only part of their query parameters (values cut to the bound, long names or extras past the limit left out).\n# TYPE clickledger_click_params_cut_total counter\nclickledger_click_params_cut_total {}",
            self.params_cut.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP clickledger_redis_fallbacks_total Shared checks (rate limits, webhook replays, unique clicks) this node decided alone because Redis did not answer.\n# TYPE clickledger_redis_fallbacks_total counter\nclickledger_redis_fallbacks_total {}",
            self.redis_fallbacks.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP clickledger_clicks_unrecorded_total Clicks redirected without a record: neither the store nor the fallback journal took them.\n# TYPE clickledger_clicks_unrecorded_total counter\nclickledger_clicks_unrecorded_total {}",
            self.unrecorded_clicks.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP clickledger_config_reloads_total Times this node loaded its configuration from the store: once per change made through it, once per burst of other nodes' changes.\n# TYPE clickledger_config_reloads_total counter\nclickledger_config_reloads_total {}",
            self.config_reloads.load(Relaxed)
        );
        out.push_str("# HELP clickledger_postbacks_total Postbacks by result and error code.\n# TYPE clickledger_postbacks_total counter\n");
        for ((result, error), n) in self
            .postbacks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "clickledger_postbacks_total{{result=\"{result}\",error=\"{error}\"}} {n}"
            );
        }
        out.push_str("# HELP clickledger_delivery_attempts_total Outbound postback attempts by outcome.\n# TYPE clickledger_delivery_attempts_total counter\n");
        for (outcome, n) in self
            .deliveries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "clickledger_delivery_attempts_total{{outcome=\"{outcome}\"}} {n}"
            );
        }
        out.push_str("# HELP clickledger_alerts_total Alerts opened or resolved (on the node that evaluated them).\n# TYPE clickledger_alerts_total counter\n");
        for ((event, kind), n) in self.alerts.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            let _ = writeln!(
                out,
                "clickledger_alerts_total{{event=\"{event}\",kind=\"{kind}\"}} {n}"
            );
        }
        out.push_str("# HELP clickledger_alert_deliveries_total Attempts to send alert messages to alert hooks, by outcome.\n# TYPE clickledger_alert_deliveries_total counter\n");
        for (outcome, n) in self
            .alert_deliveries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "clickledger_alert_deliveries_total{{outcome=\"{outcome}\"}} {n}"
            );
        }
        out.push_str("# HELP clickledger_destination_events_total Destinations that turned failing, recovered, were disabled or re-enabled (on this node).\n# TYPE clickledger_destination_events_total counter\n");
        for (kind, n) in self
            .destination_events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "clickledger_destination_events_total{{kind=\"{kind}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP clickledger_writer_queue_depth Clicks waiting for the group-commit writer.\n# TYPE clickledger_writer_queue_depth gauge\nclickledger_writer_queue_depth {}",
            self.queue_depth.load(Relaxed)
        );
        self.batch_size.render(
            &mut out,
            "clickledger_writer_batch_size",
            "Clicks per committed batch.",
        );
        self.commit_seconds.render(
            &mut out,
            "clickledger_writer_commit_seconds",
            "Time to commit one batch.",
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::default();
        m.click(ClickResult::Redirected);
        m.click(ClickResult::Redirected);
        m.params_cut();
        m.redis_fallback();
        m.postback("rejected", Some("invalid_token"));
        m.batch_size.observe(3.0);
        m.commit_seconds.observe(0.002);
        let text = m.render();
        assert!(text.contains("clickledger_clicks_total{result=\"redirected\"} 2"));
        assert!(text.contains("clickledger_click_params_cut_total 1\n"));
        assert!(text.contains("clickledger_redis_fallbacks_total 1\n"));
        assert!(text.contains(
            "clickledger_postbacks_total{result=\"rejected\",error=\"invalid_token\"} 1"
        ));
        assert!(text.contains("clickledger_writer_batch_size_bucket{le=\"2\"} 0"));
        assert!(text.contains("clickledger_writer_batch_size_bucket{le=\"4\"} 1"));
        assert!(text.contains("clickledger_writer_commit_seconds_count 1"));
    }
}
