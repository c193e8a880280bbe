//! A batch writer's own connection, on a thread of its own. The click and
//! postback writers hand each batch to their lane and wait for its answer:
//! a batch never waits for the pool, nor for the server's async tasks, and
//! the lane keeps one connection (and a small runtime to drive it) for as
//! long as the store lives, reconnecting after a failure.

use std::sync::mpsc;

use tokio_postgres::{Client, Config, NoTls};

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
                while let Ok(job) = queue.recv() {
                    if client.as_ref().is_none_or(Client::is_closed) {
                        client = None;
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
