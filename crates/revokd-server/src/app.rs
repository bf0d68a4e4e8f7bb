//! The service as a library: [`start`] builds the state from [`Settings`], [`router`]
//! is the HTTP API, [`run`] serves it until a shutdown signal, draining in-flight
//! requests.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::any;
use base64::Engine;
use revokd::store::Store;
use revokd::{KeySet, Revokd, TokenPolicy};
use tokio::net::TcpListener;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::config::{ClientConfig, Settings};
use crate::error::ApiError;
use crate::openapi::ApiDoc;
use crate::routes;

/// What every handler shares.
pub struct AppState {
    /// The library: keys, index, store, policy.
    pub revokd: Revokd,
    /// Admin tokens.
    pub admin_tokens: Vec<String>,
    /// Feed-reader tokens.
    pub feed_tokens: Vec<String>,
    /// OAuth clients.
    pub clients: Vec<ClientConfig>,
    /// The configuration.
    pub settings: Settings,
    /// Turns true when the service begins to stop: long-lived streams end then, so the
    /// graceful shutdown can drain.
    pub closing: tokio::sync::watch::Sender<bool>,
    /// Failed requests per client IP, for the rate limits.
    pub failures: crate::limit::Failures,
}

/// Shared state handle.
pub type Shared = Arc<AppState>;

/// Builds the state: opens the store, loads (or generates) the signing key and the admin
/// token, loads the live rules. Errors say what is wrong.
pub async fn start(settings: Settings) -> anyhow::Result<Shared> {
    if settings.store.starts_with("memory:") {
        tracing::warn!("store is memory://: nothing survives a restart and no other process sees revocations");
    }
    crate::telemetry::handle();
    let admin_tokens = if settings.admin_tokens.is_empty() {
        if settings.shared_store() {
            anyhow::bail!(
                "store `{}` is shared by every instance: configure admin_tokens (or REVOKD_ADMIN_TOKENS); \
                 revokd generates an admin token only on SQLite",
                settings.store_for_logs()
            );
        }
        vec![generated_admin_token(&settings)?]
    } else {
        settings.admin_tokens.clone()
    };
    let revokd = library_when_reachable(&settings).await?;
    tracing::info!(rules = ?revokd.index_stats(), seq = revokd.applied_seq(), "revocation index loaded");
    crate::jwks::start(&revokd, &settings, true).await?;
    Ok(Arc::new(AppState {
        revokd,
        admin_tokens,
        feed_tokens: settings.feed_tokens.clone(),
        clients: settings.clients.clone(),
        settings,
        closing: tokio::sync::watch::Sender::new(false),
        failures: crate::limit::Failures::default(),
    }))
}

/// The service's library: on a shared store (PostgreSQL, Redis) that cannot be reached
/// yet, retried with backoff (1 s doubling to 30 s) while `/healthz` answers and
/// `/readyz` says 503, so instances started before their store (or during its restart)
/// come up by themselves. Any other failure, and any failure on SQLite, stops start-up.
async fn library_when_reachable(settings: &Settings) -> anyhow::Result<Revokd> {
    let mut wait = Duration::from_secs(1);
    loop {
        match library(settings, true).await {
            Err(e) if settings.shared_store() && store_unreachable(&e) => {
                tracing::warn!(error = %format!("{e:#}"), retry_in = ?wait, "the store cannot be reached yet; not ready");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(30));
            }
            other => return other,
        }
    }
}

/// Whether `e` says the store could not be reached (rather than refused or broken).
fn store_unreachable(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<revokd::store::StoreError>().is_some_and(|s| s.is_unavailable())
            || c.downcast_ref::<revokd::Error>()
                .is_some_and(|r| matches!(r, revokd::Error::Store(s) if s.is_unavailable()))
    })
}

