//! `clickledger-bench`: reproducible measurements of the tracker on this
//! machine. `all` runs everything and writes docs/BENCHMARKS.md; `--short`
//! runs a few seconds per endpoint (CI uses it so the harness never rots).

mod hostile;
mod load;
mod pg;
mod reports;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use serde_json::{json, Value};

#[derive(Parser)]
#[command(
    name = "clickledger-bench",
    about = "Clickledger benchmarks on loopback"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Everything: HTTP endpoints against the baseline, then reports.
    All {
        #[arg(long)]
        short: bool,
        /// Where to write the table (default docs/BENCHMARKS.md; none in short mode).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Redirects, postbacks and the bare-302 baseline.
    Http {
        #[arg(long)]
        short: bool,
        /// Only the tracker's closed-loop redirects and postbacks (no
        /// baseline, no open loop): a quick before/after while optimizing.
        #[arg(long)]
        quick: bool,
        /// Start the tracker with `--redis URL` (shared rate limits and
        /// unique clicks, as several nodes run), under a key prefix of its
        /// own that is deleted afterwards.
        #[arg(long)]
        redis: Option<String>,
        /// Run the tracker on PostgreSQL instead: a database of its own on
        /// this server (e.g. postgres://root@127.0.0.1:5432), created for
        /// the run and dropped after it. Redirects, postbacks and the
        /// half-load open loop; no baseline.
        #[arg(long, value_name = "SERVER_URL")]
        pg: Option<String>,
        /// With --pg: how many nodes share the database.
        #[arg(long, default_value_t = 1, requires = "pg")]
        nodes: usize,
    },
    /// Load clicks and conversions into a fresh SQLite file (or PostgreSQL
    /// database) and time every report shape through the API.
    Reports(reports::Options),
    /// Peak RSS under click load at 32 and 256 connections, and memory
    /// per connection.
    Memory {
        #[arg(long)]
        short: bool,
    },
    /// Slowloris, silent connections, oversized bodies and URLs, deep JSON
    /// and garbage beside ordinary clicks; RSS sampled every second.
    Hostile {
        #[arg(long, default_value_t = 60)]
        seconds: u64,
    },
    /// Internal: the baseline server, a bare 302 on the same HTTP stack.
    Baseline {
        #[arg(long)]
        listen: SocketAddr,
        /// The durable baseline: before each 302, the request line is
        /// appended to this file and fdatasync'd, through the tracker's own
        /// group commit. The ceiling for any redirect that waits for disk.
        #[arg(long)]
        durable: Option<PathBuf>,
    },
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed when dropped: a run that panics (a server that
/// did not start) leaves no server behind.
struct Spawned(Child);

impl std::ops::Deref for Spawned {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sibling(name: &str) -> PathBuf {
    std::env::current_exe().expect("exe").with_file_name(name)
}

async fn wait_up(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "server on {port} did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Bytes the click data takes in a checkpointed SQLite file: the clicks
/// table, the user agents it refers to, and every click rollup (pages, with
/// their free space), from SQLite's `dbstat`.
pub fn click_bytes(db: &Path) -> u64 {
    let c = rusqlite::Connection::open(db).expect("open the benchmark file");
    c.query_row(
        "SELECT COALESCE(SUM(pgsize), 0) FROM dbstat
         WHERE name IN ('clicks', 'user_agents') OR name LIKE 'rollup_%'
            OR name IN (SELECT name FROM sqlite_master WHERE tbl_name IN ('clicks', 'user_agents') AND type = 'index')",
        [],
        |r| r.get::<_, i64>(0),
    )
    .expect("dbstat") as u64
}

/// Bytes per table (indexes under their own names), largest first.
pub fn table_bytes(db: &Path) -> Vec<(String, u64)> {
    let c = rusqlite::Connection::open(db).expect("open the benchmark file");
    let mut st = c
        .prepare("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC")
        .expect("dbstat");
    st.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)))
        .expect("dbstat")
        .map(|r| r.expect("dbstat row"))
        .collect()
}

/// CPU time (user + system) a process has used so far, from /proc.
fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // after the command name: state is field 3, utime and stime 14 and 15
    let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ, 100 on every Linux architecture this runs on
    Some(Duration::from_millis(ticks * 10))
}

