//! The PostgreSQL store: see [`PostgresStore`] for its design.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgListener, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection as _, Row};
use tokio::sync::{Notify, mpsc, oneshot};

use super::{
    Change, Consumption, FEED_RETENTION_SECS, IssuedToken, Page, Pruned, PushStatus, REGISTRY_RETENTION_SECS, Snapshot,
    Store, StoreError, StoreResult, redact_url,
};
use crate::clock::{Clock, SystemClock};
use crate::rules::{Event, NewRevocation, Op, Revocation, RuleKind};
use crate::token::TokenType;

const MIGRATIONS: &[&str] = &[include_str!("migrations/0001_init.sql")];
const MAX_BATCH: usize = 1024;
/// The NOTIFY channel (per database).
const CHANNEL: &str = "revokd_feed";
/// The advisory lock key migrations run under ("revokd" in ASCII).
const MIGRATION_LOCK: i64 = 0x7265_766f_6b64;
const POOL_SIZE: u32 = 8;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// Session settings of every pooled connection, so no statement waits forever: a lock
/// not granted in 5 s (the feed head held by a stuck writer of another process) fails
/// with 55P03, a statement running 60 s with 57014 (both [`StoreError::Timeout`]), and a
/// session idle 60 s inside a transaction is ended by the server (releasing its locks).
/// The LISTEN connection has none of them (it runs no long statement, holds no lock).
const SESSION_TIMEOUTS: [(&str, &str); 3] =
    [("lock_timeout", "5s"), ("statement_timeout", "60s"), ("idle_in_transaction_session_timeout", "60s")];
/// How long a write waits for the writer task's answer (see [`PostgresStore::write`]).
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// PostgreSQL stores integers as i64: larger values (a far-future expiry) are clamped,
/// never wrapped negative.
fn int(v: u64) -> i64 {
    v.min(i64::MAX as u64) as i64
}

/// Read back: a negative value (never written by revokd) reads as 0.
fn uint(v: i64) -> u64 {
    v.max(0) as u64
}

/// Whether an SQL error means the connection is gone (or the server is going away).
fn is_connection_error(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => {
            d.code().is_some_and(|c| c.starts_with("08") || matches!(c.as_ref(), "57P01" | "57P02" | "57P03"))
        }
        _ => false,
    }
}

/// Maps an sqlx error to the store's error kinds.
fn sql_err(e: sqlx::Error) -> StoreError {
    if is_connection_error(&e) {
        return StoreError::Connection(e.to_string());
    }
    match &e {
        sqlx::Error::PoolTimedOut => StoreError::Timeout,
        sqlx::Error::Database(d) => match d.code().as_deref() {
            // query_canceled (statement_timeout), lock_not_available (lock_timeout), and
            // idle_in_transaction_session_timeout (the server ended the session)
            Some("57014" | "55P03" | "25P03") => StoreError::Timeout,
            // unique violation, serialization failure, deadlock: a retry may succeed
            Some("23505" | "40001" | "40P01") => StoreError::Conflict(e.to_string()),
            _ => StoreError::Backend(e.to_string()),
        },
        _ => StoreError::Backend(e.to_string()),
    }
}

fn unexpected() -> StoreError {
    StoreError::Backend("the PostgreSQL writer answered with the wrong kind of result".into())
}

fn writer_gone() -> StoreError {
    StoreError::Connection("the PostgreSQL writer task has stopped".into())
}

/// The passwords of a URL (its user info's and any `password=` query value), as
/// written and percent-decoded, to scrub from messages.
fn passwords_of(url: &str) -> Vec<String> {
    let mut out = Vec::new();
    for pass in super::url_passwords(url) {
        let mut decoded = Vec::with_capacity(pass.len());
        let b = pass.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' && i + 2 < b.len() && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit() {
                let hex = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
                decoded.push(hex(b[i + 1]) * 16 + hex(b[i + 2]));
                i += 3;
                continue;
            }
            decoded.push(b[i]);
            i += 1;
        }
        let decoded = String::from_utf8_lossy(&decoded).into_owned();
        for p in [pass.to_owned(), decoded] {
            if !p.is_empty() && !out.contains(&p) {
                out.push(p);
            }
        }
    }
    // Longest first: a password containing another is replaced whole.
    out.sort_by_key(|p| std::cmp::Reverse(p.len()));
    out
}

/// `msg` with every form of the URL's password replaced.
fn scrub(msg: String, passwords: &[String]) -> String {
    passwords.iter().fold(msg, |m, p| m.replace(p.as_str(), "***"))
}

/// A job for the writer task.
enum Work {
    Append(Change),
    Consume { jti: String, now_ms: u64, expires_at: u64 },
    RaiseMax(u64),
    Secret(String, Vec<u8>),
    Record(IssuedToken),
    Prune(u64),
}

/// What a job produced.
enum Outcome {
    Event(Event),
    Consumption(Consumption),
    Lifetime(u64),
    Secret(Vec<u8>),
    Recorded,
    Pruned(Pruned),
}

struct Job {
    work: Work,
    reply: oneshot::Sender<StoreResult<Outcome>>,
}

/// Why a job failed: an SQL error (the transaction is aborted) or a refusal (nothing
/// was written: not found, not reversible).
enum Fail {
    Sql(sqlx::Error),
    Store(StoreError),
}

impl From<sqlx::Error> for Fail {
    fn from(e: sqlx::Error) -> Self {
        Fail::Sql(e)
    }
}

impl Fail {
    fn into_store(self) -> StoreError {
        match self {
            Fail::Sql(e) => sql_err(e),
            Fail::Store(e) => e,
        }
    }
}

/// The feed head a write transaction locked, and how far its events have reached.
pub(crate) struct Head {
    /// The head when it was locked.
    pub(crate) locked: u64,
    /// The newest sequence number this transaction assigned (`locked` if none).
    pub(crate) seq: u64,
}

/// Locks the feed head row (held to COMMIT: writers of all processes serialize here)
/// and returns it.
pub(crate) async fn lock_head(conn: &mut PgConnection) -> Result<Head, sqlx::Error> {
    let seq: i64 =
        sqlx::query_scalar("SELECT seq FROM revokd_feed_head WHERE id = 1 FOR UPDATE").fetch_one(conn).await?;
    Ok(Head { locked: uint(seq), seq: uint(seq) })
}

