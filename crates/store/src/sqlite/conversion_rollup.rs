//! SQLite's conversion rollups (what they are: `crate::conversion_rollup`).
//!
//! Like the click rollups (`rollup.rs`), they are derived data, so they are
//! not written in every postback batch's transaction: that was up to 42
//! upserts per conversion, and a duplicate touched as many rows as a new
//! conversion (postbacks fell from 13–17k/s to 3.4k/s). The writer adds
//! each committed batch's changes to sums in memory, where a second of
//! conversions to the same offer, country or status collapse into one row,
//! and folds them into the tables about once a second, in the transactions
//! of later batches, a slice of rows in each (`SLICE`). A report first
//! writes the rows of the shape it reads (`flush_shape`).
//!
//! A crash between flushes would lose the sums, so a batch that reaches
//! further back than what is pending records the earliest bucket it changed
//! (`conversion_rollups_pending_since`) in `meta`, in its own transaction;
//! a flush deletes it. On open, a marker still there means sums were lost:
//! every conversion rollup from that bucket's week on is rebuilt from the
//! conversions.

use std::time::{Duration, Instant};

use clickledger_domain::delay::{self, CLASSES};
use rusqlite::{Connection, OptionalExtension};

use super::sql::move_marker;

use crate::conversion_rollup::{self, key_columns, metric_columns, table, Change};
use crate::model::Grain;
use crate::rollup::{rebuilds, ROLLUPS};

const MARKER: &str = "conversion_rollups_pending_since";
const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// Flush early when this many rows are pending.
const FLUSH_ROWS: usize = 20_000;
/// Upserts per postback batch while a flush drains (a few milliseconds),
/// or twice what the batch's own rows could write, whichever is more: the
/// pending rows a drain leaves then write at most half the queue it
/// drained, so the next is shorter and a drain ends under steady load. A
/// flush written whole in one batch held that batch's postbacks for 240 ms
/// when each conversion brought keys of its own (a sub1 per click: 20,000
/// rows pending every second).
const SLICE: usize = 1_024;

/// What the writer holds between flushes.
pub(super) struct Pending {
    /// Quarter-hour rows of the batches since the last flush began.
    change: Change,
    /// A flush in progress: the rows it writes, day, week and month rows
    /// summed over all it took (`conversion_rollup::writes`), a slice per
    /// batch. Summed first, then sliced: a slice of quarter-hour rows
    /// summed on its own wrote a shape's day row once per slice (a
    /// quarter more CPU per postback).
    queue: Change,
    /// The marker as written in `meta` (None: nothing unflushed on disk).
    since: Option<i64>,
    last_flush: Instant,
}

impl Default for Pending {
    fn default() -> Self {
        Pending {
            change: Change::new(),
            queue: Change::new(),
            since: None,
            last_flush: Instant::now(),
        }
    }
}

/// What a batch's transaction did, to apply once (and only if) it commits.
pub(super) enum Step {
    /// Everything pending, the batch's change included, is in the tables.
    Flushed,
    /// `folded` (the front of the queue) went into the tables; the batch's
    /// change is kept in memory; `since` is the marker written.
    Kept {
        folded: Change,
        change: Change,
        since: Option<i64>,
    },
}

/// The earliest 15-minute bucket a change touches.
fn earliest(change: &Change) -> Option<i64> {
    change
        .iter()
        .filter(|((_, grain), _)| *grain == Grain::Quarter.suffix())
        .flat_map(|(_, rows)| rows.keys().map(|(bucket, _)| *bucket))
        .min()
}

fn rows(change: &Change) -> usize {
    change.values().map(|r| r.len()).sum()
}

/// The first `n` rows of a change, in table and key order.
fn first_rows(change: &Change, n: usize) -> Change {
    let mut out = Change::new();
    let mut left = n;
    for (table, rows) in change {
        if left == 0 {
            break;
        }
        let part: conversion_rollup::Rows = rows
            .iter()
            .take(left)
            .map(|(k, m)| (k.clone(), *m))
            .collect();
        left -= part.len();
        out.insert(*table, part);
    }
    out
}

