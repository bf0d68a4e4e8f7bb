use proptest::prelude::*;

use super::*;
use uuid::Uuid;

fn rev(
    id: u32,
    kind: RuleKind,
    target: Option<String>,
    iss: Option<&str>,
    before_ms: Option<u64>,
    expires_at: u64,
) -> Revocation {
    Revocation {
        id: format!("r{id}"),
        seq: id as u64,
        kind,
        target,
        iss: iss.map(str::to_owned),
        before_ms,
        created_at: 0,
        expires_at,
        reason: None,
        actor: "test".into(),
    }
}

fn uuid(n: u8) -> String {
    // UUIDv7-shaped ids with a fixed timestamp: what our own tokens carry.
    Uuid::from_bytes([1, 2, 3, 4, 5, 6, 0x70, 0, 0x80, 0, 0, 0, 0, 0, 0, n]).to_string()
}

#[test]
fn each_rule_kind_refuses_what_it_should() {
    let idx = Index::new();
    let t = |jti: &str, sub: &str, fam: Option<&str>, ms: u64| idx.probe_parts(None, jti, sub, fam, ms);
    let a = uuid(1);
    assert!(!idx.is_revoked(&t(&a, "alice", None, 10)));
    idx.apply(&rev(1, RuleKind::Jti, Some(a.clone()), None, None, 100));
    assert!(idx.is_revoked(&t(&a, "alice", None, 10)));
    assert!(!idx.is_revoked(&t(&uuid(2), "alice", None, 10)));

    idx.apply(&rev(2, RuleKind::Subject, Some("bob".into()), None, Some(1000), 100));
    assert!(idx.is_revoked(&t(&uuid(3), "bob", None, 1000)), "issued at the cutoff");
    assert!(!idx.is_revoked(&t(&uuid(3), "bob", None, 1001)), "issued one ms after");
    assert!(!idx.is_revoked(&t(&uuid(3), "carol", None, 10)));

    let fam = uuid(9);
    idx.apply(&rev(3, RuleKind::Family, Some(fam.clone()), None, None, 100));
    assert!(idx.is_revoked(&t(&uuid(4), "dave", Some(&fam), 5000)));
    assert!(!idx.is_revoked(&t(&uuid(4), "dave", Some(&uuid(8)), 5000)));

    idx.apply(&rev(4, RuleKind::All, None, None, Some(2000), 100));
    assert!(idx.is_revoked(&t(&uuid(5), "erin", None, 2000)));
    assert!(!idx.is_revoked(&t(&uuid(5), "erin", None, 2001)));
}

#[test]
fn rules_are_scoped_by_issuer() {
    let idx = Index::new();
    idx.apply(&rev(1, RuleKind::Subject, Some("alice".into()), None, Some(1000), 100));
    idx.apply(&rev(2, RuleKind::Jti, Some("abc".into()), Some("https://idp"), None, 100));
    assert!(idx.is_revoked(&idx.probe_parts(None, "", "alice", None, 5)));
    assert!(!idx.is_revoked(&idx.probe_parts(Some("https://idp"), "", "alice", None, 5)));
    assert!(idx.is_revoked(&idx.probe_parts(Some("https://idp"), "abc", "x", None, 5)));
    assert!(!idx.is_revoked(&idx.probe_parts(Some("https://other"), "abc", "x", None, 5)));
    assert!(!idx.is_revoked(&idx.probe_parts(None, "abc", "x", None, 5)));
}

#[test]
fn unrevoking_one_subject_cutoff_falls_back_to_the_other() {
    let idx = Index::new();
    let r1 = rev(1, RuleKind::Subject, Some("alice".into()), None, Some(1000), 100);
    let r2 = rev(2, RuleKind::Subject, Some("alice".into()), None, Some(3000), 100);
    idx.apply(&r1);
    idx.apply(&r2);
    let p = |ms| idx.probe_parts(None, "", "alice", None, ms);
    assert!(idx.is_revoked(&p(2000)));
    idx.remove(&r2);
    assert!(!idx.is_revoked(&p(2000)));
    assert!(idx.is_revoked(&p(900)));
    idx.remove(&r1);
    assert!(!idx.is_revoked(&p(900)));
    assert_eq!(idx.stats().subjects, 0);
}

#[test]
fn pruning_is_bounded_and_removes_only_expired_rules() {
    let idx = Index::new();
    for i in 0..20_000u32 {
        let t = Uuid::now_v7().to_string();
        idx.apply(&rev(i, RuleKind::Jti, Some(t), None, None, if i % 2 == 0 { 50 } else { 500 }));
    }
    idx.apply(&rev(99_999, RuleKind::Subject, Some("s".into()), None, Some(1), 50));
    let step = idx.prune(100, 1000);
    assert!(step.visited <= 2000, "a step visits at most its budget per table");
    let mut total = step.removed;
    for _ in 0..200 {
        total += idx.prune(100, 1000).removed;
    }
    assert_eq!(total, 10_001);
    assert_eq!(idx.stats().jtis, 10_000);
    assert_eq!(idx.stats().subjects, 0);
}

