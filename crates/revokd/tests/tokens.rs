//! Signing and verifying with every algorithm, key rotation, JWKS, and attacks: each
//! rejected with a distinct, stable error and no panic.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::EncodingKey;
use revokd::token::{ForeignIssuer, Tokens};
use revokd::{Algorithm, Claims, Error, Key, KeySet, TokenPolicy, TokenType};
use serde_json::{Value, json};

use crate::common::{SECRET, pem};

const NOW: u64 = 1_735_689_600;

fn claims(token_type: TokenType) -> Claims {
    serde_json::from_value(json!({
        "jti": "01941f29-7c00-7000-8000-000000000001",
        "sub": "alice", "iat": NOW, "nbf": NOW, "exp": NOW + 60,
        "type": token_type.as_str(), "fresh": true, "fam": "01943b9a-5c00-7000-8000-0000000000ff",
        "role": "admin"
    }))
    .unwrap()
}

fn every_signing_key() -> Vec<Key> {
    vec![
        Key::hmac("hs256", Algorithm::HS256, &[7u8; 32]).unwrap(),
        Key::hmac("hs384", Algorithm::HS384, &[7u8; 48]).unwrap(),
        Key::hmac("hs512", Algorithm::HS512, &[7u8; 64]).unwrap(),
        Key::from_private_pem("rs", Algorithm::RS256, &pem("rsa.pem")).unwrap(),
        Key::from_private_pem("es", Algorithm::ES256, &pem("ec.pem")).unwrap(),
        Key::from_private_pem("ed", Algorithm::EdDSA, &pem("ed.pem")).unwrap(),
        Key::generate_ed25519().unwrap().0,
    ]
}

#[test]
fn every_algorithm_signs_and_verifies() {
    for key in every_signing_key() {
        let alg = key.algorithm();
        let t = Tokens::new(KeySet::new().with(key).unwrap(), TokenPolicy::default());
        let token = t.sign(&claims(TokenType::Access)).unwrap();
        let v = t.verify(&token, TokenType::Access, NOW).unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(v.claims.sub, "alice");
        assert_eq!(v.claims.custom::<String>("role").as_deref(), Some("admin"));
        assert_eq!(v.issued_ms, 1_735_689_600_000, "issue instant is the jti's UUIDv7 millisecond");
    }
}

#[test]
fn public_keys_verify_what_private_keys_sign_and_jwks_round_trips() {
    for (private, public, alg) in [
        ("rsa.pem", "rsa.pub.pem", Algorithm::RS256),
        ("ec.pem", "ec.pub.pem", Algorithm::ES256),
        ("ed.pem", "ed.pub.pem", Algorithm::EdDSA),
    ] {
        let signer = Key::from_private_pem("k", alg, &pem(private)).unwrap();
        let verifier = Key::from_public_pem("k", alg, &pem(public)).unwrap();
        assert!(!verifier.can_sign());
        assert_eq!(signer.fingerprint(), verifier.fingerprint(), "{alg}: fingerprint is of the public material");
        let signing = Tokens::new(KeySet::new().with(signer).unwrap(), TokenPolicy::default());
        let token = signing.sign(&claims(TokenType::Access)).unwrap();
        let verifying = Tokens::new(KeySet::new().with(verifier).unwrap(), TokenPolicy::default());
        verifying.verify(&token, TokenType::Access, NOW).unwrap();
        // JWKS export, then import: still verifies.
        let jwks = signing.keys().jwks();
        assert_eq!(jwks["keys"][0]["alg"], alg.as_str());
        assert!(jwks["keys"][0].get("d").is_none(), "no private parts in a JWKS");
        let from_jwks = Tokens::new(KeySet::from_jwks(&jwks).unwrap(), TokenPolicy::default());
        from_jwks.verify(&token, TokenType::Access, NOW).unwrap();
    }
    let hs = KeySet::new().with(Key::hmac("h", Algorithm::HS256, SECRET).unwrap()).unwrap();
    assert_eq!(hs.jwks(), json!({"keys": []}), "secrets are never published");
}

