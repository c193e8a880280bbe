//! The shapes of requests that handlers read by hand rather than through
//! a typed extractor — tracking-link parameters and postback fields, which
//! take any extra or aliased name — described for the OpenAPI document.

use schemars::JsonSchema;

/// `GET /c/{link_id}`: the known parameters. Any other parameter is kept
/// on the click as an extra (within the click bounds).
#[derive(JsonSchema)]
#[allow(dead_code)]
pub struct TrackingLinkQuery {
    /// Free values the affiliate passes through (macros `{sub1}`..`{sub5}`).
    sub1: Option<String>,
    sub2: Option<String>,
    sub3: Option<String>,
    sub4: Option<String>,
    sub5: Option<String>,
    /// The traffic source (macro `{source}`).
    source: Option<String>,
}

/// A postback's fields by their contract names. Each is also read under
/// its default aliases and the advertiser's `alias_map`; other fields are
/// kept in the postback log.
#[derive(JsonSchema)]
#[allow(dead_code)]
pub struct PostbackFields {
    /// The click id issued at the click (aliases: clickid, cid, subid, cnv_id, hit, aff_click_id).
    click_id: Option<String>,
    /// The event name defined on the offer (default: the offer's first).
    event: Option<String>,
    /// The advertiser's order or transaction id.
    txid: Option<String>,
    /// The event's money value, a plain decimal like 49.90.
    amount: Option<String>,
    /// A commission stated by the advertiser.
    payout: Option<String>,
    /// ISO 4217 (default: the offer's).
    currency: Option<String>,
    /// approved, pending, rejected, reversed, or a word the advertiser maps.
    status: Option<String>,
    /// The advertiser's postback token (or `/postback/{token}`).
    token: Option<String>,
    /// For signed postbacks: the advertiser id.
    adv: Option<String>,
    /// For signed postbacks: unix seconds.
    ts: Option<String>,
    /// For signed postbacks: lowercase hex HMAC-SHA256.
    sig: Option<String>,
    /// For refunds and chargebacks: the txid they reverse.
    original_txid: Option<String>,
}

/// A browser conversion's fields (`GET /px`, `POST /t/conversion`): the
/// postback's, with the advertiser's publishable key instead of a token.
/// Aliases and the advertiser's `alias_map` apply as for postbacks.
#[derive(JsonSchema)]
#[allow(dead_code)]
pub struct BrowserFields {
    /// The advertiser's publishable key (`pk_…`); not a secret.
    publishable_key: Option<String>,
    /// The click id issued at the click (`t.js` sends the one it kept).
    click_id: Option<String>,
    /// The event name defined on the offer (default: the offer's first).
    event: Option<String>,
    /// The advertiser's order or transaction id: a resend with the same txid is a duplicate.
    txid: Option<String>,
    /// The event's money value, a plain decimal like 49.90.
    amount: Option<String>,
    /// ISO 4217 (default: the offer's).
    currency: Option<String>,
    /// approved, pending, rejected, reversed (forced to pending when the advertiser has browser_pending).
    status: Option<String>,
}
