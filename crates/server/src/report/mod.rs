//! `GET /api/v1/reports`: clicks and conversions grouped by time (in any
//! IANA timezone) and dimensions.
//!
//! Clicks come from the store in 15-minute UTC buckets (from the rollup
//! when it has the dimensions, else from raw clicks); every real UTC offset
//! is a multiple of 15 minutes (+05:30 and +05:45 included), so regrouping
//! buckets into local hours, days, weeks and months is exact, DST changes
//! included. Conversions come the same way from the conversion rollups of
//! the same shape (by status and event, with a delay histogram), so a
//! report reads no conversion rows unless no rollup has its dimensions.
//! Money is in the account's base currency, summed as integer micro-units:
//! the totals are exactly the sum of the rows.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use clickledger_domain::delay;
use clickledger_domain::money::from_micros;
use clickledger_domain::{Currency, ErrorCode, Status};
use clickledger_store::{BucketRow, ConversionBucket, Dimension, Grain, ReportQuery, Scope};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, Zoned};
use merge::Merge;
use plan::{Plan, QUARTER_MS};
use rust_decimal::Decimal;
use serde_json::{json, Value};

use crate::api::{ApiError, Format, Params};
use crate::auth::Caller;
use crate::util::now_ms;
use crate::AppState;

mod json;
pub mod local_days;
mod merge;
mod plan;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TimeGroup {
    Hour,
    Day,
    Week,
    Month,
}

/// Parses `2026-11-25`, an RFC 3339 instant, or unix milliseconds. A date
/// means its first instant in `tz`; for an end bound, `end_of_day` moves it
/// to the start of the next day, so `to=2026-11-25` includes that day.
pub fn parse_time(field: &str, s: &str, tz: &TimeZone, end_of_day: bool) -> Result<i64, ApiError> {
    let s = s.trim();
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    if let Ok(ts) = s.parse::<Timestamp>() {
        return Ok(ts.as_millisecond());
    }
    if let Ok(date) = s.parse::<Date>() {
        let date = if end_of_day {
            date.checked_add(1.day()).unwrap_or(date)
        } else {
            date
        };
        let z = date
            .to_zoned(tz.clone())
            .map_err(|e| ApiError::validation(format!("{field}: {e}")))?;
        return Ok(z.timestamp().as_millisecond());
    }
    Err(ApiError::new(
        ErrorCode::InvalidField,
        format!("{field}: `{s}` is not a date (2026-11-25), an RFC 3339 time or unix milliseconds"),
    ))
}

pub fn parse_time_opt(field: &str, s: Option<&str>) -> Result<Option<i64>, ApiError> {
    s.filter(|s| !s.is_empty())
        .map(|s| parse_time(field, s, &TimeZone::UTC, field == "to"))
        .transpose()
}

fn label(z: &Zoned, g: TimeGroup) -> String {
    let d = z.date();
    match g {
        TimeGroup::Hour => format!("{d} {:02}:00", z.hour()),
        TimeGroup::Day => d.to_string(),
        TimeGroup::Week => {
            let back = d.weekday().to_monday_zero_offset() as i64;
            d.checked_sub(back.days()).unwrap_or(d).to_string()
        }
        TimeGroup::Month => format!("{:04}-{:02}", d.year(), d.month()),
    }
}

/// The report's time labels in order: contiguous UTC ranges covering its
/// range, each with its label (one range labelled "" without time).
fn time_labels(spec: &Spec) -> Result<Vec<(i64, i64, String)>, ApiError> {
    let (from, to) = (spec.from_ms, spec.to_ms);
    let Some(g) = spec.time else {
        return Ok(vec![(from, to, String::new())]);
    };
    let at = |ms: i64| -> Result<String, ApiError> {
        let ts = Timestamp::from_millisecond(ms).map_err(|e| invalid("from", e))?;
        Ok(label(&ts.to_zoned(spec.tz.clone()), g))
    };
    // a label lasts at least this long (a day of 22 hours allows for a
    // two-hour clock change); the boundary is then found 15 minutes at a time
    let hour = 3_600_000;
    let shortest = match g {
        TimeGroup::Hour => 0,
        TimeGroup::Day => 22 * hour,
        TimeGroup::Week => 166 * hour,
        TimeGroup::Month => 670 * hour,
    };
    let step = |ms: i64| ms - ms.rem_euclid(QUARTER_MS) + QUARTER_MS;
    let mut out = Vec::new();
    let (mut s, mut current) = (from, at(from)?);
    while s < to {
        let mut e = step(s);
        if shortest > 0 && s + shortest < to && at(s + shortest)? == current {
            e = step(s + shortest - 1);
        }
        let mut next = String::new();
        while e < to {
            next = at(e)?;
            if next != current {
                break;
            }
            e = step(e);
        }
        let e = e.min(to);
        out.push((s, e, std::mem::replace(&mut current, next)));
        s = e;
    }
    Ok(out)
}

