//! Where a request carries its token: flask-jwt-extended's `JWT_TOKEN_LOCATION`, with its
//! names, defaults, order and messages.

use std::borrow::Cow;

use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, Method, header};
use revokd::TokenType;

use crate::rejection::Rejection;

/// A place a token can be found (flask-jwt-extended's location names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Location {
    /// A request header, `Authorization: Bearer <JWT>` by default.
    Headers,
    /// The `access_token_cookie` / `refresh_token_cookie` cookies, with the CSRF
    /// double-submit check on state-changing methods.
    Cookies,
    /// The query string, `?jwt=<JWT>` by default.
    QueryString,
    /// A JSON body: `{"access_token": …}` or `{"refresh_token": …}` by default.
    Json,
}

impl Location {
    /// `"headers"`, `"cookies"`, `"query_string"` or `"json"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Location::Headers => "headers",
            Location::Cookies => "cookies",
            Location::QueryString => "query_string",
            Location::Json => "json",
        }
    }
}

/// The tokens a JSON body carried, read by the layer (the body itself is passed on).
#[derive(Debug, Clone, Default)]
pub(crate) struct JsonTokens {
    pub(crate) access: Option<String>,
    pub(crate) refresh: Option<String>,
}

/// The lookup settings (see the builder for each one's default).
#[derive(Debug, Clone)]
pub(crate) struct Lookup {
    pub(crate) locations: Vec<Location>,
    pub(crate) header_name: String,
    pub(crate) header: HeaderName,
    pub(crate) header_type: String,
    pub(crate) access_cookie_name: String,
    pub(crate) refresh_cookie_name: String,
    pub(crate) query_string_name: String,
    pub(crate) query_string_value_prefix: String,
    pub(crate) json_key: String,
    pub(crate) refresh_json_key: String,
    pub(crate) csrf_protect: bool,
    pub(crate) csrf_methods: Vec<Method>,
    pub(crate) access_csrf_header: HeaderName,
    pub(crate) refresh_csrf_header: HeaderName,
}

impl Default for Lookup {
    fn default() -> Self {
        Lookup {
            locations: vec![Location::Headers],
            header_name: "Authorization".into(),
            header: header::AUTHORIZATION,
            header_type: "Bearer".into(),
            access_cookie_name: "access_token_cookie".into(),
            refresh_cookie_name: "refresh_token_cookie".into(),
            query_string_name: "jwt".into(),
            query_string_value_prefix: String::new(),
            json_key: "access_token".into(),
            refresh_json_key: "refresh_token".into(),
            csrf_protect: true,
            csrf_methods: vec![Method::POST, Method::PUT, Method::PATCH, Method::DELETE],
            access_csrf_header: HeaderName::from_static("x-csrf-token"),
            refresh_csrf_header: HeaderName::from_static("x-csrf-token"),
        }
    }
}

/// A token found in a request, not yet verified.
#[derive(Debug)]
pub(crate) struct Found<'a> {
    pub(crate) token: Cow<'a, str>,
    pub(crate) location: Location,
    /// The CSRF header's value, when the double-submit check applies.
    pub(crate) csrf: Option<&'a [u8]>,
}

/// One location's answer when it has no token: try the next one.
struct NotHere(String);

