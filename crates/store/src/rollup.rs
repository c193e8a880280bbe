//! Click rollups: counts per 15 minutes (`_q`), per UTC day (`_d`), per UTC
//! week (`_w`) and per UTC calendar month (`_m`) for each report shape in
//! `ROLLUPS`, so reports never scan 10^7 raw clicks. What each
//! rollup is keyed by and what a batch of clicks adds to them is the same
//! for every backend; how the sums reach the tables is each backend's own
//! (SQLite's is in `sqlite/rollup.rs`).

use rustc_hash::FxHashMap;

use crate::key_values::KeyValues;
use crate::model::{local_day_start, Click, Conversion, Dimension, Grain};
use crate::sub_guard::SubGuard;

pub(crate) const QUARTER: i64 = 900_000;

/// A rollup: its table stem, its key columns, and the SQL for each key
/// column when rebuilding from raw clicks.
pub(crate) struct Rollup {
    pub(crate) stem: &'static str,
    pub(crate) columns: &'static [&'static str],
    pub(crate) from_clicks: &'static [&'static str],
}

pub(crate) const ROLLUPS: [Rollup; 28] = [
    Rollup {
        stem: "rollup_link",
        columns: &["link_id", "offer_id", "source", "rule", "target"],
        from_clicks: &[
            "r.link_id",
            "COALESCE(r.offer_id, l.offer_id)",
            "COALESCE(r.source, '')",
            "COALESCE(r.rule, '')",
            "COALESCE(r.target, '')",
        ],
    },
    Rollup {
        stem: "rollup_geo",
        columns: &["offer_id", "country", "device", "os", "browser"],
        from_clicks: &[
            "COALESCE(r.offer_id, l.offer_id)",
            "r.country",
            "u.device",
            "u.os",
            "u.browser",
        ],
    },
    Rollup {
        stem: "rollup_sub",
        columns: &["offer_id", "affiliate_id", "sub1"],
        from_clicks: &[
            "COALESCE(r.offer_id, l.offer_id)",
            "l.affiliate_id",
            "COALESCE(r.sub1, '')",
        ],
    },
    // the smallest: reports by time, offer, advertiser (and for
    // conversions event and status) read a row per offer and bucket
    Rollup {
        stem: "rollup_offer",
        columns: &["offer_id"],
        from_clicks: &["COALESCE(r.offer_id, l.offer_id)"],
    },
    // one small shape per dimension the wide ones hold among many others:
    // a report by one of them reads a row per offer and value, not per
    // link and source or per affiliate and sub1
    Rollup {
        stem: "rollup_affiliate",
        columns: &["offer_id", "affiliate_id"],
        from_clicks: &["COALESCE(r.offer_id, l.offer_id)", "l.affiliate_id"],
    },
    Rollup {
        stem: "rollup_source",
        columns: &["offer_id", "source"],
        from_clicks: &["COALESCE(r.offer_id, l.offer_id)", "COALESCE(r.source, '')"],
    },
    Rollup {
        stem: "rollup_sub1",
        columns: &["offer_id", "sub1"],
        from_clicks: &["COALESCE(r.offer_id, l.offer_id)", "COALESCE(r.sub1, '')"],
    },
    // by link alone (its affiliate follows from it; a flow may change its
    // offer): the link shape's source and flow columns multiply its rows
    Rollup {
        stem: "rollup_link_offer",
        columns: &["link_id", "offer_id"],
        from_clicks: &["r.link_id", "COALESCE(r.offer_id, l.offer_id)"],
    },
    // by affiliate and sub1 without the offer, which multiplies the
    // affiliate x sub1 rows about tenfold (an affiliate's links spread
    // over offers); serves reports that need no offer at all
    Rollup {
        stem: "rollup_affiliate_sub1",
        columns: &["affiliate_id", "sub1"],
        from_clicks: &["l.affiliate_id", "COALESCE(r.sub1, '')"],
    },
    // one per sub slot, keyed by its value alone: affiliates put ad or
    // placement ids there, and an offer key would multiply the rows by as
    // many offers (an affiliate key too, where affiliates share values);
    // they serve unscoped reports by that slot only
    Rollup {
        stem: "rollup_sub2",
        columns: &["sub2"],
        from_clicks: &["COALESCE(r.sub2, '')"],
    },
    Rollup {
        stem: "rollup_sub3",
        columns: &["sub3"],
        from_clicks: &["COALESCE(r.sub3, '')"],
    },
    Rollup {
        stem: "rollup_sub4",
        columns: &["sub4"],
        from_clicks: &["COALESCE(r.sub4, '')"],
    },
    Rollup {
        stem: "rollup_sub5",
        columns: &["sub5"],
        from_clicks: &["COALESCE(r.sub5, '')"],
    },
    // which countries a link, or a partner's links or offers, send:
    // the geo shape has no link, the link shapes no country, and raw
    // clicks took 16-30 s over 10 M; no device, which would triple the rows
    Rollup {
        stem: "rollup_link_country",
        columns: &["link_id", "offer_id", "country"],
        from_clicks: &["r.link_id", "COALESCE(r.offer_id, l.offer_id)", "r.country"],
    },
    // one per sub slot with its affiliate, no offer: a partner's report by
    // a slot (or one filtered to an affiliate) read every raw click of
    // that affiliate. Where ad and placement ids are each affiliate's own,
    // these hold about as many rows as the slot's own rollup; where all
    // share them (the benchmark's 500 ad ids), up to as many times more
    // as there are affiliates
    Rollup {
        stem: "rollup_affiliate_sub2",
        columns: &["affiliate_id", "sub2"],
        from_clicks: &["l.affiliate_id", "COALESCE(r.sub2, '')"],
    },
    Rollup {
        stem: "rollup_affiliate_sub3",
        columns: &["affiliate_id", "sub3"],
        from_clicks: &["l.affiliate_id", "COALESCE(r.sub3, '')"],
    },
    Rollup {
        stem: "rollup_affiliate_sub4",
        columns: &["affiliate_id", "sub4"],
        from_clicks: &["l.affiliate_id", "COALESCE(r.sub4, '')"],
    },
    Rollup {
        stem: "rollup_affiliate_sub5",
        columns: &["affiliate_id", "sub5"],
        from_clicks: &["l.affiliate_id", "COALESCE(r.sub5, '')"],
    },
    // the geo shape with the affiliate for the offer: by affiliate and
    // device read raw clicks, by affiliate and country the link x country
    // rows (a link per affiliate and offer, ten times the keys)
    Rollup {
        stem: "rollup_affiliate_geo",
        columns: &["affiliate_id", "country", "device", "os", "browser"],
        from_clicks: &[
            "l.affiliate_id",
            "r.country",
            "u.device",
            "u.os",
            "u.browser",
        ],
    },
    // sub1 by its value alone, as sub2 to sub5: unscoped reports by sub1
    // (by day and sub1: the offer x sub1 shape held about a thousand rows
    // a day at 10 M clicks, 50 values over 20 offers)
    Rollup {
        stem: "rollup_sub1_alone",
        columns: &["sub1"],
        from_clicks: &["COALESCE(r.sub1, '')"],
    },
    // the country alone and the affiliate alone, likewise: by day and
    // country read the geo rows (a row per offer, country, device, os and
    // browser: thousands a day at 10 M clicks), by day and affiliate a row
    // per offer and affiliate (up to a thousand a day over 100 affiliates)
    Rollup {
        stem: "rollup_country_alone",
        columns: &["country"],
        from_clicks: &["r.country"],
    },
    Rollup {
        stem: "rollup_affiliate_alone",
        columns: &["affiliate_id"],
        from_clicks: &["l.affiliate_id"],
    },
    // the pairs of source, sub1, country and device no shape above
    // holds, keyed by the pair alone (unscoped reports by either or
    // both): by source and country, or sub1 and device, read every raw
    // click, 5-7 s at 10 M
    Rollup {
        stem: "rollup_source_country",
        columns: &["source", "country"],
        from_clicks: &["COALESCE(r.source, '')", "r.country"],
    },
    Rollup {
        stem: "rollup_source_device",
        columns: &["source", "device"],
        from_clicks: &["COALESCE(r.source, '')", "u.device"],
    },
    Rollup {
        stem: "rollup_source_sub1",
        columns: &["source", "sub1"],
        from_clicks: &["COALESCE(r.source, '')", "COALESCE(r.sub1, '')"],
    },
    Rollup {
        stem: "rollup_sub1_country",
        columns: &["sub1", "country"],
        from_clicks: &["COALESCE(r.sub1, '')", "r.country"],
    },
    Rollup {
        stem: "rollup_sub1_device",
        columns: &["sub1", "device"],
        from_clicks: &["COALESCE(r.sub1, '')", "u.device"],
    },
    // by link and device, with the offer as the link x country rollup
    // (7.6-8.6 s from raw clicks at 10 M). Thousands of keys a second:
    // affordable on SQLite since the writer sums under numbered keys and
    // folds every 10 s (docs/BENCHMARKS.md); PostgreSQL, folding every
    // second, pays for it with the numbered keys (docs/BENCHMARKS.md)
    Rollup {
        stem: "rollup_link_device",
        columns: &["link_id", "offer_id", "device"],
        from_clicks: &["r.link_id", "COALESCE(r.offer_id, l.offer_id)", "u.device"],
    },
];

