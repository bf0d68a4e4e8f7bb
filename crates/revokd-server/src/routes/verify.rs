//! `/v1/verify` (and any subpath, any method) for reverse proxies: nginx
//! `auth_request`, Traefik forwardAuth, Envoy ext_authz.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use revokd::TokenType;
use serde::Deserialize;
use subtle::ConstantTimeEq;
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

/// The cookie that carries the access token in cookie mode (flask-jwt-extended's name).
pub const ACCESS_COOKIE: &str = "access_token_cookie";

/// The value of cookie `name` among the request's `Cookie` headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().trim_matches('"'))
        .filter(|v| !v.is_empty())
}

/// Whether a cookie token on this request needs the CSRF double submit: when the
/// request the proxy is asking about may change state. Its method is read from
/// `X-Forwarded-Method`, else `X-Original-Method`, else this request's own (Envoy
/// forwards the method as is); to be safe against a proxy that passes a client's own
/// method header on, *every* method the request names is looked at (each of those
/// headers, every value of a repeated or comma-joined header, and the request's own
/// method), and any one that is not a safe method (`GET`, `HEAD`, `OPTIONS`, `TRACE`,
/// RFC 9110 §9.2.1; methods are case-sensitive, so `get` is not one), or is not
/// readable, requires it. When they all agree this is API.md's reading; when they
/// disagree, the stricter one wins: a client cannot turn a `POST` into a `GET` by
/// adding a header.
fn needs_csrf(req: &Request) -> bool {
    const SAFE: [&str; 4] = ["GET", "HEAD", "OPTIONS", "TRACE"];
    let safe = |m: &str| SAFE.contains(&m.trim());
    let h = req.headers();
    let named = h.get_all("x-forwarded-method").iter().chain(h.get_all("x-original-method").iter());
    !safe(req.method().as_str()) || named.into_iter().any(|v| v.to_str().map_or(true, |v| !v.split(',').all(safe)))
}

fn csrf_refused(message: &'static str) -> ApiError {
    crate::telemetry::check("csrf_failed");
    ApiError::new(StatusCode::UNAUTHORIZED, "token_invalid", message)
        .www_authenticate(format!("Bearer error=\"invalid_token\", error_description=\"{message}\""))
}

/// 200 with `X-Auth-Subject`, `X-Auth-Jti`, `X-Auth-Type`; 401 with the reason.
///
/// Answers every method, and every subpath (`/v1/verify/…`), so a proxy can forward the
/// original request's method and path as they are. The token comes from
/// `Authorization: Bearer`, or in cookie mode from the `access_token_cookie` cookie; a
/// cookie token on a state-changing request (any method but `GET`, `HEAD`, `OPTIONS`,
/// `TRACE`, read from `X-Forwarded-Method`, else `X-Original-Method`, else this
/// request's method; when these disagree, any state-changing one counts) passes only
/// with an `X-CSRF-TOKEN` header equal to its `csrf` claim (else 401 `token_invalid`).
#[utoipa::path(get, path = "/v1/verify", tag = "verify", security(("access_token" = [])),
    params(VerifyQuery,
        ("access_token_cookie" = Option<String>, Cookie, description = "Cookie mode: the access token"),
        ("X-CSRF-TOKEN" = Option<String>, Header,
            description = "Cookie mode, state-changing methods: the token's `csrf` claim"),
        ("X-Forwarded-Method" = Option<String>, Header, description = "The original request's method"),
        ("X-Original-Method" = Option<String>, Header, description = "The original request's method, if \
            `X-Forwarded-Method` is absent (cookie mode: if the method headers, any of their comma-separated \
            values, or this request's own method name a method other than GET, HEAD, OPTIONS or TRACE, the \
            CSRF check applies)")),
    responses(
        (status = 200, description = "Valid and not revoked", headers(
            ("X-Auth-Subject" = String, description = "The token's `sub`"),
            ("X-Auth-Jti" = String, description = "The token's `jti`"),
            ("X-Auth-Type" = String, description = "`access`"))),
        (status = 400, description = "`invalid_request`: a malformed `?fresh` on `/v1/verify` itself",
            body = crate::openapi::ErrorBody),
        (status = 401, description = "`token_missing`, `token_invalid`, `token_expired`, `token_not_yet_valid`, \
            `token_revoked`, `token_wrong_type`, `fresh_token_required`, with `WWW-Authenticate`",
            body = crate::openapi::ErrorBody),
    ))]
pub async fn verify(
    State(state): State<Shared>,
    // The request itself, not a `HeaderMap` (which would copy every header).
    req: Request,
) -> ApiResult<Response> {
    // `?fresh=` is ours only on `/v1/verify` itself: on a subpath (Envoy's path prefix)
    // the query string is the original request's, not addressed to us.
    let own = matches!(req.uri().path(), "/v1/verify" | "/v1/verify/");
    let q = if own { Query::<VerifyQuery>::try_from_uri(req.uri())?.0 } else { VerifyQuery { fresh: None } };
    let headers = req.headers();
    let (token, from_cookie) = match auth::bearer(headers) {
        Some(t) => (t, false),
        None => match cookie(headers, ACCESS_COOKIE).filter(|_| state.settings.cookies) {
            Some(t) => (t, true),
            None => {
                crate::telemetry::check("token_missing");
                return Err(ApiError::new(StatusCode::UNAUTHORIZED, "token_missing", "no bearer token was given")
                    .www_authenticate("Bearer realm=\"revokd\""));
            }
        },
    };
    let v = state.revokd.verify(token, TokenType::Access).map_err(|e| {
        crate::telemetry::refused(&e);
        ApiError::token(&e)
    })?;
    if from_cookie && needs_csrf(&req) {
        let sent = headers.get("x-csrf-token").map(HeaderValue::as_bytes);
        match (sent, v.claims.csrf.as_deref()) {
            (None, _) => return Err(csrf_refused("missing X-CSRF-TOKEN")),
            (Some(s), Some(c)) if bool::from(s.ct_eq(c.as_bytes())) => {}
            _ => return Err(csrf_refused("X-CSRF-TOKEN does not match the token")),
        }
    }
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
