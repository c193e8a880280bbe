//! Personal data that must not be kept in logs or forwarded: e-mail
//! addresses, phone numbers and payment card numbers.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pii {
    Email,
    Phone,
    Card,
}

impl Pii {
    pub fn marker(self) -> &'static str {
        match self {
            Pii::Email => "[removed:email]",
            Pii::Phone => "[removed:phone]",
            Pii::Card => "[removed:card]",
        }
    }
}

fn looks_like_email(v: &str) -> bool {
    let Some((local, domain)) = v.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !local.contains(char::is_whitespace)
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
}

fn luhn(digits: &[u32]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// What kind of personal data `v` looks like, if any.
///
/// A card is 13-19 digits passing the Luhn check that is either written with
/// separators or starts with a card network prefix; a phone number starts
/// with `+` or is written `(555) 123-4567`-style with 7-15 digits (dashes alone need 10). Plain
/// digit strings without those signs are left alone: they are usually
/// order ids.
pub fn detect(v: &str) -> Option<Pii> {
    let v = v.trim();
    if looks_like_email(v) {
        return Some(Pii::Email);
    }
    let only_number_chars = !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_digit() || " -+().".contains(c));
    if !only_number_chars {
        return None;
    }
    let digits: Vec<u32> = v.chars().filter_map(|c| c.to_digit(10)).collect();
    let separated = v.contains([' ', '-']);
    if (13..=19).contains(&digits.len()) && luhn(&digits) && !v.starts_with('+') {
        let prefix2 = digits[0] * 10 + digits[1];
        let network = digits[0] == 4
            || (51..=55).contains(&prefix2)
            || prefix2 == 34
            || prefix2 == 37
            || prefix2 == 35
            || prefix2 == 60
            || prefix2 == 65
            || prefix2 == 22;
        if separated || network {
            return Some(Pii::Card);
        }
    }
    let dashed = v.matches('-').count() >= 2 && digits.len() >= 10;
    let phone_shaped = v.starts_with('+') || (v.contains('(') && v.contains(')')) || dashed;
    if phone_shaped && (7..=15).contains(&digits.len()) {
        return Some(Pii::Phone);
    }
    None
}

/// Replaces personal data in field values; returns whether anything was removed.
pub fn scrub(pairs: &mut [(String, String)]) -> bool {
    let mut removed = false;
    for (_, v) in pairs.iter_mut() {
        if let Some(kind) = detect(v) {
            *v = kind.marker().to_string();
            removed = true;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_personal_data() {
        assert_eq!(detect("jane.doe+promo@example.co.uk"), Some(Pii::Email));
        assert_eq!(detect("+49 30 1234567"), Some(Pii::Phone));
        assert_eq!(detect("(555) 123-4567"), Some(Pii::Phone));
        assert_eq!(detect("555-123-4567"), Some(Pii::Phone));
        assert_eq!(detect("4111 1111 1111 1111"), Some(Pii::Card));
        assert_eq!(detect("4111111111111111"), Some(Pii::Card));
        assert_eq!(detect("5500-0000-0000-0004"), Some(Pii::Card));
    }

    #[test]
    fn leaves_ordinary_values_alone() {
        for v in [
            "order-12345",
            "1234567890",
            "49.90",
            "approved",
            "01m88k76zyf37nb0pssdmwng1x0886",
            "4111111111111112",
            "user@localhost",
            "2026-11-25",
        ] {
            assert_eq!(detect(v), None, "{v}");
        }
    }

    #[test]
    fn scrub_replaces_and_reports() {
        let mut p = vec![
            ("email".to_string(), "a@b.com".to_string()),
            ("txid".to_string(), "o-1".to_string()),
        ];
        assert!(scrub(&mut p));
        assert_eq!(p[0].1, "[removed:email]");
        assert_eq!(p[1].1, "o-1");
        assert!(!scrub(&mut p));
    }
}
