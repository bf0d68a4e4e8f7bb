//! [`Revokd`]: the one type an application holds — keys, index, store and policy.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::clock::{SharedClock, SystemClock};
use crate::error::{Error, Result};
use crate::index::IndexStats;
use crate::rules::{Lifetimes, NewRevocation, Revocation, RuleKind, Target};
use crate::store::{Change, IssuedToken, Page, Store, StoreError};
use crate::sync::{Follower, OnUnreachable, STALE_AFTER};
use crate::token::{
    Claims, ForeignIssuer, KeySet, Origin, RESERVED_CLAIMS, TokenPolicy, TokenType, Tokens, Verified, uuid_v7_ms,
};

/// What to issue: a new login (a new family) or a continuation of one.
#[derive(Debug, Clone, Default, PartialEq)]
#[must_use]
pub struct IssueRequest {
    /// The subject.
    pub sub: String,
    /// Whether the access token is fresh (straight from a login).
    pub fresh: bool,
    /// Custom claims; reserved names are refused.
    pub claims: Map<String, Value>,
    /// Access token lifetime in seconds; `None` = the configured default.
    pub access_ttl: Option<u64>,
    /// Refresh token lifetime in seconds; `None` = the configured default.
    pub refresh_ttl: Option<u64>,
    /// Continue this family (refresh rotation) instead of starting a new one.
    pub family: Option<String>,
    /// A CSRF value to embed (cookie mode).
    pub csrf: Option<String>,
}

impl IssueRequest {
    /// A request for `sub` with defaults.
    pub fn new(sub: impl Into<String>) -> Self {
        IssueRequest { sub: sub.into(), ..Default::default() }
    }

    /// Marks the access token fresh.
    pub fn fresh(mut self, fresh: bool) -> Self {
        self.fresh = fresh;
        self
    }

    /// Adds a custom claim.
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.claims.insert(name.into(), value.into());
        self
    }
}

/// An access token and a refresh token of one family.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenPair {
    /// The signed access token.
    pub access_token: String,
    /// The signed refresh token.
    pub refresh_token: String,
    /// The access token's claims.
    pub access: Claims,
    /// The refresh token's claims.
    pub refresh: Claims,
}

/// A registry entry with its current status.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TokenStatus {
    /// The issued token.
    #[serde(flatten)]
    pub token: IssuedToken,
    /// `"active"`, `"revoked"` or `"expired"`.
    pub status: &'static str,
}

/// Builds a [`Revokd`]; every option has a documented default.
#[must_use]
pub struct Builder {
    keys: KeySet,
    store: Arc<dyn Store>,
    policy: TokenPolicy,
    foreign: Vec<ForeignIssuer>,
    verify_cache: Option<crate::token::CacheConfig>,
    clock: SharedClock,
    access_ttl: u64,
    refresh_ttl: u64,
    check_types: Vec<TokenType>,
    record_tokens: bool,
    poll_interval: Option<Duration>,
    prune_interval: Option<Duration>,
    on_unreachable: OnUnreachable,
}

/// Waits between failed feed rounds: from the first to the last, doubling.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(5));
/// A feed round that takes longer than the poll interval plus this counts as failed
/// (longer than any store's own answer timeout, so the store's cleanup runs first).
const ROUND_LIMIT: Duration = Duration::from_secs(15);

