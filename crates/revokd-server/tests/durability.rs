//! Restart, kill -9, and two instances on one SQLite file.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::{Server, config};

async fn revoke_jti(s: &Server, jti: &str) {
    s.revoke(json!({"jti": jti})).await;
}

#[tokio::test]
async fn a_revocation_survives_a_clean_restart_and_a_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let toml = config("issuer = \"https://revokd.test\"");
    let mut s = Server::start(dir.path(), Some(&toml), &[]);
    let first = s.login(json!({"sub": "alice"})).await;
    let second = s.login(json!({"sub": "bob"})).await;
    revoke_jti(&s, &crate::common::jti(first["access_token"].as_str().unwrap())).await;
    assert_eq!(s.terminate(), Some(0), "SIGTERM stops cleanly");
    let mut s = Server::start(dir.path(), Some(&toml), &[]);
    assert_eq!(s.verify(first["access_token"].as_str().unwrap()).await.1["error"], "token_revoked");
    // acknowledged, then killed at once
    revoke_jti(&s, &crate::common::jti(second["access_token"].as_str().unwrap())).await;
    s.kill9();
    let s = Server::start(dir.path(), Some(&toml), &[]);
    assert_eq!(s.verify(second["access_token"].as_str().unwrap()).await.1["error"], "token_revoked");
    assert_eq!(s.verify(first["access_token"].as_str().unwrap()).await.1["error"], "token_revoked");
}

#[tokio::test]
async fn a_revocation_on_one_instance_is_refused_by_another_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let toml = config("issuer = \"https://revokd.test\"");
    let a = Server::start(dir.path(), Some(&toml), &[]);
    let b = Server::start(dir.path(), Some(&toml), &[]);
    let pair = a.login(json!({"sub": "alice"})).await;
    let access = pair["access_token"].as_str().unwrap();
    assert_eq!(b.verify(access).await.0, 200);
    revoke_jti(&a, &crate::common::jti(access)).await;
    let acked = Instant::now();
    loop {
        let (status, body, _) = b.verify(access).await;
        if status == 401 {
            assert_eq!(body["error"], "token_revoked");
            break;
        }
        assert!(acked.elapsed() < Duration::from_secs(1), "instance B still accepts the token after a second");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn sigterm_stops_cleanly_even_with_an_open_event_stream() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::start(dir.path(), Some(&config("")), &[]);
    let stream = s.http.get(s.url("/v1/revocations/stream")).bearer_auth(crate::common::FEED).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    let t = Instant::now();
    assert_eq!(s.terminate(), Some(0));
    assert!(t.elapsed() < Duration::from_secs(5), "the open stream held up shutdown");
    drop(stream);
}

#[tokio::test]
async fn sigterm_stops_even_when_a_client_never_finishes_its_request() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::start(dir.path(), Some(&config("request_timeout = 1")), &[]);
    // a request whose headers never end, and one whose body never comes
    let addr = s.base.trim_start_matches("http://").to_owned();
    let mut slow = std::net::TcpStream::connect(&addr).unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ").unwrap();
    let mut body = std::net::TcpStream::connect(&addr).unwrap();
    body.write_all(b"POST /v1/revocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n").unwrap();
    body.write_all(
        format!("Authorization: Bearer {}\r\nContent-Length: 100\r\n\r\n{{", crate::common::ADMIN).as_bytes(),
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t = Instant::now();
    assert_eq!(s.terminate(), Some(0));
    // request_timeout (1 s) + 2 s of grace, with room for a slow machine
    assert!(t.elapsed() < Duration::from_secs(8), "stopping took {:?}", t.elapsed());
    assert!(s.log_text().contains("revokd stopped"));
    drop((slow, body));
}
