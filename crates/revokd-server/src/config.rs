//! Configuration: `revokd.toml` (or `--config PATH`), then `REVOKD_<KEY>` environment
//! variables, then flags (API.md, "Configuration"). Unknown keys in the file stop
//! start-up with a message naming them; every bad value names its key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use revokd::store::{Durability, redact_url};
use revokd::{Algorithm, Key, KeySet, OnUnreachable, TokenType};
use serde::Deserialize;

/// A configuration error: which key, and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("configuration: `{key}`: {problem}")]
pub struct ConfigError {
    /// The key (or environment variable) at fault.
    pub key: String,
    /// What is wrong.
    pub problem: String,
}

fn bad(key: impl Into<String>, problem: impl Into<String>) -> ConfigError {
    ConfigError { key: key.into(), problem: problem.into() }
}

/// One `[[keys]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    /// Key id.
    pub kid: String,
    /// `HS256`, `HS384`, `HS512`, `RS256`, `ES256` or `EdDSA`.
    pub algorithm: String,
    /// HMAC secret (UTF-8 bytes as written).
    pub secret: Option<String>,
    /// Path of a private key PEM.
    pub private_key_pem: Option<PathBuf>,
    /// Path of a public key PEM (verify only).
    pub public_key_pem: Option<PathBuf>,
}

/// One `[[clients]]` entry (OAuth clients of `/oauth/revoke` and `/oauth/introspect`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// Client id.
    pub id: String,
    /// Client secret (at least 16 bytes).
    pub secret: String,
}

/// One `[[issuers]]` entry: a foreign identity provider whose tokens are checked and
/// revoked like our own.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// Must equal the tokens' `iss`.
    pub issuer: String,
    /// If set, must be among the tokens' `aud`.
    pub audience: Option<String>,
    /// A JWKS file.
    pub jwks_file: Option<PathBuf>,
    /// A JWKS URL (https, or http on a loopback address): fetched at start, again on an
    /// unknown `kid` (at most once per 10 s) and every `jwks_refresh` seconds.
    pub jwks_url: Option<String>,
    /// Seconds between fetches of `jwks_url` (default 300; a shorter `Cache-Control:
    /// max-age` in the answer wins).
    pub jwks_refresh: Option<u64>,
}

impl IssuerConfig {
    /// Seconds between fetches of `jwks_url`.
    pub fn refresh_secs(&self) -> u64 {
        self.jwks_refresh.unwrap_or(300)
    }
}

/// Checks a JWKS URL: https, or http on a loopback address (keys fetched in clear text
/// from elsewhere could be replaced on the way).
pub fn check_jwks_url(url: &str) -> Result<axum::http::Uri, String> {
    let uri: axum::http::Uri = url.parse().map_err(|_| format!("`{url}` is not a URL"))?;
    let host = uri.host().ok_or_else(|| format!("`{url}` has no host"))?;
    match uri.scheme_str() {
        Some("https") => Ok(uri),
        Some("http") => {
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            let loopback = bare == "localhost" || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
            if loopback {
                Ok(uri)
            } else {
                Err(format!("`{url}`: http is allowed on a loopback address only; use https"))
            }
        }
        _ => Err(format!("`{url}` must be an https URL")),
    }
}

/// `[verify_cache]` (API.md): on by default. A cache hit skips the parse and the
/// signature check of a token seen before (an RS256 or EdDSA signature costs 10–25× an
/// HS256 one, and a client sends the same token until it expires), never the time, type,
/// issuer, audience or revocation checks.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyCacheConfig {
    /// Default true.
    pub enabled: Option<bool>,
    /// Most entries held; default 100,000.
    pub capacity: Option<u64>,
    /// Longer tokens are verified every time; default 8,192 bytes.
    pub max_token_bytes: Option<u64>,
    /// Longest an entry lives, seconds; default 300.
    pub max_lifetime: Option<u64>,
}

