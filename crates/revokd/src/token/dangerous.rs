//! Reading a token **without verifying it**: for diagnostics (`revokd inspect`) only.
//! Nothing read here may be trusted.

use serde_json::Value;

use super::jws;
use crate::error::{Error, Result};

/// The decoded header and claims of a token, unverified. Refuses only what cannot be
/// decoded at all; `max_len` bounds the work.
pub fn insecure_decode(token: &str, max_len: usize) -> Result<(Value, Value)> {
    if token.len() > max_len {
        return Err(Error::TokenTooLong { limit: max_len });
    }
    let mut it = token.split('.');
    let (Some(h), Some(p)) = (it.next(), it.next()) else {
        return Err(Error::TokenMalformed("a token has three parts separated by dots"));
    };
    let header = serde_json::from_slice(&jws::decode_b64(h, "header is not base64url")?)
        .map_err(|_| Error::TokenMalformed("header is not JSON"))?;
    let claims = serde_json::from_slice(&jws::decode_b64(p, "payload is not base64url")?)
        .map_err(|_| Error::TokenMalformed("payload is not JSON"))?;
    Ok((header, claims))
}
