//! The response future of [`RevokdService`](super::RevokdService).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::response::{IntoResponse, Response};
use pin_project_lite::pin_project;

/// A future answering with a body-reading step first (JSON location).
pub(crate) type Buffering<E> = Pin<Box<dyn Future<Output = Result<Response, E>> + Send>>;

pin_project! {
    /// Response future of [`RevokdService`](super::RevokdService): the inner service's
    /// answer, or the layer's own refusal.
    pub struct ResponseFuture<F, E> {
        #[pin]
        kind: Kind<F, E>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, E> {
        Called { #[pin] future: F },
        Answered { response: Option<Response> },
        Buffering { future: Buffering<E> },
    }
}

impl<F, E> ResponseFuture<F, E> {
    pub(crate) fn called(future: F) -> Self {
        ResponseFuture { kind: Kind::Called { future } }
    }

    pub(crate) fn answered(response: Response) -> Self {
        ResponseFuture { kind: Kind::Answered { response: Some(response) } }
    }

    pub(crate) fn buffering(future: Buffering<E>) -> Self {
        ResponseFuture { kind: Kind::Buffering { future } }
    }
}

impl<F, R, E> Future for ResponseFuture<F, E>
where
    F: Future<Output = Result<R, E>>,
    R: IntoResponse,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Called { future } => Poll::Ready(ready!(future.poll(cx)).map(IntoResponse::into_response)),
            // Polled again after completion: an empty answer rather than a panic.
            KindProj::Answered { response } => Poll::Ready(Ok(response.take().unwrap_or_default())),
            KindProj::Buffering { future } => future.as_mut().poll(cx),
        }
    }
}
