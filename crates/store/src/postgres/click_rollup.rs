//! PostgreSQL's click rollups (what they are: `crate::rollup`).
//!
//! As on SQLite (`sqlite/rollup.rs`), a click batch does not upsert its
//! rollup rows. That was 24 statements per batch, most of them on the same
//! hot rows (an offer's quarter hour), and it halved a node's redirects
//! (3,327 → 1,704 per second). The click writer adds each committed batch
//! to sums in the node's memory and folds them about once a second, in a
//! later batch's transaction. A report on this node flushes first; another
//! node's clicks reach the rollups within about a second. (SQLite folds
//! every 10 s, fewer upserts for the same clicks: its one process flushes
//! before every report. Here a report reads other nodes' sums without
//! them, so the interval is how stale it may be.)
//!
//! Several nodes share the tables, so a lost sum cannot be mended as
//! SQLite mends it, by rebuilding from the raw clicks: the other nodes'
//! sums, not yet folded, would then count twice. Instead the sums between
//! two folds are a *generation* with a tag from a sequence, and each of its
//! clicks is written with that tag (`clicks.fold`). A row in
//! `rollups_pending` (tag, earliest click time) says the generation is not
//! folded, and its node holds a session advisory lock on the tag while it
//! lives. Any node that finds a pending generation whose lock is free (its
//! node died, or lost its connection) folds exactly that generation's
//! clicks, read back by tag.
//!
//! The row decides who folds: whoever deletes it adds the sums, in the same
//! transaction. Every batch of a generation updates the row first, so a
//! repair waits for the batch and then counts it; a writer that finds its
//! row gone drops its sums (they are counted) and writes the batch again
//! under a new tag.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tokio_postgres::{Client, GenericClient, Transaction};

use super::sql::{pg_error, rows};
use crate::key_values::KeyValues;
use crate::model::{Click, Grain};
use crate::query::{first_click_id_at, Query, CLICK_SELECT};
use crate::rollup::{add, coarse_buckets, key_text, sums_of, Key, Sums, KEY_WIDTH, ROLLUPS};
use crate::sub_guard::SubGuard;
use crate::StoreResult;

/// Fold at least this often, or when this many distinct rows are pending.
const FLUSH_EVERY: Duration = Duration::from_secs(1);
const FLUSH_ROWS: usize = 50_000;
/// The advisory lock a generation's node holds, keyed by its tag.
const LOCK: &str = "hashtextextended('rollups:' || $1::bigint, 0)";

/// A generation: its tag and the backend (connection) that holds its
/// lock. Its earliest click time lives in its row only.
#[derive(Clone, Copy)]
struct Generation {
    tag: i64,
    backend: i32,
}

/// What the click writer holds between folds.
pub struct Pending {
    sums: Sums,
    /// The strings of the sums' keys.
    values: KeyValues,
    /// Distinct sub values kept per day (`crate::sub_guard`).
    guard: SubGuard,
    generation: Option<Generation>,
    last_flush: Instant,
    /// A batch's commit failed and its generation was left to the repair:
    /// the next report repairs at once.
    pub abandoned: bool,
}

impl Default for Pending {
    fn default() -> Self {
        Pending {
            sums: Sums::default(),
            values: KeyValues::default(),
            guard: SubGuard::default(),
            generation: None,
            last_flush: Instant::now(),
            abandoned: false,
        }
    }
}

impl Pending {
    pub fn is_empty(&self) -> bool {
        self.sums.is_empty()
    }

