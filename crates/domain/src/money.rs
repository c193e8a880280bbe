//! Money: exact decimals and ISO 4217 currencies.
//!
//! Amounts travel as `rust_decimal::Decimal` and are stored as integer
//! micro-units (six decimal places), so sums in the database are exact integer
//! sums. Commissions are rounded to the currency's minor unit with banker's
//! rounding (half to even), which does not drift upward over many rows.

use rust_decimal::{Decimal, RoundingStrategy};
use std::fmt;
use std::str::FromStr;

/// Decimal places kept in storage.
pub const STORAGE_SCALE: u32 = 6;
/// The largest amount accepted anywhere (a trillion units).
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;

/// Active ISO 4217 codes with their minor units (digits after the point).
const ISO_4217: &[(&str, u32)] = &[
    ("AED", 2),
    ("AFN", 2),
    ("ALL", 2),
    ("AMD", 2),
    ("ANG", 2),
    ("AOA", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("AWG", 2),
    ("AZN", 2),
    ("BAM", 2),
    ("BBD", 2),
    ("BDT", 2),
    ("BGN", 2),
    ("BHD", 3),
    ("BIF", 0),
    ("BMD", 2),
    ("BND", 2),
    ("BOB", 2),
    ("BRL", 2),
    ("BSD", 2),
    ("BTN", 2),
    ("BWP", 2),
    ("BYN", 2),
    ("BZD", 2),
    ("CAD", 2),
    ("CDF", 2),
    ("CHF", 2),
    ("CLF", 4),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("CRC", 2),
    ("CUP", 2),
    ("CVE", 2),
    ("CZK", 2),
    ("DJF", 0),
    ("DKK", 2),
    ("DOP", 2),
    ("DZD", 2),
    ("EGP", 2),
    ("ERN", 2),
    ("ETB", 2),
    ("EUR", 2),
    ("FJD", 2),
    ("FKP", 2),
    ("GBP", 2),
    ("GEL", 2),
    ("GHS", 2),
    ("GIP", 2),
    ("GMD", 2),
    ("GNF", 0),
    ("GTQ", 2),
    ("GYD", 2),
    ("HKD", 2),
    ("HNL", 2),
    ("HTG", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("IQD", 3),
    ("IRR", 2),
    ("ISK", 0),
    ("JMD", 2),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KGS", 2),
    ("KHR", 2),
    ("KMF", 0),
    ("KPW", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("KYD", 2),
    ("KZT", 2),
    ("LAK", 2),
    ("LBP", 2),
    ("LKR", 2),
    ("LRD", 2),
    ("LSL", 2),
    ("LYD", 3),
    ("MAD", 2),
    ("MDL", 2),
    ("MGA", 2),
    ("MKD", 2),
    ("MMK", 2),
    ("MNT", 2),
    ("MOP", 2),
    ("MRU", 2),
    ("MUR", 2),
    ("MVR", 2),
    ("MWK", 2),
    ("MXN", 2),
    ("MYR", 2),
    ("MZN", 2),
    ("NAD", 2),
    ("NGN", 2),
    ("NIO", 2),
    ("NOK", 2),
    ("NPR", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PAB", 2),
    ("PEN", 2),
    ("PGK", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("PYG", 0),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("RUB", 2),
    ("RWF", 0),
    ("SAR", 2),
    ("SBD", 2),
    ("SCR", 2),
    ("SDG", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("SHP", 2),
    ("SLE", 2),
    ("SOS", 2),
    ("SRD", 2),
    ("SSP", 2),
    ("STN", 2),
    ("SVC", 2),
    ("SYP", 2),
    ("SZL", 2),
    ("THB", 2),
    ("TJS", 2),
    ("TMT", 2),
    ("TND", 3),
    ("TOP", 2),
    ("TRY", 2),
    ("TTD", 2),
    ("TWD", 2),
    ("TZS", 2),
    ("UAH", 2),
    ("UGX", 0),
    ("USD", 2),
    ("UYI", 0),
    ("UYU", 2),
    ("UYW", 4),
    ("UZS", 2),
    ("VED", 2),
    ("VES", 2),
    ("VND", 0),
    ("VUV", 0),
    ("WST", 2),
    ("XAF", 0),
    ("XCD", 2),
    ("XOF", 0),
    ("XPF", 0),
    ("YER", 2),
    ("ZAR", 2),
    ("ZMW", 2),
    ("ZWG", 2),
];

/// An ISO 4217 currency code, known to the table above.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an ISO 4217 currency code")]
pub struct UnknownCurrency(pub String);

/// Where an upper-case code stands in `ISO_4217`. Every postback parses a
/// code or two and asks for minor units: a binary search over the sorted
/// table, no allocation.
fn table_index(code: [u8; 3]) -> Option<usize> {
    ISO_4217
        .binary_search_by(|(c, _)| c.as_bytes().cmp(&code[..]))
        .ok()
}

impl Currency {
    pub fn parse(s: &str) -> Result<Self, UnknownCurrency> {
        let unknown = || UnknownCurrency(s.to_string());
        let code: [u8; 3] = s.trim().as_bytes().try_into().map_err(|_| unknown())?;
        let upper = code.map(|b| b.to_ascii_uppercase());
        table_index(upper)
            .map(|_| Currency(upper))
            .ok_or_else(unknown)
    }

    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.0).expect("ascii")
    }

    pub fn minor_units(&self) -> u32 {
        table_index(self.0)
            .map(|i| ISO_4217[i].1)
            .expect("currencies are only built from the table")
    }

    /// Rounds a commission to what the currency can pay (half to even).
    pub fn round(&self, d: Decimal) -> Decimal {
        let mut r =
            d.round_dp_with_strategy(self.minor_units(), RoundingStrategy::MidpointNearestEven);
        r.rescale(self.minor_units());
        r
    }

    /// Shows an amount with at least the currency's minor units ("12.50").
    pub fn display(&self, d: Decimal) -> Decimal {
        let mut d = d.normalize();
        if d.scale() < self.minor_units() {
            d.rescale(self.minor_units());
        }
        d
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = UnknownCurrency;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::parse(s)
    }
}

impl serde::Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("`{0}` is not a decimal number (use digits and one `.`, like 12.50)")]
    NotDecimal(String),
    #[error("`{0}` has more than 6 decimal places")]
    TooPrecise(String),
    #[error("`{0}` is out of range (at most 1000000000000)")]
    OutOfRange(String),
    #[error("`{0}` is negative")]
    Negative(String),
}

/// Parses a money amount as sent by a partner: plain decimal notation only
/// (no exponent, no thousands separators), at most six decimal places.
pub fn parse_amount(s: &str) -> Result<Decimal, AmountError> {
    let t = s.trim();
    let (negative, digits) = match t.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let plain = digits.bytes().filter(|b| *b == b'.').count() <= 1
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && digits.bytes().any(|b| b.is_ascii_digit());
    if !plain || t.len() > 40 {
        return Err(AmountError::NotDecimal(s.to_string()));
    }
    // Judged on the digits that carry value, before `Decimal` reads them:
    // it holds 28 digits, and would refuse `0.000…0001` or a 30-digit
    // number as not a number at all.
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let (int, frac) = (int.trim_start_matches('0'), frac.trim_end_matches('0'));
    if negative && !(int.is_empty() && frac.is_empty()) {
        return Err(AmountError::Negative(s.to_string()));
    }
    if frac.len() > STORAGE_SCALE as usize {
        return Err(AmountError::TooPrecise(s.to_string()));
    }
    let max_digits = MAX_AMOUNT.to_string().len();
    if int.len() > max_digits {
        return Err(AmountError::OutOfRange(s.to_string()));
    }
    // at most 13 + 6 digits now: always a Decimal
    let d = Decimal::from_str_exact(&format!("0{int}.{frac}0"))
        .map_err(|_| AmountError::NotDecimal(s.to_string()))?;
    if d > Decimal::from(MAX_AMOUNT) {
        return Err(AmountError::OutOfRange(s.to_string()));
    }
    Ok(d.normalize())
}

/// Integer micro-units for storage. Callers pass amounts that went through
/// [`parse_amount`] or a rule, which bound scale and size.
pub fn to_micros(d: Decimal) -> i64 {
    i64::try_from((d * Decimal::from(1_000_000)).trunc()).expect("amounts are bounded")
}

pub fn from_micros(m: i64) -> Decimal {
    Decimal::new(m, STORAGE_SCALE).normalize()
}

/// An amount with its currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Money {
    pub amount: Decimal,
    pub currency: Currency,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str_exact(s).unwrap()
    }

    #[test]
    fn the_currency_table_is_sorted_for_binary_search_and_every_code_parses() {
        assert!(ISO_4217.windows(2).all(|w| w[0].0 < w[1].0));
        for (code, minor) in ISO_4217 {
            let c = Currency::parse(&code.to_ascii_lowercase()).unwrap();
            assert_eq!((c.code(), c.minor_units()), (*code, *minor));
        }
        for bad in ["", "US", "USDX", "XXQ", "ÜSD", " usd x"] {
            assert!(Currency::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Currency::parse(" jpy ").unwrap().minor_units(), 0);
    }

    #[test]
    fn currencies_parse_case_insensitively_and_know_minor_units() {
        assert_eq!(Currency::parse("usd").unwrap().code(), "USD");
        assert_eq!(Currency::parse("JPY").unwrap().minor_units(), 0);
        assert_eq!(Currency::parse("KWD").unwrap().minor_units(), 3);
        assert!(Currency::parse("XXX").is_err());
        assert!(Currency::parse("US").is_err());
        assert!(Currency::parse("").is_err());
    }

    #[test]
    fn amounts_parse_plain_decimals_only() {
        assert_eq!(parse_amount("12.50").unwrap(), d("12.5"));
        assert_eq!(parse_amount(" 0 ").unwrap(), d("0"));
        assert_eq!(parse_amount("0.000001").unwrap(), d("0.000001"));
        for bad in ["", "abc", "1e3", "1,50", "1.2.3", "NaN", "inf", "$5", "."] {
            assert!(
                matches!(parse_amount(bad), Err(AmountError::NotDecimal(_))),
                "{bad:?} accepted"
            );
        }
        assert!(matches!(parse_amount("-1"), Err(AmountError::Negative(_))));
        assert!(matches!(
            parse_amount("0.0000001"),
            Err(AmountError::TooPrecise(_))
        ));
        assert!(matches!(
            parse_amount("1000000000000.01"),
            Err(AmountError::OutOfRange(_))
        ));
        // trailing zeros beyond six places are not extra precision
        assert_eq!(parse_amount("1.500000000").unwrap(), d("1.5"));
    }

    #[test]
    fn micros_round_trip_exactly() {
        for s in [
            "0",
            "0.000001",
            "12.5",
            "999999999999.999999",
            "1000000000000",
        ] {
            let v = d(s);
            assert_eq!(from_micros(to_micros(v)), v.normalize(), "{s}");
        }
        assert_eq!(to_micros(d("12.5")), 12_500_000);
    }

    #[test]
    fn rounding_is_half_to_even_at_minor_units() {
        let usd = Currency::parse("USD").unwrap();
        assert_eq!(usd.round(d("0.125")).to_string(), "0.12");
        assert_eq!(usd.round(d("0.135")).to_string(), "0.14");
        assert_eq!(usd.round(d("2")).to_string(), "2.00");
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(jpy.round(d("2.5")).to_string(), "2");
        assert_eq!(jpy.round(d("3.5")).to_string(), "4");
        assert_eq!(usd.display(d("12.5")).to_string(), "12.50");
        assert_eq!(usd.display(d("12.505")).to_string(), "12.505");
    }
}
