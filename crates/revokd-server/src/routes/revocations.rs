//! `/v1/revocations`: create (admin), remove (admin), the feed and the snapshot
//! (admin or feed readers).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use revokd::Target;
use revokd::rules::{Event, Revocation};
use revokd::store::Snapshot;
use revokd::store::StoreError;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::Shared;
use crate::auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};
use crate::openapi::ErrorBody;

/// Body of `POST /v1/revocations`: exactly one of `jti`, `token`, `sub` (with
/// `before`), `family`, `all_before`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// Revoke one token by its id (with `iss` for a foreign issuer's token).
    jti: Option<String>,
    /// Revoke the token given (verified first; its exact `exp` bounds the rule).
    token: Option<String>,
    /// Revoke a subject's tokens issued at or before `before` (default now).
    sub: Option<String>,
    /// The subject cutoff, unix seconds (a millisecond fraction is kept).
    before: Option<f64>,
    /// Revoke every token of a refresh family (cannot be undone).
    family: Option<String>,
    /// Revoke every token issued at or before this instant, unix seconds.
    all_before: Option<f64>,
    /// The issuer of a foreign token (`[[issuers]]`), with `jti` or `sub`; none = ours.
    iss: Option<String>,
    /// Why, kept in the record.
    reason: Option<String>,
}

fn secs_to_ms(key: &str, v: f64) -> ApiResult<u64> {
    if !v.is_finite() || !(0.0..=1.0e11).contains(&v) {
        return Err(ApiError::invalid(format!("`{key}` must be unix seconds")));
    }
    Ok((v * 1000.0).round() as u64)
}

/// Creates a revocation: 201 with its record. Durable before it is answered.
#[utoipa::path(post, path = "/v1/revocations", tag = "revocations", security(("admin" = [])),
    request_body = CreateBody,
    responses(
        (status = 201, description = "The revocation record", body = Revocation),
        (status = 400, description = "`invalid_request`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<Shared>,
    _: auth::Admin,
    Json(b): Json<CreateBody>,
) -> ApiResult<impl IntoResponse> {
    let given = [b.jti.is_some(), b.token.is_some(), b.sub.is_some(), b.family.is_some(), b.all_before.is_some()]
        .iter()
        .filter(|x| **x)
        .count();
    if given != 1 {
        return Err(ApiError::invalid("give exactly one of `jti`, `token`, `sub`, `family`, `all_before`"));
    }
    if b.before.is_some() && b.sub.is_none() {
        return Err(ApiError::invalid("`before` goes with `sub`"));
    }
    if b.iss.is_some() && (b.family.is_some() || b.all_before.is_some() || b.token.is_some()) {
        return Err(ApiError::invalid("`iss` goes with `jti` or `sub`"));
    }
    let r = &state.revokd;
    let reason = b.reason;
    let rev = if let Some(token) = b.token {
        r.revoke_token(&token, reason, "admin").await.map_err(|e| {
            if e.is_token_error() { ApiError::invalid(format!("the token cannot be revoked: {e}")) } else { e.into() }
        })?
    } else {
        let target = if let Some(jti) = b.jti {
            Target::Jti { iss: b.iss, jti, exp: None }
        } else if let Some(sub) = b.sub {
            let before_ms = b.before.map(|v| secs_to_ms("before", v)).transpose()?;
            Target::Subject { iss: b.iss, sub, before_ms }
        } else if let Some(fam) = b.family {
            Target::Family { fam }
        } else {
            let before = b.all_before.map(|v| secs_to_ms("all_before", v)).transpose()?;
            Target::All { before_ms: before }
        };
        r.revoke(target, reason, "admin").await?
    };
    crate::telemetry::revocation(rev.kind);
    Ok((StatusCode::CREATED, axum::Json(rev)))
}

/// Removes a `jti` or `subject` revocation: 204.
#[utoipa::path(delete, path = "/v1/revocations/{id}", tag = "revocations", security(("admin" = [])),
    params(("id" = String, Path, description = "The revocation's `id`")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 404, description = "`not_found`: no live revocation with that id", body = ErrorBody),
        (status = 409, description = "`not_reversible`: a `family` or `all` rule", body = ErrorBody),
    ))]
pub async fn remove(State(state): State<Shared>, _: auth::Admin, Path(id): Path<String>) -> ApiResult<StatusCode> {
    state.revokd.unrevoke(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `?since=&limit=` of the feed.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// Events after this sequence number; default 0.
    since: Option<u64>,
    /// Page size: default 100, at most 1000.
    limit: Option<usize>,
}

/// A page of the feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedPage {
    /// Events with `seq` > `since`, ascending.
    events: Vec<Event>,
    /// Where to continue: the last event's `seq`, or `since` when there are none.
    next: u64,
}

