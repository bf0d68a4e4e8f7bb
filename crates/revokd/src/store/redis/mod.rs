//! The Redis store: see [`RedisStore`] for its design.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::Mutex;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, RedisError, Script, Value};

use super::target_key;
use super::{
    Change, Consumption, FEED_RETENTION_SECS, IssuedToken, Page, Pruned, PushStatus, REGISTRY_RETENTION_SECS, Snapshot,
    Store, StoreError, StoreResult,
};
use crate::rules::{Event, NewRevocation, Op, Revocation, RuleKind};
use crate::token::TokenType;

const DEFAULT_PREFIX: &str = "revokd:";
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const SNAPSHOT_CHUNK: usize = 10_000;
const PRUNE_BATCH: usize = 1_000;
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// Expiry times past this (year 5138) are not given to Redis: such keys never expire.
const MAX_EXPIREAT: u64 = 100_000_000_000;
/// The error code of `append.lua` refusing a change because the sequence counter is
/// behind the feed (nothing written).
const SEQ_ERROR: &str = "REVOKDSEQ";

static APPEND: std::sync::LazyLock<Script> = std::sync::LazyLock::new(|| Script::new(include_str!("append.lua")));
static PRUNE: std::sync::LazyLock<Script> = std::sync::LazyLock::new(|| Script::new(include_str!("prune.lua")));
static MISC: std::sync::LazyLock<Script> = std::sync::LazyLock::new(|| Script::new(include_str!("misc.lua")));

/// What the Redis server keeps on disk, from its configuration (`CONFIG GET
/// appendonly`, `appendfsync`, `save`), read at connect.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Persistence {
    /// The append-only file is fsynced before every reply (`appendfsync always`): an
    /// acknowledged revocation survives a machine crash.
    Always,
    /// The append-only file is fsynced every second: up to one second of acknowledged
    /// revocations can be lost on a machine crash (a Redis crash alone loses nothing).
    EverySec,
    /// The append-only file is never fsynced by Redis (`appendfsync no`): the operating
    /// system decides; a machine crash can lose tens of seconds.
    AofNoFsync,
    /// No append-only file, only periodic RDB snapshots (`save` rules given): every
    /// change since the last snapshot is lost when Redis restarts.
    SnapshotsOnly {
        /// The `save` configuration.
        save: String,
    },
    /// Nothing on disk (`appendonly no`, empty `save`): a restart of Redis loses every
    /// acknowledged revocation.
    Nothing,
    /// The configuration could not be read (a managed Redis refusing `CONFIG`).
    Unknown,
}

impl Persistence {
    /// Classifies a server's persistence from its `appendonly`, `appendfsync` and
    /// `save` settings (`None`: not readable).
    pub fn classify(appendonly: Option<&str>, appendfsync: Option<&str>, save: Option<&str>) -> Persistence {
        let (Some(aof), Some(save)) = (appendonly, save) else {
            return Persistence::Unknown;
        };
        if aof.eq_ignore_ascii_case("yes") {
            return match appendfsync.map(str::to_ascii_lowercase).as_deref() {
                Some("always") => Persistence::Always,
                Some("everysec") => Persistence::EverySec,
                Some("no") => Persistence::AofNoFsync,
                _ => Persistence::Unknown,
            };
        }
        if save.trim().is_empty() {
            Persistence::Nothing
        } else {
            Persistence::SnapshotsOnly { save: save.trim().to_owned() }
        }
    }

    /// Whether an acknowledged write survives a machine crash.
    pub fn is_durable(&self) -> bool {
        matches!(self, Persistence::Always)
    }

    /// A stable name: `always`, `everysec`, `aof-no-fsync`, `snapshots-only`, `nothing`,
    /// `unknown`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Persistence::Always => "always",
            Persistence::EverySec => "everysec",
            Persistence::AofNoFsync => "aof-no-fsync",
            Persistence::SnapshotsOnly { .. } => "snapshots-only",
            Persistence::Nothing => "nothing",
            Persistence::Unknown => "unknown",
        }
    }

    fn log(&self) {
        match self {
            Persistence::Always => tracing::debug!("Redis persistence: appendfsync always"),
            Persistence::EverySec => tracing::info!(
                "Redis uses appendfsync everysec: up to one second of acknowledged revocations can be lost on a machine crash"
            ),
            Persistence::AofNoFsync => {
                tracing::warn!("Redis uses appendfsync no: acknowledged revocations can be lost on a machine crash")
            }
            Persistence::SnapshotsOnly { save } => tracing::warn!(
                save = %save,
                "Redis keeps only RDB snapshots (appendonly no): revocations since the last snapshot are lost when it restarts"
            ),
            Persistence::Nothing => tracing::warn!(
                "this Redis keeps nothing on disk (appendonly no, save \"\"): an acknowledged revocation is lost when it restarts"
            ),
            Persistence::Unknown => {
                tracing::warn!("Redis refused CONFIG GET: its persistence could not be checked")
            }
        }
    }
}

/// Whether `e` is a reply of a server that cannot serve now but should soon: loading
/// its data after a restart (`LOADING`), running a script past its time limit (`BUSY`),
/// a replica (`READONLY`, as after a failover to another node), a cluster or
/// replication in trouble (`TRYAGAIN`, `CLUSTERDOWN`, `MASTERDOWN`, `NOREPLICAS`), or no
/// node to send to. The store is unavailable (a 503), not broken (a 500).
fn is_unavailable_reply(e: &RedisError) -> bool {
    use redis::{ErrorKind as K, ServerErrorKind as S};
    match e.kind() {
        K::Server(S::BusyLoading | S::TryAgain | S::ClusterDown | S::MasterDown | S::ReadOnly) => true,
        K::ClusterConnectionNotFound | K::MasterNameNotFoundBySentinel | K::NoValidReplicasFoundBySentinel => true,
        // Codes the redis crate does not name (`Extension` errors). `OOM`: full, under
        // `noeviction` (writes fail until rules expire or memory is added); `MISCONF`:
        // the server refuses writes because its last snapshot failed to save. Both are
        // the server's state, not the request's: "not now" (503), like `BUSY`.
        _ => matches!(e.code(), Some("BUSY" | "NOREPLICAS" | "OOM" | "MISCONF")),
    }
}

/// Whether the connection that got `e` is healthy and worth keeping: the server
/// answered (an unavailable reply other than `READONLY`, after which a new connection
/// may reach the new primary).
fn keeps_connection(e: &RedisError) -> bool {
    is_unavailable_reply(e) && e.kind() != redis::ErrorKind::Server(redis::ServerErrorKind::ReadOnly)
}

