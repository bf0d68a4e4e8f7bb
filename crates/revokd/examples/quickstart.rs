//! Issue, verify, revoke and unrevoke with the library, on a SQLite file in a
//! temporary folder (or `REVOKD_STORE`, e.g. `memory://`; `postgres://…` and
//! `redis://…` with `cargo run -p revokd --example quickstart --features postgres,redis`).

use revokd::store::{self, Durability};
use revokd::{IssueRequest, Key, KeySet, Revokd, Target, TokenType};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("revokd-quickstart-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let url = std::env::var("REVOKD_STORE").unwrap_or_else(|_| format!("sqlite://{}", dir.join("revokd.db").display()));
    let keys = KeySet::new().with(Key::generate_ed25519()?.0)?;
    let revokd = Revokd::builder(keys, store::open(&url, Durability::Full).await?).build().await?;

    let pair = revokd.issue(IssueRequest::new("alice").fresh(true)).await?;
    let v = revokd.verify(&pair.access_token, TokenType::Access)?;
    println!("issued {} for {} (family {:?})", v.claims.jti, v.claims.sub, v.claims.fam);

    let rule = revokd
        .revoke(Target::Jti { iss: None, jti: v.claims.jti.clone(), exp: Some(v.claims.exp) }, None, "admin")
        .await?;
    println!("revoked: {}", serde_json::to_string(&rule)?);
    match revokd.verify(&pair.access_token, TokenType::Access) {
        Err(e) => println!("verify now says: {} ({})", e, e.code()),
        Ok(_) => return Err("a revoked token verified".into()),
    }
    revokd.unrevoke(&rule.id).await?;
    revokd.verify(&pair.access_token, TokenType::Access)?;
    println!("unrevoked: the token verifies again");
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
