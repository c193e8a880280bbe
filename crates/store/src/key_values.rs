//! The strings of rollup keys as small numbers while their sums wait in
//! memory (`rollup::Sums`).
//!
//! Every click is keyed in every rollup shape: 28 keys of up to five
//! strings. Summed under string keys, hashing them (SipHash) and comparing
//! them on each map probe was about a quarter of the click writer's time,
//! and the writer is the one thread every click passes through (perf on
//! `clickledger-bench http --quick`). A click's few distinct values (link,
//! offer, country, sub1 …) are looked up here once each instead, and the
//! keys are arrays of numbers, which hash fast (`rollup::Sums`).
//!
//! The strings themselves keep std's keyed hash: visitors choose sub1 to
//! sub5 and the source, and an unkeyed hash would let them send values
//! that all collide and stall the writer.
//!
//! Numbers are only meaningful to the table that gave them: a writer
//! keeps one while it holds sums, and empties it once they are all folded
//! (a sub slot holding a value per click must not grow it for ever).

use std::collections::HashMap;
use std::sync::Arc;

#[derive(Default)]
pub(crate) struct KeyValues {
    numbers: HashMap<Arc<str>, u32>,
    strings: Vec<Arc<str>>,
}

impl KeyValues {
    /// The number of `value`, given it the first time it is seen.
    pub(crate) fn number(&mut self, value: &str) -> u32 {
        if let Some(n) = self.numbers.get(value) {
            return *n;
        }
        let n = u32::try_from(self.strings.len()).expect("fewer than 2^32 distinct key values");
        let value: Arc<str> = value.into();
        self.strings.push(value.clone());
        self.numbers.insert(value, n);
        n
    }

    /// The number of `value`, if it has one.
    pub(crate) fn known(&self, value: &str) -> Option<u32> {
        self.numbers.get(value).copied()
    }

    /// The value numbered `n` (given by this table since it was emptied).
    pub(crate) fn value(&self, n: u32) -> &str {
        &self.strings[n as usize]
    }

    /// Forgets every number (no sum holds one any more).
    pub(crate) fn clear(&mut self) {
        self.numbers.clear();
        self.strings.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_keeps_its_number_until_the_table_is_emptied() {
        let mut values = KeyValues::default();
        let (a, b) = (values.number("fb"), values.number(""));
        assert_ne!(a, b);
        assert_eq!(values.number("fb"), a);
        assert_eq!((values.value(a), values.value(b)), ("fb", ""));
        values.clear();
        assert_eq!(values.number(""), 0);
        assert_eq!(values.value(0), "");
    }
}
