//! RFC 7009 revocation and RFC 7662 introspection. Errors in the RFC 6749 §5.2 shape.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use revokd::TokenType;
use serde::Deserialize;
use serde_json::json;

use crate::app::Shared;
use crate::auth::{Caller, ClientOrAdmin, invalid_client};
use crate::error::{ApiError, ApiResult};
use crate::extract::Form;

/// The form of both endpoints; unknown parameters are ignored (RFC 6749 §3.2).
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    token: Option<String>,
}

fn missing_token() -> ApiError {
    ApiError::invalid("the `token` parameter is required").oauth()
}

/// Revokes the token (a refresh token: its family) and answers 200 with an empty body,
/// whatever the token, so the answer tells nobody anything.
pub async fn revoke(
    State(state): State<Shared>,
    caller: Caller,
    Form(f): Form<TokenForm>,
) -> ApiResult<impl IntoResponse> {
    let actor = match &caller {
        Caller::Refused(scheme) => return Err(invalid_client(scheme)),
        Caller::Client(id) => format!("client:{id}"),
        Caller::Admin => "admin".to_owned(),
        Caller::Anonymous => "holder".to_owned(),
    };
    let Some(token) = f.token.filter(|t| !t.is_empty()) else { return Err(missing_token()) };
    // revoke_token verifies the token first: an invalid one is simply not revoked.
    match state.revokd.revoke_token(&token, None, actor).await {
        Ok(rev) => crate::telemetry::revocation(rev.kind),
        Err(e) if !e.is_token_error() => return Err(ApiError::from(e).oauth()),
        Err(_) => {}
    }
    Ok(StatusCode::OK)
}

/// `{"active": false}` or the token's claims; clients and admins only.
pub async fn introspect(
    State(state): State<Shared>,
    _: ClientOrAdmin,
    Form(f): Form<TokenForm>,
) -> ApiResult<impl IntoResponse> {
    let Some(token) = f.token.filter(|t| !t.is_empty()) else { return Err(missing_token()) };
    let r = &state.revokd;
    let verified = match r.verify(&token, TokenType::Access) {
        Err(revokd::Error::WrongTokenType { .. }) => r.verify(&token, TokenType::Refresh),
        other => other,
    };
    let Ok(v) = verified else { return Ok(axum::Json(json!({"active": false}))) };
    let c = v.claims;
    let mut body = json!({
        "active": true,
        "sub": c.sub,
        "jti": c.jti,
        "exp": c.exp,
        "iat": c.iat,
        "nbf": c.nbf.unwrap_or(c.iat),
        "token_type": "Bearer",
        "type": c.token_type,
    });
    if let Some(iss) = c.iss {
        body["iss"] = json!(iss);
    }
    if let Some(aud) = c.aud {
        body["aud"] = json!(aud);
    }
    Ok(axum::Json(body))
}
