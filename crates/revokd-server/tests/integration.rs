//! Black-box tests of the `revokd` binary: each starts the real binary on a free port.
#![allow(clippy::unwrap_used)]

mod abuse;
mod api;
mod attacks;
mod cli;
mod common;
mod durability;
mod external;
mod issuers;
mod load_faults;
mod oauth;
mod openapi;
mod security;
mod shared_store;
mod startup;
