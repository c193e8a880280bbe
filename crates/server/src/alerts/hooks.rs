//! The alerts API: `GET /api/v1/alerts` (partners see their own) and the
//! alert hooks (`POST|GET /api/v1/alert-hooks`, `DELETE
//! /api/v1/alert-hooks/{id}`, `GET /api/v1/alert-hooks/{id}/deliveries`),
//! admin only. A hook's signing secret is shown once, when it is created;
//! it is kept sealed. `--alert-hook-url` is a hook too (id `config`, every
//! kind, standard format), configured rather than stored.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use clickledger_domain::alerts::{Alert, AlertKind, AlertState};
use clickledger_domain::schema::Rfc3339;
use clickledger_domain::time::rfc3339_ms;
use clickledger_store::{AlertDelivery, AlertFilter, AlertHookRecord, StoreResult};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::admin::{items, new_signing_secret, ok, ApiResult};
use crate::api::{ApiError, JsonBody, Params, Path};
use crate::auth::{Admin, Caller};
use crate::filters::{AlertKindChoice, AlertStateChoice, Limit, OneOf};
use crate::util::{now_ms, random_id};
use crate::AppState;

/// The id of the hook `--alert-hook-url` configures.
pub const CONFIGURED: &str = "config";

/// A hook as the sender uses it: the secret opened.
#[derive(Clone, Debug)]
pub struct Hook {
    pub id: String,
    pub url: String,
    pub kinds: Vec<String>,
    pub format: String,
    pub secret: Option<String>,
}

impl Hook {
    /// Whether it hears of `kind` (an alert kind or `digest`).
    pub fn hears(&self, kind: &str) -> bool {
        self.kinds.is_empty() || self.kinds.iter().any(|k| k == kind)
    }
}

/// The configured hook and the stored ones.
pub async fn all(app: &AppState) -> StoreResult<Vec<Hook>> {
    let mut out: Vec<Hook> = app
        .delivery
        .alert_hook
        .iter()
        .map(|h| Hook {
            id: CONFIGURED.into(),
            url: h.url.clone(),
            kinds: Vec::new(),
            format: "standard".into(),
            secret: h.secret.clone(),
        })
        .collect();
    for r in app.store.alert_hooks().await? {
        let secret = match app.vault.open(&r.secret_sealed) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(hook = %r.id, error = %e, "alert hook secret does not open; unsigned");
                None
            }
        };
        out.push(Hook {
            id: r.id,
            url: r.url,
            kinds: r.kinds,
            format: r.format,
            secret,
        });
    }
    Ok(out)
}

/// An alert, as `GET /api/v1/alerts` and the hooks' messages show it.
#[derive(Serialize, JsonSchema)]
pub struct AlertView {
    pub id: String,
    /// postbacks_stopped, rejections_spike, unreplaced_macro,
    /// double_encoded, destination_failing, destination_disabled,
    /// cap_reached or journal_not_draining.
    pub kind: &'static str,
    /// What it is about: `offer:<id>`, `advertiser:<id>/<error>`,
    /// `affiliate:<id>`, `node:<name>`...
    pub subject: String,
    /// open or resolved.
    pub state: &'static str,
    pub advertiser_id: Option<String>,
    pub offer_id: Option<String>,
    pub affiliate_id: Option<String>,
    /// One sentence for a person.
    pub summary: String,
    /// The numbers behind it, as last evaluated.
    pub figures: serde_json::Value,
    #[schemars(with = "Rfc3339")]
    pub opened_at: String,
    /// The last change of its figures.
    #[schemars(with = "Rfc3339")]
    pub updated_at: String,
    #[schemars(with = "Option<Rfc3339>")]
    pub resolved_at: Option<String>,
}

