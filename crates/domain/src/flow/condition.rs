//! The `if` of a flow rule: what a visitor must be for the rule to take
//! them. Every key present must match (all-of); within a list any value
//! matches (any-of); `{"not": [...]}` is the plain complement of the list,
//! so a visitor whose value is unknown (no country, no referer) is "not"
//! in any list.

use serde_json::{json, Map, Value};

use super::{kind, refuse, text, Visitor};
use crate::codes::Refusal;
use crate::net::Cidr;

/// The device words `user_agent::parse` produces.
pub const DEVICES: &[&str] = &["mobile", "tablet", "desktop", "bot", "other"];
/// The OS words `user_agent::parse` produces.
pub const OSES: &[&str] = &[
    "windows", "ios", "android", "chromeos", "macos", "linux", "other",
];
/// The browser words `user_agent::parse` produces.
pub const BROWSERS: &[&str] = &[
    "edge", "opera", "samsung", "yandex", "firefox", "chrome", "safari", "other",
];
/// Monday first, as ISO 8601 counts: `LocalTime::weekday` 0 is `mon`.
pub const WEEKDAYS: &[&str] = &["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

const KEYS: &str = "country, region, device, os, browser, language, ip, bot, referer_host, \
                    source, sub1-sub5, weekday, hour, timezone, unique";

/// The most values one condition may list (there are some 250 countries).
pub const MAX_VALUES: usize = 500;

/// A list condition: any value matches; `negated` (written
/// `{"not": [...]}`) matches when none does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnyOf<T> {
    pub values: Vec<T>,
    pub negated: bool,
}

impl<T> AnyOf<T> {
    fn test(&self, hit: impl Fn(&T) -> bool) -> bool {
        self.values.iter().any(hit) != self.negated
    }
}

/// A `source` or `subN` value: exact, or a prefix when written `abc*`
/// (tracking ids often carry a campaign prefix and a per-ad suffix).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pattern {
    Exact(String),
    Prefix(String),
}

impl Pattern {
    fn matches(&self, v: Option<&str>) -> bool {
        match (self, v) {
            (_, None) => false,
            (Pattern::Exact(e), Some(v)) => e == v,
            (Pattern::Prefix(p), Some(v)) => v.starts_with(p.as_str()),
        }
    }
}

/// A referer host: exact, or `*.example.com` for any subdomain of
/// example.com (not example.com itself, as in a CSP source; list both to
/// take both). Hosts compare without regard to ASCII case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostPattern {
    Exact(String),
    /// Kept with its leading dot: `.example.com`.
    Subdomain(String),
}

impl HostPattern {
    fn matches(&self, host: Option<&str>) -> bool {
        let Some(host) = host else { return false };
        let host = host.strip_suffix('.').unwrap_or(host).as_bytes();
        match self {
            HostPattern::Exact(h) => host.eq_ignore_ascii_case(h.as_bytes()),
            HostPattern::Subdomain(s) => {
                host.len() > s.len()
                    && host[host.len() - s.len()..].eq_ignore_ascii_case(s.as_bytes())
            }
        }
    }
}

/// Hours `from` to `to`, both included (`9-17` is 09:00 to 17:59); a range
/// that runs past midnight (`22-3`) wraps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HourRange {
    pub from: u8,
    pub to: u8,
}

impl HourRange {
    fn contains(self, h: u8) -> bool {
        if self.from <= self.to {
            self.from <= h && h <= self.to
        } else {
            h >= self.from || h <= self.to
        }
    }
}

/// A rule's `if`. Absent keys do not constrain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Conditions {
    /// ISO 3166 alpha-2, kept upper case.
    pub country: Option<AnyOf<String>>,
    /// As the caller's geo lookup names it (e.g. `DE-BY`); case-insensitive.
    pub region: Option<AnyOf<String>>,
    /// Words of [`DEVICES`], [`OSES`], [`BROWSERS`], kept lower case.
    pub device: Option<AnyOf<String>>,
    pub os: Option<AnyOf<String>>,
    pub browser: Option<AnyOf<String>>,
    /// Primary language subtags (`de`), kept lower case.
    pub language: Option<AnyOf<String>>,
    pub ip: Option<AnyOf<Cidr>>,
    pub bot: Option<bool>,
    pub referer_host: Option<AnyOf<HostPattern>>,
    pub source: Option<AnyOf<Pattern>>,
    pub subs: [Option<AnyOf<Pattern>>; 5],
    /// 0 = Monday.
    pub weekday: Option<AnyOf<u8>>,
    pub hour: Option<AnyOf<HourRange>>,
    /// The IANA zone `weekday` and `hour` are read in; none is UTC. Kept as
    /// written: the caller, which has the zone database, checks it exists
    /// and converts.
    pub timezone: Option<String>,
    pub unique: Option<bool>,
}

