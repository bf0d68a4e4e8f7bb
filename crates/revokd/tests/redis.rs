//! The Redis store beyond the conformance suite: feed trimming and reload, push between
//! stores, reconnection, key expiry, credentials in errors.

use std::sync::Arc;
use std::time::{Duration, Instant};

use revokd::rules::{NewRevocation, RuleKind};
use revokd::store::{Change, Persistence, RedisStore, Store, StoreError};
use revokd::sync::Follower;

use crate::common::backends::RedisPrefix;

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

fn jti(target: &str, expires_in: u64) -> Change {
    Change::Revoke(NewRevocation {
        kind: RuleKind::Jti,
        target: Some(target.into()),
        iss: None,
        before_ms: None,
        created_at: now(),
        expires_at: now() + expires_in,
        reason: None,
        actor: "admin".into(),
    })
}

fn revoked(f: &Follower, j: &str) -> bool {
    f.index().check_parts(None, j, "someone", None, now() * 1000)
}

/// The ids of this store's connections with the given role (`main` or `push`).
fn client_ids(p: &RedisPrefix, role: &str) -> Vec<String> {
    let name = format!("name=revokd:{role}:{}", p.prefix);
    p.cli(&["CLIENT", "LIST"])
        .lines()
        .filter(|l| l.split(' ').any(|f| f == name))
        .filter_map(|l| l.split(' ').find_map(|f| f.strip_prefix("id=")).map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_behind_the_trimmed_feed_reloads_a_snapshot() {
    let p = RedisPrefix::create("gone");
    let store: Arc<dyn Store> = Arc::new(RedisStore::connect(&p.url).await.unwrap());
    let follower = Follower::load(Arc::clone(&store)).await.unwrap();
    assert_eq!(follower.applied_seq(), 0);
    let short = store.append(jti("short", 10)).await.unwrap();
    let long = store.append(jti("long", 100_000)).await.unwrap();
    let gone = store.append(jti("gone", 100_000)).await.unwrap();
    store.append(Change::Unrevoke { id: gone.revocation.id.clone() }).await.unwrap();
    store.append(jti("kept", 100_000)).await.unwrap();
    // Later than the short rule's expiry and the feed retention: every event leaves
    // the feed (the live rules' too: the snapshot holds them).
    let pruned = store.prune(now() + 5_000).await.unwrap();
    assert_eq!((pruned.rules, pruned.events), (1, 5), "{pruned:?}");
    assert!(matches!(store.events_after(0, 10).await, Err(StoreError::FeedGone { since: 0, oldest: 5 })));
    assert_eq!(store.revocation(&short.revocation.id).await.unwrap(), None);
    follower.catch_up().await.unwrap();
    assert_eq!(follower.applied_seq(), 5);
    assert!(!revoked(&follower, "short"));
    assert!(revoked(&follower, "long"));
    assert!(!revoked(&follower, "gone"));
    assert!(revoked(&follower, "kept"));
    assert_eq!(store.revocation(&long.revocation.id).await.unwrap(), Some(long.revocation));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_append_on_one_store_wakes_the_other_at_once() {
    let p = RedisPrefix::create("push");
    let a = Arc::new(RedisStore::connect(&p.url).await.unwrap());
    let b = RedisStore::connect(&p.url).await.unwrap();
    b.append(jti("first", 3600)).await.unwrap();
    let waiter = {
        let a = Arc::clone(&a);
        tokio::spawn(async move {
            let t = Instant::now();
            a.wait_for_change(1, Duration::from_secs(20)).await.unwrap();
            t.elapsed()
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent = Instant::now();
    b.append(jti("second", 3600)).await.unwrap();
    let waited = waiter.await.unwrap();
    assert!(waited >= Duration::from_millis(250), "returned before the append: {waited:?}");
    assert!(sent.elapsed() < Duration::from_secs(1), "woken {:?} after the append", sent.elapsed());
    let status = a.push_status().unwrap();
    assert!(status.connected);
    assert_eq!(status.announced_seq, 2);
    assert_eq!(status.reconnects, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_push_connection_reconnects_and_misses_nothing() {
    let p = RedisPrefix::create("kill");
    let a = Arc::new(RedisStore::connect(&p.url).await.unwrap());
    let b = RedisStore::connect(&p.url).await.unwrap();
    let waiter = {
        let a = Arc::clone(&a);
        tokio::spawn(async move { a.wait_for_change(0, Duration::from_secs(20)).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ids = client_ids(&p, "push");
    assert_eq!(ids.len(), 2, "one push connection per store");
    // Kill every push connection of this prefix (both stores'): only this test's.
    for id in &ids {
        p.cli(&["CLIENT", "KILL", "ID", id]);
    }
    let t = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), waiter).await.unwrap().unwrap().unwrap();
    assert!(t.elapsed() < Duration::from_secs(3));
    let status = a.push_status().unwrap();
    assert!(status.connected, "{status:?}");
    assert_eq!(status.reconnects, 1, "{status:?}");
    // An append made meanwhile by the other store is seen at once.
    let e = b.append(jti("meanwhile", 3600)).await.unwrap();
    let t = Instant::now();
    a.wait_for_change(0, Duration::from_secs(20)).await.unwrap();
    assert!(t.elapsed() < Duration::from_secs(1));
    assert_eq!(a.events_after(0, 10).await.unwrap(), vec![e]);
    assert_eq!(a.push_status().unwrap().announced_seq, 1);
    // The main connection survives a kill too: the next call reconnects.
    for id in client_ids(&p, "main") {
        p.cli(&["CLIENT", "KILL", "ID", &id]);
    }
    let mut ok = false;
    for _ in 0..3 {
        match a.last_seq().await {
            Ok(1) => {
                ok = true;
                break;
            }
            Ok(other) => panic!("last_seq {other}"),
            Err(e) => assert!(e.is_unavailable(), "{e:?}"),
        }
    }
    assert!(ok, "the main connection did not come back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_expire_with_their_ttl() {
    let p = RedisPrefix::create("ttl");
    let s = RedisStore::connect(&p.url).await.unwrap();
    let e = s.append(jti("soon", 2)).await.unwrap();
    let key = format!("{}rule:{}", p.prefix, e.revocation.id);
    assert_eq!(p.cli(&["EXISTS", &key]).trim(), "1");
    let ttl: i64 = p.cli(&["TTL", &key]).trim().parse().unwrap();
    assert!((1..=3).contains(&ttl), "ttl {ttl}");
    tokio::time::sleep(Duration::from_millis(3_200)).await;
    assert_eq!(p.cli(&["EXISTS", &key]).trim(), "0");
    assert_eq!(s.revocation(&e.revocation.id).await.unwrap(), None);
    assert_eq!(s.live_rule(RuleKind::Jti, None, "soon").await.unwrap(), None);
    assert!(s.snapshot().await.unwrap().rules.is_empty());
    // and the jti can be revoked again
    assert_ne!(s.append(jti("soon", 60)).await.unwrap().revocation.id, e.revocation.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_never_appears_in_an_error() {
    let secret = "hunter2-s3cret";
    // unreachable server
    let e = RedisStore::connect(&format!("redis://user:{secret}@127.0.0.1:1/0")).await.unwrap_err();
    assert!(e.is_connection_dropped(), "{e:?}");
    assert!(!e.to_string().contains(secret) && !format!("{e:?}").contains(secret), "{e}");
    // reachable server refusing the password
    let server = crate::common::backends::redis_url();
    let with_password = server.replacen("redis://", &format!("redis://user:{secret}@"), 1);
    let e = RedisStore::connect(&with_password).await.unwrap_err();
    assert!(!e.to_string().contains(secret) && !format!("{e:?}").contains(secret), "{e}");
    // malformed
    let e = RedisStore::connect(&format!("redis://user:{secret}@[::1")).await.unwrap_err();
    assert!(!e.to_string().contains(secret), "{e}");
    // through open()
    let e = revokd::store::open(&format!("redis://u:{secret}@127.0.0.1:1"), Default::default()).await.unwrap_err();
    assert!(!e.to_string().contains(secret), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistence_is_read_from_the_server() {
    let p = RedisPrefix::create("persist");
    let s = RedisStore::connect(&p.url).await.unwrap();
    let aof = p.cli(&["CONFIG", "GET", "appendonly"]);
    let fsync = p.cli(&["CONFIG", "GET", "appendfsync"]);
    let save = p.cli(&["CONFIG", "GET", "save"]);
    let second = |s: &str| s.lines().nth(1).map(str::to_owned).unwrap_or_default();
    let expected = Persistence::classify(Some(&second(&aof)), Some(&second(&fsync)), Some(&second(&save)));
    assert_eq!(s.persistence(), expected);
    assert_eq!(
        Persistence::classify(Some("no"), Some("everysec"), Some("")),
        Persistence::Nothing,
        "no AOF and no save: nothing kept"
    );
    assert_eq!(Persistence::classify(Some("yes"), Some("always"), Some("")), Persistence::Always);
    assert_eq!(Persistence::classify(Some("yes"), Some("everysec"), Some("")), Persistence::EverySec);
}

/// Redis does not roll a script back: a change whose feed entry is refused (the counter
/// `seq` was lost while the feed was kept) must have written nothing, not a rule
/// without its event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_sequence_counter_fails_the_change_and_writes_nothing() {
    let p = RedisPrefix::create("seqlost");
    let s = RedisStore::connect(&p.url).await.unwrap();
    let a = s.append(jti("a", 3600)).await.unwrap();
    let b = s.append(jti("b", 3600)).await.unwrap();
    let c = s.append(jti("c", 3600)).await.unwrap();
    s.append(Change::Unrevoke { id: c.revocation.id.clone() }).await.unwrap();
    let rules_before = s.snapshot().await.unwrap().rules;
    let events_before = s.events_after(0, 100).await.unwrap();
    let keys = |p: &RedisPrefix| {
        let mut k: Vec<String> = p.cli(&["KEYS", &format!("{}*", p.prefix)]).lines().map(str::to_owned).collect();
        k.sort();
        k
    };
    let seq_key = format!("{}seq", p.prefix);
    assert_eq!(p.cli(&["DEL", &seq_key]).trim(), "1");
    let keys_before = keys(&p);

    let refused = |r: Result<revokd::rules::Event, StoreError>| match r {
        Err(StoreError::Corrupt(m)) => assert!(m.contains("already reached 4") && m.contains("seq"), "{m}"),
        other => panic!("expected a clean refusal, got {other:?}"),
    };
    refused(s.append(jti("new", 3600)).await);
    refused(s.append(Change::Unrevoke { id: a.revocation.id.clone() }).await);
    refused(s.append(Change::Reassign { id: b.revocation.id.clone(), actor: "other".into(), reason: None }).await);
    assert_eq!(keys(&p), keys_before, "a refused change writes no key");
    assert_eq!(s.snapshot().await.unwrap().rules, rules_before);
    assert_eq!(s.live_rule(RuleKind::Jti, None, "new").await.unwrap(), None);
    assert_eq!(s.revocation(&b.revocation.id).await.unwrap().unwrap().actor, "admin");
    assert_eq!(s.events_after(0, 100).await.unwrap(), events_before);

    // a feed gone altogether but its watermark kept: refused as well
    p.cli(&["SET", &format!("{}watermark", p.prefix), "4"]);
    p.cli(&["DEL", &format!("{}feed", p.prefix)]);
    assert!(matches!(s.append(jti("new", 3600)).await, Err(StoreError::Corrupt(_))));
    assert_eq!(s.live_rule(RuleKind::Jti, None, "new").await.unwrap(), None);

    // the operator restores the counter: changes continue, gap-free
    p.cli(&["SET", &seq_key, "4"]);
    let next = s.append(jti("new", 3600)).await.unwrap();
    assert_eq!(next.seq, 5);
    let moved = s.append(Change::Reassign { id: b.revocation.id.clone(), actor: "other".into(), reason: None }).await;
    assert_eq!(moved.unwrap().seq, 6);
    assert_eq!(s.revocation(&b.revocation.id).await.unwrap().unwrap().actor, "other");
    assert_eq!(s.append(Change::Unrevoke { id: a.revocation.id.clone() }).await.unwrap().seq, 7);
    assert_eq!(s.events_after(4, 10).await.unwrap().iter().map(|e| e.seq).collect::<Vec<_>>(), [5, 6, 7]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_evicting_memory_policy_is_detected_at_connect() {
    let server = crate::common::backends::PrivateRedis::start();
    server.cli(&["CONFIG", "SET", "maxmemory", "100mb"]);
    server.cli(&["CONFIG", "SET", "maxmemory-policy", "volatile-lru"]);
    let s = RedisStore::connect(&server.url()).await.unwrap();
    assert!(s.eviction().may_evict(), "{:?}", s.eviction());
    assert_eq!(s.eviction().as_str(), "may-evict");
    assert!(format!("{s:?}").contains("volatile-lru"), "{s:?}");

    server.cli(&["CONFIG", "SET", "maxmemory-policy", "noeviction"]);
    let s = RedisStore::connect(&server.url()).await.unwrap();
    assert!(!s.eviction().may_evict());
    assert_eq!(s.eviction().as_str(), "noeviction");

    server.cli(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"]);
    server.cli(&["CONFIG", "SET", "maxmemory", "0"]);
    let s = RedisStore::connect(&server.url()).await.unwrap();
    assert_eq!(s.eviction().as_str(), "no-limit");
}

/// A Redis busy running a script past its time limit answers `BUSY`: the store is
/// unavailable (a 503), not broken, and serves again once it is free.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_server_is_unavailable_not_an_error() {
    let server = crate::common::backends::PrivateRedis::start();
    server.cli(&["CONFIG", "SET", "lua-time-limit", "100"]);
    let s = RedisStore::connect(&server.url()).await.unwrap();
    s.append(jti("before", 3600)).await.unwrap();
    let script = "local t = redis.call('TIME') while true do local n = redis.call('TIME') \
                  if tonumber(n[1]) - tonumber(t[1]) >= 10 then break end end return 1";
    let mut busy = std::process::Command::new("redis-cli")
        .args(["-p", &server.port.to_string(), "EVAL", script, "0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let e = s.last_seq().await.unwrap_err();
    assert!(e.is_unavailable(), "{e:?}");
    assert!(e.to_string().contains("BUSY"), "{e}");
    let e = s.append(jti("during", 3600)).await.unwrap_err();
    assert!(e.is_unavailable(), "{e:?}");
    server.cli(&["SCRIPT", "KILL"]);
    let _ = busy.wait();
    assert_eq!(s.last_seq().await.unwrap(), 1);
    assert_eq!(s.append(jti("after", 3600)).await.unwrap().seq, 2);
}

/// A full Redis under `noeviction` refuses writes with `OOM`: the store is unavailable
/// (a 503, "not now"), nothing is half-written, reads still work, and writes succeed
/// again once there is room.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_server_is_unavailable_for_writes_and_reads_go_on() {
    let server = crate::common::backends::PrivateRedis::start();
    server.cli(&["CONFIG", "SET", "maxmemory-policy", "noeviction"]);
    let s = RedisStore::connect(&server.url()).await.unwrap();
    s.append(jti("before", 3600)).await.unwrap();
    server.cli(&["CONFIG", "SET", "maxmemory", "1"]);
    let e = s.append(jti("full", 3600)).await.unwrap_err();
    assert!(e.is_unavailable(), "{e:?}");
    assert!(e.to_string().contains("OOM"), "{e}");
    assert_eq!(s.last_seq().await.unwrap(), 1);
    assert_eq!(s.events_after(0, 10).await.unwrap().len(), 1);
    assert_eq!(s.snapshot().await.unwrap().rules.len(), 1);
    // every other write: done, or "not now"; never a broken or corrupt store
    let token = revokd::store::IssuedToken {
        jti: "t-1".into(),
        sub: "alice".into(),
        token_type: revokd::TokenType::Access,
        fam: None,
        iat: 1,
        exp: u32::MAX as u64,
    };
    let writes = [
        ("record_token", s.record_token(token).await.err()),
        ("consume_refresh", s.consume_refresh("r-1", 1, u32::MAX as u64).await.err()),
        ("raise_max_lifetime", s.raise_max_lifetime(7200).await.err()),
        ("secret_or_insert", s.secret_or_insert("k", vec![1; 32]).await.err()),
        ("prune", s.prune(1).await.err()),
    ];
    for (what, e) in writes {
        // a new token and a first refresh write new keys: refused for certain
        if matches!(what, "record_token" | "consume_refresh") {
            assert!(e.is_some(), "{what} succeeded on a full server");
        }
        if let Some(e) = e {
            assert!(e.is_unavailable(), "{what}: {e:?}");
        }
    }
    server.cli(&["CONFIG", "SET", "maxmemory", "0"]);
    assert_eq!(s.append(jti("after", 3600)).await.unwrap().seq, 2);
    assert_eq!(s.snapshot().await.unwrap().rules.len(), 2);
}
