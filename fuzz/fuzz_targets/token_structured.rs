//! Structure-aware mutations of valid tokens. A valid token minted at setup is taken
//! apart; the fuzzer edits its header and payload JSON (alg/kid/typ/crit, duplicate
//! keys, exp/nbf/iat of every JSON type, huge numbers, jti/sub/fam, nesting), its
//! encoding and its signature, optionally re-signs it (with the right key, with another
//! key, or with a public key used as an HMAC secret: algorithm confusion), then verifies.
//!
//! Oracle, without reimplementing the validator:
//! - never a panic;
//! - `Ok` only if the final signature is genuine (the untouched original over the
//!   untouched message, or a re-signature by the right key), the header's `alg` is the
//!   key's, the type is the expected one and `exp` is in the future;
//! - a token that is re-signed by the right key, whose edits are all "benign" (claims of
//!   the right types with values valid at NOW, unknown header fields, canonical
//!   encoding, under the size limit) must verify;
//! - a non-canonical encoding (padding, standard alphabet) never verifies.
#![no_main]

use arbitrary::Arbitrary;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use libfuzzer_sys::fuzz_target;
use revokd::TokenType;
use revokd_fuzz::{KEYS, MAX_TOKEN_BYTES, NOW, fixture, message_of};

/// A JSON value, as text (so that any value, valid or not, can be written).
#[derive(Arbitrary, Debug, Clone)]
enum Json {
    Null,
    Bool(bool),
    U64(u64),
    I64(i64),
    F64(f64),
    Str(String),
    /// A number of this many digits (overflows every integer type).
    HugeNumber(u8),
    /// A number in exponent form.
    Exponent(u32, i16),
    Array(Vec<u8>),
    /// `{"a":{"a":…}}`, this deep.
    Nested(u16),
    /// Raw text, not necessarily JSON.
    Raw(String),
}

impl Json {
    fn text(&self) -> String {
        match self {
            Json::Null => "null".into(),
            Json::Bool(b) => b.to_string(),
            Json::U64(v) => v.to_string(),
            Json::I64(v) => v.to_string(),
            Json::F64(v) => serde_json::to_string(v).unwrap_or_else(|_| "null".into()),
            Json::Str(s) => serde_json::to_string(s).expect("string"),
            Json::HugeNumber(n) => "9".repeat(usize::from(*n) + 1),
            Json::Exponent(m, e) => format!("{m}e{e}"),
            Json::Array(v) => serde_json::to_string(v).expect("array"),
            Json::Nested(d) => {
                let d = usize::from(*d % 300);
                format!("{}1{}", "{\"a\":".repeat(d), "}".repeat(d))
            }
            Json::Raw(s) => s.clone(),
        }
    }

    /// Whether this is a u64 (as the claims expect for times) and the value.
    /// Valid JSON that the strict parser takes (no duplicate keys, not too deep).
    fn plain(&self) -> bool {
        match self {
            Json::Raw(_) => false,
            Json::Nested(d) => *d % 300 < 100,
            v => is_json(&v.text()),
        }
    }

    fn as_u64(&self) -> Option<u64> {
        match self {
            Json::U64(v) => Some(*v),
            _ => None,
        }
    }
}

/// A field name: the interesting ones, or any string.
#[derive(Arbitrary, Debug, Clone)]
enum Name {
    Known(u8),
    Any(String),
}

const HEADER_NAMES: &[&str] = &["alg", "kid", "typ", "crit", "cty", "jku", "x5u", "jwk", "x5c", "b64", "zip", "enc"];
const CLAIM_NAMES: &[&str] =
    &["jti", "sub", "iat", "nbf", "exp", "type", "fresh", "fam", "iss", "aud", "csrf", "role", "scope"];

impl Name {
    fn get(&self, known: &[&str]) -> String {
        match self {
            Name::Known(i) => known[usize::from(*i) % known.len()].to_owned(),
            Name::Any(s) => s.clone(),
        }
    }
}

#[derive(Arbitrary, Debug, Clone)]
enum Alg {
    Keep,
    /// One of the JOSE names (and `none` in several spellings).
    Named(u8),
    Any(String),
}

const ALGS: &[&str] =
    &["HS256", "HS384", "HS512", "RS256", "ES256", "EdDSA", "none", "None", "NONE", "PS256", "hs256", ""];

#[derive(Arbitrary, Debug, Clone)]
enum Kid {
    /// The kid of key i (possibly of the other key set).
    Key(u8),
    Path(u8),
    Any(String),
}

