//! The JWT attack list of the core issue, through the HTTP API of the real binary
//! (issue 13, "Known vectors"): every forged, damaged or hostile token gets the 401 and
//! code API.md promises on `/v1/verify`, `{"active": false}` on `/oauth/introspect`, no
//! identity headers, and the server neither fetches an attacker's URL nor falls over.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::header::{HeaderMap, WWW_AUTHENTICATE};
use serde_json::{Value, json};
use sha2::Digest;

use crate::common::{SECRET, Server, claims, config, v7};

const CLIENT: (&str, &str) = ("app", "app-secret-0123456789");
const IDP: &str = "https://idp.example";

fn keys_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../revokd/tests/keys")
}

fn pem(name: &str) -> Vec<u8> {
    std::fs::read(keys_dir().join(name)).unwrap()
}

fn b64(v: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(v)
}

fn now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap()
}

/// HMAC (RFC 2104) over any of the SHA-2 hashes, so tokens can be signed by hand.
fn hmac_with<D: Digest>(block: usize, key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut k = if key.len() > block { D::digest(key).to_vec() } else { key.to_vec() };
    k.resize(block, 0);
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = D::new().chain_update(&ipad).chain_update(msg).finalize();
    D::new().chain_update(&opad).chain_update(inner).finalize().to_vec()
}

/// `header.payload.signature` from raw JSON text, signed with HMAC-SHA-`bits` and `key`.
fn hs_bits(bits: u16, header: &str, payload: &str, key: &[u8]) -> String {
    let msg = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let sig = match bits {
        256 => hmac_with::<sha2::Sha256>(64, key, msg.as_bytes()),
        384 => hmac_with::<sha2::Sha384>(128, key, msg.as_bytes()),
        _ => hmac_with::<sha2::Sha512>(128, key, msg.as_bytes()),
    };
    format!("{msg}.{}", b64(&sig))
}

/// HS256 by hand.
fn hs(header: &str, payload: &str, key: &[u8]) -> String {
    hs_bits(256, header, payload, key)
}

/// HS256 with the server's own secret (kid `k1`).
fn ours(header: &str, payload: &str) -> String {
    hs(header, payload, SECRET.as_bytes())
}

const K1: &str = r#"{"alg":"HS256","kid":"k1"}"#;

/// Signs `claims` with a PEM key through the library (a real RS256/ES256/EdDSA token).
fn pem_signed(kid: &str, alg: revokd::Algorithm, file: &str, claims: &Value) -> String {
    let key = revokd::Key::from_private_pem(kid, alg, &pem(file)).unwrap();
    let t = revokd::token::Tokens::new(revokd::KeySet::new().with(key).unwrap(), revokd::TokenPolicy::default());
    t.sign(&serde_json::from_value(claims.clone()).unwrap()).unwrap()
}

/// A server with an HS256 (`k1`), an RS256 (`rs`, the signer) and an ES256 (`es`) key,
/// an audience, and a foreign issuer whose JWKS (an Ed25519 key, `idp-ed`) is a file.
fn start() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let idp = revokd::Key::from_private_pem("idp-ed", revokd::Algorithm::EdDSA, &pem("ed.pem")).unwrap();
    let jwks = revokd::KeySet::new().with(idp).unwrap().jwks();
    std::fs::write(dir.path().join("idp.json"), jwks.to_string()).unwrap();
    let keys = keys_dir();
    let extra = format!(
        "audience = \"api\"\n\
         [[keys]]\nkid = \"rs\"\nalgorithm = \"RS256\"\nprivate_key_pem = \"{}\"\n\
         [[keys]]\nkid = \"es\"\nalgorithm = \"ES256\"\nprivate_key_pem = \"{}\"\n\
         [[issuers]]\nissuer = \"{IDP}\"\naudience = \"api\"\njwks_file = \"idp.json\"\n",
        keys.join("rsa.pem").display(),
        keys.join("ec.pem").display(),
    );
    let s = Server::start(dir.path(), Some(&config(&extra)), &[]);
    (dir, s)
}

/// Claims of a valid access token of ours, issued now (taken from a real login, so
/// they are what the server itself would sign).
async fn template(s: &Server) -> Value {
    let pair = s.login(json!({"sub": "alice"})).await;
    let c = claims(pair["access_token"].as_str().unwrap());
    assert_eq!(c["aud"], "api", "{c}");
    assert_eq!(c["iss"], s.base.as_str(), "{c}");
    c
}

