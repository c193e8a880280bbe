//! The HTTP plumbing shared by every endpoint: the error body, extractors
//! whose refusals name the field (JSON bodies, query parameters, path
//! segments), the last-resort layer that gives every other error answer the
//! same JSON shape, and a route builder that records each route with its
//! parameters, body and answers, so the OpenAPI document is generated from
//! the same list (and the same Rust types) that builds the router.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequest, Request};
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, options, patch, post, put, MethodRouter};
use axum::Router;
use clickledger_domain::codes::Refusal;
use clickledger_domain::wording::all;
use clickledger_domain::ErrorCode;
use clickledger_store::StoreError;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::openapi::{inline_schema_fn, schema_fn, Answer, Body, RouteDoc};
use crate::AppState;

/// The largest request body any endpoint reads (CSV uploads included);
/// anything larger is a 413 `payload_too_large`.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Every refusal the tracker answers — the API's, the postback's, the
/// health checks', even hyper's own (rewritten by `canned.rs`) — is one of
/// these, so its body and headers are made in one place.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// What a received click id suggests went wrong (postbacks).
    pub hint: Option<String>,
    /// Seconds for `Retry-After`: 1 by default when trying again soon can
    /// succeed (overloaded, store unavailable, rate limited).
    pub retry_after: Option<u64>,
}

/// The body of every refusal.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "Error")]
pub struct ErrorBody<'a> {
    pub error: ErrorCode,
    /// A sentence naming the field and what is wrong with it.
    pub message: &'a str,
    /// Postbacks: what the click id suggests went wrong (cut short,
    /// double-encoded, a macro not filled in).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<&'a str>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        let retry_after = matches!(
            code,
            ErrorCode::Overloaded | ErrorCode::StoreUnavailable | ErrorCode::RateLimited
        )
        .then_some(1);
        ApiError {
            code,
            message: message.into(),
            hint: None,
            retry_after,
        }
    }

    pub fn with_hint(mut self, hint: Option<&str>) -> Self {
        self.hint = hint.map(str::to_string);
        self
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::BAD_REQUEST)
    }

    /// `{"error", "message", "hint"?}`
    pub fn body(&self) -> serde_json::Value {
        serde_json::to_value(ErrorBody {
            error: self.code,
            message: &self.message,
            hint: self.hint.as_deref(),
        })
        .expect("serializable")
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
        match e {
            // Retrying will not mend a stored value that does not parse:
            // say where it is, so an operator can fix the row.
            StoreError::Corrupt(where_) => ApiError::new(
                ErrorCode::Internal,
                format!("stored data does not read back: {where_}"),
            ),
            StoreError::Unavailable(_) => ApiError::new(
                ErrorCode::StoreUnavailable,
                "the store is unavailable; retry shortly",
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status(), axum::Json(self.body())).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

// ---------- JSON bodies ----------

/// A JSON object body; a malformed one is a 400 naming the field serde
/// stumbled on, in words a user knows (never a Rust type name).
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(body_refusal)?;
        parse_json_object(&bytes).map(JsonBody)
    }
}

/// An optional JSON body: no body (or only whitespace) is `None`.
impl<S: Send + Sync, T: DeserializeOwned> OptionalFromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(body_refusal)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        parse_json_object(&bytes).map(|v| Some(JsonBody(v)))
    }
}

/// A body that could not be read: over the limit, or cut off.
pub fn body_refusal(e: BytesRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        ApiError::new(
            ErrorCode::InvalidRequest,
            "body: the request body could not be read to its end",
        )
    }
}

fn too_large() -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("body: larger than the limit of {BODY_LIMIT} bytes (1 MiB)"),
    )
}

/// What a JSON value is, in words, from its first character.
/// What a body that is not a JSON object is, read whole: a first letter
/// `n` may begin `null` or `name=x`.
fn json_kind(bytes: &[u8]) -> &'static str {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(serde_json::Value::Array(_)) => "a JSON array",
        Ok(serde_json::Value::String(_)) => "a JSON string",
        Ok(serde_json::Value::Bool(_)) => "a JSON boolean",
        Ok(serde_json::Value::Null) => "JSON null",
        Ok(serde_json::Value::Number(_)) => "a JSON number",
        Ok(serde_json::Value::Object(_)) => "a JSON object",
        Err(_) => "text that is not JSON (a form or plain text?)",
    }
}

/// The most levels of nesting a JSON body may have: every body the API
/// reads is a few levels deep; a deeper one is refused before it is parsed
/// (serde_json's own recursion limit would call it "not JSON").
pub const MAX_JSON_DEPTH: usize = 32;

