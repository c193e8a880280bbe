//! Clicks. A batch from the click writer is one transaction: one multi-row
//! INSERT of the clicks (arrays, `UNNEST`), tagged with the generation of
//! rollup sums they join (`click_rollup.rs`), which folds them in later.

use std::collections::{BTreeMap, HashMap};

use clickledger_domain::ClickId;
use tokio_postgres::{Row, Transaction};

use super::click_rollup::Pending;
use super::sql::{click_id, corrupt, json, pg_error, rows};
use super::PgStore;
use crate::model::*;
use crate::query::{self, first_click_id_at};
use crate::{StoreError, StoreResult};

/// Commits a batch on the click writer's own connection.
pub async fn insert(
    ua_ids: &UaIds,
    pending: &mut Pending,
    c: &mut tokio_postgres::Client,
    clicks: &[Click],
) -> StoreResult<()> {
    if clicks.is_empty() {
        return Ok(());
    }
    let ua_ids = user_agent_ids(ua_ids, c, clicks).await?;
    pending
        .insert(c, clicks, async |tx, fold| {
            insert_rows(tx, &ua_ids, clicks, fold).await
        })
        .await
}

/// The batch's rows, in one statement; `fold` is the tag of the rollup
/// generation that counts them.
async fn insert_rows(
    tx: &Transaction<'_>,
    ua_ids: &HashMap<String, i64>,
    clicks: &[Click],
    fold: Option<i64>,
) -> StoreResult<()> {
    let mut ids = Vec::with_capacity(clicks.len());
    let (mut ts, mut link, mut ip, mut country, mut ua, mut referer) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    let (mut subs, mut source, mut extra, mut cut): (
        [Vec<Option<String>>; 5],
        Vec<_>,
        Vec<_>,
        Vec<_>,
    ) = (Default::default(), vec![], vec![], vec![]);
    let (mut uniq, mut bot, mut susp, mut test) = (vec![], vec![], vec![], vec![]);
    let (mut offer, mut rule, mut target, mut blocked) = (vec![], vec![], vec![], vec![]);
    for k in clicks {
        ids.push(k.id.to_bytes().to_vec());
        ts.push(k.ts_ms);
        link.push(k.link_id.as_str());
        for (i, v) in [&k.sub1, &k.sub2, &k.sub3, &k.sub4, &k.sub5]
            .into_iter()
            .enumerate()
        {
            subs[i].push(v.clone());
        }
        source.push(k.source.as_deref());
        extra.push((!k.extra.is_empty()).then(|| json(&k.extra)));
        ip.push(k.ip.as_str());
        country.push(k.country.as_str());
        ua.push(ua_ids[&k.user_agent]);
        referer.push(k.referer_host.as_str());
        uniq.push(k.unique);
        bot.push(k.bot);
        susp.push(k.suspicious);
        test.push(k.test);
        cut.push((k.params_cut > 0).then_some(k.params_cut as i32));
        // a click the flow did not send elsewhere is its link's offer's
        offer.push(k.flow_offer.then_some(k.offer_id.as_str()));
        rule.push(k.rule.as_deref());
        target.push(k.target.as_deref());
        blocked.push(k.blocked.then_some(true));
    }
    tx.execute(
        "INSERT INTO clicks (id, ts_ms, link_id, sub1, sub2, sub3, sub4, sub5, source, extra, ip, country, ua_id,
                             referer_host, is_unique, is_bot, suspicious, test, params_cut, offer_id, rule, target,
                             blocked, fold)
         SELECT *, $24::bigint FROM UNNEST($1::bytea[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                              $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bigint[], $14::text[],
                              $15::bool[], $16::bool[], $17::bool[], $18::bool[], $19::int[], $20::text[],
                              $21::text[], $22::text[], $23::bool[])",
        &[
            &ids, &ts, &link, &subs[0], &subs[1], &subs[2], &subs[3], &subs[4], &source, &extra, &ip,
            &country, &ua, &referer, &uniq, &bot, &susp, &test, &cut, &offer, &rule, &target,
            &blocked, &fold,
        ],
    )
    .await
    .map_err(pg_error)
    .map(drop)
}

/// Row ids of the batch's user agents, inserting the new ones first (in
/// their own statement: an id is never void because a batch rolled back).
/// user agent -> row id, so repeated agents cost no lookup.
pub type UaIds = std::sync::Mutex<std::collections::HashMap<String, i64>>;