impl VerifyCacheConfig {
    fn resolve(self) -> Result<Option<revokd::token::CacheConfig>, ConfigError> {
        if self.enabled == Some(false) {
            return Ok(None);
        }
        let d = revokd::token::CacheConfig::default();
        let capacity = self.capacity.map_or(Ok(d.capacity), |c| {
            usize::try_from(c)
                .ok()
                .filter(|c| (1..=100_000_000).contains(c))
                .ok_or_else(|| bad("verify_cache.capacity", "must be between 1 and 100000000 (or enabled = false)"))
        })?;
        let max_token_bytes = self.max_token_bytes.map_or(Ok(d.max_token_bytes), |b| {
            usize::try_from(b)
                .ok()
                .filter(|b| *b >= 64)
                .ok_or_else(|| bad("verify_cache.max_token_bytes", "must be at least 64"))
        })?;
        let max_lifetime_secs = match self.max_lifetime {
            None => d.max_lifetime_secs,
            Some(0) => return Err(bad("verify_cache.max_lifetime", "must be at least 1 second (or enabled = false)")),
            Some(s) => s.min(revokd::MAX_TTL),
        };
        Ok(Some(revokd::token::CacheConfig { capacity, max_token_bytes, max_lifetime_secs }))
    }
}

/// The file's shape: every key API.md lists. Keys for features this version does not
/// have yet are refused by [`Settings::resolve`] rather than silently ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    listen: Option<String>,
    public_url: Option<String>,
    store: Option<String>,
    durability: Option<String>,
    admin_tokens: Option<Vec<String>>,
    feed_tokens: Option<Vec<String>>,
    access_ttl: Option<u64>,
    refresh_ttl: Option<u64>,
    family_max_age: Option<u64>,
    leeway: Option<u64>,
    issuer: Option<String>,
    audience: Option<String>,
    check_types: Option<Vec<String>>,
    refresh_reuse_grace: Option<u64>,
    on_store_unreachable: Option<String>,
    max_token_lifetime: Option<u64>,
    cookies: Option<bool>,
    rate_limit_per_minute: Option<u64>,
    max_body_bytes: Option<u64>,
    max_header_bytes: Option<u64>,
    request_timeout: Option<u64>,
    verify_cache: Option<VerifyCacheConfig>,
    #[serde(default)]
    keys: Vec<KeyConfig>,
    #[serde(default)]
    issuers: Vec<IssuerConfig>,
    #[serde(default)]
    clients: Vec<ClientConfig>,
}

/// Kinds of value a top-level key holds, for reading it from the environment.
enum Kind {
    Str,
    Int,
    Bool,
    List,
}

const ENV_KEYS: &[(&str, Kind)] = &[
    ("listen", Kind::Str),
    ("public_url", Kind::Str),
    ("store", Kind::Str),
    ("durability", Kind::Str),
    ("admin_tokens", Kind::List),
    ("feed_tokens", Kind::List),
    ("access_ttl", Kind::Int),
    ("refresh_ttl", Kind::Int),
    ("family_max_age", Kind::Int),
    ("leeway", Kind::Int),
    ("issuer", Kind::Str),
    ("audience", Kind::Str),
    ("check_types", Kind::List),
    ("refresh_reuse_grace", Kind::Int),
    ("on_store_unreachable", Kind::Str),
    ("max_token_lifetime", Kind::Int),
    ("cookies", Kind::Bool),
    ("rate_limit_per_minute", Kind::Int),
    ("max_body_bytes", Kind::Int),
    ("max_header_bytes", Kind::Int),
    ("request_timeout", Kind::Int),
];

/// Flags given on the command line; they win over file and environment.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--listen`.
    pub listen: Option<String>,
    /// `--store`.
    pub store: Option<String>,
}

