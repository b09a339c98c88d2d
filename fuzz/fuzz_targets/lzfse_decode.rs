//! LZFSE decoding of arbitrary bytes: errors, never panics; output bounded by the limit.
#![no_main]
use anekit_espresso::lzfse;
use libfuzzer_sys::fuzz_target;

const LIMIT: u64 = 1 << 24;

fuzz_target!(|data: &[u8]| {
    if let Ok(out) = lzfse::decode(data, LIMIT) {
        assert!(out.len() as u64 <= LIMIT);
        let info = lzfse::walk(data, LIMIT).expect("decode succeeded, so the walk does");
        assert_eq!(info.raw_size, out.len() as u64);
    }
});