/// How deeply the JSON text nests (brackets outside strings), counting
/// only up to one past `MAX_JSON_DEPTH`.
fn json_depth(bytes: &[u8]) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
                if deepest > MAX_JSON_DEPTH {
                    break;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Refuses JSON nested deeper than `MAX_JSON_DEPTH`, in words: API bodies
/// and postbacks alike.
pub fn check_json_depth(bytes: &[u8]) -> Result<(), Refusal> {
    if json_depth(bytes) > MAX_JSON_DEPTH {
        return Err(Refusal::new(
            ErrorCode::InvalidJson,
            format!("body: nested more than {MAX_JSON_DEPTH} levels deep; no body here needs more than a few"),
        ));
    }
    Ok(())
}

/// Parses a body that must be one JSON object.
pub fn parse_json_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let invalid = |m: String| ApiError::new(ErrorCode::InvalidJson, m);
    check_json_depth(bytes)?;
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None => return Err(invalid("body: a JSON object is required".into())),
        Some(b'{') => {}
        Some(_) => {
            return Err(invalid(format!(
                "body: expected a JSON object, got {}",
                json_kind(bytes)
            )))
        }
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let mut path = e.path().to_string();
        let inner = e.into_inner();
        if inner.to_string().starts_with("unknown field") {
            // the path ends with the unknown name, which the message says
            path = path
                .rsplit_once('.')
                .map_or(".".into(), |(p, _)| p.to_string());
        }
        if inner.is_syntax() || inner.is_eof() {
            invalid(format!("body: the JSON does not parse: {inner}"))
        } else if path == "." {
            invalid(format!("body: {}", humanize(&inner.to_string())))
        } else {
            invalid(format!("body: {path}: {}", humanize(&inner.to_string())))
        }
    })?;
    de.end()
        .map_err(|e| invalid(format!("body: text after the JSON object: {e}")))?;
    Ok(value)
}

/// Rewrites serde's wording for users: its names for JSON kinds, and the
/// Rust type names it puts in "expected ..." (`struct NewAdvertiser with 7
/// elements`, `internally tagged enum Rule`).
pub fn humanize(msg: &str) -> String {
    if msg.starts_with("invalid length") && msg.contains("expected struct") {
        // a JSON array given where an object belongs
        let at = msg.find(" at line ").map(|i| &msg[i..]).unwrap_or("");
        return format!("expected a JSON object, got a JSON array{at}");
    }
    let mut out = msg
        // rust_decimal's own words for what it reads
        .replace(
            "a Decimal type representing a fixed-point number",
            "a decimal string such as \"2.00\"",
        )
        .replace("invalid type: map", "invalid type: a JSON object")
        .replace("invalid type: sequence", "invalid type: a JSON array")
        .replace("expected a sequence", "expected a JSON array")
        .replace("expected a map", "expected a JSON object");
    const KINDS: [(&str, &str); 8] = [
        ("internally tagged enum ", "a JSON object"),
        ("adjacently tagged enum ", "a JSON object"),
        ("untagged enum ", "one of the documented forms"),
        ("struct variant ", "a JSON object"),
        ("tuple struct ", "a JSON array"),
        ("unit struct ", "null"),
        ("struct ", "a JSON object"),
        ("enum ", "one of the documented values"),
    ];
    for (kind, words) in KINDS {
        let mut from = 0;
        while let Some(i) = out[from..].find(kind).map(|i| i + from) {
            let name_start = i + kind.len();
            let name_len = out[name_start..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(out.len() - name_start);
            let name = &out[name_start..name_start + name_len];
            if !name.starts_with(|c: char| c.is_ascii_uppercase()) {
                from = name_start;
                continue;
            }
            let mut end = name_start + name_len;
            // " with 7 elements" follows struct names in length errors
            if let Some(rest) = out[end..].strip_prefix(" with ") {
                if let Some(n) = rest.find(" element") {
                    let tail = &rest[n + " element".len()..];
                    let s = usize::from(tail.starts_with('s'));
                    end += " with ".len() + n + " element".len() + s;
                }
            }
            out.replace_range(i..end, words);
            from = i + words.len();
        }
    }
    out
}

// ---------- query parameters ----------

/// Query parameters as `T`, a struct whose fields are the endpoint's
/// parameters (its JSON Schema lists them). An empty value (`?status=`) is
/// the same as none. A parameter the endpoint does not take, one given
/// twice, a missing required one or an impossible value is a 400
/// `invalid_field` naming it.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + JsonSchema + 'static> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parse_params(parts.uri.query().unwrap_or("")).map(Params)
    }
}