/// Whether Redis may delete this store's keys when it runs out of memory, from its
/// configuration (`CONFIG GET maxmemory`, `maxmemory-policy`), read at connect.
///
/// Revocation rules are keys with a TTL (their expiry), so the `volatile-*` policies
/// pick them first, and `allkeys-*` may take any key, the feed and the sequence counter
/// included: an acknowledged revocation would silently disappear (followers keep it
/// until they reload a snapshot). Run revokd's Redis with `maxmemory-policy
/// noeviction`: when full, writes then fail (`OOM`) and nothing acknowledged is lost.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Eviction {
    /// No memory limit (`maxmemory 0`): nothing is evicted (a limit set later at run
    /// time would apply the policy).
    NoLimit {
        /// The `maxmemory-policy` that would apply.
        policy: String,
    },
    /// `maxmemory-policy noeviction`: at the limit writes fail and nothing is evicted.
    Off {
        /// The limit in bytes (0: none).
        maxmemory: u64,
    },
    /// A limit and a policy that evicts keys when it is reached.
    MayEvict {
        /// The limit in bytes.
        maxmemory: u64,
        /// The `maxmemory-policy`, such as `volatile-lru` or `allkeys-lfu`.
        policy: String,
    },
    /// The configuration could not be read (a managed Redis refusing `CONFIG`).
    Unknown,
}

impl Eviction {
    /// Classifies a server's eviction from its `maxmemory` (bytes, as `CONFIG GET`
    /// returns it) and `maxmemory-policy` settings (`None`: not readable).
    pub fn classify(maxmemory: Option<&str>, policy: Option<&str>) -> Eviction {
        let Some(policy) = policy.map(|p| p.trim().to_ascii_lowercase()) else { return Eviction::Unknown };
        let maxmemory = maxmemory.and_then(|m| m.trim().parse::<u64>().ok());
        if policy == "noeviction" {
            return Eviction::Off { maxmemory: maxmemory.unwrap_or(0) };
        }
        match maxmemory {
            Some(0) => Eviction::NoLimit { policy },
            Some(maxmemory) => Eviction::MayEvict { maxmemory, policy },
            None => Eviction::Unknown,
        }
    }

    /// Whether Redis may evict keys (an acknowledged revocation could disappear).
    pub fn may_evict(&self) -> bool {
        matches!(self, Eviction::MayEvict { .. })
    }

    /// A stable name: `no-limit`, `noeviction`, `may-evict`, `unknown`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Eviction::NoLimit { .. } => "no-limit",
            Eviction::Off { .. } => "noeviction",
            Eviction::MayEvict { .. } => "may-evict",
            Eviction::Unknown => "unknown",
        }
    }

    fn log(&self) {
        match self {
            Eviction::NoLimit { policy } => {
                tracing::debug!(maxmemory_policy = %policy, "Redis has no maxmemory limit: nothing is evicted")
            }
            Eviction::Off { .. } => tracing::debug!("Redis uses maxmemory-policy noeviction"),
            Eviction::MayEvict { maxmemory, policy } => tracing::warn!(
                maxmemory = *maxmemory,
                maxmemory_policy = %policy,
                "Redis may evict revocation keys when it reaches maxmemory (rules carry TTLs, so volatile-* policies \
                 evict them first): acknowledged revocations would silently disappear; use maxmemory-policy noeviction"
            ),
            Eviction::Unknown => tracing::warn!(
                "Redis refused CONFIG GET maxmemory-policy: make sure it is noeviction, or acknowledged revocations \
                 may be evicted"
            ),
        }
    }
}

fn err(e: RedisError) -> StoreError {
    if e.is_timeout() {
        StoreError::Timeout
    } else if e.is_connection_dropped() || e.is_connection_refusal() || e.is_io_error() || e.is_unrecoverable_error() {
        StoreError::Connection(format!("redis: {e}"))
    } else if is_unavailable_reply(&e) {
        StoreError::Connection(format!("redis is unavailable: {e}"))
    } else if e.code() == Some(SEQ_ERROR)
        || matches!(e.kind(), redis::ErrorKind::Parse | redis::ErrorKind::UnexpectedReturnType)
    {
        StoreError::Corrupt(format!("redis: {e}"))
    } else {
        StoreError::Backend(format!("redis: {e}"))
    }
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("redis: {what}"))
}

/// The URL without credentials (its user info, a `password=` query value), for
/// messages; the user info is found as [`redact_url`](super::redact_url) finds it (a
/// password with an unencoded `/`, `?`, `#` or `@` included).
fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return "<redis URL>".into();
    };
    let shown = super::redact_url(url);
    let rest = &shown[scheme_end + 3..];
    match super::userinfo_end(rest) {
        Some(at) => format!("{}://***@{}", &shown[..scheme_end], &rest[at + 1..]),
        None => shown,
    }
}

/// Splits the `prefix=` query parameter off a store URL.
fn split_prefix(url: &str) -> (String, String) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), DEFAULT_PREFIX.to_owned());
    };
    let mut prefix = DEFAULT_PREFIX.to_owned();
    let mut rest = Vec::new();
    for part in query.split('&') {
        match part.strip_prefix("prefix=") {
            Some(p) => prefix = p.to_owned(),
            None if !part.is_empty() => rest.push(part),
            None => {}
        }
    }
    let url = if rest.is_empty() { base.to_owned() } else { format!("{base}?{}", rest.join("&")) };
    (url, prefix)
}

/// Integer seconds as Redis `EXPIREAT` takes them ("" = no expiry).
fn expireat(secs: u64) -> String {
    if secs >= MAX_EXPIREAT { String::new() } else { secs.to_string() }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn bytes(v: &Value) -> Option<&[u8]> {
    match v {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.as_bytes()),
        Value::VerbatimString { text, .. } => Some(text.as_bytes()),
        _ => None,
    }
}

fn text(v: &Value) -> StoreResult<&str> {
    match v {
        Value::Int(_) => Err(corrupt("an integer where a string was expected")),
        _ => {
            bytes(v).and_then(|b| std::str::from_utf8(b).ok()).ok_or_else(|| corrupt(format!("unexpected value {v:?}")))
        }
    }
}

fn num(v: &Value) -> StoreResult<u64> {
    match v {
        Value::Int(i) => u64::try_from(*i).map_err(|_| corrupt("negative number")),
        _ => text(v)?.parse().map_err(|_| corrupt(format!("not a number: {v:?}"))),
    }
}

fn array(v: Value) -> StoreResult<Vec<Value>> {
    match v {
        Value::Array(a) | Value::Set(a) => Ok(a),
        Value::Nil => Ok(Vec::new()),
        Value::Map(m) => Ok(m.into_iter().flat_map(|(k, v)| [k, v]).collect()),
        other => Err(corrupt(format!("expected an array, got {other:?}"))),
    }
}

