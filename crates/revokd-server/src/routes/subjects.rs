//! `/v1/subjects/{sub}/…` (admin): list a subject's tokens, log it out everywhere.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use revokd::Target;

use super::{ListQuery, token_list};
use crate::app::Shared;
use crate::auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;

/// Our tokens of `sub`, with status.
pub async fn tokens(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(sub): Path<String>,
    Query(q): Query<ListQuery>,
) -> ApiResult<impl IntoResponse> {
    if !auth::is_admin(&state, &headers) {
        return Err(ApiError::unauthorized());
    }
    let page = state.revokd.tokens_of(Some(&sub), q.cursor.as_deref(), q.limit()?).await?;
    Ok(axum::Json(token_list(page)))
}

/// A subject cutoff at now: 201 with its record.
pub async fn logout(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(sub): Path<String>,
) -> ApiResult<impl IntoResponse> {
    if !auth::is_admin(&state, &headers) {
        return Err(ApiError::unauthorized());
    }
    let rev = state.revokd.revoke(Target::Subject { iss: None, sub, before_ms: None }, None, "admin").await?;
    Ok((StatusCode::CREATED, axum::Json(rev)))
}
