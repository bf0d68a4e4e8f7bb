//! Stores: the durable log of revocation events, the live rules, refresh-token
//! consumption, the longest lifetime issued, generated secrets, and the registry of
//! issued tokens. One trait ([`Store`]); each backend is a module behind a feature.
//!
//! | backend | type | feature | durable | shared by processes |
//! |---|---|---|---|---|
//! | SQLite file | [`SqliteStore`] | `sqlite` (default) | yes (fsync per group commit) | yes, on one machine |
//! | PostgreSQL | [`PostgresStore`] | `postgres` | yes (group commit; LISTEN/NOTIFY push) | yes, across machines |
//! | Redis | [`RedisStore`] | `redis` | as the server's `appendfsync` (checked at connect: [`RedisStore::persistence`]) | yes, by any number of machines |
//! | memory | [`MemoryStore`] | always | **no** | no |
//!
//! The contract every backend keeps (the conformance suite in `tests/` checks each):
//! - [`append`](Store::append) returns only once the event is durable; sequence numbers
//!   are gap-free and ascending as a reader of [`events_after`](Store::events_after)
//!   sees them, starting at 1;
//! - at most one live `jti` rule per (issuer, jti) and one `family` rule per family:
//!   revoking again returns the existing event;
//! - [`consume_refresh`](Store::consume_refresh) has exactly one winner per jti across
//!   every process sharing the store;
//! - events at or below the pruned watermark may be gone: reading from before it is
//!   [`StoreError::FeedGone`], and the reader reloads a [`Snapshot`].

mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "sqlite")]
mod sqlite;

/// The Redis store's reply decoders, for the fuzz targets (feature `fuzzing`).
#[cfg(all(feature = "redis", feature = "fuzzing"))]
#[doc(hidden)]
pub use self::redis::fuzzing as redis_decoding;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use self::redis::{Eviction, Persistence, RedisStore};
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::PostgresStore;
#[cfg(feature = "sqlite")]
#[cfg_attr(docsrs, doc(cfg(feature = "sqlite")))]
pub use sqlite::{Durability, SqliteStore};

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::rules::{Event, NewRevocation, Revocation, RuleKind};
use crate::token::TokenType;

/// What went wrong in a store, by kind, so callers decide without matching strings.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store did not answer in time.
    #[error("store timed out")]
    Timeout,
    /// The connection to the store was lost or could not be made.
    #[error("store connection failed: {0}")]
    Connection(String),
    /// A concurrent change conflicted; retrying may succeed.
    #[error("store conflict: {0}")]
    Conflict(String),
    /// No such revocation (or it was already removed).
    #[error("revocation not found")]
    NotFound,
    /// The revocation's kind cannot be undone.
    #[error("revocation cannot be undone")]
    NotReversible,
    /// The requested feed position was pruned; reload a snapshot.
    #[error("feed position {since} was pruned (oldest kept is {oldest})")]
    FeedGone {
        /// The position asked for.
        since: u64,
        /// The lowest position that can still be read from.
        oldest: u64,
    },
    /// The stored data is not what this version expects.
    #[error("store data is corrupt: {0}")]
    Corrupt(String),
    /// Any other backend failure.
    #[error("store failed: {0}")]
    Backend(String),
}

impl StoreError {
    /// Whether the store did not answer in time.
    pub fn is_timeout(&self) -> bool {
        matches!(self, StoreError::Timeout)
    }

    /// Whether the connection was lost or refused.
    pub fn is_connection_dropped(&self) -> bool {
        matches!(self, StoreError::Connection(_))
    }

    /// Whether a retry may succeed.
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict(_))
    }

    /// Whether the store is unreachable (timeout or connection): a 503, not a 500.
    pub fn is_unavailable(&self) -> bool {
        self.is_timeout() || self.is_connection_dropped()
    }

    /// A stable code.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Timeout => "store_timeout",
            StoreError::Connection(_) => "store_connection",
            StoreError::Conflict(_) => "store_conflict",
            StoreError::NotFound => "not_found",
            StoreError::NotReversible => "not_reversible",
            StoreError::FeedGone { .. } => "feed_gone",
            StoreError::Corrupt(_) => "store_corrupt",
            StoreError::Backend(_) => "store_failed",
        }
    }
}

/// Result of store operations.
pub type StoreResult<T> = std::result::Result<T, StoreError>;

/// Every live rule as of `seq`: a new reader loads it, then follows the feed from `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Snapshot {
    /// The last event the rules include.
    pub seq: u64,
    /// The live rules.
    pub rules: Vec<Revocation>,
}

