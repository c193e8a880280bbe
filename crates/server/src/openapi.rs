//! The OpenAPI 3.1 document, generated from the routes the server builds.
//!
//! Each route records (through `crate::api::Api`) its query struct, body
//! type and answer types; their JSON Schemas come from `schemars` derives on
//! the very types the handlers deserialize and serialize, so the document
//! cannot drift from the code. Request schemas follow what the handlers
//! accept (serde's deserialize side), answer schemas what they write.

use std::collections::{BTreeMap, BTreeSet};

use axum::http::StatusCode;
use schemars::generate::{Contract, SchemaSettings};
use schemars::{Schema, SchemaGenerator};
use serde_json::{json, Map, Value};

use crate::api::ErrorBody;

/// Writes the schema of one type, registering the types it refers to.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// The schema function of `T`, referenced by name in the document.
pub fn schema_fn<T: schemars::JsonSchema>() -> SchemaFn {
    fn of<T: schemars::JsonSchema>(g: &mut SchemaGenerator) -> Schema {
        g.subschema_for::<T>()
    }
    of::<T>
}

/// The schema function of `T`, written in place (for query structs, whose
/// properties become parameters).
pub fn inline_schema_fn<T: schemars::JsonSchema>() -> SchemaFn {
    fn of<T: schemars::JsonSchema>(g: &mut SchemaGenerator) -> Schema {
        T::json_schema(g)
    }
    of::<T>
}

