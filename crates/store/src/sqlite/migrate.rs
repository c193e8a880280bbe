//! The schema as numbered SQL files (`migrations/NNNN_name.sql`), run in
//! order at open and recorded in `schema_migrations`, so a file knows which
//! it has had. A change to the schema is a new file at the end of
//! `MIGRATIONS`; a shipped file never changes (files that ran it will not
//! run it again).
//!
//! Files from before the numbering have tables but no `schema_migrations`:
//! the in-place upgrades they used to get at every open run once first,
//! then 0001 (all `CREATE ... IF NOT EXISTS`) adopts what is there.

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

/// The schema when migrations began to be numbered.
const INIT: &str = include_str!("migrations/0001_init.sql");

/// Every migration, oldest first: (version, name, SQL).
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", INIT),
    (
        2,
        "destination_health",
        include_str!("migrations/0002_destination_health.sql"),
    ),
    (
        3,
        "replayed_postbacks",
        include_str!("migrations/0003_replayed_postbacks.sql"),
    ),
    (4, "flows", include_str!("migrations/0004_flows.sql")),
    (
        5,
        "browser_conversions",
        include_str!("migrations/0005_browser_conversions.sql"),
    ),
    (6, "alerts", include_str!("migrations/0006_alerts.sql")),
    (
        7,
        "report_rollups",
        include_str!("migrations/0007_report_rollups.sql"),
    ),
    (
        8,
        "link_rollup",
        include_str!("migrations/0008_link_rollup.sql"),
    ),
    (
        9,
        "affiliate_sub1_rollup",
        include_str!("migrations/0009_affiliate_sub1_rollup.sql"),
    ),
    (
        10,
        "sub_slot_rollups",
        include_str!("migrations/0010_sub_slot_rollups.sql"),
    ),
    (
        11,
        "link_country_rollup",
        include_str!("migrations/0011_link_country_rollup.sql"),
    ),
    (
        12,
        "month_rollups",
        include_str!("migrations/0012_month_rollups.sql"),
    ),
    (
        13,
        "affiliate_sub_slot_rollups",
        include_str!("migrations/0013_affiliate_sub_slot_rollups.sql"),
    ),
    (
        14,
        "affiliate_geo_rollup",
        include_str!("migrations/0014_affiliate_geo_rollup.sql"),
    ),
    (
        15,
        "conversion_quarters_from_conversions",
        include_str!("migrations/0015_conversion_quarters_from_conversions.sql"),
    ),
    (
        16,
        "local_days",
        include_str!("migrations/0016_local_days.sql"),
    ),
    (
        17,
        "sub1_alone_rollup",
        include_str!("migrations/0017_sub1_alone_rollup.sql"),
    ),
    (
        18,
        "country_and_affiliate_alone_rollups",
        include_str!("migrations/0018_country_and_affiliate_alone_rollups.sql"),
    ),
    (
        19,
        "pair_rollups",
        include_str!("migrations/0019_pair_rollups.sql"),
    ),
    (
        20,
        "link_device_rollup",
        include_str!("migrations/0020_link_device_rollup.sql"),
    ),
    (
        21,
        "sub_value_overflows",
        include_str!("migrations/0021_sub_value_overflows.sql"),
    ),
    (
        22,
        "conversions_click_time",
        include_str!("migrations/0022_conversions_click_time.sql"),
    ),
];

/// Brings the file to the newest schema, all in one IMMEDIATE transaction:
/// a second process opening the file at the same time waits for the lock
/// (the connection's busy timeout), then finds nothing left to do. Returns
/// the versions it applied.
pub(super) fn migrate(conn: &mut Connection, now_ms: i64) -> rusqlite::Result<Vec<i64>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if !has_table(&tx, "schema_migrations")? {
        legacy_upgrades(&tx)?;
        tx.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT, applied_ms INTEGER);",
        )?;
    }
    let mut applied = Vec::new();
    for (version, name, sql) in MIGRATIONS {
        let done = tx
            .query_row(
                "SELECT 1 FROM schema_migrations WHERE version = ?1",
                [version],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if done {
            continue;
        }
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_ms) VALUES (?1, ?2, ?3)",
            params![version, name, now_ms],
        )?;
        applied.push(*version);
    }
    tx.commit()?;
    Ok(applied)
}

fn has_table(tx: &Connection, name: &str) -> rusqlite::Result<bool> {
    tx.query_row(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [name],
        |_| Ok(()),
    )
    .optional()
    .map(|found| found.is_some())
}

/// What a file from before the numbering needs before 0001 can adopt it.
/// Each step looks for what it changes, so a fresh file (no tables) and an
/// up-to-date one pass through untouched.
fn legacy_upgrades(tx: &Transaction) -> rusqlite::Result<()> {
    // conversions first: the clicks step runs 0001, whose indexes name the
    // new conversions columns
    migrate_once_key(tx)?;
    migrate_wide_clicks(tx)?;
    add_missing_columns(tx)?;
    // click-time ranges use conversions_click_once (click ids begin with
    // their time); the index of their own cost a page write per conversion
    tx.execute_batch("DROP INDEX IF EXISTS conversions_click_time;")
}

