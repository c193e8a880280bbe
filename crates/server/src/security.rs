//! Secrets at rest and rate limits.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use clickledger_domain::rate::{Bucket, Limit};

/// Seals secrets that must be used in clear (signing secrets) with the
/// server's master key: ChaCha20-Poly1305, a random nonce per secret.
/// Tokens and API keys are only ever hashed; they never need this.
pub struct Vault {
    cipher: ChaCha20Poly1305,
}

impl Vault {
    pub fn new(key: [u8; 32]) -> Vault {
        Vault {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&key)),
        }
    }

    /// Reads a 32-byte key written as 64 hex characters.
    pub fn from_hex(hex: &str) -> Result<Vault, String> {
        let hex = hex.trim();
        if hex.len() != 64 {
            return Err("the master key must be 64 hex characters (32 bytes)".into());
        }
        let mut key = [0u8; 32];
        for (i, b) in key.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
                .map_err(|_| "the master key must be hex".to_string())?;
        }
        Ok(Vault::new(key))
    }

    pub fn random_key_hex() -> String {
        let key = ChaCha20Poly1305::generate_key(&mut OsRng);
        key.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn seal(&self, secret: &str) -> String {
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ct = self
            .cipher
            .encrypt(&nonce, secret.as_bytes())
            .expect("encryption does not fail");
        let mut out = nonce.to_vec();
        out.extend(ct);
        format!("v1:{}", B64.encode(out))
    }

    pub fn open(&self, sealed: &str) -> Result<String, String> {
        let raw = sealed
            .strip_prefix("v1:")
            .and_then(|b| B64.decode(b).ok())
            .filter(|r| r.len() > 12)
            .ok_or("sealed secret is malformed")?;
        let (nonce, ct) = raw.split_at(12);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| "sealed secret does not open with this master key".to_string())?;
        String::from_utf8(plain).map_err(|e| e.to_string())
    }
}

/// Token buckets by key; buckets that refilled completely are forgotten.
pub struct Limiter<K> {
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Hash + Eq> Default for Limiter<K> {
    fn default() -> Self {
        Limiter {
            buckets: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Hash + Eq> Limiter<K> {
    /// `Err(retry after seconds)` when `key` is over `limit`.
    pub fn check(&self, key: K, limit: Limit, now_ms: i64) -> Result<(), u64> {
        let mut b = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        b.entry(key)
            .or_insert_with(|| Bucket::new(limit, now_ms))
            .take(limit, now_ms)
    }

    /// What `check` would answer, without taking a token: a login is
    /// refused while the key's failures used up the bucket, and only a
    /// failure takes from it.
    pub fn peek(&self, key: &K, limit: Limit, now_ms: i64) -> Result<(), u64> {
        let b = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        b.get(key)
            .map_or(Ok(()), |bucket| bucket.peek(limit, now_ms))
    }

    pub fn prune(&self, limit: Limit, now_ms: i64) {
        let mut b = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        b.retain(|_, bucket| !bucket.idle(limit, now_ms));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key() {
        let v = Vault::from_hex(&Vault::random_key_hex()).unwrap();
        let sealed = v.seal("ss_secret");
        assert!(!sealed.contains("ss_secret"));
        assert_ne!(sealed, v.seal("ss_secret"), "nonces must differ");
        assert_eq!(v.open(&sealed).unwrap(), "ss_secret");
        let other = Vault::from_hex(&Vault::random_key_hex()).unwrap();
        assert!(other.open(&sealed).is_err());
        let mut tampered = sealed.clone();
        tampered.replace_range(10..11, if &sealed[10..11] == "A" { "B" } else { "A" });
        assert!(v.open(&tampered).is_err());
        assert!(Vault::from_hex("abc").is_err());
    }

    #[test]
    fn limiter_keeps_keys_apart() {
        let l = Limit {
            per_second: 1.0,
            burst: 2.0,
        };
        let lim = Limiter::default();
        assert!(lim.check("a", l, 0).is_ok());
        assert!(lim.check("a", l, 0).is_ok());
        assert_eq!(lim.check("a", l, 0), Err(1));
        assert!(lim.check("b", l, 0).is_ok());
        assert_eq!(lim.peek(&"a", l, 0), Err(1));
        assert_eq!(lim.peek(&"a", l, 0), Err(1), "peeking takes nothing");
        assert_eq!(lim.peek(&"c", l, 0), Ok(()));
        lim.prune(l, 10_000);
        assert!(lim.buckets.lock().unwrap().is_empty());
    }
}
