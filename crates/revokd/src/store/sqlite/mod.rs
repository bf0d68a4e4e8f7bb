//! The SQLite store: the embedded default. One file (WAL mode), created with mode 0600.
//!
//! Writes go through one writer thread that **group-commits**: every change waiting when
//! a transaction starts joins it, each in its own savepoint, and all are acknowledged
//! after one `COMMIT` (one fsync with [`Durability::Full`]). Several processes may open
//! one file: `BEGIN IMMEDIATE` and SQLite's lock serialize their writers, and sequence
//! numbers are assigned inside the write transaction, so they stay gap-free.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::Mutex;
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::oneshot;

use super::{
    Change, Consumption, FEED_RETENTION_SECS, IssuedToken, Page, Pruned, REGISTRY_RETENTION_SECS, Snapshot, Store,
    StoreError, StoreResult,
};
use crate::clock::{Clock, SystemClock};
use crate::rules::{Event, NewRevocation, Op, Revocation, RuleKind};
use crate::token::TokenType;

const MIGRATIONS: &[&str] =
    &[include_str!("migrations/0001_init.sql"), include_str!("migrations/0002_unambiguous_uniq.sql")];
const MAX_BATCH: usize = 1024;

/// What an acknowledged write survives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// fsync at every group commit: survives power loss (`synchronous = FULL`). The
    /// default.
    #[default]
    Full,
    /// No fsync at commit: survives a crash of the process, not of the machine
    /// (`synchronous = NORMAL` in WAL mode).
    Process,
}

impl std::str::FromStr for Durability {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "full" => Ok(Durability::Full),
            "process" => Ok(Durability::Process),
            other => Err(crate::Error::InvalidRequest(format!(
                "durability must be \"full\" or \"process\", not \"{other}\""
            ))),
        }
    }
}

fn backend(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) =>
        {
            StoreError::Timeout
        }
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::CannotOpen => {
            StoreError::Connection(e.to_string())
        }
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
            StoreError::Conflict(e.to_string())
        }
        _ => StoreError::Backend(e.to_string()),
    }
}

enum Job {
    Append(Change, oneshot::Sender<StoreResult<Event>>),
    Consume(String, u64, u64, oneshot::Sender<StoreResult<Consumption>>),
    RaiseMax(u64, oneshot::Sender<StoreResult<u64>>),
    Secret(String, Vec<u8>, oneshot::Sender<StoreResult<Vec<u8>>>),
    Record(IssuedToken, oneshot::Sender<StoreResult<()>>),
    Prune(u64, oneshot::Sender<StoreResult<Pruned>>),
}

/// A revokd store in a SQLite file.
pub struct SqliteStore {
    path: PathBuf,
    durability: Durability,
    jobs: Mutex<mpsc::Sender<Job>>,
    readers: Arc<Mutex<Vec<Connection>>>,
    /// Woken after each commit of this process; other processes' commits are found by
    /// polling ([`Store::wait_for_change`]'s timeout).
    committed: Arc<tokio::sync::Notify>,
}

/// SQLite stores integers as i64: larger values (a far-future expiry) are clamped, never
/// wrapped negative.
fn int(v: u64) -> i64 {
    v.min(i64::MAX as u64) as i64
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).field("durability", &self.durability).finish()
    }
}