impl Pending {
    /// Inside a postback batch's transaction, before its commit: when a
    /// flush is due, writes the front of its queue (all of it, what is
    /// pending and the batch's, once little is left); records the marker
    /// if the change reaches further back.
    ///
    /// Moving the pending rows into the queue changes no count, so a
    /// transaction that rolls back after it loses nothing.
    pub fn stage(&mut self, tx: &Connection, change: Change) -> rusqlite::Result<Step> {
        let due = !self.queue.is_empty()
            || self.last_flush.elapsed() >= FLUSH_EVERY
            || rows(&self.change) >= FLUSH_ROWS;
        let mut folded = Change::new();
        if due {
            let phases = super::rollup::local_phases(tx)?;
            if self.queue.is_empty() {
                self.queue = conversion_rollup::writes(&std::mem::take(&mut self.change), &phases);
            }
            // a quarter-hour row writes at most its day, week and month
            // rows, a local day's per phase, and itself (the offer's)
            let per_row = 4 + phases.len();
            let slice = SLICE.max(2 * per_row * rows(&change));
            if rows(&self.queue) + per_row * rows(&self.change) <= slice {
                if !(self.queue.is_empty() && self.change.is_empty() && change.is_empty()) {
                    // upserts add, so the batch's rows may go in apart
                    // (a key also pending is upserted twice)
                    upsert(tx, &conversion_rollup::writes(&change, &phases))?;
                    self.write_all(tx, &phases)?;
                    return Ok(Step::Flushed);
                }
            } else {
                folded = first_rows(&self.queue, slice);
                upsert(tx, &folded)?;
            }
        }
        let since = move_marker(tx, MARKER, self.since, earliest(&change))?;
        Ok(Step::Kept {
            folded,
            change,
            since,
        })
    }

    /// After the transaction committed.
    pub fn apply(&mut self, step: Step) {
        match step {
            Step::Flushed => *self = Pending::default(),
            Step::Kept {
                folded,
                change,
                since,
            } => {
                for (table, rows) in folded {
                    if let Some(queued) = self.queue.get_mut(&table) {
                        for key in rows.keys() {
                            queued.remove(key);
                        }
                        if queued.is_empty() {
                            self.queue.remove(&table);
                        }
                    }
                }
                conversion_rollup::merge(&mut self.change, change);
                if since.is_some() {
                    self.since = since;
                }
            }
        }
    }

    /// Writes the queue and the pending rows and deletes the marker:
    /// nothing is pending once the transaction commits.
    fn write_all(&self, tx: &Connection, phases: &[i64]) -> rusqlite::Result<()> {
        upsert(tx, &self.queue)?;
        upsert(tx, &conversion_rollup::writes(&self.change, phases))?;
        tx.execute("DELETE FROM meta WHERE k = ?1", [MARKER])?;
        Ok(())
    }

    /// A flush on its own (before a report reads the rollups, at stop).
    pub fn flush(&mut self, conn: &mut Connection) -> rusqlite::Result<()> {
        if self.change.is_empty() && self.queue.is_empty() {
            return Ok(());
        }
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let phases = super::rollup::local_phases(&tx)?;
        self.write_all(&tx, &phases)?;
        tx.commit()?;
        *self = Pending::default();
        Ok(())
    }

    /// Writes one shape's queued and pending rows alone (before a report
    /// that reads only `ROLLUPS[which]`); the rest stays pending, and the
    /// marker with it.
    pub fn flush_shape(&mut self, conn: &mut Connection, which: usize) -> rusqlite::Result<()> {
        let mut tables = self.queue.keys().chain(self.change.keys());
        if tables.all(|(w, _)| *w == which) {
            return self.flush(conn);
        }
        let of = |change: &Change| -> Change {
            change
                .iter()
                .filter(|((w, _), _)| *w == which)
                .map(|(table, rows)| (*table, rows.clone()))
                .collect()
        };
        let (queued, pending) = (of(&self.queue), of(&self.change));
        if queued.is_empty() && pending.is_empty() {
            return Ok(());
        }
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let phases = super::rollup::local_phases(&tx)?;
        upsert(&tx, &queued)?;
        upsert(&tx, &conversion_rollup::writes(&pending, &phases))?;
        tx.commit()?;
        self.queue.retain(|(w, _), _| *w != which);
        self.change.retain(|(w, _), _| *w != which);
        // no new flush for a second, as after a whole one (see the click
        // side's `flush_shape`); a drain already begun goes on
        self.last_flush = Instant::now();
        Ok(())
    }
}

/// Adds each row to its table: one upsert per row.
fn upsert(c: &Connection, writes: &Change) -> rusqlite::Result<()> {
    for ((which, grain), rows) in writes {
        let mut st = c.prepare_cached(&conversion_rollup::upsert_sql(*which, grain, "?"))?;
        for ((bucket, key), m) in rows {
            let mut args: Vec<&dyn rusqlite::ToSql> = vec![bucket];
            args.extend(key.iter().map(|k| k as &dyn rusqlite::ToSql));
            args.extend(m.iter().map(|v| v as &dyn rusqlite::ToSql));
            st.execute(args.as_slice())?;
        }
    }
    Ok(())
}

