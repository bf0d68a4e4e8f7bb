//! The rate limits on guessing (API.md, "HTTP conventions") under a real flood from many
//! connections (issue 13, "Abuse limits"): past `rate_limit_per_minute` failed requests,
//! an IP's unauthenticated requests to the guarded endpoints get 429 `rate_limited` with
//! `Retry-After`, while `/v1/verify`, authenticated admins, feed readers and clients, and
//! the public documents are never limited, even from that same IP during the flood.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{ADMIN, FEED, Server, claims, config};

const LIMIT: usize = 50;
const CONNECTIONS: usize = 64;
const PER_CONNECTION: usize = 12;
const CLIENT: (&str, &str) = ("app", "app-secret-0123456789");

fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap()
}

/// One failed (unauthenticated or badly authenticated) request to a guarded endpoint;
/// `i` picks which.
fn failing(c: &reqwest::Client, s: &Server, i: usize) -> reqwest::RequestBuilder {
    match i % 6 {
        0 => c.post(s.url("/v1/tokens")).bearer_auth("guess-0123456789abcdef").json(&json!({"sub": "x"})),
        1 => c.post(s.url("/oauth/introspect")).basic_auth(CLIENT.0, Some("guess-0123456789")).form(&[("token", "t")]),
        2 => c.post(s.url("/v1/tokens/refresh")).json(&json!({"refresh_token": "not.a.token"})),
        3 => c.get(s.url("/v1/revocations?since=0")).bearer_auth("guess-feed-0123456789"),
        4 => c.post(s.url("/oauth/revoke")).basic_auth("nobody", Some("guess-0123456789")).form(&[("token", "t")]),
        _ => c.post(s.url("/v1/revocations")).json(&json!({"jti": "x"})),
    }
}

/// What the flood got back.
#[derive(Debug, Default)]
struct Tally {
    by_status: BTreeMap<u16, usize>,
    retry_after: Vec<u64>,
    bad_429: Vec<String>,
}

/// What the legitimate callers got back during the flood: (what, status) that were wrong.
type Wrong = Vec<(String, u16, String)>;

async fn expect(res: reqwest::Response, what: &str, want: u16, wrong: &mut Wrong, seen: &mut usize) {
    *seen += 1;
    let status = res.status().as_u16();
    if status != want {
        let text = res.text().await.unwrap_or_default();
        wrong.push((what.to_owned(), status, text));
    }
}

/// Legitimate traffic from the same IP, in a loop until `done`: none of it may be limited.
/// Returns what was wrong, and how many rounds ran while the IP was already limited.
async fn legitimate(s: Arc<Server>, access: String, limited: Arc<AtomicBool>, done: Arc<AtomicBool>) -> (Wrong, usize) {
    let c = client();
    let mut wrong = Vec::new();
    let mut seen = 0;
    let mut while_limited = 0;
    loop {
        let finished = done.load(Ordering::SeqCst);
        if limited.load(Ordering::SeqCst) && !finished {
            while_limited += 1;
        }
        let r = c.get(s.url("/v1/verify")).bearer_auth(&access).send().await.unwrap();
        if r.headers().get("x-auth-subject").is_none_or(|v| v != "alice") {
            wrong.push(("verify identity".into(), r.status().as_u16(), String::new()));
        }
        expect(r, "GET /v1/verify (valid)", 200, &mut wrong, &mut seen).await;
        // a failed verify is not counted and never limited either
        let r = c.get(s.url("/v1/verify")).bearer_auth("garbage").send().await.unwrap();
        expect(r, "GET /v1/verify (garbage)", 401, &mut wrong, &mut seen).await;
        let r = c.post(s.url("/v1/tokens")).bearer_auth(ADMIN).json(&json!({"sub": "bob"})).send().await.unwrap();
        seen += 1;
        let status = r.status().as_u16();
        let issued: Value = r.json().await.unwrap_or(Value::Null);
        match issued["access_token"].as_str() {
            Some(bobs) if status == 201 => {
                // a client revoking with its right secret is never limited, and revokes
                let r = c
                    .post(s.url("/oauth/revoke"))
                    .basic_auth(CLIENT.0, Some(CLIENT.1))
                    .form(&[("token", bobs)])
                    .send()
                    .await
                    .unwrap();
                expect(r, "POST /oauth/revoke (client)", 200, &mut wrong, &mut seen).await;
                let r = c.get(s.url("/v1/verify")).bearer_auth(bobs).send().await.unwrap();
                let (status, body) = (r.status().as_u16(), r.json::<Value>().await.unwrap_or(Value::Null));
                if body["error"] != "token_revoked" {
                    wrong.push(("the client's revocation took".into(), status, body.to_string()));
                }
            }
            _ => wrong.push(("POST /v1/tokens (admin)".into(), status, issued.to_string())),
        }
        let r = c
            .post(s.url("/oauth/introspect"))
            .basic_auth(CLIENT.0, Some(CLIENT.1))
            .form(&[("token", access.as_str())])
            .send()
            .await
            .unwrap();
        expect(r, "POST /oauth/introspect (client)", 200, &mut wrong, &mut seen).await;
        let r = c.get(s.url("/v1/revocations?since=0")).bearer_auth(FEED).send().await.unwrap();
        expect(r, "GET /v1/revocations (feed reader)", 200, &mut wrong, &mut seen).await;
        for path in
            ["/healthz", "/readyz", "/metrics", "/.well-known/jwks.json", "/.well-known/oauth-authorization-server"]
        {
            let r = c.get(s.url(path)).send().await.unwrap();
            expect(r, &format!("GET {path}"), 200, &mut wrong, &mut seen).await;
        }
        assert!(seen > 0);
        if finished {
            return (wrong, while_limited);
        }
    }
}