impl From<&Alert> for AlertView {
    fn from(a: &Alert) -> Self {
        AlertView {
            id: a.id.clone(),
            kind: a.kind.as_str(),
            subject: a.subject.clone(),
            state: a.state.as_str(),
            advertiser_id: a.advertiser_id.clone(),
            offer_id: a.offer_id.clone(),
            affiliate_id: a.affiliate_id.clone(),
            summary: a.summary.clone(),
            figures: a.figures.clone(),
            opened_at: rfc3339_ms(a.opened_ms),
            updated_at: rfc3339_ms(a.updated_ms),
            resolved_at: a.resolved_ms.map(rfc3339_ms),
        }
    }
}

/// `GET /api/v1/alerts`: every filter must match.
#[derive(Deserialize, JsonSchema, Default)]
#[serde(default, deny_unknown_fields)]
pub struct AlertQuery {
    /// Only open (or resolved) alerts.
    state: Option<OneOf<AlertStateChoice>>,
    /// Only alerts of this kind.
    kind: Option<OneOf<AlertKindChoice>>,
    /// How many alerts to answer, newest first (1 to 10000; default 100).
    limit: Limit,
}

pub async fn list_alerts(
    State(app): State<Arc<AppState>>,
    caller: Caller,
    Params(q): Params<AlertQuery>,
) -> ApiResult {
    let filter = AlertFilter {
        scope: caller.scope(),
        state: q.state.and_then(|s| AlertState::parse(s.0)),
        kind: q.kind.and_then(|k| AlertKind::parse(k.0)),
        limit: q.limit.0,
    };
    items(app.store.alerts(&filter).await?.iter().map(AlertView::from))
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum HookFormat {
    /// `{"type", "timestamp", "data"}` with the alert as `data`.
    #[default]
    Standard,
    /// `{"text": ...}`, for a Slack incoming webhook or the like.
    Slack,
}

impl HookFormat {
    fn as_str(self) -> &'static str {
        match self {
            HookFormat::Standard => "standard",
            HookFormat::Slack => "slack",
        }
    }
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAlertHook {
    /// Where messages are POSTed (https, or http; internal addresses only
    /// when private destinations are allowed).
    #[schemars(length(max = 2048))]
    url: String,
    /// The alert kinds it hears of, and `digest` for the daily digest;
    /// empty or absent: all of them.
    #[serde(default)]
    kinds: Vec<String>,
    #[serde(default)]
    format: HookFormat,
}

/// An alert hook (never its secret).
#[derive(Serialize, JsonSchema)]
pub struct AlertHookView {
    pub id: String,
    pub url: String,
    pub kinds: Vec<String>,
    /// standard or slack.
    pub format: String,
    #[schemars(with = "Rfc3339")]
    pub created_at: String,
}

fn hook_view(r: &AlertHookRecord) -> AlertHookView {
    AlertHookView {
        id: r.id.clone(),
        url: r.url.clone(),
        kinds: r.kinds.clone(),
        format: r.format.clone(),
        created_at: rfc3339_ms(r.created_ms),
    }
}

/// A new hook, with the secret its messages are signed with, shown once.
#[derive(Serialize, JsonSchema)]
pub struct AlertHookCreated {
    #[serde(flatten)]
    pub hook: AlertHookView,
    /// A `whsec_` secret: `webhook-signature` is `v1,<base64 HMAC-SHA256>`
    /// keyed with its base64-decoded part over `id.timestamp.body`.
    pub secret: String,
}

pub async fn create_hook(
    State(app): State<Arc<AppState>>,
    Admin(key): Admin,
    JsonBody(b): JsonBody<NewAlertHook>,
) -> ApiResult {
    super::check(&b.url, app.delivery.allow_private)
        .map_err(|e| ApiError::validation(format!("url: {e}")))?;
    if let Some(k) = b
        .kinds
        .iter()
        .find(|k| *k != "digest" && AlertKind::parse(k).is_none())
    {
        return Err(ApiError::validation(format!(
            "kinds: `{k}` is not an alert kind ({}) or digest",
            AlertKind::ALL.map(|k| k.as_str()).join(", ")
        )));
    }
    let mut kinds = b.kinds;
    kinds.sort();
    kinds.dedup();
    let secret = new_signing_secret();
    let record = AlertHookRecord {
        id: random_id("ahk", 12),
        url: b.url,
        kinds,
        format: b.format.as_str().into(),
        secret_sealed: app.vault.seal(&secret),
        created_ms: now_ms(),
    };
    let view = hook_view(&record);
    let change = crate::admin::change(
        &key,
        "create",
        "alert_hook",
        &record.id,
        None,
        Some(crate::admin::view(&view)),
    );
    app.store.put_alert_hook(&record, &change).await?;
    ok(
        StatusCode::CREATED,
        AlertHookCreated {
            hook: hook_view(&record),
            secret,
        },
    )
}

pub async fn list_hooks(State(app): State<Arc<AppState>>, _: Admin) -> ApiResult {
    items(app.store.alert_hooks().await?.iter().map(hook_view))
}

async fn known_hook(app: &AppState, id: &str) -> Result<AlertHookRecord, ApiError> {
    app.store
        .alert_hooks()
        .await?
        .into_iter()
        .find(|h| h.id == id)
        .ok_or_else(|| ApiError::not_found("alert hook", id))
}

pub async fn delete_hook(
    State(app): State<Arc<AppState>>,
    Admin(key): Admin,
    Path(id): Path<String>,
) -> ApiResult {
    let view = hook_view(&known_hook(&app, &id).await?);
    let change = crate::admin::change(
        &key,
        "delete",
        "alert_hook",
        &id,
        Some(crate::admin::view(&view)),
        None,
    );
    if !app.store.delete_alert_hook(&id, &change).await? {
        return Err(ApiError::not_found("alert hook", &id));
    }
    ok(StatusCode::OK, view)
}

/// A message to a hook and how its sending went.
#[derive(Serialize, JsonSchema)]
pub struct AlertDeliveryView {
    /// Also its `webhook-id`.
    pub id: String,
    pub hook_id: String,
    pub alert_id: Option<String>,
    /// alert.opened, alert.resolved or alert.digest.
    pub event: String,
    /// pending, delivered or failed.
    pub state: String,
    pub attempts: i64,
    /// The JSON body sent.
    pub body: String,
    #[schemars(with = "Rfc3339")]
    pub created_at: String,
    #[schemars(with = "Rfc3339")]
    pub updated_at: String,
    pub last_error: Option<String>,
    pub last_status: Option<i64>,
}

fn delivery_view(d: &AlertDelivery) -> AlertDeliveryView {
    AlertDeliveryView {
        id: d.id.clone(),
        hook_id: d.hook_id.clone(),
        alert_id: d.alert_id.clone(),
        event: d.event.clone(),
        state: d.state.clone(),
        attempts: d.attempts,
        body: d.body.clone(),
        created_at: rfc3339_ms(d.created_ms),
        updated_at: rfc3339_ms(d.updated_ms),
        last_error: d.last_error.clone(),
        last_status: d.last_status,
    }
}

/// `GET /api/v1/alert-hooks/{id}/deliveries`.
#[derive(Deserialize, JsonSchema, Default)]
#[serde(default, deny_unknown_fields)]
pub struct HookDeliveryQuery {
    /// How many messages to answer, newest first (1 to 10000; default 100).
    limit: Limit,
}

pub async fn hook_deliveries(
    State(app): State<Arc<AppState>>,
    _: Admin,
    Path(id): Path<String>,
    Params(q): Params<HookDeliveryQuery>,
) -> ApiResult {
    if id != CONFIGURED || app.delivery.alert_hook.is_none() {
        known_hook(&app, &id).await?;
    }
    items(
        app.store
            .alert_deliveries(Some(&id), q.limit.0)
            .await?
            .iter()
            .map(delivery_view),
    )
}
