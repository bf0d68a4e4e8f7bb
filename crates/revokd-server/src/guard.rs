//! The limits every request passes, in one middleware (one boxed future per request
//! rather than one per limit): header size (431), the rate limits on guessing (429, see
//! [`crate::limit`]), and the request deadline (503). `/v1/verify` reads no body and
//! waits on nothing, so it skips the deadline's timer.
//!
//! It also keeps HTTP/1.1 connections honest: when a request's body was not read to its
//! end (an early 401 before the body, say), the connection cannot be reused, so the
//! answer says `Connection: close` instead of the connection silently dropping.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::app::Shared;
use crate::error::ApiError;

/// A request body that records when it has been read to its end.
struct Tracked {
    inner: Body,
    done: Arc<AtomicBool>,
}

impl HttpBody for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.done.store(true, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

fn is_verify(path: &str) -> bool {
    path.strip_prefix("/v1/verify").is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The middleware.
pub async fn guard(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let total: usize = req.headers().iter().map(|(k, v)| k.as_str().len() + v.len()).sum();
    let has_body = !req.body().is_end_stream();
    if total > state.settings.max_header_bytes {
        let mut res = ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            "the request headers are too large",
        )
        .into_response();
        if has_body {
            res.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        crate::telemetry::limited(req.method(), res.status().as_u16());
        return res;
    }
    if !has_body && is_verify(req.uri().path()) {
        return next.run(req).await;
    }
    let read = Arc::new(AtomicBool::new(!has_body));
    let req = if has_body {
        let (parts, body) = req.into_parts();
        Request::from_parts(parts, Body::new(Tracked { inner: body, done: Arc::clone(&read) }))
    } else {
        req
    };
    let limit = Duration::from_secs(state.settings.request_timeout);
    let method = req.method().clone();
    let mut res = match tokio::time::timeout(limit, crate::limit::limit(&state, req, next)).await {
        // 429 comes only from the rate limits, before any route
        Ok(res) if res.status() == StatusCode::TOO_MANY_REQUESTS => {
            crate::telemetry::limited(&method, 429);
            res
        }
        Ok(res) => res,
        Err(_) => {
            crate::telemetry::limited(&method, 503);
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the request took too long").into_response()
        }
    };
    if !read.load(Ordering::Relaxed) {
        res.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    res
}
