//! A small HTTP/1.1 load generator: closed loop (as fast as answers come,
//! like wrk) to find the maximum rate, and open loop at a fixed rate with
//! latency measured from each request's scheduled time, so a stalled server
//! cannot hide its queueing (coordinated omission corrected, like wrk2).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Makes the n-th request's path and headers.
pub type RequestFn = Arc<dyn Fn(u64) -> (String, &'static str) + Send + Sync>;

#[derive(Default)]
pub struct Outcome {
    pub latencies_us: Vec<u32>,
    pub statuses: Vec<(u16, u64)>,
    pub errors: u64,
    pub elapsed: Duration,
    /// A sample of `Location` headers (every 16th), for later phases.
    pub locations: Vec<String>,
    /// CPU time (user + system) the server used during the run, when known.
    pub server_cpu: Option<Duration>,
}

impl Outcome {
    pub fn requests(&self) -> u64 {
        self.latencies_us.len() as u64
    }

    pub fn rate(&self) -> f64 {
        self.requests() as f64 / self.elapsed.as_secs_f64()
    }

    pub fn percentile(&self, p: f64) -> f64 {
        let mut v = self.latencies_us.clone();
        v.sort_unstable();
        if v.is_empty() {
            return 0.0;
        }
        let i = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
        v[i] as f64 / 1000.0
    }

    /// Adds another run's figures to this one's, as one longer run.
    pub fn absorb(&mut self, other: Outcome) {
        self.latencies_us.extend(other.latencies_us);
        for (status, n) in other.statuses {
            match self.statuses.iter_mut().find(|(s, _)| *s == status) {
                Some((_, m)) => *m += n,
                None => self.statuses.push((status, n)),
            }
        }
        self.errors += other.errors;
        self.elapsed += other.elapsed;
        self.locations.extend(other.locations);
        self.server_cpu = match (self.server_cpu, other.server_cpu) {
            (Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
    }

    pub fn count(&self, status: u16) -> u64 {
        self.statuses
            .iter()
            .find(|(s, _)| *s == status)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    }
}

/// Runs `connections` connections for `duration`, spread over `addrs` in
/// turn (several nodes behind one imagined balancer); `rate` (requests per
/// second over all connections) makes it open loop: request k is due at
/// `start + k / rate`, and goes out at that time on the first connection
/// that is free (visitors do not queue behind each other's connections);
/// its latency counts from when it was due, so a server that stalls cannot
/// hide the requests that waited.
pub async fn run(
    addrs: &[SocketAddr],
    connections: usize,
    duration: Duration,
    rate: Option<f64>,
    make: RequestFn,
) -> Outcome {
    // the sleep starts when first polled, once every connection is open
    let done = async move { tokio::time::sleep(duration).await };
    run_until(addrs, connections, rate, make, done).await
}

/// As `run`, until `done` completes rather than for a set time.
pub async fn run_until(
    addrs: &[SocketAddr],
    connections: usize,
    rate: Option<f64>,
    make: RequestFn,
    done: impl std::future::Future<Output = ()>,
) -> Outcome {
    let stop = Arc::new(AtomicBool::new(false));
    let total = Arc::new(Mutex::new(Outcome::default()));
    let due = Arc::new(std::sync::atomic::AtomicU64::new(0));
    // the clock starts once every connection is open, so connecting is not
    // counted as latency
    let ready = Arc::new(tokio::sync::Barrier::new(connections + 1));
    let start = Arc::new(std::sync::OnceLock::<Instant>::new());
    let mut tasks = Vec::new();
    for c in 0..connections {
        let addr = addrs[c % addrs.len()];
        let (stop, total, make, due) = (stop.clone(), total.clone(), make.clone(), due.clone());
        let (ready, start) = (ready.clone(), start.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Outcome::default();
            let mut statuses: std::collections::BTreeMap<u16, u64> = Default::default();
            let connected = match TcpStream::connect(addr).await {
                Ok(stream) => {
                    let _ = stream.set_nodelay(true);
                    hyper::client::conn::http1::handshake(TokioIo::new(stream))
                        .await
                        .ok()
                }
                Err(_) => None,
            };
            ready.wait().await;
            let Some((mut sender, conn)) = connected else {
                total.lock().unwrap().errors += 1;
                return;
            };
            tokio::spawn(conn);
            let started = *start.get_or_init(Instant::now);
            let period = rate.map(|r| Duration::from_secs_f64(1.0 / r));
            let mut n = c as u64;
            while !stop.load(Ordering::Relaxed) {
                let scheduled = match period {
                    Some(p) => {
                        let k = due.fetch_add(1, Ordering::Relaxed);
                        let at = started + p.mul_f64(k as f64);
                        tokio::time::sleep_until(at.into()).await;
                        n = k;
                        at
                    }
                    None => Instant::now(),
                };
                let (path, ua) = make(n);
                if period.is_none() {
                    n += connections as u64;
                }
                let req = Request::builder()
                    .uri(path)
                    .header("host", "bench")
                    .header("user-agent", ua)
                    .body(Empty::<Bytes>::new())
                    .expect("request");
                match sender.send_request(req).await {
                    Ok(resp) => {
                        let status = resp.status();
                        if status == StatusCode::FOUND && n.is_multiple_of(16) {
                            if let Some(l) =
                                resp.headers().get("location").and_then(|v| v.to_str().ok())
                            {
                                out.locations.push(l.to_string());
                            }
                        }
                        let _ = resp.into_body().collect().await;
                        *statuses.entry(status.as_u16()).or_default() += 1;
                        out.latencies_us
                            .push(scheduled.elapsed().as_micros().min(u32::MAX as u128) as u32);
                    }
                    Err(_) => {
                        out.errors += 1;
                        break;
                    }
                }
            }
            let mut t = total.lock().unwrap();
            t.latencies_us.extend(out.latencies_us);
            t.locations.extend(out.locations);
            t.errors += out.errors;
            for (s, k) in statuses {
                match t.statuses.iter_mut().find(|(x, _)| *x == s) {
                    Some(e) => e.1 += k,
                    None => t.statuses.push((s, k)),
                }
            }
        }));
    }
    ready.wait().await;
    let started = *start.get_or_init(Instant::now);
    done.await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    let mut out = std::mem::take(&mut *total.lock().unwrap());
    out.elapsed = started.elapsed();
    out
}
