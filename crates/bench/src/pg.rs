//! The redirect and postback load on PostgreSQL: one database of its own
//! (created, then dropped), one or several `clickledger serve` nodes on it,
//! the generator's connections spread over the nodes as a balancer would.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::{Child, Command};
use std::time::Duration;

use clickledger_testdb::ScratchDb;

use crate::{
    answered, click_ids, click_requests, configure, cpu_time, free_port, load, metric, peak_rss_mb,
    postback_requests, run_on, table, tracker_command, wait_up, Row, OPEN_LOOP_CONNECTIONS,
};

/// Every node seals secrets with the same key.
const MASTER_KEY: &str = "62656e63682d6d61737465722d6b65792d62656e63682d6d61737465722d6b65";

/// CPU time of every process named `postgres` (the server's backends):
/// the database's share of each request, which the nodes' CPU leaves out.
fn postgres_cpu() -> HashMap<u32, Duration> {
    let mut cpu = HashMap::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|p| p.parse().ok()) else {
            continue;
        };
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        if comm.trim() == "postgres" {
            if let Some(t) = cpu_time(pid) {
                cpu.insert(pid, t);
            }
        }
    }
    cpu
}

/// CPU the `postgres` processes spent since `before` (a backend that ended
/// meanwhile is not counted; one that started is, whole).
fn postgres_cpu_since(before: &HashMap<u32, Duration>) -> Duration {
    postgres_cpu()
        .iter()
        .map(|(pid, t)| t.saturating_sub(before.get(pid).copied().unwrap_or_default()))
        .sum()
}

/// A load run on the nodes, with the database server's CPU in its notes.
async fn run(
    nodes: &[Child],
    addrs: &[SocketAddr],
    connections: usize,
    duration: Duration,
    rate: Option<f64>,
    make: load::RequestFn,
) -> (load::Outcome, Duration) {
    let pids: Vec<u32> = nodes.iter().map(|n| n.id()).collect();
    let before = postgres_cpu();
    let out = run_on(&pids, addrs, connections, duration, rate, make).await;
    (out, postgres_cpu_since(&before))
}

fn per_request(cpu: Duration, out: &load::Outcome) -> f64 {
    cpu.as_secs_f64() * 1e6 / out.requests().max(1) as f64
}

