//! Reports against a naive recount of the raw records, on random data,
//! across timezones (half-hour, 45-minute and DST-changing ones).

mod common;

use std::collections::BTreeMap;

use clickledger_domain::ClickId;
use clickledger_server::util::now_ms;
use clickledger_server::Settings;
use clickledger_store::Click;
use common::*;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{json, Value};

const DAY: i64 = 86_400_000;

fn label(ms: i64, tz: &TimeZone, group: &str) -> String {
    let z = Timestamp::from_millisecond(ms)
        .unwrap()
        .to_zoned(tz.clone());
    let d = z.date();
    match group {
        "hour" => format!("{d} {:02}:00", z.hour()),
        "day" => d.to_string(),
        "month" => format!("{:04}-{:02}", d.year(), d.month()),
        "week" => {
            let back = d.weekday().to_monday_zero_offset() as i64;
            d.checked_sub(jiff::Span::new().days(back))
                .unwrap()
                .to_string()
        }
        // no time grouping: one label
        "" => String::new(),
        _ => unreachable!(),
    }
}

/// A click on the setup's link at `ts`, its sub1, sub2, country, device,
/// uniqueness, bot flag and test flag drawn from `rng`.
fn random_click(s: &Setup, rng: &mut rand::rngs::StdRng, i: u128, ts: i64) -> Click {
    let subs = ["a", "b", "c"];
    let countries = ["DE", "IN", "US", ""];
    // device, OS and browser follow from the user agent
    let device = ["mobile", "desktop", "tablet"][rng.random_range(0..3)];
    Click {
        id: ClickId::new(ts as u64, i),
        ts_ms: ts,
        link_id: s.link_id.clone(),
        offer_id: s.offer_id.clone(),
        affiliate_id: s.affiliate_id.clone(),
        sub1: Some(subs[rng.random_range(0..3)].to_string()),
        sub2: Some(format!("x{}", rng.random_range(0..4))),
        sub3: None,
        sub4: None,
        sub5: None,
        source: Some(["fb", "tt", ""][rng.random_range(0..3)].to_string())
            .filter(|s| !s.is_empty()),
        extra: Default::default(),
        params_cut: 0,
        ip: "192.0.2.1".into(),
        country: countries[rng.random_range(0..4)].into(),
        user_agent: format!("agent of a {device}"),
        device: device.into(),
        os: "ios".into(),
        browser: "safari".into(),
        referer_host: String::new(),
        unique: rng.random_bool(0.7),
        bot: rng.random_bool(0.1),
        suspicious: false,
        test: rng.random_bool(0.05),
        blocked: false,
        rule: None,
        target: None,
        flow_offer: false,
    }
}

/// A report of clicks by `group` (a time grouping, or '' for none) and
/// `dim` over whole days: its rows by (time label, `dim`'s value), each
/// the figures `fields` names, after checking the totals' first figure
/// is the sum of the rows'.
async fn rows_by(
    app: &TestApp,
    (group, dim): (&str, &str),
    query: &str,
    fields: &[&str],
) -> BTreeMap<(String, String), Vec<i64>> {
    let group_by = [group, dim].join(",");
    let path = format!(
        "/api/v1/reports?group_by={}&{query}&limit=100000",
        group_by.trim_start_matches(',')
    );
    let (st, r) = app.get(&path).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    let rows: BTreeMap<(String, String), Vec<i64>> = r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let key = (
                row[group].as_str().unwrap_or_default().to_string(),
                row[dim].as_str().unwrap().to_string(),
            );
            (
                key,
                fields.iter().map(|f| row[f].as_i64().unwrap()).collect(),
            )
        })
        .collect();
    let total: i64 = rows.values().map(|v| v[0]).sum();
    assert_eq!(r["totals"][fields[0]], total, "{path}");
    rows
}

/// Midnight UTC starting `day` (`2026-08-10`).
fn at(day: &str) -> i64 {
    clickledger_domain::time::parse_rfc3339_ms(&format!("{day}T00:00:00.000Z")).unwrap()
}

/// The first instant of the local day holding `ms`.
fn first_instant(ms: i64, tz: &TimeZone) -> i64 {
    Timestamp::from_millisecond(ms)
        .unwrap()
        .to_zoned(tz.clone())
        .start_of_day()
        .unwrap()
        .timestamp()
        .as_millisecond()
}

/// A tracker that keeps local days for Kolkata and New York (their day
/// tables hold those days beside UTC's); Kathmandu and London are read
/// from UTC days and their corrections.
fn kept_timezones() -> Settings {
    Settings {
        report_timezones: vec!["Asia/Kolkata".into(), "America/New_York".into()],
        ..Default::default()
    }
}

