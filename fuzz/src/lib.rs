//! Shared setup of the fuzz targets: the test keys of `crates/revokd/tests/keys`, the
//! verifiers, and the valid tokens every target starts from. Everything here is
//! deterministic except ES256 signatures (ECDSA signs with a random nonce).

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use revokd::clock::ManualClock;
use revokd::store::MemoryStore;
use revokd::token::{CacheConfig, Tokens};
use revokd::{Algorithm, Claims, Key, KeySet, Revokd, Target, TokenPolicy, TokenType};

/// The instant every verification happens at: 2025-01-01T00:00:00Z.
pub const NOW: u64 = 1_735_689_600;
/// Longest token the verifiers accept (the library's default).
pub const MAX_TOKEN_BYTES: usize = 8192;
/// The HMAC secret (32 bytes, the minimum for HS256).
pub const HS_SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
/// The jti of the token that the `Revokd` of [`Fixture`] has revoked.
pub const REVOKED_JTI: &str = "01941f29-7c00-7000-8000-00000000dead";

/// A test key: its kid, algorithm, PEMs (none for HMAC).
#[derive(Debug, Clone, Copy)]
pub struct TestKey {
    /// The kid.
    pub kid: &'static str,
    /// The algorithm.
    pub alg: Algorithm,
    /// Private PEM (PKCS#8), or the HMAC secret.
    pub private: &'static [u8],
    /// Public PEM (empty for HMAC).
    pub public: &'static [u8],
}

/// Every key the targets use. The `hs` set holds the first; the asymmetric set the rest.
pub const KEYS: [TestKey; 4] = [
    TestKey { kid: "hs", alg: Algorithm::HS256, private: HS_SECRET, public: b"" },
    TestKey {
        kid: "rs",
        alg: Algorithm::RS256,
        private: include_bytes!("../../crates/revokd/tests/keys/rsa.pem"),
        public: include_bytes!("../../crates/revokd/tests/keys/rsa.pub.pem"),
    },
    TestKey {
        kid: "ed",
        alg: Algorithm::EdDSA,
        private: include_bytes!("../../crates/revokd/tests/keys/ed.pem"),
        public: include_bytes!("../../crates/revokd/tests/keys/ed.pub.pem"),
    },
    TestKey {
        kid: "es",
        alg: Algorithm::ES256,
        private: include_bytes!("../../crates/revokd/tests/keys/ec.pem"),
        public: include_bytes!("../../crates/revokd/tests/keys/ec.pub.pem"),
    },
];

impl TestKey {
    /// The revokd key (private part, so it can sign too).
    pub fn key(&self) -> Key {
        match self.alg {
            Algorithm::HS256 => Key::hmac(self.kid, self.alg, self.private).expect("hmac key"),
            _ => Key::from_private_pem(self.kid, self.alg, self.private).expect("pem key"),
        }
    }

    /// A jsonwebtoken signing key, to sign raw header/payload bytes.
    pub fn encoding(&self) -> jsonwebtoken::EncodingKey {
        use jsonwebtoken::EncodingKey;
        match self.alg {
            Algorithm::HS256 => EncodingKey::from_secret(self.private),
            Algorithm::RS256 => EncodingKey::from_rsa_pem(self.private).expect("rsa"),
            Algorithm::EdDSA => EncodingKey::from_ed_pem(self.private).expect("ed"),
            _ => EncodingKey::from_ec_pem(self.private).expect("ec"),
        }
    }

    /// The jsonwebtoken algorithm.
    pub fn jwt_alg(&self) -> jsonwebtoken::Algorithm {
        match self.alg {
            Algorithm::HS256 => jsonwebtoken::Algorithm::HS256,
            Algorithm::RS256 => jsonwebtoken::Algorithm::RS256,
            Algorithm::EdDSA => jsonwebtoken::Algorithm::EdDSA,
            _ => jsonwebtoken::Algorithm::ES256,
        }
    }

    /// Signs `message` (`header.payload`) with this key: the base64url signature.
    pub fn sign(&self, message: &[u8]) -> String {
        jsonwebtoken::crypto::sign(message, &self.encoding(), self.jwt_alg()).expect("sign")
    }
}

/// The HS256 key set.
pub fn hs_keys() -> KeySet {
    KeySet::new().with(KEYS[0].key()).expect("hs set")
}

/// The RS256 + EdDSA + ES256 key set (RS256 signs).
pub fn asym_keys() -> KeySet {
    KEYS[1..].iter().try_fold(KeySet::new(), |s, k| s.with(k.key())).expect("asym set")
}

/// Claims valid at [`NOW`] for a minute.
pub fn claims(token_type: TokenType, jti: &str) -> Claims {
    serde_json::from_value(serde_json::json!({
        "jti": jti,
        "sub": "alice", "iat": NOW, "nbf": NOW, "exp": NOW + 60,
        "type": token_type.as_str(), "fresh": true, "fam": "01943b9a-5c00-7000-8000-0000000000ff",
        "role": "admin"
    }))
    .expect("claims")
}

/// A valid token: what it is, the key that signed it, and the token.
#[derive(Debug, Clone)]
pub struct Minted {
    /// A short name (used for the seed file names).
    pub name: String,
    /// Index into [`KEYS`].
    pub key: usize,
    /// Its type.
    pub token_type: TokenType,
    /// The compact JWS.
    pub token: String,
}

