//! SQLite's click rollups (what they are: `crate::rollup`).
//!
//! Rollups are derived data: every count in them can be recomputed from the
//! clicks table. So they are *not* updated in each click batch's transaction
//! (that dirtied up to six rollup pages per click and wrote each of them to
//! the WAL once per batch). Instead the writer adds each committed batch to
//! in-memory sums and folds them into the tables every 10 seconds, in the
//! transactions of later batches: 256 rows per batch, so no click waits for
//! all of them (that was an 8 ms stall, visible at p99). A report folds
//! the rows of the shape it reads first (`flush_shape`), so it always sees
//! every committed click.
//!
//! Why 10 seconds: a key that clicks every second is upserted at each
//! grain (15 minutes, day, week, month, local days) once per fold, so the
//! upserts a fold costs depend on how many keys it holds, not on how many
//! clicks. Folding every second, the link x device shape's 3,000 keys a
//! second cost a quarter of the durable redirects; every 10 s, the 28
//! shapes fold about a fifth of the rows they did every second
//! (`clickledger-bench http --quick`, docs/BENCHMARKS.md). The price is
//! what a report flushes first under load: up to 10 s of distinct rows
//! (or `FLUSH_ROWS`).
//!
//! A crash between flushes would lose the in-memory sums, so the first batch
//! after a flush records `rollups_pending_since` (the earliest unflushed
//! click time) in `meta`, in its own transaction; a flush deletes it. On open,
//! a marker that is still there means sums were lost: the rollups from that
//! UTC day on are rebuilt from the raw clicks.
//!
//! The tables are in the schema (`migrations/0001_init.sql`);
//! `crate::rollup::ROLLUPS` names their key columns, and a test holds the
//! two together.

use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, ToSql};
use rustc_hash::FxHashMap;

use super::sql::{first_click_id_at, move_marker};
use crate::key_values::KeyValues;
use crate::model::{Click, Grain, LocalDays};
use crate::rollup::{
    add, coarse_buckets, key_text, local_days_since, rebuilds, sums_of, Key, Sums, KEY_WIDTH,
    ROLLUPS,
};
use crate::sub_guard::SubGuard;

const MARKER: &str = "rollups_pending_since";
/// Flush at least this often, or when this many distinct rows are pending
/// (which also bounds the memory the sums take).
const FLUSH_EVERY: Duration = Duration::from_secs(10);
const FLUSH_ROWS: usize = 50_000;
/// Rows folded per click batch while a flush is in progress (about a
/// millisecond of upserts), or twice the rows the batch brings, whichever
/// is more: a writer given large batches (a journal replay, a bulk load)
/// must fold faster than rows arrive, or the sums in memory only grow
/// (a 10 M-click load in batches of 10,000 held 16 GB of them).
const SLICE: usize = 256;

fn earliest(sums: &Sums) -> Option<i64> {
    sums.keys().map(|(_, bucket, _)| *bucket).min()
}

/// What the writer holds between flushes.
pub(super) struct Pending {
    sums: Sums,
    /// The strings of the sums' keys (and of a batch's, staged).
    values: KeyValues,
    /// Distinct sub values kept per day (`crate::sub_guard`).
    guard: SubGuard,
    /// The marker as written in `meta` (None: no unflushed clicks on disk).
    since: Option<i64>,
    last_flush: Instant,
    /// A flush in progress: each batch folds a slice of the rows, so no
    /// batch waits for a whole fold's worth of them.
    draining: bool,
}

impl Default for Pending {
    fn default() -> Self {
        Pending {
            sums: Sums::default(),
            values: KeyValues::default(),
            guard: SubGuard::default(),
            since: None,
            last_flush: Instant::now(),
            draining: false,
        }
    }
}

/// What a batch's transaction did to the rollups, to apply to `Pending`
/// once (and only if) it commits.
pub(super) enum Step {
    /// Everything pending, the batch included, is in the tables.
    Flushed,
    /// `folded` rows went into the tables; the batch is kept in memory.
    Kept {
        folded: Vec<Key>,
        batch: Sums,
        since: Option<i64>,
    },
}

