//! The project's own API description keeps up with the code: every answer
//! code, and every admin-key route, is in docs/API.md; the README links
//! nothing outside the repository.

const API_MD: &str = include_str!("../../../docs/API.md");
const README: &str = include_str!("../../../README.md");

#[test]
fn every_answer_code_is_described() {
    for code in clickledger_domain::ErrorCode::ALL {
        let row = format!(
            "| `{}` | {} | {} |",
            code.as_str(),
            code.http_status(),
            code.meaning()
        );
        assert!(API_MD.contains(&row), "docs/API.md lacks the row {row}");
    }
}

#[test]
fn every_route_prefix_is_described() {
    let doc = clickledger_server::openapi();
    for path in doc["paths"].as_object().unwrap().keys() {
        // `/api/v1/offers/{id}/pause` is described as `/api/v1/{kind}/{id}/pause|resume`
        let first = path.split('/').take(4).collect::<Vec<_>>().join("/");
        assert!(
            API_MD.contains(&first),
            "docs/API.md does not mention {first} ({path})"
        );
    }
    for route in [
        "/api/v1/admin-keys",
        "/api/v1/admin-keys/{id}/revoke",
        "DELETE /api/v1/admin-keys/{id}",
    ] {
        assert!(API_MD.contains(route), "{route}");
    }
}

#[test]
fn the_docs_link_nothing_outside_the_repository() {
    for (name, text) in [("README.md", README), ("docs/API.md", API_MD)] {
        for (i, _) in text.match_indices("](") {
            let target = &text[i + 2..];
            let target = &target[..target.find(')').unwrap_or(target.len())];
            assert!(
                !target.starts_with("..") && !target.starts_with('/'),
                "{name} links outside the repository: {target}"
            );
            if !target.starts_with("http") && !target.starts_with('#') {
                let base = if name == "README.md" {
                    "../../"
                } else {
                    "../../docs/"
                };
                let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join(base)
                    .join(target);
                assert!(path.exists(), "{name} links to a missing file: {target}");
            }
        }
    }
}
