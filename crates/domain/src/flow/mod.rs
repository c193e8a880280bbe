//! A link's traffic flow: which visitor goes where.
//!
//! A flow is an ordered list of `rules` and a `default` split:
//!
//! ```json
//! {"rules": [
//!    {"name": "bots", "if": {"bot": true}, "action": "block"},
//!    {"name": "DE/AT mobile", "if": {"country": ["DE", "AT"], "device": ["mobile"]},
//!     "to": [{"offer_id": "off_a", "weight": 70},
//!            {"url": "https://lp.example/b?cid={click_id}", "weight": 30}]},
//!    {"name": "not US", "if": {"country": {"not": ["US"]}},
//!     "to": [{"offer_id": "off_b", "weight": 1}]}],
//!  "default": [{"offer_id": "off_c", "weight": 1}]}
//! ```
//!
//! - **The first rule whose conditions all match wins**; when none does, the
//!   `default` split takes the visitor. A rule without `if` matches everyone.
//! - **Conditions** (see [`condition`]): every key of `if` must match; within
//!   a key any listed value matches; `{"not": [...]}` is the complement, so a
//!   visitor whose value is unknown is "not" in any list. `source` and
//!   `sub1`-`sub5` values are exact, or prefixes when written `abc*`;
//!   `referer_host` takes `*.example.com` for subdomains; `weekday` and `hour`
//!   are read in the rule's `timezone` (UTC without one), which the caller
//!   converts to: the core has no clock and no zone database.
//! - **A rule acts** in one of three ways: `to` (a weighted split),
//!   `"action": "block"`, or `"action": "redirect"` with a `url` template.
//!   `optimize` and `floor` (a percentage 0-50, 5 by default) are kept for the
//!   optimizer, which is not in this module.
//! - **A split** picks by the caller's `draw` among the targets the caller
//!   says are available (not paused, not capped), their weights renormalised
//!   (see [`split`]). None available is [`Choice::Nothing`]: the caller falls
//!   back to the offer's fallback URL or answers 410; the default is *not*
//!   tried, as the rule's author chose where that traffic goes.
//! - **Pure**: no I/O, no clock, no randomness (the draw comes in; use
//!   [`sticky_draw`] so a returning visitor keeps their target). Choosing
//!   allocates nothing and runs no regex.
//! - **Refusals** name the JSON path and the reason (`rules[2].if.country[0]:
//!   ...`), with [`ErrorCode::Validation`] ([`ErrorCode::InvalidJson`] when
//!   the text is not JSON at all). At most [`MAX_RULES`] rules and
//!   [`split::MAX_TARGETS`] targets per list.

pub mod condition;
pub mod optimize;
mod quick;
pub mod split;

use std::net::{IpAddr, Ipv4Addr};

use serde_json::{Map, Value};

use crate::codes::{ErrorCode, Refusal};
use crate::template::{UrlTemplate, CLICK_MACROS};
pub use condition::Conditions;
pub use split::{sticky_draw, Destination, Split, Target};

/// The most rules a flow may hold.
pub const MAX_RULES: usize = 100;
/// The optimizer's floor when a rule names none: each target keeps at least
/// this share of the traffic, so a loser can still recover.
pub const DEFAULT_FLOOR_PERCENT: f64 = 5.0;
pub const MAX_FLOOR_PERCENT: f64 = 50.0;

#[derive(Clone, Debug, PartialEq)]
pub struct Flow {
    rules: Vec<FlowRule>,
    /// Each rule's cheapest checks, side by side (see [`quick`]).
    quick: Vec<quick::Quick>,
    default: Split,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FlowRule {
    /// Unique within the flow: what a click records as the rule that took it.
    pub name: String,
    pub when: Conditions,
    pub then: Then,
    /// Let the optimizer move the split's weights (not part of this module).
    pub optimize: bool,
    /// The optimizer's floor, a percentage 0-50.
    pub floor_percent: f64,
}

/// What a rule does with the visitor it takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Then {
    Split(Split),
    Block,
    Redirect(UrlTemplate),
}

/// The visitor's weekday (0 = Monday) and hour (0-23) in some zone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LocalTime {
    pub weekday: u8,
    pub hour: u8,
}