/// Stores the new head and announces it on `revokd_feed` (sent at COMMIT), in one
/// statement; nothing when no event was appended.
pub(crate) async fn finish_head(conn: &mut PgConnection, head: &Head) -> Result<(), sqlx::Error> {
    if head.seq > head.locked {
        sqlx::query(
            "WITH h AS (UPDATE revokd_feed_head SET seq = $1 WHERE id = 1) SELECT pg_notify('revokd_feed', $2)",
        )
        .bind(int(head.seq))
        .bind(head.seq.to_string())
        .execute(conn)
        .await?;
    }
    Ok(())
}

macro_rules! rev_cols {
    () => {
        "r.id, r.seq, r.kind, r.target, r.iss, r.before_ms, r.created_at, r.expires_at, r.reason, r.actor"
    };
}

fn row_revocation(row: &PgRow, at: usize) -> Result<Revocation, sqlx::Error> {
    let kind: String = row.try_get(at + 2)?;
    let kind = kind
        .parse()
        .map_err(|_| sqlx::Error::Decode(format!("unknown rule kind `{kind}` in revokd_revocations").into()))?;
    Ok(Revocation {
        id: row.try_get(at)?,
        seq: uint(row.try_get(at + 1)?),
        kind,
        target: row.try_get(at + 3)?,
        iss: row.try_get(at + 4)?,
        before_ms: row.try_get::<Option<i64>, _>(at + 5)?.map(uint),
        created_at: uint(row.try_get(at + 6)?),
        expires_at: uint(row.try_get(at + 7)?),
        reason: row.try_get(at + 8)?,
        actor: row.try_get(at + 9)?,
    })
}

fn row_token(row: &PgRow) -> Result<IssuedToken, sqlx::Error> {
    let t: String = row.try_get(2)?;
    Ok(IssuedToken {
        jti: row.try_get(0)?,
        sub: row.try_get(1)?,
        token_type: if t == "refresh" { TokenType::Refresh } else { TokenType::Access },
        fam: row.try_get(3)?,
        iat: uint(row.try_get(4)?),
        exp: uint(row.try_get(5)?),
    })
}

async fn revocation_by_id(conn: &mut PgConnection, id: &str) -> Result<Option<(Revocation, bool)>, sqlx::Error> {
    sqlx::query(concat!("SELECT ", rev_cols!(), ", r.removed FROM revokd_revocations r WHERE r.id = $1"))
        .bind(id)
        .try_map(|row: PgRow| Ok((row_revocation(&row, 0)?, row.try_get::<bool, _>(10)?)))
        .fetch_optional(conn)
        .await
}

fn uniq(kind: RuleKind, iss: Option<&str>, target: Option<&str>) -> Option<String> {
    matches!(kind, RuleKind::Jti | RuleKind::Family).then(|| super::target_key(kind, iss, target))
}

