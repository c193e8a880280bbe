//! Forms that carry a file (`enctype="multipart/form-data"`): a small
//! reader of the parts a browser sends (RFC 7578), so the reconciliation
//! and import forms take a CSV file without a new dependency. Forms without
//! a file, and clients that post them urlencoded, are read as before.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};

use super::login::Fields;
use crate::AppState;

/// A posted form's fields, urlencoded or multipart; a file's field holds
/// the file's text.
pub struct Submitted(pub Fields);

impl FromRequest<Arc<AppState>> for Submitted {
    type Rejection = Response;

    async fn from_request(req: Request, app: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let ct = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = Bytes::from_request(req, app)
            .await
            .map_err(IntoResponse::into_response)?;
        let fields = match boundary(&ct) {
            Some(b) => parse(&body, &b),
            None => serde_urlencoded::from_bytes(&body).ok(),
        };
        fields.map(Submitted).ok_or_else(|| {
            super::login::message(
                axum::http::StatusCode::BAD_REQUEST,
                "Form not read",
                "The form arrived in a shape that could not be read, so nothing was changed. Go back, reload the page and send it again.",
                Some(("/", "Back to the dashboard")),
            )
        })
    }
}

/// The boundary of a `multipart/form-data` content type.
fn boundary(content_type: &str) -> Option<String> {
    let mut parts = content_type.split(';').map(str::trim);
    if !parts.next()?.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    parts
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
        .filter(|b| !b.is_empty() && b.len() <= 70)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The parts' names and values; `None` when the body is not multipart with
/// this boundary.
fn parse(body: &[u8], boundary: &str) -> Option<Fields> {
    let first = format!("--{boundary}");
    let between = format!("\r\n--{boundary}");
    let mut rest = &body[find(body, first.as_bytes())? + first.len()..];
    let mut fields = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            return Some(fields);
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let end = find(rest, between.as_bytes())?;
        let part = &rest[..end];
        rest = &rest[end + between.len()..];
        let split = find(part, b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&part[..split]);
        let value = &part[split + 4..];
        let name = head
            .split("\r\n")
            .find(|l| {
                l.split(':')
                    .next()
                    .is_some_and(|h| h.trim().eq_ignore_ascii_case("content-disposition"))
            })
            .and_then(disposition_name)?;
        let text = String::from_utf8_lossy(value);
        // a file saved by a spreadsheet may begin with a byte-order mark
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        fields.push((name, text.to_string()));
    }
}

/// `form-data; name="csv_file"; filename="a.csv"` -> `csv_file`.
fn disposition_name(line: &str) -> Option<String> {
    line.split(';')
        .map(str::trim)
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim() == "name")
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_browsers_parts_are_read_with_the_files_text() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\ntok\r\n--XyZ\r\nContent-Disposition: form-data; name=\"csv_file\"; filename=\"r.csv\"\r\nContent-Type: text/csv\r\n\r\n\u{feff}txid,amount\r\nt-1,5\r\n\r\n--XyZ\r\ncontent-disposition: form-data; name=\"empty\"\r\n\r\n\r\n--XyZ--\r\n";
        let ct = "multipart/form-data; boundary=XyZ";
        let b = boundary(ct).unwrap();
        assert_eq!(
            parse(body.as_bytes(), &b).unwrap(),
            vec![
                ("csrf".to_string(), "tok".to_string()),
                (
                    "csv_file".to_string(),
                    "txid,amount\r\nt-1,5\r\n".to_string()
                ),
                ("empty".to_string(), String::new()),
            ]
        );
    }

    #[test]
    fn other_bodies_and_types_are_not_multipart() {
        assert_eq!(boundary("application/x-www-form-urlencoded"), None);
        assert_eq!(boundary("multipart/form-data"), None);
        assert_eq!(
            boundary("Multipart/Form-Data; boundary=\"a b\"").as_deref(),
            Some("a b")
        );
        assert_eq!(parse(b"csrf=tok", "XyZ"), None);
        // cut short: no closing boundary
        assert_eq!(
            parse(
                b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1",
                "XyZ"
            ),
            None
        );
    }
}

/// Property tests (`PROPTEST_CASES` sets the count; docs/TESTING.md): the
/// reader is private, so they live beside it.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// RFC 2046's boundary characters.
    const BOUNDARY: &str = "[A-Za-z0-9'()+_,./:=?-]{1,70}";

    proptest! {
        #[test]
        fn any_body_and_content_type_never_panic(
            body in proptest::collection::vec(any::<u8>(), 0..300),
            ct in prop_oneof![any::<String>(), "(multipart/form-data|Multipart/Form-Data|text/plain)(; ?[a-z]{0,9}=\"?[ -~]{0,12}\"?){0,3}"],
            b in prop_oneof![any::<String>(), BOUNDARY],
        ) {
            if let Some(found) = boundary(&ct) {
                prop_assert!(!found.is_empty() && found.len() <= 70, "{:?}", found);
            }
            let _ = parse(&body, &b);
        }

        /// A browser's parts read back as sent: names, values (a file's
        /// text without its byte-order mark), in order.
        #[test]
        fn a_browsers_parts_read_back_as_sent(
            b in BOUNDARY,
            quoted in any::<bool>(),
            parts in proptest::collection::vec(
                (
                    "[a-z_]{1,10}",
                    any::<String>(),
                    proptest::option::of("[a-z]{1,8}\\.csv"),
                    any::<bool>(),
                ),
                0..5,
            ),
        ) {
            let parts: Vec<_> = parts
                .into_iter()
                .filter(|(_, v, _, _)| !v.contains(&format!("\r\n--{b}")) && !v.starts_with('\u{feff}'))
                .collect();
            let ct = if quoted {
                format!("multipart/form-data; boundary=\"{b}\"")
            } else {
                format!("multipart/form-data; boundary={b}")
            };
            prop_assert_eq!(boundary(&ct), Some(b.clone()));
            let mut body = Vec::new();
            for (name, value, file, bom) in &parts {
                body.extend(format!("--{b}\r\nContent-Disposition: form-data; name=\"{name}\"").bytes());
                if let Some(f) = file {
                    body.extend(format!("; filename=\"{f}\"\r\nContent-Type: text/csv").bytes());
                }
                body.extend(b"\r\n\r\n");
                if *bom && file.is_some() {
                    body.extend("\u{feff}".bytes());
                }
                body.extend(value.bytes());
                body.extend(b"\r\n");
            }
            body.extend(format!("--{b}--\r\n").bytes());
            let expected: Vec<(String, String)> =
                parts.iter().map(|(n, v, _, _)| (n.clone(), v.clone())).collect();
            prop_assert_eq!(parse(&body, &b), Some(expected));
        }
    }
}