impl Builder {
    /// Token validation policy (issuer, audience, leeway, size and lifetime limits).
    /// Defaults to [`TokenPolicy::default`].
    pub fn policy(mut self, policy: TokenPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Keep successful verifications in a bounded cache ([`crate::token::CacheConfig`]):
    /// a token seen again skips its parse and signature check, never the time, type,
    /// issuer, audience or revocation checks. On by default with
    /// [`CacheConfig::default`](crate::token::CacheConfig) (asymmetric signatures cost
    /// 10–25× an HS256 one, and a client sends the same token until it expires), so the
    /// service and the axum layer have it; `None` turns it off.
    pub fn verify_cache(mut self, config: Option<crate::token::CacheConfig>) -> Self {
        self.verify_cache = config;
        self
    }

    /// Accept tokens of a foreign issuer too. Defaults to none.
    pub fn foreign_issuer(mut self, issuer: ForeignIssuer) -> Self {
        self.foreign.push(issuer);
        self
    }

    /// The clock. Defaults to the system clock.
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Access token lifetime in seconds. Defaults to 900.
    pub fn access_ttl(mut self, secs: u64) -> Self {
        self.access_ttl = secs;
        self
    }

    /// Refresh token lifetime in seconds. Defaults to 2592000 (30 days).
    pub fn refresh_ttl(mut self, secs: u64) -> Self {
        self.refresh_ttl = secs;
        self
    }

    /// Which token types are checked against revocation (flask-jwt-extended's
    /// `JWT_BLACKLIST_TOKEN_CHECKS`). Defaults to both. **Leaving a type out means its
    /// tokens stay valid after revocation.**
    pub fn check_types(mut self, types: &[TokenType]) -> Self {
        self.check_types = types.to_vec();
        self
    }

    /// Whether issued tokens are recorded in the store's registry (for listing a
    /// subject's tokens). Costs one durable write per issue. Defaults to `true`.
    pub fn record_tokens(mut self, on: bool) -> Self {
        self.record_tokens = on;
        self
    }

    /// How long a feed round waits for the store's push channel before it reads the
    /// feed anyway: the poll interval of a store without push (SQLite across processes),
    /// the repair timer of one with push (PostgreSQL, Redis), so a lost notification
    /// costs at most this long. `None` turns following off (call [`Revokd::catch_up`]
    /// yourself). Defaults to 100 ms.
    pub fn poll_interval(mut self, every: Option<Duration>) -> Self {
        self.poll_interval = every;
        self
    }

    /// What checks do while the store cannot be reached ([`OnUnreachable`]): keep
    /// answering from the last known index (the default) or refuse with
    /// [`Error::NotReady`]. Needs following on ([`Builder::poll_interval`]).
    pub fn on_store_unreachable(mut self, mode: OnUnreachable) -> Self {
        self.on_unreachable = mode;
        self
    }

    /// How often expired rules are pruned from the index (a bounded step each time)
    /// and from the store (every 60th time); `None` turns it off. Defaults to 1 s.
    pub fn prune_interval(mut self, every: Option<Duration>) -> Self {
        self.prune_interval = every;
        self
    }

    /// Loads the live rules from the store (the returned value is ready) and starts
    /// following the store's feed. Must run inside a Tokio runtime.
    pub async fn build(self) -> Result<Revokd> {
        check_ttl(self.access_ttl)?;
        check_ttl(self.refresh_ttl)?;
        let store = self.store;
        // The longest lifetime must be durable before any token that long exists.
        let longest = store.raise_max_lifetime(self.access_ttl.max(self.refresh_ttl)).await?;
        let follower = Follower::load(Arc::clone(&store)).await?;
        let mut tokens = Tokens::new(self.keys, self.policy);
        for f in self.foreign {
            tokens = tokens.with_foreign(f);
        }
        if let Some(c) = self.verify_cache {
            tokens = tokens.with_cache(c);
        }
        let shared = Arc::new(Shared {
            tokens,
            follower,
            store,
            clock: self.clock,
            longest: AtomicU64::new(longest),
            access_ttl: self.access_ttl,
            refresh_ttl: self.refresh_ttl,
            check_access: self.check_types.contains(&TokenType::Access),
            check_refresh: self.check_types.contains(&TokenType::Refresh),
            record_tokens: self.record_tokens,
            refuse_unreachable: self.on_unreachable == OnUnreachable::Refuse && self.poll_interval.is_some(),
        });
        let mut tasks = Vec::new();
        if let Some(every) = self.poll_interval {
            tasks.push(tokio::spawn(follow(Arc::downgrade(&shared), every)));
            let stale_after = STALE_AFTER.max(every * 2 + Duration::from_secs(1));
            tasks.push(tokio::spawn(watch_health(Arc::downgrade(&shared), stale_after, self.on_unreachable)));
        }
        if let Some(every) = self.prune_interval {
            let weak = Arc::downgrade(&shared);
            tasks.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let mut n = 0u64;
                loop {
                    tick.tick().await;
                    let Some(s) = weak.upgrade() else { break };
                    let now = s.clock.now_secs();
                    s.follower.index().prune(now, 65_536);
                    // Expired cache entries leave every 10 s (eviction handles a full cache).
                    if n.is_multiple_of(10) {
                        s.tokens.purge_cache(now);
                    }
                    if n.is_multiple_of(60)
                        && let Err(e) = s.store.prune(now).await
                    {
                        tracing::warn!(error = %e, "store prune failed");
                    }
                    n += 1;
                }
            }));
        }
        Ok(Revokd { shared, _tasks: Arc::new(Tasks(tasks)) })
    }
}