/// The most key columns a rollup has.
pub(crate) const KEY_WIDTH: usize = 5;

fn text(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("")
}

/// A key column's value for a click ('' for none). Key columns are
/// report dimensions (`Dimension::column`); event and status are not
/// click figures and key no click rollup.
pub(crate) fn of_click(d: Dimension, k: &Click) -> &str {
    match d {
        Dimension::Link => &k.link_id,
        Dimension::Offer => &k.offer_id,
        Dimension::Affiliate => &k.affiliate_id,
        Dimension::Source => text(&k.source),
        Dimension::Rule => text(&k.rule),
        Dimension::Target => text(&k.target),
        Dimension::Sub(1) => text(&k.sub1),
        Dimension::Sub(2) => text(&k.sub2),
        Dimension::Sub(3) => text(&k.sub3),
        Dimension::Sub(4) => text(&k.sub4),
        Dimension::Sub(_) => text(&k.sub5),
        Dimension::Country => &k.country,
        Dimension::Device => &k.device,
        Dimension::Os => &k.os,
        Dimension::Browser => &k.browser,
        Dimension::Event | Dimension::Status => unreachable!("no rollup is keyed by {d:?}"),
    }
}

/// A conversion's value for a key column, its click's as `of_click`
/// reads them (a conversion carries its click's dimensions).
pub(crate) fn of_conversion(d: Dimension, c: &Conversion) -> &str {
    let k = &c.dims;
    match d {
        Dimension::Link => &c.link_id,
        Dimension::Offer => &c.offer_id,
        Dimension::Affiliate => &c.affiliate_id,
        Dimension::Source => text(&k.source),
        Dimension::Rule => text(&k.rule),
        Dimension::Target => text(&k.target),
        Dimension::Sub(1) => text(&k.sub1),
        Dimension::Sub(2) => text(&k.sub2),
        Dimension::Sub(3) => text(&k.sub3),
        Dimension::Sub(4) => text(&k.sub4),
        Dimension::Sub(_) => text(&k.sub5),
        Dimension::Country => &k.country,
        Dimension::Device => &k.device,
        Dimension::Os => &k.os,
        Dimension::Browser => &k.browser,
        Dimension::Event | Dimension::Status => unreachable!("no rollup is keyed by {d:?}"),
    }
}

