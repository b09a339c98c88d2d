//! `.espresso.weights` table parsing of arbitrary bytes: hostile counts and sizes are errors.
#![no_main]
use anekit_espresso::WeightsTable;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = WeightsTable::parse(data) {
        assert!(t.header_size + t.total_blob_bytes() + t.trailing_bytes == data.len() as u64);
        for e in &t.entries {
            assert_eq!(t.blob(data, e.id).map(<[u8]>::len), Some(e.size as usize));
        }
    }
});