impl Pending {
    /// Inside a click batch's transaction: when a flush is due, fold a
    /// slice of the pending rows (all of them, and the batch, once few are
    /// left); record the marker if it moves.
    pub fn stage(&mut self, tx: &Connection, clicks: &[Click]) -> rusqlite::Result<Step> {
        let batch = sums_of(clicks, &mut self.values, &mut self.guard);
        // before any '(other)' row can be folded, with the clicks
        for (slot, day) in self.guard.overflows() {
            tx.prepare_cached(
                "INSERT OR IGNORE INTO sub_value_overflows (slot, day_ms) VALUES (?1, ?2)",
            )?
            .execute((slot, day))?;
        }
        let values = &self.values;
        let due = self.draining
            || self.last_flush.elapsed() >= FLUSH_EVERY
            || self.sums.len() >= FLUSH_ROWS;
        let slice = SLICE.max(2 * batch.len());
        if due && self.sums.len() <= slice {
            return fold(tx, values, self.sums.iter().chain(batch.iter()));
        }
        let mut folded = Vec::new();
        if due {
            let slice: Vec<(&Key, &[i64; 4])> = self.sums.iter().take(slice).collect();
            write_rows(tx, values, slice.iter().copied())?;
            folded = slice.into_iter().map(|(k, _)| *k).collect();
        }
        let since = move_marker(tx, MARKER, self.since, earliest(&batch))?;
        Ok(Step::Kept {
            folded,
            batch,
            since,
        })
    }

    /// After the transaction committed.
    pub fn apply(&mut self, step: Step) {
        match step {
            Step::Flushed => {
                self.sums.clear();
                self.values.clear();
                self.since = None;
                self.last_flush = Instant::now();
                self.draining = false;
            }
            Step::Kept {
                folded,
                batch,
                since,
            } => {
                self.draining |= !folded.is_empty();
                for key in &folded {
                    self.sums.remove(key);
                }
                for (key, counts) in batch {
                    add(self.sums.entry(key).or_default(), &counts);
                }
                if since.is_some() {
                    self.since = since;
                }
            }
        }
    }

    /// A flush on its own (before a report reads the rollups).
    pub fn flush(&mut self, conn: &mut Connection) -> rusqlite::Result<()> {
        if self.sums.is_empty() {
            return Ok(());
        }
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let step = fold(&tx, &self.values, self.sums.iter())?;
        tx.commit()?;
        self.apply(step);
        Ok(())
    }

    /// Folds the rows of one shape (`ROLLUPS[which]`) alone, before a
    /// report that reads only it: the other shapes' rows stay pending, and
    /// the marker with them. A report beside busy clicks folded up to 10 s
    /// of all 28 shapes' rows first, most of what it cost the clicks.
    pub fn flush_shape(&mut self, conn: &mut Connection, which: usize) -> rusqlite::Result<()> {
        let rows: Vec<(&Key, &[i64; 4])> = self
            .sums
            .iter()
            .filter(|((w, _, _), _)| *w == which)
            .collect();
        if rows.len() == self.sums.len() {
            return self.flush(conn);
        }
        if rows.is_empty() {
            return Ok(());
        }
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        write_rows(&tx, &self.values, rows.iter().copied())?;
        tx.commit()?;
        self.sums.retain(|(w, _, _), _| *w != which);
        // no fold for a while, as after a whole flush: the report's reads
        // run on snapshots of their own, and a fold between them (its new
        // rows in the shape read) could reach one read and not another
        self.last_flush = Instant::now();
        self.draining = false;
        Ok(())
    }
}

/// Writes every row given and clears the marker: nothing is pending after.
fn fold<'a>(
    tx: &Connection,
    values: &KeyValues,
    sums: impl Iterator<Item = (&'a Key, &'a [i64; 4])>,
) -> rusqlite::Result<Step> {
    write_rows(tx, values, sums)?;
    tx.execute("DELETE FROM meta WHERE k = ?1", [MARKER])?;
    Ok(Step::Flushed)
}

/// Adds sums to the 15-minute rows and, summed again per UTC day, week and
/// month (and local day, `rollup::coarse_buckets`), to the coarser rows:
/// one upsert per distinct row.
fn write_rows<'a>(
    tx: &Connection,
    values: &KeyValues,
    sums: impl Iterator<Item = (&'a Key, &'a [i64; 4])>,
) -> rusqlite::Result<()> {
    let phases = local_phases(tx)?;
    let mut coarse: FxHashMap<(Grain, usize, i64, [u32; KEY_WIDTH]), [i64; 4]> =
        FxHashMap::default();
    for ((which, bucket, key), counts) in sums {
        upsert(
            tx,
            *which,
            Grain::Quarter,
            *bucket,
            &key_text(values, *which, key),
            counts,
        )?;
        for (grain, start) in coarse_buckets(*bucket, &phases) {
            add(
                coarse.entry((grain, *which, start, *key)).or_default(),
                counts,
            );
        }
    }
    for ((grain, which, start, key), counts) in coarse {
        upsert(
            tx,
            which,
            grain,
            start,
            &key_text(values, which, &key),
            &counts,
        )?;
    }
    Ok(())
}