#[test]
fn rotation_signs_with_the_first_and_verifies_with_all() {
    let old = Key::hmac("old", Algorithm::HS256, &[1u8; 32]).unwrap();
    let new = Key::from_private_pem("new", Algorithm::EdDSA, &pem("ed.pem")).unwrap();
    let before = Tokens::new(KeySet::new().with(old.clone()).unwrap(), TokenPolicy::default());
    let old_token = before.sign(&claims(TokenType::Access)).unwrap();
    let after = Tokens::new(KeySet::new().with(new).unwrap().with(old).unwrap(), TokenPolicy::default());
    let new_token = after.sign(&claims(TokenType::Access)).unwrap();
    assert_eq!(header(&new_token)["kid"], "new");
    after.verify(&old_token, TokenType::Access, NOW).unwrap();
    after.verify(&new_token, TokenType::Access, NOW).unwrap();
}

#[test]
fn weak_and_mismatched_keys_are_refused() {
    for (alg, len) in [(Algorithm::HS256, 31), (Algorithm::HS384, 47), (Algorithm::HS512, 63)] {
        let e = Key::hmac("k", alg, &vec![1u8; len]).unwrap_err();
        assert_eq!(e.code(), "invalid_key", "{alg}");
    }
    let e = Key::from_private_pem("k", Algorithm::RS256, &pem("rsa1024.pem")).unwrap_err();
    assert!(e.to_string().contains("2048"), "{e}");
    assert!(Key::from_private_pem("k", Algorithm::ES256, &pem("rsa.pem")).is_err());
    assert!(Key::from_private_pem("k", Algorithm::RS256, b"not a pem").is_err());
    let k = Key::hmac("a", Algorithm::HS256, SECRET).unwrap();
    assert!(KeySet::new().with(k.clone()).unwrap().with(k).is_err(), "duplicate kid");
}

// ---- attacks -------------------------------------------------------------------------

fn b64(v: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(v)
}

fn header(token: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap()).unwrap()
}

/// Builds a token from raw header and payload text, signed with `key` under `alg`.
fn raw(header: &str, payload: &str, key: &EncodingKey, alg: jsonwebtoken::Algorithm) -> String {
    let msg = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let sig = jsonwebtoken::crypto::sign(msg.as_bytes(), key, alg).unwrap();
    format!("{msg}.{sig}")
}

fn payload() -> String {
    serde_json::to_string(&claims(TokenType::Access)).unwrap()
}

fn hs_tokens() -> Tokens {
    Tokens::new(KeySet::new().with(Key::hmac("hs", Algorithm::HS256, SECRET).unwrap()).unwrap(), TokenPolicy::default())
}

fn hs_key() -> EncodingKey {
    EncodingKey::from_secret(SECRET)
}

fn code(t: &Tokens, token: &str) -> &'static str {
    t.verify(token, TokenType::Access, NOW).unwrap_err().code()
}