fn feed_gone() -> ApiError {
    ApiError::new(StatusCode::GONE, "feed_gone", "that position was pruned; load the snapshot and follow from its seq")
}

/// Events with seq > `since`, ascending.
#[utoipa::path(get, path = "/v1/revocations", tag = "revocations", security(("admin" = []), ("feed" = [])),
    params(FeedQuery),
    responses(
        (status = 200, description = "A page of events", body = FeedPage),
        (status = 400, description = "`invalid_request`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 410, description = "`feed_gone`: that position was pruned; load the snapshot", body = ErrorBody),
    ))]
pub async fn feed(
    State(state): State<Shared>,
    _: auth::FeedReader,
    Query(q): Query<FeedQuery>,
) -> ApiResult<impl IntoResponse> {
    let since = q.since.unwrap_or(0);
    let limit = super::page_limit(q.limit)?;
    let events = match state.revokd.store().events_after(since, limit).await {
        Ok(e) => e,
        Err(StoreError::FeedGone { .. }) => return Err(feed_gone()),
        Err(e) => return Err(revokd::Error::Store(e).into()),
    };
    let next = events.last().map_or(since, |e| e.seq);
    Ok(axum::Json(FeedPage { events, next }))
}

/// Every live rule as of `seq`: load it, then follow the feed from `seq`.
#[utoipa::path(get, path = "/v1/revocations/snapshot", tag = "revocations", security(("admin" = []), ("feed" = [])),
    responses(
        (status = 200, description = "The live rules", body = Snapshot),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
    ))]
pub async fn snapshot(State(state): State<Shared>, _: auth::FeedReader) -> ApiResult<impl IntoResponse> {
    let snap = state.revokd.store().snapshot().await.map_err(revokd::Error::Store)?;
    Ok(axum::Json(snap))
}

/// How often an idle stream looks for events written by other processes.
const STREAM_POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// `GET /v1/revocations/stream`: the feed as Server-Sent Events (`id:` seq, `event:` op,
/// `data:` the event), resuming after `Last-Event-ID`; a comment every 15 s keeps it open.
#[utoipa::path(get, path = "/v1/revocations/stream", tag = "revocations", security(("admin" = []), ("feed" = [])),
    params(("Last-Event-ID" = Option<u64>, Header, description = "Resume after this sequence number")),
    responses(
        (status = 200, description = "Server-Sent Events: `id` = seq, `event` = `revoke` or `unrevoke`, `data` = \
            the event as JSON", content_type = "text/event-stream", body = Event),
        (status = 400, description = "`invalid_request`: a malformed `Last-Event-ID`", body = ErrorBody),
        (status = 401, description = "`unauthorized`", body = ErrorBody),
        (status = 410, description = "`feed_gone`", body = ErrorBody),
    ))]
pub async fn stream(
    State(state): State<Shared>,
    _: auth::FeedReader,
    headers: axum::http::HeaderMap,
) -> ApiResult<axum::response::Response> {
    use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};

    let since = match headers.get("last-event-id") {
        None => 0,
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .ok_or_else(|| ApiError::invalid("Last-Event-ID must be a sequence number"))?,
    };
    // A pruned position is refused before the stream starts: read the snapshot instead.
    let first = match state.revokd.store().events_after(since, 100).await {
        Ok(e) => e,
        Err(StoreError::FeedGone { .. }) => return Err(feed_gone()),
        Err(e) => return Err(revokd::Error::Store(e).into()),
    };
    let closing = state.closing.subscribe();
    let start = (state, since, std::collections::VecDeque::from(first), closing);
    let events = futures_util::stream::unfold(start, |(state, mut since, mut pending, mut closing)| async move {
        loop {
            if *closing.borrow() {
                return None;
            }
            if let Some(e) = pending.pop_front() {
                since = e.seq;
                let op = match e.op {
                    revokd::rules::Op::Revoke => "revoke",
                    revokd::rules::Op::Unrevoke => "unrevoke",
                };
                let ev = SseEvent::default().id(e.seq.to_string()).event(op).json_data(&e);
                return Some((ev, (state, since, pending, closing)));
            }
            let store = state.revokd.store();
            tokio::select! {
                _ = closing.changed() => return None,
                _ = store.wait_for_change(since, STREAM_POLL) => {}
            }
            match store.events_after(since, 100).await {
                Ok(v) => pending.extend(v),
                // The reader fell behind the pruned watermark: end; a reconnect gets 410.
                Err(StoreError::FeedGone { .. }) => return None,
                Err(e) => {
                    tracing::warn!(error = %e, "feed stream cannot read the store");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
        }
    });
    Ok(axum::response::IntoResponse::into_response(
        Sse::new(events).keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(15)).text("keep-alive")),
    ))
}