/// CPU time the processes have used so far, together.
fn cpu_time_of(pids: &[u32]) -> Option<Duration> {
    pids.iter().map(|p| cpu_time(*p)).sum()
}

/// A load run that also records the CPU time the servers spent on it: CPU
/// per request is steadier than requests per second on a machine whose
/// speed drifts, and says where a ratio to the baseline comes from.
async fn run_on(
    servers: &[u32],
    addrs: &[SocketAddr],
    connections: usize,
    duration: Duration,
    rate: Option<f64>,
    make: load::RequestFn,
) -> load::Outcome {
    let before = cpu_time_of(servers);
    let mut out = load::run(addrs, connections, duration, rate, make).await;
    out.server_cpu = before
        .zip(cpu_time_of(servers))
        .map(|(b, a)| a.saturating_sub(b));
    out
}

/// Peak resident memory of a process, from /proc.
/// A second of warm-up, then the measured closed-loop run.
async fn warm_and_run(
    pid: u32,
    addr: SocketAddr,
    conns: usize,
    duration: Duration,
    requests: load::RequestFn,
) -> load::Outcome {
    load::run(
        &[addr],
        conns,
        Duration::from_secs(1),
        None,
        requests.clone(),
    )
    .await;
    run_on(&[pid], &[addr], conns, duration, None, requests).await
}

fn peak_rss_mb(pid: u32) -> Option<f64> {
    proc_status_mb(pid, "VmHWM:")
}

/// A memory line of /proc/<pid>/status (`VmHWM:`, `VmRSS:`), in MB.
fn proc_status_mb(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}

pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map(|kb| format!("{:.0} GiB", kb / 1024.0 / 1024.0))
        .unwrap_or_default();
    format!("{cores} cores ({cpu}), {mem} RAM, load generator on the same machine")
}

struct Row {
    name: String,
    out: load::Outcome,
    note: String,
}

/// The rows as a markdown table; with a baseline rate, each row's share
/// of it.
fn table(rows: &[Row], baseline_rate: Option<f64>) -> String {
    let mut t = match baseline_rate {
        Some(_) => String::from("| endpoint | requests/s | vs baseline | p50 ms | p99 ms | p99.9 ms | server CPU µs/request | notes |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n"),
        None => String::from("| endpoint | requests/s | p50 ms | p99 ms | p99.9 ms | server CPU µs/request | notes |\n| --- | ---: | ---: | ---: | ---: | ---: | --- |\n"),
    };
    for r in rows {
        let cpu = r
            .out
            .server_cpu
            .map(|c| {
                format!(
                    "{:.0}",
                    c.as_secs_f64() * 1e6 / r.out.requests().max(1) as f64
                )
            })
            .unwrap_or_default();
        let share = baseline_rate
            .map(|b| format!(" {:.0} % |", 100.0 * r.out.rate() / b))
            .unwrap_or_default();
        t.push_str(&format!(
            "| {} | {:.0} |{share} {:.2} | {:.2} | {:.2} | {cpu} | {} |\n",
            r.name,
            r.out.rate(),
            r.out.percentile(50.0),
            r.out.percentile(99.0),
            r.out.percentile(99.9),
            r.note
        ));
    }
    t
}

const UAS: [&str; 4] = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0; rv:121.0) Gecko/20100101 Firefox/121.0",
];

const KEY: &str = "bench-admin-key";
/// Connections an open-loop run may use: enough that a request due now
/// rarely waits for a connection still busy with an earlier one.
const OPEN_LOOP_CONNECTIONS: usize = 128;