impl Conditions {
    /// Whether the visitor meets every condition. Allocates nothing; the
    /// cheap checks come first.
    pub fn matches(&self, v: &Visitor<'_>) -> bool {
        let eq = |want: &String, have: &str| want.eq_ignore_ascii_case(have);
        let opt_eq = |want: &String, have: Option<&str>| have.is_some_and(|h| eq(want, h));
        self.bot.is_none_or(|b| b == v.bot)
            && self.unique.is_none_or(|u| u == v.unique)
            && self
                .device
                .as_ref()
                .is_none_or(|c| c.test(|w| eq(w, v.device)))
            && self.os.as_ref().is_none_or(|c| c.test(|w| eq(w, v.os)))
            && self
                .browser
                .as_ref()
                .is_none_or(|c| c.test(|w| eq(w, v.browser)))
            && self
                .country
                .as_ref()
                .is_none_or(|c| c.test(|w| opt_eq(w, v.country)))
            && self
                .region
                .as_ref()
                .is_none_or(|c| c.test(|w| opt_eq(w, v.region)))
            && self
                .source
                .as_ref()
                .is_none_or(|c| c.test(|p| p.matches(v.source)))
            && self
                .subs
                .iter()
                .zip(v.subs)
                .all(|(c, s)| c.as_ref().is_none_or(|c| c.test(|p| p.matches(s))))
            && self
                .referer_host
                .as_ref()
                .is_none_or(|c| c.test(|p| p.matches(v.referer_host)))
            && self
                .ip
                .as_ref()
                .is_none_or(|c| c.test(|n| n.contains(v.ip)))
            && self
                .language
                .as_ref()
                .is_none_or(|c| c.test(|l| v.accept_language.is_some_and(|h| accepts(h, l))))
            && self.time_matches(v)
    }

    fn time_matches(&self, v: &Visitor<'_>) -> bool {
        if self.weekday.is_none() && self.hour.is_none() {
            return true;
        }
        // A zone the caller did not convert to: the time conditions cannot
        // be known, and a rule that cannot be known does not take the click.
        let now = match &self.timezone {
            None => Some(v.utc),
            Some(tz) => v.local.iter().find(|(z, _)| *z == tz).map(|(_, t)| *t),
        };
        let Some(now) = now else { return false };
        self.weekday
            .as_ref()
            .is_none_or(|c| c.test(|d| *d == now.weekday))
            && self
                .hour
                .as_ref()
                .is_none_or(|c| c.test(|r| r.contains(now.hour)))
    }