/// The outcome of presenting a refresh token for consumption.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consumption {
    /// This caller is the one winner.
    First,
    /// It was consumed before, at this instant (unix milliseconds).
    Reused {
        /// When it was first consumed.
        first_used_ms: u64,
    },
}

/// A token in the registry of issued tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssuedToken {
    /// Token id.
    pub jti: String,
    /// Subject.
    pub sub: String,
    /// Access or refresh.
    #[serde(rename = "type")]
    pub token_type: TokenType,
    /// Family id.
    pub fam: Option<String>,
    /// Issued at, unix seconds.
    pub iat: u64,
    /// Expires at, unix seconds.
    pub exp: u64,
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// The cursor of the next page, or `None` at the end.
    pub next: Option<String>,
}

impl Page<IssuedToken> {
    /// A page from up to `limit + 1` tokens read in jti order: the extra one, if there,
    /// only says that more follow (the cursor is the last jti kept).
    pub(crate) fn from_one_extra(mut items: Vec<IssuedToken>, limit: usize) -> Self {
        let next = if items.len() > limit {
            items.truncate(limit);
            items.last().map(|t| t.jti.clone())
        } else {
            None
        };
        Page { items, next }
    }
}

/// What a prune removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Expired rules removed.
    pub rules: u64,
    /// Feed events removed.
    pub events: u64,
    /// Expired registry entries and refresh consumptions removed.
    pub tokens: u64,
}

/// A change to append to the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Add a rule.
    Revoke(NewRevocation),
    /// Remove the rule with this id (only `jti` and `subject` rules).
    Unrevoke {
        /// The revocation's id.
        id: String,
    },
    /// Give a live rule a new actor (and reason, if given): when someone revokes what a
    /// holder had already revoked, the rule becomes theirs, so the holder can no longer
    /// undo it. Appends a `revoke` event carrying the updated record; a removed or
    /// unknown id is [`StoreError::NotFound`].
    Reassign {
        /// The revocation's id.
        id: String,
        /// The new actor.
        actor: String,
        /// The new reason (`None` keeps the old one).
        reason: Option<String>,
    },
}

/// The durable side of revokd. Every backend implements it; nothing above it knows
/// which backend it has.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Appends a change durably and returns its event. Revoking a `jti` or `family`
    /// that already has a live rule returns that rule's event (nothing is appended).
    /// Unrevoking an unknown or removed id is [`StoreError::NotFound`]; a family or
    /// `all` rule, [`StoreError::NotReversible`].
    async fn append(&self, change: Change) -> StoreResult<Event>;

    /// Up to `limit` events with a sequence number above `since`, ascending and without
    /// gaps. [`StoreError::FeedGone`] if `since` is below the pruned watermark.
    async fn events_after(&self, since: u64, limit: usize) -> StoreResult<Vec<Event>>;

    /// The sequence number of the newest event (0 when none).
    async fn last_seq(&self) -> StoreResult<u64>;

    /// Every live rule and the sequence number they are current as of.
    async fn snapshot(&self) -> StoreResult<Snapshot>;

    /// One revocation by id, live or removed (`None` if unknown or pruned).
    async fn revocation(&self, id: &str) -> StoreResult<Option<Revocation>>;

    /// Removes rules whose `expires_at` is at or before `now_secs`, the feed events
    /// older than [`FEED_RETENTION_SECS`] (as a prefix), and expired registry entries.
    async fn prune(&self, now_secs: u64) -> StoreResult<Pruned>;

    /// Marks the refresh token `jti` consumed at `now_ms`; `expires_at` (unix seconds)
    /// is when the record may go. Exactly one caller ever gets [`Consumption::First`].
    async fn consume_refresh(&self, jti: &str, now_ms: u64, expires_at: u64) -> StoreResult<Consumption>;

    /// Raises the stored longest token lifetime to at least `secs`; returns the stored
    /// value after the call.
    async fn raise_max_lifetime(&self, secs: u64) -> StoreResult<u64>;

    /// The stored longest token lifetime (0 when none was recorded).
    async fn max_lifetime(&self) -> StoreResult<u64>;

    /// Returns the secret stored under `name`, storing `value` first if there is none.
    /// Every process sharing the store gets the same answer.
    async fn secret_or_insert(&self, name: &str, value: Vec<u8>) -> StoreResult<Vec<u8>>;

    /// Records an issued token in the registry.
    async fn record_token(&self, token: IssuedToken) -> StoreResult<()>;

    /// The registry's tokens of `sub` (all tokens when `None`), ordered by jti,
    /// starting after `cursor`.
    async fn tokens(&self, sub: Option<&str>, cursor: Option<&str>, limit: usize) -> StoreResult<Page<IssuedToken>>;

    /// One registry entry by jti.
    async fn token(&self, jti: &str) -> StoreResult<Option<IssuedToken>>;

    /// The latest `exp` of any registered token of family `fam`.
    async fn family_latest_exp(&self, fam: &str) -> StoreResult<Option<u64>>;

    /// The live rule of `kind` for (`iss`, `target`), if any (the newest for `subject`).
    async fn live_rule(&self, kind: RuleKind, iss: Option<&str>, target: &str) -> StoreResult<Option<Revocation>>;

    /// Waits until the feed may have events after `after` or `timeout` passes. The
    /// default waits out the timeout (polling); a backend with a push channel (LISTEN,
    /// a stream, an in-process notifier) returns as soon as something is appended. A
    /// return is only a hint: the caller reads the feed either way, so a lost push
    /// costs at most one timeout, never an event.
    async fn wait_for_change(&self, after: u64, timeout: Duration) -> StoreResult<()> {
        let _ = after;
        tokio::time::sleep(timeout).await;
        Ok(())
    }

    /// The state of the backend's push channel (LISTEN connection, blocking stream
    /// read), for metrics and logs; `None` for a backend without one.
    fn push_status(&self) -> Option<PushStatus> {
        None
    }
}

