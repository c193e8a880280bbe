//! Property tests of the core's parsers that read the outside world: click
//! ids, money and currencies, URL templates, postback fields and status
//! words, CIDRs, user agents, rate limits, retry schedules, signatures and
//! times. Each is fed arbitrary strings and near-valid input; it must never
//! panic, and must answer either the exact value (the round trip holds) or
//! a refusal that names the value and the reason.
//!
//! `PROPTEST_CASES` sets the number of cases per property (256 by default,
//! which keeps CI fast); `PROPTEST_CASES=100000` is the long run
//! (docs/TESTING.md).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use clickledger_domain::click_id::{ClickIdError, ENCODED_LEN};
use clickledger_domain::codes::ErrorCode;
use clickledger_domain::hints::click_id_hint;
use clickledger_domain::money::{from_micros, parse_amount, to_micros, AmountError, MAX_AMOUNT};
use clickledger_domain::net::Cidr;
use clickledger_domain::outbound::{mask_url, next_delay, parse_schedule, LONGEST_WAIT};
use clickledger_domain::postback::{self, parse_fields, Field};
use clickledger_domain::rate::Limit;
use clickledger_domain::signature::{self, MAX_SKEW_SECONDS};
use clickledger_domain::template::{
    encode, TemplateError, UrlTemplate, CLICK_MACROS, OUTBOUND_MACROS,
};
use clickledger_domain::time::{parse_rfc3339_ms, rfc3339_ms};
use clickledger_domain::{pii, user_agent, ClickId, Currency, Status};
use proptest::prelude::*;
use proptest::sample::select;
use rust_decimal::Decimal;

/// Strings that look like what a partner's system sends: mostly ASCII, with
/// spaces, punctuation, look-alikes and the odd multi-byte character.
fn partner_text(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        proptest::string::string_regex(&format!("[ -~]{{0,{max}}}")).unwrap(),
        proptest::string::string_regex(&format!("[0-9a-zA-Z .,+\\-_%{{}}é€😀\t]{{0,{max}}}"))
            .unwrap(),
    ]
}

// ---------- click ids ----------

/// What `ClickId::parse` reads `s` as: trimmed, lower case, the Crockford
/// look-alikes replaced.
fn canonical_id(s: &str) -> String {
    s.trim()
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            'i' | 'l' => '1',
            'o' => '0',
            c => c,
        })
        .collect()
}

const ID_ALPHABET: &str = "0123456789abcdefghjkmnpqrstvwxyz";

fn in_id_alphabet(c: char) -> bool {
    c.is_ascii()
        && ID_ALPHABET.contains(canonical_id(&c.to_string()).as_str())
        && !c.is_whitespace()
}

proptest! {
    #[test]
    fn a_click_id_round_trips_through_its_text(v in any::<u128>(), upper in any::<bool>(), pad in "[ \t]{0,2}") {
        let id = ClickId::from_u128(v);
        let text = id.to_string();
        prop_assert_eq!(text.len(), ENCODED_LEN);
        prop_assert!(text.chars().all(|c| ID_ALPHABET.contains(c)));
        let sent = if upper { text.to_uppercase() } else { text.clone() };
        prop_assert_eq!(ClickId::parse(&format!("{pad}{sent}{pad}")), Ok(id));
        prop_assert_eq!(ClickId::from_bytes(id.to_bytes()), id);
    }

    #[test]
    fn any_other_text_is_refused_with_its_reason(s in partner_text(40)) {
        match ClickId::parse(&s) {
            // accepted only when it is an id's own text, written another way
            Ok(id) => prop_assert_eq!(id.encode(), canonical_id(&s)),
            Err(e) => {
                let t = s.trim();
                match &e {
                    ClickIdError::Empty => prop_assert!(t.is_empty()),
                    ClickIdError::WrongLength(n) => {
                        prop_assert_eq!(*n, t.chars().count());
                        prop_assert_ne!(*n, ENCODED_LEN);
                    }
                    ClickIdError::InvalidChar(i) => {
                        let c = t.chars().nth(*i).unwrap();
                        prop_assert!(!in_id_alphabet(c), "{:?} at {}", c, i);
                    }
                    ClickIdError::CheckFailed => prop_assert_eq!(t.len(), ENCODED_LEN),
                }
                prop_assert!(e.to_string().contains("click id"), "{}", e);
            }
        }
    }

    #[test]
    fn an_altered_id_is_never_taken_for_another(
        v in any::<u128>(),
        pos in 0..ENCODED_LEN,
        replacement in any::<char>(),
    ) {
        let text = ClickId::from_u128(v).encode();
        let mut chars: Vec<char> = text.chars().collect();
        chars[pos] = replacement;
        let altered: String = chars.into_iter().collect();
        match ClickId::parse(&altered) {
            // only a look-alike or a change of case of the same character
            Ok(id) => {
                prop_assert_eq!(id.as_u128(), v);
                prop_assert_eq!(canonical_id(&altered), text);
            }
            Err(_) => prop_assert_ne!(canonical_id(&altered), text),
        }
    }

    #[test]
    fn a_cut_or_lengthened_id_is_refused(v in any::<u128>(), cut in 0..ENCODED_LEN, extra in "[0-9a-hjkmnp-tv-z]{1,4}") {
        let text = ClickId::from_u128(v).encode();
        prop_assert_eq!(ClickId::parse(&text[..cut]).is_err(), true);
        let longer = format!("{text}{extra}");
        prop_assert_eq!(
            ClickId::parse(&longer),
            Err(ClickIdError::WrongLength(ENCODED_LEN + extra.len()))
        );
        // and the hint says which
        let hint = click_id_hint(&longer).unwrap_or_default();
        prop_assert!(hint.starts_with("extended"), "{}", hint);
        if cut > 0 {
            let hint = click_id_hint(&text[..cut]).unwrap_or_default();
            prop_assert!(hint.starts_with("truncated"), "{}", hint);
        }
        prop_assert_eq!(click_id_hint(&text), None);
    }

    #[test]
    fn hints_never_panic(s in partner_text(60)) {
        if let Some(h) = click_id_hint(&s) {
            prop_assert!(h.contains(": "), "{}", h);
        }
    }
}

