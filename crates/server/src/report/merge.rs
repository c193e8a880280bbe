//! A report's merge: the rows its reads bring back, summed per label and
//! key, then written as the report's sorted rows and totals.
//!
//! This is CPU work (85,000 conversion rows by link and country at 2 M
//! clicks), so it runs on the report threads (`ReportThreads`, `nice` 10),
//! not on the HTTP workers, which answer redirects: beside back-to-back
//! reports the click path keeps the cores.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::Arc;

use clickledger_domain::Currency;
use clickledger_store::{BucketRow, ConversionBucket, Grain};
use rust_decimal::Decimal;
use serde_json::Value;

use super::plan::Plan;
use super::{Agg, Report, Spec};
use crate::cache::Config;

/// One read's answer: its grain, whether its rows correct coarser ones
/// (a correction day's), and its click and conversion rows.
pub(super) type Read = (Grain, bool, Vec<BucketRow>, Vec<ConversionBucket>);

/// Figures per label and the store's values (an offer for the
/// advertiser): a row's values move into its group's key, and only a new
/// group's key is kept (1.1 M conversion rows by link and country).
pub(super) type Figures = Groups<(usize, Vec<String>)>;

/// What a report's rows are merged with: owned, as the report threads
/// need.
pub(super) struct Merge {
    pub plan: Plan,
    /// The report's time labels: (UTC start, end, label).
    pub labels: Vec<(i64, i64, String)>,
    pub spec: Arc<Spec>,
    pub cfg: Arc<Config>,
    pub base: Currency,
}

impl Merge {
    /// The label a time falls in (rows read raw carry their own time).
    fn own(&self, ms: i64) -> usize {
        self.labels
            .partition_point(|l| l.1 <= ms)
            .min(self.labels.len() - 1)
    }

    /// Where a row's figures go: a coarse row to the label the plan gave
    /// it; a 15-minute row to its own label, unless it corrects a coarse
    /// one (as a correction day's row does): (label, sign), at most two.
    fn targets(&self, grain: Grain, correction: bool, bucket: i64) -> [Option<(usize, i64)>; 2] {
        if grain != Grain::Quarter && !correction {
            let l = self.plan.coarse_label(grain, bucket);
            debug_assert!(l.is_some(), "{grain:?} row {bucket} not in the plan");
            return [Some((l.unwrap_or_else(|| self.own(bucket)), 1)), None];
        }
        match self.plan.misfit(grain, bucket) {
            None => [Some((self.own(bucket), 1)), None],
            Some(m) => [
                Some((m.taken_from, -1)),
                m.in_range.then(|| (self.own(bucket), 1)),
            ],
        }
    }

    /// Adds one read's rows to `groups`.
    pub fn add(&self, groups: &mut Figures, (grain, correction, clicks, conversions): Read) {
        for mut b in clicks {
            let values = std::mem::take(&mut b.values);
            for_targets(
                self.targets(grain, correction, b.bucket_ms),
                values,
                |label, values, sign| groups.get((label, values)).clicks(&b, sign),
            );
        }
        let delayed_after_s = self.spec.delayed_after_s;
        for mut b in conversions {
            let values = std::mem::take(&mut b.values);
            for_targets(
                self.targets(grain, correction, b.bucket_ms),
                values,
                |label, values, sign| {
                    groups
                        .get((label, values))
                        .conversions(&b, delayed_after_s, sign)
                },
            );
        }
    }

    fn advertiser_of(&self, offer: &str) -> String {
        self.cfg
            .offers
            .get(offer)
            .map(|o| o.offer.advertiser_id.clone())
            .unwrap_or_default()
    }

    /// A row's key: its label and values in the order of `group_by`.
    fn key(&self, label: usize, values: &[String]) -> Vec<String> {
        let mut values = values.iter();
        self.spec
            .names
            .iter()
            .map(|n| match n.as_str() {
                "hour" | "day" | "week" | "month" => self.labels[label].2.clone(),
                "advertiser" => self.advertiser_of(values.next().map(String::as_str).unwrap_or("")),
                _ => values.next().cloned().unwrap_or_default(),
            })
            .collect()
    }

