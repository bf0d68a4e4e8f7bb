//! Keys and key sets: each key pins its algorithm, carries a `kid`, and is identified
//! internally by a fingerprint of its material.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use aws_lc_rs::signature::{self as aws_sig, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// A signature algorithm revokd accepts. The token header never chooses it: every key
/// is pinned to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC with SHA-256; the secret must be at least 32 bytes.
    HS256,
    /// HMAC with SHA-384; the secret must be at least 48 bytes.
    HS384,
    /// HMAC with SHA-512; the secret must be at least 64 bytes.
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256; at least 2048-bit keys.
    RS256,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// Ed25519.
    EdDSA,
}

impl Algorithm {
    /// The JOSE name (`"HS256"`, …, `"EdDSA"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::HS256 => "HS256",
            Algorithm::HS384 => "HS384",
            Algorithm::HS512 => "HS512",
            Algorithm::RS256 => "RS256",
            Algorithm::ES256 => "ES256",
            Algorithm::EdDSA => "EdDSA",
        }
    }

    pub(crate) fn jwt(self) -> jsonwebtoken::Algorithm {
        match self {
            Algorithm::HS256 => jsonwebtoken::Algorithm::HS256,
            Algorithm::HS384 => jsonwebtoken::Algorithm::HS384,
            Algorithm::HS512 => jsonwebtoken::Algorithm::HS512,
            Algorithm::RS256 => jsonwebtoken::Algorithm::RS256,
            Algorithm::ES256 => jsonwebtoken::Algorithm::ES256,
            Algorithm::EdDSA => jsonwebtoken::Algorithm::EdDSA,
        }
    }

    /// Minimum HMAC secret length in bytes (RFC 7518 §3.2), or `None` for asymmetric ones.
    pub fn min_secret_len(self) -> Option<usize> {
        match self {
            Algorithm::HS256 => Some(32),
            Algorithm::HS384 => Some(48),
            Algorithm::HS512 => Some(64),
            _ => None,
        }
    }

    /// Whether this is a symmetric (HMAC) algorithm.
    pub fn is_symmetric(self) -> bool {
        self.min_secret_len().is_some()
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "HS256" => Algorithm::HS256,
            "HS384" => Algorithm::HS384,
            "HS512" => Algorithm::HS512,
            "RS256" => Algorithm::RS256,
            "ES256" => Algorithm::ES256,
            "EdDSA" => Algorithm::EdDSA,
            other => {
                return Err(Error::InvalidRequest(format!(
                    "unsupported algorithm `{other}` (HS256, HS384, HS512, RS256, ES256, EdDSA)"
                )));
            }
        })
    }
}

/// The public half of a key, as published in a JWKS.
#[derive(Clone)]
enum Public {
    Secret,
    Rsa { n: Vec<u8>, e: Vec<u8> },
    Ec { point: Vec<u8> },
    Ed { x: Vec<u8> },
}

/// One key: its `kid`, its pinned algorithm, the material to verify and (optionally)
/// to sign.
#[derive(Clone)]
pub struct Key {
    kid: String,
    alg: Algorithm,
    fingerprint: [u8; 32],
    encoding: Option<EncodingKey>,
    decoding: DecodingKey,
    /// HS keys: the HMAC key, set up once (its padded hash state) rather than per token.
    hmac: Option<aws_lc_rs::hmac::Key>,
    public: Public,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("fingerprint", &self.fingerprint_hex())
            .field("can_sign", &self.encoding.is_some())
            .finish()
    }
}

fn invalid(kid: &str, reason: impl Into<String>) -> Error {
    Error::InvalidKey { kid: kid.to_owned(), reason: reason.into() }
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let first = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[first..]
}

