//! The claims revokd puts in and reads from a token.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Claim names revokd sets itself; custom claims cannot use them.
pub const RESERVED_CLAIMS: &[&str] = &["jti", "sub", "iat", "nbf", "exp", "type", "fresh", "fam", "iss", "aud", "csrf"];

/// Whether a token is an access token or a refresh token. They are not interchangeable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TokenType {
    /// Presented on every request.
    Access,
    /// Presented only to obtain a new access token.
    Refresh,
}

impl TokenType {
    /// `"access"` or `"refresh"`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenType::Access => "access",
            TokenType::Refresh => "refresh",
        }
    }
}

impl fmt::Display for TokenType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for TokenType {
    type Err = crate::Error;

    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "access" => Ok(TokenType::Access),
            "refresh" => Ok(TokenType::Refresh),
            other => Err(crate::Error::InvalidRequest(format!("unknown token type `{other}` (access, refresh)"))),
        }
    }
}

fn default_type() -> TokenType {
    TokenType::Access
}

/// The `aud` claim: one audience or several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience string.
    One(String),
    /// An array of audiences.
    Many(Vec<String>),
}

impl Audience {
    /// Whether `aud` names this audience.
    pub fn contains(&self, aud: &str) -> bool {
        match self {
            Audience::One(a) => a == aud,
            Audience::Many(v) => v.iter().any(|a| a == aud),
        }
    }
}

/// The claims of a verified token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// Token id: a UUIDv7 for tokens revokd issues. Empty when a foreign token has none
    /// (it can then be revoked by subject, not by id).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub jti: String,
    /// Subject: the user the token speaks for.
    pub sub: String,
    /// Issued at, unix seconds.
    pub iat: u64,
    /// Not before, unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Expiry, unix seconds.
    pub exp: u64,
    /// Access or refresh; foreign tokens without it are access tokens.
    #[serde(rename = "type", default = "default_type")]
    pub token_type: TokenType,
    /// Whether the token was issued straight from a login (not from a refresh).
    #[serde(default)]
    pub fresh: bool,
    /// The refresh family (login session) this token belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fam: Option<String>,
    /// Issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    /// CSRF double-submit value (cookie mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrf: Option<String>,
    /// Every other claim, as JSON.
    #[serde(flatten)]
    pub custom: Map<String, Value>,
}

impl Claims {
    /// A custom claim, deserialized into `T`; `None` if absent or of another shape.
    pub fn custom<T: serde::de::DeserializeOwned>(&self, name: &str) -> Option<T> {
        self.custom.get(name).and_then(|v| T::deserialize(v).ok())
    }
}
