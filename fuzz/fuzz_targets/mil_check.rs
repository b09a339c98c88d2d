#![no_main]
//! Parse and validate arbitrary text: anekit-ir must report diagnostics, never panic.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(src) = std::str::from_utf8(data) {
        let checked = anekit_ir::check(src);
        for d in &checked.diagnostics {
            assert!(d.span.start <= src.len() && d.span.end <= src.len());
        }
        // BLOBFILE resolution on a folder without weights must fail cleanly too.
        if let Some(program) = &checked.program {
            let weights = anekit_ir::weights::Weights::new("/nonexistent-anekit-fuzz");
            let _ = weights.check(program);
        }
    }
});