/// Reads a DER length at `pos`, returning (length, header bytes consumed).
fn der_len(der: &[u8], pos: usize) -> Option<(usize, usize)> {
    let first = *der.get(pos)?;
    if first < 0x80 {
        return Some((first as usize, 1));
    }
    let n = (first & 0x7f) as usize;
    if n == 0 || n > 4 {
        return None;
    }
    let mut len = 0usize;
    for i in 0..n {
        len = (len << 8) | *der.get(pos + 1 + i)? as usize;
    }
    Some((len, 1 + n))
}

/// The modulus size of a PKCS#1 `RSAPrivateKey` (SEQUENCE { version, n, ... }).
fn rsa_private_modulus_bits(der: &[u8]) -> Option<usize> {
    if *der.first()? != 0x30 {
        return None;
    }
    let (_, h) = der_len(der, 1)?;
    let mut pos = 1 + h;
    for i in 0..2 {
        if *der.get(pos)? != 0x02 {
            return None;
        }
        let (len, h) = der_len(der, pos + 1)?;
        let start = pos + 1 + h;
        if i == 1 {
            return Some(strip_zeros(der.get(start..start + len)?).len() * 8);
        }
        pos = start + len;
    }
    None
}

/// Parses a PKCS#1 `RSAPublicKey` (SEQUENCE { INTEGER n, INTEGER e }).
fn parse_rsa_public(der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    if *der.first()? != 0x30 {
        return None;
    }
    let (_, h) = der_len(der, 1)?;
    let mut pos = 1 + h;
    let mut ints = Vec::with_capacity(2);
    for _ in 0..2 {
        if *der.get(pos)? != 0x02 {
            return None;
        }
        let (len, h) = der_len(der, pos + 1)?;
        let start = pos + 1 + h;
        let bytes = der.get(start..start + len)?;
        ints.push(strip_zeros(bytes).to_vec());
        pos = start + len;
    }
    let e = ints.pop()?;
    let n = ints.pop()?;
    Some((n, e))
}

impl Key {
    /// An HMAC key. The secret is the bytes given (for a configured string, its UTF-8
    /// bytes) and must be at least as long as the hash output, else
    /// [`Error::InvalidKey`].
    pub fn hmac(kid: impl Into<String>, alg: Algorithm, secret: &[u8]) -> Result<Key> {
        let kid = kid.into();
        let Some(min) = alg.min_secret_len() else {
            return Err(invalid(&kid, format!("{alg} is not an HMAC algorithm")));
        };
        if secret.len() < min {
            return Err(invalid(&kid, format!("{alg} secret must be at least {min} bytes, got {}", secret.len())));
        }
        let mut h = Sha256::new();
        h.update(b"oct\0");
        h.update(alg.as_str());
        h.update(b"\0");
        h.update(secret);
        Ok(Key {
            kid,
            alg,
            fingerprint: h.finalize().into(),
            encoding: Some(EncodingKey::from_secret(secret)),
            decoding: DecodingKey::from_secret(secret),
            hmac: Some(aws_lc_rs::hmac::Key::new(
                match alg {
                    Algorithm::HS384 => aws_lc_rs::hmac::HMAC_SHA384,
                    Algorithm::HS512 => aws_lc_rs::hmac::HMAC_SHA512,
                    _ => aws_lc_rs::hmac::HMAC_SHA256,
                },
                secret,
            )),
            public: Public::Secret,
        })
    }

