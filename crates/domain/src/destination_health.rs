//! An affiliate destination's health: a circuit breaker with a half-open
//! probe, and a slow disable.
//!
//! - **healthy**: jobs go out as they fall due.
//! - **failing**: after `failing_after` attempts in a row failed. Jobs wait
//!   without spending their retries; one *probe* (the oldest waiting job)
//!   goes out per probe interval, which starts at `probe_first_ms` and
//!   doubles after each failed probe up to `probe_max_ms`. The first
//!   successful probe makes it healthy again and the waiting jobs go out
//!   oldest first.
//! - **disabled**: after failing continuously for `disable_after_ms` (since
//!   the first failure of the run) *and* at least `disable_min_failures`
//!   times. Nothing goes out until a person re-enables it.
//!
//! A short outage during a burst thus costs a probe interval, not a
//! person's time; a destination that is gone for days stops being probed.
//! Pure: the store reads the row, asks here, writes the answer back.

/// Where a destination stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HealthState {
    Healthy,
    Failing,
    Disabled,
}

impl HealthState {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthState::Healthy => "healthy",
            HealthState::Failing => "failing",
            HealthState::Disabled => "disabled",
        }
    }

    pub fn parse(s: &str) -> Option<HealthState> {
        [
            HealthState::Healthy,
            HealthState::Failing,
            HealthState::Disabled,
        ]
        .into_iter()
        .find(|h| h.as_str() == s)
    }
}

/// A change of state worth telling a person about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HealthEvent {
    Failing,
    Recovered,
    Disabled,
    /// A person re-enabled a disabled (or failing) destination.
    Enabled,
}

impl HealthEvent {
    /// The event's name, as stored and as the alert hook's `type` after
    /// `destination.`.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthEvent::Failing => "failing",
            HealthEvent::Recovered => "recovered",
            HealthEvent::Disabled => "disabled",
            HealthEvent::Enabled => "enabled",
        }
    }

    pub fn parse(s: &str) -> Option<HealthEvent> {
        [
            HealthEvent::Failing,
            HealthEvent::Recovered,
            HealthEvent::Disabled,
            HealthEvent::Enabled,
        ]
        .into_iter()
        .find(|h| h.as_str() == s)
    }
}

/// The knobs (settings; `clickledger serve --delivery-*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HealthPolicy {
    /// Consecutive failed attempts that make a healthy destination failing.
    pub failing_after: u32,
    /// The first probe interval...
    pub probe_first_ms: i64,
    /// ...doubled after each failed probe up to this.
    pub probe_max_ms: i64,
    /// How long a destination must have failed without a success...
    pub disable_after_ms: i64,
    /// ...and how many failures at least, before it is disabled.
    pub disable_min_failures: u32,
}

impl Default for HealthPolicy {
    fn default() -> Self {
        HealthPolicy {
            failing_after: 5,
            probe_first_ms: 1_000,
            probe_max_ms: 60_000,
            disable_after_ms: 72 * 3_600_000,
            disable_min_failures: 100,
        }
    }
}

/// A destination's row, as far as health goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Health {
    pub state: HealthState,
    pub consecutive_failures: u32,
    /// The first failure of the current run (none while the last attempt
    /// succeeded).
    pub failing_since_ms: Option<i64>,
    /// The current probe interval (0 while healthy).
    pub probe_interval_ms: i64,
    /// When the next probe may go out (failing only).
    pub next_probe_ms: i64,
}

impl Health {
    pub fn healthy() -> Health {
        Health {
            state: HealthState::Healthy,
            consecutive_failures: 0,
            failing_since_ms: None,
            probe_interval_ms: 0,
            next_probe_ms: 0,
        }
    }
}

