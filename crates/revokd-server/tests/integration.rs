//! Black-box tests of the `revokd` binary: each starts the real binary on a free port.
#![allow(clippy::unwrap_used)]

mod api;
mod cli;
mod common;
mod durability;
mod external;
mod issuers;
mod oauth;
mod openapi;
mod shared_store;
mod startup;