/// Runs one job in the current transaction (whose head is locked). A refusal returns
/// before anything is written.
async fn run_work(conn: &mut PgConnection, work: &Work, head: &mut Head, now: u64) -> Result<Outcome, Fail> {
    Ok(match work {
        Work::Append(Change::Revoke(new)) => Outcome::Event(append_revoke(conn, new.clone(), head, now).await?),
        Work::Append(Change::Reassign { id, actor, reason }) => {
            let Some((mut r, false)) = revocation_by_id(conn, id).await? else {
                return Err(Fail::Store(StoreError::NotFound));
            };
            let seq = head.seq + 1;
            sqlx::query(
                "WITH u AS (UPDATE revokd_revocations SET actor = $2, reason = COALESCE($3, reason) WHERE id = $1)
                 INSERT INTO revokd_events(seq, op, revocation_id, at) VALUES ($4, 'revoke', $1, $5)",
            )
            .bind(id)
            .bind(actor)
            .bind(reason)
            .bind(int(seq))
            .bind(int(now))
            .execute(&mut *conn)
            .await?;
            head.seq = seq;
            r.actor = actor.clone();
            if reason.is_some() {
                r.reason = reason.clone();
            }
            Outcome::Event(Event { seq, op: Op::Revoke, revocation: r })
        }
        Work::Append(Change::Unrevoke { id }) => {
            let Some((r, removed)) = revocation_by_id(conn, id).await? else {
                return Err(Fail::Store(StoreError::NotFound));
            };
            if removed {
                return Err(Fail::Store(StoreError::NotFound));
            }
            if !r.kind.is_reversible() {
                return Err(Fail::Store(StoreError::NotReversible));
            }
            let seq = head.seq + 1;
            sqlx::query(
                "WITH u AS (UPDATE revokd_revocations SET removed = TRUE, uniq = NULL WHERE id = $1)
                 INSERT INTO revokd_events(seq, op, revocation_id, at) VALUES ($2, 'unrevoke', $1, $3)",
            )
            .bind(id)
            .bind(int(seq))
            .bind(int(now))
            .execute(&mut *conn)
            .await?;
            head.seq = seq;
            Outcome::Event(Event { seq, op: Op::Unrevoke, revocation: r })
        }
        Work::Consume { jti, now_ms, expires_at } => {
            let inserted = sqlx::query(
                "INSERT INTO revokd_refresh_uses(jti, first_used_ms, expires_at) VALUES ($1, $2, $3)
                 ON CONFLICT (jti) DO NOTHING",
            )
            .bind(jti)
            .bind(int(*now_ms))
            .bind(int(*expires_at))
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if inserted == 1 {
                Outcome::Consumption(Consumption::First)
            } else {
                let first: i64 = sqlx::query_scalar("SELECT first_used_ms FROM revokd_refresh_uses WHERE jti = $1")
                    .bind(jti)
                    .fetch_one(&mut *conn)
                    .await?;
                Outcome::Consumption(Consumption::Reused { first_used_ms: uint(first) })
            }
        }
        Work::RaiseMax(secs) => {
            let v: i64 = sqlx::query_scalar(
                "UPDATE revokd_feed_head SET max_lifetime = GREATEST(max_lifetime, $1) WHERE id = 1
                 RETURNING max_lifetime",
            )
            .bind(int(*secs))
            .fetch_one(&mut *conn)
            .await?;
            Outcome::Lifetime(uint(v))
        }
        Work::Secret(name, value) => {
            let key = format!("secret:{name}");
            sqlx::query("INSERT INTO revokd_meta(key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
                .bind(&key)
                .bind(value)
                .execute(&mut *conn)
                .await?;
            let v: Vec<u8> = sqlx::query_scalar("SELECT value FROM revokd_meta WHERE key = $1")
                .bind(&key)
                .fetch_one(&mut *conn)
                .await?;
            Outcome::Secret(v)
        }
        Work::Record(t) => {
            sqlx::query(
                "INSERT INTO revokd_tokens(jti, sub, type, fam, iat, exp) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (jti) DO NOTHING",
            )
            .bind(&t.jti)
            .bind(&t.sub)
            .bind(t.token_type.as_str())
            .bind(&t.fam)
            .bind(int(t.iat))
            .bind(int(t.exp))
            .execute(&mut *conn)
            .await?;
            Outcome::Recorded
        }
        Work::Prune(now) => Outcome::Pruned(prune(conn, *now, head).await?),
    })
}

/// Revokes, or returns the live `jti`/`family` rule already there: one statement.
async fn append_revoke(conn: &mut PgConnection, new: NewRevocation, head: &mut Head, now: u64) -> Result<Event, Fail> {
    let u = uniq(new.kind, new.iss.as_deref(), new.target.as_deref());
    let seq = head.seq + 1;
    let r = new.into_revocation(uuid::Uuid::now_v7().to_string(), seq);
    let existing = sqlx::query(concat!(
        "WITH ex AS (SELECT ",
        rev_cols!(),
        " FROM revokd_revocations r WHERE r.uniq = $11::text),
         ins AS (INSERT INTO revokd_revocations
                   (id, seq, kind, target, iss, before_ms, created_at, expires_at, reason, actor, uniq)
                 SELECT $1::text, $2::bigint, $3::text, $4::text, $5::text, $6::bigint, $7::bigint, $8::bigint,
                        $9::text, $10::text, $11::text
                 WHERE NOT EXISTS (SELECT 1 FROM ex) RETURNING id),
         ev AS (INSERT INTO revokd_events(seq, op, revocation_id, at) SELECT $2::bigint, 'revoke', id, $12::bigint FROM ins)
         SELECT * FROM ex"
    ))
    .bind(&r.id)
    .bind(int(seq))
    .bind(r.kind.as_str())
    .bind(&r.target)
    .bind(&r.iss)
    .bind(r.before_ms.map(int))
    .bind(int(r.created_at))
    .bind(int(r.expires_at))
    .bind(&r.reason)
    .bind(&r.actor)
    .bind(&u)
    .bind(int(now))
    .try_map(|row: PgRow| row_revocation(&row, 0))
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(r) = existing {
        return Ok(Event { seq: r.seq, op: Op::Revoke, revocation: r });
    }
    head.seq = seq;
    Ok(Event { seq, op: Op::Revoke, revocation: r })
}

async fn prune(conn: &mut PgConnection, now: u64, head: &Head) -> Result<Pruned, sqlx::Error> {
    let mut pruned = Pruned::default();
    // Events leave as a prefix, once older than the retention: the first recent one
    // bounds the watermark (a reader further behind reloads the snapshot).
    let first_needed: Option<i64> = sqlx::query_scalar("SELECT MIN(seq) FROM revokd_events WHERE at > $2 - $1")
        .bind(int(FEED_RETENTION_SECS))
        .bind(int(now))
        .fetch_one(&mut *conn)
        .await?;
    let through = match first_needed {
        Some(s) => uint(s).saturating_sub(1),
        None => head.seq,
    };
    let old: i64 =
        sqlx::query_scalar("SELECT watermark FROM revokd_feed_head WHERE id = 1").fetch_one(&mut *conn).await?;
    if through > uint(old) {
        pruned.events = sqlx::query("DELETE FROM revokd_events WHERE seq <= $1")
            .bind(int(through))
            .execute(&mut *conn)
            .await?
            .rows_affected();
        sqlx::query("UPDATE revokd_feed_head SET watermark = $1 WHERE id = 1")
            .bind(int(through))
            .execute(&mut *conn)
            .await?;
    }
    pruned.rules =
        sqlx::query("UPDATE revokd_revocations SET removed = TRUE, uniq = NULL WHERE NOT removed AND expires_at <= $1")
            .bind(int(now))
            .execute(&mut *conn)
            .await?
            .rows_affected();
    sqlx::query(
        "DELETE FROM revokd_revocations r WHERE r.removed AND r.expires_at <= $1
         AND NOT EXISTS (SELECT 1 FROM revokd_events e WHERE e.revocation_id = r.id)",
    )
    .bind(int(now))
    .execute(&mut *conn)
    .await?;
    pruned.tokens = sqlx::query("DELETE FROM revokd_tokens WHERE exp <= $1")
        .bind(int(now.saturating_sub(REGISTRY_RETENTION_SECS)))
        .execute(&mut *conn)
        .await?
        .rows_affected()
        + sqlx::query("DELETE FROM revokd_refresh_uses WHERE expires_at <= $1")
            .bind(int(now))
            .execute(&mut *conn)
            .await?
            .rows_affected();
    Ok(pruned)
}

/// Appends every plain revocation of a batch with one multi-row statement (plus one
/// look-up): revocations whose `jti`/`family` rule may already exist, or that repeat one
/// of the batch, are left to the one-by-one path. Runs only without savepoints: an error
/// sends the whole batch to the savepoint path.
async fn bulk_revoke(
    conn: &mut PgConnection,
    jobs: &[Job],
    results: &mut [Option<StoreResult<Outcome>>],
    head: &mut Head,
    now: u64,
) -> Result<(), sqlx::Error> {
    let candidates: Vec<(usize, &NewRevocation, Option<String>)> = jobs
        .iter()
        .enumerate()
        .filter_map(|(i, j)| match &j.work {
            Work::Append(Change::Revoke(new)) => {
                Some((i, new, uniq(new.kind, new.iss.as_deref(), new.target.as_deref())))
            }
            _ => None,
        })
        .collect();
    if candidates.len() < 2 {
        return Ok(());
    }
    let keys: Vec<&str> = candidates.iter().filter_map(|(_, _, u)| u.as_deref()).collect();
    let existing: std::collections::HashSet<String> = if keys.is_empty() {
        Default::default()
    } else {
        // Not a prepared statement: a generic plan of `= ANY($1)` cannot size the array and
        // scans the whole table (measured: 12-20 ms per batch at 20k rules, 4x slower);
        // planned with the array in hand it is an index lookup per key.
        sqlx::query_scalar("SELECT uniq FROM revokd_revocations WHERE uniq = ANY($1::text[])")
            .persistent(false)
            .bind(&keys)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect()
    };
    let mut seen = std::collections::HashSet::new();
    let mut take = Vec::new();
    for (i, new, u) in candidates {
        if let Some(u) = &u
            && (existing.contains(u) || !seen.insert(u.clone()))
        {
            continue;
        }
        take.push((i, new, u));
    }
    if take.is_empty() {
        return Ok(());
    }
    let mut rules = Vec::with_capacity(take.len());
    let mut uniqs = Vec::with_capacity(take.len());
    let mut seq = head.seq;
    for (i, new, u) in take {
        seq += 1;
        rules.push((i, new.clone().into_revocation(uuid::Uuid::now_v7().to_string(), seq)));
        uniqs.push(u);
    }
    let col = |f: &dyn Fn(&Revocation) -> Option<String>| rules.iter().map(|(_, r)| f(r)).collect::<Vec<_>>();
    let num = |f: &dyn Fn(&Revocation) -> Option<i64>| rules.iter().map(|(_, r)| f(r)).collect::<Vec<_>>();
    let inserted: i64 = sqlx::query_scalar(
        "WITH input AS (
           SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[],
                                $7::bigint[], $8::bigint[], $9::text[], $10::text[], $11::text[])
             AS t(id, seq, kind, target, iss, before_ms, created_at, expires_at, reason, actor, uniq)),
         ins AS (INSERT INTO revokd_revocations
                   (id, seq, kind, target, iss, before_ms, created_at, expires_at, reason, actor, uniq)
                 SELECT * FROM input RETURNING id, seq),
         ev AS (INSERT INTO revokd_events(seq, op, revocation_id, at) SELECT seq, 'revoke', id, $12 FROM ins)
         SELECT count(*) FROM ins",
    )
    .bind(col(&|r| Some(r.id.clone())))
    .bind(num(&|r| Some(int(r.seq))))
    .bind(col(&|r| Some(r.kind.as_str().to_owned())))
    .bind(col(&|r| r.target.clone()))
    .bind(col(&|r| r.iss.clone()))
    .bind(num(&|r| r.before_ms.map(int)))
    .bind(num(&|r| Some(int(r.created_at))))
    .bind(num(&|r| Some(int(r.expires_at))))
    .bind(col(&|r| r.reason.clone()))
    .bind(col(&|r| Some(r.actor.clone())))
    .bind(&uniqs)
    .bind(int(now))
    .fetch_one(&mut *conn)
    .await?;
    if inserted as usize != rules.len() {
        return Err(sqlx::Error::Protocol(format!("batch insert wrote {inserted} of {} revocations", rules.len())));
    }
    head.seq = seq;
    for (i, r) in rules {
        results[i] = Some(Ok(Outcome::Event(Event { seq: r.seq, op: Op::Revoke, revocation: r })));
    }
    Ok(())
}