fn open_conn(path: &Path, durability: Durability) -> StoreResult<Connection> {
    let conn = Connection::open(path).map_err(|e| StoreError::Connection(format!("{}: {e}", path.display())))?;
    conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(backend)?;
    conn.pragma_update(None, "journal_mode", "WAL").map_err(backend)?;
    let sync = match durability {
        Durability::Full => "FULL",
        Durability::Process => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", sync).map_err(backend)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(backend)?;
    let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(backend)?;
    if version as usize > MIGRATIONS.len() {
        return Err(StoreError::Corrupt(format!(
            "database schema version {version} is newer than this revokd understands ({})",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(sql).map_err(backend)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64).map_err(backend)?;
    }
    tx.commit().map_err(backend)
}

impl SqliteStore {
    /// Opens (creating if needed, with mode 0600) the store at `path`.
    pub fn open(path: impl AsRef<Path>, durability: Durability) -> StoreResult<Self> {
        let path = path.as_ref().to_path_buf();
        if !path.exists() {
            create_private(&path)?;
        }
        let mut writer = open_conn(&path, durability)?;
        migrate(&mut writer)?;
        let (tx, rx) = mpsc::channel();
        let committed = Arc::new(tokio::sync::Notify::new());
        let notify = Arc::clone(&committed);
        std::thread::Builder::new()
            .name("revokd-sqlite-writer".into())
            .spawn(move || write_loop(writer, rx, &notify))
            .map_err(|e| StoreError::Backend(format!("cannot start the writer thread: {e}")))?;
        Ok(SqliteStore { path, durability, jobs: Mutex::new(tx), readers: Arc::new(Mutex::new(Vec::new())), committed })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn write<T>(&self, make: impl FnOnce(oneshot::Sender<StoreResult<T>>) -> Job) -> StoreResult<T> {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .lock()
            .send(make(tx))
            .map_err(|_| StoreError::Connection("the SQLite writer thread has stopped".into()))?;
        rx.await.map_err(|_| StoreError::Connection("the SQLite writer thread has stopped".into()))?
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let readers = Arc::clone(&self.readers);
        let path = self.path.clone();
        let durability = self.durability;
        tokio::task::spawn_blocking(move || {
            let pooled = readers.lock().pop();
            let mut conn = match pooled {
                Some(c) => c,
                None => open_conn(&path, durability)?,
            };
            let out = f(&mut conn);
            let mut pool = readers.lock();
            if pool.len() < 8 {
                pool.push(conn);
            }
            out
        })
        .await
        .map_err(|e| StoreError::Backend(format!("reader task failed: {e}")))?
    }
}

#[cfg(unix)]
fn create_private(path: &Path) -> StoreResult<()> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map(drop)
        .or_else(|e| if e.kind() == std::io::ErrorKind::AlreadyExists { Ok(()) } else { Err(e) })
        .map_err(|e| StoreError::Connection(format!("cannot create {}: {e}", path.display())))
}

#[cfg(not(unix))]
fn create_private(_: &Path) -> StoreResult<()> {
    Ok(())
}

fn write_loop(mut conn: Connection, rx: mpsc::Receiver<Job>, committed: &tokio::sync::Notify) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        run_batch(&mut conn, batch);
        committed.notify_waiters();
    }
}

/// A job's result, held until the commit decides whether it stands.
enum Done {
    Append(oneshot::Sender<StoreResult<Event>>, StoreResult<Event>),
    Consume(oneshot::Sender<StoreResult<Consumption>>, StoreResult<Consumption>),
    RaiseMax(oneshot::Sender<StoreResult<u64>>, StoreResult<u64>),
    Secret(oneshot::Sender<StoreResult<Vec<u8>>>, StoreResult<Vec<u8>>),
    Record(oneshot::Sender<StoreResult<()>>, StoreResult<()>),
    Prune(oneshot::Sender<StoreResult<Pruned>>, StoreResult<Pruned>),
}

fn fail_all(batch: Vec<Job>, e: &StoreError) {
    // Every job gets the same kind of error, so callers can still tell a timeout from
    // a lost connection.
    let err = || match e {
        StoreError::Timeout => StoreError::Timeout,
        StoreError::Connection(s) => StoreError::Connection(s.clone()),
        StoreError::Conflict(s) => StoreError::Conflict(s.clone()),
        StoreError::Corrupt(s) => StoreError::Corrupt(s.clone()),
        other => StoreError::Backend(other.to_string()),
    };
    for j in batch {
        let _ = match j {
            Job::Append(_, tx) => tx.send(Err(err())).map_err(drop),
            Job::Consume(_, _, _, tx) => tx.send(Err(err())).map_err(drop),
            Job::RaiseMax(_, tx) => tx.send(Err(err())).map_err(drop),
            Job::Secret(_, _, tx) => tx.send(Err(err())).map_err(drop),
            Job::Record(_, tx) => tx.send(Err(err())).map_err(drop),
            Job::Prune(_, tx) => tx.send(Err(err())).map_err(drop),
        };
    }
}

/// Runs `f` in a savepoint: its changes stand only if it succeeds.
fn savepoint<T>(conn: &Connection, f: impl FnOnce(&Connection) -> StoreResult<T>) -> StoreResult<T> {
    conn.execute_batch("SAVEPOINT job").map_err(backend)?;
    match f(conn) {
        Ok(v) => {
            conn.execute_batch("RELEASE job").map_err(backend)?;
            Ok(v)
        }
        Err(e) => {
            conn.execute_batch("ROLLBACK TO job; RELEASE job").map_err(backend)?;
            Err(e)
        }
    }
}

fn run_batch(conn: &mut Connection, batch: Vec<Job>) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE").map_err(backend) {
        fail_all(batch, &e);
        return;
    }
    let now = SystemClock.now_secs();
    let mut done = Vec::with_capacity(batch.len());
    for job in batch {
        done.push(match job {
            Job::Append(c, tx) => Done::Append(tx, savepoint(conn, |c2| append(c2, c, now))),
            Job::Consume(jti, ms, exp, tx) => Done::Consume(tx, savepoint(conn, |c2| consume(c2, &jti, ms, exp))),
            Job::RaiseMax(s, tx) => Done::RaiseMax(tx, savepoint(conn, |c2| raise_max(c2, s))),
            Job::Secret(n, v, tx) => Done::Secret(tx, savepoint(conn, |c2| secret(c2, &n, v))),
            Job::Record(t, tx) => Done::Record(tx, savepoint(conn, |c2| record(c2, &t))),
            Job::Prune(now, tx) => Done::Prune(tx, savepoint(conn, |c2| prune(c2, now))),
        });
    }
    let committed = conn.execute_batch("COMMIT").map_err(backend);
    if committed.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    // Nothing is acknowledged before the commit returned.
    macro_rules! reply {
        ($tx:expr, $r:expr) => {{
            let r = match &committed {
                Ok(()) => $r,
                Err(StoreError::Timeout) => Err(StoreError::Timeout),
                Err(e) => Err(StoreError::Backend(format!("commit failed: {e}"))),
            };
            let _ = $tx.send(r);
        }};
    }
    for d in done {
        match d {
            Done::Append(tx, r) => reply!(tx, r),
            Done::Consume(tx, r) => reply!(tx, r),
            Done::RaiseMax(tx, r) => reply!(tx, r),
            Done::Secret(tx, r) => reply!(tx, r),
            Done::Record(tx, r) => reply!(tx, r),
            Done::Prune(tx, r) => reply!(tx, r),
        }
    }
}

