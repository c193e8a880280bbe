//! Alert messages to the alert hooks, through a durable outbox: queued in
//! the transaction that records the alert's change, claimed with a lease
//! (any node may send; a job whose node died is due again when its lease
//! ends), retried on the delivery backoff (`--delivery-backoff`, with
//! jitter, honouring `Retry-After`), and signed the Standard Webhooks way
//! with the hook's secret (`webhook-id` is the message's id, the same on
//! every attempt, so receivers drop repeats).
//!
//! Bodies, `format: "standard"`:
//! `{"type": "alert.opened", "timestamp": "...", "data": {the alert}}`;
//! `format: "slack"`: `{"text": "..."}` (a Slack incoming webhook, or
//! anything that takes that shape).

use std::sync::Arc;

use clickledger_domain::alerts::Alert;
use clickledger_domain::outbound::{self, Verdict};
use clickledger_domain::signature::webhook_sign;
use clickledger_domain::time::rfc3339_ms;
use clickledger_store::{AlertDelivery, StoreResult};
use serde_json::{json, Value};

use super::hooks::{self, Hook};
use crate::util::{now_ms, random_u128};
use crate::AppState;

/// The alert as messages and the API show it.
pub fn alert_json(a: &Alert) -> Value {
    serde_json::to_value(super::hooks::AlertView::from(a)).expect("serializable")
}

/// The body for a hook of `format`.
pub fn body(format: &str, event: &str, now_ms: i64, data: Value, text: String) -> String {
    if format == "slack" {
        return json!({ "text": text }).to_string();
    }
    json!({"type": event, "timestamp": rfc3339_ms(now_ms), "data": data}).to_string()
}

fn slack_text(event: &str, a: &Alert) -> String {
    let (mark, word) = match event {
        "alert.opened" => (":rotating_light:", "Opened"),
        _ => (":white_check_mark:", "Resolved"),
    };
    format!("{mark} {word}: {} — {}", a.kind.as_str(), a.summary)
}

/// A message about `alert` for each hook that hears of its kind (due at
/// once). Ids are the alert's, the event's and the hook's: queueing the
/// same change twice sends it once.
pub async fn messages(
    app: &AppState,
    event: &'static str,
    alert: &Alert,
    now_ms: i64,
) -> StoreResult<Vec<AlertDelivery>> {
    let hooks = hooks::all(app).await?;
    let state = event.trim_start_matches("alert.");
    Ok(hooks
        .iter()
        .filter(|h| h.hears(alert.kind.as_str()))
        .map(|h| {
            queued(
                format!("almsg_{}_{state}_{}", alert.id, h.id),
                h,
                Some(alert.id.clone()),
                event,
                body(
                    &h.format,
                    event,
                    now_ms,
                    alert_json(alert),
                    slack_text(event, alert),
                ),
                now_ms,
            )
        })
        .collect())
}

/// A pending message, due at once.
pub fn queued(
    id: String,
    hook: &Hook,
    alert_id: Option<String>,
    event: &str,
    body: String,
    now_ms: i64,
) -> AlertDelivery {
    AlertDelivery {
        id,
        hook_id: hook.id.clone(),
        alert_id,
        event: event.to_string(),
        body,
        state: "pending".into(),
        attempts: 0,
        next_attempt_ms: 0,
        created_ms: now_ms,
        updated_ms: now_ms,
        last_error: None,
        last_status: None,
    }
}

/// Sends the messages due now; returns how many were attempted.
pub async fn send_due(app: &AppState, client: &reqwest::Client) -> usize {
    let lease_ms = (app.delivery.connect_timeout + app.delivery.timeout).as_millis() as i64 + 5_000;
    let jobs = match app
        .store
        .claim_alert_deliveries(now_ms(), lease_ms, 16, &app.node)
        .await
    {
        Ok(j) => j,
        Err(e) => {
            tracing::warn!(error = %e, "alert messages not claimed");
            return 0;
        }
    };
    if jobs.is_empty() {
        return 0;
    }
    let hooks = hooks::all(app).await.unwrap_or_default();
    let n = jobs.len();
    for job in jobs {
        let hook = hooks.iter().find(|h| h.id == job.hook_id);
        let done = attempt(app, client, hook, job).await;
        app.metrics.alert_delivery(match done.state.as_str() {
            "delivered" => "delivered",
            "failed" => "failed",
            _ => "retry",
        });
        if let Err(e) = app.store.finish_alert_delivery(&done).await {
            // the lease ends and the message goes out again: at least once
            tracing::warn!(error = %e, message = %done.id, "alert message outcome not recorded");
        }
    }
    n
}

/// One attempt; the job as it stands after it.
async fn attempt(
    app: &AppState,
    client: &reqwest::Client,
    hook: Option<&Hook>,
    mut job: AlertDelivery,
) -> AlertDelivery {
    let now = now_ms();
    job.attempts += 1;
    job.updated_ms = now;
    let Some(hook) = hook else {
        job.state = "failed".into();
        job.last_error = Some("the hook no longer exists".into());
        return job;
    };
    if let Err(e) = super::check(&hook.url, app.delivery.allow_private) {
        job.state = "failed".into();
        job.last_error = Some(format!("destination refused: {e}"));
        return job;
    }
    let ts = (now / 1000).to_string();
    let mut req = client
        .post(&hook.url)
        .header("content-type", "application/json")
        .header("webhook-id", &job.id)
        .header("webhook-timestamp", &ts)
        .body(job.body.clone());
    if let Some(secret) = &hook.secret {
        req = req.header(
            "webhook-signature",
            webhook_sign(secret, &job.id, &ts, job.body.as_bytes()),
        );
    }
    let (verdict, retry_after) = match req.send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            job.last_status = Some(i64::from(status));
            let retry_after = crate::delivery::retry_after(r.headers());
            let verdict = outbound::classify(Some(status));
            job.last_error = (verdict != Verdict::Delivered).then(|| format!("HTTP {status}"));
            (verdict, retry_after)
        }
        Err(e) => {
            job.last_error = Some(format!("request failed: {e}"));
            (Verdict::Retry, None)
        }
    };
    match verdict {
        Verdict::Delivered => job.state = "delivered".into(),
        Verdict::Permanent => job.state = "failed".into(),
        Verdict::Retry => {
            let jitter = (random_u128() % 1_000_000) as f64 / 1_000_000.0;
            match outbound::next_delay(
                &app.delivery.backoff,
                job.attempts as usize,
                jitter,
                retry_after,
            ) {
                Some(d) => job.next_attempt_ms = now + d.as_millis() as i64,
                None => job.state = "failed".into(),
            }
        }
    }
    job
}

/// Drains the outbox until `stop`: woken when alerts are queued, else
/// polled (the delivery poll interval).
pub async fn run(app: Arc<AppState>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let client = crate::delivery::client(&app.delivery);
    loop {
        if *stop.borrow() {
            break;
        }
        if send_due(&app, &client).await > 0 {
            continue;
        }
        tokio::select! {
            _ = app.alert_outbox.notified() => {}
            _ = tokio::time::sleep(app.delivery.poll) => {}
            _ = stop.changed() => {}
        }
    }
}
