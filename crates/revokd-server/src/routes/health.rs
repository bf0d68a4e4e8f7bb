//! `/healthz` and `/readyz`.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::app::Shared;

/// 200 while the process serves.
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// 200 once the index is loaded. The state exists only after the load, so a running
/// router is ready; the answer also says where the feed stands.
pub async fn readyz(State(state): State<Shared>) -> Json<Value> {
    Json(json!({
        "status": "ready",
        "seq": state.revokd.applied_seq(),
        "store_reachable": state.revokd.store_reachable(),
    }))
}