#[tokio::test]
async fn report_rows_and_totals_equal_a_recount_of_raw_rows() {
    let app = TestApp::spawn_with(kept_timezones()).await;
    // a new tracker keeps them from the start: Kolkata's days start at
    // 18:30 UTC, New York's at 04:00 and 05:00
    let kept = app.store.keep_local_days(&[], now_ms()).await.unwrap();
    let h = 3_600_000;
    let phases: Vec<(i64, i64)> = kept.iter().map(|l| (l.phase_ms, l.since_ms)).collect();
    assert_eq!(phases, vec![(4 * h, 0), (5 * h, 0), (18 * h + h / 2, 0)]);
    let s = app.setup().await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let now = now_ms();
    let mut clicks = Vec::new();
    for i in 0..3000u128 {
        let ts = now - rng.random_range(0..40 * DAY);
        clicks.push(random_click(&s, &mut rng, i, ts));
    }
    for chunk in clicks.chunks(500) {
        app.store.insert_clicks(chunk).unwrap();
    }
    // conversions on a random fifth of the real clicks within the window
    let mut converted = Vec::new();
    for c in clicks
        .iter()
        .filter(|c| !c.test && now - c.ts_ms < 29 * DAY)
    {
        if rng.random_bool(0.2) {
            let amount = format!(
                "{}.{:02}",
                rng.random_range(1..200),
                rng.random_range(0..100)
            );
            let (_, v) = app
                .postback(&[
                    ("token", &s.token),
                    ("click_id", &c.id.encode()),
                    ("event", "sale"),
                    ("txid", &c.id.encode()),
                    ("amount", &amount),
                ])
                .await;
            assert_eq!(v["result"], "accepted", "{v}");
            converted.push((c, v["payout"].as_str().unwrap().to_string()));
        }
    }
    assert!(converted.len() > 200);

    for tz_name in [
        "UTC",
        "Asia/Kolkata",
        "Asia/Kathmandu",
        "America/New_York",
        "Europe/London",
    ] {
        let tz = TimeZone::get(tz_name).unwrap();
        // the whole traffic, and a range whose ends cut through it
        let first_instant = |ms: i64| first_instant(ms, &tz);
        // local weeks and months, and a range with no time grouping, are
        // read from UTC week and day rows corrected by 15-minute ones; a
        // filter on every sub1 (it leaves every click) makes a sub2 report
        // read raw clicks: no rollup has both; a country filtered on the
        // link reads the link x country rollup, a country or a device
        // filtered on the affiliate the affiliate geo one, a sub2 filtered
        // on the affiliate the affiliate x sub2 one
        let (affiliate, link) = (
            format!("&affiliate={}", s.affiliate_id),
            format!("&link={}", s.link_id),
        );
        for (group, dim, days, extra) in [
            ("day", "sub1", (45, 1), ""),
            ("hour", "country", (45, 1), ""),
            ("month", "device", (45, 1), ""),
            ("week", "sub1", (45, 1), ""),
            ("", "country", (45, 1), ""),
            ("week", "device", (20, -3), ""),
            ("", "sub1", (20, -3), ""),
            ("day", "sub2", (45, 1), ""),
            ("week", "sub2", (20, -3), ""),
            ("day", "sub2", (45, 1), "&sub1=a,b,c"),
            ("day", "country", (45, 1), &affiliate),
            ("week", "device", (20, -3), &affiliate),
            ("day", "sub2", (45, 1), &affiliate),
            ("", "sub2", (20, -3), &affiliate),
            ("week", "country", (20, -3), &link),
            ("day", "affiliate", (45, 1), ""),
            ("", "affiliate", (20, -3), ""),
            // the pairs' own rollups
            ("day", "source,country", (45, 1), ""),
            ("week", "source,device", (20, -3), ""),
            ("", "source,sub1", (20, -3), ""),
            ("hour", "sub1,country", (45, 1), ""),
            ("month", "sub1,device", (45, 1), ""),
            ("day", "link,device", (45, 1), ""),
        ] {
            let from = label(now - days.0 * DAY, &tz, "day");
            let to = label(now + days.1 * DAY, &tz, "day");
            let (from_ms, to_ms) = (
                first_instant(now - days.0 * DAY),
                first_instant(now + (days.1 + 1) * DAY),
            );
            let within = |c: &&Click| from_ms <= c.ts_ms && c.ts_ms < to_ms;
            let group_by = [group, dim].join(",");
            let group_by = group_by.trim_start_matches(',');
            let path = format!(
                "/api/v1/reports?group_by={group_by}&tz={tz_name}&from={from}&to={to}&limit=100000{extra}"
            );
            let (st, r) = app.get(&path).await;
            assert_eq!(st, StatusCode::OK, "{r}");
            // the naive recount
            let mut expect: BTreeMap<(String, String), (i64, i64, i64)> = BTreeMap::new();
            // a click's value of each dimension, joined by '|'
            let value_of = |c: &Click| -> String {
                let one = |d: &str| match d {
                    "sub1" => c.sub1.clone().unwrap(),
                    "sub2" => c.sub2.clone().unwrap(),
                    "country" => c.country.clone(),
                    "affiliate" => c.affiliate_id.clone(),
                    "source" => c.source.clone().unwrap_or_default(),
                    "link" => c.link_id.clone(),
                    _ => c.device.clone(),
                };
                dim.split(',').map(one).collect::<Vec<_>>().join("|")
            };
            for c in clicks.iter().filter(|c| !c.test).filter(within) {
                let v = value_of(c);
                let e = expect.entry((label(c.ts_ms, &tz, group), v)).or_default();
                e.0 += 1;
                e.1 += c.unique as i64;
            }
            let mut payout_by_key: BTreeMap<(String, String), rust_decimal::Decimal> =
                BTreeMap::new();
            for (c, payout) in converted.iter().filter(|(c, _)| within(c)) {
                let v = value_of(c);
                let key = (label(c.ts_ms, &tz, group), v);
                expect.entry(key.clone()).or_default().2 += 1;
                *payout_by_key.entry(key).or_default() +=
                    rust_decimal::Decimal::from_str_exact(payout).unwrap();
            }
            let rows = r["rows"].as_array().unwrap();
            assert_eq!(rows.len(), expect.len(), "{tz_name} {group},{dim}");
            let (mut sum_clicks, mut sum_conv, mut sum_payout) =
                (0, 0, rust_decimal::Decimal::ZERO);
            for row in rows {
                let key = (
                    row[group].as_str().unwrap_or_default().to_string(),
                    dim.split(',')
                        .map(|d| row[d].as_str().unwrap())
                        .collect::<Vec<_>>()
                        .join("|"),
                );
                let e = expect
                    .get(&key)
                    .unwrap_or_else(|| panic!("unexpected row {row}"));
                assert_eq!(row["clicks"], e.0, "{tz_name} {key:?}");
                assert_eq!(row["unique_clicks"], e.1, "{tz_name} {key:?}");
                assert_eq!(row["conversions"], e.2, "{tz_name} {key:?}");
                let payout =
                    rust_decimal::Decimal::from_str_exact(row["payout"].as_str().unwrap()).unwrap();
                assert_eq!(
                    payout,
                    payout_by_key.get(&key).copied().unwrap_or_default(),
                    "{tz_name} {key:?}"
                );
                sum_clicks += row["clicks"].as_i64().unwrap();
                sum_conv += row["conversions"].as_i64().unwrap();
                sum_payout += payout;
            }
            let t = &r["totals"];
            assert_eq!(t["clicks"], sum_clicks);
            assert_eq!(t["conversions"], sum_conv);
            assert_eq!(
                rust_decimal::Decimal::from_str_exact(t["payout"].as_str().unwrap()).unwrap(),
                sum_payout
            );
            let in_range = clicks.iter().filter(|c| !c.test).filter(within);
            assert_eq!(sum_clicks, in_range.count() as i64);
            let in_range = converted.iter().filter(|(c, _)| within(c));
            assert_eq!(sum_conv, in_range.count() as i64);
        }
    }
}

/// Ranges holding whole UTC months read a month row per key, corrected by
/// the day rows (or, off the UTC day, the 15-minute rows) that fall
/// outside the range or in another label: every row still equals a recount.
#[tokio::test]
async fn month_rows_and_their_corrections_equal_a_recount() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let (first, last) = (at("2026-06-20"), at("2026-11-10"));
    let clicks: Vec<Click> = (0..4000u128)
        .map(|i| {
            let ts = rng.random_range(first..last);
            random_click(&s, &mut rng, i, ts)
        })
        .collect();
    for chunk in clicks.chunks(500) {
        app.store.insert_clicks(chunk).unwrap();
    }
    for (tz_name, group, from, to) in [
        // July to October, less July 1st: four month rows and a day
        ("UTC", "", "2026-07-02", "2026-10-31"),
        ("UTC", "month", "2026-06-25", "2026-11-05"),
        ("UTC", "week", "2026-07-01", "2026-09-30"),
        ("Asia/Kolkata", "month", "2026-07-01", "2026-10-31"),
        ("Asia/Kolkata", "", "2026-07-02", "2026-09-30"),
        ("America/New_York", "month", "2026-06-21", "2026-11-09"),
    ] {
        let tz = TimeZone::get(tz_name).unwrap();
        let (from_ms, to_ms) = (
            first_instant(at(from) + DAY / 2, &tz),
            first_instant(at(to) + DAY + DAY / 2, &tz),
        );
        for dim in ["sub1", "country"] {
            let mut expect: BTreeMap<(String, String), Vec<i64>> = BTreeMap::new();
            for c in clicks
                .iter()
                .filter(|c| !c.test && from_ms <= c.ts_ms && c.ts_ms < to_ms)
            {
                let v = if dim == "sub1" {
                    c.sub1.clone().unwrap()
                } else {
                    c.country.clone()
                };
                let e = expect
                    .entry((label(c.ts_ms, &tz, group), v))
                    .or_insert(vec![0; 3]);
                e[0] += 1;
                e[1] += c.unique as i64;
                e[2] += c.bot as i64;
            }
            let query = format!("tz={tz_name}&from={from}&to={to}");
            let fields = ["clicks", "unique_clicks", "bot_clicks"];
            let got = rows_by(&app, (group, dim), &query, &fields).await;
            assert_eq!(got, expect, "{tz_name} {group} {dim} {from}..{to}");
        }
    }
}

