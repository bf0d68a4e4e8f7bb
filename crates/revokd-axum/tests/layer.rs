//! The tower layer in front of a plain tower service (no axum routing), with and without
//! a requirement.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use revokd_axum::{Auth, Location, Rejection, Requirement, RevokdLayer, Token};
use serde_json::json;
use tower::{Layer, ServiceExt, service_fn};

use crate::common::*;

/// A plain tower service that says what the layer left in the extensions.
async fn echo(req: Request<Body>) -> Result<Response<String>, Infallible> {
    let seen = match (req.extensions().get::<Arc<Token>>(), req.extensions().get::<Rejection>()) {
        (Some(t), _) => format!("token {}", t.identity()),
        (None, Some(r)) => format!("rejection {}", r.code()),
        (None, None) => "nothing".to_owned(),
    };
    Ok(Response::new(seen))
}

async fn run(layer: RevokdLayer, req: Request<Body>) -> (StatusCode, String) {
    let res = layer.layer(service_fn(echo)).oneshot(req).await.unwrap();
    let status = res.status();
    let body = http_body_util::BodyExt::collect(res.into_body()).await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn layer_of(auth: &Auth) -> RevokdLayer {
    auth.layer()
}

#[tokio::test]
async fn without_a_requirement_the_layer_records_the_outcome_and_refuses_nothing() {
    let f = fixture().await;
    let auth = auth(&f.revokd, |b| b);
    let pair = login(&auth, "alice").await;
    assert_eq!(run(layer_of(&auth), get_with("/", &pair.access_token)).await, (StatusCode::OK, "token alice".into()));
    assert_eq!(run(layer_of(&auth), bare("GET", "/")).await, (StatusCode::OK, "rejection token_missing".into()));
    assert_eq!(run(layer_of(&auth), get_with("/", "x")).await, (StatusCode::OK, "rejection token_invalid".into()));
}

#[tokio::test]
async fn with_a_requirement_the_layer_answers_without_calling_the_service() {
    let f = fixture().await;
    let auth = auth(&f.revokd, |b| b);
    let pair = login(&auth, "alice").await;
    let stale = auth.issue(revokd::IssueRequest::new("alice")).await.unwrap();

    let access = layer_of(&auth).require(Requirement::Access);
    assert_eq!(run(access.clone(), get_with("/", &pair.access_token)).await.1, "token alice");
    let (status, body) = run(access.clone(), bare("GET", "/")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap(),
        json!({"error": "token_missing", "message": "Missing Authorization Header"})
    );

    let optional = layer_of(&auth).require(Requirement::Optional);
    assert_eq!(run(optional.clone(), bare("GET", "/")).await, (StatusCode::OK, "rejection token_missing".into()));
    assert_eq!(run(optional, get_with("/", "x")).await.0, StatusCode::UNAUTHORIZED);

    let fresh = layer_of(&auth).require(Requirement::Fresh);
    assert_eq!(run(fresh.clone(), get_with("/", &pair.access_token)).await.0, StatusCode::OK);
    assert_eq!(run(fresh, get_with("/", &stale.access_token)).await.0, StatusCode::UNAUTHORIZED);

    let refresh = layer_of(&auth).require(Requirement::Refresh);
    assert_eq!(run(refresh.clone(), get_with("/", &pair.refresh_token)).await.1, "token alice");
    assert_eq!(run(refresh, get_with("/", &pair.access_token)).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_layer_reads_a_json_body_and_passes_it_on_intact() {
    let f = fixture().await;
    let auth = auth(&f.revokd, |b| b.token_location(&[Location::Json]));
    let pair = login(&auth, "alice").await;
    let body = json!({"refresh_token": pair.refresh_token}).to_string();
    let svc = layer_of(&auth).require(Requirement::Refresh).layer(service_fn(|req: Request<Body>| async move {
        let bytes = http_body_util::BodyExt::collect(req.into_body()).await.unwrap().to_bytes();
        Ok::<_, Infallible>(Response::new(String::from_utf8_lossy(&bytes).into_owned()))
    }));
    let req = Request::post("/").header("content-type", "application/json").body(Body::from(body.clone())).unwrap();
    let res = svc.oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let got = http_body_util::BodyExt::collect(res.into_body()).await.unwrap().to_bytes();
    assert_eq!(got, body.as_bytes());
}
