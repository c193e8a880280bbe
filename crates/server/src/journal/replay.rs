//! Replaying the fallback journal into the store once it takes writes.
//!
//! A step reads up to 2,048 records. Its clicks are inserted first, as one
//! batch: a click only makes itself known, and no record names a click
//! received after it (a visitor gets the click id once the click is kept).
//! A click already stored (a batch whose commit was not acknowledged, or a
//! replay cut short by a crash) is left out, so none counts twice. Then,
//! in the order received, refused postbacks' log entries are written and
//! postbacks go through the whole postback path again as of the moment they
//! were received (the same validation, dedup by txid, the log entry marked
//! `replayed`), in waves of postbacks for distinct clicks. The cursor moves
//! only past what is committed, so a crash during replay replays the rest,
//! and at most one step again: the clicks are left out as stored, the
//! postbacks are duplicates of themselves.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use clickledger_store::{Click, PostbackWrite, Scope};

use super::{Cursor, Entry, Journal, QueuedPostback};
use crate::AppState;

/// Records read per step.
const STEP: usize = 2048;

/// What one drain did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Drained {
    pub clicks: u64,
    pub postbacks: u64,
    pub logs: u64,
    /// Whether the journal is empty and writes go to the store again.
    pub done: bool,
}

/// Probes the store every `every` while the journal holds records (or the
/// store was found away) and replays when it takes writes.
pub async fn run(
    app: Weak<AppState>,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => break,
        }
        let Some(app) = app.upgrade() else { break };
        let Some(fallback) = app.fallback.clone() else {
            break;
        };
        let journal = &fallback.journal;
        if journal.store_up() && journal.status().depth == 0 {
            continue;
        }
        let started = Instant::now();
        match drain(&app, journal).await {
            Ok(d) if d.clicks + d.postbacks + d.logs > 0 || d.done => tracing::info!(
                clicks = d.clicks,
                postbacks = d.postbacks,
                logs = d.logs,
                done = d.done,
                seconds = started.elapsed().as_secs_f64(),
                "fallback journal replayed into the store"
            ),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, depth = journal.status().depth, "fallback journal not replayed yet")
            }
        }
    }
}

/// Replays everything the journal holds, if the store takes writes.
pub async fn drain(app: &AppState, journal: &Arc<Journal>) -> Result<Drained, String> {
    // one probe first: a store still away costs a check, not a failed batch
    match tokio::time::timeout(Duration::from_secs(5), app.store.check_writable()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(e.to_string()),
        Err(_) => return Err("the store did not answer within 5 s".into()),
    }
    let mut done = Drained::default();
    loop {
        let j = journal.clone();
        let batch = tokio::task::spawn_blocking(move || j.next_batch(STEP))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("the fallback journal cannot be read: {e}"))?;
        if batch.is_empty() {
            done.done = journal.finish_if_drained().map_err(|e| e.to_string())?;
            return Ok(done);
        }
        // 1. every click of the batch in one insert: a click only makes
        //    itself known, and no record names a click received after it
        let clicks: Vec<Click> = batch
            .iter()
            .filter_map(|(_, e)| match e {
                Entry::Click(c) => Some(c.clone()),
                _ => None,
            })
            .collect();
        if !clicks.is_empty() {
            done.clicks += clicks.len() as u64;
            insert_once(app, clicks).await?;
        }
        // 2. the rest in the order received: runs of log entries, and
        //    runs of postbacks decided in waves
        let rest: Vec<usize> = (0..batch.len())
            .filter(|i| !matches!(batch[*i].1, Entry::Click(_)))
            .collect();
        let mut k = 0;
        while k < rest.len() {
            let kind = batch[rest[k]].1.kind();
            let end = rest[k..]
                .iter()
                .position(|i| batch[*i].1.kind() != kind)
                .map_or(rest.len(), |n| k + n);
            if kind == "log" {
                let logs: Vec<PostbackWrite> = rest[k..end]
                    .iter()
                    .filter_map(|i| match &batch[*i].1 {
                        Entry::Log(l) => Some(PostbackWrite::Log(Box::new(l.clone()))),
                        _ => None,
                    })
                    .collect();
                let store = app.store.clone();
                let written = tokio::task::spawn_blocking(move || store.record_batch(&logs))
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| r.map_err(|e| e.to_string()))
                    .and_then(|results| {
                        results.into_iter().find(Result::is_err).unwrap_or(Ok(None))
                    });
                if let Err(e) = written {
                    commit_before(journal, &batch, rest[k])?;
                    return Err(e);
                }
                done.logs += (end - k) as u64;
            } else {
                let queued: Vec<&QueuedPostback> = rest[k..end]
                    .iter()
                    .filter_map(|i| match &batch[*i].1 {
                        Entry::Postback(p) => Some(p),
                        _ => None,
                    })
                    .collect();
                let decided = replay_postbacks(app, &queued).await;
                done.postbacks += decided as u64;
                if decided < queued.len() {
                    // the one the store refused, and all after it, wait
                    // for the next try
                    commit_before(journal, &batch, rest[k + decided])?;
                    return Err("the store failed during replay".into());
                }
            }
            k = end;
        }
        commit(journal, batch[batch.len() - 1].0, &batch)?;
    }
}