const DIMENSION_NAMES: &str = "hour, day, week, month, offer, advertiser, affiliate, link, source, sub1..sub5, country, device, os, browser, rule, target, event, status";

/// A parsed report request.
#[derive(Clone)]
pub struct Spec {
    /// group_by as given, in order.
    pub names: Vec<String>,
    time: Option<TimeGroup>,
    /// Store dimensions, in the order of `names` (advertiser maps to offer).
    dims: Vec<Dimension>,
    filters: Vec<(Dimension, Vec<String>)>,
    pub tz: TimeZone,
    pub tz_name: String,
    pub from_ms: i64,
    pub to_ms: i64,
    by_conversion_time: bool,
    delayed_after_s: i64,
    sort: Option<(String, bool)>,
    limit: usize,
    offset: usize,
}

fn invalid(field: &str, msg: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::InvalidField, format!("{field}: {msg}"))
}

impl Spec {
    pub fn parse(
        params: &BTreeMap<String, String>,
        cfg: &crate::cache::Config,
    ) -> Result<Spec, ApiError> {
        let tz_name = params.get("tz").cloned().unwrap_or_else(|| "UTC".into());
        let tz = TimeZone::get(&tz_name)
            .map_err(|_| invalid("tz", format!("`{tz_name}` is not an IANA timezone")))?;
        let mut time = None;
        let mut dims = Vec::new();
        let mut names = Vec::new();
        let group_by = params.get("group_by").map(String::as_str).unwrap_or("day");
        for g in group_by.split(',').map(str::trim).filter(|g| !g.is_empty()) {
            let t = match g {
                "hour" => Some(TimeGroup::Hour),
                "day" => Some(TimeGroup::Day),
                "week" => Some(TimeGroup::Week),
                "month" => Some(TimeGroup::Month),
                _ => None,
            };
            if let Some(t) = t {
                if time.replace(t).is_some() {
                    return Err(invalid("group_by", "only one of hour, day, week, month"));
                }
            } else if g == "advertiser" {
                dims.push(Dimension::Offer);
            } else {
                dims.push(Dimension::parse(g).ok_or_else(|| {
                    invalid("group_by", format!("`{g}` is not one of {DIMENSION_NAMES}"))
                })?);
            }
            if names.contains(&g.to_string()) {
                return Err(invalid("group_by", format!("`{g}` is named twice")));
            }
            names.push(g.to_string());
        }
        let mut filters = Vec::new();
        for (k, v) in params {
            let values: Vec<String> = v.split(',').map(str::to_string).collect();
            if k == "advertiser" {
                let offers: Vec<String> = cfg
                    .offers
                    .values()
                    .filter(|o| values.contains(&o.offer.advertiser_id))
                    .map(|o| o.offer.id.clone())
                    .collect();
                // an advertiser without offers matches nothing
                filters.push((
                    Dimension::Offer,
                    if offers.is_empty() {
                        vec!["\u{0}".into()]
                    } else {
                        offers
                    },
                ));
            } else if let Some(d) = Dimension::parse(k) {
                filters.push((d, values));
            }
        }
        let to_ms = match params.get("to") {
            Some(s) => parse_time("to", s, &tz, true)?,
            None => {
                let now = now_ms();
                now - now.rem_euclid(900_000) + 900_000
            }
        };
        let from_ms = match params.get("from") {
            Some(s) => parse_time("from", s, &tz, false)?,
            None => to_ms - 30 * 86_400_000,
        };
        if from_ms >= to_ms {
            return Err(invalid("from", "must be before to"));
        }
        let by_conversion_time = match params.get("date_basis").map(String::as_str) {
            None | Some("click") => false,
            Some("conversion") => true,
            Some(other) => {
                return Err(invalid(
                    "date_basis",
                    format!("`{other}` is not click or conversion"),
                ))
            }
        };
        // delays are kept as a histogram (see clickledger_domain::delay),
        // which answers "delayed over" exactly at its class edges only
        let delayed_after_s = match params.get("delayed_after") {
            Some(v) => v
                .parse()
                .ok()
                .filter(|s: &i64| delay::EDGES.contains(s))
                .ok_or_else(|| {
                    invalid(
                        "delayed_after",
                        format!(
                            "`{v}` is not one of the delay classes' edges in seconds: {}",
                            delay::edges_text()
                        ),
                    )
                })?,
            None => 86_400,
        };
        let sort =
            params
                .get("sort")
                .filter(|s| !s.is_empty())
                .map(|s| match s.strip_prefix('-') {
                    Some(k) => (k.to_string(), true),
                    None => (s.clone(), false),
                });
        // Out of range is refused, never clamped: a page of 0 rows, or more
        // than the bound, is not what anyone asked for.
        let num = |k: &str, default: usize, min: usize, max: usize| -> Result<usize, ApiError> {
            params
                .get(k)
                .map(|v| {
                    v.parse()
                        .ok()
                        .filter(|n| (min..=max).contains(n))
                        .ok_or_else(|| {
                            invalid(
                                k,
                                format!("`{v}` is not a whole number from {min} to {max}"),
                            )
                        })
                })
                .transpose()
                .map(|v| v.unwrap_or(default))
        };
        Ok(Spec {
            names,
            time,
            dims,
            filters,
            tz,
            tz_name,
            from_ms,
            to_ms,
            by_conversion_time,
            delayed_after_s,
            sort,
            limit: num("limit", 1000, 1, 100_000)?,
            offset: num("offset", 0, 0, usize::MAX)?,
        })
    }
}