#[test]
fn alg_none_is_refused() {
    let t = hs_tokens();
    let token = format!("{}.{}.", b64(br#"{"alg":"none","kid":"hs"}"#), b64(payload().as_bytes()));
    assert_eq!(code(&t, &token), "token_unsigned");
    let token = format!("{}.{}.", b64(br#"{"alg":"None"}"#), b64(payload().as_bytes()));
    assert_eq!(code(&t, &token), "token_unsigned");
}

#[test]
fn hs256_signed_with_a_public_key_is_refused() {
    for (file, alg, kid) in [("rsa.pub.pem", Algorithm::RS256, "rs"), ("ec.pub.pem", Algorithm::ES256, "es")] {
        let public = pem(file);
        let t = Tokens::new(
            KeySet::new().with(Key::from_public_pem(kid, alg, &public).unwrap()).unwrap(),
            TokenPolicy::default(),
        );
        let forged = raw(
            &format!(r#"{{"alg":"HS256","kid":"{kid}"}}"#),
            &payload(),
            &EncodingKey::from_secret(&public),
            jsonwebtoken::Algorithm::HS256,
        );
        let e = t.verify(&forged, TokenType::Access, NOW).unwrap_err();
        assert!(matches!(e, Error::AlgorithmMismatch { .. }), "{e}");
        // without a kid too
        let forged =
            raw(r#"{"alg":"HS256"}"#, &payload(), &EncodingKey::from_secret(&public), jsonwebtoken::Algorithm::HS256);
        assert_eq!(code(&t, &forged), "token_algorithm_mismatch");
    }
}

#[test]
fn unknown_and_path_kids_are_refused() {
    let t = hs_tokens();
    let signed = |kid: &str| {
        raw(&json!({"alg": "HS256", "kid": kid}).to_string(), &payload(), &hs_key(), jsonwebtoken::Algorithm::HS256)
    };
    assert_eq!(code(&t, &signed("nope")), "token_unknown_key");
    for kid in ["../../../../etc/passwd", "/dev/null", "hs\u{0}", "hs/../hs", "C:\\keys\\hs", "hs\n"] {
        assert_eq!(code(&t, &signed(kid)), "token_bad_kid", "{kid:?}");
    }
}

/// `kid` and `crit`, when present, must be of their types (RFC 7515 §4.1.4, §4.1.11):
/// `"kid": null` is not "no kid", even for a set of one key, which would take a token
/// without a kid; `"crit": null` is not "no crit".
#[test]
fn a_kid_or_crit_of_the_wrong_type_is_malformed() {
    let t = hs_tokens();
    let signed = |h: serde_json::Value| raw(&h.to_string(), &payload(), &hs_key(), jsonwebtoken::Algorithm::HS256);
    t.verify(&signed(json!({"alg": "HS256"})), TokenType::Access, NOW).unwrap();
    for h in [
        json!({"alg": "HS256", "kid": null}),
        json!({"alg": "HS256", "kid": 7}),
        json!({"alg": "HS256", "kid": ["hs"]}),
        json!({"alg": "HS256", "kid": "hs", "crit": null}),
        json!({"alg": "HS256", "kid": "hs", "crit": "exp"}),
        json!({"alg": null, "kid": "hs"}),
    ] {
        assert_eq!(code(&t, &signed(h.clone())), "token_malformed", "{h}");
    }
}

#[test]
fn jku_x5u_and_embedded_jwk_are_never_trusted() {
    let t = hs_tokens();
    // An attacker's own key, advertised in the header: ignored, so the token fails.
    let attacker = EncodingKey::from_secret(&[9u8; 32]);
    let jwk = json!({"kty": "oct", "k": b64(&[9u8; 32])});
    for h in [
        json!({"alg": "HS256", "kid": "hs", "jwk": jwk}),
        json!({"alg": "HS256", "kid": "hs", "jku": "http://127.0.0.1:1/jwks.json"}),
        json!({"alg": "HS256", "kid": "hs", "x5u": "http://127.0.0.1:1/cert.pem"}),
    ] {
        let token = raw(&h.to_string(), &payload(), &attacker, jsonwebtoken::Algorithm::HS256);
        assert_eq!(code(&t, &token), "token_bad_signature");
        // The same headers on a token signed with our key change nothing either.
        let token = raw(&h.to_string(), &payload(), &hs_key(), jsonwebtoken::Algorithm::HS256);
        t.verify(&token, TokenType::Access, NOW).unwrap();
    }
}

#[test]
fn unknown_crit_is_refused() {
    let t = hs_tokens();
    let token = raw(
        r#"{"alg":"HS256","kid":"hs","crit":["exp-v2"],"exp-v2":1}"#,
        &payload(),
        &hs_key(),
        jsonwebtoken::Algorithm::HS256,
    );
    assert_eq!(code(&t, &token), "token_unknown_critical");
}

#[test]
fn time_issuer_audience_and_type_are_enforced() {
    let policy = TokenPolicy::default().issuer("https://revokd").audience("api").leeway(5);
    let t = Tokens::new(KeySet::new().with(Key::hmac("hs", Algorithm::HS256, SECRET).unwrap()).unwrap(), policy);
    let mut c = claims(TokenType::Access);
    c.iss = Some("https://revokd".into());
    c.aud = Some(revokd::token::Audience::Many(vec!["other".into(), "api".into()]));
    let good = t.sign(&c).unwrap();
    t.verify(&good, TokenType::Access, NOW).unwrap();
    t.verify(&good, TokenType::Access, NOW + 64).unwrap(); // within leeway
    assert_eq!(t.verify(&good, TokenType::Access, NOW + 65).unwrap_err().code(), "token_expired");
    assert_eq!(t.verify(&good, TokenType::Access, NOW - 6).unwrap_err().code(), "token_not_yet_valid");
    t.verify(&good, TokenType::Access, NOW - 5).unwrap();
    assert_eq!(t.verify(&good, TokenType::Refresh, NOW).unwrap_err().code(), "token_wrong_type");

    let mut wrong_iss = c.clone();
    wrong_iss.iss = Some("https://evil".into());
    assert_eq!(
        t.verify(&t.sign(&wrong_iss).unwrap(), TokenType::Access, NOW).unwrap_err().code(),
        "token_wrong_issuer"
    );
    let mut no_iss = c.clone();
    no_iss.iss = None;
    assert_eq!(t.verify(&t.sign(&no_iss).unwrap(), TokenType::Access, NOW).unwrap_err().code(), "token_wrong_issuer");
    let mut wrong_aud = c.clone();
    wrong_aud.aud = Some(revokd::token::Audience::One("other".into()));
    assert_eq!(
        t.verify(&t.sign(&wrong_aud).unwrap(), TokenType::Access, NOW).unwrap_err().code(),
        "token_wrong_audience"
    );

    let refresh = t
        .sign(&{
            let mut r = c.clone();
            r.token_type = TokenType::Refresh;
            r
        })
        .unwrap();
    assert_eq!(t.verify(&refresh, TokenType::Access, NOW).unwrap_err().code(), "token_wrong_type");
    t.verify(&refresh, TokenType::Refresh, NOW).unwrap();
}

#[test]
fn damaged_tokens_are_refused() {
    let t = hs_tokens();
    let good = t.sign(&claims(TokenType::Access)).unwrap();
    let (msg, sig) = good.rsplit_once('.').unwrap();
    // bad signature: another valid signature
    let other = raw(r#"{"alg":"HS256","kid":"hs"}"#, "{}", &hs_key(), jsonwebtoken::Algorithm::HS256);
    assert_eq!(code(&t, &format!("{msg}.{}", other.rsplit_once('.').unwrap().1)), "token_bad_signature");
    // truncated
    assert_eq!(code(&t, &good[..good.len() - 10]), "token_malformed", "33 characters are no base64");
    assert_eq!(code(&t, &good[..good.len() - 11]), "token_bad_signature");
    assert_eq!(code(&t, msg), "token_malformed");
    assert_eq!(code(&t, &format!("{msg}.")), "token_bad_signature");
    assert_eq!(code(&t, ""), "token_malformed");
    assert_eq!(code(&t, "a.b.c.d"), "token_malformed");
    // non-canonical base64: padding, and non-zero trailing bits in the last character
    assert_eq!(code(&t, &format!("{msg}.{sig}=")), "token_malformed");
    let last = sig.chars().last().unwrap();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let pos = alphabet.find(last).unwrap();
    // a 32-byte signature is 43 characters: the last carries 4 bits and 2 must be zero
    let twin = alphabet.chars().nth(pos | 1).unwrap();
    assert_ne!(twin, last);
    assert_eq!(code(&t, &format!("{msg}.{}{twin}", &sig[..sig.len() - 1])), "token_malformed");
    // not base64 at all, not JSON
    assert_eq!(code(&t, "!!!.???.***"), "token_malformed");
    let token = format!("{}.{}.{sig}", b64(b"not json"), b64(b"{}"));
    assert_eq!(code(&t, &token), "token_malformed");
}

#[test]
fn duplicate_keys_are_refused_in_header_and_claims() {
    let t = hs_tokens();
    let dup_claims = payload().replacen("\"sub\":\"alice\"", "\"sub\":\"alice\",\"sub\":\"admin\"", 1);
    assert!(dup_claims.contains("\"sub\":\"admin\""));
    let token = raw(r#"{"alg":"HS256","kid":"hs"}"#, &dup_claims, &hs_key(), jsonwebtoken::Algorithm::HS256);
    assert_eq!(code(&t, &token), "token_duplicate_key");
    let token =
        raw(r#"{"alg":"HS256","kid":"hs","kid":"other"}"#, &payload(), &hs_key(), jsonwebtoken::Algorithm::HS256);
    assert_eq!(code(&t, &token), "token_duplicate_key");
    // A custom claim repeated, and a key repeated inside a custom claim's object.
    for dup in [r#""role":"user","role":"admin""#, r#""perm":{"a":[{"x":1}],"b":1,"b":2}"#] {
        let claims = payload().replacen("\"sub\":\"alice\"", &format!("\"sub\":\"alice\",{dup}"), 1);
        let token = raw(r#"{"alg":"HS256","kid":"hs"}"#, &claims, &hs_key(), jsonwebtoken::Algorithm::HS256);
        assert_eq!(code(&t, &token), "token_duplicate_key", "{claims}");
    }
    // The same key in sibling objects of an array is not a duplicate.
    let claims = payload().replacen("\"sub\":\"alice\"", r#""sub":"alice","l":[{"b":1},{"b":2}]"#, 1);
    let token = raw(r#"{"alg":"HS256","kid":"hs"}"#, &claims, &hs_key(), jsonwebtoken::Algorithm::HS256);
    let v = t.verify(&token, TokenType::Access, NOW).unwrap();
    assert_eq!(v.claims.custom["l"], serde_json::json!([{"b": 1}, {"b": 2}]));
}

#[test]
fn deeply_nested_json_is_refused_without_a_panic() {
    let t = Tokens::new(
        KeySet::new().with(Key::hmac("hs", Algorithm::HS256, SECRET).unwrap()).unwrap(),
        TokenPolicy::default().max_token_bytes(1 << 20),
    );
    let nested = format!(r#"{{"sub":"a","x":{}1{}}}"#, "[".repeat(5000), "]".repeat(5000));
    let token = raw(r#"{"alg":"HS256","kid":"hs"}"#, &nested, &hs_key(), jsonwebtoken::Algorithm::HS256);
    assert_eq!(code(&t, &token), "token_too_deep");
}

#[test]
fn over_long_tokens_are_refused_before_decoding() {
    let t = hs_tokens();
    let huge = format!("{}.{}.x", "A".repeat(9000), "B".repeat(10));
    let e = t.verify(&huge, TokenType::Access, NOW).unwrap_err();
    assert!(matches!(e, Error::TokenTooLong { limit: 8192 }), "{e}");
}

#[test]
fn an_ecdsa_signature_of_zeros_is_refused() {
    let t = Tokens::new(
        KeySet::new().with(Key::from_public_pem("es", Algorithm::ES256, &pem("ec.pub.pem")).unwrap()).unwrap(),
        TokenPolicy::default(),
    );
    let msg = format!("{}.{}", b64(br#"{"alg":"ES256","kid":"es"}"#), b64(payload().as_bytes()));
    assert_eq!(code(&t, &format!("{msg}.{}", b64(&[0u8; 64]))), "token_bad_signature");
}

/// Each attack, built for real, and the code it gets: all distinct, all folded into
/// `token_invalid` (or a time/type code) for clients.
#[test]
fn every_attack_has_its_own_code() {
    let policy = TokenPolicy::default().issuer("https://revokd").audience("api");
    let t = Tokens::new(KeySet::new().with(Key::hmac("hs", Algorithm::HS256, SECRET).unwrap()).unwrap(), policy);
    let mut c = claims(TokenType::Access);
    c.iss = Some("https://revokd".into());
    c.aud = Some(revokd::token::Audience::One("api".into()));
    let body = serde_json::to_string(&c).unwrap();
    let hs = |h: &str, p: &str| raw(h, p, &hs_key(), jsonwebtoken::Algorithm::HS256);
    let with = |f: &dyn Fn(&mut Claims)| {
        let mut x = c.clone();
        f(&mut x);
        t.sign(&x).unwrap()
    };
    let good = t.sign(&c).unwrap();
    let (msg, _) = good.rsplit_once('.').unwrap();
    let attacks: Vec<(&str, String)> = vec![
        ("token_unsigned", format!("{}.{}.", b64(br#"{"alg":"none"}"#), b64(body.as_bytes()))),
        ("token_algorithm_mismatch", hs(r#"{"alg":"HS384","kid":"hs"}"#, &body)),
        ("token_unknown_key", hs(r#"{"alg":"HS256","kid":"other"}"#, &body)),
        ("token_bad_kid", hs(r#"{"alg":"HS256","kid":"../hs"}"#, &body)),
        ("token_unknown_critical", hs(r#"{"alg":"HS256","kid":"hs","crit":["x"],"x":1}"#, &body)),
        ("token_bad_signature", format!("{msg}.{}", b64(&[0u8; 32]))),
        ("token_malformed", format!("{msg}.AAAA=")),
        ("token_duplicate_key", hs(r#"{"alg":"HS256","kid":"hs"}"#, &body.replacen('{', r#"{"sub":"x","#, 1))),
        (
            "token_too_deep",
            hs(r#"{"alg":"HS256","kid":"hs"}"#, &format!(r#"{{"a":{}1{}}}"#, "[".repeat(200), "]".repeat(200))),
        ),
        ("token_too_long", format!("{}.x.y", "A".repeat(9000))),
        ("token_expired", with(&|x| x.exp = NOW - 1)),
        ("token_not_yet_valid", with(&|x| x.nbf = Some(NOW + 10))),
        ("token_wrong_issuer", with(&|x| x.iss = Some("https://evil".into()))),
        ("token_wrong_audience", with(&|x| x.aud = None)),
        ("token_wrong_type", with(&|x| x.token_type = TokenType::Refresh)),
        ("token_bad_claim", hs(r#"{"alg":"HS256","kid":"hs"}"#, r#"{"sub":"a","iat":"yesterday","exp":1}"#)),
    ];
    let mut seen = std::collections::HashSet::new();
    for (expected, token) in &attacks {
        let e = t.verify(token, TokenType::Access, NOW).unwrap_err();
        assert_eq!(e.code(), *expected, "{e}");
        assert!(seen.insert(e.code()), "{} used twice", e.code());
        assert!(
            ["token_invalid", "token_expired", "token_not_yet_valid", "token_wrong_type"].contains(&e.public_code()),
            "{expected} → {}",
            e.public_code()
        );
    }
    t.verify(&good, TokenType::Access, NOW).unwrap();
}

#[test]
fn foreign_tokens_need_iat_exp_and_a_bounded_lifetime() {
    let idp_key = Key::from_private_pem("idp1", Algorithm::RS256, &pem("rsa.pem")).unwrap();
    let idp = Tokens::new(KeySet::new().with(idp_key).unwrap(), TokenPolicy::default());
    let jwks = idp.keys().jwks();
    let ours = hs_tokens().with_foreign(ForeignIssuer {
        issuer: "https://idp.example".into(),
        audience: Some("api".into()),
        keys: KeySet::from_jwks(&jwks).unwrap(),
    });
    let mk = |v: Value| -> Claims { serde_json::from_value(v).unwrap() };
    let good = idp
        .sign(&mk(json!({"sub": "alice", "iss": "https://idp.example", "aud": "api", "iat": NOW, "exp": NOW + 300, "jti": "abc"})))
        .unwrap();
    let v = ours.verify(&good, TokenType::Access, NOW).unwrap();
    assert_eq!(v.origin, revokd::token::Origin::Foreign(0));
    assert_eq!(v.issued_ms, NOW * 1000, "foreign issue instant is iat");
    let long = idp
        .sign(&mk(json!({"sub": "alice", "iss": "https://idp.example", "aud": "api", "iat": NOW, "exp": NOW + 86_401})))
        .unwrap();
    assert_eq!(code(&ours, &long), "token_lifetime_too_long");
    let no_aud = idp.sign(&mk(json!({"sub": "a", "iss": "https://idp.example", "iat": NOW, "exp": NOW + 10}))).unwrap();
    assert_eq!(code(&ours, &no_aud), "token_wrong_audience");
    // issued in the future: it would escape every cutoff made now
    let future = idp
        .sign(&mk(
            json!({"sub": "a", "iss": "https://idp.example", "aud": "api", "iat": NOW + 3600, "exp": NOW + 3700}),
        ))
        .unwrap();
    assert_eq!(code(&ours, &future), "token_bad_claim");
    // no iat: the claims fail to parse
    let msg = raw(
        r#"{"alg":"RS256","kid":"idp1"}"#,
        &json!({"sub": "a", "iss": "https://idp.example", "aud": "api", "exp": NOW + 10}).to_string(),
        &EncodingKey::from_rsa_pem(&pem("rsa.pem")).unwrap(),
        jsonwebtoken::Algorithm::RS256,
    );
    assert_eq!(code(&ours, &msg), "token_bad_claim");
    // an IdP token is never verified with our keys, nor ours with the IdP's
    let forged = raw(
        r#"{"alg":"HS256","kid":"hs"}"#,
        &json!({"sub": "a", "iss": "https://idp.example", "aud": "api", "iat": NOW, "exp": NOW + 10}).to_string(),
        &hs_key(),
        jsonwebtoken::Algorithm::HS256,
    );
    assert_eq!(code(&ours, &forged), "token_unknown_key");
}
