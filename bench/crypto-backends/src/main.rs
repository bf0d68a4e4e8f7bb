use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::hint::black_box;
use std::time::Instant;

#[cfg(all(feature = "backend_aws", feature = "backend_rust"))]
compile_error!("enable exactly one of backend_aws / backend_rust");
#[cfg(not(any(feature = "backend_aws", feature = "backend_rust")))]
compile_error!("enable exactly one of backend_aws / backend_rust");

#[cfg(feature = "backend_aws")]
const BACKEND: &str = "aws_lc_rs";
#[cfg(feature = "backend_rust")]
const BACKEND: &str = "rust_crypto";

#[derive(Serialize, Deserialize)]
struct Claims { sub: String, exp: u64 }

fn median_us<F: FnMut()>(n: usize, mut f: F) -> f64 {
    for _ in 0..(n / 5).max(3) { f(); } // warm-up
    let mut v: Vec<f64> = (0..5).map(|_| {
        let t = Instant::now();
        for _ in 0..n { f(); }
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    }).collect();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[2]
}

fn main() {
    let kd = std::env::var("KEYDIR").unwrap_or_else(|_| "../../crates/revokd/tests/keys".into());
    let rd = |f: &str| std::fs::read(format!("{kd}/{f}")).unwrap();
    let claims = Claims { sub: "user-1234".into(), exp: 4_102_444_800 }; // 2100-01-01
    let cases: Vec<(Algorithm, EncodingKey, DecodingKey, usize)> = vec![
        (Algorithm::HS256, EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
            DecodingKey::from_secret(b"0123456789abcdef0123456789abcdef"), 20000),
        (Algorithm::RS256, EncodingKey::from_rsa_pem(&rd("rsa.pem")).unwrap(),
            DecodingKey::from_rsa_pem(&rd("rsa.pub.pem")).unwrap(), 200),
        (Algorithm::ES256, EncodingKey::from_ec_pem(&rd("ec.pem")).unwrap(),
            DecodingKey::from_ec_pem(&rd("ec.pub.pem")).unwrap(), 1000),
        (Algorithm::EdDSA, EncodingKey::from_ed_pem(&rd("ed.pem")).unwrap(),
            DecodingKey::from_ed_pem(&rd("ed.pub.pem")).unwrap(), 1000),
    ];
    println!("backend={BACKEND}");
    for (alg, ek, dk, n) in &cases {
        let header = Header::new(*alg);
        let val = Validation::new(*alg);
        let tok = encode(&header, &claims, ek).unwrap();
        let d = decode::<Claims>(&tok, dk, &val).unwrap();
        assert_eq!(d.claims.sub, "user-1234");
        let s = median_us(*n, || { black_box(encode(black_box(&header), &claims, ek).unwrap()); });
        let v = median_us(*n * 2, || { black_box(decode::<Claims>(black_box(&tok), dk, &val).unwrap()); });
        println!("{BACKEND}\t{alg:?}\tsign_us={s:.2}\tverify_us={v:.2}\tN={n}");
    }
}
