//! What every PostgreSQL area shares: errors, corrupt values, and running
//! the shared queries with `$n` marks.

use std::fmt;

use bytes::BytesMut;
use clickledger_domain::{ClickId, Currency};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use tokio_postgres::{GenericClient, Row};

use crate::corrupt::CorruptValue;
use crate::query::{Query, Value};
use crate::{StoreError, StoreResult};

/// A PostgreSQL error as the store reports it: the server being away is
/// `Unavailable`; so is anything else, with its message.
pub fn pg_error(e: tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) => StoreError::Unavailable(format!("PostgreSQL: {}", db.message())),
        None => StoreError::Unavailable(format!("PostgreSQL: {e}")),
    }
}

/// Whether a failed statement lost a race with another node (a unique key
/// taken meanwhile, a deadlock, a serialization failure): the whole
/// transaction is worth running again.
pub fn lost_race(e: &tokio_postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        *c == SqlState::UNIQUE_VIOLATION
            || *c == SqlState::T_R_DEADLOCK_DETECTED
            || *c == SqlState::T_R_SERIALIZATION_FAILURE
    })
}

/// A stored value that does not read back as what its column holds.
pub fn corrupt(
    table: &'static str,
    row: impl fmt::Display,
    column: &'static str,
    value: impl fmt::Display,
    expected: &'static str,
) -> StoreError {
    StoreError::Corrupt(CorruptValue::new(table, row, column, value, expected).to_string())
}

pub fn currency(
    text: &str,
    table: &'static str,
    row: impl fmt::Display,
) -> Result<Currency, StoreError> {
    Currency::parse(text)
        .map_err(|_| corrupt(table, row, "currency", text, "an ISO 4217 currency code"))
}

pub fn click_id(
    bytes: &[u8],
    table: &'static str,
    row: impl fmt::Display,
) -> Result<ClickId, StoreError> {
    let arr: [u8; 16] = bytes.try_into().map_err(|_| {
        corrupt(
            table,
            row,
            "click_id",
            format_args!("{} bytes", bytes.len()),
            "a 16-byte click id",
        )
    })?;
    Ok(ClickId::from_bytes(arr))
}

pub fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("records serialize")
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Int(v) => v.to_sql(ty, out),
            Value::Text(v) => v.to_sql(ty, out),
            Value::Bytes(v) => v.to_sql(ty, out),
            Value::Bool(v) => v.to_sql(ty, out),
        }
    }

    // each variant's own `to_sql` refuses a column of another type
    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// Runs a shared query with PostgreSQL's `$n` marks.
pub async fn rows(c: &impl GenericClient, q: &Query) -> StoreResult<Vec<Row>> {
    let (sql, values) = q.render(|i| format!("${i}"));
    let args: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| *v as &(dyn ToSql + Sync)).collect();
    c.query(&sql, &args).await.map_err(pg_error)
}
