//! What every PostgreSQL area shares: errors, `WHERE` clauses with `$n`
//! placeholders, corrupt values.

use std::fmt;

use clickledger_domain::{ClickId, Currency};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;

use crate::corrupt::CorruptValue;
use crate::model::Scope;
use crate::StoreError;

pub type Arg = Box<dyn ToSql + Sync + Send>;

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

/// The smallest click id issued at `ms`: click ids begin with their time,
/// so a range of click times is a range of ids.
pub fn first_click_id_at(ms: i64) -> Vec<u8> {
    ClickId::new(ms.max(0) as u64, 0).to_bytes().to_vec()
}

pub fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("records serialize")
}

/// Builds `WHERE` clauses from optional filters; `?` in a clause becomes
/// the next `$n`.
#[derive(Default)]
pub struct Where {
    pub clauses: Vec<String>,
    pub args: Vec<Arg>,
}

impl Where {
    pub fn add<T: ToSql + Sync + Send + 'static>(&mut self, clause: &str, v: Option<T>) {
        if let Some(v) = v {
            self.push(clause, v);
        }
    }

    pub fn push<T: ToSql + Sync + Send + 'static>(&mut self, clause: &str, v: T) {
        self.args.push(Box::new(v));
        self.clauses
            .push(clause.replace('?', &format!("${}", self.args.len())));
    }

    /// A placeholder for one more argument, for clauses built by hand.
    pub fn arg<T: ToSql + Sync + Send + 'static>(&mut self, v: T) -> String {
        self.args.push(Box::new(v));
        format!("${}", self.args.len())
    }

    /// `expr = ANY(list)`; nothing for an empty list.
    pub fn add_in(&mut self, expr: &str, values: &[String]) {
        if !values.is_empty() {
            self.push(&format!("{expr} = ANY(?)"), values.to_vec());
        }
    }

    pub fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        }
    }

    pub fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.args
            .iter()
            .map(|b| b.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}

/// Restricts a query to what `scope` may see.
pub fn scope_clause(w: &mut Where, scope: &Scope, affiliate_column: &str, advertiser_clause: &str) {
    match scope {
        Scope::All => {}
        Scope::Affiliate(id) => w.push(&format!("{affiliate_column} = ?"), id.clone()),
        Scope::Advertiser(id) => w.push(advertiser_clause, id.clone()),
    }
}

pub fn limit(l: u32) -> i64 {
    if l == 0 {
        100
    } else {
        i64::from(l.min(10_000))
    }
}