    /// A signing key from a private key in PEM (PKCS#8; PKCS#1 also for RSA).
    pub fn from_private_pem(kid: impl Into<String>, alg: Algorithm, pem: &[u8]) -> Result<Key> {
        let kid = kid.into();
        let bad = |e: jsonwebtoken::errors::Error| invalid(&kid, format!("not a {alg} private key: {e}"));
        let (encoding, public) = match alg {
            Algorithm::RS256 => {
                let enc = EncodingKey::from_rsa_pem(pem).map_err(bad)?;
                if let Some(bits) = rsa_private_modulus_bits(enc.inner())
                    && bits < 2048
                {
                    return Err(invalid(&kid, format!("RSA keys must be at least 2048 bits, got {bits}")));
                }
                let pair = aws_sig::RsaKeyPair::from_der(enc.inner())
                    .or_else(|_| aws_sig::RsaKeyPair::from_pkcs8(enc.inner()))
                    .map_err(|e| invalid(&kid, format!("not a usable RSA private key: {e}")))?;
                let c = aws_sig::RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
                (enc, Public::Rsa { n: strip_zeros(&c.n).to_vec(), e: strip_zeros(&c.e).to_vec() })
            }
            Algorithm::ES256 => {
                let enc = EncodingKey::from_ec_pem(pem).map_err(bad)?;
                let pair = aws_sig::EcdsaKeyPair::from_pkcs8(&aws_sig::ECDSA_P256_SHA256_FIXED_SIGNING, enc.inner())
                    .map_err(|e| invalid(&kid, format!("not a P-256 private key: {e}")))?;
                (enc, Public::Ec { point: pair.public_key().as_ref().to_vec() })
            }
            Algorithm::EdDSA => {
                let enc = EncodingKey::from_ed_pem(pem).map_err(bad)?;
                return Key::from_ed25519_pkcs8(kid, enc.inner());
            }
            _ => return Err(invalid(&kid, format!("{alg} keys are secrets, not PEM files"))),
        };
        Key::asymmetric(kid, alg, Some(encoding), public)
    }

    /// A verify-only key from a public key in PEM (SPKI; PKCS#1 also for RSA).
    pub fn from_public_pem(kid: impl Into<String>, alg: Algorithm, pem: &[u8]) -> Result<Key> {
        let kid = kid.into();
        let bad = |e: jsonwebtoken::errors::Error| invalid(&kid, format!("not a {alg} public key: {e}"));
        let public = match alg {
            Algorithm::RS256 => {
                DecodingKey::from_rsa_pem(pem).map_err(bad)?;
                let der = pem_rsa_public_der(pem).ok_or_else(|| invalid(&kid, "unreadable RSA public key"))?;
                let (n, e) = parse_rsa_public(&der).ok_or_else(|| invalid(&kid, "unreadable RSA public key"))?;
                Public::Rsa { n, e }
            }
            Algorithm::ES256 => {
                let dk = DecodingKey::from_ec_pem(pem).map_err(bad)?;
                Public::Ec { point: dk.as_bytes().to_vec() }
            }
            Algorithm::EdDSA => {
                let dk = DecodingKey::from_ed_pem(pem).map_err(bad)?;
                Public::Ed { x: dk.as_bytes().to_vec() }
            }
            _ => return Err(invalid(&kid, format!("{alg} keys are secrets, not PEM files"))),
        };
        Key::asymmetric(kid, alg, None, public)
    }

    /// An Ed25519 signing key from its PKCS#8 DER (as [`Key::generate_ed25519`] makes).
    pub fn from_ed25519_pkcs8(kid: impl Into<String>, der: &[u8]) -> Result<Key> {
        let kid = kid.into();
        let pair = aws_sig::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
            .map_err(|e| invalid(&kid, format!("not an Ed25519 private key: {e}")))?;
        let x = pair.public_key().as_ref().to_vec();
        Key::asymmetric(kid, Algorithm::EdDSA, Some(EncodingKey::from_ed_der(der)), Public::Ed { x })
    }