/// A sub1 per click (an affiliate's own click id there) fills a day's cap
/// of sub1 values in the rollups; the rest are counted as '(other)', the
/// day is recorded, and reports by sub1 over it read raw clicks: every
/// value, exact. Other reports, and other days, read the rollups, and
/// their totals hold the '(other)' clicks.
#[tokio::test]
async fn a_sub1_per_click_past_the_days_cap_is_reported_exactly_from_raw_clicks() {
    use clickledger_store::sub_guard::{DISTINCT_PER_DAY, OTHER};
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(19);
    let (capped, calm) = (at("2026-08-10"), at("2026-09-15"));
    let over = 40;
    let mut clicks: Vec<Click> = Vec::new();
    // 'spring' and the click ids: 40 values more than the cap
    for i in 0..(30 + DISTINCT_PER_DAY - 1 + over) as u128 {
        let ts = capped + rng.random_range(0..DAY);
        let mut c = random_click(&s, &mut rng, i, ts);
        c.test = false;
        // 30 clicks of a campaign first, kept as itself; then a click id
        c.sub1 = Some(if i < 30 {
            "spring".into()
        } else {
            format!("k{i}")
        });
        clicks.push(c);
    }
    for i in 0..300u128 {
        let ts = calm + rng.random_range(0..DAY);
        clicks.push(random_click(&s, &mut rng, 1_000_000 + i, ts));
    }
    for chunk in clicks.chunks(500) {
        app.store.insert_clicks(chunk).unwrap();
    }
    app.store.flush_rollups().await.unwrap();

    // the rollup kept the cap of values and '(other)'; the day is recorded
    let scalar = async |sql: &str| -> i64 {
        match app.dir.postgres() {
            None => rusqlite::Connection::open(app.dir.0.join("test.db"))
                .unwrap()
                .query_row(sql, [], |r| r.get(0))
                .unwrap(),
            Some(db) => db
                .client()
                .await
                .unwrap()
                .query_one(sql, &[])
                .await
                .unwrap()
                .get(0),
        }
    };
    let kept = scalar(&format!(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM rollup_sub1_alone_d WHERE bucket_ms = {capped}"
    ))
    .await;
    assert_eq!(
        kept,
        DISTINCT_PER_DAY as i64 + 1,
        "the cap's values and '(other)'"
    );
    let others = scalar(&format!(
        "SELECT CAST(COALESCE(SUM(clicks), 0) AS BIGINT) FROM rollup_sub1_alone_d \
         WHERE bucket_ms = {capped} AND sub1 = '{OTHER}'"
    ))
    .await;
    assert_eq!(others, over as i64);
    let recorded = scalar(&format!(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM sub_value_overflows WHERE slot = 1 AND day_ms = {capped}"
    ))
    .await;
    assert_eq!(recorded, 1);

    // each report against a recount of the raw clicks
    let recount = |from: &str, to: &str, (group, dim): (&str, &str), sub1: &[&str]| {
        let (from, to) = (at(from), at(to) + DAY);
        let mut expect: BTreeMap<(String, String), Vec<i64>> = BTreeMap::new();
        for c in clicks.iter().filter(|c| {
            !c.test
                && from <= c.ts_ms
                && c.ts_ms < to
                && (sub1.is_empty() || sub1.contains(&c.sub1.as_deref().unwrap_or_default()))
        }) {
            let v = match dim {
                "sub1" => c.sub1.clone().unwrap_or_default(),
                "sub2" => c.sub2.clone().unwrap_or_default(),
                _ => c.offer_id.clone(),
            };
            let label = label(c.ts_ms, &TimeZone::UTC, group);
            expect.entry((label, v)).or_insert(vec![0])[0] += 1;
        }
        expect
    };
    for (shape, from, to, sub1) in [
        (("", "sub1"), "2026-08-10", "2026-08-10", &[][..]),
        (("day", "sub1"), "2026-08-01", "2026-09-30", &[]),
        (("month", "sub1"), "2026-07-01", "2026-09-30", &[]),
        // a filter by the slot reads raw clicks too
        (
            ("", "offer"),
            "2026-08-01",
            "2026-08-31",
            &["k77", "spring"],
        ),
        // other slots, and the slot over other days, read the rollups
        (("", "sub2"), "2026-08-10", "2026-08-10", &[]),
        (("day", "offer"), "2026-08-01", "2026-09-30", &[]),
        (("", "sub1"), "2026-09-15", "2026-09-30", &[]),
    ] {
        let mut query = format!("tz=UTC&from={from}&to={to}");
        if !sub1.is_empty() {
            query.push_str(&format!("&sub1={}", sub1.join(",")));
        }
        let got = rows_by(&app, shape, &query, &["clicks"]).await;
        let expect = recount(from, to, shape, sub1);
        assert_eq!(got.len(), expect.len(), "{shape:?} {query}");
        assert_eq!(got, expect, "{shape:?} {query}");
    }
}

#[tokio::test]
async fn report_metrics_formats_sorting_and_refusals() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let mut cids = Vec::new();
    for i in 0..6 {
        let loc = app
            .click_location(&s.link_id, &format!("sub1=s{}", i % 2))
            .await;
        cids.push(click_id_of(&loc));
    }
    for (i, cid) in cids.iter().enumerate().take(3) {
        let (_, v) = app
            .postback(&[
                ("token", &s.token),
                ("click_id", cid),
                ("event", "sale"),
                ("txid", &format!("t{i}")),
                ("amount", "10.01"),
            ])
            .await;
        assert_eq!(v["result"], "accepted");
    }
    app.postback(&[
        ("token", &s.token),
        ("click_id", &cids[0]),
        ("event", "sale"),
        ("txid", "t0"),
        ("amount", "10.01"),
    ])
    .await;
    app.postback(&[
        ("token", &s.token),
        ("click_id", &cids[0]),
        ("event", "lead"),
        ("payout", "4"),
    ])
    .await;
    app.postback(&[("token", &s.token), ("click_id", "nonsense")])
        .await;

    let (st, r) = app
        .get("/api/v1/reports?group_by=sub1&sort=-conversions")
        .await;
    assert_eq!(st, StatusCode::OK, "{r}");
    let rows = r["rows"].as_array().unwrap();
    assert_eq!(rows[0]["sub1"], "s0");
    let s0 = &rows[0];
    assert_eq!(s0["clicks"], 3);
    assert_eq!(s0["conversions"], 3);
    assert_eq!(s0["conversions_by_event"], json!({"lead": 1, "sale": 2}));
    assert_eq!(s0["approved"], 2);
    assert_eq!(s0["pending"], 1);
    assert_eq!(s0["payout"], "6.00"); // 2 x 3.003, rounded per conversion
    assert_eq!(s0["pending_payout"], "4.00");
    assert_eq!(s0["revenue"], "8.00");
    assert_eq!(s0["profit"], "2.00");
    assert_eq!(s0["cr"], "100.00");
    assert_eq!(s0["approval_rate"], "66.67");
    assert_eq!(s0["duplicate_rate"], "25.00");
    assert_eq!(s0["epc"], "2.0000");
    assert!(s0["median_delay_seconds"].as_i64().is_some());
    assert_eq!(
        s0["failed_postbacks"],
        Value::Null,
        "postback failures do not split by sub1"
    );
    assert_eq!(r["totals"]["payout"], "9.00");
    assert_eq!(r["totals"]["clicks"], 6);
    // the body, written row by row as it goes, is the text a JSON object
    // map gives: every object's keys in name order, group names among the
    // metrics ("sub1" between "revenue" and "suspicious_clicks")
    let body = app
        .get_text("/api/v1/reports?group_by=day,sub1,event")
        .await;
    let parsed: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(parsed["rows"].as_array().unwrap().len(), 5, "{body}");
    assert_eq!(serde_json::to_string(&parsed).unwrap(), body);
    // by affiliate and sub1 reads the shape without the offer: the same
    // rows and totals as by sub1 (one affiliate here), the affiliate named
    let (_, by_affiliate) = app
        .get("/api/v1/reports?group_by=affiliate,sub1&sort=-conversions")
        .await;
    let without_affiliate = |rows: &serde_json::Value| -> Vec<serde_json::Value> {
        let rows = rows.as_array().unwrap().iter().cloned();
        rows.map(|mut row| {
            let affiliate = row.as_object_mut().unwrap().remove("affiliate");
            assert_eq!(affiliate, Some(json!(s.affiliate_id)), "{row}");
            row
        })
        .collect()
    };
    assert_eq!(
        without_affiliate(&by_affiliate["rows"]),
        r["rows"].as_array().unwrap().clone()
    );
    assert_eq!(by_affiliate["totals"], r["totals"]);

    let (_, r) = app
        .get("/api/v1/reports?group_by=day,offer&date_basis=conversion")
        .await;
    assert_eq!(r["rows"][0]["failed_postbacks"], 1, "{r}");
    assert_eq!(r["totals"]["failed_postbacks"], 1);
    let (_, r) = app
        .get(&format!(
            "/api/v1/reports?group_by=advertiser&advertiser={}",
            s.advertiser_id
        ))
        .await;
    assert_eq!(r["rows"][0]["advertiser"], s.advertiser_id.as_str());
    let (_, r) = app.get("/api/v1/reports?group_by=sub1&sub1=s1").await;
    assert_eq!(r["rows"].as_array().unwrap().len(), 1);
    let (_, r) = app
        .get("/api/v1/reports?group_by=sub1&limit=1&offset=1")
        .await;
    assert_eq!(
        (
            r["total_rows"].as_u64(),
            r["rows"].as_array().unwrap().len()
        ),
        (Some(2), 1)
    );
    assert_eq!(r["rows"][0]["sub1"], "s1");
    let (_, r) = app.get("/api/v1/reports?group_by=event,status").await;
    let events: Vec<&str> = r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["event"].as_str().unwrap())
        .collect();
    assert!(events.contains(&"sale") && events.contains(&"lead"), "{r}");

    let csv = app
        .get_text("/api/v1/reports?group_by=sub1&format=csv")
        .await;
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("sub1,clicks,unique_clicks"), "{csv}");
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(lines[3].starts_with("TOTAL,6,"), "{csv}");
    assert!(lines[1].contains("lead:1;sale:2"), "{csv}");

    for (q, field) in [
        ("tz=Mars/Olympus", "tz"),
        ("group_by=colour", "group_by"),
        ("date_basis=now", "date_basis"),
        ("sort=zzz", "sort"),
        ("from=2026-02-30", "from"),
    ] {
        let (st, v) = app.get(&format!("/api/v1/reports?{q}")).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{q}");
        assert!(
            v["message"].as_str().unwrap().starts_with(field),
            "{q}: {v}"
        );
    }
}