/// The markdown section for `nodes` nodes on a fresh database on `server`.
pub async fn http(server: &str, nodes: usize, short: bool) -> String {
    let nodes = nodes.max(1);
    let duration = Duration::from_secs(if short { 2 } else { 10 });
    let db = ScratchDb::create(server, "cl_bench")
        .await
        .unwrap_or_else(|e| panic!("a benchmark database on {server}: {e}"));
    let addrs: Vec<SocketAddr> = (0..nodes)
        .map(|_| format!("127.0.0.1:{}", free_port()).parse().unwrap())
        .collect();
    let start = |i: usize| -> Child {
        tracker_command(addrs[i], db.url())
            .args(["--node", &format!("bench-{i}"), "--master-key", MASTER_KEY])
            .arg("--journal")
            .arg(
                std::env::temp_dir().join(format!("clickledger-bench-{}.journal", addrs[i].port())),
            )
            .spawn()
            .expect("the release tracker binary (cargo build --release --workspace)")
    };
    // the first node creates the schema and the configuration; the others
    // start on it, so none waits for a reload to know the links
    let mut children = vec![start(0)];
    wait_up(addrs[0].port()).await;
    let client = reqwest::Client::new();
    let bases: Vec<String> = addrs.iter().map(|a| format!("http://{a}")).collect();
    let (token, links, _) = configure(&client, &bases[0]).await;
    for (i, addr) in addrs.iter().enumerate().skip(1) {
        children.push(start(i));
        wait_up(addr.port()).await;
    }
    let click_fn = click_requests(links);
    let conns: usize = std::env::var("CLICKLEDGER_BENCH_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32);

    load::run(
        &addrs,
        conns,
        Duration::from_secs(1),
        None,
        click_fn.clone(),
    )
    .await;
    let (clicks, clicks_pg) = run(&children, &addrs, conns, duration, None, click_fn.clone()).await;
    let pb_fn = postback_requests(click_ids(&clicks), token);
    let (postbacks, postbacks_pg) = run(&children, &addrs, conns, duration, None, pb_fn).await;
    let half = clicks.rate() / 2.0;
    let (at_half, at_half_pg) = run(
        &children,
        &addrs,
        OPEN_LOOP_CONNECTIONS,
        duration,
        Some(half),
        click_fn,
    )
    .await;

    let (mut pb_new, mut pb_dup) = (0, 0);
    for base in &bases {
        pb_new += metric(
            &client,
            base,
            "clickledger_postbacks_total{result=\"accepted\"",
        )
        .await;
        pb_dup += metric(
            &client,
            base,
            "clickledger_postbacks_total{result=\"duplicate\"",
        )
        .await;
    }
    let rss: Vec<String> = children
        .iter()
        .map(|c| format!("{:.1}", peak_rss_mb(c.id()).unwrap_or(0.0)))
        .collect();
    for child in &mut children {
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let _ = child.wait();
    }

    let pg = db.client().await.expect("the benchmark database");
    let version: String = pg
        .query_one("SHOW server_version", &[])
        .await
        .expect("server_version")
        .get(0);
    let row = pg
        .query_one(
            "SELECT (SELECT count(*) FROM clicks),
                    pg_total_relation_size('clicks'),
                    pg_total_relation_size('clicks') + pg_total_relation_size('user_agents')
                      + (SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c
                         WHERE c.relkind = 'r' AND c.relname LIKE 'rollup\\_%'),
                    pg_database_size(current_database())",
            &[],
        )
        .await
        .expect("sizes");
    let (stored, clicks_bytes, click_data, whole): (i64, i64, i64, i64) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    drop(pg);
    drop(db);

    let per_click = |b: i64| b as f64 / stored.max(1) as f64;
    let pg_note = |cpu: Duration, out: &load::Outcome| {
        format!("; PostgreSQL CPU {:.0} µs/request", per_request(cpu, out))
    };
    let rows = vec![
        Row {
            name: "`/c/{link}` durable redirect (closed loop)".into(),
            note: answered(&clicks, 302) + &pg_note(clicks_pg, &clicks),
            out: clicks,
        },
        Row {
            name: "`/postback` (token, half new / half duplicate txids)".into(),
            note: format!(
                "{}; {pb_new} accepted, {pb_dup} duplicate{}",
                answered(&postbacks, 200),
                pg_note(postbacks_pg, &postbacks)
            ),
            out: postbacks,
        },
        Row {
            name: format!("`/c/{{link}}` open loop at 50 % of its max ({half:.0}/s)"),
            note: answered(&at_half, 302) + &pg_note(at_half_pg, &at_half),
            out: at_half,
        },
    ];
    let mode = if short {
        "short mode (2 s per run)"
    } else {
        "full run (10 s per run)"
    };
    let plural = if nodes == 1 { "" } else { "s" };
    format!(
        "## PostgreSQL {version}, {nodes} node{plural} — {mode}\n\n\
         {conns} connections in closed loops spread over the nodes, one generator thread; the open loop uses {OPEN_LOOP_CONNECTIONS}. \
         Server CPU is the nodes' together; the PostgreSQL server's is in the notes.\n\n{}\n\
         - Peak RSS of the node{plural}: **{} MB**\n\
         - Disk: **{:.0} bytes per click** in `clicks` with its indexes ({stored} clicks stored, `pg_total_relation_size`); \
         {:.0} with user agents and rollups, as the SQLite figure counts; the whole database is {:.1} MB\n",
        table(&rows, None),
        rss.join(" / "),
        per_click(clicks_bytes),
        per_click(click_data),
        whole as f64 / 1e6
    )
}