/// What the caller knows of the click, borrowed so choosing allocates
/// nothing.
#[derive(Clone, Copy, Debug)]
pub struct Visitor<'a> {
    /// ISO 3166 alpha-2, any case; `None` when the geo lookup knows nothing.
    pub country: Option<&'a str>,
    pub region: Option<&'a str>,
    /// The words of `user_agent::parse`.
    pub device: &'a str,
    pub os: &'a str,
    pub browser: &'a str,
    pub bot: bool,
    /// The `Accept-Language` header as sent.
    pub accept_language: Option<&'a str>,
    pub ip: IpAddr,
    pub referer_host: Option<&'a str>,
    pub source: Option<&'a str>,
    pub subs: [Option<&'a str>; 5],
    /// The click's time in UTC, for rules without a `timezone`.
    pub utc: LocalTime,
    /// The click's time in each zone of [`Flow::timezones`]; a rule whose
    /// zone is missing here does not match.
    pub local: &'a [(&'a str, LocalTime)],
    /// The first click of this visitor on the link.
    pub unique: bool,
}

impl Visitor<'static> {
    /// A visitor of whom nothing is known but the address: fill in the rest
    /// with struct update syntax.
    pub fn new(ip: IpAddr) -> Visitor<'static> {
        Visitor {
            country: None,
            region: None,
            device: "other",
            os: "other",
            browser: "other",
            bot: false,
            accept_language: None,
            ip,
            referer_host: None,
            source: None,
            subs: [None; 5],
            utc: LocalTime::default(),
            local: &[],
            unique: false,
        }
    }
}

impl Default for Visitor<'static> {
    fn default() -> Self {
        Visitor::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
    }
}

