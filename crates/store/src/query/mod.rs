//! The store's read queries, written once for every backend. The SQL here
//! is the part both engines speak alike (`TRUE`/`FALSE`, `CAST(… AS
//! BIGINT)`, `CASE WHEN`); a backend only numbers the `?` marks its own
//! way (`?1` or `$1`) and binds the values.

mod alerts;
mod lists;
pub(crate) mod reports;

pub(crate) use alerts::*;
pub(crate) use lists::*;
pub(crate) use reports::*;

use clickledger_domain::ClickId;

use crate::model::Scope;

/// A value a query compares with: the kinds the store's columns hold.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Int(i64),
    Text(String),
    Bytes(Vec<u8>),
    Bool(bool),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Bytes(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}

/// The smallest click id issued at `ms`: click ids begin with their time,
/// so a range of click times is a range of ids (no time index needed).
pub(crate) fn first_click_id_at(ms: i64) -> Vec<u8> {
    ClickId::new(ms.max(0) as u64, 0).to_bytes().to_vec()
}

/// A query: `head`, then its `WHERE` (when any clause applies), then `tail`.
/// Each clause is SQL with a `?` for each of its values, in order.
#[derive(Debug, Default)]
pub(crate) struct Query {
    pub head: String,
    pub clauses: Vec<(String, Vec<Value>)>,
    pub tail: String,
}

impl Query {
    pub fn new(head: impl Into<String>) -> Self {
        Query {
            head: head.into(),
            ..Default::default()
        }
    }

    /// A clause with one value, when there is one.
    pub fn add(&mut self, clause: &str, v: Option<impl Into<Value>>) {
        if let Some(v) = v {
            self.push(clause, vec![v.into()]);
        }
    }

    pub fn push(&mut self, clause: &str, values: Vec<Value>) {
        self.clauses.push((clause.to_string(), values));
    }

    /// `expr IN (…)`; nothing for an empty list.
    pub fn any_of(&mut self, expr: &str, values: &[String]) {
        self.any_of_in(|marks| format!("{expr} IN ({marks})"), values);
    }

    /// The clause `clause` makes of the list's marks (`?, ?, …`), with
    /// `values` for them; nothing for an empty list.
    pub fn any_of_in(&mut self, clause: impl FnOnce(&str) -> String, values: &[String]) {
        if !values.is_empty() {
            let marks = vec!["?"; values.len()].join(", ");
            let values = values.iter().map(|v| Value::Text(v.clone())).collect();
            self.push(&clause(&marks), values);
        }
    }

    /// Restricts the query to what `scope` may see.
    pub fn scope(&mut self, scope: &Scope, affiliate_column: &str, advertiser_clause: &str) {
        match scope {
            Scope::All => {}
            Scope::Affiliate(id) => self.push(
                &format!("{affiliate_column} = ?"),
                vec![Value::Text(id.clone())],
            ),
            Scope::Advertiser(id) => self.push(advertiser_clause, vec![Value::Text(id.clone())]),
        }
    }

    /// The SQL with the marks numbered by `mark` (1-based), and the values
    /// in the order of their marks.
    pub fn render(&self, mark: impl Fn(usize) -> String) -> (String, Vec<&Value>) {
        let mut values = Vec::new();
        let mut clauses = Vec::with_capacity(self.clauses.len());
        for (clause, vals) in &self.clauses {
            let mut text = String::with_capacity(clause.len() + 8);
            let mut next = vals.iter();
            for ch in clause.chars() {
                match ch {
                    '?' => {
                        values.push(next.next().expect("a value for every mark"));
                        text.push_str(&mark(values.len()));
                    }
                    c => text.push(c),
                }
            }
            debug_assert!(next.next().is_none(), "a mark for every value: {clause}");
            clauses.push(text);
        }
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", clauses.join(" AND "))
        };
        (format!("{}{filter} {}", self.head, self.tail), values)
    }
}

/// A list's row limit: 100 when none is asked, never above 10,000.
pub(crate) fn limit(l: u32) -> u32 {
    if l == 0 {
        100
    } else {
        l.min(10_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_are_numbered_in_order_across_clauses() {
        let mut q = Query::new("SELECT 1 FROM t");
        q.add("a = ?", Some(1i64));
        q.add("b = ?", None::<i64>);
        q.any_of("c", &["x".into(), "y".into()]);
        q.tail = "LIMIT 5".into();
        let (sql, values) = q.render(|i| format!("${i}"));
        assert_eq!(
            sql,
            "SELECT 1 FROM t WHERE a = $1 AND c IN ($2, $3) LIMIT 5"
        );
        assert_eq!(
            values,
            vec![
                &Value::Int(1),
                &Value::Text("x".into()),
                &Value::Text("y".into())
            ]
        );
        let (sql, _) = Query::new("SELECT 1").render(|i| format!("?{i}"));
        assert_eq!(sql, "SELECT 1 ");
    }
}