/// Follows the store's feed: push-woken rounds, a failed round retried with backoff.
async fn follow(weak: std::sync::Weak<Shared>, every: Duration) {
    let mut backoff = BACKOFF.0;
    let mut failing = false;
    loop {
        let Some(s) = weak.upgrade() else { break };
        let round = tokio::time::timeout(every + ROUND_LIMIT, s.follower.follow_once(every)).await;
        let error = match round {
            Ok(Ok(_)) => {
                backoff = BACKOFF.0;
                failing = false;
                continue;
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => {
                s.follower.mark_failed();
                format!("no answer within {:?}", every + ROUND_LIMIT)
            }
        };
        drop(s);
        if !failing {
            tracing::warn!(%error, "cannot read the revocation feed; retrying with backoff");
            failing = true;
        } else {
            tracing::debug!(%error, ?backoff, "feed round failed");
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF.1);
    }
}

/// Re-evaluates whether the store counts as reachable, and says so when it changes.
async fn watch_health(weak: std::sync::Weak<Shared>, stale_after: Duration, mode: OnUnreachable) {
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(s) = weak.upgrade() else { break };
        let (reachable, changed) = s.follower.refresh_health(stale_after);
        if !changed {
            continue;
        }
        let seq = s.follower.applied_seq();
        match (reachable, mode) {
            // (a successful round says so itself, at once: Follower::mark_ok)
            (true, _) => {}
            (false, OnUnreachable::ServeLastKnown) => tracing::warn!(
                seq,
                "store unreachable for {stale_after:?}: serving the last known revocation index \
                 (on_store_unreachable = serve_last_known); revocations made elsewhere arrive when it answers"
            ),
            (false, OnUnreachable::Refuse) => tracing::error!(
                seq,
                "store unreachable for {stale_after:?}: refusing checks until it answers \
                 (on_store_unreachable = refuse)"
            ),
        }
    }
}

struct Tasks(Vec<JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for t in &self.0 {
            t.abort();
        }
    }
}

struct Shared {
    tokens: Tokens,
    follower: Follower,
    store: Arc<dyn Store>,
    clock: SharedClock,
    longest: AtomicU64,
    access_ttl: u64,
    refresh_ttl: u64,
    check_access: bool,
    check_refresh: bool,
    record_tokens: bool,
    refuse_unreachable: bool,
}

/// Keys, index, store and policy: issue, verify, revoke, unrevoke, list.
///
/// Cheap to clone; background tasks (feed following, pruning) stop when the last
/// clone is dropped.
#[derive(Clone)]
pub struct Revokd {
    shared: Arc<Shared>,
    _tasks: Arc<Tasks>,
}

impl std::fmt::Debug for Revokd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Revokd")
            .field("store", &self.shared.store)
            .field("applied_seq", &self.shared.follower.applied_seq())
            .finish()
    }
}