/// A rule from its field/value pairs (a hash or a feed entry); also whether it was
/// removed. `None` for no fields (no such key).
fn parse_rule(pairs: &[Value]) -> StoreResult<Option<(Revocation, bool)>> {
    if pairs.is_empty() {
        return Ok(None);
    }
    let mut id = None;
    let mut seq = None;
    let mut kind = None;
    let mut r = Revocation {
        id: String::new(),
        seq: 0,
        kind: RuleKind::All,
        target: None,
        iss: None,
        before_ms: None,
        created_at: 0,
        expires_at: 0,
        reason: None,
        actor: String::new(),
    };
    let mut removed = false;
    for kv in pairs.chunks_exact(2) {
        let (k, v) = (&kv[0], &kv[1]);
        match bytes(k).unwrap_or_default() {
            b"id" => id = Some(text(v)?.to_owned()),
            b"seq" => seq = Some(num(v)?),
            b"kind" => kind = Some(text(v)?.parse::<RuleKind>().map_err(|e| corrupt(format!("rule kind: {e}")))?),
            b"target" => r.target = Some(text(v)?.to_owned()),
            b"iss" => r.iss = Some(text(v)?.to_owned()),
            b"before_ms" => r.before_ms = Some(num(v)?),
            b"created_at" => r.created_at = num(v)?,
            b"expires_at" => r.expires_at = num(v)?,
            b"reason" => r.reason = Some(text(v)?.to_owned()),
            b"actor" => r.actor = text(v)?.to_owned(),
            b"removed" => removed = true,
            _ => {}
        }
    }
    match (id, seq, kind) {
        (Some(id), Some(seq), Some(kind)) => {
            r.id = id;
            r.seq = seq;
            r.kind = kind;
            Ok(Some((r, removed)))
        }
        _ => Err(corrupt("a rule without id, seq or kind")),
    }
}

/// The fields of a new rule as the append script stores them (id, seq and the target
/// key are added by the script).
fn rule_fields(new: &NewRevocation) -> Vec<(&'static str, String)> {
    let mut f = vec![("kind", new.kind.as_str().to_owned())];
    if let Some(t) = &new.target {
        f.push(("target", t.clone()));
    }
    if let Some(i) = &new.iss {
        f.push(("iss", i.clone()));
    }
    if let Some(b) = new.before_ms {
        f.push(("before_ms", b.to_string()));
    }
    f.push(("created_at", new.created_at.to_string()));
    f.push(("expires_at", new.expires_at.to_string()));
    if let Some(r) = &new.reason {
        f.push(("reason", r.clone()));
    }
    f.push(("actor", new.actor.clone()));
    f
}

/// A rule from its packed form (`append.lua`'s `pack`: each field in a fixed order as
/// `<byte length>:<bytes>`, or `-` when absent).
fn unpack(mut p: &[u8]) -> StoreResult<Revocation> {
    fn field<'a>(p: &mut &'a [u8]) -> StoreResult<Option<&'a str>> {
        let bad = || corrupt("a packed rule");
        if let Some(rest) = p.strip_prefix(b"-") {
            *p = rest;
            return Ok(None);
        }
        let colon = p.iter().position(|&b| b == b':').ok_or_else(bad)?;
        let len: usize = std::str::from_utf8(&p[..colon]).ok().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
        // `len` is read from the store: an absurd one must not overflow.
        let end = len.checked_add(colon + 1).ok_or_else(bad)?;
        let v = p.get(colon + 1..end).ok_or_else(bad)?;
        *p = &p[end..];
        std::str::from_utf8(v).map(Some).map_err(|_| bad())
    }
    fn number(v: Option<&str>) -> StoreResult<Option<u64>> {
        v.map(|s| s.parse().map_err(|_| corrupt(format!("not a number: {s}")))).transpose()
    }
    fn need(v: Option<&str>) -> StoreResult<&str> {
        v.ok_or_else(|| corrupt("a packed rule without a required field"))
    }
    let id = need(field(&mut p)?)?.to_owned();
    let seq = number(field(&mut p)?)?.ok_or_else(|| corrupt("a packed rule without seq"))?;
    let kind = need(field(&mut p)?)?.parse::<RuleKind>().map_err(|e| corrupt(format!("rule kind: {e}")))?;
    let target = field(&mut p)?.map(str::to_owned);
    let iss = field(&mut p)?.map(str::to_owned);
    let before_ms = number(field(&mut p)?)?;
    let created_at = number(field(&mut p)?)?.unwrap_or(0);
    let expires_at = number(field(&mut p)?)?.unwrap_or(0);
    let reason = field(&mut p)?.map(str::to_owned);
    let actor = need(field(&mut p)?)?.to_owned();
    Ok(Revocation { id, seq, kind, target, iss, before_ms, created_at, expires_at, reason, actor })
}

/// The reply of `append.lua`: status, event seq, then the rule's field/value pairs.
fn parse_append_reply(v: Value) -> StoreResult<(String, u64, Option<Revocation>)> {
    let mut out = array(v)?.into_iter();
    let status = out.next().map(|v| text(&v).map(str::to_owned)).transpose()?.unwrap_or_default();
    let seq = out.next().map(|v| num(&v)).transpose()?.unwrap_or(0);
    let rest: Vec<Value> = out.collect();
    let rule = parse_rule(&rest)?.map(|(r, _)| r);
    Ok((status, seq, rule))
}

fn parse_entry(entry: &Value) -> StoreResult<Event> {
    let Value::Array(parts) = entry else {
        return Err(corrupt("a feed entry that is not an array"));
    };
    let [id, fields] = parts.as_slice() else {
        return Err(corrupt("a feed entry without id and fields"));
    };
    let id = text(id)?;
    let seq: u64 = id.split('-').next().unwrap_or("").parse().map_err(|_| corrupt(format!("feed entry id {id}")))?;
    let pairs: &[Value] = match fields {
        Value::Array(a) => a,
        _ => return Err(corrupt("feed entry fields")),
    };
    let mut op = Op::Revoke;
    for kv in pairs.chunks_exact(2) {
        if bytes(&kv[0]) == Some(b"op") {
            op = if bytes(&kv[1]) == Some(b"unrevoke") { Op::Unrevoke } else { Op::Revoke };
        }
    }
    let (revocation, _) = parse_rule(pairs)?.ok_or_else(|| corrupt("an empty feed entry"))?;
    Ok(Event { seq, op, revocation })
}

/// A client name for `CLIENT LIST` (no spaces or control characters).
fn client_name(prefix: &str, role: &str) -> String {
    let clean: String = prefix.chars().map(|c| if c.is_ascii_graphic() { c } else { '_' }).collect();
    format!("revokd:{role}:{clean}")
}

#[derive(Debug, Default)]
struct PushState {
    conn: Option<MultiplexedConnection>,
    backoff: Duration,
}