impl Lookup {
    /// The token of type `ty` from the first location that has one, in the configured
    /// order. A location that has a badly formed token refuses at once (as
    /// flask-jwt-extended does); a request with none gets every location's reason.
    pub(crate) fn find<'a>(&self, parts: &'a Parts, ty: TokenType) -> Result<Found<'a>, Rejection> {
        let mut reasons = Vec::new();
        for &location in &self.locations {
            let found = match location {
                Location::Headers => self.in_header(&parts.headers).map_err(|r| r.with_challenge(true)),
                Location::Cookies => self.in_cookie(parts, ty),
                Location::QueryString => self.in_query(parts),
                Location::Json => Ok(self.in_json(parts, ty)),
            }?;
            match found {
                Ok(token) => return Ok(token),
                Err(NotHere(reason)) => reasons.push(reason),
            }
        }
        let message = match (self.locations.split_last(), reasons.len()) {
            (Some((last, first)), n) if n > 1 => format!(
                "Missing JWT in {} or {} ({})",
                first.iter().map(|l| l.as_str()).collect::<Vec<_>>().join(", "),
                last.as_str(),
                reasons.join("; ")
            ),
            _ => reasons.pop().unwrap_or_else(|| "Missing JWT".into()),
        };
        Err(Rejection::missing(message).with_challenge(self.locations.contains(&Location::Headers)))
    }

    fn in_header<'a>(&self, headers: &'a HeaderMap) -> Result<Result<Found<'a>, NotHere>, Rejection> {
        let (name, ty) = (&self.header_name, &self.header_type);
        let raw = headers.get(&self.header).map(|v| v.to_str());
        let value = match raw {
            None => "",
            Some(Ok(v)) => v.trim().trim_matches(','),
            Some(Err(_)) => {
                return Err(Rejection::invalid(format!("Bad {name} header. Expected '{name}: {ty} <JWT>'")));
            }
        };
        if value.is_empty() {
            return Ok(Err(NotHere(format!("Missing {name} Header"))));
        }
        let token = if ty.is_empty() {
            let mut words = value.split_whitespace();
            match (words.next(), words.next()) {
                (Some(t), None) => t,
                _ => return Err(Rejection::invalid(format!("Bad {name} header. Expected '{name}: <JWT>'"))),
            }
        } else {
            // A header may hold several comma-separated credentials: exactly one of ours.
            let mut ours =
                value.split(',').map(str::trim_start).filter(|s| s.split_whitespace().next() == Some(ty.as_str()));
            let field = match (ours.next(), ours.next()) {
                (Some(f), None) => f,
                _ => {
                    return Ok(Err(NotHere(format!(
                        "Missing '{ty}' type in '{name}' header. Expected '{name}: {ty} <JWT>'"
                    ))));
                }
            };
            let mut words = field.split_whitespace().skip(1);
            match (words.next(), words.next()) {
                (Some(t), None) => t,
                _ => return Err(Rejection::invalid(format!("Bad {name} header. Expected '{name}: {ty} <JWT>'"))),
            }
        };
        Ok(Ok(Found { token: Cow::Borrowed(token), location: Location::Headers, csrf: None }))
    }

    fn in_cookie<'a>(&self, parts: &'a Parts, ty: TokenType) -> Result<Result<Found<'a>, NotHere>, Rejection> {
        let (name, csrf_header) = match ty {
            TokenType::Access => (&self.access_cookie_name, &self.access_csrf_header),
            TokenType::Refresh => (&self.refresh_cookie_name, &self.refresh_csrf_header),
        };
        let Some(token) = cookie(&parts.headers, name).filter(|v| !v.is_empty()) else {
            return Ok(Err(NotHere(format!("Missing cookie \"{name}\""))));
        };
        let csrf = if self.csrf_protect && self.csrf_methods.contains(&parts.method) {
            match parts.headers.get(csrf_header).map(|v| v.as_bytes()).filter(|v| !v.is_empty()) {
                Some(v) => Some(v),
                None => return Err(Rejection::csrf("Missing CSRF token")),
            }
        } else {
            None
        };
        Ok(Ok(Found { token: Cow::Borrowed(token), location: Location::Cookies, csrf }))
    }

    fn in_query<'a>(&self, parts: &'a Parts) -> Result<Result<Found<'a>, NotHere>, Rejection> {
        let name = &self.query_string_name;
        let value = parts
            .uri
            .query()
            .and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == name.as_str()).map(|(_, v)| v));
        let Some(value) = value.filter(|v| !v.is_empty()) else {
            // flask-jwt-extended's spelling, kept so that answers compare equal.
            return Ok(Err(NotHere(format!("Missing '{name}' query paramater"))));
        };
        let prefix = &self.query_string_value_prefix;
        let Some(token) = value.strip_prefix(prefix.as_str()) else {
            return Err(Rejection::invalid(format!(
                "Invalid value for query parameter '{name}'. Expected the value to start with '{prefix}'"
            )));
        };
        Ok(Ok(Found { token: Cow::Owned(token.to_owned()), location: Location::QueryString, csrf: None }))
    }

    fn in_json<'a>(&self, parts: &'a Parts, ty: TokenType) -> Result<Found<'a>, NotHere> {
        if !is_json(&parts.headers) {
            return Err(NotHere("Invalid content-type. Must be application/json.".into()));
        }
        let tokens = parts.extensions.get::<JsonTokens>();
        let (key, token) = match ty {
            TokenType::Access => (&self.json_key, tokens.and_then(|t| t.access.as_deref())),
            TokenType::Refresh => (&self.refresh_json_key, tokens.and_then(|t| t.refresh.as_deref())),
        };
        match token {
            Some(t) if !t.is_empty() => Ok(Found { token: Cow::Borrowed(t), location: Location::Json, csrf: None }),
            _ => Err(NotHere(format!("Missing \"{key}\" key in json data."))),
        }
    }

    /// The tokens under the configured keys of a JSON body; none if it is not a JSON
    /// object.
    pub(crate) fn json_tokens(&self, body: &[u8]) -> JsonTokens {
        let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(body) else {
            return JsonTokens::default();
        };
        let get = |k: &str| map.get(k).and_then(|v| v.as_str()).map(str::to_owned);
        JsonTokens { access: get(&self.json_key), refresh: get(&self.refresh_json_key) }
    }
}