fn meta_u64(conn: &Connection, key: &str) -> StoreResult<u64> {
    let v: Option<i64> =
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional().map_err(backend)?;
    Ok(v.unwrap_or(0) as u64)
}

fn set_meta_u64(conn: &Connection, key: &str, v: u64) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, int(v)],
    )
    .map_err(backend)?;
    Ok(())
}

fn last_seq(conn: &Connection) -> StoreResult<u64> {
    let max: Option<i64> = conn.query_row("SELECT MAX(seq) FROM events", [], |r| r.get(0)).map_err(backend)?;
    Ok((max.unwrap_or(0) as u64).max(meta_u64(conn, "watermark")?))
}

fn uniq(kind: RuleKind, iss: Option<&str>, target: Option<&str>) -> Option<String> {
    matches!(kind, RuleKind::Jti | RuleKind::Family).then(|| super::target_key(kind, iss, target))
}

const REV_COLS: &str =
    "r.id, r.seq, r.kind, r.target, r.iss, r.before_ms, r.created_at, r.expires_at, r.reason, r.actor";

fn row_revocation(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Revocation> {
    let kind: String = row.get(at + 2)?;
    let kind = kind.parse().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            at + 2,
            rusqlite::types::Type::Text,
            format!("bad kind {kind}").into(),
        )
    })?;
    Ok(Revocation {
        id: row.get(at)?,
        seq: row.get::<_, i64>(at + 1)? as u64,
        kind,
        target: row.get(at + 3)?,
        iss: row.get(at + 4)?,
        before_ms: row.get::<_, Option<i64>>(at + 5)?.map(|v| v as u64),
        created_at: row.get::<_, i64>(at + 6)? as u64,
        expires_at: row.get::<_, i64>(at + 7)? as u64,
        reason: row.get(at + 8)?,
        actor: row.get(at + 9)?,
    })
}