/// A revokd store in Redis: rules as expiring hashes, the feed as a stream whose entry IDs are
/// the sequence numbers.
///
/// # URL
///
/// A normal `redis://` URL (`rediss://` needs a redis crate built with TLS) plus an
/// optional `prefix=` query parameter (default `revokd:`), removed before the URL goes
/// to the client: every key of this store starts with the prefix, so deployments and
/// tests can share a server. The password of the URL never appears in an error or a
/// log line.
///
/// # Data model (`P` is the prefix)
///
/// | key | type | what |
/// |---|---|---|
/// | `P seq` | string | the last sequence number given out |
/// | `P feed` | stream | one entry per event, ID `<seq>-0`: `op`, `at`, the rule's fields |
/// | `P watermark` | string | the highest sequence number trimmed from the feed |
/// | `P rule:<id>` | hash | a rule's fields, `p` (all of them packed in one string), `tgt`, `removed` = 1 once unrevoked; expires at its `expires_at` |
/// | `P live` | sorted set | `<id>\|<target key>` of every live rule, by seq (snapshots) |
/// | `P exp` | sorted set | the same members by `expires_at` (prune) |
/// | `P tgt:<kind>\|<iss length or ->\|<iss><target>` | sorted set | the live rule ids of one target, by seq |
/// | `P used:<jti>` | string | a consumed refresh token's first use (ms); `P usedexp` indexes them by expiry |
/// | `P tok:<jti>` | hash | a registry entry, expiring at `exp` + [`REGISTRY_RETENTION_SECS`] |
/// | `P toks`, `P subtoks:<sub>` | sorted sets | registry jtis (score 0: lexical paging) |
/// | `P tokexp` | sorted set | registry entries by `exp` (prune) |
/// | `P fam:<fam>` | string | the latest `exp` registered in a family |
/// | `P maxlife`, `P secret:<name>` | strings | the longest lifetime, generated secrets |
///
/// # Atomicity and durability
///
/// Every change is **one Lua script** that checks (one live `jti` / `family` rule per
/// target, reversibility), takes `P seq` + 1, `XADD`s the feed entry with that explicit
/// ID, sets `P seq` and writes the rule keys, together: sequence numbers are gap-free
/// and a feed entry exists exactly when its number was given out. A reply comes after
/// Redis wrote (and, with `appendfsync always`, fsynced) the script's effects. All
/// callers share one multiplexed connection, so concurrent changes are pipelined and
/// Redis fsyncs them together: the group commit happens in Redis's event loop.
/// [`RedisStore::persistence`] says what the server's configuration actually keeps, and
/// [`RedisStore::eviction`] whether it may evict keys when full (both checked and
/// logged at connect: run it with `maxmemory-policy noeviction`).
///
/// Redis does not roll a script back when a command in it fails, so the feed entry is
/// the script's **first write**: every check runs before it, and what follows it cannot
/// fail. If `P seq` was lost while the feed was kept (evicted, deleted), the next ID is
/// not above the feed's last one (or the watermark): the script writes nothing and the
/// change fails with [`StoreError::Corrupt`] naming the feed's top, rather than reuse
/// sequence numbers. It is not repaired automatically, as keys lost this way may well
/// include rules: check the data, then `SET P seq <top>` to resume.
///
/// # Snapshots
///
/// [`Store::snapshot`] reads `P seq` **first**, then walks `P live` in chunks (by seq,
/// so rules added or removed meanwhile never shift the walk) and reads the rules with
/// pipelined `HMGET`s of their packed form (field `p` of the hash: one string per rule,
/// cheap to send and parse), skipping removed and expired ones; Redis is never blocked for
/// long. The result is every rule live as of that seq, possibly plus some changed
/// later: safe, because the reader then applies every event after the seq, and applying
/// an event twice is idempotent (a rule unrevoked during the walk is removed again by
/// its event).
///
/// # Push
///
/// [`Store::wait_for_change`] does `XREAD BLOCK` on a connection of its own: it cannot
/// miss an entry (the stream is the durable channel). A lost connection is re-made with
/// a backoff (100 ms doubling to 5 s) and counted in [`PushStatus::reconnects`]; the
/// wait then returns so the caller catches up.
///
/// # Pruning
///
/// [`Store::prune`] removes rules whose `expires_at` passed (their keys also expire by
/// themselves), trims the feed as a prefix (up to the first event younger than
/// [`FEED_RETENTION_SECS`](super::FEED_RETENTION_SECS), as every store) and keeps the highest trimmed seq as the
/// watermark: reading from below it is [`StoreError::FeedGone`]. Each step is a bounded
/// script, repeated until done.
pub struct RedisStore {
    client: redis::Client,
    prefix: String,
    shown_url: String,
    /// The shared connection (pipelines every caller's commands) and its generation.
    conn: Mutex<Option<(u64, MultiplexedConnection)>>,
    generation: AtomicU64,
    reconnect: tokio::sync::Mutex<()>,
    push: tokio::sync::Mutex<PushState>,
    push_connected: AtomicBool,
    push_reconnects: AtomicU64,
    announced: AtomicU64,
    persistence: Persistence,
    eviction: Eviction,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("url", &self.shown_url)
            .field("prefix", &self.prefix)
            .field("persistence", &self.persistence)
            .field("eviction", &self.eviction)
            .finish()
    }
}

