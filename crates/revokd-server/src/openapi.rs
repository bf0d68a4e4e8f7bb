//! `GET /openapi.json`: the OpenAPI 3.1 document, generated from the handlers'
//! annotations and the types they read and write, so it cannot drift from the code.
//!
//! The router is built from the same annotations ([`utoipa_axum::routes!`] in
//! [`crate::app::router`]): a documented path that is not routed, or a routed one that
//! is not documented, cannot happen for the routes registered that way. `/v1/verify`
//! answers every method and subpath and is routed by hand; its document is here.

use std::sync::LazyLock;

use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

/// The document's fixed parts; paths are added by the router.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "revokd",
        description = "JWT revocation checked from memory: issue, verify, revoke, and the change \
                       feed that lets any service mirror the revocation list.\n\n\
                       Every error is `{\"error\": code, \"message\": text}` with a stable code \
                       (RFC 6749's `{error, error_description}` on `/oauth/*`). Besides the answers \
                       listed per operation, any request may get 413 `payload_too_large`, 431 \
                       `headers_too_large`, 503 `unavailable` past `request_timeout`, 429 \
                       `rate_limited` (with `Retry-After`) after too many failed requests from one \
                       address, and 503 `unavailable` while the store cannot be reached."
    ),
    paths(crate::routes::verify::verify),
    components(schemas(ErrorBody, OAuthErrorBody)),
    modifiers(&Security),
    tags(
        (name = "tokens", description = "Issue and refresh tokens"),
        (name = "verify", description = "Verification for reverse proxies"),
        (name = "revocations", description = "Revocation rules and their change feed"),
        (name = "subjects", description = "A subject's tokens (admin)"),
        (name = "me", description = "The holder of an access token manages its own tokens"),
        (name = "oauth", description = "RFC 7009 revocation, RFC 7662 introspection, RFC 8414 metadata, JWKS"),
        (name = "operations", description = "Health, readiness, metrics, this document")
    )
)]
pub struct ApiDoc;

/// The security schemes operations refer to.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let bearer = |what: &str| {
            let mut h = Http::new(HttpAuthScheme::Bearer);
            h.description = Some(what.to_owned());
            SecurityScheme::Http(h)
        };
        components.add_security_scheme("admin", bearer("An admin token (`admin_tokens`)."));
        components
            .add_security_scheme("feed", bearer("A feed token (`feed_tokens`): reads the feed and nothing else."));
        components.add_security_scheme("access_token", bearer("An access token issued by revokd."));
        let mut basic = Http::new(HttpAuthScheme::Basic);
        basic.description = Some("A `[[clients]]` id and secret (client_secret_basic).".to_owned());
        components.add_security_scheme("client", SecurityScheme::Http(basic));
    }
}

/// An error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The stable code, e.g. `token_revoked`, `invalid_request`, `unauthorized`.
    pub error: String,
    /// A sentence for people; never part of the contract.
    pub message: String,
}

/// An error answer on `/oauth/*` (RFC 6749 §5.2).
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthErrorBody {
    /// `invalid_request` or `invalid_client`.
    pub error: String,
    /// A sentence for people.
    pub error_description: String,
}

/// The document, rendered on first use.
static DOCUMENT: LazyLock<String> =
    LazyLock::new(|| crate::app::api().into_openapi().to_pretty_json().unwrap_or_else(|_| "{}".to_owned()));

/// The OpenAPI document as JSON.
pub fn document() -> &'static str {
    &DOCUMENT
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document of this service", content_type = "application/json")))]
pub async fn openapi_json() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], document())
}
