//! Foreign issuers whose keys come from a JWKS URL: fetched at start, again on an
//! unknown `kid` (at most once per 10 s), on the refresh timer or the answer's
//! `max-age`; a key that leaves the JWKS is refused from then on.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use revokd::token::Tokens;
use serde_json::{Value, json};

use crate::common::{ADMIN, Server, config};

const ISS: &str = "https://idp.example";

/// A JWKS served over HTTP on loopback, whose answer the test changes; counts fetches.
struct JwksServer {
    url: String,
    answer: Arc<Mutex<(String, Option<String>)>>,
    fetches: Arc<AtomicUsize>,
}

impl JwksServer {
    fn start(jwks: &Value, cache_control: Option<&str>) -> JwksServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        let answer = Arc::new(Mutex::new((jwks.to_string(), cache_control.map(str::to_owned))));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (a, f) = (Arc::clone(&answer), Arc::clone(&fetches));
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let mut req = Vec::new();
                let mut buf = [0u8; 1024];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                f.fetch_add(1, Ordering::SeqCst);
                let (body, cc) = a.lock().unwrap().clone();
                let cc = cc.map(|c| format!("Cache-Control: {c}\r\n")).unwrap_or_default();
                let _ = write!(
                    conn,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{cc}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        JwksServer { url, answer, fetches }
    }

    fn set(&self, jwks: &Value) {
        self.answer.lock().unwrap().0 = jwks.to_string();
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

fn idp(kids: &[&str]) -> Tokens {
    let keys = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../revokd/tests/keys");
    let mut set = revokd::KeySet::new();
    for kid in kids {
        // Each kid its own key material: idp-1 RSA, any other EC.
        let (file, alg) =
            if *kid == "idp-1" { ("rsa.pem", revokd::Algorithm::RS256) } else { ("ec.pem", revokd::Algorithm::ES256) };
        let pem = std::fs::read(keys.join(file)).unwrap();
        set = set.with(revokd::Key::from_private_pem(*kid, alg, &pem).unwrap()).unwrap();
    }
    Tokens::new(set, revokd::TokenPolicy::default())
}

/// A token of the IdP signed with `kid`.
fn mint(kid: &str, sub: &str, jti: &str) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let c: revokd::Claims = serde_json::from_value(
        json!({"sub": sub, "iss": ISS, "aud": "api", "iat": now - 1, "exp": now + 300, "jti": jti}),
    )
    .unwrap();
    idp(&[kid]).sign(&c).unwrap()
}

fn server(jwks_url: &str, refresh: u64) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let extra = format!(
        "[[issuers]]\nissuer = \"{ISS}\"\naudience = \"api\"\njwks_url = \"{jwks_url}\"\njwks_refresh = {refresh}"
    );
    let s = Server::start(dir.path(), Some(&config(&extra)), &[]);
    (dir, s)
}