/// The figures of one row.
#[derive(Default, Clone)]
pub struct Agg {
    clicks: i64,
    unique_clicks: i64,
    bot_clicks: i64,
    suspicious_clicks: i64,
    conversions: i64,
    by_event: BTreeMap<String, i64>,
    approved: i64,
    pending: i64,
    capped: i64,
    duplicates: i64,
    refunds: i64,
    payout_micros: i64,
    pending_payout_micros: i64,
    revenue_micros: i64,
    unconverted: i64,
    delayed: i64,
    delays: delay::Histogram,
    failed_postbacks: Option<i64>,
}

impl Agg {
    fn add(&mut self, o: &Agg) {
        self.clicks += o.clicks;
        self.unique_clicks += o.unique_clicks;
        self.bot_clicks += o.bot_clicks;
        self.suspicious_clicks += o.suspicious_clicks;
        self.conversions += o.conversions;
        for (e, n) in &o.by_event {
            count_event(&mut self.by_event, e, *n);
        }
        self.approved += o.approved;
        self.pending += o.pending;
        self.capped += o.capped;
        self.duplicates += o.duplicates;
        self.refunds += o.refunds;
        self.payout_micros += o.payout_micros;
        self.pending_payout_micros += o.pending_payout_micros;
        self.revenue_micros += o.revenue_micros;
        self.unconverted += o.unconverted;
        self.delayed += o.delayed;
        for (a, b) in self.delays.iter_mut().zip(&o.delays) {
            *a += b;
        }
        self.failed_postbacks = match (self.failed_postbacks, o.failed_postbacks) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
    }

    /// Adds (`sign` 1) or takes back (-1) a row of click figures.
    fn clicks(&mut self, b: &BucketRow, sign: i64) {
        self.clicks += sign * b.clicks;
        self.unique_clicks += sign * b.unique_clicks;
        self.bot_clicks += sign * b.bot_clicks;
        self.suspicious_clicks += sign * b.suspicious_clicks;
    }

