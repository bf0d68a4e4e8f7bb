//! Revocation rules: what can be revoked, the record each revocation leaves, and how
//! long each rule must live (API.md, "Revocation rules and their lifetime").

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The kind of a revocation rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum RuleKind {
    /// One token, by `jti`.
    Jti,
    /// A subject's tokens issued at or before a cutoff.
    Subject,
    /// Every token of one refresh family.
    Family,
    /// Every token issued at or before a cutoff.
    All,
}

impl RuleKind {
    /// `"jti"`, `"subject"`, `"family"` or `"all"`.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Jti => "jti",
            RuleKind::Subject => "subject",
            RuleKind::Family => "family",
            RuleKind::All => "all",
        }
    }

    /// Whether a rule of this kind can be undone (only `jti` and `subject`).
    pub fn is_reversible(self) -> bool {
        matches!(self, RuleKind::Jti | RuleKind::Subject)
    }
}

impl fmt::Display for RuleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for RuleKind {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        Ok(match s {
            "jti" => RuleKind::Jti,
            "subject" => RuleKind::Subject,
            "family" => RuleKind::Family,
            "all" => RuleKind::All,
            other => return Err(crate::Error::InvalidRequest(format!("unknown rule kind `{other}`"))),
        })
    }
}

/// What to revoke, as a caller says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// One token. `iss` is `None` for our own tokens, else the foreign issuer; `exp` is
    /// the token's expiry if known (the rule then expires with it).
    Jti {
        /// Issuer scope (`None` = ours).
        iss: Option<String>,
        /// The token id.
        jti: String,
        /// The token's `exp`, if known.
        exp: Option<u64>,
    },
    /// A subject's tokens issued at or before `before_ms` (now, if `None`).
    Subject {
        /// Issuer scope (`None` = ours).
        iss: Option<String>,
        /// The subject.
        sub: String,
        /// The cutoff in unix milliseconds; `None` = now.
        before_ms: Option<u64>,
    },
    /// Every token of a refresh family.
    Family {
        /// The family id.
        fam: String,
    },
    /// Every token issued at or before `before_ms` (now, if `None`).
    All {
        /// The cutoff in unix milliseconds; `None` = now.
        before_ms: Option<u64>,
    },
}

/// A revocation as it is stored and published: the record of API.md.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Revocation {
    /// Opaque id.
    pub id: String,
    /// Sequence number of the event that created it.
    pub seq: u64,
    /// The rule's kind.
    pub kind: RuleKind,
    /// The jti, sub or family id; `None` for `all`.
    pub target: Option<String>,
    /// Issuer scope for `jti` and `subject` rules; `None` = our own tokens.
    pub iss: Option<String>,
    /// The cutoff for `subject` and `all`, unix milliseconds (published as seconds with
    /// a millisecond fraction).
    #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>))]
    #[serde(rename = "before", serialize_with = "ms_as_secs", deserialize_with = "secs_as_ms")]
    pub before_ms: Option<u64>,
    /// When it was made, unix seconds.
    pub created_at: u64,
    /// When it may be pruned, unix seconds (leeway included).
    pub expires_at: u64,
    /// Why, as the caller said.
    pub reason: Option<String>,
    /// Who: `admin`, `client:<id>`, `holder`, `subject:<sub>`, `cli`, or an
    /// application's own label.
    pub actor: String,
}

fn ms_as_secs<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(ms) => s.serialize_f64(*ms as f64 / 1000.0),
        None => s.serialize_none(),
    }
}

fn secs_as_ms<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v: Option<f64> = Option::deserialize(d)?;
    Ok(v.filter(|x| x.is_finite() && *x >= 0.0).map(|x| (x * 1000.0).round() as u64))
}

/// A revocation before the store has given it an id and a sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRevocation {
    /// The rule's kind.
    pub kind: RuleKind,
    /// The jti, sub or family id; `None` for `all`.
    pub target: Option<String>,
    /// Issuer scope (`None` = ours).
    pub iss: Option<String>,
    /// Cutoff for `subject` and `all`, unix milliseconds.
    pub before_ms: Option<u64>,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds.
    pub expires_at: u64,
    /// Why.
    pub reason: Option<String>,
    /// Who.
    pub actor: String,
}

impl NewRevocation {
    /// The record once the store assigned `id` and `seq`.
    pub fn into_revocation(self, id: String, seq: u64) -> Revocation {
        Revocation {
            id,
            seq,
            kind: self.kind,
            target: self.target,
            iss: self.iss,
            before_ms: self.before_ms,
            created_at: self.created_at,
            expires_at: self.expires_at,
            reason: self.reason,
            actor: self.actor,
        }
    }
}

/// What an event in the feed does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Op {
    /// A rule was added.
    Revoke,
    /// A rule was removed (unrevoke).
    Unrevoke,
}

/// One entry of the change feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    /// Gap-free, ascending sequence number, from 1.
    pub seq: u64,
    /// Added or removed.
    pub op: Op,
    /// The rule concerned.
    pub revocation: Revocation,
}

/// How long rules live: API.md's table, with leeway always added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    /// Clock skew tolerated on `exp`, seconds.
    pub leeway: u64,
    /// The longest lifetime a matching token can have: the largest TTL ever issued and
    /// `max_token_lifetime`, seconds.
    pub longest: u64,
}

impl Lifetimes {
    /// When a `jti` rule may be pruned: the token's `exp` (or now + longest) + leeway.
    pub fn jti_expiry(&self, now_secs: u64, exp: Option<u64>) -> u64 {
        exp.unwrap_or(now_secs + self.longest).saturating_add(self.leeway)
    }

    /// When a cutoff rule (`subject`, `all`) may be pruned: cutoff + longest + leeway.
    pub fn cutoff_expiry(&self, before_ms: u64) -> u64 {
        before_ms.div_ceil(1000).saturating_add(self.longest).saturating_add(self.leeway)
    }

    /// When a `family` rule may be pruned: the latest `exp` issued in the family if
    /// known, else now + longest; leeway added.
    pub fn family_expiry(&self, now_secs: u64, latest_exp: Option<u64>) -> u64 {
        let bound = now_secs + self.longest;
        latest_exp.map_or(bound, |e| e.min(bound)).saturating_add(self.leeway)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutoffs_serialize_as_seconds_with_millisecond_fraction() {
        let r = Revocation {
            id: "x".into(),
            seq: 1,
            kind: RuleKind::Subject,
            target: Some("alice".into()),
            iss: None,
            before_ms: Some(1_700_000_000_123),
            created_at: 1_700_000_000,
            expires_at: 1_700_086_401,
            reason: None,
            actor: "admin".into(),
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["before"], serde_json::json!(1_700_000_000.123));
        let back: Revocation = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn rules_outlive_every_token_they_match() {
        let l = Lifetimes { leeway: 5, longest: 100 };
        assert_eq!(l.jti_expiry(1000, Some(1050)), 1055);
        assert_eq!(l.jti_expiry(1000, None), 1105);
        // a cutoff at 1000.001 s matches tokens issued up to then, living up to 1100.001
        assert_eq!(l.cutoff_expiry(1_000_001), 1106);
        assert_eq!(l.family_expiry(1000, Some(1200)), 1105);
        assert_eq!(l.family_expiry(1000, Some(1010)), 1015);
    }
}
