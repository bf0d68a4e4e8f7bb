//! Who is calling: admin and feed bearer tokens (compared in constant time), OAuth
//! clients (HTTP Basic, form-url-decoded as RFC 6749 §2.3.1 says), holders (their JWT).

use axum::http::{HeaderMap, header};
use base64::Engine;
use subtle::ConstantTimeEq;

use crate::app::AppState;

/// The bearer token of the `Authorization` header, if that is its scheme.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// Whether `presented` equals one of `known`, in constant time per comparison.
fn one_of(presented: &str, known: &[String]) -> bool {
    let mut found = subtle::Choice::from(0);
    for k in known {
        found |= presented.as_bytes().ct_eq(k.as_bytes());
    }
    found.into()
}

/// Whether the request carries a valid admin token. A user's JWT never is one.
pub fn is_admin(state: &AppState, headers: &HeaderMap) -> bool {
    bearer(headers).is_some_and(|t| one_of(t, &state.admin_tokens))
}

/// Whether the request may read the feed (a feed token or an admin token).
pub fn is_feed_reader(state: &AppState, headers: &HeaderMap) -> bool {
    bearer(headers).is_some_and(|t| one_of(t, &state.feed_tokens) || one_of(t, &state.admin_tokens))
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
    let mut ok = subtle::Choice::from(0);
    for c in &state.clients {
        ok |= c.id.as_bytes().ct_eq(id.as_bytes()) & c.secret.as_bytes().ct_eq(secret.as_bytes());
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
