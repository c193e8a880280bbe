//! Group commit: the click writer and the postback writer.
//!
//! Handlers put an item on a bounded queue and wait; one thread takes
//! whatever has queued up (up to `batch_max`), commits it in one
//! transaction, and then answers every waiting handler. Under load, batches
//! grow and the cost of a commit is shared; at rest a batch is one item and
//! adds no delay. A full queue is refused at once (the handler answers 503),
//! never dropped.
//!
//! Each writer is a thread of its own that calls the store's blocking batch
//! write directly: an item costs one hand-off to the writer and one back,
//! with no async task and no blocking-pool hop in between.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clickledger_store::{Click, PostbackWrite, Recorded, Store};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::journal::{Entry, Journal};
use crate::metrics::Metrics;

#[derive(Debug, PartialEq, Eq)]
pub enum SubmitError {
    /// The queue is full; the caller should ask the client to retry.
    Full,
    /// The writer has stopped (shutdown).
    Closed,
}

// Nearly every message is an item; boxing it would add an allocation per
// item for no gain.
#[allow(clippy::large_enum_variant)]
enum Msg<I, R> {
    Item(I, oneshot::Sender<R>),
    /// Stop taking items; commit what is queued, then end.
    Close,
}

/// A queue in front of a thread that commits what queued up as one batch.
pub struct GroupCommit<I, R> {
    tx: mpsc::Sender<Msg<I, R>>,
    closed: Arc<AtomicBool>,
}

impl<I, R> Clone for GroupCommit<I, R> {
    fn clone(&self) -> Self {
        GroupCommit {
            tx: self.tx.clone(),
            closed: self.closed.clone(),
        }
    }
}

impl<I: Send + 'static, R: Send + 'static> GroupCommit<I, R> {
    /// `commit` writes a batch and answers each item, in order.
    pub fn spawn(
        capacity: usize,
        batch_max: usize,
        mut commit: impl FnMut(&mut Vec<I>) -> Vec<R> + Send + 'static,
    ) -> (Self, JoinHandle<()>) {
        let (tx, mut rx) = mpsc::channel::<Msg<I, R>>(capacity);
        // a long-lived blocking task: in effect the writer's own thread
        let handle = tokio::task::spawn_blocking(move || {
            let mut items = Vec::with_capacity(batch_max);
            let mut waiting = Vec::with_capacity(batch_max);
            while let Some(first) = rx.blocking_recv() {
                for msg in take_batch(&mut rx, first, batch_max) {
                    match msg {
                        Msg::Item(item, done) => {
                            items.push(item);
                            waiting.push(done);
                        }
                        // an item sent after this is refused; recv still
                        // yields what is queued, then None
                        Msg::Close => rx.close(),
                    }
                }
                if items.is_empty() {
                    continue;
                }
                let answers = commit(&mut items);
                items.clear();
                for (done, answer) in waiting.drain(..).zip(answers) {
                    // the handler may have gone (client hung up); the item
                    // is stored anyway
                    let _ = done.send(answer);
                }
            }
        });
        let closed = Arc::new(AtomicBool::new(false));
        (GroupCommit { tx, closed }, handle)
    }

    /// Queues an item and waits until its batch is committed.
    pub async fn submit(&self, item: I) -> Result<R, SubmitError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(SubmitError::Closed);
        }
        let (done, wait) = oneshot::channel();
        self.tx
            .try_send(Msg::Item(item, done))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => SubmitError::Full,
                mpsc::error::TrySendError::Closed(_) => SubmitError::Closed,
            })?;
        wait.await.map_err(|_| SubmitError::Closed)
    }

    /// Stops taking items; everything already queued is still committed.
    pub async fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let _ = self.tx.send(Msg::Close).await;
    }
}

