//! The revokd service: the HTTP API of API.md over the `revokd` library, and the admin
//! CLI. The binary (`src/main.rs`) only parses arguments; everything else is here so
//! tests can start the service on a free port.

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod error;
pub mod extract;
pub mod guard;
pub mod jwks;
pub mod limit;
pub mod openapi;
pub mod routes;
pub mod serve;
pub mod telemetry;