async fn wait_for(s: &Server, token: &str, status: u16, within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        if s.verify(token).await.0 == status {
            return start.elapsed();
        }
        assert!(start.elapsed() < within, "verify did not answer {status} within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn keys_from_a_jwks_url_verify_and_their_tokens_can_be_revoked() {
    let jwks = JwksServer::start(&idp(&["idp-1"]).keys().jwks(), None);
    let (_d, s) = server(&jwks.url, 3600);
    assert_eq!(jwks.fetches(), 1, "fetched once at start");
    let token = mint("idp-1", "alice", "kc-1");
    assert_eq!(s.verify(&token).await.0, 200);
    let res = s
        .http
        .post(s.url("/v1/revocations"))
        .bearer_auth(ADMIN)
        .json(&json!({"jti": "kc-1", "iss": ISS}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(s.verify(&token).await.1["error"], "token_revoked");
    assert_eq!(s.verify(&mint("idp-1", "bob", "kc-2")).await.0, 200);
    assert_eq!(jwks.fetches(), 1, "known keys cause no fetch");
}

#[tokio::test]
async fn an_unknown_kid_fetches_again_at_most_once_per_10_seconds() {
    let jwks = JwksServer::start(&idp(&["idp-1"]).keys().jwks(), None);
    let started = Instant::now();
    let (_d, s) = server(&jwks.url, 3600);
    // The IdP rotates: its JWKS now has a second key, which revokd has not seen.
    jwks.set(&idp(&["idp-1", "idp-2"]).keys().jwks());
    let rotated = mint("idp-2", "alice", "kc-9");
    for _ in 0..20 {
        assert_eq!(s.verify(&rotated).await.1["error"], "token_invalid");
    }
    assert_eq!(s.verify(&mint("garbage-kid", "x", "kc-0")).await.1["error"], "token_invalid");
    wait_for(&s, &rotated, 200, Duration::from_secs(15)).await;
    assert!(started.elapsed() >= Duration::from_secs(9), "refetched after {:?}: sooner than 10 s", started.elapsed());
    assert_eq!(jwks.fetches(), 2, "one fetch at start, one for all the unknown kids");
}

#[tokio::test]
async fn a_key_that_leaves_the_jwks_is_refused_after_the_next_fetch() {
    // max-age=1 is shorter than jwks_refresh: it sets the pace.
    let jwks = JwksServer::start(&idp(&["idp-1", "idp-2"]).keys().jwks(), Some("public, max-age=1"));
    let (_d, s) = server(&jwks.url, 3600);
    let old = mint("idp-1", "alice", "kc-1");
    let new = mint("idp-2", "alice", "kc-2");
    assert_eq!(s.verify(&old).await.0, 200);
    jwks.set(&idp(&["idp-2"]).keys().jwks());
    wait_for(&s, &old, 401, Duration::from_secs(5)).await;
    assert_eq!(s.verify(&old).await.1["error"], "token_invalid");
    assert_eq!(s.verify(&new).await.0, 200);
    assert!(jwks.fetches() >= 2);
}

#[tokio::test]
async fn an_unreachable_jwks_url_does_not_stop_the_service() {
    // A port nobody listens on: the first fetch fails, the service starts anyway.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (_d, s) = server(&format!("http://127.0.0.1:{port}/jwks.json"), 300);
    assert_eq!(s.verify(&mint("idp-1", "alice", "kc-1")).await.1["error"], "token_invalid");
    let ours = s.login(json!({"sub": "alice"})).await;
    assert_eq!(s.verify(ours["access_token"].as_str().unwrap()).await.0, 200);
    assert!(s.log_text().contains("cannot fetch the issuer's JWKS"), "{}", s.log_text());
}

#[tokio::test]
async fn a_foreign_refresh_token_is_never_exchanged_for_our_tokens() {
    let jwks = JwksServer::start(&idp(&["idp-1"]).keys().jwks(), None);
    let (_d, s) = server(&jwks.url, 3600);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let c: revokd::Claims = serde_json::from_value(json!({
        "sub": "alice", "iss": ISS, "aud": "api", "iat": now - 1, "exp": now + 300, "jti": "kc-r",
        "type": "refresh", "fam": "kc-family"
    }))
    .unwrap();
    let theirs = idp(&["idp-1"]).sign(&c).unwrap();
    let res = s.http.post(s.url("/v1/tokens/refresh")).bearer_auth(&theirs).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let b: Value = res.json().await.unwrap();
    assert_eq!(b["error"], "token_invalid");
}

#[tokio::test]
async fn keys_revokd_cannot_use_are_left_out_and_the_others_still_verify() {
    let mut jwks = idp(&["idp-1"]).keys().jwks();
    let mut oaep = jwks["keys"][0].clone();
    oaep["kid"] = json!("enc-1");
    oaep["alg"] = json!("RSA-OAEP");
    let mut enc = jwks["keys"][0].clone();
    enc["kid"] = json!("enc-2");
    enc["use"] = json!("enc");
    jwks["keys"].as_array_mut().unwrap().extend([oaep, enc]);
    let server_jwks = JwksServer::start(&jwks, None);
    let (_d, s) = server(&server_jwks.url, 3600);
    assert_eq!(s.verify(&mint("idp-1", "alice", "kc-1")).await.0, 200);
    let log = s.log_text();
    assert!(log.contains("left out") && log.contains("enc-1"), "{log}");
}
