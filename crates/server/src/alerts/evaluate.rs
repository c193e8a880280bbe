//! The evaluator: once a minute, on the node that leads `alerts`, reads the
//! figures, asks `clickledger_domain::alerts` which conditions hold and what
//! that changes, and stores the changes with their messages to the alert
//! hooks in one transaction (the outbox `super::outbox` drains).
//!
//! The time comes in (`now_ms`), so tests evaluate at any moment they like.

use std::sync::Arc;
use std::time::Duration;

use clickledger_domain::alerts::{
    self, AlertKind, AlertOverrides, Change, DestinationFigures, Finding, Thresholds,
};
use clickledger_store::StoreResult;

use crate::util::{now_ms, random_id};
use crate::AppState;

/// How the evaluator decides (settings: `clickledger serve --alert-*`).
#[derive(Clone, Debug)]
pub struct AlertSettings {
    pub thresholds: Thresholds,
    /// How long a condition must stay clear before its alert resolves.
    pub quiet_ms: i64,
    /// How far back an offer's usual postback interval is learned.
    pub history_ms: i64,
    /// How often the evaluator runs.
    pub every: Duration,
    /// The UTC hour after which the daily digest goes out; none: no digest.
    pub digest_hour: Option<u32>,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            thresholds: Thresholds::default(),
            quiet_ms: 5 * 60_000,
            history_ms: 7 * 86_400_000,
            every: Duration::from_secs(60),
            digest_hour: Some(8),
        }
    }
}

/// The thresholds for a kind, an advertiser and an offer: the settings, the
/// advertiser's overrides, then the offer's; `None` when either silences
/// the kind.
fn policy(
    app: &AppState,
) -> impl Fn(AlertKind, Option<&str>, Option<&str>) -> Option<Thresholds> + '_ {
    let cfg = app.cache.get();
    let base = app.alerts.thresholds;
    move |kind, advertiser, offer| {
        let none = AlertOverrides::default();
        let adv = advertiser
            .and_then(|id| cfg.advertisers.get(id))
            .map_or(&none, |a| &a.alert_overrides);
        let off = offer
            .and_then(|id| cfg.offers.get(id))
            .map_or(&none, |o| &o.offer.alert_overrides);
        if adv.silences(kind) || off.silences(kind) {
            return None;
        }
        Some(base.with(adv).with(off))
    }
}

/// Every condition that holds at `now_ms`.
async fn findings(app: &AppState, now_ms: i64) -> StoreResult<Vec<Finding>> {
    let store = app.store.as_ref();
    let policy = policy(app);
    let window = app.alerts.thresholds.window_ms;
    let tallies = store.postback_tallies(now_ms - window, now_ms + 1).await?;
    let mut found = alerts::rejections_spikes(&tallies, &policy);
    found.extend(alerts::hint_findings(&tallies, &policy));
    let history = store
        .offer_postback_history(now_ms - app.alerts.history_ms, now_ms + 1)
        .await?;
    for h in &history {
        let Some(t) = policy(
            AlertKind::PostbacksStopped,
            Some(&h.advertiser_id),
            Some(&h.offer_id),
        ) else {
            continue;
        };
        if !alerts::silent_too_long(h, &t, now_ms) {
            continue;
        }
        let clicks = store
            .offer_clicks(&h.offer_id, h.last_ms + 1, now_ms + 1)
            .await?;
        found.extend(alerts::postbacks_stopped(h, clicks, &t, now_ms));
    }
    let destinations: Vec<DestinationFigures> = store
        .destinations()
        .await?
        .into_iter()
        .map(|d| DestinationFigures {
            affiliate_id: d.affiliate_id,
            state: d.state,
            consecutive_failures: d.consecutive_failures,
            last_error: d.last_error,
        })
        .collect();
    found.extend(alerts::destination_findings(&destinations));
    found.extend(alerts::cap_findings(
        &app.caps.reached(&app.cache.get()),
        &policy,
    ));
    if let Some(f) = &app.fallback {
        let s = f.journal.status();
        let age = s.oldest_ms.map_or(0, |t| now_ms - t);
        found.extend(alerts::journal_finding(
            &app.node,
            s.depth,
            age,
            &app.alerts.thresholds,
        ));
    }
    Ok(found)
}

/// One evaluation at `now_ms`: the changes it made (stored, their
/// messages queued).
pub async fn evaluate(app: &AppState, now_ms: i64) -> StoreResult<Vec<Change>> {
    let found = findings(app, now_ms).await?;
    let open = app.store.open_alerts().await?;
    let own_journal = format!("node:{}", app.node);
    let changes = alerts::reconcile(
        &open,
        found,
        now_ms,
        app.alerts.quiet_ms,
        // a node sees its own journal only
        |a| a.kind != AlertKind::JournalNotDraining || a.subject == own_journal,
        || random_id("alrt", 20),
    );
    let mut outbox = Vec::new();
    for c in &changes {
        if let Some(event) = c.event() {
            app.metrics.alert(event, c.alert().kind.as_str());
            tracing::warn!(kind = c.alert().kind.as_str(), subject = %c.alert().subject, "{event}: {}", c.alert().summary);
            outbox.extend(super::outbox::messages(app, event, c.alert(), now_ms).await?);
        }
    }
    if let Some(digest) = super::digest::due(app, now_ms).await? {
        outbox.extend(digest);
    }
    if !changes.is_empty() || !outbox.is_empty() {
        let alerts: Vec<_> = changes.iter().map(|c| c.alert().clone()).collect();
        app.store.save_alerts(&alerts, &outbox).await?;
        app.alert_outbox.notify_one();
    }
    Ok(changes)
}

/// Runs the evaluator every `every` on the node that leads `alerts`.
pub fn spawn(app: &Arc<AppState>) {
    let weak = Arc::downgrade(app);
    let every = app.alerts.every;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(app) = weak.upgrade() else { break };
            let now = now_ms();
            let ttl = every.as_millis() as i64 * 3;
            match app.store.lead("alerts", &app.node, now, ttl).await {
                Ok(true) => {
                    if let Err(e) = evaluate(&app, now).await {
                        tracing::warn!(error = %e, "alerts not evaluated");
                    }
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "alerts lease not taken"),
            }
        }
    });
}
