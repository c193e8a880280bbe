//! The local days a tracker keeps rollup rows for (`LocalDays`): those of
//! the timezones it reports in (`Settings::report_timezones`). A report by
//! day in Asia/Kolkata then reads one row per key and day, not a UTC day
//! and the 22 quarter hours that correct it (1.3–1.6 s at 10 M clicks by
//! day and sub1, on SQLite).

use clickledger_store::{LocalDays, Store};
use jiff::tz::TimeZone;
use jiff::Timestamp;

const DAY_MS: i64 = 86_400_000;

/// Where a timezone's midnight falls in the UTC day (its phases), for
/// each offset it uses in the year from `now_ms`: standard and summer
/// time. A timezone whose days are UTC days adds none.
pub fn phases(tz: &TimeZone, now_ms: i64) -> Vec<i64> {
    let mut out: Vec<i64> = (0..=12)
        .filter_map(|month| Timestamp::from_millisecond(now_ms + month * 30 * DAY_MS).ok())
        .map(|t| {
            let offset_ms = i64::from(tz.to_offset(t).seconds()) * 1000;
            (-offset_ms).rem_euclid(DAY_MS)
        })
        .filter(|p| *p != 0)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The timezones named, around spaces; a blank name (what an empty
/// `CLICKLEDGER_REPORT_TIMEZONES` gives) names none.
fn parse(names: &[String]) -> Result<Vec<TimeZone>, String> {
    names
        .iter()
        .map(|n| n.trim())
        .filter(|n| !n.is_empty())
        .map(|name| {
            TimeZone::get(name)
                .map_err(|e| format!("--report-timezone: `{name}` is not an IANA timezone: {e}"))
        })
        .collect()
}

/// Keeps the local days of `timezones` (IANA names), and returns every
/// phase the store keeps (another node's too).
pub async fn keep(
    store: &dyn Store,
    timezones: &[String],
    now_ms: i64,
) -> Result<Vec<LocalDays>, String> {
    let mut all = Vec::new();
    for tz in parse(timezones)? {
        all.extend(phases(&tz, now_ms));
    }
    all.sort_unstable();
    all.dedup();
    store
        .keep_local_days(&all, now_ms)
        .await
        .map_err(|e| format!("keeping local days for {timezones:?}: {e}"))
}

/// Fills in, behind, the days before each phase kept late (on SQLite:
/// `Store::backfill_local_day`), newest first, so a timezone named on a
/// tracker with history reads local rows over it once filled in, not
/// from its next day on only. Each day filled in is read from at once.
pub fn fill_in(state: &std::sync::Arc<crate::AppState>) {
    let late: Vec<i64> = state
        .local_days
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .filter(|k| k.since_ms > 0)
        .map(|k| k.phase_ms)
        .collect();
    if late.is_empty() {
        return;
    }
    let state = std::sync::Arc::downgrade(state);
    tokio::spawn(async move {
        for phase in late {
            let mut days = 0;
            loop {
                let Some(app) = state.upgrade() else { return };
                match app.store.backfill_local_day(phase).await {
                    Ok(Some(kept)) => {
                        let mut all = app.local_days.write().unwrap_or_else(|p| p.into_inner());
                        for k in all.iter_mut().filter(|k| k.phase_ms == phase) {
                            // never later than what is kept: a day filled
                            // in stays filled in
                            k.since_ms = k.since_ms.min(kept.since_ms);
                        }
                        if kept.since_ms == 0 {
                            tracing::info!(phase_ms = phase, days, "local days filled in");
                            break;
                        }
                        days += 1;
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(phase_ms = phase, error = %e, "filling in local days; tried again in a minute");
                        drop(app);
                        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                    }
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_names_name_no_timezone_and_others_must_be_iana() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(parse(&names(&[""])).unwrap().is_empty());
        let kept = parse(&names(&[" Asia/Kolkata", "", "Europe/Berlin "])).unwrap();
        let kept: Vec<_> = kept.iter().map(|t| t.iana_name().unwrap()).collect();
        assert_eq!(kept, ["Asia/Kolkata", "Europe/Berlin"]);
        let refused = parse(&names(&["Mars/Olympus"])).map(drop).unwrap_err();
        assert!(
            refused.starts_with("--report-timezone: `Mars/Olympus` is not an IANA timezone"),
            "{refused}"
        );
    }

    #[test]
    fn a_timezones_phases_are_its_midnights_in_utc() {
        let now = clickledger_domain::time::parse_rfc3339_ms("2026-12-04T00:00:00.000Z").unwrap();
        let h = 3_600_000;
        let tz = |n: &str| TimeZone::get(n).unwrap();
        // +05:30, no summer time: 18:30 UTC
        assert_eq!(phases(&tz("Asia/Kolkata"), now), vec![18 * h + h / 2]);
        // +01:00 and +02:00 in summer: 23:00 and 22:00
        assert_eq!(phases(&tz("Europe/Berlin"), now), vec![22 * h, 23 * h]);
        // -05:00 and -04:00: 05:00 and 04:00
        assert_eq!(phases(&tz("America/New_York"), now), vec![4 * h, 5 * h]);
        // London's winter is UTC: only its summer adds a phase
        assert_eq!(phases(&tz("Europe/London"), now), vec![23 * h]);
        assert!(phases(&TimeZone::UTC, now).is_empty());
    }
}
