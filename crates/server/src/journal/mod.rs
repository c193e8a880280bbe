//! The fallback journal: nothing acknowledged is lost while the store is
//! away.
//!
//! When the store cannot take a write (PostgreSQL stopped or unreachable, a
//! SQLite file read-only or its disk full), clicks and postbacks are
//! appended here instead, group-committed with `fdatasync`, before they are
//! answered: clicks with their usual 302, postbacks with
//! `202 {"result": "queued"}`. From the first failed write until the
//! journal has drained, every new write comes here too, so what was
//! received is replayed in the order it was received. The replayer
//! (`replay.rs`) probes the store and, once it takes writes, replays the
//! records in order — clicks by id, postbacks through the full validation
//! and dedup — and moves its cursor only past what is committed.
//!
//! Layout of `DIR`: `seg-NNNNNNNN.jnl` segments of framed records
//! (`segment.rs`), `cursor` (the segment and offset replayed up to), and
//! `LOCK`, held by the one process that owns the journal.

pub mod replay;
pub mod segment;

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine;
use clickledger_domain::ClickId;
use clickledger_store::{Click, PostbackLogEntry};
use serde::{Deserialize, Serialize};

use crate::postback::Inbound;
use crate::writer::GroupCommit;
use segment::{frame, scan, segment_path, segments, Tail};

/// A segment is closed and a new one started past this size, so drained
/// files can be removed while the journal is still being written.
const SEGMENT_MAX: u64 = 64 << 20;

/// One journaled write.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    Click(Click),
    Postback(QueuedPostback),
    /// The log entry of a postback refused while the store was away.
    Log(PostbackLogEntry),
}

impl Entry {
    /// When it was received.
    pub fn at_ms(&self) -> i64 {
        match self {
            Entry::Click(c) => c.ts_ms,
            Entry::Postback(p) => p.received_ms,
            Entry::Log(l) => l.ts_ms,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Entry::Click(_) => "click",
            Entry::Postback(_) => "postback",
            Entry::Log(_) => "log",
        }
    }
}

/// A postback as received, to be decided when the store is back: the
/// headers a decision reads (content type, Standard Webhooks), the body as
/// base64 (it need not be text), and the address it came from (already
/// resolved through trusted proxies).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct QueuedPostback {
    pub received_ms: i64,
    pub ip: IpAddr,
    pub https: bool,
    pub method: String,
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub path_token: Option<String>,
    /// `browser` for `t.js` and `/px` (absent in records from before).
    #[serde(default)]
    pub channel: clickledger_store::Channel,
}

/// The request headers a postback's decision depends on (a browser
/// conversion's page host comes from Origin or Referer).
const KEPT_HEADERS: [&str; 6] = [
    "content-type",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "origin",
    "referer",
];

impl QueuedPostback {
    pub fn of(inbound: &Inbound, received_ms: i64) -> QueuedPostback {
        QueuedPostback {
            received_ms,
            ip: inbound.ip,
            https: inbound.https,
            method: inbound.method.clone(),
            query: inbound.query.clone(),
            headers: KEPT_HEADERS
                .iter()
                .filter_map(|h| {
                    let v = inbound.headers.get(*h)?.to_str().ok()?;
                    Some((h.to_string(), v.to_string()))
                })
                .collect(),
            body: base64::engine::general_purpose::STANDARD.encode(&inbound.body),
            path_token: inbound.path_token.clone(),
            channel: inbound.channel,
        }
    }

    /// The postback as it arrived, marked as a replay of that moment.
    pub fn into_inbound(self) -> Inbound {
        let mut headers = axum::http::HeaderMap::new();
        for (k, v) in &self.headers {
            if let (Ok(k), Ok(v)) = (
                axum::http::HeaderName::from_bytes(k.as_bytes()),
                axum::http::HeaderValue::from_str(v),
            ) {
                headers.insert(k, v);
            }
        }
        Inbound {
            ip: self.ip,
            https: self.https,
            method: self.method,
            query: self.query,
            headers,
            body: base64::engine::general_purpose::STANDARD
                .decode(&self.body)
                .unwrap_or_default()
                .into(),
            path_token: self.path_token,
            test_advertiser: None,
            authenticated_advertiser: None,
            replay_of: Some(self.received_ms),
            channel: self.channel,
        }
    }
}

/// Where replay has reached: everything before `offset` in `segment` (and
/// in every earlier segment) is committed to the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
pub struct Cursor {
    pub segment: u64,
    pub offset: u64,
}

