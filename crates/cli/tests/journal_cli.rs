//! `clickledger journal inspect|replay` on a journal a killed node left
//! behind: the SQLite file is made unwritable (`chattr +i`), clicks and
//! postbacks go to the journal, the node is SIGKILLed; `inspect` tells what
//! waits, `replay` (with serve's flags) puts it in the store and exits 0,
//! and the next start finds everything there.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::*;

const KEY: &str = "journal-cli-key";

fn cli(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_clickledger"))
        .args(args)
        .env("CLICKLEDGER_ADMIN_KEY", KEY)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn chattr(flag: &str, paths: &[PathBuf]) {
    let ok = Command::new("chattr")
        .arg(flag)
        .args(paths)
        .status()
        .unwrap();
    assert!(
        ok.success(),
        "chattr {flag} (the test runs as root, as CI does)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_left_by_a_killed_node_is_inspected_and_replayed() {
    let dir = temp_dir("journalcli");
    let db = dir.0.join("j.db");
    let journal = dir.0.join("j.db.journal");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = no_redirects();
    let mut child = demo_command(&db, port, KEY, &[]).spawn().unwrap();
    wait_healthy(&client, &base).await;
    assert!(
        journal.is_dir(),
        "a SQLite store gets <db>.journal by default"
    );

    let files = vec![db.clone(), dir.0.join("j.db-wal")];
    chattr("+i", &files);
    let mut clicks = Vec::new();
    for _ in 0..5 {
        let r = client
            .get(format!("{base}/c/lnk_demo"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 302);
        clicks.push(click_id(r.headers()["location"].to_str().unwrap()));
    }
    for (n, click) in clicks.iter().enumerate().take(3) {
        let r = client
            .get(format!(
                "{base}/postback?token=demo-postback-token&click_id={click}&event=registration&txid=j{n}"
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    }
    child.kill().unwrap();
    child.wait().unwrap();
    chattr("-i", &files);

    let (ok, out, err) = cli(&["journal", "inspect", journal.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(
        out.contains("waiting in all: 5 clicks, 3 postbacks, 0 log entries"),
        "{out}"
    );

    // the node's own flags, without listening for anyone
    let (ok, out, err) = cli(&["journal", "replay", "--db", db.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("replayed 5 clicks, 3 postbacks, 0 log entries of 8 records; 0 left"),
        "{out}"
    );
    let (_, out, _) = cli(&["journal", "inspect", journal.to_str().unwrap()]);
    assert!(
        out.contains("waiting in all: 0 clicks, 0 postbacks"),
        "{out}"
    );

    let mut child = demo_command(&db, port, KEY, &[]).spawn().unwrap();
    wait_healthy(&client, &base).await;
    for click in &clicks {
        let r = client
            .get(format!("{base}/api/v1/clicks/{click}"))
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "click {click}");
    }
    let convs = get_json(&client, &format!("{base}/api/v1/conversions"), KEY).await;
    let mut txids: Vec<&str> = convs["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["txid"].as_str())
        .collect();
    txids.sort();
    assert_eq!(txids, ["j0", "j1", "j2"], "{convs}");
    let log = get_json(
        &client,
        &format!("{base}/api/v1/postbacks?result=accepted"),
        KEY,
    )
    .await;
    assert!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["replayed"] == true),
        "{log}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}
