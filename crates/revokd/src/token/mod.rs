//! Tokens: issue and verify access and refresh JWTs.
//!
//! Parsing is strict and bounded (size limit first, canonical base64url, no duplicate
//! JSON keys, `crit` refused, `jku`/`x5u`/`jwk` ignored); the key is found by `kid` and
//! pins the algorithm, so the header never chooses it; the signature is checked by
//! jsonwebtoken's crypto (aws-lc-rs backend); then time, issuer, audience and type.

mod cache;
mod claims;
pub mod dangerous;
mod jws;
mod keys;

pub use cache::{CacheConfig, CacheStats};
pub use claims::{Audience, Claims, RESERVED_CLAIMS, TokenType};
pub use keys::{Algorithm, Key, KeySet};

use std::sync::Arc;

use arc_swap::ArcSwap;
use uuid::Uuid;

use crate::error::{Error, Result};

/// A foreign issuer (an identity provider) whose tokens revokd verifies and can revoke.
#[derive(Debug, Clone)]
pub struct ForeignIssuer {
    /// Must equal the token's `iss`.
    pub issuer: String,
    /// If set, must be among the token's `aud`.
    pub audience: Option<String>,
    /// The issuer's public keys (from its JWKS).
    pub keys: KeySet,
}

/// The live public keys of a foreign issuer. Replaced as a whole when its JWKS changes
/// (a key that leaves the set is refused from that moment); clones share the same set.
#[derive(Debug, Clone)]
pub struct IssuerKeys {
    inner: Arc<IssuerKeysInner>,
}

#[derive(Debug)]
struct IssuerKeysInner {
    keys: ArcSwap<KeySet>,
    unknown_kid: tokio::sync::Notify,
}

impl IssuerKeys {
    /// A handle on `keys`.
    pub fn new(keys: KeySet) -> Self {
        IssuerKeys {
            inner: Arc::new(IssuerKeysInner {
                keys: ArcSwap::from_pointee(keys),
                unknown_kid: tokio::sync::Notify::new(),
            }),
        }
    }

    /// The keys now.
    pub fn load(&self) -> Arc<KeySet> {
        self.inner.keys.load_full()
    }

    /// Replaces the keys: tokens verify against `keys` from the next verification on.
    pub fn replace(&self, keys: KeySet) {
        self.inner.keys.store(Arc::new(keys));
    }

    /// Resolves once a token naming a `kid` not in the set has been presented (since the
    /// last time this resolved): the moment to fetch the issuer's JWKS again.
    pub async fn unknown_kid(&self) {
        self.inner.unknown_kid.notified().await;
    }
}

/// A foreign issuer as [`Tokens`] holds it: its keys can be replaced while tokens are
/// verified.
#[derive(Debug, Clone)]
pub struct Foreign {
    /// Must equal the token's `iss`.
    pub issuer: String,
    /// If set, must be among the token's `aud`.
    pub audience: Option<String>,
    /// The issuer's public keys.
    pub keys: IssuerKeys,
}

/// Where a verified token comes from: it scopes `jti` and `subject` rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Signed by one of our own keys.
    Own,
    /// Signed by the foreign issuer at this position in [`Tokens`]' list.
    Foreign(usize),
}

/// What verification decides about a token's validity, before revocation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct TokenPolicy {
    pub(crate) issuer: Option<String>,
    pub(crate) audience: Option<String>,
    pub(crate) leeway: u64,
    pub(crate) max_token_bytes: usize,
    pub(crate) max_token_lifetime: u64,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        TokenPolicy { issuer: None, audience: None, leeway: 0, max_token_bytes: 8192, max_token_lifetime: 86_400 }
    }
}

impl TokenPolicy {
    /// The `iss` put in our tokens and required of them. Defaults to none (no `iss`).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// The `aud` put in our tokens and required of them. Defaults to none.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Seconds of clock skew tolerated on `exp` and `nbf`. Defaults to 0. Revocation
    /// rules are kept this much longer too.
    pub fn leeway(mut self, secs: u64) -> Self {
        self.leeway = secs;
        self
    }

    /// Longest token accepted, in bytes, checked before any decoding. Defaults to 8192.
    pub fn max_token_bytes(mut self, bytes: usize) -> Self {
        self.max_token_bytes = bytes;
        self
    }

    /// Longest lifetime (`exp - iat`) of a foreign token, in seconds; also the floor of
    /// the "longest lifetime" that revocation rules outlive. Defaults to 86400.
    pub fn max_token_lifetime(mut self, secs: u64) -> Self {
        self.max_token_lifetime = secs;
        self
    }

    /// The configured leeway in seconds.
    pub fn leeway_secs(&self) -> u64 {
        self.leeway
    }

    /// The configured maximum token lifetime in seconds.
    pub fn max_token_lifetime_secs(&self) -> u64 {
        self.max_token_lifetime
    }

    /// The configured issuer of our tokens.
    pub fn issuer_name(&self) -> Option<&str> {
        self.issuer.as_deref()
    }
}