/// How one attempt at a batch ended.
enum Attempt {
    /// Committed: each job's result, and the new head if events were appended.
    Committed(Vec<StoreResult<Outcome>>, Option<u64>),
    /// A job hit an SQL error without savepoints: rolled back, run again with them.
    JobFailed,
    /// The transaction failed as a whole (begin, lock, commit, connection).
    Failed(sqlx::Error),
}

async fn attempt(pool: &PgPool, jobs: &[Job], savepoints: bool, now: u64) -> Attempt {
    match attempt_inner(pool, jobs, savepoints, now).await {
        Ok(a) => a,
        Err(e) => Attempt::Failed(e),
    }
}

async fn attempt_inner(pool: &PgPool, jobs: &[Job], savepoints: bool, now: u64) -> Result<Attempt, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let mut head = lock_head(&mut tx).await?;
    let mut results: Vec<Option<StoreResult<Outcome>>> = (0..jobs.len()).map(|_| None).collect();
    if !savepoints && let Err(e) = bulk_revoke(&mut tx, jobs, &mut results, &mut head, now).await {
        if is_connection_error(&e) {
            return Err(e);
        }
        tracing::debug!(error = %e, "revokd: a PostgreSQL batch insert failed; running its jobs in savepoints");
        tx.rollback().await?;
        return Ok(Attempt::JobFailed);
    }
    for (job, result) in jobs.iter().zip(results.iter_mut()) {
        if result.is_some() {
            continue;
        }
        if savepoints {
            let before = head.seq;
            let mut sp = (*tx).begin().await?;
            match run_work(&mut sp, &job.work, &mut head, now).await {
                Ok(o) => {
                    sp.commit().await?;
                    *result = Some(Ok(o));
                }
                Err(f) => {
                    sp.rollback().await?;
                    head.seq = before;
                    if let Fail::Sql(e) = &f
                        && is_connection_error(e)
                    {
                        return Err(match f {
                            Fail::Sql(e) => e,
                            Fail::Store(_) => unreachable!(),
                        });
                    }
                    *result = Some(Err(f.into_store()));
                }
            }
        } else {
            match run_work(&mut tx, &job.work, &mut head, now).await {
                Ok(o) => *result = Some(Ok(o)),
                Err(Fail::Store(e)) => *result = Some(Err(e)),
                Err(Fail::Sql(e)) if is_connection_error(&e) => return Err(e),
                Err(Fail::Sql(e)) => {
                    tracing::debug!(error = %e, "revokd: a job of a PostgreSQL batch failed; running it in savepoints");
                    tx.rollback().await?;
                    return Ok(Attempt::JobFailed);
                }
            }
        }
    }
    finish_head(&mut tx, &head).await?;
    tx.commit().await?;
    let results = results.into_iter().map(|r| r.unwrap_or_else(|| Err(unexpected()))).collect();
    Ok(Attempt::Committed(results, (head.seq > head.locked).then_some(head.seq)))
}