impl RedisStore {
    /// Connects to the Redis server of `url` (`redis://[user:password@]host[:port][/db]`,
    /// optionally `?prefix=<key prefix>`, default `revokd:`), checks and logs what the
    /// server keeps on disk ([`persistence`](Self::persistence)), and opens the push
    /// connection.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let (server, prefix) = split_prefix(url);
        let shown_url = redact(&server);
        let client = redis::Client::open(server.as_str())
            .map_err(|e| StoreError::Connection(format!("invalid Redis URL {shown_url}: {:?}", e.kind())))?;
        let mut store = RedisStore {
            client,
            prefix,
            shown_url,
            conn: Mutex::new(None),
            generation: AtomicU64::new(0),
            reconnect: tokio::sync::Mutex::new(()),
            push: tokio::sync::Mutex::new(PushState { conn: None, backoff: BACKOFF_MIN }),
            push_connected: AtomicBool::new(false),
            push_reconnects: AtomicU64::new(0),
            announced: AtomicU64::new(0),
            persistence: Persistence::Unknown,
            eviction: Eviction::Unknown,
        };
        let (_, mut conn) = store.conn().await?;
        store.persistence = check_persistence(&mut conn).await;
        store.persistence.log();
        store.eviction = check_eviction(&mut conn).await;
        store.eviction.log();
        let push = store.open_push().await?;
        store.push.get_mut().conn = Some(push);
        store.push_connected.store(true, Ordering::Relaxed);
        Ok(store)
    }

    /// What the server keeps on disk, as read at connect.
    pub fn persistence(&self) -> Persistence {
        self.persistence.clone()
    }

    /// Whether the server may evict this store's keys when full (`maxmemory` set and a
    /// `maxmemory-policy` other than `noeviction`), as read at connect and warned about
    /// when it may: an evicted rule is an acknowledged revocation silently gone.
    pub fn eviction(&self) -> Eviction {
        self.eviction.clone()
    }

    /// The key prefix of this store.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    async fn open_conn(&self, role: &str, response_timeout: Option<Duration>) -> StoreResult<MultiplexedConnection> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(response_timeout);
        let mut conn = self.client.get_multiplexed_async_connection_with_config(&config).await.map_err(|e| {
            let e = err(e);
            match e {
                StoreError::Backend(m) | StoreError::Corrupt(m) => {
                    StoreError::Connection(format!("cannot connect to {}: {m}", self.shown_url))
                }
                StoreError::Connection(m) => {
                    StoreError::Connection(format!("cannot connect to {}: {m}", self.shown_url))
                }
                other => other,
            }
        })?;
        redis::cmd("CLIENT")
            .arg("SETNAME")
            .arg(client_name(&self.prefix, role))
            .query_async::<()>(&mut conn)
            .await
            .map_err(err)?;
        Ok(conn)
    }

    /// The shared connection, made (again) if there is none.
    async fn conn(&self) -> StoreResult<(u64, MultiplexedConnection)> {
        if let Some(c) = self.conn.lock().clone() {
            return Ok(c);
        }
        let _one = self.reconnect.lock().await;
        if let Some(c) = self.conn.lock().clone() {
            return Ok(c);
        }
        let conn = self.open_conn("main", Some(RESPONSE_TIMEOUT)).await?;
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        *self.conn.lock() = Some((generation, conn.clone()));
        Ok((generation, conn))
    }

    /// Maps a failure; a lost connection is dropped so the next call makes a new one.
    fn failed(&self, generation: u64, e: RedisError) -> StoreError {
        let keep = keeps_connection(&e);
        let e = err(e);
        if e.is_unavailable() && !keep {
            let mut c = self.conn.lock();
            if c.as_ref().is_some_and(|(g, _)| *g == generation) {
                *c = None;
            }
        }
        e
    }

    async fn query<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> StoreResult<T> {
        let (generation, mut conn) = self.conn().await?;
        cmd.query_async(&mut conn).await.map_err(|e| self.failed(generation, e))
    }

    async fn pipe<T: redis::FromRedisValue>(&self, pipe: &redis::Pipeline) -> StoreResult<T> {
        let (generation, mut conn) = self.conn().await?;
        pipe.query_async(&mut conn).await.map_err(|e| self.failed(generation, e))
    }

    async fn script(&self, inv: &redis::ScriptInvocation<'_>) -> StoreResult<Value> {
        let (generation, mut conn) = self.conn().await?;
        inv.invoke_async(&mut conn).await.map_err(|e| self.failed(generation, e))
    }

    async fn open_push(&self) -> StoreResult<MultiplexedConnection> {
        // Blocking reads wait as long as asked: the caller bounds them.
        self.open_conn("push", None).await
    }

    /// Runs the append script and returns (status, event seq, rule).
    async fn run_append(&self, inv: &redis::ScriptInvocation<'_>) -> StoreResult<(String, u64, Option<Revocation>)> {
        parse_append_reply(self.script(inv).await?)
    }

    async fn rule(&self, id: &str) -> StoreResult<Option<(Revocation, bool)>> {
        let v: Value = self.query(redis::cmd("HGETALL").arg(self.key(&format!("rule:{id}")))).await?;
        parse_rule(&array(v)?)
    }

    async fn prune_step(&self, what: &str, now: u64, retention: u64) -> StoreResult<u64> {
        let mut total = 0;
        loop {
            let mut inv = PRUNE.prepare_invoke();
            inv.arg(&self.prefix).arg(what).arg(now).arg(PRUNE_BATCH).arg(retention);
            let out = array(self.script(&inv).await?)?;
            let (n, more) = match out.as_slice() {
                [n, more] => (num(n)?, num(more)?),
                _ => return Err(corrupt("prune reply")),
            };
            total += n;
            if more == 0 {
                return Ok(total);
            }
        }
    }

    fn read_token(v: Value) -> StoreResult<Option<IssuedToken>> {
        let pairs = array(v)?;
        if pairs.is_empty() {
            return Ok(None);
        }
        let mut t = IssuedToken {
            jti: String::new(),
            sub: String::new(),
            token_type: TokenType::Access,
            fam: None,
            iat: 0,
            exp: 0,
        };
        for kv in pairs.chunks_exact(2) {
            let v = &kv[1];
            match bytes(&kv[0]).unwrap_or_default() {
                b"jti" => t.jti = text(v)?.to_owned(),
                b"sub" => t.sub = text(v)?.to_owned(),
                b"type" => t.token_type = if text(v)? == "refresh" { TokenType::Refresh } else { TokenType::Access },
                b"fam" => t.fam = Some(text(v)?.to_owned()),
                b"iat" => t.iat = num(v)?,
                b"exp" => t.exp = num(v)?,
                _ => {}
            }
        }
        Ok(Some(t))
    }
}

/// A configuration value (`None`: refused or absent).
async fn config_get(conn: &mut MultiplexedConnection, name: &str) -> Option<String> {
    let v: Value = redis::cmd("CONFIG").arg("GET").arg(name).query_async(conn).await.ok()?;
    let a = array(v).ok()?;
    a.get(1).and_then(|v| text(v).ok()).map(str::to_owned)
}

async fn check_eviction(conn: &mut MultiplexedConnection) -> Eviction {
    let maxmemory = config_get(conn, "maxmemory").await;
    let policy = config_get(conn, "maxmemory-policy").await;
    Eviction::classify(maxmemory.as_deref(), policy.as_deref())
}

async fn check_persistence(conn: &mut MultiplexedConnection) -> Persistence {
    let get = config_get;
    let aof = get(conn, "appendonly").await;
    let fsync = get(conn, "appendfsync").await;
    let save = get(conn, "save").await;
    Persistence::classify(aof.as_deref(), fsync.as_deref(), save.as_deref())
}