    /// Adds (`sign` 1) or takes back (-1) a row of conversion figures
    /// (`delayed_after_s` is a delay class edge: `Spec::parse` refuses
    /// others).
    fn conversions(&mut self, b: &ConversionBucket, delayed_after_s: i64, sign: i64) {
        self.conversions += sign * b.conversions;
        self.refunds += sign * b.refunds;
        if b.conversions != 0 {
            count_event(&mut self.by_event, &b.event, sign * b.conversions);
        }
        self.duplicates += sign * b.duplicates;
        self.capped += sign * b.capped;
        self.unconverted += sign * b.unconverted;
        for (a, n) in self.delays.iter_mut().zip(&b.delays) {
            *a += sign * n;
        }
        self.delayed += sign * delay::over(&b.delays, delayed_after_s).unwrap_or(0);
        match b.status {
            Status::Approved => {
                self.approved += sign * b.conversions;
                self.payout_micros += sign * b.payout_base_micros;
                self.revenue_micros += sign * b.revenue_base_micros;
            }
            Status::Pending => {
                self.pending += sign * b.conversions;
                self.pending_payout_micros += sign * b.payout_base_micros;
            }
            _ => {}
        }
    }

    /// Nothing counted (refused postbacks aside).
    fn is_empty(&self) -> bool {
        let counts = [
            self.clicks,
            self.unique_clicks,
            self.bot_clicks,
            self.suspicious_clicks,
            self.conversions,
            self.approved,
            self.pending,
            self.capped,
            self.duplicates,
            self.refunds,
            self.payout_micros,
            self.pending_payout_micros,
            self.revenue_micros,
            self.unconverted,
            self.delayed,
        ];
        counts.iter().chain(&self.delays).all(|n| *n == 0) && self.by_event.is_empty()
    }

    /// The metrics, in a fixed order (the CSV columns).
    pub fn metrics(&self, base: Currency) -> Vec<(&'static str, Value)> {
        let money = |m: i64| json!(base.display(from_micros(m)).to_string());
        let pct = |a: i64, b: i64| json!(fixed(ratio(Decimal::from(a * 100), b), PERCENT_DP));
        let epc = json!(fixed(
            ratio(from_micros(self.payout_micros), self.clicks),
            EPC_DP
        ));
        vec![
            ("clicks", json!(self.clicks)),
            ("unique_clicks", json!(self.unique_clicks)),
            ("bot_clicks", json!(self.bot_clicks)),
            ("suspicious_clicks", json!(self.suspicious_clicks)),
            ("conversions", json!(self.conversions)),
            ("conversions_by_event", json!(self.by_event)),
            ("approved", json!(self.approved)),
            ("pending", json!(self.pending)),
            ("capped", json!(self.capped)),
            ("refunds", json!(self.refunds)),
            ("cr", pct(self.conversions, self.clicks)),
            ("approval_rate", pct(self.approved, self.conversions)),
            (
                "duplicate_rate",
                pct(self.duplicates, self.conversions + self.duplicates),
            ),
            ("currency", json!(base.code())),
            ("payout", money(self.payout_micros)),
            ("pending_payout", money(self.pending_payout_micros)),
            ("revenue", money(self.revenue_micros)),
            ("profit", money(self.revenue_micros - self.payout_micros)),
            ("epc", epc),
            ("unconverted", json!(self.unconverted)),
            ("failed_postbacks", json!(self.failed_postbacks)),
            ("delayed_conversions", json!(self.delayed)),
            ("median_delay_seconds", json!(delay::median(&self.delays))),
        ]
    }
}

/// Adds `n` to an event's count, copying its name only when it is new to
/// the row (not once per row added to it).
fn count_event(by_event: &mut BTreeMap<String, i64>, event: &str, n: i64) {
    match by_event.get_mut(event) {
        Some(m) => *m += n,
        None => {
            by_event.insert(event.to_string(), n);
        }
    }
}

/// Rates (cr, approval_rate, duplicate_rate) are percentages with this
/// many decimals, always written out ("12.50", "0.00"), so a column of
/// them lines up and a client can compare strings of one report.
pub const PERCENT_DP: u32 = 2;
/// EPC (payout per click, base currency) keeps more decimals than money:
/// a cent over a hundred clicks is 0.0001 a click.
pub const EPC_DP: u32 = 4;

