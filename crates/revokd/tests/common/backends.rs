//! Real store servers for tests: a database of its own per test on PostgreSQL, a key
//! prefix of its own per test on Redis. URLs come from `REVOKD_TEST_POSTGRES_URL` and
//! `REVOKD_TEST_REDIS_URL` (defaults: the machine's shared servers). A server that cannot
//! be reached fails the test with a message saying how to start it.
//!
//! This file is shared by the test crates of the workspace (`#[path]`): it uses only
//! the standard library and the `psql` / `redis-cli` clients.
#![allow(dead_code, unreachable_pub)]

use std::process::Command;

/// The PostgreSQL server tests use.
pub fn postgres_url() -> String {
    std::env::var("REVOKD_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// The Redis server tests use.
pub fn redis_url() -> String {
    std::env::var("REVOKD_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

const PG_HOWTO: &str = "start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, \
     or point REVOKD_TEST_POSTGRES_URL at a server (trust auth, a database `test`)";
const REDIS_HOWTO: &str = "start it with `redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save \"\" \
     --appendonly no`, or point REVOKD_TEST_REDIS_URL at a server";

/// A unique, lower-case name for this test's resources.
pub fn unique(tag: &str) -> String {
    format!("revokd_t_{tag}_{}", uuid::Uuid::new_v4().simple()).to_lowercase()
}

fn run(cmd: &mut Command, what: &str, howto: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}): {}\n{howto}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Replaces the database name (the path) of a PostgreSQL URL.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = base[after_scheme..].find('/').map(|i| i + after_scheme).unwrap_or(base.len());
    let mut out = format!("{}/{db}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// A PostgreSQL database of this test's own, dropped (with its connections) when this
/// value is dropped.
pub struct PgDatabase {
    /// The URL of the new database.
    pub url: String,
    admin: String,
    name: String,
}

impl PgDatabase {
    /// Creates a fresh database on the test server.
    pub fn create(tag: &str) -> PgDatabase {
        Self::create_on(&postgres_url(), tag)
    }

    /// Creates a fresh database on the server of `admin_url`.
    pub fn create_on(admin_url: &str, tag: &str) -> PgDatabase {
        let name = unique(tag);
        run(
            Command::new("psql")
                .args([admin_url, "-qAt", "-v", "ON_ERROR_STOP=1", "-c"])
                .arg(format!("CREATE DATABASE {name}")),
            &format!("PostgreSQL at {admin_url} is not reachable or refused CREATE DATABASE"),
            PG_HOWTO,
        );
        PgDatabase { url: with_database(admin_url, &name), admin: admin_url.to_owned(), name }
    }

    /// Runs SQL on this database and returns what `psql -At` printed.
    pub fn sql(&self, sql: &str) -> String {
        run(Command::new("psql").args([&self.url, "-qAt", "-v", "ON_ERROR_STOP=1", "-c", sql]), "psql", PG_HOWTO)
    }

    /// Terminates every other connection to this database (`pg_terminate_backend`).
    pub fn terminate_connections(&self) -> usize {
        let out = self.sql(&format!(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{}' AND pid <> pg_backend_pid()",
            self.name
        ));
        out.trim().parse().unwrap_or(0)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([&self.admin, "-qAt", "-c"])
            .arg(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
            .output();
    }
}

/// A Redis key prefix of this test's own; its keys are deleted when this value is
/// dropped.
pub struct RedisPrefix {
    /// The server URL with `?prefix=…` appended: what revokd is given.
    pub url: String,
    /// The server URL alone.
    pub server: String,
    /// The prefix.
    pub prefix: String,
}

impl RedisPrefix {
    /// A fresh prefix on the test server (checked reachable).
    pub fn create(tag: &str) -> RedisPrefix {
        Self::create_on(&redis_url(), tag)
    }

    /// A fresh prefix on the server at `server`.
    pub fn create_on(server: &str, tag: &str) -> RedisPrefix {
        let out = run(
            Command::new("redis-cli").args(["-u", server, "PING"]),
            &format!("Redis at {server} is not reachable"),
            REDIS_HOWTO,
        );
        assert!(out.contains("PONG"), "Redis at {server} answered {out:?} to PING\n{REDIS_HOWTO}");
        let prefix = format!("{}:", unique(tag));
        let sep = if server.contains('?') { '&' } else { '?' };
        RedisPrefix { url: format!("{server}{sep}prefix={prefix}"), server: server.to_owned(), prefix }
    }

    /// Runs a `redis-cli` command against the server and returns its output.
    pub fn cli(&self, args: &[&str]) -> String {
        run(Command::new("redis-cli").arg("-u").arg(&self.server).args(args), "redis-cli", REDIS_HOWTO)
    }
}

impl Drop for RedisPrefix {
    fn drop(&mut self) {
        let _ = Command::new("redis-cli")
            .args(["-u", &self.server, "EVAL"])
            .arg("for _,k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end return 0")
            .args(["0", &format!("{}*", self.prefix)])
            .output();
    }
}
