//! Which rollup rows a report reads, and how their figures reach its time
//! labels.
//!
//! The rollups are kept per UTC week, UTC day and 15 minutes. A report's
//! labels (local days in Berlin, months in Kolkata, or one label for the
//! whole range) rarely fall on UTC days, and the range's ends rarely do.
//! Reading every 15-minute row of such a range is slow (90 days of them is
//! 8,640 buckets). Instead a week or day row is read whole and given to the
//! label that holds most of it; the few 15-minute rows of that bucket that
//! belong elsewhere are read too, taken back from that label and given to
//! their own (or to none, outside the range). Every figure is a sum, so
//! this is exact: a Berlin week is one week row and eight 15-minute rows.

use std::collections::HashMap;

use clickledger_store::Grain;

pub(super) const QUARTER_MS: i64 = 900_000;
const DAY_MS: i64 = 86_400_000;

/// How one 15-minute range inside a coarse bucket is corrected.
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
    pub ranges: [Vec<(i64, i64)>; 3],
    /// Week and day buckets read whole: (grain, bucket start) → the label
    /// (an index into the labels) they go to.
    pub coarse: HashMap<(Grain, i64), usize>,
    /// 15-minute ranges that correct the coarse buckets, in time order.
    pub misfits: Vec<Misfit>,
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

    /// The label a coarse row goes to.
    pub fn coarse_label(&self, grain: Grain, bucket: i64) -> Option<usize> {
        self.coarse.get(&(grain, bucket)).copied()
    }

    /// The correction covering a 15-minute bucket, if any.
    pub fn misfit(&self, bucket: i64) -> Option<&Misfit> {
        let i = self.misfits.partition_point(|m| m.end <= bucket);
        self.misfits
            .get(i)
            .filter(|m| m.start <= bucket && bucket < m.end)
    }

    fn read(&mut self, grain: Grain, start: i64, end: i64) {
        let v = &mut self.ranges[grain.index()];
        match v.last_mut() {
            Some(last) if last.1 == start => last.1 = end,
            _ => v.push((start, end)),
        }
    }
}

/// Plans a report over `labels`: contiguous `(start, end)` UTC ranges, in
/// order, each one time label (one range for a report without time).
/// Every boundary is on a 15-minute bucket.
pub fn plan(labels: &[(i64, i64)]) -> Plan {
    let (Some(first), Some(last)) = (labels.first(), labels.last()) else {
        return Plan::default();
    };
    let (from, to) = (first.0, last.1);
    let planner = Planner { labels, from, to };
    let mut p = Plan::default();
    let mut t = from;
    while t < to {
        let day = Grain::Day.start(t);
        let day_end = Grain::Day.end(day);
        let week = Grain::Week.start(t);
        let week_end = Grain::Week.end(week);
        // a bucket may begin before the range only at its start
        let may_start = |s: i64| s == t || (t == from && s < from);
        if may_start(week) {
            let whole = planner.coarse(week, week_end);
            let by_days: i64 = (0..7)
                .map(|i| day + i * DAY_MS)
                .take_while(|d| *d < week_end.min(to))
                .map(|d| planner.day_cost(d))
                .sum();
            if whole.cost <= by_days {
                planner.take(&mut p, Grain::Week, week, week_end, whole);
                t = week_end;
                continue;
            }
        }
        let piece_end = day_end.min(to);
        match planner.day_row(day).filter(|_| may_start(day)) {
            Some(whole) => planner.take(&mut p, Grain::Day, day, day_end, whole),
            None => p.read(Grain::Quarter, t, piece_end),
        }
        t = piece_end;
    }
    p.misfits.sort_by_key(|m| m.start);
    p
}

/// `ranges` (of `grain`'s buckets) cut into at most `parts` pieces of
/// about as many buckets each, to be read side by side.
pub fn split(ranges: &[(i64, i64)], grain: Grain, parts: usize) -> Vec<Vec<(i64, i64)>> {
    if ranges.is_empty() {
        return Vec::new();
    }
    let len = grain.end(0);
    let buckets: i64 = ranges.iter().map(|(a, b)| (b - a) / len).sum();
    let per = (buckets / parts.max(1) as i64).max(1);
    let mut out = vec![Vec::new()];
    let mut room = per;
    for &(a, b) in ranges {
        let mut s = a;
        while s < b {
            if room == 0 && out.len() < parts {
                out.push(Vec::new());
                room = per;
            }
            // the rest goes to the last piece
            let take = if out.len() == parts {
                b - s
            } else {
                (room * len).min(b - s)
            };
            out.last_mut().expect("one piece").push((s, s + take));
            room = (room - take / len).max(0);
            s += take;
        }
    }
    out
}

fn quarters(a: i64, b: i64) -> i64 {
    (b - a).max(0) / QUARTER_MS
}

