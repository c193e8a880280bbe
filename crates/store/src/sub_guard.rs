//! The sub-value guard: how many distinct values of a sub slot the click
//! rollups keep per UTC day.
//!
//! sub1 to sub5 are the affiliate's to fill. Most put a campaign, ad or
//! placement id there (tens to thousands of values a day), but some put
//! their own click id: a value per click. Each new value is a new row in
//! every rollup shape holding the slot, at every grain (28 rows a click
//! for sub1), and that cut durable redirects from about 26,000 a second to
//! 1,600 (docs/BENCHMARKS.md).
//!
//! So a writer keeps at most `DISTINCT_PER_DAY` values of a slot per UTC
//! day; a click with another value past that is counted under `OTHER` in
//! the slot's rollups, and the day is recorded in `sub_value_overflows`
//! in the same transaction as the click, before any such row is folded.
//! Totals stay exact: the `OTHER` row sums with the rest in every report
//! that does not use the slot, and a report that groups or filters by the
//! slot over a recorded day reads raw clicks instead (`Store::
//! sub_overflows`), which are the truth.
//!
//! The count is each writer's own and starts again when the process
//! does: a day may hold up to `DISTINCT_PER_DAY` values more per restart
//! and per PostgreSQL node. Conversion rollups keep every value (a
//! conversion is rarer than a click, and the report reads raw rows for
//! such a day anyway).

use std::collections::{BTreeSet, HashMap, HashSet};

/// Distinct values of one slot kept per UTC day by one writer: far above
/// campaign, ad or placement ids (the benchmark's 500 ad ids), far below
/// a click id per click.
pub const DISTINCT_PER_DAY: usize = 10_000;

/// The value a click past the cap is counted under.
pub const OTHER: &str = "(other)";

/// Days of values kept: a writer sees today's clicks, and yesterday's
/// from a journal replayed or a slow batch.
const DAYS_KEPT: usize = 4;

const DAY_MS: i64 = 86_400_000;

#[derive(Default)]
pub(crate) struct SubGuard {
    /// (slot, UTC day) → the values kept (std's keyed hash: visitors
    /// choose them, as in `KeyValues`).
    kept: HashMap<(u8, i64), HashSet<Box<str>>>,
    /// (slot, UTC day) a batch counted a value under `OTHER`, to record.
    over: BTreeSet<(u8, i64)>,
}

impl SubGuard {
    /// The value to key sub slot `slot` of a click at `ts_ms` under:
    /// `value` itself, or `OTHER` once the day has its fill of others.
    pub(crate) fn key<'v>(&mut self, slot: u8, ts_ms: i64, value: &'v str) -> &'v str {
        // a click without the slot costs nothing
        if value.is_empty() {
            return value;
        }
        let day = ts_ms.div_euclid(DAY_MS) * DAY_MS;
        if !self.kept.contains_key(&(slot, day)) {
            self.forget_old(day);
        }
        let kept = self.kept.entry((slot, day)).or_default();
        if kept.contains(value) {
            return value;
        }
        if kept.len() < DISTINCT_PER_DAY {
            kept.insert(value.into());
            return value;
        }
        self.over.insert((slot, day));
        OTHER
    }

    /// Starts a batch: what the last one put past the cap is recorded.
    pub(crate) fn start_batch(&mut self) {
        self.over.clear();
    }

    /// (slot, UTC day) this batch counted under `OTHER`: the writer records
    /// them in the batch's transaction, every batch (the insert ignores a
    /// day already recorded; a batch rolled back takes its record and its
    /// sums with it).
    pub(crate) fn overflows(&self) -> impl Iterator<Item = (u8, i64)> + '_ {
        self.over.iter().copied()
    }

    /// Keeps the newest `DAYS_KEPT - 1` days (of any slot) before `day`
    /// is added, whatever its age: memory stays bounded however late the
    /// clicks a journal replays.
    fn forget_old(&mut self, day: i64) {
        let days: BTreeSet<i64> = self.kept.keys().map(|(_, d)| *d).collect();
        if days.contains(&day) || days.len() < DAYS_KEPT {
            return;
        }
        if let Some(keep_from) = days.iter().rev().nth(DAYS_KEPT - 2).copied() {
            self.kept.retain(|(_, d), _| *d >= keep_from);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_keeps_its_cap_of_values_a_day_and_counts_the_rest_as_other() {
        let mut g = SubGuard::default();
        let day = 20_000 * DAY_MS;
        g.start_batch();
        for n in 0..DISTINCT_PER_DAY {
            assert_eq!(g.key(1, day + 5, &format!("v{n}")), format!("v{n}"));
        }
        assert_eq!(g.overflows().count(), 0);
        // a value kept stays itself; a new one is other; an empty one is ''
        assert_eq!(g.key(1, day + 9, "v7"), "v7");
        assert_eq!(g.key(1, day + 9, "new"), OTHER);
        assert_eq!(g.key(1, day + 9, ""), "");
        // another slot, and the next day, count on their own
        assert_eq!(g.key(2, day, "new"), "new");
        assert_eq!(g.key(1, day + DAY_MS, "new"), "new");
        assert_eq!(g.overflows().collect::<Vec<_>>(), vec![(1, day)]);
        g.start_batch();
        assert_eq!(g.overflows().count(), 0);
        assert_eq!(g.key(1, day + 1, "another"), OTHER);
        assert_eq!(g.overflows().collect::<Vec<_>>(), vec![(1, day)]);
    }

    #[test]
    fn old_days_are_forgotten_and_the_newest_kept() {
        let mut g = SubGuard::default();
        for d in 0..10 {
            g.key(1, d * DAY_MS, "x");
            g.key(3, d * DAY_MS, "y");
        }
        let mut days: Vec<i64> = g.kept.keys().map(|(_, d)| d / DAY_MS).collect();
        days.sort();
        days.dedup();
        assert_eq!(days, vec![6, 7, 8, 9]);
        // a late click for a forgotten day starts it again, in the place
        // of the oldest kept
        g.key(1, 2 * DAY_MS, "x");
        let mut days: Vec<i64> = g.kept.keys().map(|(_, d)| d / DAY_MS).collect();
        days.sort();
        days.dedup();
        assert_eq!(days, vec![2, 7, 8, 9]);
    }
}
