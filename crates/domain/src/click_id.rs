//! Click ids: 128 bits, time-ordered, self-checking, case-insensitive.
//!
//! Layout: 48 bits of unix milliseconds, then 80 random bits. The 128-bit value
//! is written as 26 lowercase Crockford base32 characters, followed by a
//! 4-character check part (the value modulo a prime just under 2^20). A prime
//! modulus catches every single-character substitution and almost every
//! transposition, so an id that was altered or truncated in transit is told
//! apart from an id we simply never issued.

use std::fmt;

use crate::wording::count;

const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
const BODY_LEN: usize = 26;
const CHECK_LEN: usize = 4;
/// Length of an encoded click id.
pub const ENCODED_LEN: usize = BODY_LEN + CHECK_LEN;
/// Largest prime below 2^20, so the check fits in four base32 characters.
const CHECK_PRIME: u128 = 1_048_573;
const RANDOM_BITS: u32 = 80;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClickId(u128);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClickIdError {
    #[error("the click id is empty")]
    Empty,
    #[error("the click id has {}, a click id has {ENCODED_LEN}", count(*.0 as u64, "character"))]
    WrongLength(usize),
    /// At this index (counted from 0; the message counts from 1).
    #[error("character {} of the click id is not a digit or a letter of its alphabet", .0 + 1)]
    InvalidChar(usize),
    #[error("the click id fails its check: it was altered in transit")]
    CheckFailed,
}

impl ClickId {
    /// Builds an id from a time and randomness supplied by the caller, so the
    /// core stays free of clocks and random sources.
    pub fn new(unix_ms: u64, random: u128) -> Self {
        let time = ((unix_ms & 0xFFFF_FFFF_FFFF) as u128) << RANDOM_BITS;
        ClickId(time | (random & ((1u128 << RANDOM_BITS) - 1)))
    }

    pub fn from_u128(v: u128) -> Self {
        ClickId(v)
    }

    pub fn as_u128(self) -> u128 {
        self.0
    }

    pub fn to_bytes(self) -> [u8; 16] {
        self.0.to_be_bytes()
    }

    pub fn from_bytes(b: [u8; 16]) -> Self {
        ClickId(u128::from_be_bytes(b))
    }

    /// Milliseconds since the unix epoch at which the id was issued.
    pub fn unix_ms(self) -> u64 {
        (self.0 >> RANDOM_BITS) as u64
    }

    pub fn encode(self) -> String {
        let mut out = [0u8; ENCODED_LEN];
        for (i, slot) in out[..BODY_LEN].iter_mut().enumerate() {
            let shift = 5 * (BODY_LEN - 1 - i) as u32;
            *slot = ALPHABET[((self.0 >> shift) & 31) as usize];
        }
        let check = self.0 % CHECK_PRIME;
        for (i, slot) in out[BODY_LEN..].iter_mut().enumerate() {
            let shift = 5 * (CHECK_LEN - 1 - i) as u32;
            *slot = ALPHABET[((check >> shift) & 31) as usize];
        }
        // The alphabet is ASCII, so this cannot fail.
        String::from_utf8(out.to_vec()).expect("ascii")
    }

    /// Decodes an id; accepts upper case and the Crockford look-alikes
    /// (`i`, `l` for 1 and `o` for 0) that people and systems introduce.
    pub fn parse(s: &str) -> Result<Self, ClickIdError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(ClickIdError::Empty);
        }
        if s.len() != ENCODED_LEN {
            // as many characters as an id but more bytes: a character is
            // not ASCII, which is what is wrong, not the length
            return Err(match s.chars().position(|c| !c.is_ascii()) {
                Some(i) if s.chars().count() == ENCODED_LEN => ClickIdError::InvalidChar(i),
                _ => ClickIdError::WrongLength(s.chars().count()),
            });
        }
        let mut body: u128 = 0;
        let mut check: u128 = 0;
        for (i, b) in s.bytes().enumerate() {
            let v = decode_char(b).ok_or(ClickIdError::InvalidChar(i))? as u128;
            if i < BODY_LEN {
                if i == 0 && v > 7 {
                    // 26 characters carry 130 bits; the top two must be zero.
                    return Err(ClickIdError::CheckFailed);
                }
                body = (body << 5) | v;
            } else {
                check = (check << 5) | v;
            }
        }
        if body % CHECK_PRIME != check {
            return Err(ClickIdError::CheckFailed);
        }
        Ok(ClickId(body))
    }
}

/// Each byte's value in the alphabet, either case, with the Crockford
/// look-alikes (i, l → 1; o → 0); `NOT_IN_ALPHABET` elsewhere. A table,
/// because every postback decodes 26 characters.
const DECODE: [u8; 256] = {
    let mut t = [NOT_IN_ALPHABET; 256];
    let mut i = 0;
    while i < 32 {
        t[ALPHABET[i] as usize] = i as u8;
        t[ALPHABET[i].to_ascii_uppercase() as usize] = i as u8;
        i += 1;
    }
    let (one, zero) = (t[b'1' as usize], t[b'0' as usize]);
    t[b'i' as usize] = one;
    t[b'I' as usize] = one;
    t[b'l' as usize] = one;
    t[b'L' as usize] = one;
    t[b'o' as usize] = zero;
    t[b'O' as usize] = zero;
    t
};
const NOT_IN_ALPHABET: u8 = 0xff;