#[derive(Arbitrary, Debug, Clone)]
enum HeaderEdit {
    Alg(Alg),
    Kid(Kid),
    RemoveKid,
    Typ(Json),
    Crit(Vec<String>),
    Set(Name, Json),
    Remove(Name),
    Duplicate(Name, Json),
}

#[derive(Arbitrary, Debug, Clone)]
enum PayloadEdit {
    Exp(Json),
    Nbf(Json),
    Iat(Json),
    /// A UUIDv7 with these random bits (valid), or any JSON.
    JtiV7(u64),
    Jti(Json),
    Sub(Json),
    Fam(Json),
    Type(Json),
    Set(Name, Json),
    Remove(Name),
    Duplicate(Name, Json),
}

#[derive(Arbitrary, Debug, Clone)]
enum Signer {
    /// Keep the original signature.
    Keep,
    /// Re-sign with the key that signed the original.
    Right,
    /// Re-sign with another of the test keys.
    Other(u8),
    /// HS256 over the message with the PEM of a public key as the secret.
    HmacWithPublicKey(u8),
}

#[derive(Arbitrary, Debug, Clone)]
enum SigEdit {
    Keep,
    Truncate(u16),
    Extend(String),
    FlipChar(u16, u8),
    Empty,
    /// Arbitrary bytes, base64url-encoded.
    Replace(Vec<u8>),
}

#[derive(Arbitrary, Debug, Clone)]
enum Encoding {
    Canonical,
    /// `=` padding on the header, payload or signature.
    Padded(u8),
    /// `+` and `/` instead of `-` and `_`.
    StandardAlphabet,
    /// Whitespace or a dot somewhere.
    Insert(u16, u8),
}

#[derive(Arbitrary, Debug)]
struct Input {
    base: u8,
    expect_refresh: bool,
    header: Vec<HeaderEdit>,
    payload: Vec<PayloadEdit>,
    signer: Signer,
    sig: SigEdit,
    encoding: Encoding,
}

/// A JSON object as ordered (name, raw value text) pairs: duplicates can be written.
struct Obj(Vec<(String, String)>);

impl Obj {
    fn parse(b64: &str) -> Obj {
        let bytes = URL_SAFE_NO_PAD.decode(b64).expect("valid part");
        let v: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&bytes).expect("object");
        Obj(v.into_iter().map(|(k, v)| (k, v.to_string())).collect())
    }
    fn set(&mut self, k: &str, v: String) {
        match self.0.iter_mut().find(|(n, _)| n == k) {
            Some(slot) => slot.1 = v,
            None => self.0.push((k.to_owned(), v)),
        }
    }
    fn remove(&mut self, k: &str) {
        self.0.retain(|(n, _)| n != k);
    }
    fn has(&self, k: &str) -> bool {
        self.0.iter().any(|(n, _)| n == k)
    }
    fn text(&self) -> String {
        let body: Vec<String> =
            self.0.iter().map(|(k, v)| format!("{}:{v}", serde_json::to_string(k).expect("key"))).collect();
        format!("{{{}}}", body.join(","))
    }
}

