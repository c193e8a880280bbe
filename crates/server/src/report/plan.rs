//! Which rollup rows a report reads, and how their figures reach its time
//! labels.
//!
//! The rollups are kept per UTC calendar month, UTC week, UTC day and 15
//! minutes. A report's labels (local days in Berlin, months in Kolkata, or
//! one label for the whole range) rarely fall on UTC days, and the range's
//! ends rarely do. Reading every 15-minute row of such a range is slow (90
//! days of them is 8,640 buckets). Instead a month, week or day row is read
//! whole and given to the label that holds most of it; the parts of that
//! bucket that belong elsewhere are read too (as whole UTC days where they
//! can be, else as 15-minute rows), taken back from that label and given to
//! their own (or to none, outside the range). Every figure is a sum, so
//! this is exact: a Berlin week is one week row and eight 15-minute rows,
//! and 90 UTC days from the 2nd of a month are three month rows and a day.
//! Where the tracker keeps local days (`LocalDays`: a timezone's days in
//! the day tables beside UTC's), those are day rows to read too: a Kolkata
//! day is then one row per key, not a UTC day and 22 quarter hours.

use std::collections::{BTreeMap, HashMap};

use clickledger_store::{local_day_start, Grain, LocalDays};

pub(super) const QUARTER_MS: i64 = 900_000;
const DAY_MS: i64 = 86_400_000;

/// How one range inside a coarse bucket is corrected: by its 15-minute
/// rows, or by its whole UTC days' rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misfit {
    pub start: i64,
    pub end: i64,
    /// The label its coarse bucket went to: taken back from there.
    pub taken_from: usize,
    /// Inside the report's range: also given to its own label.
    pub in_range: bool,
}

/// What a report reads.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Per grain (in `Grain::ALL` order), the UTC ranges to read.
    pub ranges: [Vec<(i64, i64)>; Grain::ALL.len()],
    /// Month, week and day buckets read whole: (grain, bucket start) → the
    /// label (an index into the labels) they go to.
    pub coarse: HashMap<(Grain, i64), usize>,
    /// 15-minute ranges that correct the coarse buckets, in time order.
    pub misfits: Vec<Misfit>,
    /// Whole UTC days that correct the coarse buckets, in time order. They
    /// are read on their own (`correction_days`): a report without time
    /// sums each read's rows per key, and these are taken back.
    pub day_misfits: Vec<Misfit>,
}

impl Plan {
    /// Everything from 15-minute rows (for reads no rollup serves).
    pub fn quarters(from: i64, to: i64) -> Plan {
        let mut p = Plan::default();
        if from < to {
            p.ranges[Grain::Quarter.index()].push((from, to));
        }
        p
    }

    /// From the earliest to the latest time any row read covers (coarse
    /// rows may reach past the labels, corrected by finer ones).
    pub fn span(&self) -> Option<(i64, i64)> {
        let corrections = self.correction_days();
        let ranges = self.ranges.iter().flatten().chain(&corrections);
        let from = ranges.clone().map(|r| r.0).min()?;
        let to = ranges.map(|r| r.1).max()?;
        Some((from, to))
    }

    /// The label a coarse row goes to.
    pub fn coarse_label(&self, grain: Grain, bucket: i64) -> Option<usize> {
        self.coarse.get(&(grain, bucket)).copied()
    }

    /// The correction covering a 15-minute bucket (`Grain::Quarter`) or a
    /// day bucket (`Grain::Day`), if any.
    pub fn misfit(&self, grain: Grain, bucket: i64) -> Option<&Misfit> {
        let list = if grain == Grain::Quarter {
            &self.misfits
        } else {
            &self.day_misfits
        };
        let i = list.partition_point(|m| m.end <= bucket);
        list.get(i).filter(|m| m.start <= bucket && bucket < m.end)
    }

    /// The day rows read as corrections.
    pub fn correction_days(&self) -> Vec<(i64, i64)> {
        let mut out = Vec::new();
        for m in &self.day_misfits {
            join(&mut out, m.start, m.end);
        }
        out
    }

    fn read(&mut self, grain: Grain, start: i64, end: i64) {
        join(&mut self.ranges[grain.index()], start, end);
    }
}

/// Appends `[start, end)` to ranges in time order, joined to the last one
/// where they touch.
fn join(ranges: &mut Vec<(i64, i64)>, start: i64, end: i64) {
    match ranges.last_mut() {
        Some(last) if last.1 == start => last.1 = end,
        _ => ranges.push((start, end)),
    }
}