/// An attempt that began at `started_ms` succeeded. A failing destination
/// recovers when it was its probe: any other attempt was already in flight
/// when it began failing, so its success is old news (counting it made a
/// destination flap between failing and recovered during an outage, and
/// each recovery released the waiting jobs into the outage, spending their
/// retries). For the same reason a success that began before the first
/// failure of the current run does not end the run. A disabled one stays
/// disabled (only a person lifts that), though its run ends.
pub fn on_success(h: &Health, was_probe: bool, started_ms: i64) -> (Health, Option<HealthEvent>) {
    let old_news = h.failing_since_ms.is_some_and(|since| started_ms < since);
    match h.state {
        HealthState::Failing if !was_probe => (h.clone(), None),
        HealthState::Healthy if old_news => (h.clone(), None),
        HealthState::Disabled => (
            Health {
                consecutive_failures: 0,
                failing_since_ms: None,
                ..h.clone()
            },
            None,
        ),
        HealthState::Failing => (Health::healthy(), Some(HealthEvent::Recovered)),
        HealthState::Healthy => (Health::healthy(), None),
    }
}

/// An attempt failed at `now_ms`. `was_probe` says it was the failing
/// destination's probe: only a failed probe grows the interval (jobs that
/// were already in flight when it began failing would otherwise push the
/// next probe to the bound at once).
pub fn on_failure(
    h: &Health,
    now_ms: i64,
    was_probe: bool,
    p: &HealthPolicy,
) -> (Health, Option<HealthEvent>) {
    let mut n = h.clone();
    n.consecutive_failures = h.consecutive_failures.saturating_add(1);
    let since = *n.failing_since_ms.get_or_insert(now_ms);
    let mut event = None;
    match h.state {
        HealthState::Disabled => return (n, None),
        HealthState::Healthy if n.consecutive_failures >= p.failing_after.max(1) => {
            n.state = HealthState::Failing;
            n.probe_interval_ms = p.probe_first_ms.max(1);
            n.next_probe_ms = now_ms + n.probe_interval_ms;
            event = Some(HealthEvent::Failing);
        }
        HealthState::Healthy => {}
        HealthState::Failing if was_probe => {
            n.probe_interval_ms = grow(h.probe_interval_ms, p);
            n.next_probe_ms = now_ms + n.probe_interval_ms;
        }
        HealthState::Failing => {}
    }
    if n.state == HealthState::Failing
        && now_ms - since >= p.disable_after_ms
        && n.consecutive_failures >= p.disable_min_failures
    {
        n.state = HealthState::Disabled;
        event = Some(HealthEvent::Disabled);
    }
    (n, event)
}

/// A person re-enables it: healthy with a clean run.
pub fn on_enable(h: &Health) -> (Health, Option<HealthEvent>) {
    let event = (h.state != HealthState::Healthy).then_some(HealthEvent::Enabled);
    (Health::healthy(), event)
}

