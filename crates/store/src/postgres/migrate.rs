//! Numbered SQL migrations, run at connect. Several nodes starting at once
//! take turns on an advisory lock, so each file runs exactly once.

use tokio_postgres::Client;

use super::sql::pg_error;
use crate::StoreResult;

/// Every migration, in order: (version, name, SQL). A new schema change is
/// a new file here, never an edit of a shipped one.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("migrations/0001_init.sql")),
    (
        2,
        "leader_leases",
        include_str!("migrations/0002_leader_leases.sql"),
    ),
    (
        3,
        "destination_health",
        include_str!("migrations/0003_destination_health.sql"),
    ),
    (
        4,
        "replayed_postbacks",
        include_str!("migrations/0004_replayed_postbacks.sql"),
    ),
    (5, "flows", include_str!("migrations/0005_flows.sql")),
    (
        6,
        "browser_conversions",
        include_str!("migrations/0006_browser_conversions.sql"),
    ),
    (7, "alerts", include_str!("migrations/0007_alerts.sql")),
    (
        8,
        "report_rollups",
        include_str!("migrations/0008_report_rollups.sql"),
    ),
    (
        9,
        "link_rollup",
        include_str!("migrations/0009_link_rollup.sql"),
    ),
    (
        10,
        "pending_rollups",
        include_str!("migrations/0010_pending_rollups.sql"),
    ),
    (
        11,
        "affiliate_sub1_rollup",
        include_str!("migrations/0011_affiliate_sub1_rollup.sql"),
    ),
    (
        12,
        "sub_slot_rollups",
        include_str!("migrations/0012_sub_slot_rollups.sql"),
    ),
    (
        13,
        "link_country_rollup",
        include_str!("migrations/0013_link_country_rollup.sql"),
    ),
    (
        14,
        "month_rollups",
        include_str!("migrations/0014_month_rollups.sql"),
    ),
    (
        15,
        "affiliate_sub_slot_rollups",
        include_str!("migrations/0015_affiliate_sub_slot_rollups.sql"),
    ),
    (
        16,
        "affiliate_geo_rollup",
        include_str!("migrations/0016_affiliate_geo_rollup.sql"),
    ),
    (
        17,
        "conversion_quarters_from_conversions",
        include_str!("migrations/0017_conversion_quarters_from_conversions.sql"),
    ),
    (
        18,
        "local_days",
        include_str!("migrations/0018_local_days.sql"),
    ),
    (
        19,
        "sub1_alone_rollup",
        include_str!("migrations/0019_sub1_alone_rollup.sql"),
    ),
    (
        20,
        "country_and_affiliate_alone_rollups",
        include_str!("migrations/0020_country_and_affiliate_alone_rollups.sql"),
    ),
    (
        21,
        "pair_rollups",
        include_str!("migrations/0021_pair_rollups.sql"),
    ),
    (
        22,
        "link_device_rollup",
        include_str!("migrations/0022_link_device_rollup.sql"),
    ),
    (
        23,
        "sub_value_overflows",
        include_str!("migrations/0023_sub_value_overflows.sql"),
    ),
    (
        24,
        "conversions_click_time",
        include_str!("migrations/0024_conversions_click_time.sql"),
    ),
];

/// The advisory lock key for migrations ("clickledger migrate").
const LOCK: i64 = 0x636c_6d69_6772_6174;

pub async fn run(c: &mut Client) -> StoreResult<()> {
    let tx = c.transaction().await.map_err(pg_error)?;
    // held until this transaction ends: the next node waits, then finds
    // the versions recorded (even the table itself: two nodes creating it
    // at once collide in the catalog, IF NOT EXISTS or not)
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])
        .await
        .map_err(pg_error)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL)",
    )
    .await
    .map_err(pg_error)?;
    let done: Vec<i64> = tx
        .query("SELECT version FROM schema_migrations", &[])
        .await
        .map_err(pg_error)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    for (version, name, sql) in MIGRATIONS {
        if done.contains(version) {
            continue;
        }
        tx.batch_execute(sql).await.map_err(pg_error)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_ms)
             VALUES ($1, $2, (extract(epoch FROM now()) * 1000)::bigint)",
            &[version, name],
        )
        .await
        .map_err(pg_error)?;
        tracing::info!(version, name, "PostgreSQL migration applied");
    }
    tx.commit().await.map_err(pg_error)
}
