//! Who is calling: admin and feed bearer tokens (compared in constant time), OAuth
//! clients (HTTP Basic, form-url-decoded as RFC 6749 §2.3.1 says), holders (their JWT).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::app::{AppState, Shared};
use crate::error::ApiError;

/// The bearer token of the `Authorization` header, if that is its scheme.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// Whether `presented` equals one of `known`: digests compared in constant time, so
/// neither the content nor the length of a token leaks through timing.
fn one_of(presented: &str, known: &[String]) -> bool {
    let p = Sha256::digest(presented.as_bytes());
    let mut found = subtle::Choice::from(0);
    for k in known {
        found |= p.ct_eq(&Sha256::digest(k.as_bytes()));
    }
    found.into()
}

/// Extractor: the caller holds an admin token, else 401 `unauthorized` — checked before
/// the body is read, so an anonymous caller learns nothing from body errors.
pub struct Admin;

impl FromRequestParts<Shared> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        if is_admin(state, &parts.headers) { Ok(Admin) } else { Err(ApiError::unauthorized()) }
    }
}

/// Extractor: the caller may read the feed (feed or admin token), else 401.
pub struct FeedReader;

impl FromRequestParts<Shared> for FeedReader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        if is_feed_reader(state, &parts.headers) { Ok(FeedReader) } else { Err(ApiError::unauthorized()) }
    }
}

/// Whether the request carries a valid admin token. A user's JWT never is one.
pub fn is_admin(state: &AppState, headers: &HeaderMap) -> bool {
    bearer(headers).is_some_and(|t| one_of(t, &state.admin_tokens))
}

/// Whether the request may read the feed (a feed token or an admin token).
pub fn is_feed_reader(state: &AppState, headers: &HeaderMap) -> bool {
    bearer(headers).is_some_and(|t| one_of(t, &state.feed_tokens) || one_of(t, &state.admin_tokens))
}

/// 401 `invalid_client` in the RFC 6749 shape, challenging the scheme the caller used.
pub fn invalid_client(scheme: &str) -> ApiError {
    ApiError::new(axum::http::StatusCode::UNAUTHORIZED, "invalid_client", "client authentication failed")
        .www_authenticate(format!("{scheme} realm=\"revokd\""))
        .oauth()
}

/// Extractor: wrong credentials are refused before the body is read.
impl FromRequestParts<Shared> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        match oauth_caller(state, &parts.headers) {
            Caller::Refused(scheme) => Err(invalid_client(scheme)),
            other => Ok(other),
        }
    }
}

/// Extractor: a client or an admin (introspection has no holder mode).
pub struct ClientOrAdmin;

impl FromRequestParts<Shared> for ClientOrAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        match oauth_caller(state, &parts.headers) {
            Caller::Client(_) | Caller::Admin => Ok(ClientOrAdmin),
            Caller::Refused(scheme) => Err(invalid_client(scheme)),
            Caller::Anonymous => Err(invalid_client("Basic")),
        }
    }
}

/// What the `Authorization` header says, for the OAuth endpoints.
pub enum Caller {
    /// No credentials.
    Anonymous,
    /// A configured client with the right secret.
    Client(String),
    /// An admin token.
    Admin,
    /// Credentials that are wrong, under this scheme (`Basic` or `Bearer`).
    Refused(&'static str),
}

fn form_decode(s: &str) -> Option<String> {
    let plus = s.replace('+', " ");
    let bytes = plus.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Identifies the caller of an OAuth endpoint.
pub fn oauth_caller(state: &AppState, headers: &HeaderMap) -> Caller {
    let Some(v) = headers.get(header::AUTHORIZATION) else { return Caller::Anonymous };
    let Ok(v) = v.to_str() else { return Caller::Refused("Basic") };
    let Some((scheme, rest)) = v.split_once(' ') else { return Caller::Refused("Basic") };
    if scheme.eq_ignore_ascii_case("bearer") {
        return if one_of(rest.trim(), &state.admin_tokens) { Caller::Admin } else { Caller::Refused("Bearer") };
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return Caller::Refused("Basic");
    }
    let decoded =
        base64::engine::general_purpose::STANDARD.decode(rest.trim()).ok().and_then(|b| String::from_utf8(b).ok());
    let Some((id, secret)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
        return Caller::Refused("Basic");
    };
    let (Some(id), Some(secret)) = (form_decode(id), form_decode(secret)) else { return Caller::Refused("Basic") };
    let (id_d, secret_d) = (Sha256::digest(id.as_bytes()), Sha256::digest(secret.as_bytes()));
    let mut ok = subtle::Choice::from(0);
    for c in &state.clients {
        ok |= id_d.ct_eq(&Sha256::digest(c.id.as_bytes())) & secret_d.ct_eq(&Sha256::digest(c.secret.as_bytes()));
    }
    if bool::from(ok) { Caller::Client(id) } else { Caller::Refused("Basic") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_url_decoded() {
        assert_eq!(form_decode("a%3Ab+c").as_deref(), Some("a:b c"));
        assert_eq!(form_decode("%zz"), None);
        assert_eq!(form_decode("%4"), None);
    }

    #[test]
    fn bearer_needs_the_scheme_and_a_token() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, "Bearer abc".parse().unwrap());
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, "bearer  abc ".parse().unwrap());
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, "Bearer ".parse().unwrap());
        assert_eq!(bearer(&h), None);
    }
}
