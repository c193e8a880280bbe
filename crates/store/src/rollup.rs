//! Click rollups: counts per 15 minutes (`_q`), per UTC day (`_d`), per UTC
//! week (`_w`) and per UTC calendar month (`_m`) for nineteen report shapes,
//! so reports never scan 10^7 raw clicks. What each
//! rollup is keyed by and what a batch of clicks adds to them is the same
//! for every backend; how the sums reach the tables is each backend's own
//! (SQLite's is in `sqlite/rollup.rs`).

use std::collections::HashMap;

use crate::model::Click;

pub(crate) const QUARTER: i64 = 900_000;

/// A rollup: its table stem, its key columns, and the SQL for each key
/// column when rebuilding from raw clicks.
pub(crate) struct Rollup {
    pub(crate) stem: &'static str,
    pub(crate) columns: &'static [&'static str],
    pub(crate) from_clicks: &'static [&'static str],
}

pub(crate) const ROLLUPS: [Rollup; 19] = [
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
];

/// The most key columns a rollup has.
pub(crate) const KEY_WIDTH: usize = 5;

/// A click's key in rollup `which` (unused places are empty).
fn key_of(which: usize, k: &Click) -> [&str; KEY_WIDTH] {
    fn text(v: &Option<String>) -> &str {
        v.as_deref().unwrap_or("")
    }
    match which {
        0 => [
            &k.link_id,
            &k.offer_id,
            text(&k.source),
            text(&k.rule),
            text(&k.target),
        ],
        1 => [&k.offer_id, &k.country, &k.device, &k.os, &k.browser],
        2 => [&k.offer_id, &k.affiliate_id, text(&k.sub1), "", ""],
        3 => [&k.offer_id, "", "", "", ""],
        4 => [&k.offer_id, &k.affiliate_id, "", "", ""],
        5 => [&k.offer_id, text(&k.source), "", "", ""],
        6 => [&k.offer_id, text(&k.sub1), "", "", ""],
        7 => [&k.link_id, &k.offer_id, "", "", ""],
        8 => [&k.affiliate_id, text(&k.sub1), "", "", ""],
        9 => [text(&k.sub2), "", "", "", ""],
        10 => [text(&k.sub3), "", "", "", ""],
        11 => [text(&k.sub4), "", "", "", ""],
        12 => [text(&k.sub5), "", "", "", ""],
        13 => [&k.link_id, &k.offer_id, &k.country, "", ""],
        14 => [&k.affiliate_id, text(&k.sub2), "", "", ""],
        15 => [&k.affiliate_id, text(&k.sub3), "", "", ""],
        16 => [&k.affiliate_id, text(&k.sub4), "", "", ""],
        17 => [&k.affiliate_id, text(&k.sub5), "", "", ""],
        18 => [&k.affiliate_id, &k.country, &k.device, &k.os, &k.browser],
        _ => unreachable!("rollup {which} has no key"),
    }
}

/// (rollup, 15-minute bucket, key).
pub(crate) type Key = (usize, i64, [String; KEY_WIDTH]);

/// (rollup, 15-minute bucket, key) -> clicks, unique, bot, suspicious.
pub(crate) type Sums = HashMap<Key, [i64; 4]>;

/// A batch's contribution to the rollups (test clicks count nowhere).
pub(crate) fn sums_of(clicks: &[Click]) -> Sums {
    // summed under borrowed keys first: a batch's clicks share most of
    // their keys, and owning each key per click was 35 strings a click
    let mut borrowed: HashMap<(usize, i64, [&str; KEY_WIDTH]), [i64; 4]> = HashMap::new();
    for k in clicks.iter().filter(|k| !k.test) {
        let bucket = k.ts_ms.div_euclid(QUARTER) * QUARTER;
        let counts = [1, k.unique as i64, k.bot as i64, k.suspicious as i64];
        for which in 0..ROLLUPS.len() {
            add(
                borrowed
                    .entry((which, bucket, key_of(which, k)))
                    .or_default(),
                &counts,
            );
        }
    }
    borrowed
        .into_iter()
        .map(|((which, bucket, key), counts)| ((which, bucket, key.map(str::to_string)), counts))
        .collect()
}

pub(crate) fn add(into: &mut [i64; 4], counts: &[i64; 4]) {
    for (a, b) in into.iter_mut().zip(counts) {
        *a += b;
    }
}
