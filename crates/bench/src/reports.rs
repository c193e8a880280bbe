//! The report benchmark: loads clicks and conversions into a fresh SQLite
//! file through the store (so rollups, ledger and all are maintained as in
//! production), then times the common reports through the HTTP API.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clickledger_domain::status::Incoming;
use clickledger_domain::{ClickId, Currency, EventDef, Rule, Status};
use clickledger_server::progress::{group, Progress};
use clickledger_server::Settings;
use clickledger_store::*;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;

const DAY: i64 = 86_400_000;

fn system(kind: &str, id: &str) -> AuditEntry {
    AuditEntry {
        id: 0,
        ts_ms: clickledger_server::util::now_ms(),
        key_id: "bench".into(),
        action: "create".into(),
        entity_kind: kind.into(),
        entity_id: id.into(),
        before: None,
        after: None,
        template: None,
    }
}

async fn setup(store: &dyn Store) -> Vec<Link> {
    let now = clickledger_server::util::now_ms();
    store
        .put_advertiser(
            &Advertiser {
                id: "adv_b".into(),
                name: "Bench".into(),
                status: EntityStatus::Active,
                require_signature: false,
                require_https: false,
                ip_allowlist: vec![],
                alias_map: Default::default(),
                status_map: Default::default(),
                rate_limit: None,
                browser: Default::default(),
                alert_overrides: Default::default(),
                created_ms: now,
                secrets: Default::default(),
            },
            &system("advertiser", "adv_b"),
        )
        .await
        .unwrap();
    for o in 0..20 {
        let id = format!("off_{o}");
        store
            .put_offer(
                &Offer {
                    id: id.clone(),
                    advertiser_id: "adv_b".into(),
                    name: id.clone(),
                    status: EntityStatus::Active,
                    destination_url: "https://landing.example/?c={click_id}".into(),
                    fallback_url: None,
                    currency: Currency::parse("USD").unwrap(),
                    attribution_window_days: 30,
                    events: vec![EventDef {
                        name: "sale".into(),
                        payout: Rule::Revshare {
                            percent: Decimal::from(30),
                        },
                        revenue: Some(Rule::Revshare {
                            percent: Decimal::from(40),
                        }),
                        repeatable: false,
                        reverses: false,
                        default_status: Status::Approved,
                        max_amount: None,
                        max_payout: None,
                    }],
                    min_conversion_seconds: 0,
                    reject_too_fast: false,
                    hold_hours: 0,
                    caps: vec![],
                    cap_timezone: "UTC".into(),
                    refuse_over_cap: false,
                    alert_overrides: Default::default(),
                    created_ms: now,
                },
                &system("offer", &id),
            )
            .await
            .unwrap();
    }
    let mut links = Vec::new();
    for a in 0..100 {
        let aff = format!("aff_{a}");
        store
            .put_affiliate(
                &Affiliate {
                    id: aff.clone(),
                    name: aff.clone(),
                    status: EntityStatus::Active,
                    postback_url: None,
                    postbacks: vec![],
                    allow_http: false,
                    created_ms: now,
                    secrets: Default::default(),
                },
                &system("affiliate", &aff),
            )
            .await
            .unwrap();
        for k in 0..10 {
            let l = Link {
                id: format!("lnk_{a}_{k}"),
                offer_id: format!("off_{}", (a + k * 7) % 20),
                affiliate_id: aff.clone(),
                status: EntityStatus::Active,
                created_ms: now,
                flow: None,
            };
            store.put_link(&l, &system("link", &l.id)).await.unwrap();
            links.push(l);
        }
    }
    links
}

const COUNTRIES: [&str; 12] = [
    "US", "DE", "IN", "BR", "GB", "FR", "ES", "IT", "PL", "NP", "ID", "",
];
/// User agents with the device, OS and browser the classifier gives them.
const AGENTS: [(&str, &str, &str, &str); 3] = [
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
        "mobile",
        "ios",
        "safari",
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
        "desktop",
        "windows",
        "chrome",
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
        "tablet",
        "ios",
        "safari",
    ),
];