fn revocation_by_id(conn: &Connection, id: &str) -> StoreResult<Option<(Revocation, bool)>> {
    conn.query_row(&format!("SELECT {REV_COLS}, r.removed FROM revocations r WHERE r.id = ?1"), [id], |row| {
        Ok((row_revocation(row, 0)?, row.get::<_, i64>(10)? != 0))
    })
    .optional()
    .map_err(backend)
}

fn insert_event(conn: &Connection, seq: u64, op: Op, id: &str, now: u64) -> StoreResult<()> {
    let op = match op {
        Op::Revoke => "revoke",
        Op::Unrevoke => "unrevoke",
    };
    conn.execute(
        "INSERT INTO events(seq, op, revocation_id, at) VALUES (?1, ?2, ?3, ?4)",
        params![int(seq), op, id, int(now)],
    )
    .map_err(backend)?;
    Ok(())
}

fn append(conn: &Connection, change: Change, now: u64) -> StoreResult<Event> {
    match change {
        Change::Revoke(new) => append_revoke(conn, new, now),
        Change::Reassign { id, actor, reason } => {
            let Some((mut r, false)) = revocation_by_id(conn, &id)? else {
                return Err(StoreError::NotFound);
            };
            conn.execute(
                "UPDATE revocations SET actor = ?2, reason = COALESCE(?3, reason) WHERE id = ?1",
                params![id, actor, reason],
            )
            .map_err(backend)?;
            r.actor = actor;
            if reason.is_some() {
                r.reason = reason;
            }
            let seq = last_seq(conn)? + 1;
            insert_event(conn, seq, Op::Revoke, &id, now)?;
            Ok(Event { seq, op: Op::Revoke, revocation: r })
        }
        Change::Unrevoke { id } => {
            let Some((r, removed)) = revocation_by_id(conn, &id)? else {
                return Err(StoreError::NotFound);
            };
            if removed {
                return Err(StoreError::NotFound);
            }
            if !r.kind.is_reversible() {
                return Err(StoreError::NotReversible);
            }
            let seq = last_seq(conn)? + 1;
            conn.execute("UPDATE revocations SET removed = 1, uniq = NULL WHERE id = ?1", [&id]).map_err(backend)?;
            insert_event(conn, seq, Op::Unrevoke, &id, now)?;
            Ok(Event { seq, op: Op::Unrevoke, revocation: r })
        }
    }
}

fn append_revoke(conn: &Connection, new: NewRevocation, now: u64) -> StoreResult<Event> {
    let u = uniq(new.kind, new.iss.as_deref(), new.target.as_deref());
    if let Some(u) = &u {
        let existing: Option<String> = conn
            .query_row("SELECT id FROM revocations WHERE uniq = ?1", [u], |r| r.get(0))
            .optional()
            .map_err(backend)?;
        if let Some(id) = existing
            && let Some((r, _)) = revocation_by_id(conn, &id)?
        {
            return Ok(Event { seq: r.seq, op: Op::Revoke, revocation: r });
        }
    }
    let seq = last_seq(conn)? + 1;
    let r = new.into_revocation(uuid::Uuid::now_v7().to_string(), seq);
    conn.execute(
        "INSERT INTO revocations(id, seq, kind, target, iss, before_ms, created_at, expires_at, reason, actor, uniq)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            r.id,
            int(seq),
            r.kind.as_str(),
            r.target,
            r.iss,
            r.before_ms.map(int),
            int(r.created_at),
            int(r.expires_at),
            r.reason,
            r.actor,
            u
        ],
    )
    .map_err(backend)?;
    insert_event(conn, seq, Op::Revoke, &r.id, now)?;
    Ok(Event { seq, op: Op::Revoke, revocation: r })
}

