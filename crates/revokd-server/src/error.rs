//! HTTP errors from one table: every error has a stable code and status, and bodies
//! never leak internals (API.md, "HTTP conventions").

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::openapi::{ErrorBody, OAuthErrorBody};

/// An error answer: `{"error": code, "message": sentence}`, or the RFC 6749 shape on
/// `/oauth/*`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    www_authenticate: Option<String>,
    oauth: bool,
}

impl ApiError {
    /// An error with a status, a stable code and a message for people.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), www_authenticate: None, oauth: false }
    }

    /// 400 `invalid_request`.
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    /// 401 `unauthorized` (admin endpoints).
    pub fn unauthorized() -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "a valid admin token is required")
            .www_authenticate("Bearer realm=\"revokd\"")
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 500 `internal`, with no details (they go to the log).
    pub fn internal() -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
    }

    /// Adds a `WWW-Authenticate` header.
    pub fn www_authenticate(mut self, value: impl Into<String>) -> Self {
        self.www_authenticate = Some(value.into());
        self
    }

    /// Answers in the RFC 6749 §5.2 shape (`error`, `error_description`).
    pub fn oauth(mut self) -> Self {
        self.oauth = true;
        self
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The answer to a token that failed verification, as `/v1/verify` gives it.
    pub fn token(e: &revokd::Error) -> Self {
        let code = e.public_code();
        let message = match code {
            "token_expired" => "the token has expired",
            "token_not_yet_valid" => "the token is not valid yet",
            "token_revoked" => "the token has been revoked",
            "token_wrong_type" => "a refresh token cannot be used here",
            "fresh_token_required" => "a fresh token is required",
            "token_invalid" => "the token is invalid",
            _ => return ApiError::from(e),
        };
        let err = ApiError::new(StatusCode::UNAUTHORIZED, code, message);
        if code == "fresh_token_required" {
            err.www_authenticate(format!(
                "Bearer error=\"insufficient_user_authentication\", error_description=\"{message}\""
            ))
        } else {
            err.www_authenticate(format!("Bearer error=\"invalid_token\", error_description=\"{message}\""))
        }
    }
}

impl From<&revokd::Error> for ApiError {
    fn from(e: &revokd::Error) -> Self {
        use revokd::Error as E;
        match e {
            E::InvalidRequest(m) => ApiError::invalid(m.clone()),
            E::ReservedClaim(n) => {
                ApiError::new(StatusCode::BAD_REQUEST, "reserved_claim", format!("claim `{n}` is reserved"))
            }
            E::NotFound => ApiError::not_found("no such revocation"),
            E::NotReversible => {
                ApiError::new(StatusCode::CONFLICT, "not_reversible", "this revocation cannot be undone")
            }
            E::NotReady => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "not ready"),
            E::Store(s) if s.is_unavailable() => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the store is unavailable")
            }
            e if e.is_token_error() => ApiError::token(e),
            other => {
                tracing::error!(error = %other, "internal error");
                ApiError::internal()
            }
        }
    }
}

impl From<revokd::Error> for ApiError {
    fn from(e: revokd::Error) -> Self {
        ApiError::from(&e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let error = self.code.to_owned();
        let mut res = if self.oauth {
            (self.status, axum::Json(OAuthErrorBody { error, error_description: self.message })).into_response()
        } else {
            (self.status, axum::Json(ErrorBody { error, message: self.message })).into_response()
        };
        if let Some(v) = self.www_authenticate.and_then(|v| HeaderValue::from_str(&v).ok()) {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        res
    }
}

/// Result of handlers.
pub type ApiResult<T> = Result<T, ApiError>;