/// The resolved configuration, every default applied.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Base of every absolute URL revokd publishes.
    pub public_url: String,
    /// Store URL.
    pub store: String,
    /// SQLite durability.
    pub durability: Durability,
    /// What checks do while the store cannot be reached.
    pub on_store_unreachable: OnUnreachable,
    /// Admin tokens (empty: generated on SQLite).
    pub admin_tokens: Vec<String>,
    /// Feed-reader tokens.
    pub feed_tokens: Vec<String>,
    /// Access token lifetime, seconds.
    pub access_ttl: u64,
    /// Refresh token lifetime, seconds.
    pub refresh_ttl: u64,
    /// A family ends this long after its login, seconds.
    pub family_max_age: u64,
    /// Clock skew tolerated, seconds.
    pub leeway: u64,
    /// `iss` of our tokens.
    pub issuer: String,
    /// `aud` of our tokens, if any.
    pub audience: Option<String>,
    /// Token types checked against revocation.
    pub check_types: Vec<TokenType>,
    /// Seconds within which a consumed refresh token may be presented again.
    pub refresh_reuse_grace: u64,
    /// Longest foreign token lifetime, seconds.
    pub max_token_lifetime: u64,
    /// Largest request body, bytes.
    pub max_body_bytes: usize,
    /// Failed requests per IP and minute before 429 (0 = off).
    pub rate_limit_per_minute: u64,
    /// Largest total size of the request headers (names and values), bytes.
    pub max_header_bytes: usize,
    /// Longest request, seconds.
    pub request_timeout: u64,
    /// Cookie mode: `/v1/verify` also reads the `access_token_cookie` cookie (with the
    /// CSRF double-submit check), and issued tokens carry a `csrf` claim.
    pub cookies: bool,
    /// The verified-token cache (`None`: off).
    pub verify_cache: Option<revokd::token::CacheConfig>,
    /// Configured keys.
    pub keys: Vec<KeyConfig>,
    /// OAuth clients.
    pub clients: Vec<ClientConfig>,
    /// Foreign issuers.
    pub issuers: Vec<IssuerConfig>,
    /// Where the configuration file was (for resolving relative key paths).
    pub base_dir: PathBuf,
    /// Whether `public_url` / `issuer` were derived from `listen` (so a port chosen by
    /// the system, `:0`, can replace them once bound).
    derived_urls: (bool, bool),
}

fn env_value(key: &str, kind: &Kind, raw: &str) -> Result<toml::Value, ConfigError> {
    let var = format!("REVOKD_{}", key.to_uppercase());
    Ok(match kind {
        Kind::Str => toml::Value::String(raw.to_owned()),
        Kind::Int => toml::Value::Integer(
            raw.trim().parse::<i64>().ok().filter(|v| *v >= 0).ok_or_else(|| bad(&var, "expected a whole number"))?,
        ),
        Kind::Bool => toml::Value::Boolean(match raw.trim() {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => return Err(bad(&var, "expected true or false")),
        }),
        Kind::List => toml::Value::Array(
            raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| toml::Value::String(s.into())).collect(),
        ),
    })
}

