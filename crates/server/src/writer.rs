//! The group-commit click writer.
//!
//! Handlers put a click on a bounded queue and wait; one thread takes
//! whatever has queued up (up to `batch_max`), commits it in one
//! transaction, and then answers every waiting handler. Under load, batches
//! grow and the cost of a commit is shared; at rest a batch is one click and
//! adds no delay. A full queue is refused at once (the handler answers 503),
//! never dropped. When the store fails, the batch is retried with backoff
//! until it commits: a click that was queued is never lost while the process
//! lives.
//!
//! The writer is a thread of its own that calls the store's blocking
//! `insert_clicks` directly: a click costs one hand-off to the writer and one
//! back, with no async task and no blocking-pool hop in between.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clickledger_store::{Click, PostbackWrite, Recorded, Store};
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::task::JoinHandle;

use crate::metrics::Metrics;

// Nearly every message is a click; boxing it would add an allocation per
// click for no gain.
#[allow(clippy::large_enum_variant)]
enum Msg {
    Click(Click, oneshot::Sender<()>),
    /// Stop taking clicks; commit what is queued, then end.
    Close,
}

#[derive(Clone)]
pub struct ClickWriter {
    tx: mpsc::Sender<Msg>,
    closed: Arc<AtomicBool>,
    metrics: Arc<Metrics>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum SubmitError {
    /// The queue is full; the caller should ask the client to retry.
    Full,
    /// The writer has stopped (shutdown).
    Closed,
}

impl ClickWriter {
    pub fn spawn(
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
        capacity: usize,
        batch_max: usize,
    ) -> (ClickWriter, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(capacity);
        let m = metrics.clone();
        // a long-lived blocking task: in effect the writer's own thread
        let handle = tokio::task::spawn_blocking(move || run(store, m, rx, batch_max));
        let closed = Arc::new(AtomicBool::new(false));
        (
            ClickWriter {
                tx,
                closed,
                metrics,
            },
            handle,
        )
    }

    /// Queues a click and waits until its batch is committed.
    pub async fn submit(&self, click: Click) -> Result<(), SubmitError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(SubmitError::Closed);
        }
        let (done, wait) = oneshot::channel();
        self.tx
            .try_send(Msg::Click(click, done))
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => SubmitError::Full,
                mpsc::error::TrySendError::Closed(_) => SubmitError::Closed,
            })?;
        self.metrics.queue_depth.fetch_add(1, Relaxed);
        wait.await.map_err(|_| SubmitError::Closed)
    }

    /// Stops taking clicks; everything already queued is still committed.
    pub async fn close(&self) {
        self.closed.store(true, Ordering::Release);
        let _ = self.tx.send(Msg::Close).await;
    }
}

fn run(
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    mut rx: mpsc::Receiver<Msg>,
    batch_max: usize,
) {
    let mut waiting: Vec<oneshot::Sender<()>> = Vec::with_capacity(batch_max);
    let mut clicks: Vec<Click> = Vec::with_capacity(batch_max);
    while let Some(first) = rx.blocking_recv() {
        for msg in take_batch(&mut rx, first, batch_max) {
            match msg {
                Msg::Click(click, done) => {
                    clicks.push(click);
                    waiting.push(done);
                }
                // a click sent after this is refused; recv still yields
                // what is queued, then None
                Msg::Close => rx.close(),
            }
        }
        if clicks.is_empty() {
            continue;
        }
        let mut backoff = Duration::from_millis(50);
        loop {
            let started = Instant::now();
            match store.insert_clicks(&clicks) {
                Ok(()) => {
                    metrics
                        .commit_seconds
                        .observe(started.elapsed().as_secs_f64());
                    break;
                }
                Err(e) => {
                    tracing::error!(error = %e, clicks = clicks.len(), "click batch not committed; retrying");
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
        metrics.batch_size.observe(clicks.len() as f64);
        metrics.queue_depth.fetch_sub(clicks.len() as i64, Relaxed);
        clicks.clear();
        for done in waiting.drain(..) {
            // The handler may have gone (client hung up); the click is stored anyway.
            let _ = done.send(());
        }
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

struct PostbackJob {
    item: PostbackWrite,
    done: oneshot::Sender<Result<Recorded, String>>,
}

/// Group commit for the postback path: conversions and refusal log entries
/// queue up and are written, decided in arrival order, one transaction per
/// batch. The caller answers only after its batch committed.
#[derive(Clone)]
pub struct PostbackWriter {
    tx: mpsc::Sender<PostbackJob>,
    stop: Arc<Notify>,
}

impl PostbackWriter {
    pub fn spawn(
        store: Arc<dyn Store>,
        capacity: usize,
        batch_max: usize,
    ) -> (PostbackWriter, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(capacity);
        let stop = Arc::new(Notify::new());
        let handle = tokio::spawn(run_postbacks(store, rx, batch_max, stop.clone()));
        (PostbackWriter { tx, stop }, handle)
    }

    /// Queues a write and waits for its commit.
    pub async fn write(&self, item: PostbackWrite) -> Result<Recorded, String> {
        let (done, wait) = oneshot::channel();
        self.tx
            .try_send(PostbackJob { item, done })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => {
                    "too many postbacks are waiting to be stored".to_string()
                }
                mpsc::error::TrySendError::Closed(_) => "the tracker is shutting down".to_string(),
            })?;
        wait.await.map_err(|_| "the writer stopped".to_string())?
    }

    pub fn close(&self) {
        self.stop.notify_one();
    }
}

async fn run_postbacks(
    store: Arc<dyn Store>,
    mut rx: mpsc::Receiver<PostbackJob>,
    batch_max: usize,
    stop: Arc<Notify>,
) {
    loop {
        let first = tokio::select! {
            job = rx.recv() => job,
            _ = stop.notified() => {
                rx.close();
                continue;
            }
        };
        let Some(first) = first else { break };
        let (items, waiting): (Vec<PostbackWrite>, Vec<_>) = take_batch(&mut rx, first, batch_max)
            .into_iter()
            .map(|j| (j.item, j.done))
            .unzip();
        // a store that is briefly away gets a few tries; after that the
        // postbacks are answered 503 (not acknowledged, so nothing is lost)
        let mut outcome = Err(String::new());
        for attempt in 0..4u32 {
            match store.record_batch(items.clone()).await {
                Ok(results) => {
                    outcome = Ok(results);
                    break;
                }
                Err(e) => {
                    tracing::error!(error = %e, postbacks = items.len(), "postback batch not committed");
                    outcome = Err(e.to_string());
                    tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
                }
            }
        }
        match outcome {
            Ok(results) => {
                for (done, r) in waiting.into_iter().zip(results) {
                    let _ = done.send(r);
                }
            }
            Err(e) => {
                for done in waiting {
                    let _ = done.send(Err(e.clone()));
                }
            }
        }
    }
}