// ---------- money ----------

proptest! {
    #[test]
    fn a_decimal_within_bounds_parses_to_exactly_that_amount(
        units in 0..=MAX_AMOUNT,
        places in 0u32..=6,
        fraction in any::<u32>(),
        leading_zeros in 0usize..30,
        trailing_zeros in 0usize..30,
        plus in any::<bool>(),
        pad in "[ \t]{0,2}",
    ) {
        let fraction = if units == MAX_AMOUNT { 0 } else { fraction % 10u32.pow(places) };
        let mut text = format!("{}{}{units}", if plus { "+" } else { "" }, "0".repeat(leading_zeros));
        if places > 0 || trailing_zeros > 0 {
            text.push('.');
            if places > 0 {
                text.push_str(&format!("{fraction:0width$}", width = places as usize));
            }
            text.push_str(&"0".repeat(trailing_zeros));
        }
        let expected = Decimal::from_i128_with_scale(
            units as i128 * 10i128.pow(places) + fraction as i128,
            places,
        )
        .normalize();
        let parsed = parse_amount(&format!("{pad}{text}{pad}"));
        if text.len() > 40 {
            // longer than any amount needs: refused before it is read
            prop_assert_eq!(parsed, Err(AmountError::NotDecimal(format!("{pad}{text}{pad}"))));
            return Ok(());
        }
        prop_assert_eq!(parsed, Ok(expected), "{}", text);
        // and storage keeps it exactly
        prop_assert_eq!(from_micros(to_micros(expected)), expected);
    }

    #[test]
    fn more_than_six_places_is_too_precise(
        units in 0..MAX_AMOUNT,
        fraction in "[0-9]{6,25}[1-9]",
    ) {
        let text = format!("{units}.{fraction}");
        prop_assert_eq!(parse_amount(&text), Err(AmountError::TooPrecise(text.clone())));
    }

    #[test]
    fn over_a_trillion_is_out_of_range(
        units in (MAX_AMOUNT as u128 + 1)..10u128.pow(35),
        fraction in "[0-9]{0,3}",
    ) {
        let text = if fraction.is_empty() { units.to_string() } else { format!("{units}.{fraction}") };
        prop_assert_eq!(parse_amount(&text), Err(AmountError::OutOfRange(text.clone())));
        let one_more = format!("{MAX_AMOUNT}.{fraction}1");
        prop_assert_eq!(parse_amount(&one_more), Err(AmountError::OutOfRange(one_more.clone())));
    }

    #[test]
    fn a_negative_amount_is_refused_as_negative(units in 1..=MAX_AMOUNT, fraction in "[0-9]{0,6}") {
        let text = if fraction.is_empty() { format!("-{units}") } else { format!("-{units}.{fraction}") };
        prop_assert_eq!(parse_amount(&text), Err(AmountError::Negative(text.clone())));
    }

    #[test]
    fn any_other_text_is_refused_naming_it(
        s in prop_oneof![
            partner_text(45),
            "[ +\\-]{0,2}[0-9]{0,20}[.,eE_ ]?[0-9]{0,12}[eE%$]?[0-9]{0,3}",
        ]
    ) {
        match parse_amount(&s) {
            Ok(d) => {
                let t = s.trim();
                prop_assert!(t.bytes().all(|b| b.is_ascii_digit() || b"+-.".contains(&b)), "{:?}", s);
                prop_assert_eq!(d, Decimal::from_str_exact(t).unwrap().normalize());
                prop_assert!(d >= Decimal::ZERO && d <= Decimal::from(MAX_AMOUNT), "{}", d);
                prop_assert!(d.scale() <= 6);
                prop_assert_eq!(from_micros(to_micros(d)), d);
            }
            Err(e) => {
                let m = e.to_string();
                prop_assert!(m.contains(&format!("`{s}`")), "{}", m);
            }
        }
    }
}

// ---------- currencies ----------

