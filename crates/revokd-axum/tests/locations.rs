//! Each token location, their settings, and their combination.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use revokd_axum::Location;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn header_name_and_type_are_configurable() {
    let f = fixture().await;
    let custom = auth(&f.revokd, |b| b.header_name("X-Token").header_type("JWT"));
    let token = login(&custom, "alice").await.access_token;
    let req = |v: String| Request::get("/protected").header("x-token", v).body(Body::empty()).unwrap();

    let a = call(&app(&custom), req(format!("JWT {token}"))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);

    let a = call(&app(&custom), req(format!("Bearer {token}"))).await;
    assert_eq!(
        a.json(),
        json!({"error": "token_missing", "message": "Missing 'JWT' type in 'X-Token' header. Expected 'X-Token: JWT <JWT>'"})
    );
    assert_eq!(a.headers["www-authenticate"], "JWT");

    let bare_type = auth(&f.revokd, |b| b.header_type(""));
    let req = |v: String| Request::get("/protected").header("authorization", v).body(Body::empty()).unwrap();
    assert_eq!(call(&app(&bare_type), req(token.clone())).await.status, StatusCode::OK);
    let a = call(&app(&bare_type), req(format!("Bearer {token}"))).await;
    assert_eq!(
        a.json(),
        json!({"error": "token_invalid", "message": "Bad Authorization header. Expected 'Authorization: <JWT>'"})
    );
}

#[tokio::test]
async fn a_malformed_authorization_header_is_invalid() {
    let f = fixture().await;
    let auth = auth(&f.revokd, |b| b);
    let req = Request::get("/protected").header("authorization", "Bearer a b").body(Body::empty()).unwrap();
    let a = call(&app(&auth), req).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        a.json(),
        json!({"error": "token_invalid", "message": "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'"})
    );
}

#[tokio::test]
async fn query_string_location_reads_jwt_with_its_prefix() {
    let f = fixture().await;
    let only_headers = auth(&f.revokd, |b| b);
    let query = auth(&f.revokd, |b| b.token_location(&[Location::QueryString]).query_string_value_prefix("v1:"));
    let token = login(&query, "alice").await.access_token;

    let a = call(&app(&query), bare("GET", &format!("/protected?x=1&jwt=v1:{token}"))).await;
    assert_eq!((a.status, a.json()), (StatusCode::OK, json!({"sub": "alice", "at": "query_string"})));

    let a = call(&app(&query), bare("GET", &format!("/protected?jwt={token}"))).await;
    assert_eq!(a.json()["message"], "Invalid value for query parameter 'jwt'. Expected the value to start with 'v1:'");

    let a = call(&app(&query), bare("GET", "/protected")).await;
    assert_eq!(a.json(), json!({"error": "token_missing", "message": "Missing 'jwt' query paramater"}));
    assert!(!a.headers.contains_key("www-authenticate"), "no header location, no bearer challenge");

    let a = call(&app(&only_headers), bare("GET", &format!("/protected?jwt={token}"))).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "the query string is not read unless configured");
}

#[tokio::test]
async fn cookie_location_reads_the_access_and_refresh_cookies() {
    let f = fixture().await;
    let auth = auth(&f.revokd, |b| b.token_location(&[Location::Cookies]));
    let pair = login(&auth, "alice").await;
    let with_cookie = |method: &str, uri: &str, cookie: String| {
        Request::builder().method(method).uri(uri).header("cookie", cookie).body(Body::empty()).unwrap()
    };

    let a =
        call(&app(&auth), with_cookie("GET", "/protected", format!("a=b; access_token_cookie={}", pair.access_token)))
            .await;
    assert_eq!((a.status, a.json()), (StatusCode::OK, json!({"sub": "alice", "at": "cookies"})));

    let csrf = pair.refresh.csrf.clone().unwrap();
    let req = Request::post("/refresh")
        .header("cookie", format!("refresh_token_cookie={}", pair.refresh_token))
        .header("x-csrf-token", csrf)
        .body(Body::empty())
        .unwrap();
    let a = call(&app(&auth), req).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);

    let a = call(&app(&auth), bare("GET", "/protected")).await;
    assert_eq!(a.json(), json!({"error": "token_missing", "message": "Missing cookie \"access_token_cookie\""}));
}

#[tokio::test]
async fn json_body_location_reads_refresh_token_and_passes_the_body_on() {
    let f = fixture().await;
    let auth = auth(&f.revokd, |b| b.token_location(&[Location::Json]));
    let pair = login(&auth, "alice").await;
    let body = json!({"refresh_token": pair.refresh_token, "device": "phone"});
    let req = Request::post("/refresh")
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();

    let a = call(&app(&auth), req).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.json(), json!({"sub": "alice", "type": "refresh", "body": body}));

    let req = Request::post("/refresh").header("content-type", "application/json").body(Body::from("{}")).unwrap();
    let a = call(&app(&auth), req).await;
    assert_eq!(a.json(), json!({"error": "token_missing", "message": "Missing \"refresh_token\" key in json data."}));

    let a = call(&app(&auth), bare("POST", "/refresh")).await;
    assert_eq!(a.json()["message"], "Invalid content-type. Must be application/json.");
}

#[tokio::test]
async fn a_json_body_over_the_limit_is_413() {
    let f = fixture().await;
    let auth = auth(&f.revokd, |b| b.token_location(&[Location::Json]).json_body_limit(16));
    let req = Request::post("/refresh")
        .header("content-type", "application/json")
        .body(Body::from(json!({"refresh_token": "x".repeat(64)}).to_string()))
        .unwrap();
    let a = call(&app(&auth), req).await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn combined_locations_take_the_first_found_and_name_all_when_none() {
    let f = fixture().await;
    let auth = auth(&f.revokd, |b| b.token_location(&[Location::Headers, Location::Cookies, Location::QueryString]));
    let alice = login(&auth, "alice").await.access_token;
    let bob = login(&auth, "bob").await.access_token;

    let req = Request::get(format!("/protected?jwt={bob}"))
        .header("cookie", format!("access_token_cookie={alice}"))
        .body(Body::empty())
        .unwrap();
    let a = call(&app(&auth), req).await;
    assert_eq!(a.json(), json!({"sub": "alice", "at": "cookies"}));

    let a = call(&app(&auth), get_with(&format!("/protected?jwt={alice}"), &bob)).await;
    assert_eq!(a.json(), json!({"sub": "bob", "at": "headers"}));

    let a = call(&app(&auth), bare("GET", "/protected")).await;
    assert_eq!(
        a.json()["message"],
        "Missing JWT in headers, cookies or query_string (Missing Authorization Header; Missing cookie \
         \"access_token_cookie\"; Missing 'jwt' query paramater)"
    );
    assert_eq!(a.headers["www-authenticate"], "Bearer");
}