/// The state of a store's push channel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PushStatus {
    /// Whether the channel is connected now.
    pub connected: bool,
    /// How many times it was re-established after a loss (a reconnect is always
    /// followed by a catch-up read of the feed).
    pub reconnects: u64,
    /// The highest sequence number the channel announced (0 if none yet).
    pub announced_seq: u64,
}

/// The key of a rule's target, unambiguous whatever bytes the issuer and target hold:
/// `<kind>|<issuer length in bytes, or - for ours>|<issuer><target>`. Stores keep one
/// live `jti` and `family` rule per key.
pub(crate) fn target_key(kind: RuleKind, iss: Option<&str>, target: Option<&str>) -> String {
    let len = iss.map_or_else(|| "-".to_owned(), |i| i.len().to_string());
    format!("{}|{}|{}{}", kind.as_str(), len, iss.unwrap_or(""), target.unwrap_or(""))
}

/// How long feed events stay readable, seconds: readers that lag less than this never
/// need the snapshot; one further behind reloads it ([`StoreError::FeedGone`]). The
/// feed stays bounded by time, whatever rules are live (the snapshot holds those).
pub const FEED_RETENTION_SECS: u64 = 600;

/// How long registry entries stay listed (as "expired") after their `exp`, seconds.
pub const REGISTRY_RETENTION_SECS: u64 = 7 * 86_400;

/// Opens a store from its URL: `sqlite://revokd.db` (relative path),
/// `sqlite:///abs/path.db` (absolute), `postgres://user:pass@host/db` or
/// `postgresql://…` (feature `postgres`, see `PostgresStore::connect`), `redis://…` /
/// `rediss://…` (feature `redis`; an optional `?prefix=` query parameter sets the key
/// prefix, default `revokd:`), or `memory://` (not durable). `durability` applies to
/// SQLite only. Connects and migrates before it returns. Error messages never contain a
/// password of the URL.
pub async fn open(
    url: &str,
    #[allow(unused_variables)] durability: Durability,
) -> StoreResult<std::sync::Arc<dyn Store>> {
    if url == "memory://" || url == "memory:" {
        return Ok(std::sync::Arc::new(MemoryStore::new()));
    }
    if let Some(path) = url.strip_prefix("sqlite://") {
        #[cfg(feature = "sqlite")]
        {
            if path.is_empty() {
                return Err(StoreError::Connection(format!("store URL `{url}` names no file")));
            }
            return Ok(std::sync::Arc::new(SqliteStore::open(path, durability)?));
        }
        #[cfg(not(feature = "sqlite"))]
        return Err(StoreError::Connection(format!(
            "store URL `{url}` needs revokd built with the `sqlite` feature ({path})"
        )));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        #[cfg(feature = "postgres")]
        return Ok(std::sync::Arc::new(PostgresStore::connect(url).await?));
        #[cfg(not(feature = "postgres"))]
        return Err(StoreError::Connection(format!(
            "store URL `{}` needs revokd built with the `postgres` feature",
            redact_url(url)
        )));
    }
    if url.starts_with("redis://") || url.starts_with("rediss://") {
        #[cfg(feature = "redis")]
        return Ok(std::sync::Arc::new(RedisStore::connect(url).await?));
        #[cfg(not(feature = "redis"))]
        return Err(StoreError::Connection("a redis:// store URL needs revokd built with the `redis` feature".into()));
    }
    Err(StoreError::Connection(format!(
        "unsupported store URL `{}` (expected sqlite://PATH, postgres://…, redis://… or memory://)",
        redact_url(url)
    )))
}

