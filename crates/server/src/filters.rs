//! Typed values of the list endpoints' query parameters. Each refuses an
//! impossible value with a sentence naming its parameter, and describes
//! itself in the OpenAPI document (allowed values, range) from the same
//! list that validates it, so the two cannot drift.

use std::borrow::Cow;
use std::marker::PhantomData;

use clickledger_domain::status::Decision;
use clickledger_domain::wording::either;
use clickledger_domain::{ErrorCode, Status};
use clickledger_store::DeliveryState;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{Deserializer, Error};
use serde::Deserialize;

/// How many rows a list answers: 1 to `Limit::MAX`, 100 when not given. An
/// out-of-range limit is refused, never clamped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit(pub u32);

impl Limit {
    pub const MAX: u32 = 10_000;
}

impl Default for Limit {
    fn default() -> Self {
        Limit(100)
    }
}

impl<'de> Deserialize<'de> for Limit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Cow::<str>::deserialize(d)?;
        match s.parse::<u32>() {
            Ok(n) if (1..=Limit::MAX).contains(&n) => Ok(Limit(n)),
            _ => Err(D::Error::custom(format!(
                "limit: `{s}` is not a whole number from 1 to {}",
                Limit::MAX
            ))),
        }
    }
}

impl JsonSchema for Limit {
    fn schema_name() -> Cow<'static, str> {
        "Limit".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "integer", "minimum": 1, "maximum": Limit::MAX, "default": 100})
    }
}

/// A parameter whose value is one of a fixed list.
pub trait Choices {
    /// The parameter's name, for the refusal.
    const PARAM: &'static str;
    fn values() -> Vec<&'static str>;
}

/// A value of `C`'s list (the matching `&'static str`).
#[derive(Debug)]
pub struct OneOf<C>(pub &'static str, PhantomData<C>);

impl<'de, C: Choices> Deserialize<'de> for OneOf<C> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Cow::<str>::deserialize(d)?;
        let values = C::values();
        match values.iter().find(|v| **v == s) {
            Some(v) => Ok(OneOf(v, PhantomData)),
            None => Err(D::Error::custom(format!(
                "{}: `{s}` is not {}",
                C::PARAM,
                either(&values)
            ))),
        }
    }
}

impl<C: Choices> JsonSchema for OneOf<C> {
    fn schema_name() -> Cow<'static, str> {
        C::PARAM.into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "enum": C::values()})
    }
}

/// A conversion's status.
pub struct StatusChoice;

impl Choices for StatusChoice {
    const PARAM: &'static str = "status";
    fn values() -> Vec<&'static str> {
        Status::ALL.iter().map(|s| s.as_str()).collect()
    }
}

impl OneOf<StatusChoice> {
    pub fn status(&self) -> Status {
        Status::parse(self.0).expect("one of Status::ALL")
    }
}

/// What a postback became, as its log entry records it.
pub struct ResultChoice;

impl Choices for ResultChoice {
    const PARAM: &'static str = "result";
    fn values() -> Vec<&'static str> {
        Decision::RESULTS.to_vec()
    }
}

/// The error code a refused postback answered.
pub struct ErrorChoice;

impl Choices for ErrorChoice {
    const PARAM: &'static str = "error";
    fn values() -> Vec<&'static str> {
        ErrorCode::ALL.iter().map(|c| c.as_str()).collect()
    }
}

/// An outbound delivery's state; `suspended` is a pending one waiting
/// behind a failing or disabled destination.
pub struct DeliveryStateChoice;

impl Choices for DeliveryStateChoice {
    const PARAM: &'static str = "state";
    fn values() -> Vec<&'static str> {
        let mut v: Vec<&str> = [
            DeliveryState::Pending,
            DeliveryState::Delivered,
            DeliveryState::Failed,
        ]
        .iter()
        .map(|s| s.as_str())
        .collect();
        v.push("suspended");
        v
    }
}

/// An ISO 3166 alpha-2 country code, as clicks record it (upper case).
#[derive(Debug)]
pub struct Country(pub String);

impl<'de> Deserialize<'de> for Country {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Cow::<str>::deserialize(d)?;
        if s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic()) {
            Ok(Country(s.to_ascii_uppercase()))
        } else {
            Err(D::Error::custom(format!(
                "country: `{s}` is not a two-letter ISO 3166 code such as DE"
            )))
        }
    }
}

impl JsonSchema for Country {
    fn schema_name() -> Cow<'static, str> {
        "Country".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "pattern": "^[A-Za-z]{2}$"})
    }
}

/// An alert's state.
pub struct AlertStateChoice;

impl Choices for AlertStateChoice {
    const PARAM: &'static str = "state";
    fn values() -> Vec<&'static str> {
        vec!["open", "resolved"]
    }
}

/// An alert's kind.
pub struct AlertKindChoice;

impl Choices for AlertKindChoice {
    const PARAM: &'static str = "kind";
    fn values() -> Vec<&'static str> {
        clickledger_domain::alerts::AlertKind::ALL
            .iter()
            .map(|k| k.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Q {
        limit: Option<Limit>,
        status: Option<OneOf<StatusChoice>>,
        country: Option<Country>,
    }

    fn parse(q: &str) -> Result<Q, String> {
        serde_urlencoded::from_str(q).map_err(|e| e.to_string())
    }

    #[test]
    fn values_are_checked_and_refusals_name_the_parameter() {
        let q = parse("limit=5&status=approved&country=de").unwrap();
        assert_eq!(q.limit, Some(Limit(5)));
        assert_eq!(q.status.unwrap().status(), Status::Approved);
        assert_eq!(q.country.unwrap().0, "DE");
        for (bad, says) in [
            (
                "limit=0",
                "limit: `0` is not a whole number from 1 to 10000",
            ),
            ("limit=10001", "limit: `10001` is not"),
            ("limit=-1", "limit: `-1` is not"),
            ("limit=ten", "limit: `ten` is not"),
            (
                "status=approvedd",
                "status: `approvedd` is not pending, approved, rejected or reversed",
            ),
            ("country=DEU", "country: `DEU` is not a two-letter"),
        ] {
            let e = parse(bad).err().unwrap();
            assert!(e.starts_with(says), "{bad}: {e}");
        }
    }

    #[test]
    fn choice_lists_come_from_the_code() {
        assert!(ErrorChoice::values().contains(&"invalid_token"));
        assert_eq!(
            DeliveryStateChoice::values(),
            ["pending", "delivered", "failed", "suspended"]
        );
        assert_eq!(ResultChoice::values(), Decision::RESULTS);
    }
}