    /// Reads a rule's `if` object; `path` is where it stands (`rules[2].if`).
    pub(super) fn parse(path: &str, v: &Value) -> Result<Conditions, Refusal> {
        let Value::Object(map) = v else {
            return Err(refuse(format!(
                "{path}: must be an object of conditions, not {}",
                kind(v)
            )));
        };
        let mut c = Conditions::default();
        for (key, val) in map {
            let p = format!("{path}.{key}");
            match key.as_str() {
                "country" => c.country = Some(list(&p, val, country)?),
                "region" => c.region = Some(list(&p, val, |p, v| bounded(p, v, 64))?),
                "device" => c.device = Some(list(&p, val, |p, v| word(p, v, DEVICES))?),
                "os" => c.os = Some(list(&p, val, |p, v| word(p, v, OSES))?),
                "browser" => c.browser = Some(list(&p, val, |p, v| word(p, v, BROWSERS))?),
                "language" => c.language = Some(list(&p, val, language)?),
                "ip" => {
                    c.ip = Some(list(&p, val, |p, v| {
                        Cidr::parse(text(p, v)?).map_err(|e| refuse(format!("{p}: {e}")))
                    })?)
                }
                "bot" => c.bot = Some(boolean(&p, val)?),
                "unique" => c.unique = Some(boolean(&p, val)?),
                "referer_host" => c.referer_host = Some(list(&p, val, host)?),
                "source" => c.source = Some(list(&p, val, pattern)?),
                "sub1" | "sub2" | "sub3" | "sub4" | "sub5" => {
                    let i = usize::from(key.as_bytes()[3] - b'1');
                    c.subs[i] = Some(list(&p, val, pattern)?);
                }
                "weekday" => c.weekday = Some(list(&p, val, weekday)?),
                "hour" => c.hour = Some(list(&p, val, hour)?),
                "timezone" => c.timezone = Some(timezone(&p, val)?),
                _ => {
                    return Err(refuse(format!(
                        "{p}: unknown condition; the conditions are {KEYS}"
                    )))
                }
            }
        }
        if c.timezone.is_some() && c.weekday.is_none() && c.hour.is_none() {
            return Err(refuse(format!(
                "{path}.timezone: applies only to weekday and hour, and the rule has neither"
            )));
        }
        Ok(c)
    }

    /// The `if` object [`Conditions::parse`] reads back as these conditions.
    pub(super) fn to_json(&self) -> Value {
        let mut m = Map::new();
        let s = |x: &String| Value::from(x.as_str());
        let pat = |p: &Pattern| match p {
            Pattern::Exact(e) => Value::from(e.as_str()),
            Pattern::Prefix(p) => Value::from(format!("{p}*")),
        };
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                m.insert(k.to_string(), v);
            }
        };
        put("country", self.country.as_ref().map(|c| out(c, s)));
        put("region", self.region.as_ref().map(|c| out(c, s)));
        put("device", self.device.as_ref().map(|c| out(c, s)));
        put("os", self.os.as_ref().map(|c| out(c, s)));
        put("browser", self.browser.as_ref().map(|c| out(c, s)));
        put("language", self.language.as_ref().map(|c| out(c, s)));
        put(
            "ip",
            self.ip
                .as_ref()
                .map(|c| out(c, |n| Value::from(n.to_string()))),
        );
        put("bot", self.bot.map(Value::from));
        put("unique", self.unique.map(Value::from));
        put(
            "referer_host",
            self.referer_host.as_ref().map(|c| {
                out(c, |h| match h {
                    HostPattern::Exact(h) => Value::from(h.as_str()),
                    HostPattern::Subdomain(s) => Value::from(format!("*{s}")),
                })
            }),
        );
        put("source", self.source.as_ref().map(|c| out(c, pat)));
        for (i, sub) in self.subs.iter().enumerate() {
            put(&format!("sub{}", i + 1), sub.as_ref().map(|c| out(c, pat)));
        }
        put(
            "weekday",
            self.weekday
                .as_ref()
                .map(|c| out(c, |d| Value::from(WEEKDAYS[usize::from(*d)]))),
        );
        put(
            "hour",
            self.hour.as_ref().map(|c| {
                out(c, |r| match r.from == r.to {
                    true => Value::from(r.from),
                    false => Value::from(format!("{}-{}", r.from, r.to)),
                })
            }),
        );
        put("timezone", self.timezone.as_ref().map(s));
        Value::Object(m)
    }
}

/// Whether an `Accept-Language` value (`de-AT,de;q=0.9,en;q=0.5`) names
/// the primary language `lang` in any entry it does not refuse (`q=0`).
pub fn accepts(header: &str, lang: &str) -> bool {
    header.split(',').any(|entry| {
        let mut parts = entry.split(';');
        let tag = parts.next().unwrap_or("").trim();
        let primary = tag.split('-').next().unwrap_or("");
        primary.eq_ignore_ascii_case(lang) && !parts.any(q_is_zero)
    })
}

fn q_is_zero(param: &str) -> bool {
    let p = param.trim();
    match p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")) {
        Some(q) => {
            let q = q.trim();
            !q.is_empty() && q.bytes().all(|b| b == b'0' || b == b'.')
        }
        None => false,
    }
}

