//! [`Auth`]: what the layer and the extractors share — the core, where tokens are
//! looked for, how refusals are answered, and the application's loaders.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::http::request::Parts;
use axum::http::{HeaderName, Method};
use axum::response::{IntoResponse, Response};
use cookie::SameSite;
use revokd::{Claims, IssueRequest, Revokd, TokenPair, TokenType};
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use crate::cookies::CookieSettings;
use crate::error::{Error, Result};
use crate::layer::RevokdLayer;
use crate::location::{Location, Lookup};
use crate::rejection::{Rejection, RejectionKind};
use crate::response::{Loader, Responses, flask_jwt_extended_response};
use crate::token::Token;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type ClaimsCheck = Arc<dyn Fn(&Claims) -> bool + Send + Sync>;
type UserLookup = Arc<dyn Fn(Arc<Token>) -> BoxFuture<Option<Arc<dyn Any + Send + Sync>>> + Send + Sync>;
type AdditionalClaims = Arc<dyn Fn(&str) -> Map<String, Value> + Send + Sync>;

/// The verification of one token type for a request, kept in its extensions so that
/// the layer and the extractors verify once.
#[derive(Clone)]
pub(crate) struct Outcome {
    pub(crate) ty: TokenType,
    pub(crate) result: Result<Arc<Token>, Rejection>,
}

/// The shared configuration of the layer and the extractors. Cheap to clone.
///
/// Built with [`Auth::builder`]; installed on a router with [`Auth::layer`].
#[derive(Clone)]
pub struct Auth {
    inner: Arc<Inner>,
}

struct Inner {
    revokd: Revokd,
    lookup: Lookup,
    cookies: CookieSettings,
    responses: Responses,
    claims_check: Option<ClaimsCheck>,
    user_lookup: Option<UserLookup>,
    additional_claims: Option<AdditionalClaims>,
    json_body_limit: usize,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").field("revokd", &self.inner.revokd).field("lookup", &self.inner.lookup).finish()
    }
}

impl Auth {
    /// Starts a builder around `revokd` (which decides keys, lifetimes and which token
    /// types are checked against revocation).
    pub fn builder(revokd: Revokd) -> AuthBuilder {
        AuthBuilder {
            revokd,
            lookup: Lookup::default(),
            header_name: "Authorization".into(),
            access_csrf_header_name: "X-CSRF-TOKEN".into(),
            refresh_csrf_header_name: "X-CSRF-TOKEN".into(),
            cookies: CookieSettings::default(),
            responses: Responses::default(),
            claims_check: None,
            user_lookup: None,
            additional_claims: None,
            json_body_limit: 65_536,
        }
    }

    /// The core.
    pub fn revokd(&self) -> &Revokd {
        &self.inner.revokd
    }

    /// The layer that verifies each request's access token and leaves the outcome to the
    /// extractors (see [`RevokdLayer::require`] to refuse in the layer instead).
    pub fn layer(&self) -> RevokdLayer {
        RevokdLayer::new(self.clone())
    }

    pub(crate) fn lookup(&self) -> &Lookup {
        &self.inner.lookup
    }

    pub(crate) fn cookie_settings(&self) -> &CookieSettings {
        &self.inner.cookies
    }

    pub(crate) fn json_body_limit(&self) -> Option<usize> {
        self.inner.lookup.locations.contains(&Location::Json).then_some(self.inner.json_body_limit)
    }

    /// The answer to `rejection`: the application's loader for its kind, else the
    /// default, with `WWW-Authenticate` on a 401 about a header token.
    pub fn respond(&self, rejection: &Rejection) -> Response {
        let lookup = &self.inner.lookup;
        let scheme = lookup.locations.contains(&Location::Headers).then_some(lookup.header_type.as_str());
        self.inner.responses.respond(rejection, scheme)
    }

    /// Issues a token pair as the core does, with the `additional_claims_loader`'s
    /// claims (the request's own claims win over them) and, when tokens may come from
    /// cookies with CSRF protection, a random `csrf` claim.
    pub async fn issue(&self, mut req: IssueRequest) -> Result<TokenPair> {
        if let Some(f) = &self.inner.additional_claims {
            let mut claims = f(&req.sub);
            claims.extend(std::mem::take(&mut req.claims));
            req.claims = claims;
        }
        let lookup = &self.inner.lookup;
        if req.csrf.is_none() && lookup.csrf_protect && lookup.locations.contains(&Location::Cookies) {
            req.csrf = Some(uuid::Uuid::new_v4().to_string());
        }
        Ok(self.inner.revokd.issue(req).await?)
    }