/// The conversion columns of 0001 (the legacy rebuild runs before the
/// numbered migrations that add more).
const CONVERSION_COLUMNS_0001: &str = "id, click_id, offer_id, advertiser_id, affiliate_id, link_id, event, txid, status, \
     status_received, amount_micros, currency, payout_micros, revenue_micros, payout_currency, click_ms, conv_ms, \
     updated_ms, too_fast, test, capped, parent_id, payout_base_micros, revenue_base_micros, fx_missing, hold_until_ms, \
     duplicates, source, sub1, sub2, sub3, sub4, sub5, country, device, os, browser";

/// Conversions up to 2026-11 enforced once-per-click with a text column
/// `once_key` ("click:event") under a UNIQUE index of its own, beside a
/// (click_id, event) index: two random-page index writes per conversion
/// where one serves. The table is rebuilt, since SQLite cannot drop a
/// column's UNIQUE constraint in place.
fn migrate_once_key(tx: &Transaction) -> rusqlite::Result<()> {
    if tx
        .prepare("SELECT once_key FROM conversions LIMIT 0")
        .is_err()
    {
        return Ok(());
    }
    tx.execute_batch(
        "ALTER TABLE conversions RENAME TO conversions_v1;
         DROP INDEX IF EXISTS conversions_parent; DROP INDEX IF EXISTS conversions_hold;
         DROP INDEX IF EXISTS conversions_offer_time; DROP INDEX IF EXISTS conversions_txid;
         DROP INDEX IF EXISTS conversions_click; DROP INDEX IF EXISTS conversions_time;",
    )?;
    tx.execute_batch(INIT)?;
    tx.execute_batch(&format!(
        "INSERT INTO conversions ({CONVERSION_COLUMNS_0001}, once)
         SELECT {CONVERSION_COLUMNS_0001}, CASE WHEN once_key IS NULL THEN NULL ELSE 1 END FROM conversions_v1;
         DROP TABLE conversions_v1;"
    ))
}

/// The click columns every version since the first has had.
const CLICK_COLUMNS_V1: &str = "id, ts_ms, link_id, sub1, sub2, sub3, sub4, sub5, source, extra, ip, country, ua_id, referer_host, is_unique, is_bot, suspicious, test";

/// The first version's clicks carried offer, affiliate, device, OS and
/// browser on every row.
fn migrate_wide_clicks(tx: &Transaction) -> rusqlite::Result<()> {
    if tx.prepare("SELECT offer_id FROM clicks LIMIT 0").is_err() {
        return Ok(());
    }
    tx.execute_batch(
        "ALTER TABLE user_agents ADD COLUMN device TEXT NOT NULL DEFAULT '';
         ALTER TABLE user_agents ADD COLUMN os TEXT NOT NULL DEFAULT '';
         ALTER TABLE user_agents ADD COLUMN browser TEXT NOT NULL DEFAULT '';",
    )?;
    let agents: Vec<(i64, String)> = tx
        .prepare("SELECT id, ua FROM user_agents")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (id, ua) in agents {
        // the same classification the click path applies
        let p = clickledger_domain::user_agent::parse(&ua);
        tx.execute(
            "UPDATE user_agents SET device = ?1, os = ?2, browser = ?3 WHERE id = ?4",
            params![p.device, p.os, p.browser, id],
        )?;
    }
    tx.execute_batch("ALTER TABLE clicks RENAME TO clicks_v1;")?;
    tx.execute_batch(INIT)?;
    tx.execute_batch(&format!(
        "INSERT INTO clicks ({CLICK_COLUMNS_V1}) SELECT {CLICK_COLUMNS_V1} FROM clicks_v1; DROP TABLE clicks_v1;"
    ))
}

/// Columns added after their table first shipped: added in place (NULL
/// in older rows) when a file lacks them.
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    // clicks before 2026-12 refused what was over the bounds instead of
    // cutting it, so nothing was ever cut
    ("clicks", "params_cut", "INTEGER"),
    // the postback log before 2026-12 kept the txid only among its fields
    ("postback_log", "txid", "TEXT"),
    // deliveries before 2026-12 had one process draining them
    ("deliveries", "leased_by", "TEXT"),
];

fn add_missing_columns(tx: &Transaction) -> rusqlite::Result<()> {
    for (table, column, kind) in ADDED_COLUMNS {
        let table_exists = tx
            .prepare(&format!("SELECT 1 FROM {table} LIMIT 0"))
            .is_ok();
        let column_exists = tx
            .prepare(&format!("SELECT {column} FROM {table} LIMIT 0"))
            .is_ok();
        if table_exists && !column_exists {
            tx.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind}"))?;
        }
    }
    Ok(())
}
