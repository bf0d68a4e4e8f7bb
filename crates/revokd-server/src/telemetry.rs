//! Prometheus metrics: requests by route and status, checks, revocations, index size,
//! feed position, store latency (API.md: `GET /metrics`).

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics::Counter;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use parking_lot::RwLock;
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

/// The request counters by (route, method, status), registered once each: counting a
/// request is then a hash, a shared read lock and an atomic add, with no allocation.
#[derive(Default)]
struct RequestCounters {
    by_hash: RwLock<HashMap<u64, Vec<RequestCounter>>>,
}

/// One (route, method, status) and its counter.
type RequestCounter = (Box<str>, Method, u16, Counter);

impl RequestCounters {
    fn increment(&self, route: &str, method: &Method, status: u16) {
        let h = foldhash::fast::FixedState::with_seed(0).hash_one((route, method.as_str(), status));
        let same = |e: &&RequestCounter| &*e.0 == route && e.1 == method && e.2 == status;
        if let Some(e) = self.by_hash.read().get(&h).and_then(|v| v.iter().find(same)) {
            e.3.increment(1);
            return;
        }
        let mut map = self.by_hash.write();
        let entries = map.entry(h).or_default();
        if !entries.iter().any(|e| same(&e)) {
            let c = metrics::counter!("revokd_http_requests_total",
                "route" => route.to_owned(), "method" => method.as_str().to_owned(), "status" => status.to_string());
            entries.push((route.into(), method.clone(), status, c));
        }
        if let Some(e) = entries.iter().find(same) {
            e.3.increment(1);
        }
    }
}

static REQUESTS: LazyLock<RequestCounters> = LazyLock::new(RequestCounters::default);

/// Counts every routed request by route template, method and status.
pub async fn track(req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().cloned();
    let method = req.method().clone();
    let res = next.run(req).await;
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    REQUESTS.increment(route, &method, res.status().as_u16());
    res
}

/// Counts a request answered by the limits themselves (431, 429, or the deadline's
/// 503), before any route saw it: route label `(limits)`.
pub fn limited(method: &Method, status: u16) {
    REQUESTS.increment("(limits)", method, status);
}

/// The outcomes of a check, each with its counter registered once.
const CHECK_RESULTS: [&str; 9] = [
    "ok",
    "token_invalid",
    "token_expired",
    "token_not_yet_valid",
    "token_revoked",
    "token_wrong_type",
    "fresh_token_required",
    "token_missing",
    "csrf_failed",
];

static CHECKS: LazyLock<[Counter; 9]> =
    LazyLock::new(|| CHECK_RESULTS.map(|r| metrics::counter!("revokd_checks_total", "result" => r)));

/// Records a check's outcome: `ok` or the public error code.
pub fn check(result: &'static str) {
    match CHECK_RESULTS.iter().position(|r| *r == result) {
        Some(i) => CHECKS[i].increment(1),
        None => metrics::counter!("revokd_checks_total", "result" => result).increment(1),
    }
}

/// Records a refused check: `revokd_checks_total{result}` with the public code, and,
/// when the library knows a finer reason (`token_unsigned`, `token_algorithm_mismatch`,
/// `token_bad_kid`, …), `revokd_check_refusals_total{reason}` and a debug log line
/// (never the token), so an operator can see what is being tried.
pub fn refused(e: &revokd::Error) {
    let public = e.public_code();
    check(public);
    let reason = e.code();
    if reason != public {
        metrics::counter!("revokd_check_refusals_total", "reason" => reason).increment(1);
    }
    tracing::debug!(result = public, reason, "token refused");
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
    if let Some(c) = state.revokd.cache_stats() {
        metrics::counter!("revokd_verify_cache_hits_total").absolute(c.hits);
        metrics::counter!("revokd_verify_cache_misses_total").absolute(c.misses);
        metrics::counter!("revokd_verify_cache_evictions_total").absolute(c.evictions);
        metrics::gauge!("revokd_verify_cache_entries").set(c.entries as f64);
    }
    let sync = state.revokd.sync_stats();
    metrics::gauge!("revokd_feed_applied_seq").set(sync.applied_seq as f64);
    metrics::gauge!("revokd_feed_head_seq").set(sync.head_seq as f64);
    metrics::gauge!("revokd_feed_lag_events").set(sync.head_seq.saturating_sub(sync.applied_seq) as f64);
    metrics::gauge!("revokd_feed_seconds_since_round").set(sync.since_last_round.as_secs_f64());
    metrics::counter!("revokd_feed_failed_rounds_total").absolute(sync.failed_rounds);
    metrics::counter!("revokd_store_outages_total").absolute(sync.outages);
    metrics::gauge!("revokd_store_reachable").set(f64::from(u8::from(sync.store_reachable)));
    if let Some(p) = sync.push {
        metrics::gauge!("revokd_push_connected").set(f64::from(u8::from(p.connected)));
        metrics::counter!("revokd_push_reconnects_total").absolute(p.reconnects);
    }
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
    fn push_status(&self) -> Option<revokd::store::PushStatus> {
        self.0.push_status()
    }

    async fn wait_for_change(&self, after: u64, timeout: Duration) -> StoreResult<()> {
        // Waiting is not latency: not timed.
        self.0.wait_for_change(after, timeout).await
    }
}
