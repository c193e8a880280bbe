//! The HTTP plumbing shared by every endpoint: the error body, a JSON body
//! extractor whose refusals name the field, and a route builder that records
//! each route so the OpenAPI document is generated from the same list that
//! builds the router.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, MethodRouter};
use axum::Router;
use clickledger_domain::codes::Refusal;
use clickledger_domain::wording::all;
use clickledger_domain::ErrorCode;
use clickledger_store::StoreError;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::AppState;

#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }

    pub fn not_found(what: &str, id: &str) -> Self {
        ApiError::new(ErrorCode::NotFound, format!("no {what} with id `{id}`"))
    }

    pub fn validation(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::Validation, message)
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        ApiError::new(r.code, r.message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store error");
        ApiError::new(
            ErrorCode::StoreUnavailable,
            "the store is unavailable; retry shortly",
        )
    }
}

pub fn error_body(code: ErrorCode, message: &str) -> Value {
    json!({"error": code.as_str(), "message": message})
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
        let mut resp = (status, axum::Json(error_body(self.code, &self.message))).into_response();
        if matches!(
            self.code,
            ErrorCode::Overloaded | ErrorCode::StoreUnavailable | ErrorCode::RateLimited
        ) {
            resp.headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from_static("1"));
        }
        resp
    }
}

/// A JSON body; a malformed one is a 400 naming the field serde stumbled on.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::new(ErrorCode::InvalidJson, format!("body: {e}")))?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::new(ErrorCode::InvalidJson, format!("body: {e}")))
    }
}

/// Query parameters as `T`, a struct whose fields are the endpoint's
/// parameters (its JSON Schema lists them). An empty value (`?status=`) is
/// the same as none. A parameter the endpoint does not take, one given
/// twice, or an impossible value is a 400 `invalid_field` naming it.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + schemars::JsonSchema> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parse_params(parts.uri.query().unwrap_or("")).map(Params)
    }
}

pub fn parse_params<T: DeserializeOwned + schemars::JsonSchema>(
    query: &str,
) -> Result<T, ApiError> {
    let schema = schemars::SchemaGenerator::default().into_root_schema_for::<T>();
    let known: Vec<&str> = schema
        .as_object()
        .and_then(|o| o.get("properties"))
        .and_then(Value::as_object)
        .map(|p| p.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let refuse = |m: String| ApiError::new(ErrorCode::InvalidField, m);
    let mut seen = Vec::new();
    let mut kept = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if !known.contains(&k.as_ref()) {
            return Err(refuse(format!(
                "{k}: no such parameter here; the parameters are {}",
                all(&known)
            )));
        }
        if seen.contains(&k) {
            return Err(refuse(format!("{k}: given twice; give it once")));
        }
        if !v.is_empty() {
            kept.append_pair(&k, &v);
        }
        seen.push(k);
    }
    // the values' own types refuse with sentences naming their parameter
    serde_urlencoded::from_str(&kept.finish()).map_err(|e| refuse(e.to_string()))
}

pub struct RouteDoc {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    pub tag: &'static str,
}

/// Builds the router and its documentation together.
pub struct Api {
    router: Router<Arc<AppState>>,
    pub docs: Vec<RouteDoc>,
    tag: &'static str,
}

macro_rules! method {
    ($name:ident, $ctor:ident, $verb:literal) => {
        pub fn $name<H, T>(self, path: &'static str, summary: &'static str, h: H) -> Self
        where
            H: Handler<T, Arc<AppState>>,
            T: 'static,
        {
            self.add($verb, path, summary, $ctor(h))
        }
    };
}

impl Default for Api {
    fn default() -> Self {
        Api::new()
    }
}

impl Api {
    pub fn new() -> Self {
        Api {
            router: Router::new(),
            docs: Vec::new(),
            tag: "admin",
        }
    }

    pub fn tag(mut self, tag: &'static str) -> Self {
        self.tag = tag;
        self
    }

    fn add(
        mut self,
        method: &'static str,
        path: &'static str,
        summary: &'static str,
        mr: MethodRouter<Arc<AppState>>,
    ) -> Self {
        self.router = self.router.route(path, mr);
        self.docs.push(RouteDoc {
            method,
            path,
            summary,
            tag: self.tag,
        });
        self
    }

    method!(get, get, "get");
    method!(post, post, "post");
    method!(patch, patch, "patch");
    method!(delete, delete, "delete");

    pub fn merge(mut self, other: Api) -> Self {
        self.router = self.router.merge(other.router);
        self.docs.extend(other.docs);
        self
    }

    pub fn into_parts(self) -> (Router<Arc<AppState>>, Vec<RouteDoc>) {
        (self.router, self.docs)
    }
}

/// The OpenAPI 3 document for the recorded routes.
pub fn openapi(docs: &[RouteDoc]) -> Value {
    let mut paths = serde_json::Map::new();
    for d in docs {
        let params: Vec<Value> = d
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut op = json!({
            "summary": d.summary,
            "tags": [d.tag],
            "parameters": params,
            "responses": {
                "200": {"description": "success", "content": {"application/json": {}}},
                "4XX": {"description": "refused; body is {\"error\": code, \"message\": sentence}",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            }
        });
        if d.tag == "admin" {
            op["security"] = json!([{"bearer": []}]);
        }
        paths
            .entry(d.path.to_string())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("object")
            .insert(d.method.to_string(), op);
    }
    json!({
        "openapi": "3.0.3",
        "info": {"title": "Clickledger", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Click and conversion tracker. See CONTRACT.md for the fields and answer codes."},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": {"type": "object", "required": ["error", "message"],
                "properties": {"error": {"type": "string", "enum": ErrorCode::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>()},
                               "message": {"type": "string"}}}}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, schemars::JsonSchema, Debug)]
    #[serde(deny_unknown_fields)]
    struct Q {
        /// a name
        name: Option<String>,
        /// a count
        n: Option<u32>,
    }

    #[test]
    fn params_refuse_naming_the_parameter_and_empty_is_absent() {
        let q: Q = parse_params("name=x&n=").unwrap();
        assert_eq!((q.name.as_deref(), q.n), (Some("x"), None));
        let e = parse_params::<Q>("nmae=x").unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidField);
        assert_eq!(
            e.message,
            "nmae: no such parameter here; the parameters are n and name"
        );
        let e = parse_params::<Q>("name=a&name=b").unwrap_err();
        assert_eq!(e.message, "name: given twice; give it once");
    }
}
