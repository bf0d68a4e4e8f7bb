//! Why a request's token was refused: one [`Rejection`], its [`RejectionKind`] choosing
//! which replaceable response answers it.

use std::sync::Arc;

use revokd::{Claims, TokenType};

/// What kind of refusal. Each kind is answered by one replaceable response, named after
/// flask-jwt-extended's loader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectionKind {
    /// No token in any configured location (`unauthorized_loader`).
    Missing,
    /// The CSRF double-submit check failed: no CSRF header, or one that differs from the
    /// token's `csrf` claim (`unauthorized_loader`, as in flask-jwt-extended).
    Csrf,
    /// Malformed, badly signed, of a foreign issuer or audience, not yet valid, or a
    /// badly formed header or query value (`invalid_token_loader`).
    Invalid,
    /// An access token where a refresh token is required, or the other way round
    /// (`invalid_token_loader`, as in flask-jwt-extended).
    WrongType,
    /// The token has expired (`expired_token_loader`).
    Expired,
    /// The token has been revoked (`revoked_token_loader`).
    Revoked,
    /// A fresh token is required and this one is not (`needs_fresh_token_loader`).
    NeedsFresh,
    /// The application's claims check, or the handler's typed custom claims, refused the
    /// token (`token_verification_failed_loader`).
    ClaimsRefused,
    /// The `user_lookup_loader` found no user for the token (`user_lookup_error_loader`).
    UserNotFound,
    /// The application is misconfigured (the layer is not installed, no user lookup is
    /// set): answered 500 without details.
    Internal,
    /// The revocation state cannot be known now: the store is unreachable and the
    /// library runs with `on_store_unreachable = refuse` ([`revokd::OnUnreachable`]).
    /// Answered 503 `unavailable`: the token may be perfectly good, so clients keep it
    /// and retry.
    Unavailable,
}

/// A refusal: its kind, a stable code, flask-jwt-extended's message, and the claims
/// when the token verified far enough to have trustworthy ones.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct Rejection {
    kind: RejectionKind,
    code: &'static str,
    message: String,
    claims: Option<Arc<Claims>>,
    pub(crate) challenge: bool,
}

impl Rejection {
    pub(crate) fn new(kind: RejectionKind, code: &'static str, message: impl Into<String>) -> Self {
        Rejection { kind, code, message: message.into(), claims: None, challenge: false }
    }

    pub(crate) fn missing(message: impl Into<String>) -> Self {
        Rejection::new(RejectionKind::Missing, "token_missing", message)
    }

    pub(crate) fn csrf(message: &'static str) -> Self {
        Rejection::new(RejectionKind::Csrf, "token_invalid", message)
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Rejection::new(RejectionKind::Invalid, "token_invalid", message)
    }

    pub(crate) fn internal(message: &'static str) -> Self {
        Rejection::new(RejectionKind::Internal, "internal", message)
    }

    pub(crate) fn needs_fresh(claims: Arc<Claims>) -> Self {
        Rejection::new(RejectionKind::NeedsFresh, "fresh_token_required", "Fresh token required").with_claims(claims)
    }

    pub(crate) fn claims_refused(claims: Arc<Claims>) -> Self {
        Rejection::new(RejectionKind::ClaimsRefused, "claims_refused", "User claims verification failed")
            .with_claims(claims)
    }

    pub(crate) fn user_not_found(claims: Arc<Claims>) -> Self {
        let message = format!("Error loading the user {}", claims.sub);
        Rejection::new(RejectionKind::UserNotFound, "user_not_found", message).with_claims(claims)
    }

    /// The refusal of a token the core did not verify.
    pub(crate) fn from_verify(e: &revokd::Error) -> Self {
        match e {
            revokd::Error::TokenExpired => Rejection::new(RejectionKind::Expired, "token_expired", "Token has expired"),
            revokd::Error::TokenRevoked => {
                Rejection::new(RejectionKind::Revoked, "token_revoked", "Token has been revoked")
            }
            revokd::Error::WrongTokenType { expected, .. } => {
                let message = match expected {
                    TokenType::Access => "Only non-refresh tokens are allowed",
                    TokenType::Refresh => "Only refresh tokens are allowed",
                };
                Rejection::new(RejectionKind::WrongType, "token_wrong_type", message)
            }
            // PyJWT's wording, as flask-jwt-extended answers it.
            revokd::Error::TokenNotYetValid => {
                Rejection::new(RejectionKind::Invalid, "token_not_yet_valid", "The token is not yet valid (nbf)")
            }
            revokd::Error::NotReady => Rejection::new(
                RejectionKind::Unavailable,
                "unavailable",
                "The revocation state cannot be checked now; try again",
            ),
            other => Rejection::new(RejectionKind::Invalid, "token_invalid", other.to_string()),
        }
    }

    /// Marks a refusal that gets a `WWW-Authenticate` challenge (the token came, or
    /// could have come, from the `Authorization` header).
    pub(crate) fn with_challenge(mut self, on: bool) -> Self {
        self.challenge = on;
        self
    }

    pub(crate) fn with_claims(mut self, claims: Arc<Claims>) -> Self {
        self.claims = Some(claims);
        self
    }

    /// What kind of refusal this is.
    pub fn kind(&self) -> RejectionKind {
        self.kind
    }

    /// The stable code of the default answer: `token_missing`, `token_invalid`,
    /// `token_expired`, `token_not_yet_valid`, `token_revoked`, `token_wrong_type`,
    /// `fresh_token_required`, `claims_refused`, `user_not_found` or `internal`.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// flask-jwt-extended's message for this refusal (`Missing Authorization Header`,
    /// `Token has been revoked`, …); for an invalid token, the reason.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The token's claims, when it verified before it was refused (revoked, not fresh,
    /// claims refused, no user); `None` for a token that did not verify.
    pub fn claims(&self) -> Option<&Claims> {
        self.claims.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;
    use crate::response::{default_response, flask_jwt_extended_response};

    #[test]
    fn an_unknowable_revocation_state_is_a_503_not_a_bad_token() {
        let r = Rejection::from_verify(&revokd::Error::NotReady);
        assert_eq!((r.kind(), r.code()), (RejectionKind::Unavailable, "unavailable"));
        assert_eq!(default_response(&r).status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(flask_jwt_extended_response(&r).status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
