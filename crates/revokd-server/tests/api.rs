//! Every endpoint of API.md and its error codes, over HTTP.

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use serde_json::{Value, json};

use crate::common::{ADMIN, FEED, Server, claims, config, jti};

fn server(extra: &str) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), Some(&config(extra)), &[]);
    (dir, s)
}

async fn body(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn err(code: &str) -> Value {
    json!(code)
}

#[tokio::test]
async fn framework_rejections_are_json_with_stable_codes() {
    let (_d, s) = server("max_body_bytes = 512");
    let c = &s.http;
    let (st, b) = body(c.get(s.url("/nope")).send().await.unwrap()).await;
    assert_eq!((st, &b["error"]), (404, &err("not_found")));
    assert!(b["message"].is_string());
    let (st, b) = body(c.delete(s.url("/v1/tokens")).send().await.unwrap()).await;
    assert_eq!((st, &b["error"]), (405, &err("method_not_allowed")));
    let post = |body: &'static str, ct: &'static str| {
        c.post(s.url("/v1/tokens")).bearer_auth(ADMIN).header(CONTENT_TYPE, ct).body(body).send()
    };
    for bad in ["{", "[]", "{\"sub\": 5}", "{\"sub\": \"a\", \"colour\": 1}", "{}"] {
        let (st, b) = body(post(bad, "application/json").await.unwrap()).await;
        assert_eq!((st, &b["error"]), (400, &err("invalid_request")), "{bad}");
    }
    let (st, b) = body(post("{\"sub\":\"a\"}", "text/plain").await.unwrap()).await;
    assert_eq!((st, &b["error"]), (415, &err("unsupported_media_type")));
    let big = format!("{{\"sub\": \"{}\"}}", "a".repeat(2000));
    let res = c.post(s.url("/v1/tokens")).bearer_auth(ADMIN).header(CONTENT_TYPE, "application/json").body(big).send();
    let (st, b) = body(res.await.unwrap()).await;
    assert_eq!((st, &b["error"]), (413, &err("payload_too_large")));
    let (st, b) = body(c.get(s.url("/v1/revocations?since=minus")).bearer_auth(ADMIN).send().await.unwrap()).await;
    assert_eq!((st, &b["error"]), (400, &err("invalid_request")));
    let (st, b) = body(c.get(s.url("/healthz")).header("x-padding", "p".repeat(20_000)).send().await.unwrap()).await;
    assert_eq!((st, &b["error"]), (431, &err("headers_too_large")));
}

#[tokio::test]
async fn admin_endpoints_need_an_admin_token_and_a_user_jwt_is_not_one() {
    let (_d, s) = server("");
    let pair = s.login(json!({"sub": "alice"})).await;
    let user = pair["access_token"].as_str().unwrap();
    let c = &s.http;
    for token in [None, Some("wrong-token-0123456789"), Some(user), Some(FEED)] {
        let mut req = c.post(s.url("/v1/tokens")).json(&json!({"sub": "x"}));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.unwrap();
        assert!(res.headers().contains_key(WWW_AUTHENTICATE));
        let (st, b) = body(res).await;
        assert_eq!((st, &b["error"]), (401, &err("unauthorized")), "{token:?}");
    }
    let (st, _) = body(c.delete(s.url("/v1/revocations/x")).bearer_auth(user).send().await.unwrap()).await;
    assert_eq!(st, 401);
    // without a valid admin token, a bad body still gets 401: nothing about the body leaks
    for (ct, b) in [("application/json", "{"), ("application/json", "{\"colour\":1}"), ("text/plain", "x")] {
        let res = c.post(s.url("/v1/revocations")).header(CONTENT_TYPE, ct).body(b).send().await.unwrap();
        assert_eq!(body(res).await.1["error"], "unauthorized", "{ct} {b}");
    }
    let (st, _) = body(c.get(s.url("/v1/subjects/alice/tokens")).bearer_auth(FEED).send().await.unwrap()).await;
    assert_eq!(st, 401, "feed tokens read the feed and nothing else");
}

#[tokio::test]
async fn issuing_returns_the_api_shape_and_refuses_reserved_claims() {
    let (_d, s) = server("access_ttl = 300");
    let pair = s.login(json!({"sub": "alice", "fresh": true, "claims": {"role": "admin"}, "refresh_ttl": 600})).await;
    assert_eq!(pair["token_type"], "Bearer");
    assert_eq!(pair["expires_in"], 300);
    assert_eq!(pair["refresh_expires_in"], 600);
    let a = claims(pair["access_token"].as_str().unwrap());
    let r = claims(pair["refresh_token"].as_str().unwrap());
    assert_eq!((a["type"].as_str(), r["type"].as_str()), (Some("access"), Some("refresh")));
    assert_eq!(a["fam"], r["fam"]);
    assert_eq!(a["role"], "admin");
    assert_eq!(a["fresh"], true);
    assert_eq!(a["iss"], s.base.as_str(), "issuer defaults to public_url");
    let res =
        s.http.post(s.url("/v1/tokens")).bearer_auth(ADMIN).json(&json!({"sub": "a", "claims": {"exp": 1}})).send();
    let (st, b) = body(res.await.unwrap()).await;
    assert_eq!((st, &b["error"]), (400, &err("reserved_claim")));
}

#[tokio::test]
async fn verify_answers_for_proxies_with_every_code() {
    let (_d, s) = server("");
    let c = &s.http;
    let pair = s.login(json!({"sub": "alice"})).await;
    let access = pair["access_token"].as_str().unwrap();
    let refresh = pair["refresh_token"].as_str().unwrap();

    let (st, _, h) = s.verify(access).await;
    assert_eq!(st, 200);
    assert_eq!(h["x-auth-subject"], "alice");
    assert_eq!(h["x-auth-jti"], jti(access).as_str());
    assert_eq!(h["x-auth-type"], "access");
    // any method, any subpath (Envoy's path prefix), the empty one included
    let res = c.post(s.url("/v1/verify/some/upstream/path?x=1")).bearer_auth(access).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = c.put(s.url("/v1/verify/")).bearer_auth(access).send().await.unwrap();
    assert_eq!(res.status(), 200);

    let res = c.get(s.url("/v1/verify")).send().await.unwrap();
    assert_eq!(res.headers()[WWW_AUTHENTICATE], "Bearer realm=\"revokd\"");
    assert_eq!(body(res).await, (401, json!({"error": "token_missing", "message": "no bearer token was given"})));

    let res = c.get(s.url("/v1/verify")).bearer_auth("not.a.token").send().await.unwrap();
    assert!(res.headers()[WWW_AUTHENTICATE].to_str().unwrap().starts_with("Bearer error=\"invalid_token\""));
    assert_eq!(body(res).await.1["error"], "token_invalid");
    assert_eq!(s.verify(refresh).await.1["error"], "token_wrong_type");

    let res = c.get(s.url("/v1/verify?fresh=true")).bearer_auth(access).send().await.unwrap();
    assert!(res.headers()[WWW_AUTHENTICATE].to_str().unwrap().contains("insufficient_user_authentication"));
    assert_eq!(body(res).await.1["error"], "fresh_token_required");
    let fresh = s.login(json!({"sub": "alice", "fresh": true})).await;
    let res = c.get(s.url("/v1/verify?fresh=true")).bearer_auth(fresh["access_token"].as_str().unwrap()).send();
    assert_eq!(res.await.unwrap().status(), 200);
    let res = c.get(s.url("/v1/verify?fresh=maybe")).bearer_auth(access).send().await.unwrap();
    assert_eq!(body(res).await.1["error"], "invalid_request");

    let short = s.login(json!({"sub": "alice", "access_ttl": 1})).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(s.verify(short["access_token"].as_str().unwrap()).await.1["error"], "token_expired");

    // a subject that cannot be a header value is not issued (a token minted elsewhere
    // with one is an invalid token, never a 500: security.rs)
    let res = c.post(s.url("/v1/tokens")).bearer_auth(&s.admin).json(&json!({"sub": "line\nbreak"})).send().await;
    assert_eq!(body(res.unwrap()).await.1["error"], "invalid_request");
}

#[tokio::test]
async fn revocations_of_every_kind_and_their_removal() {
    let (_d, s) = server("");
    let c = &s.http;
    let post = |b: Value| c.post(s.url("/v1/revocations")).bearer_auth(ADMIN).json(&b).send();
    let a = s.login(json!({"sub": "alice"})).await;
    let access = a["access_token"].as_str().unwrap();

    let (st, rec) = body(post(json!({"jti": jti(access), "reason": "leaked"})).await.unwrap()).await;
    assert_eq!(st, 201);
    for k in ["id", "seq", "kind", "target", "iss", "before", "created_at", "expires_at", "reason", "actor"] {
        assert!(rec.get(k).is_some(), "record lacks {k}: {rec}");
    }
    assert_eq!(
        (rec["kind"].as_str(), rec["actor"].as_str(), rec["reason"].as_str()),
        (Some("jti"), Some("admin"), Some("leaked"))
    );
    assert_eq!(s.verify(access).await.1["error"], "token_revoked");
    let id = rec["id"].as_str().unwrap();
    assert_eq!(
        c.delete(s.url(&format!("/v1/revocations/{id}"))).bearer_auth(ADMIN).send().await.unwrap().status(),
        204
    );
    assert_eq!(s.verify(access).await.0, 200);
    let (st, b) =
        body(c.delete(s.url(&format!("/v1/revocations/{id}"))).bearer_auth(ADMIN).send().await.unwrap()).await;
    assert_eq!((st, &b["error"]), (404, &err("not_found")));

    // subject with a cutoff in seconds (millisecond fraction)
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as f64;
    let before = now + 60.5;
    let (st, rec) = body(post(json!({"sub": "alice", "before": before})).await.unwrap()).await;
    assert_eq!((st, rec["kind"].as_str(), rec["before"].as_f64()), (201, Some("subject"), Some(before)));
    assert_eq!(s.verify(access).await.1["error"], "token_revoked");

    // a refresh token given as {token} revokes its family, which cannot be undone
    let b = s.login(json!({"sub": "bob"})).await;
    let (st, rec) = body(post(json!({"token": b["refresh_token"]})).await.unwrap()).await;
    assert_eq!((st, rec["kind"].as_str()), (201, Some("family")));
    assert_eq!(s.verify(b["access_token"].as_str().unwrap()).await.1["error"], "token_revoked");
    let url = s.url(&format!("/v1/revocations/{}", rec["id"].as_str().unwrap()));
    let (st, e) = body(c.delete(url).bearer_auth(ADMIN).send().await.unwrap()).await;
    assert_eq!((st, &e["error"]), (409, &err("not_reversible")));

    let (st, rec) = body(post(json!({"all_before": 1_000_000_000})).await.unwrap()).await;
    assert_eq!((st, rec["kind"].as_str(), rec["target"].clone()), (201, Some("all"), Value::Null));

    for bad in [
        json!({}),
        json!({"jti": "a", "sub": "b"}),
        json!({"family": "f", "iss": "x"}),
        json!({"jti": "a", "colour": 1}),
    ] {
        let (st, e) = body(post(bad.clone()).await.unwrap()).await;
        assert_eq!((st, &e["error"]), (400, &err("invalid_request")), "{bad}");
    }
}

#[tokio::test]
async fn the_feed_and_the_snapshot_mirror_every_change() {
    let (_d, s) = server("");
    let c = &s.http;
    let a = s.login(json!({"sub": "alice"})).await;
    let rec = s.revoke(json!({"jti": jti(a["access_token"].as_str().unwrap())})).await;
    assert_eq!(s.unrevoke(rec["id"].as_str().unwrap()).await, 204);
    c.post(s.url("/v1/subjects/bob/logout")).bearer_auth(ADMIN).send().await.unwrap();

    let (st, feed) = body(c.get(s.url("/v1/revocations?since=0")).bearer_auth(FEED).send().await.unwrap()).await;
    assert_eq!(st, 200);
    let ops: Vec<(u64, &str)> = feed["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["seq"].as_u64().unwrap(), e["op"].as_str().unwrap()))
        .collect();
    assert_eq!(ops, vec![(1, "revoke"), (2, "unrevoke"), (3, "revoke")]);
    assert_eq!(feed["next"], 3);
    let (_, page) = body(c.get(s.url("/v1/revocations?since=1&limit=1")).bearer_auth(FEED).send().await.unwrap()).await;
    assert_eq!((page["events"].as_array().unwrap().len(), page["next"].as_u64()), (1, Some(2)));
    let (_, empty) = body(c.get(s.url("/v1/revocations?since=3")).bearer_auth(ADMIN).send().await.unwrap()).await;
    assert_eq!(empty, json!({"events": [], "next": 3}));
    let (st, _) = body(c.get(s.url("/v1/revocations?limit=1001")).bearer_auth(FEED).send().await.unwrap()).await;
    assert_eq!(st, 400);

    let (st, snap) = body(c.get(s.url("/v1/revocations/snapshot")).bearer_auth(FEED).send().await.unwrap()).await;
    assert_eq!((st, snap["seq"].as_u64()), (200, Some(3)));
    let rules = snap["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!((rules[0]["kind"].as_str(), rules[0]["target"].as_str()), (Some("subject"), Some("bob")));
    let (st, _) = body(c.get(s.url("/v1/revocations/snapshot")).send().await.unwrap()).await;
    assert_eq!(st, 401);
}

#[tokio::test]
async fn refresh_rotates_and_a_reuse_ends_the_family() {
    let (_d, s) = server("");
    let c = &s.http;
    let login = s.login(json!({"sub": "alice", "fresh": true, "claims": {"role": "admin"}})).await;
    let r1 = login["refresh_token"].as_str().unwrap();
    let (st, next) =
        body(c.post(s.url("/v1/tokens/refresh")).json(&json!({"refresh_token": r1})).send().await.unwrap()).await;
    assert_eq!(st, 200, "{next}");
    let a2 = claims(next["access_token"].as_str().unwrap());
    assert_eq!(a2["fam"], claims(r1)["fam"], "same family");
    assert_eq!(a2["fresh"], false, "refreshed access tokens are not fresh");
    assert_eq!(a2["role"], "admin", "custom claims carry over");
    // the refresh token may also come as a bearer token, with no body
    let r2 = next["refresh_token"].as_str().unwrap();
    let (st, third) = body(c.post(s.url("/v1/tokens/refresh")).bearer_auth(r2).send().await.unwrap()).await;
    assert_eq!(st, 200);
    // presenting r1 again (grace 0): the whole family is revoked
    let (st, e) =
        body(c.post(s.url("/v1/tokens/refresh")).json(&json!({"refresh_token": r1})).send().await.unwrap()).await;
    assert_eq!((st, &e["error"]), (401, &err("refresh_token_reused")));
    assert_eq!(s.verify(third["access_token"].as_str().unwrap()).await.1["error"], "token_revoked");
    let (st, e) = body(c.post(s.url("/v1/tokens/refresh")).send().await.unwrap()).await;
    assert_eq!((st, &e["error"]), (401, &err("token_missing")));
    let access = login["access_token"].as_str().unwrap();
    let (st, _) =
        body(c.post(s.url("/v1/tokens/refresh")).json(&json!({"refresh_token": access})).send().await.unwrap()).await;
    assert_eq!(st, 401, "an access token does not refresh");
}

#[tokio::test]
async fn a_retry_within_the_grace_gets_a_pair_of_the_same_family() {
    let (_d, s) = server("refresh_reuse_grace = 30");
    let c = &s.http;
    let login = s.login(json!({"sub": "alice"})).await;
    let r1 = login["refresh_token"].clone();
    for _ in 0..2 {
        let (st, p) =
            body(c.post(s.url("/v1/tokens/refresh")).json(&json!({"refresh_token": r1})).send().await.unwrap()).await;
        assert_eq!(st, 200);
        assert_eq!(claims(p["access_token"].as_str().unwrap())["fam"], claims(r1.as_str().unwrap())["fam"]);
    }
}

#[tokio::test]
async fn subjects_and_holders_manage_tokens() {
    let (_d, s) = server("");
    let c = &s.http;
    let one = s.login(json!({"sub": "alice"})).await;
    let two = s.login(json!({"sub": "alice"})).await;
    let bob = s.login(json!({"sub": "bob"})).await;
    let (st, list) =
        body(c.get(s.url("/v1/subjects/alice/tokens?limit=3")).bearer_auth(ADMIN).send().await.unwrap()).await;
    assert_eq!(st, 200);
    assert_eq!(list["tokens"].as_array().unwrap().len(), 3);
    let t0 = &list["tokens"][0];
    for k in ["jti", "type", "fam", "iat", "exp", "status"] {
        assert!(t0.get(k).is_some(), "{k}");
    }
    let next = list["next"].as_str().unwrap();
    let (_, rest) = body(
        c.get(s.url(&format!("/v1/subjects/alice/tokens?cursor={next}"))).bearer_auth(ADMIN).send().await.unwrap(),
    )
    .await;
    assert_eq!((rest["tokens"].as_array().unwrap().len(), rest["next"].clone()), (1, Value::Null));

    // the holder revokes its other session's access token, then undoes it
    let mine = one["access_token"].as_str().unwrap();
    let other = jti(two["access_token"].as_str().unwrap());
    let url = |p: &str| s.url(&format!("/v1/me/tokens/{other}/{p}"));
    assert_eq!(c.post(url("revoke")).bearer_auth(mine).send().await.unwrap().status(), 204);
    assert_eq!(s.verify(two["access_token"].as_str().unwrap()).await.1["error"], "token_revoked");
    let (_, me) = body(c.get(s.url("/v1/me/tokens")).bearer_auth(mine).send().await.unwrap()).await;
    let status =
        me["tokens"].as_array().unwrap().iter().find(|t| t["jti"] == other.as_str()).unwrap()["status"].clone();
    assert_eq!(status, "revoked");
    assert_eq!(c.post(url("unrevoke")).bearer_auth(mine).send().await.unwrap().status(), 204);
    assert_eq!(s.verify(two["access_token"].as_str().unwrap()).await.0, 200);
    // bob's token is not alice's: 404; an admin's revocation cannot be undone by the holder
    let bobs = jti(bob["access_token"].as_str().unwrap());
    let (st, e) =
        body(c.post(s.url(&format!("/v1/me/tokens/{bobs}/revoke"))).bearer_auth(mine).send().await.unwrap()).await;
    assert_eq!((st, &e["error"]), (404, &err("not_found")));
    c.post(s.url("/v1/revocations")).bearer_auth(ADMIN).json(&json!({"jti": other})).send().await.unwrap();
    let (st, e) = body(c.post(url("unrevoke")).bearer_auth(mine).send().await.unwrap()).await;
    assert_eq!((st, &e["error"]), (409, &err("not_reversible")));
    assert_eq!(s.verify(two["access_token"].as_str().unwrap()).await.1["error"], "token_revoked");
    // the other order: the holder revokes first, then an admin does: the rule becomes the
    // admin's, and the holder can no longer undo it
    let third = s.login(json!({"sub": "alice"})).await;
    let t3 = jti(third["access_token"].as_str().unwrap());
    let u3 = |p: &str| s.url(&format!("/v1/me/tokens/{t3}/{p}"));
    assert_eq!(c.post(u3("revoke")).bearer_auth(mine).send().await.unwrap().status(), 204);
    let (_, rec) = body(
        c.post(s.url("/v1/revocations"))
            .bearer_auth(ADMIN)
            .json(&json!({"jti": t3, "reason": "audit"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((rec["actor"].as_str(), rec["reason"].as_str()), (Some("admin"), Some("audit")));
    let (st, e) = body(c.post(u3("unrevoke")).bearer_auth(mine).send().await.unwrap()).await;
    assert_eq!((st, &e["error"]), (409, &err("not_reversible")));
    assert_eq!(s.verify(third["access_token"].as_str().unwrap()).await.1["error"], "token_revoked");
    // logout ends the caller's family: its access token, and its refresh token
    assert_eq!(c.post(s.url("/v1/me/logout")).bearer_auth(mine).send().await.unwrap().status(), 204);
    assert_eq!(s.verify(mine).await.1["error"], "token_revoked");
    let (st, _) = body(
        c.post(s.url("/v1/tokens/refresh")).json(&json!({"refresh_token": one["refresh_token"]})).send().await.unwrap(),
    )
    .await;
    assert_eq!(st, 401);
    // admin: log bob out everywhere
    let (st, rec) = body(c.post(s.url("/v1/subjects/bob/logout")).bearer_auth(ADMIN).send().await.unwrap()).await;
    assert_eq!((st, rec["kind"].as_str(), rec["target"].as_str()), (201, Some("subject"), Some("bob")));
    assert_eq!(s.verify(bob["access_token"].as_str().unwrap()).await.1["error"], "token_revoked");
}

/// Self-service unrevoke undoes only the caller's own revocations: another holder (bob,
/// with a valid token of his own) cannot undo alice's, neither through `/v1/me` (404
/// `not_found`, the same answer as for a jti that does not exist, so it tells bob
/// nothing about alice's tokens) nor through the admin endpoint (his JWT is no admin
/// credential); nor can alice undo an admin's revocation of her token (409
/// `not_reversible`). Each refused attempt leaves the token revoked; alice undoing her
/// own shows the refusals were about the caller.
#[tokio::test]
async fn a_holder_cannot_undo_a_revocation_made_by_anyone_else() {
    let (_d, s) = server("");
    let c = &s.http;
    let alice = s.login(json!({"sub": "alice"})).await;
    let alices_other = s.login(json!({"sub": "alice"})).await;
    let bob = s.login(json!({"sub": "bob"})).await;
    let (mine, hers, bobs) = (
        alice["access_token"].as_str().unwrap(),
        alices_other["access_token"].as_str().unwrap(),
        bob["access_token"].as_str().unwrap(),
    );
    let target = jti(hers);
    let me = |j: &str, op: &str| s.url(&format!("/v1/me/tokens/{j}/{op}"));
    assert_eq!(c.post(me(&target, "revoke")).bearer_auth(mine).send().await.unwrap().status(), 204);
    assert_eq!(s.verify(hers).await.1["error"], "token_revoked");
    let (_, feed) = body(c.get(s.url("/v1/revocations?since=0")).bearer_auth(ADMIN).send().await.unwrap()).await;
    let rule = &feed["events"][0]["revocation"];
    assert_eq!((rule["target"].as_str(), rule["actor"].as_str()), (Some(target.as_str()), Some("subject:alice")));

    // bob, through the self-service endpoint: 404, as for a jti nobody has
    let (st, e) = body(c.post(me(&target, "unrevoke")).bearer_auth(bobs).send().await.unwrap()).await;
    assert_eq!((st, &e["error"]), (404, &err("not_found")), "{e}");
    let nobodys = uuid::Uuid::now_v7().to_string();
    let (st2, e2) = body(c.post(me(&nobodys, "unrevoke")).bearer_auth(bobs).send().await.unwrap()).await;
    assert_eq!((st, &e), (st2, &e2), "bob learns nothing about alice's jti");
    // bob, through the admin endpoint with his JWT: 401
    let id = rule["id"].as_str().unwrap();
    let (st, e) = body(c.delete(s.url(&format!("/v1/revocations/{id}"))).bearer_auth(bobs).send().await.unwrap()).await;
    assert_eq!((st, &e["error"]), (401, &err("unauthorized")));
    assert_eq!(s.verify(hers).await.1["error"], "token_revoked", "bob undid alice's revocation");
    assert_eq!(s.verify(bobs).await.0, 200, "bob's own token was fine all along");
    let (_, after) = body(c.get(s.url("/v1/revocations?since=1")).bearer_auth(ADMIN).send().await.unwrap()).await;
    assert_eq!(after["events"], json!([]), "nothing changed");

    // alice cannot undo what an admin revoked (a token she never revoked herself)
    let admins = jti(mine);
    let rec = s.revoke(json!({"jti": admins})).await;
    assert_eq!(rec["actor"], "admin");
    // with her other session's token, since the revoked one no longer authenticates
    let third = s.login(json!({"sub": "alice"})).await;
    let hers_now = third["access_token"].as_str().unwrap();
    let (st, e) = body(c.post(me(&admins, "unrevoke")).bearer_auth(hers_now).send().await.unwrap()).await;
    assert_eq!((st, &e["error"]), (409, &err("not_reversible")), "{e}");
    assert_eq!(s.verify(mine).await.1["error"], "token_revoked");

    // the control: alice undoes her own revocation
    assert_eq!(c.post(me(&target, "unrevoke")).bearer_auth(hers_now).send().await.unwrap().status(), 204);
    assert_eq!(s.verify(hers).await.0, 200);
}

#[tokio::test]
async fn well_known_documents_use_public_url_not_the_host_header() {
    let (_d, s) = server("public_url = \"https://auth.example.com\"");
    let res = s.http.get(s.url("/.well-known/jwks.json")).send().await.unwrap();
    assert_eq!(res.headers()["cache-control"], "max-age=300");
    let jwks: Value = res.json().await.unwrap();
    assert_eq!(jwks, json!({"keys": []}), "an HS256 secret is never published");
    let meta: Value = s
        .http
        .get(s.url("/.well-known/oauth-authorization-server"))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(meta["issuer"], "https://auth.example.com");
    assert_eq!(meta["revocation_endpoint"], "https://auth.example.com/oauth/revoke");
    assert_eq!(meta["introspection_endpoint"], "https://auth.example.com/oauth/introspect");
    assert_eq!(meta["jwks_uri"], "https://auth.example.com/.well-known/jwks.json");
    assert_eq!(meta["response_types_supported"], json!([]));
    assert_eq!(s.http.get(s.url("/healthz")).send().await.unwrap().status(), 200);
    assert_eq!(s.http.get(s.url("/readyz")).send().await.unwrap().status(), 200);
}

/// Reads the SSE body until `n` events arrived; returns (id, event, data) of each.
async fn sse_events(res: reqwest::Response, n: usize) -> Vec<(u64, String, Value)> {
    let mut res = res;
    let mut buf = String::new();
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while out.len() < n {
        assert!(std::time::Instant::now() < deadline, "stream gave {} of {n} events: {buf}", out.len());
        let chunk = tokio::time::timeout(Duration::from_secs(10), res.chunk()).await.unwrap().unwrap().unwrap();
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let (mut id, mut ev, mut data) = (None, None, None);
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = v.trim().parse().ok();
                } else if let Some(v) = line.strip_prefix("event:") {
                    ev = Some(v.trim().to_owned());
                } else if let Some(v) = line.strip_prefix("data:") {
                    data = serde_json::from_str(v.trim()).ok();
                }
            }
            if let (Some(i), Some(e), Some(d)) = (id, ev, data) {
                out.push((i, e, d));
            }
        }
    }
    out
}

#[tokio::test]
async fn the_stream_pushes_changes_and_resumes_after_last_event_id() {
    let (_d, s) = server("");
    let c = &s.http;
    let stream = c.get(s.url("/v1/revocations/stream")).bearer_auth(FEED).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    assert!(stream.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("text/event-stream"));
    let a = s.login(json!({"sub": "alice"})).await;
    let rec = s.revoke(json!({"jti": jti(a["access_token"].as_str().unwrap())})).await;
    assert_eq!(s.unrevoke(rec["id"].as_str().unwrap()).await, 204);
    let got = sse_events(stream, 2).await;
    assert_eq!((got[0].0, got[0].1.as_str()), (1, "revoke"));
    assert_eq!((got[1].0, got[1].1.as_str()), (2, "unrevoke"));
    assert_eq!(got[0].2["revocation"]["id"], rec["id"]);
    // resume after 1: the next event is 2
    let resumed =
        c.get(s.url("/v1/revocations/stream")).bearer_auth(ADMIN).header("Last-Event-ID", "1").send().await.unwrap();
    let got = sse_events(resumed, 1).await;
    assert_eq!((got[0].0, got[0].1.as_str()), (2, "unrevoke"));
    let (st, e) = body(
        c.get(s.url("/v1/revocations/stream")).bearer_auth(FEED).header("Last-Event-ID", "x").send().await.unwrap(),
    )
    .await;
    assert_eq!((st, &e["error"]), (400, &err("invalid_request")));
    let (st, _) = body(c.get(s.url("/v1/revocations/stream")).send().await.unwrap()).await;
    assert_eq!(st, 401);
}

#[tokio::test]
async fn metrics_count_requests_checks_revocations_and_store_latency() {
    let (_d, s) = server("");
    let c = &s.http;
    let a = s.login(json!({"sub": "alice"})).await;
    let access = a["access_token"].as_str().unwrap();
    assert_eq!(s.verify(access).await.0, 200);
    c.post(s.url("/v1/revocations")).bearer_auth(ADMIN).json(&json!({"jti": jti(access)})).send().await.unwrap();
    assert_eq!(s.verify(access).await.0, 401);
    let res = c.get(s.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()[CONTENT_TYPE].to_str().unwrap().starts_with("text/plain"));
    let text = res.text().await.unwrap();
    for needle in [
        "revokd_http_requests_total{route=\"/v1/verify\",method=\"GET\",status=\"200\"} 1",
        "revokd_http_requests_total{route=\"/v1/verify\",method=\"GET\",status=\"401\"} 1",
        "revokd_checks_total{result=\"ok\"} 1",
        "revokd_checks_total{result=\"token_revoked\"} 1",
        "revokd_revocations_total{kind=\"jti\"} 1",
        "revokd_index_rules{kind=\"jti\"} 1",
        "revokd_feed_applied_seq",
        "revokd_store_latency_seconds_bucket{op=\"append\"",
    ] {
        assert!(text.contains(needle), "missing {needle} in:\n{text}");
    }
}

#[tokio::test]
async fn a_family_ends_at_family_max_age_and_refreshes_never_outlive_it() {
    let (_d, s) = server("family_max_age = 3");
    let c = &s.http;
    let login = s.login(json!({"sub": "alice"})).await;
    let (st, next) = body(
        c.post(s.url("/v1/tokens/refresh"))
            .json(&json!({"refresh_token": login["refresh_token"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 200);
    assert!(next["refresh_expires_in"].as_u64().unwrap() <= 3, "{next}");
    assert!(next["expires_in"].as_u64().unwrap() <= 3, "{next}");
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let (st, e) = body(
        c.post(s.url("/v1/tokens/refresh"))
            .json(&json!({"refresh_token": next["refresh_token"]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((st, e["error"].as_str()), (401, Some("token_expired")));
}

#[tokio::test]
async fn a_holder_cannot_undo_a_logout_everywhere() {
    let (_d, s) = server("");
    let c = &s.http;
    let two = s.login(json!({"sub": "alice"})).await;
    let other = jti(two["access_token"].as_str().unwrap());
    // alice is logged out everywhere; she logs in again and tries to undo it
    c.post(s.url("/v1/subjects/alice/logout")).bearer_auth(ADMIN).send().await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let three = s.login(json!({"sub": "alice"})).await;
    let mine = three["access_token"].as_str().unwrap();
    let (st, e) =
        body(c.post(s.url(&format!("/v1/me/tokens/{other}/unrevoke"))).bearer_auth(mine).send().await.unwrap()).await;
    assert_eq!((st, &e["error"]), (409, &err("not_reversible")));
    // a token of hers that is not revoked: 404
    let (st, _) =
        body(c.post(s.url(&format!("/v1/me/tokens/{}/unrevoke", jti(mine)))).bearer_auth(mine).send().await.unwrap())
            .await;
    assert_eq!(st, 404);
}

#[tokio::test]
async fn repeated_failures_from_one_ip_are_rate_limited_but_admins_and_verify_are_not() {
    let (_d, s) = server("rate_limit_per_minute = 3");
    let c = &s.http;
    for _ in 0..3 {
        let (st, _) = body(
            c.post(s.url("/v1/tokens"))
                .bearer_auth("guess-0123456789abcdef")
                .json(&json!({"sub": "x"}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(st, 401);
    }
    let res = c
        .post(s.url("/oauth/introspect"))
        .basic_auth("app", Some("guess"))
        .form(&[("token", "t")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    assert_eq!(body(res).await.1["error"], "rate_limited");
    // an authenticated admin is never limited, nor is /v1/verify
    let pair = s.login(json!({"sub": "alice"})).await;
    assert_eq!(s.verify(pair["access_token"].as_str().unwrap()).await.0, 200);
    assert_eq!(s.verify("garbage").await.0, 401);
    assert_eq!(s.verify("garbage").await.0, 401);
    let res = c
        .post(s.url("/oauth/introspect"))
        .basic_auth("app", Some("app-secret-0123456789"))
        .form(&[("token", "t")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "a client with good credentials is never limited");
    // answers of the limits themselves are counted too
    let metrics = c.get(s.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(
        metrics.lines().any(|l| l.contains("revokd_http_requests_total")
            && l.contains("route=\"(limits)\"")
            && l.contains("status=\"429\"")),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_request_over_request_timeout_answers_503_unavailable() {
    use std::io::{Read, Write};
    let (_d, s) = server("request_timeout = 1");
    let addr = s.base.trim_start_matches("http://").to_owned();
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    // the body never comes
    write!(
        conn,
        "POST /v1/revocations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
    )
    .unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let started = std::time::Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("unavailable") {
        let n = conn.read(&mut buf).unwrap();
        assert!(n > 0, "closed without an answer: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    let answer = String::from_utf8_lossy(&got).to_lowercase();
    assert!(answer.starts_with("http/1.1 503"), "{answer}");
    assert!(answer.contains("connection: close"), "the body was never read: {answer}");
    assert!(started.elapsed() >= Duration::from_millis(900), "answered after {:?}", started.elapsed());
}

#[tokio::test]
async fn a_foreign_issuers_tokens_are_verified_from_its_jwks_and_revoked_in_its_scope() {
    use revokd::token::Tokens;
    let keys = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../revokd/tests/keys");
    let idp_key =
        revokd::Key::from_private_pem("idp-1", revokd::Algorithm::RS256, &std::fs::read(keys.join("rsa.pem")).unwrap())
            .unwrap();
    let idp = Tokens::new(revokd::KeySet::new().with(idp_key).unwrap(), revokd::TokenPolicy::default());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("idp.json"), idp.keys().jwks().to_string()).unwrap();
    let toml = config("[[issuers]]\nissuer = \"https://idp.example\"\naudience = \"api\"\njwks_file = \"idp.json\"");
    let s = Server::start(dir.path(), Some(&toml), &[]);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let mint = |sub: &str, jti: &str| {
        let c: revokd::Claims = serde_json::from_value(json!({
            "sub": sub, "iss": "https://idp.example", "aud": "api", "iat": now - 1, "exp": now + 300, "jti": jti
        }))
        .unwrap();
        idp.sign(&c).unwrap()
    };
    let theirs = mint("alice", "kc-1");
    let ours = s.login(json!({"sub": "alice"})).await;
    assert_eq!(s.verify(&theirs).await.0, 200);
    // the IdP's alice is logged out everywhere; ours is not
    let c = &s.http;
    let (st, rec) = body(
        c.post(s.url("/v1/revocations"))
            .bearer_auth(ADMIN)
            .json(&json!({"sub": "alice", "iss": "https://idp.example"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((st, rec["iss"].as_str()), (201, Some("https://idp.example")));
    assert_eq!(s.verify(&theirs).await.1["error"], "token_revoked");
    assert_eq!(s.verify(ours["access_token"].as_str().unwrap()).await.0, 200);
    // one foreign token by its jti
    let bobs = mint("bob", "kc-2");
    let (st, _) = body(
        c.post(s.url("/v1/revocations"))
            .bearer_auth(ADMIN)
            .json(&json!({"jti": "kc-2", "iss": "https://idp.example"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 201);
    assert_eq!(s.verify(&bobs).await.1["error"], "token_revoked");
    assert_eq!(s.verify(&mint("carol", "kc-3")).await.0, 200);
    // an unknown issuer in a revocation is a bad request
    let (st, _) = body(
        c.post(s.url("/v1/revocations"))
            .bearer_auth(ADMIN)
            .json(&json!({"sub": "x", "iss": "https://other"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, 400);
}

#[tokio::test]
async fn a_token_not_yet_valid_and_a_reuse_after_the_grace_are_refused() {
    let (_d, s) = server("refresh_reuse_grace = 1");
    let c = &s.http;
    // a token of ours whose nbf is in the future
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let early = crate::common::sign_own(json!({
        "sub": "alice", "iat": now, "nbf": now + 100, "exp": now + 200, "type": "access", "iss": s.base,
    }));
    let res = c.get(s.url("/v1/verify")).bearer_auth(&early).send().await.unwrap();
    assert!(res.headers()[WWW_AUTHENTICATE].to_str().unwrap().starts_with("Bearer error=\"invalid_token\""));
    assert_eq!(body(res).await.1["error"], "token_not_yet_valid");
    // within the grace a retry is served; after it, the reuse ends the family
    let login = s.login(json!({"sub": "alice"})).await;
    let r1 = login["refresh_token"].clone();
    let (st, _) =
        body(c.post(s.url("/v1/tokens/refresh")).json(&json!({"refresh_token": r1})).send().await.unwrap()).await;
    assert_eq!(st, 200);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (st, e) =
        body(c.post(s.url("/v1/tokens/refresh")).json(&json!({"refresh_token": r1})).send().await.unwrap()).await;
    assert_eq!((st, &e["error"]), (401, &err("refresh_token_reused")));
    assert_eq!(s.verify(login["access_token"].as_str().unwrap()).await.1["error"], "token_revoked");
}

#[tokio::test]
async fn cookie_mode_reads_the_access_cookie_with_the_csrf_double_submit() {
    let (_d, s) = server("cookies = true");
    let pair = s.login(json!({"sub": "alice"})).await;
    let csrf = pair["csrf"].as_str().expect("cookie mode returns the csrf value").to_owned();
    let access = pair["access_token"].as_str().unwrap().to_owned();
    assert_eq!(claims(&access)["csrf"], csrf.as_str());
    let cookie = format!("theme=dark; access_token_cookie={access}");
    let call = |method: &str, headers: &[(&str, &str)]| {
        let mut r = s
            .http
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), s.url("/v1/verify"))
            .header("cookie", &cookie);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        r.send()
    };
    // reading needs no CSRF header
    let res = call("GET", &[]).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-auth-subject"], "alice");
    // a state-changing original method needs X-CSRF-TOKEN equal to the claim
    for (method_header, method) in [("x-forwarded-method", "POST"), ("x-original-method", "DELETE")] {
        let (st, b) = body(call("GET", &[(method_header, method)]).await.unwrap()).await;
        assert_eq!((st, b["error"].as_str()), (401, Some("token_invalid")), "{method_header} without CSRF");
        assert!(b["message"].as_str().unwrap().contains("X-CSRF-TOKEN"));
        let (st, _) = body(call("GET", &[(method_header, method), ("x-csrf-token", "wrong")]).await.unwrap()).await;
        assert_eq!(st, 401, "{method_header} with a wrong CSRF value");
        let res = call("GET", &[(method_header, method), ("x-csrf-token", &csrf)]).await.unwrap();
        assert_eq!(res.status(), 200, "{method_header} with the right CSRF value");
    }
    // headers that disagree: any state-changing method named needs the double submit
    // (security.rs has the cases); without either header, the request's own method counts
    let res = call("GET", &[("x-forwarded-method", "GET"), ("x-original-method", "POST")]).await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(call("PATCH", &[]).await.unwrap().status(), 401);
    assert_eq!(call("PATCH", &[("x-csrf-token", &csrf)]).await.unwrap().status(), 200);
    // a bearer token needs no CSRF header, even for POST
    let res = s
        .http
        .post(s.url("/v1/verify"))
        .bearer_auth(&access)
        .header("x-forwarded-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // a revoked cookie token is refused like any other
    s.revoke(json!({"jti": jti(&access)})).await;
    let (st, b) = body(call("GET", &[]).await.unwrap()).await;
    assert_eq!((st, b["error"].as_str()), (401, Some("token_revoked")));
    // a refreshed pair carries a new csrf value
    let res = s
        .http
        .post(s.url("/v1/tokens/refresh"))
        .json(&json!({"refresh_token": pair["refresh_token"]}))
        .send()
        .await
        .unwrap();
    let (st, next) = body(res).await;
    assert_eq!(st, 200);
    let new_csrf = next["csrf"].as_str().unwrap();
    assert_ne!(new_csrf, csrf);
    assert_eq!(claims(next["access_token"].as_str().unwrap())["csrf"], new_csrf);
}

#[tokio::test]
async fn without_cookie_mode_the_cookie_is_ignored_and_no_csrf_is_issued() {
    let (_d, s) = server("");
    let pair = s.login(json!({"sub": "alice"})).await;
    assert!(pair.get("csrf").is_none());
    assert!(claims(pair["access_token"].as_str().unwrap()).get("csrf").is_none());
    let res = s
        .http
        .get(s.url("/v1/verify"))
        .header("cookie", format!("access_token_cookie={}", pair["access_token"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    let (st, b) = body(res).await;
    assert_eq!((st, b["error"].as_str()), (401, Some("token_missing")));
}

#[tokio::test]
async fn a_pruned_feed_position_answers_410_feed_gone_and_the_snapshot_takes_over() {
    let (d, s) = server("");
    let c = &s.http;
    let a = s.login(json!({"sub": "alice"})).await;
    // by the token itself, so the rule expires with it (a bare jti would live as long as the
    // longest lifetime ever issued)
    s.revoke(json!({"token": a["access_token"]})).await;
    c.post(s.url("/v1/subjects/bob/logout")).bearer_auth(ADMIN).send().await.unwrap();
    // Another process prunes the shared store as if an hour had passed: the feed's
    // events (kept 10 minutes) and the jti rule (its token expired) are gone.
    let store = revokd::store::open(&format!("sqlite://{}", d.path().join("revokd.db").display()), Default::default())
        .await
        .unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    store.prune(now + 3600).await.unwrap();

    let (st, b) = body(c.get(s.url("/v1/revocations?since=0")).bearer_auth(FEED).send().await.unwrap()).await;
    assert_eq!((st, b["error"].as_str()), (410, Some("feed_gone")));
    let res = c.get(s.url("/v1/revocations/stream")).bearer_auth(FEED).header("last-event-id", "0").send().await;
    let (st, b) = body(res.unwrap()).await;
    assert_eq!((st, b["error"].as_str()), (410, Some("feed_gone")));
    // The snapshot has what is still live, and the feed goes on from its seq.
    let (st, snap) = body(c.get(s.url("/v1/revocations/snapshot")).bearer_auth(FEED).send().await.unwrap()).await;
    assert_eq!((st, snap["seq"].as_u64()), (200, Some(2)));
    let kinds: Vec<&str> = snap["rules"].as_array().unwrap().iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, vec!["subject"]);
    let (st, b) = body(c.get(s.url("/v1/revocations?since=2")).bearer_auth(FEED).send().await.unwrap()).await;
    assert_eq!((st, b), (200, json!({"events": [], "next": 2})));
}

#[tokio::test]
async fn review_fixes_admin_before_body_empty_bodies_subpath_queries_and_feed_readers() {
    let (_d, s) = server("rate_limit_per_minute = 3");
    let c = &s.http;
    // /v1/tokens: no admin token → 401 whatever the body; an admin with no body → 400
    for sent in ["{", ""] {
        let res = c.post(s.url("/v1/tokens")).header("content-type", "application/json").body(sent).send().await;
        assert_eq!(body(res.unwrap()).await.1["error"], "unauthorized", "body {sent:?}");
    }
    let (st, b) = body(c.post(s.url("/v1/tokens")).bearer_auth(ADMIN).send().await.unwrap()).await;
    assert_eq!((st, b["error"].as_str()), (400, Some("invalid_request")));
    // ?fresh is ours on /v1/verify only; on a subpath the query is the original request's
    let pair = s.login(json!({"sub": "alice"})).await;
    let token = pair["access_token"].as_str().unwrap();
    let sub = |q: &str| c.get(s.url(&format!("/v1/verify/api/orders{q}"))).bearer_auth(token).send();
    assert_eq!(sub("?fresh=true").await.unwrap().status(), 200);
    assert_eq!(sub("?fresh=1&page=2").await.unwrap().status(), 200);
    let own = c.get(s.url("/v1/verify?fresh=true")).bearer_auth(token).send().await.unwrap();
    assert_eq!(body(own).await.1["error"], "fresh_token_required");
    // a feed reader is an authenticated caller: its bad requests are never rate limited
    for _ in 0..6 {
        let res = c.get(s.url("/v1/revocations?limit=5000")).bearer_auth(FEED).send().await.unwrap();
        assert_eq!(res.status(), 400);
    }
}

/// `[verify_cache]` is on by default: a token seen again is answered from the cache, a
/// revocation still refuses it at once, and the counters are in /metrics; off, nothing
/// is cached.
#[tokio::test]
async fn the_verify_cache_answers_repeated_tokens_and_never_hides_a_revocation() {
    let metric = |text: &str, name: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().last())
            .and_then(|v| v.parse().ok())
            .unwrap_or(-1.0)
    };
    let (_d, s) = server("");
    let pair = s.login(json!({"sub": "alice"})).await;
    let token = pair["access_token"].as_str().unwrap();
    for _ in 0..5 {
        assert_eq!(s.verify(token).await.0, 200);
    }
    let m = s.http.get(s.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metric(&m, "revokd_verify_cache_hits_total") >= 4.0, "{m}");
    assert!(metric(&m, "revokd_verify_cache_entries") >= 1.0, "{m}");
    s.revoke(json!({"jti": jti(token)})).await;
    assert_eq!(s.verify(token).await.1["error"], "token_revoked");

    let (_d, off) = server("[verify_cache]\nenabled = false");
    let pair = off.login(json!({"sub": "alice"})).await;
    for _ in 0..3 {
        assert_eq!(off.verify(pair["access_token"].as_str().unwrap()).await.0, 200);
    }
    let m = off.http.get(off.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(!m.contains("revokd_verify_cache_hits_total"), "{m}");
}
