//! Outbound postbacks to affiliates: which template fires for a conversion,
//! what it sends, and when a failed attempt is tried again.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::status::Status;
use crate::template::{UrlTemplate, OUTBOUND_MACROS};

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, schemars::JsonSchema,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    #[default]
    Get,
    Post,
}

/// One of an affiliate's postback templates: global (no offer, no event),
/// per offer, per event, or per offer and event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutboundTemplate {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// The statuses that fire it.
    #[serde(default = "default_statuses")]
    pub statuses: Vec<Status>,
    /// GET, or POST with a JSON body of every macro value.
    #[serde(default)]
    pub method: Method,
}

pub fn default_statuses() -> Vec<Status> {
    vec![Status::Approved, Status::Reversed]
}

impl OutboundTemplate {
    pub fn validate(&self, field: &str) -> Result<UrlTemplate, String> {
        if self.statuses.is_empty() {
            return Err(format!("{field}.statuses must name at least one status"));
        }
        UrlTemplate::parse(&self.url, OUTBOUND_MACROS).map_err(|e| format!("{field}.url: {e}"))
    }

    fn specificity(&self) -> u8 {
        (self.offer_id.is_some() as u8) * 2 + self.event.is_some() as u8
    }
}

/// The most specific template for (offer, event): offer and event, then
/// offer, then event, then global.
pub fn choose<'a>(
    templates: &'a [OutboundTemplate],
    offer_id: &str,
    event: &str,
) -> Option<&'a OutboundTemplate> {
    templates
        .iter()
        .filter(|t| {
            t.offer_id.as_deref().is_none_or(|o| o == offer_id)
                && t.event.as_deref().is_none_or(|e| e == event)
        })
        .max_by_key(|t| t.specificity())
}

/// What to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    pub url: String,
    /// JSON for POST.
    pub body: Option<String>,
}

/// Renders the template with the macro values; `None` when the status does
/// not fire it or the URL no longer parses.
pub fn render(
    t: &OutboundTemplate,
    status: Status,
    values: &BTreeMap<&'static str, String>,
) -> Option<Request> {
    if !t.statuses.contains(&status) {
        return None;
    }
    let tpl = UrlTemplate::parse(&t.url, OUTBOUND_MACROS).ok()?;
    let url = tpl.render(|m| values.get(m).cloned().unwrap_or_default());
    let body = match t.method {
        Method::Get => None,
        Method::Post => Some(serde_json_text(values)),
    };
    Some(Request {
        method: t.method,
        url,
        body,
    })
}

/// A flat JSON object of strings, without pulling serde_json into the core.
fn serde_json_text(values: &BTreeMap<&'static str, String>) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&json_string(k));
        out.push(':');
        out.push_str(&json_string(v));
    }
    out.push('}');
    out
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// What an attempt's outcome means for the job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    /// Try again later (408, 429, 5xx, network errors, timeouts).
    Retry,
    /// Other 4xx, redirects, refused destinations: trying again will not help.
    Permanent,
}

pub fn classify(status: Option<u16>) -> Verdict {
    match status {
        Some(s) if (200..300).contains(&s) => Verdict::Delivered,
        Some(408) | Some(429) => Verdict::Retry,
        Some(s) if s >= 500 => Verdict::Retry,
        Some(_) => Verdict::Permanent,
        None => Verdict::Retry,
    }
}

/// The default retry schedule: about 1 min, 5 min, 30 min, 2 h, 12 h, 24 h.
pub fn default_schedule() -> Vec<Duration> {
    [60, 300, 1800, 7200, 43_200, 86_400]
        .into_iter()
        .map(Duration::from_secs)
        .collect()
}

/// The longest a delivery waits for its next attempt, whatever the schedule
/// or a destination's `Retry-After` says: a wait of `u64::MAX` seconds would
/// overflow the retry time.
pub const LONGEST_WAIT: Duration = Duration::from_secs(7 * 86_400);

/// Parses `1s,2s,4s` / `500ms,1m,2h`; each step at most [`LONGEST_WAIT`].
pub fn parse_schedule(s: &str) -> Result<Vec<Duration>, String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (n, unit) = p
                .find(|c: char| !c.is_ascii_digit())
                .map(|i| p.split_at(i))
                .unwrap_or((p, "s"));
            let n: u64 = n
                .parse()
                .map_err(|_| format!("`{p}` is not a duration like 30s"))?;
            let step = match unit {
                "ms" => Some(Duration::from_millis(n)),
                "s" => Some(Duration::from_secs(n)),
                "m" => n.checked_mul(60).map(Duration::from_secs),
                "h" => n.checked_mul(3600).map(Duration::from_secs),
                u => return Err(format!("`{p}`: unit `{u}` is not ms, s, m or h")),
            };
            step.filter(|d| *d <= LONGEST_WAIT)
                .ok_or_else(|| format!("`{p}` is longer than a week, the longest wait"))
        })
        .collect::<Result<Vec<_>, _>>()
        .and_then(|v| {
            if v.is_empty() {
                Err("the schedule is empty".into())
            } else {
                Ok(v)
            }
        })
}