/// Where the flow sends a visitor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice<'f> {
    /// The rule blocks the visitor (the caller answers as for a bot).
    Block { rule: &'f str },
    /// The rule redirects to its URL template, outside any split.
    Redirect { rule: &'f str, url: &'f UrlTemplate },
    /// A target of the rule's split, or of the default (`rule: None`).
    Target {
        rule: Option<&'f str>,
        target: &'f Target,
    },
    /// Every target of the matched split is unavailable: the caller falls
    /// back to the offer's fallback URL or answers 410.
    Nothing { rule: Option<&'f str> },
}

impl Flow {
    /// Reads a flow from JSON text.
    pub fn parse(json: &str) -> Result<Flow, Refusal> {
        let v: Value = serde_json::from_str(json)
            .map_err(|e| Refusal::new(ErrorCode::InvalidJson, format!("flow: {e}")))?;
        Flow::from_json(&v)
    }

    /// Reads and checks a flow; the refusal names the path of the first
    /// value that is wrong.
    pub fn from_json(v: &Value) -> Result<Flow, Refusal> {
        let Value::Object(m) = v else {
            return Err(refuse(format!(
                "flow: must be an object with rules and default, not {}",
                kind(v)
            )));
        };
        if let Some(k) = m
            .keys()
            .find(|k| !matches!(k.as_str(), "rules" | "default"))
        {
            return Err(refuse(format!(
                "{k}: unknown field; a flow has rules and default"
            )));
        }
        let default = match m.get("default") {
            None => return Err(refuse("default: is missing; a flow needs a default split")),
            Some(d) => Split::parse("default", d)?,
        };
        let rules = match m.get("rules") {
            None => Vec::new(),
            Some(Value::Array(a)) if a.len() > MAX_RULES => {
                return Err(refuse(format!(
                    "rules: lists {} rules; at most {MAX_RULES}",
                    a.len()
                )))
            }
            Some(Value::Array(a)) => {
                let mut rules: Vec<FlowRule> = Vec::with_capacity(a.len());
                for (i, r) in a.iter().enumerate() {
                    let rule = FlowRule::parse(i, r)?;
                    if let Some(j) = rules.iter().position(|o| o.name == rule.name) {
                        return Err(refuse(format!(
                            "rules[{i}].name: `{}` is also rules[{j}]'s; names must differ",
                            rule.name
                        )));
                    }
                    rules.push(rule);
                }
                rules
            }
            Some(other) => {
                return Err(refuse(format!(
                    "rules: must be a list, not {}",
                    kind(other)
                )))
            }
        };
        let quick = rules.iter().map(|r| quick::Quick::of(&r.when)).collect();
        Ok(Flow {
            rules,
            quick,
            default,
        })
    }

    /// The JSON [`Flow::from_json`] reads back as this flow.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert(
            "rules".into(),
            Value::Array(self.rules.iter().map(FlowRule::to_json).collect()),
        );
        m.insert("default".into(), self.default.to_json());
        Value::Object(m)
    }

    pub fn rules(&self) -> &[FlowRule] {
        &self.rules
    }

    pub fn default_split(&self) -> &Split {
        &self.default
    }

    /// Every target of every split, for the caller to check the offers exist.
    pub fn targets(&self) -> impl Iterator<Item = &Target> {
        self.rules
            .iter()
            .filter_map(|r| match &r.then {
                Then::Split(s) => Some(s.targets()),
                _ => None,
            })
            .chain(std::iter::once(self.default.targets()))
            .flatten()
    }

    /// The zones the caller must give the click's local time in
    /// ([`Visitor::local`]), each once.
    pub fn timezones(&self) -> impl Iterator<Item = &str> {
        fn zone(r: &FlowRule) -> Option<&str> {
            r.when.timezone.as_deref()
        }
        self.rules.iter().enumerate().filter_map(move |(i, r)| {
            let z = zone(r)?;
            (!self.rules[..i].iter().any(|o| zone(o) == Some(z))).then_some(z)
        })
    }

    /// The flow with rule `rule`'s split weighted anew (the optimizer's
    /// weights, one per target in order); `None` when the rule has no split
    /// or the count differs.
    pub fn reweighted(&self, rule: usize, weights: &[u32]) -> Option<Flow> {
        let mut out = self.clone();
        match &mut out.rules.get_mut(rule)?.then {
            Then::Split(s) if s.targets().len() == weights.len() => {
                s.set_weights(weights);
                Some(out)
            }
            _ => None,
        }
    }

    /// Where the visitor goes: the first matching rule, else the default.
    /// `draw` picks within a split (see [`sticky_draw`]); `available` says
    /// which targets may take traffic now.
    pub fn choose<'f>(
        &'f self,
        v: &Visitor<'_>,
        draw: u64,
        available: impl Fn(&Target) -> bool,
    ) -> Choice<'f> {
        let probe = quick::Probe::of(v);
        let first = self
            .rules
            .iter()
            .zip(&self.quick)
            .find(|(r, q)| q.admits(&probe, v) && r.when.matches(v))
            .map(|(r, _)| r);
        let (rule, split) = match first {
            None => (None, &self.default),
            Some(r) => match &r.then {
                Then::Block => return Choice::Block { rule: &r.name },
                Then::Redirect(url) => return Choice::Redirect { rule: &r.name, url },
                Then::Split(s) => (Some(r.name.as_str()), s),
            },
        };
        match split.pick(draw, available) {
            Some(target) => Choice::Target { rule, target },
            None => Choice::Nothing { rule },
        }
    }
}

