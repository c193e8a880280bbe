//! An admin changes a conversion's status, with a reason. The change goes
//! through the postback path as the advertiser's own status update of that
//! txid — the same state machine (rejected and reversed are final), ledger
//! entries and affiliate notification, and a postback log entry — and the
//! audit log records who, why, the status before and after.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use clickledger_domain::{ErrorCode, Status};
use clickledger_store::{ApiKey, AuditEntry, ConversionFilter};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::admin::{ok, ApiResult};
use crate::answers::PostbackAnswer;
use crate::api::{Api, ApiError, JsonBody, Path};
use crate::auth::Admin;
use crate::postback::{process, Inbound};
use crate::util::now_ms;
use crate::AppState;

/// `POST /api/v1/conversions/{id}/status`.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// approved, pending, rejected or reversed.
    pub status: String,
    /// Why: kept in the audit log (1 to 500 characters).
    #[schemars(length(min = 1, max = 500))]
    pub reason: String,
}

/// Changes the status; answers the postback path's answer (`updated`).
pub async fn change(
    app: &AppState,
    key: &ApiKey,
    id: &str,
    b: StatusChange,
) -> Result<Value, ApiError> {
    let to = Status::parse(&b.status).ok_or_else(|| {
        let names: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
        ApiError::validation(format!(
            "status: `{}` is not {}",
            b.status,
            clickledger_domain::wording::either(&names)
        ))
    })?;
    let reason = b.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ApiError::validation(
            "reason: say why, in 1 to 500 characters",
        ));
    }
    let filter = ConversionFilter {
        id: Some(id.to_string()),
        limit: 1,
        ..Default::default()
    };
    let c = app
        .store
        .conversions(&filter)
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found("conversion", id))?;
    if c.status == to {
        return Err(ApiError::validation(format!(
            "status: the conversion is {} already",
            to.as_str()
        )));
    }
    let txid = c.txid.clone().ok_or_else(|| {
        ApiError::validation("this conversion has no txid, so no status update can name it; the advertiser's postback must")
    })?;
    let advertiser = app
        .cache
        .get()
        .offers
        .get(&c.offer_id)
        .map(|e| e.offer.advertiser_id.clone())
        .ok_or_else(|| ApiError::not_found("offer", &c.offer_id))?;
    let fields = json!({"click_id": c.click_id.to_string(), "event": c.event, "txid": txid, "status": to.as_str()});
    let answer = process(app, Inbound::internal("POST", &fields, advertiser, false)).await;
    if answer.status != StatusCode::OK || answer.body["result"] != "updated" {
        let code = answer.body["error"]
            .as_str()
            .and_then(|e| ErrorCode::ALL.iter().copied().find(|c| c.as_str() == e))
            .unwrap_or(ErrorCode::InvalidTransition);
        let message = answer.body["message"]
            .as_str()
            .unwrap_or("the status did not change")
            .to_string();
        return Err(ApiError::new(code, format!("status: {message}")));
    }
    let audit = AuditEntry {
        id: 0,
        ts_ms: now_ms(),
        key_id: key.id.clone(),
        action: "change_conversion_status".into(),
        entity_kind: "conversion".into(),
        entity_id: id.to_string(),
        before: Some(json!({"status": c.status.as_str()})),
        after: Some(json!({"status": to.as_str(), "reason": reason})),
        template: None,
    };
    app.store.record_audit(&audit).await?;
    Ok(answer.body)
}

pub async fn post_status(
    State(app): State<Arc<AppState>>,
    Admin(key): Admin,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<StatusChange>,
) -> ApiResult {
    let v = change(&app, &key, &id, b).await?;
    ok(StatusCode::OK, v)
}

pub fn routes() -> Api {
    Api::new()
        .post(
            "/api/v1/conversions/{id}/status",
            "Change a conversion's status with a reason ({status, reason}); goes through the postback state machine, ledger and notification, and is audited",
            post_status,
        )
        .body::<StatusChange>()
        .answer::<PostbackAnswer>(200, "updated: the status before and after")
        .refuses(&[422])
}
