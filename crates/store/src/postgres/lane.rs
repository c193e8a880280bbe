//! A batch writer's own connection, on a thread of its own. The click and
//! postback writers hand each batch to their lane and wait for its answer:
//! a batch never waits for the pool, nor for the server's async tasks, and
//! the lane keeps one connection (and a small runtime to drive it) for as
//! long as the store lives, reconnecting after a failure.
//!
//! A lane's connection keeps its statements prepared (`prepared`): a
//! postback batch runs some fifty statements, 39 of them upserts of 24
//! columns, and parsing and planning each anew cost PostgreSQL about as
//! much as running it.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::mpsc;

use tokio_postgres::{Client, Config, GenericClient, NoTls, Statement};

use super::sql::pg_error;
use crate::{StoreError, StoreResult};

type Job = Box<dyn FnOnce(&tokio::runtime::Runtime, StoreResult<&mut Client>) + Send>;

#[derive(Clone)]
pub struct Lane {
    jobs: mpsc::Sender<Job>,
}

impl Lane {
    /// Starts the lane's thread; it ends when the lane is dropped.
    pub fn start(name: &str, pg: Config) -> StoreResult<Lane> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        std::thread::Builder::new()
            .name(format!("pg-{name}"))
            .spawn(move || {
                let mut client: Option<Client> = None;
                IN_LANE.set(true);
                while let Ok(job) = queue.recv() {
                    if client.as_ref().is_none_or(Client::is_closed) {
                        client = None;
                        // prepared on the connection that closed
                        STATEMENTS.with_borrow_mut(HashMap::clear);
                        match runtime.block_on(connect(&pg)) {
                            Ok(c) => client = Some(c),
                            Err(e) => {
                                job(&runtime, Err(e));
                                continue;
                            }
                        }
                    }
                    job(&runtime, Ok(client.as_mut().expect("connected")));
                }
            })
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(Lane { jobs })
    }

    /// Runs `work` on the lane's connection and waits for its answer.
    pub fn run<T: Send + 'static>(
        &self,
        work: impl AsyncFnOnce(&mut Client) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let (answer, answered) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |runtime, client| {
            let out = match client {
                Ok(c) => runtime.block_on(work(c)),
                Err(e) => Err(e),
            };
            let _ = answer.send(out);
        });
        let gone = || StoreError::Unavailable("the PostgreSQL writer thread stopped".into());
        self.jobs.send(job).map_err(|_| gone())?;
        answered.recv().map_err(|_| gone())?
    }
}

async fn connect(pg: &Config) -> StoreResult<Client> {
    let (client, connection) = pg.connect(NoTls).await.map_err(pg_error)?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "PostgreSQL writer connection closed");
        }
    });
    Ok(client)
}

thread_local! {
    /// Set on a lane's thread, which has one connection at a time.
    static IN_LANE: Cell<bool> = const { Cell::new(false) };
    /// The lane connection's prepared statements, by their SQL.
    static STATEMENTS: RefCell<HashMap<String, Statement>> = RefCell::new(HashMap::new());
}

/// At most this many statements are kept prepared per lane (a statement
/// whose SQL varies with its values would otherwise grow the cache).
const KEPT: usize = 512;

/// `sql` prepared on `c`: on a lane's thread (where `c` is, or runs a
/// transaction on, the lane's connection) prepared once per connection;
/// elsewhere (a pooled connection) each time, as `execute` with the text
/// would.
pub async fn prepared(
    c: &impl GenericClient,
    sql: &str,
) -> Result<Statement, tokio_postgres::Error> {
    if !IN_LANE.get() {
        return c.prepare(sql).await;
    }
    if let Some(st) = STATEMENTS.with_borrow(|m| m.get(sql).cloned()) {
        return Ok(st);
    }
    let st = c.prepare(sql).await?;
    STATEMENTS.with_borrow_mut(|m| {
        if m.len() >= KEPT {
            m.clear();
        }
        m.insert(sql.to_string(), st.clone());
    });
    Ok(st)
}