    /// A verify-only key from a public JWK (as published in a JWKS). The algorithm is
    /// the JWK's `alg`, or inferred from `kty`/`crv` (RSA → RS256, P-256 → ES256,
    /// Ed25519 → EdDSA); symmetric JWKs are refused.
    pub fn from_jwk(jwk: &Value) -> Result<Key> {
        let kid = jwk.get("kid").and_then(Value::as_str).unwrap_or("").to_owned();
        let field = |name: &str| -> Result<Vec<u8>> {
            let s =
                jwk.get(name).and_then(Value::as_str).ok_or_else(|| invalid(&kid, format!("JWK lacks `{name}`")))?;
            URL_SAFE_NO_PAD.decode(s).map_err(|_| invalid(&kid, format!("JWK `{name}` is not base64url")))
        };
        let kty = jwk.get("kty").and_then(Value::as_str).unwrap_or("");
        let (inferred, public) = match kty {
            "RSA" => (
                Algorithm::RS256,
                Public::Rsa { n: strip_zeros(&field("n")?).to_vec(), e: strip_zeros(&field("e")?).to_vec() },
            ),
            "EC" => {
                if jwk.get("crv").and_then(Value::as_str) != Some("P-256") {
                    return Err(invalid(&kid, "only P-256 EC keys are supported"));
                }
                let (x, y) = (field("x")?, field("y")?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(invalid(&kid, "P-256 coordinates must be 32 bytes"));
                }
                let mut point = vec![4u8];
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                (Algorithm::ES256, Public::Ec { point })
            }
            "OKP" => {
                if jwk.get("crv").and_then(Value::as_str) != Some("Ed25519") {
                    return Err(invalid(&kid, "only Ed25519 OKP keys are supported"));
                }
                (Algorithm::EdDSA, Public::Ed { x: field("x")? })
            }
            other => return Err(invalid(&kid, format!("unsupported JWK key type `{other}`"))),
        };
        let alg = match jwk.get("alg").and_then(Value::as_str) {
            Some(a) => a.parse()?,
            None => inferred,
        };
        if alg != inferred {
            return Err(invalid(&kid, format!("JWK alg {alg} does not fit key type {kty}")));
        }
        Key::asymmetric(kid, alg, None, public)
    }

