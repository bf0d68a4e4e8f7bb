//! Two `revokd serve` processes on one PostgreSQL database, and on one Redis prefix:
//! what one acknowledges, the other enforces; and the faults they survive, each on a
//! store server the test starts itself.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::backends::{PgDatabase, PrivatePostgres, PrivateRedis, RedisPrefix};
use crate::common::{Server, claims, config, jti};

/// Both instances sign and verify alike: the same key and issuer.
pub(crate) fn instance(store: &str, extra: &str) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let toml = config(&format!("issuer = \"https://revokd.test\"\nstore = \"{store}\"\n{extra}"));
    let s = Server::start(dir.path(), Some(&toml), &[]);
    (dir, s)
}

/// Waits up to `limit` for `s` to answer `token` with `status`.
async fn answers(s: &Server, token: &str, status: u16, limit: Duration, what: &str) -> Duration {
    let t = Instant::now();
    loop {
        let (st, body, _) = s.verify(token).await;
        if st == status {
            return t.elapsed();
        }
        assert!(t.elapsed() < limit, "{what}: still {st} {body} after {limit:?}\n{}", s.log_text());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

pub(crate) fn access(pair: &Value) -> &str {
    pair["access_token"].as_str().unwrap()
}

async fn one_instance_enforces_what_the_other_acknowledged(store: &str) {
    let (_da, a) = instance(store, "");
    let (_db, b) = instance(store, "");
    let second = Duration::from_secs(1);

    // jti: revoke on A, refused by B; unrevoke on B, accepted by A and B again
    let alice = a.login(json!({"sub": "alice"})).await;
    assert_eq!(b.verify(access(&alice)).await.0, 200);
    let rec = a.revoke(json!({"jti": jti(access(&alice))})).await;
    answers(&b, access(&alice), 401, second, "B after A revoked the jti").await;
    assert_eq!(b.unrevoke(rec["id"].as_str().unwrap()).await, 204);
    answers(&a, access(&alice), 200, second, "A after B unrevoked").await;
    answers(&b, access(&alice), 200, second, "B after its own unrevoke").await;

    // subject: "log out everywhere" on B, refused by A; unrevoked on A
    let bob = b.login(json!({"sub": "bob"})).await;
    let rec = b.revoke(json!({"sub": "bob"})).await;
    answers(&a, access(&bob), 401, second, "A after B logged bob out").await;
    assert_eq!(a.unrevoke(rec["id"].as_str().unwrap()).await, 204);
    answers(&b, access(&bob), 200, second, "B after A undid the logout").await;

    // family: revoked on A, every token of it refused by B
    let carol = a.login(json!({"sub": "carol"})).await;
    let fam = claims(access(&carol))["fam"].as_str().unwrap().to_owned();
    a.revoke(json!({"family": fam})).await;
    answers(&b, access(&carol), 401, second, "B after A revoked the family").await;

    // a refresh token presented to both at once is consumed once
    for round in 0..5 {
        let dave = a.login(json!({"sub": format!("dave{round}")})).await;
        let refresh = dave["refresh_token"].as_str().unwrap().to_owned();
        let ask = |s: &Server| {
            s.http.post(s.url("/v1/tokens/refresh")).json(&json!({"refresh_token": refresh.clone()})).send()
        };
        let (ra, rb) = tokio::join!(ask(&a), ask(&b));
        let codes = [ra.unwrap().status().as_u16(), rb.unwrap().status().as_u16()];
        assert_eq!(codes.iter().filter(|c| **c == 200).count(), 1, "round {round}: {codes:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_instances_enforce_each_others_rules() {
    let db = PgDatabase::create("two");
    one_instance_enforces_what_the_other_acknowledged(&db.url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_two_instances_enforce_each_others_rules() {
    let p = RedisPrefix::create("two");
    one_instance_enforces_what_the_other_acknowledged(&p.url).await;
}

#[tokio::test]
async fn revokd_warns_when_its_redis_keeps_nothing_on_disk() {
    let r = PrivateRedis::start();
    let p = RedisPrefix::create_on(&r.url(), "persist");
    // AOF with appendfsync always: nothing to warn about
    let (_d, s) = instance(&p.url, "");
    assert!(!s.log_text().contains("lost"), "{}", s.log_text());
    drop(s);
    // the same server made to keep nothing
    r.cli(&["CONFIG", "SET", "appendonly", "no"]);
    r.cli(&["CONFIG", "SET", "save", ""]);
    let (_d, s) = instance(&p.url, "");
    assert!(s.log_text().contains("keeps nothing on disk"), "no warning:\n{}", s.log_text());
}

#[tokio::test]
async fn a_shared_store_needs_a_configured_admin_token() {
    let db = PgDatabase::create("admin");
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "store = \"{}\"\n[[keys]]\nkid = \"k\"\nalgorithm = \"HS256\"\nsecret = \"{}\"\n",
        db.url,
        crate::common::SECRET
    );
    std::fs::write(dir.path().join("revokd.toml"), toml).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_revokd"))
        .arg("serve")
        .current_dir(dir.path())
        .env_remove("REVOKD_ADMIN_TOKENS")
        .env_remove("REVOKD_ADMIN_TOKEN")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("admin_tokens"), "{err}");
    assert!(!dir.path().join("revokd.admin-token").exists());
}

// ---------------------------------------------------------------------------------
// Faults, on private servers.

/// Revokes `jti` on `s`, retrying while the store is away (503) until `limit`:
/// returns whether it was acknowledged (201).
async fn revoke_until_acknowledged(s: &Server, jti: &str, limit: Duration) -> bool {
    let t = Instant::now();
    loop {
        let res = s.http.post(s.url("/v1/revocations")).bearer_auth(&s.admin).json(&json!({"jti": jti})).send().await;
        match res.map(|r| r.status().as_u16()) {
            Ok(201) => return true,
            Ok(503) | Err(_) if t.elapsed() < limit => tokio::time::sleep(Duration::from_millis(50)).await,
            _ => return false,
        }
    }
}

/// A store server of the test's own, on a private port: faults never disturb other tests.
pub(crate) enum Private {
    Pg(PrivatePostgres, PgDatabase),
    Redis(PrivateRedis, RedisPrefix),
}

impl Private {
    pub(crate) fn postgres() -> Private {
        let pg = PrivatePostgres::start();
        let mut db = PgDatabase::create_on(&pg.admin_url(), "fault");
        // trust authentication ignores it; it is there to prove it is never logged
        // (scripts/check-logs.sh)
        db.url = db.url.replacen("postgres@", "postgres:pw-never-logged-0123@", 1);
        Private::Pg(pg, db)
    }

    pub(crate) fn redis() -> Private {
        let r = PrivateRedis::start();
        let p = RedisPrefix::create_on(&r.url(), "fault");
        Private::Redis(r, p)
    }

    pub(crate) fn url(&self) -> &str {
        match self {
            Private::Pg(_, db) => &db.url,
            Private::Redis(_, p) => &p.url,
        }
    }

    /// Drops every client connection (`pg_terminate_backend`, `CLIENT KILL`).
    pub(crate) fn drop_connections(&self) {
        match self {
            Private::Pg(_, db) => {
                db.terminate_connections();
            }
            Private::Redis(r, _) => {
                r.cli(&["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"]);
            }
        }
    }

    pub(crate) fn stop(&self) {
        match self {
            Private::Pg(pg, _) => pg.stop(),
            Private::Redis(r, _) => r.stop(),
        }
    }

    pub(crate) fn crash(&self) {
        match self {
            Private::Pg(pg, _) => pg.crash(),
            Private::Redis(r, _) => r.kill9(),
        }
    }

    pub(crate) fn start_again(&self) {
        match self {
            Private::Pg(pg, _) => pg.start_again(),
            Private::Redis(r, _) => r.start_again(),
        }
    }
}

async fn dropped_connections_are_repaired(store: Private) {
    let (_da, a) = instance(store.url(), "");
    let (_db, b) = instance(store.url(), "");
    let pair = a.login(json!({"sub": "alice"})).await;
    assert_eq!(b.verify(access(&pair)).await.0, 200);
    store.drop_connections();
    // A's revocation goes through (a retry if its own connection was among the dropped)
    assert!(revoke_until_acknowledged(&a, &jti(access(&pair)), Duration::from_secs(15)).await);
    answers(&b, access(&pair), 401, Duration::from_secs(10), "B after its connections were dropped").await;
    // B's push channel was re-established (not only polled around)
    let t = Instant::now();
    loop {
        let metrics = b.http.get(b.url("/metrics")).send().await.unwrap().text().await.unwrap();
        let reconnects = metric(&metrics, "revokd_push_reconnects_total");
        if reconnects >= 1.0 && metric(&metrics, "revokd_push_connected") == 1.0 {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(15), "B's push channel did not come back:\n{metrics}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The value of an unlabelled metric in Prometheus text (`NaN` if absent).
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(f64::NAN)
}

async fn the_store_server_restarts_under_both_instances(store: Private, crash: bool) {
    let (_da, a) = instance(store.url(), "");
    let (_db, b) = instance(store.url(), "");
    let before = a.login(json!({"sub": "alice"})).await;
    let during = a.login(json!({"sub": "bob"})).await;
    let after = a.login(json!({"sub": "carol"})).await;
    assert!(revoke_until_acknowledged(&a, &jti(access(&before)), Duration::from_secs(5)).await);
    answers(&b, access(&before), 401, Duration::from_secs(1), "B before the restart").await;

    if crash {
        store.crash()
    } else {
        store.stop()
    }
    // While the store is down: checks still answered from memory (serve_last_known);
    // a revocation is refused, never acknowledged unstored.
    assert_eq!(b.verify(access(&before)).await.0, 401);
    assert_eq!(b.verify(access(&during)).await.0, 200);
    let res = a.http.post(a.url("/v1/revocations")).bearer_auth(&a.admin).json(&json!({"jti": jti(access(&during))}));
    let st = res.send().await.unwrap().status().as_u16();
    assert_eq!(st, 503, "a revocation while the store is down");
    store.start_again();

    assert!(revoke_until_acknowledged(&a, &jti(access(&after)), Duration::from_secs(30)).await);
    answers(&b, access(&after), 401, Duration::from_secs(10), "B after the store came back").await;
    answers(&a, access(&after), 401, Duration::from_secs(1), "A").await;
    assert_eq!(a.verify(access(&before)).await.0, 401, "acknowledged before the restart, kept");
    assert_eq!(b.verify(access(&during)).await.0, 200, "refused while down: not stored, not enforced");
}

async fn an_instance_killed_mid_burst_loses_nothing_acknowledged(store: Private) {
    let (da, mut a) = instance(store.url(), "");
    let (_db, b) = instance(store.url(), "");
    let mut tokens = Vec::new();
    for i in 0..100 {
        tokens.push(access(&a.login(json!({"sub": format!("u{i}")})).await).to_owned());
    }
    // a burst of revocations, 10 at a time; A is killed while they run
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for chunk in tokens.chunks(10) {
        let chunk: Vec<String> = chunk.to_vec();
        let (http, url, admin, acked) = (a.http.clone(), a.url("/v1/revocations"), a.admin.clone(), acked.clone());
        tasks.push(tokio::spawn(async move {
            for t in chunk {
                let res = http.post(&url).bearer_auth(&admin).json(&json!({"jti": jti(&t)})).send().await;
                if res.is_ok_and(|r| r.status() == 201) {
                    acked.lock().unwrap().push(t);
                }
            }
        }));
    }
    // killed once the burst is under way: a few acknowledged, most not yet sent
    let t = Instant::now();
    while acked.lock().unwrap().len() < 3 {
        assert!(t.elapsed() < Duration::from_secs(10), "no revocation acknowledged");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    a.kill9();
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() < tokens.len(), "the kill landed after the burst");
    let toml = std::fs::read_to_string(da.path().join("revokd.toml")).unwrap();
    let a = Server::start(da.path(), Some(&toml), &[]);
    for t in &acked {
        answers(&b, t, 401, Duration::from_secs(2), "B, an acknowledged revocation").await;
        assert_eq!(a.verify(t).await.0, 401, "restarted A, an acknowledged revocation");
    }
    eprintln!("{} of {} revocations acknowledged before the kill; all enforced", acked.len(), tokens.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_dropped_connections_are_repaired() {
    dropped_connections_are_repaired(Private::postgres()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_dropped_connections_are_repaired() {
    dropped_connections_are_repaired(Private::redis()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarts_under_both_instances() {
    the_store_server_restarts_under_both_instances(Private::postgres(), false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_crashes_under_both_instances() {
    the_store_server_restarts_under_both_instances(Private::postgres(), true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restarts_under_both_instances() {
    the_store_server_restarts_under_both_instances(Private::redis(), false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_crashes_under_both_instances() {
    the_store_server_restarts_under_both_instances(Private::redis(), true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_instance_killed_mid_burst() {
    an_instance_killed_mid_burst_loses_nothing_acknowledged(Private::postgres()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_instance_killed_mid_burst() {
    an_instance_killed_mid_burst_loses_nothing_acknowledged(Private::redis()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuse_mode_goes_not_ready_while_the_store_is_down() {
    let store = Private::postgres();
    let (_da, a) = instance(store.url(), "on_store_unreachable = \"refuse\"");
    let pair = a.login(json!({"sub": "alice"})).await;
    assert_eq!(a.verify(access(&pair)).await.0, 200);
    assert_eq!(a.http.get(a.url("/readyz")).send().await.unwrap().status(), 200);
    store.stop();
    answers(&a, access(&pair), 503, Duration::from_secs(15), "checks refused while the store is down").await;
    let ready = a.http.get(a.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    assert_eq!(ready.json::<Value>().await.unwrap()["error"], "unavailable");
    // introspection too: "unavailable", never "inactive" (a resource server would drop
    // a good token)
    let res = a
        .http
        .post(a.url("/oauth/introspect"))
        .basic_auth("app", Some("app-secret-0123456789"))
        .form(&[("token", access(&pair))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    store.start_again();
    answers(&a, access(&pair), 200, Duration::from_secs(30), "answered again once the store is back").await;
    assert_eq!(a.http.get(a.url("/readyz")).send().await.unwrap().status(), 200);
}

// ---------------------------------------------------------------------------------
// Benchmark (run by hand; docs/BENCHMARKS.md has the figures).

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// From A's acknowledgement of a revocation to B's first refusal of the token, over
/// `n` revocations one after another; B is asked in a tight loop on a kept-alive
/// connection (one loopback round trip, ~0.1 ms, is the resolution).
async fn propagation(store: &str, n: usize) -> Vec<Duration> {
    let (_da, a) = instance(store, "");
    let (_db, b) = instance(store, "");
    let mut tokens = Vec::with_capacity(n);
    for i in 0..n {
        tokens.push(access(&a.login(json!({"sub": format!("p{i}")})).await).to_owned());
    }
    let mut lat = Vec::with_capacity(n);
    for t in &tokens {
        assert_eq!(b.verify(t).await.0, 200);
        a.revoke(json!({"jti": jti(t)})).await;
        let acked = Instant::now();
        loop {
            let st = b.verify(t).await.0;
            if st == 401 {
                break;
            }
            assert!(acked.elapsed() < Duration::from_secs(5), "B still answers {st} after 5 s");
        }
        lat.push(acked.elapsed());
    }
    lat.sort();
    lat
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: cargo test --release -p revokd-server --test integration -- --ignored --nocapture propagation"]
async fn propagation_benchmark() {
    let n: usize = std::env::var("PROPAGATION_N").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let db = PgDatabase::create("bench");
    let redis = PrivateRedis::start();
    let prefix = RedisPrefix::create_on(&redis.url(), "bench");
    for (name, url) in [("postgres", db.url.clone()), ("redis (appendfsync always)", prefix.url.clone())] {
        let lat = propagation(&url, n).await;
        println!(
            "propagation {name}: n={n} p50={:?} p99={:?} max={:?}",
            percentile(&lat, 0.50),
            percentile(&lat, 0.99),
            lat[lat.len() - 1]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_started_before_its_store_comes_up_by_itself() {
    let store = Private::postgres();
    store.stop();
    let dir = tempfile::tempdir().unwrap();
    let toml = config(&format!("issuer = \"https://revokd.test\"\nstore = \"{}\"", store.url()));
    std::fs::write(dir.path().join("revokd.toml"), toml).unwrap();
    let port = crate::common::backends::free_port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_revokd"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .current_dir(dir.path())
        .stderr(std::fs::File::create(dir.path().join("stderr.log")).unwrap())
        .spawn()
        .unwrap();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let get = |path: &str| http.get(format!("http://127.0.0.1:{port}{path}")).send();
    let t = Instant::now();
    let status = loop {
        if let Ok(r) = get("/healthz").await {
            break r.status().as_u16();
        }
        assert!(t.elapsed() < Duration::from_secs(20), "the port never answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status, 200, "alive while the store is away");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(child.try_wait().unwrap(), None, "it kept running, retrying");
    assert_eq!(get("/readyz").await.unwrap().status(), 503, "not ready without its store");
    store.start_again();
    let t = Instant::now();
    while get("/readyz").await.map(|r| r.status().as_u16()).unwrap_or(0) != 200 {
        assert!(t.elapsed() < Duration::from_secs(60), "not ready a minute after the store came back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::read_to_string(dir.path().join("stderr.log")).unwrap();
    assert!(log.contains("the store cannot be reached yet"), "{log}");
    crate::common::keep_log(&log);
}
