//! The report benchmark: loads clicks and conversions into a fresh SQLite
//! file or PostgreSQL database through the store (so rollups, ledger and
//! all are maintained as in production), then times every report shape
//! through the HTTP API: one warm-up, then the best of 3.
//!
//! The data ends at a fixed instant (`END_MS`), so a database kept by one
//! run (`--keep`) can be timed again by a later build (`--reuse`): the
//! same rows before and after a change.

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
/// 2026-12-01T00:00:00Z: where the loaded traffic ends.
const END_MS: i64 = 1_796_083_200_000;

/// What to load and where.
#[derive(clap::Args)]
pub struct Options {
    #[arg(long, default_value_t = 10_000_000)]
    pub clicks: u64,
    #[arg(long, default_value_t = 1_000_000)]
    pub conversions: u64,
    /// Days the clicks spread over (ending 2026-12-01).
    #[arg(long, default_value_t = 90)]
    pub days: i64,
    /// Load into a fresh database on this PostgreSQL server instead.
    #[arg(long, value_name = "SERVER_URL")]
    pub pg: Option<String>,
    /// Keep what was loaded: the SQLite file at this path (e.g. to time
    /// the dashboard's pages on it); with --pg the database stays, renamed
    /// `cl_kept_…` so the CI clean-up of leftovers spares it, and its URL
    /// is printed (the path is then unused; drop it when done).
    #[arg(long)]
    pub keep: Option<std::path::PathBuf>,
    /// Load nothing: time the reports on a kept database (a SQLite path or
    /// a postgres:// URL), e.g. before and after a change.
    #[arg(long, value_name = "DB")]
    pub reuse: Option<String>,
    /// Time only the reports whose name contains this (e.g. "sub2"), or
    /// one of these, separated by `|` ("by source and|by link and").
    #[arg(long)]
    pub only: Option<String>,
    /// Timezones whose local days the rollups keep, as the server's
    /// `--report-timezone` (comma-separated; `none` for none). Applies to
    /// a load; a reused database keeps what it was loaded with.
    #[arg(
        long = "report-timezone",
        value_delimiter = ',',
        default_value = "Asia/Kolkata"
    )]
    pub report_timezones: Vec<String>,
    /// Time the reports while this many connections send clicks to the
    /// loaded links in closed loops (0: none), as a busy tracker serves
    /// them: prints the clicks/s they got and each report's slowest run
    /// beside its best. The clicks are recorded in the database.
    #[arg(long, default_value_t = 0)]
    pub clicks_beside: usize,
}

impl Options {
    fn timezones(&self) -> Vec<String> {
        let none = |t: &String| t.is_empty() || t == "none";
        self.report_timezones
            .iter()
            .filter(|t| !none(t))
            .cloned()
            .collect()
    }
}

impl Options {
    /// A fresh SQLite file of `clicks` over 90 days, deleted afterwards.
    pub fn fresh(clicks: u64, conversions: u64) -> Options {
        Options {
            clicks,
            conversions,
            days: 90,
            pg: None,
            keep: None,
            reuse: None,
            only: None,
            report_timezones: vec!["Asia/Kolkata".into()],
            clicks_beside: 0,
        }
    }
}

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

