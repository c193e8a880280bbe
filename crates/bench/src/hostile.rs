//! Memory and hostile clients.
//!
//! `memory`: the tracker's resident memory under click load at 32 and at
//! 256 connections (a fresh tracker each), and what a connection costs.
//!
//! `hostile`: for a while, beside ordinary click traffic (and, first, the
//! same traffic alone as a control), clients that try
//! to exhaust the tracker — slowloris connections (a request head a byte at
//! a time), connections opened and left silent, 2 MiB bodies, URLs over
//! 64 KiB, postbacks of 5,000 fields, JSON nested 100,000 deep, bytes that
//! are not HTTP — with the tracker's RSS sampled every second. It prints
//! the RSS at the start of the mix, its peak and at the end, and every
//! answer the hostile clients got.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::{click_requests, configure, free_port, load, peak_rss_mb, tracker_command, wait_up};

/// A tracker of its own on a fresh file; killed when dropped.
struct Tracker {
    child: std::process::Child,
    addr: SocketAddr,
    dir: PathBuf,
}

impl Tracker {
    async fn start(tag: &str) -> Tracker {
        let dir =
            std::env::temp_dir().join(format!("clickledger-bench-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let child = tracker_command(addr, &dir.join("bench.db").to_string_lossy())
            .spawn()
            .expect("the release tracker binary (cargo build --release --workspace)");
        wait_up(addr.port()).await;
        Tracker { child, addr, dir }
    }

    fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn rss_mb(&self) -> f64 {
        crate::proc_status_mb(self.child.id(), "VmRSS:").unwrap_or(0.0)
    }

    fn peak_mb(&self) -> f64 {
        peak_rss_mb(self.child.id()).unwrap_or(0.0)
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A connection to `addr`, tried again every 100 ms until it is taken.
async fn connect(addr: SocketAddr) -> TcpStream {
    loop {
        match TcpStream::connect(addr).await {
            Ok(s) => return s,
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Peak RSS under click load at 32 and at 256 connections.
pub async fn memory(short: bool) -> String {
    let secs = if short { 2 } else { 10 };
    let mut rows = Vec::new();
    for conns in [32usize, 256] {
        let t = Tracker::start(&format!("mem{conns}")).await;
        let idle = t.rss_mb();
        let client = reqwest::Client::new();
        let (_, links, _) = configure(&client, &t.base()).await;
        let out = load::run(
            &[t.addr],
            conns,
            Duration::from_secs(secs),
            None,
            click_requests(links),
        )
        .await;
        rows.push((conns, idle, t.peak_mb(), out.rate()));
    }
    let per_conn_kb = (rows[1].2 - rows[0].2) * 1024.0 / (rows[1].0 - rows[0].0) as f64;
    let mut md = format!(
        "## Memory under click load ({secs} s per run, a fresh tracker each)\n\n| connections | RSS at rest MB | peak RSS MB | redirects/s |\n| ---: | ---: | ---: | ---: |\n"
    );
    for (conns, idle, peak, rate) in &rows {
        md.push_str(&format!(
            "| {conns} | {idle:.1} | {peak:.1} | {rate:.0} |\n"
        ));
    }
    md.push_str(&format!(
        "\n- Memory per connection (peak at 256 minus peak at 32, over 224 connections): **{per_conn_kb:.0} KB**\n"
    ));
    md
}

type Tally = Arc<Mutex<BTreeMap<String, u64>>>;

fn tally(t: &Tally, what: &str) {
    *t.lock().unwrap().entry(what.to_string()).or_insert(0) += 1;
}

/// Sends raw bytes on a new connection and reads the status line of the
/// answer, if one comes.
async fn raw(addr: SocketAddr, bytes: &[u8]) -> String {
    let Ok(mut s) = TcpStream::connect(addr).await else {
        return "connect failed".into();
    };
    if s.write_all(bytes).await.is_err() {
        return "closed while sending".into();
    }
    let mut buf = vec![0u8; 512];
    match tokio::time::timeout(Duration::from_secs(15), s.read(&mut buf)).await {
        Ok(Ok(n)) if n > 12 => String::from_utf8_lossy(&buf[9..12]).into_owned(),
        Ok(_) => "closed without an answer".into(),
        Err(_) => "no answer in 15 s".into(),
    }
}

/// The hostile mix for `secs` seconds, after a control run of the same
/// ordinary clicks alone (each on a fresh tracker): the difference between
/// the two RSS curves is what the hostile clients cost.
pub async fn hostile(secs: u64) -> String {
    let (control, _, _) = mix(secs, false).await;
    let (attacked, visitors, answers) = mix(secs, true).await;
    let line = |name: &str, samples: &[f64]| {
        let first = samples.first().copied().unwrap_or(0.0);
        let last = samples.last().copied().unwrap_or(0.0);
        let peak = samples.iter().copied().fold(0.0, f64::max);
        format!(
            "| {name} | {first:.1} | {peak:.1} | {last:.1} | {} |\n",
            samples
                .iter()
                .map(|s| format!("{s:.0}"))
                .collect::<Vec<_>>()
                .join(" ")
        )
    };
    let mut md = format!(
        "## A hostile mix ({secs} s)\n\n200 slowloris connections, 100 silent ones and 4 clients sending abusive requests, beside 16 connections of ordinary clicks; the control run has the clicks alone. RSS in MB, sampled every second, each run on a fresh tracker.\n\n| run | after 1 s | peak | end | every second |\n| --- | ---: | ---: | ---: | --- |\n{}{}\n- Ordinary clicks during the mix: {:.0}/s, {}\n\n| hostile request: what it got | times |\n| --- | ---: |\n",
        line("clicks alone", &control),
        line("clicks and the hostile mix", &attacked),
        visitors.rate(),
        crate::answered(&visitors, 302),
    );
    for (what, n) in answers.lock().unwrap().iter() {
        md.push_str(&format!("| {what} | {n} |\n"));
    }
    md
}

/// One run: ordinary clicks, with the hostile clients when `attack`; the
/// RSS samples, the clicks' outcome and what the hostile clients got.
async fn mix(secs: u64, attack: bool) -> (Vec<f64>, load::Outcome, Tally) {
    let t = Tracker::start(if attack { "hostile" } else { "control" }).await;
    let client = reqwest::Client::new();
    let (token, links, _) = configure(&client, &t.base()).await;
    let addr = t.addr;
    let stop = Arc::new(AtomicBool::new(false));
    let answers: Tally = Arc::default();
    let mut tasks = Vec::new();

    // ordinary visitors, all along
    let clicks = {
        let links = links.clone();
        tokio::spawn(async move {
            load::run(
                &[addr],
                16,
                Duration::from_secs(secs),
                None,
                click_requests(links),
            )
            .await
        })
    };
    // 200 slowloris connections, each replaced when the tracker drops it
    for _ in 0..if attack { 200 } else { 0 } {
        let (stop, answers) = (stop.clone(), answers.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Relaxed) {
                let mut s = connect(addr).await;
                let started = Instant::now();
                let _ = s
                    .write_all(b"GET /c/lnk HTTP/1.1\r\nHost: x\r\nX-a: ")
                    .await;
                loop {
                    if stop.load(Relaxed) {
                        return;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    if s.write_all(b"a").await.is_err() {
                        break;
                    }
                    // a write can still succeed just after the close: read
                    let mut b = [0u8; 1];
                    if let Ok(Ok(0)) =
                        tokio::time::timeout(Duration::from_millis(1), s.read(&mut b)).await
                    {
                        break;
                    }
                }
                tally(
                    &answers,
                    &format!("slowloris dropped after ~{} s", started.elapsed().as_secs()),
                );
            }
        }));
    }
    // 100 silent connections, reopened when dropped
    for _ in 0..if attack { 100 } else { 0 } {
        let (stop, answers) = (stop.clone(), answers.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Relaxed) {
                let mut s = connect(addr).await;
                let mut b = [0u8; 1];
                let dropped = tokio::time::timeout(Duration::from_secs(secs + 5), s.read(&mut b))
                    .await
                    .is_ok();
                if dropped && !stop.load(Relaxed) {
                    tally(&answers, "silent connection dropped");
                }
            }
        }));
    }
    // abusive requests, one after another on fresh connections
    let big_body = vec![b'a'; 2 << 20];
    let long_query = format!("sub1={}", "x".repeat(70_000));
    let many_fields: String = (0..5000).map(|i| format!("&f{i}=1")).collect();
    let deep_json = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let abuse: Vec<(&'static str, Vec<u8>)> = vec![
        (
            "2 MiB postback body",
            [format!("POST /postback/{token} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n", big_body.len()).into_bytes(), big_body.clone()].concat(),
        ),
        (
            "2 MiB API body",
            [format!("POST /api/v1/offers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", crate::KEY, big_body.len()).into_bytes(), big_body].concat(),
        ),
        (
            "70 KB URL",
            format!("GET /c/{}?{long_query} HTTP/1.1\r\nHost: x\r\n\r\n", links[0]).into_bytes(),
        ),
        (
            "5,000 postback fields",
            format!("GET /postback?token={token}{many_fields} HTTP/1.1\r\nHost: x\r\n\r\n").into_bytes(),
        ),
        (
            "JSON nested 100,000 deep",
            format!("POST /api/v1/advertisers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{deep_json}", crate::KEY, deep_json.len()).into_bytes(),
        ),
        ("bytes that are not HTTP", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n".to_vec()),
        (
            "a 200 KB header",
            format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "b".repeat(200_000)).into_bytes(),
        ),
    ];
    for worker in 0..if attack { 4 } else { 0 } {
        let (stop, answers, abuse) = (stop.clone(), answers.clone(), abuse.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = worker;
            while !stop.load(Relaxed) {
                let (what, bytes) = &abuse[n % abuse.len()];
                n += 1;
                let got = raw(addr, bytes).await;
                tally(&answers, &format!("{what}: {got}"));
            }
        }));
    }

    // RSS every second
    let started = Instant::now();
    let mut samples = Vec::new();
    while started.elapsed() < Duration::from_secs(secs) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        samples.push(t.rss_mb());
    }
    stop.store(true, Relaxed);
    let visitors = clicks.await.unwrap();
    for task in tasks {
        task.abort();
    }
    (samples, visitors, answers)
}
