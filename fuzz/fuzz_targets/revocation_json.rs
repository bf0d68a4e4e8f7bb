//! JSON as the stores and the feed decode it: a `Revocation`, a feed `Event`, a
//! `Snapshot`, an `IssuedToken`. Never a panic; whatever parses serializes, and parses
//! back to an equal value (round trip).
#![no_main]

use libfuzzer_sys::fuzz_target;
use revokd::Revocation;
use revokd::rules::Event;
use revokd::store::{IssuedToken, Snapshot};
use serde::Serialize;
use serde::de::DeserializeOwned;

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(data: &[u8]) {
    let Ok(v) = serde_json::from_slice::<T>(data) else { return };
    let json = serde_json::to_vec(&v).expect("a decoded value serializes");
    let back: T = serde_json::from_slice(&json).expect("a serialized value decodes");
    assert_eq!(v, back, "round trip changed the value; JSON out: {}", String::from_utf8_lossy(&json));
}

fuzz_target!(|data: &[u8]| {
    round_trip::<Revocation>(data);
    round_trip::<Event>(data);
    round_trip::<Snapshot>(data);
    round_trip::<IssuedToken>(data);
});
