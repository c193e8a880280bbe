//! The outbound postback dispatcher.
//!
//! Jobs are written by the postback path in the same transaction as the
//! conversion (the outbox). This loop claims due jobs with a lease, sends
//! them with bounded concurrency overall and per destination host, and
//! records every attempt. 2xx delivers; 408, 429, 5xx and network errors
//! retry on the backoff schedule (with jitter, honouring `Retry-After`);
//! anything else fails for good. A destination whose attempts keep failing
//! turns *failing* (its jobs wait without spending their retries and one
//! probe goes out per growing interval; the first successful probe
//! releases them oldest first) and, after failing for days, *disabled*
//! until a person re-enables it: `clickledger_domain::destination_health`
//! has the rules, the store keeps the state (so every node's claim respects
//! it), and each change of state goes to the alert hook (`crate::alerts`).
//! A job whose process died mid-flight is due again when its lease ends (or
//! at once on restart): delivery is at least once, and the stable
//! `webhook-id` / `Idempotency-Key` lets receivers drop repeats.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clickledger_domain::outbound::{self, mask_url, Method, Verdict};
use clickledger_domain::signature::webhook_sign;
use clickledger_store::{AttemptOutcome, Delivery, DeliveryAttempt, HealthPolicy};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokio::sync::{Notify, Semaphore};

use crate::alerts::AlertHook;
use crate::util::{now_ms, random_u128};
use crate::AppState;

#[derive(Clone, Debug)]
pub struct DeliverySettings {
    pub backoff: Vec<Duration>,
    /// Let deliveries go to loopback/private addresses over plain http.
    pub allow_private: bool,
    pub concurrency: usize,
    pub per_host: usize,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    /// When a destination turns failing, how it is probed, when disabled.
    pub health: HealthPolicy,
    /// Where changes of a destination's state are announced.
    pub alert_hook: Option<AlertHook>,
    /// How often to look for due jobs when nothing wakes the dispatcher.
    pub poll: Duration,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            backoff: outbound::default_schedule(),
            allow_private: false,
            concurrency: 32,
            per_host: 8,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            health: HealthPolicy::default(),
            alert_hook: None,
            poll: Duration::from_millis(500),
        }
    }
}

/// True for addresses an outbound postback must not reach unless allowed:
/// loopback, private, link-local (cloud metadata lives there), CGNAT,
/// unique-local, unspecified, multicast, documentation.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || o[0] == 0
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
        }
    }
}

/// A resolver that refuses internal addresses, so a name cannot be pointed
/// at the metadata service between the check and the connection.
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| allow || !is_internal(a.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(format!("{host} resolves only to internal addresses (refused)").into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

pub fn client(settings: &DeliverySettings) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(settings.connect_timeout)
        .timeout(settings.timeout)
        .user_agent(concat!("Clickledger/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(GuardedResolver {
            allow_private: settings.allow_private,
        }))
        .build()
        .expect("the HTTP client builds")
}

/// Checks a destination before sending: scheme and literal addresses (names
/// are checked by the resolver).
pub fn check_destination(
    url: &str,
    allow_http: bool,
    allow_private: bool,
) -> Result<(String, u16), String> {
    let u = url::Url::parse(url).map_err(|e| format!("the URL does not parse: {e}"))?;
    match u.scheme() {
        "https" => {}
        "http" if allow_http || allow_private => {}
        "http" => return Err("plain http is not allowed for this affiliate".into()),
        s => return Err(format!("scheme {s} is not allowed")),
    }
    let host = u.host().ok_or("the URL has no host")?;
    let literal = match host {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        url::Host::Domain(d) if d.eq_ignore_ascii_case("localhost") => {
            Some(IpAddr::from([127, 0, 0, 1]))
        }
        url::Host::Domain(_) => None,
    };
    if let Some(ip) = literal {
        if !allow_private && is_internal(ip) {
            return Err(format!("{ip} is an internal address (refused)"));
        }
    }
    Ok((
        u.host_str().unwrap_or_default().to_string(),
        u.port_or_known_default().unwrap_or(0),
    ))
}

pub struct Dispatcher {
    pub wake: Notify,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Default for Dispatcher {
    fn default() -> Self {
        Dispatcher {
            wake: Notify::new(),
            hosts: Mutex::new(HashMap::new()),
        }
    }
}

impl Dispatcher {
    fn host_slot(&self, host: &str, per_host: usize) -> Arc<Semaphore> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        hosts
            .entry(host.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(per_host)))
            .clone()
    }
}

