//! The crate's integration tests: one binary, a module per concern, each test against a
//! real `Revokd` on the memory store (and SQLite where persistence matters), driven
//! through an axum `Router` with `oneshot`.
#![allow(clippy::unwrap_used)]

mod common;
mod csrf;
mod extractors;
mod layer;
mod locations;
mod responses;
mod revoke;