/// One step of a plan: a bucket read whole, or the 15-minute rows of a
/// range.
#[derive(Clone, Copy)]
enum Step {
    Whole(Grain, i64, i64, Coarse),
    Quarters(i64, i64),
}

/// Plans a report over `labels`: contiguous `(start, end)` UTC ranges, in
/// order, each one time label (one range for a report without time).
/// Every boundary is on a 15-minute bucket.
///
/// The plan is the cheapest in rows read per key. Each step (a month, week
/// or day, UTC or `local`, read whole where it may start, or the 15-minute
/// rows up to the next day start) ends on a day boundary or at the range's
/// end, so the cheapest way to reach each of those points is found in
/// time order: a week read whole across the 1st of a month cannot keep
/// that month from being read whole, as a step-by-step choice would.
pub fn plan(labels: &[(i64, i64)], local: &[LocalDays]) -> Plan {
    let (Some(first), Some(last)) = (labels.first(), labels.last()) else {
        return Plan::default();
    };
    let (from, to) = (first.0, last.1);
    let planner = Planner {
        labels,
        local,
        from,
        to,
        days_aligned: labels
            .iter()
            .all(|(a, b)| a.rem_euclid(DAY_MS) == 0 && b.rem_euclid(DAY_MS) == 0),
    };
    // per point reached: the least cost to it, and the step that got there
    let mut best: BTreeMap<i64, (i64, Option<Step>)> = BTreeMap::from([(from, (0, None))]);
    let mut t = from;
    while t < to {
        let cost = best[&t].0;
        for step in planner.steps(t) {
            let (end, c) = match step {
                Step::Whole(_, _, e, whole) => (e.min(to), whole.cost),
                Step::Quarters(s, e) => (e, quarters(s, e)),
            };
            let reached = best.entry(end).or_insert((i64::MAX, None));
            if cost + c < reached.0 {
                *reached = (cost + c, Some(step));
            }
        }
        t = *best.range(t + 1..).next().expect("a step ends later").0;
    }
    let mut steps = Vec::new();
    let mut at = to;
    while let Some(step) = best[&at].1 {
        steps.push(step);
        at = match step {
            Step::Whole(_, s, _, _) => s.max(from),
            Step::Quarters(s, _) => s,
        };
    }
    let mut p = Plan::default();
    for step in steps.into_iter().rev() {
        match step {
            Step::Whole(grain, s, e, whole) => planner.take(&mut p, grain, s, e, whole),
            Step::Quarters(s, e) => p.read(Grain::Quarter, s, e),
        }
    }
    p.misfits.sort_by_key(|m| m.start);
    p.day_misfits.sort_by_key(|m| m.start);
    p
}

/// `ranges` (of `grain`'s buckets) cut into at most `parts` pieces of
/// about as many buckets each, to be read side by side. An unaligned end
/// (a raw read) stays in its bucket's piece.
pub fn split(ranges: &[(i64, i64)], grain: Grain, parts: usize) -> Vec<Vec<(i64, i64)>> {
    let buckets: Vec<(i64, i64)> = ranges
        .iter()
        .flat_map(|&(a, b)| {
            std::iter::successors(Some(a), move |s| Some(bucket_end(grain, *s)))
                .take_while(move |s| *s < b)
                .map(move |s| (s, bucket_end(grain, s).min(b)))
        })
        .collect();
    let per = (buckets.len() / parts.max(1)).max(1);
    let mut out: Vec<Vec<(i64, i64)>> = Vec::new();
    for (i, (s, e)) in buckets.into_iter().enumerate() {
        if i % per == 0 && out.len() < parts {
            out.push(Vec::new());
        }
        join(out.last_mut().expect("a piece"), s, e);
    }
    out
}

/// The end of the bucket holding `ms`. A day range starts on a day, UTC
/// or local (`LocalDays`), and its days follow one another.
fn bucket_end(grain: Grain, ms: i64) -> i64 {
    if grain == Grain::Day {
        return ms + DAY_MS;
    }
    grain.end(grain.start(ms))
}

fn quarters(a: i64, b: i64) -> i64 {
    (b - a).max(0) / QUARTER_MS
}

/// A coarse bucket's cost in rows read (its own, plus the rows that
/// correct it) and the label it goes to.
#[derive(Clone, Copy)]
struct Coarse {
    cost: i64,
    label: usize,
}

