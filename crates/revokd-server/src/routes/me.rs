//! `/v1/me/…`: the holder of an access token manages its own tokens.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use revokd::{RuleKind, Target, TokenType, Verified};

use super::{ListQuery, token_list};
use crate::app::Shared;
use crate::auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Path, Query};
use crate::openapi::ErrorBody;

fn holder(state: &Shared, headers: &HeaderMap) -> ApiResult<Verified> {
    let Some(token) = auth::bearer(headers) else {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "token_missing", "no bearer token was given")
            .www_authenticate("Bearer realm=\"revokd\""));
    };
    let v = state.revokd.verify(token, TokenType::Access).map_err(|e| ApiError::token(&e))?;
    if v.origin != revokd::token::Origin::Own {
        return Err(ApiError::token(&revokd::Error::UnknownKey));
    }
    Ok(v)
}

/// The caller's tokens.
#[utoipa::path(get, path = "/v1/me/tokens", tag = "me", security(("access_token" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "A page of the caller's tokens", body = super::TokenList),
        (status = 400, description = "`invalid_request`", body = ErrorBody),
        (status = 401, description = "`token_missing`, `token_invalid`, `token_expired`, `token_revoked`, …", body = ErrorBody),
    ))]
pub async fn tokens(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> ApiResult<impl IntoResponse> {
    let v = holder(&state, &headers)?;
    let page = state.revokd.tokens_of(Some(&v.claims.sub), q.cursor.as_deref(), q.limit()?).await?;
    Ok(axum::Json(token_list(page)))
}

/// Ends the caller's session: its family (this token included).
#[utoipa::path(post, path = "/v1/me/logout", tag = "me", security(("access_token" = [])),
    responses((status = 204, description = "Logged out"), (status = 401, description = "`token_missing`, `token_invalid`, `token_expired`, `token_revoked`, …", body = ErrorBody)))]
pub async fn logout(State(state): State<Shared>, headers: HeaderMap) -> ApiResult<StatusCode> {
    let v = holder(&state, &headers)?;
    let actor = format!("subject:{}", v.claims.sub);
    let target = match v.claims.fam.clone() {
        Some(fam) => Target::Family { fam },
        None => Target::Jti { iss: None, jti: v.claims.jti.clone(), exp: Some(v.claims.exp) },
    };
    let rev = state.revokd.revoke(target, Some("logout".into()), actor).await?;
    crate::telemetry::revocation(rev.kind);
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes one of the caller's tokens; another subject's → 404.
#[utoipa::path(post, path = "/v1/me/tokens/{jti}/revoke", tag = "me", security(("access_token" = [])),
    params(("jti" = String, Path, description = "One of the caller's tokens")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "`token_missing`, `token_invalid`, `token_expired`, `token_revoked`, …", body = ErrorBody),
        (status = 404, description = "`not_found`: no such token of the caller's", body = ErrorBody),
    ))]
pub async fn revoke(State(state): State<Shared>, headers: HeaderMap, Path(jti): Path<String>) -> ApiResult<StatusCode> {
    let v = holder(&state, &headers)?;
    let token = state.revokd.store().token(&jti).await.map_err(revokd::Error::Store)?;
    let Some(token) = token.filter(|t| t.sub == v.claims.sub) else {
        return Err(ApiError::not_found("no such token of yours"));
    };
    let actor = format!("subject:{}", v.claims.sub);
    let rev = state.revokd.revoke(Target::Jti { iss: None, jti: token.jti, exp: Some(token.exp) }, None, actor).await?;
    crate::telemetry::revocation(rev.kind);
    Ok(StatusCode::NO_CONTENT)
}

/// Undoes a revocation the caller made of one of its tokens; one made by anyone else
/// → 409 `not_reversible`.
#[utoipa::path(post, path = "/v1/me/tokens/{jti}/unrevoke", tag = "me", security(("access_token" = [])),
    params(("jti" = String, Path, description = "One of the caller's tokens")),
    responses(
        (status = 204, description = "No longer revoked"),
        (status = 401, description = "`token_missing`, `token_invalid`, `token_expired`, `token_revoked`, …", body = ErrorBody),
        (status = 404, description = "`not_found`: no such token of the caller's, or not revoked", body = ErrorBody),
        (status = 409, description = "`not_reversible`: revoked by someone else or by another rule", body = ErrorBody),
    ))]
pub async fn unrevoke(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(jti): Path<String>,
) -> ApiResult<StatusCode> {
    let v = holder(&state, &headers)?;
    let store = state.revokd.store();
    let token = store.token(&jti).await.map_err(revokd::Error::Store)?;
    let Some(token) = token.filter(|t| t.sub == v.claims.sub) else {
        return Err(ApiError::not_found("no such token of yours"));
    };
    let Some(rule) = store.live_rule(RuleKind::Jti, None, &jti).await.map_err(revokd::Error::Store)? else {
        // Revoked by another kind of rule (a logout everywhere, its family): not the
        // caller's to undo.
        if state.revokd.status_of(&token) == "revoked" {
            return Err(revokd::Error::NotReversible.into());
        }
        return Err(ApiError::not_found("that token is not revoked"));
    };
    if rule.actor != format!("subject:{}", v.claims.sub) {
        return Err(revokd::Error::NotReversible.into());
    }
    state.revokd.unrevoke(&rule.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