/// `template` with changes.
fn with(base: &Value, changes: Value) -> String {
    let mut c = base.clone();
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c.to_string()
}

fn identity_headers(h: &HeaderMap) -> Vec<String> {
    h.keys().map(|k| k.as_str().to_owned()).filter(|k| k.starts_with("x-auth-")).collect()
}

/// What `/v1/verify` answered a refused token: status, body, `WWW-Authenticate`.
struct Refusal {
    body: Value,
    www: String,
}

/// `GET /v1/verify` (and a proxied `POST /v1/verify/{path}`) refuse `token` with 401
/// `code`, a `WWW-Authenticate`, and no identity header.
async fn refused(s: &Server, name: &str, token: &str, code: &str) -> Refusal {
    let mut first = None;
    for req in [
        s.http.get(s.url("/v1/verify")),
        s.http.post(s.url("/v1/verify/api/orders")).header("x-forwarded-method", "POST"),
    ] {
        let res = req.bearer_auth(token).send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        assert_eq!(status, 401, "{name}: {text}");
        let body: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{name}: not JSON: {text}"));
        assert_eq!(body["error"], code, "{name}: {body}");
        assert!(body["message"].is_string(), "{name}: {body}");
        let www = headers
            .get(WWW_AUTHENTICATE)
            .unwrap_or_else(|| panic!("{name}: no WWW-Authenticate"))
            .to_str()
            .unwrap()
            .to_owned();
        assert!(www.starts_with("Bearer "), "{name}: {www}");
        if code != "token_missing" {
            assert!(www.contains("error=\"invalid_token\""), "{name}: {www}");
        }
        assert!(identity_headers(&headers).is_empty(), "{name}: identity headers on a refusal: {headers:?}");
        first.get_or_insert(Refusal { body, www });
    }
    first.unwrap()
}

/// `POST /oauth/introspect` as client `app` says `{"active": false}` for `token`.
async fn inactive(s: &Server, name: &str, token: &str) {
    let res = s.http.post(s.url("/oauth/introspect")).basic_auth(CLIENT.0, Some(CLIENT.1)).form(&[("token", token)]);
    let res = res.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    assert_eq!(status, 200, "{name}: {text}");
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), json!({"active": false}), "{name}");
}

/// `/v1/verify` accepts `token` (a control: the forgery around it is the only change).
async fn accepted(s: &Server, name: &str, token: &str) {
    let (st, b, h) = s.verify(token).await;
    assert_eq!(st, 200, "{name}: control token refused: {b}");
    assert!(!identity_headers(&h).is_empty(), "{name}");
}

/// The server is healthy and its log shows no panic.
async fn still_well(s: &Server) {
    let res = s.http.get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let log = s.log_text();
    assert!(!log.contains("panicked"), "{log}");
}

/// The non-canonical twin of a base64url text: the same bytes, with the unused low bits
/// of its last character set (only when that character carries unused bits).
fn noncanonical(sig: &str) -> String {
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let last = sig.chars().last().unwrap();
    let pos = alphabet.find(last).unwrap();
    let mask = match sig.len() % 4 {
        2 => 0b1111,
        3 => 0b11,
        _ => panic!("no unused bits"),
    };
    let twin = alphabet.chars().nth(pos | mask).unwrap();
    assert_ne!(twin, last);
    format!("{}{twin}", &sig[..sig.len() - 1])
}

/// The library configured as the server is (to learn the finer reason of a refusal).
fn library(s: &Server) -> revokd::token::Tokens {
    use revokd::{Algorithm, Key, KeySet};
    let keys = KeySet::new()
        .with(Key::from_private_pem("rs", Algorithm::RS256, &pem("rsa.pem")).unwrap())
        .unwrap()
        .with(Key::from_private_pem("es", Algorithm::ES256, &pem("ec.pem")).unwrap())
        .unwrap()
        .with(Key::hmac("k1", Algorithm::HS256, SECRET.as_bytes()).unwrap())
        .unwrap();
    let idp = Key::from_private_pem("idp-ed", Algorithm::EdDSA, &pem("ed.pem")).unwrap();
    let idp = KeySet::from_jwks(&KeySet::new().with(idp).unwrap().jwks()).unwrap();
    revokd::token::Tokens::new(keys, revokd::TokenPolicy::default().issuer(s.base.clone()).audience("api"))
        .with_foreign(revokd::token::ForeignIssuer { issuer: IDP.into(), audience: Some("api".into()), keys: idp })
}

