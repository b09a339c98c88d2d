//! ANECompiler net.plist parsing (XML or binary) of arbitrary bytes.
#![no_main]
use anekit_espresso::NetPlist;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = NetPlist::parse(data) {
        let _ = p.weight_refs();
    }
});