proptest! {
    #[test]
    fn only_iso_4217_codes_are_currencies(s in prop_oneof![
        "[A-Za-z]{3}",
        "[ ]?[A-Z]{2,4}[ ]?",
        partner_text(6),
    ]) {
        match Currency::parse(&s) {
            Ok(c) => {
                prop_assert_eq!(c.code(), s.trim().to_ascii_uppercase());
                prop_assert!([0, 2, 3, 4].contains(&c.minor_units()));
                prop_assert_eq!(c.to_string().parse::<Currency>(), Ok(c));
                prop_assert_eq!(Currency::parse(&c.code().to_ascii_lowercase()), Ok(c));
            }
            Err(e) => {
                let m = e.to_string();
                prop_assert!(m.contains(&format!("`{s}`")) && m.contains("ISO 4217"), "{}", m);
            }
        }
    }

    #[test]
    fn a_currency_rounds_to_what_it_can_pay(code in select(vec!["USD", "JPY", "KWD", "CLF", "EUR"]), units in 0..MAX_AMOUNT, micros in 0u32..1_000_000) {
        let c = Currency::parse(code).unwrap();
        let d = Decimal::from_i128_with_scale(units as i128 * 1_000_000 + micros as i128, 6);
        let r = c.round(d);
        prop_assert_eq!(r.scale(), c.minor_units());
        // never further than half a minor unit away
        let half = Decimal::new(5, c.minor_units() + 1);
        prop_assert!((r - d).abs() <= half, "{} -> {}", d, r);
    }
}

#[test]
fn codes_that_are_not_currencies_are_refused() {
    // metals, test and no-currency codes, withdrawn currencies
    for code in [
        "XXX", "XTS", "XAU", "XAG", "XDR", "DEM", "FRF", "VEF", "HRK", "SLL",
    ] {
        assert!(Currency::parse(code).is_err(), "{code}");
    }
}

// ---------- URL templates ----------

/// Reads each `%XX` back to its byte, leaving anything else as it is.
fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// A template made of URL pieces, macros and stray braces, so that many
/// parse and many are refused.
fn template_text() -> impl Strategy<Value = String> {
    let piece = select(vec![
        "https://",
        "http://",
        "ftp://",
        "a.example",
        "b.example",
        ".",
        "/",
        "?",
        "&",
        "=",
        "#",
        ":",
        "@",
        "8080",
        "x",
        "%",
        "%41",
        "\\",
        " ",
        "ü",
        "[::1]",
        "{sub1}",
        "{click_id}",
        "{source}",
        "{",
        "}",
        "{nope}",
        "{}",
        "..",
        "%2e",
        "2e",
        "e",
    ]);
    let pieces = proptest::collection::vec(piece, 0..14).prop_map(|v| v.concat());
    prop_oneof![
        pieces.clone(),
        (
            select(vec![
                "https://a.example",
                "http://b.example:8080/p",
                "https://u:p@a.example/"
            ]),
            pieces
        )
            .prop_map(|(base, rest)| format!("{base}{rest}")),
        partner_text(80),
    ]
}

proptest! {
    #[test]
    fn any_template_text_parses_or_is_refused_with_a_reason(raw in template_text()) {
        match UrlTemplate::parse(&raw, CLICK_MACROS) {
            Ok(t) => {
                prop_assert_eq!(t.as_str(), raw.as_str());
                prop_assert_eq!(t.macros().count(), raw.matches('{').count());
                prop_assert!(t.macros().all(|m| CLICK_MACROS.contains(&m)));
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    /// A value stays in the position its macro holds: whatever it is, the
    /// scheme, host, port and user of the URL are the ones of the template.
    #[test]
    fn no_value_moves_the_url_to_another_host(
        raw in template_text(),
        values in proptest::collection::vec(any::<String>(), CLICK_MACROS.len()),
    ) {
        let Ok(t) = UrlTemplate::parse(&raw, CLICK_MACROS) else { return Ok(()) };
        let value = |m: &str| values[CLICK_MACROS.iter().position(|k| *k == m).unwrap()].clone();
        let plain = url::Url::parse(&t.render(|_| "v".into())).unwrap();
        let rendered = t.render(value);
        let url = url::Url::parse(&rendered);
        prop_assert!(url.is_ok(), "{} rendered as {} does not parse", raw, rendered);
        let url = url.unwrap();
        prop_assert_eq!(url.scheme(), plain.scheme());
        prop_assert_eq!(url.host_str(), plain.host_str());
        prop_assert_eq!(url.port(), plain.port());
        prop_assert_eq!(url.username(), plain.username());
        // nor drops a segment of the path
        prop_assert_eq!(
            url.path_segments().map(Iterator::count),
            plain.path_segments().map(Iterator::count),
            "{} rendered as {}", raw, rendered
        );
    }

    /// Each value is encoded exactly once: decoding its position once gives
    /// it back, in a path segment, a query value and the fragment.
    #[test]
    fn values_are_encoded_exactly_once(
        path in any::<String>(),
        query in any::<String>(),
        fragment in any::<String>(),
        click in any::<String>(),
    ) {
        let t = UrlTemplate::parse(
            "https://adv.example/land/{sub1}/x?cid={click_id}&v={sub2}&after=1#{sub3}",
            CLICK_MACROS,
        )
        .unwrap();
        let rendered = t.render(|m| match m {
            "sub1" => path.clone(),
            "sub2" => query.clone(),
            "sub3" => fragment.clone(),
            "click_id" => click.clone(),
            _ => unreachable!(),
        });
        let url = url::Url::parse(&rendered).unwrap();
        prop_assert_eq!(url.host_str(), Some("adv.example"));
        let segments: Vec<&str> = url.path_segments().unwrap().collect();
        prop_assert_eq!(segments.len(), 3, "{}", rendered);
        // a value of dots alone is left out in the path: no encoding keeps
        // `..` from moving the URL up a level
        let kept: &[u8] = if path.bytes().all(|b| b == b'.') { b"" } else { path.as_bytes() };
        prop_assert_eq!(percent_decode(segments[1]), kept);
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        prop_assert_eq!(
            pairs,
            vec![
                ("cid".to_string(), click.clone()),
                ("v".to_string(), query.clone()),
                ("after".to_string(), "1".to_string()),
            ]
        );
        prop_assert_eq!(percent_decode(url.fragment().unwrap()), fragment.as_bytes());
        // the encoded form: unreserved characters and %XX, nothing else
        for v in [&path, &query, &fragment, &click] {
            let e = encode(v);
            prop_assert!(e.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)), "{}", e);
            prop_assert!(rendered.contains(&e) || v == &path);
            prop_assert_eq!(percent_decode(&e), v.as_bytes());
        }
    }

    #[test]
    fn outbound_templates_take_only_their_macros(name in "[a-z_0-9]{0,12}") {
        let raw = format!("https://aff.example/pb?x={{{name}}}");
        let parsed = UrlTemplate::parse(&raw, OUTBOUND_MACROS);
        prop_assert_eq!(parsed.is_ok(), OUTBOUND_MACROS.contains(&name.as_str()));
        if let Err(e) = parsed {
            prop_assert!(e.to_string().contains(&format!("`{{{name}}}`")), "{}", e);
        }
    }
}

// ---------- postback fields and status words ----------

/// Every name a postback field is read under, and a few it is not.
fn field_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Field::ALL
        .iter()
        .flat_map(|f| std::iter::once(f.name()).chain(f.default_aliases().iter().copied()))
        .collect();
    names.extend(["Click_ID", "my_amount", "st", "sub1", ""]);
    names
}

