//! PBZE reading and decoding of arbitrary bytes; successful decodes re-encode and round-trip.
#![no_main]
use anekit_espresso::pbze;
use libfuzzer_sys::fuzz_target;

const LIMIT: u64 = 1 << 24;

fuzz_target!(|data: &[u8]| {
    let _ = pbze::read_info(data, LIMIT);
    if let Ok(out) = pbze::decode(data, LIMIT) {
        assert!(out.len() as u64 <= LIMIT);
        let again = pbze::encode(&out).expect("encode");
        assert_eq!(pbze::decode(&again, LIMIT).expect("round trip"), out);
    }
});
