//! Writes the seed corpora under `fuzz/corpus/<target>/seed-*`:
//! `cargo run --manifest-path fuzz/Cargo.toml --example gen_corpus`.
//! HS256, RS256 and EdDSA tokens come out byte for byte the same on every run; ES256
//! ones differ (random nonce) but verify all the same.

use std::fs;
use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use revokd::rules::{Event, Op};
use revokd::store::{IssuedToken, Snapshot};
use revokd::{Revocation, RuleKind, TokenType};
use revokd_fuzz::{KEYS, NOW, message_of, mint};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus").join(target);
    fs::create_dir_all(&dir).expect("mkdir");
    fs::write(dir.join(format!("seed-{name}")), bytes).expect("write");
}

fn b64(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(s)
}

fn main() {
    let minted = mint();
    for m in &minted {
        write("token_bytes", &m.name, m.token.as_bytes());
    }
    // Malformed ones.
    let hs = &minted[0].token;
    let payload = hs.split('.').nth(1).expect("payload");
    let malformed: &[(&str, String)] = &[
        ("empty", String::new()),
        ("dots", "..".into()),
        ("four-parts", format!("{hs}.x")),
        ("alg-none", format!("{}.{payload}.", b64(r#"{"alg":"none","typ":"JWT"}"#))),
        ("no-signature", format!("{}.", message_of(hs))),
        ("padded-payload", hs.replacen(payload, &format!("{payload}=="), 1)),
        ("crit", format!("{}.{payload}.AAAA", b64(r#"{"alg":"HS256","kid":"hs","crit":["exp"]}"#))),
        ("dup-alg", format!("{}.{payload}.AAAA", b64(r#"{"alg":"HS256","alg":"none","kid":"hs"}"#))),
        ("kid-path", format!("{}.{payload}.AAAA", b64(r#"{"alg":"HS256","kid":"../../etc/passwd"}"#))),
        ("alg-confusion", {
            let msg = format!("{}.{payload}", b64(r#"{"alg":"HS256","kid":"rs","typ":"JWT"}"#));
            let k = jsonwebtoken::EncodingKey::from_secret(KEYS[1].public);
            let sig = jsonwebtoken::crypto::sign(msg.as_bytes(), &k, jsonwebtoken::Algorithm::HS256).expect("sign");
            format!("{msg}.{sig}")
        }),
        (
            "deep",
            format!(
                "{}.{}.AAAA",
                b64(r#"{"alg":"HS256","kid":"hs"}"#),
                b64(&format!("{}1{}", "[".repeat(200), "]".repeat(200)))
            ),
        ),
    ];
    for (name, t) in malformed {
        write("token_bytes", &format!("bad-{name}"), t.as_bytes());
    }

    // token_structured takes `arbitrary` bytes (arbitrary 1.x: a bool before each Vec
    // element, a u32 per enum choice): `base-i` is token i untouched, of its own type;
    // `resign-i` the same re-signed by its key (Signer::Right); `edit-typ-exp` sets
    // `"typ": null` and a later `exp` and re-signs (must verify). Check a seed with
    // `cargo fuzz fmt --sanitizer none token_structured <file>`.
    let seed = |name: String, head: &[u8], len: usize| {
        let mut b = head.to_vec();
        b.resize(len, 0);
        write("token_structured", &name, &b);
    };
    for i in 0..minted.len() as u8 {
        seed(format!("base-{i}"), &[i, i & 1], 24);
        seed(format!("resign-{i}"), &[i, i & 1, 0, 0, 0, 0, 0, 0x40], 24);
    }
    let mut edit = vec![0u8, 0, 1, 0, 0, 0, 0x60, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x30];
    edit.extend_from_slice(&2_000_000_000u64.to_le_bytes());
    edit.extend_from_slice(&[0, 0, 0, 0, 0x40]);
    seed("edit-typ-exp".into(), &edit, 46);

    let r = Revocation {
        id: "01941f29-7c00-7000-8000-0000000000aa".into(),
        seq: 7,
        kind: RuleKind::Subject,
        target: Some("alice".into()),
        iss: None,
        before_ms: Some(NOW * 1000 + 123),
        created_at: NOW,
        expires_at: NOW + 86_401,
        reason: Some("stolen laptop".into()),
        actor: "admin".into(),
    };
    let jti = Revocation {
        kind: RuleKind::Jti,
        target: Some("01941f29-7c00-7000-8000-000000000001".into()),
        before_ms: None,
        iss: Some("https://idp.example".into()),
        reason: None,
        ..r.clone()
    };
    let all = Revocation { kind: RuleKind::All, target: None, actor: "cli".into(), ..r.clone() };
    let j = |v: &dyn Erased| v.json();
    write("revocation_json", "subject", &j(&r));
    write("revocation_json", "jti", &j(&jti));
    write("revocation_json", "all", &j(&all));
    write("revocation_json", "event", &j(&Event { seq: 8, op: Op::Unrevoke, revocation: jti.clone() }));
    write("revocation_json", "snapshot", &j(&Snapshot { seq: 9, rules: vec![r, jti, all] }));
    write(
        "revocation_json",
        "issued",
        &j(&IssuedToken {
            jti: "01941f29-7c00-7000-8000-000000000001".into(),
            sub: "alice".into(),
            token_type: TokenType::Refresh,
            fam: Some("01943b9a-5c00-7000-8000-0000000000ff".into()),
            iat: NOW,
            exp: NOW + 60,
        }),
    );
    redis_seeds();
    sqlite_seeds();
    http_seeds();
    write("revocation_json", "bad-before", br#"{"id":"x","seq":1,"kind":"all","target":null,"iss":null,"before":-1e400,"created_at":0,"expires_at":0,"reason":null,"actor":"a"}"#);
    println!("seeds written");
}

/// A RESP2 array of bulk strings (nested arrays as `Resp::Array`).
enum Resp<'a> {
    Bulk(&'a str),
    Array(Vec<Resp<'a>>),
}

impl Resp<'_> {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Resp::Bulk(s) => out.extend_from_slice(format!("${}\r\n{s}\r\n", s.len()).as_bytes()),
            Resp::Array(items) => {
                out.extend_from_slice(format!("*{}\r\n", items.len()).as_bytes());
                for i in items {
                    i.encode(out);
                }
            }
        }
    }
}

fn bulk<'a>(items: &[&'a str]) -> Vec<Resp<'a>> {
    items.iter().map(|s| Resp::Bulk(s)).collect()
}

/// `redis_replies`: a selector byte (0 feed entry, 1 rule hash, 2 append reply, 3 XREAD
/// reply, 4 packed rule), then the reply as the server sends it.
fn redis_seeds() {
    let seed = |name: &str, which: u8, reply: Resp<'_>| {
        let mut b = vec![which];
        reply.encode(&mut b);
        write("redis_replies", name, &b);
    };
    let id = "01941f29-7c00-7000-8000-0000000000aa";
    let rule = |seq: &'static str, kind: &'static str, target: Option<&'static str>| {
        let mut f = vec!["id", id, "seq", seq, "kind", kind];
        if let Some(t) = target {
            f.extend(["target", t]);
        }
        f.extend(["before_ms", "1735689600123", "created_at", "1735689600", "expires_at", "1735776001"]);
        f.extend(["reason", "stolen laptop", "actor", "admin"]);
        f
    };
    let entry = |seq: &'static str, op: &'static str, kind: &'static str, target| {
        let mut f = vec!["op", op, "at", "1735689600"];
        f.extend(rule(seq, kind, target));
        Resp::Array(vec![Resp::Bulk(Box::leak(format!("{seq}-0").into_boxed_str())), Resp::Array(bulk(&f))])
    };
    seed("entry-jti", 0, entry("7", "revoke", "jti", Some("jti-a")));
    seed("entry-subject-unrevoke", 0, entry("8", "unrevoke", "subject", Some("alice")));
    seed("entry-all", 0, entry("9", "revoke", "all", None));
    let mut hash = rule("7", "family", Some("fam-1"));
    hash.extend(["tgt", "family|-|fam-1", "removed", "1"]);
    seed("hash-family-removed", 1, Resp::Array(bulk(&hash)));
    seed("hash-missing", 1, Resp::Array(vec![]));
    let mut reply = vec!["new", "7"];
    reply.extend(rule("7", "jti", Some("jti-a")));
    seed("append-new", 2, Resp::Array(bulk(&reply)));
    seed("append-notfound", 2, Resp::Array(bulk(&["notfound"])));
    let xread = Resp::Array(vec![Resp::Array(vec![
        Resp::Bulk("revokd:feed"),
        Resp::Array(vec![entry("7", "revoke", "jti", Some("jti-a")), entry("8", "revoke", "all", None)]),
    ])]);
    seed("xread", 3, xread);
    // `append.lua`'s `pack`: id, seq, kind, target, iss, before_ms, created_at,
    // expires_at, reason, actor, each `<byte length>:<bytes>` or `-`.
    let pack = |fields: [Option<&str>; 10]| {
        let mut b = vec![4u8];
        for f in fields {
            match f {
                Some(v) => b.extend_from_slice(format!("{}:{v}", v.len()).as_bytes()),
                None => b.push(b'-'),
            }
        }
        b
    };
    let (created, expires) = (Some("1735689600"), Some("1735776001"));
    let jti =
        [Some(id), Some("7"), Some("jti"), Some("jti-a"), None, None, created, expires, Some("stolen"), Some("admin")];
    write("redis_replies", "packed-jti", &pack(jti));
    let all =
        [Some(id), Some("8"), Some("all"), None, None, Some("1735689600123"), created, expires, None, Some("cli")];
    write("redis_replies", "packed-all", &pack(all));
}

/// `sqlite_rows`: `arbitrary` bytes of a list of edits; the empty input (no edits) opens
/// the template as written, and the fuzzer grows edits from there.
fn sqlite_seeds() {
    write("sqlite_rows", "none", &[]);
}

/// `http_requests`: `[method, route, content type, credentials, forwarded method]`
/// (indexes into the target's tables), the path's tail, `\n`, the body; `$A`, `$R`, `$C`
/// stand for a live holder's access token, refresh token and CSRF value.
fn http_seeds() {
    // methods: 0 GET, 1 POST, 2 DELETE; routes: 0 /v1/verify, 2 /v1/tokens, 3 refresh,
    // 4 /v1/revocations, 5 snapshot, 7 /v1/subjects/alice/tokens, 9 /v1/me/tokens,
    // 10 /v1/me/logout, 11 /oauth/revoke, 12 /oauth/introspect, 19 /metrics; content
    // types: 0 JSON, 1 form, 3 none; credentials: 0 none, 1 admin, 2 client Basic,
    // 4 access bearer, 5 refresh bearer, 6 feed, 7 access cookie + CSRF, 8 wrong CSRF;
    // forwarded: 0 none, 2 POST.
    let seeds: &[(&str, [u8; 5], &str)] = &[
        ("verify-bearer", [0, 0, 3, 4, 0], "\n"),
        ("verify-cookie-csrf", [0, 0, 3, 7, 2], "\n"),
        ("verify-cookie-wrong-csrf", [0, 0, 3, 8, 2], "\n"),
        ("verify-fresh", [0, 0, 3, 4, 0], "?fresh=true\n"),
        ("refresh-body", [1, 3, 0, 0, 0], "\n{\"refresh_token\":\"$R\"}"),
        ("refresh-bearer", [1, 3, 3, 5, 0], "\n"),
        ("issue", [1, 2, 0, 1, 0], "\n{\"sub\":\"bob\",\"ttl\":60,\"claims\":{\"role\":\"x\"}}"),
        ("revoke-token", [1, 4, 0, 1, 0], "\n{\"token\":\"$A\",\"reason\":\"test\"}"),
        ("revoke-subject", [1, 4, 0, 1, 0], "\n{\"sub\":\"alice\"}"),
        ("list-revocations", [0, 4, 3, 1, 0], "?limit=5\n"),
        ("unrevoke", [2, 4, 3, 1, 0], "/0194-none\n"),
        ("snapshot", [0, 5, 3, 6, 0], "\n"),
        ("subject-tokens", [0, 7, 3, 1, 0], "?limit=2\n"),
        ("me-tokens", [0, 9, 3, 4, 0], "\n"),
        ("me-logout", [1, 10, 3, 4, 0], "\n"),
        ("oauth-revoke", [1, 11, 1, 2, 0], "\ntoken=$A&token_type_hint=access_token"),
        ("introspect", [1, 12, 1, 2, 0], "\ntoken=$R"),
        ("metrics", [0, 19, 3, 0, 0], "\n"),
    ];
    for (name, head, rest) in seeds {
        write("http_requests", name, &[&head[..], rest.as_bytes()].concat());
    }
}

trait Erased {
    fn json(&self) -> Vec<u8>;
}
impl<T: serde::Serialize> Erased for T {
    fn json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).expect("json")
    }
}