/// Rows by advertiser are kept per offer until the end: two offers of one
/// advertiser make one row, with their figures added, and refused
/// postbacks (logged per offer) land in it too.
#[tokio::test]
async fn two_offers_of_one_advertiser_make_one_row() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let offer = app
        .create(
            "/api/v1/offers",
            json!({
                "advertiser_id": s.advertiser_id, "name": "Second",
                "destination_url": "https://adv.example/two?cid={click_id}",
                "currency": "USD",
                "events": [{"name": "sale", "payout": {"type": "fixed", "amount": "1.25"}}]
            }),
        )
        .await;
    let link = &app.link(&offer["id"], &s.affiliate_id).await;
    for _ in 0..2 {
        app.click(&s.link_id).await;
    }
    let mut second = Vec::new();
    for _ in 0..3 {
        second.push(app.click(link).await);
    }
    for (i, cid) in second.iter().take(2).enumerate() {
        let txid = format!("t{i}");
        let query = [
            ("token", s.token.as_str()),
            ("click_id", cid),
            ("event", "sale"),
            ("txid", &txid),
        ];
        let (_, v) = app.postback(&query).await;
        assert_eq!(v["result"], "accepted", "{v}");
    }
    // a postback refused on the second offer: an event it does not have
    let (_, v) = app
        .postback(&[
            ("token", &s.token),
            ("click_id", &second[2]),
            ("event", "nope"),
        ])
        .await;
    assert_eq!(v["error"], "unknown_event", "{v}");

    let (_, by_offer) = app.get("/api/v1/reports?group_by=offer").await;
    let clicks: Vec<i64> = by_offer["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["clicks"].as_i64().unwrap())
        .collect();
    assert_eq!(clicks.len(), 2, "{by_offer}");
    // refused postbacks split by time and advertiser only (not by affiliate)
    let one_affiliate = format!("advertiser&affiliate={}", s.affiliate_id);
    for (group_by, failed) in [
        ("advertiser", json!(1)),
        ("day,advertiser", json!(1)),
        (one_affiliate.as_str(), Value::Null),
    ] {
        let (st, r) = app
            .get(&format!("/api/v1/reports?group_by={group_by}"))
            .await;
        assert_eq!(st, StatusCode::OK, "{r}");
        let rows = r["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 1, "{group_by}: {r}");
        let row = &rows[0];
        assert_eq!(row["advertiser"], s.advertiser_id.as_str(), "{r}");
        assert_eq!(row["clicks"], 5, "{group_by}: {r}");
        assert_eq!(row["conversions"], 2, "{group_by}: {r}");
        assert_eq!(row["payout"], "2.50", "{group_by}: {r}");
        assert_eq!(row["failed_postbacks"], failed, "{group_by}: {r}");
        assert_eq!(r["totals"]["clicks"], 5, "{r}");
        assert_eq!(r["totals"]["failed_postbacks"], failed, "{r}");
    }
}

#[tokio::test]
async fn impossible_report_parameters_are_refused_naming_them() {
    let app = TestApp::spawn().await;
    for (query, param) in [
        ("limit=0", "limit"),
        ("limit=100001", "limit"),
        ("limit=-1", "limit"),
        ("delayed_after=-1", "delayed_after"),
        ("date_basis=sale", "date_basis"),
        ("from=2026-11-02&to=2026-11-01", "from"),
        ("bogus=1", "bogus"),
    ] {
        let (st, v) = app.get(&format!("/api/v1/reports?{query}")).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{query}: {v}");
        assert_eq!(v["error"], "invalid_field", "{query}: {v}");
        let m = v["message"].as_str().unwrap();
        assert!(m.starts_with(&format!("{param}: ")), "{query}: {m}");
    }
    let (st, v) = app.get("/api/v1/reports?limit=1&delayed_after=0").await;
    assert_eq!(st, StatusCode::OK, "{v}");
}

/// A conversion as the recount reads it from `GET /api/v1/conversions`.
struct Recounted {
    sub1: String,
    sub2: String,
    device: String,
    country: String,
    affiliate: String,
    event: String,
    status: String,
    refund: bool,
    duplicates: i64,
    payout_base: Option<rust_decimal::Decimal>,
    revenue_base: Option<rust_decimal::Decimal>,
}

/// Report figures per row key, recounted from conversion rows.
#[derive(Default, Debug, PartialEq)]
struct Figures {
    conversions: i64,
    approved: i64,
    pending: i64,
    refunds: i64,
    /// Counted by the recount; a report shows only the rate.
    duplicates: i64,
    duplicate_rate: String,
    unconverted: i64,
    payout: rust_decimal::Decimal,
    pending_payout: rust_decimal::Decimal,
    revenue: rust_decimal::Decimal,
}

impl Figures {
    fn of_row(row: &Value) -> Figures {
        let money =
            |k: &str| rust_decimal::Decimal::from_str_exact(row[k].as_str().unwrap()).unwrap();
        Figures {
            conversions: row["conversions"].as_i64().unwrap(),
            approved: row["approved"].as_i64().unwrap(),
            pending: row["pending"].as_i64().unwrap(),
            refunds: row["refunds"].as_i64().unwrap(),
            duplicates: 0,
            duplicate_rate: row["duplicate_rate"].as_str().unwrap().to_string(),
            unconverted: row["unconverted"].as_i64().unwrap(),
            payout: money("payout").normalize(),
            pending_payout: money("pending_payout").normalize(),
            revenue: money("revenue").normalize(),
        }
    }

    fn add(&mut self, c: &Recounted) {
        if c.refund {
            self.refunds += 1;
        } else {
            self.conversions += 1;
            self.duplicates += c.duplicates;
            match c.status.as_str() {
                "approved" => self.approved += 1,
                "pending" => self.pending += 1,
                _ => {}
            }
        }
        match (c.payout_base, c.revenue_base) {
            (Some(p), Some(r)) => match c.status.as_str() {
                "approved" => {
                    self.payout += p;
                    self.revenue += r;
                }
                "pending" => self.pending_payout += p,
                _ => {}
            },
            _ => self.unconverted += 1,
        }
        self.payout = self.payout.normalize();
        self.revenue = self.revenue.normalize();
        self.pending_payout = self.pending_payout.normalize();
    }

    /// The duplicate rate as a report writes it, and the count put away.
    fn finish(&mut self) {
        let all = self.conversions + self.duplicates;
        let mut rate = if all == 0 {
            rust_decimal::Decimal::ZERO
        } else {
            rust_decimal::Decimal::from(self.duplicates * 100) / rust_decimal::Decimal::from(all)
        }
        .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointNearestEven);
        rate.rescale(2);
        self.duplicate_rate = rate.to_string();
        self.duplicates = 0;
    }
}

