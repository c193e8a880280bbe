//! A stored value that does not read back as what its column holds. It is
//! an error naming the table, the row and the column, never a silent
//! default: a status that does not parse must not read as `pending`, nor a
//! rate as 0, because money and notifications would follow the default.

use std::fmt;

use crate::StoreError;

#[derive(Debug)]
pub struct CorruptValue {
    pub table: &'static str,
    pub row: String,
    pub column: &'static str,
    pub value: String,
    /// What the column should hold, as a noun phrase: "a status".
    pub expected: &'static str,
}

impl fmt::Display for CorruptValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "table `{}`, row `{}`: column `{}` holds `{}`, which is not {}",
            self.table, self.row, self.column, self.value, self.expected
        )
    }
}

impl std::error::Error for CorruptValue {}

impl CorruptValue {
    pub fn new(
        table: &'static str,
        row: impl fmt::Display,
        column: &'static str,
        value: impl fmt::Display,
        expected: &'static str,
    ) -> Self {
        let value = value.to_string();
        // a whole JSON document is not a useful message
        let value = match value.char_indices().nth(80) {
            Some((i, _)) => format!("{}…", &value[..i]),
            None => value,
        };
        CorruptValue {
            table,
            row: row.to_string(),
            column,
            value,
            expected,
        }
    }
}

/// The error a row reader returns for a value that does not parse.
pub fn corrupt(
    table: &'static str,
    row: impl fmt::Display,
    column: &'static str,
    value: impl fmt::Display,
    expected: &'static str,
) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        Box::new(CorruptValue::new(table, row, column, value, expected)),
    )
}

/// Parses a column's text with `parse`, or fails naming where it is.
pub fn parsed<T>(
    parse: impl FnOnce(&str) -> Option<T>,
    text: &str,
    table: &'static str,
    row: impl fmt::Display,
    column: &'static str,
    expected: &'static str,
) -> rusqlite::Result<T> {
    parse(text).ok_or_else(|| corrupt(table, row, column, text, expected))
}

/// A SQLite error as the store reports it: a corrupt value is `Corrupt`
/// (the data is wrong; retrying will not help), anything else `Unavailable`.
pub fn store_error(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::FromSqlConversionFailure(_, _, inner) = &e {
        if let Some(c) = inner.downcast_ref::<CorruptValue>() {
            return StoreError::Corrupt(c.to_string());
        }
    }
    StoreError::Unavailable(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_corrupt_value_names_table_row_and_column_and_is_not_unavailable() {
        let e = parsed(
            |s| (s == "approved").then_some(()),
            "aproved",
            "conversions",
            "cv_1",
            "status",
            "a status",
        )
        .unwrap_err();
        match store_error(e) {
            StoreError::Corrupt(m) => assert_eq!(
                m,
                "table `conversions`, row `cv_1`: column `status` holds `aproved`, which is not a status"
            ),
            other => panic!("{other:?}"),
        }
        let busy = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            None,
        );
        assert!(matches!(store_error(busy), StoreError::Unavailable(_)));
    }

    #[test]
    fn long_values_are_shortened() {
        let e = corrupt("t", 1, "c", "x".repeat(200), "y");
        let rusqlite::Error::FromSqlConversionFailure(_, _, inner) = e else {
            panic!()
        };
        let c = inner.downcast_ref::<CorruptValue>().unwrap();
        assert_eq!(c.value.chars().count(), 81);
    }
}