pub async fn run(n_clicks: u64, n_conversions: u64, keep: Option<std::path::PathBuf>) -> String {
    for (ua, device, os, browser) in AGENTS {
        let p = clickledger_domain::user_agent::parse(ua);
        assert_eq!((p.device, p.os, p.browser), (device, os, browser), "{ua}");
    }
    let dir = std::env::temp_dir().join(format!("clickledger-reports-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("reports.db");
    let store = SqliteStore::open_for_bulk_load(&db).unwrap();
    let links = setup(&store).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
    let now = clickledger_server::util::now_ms();
    let every = (n_clicks / n_conversions.max(1)).max(1);
    let mut sample: Vec<Click> = Vec::with_capacity(n_conversions as usize);
    let started = Instant::now();
    let mut progress = Progress::new("clicks", n_clicks);
    let mut batch = Vec::with_capacity(10_000);
    for i in 0..n_clicks {
        // a few links get most traffic
        let li = ((rng.random::<f64>().powi(3)) * links.len() as f64) as usize;
        let link = &links[li.min(links.len() - 1)];
        // clicks arrive in time order, as they do in production
        let ts = now - 30 * DAY + (i as i64) * (30 * DAY) / n_clicks as i64;
        let device = (rng.random::<f64>().powi(2) * 3.0) as usize % 3;
        let click = Click {
            id: ClickId::new(ts as u64, rng.random()),
            ts_ms: ts,
            link_id: link.id.clone(),
            offer_id: link.offer_id.clone(),
            affiliate_id: link.affiliate_id.clone(),
            sub1: Some(format!(
                "camp{}",
                (rng.random::<f64>().powi(2) * 50.0) as u32
            )),
            sub2: Some(format!("ad{}", rng.random_range(0..500))),
            sub3: None,
            sub4: None,
            sub5: None,
            source: Some(format!("src{}", rng.random_range(0..5))),
            extra: Default::default(),
            params_cut: 0,
            ip: format!(
                "198.51.{}.{}",
                rng.random_range(0..255),
                rng.random_range(1..255)
            ),
            country: COUNTRIES[(rng.random::<f64>().powi(2) * 12.0) as usize % 12].into(),
            // device, OS and browser follow from the user agent
            user_agent: AGENTS[device].0.into(),
            device: AGENTS[device].1.into(),
            os: AGENTS[device].2.into(),
            browser: AGENTS[device].3.into(),
            referer_host: String::new(),
            unique: rng.random_bool(0.8),
            bot: rng.random_bool(0.02),
            suspicious: false,
            test: false,
            blocked: false,
            rule: None,
            target: None,
            flow_offer: false,
        };
        if i % every == 0 && (sample.len() as u64) < n_conversions {
            sample.push(click.clone());
        }
        batch.push(click);
        if batch.len() == 10_000 {
            store.insert_clicks(&batch).unwrap();
            progress.add(batch.len() as u64);
            batch.clear();
        }
    }
    store.insert_clicks(&batch).unwrap();
    progress.add(batch.len() as u64);
    progress.finish();
    let click_load = started.elapsed();

    let started = Instant::now();
    let mut progress = Progress::new("conversions", sample.len() as u64);
    let usd = Currency::parse("USD").unwrap();
    for (i, c) in sample.iter().enumerate() {
        let amount = Decimal::new(rng.random_range(100..50_000), 2);
        let payout = usd.round(amount * Decimal::new(30, 2));
        let conv = Conversion {
            id: format!("cv_{i}"),
            click_id: c.id,
            offer_id: c.offer_id.clone(),
            advertiser_id: "adv_b".into(),
            affiliate_id: c.affiliate_id.clone(),
            link_id: c.link_id.clone(),
            event: "sale".into(),
            txid: Some(format!("t{i}")),
            status: Status::Approved,
            status_received: None,
            amount: Some(amount),
            currency: usd,
            payout,
            revenue: usd.round(amount * Decimal::new(40, 2)),
            payout_currency: usd,
            click_ms: c.ts_ms,
            conv_ms: c.ts_ms + rng.random_range(60_000..3 * DAY),
            updated_ms: c.ts_ms,
            delay_seconds: 0,
            too_fast: false,
            test: false,
            capped: false,
            parent_id: None,
            payout_base: None,
            revenue_base: None,
            fx_missing: false,
            hold_until_ms: None,
            duplicates: 0,
            channel: Default::default(),
            dims: ClickDims::of(c),
        };
        let attempt = ConversionAttempt {
            incoming: Incoming {
                click_id: c.id.as_u128(),
                txid: conv.txid.clone(),
                status: None,
                amount: Some(amount),
                currency: usd,
            },
            log: PostbackLogEntry {
                ts_ms: conv.conv_ms,
                method: "BENCH".into(),
                ..Default::default()
            },
            conversion: conv,
            repeatable: false,
            insertable: Ok(()),
            notify: None,
            base_currency: usd,
            caps: vec![],
            refuse_over_cap: false,
            reverses: false,
            original_txid: None,
        };
        store.record_conversion(attempt).await.unwrap();
        progress.add(1);
    }
    progress.finish();
    let conv_load = started.elapsed();
    store.checkpoint().await.unwrap();
    let bytes = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    let clicks_bytes = crate::click_bytes(&db);
    let tables: Vec<String> = crate::table_bytes(&db)
        .into_iter()
        .take(10)
        .map(|(t, b)| format!("`{t}` {:.0}", b as f64 / n_clicks as f64))
        .collect();
    drop(store);

    // time the reports through the real endpoint
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&db).unwrap());
    clickledger_server::ensure_admin_key(store.as_ref(), Some("bench"))
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let running = clickledger_server::start(store, Settings::default(), listener)
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let to = clickledger_domain::time::rfc3339_ms(now + DAY)[..10].to_string();
    let from = clickledger_domain::time::rfc3339_ms(now - 30 * DAY)[..10].to_string();
    let mut lines = String::new();
    for (name, q) in [
        (
            "by day, 30 days, UTC",
            format!("group_by=day&from={from}&to={to}"),
        ),
        (
            "by affiliate and sub1, 30 days",
            format!("group_by=affiliate,sub1&from={from}&to={to}"),
        ),
        (
            "by country and device, 30 days, Asia/Kolkata (+05:30)",
            format!("group_by=country,device&tz=Asia/Kolkata&from={from}&to={to}"),
        ),
        (
            "by day and sub2, 30 days (raw clicks, no rollup)",
            format!("group_by=day,sub2&from={from}&to={to}&limit=10"),
        ),
    ] {
        let mut best = Duration::MAX;
        let mut rows = 0;
        let mut clicks = 0;
        for _ in 0..3 {
            let t = Instant::now();
            let v: serde_json::Value = client
                .get(format!("http://{addr}/api/v1/reports?{q}"))
                .bearer_auth("bench")
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            best = best.min(t.elapsed());
            rows = v["total_rows"].as_u64().unwrap_or(0);
            clicks = v["totals"]["clicks"].as_u64().unwrap_or(0);
        }
        lines.push_str(&format!(
            "| {name} | {} | {} | {:.0} ms |\n",
            group(rows),
            group(clicks),
            best.as_secs_f64() * 1000.0
        ));
    }
    running.shutdown().await;
    if let Some(to) = keep {
        // the server is stopped; its WAL goes with the file
        for ext in ["", "-wal", "-shm", ".key"] {
            let from = dir.join(format!("reports.db{ext}"));
            if from.exists() {
                std::fs::copy(&from, to.with_extension(format!("db{ext}"))).expect("kept database");
            }
        }
        eprintln!("kept the database at {}", to.with_extension("db").display());
    }
    let _ = std::fs::remove_dir_all(&dir);
    format!(
        "## Reports on {} clicks and {} conversions\n\nLoaded through the store (rollups, ledger and all): clicks in {:.1} s ({}/s), conversions in {:.1} s. \
         File after a checkpoint: {:.1} MB; clicks, user agents and rollups take **{:.0} bytes per click** ({:.0} MB per million clicks). Bytes per click by table: {}.\n\n\
         | report | rows | clicks counted | best of 3 |\n| --- | ---: | ---: | ---: |\n{lines}",
        group(n_clicks),
        group(sample.len() as u64),
        click_load.as_secs_f64(),
        group((n_clicks as f64 / click_load.as_secs_f64()) as u64),
        conv_load.as_secs_f64(),
        bytes as f64 / 1e6,
        clicks_bytes as f64 / n_clicks as f64,
        clicks_bytes as f64 / n_clicks as f64,
        tables.join(", "),
    )
}