/// The delay before attempt `attempts + 1`, or `None` when the schedule is
/// exhausted. `jitter` in [0, 1) spreads retries by up to ±10 %; a longer
/// `Retry-After` from the destination wins, up to [`LONGEST_WAIT`].
pub fn next_delay(
    schedule: &[Duration],
    attempts: usize,
    jitter: f64,
    retry_after: Option<Duration>,
) -> Option<Duration> {
    let base = *schedule.get(attempts.checked_sub(1)?)?;
    let factor = 0.9 + 0.2 * jitter.clamp(0.0, 1.0);
    let jittered = base.mul_f64(factor);
    Some(
        retry_after
            .map_or(jittered, |r| r.max(jittered))
            .min(LONGEST_WAIT),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(offer: Option<&str>, event: Option<&str>, url: &str) -> OutboundTemplate {
        OutboundTemplate {
            url: url.into(),
            offer_id: offer.map(String::from),
            event: event.map(String::from),
            statuses: default_statuses(),
            method: Method::Get,
        }
    }

    #[test]
    fn the_most_specific_template_wins() {
        let list = vec![
            t(None, None, "https://g/"),
            t(Some("o1"), None, "https://o/"),
            t(None, Some("sale"), "https://e/"),
            t(Some("o1"), Some("sale"), "https://oe/"),
        ];
        assert_eq!(choose(&list, "o1", "sale").unwrap().url, "https://oe/");
        assert_eq!(choose(&list, "o1", "lead").unwrap().url, "https://o/");
        assert_eq!(choose(&list, "o2", "sale").unwrap().url, "https://e/");
        assert_eq!(choose(&list, "o2", "lead").unwrap().url, "https://g/");
        assert!(choose(&list[1..2], "o2", "lead").is_none());
    }

    #[test]
    fn renders_get_and_post_and_respects_statuses() {
        let mut values = BTreeMap::new();
        values.insert("sub1", "a b&c".to_string());
        values.insert("payout", "2.00".to_string());
        values.insert("status", "approved".to_string());
        let tpl = t(
            None,
            None,
            "https://aff.example/pb?s={sub1}&p={payout}&st={status}",
        );
        let r = render(&tpl, Status::Approved, &values).unwrap();
        assert_eq!(
            r.url,
            "https://aff.example/pb?s=a%20b%26c&p=2.00&st=approved"
        );
        assert_eq!(r.body, None);
        assert!(render(&tpl, Status::Pending, &values).is_none());
        let mut post = tpl.clone();
        post.method = Method::Post;
        let r = render(&post, Status::Reversed, &values).unwrap();
        assert_eq!(
            r.body.unwrap(),
            r#"{"payout":"2.00","status":"approved","sub1":"a b&c"}"#
        );
        assert_eq!(json_string("q\"\\\n\u{1}"), r#""q\"\\\n\u0001""#);
    }

    #[test]
    fn outcomes_are_classified() {
        assert_eq!(classify(Some(200)), Verdict::Delivered);
        assert_eq!(classify(Some(204)), Verdict::Delivered);
        for s in [408, 429, 500, 502, 503] {
            assert_eq!(classify(Some(s)), Verdict::Retry, "{s}");
        }
        for s in [301, 302, 400, 401, 404, 410] {
            assert_eq!(classify(Some(s)), Verdict::Permanent, "{s}");
        }
        assert_eq!(classify(None), Verdict::Retry);
    }

    #[test]
    fn schedule_with_jitter_and_retry_after() {
        let s = parse_schedule("1s,2s,4s").unwrap();
        assert_eq!(
            s,
            vec![
                Duration::from_secs(1),
                Duration::from_secs(2),
                Duration::from_secs(4)
            ]
        );
        assert_eq!(
            parse_schedule("500ms, 1m,2h").unwrap()[2],
            Duration::from_secs(7200)
        );
        assert!(parse_schedule("soon").is_err());
        assert!(parse_schedule("").is_err());
        assert_eq!(next_delay(&s, 1, 0.5, None), Some(Duration::from_secs(1)));
        assert_eq!(
            next_delay(&s, 2, 0.0, None),
            Some(Duration::from_millis(1800))
        );
        assert_eq!(
            next_delay(&s, 3, 0.999_999, None).unwrap().as_millis(),
            4399
        );
        assert_eq!(next_delay(&s, 4, 0.5, None), None);
        assert_eq!(
            next_delay(&s, 1, 0.5, Some(Duration::from_secs(30))),
            Some(Duration::from_secs(30))
        );
        assert_eq!(default_schedule().len(), 6);
    }
}

/// The URL with the values of secret-looking query parameters masked, for
/// logs and API views.
pub fn mask_url(url: &str) -> String {
    const SECRET_NAMES: &[&str] = &[
        "token",
        "key",
        "secret",
        "password",
        "pass",
        "auth",
        "sig",
        "signature",
        "apikey",
        "api_key",
        "access_token",
    ];
    let Some((base, rest)) = url.split_once('?') else {
        return url.to_string();
    };
    let (query, fragment) = match rest.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (rest, None),
    };
    let masked: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, v))
                if SECRET_NAMES.contains(&k.to_ascii_lowercase().as_str()) && !v.is_empty() =>
            {
                format!("{k}=***")
            }
            _ => pair.to_string(),
        })
        .collect();
    let mut out = format!("{base}?{}", masked.join("&"));
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

#[cfg(test)]
mod mask_tests {
    use super::mask_url;

    #[test]
    fn secret_query_values_are_masked() {
        assert_eq!(
            mask_url("https://a.example/pb?token=abc&click=1&Key=zz#f"),
            "https://a.example/pb?token=***&click=1&Key=***#f"
        );
        assert_eq!(mask_url("https://a.example/pb"), "https://a.example/pb");
        assert_eq!(
            mask_url("https://a.example/pb?sig="),
            "https://a.example/pb?sig="
        );
    }
}
