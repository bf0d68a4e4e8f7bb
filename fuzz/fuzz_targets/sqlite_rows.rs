//! The SQLite store's decoding of its own rows. A template database (every kind of
//! rule, an unrevoke, a reassigned rule, tokens, a consumed refresh token, the lifetime
//! and a secret) is written once through the store; each input edits a copy of it
//! (a value of any SQLite type in any column of any row, deleted rows, a schema
//! version) and then opens the copy with `SqliteStore` and runs every read and write
//! of the `Store` trait on it, putting whatever rules come back through an index.
//! Never a panic, never a hang: damaged rows are errors.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use revokd::rules::NewRevocation;
use revokd::store::{Change, Durability, IssuedToken, SqliteStore, Store};
use revokd::{RuleKind, TokenType};
use revokd_fuzz::{NOW, exercise_index};
use rusqlite::types::Value as Sql;

/// Every table and column of the schema (migrations 0001 and 0002).
const TABLES: &[(&str, &[&str])] = &[
    (
        "revocations",
        &[
            "id",
            "seq",
            "kind",
            "target",
            "iss",
            "before_ms",
            "created_at",
            "expires_at",
            "reason",
            "actor",
            "removed",
            "uniq",
        ],
    ),
    ("events", &["seq", "op", "revocation_id", "at"]),
    ("meta", &["key", "value"]),
    ("refresh_uses", &["jti", "first_used_ms", "expires_at"]),
    ("tokens", &["jti", "sub", "type", "fam", "iat", "exp"]),
];

#[derive(Debug, Arbitrary)]
enum Value {
    Null,
    Int(i64),
    Small(i8),
    Real(f64),
    Text(String),
    /// One of the words the store writes (kinds, ops, token types, meta keys).
    Word(u8),
    Blob(Vec<u8>),
}

const WORDS: &[&str] =
    &["jti", "subject", "family", "all", "revoke", "unrevoke", "access", "refresh", "watermark", "max_lifetime", ""];

impl Value {
    fn sql(&self) -> Sql {
        match self {
            Value::Null => Sql::Null,
            Value::Int(i) => Sql::Integer(*i),
            Value::Small(i) => Sql::Integer(i64::from(*i)),
            Value::Real(f) => Sql::Real(*f),
            Value::Text(s) => Sql::Text(s.clone()),
            Value::Word(w) => Sql::Text(WORDS[*w as usize % WORDS.len()].to_owned()),
            Value::Blob(b) => Sql::Blob(b.clone()),
        }
    }
}

#[derive(Debug, Arbitrary)]
enum Edit {
    /// Sets one column of the `row`-th row (by rowid) of a table.
    Set { table: u8, column: u8, row: u8, value: Value },
    /// Deletes the `row`-th row of a table.
    Delete { table: u8, row: u8 },
    /// Sets the schema version.
    Version(i16),
}

#[derive(Debug, Arbitrary)]
struct Input {
    edits: Vec<Edit>,
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime"))
}

fn dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // tmpfs when there is one: every input writes a database.
        let base = if Path::new("/dev/shm").is_dir() { PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
        let d = base.join(format!("revokd-fuzz-sqlite-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("mkdir");
        d
    })
}

fn rule(kind: RuleKind, target: Option<&str>, iss: Option<&str>, before_ms: Option<u64>) -> Change {
    Change::Revoke(NewRevocation {
        kind,
        target: target.map(str::to_owned),
        iss: iss.map(str::to_owned),
        before_ms,
        created_at: NOW,
        expires_at: NOW + 3600,
        reason: Some("fuzz".into()),
        actor: "admin".into(),
    })
}

/// The template database, written once through the store, as one self-contained file.
fn template() -> &'static Path {
    static T: OnceLock<PathBuf> = OnceLock::new();
    T.get_or_init(|| {
        let live = dir().join("template-live.db");
        let store = SqliteStore::open(&live, Durability::Process).expect("open the template");
        runtime().block_on(async {
            let before = Some(NOW * 1000);
            let a = store.append(rule(RuleKind::Jti, Some("jti-a"), None, None)).await.expect("jti");
            store.append(rule(RuleKind::Jti, Some("jti-b"), Some("https://other"), None)).await.expect("jti");
            store.append(rule(RuleKind::Subject, Some("alice"), None, before)).await.expect("subject");
            store.append(rule(RuleKind::Family, Some("fam-1"), None, None)).await.expect("family");
            store.append(rule(RuleKind::All, None, None, before)).await.expect("all");
            let gone = store.append(rule(RuleKind::Jti, Some("jti-c"), None, None)).await.expect("jti");
            store.append(Change::Unrevoke { id: gone.revocation.id }).await.expect("unrevoke");
            let id = a.revocation.id;
            store.append(Change::Reassign { id, actor: "bob".into(), reason: None }).await.expect("reassign");
            for (jti, t, fam) in [("t-1", TokenType::Access, None), ("t-2", TokenType::Refresh, Some("fam-1"))] {
                let token = IssuedToken {
                    jti: jti.into(),
                    sub: "alice".into(),
                    token_type: t,
                    fam: fam.map(str::to_owned),
                    iat: NOW,
                    exp: NOW + 600,
                };
                store.record_token(token).await.expect("token");
            }
            store.consume_refresh("t-2", NOW * 1000, NOW + 600).await.expect("consume");
            store.raise_max_lifetime(3600).await.expect("lifetime");
            store.secret_or_insert("hmac", vec![7; 32]).await.expect("secret");
        });
        drop(store);
        let path = dir().join("template.db");
        let _ = std::fs::remove_file(&path);
        let conn = rusqlite::Connection::open(&live).expect("reopen the template");
        conn.execute("VACUUM INTO ?1", [path.to_str().expect("utf-8 path")]).expect("vacuum into");
        path
    })
}

