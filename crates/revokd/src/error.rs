//! The library's error type: one enum, each variant with a stable code.

use crate::store::StoreError;

/// Everything that can go wrong in revokd.
///
/// Every variant has a stable, machine-readable [`code`](Error::code); the HTTP layer
/// maps codes to statuses in one table. Token errors keep the finer reason here (for
/// logs and metrics) while [`public_code`](Error::public_code) folds them into the
/// few codes a client sees.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The token is longer than the configured limit; it was not decoded.
    #[error("token is longer than {limit} bytes")]
    TokenTooLong {
        /// The configured limit in bytes.
        limit: usize,
    },
    /// The token is not three base64url parts of valid JSON.
    #[error("malformed token: {0}")]
    TokenMalformed(&'static str),
    /// The token's JSON repeats a key.
    #[error("token repeats the key `{0}`")]
    DuplicateKey(String),
    /// The header says `alg: none`: unsigned tokens are never accepted.
    #[error("unsigned tokens (alg none) are not accepted")]
    UnsignedToken,
    /// The header's `alg` is not the algorithm pinned by the key that matched.
    #[error("token algorithm {found} does not match the key's algorithm {expected}")]
    AlgorithmMismatch {
        /// The algorithm the key is pinned to.
        expected: String,
        /// The algorithm the header named.
        found: String,
    },
    /// The token's `kid` has characters no key id of ours can have (path separators,
    /// control characters, `..`): refused without any lookup.
    #[error("token kid has forbidden characters")]
    BadKid,
    /// The token's JSON nests deeper than the parser allows.
    #[error("token JSON nests too deeply")]
    TooDeep,
    /// No key matches the token's `kid` (or the token has none and several keys exist).
    #[error("no key matches the token's kid")]
    UnknownKey,
    /// The header lists critical extensions that are not understood.
    #[error("token header has unknown critical extensions")]
    UnknownCritical,
    /// The signature does not verify with the key.
    #[error("token signature is invalid")]
    BadSignature,
    /// A required claim is missing or has the wrong type.
    #[error("token claim `{0}` is missing or malformed")]
    BadClaim(&'static str),
    /// The token has expired (`exp`, with leeway).
    #[error("token has expired")]
    TokenExpired,
    /// The token is not yet valid (`nbf`, with leeway).
    #[error("token is not yet valid")]
    TokenNotYetValid,
    /// The token's `iss` is not the expected issuer.
    #[error("token issuer is not accepted")]
    WrongIssuer,
    /// The token's `aud` does not include the expected audience.
    #[error("token audience is not accepted")]
    WrongAudience,
    /// A foreign token lives longer than `max_token_lifetime`, or lacks `iat`/`exp`.
    #[error("token lifetime exceeds the accepted maximum")]
    LifetimeTooLong,
    /// The token is of the wrong type (an access token where a refresh token is needed,
    /// or the other way round).
    #[error("expected a {expected} token, got a {found} token")]
    WrongTokenType {
        /// The type that was required.
        expected: crate::TokenType,
        /// The type the token carries.
        found: crate::TokenType,
    },
    /// The token is fresh-only and this one is not fresh.
    #[error("a fresh token is required")]
    FreshTokenRequired,
    /// The token verifies but has been revoked.
    #[error("token has been revoked")]
    TokenRevoked,
    /// A key could not be used: bad PEM, wrong kind for the algorithm, too short.
    #[error("key `{kid}`: {reason}")]
    InvalidKey {
        /// The key's id.
        kid: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No key in the set can sign.
    #[error("no signing key configured")]
    NoSigningKey,
    /// A custom claim uses a reserved name.
    #[error("claim `{0}` is reserved")]
    ReservedClaim(String),
    /// A request to the library is invalid (e.g. a TTL of zero).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The revocation does not exist (or was already removed).
    #[error("revocation not found")]
    NotFound,
    /// Family and global revocations cannot be undone.
    #[error("this revocation cannot be undone")]
    NotReversible,
    /// The index is not loaded yet, or the store is unreachable in `refuse` mode.
    #[error("revocation index is not ready")]
    NotReady,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Error {
    /// The stable, fine-grained code of this error (for logs and metrics).
    pub fn code(&self) -> &'static str {
        match self {
            Error::TokenTooLong { .. } => "token_too_long",
            Error::TokenMalformed(_) => "token_malformed",
            Error::DuplicateKey(_) => "token_duplicate_key",
            Error::UnsignedToken => "token_unsigned",
            Error::AlgorithmMismatch { .. } => "token_algorithm_mismatch",
            Error::BadKid => "token_bad_kid",
            Error::TooDeep => "token_too_deep",
            Error::UnknownKey => "token_unknown_key",
            Error::UnknownCritical => "token_unknown_critical",
            Error::BadSignature => "token_bad_signature",
            Error::BadClaim(_) => "token_bad_claim",
            Error::TokenExpired => "token_expired",
            Error::TokenNotYetValid => "token_not_yet_valid",
            Error::WrongIssuer => "token_wrong_issuer",
            Error::WrongAudience => "token_wrong_audience",
            Error::LifetimeTooLong => "token_lifetime_too_long",
            Error::WrongTokenType { .. } => "token_wrong_type",
            Error::FreshTokenRequired => "fresh_token_required",
            Error::TokenRevoked => "token_revoked",
            Error::InvalidKey { .. } => "invalid_key",
            Error::NoSigningKey => "no_signing_key",
            Error::ReservedClaim(_) => "reserved_claim",
            Error::InvalidRequest(_) => "invalid_request",
            Error::NotFound => "not_found",
            Error::NotReversible => "not_reversible",
            Error::NotReady => "unavailable",
            Error::Store(e) => e.code(),
        }
    }

    /// The code a client sees (API.md): token errors fold into `token_invalid`,
    /// `token_expired`, `token_not_yet_valid`, `token_revoked`, `token_wrong_type`
    /// and `fresh_token_required`; others keep their [`code`](Error::code).
    pub fn public_code(&self) -> &'static str {
        match self {
            Error::TokenTooLong { .. }
            | Error::TokenMalformed(_)
            | Error::DuplicateKey(_)
            | Error::UnsignedToken
            | Error::AlgorithmMismatch { .. }
            | Error::UnknownKey
            | Error::BadKid
            | Error::TooDeep
            | Error::UnknownCritical
            | Error::BadSignature
            | Error::BadClaim(_)
            | Error::WrongIssuer
            | Error::WrongAudience
            | Error::LifetimeTooLong => "token_invalid",
            Error::Store(e) if e.is_unavailable() => "unavailable",
            Error::Store(_) => "internal",
            other => other.code(),
        }
    }

    /// Whether this error is about the presented token (as opposed to the system).
    pub fn is_token_error(&self) -> bool {
        self.code().starts_with("token_") || matches!(self, Error::FreshTokenRequired)
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
