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

/// Every call of the `Store` trait on a database: each bounded in time (a hang fails),
/// whatever rules come back loaded into an index. Returns the snapshot's outcome.
async fn exercise(store: &PostgresStore) -> Result<usize, revokd::store::StoreError> {
    use revokd::index::Index;
    use revokd::store::IssuedToken;
    async fn bounded<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
        tokio::time::timeout(Duration::from_secs(20), f).await.unwrap_or_else(|_| panic!("{what} hung"))
    }
    let mut rules = Vec::new();
    let _ = bounded("last_seq", store.last_seq()).await;
    let snapshot = bounded("snapshot", store.snapshot()).await;
    if let Ok(s) = &snapshot {
        rules.extend(s.rules.iter().cloned());
    }
    if let Ok(events) = bounded("events_after", store.events_after(0, 100)).await {
        rules.extend(events.into_iter().map(|e| e.revocation));
    }
    for r in rules.clone() {
        if let Ok(Some(again)) = bounded("revocation", store.revocation(&r.id)).await {
            rules.push(again);
        }
    }
    for kind in [RuleKind::Jti, RuleKind::Subject, RuleKind::Family, RuleKind::All] {
        let _ = bounded("live_rule", store.live_rule(kind, None, "jti-a")).await;
    }
    let index = Index::new();
    index.load(&rules);
    for r in &rules {
        index.check_parts(r.iss.as_deref(), r.target.as_deref().unwrap_or(""), "alice", None, 0);
        index.remove(r);
    }
    index.prune_all(u64::MAX);
    let _ = bounded("tokens", store.tokens(None, None, 10)).await;
    let _ = bounded("tokens of", store.tokens(Some("alice"), Some("t-1"), 10)).await;
    let _ = bounded("token", store.token("t-2")).await;
    let _ = bounded("family_latest_exp", store.family_latest_exp("fam-1")).await;
    let _ = bounded("max_lifetime", store.max_lifetime()).await;
    let _ = bounded("raise_max_lifetime", store.raise_max_lifetime(7200)).await;
    let _ = bounded("secret_or_insert", store.secret_or_insert("hmac", vec![1; 32])).await;
    let _ = bounded("consume_refresh", store.consume_refresh("t-2", 5_000, 10)).await;
    let token = IssuedToken {
        jti: "t-3".into(),
        sub: "alice".into(),
        token_type: revokd::TokenType::Access,
        fam: None,
        iat: 1,
        exp: 10,
    };
    let _ = bounded("record_token", store.record_token(token)).await;
    if let Some(r) = rules.first() {
        let reassign = Change::Reassign { id: r.id.clone(), actor: "eve".into(), reason: None };
        let _ = bounded("reassign", store.append(reassign)).await;
        let _ = bounded("unrevoke", store.append(Change::Unrevoke { id: r.id.clone() })).await;
    }
    let _ = bounded("append", store.append(Change::Revoke(rule("jti-new")))).await;
    let _ = bounded("prune", store.prune(u32::MAX as u64)).await;
    snapshot.map(|s| s.rules.len())
}

/// The store's decoding of its own rows: each kind of damage a person or a bug could do
/// to the tables within their types (a kind or op revokd never writes, negative numbers,
/// NULLs where a rule needs a value, dangling events, a missing head row, an empty
/// secret) on a database of every kind of record; then every call of the `Store` trait.
/// Never a panic and never a hang; a rule of unknown kind is an error that is not
/// "unavailable" (it would not go away by retrying).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_rows_are_errors_never_panics() {
    let damages = [
        "UPDATE revokd_revocations SET kind = 'bogus'",
        "UPDATE revokd_revocations SET kind = ''",
        "UPDATE revokd_revocations SET seq = -5, created_at = -9223372036854775808, expires_at = -1",
        "UPDATE revokd_revocations SET before_ms = -1",
        "UPDATE revokd_revocations SET before_ms = NULL, target = NULL, iss = ''",
        "UPDATE revokd_revocations SET id = '', actor = '' WHERE seq = 1",
        "UPDATE revokd_revocations SET removed = TRUE",
        "UPDATE revokd_events SET op = 'bogus'",
        "UPDATE revokd_events SET revocation_id = 'missing'",
        "UPDATE revokd_events SET seq = -seq",
        "DELETE FROM revokd_revocations",
        "UPDATE revokd_tokens SET type = 'weird', iat = -1, exp = -1, fam = ''",
        "UPDATE revokd_refresh_uses SET first_used_ms = -1, expires_at = -1",
        "UPDATE revokd_feed_head SET seq = -1, watermark = 9223372036854775807, max_lifetime = -1",
        "UPDATE revokd_feed_head SET watermark = seq + 100",
        "DELETE FROM revokd_feed_head",
        "UPDATE revokd_meta SET value = ''::bytea",
    ];
    for damage in damages {
        let db = PgDatabase::create("damaged");
        {
            let store = PostgresStore::connect(&db.url).await.unwrap();
            let jti = store.append(Change::Revoke(rule("jti-a"))).await.unwrap();
            let subject = NewRevocation { kind: RuleKind::Subject, before_ms: Some(1_000), ..rule("alice") };
            store.append(Change::Revoke(subject)).await.unwrap();
            let family = NewRevocation { kind: RuleKind::Family, ..rule("fam-1") };
            store.append(Change::Revoke(family)).await.unwrap();
            let all = NewRevocation { kind: RuleKind::All, target: None, before_ms: Some(500), ..rule("") };
            store.append(Change::Revoke(all)).await.unwrap();
            let gone = store.append(Change::Revoke(rule("jti-b"))).await.unwrap();
            store.append(Change::Unrevoke { id: gone.revocation.id }).await.unwrap();
            for (jti, t, fam) in
                [("t-1", revokd::TokenType::Access, None), ("t-2", revokd::TokenType::Refresh, Some("fam-1"))]
            {
                let token = revokd::store::IssuedToken {
                    jti: jti.into(),
                    sub: "alice".into(),
                    token_type: t,
                    fam: fam.map(str::to_owned),
                    iat: 1,
                    exp: u32::MAX as u64,
                };
                store.record_token(token).await.unwrap();
            }
            store.consume_refresh("t-2", 1_000, u32::MAX as u64).await.unwrap();
            store.raise_max_lifetime(3600).await.unwrap();
            store.secret_or_insert("hmac", vec![7; 32]).await.unwrap();
            assert_eq!(jti.seq, 1);
        }
        db.sql(damage);
        // a store opened on the damaged database, as after a restart
        let store = match PostgresStore::connect(&db.url).await {
            Ok(s) => s,
            Err(e) => {
                assert!(!e.is_unavailable(), "{damage}: refused to open as if unavailable: {e:?}");
                continue;
            }
        };
        let snapshot = exercise(&store).await;
        if damage.contains("kind = ") {
            let e = snapshot.expect_err(damage);
            assert!(!e.is_unavailable(), "{damage}: {e:?}");
        }
    }
}