fn nth_rowid(conn: &rusqlite::Connection, table: &str, row: u8) -> Option<i64> {
    conn.query_row(&format!("SELECT rowid FROM {table} ORDER BY rowid LIMIT 1 OFFSET ?1"), [i64::from(row)], |r| {
        r.get(0)
    })
    .ok()
}

/// Applies the edits; one the schema refuses (NOT NULL, UNIQUE, …) is skipped.
fn tamper(path: &Path, edits: &[Edit]) {
    let conn = rusqlite::Connection::open(path).expect("open the copy");
    for e in edits {
        match e {
            Edit::Set { table, column, row, value } => {
                let (t, cols) = TABLES[*table as usize % TABLES.len()];
                let c = cols[*column as usize % cols.len()];
                if let Some(rowid) = nth_rowid(&conn, t, *row) {
                    let _ = conn.execute(&format!("UPDATE {t} SET {c} = ?1 WHERE rowid = ?2"), (value.sql(), rowid));
                }
            }
            Edit::Delete { table, row } => {
                let (t, _) = TABLES[*table as usize % TABLES.len()];
                if let Some(rowid) = nth_rowid(&conn, t, *row) {
                    let _ = conn.execute(&format!("DELETE FROM {t} WHERE rowid = ?1"), [rowid]);
                }
            }
            Edit::Version(v) => {
                let _ = conn.pragma_update(None, "user_version", i64::from(*v));
            }
        }
    }
}

/// Every call of the `Store` trait; results may be errors, never a panic.
async fn exercise(store: &SqliteStore) {
    let mut rules = Vec::new();
    let _ = store.last_seq().await;
    if let Ok(snapshot) = store.snapshot().await {
        rules.extend(snapshot.rules);
    }
    if let Ok(events) = store.events_after(0, 100).await {
        rules.extend(events.into_iter().map(|e| e.revocation));
    }
    for r in rules.clone() {
        if let Ok(Some(again)) = store.revocation(&r.id).await {
            rules.push(again);
        }
    }
    for kind in [RuleKind::Jti, RuleKind::Subject, RuleKind::Family, RuleKind::All] {
        for target in ["jti-a", "alice", "fam-1", ""] {
            if let Ok(Some(r)) = store.live_rule(kind, None, target).await {
                rules.push(r);
            }
        }
    }
    exercise_index(&rules);
    let _ = store.tokens(None, None, 10).await;
    let _ = store.tokens(Some("alice"), Some("t-1"), 10).await;
    let _ = store.token("t-2").await;
    let _ = store.family_latest_exp("fam-1").await;
    let _ = store.max_lifetime().await;
    let _ = store.raise_max_lifetime(7200).await;
    let _ = store.secret_or_insert("hmac", vec![1; 32]).await;
    let _ = store.consume_refresh("t-2", NOW * 1000 + 1, NOW + 600).await;
    let _ = store.consume_refresh("t-9", NOW * 1000 + 1, NOW + 600).await;
    if let Some(r) = rules.first() {
        let _ = store.append(Change::Reassign { id: r.id.clone(), actor: "eve".into(), reason: None }).await;
        let _ = store.append(Change::Unrevoke { id: r.id.clone() }).await;
    }
    let _ = store.append(rule(RuleKind::Jti, Some("jti-a"), None, None)).await;
    let _ = store.append(rule(RuleKind::Subject, Some("alice"), None, Some(NOW * 1000 + 5))).await;
    let _ = store.events_after(0, 100).await;
    let _ = store.prune(NOW + 7200).await;
    let _ = store.last_seq().await;
}

fuzz_target!(|input: Input| {
    static N: AtomicU64 = AtomicU64::new(0);
    let template = template();
    let n = N.fetch_add(1, Ordering::Relaxed);
    let path = dir().join(format!("case-{n}.db"));
    std::fs::copy(template, &path).expect("copy the template");
    tamper(&path, &input.edits);
    if let Ok(store) = SqliteStore::open(&path, Durability::Process) {
        runtime().block_on(exercise(&store));
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
});
