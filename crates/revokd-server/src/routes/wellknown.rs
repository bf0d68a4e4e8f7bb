//! JWKS and RFC 8414 metadata. Absolute URLs come from `public_url`, never from `Host`.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::json;

use crate::app::Shared;

/// The public keys, cacheable for five minutes.
pub async fn jwks(State(state): State<Shared>) -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "max-age=300")], Json(state.revokd.tokens().keys().jwks()))
}

/// Authorization server metadata.
pub async fn metadata(State(state): State<Shared>) -> impl IntoResponse {
    let base = &state.settings.public_url;
    Json(json!({
        "issuer": state.settings.issuer,
        "jwks_uri": format!("{base}/.well-known/jwks.json"),
        "revocation_endpoint": format!("{base}/oauth/revoke"),
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "none"],
        "introspection_endpoint": format!("{base}/oauth/introspect"),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic"],
        "response_types_supported": [],
    }))
}