/// `a / b`, or zero when there is nothing to divide by.
fn ratio(a: Decimal, b: i64) -> Decimal {
    if b == 0 {
        Decimal::ZERO
    } else {
        a / Decimal::from(b)
    }
}

/// Rounded half to even and written with exactly `dp` decimals.
fn fixed(d: Decimal, dp: u32) -> String {
    let mut r = d.round_dp_with_strategy(dp, rust_decimal::RoundingStrategy::MidpointNearestEven);
    r.rescale(dp);
    r.to_string()
}

pub struct Report {
    pub rows: Vec<(Vec<String>, Agg)>,
    pub totals: Agg,
}

/// Runs a report: the rows (all of them, sorted) and the totals.
pub async fn run(app: &AppState, spec: &Spec, scope: Scope) -> Result<Report, ApiError> {
    run_reading(app, spec, scope, false).await
}

/// Whether a sub slot the report groups or filters by went over its
/// distinct-value cap (`clickledger_store::sub_guard`) on a UTC day that
/// overlaps `span`: its rollups count some clicks there as '(other)'.
async fn over_cap(app: &AppState, spec: &Spec, (from, to): (i64, i64)) -> Result<bool, ApiError> {
    let slots: Vec<u8> = spec
        .dims
        .iter()
        .chain(spec.filters.iter().map(|(d, _)| d))
        .filter_map(|d| match d {
            Dimension::Sub(n) => Some(*n),
            _ => None,
        })
        .collect();
    if slots.is_empty() {
        return Ok(false);
    }
    let over = app.store.sub_overflows(from, to).await?;
    Ok(over.iter().any(|n| slots.contains(n)))
}