/// A token whose signature and claims verified.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    /// The claims.
    pub claims: Claims,
    /// Who issued it.
    pub origin: Origin,
    /// The issue instant in milliseconds (API.md): the UUIDv7 millisecond of `jti` for
    /// our tokens, `iat` for foreign ones.
    pub issued_ms: u64,
}

/// The millisecond timestamp inside a UUIDv7, if `s` is one.
pub fn uuid_v7_ms(s: &str) -> Option<u64> {
    let u = Uuid::try_parse(s).ok()?;
    if u.get_version_num() != 7 {
        return None;
    }
    let b = u.as_bytes();
    Some(b[..6].iter().fold(0u64, |acc, &x| (acc << 8) | x as u64))
}

/// The header's `kid` and the fingerprint of the key that checked a signature.
type KeyUsed = (Option<Box<str>>, [u8; 32]);

/// Issues and verifies tokens: our key set, the foreign issuers, and the policy.
#[derive(Debug, Clone)]
pub struct Tokens {
    keys: KeySet,
    foreign: Vec<Foreign>,
    policy: TokenPolicy,
    cache: Option<Arc<cache::VerifyCache>>,
}

impl Tokens {
    /// Tokens signed and verified with `keys` under `policy`.
    pub fn new(keys: KeySet, policy: TokenPolicy) -> Self {
        Tokens { keys, foreign: Vec::new(), policy, cache: None }
    }

    /// Also accept tokens from a foreign issuer.
    #[must_use]
    pub fn with_foreign(mut self, issuer: ForeignIssuer) -> Self {
        self.foreign.push(Foreign {
            issuer: issuer.issuer,
            audience: issuer.audience,
            keys: IssuerKeys::new(issuer.keys),
        });
        self
    }

    /// Also keep successful verifications in a bounded cache (see [`CacheConfig`]): a
    /// hit skips the parse and the signature check, never the time, type, issuer and
    /// audience checks (nor, in [`crate::Revokd`], the revocation check).
    #[must_use]
    pub fn with_cache(mut self, config: CacheConfig) -> Self {
        self.cache = Some(Arc::new(cache::VerifyCache::new(config)));
        self
    }

    /// The cache's counters, if there is a cache.
    pub fn cache_stats(&self) -> Option<CacheStats> {
        self.cache.as_ref().map(|c| c.stats())
    }

    /// Drops every cached verification whose key is no longer in the key sets, and
    /// every expired one (call after replacing a foreign issuer's keys; a hit checks the
    /// key anyway, this frees the memory at once).
    pub fn purge_cache(&self, now_secs: u64) {
        if let Some(c) = &self.cache {
            c.retain(now_secs, |e| self.key_is_current(e));
        }
    }

    /// The origin a token with this `iss` has: a foreign issuer's position, else ours.
    fn origin_of(&self, iss: Option<&str>) -> Origin {
        match iss.and_then(|iss| self.foreign.iter().position(|f| f.issuer == iss)) {
            Some(i) => Origin::Foreign(i),
            None => Origin::Own,
        }
    }

    /// Whether the key that verified a cached token is still in its key set, unchanged.
    fn key_is_current(&self, e: &cache::Cached) -> bool {
        let guard;
        let keys: &KeySet = match e.origin {
            Origin::Own => &self.keys,
            Origin::Foreign(i) => match self.foreign.get(i) {
                Some(f) => {
                    guard = f.keys.inner.keys.load();
                    &guard
                }
                None => return false,
            },
        };
        let key = match e.kid.as_deref() {
            Some(kid) => keys.get(kid),
            None if keys.len() == 1 => keys.iter().next(),
            None => None,
        };
        key.is_some_and(|k| k.fingerprint() == &e.fingerprint)
    }

    /// Our keys.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// The foreign issuers, in order ([`Origin::Foreign`] indexes this).
    pub fn foreign(&self) -> &[Foreign] {
        &self.foreign
    }

    /// The policy.
    pub fn policy(&self) -> &TokenPolicy {
        &self.policy
    }

    /// Signs `claims` with the signing key (header `alg`, `kid`, `typ: JWT`).
    pub fn sign(&self, claims: &Claims) -> Result<String> {
        let key = self.keys.signer().ok_or(Error::NoSigningKey)?;
        let encoding = key.encoding().ok_or(Error::NoSigningKey)?;
        let mut header = jsonwebtoken::Header::new(key.algorithm().jwt());
        header.kid = Some(key.kid().to_owned());
        jsonwebtoken::encode(&header, claims, encoding)
            .map_err(|e| Error::InvalidKey { kid: key.kid().to_owned(), reason: e.to_string() })
    }

