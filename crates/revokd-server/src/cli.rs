//! The admin CLI: the same binary, on the configured store. Each command prints JSON on
//! stdout (one document), errors on stderr with a non-zero exit.

use revokd::{IssueRequest, Revokd, Target, TokenType};
use serde_json::{Value, json};

use crate::config::Settings;

/// What a revocation targets, as the `revoke` command's flags give it.
#[derive(Debug, Default)]
pub struct RevokeArgs {
    /// `--jti`.
    pub jti: Option<String>,
    /// `--token`.
    pub token: Option<String>,
    /// `--sub`.
    pub sub: Option<String>,
    /// `--before` (unix seconds, with `--sub`).
    pub before: Option<f64>,
    /// `--family`.
    pub family: Option<String>,
    /// `--all-before` (unix seconds).
    pub all_before: Option<f64>,
    /// `--iss`.
    pub iss: Option<String>,
    /// `--reason`.
    pub reason: Option<String>,
}

fn ms(v: f64, flag: &str) -> anyhow::Result<u64> {
    anyhow::ensure!(v.is_finite() && (0.0..=1.0e11).contains(&v), "{flag} takes unix seconds");
    Ok((v * 1000.0).round() as u64)
}

/// `revokd issue SUB`.
pub async fn issue(settings: &Settings, sub: String, fresh: bool, claims: Option<String>) -> anyhow::Result<Value> {
    let r = crate::app::library(settings, false).await?;
    let claims = match claims {
        Some(c) => serde_json::from_str(&c).map_err(|e| anyhow::anyhow!("--claims must be a JSON object: {e}"))?,
        None => Default::default(),
    };
    // In cookie mode the tokens carry a csrf claim, as `POST /v1/tokens` gives them.
    let csrf = settings.cookies.then(|| uuid::Uuid::new_v4().simple().to_string());
    let pair = r.issue(IssueRequest { sub, fresh, claims, csrf: csrf.clone(), ..Default::default() }).await?;
    let mut out = json!({
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "token_type": "Bearer",
        "expires_in": pair.access.exp - pair.access.iat,
        "refresh_expires_in": pair.refresh.exp - pair.refresh.iat,
    });
    if let Some(c) = csrf {
        out["csrf"] = json!(c);
    }
    Ok(out)
}

/// `revokd revoke …`: exactly one target.
pub async fn revoke(settings: &Settings, a: RevokeArgs) -> anyhow::Result<Value> {
    let given = [a.jti.is_some(), a.token.is_some(), a.sub.is_some(), a.family.is_some(), a.all_before.is_some()];
    anyhow::ensure!(
        given.iter().filter(|g| **g).count() == 1,
        "give exactly one of --jti, --token, --sub, --family, --all-before"
    );
    anyhow::ensure!(a.before.is_none() || a.sub.is_some(), "--before goes with --sub");
    anyhow::ensure!(a.iss.is_none() || a.jti.is_some() || a.sub.is_some(), "--iss goes with --jti or --sub");
    let r = crate::app::library(settings, false).await?;
    let rev = if let Some(t) = a.token {
        r.revoke_token(&t, a.reason, "cli").await?
    } else {
        let target = if let Some(jti) = a.jti {
            Target::Jti { iss: a.iss, jti, exp: None }
        } else if let Some(sub) = a.sub {
            Target::Subject { iss: a.iss, sub, before_ms: a.before.map(|b| ms(b, "--before")).transpose()? }
        } else if let Some(fam) = a.family {
            Target::Family { fam }
        } else {
            Target::All { before_ms: a.all_before.map(|b| ms(b, "--all-before")).transpose()? }
        };
        r.revoke(target, a.reason, "cli").await?
    };
    Ok(serde_json::to_value(rev)?)
}

/// `revokd unrevoke ID`.
pub async fn unrevoke(settings: &Settings, id: &str) -> anyhow::Result<Value> {
    let r = crate::app::library(settings, false).await?;
    Ok(serde_json::to_value(r.unrevoke(id).await?)?)
}

/// `revokd tokens [SUB]`.
pub async fn tokens(
    settings: &Settings,
    sub: Option<&str>,
    cursor: Option<&str>,
    limit: usize,
) -> anyhow::Result<Value> {
    let r = crate::app::library(settings, false).await?;
    Ok(serde_json::to_value(crate::routes::token_list(r.tokens_of(sub, cursor, limit).await?))?)
}

/// `revokd inspect TOKEN`: header and claims decoded without trust, then the verdict.
pub async fn inspect(settings: &Settings, token: &str) -> anyhow::Result<Value> {
    let r = crate::app::library(settings, false).await?;
    // Foreign issuers' keys from their JWKS URLs, fetched once.
    crate::jwks::start(&r, settings, false).await?;
    let decoded = revokd::token::dangerous::insecure_decode(token, 1 << 20);
    let verdict = verdict(&r, token);
    Ok(match decoded {
        Ok((header, claims)) => {
            json!({"header": header, "claims": claims, "valid": verdict.is_ok(), "reason": verdict.err()})
        }
        Err(e) => {
            json!({"header": null, "claims": null, "valid": false, "reason": {"code": e.code(), "message": e.to_string()}})
        }
    })
}

fn verdict(r: &Revokd, token: &str) -> Result<(), Value> {
    let res = match r.verify(token, TokenType::Access) {
        Err(revokd::Error::WrongTokenType { .. }) => r.verify(token, TokenType::Refresh),
        other => other,
    };
    res.map(drop).map_err(|e| json!({"code": e.code(), "public_code": e.public_code(), "message": e.to_string()}))
}

/// `revokd keys`: the keys in use and the JWKS.
pub async fn keys(settings: &Settings) -> anyhow::Result<Value> {
    let r = crate::app::library(settings, false).await?;
    let keys: Vec<Value> = r
        .tokens()
        .keys()
        .iter()
        .map(|k| {
            json!({"kid": k.kid(), "algorithm": k.algorithm().as_str(), "fingerprint": k.fingerprint_hex(), "signs": k.can_sign()})
        })
        .collect();
    Ok(json!({"keys": keys, "jwks": r.tokens().keys().jwks()}))
}

/// `revokd prune`: removes expired rules, old feed events and expired registry
/// entries from the store now.
pub async fn prune(settings: &Settings) -> anyhow::Result<Value> {
    let r = crate::app::library(settings, false).await?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    let p = r.store().prune(now).await?;
    Ok(json!({"rules": p.rules, "events": p.events, "tokens": p.tokens}))
}
