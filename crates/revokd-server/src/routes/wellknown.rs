//! JWKS and RFC 8414 metadata. Absolute URLs come from `public_url`, never from `Host`.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::app::Shared;

/// A JSON Web Key Set (RFC 7517).
#[derive(Debug, Serialize, ToSchema)]
pub struct Jwks {
    /// The public keys (JWKs with `kid`, `alg`, `use`).
    #[schema(value_type = Vec<Object>)]
    keys: Value,
}

/// RFC 8414 authorization server metadata.
#[derive(Debug, Serialize, ToSchema)]
pub struct Metadata {
    /// `issuer`: the `iss` of our tokens.
    issuer: String,
    /// Where the JWKS is.
    jwks_uri: String,
    /// RFC 7009 endpoint.
    revocation_endpoint: String,
    /// `client_secret_basic`, `none`.
    revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    /// RFC 7662 endpoint.
    introspection_endpoint: String,
    /// `client_secret_basic`.
    introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    /// Empty: revokd has no authorization endpoint.
    response_types_supported: Vec<&'static str>,
}

/// The public keys, cacheable for five minutes.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "oauth",
    responses((status = 200, description = "The public keys of `[[keys]]` and the generated key", body = Jwks,
        headers(("Cache-Control" = String, description = "`max-age=300`")))))]
pub async fn jwks(State(state): State<Shared>) -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "max-age=300")], Json(Jwks { keys: state.revokd.tokens().keys().jwks()["keys"].take() }))
}

/// Authorization server metadata.
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "oauth",
    responses((status = 200, description = "Absolute URLs from `public_url`", body = Metadata)))]
pub async fn metadata(State(state): State<Shared>) -> impl IntoResponse {
    let base = &state.settings.public_url;
    Json(Metadata {
        issuer: state.settings.issuer.clone(),
        jwks_uri: format!("{base}/.well-known/jwks.json"),
        revocation_endpoint: format!("{base}/oauth/revoke"),
        revocation_endpoint_auth_methods_supported: vec!["client_secret_basic", "none"],
        introspection_endpoint: format!("{base}/oauth/introspect"),
        introspection_endpoint_auth_methods_supported: vec!["client_secret_basic"],
        response_types_supported: Vec::new(),
    })
}