/// The library on the configured store and keys (the generated key if none are
/// configured). `follow`: keep following the store's feed and pruning (the service);
/// without it, a one-shot view (the CLI).
pub async fn library(settings: &Settings, follow: bool) -> anyhow::Result<Revokd> {
    let store: Arc<dyn Store> = revokd::store::open(&settings.store, settings.durability)
        .await
        .map_err(|e| anyhow::Error::new(e).context(format!("store `{}`", settings.store_for_logs())))?;
    let store: Arc<dyn Store> = if follow { Arc::new(crate::telemetry::TimedStore(store)) } else { store };
    let mut keys = settings.key_set()?;
    if keys.is_empty() {
        let (key, created) = Revokd::generated_key(&*store).await?;
        if created {
            tracing::info!(kid = key.kid(), "generated an Ed25519 signing key and kept it in the store");
        } else {
            tracing::info!(kid = key.kid(), "using the signing key kept in the store");
        }
        keys = KeySet::new().with(key)?;
    }
    let mut policy = TokenPolicy::default()
        .issuer(settings.issuer.clone())
        .leeway(settings.leeway)
        .max_token_lifetime(settings.max_token_lifetime);
    if let Some(a) = &settings.audience {
        policy = policy.audience(a.clone());
    }
    let mut builder = Revokd::builder(keys, store)
        .policy(policy)
        .access_ttl(settings.access_ttl)
        .refresh_ttl(settings.refresh_ttl)
        .check_types(&settings.check_types)
        .record_tokens(true)
        .verify_cache(settings.verify_cache)
        .on_store_unreachable(settings.on_store_unreachable);
    for f in settings.foreign_issuers()? {
        builder = builder.foreign_issuer(f);
    }
    if !follow {
        builder = builder.poll_interval(None).prune_interval(None);
    }
    Ok(builder.build().await?)
}

/// The admin token file beside the SQLite file (or in the working directory for
/// `memory://`): read if present, else generated with mode 0600. Its path is logged,
/// never the token.
fn generated_admin_token(settings: &Settings) -> anyhow::Result<String> {
    let dir = settings
        .sqlite_path()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."));
    let path = dir.join("revokd.admin-token");
    if let Ok(text) = std::fs::read_to_string(&path) {
        let token = text.trim().to_owned();
        if token.len() >= 16 {
            tracing::info!(path = %path.display(), "admin token read from its file");
            return Ok(token);
        }
        anyhow::bail!("{}: the admin token in it is shorter than 16 bytes", path.display());
    }
    let bytes: [u8; 32] = rand::random();
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    if let Err(e) = write_private(&path, &token) {
        // Another instance sharing the folder may have written it first: use theirs.
        std::thread::sleep(Duration::from_millis(50));
        if let Ok(text) = std::fs::read_to_string(&path)
            && text.trim().len() >= 16
        {
            return Ok(text.trim().to_owned());
        }
        return Err(e);
    }
    tracing::info!(path = %path.display(), "generated an admin token; it is in this file");
    Ok(token)
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, format!("{text}\n"))?;
    Ok(())
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "method not allowed on this route")
}

/// Every documented route, with its OpenAPI document: each handler's `#[utoipa::path]`
/// gives both its route and its operation, so the two cannot differ. `/v1/verify`
/// (any method, any subpath) is routed by hand and documented in [`ApiDoc`].
pub fn api() -> OpenApiRouter<Shared> {
    use routes::{health, me, oauth, revocations, subjects, tokens, verify, wellknown};
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(utoipa_axum::routes!(tokens::issue))
        .routes(utoipa_axum::routes!(tokens::refresh))
        .route("/v1/verify", any(verify::verify))
        .route("/v1/verify/", any(verify::verify))
        .route("/v1/verify/{*path}", any(verify::verify))
        .routes(utoipa_axum::routes!(revocations::create, revocations::feed))
        .routes(utoipa_axum::routes!(revocations::snapshot))
        .routes(utoipa_axum::routes!(revocations::stream))
        .routes(utoipa_axum::routes!(revocations::remove))
        .routes(utoipa_axum::routes!(subjects::tokens))
        .routes(utoipa_axum::routes!(subjects::logout))
        .routes(utoipa_axum::routes!(me::tokens))
        .routes(utoipa_axum::routes!(me::logout))
        .routes(utoipa_axum::routes!(me::revoke))
        .routes(utoipa_axum::routes!(me::unrevoke))
        .routes(utoipa_axum::routes!(oauth::revoke))
        .routes(utoipa_axum::routes!(oauth::introspect))
        .routes(utoipa_axum::routes!(wellknown::jwks))
        .routes(utoipa_axum::routes!(wellknown::metadata))
        .routes(utoipa_axum::routes!(health::healthz))
        .routes(utoipa_axum::routes!(health::readyz))
        .routes(utoipa_axum::routes!(crate::telemetry::render))
        .routes(utoipa_axum::routes!(crate::openapi::openapi_json))
}

