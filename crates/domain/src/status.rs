//! Conversion statuses, their transitions, and the decision of what an
//! incoming postback does to the conversions already recorded.

use rust_decimal::Decimal;

use crate::codes::{ErrorCode, Refusal};
use crate::money::Currency;
use crate::wording::a;

#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pending,
    Approved,
    Rejected,
    Reversed,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Pending,
        Status::Approved,
        Status::Rejected,
        Status::Reversed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Rejected => "rejected",
            Status::Reversed => "reversed",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// The allowed moves. Rejected and reversed are final: money that was
    /// taken back is not silently paid again.
    pub fn can_become(self, to: Status) -> bool {
        matches!(
            (self, to),
            (Status::Pending, Status::Approved)
                | (Status::Pending, Status::Rejected)
                | (Status::Pending, Status::Reversed)
                | (Status::Approved, Status::Reversed)
        )
    }
}

/// What is already recorded for a matching conversion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    pub conversion_id: String,
    pub click_id: u128,
    pub txid: Option<String>,
    pub status: Status,
    pub amount: Option<Decimal>,
    pub currency: Currency,
}

/// The parts of an incoming postback that identify and describe it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incoming {
    pub click_id: u128,
    pub txid: Option<String>,
    /// `None` when the postback named no status: on a resend that means
    /// "unchanged", on a first postback the event's default applies.
    pub status: Option<Status>,
    pub amount: Option<Decimal>,
    pub currency: Currency,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Record a new conversion.
    Insert,
    /// Already recorded with the same content.
    Duplicate { conversion_id: String },
    /// A known conversion moves along an allowed transition.
    Update {
        conversion_id: String,
        from: Status,
        to: Status,
    },
    /// A known txid arrived with different content.
    TxidConflict {
        conversion_id: String,
        reason: String,
    },
    /// A new conversion that cannot be recorded: its commission rule was not
    /// satisfied (a resend of a known one does not need the rule).
    Refused(Refusal),
    /// A known txid asked for a move the state machine forbids.
    InvalidTransition {
        conversion_id: String,
        from: Status,
        to: Status,
    },
}

/// Decides what an incoming postback does, given the conversion recorded
/// under the same (offer, event, txid), if any, and the one recorded for the
/// same (click, event), if any. The store looks both up inside the
/// transaction that then carries out the decision, so racing postbacks are
/// decided one after another.
pub fn decide(
    by_txid: Option<&Recorded>,
    by_click_event: Option<&Recorded>,
    incoming: &Incoming,
    repeatable: bool,
    insertable: &Result<(), Refusal>,
) -> Decision {
    if let Some(rec) = by_txid {
        if rec.click_id != incoming.click_id {
            return Decision::TxidConflict {
                conversion_id: rec.conversion_id.clone(),
                reason: "this txid was already recorded for another click".into(),
            };
        }
        return resend(rec, incoming);
    }
    if !repeatable {
        if let Some(rec) = by_click_event {
            // A one-per-click event: the same postback without a txid, or the
            // first txid again, is a resend; any other txid is a second
            // conversion the event does not allow, so a duplicate.
            if incoming.txid.is_none() || incoming.txid == rec.txid {
                return resend(rec, incoming);
            }
            return Decision::Duplicate {
                conversion_id: rec.conversion_id.clone(),
            };
        }
    }
    match insertable {
        Ok(()) => Decision::Insert,
        Err(r) => Decision::Refused(r.clone()),
    }
}