fn out<T>(c: &AnyOf<T>, item: impl Fn(&T) -> Value) -> Value {
    let items: Vec<Value> = c.values.iter().map(item).collect();
    match c.negated {
        true => json!({ "not": items }),
        false => Value::Array(items),
    }
}

/// `[...]` or `{"not": [...]}`, each item read by `item`.
fn list<T>(
    path: &str,
    v: &Value,
    item: impl Fn(&str, &Value) -> Result<T, Refusal>,
) -> Result<AnyOf<T>, Refusal> {
    let (items, negated, path) = match v {
        Value::Array(a) => (a, false, path.to_string()),
        Value::Object(m) if m.len() == 1 && m.contains_key("not") => match &m["not"] {
            Value::Array(a) => (a, true, format!("{path}.not")),
            other => {
                return Err(refuse(format!(
                    "{path}.not: must be a list, not {}",
                    kind(other)
                )))
            }
        },
        _ => {
            return Err(refuse(format!(
                "{path}: must be a list like [\"a\", \"b\"] or {{\"not\": [\"a\"]}}, not {}",
                kind(v)
            )))
        }
    };
    if items.is_empty() {
        return Err(refuse(format!("{path}: the list is empty")));
    }
    if items.len() > MAX_VALUES {
        return Err(refuse(format!(
            "{path}: lists {} values; at most {MAX_VALUES}",
            items.len()
        )));
    }
    let values = items
        .iter()
        .enumerate()
        .map(|(i, x)| item(&format!("{path}[{i}]"), x))
        .collect::<Result<_, _>>()?;
    Ok(AnyOf { values, negated })
}

fn boolean(path: &str, v: &Value) -> Result<bool, Refusal> {
    v.as_bool()
        .ok_or_else(|| refuse(format!("{path}: must be true or false, not {}", kind(v))))
}

fn bounded(path: &str, v: &Value, max: usize) -> Result<String, Refusal> {
    let s = text(path, v)?.trim();
    if s.is_empty() || s.len() > max || s.chars().any(char::is_control) {
        return Err(refuse(format!(
            "{path}: must be 1-{max} characters without control characters"
        )));
    }
    Ok(s.to_string())
}

fn country(path: &str, v: &Value) -> Result<String, Refusal> {
    let s = text(path, v)?.trim();
    if s.len() != 2 || !s.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(refuse(format!(
            "{path}: `{s}` is not an ISO 3166 alpha-2 country code (two letters, like DE)"
        )));
    }
    Ok(s.to_ascii_uppercase())
}

fn language(path: &str, v: &Value) -> Result<String, Refusal> {
    let s = text(path, v)?.trim();
    if !(2..=3).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(refuse(format!(
            "{path}: `{s}` is not a primary language subtag (two or three letters, like de)"
        )));
    }
    Ok(s.to_ascii_lowercase())
}

fn word(path: &str, v: &Value, words: &[&str]) -> Result<String, Refusal> {
    let s = text(path, v)?.trim().to_ascii_lowercase();
    if !words.contains(&s.as_str()) {
        return Err(refuse(format!(
            "{path}: `{s}` is not one of {}",
            words.join(", ")
        )));
    }
    Ok(s)
}

fn pattern(path: &str, v: &Value) -> Result<Pattern, Refusal> {
    let s = bounded(path, v, 255)?;
    match s.find('*') {
        None => Ok(Pattern::Exact(s)),
        Some(i) if i == s.len() - 1 => Ok(Pattern::Prefix(s[..i].to_string())),
        Some(_) => Err(refuse(format!(
            "{path}: `{s}` has a `*` before its end; `*` may stand only last, for a prefix"
        ))),
    }
}

fn host(path: &str, v: &Value) -> Result<HostPattern, Refusal> {
    let s = text(path, v)?.trim().to_ascii_lowercase();
    let (sub, name) = match s.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, s.as_str()),
    };
    let ok = !name.is_empty()
        && name.len() <= 253
        && !name.starts_with('.')
        && !name.ends_with('.')
        && !name.contains("..")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
    if !ok {
        return Err(refuse(format!(
            "{path}: `{s}` is not a host name like example.com or *.example.com"
        )));
    }
    Ok(match sub {
        true => HostPattern::Subdomain(format!(".{name}")),
        false => HostPattern::Exact(name.to_string()),
    })
}

