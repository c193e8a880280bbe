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
    /// The request line, path or headers do not parse.
    InvalidRequest,
    // 401
    InvalidToken,
    InvalidSignature,
    StaleTimestamp,
    SignatureRequired,
    InvalidPublishableKey,
    Unauthorized,
    // 403
    Forbidden,
    WrongAdvertiser,
    IpNotAllowed,
    HttpsRequired,
    HostNotAllowed,
    // 404
    UnknownClickId,
    CorruptedClickId,
    NotFound,
    // 405
    MethodNotAllowed,
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
    TooFast,
    UnknownOriginal,
    RefundExceedsOriginal,
    CapReached,
    InsufficientBalance,
    // 413, 414, 415, 431: refused by the HTTP layer before any handler
    PayloadTooLarge,
    UriTooLong,
    UnsupportedMediaType,
    HeadersTooLarge,
    // 429
    RateLimited,
    // 500
    Internal,
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
            | TooManyParams | InvalidRequest => 400,
            InvalidToken
            | InvalidSignature
            | StaleTimestamp
            | SignatureRequired
            | InvalidPublishableKey
            | Unauthorized => 401,
            Forbidden | WrongAdvertiser | IpNotAllowed | HttpsRequired | HostNotAllowed => 403,
            UnknownClickId | CorruptedClickId | NotFound => 404,
            MethodNotAllowed => 405,
            TxidConflict => 409,
            Gone => 410,
            ClickExpired
            | UnknownEvent
            | InvalidTransition
            | PayoutOutOfBounds
            | CurrencyMismatch
            | InvalidTemplate
            | Validation
            | TooFast
            | UnknownOriginal
            | RefundExceedsOriginal
            | CapReached
            | InsufficientBalance => 422,
            PayloadTooLarge => 413,
            UriTooLong => 414,
            UnsupportedMediaType => 415,
            HeadersTooLarge => 431,
            RateLimited => 429,
            Internal => 500,
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
            InvalidRequest => "invalid_request",
            MethodNotAllowed => "method_not_allowed",
            PayloadTooLarge => "payload_too_large",
            UriTooLong => "uri_too_long",
            UnsupportedMediaType => "unsupported_media_type",
            HeadersTooLarge => "headers_too_large",
            Internal => "internal_error",
            InvalidToken => "invalid_token",
            InvalidSignature => "invalid_signature",
            StaleTimestamp => "stale_timestamp",
            SignatureRequired => "signature_required",
            InvalidPublishableKey => "invalid_publishable_key",
            Unauthorized => "unauthorized",
            Forbidden => "forbidden",
            WrongAdvertiser => "wrong_advertiser",
            IpNotAllowed => "ip_not_allowed",
            HttpsRequired => "https_required",
            HostNotAllowed => "host_not_allowed",
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
            TooFast => "too_fast",
            UnknownOriginal => "unknown_original_txid",
            RefundExceedsOriginal => "refund_exceeds_original",
            CapReached => "cap_reached",
            InsufficientBalance => "insufficient_balance",
            RateLimited => "rate_limited",
            Overloaded => "overloaded",
            StoreUnavailable => "store_unavailable",
        }
    }

    /// What the code means, for the setup documents.
    pub fn meaning(self) -> &'static str {
        use ErrorCode::*;
        match self {
            MissingClickId => "no click id in the postback (click_id or one of its aliases)",
            MissingTxid => "a repeatable event needs a txid (order id)",
            MissingAmount => "the event pays a revshare of amount, and amount is missing",
            MissingPayout => "the event takes its payout from the postback, and payout is missing",
            InvalidAmount => "amount is not a plain decimal (12.50), is negative or too precise",
            InvalidPayout => "payout is not a plain decimal",
            InvalidCurrency => "currency is not an ISO 4217 code",
            InvalidStatus => "status is not a known status nor mapped by the advertiser",
            InvalidField => "a field is too long or malformed",
            InvalidJson => "the JSON body does not parse",
            TooManyParams => "too many fields or parameters",
            InvalidRequest => "the request's path, query string or headers do not parse",
            MethodNotAllowed => {
                "the endpoint does not take this HTTP method (see the Allow header)"
            }
            PayloadTooLarge => "the request body is over the endpoint's size limit",
            UriTooLong => "the URL is over 64 KiB, the most the tracker reads",
            UnsupportedMediaType => "the body's Content-Type is not one the endpoint reads",
            HeadersTooLarge => "the request headers are too large",
            Internal => "an unexpected error in the tracker; it is logged",
            InvalidToken => "the token is missing or wrong",
            InvalidSignature => "sig does not match the fields and the signing secret",
            StaleTimestamp => "ts is missing or more than 300 s from the server's clock",
            SignatureRequired => "the advertiser requires signed postbacks",
            InvalidPublishableKey => {
                "a browser conversion's publishable_key is missing or not an advertiser's"
            }
            Unauthorized => "the API key is missing or wrong",
            Forbidden => "the API key may not do this",
            WrongAdvertiser => "the click belongs to another advertiser's offer",
            IpNotAllowed => "the source IP is not on the advertiser's allowlist",
            HttpsRequired => "the advertiser requires HTTPS",
            HostNotAllowed => {
                "a browser conversion came from a page whose host is not on the advertiser's pixel_hosts"
            }
            UnknownClickId => "the click id was never issued here",
            CorruptedClickId => "the click id was altered or truncated in transit",
            NotFound => "no such record",
            TxidConflict => "this txid was recorded with different content",
            Gone => "the link, its offer, its affiliate or its advertiser is paused",
            ClickExpired => "the click is older than the offer's attribution window",
            UnknownEvent => "the event is not defined on the offer",
            InvalidTransition => "the status change is not allowed",
            PayoutOutOfBounds => "amount or payout is over the event's bound",
            CurrencyMismatch => "the amount's currency differs from the offer's",
            InvalidTemplate => "a URL template has an unknown macro or does not parse",
            Validation => "a field of the request is invalid",
            TooFast => "the conversion came sooner after the click than the offer allows",
            UnknownOriginal => "a refund or chargeback names an original_txid that is not recorded",
            RefundExceedsOriginal => {
                "refunds would take back more than the original conversion paid"
            }
            CapReached => "the offer's cap is reached and it refuses conversions over it",
            InsufficientBalance => {
                "a payout is more than the balance available, and is not marked as an advance"
            }
            RateLimited => "too many requests; retry after the Retry-After seconds",
            Overloaded => "the tracker is saturated; retry after the Retry-After seconds",
            StoreUnavailable => "the database is briefly unavailable; retry",
        }
    }

    /// The code for an answer the HTTP layer made without a handler's
    /// refusal (a rejected body, method or URL), by its status.
    pub fn for_status(status: u16) -> ErrorCode {
        use ErrorCode::*;
        match status {
            401 => Unauthorized,
            403 => Forbidden,
            404 => NotFound,
            405 => MethodNotAllowed,
            409 => TxidConflict,
            410 => Gone,
            413 => PayloadTooLarge,
            414 => UriTooLong,
            415 => UnsupportedMediaType,
            422 => Validation,
            429 => RateLimited,
            431 => HeadersTooLarge,
            503 => Overloaded,
            400..=499 => InvalidRequest,
            _ => Internal,
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
        ErrorCode::InvalidRequest,
        ErrorCode::InvalidToken,
        ErrorCode::InvalidSignature,
        ErrorCode::StaleTimestamp,
        ErrorCode::SignatureRequired,
        ErrorCode::InvalidPublishableKey,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::WrongAdvertiser,
        ErrorCode::IpNotAllowed,
        ErrorCode::HttpsRequired,
        ErrorCode::HostNotAllowed,
        ErrorCode::UnknownClickId,
        ErrorCode::CorruptedClickId,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::TxidConflict,
        ErrorCode::Gone,
        ErrorCode::ClickExpired,
        ErrorCode::UnknownEvent,
        ErrorCode::InvalidTransition,
        ErrorCode::PayoutOutOfBounds,
        ErrorCode::CurrencyMismatch,
        ErrorCode::InvalidTemplate,
        ErrorCode::Validation,
        ErrorCode::TooFast,
        ErrorCode::UnknownOriginal,
        ErrorCode::RefundExceedsOriginal,
        ErrorCode::CapReached,
        ErrorCode::InsufficientBalance,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UriTooLong,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::HeadersTooLarge,
        ErrorCode::RateLimited,
        ErrorCode::Internal,
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
    fn the_code_for_a_status_carries_that_status() {
        for code in ErrorCode::ALL {
            let s = code.http_status();
            assert_eq!(
                ErrorCode::for_status(s).http_status(),
                s,
                "{}",
                code.as_str()
            );
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
        assert_eq!(ErrorCode::MethodNotAllowed.http_status(), 405);
        assert_eq!(ErrorCode::PayloadTooLarge.http_status(), 413);
        assert_eq!(ErrorCode::UriTooLong.http_status(), 414);
    }

    #[test]
    fn codes_are_found_by_status() {
        assert_eq!(ErrorCode::for_status(413), ErrorCode::PayloadTooLarge);
        assert_eq!(ErrorCode::for_status(405), ErrorCode::MethodNotAllowed);
        assert_eq!(ErrorCode::for_status(400), ErrorCode::InvalidRequest);
        assert_eq!(ErrorCode::for_status(599), ErrorCode::Internal);
        assert_eq!(ErrorCode::for_status(418), ErrorCode::InvalidRequest);
    }
}
