//! revokd's integration tests: one binary, one module per concern.
#![allow(clippy::unwrap_used)]

mod cache;
mod common;
mod conformance;
mod crash;
mod facade;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;
mod sync;
mod tokens;
mod two_processes;
mod wycheproof;
