//! Local days filled in for a timezone named late (`LocalDays`).
//!
//! A phase kept once clicks are rolled up is complete only from its next
//! local day (`rollup::local_days_since`): the rows folded before it lack
//! it. Without more, a tracker that starts reporting in New York reads 90
//! days there from UTC days and the 15-minute rows that correct them for
//! the next 90 days. So each day before `since_ms` is filled in, newest
//! first, one local day per call: every shape's row for it summed again
//! from the 15-minute rows (and the conversion shapes that keep none,
//! from the conversions), then `since_ms` moved a day back, to 0 once no
//! earlier day holds anything.
//!
//! Each table is rebuilt in its own transaction on the writer, so clicks
//! wait for one table's day at most. A row rebuilt from the 15-minute rows
//! is exact at its commit: sums still in memory are in neither, and their
//! fold adds to both. A conversion shape's pending rows are written first
//! (`conversion_rollup::Pending::flush_shape`): rebuilt from the
//! conversions, their fold would count them again, and a drain in
//! progress writes day rows before 15-minute rows.

use rusqlite::{params, Connection, TransactionBehavior};

use super::conversion_rollup::rebuild_sql;
use super::Writer;
use crate::conversion_rollup::{keeps_quarters, key_columns, metric_columns, table};
use crate::model::{local_day_start, Grain, LocalDays};
use crate::rollup::ROLLUPS;

const DAY: i64 = 86_400_000;

/// What the next call does for a phase.
pub(super) enum Next {
    /// The phase is not kept.
    Unknown,
    /// Complete from the start (`since_ms` now 0, if it was not).
    Done,
    /// Rebuild the local day starting at `day`; `since_ms` is `since`.
    Day { day: i64, since: i64 },
}

/// Where the phase stands: done once no day before `since_ms` holds a
/// click or conversion (which then sets `since_ms` to 0).
pub(super) fn next(c: &Connection, phase_ms: i64) -> rusqlite::Result<Next> {
    let Some(since) = kept(c, phase_ms)?.map(|k| k.since_ms) else {
        return Ok(Next::Unknown);
    };
    if since == 0 {
        return Ok(Next::Done);
    }
    let earliest: Option<i64> = c.query_row(
        "SELECT MIN(m) FROM (SELECT MIN(bucket_ms) AS m FROM rollup_offer_d
             UNION ALL SELECT MIN(bucket_ms) FROM conv_rollup_offer_d WHERE basis = 'click'
             UNION ALL SELECT MIN(bucket_ms) FROM conv_rollup_offer_d WHERE basis = 'conversion')",
        [],
        |r| r.get(0),
    )?;
    match earliest {
        Some(e) if since > local_day_start(e, phase_ms) => Ok(Next::Day {
            day: since - DAY,
            since,
        }),
        _ => {
            c.execute(
                "UPDATE local_days SET since_ms = 0 WHERE phase_ms = ?1",
                [phase_ms],
            )?;
            Ok(Next::Done)
        }
    }
}

/// Rebuilds the click rows of shape `which` for the local day at `day`.
pub(super) fn clicks(conn: &mut Connection, which: usize, day: i64) -> rusqlite::Result<()> {
    let stem = ROLLUPS[which].stem;
    let cols = ROLLUPS[which].columns.join(", ");
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(&format!("DELETE FROM {stem}_d WHERE bucket_ms = ?1"), [day])?;
    tx.execute(
        &format!(
            "INSERT INTO {stem}_d (bucket_ms, {cols}, clicks, unique_clicks, bot_clicks, suspicious_clicks)
             SELECT ?1, {cols}, SUM(clicks), SUM(unique_clicks), SUM(bot_clicks), SUM(suspicious_clicks)
             FROM {stem}_q WHERE bucket_ms >= ?1 AND bucket_ms < ?2 GROUP BY {cols}"
        ),
        [day, day + DAY],
    )?;
    tx.commit()
}

/// Rebuilds the conversion rows of shape `which` for the local day at
/// `day`, both bases: from its 15-minute rows where it keeps them, else
/// from the conversions, its pending rows written first.
pub(super) fn conversions(w: &mut Writer, which: usize, day: i64) -> rusqlite::Result<()> {
    let days = table(which, Grain::Day.suffix());
    // pending rows in neither table would do, but a drain in progress
    // writes a shape's day rows before its 15-minute rows (table order)
    w.conversions.flush_shape(&mut w.conn, which)?;
    let tx = w
        .conn
        .transaction_with_behavior(TransactionBehavior::Immediate)?;
    // the basis leads the key
    tx.execute(
        &format!("DELETE FROM {days} WHERE basis IN ('click', 'conversion') AND bucket_ms = ?1"),
        [day],
    )?;
    if keeps_quarters(which) {
        let keys = key_columns(which).join(", ");
        let sums: Vec<String> = metric_columns()
            .iter()
            .map(|m| format!("SUM({m})"))
            .collect();
        tx.execute(
            &format!(
                "INSERT INTO {days} (bucket_ms, {keys}, {})
                 SELECT ?1, {keys}, {} FROM {}
                 WHERE basis IN ('click', 'conversion') AND bucket_ms >= ?1 AND bucket_ms < ?2
                 GROUP BY {keys}",
                metric_columns().join(", "),
                sums.join(", "),
                table(which, Grain::Quarter.suffix())
            ),
            [day, day + DAY],
        )?;
    } else {
        for basis in ["click", "conversion"] {
            tx.execute(
                &rebuild_sql(which, Grain::Day, basis, "?1", true),
                [day, day + DAY],
            )?;
        }
    }
    tx.commit()
}

/// Moves `since_ms` a day back, unless another call moved it meanwhile.
pub(super) fn moved(
    c: &Connection,
    phase_ms: i64,
    since: i64,
    day: i64,
) -> rusqlite::Result<LocalDays> {
    c.execute(
        "UPDATE local_days SET since_ms = ?3 WHERE phase_ms = ?1 AND since_ms = ?2",
        params![phase_ms, since, day],
    )?;
    kept(c, phase_ms)?.ok_or(rusqlite::Error::QueryReturnedNoRows)
}

/// The phase as kept, if it is.
fn kept(c: &Connection, phase_ms: i64) -> rusqlite::Result<Option<LocalDays>> {
    Ok(super::rollup::kept(c)?
        .into_iter()
        .find(|k| k.phase_ms == phase_ms))
}