/// Runs until `stop` turns true; in-flight sends finish first.
pub async fn run(app: Arc<AppState>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let settings = app.delivery.clone();
    let client = client(&settings);
    let slots = Arc::new(Semaphore::new(settings.concurrency));
    let lease_ms = (settings.connect_timeout + settings.timeout).as_millis() as i64 + 5_000;
    if let Err(e) = app.store.release_leases(&app.node).await {
        tracing::warn!(error = %e, "could not release delivery leases");
    }
    loop {
        if *stop.borrow() {
            break;
        }
        let free = slots.available_permits();
        let jobs = if free == 0 {
            Vec::new()
        } else {
            match app
                .store
                .claim_deliveries(now_ms(), lease_ms, free as u32, &app.node)
                .await
            {
                Ok(j) => j,
                Err(e) => {
                    tracing::warn!(error = %e, "could not claim deliveries");
                    Vec::new()
                }
            }
        };
        let claimed = jobs.len();
        for job in jobs {
            let permit = slots.clone().acquire_owned().await.expect("semaphore open");
            let (app, client) = (app.clone(), client.clone());
            tokio::spawn(async move {
                send(&app, &client, job).await;
                drop(permit);
                app.dispatcher.wake.notify_one();
            });
        }
        if claimed == 0 || slots.available_permits() == 0 {
            tokio::select! {
                _ = app.dispatcher.wake.notified() => {}
                _ = tokio::time::sleep(settings.poll) => {}
                _ = stop.changed() => {}
            }
        }
    }
    // let in-flight sends record their outcome
    let _ = slots.acquire_many(settings.concurrency as u32).await;
}

async fn send(app: &AppState, client: &reqwest::Client, job: Delivery) {
    let sent = attempt(app, client, &job, &[]).await;
    finish(app, &sent.attempt, sent.verdict, &job, sent.retry_after).await;
}

/// One attempt's outcome, before it is recorded.
pub struct Sent {
    pub attempt: DeliveryAttempt,
    pub verdict: Verdict,
    pub retry_after: Option<Duration>,
    /// The headers sent (none when the destination was refused).
    pub headers: Vec<(String, String)>,
}

/// Sends a job once: the destination rules, the per-host limit, the
/// Standard Webhooks headers signed with the affiliate's secrets, `extra`
/// headers. Records nothing; the test postback uses it as it is.
pub async fn attempt(
    app: &AppState,
    client: &reqwest::Client,
    job: &Delivery,
    extra: &[(&str, &str)],
) -> Sent {
    let cfg = app.cache.get();
    let affiliate = cfg.affiliates.get(&job.affiliate_id);
    let allow_http = affiliate.is_some_and(|a| a.allow_http);
    let ts_ms = now_ms();
    let mut attempt = DeliveryAttempt {
        delivery_id: job.id.clone(),
        ts_ms,
        url: mask_url(&job.url),
        status: None,
        latency_ms: 0,
        response: String::new(),
        error: None,
    };
    let host = match check_destination(&job.url, allow_http, app.delivery.allow_private) {
        Ok((host, port)) => format!("{host}:{port}"),
        Err(e) => {
            attempt.error = Some(format!("destination refused: {e}"));
            return Sent {
                attempt,
                verdict: Verdict::Permanent,
                retry_after: None,
                headers: Vec::new(),
            };
        }
    };
    let slot = app.dispatcher.host_slot(&host, app.delivery.per_host);
    let _host_permit = slot.acquire_owned().await.expect("semaphore open");
    // the attempt begins when it leaves, not when it began to wait for the
    // host: destination health orders successes and failures by it, and the
    // signed timestamp is the sending time
    let started = Instant::now();
    let ts_ms = now_ms();
    attempt.ts_ms = ts_ms;

    let timestamp = (ts_ms / 1000).to_string();
    // for a GET the full URL stands in for the body
    let signed_content: &[u8] = match (&job.method, &job.body) {
        (Method::Post, Some(b)) => b.as_bytes(),
        _ => job.url.as_bytes(),
    };
    let signatures: Vec<String> = cfg
        .affiliate_webhook_secrets
        .get(&job.affiliate_id)
        .map(|list| {
            list.iter()
                .filter(|(_, exp)| exp.is_none_or(|e| ts_ms < e))
                .map(|(secret, _)| webhook_sign(secret, &job.id, &timestamp, signed_content))
                .collect()
        })
        .unwrap_or_default();
    let mut req = match job.method {
        Method::Get => client.get(&job.url),
        Method::Post => client
            .post(&job.url)
            .header("content-type", "application/json")
            .body(job.body.clone().unwrap_or_default()),
    };
    let mut headers: Vec<(String, String)> = vec![
        ("webhook-id".into(), job.id.clone()),
        ("webhook-timestamp".into(), timestamp.clone()),
        ("idempotency-key".into(), job.id.clone()),
    ];
    if !signatures.is_empty() {
        headers.push(("webhook-signature".into(), signatures.join(" ")));
    }
    headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    for (k, v) in &headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let result = req.send().await;
    attempt.latency_ms = started.elapsed().as_millis() as i64;
    let (verdict, retry_after) = match result {
        Ok(resp) => {
            let status = resp.status().as_u16();
            attempt.status = Some(status);
            let retry_after = retry_after(resp.headers());
            let body = resp.bytes().await.unwrap_or_default();
            attempt.response = String::from_utf8_lossy(&body[..body.len().min(256)]).into_owned();
            let verdict = outbound::classify(Some(status));
            if (300..400).contains(&status) {
                attempt.error = Some("redirects are not followed".into());
            } else if verdict != Verdict::Delivered {
                attempt.error = Some(format!("HTTP {status}"));
            }
            (verdict, retry_after)
        }
        Err(e) => {
            let what = if e.is_timeout() {
                "timeout"
            } else if e.is_connect() {
                "connection failed"
            } else {
                "request failed"
            };
            // the source chain names refused destinations and DNS failures
            let mut detail = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                detail = format!("{detail}: {s}");
                src = s.source();
            }
            attempt.error = Some(format!("{what}: {}", mask_url(&detail)));
            let permanent = detail.contains("(refused)");
            (
                if permanent {
                    Verdict::Permanent
                } else {
                    Verdict::Retry
                },
                None,
            )
        }
    };
    Sent {
        attempt,
        verdict,
        retry_after,
        headers,
    }
}

