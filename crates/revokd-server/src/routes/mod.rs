//! Handlers, one module per group of endpoints (API.md's table).

pub mod health;
pub mod me;
pub mod oauth;
pub mod revocations;
pub mod subjects;
pub mod tokens;
pub mod verify;
pub mod wellknown;

use revokd::TokenStatus;
use revokd::store::Page;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};

/// `?cursor=&limit=` of list endpoints.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Opaque cursor from a previous answer's `next`.
    pub cursor: Option<String>,
    /// Page size: default 100, at most 1000.
    pub limit: Option<usize>,
}

impl ListQuery {
    /// The page size, checked.
    pub fn limit(&self) -> ApiResult<usize> {
        page_limit(self.limit)
    }
}

/// A list's `limit`: default 100, at most 1000 (API.md).
pub fn page_limit(limit: Option<usize>) -> ApiResult<usize> {
    match limit {
        None => Ok(100),
        Some(l) if (1..=1000).contains(&l) => Ok(l),
        Some(_) => Err(ApiError::invalid("`limit` must be between 1 and 1000")),
    }
}

/// `{tokens: [{jti, type, fam, iat, exp, status}], next}`.
pub fn token_list(page: Page<TokenStatus>) -> Value {
    let tokens: Vec<Value> = page
        .items
        .into_iter()
        .map(|t| {
            json!({
                "jti": t.token.jti,
                "type": t.token.token_type,
                "fam": t.token.fam,
                "iat": t.token.iat,
                "exp": t.token.exp,
                "status": t.status,
            })
        })
        .collect();
    json!({"tokens": tokens, "next": page.next})
}