    /// Commits a batch of clicks, with this writer's connection: the clicks
    /// tagged with the generation, and the fold when one is due.
    pub async fn insert(
        &mut self,
        c: &mut Client,
        clicks: &[Click],
        insert: impl AsyncFn(&Transaction<'_>, Option<i64>) -> StoreResult<()>,
    ) -> StoreResult<()> {
        let earliest = clicks.iter().filter(|k| !k.test).map(|k| k.ts_ms).min();
        loop {
            // (again after `forget`, which empties the values)
            let batch = sums_of(clicks, &mut self.values, &mut self.guard);
            let tx = c.transaction().await.map_err(pg_error)?;
            record_overflows(&tx, &self.guard).await?;
            let generation = match earliest {
                Some(at) => match self.enter(&tx, at).await? {
                    Some(g) => Some(g),
                    None => {
                        // another node folded this generation: its sums are
                        // counted, and this batch goes again under a new tag
                        drop(tx);
                        self.forget();
                        continue;
                    }
                },
                None => self.generation,
            };
            insert(&tx, generation.map(|g| g.tag)).await?;
            let due = self.last_flush.elapsed() >= FLUSH_EVERY || self.sums.len() >= FLUSH_ROWS;
            let folded = match generation {
                Some(g) if due => {
                    if !close(&tx, g.tag).await? {
                        drop(tx);
                        self.forget();
                        continue;
                    }
                    fold(&tx, &self.values, self.sums.iter().chain(batch.iter())).await?;
                    true
                }
                _ => false,
            };
            if let Err(e) = tx.commit().await {
                // the commit may have reached the server (the connection
                // broke on its answer): the batch's clicks are then stored
                // under the tag but are not in these sums. The repair folds
                // a generation from its clicks, exactly, once its lock is
                // free: leave it to the repair
                if let Some(g) = generation {
                    let _ = unlock(&*c, g.tag).await;
                }
                self.forget();
                self.abandoned = true;
                return Err(pg_error(e));
            }
            if folded {
                self.forget();
                self.last_flush = Instant::now();
            } else {
                self.generation = generation;
                for (key, counts) in batch {
                    add(self.sums.entry(key).or_default(), &counts);
                }
            }
            return Ok(());
        }
    }

    /// Folds everything pending on its own (before a report reads).
    pub async fn flush(&mut self, c: &mut Client) -> StoreResult<()> {
        let Some(g) = self.generation else {
            return Ok(());
        };
        let tx = c.transaction().await.map_err(pg_error)?;
        if close(&tx, g.tag).await? {
            fold(&tx, &self.values, self.sums.iter()).await?;
        }
        tx.commit().await.map_err(pg_error)?;
        self.forget();
        self.last_flush = Instant::now();
        Ok(())
    }

    /// The generation this batch joins, its row updated (and so locked
    /// until the commit): a new one when none is open. None: the row is
    /// gone, another node folded the generation.
    async fn enter(&self, tx: &Transaction<'_>, at: i64) -> StoreResult<Option<Generation>> {
        let Some(g) = self.generation else {
            let row = tx
                .query_one(
                    &format!(
                        "WITH t AS (SELECT nextval('rollup_folds') AS tag)
                         INSERT INTO rollups_pending (tag, since_ms)
                         SELECT tag, $1 FROM t WHERE pg_try_advisory_lock({})
                         RETURNING tag, pg_backend_pid()",
                        LOCK.replace("$1", "t.tag")
                    ),
                    &[&at],
                )
                .await
                .map_err(pg_error)?;
            return Ok(Some(Generation {
                tag: row.get(0),
                backend: row.get(1),
            }));
        };
        let row = tx
            .query_opt(
                "UPDATE rollups_pending SET since_ms = LEAST(since_ms, $2) WHERE tag = $1
                 RETURNING pg_backend_pid()",
                &[&g.tag, &at],
            )
            .await
            .map_err(pg_error)?;
        let Some(row) = row else { return Ok(None) };
        let backend: i32 = row.get(0);
        // a new connection (the old one broke) takes the lock again; if
        // another node holds it, that node is folding the generation now
        if backend != g.backend && !try_lock(tx, g.tag).await? {
            return Ok(None);
        }
        Ok(Some(Generation { backend, ..g }))
    }

    fn forget(&mut self) {
        self.sums.clear();
        self.values.clear();
        self.generation = None;
    }
}

/// Takes a generation's lock for this connection's session; false when
/// another session holds it.
async fn try_lock(c: &impl GenericClient, tag: i64) -> StoreResult<bool> {
    Ok(
        c.query_one(&format!("SELECT pg_try_advisory_lock({LOCK})"), &[&tag])
            .await
            .map_err(pg_error)?
            .get(0),
    )
}

/// Lets go of a generation's lock that this session holds.
async fn unlock(c: &impl GenericClient, tag: i64) -> StoreResult<()> {
    c.execute(&format!("SELECT pg_advisory_unlock({LOCK})"), &[&tag])
        .await
        .map_err(pg_error)
        .map(drop)
}

/// Deletes a generation's row and lets go of its lock. False: the row was
/// gone already (another node folded the generation).
async fn close(tx: &Transaction<'_>, tag: i64) -> StoreResult<bool> {
    let gone = tx
        .query_opt(
            &format!(
                "DELETE FROM rollups_pending WHERE tag = $1 RETURNING pg_advisory_unlock({LOCK})"
            ),
            &[&tag],
        )
        .await
        .map_err(pg_error)?;
    Ok(gone.is_some())
}

/// Folds every pending generation whose node is gone: its clicks are read
/// back by tag and added to the rollups. Returns how many it folded.
pub async fn repair(c: &mut Client) -> StoreResult<usize> {
    let tags: Vec<i64> = c
        .query("SELECT tag FROM rollups_pending ORDER BY tag", &[])
        .await
        .map_err(pg_error)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut folded = 0;
    for tag in tags {
        if !try_lock(&*c, tag).await? {
            // its node is alive and folds it itself
            continue;
        }
        let done = repair_one(c, tag).await;
        unlock(&*c, tag).await?;
        if done? {
            tracing::warn!(
                tag,
                "folded the click rollups of a node that stopped without folding them"
            );
            folded += 1;
        }
    }
    Ok(folded)
}

async fn repair_one(c: &mut Client, tag: i64) -> StoreResult<bool> {
    let tx = c.transaction().await.map_err(pg_error)?;
    let Some(row) = tx
        .query_opt(
            "DELETE FROM rollups_pending WHERE tag = $1 RETURNING since_ms",
            &[&tag],
        )
        .await
        .map_err(pg_error)?
    else {
        return Ok(false);
    };
    let since: i64 = row.get(0);
    let mut q = Query::new(CLICK_SELECT);
    q.add("r.id >= ?", Some(first_click_id_at(since)));
    q.add("r.fold = ?", Some(tag));
    let clicks = rows(&tx, &q)
        .await?
        .iter()
        .map(super::clicks::click_from_row)
        .collect::<StoreResult<Vec<_>>>()?;
    let (mut values, mut guard) = (KeyValues::default(), SubGuard::default());
    let sums = sums_of(&clicks, &mut values, &mut guard);
    record_overflows(&tx, &guard).await?;
    fold(&tx, &values, sums.iter()).await?;
    tx.commit().await.map_err(pg_error)?;
    Ok(true)
}

/// Records the days a batch counted sub values under '(other)', in its
/// transaction: before any such row is folded (`crate::sub_guard`).
async fn record_overflows(tx: &Transaction<'_>, guard: &SubGuard) -> StoreResult<()> {
    const RECORD: &str = "INSERT INTO sub_value_overflows (slot, day_ms) VALUES ($1, $2)
                          ON CONFLICT DO NOTHING";
    for (slot, day) in guard.overflows() {
        // with a value per click every batch records: prepared once a lane
        let st = super::lane::prepared(tx, RECORD).await.map_err(pg_error)?;
        tx.execute(&st, &[&i16::from(slot), &day])
            .await
            .map_err(pg_error)?;
    }
    Ok(())
}

/// Adds sums to the quarter-hour rows and, summed again per UTC day, week
/// and month, to the coarser rows: one statement per table, keys in order
/// so that two nodes folding at once lock rows in the same order.
async fn fold<'a>(
    tx: &Transaction<'_>,
    values: &KeyValues,
    sums: impl Iterator<Item = (&'a Key, &'a [i64; 4])>,
) -> StoreResult<()> {
    type Rows<'k> = BTreeMap<(i64, [&'k str; KEY_WIDTH]), [i64; 4]>;
    let phases = super::rollup::local_phases(tx).await.map_err(pg_error)?;
    let mut tables: Vec<[Rows; Grain::ALL.len()]> =
        (0..ROLLUPS.len()).map(|_| Default::default()).collect();
    for ((which, bucket, key), counts) in sums {
        let quarter = std::iter::once((Grain::Quarter, *bucket));
        let key = key_text(values, *which, key);
        for (grain, start) in quarter.chain(coarse_buckets(*bucket, &phases)) {
            add(
                tables[*which][grain.index()]
                    .entry((start, key))
                    .or_default(),
                counts,
            );
        }
    }
    // every table's statement at once: the connection pipelines them
    // (one round trip, not 112), and PostgreSQL runs them in this order
    const FIGURES: [&str; 4] = ["clicks", "unique_clicks", "bot_clicks", "suspicious_clicks"];
    let mut written: Vec<(String, &[&str])> = Vec::new();
    let mut rows_of = Vec::new();
    for (rollup, grains) in ROLLUPS.iter().zip(&tables) {
        for (grain, rows) in Grain::ALL.iter().zip(grains) {
            if !rows.is_empty() {
                written.push((
                    format!("{}_{}", rollup.stem, grain.suffix()),
                    rollup.columns,
                ));
                rows_of.push(rows);
            }
        }
    }
    let adders = super::rollup::prepare_adds(tx, &written, &FIGURES)
        .await
        .map_err(pg_error)?;
    // a key holds `KEY_WIDTH` values: `add_rows` takes the table's own
    let writes = adders.iter().zip(rows_of).map(|(to, rows)| {
        let rows = rows.iter().map(|((b, k), c)| (*b, &k[..], &c[..]));
        super::rollup::add_rows(tx, to, rows)
    });
    futures_util::future::try_join_all(writes)
        .await
        .map_err(pg_error)?;
    Ok(())
}