/// Signs one access and one refresh token with each key (HS256 also a revoked one):
/// compact JWS with header `{"typ":"JWT","alg":…,"kid":…}`, as `Tokens::sign` makes them.
pub fn mint() -> Vec<Minted> {
    let mut out = Vec::new();
    for (i, k) in KEYS.iter().enumerate() {
        let tokens = Tokens::new(KeySet::new().with(k.key()).expect("set"), TokenPolicy::default());
        for (ty, jti) in [
            (TokenType::Access, "01941f29-7c00-7000-8000-000000000001"),
            (TokenType::Refresh, "01941f29-7c00-7000-8000-000000000002"),
        ] {
            let token = tokens.sign(&claims(ty, jti)).expect("sign");
            out.push(Minted { name: format!("{}-{}", k.kid, ty.as_str()), key: i, token_type: ty, token });
        }
    }
    let hs = Tokens::new(hs_keys(), TokenPolicy::default());
    let token = hs.sign(&claims(TokenType::Access, REVOKED_JTI)).expect("sign");
    out.push(Minted { name: "hs-revoked".into(), key: 0, token_type: TokenType::Access, token });
    out
}

/// The signed message of a compact token: everything before the last dot.
pub fn message_of(token: &str) -> &str {
    token.rsplit_once('.').map_or(token, |(m, _)| m)
}

/// The verifiers and what they may accept.
pub struct Fixture {
    /// `Tokens` over the HS256 set and over the asymmetric set, each without and with
    /// the verified-token cache.
    pub verifiers: Vec<Tokens>,
    /// `Revokd` over the HS256 set and a memory store in which [`REVOKED_JTI`] is revoked.
    pub revokd: Revokd,
    /// The valid tokens minted at setup.
    pub minted: Vec<Minted>,
    /// Every `header.payload` that a key of ours signed: the only messages any verifier
    /// may accept (ES256 signatures differ from run to run, their messages do not).
    pub messages: HashSet<String>,
    _rt: tokio::runtime::Runtime,
}

/// The shared fixture, built once per process.
pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let policy = TokenPolicy::default().max_token_bytes(MAX_TOKEN_BYTES);
        let mut verifiers = Vec::new();
        for keys in [hs_keys(), asym_keys()] {
            verifiers.push(Tokens::new(keys.clone(), policy.clone()));
            verifiers.push(Tokens::new(keys, policy.clone()).with_cache(CacheConfig::default()));
        }
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let revokd = rt.block_on(async {
            let r = Revokd::builder(hs_keys(), Arc::new(MemoryStore::new()))
                .policy(policy.clone())
                .clock(Arc::new(ManualClock::new(NOW * 1000)))
                .poll_interval(None)
                .prune_interval(None)
                .build()
                .await
                .expect("revokd");
            r.revoke(Target::Jti { iss: None, jti: REVOKED_JTI.into(), exp: Some(NOW + 60) }, None, "fuzz")
                .await
                .expect("revoke");
            r
        });
        let minted = mint();
        let messages = minted.iter().map(|m| message_of(&m.token).to_owned()).collect();
        Fixture { verifiers, revokd, minted, messages, _rt: rt }
    })
}

/// A copy of `token` with the signature character at `i` (an index into the
/// signature part) replaced by another base64url character.
pub fn flip_signature_char(token: &str, i: usize) -> Option<String> {
    let (msg, sig) = token.rsplit_once('.')?;
    let mut sig = sig.as_bytes().to_vec();
    let c = sig.get_mut(i)?;
    *c = if *c == b'A' { b'B' } else { b'A' };
    Some(format!("{msg}.{}", String::from_utf8(sig).ok()?))
}

/// Panics unless a token a verifier accepted is genuine: its message is one a key of
/// ours signed, and no single-character change of its signature is also accepted.
pub fn assert_genuine(verifier: &Tokens, token: &str, expected: TokenType) {
    let f = fixture();
    assert!(f.messages.contains(message_of(token)), "accepted a message no key of ours signed: {token:?}");
    let sig_len = token.rsplit_once('.').map_or(0, |(_, s)| s.len());
    for i in 0..sig_len {
        let Some(t) = flip_signature_char(token, i) else { continue };
        assert!(
            verifier.verify(&t, expected, NOW).is_err(),
            "a token with signature char {i} changed was accepted: {t:?}"
        );
    }
}

/// Puts rules decoded from a store through an index the way a running revokd does:
/// load, checks that name each rule's target, removal, pruning. Never a panic, and a
/// rule the index holds and has not pruned refuses what it names.
pub fn exercise_index(rules: &[revokd::Revocation]) {
    use revokd::RuleKind;
    use revokd::index::Index;

    let index = Index::new();
    index.load(rules);
    for r in rules {
        let t = r.target.as_deref().unwrap_or("");
        let iss = r.iss.as_deref();
        let issued_ms = r.before_ms.map_or(0, |b| b.saturating_sub(1));
        let revoked = match r.kind {
            RuleKind::Jti => index.check_parts(iss, t, "someone", None, issued_ms),
            RuleKind::Subject => index.check_parts(iss, "some-jti", t, None, issued_ms),
            RuleKind::Family => index.check_parts(iss, "some-jti", "someone", Some(t), issued_ms),
            RuleKind::All => index.check_parts(iss, "some-jti", "someone", None, issued_ms),
        };
        // What the rule names must be refused: a non-empty jti; a family of ours (the
        // family table holds only our own tokens' families); a subject or everyone issued
        // before a cutoff (none: the rule names nothing; 0: nothing is issued before it).
        let holds = match r.kind {
            RuleKind::Jti => !t.is_empty(),
            RuleKind::Family => iss.is_none(),
            RuleKind::Subject | RuleKind::All => r.before_ms.is_some_and(|b| b > 0),
        };
        if holds {
            assert!(revoked, "a loaded rule does not refuse what it names: {r:?}");
        }
        index.family_revoked(t);
    }
    index.stats();
    for r in rules {
        index.remove(r);
    }
    index.load(rules);
    index.prune(NOW, 16);
    index.prune_all(u64::MAX);
    index.stats();
}
