//! Replaying the fallback journal into the store once it takes writes.
//!
//! In the order received: runs of clicks are inserted as one batch (a
//! click already stored — a batch whose commit was not acknowledged, or a
//! replay cut short by a crash — is left out, so none counts twice);
//! postbacks go through the whole postback path again as of the moment they
//! were received (the same validation, dedup by txid, the log entry marked
//! `replayed`); refused postbacks' log entries are written. The cursor moves
//! only past what is committed, so a crash during replay replays the rest,
//! and at most the last run again, without duplicates.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use clickledger_store::{Click, PostbackWrite, Scope};

use super::{Cursor, Entry, Journal};
use crate::AppState;

/// Records read per step.
const STEP: usize = 512;

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
        let mut i = 0;
        while i < batch.len() {
            // a run of records of one kind
            let kind = batch[i].1.kind();
            let end = batch[i..]
                .iter()
                .position(|(_, e)| e.kind() != kind)
                .map_or(batch.len(), |n| i + n);
            let run = &batch[i..end];
            match kind {
                "click" => {
                    let clicks: Vec<Click> = run
                        .iter()
                        .filter_map(|(_, e)| match e {
                            Entry::Click(c) => Some(c.clone()),
                            _ => None,
                        })
                        .collect();
                    insert_once(app, clicks).await?;
                    done.clicks += run.len() as u64;
                }
                "log" => {
                    let logs: Vec<PostbackWrite> = run
                        .iter()
                        .filter_map(|(_, e)| match e {
                            Entry::Log(l) => Some(PostbackWrite::Log(Box::new(l.clone()))),
                            _ => None,
                        })
                        .collect();
                    let store = app.store.clone();
                    let results = tokio::task::spawn_blocking(move || store.record_batch(&logs))
                        .await
                        .map_err(|e| e.to_string())?
                        .map_err(|e| e.to_string())?;
                    if let Some(Err(e)) = results.into_iter().find(Result::is_err) {
                        return Err(e);
                    }
                    done.logs += run.len() as u64;
                }
                _ => {
                    // one at a time, in order: a later status of a txid is
                    // decided after the earlier one
                    for (n, (_, e)) in run.iter().enumerate() {
                        let Entry::Postback(p) = e else { continue };
                        let answer = crate::postback::process(app, p.clone().into_inbound()).await;
                        if store_was_away(&answer.status) {
                            // what came before it in this run is committed
                            if n > 0 {
                                commit(journal, run[n - 1].0, &run[..n])?;
                            }
                            return Err(format!(
                                "the store failed during replay: {}",
                                answer.body["message"].as_str().unwrap_or("")
                            ));
                        }
                        done.postbacks += 1;
                    }
                }
            }
            commit(journal, run[run.len() - 1].0, run)?;
            i = end;
        }
    }
}

fn commit(journal: &Journal, cursor: Cursor, run: &[(Cursor, Entry)]) -> Result<(), String> {
    let entries: Vec<&Entry> = run.iter().map(|(_, e)| e).collect();
    journal
        .committed(cursor, &entries)
        .map_err(|e| format!("the journal cursor cannot be written: {e}"))
}

/// A replayed postback the store could not take (away again, or its
/// writer full): it stays in the journal for the next try.
fn store_was_away(status: &StatusCode) -> bool {
    *status == StatusCode::SERVICE_UNAVAILABLE
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
