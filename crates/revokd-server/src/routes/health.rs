//! `/healthz` and `/readyz`.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use axum::http::StatusCode;

use crate::app::Shared;
use crate::error::ApiError;

/// The answer of `/healthz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    status: &'static str,
}

/// The answer of `/readyz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ready {
    /// `ready`.
    status: &'static str,
    /// The last feed event applied to this instance's index.
    seq: u64,
    /// Whether the store answered the last time it was asked.
    store_reachable: bool,
}

/// 200 while the process serves.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// 200 once the index is loaded, and while checks are answered: in
/// `on_store_unreachable = "refuse"` mode, 503 while the store cannot be reached. The
/// answer also says where the feed stands.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, description = "The index is loaded", body = Ready),
    (status = 503, description = "`unavailable`: still starting (the index is loading), or the store is \
        unreachable in `refuse` mode", body = crate::openapi::ErrorBody),
))]
pub async fn readyz(State(state): State<Shared>) -> Result<Json<Ready>, ApiError> {
    if !state.revokd.ready() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the store is unreachable and on_store_unreachable is \"refuse\"",
        ));
    }
    Ok(Json(Ready {
        status: "ready",
        seq: state.revokd.applied_seq(),
        store_reachable: state.revokd.store_reachable(),
    }))
}
