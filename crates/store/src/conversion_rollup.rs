//! Conversion rollups: per click-rollup shape (`crate::rollup::ROLLUPS`),
//! date basis, event and status, a UTC-day (`_d`), a UTC-week (`_w`) and a
//! UTC-month (`_m`) table of counts, money and a delay histogram, and for
//! the offer shape a 15-minute one (`_q`; the other shapes' 15-minute
//! figures are read from the conversions: `keeps_quarters`), so a report
//! reads conversion rows only at the 15-minute edges of its labels.
//!
//! They change in the transaction that changes a conversion, by the
//! difference between what the conversion added before and what it adds
//! now: a status change moves its count and money from the old status's
//! row to the new one, a duplicate adds one to `duplicates`; nothing is
//! ever recounted. Test conversions count nowhere.
//!
//! The tables are in the schema (SQLite `0007_report_rollups.sql`,
//! `0008_link_rollup.sql`, `0009_affiliate_sub1_rollup.sql`,
//! `0010_sub_slot_rollups.sql`, `0011_link_country_rollup.sql`,
//! `0012_month_rollups.sql`, `0013_affiliate_sub_slot_rollups.sql` and
//! `0014_affiliate_geo_rollup.sql`, PostgreSQL `0008`, `0009`, `0011` to
//! `0016`),
//! which also filled them from the conversions recorded before; a test
//! holds them and `change` together. SQLite `0015` and PostgreSQL `0017`
//! dropped the 15-minute tables but the offer's.

use std::collections::BTreeMap;

use clickledger_domain::delay::{self, CLASSES};
use clickledger_domain::money::to_micros;

use clickledger_domain::Status;

use crate::model::{Conversion, ConversionBucket, ConversionFact, Grain};
use crate::rollup::ROLLUPS;

/// The figures of a row, in this order: conversions (refunds not
/// included), refunds, duplicates, capped, unconverted (no base-currency
/// amount), payout and revenue in base micros, then the delay histogram.
pub(crate) const METRICS: usize = 7 + CLASSES;
pub(crate) type Metrics = [i64; METRICS];

/// The metric columns, in `Metrics` order.
pub(crate) fn metric_columns() -> &'static [String] {
    static COLUMNS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    COLUMNS.get_or_init(|| {
        let mut c: Vec<String> = [
            "conversions",
            "refunds",
            "duplicates",
            "capped",
            "unconverted",
            "payout_micros",
            "revenue_micros",
        ]
        .map(String::from)
        .to_vec();
        c.extend((0..CLASSES).map(|k| format!("delay_{k}")));
        c
    })
}

/// A conversion rollup table: `conv_` and the click rollup's stem.
pub(crate) fn table(which: usize, grain: &str) -> String {
    format!("conv_{}_{grain}", ROLLUPS[which].stem)
}

/// Key columns after the bucket: `basis` (`click`: bucketed by the click's
/// time, `conversion`: by the conversion's),
/// the click rollup's keys, event, status.
pub(crate) fn key_columns(which: usize) -> Vec<&'static str> {
    let mut cols = vec!["basis"];
    cols.extend(ROLLUPS[which].columns);
    cols.extend(["event", "status"]);
    cols
}

/// (bucket, key values in `key_columns` order) → metrics, for one table;
/// ordered, so writers on several nodes lock rows in the same order.
pub(crate) type Rows = BTreeMap<(i64, Vec<String>), Metrics>;

