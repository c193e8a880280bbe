//! A crash loop: the real binary SIGKILLed 20 times at random moments under
//! a mixed load (clicks, postbacks, status changes, ledger entries, and the
//! deliveries the conversions fire), restarted each time on the same file.
//! Afterwards every acknowledged click and conversion is there with the
//! last acknowledged status, every acknowledged ledger entry is there and
//! the affiliate's ledger balances, and every conversion's notification is
//! eventually delivered.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Child;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use rust_decimal::Decimal;
use serde_json::{json, Value};

const KEY: &str = "crash-loop-key";
const KILLS: usize = 20;

fn start(db: &Path, port: u16) -> Child {
    demo_command(
        db,
        port,
        KEY,
        &[
            "--postback-rate-ip",
            "1000000/s",
            "--click-rate-ip",
            "1000000/s",
        ],
    )
    .env(
        "CLICKLEDGER_DELIVERY_BACKOFF",
        "200ms,200ms,200ms,200ms,200ms,200ms,200ms,200ms",
    )
    .spawn()
    .unwrap()
}

/// What the tracker acknowledged.
#[derive(Default)]
struct Acked {
    clicks: Vec<String>,
    /// txid -> (click id, conversion id, reversed: acknowledged as such)
    conversions: BTreeMap<String, (String, String, bool)>,
    /// txids whose reversal was sent but not answered (the kill came first)
    reversal_unanswered: BTreeSet<String>,
    /// ledger adjustment ids and amounts
    adjustments: BTreeMap<String, Decimal>,
}

