//! The crate's integration tests: one binary, a module per concern, each test against a
//! real `Revokd` on the memory store (and SQLite where persistence matters), driven
//! through an axum `Router` with `oneshot`; the examples run as processes over HTTP.
#![allow(clippy::unwrap_used)]

mod common;
mod csrf;
mod extractors;
mod flask_blocklist;
mod flask_stored_tokens;
mod layer;
mod locations;
mod responses;
mod revoke;
mod sanic_logout;