fuzz_target!(|input: Input| {
    let f = fixture();
    let base = &f.minted[usize::from(input.base) % f.minted.len()];
    let key = &KEYS[base.key];
    let expected = if input.expect_refresh { TokenType::Refresh } else { TokenType::Access };
    let mut parts = base.token.split('.');
    let (h0, p0, s0) = (parts.next().expect("h"), parts.next().expect("p"), parts.next().expect("s"));

    // Benign: the edit leaves a token that a correct verifier accepts once re-signed.
    let mut benign = expected == base.token_type;

    let mut header = Obj::parse(h0);
    for e in &input.header {
        match e {
            HeaderEdit::Alg(Alg::Keep) => {}
            HeaderEdit::Alg(Alg::Named(i)) => {
                let a = ALGS[usize::from(*i) % ALGS.len()];
                benign &= a == key.alg.as_str();
                header.set("alg", serde_json::to_string(a).expect("alg"));
            }
            HeaderEdit::Alg(Alg::Any(s)) => {
                benign &= s == key.alg.as_str();
                header.set("alg", serde_json::to_string(s).expect("alg"));
            }
            HeaderEdit::Kid(k) => {
                let kid = match k {
                    Kid::Key(i) => KEYS[usize::from(*i) % KEYS.len()].kid.to_owned(),
                    Kid::Path(i) => {
                        ["../hs", "hs/..", "/etc/passwd", "hs\\x", "hs\u{0}", "", "hs "][usize::from(*i) % 7].into()
                    }
                    Kid::Any(s) => s.clone(),
                };
                benign &= kid == key.kid;
                header.set("kid", serde_json::to_string(&kid).expect("kid"));
            }
            HeaderEdit::RemoveKid => {
                // Only a set of one key may do without a kid; the HS256 set is one.
                benign &= key.kid == "hs";
                header.remove("kid");
            }
            HeaderEdit::Typ(v) => {
                benign &= v.plain();
                header.set("typ", v.text());
            }
            HeaderEdit::Crit(c) => {
                benign = false;
                header.set("crit", serde_json::to_string(c).expect("crit"));
            }
            HeaderEdit::Set(n, v) => {
                let n = n.get(HEADER_NAMES);
                // alg, kid and crit are read; anything else is ignored, whatever it holds.
                benign &= !matches!(n.as_str(), "alg" | "kid" | "crit") && v.plain();
                header.set(&n, v.text());
            }
            HeaderEdit::Remove(n) => {
                let n = n.get(HEADER_NAMES);
                benign &= n != "alg" && (n != "kid" || key.kid == "hs");
                header.remove(&n);
            }
            HeaderEdit::Duplicate(n, v) => {
                let n = n.get(HEADER_NAMES);
                benign &= !header.has(&n) && !matches!(n.as_str(), "alg" | "kid" | "crit") && v.plain();
                header.0.push((n, v.text()));
            }
        }
    }

    let mut payload = Obj::parse(p0);
    for e in &input.payload {
        match e {
            PayloadEdit::Exp(v) => {
                benign &= v.as_u64().is_some_and(|x| x > NOW);
                payload.set("exp", v.text());
            }
            PayloadEdit::Nbf(v) => {
                benign &= matches!(v, Json::Null) || v.as_u64().is_some_and(|x| x <= NOW);
                payload.set("nbf", v.text());
            }
            PayloadEdit::Iat(v) => {
                // Our own tokens' iat is not compared with now (the jti carries the instant).
                benign &= v.as_u64().is_some();
                payload.set("iat", v.text());
            }
            PayloadEdit::JtiV7(bits) => {
                let jti =
                    format!("01941f29-7c00-7{:03x}-8{:03x}-{:012x}", bits & 0xfff, (bits >> 12) & 0xfff, bits >> 24);
                payload.set("jti", serde_json::to_string(&jti).expect("jti"));
            }
            PayloadEdit::Jti(v) => {
                benign = false;
                payload.set("jti", v.text());
            }
            PayloadEdit::Sub(v) => {
                benign &= matches!(v, Json::Str(_));
                payload.set("sub", v.text());
            }
            PayloadEdit::Fam(v) => {
                benign &= matches!(v, Json::Str(_) | Json::Null);
                payload.set("fam", v.text());
            }
            PayloadEdit::Type(v) => {
                benign &= matches!(v, Json::Str(s) if s == expected.as_str());
                payload.set("type", v.text());
            }
            PayloadEdit::Set(n, v) => {
                let n = n.get(CLAIM_NAMES);
                benign &= !revokd::token::RESERVED_CLAIMS.contains(&n.as_str()) && v.plain();
                payload.set(&n, v.text());
            }
            PayloadEdit::Remove(n) => {
                let n = n.get(CLAIM_NAMES);
                benign &= !matches!(n.as_str(), "sub" | "iat" | "exp" | "jti")
                    && (n != "type" || expected == TokenType::Access);
                payload.remove(&n);
            }
            PayloadEdit::Duplicate(n, v) => {
                let n = n.get(CLAIM_NAMES);
                benign &= !payload.has(&n) && !revokd::token::RESERVED_CLAIMS.contains(&n.as_str()) && v.plain();
                payload.0.push((n, v.text()));
            }
        }
    }

    let h = if input.header.is_empty() { h0.to_owned() } else { URL_SAFE_NO_PAD.encode(header.text()) };
    let p = if input.payload.is_empty() { p0.to_owned() } else { URL_SAFE_NO_PAD.encode(payload.text()) };
    let message = format!("{h}.{p}");
    let untouched = message == message_of(&base.token);

    // The key the final header names (the one a correct verifier checks with), if any.
    let set_keys: &[usize] = if base.key == 0 { &[0] } else { &[1, 2, 3] };
    let named = match serde_json::from_str::<serde_json::Value>(&header.text()).ok().map(|h| h.get("kid").cloned()) {
        Some(Some(serde_json::Value::String(kid))) => set_keys.iter().copied().find(|&i| KEYS[i].kid == kid),
        // No kid: only a set of one allows it. `"kid": null` is malformed (refused).
        Some(None) if set_keys.len() == 1 => Some(set_keys[0]),
        _ => None,
    };
    // The signature, and which key signed this very message (None: no key of the set).
    let (mut sig, signer) = match &input.signer {
        Signer::Keep => (s0.to_owned(), untouched.then_some(base.key)),
        Signer::Right => (key.sign(message.as_bytes()), Some(base.key)),
        Signer::Other(i) => {
            let i = usize::from(*i) % KEYS.len();
            (KEYS[i].sign(message.as_bytes()), Some(i))
        }
        Signer::HmacWithPublicKey(i) => {
            let k = &KEYS[1 + usize::from(*i) % (KEYS.len() - 1)];
            let hs = jsonwebtoken::EncodingKey::from_secret(k.public);
            (jsonwebtoken::crypto::sign(message.as_bytes(), &hs, jsonwebtoken::Algorithm::HS256).expect("sign"), None)
        }
    };
    let mut genuine = signer.is_some() && signer == named;
    benign &= signer == Some(base.key) && named == Some(base.key);
    let signed = sig.clone();
    match &input.sig {
        SigEdit::Keep => {}
        SigEdit::Truncate(n) => sig.truncate(usize::from(*n) % (sig.len() + 1)),
        SigEdit::Extend(s) => sig.push_str(s),
        SigEdit::FlipChar(i, c) => {
            if !sig.is_empty() {
                let i = usize::from(*i) % sig.len();
                let c = char::from(
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[usize::from(*c) % 64],
                );
                sig.replace_range(i..i + 1, &c.to_string());
            }
        }
        SigEdit::Empty => sig.clear(),
        SigEdit::Replace(b) => sig = URL_SAFE_NO_PAD.encode(b),
    }
    genuine &= sig == signed;
    benign &= sig == signed;

    let canonical = format!("{message}.{sig}");
    let token = match &input.encoding {
        Encoding::Canonical => canonical.clone(),
        Encoding::Padded(which) => {
            let pad = |s: &str| -> String { URL_SAFE.encode(URL_SAFE_NO_PAD.decode(s).unwrap_or_default()) };
            match which % 3 {
                0 => format!("{}.{p}.{sig}", pad(&h)),
                1 => format!("{h}.{}.{sig}", pad(&p)),
                _ => format!("{message}.{}", pad(&sig)),
            }
        }
        Encoding::StandardAlphabet => {
            let std =
                |s: &str| URL_SAFE_NO_PAD.decode(s).map(|b| STANDARD_NO_PAD.encode(b)).unwrap_or_else(|_| s.to_owned());
            format!("{}.{}.{}", std(&h), std(&p), std(&sig))
        }
        Encoding::Insert(at, c) => {
            let mut t = canonical.clone();
            let at = usize::from(*at) % (t.len() + 1);
            t.insert(at, [' ', '\n', '.', '=', '\t', '\u{0}'][usize::from(*c) % 6]);
            t
        }
    };
    let noncanonical = token != canonical;
    benign &= !noncanonical && token.len() <= MAX_TOKEN_BYTES;

    // The verifiers of the key set that holds the base key: [0, 1] HS256, [2, 3] the rest.
    let set = if base.key == 0 { 0 } else { 2 };
    for verifier in &f.verifiers[set..set + 2] {
        let result = verifier.verify(&token, expected, NOW);
        if let Ok(v) = &result {
            assert!(genuine, "accepted a token whose signature is not genuine: {token:?}");
            assert!(!noncanonical, "accepted a non-canonical encoding: {token:?}");
            assert_eq!(v.claims.token_type, expected);
            assert!(v.claims.exp > NOW, "accepted an expired token");
            assert!(v.claims.nbf.is_none_or(|n| n <= NOW), "accepted a token not yet valid");
            let (h, _) = revokd::token::dangerous::insecure_decode(&token, MAX_TOKEN_BYTES).expect("decodes");
            let named = &KEYS[named.expect("genuine")];
            assert_eq!(h["alg"], named.alg.as_str(), "accepted a header alg that is not the key's");
        }
        if benign {
            if let Err(e) = &result {
                panic!("a token re-signed by the right key with valid claims was refused: {e}: {token:?}");
            }
        }
    }
});

fn is_json(text: &str) -> bool {
    // serde_json's own limit is 128 levels; the verifier refuses deeper (TooDeep).
    serde_json::from_str::<serde_json::Value>(text).is_ok()
}