/// `run`, from raw rows alone when `raw`.
async fn run_reading(
    app: &AppState,
    spec: &Spec,
    scope: Scope,
    raw: bool,
) -> Result<Report, ApiError> {
    let cfg = app.cache.get();
    let query = ReportQuery {
        scope: scope.clone(),
        from_ms: spec.from_ms,
        to_ms: spec.to_ms,
        dimensions: spec.dims.clone(),
        filters: spec.filters.clone(),
        by_conversion_time: spec.by_conversion_time,
        grain: Grain::Quarter,
        ranges: Vec::new(),
        whole: false,
        raw,
    };
    let labels = time_labels(spec)?;
    // every committed click counts: what the writer still sums in memory
    // for the rollup this report reads is folded once here, not once per
    // read (eight or more reads queued eight folds between the click
    // batches), and not the other shapes' sums
    app.store.flush_for(&query).await?;
    let on_quarters = labels
        .iter()
        .all(|(a, b, _)| a % QUARTER_MS == 0 && b % QUARTER_MS == 0);
    let rolled = on_quarters && clickledger_store::rollup_serves(&query);
    let plan = if rolled {
        let spans: Vec<(i64, i64)> = labels.iter().map(|(a, b, _)| (*a, *b)).collect();
        let kept = app
            .local_days
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        plan::plan(&spans, &kept)
    } else {
        Plan::quarters(spec.from_ms, spec.to_ms)
    };
    // a sub slot with more values a day than its rollups keep counts some
    // clicks there under '(other)': over such a day (anywhere in a row
    // the plan reads), a report by the slot reads raw rows. Unless the
    // click retention has deleted raw clicks in its range: the rollups
    // then hold more, the rest under '(other)'
    let retained = match app.click_retention_days {
        0 => i64::MIN,
        days => crate::util::now_ms() - days as i64 * 86_400_000,
    };
    let checked = plan.span().filter(|_| rolled && spec.from_ms >= retained);
    if let Some(span) = checked {
        if over_cap(app, spec, span).await? {
            return Box::pin(run_reading(app, spec, scope, true)).await;
        }
    }
    // the rows are merged on the report threads, behind the click path
    let merge = Arc::new(Merge {
        plan,
        labels,
        spec: Arc::new(spec.clone()),
        cfg,
        base: app.base_currency,
    });
    let plan = &merge.plan;
    // every read at once, each in as many parts as there are cores: a
    // report takes as long as its slowest read, and the store serves reads
    // side by side (SQLite's pooled readers, PostgreSQL's connections)
    let parts = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    // a report holds at most four reads per core at once: the store's read
    // connections are shared with other requests and the delivery loop
    // (one task per part and grain, each reading clicks and conversions)
    let permits = Arc::new(tokio::sync::Semaphore::new(2 * parts));
    let mut reads = tokio::task::JoinSet::new();
    let corrections = plan.correction_days();
    let planned = Grain::ALL
        .iter()
        .map(|g| (*g, false, &plan.ranges[g.index()]))
        .chain([(Grain::Day, true, &corrections)]);
    for (grain, correction, ranges) in planned {
        for ranges in plan::split(ranges, grain, parts) {
            // without time every month, week and day row goes to the one
            // label, and every correction day is taken back from it (a
            // read of those sums them per key, its bucket the earliest);
            // 15-minute rows may be corrections, which need their bucket
            let q = ReportQuery {
                grain,
                ranges,
                whole: spec.time.is_none() && grain != Grain::Quarter,
                ..query.clone()
            };
            let store = app.store.clone();
            let permits = permits.clone();
            reads.spawn(async move {
                let _permit = permits.acquire_owned().await;
                let clicks = store.click_buckets(&q);
                let conversions = store.conversion_buckets(&q);
                let (clicks, conversions) = tokio::join!(clicks, conversions);
                Ok::<merge::Read, ApiError>((grain, correction, clicks?, conversions?))
            });
        }
    }
    // each read's rows are added as it answers, one read at a time
    let mut groups = merge::Figures::default();
    while let Some(read) = reads.join_next().await {
        let read = read.map_err(|e| {
            ApiError::new(ErrorCode::Internal, format!("a report read stopped: {e}"))
        })??;
        let m = merge.clone();
        groups = merging(app, move || {
            m.add(&mut groups, read);
            groups
        })
        .await?;
    }
    // a day that went over its cap while the reads ran: its record is
    // committed before any '(other)' row is folded, so a read that saw
    // one is caught here
    if let Some(span) = checked {
        if over_cap(app, spec, span).await? {
            return Box::pin(run_reading(app, spec, scope, true)).await;
        }
    }
    // refused postbacks are logged per offer: they fit rows grouped by time,
    // offer or advertiser only
    let fits = spec
        .names
        .iter()
        .all(|n| ["hour", "day", "week", "month", "offer", "advertiser"].contains(&n.as_str()))
        && spec.filters.iter().all(|(d, _)| *d == Dimension::Offer)
        && query.scope == Scope::All;
    let failed = match fits {
        true => Some(app.store.failed_postbacks(spec.from_ms, spec.to_ms).await?),
        false => None,
    };
    merging(app, move || merge.finish(groups, failed)).await
}

/// Runs a step of a report's merge on the report threads.
async fn merging<T: Send + 'static>(
    app: &AppState,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    app.report_threads.run(f).await.ok_or_else(|| {
        ApiError::new(
            ErrorCode::Internal,
            "a report's merge stopped (see the server log)",
        )
    })
}

/// The report's parameters. Every dimension name is also a filter taking
/// comma-separated values (`country=DE,FR`); `advertiser` filters by the
/// advertiser's offers.
#[derive(serde::Deserialize, serde::Serialize, schemars::JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ReportParams {
    /// Comma-separated: at most one of hour, day (default), week, month, and
    /// any of the dimensions (advertiser, offer, affiliate, link, source,
    /// sub1..sub5, country, device, os, browser, rule, target, event,
    /// status). `rule,target` with `link=` reads a flow's split test.
    group_by: Option<String>,
    /// A date (2026-11-25), an RFC 3339 time or unix milliseconds; default 30 days before `to`.
    from: Option<String>,
    /// The end (a date includes that day); default: now.
    to: Option<String>,
    /// An IANA timezone for dates and time groups (default UTC).
    tz: Option<String>,
    format: Option<Format>,
    /// A group or metric name; `-name` sorts descending.
    sort: Option<String>,
    /// Rows per page: 1 to 100000 (default 1000).
    #[schemars(range(min = 1, max = 100_000))]
    limit: Option<u64>,
    offset: Option<u64>,
    /// `click` (default: conversions at their click's time) or `conversion`.
    date_basis: Option<String>,
    /// Seconds after which a conversion counts as delayed (default 86400):
    /// one of the delay classes' edges, 0, 60, 300, 900, 1800, 3600, 7200,
    /// 14400, 21600, 43200, 86400, 172800, 259200, 604800, 1209600, 2592000.
    #[schemars(range(min = 0))]
    delayed_after: Option<i64>,
    advertiser: Option<String>,
    offer: Option<String>,
    affiliate: Option<String>,
    link: Option<String>,
    source: Option<String>,
    sub1: Option<String>,
    sub2: Option<String>,
    sub3: Option<String>,
    sub4: Option<String>,
    sub5: Option<String>,
    country: Option<String>,
    device: Option<String>,
    os: Option<String>,
    browser: Option<String>,
    /// A flow rule's name (empty: the default split).
    rule: Option<String>,
    /// A flow target (`offer:<id>`, `url:<n>` or its `id`).
    target: Option<String>,
    event: Option<String>,
    status: Option<String>,
}