/// `url` with every password in it replaced by `***`, for messages and logs: the one of
/// its user info (`scheme://user:password@host…`, even written with an unencoded `/`,
/// `?`, `#` or `@`) and any `password=` query parameter (key case-insensitive, as
/// libpq and sqlx accept `postgres://user@host/db?password=…`). Anything else is kept.
///
/// Where the user info ends is ambiguous when an `@` follows a `/`, `?` or `#`: the
/// first reading is taken in which what follows the user info is a plain
/// `host[:port]`, then a path and query with any other `@` inside a query value; so
/// `redis://h:6379?prefix=a@b` is kept as is and `postgres://u:pa/ss@h/db` hidden. The
/// rule errs towards hiding too much (`postgres://h:5432/my@db` shows as
/// `postgres://h:***@db`); the one password it may leak is one that itself reads as a
/// port and a query value (`u:123?k=v@h`).
pub fn redact_url(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else { return url.to_owned() };
    let rest = &url[start..];
    let (out, host) = match userinfo_end(rest) {
        Some(at) => match rest[..at].find(':') {
            Some(colon) => (format!("{}:***{}", &url[..start + colon], &rest[at..]), start + colon + ":***@".len()),
            None => (url.to_owned(), start + at + 1),
        },
        None => (url.to_owned(), start),
    };
    redact_query_password(out, host)
}

/// The index in `rest` (a URL after its `scheme://`) of the `@` ending its user info,
/// if it has one: the first reading (no user info, then each `@` in turn) after which
/// the rest is `host[:port][/path][?query]` with any further `@` inside a query value;
/// failing all, the last `@` (see [`redact_url`]).
pub(crate) fn userinfo_end(rest: &str) -> Option<usize> {
    let last = rest.rfind('@')?;
    std::iter::once(None)
        .chain(rest.match_indices('@').map(|(i, _)| Some(i)))
        .find(|end| reads_as_host_and_beyond(&rest[end.map_or(0, |i| i + 1)..]))
        .unwrap_or(Some(last))
}

/// Whether `s` reads as `host[:port][/path][?query][#fragment]`, any `@` in it being in
/// a query value (`?prefix=a@b`).
fn reads_as_host_and_beyond(s: &str) -> bool {
    let end = s.find(['/', '?', '#']).unwrap_or(s.len());
    if !looks_like_host_port(&s[..end]) {
        return false;
    }
    let query = s[end..].find('?').map(|i| end + i);
    s.match_indices('@').all(|(i, _)| {
        query.is_some_and(|q| i > q && s[..i].rfind(['?', '&']).is_some_and(|from| s[from..i].contains('=')))
    })
}

/// `host`, `host:port` or `[v6]`, `[v6]:port`, with a numeric port.
fn looks_like_host_port(s: &str) -> bool {
    let port_ok = |p: &str| p.is_empty() || p.strip_prefix(':').is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()));
    if let Some(v6) = s.strip_prefix('[') {
        return v6.find(']').is_some_and(|end| port_ok(&v6[end + 1..]));
    }
    match s.find(':') {
        Some(colon) => colon > 0 && port_ok(&s[colon..]) && s.len() > colon + 1,
        None => !s.is_empty(),
    }
}

/// The `password=` query parameters of `url` after index `from` (past the user info)
/// with their values replaced by `***`.
fn redact_query_password(url: String, from: usize) -> String {
    let Some(q) = url[from..].find('?').map(|i| from + i + 1) else { return url };
    let end = url[q..].find('#').map_or(url.len(), |i| q + i);
    let mut changed = false;
    let params: Vec<String> = url[q..end]
        .split('&')
        .map(|p| match p.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => {
                changed = true;
                format!("{k}=***")
            }
            _ => p.to_owned(),
        })
        .collect();
    if !changed {
        return url;
    }
    format!("{}{}{}", &url[..q], params.join("&"), &url[end..])
}