/// Values a postback carries: real-looking ones of each field and noise.
fn field_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u128>().prop_map(|v| ClickId::from_u128(v).encode()),
        "[ ]?[0-9]{1,13}(\\.[0-9]{1,8})?[ ]?",
        select(vec!["usd", "EUR", "JPY", "XXX", "EURO", " usd ", ""]).prop_map(String::from),
        select(vec![
            "approved",
            "PENDING",
            " rejected",
            "reversed",
            "1",
            "ok",
            "maybe"
        ])
        .prop_map(String::from),
        (select(vec!["t", "é", " "]), 60usize..300).prop_map(|(c, n)| c.repeat(n)),
        partner_text(30),
    ]
}

fn pairs_strategy() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::vec(
        (select(field_names()).prop_map(String::from), field_value()),
        0..12,
    )
}

fn status_map_strategy() -> impl Strategy<Value = BTreeMap<String, String>> {
    proptest::collection::btree_map(
        select(vec!["1", "0", "ok", "maybe", "approved"]).prop_map(String::from),
        select(Status::ALL.to_vec()).prop_map(|s| s.as_str().to_string()),
        0..3,
    )
}

fn alias_map_strategy() -> impl Strategy<Value = BTreeMap<String, String>> {
    proptest::collection::btree_map(
        select(vec!["transaction_id", "st", "my_amount", "cid"]).prop_map(String::from),
        select(Field::ALL.to_vec()).prop_map(|f| f.name().to_string()),
        0..3,
    )
}