/// Commits everything before `batch[i]`.
fn commit_before(journal: &Journal, batch: &[(Cursor, Entry)], i: usize) -> Result<(), String> {
    match i {
        0 => Ok(()),
        i => commit(journal, batch[i - 1].0, &batch[..i]),
    }
}

fn commit(journal: &Journal, cursor: Cursor, run: &[(Cursor, Entry)]) -> Result<(), String> {
    let entries: Vec<&Entry> = run.iter().map(|(_, e)| e).collect();
    journal
        .committed(cursor, &entries)
        .map_err(|e| format!("the journal cursor cannot be written: {e}"))
}

/// Most postbacks decided together in a replay.
const WAVE: usize = 64;

/// Decides a run of queued postbacks in journal order and answers how many
/// of the first were decided (all, unless the store failed on one). A wave
/// is a stretch of postbacks for distinct clicks, decided concurrently
/// (their writes share group commits); a postback for a click already in
/// the wave, or one whose click cannot be told, starts the next wave, so
/// the postbacks of one click are decided in the order received.
async fn replay_postbacks(app: &AppState, queued: &[&QueuedPostback]) -> usize {
    let inbound: Vec<_> = queued.iter().map(|p| (*p).clone().into_inbound()).collect();
    let keys: Vec<Option<String>> = inbound
        .iter()
        .map(|i| crate::postback::order_key(app, i))
        .collect();
    let mut inbound = inbound.into_iter();
    let mut at = 0;
    while at < keys.len() {
        let mut seen = std::collections::HashSet::new();
        let mut end = at;
        while end < keys.len() && end - at < WAVE {
            match &keys[end] {
                Some(k) if seen.insert(k.as_str()) => end += 1,
                // an unknown click closes the wave, but never an empty one
                _ if end == at => {
                    end += 1;
                    break;
                }
                _ => break,
            }
        }
        let wave: Vec<_> = inbound.by_ref().take(end - at).collect();
        let answers = futures_join_all(
            wave.into_iter()
                .map(|i| async move { crate::postback::process(app, i).await.status }),
        )
        .await;
        // a replayed postback the store could not take (away again, or its
        // writer full) stays in the journal for the next try, and so does
        // everything after it
        if let Some(first) = answers
            .iter()
            .position(|st| *st == StatusCode::SERVICE_UNAVAILABLE)
        {
            return at + first;
        }
        at = end;
    }
    keys.len()
}

/// Runs the futures concurrently on this task and answers their outputs
/// in order.
async fn futures_join_all<F: std::future::Future>(futs: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut set: Vec<std::pin::Pin<Box<F>>> = futs.map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, o) in set.iter_mut().zip(out.iter_mut()) {
            if o.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *o = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter()
        .map(|o| o.expect("every future finished"))
        .collect()
}

/// Inserts the clicks; when the batch fails because some are stored
/// already, inserts only the others.
async fn insert_once(app: &AppState, clicks: Vec<Click>) -> Result<(), String> {
    let store = app.store.clone();
    let (clicks, first) = tokio::task::spawn_blocking(move || {
        let out = store.insert_clicks(&clicks);
        (clicks, out)
    })
    .await
    .map_err(|e| e.to_string())?;
    let Err(first) = first else { return Ok(()) };
    let mut missing = Vec::with_capacity(clicks.len());
    for c in clicks.iter() {
        match app.store.click(c.id, &Scope::All).await {
            Ok(Some(_)) => {}
            Ok(None) => missing.push(c.clone()),
            Err(e) => return Err(e.to_string()),
        }
    }
    if missing.len() == clicks.len() {
        return Err(first.to_string());
    }
    if missing.is_empty() {
        return Ok(());
    }
    let store = app.store.clone();
    tokio::task::spawn_blocking(move || store.insert_clicks(&missing))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}
