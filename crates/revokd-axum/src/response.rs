//! How refusals are answered: JSON by default, each kind replaceable by the application
//! (flask-jwt-extended's loaders), and `WWW-Authenticate` on a 401 for bearer tokens.
//!
//! The default answer is `{"error": "<code>", "message": "<flask-jwt-extended's
//! message>"}`: see the crate docs for where it differs from flask-jwt-extended's and
//! [`flask_jwt_extended_response`] for flask-jwt-extended's own.

use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::rejection::{Rejection, RejectionKind};

/// A replacement answer for one kind of refusal.
pub(crate) type Loader = Arc<dyn Fn(&Rejection) -> Response + Send + Sync>;

/// The application's replacements, one per flask-jwt-extended loader; `None` answers
/// with [`default_response`].
#[derive(Clone, Default)]
pub(crate) struct Responses {
    pub(crate) unauthorized: Option<Loader>,
    pub(crate) invalid_token: Option<Loader>,
    pub(crate) expired_token: Option<Loader>,
    pub(crate) revoked_token: Option<Loader>,
    pub(crate) needs_fresh_token: Option<Loader>,
    pub(crate) token_verification_failed: Option<Loader>,
    pub(crate) user_lookup_error: Option<Loader>,
}

impl Responses {
    /// The answer to `r`: the application's loader for its kind, else the default; a 401
    /// without `WWW-Authenticate` gets one when the refusal is about a `scheme` token.
    pub(crate) fn respond(&self, r: &Rejection, scheme: Option<&str>) -> Response {
        let loader = match r.kind() {
            RejectionKind::Missing | RejectionKind::Csrf => &self.unauthorized,
            RejectionKind::Invalid | RejectionKind::WrongType => &self.invalid_token,
            RejectionKind::Expired => &self.expired_token,
            RejectionKind::Revoked => &self.revoked_token,
            RejectionKind::NeedsFresh => &self.needs_fresh_token,
            RejectionKind::ClaimsRefused => &self.token_verification_failed,
            RejectionKind::UserNotFound => &self.user_lookup_error,
            RejectionKind::Internal | RejectionKind::Unavailable => &None,
        };
        let mut response = match loader {
            Some(f) => f(r),
            None => default_response(r),
        };
        if response.status() == StatusCode::UNAUTHORIZED
            && r.challenge
            && let Some(scheme) = scheme.filter(|s| !s.is_empty())
            && !response.headers().contains_key(header::WWW_AUTHENTICATE)
            && let Some(value) = challenge(r, scheme)
        {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// The `WWW-Authenticate` challenge for `r`: the bare scheme when no token was given
/// (RFC 6750 §3.1), `insufficient_user_authentication` for a token that is not fresh
/// (RFC 9470), `invalid_token` otherwise.
fn challenge(r: &Rejection, scheme: &str) -> Option<HeaderValue> {
    let text = match r.kind() {
        RejectionKind::Missing => scheme.to_owned(),
        RejectionKind::NeedsFresh => format!(
            "{scheme} error=\"insufficient_user_authentication\", error_description=\"A fresh token is required\""
        ),
        _ => {
            // Only visible ASCII other than the quote and backslash fits a quoted string.
            let description: String =
                r.message().chars().filter(|c| c.is_ascii() && (*c == ' ' || c.is_ascii_graphic())).collect();
            let description = description.replace(['"', '\\'], "'");
            format!("{scheme} error=\"invalid_token\", error_description=\"{description}\"")
        }
    };
    HeaderValue::from_str(&text).ok()
}

/// revokd-axum's default answer: `{"error": code, "message": message}` with 401 for
/// every token refusal, 403 when the application's claims check refuses, 500 for a
/// misconfiguration (without details), 503 while the revocation state cannot be known
/// (`on_store_unreachable = refuse`).
pub fn default_response(r: &Rejection) -> Response {
    let status = match r.kind() {
        RejectionKind::ClaimsRefused => StatusCode::FORBIDDEN,
        RejectionKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        RejectionKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::UNAUTHORIZED,
    };
    let message = match r.kind() {
        RejectionKind::Internal => "internal error",
        _ => r.message(),
    };
    json(status, serde_json::json!({ "error": r.code(), "message": message }))
}

/// flask-jwt-extended 4.x's default answer: `{"msg": message}` with its status — 401
/// for a missing token, a CSRF failure, an expired, revoked or non-fresh token and a
/// failed user lookup; 422 for an invalid token or one of the wrong type; 400 when the
/// claims check fails. Install it as a loader to answer exactly as a Flask app does.
pub fn flask_jwt_extended_response(r: &Rejection) -> Response {
    let status = match r.kind() {
        RejectionKind::Invalid | RejectionKind::WrongType => StatusCode::UNPROCESSABLE_ENTITY,
        RejectionKind::ClaimsRefused => StatusCode::BAD_REQUEST,
        RejectionKind::Internal | RejectionKind::Unavailable => return default_response(r),
        _ => StatusCode::UNAUTHORIZED,
    };
    json(status, serde_json::json!({ "msg": r.message() }))
}

fn json(status: StatusCode, body: serde_json::Value) -> Response {
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body.to_string()).into_response()
}