#[tokio::test]
async fn every_jwt_attack_is_refused_over_http_with_the_promised_code() {
    let (_d, s) = start();
    let base = template(&s).await;
    let good = ours(K1, &base.to_string());
    let es_good = pem_signed("es", revokd::Algorithm::ES256, "ec.pem", &base);
    // Controls: our hand-signed HS256 token and a library-signed ES256 one verify, so
    // every refusal below is the forgery's doing. (They are also in the verify cache
    // now, so a damaged twin must not be answered from it.)
    for (name, t) in [("hs256 control", &good), ("es256 control", &es_good)] {
        accepted(&s, name, t).await;
        accepted(&s, name, t).await;
    }
    let body = base.to_string();
    let (msg, sig) = good.rsplit_once('.').unwrap();
    let (es_msg, _) = es_good.rsplit_once('.').unwrap();
    let secs = now().as_secs();
    let ms = now().as_millis() as u64;

    let mut attacks: Vec<(String, String, &str)> = Vec::new();
    let mut add = |name: &str, token: String, code: &'static str| attacks.push((name.to_owned(), token, code));

    // alg: none, in every spelling, with or without a (valid HS) signature
    for alg in ["none", "None", "NONE", "nOnE"] {
        let unsigned =
            format!("{}.{}.", b64(format!(r#"{{"alg":"{alg}","kid":"k1"}}"#).as_bytes()), b64(body.as_bytes()));
        add(&format!("alg {alg}, no signature"), unsigned, "token_invalid");
        add(
            &format!("alg {alg}, HS signature"),
            ours(&format!(r#"{{"alg":"{alg}","kid":"k1"}}"#), &body),
            "token_invalid",
        );
    }
    add("alg none without kid", format!("{}.{}.", b64(br#"{"alg":"none"}"#), b64(body.as_bytes())), "token_invalid");
    add("no alg", ours(r#"{"kid":"k1"}"#, &body), "token_invalid");
    add("alg null", ours(r#"{"alg":null,"kid":"k1"}"#, &body), "token_invalid");
    add("alg empty", ours(r#"{"alg":"","kid":"k1"}"#, &body), "token_invalid");

    // algorithm confusion: HS256 keyed with a public key, with and without its kid
    let jwks: Value = s.http.get(s.url("/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
    let rsa_n = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == "rs")
        .map(|k| URL_SAFE_NO_PAD.decode(k["n"].as_str().unwrap()).unwrap())
        .expect("the RSA key is in the JWKS");
    for (file, kid) in [("rsa.pub.pem", "rs"), ("ec.pub.pem", "es"), ("ed.pub.pem", "idp-ed")] {
        let public = pem(file);
        let trimmed = String::from_utf8(public.clone()).unwrap().trim().to_owned();
        for (what, secret) in [("PEM", public.clone()), ("trimmed PEM", trimmed.into_bytes())] {
            add(
                &format!("HS256 keyed with the {what} of {file}, kid {kid}"),
                hs(&format!(r#"{{"alg":"HS256","kid":"{kid}"}}"#), &body, &secret),
                "token_invalid",
            );
            add(
                &format!("HS256 keyed with the {what} of {file}, no kid"),
                hs(r#"{"alg":"HS256"}"#, &body, &secret),
                "token_invalid",
            );
        }
    }
    add(
        "HS256 keyed with the JWKS modulus, kid rs",
        hs(r#"{"alg":"HS256","kid":"rs"}"#, &body, &rsa_n),
        "token_invalid",
    );
    // a foreign token forged the same way against the IdP's published key
    let idp_claims =
        json!({"sub": "alice", "iss": IDP, "aud": "api", "iat": secs - 1, "exp": secs + 300, "jti": "f-1"});
    add(
        "foreign HS256 keyed with the IdP's PEM",
        hs(r#"{"alg":"HS256","kid":"idp-ed"}"#, &idp_claims.to_string(), &pem("ed.pub.pem")),
        "token_invalid",
    );
    // a key pins its algorithm: another HMAC size, or an asymmetric alg on the HS key
    add("HS384 on k1", hs_bits(384, r#"{"alg":"HS384","kid":"k1"}"#, &body, SECRET.as_bytes()), "token_invalid");
    add("HS512 on k1", hs_bits(512, r#"{"alg":"HS512","kid":"k1"}"#, &body, SECRET.as_bytes()), "token_invalid");
    add("RS256 header on k1", ours(r#"{"alg":"RS256","kid":"k1"}"#, &body), "token_invalid");
    add(
        "ES256 header on rs",
        format!(
            "{}.{}",
            b64(br#"{"alg":"ES256","kid":"rs"}"#),
            es_good.split('.').skip(1).collect::<Vec<_>>().join(".")
        ),
        "token_invalid",
    );

    // kids: unknown, with path characters, not a string
    add("unknown kid", ours(r#"{"alg":"HS256","kid":"nope"}"#, &body), "token_invalid");
    for kid in [
        "../../../../etc/passwd",
        "/dev/null",
        "k1\u{0}",
        "k1/../k1",
        "C:\\keys\\k1",
        "k1\n",
        "k1\r\nx: y",
        "%2e%2e%2fk1",
        "k1' OR '1'='1",
    ] {
        let h = json!({"alg": "HS256", "kid": kid}).to_string();
        add(&format!("kid {kid:?}"), ours(&h, &body), "token_invalid");
    }
    add("kid a number", ours(r#"{"alg":"HS256","kid":1}"#, &body), "token_invalid");
    add("kid an array", ours(r#"{"alg":"HS256","kid":["k1"]}"#, &body), "token_invalid");

    // crit with names nobody here understands (b64=false included: RFC 7797 is not supported)
    add("crit unknown", ours(r#"{"alg":"HS256","kid":"k1","crit":["exp-v2"],"exp-v2":1}"#, &body), "token_invalid");
    add("crit b64", ours(r#"{"alg":"HS256","kid":"k1","crit":["b64"],"b64":false}"#, &body), "token_invalid");
    add("crit not a list", ours(r#"{"alg":"HS256","kid":"k1","crit":"exp-v2"}"#, &body), "token_invalid");

    // time
    let old = ms - 120_000;
    add(
        "expired",
        ours(K1, &with(&base, json!({"jti": v7(old), "iat": old / 1000, "nbf": old / 1000, "exp": old / 1000 + 60}))),
        "token_expired",
    );
    add("not yet valid", ours(K1, &with(&base, json!({"nbf": secs + 100, "exp": secs + 200}))), "token_not_yet_valid");
    // issuer, audience, type
    add("wrong issuer", ours(K1, &with(&base, json!({"iss": "https://evil.example"}))), "token_invalid");
    add("no issuer", ours(K1, &with(&base, json!({"iss": null}))), "token_invalid");
    add("the foreign issuer on our key", ours(K1, &with(&base, json!({"iss": IDP}))), "token_invalid");
    add("wrong audience", ours(K1, &with(&base, json!({"aud": "other"}))), "token_invalid");
    add("no audience", ours(K1, &with(&base, json!({"aud": null}))), "token_invalid");
    add("refresh type", ours(K1, &with(&base, json!({"type": "refresh"}))), "token_wrong_type");
    add("unknown type", ours(K1, &with(&base, json!({"type": "id"}))), "token_invalid");
    add("exp a string", ours(K1, &with(&base, json!({"exp": "tomorrow"}))), "token_invalid");
    add("no sub", ours(K1, &with(&base, json!({"sub": null}))), "token_invalid");
    add("sub with CR LF", ours(K1, &with(&base, json!({"sub": "alice\r\nX-Auth-Subject: admin"}))), "token_invalid");
    // our issuer signed by the IdP's key: keys are bound to their issuer
    add(
        "our claims signed by the IdP",
        pem_signed("idp-ed", revokd::Algorithm::EdDSA, "ed.pem", &base),
        "token_invalid",
    );
    add("foreign claims signed with k1", ours(K1, &idp_claims.to_string()), "token_invalid");

    // bad signatures
    let other = ours(K1, "{}");
    add("another token's signature", format!("{msg}.{}", other.rsplit_once('.').unwrap().1), "token_invalid");
    add("zero HMAC", format!("{msg}.{}", b64(&[0u8; 32])), "token_invalid");
    add("empty signature", format!("{msg}."), "token_invalid");
    let mut flipped = URL_SAFE_NO_PAD.decode(sig).unwrap();
    flipped[0] ^= 1;
    add("one bit flipped", format!("{msg}.{}", b64(&flipped)), "token_invalid");
    add(
        "signature truncated to 31 bytes",
        format!("{msg}.{}", b64(&URL_SAFE_NO_PAD.decode(sig).unwrap()[..31])),
        "token_invalid",
    );
    add("wrong HMAC key", hs(K1, &body, &[9u8; 32]), "token_invalid");
    // the ECDSA signature of zeros (CVE-2022-21449), and r = s = n
    add("ECDSA zeros", format!("{es_msg}.{}", b64(&[0u8; 64])), "token_invalid");
    let n = "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551";
    let n: Vec<u8> = (0..32).map(|i| u8::from_str_radix(&n[2 * i..2 * i + 2], 16).unwrap()).collect();
    add("ECDSA r = s = n", format!("{es_msg}.{}", b64(&[n.clone(), n].concat())), "token_invalid");
    add("ECDSA empty", format!("{es_msg}."), "token_invalid");

    // truncated and non-canonical base64, and other damage
    add("truncated by 10", good[..good.len() - 10].to_owned(), "token_invalid");
    add("truncated by 11", good[..good.len() - 11].to_owned(), "token_invalid");
    add("two parts", msg.to_owned(), "token_invalid");
    add("four parts", format!("{good}.x"), "token_invalid");
    add("five parts", "a.b.c.d.e".to_owned(), "token_invalid");
    add("padding", format!("{good}="), "token_invalid");
    add(
        "padded payload",
        format!("{}.{}=.{sig}", msg.split('.').next().unwrap(), msg.split('.').nth(1).unwrap()),
        "token_invalid",
    );
    add("non-zero trailing bits", format!("{msg}.{}", noncanonical(sig)), "token_invalid");
    add("standard alphabet", format!("{msg}.{}", sig.replace('-', "+").replace('_', "/") + "+/"), "token_invalid");
    add("not base64", "!!!.???.***".to_owned(), "token_invalid");
    add("header not JSON", format!("{}.{}.{sig}", b64(b"not json"), b64(body.as_bytes())), "token_invalid");
    add("header a JSON array", ours(r#"["HS256","k1"]"#, &body), "token_invalid");
    add("payload not JSON", ours(K1, "not json"), "token_invalid");
    add("payload a JSON string", ours(K1, "\"alice\""), "token_invalid");
    add("payload with trailing garbage", ours(K1, &format!("{body}x")), "token_invalid");
    add(
        "payload not UTF-8",
        {
            let m = format!("{}.{}", b64(K1.as_bytes()), b64(b"{\"sub\":\"\xff\xfe\"}"));
            format!("{m}.{}", b64(&hmac_with::<sha2::Sha256>(64, SECRET.as_bytes(), m.as_bytes())))
        },
        "token_invalid",
    );
    add("dots only", "..".to_owned(), "token_invalid");

    // duplicate JSON keys
    add("duplicate sub", ours(K1, &body.replacen('{', r#"{"sub":"admin","#, 1)), "token_invalid");
    add("duplicate exp", ours(K1, &body.replacen('{', &format!(r#"{{"exp":{},"#, secs + 999_999), 1)), "token_invalid");
    add("duplicate kid", ours(r#"{"alg":"HS256","kid":"k1","kid":"nope"}"#, &body), "token_invalid");
    add("duplicate alg", ours(r#"{"alg":"none","alg":"HS256","kid":"k1"}"#, &body), "token_invalid");
    add("duplicate in a custom claim", ours(K1, &body.replacen('{', r#"{"perm":{"a":1,"a":2},"#, 1)), "token_invalid");
    add("escaped duplicate", ours(K1, &body.replacen('{', r#"{"s\u0075b":"admin","#, 1)), "token_invalid");

    // deeply nested JSON within the size limit, in the payload and in the header
    let deep = format!(r#"{{"x":{}1{}}}"#, "[".repeat(2500), "]".repeat(2500));
    add("nested payload", ours(K1, &deep), "token_invalid");
    add(
        "nested custom claim",
        ours(K1, &body.replacen('{', &format!(r#"{{"x":{}1{},"#, "[".repeat(2000), "]".repeat(2000)), 1)),
        "token_invalid",
    );
    add(
        "nested header",
        ours(&format!(r#"{{"alg":"HS256","kid":"k1","x":{}1{}}}"#, "[".repeat(2500), "]".repeat(2500)), &body),
        "token_invalid",
    );
    add("nested objects", ours(K1, &format!("{}1{}", r#"{"a":"#.repeat(800), "}".repeat(800))), "token_invalid");

    // over the token size limit (8192 bytes), under the header limit (16384)
    let long = ours(K1, &with(&base, json!({"pad": "p".repeat(7000)})));
    assert!((8193..12_000).contains(&long.len()), "{}", long.len());
    add("over-long (signed)", long, "token_invalid");
    add("over-long (junk)", format!("{}.{}.x", "A".repeat(9000), "B".repeat(10)), "token_invalid");
    add("10,000 [ (size limit first)", ours(K1, &"[".repeat(10_000)), "token_invalid");

    let total = attacks.len();
    let lib = library(&s);
    // The library, configured alike, refuses each with the same public code, and the
    // attacks reach every one of its checks (the finer reasons), not one check many times.
    let mut reasons = std::collections::BTreeSet::new();
    for (name, token, code) in &attacks {
        match lib.verify(token, revokd::TokenType::Access, secs) {
            Err(e) => {
                assert_eq!(e.public_code(), *code, "{name}: the library says {}", e.code());
                reasons.insert(e.code());
            }
            // valid for the library; only the identity headers refuse it
            Ok(_) => assert!(name.starts_with("sub with CR LF"), "{name}: the library accepts it"),
        }
    }
    let expected = [
        "token_algorithm_mismatch",
        "token_bad_claim",
        "token_bad_kid",
        "token_bad_signature",
        "token_duplicate_key",
        "token_expired",
        "token_malformed",
        "token_not_yet_valid",
        "token_too_deep",
        "token_too_long",
        "token_unknown_critical",
        "token_unknown_key",
        "token_unsigned",
        "token_wrong_audience",
        "token_wrong_issuer",
        "token_wrong_type",
    ];
    assert_eq!(reasons, expected.into_iter().collect(), "the finer reasons reached");
    let invalid_before = s.metric("revokd_checks_total", &["result=\"token_invalid\""]).await;
    let mut invalid_bodies = Vec::new();
    for (name, token, code) in &attacks {
        let r = refused(&s, name, token, code).await;
        if *code == "token_invalid" {
            invalid_bodies.push((name.clone(), r));
        }
        // Introspection is inactive for all but a valid refresh token (RFC 7662: it is active).
        if *code != "token_wrong_type" && !name.starts_with("sub with CR LF") {
            inactive(&s, name, token).await;
        }
    }
    // Every `token_invalid` answer is the same bytes: nothing says which check failed.
    let (first_name, first) = &invalid_bodies[0];
    for (name, r) in &invalid_bodies {
        assert_eq!(r.body, first.body, "{name} vs {first_name}");
        assert_eq!(r.www, first.www, "{name} vs {first_name}");
    }
    // Each refusal was counted (two requests per attack: GET and the proxied POST).
    let invalid_after = s.metric("revokd_checks_total", &["result=\"token_invalid\""]).await;
    assert!(invalid_after - invalid_before >= 2.0 * invalid_bodies.len() as f64, "{invalid_before} → {invalid_after}");
    // The controls still pass, the server is up and never panicked.
    accepted(&s, "hs256 control after", &good).await;
    accepted(&s, "es256 control after", &es_good).await;
    still_well(&s).await;
    assert!(total >= 90, "{total} attacks");
}

#[tokio::test]
async fn a_missing_or_empty_bearer_is_token_missing() {
    let (_d, s) = start();
    let res = s.http.get(s.url("/v1/verify")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()[WWW_AUTHENTICATE], "Bearer realm=\"revokd\"");
    assert!(identity_headers(res.headers()).is_empty());
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "token_missing");
    for auth in ["Bearer", "Bearer ", "Bearer    ", "Basic YXBwOnNlY3JldA==", "Token abc"] {
        let res = s.http.get(s.url("/v1/verify")).header("authorization", auth).send().await.unwrap();
        assert_eq!(res.status(), 401, "{auth:?}");
        assert!(identity_headers(res.headers()).is_empty(), "{auth:?}");
        assert_eq!(res.json::<Value>().await.unwrap()["error"], "token_missing", "{auth:?}");
    }
    still_well(&s).await;
}

/// A loopback HTTP server that counts its connections and serves a JWKS with the
/// attacker's HMAC key to anyone who asks.
async fn trap(attacker: &[u8]) -> (String, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    let jwks = json!({"keys": [{"kty": "oct", "kid": "attacker", "alg": "HS256", "k": b64(attacker)}]}).to_string();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let jwks = jwks.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf).await;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{jwks}",
                    jwks.len()
                );
                let _ = conn.write_all(answer.as_bytes()).await;
            });
        }
    });
    (url, hits)
}

#[tokio::test]
async fn jku_x5u_and_embedded_keys_are_never_fetched_nor_trusted() {
    let (_d, s) = start();
    let base = template(&s).await;
    let body = base.to_string();
    let attacker = [9u8; 32];
    let (url, hits) = trap(&attacker).await;
    // the trap works: a connection to it is counted
    let probe = reqwest::get(format!("{url}/jwks.json")).await.unwrap();
    assert_eq!(probe.json::<Value>().await.unwrap()["keys"][0]["kid"], "attacker");
    assert_eq!(hits.swap(0, Ordering::SeqCst), 1);

    let jwk = json!({"kty": "oct", "k": b64(&attacker)});
    let rsa_jwk = {
        let jwks: Value = s.http.get(s.url("/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
        jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == "rs").unwrap().clone()
    };
    let headers = [
        json!({"alg": "HS256", "kid": "attacker", "jku": format!("{url}/jwks.json")}),
        json!({"alg": "HS256", "jku": format!("{url}/jwks.json")}),
        json!({"alg": "HS256", "kid": "k1", "jku": format!("{url}/jwks.json")}),
        json!({"alg": "HS256", "kid": "attacker", "x5u": format!("{url}/cert.pem")}),
        json!({"alg": "HS256", "kid": "k1", "x5u": format!("{url}/cert.pem")}),
        json!({"alg": "HS256", "jwk": jwk}),
        json!({"alg": "HS256", "kid": "k1", "jwk": jwk}),
        json!({"alg": "HS256", "kid": "attacker", "jwk": jwk, "jku": format!("{url}/jwks.json")}),
        json!({"alg": "HS256", "kid": "rs", "jwk": rsa_jwk}),
        json!({"alg": "HS256", "kid": "k1", "x5c": ["MIIBszCCAVmgAwIBAgIUAttacker"]}),
    ];
    for h in &headers {
        let forged = hs(&h.to_string(), &body, &attacker);
        refused(&s, &h.to_string(), &forged, "token_invalid").await;
        inactive(&s, &h.to_string(), &forged).await;
    }
    // The same for a foreign issuer's token whose kid is unknown (a key rotation is what
    // an unknown kid looks like): only the configured JWKS may ever be consulted.
    let secs = now().as_secs();
    let idp = json!({"sub": "alice", "iss": IDP, "aud": "api", "iat": secs - 1, "exp": secs + 300, "jti": "f-2"});
    let h = json!({"alg": "HS256", "kid": "attacker", "jku": format!("{url}/jwks.json")}).to_string();
    refused(&s, "foreign with jku", &hs(&h, &idp.to_string(), &attacker), "token_invalid").await;
    // Our own valid signature with those headers: they change nothing, and are not fetched.
    for h in &headers[2..=4] {
        let token = ours(&h.to_string().replace("\"attacker\"", "\"k1\""), &body);
        accepted(&s, &h.to_string(), &token).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(hits.load(Ordering::SeqCst), 0, "revokd connected to a URL named in a token header");
    still_well(&s).await;
}

#[tokio::test]
async fn over_long_tokens_hit_the_size_limit_and_oversized_headers_get_431() {
    let (_d, s) = start();
    let base = template(&s).await;
    // just at the limit the token is read; one byte more and it is refused unread
    let pad = |n: usize| ours(K1, &with(&base, json!({"pad": "p".repeat(n)})));
    let mut n = 5000;
    while pad(n + 1).len() <= 8192 {
        n += 1;
    }
    let at_limit = pad(n);
    assert_eq!(at_limit.len() <= 8192, pad(n + 1).len() > 8192);
    accepted(&s, "8192-byte token", &at_limit).await;
    let over = (n + 1..).map(pad).find(|t| t.len() > 8192).unwrap();
    refused(&s, "just over 8192", &over, "token_invalid").await;
    inactive(&s, "just over 8192", &over).await;
    // bigger than max_header_bytes (16384): 431 before any route
    let huge = ours(K1, &with(&base, json!({"pad": "p".repeat(13_000)})));
    assert!(huge.len() > 16_384);
    let res = s.http.get(s.url("/v1/verify")).bearer_auth(&huge).send().await.unwrap();
    assert_eq!(res.status(), 431);
    assert!(identity_headers(res.headers()).is_empty());
    assert_eq!(res.json::<Value>().await.unwrap()["error"], "headers_too_large");
    // the same token in an introspection form (a body, under max_body_bytes) is inactive
    inactive(&s, "huge in a form", &huge).await;
    // a megabyte of token in a form: 413, not a crash
    let mega = "A".repeat(1 << 20);
    let res = s.http.post(s.url("/oauth/introspect")).basic_auth(CLIENT.0, Some(CLIENT.1)).form(&[("token", &mega)]);
    assert_eq!(res.send().await.unwrap().status(), 413);
    assert_eq!(
        s.metric("revokd_http_requests_total", &["route=\"(limits)\"", "status=\"431\""]).await,
        1.0,
        "the 431 is counted"
    );
    still_well(&s).await;
}

#[tokio::test]
async fn deeply_nested_json_is_refused_and_the_server_stays_up() {
    let (_d, s) = start();
    let base = template(&s).await;
    let good = ours(K1, &base.to_string());
    // 10,000 brackets are over the token size limit (refused unread; in a header past
    // max_header_bytes, 431); the shallower ones fit and reach the JSON parser.
    let shapes = [
        "[".repeat(10_000),
        format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)),
        format!(r#"{{"x":{}1{}}}"#, "[".repeat(2500), "]".repeat(2500)),
        format!("{}1{}", r#"{"a":"#.repeat(800), "}".repeat(800)),
        format!(r#"{{"x":{}"#, "{\"a\":[".repeat(600)),
    ];
    for (i, payload) in shapes.iter().enumerate() {
        // in the payload, and in the header
        for (where_, token) in [
            ("payload", ours(K1, payload)),
            ("header", ours(&format!(r#"{{"alg":"HS256","kid":"k1","x":{payload}}}"#), &base.to_string())),
        ] {
            let name = format!("{where_} shape {i} ({} bytes)", token.len());
            if token.len() < 16_000 {
                refused(&s, &name, &token, "token_invalid").await;
            } else {
                let res = s.http.get(s.url("/v1/verify")).bearer_auth(&token).send().await.unwrap();
                assert_eq!(res.status(), 431, "{name}");
            }
            inactive(&s, &name, &token).await;
        }
        accepted(&s, "control", &good).await;
    }
    still_well(&s).await;
}

/// API.md: `token_invalid` covers many reasons, "the library keeps the finer reason for
/// logs and metrics". An operator under attack should be able to see which.
#[tokio::test]
async fn the_finer_reason_of_a_refusal_reaches_the_metrics_or_the_log() {
    let (_d, s) = start();
    let base = template(&s).await;
    let unsigned = format!("{}.{}.", b64(br#"{"alg":"none","kid":"k1"}"#), b64(base.to_string().as_bytes()));
    refused(&s, "alg none", &unsigned, "token_invalid").await;
    let confused = hs(r#"{"alg":"HS256","kid":"rs"}"#, &base.to_string(), &pem("rsa.pub.pem"));
    refused(&s, "confusion", &confused, "token_invalid").await;
    let metrics = s.http.get(s.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let log = s.log_text();
    for reason in ["token_unsigned", "token_algorithm_mismatch"] {
        assert!(
            metrics.contains(reason) || log.contains(reason),
            "{reason} is neither in /metrics nor in the log:\n{metrics}\n{log}"
        );
    }
}