/// A parameter type's names, by type.
type NameCache =
    std::sync::Mutex<std::collections::HashMap<std::any::TypeId, Arc<Vec<&'static str>>>>;

/// The parameter names `T` takes, from its JSON Schema: generated once per
/// type, then shared (a schema is a few allocations too many per request).
fn parameter_names<T: JsonSchema + 'static>() -> Arc<Vec<&'static str>> {
    static NAMES: std::sync::OnceLock<NameCache> = std::sync::OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    names
        .entry(std::any::TypeId::of::<T>())
        .or_insert_with(|| {
            let schema = schemars::SchemaGenerator::default().into_root_schema_for::<T>();
            let props = schema
                .as_object()
                .and_then(|o| o.get("properties"))
                .and_then(serde_json::Value::as_object);
            // leaked once per parameter type: a fixed, small set
            Arc::new(
                props
                    .map(|p| {
                        p.keys()
                            .map(|k| &*Box::leak(k.clone().into_boxed_str()))
                            .collect()
                    })
                    .unwrap_or_default(),
            )
        })
        .clone()
}

pub fn parse_params<T: DeserializeOwned + JsonSchema + 'static>(
    query: &str,
) -> Result<T, ApiError> {
    let known = parameter_names::<T>();
    let refuse = |m: String| ApiError::new(ErrorCode::InvalidField, m);
    let mut seen = Vec::new();
    let mut kept = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if !known.contains(&k.as_ref()) {
            return Err(refuse(match known.is_empty() {
                true => format!("{k}: no such parameter here; this endpoint takes none"),
                false => format!(
                    "{k}: no such parameter here; the parameters are {}",
                    all(&known)
                ),
            }));
        }
        if seen.contains(&k) {
            return Err(refuse(format!("{k}: given twice; give it once")));
        }
        if !v.is_empty() {
            kept.append_pair(&k, &v);
        }
        seen.push(k);
    }
    let kept = kept.finish();
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(kept.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        refuse(value_message(&kept, &path, &e.into_inner().to_string()))
    })
}

/// The name between the first pair of backticks of serde's message.
fn quoted(msg: &str) -> Option<&str> {
    let start = msg.find('`')? + 1;
    let len = msg[start..].find('`')?;
    Some(&msg[start..start + len])
}

/// A sentence for a value serde refused, naming its parameter.
fn value_message(query: &str, path: &str, msg: &str) -> String {
    // the values' own types (filters.rs) already name their parameter
    if msg.starts_with(&format!("{path}: ")) {
        return msg.to_string();
    }
    if msg.starts_with("missing field") {
        return format!("{}: required here", quoted(msg).unwrap_or("?"));
    }
    if path == "." || path.is_empty() {
        return format!("the query string does not parse: {}", humanize(msg));
    }
    let value = form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == path)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let why = match msg {
        "invalid digit found in string" | "cannot parse integer from empty string" => {
            "is not a whole number".to_string()
        }
        "number too large to fit in target type" | "number too small to fit in target type" => {
            "is out of range".to_string()
        }
        "provided string was not `true` or `false`" => "is not true or false".to_string(),
        other if other.starts_with("unknown variant") => {
            let expected = other.split_once("expected ").map_or("", |(_, e)| e);
            let names: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
            format!("is not {}", clickledger_domain::wording::either(&names))
        }
        other => humanize(other),
    };
    format!("{path}: `{value}` {why}")
}

/// `format=json|csv` on the endpoints that can answer either.
#[derive(serde::Deserialize, Serialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Json,
    Csv,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
        }
    }
}

// ---------- path segments ----------

/// Path parameters; a segment that does not decode is a 400 naming it.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(e) => Err(path_refusal(e)),
        }
    }
}

fn path_refusal(e: PathRejection) -> ApiError {
    use axum::extract::path::ErrorKind;
    let message = match e {
        PathRejection::FailedToDeserializePathParams(d) => match d.into_kind() {
            ErrorKind::InvalidUtf8InPathParam { key } => {
                format!("path: `{key}` is not valid UTF-8 once percent-decoded")
            }
            ErrorKind::ParseErrorAtKey { key, value, .. }
            | ErrorKind::DeserializeError { key, value, .. } => {
                format!("path: `{key}` = `{value}` is not valid")
            }
            ErrorKind::ParseError { value, .. } => format!("path: `{value}` is not valid"),
            _ => "path: a segment does not parse".to_string(),
        },
        _ => "path: a segment does not parse".to_string(),
    };
    ApiError::new(ErrorCode::InvalidRequest, message)
}

