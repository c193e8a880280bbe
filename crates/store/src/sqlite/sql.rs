//! Small SQLite helpers every area of the backend shares. They depend on
//! nothing else in the backend, so any area may use them.

use clickledger_domain::{ClickId, Currency};
use rusqlite::ToSql;

use crate::model::Scope;
use crate::StoreError;

/// An error that is not about the data (a lost thread, a failed open).
pub(super) fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

pub(super) fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("records serialize")
}

/// The smallest click id issued at `ms`: click ids begin with their time,
/// so a range of click times is a range of ids (no time index needed).
pub(super) fn first_click_id_at(ms: i64) -> Vec<u8> {
    ClickId::new(ms.max(0) as u64, 0).to_bytes().to_vec()
}

pub(super) fn parse_currency(s: String) -> rusqlite::Result<Currency> {
    Currency::parse(&s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

/// Builds `WHERE` clauses from optional filters.
#[derive(Default)]
pub(super) struct Where {
    pub(super) clauses: Vec<String>,
    pub(super) args: Vec<Box<dyn ToSql + Send>>,
}

impl Where {
    pub(super) fn add(&mut self, clause: &str, v: Option<impl ToSql + Send + 'static>) {
        if let Some(v) = v {
            self.args.push(Box::new(v));
            self.clauses
                .push(clause.replace('?', &format!("?{}", self.args.len())));
        }
    }

    /// `expr IN (v1, v2, ...)`; nothing for an empty list.
    pub(super) fn add_in(&mut self, expr: &str, values: &[String]) {
        if values.is_empty() {
            return;
        }
        let mut marks = Vec::new();
        for v in values {
            self.args.push(Box::new(v.clone()));
            marks.push(format!("?{}", self.args.len()));
        }
        self.clauses
            .push(format!("{expr} IN ({})", marks.join(", ")));
    }

    pub(super) fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        }
    }

    pub(super) fn params(&self) -> Vec<&dyn ToSql> {
        self.args.iter().map(|b| b.as_ref() as &dyn ToSql).collect()
    }
}

/// Restricts a query to what `scope` may see.
pub(super) fn scope_clause(
    w: &mut Where,
    scope: &Scope,
    affiliate_column: &str,
    advertiser_clause: &str,
) {
    match scope {
        Scope::All => {}
        Scope::Affiliate(id) => w.add(&format!("{affiliate_column} = ?"), Some(id.clone())),
        Scope::Advertiser(id) => w.add(advertiser_clause, Some(id.clone())),
    }
}

/// A list's row limit: 100 when none is asked, never above 10,000.
pub(super) fn limit(l: u32) -> u32 {
    if l == 0 {
        100
    } else {
        l.min(10_000)
    }
}
