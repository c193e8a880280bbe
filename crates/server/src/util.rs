//! Small helpers: clocks, randomness, hashing. Kept out of the domain core,
//! which takes time and randomness as inputs.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

use clickledger_domain::ClickId;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};

thread_local! {
    // A CSPRNG per thread: click ids and tokens must not be guessable.
    static RNG: RefCell<StdRng> = RefCell::new(StdRng::from_os_rng());
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub fn random_u128() -> u128 {
    RNG.with(|r| r.borrow_mut().random())
}

pub fn new_click_id(now_ms: i64) -> ClickId {
    ClickId::new(now_ms as u64, random_u128())
}

const ID_ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// `prefix_` followed by `len` random base32 characters.
pub fn random_id(prefix: &str, len: usize) -> String {
    let mut s = String::with_capacity(prefix.len() + 1 + len);
    s.push_str(prefix);
    s.push('_');
    push_random(&mut s, len);
    s
}

/// 52 random base32 characters (260 bits): session ids, CSRF tokens,
/// one-time links. Only their SHA-256 is stored.
pub fn random_token() -> String {
    let mut s = String::with_capacity(52);
    push_random(&mut s, 52);
    s
}

fn push_random(s: &mut String, len: usize) {
    RNG.with(|r| {
        let mut r = r.borrow_mut();
        for _ in 0..len {
            s.push(ID_ALPHABET[r.random_range(0..32)] as char);
        }
    });
}

/// `prefix_` followed by 16 characters: the time in milliseconds (9 base32
/// characters, so ids sort by creation) and 7 random ones. Rows keyed by
/// such an id are appended to the end of their index, one page touched per
/// batch, where random ids dirty a random page per row (each of them then
/// written to the WAL and copied back by the checkpoint).
pub fn time_ordered_id(prefix: &str, now_ms: i64) -> String {
    let mut s = String::with_capacity(prefix.len() + 17);
    s.push_str(prefix);
    s.push('_');
    let t = now_ms.max(0) as u64;
    for i in (0..9).rev() {
        s.push(ID_ALPHABET[((t >> (5 * i)) & 31) as usize] as char);
    }
    push_random(&mut s, 7);
    s
}

/// Every token-authenticated postback hashes its token to find the
/// advertiser, so the hex is written by table, not by 32 `format!` calls.
pub fn sha256_hex(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(s.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 15) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_hex_is_the_lowercase_digest() {
        // FIPS 180-2's "abc" example
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn ids_are_random_and_shaped() {
        let a = random_id("adv", 12);
        let b = random_id("adv", 12);
        assert_ne!(a, b);
        assert_eq!(a.len(), 16);
        assert!(a.starts_with("adv_"));
    }

    #[test]
    fn time_ordered_ids_sort_by_time_and_differ_within_a_millisecond() {
        let a = time_ordered_id("cv", 1_764_000_000_000);
        let b = time_ordered_id("cv", 1_764_000_000_000);
        let later = time_ordered_id("cv", 1_764_000_000_001);
        let much_later = time_ordered_id("cv", 1_764_000_000_000 + (1 << 40));
        assert_eq!(a.len(), "cv_".len() + 16);
        assert!(a.starts_with("cv_") && clickledger_domain::click_id::is_id_alphabet(&a[3..]));
        assert_ne!(a, b);
        assert_eq!(a[..12], b[..12]);
        assert!(a < later && b < later && later < much_later);
    }

    #[test]
    fn sha256_known_vector() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