// ---------- the last resort ----------

/// Our JSON, or a dashboard page (HTML written for people): either is the
/// answer as meant, never a framework refusal to rewrite.
fn is_json(resp: &Response) -> bool {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json") || c.starts_with("text/html"))
}

/// Gives every error answer that is not already our JSON (axum's plain-text
/// rejections, an empty 405) the `{"error", "message"}` shape, keeping its
/// status and the headers that explain it (`Allow`, `Retry-After`).
pub async fn json_errors(req: Request, next: Next) -> Response {
    // cheap clones (shared bytes): this runs on every request, clicks too
    let method = req.method().clone();
    let uri = req.uri().clone();
    let resp = next.run(req).await;
    let status = resp.status();
    if status.as_u16() < 400 || is_json(&resp) {
        return resp;
    }
    let code = ErrorCode::for_status(status.as_u16());
    let allow = resp
        .headers()
        .get(header::ALLOW)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let message = match (status, &allow) {
        (StatusCode::METHOD_NOT_ALLOWED, Some(allow)) => {
            format!(
                "{method} is not allowed on {}; allowed: {allow}",
                uri.path()
            )
        }
        (StatusCode::METHOD_NOT_ALLOWED, None) => {
            format!("{method} is not allowed on {}", uri.path())
        }
        (StatusCode::PAYLOAD_TOO_LARGE, _) => too_large().message,
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, _) => {
            "the body's Content-Type is not one this endpoint reads".to_string()
        }
        _ => code.meaning().to_string(),
    };
    tracing::debug!(
        status = status.as_u16(),
        "framework refusal answered as JSON"
    );
    let mut out = ApiError::new(code, message).into_response();
    *out.status_mut() = status;
    for name in [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        if let Some(v) = resp.headers().get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    out
}

// ---------- the route builder ----------

