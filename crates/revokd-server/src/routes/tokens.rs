//! `POST /v1/tokens` (admin) and `POST /v1/tokens/refresh` (rotation with reuse
//! detection).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use revokd::store::Consumption;
use revokd::{IssueRequest, Target, TokenPair, TokenType};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::app::Shared;
use crate::auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, OptionalJson};
use crate::openapi::ErrorBody;

/// Body of `POST /v1/tokens`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueBody {
    /// The subject.
    sub: String,
    /// Whether the access token is fresh (just authenticated); default false.
    fresh: Option<bool>,
    /// Custom claims, in both tokens; reserved names are refused (400 `reserved_claim`).
    #[schema(value_type = Option<Object>)]
    claims: Option<Map<String, Value>>,
    /// Access token lifetime in seconds; default `access_ttl`.
    access_ttl: Option<u64>,
    /// Refresh token lifetime in seconds; default `refresh_ttl`.
    refresh_ttl: Option<u64>,
}

/// A new pair of tokens.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenPairBody {
    /// The access token.
    access_token: String,
    /// The refresh token, of the same family.
    refresh_token: String,
    /// Always `Bearer`.
    token_type: &'static str,
    /// Seconds the access token lives.
    expires_in: u64,
    /// Seconds the refresh token lives.
    refresh_expires_in: u64,
    /// Cookie mode only: the tokens' `csrf` claim, to send as `X-CSRF-TOKEN` with
    /// state-changing requests that carry the access token in its cookie.
    #[serde(skip_serializing_if = "Option::is_none")]
    csrf: Option<String>,
}

/// A fresh CSRF value in cookie mode (128 random bits), else none.
fn csrf(state: &Shared) -> Option<String> {
    state.settings.cookies.then(|| uuid::Uuid::new_v4().simple().to_string())
}

fn pair_json(p: TokenPair) -> axum::Json<TokenPairBody> {
    axum::Json(TokenPairBody {
        csrf: p.access.csrf.clone(),
        expires_in: p.access.exp - p.access.iat,
        refresh_expires_in: p.refresh.exp - p.refresh.iat,
        access_token: p.access_token,
        refresh_token: p.refresh_token,
        token_type: "Bearer",
    })
}

/// Issues a new login (a new family): an access token and a refresh token.
#[utoipa::path(post, path = "/v1/tokens", tag = "tokens", security(("admin" = [])),
    request_body = IssueBody,
    responses(
        (status = 201, description = "A new pair", body = TokenPairBody),
        (status = 400, description = "`invalid_request`, `reserved_claim`", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no valid admin token", body = ErrorBody),
    ))]
pub async fn issue(
    State(state): State<Shared>,
    // Checked before the body is read: an anonymous caller learns nothing from body errors.
    _: auth::Admin,
    Json(body): Json<IssueBody>,
) -> ApiResult<impl IntoResponse> {
    // `/v1/verify` puts the subject in `X-Auth-Subject`: a subject no header can carry
    // would make a token that verification always refuses.
    if axum::http::HeaderValue::from_str(&body.sub).is_err() {
        return Err(ApiError::invalid(
            "`sub` must be visible ASCII (it becomes the X-Auth-Subject header of /v1/verify)",
        ));
    }
    let req = IssueRequest {
        sub: body.sub,
        fresh: body.fresh.unwrap_or(false),
        claims: body.claims.unwrap_or_default(),
        access_ttl: body.access_ttl,
        refresh_ttl: body.refresh_ttl,
        family: None,
        csrf: csrf(&state),
    };
    let pair = state.revokd.issue(req).await?;
    Ok((StatusCode::CREATED, pair_json(pair)))
}

/// Body of `POST /v1/tokens/refresh` (or send the refresh token as a bearer token).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    /// The refresh token to rotate.
    refresh_token: String,
}

/// Rotates a refresh token: consumed atomically in the store (one winner across every
/// instance); a reuse within `refresh_reuse_grace` gets a new pair of the same family,
/// a later one revokes the family and answers 401 `refresh_token_reused`.
#[utoipa::path(post, path = "/v1/tokens/refresh", tag = "tokens",
    request_body(content = Option<RefreshBody>,
        description = "The refresh token, here or as `Authorization: Bearer`"),
    responses(
        (status = 200, description = "A new pair of the same family", body = TokenPairBody),
        (status = 400, description = "`invalid_request`: a malformed body", body = ErrorBody),
        (status = 401, description = "`token_missing`, `token_invalid`, `token_expired`, `token_not_yet_valid`, \
            `token_revoked`, `token_wrong_type`, `refresh_token_reused`", body = ErrorBody),
    ))]
pub async fn refresh(
    State(state): State<Shared>,
    headers: HeaderMap,
    OptionalJson(body): OptionalJson<RefreshBody>,
) -> ApiResult<impl IntoResponse> {
    let token = match (&body, auth::bearer(&headers)) {
        (Some(b), _) => b.refresh_token.clone(),
        (None, Some(t)) => t.to_owned(),
        (None, None) => {
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, "token_missing", "no refresh token was given")
                .www_authenticate("Bearer realm=\"revokd\""));
        }
    };
    let r = &state.revokd;
    let v = r.verify(&token, TokenType::Refresh).map_err(|e| ApiError::token(&e))?;
    // Only our own refresh tokens rotate: a foreign issuer's token (even one that says
    // `type: refresh`) is never exchanged for tokens we sign.
    if v.origin != revokd::token::Origin::Own {
        return Err(ApiError::token(&revokd::Error::UnknownKey));
    }
    let claims = &v.claims;
    let fam = claims.fam.clone().ok_or_else(|| ApiError::token(&revokd::Error::BadClaim("fam")))?;
    let now_ms =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    // A family ends family_max_age after its login (the family id's UUIDv7 instant);
    // tokens minted from it never outlive that end.
    let family_end_ms = revokd::token::uuid_v7_ms(&fam).map(|born| born + state.settings.family_max_age * 1000);
    if family_end_ms.is_some_and(|end| now_ms >= end) {
        return Err(ApiError::token(&revokd::Error::TokenExpired));
    }
    let left = family_end_ms.map_or(u64::MAX, |end| ((end - now_ms) / 1000).max(1));
    let consumed = r
        .store()
        .consume_refresh(&claims.jti, now_ms, claims.exp.saturating_add(state.settings.leeway))
        .await
        .map_err(|e| ApiError::from(revokd::Error::Store(e)))?;
    if let Consumption::Reused { first_used_ms } = consumed {
        let grace_ms = state.settings.refresh_reuse_grace * 1000;
        if grace_ms == 0 || now_ms.saturating_sub(first_used_ms) > grace_ms {
            r.revoke(Target::Family { fam }, Some("refresh token reused".into()), "holder").await?;
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "refresh_token_reused",
                "this refresh token was already used; its session has been ended",
            )
            .www_authenticate("Bearer error=\"invalid_token\", error_description=\"refresh token reused\""));
        }
    }
    let req = IssueRequest {
        sub: claims.sub.clone(),
        fresh: false,
        claims: claims.custom.clone(),
        access_ttl: Some(state.settings.access_ttl.min(left)),
        refresh_ttl: Some(state.settings.refresh_ttl.min(left)),
        family: Some(fam),
        csrf: csrf(&state),
    };
    let pair = r.issue(req).await.map_err(|e| match e {
        revokd::Error::TokenRevoked => ApiError::token(&e),
        other => ApiError::from(other),
    })?;
    Ok((StatusCode::OK, pair_json(pair)))
}