/// Loads `opts.clicks` clicks over `opts.days` days ending at `END_MS`, and
/// conversions on every n-th click: 70 % `sale` (revshare), 30 % `lead`,
/// a fifth of them pending, a tenth of those approved later and another
/// tenth rejected, and a refund for 1 %. Returns what it measured.
async fn load(store: Arc<dyn Store>, opts: &Options) -> String {
    // kept from the start: the store is empty
    let kept = clickledger_server::report::local_days::keep(
        store.as_ref(),
        &opts.timezones(),
        clickledger_server::util::now_ms(),
    )
    .await
    .expect("report timezones");
    assert!(kept.iter().all(|l| l.since_ms == 0), "{kept:?}");
    let links = setup(store.as_ref()).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
    let n_clicks = opts.clicks;
    let span = opts.days * DAY;
    let every = (n_clicks / opts.conversions.max(1)).max(1);
    let mut sample: Vec<Click> = Vec::with_capacity(opts.conversions as usize);
    let started = Instant::now();
    let mut progress = Progress::new("clicks", n_clicks);
    let mut batch = Vec::with_capacity(10_000);
    for i in 0..n_clicks {
        // a few links get most traffic
        let li = ((rng.random::<f64>().powi(3)) * links.len() as f64) as usize;
        let link = &links[li.min(links.len() - 1)];
        // clicks arrive in time order, as they do in production
        let ts = END_MS - span + (i as i64) * span / n_clicks as i64;
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
            sub3: Some(format!("p{}", rng.random_range(0..20))),
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
        if i % every == 0 && (sample.len() as u64) < opts.conversions {
            sample.push(click.clone());
        }
        batch.push(click);
        if batch.len() == 10_000 {
            insert(&store, &mut batch).await;
            progress.add(10_000);
        }
    }
    let rest = batch.len() as u64;
    insert(&store, &mut batch).await;
    progress.add(rest);
    progress.finish();
    let click_load = started.elapsed();

    let started = Instant::now();
    let usd = Currency::parse("USD").unwrap();
    // (attempt, a later status, refund amount)
    let mut attempts = Vec::with_capacity(sample.len());
    for (i, c) in sample.iter().enumerate() {
        let amount = Decimal::new(rng.random_range(100..50_000), 2);
        let lead = rng.random_bool(0.3);
        let pending = rng.random_bool(0.2);
        let later = match rng.random_range(0..10) {
            0 if pending => Some(Status::Approved),
            1 if pending => Some(Status::Rejected),
            _ => None,
        };
        let refund = (!pending && rng.random_bool(0.01)).then(|| amount / Decimal::from(2));
        let conv_ms = c.ts_ms + rng.random_range(60_000..3 * DAY);
        attempts.push((
            attempt(c, i, lead, pending, amount, conv_ms, usd),
            later,
            refund,
        ));
    }
    // the postback writer's path: batches decided in order, one at a time.
    // Every first postback goes before any later status or refund, so
    // those always find their conversion.
    let (mut firsts, mut followups) = (Vec::new(), Vec::new());
    for (a, later, refund) in attempts {
        let (id, txid) = (a.conversion.id.clone(), a.conversion.txid.clone());
        if let Some(to) = later {
            let mut again = a.clone();
            again.incoming.status = Some(to);
            again.conversion.status = to;
            again.log.ts_ms += 3_600_000;
            followups.push(again);
        }
        if let Some(amount) = refund {
            let mut r = a.clone();
            r.conversion.id = format!("{id}_r");
            r.conversion.event = "refund".into();
            r.conversion.txid = txid.as_ref().map(|t| format!("{t}_r"));
            r.conversion.amount = Some(amount);
            r.conversion.conv_ms += DAY;
            r.incoming.txid = r.conversion.txid.clone();
            r.incoming.amount = Some(amount);
            r.reverses = true;
            r.original_txid = txid;
            r.log.ts_ms += DAY;
            followups.push(r);
        }
        firsts.push(a);
    }
    let mut progress = Progress::new("postbacks", (firsts.len() + followups.len()) as u64);
    for attempts in [firsts, followups] {
        for chunk in attempts.chunks(512) {
            let items: Vec<PostbackWrite> = chunk
                .iter()
                .map(|a| PostbackWrite::Conversion(Box::new(a.clone())))
                .collect();
            let store = store.clone();
            let written = tokio::task::spawn_blocking(move || store.record_batch(&items))
                .await
                .unwrap()
                .unwrap();
            for item in written {
                item.unwrap();
            }
            progress.add(chunk.len() as u64);
        }
    }
    progress.finish();
    let conv_load = started.elapsed();
    store.flush_rollups().await.unwrap();
    format!(
        "Loaded through the store (rollups, ledger and all): clicks in {:.1} s ({}/s), conversions in {:.1} s ({}/s, in batches of 512 as the postback writer commits them).",
        click_load.as_secs_f64(),
        group((n_clicks as f64 / click_load.as_secs_f64()) as u64),
        conv_load.as_secs_f64(),
        group((sample.len() as f64 / conv_load.as_secs_f64()) as u64),
    )
}

async fn insert(store: &Arc<dyn Store>, batch: &mut Vec<Click>) {
    let clicks = std::mem::take(batch);
    let store = store.clone();
    tokio::task::spawn_blocking(move || store.insert_clicks(&clicks).unwrap())
        .await
        .unwrap();
}

