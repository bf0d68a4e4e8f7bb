//! The PostgreSQL store beyond the conformance suite: push across stores, a lost
//! LISTEN connection, concurrent migrations, failing jobs in a batch, and credentials
//! kept out of errors.

use std::sync::Arc;
use std::time::{Duration, Instant};

use revokd::rules::{NewRevocation, RuleKind};
use revokd::store::{Change, PostgresStore, Store};

use crate::common::backends::PgDatabase;

fn rule(jti: &str) -> NewRevocation {
    NewRevocation {
        kind: RuleKind::Jti,
        target: Some(jti.into()),
        iss: None,
        before_ms: None,
        created_at: 1,
        expires_at: u32::MAX as u64,
        reason: None,
        actor: "test".into(),
    }
}

async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_append_on_one_store_wakes_a_waiter_on_another() {
    let db = PgDatabase::create("push");
    let a = Arc::new(PostgresStore::connect(&db.url).await.unwrap());
    let b = PostgresStore::connect(&db.url).await.unwrap();
    assert!(a.push_status().unwrap().connected);
    let waiter = {
        let a = Arc::clone(&a);
        tokio::spawn(async move {
            a.wait_for_change(0, Duration::from_secs(30)).await.unwrap();
            Instant::now()
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiter.is_finished(), "nothing was appended yet");
    let appended = Instant::now();
    b.append(Change::Revoke(rule("x"))).await.unwrap();
    let woke = tokio::time::timeout(Duration::from_secs(1), waiter).await.expect("woken within a second").unwrap();
    assert!(woke.duration_since(appended) < Duration::from_secs(1));
    assert_eq!(a.push_status().unwrap().announced_seq, 1);
    assert_eq!(a.events_after(0, 10).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_listen_connection_reconnects_and_the_follower_catches_up() {
    let db = PgDatabase::create("relisten");
    let a = PostgresStore::connect(&db.url).await.unwrap();
    let b = PostgresStore::connect(&db.url).await.unwrap();
    a.append(Change::Revoke(rule("before"))).await.unwrap();
    a.wait_for_change(0, Duration::from_secs(1)).await.unwrap();
    assert_eq!(a.push_status().unwrap().reconnects, 0);

    assert!(db.terminate_connections() > 0);
    // meanwhile another process appends (its pool replaces the killed connections)
    let e = b.append(Change::Revoke(rule("during"))).await.unwrap();
    assert_eq!(e.seq, 2);
    eventually("the listener reconnected", || a.push_status().unwrap().reconnects >= 1).await;
    let status = a.push_status().unwrap();
    assert!(status.connected, "{status:?}");
    // the waiter returns at once (a reconnect, or the head it read), and the feed has it
    tokio::time::timeout(Duration::from_secs(2), a.wait_for_change(1, Duration::from_secs(30)))
        .await
        .expect("no waiting after a reconnect")
        .unwrap();
    let seen = a.events_after(1, 10).await.unwrap();
    assert_eq!(seen, vec![e]);
    // and the writer of the store whose connections were killed still writes
    assert_eq!(a.append(Change::Revoke(rule("after"))).await.unwrap().seq, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_run_concurrently_on_a_fresh_database() {
    let db = PgDatabase::create("migrate");
    let (x, y, z) =
        tokio::join!(PostgresStore::connect(&db.url), PostgresStore::connect(&db.url), PostgresStore::connect(&db.url));
    let (x, y, z) = (x.unwrap(), y.unwrap(), z.unwrap());
    assert_eq!(db.sql("SELECT count(*) FROM revokd_schema_version").trim(), "1");
    x.append(Change::Revoke(rule("a"))).await.unwrap();
    assert_eq!(y.last_seq().await.unwrap(), 1);
    drop((x, y, z));
    // and again on a migrated database
    let again = PostgresStore::connect(&db.url).await.unwrap();
    assert_eq!(again.last_seq().await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_job_fails_alone_and_leaves_no_gap() {
    let db = PgDatabase::create("badjob");
    let store = Arc::new(PostgresStore::connect(&db.url).await.unwrap());
    let mut tasks = Vec::new();
    for i in 0..50 {
        let s = Arc::clone(&store);
        // PostgreSQL text cannot hold NUL: this job's INSERT fails
        let jti = if i == 25 { "bad\0jti".to_owned() } else { format!("ok-{i}") };
        tasks.push(tokio::spawn(async move { s.append(Change::Revoke(rule(&jti))).await }));
    }
    let mut ok = Vec::new();
    let mut failed = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(e) => ok.push(e.seq),
            Err(e) => {
                assert!(!e.is_unavailable(), "{e:?}");
                failed += 1;
            }
        }
    }
    assert_eq!(failed, 1);
    ok.sort();
    assert_eq!(ok, (1..=49).collect::<Vec<u64>>());
    let seen = store.events_after(0, 100).await.unwrap();
    assert_eq!(seen.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=49).collect::<Vec<u64>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_never_appear_in_errors_or_debug_output() {
    for url in [
        "postgres://revokd:s3cr3t-Pa55@127.0.0.1:1/nope",
        "postgresql://revokd:s3cr3t%2DPa55@127.0.0.1:1/nope",
        "postgres://revokd:s3cr3t-Pa55@127.0.0.1:5432/nope?sslmode=disable",
    ] {
        let e = PostgresStore::connect(url).await.unwrap_err();
        let text = format!("{e} {e:?}");
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(e.is_unavailable() || matches!(e, revokd::store::StoreError::Backend(_)), "{e:?}");
        let e = revokd::store::open(url, Default::default()).await.unwrap_err();
        assert!(!format!("{e} {e:?}").contains("s3cr3t"), "{e}");
    }
    let e = PostgresStore::connect("postgres://revokd:s3cr3t-Pa55@127.0.0.1:1/nope").await.unwrap_err();
    assert!(e.is_connection_dropped(), "{e:?}");
    // a password as a query parameter (sqlx and libpq take `?password=`), or in the user
    // info with characters that end the authority unencoded
    for url in [
        "postgres://postgres@127.0.0.1:1/x?password=s3cret",
        "postgres://postgres@127.0.0.1:1/x?sslmode=disable&Password=s3cr3t",
        "postgres://postgres:s3cr3t/x?y#z@127.0.0.1:1/x",
    ] {
        let e = PostgresStore::connect(url).await.unwrap_err();
        assert!(e.is_unavailable(), "{e:?}");
        let text = format!("{e} {e:?}");
        assert!(!text.contains("s3cr"), "{text}");
        assert!(text.contains("127.0.0.1:1"), "the server is still named: {text}");
        let e = revokd::store::open(url, Default::default()).await.unwrap_err();
        assert!(!format!("{e} {e:?}").contains("s3cr"), "{e}");
    }
    // a password the (trust-auth) test server ignores: the store opens; Debug hides it
    let db = PgDatabase::create("secret");
    if db.url.contains("://postgres@") {
        let url = db.url.replacen("://postgres@", "://postgres:hunter2-x@", 1);
        let store = revokd::store::open(&url, Default::default()).await.unwrap();
        assert!(!format!("{store:?}").contains("hunter2"), "{store:?}");
        let sep = if db.url.contains('?') { '&' } else { '?' };
        let store = PostgresStore::connect(&format!("{}{sep}password=hunter2-q", db.url)).await.unwrap();
        assert!(!format!("{store:?}").contains("hunter2"), "{store:?}");
    }
}
