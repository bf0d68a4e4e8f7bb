//! Foreign issuers' keys from a JWKS URL (API.md, "Foreign issuers"): fetched at start,
//! again when a token names an unknown `kid` (at most once per 10 s), and every
//! `jwks_refresh` seconds, or sooner when the answer's `Cache-Control: max-age` says so.
//! Each fetch replaces the issuer's whole key set, so a key that leaves the JWKS is
//! refused from that moment. A failed fetch keeps the keys already held and is retried
//! 10 s later; an issuer whose first fetch failed has no keys, and its tokens are refused
//! (`token_invalid`) until a fetch succeeds.

use std::time::Duration;

use axum::body::Bytes;
use axum::http::{Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use revokd::token::IssuerKeys;
use revokd::{KeySet, Revokd};
use tokio::time::Instant;

use crate::config::Settings;

/// The least time between two fetches of one JWKS when tokens name unknown keys, and the
/// time before a failed fetch is tried again.
pub const MIN_INTERVAL: Duration = Duration::from_secs(10);
/// The longest a fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest JWKS accepted.
const MAX_BYTES: usize = 1 << 20;

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// No connection, a timeout, or a broken answer.
    #[error("cannot fetch: {0}")]
    Transport(String),
    /// An answer other than 200.
    #[error("answered {0}")]
    Status(StatusCode),
    /// Not a JWKS, or a key in it that cannot be used.
    #[error("not a usable JWKS: {0}")]
    Jwks(String),
}

fn client() -> std::io::Result<HttpsClient> {
    let https = hyper_rustls::HttpsConnectorBuilder::new().with_native_roots()?.https_or_http().enable_http1().build();
    Ok(Client::builder(TokioExecutor::new()).build(https))
}

/// One fetch: the key set and how long the answer may be kept (`Cache-Control: max-age`).
async fn fetch(client: &HttpsClient, url: &Uri) -> Result<(KeySet, Vec<String>, Option<Duration>), FetchError> {
    let req = Request::get(url.clone())
        .header(header::ACCEPT, "application/json, application/jwk-set+json")
        .header(header::USER_AGENT, concat!("revokd/", env!("CARGO_PKG_VERSION")))
        .body(Empty::new())
        .map_err(|e| FetchError::Transport(e.to_string()))?;
    let work = async {
        let res = client.request(req).await.map_err(|e| FetchError::Transport(e.to_string()))?;
        if res.status() != StatusCode::OK {
            return Err(FetchError::Status(res.status()));
        }
        let max_age = res
            .headers()
            .get_all(header::CACHE_CONTROL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .find_map(|d| d.trim().strip_prefix("max-age=").and_then(|n| n.trim().parse::<u64>().ok()))
            .map(Duration::from_secs);
        let body = Limited::new(res.into_body(), MAX_BYTES)
            .collect()
            .await
            .map_err(|e| FetchError::Transport(e.to_string()))?
            .to_bytes();
        let json: serde_json::Value = serde_json::from_slice(&body).map_err(|e| FetchError::Jwks(e.to_string()))?;
        let (keys, skipped) = KeySet::from_jwks_usable(&json).map_err(|e| FetchError::Jwks(e.to_string()))?;
        Ok((keys, skipped, max_age))
    };
    tokio::time::timeout(FETCH_TIMEOUT, work).await.map_err(|_| FetchError::Transport("timed out".into()))?
}

/// A URL for the logs: scheme, host, port and path, never a query string or user info,
/// which may carry credentials.
fn redacted(url: &Uri) -> String {
    let host = url.host().unwrap_or("");
    let port = url.port_u16().map(|p| format!(":{p}")).unwrap_or_default();
    format!("{}://{host}{port}{}", url.scheme_str().unwrap_or("?"), url.path())
}

/// One issuer's JWKS URL, followed.
struct Follower {
    issuer: String,
    url: Uri,
    refresh: Duration,
    keys: IssuerKeys,
    client: HttpsClient,
    /// To drop the verified-token cache's entries of keys that left (a clone shares the
    /// cache and the issuer keys, and does not keep the library's tasks alive).
    tokens: revokd::token::Tokens,
}

impl Follower {
    /// Fetches once and installs the keys; returns when to fetch next.
    async fn fetch_once(&self) -> Duration {
        match fetch(&self.client, &self.url).await {
            Ok((keys, skipped, max_age)) => {
                let n = keys.len();
                for why in skipped {
                    tracing::warn!(issuer = %self.issuer, "a key of the issuer's JWKS is left out: {why}");
                }
                let old = self.keys.load();
                let left = old.iter().any(|k| !keys.iter().any(|n| n.fingerprint() == k.fingerprint()));
                self.keys.replace(keys);
                if left {
                    let now =
                        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
                    self.tokens.purge_cache(now);
                }
                metrics::counter!("revokd_jwks_fetches_total", "result" => "ok").increment(1);
                tracing::debug!(issuer = %self.issuer, keys = n, "fetched the issuer's JWKS");
                max_age.map_or(self.refresh, |m| m.min(self.refresh)).max(Duration::from_secs(1))
            }
            Err(e) => {
                metrics::counter!("revokd_jwks_fetches_total", "result" => "error").increment(1);
                tracing::warn!(issuer = %self.issuer, url = %redacted(&self.url), error = %e,
                    "cannot fetch the issuer's JWKS; keeping the keys held, trying again in 10 s");
                MIN_INTERVAL
            }
        }
    }

    /// Fetches forever: on the timer, and on an unknown `kid` no sooner than
    /// [`MIN_INTERVAL`] after the last fetch.
    async fn run(self, mut next: Duration) {
        let mut last = Instant::now();
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(last + next) => {}
                () = self.keys.unknown_kid() => {
                    tokio::time::sleep_until(last + MIN_INTERVAL).await;
                }
            }
            next = self.fetch_once().await;
            last = Instant::now();
        }
    }
}

/// Fetches every `jwks_url` once (in parallel, each bounded by a 5 s timeout), then,
/// with `follow`, keeps them fresh in background tasks.
pub async fn start(revokd: &Revokd, settings: &Settings, follow: bool) -> anyhow::Result<()> {
    let mut followers = Vec::new();
    for (i, c) in settings.issuers.iter().enumerate() {
        let Some(url) = &c.jwks_url else { continue };
        let url = crate::config::check_jwks_url(url).map_err(|e| anyhow::anyhow!("issuers[{i}].jwks_url: {e}"))?;
        let keys = revokd
            .tokens()
            .foreign()
            .iter()
            .find(|f| f.issuer == c.issuer)
            .map(|f| f.keys.clone())
            .ok_or_else(|| anyhow::anyhow!("issuers[{i}]: not configured in the library"))?;
        let client = client().map_err(|e| anyhow::anyhow!("cannot load the system's root certificates: {e}"))?;
        followers.push(Follower {
            issuer: c.issuer.clone(),
            url,
            refresh: Duration::from_secs(c.refresh_secs()),
            keys,
            client,
            tokens: revokd.tokens().clone(),
        });
    }
    let firsts: Vec<_> = followers
        .into_iter()
        .map(|f| {
            tokio::spawn(async move {
                let next = f.fetch_once().await;
                (f, next)
            })
        })
        .collect();
    for first in firsts {
        let (f, next) = first.await?;
        if follow {
            tracing::info!(issuer = %f.issuer, url = %redacted(&f.url), keys = f.keys.load().len(),
                "following the issuer's JWKS");
            tokio::spawn(f.run(next));
        }
    }
    Ok(())
}