impl Decision {
    /// The answer's `result` word and, for refusals, the error code.
    /// Every word `answer` gives: what the postback log's `result` holds.
    pub const RESULTS: [&'static str; 4] = ["accepted", "duplicate", "updated", "rejected"];

    pub fn answer(&self) -> (&'static str, Option<ErrorCode>) {
        match self {
            Decision::Insert => ("accepted", None),
            Decision::Duplicate { .. } => ("duplicate", None),
            Decision::Update { .. } => ("updated", None),
            Decision::TxidConflict { .. } => ("rejected", Some(ErrorCode::TxidConflict)),
            Decision::InvalidTransition { .. } => ("rejected", Some(ErrorCode::InvalidTransition)),
            Decision::Refused(r) => ("rejected", Some(r.code)),
        }
    }

    /// A sentence for the postback log and the error body.
    pub fn message(&self) -> String {
        match self {
            Decision::Insert => "conversion recorded".into(),
            Decision::Duplicate { conversion_id } => {
                format!("already recorded as {conversion_id}; nothing changed")
            }
            Decision::Update { from, to, .. } => {
                format!("status changed from {} to {}", from.as_str(), to.as_str())
            }
            Decision::TxidConflict { reason, .. } => format!("txid: {reason}"),
            Decision::Refused(r) => r.message.clone(),
            Decision::InvalidTransition { from, to, .. } => format!(
                "status: {} conversion cannot become {}",
                a(from.as_str()),
                to.as_str()
            ),
        }
    }
}

fn resend(rec: &Recorded, incoming: &Incoming) -> Decision {
    let id = rec.conversion_id.clone();
    if incoming.amount.is_some() && incoming.amount != rec.amount {
        return Decision::TxidConflict {
            conversion_id: id,
            reason: format!(
                "amount {} differs from the recorded {}",
                incoming.amount.map(|a| a.to_string()).unwrap_or_default(),
                rec.amount
                    .map(|a| a.to_string())
                    .unwrap_or_else(|| "none".into())
            ),
        };
    }
    if incoming.currency != rec.currency && incoming.amount.is_some() {
        return Decision::TxidConflict {
            conversion_id: id,
            reason: format!(
                "currency {} differs from the recorded {}",
                incoming.currency, rec.currency
            ),
        };
    }
    match incoming.status {
        None => Decision::Duplicate { conversion_id: id },
        Some(to) if to == rec.status => Decision::Duplicate { conversion_id: id },
        Some(to) if rec.status.can_become(to) => Decision::Update {
            conversion_id: id,
            from: rec.status,
            to,
        },
        Some(to) => Decision::InvalidTransition {
            conversion_id: id,
            from: rec.status,
            to,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_refusals_read_as_sentences() {
        let d = |from| Decision::InvalidTransition {
            conversion_id: "cv".into(),
            from,
            to: Status::Pending,
        };
        assert_eq!(
            d(Status::Approved).message(),
            "status: an approved conversion cannot become pending"
        );
        assert_eq!(
            d(Status::Rejected).message(),
            "status: a rejected conversion cannot become pending"
        );
    }

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    fn rec(status: Status, txid: Option<&str>, amount: Option<&str>) -> Recorded {
        Recorded {
            conversion_id: "cv1".into(),
            click_id: 7,
            txid: txid.map(String::from),
            status,
            amount: amount.map(|a| Decimal::from_str_exact(a).unwrap()),
            currency: usd(),
        }
    }

    fn inc(status: Option<Status>, txid: Option<&str>, amount: Option<&str>) -> Incoming {
        Incoming {
            click_id: 7,
            txid: txid.map(String::from),
            status,
            amount: amount.map(|a| Decimal::from_str_exact(a).unwrap()),
            currency: usd(),
        }
    }

    const OK: Result<(), Refusal> = Ok(());

    #[test]
    fn refused_insert_but_resend_still_decides() {
        let no = Err(Refusal::new(ErrorCode::MissingAmount, "amount is required"));
        let d = decide(None, None, &inc(None, Some("t1"), None), true, &no);
        assert!(matches!(d, Decision::Refused(ref r) if r.code == ErrorCode::MissingAmount));
        assert_eq!(d.answer(), ("rejected", Some(ErrorCode::MissingAmount)));
        let r = rec(Status::Pending, Some("t1"), None);
        let d = decide(
            Some(&r),
            None,
            &inc(Some(Status::Approved), Some("t1"), None),
            true,
            &no,
        );
        assert!(matches!(d, Decision::Update { .. }));
    }

    #[test]
    fn every_transition_edge() {
        use Status::*;
        let allowed = [
            (Pending, Approved),
            (Pending, Rejected),
            (Pending, Reversed),
            (Approved, Reversed),
        ];
        for from in Status::ALL {
            for to in Status::ALL {
                assert_eq!(
                    from.can_become(to),
                    allowed.contains(&(from, to)),
                    "{from:?} -> {to:?}"
                );
            }
        }
    }

    #[test]
    fn new_txid_inserts() {
        let d = decide(
            None,
            None,
            &inc(Some(Status::Approved), Some("t1"), None),
            false,
            &OK,
        );
        assert_eq!(d, Decision::Insert);
    }

    #[test]
    fn same_content_is_duplicate_with_first_id() {
        let r = rec(Status::Approved, Some("t1"), Some("10"));
        for status in [None, Some(Status::Approved)] {
            let d = decide(
                Some(&r),
                Some(&r),
                &inc(status, Some("t1"), Some("10.00")),
                false,
                &OK,
            );
            assert_eq!(
                d,
                Decision::Duplicate {
                    conversion_id: "cv1".into()
                }
            );
        }
    }

    #[test]
    fn allowed_status_change_updates() {
        let r = rec(Status::Pending, Some("t1"), None);
        let d = decide(
            Some(&r),
            None,
            &inc(Some(Status::Approved), Some("t1"), None),
            true,
            &OK,
        );
        assert_eq!(
            d,
            Decision::Update {
                conversion_id: "cv1".into(),
                from: Status::Pending,
                to: Status::Approved
            }
        );
    }

    #[test]
    fn forbidden_status_change_is_invalid_transition() {
        let r = rec(Status::Rejected, Some("t1"), None);
        let d = decide(
            Some(&r),
            None,
            &inc(Some(Status::Approved), Some("t1"), None),
            true,
            &OK,
        );
        assert!(matches!(
            d,
            Decision::InvalidTransition {
                from: Status::Rejected,
                to: Status::Approved,
                ..
            }
        ));
        let r = rec(Status::Reversed, Some("t1"), None);
        let d = decide(
            Some(&r),
            None,
            &inc(Some(Status::Pending), Some("t1"), None),
            true,
            &OK,
        );
        assert!(matches!(d, Decision::InvalidTransition { .. }));
    }

    #[test]
    fn changed_amount_is_txid_conflict_even_with_status_change() {
        let r = rec(Status::Pending, Some("t1"), Some("10"));
        let d = decide(
            Some(&r),
            None,
            &inc(Some(Status::Approved), Some("t1"), Some("11")),
            true,
            &OK,
        );
        assert!(matches!(d, Decision::TxidConflict { .. }));
    }

    #[test]
    fn changed_currency_is_txid_conflict() {
        let r = rec(Status::Pending, Some("t1"), Some("10"));
        let mut i = inc(None, Some("t1"), Some("10"));
        i.currency = Currency::parse("EUR").unwrap();
        assert!(matches!(
            decide(Some(&r), None, &i, true, &OK),
            Decision::TxidConflict { .. }
        ));
    }

    #[test]
    fn txid_of_another_click_is_conflict() {
        let r = rec(Status::Approved, Some("t1"), None);
        let mut i = inc(None, Some("t1"), None);
        i.click_id = 8;
        assert!(matches!(
            decide(Some(&r), None, &i, true, &OK),
            Decision::TxidConflict { .. }
        ));
    }

    #[test]
    fn non_repeatable_event_counts_once_per_click() {
        let r = rec(Status::Approved, Some("t1"), None);
        let d = decide(
            None,
            Some(&r),
            &inc(Some(Status::Approved), Some("t2"), None),
            false,
            &OK,
        );
        assert_eq!(
            d,
            Decision::Duplicate {
                conversion_id: "cv1".into()
            }
        );
        // without a txid it is the same conversion sent again
        let d = decide(None, Some(&r), &inc(None, None, None), false, &OK);
        assert_eq!(
            d,
            Decision::Duplicate {
                conversion_id: "cv1".into()
            }
        );
        // and a status change without txid still updates it
        let d = decide(
            None,
            Some(&r),
            &inc(Some(Status::Reversed), None, None),
            false,
            &OK,
        );
        assert!(matches!(
            d,
            Decision::Update {
                to: Status::Reversed,
                ..
            }
        ));
    }

    #[test]
    fn repeatable_event_with_new_txid_inserts() {
        let r = rec(Status::Approved, Some("t1"), None);
        let d = decide(None, Some(&r), &inc(None, Some("t2"), None), true, &OK);
        assert_eq!(d, Decision::Insert);
    }

    #[test]
    fn status_words_parse() {
        assert_eq!(Status::parse("Approved"), Some(Status::Approved));
        assert_eq!(Status::parse("declined"), None);
    }
}