/// The address the forged verifies come from (the flood's is 127.0.0.1).
const FORGER: [u8; 4] = [127, 0, 0, 3];

/// A client whose connections come from `ip` (any loopback address).
fn on(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(ip))
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// Sends failed verifies from `FORGER` until `done` and at least 2 × LIMIT were sent
/// (so before, through and after the flood): forged tokens (a real one with its
/// signature changed, with its payload changed, `alg: none`, garbage) and no token, on
/// `/v1/verify` and a subpath, some with a body; each must be a 401. Returns how many were sent.
async fn forge(s: Arc<Server>, real: String, done: Arc<AtomicBool>) -> usize {
    use base64::Engine;
    let c = on(FORGER);
    let (head, rest) = real.split_once('.').unwrap();
    let (payload, sig) = rest.split_once('.').unwrap();
    let flipped = format!("{head}.{payload}.{}{}", if sig.starts_with('A') { 'B' } else { 'A' }, &sig[1..]);
    let mut root = claims(&real);
    root["sub"] = json!("root");
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(root.to_string());
    let other_payload = format!("{head}.{encoded}.{sig}");
    let none = format!("eyJhbGciOiJub25lIn0.{payload}.");
    let tokens = [flipped.as_str(), other_payload.as_str(), none.as_str(), "garbage", ""];
    let mut sent = 0;
    while sent < 2 * LIMIT || !done.load(Ordering::SeqCst) {
        let path = if sent % 2 == 0 { "/v1/verify" } else { "/v1/verify/api/orders" };
        let token = tokens[sent % tokens.len()];
        let req = if token.is_empty() { c.get(s.url(path)) } else { c.post(s.url(path)).bearer_auth(token) };
        // with a body, a request takes the guard's other way (through the limiter)
        let req = if sent % 3 == 0 { req.body("{}") } else { req };
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 401, "forged verify {sent} ({token:.20}) on {path}");
        sent += 1;
    }
    sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_of_failures_from_many_connections_is_limited_but_verify_and_authenticated_callers_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(Server::start(dir.path(), Some(&config(&format!("rate_limit_per_minute = {LIMIT}"))), &[]));
    let pair = s.login(json!({"sub": "alice"})).await;
    let access = pair["access_token"].as_str().unwrap().to_owned();
    let started = Instant::now();

    // Legitimate callers, from the same IP, all through the flood.
    let done = Arc::new(AtomicBool::new(false));
    let limited_now = Arc::new(AtomicBool::new(false));
    let legit: Vec<_> = (0..3)
        .map(|_| tokio::spawn(legitimate(Arc::clone(&s), access.clone(), Arc::clone(&limited_now), Arc::clone(&done))))
        .collect();

    // Forged tokens at /v1/verify from another address, during the flood: each a 401,
    // and none counts toward that address's limit (checked after the flood).
    let forger = tokio::spawn(forge(Arc::clone(&s), access.clone(), Arc::clone(&done)));

    // The flood: 64 connections (one client each), all let go at once.
    let gate = Arc::new(tokio::sync::Barrier::new(CONNECTIONS));
    let flood: Vec<_> = (0..CONNECTIONS)
        .map(|n| {
            let s = Arc::clone(&s);
            let gate = Arc::clone(&gate);
            let limited_now = Arc::clone(&limited_now);
            tokio::spawn(async move {
                let c = client();
                // open the connection before the gate, so the flood really is concurrent
                let _ = c.get(s.url("/healthz")).send().await.unwrap();
                gate.wait().await;
                let mut t = Tally::default();
                for i in 0..PER_CONNECTION {
                    let res = failing(&c, &s, n + i).send().await.unwrap();
                    let status = res.status().as_u16();
                    *t.by_status.entry(status).or_default() += 1;
                    if status == 429 {
                        limited_now.store(true, Ordering::SeqCst);
                        let retry = res.headers().get("retry-after").map(|v| v.to_str().unwrap_or("").to_owned());
                        let body: Value = res.json().await.unwrap_or(Value::Null);
                        match retry.as_deref().map(str::parse::<u64>) {
                            Some(Ok(r)) if body["error"] == "rate_limited" => t.retry_after.push(r),
                            _ => t.bad_429.push(format!("{retry:?} {body}")),
                        }
                    }
                }
                t
            })
        })
        .collect();
    let mut tally = Tally::default();
    for f in flood {
        let t = f.await.unwrap();
        for (k, v) in t.by_status {
            *tally.by_status.entry(k).or_default() += v;
        }
        tally.retry_after.extend(t.retry_after);
        tally.bad_429.extend(t.bad_429);
    }
    done.store(true, Ordering::SeqCst);
    let mut rounds_while_limited = 0;
    for l in legit {
        let (wrong, rounds) = l.await.unwrap();
        assert!(wrong.is_empty(), "legitimate requests answered wrongly during the flood: {wrong:#?}");
        rounds_while_limited += rounds;
    }
    eprintln!(
        "flood: {:?} in {:?}; {rounds_while_limited} legitimate rounds while limited",
        tally.by_status,
        started.elapsed()
    );

    let total: usize = tally.by_status.values().sum();
    let limited = tally.by_status.get(&429).copied().unwrap_or(0);
    let failed: usize = tally.by_status.iter().filter(|(k, _)| matches!(k, 400 | 401)).map(|(_, v)| v).sum();
    assert_eq!(total, CONNECTIONS * PER_CONNECTION);
    assert!(total >= 500);
    assert_eq!(limited + failed, total, "only 400, 401 and 429: {:?}", tally.by_status);
    // The limit was reached, and passed by no more than the requests in flight: the
    // limiter checks an address's count before the request and adds a failure after its
    // answer, so while the count is still under the limit, each of the other connections
    // can have one request past the check and not yet counted. The last request let
    // through saw at most LIMIT - 1 counted, with at most CONNECTIONS - 1 in flight
    // beside it: at most LIMIT + CONNECTIONS - 1 failures. (One caller at a time gets
    // exactly LIMIT: see FORGER below.)
    assert!(failed >= LIMIT, "{:?}", tally.by_status);
    assert!(failed < LIMIT + CONNECTIONS, "{failed} failures went through a limit of {LIMIT}: {:?}", tally.by_status);
    assert!(tally.bad_429.is_empty(), "429 without a numeric Retry-After or rate_limited: {:?}", tally.bad_429);
    assert_eq!(tally.retry_after.len(), limited);
    assert!(tally.retry_after.iter().all(|r| (1..=60).contains(r)), "{:?}", tally.retry_after);
    assert!(rounds_while_limited >= 1, "no legitimate round ran while the IP was limited");

    // Still limited after the flood, for every guarded endpoint, with the window's rest.
    let c = client();
    for i in 0..6 {
        let res = failing(&c, &s, i).send().await.unwrap();
        assert_eq!(res.status(), 429, "{i}");
        let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry));
    }
    // A correct secret is never limited, even now, on either OAuth endpoint (a wrong one
    // on the same client is: `failing` 1 and 4 above); a holder revoking its own token
    // without credentials is unauthenticated, so limited.
    let res = c.post(s.url("/oauth/introspect")).basic_auth(CLIENT.0, Some(CLIENT.1)).form(&[("token", "t")]);
    assert_eq!(res.send().await.unwrap().status(), 200);
    let res = c.post(s.url("/oauth/revoke")).basic_auth(CLIENT.0, Some(CLIENT.1)).form(&[("token", "t")]);
    assert_eq!(res.send().await.unwrap().status(), 200);
    let holder = s.login(json!({"sub": "carol"})).await;
    let res = c.post(s.url("/oauth/revoke")).form(&[("token", holder["refresh_token"].as_str().unwrap())]);
    assert_eq!(res.send().await.unwrap().status(), 429);

    // The forger's address: its many failed verifies counted nothing, so exactly LIMIT
    // failed guesses go through (one at a time: nothing in flight beside them), then 429.
    let forged = forger.await.unwrap();
    assert!(forged >= 2 * LIMIT, "{forged}");
    let from_forger = on(FORGER);
    for i in 0..LIMIT {
        let res = failing(&from_forger, &s, i).send().await.unwrap();
        let status = res.status().as_u16();
        assert!(matches!(status, 400 | 401), "guess {} after {forged} failed verifies: {status}", i + 1);
    }
    let res = failing(&from_forger, &s, LIMIT).send().await.unwrap();
    assert_eq!(res.status(), 429, "the limit counts the guesses");
    // The limit is per IP: the same failure from another loopback address is a plain 401.
    let other = on([127, 0, 0, 2]);
    let res = failing(&other, &s, 0).send().await.unwrap();
    assert_eq!(res.status(), 401, "another IP is not limited by 127.0.0.1's failures");

    // /metrics counts every 429 (route "(limits)").
    let counted = s.metric("revokd_http_requests_total", &["route=\"(limits)\"", "status=\"429\""]).await;
    assert_eq!(counted as usize, limited + 8, "{counted} 429s counted, {limited} + 8 answered");
    let log = s.log_text();
    assert!(!log.contains("panicked"), "{log}");
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
}
