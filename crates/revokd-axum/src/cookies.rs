//! Setting and unsetting the token cookies on a response: the `HttpOnly` token cookies
//! and the readable CSRF cookies beside them (flask-jwt-extended's `set_access_cookies`,
//! `set_refresh_cookies`, `unset_jwt_cookies`).

use axum::http::{HeaderMap, HeaderValue, header};
use cookie::time::{Duration, OffsetDateTime};
use cookie::{Cookie, SameSite};
use revokd::TokenType;

use crate::auth::Auth;
use crate::error::{Error, Result};

/// The `Max-Age` of persistent cookies, as flask-jwt-extended's (one year).
const PERSISTENT_MAX_AGE: i64 = 31_540_000;

/// Cookie attributes (see the builder for each one's default).
#[derive(Debug, Clone)]
pub(crate) struct CookieSettings {
    pub(crate) access_path: String,
    pub(crate) refresh_path: String,
    pub(crate) access_csrf_name: String,
    pub(crate) refresh_csrf_name: String,
    pub(crate) access_csrf_path: String,
    pub(crate) refresh_csrf_path: String,
    pub(crate) csrf_in_cookies: bool,
    pub(crate) secure: bool,
    pub(crate) same_site: Option<SameSite>,
    pub(crate) domain: Option<String>,
    pub(crate) session: bool,
}

impl Default for CookieSettings {
    fn default() -> Self {
        CookieSettings {
            access_path: "/".into(),
            refresh_path: "/".into(),
            access_csrf_name: "csrf_access_token".into(),
            refresh_csrf_name: "csrf_refresh_token".into(),
            access_csrf_path: "/".into(),
            refresh_csrf_path: "/".into(),
            csrf_in_cookies: true,
            secure: true,
            same_site: Some(SameSite::Lax),
            domain: None,
            session: true,
        }
    }
}

impl CookieSettings {
    /// One `Set-Cookie` value; `value: None` removes the cookie.
    fn set_cookie(&self, name: &str, value: Option<&str>, path: &str, http_only: bool) -> Result<HeaderValue> {
        let mut c = Cookie::build((name.to_owned(), value.unwrap_or("").to_owned()))
            .path(path.to_owned())
            .secure(self.secure)
            .http_only(http_only);
        if let Some(s) = self.same_site {
            c = c.same_site(s);
        }
        if let Some(d) = &self.domain {
            c = c.domain(d.clone());
        }
        match value {
            None => c = c.max_age(Duration::ZERO).expires(OffsetDateTime::UNIX_EPOCH),
            Some(_) if !self.session => c = c.max_age(Duration::seconds(PERSISTENT_MAX_AGE)),
            Some(_) => {}
        }
        HeaderValue::from_str(&c.build().to_string())
            .map_err(|e| Error::InvalidSetting { name: "cookie", reason: e.to_string() })
    }
}

impl Auth {
    /// Adds `Set-Cookie` headers for an access token: the `HttpOnly` token cookie
    /// (`access_token_cookie`) and, with CSRF protection, the readable
    /// `csrf_access_token` cookie holding its `csrf` claim for the client to echo in
    /// `X-CSRF-TOKEN`. The token must verify.
    pub fn set_access_cookies(&self, headers: &mut HeaderMap, token: &str) -> Result<()> {
        self.set_cookies(headers, token, TokenType::Access)
    }

    /// Adds `Set-Cookie` headers for a refresh token: `refresh_token_cookie` and, with
    /// CSRF protection, `csrf_refresh_token`. The token must verify.
    pub fn set_refresh_cookies(&self, headers: &mut HeaderMap, token: &str) -> Result<()> {
        self.set_cookies(headers, token, TokenType::Refresh)
    }

    /// Adds `Set-Cookie` headers that remove the access and refresh cookies and their
    /// CSRF cookies.
    pub fn unset_jwt_cookies(&self, headers: &mut HeaderMap) -> Result<()> {
        self.unset_access_cookies(headers)?;
        self.unset_refresh_cookies(headers)
    }

    /// Adds `Set-Cookie` headers that remove the access cookie and its CSRF cookie.
    pub fn unset_access_cookies(&self, headers: &mut HeaderMap) -> Result<()> {
        self.unset_cookies(headers, TokenType::Access)
    }

    /// Adds `Set-Cookie` headers that remove the refresh cookie and its CSRF cookie.
    pub fn unset_refresh_cookies(&self, headers: &mut HeaderMap) -> Result<()> {
        self.unset_cookies(headers, TokenType::Refresh)
    }

    fn set_cookies(&self, headers: &mut HeaderMap, token: &str, ty: TokenType) -> Result<()> {
        // Verified, not just decoded: a cookie never carries a token we would refuse.
        let verified = self.revokd().verify(token, ty)?;
        self.write_cookies(headers, Some((token, verified.claims.csrf.as_deref())), ty)
    }

    fn unset_cookies(&self, headers: &mut HeaderMap, ty: TokenType) -> Result<()> {
        self.write_cookies(headers, None, ty)
    }

    fn write_cookies(&self, headers: &mut HeaderMap, token: Option<(&str, Option<&str>)>, ty: TokenType) -> Result<()> {
        let (lookup, s) = (self.lookup(), self.cookie_settings());
        let (name, path, csrf_name, csrf_path) = match ty {
            TokenType::Access => (&lookup.access_cookie_name, &s.access_path, &s.access_csrf_name, &s.access_csrf_path),
            TokenType::Refresh => {
                (&lookup.refresh_cookie_name, &s.refresh_path, &s.refresh_csrf_name, &s.refresh_csrf_path)
            }
        };
        headers.append(header::SET_COOKIE, s.set_cookie(name, token.map(|t| t.0), path, true)?);
        if lookup.csrf_protect && s.csrf_in_cookies {
            let csrf = token.map(|t| t.1.unwrap_or(""));
            headers.append(header::SET_COOKIE, s.set_cookie(csrf_name, csrf, csrf_path, false)?);
        }
        Ok(())
    }
}
