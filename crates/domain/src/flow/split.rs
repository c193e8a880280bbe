//! A weighted split: the targets a rule (or the flow's default) sends its
//! visitors to, and the pick among those available.
//!
//! The pick is `draw` scaled onto the sum of the available weights
//! (`draw * sum >> 64`), then walked through the targets in order. A
//! uniformly spread draw thus lands on each target in proportion to its
//! weight; the same draw lands on the same target while the available set
//! is unchanged (a returning visitor keeps their landing page); and since
//! the scaling is monotone, changing one weight a little moves only the
//! visitors near the boundaries it shifts.

use serde_json::{Map, Value};

use super::{kind, refuse, text};
use crate::codes::Refusal;
use crate::template::{UrlTemplate, CLICK_MACROS};

/// The most targets one list may hold (the pick keeps them in a 64-bit mask).
pub const MAX_TARGETS: usize = 50;
/// The largest weight: weights are relative, and a million to one is finer
/// than any traffic split needs.
pub const MAX_WEIGHT: u32 = 1_000_000;

/// Where a target sends the visitor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// An offer, by id; the caller checks it exists and renders its URL.
    Offer(String),
    /// A URL template with click macros (`{click_id}`), parsed when saved.
    Url(UrlTemplate),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// What the click records as the chosen target: the given `id`, else
    /// `offer:<offer_id>`, else `url:<index in its list>` (so give an `id`
    /// to keep a URL's statistics when the list is reordered).
    pub key: String,
    /// The `id` as written, if any.
    pub id: Option<String>,
    pub destination: Destination,
    /// Relative: 70 and 30 split as 7 and 3 do.
    pub weight: u32,
}

/// A non-empty weighted list of targets with distinct keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split {
    targets: Vec<Target>,
}

impl Split {
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    /// Sets each target's weight, in order (at least 1, at most
    /// `MAX_WEIGHT`); the caller gives one per target.
    pub(super) fn set_weights(&mut self, weights: &[u32]) {
        for (t, w) in self.targets.iter_mut().zip(weights) {
            t.weight = (*w).clamp(1, MAX_WEIGHT);
        }
    }

    /// The target `draw` lands on among those `available` says yes to, the
    /// others' weights renormalised; `None` when none is available.
    /// `available` is asked once per target; nothing is allocated.
    pub fn pick(&self, draw: u64, available: impl Fn(&Target) -> bool) -> Option<&Target> {
        let mut mask = 0u64;
        let mut total = 0u64;
        for (i, t) in self.targets.iter().enumerate() {
            if available(t) {
                mask |= 1 << i;
                total += u64::from(t.weight);
            }
        }
        if total == 0 {
            return None;
        }
        // In [0, total): the high bits of draw * total.
        let mut point = ((u128::from(draw) * u128::from(total)) >> 64) as u64;
        for (i, t) in self.targets.iter().enumerate() {
            if mask & (1 << i) == 0 {
                continue;
            }
            let w = u64::from(t.weight);
            if point < w {
                return Some(t);
            }
            point -= w;
        }
        None
    }

    /// Reads a list of targets; `path` is where it stands (`default`,
    /// `rules[1].to`).
    pub(super) fn parse(path: &str, v: &Value) -> Result<Split, Refusal> {
        let Value::Array(items) = v else {
            return Err(refuse(format!(
                "{path}: must be a list of targets like [{{\"offer_id\": \"off_a\", \"weight\": 1}}], not {}",
                kind(v)
            )));
        };
        if items.is_empty() {
            return Err(refuse(format!("{path}: the list of targets is empty")));
        }
        if items.len() > MAX_TARGETS {
            return Err(refuse(format!(
                "{path}: lists {} targets; at most {MAX_TARGETS}",
                items.len()
            )));
        }
        let mut targets: Vec<Target> = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let p = format!("{path}[{i}]");
            let t = target(&p, i, item)?;
            if let Some(j) = targets.iter().position(|o| o.key == t.key) {
                return Err(refuse(format!(
                    "{p}: its key `{}` is also {path}[{j}]'s; give each an \"id\"",
                    t.key
                )));
            }
            targets.push(t);
        }
        Ok(Split { targets })
    }

    pub(super) fn to_json(&self) -> Value {
        Value::Array(
            self.targets
                .iter()
                .map(|t| {
                    let mut m = Map::new();
                    match &t.destination {
                        Destination::Offer(o) => m.insert("offer_id".into(), o.as_str().into()),
                        Destination::Url(u) => m.insert("url".into(), u.as_str().into()),
                    };
                    m.insert("weight".into(), t.weight.into());
                    if let Some(id) = &t.id {
                        m.insert("id".into(), id.as_str().into());
                    }
                    Value::Object(m)
                })
                .collect(),
        )
    }
}