/// What `/healthz`, `/metrics` and `journal inspect` tell.
#[derive(Clone, Debug, Serialize, Default)]
pub struct Status {
    /// Records not yet replayed.
    pub depth: u64,
    /// Clicks waiting (read from the map of them, not counted apart).
    pub clicks: u64,
    pub postbacks: u64,
    /// When the oldest record still waiting was received.
    pub oldest_ms: Option<i64>,
    /// The last append's error, if it failed.
    pub error: Option<String>,
}

impl Status {
    /// Seconds since the oldest waiting record was received; 0 when empty.
    pub fn age_seconds(&self, now_ms: i64) -> f64 {
        self.oldest_ms
            .map_or(0.0, |t| (now_ms - t).max(0) as f64 / 1000.0)
    }
}

struct Inner {
    /// The segment being appended to, and its committed length.
    segment: u64,
    file: File,
    len: u64,
    cursor: Cursor,
    status: Status,
    /// Clicks waiting here: a postback for one of them is attributed to it
    /// (and waits here too), never answered `unknown_click_id`.
    clicks: HashMap<ClickId, Arc<Click>>,
}

pub struct Journal {
    dir: PathBuf,
    inner: Mutex<Inner>,
    /// False from a failed store write until the journal has drained.
    store_up: AtomicBool,
    /// Held for the journal's life: one process per directory.
    _lock: File,
    pub appended: AtomicU64,
    pub replayed: AtomicU64,
    /// Records that could not be read back (damaged, or not understood).
    pub unreadable: AtomicU64,
}

