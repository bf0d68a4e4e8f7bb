//! The Redis store's decoding of its own data: the first byte picks a decoder, the rest
//! is what the server would send (RESP bytes, parsed by the redis client's own parser
//! first) or a packed rule (raw bytes): a feed entry (`XRANGE`/`XREAD`), a rule hash
//! (`HGETALL`), the append script's reply, an `XREAD` announcement, a packed rule.
//! Never a panic; every rule that decodes goes through an index (`exercise_index`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use revokd::store::redis_decoding as decode;
use revokd_fuzz::exercise_index;

fuzz_target!(|data: &[u8]| {
    let Some((&which, bytes)) = data.split_first() else { return };
    let rule = match which % 5 {
        0 => decode::feed_entry(bytes).and_then(Result::ok).map(|e| e.revocation),
        1 => decode::rule_hash(bytes).and_then(Result::ok).flatten().map(|(r, _)| r),
        2 => decode::append_reply(bytes).and_then(Result::ok).and_then(|(_, _, r)| r),
        3 => {
            decode::announced(bytes);
            None
        }
        _ => decode::packed_rule(bytes).ok(),
    };
    if let Some(r) = rule {
        exercise_index(&[r]);
    }
});
