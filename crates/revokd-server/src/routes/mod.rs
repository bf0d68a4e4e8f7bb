//! Handlers, one module per group of endpoints (API.md's table).

pub mod health;
pub mod me;
pub mod oauth;
pub mod revocations;
pub mod subjects;
pub mod tokens;
pub mod verify;
pub mod wellknown;

use revokd::store::Page;
use revokd::{TokenStatus, TokenType};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::{ApiError, ApiResult};

/// `?cursor=&limit=` of list endpoints.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
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

/// One token of a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenEntry {
    /// Token id.
    jti: String,
    /// `access` or `refresh`.
    #[serde(rename = "type")]
    token_type: TokenType,
    /// Family id.
    fam: Option<String>,
    /// Issued at, unix seconds.
    iat: u64,
    /// Expires at, unix seconds.
    exp: u64,
    /// `active`, `revoked` or `expired`.
    #[schema(value_type = String)]
    status: &'static str,
}

/// A page of tokens.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenList {
    /// The tokens, newest first.
    tokens: Vec<TokenEntry>,
    /// The cursor of the next page, if there is one.
    next: Option<String>,
}

/// `{tokens: [{jti, type, fam, iat, exp, status}], next}`.
pub fn token_list(page: Page<TokenStatus>) -> TokenList {
    let tokens = page
        .items
        .into_iter()
        .map(|t| TokenEntry {
            jti: t.token.jti,
            token_type: t.token.token_type,
            fam: t.token.fam,
            iat: t.token.iat,
            exp: t.token.exp,
            status: t.status,
        })
        .collect();
    TokenList { tokens, next: page.next }
}
