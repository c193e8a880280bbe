//! Who is calling the API, and what they may see.
//!
//! Three kinds of key: admin (everything), advertiser (its offers,
//! conversions and postback log), affiliate (its links, clicks,
//! conversions, reports). A partner asking for another partner's row gets
//! 404, the same as for a row that does not exist, so ids cannot be probed.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use clickledger_domain::wording::a;
use clickledger_domain::ErrorCode;
use clickledger_store::{ApiKey, Role, Scope};

use crate::api::ApiError;
use crate::util::{now_ms, sha256_hex};
use crate::AppState;

/// An authenticated caller of any role.
pub struct Caller(pub ApiKey);

impl Caller {
    pub fn scope(&self) -> Scope {
        match (self.0.role, &self.0.partner_id) {
            (Role::Advertiser, Some(id)) => Scope::Advertiser(id.clone()),
            (Role::Affiliate, Some(id)) => Scope::Affiliate(id.clone()),
            _ => Scope::All,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.0.role == Role::Admin
    }

    pub fn forbid(&self, what: &str) -> ApiError {
        ApiError::new(
            ErrorCode::Forbidden,
            format!("{} key cannot {what}", a(self.0.role.as_str())),
        )
    }
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let key = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::Unauthorized,
                    "Authorization: Bearer <api key> is missing",
                )
            })?;
        let found = app
            .cache
            .get()
            .keys
            .get(&sha256_hex(key))
            .filter(|k| k.valid_at(now_ms()))
            .cloned()
            .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "the API key is not valid"))?;
        Ok(Caller(found))
    }
}

/// A caller with an admin key.
pub struct Admin(pub ApiKey);

impl FromRequestParts<Arc<AppState>> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, app).await?;
        if !caller.is_admin() {
            return Err(caller.forbid("change configuration or use this endpoint"));
        }
        Ok(Admin(caller.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_role_with_its_article() {
        let caller = |role| {
            Caller(ApiKey {
                id: "key_x".into(),
                key_hash: String::new(),
                role,
                partner_id: Some("p".into()),
                created_ms: 0,
                expires_ms: None,
                name: String::new(),
                hint: String::new(),
                revoked_ms: None,
            })
        };
        let e = caller(Role::Affiliate).forbid("read the postback log");
        assert_eq!(e.message, "an affiliate key cannot read the postback log");
        let e = caller(Role::Advertiser).forbid("create offers");
        assert_eq!(e.message, "an advertiser key cannot create offers");
    }
}