fn consume(conn: &Connection, jti: &str, now_ms: u64, exp: u64) -> StoreResult<Consumption> {
    let inserted = conn
        .execute(
            "INSERT INTO refresh_uses(jti, first_used_ms, expires_at) VALUES (?1, ?2, ?3) ON CONFLICT(jti) DO NOTHING",
            params![jti, int(now_ms), int(exp)],
        )
        .map_err(backend)?;
    if inserted == 1 {
        return Ok(Consumption::First);
    }
    let first: i64 = conn
        .query_row("SELECT first_used_ms FROM refresh_uses WHERE jti = ?1", [jti], |r| r.get(0))
        .map_err(backend)?;
    Ok(Consumption::Reused { first_used_ms: first as u64 })
}

fn raise_max(conn: &Connection, secs: u64) -> StoreResult<u64> {
    let v = meta_u64(conn, "max_lifetime")?.max(secs);
    set_meta_u64(conn, "max_lifetime", v)?;
    Ok(v)
}

fn secret(conn: &Connection, name: &str, value: Vec<u8>) -> StoreResult<Vec<u8>> {
    let key = format!("secret:{name}");
    conn.execute("INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO NOTHING", params![key, value])
        .map_err(backend)?;
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).map_err(backend)
}

fn record(conn: &Connection, t: &IssuedToken) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO tokens(jti, sub, type, fam, iat, exp) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(jti) DO NOTHING",
        params![t.jti, t.sub, t.token_type.as_str(), t.fam, int(t.iat), int(t.exp)],
    )
    .map_err(backend)?;
    Ok(())
}

fn prune(conn: &Connection, now: u64) -> StoreResult<Pruned> {
    let mut pruned = Pruned::default();
    // Events leave as a prefix, once older than the retention: the first recent one
    // bounds the watermark (a reader further behind reloads the snapshot).
    let first_needed: Option<i64> = conn
        .query_row("SELECT MIN(seq) FROM events WHERE at + ?1 > ?2", params![int(FEED_RETENTION_SECS), int(now)], |r| {
            r.get(0)
        })
        .map_err(backend)?;
    let last = last_seq(conn)?;
    let through = match first_needed {
        Some(s) => (s as u64).saturating_sub(1),
        None => last,
    };
    let old = meta_u64(conn, "watermark")?;
    if through > old {
        pruned.events = conn.execute("DELETE FROM events WHERE seq <= ?1", [int(through)]).map_err(backend)? as u64;
        set_meta_u64(conn, "watermark", through)?;
    }
    pruned.rules = conn
        .execute("UPDATE revocations SET removed = 1, uniq = NULL WHERE removed = 0 AND expires_at <= ?1", [int(now)])
        .map_err(backend)? as u64;
    conn.execute(
        "DELETE FROM revocations WHERE removed = 1 AND expires_at <= ?1
         AND NOT EXISTS (SELECT 1 FROM events e WHERE e.revocation_id = revocations.id)",
        [int(now)],
    )
    .map_err(backend)?;
    pruned.tokens = conn
        .execute("DELETE FROM tokens WHERE exp <= ?1", [int(now.saturating_sub(REGISTRY_RETENTION_SECS))])
        .map_err(backend)? as u64
        + conn.execute("DELETE FROM refresh_uses WHERE expires_at <= ?1", [int(now)]).map_err(backend)? as u64;
    Ok(pruned)
}

fn row_token(row: &rusqlite::Row<'_>) -> rusqlite::Result<IssuedToken> {
    let t: String = row.get(2)?;
    Ok(IssuedToken {
        jti: row.get(0)?,
        sub: row.get(1)?,
        token_type: if t == "refresh" { TokenType::Refresh } else { TokenType::Access },
        fam: row.get(3)?,
        iat: row.get::<_, i64>(4)? as u64,
        exp: row.get::<_, i64>(5)? as u64,
    })
}

#[async_trait]
impl Store for SqliteStore {
    async fn append(&self, change: Change) -> StoreResult<Event> {
        self.write(|tx| Job::Append(change, tx)).await
    }

