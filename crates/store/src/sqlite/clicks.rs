//! Clicks: written in group-commit batches by the click writer's thread,
//! read back with the fields they derive from their link and user agent.

use std::collections::HashMap;

use clickledger_domain::ClickId;
use rusqlite::{params, Connection, Row, TransactionBehavior};

use super::rollup;
use super::sql::{first_click_id_at, json, rows};
use crate::corrupt::corrupt;
use crate::model::*;
use crate::query;

const CLICK_COLUMNS: &str = "id, ts_ms, link_id, sub1, sub2, sub3, sub4, sub5, source, extra, ip, country, ua_id, referer_host, is_unique, is_bot, suspicious, test, params_cut, offer_id, rule, target, blocked";

/// What the click path keeps between batches; only the writer touches it.
#[derive(Default)]
pub(super) struct ClickWriter {
    /// user agent -> row id, so repeated agents cost no lookup
    ua_ids: HashMap<String, i64>,
    /// click counts committed but not yet folded into the rollup tables
    rollups: rollup::Pending,
}

impl ClickWriter {
    /// Folds the pending rollup counts into their tables.
    pub(super) fn flush(&mut self, conn: &mut Connection) -> rusqlite::Result<()> {
        self.rollups.flush(conn)
    }

    /// Folds one rollup shape's pending counts (`rollup::Pending::flush_shape`).
    pub(super) fn flush_shape(
        &mut self,
        conn: &mut Connection,
        which: usize,
    ) -> rusqlite::Result<()> {
        self.rollups.flush_shape(conn, which)
    }
}

/// One group-commit batch: the clicks in one transaction; their rollup
/// counts are kept in memory and folded in every 10 s (`rollup::Pending`).
pub(super) fn insert_clicks(
    conn: &mut Connection,
    w: &mut ClickWriter,
    clicks: &[Click],
) -> rusqlite::Result<()> {
    let ClickWriter { ua_ids, rollups } = w;
    if ua_ids.len() > 100_000 {
        ua_ids.clear();
    }
    let written = (|| {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut st = tx.prepare_cached(&format!(
            "INSERT INTO clicks ({CLICK_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)"
        ))?;
            for k in clicks {
                let extra = if k.extra.is_empty() {
                    None
                } else {
                    Some(json(&k.extra))
                };
                let ua_id = match ua_ids.get(&k.user_agent) {
                    Some(id) => *id,
                    None => {
                        tx.prepare_cached(
                            "INSERT OR IGNORE INTO user_agents (ua, device, os, browser) VALUES (?1, ?2, ?3, ?4)",
                        )?
                        .execute([&k.user_agent, &k.device, &k.os, &k.browser])?;
                        let id: i64 = tx
                            .prepare_cached("SELECT id FROM user_agents WHERE ua = ?1")?
                            .query_row([&k.user_agent], |r| r.get(0))?;
                        ua_ids.insert(k.user_agent.clone(), id);
                        id
                    }
                };
                st.execute(params![
                    &k.id.to_bytes()[..],
                    k.ts_ms,
                    k.link_id,
                    k.sub1,
                    k.sub2,
                    k.sub3,
                    k.sub4,
                    k.sub5,
                    k.source,
                    extra,
                    k.ip,
                    k.country,
                    ua_id,
                    k.referer_host,
                    k.unique,
                    k.bot,
                    k.suspicious,
                    k.test,
                    (k.params_cut > 0).then_some(k.params_cut),
                    // a click the flow did not send elsewhere is its link's offer's
                    k.flow_offer.then_some(&k.offer_id),
                    k.rule,
                    k.target,
                    k.blocked.then_some(1)
                ])?;
            }
        }
        let step = rollups.stage(&tx, clicks)?;
        tx.commit()?;
        Ok(step)
    })();
    match written {
        Ok(step) => {
            rollups.apply(step);
            Ok(())
        }
        Err(e) => {
            // ids of user agents inserted in a rolled-back transaction are void
            ua_ids.clear();
            Err(e)
        }
    }
}

/// The click, if it exists and `scope` may see it.
pub(super) fn click(c: &Connection, id: ClickId, scope: &Scope) -> rusqlite::Result<Option<Click>> {
    Ok(rows(c, &query::click(id, scope), click_from_row)?
        .into_iter()
        .next())
}

/// Clicks matching the filter, newest first.
pub(super) fn clicks(c: &Connection, f: &ClickFilter) -> rusqlite::Result<Vec<Click>> {
    rows(c, &query::clicks(f), click_from_row)
}

/// Deletes up to `limit` raw clicks older than `before_ms`.
pub(super) fn expire_clicks(c: &Connection, before_ms: i64, limit: u32) -> rusqlite::Result<u64> {
    // click ids start with their time, so this is a range delete
    let n = c.execute(
        "DELETE FROM clicks WHERE id IN (SELECT id FROM clicks WHERE id < ?1 ORDER BY id LIMIT ?2)",
        params![first_click_id_at(before_ms), limit],
    )?;
    Ok(n as u64)
}

fn click_id_from(b: Vec<u8>) -> rusqlite::Result<ClickId> {
    let arr: [u8; 16] = b.try_into().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Blob,
            "click id is not 16 bytes".into(),
        )
    })?;
    Ok(ClickId::from_bytes(arr))
}

fn click_from_row(r: &Row) -> rusqlite::Result<Click> {
    let extra: Option<String> = r.get(11)?;
    let id = click_id_from(r.get(0)?)?;
    Ok(Click {
        id,
        ts_ms: r.get(1)?,
        link_id: r.get(2)?,
        offer_id: r.get(3)?,
        affiliate_id: r.get(4)?,
        sub1: r.get(5)?,
        sub2: r.get(6)?,
        sub3: r.get(7)?,
        sub4: r.get(8)?,
        sub5: r.get(9)?,
        source: r.get(10)?,
        extra: match extra {
            Some(e) => serde_json::from_str(&e)
                .map_err(|_| corrupt("clicks", id, "extra", &e, "a JSON object of parameters"))?,
            None => Default::default(),
        },
        ip: r.get(12)?,
        country: r.get(13)?,
        user_agent: r.get(14)?,
        device: r.get(15)?,
        os: r.get(16)?,
        browser: r.get(17)?,
        referer_host: r.get(18)?,
        unique: r.get(19)?,
        bot: r.get(20)?,
        suspicious: r.get(21)?,
        test: r.get(22)?,
        params_cut: r.get::<_, Option<u32>>(23)?.unwrap_or(0),
        rule: r.get(24)?,
        target: r.get(25)?,
        blocked: r.get::<_, Option<bool>>(26)?.unwrap_or(false),
        flow_offer: r.get(27)?,
    })
}