/// Each rollup's key columns as the report dimensions they hold, in
/// `ROLLUPS` order (worked out once: a click is keyed in every shape).
pub(crate) fn fields() -> &'static [Vec<Dimension>] {
    static FIELDS: std::sync::OnceLock<Vec<Vec<Dimension>>> = std::sync::OnceLock::new();
    FIELDS.get_or_init(|| {
        ROLLUPS
            .iter()
            .map(|r| {
                r.columns
                    .iter()
                    .map(|c| {
                        // `link_id` is the dimension `link`, and so on
                        Dimension::parse(c.strip_suffix("_id").unwrap_or(c))
                            .filter(|d| d.column() == *c)
                            .unwrap_or_else(|| unreachable!("no dimension has column {c}"))
                    })
                    .collect()
            })
            .collect()
    })
}

/// The dimensions any rollup is keyed by, each once, and each rollup's
/// key columns as places in that list (worked out once).
fn places() -> &'static (Vec<Dimension>, Vec<Vec<usize>>) {
    static PLACES: std::sync::OnceLock<(Vec<Dimension>, Vec<Vec<usize>>)> =
        std::sync::OnceLock::new();
    PLACES.get_or_init(|| {
        let mut dims: Vec<Dimension> = Vec::new();
        let places = fields()
            .iter()
            .map(|fields| {
                fields
                    .iter()
                    .map(|d| {
                        dims.iter().position(|x| x == d).unwrap_or_else(|| {
                            dims.push(*d);
                            dims.len() - 1
                        })
                    })
                    .collect()
            })
            .collect();
        (dims, places)
    })
}

/// The coarse buckets a 15-minute bucket adds to: its UTC day, week and
/// month, and its local day at each phase kept (`LocalDays`), which lives
/// in the day tables too.
pub(crate) fn coarse_buckets(
    bucket: i64,
    phases: &[i64],
) -> impl Iterator<Item = (Grain, i64)> + '_ {
    Grain::COARSE
        .into_iter()
        .map(move |g| (g, g.start(bucket)))
        .chain(
            phases
                .iter()
                .map(move |p| (Grain::Day, local_day_start(bucket, *p))),
        )
}

/// The local-day phases kept, and with when each is complete from.
pub(crate) const PHASES_SQL: &str = "SELECT phase_ms FROM local_days ORDER BY phase_ms";
pub(crate) const KEPT_SQL: &str = "SELECT phase_ms, since_ms FROM local_days ORDER BY phase_ms";

