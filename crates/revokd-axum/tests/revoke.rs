//! The revoke helpers a handler calls with its own token, seen by this process and by
//! another one sharing the SQLite file.

use axum::http::StatusCode;

use crate::common::*;

fn delete_with(uri: &str, token: &str) -> axum::http::Request<axum::body::Body> {
    axum::http::Request::delete(uri)
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap()
}

#[tokio::test]
async fn revoke_refuses_this_token_only() {
    let f = fixture().await;
    let auth = auth(&f.revokd, |b| b);
    let app = app(&auth);
    let one = login(&auth, "alice").await;
    let two = login(&auth, "alice").await;

    let a = call(&app, delete_with("/logout", &one.access_token)).await;
    assert_eq!((a.status, a.text.as_str()), (StatusCode::OK, "jti"));
    assert_eq!(call(&app, get_with("/protected", &one.access_token)).await.json()["error"], "token_revoked");
    assert_eq!(call(&app, get_with("/protected", &two.access_token)).await.status, StatusCode::OK);
    let refresh = axum::http::Request::post("/refresh")
        .header("authorization", format!("Bearer {}", one.refresh_token))
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(call(&app, refresh).await.status, StatusCode::OK, "the login's refresh token still works");
}

#[tokio::test]
async fn revoke_family_refuses_every_token_of_the_login() {
    let f = fixture().await;
    let auth = auth(&f.revokd, |b| b);
    let app = app(&auth);
    let one = login(&auth, "alice").await;
    let two = login(&auth, "alice").await;

    let a = call(&app, delete_with("/logout/family", &one.access_token)).await;
    assert_eq!((a.status, a.text.as_str()), (StatusCode::OK, "family"));
    assert_eq!(call(&app, get_with("/protected", &one.access_token)).await.json()["error"], "token_revoked");
    let refresh = |t: &str| {
        axum::http::Request::post("/refresh")
            .header("authorization", format!("Bearer {t}"))
            .body(axum::body::Body::empty())
            .unwrap()
    };
    assert_eq!(call(&app, refresh(&one.refresh_token)).await.json()["error"], "token_revoked");
    assert_eq!(call(&app, refresh(&two.refresh_token)).await.status, StatusCode::OK, "another login is untouched");
}

#[tokio::test]
async fn revoke_subject_refuses_all_tokens_issued_so_far() {
    let f = fixture().await;
    let auth = auth(&f.revokd, |b| b);
    let app = app(&auth);
    let one = login(&auth, "alice").await;
    let two = login(&auth, "alice").await;
    let bob = login(&auth, "bob").await;

    let a = call(&app, delete_with("/logout/all", &one.access_token)).await;
    assert_eq!((a.status, a.text.as_str()), (StatusCode::OK, "subject"));
    for t in [&one.access_token, &two.access_token] {
        assert_eq!(call(&app, get_with("/protected", t)).await.json()["error"], "token_revoked");
    }
    assert_eq!(call(&app, get_with("/protected", &bob.access_token)).await.status, StatusCode::OK);
    f.clock.advance_ms(1);
    let after = login(&auth, "alice").await;
    assert_eq!(call(&app, get_with("/protected", &after.access_token)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_revocation_through_one_process_is_refused_by_another_sharing_the_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("revokd.db").display());
    let a = fixture_on(&url).await;
    let b = fixture_on(&url).await;
    let (auth_a, auth_b) = (auth(&a.revokd, |x| x), auth(&b.revokd, |x| x));
    let pair = login(&auth_a, "alice").await;
    assert_eq!(call(&app(&auth_b), get_with("/protected", &pair.access_token)).await.status, StatusCode::OK);

    assert_eq!(call(&app(&auth_a), delete_with("/logout", &pair.access_token)).await.status, StatusCode::OK);
    b.revokd.catch_up().await.unwrap();
    let r = call(&app(&auth_b), get_with("/protected", &pair.access_token)).await;
    assert_eq!(r.json()["error"], "token_revoked");
}
