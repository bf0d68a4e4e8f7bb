//! `/v1/subjects/{sub}/…` (admin): list a subject's tokens, log it out everywhere.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use revokd::Target;

use super::{ListQuery, token_list};
use crate::app::Shared;
use crate::auth;
use crate::error::ApiResult;
use crate::extract::{Path, Query};
use crate::openapi::ErrorBody;

/// Our tokens of `sub`, with status.
#[utoipa::path(get, path = "/v1/subjects/{sub}/tokens", tag = "subjects", security(("admin" = [])),
    params(("sub" = String, Path, description = "The subject"), super::ListQuery),
    responses(
        (status = 200, description = "A page of the subject's tokens", body = super::TokenList),
        (status = 400, description = "`invalid_request`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
    ))]
pub async fn tokens(
    State(state): State<Shared>,
    _: auth::Admin,
    Path(sub): Path<String>,
    Query(q): Query<ListQuery>,
) -> ApiResult<impl IntoResponse> {
    let page = state.revokd.tokens_of(Some(&sub), q.cursor.as_deref(), q.limit()?).await?;
    Ok(axum::Json(token_list(page)))
}

/// A subject cutoff at now (log out everywhere): 201 with its record.
#[utoipa::path(post, path = "/v1/subjects/{sub}/logout", tag = "subjects", security(("admin" = [])),
    params(("sub" = String, Path, description = "The subject")),
    responses(
        (status = 201, description = "The revocation record", body = revokd::rules::Revocation),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
    ))]
pub async fn logout(
    State(state): State<Shared>,
    _: auth::Admin,
    Path(sub): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let rev = state.revokd.revoke(Target::Subject { iss: None, sub, before_ms: None }, None, "admin").await?;
    crate::telemetry::revocation(rev.kind);
    Ok((StatusCode::CREATED, axum::Json(rev)))
}