/// Conversions of every kind through the postback path: sales and leads
/// over three sub1 and two sub2 values, duplicates, leads approved and
/// rejected later, partial chargebacks, EUR conversions with a rate and GBP
/// ones without.
async fn conversions_of_every_kind(app: &TestApp) {
    let s = app.setup().await;
    app.patch(&format!("/api/v1/offers/{}", s.offer_id), json!({"events": [
        {"name": "sale", "payout": {"type": "revshare", "percent": "30"}, "revenue": {"type": "revshare", "percent": "45"}},
        {"name": "lead", "payout": {"type": "fixed", "amount": "2.50"}, "default_status": "pending"},
        {"name": "chargeback", "payout": {"type": "fixed", "amount": "0"}, "reverses": true}]}))
        .await;
    // an EUR offer with today's rate, a GBP one without any
    let today = &clickledger_domain::time::rfc3339_ms(now_ms())[..10];
    let (st, _) = app
        .post(
            "/api/v1/fx-rates",
            json!([{"currency": "EUR", "date": today, "rate": "1.0825"}]),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let mut links = vec![s.link_id.clone()];
    for cur in ["EUR", "GBP"] {
        let offer = app
            .create(
                "/api/v1/offers",
                json!({"advertiser_id": s.advertiser_id, "name": cur,
                "destination_url": "https://x.example/?cid={click_id}", "currency": cur,
                "events": [{"name": "lead", "payout": {"type": "fixed", "amount": "7.35"}}]}),
            )
            .await;
        links.push(app.link(&offer["id"], &s.affiliate_id).await);
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(19);
    let pb = |pairs: Vec<(&'static str, String)>| {
        let mut q: Vec<(&str, String)> = vec![("token", s.token.clone())];
        q.extend(pairs);
        q
    };
    for i in 0..90 {
        let link = &links[if i < 60 { 0 } else { 1 + i % 2 }];
        let loc = app
            .click_location(
                link,
                &format!(
                    "sub1=s{}&sub2=t{}&sub5=v{}",
                    rng.random_range(0..3),
                    rng.random_range(0..2),
                    i % 3
                ),
            )
            .await;
        let cid = click_id_of(&loc);
        let send = |q: Vec<(&'static str, String)>| {
            let app = &app;
            async move {
                let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
                app.postback(&q).await.1
            }
        };
        let txid = format!("o{i}");
        if i >= 60 {
            let v = send(pb(vec![
                ("click_id", cid),
                ("event", "lead".into()),
                ("txid", txid),
            ]))
            .await;
            assert_eq!(v["result"], "accepted", "{v}");
            continue;
        }
        let amount = format!(
            "{}.{:02}",
            rng.random_range(5..300),
            rng.random_range(0..100)
        );
        let sale = rng.random_bool(0.5);
        let event = if sale { "sale" } else { "lead" };
        let base = vec![
            ("click_id", cid.clone()),
            ("event", event.into()),
            ("txid", txid.clone()),
            ("amount", amount),
        ];
        let v = send(pb(base.clone())).await;
        assert_eq!(v["result"], "accepted", "{v}");
        match rng.random_range(0..5) {
            // the same postback again: a duplicate
            0 => {
                send(pb(base.clone())).await;
            }
            // a lead approved or rejected later; a sale charged back in part
            1 | 2 if !sale => {
                let to = if rng.random_bool(0.5) {
                    "approved"
                } else {
                    "rejected"
                };
                let mut q = base.clone();
                q.push(("status", to.into()));
                let v = send(pb(q)).await;
                assert_eq!(v["result"], "updated", "{v}");
            }
            1 | 2 => {
                let v = send(pb(vec![
                    ("click_id", cid),
                    ("event", "chargeback".into()),
                    ("txid", format!("c{i}")),
                    ("original_txid", txid),
                    ("amount", "3.10".into()),
                ]))
                .await;
                assert_eq!(v["result"], "accepted", "{v}");
            }
            _ => {}
        }
    }
}

/// Conversion figures — by status, event, refunds, duplicates, FX with and
/// without a rate — equal a recount of the conversions, however the report
/// reads them (a rollup of each shape, or raw rows), after status changes
/// moved them between statuses.
#[tokio::test]
async fn conversion_figures_by_status_refunds_and_fx_equal_a_recount() {
    // Kathmandu's local days kept: its reports read their day rows
    let app = TestApp::spawn_with(Settings {
        report_timezones: vec!["Asia/Kathmandu".into()],
        ..Default::default()
    })
    .await;
    conversions_of_every_kind(&app).await;
    // the recount, from the conversions themselves
    let (_, list) = app.get("/api/v1/conversions?limit=1000").await;
    let dec = |v: &Value| {
        v.as_str()
            .map(|s| rust_decimal::Decimal::from_str_exact(s).unwrap())
    };
    let all: Vec<Recounted> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Recounted {
            sub1: c["sub1"].as_str().unwrap_or("").to_string(),
            sub2: c["sub2"].as_str().unwrap_or("").to_string(),
            device: c["device"].as_str().unwrap().to_string(),
            country: c["country"].as_str().unwrap().to_string(),
            affiliate: c["affiliate_id"].as_str().unwrap().to_string(),
            event: c["event"].as_str().unwrap().to_string(),
            status: c["status"].as_str().unwrap().to_string(),
            refund: !c["parent_id"].is_null(),
            duplicates: c["duplicates"].as_i64().unwrap(),
            payout_base: dec(&c["payout_base"]),
            revenue_base: dec(&c["revenue_base"]),
        })
        .collect();
    assert!(all.len() > 90, "{}", all.len());
    for status in ["approved", "pending", "rejected"] {
        assert!(
            all.iter().any(|c| c.status == status && !c.refund),
            "{status}"
        );
    }
    assert!(all.iter().any(|c| c.refund));
    assert!(all.iter().any(|c| c.payout_base.is_none()));
    assert!(all.iter().any(|c| c.duplicates > 0));

    let to = label(now_ms() + DAY, &TimeZone::UTC, "day");
    let from = label(now_ms() - DAY, &TimeZone::UTC, "day");
    // status,event and event read the geo rollup; sub1,status the sub one;
    // sub2,status the sub2 one, or the affiliate x sub2 one for the
    // affiliate who has them all (device,status the affiliate geo one);
    // sub1,sub2,status raw rows; by conversion time, the other basis; off
    // the UTC day, status reads the offer's 15-minute rows at either end,
    // device,status the conversions themselves (the geo shape keeps none)
    let affiliate = format!(
        "&affiliate={}",
        list["items"][0]["affiliate_id"].as_str().unwrap()
    );
    for (group_by, extra) in [
        ("status,event", ""),
        ("event", ""),
        ("sub1,status", ""),
        ("sub2,status", ""),
        ("sub2,status", affiliate.as_str()),
        ("device,status", affiliate.as_str()),
        ("sub1,sub2,status", ""),
        ("status", "&date_basis=conversion"),
        ("status", "&tz=Asia/Kathmandu"),
        ("device,status", "&tz=Asia/Kathmandu"),
        ("country,status", ""),
        ("affiliate,event", "&tz=Asia/Kathmandu"),
    ] {
        let (st, r) = app
            .get(&format!(
                "/api/v1/reports?group_by={group_by}&from={from}&to={to}{extra}"
            ))
            .await;
        assert_eq!(st, StatusCode::OK, "{r}");
        let names: Vec<&str> = group_by.split(',').collect();
        let key_of = |c: &Recounted| -> Vec<String> {
            names
                .iter()
                .map(|n| match *n {
                    "status" => c.status.clone(),
                    "event" => c.event.clone(),
                    "sub1" => c.sub1.clone(),
                    "device" => c.device.clone(),
                    "country" => c.country.clone(),
                    "affiliate" => c.affiliate.clone(),
                    _ => c.sub2.clone(),
                })
                .collect()
        };
        let mut expect: BTreeMap<Vec<String>, Figures> = BTreeMap::new();
        let mut total = Figures::default();
        for c in &all {
            expect.entry(key_of(c)).or_default().add(c);
            total.add(c);
        }
        let mut got: BTreeMap<Vec<String>, Figures> = BTreeMap::new();
        for row in r["rows"].as_array().unwrap() {
            let key: Vec<String> = names
                .iter()
                .map(|n| row[*n].as_str().unwrap().to_string())
                .collect();
            got.insert(key, Figures::of_row(row));
        }
        for f in expect.values_mut() {
            f.finish();
        }
        total.finish();
        // clicks without conversions make rows of their own (by sub1 or
        // sub2, status ''): they count no conversion
        let mut none = Figures::default();
        none.finish();
        got.retain(|k, f| expect.contains_key(k) || *f != none);
        assert_eq!(got, expect, "{group_by}{extra}");
        assert_eq!(
            Figures::of_row(&r["totals"]),
            total,
            "{group_by}{extra} totals"
        );
    }
}

/// The migration that added the conversion rollups filled them from the
/// conversions already recorded, and a start after a crash rebuilds them:
/// both give exactly the rows that recording the same conversions one by
/// one gave.
#[tokio::test]
async fn the_migration_fills_conversion_rollups_as_recording_does() {
    if skip_on_postgres("it reads the SQLite file's tables") {
        return;
    }
    let app = TestApp::spawn().await;
    conversions_of_every_kind(&app).await;
    let dir = app.stop().await;
    let c = rusqlite::Connection::open(dir.0.join("test.db")).unwrap();
    let tables = tables_like(&c, "conv_rollup_%");
    // 28 shapes at day, week and month, and the offer's 15-minute rows
    assert_eq!(tables.len(), 85, "{tables:?}");
    let read = |c: &rusqlite::Connection| -> Vec<(String, Vec<String>)> {
        let mut all: Vec<_> = tables.iter().flat_map(|t| rows_of(c, t)).collect();
        all.sort();
        all
    };
    let recorded = read(&c);
    assert!(recorded.len() > 20, "{}", recorded.len());
    for t in &tables {
        c.execute(&format!("DELETE FROM {t}"), []).unwrap();
    }
    let migrations = [
        include_str!("../../store/src/sqlite/migrations/0007_report_rollups.sql"),
        include_str!("../../store/src/sqlite/migrations/0008_link_rollup.sql"),
        include_str!("../../store/src/sqlite/migrations/0009_affiliate_sub1_rollup.sql"),
        include_str!("../../store/src/sqlite/migrations/0010_sub_slot_rollups.sql"),
        include_str!("../../store/src/sqlite/migrations/0011_link_country_rollup.sql"),
        include_str!("../../store/src/sqlite/migrations/0012_month_rollups.sql"),
        include_str!("../../store/src/sqlite/migrations/0013_affiliate_sub_slot_rollups.sql"),
        include_str!("../../store/src/sqlite/migrations/0014_affiliate_geo_rollup.sql"),
        include_str!("../../store/src/sqlite/migrations/0017_sub1_alone_rollup.sql"),
        include_str!(
            "../../store/src/sqlite/migrations/0018_country_and_affiliate_alone_rollups.sql"
        ),
    ];
    let statements: Vec<&str> = migrations
        .iter()
        .flat_map(|m| m.split(";\n"))
        .map(|s| {
            // past the comments heading a migration
            let from = s.find("INSERT INTO").unwrap_or(0);
            s[from..].trim()
        })
        .collect();
    let fills: Vec<&str> = statements
        .iter()
        .copied()
        .filter(|s| s.starts_with("INSERT INTO conv_rollup_"))
        .collect();
    assert_eq!(fills.len(), 122);
    // 0015 dropped the 15-minute tables the day rows were filled from: as
    // they were before it, then dropped as it drops them
    let drops = include_str!(
        "../../store/src/sqlite/migrations/0015_conversion_quarters_from_conversions.sql"
    );
    let dropped: Vec<&str> = drops
        .lines()
        .filter_map(|l| l.strip_prefix("DROP TABLE "))
        .map(|t| t.trim_end_matches(';'))
        .collect();
    assert_eq!(dropped.len(), 18, "{dropped:?}");
    for t in &dropped {
        let create = statements
            .iter()
            .find_map(|s| {
                let at = s.find(&format!("CREATE TABLE {t} ("))?;
                Some(&s[at..])
            })
            .unwrap_or_else(|| panic!("no CREATE TABLE for {t}"));
        c.execute(create, []).unwrap();
    }
    for f in fills {
        c.execute(f, []).unwrap();
    }
    c.execute_batch(drops).unwrap();
    // the pair rollups' migration fills its own from the raw rows
    refill_pairs(&c);
    // so do the click rollups these migrations added (but for the
    // tables 0007 built the geo rollups in, then renamed)
    let exists = |t: &str| {
        c.query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [t],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
            == 1
    };
    let click_fills: Vec<(&str, &str)> = statements
        .iter()
        .filter(|s| s.starts_with("INSERT INTO rollup_"))
        .map(|f| {
            (
                f["INSERT INTO ".len()..].split_whitespace().next().unwrap(),
                *f,
            )
        })
        .filter(|(t, _)| exists(t))
        .collect();
    assert_eq!(click_fills.len(), 82, "{click_fills:?}");
    for (table, f) in click_fills {
        let recorded = rows_of(&c, table);
        assert!(!recorded.is_empty(), "{table}");
        c.execute(&format!("DELETE FROM {table}"), []).unwrap();
        c.execute(f, []).unwrap();
        assert_eq!(rows_of(&c, table), recorded, "{table}");
    }
    // the migration leaves out rows that came to nothing (a status's row
    // after every conversion left it); recording keeps them at zero
    let mut kept = recorded;
    kept.retain(|(_, r)| !zero(r));
    assert_eq!(read(&c), kept);

    // sums lost in a crash: the marker left behind makes the next start
    // rebuild the rollups from the conversions, to the same rows
    for t in &tables {
        c.execute(&format!("DELETE FROM {t}"), []).unwrap();
    }
    c.execute(
        "INSERT INTO meta (k, v) VALUES ('conversion_rollups_pending_since', '0')",
        [],
    )
    .unwrap();
    drop(c);
    let dir = TestApp::spawn_in(dir, Default::default())
        .await
        .stop()
        .await;
    let c = rusqlite::Connection::open(dir.0.join("test.db")).unwrap();
    assert_eq!(read(&c), kept);
}

/// A timezone kept once clicks are rolled up counts from its next local
/// day at least ten minutes away: days before it are read from UTC days
/// (the local rows there lack what was folded before), days after from
/// local rows, and both equal a recount, on this node and on one that
/// does not keep it.
#[tokio::test]
async fn a_timezone_kept_after_rollups_counts_from_its_next_local_day() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let now = now_ms();
    let mut clicks: Vec<Click> = (0..600u128)
        .map(|i| {
            let ts = now - rng.random_range(0..4 * DAY);
            random_click(&s, &mut rng, i, ts)
        })
        .collect();
    app.store.insert_clicks(&clicks).unwrap();
    app.store.flush_rollups().await.unwrap();
    let kolkata = app
        .spawn_beside(Settings {
            report_timezones: vec!["Asia/Kolkata".into()],
            ..Default::default()
        })
        .await;
    let kept = kolkata.store.keep_local_days(&[], now).await.unwrap();
    let phase = 18 * 3_600_000 + 1_800_000;
    assert_eq!(kept.len(), 1, "{kept:?}");
    let since = if on_postgres() {
        let since = kept[0].since_ms;
        assert_eq!(since.rem_euclid(DAY), phase);
        // the node read its clock a little after `now`: a minute's leeway
        assert!(
            since >= now + 600_000 && since < now + 660_000 + DAY,
            "{since} {now}"
        );
        since
    } else {
        // SQLite fills in the days before behind (`local_days::fill_in`)
        filled_in(&kolkata).await;
        clickledger_store::local_day_start(now + 600_000 + DAY - 1, phase)
    };
    // clicks up to the day before it, and for two days from it
    let later: Vec<Click> = (600..1200u128)
        .map(|i| {
            let ts = since - DAY + rng.random_range(0..3 * DAY);
            random_click(&s, &mut rng, i, ts)
        })
        .collect();
    kolkata.store.insert_clicks(&later).unwrap();
    kolkata.store.flush_rollups().await.unwrap();
    clicks.extend(later);
    // the local day from `since` holds every click in it
    let q = clickledger_store::ReportQuery {
        scope: clickledger_store::Scope::All,
        from_ms: since,
        to_ms: since + DAY,
        dimensions: Vec::new(),
        filters: Vec::new(),
        by_conversion_time: false,
        grain: clickledger_store::Grain::Day,
        ranges: vec![(since, since + DAY)],
        whole: false,
        raw: false,
    };
    let rows = kolkata.store.click_buckets(&q).await.unwrap();
    let in_day = clicks
        .iter()
        .filter(|c| !c.test && since <= c.ts_ms && c.ts_ms < since + DAY)
        .count() as i64;
    assert_eq!(rows.iter().map(|r| r.clicks).sum::<i64>(), in_day);
    assert!(rows.iter().all(|r| r.bucket_ms == since), "{rows:?}");
    let tz = TimeZone::get("Asia/Kolkata").unwrap();
    let from = label(now - 5 * DAY, &tz, "day");
    let to = label(since + 3 * DAY, &tz, "day");
    let path = format!(
        "/api/v1/reports?group_by=day,sub1&tz=Asia/Kolkata&from={from}&to={to}&limit=100000"
    );
    let mut expect: BTreeMap<(String, String), i64> = BTreeMap::new();
    for c in clicks.iter().filter(|c| !c.test) {
        *expect
            .entry((label(c.ts_ms, &tz, "day"), c.sub1.clone().unwrap()))
            .or_default() += 1;
    }
    for node in [&kolkata, &app] {
        let (st, r) = node.get(&path).await;
        assert_eq!(st, StatusCode::OK, "{r}");
        let got: BTreeMap<(String, String), i64> = r["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                let key = (
                    row["day"].as_str().unwrap().to_string(),
                    row["sub1"].as_str().unwrap().to_string(),
                );
                (key, row["clicks"].as_i64().unwrap())
            })
            .collect();
        assert_eq!(got, expect);
    }
}