/// Whether any click or conversion has been folded into the rollups.
pub(crate) const ROLLED_UP_SQL: &str =
    "SELECT EXISTS (SELECT 1 FROM rollup_offer_d) OR EXISTS (SELECT 1 FROM conv_rollup_offer_d)";

/// When a phase newly kept is complete from: at once when nothing has
/// been rolled up (every row will have it), else from its first day that
/// starts at least `MARGIN_MS` after `now_ms`. Rows already folded lack
/// it, and a node folds clicks stamped by its own clock: the margin
/// covers clocks that run a little ahead.
pub(crate) fn local_days_since(phase_ms: i64, now_ms: i64, rolled_up: bool) -> i64 {
    const MARGIN_MS: i64 = 600_000;
    if !rolled_up {
        return 0;
    }
    let day = Grain::Day.end(0);
    local_day_start(now_ms + MARGIN_MS + day - 1, phase_ms)
}

/// One kind of row a rebuild from raw rows writes: its table's grain,
/// the first bucket rebuilt (that holding `since`), SQL for the bucket of
/// a time, and SQL choosing its rows among others in the same table (the
/// day tables hold one kind per phase).
pub(crate) struct Rebuild {
    pub(crate) grain: Grain,
    pub(crate) from: i64,
    pub(crate) start_sql: String,
    pub(crate) rows: String,
}

/// What a rebuild from `since` on writes, for a table kept at `grains`
/// and local days at `phases`, bucketing times in `column`.
pub(crate) fn rebuilds(grains: &[Grain], phases: &[i64], since: i64, column: &str) -> Vec<Rebuild> {
    let day = Grain::Day.end(0);
    let mut out = Vec::new();
    for &grain in grains {
        if grain != Grain::Day {
            out.push(Rebuild {
                grain,
                from: grain.start(since),
                start_sql: grain.sql_start(column),
                rows: String::new(),
            });
            continue;
        }
        // the day tables once per phase (0: the UTC day)
        for &p in std::iter::once(&0).chain(phases) {
            out.push(Rebuild {
                grain,
                from: local_day_start(since, p),
                start_sql: crate::model::sql_local_day_start(column, p),
                rows: format!(" AND bucket_ms % {day} = {p}"),
            });
        }
    }
    out
}

/// (rollup, 15-minute bucket, key): the key's values numbered by the
/// writer's `KeyValues`, places past the rollup's columns 0.
pub(crate) type Key = (usize, i64, [u32; KEY_WIDTH]);

/// (rollup, 15-minute bucket, key) -> clicks, unique, bot, suspicious.
pub(crate) type Sums = FxHashMap<Key, [i64; 4]>;

/// A batch's contribution to the rollups (test clicks count nowhere), its
/// key values numbered in `values`, its sub values past their day's cap
/// counted as `sub_guard::OTHER` (`guard.overflows()` says where).
pub(crate) fn sums_of(clicks: &[Click], values: &mut KeyValues, guard: &mut SubGuard) -> Sums {
    let (dims, places) = places();
    let mut numbers = vec![0; dims.len()];
    let mut sums = Sums::default();
    guard.start_batch();
    for k in clicks.iter().filter(|k| !k.test) {
        // each of the click's values looked up once, not once per rollup
        for (n, d) in numbers.iter_mut().zip(dims) {
            let value = of_click(*d, k);
            *n = match (d, values.known(value)) {
                (_, Some(n)) => n,
                // a sub value new to the sums asks the guard: one already
                // numbered was kept (or is another key's, such as a link
                // id, and counted as itself: exact all the same)
                (Dimension::Sub(slot), None) => values.number(guard.key(*slot, k.ts_ms, value)),
                (_, None) => values.number(value),
            };
        }
        let bucket = k.ts_ms.div_euclid(QUARTER) * QUARTER;
        let counts = [1, k.unique as i64, k.bot as i64, k.suspicious as i64];
        for (which, at) in places.iter().enumerate() {
            let mut key = [0; KEY_WIDTH];
            for (slot, i) in key.iter_mut().zip(at) {
                *slot = numbers[*i];
            }
            add(sums.entry((which, bucket, key)).or_default(), &counts);
        }
    }
    sums
}

/// A key's values for its rollup's columns, as `sums_of` numbered them.
pub(crate) fn key_text<'v>(
    values: &'v KeyValues,
    which: usize,
    key: &[u32; KEY_WIDTH],
) -> [&'v str; KEY_WIDTH] {
    let mut text = [""; KEY_WIDTH];
    for (t, n) in text.iter_mut().zip(key).take(ROLLUPS[which].columns.len()) {
        *t = values.value(*n);
    }
    text
}

pub(crate) fn add(into: &mut [i64; 4], counts: &[i64; 4]) {
    for (a, b) in into.iter_mut().zip(counts) {
        *a += b;
    }
}
