//! "Send a test postback": fires an affiliate's postback template once for a
//! made-up approved conversion, through the same rendering, destination
//! rules and signing as a real delivery, and answers what was sent and
//! what came back. Nothing is queued or retried; the test is audited.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use clickledger_domain::outbound::{self, mask_url, Method, Verdict};
use clickledger_domain::status::Status;
use clickledger_domain::ErrorCode;
use clickledger_store::{Delivery, DeliveryState, Scope};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::admin::{change, ok, ApiResult};
use crate::api::{ApiError, Params, Path};
use crate::auth::Caller;
use crate::util::{new_click_id, now_ms, random_u128};
use crate::AppState;

/// Which of the affiliate's templates to test: the one a conversion of this
/// offer and event would fire. Without either, its global template (else
/// its first one).
#[derive(Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestPostbackQuery {
    offer_id: Option<String>,
    event: Option<String>,
}

/// What the test sent.
#[derive(Serialize, schemars::JsonSchema)]
pub struct TestRequest {
    method: Method,
    /// With secret-looking query values masked.
    url: String,
    headers: BTreeMap<String, String>,
    body: Option<String>,
}

/// What came back.
#[derive(Serialize, schemars::JsonSchema)]
pub struct TestResponse {
    /// None when nothing answered (refused destination, network error).
    status: Option<u16>,
    /// The first 256 bytes of the answer.
    body: String,
    /// Why it is not a success, as a delivery attempt would record it.
    error: Option<String>,
    /// Whether a real delivery would count it delivered (2xx).
    delivered: bool,
    latency_ms: i64,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct TestPostback {
    /// Always true: the conversion is made up and nothing was recorded.
    test: bool,
    affiliate_id: String,
    #[schemars(with = "clickledger_domain::schema::Rfc3339")]
    sent_at: String,
    /// The made-up conversion's macro values.
    values: BTreeMap<String, String>,
    request: TestRequest,
    response: TestResponse,
}

pub async fn test_postback(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    Params(q): Params<TestPostbackQuery>,
) -> ApiResult {
    let cfg = app.cache.get();
    let visible = match caller.scope() {
        Scope::All => true,
        Scope::Affiliate(me) => me == id,
        Scope::Advertiser(_) => false,
    };
    let aff = cfg
        .affiliates
        .get(&id)
        .filter(|_| visible)
        .ok_or_else(|| ApiError::not_found("affiliate", &id))?;
    let templates = aff.templates();
    let chosen = match (&q.offer_id, &q.event) {
        (None, None) => templates
            .iter()
            .find(|t| t.offer_id.is_none() && t.event.is_none())
            .or(templates.first()),
        (o, e) => outbound::choose(
            &templates,
            o.as_deref().unwrap_or(""),
            e.as_deref().unwrap_or(""),
        ),
    };
    let Some(template) = chosen else {
        return Err(ApiError::new(
            ErrorCode::Validation,
            "postback_url: this affiliate has no postback template that would fire for this conversion; set a postback URL first",
        ));
    };
    let now = now_ms();
    let job_id = format!("test-{:016x}", random_u128() as u64);
    // approved, unless the template fires only for other statuses
    let status = if template.statuses.contains(&Status::Approved) {
        Status::Approved
    } else {
        template
            .statuses
            .first()
            .copied()
            .unwrap_or(Status::Approved)
    };
    let values = made_up_values(&app, &id, template, &q, &job_id, status, now);
    let Some(req) = outbound::render(template, status, &values) else {
        return Err(ApiError::new(
            ErrorCode::InvalidTemplate,
            "postback_url: the template no longer parses; save it again",
        ));
    };
    let job = Delivery {
        id: job_id.clone(),
        affiliate_id: id.clone(),
        conversion_id: values["conversion_id"].clone(),
        status,
        method: req.method,
        url: req.url.clone(),
        body: req.body.clone(),
        state: DeliveryState::Pending,
        attempts: 0,
        next_attempt_ms: now,
        created_ms: now,
        updated_ms: now,
        last_error: None,
        last_status: None,
    };
    let client = crate::delivery::client(&app.delivery);
    let sent = crate::delivery::attempt(&app, &client, &job, &[("clickledger-test", "true")]).await;
    let answer = TestPostback {
        test: true,
        affiliate_id: id.clone(),
        sent_at: jiff::Timestamp::from_millisecond(now)
            .map(|t| t.to_string())
            .unwrap_or_default(),
        values: values
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        request: TestRequest {
            method: req.method,
            url: mask_url(&req.url),
            headers: sent.headers.into_iter().collect(),
            body: req.body,
        },
        response: TestResponse {
            status: sent.attempt.status,
            body: sent.attempt.response,
            error: sent.attempt.error,
            delivered: sent.verdict == Verdict::Delivered,
            latency_ms: sent.attempt.latency_ms,
        },
    };
    let audit = change(
        &caller.0,
        "test_postback",
        "affiliate",
        &id,
        None,
        Some(json!({
            "url": answer.request.url,
            "status": answer.response.status,
            "error": answer.response.error,
        })),
    );
    app.store.record_audit(&audit).await?;
    ok(StatusCode::OK, answer)
}

/// A conversion that never happened, marked as a test wherever it shows:
/// its ids say `test`, and a POST body carries `"test": "true"`.
fn made_up_values(
    app: &AppState,
    affiliate_id: &str,
    template: &outbound::OutboundTemplate,
    q: &TestPostbackQuery,
    job_id: &str,
    status: Status,
    now: i64,
) -> BTreeMap<&'static str, String> {
    let offer = q
        .offer_id
        .clone()
        .or_else(|| template.offer_id.clone())
        .unwrap_or_else(|| "off_test".into());
    let event = q
        .event
        .clone()
        .or_else(|| template.event.clone())
        .unwrap_or_else(|| "test".into());
    let mut v = BTreeMap::new();
    v.insert("click_id", new_click_id(now).encode());
    v.insert("conversion_id", format!("cv_{job_id}"));
    v.insert("event", event);
    v.insert("status", status.as_str().to_string());
    v.insert("payout", "1.00".to_string());
    v.insert("currency", app.base_currency.code().to_string());
    v.insert("offer_id", offer);
    v.insert("link_id", "lnk_test".to_string());
    v.insert("affiliate_id", affiliate_id.to_string());
    v.insert("timestamp", (now / 1000).to_string());
    for name in ["sub1", "sub2", "sub3", "sub4", "sub5"] {
        v.insert(name, String::new());
    }
    v.insert("source", "test".to_string());
    v.insert("test", "true".to_string());
    v
}