    /// Finds and verifies the request's token of type `ty`.
    pub(crate) fn authenticate(&self, parts: &Parts, ty: TokenType) -> Result<Arc<Token>, Rejection> {
        let found = self.inner.lookup.find(parts, ty)?;
        let challenge = found.location == Location::Headers;
        let verified = self.inner.revokd.verify(&found.token, ty).map_err(|e| {
            let mut r = Rejection::from_verify(&e).with_challenge(challenge);
            if r.kind() == RejectionKind::Revoked
                && let Some(c) = revoked_claims(&found.token)
            {
                r = r.with_claims(Arc::new(c));
            }
            r
        })?;
        if let Some(sent) = found.csrf {
            match verified.claims.csrf.as_deref() {
                None => return Err(Rejection::invalid("Missing claim: csrf")),
                Some(c) if bool::from(c.as_bytes().ct_eq(sent)) => {}
                Some(_) => return Err(Rejection::csrf("CSRF double submit tokens do not match")),
            }
        }
        let token = Token::new(verified, found.token.into_owned(), found.location, self.inner.revokd.clone());
        if let Some(check) = &self.inner.claims_check
            && !check(token.claims())
        {
            return Err(Rejection::claims_refused(token.shared_claims()).with_challenge(challenge));
        }
        Ok(Arc::new(token))
    }

    /// The request's token of type `ty`: the layer's verification when it made one for
    /// this type, else a new one, kept for the next extractor.
    pub(crate) fn outcome(&self, parts: &mut Parts, ty: TokenType) -> Result<Arc<Token>, Rejection> {
        if let Some(o) = parts.extensions.get::<Outcome>()
            && o.ty == ty
        {
            return o.result.clone();
        }
        let result = self.authenticate(parts, ty);
        parts.extensions.insert(Outcome { ty, result: result.clone() });
        result
    }

    /// The application's user for `token`, from the `user_lookup_loader`.
    pub(crate) async fn load_user(&self, token: Arc<Token>) -> Result<Arc<dyn Any + Send + Sync>, Rejection> {
        let Some(lookup) = &self.inner.user_lookup else {
            return Err(Rejection::internal("no user_lookup_loader is set"));
        };
        let claims = token.shared_claims();
        lookup(token).await.ok_or_else(|| Rejection::user_not_found(claims))
    }
}

/// The claims of a token the core refused as revoked. It refuses so only after the
/// signature and every claim verified, so these are the token's own claims.
fn revoked_claims(token: &str) -> Option<Claims> {
    let (_, claims) = revokd::token::dangerous::insecure_decode(token, token.len()).ok()?;
    serde_json::from_value(claims).ok()
}

/// Builds an [`Auth`]; every option has flask-jwt-extended's name and, unless its doc
/// says otherwise, flask-jwt-extended's default.
#[must_use]
pub struct AuthBuilder {
    revokd: Revokd,
    lookup: Lookup,
    header_name: String,
    access_csrf_header_name: String,
    refresh_csrf_header_name: String,
    cookies: CookieSettings,
    responses: Responses,
    claims_check: Option<ClaimsCheck>,
    user_lookup: Option<UserLookup>,
    additional_claims: Option<AdditionalClaims>,
    json_body_limit: usize,
}

fn loader<F, R>(f: F) -> Option<Loader>
where
    F: Fn(&Rejection) -> R + Send + Sync + 'static,
    R: IntoResponse,
{
    Some(Arc::new(move |r: &Rejection| f(r).into_response()))
}

impl AuthBuilder {
    /// Where tokens are looked for, in order; the first location holding one wins
    /// (`JWT_TOKEN_LOCATION`). Defaults to `[Location::Headers]`.
    pub fn token_location(mut self, locations: &[Location]) -> Self {
        self.lookup.locations = locations.to_vec();
        self
    }

