//! The answer codes of the public contract, with the HTTP status each one
//! carries. Kept in the core so the postback decision and its answer can
//! never disagree.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    // 400: a field is missing or malformed
    MissingClickId,
    MissingTxid,
    MissingAmount,
    MissingPayout,
    InvalidAmount,
    InvalidPayout,
    InvalidCurrency,
    InvalidStatus,
    InvalidField,
    InvalidJson,
    TooManyParams,
    // 401
    InvalidToken,
    InvalidSignature,
    StaleTimestamp,
    SignatureRequired,
    Unauthorized,
    // 403
    Forbidden,
    WrongAdvertiser,
    IpNotAllowed,
    // 404
    UnknownClickId,
    CorruptedClickId,
    NotFound,
    // 409
    TxidConflict,
    // 410
    Gone,
    // 422
    ClickExpired,
    UnknownEvent,
    InvalidTransition,
    PayoutOutOfBounds,
    CurrencyMismatch,
    InvalidTemplate,
    Validation,
    // 429
    RateLimited,
    // 503
    Overloaded,
    StoreUnavailable,
}

impl ErrorCode {
    pub fn http_status(self) -> u16 {
        use ErrorCode::*;
        match self {
            MissingClickId | MissingTxid | MissingAmount | MissingPayout | InvalidAmount
            | InvalidPayout | InvalidCurrency | InvalidStatus | InvalidField | InvalidJson
            | TooManyParams => 400,
            InvalidToken | InvalidSignature | StaleTimestamp | SignatureRequired | Unauthorized => {
                401
            }
            Forbidden | WrongAdvertiser | IpNotAllowed => 403,
            UnknownClickId | CorruptedClickId | NotFound => 404,
            TxidConflict => 409,
            Gone => 410,
            ClickExpired | UnknownEvent | InvalidTransition | PayoutOutOfBounds
            | CurrencyMismatch | InvalidTemplate | Validation => 422,
            RateLimited => 429,
            Overloaded | StoreUnavailable => 503,
        }
    }

    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            MissingClickId => "missing_click_id",
            MissingTxid => "missing_txid",
            MissingAmount => "missing_amount",
            MissingPayout => "missing_payout",
            InvalidAmount => "invalid_amount",
            InvalidPayout => "invalid_payout",
            InvalidCurrency => "invalid_currency",
            InvalidStatus => "invalid_status",
            InvalidField => "invalid_field",
            InvalidJson => "invalid_json",
            TooManyParams => "too_many_params",
            InvalidToken => "invalid_token",
            InvalidSignature => "invalid_signature",
            StaleTimestamp => "stale_timestamp",
            SignatureRequired => "signature_required",
            Unauthorized => "unauthorized",
            Forbidden => "forbidden",
            WrongAdvertiser => "wrong_advertiser",
            IpNotAllowed => "ip_not_allowed",
            UnknownClickId => "unknown_click_id",
            CorruptedClickId => "corrupted_click_id",
            NotFound => "not_found",
            TxidConflict => "txid_conflict",
            Gone => "gone",
            ClickExpired => "click_expired",
            UnknownEvent => "unknown_event",
            InvalidTransition => "invalid_transition",
            PayoutOutOfBounds => "payout_out_of_bounds",
            CurrencyMismatch => "currency_mismatch",
            InvalidTemplate => "invalid_template",
            Validation => "validation_failed",
            RateLimited => "rate_limited",
            Overloaded => "overloaded",
            StoreUnavailable => "store_unavailable",
        }
    }

    /// Every code, for documentation and the setup pages.
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::MissingClickId,
        ErrorCode::MissingTxid,
        ErrorCode::MissingAmount,
        ErrorCode::MissingPayout,
        ErrorCode::InvalidAmount,
        ErrorCode::InvalidPayout,
        ErrorCode::InvalidCurrency,
        ErrorCode::InvalidStatus,
        ErrorCode::InvalidField,
        ErrorCode::InvalidJson,
        ErrorCode::TooManyParams,
        ErrorCode::InvalidToken,
        ErrorCode::InvalidSignature,
        ErrorCode::StaleTimestamp,
        ErrorCode::SignatureRequired,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::WrongAdvertiser,
        ErrorCode::IpNotAllowed,
        ErrorCode::UnknownClickId,
        ErrorCode::CorruptedClickId,
        ErrorCode::NotFound,
        ErrorCode::TxidConflict,
        ErrorCode::Gone,
        ErrorCode::ClickExpired,
        ErrorCode::UnknownEvent,
        ErrorCode::InvalidTransition,
        ErrorCode::PayoutOutOfBounds,
        ErrorCode::CurrencyMismatch,
        ErrorCode::InvalidTemplate,
        ErrorCode::Validation,
        ErrorCode::RateLimited,
        ErrorCode::Overloaded,
        ErrorCode::StoreUnavailable,
    ];
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A refusal: the code and a sentence naming the field and the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
}

impl Refusal {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Refusal {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let name = code.as_str();
            assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
            assert!(seen.insert(name), "{name} twice");
        }
    }

    #[test]
    fn statuses_follow_the_contract_table() {
        assert_eq!(ErrorCode::MissingClickId.http_status(), 400);
        assert_eq!(ErrorCode::InvalidToken.http_status(), 401);
        assert_eq!(ErrorCode::IpNotAllowed.http_status(), 403);
        assert_eq!(ErrorCode::CorruptedClickId.http_status(), 404);
        assert_eq!(ErrorCode::UnknownClickId.http_status(), 404);
        assert_eq!(ErrorCode::ClickExpired.http_status(), 422);
        assert_eq!(ErrorCode::TxidConflict.http_status(), 409);
        assert_eq!(ErrorCode::RateLimited.http_status(), 429);
    }
}
