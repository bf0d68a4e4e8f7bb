//! `/v1/verify` (and any subpath, any method) for reverse proxies: nginx
//! `auth_request`, Traefik forwardAuth, Envoy ext_authz.

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use revokd::TokenType;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::app::Shared;
use crate::auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;

/// The identity headers of a 200 (names parsed once, not per request).
const X_AUTH_SUBJECT: HeaderName = HeaderName::from_static("x-auth-subject");
const X_AUTH_JTI: HeaderName = HeaderName::from_static("x-auth-jti");
const X_AUTH_TYPE: HeaderName = HeaderName::from_static("x-auth-type");

/// `?fresh=true` requires a fresh token.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerifyQuery {
    /// `true`: only a fresh token passes (else 401 `fresh_token_required`).
    fresh: Option<bool>,
}

/// 200 with `X-Auth-Subject`, `X-Auth-Jti`, `X-Auth-Type`; 401 with the reason.
///
/// Answers every method, and every subpath (`/v1/verify/…`), so a proxy can forward the
/// original request's method and path as they are.
#[utoipa::path(get, path = "/v1/verify", tag = "verify", security(("access_token" = [])),
    params(VerifyQuery),
    responses(
        (status = 200, description = "Valid and not revoked", headers(
            ("X-Auth-Subject" = String, description = "The token's `sub`"),
            ("X-Auth-Jti" = String, description = "The token's `jti`"),
            ("X-Auth-Type" = String, description = "`access`"))),
        (status = 401, description = "`token_missing`, `token_invalid`, `token_expired`, `token_not_yet_valid`, \
            `token_revoked`, `token_wrong_type`, `fresh_token_required`, with `WWW-Authenticate`",
            body = crate::openapi::ErrorBody),
    ))]
pub async fn verify(
    State(state): State<Shared>,
    Query(q): Query<VerifyQuery>,
    // The request itself, not a `HeaderMap` (which would copy every header).
    req: Request,
) -> ApiResult<Response> {
    let Some(token) = auth::bearer(req.headers()) else {
        crate::telemetry::check("token_missing");
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
    h.insert(X_AUTH_SUBJECT, sub);
    h.insert(X_AUTH_JTI, jti);
    h.insert(X_AUTH_TYPE, HeaderValue::from_static("access"));
    Ok(res)
}