proptest! {
    #[test]
    fn a_status_word_is_one_of_four_in_any_case(s in prop_oneof![
        partner_text(12),
        (select(Status::ALL.to_vec()), "[ \t]{0,2}", any::<bool>())
            .prop_map(|(st, pad, up)| {
                let w = if up { st.as_str().to_uppercase() } else { st.as_str().to_string() };
                format!("{pad}{w}{pad}")
            }),
    ]) {
        let expected = Status::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s.trim()));
        prop_assert_eq!(Status::parse(&s), expected);
        if let Some(st) = expected {
            prop_assert_eq!(Status::parse(st.as_str()), Some(st));
        }
    }

    #[test]
    fn field_names_round_trip(s in prop_oneof![select(field_names()).prop_map(String::from), partner_text(14)]) {
        match Field::parse(&s) {
            Some(f) => prop_assert_eq!(f.name(), s.as_str()),
            None => prop_assert!(Field::ALL.iter().all(|f| f.name() != s)),
        }
    }

    /// Postback fields read as their values, or refused with a sentence
    /// that begins with the field's name and a code of that field.
    #[test]
    fn postback_fields_are_read_exactly_or_refused_by_name(
        pairs in pairs_strategy(),
        aliases in alias_map_strategy(),
        status_map in status_map_strategy(),
    ) {
        prop_assert!(postback::validate_alias_map(&aliases).is_ok());
        prop_assert!(postback::validate_status_map(&status_map).is_ok());
        let found = |f: Field| postback::find(&pairs, &aliases, f).map(str::trim).filter(|v| !v.is_empty());
        match parse_fields(&pairs, &aliases, &status_map) {
            Ok(p) => {
                prop_assert_eq!(Some(p.click_id.as_str()), found(Field::ClickId));
                prop_assert_eq!(p.txid.as_deref(), found(Field::Txid));
                prop_assert_eq!(p.event.as_deref(), found(Field::Event));
                prop_assert_eq!(p.amount, found(Field::Amount).map(|a| parse_amount(a).unwrap()));
                prop_assert_eq!(p.payout, found(Field::Payout).map(|a| parse_amount(a).unwrap()));
                prop_assert_eq!(p.currency, found(Field::Currency).map(|c| Currency::parse(c).unwrap()));
                prop_assert_eq!(p.status_received.as_deref(), found(Field::Status));
                if let Some(word) = found(Field::Status) {
                    let st = status_map.get(word).and_then(|s| Status::parse(s)).or_else(|| Status::parse(word));
                    prop_assert_eq!(p.status, st);
                }
            }
            Err(r) => {
                let field = Field::ALL
                    .into_iter()
                    .find(|f| {
                        r.message.strip_prefix(f.name()).is_some_and(|rest| rest.starts_with([' ', ':']))
                    });
                prop_assert!(field.is_some(), "{:?} names no field", r);
                let field = field.unwrap();
                let codes: &[ErrorCode] = match field {
                    Field::ClickId => &[ErrorCode::MissingClickId, ErrorCode::InvalidField],
                    Field::Amount => &[ErrorCode::InvalidAmount, ErrorCode::InvalidField],
                    Field::Payout => &[ErrorCode::InvalidPayout, ErrorCode::InvalidField],
                    Field::Currency => &[ErrorCode::InvalidCurrency, ErrorCode::InvalidField],
                    Field::Status => &[ErrorCode::InvalidStatus, ErrorCode::InvalidField],
                    _ => &[ErrorCode::InvalidField],
                };
                prop_assert!(codes.contains(&r.code), "{:?}", r);
                if r.code == ErrorCode::MissingClickId {
                    prop_assert_eq!(found(Field::ClickId), None);
                } else {
                    // the field it names was sent
                    prop_assert!(postback::find(&pairs, &aliases, field).is_some(), "{:?}", r);
                }
            }
        }
    }

    #[test]
    fn alias_and_status_maps_are_checked_by_entry(
        map in proptest::collection::btree_map(partner_text(70), partner_text(12), 0..4),
    ) {
        if let Err(m) = postback::validate_alias_map(&map) {
            prop_assert!(m.starts_with("alias_map"), "{}", m);
        }
        if let Err(m) = postback::validate_status_map(&map) {
            prop_assert!(m.starts_with("status_map."), "{}", m);
        }
    }

    #[test]
    fn secrets_are_masked_and_personal_data_scrubbed(mut pairs in pairs_strategy()) {
        for (k, v) in postback::mask_secrets(&pairs).iter().zip(&pairs) {
            if ["token", "secret", "key", "sig"].contains(&k.0.as_str()) {
                prop_assert!(k.1.ends_with('…') && k.1.chars().count() <= 5, "{:?}", k);
            } else {
                prop_assert_eq!(k, v);
            }
        }
        let before = pairs.clone();
        let removed = pii::scrub(&mut pairs);
        prop_assert_eq!(removed, before.iter().any(|(_, v)| pii::detect(v).is_some()));
    }
}

// ---------- network allowlists ----------

fn ip_strategy() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(IpAddr::from),
        any::<[u8; 16]>().prop_map(IpAddr::from),
        any::<[u8; 4]>().prop_map(|v4| IpAddr::V6(std::net::Ipv4Addr::from(v4).to_ipv6_mapped())),
    ]
}

proptest! {
    #[test]
    fn a_cidr_round_trips_through_its_text(ip in ip_strategy(), prefix in any::<u8>(), bare in any::<bool>()) {
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let text = if bare { ip.to_string() } else { format!("{ip}/{prefix}") };
        match Cidr::parse(&text) {
            Ok(c) => {
                prop_assert!(bare || prefix <= max);
                let prefix = if bare { max } else { prefix };
                // a mapped network (::ffff:10.0.0.0/104) is the IPv4 one
                let mapped = match ip {
                    IpAddr::V6(v6) => v6.to_ipv4_mapped().filter(|_| prefix >= 96),
                    IpAddr::V4(_) => None,
                };
                let shown = c.to_string();
                match mapped {
                    Some(v4) => prop_assert_eq!(&shown, &format!("{v4}/{}", prefix - 96)),
                    None => prop_assert_eq!(&shown, &format!("{ip}/{prefix}")),
                }
                prop_assert_eq!(Cidr::parse(&shown), Ok(c));
                // an address is in its own network; a mapped one is the
                // IPv4 address, in no network wider than the mapped range
                let is_mapped = matches!(ip, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some());
                prop_assert_eq!(c.contains(ip), !is_mapped || prefix >= 96);
            }
            Err(m) => {
                prop_assert!(!bare && prefix > max);
                prop_assert!(m.contains(&format!("`{text}`")) && m.contains(&format!("0-{max}")), "{}", m);
            }
        }
    }

    #[test]
    fn any_other_text_is_not_a_cidr(s in prop_oneof![
        partner_text(50),
        "[0-9]{1,4}(\\.[0-9]{1,4}){0,4}(/[0-9+\\-]{0,4})?",
        "[0-9a-fA-F:]{0,20}(/[0-9]{0,4})?",
    ]) {
        match Cidr::parse(&s) {
            // stable: what it shows reads back as itself
            Ok(c) => prop_assert_eq!(Cidr::parse(&c.to_string()), Ok(c)),
            Err(m) => prop_assert!(m.contains(&format!("`{}`", s.trim())), "{}", m),
        }
    }
}

// ---------- user agents ----------

