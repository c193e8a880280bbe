//! Adding rows to a rollup table on PostgreSQL: one statement per table
//! (the rows as arrays, `UNNEST`), whose conflicts add to what is there
//! (`n = n + excluded.n`), so nodes writing at once never overwrite each
//! other. Callers pass rows in key order, so two transactions lock the
//! rows they share in the same order and never wait in a circle.

use tokio_postgres::types::ToSql;
use tokio_postgres::Transaction;

/// Adds `rows` (bucket, key values in `keys` order, figures in `metrics`
/// order) to `table`.
pub async fn add_rows<'a, K: AsRef<str> + 'a>(
    tx: &Transaction<'_>,
    table: &str,
    keys: &[&str],
    metrics: &[impl AsRef<str>],
    rows: impl Iterator<Item = (i64, &'a [K], &'a [i64])>,
) -> Result<(), tokio_postgres::Error> {
    let mut buckets: Vec<i64> = Vec::new();
    let mut key_values: Vec<Vec<&str>> = vec![Vec::new(); keys.len()];
    let mut figures: Vec<Vec<i64>> = vec![Vec::new(); metrics.len()];
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
    let sql = format!(
        "INSERT INTO {table} (bucket_ms, {keys}, {})
         SELECT * FROM UNNEST({})
         ON CONFLICT (bucket_ms, {keys}) DO UPDATE SET {}",
        metrics.join(", "),
        arrays.join(", "),
        sets.join(", ")
    );
    let mut args: Vec<&(dyn ToSql + Sync)> = vec![&buckets];
    for k in &key_values {
        args.push(k);
    }
    for f in &figures {
        args.push(f);
    }
    let st = super::lane::prepared(tx, &sql).await?;
    tx.execute(&st, &args).await.map(drop)
}