fn weekday(path: &str, v: &Value) -> Result<u8, Refusal> {
    let s = text(path, v)?.trim().to_ascii_lowercase();
    WEEKDAYS
        .iter()
        .position(|d| *d == s)
        .map(|i| i as u8)
        .ok_or_else(|| {
            refuse(format!(
                "{path}: `{s}` is not a weekday; the weekdays are {}",
                WEEKDAYS.join(", ")
            ))
        })
}

fn hour(path: &str, v: &Value) -> Result<HourRange, Refusal> {
    let bad = || {
        refuse(format!(
            "{path}: {v} is not an hour 0-23 nor a range like \"9-17\""
        ))
    };
    let one = |s: &str| s.trim().parse::<u8>().ok().filter(|h| *h <= 23);
    let (from, to) = match v {
        Value::Number(n) => {
            let h = n.as_u64().filter(|h| *h <= 23).ok_or_else(bad)? as u8;
            (h, h)
        }
        Value::String(s) => match s.split_once('-') {
            None => {
                let h = one(s).ok_or_else(bad)?;
                (h, h)
            }
            Some((a, b)) => (one(a).ok_or_else(bad)?, one(b).ok_or_else(bad)?),
        },
        _ => return Err(bad()),
    };
    Ok(HourRange { from, to })
}

fn timezone(path: &str, v: &Value) -> Result<String, Refusal> {
    let s = text(path, v)?.trim();
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-' | b'+'));
    if !ok {
        return Err(refuse(format!(
            "{path}: `{s}` is not an IANA time zone name like Europe/Berlin"
        )));
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::user_agent;

    #[test]
    fn the_words_are_the_user_agent_classifiers() {
        for ua in [
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1",
            "Mozilla/5.0 (Linux; Android 13; SM-X700) Chrome/120.0 Safari/537.36",
            "Mozilla/5.0 (Windows NT 10.0) Chrome/120.0 Safari/537.36 Edg/120.0",
            "Mozilla/5.0 (X11; CrOS x86_64) Chrome/120.0 OPR/105.0",
            "curl/8.4.0",
            "something",
        ] {
            let p = user_agent::parse(ua);
            assert!(DEVICES.contains(&p.device), "{ua}: {}", p.device);
            assert!(OSES.contains(&p.os), "{ua}: {}", p.os);
            assert!(BROWSERS.contains(&p.browser), "{ua}: {}", p.browser);
        }
    }

    #[test]
    fn accept_language_entries() {
        let h = "de-AT,de;q=0.9,en;q=0.5";
        assert!(accepts(h, "de"));
        assert!(accepts(h, "en"));
        assert!(!accepts(h, "fr"));
        assert!(!accepts(h, "at"), "a region subtag is not a language");
        assert!(!accepts("fr, en;q=0", "en"), "q=0 refuses the language");
        assert!(!accepts("en;q=0.000", "en"));
        assert!(accepts("EN-us", "en"));
        assert!(!accepts("", "en"));
    }

    #[test]
    fn hour_ranges_include_both_ends_and_wrap() {
        let r = HourRange { from: 9, to: 17 };
        assert!(r.contains(9) && r.contains(17) && !r.contains(8) && !r.contains(18));
        let night = HourRange { from: 22, to: 3 };
        assert!(night.contains(23) && night.contains(0) && night.contains(3));
        assert!(!night.contains(4) && !night.contains(21));
    }

    #[test]
    fn referer_wildcard_is_subdomains_only() {
        let p = HostPattern::Subdomain(".example.com".into());
        assert!(p.matches(Some("news.Example.com")));
        assert!(p.matches(Some("a.b.example.com.")));
        assert!(!p.matches(Some("example.com")));
        assert!(!p.matches(Some("badexample.com")));
        assert!(!p.matches(None));
        let e = HostPattern::Exact("example.com".into());
        assert!(e.matches(Some("EXAMPLE.com")) && !e.matches(Some("www.example.com")));
    }
}
