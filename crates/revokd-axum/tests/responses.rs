//! Each replaceable response, the flask-jwt-extended preset, and `WWW-Authenticate`.

use axum::Json;
use axum::http::StatusCode;
use revokd::IssueRequest;
use revokd_axum::{Rejection, RejectionKind};
use serde_json::json;

use crate::common::*;

fn teapot(name: &'static str) -> impl Fn(&Rejection) -> (StatusCode, Json<serde_json::Value>) + Send + Sync {
    move |r: &Rejection| {
        let sub = r.claims().map(|c| c.sub.clone());
        (StatusCode::IM_A_TEAPOT, Json(json!({"loader": name, "message": r.message(), "sub": sub})))
    }
}

#[tokio::test]
async fn every_loader_replaces_its_answer() {
    let f = fixture().await;
    let auth = auth(&f.revokd, |b| {
        b.unauthorized_loader(teapot("unauthorized"))
            .invalid_token_loader(teapot("invalid"))
            .expired_token_loader(teapot("expired"))
            .revoked_token_loader(teapot("revoked"))
            .needs_fresh_token_loader(teapot("needs_fresh"))
            .token_verification_failed_loader(teapot("verification_failed"))
            .user_lookup_error_loader(teapot("user_lookup_error"))
            .token_verification_loader(|c| c.sub != "mallory")
            .user_lookup_loader(|_| async { None::<String> })
    });
    let app = app(&auth);
    let check = |a: Answer, loader: &str, message: &str, sub: Option<&str>| {
        assert_eq!(a.status, StatusCode::IM_A_TEAPOT, "{}", a.text);
        assert_eq!(a.json(), json!({"loader": loader, "message": message, "sub": sub}));
    };

    check(call(&app, bare("GET", "/protected")).await, "unauthorized", "Missing Authorization Header", None);
    let a = call(&app, get_with("/protected", "x.y.z")).await;
    assert_eq!((a.status, &a.json()["loader"]), (StatusCode::IM_A_TEAPOT, &json!("invalid")));
    let pair = login(&auth, "alice").await;
    check(
        call(&app, get_with("/protected", &pair.refresh_token)).await,
        "invalid",
        "Only non-refresh tokens are allowed",
        None,
    );

    let stale = auth.issue(IssueRequest::new("alice")).await.unwrap();
    check(
        call(&app, get_with("/fresh", &stale.access_token)).await,
        "needs_fresh",
        "Fresh token required",
        Some("alice"),
    );
    check(
        call(&app, get_with("/user", &pair.access_token)).await,
        "user_lookup_error",
        "Error loading the user alice",
        Some("alice"),
    );
    let mallory = login(&auth, "mallory").await;
    check(
        call(&app, get_with("/protected", &mallory.access_token)).await,
        "verification_failed",
        "User claims verification failed",
        Some("mallory"),
    );

    f.revokd.revoke_token(&pair.access_token, None, "admin").await.unwrap();
    check(
        call(&app, get_with("/protected", &pair.access_token)).await,
        "revoked",
        "Token has been revoked",
        Some("alice"),
    );

    f.clock.advance_ms(3_600_000);
    check(call(&app, get_with("/protected", &stale.access_token)).await, "expired", "Token has expired", None);
}

#[tokio::test]
async fn a_replaced_401_gets_the_bearer_challenge_unless_it_has_one() {
    let f = fixture().await;
    let plain = auth(&f.revokd, |b| b.unauthorized_loader(|_: &Rejection| (StatusCode::UNAUTHORIZED, "no")));
    let a = call(&app(&plain), bare("GET", "/protected")).await;
    assert_eq!((a.status, a.text.as_str()), (StatusCode::UNAUTHORIZED, "no"));
    assert_eq!(a.headers["www-authenticate"], "Bearer");

    let own = auth(&f.revokd, |b| {
        b.unauthorized_loader(|_: &Rejection| {
            (StatusCode::UNAUTHORIZED, [("www-authenticate", "Bearer realm=\"x\"")], "no")
        })
    });
    let a = call(&app(&own), bare("GET", "/protected")).await;
    assert_eq!(a.headers["www-authenticate"], "Bearer realm=\"x\"");
}

#[tokio::test]
async fn the_flask_preset_answers_as_flask_jwt_extended() {
    let f = fixture().await;
    let auth = auth(&f.revokd, |b| b.flask_jwt_extended_responses());
    let app = app(&auth);
    let pair = login(&auth, "alice").await;

    let a = call(&app, bare("GET", "/protected")).await;
    assert_eq!((a.status, a.json()), (StatusCode::UNAUTHORIZED, json!({"msg": "Missing Authorization Header"})));
    let a = call(&app, get_with("/protected", &pair.refresh_token)).await;
    assert_eq!(
        (a.status, a.json()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!({"msg": "Only non-refresh tokens are allowed"}))
    );
    let a = call(&app, get_with("/protected", "garbage")).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    f.revokd.revoke_token(&pair.access_token, None, "admin").await.unwrap();
    let a = call(&app, get_with("/protected", &pair.access_token)).await;
    assert_eq!((a.status, a.json()), (StatusCode::UNAUTHORIZED, json!({"msg": "Token has been revoked"})));
}

#[tokio::test]
async fn rejection_kinds_are_exposed_to_loaders() {
    let f = fixture().await;
    let auth = auth(&f.revokd, |b| {
        b.invalid_token_loader(|r: &Rejection| {
            assert!(matches!(r.kind(), RejectionKind::Invalid | RejectionKind::WrongType));
            (StatusCode::UNPROCESSABLE_ENTITY, r.code())
        })
    });
    let a = call(&app(&auth), get_with("/protected", "a.b.c")).await;
    assert_eq!((a.status, a.text.as_str()), (StatusCode::UNPROCESSABLE_ENTITY, "token_invalid"));
    f.clock.set_ms(START_MS);
    let future = {
        let pair = login(&auth, "alice").await;
        f.clock.set_ms(START_MS - 60_000);
        pair.access_token
    };
    let a = call(&app(&auth), get_with("/protected", &future)).await;
    assert_eq!(a.text, "token_not_yet_valid");
}