/// The interval after a failed probe: doubled, within [first, max].
pub fn grow(interval_ms: i64, p: &HealthPolicy) -> i64 {
    let first = p.probe_first_ms.max(1);
    interval_ms
        .max(first / 2)
        .saturating_mul(2)
        .clamp(first, p.probe_max_ms.max(first))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> HealthPolicy {
        HealthPolicy {
            failing_after: 3,
            probe_first_ms: 1_000,
            probe_max_ms: 60_000,
            disable_after_ms: 72 * 3_600_000,
            disable_min_failures: 10,
        }
    }

    fn fail_n(mut h: Health, n: u32, start: i64, probe: bool) -> (Health, Vec<HealthEvent>) {
        let mut events = Vec::new();
        for i in 0..n {
            let (next, e) = on_failure(&h, start + i64::from(i), probe, &policy());
            h = next;
            events.extend(e);
        }
        (h, events)
    }

    #[test]
    fn failing_after_n_in_a_row_and_announced_once() {
        let (h, events) = fail_n(Health::healthy(), 2, 100, false);
        assert_eq!(h.state, HealthState::Healthy);
        assert!(events.is_empty());
        assert_eq!(h.failing_since_ms, Some(100));
        let (h, e) = on_failure(&h, 500, false, &policy());
        assert_eq!(h.state, HealthState::Failing);
        assert_eq!(e, Some(HealthEvent::Failing));
        assert_eq!(h.probe_interval_ms, 1_000);
        assert_eq!(h.next_probe_ms, 1_500);
        // more failures of jobs in flight: no second event, no growth
        let (h2, events) = fail_n(h.clone(), 5, 600, false);
        assert!(events.is_empty());
        assert_eq!(h2.state, HealthState::Failing);
        assert_eq!((h2.probe_interval_ms, h2.next_probe_ms), (1_000, 1_500));
        assert_eq!(h2.consecutive_failures, 8);
    }

    #[test]
    fn a_success_in_between_restarts_the_count() {
        let (h, _) = fail_n(Health::healthy(), 2, 0, false);
        // a success that began before the run's first failure is old news
        assert_eq!(on_success(&h, false, -1), (h.clone(), None));
        let (h, e) = on_success(&h, false, 5);
        assert_eq!((h.clone(), e), (Health::healthy(), None));
        let (h, events) = fail_n(h, 2, 10, false);
        assert_eq!(h.state, HealthState::Healthy);
        assert!(events.is_empty());
    }

    #[test]
    fn the_probe_interval_doubles_up_to_the_bound() {
        let (mut h, _) = fail_n(Health::healthy(), 3, 0, false);
        let mut seen = vec![h.probe_interval_ms];
        for i in 0..10 {
            let now = 10_000 * (i + 1);
            h = on_failure(&h, now, true, &policy()).0;
            assert_eq!(h.next_probe_ms, now + h.probe_interval_ms);
            seen.push(h.probe_interval_ms);
        }
        assert_eq!(
            seen,
            [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000, 60_000, 60_000]
        );
        assert_eq!(grow(0, &policy()), 1_000);
    }

    #[test]
    fn disabled_only_after_the_duration_and_the_minimum_count() {
        let hour = 3_600_000;
        let (h, _) = fail_n(Health::healthy(), 3, 0, false);
        // many failures, but not for long: still failing
        let (h, events) = fail_n(h, 50, 1_000, true);
        assert_eq!(h.state, HealthState::Failing);
        assert!(events.is_empty());
        // long enough and enough failures
        let (d, e) = on_failure(&h, 72 * hour, true, &policy());
        assert_eq!(d.state, HealthState::Disabled);
        assert_eq!(e, Some(HealthEvent::Disabled));
        // long enough but too few failures: still failing
        let (few, _) = fail_n(Health::healthy(), 3, 0, false);
        let (few, e) = on_failure(&few, 100 * hour, true, &policy());
        assert_eq!(few.consecutive_failures, 4);
        assert_eq!(few.state, HealthState::Failing);
        assert_eq!(e, None);
        // disabled stays disabled: failures are counted, nothing announced
        let (d2, e) = on_failure(&d, 73 * hour, true, &policy());
        assert_eq!(d2.state, HealthState::Disabled);
        assert_eq!(e, None);
        // and a success in flight does not lift it
        assert_eq!(
            on_success(&d2, false, 80 * hour).0.state,
            HealthState::Disabled
        );
        assert_eq!(on_success(&d2, false, 80 * hour).1, None);
    }

    #[test]
    fn recovered_by_a_successful_probe_and_enabled_by_a_person() {
        let (h, _) = fail_n(Health::healthy(), 4, 0, false);
        // a job in flight since before it began failing: old news
        assert_eq!(on_success(&h, false, 10), (h.clone(), None));
        let (r, e) = on_success(&h, true, 10);
        assert_eq!(r, Health::healthy());
        assert_eq!(e, Some(HealthEvent::Recovered));
        let disabled = Health {
            state: HealthState::Disabled,
            ..h
        };
        assert_eq!(
            on_enable(&disabled),
            (Health::healthy(), Some(HealthEvent::Enabled))
        );
        assert_eq!(on_enable(&Health::healthy()).1, None);
    }

    #[test]
    fn names_round_trip() {
        for s in ["healthy", "failing", "disabled"] {
            assert_eq!(HealthState::parse(s).unwrap().as_str(), s);
        }
        for s in ["failing", "recovered", "disabled", "enabled"] {
            assert_eq!(HealthEvent::parse(s).unwrap().as_str(), s);
        }
    }
}
