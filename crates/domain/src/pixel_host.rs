//! Which web pages may report browser conversions for an advertiser.
//!
//! In a browser nothing is secret: the publishable key is in the page. What
//! a browser does not let a page forge is the `Origin` (or, failing that,
//! the `Referer`) of its requests, so an advertiser lists the hosts of its
//! pages (`pixel_hosts`) and a browser conversion is taken only from them.
//! A pattern is a host name (`shop.example`, `127.0.0.1`) or a wildcard
//! `*.shop.example`, which matches every subdomain at any depth
//! (`www.shop.example`, `a.b.shop.example`) but not `shop.example` itself:
//! list both to take both. Scheme and port are not compared.

use std::fmt;

/// A validated entry of `pixel_hosts`, lowercase.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostPattern {
    /// The host, or for a wildcard the part after `*.`.
    host: String,
    wildcard: bool,
}

const MAX_HOST: usize = 253;
const MAX_LABEL: usize = 63;

/// Whether `host` is a host name: dot-separated labels of letters, digits
/// and inner hyphens (an IPv4 address is one too).
fn valid_host(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("is empty".into());
    }
    if host.len() > MAX_HOST {
        return Err(format!(
            "has {} characters, a host name at most {MAX_HOST}",
            host.len()
        ));
    }
    for label in host.split('.') {
        if label.is_empty() {
            return Err("has an empty label (two dots, or a dot at an end)".into());
        }
        if label.len() > MAX_LABEL {
            return Err(format!("has a label longer than {MAX_LABEL} characters"));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(format!(
                "has `{c}`: a host is letters, digits, hyphens and dots, without scheme, port or path (a wildcard only as a leading `*.`)"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!(
                "has the label `{label}`, which begins or ends with a hyphen"
            ));
        }
    }
    Ok(())
}

impl HostPattern {
    /// `shop.example`, `*.shop.example`; refused with the reason (the
    /// caller names the field).
    pub fn parse(raw: &str) -> Result<HostPattern, String> {
        let s = raw.trim().to_ascii_lowercase();
        let (host, wildcard) = match s.strip_prefix("*.") {
            Some(rest) => (rest.to_string(), true),
            None => (s, false),
        };
        valid_host(&host).map_err(|why| format!("`{raw}` {why}"))?;
        if wildcard && !host.contains('.') {
            return Err(format!(
                "`{raw}` would match every host under a top-level domain; name a domain (`*.shop.example`)"
            ));
        }
        Ok(HostPattern { host, wildcard })
    }

    /// Whether a page on `host` (lowercase, no port) matches.
    pub fn matches(&self, host: &str) -> bool {
        if !self.wildcard {
            return host == self.host;
        }
        host.len() > self.host.len() + 1
            && host.ends_with(&self.host)
            && host.as_bytes()[host.len() - self.host.len() - 1] == b'.'
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.wildcard {
            write!(f, "*.{}", self.host)
        } else {
            f.write_str(&self.host)
        }
    }
}

/// Whether any pattern matches `host`.
pub fn allowed(patterns: &[HostPattern], host: &str) -> bool {
    patterns.iter().any(|p| p.matches(host))
}

/// The host of a URL or an origin (`https://www.shop.example:8443/cart`
/// → `www.shop.example`): lowercase, without user, port or trailing dot.
/// `None` for `null` (a sandboxed or file page) and anything without a
/// `scheme://host`.
pub fn host_of(url: &str) -> Option<String> {
    let (_, rest) = url.trim().split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        // an IPv6 literal keeps its brackets, as patterns cannot name one
        format!("[{}]", v6.split(']').next().unwrap_or(""))
    } else {
        host_port.split(':').next().unwrap_or("").to_string()
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    (!host.is_empty()).then_some(host)
}

/// Where a browser request says its page is: the `Origin` header, else the
/// `Referer`; with which header it was.
pub fn page_host(origin: Option<&str>, referer: Option<&str>) -> Option<(String, &'static str)> {
    origin
        .and_then(host_of)
        .map(|h| (h, "Origin"))
        .or_else(|| referer.and_then(host_of).map(|h| (h, "Referer")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> HostPattern {
        HostPattern::parse(s).unwrap()
    }

    #[test]
    fn exact_hosts_match_only_themselves() {
        let shop = p("Shop.Example");
        assert_eq!(shop.to_string(), "shop.example");
        assert!(shop.matches("shop.example"));
        assert!(!shop.matches("www.shop.example"));
        assert!(!shop.matches("evilshop.example"));
        assert!(!shop.matches("shop.example.evil"));
        assert!(p("127.0.0.1").matches("127.0.0.1"));
        assert!(!p("127.0.0.1").matches("localhost"));
    }

    #[test]
    fn wildcards_match_subdomains_at_any_depth_but_not_the_apex() {
        let w = p("*.shop.example");
        assert_eq!(w.to_string(), "*.shop.example");
        assert!(w.matches("www.shop.example"));
        assert!(w.matches("a.b.shop.example"));
        assert!(!w.matches("shop.example"));
        assert!(!w.matches("evilshop.example"));
        assert!(!w.matches("www.shop.example.evil"));
        assert!(!w.matches(".shop.example"));
        assert!(allowed(&[p("shop.example"), w], "shop.example"));
        assert!(!allowed(&[], "shop.example"));
    }

    #[test]
    fn bad_patterns_are_refused_with_the_reason() {
        let err = |s: &str| HostPattern::parse(s).unwrap_err();
        assert!(err("").contains("is empty"));
        assert!(
            err("https://shop.example").contains("has `:`"),
            "{}",
            err("https://shop.example")
        );
        assert!(err("shop.example/cart").contains("has `/`"));
        assert!(err("shop.example:8080").contains("has `:`"));
        assert!(err("shop..example").contains("empty label"));
        assert!(err("-shop.example").contains("hyphen"));
        assert!(err("www.*.example").contains("has `*`"));
        assert!(err("*").contains("is empty") || err("*").contains("has `*`"));
        assert!(err("*.example").contains("top-level"));
        assert!(err(&format!("{}.example", "a".repeat(64))).contains("longer than 63"));
        assert!(err(&"a.".repeat(130)).contains("at most 253"));
    }

    #[test]
    fn the_host_of_an_origin_or_a_url() {
        assert_eq!(
            host_of("https://www.Shop.example:8443/cart?x=1").as_deref(),
            Some("www.shop.example")
        );
        assert_eq!(
            host_of("http://127.0.0.1:7878").as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(
            host_of("https://user:pw@shop.example./x").as_deref(),
            Some("shop.example")
        );
        assert_eq!(host_of("http://[::1]:80/").as_deref(), Some("[::1]"));
        assert_eq!(
            host_of("https://shop.example#frag").as_deref(),
            Some("shop.example")
        );
        assert_eq!(host_of("null"), None);
        assert_eq!(host_of("shop.example"), None);
        assert_eq!(host_of("https:///path"), None);
    }

    #[test]
    fn origin_comes_before_referer() {
        assert_eq!(
            page_host(Some("https://a.example"), Some("https://b.example/x")),
            Some(("a.example".into(), "Origin"))
        );
        assert_eq!(
            page_host(Some("null"), Some("https://b.example/x")),
            Some(("b.example".into(), "Referer"))
        );
        assert_eq!(page_host(None, None), None);
    }
}
