//! Why a postback's click id failed, when a likely cause can be read off it.
//! Most broken integrations send the literal macro, cut the id short, change
//! its case, or encode it twice; saying so saves a support round trip.

use crate::click_id::{is_id_alphabet, ClickId, ENCODED_LEN};

pub fn click_id_hint(raw: &str) -> Option<&'static str> {
    // an id as issued (full length, lowercase, id alphabet) needs no hint:
    // every postback asks, so it is answered without allocating or the
    // dozen scans below
    if raw.len() == ENCODED_LEN
        && !raw.bytes().any(|b| b.is_ascii_uppercase())
        && is_id_alphabet(raw)
    {
        return None;
    }
    let lower = raw.to_ascii_lowercase();
    let looks_like_macro = lower.contains('{')
        || lower.contains('}')
        || lower.contains("%7b")
        || lower.contains("%7d")
        || lower.contains('[')
        || lower.contains("%5b")
        || lower.starts_with('$')
        || lower.starts_with('#') && lower.ends_with('#')
        || matches!(
            lower.as_str(),
            "replace" | "clickid" | "click_id" | "subid" | "null" | "undefined" | "none"
        );
    if looks_like_macro {
        return Some("unreplaced_macro: the click id is a literal placeholder; the advertiser's system did not fill in its macro");
    }
    if lower.contains("%25") {
        return Some("double_encoded: the click id was URL-encoded twice");
    }
    if lower.contains('%') {
        return Some("encoded: the click id still contains percent-encoding");
    }
    if is_id_alphabet(raw) && raw.len() < ENCODED_LEN {
        return Some(
            "truncated: the click id is shorter than issued ids; a field may be cutting it",
        );
    }
    if is_id_alphabet(raw) && raw.len() > ENCODED_LEN {
        return Some(
            "extended: the click id is longer than issued ids; something was appended to it",
        );
    }
    if raw.len() == ENCODED_LEN
        && raw.bytes().any(|b| b.is_ascii_uppercase())
        && ClickId::parse(raw).is_ok()
    {
        return Some("uppercased: the click id arrived in upper case; it still attributes, but the advertiser changes it");
    }
    if raw.trim() != raw {
        return Some("whitespace: the click id has spaces around it");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(raw: &str) -> Option<&'static str> {
        click_id_hint(raw).map(|h| h.split(':').next().unwrap())
    }

    #[test]
    fn each_hint_kind() {
        let id = ClickId::new(1_700_000_000_000, 42).encode();
        assert_eq!(kind("{clickid}"), Some("unreplaced_macro"));
        assert_eq!(kind("{click_id}"), Some("unreplaced_macro"));
        assert_eq!(kind("%7Bclickid%7D"), Some("unreplaced_macro"));
        assert_eq!(kind("REPLACE"), Some("unreplaced_macro"));
        assert_eq!(kind(&format!("{}%2520", &id[..10])), Some("double_encoded"));
        assert_eq!(kind(&id[..20]), Some("truncated"));
        assert_eq!(kind(&format!("{id}00")), Some("extended"));
        assert_eq!(kind(&id.to_uppercase()), Some("uppercased"));
        assert_eq!(kind(&id), None);
        assert_eq!(kind("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"), None);
    }
}
