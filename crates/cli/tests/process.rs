//! The real binary: demo start, SIGTERM flushing queued clicks, restart.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::*;

const KEY: &str = "process-test-key";

fn start(db: &Path, port: u16) -> Child {
    demo_command(db, port, KEY, &[])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

fn sigterm(child: &Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_flushes_every_acknowledged_click_and_demo_survives_restart() {
    let dir = temp_dir("sigterm");
    let db = dir.0.join("t.db");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = no_redirects();

    let mut child = start(&db, port);
    wait_healthy(&client, &base).await;

    // keep clicks flowing from many connections while SIGTERM arrives
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let client = client.clone();
        let url = format!("{base}/c/lnk_demo?sub1=flush");
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for _ in 0..200 {
                match client.get(&url).send().await {
                    Ok(r) if r.status() == 302 => {
                        acked.push(click_id(r.headers()["location"].to_str().unwrap()))
                    }
                    _ => break,
                }
            }
            acked
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    sigterm(&child);
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status:?}");
    assert!(
        acked.len() > 16,
        "too few clicks before the signal: {}",
        acked.len()
    );

    // restart on the same file: every acknowledged click is there
    let mut child = start(&db, port);
    wait_healthy(&client, &base).await;
    let mut missing = 0;
    for id in &acked {
        let r = client
            .get(format!("{base}/api/v1/clicks/{id}"))
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap();
        if r.status() != 200 {
            missing += 1;
        }
    }
    assert_eq!(
        missing,
        0,
        "{missing} of {} acknowledged clicks lost",
        acked.len()
    );

    // the demo is still one demo, and its printed postback works
    let r = client
        .get(format!("{base}/api/v1/offers"))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    let offers: Value = r.json().await.unwrap();
    assert_eq!(offers["items"].as_array().unwrap().len(), 1);
    assert!(
        db.with_extension("db.key").exists(),
        "the master key file is created beside the database"
    );
    let r = client
        .get(format!("{base}/postback?token=demo-postback-token&click_id={}&event=sale&txid=o-1&amount=49.90", acked[0]))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["result"], "accepted", "{v}");
    assert_eq!(v["payout"], "14.97");
    // the terminal report shows the clicks
    let out = Command::new(env!("CARGO_BIN_EXE_clickledger"))
        .args([
            "report",
            "--url",
            &base,
            "--key",
            KEY,
            "--group-by",
            "day,sub1",
        ])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{table}");
    let total: u64 = table
        .lines()
        .find(|l| l.starts_with("TOTAL"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(total as usize >= acked.len(), "{table}");
    assert!(table.contains("flush"), "{table}");

    // a CSV upload through the CLI
    let csv = dir.0.join("conv.csv");
    std::fs::write(
        &csv,
        format!(
            "click_id,event,txid,amount\n{},sale,csv-1,20\nbad,sale,x,1\n",
            acked[1]
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_clickledger"))
        .args(["import", "--url", &base, "--key", KEY])
        .arg(&csv)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // a refused row fails the command, with a summary
    assert!(!out.status.success(), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[1].starts_with("1,") && lines[1].contains(",accepted,"),
        "{text}"
    );
    assert!(
        lines[2].starts_with("2,") && lines[2].contains("corrupted_click_id"),
        "{text}"
    );
    assert!(
        stderr.contains("2 rows: 1 accepted, 1 rejected")
            && stderr.contains("1 of 2 rows was refused"),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\r') && !stderr.contains("\x1b["),
        "no progress noise off a terminal: {stderr}"
    );

    // the integration check passes on the demo offer...
    let out = Command::new(env!("CARGO_BIN_EXE_clickledger"))
        .args(["check", "--url", &base, "--offer", "off_demo", "--key", KEY])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("✓ click id in destination")
            && text.contains("✓ conversion")
            && text.contains("PASSED"),
        "{text}"
    );

    // ...and names what is wrong with an offer that drops the click id
    let r = client
        .post(format!("{base}/api/v1/offers"))
        .bearer_auth(KEY)
        .json(&serde_json::json!({"advertiser_id": "adv_demo", "name": "Broken", "destination_url": "https://x.example/?s={sub1}",
                                  "currency": "USD", "events": [{"name": "lead", "payout": {"type": "fixed", "amount": "1"}}]}))
        .send()
        .await
        .unwrap();
    let broken: Value = r.json().await.unwrap();
    let broken_id = broken["id"].as_str().unwrap();
    client
        .post(format!("{base}/api/v1/links"))
        .bearer_auth(KEY)
        .json(&serde_json::json!({"offer_id": broken_id, "affiliate_id": "aff_demo"}))
        .send()
        .await
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_clickledger"))
        .args(["check", "--url", &base, "--offer", broken_id, "--key", KEY])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("✗ click id in destination")
            && text.contains("{click_id}")
            && text.contains("FAILED"),
        "{text}"
    );

    sigterm(&child);
    assert!(child.wait().unwrap().success());

    // the demo printed its instructions
    let mut out = String::new();
    use std::io::Read;
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(out.contains("/c/lnk_demo"), "{out}");
    assert!(out.contains("token=demo-postback-token"), "{out}");
}

fn start_with_delivery(db: &Path, port: u16) -> Child {
    demo_command(
        db,
        port,
        KEY,
        &[
            "--delivery-concurrency",
            "2",
            "--delivery-per-host",
            "2",
            "--postback-rate-ip",
            "100000/s",
        ],
    )
    .env(
        "CLICKLEDGER_DELIVERY_BACKOFF",
        "200ms,200ms,200ms,200ms,200ms",
    )
    .spawn()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_delivery_loses_no_notification() {
    let dir = temp_dir("sigkill");
    let db = dir.0.join("k.db");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = no_redirects();
    let (rx, seen) = slow_receiver(Duration::from_millis(150)).await;

    let mut child = start_with_delivery(&db, port);
    wait_healthy(&client, &base).await;
    let r = client
        .patch(format!("{base}/api/v1/affiliates/aff_demo"))
        .bearer_auth(KEY)
        .json(&serde_json::json!({"postback_url": format!("{rx}/pb?cv={{conversion_id}}")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let mut conversions = Vec::new();
    for _ in 0..20 {
        let r = client
            .get(format!("{base}/c/lnk_demo"))
            .send()
            .await
            .unwrap();
        let cid = click_id(r.headers()["location"].to_str().unwrap());
        let v: Value = client
            .get(format!(
                "{base}/postback?token=demo-postback-token&click_id={cid}&event=registration"
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        conversions.push(v["conversion_id"].as_str().unwrap().to_string());
    }
    // 20 jobs at 2 in flight x 150 ms: the kill lands mid-delivery
    tokio::time::sleep(Duration::from_millis(400)).await;
    let ok = Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    child.wait().unwrap();
    let before_restart = seen.lock().unwrap().len();
    assert!(
        before_restart < 20,
        "the kill came too late to test anything ({before_restart} delivered)"
    );

    let mut child = start_with_delivery(&db, port);
    wait_healthy(&client, &base).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let lines = seen.lock().unwrap().clone();
        let missing: Vec<&String> = conversions
            .iter()
            .filter(|c| !lines.iter().any(|l| l.contains(c.as_str())))
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never delivered after the restart: {missing:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sigterm(&child);
    assert!(child.wait().unwrap().success());
}

/// A demo server whose stdout and stderr are collected as they come.
struct Captured {
    child: Child,
    stdout: std::sync::Arc<std::sync::Mutex<String>>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
}

fn collect(from: impl std::io::Read + Send + 'static) -> std::sync::Arc<std::sync::Mutex<String>> {
    use std::io::BufRead;
    let seen: std::sync::Arc<std::sync::Mutex<String>> = Default::default();
    let s = seen.clone();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(from).lines().map_while(Result::ok) {
            let mut s = s.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
    seen
}

/// Starts `serve --demo` without CLICKLEDGER_ADMIN_KEY, as a new user does.
fn start_captured(db: &Path, port: u16) -> Captured {
    let mut child = demo_command(db, port, KEY, &[])
        .env_remove("CLICKLEDGER_ADMIN_KEY")
        .env_remove("CLICKLEDGER_DB")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = collect(child.stdout.take().unwrap());
    let stderr = collect(child.stderr.take().unwrap());
    Captured {
        child,
        stdout,
        stderr,
    }
}

/// What a stream has shown once it contains `needle`.
async fn wait_for(stream: &std::sync::Mutex<String>, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = stream.lock().unwrap().clone();
        if out.contains(needle) {
            return out;
        }
        assert!(Instant::now() < deadline, "never printed `{needle}`: {out}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl Captured {
    /// The demo's printed text, once it is complete.
    async fn demo_text(&self) -> String {
        wait_for(&self.stdout, "/api/v1/conversions?click_id=").await
    }

    fn stop(mut self) -> (String, String) {
        sigterm(&self.child);
        assert!(self.child.wait().unwrap().success());
        // the readers end with the process
        std::thread::sleep(Duration::from_millis(100));
        let out = self.stdout.lock().unwrap().clone();
        let err = self.stderr.lock().unwrap().clone();
        (out, err)
    }
}

/// Does what the demo's "Try it" lines say: follows the tracking link in
/// the CID line, reads the click id off the redirect, and sends the printed
/// postback with it.
async fn try_printed_postback(client: &reqwest::Client, text: &str) -> Value {
    let cid_line = text.lines().find(|l| l.contains("CID=$(curl")).unwrap();
    let link = cid_line
        .split('\'')
        .find(|part| part.contains("/c/lnk_demo"))
        .unwrap();
    let r = client.get(link).send().await.unwrap();
    assert_eq!(r.status(), 302, "{link}");
    let cid = click_id(r.headers()["location"].to_str().unwrap());
    let postback = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("curl -s \"") && l.contains("/postback?"))
        .unwrap()
        .trim_start_matches("curl -s \"")
        .trim_end_matches('"')
        .replace("$CID", &cid);
    client
        .get(&postback)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn cli(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_clickledger"))
        .args(args)
        .env_remove("CLICKLEDGER_ADMIN_KEY")
        .env_remove("CLICKLEDGER_DB")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_run_twice_accepts_its_printed_postback_and_keys_are_managed() {
    let dir = temp_dir("demo-twice");
    let db = dir.0.join("d.db");
    let db_arg = db.to_str().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = no_redirects();

    // first run: a key is generated and announced with what to do with it
    let server = start_captured(&db, port);
    wait_healthy(&client, &base).await;
    let text = server.demo_text().await;
    let announced = wait_for(&server.stderr, "Admin API key").await;
    let key = announced
        .lines()
        .find_map(|l| l.strip_prefix("Admin API key (shown once, stored hashed): "))
        .unwrap_or_else(|| panic!("no key announced: {announced}"))
        .to_string();
    assert!(
        announced.contains(&format!("export CLICKLEDGER_ADMIN_KEY={key}"))
            && announced.contains("clickledger admin-key create"),
        "{announced}"
    );
    // after the server's own start-up lines, not lost among them
    assert!(
        announced.find("listening").unwrap() < announced.find(&key).unwrap(),
        "{announced}"
    );
    let v = try_printed_postback(&client, &text).await;
    assert_eq!(v["result"], "accepted", "first run: {v}");
    let first_conversion = v["conversion_id"].as_str().unwrap().to_string();
    let r = client
        .get(format!("{base}/api/v1/conversions"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the announced key opens the API");
    let (_, err) = server.stop();
    assert!(!err.contains("\x1b["), "no colour codes into a pipe: {err}");
    assert_eq!(
        err.matches(&key).count(),
        2,
        "shown once, with its usage: {err}"
    );

    // second run on the same file: no new key, and the printed postback is
    // again a new conversion, not a duplicate or a txid conflict
    let server = start_captured(&db, port);
    wait_healthy(&client, &base).await;
    let text = server.demo_text().await;
    let err = wait_for(&server.stderr, "listening").await;
    assert!(!err.contains("Admin API key"), "no second key: {err}");
    let v = try_printed_postback(&client, &text).await;
    assert_eq!(v["result"], "accepted", "second run: {v}");
    assert_ne!(v["conversion_id"].as_str().unwrap(), first_conversion);

    // a key made on the file while the server runs opens the API once the
    // server reloads its configuration
    let (ok, out, err) = cli(&["admin-key", "create", "--name", "laptop", "--db", db_arg]);
    assert!(ok, "{out}{err}");
    let laptop = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("export CLICKLEDGER_ADMIN_KEY="))
        .unwrap()
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = client
            .get(format!("{base}/api/v1/admin-keys"))
            .bearer_auth(&laptop)
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the new key never worked");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    server.stop();

    // listed without the key; revoked by id; never the last one
    let (ok, list, _) = cli(&["admin-key", "list", "--db", db_arg]);
    assert!(ok, "{list}");
    assert!(
        list.contains("laptop") && list.contains("generated at first start"),
        "{list}"
    );
    assert!(!list.contains(&laptop) && !list.contains(&key), "{list}");
    assert!(
        list.contains(&format!("ck_…{}", &laptop[laptop.len() - 4..])),
        "{list}"
    );
    let id_of = |name: &str| {
        list.lines()
            .find(|l| l.contains(name))
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    let (ok, out, err) = cli(&["admin-key", "revoke", &id_of("laptop"), "--db", db_arg]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("Revoked admin key"), "{out}");
    let (ok, _, err) = cli(&["admin-key", "revoke", &id_of("generated"), "--db", db_arg]);
    assert!(!ok);
    assert!(err.contains("is the last admin key"), "{err}");
    let (ok, _, err) = cli(&["admin-key", "revoke", "key_nope", "--db", db_arg]);
    assert!(!ok);
    assert_eq!(err.trim(), "error: no admin key with id `key_nope`");
    let (ok, _, err) = cli(&["admin-key", "list", "--db", "/nonexistent/x.db"]);
    assert!(
        !ok && err.contains("no database at /nonexistent/x.db"),
        "{err}"
    );

    // serve --help says what the variable does
    let (ok, help, _) = cli(&["serve", "--help"]);
    assert!(ok);
    assert!(
        help.contains("CLICKLEDGER_ADMIN_KEY") && help.contains("keep working"),
        "{help}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_refusals_report_failures_and_unreachable_servers() {
    let dir = temp_dir("cli-polish");
    let db = dir.0.join("p.db");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = no_redirects();
    let mut child = start(&db, port);
    wait_healthy(&client, &base).await;
    let r = client
        .get(format!("{base}/c/lnk_demo?sub1=polish"))
        .send()
        .await
        .unwrap();
    let cid = click_id(r.headers()["location"].to_str().unwrap());

    let file = dir.0.join("upload.csv");
    let import = |csv: &str| {
        std::fs::write(&file, csv).unwrap();
        cli(&[
            "import",
            "--url",
            &base,
            "--key",
            KEY,
            file.to_str().unwrap(),
        ])
    };
    // another separator: refused before any row, naming it
    let (ok, out, err) = import(&format!("click_id;event;txid\n{cid};sale;s-1\n"));
    assert!(!ok, "{out}");
    assert!(
        err.contains("separated by semicolons") && err.contains("comma"),
        "{err}"
    );
    // no click id column: refused, naming the columns it has
    let (ok, _, err) = import("order,event\nx,sale\n");
    assert!(!ok);
    assert!(
        err.contains("no click_id column") && err.contains("`order`"),
        "{err}"
    );
    // a truncated click id: the postback path's code and hint, and a failure
    let (ok, out, err) = import(&format!(
        "click_id,event,txid,amount\n{},sale,t-1,10\n",
        &cid[..20]
    ));
    assert!(!ok, "{out}");
    assert!(
        out.contains(",corrupted_click_id,") && out.contains("truncated: the click id is shorter"),
        "{out}"
    );
    assert!(err.contains("1 row: 1 rejected"), "{err}");

    // a refused postback before its offer is known: the report counts it in
    // a row labelled as having no offer
    let r = client
        .get(format!(
            "{base}/postback?token=demo-postback-token&click_id={}&event=sale",
            &cid[..20]
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let (ok, table, err) = cli(&[
        "report",
        "--url",
        &base,
        "--key",
        KEY,
        "--group-by",
        "offer",
    ]);
    assert!(ok, "{table}{err}");
    let header = table.lines().next().unwrap();
    assert!(header.trim_end().ends_with("failed_postbacks"), "{table}");
    let no_offer = table
        .lines()
        .find(|l| l.starts_with("(no offer)"))
        .unwrap_or_else(|| panic!("{table}"));
    assert_eq!(no_offer.split_whitespace().last(), Some("1"), "{table}");
    let demo = table.lines().find(|l| l.starts_with("off_demo")).unwrap();
    assert_eq!(demo.split_whitespace().last(), Some("0"), "{table}");
    // grouped by something the postback log does not know, it is told apart
    let (ok, table, _) = cli(&["report", "--url", &base, "--key", KEY, "--group-by", "sub1"]);
    assert!(ok, "{table}");
    assert!(
        table.contains("failed postbacks in the period (not split by these groups): 1"),
        "{table}"
    );
    sigterm(&child);
    assert!(child.wait().unwrap().success());

    // nobody listening: the cause and what to check
    let (ok, _, err) = cli(&["report", "--url", &base, "--key", KEY]);
    assert!(!ok);
    assert_eq!(
        err.trim(),
        format!("error: cannot reach {base}: connection refused — is `clickledger serve` running there?")
    );
    let (ok, _, err) = import("click_id\nx\n");
    assert!(!ok && err.contains("connection refused"), "{err}");
}