/// What a change does to the tables: (which, grain) → rows. `change`
/// gives quarter-hour rows; `coarse` the day and week rows they add up to.
/// Ordered too, and a transaction writes it once, just before it commits.
pub(crate) type Change = BTreeMap<(usize, &'static str), Rows>;

/// Adds one change to another (a batch's conversions, in the order they
/// were recorded); rows that come to nothing are dropped.
/// Only the rows added to are looked at: the writer merges every batch
/// into what it holds, tens of thousands of rows where each conversion
/// brings keys of its own (a sub1 per click).
pub(crate) fn merge(into: &mut Change, from: Change) {
    use std::collections::btree_map::Entry;
    for (table, rows) in from {
        let to = into.entry(table).or_default();
        for (key, m) in rows {
            match to.entry(key) {
                Entry::Vacant(e) => {
                    if m.iter().any(|v| *v != 0) {
                        e.insert(m);
                    }
                }
                Entry::Occupied(mut e) => {
                    add(e.get_mut(), &m, 1);
                    if e.get().iter().all(|v| *v == 0) {
                        e.remove();
                    }
                }
            }
        }
        if to.is_empty() {
            into.remove(&table);
        }
    }
}

/// The upsert adding one row's figures to a table, with the backend's
/// placeholders (`?N` or `$N`), numbered from 1: bucket, keys, metrics.
pub(crate) fn upsert_sql(which: usize, grain: &str, mark: &str) -> String {
    let table = table(which, grain);
    let keys = key_columns(which).join(", ");
    let metrics = metric_columns();
    let marks: Vec<String> = (1..=1 + key_columns(which).len() + metrics.len())
        .map(|i| format!("{mark}{i}"))
        .collect();
    let sets: Vec<String> = metrics
        .iter()
        .map(|m| format!("{m} = {table}.{m} + excluded.{m}"))
        .collect();
    // the key as the primary key has it: basis first (a report reads one)
    let conflict = key_columns(which)[1..].join(", ");
    format!(
        "INSERT INTO {table} (bucket_ms, {keys}, {}) VALUES ({})
         ON CONFLICT (basis, bucket_ms, {conflict}) DO UPDATE SET {}",
        metrics.join(", "),
        marks.join(", "),
        sets.join(", ")
    )
}

/// A conversion's shape key in rollup `which`, as the click rollups key
/// its click.
fn shape_key(which: usize, c: &Conversion) -> Vec<String> {
    crate::rollup::fields()[which]
        .iter()
        .map(|d| crate::rollup::of_conversion(*d, c).to_string())
        .collect()
}

/// What one conversion adds to its row.
fn metrics_of(c: &Conversion) -> Metrics {
    figures(&ConversionFact {
        time_ms: c.click_ms,
        values: Vec::new(),
        event: String::new(),
        status: c.status,
        payout_base_micros: c.payout_base.map(to_micros),
        revenue_base_micros: c.revenue_base.map(to_micros),
        delay_seconds: (c.conv_ms - c.click_ms) / 1000,
        duplicates: c.duplicates,
        refund: c.parent_id.is_some(),
        capped: c.capped,
    })
}

/// What one conversion, read raw, adds to a row.
fn figures(f: &ConversionFact) -> Metrics {
    let mut m = [0; METRICS];
    if f.refund {
        m[1] = 1;
    } else {
        m[0] = 1;
        m[2] = f.duplicates;
        m[3] = f.capped as i64;
        m[7 + delay::class(f.delay_seconds)] = 1;
    }
    match (f.payout_base_micros, f.revenue_base_micros) {
        (Some(p), Some(r)) => {
            m[5] = p;
            m[6] = r;
        }
        _ => m[4] = 1,
    }
    m
}

/// A report's row of conversion figures, from a rollup's sums.
pub(crate) fn bucket(
    bucket_ms: i64,
    values: Vec<String>,
    event: String,
    status: Status,
    m: &Metrics,
) -> ConversionBucket {
    let mut delays = [0; CLASSES];
    delays.copy_from_slice(&m[7..]);
    ConversionBucket {
        bucket_ms,
        values,
        event,
        status,
        conversions: m[0],
        refunds: m[1],
        duplicates: m[2],
        capped: m[3],
        unconverted: m[4],
        payout_base_micros: m[5],
        revenue_base_micros: m[6],
        delays,
    }
}

/// One conversion read raw, as a report's row of conversion figures.
pub(crate) fn fact_bucket(f: ConversionFact) -> ConversionBucket {
    let m = figures(&f);
    bucket(f.time_ms, f.values, f.event, f.status, &m)
}

fn add(into: &mut Metrics, m: &Metrics, sign: i64) {
    for (a, b) in into.iter_mut().zip(m) {
        *a += sign * b;
    }
}

/// What changing a conversion from `before` (None: it is new) to `after`
/// does to every table; rows the change leaves as they were are left out.
pub(crate) fn change(before: Option<&Conversion>, after: &Conversion) -> Change {
    let before = before.filter(|c| !c.test);
    let after = Some(after).filter(|c| !c.test);
    // (conversion, what it adds): when only figures moved and no key (a
    // duplicate), one pass with the difference instead of two that cancel
    let mut parts: Vec<(&Conversion, Metrics)> = Vec::new();
    match (before, after) {
        (Some(b), Some(a)) if same_rows(b, a) => {
            let mut m = metrics_of(a);
            add(&mut m, &metrics_of(b), -1);
            parts.push((a, m));
        }
        (b, a) => {
            parts.extend(a.map(|a| (a, metrics_of(a))));
            if let Some(b) = b {
                let mut m = [0; METRICS];
                add(&mut m, &metrics_of(b), -1);
                parts.push((b, m));
            }
        }
    }
    let mut tables = Change::new();
    for which in 0..ROLLUPS.len() {
        // each part's key per basis, built once for every grain
        let mut keyed = Vec::new();
        for (c, m) in &parts {
            let shape = shape_key(which, c);
            for (basis, at) in [("click", c.click_ms), ("conversion", c.conv_ms)] {
                let mut key = Vec::with_capacity(shape.len() + 3);
                key.push(basis.to_string());
                key.extend(shape.iter().cloned());
                key.push(c.event.clone());
                key.push(c.status.as_str().to_string());
                keyed.push((at, key, m));
            }
        }
        let mut rows = Rows::new();
        for (at, key, m) in keyed {
            let row = rows
                .entry((Grain::Quarter.start(at), key))
                .or_insert([0; METRICS]);
            add(row, m, 1);
        }
        rows.retain(|_, m| m.iter().any(|v| *v != 0));
        if !rows.is_empty() {
            tables.insert((which, Grain::Quarter.suffix()), rows);
        }
    }
    tables
}

/// Whether a shape's conversion rollup keeps 15-minute rows. Only the
/// offer's does: a report by time alone (or offer, advertiser, event,
/// status), the most common, reads its 15-minute rows at the edges of
/// its range and of every label in a timezone off UTC, and a quarter hour
/// sums many conversions there. In every other shape a quarter hour and
/// key held about one conversion per row (the benchmark's 1 M conversions
/// over 90 days), so those rows copied the conversions once per shape and
/// basis; such a report reads its 15-minute edges from the conversions
/// themselves (`query::conversion_buckets`), about as many rows.
pub(crate) fn keeps_quarters(which: usize) -> bool {
    ROLLUPS[which].stem == "rollup_offer"
}

/// The grains a shape's conversion rollup has tables for.
pub(crate) fn grains(which: usize) -> &'static [Grain] {
    if keeps_quarters(which) {
        &Grain::ALL
    } else {
        &Grain::COARSE
    }
}

