//! Postback fields: which received name means which field, and what each
//! value must look like.
//!
//! Resolution order for each field: the canonical name, then the
//! advertiser's own aliases, then the contract's default aliases (in the
//! order the contract lists them). The first present wins.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::codes::{ErrorCode, Refusal};
use crate::money::{parse_amount, Currency};
use crate::status::Status;
use crate::wording::count;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    ClickId,
    Event,
    Txid,
    Amount,
    Payout,
    Currency,
    Status,
    Token,
    Adv,
    Ts,
    Sig,
    OriginalTxid,
}

impl Field {
    pub const ALL: [Field; 12] = [
        Field::ClickId,
        Field::Event,
        Field::Txid,
        Field::Amount,
        Field::Payout,
        Field::Currency,
        Field::Status,
        Field::Token,
        Field::Adv,
        Field::Ts,
        Field::Sig,
        Field::OriginalTxid,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Field::ClickId => "click_id",
            Field::Event => "event",
            Field::Txid => "txid",
            Field::Amount => "amount",
            Field::Payout => "payout",
            Field::Currency => "currency",
            Field::Status => "status",
            Field::Token => "token",
            Field::Adv => "adv",
            Field::Ts => "ts",
            Field::Sig => "sig",
            Field::OriginalTxid => "original_txid",
        }
    }

    pub fn parse(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The contract's default aliases.
    pub fn default_aliases(self) -> &'static [&'static str] {
        match self {
            Field::ClickId => &["clickid", "cid", "subid", "cnv_id", "hit", "aff_click_id"],
            Field::Event => &["et", "goal", "type"],
            Field::Txid => &["tid", "tx", "order_id", "action_id", "transaction_ref"],
            Field::Amount => &["sum", "sale_amount", "value", "rev"],
            Field::Token => &["secret", "key"],
            Field::OriginalTxid => &["parent_txid", "original_order_id", "refund_of"],
            _ => &[],
        }
    }

    /// Longest value accepted, in bytes.
    fn max_len(self) -> usize {
        match self {
            Field::ClickId => 128,
            Field::Event => 64,
            Field::Txid | Field::OriginalTxid => 128,
            Field::Amount | Field::Payout => 40,
            Field::Currency => 3,
            Field::Status => 64,
            Field::Token | Field::Sig => 256,
            Field::Adv => 64,
            Field::Ts => 20,
        }
    }
}

/// An advertiser's alias map, `their_name -> canonical field`, checked when
/// it is saved.
/// The postback URL an advertiser is given: every field as its macro, in
/// the order the setup document explains them. One place, so the demo, the
/// API and the setup document never disagree.
pub fn url_template(base: &str, token: &str) -> String {
    format!(
        "{base}/postback?token={token}&click_id={{click_id}}&event={{event}}&txid={{txid}}&amount={{amount}}&currency={{currency}}&status={{status}}"
    )
}

pub fn validate_alias_map(map: &BTreeMap<String, String>) -> Result<(), String> {
    for (theirs, ours) in map {
        if Field::parse(ours).is_none() {
            return Err(format!(
                "alias_map.{theirs}: `{ours}` is not a postback field (one of {})",
                Field::ALL.map(|f| f.name()).join(", ")
            ));
        }
        if theirs.is_empty() || theirs.len() > 64 {
            return Err("alias_map keys must be 1-64 characters".into());
        }
    }
    Ok(())
}

pub fn validate_status_map(map: &BTreeMap<String, String>) -> Result<(), String> {
    for (theirs, ours) in map {
        if Status::parse(ours).is_none() {
            return Err(format!(
                "status_map.{theirs}: `{ours}` is not a status (pending, approved, rejected, reversed)"
            ));
        }
    }
    Ok(())
}

/// Finds a field's raw value among the received pairs.
pub fn find<'a>(
    pairs: &'a [(String, String)],
    aliases: &BTreeMap<String, String>,
    field: Field,
) -> Option<&'a str> {
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    get(field.name())
        .or_else(|| {
            aliases
                .iter()
                .filter(|(_, canonical)| canonical.as_str() == field.name())
                .find_map(|(theirs, _)| get(theirs))
        })
        .or_else(|| field.default_aliases().iter().find_map(|a| get(a)))
}

