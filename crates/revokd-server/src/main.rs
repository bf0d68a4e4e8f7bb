//! `revokd`: the service and its admin CLI. This file only parses arguments.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use revokd_server::config::{Overrides, Settings};
use revokd_server::{app, cli};

/// mimalloc: a request allocates and frees many small buffers on every worker thread;
/// glibc's allocator spent about a tenth of the service's time on them under load
/// (docs/BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// JWT revocation that costs nothing per request. Every command works on the configured
/// store (`revokd.toml`, `REVOKD_<KEY>`, `--store`).
#[derive(Parser)]
#[command(name = "revokd", version, about)]
struct Cli {
    /// Configuration file (default: ./revokd.toml if present).
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Store URL: sqlite://PATH (default sqlite://revokd.db) or memory://.
    #[arg(long, global = true, value_name = "URL")]
    store: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service. With no configuration: a SQLite file revokd.db here, a
    /// generated signing key and admin token (in revokd.admin-token), 127.0.0.1:8080.
    Serve {
        /// Address to listen on (default 127.0.0.1:8080; port 0 picks a free one).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Issue an access and a refresh token for SUB (a new login); prints them as JSON.
    Issue {
        /// The subject.
        sub: String,
        /// Mark the access token fresh.
        #[arg(long)]
        fresh: bool,
        /// Custom claims, a JSON object (reserved names are refused).
        #[arg(long, value_name = "JSON")]
        claims: Option<String>,
    },
    /// Revoke one token, a subject's tokens, a family, or everything issued before an
    /// instant. A server on the same store refuses it within its next feed round.
    Revoke {
        /// One token by its jti.
        #[arg(long)]
        jti: Option<String>,
        /// A token itself: an access token by its jti, a refresh token by its family.
        #[arg(long)]
        token: Option<String>,
        /// Every token of this subject issued at or before --before (default now).
        #[arg(long)]
        sub: Option<String>,
        /// Cutoff for --sub, unix seconds (fractions allowed).
        #[arg(long, value_name = "SECS")]
        before: Option<f64>,
        /// Every token of this refresh family (cannot be undone).
        #[arg(long)]
        family: Option<String>,
        /// Every token issued at or before this instant, unix seconds (cannot be undone).
        #[arg(long, value_name = "SECS")]
        all_before: Option<f64>,
        /// Issuer scope of --jti or --sub (default: our own tokens).
        #[arg(long)]
        iss: Option<String>,
        /// Why (recorded with the revocation).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Undo a jti or subject revocation by its id.
    Unrevoke {
        /// The revocation's id.
        id: String,
    },
    /// List issued tokens (of SUB, or all) with their status.
    Tokens {
        /// The subject (all subjects if omitted).
        sub: Option<String>,
        /// Cursor from a previous answer's `next`.
        #[arg(long)]
        cursor: Option<String>,
        /// Page size (1–1000).
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Decode a token's header and claims (without trusting them) and say whether it is
    /// valid here, and why not.
    Inspect {
        /// The token.
        token: String,
    },
    /// Show the signing and verifying keys (kid, algorithm, fingerprint) and the JWKS.
    Keys,
    /// Remove expired rules, old feed events and expired registry entries now.
    Prune,
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let listen = match &cli.command {
        Command::Serve { listen } => listen.clone(),
        _ => None,
    };
    let overrides = Overrides { listen, store: cli.store.clone() };
    let mut settings = match Settings::resolve(cli.config.as_deref(), std::env::vars(), &overrides) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("revokd: {e}");
            std::process::exit(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("revokd: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    let result = rt.block_on(async move {
        let out = match cli.command {
            Command::Serve { .. } => {
                let listener = tokio::net::TcpListener::bind(settings.listen)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.listen))?;
                settings.bound(listener.local_addr()?);
                // While the index loads (and JWKS URLs are fetched), the port already
                // answers: /healthz 200, everything else 503 `unavailable`.
                let (listener, loading) = app::serve_while_loading(listener)?;
                let state = app::start(settings).await?;
                loading.finish().await;
                app::run(listener, state, app::shutdown_signal()).await?;
                return Ok(());
            }
            Command::Issue { sub, fresh, claims } => cli::issue(&settings, sub, fresh, claims).await?,
            Command::Revoke { jti, token, sub, before, family, all_before, iss, reason } => {
                let args = cli::RevokeArgs { jti, token, sub, before, family, all_before, iss, reason };
                cli::revoke(&settings, args).await?
            }
            Command::Unrevoke { id } => cli::unrevoke(&settings, &id).await?,
            Command::Tokens { sub, cursor, limit } => {
                cli::tokens(&settings, sub.as_deref(), cursor.as_deref(), limit).await?
            }
            Command::Inspect { token } => cli::inspect(&settings, &token).await?,
            Command::Keys => cli::keys(&settings).await?,
            Command::Prune => cli::prune(&settings).await?,
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
        anyhow::Ok(())
    });
    if let Err(e) = result {
        eprintln!("revokd: {e:#}");
        std::process::exit(1);
    }
}