/// A request body.
pub enum Body {
    /// A JSON object of the given schema; `true` when it is required.
    Json(SchemaFn, bool),
    /// Several content types (a schema, or none for free text).
    Content(Vec<(&'static str, Option<SchemaFn>)>, bool),
}

/// One documented answer (success or a special status like a redirect).
pub struct Answer {
    pub status: u16,
    pub description: &'static str,
    pub content: Vec<(&'static str, Option<SchemaFn>)>,
    pub headers: Vec<(&'static str, &'static str)>,
}

impl Answer {
    pub fn json(status: u16, description: &'static str, schema: SchemaFn) -> Answer {
        Answer {
            status,
            description,
            content: vec![("application/json", Some(schema))],
            headers: Vec::new(),
        }
    }

    /// A text answer (`text/plain`, `text/csv`, `text/markdown`, ...).
    pub fn text(status: u16, mime: &'static str, description: &'static str) -> Answer {
        Answer {
            status,
            description,
            content: vec![(mime, None)],
            headers: Vec::new(),
        }
    }

    /// A redirect with no body.
    pub fn redirect(status: u16, description: &'static str) -> Answer {
        Answer {
            status,
            description,
            content: Vec::new(),
            headers: vec![("Location", "where the visitor is sent")],
        }
    }

    /// An answer with no body (204, 304).
    pub fn empty(status: u16, description: &'static str) -> Answer {
        Answer {
            status,
            description,
            content: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// The same status in another content type (e.g. `format=csv`).
    pub fn or_text(mut self, mime: &'static str) -> Answer {
        self.content.push((mime, None));
        self
    }

    pub fn header(mut self, name: &'static str, description: &'static str) -> Answer {
        self.headers.push((name, description));
        self
    }
}

pub struct RouteDoc {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    pub tag: &'static str,
    pub query: Option<SchemaFn>,
    pub body: Option<Body>,
    pub answers: Vec<Answer>,
    /// Error statuses besides those implied by authentication, path
    /// parameters, query and body.
    pub errors: Vec<u16>,
}

impl RouteDoc {
    pub fn new(
        method: &'static str,
        path: &'static str,
        summary: &'static str,
        tag: &'static str,
    ) -> RouteDoc {
        RouteDoc {
            method,
            path,
            summary,
            tag,
            query: None,
            body: None,
            answers: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// Whether the route needs an API key.
    pub fn authenticated(&self) -> bool {
        self.tag == "admin"
    }

    pub fn path_params(&self) -> impl Iterator<Item = &'static str> {
        self.path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
    }

    /// Every error status the route can answer.
    pub fn error_statuses(&self) -> BTreeSet<u16> {
        let mut s: BTreeSet<u16> = self.errors.iter().copied().collect();
        if self.authenticated() {
            s.extend([401, 403, 503]);
        }
        if self.path_params().next().is_some() {
            s.extend([400, 404]);
        }
        if self.query.is_some() {
            s.insert(400);
        }
        if self.body.is_some() {
            s.extend([400, 413]);
        }
        s
    }
}

fn generator(contract: Contract) -> SchemaGenerator {
    SchemaSettings::draft2020_12()
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
            s.contract = contract;
        })
        .into_generator()
}

/// `{"type": ["string", "null"]}` → `{"type": "string"}`: a query parameter
/// is absent or a string, never JSON null.
fn without_null(mut v: Value) -> Value {
    if let Some(Value::Array(types)) = v.get("type") {
        let kept: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        v["type"] = if kept.len() == 1 {
            kept[0].clone()
        } else {
            Value::Array(kept)
        };
    }
    if let Some(Value::Array(any)) = v.get("anyOf").cloned() {
        let kept: Vec<Value> = any
            .into_iter()
            .filter(|s| s.get("type") != Some(&json!("null")))
            .collect();
        if kept.len() == 1 {
            let mut one = kept[0].clone();
            if let (Some(d), Value::Object(m)) = (v.get("description").cloned(), &mut one) {
                m.insert("description".into(), d);
            }
            return one;
        }
        v["anyOf"] = Value::Array(kept);
    }
    v
}

fn query_parameters(schema: Schema) -> Vec<Value> {
    let v = schema.to_value();
    let required: BTreeSet<&str> = v
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(props) = v.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    props
        .iter()
        .map(|(name, s)| {
            let mut s = without_null(s.clone());
            let description = s
                .as_object_mut()
                .and_then(|m| m.remove("description"))
                .unwrap_or(Value::Null);
            if let Some(m) = s.as_object_mut() {
                // a default belongs to the handler; the parameter is absent
                m.remove("default");
            }
            let mut p = json!({
                "name": name,
                "in": "query",
                "required": required.contains(name.as_str()),
                "schema": s,
            });
            if !description.is_null() {
                p["description"] = description;
            }
            p
        })
        .collect()
}

fn content(
    list: &[(&'static str, Option<SchemaFn>)],
    generator: &mut SchemaGenerator,
) -> Map<String, Value> {
    list.iter()
        .map(|(mime, schema)| {
            let s = match schema {
                Some(f) => f(generator).to_value(),
                None => json!({"type": "string"}),
            };
            (mime.to_string(), json!({ "schema": s }))
        })
        .collect()
}

/// Rewrites `$ref`s to renamed schemas.
fn rename_refs(v: &mut Value, renamed: &BTreeMap<String, String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if k == "$ref" {
                    if let Some(name) = x
                        .as_str()
                        .and_then(|r| r.strip_prefix("#/components/schemas/"))
                    {
                        if let Some(new) = renamed.get(name) {
                            *x = json!(format!("#/components/schemas/{new}"));
                        }
                    }
                } else {
                    rename_refs(x, renamed);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| rename_refs(x, renamed)),
        _ => {}
    }
}

fn reason(status: u16) -> &'static str {
    StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("refused")
}

/// The document for the recorded routes.
pub fn document(docs: &[RouteDoc]) -> Value {
    let mut inputs = generator(Contract::Deserialize);
    let mut outputs = generator(Contract::Serialize);
    let error_ref = outputs.subschema_for::<ErrorBody>().to_value();
    let mut paths = Map::new();
    // request parts per operation, for renaming refs once all are known
    let mut requests: Vec<(String, &'static str, Value, Option<Value>)> = Vec::new();
    for d in docs {
        let mut params: Vec<Value> = d
            .path_params()
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        if let Some(q) = d.query {
            params.extend(query_parameters(q(&mut inputs)));
        }
        let body = d.body.as_ref().map(|b| {
            let (list, required) = match b {
                Body::Json(f, required) => (vec![("application/json", Some(*f))], *required),
                Body::Content(list, required) => (list.clone(), *required),
            };
            json!({"required": required, "content": content(&list, &mut inputs)})
        });
        let mut responses = Map::new();
        for a in &d.answers {
            let mut r = json!({ "description": a.description });
            if !a.content.is_empty() {
                r["content"] = Value::Object(content(&a.content, &mut outputs));
            }
            if !a.headers.is_empty() {
                let h: Map<String, Value> = a
                    .headers
                    .iter()
                    .map(|(n, d)| {
                        (
                            n.to_string(),
                            json!({"description": d, "schema": {"type": "string"}}),
                        )
                    })
                    .collect();
                r["headers"] = Value::Object(h);
            }
            responses.insert(a.status.to_string(), r);
        }
        for s in d.error_statuses() {
            responses.entry(s.to_string()).or_insert_with(|| {
                json!({
                    "description": format!("{}: {{\"error\": code, \"message\": sentence}}", reason(s)),
                    "content": {"application/json": {"schema": error_ref}},
                })
            });
        }
        let mut op = json!({
            "operationId": operation_id(d),
            "summary": d.summary,
            "tags": [d.tag],
            "responses": responses,
        });
        if d.authenticated() {
            op["security"] = json!([{"bearer": []}]);
        }
        requests.push((d.path.to_string(), d.method, json!(params), body));
        paths
            .entry(d.path.to_string())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("object")
            .insert(d.method.to_string(), op);
    }
    // one set of schemas: answers keep their names; a request-side schema
    // that differs under the same name (defaults are optional there) is
    // `<Name>Input`
    let mut schemas: Map<String, Value> = outputs.take_definitions(true).into_iter().collect();
    let input_defs: Map<String, Value> = inputs.take_definitions(true).into_iter().collect();
    let renamed: BTreeMap<String, String> = input_defs
        .iter()
        .filter(|(name, s)| schemas.get(*name).is_some_and(|o| o != *s))
        .map(|(name, _)| (name.clone(), format!("{name}Input")))
        .collect();
    for (name, mut s) in input_defs {
        rename_refs(&mut s, &renamed);
        let name = renamed.get(&name).cloned().unwrap_or(name);
        schemas.insert(name, s);
    }
    for (path, method, mut params, body) in requests {
        rename_refs(&mut params, &renamed);
        let op = &mut paths[&path][method];
        if params.as_array().is_some_and(|p| !p.is_empty()) {
            op["parameters"] = params;
        }
        if let Some(mut b) = body {
            rename_refs(&mut b, &renamed);
            op["requestBody"] = b;
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Clickledger",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Click and conversion tracker. Every refusal is JSON {\"error\": code, \"message\": sentence naming the field}; request bodies are limited to 1 MiB (413 payload_too_large) and URLs to 64 KiB (414 uri_too_long)."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas,
        }
    })
}

/// `get /api/v1/offers/{id}/setup` → `get_offers_id_setup`.
fn operation_id(d: &RouteDoc) -> String {
    let mut id = d.method.to_string();
    for seg in d.path.split('/').filter(|s| !s.is_empty()) {
        if seg == "api" || seg == "v1" {
            continue;
        }
        id.push('_');
        id.extend(seg.trim_matches(|c| c == '{' || c == '}').chars().map(|c| {
            if c.is_ascii_alphanumeric() {
                c
            } else {
                '_'
            }
        }));
    }
    id
}