/// The token, looked up before the advertiser (and its aliases) is known.
pub fn find_token(pairs: &[(String, String)]) -> Option<&str> {
    find(pairs, &BTreeMap::new(), Field::Token).filter(|t| !t.is_empty())
}

/// A postback whose fields are well-formed. The click id is still the raw
/// string: decoding it is the next validation step, with its own codes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostbackFields {
    pub click_id: String,
    pub event: Option<String>,
    pub txid: Option<String>,
    /// For refunds and chargebacks: the txid of the conversion they reverse.
    pub original_txid: Option<String>,
    pub amount: Option<Decimal>,
    pub payout: Option<Decimal>,
    pub currency: Option<Currency>,
    pub status: Option<Status>,
    /// The status word as received, kept beside the canonical one.
    pub status_received: Option<String>,
}

/// Parses the well-formedness of every field. Order: lengths, click id
/// presence, amounts, currency, status.
pub fn parse_fields(
    pairs: &[(String, String)],
    aliases: &BTreeMap<String, String>,
    status_map: &BTreeMap<String, String>,
) -> Result<PostbackFields, Refusal> {
    let get = |f: Field| -> Result<Option<String>, Refusal> {
        match find(pairs, aliases, f) {
            None => Ok(None),
            Some(v) if v.trim().is_empty() => Ok(None),
            Some(v) if v.len() > f.max_len() => Err(Refusal::new(
                ErrorCode::InvalidField,
                format!(
                    "{} is {} long, at most {} are allowed",
                    f.name(),
                    count(v.len() as u64, "byte"),
                    count(f.max_len() as u64, "byte")
                ),
            )),
            Some(v) => Ok(Some(v.trim().to_string())),
        }
    };
    let click_id = get(Field::ClickId)?.ok_or_else(|| {
        Refusal::new(
            ErrorCode::MissingClickId,
            "click_id is missing (also read from clickid, cid, subid, cnv_id, hit, aff_click_id)",
        )
    })?;
    let event = get(Field::Event)?;
    let txid = get(Field::Txid)?;
    let original_txid = get(Field::OriginalTxid)?;
    let money = |f: Field, code: ErrorCode| -> Result<Option<Decimal>, Refusal> {
        get(f)?
            .map(|v| parse_amount(&v).map_err(|e| Refusal::new(code, format!("{}: {e}", f.name()))))
            .transpose()
    };
    let amount = money(Field::Amount, ErrorCode::InvalidAmount)?;
    let payout = money(Field::Payout, ErrorCode::InvalidPayout)?;
    let currency = get(Field::Currency)?
        .map(|c| {
            Currency::parse(&c)
                .map_err(|e| Refusal::new(ErrorCode::InvalidCurrency, format!("currency: {e}")))
        })
        .transpose()?;
    let status_received = get(Field::Status)?;
    let status = status_received
        .as_deref()
        .map(|word| {
            status_map
                .get(word)
                .and_then(|s| Status::parse(s))
                .or_else(|| Status::parse(word))
                .ok_or_else(|| {
                    Refusal::new(
                        ErrorCode::InvalidStatus,
                        format!(
                            "status `{word}` is neither pending, approved, rejected, reversed nor a word in the advertiser's status_map"
                        ),
                    )
                })
        })
        .transpose()?;
    Ok(PostbackFields {
        click_id,
        event,
        txid,
        original_txid,
        amount,
        payout,
        currency,
        status,
        status_received,
    })
}

/// Replaces secret values (the token, the signature) before a postback's
/// fields are logged.
pub fn mask_secrets(pairs: &[(String, String)]) -> Vec<(String, String)> {
    let secret_names: Vec<&str> = [Field::Token, Field::Sig]
        .iter()
        .flat_map(|f| std::iter::once(f.name()).chain(f.default_aliases().iter().copied()))
        .collect();
    pairs
        .iter()
        .map(|(k, v)| {
            if secret_names.contains(&k.as_str()) {
                (k.clone(), mask(v))
            } else {
                (k.clone(), v.clone())
            }
        })
        .collect()
}

