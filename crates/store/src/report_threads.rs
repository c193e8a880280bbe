//! Reports run on threads of their own, at a lower CPU priority than the
//! click path: SQLite's report reads (`SqliteStore`), and on every
//! backend the merge of a report's rows (`clickledger_server::report`).
//!
//! A report's reads take every core for as long as they run (each is cut
//! into a part per core). Beside 32 clicking connections on 2 cores, back
//! to back reports left the clicks about 2,000 redirects a second; the
//! folds were not the cost (docs/BENCHMARKS.md). A redirect waits for its
//! batch's commit, so the click writer and the HTTP workers must not queue
//! behind a report. These threads are `nice` 10: Linux then gives them
//! about a tenth of a busy core's time beside a thread at the default, and
//! all of an idle one, so a report alone is as fast as before.
//!
//! Only these threads are lowered, once, when they start: a thread of
//! tokio's blocking pool also runs the writer's folds and could not be
//! raised again without privileges.

use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() + Send>;

/// How much lower than the default these threads run (`nice` values
/// go from -20 to 19; 0 is the default).
const NICENESS: i32 = 10;

pub struct ReportThreads {
    jobs: Sender<Job>,
}

impl ReportThreads {
    /// `threads` threads named `{name}-{n}`, each taking the next job as
    /// it is free.
    pub fn start(name: &str, threads: usize) -> std::io::Result<ReportThreads> {
        let (tx, rx) = channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for n in 0..threads.max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("{name}-{n}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        match job {
                            // a job that panics loses its answer (the
                            // caller gets an error), not the thread
                            Ok(job) => {
                                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                            }
                            // the store is gone
                            Err(_) => return,
                        }
                    }
                })?;
        }
        Ok(ReportThreads { jobs: tx })
    }

    /// `per_core` threads for each core this process may use.
    pub fn per_core(name: &str, per_core: usize) -> std::io::Result<ReportThreads> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        ReportThreads::start(name, per_core * cores)
    }

    /// Runs `f` on one of the threads; its answer comes back through the
    /// future (none if `f` panicked).
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            // a report dropped meanwhile (its client gone, or another read
            // failed) needs no answer: the queue only holds live reads
            if !tx.is_closed() {
                let _ = tx.send(f());
            }
        });
        self.jobs.send(job).ok()?;
        rx.await.ok()
    }
}

/// Lowers the calling thread's CPU priority (Linux: `setpriority` on a
/// thread id applies to that thread alone). Where it fails, the reads
/// run at the default priority, as they did before.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: a plain system call on this thread's own id
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, thread_id(), NICENESS) } != 0 {
        tracing::debug!("report threads keep the default CPU priority");
    }
}

/// The calling thread's id (`setpriority` and `getpriority` take it).
#[cfg(target_os = "linux")]
fn thread_id() -> libc::id_t {
    // SAFETY: gettid takes nothing and cannot fail
    unsafe { libc::syscall(libc::SYS_gettid) as libc::id_t }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The thread's own niceness, as Linux reports it.
    #[cfg(target_os = "linux")]
    fn niceness() -> i32 {
        // SAFETY: a plain system call on this thread's own id
        unsafe { libc::getpriority(libc::PRIO_PROCESS, thread_id()) }
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn jobs_answer_from_threads_behind_the_callers_priority() {
        let threads = ReportThreads::start("report-read", 2).unwrap();
        let caller = niceness();
        let answers: Vec<(i32, String)> = futures_util::future::join_all((0..4).map(|_| {
            threads.run(|| {
                let name = std::thread::current().name().unwrap_or("").to_string();
                (niceness(), name)
            })
        }))
        .await
        .into_iter()
        .map(Option::unwrap)
        .collect();
        assert_eq!(answers.len(), 4);
        for (nice, name) in &answers {
            assert!(name.starts_with("report-read-"), "{name}");
            // lowered to 10 (or kept where the process already runs lower)
            assert!(*nice >= NICENESS.max(caller), "{nice}");
        }
        // the caller's own thread is untouched
        assert_eq!(niceness(), caller);
    }

    #[tokio::test]
    async fn a_job_that_panics_answers_nothing_and_its_thread_goes_on() {
        let threads = ReportThreads::start("report-read", 1).unwrap();
        let lost = threads.run(|| -> i32 { panic!("a read that panics") });
        assert_eq!(lost.await, None);
        assert_eq!(threads.run(|| 7).await, Some(7));
    }
}