/// The column a basis buckets conversions by.
fn time_of(basis: &str) -> &'static str {
    if basis == "click" {
        "c.click_ms"
    } else {
        "c.conv_ms"
    }
}

/// The statement that rebuilds one table's rows of one basis from the
/// conversions, from `?1` (ms) on (and before `?2` when `until`), each in
/// the bucket `start` gives for its time (`time`).
pub(super) fn rebuild_sql(
    which: usize,
    grain: Grain,
    basis: &str,
    start: &str,
    until: bool,
) -> String {
    let time = time_of(basis);
    let keys: Vec<String> = ROLLUPS[which]
        .columns
        .iter()
        .map(|col| match *col {
            "link_id" | "offer_id" | "affiliate_id" => format!("c.{col}"),
            other => format!("COALESCE(c.{other}, '')"),
        })
        .collect();
    let refund = "c.parent_id IS NOT NULL";
    let base = "c.payout_base_micros IS NOT NULL AND c.revenue_base_micros IS NOT NULL";
    let delay = "(c.conv_ms - c.click_ms) / 1000";
    let mut sums = vec![
        format!("SUM(CASE WHEN {refund} THEN 0 ELSE 1 END)"),
        format!("SUM(CASE WHEN {refund} THEN 1 ELSE 0 END)"),
        format!("SUM(CASE WHEN {refund} THEN 0 ELSE c.duplicates END)"),
        format!("SUM(CASE WHEN {refund} OR NOT c.capped THEN 0 ELSE 1 END)"),
        format!("SUM(CASE WHEN {base} THEN 0 ELSE 1 END)"),
        format!("SUM(CASE WHEN {base} THEN c.payout_base_micros ELSE 0 END)"),
        format!("SUM(CASE WHEN {base} THEN c.revenue_base_micros ELSE 0 END)"),
    ];
    for k in 0..CLASSES {
        let mut cond = format!("NOT ({refund})");
        if k > 0 {
            cond.push_str(&format!(" AND {delay} > {}", delay::EDGES[k - 1]));
        }
        if let Some(e) = delay::EDGES.get(k) {
            cond.push_str(&format!(" AND {delay} <= {e}"));
        }
        sums.push(format!("SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)"));
    }
    let groups: Vec<String> = (1..=keys.len() + 4).map(|i| i.to_string()).collect();
    format!(
        "INSERT INTO {} (bucket_ms, {}, {})
         SELECT {}, '{basis}', {}, c.event, c.status, {}
         FROM conversions c WHERE c.test = FALSE AND {time} >= ?1{} GROUP BY {}",
        table(which, grain.suffix()),
        key_columns(which).join(", "),
        metric_columns().join(", "),
        start,
        keys.join(", "),
        sums.join(", "),
        if until {
            format!(" AND {time} < ?2")
        } else {
            String::new()
        },
        groups.join(", ")
    )
}

