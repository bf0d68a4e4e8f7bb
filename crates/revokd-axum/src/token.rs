//! The verified token a request presented, and what its handler can do with it: read
//! its claims (custom ones by type) and revoke it, its family or its subject's tokens.

use std::fmt;
use std::sync::Arc;

use revokd::token::Origin;
use revokd::{Claims, Revocation, Revokd, Target, Verified};
use serde::de::DeserializeOwned;

use crate::location::Location;

/// A token that verified (signature, time, type, revocation) for this request.
#[derive(Clone)]
pub struct Token {
    claims: Arc<Claims>,
    origin: Origin,
    issued_ms: u64,
    encoded: String,
    location: Location,
    revokd: Revokd,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the encoded token: it is a credential.
        f.debug_struct("Token").field("claims", &self.claims).field("location", &self.location).finish()
    }
}

impl Token {
    pub(crate) fn new(verified: Verified, encoded: String, location: Location, revokd: Revokd) -> Self {
        let Verified { claims, origin, issued_ms } = verified;
        Token { claims: Arc::new(claims), origin, issued_ms, encoded, location, revokd }
    }

    /// The claims.
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    pub(crate) fn shared_claims(&self) -> Arc<Claims> {
        Arc::clone(&self.claims)
    }

    /// The subject (flask-jwt-extended's `get_jwt_identity()`).
    pub fn identity(&self) -> &str {
        &self.claims.sub
    }

    /// Who issued it: our keys or a foreign issuer.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// The issue instant in milliseconds (the UUIDv7 millisecond of `jti` for our
    /// tokens), the instant cutoffs compare with.
    pub fn issued_ms(&self) -> u64 {
        self.issued_ms
    }

    /// The encoded token as the request carried it.
    pub fn encoded(&self) -> &str {
        &self.encoded
    }

    /// Where the request carried it.
    pub fn location(&self) -> Location {
        self.location
    }

    /// The custom claims deserialized into `T` (a struct whose fields are claim names).
    pub fn custom<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        let map = self.claims.custom.iter().map(|(k, v)| (k.as_str(), v));
        T::deserialize(serde::de::value::MapDeserializer::<_, serde_json::Error>::new(map))
    }

    /// The issuer scope of rules about this token: ours, or its foreign issuer's.
    fn issuer(&self) -> Option<String> {
        match self.origin {
            Origin::Own => None,
            Origin::Foreign(i) => self.revokd.tokens().foreign().get(i).map(|f| f.issuer.clone()),
        }
    }

    /// The actor recorded on revocations a handler makes with the caller's own token.
    fn actor(&self) -> String {
        format!("subject:{}", self.claims.sub)
    }

    /// Revokes this token (by `jti`). Durable when this returns; refused by this process
    /// at once and by every process sharing the store after its next feed round.
    pub async fn revoke(&self) -> revokd::Result<Revocation> {
        if self.claims.jti.is_empty() {
            return Err(revokd::Error::InvalidRequest("the token has no `jti` to revoke".into()));
        }
        let target = Target::Jti { iss: self.issuer(), jti: self.claims.jti.clone(), exp: Some(self.claims.exp) };
        self.revokd.revoke(target, None, self.actor()).await
    }

    /// Revokes this token's family: every access and refresh token of its login.
    pub async fn revoke_family(&self) -> revokd::Result<Revocation> {
        let Some(fam) = self.claims.fam.clone() else {
            return Err(revokd::Error::InvalidRequest("the token has no family (`fam`)".into()));
        };
        self.revokd.revoke(Target::Family { fam }, None, self.actor()).await
    }

    /// Revokes every token of this token's subject issued up to now ("log out
    /// everywhere"); tokens issued afterwards are valid.
    pub async fn revoke_subject(&self) -> revokd::Result<Revocation> {
        let target = Target::Subject { iss: self.issuer(), sub: self.claims.sub.clone(), before_ms: None };
        self.revokd.revoke(target, None, self.actor()).await
    }
}