async fn api(client: &reqwest::Client, base: &str, path: &str, body: Value) -> Value {
    call(client, reqwest::Method::POST, base, path, body).await
}

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    base: &str,
    path: &str,
    body: Value,
) -> Value {
    let r = client
        .request(method, format!("{base}{path}"))
        .bearer_auth(KEY)
        .json(&body)
        .send()
        .await
        .expect("api");
    let status = r.status();
    let v: Value = r.json().await.expect("json");
    assert!(status.is_success(), "{path}: {status} {v}");
    v
}

/// A counter from the tracker's `/metrics` (0 when absent).
async fn metric(client: &reqwest::Client, base: &str, name: &str) -> u64 {
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .map(|v| v as u64)
        .unwrap_or(0)
}

/// `clickledger serve` on `db` at `addr`, with the per-IP and per-advertiser
/// limits out of the way (every request of the generator comes from one
/// address) and its output discarded.
fn tracker_command(addr: SocketAddr, db: &str) -> Command {
    let mut cmd = Command::new(sibling("clickledger"));
    cmd.args(["serve", "--listen", &addr.to_string(), "--db", db])
        .args([
            "--postback-rate-ip",
            "10000000/s",
            "--postback-rate-advertiser",
            "10000000/s",
            "--click-rate-ip",
            "10000000/s",
        ])
        .env("CLICKLEDGER_ADMIN_KEY", KEY)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// A 20-rule flow, as a busy link might have: 19 rules that every bench
/// click is tested against and none matches (country, language, device
/// and sub1 prefix conditions), then one that takes everyone (a weekday in
/// a timezone) and splits 70/30 between an offer and a landing page.
fn twenty_rules(offer: &str) -> Value {
    let mut rules: Vec<Value> = (0..19)
        .map(|i| {
            json!({"name": format!("rule {i}"),
                   "if": {"sub1": [format!("x{i}*")], "device": ["mobile", "tablet"],
                          "language": ["de", "fr"], "country": ["BR", "MX", "AR"]},
                   "to": [{"offer_id": offer, "weight": 1}]})
        })
        .collect();
    rules.push(json!({"name": "everyone", "if": {"weekday": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "timezone": "Europe/Berlin"},
                      "to": [{"offer_id": offer, "weight": 70},
                             {"url": "https://landing.example/b?cid={click_id}&s1={sub1}", "weight": 30}]}));
    json!({"rules": rules, "default": [{"offer_id": offer, "weight": 1}]})
}

/// Puts `twenty_rules` on each of `links` (link k is on offer k % 10, as
/// `configure` made them).
async fn add_flows(client: &reqwest::Client, base: &str, links: &[String], offers: &[String]) {
    for (k, l) in links.iter().enumerate() {
        call(
            client,
            reqwest::Method::PUT,
            base,
            &format!("/api/v1/links/{l}/flow"),
            twenty_rules(&offers[k % offers.len()]),
        )
        .await;
    }
}

/// 1,000 links (10 offers x 100 affiliates) of one advertiser, through the
/// API at `base`: the advertiser's postback token, the link ids and the
/// offer ids (link k is on offer k % 10).
async fn configure(client: &reqwest::Client, base: &str) -> (String, Vec<String>, Vec<String>) {
    let adv = api(
        client,
        base,
        "/api/v1/advertisers",
        json!({"name": "Bench"}),
    )
    .await;
    let token = adv["postback_token"].as_str().unwrap().to_string();
    let mut offers = Vec::new();
    for i in 0..10 {
        let o = api(client, base, "/api/v1/offers", json!({"advertiser_id": adv["id"], "name": format!("Offer {i}"),
            "destination_url": "https://landing.example/lp?cid={click_id}&s1={sub1}&s2={sub2}&src={source}", "currency": "USD",
            "events": [{"name": "registration", "payout": {"type": "fixed", "amount": "2.00"}},
                       {"name": "deposit", "payout": {"type": "fixed", "amount": "10.00"}, "repeatable": true}]})).await;
        offers.push(o["id"].as_str().unwrap().to_string());
    }
    let mut links = Vec::new();
    for a in 0..100 {
        let aff = api(
            client,
            base,
            "/api/v1/affiliates",
            json!({"name": format!("Aff {a}")}),
        )
        .await;
        for o in &offers {
            let l = api(
                client,
                base,
                "/api/v1/links",
                json!({"offer_id": o, "affiliate_id": aff["id"]}),
            )
            .await;
            links.push(l["id"].as_str().unwrap().to_string());
        }
    }
    (token, links, offers)
}

/// Clicks spread over the links, sub ids and user agents.
fn click_requests(links: Vec<String>) -> load::RequestFn {
    // `CLICKLEDGER_BENCH_SUB1_PER_CLICK=1`: a sub1 of its own per click (a
    // partner passing its click id there), the rollups' worst case
    let per_click = std::env::var("CLICKLEDGER_BENCH_SUB1_PER_CLICK").is_ok_and(|v| v == "1");
    let campaigns = if per_click { u64::MAX } else { 50 };
    Arc::new(move |n: u64| {
        let link = &links[(n.wrapping_mul(2654435761) % links.len() as u64) as usize];
        (
            format!(
                "/c/{link}?sub1=camp{}&sub2=ad{}&source=src{}",
                n % campaigns,
                n % 200,
                n % 5
            ),
            UAS[(n % 4) as usize],
        )
    })
}

/// The click ids of the sampled redirects of a run.
fn click_ids(clicks: &load::Outcome) -> Vec<String> {
    clicks
        .locations
        .iter()
        .filter_map(|l| {
            l.split("cid=")
                .nth(1)
                .map(|r| r.split('&').next().unwrap_or("").to_string())
        })
        .collect()
}

/// Postbacks on those clicks: half new conversions (unique txids), half
/// resends of earlier ones.
fn postback_requests(ids: Vec<String>, token: String) -> load::RequestFn {
    Arc::new(move |n: u64| {
        // odd requests resend the previous txid on the same click
        let tx = if n.is_multiple_of(2) {
            n
        } else {
            n.saturating_sub(1)
        };
        let cid = &ids[(tx % ids.len() as u64) as usize];
        (
            format!("/postback?token={token}&click_id={cid}&event=deposit&txid=t{tx}&amount=25.00"),
            UAS[0],
        )
    })
}

/// "n × status, n other, n errors" for a row's notes.
fn answered(o: &load::Outcome, status: u16) -> String {
    format!(
        "{} × {status}, {} other, {} errors",
        o.count(status),
        o.requests() - o.count(status),
        o.errors
    )
}

/// The HTTP benchmarks; returns the markdown section.
async fn http(short: bool, quick: bool, redis: Option<&str>) -> String {
    let secs = if short { 2 } else { 10 };
    let duration = Duration::from_secs(secs);
    let dir = std::env::temp_dir().join(format!("clickledger-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("bench.db");
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let base = format!("http://{addr}");
    let redis_prefix = format!("clickledger-bench-{}", std::process::id());
    let mut tracker = tracker_command(addr, &db.to_string_lossy());
    tracker.env(
        "CLICKLEDGER_SQLITE_SYNC",
        std::env::var("CLICKLEDGER_SQLITE_SYNC").unwrap_or_default(),
    );
    if let Some(url) = redis {
        tracker.args(["--redis", url, "--redis-prefix", &redis_prefix]);
    }
    let mut tracker = Spawned(
        tracker
            .spawn()
            .expect("the release tracker binary (cargo build --release --workspace)"),
    );
    let bport = free_port();
    let baddr: SocketAddr = format!("127.0.0.1:{bport}").parse().unwrap();
    let baseline = Spawned(
        Command::new(std::env::current_exe().unwrap())
            .args(["baseline", "--listen", &baddr.to_string()])
            .spawn()
            .expect("baseline"),
    );
    let dport = free_port();
    let daddr: SocketAddr = format!("127.0.0.1:{dport}").parse().unwrap();
    let durable = Spawned(
        Command::new(std::env::current_exe().unwrap())
            .args(["baseline", "--listen", &daddr.to_string(), "--durable"])
            .arg(dir.join("durable-baseline.log"))
            .spawn()
            .expect("durable baseline"),
    );
    wait_up(port).await;
    wait_up(bport).await;
    wait_up(dport).await;

    let client = reqwest::Client::new();
    let (token, links, offers) = configure(&client, &base).await;
    let click_fn = click_requests(links.clone());
    let base_fn: load::RequestFn = Arc::new(|n: u64| (format!("/c/x?sub1={}", n % 50), UAS[0]));
    let conns: usize = std::env::var("CLICKLEDGER_BENCH_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32);

    // warm up both
    load::run(
        &[addr],
        conns,
        Duration::from_secs(1),
        None,
        click_fn.clone(),
    )
    .await;
    let (mut base_out, mut durable_out) = Default::default();
    if !quick {
        base_out = warm_and_run(baseline.id(), baddr, conns, duration, base_fn.clone()).await;
        durable_out = warm_and_run(durable.id(), daddr, conns, duration, base_fn.clone()).await;
    }
    let clicks = run_on(
        &[tracker.id()],
        &[addr],
        conns,
        duration,
        None,
        click_fn.clone(),
    )
    .await;
    let pb_fn = postback_requests(click_ids(&clicks), token);
    let postbacks = run_on(&[tracker.id()], &[addr], conns, duration, None, pb_fn).await;
    let pb_new = metric(
        &client,
        &base,
        "clickledger_postbacks_total{result=\"accepted\"",
    )
    .await;
    let pb_dup = metric(
        &client,
        &base,
        "clickledger_postbacks_total{result=\"duplicate\"",
    )
    .await;
    let half = clicks.rate() / 2.0;
    let (mut at_half, mut base_half) = Default::default();
    if !quick {
        at_half = run_on(
            &[tracker.id()],
            &[addr],
            OPEN_LOOP_CONNECTIONS,
            duration,
            Some(half),
            click_fn.clone(),
        )
        .await;
        base_half = run_on(
            &[baseline.id()],
            &[baddr],
            OPEN_LOOP_CONNECTIONS,
            duration,
            Some(base_out.rate() / 2.0),
            base_fn.clone(),
        )
        .await;
    }
    // Group commit shares each commit among the clicks waiting for it, and
    // a closed loop of n connections never has more than n waiting: the
    // same runs at higher concurrency, each against the baseline at the
    // same concurrency.
    let mut sweep = String::new();
    if !quick {
        let row = |n: usize, b: f64, d: f64, r: &load::Outcome| {
            format!(
                "| {n} | {b:.0} | {d:.0} | {:.0} | {:.0} % | {:.0} % | {:.2} | {:.2} |\n",
                r.rate(),
                100.0 * r.rate() / b,
                100.0 * r.rate() / d,
                r.percentile(50.0),
                r.percentile(99.0)
            )
        };
        sweep.push_str("\n| connections | baseline req/s | durable baseline req/s | durable redirects/s | vs baseline | vs durable baseline | redirect p50 ms | redirect p99 ms |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        sweep.push_str(&row(conns, base_out.rate(), durable_out.rate(), &clicks));
        for n in [128, 256] {
            let b = load::run(&[baddr], n, duration, None, base_fn.clone()).await;
            let d = load::run(&[daddr], n, duration, None, base_fn.clone()).await;
            let r = load::run(&[addr], n, duration, None, click_fn.clone()).await;
            sweep.push_str(&row(n, b.rate(), d.rate(), &r));
        }
    }

    // A 20-rule flow on half the links, the other half as the control, on
    // the same file, in the order control, flows, flows, control (runs
    // minutes apart differ by more than a flow costs; the file grows with
    // each run): each side is the sum of its two runs.
    let half = links.len() / 2;
    add_flows(&client, &base, &links[..half], &offers).await;
    let (without, with) = (
        click_requests(links[half..].to_vec()),
        click_requests(links[..half].to_vec()),
    );
    let mut control = warm_and_run(tracker.id(), addr, conns, duration, without.clone()).await;
    let mut flowed = warm_and_run(tracker.id(), addr, conns, duration, with.clone()).await;
    flowed.absorb(run_on(&[tracker.id()], &[addr], conns, duration, None, with).await);
    control.absorb(run_on(&[tracker.id()], &[addr], conns, duration, None, without).await);
    let flow_share = 100.0 * flowed.rate() / control.rate().max(1.0);

    let rss = peak_rss_mb(tracker.id()).unwrap_or(0.0);
    let committed = metric(
        &client,
        &base,
        "clickledger_clicks_total{result=\"redirected\"}",
    )
    .await as f64;
    let _ = Command::new("kill")
        .args(["-TERM", &tracker.id().to_string()])
        .status();
    let _ = tracker.0.wait();
    if let Some(url) = redis {
        forget_redis_keys(url, &redis_prefix);
    }
    drop((baseline, durable));
    // fold the WAL into the file, so what is measured is the data, not a
    // WAL sized by the last burst
    clickledger_store::SqliteStore::open(&db)
        .expect("reopen the benchmark file")
        .checkpoint()
        .await
        .expect("checkpoint");
    let bytes: u64 = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    let per_click = click_bytes(&db) as f64 / committed.max(1.0);
    let _ = std::fs::remove_dir_all(&dir);

    let ok = answered;
    let mut rows = vec![
        Row {
            name: "baseline: bare 302 (axum, closed loop)".into(),
            note: ok(&base_out, 302),
            out: base_out,
        },
        Row {
            name: "durable baseline: bare 302 once its request line is appended and fdatasync'd (same group commit)".into(),
            note: ok(&durable_out, 302),
            out: durable_out,
        },
        Row {
            name: "`/c/{link}` durable redirect (closed loop)".into(),
            note: ok(&clicks, 302),
            out: clicks,
        },
        Row {
            name: "`/c/{link}` control: 500 links without a flow (closed loop)".into(),
            note: ok(&control, 302),
            out: control,
        },
        Row {
            name: "`/c/{link}` the other 500 links, each with a 20-rule flow (closed loop)".into(),
            note: format!(
                "{}; {flow_share:.1} % of the control's redirects/s",
                ok(&flowed, 302)
            ),
            out: flowed,
        },
        Row {
            name: "`/postback` (token, half new / half duplicate txids)".into(),
            note: format!(
                "{}; {pb_new} accepted, {pb_dup} duplicate",
                ok(&postbacks, 200)
            ),
            out: postbacks,
        },
        Row {
            name: format!("`/c/{{link}}` open loop at 50 % of its max ({half:.0}/s)"),
            note: ok(&at_half, 302),
            out: at_half,
        },
        Row {
            name: "baseline open loop at 50 % of its max".into(),
            note: ok(&base_half, 302),
            out: base_half,
        },
    ];
    let baseline_rate = rows[0].out.rate();
    if quick {
        rows.retain(|r| r.out.requests() > 0);
    }
    let mode = match (short, redis) {
        (true, None) => "short mode (2 s per run)",
        (false, None) => "full run (10 s per run)",
        (true, Some(_)) => "short mode (2 s per run), with --redis",
        (false, Some(_)) => "full run (10 s per run), with --redis",
    };
    format!(
        "## HTTP on loopback — {mode}\n\n{} connections in closed loops, one generator thread. Open loops: requests due at a fixed rate go out on the first free of {OPEN_LOOP_CONNECTIONS} connections, latency counted from when each was due.\n\n{}{sweep}\n\
         - Peak RSS of the tracker: **{rss:.1} MB**\n- Disk: **{per_click:.0} bytes per click** ({committed:.0} clicks committed; clicks, user agents and rollups with their indexes, after a checkpoint; the whole file, postbacks included, is {:.1} MB)\n",
        conns,
        table(&rows, (!quick).then_some(baseline_rate)),
        bytes as f64 / 1e6
    )
}

/// Deletes the keys a run wrote under its prefix.
fn forget_redis_keys(url: &str, prefix: &str) {
    let mut conn = redis::Client::open(url)
        .and_then(|c| c.get_connection())
        .expect("the benchmark's Redis");
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query(&mut conn)
        .expect("KEYS");
    for chunk in keys.chunks(1000) {
        let _: () = redis::cmd("DEL").arg(chunk).query(&mut conn).expect("DEL");
    }
}

async fn baseline(listen: SocketAddr, durable: Option<PathBuf>) {
    use clickledger_server::writer::GroupCommit;
    use std::io::Write;
    let log = durable.map(|path| {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("the durable baseline's file");
        // the tracker's queue size and batch limit
        let tracker = clickledger_server::Settings::default();
        GroupCommit::spawn(
            tracker.queue_capacity,
            tracker.batch_max,
            move |lines: &mut Vec<String>| {
                for l in lines.iter() {
                    file.write_all(l.as_bytes()).expect("append");
                }
                file.sync_data().expect("fdatasync");
                vec![(); lines.len()]
            },
        )
        .0
    });
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| async move {
        if let Some(log) = &log {
            log.submit(format!("{uri}\n"))
                .await
                .expect("durable append");
        }
        axum::response::Response::builder()
            .status(302)
            .header("location", "https://landing.example/lp")
            .body(axum::body::Body::empty())
            .unwrap()
    });
    let listener = tokio::net::TcpListener::bind(listen).await.unwrap();
    axum::serve(listener, app).await.unwrap();
}

/// Writes the measured sections; in an existing document only the part
/// between the `generated` markers is replaced, so the analysis around it
/// stays.
fn write_doc(path: &Path, sections: &[String]) {
    const START: &str = "<!-- generated:start (clickledger-bench all rewrites this part) -->";
    const END: &str = "<!-- generated:end -->";
    let generated = format!("{START}\n{}\n{END}", sections.join("\n"));
    let doc = match std::fs::read_to_string(path) {
        Ok(old) if old.contains(START) && old.contains(END) => {
            let a = old.find(START).unwrap_or(0);
            let b = old.find(END).map(|i| i + END.len()).unwrap_or(old.len());
            format!("{}{generated}{}", &old[..a], &old[b..])
        }
        _ => format!(
            "# Benchmarks\n\nMeasured with `./target/release/clickledger-bench all`. Machine: {}.\n\n{generated}\n",
            machine()
        ),
    };
    std::fs::write(path, doc).expect("write the benchmark document");
    println!("wrote {}", path.display());
}

fn main() {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Baseline { listen, durable } => {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(baseline(listen, durable));
        }
        command => {
            // one generator thread, like wrk -t1
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                match command {
                    Cmd::Http {
                        short,
                        pg: Some(server),
                        nodes,
                        ..
                    } => println!("{}", pg::http(&server, nodes, short).await),
                    Cmd::Http {
                        short,
                        quick,
                        redis,
                        ..
                    } => println!("{}", http(short, quick, redis.as_deref()).await),
                    Cmd::Reports(opts) => println!("{}", reports::run(opts).await),
                    Cmd::Memory { short } => println!("{}", hostile::memory(short).await),
                    Cmd::Hostile { seconds } => {
                        println!("{}", hostile::hostile(seconds.max(2)).await)
                    }
                    Cmd::All { short, out } => {
                        let h = http(short, false, None).await;
                        println!("{h}");
                        let m = hostile::memory(short).await;
                        println!("{m}");
                        let (c, v) = if short {
                            (200_000, 4_000)
                        } else {
                            (10_000_000, 1_000_000)
                        };
                        let r = reports::run(reports::Options::fresh(c, v)).await;
                        println!("{r}");
                        let out =
                            out.or_else(|| (!short).then(|| PathBuf::from("docs/BENCHMARKS.md")));
                        if let Some(p) = out {
                            write_doc(&p, &[h, m, r]);
                        }
                    }
                    Cmd::Baseline { .. } => unreachable!(),
                }
            });
        }
    }
}