impl Revokd {
    /// Starts a builder with the keys and the store.
    pub fn builder(keys: KeySet, store: Arc<dyn Store>) -> Builder {
        Builder {
            keys,
            store,
            policy: TokenPolicy::default(),
            foreign: Vec::new(),
            verify_cache: Some(crate::token::CacheConfig::default()),
            clock: Arc::new(SystemClock),
            access_ttl: 900,
            refresh_ttl: 2_592_000,
            check_types: vec![TokenType::Access, TokenType::Refresh],
            record_tokens: true,
            poll_interval: Some(Duration::from_millis(100)),
            prune_interval: Some(Duration::from_secs(1)),
            on_unreachable: OnUnreachable::default(),
        }
    }

    /// The Ed25519 signing key kept in `store` for deployments with no configured keys:
    /// generated and stored on first use, then the same for every process sharing the
    /// store. Returns the key and whether this call generated it (so the caller can log
    /// its `kid` — never the key). On PostgreSQL and Redis the key is stored in plain
    /// form; prefer configured keys from files in production.
    pub async fn generated_key(store: &dyn Store) -> Result<(crate::token::Key, bool)> {
        let (fresh, der) = crate::token::Key::generate_ed25519()?;
        let stored = store.secret_or_insert(GENERATED_KEY, der.clone()).await?;
        let created = stored == der;
        let key = crate::token::Key::from_ed25519_pkcs8("", &stored)?;
        let kid = key.fingerprint_hex()[..16].to_owned();
        debug_assert!(!created || kid == fresh.kid());
        Ok((key.with_kid(kid), created))
    }

    fn lifetimes(&self) -> Lifetimes {
        let policy = self.shared.tokens.policy();
        Lifetimes {
            leeway: policy.leeway_secs(),
            longest: self.shared.longest.load(Ordering::Relaxed).max(policy.max_token_lifetime_secs()),
        }
    }

    /// The token issuer and verifier.
    pub fn tokens(&self) -> &Tokens {
        &self.shared.tokens
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.shared.store
    }

    /// The verified-token cache's counters (`None`: no cache).
    pub fn cache_stats(&self) -> Option<crate::token::CacheStats> {
        self.shared.tokens.cache_stats()
    }

    /// Index sizes.
    pub fn index_stats(&self) -> IndexStats {
        self.shared.follower.index().stats()
    }

    /// The last feed sequence number applied.
    pub fn applied_seq(&self) -> u64 {
        self.shared.follower.applied_seq()
    }

    /// Whether the store counts as reachable: a feed round succeeded within
    /// [`STALE_AFTER`](crate::sync::STALE_AFTER).
    pub fn store_reachable(&self) -> bool {
        self.shared.follower.store_reachable()
    }

    /// Whether checks are answered now: always in `serve_last_known` mode; in `refuse`
    /// mode only while the store is reachable.
    pub fn ready(&self) -> bool {
        !self.shared.refuse_unreachable || self.shared.follower.store_reachable()
    }

    /// Where following the store stands: applied and head sequence numbers, time
    /// since the last round, outages, the push channel.
    pub fn sync_stats(&self) -> crate::sync::SyncStats {
        self.shared.follower.stats()
    }

    /// Reads the feed now and applies what is new (the background poll does this every
    /// interval). Returns how many events were applied.
    pub async fn catch_up(&self) -> Result<usize> {
        Ok(self.shared.follower.catch_up().await?)
    }