/// Rows that correct a coarse bucket read whole: `[start, end)` at
/// `grain` (15 minutes or whole days), inside the range or not.
struct Correction {
    grain: Grain,
    start: i64,
    end: i64,
    in_range: bool,
}

struct Planner<'a> {
    labels: &'a [(i64, i64)],
    /// Local days the day tables hold beside UTC days.
    local: &'a [LocalDays],
    from: i64,
    to: i64,
    /// Every label starts and ends on a UTC day: a misfit inside the range
    /// may be corrected by whole days, each within one label.
    days_aligned: bool,
}

impl Planner<'_> {
    /// The steps that may follow `t`: a bucket starts there (or, at the
    /// range's start, before it), or the 15-minute rows to the next day.
    fn steps(&self, t: i64) -> Vec<Step> {
        let may_start = |s: i64| s == t || (t == self.from && s < self.from);
        let mut out = Vec::with_capacity(4);
        // a local day is a day row too, where its rows are complete
        let local = self
            .local
            .iter()
            .map(|l| (local_day_start(t, l.phase_ms), l.since_ms))
            .filter(|(s, since)| s >= since)
            .map(|(s, _)| (Grain::Day, s));
        let coarse = [Grain::Month, Grain::Week, Grain::Day].map(|g| (g, g.start(t)));
        for (grain, s) in coarse.into_iter().chain(local) {
            if !may_start(s) {
                continue;
            }
            let e = grain.end(s);
            let whole = self.coarse(s, e);
            // a day row has more keys than a 15-minute one, and a
            // correction is applied twice: it pays from half the day
            if grain != Grain::Day || 2 * whole.cost < quarters(s.max(self.from), e.min(self.to)) {
                out.push(Step::Whole(grain, s, e, whole));
            }
        }
        // 15-minute rows up to the next day start, UTC or local
        let next = self
            .local
            .iter()
            .map(|l| local_day_start(t, l.phase_ms) + DAY_MS)
            .fold(Grain::Day.end(Grain::Day.start(t)), i64::min);
        out.push(Step::Quarters(t, next.min(self.to)));
        out
    }

    /// Reading `[s, e)` whole: it goes to the label covering most of it.
    fn coarse(&self, s: i64, e: i64) -> Coarse {
        let first = self.labels.partition_point(|l| l.1 <= s);
        let (mut label, mut most) = (first, 0);
        for (i, l) in self.labels.iter().enumerate().skip(first) {
            if l.0 >= e {
                break;
            }
            let overlap = l.1.min(e) - l.0.max(s);
            if overlap > most {
                (label, most) = (i, overlap);
            }
        }
        let label = label.min(self.labels.len() - 1);
        let cost = 1 + self
            .corrections(s, e, label)
            .iter()
            .map(|c| {
                let rows = match c.grain {
                    Grain::Day => (c.end - c.start) / DAY_MS,
                    _ => quarters(c.start, c.end),
                };
                // taken back and given again: a month of days read whole
                // and corrected would cost what its days do, and read twice
                if c.in_range {
                    2 * rows
                } else {
                    rows
                }
            })
            .sum::<i64>();
        Coarse { cost, label }
    }

    /// What corrects `[s, e)` read whole for `label`: each misfit's whole
    /// UTC days where a day row can correct them, 15-minute rows for the
    /// rest (its ends, or all of it).
    fn corrections(&self, s: i64, e: i64, label: usize) -> Vec<Correction> {
        let mut out = Vec::new();
        for (a, b, in_range) in self.misfits(s, e, label) {
            if a >= b {
                continue;
            }
            let (da, db) = self.whole_days(a, b, in_range);
            for (grain, start, end) in [
                (Grain::Quarter, a, da),
                (Grain::Day, da, db),
                (Grain::Quarter, db, b),
            ] {
                if start < end {
                    out.push(Correction {
                        grain,
                        start,
                        end,
                        in_range,
                    });
                }
            }
        }
        out
    }

    /// The parts of `[s, e)` that do not belong to `label`: outside the
    /// range, then other labels inside it, in time order.
    fn misfits(&self, s: i64, e: i64, label: usize) -> [(i64, i64, bool); 4] {
        let (keep_from, keep_to) = self.labels[label];
        [
            (s, self.from.min(e), false),
            (s.max(self.from), keep_from.min(e), true),
            (keep_to.max(s), e.min(self.to), true),
            (self.to.max(s), e, false),
        ]
    }

    /// The whole UTC days of a misfit `[a, b)` that a day row can correct
    /// (`(x, x)` when none): outside the range any day can, inside it only
    /// when every label is whole days.
    fn whole_days(&self, a: i64, b: i64, in_range: bool) -> (i64, i64) {
        let first = Grain::Day.start(a + DAY_MS - 1);
        let last = Grain::Day.start(b);
        if a >= b || first >= last || (in_range && !self.days_aligned) {
            return (b.max(a), b.max(a));
        }
        (first, last)
    }

    /// Reads `[s, e)` whole for `c.label`, with its corrections.
    fn take(&self, p: &mut Plan, grain: Grain, s: i64, e: i64, c: Coarse) {
        p.read(grain, s, e);
        p.coarse.insert((grain, s), c.label);
        for fix in self.corrections(s, e, c.label) {
            let misfit = Misfit {
                start: fix.start,
                end: fix.end,
                taken_from: c.label,
                in_range: fix.in_range,
            };
            if fix.grain == Grain::Day {
                p.day_misfits.push(misfit);
            } else {
                p.read(Grain::Quarter, fix.start, fix.end);
                p.misfits.push(misfit);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;
    const D: i64 = 24 * H;
    /// 2026-11-30, a Monday.
    const MONDAY: i64 = 1_796_083_200_000 - D;

    fn days(first: i64, n: i64, shift: i64) -> Vec<(i64, i64)> {
        (0..n)
            .map(|i| (first + i * D + shift, first + (i + 1) * D + shift))
            .collect()
    }

    /// Adds up what each label receives for a figure of 1 per 15 minutes,
    /// the way `report::run` applies the plan.
    fn received(labels: &[(i64, i64)], p: &Plan) -> Vec<i64> {
        let mut got = vec![0; labels.len()];
        let own = |ms: i64| labels.iter().position(|l| l.0 <= ms && ms < l.1);
        for g in Grain::ALL {
            for (a, b) in &p.ranges[g.index()] {
                let mut s = *a;
                while s < *b {
                    let e = bucket_end(g, s);
                    if g == Grain::Quarter {
                        match p.misfit(g, s) {
                            Some(m) => {
                                got[m.taken_from] -= 1;
                                if m.in_range {
                                    got[own(s).unwrap()] += 1;
                                }
                            }
                            None => got[own(s).unwrap()] += 1,
                        }
                    } else {
                        got[p.coarse_label(g, s).unwrap()] += (e - s) / QUARTER_MS;
                    }
                    s = e;
                }
            }
        }
        for (a, b) in p.correction_days() {
            for d in (a..b).step_by(D as usize) {
                let m = p.misfit(Grain::Day, d).expect("a correction day");
                got[m.taken_from] -= D / QUARTER_MS;
                if m.in_range {
                    got[own(d).unwrap()] += D / QUARTER_MS;
                }
            }
        }
        got
    }

    /// Rows read per key, the planner's cost.
    fn rows(p: &Plan) -> i64 {
        let quarter_rows: i64 = p.ranges[0].iter().map(|(a, b)| quarters(*a, *b)).sum();
        let days: i64 = p.correction_days().iter().map(|(a, b)| (b - a) / D).sum();
        p.coarse.len() as i64 + quarter_rows + days
    }

    fn at(s: &str) -> i64 {
        clickledger_domain::time::parse_rfc3339_ms(s).unwrap()
    }

    #[test]
    fn ninety_days_from_the_2nd_read_three_months_and_a_day() {
        // the benchmark's range: 2026-09-02 to the end of November
        let all = [(
            at("2026-09-02T00:00:00.000Z"),
            at("2026-12-01T00:00:00.000Z"),
        )];
        let p = plan(&all, &[]);
        assert_eq!(p.coarse.len(), 3, "{p:?}");
        assert!(p.coarse.keys().all(|(g, _)| *g == Grain::Month), "{p:?}");
        // September 1st, outside the range, is taken back as a day row
        assert_eq!(
            p.correction_days(),
            vec![(at("2026-09-01T00:00:00.000Z"), all[0].0)]
        );
        assert!(p.ranges[Grain::Quarter.index()].is_empty(), "{p:?}");
        assert_eq!(received(&all, &p), expected(&all));
        // by UTC day the months are no use: one row a day
        let labels = days(all[0].0, 90, 0);
        let p = plan(&labels, &[]);
        assert_eq!(p.ranges[Grain::Day.index()], vec![all[0]]);
        assert_eq!(rows(&p), 90);
        assert_eq!(received(&labels, &p), expected(&labels));
    }

    #[test]
    fn months_in_kolkata_and_weeks_across_a_month() {
        let shift = -(5 * H + 30 * 60_000);
        let month = |m: &str| at(&format!("2026-{m}-01T00:00:00.000Z")) + shift;
        let labels = [
            (month("09"), month("10")),
            (month("10"), month("11")),
            (month("11"), month("12")),
        ];
        let p = plan(&labels, &[]);
        assert_eq!(received(&labels, &p), expected(&labels));
        // a month row each, corrected by 22 quarters at each end
        assert_eq!(p.coarse.len(), 3, "{p:?}");
        assert!(rows(&p) <= 3 + 2 * 3 * 22, "{}: {p:?}", rows(&p));
        // 30 days that cross the 1st: the week across it is read whole
        let all = [(
            at("2026-10-19T00:00:00.000Z"),
            at("2026-11-16T00:00:00.000Z"),
        )];
        let p = plan(&all, &[]);
        assert_eq!(rows(&p), 4, "{p:?}");
        assert_eq!(received(&all, &p), expected(&all));
    }

    fn expected(labels: &[(i64, i64)]) -> Vec<i64> {
        labels.iter().map(|(a, b)| (b - a) / QUARTER_MS).collect()
    }

    #[test]
    fn utc_days_read_day_and_week_rows_only() {
        let labels = days(MONDAY - 14 * D, 14, 0);
        let p = plan(&labels, &[]);
        // a week row would need six days of corrections; days need none
        assert_eq!(
            p.ranges[Grain::Day.index()],
            vec![(MONDAY - 14 * D, MONDAY)]
        );
        assert!(p.ranges[Grain::Week.index()].is_empty());
        assert!(p.ranges[Grain::Quarter.index()].is_empty());
        assert_eq!(received(&labels, &p), expected(&labels));
        let all = [(MONDAY - 14 * D, MONDAY)];
        let p = plan(&all, &[]);
        assert_eq!(
            p.ranges[Grain::Week.index()],
            vec![(MONDAY - 14 * D, MONDAY)]
        );
        assert_eq!(received(&all, &p), expected(&all));
    }

    #[test]
    fn berlin_weeks_read_a_week_row_and_an_hour_each_side() {
        let labels: Vec<(i64, i64)> = (0..4)
            .map(|i| (MONDAY - (4 - i) * 7 * D - H, MONDAY - (3 - i) * 7 * D - H))
            .collect();
        let p = plan(&labels, &[]);
        assert_eq!(p.coarse.len(), 4, "{p:?}");
        let quarter_rows: i64 = p.ranges[0].iter().map(|(a, b)| quarters(*a, *b)).sum();
        assert!(quarter_rows <= 4 * 8, "{p:?}");
        assert_eq!(received(&labels, &p), expected(&labels));
    }

    #[test]
    fn kolkata_days_and_a_range_off_the_utc_day() {
        let shift = -(5 * H + 30 * 60_000);
        let labels = days(MONDAY - 20 * D, 20, shift);
        let p = plan(&labels, &[]);
        assert_eq!(received(&labels, &p), expected(&labels));
        let all = [(labels[0].0, labels[19].1)];
        let p = plan(&all, &[]);
        assert_eq!(received(&all, &p), expected(&all));
        let quarter_rows: i64 = p.ranges[0].iter().map(|(a, b)| quarters(*a, *b)).sum();
        assert!(quarter_rows <= 22 + 22, "{p:?}");
    }

    #[test]
    fn reads_split_into_pieces_of_whole_buckets() {
        let q = 900_000;
        let ranges = [(0, 10 * q), (20 * q, 27 * q)];
        let pieces = split(&ranges, Grain::Quarter, 2);
        assert_eq!(
            pieces,
            vec![vec![(0, 8 * q)], vec![(8 * q, 10 * q), (20 * q, 27 * q)]]
        );
        assert_eq!(split(&ranges, Grain::Quarter, 1), vec![ranges.to_vec()]);
        let many = split(&ranges, Grain::Quarter, 40);
        assert_eq!(many.len(), 17);
        assert!(many.iter().all(|p| p.len() == 1 && p[0].1 - p[0].0 == q));
        // an unaligned end (a raw read) stays whole in the last piece
        let odd = [(0, 3 * q + 5)];
        let pieces = split(&odd, Grain::Quarter, 2);
        assert_eq!(pieces, vec![vec![(0, 2 * q)], vec![(2 * q, 3 * q + 5)]]);
        // months differ in length: each piece is whole months
        let d = 86_400_000;
        let (sep, oct, dec) = (20_697 * d, 20_727 * d, 20_788 * d);
        let pieces = split(&[(sep, dec)], Grain::Month, 2);
        assert_eq!(pieces, vec![vec![(sep, oct)], vec![(oct, dec)]]);
        assert!(split(&[], Grain::Day, 2).is_empty());
    }

    #[test]
    fn hours_read_15_minute_rows() {
        let labels: Vec<(i64, i64)> = (0..48)
            .map(|i| (MONDAY + i * H, MONDAY + (i + 1) * H))
            .collect();
        let p = plan(&labels, &[]);
        assert!(p.coarse.is_empty());
        assert_eq!(p.ranges[0], vec![(MONDAY, MONDAY + 48 * H)]);
        assert_eq!(received(&labels, &p), expected(&labels));
    }

    #[test]
    fn odd_ranges_add_up() {
        for (from, to) in [
            (MONDAY + 15 * 60_000, MONDAY + 45 * 60_000),
            (MONDAY - 3 * D + 7 * H, MONDAY + 9 * D + 45 * 60_000),
            (MONDAY - 40 * D - 23 * H, MONDAY + 2 * H),
        ] {
            // with local days kept too: Kolkata's, Kathmandu's (from
            // some day on) and those 17 hours 15 minutes after midnight
            let local = [
                kept(D - 5 * H - 30 * 60_000, 0),
                kept(D - 5 * H - 45 * 60_000, MONDAY - 2 * D),
                kept(17 * H + 15 * 60_000, 0),
            ];
            for local in [&[][..], &local] {
                let whole = [(from, to)];
                let p = plan(&whole, local);
                assert_eq!(received(&whole, &p), expected(&whole), "{from} {to}");
                let mut cut = vec![];
                let mut s = from;
                while s < to {
                    let e = (s + 17 * H + 15 * 60_000).min(to);
                    cut.push((s, e));
                    s = e;
                }
                let p = plan(&cut, local);
                assert_eq!(received(&cut, &p), expected(&cut), "{from} {to}");
            }
        }
    }

    fn kept(phase_ms: i64, since_ms: i64) -> LocalDays {
        let since_ms = if since_ms == 0 {
            0
        } else {
            local_day_start(since_ms, phase_ms)
        };
        LocalDays { phase_ms, since_ms }
    }

    #[test]
    fn kolkata_days_read_one_local_day_row_each_where_they_are_kept() {
        let shift = -(5 * H + 30 * 60_000);
        let labels = days(MONDAY - 20 * D, 20, shift);
        let local = [kept(D + shift, 0)];
        let p = plan(&labels, &local);
        assert_eq!(
            p.ranges[Grain::Day.index()],
            vec![(labels[0].0, labels[19].1)]
        );
        assert!(p.ranges[Grain::Quarter.index()].is_empty(), "{p:?}");
        assert_eq!(rows(&p), 20);
        assert_eq!(received(&labels, &p), expected(&labels));
        // kept from the 11th day on: the first ten are UTC days corrected
        let local = [kept(D + shift, labels[10].0)];
        let p = plan(&labels, &local);
        assert!(rows(&p) <= 10 * (1 + 2 * 22) + 10, "{}: {p:?}", rows(&p));
        assert!(p.coarse.contains_key(&(Grain::Day, labels[10].0)), "{p:?}");
        assert!(!p.coarse.contains_key(&(Grain::Day, labels[9].0)), "{p:?}");
        assert_eq!(received(&labels, &p), expected(&labels));
    }

    #[test]
    fn berlin_days_across_the_clock_change_read_local_days_and_an_hour() {
        // 2026-10-25: CEST (+2, days from 22:00 UTC) to CET (+1, 23:00)
        let change = at("2026-10-25T00:00:00.000Z");
        let mut labels = days(change - 5 * D, 5, -2 * H);
        labels.push((change - 2 * H, change + D - H));
        labels.extend(days(change + D, 5, -H));
        let local = [kept(D - 2 * H, 0), kept(D - H, 0)];
        let p = plan(&labels, &local);
        assert_eq!(received(&labels, &p), expected(&labels));
        // eleven day rows and the 25-hour day's extra hour
        assert_eq!(rows(&p), 11 + 4, "{p:?}");
        let quarter_rows: i64 = p.ranges[0].iter().map(|(a, b)| quarters(*a, *b)).sum();
        assert_eq!(quarter_rows, 4, "{p:?}");
    }
}