    /// The header holding the token (`JWT_HEADER_NAME`). Defaults to `Authorization`.
    pub fn header_name(mut self, name: impl Into<String>) -> Self {
        self.header_name = name.into();
        self
    }

    /// The scheme before the token in that header; empty for the bare token
    /// (`JWT_HEADER_TYPE`). Defaults to `Bearer`. Also the scheme of `WWW-Authenticate`.
    pub fn header_type(mut self, scheme: impl Into<String>) -> Self {
        self.lookup.header_type = scheme.into();
        self
    }

    /// The query parameter holding the token (`JWT_QUERY_STRING_NAME`). Defaults to
    /// `jwt`. **Tokens in URLs end up in logs and browser history.**
    pub fn query_string_name(mut self, name: impl Into<String>) -> Self {
        self.lookup.query_string_name = name.into();
        self
    }

    /// A prefix the query value must start with, removed before verifying
    /// (`JWT_QUERY_STRING_VALUE_PREFIX`). Defaults to none.
    pub fn query_string_value_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.lookup.query_string_value_prefix = prefix.into();
        self
    }

    /// The JSON body key of an access token (`JWT_JSON_KEY`). Defaults to
    /// `access_token`.
    pub fn json_key(mut self, key: impl Into<String>) -> Self {
        self.lookup.json_key = key.into();
        self
    }

    /// The JSON body key of a refresh token (`JWT_REFRESH_JSON_KEY`). Defaults to
    /// `refresh_token`.
    pub fn refresh_json_key(mut self, key: impl Into<String>) -> Self {
        self.lookup.refresh_json_key = key.into();
        self
    }

    /// The largest JSON body the layer reads to find a token (only with
    /// [`Location::Json`]); a larger one is answered 413. Defaults to 65536 bytes.
    pub fn json_body_limit(mut self, bytes: usize) -> Self {
        self.json_body_limit = bytes;
        self
    }

    /// The access token cookie (`JWT_ACCESS_COOKIE_NAME`). Defaults to
    /// `access_token_cookie`.
    pub fn access_cookie_name(mut self, name: impl Into<String>) -> Self {
        self.lookup.access_cookie_name = name.into();
        self
    }

    /// The refresh token cookie (`JWT_REFRESH_COOKIE_NAME`). Defaults to
    /// `refresh_token_cookie`.
    pub fn refresh_cookie_name(mut self, name: impl Into<String>) -> Self {
        self.lookup.refresh_cookie_name = name.into();
        self
    }

    /// The access token cookie's `Path` (`JWT_ACCESS_COOKIE_PATH`). Defaults to `/`.
    pub fn access_cookie_path(mut self, path: impl Into<String>) -> Self {
        self.cookies.access_path = path.into();
        self
    }

    /// The refresh token cookie's `Path` (`JWT_REFRESH_COOKIE_PATH`). Defaults to `/`.
    pub fn refresh_cookie_path(mut self, path: impl Into<String>) -> Self {
        self.cookies.refresh_path = path.into();
        self
    }

    /// The readable cookie holding the access token's CSRF value
    /// (`JWT_ACCESS_CSRF_COOKIE_NAME`). Defaults to `csrf_access_token`.
    pub fn access_csrf_cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookies.access_csrf_name = name.into();
        self
    }

    /// The readable cookie holding the refresh token's CSRF value
    /// (`JWT_REFRESH_CSRF_COOKIE_NAME`). Defaults to `csrf_refresh_token`.
    pub fn refresh_csrf_cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookies.refresh_csrf_name = name.into();
        self
    }

    /// The access CSRF cookie's `Path` (`JWT_ACCESS_CSRF_COOKIE_PATH`). Defaults to `/`.
    pub fn access_csrf_cookie_path(mut self, path: impl Into<String>) -> Self {
        self.cookies.access_csrf_path = path.into();
        self
    }

    /// The refresh CSRF cookie's `Path` (`JWT_REFRESH_CSRF_COOKIE_PATH`). Defaults to
    /// `/`.
    pub fn refresh_csrf_cookie_path(mut self, path: impl Into<String>) -> Self {
        self.cookies.refresh_csrf_path = path.into();
        self
    }

    /// The header that must echo an access cookie token's `csrf` claim
    /// (`JWT_ACCESS_CSRF_HEADER_NAME`). Defaults to `X-CSRF-TOKEN`.
    pub fn access_csrf_header_name(mut self, name: impl Into<String>) -> Self {
        self.access_csrf_header_name = name.into();
        self
    }

    /// The header that must echo a refresh cookie token's `csrf` claim
    /// (`JWT_REFRESH_CSRF_HEADER_NAME`). Defaults to `X-CSRF-TOKEN`.
    pub fn refresh_csrf_header_name(mut self, name: impl Into<String>) -> Self {
        self.refresh_csrf_header_name = name.into();
        self
    }

    /// The CSRF double-submit check on cookie tokens, and the `csrf` claim issued for it
    /// (`JWT_COOKIE_CSRF_PROTECT`). Defaults to `true`. **Turning it off lets other
    /// sites make state-changing requests with the user's cookies.**
    pub fn cookie_csrf_protect(mut self, on: bool) -> Self {
        self.lookup.csrf_protect = on;
        self
    }

    /// The methods that need the CSRF header with a cookie token (`JWT_CSRF_METHODS`).
    /// Defaults to `POST`, `PUT`, `PATCH`, `DELETE`.
    pub fn csrf_methods(mut self, methods: &[Method]) -> Self {
        self.lookup.csrf_methods = methods.to_vec();
        self
    }

    /// Whether the cookie helpers also set the readable CSRF cookies
    /// (`JWT_CSRF_IN_COOKIES`). Defaults to `true`.
    pub fn csrf_in_cookies(mut self, on: bool) -> Self {
        self.cookies.csrf_in_cookies = on;
        self
    }

    /// The cookies' `Secure` attribute (`JWT_COOKIE_SECURE`). Defaults to `true`
    /// (flask-jwt-extended: `false`): browsers keep `Secure` cookies on
    /// `http://localhost` too, and anywhere else a token cookie must not travel in
    /// clear text.
    pub fn cookie_secure(mut self, on: bool) -> Self {
        self.cookies.secure = on;
        self
    }

    /// The cookies' `SameSite` attribute; `None` leaves it out (`JWT_COOKIE_SAMESITE`).
    /// Defaults to `Some(SameSite::Lax)` (flask-jwt-extended: left out, which browsers
    /// differ on); Lax is what current browsers assume, stated rather than guessed.
    pub fn cookie_samesite(mut self, same_site: Option<SameSite>) -> Self {
        self.cookies.same_site = same_site;
        self
    }

    /// The cookies' `Domain` attribute (`JWT_COOKIE_DOMAIN`). Defaults to none (the
    /// host that set them).
    pub fn cookie_domain(mut self, domain: impl Into<String>) -> Self {
        self.cookies.domain = Some(domain.into());
        self
    }

    /// Session cookies (no `Max-Age`, gone when the browser closes) or one-year cookies
    /// (`JWT_SESSION_COOKIE`). Defaults to `true`.
    pub fn session_cookie(mut self, on: bool) -> Self {
        self.cookies.session = on;
        self
    }

    /// The answer when no token is found or the CSRF check fails
    /// (`unauthorized_loader`). Defaults to [`default_response`](crate::default_response).
    pub fn unauthorized_loader<F, R>(mut self, f: F) -> Self
    where
        F: Fn(&Rejection) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.responses.unauthorized = loader(f);
        self
    }

    /// The answer to an invalid token or one of the wrong type (`invalid_token_loader`).
    /// Defaults to [`default_response`](crate::default_response).
    pub fn invalid_token_loader<F, R>(mut self, f: F) -> Self
    where
        F: Fn(&Rejection) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.responses.invalid_token = loader(f);
        self
    }

    /// The answer to an expired token (`expired_token_loader`). Defaults to
    /// [`default_response`](crate::default_response).
    pub fn expired_token_loader<F, R>(mut self, f: F) -> Self
    where
        F: Fn(&Rejection) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.responses.expired_token = loader(f);
        self
    }

    /// The answer to a revoked token (`revoked_token_loader`); the rejection carries the
    /// token's claims. Defaults to [`default_response`](crate::default_response).
    pub fn revoked_token_loader<F, R>(mut self, f: F) -> Self
    where
        F: Fn(&Rejection) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.responses.revoked_token = loader(f);
        self
    }

    /// The answer to a token that is not fresh on a fresh-only route
    /// (`needs_fresh_token_loader`). Defaults to
    /// [`default_response`](crate::default_response).
    pub fn needs_fresh_token_loader<F, R>(mut self, f: F) -> Self
    where
        F: Fn(&Rejection) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.responses.needs_fresh_token = loader(f);
        self
    }

    /// The answer when the claims check or the typed custom claims refuse a token
    /// (`token_verification_failed_loader`). Defaults to
    /// [`default_response`](crate::default_response).
    pub fn token_verification_failed_loader<F, R>(mut self, f: F) -> Self
    where
        F: Fn(&Rejection) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.responses.token_verification_failed = loader(f);
        self
    }

    /// The answer when the user lookup finds no user (`user_lookup_error_loader`).
    /// Defaults to [`default_response`](crate::default_response).
    pub fn user_lookup_error_loader<F, R>(mut self, f: F) -> Self
    where
        F: Fn(&Rejection) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.responses.user_lookup_error = loader(f);
        self
    }

    /// Every answer as flask-jwt-extended 4.x gives it by default
    /// ([`flask_jwt_extended_response`]); loaders set afterwards still replace theirs.
    pub fn flask_jwt_extended_responses(mut self) -> Self {
        let all = loader(flask_jwt_extended_response);
        self.responses = Responses {
            unauthorized: all.clone(),
            invalid_token: all.clone(),
            expired_token: all.clone(),
            revoked_token: all.clone(),
            needs_fresh_token: all.clone(),
            token_verification_failed: all.clone(),
            user_lookup_error: all,
        };
        self
    }

    /// A check of every verified token's claims; `false` refuses the token
    /// (`token_verification_loader`). Defaults to none.
    pub fn token_verification_loader<F>(mut self, f: F) -> Self
    where
        F: Fn(&Claims) -> bool + Send + Sync + 'static,
    {
        self.claims_check = Some(Arc::new(f));
        self
    }

    /// Loads the application's user for a verified token, for the
    /// [`CurrentUser`](crate::CurrentUser) extractor; `None` refuses the request
    /// (`user_lookup_loader`). Runs only where a handler asks for the user. Defaults to
    /// none.
    pub fn user_lookup_loader<F, Fut, U>(mut self, f: F) -> Self
    where
        F: Fn(Arc<Token>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Option<U>> + Send + 'static,
        U: Send + Sync + 'static,
    {
        self.user_lookup = Some(Arc::new(move |token| {
            let fut = f(token);
            Box::pin(async move { fut.await.map(|u| Arc::new(u) as Arc<dyn Any + Send + Sync>) })
        }));
        self
    }

    /// Claims added to every token [`Auth::issue`] issues, from its subject
    /// (`additional_claims_loader`). Defaults to none.
    pub fn additional_claims_loader<F>(mut self, f: F) -> Self
    where
        F: Fn(&str) -> Map<String, Value> + Send + Sync + 'static,
    {
        self.additional_claims = Some(Arc::new(f));
        self
    }

    /// Checks the settings and builds the [`Auth`].
    pub fn build(mut self) -> Result<Auth> {
        let header = |name: &'static str, value: &str| {
            HeaderName::from_bytes(value.as_bytes()).map_err(|e| Error::InvalidSetting { name, reason: e.to_string() })
        };
        self.lookup.header = header("header_name", &self.header_name)?;
        self.lookup.header_name = self.header_name;
        self.lookup.access_csrf_header = header("access_csrf_header_name", &self.access_csrf_header_name)?;
        self.lookup.refresh_csrf_header = header("refresh_csrf_header_name", &self.refresh_csrf_header_name)?;
        if self.lookup.locations.is_empty() {
            return Err(Error::InvalidSetting { name: "token_location", reason: "no location".into() });
        }
        Ok(Auth {
            inner: Arc::new(Inner {
                revokd: self.revokd,
                lookup: self.lookup,
                cookies: self.cookies,
                responses: self.responses,
                claims_check: self.claims_check,
                user_lookup: self.user_lookup,
                additional_claims: self.additional_claims,
                json_body_limit: self.json_body_limit,
            }),
        })
    }
}
