//! Offer events and the commission rules that price them.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::codes::{ErrorCode, Refusal};
use crate::money::{Currency, MAX_AMOUNT, STORAGE_SCALE};
use crate::status::Status;

/// How an amount owed is computed for one conversion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Rule {
    /// A fixed amount in the offer's currency.
    Fixed {
        #[serde(with = "rust_decimal::serde::str")]
        #[schemars(with = "crate::schema::DecimalString")]
        amount: Decimal,
    },
    /// A percentage of the postback's `amount`.
    Revshare {
        #[serde(with = "rust_decimal::serde::str")]
        #[schemars(with = "crate::schema::DecimalString")]
        percent: Decimal,
    },
    /// The `payout` the advertiser states in the postback, up to `max`.
    FromPostback {
        #[serde(with = "rust_decimal::serde::str")]
        #[schemars(with = "crate::schema::DecimalString")]
        max: Decimal,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventDef {
    pub name: String,
    pub payout: Rule,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revenue: Option<Rule>,
    #[serde(default)]
    pub repeatable: bool,
    /// A refund or chargeback: it names an `original_txid` and takes back
    /// all (no `amount`) or part (`amount` of the original's) of that
    /// conversion's payout and revenue. Its own payout rule is not used.
    #[serde(default)]
    pub reverses: bool,
    #[serde(default = "default_status")]
    pub default_status: Status,
    /// The largest postback `amount` accepted for this event.
    #[serde(
        default,
        with = "rust_decimal::serde::str_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<crate::schema::DecimalString>")]
    pub max_amount: Option<Decimal>,
    /// The largest payout this event may compute to.
    #[serde(
        default,
        with = "rust_decimal::serde::str_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<crate::schema::DecimalString>")]
    pub max_payout: Option<Decimal>,
}