    /// Verifies signature and claims (time with leeway, issuer, audience, lifetime,
    /// type) at `now_secs`. Revocation is not checked here. No I/O.
    pub fn verify(&self, token: &str, expected: TokenType, now_secs: u64) -> Result<Verified> {
        let Some(cache) = self.cache.as_ref().filter(|c| c.accepts(token)) else {
            return self.verify_signed(token, expected, now_secs).map(|(v, _)| v);
        };
        // A hit stands only if the token still maps to the same issuer (a clone of these
        // `Tokens` with other issuers shares the cache) and its key is unchanged.
        let usable = |e: &cache::Cached| self.origin_of(e.claims.iss.as_deref()) == e.origin && self.key_is_current(e);
        if let Some(hit) = cache.get(token, now_secs, usable) {
            let issued_ms = self.check_claims(&hit.claims, hit.origin, expected, now_secs)?;
            return Ok(Verified { claims: hit.claims.clone(), origin: hit.origin, issued_ms });
        }
        let (v, (kid, fingerprint)) = self.verify_signed(token, expected, now_secs)?;
        // Refresh tokens are presented once per rotation: not worth an entry.
        if v.claims.token_type == TokenType::Access {
            let cached = cache::Cached { claims: v.claims.clone(), origin: v.origin, kid, fingerprint };
            cache.insert(token, cached, now_secs);
        }
        Ok(v)
    }

    /// The full verification; also returns the header's `kid` and the fingerprint of the
    /// key that checked the signature.
    fn verify_signed(&self, token: &str, expected: TokenType, now_secs: u64) -> Result<(Verified, KeyUsed)> {
        let parts = jws::split(token, self.policy.max_token_bytes)?;
        // One strict pass: duplicate keys at any depth, depth, trailing bytes, types.
        let claims: Claims = serde_json::from_slice(&parts.payload).map_err(|e| jws::claims_error(&e))?;
        let foreign = match self.origin_of(claims.iss.as_deref()) {
            Origin::Foreign(i) => Some(i),
            Origin::Own => None,
        };
        let foreign_keys = foreign.map(|i| self.foreign[i].keys.inner.keys.load());
        let (origin, keys) = match (foreign, &foreign_keys) {
            (Some(i), Some(k)) => (Origin::Foreign(i), &***k),
            _ => (Origin::Own, &self.keys),
        };
        let key = match parts.header.kid.as_deref() {
            Some(kid) => keys.get(kid),
            None if keys.len() == 1 => keys.iter().next(),
            None => None,
        };
        let Some(key) = key else {
            if let Some(i) = foreign {
                self.foreign[i].keys.inner.unknown_kid.notify_one();
            }
            return Err(Error::UnknownKey);
        };
        if parts.header.alg != key.algorithm().as_str() {
            return Err(Error::AlgorithmMismatch {
                expected: key.algorithm().to_string(),
                found: parts.header.alg.chars().take(16).collect(),
            });
        }
        if !key.verify_encoded(parts.message.as_bytes(), parts.signature, &parts.signature_bytes) {
            return Err(Error::BadSignature);
        }
        let used = (parts.header.kid.map(String::into_boxed_str), *key.fingerprint());
        let issued_ms = self.check_claims(&claims, origin, expected, now_secs)?;
        Ok((Verified { claims, origin, issued_ms }, used))
    }

    /// Time (with leeway), issuer, audience, lifetime and type; the issue instant in ms.
    fn check_claims(&self, claims: &Claims, origin: Origin, expected: TokenType, now: u64) -> Result<u64> {
        let leeway = self.policy.leeway;
        let (issuer, audience) = match origin {
            Origin::Own => (self.policy.issuer.as_deref(), self.policy.audience.as_deref()),
            Origin::Foreign(i) => (Some(self.foreign[i].issuer.as_str()), self.foreign[i].audience.as_deref()),
        };
        if now >= claims.exp.saturating_add(leeway) {
            return Err(Error::TokenExpired);
        }
        if let Some(nbf) = claims.nbf
            && nbf > now.saturating_add(leeway)
        {
            return Err(Error::TokenNotYetValid);
        }
        if let Some(iss) = issuer
            && claims.iss.as_deref() != Some(iss)
        {
            return Err(Error::WrongIssuer);
        }
        if let Some(aud) = audience
            && !claims.aud.as_ref().is_some_and(|a| a.contains(aud))
        {
            return Err(Error::WrongAudience);
        }
        let issued_ms = match origin {
            Origin::Own => uuid_v7_ms(&claims.jti).ok_or(Error::BadClaim("jti"))?,
            Origin::Foreign(_) => {
                // A foreign token issued "in the future" would escape every cutoff made now.
                if claims.iat > now.saturating_add(leeway) {
                    return Err(Error::BadClaim("iat"));
                }
                if claims.exp.saturating_sub(claims.iat) > self.policy.max_token_lifetime {
                    return Err(Error::LifetimeTooLong);
                }
                claims.iat.saturating_mul(1000)
            }
        };
        if claims.token_type != expected {
            return Err(Error::WrongTokenType { expected, found: claims.token_type });
        }
        Ok(issued_ms)
    }
}
