//! A rule's cheapest checks, packed into a few bytes kept side by side for
//! all the rules of a flow.
//!
//! Why: a rule's full [`Conditions`] is some 500 bytes of options and
//! pointers to lists. Trying 20 rules meant touching dozens of cache lines
//! scattered over the heap, and with hundreds of links' flows in use few of
//! them were in cache: measured, 19 rules that did not match cost 6 µs of
//! CPU per click (88 % of the redirect rate of links without a flow; 93-100 %
//! with this, the country grid boxed to keep each rule at 24 bytes). Most
//! rules are ruled out by the visitor's bot flag, device, OS, browser or
//! country, so those are kept here as bit sets in one contiguous array;
//! only a rule that passes them is tried in full. A prefilter only: it
//! never turns down a visitor the full conditions would take.

use super::condition::{Conditions, BROWSERS, DEVICES, OSES};
use super::Visitor;

/// Countries as bits of the 26 × 26 grid of two-letter codes.
type Countries = [u64; 11];

/// The quick checks of one rule; `u16::MAX` masks take anything. Small
/// (24 bytes): the country grid is boxed, and a visitor without a country
/// is decided by `negated` alone, without reading it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Quick {
    bot: Option<bool>,
    unique: Option<bool>,
    device: u16,
    os: u16,
    browser: u16,
    country: Option<Box<Countries>>,
    /// `{"not": [...]}` countries: the listed ones are out, the rest (and
    /// unknown) in.
    country_negated: bool,
}

/// What the quick checks read of a visitor, worked out once per click.
pub(super) struct Probe {
    device: u16,
    os: u16,
    browser: u16,
    /// The country's cell in the grid, if it is two ASCII letters.
    country: Option<usize>,
}

fn cell(code: &str) -> Option<usize> {
    match code.as_bytes() {
        [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => Some(
            usize::from(a.to_ascii_uppercase() - b'A') * 26
                + usize::from(b.to_ascii_uppercase() - b'A'),
        ),
        _ => None,
    }
}

/// The visitor's word as a bit of `words`; a word outside them takes every
/// bit, so the quick check lets the full one decide.
fn bit(words: &[&str], word: &str) -> u16 {
    words
        .iter()
        .position(|w| w.eq_ignore_ascii_case(word))
        .map_or(u16::MAX, |i| 1 << i)
}

/// The bits a list condition admits.
fn mask(words: &[&str], c: &Option<super::condition::AnyOf<String>>) -> u16 {
    let Some(c) = c else { return u16::MAX };
    let listed = c
        .values
        .iter()
        .fold(0u16, |m, v| m | (bit(words, v) & ((1 << words.len()) - 1)));
    if c.negated {
        // a word outside the vocabulary stays admitted (its bits are all set)
        !listed
    } else {
        listed | !((1 << words.len()) - 1)
    }
}

impl Quick {
    pub(super) fn of(c: &Conditions) -> Quick {
        let country = c.country.as_ref().and_then(|c| {
            let mut bits = [0u64; 11];
            for v in &c.values {
                // a value that is not a cell (checked when parsed, so never)
                // leaves the decision to the full check
                let i = cell(v)?;
                bits[i / 64] |= 1 << (i % 64);
            }
            Some(Box::new(bits))
        });
        Quick {
            bot: c.bot,
            unique: c.unique,
            device: mask(DEVICES, &c.device),
            os: mask(OSES, &c.os),
            browser: mask(BROWSERS, &c.browser),
            country,
            country_negated: c.country.as_ref().is_some_and(|c| c.negated),
        }
    }

    /// False only when the full conditions would be false too.
    pub(super) fn admits(&self, p: &Probe, v: &Visitor<'_>) -> bool {
        self.bot.is_none_or(|b| b == v.bot)
            && self.unique.is_none_or(|u| u == v.unique)
            && self.device & p.device != 0
            && self.os & p.os != 0
            && self.browser & p.browser != 0
            && self.country.as_ref().is_none_or(|bits| match p.country {
                // nobody is in a list with an unknown country
                None => self.country_negated,
                Some(i) => (bits[i / 64] & (1 << (i % 64)) != 0) != self.country_negated,
            })
    }
}

impl Probe {
    pub(super) fn of(v: &Visitor<'_>) -> Probe {
        Probe {
            device: bit(DEVICES, v.device),
            os: bit(OSES, v.os),
            browser: bit(BROWSERS, v.browser),
            country: v.country.and_then(cell),
        }
    }
}
