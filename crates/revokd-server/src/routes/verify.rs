//! `/v1/verify` (and any subpath, any method) for reverse proxies: nginx
//! `auth_request`, Traefik forwardAuth, Envoy ext_authz.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use revokd::TokenType;
use serde::Deserialize;

use crate::app::Shared;
use crate::auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;

/// `?fresh=true` requires a fresh token.
#[derive(Debug, Deserialize)]
pub struct VerifyQuery {
    fresh: Option<bool>,
}

/// 200 with `X-Auth-Subject`, `X-Auth-Jti`, `X-Auth-Type`; 401 with the reason.
pub async fn verify(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<VerifyQuery>,
) -> ApiResult<Response> {
    let Some(token) = auth::bearer(&headers) else {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "token_missing", "no bearer token was given")
            .www_authenticate("Bearer realm=\"revokd\""));
    };
    let v = state.revokd.verify(token, TokenType::Access).map_err(|e| {
        crate::telemetry::check(e.public_code());
        ApiError::token(&e)
    })?;
    if q.fresh == Some(true) && !v.claims.fresh {
        crate::telemetry::check("fresh_token_required");
        return Err(ApiError::token(&revokd::Error::FreshTokenRequired));
    }
    // Identity headers only from header-safe bytes: anything else is an invalid token.
    let header = |s: &str| HeaderValue::from_str(s).ok();
    let (Some(sub), Some(jti)) = (header(&v.claims.sub), header(&v.claims.jti)) else {
        crate::telemetry::check("token_invalid");
        return Err(ApiError::token(&revokd::Error::BadClaim("sub")));
    };
    crate::telemetry::check("ok");
    let mut res = StatusCode::OK.into_response();
    let h = res.headers_mut();
    h.insert("x-auth-subject", sub);
    h.insert("x-auth-jti", jti);
    h.insert("x-auth-type", HeaderValue::from_static("access"));
    Ok(res)
}