/// Keeps the first four characters, enough to tell two tokens apart.
pub fn mask(secret: &str) -> String {
    let keep: String = secret.chars().take(4).collect();
    format!("{keep}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn none() -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    #[test]
    fn canonical_names_win_over_aliases() {
        let p = pairs(&[("cid", "a"), ("click_id", "b")]);
        assert_eq!(find(&p, &none(), Field::ClickId), Some("b"));
    }

    #[test]
    fn every_default_alias_resolves() {
        for field in Field::ALL {
            for alias in field.default_aliases() {
                let p = pairs(&[(alias, "v")]);
                assert_eq!(find(&p, &none(), field), Some("v"), "{alias}");
            }
        }
    }

    #[test]
    fn default_aliases_follow_contract_order() {
        let p = pairs(&[("hit", "late"), ("clickid", "early")]);
        assert_eq!(find(&p, &none(), Field::ClickId), Some("early"));
    }

    #[test]
    fn advertiser_alias_beats_default_alias() {
        let mut map = BTreeMap::new();
        map.insert("transaction_id".to_string(), "click_id".to_string());
        let p = pairs(&[("subid", "default"), ("transaction_id", "mine")]);
        assert_eq!(find(&p, &map, Field::ClickId), Some("mine"));
        // transaction_id is no default alias
        assert_eq!(find(&p, &none(), Field::Txid), None);
    }

    #[test]
    fn alias_map_validation_names_the_bad_entry() {
        let mut map = BTreeMap::new();
        map.insert("x".to_string(), "clickid".to_string());
        assert!(validate_alias_map(&map)
            .unwrap_err()
            .contains("alias_map.x"));
        let mut sm = BTreeMap::new();
        sm.insert("1".to_string(), "ok".to_string());
        assert!(validate_status_map(&sm)
            .unwrap_err()
            .contains("status_map.1"));
    }

    #[test]
    fn fields_parse_with_status_map_keeping_the_word() {
        let mut sm = BTreeMap::new();
        sm.insert("1".to_string(), "approved".to_string());
        let p = pairs(&[
            ("cid", "X"),
            ("sum", "12.50"),
            ("currency", "eur"),
            ("status", "1"),
            ("tid", "o-1"),
        ]);
        let f = parse_fields(&p, &none(), &sm).unwrap();
        assert_eq!(f.click_id, "X");
        assert_eq!(f.amount, Some(Decimal::from_str_exact("12.5").unwrap()));
        assert_eq!(f.currency.unwrap().code(), "EUR");
        assert_eq!(f.status, Some(Status::Approved));
        assert_eq!(f.status_received.as_deref(), Some("1"));
        assert_eq!(f.txid.as_deref(), Some("o-1"));
    }

    #[test]
    fn malformed_fields_get_their_codes() {
        let cases: &[(&[(&str, &str)], ErrorCode)] = &[
            (&[("event", "sale")], ErrorCode::MissingClickId),
            (&[("click_id", "")], ErrorCode::MissingClickId),
            (
                &[("click_id", "x"), ("amount", "12,5")],
                ErrorCode::InvalidAmount,
            ),
            (
                &[("click_id", "x"), ("amount", "-3")],
                ErrorCode::InvalidAmount,
            ),
            (
                &[("click_id", "x"), ("payout", "abc")],
                ErrorCode::InvalidPayout,
            ),
            (
                &[("click_id", "x"), ("currency", "EURO")],
                ErrorCode::InvalidField,
            ),
            (
                &[("click_id", "x"), ("currency", "ABC")],
                ErrorCode::InvalidCurrency,
            ),
            (
                &[("click_id", "x"), ("status", "maybe")],
                ErrorCode::InvalidStatus,
            ),
        ];
        for (p, code) in cases {
            let err = parse_fields(&pairs(p), &none(), &none()).unwrap_err();
            assert_eq!(err.code, *code, "{p:?}: {}", err.message);
        }
        let long = "t".repeat(129);
        let err = parse_fields(
            &pairs(&[("click_id", "x"), ("txid", &long)]),
            &none(),
            &none(),
        )
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidField);
        assert!(err.message.contains("txid"));
    }

    #[test]
    fn secrets_are_masked() {
        let p = pairs(&[
            ("token", "supersecret"),
            ("key", "k3y-value"),
            ("cid", "abc"),
        ]);
        let m = mask_secrets(&p);
        assert_eq!(m[0].1, "supe…");
        assert_eq!(m[1].1, "k3y-…");
        assert_eq!(m[2].1, "abc");
        assert_eq!(find_token(&p), Some("supersecret"));
    }
}
