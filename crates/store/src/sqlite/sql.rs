//! Small SQLite helpers every area of the backend shares. They depend on
//! nothing else in the backend, so any area may use them.

use clickledger_domain::Currency;
use rusqlite::types::ToSqlOutput;
use rusqlite::{Connection, Row, ToSql};

use crate::query::{Query, Value};
use crate::StoreError;

/// An error that is not about the data (a lost thread, a failed open).
pub(super) fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

pub(super) fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("records serialize")
}

pub(super) use crate::query::first_click_id_at;

pub(super) fn parse_currency(s: String) -> rusqlite::Result<Currency> {
    Currency::parse(&s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self {
            Value::Int(v) => v.to_sql(),
            Value::Text(v) => v.to_sql(),
            Value::Bytes(v) => v.to_sql(),
            Value::Bool(v) => v.to_sql(),
        }
    }
}

/// Runs a shared query with SQLite's `?n` marks.
pub(super) fn rows<T>(
    c: &Connection,
    q: &Query,
    row: impl FnMut(&Row) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    let (sql, values) = q.render(|i| format!("?{i}"));
    let mut st = c.prepare_cached(&sql)?;
    let out = st.query_map(rusqlite::params_from_iter(values), row)?;
    out.collect()
}

/// A pending-sums marker (the earliest time whose sums are only in memory)
/// moved back to `earliest` when it reaches further back than `held`, the
/// marker as written; answers the new marker when it was written.
pub(super) fn move_marker(
    tx: &rusqlite::Connection,
    key: &str,
    held: Option<i64>,
    earliest: Option<i64>,
) -> rusqlite::Result<Option<i64>> {
    match (held, earliest) {
        (Some(h), Some(e)) if e >= h => Ok(None),
        (_, Some(e)) => {
            tx.execute(
                "INSERT INTO meta (k, v) VALUES (?1, ?2) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
                rusqlite::params![key, e.to_string()],
            )?;
            Ok(Some(e))
        }
        (_, None) => Ok(None),
    }
}