/// What a change writes to the tables: the quarter-hour rows of the
/// shapes that keep them (`keeps_quarters`), and the day, week and month
/// rows every quarter-hour row adds up to.
pub(crate) fn writes(change: &Change, phases: &[i64]) -> Change {
    let mut out = coarse(change, phases);
    for (table, rows) in change {
        if keeps_quarters(table.0) {
            out.insert(*table, rows.clone());
        }
    }
    out
}

/// The day, week and month rows that a change's quarter-hour rows add up
/// to, and the local days' at `phases` (`rollup::coarse_buckets`).
/// A change holds quarter-hour rows only, a third of the keys a conversion
/// would otherwise build; writers sum the coarser grains once per write,
/// over a whole batch or a second of batches, and add both.
pub(crate) fn coarse(change: &Change, phases: &[i64]) -> Change {
    let mut out = Change::new();
    for ((which, _), rows) in change {
        for ((bucket, key), m) in rows {
            for (grain, start) in crate::rollup::coarse_buckets(*bucket, phases) {
                let to = out.entry((*which, grain.suffix())).or_default();
                add(to.entry((start, key.clone())).or_insert([0; METRICS]), m, 1);
            }
        }
    }
    for rows in out.values_mut() {
        rows.retain(|_, m| m.iter().any(|v| *v != 0));
    }
    out.retain(|_, rows| !rows.is_empty());
    out
}