/// The local-day phases the rollups keep (`LocalDays`), read in the
/// transaction that writes rows: every writer sees a phase once added.
pub(super) fn local_phases(c: &Connection) -> rusqlite::Result<Vec<i64>> {
    let mut st = c.prepare_cached(crate::rollup::PHASES_SQL)?;
    let phases = st.query_map([], |r| r.get(0))?.collect();
    phases
}

/// Keeps local days at `phases` (see `Store::keep_local_days`); every
/// phase kept, with when its rows are complete from.
pub(super) fn keep_local_days(
    conn: &mut Connection,
    phases: &[i64],
    now_ms: i64,
) -> rusqlite::Result<Vec<LocalDays>> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    // sums still in memory are folded with every phase kept by then
    let rolled_up: bool = tx.query_row(crate::rollup::ROLLED_UP_SQL, [], |r| r.get(0))?;
    for p in phases.iter().filter(|p| **p != 0) {
        tx.execute(
            "INSERT INTO local_days (phase_ms, since_ms) VALUES (?1, ?2) ON CONFLICT (phase_ms) DO NOTHING",
            [*p, local_days_since(*p, now_ms, rolled_up)],
        )?;
    }
    let kept = kept(&tx)?;
    tx.commit()?;
    Ok(kept)
}

/// Every phase kept, with when its rows are complete from.
pub(super) fn kept(c: &Connection) -> rusqlite::Result<Vec<LocalDays>> {
    let mut st = c.prepare_cached(crate::rollup::KEPT_SQL)?;
    let kept = st
        .query_map([], |r| {
            Ok(LocalDays {
                phase_ms: r.get(0)?,
                since_ms: r.get(1)?,
            })
        })?
        .collect();
    kept
}

/// The upsert adding counts to one row of a rollup's table, per rollup and
/// grain, built once.
fn upsert_sql(which: usize, grain: Grain) -> &'static str {
    static SQL: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let all = SQL.get_or_init(|| {
        let mut all = Vec::new();
        for r in &ROLLUPS {
            let cols = r.columns.join(", ");
            let marks: Vec<String> = (2..r.columns.len() + 6).map(|i| format!("?{i}")).collect();
            for g in Grain::ALL.map(Grain::suffix) {
                all.push(format!(
                    "INSERT INTO {}_{g} (bucket_ms, {cols}, clicks, unique_clicks, bot_clicks, suspicious_clicks)
                     VALUES (?1, {})
                     ON CONFLICT (bucket_ms, {cols}) DO UPDATE SET
                         clicks = clicks + excluded.clicks, unique_clicks = unique_clicks + excluded.unique_clicks,
                         bot_clicks = bot_clicks + excluded.bot_clicks, suspicious_clicks = suspicious_clicks + excluded.suspicious_clicks",
                    r.stem,
                    marks.join(", ")
                ));
            }
        }
        all
    });
    &all[which * Grain::ALL.len() + grain.index()]
}

fn upsert(
    tx: &Connection,
    which: usize,
    grain: Grain,
    bucket: i64,
    key: &[&str; KEY_WIDTH],
    counts: &[i64; 4],
) -> rusqlite::Result<()> {
    let mut st = tx.prepare_cached(upsert_sql(which, grain))?;
    let mut args: Vec<&dyn ToSql> = vec![&bucket];
    for part in key.iter().take(ROLLUPS[which].columns.len()) {
        args.push(part);
    }
    for c in counts {
        args.push(c);
    }
    st.execute(args.as_slice())?;
    Ok(())
}