    /// Issues an access and a refresh token of one family.
    pub async fn issue(&self, req: IssueRequest) -> Result<TokenPair> {
        if req.sub.is_empty() {
            return Err(Error::InvalidRequest("`sub` must not be empty".into()));
        }
        if let Some(name) = req.claims.keys().find(|k| RESERVED_CLAIMS.contains(&k.as_str())) {
            return Err(Error::ReservedClaim(name.clone()));
        }
        let access_ttl = req.access_ttl.unwrap_or(self.shared.access_ttl);
        let refresh_ttl = req.refresh_ttl.unwrap_or(self.shared.refresh_ttl);
        check_ttl(access_ttl)?;
        check_ttl(refresh_ttl)?;
        let family = req.family.clone().map(canonical_uuid);
        if let Some(f) = &family
            && self.shared.follower.index().family_revoked(f)
        {
            return Err(Error::TokenRevoked);
        }
        let longest = access_ttl.max(refresh_ttl);
        if longest > self.shared.longest.load(Ordering::Relaxed) {
            let stored = self.shared.store.raise_max_lifetime(longest).await?;
            self.shared.longest.fetch_max(stored, Ordering::Relaxed);
        }
        let now_ms = self.shared.clock.now_ms();
        let fam = family.unwrap_or_else(|| new_uuid_v7(now_ms).to_string());
        let make = |token_type: TokenType, ttl: u64, fresh: bool| {
            let jti = new_uuid_v7(now_ms).to_string();
            let iat = now_ms / 1000;
            Claims {
                jti,
                sub: req.sub.clone(),
                iat,
                nbf: Some(iat),
                exp: iat + ttl,
                token_type,
                fresh,
                fam: Some(fam.clone()),
                iss: self.shared.tokens.policy().issuer_name().map(str::to_owned),
                aud: self.shared.tokens.policy().audience.clone().map(crate::token::Audience::One),
                csrf: req.csrf.clone(),
                custom: req.claims.clone(),
            }
        };
        let access = make(TokenType::Access, access_ttl, req.fresh);
        let refresh = make(TokenType::Refresh, refresh_ttl, false);
        let access_token = self.shared.tokens.sign(&access)?;
        let refresh_token = self.shared.tokens.sign(&refresh)?;
        if self.shared.record_tokens {
            for c in [&access, &refresh] {
                self.shared
                    .store
                    .record_token(IssuedToken {
                        jti: c.jti.clone(),
                        sub: c.sub.clone(),
                        token_type: c.token_type,
                        fam: c.fam.clone(),
                        iat: c.iat,
                        exp: c.exp,
                    })
                    .await?;
            }
        }
        Ok(TokenPair { access_token, refresh_token, access, refresh })
    }

    /// Verifies a token of the `expected` type: signature, claims and — if its type is
    /// among `check_types` — revocation, from memory. Synchronous; no I/O.
    pub fn verify(&self, token: &str, expected: TokenType) -> Result<Verified> {
        let now = self.shared.clock.now_secs();
        let v = self.shared.tokens.verify(token, expected, now)?;
        self.check(&v)?;
        Ok(v)
    }

    /// The revocation check alone for an already verified token.
    #[inline]
    pub fn check(&self, v: &Verified) -> Result<()> {
        let checked = match v.claims.token_type {
            TokenType::Access => self.shared.check_access,
            TokenType::Refresh => self.shared.check_refresh,
        };
        if checked {
            if self.shared.refuse_unreachable && !self.shared.follower.store_reachable() {
                return Err(Error::NotReady);
            }
            if self.shared.follower.index().check(v, &self.shared.tokens) {
                return Err(Error::TokenRevoked);
            }
        }
        Ok(())
    }

