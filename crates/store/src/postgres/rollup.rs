//! Adding rows to a rollup table on PostgreSQL: one statement per table
//! (the rows as arrays, `UNNEST`), whose conflicts add to what is there
//! (`n = n + excluded.n`), so nodes writing at once never overwrite each
//! other. Callers pass rows in key order, so two transactions lock the
//! rows they share in the same order and never wait in a circle.

use tokio_postgres::types::ToSql;
use tokio_postgres::{Statement, Transaction};

/// An `add_rows` statement, prepared for its table (`prepare_adds`).
pub struct Adder {
    statement: Statement,
    keys: usize,
    metrics: usize,
}

/// Adds `rows` (bucket, key values in the table's key order, figures in
/// its metric order) to the table of `to`; key values past the table's
/// own columns are left out.
pub async fn add_rows<'a, K: AsRef<str> + 'a>(
    tx: &Transaction<'_>,
    to: &Adder,
    rows: impl Iterator<Item = (i64, &'a [K], &'a [i64])>,
) -> Result<(), tokio_postgres::Error> {
    let mut buckets: Vec<i64> = Vec::new();
    let mut key_values: Vec<Vec<&str>> = vec![Vec::new(); to.keys];
    let mut figures: Vec<Vec<i64>> = vec![Vec::new(); to.metrics];
    for (bucket, key, m) in rows {
        buckets.push(bucket);
        for (column, v) in key_values.iter_mut().zip(key) {
            column.push(v.as_ref());
        }
        for (column, v) in figures.iter_mut().zip(m) {
            column.push(*v);
        }
    }
    if buckets.is_empty() {
        return Ok(());
    }
    let mut args: Vec<&(dyn ToSql + Sync)> = vec![&buckets];
    for k in &key_values {
        args.push(k);
    }
    for f in &figures {
        args.push(f);
    }
    tx.execute(&to.statement, &args).await.map(drop)
}

/// The statement of `add_rows` for `table`.
fn add_sql(table: &str, keys: &[&str], metrics: &[impl AsRef<str>]) -> String {
    let metrics: Vec<&str> = metrics.iter().map(AsRef::as_ref).collect();
    let arrays: Vec<String> = std::iter::once("$1::bigint[]".to_string())
        .chain((0..keys.len()).map(|i| format!("${}::text[]", i + 2)))
        .chain((0..metrics.len()).map(|i| format!("${}::bigint[]", i + 2 + keys.len())))
        .collect();
    let sets: Vec<String> = metrics
        .iter()
        .map(|m| format!("{m} = {table}.{m} + excluded.{m}"))
        .collect();
    let keys = keys.join(", ");
    format!(
        "INSERT INTO {table} (bucket_ms, {keys}, {})
         SELECT * FROM UNNEST({})
         ON CONFLICT (bucket_ms, {keys}) DO UPDATE SET {}",
        metrics.join(", "),
        arrays.join(", "),
        sets.join(", ")
    )
}

/// `add_rows`' statement for each of `tables` (table, key columns),
/// prepared before any is sent. The callers send theirs together, and the
/// connection pipelines them (one round trip, not one per table) in the
/// order sent; were a statement still being prepared, it would go out
/// after later tables' and two nodes could lock rows in different orders.
/// On a lane each is prepared once per connection.
pub async fn prepare_adds<K: AsRef<[&'static str]> + Sync>(
    tx: &Transaction<'_>,
    tables: &[(String, K)],
    metrics: &[impl AsRef<str>],
) -> Result<Vec<Adder>, tokio_postgres::Error> {
    let mut out = Vec::with_capacity(tables.len());
    for (table, keys) in tables {
        let keys = keys.as_ref();
        out.push(Adder {
            statement: super::lane::prepared(tx, &add_sql(table, keys, metrics)).await?,
            keys: keys.len(),
            metrics: metrics.len(),
        });
    }
    Ok(out)
}

/// The local-day phases the rollups keep (`LocalDays`), read in the
/// transaction that writes rollup rows. `keep_local_days` adds a phase
/// under an exclusive lock on the table: it waits for every writer that
/// read the phases without it, and a writer after it sees it.
pub async fn local_phases(tx: &Transaction<'_>) -> Result<Vec<i64>, tokio_postgres::Error> {
    // one round trip (a prepared query is two): a fold and every
    // postback batch read them
    let rows = tx.simple_query(crate::rollup::PHASES_SQL).await?;
    Ok(rows
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0)?.parse().ok(),
            _ => None,
        })
        .collect())
}

/// Keeps local days at `phases` (see `Store::keep_local_days`); every
/// phase kept, with when its rows are complete from.
pub async fn keep_local_days(
    c: &mut tokio_postgres::Client,
    phases: &[i64],
    now_ms: i64,
) -> Result<Vec<crate::model::LocalDays>, tokio_postgres::Error> {
    let kept = |rows: Vec<tokio_postgres::Row>| -> Vec<crate::model::LocalDays> {
        rows.iter()
            .map(|r| crate::model::LocalDays {
                phase_ms: r.get(0),
                since_ms: r.get(1),
            })
            .collect()
    };
    // every node starts here, and the lock below waits for every fold in
    // flight: it is taken only for a phase not kept yet
    let before = kept(c.query(crate::rollup::KEPT_SQL, &[]).await?);
    let new: Vec<i64> = phases
        .iter()
        .copied()
        .filter(|p| *p != 0 && !before.iter().any(|l| l.phase_ms == *p))
        .collect();
    if new.is_empty() {
        return Ok(before);
    }
    let tx = c.transaction().await?;
    tx.batch_execute("LOCK TABLE local_days IN ACCESS EXCLUSIVE MODE")
        .await?;
    // every fold that read the phases without the new ones is committed
    let rolled_up: bool = tx
        .query_one(crate::rollup::ROLLED_UP_SQL, &[])
        .await?
        .get(0);
    for p in &new {
        let since = crate::rollup::local_days_since(*p, now_ms, rolled_up);
        tx.execute(
            "INSERT INTO local_days (phase_ms, since_ms) VALUES ($1, $2) ON CONFLICT (phase_ms) DO NOTHING",
            &[p, &since],
        )
        .await?;
    }
    let all = kept(tx.query(crate::rollup::KEPT_SQL, &[]).await?);
    tx.commit().await?;
    Ok(all)
}