fn attempt(
    c: &Click,
    i: usize,
    lead: bool,
    pending: bool,
    amount: Decimal,
    conv_ms: i64,
    usd: Currency,
) -> ConversionAttempt {
    let (event, share) = if lead { ("lead", 10) } else { ("sale", 30) };
    let status = if pending {
        Status::Pending
    } else {
        Status::Approved
    };
    let conv = Conversion {
        id: format!("cv_{i}"),
        click_id: c.id,
        offer_id: c.offer_id.clone(),
        advertiser_id: "adv_b".into(),
        affiliate_id: c.affiliate_id.clone(),
        link_id: c.link_id.clone(),
        event: event.into(),
        txid: Some(format!("t{i}")),
        status,
        status_received: None,
        amount: Some(amount),
        currency: usd,
        payout: usd.round(amount * Decimal::new(share, 2)),
        revenue: usd.round(amount * Decimal::new(share + 10, 2)),
        payout_currency: usd,
        click_ms: c.ts_ms,
        conv_ms,
        updated_ms: conv_ms,
        delay_seconds: (conv_ms - c.ts_ms) / 1000,
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
    ConversionAttempt {
        incoming: Incoming {
            click_id: c.id.as_u128(),
            txid: conv.txid.clone(),
            status: Some(status),
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
    }
}

/// Every report shape the issue names, over the loaded range.
fn shapes(days: i64) -> Vec<(String, String)> {
    let day = |ms: i64| clickledger_domain::time::rfc3339_ms(ms)[..10].to_string();
    let (from, to) = (day(END_MS - days * DAY), day(END_MS - DAY));
    let range = format!("from={from}&to={to}");
    let week = format!("from={}&to={to}", day(END_MS - 7 * DAY));
    let mut out: Vec<(String, String)> = vec![
        (
            format!("by day, {days} days, UTC"),
            format!("group_by=day&{range}"),
        ),
        (
            "by hour, 7 days, America/New_York".into(),
            format!("group_by=hour&tz=America/New_York&{week}"),
        ),
        (
            format!("by week, {days} days, Europe/Berlin"),
            format!("group_by=week&tz=Europe/Berlin&{range}"),
        ),
        (
            format!("by month, {days} days, Asia/Kolkata (+05:30)"),
            format!("group_by=month&tz=Asia/Kolkata&{range}"),
        ),
        (
            format!("by day, {days} days, by conversion time"),
            format!("group_by=day&date_basis=conversion&{range}"),
        ),
    ];
    for d in [
        "offer",
        "advertiser",
        "affiliate",
        "link",
        "source",
        "sub1",
        "country",
        "device",
        "event",
        "status",
    ] {
        out.push((format!("by {d}"), format!("group_by={d}&{range}")));
    }
    for (name, g) in [
        ("by day, offer and status", "day,offer,status"),
        ("by affiliate and sub1", "affiliate,sub1"),
        (
            "by link and source, one affiliate",
            "link,source&affiliate=aff_0",
        ),
        (
            "by country and device, Asia/Kolkata",
            "country,device&tz=Asia/Kolkata",
        ),
        ("by event and status", "event,status"),
        ("by sub2", "sub2"),
        ("by sub3", "sub3"),
        ("by os", "os"),
        ("by browser", "browser"),
        ("by day and sub2", "day,sub2"),
        (
            "by week and sub3, Europe/Berlin",
            "week,sub3&tz=Europe/Berlin",
        ),
        // the slot by affiliate rollup (raw clicks before it)
        ("by sub2, one affiliate", "sub2&affiliate=aff_0"),
        ("by link and country", "link,country"),
        ("by affiliate and country", "affiliate,country"),
        // what a partner's own GEO report reads
        ("by country, one affiliate", "country&affiliate=aff_0"),
        // the affiliate geo rollup (raw clicks before it)
        ("by affiliate and device", "affiliate,device"),
        ("by os, one affiliate", "os&affiliate=aff_0"),
        // the pairs' own rollups (raw clicks before them)
        ("by source and country", "source,country"),
        ("by source and device", "source,device"),
        ("by source and sub1", "source,sub1"),
        ("by sub1 and country", "sub1,country"),
        ("by sub1 and device", "sub1,device"),
        ("by link and device", "link,device"),
        ("by day, source and country", "day,source,country"),
    ] {
        out.push((name.into(), format!("group_by={g}&{range}")));
    }
    // every 15-minute row of a week, and every day's 15-minute edges off
    // UTC: conversions read from the conversions themselves (only the
    // offer shape keeps 15-minute conversion rows)
    out.push((
        "by hour and country, 7 days".into(),
        format!("group_by=hour,country&{week}"),
    ));
    out.push((
        format!("by day and sub1, {days} days, Asia/Kolkata"),
        format!("group_by=day,sub1&tz=Asia/Kolkata&{range}"),
    ));
    // by day and one dimension, in a timezone the loader keeps (Kolkata)
    // and in one it does not (New York)
    for (d, tz) in [
        ("country", "Asia/Kolkata"),
        ("country", "America/New_York"),
        ("affiliate", "Asia/Kolkata"),
        ("affiliate", "America/New_York"),
    ] {
        out.push((
            format!("by day and {d}, {days} days, {tz}"),
            format!("group_by=day,{d}&tz={tz}&{range}"),
        ));
    }
    out
}

pub async fn run(opts: Options) -> String {
    for (ua, device, os, browser) in AGENTS {
        let p = clickledger_domain::user_agent::parse(ua);
        assert_eq!((p.device, p.os, p.browser), (device, os, browser), "{ua}");
    }
    let dir = std::env::temp_dir().join(format!("clickledger-reports-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let sqlite_file = dir.join("reports.db");
    let mut scratch = None;
    let target = match (&opts.reuse, &opts.pg) {
        (Some(db), _) => db.clone(),
        (None, Some(server)) => {
            let db = clickledger_testdb::ScratchDb::create(server, "cl_bench")
                .await
                .expect("a database for the benchmark");
            let url = db.url().to_string();
            scratch = Some(db);
            url
        }
        (None, None) => sqlite_file.display().to_string(),
    };
    let postgres = clickledger_store::is_postgres_url(&target);
    let mut loaded = String::from("Timed on a database loaded by an earlier run.");
    if opts.reuse.is_none() {
        if postgres {
            loaded = load(clickledger_store::open(&target).await.unwrap(), &opts).await;
        } else {
            let store = Arc::new(SqliteStore::open_for_bulk_load(&sqlite_file).unwrap());
            loaded = load(store.clone(), &opts).await;
            store.checkpoint().await.unwrap();
        }
    }
    // time the reports through the real endpoint
    let opened = Instant::now();
    let store = clickledger_store::open(&target).await.unwrap();
    let opened = opened.elapsed();
    if postgres {
        // what autovacuum does as tables fill; the servers this benchmark
        // runs on here have it off, which left every table without
        // statistics and the planner sorting rollups on disk
        let analyzed = Instant::now();
        clickledger_testdb::connect(&target)
            .await
            .unwrap()
            .batch_execute("ANALYZE")
            .await
            .unwrap();
        loaded.push_str(&format!(
            " ANALYZE (autovacuum is off on this server) took {:.1} s.",
            analyzed.elapsed().as_secs_f64()
        ));
    }
    clickledger_server::ensure_admin_key(store.as_ref(), Some("bench"))
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let settings = Settings {
        report_timezones: opts.timezones(),
        ..Settings::default()
    };
    let running = clickledger_server::start(store.clone(), settings, listener)
        .await
        .unwrap();
    // a timezone named on a database loaded without it: its days are
    // filled in behind (SQLite); time the reports once they are
    let filling = Instant::now();
    loop {
        let kept = store.keep_local_days(&[], 0).await.unwrap();
        if postgres || kept.iter().all(|k| k.since_ms == 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if filling.elapsed() > Duration::from_millis(150) {
        eprintln!(
            "local days filled in: {:.1} s",
            filling.elapsed().as_secs_f64()
        );
    }
    let (beside_done, beside_stop) = tokio::sync::oneshot::channel::<()>();
    let beside = (opts.clicks_beside > 0).then(|| {
        let links = (0..100)
            .flat_map(|a| (0..10).map(move |k| format!("lnk_{a}_{k}")))
            .collect();
        let connections = opts.clicks_beside;
        tokio::spawn(async move {
            let done = async {
                let _ = beside_stop.await;
            };
            crate::load::run_until(
                &[addr],
                connections,
                None,
                crate::click_requests(links),
                done,
            )
            .await
        })
    });
    let client = reqwest::Client::new();
    let mut lines = String::new();
    let chosen = |name: &str| {
        opts.only
            .as_ref()
            .is_none_or(|o| o.split('|').any(|o| name.contains(o)))
    };
    for (name, q) in shapes(opts.days).into_iter().filter(|(n, _)| chosen(n)) {
        let (mut best, mut worst) = (Duration::MAX, Duration::ZERO);
        let mut figures = (0, 0, 0);
        // one warm-up, then the best of 3
        for run in 0..4 {
            let t = Instant::now();
            let v: serde_json::Value = client
                .get(format!("http://{addr}/api/v1/reports?{q}&limit=10"))
                .bearer_auth("bench")
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if run > 0 {
                best = best.min(t.elapsed());
                worst = worst.max(t.elapsed());
            }
            let total = |k: &str| v["totals"][k].as_u64().unwrap_or(0);
            figures = (
                v["total_rows"].as_u64().unwrap_or(0),
                total("clicks"),
                total("conversions"),
            );
        }
        lines.push_str(&format!(
            "| {name} | {} | {} | {} | {:.0} ms |\n",
            group(figures.0),
            group(figures.1),
            group(figures.2),
            best.as_secs_f64() * 1000.0
        ));
        if beside.is_some() {
            eprintln!(
                "{name}: {:.0} ms (slowest {:.0} ms)",
                best.as_secs_f64() * 1000.0,
                worst.as_secs_f64() * 1000.0
            );
        } else {
            eprintln!("{name}: {:.0} ms", best.as_secs_f64() * 1000.0);
        }
    }
    if let Some(load) = beside {
        let _ = beside_done.send(());
        let out = load.await.expect("the click load");
        let redirected: u64 = out
            .statuses
            .iter()
            .filter(|(s, _)| *s == 302)
            .map(|(_, n)| n)
            .sum();
        eprintln!(
            "clicks beside the reports: {:.0}/s redirected ({} in {:.1} s; statuses {:?}, {} errors)",
            redirected as f64 / out.elapsed.as_secs_f64(),
            redirected,
            out.elapsed.as_secs_f64(),
            out.statuses,
            out.errors
        );
    }
    running.shutdown().await;
    // sizes after the reports: a reused file has been migrated by now
    let mut sizes = String::new();
    // (a run of some reports only, e.g. under a profiler, measures no sizes)
    if !postgres && opts.only.is_none() {
        let db = std::path::PathBuf::from(&target);
        let bytes = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
        let clicks_bytes = crate::click_bytes(&db);
        let n = opts.clicks as f64;
        let all = crate::table_bytes(&db);
        let conversion_rollups: u64 = all
            .iter()
            .filter(|(t, _)| t.starts_with("conv_rollup_"))
            .map(|(_, b)| b)
            .sum();
        let tables: Vec<String> = all
            .into_iter()
            .take(12)
            .map(|(t, b)| format!("`{t}` {:.0}", b as f64 / n))
            .collect();
        sizes = format!(
            " File: {:.1} MB; clicks, user agents and click rollups take **{:.0} bytes per click**; the conversion rollups {:.0} bytes per conversion. Bytes per click by table: {}.",
            bytes as f64 / 1e6,
            clicks_bytes as f64 / n,
            conversion_rollups as f64 / opts.conversions.max(1) as f64,
            tables.join(", ")
        );
    }
    let mut kept = String::new();
    if let Some(to) = &opts.keep {
        if let Some(db) = scratch.take() {
            let url = db.keep().await.expect("the kept database renamed");
            kept = format!("\n\nKept the database at {url}");
        } else if opts.reuse.is_none() {
            // the server is stopped; its WAL goes with the file
            for ext in ["", "-wal", "-shm", ".key"] {
                let from = dir.join(format!("reports.db{ext}"));
                if from.exists() {
                    std::fs::copy(&from, to.with_extension(format!("db{ext}")))
                        .expect("kept database");
                }
            }
            kept = format!(
                "\n\nKept the database at {}",
                to.with_extension("db").display()
            );
        }
    }
    drop(scratch);
    let _ = std::fs::remove_dir_all(&dir);
    format!(
        "## Reports on {} clicks over {} days ({})\n\n{loaded}{sizes} Opening the store took {:.1} s.\n\n\
         | report | rows | clicks counted | conversions counted | best of 3 |\n| --- | ---: | ---: | ---: | ---: |\n{lines}{kept}",
        group(opts.clicks),
        opts.days,
        if postgres { "PostgreSQL" } else { "SQLite" },
        opened.as_secs_f64(),
    )
}