/// Builds the router and its documentation together. Each route is added
/// with its method, path, summary and handler; the calls after it
/// (`query`, `body`, `answer`, `refuses`) describe that route.
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
        self.docs
            .push(RouteDoc::new(method, path, summary, self.tag));
        self
    }

    fn last(&mut self) -> &mut RouteDoc {
        self.docs
            .last_mut()
            .expect("a route before its description")
    }

    /// The route reads its query string into `T` (through `Params<T>`).
    pub fn query<T: JsonSchema>(mut self) -> Self {
        self.last().query = Some(inline_schema_fn::<T>());
        self
    }

    /// The route reads a JSON body into `T` (through `JsonBody<T>`).
    pub fn body<T: JsonSchema>(mut self) -> Self {
        self.last().body = Some(Body::Json(schema_fn::<T>(), true));
        self
    }

    /// Like `body`, for a route whose body may be left out.
    pub fn optional_body<T: JsonSchema>(mut self) -> Self {
        self.last().body = Some(Body::Json(schema_fn::<T>(), false));
        self
    }

    /// Any other body description (CSV, forms, several content types).
    pub fn body_as(mut self, body: Body) -> Self {
        self.last().body = Some(body);
        self
    }

    /// A JSON answer of type `T` with `status`.
    pub fn answer<T: JsonSchema>(mut self, status: u16, description: &'static str) -> Self {
        self.last()
            .answers
            .push(Answer::json(status, description, schema_fn::<T>()));
        self
    }

    /// Any other answer (text, CSV, a redirect).
    pub fn answer_as(mut self, answer: Answer) -> Self {
        self.last().answers.push(answer);
        self
    }

    /// Error statuses this route can answer besides the ones its
    /// authentication, parameters and body imply.
    pub fn refuses(mut self, statuses: &[u16]) -> Self {
        self.last().errors.extend_from_slice(statuses);
        self
    }

    method!(get, get, "get");
    method!(post, post, "post");
    method!(put, put, "put");
    method!(patch, patch, "patch");
    method!(delete, delete, "delete");
    method!(options, options, "options");

    pub fn merge(mut self, other: Api) -> Self {
        self.router = self.router.merge(other.router);
        self.docs.extend(other.docs);
        self
    }

    pub fn into_parts(self) -> (Router<Arc<AppState>>, Vec<RouteDoc>) {
        (self.router, self.docs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
        #[serde(default)]
        flag: bool,
        caps: Option<Vec<Inner>>,
    }

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Inner {
        limit: u32,
    }

    #[derive(Deserialize, schemars::JsonSchema, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Q {
        from: i64,
        limit: Option<u32>,
        format: Option<Format>,
    }

    fn body_err(s: &str) -> String {
        parse_json_object::<Sample>(s.as_bytes())
            .unwrap_err()
            .message
    }

    #[test]
    fn json_refusals_name_the_field_and_no_rust_type() {
        assert_eq!(
            body_err("[1, 2]"),
            "body: expected a JSON object, got a JSON array"
        );
        assert_eq!(body_err(""), "body: a JSON object is required");
        let m = body_err(r#"{"name": "x", "caps": [[]]}"#);
        assert!(
            m.starts_with("body: caps[0]: expected a JSON object, got a JSON array"),
            "{m}"
        );
        let m = body_err(r#"{"name": "x", "caps": [{"limit": "7"}]}"#);
        assert!(
            m.starts_with("body: caps[0].limit: invalid type: string \"7\""),
            "{m}"
        );
        let m = body_err(r#"{"name": "x", "caps": ["a"]}"#);
        assert!(m.contains("expected a JSON object"), "{m}");
        assert!(!m.contains("Inner") && !m.contains("struct"), "{m}");
        let m = body_err(r#"{"name": 5}"#);
        assert!(
            m.starts_with("body: name: invalid type: integer `5`, expected a string"),
            "{m}"
        );
        let m = body_err(r#"{"name": "x", "nope": 1}"#);
        assert!(m.starts_with("body: unknown field `nope`"), "{m}");
        let m = body_err(r#"{"name": "x""#);
        assert!(m.starts_with("body: the JSON does not parse"), "{m}");
        let m = body_err(r#"{"name": "x"} {}"#);
        assert!(m.starts_with("body: text after the JSON object"), "{m}");
        assert!(parse_json_object::<Sample>(br#" {"name": "x"} "#).is_ok());
    }

    #[test]
    fn humanize_replaces_type_names_only() {
        assert_eq!(
            humanize("invalid type: sequence, expected internally tagged enum Rule"),
            "invalid type: a JSON array, expected a JSON object"
        );
        assert_eq!(
            humanize("invalid type: map, expected a string"),
            "invalid type: a JSON object, expected a string"
        );
        assert_eq!(
            humanize("invalid length 0, expected struct NewAdvertiser with 7 elements"),
            "expected a JSON object, got a JSON array"
        );
        assert_eq!(humanize("the struct of things"), "the struct of things");
        assert_eq!(
            humanize("invalid type: integer `2`, expected a Decimal type representing a fixed-point number"),
            "invalid type: integer `2`, expected a decimal string such as \"2.00\""
        );
    }

    #[test]
    fn query_refusals_name_the_parameter() {
        let err = |q: &str| parse_params::<Q>(q).unwrap_err().message;
        assert_eq!(
            err("from=1&x=2"),
            "x: no such parameter here; the parameters are format, from and limit"
        );
        assert_eq!(err("limit=3"), "from: required here");
        assert_eq!(err("from=abc"), "from: `abc` is not a whole number");
        assert_eq!(err("from=1&limit=-1"), "limit: `-1` is not a whole number");
        assert_eq!(err("from=1&format=xml"), "format: `xml` is not json or csv");
        assert_eq!(err("from=1&from=2"), "from: given twice; give it once");
        let q: Q = parse_params("from=5&format=csv&limit=").unwrap();
        assert_eq!((q.from, q.format, q.limit), (5, Some(Format::Csv), None));
        assert_eq!(
            parse_params::<Q>("x=1").unwrap_err().code,
            ErrorCode::InvalidField
        );
    }

    #[derive(serde::Deserialize, schemars::JsonSchema, Debug)]
    #[serde(deny_unknown_fields)]
    struct Named {
        /// a name
        name: Option<String>,
        /// a count
        n: Option<u32>,
    }

    #[test]
    fn params_refuse_naming_the_parameter_and_empty_is_absent() {
        let q: Named = parse_params("name=x&n=").unwrap();
        assert_eq!((q.name.as_deref(), q.n), (Some("x"), None));
        let e = parse_params::<Named>("nmae=x").unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidField);
        assert_eq!(
            e.message,
            "nmae: no such parameter here; the parameters are n and name"
        );
        let e = parse_params::<Named>("name=a&name=b").unwrap_err();
        assert_eq!(e.message, "name: given twice; give it once");
    }
}