/// Whether two states of a conversion fall in the same rows of every
/// rollup (only their figures may differ).
fn same_rows(a: &Conversion, b: &Conversion) -> bool {
    a.event == b.event
        && a.status == b.status
        && a.click_ms == b.click_ms
        && a.conv_ms == b.conv_ms
        && a.offer_id == b.offer_id
        && a.link_id == b.link_id
        && a.affiliate_id == b.affiliate_id
        && a.dims == b.dims
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ClickDims;
    use clickledger_domain::{ClickId, Currency, Status};
    use rust_decimal::Decimal;

    fn conversion() -> Conversion {
        let usd = Currency::parse("USD").unwrap();
        Conversion {
            id: "cv_1".into(),
            click_id: ClickId::new(1_000, 1),
            offer_id: "off_1".into(),
            advertiser_id: "adv_1".into(),
            affiliate_id: "aff_1".into(),
            link_id: "lnk_1".into(),
            event: "sale".into(),
            txid: None,
            status: Status::Pending,
            status_received: None,
            amount: None,
            currency: usd,
            payout: Decimal::new(500, 2),
            revenue: Decimal::new(700, 2),
            payout_currency: usd,
            click_ms: 1_000,
            conv_ms: 1_000 + 90_000_000,
            updated_ms: 0,
            delay_seconds: 0,
            too_fast: false,
            test: false,
            capped: false,
            parent_id: None,
            payout_base: Some(Decimal::new(500, 2)),
            revenue_base: Some(Decimal::new(700, 2)),
            fx_missing: false,
            hold_until_ms: None,
            duplicates: 0,
            channel: Default::default(),
            dims: ClickDims::default(),
        }
    }

    #[test]
    fn a_new_conversion_adds_one_row_per_table_and_basis() {
        let c = conversion();
        let change = change(None, &c);
        assert_eq!(change.len(), ROLLUPS.len());
        let coarse = coarse(&change, &[]);
        assert_eq!(coarse.len(), ROLLUPS.len() * Grain::COARSE.len());
        for rows in change.values().chain(coarse.values()) {
            // click time and conversion time fall in different buckets
            assert_eq!(rows.len(), 2);
            for ((_, key), m) in rows {
                assert_eq!(key.last().unwrap(), "pending");
                assert_eq!((m[0], m[5], m[6]), (1, 5_000_000, 7_000_000));
                // 25 hours: over a day, at most two
                assert_eq!(m[7 + 11], 1);
            }
        }
    }

    #[test]
    fn a_status_change_moves_the_row_and_a_duplicate_adds_only_itself() {
        let before = conversion();
        let mut after = before.clone();
        after.status = Status::Approved;
        let moved = change(Some(&before), &after);
        assert_eq!(moved.len(), ROLLUPS.len());
        for rows in moved.values().chain(coarse(&moved, &[]).values()) {
            assert_eq!(rows.len(), 4);
            for ((_, key), m) in rows {
                let sign = if key.last().unwrap() == "approved" {
                    1
                } else {
                    -1
                };
                assert_eq!((m[0], m[5]), (sign, sign * 5_000_000));
            }
        }
        let mut dup = after.clone();
        dup.duplicates = 1;
        let dup = change(Some(&after), &dup);
        for rows in dup.values().chain(coarse(&dup, &[]).values()) {
            for m in rows.values() {
                let mut only = [0; METRICS];
                only[2] = 1;
                assert_eq!(*m, only);
            }
        }
        let mut test = before.clone();
        test.test = true;
        assert!(change(None, &test).is_empty());
    }

    #[test]
    fn quarter_hour_rows_are_written_only_where_the_shape_keeps_them() {
        let change = change(None, &conversion());
        let writes = writes(&change, &[]);
        let offer = ROLLUPS
            .iter()
            .position(|r| r.stem == "rollup_offer")
            .unwrap();
        for (which, shape) in ROLLUPS.iter().enumerate() {
            for grain in Grain::ALL {
                let rows = writes.get(&(which, grain.suffix()));
                let kept = grain != Grain::Quarter || which == offer;
                assert_eq!(rows.is_some(), kept, "{} {grain:?}", shape.stem);
                assert_eq!(grains(which).contains(&grain), kept);
                if let Some(rows) = rows {
                    assert_eq!(rows.len(), 2, "{} {grain:?}", shape.stem);
                }
            }
        }
    }

    /// Each key column reads its own value (a click's the same way: the
    /// test replaying the migrations holds recorded click and conversion
    /// rows to the migrations' SQL, column by column).
    #[test]
    fn every_key_column_reads_its_own_value() {
        let mut c = conversion();
        let named = |n: &str| Some(n.to_string());
        (c.link_id, c.offer_id, c.affiliate_id) =
            ("link_id".into(), "offer_id".into(), "affiliate_id".into());
        c.dims = ClickDims {
            source: named("source"),
            sub1: named("sub1"),
            sub2: named("sub2"),
            sub3: named("sub3"),
            sub4: named("sub4"),
            sub5: named("sub5"),
            country: "country".into(),
            device: "device".into(),
            os: "os".into(),
            browser: "browser".into(),
            rule: named("rule"),
            target: named("target"),
        };
        for (which, shape) in ROLLUPS.iter().enumerate() {
            assert_eq!(shape_key(which, &c), shape.columns, "{}", shape.stem);
        }
    }
}