/// A start after a crash rebuilds the local days' rows, clicks' and
/// conversions', to exactly what recording wrote.
#[tokio::test]
async fn a_crash_rebuild_gives_local_days_as_recording_did() {
    if skip_on_postgres("it reads the SQLite file's tables") {
        return;
    }
    let dir = recorded_keeping_local_days().await;
    let c = rusqlite::Connection::open(dir.0.join("test.db")).unwrap();
    let tables = tables_like(&c, "%rollup_%_d");
    assert_eq!(tables.len(), 56, "{tables:?}");
    let read = |c: &rusqlite::Connection| day_rows(c, &tables);
    let recorded = read(&c);
    let local = local_rows(&recorded);
    assert!(local > recorded.len() / 2, "{local} of {}", recorded.len());
    let (_dir, c) = rebuilt_after_a_crash(dir, c, &tables, kept_timezones()).await;
    assert_eq!(read(&c), recorded);
}

/// Empties `tables` and leaves both rollups' markers as a crash that lost
/// every sum would, then starts and stops a tracker on the file, which
/// rebuilds the rollups from the raw rows: the file, reopened.
async fn rebuilt_after_a_crash(
    dir: common::TempDir,
    c: rusqlite::Connection,
    tables: &[String],
    settings: Settings,
) -> (common::TempDir, rusqlite::Connection) {
    for t in tables {
        c.execute(&format!("DELETE FROM {t}"), []).unwrap();
    }
    for marker in ["rollups_pending_since", "conversion_rollups_pending_since"] {
        c.execute("INSERT INTO meta (k, v) VALUES (?1, '0')", [marker])
            .unwrap();
    }
    drop(c);
    let dir = TestApp::spawn_in(dir, settings).await.stop().await;
    let c = rusqlite::Connection::open(dir.0.join("test.db")).unwrap();
    (dir, c)
}

