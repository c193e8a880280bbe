//! The journal's file format: segments of framed, checksummed records.
//!
//! A record is `len: u32 LE | crc32(payload): u32 LE | payload`. Records
//! are only ever appended, and a batch is acknowledged only after
//! `fdatasync`, so the one damage a crash can leave is a torn record at the
//! end of the segment being written: its length runs past the end of the
//! file or its checksum does not match. Readers stop there; a record after
//! a bad one cannot be found (its frame is lost), which `inspect` reports.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// No record is larger: a click or a postback (bodies are bounded at 64 KiB
/// on the way in) fits many times over, and a corrupt length is not
/// mistaken for a huge record.
pub const MAX_RECORD: usize = 1 << 20;
const HEADER: usize = 8;

/// CRC-32 (IEEE, as zlib and gzip use), table-driven: a few lines instead
/// of a dependency.
pub fn crc32(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    };
    let mut c = !0u32;
    for b in data {
        c = TABLE[((c ^ *b as u32) & 0xFF) as usize] ^ (c >> 8);
    }
    !c
}

/// Appends one framed record to `out`.
pub fn frame(out: &mut Vec<u8>, payload: &[u8]) {
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// How reading a segment ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tail {
    /// Every byte up to the bound was a whole, valid record.
    Clean,
    /// At this offset a record is cut short or fails its checksum.
    Damaged { offset: u64, reason: String },
}

/// The records of one segment from `start` up to `end` (a bound the writer
/// has committed; `None` reads to the end of the file), each with the
/// offset just past it.
pub struct Scan {
    pub records: Vec<(u64, Vec<u8>)>,
    pub tail: Tail,
}

pub fn scan(path: &Path, start: u64, end: Option<u64>, max: usize) -> io::Result<Scan> {
    let mut file = File::open(path)?;
    let size = file.metadata()?.len();
    let end = end.map_or(size, |e| e.min(size));
    file.seek(SeekFrom::Start(start))?;
    let mut file = BufReader::with_capacity(256 * 1024, file);
    let mut at = start;
    let mut records = Vec::new();
    while at < end && records.len() < max {
        let damaged = |reason: &str| Scan {
            tail: Tail::Damaged {
                offset: at,
                reason: reason.to_string(),
            },
            records: Vec::new(),
        };
        if end - at < HEADER as u64 {
            return Ok(Scan {
                records,
                ..damaged("a record header cut short")
            });
        }
        let mut header = [0u8; HEADER];
        file.read_exact(&mut header)?;
        let len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) as usize;
        let crc = u32::from_le_bytes(header[4..].try_into().expect("4 bytes"));
        if len > MAX_RECORD {
            return Ok(Scan {
                records,
                ..damaged("a record length beyond the bound")
            });
        }
        if end - at - (HEADER as u64) < len as u64 {
            return Ok(Scan {
                records,
                ..damaged("a record cut short")
            });
        }
        let mut payload = vec![0u8; len];
        file.read_exact(&mut payload)?;
        if crc32(&payload) != crc {
            return Ok(Scan {
                records,
                ..damaged("a record whose checksum does not match")
            });
        }
        at += (HEADER + len) as u64;
        records.push((at, payload));
    }
    Ok(Scan {
        records,
        tail: Tail::Clean,
    })
}

/// `seg-00000042.jnl`
pub fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("seg-{n:08}.jnl"))
}

/// The segment numbers in `dir`, oldest first.
pub fn segments(dir: &Path) -> io::Result<Vec<u64>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name();
        let name = name.to_string_lossy();
        if let Some(n) = name
            .strip_prefix("seg-")
            .and_then(|r| r.strip_suffix(".jnl"))
            .and_then(|n| n.parse::<u64>().ok())
        {
            found.push(n);
        }
    }
    found.sort_unstable();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_the_standard_check_value() {
        // the CRC-32 catalogue's check value for "123456789"
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn a_torn_or_altered_tail_is_found_and_what_precedes_it_kept() {
        let dir = std::env::temp_dir().join(format!("cl-seg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = segment_path(&dir, 1);
        let mut bytes = Vec::new();
        frame(&mut bytes, b"first");
        frame(&mut bytes, b"second");
        let whole = bytes.len();
        frame(&mut bytes, b"third");
        // torn: the last record is cut mid-payload
        std::fs::write(&path, &bytes[..bytes.len() - 2]).unwrap();
        let s = scan(&path, 0, None, 100).unwrap();
        assert_eq!(s.records.len(), 2);
        assert_eq!(s.records[1], (whole as u64, b"second".to_vec()));
        assert!(matches!(s.tail, Tail::Damaged { offset, .. } if offset == whole as u64));
        // altered: one flipped bit in the second payload
        let mut altered = bytes.clone();
        altered[whole - 1] ^= 1;
        std::fs::write(&path, &altered).unwrap();
        let s = scan(&path, 0, None, 100).unwrap();
        assert_eq!(s.records.len(), 1);
        assert!(matches!(&s.tail, Tail::Damaged { reason, .. } if reason.contains("checksum")));
        // a bound stops before the third record; a start skips the first
        std::fs::write(&path, &bytes).unwrap();
        let s = scan(&path, s.records[0].0, Some(whole as u64), 100).unwrap();
        assert_eq!(s.records.len(), 1);
        assert_eq!(s.tail, Tail::Clean);
        assert_eq!(segments(&dir).unwrap(), vec![1]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