impl Settings {
    /// Reads the file (if `path` is given, it must exist; else `revokd.toml` if
    /// present), then the environment (`env` is the process environment, passed in for
    /// tests), then `overrides`.
    pub fn resolve(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        overrides: &Overrides,
    ) -> Result<Settings, ConfigError> {
        let (mut table, base_dir) = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| bad("--config", format!("cannot read {}: {e}", p.display())))?;
                (parse(&text, p)?, p.parent().map(Path::to_path_buf).unwrap_or_default())
            }
            None if Path::new("revokd.toml").exists() => {
                let text = std::fs::read_to_string("revokd.toml")
                    .map_err(|e| bad("revokd.toml", format!("cannot read: {e}")))?;
                (parse(&text, Path::new("revokd.toml"))?, PathBuf::from("."))
            }
            None => (toml::Table::new(), PathBuf::from(".")),
        };
        let env: std::collections::HashMap<String, String> = env.into_iter().collect();
        for (key, kind) in ENV_KEYS {
            if let Some(raw) = env.get(&format!("REVOKD_{}", key.to_uppercase())) {
                table.insert((*key).into(), env_value(key, kind, raw)?);
            }
        }
        if !env.contains_key("REVOKD_ADMIN_TOKENS")
            && let Some(one) = env.get("REVOKD_ADMIN_TOKEN")
        {
            table.insert("admin_tokens".into(), env_value("admin_tokens", &Kind::List, one)?);
        }
        if let Some(l) = &overrides.listen {
            table.insert("listen".into(), toml::Value::String(l.clone()));
        }
        if let Some(s) = &overrides.store {
            table.insert("store".into(), toml::Value::String(s.clone()));
        }
        let file: File = table
            .try_into()
            .map_err(|e: toml::de::Error| bad("configuration", redact_strings(e.to_string().trim())))?;
        Settings::from_file(file, base_dir)
    }

    fn from_file(f: File, base_dir: PathBuf) -> Result<Settings, ConfigError> {
        let on_store_unreachable = match f.on_store_unreachable.as_deref() {
            None => OnUnreachable::default(),
            Some(v) => v.parse().map_err(|e: revokd::Error| bad("on_store_unreachable", e.to_string()))?,
        };
        let verify_cache = f.verify_cache.unwrap_or_default().resolve()?;
        for (i, iss) in f.issuers.iter().enumerate() {
            match (&iss.jwks_file, &iss.jwks_url) {
                (Some(_), None) => {}
                (None, Some(url)) => {
                    check_jwks_url(url).map_err(|e| bad(format!("issuers[{i}].jwks_url"), e))?;
                }
                _ => return Err(bad(format!("issuers[{i}]"), "give exactly one of `jwks_file`, `jwks_url`")),
            }
            if iss.jwks_refresh == Some(0) {
                return Err(bad(format!("issuers[{i}].jwks_refresh"), "must be at least 1 second"));
            }
        }
        let listen_s = f.listen.unwrap_or_else(|| "127.0.0.1:8080".into());
        let listen: SocketAddr = listen_s
            .parse()
            .map_err(|_| bad("listen", format!("`{listen_s}` is not an address like 127.0.0.1:8080")))?;
        let derived_urls = (f.public_url.is_none(), f.issuer.is_none());
        let public_url = f.public_url.unwrap_or_else(|| format!("http://{listen}"));
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) || public_url.contains(' ') {
            return Err(bad("public_url", format!("`{public_url}` is not an http(s) URL")));
        }
        let public_url = public_url.trim_end_matches('/').to_owned();
        let store = f.store.unwrap_or_else(|| "sqlite://revokd.db".into());
        if store.starts_with("rediss://") {
            return Err(bad("store", "rediss:// (Redis over TLS) is not built into this version; use redis://"));
        }
        const SCHEMES: [&str; 5] = ["sqlite://", "memory:", "postgres://", "postgresql://", "redis://"];
        if !SCHEMES.iter().any(|p| store.starts_with(p)) {
            return Err(bad(
                "store",
                format!(
                    "`{}` is not a store URL (sqlite://PATH, postgres://…, redis://… or memory://)",
                    redact_url(&store)
                ),
            ));
        }
        if store == "sqlite://" {
            return Err(bad("store", "sqlite:// needs a file path"));
        }
        if f.durability.is_some() && !store.starts_with("sqlite://") {
            return Err(bad(
                "durability",
                "applies to the SQLite store only (PostgreSQL: the server's synchronous_commit; \
                 Redis: its appendfsync, see docs/STORES.md)",
            ));
        }
        let durability = match f.durability.as_deref() {
            None => Durability::Full,
            Some(d) => d.parse().map_err(|e: revokd::Error| bad("durability", e.to_string()))?,
        };
        let tokens = |key: &str, v: Option<Vec<String>>| -> Result<Vec<String>, ConfigError> {
            let v = v.unwrap_or_default();
            if let Some(short) = v.iter().find(|t| t.len() < 16) {
                return Err(bad(key, format!("tokens must be at least 16 bytes (one has {})", short.len())));
            }
            Ok(v)
        };
        let admin_tokens = tokens("admin_tokens", f.admin_tokens)?;
        let feed_tokens = tokens("feed_tokens", f.feed_tokens)?;
        let ttl = |key: &str, v: Option<u64>, default: u64| -> Result<u64, ConfigError> {
            let v = v.unwrap_or(default);
            if v == 0 || v > revokd::MAX_TTL {
                return Err(bad(key, format!("must be between 1 and {} seconds", revokd::MAX_TTL)));
            }
            Ok(v)
        };
        let check_types = match f.check_types {
            None => vec![TokenType::Access, TokenType::Refresh],
            Some(v) => v
                .iter()
                .map(|t| t.parse::<TokenType>().map_err(|e| bad("check_types", e.to_string())))
                .collect::<Result<_, _>>()?,
        };
        for (i, c) in f.clients.iter().enumerate() {
            if c.secret.len() < 16 {
                return Err(bad(format!("clients[{i}].secret"), "client secrets must be at least 16 bytes"));
            }
        }
        let max_body_bytes = f.max_body_bytes.unwrap_or(65_536);
        if max_body_bytes == 0 {
            return Err(bad("max_body_bytes", "must be at least 1"));
        }
        let max_header_bytes = f.max_header_bytes.unwrap_or(16_384);
        if max_header_bytes < 1024 {
            return Err(bad("max_header_bytes", "must be at least 1024"));
        }
        let request_timeout = f.request_timeout.unwrap_or(10);
        if request_timeout == 0 {
            return Err(bad("request_timeout", "must be at least 1 second"));
        }
        let settings = Settings {
            listen,
            issuer: f.issuer.unwrap_or_else(|| public_url.clone()),
            public_url,
            store,
            durability,
            on_store_unreachable,
            admin_tokens,
            feed_tokens,
            access_ttl: ttl("access_ttl", f.access_ttl, 900)?,
            refresh_ttl: ttl("refresh_ttl", f.refresh_ttl, 2_592_000)?,
            family_max_age: ttl("family_max_age", f.family_max_age, 2_592_000)?,
            leeway: f.leeway.unwrap_or(0).min(revokd::MAX_TTL),
            audience: f.audience,
            check_types,
            refresh_reuse_grace: f.refresh_reuse_grace.unwrap_or(0).min(revokd::MAX_TTL),
            max_token_lifetime: ttl("max_token_lifetime", f.max_token_lifetime, 86_400)?,
            max_body_bytes: usize::try_from(max_body_bytes).unwrap_or(usize::MAX),
            max_header_bytes: usize::try_from(max_header_bytes).unwrap_or(usize::MAX),
            rate_limit_per_minute: f.rate_limit_per_minute.unwrap_or(600),
            request_timeout,
            cookies: f.cookies.unwrap_or(false),
            verify_cache,
            keys: f.keys,
            clients: f.clients,
            issuers: f.issuers,
            base_dir,
            derived_urls,
        };
        // Keys are loaded now so a bad one stops start-up here.
        settings.key_set()?;
        settings.foreign_issuers()?;
        Ok(settings)
    }

    /// The configured keys as a key set (empty: none configured).
    pub fn key_set(&self) -> Result<KeySet, ConfigError> {
        let mut set = KeySet::new();
        for (i, k) in self.keys.iter().enumerate() {
            let at = |field: &str| format!("keys[{i}].{field}");
            let alg: Algorithm = k.algorithm.parse().map_err(|e: revokd::Error| bad(at("algorithm"), e.to_string()))?;
            let read = |field: &str, p: &Path| -> Result<Vec<u8>, ConfigError> {
                let p = if p.is_absolute() { p.to_path_buf() } else { self.base_dir.join(p) };
                std::fs::read(&p).map_err(|e| bad(at(field), format!("cannot read {}: {e}", p.display())))
            };
            let key = match (&k.secret, &k.private_key_pem, &k.public_key_pem) {
                (Some(s), None, None) => Key::hmac(&k.kid, alg, s.as_bytes()),
                (None, Some(p), None) => Key::from_private_pem(&k.kid, alg, &read("private_key_pem", p)?),
                (None, None, Some(p)) => Key::from_public_pem(&k.kid, alg, &read("public_key_pem", p)?),
                _ => {
                    return Err(bad(
                        format!("keys[{i}]"),
                        "give exactly one of `secret`, `private_key_pem`, `public_key_pem`",
                    ));
                }
            }
            .map_err(|e| bad(format!("keys[{i}]"), e.to_string()))?;
            set.insert(key).map_err(|e| bad(format!("keys[{i}].kid"), e.to_string()))?;
        }
        if !set.is_empty() && set.signer().is_none() {
            return Err(bad("keys", "no key has a private part, so nothing can sign"));
        }
        Ok(set)
    }

    /// Records the address actually bound (when `listen` asked for port 0): a
    /// `public_url` and `issuer` derived from `listen` follow it.
    pub fn bound(&mut self, addr: SocketAddr) {
        self.listen = addr;
        if self.derived_urls.0 {
            self.public_url = format!("http://{addr}");
            if self.derived_urls.1 {
                self.issuer = self.public_url.clone();
            }
        }
    }

    /// The foreign issuers with their keys, read from their JWKS files. An issuer with a
    /// `jwks_url` starts with no keys: [`crate::jwks`] fetches them.
    pub fn foreign_issuers(&self) -> Result<Vec<revokd::token::ForeignIssuer>, ConfigError> {
        let mut out = Vec::new();
        for (i, c) in self.issuers.iter().enumerate() {
            if c.issuer.is_empty() || c.issuer == self.issuer {
                return Err(bad(format!("issuers[{i}].issuer"), "must be set and differ from our own issuer"));
            }
            let at = format!("issuers[{i}].jwks_file");
            let Some(p) = &c.jwks_file else {
                out.push(revokd::token::ForeignIssuer {
                    issuer: c.issuer.clone(),
                    audience: c.audience.clone(),
                    keys: KeySet::new(),
                });
                continue;
            };
            let p = if p.is_absolute() { p.clone() } else { self.base_dir.join(p) };
            let text =
                std::fs::read_to_string(&p).map_err(|e| bad(&at, format!("cannot read {}: {e}", p.display())))?;
            let jwks: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| bad(&at, format!("not JSON: {e}")))?;
            let (keys, skipped) = KeySet::from_jwks_usable(&jwks).map_err(|e| bad(&at, e.to_string()))?;
            for why in skipped {
                tracing::warn!(issuer = %c.issuer, file = %p.display(), "a key of the JWKS is left out: {why}");
            }
            out.push(revokd::token::ForeignIssuer { issuer: c.issuer.clone(), audience: c.audience.clone(), keys });
        }
        Ok(out)
    }

    /// The SQLite file of the store, if it is one.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        self.store.strip_prefix("sqlite://").map(PathBuf::from)
    }

    /// Whether the store is shared by instances on several machines (PostgreSQL,
    /// Redis): no admin token is generated for one.
    pub fn shared_store(&self) -> bool {
        ["postgres://", "postgresql://", "redis://"].iter().any(|p| self.store.starts_with(p))
    }

    /// The store URL for logs and errors: a password in it replaced by `***`.
    pub fn store_for_logs(&self) -> String {
        redact_url(&self.store)
    }
}