impl FlowRule {
    fn parse(i: usize, v: &Value) -> Result<FlowRule, Refusal> {
        let path = format!("rules[{i}]");
        let Value::Object(m) = v else {
            return Err(refuse(format!(
                "{path}: must be an object, not {}",
                kind(v)
            )));
        };
        if let Some(k) = m.keys().find(|k| {
            !matches!(
                k.as_str(),
                "name" | "if" | "to" | "action" | "url" | "optimize" | "floor"
            )
        }) {
            return Err(refuse(format!(
                "{path}.{k}: unknown field; a rule has name, if, to or action (and url), optimize and floor"
            )));
        }
        let name = match m.get("name") {
            None => return Err(refuse(format!("{path}.name: is missing"))),
            Some(n) => {
                let p = format!("{path}.name");
                let n = text(&p, n)?.trim();
                if n.is_empty() || n.chars().count() > 100 || n.chars().any(char::is_control) {
                    return Err(refuse(format!(
                        "{p}: must be 1-100 characters without control characters"
                    )));
                }
                n.to_string()
            }
        };
        let when = match m.get("if") {
            None => Conditions::default(),
            Some(c) => Conditions::parse(&format!("{path}.if"), c)?,
        };
        let url = m.get("url");
        let then = match (m.get("to"), m.get("action")) {
            (Some(_), Some(_)) => {
                return Err(refuse(format!(
                    "{path}: has both to and action; a rule either splits to targets or acts"
                )))
            }
            (None, None) => {
                return Err(refuse(format!(
                    "{path}: needs to (a list of targets) or an action (block or redirect)"
                )))
            }
            (Some(to), None) => {
                if url.is_some() {
                    return Err(refuse(format!(
                        "{path}.url: only a redirect action takes a url; a split's URLs stand in its targets"
                    )));
                }
                Then::Split(Split::parse(&format!("{path}.to"), to)?)
            }
            (None, Some(a)) => {
                let p = format!("{path}.action");
                match (text(&p, a)?, url) {
                    ("block", None) => Then::Block,
                    ("block", Some(_)) => {
                        return Err(refuse(format!("{path}.url: a block action takes no url")))
                    }
                    ("redirect", None) => {
                        return Err(refuse(format!(
                            "{path}.url: is missing; a redirect action needs a url"
                        )))
                    }
                    ("redirect", Some(u)) => {
                        let p = format!("{path}.url");
                        Then::Redirect(
                            UrlTemplate::parse(text(&p, u)?, CLICK_MACROS)
                                .map_err(|e| refuse(format!("{p}: {e}")))?,
                        )
                    }
                    (other, _) => {
                        return Err(refuse(format!(
                            "{p}: `{other}` is not an action; the actions are block and redirect"
                        )))
                    }
                }
            }
        };
        let optimize = match m.get("optimize") {
            None => false,
            Some(o) => o.as_bool().ok_or_else(|| {
                refuse(format!(
                    "{path}.optimize: must be true or false, not {}",
                    kind(o)
                ))
            })?,
        };
        let floor_percent = match m.get("floor") {
            None => DEFAULT_FLOOR_PERCENT,
            Some(f) => f
                .as_f64()
                .filter(|f| (0.0..=MAX_FLOOR_PERCENT).contains(f))
                .ok_or_else(|| {
                    refuse(format!(
                        "{path}.floor: {f} is not a percentage from 0 to {MAX_FLOOR_PERCENT}"
                    ))
                })?,
        };
        Ok(FlowRule {
            name,
            when,
            then,
            optimize,
            floor_percent,
        })
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), self.name.as_str().into());
        let when = self.when.to_json();
        if when.as_object().is_some_and(|o| !o.is_empty()) {
            m.insert("if".into(), when);
        }
        match &self.then {
            Then::Split(s) => {
                m.insert("to".into(), s.to_json());
            }
            Then::Block => {
                m.insert("action".into(), "block".into());
            }
            Then::Redirect(u) => {
                m.insert("action".into(), "redirect".into());
                m.insert("url".into(), u.as_str().into());
            }
        }
        if self.optimize {
            m.insert("optimize".into(), true.into());
        }
        if self.floor_percent != DEFAULT_FLOOR_PERCENT {
            m.insert("floor".into(), self.floor_percent.into());
        }
        Value::Object(m)
    }
}

/// Stored and sent as its JSON.
impl serde::Serialize for Flow {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

/// Read through [`Flow::from_json`]: the error is its refusal's sentence.
impl<'de> serde::Deserialize<'de> for Flow {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Flow::from_json(&v).map_err(|r| serde::de::Error::custom(r.message))
    }
}

fn refuse(message: impl Into<String>) -> Refusal {
    Refusal::new(ErrorCode::Validation, message)
}

/// What a JSON value is, for a refusal.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "true or false",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn text<'v>(path: &str, v: &'v Value) -> Result<&'v str, Refusal> {
    v.as_str()
        .ok_or_else(|| refuse(format!("{path}: must be a string, not {}", kind(v))))
}

#[cfg(test)]
mod tests;