/// On open: when sums were lost (a crash between flushes), rebuilds every
/// conversion rollup from the marker's bucket (its day, week, month) on.
/// Returns the time rebuilt from, if any.
pub(super) fn repair(conn: &mut Connection) -> rusqlite::Result<Option<i64>> {
    let since: Option<String> = conn
        .query_row("SELECT v FROM meta WHERE k = ?1", [MARKER], |r| r.get(0))
        .optional()?;
    let Some(since) = since.and_then(|s| s.parse::<i64>().ok()) else {
        return Ok(None);
    };
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let phases = super::rollup::local_phases(&tx)?;
    for which in 0..ROLLUPS.len() {
        for basis in ["click", "conversion"] {
            for b in rebuilds(
                conversion_rollup::grains(which),
                &phases,
                since,
                time_of(basis),
            ) {
                tx.execute(
                    &format!(
                        "DELETE FROM {} WHERE basis = ?2 AND bucket_ms >= ?1{}",
                        table(which, b.grain.suffix()),
                        b.rows
                    ),
                    rusqlite::params![b.from, basis],
                )?;
                tx.execute(
                    &rebuild_sql(which, b.grain, basis, &b.start_sql, false),
                    [b.from],
                )?;
            }
        }
    }
    tx.execute("DELETE FROM meta WHERE k = ?1", [MARKER])?;
    tx.commit()?;
    Ok(Grain::ALL.iter().map(|g| g.start(since)).min())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversion_rollup::{Metrics, METRICS};

    fn migrated() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::migrate::migrate(&mut conn, 0).unwrap();
        conn
    }

    /// `n` quarter-hour rows of the first shape, each a key of its own (as
    /// a sub1 per click gives), numbered from `from`.
    fn change_of(from: usize, n: usize) -> Change {
        change_in(0, from, n)
    }

    /// As `change_of`, in the shape `ROLLUPS[which]`.
    fn change_in(which: usize, from: usize, n: usize) -> Change {
        let mut rows = conversion_rollup::Rows::new();
        for i in from..from + n {
            let mut key: Vec<String> = key_columns(which).iter().map(|_| String::new()).collect();
            key[0] = "click".into();
            key[1] = format!("lnk_{i}");
            let mut m: Metrics = [0; METRICS];
            m[0] = 1;
            m[5] = 1_000_000 + i as i64;
            rows.insert((1_764_547_200_000 + (i as i64 % 96) * 900_000, key), m);
        }
        Change::from([((which, Grain::Quarter.suffix()), rows)])
    }

    /// Every conversion rollup row, as text, sorted.
    fn contents(conn: &Connection) -> Vec<String> {
        let mut out = Vec::new();
        let mut tables = conn
            .prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'conv_rollup_%'",
            )
            .unwrap();
        let names: Vec<String> = tables
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for name in names {
            let mut st = conn.prepare(&format!("SELECT * FROM {name}")).unwrap();
            let width = st.column_count();
            let rows = st
                .query_map([], |r| {
                    let cells: Vec<String> = (0..width)
                        .map(|i| format!("{:?}", r.get_ref(i).unwrap()))
                        .collect();
                    Ok(format!("{name}: {}", cells.join(" | ")))
                })
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
            out.extend(rows);
        }
        out.sort();
        out
    }

    fn marked(conn: &Connection) -> bool {
        conn.query_row("SELECT COUNT(*) FROM meta WHERE k = ?1", [MARKER], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap()
            == 1
    }

    fn keep_phases(conn: &Connection, phases: &[i64]) {
        for p in phases {
            conn.execute(
                "INSERT INTO local_days (phase_ms, since_ms) VALUES (?1, 0)",
                [p],
            )
            .unwrap();
        }
    }

    /// The tables as one fold of `change` writes them.
    fn written_whole(change: &Change, phases: &[i64]) -> Vec<String> {
        let mut conn = migrated();
        keep_phases(&conn, phases);
        let tx = conn.transaction().unwrap();
        upsert(&tx, &conversion_rollup::writes(change, phases)).unwrap();
        tx.commit().unwrap();
        contents(&conn)
    }

    /// 5,000 rows pending and a flush due.
    fn due() -> Pending {
        Pending {
            change: change_of(0, 5_000),
            last_flush: Instant::now() - FLUSH_EVERY,
            ..Pending::default()
        }
    }

    /// Stages batches of `batch` new rows (numbered from 5,000) until the
    /// flush ends: the batches staged and the next row's number, each
    /// batch checked to write no more than its slice.
    fn drain(
        conn: &mut Connection,
        pending: &mut Pending,
        batch: usize,
        per_row: usize,
    ) -> (usize, usize) {
        let mut batches = 0;
        let mut next = 5_000;
        loop {
            batches += 1;
            assert!(batches < 100, "the flush never ends");
            let change = change_of(next, batch);
            next += batch;
            let tx = conn.transaction().unwrap();
            let step = pending.stage(&tx, change).unwrap();
            tx.commit().unwrap();
            let done = match &step {
                Step::Flushed => true,
                Step::Kept { folded, .. } => {
                    let slice = SLICE.max(2 * per_row * batch);
                    let wrote = rows(folded);
                    assert!((1..=slice).contains(&wrote), "batch {batches}: {wrote}");
                    false
                }
            };
            pending.apply(step);
            if done {
                return (batches, next);
            }
        }
    }

    #[test]
    fn a_due_flush_writes_a_slice_per_batch_and_the_tables_end_as_one_fold_writes_them() {
        let mut sliced = migrated();
        let mut pending = due();
        let (batches, next) = drain(&mut sliced, &mut pending, 10, 4);
        assert!(pending.change.is_empty() && pending.queue.is_empty());
        // the 5,000 rows' 15,000 day, week and month rows, 1,024 a batch;
        // then the batches' rows and the last batch's own
        assert_eq!(batches, 16);
        assert!(!marked(&sliced));
        let expected = written_whole(&change_of(0, next), &[]);
        assert_eq!(expected.len(), 3 * next);
        assert_eq!(contents(&sliced), expected);
    }

    #[test]
    fn a_reports_flush_of_one_shape_writes_its_rows_alone() {
        let mut conn = migrated();
        let mut pending = due();
        // mid-drain: the first shape's rows queued, another's pending
        let tx = conn.transaction().unwrap();
        let step = pending.stage(&tx, change_in(1, 0, 300)).unwrap();
        tx.commit().unwrap();
        pending.apply(step);
        assert!(rows(&pending.queue) > 0 && marked(&conn));
        pending.flush_shape(&mut conn, 0).unwrap();
        // the first shape as one fold writes it; the other not yet
        assert_eq!(contents(&conn), written_whole(&change_of(0, 5_000), &[]));
        assert_eq!((rows(&pending.queue), rows(&pending.change)), (0, 300));
        assert!(marked(&conn), "a shape is still pending");
        // what is left is all one shape's: a whole flush
        pending.flush_shape(&mut conn, 1).unwrap();
        let mut all = change_of(0, 5_000);
        all.extend(change_in(1, 0, 300));
        assert_eq!(contents(&conn), written_whole(&all, &[]));
        assert!(!marked(&conn));
    }

    #[test]
    fn a_drain_ends_when_every_row_writes_six_local_days_too() {
        // three timezones with summer time: each row writes nine rows
        let phases = [
            3_600_000, 7_200_000, 10_800_000, 14_400_000, 18_000_000, 21_600_000,
        ];
        let mut sliced = migrated();
        keep_phases(&sliced, &phases);
        let mut pending = due();
        let (_, next) = drain(&mut sliced, &mut pending, 200, 4 + phases.len());
        assert!(pending.change.is_empty() && pending.queue.is_empty());
        let expected = written_whole(&change_of(0, next), &phases);
        assert_eq!(expected.len(), 9 * next);
        assert_eq!(contents(&sliced), expected);
    }

    #[test]
    fn a_batch_rolled_back_mid_drain_loses_nothing_and_a_flush_ends_the_drain() {
        let mut conn = migrated();
        let mut pending = due();
        let staged = |conn: &mut Connection, pending: &mut Pending, from: usize, commit: bool| {
            let tx = conn.transaction().unwrap();
            let step = pending.stage(&tx, change_of(from, 10)).unwrap();
            if commit {
                tx.commit().unwrap();
                pending.apply(step);
            }
        };
        staged(&mut conn, &mut pending, 5_000, true);
        staged(&mut conn, &mut pending, 5_010, true);
        assert!(marked(&conn), "unflushed rows are marked");
        assert!(!pending.queue.is_empty());
        // its postbacks were refused: their rows must not count
        staged(&mut conn, &mut pending, 1_000_000, false);
        staged(&mut conn, &mut pending, 5_020, true);
        // a report flushes what the queue and the pending rows hold
        pending.flush(&mut conn).unwrap();
        assert!(!marked(&conn));
        assert!(pending.change.is_empty() && pending.queue.is_empty());
        assert_eq!(contents(&conn), written_whole(&change_of(0, 5_030), &[]));
    }

    #[test]
    fn merging_drops_rows_that_come_to_nothing_and_keeps_the_rest() {
        let mut into = change_of(0, 3);
        let mut undo = change_of(1, 1);
        for m in undo.values_mut().flat_map(|r| r.values_mut()) {
            for v in m.iter_mut() {
                *v = -*v;
            }
        }
        conversion_rollup::merge(&mut into, undo);
        let keys: Vec<String> = into
            .values()
            .flat_map(|r| r.keys().map(|(_, k)| k[1].clone()))
            .collect();
        assert_eq!(keys, ["lnk_0", "lnk_2"]);
        conversion_rollup::merge(&mut into, Change::from([((0, "q"), Default::default())]));
        assert_eq!(rows(&into), 2);
        let mut gone = change_of(0, 3);
        for m in gone.values_mut().flat_map(|r| r.values_mut()) {
            for v in m.iter_mut() {
                *v = -*v;
            }
        }
        conversion_rollup::merge(&mut into, gone);
        // lnk_1 was gone already: its negation stays, the others cancel
        assert_eq!(rows(&into), 1);
    }
}
