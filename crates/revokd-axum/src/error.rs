//! The crate's error type: configuration mistakes and the core's refusals.

/// What can go wrong outside of a request's refusal (those are [`Rejection`](crate::Rejection)s).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting cannot be used (a header name that is not one, a cookie attribute with
    /// forbidden characters, no token location).
    #[error("invalid setting `{name}`: {reason}")]
    InvalidSetting {
        /// The builder method's name.
        name: &'static str,
        /// What is wrong with the value.
        reason: String,
    },
    /// The core refused: a token that does not verify, a failed revocation or issue.
    #[error(transparent)]
    Revokd(#[from] revokd::Error),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