proptest! {
    #[test]
    fn any_user_agent_is_classified_within_the_known_words(s in prop_oneof![
        partner_text(200),
        (select(vec!["Mozilla/5.0 (", "iPhone; ", "Android 14; ", "Windows NT 10.0", "bot", "Chrome/120 ", "Safari/604 ", "Edg/1 ", "Mobile ", ""]), partner_text(20))
            .prop_map(|(a, b)| format!("{a}{b}")),
    ]) {
        let ua = user_agent::parse(&s);
        prop_assert!(["bot", "tablet", "mobile", "desktop", "other"].contains(&ua.device));
        prop_assert!(["windows", "ios", "android", "chromeos", "macos", "linux", "other"].contains(&ua.os));
        prop_assert!(["edge", "opera", "samsung", "yandex", "firefox", "chrome", "safari", "other"].contains(&ua.browser));
        prop_assert_eq!(ua.bot, ua.device == "bot");
        prop_assert!(!s.is_empty() || ua.bot);
        prop_assert_eq!(user_agent::parse(&s.to_ascii_uppercase()), ua);
    }
}

// ---------- rate limits and retry schedules ----------

proptest! {
    #[test]
    fn a_rate_reads_as_its_number_per_second(
        n in 1u32..10_000_000,
        unit in select(vec![("s", 1.0), ("m", 60.0), ("h", 3600.0)]),
        burst in proptest::option::of(1u32..10_000_000),
    ) {
        let text = match burst {
            Some(b) => format!("{n}/{}:{b}", unit.0),
            None => format!("{n}/{}", unit.0),
        };
        let l = Limit::parse(&text).unwrap();
        prop_assert_eq!(l.per_second, n as f64 / unit.1);
        prop_assert_eq!(l.burst, burst.map_or((n as f64).max(1.0), |b| b as f64));
    }

    #[test]
    fn a_limit_is_finite_and_positive_or_refused(s in prop_oneof![
        partner_text(20),
        "(NaN|nan|inf|-inf|infinity|1e400|-?[0-9]{1,4}(\\.[0-9]{1,3})?|)[ ]?/[ ]?[smhd]?(:(NaN|inf|1e999|-?[0-9]{1,4}(\\.[0-9])?))?",
        any::<f64>().prop_map(|f| format!("{f}/s")),
        (1u32..100, any::<f64>()).prop_map(|(n, f)| format!("{n}/m:{f}")),
    ]) {
        match Limit::parse(&s) {
            Ok(l) => {
                prop_assert!(l.per_second.is_finite() && l.per_second > 0.0, "{:?} from {:?}", l, s);
                prop_assert!(l.burst.is_finite() && l.burst >= 1.0, "{:?} from {:?}", l, s);
            }
            Err(m) => prop_assert!(m.starts_with(&format!("`{s}`: ")), "{}", m),
        }
    }

    #[test]
    fn a_schedule_reads_as_its_durations(steps in proptest::collection::vec((0u64..100_000, select(vec!["ms", "s", "m", "h", ""])), 1..8)) {
        let text = steps.iter().map(|(n, u)| format!("{n}{u}")).collect::<Vec<_>>().join(", ");
        let expected: Vec<Duration> = steps
            .iter()
            .map(|(n, u)| match *u {
                "ms" => Duration::from_millis(*n),
                "m" => Duration::from_secs(n * 60),
                "h" => Duration::from_secs(n * 3600),
                _ => Duration::from_secs(*n),
            })
            .collect();
        if expected.iter().any(|d| *d > LONGEST_WAIT) {
            let m = parse_schedule(&text).unwrap_err();
            prop_assert!(m.ends_with("is longer than a week, the longest wait"), "{}", m);
        } else {
            prop_assert_eq!(parse_schedule(&text), Ok(expected));
        }
    }

    /// Whatever the schedule, the jitter and the destination's
    /// `Retry-After`, the next attempt is at most a week away: its time in
    /// milliseconds never overflows.
    #[test]
    fn a_retry_is_never_further_than_a_week(
        schedule in "([0-9]{1,7}(ms|s|m|h)?,){0,5}[0-9]{1,7}(ms|s|m|h)?",
        attempts in 0usize..8,
        jitter in any::<f64>(),
        retry_after in proptest::option::of(any::<u64>()),
    ) {
        let Ok(schedule) = parse_schedule(&schedule) else { return Ok(()) };
        if let Some(d) = next_delay(&schedule, attempts, jitter, retry_after.map(Duration::from_secs)) {
            prop_assert!(d <= LONGEST_WAIT, "{:?}", d);
            prop_assert!(1_764_000_000_000i64.checked_add(d.as_millis() as i64).is_some());
        }
    }

    #[test]
    fn any_other_schedule_is_refused_naming_the_step(s in prop_oneof![
        partner_text(30),
        "([0-9]{1,22}(ms|s|m|h|d|)[, ]{0,2}){0,4}",
    ]) {
        match parse_schedule(&s) {
            Ok(v) => prop_assert!(!v.is_empty()),
            Err(m) => prop_assert!(m.starts_with('`') || m == "the schedule is empty", "{}", m),
        }
    }
}

// ---------- signatures and timestamps ----------

fn signed_pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::vec(
        (
            select(vec!["click_id", "txid", "amount", "event", "adv", "z"]).prop_map(String::from),
            partner_text(20),
        ),
        0..6,
    )
}