fn decode_char(b: u8) -> Option<u8> {
    match DECODE[b as usize] {
        NOT_IN_ALPHABET => None,
        v => Some(v),
    }
}

/// True when every character is in the (case-insensitive) id alphabet; used
/// to tell a truncated id from garbage.
pub fn is_id_alphabet(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| decode_char(b).is_some())
}

impl fmt::Display for ClickId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

impl serde::Serialize for ClickId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.encode())
    }
}

impl<'de> serde::Deserialize<'de> for ClickId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ClickId::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ClickId {
        ClickId::new(1_764_000_000_123, 0x1234_5678_9abc_def0_1357)
    }

    #[test]
    fn round_trips_and_keeps_time() {
        let id = sample();
        let s = id.encode();
        assert_eq!(s.len(), ENCODED_LEN);
        assert!(s.len() <= 40);
        assert!(s.bytes().all(|b| ALPHABET.contains(&b)));
        assert_eq!(ClickId::parse(&s), Ok(id));
        assert_eq!(id.unix_ms(), 1_764_000_000_123);
        assert_eq!(ClickId::from_bytes(id.to_bytes()), id);
    }

    #[test]
    fn extreme_values_round_trip() {
        for id in [ClickId::new(0, 0), ClickId::new(u64::MAX, u128::MAX)] {
            assert_eq!(ClickId::parse(&id.encode()), Ok(id));
        }
    }

    #[test]
    fn uppercased_and_lookalikes_still_decode() {
        let id = sample();
        let s = id.encode();
        assert_eq!(ClickId::parse(&s.to_uppercase()), Ok(id));
        let swapped: String = s
            .chars()
            .map(|c| match c {
                '1' => 'l',
                '0' => 'O',
                c => c,
            })
            .collect();
        assert_eq!(ClickId::parse(&swapped), Ok(id));
    }

    #[test]
    fn the_decode_table_reads_every_byte_as_the_alphabet_says() {
        for b in 0..=255u8 {
            let c = match b.to_ascii_lowercase() {
                b'i' | b'l' => b'1',
                b'o' => b'0',
                c => c,
            };
            let expected = ALPHABET.iter().position(|&a| a == c).map(|p| p as u8);
            assert_eq!(decode_char(b), expected, "byte {b}");
        }
    }

    #[test]
    fn ids_are_time_ordered() {
        let a = ClickId::new(1000, u128::MAX);
        let b = ClickId::new(1001, 0);
        assert!(a.encode() < b.encode());
        assert!(a < b);
    }

    #[test]
    fn truncated_and_extended_ids_are_wrong_length() {
        let s = sample().encode();
        assert_eq!(ClickId::parse(&s[..29]), Err(ClickIdError::WrongLength(29)));
        assert_eq!(
            ClickId::parse(&format!("{s}a")),
            Err(ClickIdError::WrongLength(31))
        );
        assert_eq!(ClickId::parse(""), Err(ClickIdError::Empty));
        assert_eq!(
            ClickIdError::WrongLength(1).to_string(),
            "the click id has 1 character, a click id has 30"
        );
        assert_eq!(
            ClickIdError::WrongLength(29).to_string(),
            "the click id has 29 characters, a click id has 30"
        );
    }

    #[test]
    fn a_non_ascii_character_is_not_reported_as_a_length() {
        // 30 characters, 31 bytes: never "has 30 characters, a click id has 30"
        let s = sample().encode();
        let with_e = format!("{}é{}", &s[..4], &s[5..]);
        assert_eq!(with_e.chars().count(), 30);
        assert_eq!(ClickId::parse(&with_e), Err(ClickIdError::InvalidChar(4)));
        assert_eq!(
            ClickIdError::InvalidChar(4).to_string(),
            "character 5 of the click id is not a digit or a letter of its alphabet"
        );
        // a longer id with one is still a wrong length
        assert_eq!(
            ClickId::parse(&format!("{s}é")),
            Err(ClickIdError::WrongLength(31))
        );
    }

    #[test]
    fn every_single_character_substitution_is_caught() {
        let s = sample().encode();
        for pos in 0..ENCODED_LEN {
            for &c in ALPHABET.iter() {
                let mut bytes = s.clone().into_bytes();
                if bytes[pos] == c {
                    continue;
                }
                bytes[pos] = c;
                let altered = String::from_utf8(bytes).unwrap();
                assert!(
                    ClickId::parse(&altered).is_err(),
                    "substitution at {pos} with {} went unnoticed",
                    c as char
                );
            }
        }
    }

    #[test]
    fn adjacent_transpositions_are_caught() {
        let s = sample().encode();
        let mut caught = 0;
        let mut tried = 0;
        for pos in 0..ENCODED_LEN - 1 {
            let mut b = s.clone().into_bytes();
            if b[pos] == b[pos + 1] {
                continue;
            }
            b.swap(pos, pos + 1);
            tried += 1;
            if ClickId::parse(std::str::from_utf8(&b).unwrap()).is_err() {
                caught += 1;
            }
        }
        assert_eq!(caught, tried);
    }

    #[test]
    fn invalid_characters_are_reported_with_position() {
        let mut s = sample().encode().into_bytes();
        s[3] = b'u';
        assert_eq!(
            ClickId::parse(std::str::from_utf8(&s).unwrap()),
            Err(ClickIdError::InvalidChar(3))
        );
        assert_eq!(
            ClickId::parse("{click_id}{click_id}{click_id}"),
            Err(ClickIdError::InvalidChar(0))
        );
    }
}