/// Whether the request says its body is JSON (`application/json` or `application/*+json`,
/// as Werkzeug's `is_json`).
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    let Some(ct) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mime = ct.split(';').next().unwrap_or("").trim();
    mime.eq_ignore_ascii_case("application/json")
        || (mime.len() > 17
            && mime[..12].eq_ignore_ascii_case("application/")
            && mime[mime.len() - 5..].eq_ignore_ascii_case("+json"))
}

/// The first cookie called `name` in the request's `Cookie` headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| k.trim() == name)
        .map(|(_, v)| {
            let v = v.trim();
            v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(v)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(req: axum::http::request::Builder) -> Parts {
        req.body(()).map(|r| r.into_parts().0).expect("request")
    }

    #[test]
    fn several_credentials_in_one_header_pick_ours() {
        let l = Lookup::default();
        let p = parts(axum::http::Request::get("/").header("authorization", "Basic abc, Bearer t.o.k"));
        assert_eq!(l.find(&p, TokenType::Access).expect("found").token, "t.o.k");
    }

    #[test]
    fn missing_everywhere_names_every_location() {
        let l = Lookup { locations: vec![Location::Headers, Location::Cookies], ..Lookup::default() };
        let p = parts(axum::http::Request::get("/"));
        let r = l.find(&p, TokenType::Access).expect_err("missing");
        assert_eq!(
            r.message(),
            "Missing JWT in headers or cookies (Missing Authorization Header; Missing cookie \"access_token_cookie\")"
        );
    }

    #[test]
    fn json_content_types() {
        let mut h = HeaderMap::new();
        for (ct, json) in [
            ("application/json", true),
            ("Application/JSON; charset=utf-8", true),
            ("application/vnd.api+json", true),
            ("text/plain", false),
            ("application/jsonx", false),
        ] {
            h.insert(header::CONTENT_TYPE, ct.parse().expect("header"));
            assert_eq!(is_json(&h), json, "{ct}");
        }
    }

    #[test]
    fn quoted_cookie_values_are_unquoted() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=1; access_token_cookie=\"x.y.z\"".parse().expect("header"));
        assert_eq!(cookie(&h, "access_token_cookie"), Some("x.y.z"));
        assert_eq!(cookie(&h, "b"), None);
    }
}
