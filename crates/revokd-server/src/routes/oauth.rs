//! RFC 7009 revocation and RFC 7662 introspection. Errors in the RFC 6749 §5.2 shape.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use revokd::TokenType;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::Shared;
use crate::auth::{Caller, ClientOrAdmin, invalid_client};
use crate::error::{ApiError, ApiResult};
use crate::extract::Form;
use crate::openapi::OAuthErrorBody;

/// The form of both endpoints; unknown parameters are ignored (RFC 6749 §3.2).
#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenForm {
    /// The token; `token_type_hint` and other parameters are accepted and ignored.
    token: Option<String>,
}

fn missing_token() -> ApiError {
    ApiError::invalid("the `token` parameter is required").oauth()
}

/// Revokes the token (a refresh token: its family) and answers 200 with an empty body,
/// whatever the token, so the answer tells nobody anything.
#[utoipa::path(post, path = "/oauth/revoke", tag = "oauth", security((), ("client" = []), ("admin" = [])),
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Done, or nothing to do: the same answer for any token"),
        (status = 400, description = "`invalid_request`: no `token`", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client`: bad client credentials", body = OAuthErrorBody),
    ))]
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

/// One answer of RFC 7662 introspection: `{"active": false}`, or the token's claims.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Introspection {
    /// Whether the token is valid and not revoked now.
    active: bool,
    /// Subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    /// Token id.
    #[serde(skip_serializing_if = "Option::is_none")]
    jti: Option<String>,
    /// Expires at, unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<u64>,
    /// Issued at, unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<u64>,
    /// Not before, unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    nbf: Option<u64>,
    /// `Bearer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'static str>,
    /// `access` or `refresh`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<TokenType>,
    /// Issuer.
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    /// Audience: a string or an array of strings.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    aud: Option<revokd::token::Audience>,
}

/// `{"active": false}` or the token's claims; clients and admins only.
#[utoipa::path(post, path = "/oauth/introspect", tag = "oauth", security(("client" = []), ("admin" = [])),
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The token's state", body = Introspection),
        (status = 400, description = "`invalid_request`: no `token`", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client`: no or bad client credentials", body = OAuthErrorBody),
    ))]
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
    let v = match verified {
        Ok(v) => v,
        // in `refuse` mode while the store is away: not "inactive", which a resource
        // server would take as the token's end
        Err(revokd::Error::NotReady) => return Err(revokd::Error::NotReady.into()),
        Err(_) => return Ok(axum::Json(Introspection::default())),
    };
    let c = v.claims;
    Ok(axum::Json(Introspection {
        active: true,
        nbf: Some(c.nbf.unwrap_or(c.iat)),
        sub: Some(c.sub),
        jti: Some(c.jti),
        exp: Some(c.exp),
        iat: Some(c.iat),
        token_type: Some("Bearer"),
        kind: Some(c.token_type),
        iss: c.iss,
        aud: c.aud,
    }))
}