/// On open: when sums were lost (a crash between flushes), rebuild every
/// rollup from the marker's UTC day on from the raw clicks. Returns the day
/// rebuilt from, if any.
pub(super) fn repair(conn: &mut Connection) -> rusqlite::Result<Option<i64>> {
    let since: Option<String> = conn
        .query_row("SELECT v FROM meta WHERE k = ?1", [MARKER], |r| r.get(0))
        .optional()?;
    let Some(since) = since.and_then(|s| s.parse::<i64>().ok()) else {
        return Ok(None);
    };
    let day = Grain::Day.start(since);
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let phases = local_phases(&tx)?;
    for r in &ROLLUPS {
        let cols = r.columns.join(", ");
        let exprs = r.from_clicks.join(", ");
        let groups: Vec<String> = (1..=r.columns.len() + 1).map(|i| i.to_string()).collect();
        // the week's rows are rebuilt from the week's start, a local day's
        // from that day's
        for b in rebuilds(&Grain::ALL, &phases, day, "r.ts_ms") {
            let g = b.grain.suffix();
            tx.execute(
                &format!("DELETE FROM {}_{g} WHERE bucket_ms >= ?1{}", r.stem, b.rows),
                [b.from],
            )?;
            tx.execute(
                &format!(
                    "INSERT INTO {}_{g} (bucket_ms, {cols}, clicks, unique_clicks, bot_clicks, suspicious_clicks)
                     SELECT {}, {exprs}, COUNT(*), SUM(r.is_unique), SUM(r.is_bot), SUM(r.suspicious)
                     FROM clicks r JOIN links l ON l.id = r.link_id JOIN user_agents u ON u.id = r.ua_id
                     WHERE r.id >= ?1 AND r.test = 0 GROUP BY {}",
                    r.stem,
                    b.start_sql,
                    groups.join(", ")
                ),
                [&first_click_id_at(b.from)],
            )?;
        }
    }
    tx.execute("DELETE FROM meta WHERE k = ?1", [MARKER])?;
    tx.commit()?;
    Ok(Some(day))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table's columns, each with its place in the primary key (0: none).
    fn columns_and_keys(conn: &Connection, table: &str) -> Vec<(String, i64)> {
        conn.prepare(&format!(
            "SELECT name, pk FROM pragma_table_info('{table}') ORDER BY cid"
        ))
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    }

    /// The schema's rollup tables are the ones `ROLLUPS` writes: per rollup
    /// and grain, the bucket, the key columns, the four counts, keyed by
    /// bucket and key.
    #[test]
    fn the_schema_has_every_rollup_table() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::migrate::migrate(&mut conn, 0).unwrap();
        for r in &ROLLUPS {
            for grain in Grain::ALL.map(Grain::suffix) {
                let table = format!("{}_{grain}", r.stem);
                let info = columns_and_keys(&conn, &table);
                let mut expected = vec![("bucket_ms".to_string(), 1)];
                for (i, c) in r.columns.iter().enumerate() {
                    expected.push((c.to_string(), i as i64 + 2));
                }
                for c in ["clicks", "unique_clicks", "bot_clicks", "suspicious_clicks"] {
                    expected.push((c.to_string(), 0));
                }
                assert_eq!(info, expected, "{table}");
            }
        }
    }

    /// A report's fold of one shape puts off the next fold as a whole
    /// flush does: a fold between the report's reads could reach one of
    /// them and not another.
    #[test]
    fn after_a_reports_fold_of_one_shape_no_batch_folds_until_one_is_due_again() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::migrate::migrate(&mut conn, 0).unwrap();
        let mut values = KeyValues::default();
        let key = [values.number("x"); KEY_WIDTH];
        // a row in every shape, a drain under way
        let sums: Sums = (0..ROLLUPS.len())
            .map(|which| ((which, 1_764_547_200_000, key), [1, 0, 0, 0]))
            .collect();
        let mut pending = Pending {
            sums,
            values,
            last_flush: Instant::now() - FLUSH_EVERY,
            draining: true,
            ..Pending::default()
        };
        pending.flush_shape(&mut conn, 1).unwrap();
        assert_eq!(pending.sums.len(), ROLLUPS.len() - 1);
        let tx = conn.transaction().unwrap();
        match pending.stage(&tx, &[]).unwrap() {
            Step::Kept { folded, .. } => assert!(folded.is_empty(), "{folded:?}"),
            Step::Flushed => panic!("the batch folded right after the report's fold"),
        }
    }

    /// The conversion rollup tables are the ones `conversion_rollup`
    /// writes: bucket, basis, the shape's keys, event and status (the key,
    /// basis first), then every figure; at the grains it keeps, and no
    /// other.
    #[test]
    fn the_schema_has_every_conversion_rollup_table() {
        use crate::conversion_rollup::{grains, key_columns, metric_columns, table};
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::migrate::migrate(&mut conn, 0).unwrap();
        for which in 0..ROLLUPS.len() {
            for grain in Grain::ALL {
                let table = table(which, grain.suffix());
                let info = columns_and_keys(&conn, &table);
                if !grains(which).contains(&grain) {
                    assert!(info.is_empty(), "{table}: {info:?}");
                    continue;
                }
                // the key leads with the basis, then the bucket
                let mut expected = vec![("bucket_ms".to_string(), 2)];
                for (i, c) in key_columns(which).iter().enumerate() {
                    expected.push((c.to_string(), if i == 0 { 1 } else { i as i64 + 2 }));
                }
                for c in metric_columns() {
                    expected.push((c.clone(), 0));
                }
                assert_eq!(info, expected, "{table}");
            }
        }
    }
}