/// A receiver's `Retry-After`, in seconds.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

async fn finish(
    app: &AppState,
    attempt: &DeliveryAttempt,
    verdict: Verdict,
    job: &Delivery,
    retry_after: Option<Duration>,
) {
    let outcome = match verdict {
        Verdict::Delivered => AttemptOutcome::Delivered,
        Verdict::Permanent => AttemptOutcome::Failed,
        Verdict::Retry => {
            let jitter = (random_u128() % 1_000_000) as f64 / 1_000_000.0;
            match outbound::next_delay(
                &app.delivery.backoff,
                job.attempts as usize + 1,
                jitter,
                retry_after,
            ) {
                Some(d) => AttemptOutcome::RetryAt(attempt.ts_ms + d.as_millis() as i64),
                None => AttemptOutcome::Failed,
            }
        }
    };
    app.metrics.delivery(match outcome {
        AttemptOutcome::Delivered => "delivered",
        AttemptOutcome::RetryAt(_) => "retry",
        AttemptOutcome::Failed => "failed",
    });
    // the outcome must land; keep trying while the store is away
    let mut backoff = Duration::from_millis(50);
    let event = loop {
        match app
            .store
            .finish_attempt(attempt, outcome, &app.delivery.health)
            .await
        {
            Ok(event) => break event,
            Err(e) => {
                tracing::error!(error = %e, delivery = %attempt.delivery_id, "attempt not recorded; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    };
    if let Some(event) = event {
        // a recovery made the waiting jobs due: claim them now
        app.dispatcher.wake.notify_one();
        crate::alerts::announce(app, event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_internal(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "1.1.1.1", "2a00:1450:4001::1"] {
            assert!(!is_internal(ip.parse().unwrap()), "{ip}");
        }
    }

    #[tokio::test]
    async fn the_resolver_refuses_names_of_internal_addresses() {
        let guarded = GuardedResolver {
            allow_private: false,
        };
        let err = guarded
            .resolve("localhost".parse().unwrap())
            .await
            .err()
            .expect("refused");
        assert!(err.to_string().contains("(refused)"), "{err}");
        let open = GuardedResolver {
            allow_private: true,
        };
        let addrs: Vec<SocketAddr> = open
            .resolve("localhost".parse().unwrap())
            .await
            .unwrap()
            .collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()));
    }

    #[test]
    fn destinations_are_checked() {
        assert!(check_destination("https://aff.example/pb", false, false).is_ok());
        assert!(check_destination("http://aff.example/pb", false, false)
            .unwrap_err()
            .contains("http"));
        assert!(check_destination("http://aff.example/pb", true, false).is_ok());
        assert!(
            check_destination("https://169.254.169.254/latest", false, false)
                .unwrap_err()
                .contains("internal")
        );
        assert!(check_destination("https://localhost/x", false, false)
            .unwrap_err()
            .contains("internal"));
        assert!(check_destination("http://127.0.0.1:9/x", false, true).is_ok());
        assert!(check_destination("ftp://a.example/", true, true).is_err());
    }
}