/// `first` and whatever else is already queued, up to `max`: the batch a
/// group commit writes in one transaction.
fn take_batch<J>(rx: &mut mpsc::Receiver<J>, first: J, max: usize) -> Vec<J> {
    let mut batch = vec![first];
    while batch.len() < max {
        match rx.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    batch
}

/// Clicks: a batch the store cannot take goes to the fallback journal
/// (durable before the visitor is answered), and every batch after it too
/// until the journal has drained. Without a journal, or when it cannot be
/// written either, the store gets a second of retries; after that the
/// visitor is still redirected and the clicks are counted as unrecorded.
#[derive(Clone)]
pub struct ClickWriter {
    queue: GroupCommit<Click, ()>,
    metrics: Arc<Metrics>,
}

/// Waits between the last tries of a batch that neither the store nor the
/// journal took.
const LAST_TRIES_MS: [u64; 4] = [50, 100, 200, 400];

impl ClickWriter {
    pub fn spawn(
        store: Arc<dyn Store>,
        journal: Option<Arc<Journal>>,
        metrics: Arc<Metrics>,
        capacity: usize,
        batch_max: usize,
    ) -> (ClickWriter, JoinHandle<()>) {
        let m = metrics.clone();
        let (queue, handle) = GroupCommit::spawn(capacity, batch_max, move |clicks| {
            let started = Instant::now();
            let stored = match &journal {
                Some(j) if !j.store_up() => false,
                _ => match store.insert_clicks(clicks) {
                    Ok(()) => {
                        m.commit_seconds.observe(started.elapsed().as_secs_f64());
                        true
                    }
                    Err(e) => {
                        tracing::error!(error = %e, clicks = clicks.len(), "click batch not committed");
                        if let Some(j) = &journal {
                            j.store_down(&e.to_string());
                        }
                        false
                    }
                },
            };
            let kept = stored
                || journal.as_ref().is_some_and(|j| {
                    let entries: Vec<Entry> = clicks.iter().cloned().map(Entry::Click).collect();
                    j.append(&entries)
                        .inspect_err(|e| tracing::error!(error = %e, "click batch not journaled"))
                        .is_ok()
                })
                || LAST_TRIES_MS.iter().any(|ms| {
                    std::thread::sleep(Duration::from_millis(*ms));
                    store.insert_clicks(clicks).is_ok()
                });
            if !kept {
                m.unrecorded_clicks.fetch_add(clicks.len() as u64, Relaxed);
                tracing::error!(
                    clicks = clicks.len(),
                    "CLICKS NOT RECORDED: neither the store nor the fallback journal takes writes; visitors are still redirected"
                );
            }
            m.batch_size.observe(clicks.len() as f64);
            m.queue_depth.fetch_sub(clicks.len() as i64, Relaxed);
            vec![(); clicks.len()]
        });
        (ClickWriter { queue, metrics }, handle)
    }

    /// Queues a click and waits until its batch is committed.
    pub async fn submit(&self, click: Click) -> Result<(), SubmitError> {
        self.metrics.queue_depth.fetch_add(1, Relaxed);
        let out = self.queue.submit(click).await;
        if out.is_err() {
            self.metrics.queue_depth.fetch_sub(1, Relaxed);
        }
        out
    }

    pub async fn close(&self) {
        self.queue.close().await
    }
}

/// Why a postback write did not commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteError {
    /// Too many writes wait already; the client should retry.
    Full,
    /// The tracker is shutting down.
    Closed,
    /// The store did not take the batch.
    Store(String),
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteError::Full => f.write_str("too many postbacks are waiting to be stored"),
            WriteError::Closed => f.write_str("the tracker is shutting down"),
            WriteError::Store(e) => f.write_str(e),
        }
    }
}

/// Conversions and refusal log entries, decided in arrival order, one
/// transaction per batch. A store that is briefly away gets a few tries;
/// after that the caller hears `WriteError::Store` (and keeps the postback
/// in the fallback journal, or answers 503: not acknowledged, nothing lost).
#[derive(Clone)]
pub struct PostbackWriter {
    queue: GroupCommit<PostbackWrite, Result<Recorded, String>>,
}

impl PostbackWriter {
    pub fn spawn(
        store: Arc<dyn Store>,
        capacity: usize,
        batch_max: usize,
    ) -> (PostbackWriter, JoinHandle<()>) {
        let (queue, handle) = GroupCommit::spawn(capacity, batch_max, move |items| {
            let mut last = String::new();
            for attempt in 0..3u32 {
                match store.record_batch(items) {
                    Ok(results) => return results,
                    Err(e) => {
                        tracing::error!(error = %e, postbacks = items.len(), "postback batch not committed");
                        last = e.to_string();
                        std::thread::sleep(Duration::from_millis(50 << attempt));
                    }
                }
            }
            vec![Err(last); items.len()]
        });
        (PostbackWriter { queue }, handle)
    }

    /// Queues a write and waits for its commit.
    pub async fn write(&self, item: PostbackWrite) -> Result<Recorded, WriteError> {
        match self.queue.submit(item).await {
            Ok(out) => out.map_err(WriteError::Store),
            Err(SubmitError::Full) => Err(WriteError::Full),
            Err(SubmitError::Closed) => Err(WriteError::Closed),
        }
    }

    pub async fn close(&self) {
        self.queue.close().await
    }
}