proptest! {
    #[test]
    fn a_timestamp_is_fresh_within_the_skew_or_refused(
        now in any::<i64>(),
        ts in prop_oneof![
            any::<i64>().prop_map(|t| t.to_string()),
            (-400i64..400).prop_map(|d| d.to_string()),
            partner_text(22),
        ],
        near in any::<bool>(),
    ) {
        let now = if near { 1_764_000_000 } else { now };
        let ts = match ts.parse::<i64>() {
            Ok(d) if (-400..400).contains(&d) => (now.saturating_add(d)).to_string(),
            _ => ts,
        };
        let fresh = ts
            .trim()
            .parse::<i64>()
            .is_ok_and(|t| (now as i128 - t as i128).abs() <= MAX_SKEW_SECONDS as i128);
        match signature::check_timestamp(Some(&ts), now) {
            Ok(()) => prop_assert!(fresh, "{} at {}", ts, now),
            Err(r) => {
                prop_assert!(!fresh, "{} at {}", ts, now);
                prop_assert_eq!(r.code, ErrorCode::StaleTimestamp);
                prop_assert!(r.message.starts_with("ts "), "{}", r.message);
            }
        }
    }

    #[test]
    fn a_query_signature_verifies_and_any_change_breaks_it(
        mut pairs in signed_pairs(),
        secret in partner_text(20),
        other in partner_text(20),
        skew in -MAX_SKEW_SECONDS..=MAX_SKEW_SECONDS,
        change in any::<prop::sample::Index>(),
    ) {
        let now = 1_764_000_000;
        pairs.push(("ts".into(), (now + skew).to_string()));
        let sig = signature::sign_hex(&secret, &pairs);
        let mut signed = pairs.clone();
        signed.push(("sig".into(), sig.clone()));
        prop_assert_eq!(signature::verify_query_signature(&[&other, &secret], &signed, now), Ok(()));
        // another secret
        if other != secret {
            prop_assert_eq!(
                signature::verify_query_signature(&[&other], &signed, now).map_err(|r| r.code),
                Err(ErrorCode::InvalidSignature)
            );
        }
        // a value changed
        let i = change.index(pairs.len());
        let mut changed = signed.clone();
        changed[i].1.push('x');
        prop_assert!(signature::verify_query_signature(&[&secret], &changed, now).is_err());
        // a signature that is not hex
        let mut garbled = signed.clone();
        garbled.last_mut().unwrap().1 = other.clone();
        if other != sig {
            prop_assert!(signature::verify_query_signature(&[&secret], &garbled, now).is_err());
        }
    }

    #[test]
    fn a_webhook_signature_verifies_and_garbage_is_refused(
        secret in prop_oneof![partner_text(20), "whsec_[A-Za-z0-9+/]{0,40}={0,2}"],
        id in partner_text(20),
        body in proptest::collection::vec(any::<u8>(), 0..200),
        header in partner_text(80),
    ) {
        let now = 1_764_000_000i64;
        let ts = now.to_string();
        let sig = signature::webhook_sign(&secret, &id, &ts, &body);
        prop_assert_eq!(signature::verify_webhook(&[&secret], &id, &ts, &format!("v0,xx {sig}"), &body, now), Ok(()));
        if !header.contains(&sig) {
            let r = signature::verify_webhook(&[&secret], &id, &ts, &header, &body, now);
            prop_assert!(r.is_err());
        }
        let _ = signature::verify_webhook(&[&secret], &id, &header, &header, &body, now);
    }
}

// ---------- times ----------

/// 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z.
const FIRST_MS: i64 = -62_167_219_200_000;
const LAST_MS: i64 = 253_402_300_799_999;

proptest! {
    #[test]
    fn a_time_round_trips_through_its_text(ms in FIRST_MS..=LAST_MS) {
        let text = rfc3339_ms(ms);
        prop_assert_eq!(parse_rfc3339_ms(&text), Some(ms), "{}", text);
    }

    /// Only the one text of an instant reads as it: no 31 February, no
    /// signs in the fields.
    #[test]
    fn a_time_text_is_read_only_as_written(s in prop_oneof![
        partner_text(30),
        "[0-9+\\-]{4}-[0-9+\\-]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9+\\-]{3}Z",
        "[0-9]{4}-(0[1-9]|1[0-2])-(2[89]|3[01])T(2[0-3]|[01][0-9]):[0-5][0-9]:(60|[0-5][0-9])\\.[0-9]{3}Z",
    ]) {
        if let Some(ms) = parse_rfc3339_ms(&s) {
            prop_assert_eq!(rfc3339_ms(ms), s);
        }
    }
}

// ---------- URLs in logs ----------

proptest! {
    #[test]
    fn secret_query_values_never_reach_a_log(
        pairs in proptest::collection::vec(
            (
                select(vec!["token", "Token", "KEY", "sig", "api_key", "click_id", "sub1", "x"]),
                "[A-Za-z0-9%+._~-]{0,12}",
            ),
            0..6,
        ),
        fragment in proptest::option::of("[a-z0-9]{0,6}"),
    ) {
        let query = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
        let mut url = format!("https://aff.example/pb?{query}");
        if let Some(f) = &fragment {
            url.push('#');
            url.push_str(f);
        }
        let masked = mask_url(&url);
        let (_, rest) = masked.split_once('?').unwrap();
        let (q, f) = match rest.split_once('#') {
            Some((q, f)) => (q, Some(f)),
            None => (rest, None),
        };
        prop_assert_eq!(f, fragment.as_deref());
        let shown: Vec<&str> = q.split('&').collect();
        prop_assert_eq!(shown.len(), pairs.len().max(1));
        for ((k, v), s) in pairs.iter().zip(shown) {
            let secret = ["token", "key", "sig", "api_key"].contains(&k.to_ascii_lowercase().as_str());
            if secret && !v.is_empty() {
                prop_assert_eq!(s, format!("{k}=***"));
            } else {
                prop_assert_eq!(s, format!("{k}={v}"));
            }
        }
    }

    #[test]
    fn any_url_is_masked_without_panicking(s in partner_text(80)) {
        let m = mask_url(&s);
        prop_assert_eq!(m.contains('?'), s.contains('?'));
    }
}

