//! Numbers and money written for people: digit groups, the currency's sign
//! or code, times in UTC without milliseconds.

/// `1234567` -> `1,234,567`; a decimal string keeps its decimals:
/// `-1234.50` -> `-1,234.50`.
pub fn group(n: &str) -> String {
    let (sign, rest) = match n.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", n),
    };
    let (int, frac) = match rest.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (rest, None),
    };
    if !int.bytes().all(|b| b.is_ascii_digit()) {
        return n.to_string();
    }
    let mut out = String::with_capacity(n.len() + int.len() / 3);
    out.push_str(sign);
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// An amount (as the API writes it, already in the currency's decimals)
/// with its currency: `$1,234.50`, `€12.00`, `12.00 CHF`.
pub fn money(amount: &str, currency: &str) -> String {
    let sign = match currency {
        "USD" => Some("$"),
        "EUR" => Some("€"),
        "GBP" => Some("£"),
        "JPY" => Some("¥"),
        _ => None,
    };
    let grouped = group(amount);
    match (sign, grouped.strip_prefix('-')) {
        (Some(s), Some(abs)) => format!("-{s}{abs}"),
        (Some(s), None) => format!("{s}{grouped}"),
        (None, _) => format!("{grouped} {currency}"),
    }
}

/// An RFC 3339 time as `2026-12-01 18:11:48 UTC`.
pub fn time(rfc3339: &str) -> String {
    match rfc3339.split_once('T') {
        Some((date, rest)) => {
            let clock: String = rest.chars().take(8).collect();
            format!("{date} {clock} UTC")
        }
        None => rfc3339.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_grouped_by_three() {
        assert_eq!(group("0"), "0");
        assert_eq!(group("999"), "999");
        assert_eq!(group("1000"), "1,000");
        assert_eq!(group("1234567"), "1,234,567");
        assert_eq!(group("-1234.50"), "-1,234.50");
        assert_eq!(group("12.3456"), "12.3456");
        assert_eq!(group("n/a"), "n/a");
    }

    #[test]
    fn money_carries_its_currency() {
        assert_eq!(money("1234.50", "USD"), "$1,234.50");
        assert_eq!(money("-7.50", "EUR"), "-€7.50");
        assert_eq!(money("12.00", "CHF"), "12.00 CHF");
        assert_eq!(money("1000", "JPY"), "¥1,000");
    }

    #[test]
    fn times_read_without_milliseconds() {
        assert_eq!(time("2026-12-01T18:11:48.600Z"), "2026-12-01 18:11:48 UTC");
    }
}
