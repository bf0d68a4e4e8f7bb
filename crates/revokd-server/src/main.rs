//! `revokd`: the service and its admin CLI.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use revokd_server::app;
use revokd_server::config::{Overrides, Settings};

/// JWT revocation that costs nothing per request.
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
        /// Address to listen on (default 127.0.0.1:8080).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cli.command {
        Command::Serve { listen } => {
            let overrides = Overrides { listen, store: cli.store };
            let mut settings = match Settings::resolve(cli.config.as_deref(), std::env::vars(), &overrides) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("revokd: {e}");
                    std::process::exit(2);
                }
            };
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind(settings.listen)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.listen))?;
                settings.bound(listener.local_addr()?);
                let state = app::start(settings).await?;
                app::run(listener, state, app::shutdown_signal()).await
            })
        }
    }
}