// ---------- what the properties found ----------

/// Each input a property above shrank a failure to, kept as it was found.
#[test]
fn inputs_the_properties_found() {
    // `NaN` and infinity passed the "positive" check: no limit at all
    for s in ["NaN/h", "inf/s", "1/s:NaN", "1/s:inf", "1e999/m"] {
        let m = Limit::parse(s).unwrap_err();
        assert!(m.contains("finite"), "{s}: {m}");
    }
    // a ts near i64::MIN overflowed the skew's subtraction (a panic with
    // overflow checks, a wrapped skew without)
    let r = signature::check_timestamp(Some("-9223372036854775808"), 1_764_000_000).unwrap_err();
    assert_eq!(r.code, ErrorCode::StaleTimestamp);
    assert!(
        r.message.starts_with("ts is 9223372036854775807 s away"),
        "{}",
        r.message
    );
    // a step in hours overflowed u64 seconds
    assert_eq!(
        parse_schedule("5130000000000000h"),
        Err("`5130000000000000h` is longer than a week, the longest wait".into())
    );
    assert!(parse_schedule("18446744073709551615s").is_err());
    assert_eq!(
        parse_schedule("7d"),
        Err("`7d`: unit `d` is not ms, s, m or h".into())
    );
    assert_eq!(parse_schedule("168h").unwrap(), vec![LONGEST_WAIT]);
    // a destination's Retry-After of u64::MAX seconds overflowed the retry time
    let d = next_delay(
        &[Duration::from_secs(60)],
        1,
        0.5,
        Some(Duration::from_secs(u64::MAX)),
    );
    assert_eq!(d, Some(LONGEST_WAIT));
    // an IPv4-mapped network matched nothing, not even its own address
    let c = Cidr::parse("::ffff:10.1.0.0/112").unwrap();
    assert_eq!(c.to_string(), "10.1.0.0/16");
    assert!(c.contains("10.1.2.3".parse().unwrap()));
    assert!(c.contains("::ffff:10.1.2.3".parse().unwrap()));
    assert!(Cidr::parse("::ffff:0.0.0.0")
        .unwrap()
        .contains("0.0.0.0".parse().unwrap()));
    // a 60th second, 31 February, a sign in a field named another instant
    for s in [
        "0000-01-28T20:00:60.000Z",
        "2026-02-31T00:00:00.000Z",
        "2026-11-25T05:17:21.-01Z",
        "+026-11-25T05:17:21.123Z",
    ] {
        assert_eq!(parse_rfc3339_ms(s), None, "{s}");
    }
    // plain decimals too long for a Decimal were "not a decimal number"
    let s = "79.2282000000000000000000000001";
    assert_eq!(parse_amount(s), Err(AmountError::TooPrecise(s.into())));
    let s = "79228162514264337593543951.000";
    assert_eq!(parse_amount(s), Err(AmountError::OutOfRange(s.into())));
    let s = "0000000000000000000000000000012.5000000";
    assert_eq!(parse_amount(s), Ok(Decimal::new(125, 1)));
    for s in ["+-5", "-+5", "--5", "++5", "5-", "-"] {
        assert_eq!(
            parse_amount(s),
            Err(AmountError::NotDecimal(s.into())),
            "{s}"
        );
    }
    assert_eq!(parse_amount("-0.000"), Ok(Decimal::ZERO));
    // a path value `.` or `..` was a dot segment: `..` moved the click one
    // level up the advertiser's site
    let t = UrlTemplate::parse("https://adv.example/land/{sub1}/x?s={sub2}", CLICK_MACROS).unwrap();
    // the same `..` in the query is a value like any other
    let out = t.render(|_| "..".into());
    assert_eq!(out, "https://adv.example/land//x?s=..");
    assert_eq!(url::Url::parse(&out).unwrap().path(), "/land//x");
    let out = t.render(|m| {
        if m == "sub1" {
            "a..b".into()
        } else {
            ".".into()
        }
    });
    assert_eq!(out, "https://adv.example/land/a..b/x?s=.");
    for raw in [
        "https://a.example/.{sub1}/x",
        "https://a.example/{sub1}.{sub2}",
        "https://a.example/%{sub1}",
        "https://a.example/%2E{sub1}",
        "https://a.example/x\\..{sub1}",
    ] {
        assert_eq!(
            UrlTemplate::parse(raw, CLICK_MACROS),
            Err(TemplateError::DotSegment),
            "{raw}"
        );
    }
    for raw in [
        "https://a.example/a.{sub1}",
        "https://a.example/e{sub1}",
        "https://a.example/{sub1}{sub2}",
        "https://a.example/x?v=.{sub1}#..{sub2}",
    ] {
        assert!(UrlTemplate::parse(raw, CLICK_MACROS).is_ok(), "{raw}");
    }
}