/// Every row of `tables`, sorted, but conversion rows that came to
/// nothing (a day rebuilt from the conversions leaves them out; recording
/// keeps them at zero).
fn day_rows(c: &rusqlite::Connection, tables: &[String]) -> Vec<(String, Vec<String>)> {
    let mut all: Vec<_> = tables.iter().flat_map(|t| rows_of(c, t)).collect();
    all.retain(|(t, r)| !(t.starts_with("conv_") && zero(r)));
    all.sort();
    all
}

/// How many of the rows are local days' (not on a UTC midnight).
fn local_rows(all: &[(String, Vec<String>)]) -> usize {
    all.iter().filter(|(_, r)| bucket_of(r) % DAY != 0).count()
}

/// Waits until every phase the node's store keeps is complete from the
/// start (SQLite fills in the days before a phase kept late).
async fn filled_in(app: &TestApp) {
    for _ in 0..600 {
        let kept = app.store.keep_local_days(&[], now_ms()).await.unwrap();
        if kept.iter().all(|k| k.since_ms == 0) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the local days were not filled in within a minute");
}

/// Local days kept late are filled in behind, day by day, to exactly the
/// rows recording gave, clicks' and conversions' (of every kind): here
/// every local-day row is deleted and the phases marked as kept from a
/// day after the data, as a tracker with history that is told its
/// timezones late keeps them.
#[tokio::test]
async fn local_days_kept_late_are_filled_in_as_recording_wrote_them() {
    if skip_on_postgres("PostgreSQL counts a phase kept late from its next day") {
        return;
    }
    let dir = recorded_keeping_local_days().await;
    let c = rusqlite::Connection::open(dir.0.join("test.db")).unwrap();
    let tables = tables_like(&c, "%rollup_%_d");
    let read = |c: &rusqlite::Connection| day_rows(c, &tables);
    let recorded = read(&c);
    assert!(local_rows(&recorded) > recorded.len() / 2);
    for t in &tables {
        c.execute(&format!("DELETE FROM {t} WHERE bucket_ms % {DAY} != 0"), [])
            .unwrap();
    }
    let later = now_ms() + 2 * DAY;
    c.execute(
        &format!("UPDATE local_days SET since_ms = {later} - (({later} - phase_ms) % {DAY})"),
        [],
    )
    .unwrap();
    assert_eq!(local_rows(&read(&c)), 0);
    drop(c);
    let app = TestApp::spawn_in(dir, kept_timezones()).await;
    filled_in(&app).await;
    let dir = app.stop().await;
    let c = rusqlite::Connection::open(dir.0.join("test.db")).unwrap();
    assert_eq!(read(&c), recorded);
}

/// A day filled in while clicks and conversions still wait in the
/// writer's memory counts them once: clicks are filled in from the
/// 15-minute rows their fold adds to as well, and a shape's pending
/// conversion rows are written before its day is rebuilt from the
/// conversions. The rows filled in equal what a rebuild from the raw rows
/// gives (a start after a crash).
#[tokio::test]
async fn a_day_filled_in_beside_pending_sums_counts_them_once() {
    if skip_on_postgres("PostgreSQL counts a phase kept late from its next day") {
        return;
    }
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let now = now_ms();
    let clicks = clicks_over_three_days(&s, 7, 1000, now);
    // half the clicks folded; the other half, and the conversions, in
    // the writers' memory
    app.store.insert_clicks(&clicks[..500]).unwrap();
    app.store.flush_rollups().await.unwrap();
    app.store.insert_clicks(&clicks[500..]).unwrap();
    conversions_of_every_kind(&app).await;
    // Tokyo's days (15:00 UTC), kept by hand from a day after the data
    let phase = 15 * 3_600_000;
    let since = clickledger_store::local_day_start(now + 2 * DAY, phase);
    let file = app.dir.0.join("test.db");
    rusqlite::Connection::open(&file)
        .unwrap()
        .execute(
            "INSERT INTO local_days (phase_ms, since_ms) VALUES (?1, ?2)",
            [phase, since],
        )
        .unwrap();
    let mut days = 0;
    loop {
        let kept = app.store.backfill_local_day(phase).await.unwrap().unwrap();
        if kept.since_ms == 0 {
            break;
        }
        assert_eq!(kept.since_ms, since - (days + 1) * DAY);
        days += 1;
    }
    // the earliest click's UTC day back to the day before `since`: five
    // or six Tokyo days, by the time of day the test runs at
    assert!((4..=6).contains(&days), "{days}");
    let dir = app.stop().await;
    let c = rusqlite::Connection::open(dir.0.join("test.db")).unwrap();
    let tables = tables_like(&c, "%rollup_%_d");
    let tokyo = |c: &rusqlite::Connection| {
        let mut rows = day_rows(c, &tables);
        rows.retain(|(_, r)| bucket_of(r).rem_euclid(DAY) == phase);
        rows
    };
    let filled = tokyo(&c);
    assert!(filled.iter().any(|(t, _)| t.starts_with("conv_")));
    assert!(filled.iter().any(|(t, _)| !t.starts_with("conv_")));
    let (_dir, c) = rebuilt_after_a_crash(dir, c, &tables, Default::default()).await;
    assert_eq!(tokyo(&c), filled);
}

/// Clicks over three days and conversions of every kind, recorded by a
/// tracker keeping Kolkata's and New York's local days, which is stopped.
async fn recorded_keeping_local_days() -> common::TempDir {
    let app = TestApp::spawn_with(kept_timezones()).await;
    let s = app.setup().await;
    let clicks = clicks_over_three_days(&s, 5, 500, now_ms());
    app.store.insert_clicks(&clicks).unwrap();
    conversions_of_every_kind(&app).await;
    app.stop().await
}

/// `n` random clicks over the three days before `now`.
fn clicks_over_three_days(s: &Setup, seed: u64, n: u128, now: i64) -> Vec<Click> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let ts = now - rng.random_range(0..3 * DAY);
            random_click(s, &mut rng, i, ts)
        })
        .collect()
}

