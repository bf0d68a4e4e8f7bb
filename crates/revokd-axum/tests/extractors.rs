//! Each extractor: what passes, what is refused and how.

use axum::http::StatusCode;
use revokd::IssueRequest;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn required_token_passes_and_its_absence_is_401_with_a_bearer_challenge() {
    let f = fixture().await;
    let auth = auth(&f.revokd, |b| b);
    let app = app(&auth);
    let pair = login(&auth, "alice").await;

    let a = call(&app, get_with("/protected", &pair.access_token)).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.json(), json!({"sub": "alice", "at": "headers"}));

    let a = call(&app, bare("GET", "/protected")).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.json(), json!({"error": "token_missing", "message": "Missing Authorization Header"}));
    assert_eq!(a.headers["www-authenticate"], "Bearer");
}

#[tokio::test]
async fn optional_token_is_none_without_a_token_but_a_bad_or_revoked_one_is_refused() {
    let f = fixture().await;
    let auth = auth(&f.revokd, |b| b);
    let app = app(&auth);
    let pair = login(&auth, "alice").await;

    let a = call(&app, bare("GET", "/optional")).await;
    assert_eq!((a.status, a.json()), (StatusCode::OK, json!({"sub": null})));

    let a = call(&app, get_with("/optional", &pair.access_token)).await;
    assert_eq!((a.status, a.json()), (StatusCode::OK, json!({"sub": "alice"})));

    let a = call(&app, get_with("/optional", "not.a.token")).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.json()["error"], "token_invalid");
    assert!(a.headers["www-authenticate"].to_str().unwrap().starts_with("Bearer error=\"invalid_token\""));

    f.revokd.revoke_token(&pair.access_token, None, "admin").await.unwrap();
    let a = call(&app, get_with("/optional", &pair.access_token)).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.json(), json!({"error": "token_revoked", "message": "Token has been revoked"}));
}

#[tokio::test]
async fn fresh_extractor_refuses_a_token_that_is_not_fresh() {
    let f = fixture().await;
    let auth = auth(&f.revokd, |b| b);
    let app = app(&auth);
    let fresh = login(&auth, "alice").await;
    let stale = auth.issue(IssueRequest::new("alice")).await.unwrap();

    let a = call(&app, get_with("/fresh", &fresh.access_token)).await;
    assert_eq!((a.status, a.text.as_str()), (StatusCode::OK, "alice"));

    let a = call(&app, get_with("/fresh", &stale.access_token)).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.json(), json!({"error": "fresh_token_required", "message": "Fresh token required"}));
    assert!(
        a.headers["www-authenticate"].to_str().unwrap().contains("error=\"insufficient_user_authentication\""),
        "{:?}",
        a.headers
    );
}

#[tokio::test]
async fn refresh_extractor_takes_only_refresh_tokens_and_does_not_consume_them() {
    let f = fixture().await;
    let auth = auth(&f.revokd, |b| b);
    let app = app(&auth);
    let pair = login(&auth, "alice").await;
    let post = |t: &str| {
        axum::http::Request::post("/refresh")
            .header("authorization", format!("Bearer {t}"))
            .body(axum::body::Body::empty())
            .unwrap()
    };

    for _ in 0..2 {
        let a = call(&app, post(&pair.refresh_token)).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        assert_eq!(a.json(), json!({"sub": "alice", "type": "refresh", "body": null}));
    }

    let a = call(&app, post(&pair.access_token)).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.json(), json!({"error": "token_wrong_type", "message": "Only refresh tokens are allowed"}));

    let a = call(&app, get_with("/protected", &pair.refresh_token)).await;
    assert_eq!(a.json(), json!({"error": "token_wrong_type", "message": "Only non-refresh tokens are allowed"}));
}

#[tokio::test]
async fn typed_custom_claims_reach_the_handler_and_a_misfit_is_refused() {
    let f = fixture().await;
    let auth = auth(&f.revokd, |b| b);
    let app = app(&auth);
    let admin = auth.issue(IssueRequest::new("alice").claim("role", "admin")).await.unwrap();
    let plain = login(&auth, "bob").await;

    let a = call(&app, get_with("/typed", &admin.access_token)).await;
    assert_eq!((a.status, a.text.as_str()), (StatusCode::OK, "admin"));

    let a = call(&app, get_with("/typed", &plain.access_token)).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(a.json(), json!({"error": "claims_refused", "message": "User claims verification failed"}));
}

#[tokio::test]
async fn additional_claims_are_issued_and_request_claims_win() {
    let f = fixture().await;
    let auth = auth(&f.revokd, |b| {
        b.additional_claims_loader(|sub| {
            let mut m = serde_json::Map::new();
            m.insert("role".into(), json!(format!("{sub}-role")));
            m.insert("tier".into(), json!("gold"));
            m
        })
    });
    let app = app(&auth);
    let pair = login(&auth, "alice").await;
    assert_eq!(pair.access.custom["tier"], "gold");
    let a = call(&app, get_with("/typed", &pair.access_token)).await;
    assert_eq!(a.text, "alice-role");

    let own = auth.issue(IssueRequest::new("alice").claim("role", "mine")).await.unwrap();
    assert_eq!(call(&app, get_with("/typed", &own.access_token)).await.text, "mine");
}

#[tokio::test]
async fn current_user_comes_from_the_lookup_and_a_missing_user_is_refused() {
    let f = fixture().await;
    let auth = auth(&f.revokd, |b| {
        b.user_lookup_loader(|token| {
            let sub = token.identity().to_owned();
            async move { (sub == "alice").then(|| format!("user #{sub}")) }
        })
    });
    let app = app(&auth);

    let a = call(&app, get_with("/user", &login(&auth, "alice").await.access_token)).await;
    assert_eq!((a.status, a.text.as_str()), (StatusCode::OK, "user #alice"));

    let a = call(&app, get_with("/user", &login(&auth, "bob").await.access_token)).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.json(), json!({"error": "user_not_found", "message": "Error loading the user bob"}));
}

#[tokio::test]
async fn an_extractor_without_the_layer_answers_500_without_details() {
    let f = fixture().await;
    let auth = auth(&f.revokd, |b| b);
    let pair = login(&auth, "alice").await;
    let app = axum::Router::new().route("/p", axum::routing::get(|_: revokd_axum::Jwt| async { "no" }));
    let a = call(&app, get_with("/p", &pair.access_token)).await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(a.json(), json!({"error": "internal", "message": "internal error"}));
}
