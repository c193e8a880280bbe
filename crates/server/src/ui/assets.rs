//! The dashboard's static files, compiled into the binary. Their URLs carry
//! a hash of all of them (`/assets/<hash>/style.css`), so browsers may
//! cache them for a year: a new build with other files has other URLs.
//! The vendored files come from npm through `scripts/vendor-assets.sh`.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

const FILES: &[(&str, &str, &[u8])] = &[
    (
        "style.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/style.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/app.js"),
    ),
    (
        "chart.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/chart.js"),
    ),
    (
        "vendor/htmx.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/vendor/htmx.min.js"),
    ),
    (
        "vendor/uPlot.iife.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/vendor/uPlot.iife.min.js"),
    ),
    (
        "vendor/uPlot.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/vendor/uPlot.min.css"),
    ),
];

/// `/assets/<hash>`: the prefix of every asset URL.
pub fn base() -> String {
    static BASE: OnceLock<String> = OnceLock::new();
    BASE.get_or_init(|| {
        let mut all = String::new();
        for (name, _, bytes) in FILES {
            all.push_str(name);
            all.push_str(&crate::util::sha256_hex(&String::from_utf8_lossy(bytes)));
        }
        format!("/assets/{}", &crate::util::sha256_hex(&all)[..12])
    })
    .clone()
}

pub async fn serve(Path((version, name)): Path<(String, String)>) -> Response {
    serve_file(&version, &name)
}

/// `vendor/…` arrives as two segments; the router sends those here.
pub async fn serve_vendor(Path((version, name)): Path<(String, String)>) -> Response {
    serve_file(&version, &format!("vendor/{name}"))
}

fn serve_file(version: &str, name: &str) -> Response {
    let Some((_, kind, bytes)) = FILES.iter().find(|(n, _, _)| *n == name) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    // an old page asking for an old version gets today's file, uncached
    let cache = if base().ends_with(version) {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        [
            (header::CONTENT_TYPE, *kind),
            (header::CACHE_CONTROL, cache),
        ],
        *bytes,
    )
        .into_response()
}
