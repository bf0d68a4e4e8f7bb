//! The tower middleware, in tower-http's three parts: [`RevokdLayer`], [`RevokdService`]
//! and [`ResponseFuture`]. Usable in front of any tower service taking an HTTP request.
//!
//! Without a [`Requirement`] the layer verifies each request's access token and keeps
//! the outcome in the request's extensions — an `Arc<`[`Token`](crate::Token)`>`, or the
//! [`Rejection`](crate::Rejection) — for the extractors or any inner service, refusing
//! nothing. With one it answers a
//! request that does not meet it itself, without calling the inner service.

mod future;
mod service;

pub use future::ResponseFuture;
pub use service::RevokdService;

use tower::Layer;

use crate::auth::Auth;

/// What a request must carry to reach the inner service (flask-jwt-extended's
/// `jwt_required` arguments).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Requirement {
    /// A valid access token (`@jwt_required()`).
    Access,
    /// A valid access token, or none at all; a bad one is still refused
    /// (`@jwt_required(optional=True)`).
    Optional,
    /// A valid, fresh access token (`@jwt_required(fresh=True)`).
    Fresh,
    /// A valid refresh token, verified but not consumed (`@jwt_required(refresh=True)`).
    Refresh,
}

/// Applies [`RevokdService`] to a service.
#[derive(Debug, Clone)]
#[must_use]
pub struct RevokdLayer {
    auth: Auth,
    require: Option<Requirement>,
}

impl RevokdLayer {
    /// A layer that verifies and records, refusing nothing itself.
    pub fn new(auth: Auth) -> Self {
        RevokdLayer { auth, require: None }
    }

    /// Refuses, in the layer, requests that do not meet `requirement`, answering with the
    /// configured responses. Defaults to none: the extractors decide.
    pub fn require(mut self, requirement: Requirement) -> Self {
        self.require = Some(requirement);
        self
    }
}

impl<S> Layer<S> for RevokdLayer {
    type Service = RevokdService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RevokdService::new(inner, self.auth.clone(), self.require)
    }
}
