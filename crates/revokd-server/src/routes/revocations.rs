//! `/v1/revocations`: create (admin), remove (admin), the feed and the snapshot
//! (admin or feed readers).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use revokd::Target;
use revokd::store::StoreError;
use serde::Deserialize;
use serde_json::json;

use crate::app::Shared;
use crate::auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Path, Query};

/// Body of `POST /v1/revocations`: exactly one of `jti`, `token`, `sub` (with
/// `before`), `family`, `all_before`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    jti: Option<String>,
    token: Option<String>,
    sub: Option<String>,
    before: Option<f64>,
    family: Option<String>,
    all_before: Option<f64>,
    iss: Option<String>,
    reason: Option<String>,
}

fn secs_to_ms(key: &str, v: f64) -> ApiResult<u64> {
    if !v.is_finite() || !(0.0..=1.0e11).contains(&v) {
        return Err(ApiError::invalid(format!("`{key}` must be unix seconds")));
    }
    Ok((v * 1000.0).round() as u64)
}

/// Creates a revocation: 201 with its record.
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
pub async fn remove(State(state): State<Shared>, _: auth::Admin, Path(id): Path<String>) -> ApiResult<StatusCode> {
    state.revokd.unrevoke(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `?since=&limit=` of the feed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    since: Option<u64>,
    limit: Option<usize>,
}

fn feed_gone() -> ApiError {
    ApiError::new(StatusCode::GONE, "feed_gone", "that position was pruned; load the snapshot and follow from its seq")
}

/// Events with seq > `since`, ascending.
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
    Ok(axum::Json(json!({"events": events, "next": next})))
}

/// Every live rule as of `seq`.
pub async fn snapshot(State(state): State<Shared>, _: auth::FeedReader) -> ApiResult<impl IntoResponse> {
    let snap = state.revokd.store().snapshot().await.map_err(revokd::Error::Store)?;
    Ok(axum::Json(json!({"seq": snap.seq, "rules": snap.rules})))
}

/// How often an idle stream looks for events written by other processes.
const STREAM_POLL: std::time::Duration = std::time::Duration::from_millis(100);

/// `GET /v1/revocations/stream`: the feed as Server-Sent Events (`id:` seq, `event:` op,
/// `data:` the event), resuming after `Last-Event-ID`; a comment every 15 s keeps it open.
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
