//! `/openapi.json`: OpenAPI 3.1, generated from the code, true to API.md's table and to
//! the routes the server answers.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::common::{Server, config};

/// `(METHOD, /path)` of every endpoint in API.md's table.
fn api_md_endpoints() -> BTreeSet<(String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/API.md");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path} must be readable (../shared): {e}"));
    let mut out = BTreeSet::new();
    for row in text.lines().filter(|l| l.starts_with("| `")) {
        let first = row.split(" | ").next().unwrap_or("");
        // "`GET /path`", or "`GET`/any method `/path`" (the method in its own span).
        let mut method = None;
        for code in first.split('`').skip(1).step_by(2) {
            let mut words = code.split_whitespace();
            let (w1, w2) = (words.next().unwrap_or(""), words.next());
            if ["GET", "POST", "DELETE", "PUT", "PATCH"].contains(&w1) {
                method = Some(w1.to_lowercase());
            }
            let p = if w1.starts_with('/') { w1 } else { w2.unwrap_or("") };
            if let (Some(m), true) = (&method, p.starts_with('/') && !p.contains("{*")) {
                out.insert((m.clone(), p.split('?').next().unwrap_or(p).to_owned()));
            }
        }
    }
    assert!(out.len() > 15, "API.md's endpoint table was not found: {out:?}");
    out
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_matches_api_md_and_the_routes() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), Some(&config("")), &[]);
    let res = s.http.get(s.url("/openapi.json")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "revokd");

    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            documented.insert((method.clone(), path.clone()));
            assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()), "{method} {path} has no responses");
            assert!(op["tags"].as_array().is_some_and(|t| !t.is_empty()), "{method} {path} has no tag");
        }
    }
    assert_eq!(documented, api_md_endpoints(), "the document and API.md's table list different endpoints");

    // Every documented operation is routed: none gets the router's own 404 or 405.
    for (method, path) in &documented {
        let concrete = path.replace("{id}", "x").replace("{sub}", "alice").replace("{jti}", "x");
        let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let res = s.http.request(m, s.url(&concrete)).timeout(std::time::Duration::from_secs(2)).send().await.unwrap();
        let status = res.status().as_u16();
        assert_ne!(status, 405, "{method} {path} is documented but not routed");
        if status == 404 {
            let body: Value = res.json().await.unwrap();
            assert_ne!(body["message"], "no such route", "{method} {path} is documented but not routed");
        }
    }

    // Every schema an operation refers to is defined.
    let text = doc.to_string();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for part in text.split("\"#/components/schemas/").skip(1) {
        let name = part.split('"').next().unwrap();
        assert!(schemas.contains_key(name), "schema {name} is referenced but not defined");
    }
    for scheme in ["admin", "feed", "client", "access_token"] {
        assert!(doc["components"]["securitySchemes"][scheme].is_object(), "security scheme {scheme}");
    }
}