async fn user_agent_ids(
    cached: &UaIds,
    c: &tokio_postgres::Client,
    clicks: &[Click],
) -> StoreResult<std::collections::HashMap<String, i64>> {
    let mut known = std::collections::HashMap::new();
    let mut missing: BTreeMap<&str, &Click> = BTreeMap::new();
    {
        let mut cache = cached.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() > 100_000 {
            cache.clear();
        }
        for k in clicks {
            match cache.get(&k.user_agent) {
                Some(id) => {
                    known.insert(k.user_agent.clone(), *id);
                }
                None => {
                    missing.insert(&k.user_agent, k);
                }
            }
        }
    }
    if missing.is_empty() {
        return Ok(known);
    }
    let uas: Vec<&str> = missing.keys().copied().collect();
    let device: Vec<&str> = missing.values().map(|k| k.device.as_str()).collect();
    let os: Vec<&str> = missing.values().map(|k| k.os.as_str()).collect();
    let browser: Vec<&str> = missing.values().map(|k| k.browser.as_str()).collect();
    c.execute(
        "INSERT INTO user_agents (ua, device, os, browser)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[]) ON CONFLICT (ua) DO NOTHING",
        &[&uas, &device, &os, &browser],
    )
    .await
    .map_err(pg_error)?;
    let rows = c
        .query("SELECT ua, id FROM user_agents WHERE ua = ANY($1)", &[&uas])
        .await
        .map_err(pg_error)?;
    let mut cache = cached.lock().unwrap_or_else(|p| p.into_inner());
    for r in rows {
        let (ua, id): (String, i64) = (r.get(0), r.get(1));
        cache.insert(ua.clone(), id);
        known.insert(ua, id);
    }
    if clicks.iter().any(|k| !known.contains_key(&k.user_agent)) {
        return Err(StoreError::Unavailable(
            "a user agent row was not found after its insert".into(),
        ));
    }
    Ok(known)
}

pub(super) fn click_from_row(r: &Row) -> StoreResult<Click> {
    let id = click_id(r.get(0), "clicks", "?")?;
    let extra: Option<&str> = r.get(11);
    Ok(Click {
        id,
        ts_ms: r.get(1),
        link_id: r.get(2),
        offer_id: r.get(3),
        affiliate_id: r.get(4),
        sub1: r.get(5),
        sub2: r.get(6),
        sub3: r.get(7),
        sub4: r.get(8),
        sub5: r.get(9),
        source: r.get(10),
        extra: match extra {
            Some(e) => serde_json::from_str(e)
                .map_err(|_| corrupt("clicks", id, "extra", e, "a JSON object of parameters"))?,
            None => Default::default(),
        },
        ip: r.get(12),
        country: r.get(13),
        user_agent: r.get(14),
        device: r.get(15),
        os: r.get(16),
        browser: r.get(17),
        referer_host: r.get(18),
        unique: r.get(19),
        bot: r.get(20),
        suspicious: r.get(21),
        test: r.get(22),
        params_cut: r.get::<_, Option<i32>>(23).unwrap_or(0) as u32,
        rule: r.get(24),
        target: r.get(25),
        blocked: r.get::<_, Option<bool>>(26).unwrap_or(false),
        flow_offer: r.get(27),
    })
}

pub async fn click(s: &PgStore, id: ClickId, scope: &Scope) -> StoreResult<Option<Click>> {
    let c = s.client().await?;
    let rows = rows(&**c, &query::click(id, scope)).await?;
    rows.first().map(click_from_row).transpose()
}

pub async fn list(s: &PgStore, f: &ClickFilter) -> StoreResult<Vec<Click>> {
    let c = s.client().await?;
    rows(&**c, &query::clicks(f))
        .await?
        .iter()
        .map(click_from_row)
        .collect()
}

pub async fn expire(s: &PgStore, before_ms: i64, limit: u32) -> StoreResult<u64> {
    s.execute(
        "DELETE FROM clicks WHERE id IN (SELECT id FROM clicks WHERE id < $1 ORDER BY id LIMIT $2)",
        &[&first_click_id_at(before_ms), &i64::from(limit)],
    )
    .await
}
