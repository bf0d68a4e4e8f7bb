//! # revokd-axum
//!
//! flask-jwt-extended's decorators for axum, with revocation checked from process memory
//! and shared by every process that shares a revokd store.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Json, Router, routing::{get, post}};
//! use revokd::{Algorithm, Key, KeySet, Revokd, store::{self, Durability}};
//! use revokd_axum::{Auth, Jwt, RefreshJwt};
//!
//! let keys = KeySet::new().with(Key::hmac("k1", Algorithm::HS256, b"a secret of at least thirty-two bytes!")?)?;
//! let revokd = Revokd::builder(keys, store::open("sqlite://app.db", Durability::Full).await?).build().await?;
//! let auth = Auth::builder(revokd).build()?;
//!
//! let app: Router = Router::new()
//!     .route("/protected", get(|jwt: Jwt| async move { Json(serde_json::json!({"hello": jwt.identity()})) }))
//!     .route("/logout", post(|jwt: Jwt| async move { jwt.revoke().await.map(|_| "bye").map_err(|e| e.to_string()) }))
//!     .route("/refresh", post(|RefreshJwt(jwt): RefreshJwt| async move { jwt.identity().to_owned() }))
//!     .layer(auth.layer());
//! # Ok(()) }
//! ```
//!
//! ## Parts
//! - [`Auth`]: the shared configuration, built with flask-jwt-extended's option names;
//!   [`Auth::issue`] adds the `additional_claims_loader`'s claims and the `csrf` claim;
//!   [`Auth::set_access_cookies`] and the other cookie helpers;
//! - [`RevokdLayer`]: the tower middleware that finds and verifies the token and keeps
//!   the outcome in the request's extensions, or refuses by a [`Requirement`];
//! - extractors: [`Jwt`], [`OptionalJwt`], [`FreshJwt`], [`RefreshJwt`],
//!   [`CurrentUser`]; each gives the handler a [`Token`] (claims, typed custom claims,
//!   [`Token::revoke`], [`Token::revoke_family`], [`Token::revoke_subject`]);
//! - [`Location`]: headers, cookies (CSRF double-submit), query string, JSON body;
//! - [`Rejection`] and the replaceable responses ([`AuthBuilder::revoked_token_loader`]
//!   and the others), [`default_response`], [`flask_jwt_extended_response`].
//!
//! Which token types are checked against revocation is the core's setting
//! ([`revokd::Builder::check_types`]).
//!
//! ## Where the defaults differ from flask-jwt-extended 4.x, and why
//! | | flask-jwt-extended | revokd-axum | why |
//! |---|---|---|---|
//! | refusal body | `{"msg": "…"}` | `{"error": "<code>", "message": "…"}`, the same message | a stable code to branch on, as revokd's service answers; [`AuthBuilder::flask_jwt_extended_responses`] gives flask-jwt-extended's bodies and statuses |
//! | invalid token, wrong type | 422 | 401 `token_invalid`, `token_wrong_type` | RFC 6750 §3.1: a bad token is `invalid_token`, 401 |
//! | claims check failed | 400 | 403 `claims_refused` | the token is valid; the application refuses it |
//! | `WWW-Authenticate` | never | on every 401 about a header token (RFC 6750, RFC 9470 for freshness), added to replaced answers too | a 401 without it breaks RFC 9110 §15.5.2 |
//! | `JWT_COOKIE_SECURE` | `false` | `true` | browsers keep `Secure` cookies on `http://localhost`; elsewhere a token cookie must not travel in clear text |
//! | `JWT_COOKIE_SAMESITE` | not set | `Lax` | what current browsers assume, stated rather than left to each |
//! | `OPTIONS` requests | never checked | checked like any method | a required extractor cannot produce "no token"; answer CORS preflights in a CORS layer before this one |
//! | user lookup | on every protected request | only where a handler takes [`CurrentUser`] | no database call for handlers that do not need the user |
//! | order of checks | type, fresh, revoked | type, revoked, fresh | the core refuses a revoked token before anything else is asked of it |
//! | expired token's claims | given to the loader | not given ([`Rejection::claims`] is `None`) | claims of a token that does not verify are not trusted |
//! | `JWT_CSRF_CHECK_FORM` | available | not available | a form field needs the body read for every cookie request; use the header |
//! | `fresh` as a timestamp | accepted | a boolean only | revokd issues a boolean |
//!
//! Kept as flask-jwt-extended has them: the location names, order and defaults
//! (headers only), cookie, query and JSON key names, CSRF methods and header, the
//! messages (`Missing Authorization Header`, `Token has been revoked`, `Only refresh
//! tokens are allowed`, … — including the query string's `paramater`), and which
//! loader answers which refusal (a CSRF failure is `unauthorized_loader`'s, a token of
//! the wrong type `invalid_token_loader`'s).
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

mod auth;
mod cookies;
mod error;
mod extract;
mod layer;
mod location;
mod rejection;
mod response;
mod token;

pub use auth::{Auth, AuthBuilder};
pub use cookie::SameSite;
pub use error::{Error, Result};
pub use extract::{CurrentUser, FreshJwt, Jwt, OptionalJwt, RefreshJwt};
pub use layer::{Requirement, ResponseFuture, RevokdLayer, RevokdService};
pub use location::Location;
pub use rejection::{Rejection, RejectionKind};
pub use response::{default_response, flask_jwt_extended_response};
pub use token::Token;
