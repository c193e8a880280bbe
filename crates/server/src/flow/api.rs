//! `PUT|GET|DELETE /api/v1/links/{id}/flow`: a link's traffic flow,
//! versioned and audited like postback templates (each save is a new
//! version at `/api/v1/links/{id}/flow/versions`, with its audit entry).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use clickledger_domain::flow::{Destination, Flow};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use super::optimizer::RuleWeights;
use super::LinkFlow;
use crate::admin::{change, ok, ApiResult};
use crate::api::{ApiError, JsonBody, Path};
use crate::auth::Admin;
use crate::AppState;
use clickledger_domain::time::rfc3339_ms as rfc3339;

/// A link's flow as `GET` answers it.
#[derive(Serialize, JsonSchema)]
pub struct FlowView {
    pub link_id: String,
    /// The saved version (1 for the first save; see `…/flow/versions`).
    pub version: i64,
    /// The flow as saved, in its canonical form.
    pub flow: Value,
    /// For rules with `"optimize": true`: the weights in use, with the
    /// figures they were computed from (empty until the optimizer's first
    /// run after a save, within a minute).
    pub weights: Vec<RuleWeights>,
    /// When the weights in use were computed (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optimized_at: Option<String>,
}

/// What a flow's body looks like (for the documentation; the body is read
/// and checked by `clickledger_domain::flow::Flow::from_json`, whose
/// refusals name the JSON path).
#[derive(JsonSchema)]
#[allow(dead_code)]
pub struct FlowBody {
    /// Tried in order; the first whose conditions all match takes the
    /// visitor.
    rules: Vec<RuleBody>,
    /// The split for visitors no rule took.
    default: Vec<TargetBody>,
}

#[derive(JsonSchema)]
#[allow(dead_code)]
struct RuleBody {
    /// Unique within the flow; clicks record it as `rule`.
    name: String,
    /// Conditions, all of which must match: country, region, device, os,
    /// browser, language, ip (CIDRs), bot, referer_host, source, sub1..sub5
    /// (a list of values, any of which matches, or {"not": [...]}),
    /// weekday, hour, timezone, unique.
    #[serde(rename = "if")]
    when: Option<serde_json::Map<String, Value>>,
    /// A weighted split among offers and landing URLs.
    to: Option<Vec<TargetBody>>,
    /// `block` (answers 404, recorded as a blocked click) or `redirect`
    /// (to `url`).
    action: Option<String>,
    url: Option<String>,
    /// Move weight toward the target with the better EPC.
    optimize: Option<bool>,
    /// The optimizer's floor per target, a percentage (0-50, default 5).
    floor: Option<f64>,
}

#[derive(JsonSchema)]
#[allow(dead_code)]
struct TargetBody {
    offer_id: Option<String>,
    /// A landing URL with click macros ({click_id}, {sub1}, ...).
    url: Option<String>,
    /// Relative weight, 1 to 1000000.
    weight: u32,
    /// Names the target in clicks and reports (default `offer:<id>` or
    /// `url:<index>`).
    id: Option<String>,
}

fn no_flow(link_id: &str) -> ApiError {
    ApiError::new(
        clickledger_domain::ErrorCode::NotFound,
        format!("link `{link_id}` has no flow"),
    )
}

async fn view(app: &AppState, link_id: &str) -> Result<FlowView, ApiError> {
    let cfg = app.cache.get();
    let link = cfg
        .links
        .get(link_id)
        .ok_or_else(|| ApiError::not_found("link", link_id))?;
    let (Some(_), Some(saved)) = (&link.flow, cfg.flows.get(link_id)) else {
        return Err(no_flow(link_id));
    };
    let version = app
        .store
        .template_versions("link", link_id)
        .await?
        .last()
        .map_or(0, |v| v.version);
    let optimized = app.optimizer.weights(link_id, saved);
    Ok(FlowView {
        link_id: link_id.to_string(),
        version,
        flow: saved.flow.to_json(),
        weights: optimized
            .as_ref()
            .map(|o| o.rules.clone())
            .unwrap_or_default(),
        optimized_at: optimized.map(|o| rfc3339(o.at_ms)),
    })
}

pub async fn get_flow(
    State(app): State<Arc<AppState>>,
    _: Admin,
    Path(id): Path<String>,
) -> ApiResult {
    ok(StatusCode::OK, view(&app, &id).await?)
}

/// Checks a flow against the configuration: every offer it names exists,
/// every timezone is known.
fn check(app: &AppState, body: &Value) -> Result<Flow, ApiError> {
    let flow = Flow::from_json(body)?;
    let cfg = app.cache.get();
    for t in flow.targets() {
        if let Destination::Offer(o) = &t.destination {
            if !cfg.offers.contains_key(o) {
                return Err(ApiError::validation(format!(
                    "offer_id: no offer `{o}` (target `{}`)",
                    t.key
                )));
            }
        }
    }
    LinkFlow::load(&flow.to_json().to_string())
        .map_err(|e| ApiError::validation(format!("timezone: {e}")))?;
    Ok(flow)
}

/// Saves `flow` (or removes it) as the link's, audited as a new version.
async fn save(
    app: &AppState,
    key: &clickledger_store::ApiKey,
    id: &str,
    flow: Option<Value>,
) -> Result<(), ApiError> {
    let cfg = app.cache.get();
    let before = cfg
        .links
        .get(id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("link", id))?;
    let mut link = before.clone();
    link.flow = flow.as_ref().map(Value::to_string);
    let mut audit = change(
        key,
        if flow.is_some() {
            "flow"
        } else {
            "flow.delete"
        },
        "link",
        id,
        before
            .flow
            .as_deref()
            .and_then(|f| serde_json::from_str(f).ok()),
        flow.clone(),
    );
    audit.template = Some(flow.unwrap_or(Value::Null));
    app.store.put_link(&link, &audit).await?;
    app.reload().await?;
    Ok(())
}

pub async fn put_flow(
    State(app): State<Arc<AppState>>,
    Admin(key): Admin,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult {
    let _guard = app.admin_lock.lock().await;
    if !app.cache.get().links.contains_key(&id) {
        return Err(ApiError::not_found("link", &id));
    }
    let flow = check(&app, &body)?;
    save(&app, &key, &id, Some(flow.to_json())).await?;
    ok(StatusCode::OK, view(&app, &id).await?)
}

pub async fn delete_flow(
    State(app): State<Arc<AppState>>,
    Admin(key): Admin,
    Path(id): Path<String>,
) -> ApiResult {
    let _guard = app.admin_lock.lock().await;
    let cfg = app.cache.get();
    match cfg.links.get(&id) {
        None => return Err(ApiError::not_found("link", &id)),
        Some(l) if l.flow.is_none() => return Err(no_flow(&id)),
        Some(_) => {}
    }
    save(&app, &key, &id, None).await?;
    let link = app.cache.get().links.get(&id).cloned();
    ok(
        StatusCode::OK,
        crate::admin::link_view(&app, &link.expect("saved")),
    )
}