/// A coarse bucket's cost in rows read (its own, plus the 15-minute ones
/// that correct it) and the label it goes to.
#[derive(Clone, Copy)]
struct Coarse {
    cost: i64,
    label: usize,
}

struct Planner<'a> {
    labels: &'a [(i64, i64)],
    from: i64,
    to: i64,
}

impl Planner<'_> {
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
        Coarse {
            cost: 1 + quarters(s, e) - most / QUARTER_MS,
            label: label.min(self.labels.len() - 1),
        }
    }

    /// The day bucket read whole, when that pays: a day row has more keys
    /// than a 15-minute one, and a correction is applied twice, so it pays
    /// from half the 15-minute rows of the day in the range.
    fn day_row(&self, day: i64) -> Option<Coarse> {
        let end = Grain::Day.end(day);
        let whole = self.coarse(day, end);
        (2 * whole.cost < quarters(day.max(self.from), end.min(self.to))).then_some(whole)
    }

    /// The cheaper of a day bucket and its 15-minute rows in the range.
    fn day_cost(&self, day: i64) -> i64 {
        let rows = quarters(day.max(self.from), Grain::Day.end(day).min(self.to));
        self.day_row(day).map_or(rows, |whole| whole.cost)
    }

    /// Reads `[s, e)` whole for `c.label`, with its corrections.
    fn take(&self, p: &mut Plan, grain: Grain, s: i64, e: i64, c: Coarse) {
        p.read(grain, s, e);
        p.coarse.insert((grain, s), c.label);
        let (keep_from, keep_to) = self.labels[c.label];
        let mut misfit = |a: i64, b: i64, in_range: bool| {
            if a < b {
                p.read(Grain::Quarter, a, b);
                p.misfits.push(Misfit {
                    start: a,
                    end: b,
                    taken_from: c.label,
                    in_range,
                });
            }
        };
        // outside the range, then other labels inside it, in time order
        misfit(s, self.from.min(e), false);
        misfit(s.max(self.from), keep_from.min(e), true);
        misfit(keep_to.max(s), e.min(self.to), true);
        misfit(self.to.max(s), e, false);
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
                    let e = g.end(g.start(s));
                    if g == Grain::Quarter {
                        match p.misfit(s) {
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
        got
    }

    fn expected(labels: &[(i64, i64)]) -> Vec<i64> {
        labels.iter().map(|(a, b)| (b - a) / QUARTER_MS).collect()
    }

    #[test]
    fn utc_days_read_day_and_week_rows_only() {
        let labels = days(MONDAY - 14 * D, 14, 0);
        let p = plan(&labels);
        // a week row would need six days of corrections; days need none
        assert_eq!(
            p.ranges[Grain::Day.index()],
            vec![(MONDAY - 14 * D, MONDAY)]
        );
        assert!(p.ranges[Grain::Week.index()].is_empty());
        assert!(p.ranges[Grain::Quarter.index()].is_empty());
        assert_eq!(received(&labels, &p), expected(&labels));
        let all = [(MONDAY - 14 * D, MONDAY)];
        let p = plan(&all);
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
        let p = plan(&labels);
        assert_eq!(p.coarse.len(), 4, "{p:?}");
        let quarter_rows: i64 = p.ranges[0].iter().map(|(a, b)| quarters(*a, *b)).sum();
        assert!(quarter_rows <= 4 * 8, "{p:?}");
        assert_eq!(received(&labels, &p), expected(&labels));
    }

    #[test]
    fn kolkata_days_and_a_range_off_the_utc_day() {
        let shift = -(5 * H + 30 * 60_000);
        let labels = days(MONDAY - 20 * D, 20, shift);
        let p = plan(&labels);
        assert_eq!(received(&labels, &p), expected(&labels));
        let all = [(labels[0].0, labels[19].1)];
        let p = plan(&all);
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
        assert_eq!(pieces, vec![vec![(0, q)], vec![(q, 3 * q + 5)]]);
        assert!(split(&[], Grain::Day, 2).is_empty());
    }

    #[test]
    fn hours_read_15_minute_rows() {
        let labels: Vec<(i64, i64)> = (0..48)
            .map(|i| (MONDAY + i * H, MONDAY + (i + 1) * H))
            .collect();
        let p = plan(&labels);
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
            let whole = [(from, to)];
            let p = plan(&whole);
            assert_eq!(received(&whole, &p), expected(&whole), "{from} {to}");
            let mut cut = vec![];
            let mut s = from;
            while s < to {
                let e = (s + 17 * H + 15 * 60_000).min(to);
                cut.push((s, e));
                s = e;
            }
            let p = plan(&cut);
            assert_eq!(received(&cut, &p), expected(&cut), "{from} {to}");
        }
    }
}