#[derive(Debug, Clone)]
enum OpT {
    Jti(u8, Option<u8>, u64),
    Subject(u8, Option<u8>, u64, u64),
    Family(u8, u64),
    All(u64, u64),
    Unrevoke(usize),
    Prune(u64),
    Check(u8, u8, u8, Option<u8>, u64),
}

fn op() -> impl Strategy<Value = OpT> {
    let iss = prop::option::of(0u8..2);
    prop_oneof![
        (0u8..20, iss.clone(), 1u64..200).prop_map(|(j, i, e)| OpT::Jti(j, i, e)),
        (0u8..5, iss.clone(), 0u64..100, 1u64..200).prop_map(|(s, i, b, e)| OpT::Subject(s, i, b, e)),
        (0u8..5, 1u64..200).prop_map(|(f, e)| OpT::Family(f, e)),
        (0u64..100, 1u64..200).prop_map(|(b, e)| OpT::All(b, e)),
        (0usize..50).prop_map(OpT::Unrevoke),
        (0u64..50).prop_map(OpT::Prune),
        (0u8..20, 0u8..5, 0u8..5, iss, 0u64..120).prop_map(|(j, s, f, i, ms)| OpT::Check(j, s, f, i, ms)),
    ]
}

/// The plain model: a list of live rules, scanned.
fn model_revoked(rules: &[Revocation], iss: Option<&str>, jti: &str, sub: &str, fam: &str, ms: u64) -> bool {
    rules.iter().any(|r| match r.kind {
        RuleKind::Jti => r.iss.as_deref() == iss && r.target.as_deref() == Some(jti),
        RuleKind::Subject => {
            r.iss.as_deref() == iss && r.target.as_deref() == Some(sub) && ms <= r.before_ms.unwrap_or(0)
        }
        RuleKind::Family => iss.is_none() && r.target.as_deref() == Some(fam),
        RuleKind::All => ms <= r.before_ms.unwrap_or(0),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn index_agrees_with_a_plain_model(ops in prop::collection::vec(op(), 1..200)) {
        let idx = Index::new();
        let mut model: Vec<Revocation> = Vec::new();
        let issuers = ["https://a", "https://b"];
        let iss_of = |i: Option<u8>| i.map(|i| issuers[i as usize]);
        let mut next = 0u32;
        // one clock for the whole run: pruning moves it forward only
        let mut clock = 0u64;
        for op in ops {
            next += 1;
            match op {
                OpT::Jti(j, i, e) => {
                    let (iss, jti) = (iss_of(i), uuid(j));
                    // the store keeps one live rule per (issuer, jti): so does the model
                    if !model.iter().any(|r| r.kind == RuleKind::Jti && r.iss.as_deref() == iss && r.target.as_deref() == Some(jti.as_str())) {
                        let r = rev(next, RuleKind::Jti, Some(jti), iss, None, e);
                        idx.apply(&r);
                        model.push(r);
                    }
                }
                OpT::Subject(s, i, b, e) => {
                    let r = rev(next, RuleKind::Subject, Some(format!("s{s}")), iss_of(i), Some(b), e);
                    idx.apply(&r);
                    model.push(r);
                }
                OpT::Family(f, e) => {
                    let r = rev(next, RuleKind::Family, Some(uuid(100 + f)), None, None, e);
                    idx.apply(&r);
                    model.push(r);
                }
                OpT::All(b, e) => {
                    let r = rev(next, RuleKind::All, None, None, Some(b), e);
                    idx.apply(&r);
                    model.push(r);
                }
                OpT::Unrevoke(k) => {
                    let reversible: Vec<usize> = (0..model.len()).filter(|&i| model[i].kind.is_reversible()).collect();
                    if !reversible.is_empty() {
                        let r = model.remove(reversible[k % reversible.len()]);
                        idx.remove(&r);
                    }
                }
                OpT::Prune(step) => {
                    clock += step;
                    let now = clock;
                    idx.prune_all(now);
                    // the global cutoff goes once its latest rule expired
                    let latest_all = model.iter().filter(|r| r.kind == RuleKind::All).map(|r| r.expires_at).max();
                    let keep_all = latest_all.is_some_and(|e| e > now);
                    model.retain(|r| if r.kind == RuleKind::All { keep_all } else { r.expires_at > now });
                }
                OpT::Check(j, s, f, i, ms) => {
                    let iss = iss_of(i);
                    let (jti, sub, fam) = (uuid(j), format!("s{s}"), uuid(100 + f));
                    let p = idx.probe_parts(iss, &jti, &sub, Some(&fam), ms);
                    let expected = model_revoked(&model, iss, &jti, &sub, &fam, ms);
                    prop_assert_eq!(idx.is_revoked(&p), expected);
                    // the lazy path `verify` uses answers the same
                    prop_assert_eq!(idx.check_parts(iss, &jti, &sub, Some(&fam), ms), expected);
                }
            }
        }
    }
}