fn target(path: &str, index: usize, v: &Value) -> Result<Target, Refusal> {
    let Value::Object(m) = v else {
        return Err(refuse(format!(
            "{path}: must be an object like {{\"offer_id\": \"off_a\", \"weight\": 1}}, not {}",
            kind(v)
        )));
    };
    if let Some(k) = m
        .keys()
        .find(|k| !matches!(k.as_str(), "offer_id" | "url" | "weight" | "id"))
    {
        return Err(refuse(format!(
            "{path}.{k}: unknown field; a target has offer_id or url, weight and an optional id"
        )));
    }
    let destination = match (m.get("offer_id"), m.get("url")) {
        (Some(_), Some(_)) => {
            return Err(refuse(format!(
                "{path}: has both offer_id and url; a target is one or the other"
            )))
        }
        (None, None) => {
            return Err(refuse(format!("{path}: needs an offer_id or a url")));
        }
        (Some(o), None) => Destination::Offer(name(&format!("{path}.offer_id"), o)?),
        (None, Some(u)) => {
            let p = format!("{path}.url");
            Destination::Url(
                UrlTemplate::parse(text(&p, u)?, CLICK_MACROS)
                    .map_err(|e| refuse(format!("{p}: {e}")))?,
            )
        }
    };
    let weight = match m.get("weight") {
        None => return Err(refuse(format!("{path}.weight: is missing"))),
        Some(w) => w
            .as_u64()
            .filter(|w| (1..=u64::from(MAX_WEIGHT)).contains(w))
            .ok_or_else(|| {
                refuse(format!(
                    "{path}.weight: {w} is not a whole number from 1 to {MAX_WEIGHT}"
                ))
            })? as u32,
    };
    let id = m
        .get("id")
        .map(|i| name(&format!("{path}.id"), i))
        .transpose()?;
    let key = match (&id, &destination) {
        (Some(id), _) => id.clone(),
        (None, Destination::Offer(o)) => format!("offer:{o}"),
        (None, Destination::Url(_)) => format!("url:{index}"),
    };
    Ok(Target {
        key,
        id,
        destination,
        weight,
    })
}

/// An offer id or a target id: 1-64 printable ASCII characters, no spaces.
fn name(path: &str, v: &Value) -> Result<String, Refusal> {
    let s = text(path, v)?;
    if s.is_empty() || s.len() > 64 || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(refuse(format!(
            "{path}: `{s}` must be 1-64 printable characters without spaces"
        )));
    }
    Ok(s.to_string())
}

/// A stable draw for a returning visitor: FNV-1a 64 over `key` (the
/// visitor's cookie, or IP and user agent), then the MurmurHash3 64-bit
/// finaliser, because the pick reads the draw's high bits and FNV alone
/// leaves them poorly mixed for short keys. Not a keyed hash: a visitor
/// who forges a key can choose their target, which is harmless here.
pub fn sticky_draw(key: &[u8]) -> u64 {
    const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = FNV_OFFSET;
    for b in key {
        h ^= u64::from(*b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn split(v: Value) -> Split {
        Split::parse("default", &v).unwrap()
    }

    #[test]
    fn keys_are_the_id_the_offer_or_the_index() {
        let s = split(json!([
            {"offer_id": "off_a", "weight": 1},
            {"url": "https://lp.example/b?cid={click_id}", "weight": 1},
            {"url": "https://lp.example/c", "weight": 1, "id": "lp-c"},
        ]));
        let keys: Vec<&str> = s.targets().iter().map(|t| t.key.as_str()).collect();
        assert_eq!(keys, ["offer:off_a", "url:1", "lp-c"]);
    }

    #[test]
    fn the_draw_walks_the_weights_in_order() {
        let s = split(json!([{"offer_id": "a", "weight": 1}, {"offer_id": "b", "weight": 3}]));
        let key = |d| s.pick(d, |_| true).unwrap().key.as_str();
        assert_eq!(key(0), "offer:a");
        assert_eq!(key(u64::MAX / 4 - 1), "offer:a");
        assert_eq!(key(u64::MAX / 4 + 1), "offer:b");
        assert_eq!(key(u64::MAX), "offer:b");
        // b unavailable: everything goes to a; none available: nothing
        assert_eq!(
            s.pick(u64::MAX, |t| t.key != "offer:b").unwrap().key,
            "offer:a"
        );
        assert!(s.pick(7, |_| false).is_none());
    }

    #[test]
    fn sticky_draw_is_fnv_1a_then_mixed() {
        // Pinned: a draw derived today must be the draw of every later
        // release, or returning visitors would change target on upgrade.
        // The value was computed apart from this code (FNV-1a 64, then
        // MurmurHash3's fmix64, in Python).
        assert_eq!(sticky_draw(b"visitor-1"), 0xfc1f_761e_d37d_2af6);
        assert_ne!(sticky_draw(b"a"), sticky_draw(b"b"));
        // the high bit, which the pick reads first, differs for keys that
        // differ in their last byte alone about half the time
        let high = (0u8..=255)
            .filter(|b| sticky_draw(&[b'k', *b]) >> 63 == 1)
            .count();
        assert!((96..=160).contains(&high), "{high}");
    }
}
