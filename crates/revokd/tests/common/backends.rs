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

/// A free TCP port on loopback (bound, read, released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

fn pg_bin(tool: &str) -> String {
    let versions = std::fs::read_dir("/usr/lib/postgresql").expect("PostgreSQL binaries in /usr/lib/postgresql");
    let mut v: Vec<String> =
        versions.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    format!("/usr/lib/postgresql/{}/bin/{tool}", v.last().expect("a PostgreSQL version"))
}

/// A PostgreSQL cluster of this test's own (`initdb` in a temporary folder, a private
/// port): stopping, crashing and restarting it disturbs no other test. Runs as the
/// `postgres` user when the test runs as root (PostgreSQL refuses root). Stopped and
/// removed when dropped.
pub struct PrivatePostgres {
    dir: std::path::PathBuf,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    as_postgres: bool,
}

impl PrivatePostgres {
    /// Makes and starts a cluster (about two seconds).
    pub fn start() -> PrivatePostgres {
        let dir = std::env::temp_dir().join(unique("pg"));
        std::fs::create_dir_all(&dir).unwrap();
        let as_postgres = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        if as_postgres {
            run(Command::new("chown").arg("postgres:postgres").arg(&dir), "chown", "");
        }
        let pg = PrivatePostgres { dir, port: free_port(), as_postgres };
        let data = pg.dir.join("data");
        pg.tool("initdb", &["-D", data.to_str().unwrap(), "-A", "trust", "-U", "postgres", "--no-sync"]);
        pg.start_again();
        pg
    }

    fn tool(&self, tool: &str, args: &[&str]) -> String {
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", &pg_bin(tool)]);
            c
        } else {
            Command::new(pg_bin(tool))
        };
        run(cmd.args(args), &format!("{tool} {args:?}"), "")
    }

    fn ctl(&self, args: &[&str]) {
        let data = self.dir.join("data");
        let mut all = vec!["-D", data.to_str().unwrap()];
        all.extend_from_slice(args);
        self.tool("pg_ctl", &all);
    }

    /// Starts the (stopped) cluster again on the same port and data.
    pub fn start_again(&self) {
        let opts = format!("-p {} -k {} -c listen_addresses=127.0.0.1", self.port, self.dir.display());
        let log = self.dir.join("log");
        self.ctl(&["-o", &opts, "-l", log.to_str().unwrap(), "-w", "-t", "30", "start"]);
    }

    /// A clean, fast shutdown (`pg_ctl -m fast stop`).
    pub fn stop(&self) {
        self.ctl(&["-m", "fast", "-w", "stop"]);
    }

    /// A crash: `pg_ctl -m immediate stop` (no checkpoint; recovery at the next start).
    pub fn crash(&self) {
        self.ctl(&["-m", "immediate", "-w", "stop"]);
    }

    /// The URL of its `postgres` database (to create test databases on).
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", &pg_bin("pg_ctl")]);
            c
        } else {
            Command::new(pg_bin("pg_ctl"))
        };
        let _ = cmd.args(["-D", data.to_str().unwrap_or(""), "-m", "immediate", "stop"]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A `redis-server` of this test's own (a temporary folder, a private port, AOF with
/// `appendfsync always`): restarting or killing it disturbs no other test. Killed and
/// removed when dropped.
pub struct PrivateRedis {
    dir: std::path::PathBuf,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
}

impl PrivateRedis {
    /// Starts a server with AOF `appendfsync always` and no RDB snapshots.
    pub fn start() -> PrivateRedis {
        let dir = std::env::temp_dir().join(unique("redis"));
        std::fs::create_dir_all(&dir).unwrap();
        let r = PrivateRedis { dir, port: free_port() };
        r.start_again();
        r
    }

    /// Starts it again on the same folder (its AOF) and port; waits until it answers.
    pub fn start_again(&self) {
        let port = self.port.to_string();
        run(
            Command::new("redis-server").args([
                "--port",
                &port,
                "--bind",
                "127.0.0.1",
                "--dir",
                self.dir.to_str().unwrap(),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
                "--daemonize",
                "yes",
                "--pidfile",
                self.dir.join("redis.pid").to_str().unwrap(),
                "--logfile",
                self.dir.join("log").to_str().unwrap(),
            ]),
            "redis-server",
            "",
        );
        for _ in 0..500 {
            let ok = Command::new("redis-cli").args(["-p", &port, "PING"]).output();
            if ok.is_ok_and(|o| o.stdout.starts_with(b"PONG")) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("the private redis-server on port {port} did not answer within 5 s");
    }

    /// The server's URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Runs a `redis-cli` command against it.
    pub fn cli(&self, args: &[&str]) -> String {
        run(Command::new("redis-cli").args(["-p", &self.port.to_string()]).args(args), "redis-cli", "")
    }

    fn pid(&self) -> Option<String> {
        std::fs::read_to_string(self.dir.join("redis.pid")).ok().map(|p| p.trim().to_owned())
    }

    /// A crash: SIGKILL (what `appendfsync always` acknowledged is in the AOF).
    pub fn kill9(&self) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill").args(["-9", &pid]).status();
            for _ in 0..500 {
                if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            let _ = std::fs::remove_file(self.dir.join("redis.pid"));
        }
    }

    /// A clean stop (`SHUTDOWN`, the AOF kept).
    pub fn stop(&self) {
        let _ = Command::new("redis-cli").args(["-p", &self.port.to_string(), "SHUTDOWN"]).output();
        self.kill9();
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill9();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