/// The migration that added the pair rollups (source x country and the
/// rest) fills them from the clicks and conversions already recorded, the
/// local days kept included: exactly the rows recording gave, at every
/// grain (but conversion rows that came to nothing), on either backend.
#[tokio::test]
async fn the_pair_migration_fills_them_as_recording_does() {
    let dir = recorded_keeping_local_days().await;
    let sqlite = || rusqlite::Connection::open(dir.0.join("test.db")).unwrap();
    let migrations = match dir.postgres() {
        None => PAIRS,
        Some(_) => [
            include_str!("../../store/src/postgres/migrations/0021_pair_rollups.sql"),
            include_str!("../../store/src/postgres/migrations/0022_link_device_rollup.sql"),
        ],
    };
    let tables = pair_tables(&migrations);
    assert_eq!(tables.len(), 6 * 4 + 6 * 3, "{tables:?}");
    let read = async || -> Vec<(String, Vec<String>)> {
        let mut all = Vec::new();
        for t in &tables {
            all.extend(match dir.postgres() {
                None => rows_of(&sqlite(), t),
                Some(db) => pg_rows_of(&db.client().await.unwrap(), t).await,
            });
        }
        all.retain(|(t, r)| !(t.starts_with("conv_") && zero(r)));
        all.sort();
        all
    };
    let recorded = read().await;
    // every table has rows, local days among the day rows
    for t in &tables {
        assert!(recorded.iter().any(|(r, _)| r == t), "{t} is empty");
    }
    let local = recorded
        .iter()
        .filter(|(t, r)| t.ends_with("_d") && bucket_of(r) % DAY != 0)
        .count();
    assert!(local > 0);
    match dir.postgres() {
        None => refill_pairs(&sqlite()),
        Some(db) => {
            let c = db.client().await.unwrap();
            for m in migrations {
                for t in pair_tables(&[m]) {
                    c.batch_execute(&format!("DROP TABLE {t}")).await.unwrap();
                }
                c.batch_execute(m).await.unwrap();
            }
        }
    }
    assert_eq!(read().await, recorded);
}

/// A PostgreSQL table's rows as `rows_of` gives a SQLite one's (its
/// columns are text or bigint).
async fn pg_rows_of(
    c: &clickledger_testdb::tokio_postgres::Client,
    t: &str,
) -> Vec<(String, Vec<String>)> {
    use clickledger_testdb::tokio_postgres::types::Type;
    let rows = c.query(&format!("SELECT * FROM {t}"), &[]).await.unwrap();
    let mut all: Vec<_> = rows
        .iter()
        .map(|r| {
            let values = (0..r.len())
                .map(|i| match *r.columns()[i].type_() {
                    Type::INT8 => format!("Integer({})", r.get::<_, i64>(i)),
                    _ => format!("Text({:?})", r.get::<_, String>(i)),
                })
                .collect();
            (t.to_string(), values)
        })
        .collect();
    all.sort();
    all
}

/// The migrations adding the pair rollups (link x device came later).
const PAIRS: [&str; 2] = [
    include_str!("../../store/src/sqlite/migrations/0019_pair_rollups.sql"),
    include_str!("../../store/src/sqlite/migrations/0020_link_device_rollup.sql"),
];

/// The tables the pair rollups' migrations leave (they drop the 15-minute
/// conversion rows they sum the others from).
fn pair_tables(migrations: &[&str]) -> Vec<String> {
    migrations
        .iter()
        .flat_map(|m| m.lines())
        .filter_map(|l| l.strip_prefix("CREATE TABLE "))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .filter(|t| !(t.starts_with("conv_") && t.ends_with("_q")))
        .collect()
}

/// Drops the pair rollups and runs the migrations that add them again.
fn refill_pairs(c: &rusqlite::Connection) {
    for m in PAIRS {
        for t in pair_tables(&[m]) {
            c.execute(&format!("DROP TABLE {t}"), []).unwrap();
        }
        c.execute_batch(m).unwrap();
    }
}

/// The SQLite file's tables whose names are `LIKE` this, in name order.
fn tables_like(c: &rusqlite::Connection, like: &str) -> Vec<String> {
    c.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE ?1 ORDER BY 1")
        .unwrap()
        .query_map([like], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Every row of a table, its values written out, tagged with the table
/// and sorted.
fn rows_of(c: &rusqlite::Connection, t: &str) -> Vec<(String, Vec<String>)> {
    let mut st = c.prepare(&format!("SELECT * FROM {t}")).unwrap();
    let n = st.column_count();
    let rows = st
        .query_map([], |r| {
            (0..n)
                .map(|i| {
                    r.get::<_, rusqlite::types::Value>(i)
                        .map(|v| format!("{v:?}"))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .unwrap();
    let mut all: Vec<_> = rows.map(|r| (t.to_string(), r.unwrap())).collect();
    all.sort();
    all
}

/// A rollup row's bucket (its first value).
fn bucket_of(row: &[String]) -> i64 {
    row[0]
        .trim_start_matches("Integer(")
        .trim_end_matches(')')
        .parse()
        .unwrap()
}

/// Whether a conversion rollup row's figures (its last 24 values) are
/// all zero.
fn zero(row: &[String]) -> bool {
    row[row.len() - 24..].iter().all(|v| v == "Integer(0)")
}