    /// Revokes `target`. Returns once the revocation is durable in the store; it is in
    /// this process's index before this returns, and in every other process following
    /// the store after its next feed round.
    pub async fn revoke(&self, target: Target, reason: Option<String>, actor: impl Into<String>) -> Result<Revocation> {
        let now_ms = self.shared.clock.now_ms();
        let now = now_ms / 1000;
        // Another process may have issued longer-lived tokens: the store knows.
        let stored = self.shared.store.max_lifetime().await?;
        self.shared.longest.fetch_max(stored, Ordering::Relaxed);
        let l = self.lifetimes();
        let cutoff = |before_ms: Option<u64>| -> Result<u64> {
            let b = before_ms.unwrap_or(now_ms);
            if b > now_ms.saturating_add(MAX_TTL * 1000) {
                return Err(Error::InvalidRequest("the cutoff is too far in the future".into()));
            }
            Ok(b)
        };
        let (kind, target_s, iss, before_ms, expires_at) = match target {
            Target::Jti { iss, jti, exp } => {
                let iss = self.scope(iss)?;
                if jti.is_empty() {
                    return Err(Error::InvalidRequest("`jti` must not be empty".into()));
                }
                // Our jtis are UUIDs: keep the canonical text the index keys on.
                let jti = if iss.is_none() { canonical_uuid(jti) } else { jti };
                (RuleKind::Jti, Some(jti), iss, None, l.jti_expiry(now, exp))
            }
            Target::Subject { iss, sub, before_ms } => {
                let iss = self.scope(iss)?;
                if sub.is_empty() {
                    return Err(Error::InvalidRequest("`sub` must not be empty".into()));
                }
                let b = cutoff(before_ms)?;
                (RuleKind::Subject, Some(sub), iss, Some(b), l.cutoff_expiry(b))
            }
            Target::Family { fam } => {
                if fam.is_empty() {
                    return Err(Error::InvalidRequest("`family` must not be empty".into()));
                }
                let latest =
                    if self.shared.record_tokens { self.shared.store.family_latest_exp(&fam).await? } else { None };
                (RuleKind::Family, Some(canonical_uuid(fam)), None, None, l.family_expiry(now, latest))
            }
            Target::All { before_ms } => {
                let b = cutoff(before_ms)?;
                (RuleKind::All, None, None, Some(b), l.cutoff_expiry(b))
            }
        };
        let actor = actor.into();
        let new = NewRevocation {
            kind,
            target: target_s,
            iss,
            before_ms,
            created_at: now,
            expires_at,
            reason: reason.clone(),
            actor: actor.clone(),
        };
        for _ in 0..3 {
            let event = self.shared.store.append(Change::Revoke(new.clone())).await?;
            self.shared.follower.apply_own(&event);
            let existing = &event.revocation;
            // Revoking what a holder had revoked makes the rule ours: the holder can no
            // longer undo it (API.md: only a revocation the caller made).
            if existing.actor == actor || !is_holder(&existing.actor) || is_holder(&actor) {
                return Ok(event.revocation);
            }
            let change = Change::Reassign { id: existing.id.clone(), actor: actor.clone(), reason: reason.clone() };
            match self.shared.store.append(change).await {
                Ok(e) => {
                    self.shared.follower.apply_own(&e);
                    return Ok(e.revocation);
                }
                // The holder undid it meanwhile: revoke afresh.
                Err(StoreError::NotFound) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Store(StoreError::Conflict("the rule kept changing while it was revoked".into())))
    }

    /// The issuer scope of a rule: `None` (ours) for no issuer or our own issuer's name,
    /// the name of a configured foreign issuer, or an error for any other.
    fn scope(&self, iss: Option<String>) -> Result<Option<String>> {
        let tokens = &self.shared.tokens;
        match iss {
            None => Ok(None),
            Some(i) if tokens.policy().issuer_name() == Some(i.as_str()) => Ok(None),
            Some(i) if tokens.foreign().iter().any(|f| f.issuer == i) => Ok(Some(i)),
            Some(i) => {
                Err(Error::InvalidRequest(format!("`{i}` is neither our issuer nor a configured foreign issuer")))
            }
        }
    }

    /// Revokes a presented token: an access token by its `jti`, a refresh token by its
    /// family (as RFC 7009 revocation of a refresh token ends the session). The token
    /// must verify (revoked already is fine).
    pub async fn revoke_token(
        &self,
        token: &str,
        reason: Option<String>,
        actor: impl Into<String>,
    ) -> Result<Revocation> {
        let now = self.shared.clock.now_secs();
        let v = match self.shared.tokens.verify(token, TokenType::Access, now) {
            Err(Error::WrongTokenType { .. }) => self.shared.tokens.verify(token, TokenType::Refresh, now)?,
            other => other?,
        };
        let iss = match v.origin {
            Origin::Own => None,
            Origin::Foreign(i) => self.shared.tokens.foreign().get(i).map(|f| f.issuer.clone()),
        };
        let target = match (&v.claims.token_type, &v.claims.fam, &iss) {
            (TokenType::Refresh, Some(fam), None) => Target::Family { fam: fam.clone() },
            _ if v.claims.jti.is_empty() => {
                return Err(Error::InvalidRequest("the token has no `jti` to revoke".into()));
            }
            _ => Target::Jti { iss, jti: v.claims.jti.clone(), exp: Some(v.claims.exp) },
        };
        self.revoke(target, reason, actor).await
    }

    /// Undoes a `jti` or `subject` revocation. Unknown or already undone:
    /// [`Error::NotFound`]; family or `all`: [`Error::NotReversible`].
    pub async fn unrevoke(&self, id: &str) -> Result<Revocation> {
        let event = self.shared.store.append(Change::Unrevoke { id: id.to_owned() }).await.map_err(|e| match e {
            StoreError::NotFound => Error::NotFound,
            StoreError::NotReversible => Error::NotReversible,
            other => Error::Store(other),
        })?;
        self.shared.follower.apply_own(&event);
        Ok(event.revocation)
    }

    /// The status of one of our issued tokens now: `"active"`, `"revoked"` (a rule
    /// matches and its type is checked) or `"expired"`.
    pub fn status_of(&self, t: &IssuedToken) -> &'static str {
        let index = self.shared.follower.index();
        let now = self.shared.clock.now_secs();
        Self::status_at(&self.shared, &index, t, now, self.shared.tokens.policy().leeway_secs())
    }