#[async_trait]
impl Store for RedisStore {
    async fn append(&self, change: Change) -> StoreResult<Event> {
        let now = now_secs();
        match change {
            Change::Revoke(new) => {
                let tgt = target_key(new.kind, new.iss.as_deref(), new.target.as_deref());
                let unique = matches!(new.kind, RuleKind::Jti | RuleKind::Family);
                let id = uuid::Uuid::now_v7().to_string();
                let mut inv = APPEND.prepare_invoke();
                inv.arg(&self.prefix)
                    .arg("revoke")
                    .arg(now)
                    .arg(&tgt)
                    .arg(if unique { "1" } else { "0" })
                    .arg(&id)
                    .arg(expireat(new.expires_at))
                    .arg(new.expires_at.min(MAX_EXPIREAT));
                for (k, v) in rule_fields(&new) {
                    inv.arg(k).arg(v);
                }
                let (status, seq, rule) = self.run_append(&inv).await?;
                let revocation = rule.ok_or_else(|| corrupt(format!("append replied {status} without the rule")))?;
                Ok(Event { seq, op: Op::Revoke, revocation })
            }
            Change::Unrevoke { id } => {
                let reversible: String = [RuleKind::Jti, RuleKind::Subject, RuleKind::Family, RuleKind::All]
                    .into_iter()
                    .filter(|k| k.is_reversible())
                    .fold(",".to_owned(), |acc, k| format!("{acc}{},", k.as_str()));
                let mut inv = APPEND.prepare_invoke();
                inv.arg(&self.prefix).arg("unrevoke").arg(now).arg(&id).arg(reversible);
                match self.run_append(&inv).await? {
                    (s, seq, Some(revocation)) if s == "ok" => Ok(Event { seq, op: Op::Unrevoke, revocation }),
                    (s, ..) if s == "notreversible" => Err(StoreError::NotReversible),
                    (s, ..) if s == "notfound" => Err(StoreError::NotFound),
                    (s, ..) => Err(corrupt(format!("unrevoke replied {s}"))),
                }
            }
            Change::Reassign { id, actor, reason } => {
                let mut inv = APPEND.prepare_invoke();
                inv.arg(&self.prefix)
                    .arg("reassign")
                    .arg(now)
                    .arg(&id)
                    .arg(&actor)
                    .arg(if reason.is_some() { "1" } else { "0" })
                    .arg(reason.unwrap_or_default());
                match self.run_append(&inv).await? {
                    (s, seq, Some(revocation)) if s == "ok" => Ok(Event { seq, op: Op::Revoke, revocation }),
                    (s, ..) if s == "notfound" => Err(StoreError::NotFound),
                    (s, ..) => Err(corrupt(format!("reassign replied {s}"))),
                }
            }
        }
    }

    async fn events_after(&self, since: u64, limit: usize) -> StoreResult<Vec<Event>> {
        // The entries, then the watermark, in this order on one connection (not a
        // MULTI: a full Redis refuses every command queued in a transaction, reads
        // included, and the feed must stay readable when writes are refused). The prune
        // script raises the watermark and trims in one step, so a watermark read after
        // the entries covers any trim before them; a trim between the two makes the
        // answer `FeedGone` although the entries were whole, which only costs a reload.
        let mut pipe = redis::pipe();
        pipe.cmd("XRANGE")
            .arg(self.key("feed"))
            .arg(format!("({since}-0"))
            .arg("+")
            .arg("COUNT")
            .arg(limit.max(1))
            .cmd("GET")
            .arg(self.key("watermark"));
        let (entries, watermark): (Value, Option<u64>) = self.pipe(&pipe).await?;
        let watermark = watermark.unwrap_or(0);
        if since < watermark {
            return Err(StoreError::FeedGone { since, oldest: watermark });
        }
        if limit == 0 {
            return Ok(Vec::new());
        }
        array(entries)?.iter().map(parse_entry).collect()
    }

    async fn last_seq(&self) -> StoreResult<u64> {
        Ok(self.query::<Option<u64>>(redis::cmd("GET").arg(self.key("seq"))).await?.unwrap_or(0))
    }

    async fn snapshot(&self) -> StoreResult<Snapshot> {
        // The seq first: every rule live at it is in the walk below (see the module doc).
        let seq = self.last_seq().await?;
        let live = self.key("live");
        let mut rules = Vec::new();
        let mut after = 0u64;
        loop {
            let members: Vec<(String, f64)> = self
                .query(
                    redis::cmd("ZRANGEBYSCORE")
                        .arg(&live)
                        .arg(format!("({after}"))
                        .arg("+inf")
                        .arg("WITHSCORES")
                        .arg("LIMIT")
                        .arg(0)
                        .arg(SNAPSHOT_CHUNK),
                )
                .await?;
            let Some(last) = members.last() else { break };
            after = last.1 as u64;
            let mut pipe = redis::pipe();
            for (m, _) in &members {
                let id = m.split('|').next().unwrap_or_default();
                pipe.cmd("HMGET").arg(self.key(&format!("rule:{id}"))).arg("p").arg("removed");
            }
            let rows: Vec<(Option<Vec<u8>>, Option<Vec<u8>>)> = self.pipe(&pipe).await?;
            for row in rows {
                // gone (expired) or removed since the walk read it: skipped
                if let (Some(packed), None) = row {
                    rules.push(unpack(&packed)?);
                }
            }
            if members.len() < SNAPSHOT_CHUNK {
                break;
            }
        }
        Ok(Snapshot { seq, rules })
    }

    async fn revocation(&self, id: &str) -> StoreResult<Option<Revocation>> {
        Ok(self.rule(id).await?.map(|(r, _)| r))
    }

    async fn prune(&self, now_secs: u64) -> StoreResult<Pruned> {
        let rules = self.prune_step("rules", now_secs, 0).await?;
        let events = self.prune_step("feed", now_secs, FEED_RETENTION_SECS).await?;
        let tokens = self.prune_step("tokens", now_secs, REGISTRY_RETENTION_SECS).await?;
        Ok(Pruned { rules, events, tokens })
    }

    async fn consume_refresh(&self, jti: &str, now_ms: u64, expires_at: u64) -> StoreResult<Consumption> {
        let pxat = if expires_at >= MAX_EXPIREAT { String::new() } else { (expires_at * 1000).to_string() };
        let mut inv = MISC.prepare_invoke();
        inv.arg(&self.prefix).arg("consume").arg(jti).arg(now_ms).arg(expires_at.min(MAX_EXPIREAT)).arg(pxat);
        let out = array(self.script(&inv).await?)?;
        match out.as_slice() {
            [won, _] if num(won)? == 1 => Ok(Consumption::First),
            [_, first] => Ok(Consumption::Reused { first_used_ms: num(first)? }),
            _ => Err(corrupt("consume reply")),
        }
    }

    async fn raise_max_lifetime(&self, secs: u64) -> StoreResult<u64> {
        let mut inv = MISC.prepare_invoke();
        inv.arg(&self.prefix).arg("raise_max").arg(secs);
        num(&self.script(&inv).await?)
    }

    async fn max_lifetime(&self) -> StoreResult<u64> {
        Ok(self.query::<Option<u64>>(redis::cmd("GET").arg(self.key("maxlife"))).await?.unwrap_or(0))
    }

    async fn secret_or_insert(&self, name: &str, value: Vec<u8>) -> StoreResult<Vec<u8>> {
        let old: Option<Vec<u8>> = self
            .query(redis::cmd("SET").arg(self.key(&format!("secret:{name}"))).arg(&value).arg("NX").arg("GET"))
            .await?;
        Ok(old.unwrap_or(value))
    }

    async fn record_token(&self, token: IssuedToken) -> StoreResult<()> {
        let mut inv = MISC.prepare_invoke();
        inv.arg(&self.prefix)
            .arg("record")
            .arg(&token.jti)
            .arg(&token.sub)
            .arg(token.token_type.as_str())
            .arg(token.iat)
            .arg(token.exp.min(MAX_EXPIREAT))
            .arg(expireat(token.exp.saturating_add(REGISTRY_RETENTION_SECS)));
        if let Some(fam) = &token.fam {
            inv.arg(fam);
        }
        self.script(&inv).await?;
        Ok(())
    }