    /// Generates a new Ed25519 signing key. Returns the key (its `kid` derived from its
    /// fingerprint) and its PKCS#8 DER, to keep in a store.
    pub fn generate_ed25519() -> Result<(Key, Vec<u8>)> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let doc = aws_sig::Ed25519KeyPair::generate_pkcs8(&rng)
            .map_err(|_| invalid("generated", "Ed25519 key generation failed"))?;
        let der = doc.as_ref().to_vec();
        let key = Key::from_ed25519_pkcs8("", &der)?;
        let kid = key.fingerprint_hex()[..16].to_owned();
        Ok((Key { kid, ..key }, der))
    }

    fn asymmetric(kid: String, alg: Algorithm, encoding: Option<EncodingKey>, public: Public) -> Result<Key> {
        let mut h = Sha256::new();
        let decoding = match &public {
            Public::Rsa { n, e } => {
                if n.len() * 8 < 2048 {
                    return Err(invalid(&kid, format!("RSA keys must be at least 2048 bits, got {}", n.len() * 8)));
                }
                h.update(b"RSA\0");
                h.update(n);
                h.update(b"\0");
                h.update(e);
                DecodingKey::from_rsa_raw_components(n, e)
            }
            Public::Ec { point } => {
                if point.len() != 65 || point[0] != 4 {
                    return Err(invalid(&kid, "not an uncompressed P-256 point"));
                }
                h.update(b"EC\0");
                h.update(point);
                DecodingKey::from_ec_der(point)
            }
            Public::Ed { x } => {
                if x.len() != 32 {
                    return Err(invalid(&kid, "Ed25519 public keys are 32 bytes"));
                }
                h.update(b"OKP\0");
                h.update(x);
                DecodingKey::from_ed_der(x)
            }
            Public::Secret => return Err(invalid(&kid, "not an asymmetric key")),
        };
        Ok(Key { kid, alg, fingerprint: h.finalize().into(), encoding, decoding, hmac: None, public })
    }

    /// The same key under another `kid`.
    #[must_use]
    pub fn with_kid(self, kid: impl Into<String>) -> Key {
        Key { kid: kid.into(), ..self }
    }

    /// The key id (`kid`) put in the header of tokens it signs.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm this key is pinned to.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// Whether this key has a private part (can sign).
    pub fn can_sign(&self) -> bool {
        self.encoding.is_some()
    }

    /// SHA-256 fingerprint of the key material (public material for asymmetric keys).
    pub fn fingerprint(&self) -> &[u8; 32] {
        &self.fingerprint
    }

    /// The fingerprint as lowercase hex.
    pub fn fingerprint_hex(&self) -> String {
        self.fingerprint.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub(crate) fn encoding(&self) -> Option<&EncodingKey> {
        self.encoding.as_ref()
    }

    /// Whether `signature` (the raw, base64url-decoded bytes of a JWS signature: `r‖s`
    /// of 32 bytes each for ES256, per RFC 7518 §3.4; 64 bytes for EdDSA) is this key's
    /// signature over `message` under its pinned algorithm. This is the check token
    /// verification makes on a token's signing input `header.payload`, after it has
    /// picked the key and matched the header's `alg`: HMAC compared in constant time by
    /// aws-lc for HS keys, else jsonwebtoken's aws-lc verifier. Exposed so that
    /// signatures which cannot be wrapped in a token (known-answer vectors) are checked
    /// by the same code.
    pub fn verify_signature(&self, message: &[u8], signature: &[u8]) -> bool {
        self.verify_encoded(message, &URL_SAFE_NO_PAD.encode(signature), signature)
    }

    /// [`Key::verify_signature`] with the signature in both forms, as a token carries it
    /// (base64url) and decoded: each backend takes the form it wants, nothing is
    /// re-encoded on the token path.
    pub(crate) fn verify_encoded(&self, message: &[u8], signature_b64: &str, signature: &[u8]) -> bool {
        match &self.hmac {
            // HS: the prepared key, compared in constant time by aws-lc.
            Some(hmac) => aws_lc_rs::hmac::verify(hmac, message, signature).is_ok(),
            None => {
                jsonwebtoken::crypto::verify(signature_b64, message, &self.decoding, self.alg.jwt()).unwrap_or(false)
            }
        }
    }

    /// The public JWK of this key, or `None` for a symmetric key (never published).
    pub fn public_jwk(&self) -> Option<Value> {
        let b = |v: &[u8]| URL_SAFE_NO_PAD.encode(v);
        let mut jwk = match &self.public {
            Public::Secret => return None,
            Public::Rsa { n, e } => json!({"kty": "RSA", "n": b(n), "e": b(e)}),
            Public::Ec { point } => json!({"kty": "EC", "crv": "P-256", "x": b(&point[1..33]), "y": b(&point[33..65])}),
            Public::Ed { x } => json!({"kty": "OKP", "crv": "Ed25519", "x": b(x)}),
        };
        jwk["kid"] = json!(self.kid);
        jwk["alg"] = json!(self.alg.as_str());
        jwk["use"] = json!("sig");
        Some(jwk)
    }
}

/// Extracts the PKCS#1 RSAPublicKey DER from a PEM (PKCS#1 or SPKI).
fn pem_rsa_public_der(pem: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(pem).ok()?;
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).map(str::trim).collect();
    let der = base64::engine::general_purpose::STANDARD.decode(body).ok()?;
    if text.contains("BEGIN RSA PUBLIC KEY") {
        return Some(der);
    }
    // SPKI: SEQUENCE { SEQUENCE { algorithm }, BIT STRING { RSAPublicKey } }
    let (_, h) = der_len(&der, 1)?;
    let mut pos = 1 + h;
    if *der.get(pos)? != 0x30 {
        return None;
    }
    let (len, h) = der_len(&der, pos + 1)?;
    pos += 1 + h + len;
    if *der.get(pos)? != 0x03 {
        return None;
    }
    let (len, h) = der_len(&der, pos + 1)?;
    let start = pos + 1 + h + 1; // skip the unused-bits byte
    der.get(start..pos + 1 + h + len).map(<[u8]>::to_vec)
}