/// A little xorshift, seeded from the clock and printed, so a failing run
/// can be repeated.
struct Rng(AtomicU64);
impl Rng {
    fn next(&self, below: u64) -> u64 {
        let mut x = self.0.load(Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0.store(x, Relaxed);
        x % below
    }
}

fn d(v: &Value) -> Decimal {
    Decimal::from_str(
        v.as_str()
            .unwrap_or_else(|| panic!("not a decimal string: {v}")),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_sigkills_under_mixed_load_lose_nothing_acknowledged() {
    let dir = temp_dir("crashloop");
    let db = dir.0.join("c.db");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let client = no_redirects();
    let (receiver, delivered) = slow_receiver(Duration::from_millis(5)).await;
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    println!("seed {seed}");
    let rng = Arc::new(Rng(AtomicU64::new(seed)));

    let mut child = start(&db, port);
    wait_healthy(&client, &base).await;
    let r = client
        .patch(format!("{base}/api/v1/affiliates/aff_demo"))
        .bearer_auth(KEY)
        .json(&json!({"postback_url": format!("{receiver}/pb?cv={{conversion_id}}&st={{status}}")}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    let acked = Arc::new(Mutex::new(Acked::default()));
    let fresh = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    // clicks
    for _ in 0..2 {
        let (client, base, acked, fresh, stop) = (
            client.clone(),
            base.clone(),
            acked.clone(),
            fresh.clone(),
            stop.clone(),
        );
        workers.push(tokio::spawn(async move {
            while !stop.load(Relaxed) {
                match client
                    .get(format!("{base}/c/lnk_demo?sub1=crash"))
                    .send()
                    .await
                {
                    Ok(r) if r.status() == 302 => {
                        let id = click_id(r.headers()["location"].to_str().unwrap());
                        acked.lock().unwrap().clicks.push(id.clone());
                        fresh.lock().unwrap().push(id);
                    }
                    _ => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        }));
    }
    // conversions, and now and then a reversal of one acknowledged earlier
    {
        let (client, base, acked, fresh, stop, rng) = (
            client.clone(),
            base.clone(),
            acked.clone(),
            fresh.clone(),
            stop.clone(),
            rng.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Relaxed) {
                let reverse = (rng.next(4) == 0)
                    .then(|| {
                        let a = acked.lock().unwrap();
                        let open: Vec<_> = a
                            .conversions
                            .iter()
                            .filter(|(t, c)| !c.2 && !a.reversal_unanswered.contains(*t))
                            .collect();
                        (!open.is_empty()).then(|| {
                            let (t, c) = open[rng.next(open.len() as u64) as usize];
                            (t.clone(), c.0.clone())
                        })
                    })
                    .flatten();
                let (txid, click, status) = match reverse {
                    Some((txid, click)) => (txid, click, "reversed"),
                    None => {
                        let Some(click) = fresh.lock().unwrap().pop() else {
                            tokio::time::sleep(Duration::from_millis(5)).await;
                            continue;
                        };
                        n += 1;
                        (format!("crash-{n}"), click, "approved")
                    }
                };
                if status == "reversed" {
                    acked
                        .lock()
                        .unwrap()
                        .reversal_unanswered
                        .insert(txid.clone());
                }
                let sent = client
                    .get(format!("{base}/postback"))
                    .query(&[
                        ("token", "demo-postback-token"),
                        ("click_id", &click),
                        ("event", "registration"),
                        ("txid", &txid),
                        ("status", status),
                    ])
                    .send()
                    .await;
                let Ok(r) = sent else { continue };
                let code = r.status().as_u16();
                let Ok(v) = r.json::<Value>().await else {
                    continue;
                };
                let mut a = acked.lock().unwrap();
                match (code, v["result"].as_str(), status) {
                    (200, Some("accepted"), "approved") => {
                        a.conversions.insert(
                            txid,
                            (
                                click,
                                v["conversion_id"].as_str().unwrap().to_string(),
                                false,
                            ),
                        );
                    }
                    (200, Some("updated"), "reversed") => {
                        a.reversal_unanswered.remove(&txid);
                        a.conversions
                            .get_mut(&txid)
                            .expect("reversed an acknowledged conversion")
                            .2 = true;
                    }
                    // after a kill, a resend of what was stored unanswered
                    (200, Some("duplicate"), _) => {}
                    _ => panic!("postback {txid} {status}: {code} {v}"),
                }
            }
        }));
    }
    // ledger adjustments
    {
        let (client, base, acked, stop, rng) = (
            client.clone(),
            base.clone(),
            acked.clone(),
            stop.clone(),
            rng.clone(),
        );
        workers.push(tokio::spawn(async move {
            while !stop.load(Relaxed) {
                let amount = Decimal::new(rng.next(500) as i64 + 1, 2);
                let sent = client
                    .post(format!("{base}/api/v1/affiliates/aff_demo/ledger"))
                    .bearer_auth(KEY)
                    .json(&json!({"kind": "adjustment", "amount": amount.to_string(), "currency": "USD", "reason": "crash loop"}))
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status() == 201 => {
                        let v: Value = r.json().await.unwrap();
                        acked.lock().unwrap().adjustments.insert(v["id"].to_string(), amount);
                    }
                    _ => tokio::time::sleep(Duration::from_millis(20)).await,
                }
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
        }));
    }

    for kill in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(150 + rng.next(500))).await;
        child.kill().unwrap();
        child.wait().unwrap();
        child = start(&db, port);
        wait_healthy(&client, &base).await;
        if kill % 5 == 4 {
            println!("{} kills", kill + 1);
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    let reversed = acked.conversions.values().filter(|c| c.2).count();
    println!(
        "acknowledged across {KILLS} kills: {} clicks, {} conversions ({reversed} reversed), {} ledger adjustments",
        acked.clicks.len(),
        acked.conversions.len(),
        acked.adjustments.len()
    );
    assert!(
        acked.clicks.len() > 100
            && acked.conversions.len() > 20
            && reversed > 0
            && acked.adjustments.len() > 10,
        "the load did too little to prove anything"
    );

    // every acknowledged click
    for id in &acked.clicks {
        let r = client
            .get(format!("{base}/api/v1/clicks/{id}"))
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "acknowledged click {id} is missing");
    }
    // every acknowledged conversion, with its last acknowledged status
    let convs = get_json(
        &client,
        &format!("{base}/api/v1/conversions?limit=10000"),
        KEY,
    )
    .await;
    let stored: BTreeMap<String, &Value> = convs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["txid"].as_str().unwrap().to_string(), c))
        .collect();
    for (txid, (click, id, was_reversed)) in &acked.conversions {
        let c = stored
            .get(txid)
            .unwrap_or_else(|| panic!("acknowledged conversion {txid} is missing"));
        assert_eq!(
            (c["id"].as_str(), c["click_id"].as_str()),
            (Some(id.as_str()), Some(click.as_str())),
            "{c}"
        );
        let status = c["status"].as_str().unwrap();
        if *was_reversed {
            assert_eq!(status, "reversed", "{txid}");
        } else if !acked.reversal_unanswered.contains(txid) {
            assert_eq!(status, "approved", "{txid}");
        }
    }
    // the ledger: every acknowledged entry, and it balances
    let ledger = get_json(
        &client,
        &format!("{base}/api/v1/affiliates/aff_demo/ledger"),
        KEY,
    )
    .await;
    let entries = ledger["entries"].as_array().unwrap();
    let ids: BTreeSet<String> = entries.iter().map(|e| e["id"].to_string()).collect();
    for id in acked.adjustments.keys() {
        assert!(
            ids.contains(id),
            "acknowledged ledger entry {id} is missing"
        );
    }
    let sum: Decimal = entries.iter().map(|e| d(&e["amount"])).sum();
    assert_eq!(
        d(&ledger["balance"]),
        sum,
        "the balance is the sum of its entries"
    );
    let adjustments: Decimal = entries
        .iter()
        .filter(|e| e["kind"] == "adjustment")
        .map(|e| d(&e["amount"]))
        .sum();
    let approved: Decimal = stored
        .values()
        .filter(|c| c["status"] == "approved")
        .map(|c| d(&c["payout"]))
        .sum();
    assert_eq!(
        d(&ledger["balance"]),
        approved + adjustments,
        "balance = approved payouts + adjustments"
    );
    assert!(adjustments >= acked.adjustments.values().sum::<Decimal>());

    // every conversion's notification is delivered, in time
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let seen = delivered.lock().unwrap().clone();
        let missing: Vec<&str> = stored
            .values()
            .filter_map(|c| c["id"].as_str())
            .filter(|id| !seen.iter().any(|l| l.contains(&format!("cv={id}&"))))
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "never notified: {missing:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
}