    async fn tokens(&self, sub: Option<&str>, cursor: Option<&str>, limit: usize) -> StoreResult<Page<IssuedToken>> {
        let set = match sub {
            Some(s) => self.key(&format!("subtoks:{s}")),
            None => self.key("toks"),
        };
        let mut from = match cursor {
            Some(c) if !c.is_empty() => format!("({c}"),
            _ => "-".to_owned(),
        };
        let want = limit.saturating_add(1);
        let mut items = Vec::new();
        loop {
            let jtis: Vec<String> = self
                .query(redis::cmd("ZRANGEBYLEX").arg(&set).arg(&from).arg("+").arg("LIMIT").arg(0).arg(want))
                .await?;
            let Some(last) = jtis.last() else { break };
            from = format!("({last}");
            let mut pipe = redis::pipe();
            for j in &jtis {
                pipe.cmd("HGETALL").arg(self.key(&format!("tok:{j}")));
            }
            let hashes: Vec<Value> = self.pipe(&pipe).await?;
            for h in hashes {
                // An entry whose key expired before the next prune is skipped.
                if let Some(t) = Self::read_token(h)? {
                    items.push(t);
                    if items.len() == want {
                        break;
                    }
                }
            }
            if items.len() == want || jtis.len() < want {
                break;
            }
        }
        Ok(Page::from_one_extra(items, limit))
    }

    async fn token(&self, jti: &str) -> StoreResult<Option<IssuedToken>> {
        Self::read_token(self.query(redis::cmd("HGETALL").arg(self.key(&format!("tok:{jti}")))).await?)
    }

    async fn family_latest_exp(&self, fam: &str) -> StoreResult<Option<u64>> {
        self.query(redis::cmd("GET").arg(self.key(&format!("fam:{fam}")))).await
    }