async fn run_batch(pool: &PgPool, jobs: Vec<Job>, shared: &Shared) {
    let now = SystemClock.now_secs();
    let mut outcome = attempt(pool, &jobs, false, now).await;
    if matches!(outcome, Attempt::JobFailed) {
        outcome = attempt(pool, &jobs, true, now).await;
    }
    match outcome {
        Attempt::Committed(results, head) => {
            if let Some(seq) = head {
                shared.announced.fetch_max(seq, Ordering::SeqCst);
                shared.wake.notify_waiters();
            }
            for (job, r) in jobs.into_iter().zip(results) {
                let _ = job.reply.send(r);
            }
        }
        Attempt::Failed(e) => {
            let msg = e.to_string();
            tracing::warn!(error = %msg, jobs = jobs.len(), "revokd: a PostgreSQL write batch failed");
            let kind = sql_err(e);
            for job in jobs {
                let err = match &kind {
                    StoreError::Timeout => StoreError::Timeout,
                    StoreError::Connection(s) => StoreError::Connection(s.clone()),
                    StoreError::Conflict(s) => StoreError::Conflict(s.clone()),
                    _ => StoreError::Backend(format!("write transaction failed: {msg}")),
                };
                let _ = job.reply.send(Err(err));
            }
        }
        Attempt::JobFailed => {
            for job in jobs {
                let _ = job.reply.send(Err(StoreError::Backend("write transaction failed".into())));
            }
        }
    }
}

async fn write_loop(pool: PgPool, mut rx: mpsc::UnboundedReceiver<Job>, shared: Arc<Shared>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        run_batch(&pool, std::mem::take(&mut batch), &shared).await;
    }
}

/// The push channel's state, shared by the store, its writer and its listener task.
#[derive(Default)]
struct Shared {
    connected: AtomicBool,
    reconnects: AtomicU64,
    announced: AtomicU64,
    wake: Notify,
}

async fn head_seq(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let seq: i64 = sqlx::query_scalar("SELECT seq FROM revokd_feed_head WHERE id = 1").fetch_one(pool).await?;
    Ok(uint(seq))
}

/// A LISTEN connection of its own (a pool of one, outside the store's pool).
async fn listen(opts: &PgConnectOptions) -> Result<PgListener, sqlx::Error> {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .max_lifetime(None)
        .idle_timeout(None)
        .connect_with(opts.clone())
        .await?;
    let mut l = PgListener::connect_with(&pool).await?;
    // A loss ends this listener; the loop below makes a new one (and counts it).
    l.eager_reconnect(false);
    l.listen(CHANNEL).await?;
    Ok(l)
}

async fn listen_loop(
    mut listener: PgListener,
    opts: PgConnectOptions,
    pool: PgPool,
    shared: Arc<Shared>,
    passwords: Vec<String>,
) {
    let mut backoff = BACKOFF_MIN;
    loop {
        loop {
            match listener.try_recv().await {
                Ok(Some(n)) => {
                    if let Ok(seq) = n.payload().parse::<u64>() {
                        shared.announced.fetch_max(seq, Ordering::SeqCst);
                    }
                    shared.wake.notify_waiters();
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(error = %scrub(e.to_string(), &passwords), "revokd: the PostgreSQL LISTEN connection failed");
                    break;
                }
            }
        }
        drop(listener);
        shared.connected.store(false, Ordering::SeqCst);
        shared.wake.notify_waiters();
        tracing::warn!("revokd: the PostgreSQL LISTEN connection was lost; reconnecting");
        listener = loop {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(BACKOFF_MAX);
            match listen(&opts).await {
                Ok(l) => break l,
                Err(e) => tracing::warn!(
                    error = %scrub(e.to_string(), &passwords),
                    retry_in_ms = backoff.as_millis() as u64,
                    "revokd: cannot re-establish the PostgreSQL LISTEN connection"
                ),
            }
        };
        backoff = BACKOFF_MIN;
        // Notifications sent while it was away are lost: catch up from the head, and
        // wake every waiter so followers read the feed.
        if let Ok(seq) = head_seq(&pool).await {
            shared.announced.fetch_max(seq, Ordering::SeqCst);
        }
        shared.connected.store(true, Ordering::SeqCst);
        shared.reconnects.fetch_add(1, Ordering::SeqCst);
        shared.wake.notify_waiters();
        tracing::info!("revokd: the PostgreSQL LISTEN connection is back");
    }
}

