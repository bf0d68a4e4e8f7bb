//! The axum extractors, flask-jwt-extended's decorators as handler arguments:
//! [`Jwt`] (`@jwt_required()`), [`OptionalJwt`] (`optional=True`), [`FreshJwt`]
//! (`fresh=True`), [`RefreshJwt`] (`refresh=True`) and [`CurrentUser`]
//! (`current_user`). Each needs the layer ([`Auth::layer`]) on the route.
//!
//! The custom claims come typed: `Jwt<MyClaims>` deserializes them into `MyClaims`,
//! and a token whose claims do not fit is refused (`token_verification_failed_loader`).

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::Response;
use revokd::TokenType;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::auth::Auth;
use crate::rejection::{Rejection, RejectionKind};
use crate::response::default_response;
use crate::token::Token;

/// A valid access token (`@jwt_required()`): the verified [`Token`] and its custom claims
/// as `C` (all of them, as a JSON map, by default).
#[derive(Debug, Clone)]
pub struct Jwt<C = Map<String, Value>> {
    /// The custom claims.
    pub custom: C,
    /// The verified token: claims, location, revocation.
    pub token: Arc<Token>,
}

impl<C> Deref for Jwt<C> {
    type Target = Token;

    fn deref(&self) -> &Token {
        &self.token
    }
}

impl<C: DeserializeOwned> Jwt<C> {
    fn new(token: Arc<Token>) -> Result<Self, Rejection> {
        let custom = token.custom::<C>().map_err(|_| Rejection::claims_refused(token.shared_claims()))?;
        Ok(Jwt { custom, token })
    }
}

/// The request's verified token of type `ty`, and the [`Auth`] that answers its
/// refusal; without the layer, the refusal is a misconfiguration.
fn token_of(parts: &mut Parts, ty: TokenType) -> (Option<Auth>, Result<Arc<Token>, Rejection>) {
    match parts.extensions.get::<Auth>().cloned() {
        Some(auth) => {
            let result = auth.outcome(parts, ty);
            (Some(auth), result)
        }
        None => (None, Err(Rejection::internal("the revokd-axum layer is not installed on this route"))),
    }
}

/// The answer to `r`: the application's, or the default without the layer.
fn respond(auth: Option<&Auth>, r: &Rejection) -> Response {
    match auth {
        Some(a) => a.respond(r),
        None => default_response(r),
    }
}

impl<S: Send + Sync, C: DeserializeOwned> FromRequestParts<S> for Jwt<C> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Response> {
        let (auth, result) = token_of(parts, TokenType::Access);
        result.and_then(Jwt::new).map_err(|r| respond(auth.as_ref(), &r))
    }
}

/// An access token if the request has one (`@jwt_required(optional=True)`): `None`
/// without a token; a bad, expired or revoked one is still refused.
#[derive(Debug, Clone)]
pub struct OptionalJwt<C = Map<String, Value>>(pub Option<Jwt<C>>);

impl<S: Send + Sync, C: DeserializeOwned> FromRequestParts<S> for OptionalJwt<C> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Response> {
        let (auth, result) = token_of(parts, TokenType::Access);
        match result {
            Err(r) if r.kind() == RejectionKind::Missing => Ok(OptionalJwt(None)),
            other => other.and_then(Jwt::new).map(|j| OptionalJwt(Some(j))).map_err(|r| respond(auth.as_ref(), &r)),
        }
    }
}

/// A valid, fresh access token (`@jwt_required(fresh=True)`): one issued straight from a
/// login, not from a refresh.
#[derive(Debug, Clone)]
pub struct FreshJwt<C = Map<String, Value>>(pub Jwt<C>);

impl<C> Deref for FreshJwt<C> {
    type Target = Jwt<C>;

    fn deref(&self) -> &Jwt<C> {
        &self.0
    }
}

impl<S: Send + Sync, C: DeserializeOwned> FromRequestParts<S> for FreshJwt<C> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Response> {
        let (auth, result) = token_of(parts, TokenType::Access);
        let checked = result.and_then(|t| {
            if t.claims().fresh {
                Ok(t)
            } else {
                Err(Rejection::needs_fresh(t.shared_claims())
                    .with_challenge(t.location() == crate::location::Location::Headers))
            }
        });
        checked.and_then(Jwt::new).map(FreshJwt).map_err(|r| respond(auth.as_ref(), &r))
    }
}

/// A valid refresh token (`@jwt_required(refresh=True)`), verified (revocation included)
/// but not consumed: whether to rotate it is the handler's call.
#[derive(Debug, Clone)]
pub struct RefreshJwt<C = Map<String, Value>>(pub Jwt<C>);

impl<C> Deref for RefreshJwt<C> {
    type Target = Jwt<C>;

    fn deref(&self) -> &Jwt<C> {
        &self.0
    }
}

impl<S: Send + Sync, C: DeserializeOwned> FromRequestParts<S> for RefreshJwt<C> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Response> {
        let (auth, result) = token_of(parts, TokenType::Refresh);
        result.and_then(Jwt::new).map(RefreshJwt).map_err(|r| respond(auth.as_ref(), &r))
    }
}

/// The application's user for a valid access token, from the `user_lookup_loader`
/// (flask-jwt-extended's `current_user`); refused when it finds none.
#[derive(Debug, Clone)]
pub struct CurrentUser<U>(pub U);

impl<S: Send + Sync, U: Clone + Send + Sync + 'static> FromRequestParts<S> for CurrentUser<U> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Response> {
        let Some(auth) = parts.extensions.get::<Auth>().cloned() else {
            return Err(default_response(&Rejection::internal("the revokd-axum layer is not installed on this route")));
        };
        let token = auth.outcome(parts, TokenType::Access).map_err(|r| auth.respond(&r))?;
        let user = auth.load_user(token).await.map_err(|r| auth.respond(&r))?;
        match user.downcast_ref::<U>() {
            Some(u) => Ok(CurrentUser(u.clone())),
            None => Err(auth.respond(&Rejection::internal("the user_lookup_loader returns another type"))),
        }
    }
}
