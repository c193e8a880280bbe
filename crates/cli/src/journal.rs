//! `clickledger journal inspect|replay`: the operator's view of a node's
//! fallback journal, and a way to empty one whose node will not serve
//! again.

use std::path::PathBuf;

use clap::Subcommand;
use clickledger_domain::time::rfc3339_ms;

use crate::ServeArgs;

#[derive(Subcommand)]
pub enum Action {
    /// What waits in a journal directory, segment by segment (read only:
    /// the server owning it may be running).
    Inspect {
        /// The journal directory (serve's --journal; by default
        /// <db>.journal beside a SQLite file).
        dir: PathBuf,
    },
    /// Replays the journal into the store with serve's flags (--db,
    /// --journal, --master-key ...), then exits: 0 when it is empty. The
    /// node that owns the journal must be stopped (it replays by itself
    /// when the store is back).
    Replay(Box<ServeArgs>),
}

pub async fn run(action: Action) -> Result<(), String> {
    match action {
        Action::Inspect { dir } => inspect(&dir),
        Action::Replay(args) => replay(*args).await,
    }
}

fn inspect(dir: &std::path::Path) -> Result<(), String> {
    if !dir.is_dir() {
        return Err(format!("{}: no journal directory there", dir.display()));
    }
    let (cursor, segments) =
        clickledger_server::journal::inspect(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    println!(
        "journal {}  (replayed up to segment {} byte {})",
        dir.display(),
        cursor.segment,
        cursor.offset
    );
    let time = |t: Option<i64>| t.map_or("-".to_string(), rfc3339_ms);
    let (mut clicks, mut postbacks, mut logs, mut damaged) = (0, 0, 0, 0);
    for s in &segments {
        println!(
            "  seg {:>8}  {:>10} bytes  waiting: {} clicks, {} postbacks, {} log entries  replayed: {}  {} .. {}{}{}",
            s.segment,
            s.bytes,
            s.clicks,
            s.postbacks,
            s.logs,
            s.replayed,
            time(s.first_ms),
            time(s.last_ms),
            s.damaged
                .as_ref()
                .map(|d| format!("  DAMAGED: {d}"))
                .unwrap_or_default(),
            if s.unreadable > 0 {
                format!("  {} records not understood", s.unreadable)
            } else {
                String::new()
            }
        );
        clicks += s.clicks;
        postbacks += s.postbacks;
        logs += s.logs;
        damaged += u64::from(s.damaged.is_some()) + s.unreadable;
    }
    println!(
        "waiting in all: {clicks} clicks, {postbacks} postbacks, {logs} log entries{}",
        if damaged > 0 {
            format!("; {damaged} damaged or unreadable places")
        } else {
            String::new()
        }
    );
    Ok(())
}

async fn replay(mut a: ServeArgs) -> Result<(), String> {
    crate::init_logs(a.log_format);
    if a.journal.is_none() && clickledger_store::is_postgres_url(&a.db) {
        return Err("--journal DIR: which journal to replay".into());
    }
    a.demo = false;
    let (store, settings, _, _) = crate::prepare(&a).await?;
    let dir = settings
        .journal
        .clone()
        .ok_or("--journal none: nothing to replay")?;
    // its own loopback port: nothing is served to anyone else meanwhile
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let running = clickledger_server::start(store, settings, listener).await?;
    let fallback = running
        .state
        .fallback
        .clone()
        .ok_or("the journal did not open")?;
    let before = fallback.journal.status();
    let outcome =
        clickledger_server::journal::replay::drain(&running.state, &fallback.journal).await;
    let after = fallback.journal.status();
    running.shutdown().await;
    let d = outcome.map_err(|e| {
        format!(
            "{}: replay stopped with {} records left: {e}",
            dir.display(),
            after.depth
        )
    })?;
    println!(
        "replayed {} clicks, {} postbacks, {} log entries of {} records; {} left",
        d.clicks, d.postbacks, d.logs, before.depth, after.depth
    );
    if d.done {
        Ok(())
    } else {
        Err(format!("{} records are still in the journal", after.depth))
    }
}