impl ReportParams {
    /// The given parameters by name, as `Spec::parse` reads them.
    fn to_map(&self) -> BTreeMap<String, String> {
        let Ok(Value::Object(m)) = serde_json::to_value(self) else {
            return BTreeMap::new();
        };
        m.into_iter()
            .filter_map(|(k, v)| match v {
                Value::Null => None,
                Value::String(s) => Some((k, s)),
                other => Some((k, other.to_string())),
            })
            .collect()
    }
}

pub async fn report(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Params(query): Params<ReportParams>,
) -> Result<Response, ApiError> {
    let params = query.to_map();
    let cfg = app.cache.get();
    let spec = Spec::parse(&params, &cfg)?;
    if let Some((field, _)) = &spec.sort {
        let known = spec.names.contains(field)
            || Agg::default()
                .metrics(app.base_currency)
                .iter()
                .any(|(k, _)| k == field);
        if !known {
            return Err(invalid(
                "sort",
                format!("`{field}` is neither a group nor a metric"),
            ));
        }
    }
    let report = run(&app, &spec, caller.scope()).await?;
    let base = app.base_currency;
    let total_rows = report.rows.len();
    let page: Vec<&(Vec<String>, Agg)> = report
        .rows
        .iter()
        .skip(spec.offset)
        .take(spec.limit)
        .collect();
    match query.format.unwrap_or_default() {
        Format::Csv => Ok(csv(&spec.names, &page, &report.totals, base)),
        Format::Json => {
            let body = json::Body {
                date_basis: if spec.by_conversion_time {
                    "conversion"
                } else {
                    "click"
                },
                from: clickledger_domain::time::rfc3339_ms(spec.from_ms),
                group_by: &spec.names,
                offset: spec.offset,
                rows: json::Rows::new(&spec.names, &page, base),
                to: clickledger_domain::time::rfc3339_ms(spec.to_ms),
                total_rows,
                totals: json::Row::totals(&report.totals, base),
                tz: &spec.tz_name,
            };
            Ok((StatusCode::OK, Json(body)).into_response())
        }
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| format!("{k}:{}", plain(v)))
            .collect::<Vec<_>>()
            .join(";"),
        other => other.to_string(),
    }
}

fn csv(names: &[String], rows: &[&(Vec<String>, Agg)], totals: &Agg, base: Currency) -> Response {
    let metric_names: Vec<&str> = totals.metrics(base).into_iter().map(|(k, _)| k).collect();
    let mut out = String::new();
    let header: Vec<String> = names
        .iter()
        .cloned()
        .chain(metric_names.iter().map(|s| s.to_string()))
        .collect();
    out.push_str(&header.join(","));
    out.push('\n');
    let mut total_key = vec![String::new(); names.len()];
    if let Some(first) = total_key.first_mut() {
        *first = "TOTAL".into();
    }
    for (key, a) in rows
        .iter()
        .map(|(k, a)| (k, a))
        .chain(std::iter::once((&total_key, totals)))
    {
        let mut fields: Vec<String> = key.iter().map(|k| csv_field(k)).collect();
        fields.extend(a.metrics(base).iter().map(|(_, v)| csv_field(&plain(v))));
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response()
}
