//! # revokd
//!
//! JWT revocation that costs nothing per request: every check is answered from process
//! memory, every revocation is durable before it is acknowledged, and every process
//! sharing a store sees every revocation.
//!
//! ```no_run
//! # async fn demo() -> revokd::Result<()> {
//! use revokd::{IssueRequest, Key, KeySet, Revokd, Target, TokenType, Algorithm};
//! use revokd::store::{self, Durability};
//!
//! let keys = KeySet::new().with(Key::hmac("k1", Algorithm::HS256, b"a secret of at least thirty-two bytes!")?)?;
//! let store = store::open("sqlite://revokd.db", Durability::Full).await?;
//! let revokd = Revokd::builder(keys, store).build().await?;
//!
//! let pair = revokd.issue(IssueRequest::new("alice")).await?;
//! let verified = revokd.verify(&pair.access_token, TokenType::Access)?;
//! revokd.revoke(Target::Jti { iss: None, jti: verified.claims.jti.clone(), exp: Some(verified.claims.exp) }, None, "admin").await?;
//! assert!(revokd.verify(&pair.access_token, TokenType::Access).is_err());
//! # Ok(()) }
//! ```
//!
//! ## Parts
//! - [`token`]: issue and verify (keys pin their algorithm; strict parsing);
//! - [`rules`]: what can be revoked and how long each rule lives;
//! - [`index`]: the in-memory, lock-free copy of the live rules;
//! - [`store`]: the durable log ([`store::SqliteStore`], [`store::MemoryStore`]);
//! - [`sync`]: the only path from a store into an index;
//! - [`Revokd`]: all of it behind one type.
//!
//! ## Features
//! | feature | default | what |
//! |---|---|---|
//! | `sqlite` | yes | the embedded SQLite store |
//!
//! The crypto backend of jsonwebtoken is fixed to aws-lc-rs (see `docs/BENCHMARKS.md`
//! for why); it is not a feature, so `--all-features` can never enable two.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]

pub mod clock;
mod error;
mod facade;
pub mod index;
pub mod rules;
pub mod store;
pub mod sync;
pub mod token;

pub use error::{Error, Result};
pub use facade::{Builder, IssueRequest, MAX_TTL, Revokd, TokenPair, TokenStatus};
pub use rules::{Revocation, RuleKind, Target};
pub use sync::OnUnreachable;
pub use token::{Algorithm, Claims, Key, KeySet, TokenPolicy, TokenType, Verified};