impl EventDef {
    /// The event's bounds: `max_amount` on the received amount and
    /// `max_payout` on the computed payout.
    pub fn check_bounds(&self, amount: Option<Decimal>, payout: Decimal) -> Result<(), Refusal> {
        if let (Some(max), Some(a)) = (self.max_amount, amount) {
            if a > max {
                return Err(Refusal::new(
                    ErrorCode::PayoutOutOfBounds,
                    format!(
                        "amount {a} is over event `{}`'s max_amount {max}",
                        self.name
                    ),
                ));
            }
        }
        if let Some(max) = self.max_payout {
            if payout > max {
                return Err(Refusal::new(
                    ErrorCode::PayoutOutOfBounds,
                    format!(
                        "payout {payout} is over event `{}`'s max_payout {max}",
                        self.name
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn default_status() -> Status {
    Status::Approved
}

impl Rule {
    fn validate(&self, field: &str) -> Result<(), String> {
        let neg = |d: &Decimal| d.is_sign_negative() && !d.is_zero();
        // Money is stored in millionths: more decimals could not be kept.
        let (name, value) = match self {
            Rule::Fixed { amount } => ("amount", amount),
            Rule::Revshare { percent } => ("percent", percent),
            Rule::FromPostback { max } => ("max", max),
        };
        if value.normalize().scale() > STORAGE_SCALE {
            return Err(format!(
                "{field}.{name}: `{value}` has more than {STORAGE_SCALE} decimal places"
            ));
        }
        match self {
            Rule::Fixed { amount } if neg(amount) || *amount > Decimal::from(MAX_AMOUNT) => {
                Err(format!("{field}.amount must be between 0 and {MAX_AMOUNT}"))
            }
            Rule::Revshare { percent } if neg(percent) || *percent > Decimal::from(100) => {
                Err(format!("{field}.percent must be between 0 and 100"))
            }
            Rule::FromPostback { max }
                if max.is_zero() || neg(max) || *max > Decimal::from(MAX_AMOUNT) =>
            {
                Err(format!(
                    "{field}.max must be above 0 and at most {MAX_AMOUNT}"
                ))
            }
            _ => Ok(()),
        }
    }

    /// Computes the amount owed, rounded to the offer currency's minor unit.
    ///
    /// `amount` is the postback's value, `stated` its `payout` field, and
    /// `amount_currency` the currency both are in.
    pub fn compute(
        &self,
        offer_currency: Currency,
        amount: Option<Decimal>,
        stated: Option<Decimal>,
        amount_currency: Currency,
        what: &str,
    ) -> Result<Decimal, Refusal> {
        let same_currency = || {
            if amount_currency == offer_currency {
                Ok(())
            } else {
                Err(Refusal::new(
                    ErrorCode::CurrencyMismatch,
                    format!(
                        "currency {amount_currency} differs from the offer's {offer_currency}; the {what} rule needs amounts in {offer_currency}"
                    ),
                ))
            }
        };
        match self {
            Rule::Fixed { amount } => Ok(offer_currency.round(*amount)),
            Rule::Revshare { percent } => {
                let amount = amount.ok_or_else(|| {
                    Refusal::new(
                        ErrorCode::MissingAmount,
                        format!("amount is required: the {what} is a {percent}% revshare of it"),
                    )
                })?;
                same_currency()?;
                Ok(offer_currency.round(amount * percent / Decimal::from(100)))
            }
            Rule::FromPostback { max } => {
                let stated = stated.ok_or_else(|| {
                    Refusal::new(
                        ErrorCode::MissingPayout,
                        format!("payout is required: the {what} is taken from the postback"),
                    )
                })?;
                same_currency()?;
                if stated > *max {
                    return Err(Refusal::new(
                        ErrorCode::PayoutOutOfBounds,
                        format!("payout {stated} is over the event's maximum {max}"),
                    ));
                }
                Ok(offer_currency.round(stated))
            }
        }
    }
}

impl Rule {
    /// Money amounts written as the offer's currency writes them.
    fn in_currency_format(&mut self, c: Currency) {
        match self {
            Rule::Fixed { amount } => *amount = c.display(*amount),
            Rule::FromPostback { max } => *max = c.display(*max),
            Rule::Revshare { .. } => {}
        }
    }
}

impl EventDef {
    /// The event's money (fixed payouts, bounds) in the offer currency's
    /// format, so an offer saved with `"2"` shows `"2.00"` like the
    /// conversions it prices. Percentages are not money and keep their form.
    pub fn in_currency_format(&mut self, c: Currency) {
        self.payout.in_currency_format(c);
        if let Some(r) = &mut self.revenue {
            r.in_currency_format(c);
        }
        self.max_amount = self.max_amount.map(|m| c.display(m));
        self.max_payout = self.max_payout.map(|m| c.display(m));
    }
}

/// Checks a list of events as saved on an offer.
pub fn validate_events(events: &[EventDef]) -> Result<(), String> {
    if events.is_empty() {
        return Err("events must list at least one event".into());
    }
    if events.len() > 50 {
        return Err("events may list at most 50 events".into());
    }
    let mut seen = std::collections::HashSet::new();
    for (i, e) in events.iter().enumerate() {
        let ok = !e.name.is_empty()
            && e.name.len() <= 64
            && e.name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !ok {
            return Err(format!(
                "events[{i}].name `{}` must be 1-64 characters of a-z, 0-9, _ and -",
                e.name
            ));
        }
        if !seen.insert(e.name.as_str()) {
            return Err(format!("events[{i}].name `{}` appears twice", e.name));
        }
        for (name, bound) in [("max_amount", e.max_amount), ("max_payout", e.max_payout)] {
            if let Some(b) = bound.filter(|b| b.normalize().scale() > STORAGE_SCALE) {
                return Err(format!(
                    "events[{i}].{name}: `{b}` has more than {STORAGE_SCALE} decimal places"
                ));
            }
        }
        e.payout.validate(&format!("events[{i}].payout"))?;
        if let Some(r) = &e.revenue {
            r.validate(&format!("events[{i}].revenue"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str_exact(s).unwrap()
    }
    fn c(s: &str) -> Currency {
        Currency::parse(s).unwrap()
    }

    #[test]
    fn rules_refuse_more_decimals_than_are_stored() {
        let events: Vec<EventDef> = serde_json::from_str(
            r#"[{"name": "sale", "payout": {"type": "fixed", "amount": "2.1234567"}}]"#,
        )
        .unwrap();
        assert_eq!(
            validate_events(&events).unwrap_err(),
            "events[0].payout.amount: `2.1234567` has more than 6 decimal places"
        );
        let events: Vec<EventDef> = serde_json::from_str(
            r#"[{"name": "sale", "payout": {"type": "fixed", "amount": "2.123456"}, "max_payout": "1.00000001"}]"#,
        )
        .unwrap();
        assert_eq!(
            validate_events(&events).unwrap_err(),
            "events[0].max_payout: `1.00000001` has more than 6 decimal places"
        );
        let ok: Vec<EventDef> = serde_json::from_str(
            r#"[{"name": "sale", "payout": {"type": "revshare", "percent": "12.500000"}}]"#,
        )
        .unwrap();
        assert!(validate_events(&ok).is_ok());
    }

    #[test]
    fn event_money_takes_the_currency_format_and_percentages_keep_theirs() {
        let mut e: EventDef = serde_json::from_str(
            r#"{"name": "sale", "payout": {"type": "fixed", "amount": "2"},
                "revenue": {"type": "revshare", "percent": "30"}, "max_amount": "500.5"}"#,
        )
        .unwrap();
        e.in_currency_format(c("USD"));
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["payout"]["amount"], "2.00");
        assert_eq!(v["revenue"]["percent"], "30");
        assert_eq!(v["max_amount"], "500.50");
        let mut e: EventDef = serde_json::from_str(
            r#"{"name": "lead", "payout": {"type": "from_postback", "max": "50.0"}}"#,
        )
        .unwrap();
        e.in_currency_format(c("JPY"));
        assert_eq!(serde_json::to_value(&e).unwrap()["payout"]["max"], "50");
    }

    #[test]
    fn fixed_ignores_amount_and_rounds_to_currency() {
        let r = Rule::Fixed { amount: d("2") };
        assert_eq!(
            r.compute(c("USD"), None, None, c("EUR"), "payout")
                .unwrap()
                .to_string(),
            "2.00"
        );
        let r = Rule::Fixed { amount: d("2.5") };
        assert_eq!(
            r.compute(c("JPY"), None, None, c("JPY"), "payout")
                .unwrap()
                .to_string(),
            "2"
        );
    }

    #[test]
    fn revshare_takes_a_percent_with_bankers_rounding() {
        let r = Rule::Revshare { percent: d("30") };
        let got = r
            .compute(c("USD"), Some(d("99.99")), None, c("USD"), "payout")
            .unwrap();
        assert_eq!(got.to_string(), "30.00"); // 29.997
        let r = Rule::Revshare { percent: d("12.5") };
        let got = r
            .compute(c("USD"), Some(d("1")), None, c("USD"), "payout")
            .unwrap();
        assert_eq!(got.to_string(), "0.12"); // 0.125 -> even
        let got = r
            .compute(c("USD"), Some(d("0.000001")), None, c("USD"), "payout")
            .unwrap();
        assert_eq!(got.to_string(), "0.00");
    }

    #[test]
    fn revshare_needs_amount_in_offer_currency() {
        let r = Rule::Revshare { percent: d("30") };
        let e = r
            .compute(c("USD"), None, None, c("USD"), "payout")
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::MissingAmount);
        let e = r
            .compute(c("USD"), Some(d("10")), None, c("EUR"), "payout")
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::CurrencyMismatch);
        assert!(e.message.contains("EUR"));
    }

    #[test]
    fn from_postback_is_bounded_by_max() {
        let r = Rule::FromPostback { max: d("50") };
        assert_eq!(
            r.compute(c("USD"), None, Some(d("50")), c("USD"), "payout")
                .unwrap(),
            d("50.00")
        );
        let e = r
            .compute(c("USD"), None, Some(d("50.01")), c("USD"), "payout")
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::PayoutOutOfBounds);
        let e = r
            .compute(c("USD"), None, None, c("USD"), "payout")
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::MissingPayout);
    }

    #[test]
    fn events_parse_from_contract_json_and_validate() {
        let json = r#"[{"name": "registration", "payout": {"type": "fixed", "amount": "2.00"}},
             {"name": "sale", "payout": {"type": "revshare", "percent": "30"}},
             {"name": "deposit", "payout": {"type": "fixed", "amount": "10.00"}, "repeatable": true}]"#;
        let events: Vec<EventDef> = serde_json::from_str(json).unwrap();
        assert_eq!(events.len(), 3);
        assert!(events[2].repeatable);
        assert_eq!(events[0].default_status, Status::Approved);
        assert_eq!(events[1].payout, Rule::Revshare { percent: d("30") });
        assert!(validate_events(&events).is_ok());
        let bad: Result<Vec<EventDef>, _> =
            serde_json::from_str(r#"[{"name": "x", "payout": {"type": "fixed", "amount": 2.5}}]"#);
        assert!(bad.is_err(), "money as a JSON float must be refused");
    }

    fn sample() -> Vec<EventDef> {
        let ev = |name: &str, payout: Rule, repeatable: bool| EventDef {
            name: name.into(),
            payout,
            revenue: None,
            repeatable,
            reverses: false,
            default_status: Status::Approved,
            max_amount: None,
            max_payout: None,
        };
        vec![
            ev("registration", Rule::Fixed { amount: d("2.00") }, false),
            ev("sale", Rule::Revshare { percent: d("30") }, false),
            ev("deposit", Rule::Fixed { amount: d("10.00") }, true),
        ]
    }

    #[test]
    fn bounds_refuse_amounts_and_payouts_over_the_max() {
        let mut e = sample().remove(1);
        e.max_amount = Some(d("1000"));
        e.max_payout = Some(d("200"));
        assert!(e.check_bounds(Some(d("1000")), d("200")).is_ok());
        let err = e.check_bounds(Some(d("1000.01")), d("1")).unwrap_err();
        assert_eq!(err.code, ErrorCode::PayoutOutOfBounds);
        assert!(err.message.contains("max_amount"));
        let err = e.check_bounds(None, d("200.01")).unwrap_err();
        assert!(err.message.contains("max_payout"));
    }

    #[test]
    fn invalid_events_are_named() {
        let mut ev = sample();
        ev[1].name = "Sale!".into();
        assert!(validate_events(&ev).unwrap_err().contains("events[1].name"));
        let mut ev = sample();
        ev[2].name = "registration".into();
        assert!(validate_events(&ev).unwrap_err().contains("twice"));
        let mut ev = sample();
        ev[1].payout = Rule::Revshare { percent: d("101") };
        assert!(validate_events(&ev)
            .unwrap_err()
            .contains("events[1].payout.percent"));
        let mut ev = sample();
        ev[0].payout = Rule::FromPostback { max: d("0") };
        assert!(validate_events(&ev)
            .unwrap_err()
            .contains("events[0].payout.max"));
        assert!(validate_events(&[]).is_err());
    }
}

/// The share of an original conversion a refund takes back: all that is
/// left without `amount`, else `amount / original_amount` of the original
/// (rounded to the currency). Refunds never take back more than was paid.
pub fn refund_share(
    original: Decimal,
    original_amount: Option<Decimal>,
    already_refunded: Decimal,
    refund_amount: Option<Decimal>,
    currency: Currency,
) -> Result<Decimal, Refusal> {
    let left = original - already_refunded;
    let share = match (refund_amount, original_amount) {
        (None, _) => left,
        (Some(a), Some(orig)) if !orig.is_zero() => currency.round(original * a / orig),
        (Some(_), _) => {
            return Err(Refusal::new(
                ErrorCode::MissingAmount,
                "amount: a partial refund needs the original conversion to have an amount",
            ))
        }
    };
    if share > left {
        return Err(Refusal::new(
            ErrorCode::RefundExceedsOriginal,
            format!("the refund would take back {share}, only {left} is left of the original {original}"),
        ));
    }
    Ok(share)
}

#[cfg(test)]
mod refund_tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str_exact(s).unwrap()
    }

    #[test]
    fn full_and_partial_refunds_never_exceed_the_original() {
        let usd = Currency::parse("USD").unwrap();
        assert_eq!(
            refund_share(d("30"), Some(d("100")), d("0"), None, usd).unwrap(),
            d("30")
        );
        assert_eq!(
            refund_share(d("30"), Some(d("100")), d("10"), None, usd).unwrap(),
            d("20")
        );
        assert_eq!(
            refund_share(d("30"), Some(d("100")), d("0"), Some(d("25")), usd).unwrap(),
            d("7.50")
        );
        assert_eq!(
            refund_share(d("10"), Some(d("3")), d("0"), Some(d("1")), usd).unwrap(),
            d("3.33")
        );
        let e = refund_share(d("30"), Some(d("100")), d("25"), Some(d("50")), usd).unwrap_err();
        assert_eq!(e.code, ErrorCode::RefundExceedsOriginal);
        let e = refund_share(d("2"), None, d("0"), Some(d("1")), usd).unwrap_err();
        assert_eq!(e.code, ErrorCode::MissingAmount);
    }
}