    async fn events_after(&self, since: u64, limit: usize) -> StoreResult<Vec<Event>> {
        self.read(move |conn| {
            let tx = conn.transaction().map_err(backend)?;
            let watermark = meta_u64(&tx, "watermark")?;
            if since < watermark {
                return Err(StoreError::FeedGone { since, oldest: watermark });
            }
            let mut stmt = tx
                .prepare_cached(&format!(
                    "SELECT e.seq, e.op, {REV_COLS} FROM events e JOIN revocations r ON r.id = e.revocation_id
                     WHERE e.seq > ?1 ORDER BY e.seq LIMIT ?2"
                ))
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![int(since), int(limit as u64)], |row| {
                    let op: String = row.get(1)?;
                    Ok(Event {
                        seq: row.get::<_, i64>(0)? as u64,
                        op: if op == "unrevoke" { Op::Unrevoke } else { Op::Revoke },
                        revocation: row_revocation(row, 2)?,
                    })
                })
                .map_err(backend)?;
            rows.collect::<rusqlite::Result<Vec<_>>>().map_err(backend)
        })
        .await
    }

    async fn last_seq(&self) -> StoreResult<u64> {
        self.read(|conn| last_seq(conn)).await
    }

    async fn snapshot(&self) -> StoreResult<Snapshot> {
        self.read(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            let seq = last_seq(&tx)?;
            let mut stmt = tx
                .prepare_cached(&format!("SELECT {REV_COLS} FROM revocations r WHERE r.removed = 0 ORDER BY r.seq"))
                .map_err(backend)?;
            let rules = stmt
                .query_map([], |row| row_revocation(row, 0))
                .map_err(backend)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(backend)?;
            Ok(Snapshot { seq, rules })
        })
        .await
    }

    async fn revocation(&self, id: &str) -> StoreResult<Option<Revocation>> {
        let id = id.to_owned();
        self.read(move |conn| Ok(revocation_by_id(conn, &id)?.map(|(r, _)| r))).await
    }

    async fn prune(&self, now_secs: u64) -> StoreResult<Pruned> {
        self.write(|tx| Job::Prune(now_secs, tx)).await
    }

    async fn consume_refresh(&self, jti: &str, now_ms: u64, expires_at: u64) -> StoreResult<Consumption> {
        let jti = jti.to_owned();
        self.write(|tx| Job::Consume(jti, now_ms, expires_at, tx)).await
    }

    async fn raise_max_lifetime(&self, secs: u64) -> StoreResult<u64> {
        self.write(|tx| Job::RaiseMax(secs, tx)).await
    }

    async fn max_lifetime(&self) -> StoreResult<u64> {
        self.read(|conn| meta_u64(conn, "max_lifetime")).await
    }

    async fn secret_or_insert(&self, name: &str, value: Vec<u8>) -> StoreResult<Vec<u8>> {
        let name = name.to_owned();
        self.write(|tx| Job::Secret(name, value, tx)).await
    }

    async fn record_token(&self, token: IssuedToken) -> StoreResult<()> {
        self.write(|tx| Job::Record(token, tx)).await
    }

    async fn tokens(&self, sub: Option<&str>, cursor: Option<&str>, limit: usize) -> StoreResult<Page<IssuedToken>> {
        let sub = sub.map(str::to_owned);
        let cursor = cursor.unwrap_or("").to_owned();
        self.read(move |conn| {
            let lim = (limit as i64).saturating_add(1);
            let items = match &sub {
                Some(s) => {
                    let mut stmt = conn
                        .prepare_cached(
                            "SELECT jti, sub, type, fam, iat, exp FROM tokens WHERE sub = ?1 AND jti > ?2 ORDER BY jti LIMIT ?3",
                        )
                        .map_err(backend)?;
                    stmt.query_map(params![s, cursor, lim], row_token)
                        .map_err(backend)?
                        .collect::<rusqlite::Result<Vec<_>>>()
                }
                None => {
                    let mut stmt = conn
                        .prepare_cached("SELECT jti, sub, type, fam, iat, exp FROM tokens WHERE jti > ?1 ORDER BY jti LIMIT ?2")
                        .map_err(backend)?;
                    stmt.query_map(params![cursor, lim], row_token)
                        .map_err(backend)?
                        .collect::<rusqlite::Result<Vec<_>>>()
                }
            }
            .map_err(backend)?;
            Ok(Page::from_one_extra(items, limit))
        })
        .await
    }

    async fn token(&self, jti: &str) -> StoreResult<Option<IssuedToken>> {
        let jti = jti.to_owned();
        self.read(move |conn| {
            conn.query_row("SELECT jti, sub, type, fam, iat, exp FROM tokens WHERE jti = ?1", [jti], row_token)
                .optional()
                .map_err(backend)
        })
        .await
    }

    async fn live_rule(&self, kind: RuleKind, iss: Option<&str>, target: &str) -> StoreResult<Option<Revocation>> {
        let (iss, target) = (iss.map(str::to_owned), target.to_owned());
        self.read(move |conn| {
            conn.query_row(
                &format!(
                    "SELECT {REV_COLS} FROM revocations r WHERE r.removed = 0 AND r.kind = ?1 AND r.iss IS ?2
                     AND r.target = ?3 ORDER BY r.seq DESC LIMIT 1"
                ),
                params![kind.as_str(), iss, target],
                |row| row_revocation(row, 0),
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn wait_for_change(&self, after: u64, timeout: Duration) -> StoreResult<()> {
        let notified = self.committed.notified();
        if self.last_seq().await? > after {
            return Ok(());
        }
        let _ = tokio::time::timeout(timeout, notified).await;
        Ok(())
    }

    async fn family_latest_exp(&self, fam: &str) -> StoreResult<Option<u64>> {
        let fam = fam.to_owned();
        self.read(move |conn| {
            let v: Option<i64> =
                conn.query_row("SELECT MAX(exp) FROM tokens WHERE fam = ?1", [fam], |r| r.get(0)).map_err(backend)?;
            Ok(v.map(|v| v as u64))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durability_sets_synchronous() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.db");
        for (d, expected) in [(Durability::Full, 2), (Durability::Process, 1)] {
            let conn = open_conn(&path, d).unwrap();
            let v: i64 = conn.pragma_query_value(None, "synchronous", |r| r.get(0)).unwrap();
            assert_eq!(v, expected, "{d:?}");
            let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap();
            assert_eq!(mode, "wal");
        }
    }

    #[test]
    fn constraint_violations_are_conflicts_and_busy_is_a_timeout() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t(x INTEGER PRIMARY KEY)").unwrap();
        conn.execute("INSERT INTO t VALUES (1)", []).unwrap();
        let e = backend(conn.execute("INSERT INTO t VALUES (1)", []).unwrap_err());
        assert!(e.is_conflict(), "{e:?}");
        let busy = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY), None);
        assert!(backend(busy).is_timeout());
    }

    #[test]
    fn version_2_rewrites_the_one_live_rule_keys_of_version_1() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO revocations(id, seq, kind, target, iss, created_at, expires_at, actor, uniq)
             VALUES ('r1', 1, 'jti', 'b|c', 'a', 0, 9, 'x', 'jti|a|b|c'),
                    ('r2', 2, 'family', 'f', NULL, 0, 9, 'x', 'family||f'),
                    ('r3', 3, 'jti', 'é', 'ü', 0, 9, 'x', NULL)",
            [],
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        fn stored(conn: &Connection, id: &str) -> Option<String> {
            conn.query_row("SELECT uniq FROM revocations WHERE id = ?1", [id], |r| r.get(0)).unwrap()
        }
        assert_eq!(stored(&conn, "r1"), uniq(RuleKind::Jti, Some("a"), Some("b|c")));
        assert_eq!(stored(&conn, "r2"), uniq(RuleKind::Family, None, Some("f")));
        assert_eq!(stored(&conn, "r3"), None, "a removed rule has no key");
        // byte lengths, as Rust counts them
        conn.execute("UPDATE revocations SET uniq = 'x' WHERE id = 'r3'", []).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        migrate(&mut conn).unwrap();
        assert_eq!(stored(&conn, "r3"), uniq(RuleKind::Jti, Some("ü"), Some("é")));
    }

    #[test]
    fn large_integers_are_clamped_not_wrapped() {
        assert_eq!(int(u64::MAX), i64::MAX);
        assert_eq!(int(5), 5);
    }
}
