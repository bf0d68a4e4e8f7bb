//! [`RevokdService`]: finds and verifies the token, records the outcome, and refuses
//! what the layer's requirement does not allow.

use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::http::request::Parts;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Limited};
use revokd::TokenType;
use tower::{BoxError, Service};

use super::Requirement;
use super::future::ResponseFuture;
use crate::auth::{Auth, Outcome};
use crate::location::is_json;
use crate::rejection::{Rejection, RejectionKind};

/// The middleware [`RevokdLayer`](super::RevokdLayer) applies. Passes requests on with
/// an [`axum::body::Body`], and answers with an [`axum::response::Response`].
#[derive(Debug, Clone)]
pub struct RevokdService<S> {
    inner: S,
    auth: Auth,
    require: Option<Requirement>,
}

impl<S> RevokdService<S> {
    pub(crate) fn new(inner: S, auth: Auth, require: Option<Requirement>) -> Self {
        RevokdService { inner, auth, require }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, consuming the middleware.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

/// Verifies the request's token for `require`, records the outcome in its extensions,
/// and returns the refusal to answer with, if any.
fn decide(auth: &Auth, require: Option<Requirement>, parts: &mut Parts) -> Option<Response> {
    parts.extensions.insert(auth.clone());
    let ty = if require == Some(Requirement::Refresh) { TokenType::Refresh } else { TokenType::Access };
    let result = auth.authenticate(parts, ty);
    let refusal = match (&result, require) {
        (_, None) => None,
        (Err(r), Some(Requirement::Optional)) if r.kind() == RejectionKind::Missing => None,
        (Err(r), Some(_)) => Some(auth.respond(r)),
        (Ok(t), Some(Requirement::Fresh)) if !t.claims().fresh => {
            Some(auth.respond(&Rejection::needs_fresh(t.shared_claims()).with_challenge(true)))
        }
        (Ok(_), Some(_)) => None,
    };
    // Public for any tower service: the token, or why there is none.
    match &result {
        Ok(t) => {
            parts.extensions.insert(std::sync::Arc::clone(t));
        }
        Err(r) => {
            parts.extensions.insert(r.clone());
        }
    }
    parts.extensions.insert(Outcome { ty, result });
    refusal
}

fn body_refused(status: StatusCode, code: &str, message: &str) -> Response {
    (status, [("content-type", "application/json")], serde_json::json!({"error": code, "message": message}).to_string())
        .into_response()
}

impl<S, B> Service<Request<B>> for RevokdService<S>
where
    S: Service<Request<Body>> + Clone + Send + 'static,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let (mut parts, body) = req.into_parts();
        if let Some(limit) = self.auth.json_body_limit()
            && is_json(&parts.headers)
        {
            // The token may be in the body: read it (bounded), then pass it on unchanged.
            let clone = self.inner.clone();
            let mut inner = std::mem::replace(&mut self.inner, clone);
            let (auth, require) = (self.auth.clone(), self.require);
            return ResponseFuture::buffering(Box::pin(async move {
                let bytes = match Limited::new(body, limit).collect().await {
                    Ok(collected) => collected.to_bytes(),
                    Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                        return Ok(body_refused(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            "payload_too_large",
                            "the request body is too large",
                        ));
                    }
                    Err(_) => {
                        return Ok(body_refused(StatusCode::BAD_REQUEST, "invalid_request", "unreadable body"));
                    }
                };
                parts.extensions.insert(auth.lookup().json_tokens(&bytes));
                if let Some(refusal) = decide(&auth, require, &mut parts) {
                    return Ok(refusal);
                }
                inner.call(Request::from_parts(parts, Body::from(bytes))).await.map(IntoResponse::into_response)
            }));
        }
        match decide(&self.auth, self.require, &mut parts) {
            Some(refusal) => ResponseFuture::answered(refusal),
            None => ResponseFuture::called(self.inner.call(Request::from_parts(parts, Body::new(body)))),
        }
    }
}
