//! Strict parsing of a compact JWS: size limit first, canonical base64url, JSON without
//! duplicate keys, and a header whose `crit` must be understood.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use crate::error::{Error, Result};

/// The protected header fields revokd reads. Everything else (`jku`, `x5u`, `jwk`, …)
/// is ignored: never fetched, never trusted.
#[derive(Debug, Deserialize)]
pub(crate) struct Header {
    pub(crate) alg: String,
    #[serde(default)]
    pub(crate) kid: Option<String>,
    #[serde(default)]
    pub(crate) crit: Option<Vec<String>>,
}

/// A token split into its parts, header and payload decoded (the signature is not
/// checked here).
pub(crate) struct Parts<'a> {
    pub(crate) header: Header,
    pub(crate) payload: Vec<u8>,
    /// `header.payload`, the signed message.
    pub(crate) message: &'a str,
    pub(crate) signature: &'a str,
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
    check_json(&header_json)?;
    let header: Header = serde_json::from_slice(&header_json)
        .map_err(|_| Error::TokenMalformed("header is not a JSON object with `alg`"))?;
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
    decode_b64(s, "signature is not base64url")?;
    let message = &token[..h.len() + 1 + p.len()];
    Ok(Parts { header, payload, message, signature: s })
}

/// Whether a `kid` is one a key of ours could have: printable ASCII without path
/// separators or `..`, at most 256 bytes.
pub(crate) fn kid_is_plain(kid: &str) -> bool {
    kid.len() <= 256 && !kid.contains("..") && kid.bytes().all(|b| b.is_ascii_graphic() && b != b'/' && b != b'\\')
}

/// Refuses JSON that is not an object or that repeats a key at any depth. Depth is
/// bounded by serde_json's recursion limit.
pub(crate) fn check_json(bytes: &[u8]) -> Result<()> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match de::Deserializer::deserialize_map(&mut de, NoDup) {
        Ok(()) => de.end().map_err(|_| Error::TokenMalformed("trailing bytes after JSON")),
        Err(e) => {
            let msg = e.to_string();
            if msg.starts_with("recursion limit exceeded") {
                return Err(Error::TooDeep);
            }
            match msg.strip_prefix("duplicate key: ") {
                Some(rest) => Err(Error::DuplicateKey(rest.split(" at line").next().unwrap_or(rest).to_owned())),
                None => Err(Error::TokenMalformed("not a JSON object")),
            }
        }
    }
}

struct NoDup;

impl<'de> Visitor<'de> for NoDup {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(NoDup)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if seen.contains(&key) {
                return Err(de::Error::custom(format_args!("duplicate key: {key}")));
            }
            seen.insert(key);
            map.next_value_seed(NoDup)?;
        }
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for NoDup {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_refused_at_any_depth() {
        assert!(matches!(check_json(br#"{"a":1,"a":2}"#), Err(Error::DuplicateKey(k)) if k == "a"));
        assert!(matches!(check_json(br#"{"a":{"b":1,"b":1}}"#), Err(Error::DuplicateKey(_))));
        assert!(check_json(br#"{"a":[{"b":1},{"b":1}]}"#).is_ok());
    }

    #[test]
    fn deep_nesting_is_refused_without_overflow() {
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(check_json(deep.as_bytes()), Err(Error::TooDeep)));
    }

    #[test]
    fn many_keys_are_checked_in_linear_time() {
        let body: Vec<String> = (0..20_000).map(|i| format!("\"k{i}\":1")).collect();
        let json = format!("{{{}}}", body.join(","));
        assert!(check_json(json.as_bytes()).is_ok());
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
        assert!(check_json(b"[1]").is_err());
        assert!(check_json(b"{} x").is_err());
    }
}
