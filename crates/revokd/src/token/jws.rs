//! Strict parsing of a compact JWS: size limit first, canonical base64url, JSON without
//! duplicate keys, and a header whose `crit` must be understood.

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::error::{Error, Result};

/// The protected header fields revokd reads. Everything else (`jku`, `x5u`, `jwk`, …)
/// is ignored: never fetched, never trusted.
#[derive(Debug, Deserialize)]
pub(crate) struct Header {
    pub(crate) alg: String,
    /// Absent, or a string (RFC 7515 §4.1.4): `"kid": null` is malformed, not "no kid".
    #[serde(default, deserialize_with = "present")]
    pub(crate) kid: Option<String>,
    /// Absent, or an array of strings: `"crit": null` is malformed, not "no crit".
    #[serde(default, deserialize_with = "present")]
    pub(crate) crit: Option<Vec<String>>,
}

/// A header field that, when present, must hold its type (JSON `null` included in
/// "present"): `#[serde(default)]` alone would read `null` as absent.
fn present<'de, D: de::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> std::result::Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// A token split into its parts, header and payload decoded (the signature is not
/// checked here).
pub(crate) struct Parts<'a> {
    pub(crate) header: Header,
    pub(crate) payload: Vec<u8>,
    /// `header.payload`, the signed message.
    pub(crate) message: &'a str,
    pub(crate) signature: &'a str,
    /// The signature, decoded.
    pub(crate) signature_bytes: Vec<u8>,
}

pub(crate) fn decode_b64(part: &str, what: &'static str) -> Result<Vec<u8>> {
    // The default engine refuses padding and non-zero trailing bits: only the
    // canonical encoding decodes.
    URL_SAFE_NO_PAD.decode(part).map_err(|_| Error::TokenMalformed(what))
}

/// Splits and decodes; `max_len` is checked before anything else.
pub(crate) fn split(token: &str, max_len: usize) -> Result<Parts<'_>> {
    if token.len() > max_len {
        return Err(Error::TokenTooLong { limit: max_len });
    }
    let mut it = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(Error::TokenMalformed("a token has three parts separated by dots"));
    };
    let header_json = decode_b64(h, "header is not base64url")?;
    let header = Header::deserialize(strict_object(&header_json)?)
        .map_err(|_| Error::TokenMalformed("header is not a JSON object with a string `alg` (and a string `kid`)"))?;
    if header.alg == "none" || header.alg.eq_ignore_ascii_case("none") {
        return Err(Error::UnsignedToken);
    }
    if let Some(kid) = &header.kid
        && !kid_is_plain(kid)
    {
        return Err(Error::BadKid);
    }
    if header.crit.is_some() {
        // RFC 7515 §4.1.11: we understand no extension, so any `crit` is refused.
        return Err(Error::UnknownCritical);
    }
    let payload = decode_b64(p, "payload is not base64url")?;
    if s.is_empty() {
        return Err(Error::BadSignature);
    }
    let signature_bytes = decode_b64(s, "signature is not base64url")?;
    let message = &token[..h.len() + 1 + p.len()];
    Ok(Parts { header, payload, message, signature: s, signature_bytes })
}

/// Whether a `kid` is one a key of ours could have: printable ASCII without path
/// separators or `..`, at most 256 bytes.
pub(crate) fn kid_is_plain(kid: &str) -> bool {
    kid.len() <= 256 && !kid.contains("..") && kid.bytes().all(|b| b.is_ascii_graphic() && b != b'/' && b != b'\\')
}

/// Names what is wrong with JSON that did not deserialize strictly ([`StrictValue`], or
/// [`Claims`](super::Claims), which reads its claims the same way).
pub(crate) fn claims_error(e: &serde_json::Error) -> Error {
    let msg = e.to_string();
    if msg.starts_with("recursion limit exceeded") {
        return Error::TooDeep;
    }
    if let Some(rest) = msg.strip_prefix("duplicate key: ") {
        return Error::DuplicateKey(rest.split(" at line").next().unwrap_or(rest).to_owned());
    }
    if msg.starts_with("trailing characters") {
        return Error::TokenMalformed("trailing bytes after JSON");
    }
    if msg.contains("expected a JSON object of claims") {
        return Error::TokenMalformed("not a JSON object");
    }
    match super::RESERVED_CLAIMS.iter().find(|n| msg.contains(&format!("`{n}`"))) {
        Some(n) => Error::BadClaim(n),
        None if e.is_syntax() || e.is_eof() => Error::TokenMalformed("not JSON"),
        None => Error::BadClaim("claims"),
    }
}

/// A JSON object that repeats no key at any depth, nothing after it. Depth is bounded by
/// serde_json's recursion limit.
pub(crate) fn strict_object(bytes: &[u8]) -> Result<Value> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = StrictValue.deserialize(&mut de).and_then(|v| de.end().map(|()| v)).map_err(|e| claims_error(&e))?;
    if !value.is_object() {
        return Err(Error::TokenMalformed("not a JSON object"));
    }
    Ok(value)
}

/// A JSON value whose objects, at any depth, repeat no key.
pub(crate) struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<Value, D::Error> {
        d.deserialize_any(StrictValue)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, v: bool) -> std::result::Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> std::result::Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> std::result::Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> std::result::Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> std::result::Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<Value, D::Error> {
        d.deserialize_any(StrictValue)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(StrictValue)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if out.contains_key(&*key) {
                return Err(de::Error::custom(format_args!("duplicate key: {key}")));
            }
            let v = map.next_value_seed(StrictValue)?;
            out.insert(key.into_owned(), v);
        }
        Ok(Value::Object(out))
    }
}

/// An object key, borrowed when the input allows it.
pub(crate) struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_str(KeySeed)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string key")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> std::result::Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> std::result::Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_refused_at_any_depth() {
        assert!(matches!(strict_object(br#"{"a":1,"a":2}"#), Err(Error::DuplicateKey(k)) if k == "a"));
        assert!(matches!(strict_object(br#"{"a":{"b":1,"b":1}}"#), Err(Error::DuplicateKey(_))));
        assert!(strict_object(br#"{"a":[{"b":1},{"b":1}]}"#).is_ok());
    }

    #[test]
    fn deep_nesting_is_refused_without_overflow() {
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(strict_object(deep.as_bytes()), Err(Error::TooDeep)));
    }

    #[test]
    fn many_keys_are_checked_in_linear_time() {
        let body: Vec<String> = (0..20_000).map(|i| format!("\"k{i}\":1")).collect();
        let json = format!("{{{}}}", body.join(","));
        assert!(strict_object(json.as_bytes()).is_ok());
    }

    #[test]
    fn kids_with_path_characters_are_not_plain() {
        for bad in ["../x", "a/b", "a\\b", "a\u{0}", "", "a b", "é"] {
            assert!(!kid_is_plain(bad) || bad.is_empty(), "{bad:?}");
        }
        assert!(kid_is_plain("2024-01_key.v2"));
    }

    #[test]
    fn non_objects_are_refused() {
        assert!(strict_object(b"[1]").is_err());
        assert!(strict_object(b"{} x").is_err());
    }
}
