//! Formatting unix milliseconds as RFC 3339 UTC without a time library, so
//! records can serialize themselves in the core.

/// Days since 1970-01-01 to a civil (year, month, day), after Howard Hinnant's
/// `civil_from_days`.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Inverse of [`civil_from_days`].
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 } as i64;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

const DAY_MS: i64 = 86_400_000;

/// The start of the UTC calendar month holding `unix_ms`.
pub fn month_start_ms(unix_ms: i64) -> i64 {
    let (y, m, _) = civil_from_days(unix_ms.div_euclid(DAY_MS));
    days_from_civil(y, m, 1) * DAY_MS
}

/// The start of the UTC calendar month after the one holding `unix_ms`.
pub fn next_month_ms(unix_ms: i64) -> i64 {
    let (y, m, _) = civil_from_days(unix_ms.div_euclid(DAY_MS));
    let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    days_from_civil(y, m, 1) * DAY_MS
}

/// Parses exactly what [`rfc3339_ms`] writes.
pub fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 24
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'.'
        || b[23] != b'Z'
    {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (h, mi, sec, ms) = (n(11..13)?, n(14..16)?, n(17..19)?, n(20..23)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let days = days_from_civil(y, mo as u32, d as u32);
    let t = ((days * 86_400 + h * 3600 + mi * 60 + sec) * 1000) + ms;
    // what the checks above let through but names another instant (31
    // February, a 60th second, a sign in a field) is not read as that one
    Some(t).filter(|t| rfc3339_ms(*t) == s)
}

/// Serde helper for the other direction: reads what `rfc3339` wrote (or a
/// plain integer of milliseconds).
pub fn from_rfc3339<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Either {
        Ms(i64),
        Text(String),
    }
    match <Either as serde::Deserialize>::deserialize(d)? {
        Either::Ms(ms) => Ok(ms),
        Either::Text(t) => parse_rfc3339_ms(&t).ok_or_else(|| {
            serde::de::Error::custom(format!("`{t}` is not a time like 2026-11-25T05:17:21.123Z"))
        }),
    }
}

/// `2026-11-25T05:17:21.123Z`
pub fn rfc3339_ms(unix_ms: i64) -> String {
    let secs = unix_ms.div_euclid(1000);
    let ms = unix_ms.rem_euclid(1000);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    )
}

/// Serde helper: `#[serde(serialize_with = "rfc3339")]` on an i64 of ms.
pub fn rfc3339<S: serde::Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339_ms(*ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339_ms(1_764_047_841_123), "2025-11-25T05:17:21.123Z");
        assert_eq!(rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(rfc3339_ms(4_107_542_399_000), "2100-02-28T23:59:59.000Z");
    }

    #[test]
    fn utc_months() {
        let at = |s: &str| parse_rfc3339_ms(s).unwrap();
        for (t, start, next) in [
            (
                "2026-11-30T23:59:59.999Z",
                "2026-11-01T00:00:00.000Z",
                "2026-12-01T00:00:00.000Z",
            ),
            (
                "2026-12-01T00:00:00.000Z",
                "2026-12-01T00:00:00.000Z",
                "2027-01-01T00:00:00.000Z",
            ),
            (
                "2024-02-29T12:00:00.000Z",
                "2024-02-01T00:00:00.000Z",
                "2024-03-01T00:00:00.000Z",
            ),
            (
                "1969-12-31T23:59:59.999Z",
                "1969-12-01T00:00:00.000Z",
                "1970-01-01T00:00:00.000Z",
            ),
        ] {
            assert_eq!(rfc3339_ms(month_start_ms(at(t))), start, "{t}");
            assert_eq!(rfc3339_ms(next_month_ms(at(t))), next, "{t}");
        }
    }

    #[test]
    fn parse_inverts_format() {
        for ms in [
            0,
            951_782_400_000,
            1_764_047_841_123,
            -1,
            4_107_542_399_000,
            253_402_300_799_999,
        ] {
            assert_eq!(parse_rfc3339_ms(&rfc3339_ms(ms)), Some(ms), "{ms}");
        }
        assert_eq!(parse_rfc3339_ms("2026-13-01T00:00:00.000Z"), None);
        assert_eq!(parse_rfc3339_ms("2026-11-25"), None);
    }
}