impl Journal {
    /// Opens (or creates) the journal in `dir`: takes its lock, counts what
    /// is still to be replayed, cuts a torn tail, and starts a new segment.
    pub fn open(dir: &Path) -> io::Result<Journal> {
        std::fs::create_dir_all(dir)?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("LOCK"))?;
        lock.try_lock().map_err(|_| {
            io::Error::other(format!(
                "the journal {} is in use by another clickledger process (each node needs a directory of its own)",
                dir.display()
            ))
        })?;
        let cursor = read_cursor(dir)?;
        let existing = segments(dir)?;
        let mut status = Status::default();
        let mut clicks = HashMap::new();
        let unreadable = AtomicU64::new(0);
        for (n, path) in existing
            .iter()
            .filter(|n| **n >= cursor.segment)
            .map(|n| (*n, segment_path(dir, *n)))
        {
            let start = if n == cursor.segment {
                cursor.offset
            } else {
                0
            };
            let found = scan(&path, start, None, usize::MAX)?;
            for (_, bytes) in &found.records {
                match serde_json::from_slice::<Entry>(bytes) {
                    Ok(e) => count_in(&mut status, &mut clicks, &e),
                    Err(_) => {
                        unreadable.fetch_add(1, Relaxed);
                    }
                }
            }
            if let Tail::Damaged { offset, reason } = found.tail {
                // a torn append was never acknowledged: cut it off, so the
                // segment reads clean; the write that follows goes to a new
                // segment anyway
                tracing::error!(segment = %path.display(), offset, %reason, "fallback journal: damaged record; what follows it in this segment cannot be read");
                unreadable.fetch_add(1, Relaxed);
                if Some(&n) == existing.last() {
                    OpenOptions::new()
                        .write(true)
                        .open(&path)?
                        .set_len(offset)?;
                }
            }
        }
        let segment = existing.last().map_or(1, |n| n + 1);
        let file = create_segment(dir, segment)?;
        let cursor = if existing.iter().any(|n| *n >= cursor.segment) {
            cursor
        } else {
            // nothing left behind the cursor: start at the new segment
            Cursor { segment, offset: 0 }
        };
        let store_up = status.depth == 0;
        Ok(Journal {
            dir: dir.to_path_buf(),
            inner: Mutex::new(Inner {
                segment,
                file,
                len: 0,
                cursor,
                status,
                clicks,
            }),
            store_up: AtomicBool::new(store_up),
            _lock: lock,
            appended: AtomicU64::new(0),
            replayed: AtomicU64::new(0),
            unreadable,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends the entries as one write and waits for `fdatasync`: when this
    /// returns `Ok`, they survive a crash. On failure nothing of them stays.
    pub fn append(&self, entries: &[Entry]) -> Result<(), String> {
        let mut bytes = Vec::with_capacity(entries.len() * 512);
        for e in entries {
            let payload = serde_json::to_vec(e).map_err(|e| e.to_string())?;
            frame(&mut bytes, &payload);
        }
        let mut inner = self.lock();
        let written = inner
            .file
            .write_all(&bytes)
            .and_then(|()| inner.file.sync_data());
        if let Err(e) = written {
            // leave no partial record behind for the next append to follow
            let len = inner.len;
            let _ = inner.file.set_len(len);
            let msg = format!(
                "the fallback journal {} cannot be written: {e}",
                self.dir.display()
            );
            inner.status.error = Some(msg.clone());
            return Err(msg);
        }
        inner.len += bytes.len() as u64;
        inner.status.error = None;
        let Inner { status, clicks, .. } = &mut *inner;
        for e in entries {
            count_in(status, clicks, e);
        }
        self.appended.fetch_add(entries.len() as u64, Relaxed);
        if inner.len >= SEGMENT_MAX {
            let next = inner.segment + 1;
            match create_segment(&self.dir, next) {
                Ok(f) => {
                    inner.file = f;
                    inner.segment = next;
                    inner.len = 0;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "fallback journal: next segment not started; appending to the current one")
                }
            }
        }
        Ok(())
    }

    /// Whether writes go to the store. False from a failed store write
    /// until the journal has drained, so records keep their order.
    pub fn store_up(&self) -> bool {
        self.store_up.load(Relaxed)
    }

    /// A store write failed: writes come here until the journal drains.
    pub fn store_down(&self, why: &str) {
        if self.store_up.swap(false, Relaxed) {
            tracing::error!(error = %why, journal = %self.dir.display(), "the store does not take writes: clicks and postbacks go to the fallback journal until it is back");
        }
    }

    /// Whether a new postback must wait here to keep its order: the store
    /// is away, or earlier postbacks still wait.
    pub fn holds_postbacks(&self) -> bool {
        !self.store_up() || self.lock().status.postbacks > 0
    }

    /// The click, if it waits here.
    pub fn pending_click(&self, id: ClickId) -> Option<Arc<Click>> {
        self.lock().clicks.get(&id).cloned()
    }

    /// Whether the journal's directory takes a synced write now (asked by
    /// `/healthz` while the store is away).
    pub async fn probe(&self) -> bool {
        let path = self.dir.join("probe");
        tokio::task::spawn_blocking(move || -> io::Result<()> {
            let mut f = File::create(&path)?;
            f.write_all(b"ok")?;
            f.sync_data()
        })
        .await
        .is_ok_and(|r| r.is_ok())
    }

    pub fn status(&self) -> Status {
        let inner = self.lock();
        Status {
            clicks: inner.clicks.len() as u64,
            ..inner.status.clone()
        }
    }

    /// The next records to replay, each with the cursor just past it; the
    /// segments behind the cursor that are fully read are passed over.
    pub fn next_batch(&self, max: usize) -> io::Result<Vec<(Cursor, Entry)>> {
        let (mut cursor, writing, len) = {
            let inner = self.lock();
            (inner.cursor, inner.segment, inner.len)
        };
        let mut out = Vec::new();
        let from = cursor.segment;
        for n in segments(&self.dir)?.into_iter().filter(|n| *n >= from) {
            if n > cursor.segment {
                cursor = Cursor {
                    segment: n,
                    offset: 0,
                };
            }
            let bound = (n == writing).then_some(len);
            let found = scan(
                &segment_path(&self.dir, n),
                cursor.offset,
                bound,
                max - out.len(),
            )?;
            for (end, bytes) in found.records {
                cursor.offset = end;
                match serde_json::from_slice::<Entry>(&bytes) {
                    Ok(e) => out.push((cursor, e)),
                    Err(e) => {
                        tracing::error!(error = %e, segment = n, "fallback journal: a record not understood is passed over");
                        self.unreadable.fetch_add(1, Relaxed);
                    }
                }
            }
            if out.len() >= max || n == writing {
                break;
            }
            // a damaged tail of an older segment: counted at open; what
            // follows it cannot be framed, so replay moves on
        }
        Ok(out)
    }

    /// Replay committed everything up to `cursor` (these `entries`): the
    /// cursor is made durable, the counts drop, and segments wholly behind
    /// it are removed.
    pub fn committed(&self, cursor: Cursor, entries: &[&Entry]) -> io::Result<()> {
        write_cursor(&self.dir, cursor)?;
        let mut inner = self.lock();
        inner.cursor = cursor;
        let Inner { status, clicks, .. } = &mut *inner;
        for e in entries {
            status.depth = status.depth.saturating_sub(1);
            match e {
                Entry::Click(c) => {
                    clicks.remove(&c.id);
                }
                Entry::Postback(_) => status.postbacks = status.postbacks.saturating_sub(1),
                Entry::Log(_) => {}
            }
        }
        status.oldest_ms = if status.depth == 0 {
            None
        } else {
            entries.last().map(|e| e.at_ms()).or(status.oldest_ms)
        };
        self.replayed.fetch_add(entries.len() as u64, Relaxed);
        for n in segments(&self.dir)?
            .into_iter()
            .filter(|n| *n < cursor.segment)
        {
            std::fs::remove_file(segment_path(&self.dir, n))?;
        }
        Ok(())
    }

    /// When everything written has been replayed: starts an empty segment,
    /// removes the rest, and sends writes to the store again. Under the
    /// journal's lock, so no append slips in between the check and the
    /// switch.
    pub fn finish_if_drained(&self) -> io::Result<bool> {
        let mut inner = self.lock();
        if inner.status.depth > 0 {
            return Ok(false);
        }
        let older = segments(&self.dir)?.into_iter().any(|n| n < inner.segment);
        if inner.len > 0 || older {
            let next = inner.segment + 1;
            inner.file = create_segment(&self.dir, next)?;
            inner.segment = next;
            inner.len = 0;
            inner.cursor = Cursor {
                segment: next,
                offset: 0,
            };
            write_cursor(&self.dir, inner.cursor)?;
            for n in segments(&self.dir)?.into_iter().filter(|n| *n < next) {
                std::fs::remove_file(segment_path(&self.dir, n))?;
            }
        }
        inner.status = Status::default();
        inner.clicks.clear();
        if !self.store_up.swap(true, Relaxed) {
            tracing::info!(journal = %self.dir.display(), "the fallback journal has drained: writes go to the store again");
        }
        Ok(true)
    }

    /// Prometheus lines for `/metrics`.
    pub fn render_metrics(&self, out: &mut String, now_ms: i64) {
        use std::fmt::Write as _;
        let s = self.status();
        let age = s.age_seconds(now_ms);
        let _ = write!(
            out,
            "# HELP clickledger_store_available 1 while writes go to the store, 0 while they go to the fallback journal.\n# TYPE clickledger_store_available gauge\nclickledger_store_available {}\n\
             # HELP clickledger_journal_depth Records in the fallback journal not yet replayed into the store.\n# TYPE clickledger_journal_depth gauge\nclickledger_journal_depth{{kind=\"click\"}} {}\nclickledger_journal_depth{{kind=\"postback\"}} {}\nclickledger_journal_depth{{kind=\"all\"}} {}\n\
             # HELP clickledger_journal_oldest_age_seconds Age of the oldest record waiting in the fallback journal.\n# TYPE clickledger_journal_oldest_age_seconds gauge\nclickledger_journal_oldest_age_seconds {age}\n\
             # HELP clickledger_journal_writable 0 when the last append to the fallback journal failed.\n# TYPE clickledger_journal_writable gauge\nclickledger_journal_writable {}\n\
             # HELP clickledger_journal_appended_total Records appended to the fallback journal.\n# TYPE clickledger_journal_appended_total counter\nclickledger_journal_appended_total {}\n\
             # HELP clickledger_journal_replayed_total Records replayed from the fallback journal into the store.\n# TYPE clickledger_journal_replayed_total counter\nclickledger_journal_replayed_total {}\n\
             # HELP clickledger_journal_unreadable_total Journal records that could not be read back (damaged or not understood).\n# TYPE clickledger_journal_unreadable_total counter\nclickledger_journal_unreadable_total {}\n",
            u8::from(self.store_up()),
            s.clicks,
            s.postbacks,
            s.depth,
            u8::from(s.error.is_none()),
            self.appended.load(Relaxed),
            self.replayed.load(Relaxed),
            self.unreadable.load(Relaxed),
        );
    }
}

/// One segment as `journal inspect` shows it.
#[derive(Debug, Serialize)]
pub struct SegmentReport {
    pub segment: u64,
    pub bytes: u64,
    /// Records past the cursor, by kind.
    pub clicks: u64,
    pub postbacks: u64,
    pub logs: u64,
    /// Records behind the cursor (replayed; the file is removed soon).
    pub replayed: u64,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
    /// A damaged record, where reading stopped.
    pub damaged: Option<String>,
    /// Records whose checksum holds but whose content is not understood.
    pub unreadable: u64,
}

/// What a journal directory holds, read without taking it over (the
/// server that owns it may be running).
pub fn inspect(dir: &Path) -> io::Result<(Cursor, Vec<SegmentReport>)> {
    let cursor = read_cursor(dir)?;
    let mut out = Vec::new();
    for n in segments(dir)? {
        let path = segment_path(dir, n);
        let bytes = std::fs::metadata(&path)?.len();
        let found = scan(&path, 0, None, usize::MAX)?;
        let mut r = SegmentReport {
            segment: n,
            bytes,
            clicks: 0,
            postbacks: 0,
            logs: 0,
            replayed: 0,
            first_ms: None,
            last_ms: None,
            damaged: match found.tail {
                Tail::Clean => None,
                Tail::Damaged { offset, reason } => Some(format!("{reason} at byte {offset}")),
            },
            unreadable: 0,
        };
        for (end, payload) in &found.records {
            let Ok(e) = serde_json::from_slice::<Entry>(payload) else {
                r.unreadable += 1;
                continue;
            };
            let past = Cursor {
                segment: n,
                offset: *end,
            } > cursor;
            match (past, &e) {
                (false, _) => r.replayed += 1,
                (true, Entry::Click(_)) => r.clicks += 1,
                (true, Entry::Postback(_)) => r.postbacks += 1,
                (true, Entry::Log(_)) => r.logs += 1,
            }
            r.first_ms.get_or_insert(e.at_ms());
            r.last_ms = Some(e.at_ms());
        }
        out.push(r);
    }
    Ok((cursor, out))
}

fn count_in(status: &mut Status, clicks: &mut HashMap<ClickId, Arc<Click>>, e: &Entry) {
    status.depth += 1;
    status.oldest_ms.get_or_insert(e.at_ms());
    match e {
        Entry::Click(c) => {
            clicks.insert(c.id, Arc::new(c.clone()));
        }
        Entry::Postback(_) => status.postbacks += 1,
        Entry::Log(_) => {}
    }
}

fn create_segment(dir: &Path, n: u64) -> io::Result<File> {
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(segment_path(dir, n))?;
    // the new name must survive a crash as well as its contents
    File::open(dir)?.sync_all()?;
    Ok(f)
}

fn read_cursor(dir: &Path) -> io::Result<Cursor> {
    match std::fs::read(dir.join("cursor")) {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| {
            io::Error::other(format!(
                "{}: not a journal cursor: {e}",
                dir.join("cursor").display()
            ))
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Cursor::default()),
        Err(e) => Err(e),
    }
}

/// Written aside and renamed over, so a crash leaves the old cursor or the
/// new one, never half of one.
fn write_cursor(dir: &Path, c: Cursor) -> io::Result<()> {
    let tmp = dir.join("cursor.tmp");
    {
        let mut f = File::create(&tmp)?;
        f.write_all(&serde_json::to_vec(&c).map_err(io::Error::other)?)?;
        f.sync_data()?;
    }
    std::fs::rename(&tmp, dir.join("cursor"))?;
    File::open(dir)?.sync_all()
}

/// The journal and its queue for postbacks: handlers put entries on the
/// queue and a thread appends whatever queued up with one `fdatasync`.
#[derive(Clone)]
pub struct Fallback {
    pub journal: Arc<Journal>,
    queue: GroupCommit<Entry, Result<(), String>>,
}

impl Fallback {
    pub fn spawn(journal: Arc<Journal>) -> (Fallback, tokio::task::JoinHandle<()>) {
        let j = journal.clone();
        let (queue, handle) = GroupCommit::spawn(16_384, 512, move |entries: &mut Vec<Entry>| {
            let out = j.append(entries);
            vec![out; entries.len()]
        });
        (Fallback { journal, queue }, handle)
    }

    /// Appends one entry and waits until it is durable.
    pub async fn keep(&self, entry: Entry) -> Result<(), String> {
        self.queue
            .submit(entry)
            .await
            .map_err(|e| format!("the fallback journal takes no more: {e:?}"))?
    }

    pub async fn close(&self) {
        self.queue.close().await
    }
}

#[cfg(test)]
mod tests;
