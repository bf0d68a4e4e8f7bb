//! The example apps as separate processes: this test binary run again with [`CHILD`]
//! set, running an example's own `serve` (the example file is compiled into the tests
//! with `#[path]`), and the Python apps they are compared with. `cargo test --test
//! integration` does not build examples, and a stale example binary would be tested
//! silently, so the tests never depend on `target/*/examples/`.

use std::fmt::Debug;
use std::future::Future;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Set in the environment of the processes this binary starts as an example.
pub(crate) const CHILD: &str = "REVOKD_AXUM_EXAMPLE_CHILD";

/// The body of the `example_process` test of each example's module: serves the example
/// when [`CHILD`] is set, else returns at once.
pub(crate) fn child<F, T, E>(serve: impl FnOnce() -> F)
where
    F: Future<Output = Result<T, E>>,
    E: Debug,
{
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    // The parent holds this process's stdin: when it exits, however it exits, so does this.
    std::thread::spawn(|| {
        let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
        std::process::exit(0);
    });
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(serve()).unwrap();
}

/// A process that says `listening on http://…` on stderr; killed when dropped.
pub(crate) struct Proc {
    child: Child,
    pub(crate) base: String,
    log: Arc<Mutex<String>>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    /// Starts `cmd` and waits until it says where it listens.
    pub(crate) fn start(mut cmd: Command, what: &str) -> Proc {
        cmd.stdout(Stdio::null()).stderr(Stdio::piped());
        cmd.env("LISTEN", "127.0.0.1:0").env("NO_PROXY", "*").env("no_proxy", "*");
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {what} ({cmd:?}): {e}"));
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let log2 = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(base) = line.split("listening on ").nth(1) {
                    let _ = tx.send(base.trim().to_owned());
                }
                let mut log = log2.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        // The channel closes when the process exits without saying where it listens.
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(base) => Proc { child, base, log },
            Err(_) => {
                let _ = child.kill();
                let status = child.wait();
                std::thread::sleep(Duration::from_millis(200)); // the reader's last lines
                panic!("{what} did not start ({status:?}):\n{}", log.lock().unwrap());
            }
        }
    }

    /// The example whose test module is `module` (its `example_process` test serves
    /// it), on the store at `store_url`.
    pub(crate) fn example(module: &str, store_url: &str) -> Proc {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.stdin(Stdio::piped()); // kept open by `Proc::child` until the process is dropped
        cmd.args(["--exact", &format!("{module}::example_process"), "--nocapture", "--test-threads", "1"]);
        cmd.env(CHILD, "1").env("REVOKD_STORE", store_url);
        Proc::start(cmd, &format!("the {module} example"))
    }

    /// The Python app `examples/<app>` run by `python`; `deps` says how to get it.
    pub(crate) fn python_app(python: &Path, app: &str, deps: &str) -> Proc {
        let mut cmd = Command::new(python);
        cmd.stdin(Stdio::null());
        cmd.arg(manifest_dir().join("examples").join(app)).env("PYTHONDONTWRITEBYTECODE", "1");
        Proc::start(cmd, &format!("examples/{app} with {} ({deps})", python.display()))
    }

    /// What it has written on stderr so far.
    pub(crate) fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

/// The Python of the venv `venv` (under `target/`), or the one `env_var` names; the
/// test fails, saying `deps`, when it is missing.
pub(crate) fn python(env_var: &str, venv: &str, deps: &str) -> PathBuf {
    let python = match std::env::var_os(env_var) {
        Some(p) => PathBuf::from(p),
        None => manifest_dir().join("../../target").join(venv).join("bin/python"),
    };
    assert!(python.exists(), "{} is missing: {deps}", python.display());
    python
}

/// The installed versions of `packages`, space-separated, as `python` sees them.
pub(crate) fn versions(python: &Path, packages: &[&str]) -> String {
    let list = packages.iter().map(|p| format!("m.version('{p}')")).collect::<Vec<_>>().join(", ");
    let out =
        Command::new(python).args(["-c", &format!("import importlib.metadata as m; print({list})")]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

pub(crate) fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A SQLite store in `dir`.
pub(crate) fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("revokd.db").display())
}

/// A client that never goes through a proxy.
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}