/// The HTTP API of API.md.
pub fn router(state: Shared) -> Router {
    let max_body = state.settings.max_body_bytes;
    let (routes, _) = api().split_for_parts();
    routes
        .route_layer(middleware::from_fn(crate::telemetry::track))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(Arc::clone(&state), crate::guard::guard))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_: Box<dyn std::any::Any + Send>| {
            tracing::error!("a request handler panicked");
            ApiError::internal().into_response()
        }))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}

/// The port while the service starts: `/healthz` answers 200, every other route 503
/// `unavailable` (`/readyz` included), so a load balancer sees "alive, not ready".
pub struct Loading {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Loading {
    /// Stops answering on behalf of the starting service: idle connections close,
    /// requests in flight get a second to finish, then whatever is left is dropped (a
    /// client holding a connection open must not hold up the start).
    pub async fn finish(self) {
        let _ = self.stop.send(());
        let abort = self.task.abort_handle();
        if tokio::time::timeout(Duration::from_secs(1), self.task).await.is_err() {
            abort.abort();
        }
    }
}

/// Starts answering on `listener` at once, as [`Loading`] says; returns the same socket
/// for [`run`] to serve once the service is ready.
pub fn serve_while_loading(listener: TcpListener) -> anyhow::Result<(TcpListener, Loading)> {
    let addr = listener.local_addr()?;
    let std = listener.into_std()?;
    let second = TcpListener::from_std(std.try_clone()?)?;
    let listener = TcpListener::from_std(std)?;
    let starting = || async {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "starting: the revocation index is loading")
    };
    let router = Router::new()
        .route("/healthz", axum::routing::get(routes::health::healthz))
        .fallback(starting)
        .method_not_allowed_fallback(starting);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tracing::info!(%addr, "revokd loading");
    let task = tokio::spawn(async move {
        let serve = axum::serve(second, router).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        if let Err(e) = serve.await {
            tracing::warn!(error = %e, "the start-up responder stopped");
        }
    });
    Ok((listener, Loading { stop, task }))
}

/// Serves until `shutdown` resolves, then stops accepting and drains in-flight
/// requests.
pub async fn run(
    listener: TcpListener,
    state: Shared,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "revokd listening");
    let closing = state.closing.clone();
    let mut closed = state.closing.subscribe();
    // Requests in flight get their full `request_timeout` and a little more to finish;
    // a connection still open after that (a client sending its headers slowly, say)
    // does not hold the stop up.
    let grace = Duration::from_secs(state.settings.request_timeout + 2);
    let shutdown = async move {
        shutdown.await;
        closing.send_replace(true);
    };
    let header_timeout = Duration::from_secs(state.settings.request_timeout);
    let serve = crate::serve::serve(listener, router(state), header_timeout, shutdown);
    let deadline = async move {
        let _ = closed.wait_for(|c| *c).await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        () = serve => {}
        () = deadline => tracing::warn!(?grace, "connections still open after the grace period; stopping anyway"),
    }
    tracing::info!("revokd stopped");
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received; draining");
}
