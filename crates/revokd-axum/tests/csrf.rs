//! The CSRF double-submit check on cookie tokens, and the cookie helpers.

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use revokd_axum::{Location, SameSite};
use serde_json::json;

use crate::common::*;

fn post_with_cookie(token: &str, csrf: Option<&str>) -> Request<Body> {
    let mut req = Request::post("/protected").header("cookie", format!("access_token_cookie={token}"));
    if let Some(c) = csrf {
        req = req.header("X-CSRF-TOKEN", c);
    }
    req.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn state_changing_cookie_requests_need_the_matching_csrf_header() {
    let f = fixture().await;
    let auth = auth(&f.revokd, |b| b.token_location(&[Location::Cookies]));
    let app = app(&auth);
    let pair = login(&auth, "alice").await;
    let csrf = pair.access.csrf.clone().expect("cookie mode issues a csrf claim");

    let a = call(&app, post_with_cookie(&pair.access_token, Some(&csrf))).await;
    assert_eq!((a.status, a.text.as_str()), (StatusCode::OK, "alice"));

    let a = call(&app, post_with_cookie(&pair.access_token, None)).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.json(), json!({"error": "token_invalid", "message": "Missing CSRF token"}));

    let a = call(&app, post_with_cookie(&pair.access_token, Some("0000"))).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.json(), json!({"error": "token_invalid", "message": "CSRF double submit tokens do not match"}));

    // Safe methods need no header.
    let req = Request::get("/protected").header("cookie", format!("access_token_cookie={}", pair.access_token));
    assert_eq!(call(&app, req.body(Body::empty()).unwrap()).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_cookie_token_without_a_csrf_claim_is_invalid_on_state_changing_methods() {
    let f = fixture().await;
    // Issued by an app that does not use cookies: no csrf claim.
    let headers_only = auth(&f.revokd, |b| b);
    let pair = login(&headers_only, "alice").await;
    assert!(pair.access.csrf.is_none());
    let cookies = auth(&f.revokd, |b| b.token_location(&[Location::Cookies]));
    let a = call(&app(&cookies), post_with_cookie(&pair.access_token, Some("x"))).await;
    assert_eq!(a.json(), json!({"error": "token_invalid", "message": "Missing claim: csrf"}));
}

#[tokio::test]
async fn csrf_protection_and_methods_are_configurable() {
    let f = fixture().await;
    let off = auth(&f.revokd, |b| b.token_location(&[Location::Cookies]).cookie_csrf_protect(false));
    let pair = login(&off, "alice").await;
    assert!(pair.access.csrf.is_none(), "no csrf claim without protection");
    assert_eq!(call(&app(&off), post_with_cookie(&pair.access_token, None)).await.status, StatusCode::OK);

    let get_too = auth(&f.revokd, |b| b.token_location(&[Location::Cookies]).csrf_methods(&[Method::GET]));
    let pair = login(&get_too, "alice").await;
    assert_eq!(call(&app(&get_too), post_with_cookie(&pair.access_token, None)).await.status, StatusCode::OK);
    let req = Request::get("/protected").header("cookie", format!("access_token_cookie={}", pair.access_token));
    let a = call(&app(&get_too), req.body(Body::empty()).unwrap()).await;
    assert_eq!(a.json()["message"], "Missing CSRF token");
}

fn set_cookies(h: &HeaderMap) -> Vec<String> {
    h.get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn cookie_helpers_set_httponly_token_cookies_and_readable_csrf_cookies() {
    let f = fixture().await;
    let auth = auth(&f.revokd, |b| b.token_location(&[Location::Cookies]));
    let pair = login(&auth, "alice").await;
    let mut h = HeaderMap::new();
    auth.set_access_cookies(&mut h, &pair.access_token).unwrap();
    auth.set_refresh_cookies(&mut h, &pair.refresh_token).unwrap();
    let csrf = pair.access.csrf.clone().unwrap();
    let c = set_cookies(&h);
    assert_eq!(c.len(), 4, "{c:?}");
    assert!(c[0].starts_with(&format!("access_token_cookie={};", pair.access_token)), "{}", c[0]);
    for part in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(c[0].contains(part), "{part} in {}", c[0]);
    }
    assert!(!c[0].contains("Max-Age"), "session cookie by default: {}", c[0]);
    assert!(c[1].starts_with(&format!("csrf_access_token={csrf};")) && !c[1].contains("HttpOnly"), "{}", c[1]);
    assert!(c[2].starts_with("refresh_token_cookie=") && c[2].contains("HttpOnly"), "{}", c[2]);
    assert!(c[3].starts_with("csrf_refresh_token=") && !c[3].contains("HttpOnly"), "{}", c[3]);

    let mut h = HeaderMap::new();
    auth.unset_jwt_cookies(&mut h).unwrap();
    let c = set_cookies(&h);
    assert_eq!(c.len(), 4);
    for (cookie, name) in
        c.iter().zip(["access_token_cookie", "csrf_access_token", "refresh_token_cookie", "csrf_refresh_token"])
    {
        assert!(cookie.starts_with(&format!("{name}=;")) && cookie.contains("Max-Age=0"), "{cookie}");
    }

    assert!(auth.set_access_cookies(&mut h, "not.a.token").is_err(), "a token that does not verify is never set");
    assert!(auth.set_access_cookies(&mut h, &pair.refresh_token).is_err(), "nor one of the other type");
}

#[tokio::test]
async fn cookie_attributes_are_configurable() {
    let f = fixture().await;
    let auth = auth(&f.revokd, |b| {
        b.token_location(&[Location::Cookies])
            .cookie_secure(false)
            .cookie_samesite(Some(SameSite::Strict))
            .cookie_domain("example.com")
            .access_cookie_path("/api")
            .session_cookie(false)
            .csrf_in_cookies(false)
    });
    let pair = login(&auth, "alice").await;
    let mut h = HeaderMap::new();
    auth.set_access_cookies(&mut h, &pair.access_token).unwrap();
    let c = set_cookies(&h);
    assert_eq!(c.len(), 1, "no csrf cookie: {c:?}");
    for part in ["SameSite=Strict", "Domain=example.com", "Path=/api", "Max-Age=31540000"] {
        assert!(c[0].contains(part), "{part} in {}", c[0]);
    }
    assert!(!c[0].contains("Secure"), "{}", c[0]);
}

#[tokio::test]
async fn a_browser_flow_with_the_set_cookies_passes_csrf() {
    let f = fixture().await;
    let auth = auth(&f.revokd, |b| b.token_location(&[Location::Cookies]));
    let pair = login(&auth, "alice").await;
    let mut h = HeaderMap::new();
    auth.set_access_cookies(&mut h, &pair.access_token).unwrap();
    // What a browser sends back, and what its script reads from the readable cookie.
    let jar: Vec<String> = set_cookies(&h).iter().map(|c| c.split(';').next().unwrap().to_owned()).collect();
    let csrf = jar[1].split_once('=').unwrap().1.to_owned();
    let req = Request::post("/protected").header("cookie", jar.join("; ")).header("x-csrf-token", csrf);
    let a = call(&app(&auth), req.body(Body::empty()).unwrap()).await;
    assert_eq!((a.status, a.text.as_str()), (StatusCode::OK, "alice"));
}