    fn status_at(shared: &Shared, index: &crate::index::Index, t: &IssuedToken, now: u64, leeway: u64) -> &'static str {
        let issued_ms = uuid_v7_ms(&t.jti).unwrap_or(t.iat * 1000);
        let checked = match t.token_type {
            TokenType::Access => shared.check_access,
            TokenType::Refresh => shared.check_refresh,
        };
        if now >= t.exp.saturating_add(leeway) {
            "expired"
        } else if checked && index.check_parts(None, &t.jti, &t.sub, t.fam.as_deref(), issued_ms) {
            "revoked"
        } else {
            "active"
        }
    }

    /// Our tokens of `sub` from the registry (all subjects if `None`), each with its
    /// status now.
    pub async fn tokens_of(&self, sub: Option<&str>, cursor: Option<&str>, limit: usize) -> Result<Page<TokenStatus>> {
        let page = self.shared.store.tokens(sub, cursor, limit.clamp(1, 1000)).await?;
        let now = self.shared.clock.now_secs();
        let index = self.shared.follower.index();
        let leeway = self.shared.tokens.policy().leeway_secs();
        let items = page
            .items
            .into_iter()
            .map(|t| {
                let status = Self::status_at(&self.shared, &index, &t, now, leeway);
                TokenStatus { token: t, status }
            })
            .collect();
        Ok(Page { items, next: page.next })
    }
}

/// Whether an actor label is a token holder's (`holder`, `subject:<sub>`).
fn is_holder(actor: &str) -> bool {
    actor == "holder" || actor.starts_with("subject:")
}

/// The longest token lifetime accepted, seconds (10 years): bounds every sum of times.
pub const MAX_TTL: u64 = 315_576_000;

fn check_ttl(ttl: u64) -> Result<()> {
    if ttl == 0 || ttl > MAX_TTL {
        return Err(Error::InvalidRequest(format!("token lifetimes must be between 1 and {MAX_TTL} seconds")));
    }
    Ok(())
}

/// Where [`Revokd::generated_key`] keeps its key.
const GENERATED_KEY: &str = "signing-key/ed25519";

/// The lowercase hyphenated form of a UUID given in any form; other text unchanged.
fn canonical_uuid(s: String) -> String {
    Uuid::try_parse(&s).map(|u| u.to_string()).unwrap_or(s)
}

/// A UUIDv7 carrying `ms` as its timestamp, the rest random.
fn new_uuid_v7(ms: u64) -> Uuid {
    let random: [u8; 10] = rand::random();
    uuid::Builder::from_unix_timestamp_millis(ms, &random).into_uuid()
}