/// Replaces every quoted string value in a deserializer's message (`invalid type:
/// string "…"`) by `a string`: the value may be a secret written in the wrong place.
fn redact_strings(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut rest = msg;
    while let Some(i) = rest.find("string \"") {
        out.push_str(&rest[..i]);
        out.push_str("a string");
        let after = &rest[i + "string \"".len()..];
        rest = after.find('"').map_or("", |j| &after[j + 1..]);
    }
    out.push_str(rest);
    out
}

fn parse(text: &str, path: &Path) -> Result<toml::Table, ConfigError> {
    text.parse::<toml::Table>().map_err(|e| bad(path.display().to_string(), e.message().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(toml: &str, env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("revokd.toml");
        std::fs::write(&p, toml).unwrap();
        Settings::resolve(Some(&p), env.iter().map(|(k, v)| ((*k).into(), (*v).into())), &Overrides::default())
    }

    #[test]
    fn defaults_are_api_md_defaults() {
        let s = resolve("", &[]).unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.public_url, "http://127.0.0.1:8080");
        assert_eq!(s.issuer, s.public_url);
        assert_eq!(s.store, "sqlite://revokd.db");
        assert_eq!((s.access_ttl, s.refresh_ttl, s.family_max_age, s.leeway), (900, 2_592_000, 2_592_000, 0));
        assert_eq!((s.max_token_lifetime, s.max_body_bytes, s.request_timeout), (86_400, 65_536, 10));
        assert_eq!((s.max_header_bytes, s.rate_limit_per_minute), (16_384, 600));
        assert_eq!(s.check_types, vec![TokenType::Access, TokenType::Refresh]);
        assert_eq!(s.verify_cache, Some(revokd::token::CacheConfig::default()));
        assert!(!s.cookies);
    }

    #[test]
    fn environment_overrides_the_file_and_flags_override_both() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "listen = \"127.0.0.1:1\"\naccess_ttl = 60\n").unwrap();
        let env = [("REVOKD_ACCESS_TTL", "120"), ("REVOKD_ADMIN_TOKEN", "0123456789abcdef"), ("UNRELATED", "x")];
        let s = Settings::resolve(
            Some(&p),
            env.iter().map(|(k, v)| ((*k).into(), (*v).into())),
            &Overrides { listen: Some("127.0.0.1:2".into()), store: None },
        )
        .unwrap();
        assert_eq!(s.access_ttl, 120);
        assert_eq!(s.listen.to_string(), "127.0.0.1:2");
        assert_eq!(s.admin_tokens, vec!["0123456789abcdef".to_owned()]);
    }

    #[test]
    fn store_passwords_never_reach_a_log_line() {
        assert_eq!(
            redact_url("postgres://u:s3cret@db:5432/x?sslmode=require"),
            "postgres://u:***@db:5432/x?sslmode=require"
        );
        assert_eq!(redact_url("redis://:s3cret@127.0.0.1:6379/0"), "redis://:***@127.0.0.1:6379/0");
        assert_eq!(redact_url("redis://127.0.0.1:6379?prefix=a@b"), "redis://127.0.0.1:6379?prefix=a@b");
        assert_eq!(redact_url("postgres://user@h/db"), "postgres://user@h/db");
        assert_eq!(redact_url("sqlite://revokd.db"), "sqlite://revokd.db");
        let e = resolve("store = \"mysql://root:s3cret@h/db\"", &[]).unwrap_err().to_string();
        assert!(e.contains("store") && !e.contains("s3cret"), "{e}");
    }

    #[test]
    fn bad_configuration_names_the_key() {
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
        let cases: &[Case] = &[
            ("colour = \"blue\"", &[], "colour"),
            ("listen = \"nowhere\"", &[], "listen"),
            ("store = \"mysql://x\"", &[], "store"),
            ("on_store_unreachable = \"sometimes\"", &[], "on_store_unreachable"),
            ("store = \"rediss://h:6380\"", &[], "store"),
            ("store = \"postgres://h/db\"\ndurability = \"full\"", &[], "durability"),
            ("admin_tokens = [\"short\"]", &[], "admin_tokens"),
            ("[[keys]]\nkid = \"k\"\nalgorithm = \"HS256\"\nsecret = \"too short\"", &[], "keys[0]"),
            (
                "[[keys]]\nkid = \"k\"\nalgorithm = \"RS256\"\nprivate_key_pem = \"/nonexistent.pem\"",
                &[],
                "keys[0].private_key_pem",
            ),
            (
                "[[keys]]\nkid = \"k\"\nalgorithm = \"XX1\"\nsecret = \"0123456789abcdef0123456789abcdef\"",
                &[],
                "keys[0].algorithm",
            ),
            ("", &[("REVOKD_ACCESS_TTL", "soon")], "REVOKD_ACCESS_TTL"),
            ("access_ttl = 0", &[], "access_ttl"),
            ("check_types = [\"id\"]", &[], "check_types"),
            ("durability = \"sometimes\"", &[], "durability"),
            ("[[clients]]\nid = \"c\"\nsecret = \"s\"", &[], "clients[0].secret"),
            ("listen = ", &[], "revokd.toml"),
            ("access_ttl = \"soon\"", &[], "access_ttl"),
            ("[[issuers]]\nissuer = \"https://i\"\njwks_url = \"http://idp.example/jwks\"", &[], "issuers[0].jwks_url"),
            ("[[issuers]]\nissuer = \"https://i\"\njwks_url = \"ftp://127.0.0.1/jwks\"", &[], "issuers[0].jwks_url"),
            ("[[issuers]]\nissuer = \"https://i\"\njwks_url = \"not a url\"", &[], "issuers[0].jwks_url"),
            ("[verify_cache]\ncapacity = 0", &[], "verify_cache.capacity"),
            ("[verify_cache]\nmax_lifetime = 0", &[], "verify_cache.max_lifetime"),
            ("[verify_cache]\nmax_token_bytes = 10", &[], "verify_cache.max_token_bytes"),
            ("[verify_cache]\nsize = 10", &[], "size"),
            (
                "[[issuers]]\nissuer = \"https://i\"\njwks_url = \"https://i/jwks\"\njwks_refresh = 0",
                &[],
                "issuers[0].jwks_refresh",
            ),
            ("[[issuers]]\nissuer = \"https://i\"\njwks_file = \"/nonexistent.json\"", &[], "issuers[0].jwks_file"),
            ("[[keys]]\nalgorithm = \"HS256\"", &[], "kid"),
        ];
        for (toml, env, key) in cases {
            let e = resolve(toml, env).unwrap_err();
            assert!(e.to_string().contains(key), "{toml:?}: {e}");
        }
    }

    #[test]
    fn a_secret_in_the_wrong_shape_is_not_repeated_in_the_error() {
        for toml in ["admin_tokens = \"hunter2-secret-0123456789\"", "feed_tokens = \"hunter2-secret-0123456789\""] {
            let e = resolve(toml, &[]).unwrap_err().to_string();
            assert!(!e.contains("hunter2"), "{e}");
            assert!(e.contains("tokens"), "the message names the key: {e}");
        }
        assert_eq!(redact_strings(r#"invalid type: string "x", expected u64"#), "invalid type: a string, expected u64");
    }
}
