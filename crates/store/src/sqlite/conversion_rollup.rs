//! SQLite's conversion rollups (what they are: `crate::conversion_rollup`).
//!
//! Like the click rollups (`rollup.rs`), they are derived data, so they are
//! not written in every postback batch's transaction: that was up to 42
//! upserts per conversion, and a duplicate touched as many rows as a new
//! conversion (postbacks fell from 13–17k/s to 3.4k/s). The writer adds
//! each committed batch's changes to sums in memory, where a second of
//! conversions to the same offer, country or status collapse into one row,
//! and folds them into the tables about once a second, in a later batch's
//! transaction. Reads flush first.
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

/// What the writer holds between flushes.
pub(super) struct Pending {
    change: Change,
    /// The marker as written in `meta` (None: nothing unflushed on disk).
    since: Option<i64>,
    last_flush: Instant,
}

impl Default for Pending {
    fn default() -> Self {
        Pending {
            change: Change::new(),
            since: None,
            last_flush: Instant::now(),
        }
    }
}

/// What a batch's transaction did, to apply once (and only if) it commits.
pub(super) enum Step {
    /// Everything pending, the batch's change included, is in the tables.
    Flushed,
    /// The batch's change is kept in memory; `since` is the marker written.
    Kept { change: Change, since: Option<i64> },
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

impl Pending {
    /// Inside a postback batch's transaction, before its commit: folds
    /// everything when a flush is due, else records the marker if the
    /// change reaches further back.
    pub fn stage(&self, tx: &Connection, change: Change) -> rusqlite::Result<Step> {
        let due = self.last_flush.elapsed() >= FLUSH_EVERY || rows(&self.change) >= FLUSH_ROWS;
        if due && !(self.change.is_empty() && change.is_empty()) {
            let mut all = self.change.clone();
            conversion_rollup::merge(&mut all, change);
            write_rows(tx, &all)?;
            tx.execute("DELETE FROM meta WHERE k = ?1", [MARKER])?;
            return Ok(Step::Flushed);
        }
        let since = move_marker(tx, MARKER, self.since, earliest(&change))?;
        Ok(Step::Kept { change, since })
    }

    /// After the transaction committed.
    pub fn apply(&mut self, step: Step) {
        match step {
            Step::Flushed => *self = Pending::default(),
            Step::Kept { change, since } => {
                conversion_rollup::merge(&mut self.change, change);
                if since.is_some() {
                    self.since = since;
                }
            }
        }
    }

    /// A flush on its own (before a report reads the rollups, at stop).
    pub fn flush(&mut self, conn: &mut Connection) -> rusqlite::Result<()> {
        if self.change.is_empty() {
            return Ok(());
        }
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        write_rows(&tx, &self.change)?;
        tx.execute("DELETE FROM meta WHERE k = ?1", [MARKER])?;
        tx.commit()?;
        *self = Pending::default();
        Ok(())
    }
}

/// Adds what a change writes (`conversion_rollup::writes`) to the
/// tables: one upsert per row.
fn write_rows(c: &Connection, change: &Change) -> rusqlite::Result<()> {
    let phases = super::rollup::local_phases(c)?;
    for ((which, grain), rows) in &conversion_rollup::writes(change, &phases) {
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
/// conversions, from `?1` (ms) on, each in the bucket `start` gives for
/// its time (`time`).
fn rebuild_sql(which: usize, grain: Grain, basis: &str, start: &str) -> String {
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
         FROM conversions c WHERE c.test = FALSE AND {time} >= ?1 GROUP BY {}",
        table(which, grain.suffix()),
        key_columns(which).join(", "),
        metric_columns().join(", "),
        start,
        keys.join(", "),
        sums.join(", "),
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
                tx.execute(&rebuild_sql(which, b.grain, basis, &b.start_sql), [b.from])?;
            }
        }
    }
    tx.execute("DELETE FROM meta WHERE k = ?1", [MARKER])?;
    tx.commit()?;
    Ok(Grain::ALL.iter().map(|g| g.start(since)).min())
}