    async fn live_rule(&self, kind: RuleKind, iss: Option<&str>, target: &str) -> StoreResult<Option<Revocation>> {
        let ids: Vec<String> = self
            .query(
                redis::cmd("ZRANGE")
                    .arg(self.key(&format!("tgt:{}", target_key(kind, iss, Some(target)))))
                    .arg(0)
                    .arg(-1)
                    .arg("REV"),
            )
            .await?;
        for id in ids {
            if let Some((r, false)) = self.rule(&id).await? {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }

    async fn wait_for_change(&self, after: u64, timeout: Duration) -> StoreResult<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        let Ok(mut state) = tokio::time::timeout_at(deadline, self.push.lock()).await else {
            return Ok(());
        };
        if state.conn.is_none() {
            return self.repush(&mut state, deadline).await;
        }
        let Some(conn) = state.conn.as_mut() else { return Ok(()) };
        let block_ms = timeout.as_millis().clamp(1, u64::MAX as u128) as u64;
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("BLOCK")
            .arg(block_ms)
            .arg("COUNT")
            .arg(1)
            .arg("STREAMS")
            .arg(self.key("feed"))
            .arg(format!("{after}-0"));
        let read = cmd.query_async::<Value>(conn);
        match tokio::time::timeout(timeout + RESPONSE_TIMEOUT, read).await {
            Ok(Ok(v)) => {
                if let Some(seq) = announced(v) {
                    self.announced.fetch_max(seq, Ordering::Relaxed);
                }
                Ok(())
            }
            Ok(Err(e)) => {
                let e = err(e);
                tracing::warn!(error = %e, "the Redis push connection was lost; reconnecting");
                state.conn = None;
                self.push_connected.store(false, Ordering::Relaxed);
                if !e.is_unavailable() {
                    return Err(e);
                }
                self.repush(&mut state, deadline).await
            }
            Err(_) => {
                state.conn = None;
                self.push_connected.store(false, Ordering::Relaxed);
                Err(StoreError::Timeout)
            }
        }
    }

    fn push_status(&self) -> Option<PushStatus> {
        Some(PushStatus {
            connected: self.push_connected.load(Ordering::Relaxed),
            reconnects: self.push_reconnects.load(Ordering::Relaxed),
            announced_seq: self.announced.load(Ordering::Relaxed),
        })
    }
}

impl RedisStore {
    /// Re-makes the push connection, retrying with the backoff until `deadline` (at
    /// least once). `Ok` once connected (the caller then catches up), else the error.
    async fn repush(&self, state: &mut PushState, deadline: tokio::time::Instant) -> StoreResult<()> {
        loop {
            match self.open_push().await {
                Ok(c) => {
                    state.conn = Some(c);
                    state.backoff = BACKOFF_MIN;
                    self.push_connected.store(true, Ordering::Relaxed);
                    self.push_reconnects.fetch_add(1, Ordering::Relaxed);
                    tracing::info!("the Redis push connection is back");
                    return Ok(());
                }
                Err(e) => {
                    let wait = state.backoff;
                    state.backoff = (state.backoff * 2).min(BACKOFF_MAX);
                    let now = tokio::time::Instant::now();
                    if now + wait > deadline {
                        tokio::time::sleep_until(deadline.max(now + BACKOFF_MIN)).await;
                        return Err(e);
                    }
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}

/// The highest sequence number in an `XREAD` reply.
fn announced(v: Value) -> Option<u64> {
    let mut best = None;
    for stream in array(v).ok()? {
        let mut parts = array(stream).ok()?.into_iter();
        let entries = array(parts.nth(1)?).ok()?;
        for e in entries {
            if let Ok(ev) = parse_entry(&e) {
                best = best.max(Some(ev.seq));
            }
        }
    }
    best
}

/// The decoders of this store's replies, for the fuzz targets in `fuzz/` (feature
/// `fuzzing`; not a stable API). Each takes a reply as RESP bytes, the way the server
/// sends it, and decodes it with the redis client's own parser first: `None` when that
/// parser refuses the bytes.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    use super::{Event, Revocation, StoreResult, Value};

    fn resp(bytes: &[u8]) -> Option<Value> {
        redis::parse_redis_value(bytes).ok()
    }

    /// A feed entry as `XRANGE` and `XREAD` return it.
    pub fn feed_entry(bytes: &[u8]) -> Option<StoreResult<Event>> {
        resp(bytes).map(|v| super::parse_entry(&v))
    }

    /// A rule hash as `HGETALL` returns it, and whether it was removed.
    pub fn rule_hash(bytes: &[u8]) -> Option<StoreResult<Option<(Revocation, bool)>>> {
        resp(bytes).map(|v| super::array(v).and_then(|pairs| super::parse_rule(&pairs)))
    }

    /// The reply of the append script: status, event seq and the rule.
    pub fn append_reply(bytes: &[u8]) -> Option<StoreResult<(String, u64, Option<Revocation>)>> {
        resp(bytes).map(super::parse_append_reply)
    }

    /// The highest sequence number an `XREAD` reply announces.
    pub fn announced(bytes: &[u8]) -> Option<Option<u64>> {
        resp(bytes).map(super::announced)
    }

    /// A rule in its packed form (the `p` field), raw bytes.
    pub fn packed_rule(bytes: &[u8]) -> StoreResult<Revocation> {
        super::unpack(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persistence_is_classified_from_the_config() {
        let c = Persistence::classify;
        assert_eq!(c(Some("yes"), Some("always"), Some("")), Persistence::Always);
        assert_eq!(c(Some("yes"), Some("everysec"), Some("3600 1")), Persistence::EverySec);
        assert_eq!(c(Some("yes"), Some("no"), Some("")), Persistence::AofNoFsync);
        assert_eq!(c(Some("no"), Some("always"), Some("")), Persistence::Nothing);
        assert_eq!(
            c(Some("no"), Some("everysec"), Some("3600 1 300 100")),
            Persistence::SnapshotsOnly { save: "3600 1 300 100".into() }
        );
        assert_eq!(c(None, None, None), Persistence::Unknown);
        assert!(c(Some("yes"), Some("always"), Some("")).is_durable());
        assert!(!c(Some("yes"), Some("everysec"), Some("")).is_durable());
    }

    #[test]
    fn the_prefix_is_taken_off_the_url() {
        assert_eq!(split_prefix("redis://h:1"), ("redis://h:1".into(), "revokd:".into()));
        assert_eq!(split_prefix("redis://h:1/2?prefix=a:b:"), ("redis://h:1/2".into(), "a:b:".into()));
        assert_eq!(
            split_prefix("redis://h?protocol=resp3&prefix=x:&db=1"),
            ("redis://h?protocol=resp3&db=1".into(), "x:".into())
        );
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("redis://user:s3cret@host:6379/0"), "redis://***@host:6379/0");
        assert_eq!(redact("redis://:s3cret@host"), "redis://***@host");
        assert_eq!(redact("redis://host:6379"), "redis://host:6379");
        assert!(!redact("rediss://u:p@ss@h/1?x=@").contains("p@ss"));
        assert_eq!(redact("redis://u:pa/ss@host:6379/0"), "redis://***@host:6379/0");
        assert_eq!(redact("redis://u:pa?ss#x@host"), "redis://***@host");
        assert_eq!(redact("redis://host:6379/0?prefix=a@b"), "redis://host:6379/0?prefix=a@b");
        assert_eq!(redact("redis://host?password=s3cret"), "redis://host?password=***");
    }

    fn server_error(kind: redis::ServerErrorKind) -> RedisError {
        RedisError::from((redis::ErrorKind::Server(kind), "from the server"))
    }

    #[test]
    fn a_server_that_cannot_serve_now_is_unavailable_not_broken() {
        use redis::ServerErrorKind as S;
        let unavailable = [
            server_error(S::BusyLoading),
            server_error(S::TryAgain),
            server_error(S::ClusterDown),
            server_error(S::MasterDown),
            server_error(S::ReadOnly),
            RedisError::from((redis::ErrorKind::ClusterConnectionNotFound, "no node")),
            redis::make_extension_error("BUSY".into(), Some("Redis is busy running a script".into())),
            redis::make_extension_error("NOREPLICAS".into(), Some("Not enough good replicas".into())),
            redis::make_extension_error(
                "OOM".into(),
                Some("command not allowed when used memory > 'maxmemory'".into()),
            ),
            redis::make_extension_error("MISCONF".into(), Some("Redis is configured to save RDB snapshots".into())),
        ];
        for e in unavailable {
            let mapped = err(e.clone());
            assert!(mapped.is_unavailable(), "{e:?} -> {mapped:?}");
            assert_eq!(keeps_connection(&e), e.kind() != redis::ErrorKind::Server(S::ReadOnly), "{e:?}");
        }
        for e in [
            server_error(S::ResponseError),
            server_error(S::NoScript),
            redis::make_extension_error("WRONGTYPE".into(), Some("wrong kind of value".into())),
        ] {
            assert!(matches!(err(e.clone()), StoreError::Backend(_)), "{e:?}");
            assert!(!keeps_connection(&e));
        }
        let refused = redis::make_extension_error(SEQ_ERROR.into(), Some("the counter is behind".into()));
        assert!(matches!(err(refused), StoreError::Corrupt(_)));
    }

    #[test]
    fn eviction_is_classified_from_the_config() {
        let c = Eviction::classify;
        assert_eq!(c(Some("0"), Some("noeviction")), Eviction::Off { maxmemory: 0 });
        assert_eq!(c(Some("104857600"), Some("noeviction")), Eviction::Off { maxmemory: 104857600 });
        assert_eq!(c(Some("0"), Some("volatile-lru")), Eviction::NoLimit { policy: "volatile-lru".into() });
        for policy in ["volatile-lru", "volatile-ttl", "allkeys-lru", "allkeys-random", "volatile-lfu"] {
            let e = c(Some("104857600"), Some(policy));
            assert_eq!(e, Eviction::MayEvict { maxmemory: 104857600, policy: policy.into() });
            assert!(e.may_evict());
        }
        assert!(!c(Some("104857600"), Some("NoEviction")).may_evict());
        assert_eq!(c(None, None), Eviction::Unknown);
        assert_eq!(c(Some("100"), None), Eviction::Unknown);
        assert_eq!(c(None, Some("allkeys-lru")), Eviction::Unknown);
        assert!(!Eviction::Unknown.may_evict());
    }

    #[test]
    fn packed_rules_are_read_back() {
        let r = unpack(b"36:0190e1d5-0000-7000-8000-0000000000013:1423:jti3:a:b--3:12010:4294967295-5:admin").unwrap();
        assert_eq!((r.seq, r.kind, r.target.as_deref(), r.iss), (142, RuleKind::Jti, Some("a:b"), None));
        assert_eq!((r.created_at, r.expires_at, r.reason, r.actor.as_str()), (120, 4294967295, None, "admin"));
        assert!(unpack(b"36:short").is_err());
        // A length that overflows the end offset (found while writing the redis_replies fuzz target).
        assert!(unpack(b"18446744073709551615:x").is_err());
        assert!(unpack(b"18446744073709551614:x").is_err());
        assert!(unpack(b"").is_err());
    }

    #[test]
    fn target_keys_are_unambiguous() {
        let a = target_key(RuleKind::Jti, Some("a|b"), Some("c"));
        let b = target_key(RuleKind::Jti, Some("a"), Some("b|c"));
        assert_ne!(a, b);
        assert_ne!(target_key(RuleKind::Jti, None, Some("x")), target_key(RuleKind::Jti, Some(""), Some("x")));
    }
}
