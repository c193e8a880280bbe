//! Postback signatures.
//!
//! Two schemes, both HMAC-SHA256 and compared in constant time:
//! - the contract's: `sig` = lowercase hex HMAC over every received field
//!   except `sig`, sorted by name, as `name=value` (decoded values) joined by
//!   `&`, keyed with the advertiser's `signing_secret` as UTF-8 bytes;
//! - Standard Webhooks (standardwebhooks.com): `webhook-signature:
//!   v1,<base64 HMAC of "id.timestamp.body">`, keyed with the base64-decoded
//!   part of a `whsec_...` secret.
//!
//! Either way the timestamp must be within `MAX_SKEW_SECONDS` of the clock.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::codes::{ErrorCode, Refusal};

pub const MAX_SKEW_SECONDS: i64 = 300;

type HmacSha256 = Hmac<Sha256>;

/// The string the contract's `sig` is computed over.
pub fn canonical_string(pairs: &[(String, String)]) -> String {
    let mut fields: Vec<&(String, String)> = pairs.iter().filter(|(k, _)| k != "sig").collect();
    // stable: repeated names keep their received order
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    fields
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn mac(key: &[u8], msg: &[u8]) -> HmacSha256 {
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    m.update(msg);
    m
}

pub fn sign_hex(secret: &str, pairs: &[(String, String)]) -> String {
    let bytes = mac(secret.as_bytes(), canonical_string(pairs).as_bytes())
        .finalize()
        .into_bytes();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

pub fn check_timestamp(ts: Option<&str>, now_s: i64) -> Result<(), Refusal> {
    let ts = ts.ok_or_else(|| {
        Refusal::new(
            ErrorCode::StaleTimestamp,
            "ts is missing: a signed postback carries its unix time in ts",
        )
    })?;
    let t: i64 = ts.trim().parse().map_err(|_| {
        Refusal::new(
            ErrorCode::StaleTimestamp,
            format!("ts `{ts}` is not unix seconds"),
        )
    })?;
    // saturating: a ts near i64::MIN must not overflow the subtraction
    let skew = now_s.saturating_sub(t);
    if skew.unsigned_abs() > MAX_SKEW_SECONDS as u64 {
        return Err(Refusal::new(
            ErrorCode::StaleTimestamp,
            format!(
                "ts is {skew} s away from the server's clock; at most {MAX_SKEW_SECONDS} s are allowed"
            ),
        ));
    }
    Ok(())
}

/// Verifies the contract's `sig` (and `ts`) over the received pairs.
pub fn verify_query_signature(
    secrets: &[&str],
    pairs: &[(String, String)],
    now_s: i64,
) -> Result<(), Refusal> {
    let ts = pairs
        .iter()
        .find(|(k, _)| k == "ts")
        .map(|(_, v)| v.as_str());
    check_timestamp(ts, now_s)?;
    let sig = pairs
        .iter()
        .find(|(k, _)| k == "sig")
        .and_then(|(_, v)| decode_hex(v.trim()))
        .ok_or_else(|| {
            Refusal::new(
                ErrorCode::InvalidSignature,
                "sig is not lowercase hex of an HMAC-SHA256",
            )
        })?;
    let msg = canonical_string(pairs);
    // verify_slice compares in constant time
    if secrets
        .iter()
        .any(|s| mac(s.as_bytes(), msg.as_bytes()).verify_slice(&sig).is_ok())
    {
        Ok(())
    } else {
        Err(Refusal::new(
            ErrorCode::InvalidSignature,
            "sig does not match the fields and the advertiser's signing secret",
        ))
    }
}

/// The key bytes of a `whsec_` secret (the whole string if it has no prefix
/// or is not base64).
pub fn webhook_key(secret: &str) -> Vec<u8> {
    secret
        .strip_prefix("whsec_")
        .and_then(|b| B64.decode(b).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec())
}

pub fn webhook_sign(secret: &str, id: &str, timestamp: &str, body: &[u8]) -> String {
    let mut m = HmacSha256::new_from_slice(&webhook_key(secret)).expect("any key length");
    m.update(id.as_bytes());
    m.update(b".");
    m.update(timestamp.as_bytes());
    m.update(b".");
    m.update(body);
    format!("v1,{}", B64.encode(m.finalize().into_bytes()))
}

/// Verifies Standard Webhooks headers against the raw body.
pub fn verify_webhook(
    secrets: &[&str],
    id: &str,
    timestamp: &str,
    signatures: &str,
    body: &[u8],
    now_s: i64,
) -> Result<(), Refusal> {
    check_timestamp(Some(timestamp), now_s)?;
    let candidates: Vec<Vec<u8>> = signatures
        .split_whitespace()
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|b| B64.decode(b).ok())
        .collect();
    for secret in secrets {
        for sig in &candidates {
            let mut m = HmacSha256::new_from_slice(&webhook_key(secret)).expect("any key length");
            m.update(id.as_bytes());
            m.update(b".");
            m.update(timestamp.as_bytes());
            m.update(b".");
            m.update(body);
            if m.verify_slice(sig).is_ok() {
                return Ok(());
            }
        }
    }
    Err(Refusal::new(
        ErrorCode::InvalidSignature,
        "webhook-signature does not match id.timestamp.body and the advertiser's signing secret",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn canonical_string_sorts_and_skips_sig() {
        let p = pairs(&[
            ("txid", "o 1"),
            ("click_id", "abc"),
            ("sig", "x"),
            ("adv", "adv_1"),
            ("ts", "1700000000"),
        ]);
        assert_eq!(
            canonical_string(&p),
            "adv=adv_1&click_id=abc&ts=1700000000&txid=o 1"
        );
    }

    #[test]
    fn known_vector_matches_openssl() {
        // printf 'adv=adv_1&click_id=abc&ts=1700000000' | openssl dgst -sha256 -hmac secret
        let p = pairs(&[("click_id", "abc"), ("adv", "adv_1"), ("ts", "1700000000")]);
        assert_eq!(
            sign_hex("secret", &p),
            "d2ef46ab8c9ca55cc7132d35e5f26d6b1aa2a6ee5472f762d5eb2a252f673a1e"
        );
    }

    #[test]
    fn the_readme_worked_example() {
        let p = pairs(&[
            ("click_id", "01m88k76zyf37nb0pssdmwng1x0886"),
            ("event", "sale"),
            ("txid", "order-1"),
            ("amount", "49.90"),
            ("adv", "adv_demo"),
            ("ts", "1764045000"),
        ]);
        assert_eq!(
            canonical_string(&p),
            "adv=adv_demo&amount=49.90&click_id=01m88k76zyf37nb0pssdmwng1x0886&event=sale&ts=1764045000&txid=order-1"
        );
        assert_eq!(
            sign_hex("whsec_ZGVtby1zaWduaW5nLXNlY3JldC0wMQ==", &p),
            "a6a9ad8d367252ba3b7424acfe88810b69592d4bd32ce432e853a4d86cb0f180"
        );
    }

    #[test]
    fn signature_accepted_and_every_tampering_refused() {
        let now = 1_700_000_000;
        let mut p = pairs(&[
            ("adv", "adv_1"),
            ("click_id", "abc"),
            ("amount", "10"),
            ("ts", "1700000000"),
        ]);
        let sig = sign_hex("s3cret", &p);
        p.push(("sig".into(), sig.clone()));
        assert!(verify_query_signature(&["s3cret"], &p, now).is_ok());
        // rotated: the old secret still listed
        assert!(verify_query_signature(&["new", "s3cret"], &p, now).is_ok());
        // another advertiser's secret
        let e = verify_query_signature(&["other"], &p, now).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidSignature);
        // one flipped byte of the signature
        let mut flipped = p.clone();
        let last = flipped.last_mut().unwrap();
        let c = if last.1.ends_with('0') { '1' } else { '0' };
        last.1.pop();
        last.1.push(c);
        assert_eq!(
            verify_query_signature(&["s3cret"], &flipped, now)
                .unwrap_err()
                .code,
            ErrorCode::InvalidSignature
        );
        // a changed field
        let mut changed = p.clone();
        changed[2].1 = "1000".into();
        assert_eq!(
            verify_query_signature(&["s3cret"], &changed, now)
                .unwrap_err()
                .code,
            ErrorCode::InvalidSignature
        );
        // stale and future ts
        assert_eq!(
            verify_query_signature(&["s3cret"], &p, now + 301)
                .unwrap_err()
                .code,
            ErrorCode::StaleTimestamp
        );
        assert_eq!(
            verify_query_signature(&["s3cret"], &p, now - 301)
                .unwrap_err()
                .code,
            ErrorCode::StaleTimestamp
        );
        assert!(verify_query_signature(&["s3cret"], &p, now + 300).is_ok());
        // missing ts
        let no_ts: Vec<_> = p.iter().filter(|(k, _)| k != "ts").cloned().collect();
        assert_eq!(
            verify_query_signature(&["s3cret"], &no_ts, now)
                .unwrap_err()
                .code,
            ErrorCode::StaleTimestamp
        );
    }

    #[test]
    fn standard_webhooks_round_trip() {
        // the spec's published example
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let ts = "1614265330";
        let body = br#"{"test": 2432232314}"#;
        let sig = webhook_sign(secret, id, ts, body);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(verify_webhook(
            &[secret],
            id,
            ts,
            &format!("v1,bogus {sig}"),
            body,
            1_614_265_330
        )
        .is_ok());
        assert!(verify_webhook(&[secret], id, ts, &sig, b"{}", 1_614_265_330).is_err());
        assert_eq!(
            verify_webhook(&[secret], id, ts, &sig, body, 1_614_265_330 + 400)
                .unwrap_err()
                .code,
            ErrorCode::StaleTimestamp
        );
    }
}