async fn migrate(conn: &mut PgConnection) -> Result<(), StoreError> {
    let mut tx = conn.begin().await.map_err(sql_err)?;
    // Per database: two instances starting together take turns.
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(MIGRATION_LOCK).execute(&mut *tx).await.map_err(sql_err)?;
    sqlx::raw_sql("CREATE TABLE IF NOT EXISTS revokd_schema_version (version INT NOT NULL)")
        .execute(&mut *tx)
        .await
        .map_err(sql_err)?;
    let version: Option<i32> = sqlx::query_scalar("SELECT MAX(version) FROM revokd_schema_version")
        .fetch_one(&mut *tx)
        .await
        .map_err(sql_err)?;
    let version = version.unwrap_or(0).max(0) as usize;
    if version > MIGRATIONS.len() {
        return Err(StoreError::Corrupt(format!(
            "database schema version {version} is newer than this revokd understands ({})",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        sqlx::raw_sql(*sql).execute(&mut *tx).await.map_err(sql_err)?;
        sqlx::query("INSERT INTO revokd_schema_version(version) VALUES ($1)")
            .bind((i + 1) as i32)
            .execute(&mut *tx)
            .await
            .map_err(sql_err)?;
    }
    tx.commit().await.map_err(sql_err)
}

/// A revokd store in a PostgreSQL database (feature `postgres`), shared by any number
/// of revokd processes, with LISTEN/NOTIFY push and group commit.
///
/// **Sequence numbers in commit order.** A `SEQUENCE` hands out numbers when asked, not
/// when the asker commits: writer A takes 7, writer B takes 8 and commits first, and a
/// reader sees 8 without 7 (and, following from 8, never sees 7). So there is none.
/// Instead one counter row, `revokd_feed_head`, holds the newest sequence number, and
/// every write transaction locks it first (`SELECT … FOR UPDATE`) and keeps the lock to
/// `COMMIT`. Writers of every process serialize on that row, each numbers its events
/// from the head it locked, and a transaction can only lock the row once the previous
/// holder committed: numbers become visible strictly in order, and a reader can never
/// see N+1 without N. The lock also makes every write see everything committed before it
/// (READ COMMITTED, a fresh snapshot per statement after the lock), so the one-live-rule
/// rule of `jti` and `family` needs no retry loop.
///
/// **Group commit.** Writes go through one writer task per store. It takes every job
/// waiting (up to 1024), runs them in one transaction, announces the new head with one
/// `pg_notify('revokd_feed', '<seq>')` (delivered at commit), commits, and only then
/// answers every job. A job that fails rolls back only itself: the batch first runs
/// without savepoints (one round trip per revocation); if a job hits an SQL error the
/// transaction is rolled back, nothing having been acknowledged, and the batch runs
/// again with each job in its own savepoint. If anything up to and including `COMMIT`
/// fails, every job of the batch gets the error: nothing is acknowledged that was not
/// committed. The pool replaces lost connections, so the next batch starts afresh.
///
/// **Nothing waits forever.** Every pooled connection runs with `lock_timeout` 5 s,
/// `statement_timeout` 60 s and `idle_in_transaction_session_timeout` 60 s (set at
/// connect; a lock or statement timeout is [`StoreError::Timeout`]), so a writer of
/// another process that holds the feed head and hangs fails this store's writes within
/// seconds instead of blocking them; and a write waits at most 30 s for the writer
/// task's answer ([`StoreError::Timeout`]; the job may still commit afterwards: stored
/// but not acknowledged is possible, acknowledged but not stored is not).
///
/// **Push.** A background task holds a LISTEN connection on `revokd_feed`, raises the
/// announced sequence number on each notification and wakes
/// [`wait_for_change`](Store::wait_for_change). When the connection is lost it
/// reconnects with backoff (100 ms doubling to 5 s) and, as notifications sent in
/// between are lost, wakes every waiter so followers read the feed.
///
/// Tables are prefixed `revokd_`; the schema is versioned (`revokd_schema_version`) and
/// migrated under an advisory lock, so instances starting together do not race.
pub struct PostgresStore {
    /// The URL without its password, for logs.
    url: String,
    pool: PgPool,
    jobs: mpsc::UnboundedSender<Job>,
    shared: Arc<Shared>,
    /// Reconnects already reported by [`Store::wait_for_change`].
    seen_reconnects: AtomicU64,
    listener: tokio::task::AbortHandle,
    /// [`WRITE_TIMEOUT`] (shorter in tests).
    write_timeout: Duration,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").field("url", &self.url).finish()
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        // The writer stops when its channel closes; the listener is stopped here.
        self.listener.abort();
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/db`,
    /// with libpq-style query parameters such as `sslmode`), creates or migrates its
    /// tables, and starts the writer and LISTEN tasks (so it must be called inside a
    /// Tokio runtime). Errors never contain the URL's password.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let passwords = passwords_of(url);
        let shown = redact_url(url);
        let fail = |e: StoreError| match e {
            StoreError::Connection(m) => {
                StoreError::Connection(scrub(format!("cannot connect to PostgreSQL at {shown}: {m}"), &passwords))
            }
            StoreError::Backend(m) => StoreError::Backend(scrub(m, &passwords)),
            other => other,
        };
        let opts: PgConnectOptions = url
            .parse::<PgConnectOptions>()
            .map_err(|e| StoreError::Connection(format!("invalid PostgreSQL URL {shown}: {e}")))
            .map_err(&fail)?
            .application_name("revokd");
        // One plain connection first: a refused connection fails here at once with its
        // cause (the pool would retry it until its acquire timeout); it migrates.
        let mut first = tokio::time::timeout(ACQUIRE_TIMEOUT, PgConnection::connect_with(&opts))
            .await
            .map_err(|_| StoreError::Timeout)?
            .map_err(|e| fail(sql_err(e)))?;
        migrate(&mut first).await.map_err(&fail)?;
        let _ = first.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(opts.clone().options(SESSION_TIMEOUTS))
            .await
            .map_err(|e| fail(sql_err(e)))?;
        let shared = Arc::new(Shared::default());
        let listener = listen(&opts).await.map_err(|e| fail(sql_err(e)))?;
        // After LISTEN: whatever is announced from now on is not missed.
        shared.announced.store(head_seq(&pool).await.map_err(|e| fail(sql_err(e)))?, Ordering::SeqCst);
        shared.connected.store(true, Ordering::SeqCst);
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(write_loop(pool.clone(), rx, Arc::clone(&shared)));
        let listener =
            tokio::spawn(listen_loop(listener, opts, pool.clone(), Arc::clone(&shared), passwords)).abort_handle();
        Ok(PostgresStore {
            url: shown,
            pool,
            jobs: tx,
            shared,
            seen_reconnects: AtomicU64::new(0),
            listener,
            write_timeout: WRITE_TIMEOUT,
        })
    }

    /// Hands `work` to the writer task and waits for its answer, at most
    /// [`WRITE_TIMEOUT`]: past it the caller gets [`StoreError::Timeout`] rather than
    /// waiting on a writer stuck behind a lock or a server that stopped answering.
    ///
    /// The job is not withdrawn: it may still commit after the timeout. A write stored but
    /// not acknowledged is allowed (as when a connection drops after `COMMIT`; a retry
    /// finds the `jti` / `family` rule already there); the reverse, an acknowledged write
    /// that was not committed, never happens.
    async fn write(&self, work: Work) -> StoreResult<Outcome> {
        let (reply, rx) = oneshot::channel();
        self.jobs.send(Job { work, reply }).map_err(|_| writer_gone())?;
        match tokio::time::timeout(self.write_timeout, rx).await {
            Ok(answer) => answer.map_err(|_| writer_gone())?,
            Err(_) => Err(StoreError::Timeout),
        }
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn append(&self, change: Change) -> StoreResult<Event> {
        match self.write(Work::Append(change)).await? {
            Outcome::Event(e) => Ok(e),
            _ => Err(unexpected()),
        }
    }

    async fn events_after(&self, since: u64, limit: usize) -> StoreResult<Vec<Event>> {
        // One statement, one snapshot: the watermark and the events agree.
        let rows = sqlx::query(concat!(
            "SELECT h.watermark, e.seq, e.op, ",
            rev_cols!(),
            " FROM revokd_feed_head h
             LEFT JOIN LATERAL (SELECT seq, op, revocation_id FROM revokd_events
                                WHERE seq > $1 ORDER BY seq LIMIT $2) e ON TRUE
             LEFT JOIN revokd_revocations r ON r.id = e.revocation_id
             WHERE h.id = 1 ORDER BY e.seq"
        ))
        .bind(int(since))
        .bind(int(limit as u64))
        .fetch_all(&self.pool)
        .await
        .map_err(sql_err)?;
        let mut events = Vec::with_capacity(rows.len());
        for row in rows {
            let watermark: i64 = row.try_get(0).map_err(sql_err)?;
            if since < uint(watermark) {
                return Err(StoreError::FeedGone { since, oldest: uint(watermark) });
            }
            let Some(seq) = row.try_get::<Option<i64>, _>(1).map_err(sql_err)? else { continue };
            if row.try_get::<Option<String>, _>(3).map_err(sql_err)?.is_none() {
                return Err(StoreError::Corrupt(format!("event {seq} names a revocation that is not stored")));
            }
            let op: String = row.try_get(2).map_err(sql_err)?;
            events.push(Event {
                seq: uint(seq),
                op: if op == "unrevoke" { Op::Unrevoke } else { Op::Revoke },
                revocation: row_revocation(&row, 3).map_err(sql_err)?,
            });
        }
        Ok(events)
    }

    async fn last_seq(&self) -> StoreResult<u64> {
        head_seq(&self.pool).await.map_err(sql_err)
    }

    async fn snapshot(&self) -> StoreResult<Snapshot> {
        let mut tx = self.pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await.map_err(sql_err)?;
        let seq: i64 = sqlx::query_scalar("SELECT seq FROM revokd_feed_head WHERE id = 1")
            .fetch_one(&mut *tx)
            .await
            .map_err(sql_err)?;
        let rules = sqlx::query(concat!(
            "SELECT ",
            rev_cols!(),
            " FROM revokd_revocations r WHERE NOT r.removed ORDER BY r.seq"
        ))
        .try_map(|row: PgRow| row_revocation(&row, 0))
        .fetch_all(&mut *tx)
        .await
        .map_err(sql_err)?;
        tx.commit().await.map_err(sql_err)?;
        Ok(Snapshot { seq: uint(seq), rules })
    }

    async fn revocation(&self, id: &str) -> StoreResult<Option<Revocation>> {
        let mut conn = self.pool.acquire().await.map_err(sql_err)?;
        Ok(revocation_by_id(&mut conn, id).await.map_err(sql_err)?.map(|(r, _)| r))
    }

    async fn prune(&self, now_secs: u64) -> StoreResult<Pruned> {
        match self.write(Work::Prune(now_secs)).await? {
            Outcome::Pruned(p) => Ok(p),
            _ => Err(unexpected()),
        }
    }

    async fn consume_refresh(&self, jti: &str, now_ms: u64, expires_at: u64) -> StoreResult<Consumption> {
        match self.write(Work::Consume { jti: jti.to_owned(), now_ms, expires_at }).await? {
            Outcome::Consumption(c) => Ok(c),
            _ => Err(unexpected()),
        }
    }

    async fn raise_max_lifetime(&self, secs: u64) -> StoreResult<u64> {
        match self.write(Work::RaiseMax(secs)).await? {
            Outcome::Lifetime(v) => Ok(v),
            _ => Err(unexpected()),
        }
    }

    async fn max_lifetime(&self) -> StoreResult<u64> {
        let v: i64 = sqlx::query_scalar("SELECT max_lifetime FROM revokd_feed_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(sql_err)?;
        Ok(uint(v))
    }

    async fn secret_or_insert(&self, name: &str, value: Vec<u8>) -> StoreResult<Vec<u8>> {
        match self.write(Work::Secret(name.to_owned(), value)).await? {
            Outcome::Secret(v) => Ok(v),
            _ => Err(unexpected()),
        }
    }

    async fn record_token(&self, token: IssuedToken) -> StoreResult<()> {
        match self.write(Work::Record(token)).await? {
            Outcome::Recorded => Ok(()),
            _ => Err(unexpected()),
        }
    }

    async fn tokens(&self, sub: Option<&str>, cursor: Option<&str>, limit: usize) -> StoreResult<Page<IssuedToken>> {
        let lim = int(limit as u64).saturating_add(1);
        let cursor = cursor.unwrap_or("");
        let items = match sub {
            Some(s) => {
                sqlx::query(
                    "SELECT jti, sub, type, fam, iat, exp FROM revokd_tokens WHERE sub = $1 AND jti > $2
                 ORDER BY jti LIMIT $3",
                )
                .bind(s)
                .bind(cursor)
                .bind(lim)
                .try_map(|row: PgRow| row_token(&row))
                .fetch_all(&self.pool)
                .await
            }
            None => {
                sqlx::query(
                    "SELECT jti, sub, type, fam, iat, exp FROM revokd_tokens WHERE jti > $1 ORDER BY jti LIMIT $2",
                )
                .bind(cursor)
                .bind(lim)
                .try_map(|row: PgRow| row_token(&row))
                .fetch_all(&self.pool)
                .await
            }
        }
        .map_err(sql_err)?;
        Ok(Page::from_one_extra(items, limit))
    }

    async fn token(&self, jti: &str) -> StoreResult<Option<IssuedToken>> {
        sqlx::query("SELECT jti, sub, type, fam, iat, exp FROM revokd_tokens WHERE jti = $1")
            .bind(jti)
            .try_map(|row: PgRow| row_token(&row))
            .fetch_optional(&self.pool)
            .await
            .map_err(sql_err)
    }

    async fn family_latest_exp(&self, fam: &str) -> StoreResult<Option<u64>> {
        let v: Option<i64> = sqlx::query_scalar("SELECT MAX(exp) FROM revokd_tokens WHERE fam = $1")
            .bind(fam)
            .fetch_one(&self.pool)
            .await
            .map_err(sql_err)?;
        Ok(v.map(uint))
    }

    async fn live_rule(&self, kind: RuleKind, iss: Option<&str>, target: &str) -> StoreResult<Option<Revocation>> {
        sqlx::query(concat!(
            "SELECT ",
            rev_cols!(),
            " FROM revokd_revocations r WHERE NOT r.removed AND r.kind = $1 AND r.iss IS NOT DISTINCT FROM $2
             AND r.target = $3 ORDER BY r.seq DESC LIMIT 1"
        ))
        .bind(kind.as_str())
        .bind(iss)
        .bind(target)
        .try_map(|row: PgRow| row_revocation(&row, 0))
        .fetch_optional(&self.pool)
        .await
        .map_err(sql_err)
    }

    async fn wait_for_change(&self, after: u64, timeout: Duration) -> StoreResult<()> {
        // Registered before the checks: a wake between them is not missed.
        let notified = self.shared.wake.notified();
        if self.shared.announced.load(Ordering::SeqCst) > after {
            return Ok(());
        }
        let reconnects = self.shared.reconnects.load(Ordering::SeqCst);
        if self.seen_reconnects.swap(reconnects, Ordering::SeqCst) != reconnects {
            // Notifications were lost while the channel was down: read the feed.
            return Ok(());
        }
        let _ = tokio::time::timeout(timeout, notified).await;
        Ok(())
    }

    fn push_status(&self) -> Option<PushStatus> {
        Some(PushStatus {
            connected: self.shared.connected.load(Ordering::SeqCst),
            reconnects: self.shared.reconnects.load(Ordering::SeqCst),
            announced_seq: self.shared.announced.load(Ordering::SeqCst),
        })
    }
}

#[cfg(test)]
#[path = "../../../tests/common/backends.rs"]
mod test_backends;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

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

    /// A writer that took the head and has not committed holds every other writer back,
    /// and readers see neither: sequence numbers become visible in commit order.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sequence_numbers_become_visible_in_commit_order() {
        let db = test_backends::PgDatabase::create("order");
        let store = Arc::new(PostgresStore::connect(&db.url).await.unwrap());
        let mut manual = PgConnection::connect(&db.url).await.unwrap();
        let mut tx = manual.begin().await.unwrap();
        let mut head = lock_head(&mut tx).await.unwrap();
        assert_eq!(head.locked, 0);
        let work = Work::Append(Change::Revoke(rule("first")));
        let Ok(Outcome::Event(first)) = run_work(&mut tx, &work, &mut head, 1).await else { panic!("append failed") };
        assert_eq!(first.seq, 1);
        finish_head(&mut tx, &head).await.unwrap();

        let s = Arc::clone(&store);
        let second = tokio::spawn(async move { s.append(Change::Revoke(rule("second"))).await.unwrap() });
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(!second.is_finished(), "the store's append must wait for the head row");
        assert!(store.events_after(0, 10).await.unwrap().is_empty(), "nothing is committed yet");
        assert_eq!(store.last_seq().await.unwrap(), 0);

        tx.commit().await.unwrap();
        let second = tokio::time::timeout(Duration::from_secs(10), second).await.unwrap().unwrap();
        assert_eq!(second.seq, 2);
        let seen = store.events_after(0, 10).await.unwrap();
        assert_eq!(seen.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(seen[0].revocation.target.as_deref(), Some("first"));
        assert_eq!(seen[1], second);
        drop(store);
    }

    /// A transaction of another process that holds the feed head and hangs: this store's
    /// writes fail with a timeout within seconds (lock_timeout) instead of blocking.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_feed_head_held_elsewhere_times_out_instead_of_blocking() {
        let db = test_backends::PgDatabase::create("locktimeout");
        let store = PostgresStore::connect(&db.url).await.unwrap();
        let mut manual = PgConnection::connect(&db.url).await.unwrap();
        let mut tx = manual.begin().await.unwrap();
        lock_head(&mut tx).await.unwrap();

        let started = std::time::Instant::now();
        let held = tokio::time::timeout(Duration::from_secs(20), store.append(Change::Revoke(rule("blocked"))))
            .await
            .expect("an append behind a held feed head must not block");
        assert!(matches!(held, Err(StoreError::Timeout)), "{held:?}");
        assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
        // the pooled connections carry the timeouts
        let shown: String = sqlx::query_scalar("SHOW lock_timeout").fetch_one(&store.pool).await.unwrap();
        assert_eq!(shown, "5s");

        tx.rollback().await.unwrap();
        let e = store.append(Change::Revoke(rule("after"))).await.unwrap();
        assert_eq!(e.seq, 1, "the timed-out append wrote nothing");
        assert_eq!(store.events_after(0, 10).await.unwrap(), vec![e]);
    }

    /// A writer task that never answers: the caller gets a timeout, not a hang.
    #[tokio::test]
    async fn a_write_waits_for_the_writer_a_bounded_time() {
        let (jobs, _never_answered) = mpsc::unbounded_channel();
        let opts: PgConnectOptions = "postgres://u@127.0.0.1:1/x".parse().unwrap();
        let store = PostgresStore {
            url: "postgres://u@127.0.0.1:1/x".into(),
            pool: PgPoolOptions::new().connect_lazy_with(opts),
            jobs,
            shared: Arc::default(),
            seen_reconnects: AtomicU64::new(0),
            listener: tokio::spawn(async {}).abort_handle(),
            write_timeout: Duration::from_millis(200),
        };
        let r = tokio::time::timeout(Duration::from_secs(5), store.append(Change::Revoke(rule("x"))))
            .await
            .expect("the wait for the writer is bounded");
        assert!(matches!(r, Err(StoreError::Timeout)), "{r:?}");
    }

    #[test]
    fn passwords_are_found_and_scrubbed() {
        assert_eq!(passwords_of("postgres://u:p%40ss@h/db"), ["p%40ss", "p@ss"]);
        assert!(passwords_of("postgres://u@h/db").is_empty());
        assert_eq!(passwords_of("postgres://u@h/db?password=s3cret"), ["s3cret"]);
        assert_eq!(passwords_of("postgres://u@h/db?sslmode=disable&PASSWORD=s%33cret"), ["s%33cret", "s3cret"]);
        assert_eq!(passwords_of("postgres://u:a/b@h/db?application_name=x@y"), ["a/b"]);
        assert_eq!(passwords_of("postgres://u:p@h:5432/db?application_name=x@y"), ["p"]);
        assert_eq!(
            scrub("at postgres://u@h/db?password=s3cret".into(), &passwords_of("postgres://u@h/db?password=s3cret")),
            "at postgres://u@h/db?password=***"
        );
        assert_eq!(scrub("x p@ss y".into(), &passwords_of("postgres://u:p%40ss@h/db")), "x *** y");
        assert_eq!(redact_url("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
    }

    #[test]
    fn large_integers_are_clamped_not_wrapped() {
        assert_eq!(int(u64::MAX), i64::MAX);
        assert_eq!(uint(-1), 0);
    }
}
