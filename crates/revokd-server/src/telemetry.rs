//! Prometheus metrics: requests by route and status, checks, revocations, index size,
//! feed position, store latency (API.md: `GET /metrics`).

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use revokd::rules::{Event, Revocation, RuleKind};
use revokd::store::{Change, Consumption, IssuedToken, Page, Pruned, Snapshot, Store, StoreResult};

use crate::app::Shared;

/// The process's recorder, installed on first use.
pub fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let buckets = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];
            let builder = PrometheusBuilder::new().set_buckets(&buckets).unwrap_or_else(|_| PrometheusBuilder::new());
            match builder.install_recorder() {
                Ok(h) => h,
                // A recorder is already installed (a second service in one process):
                // render from a private one.
                Err(_) => PrometheusBuilder::new().build_recorder().handle(),
            }
        })
        .clone()
}

/// Counts every routed request by route template, method and status.
pub async fn track(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let res = next.run(req).await;
    metrics::counter!("revokd_http_requests_total", "route" => route, "method" => method, "status" => res.status().as_u16().to_string())
        .increment(1);
    res
}

/// Records a check's outcome: `ok` or the public error code.
pub fn check(result: &str) {
    metrics::counter!("revokd_checks_total", "result" => result.to_owned()).increment(1);
}

/// Records a revocation made through the service.
pub fn revocation(kind: RuleKind) {
    metrics::counter!("revokd_revocations_total", "kind" => kind.as_str()).increment(1);
}

/// `GET /metrics`: Prometheus text.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text: requests by route and status, checks, revocations, \
        index size, store latency", content_type = "text/plain")))]
pub async fn render(State(state): State<Shared>) -> impl IntoResponse {
    let stats = state.revokd.index_stats();
    metrics::gauge!("revokd_index_rules", "kind" => "jti").set(stats.jtis as f64);
    metrics::gauge!("revokd_index_rules", "kind" => "subject").set(stats.subjects as f64);
    metrics::gauge!("revokd_index_rules", "kind" => "family").set(stats.families as f64);
    metrics::gauge!("revokd_index_rules", "kind" => "all").set(f64::from(u8::from(stats.global_cutoff_ms.is_some())));
    metrics::gauge!("revokd_index_bytes").set(stats.memory_bytes as f64);
    metrics::gauge!("revokd_feed_applied_seq").set(state.revokd.applied_seq() as f64);
    metrics::gauge!("revokd_store_reachable").set(f64::from(u8::from(state.revokd.store_reachable())));
    let h = handle();
    h.run_upkeep();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], h.render())
}

/// A store that times every call (`revokd_store_latency_seconds{op}`).
#[derive(Debug)]
pub struct TimedStore(pub Arc<dyn Store>);

async fn timed<T>(op: &'static str, f: impl std::future::Future<Output = T>) -> T {
    let t = Instant::now();
    let out = f.await;
    metrics::histogram!("revokd_store_latency_seconds", "op" => op).record(t.elapsed().as_secs_f64());
    out
}

#[async_trait]
impl Store for TimedStore {
    async fn append(&self, c: Change) -> StoreResult<Event> {
        timed("append", self.0.append(c)).await
    }
    async fn events_after(&self, since: u64, limit: usize) -> StoreResult<Vec<Event>> {
        timed("events_after", self.0.events_after(since, limit)).await
    }
    async fn last_seq(&self) -> StoreResult<u64> {
        timed("last_seq", self.0.last_seq()).await
    }
    async fn snapshot(&self) -> StoreResult<Snapshot> {
        timed("snapshot", self.0.snapshot()).await
    }
    async fn revocation(&self, id: &str) -> StoreResult<Option<Revocation>> {
        timed("revocation", self.0.revocation(id)).await
    }
    async fn prune(&self, now: u64) -> StoreResult<Pruned> {
        timed("prune", self.0.prune(now)).await
    }
    async fn consume_refresh(&self, jti: &str, now_ms: u64, exp: u64) -> StoreResult<Consumption> {
        timed("consume_refresh", self.0.consume_refresh(jti, now_ms, exp)).await
    }
    async fn raise_max_lifetime(&self, secs: u64) -> StoreResult<u64> {
        timed("raise_max_lifetime", self.0.raise_max_lifetime(secs)).await
    }
    async fn max_lifetime(&self) -> StoreResult<u64> {
        timed("max_lifetime", self.0.max_lifetime()).await
    }
    async fn secret_or_insert(&self, name: &str, value: Vec<u8>) -> StoreResult<Vec<u8>> {
        timed("secret_or_insert", self.0.secret_or_insert(name, value)).await
    }
    async fn record_token(&self, t: IssuedToken) -> StoreResult<()> {
        timed("record_token", self.0.record_token(t)).await
    }
    async fn tokens(&self, sub: Option<&str>, cursor: Option<&str>, limit: usize) -> StoreResult<Page<IssuedToken>> {
        timed("tokens", self.0.tokens(sub, cursor, limit)).await
    }
    async fn token(&self, jti: &str) -> StoreResult<Option<IssuedToken>> {
        timed("token", self.0.token(jti)).await
    }
    async fn family_latest_exp(&self, fam: &str) -> StoreResult<Option<u64>> {
        timed("family_latest_exp", self.0.family_latest_exp(fam)).await
    }
    async fn live_rule(&self, kind: RuleKind, iss: Option<&str>, target: &str) -> StoreResult<Option<Revocation>> {
        timed("live_rule", self.0.live_rule(kind, iss, target)).await
    }
    async fn wait_for_change(&self, after: u64, timeout: Duration) -> StoreResult<()> {
        // Waiting is not latency: not timed.
        self.0.wait_for_change(after, timeout).await
    }
}
