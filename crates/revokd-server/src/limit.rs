//! Rate limits that slow down guessing (API.md): per client IP, failed requests (400,
//! 401) to `/oauth/*`, `/v1/tokens/refresh` and the admin endpoints are counted; past
//! `rate_limit_per_minute`, that IP's unauthenticated requests to those endpoints get
//! 429 `rate_limited` with `Retry-After` until its minute is over. Successful requests
//! never count; an authenticated admin or client is never limited.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;

use crate::app::Shared;
use crate::auth::{self, Caller};
use crate::error::ApiError;

const WINDOW: Duration = Duration::from_secs(60);

/// Failures per IP in the current window.
#[derive(Debug, Default)]
pub struct Failures {
    by_ip: Mutex<HashMap<IpAddr, (Instant, u64)>>,
}

fn guarded(path: &str) -> bool {
    path.starts_with("/oauth/")
        || path == "/v1/tokens"
        || path == "/v1/tokens/refresh"
        || path.starts_with("/v1/revocations")
        || path.starts_with("/v1/subjects/")
}

/// Runs `next` unless the caller's address is over its limit (see the module).
pub async fn limit(state: &Shared, req: Request, next: Next) -> Response {
    let per_minute = state.settings.rate_limit_per_minute;
    if per_minute == 0 || !guarded(req.uri().path()) {
        return next.run(req).await;
    }
    let authenticated = auth::is_admin(state, req.headers())
        || auth::is_feed_reader(state, req.headers())
        || matches!(auth::oauth_caller(state, req.headers()), Caller::Client(_) | Caller::Admin);
    if authenticated {
        return next.run(req).await;
    }
    let Some(ip) = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()) else {
        return next.run(req).await;
    };
    let now = Instant::now();
    {
        let map = state.failures.by_ip.lock();
        if let Some((start, count)) = map.get(&ip)
            && now.duration_since(*start) < WINDOW
            && *count >= per_minute
        {
            let retry = (WINDOW - now.duration_since(*start)).as_secs().max(1);
            let mut res =
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many failed requests; retry later")
                    .into_response();
            if let Ok(v) = HeaderValue::from_str(&retry.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return res;
        }
    }
    let res = next.run(req).await;
    if matches!(res.status(), StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED) {
        let mut map = state.failures.by_ip.lock();
        if map.len() > 100_000 {
            map.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let entry = map.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }
    res
}
