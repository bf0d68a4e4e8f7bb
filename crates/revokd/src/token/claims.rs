//! The claims revokd puts in and reads from a token.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
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
///
/// Deserialized in one strict pass: a key repeated at any depth is an error (a claim
/// read one way by us and another way by a second parser is how tokens get confused).
#[derive(Debug, Clone, PartialEq, Serialize)]
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

impl<'de> Deserialize<'de> for Claims {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ClaimsVisitor)
    }
}

struct ClaimsVisitor;

/// Reads a claim's value, once: a second occurrence is a duplicate, a wrong type names
/// the claim.
fn once<'de, A: MapAccess<'de>, T: Deserialize<'de>>(
    map: &mut A,
    slot: &mut Option<T>,
    name: &'static str,
) -> Result<(), A::Error> {
    if slot.is_some() {
        return Err(de::Error::custom(format_args!("duplicate key: {name}")));
    }
    let v = map.next_value::<T>().map_err(|e| de::Error::custom(format_args!("invalid `{name}`: {e}")))?;
    *slot = Some(v);
    Ok(())
}

impl<'de> Visitor<'de> for ClaimsVisitor {
    type Value = Claims;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of claims")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Claims, A::Error> {
        let (mut jti, mut sub, mut iat, mut nbf, mut exp) = (None, None, None, None::<Option<u64>>, None);
        let (mut typ, mut fresh, mut fam, mut iss) = (None, None, None::<Option<String>>, None::<Option<String>>);
        let (mut aud, mut csrf) = (None::<Option<Audience>>, None::<Option<String>>);
        let mut custom = Map::new();
        while let Some(key) = map.next_key_seed(super::jws::KeySeed)? {
            match &*key {
                "jti" => once(&mut map, &mut jti, "jti")?,
                "sub" => once(&mut map, &mut sub, "sub")?,
                "iat" => once(&mut map, &mut iat, "iat")?,
                "nbf" => once(&mut map, &mut nbf, "nbf")?,
                "exp" => once(&mut map, &mut exp, "exp")?,
                "type" => once(&mut map, &mut typ, "type")?,
                "fresh" => once(&mut map, &mut fresh, "fresh")?,
                "fam" => once(&mut map, &mut fam, "fam")?,
                "iss" => once(&mut map, &mut iss, "iss")?,
                "aud" => once(&mut map, &mut aud, "aud")?,
                "csrf" => once(&mut map, &mut csrf, "csrf")?,
                _ => {
                    if custom.contains_key(&*key) {
                        return Err(de::Error::custom(format_args!("duplicate key: {key}")));
                    }
                    let v = map.next_value_seed(super::jws::StrictValue)?;
                    custom.insert(key.into_owned(), v);
                }
            }
        }
        Ok(Claims {
            jti: jti.unwrap_or_default(),
            sub: sub.ok_or_else(|| de::Error::missing_field("sub"))?,
            iat: iat.ok_or_else(|| de::Error::missing_field("iat"))?,
            nbf: nbf.flatten(),
            exp: exp.ok_or_else(|| de::Error::missing_field("exp"))?,
            token_type: typ.unwrap_or_else(default_type),
            fresh: fresh.unwrap_or(false),
            fam: fam.flatten(),
            iss: iss.flatten(),
            aud: aud.flatten(),
            csrf: csrf.flatten(),
            custom,
        })
    }
}

impl Claims {
    /// A custom claim, deserialized into `T`; `None` if absent or of another shape.
    pub fn custom<T: serde::de::DeserializeOwned>(&self, name: &str) -> Option<T> {
        self.custom.get(name).and_then(|v| T::deserialize(v).ok())
    }
}