    /// The report from the merged figures, with refused postbacks per
    /// (15-minute bucket, offer, count) where its rows can hold them.
    pub fn finish(&self, groups: Figures, failed: Option<Vec<(i64, String, i64)>>) -> Report {
        let spec = &self.spec;
        // the report's rows: a group's key is its label and values, unless
        // two offers of one advertiser make one row, or refused postbacks
        // are added by key (a second map costs 2 µs a group: 45,000 by day
        // and sub2)
        let Groups { at, mut aggs } = groups;
        let (mut order, mut aggs): (Vec<(Vec<String>, usize)>, Vec<Agg>) =
            if failed.is_some() || spec.names.iter().any(|n| n == "advertiser") {
                let mut rows: Groups<Vec<String>> = Groups::default();
                for ((label, values), at) in at {
                    rows.merge(self.key(label, &values), std::mem::take(&mut aggs[at]));
                }
                if let Some(failed) = &failed {
                    self.add_failed(&mut rows, failed);
                }
                (rows.at.into_iter().collect(), rows.aggs)
            } else {
                let order = at.into_iter();
                (
                    order.map(|((l, v), at)| (self.key(l, &v), at)).collect(),
                    aggs,
                )
            };
        // in key order; a row that corrections took back to nothing was
        // never there (unless postbacks were refused in it)
        order.sort_unstable();
        let mut totals = Agg::default();
        let mut rows: Vec<(Vec<String>, Agg)> = Vec::with_capacity(order.len());
        for (k, at) in order {
            let mut a = std::mem::take(&mut aggs[at]);
            a.by_event.retain(|_, n| *n != 0);
            if a.is_empty() && a.failed_postbacks.unwrap_or(0) == 0 {
                continue;
            }
            totals.add(&a);
            rows.push((k, a));
        }
        if failed.is_some() {
            totals.failed_postbacks.get_or_insert(0);
        }
        if let Some((field, desc)) = &spec.sort {
            rows = self.sorted(rows, field, *desc);
        }
        Report { rows, totals }
    }

    /// Refused postbacks added to the rows their time and offer fall in.
    fn add_failed(&self, rows: &mut Groups<Vec<String>>, failed: &[(i64, String, i64)]) {
        let spec = &self.spec;
        for (bucket, offer, n) in failed {
            if !spec.filters.iter().all(|(_, v)| v.contains(offer)) {
                continue;
            }
            let time = &self.labels[self.own(*bucket)].2;
            let k: Vec<String> = spec
                .names
                .iter()
                .map(|n| match n.as_str() {
                    "offer" => offer.clone(),
                    "advertiser" => self.advertiser_of(offer),
                    _ => time.clone(),
                })
                .collect();
            let a = rows.get(k);
            a.failed_postbacks = Some(a.failed_postbacks.unwrap_or(0) + n);
        }
        for a in &mut rows.aggs {
            a.failed_postbacks.get_or_insert(0);
        }
    }

    /// The rows sorted by a group (as text) or a metric (as a number).
    fn sorted(
        &self,
        rows: Vec<(Vec<String>, Agg)>,
        field: &str,
        desc: bool,
    ) -> Vec<(Vec<String>, Agg)> {
        let pos = self.spec.names.iter().position(|n| n == field);
        let sort_key = |r: &(Vec<String>, Agg)| -> (Option<Decimal>, String) {
            match pos {
                Some(i) => (None, r.0[i].clone()),
                None => {
                    let v =
                        r.1.metrics(self.base)
                            .into_iter()
                            .find(|(k, _)| *k == field)
                            .map(|(_, v)| v)
                            .unwrap_or(Value::Null);
                    let num = match &v {
                        Value::Number(n) => Decimal::from_str_exact(&n.to_string()).ok(),
                        Value::String(s) => Decimal::from_str_exact(s).ok(),
                        _ => None,
                    };
                    (num, String::new())
                }
            }
        };
        // each row's key once: a metric's is its row's metrics, written out
        let mut keyed: Vec<_> = rows.into_iter().map(|r| (sort_key(&r), r)).collect();
        keyed.sort_by(|a, b| {
            let o = a.0.cmp(&b.0);
            if desc {
                o.reverse()
            } else {
                o
            }
        });
        keyed.into_iter().map(|(_, r)| r).collect()
    }
}

/// Figures per key, each `Agg` left where it was pushed: it is 300 bytes,
/// and the maps that held them moved them on every insert and rehash.
pub(super) struct Groups<K> {
    at: HashMap<K, usize>,
    aggs: Vec<Agg>,
}

impl<K> Default for Groups<K> {
    fn default() -> Self {
        Groups {
            at: HashMap::new(),
            aggs: Vec::new(),
        }
    }
}

impl<K: std::hash::Hash + Eq> Groups<K> {
    fn get(&mut self, k: K) -> &mut Agg {
        let aggs = &mut self.aggs;
        let at = *self.at.entry(k).or_insert_with(|| {
            aggs.push(Agg::default());
            aggs.len() - 1
        });
        &mut self.aggs[at]
    }

    /// Adds `a` to the key's figures; the key's first figures are moved in
    /// (adding them to nothing would copy every event's name).
    fn merge(&mut self, k: K, a: Agg) {
        match self.at.entry(k) {
            Entry::Occupied(e) => self.aggs[*e.get()].add(&a),
            Entry::Vacant(e) => {
                e.insert(self.aggs.len());
                self.aggs.push(a);
            }
        }
    }
}

/// Calls `add` for each of a row's targets (label, sign), handing it the
/// row's values: moved to the last, cloned for one before it.
fn for_targets(
    targets: [Option<(usize, i64)>; 2],
    values: Vec<String>,
    mut add: impl FnMut(usize, Vec<String>, i64),
) {
    match targets {
        [Some((a, sa)), Some((b, sb))] => {
            add(a, values.clone(), sa);
            add(b, values, sb);
        }
        [Some((l, sign)), None] | [None, Some((l, sign))] => add(l, values, sign),
        [None, None] => {}
    }
}
