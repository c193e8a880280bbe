//! URL templates with `{macro}` placeholders.
//!
//! A template is parsed once when it is saved (unknown macros and URLs that do
//! not parse are refused then, never at click time) and rendered on every
//! click. Each value is percent-encoded exactly once, keeping only RFC 3986
//! unreserved characters; that encoding is correct in a path segment, a query
//! value and a fragment alike, so a value can never break out of its position.
//! The one thing no encoding carries is a path segment of dots alone: URL
//! parsers and browsers read `.` and `..` (and `%2E`, `%2E%2E`) as "this" and
//! "up one" and drop segments; so a value of dots alone is left out in the
//! path, and a segment of a macro and dots alone is refused when saved.

use std::fmt::Write;

/// The macros a tracking link's destination may use.
pub const CLICK_MACROS: &[&str] = &[
    "click_id",
    "offer_id",
    "affiliate_id",
    "link_id",
    "sub1",
    "sub2",
    "sub3",
    "sub4",
    "sub5",
    "source",
];

/// The macros an affiliate's postback URL may use.
pub const OUTBOUND_MACROS: &[&str] = &[
    "click_id",
    "conversion_id",
    "event",
    "status",
    "payout",
    "currency",
    "offer_id",
    "link_id",
    "affiliate_id",
    "timestamp",
    "sub1",
    "sub2",
    "sub3",
    "sub4",
    "sub5",
    "source",
];

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Macro(String),
    /// A macro before the query and the fragment.
    PathMacro(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlTemplate {
    raw: String,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unknown macro `{{{0}}}`; known macros are {1}")]
    UnknownMacro(String, String),
    #[error("a `{{` at position {0} is never closed")]
    Unclosed(usize),
    #[error("the URL does not parse: {0}")]
    InvalidUrl(String),
    #[error("the URL must start with http:// or https://")]
    Scheme,
    #[error("must be an absolute http(s) URL, like https://example.com/landing")]
    NotAbsolute,
    #[error("macros may not stand in the scheme or host of the URL")]
    MacroInHost,
    #[error("a macro may not share a path segment with dots alone: a value of dots would make it `..`, which moves the URL up a level")]
    DotSegment,
    #[error("the URL is longer than 2048 characters")]
    TooLong,
}

impl UrlTemplate {
    pub fn parse(raw: &str, allowed: &[&str]) -> Result<Self, TemplateError> {
        if raw.len() > 2048 {
            return Err(TemplateError::TooLong);
        }
        let mut segments = Vec::new();
        let mut rest = raw;
        let mut offset = 0;
        while let Some(open) = rest.find('{') {
            let close = rest[open..]
                .find('}')
                .ok_or(TemplateError::Unclosed(offset + open))?
                + open;
            let name = &rest[open + 1..close];
            if !allowed.contains(&name) {
                return Err(TemplateError::UnknownMacro(
                    name.to_string(),
                    allowed
                        .iter()
                        .map(|m| format!("{{{m}}}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                ));
            }
            if open > 0 {
                segments.push(Segment::Literal(rest[..open].to_string()));
            }
            let in_path = !raw[..offset + open].contains(['?', '#']);
            segments.push(match in_path {
                true => Segment::PathMacro(name.to_string()),
                false => Segment::Macro(name.to_string()),
            });
            offset += close + 1;
            rest = &rest[close + 1..];
        }
        if !rest.is_empty() {
            segments.push(Segment::Literal(rest.to_string()));
        }
        if dots_beside_a_macro(raw) {
            return Err(TemplateError::DotSegment);
        }
        let t = UrlTemplate {
            raw: raw.to_string(),
            segments,
        };
        t.check_url()?;
        Ok(t)
    }

    /// Renders with a sample value and checks the result is an http(s) URL
    /// whose scheme and host contain no macro.
    fn check_url(&self) -> Result<(), TemplateError> {
        const PROBE: &str = "zzmacrozz";
        let sample = self.render(|_| PROBE.to_string());
        let url = url::Url::parse(&sample).map_err(|e| match e {
            // `/landing` or `example.com/landing`: say what is wanted, not
            // the parser's term for it
            url::ParseError::RelativeUrlWithoutBase => TemplateError::NotAbsolute,
            e => TemplateError::InvalidUrl(e.to_string()),
        })?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(TemplateError::Scheme);
        }
        let host = url.host_str().unwrap_or_default();
        if host.is_empty() {
            return Err(TemplateError::InvalidUrl("the URL has no host".into()));
        }
        if host.contains(PROBE) || url.username().contains(PROBE) {
            return Err(TemplateError::MacroInHost);
        }
        Ok(())
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The macro names used, in order of appearance.
    pub fn macros(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Macro(m) | Segment::PathMacro(m) => Some(m.as_str()),
            Segment::Literal(_) => None,
        })
    }

    /// Fills every macro with `value(name)`, encoded once.
    pub fn render(&self, value: impl Fn(&str) -> String) -> String {
        let mut out = String::with_capacity(self.raw.len() + 32);
        for seg in &self.segments {
            match seg {
                Segment::Literal(l) => out.push_str(l),
                Segment::Macro(m) => encode_into(&mut out, &value(m)),
                Segment::PathMacro(m) => {
                    let v = value(m);
                    // `.` or `..` would be a dot segment (see the top)
                    if !v.bytes().all(|b| b == b'.') {
                        encode_into(&mut out, &v);
                    }
                }
            }
        }
        out
    }
}

/// Whether a path segment of `raw` (a parsed template) holds a macro and
/// literal text that a value could complete to a dot segment: `/.{sub1}/`
/// with `.` is `/../`, `/%{sub1}/` with `2e` is `/%2e/`.
fn dots_beside_a_macro(raw: &str) -> bool {
    let path = raw.split(['?', '#']).next().unwrap_or_default();
    path.split(['/', '\\']).any(|segment| {
        // literal text, and `None` for each macro
        let mut pieces = Vec::new();
        let mut s = segment;
        while let Some(open) = s.find('{') {
            pieces.push(Some(&s[..open]));
            pieces.push(None);
            s = s[open..]
                .find('}')
                .map_or("", |close| &s[open + close + 1..]);
        }
        pieces.push(Some(s));
        pieces.retain(|p| p.is_none_or(|l| !l.is_empty()));
        // a segment of macros alone is safe: render leaves out values of dots
        pieces.contains(&None)
            && pieces.iter().any(Option::is_some)
            && [".", "..", ".%2e", "%2e.", "%2e%2e"]
                .iter()
                .any(|dots| can_spell(&pieces, dots))
    })
}

/// Whether `pieces` can spell `target`: literal text as written (any case),
/// a macro as any run of `.`, `2` and `e`, what a value renders to inside
/// a dot segment.
fn can_spell(pieces: &[Option<&str>], target: &str) -> bool {
    match pieces.split_first() {
        None => target.is_empty(),
        Some((Some(lit), rest)) => {
            target.len() >= lit.len()
                && target.is_char_boundary(lit.len())
                && target[..lit.len()].eq_ignore_ascii_case(lit)
                && can_spell(rest, &target[lit.len()..])
        }
        Some((None, rest)) => (0..=target.len()).any(|n| {
            target[..n].bytes().all(|b| b".2eE".contains(&b)) && can_spell(rest, &target[n..])
        }),
    }
}

/// Percent-encodes everything except RFC 3986 unreserved characters.
pub fn encode_into(out: &mut String, value: &str) {
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

pub fn encode(value: &str) -> String {
    let mut s = String::with_capacity(value.len());
    encode_into(&mut s, value);
    s
}

impl serde::Serialize for UrlTemplate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn t(s: &str) -> Result<UrlTemplate, TemplateError> {
        UrlTemplate::parse(s, CLICK_MACROS)
    }

    #[test]
    fn renders_macros_in_path_query_and_fragment() {
        let tpl = t("https://adv.example/land/{sub1}?cid={click_id}&s={source}#{sub2}").unwrap();
        let vals: HashMap<&str, &str> = [
            ("sub1", "a b"),
            ("click_id", "abc123"),
            ("source", "x&y=z"),
            ("sub2", "#frag"),
        ]
        .into();
        let out = tpl.render(|m| vals.get(m).unwrap_or(&"").to_string());
        assert_eq!(
            out,
            "https://adv.example/land/a%20b?cid=abc123&s=x%26y%3Dz#%23frag"
        );
        assert_eq!(
            tpl.macros().collect::<Vec<_>>(),
            ["sub1", "click_id", "source", "sub2"]
        );
    }

    #[test]
    fn hostile_values_are_encoded_exactly_once_and_decode_back() {
        let tpl = t("https://adv.example/p?v={sub1}&after=1").unwrap();
        for value in [
            "a&b=c",
            "100%",
            "two words",
            "x#y",
            "ünï😀",
            "already%20encoded",
            "+/?:@",
        ] {
            let out = tpl.render(|_| value.to_string());
            let url = url::Url::parse(&out).unwrap();
            let pairs: HashMap<String, String> = url.query_pairs().into_owned().collect();
            assert_eq!(pairs["v"], value, "value {value:?} did not survive: {out}");
            assert_eq!(pairs["after"], "1");
            assert!(url.fragment().is_none());
        }
        assert_eq!(encode("already%20encoded"), "already%2520encoded");
        assert_eq!(encode("ü"), "%C3%BC");
    }

    #[test]
    fn unknown_macro_is_refused_with_its_name() {
        match t("https://a.example/?x={clickid}") {
            Err(TemplateError::UnknownMacro(name, known)) => {
                assert_eq!(name, "clickid");
                assert!(known.contains("{click_id}"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn broken_templates_are_refused() {
        assert_eq!(
            t("https://a.example/?x={sub1"),
            Err(TemplateError::Unclosed(21))
        );
        assert_eq!(t("ftp://a.example/"), Err(TemplateError::Scheme));
        assert_eq!(
            t("https://{sub1}.example/"),
            Err(TemplateError::MacroInHost)
        );
        assert_eq!(t("not a url"), Err(TemplateError::NotAbsolute));
        assert_eq!(t("/landing?x={sub1}"), Err(TemplateError::NotAbsolute));
        assert!(matches!(
            t("https://a ex.example/"),
            Err(TemplateError::InvalidUrl(_))
        ));
        assert_eq!(
            t(&format!("https://a.example/{}", "x".repeat(2100))),
            Err(TemplateError::TooLong)
        );
    }

    #[test]
    fn template_without_macros_is_kept_verbatim() {
        let tpl = t("https://a.example/landing?x=1").unwrap();
        assert_eq!(
            tpl.render(|_| unreachable!()),
            "https://a.example/landing?x=1"
        );
    }
}