/// A set of keys for signing and verifying: several at once for rotation. The first
/// key with a private part signs; every key verifies the tokens whose `kid` names it.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<Arc<Key>>,
}

impl KeySet {
    /// An empty key set.
    pub fn new() -> Self {
        KeySet::default()
    }

    /// Adds a key. Two keys with one `kid` are refused, as are two keys with the same
    /// material under different `kid`s (a rotation that rotates nothing).
    pub fn insert(&mut self, key: Key) -> Result<()> {
        if !super::jws::kid_is_plain(&key.kid) {
            return Err(invalid(&key.kid, "a kid is printable ASCII without `/`, `\\` or `..`"));
        }
        if self.keys.iter().any(|k| k.kid == key.kid) {
            return Err(invalid(&key.kid, "duplicate kid"));
        }
        if self.keys.iter().any(|k| k.fingerprint == key.fingerprint) {
            return Err(invalid(&key.kid, "same key material as another key"));
        }
        self.keys.push(Arc::new(key));
        Ok(())
    }

    /// Adds a key, builder style.
    pub fn with(mut self, key: Key) -> Result<Self> {
        self.insert(key)?;
        Ok(self)
    }

    /// The key that signs: the first one with a private part.
    pub fn signer(&self) -> Option<&Key> {
        self.keys.iter().map(|k| &**k).find(|k| k.can_sign())
    }

    /// The key with this `kid`.
    pub fn get(&self, kid: &str) -> Option<&Key> {
        self.keys.iter().map(|k| &**k).find(|k| k.kid == kid)
    }

    /// Every key, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Key> {
        self.keys.iter().map(|k| &**k)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The JWKS (`{"keys": [...]}`) of the public keys; symmetric keys are never listed.
    pub fn jwks(&self) -> Value {
        json!({"keys": self.keys.iter().filter_map(|k| k.public_jwk()).collect::<Vec<_>>()})
    }

    /// The signing keys of an identity provider's JWKS that revokd can use: keys for
    /// encryption (`use` other than `sig`) are left out, and so is any key revokd cannot
    /// verify with (another algorithm, a bad key), whose `kid` and reason are returned so
    /// they can be logged. Real JWKS documents mix such keys with the ones that sign.
    /// Fails only when the document is not a JWKS, or two usable keys share a `kid`.
    pub fn from_jwks_usable(jwks: &Value) -> Result<(KeySet, Vec<String>)> {
        let keys =
            jwks.get("keys").and_then(Value::as_array).ok_or_else(|| invalid("jwks", "not a JWKS: no `keys` array"))?;
        let mut set = KeySet::new();
        let mut skipped = Vec::new();
        for jwk in keys {
            if jwk.get("use").and_then(Value::as_str).is_some_and(|u| u != "sig") {
                continue;
            }
            match Key::from_jwk(jwk) {
                Ok(k) => set.insert(k)?,
                Err(e) => {
                    let kid = jwk.get("kid").and_then(Value::as_str).unwrap_or("(no kid)");
                    skipped.push(format!(
                        "`{}`: {e}",
                        kid.chars().filter(|c| !c.is_control()).take(64).collect::<String>()
                    ));
                }
            }
        }
        Ok((set, skipped))
    }

    /// A key set of the verify-only keys in a JWKS document (`{"keys": [...]}`).
    /// Entries that are not signature keys (`use` other than `sig`) are skipped.
    pub fn from_jwks(jwks: &Value) -> Result<KeySet> {
        let keys =
            jwks.get("keys").and_then(Value::as_array).ok_or_else(|| invalid("jwks", "not a JWKS: no `keys` array"))?;
        let mut set = KeySet::new();
        for jwk in keys {
            if jwk.get("use").and_then(Value::as_str).is_some_and(|u| u != "sig") {
                continue;
            }
            set.insert(Key::from_jwk(jwk)?)?;
        }
        Ok(set)
    }
}