/// Every password written in `url` (user info, `password=` query values), as written
/// (not percent-decoded), to scrub from messages that may quote them.
#[cfg(feature = "postgres")]
pub(crate) fn url_passwords(url: &str) -> Vec<&str> {
    let Some(start) = url.find("://").map(|i| i + 3) else { return Vec::new() };
    let rest = &url[start..];
    let mut out = Vec::new();
    let mut from = 0;
    if let Some(at) = userinfo_end(rest) {
        from = at + 1;
        if let Some((_, pass)) = rest[..at].split_once(':') {
            out.push(pass);
        }
    }
    if let Some(q) = rest[from..].find('?').map(|i| from + i + 1) {
        let end = rest[q..].find('#').map_or(rest.len(), |i| q + i);
        for p in rest[q..end].split('&') {
            if let Some((k, v)) = p.split_once('=')
                && k.eq_ignore_ascii_case("password")
            {
                out.push(v);
            }
        }
    }
    out.retain(|p| !p.is_empty());
    out
}

#[cfg(test)]
mod redact_url_tests {
    use super::redact_url;

    #[test]
    fn user_info_passwords_are_hidden() {
        assert_eq!(redact_url("postgres://u:s3cret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact_url("redis://:s3cret@127.0.0.1:6379/0"), "redis://:***@127.0.0.1:6379/0");
        assert_eq!(redact_url("rediss://u:p@ss@h/1"), "rediss://u:***@h/1");
        assert_eq!(redact_url("postgres://u:s3cret@[::1]:5432/db"), "postgres://u:***@[::1]:5432/db");
    }

    #[test]
    fn passwords_with_unencoded_delimiters_are_hidden() {
        for (url, shown) in [
            ("postgres://u:pa/ss@h:5432/db", "postgres://u:***@h:5432/db"),
            ("postgres://u:pa?ss@h/db", "postgres://u:***@h/db"),
            ("postgres://u:pa#ss@h/db", "postgres://u:***@h/db"),
            ("postgres://u:p@ss/x@h/db", "postgres://u:***@h/db"),
            ("postgres://u:s3c?ret=1@h/db", "postgres://u:***@h/db"),
            ("redis://u:a/b?c#d@h:6379/0?prefix=x:", "redis://u:***@h:6379/0?prefix=x:"),
            ("postgres://u:a/b@h/db?application_name=x@y", "postgres://u:***@h/db?application_name=x@y"),
            ("redis://:p?w@h:6379?prefix=a@b", "redis://:***@h:6379?prefix=a@b"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    #[test]
    fn query_passwords_are_hidden() {
        assert_eq!(redact_url("postgres://u@h/db?password=s3cret"), "postgres://u@h/db?password=***");
        assert_eq!(
            redact_url("postgres://h/db?sslmode=require&PassWord=s3cret&application_name=x#f"),
            "postgres://h/db?sslmode=require&PassWord=***&application_name=x#f"
        );
        assert_eq!(redact_url("postgres://u:a@h/db?password=b"), "postgres://u:***@h/db?password=***");
        assert_eq!(
            redact_url("postgres://u@h/db?passwords=x&xpassword=y"),
            "postgres://u@h/db?passwords=x&xpassword=y"
        );
    }

    #[test]
    fn an_at_sign_in_a_query_value_is_not_user_info() {
        assert_eq!(redact_url("redis://127.0.0.1:6379?prefix=a@b"), "redis://127.0.0.1:6379?prefix=a@b");
        assert_eq!(redact_url("redis://h?prefix=a@b"), "redis://h?prefix=a@b");
        assert_eq!(redact_url("redis://[::1]:6379/0?prefix=a@b"), "redis://[::1]:6379/0?prefix=a@b");
        assert_eq!(
            redact_url("postgres://u:p@h:5432/db?application_name=a@b"),
            "postgres://u:***@h:5432/db?application_name=a@b"
        );
        // ambiguous: an `@` in the path hides more than needed, never the host
        assert!(redact_url("postgres://h:5432/my@db").starts_with("postgres://h:"));
    }

    #[test]
    fn urls_without_passwords_are_unchanged() {
        for url in ["postgres://user@h/db", "sqlite://revokd.db", "memory://", "redis://h:6379", "not a url"] {
            assert_eq!(redact_url(url), url);
        }
    }
}

#[cfg(not(feature = "sqlite"))]
/// What an acknowledged SQLite write survives (the `sqlite` feature is off: unused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Survives power loss.
    #[default]
    Full,
    /// Survives a process crash.
    Process,
}
