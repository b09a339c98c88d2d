//! `.espresso.net` / `.espresso.shape` parsing (JSON or PBZE) of arbitrary bytes, and the diff
//! of a parsed net with itself.
#![no_main]
use anekit_espresso::{EspressoNet, ShapeFile, diff};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(net) = EspressoNet::parse_bytes(data, 1 << 24) {
        for l in &net.layers {
            let _ = l.blob_refs();
        }
        assert!(diff::diff(&net, None, &net, None).is_empty());
    }
    let _ = ShapeFile::parse_bytes(data, 1 << 24);
});
