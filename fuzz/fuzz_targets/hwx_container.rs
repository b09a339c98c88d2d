//! Fuzz the .hwx container parser and everything derived from it: the tensor bindings, the
//! section byte accessors and the .anec synthesis. Errors are fine; panics are bugs.
#![no_main]
use anekit_hwx::anec::Anec;
use anekit_hwx::container::Hwx;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(hwx) = Hwx::parse(data) else { return };
    let _ = hwx.text_bytes();
    let _ = (hwx.td_count(), hwx.td_size(), hwx.td_stride());
    for s in hwx.sections() {
        let _ = hwx.section_bytes(s);
    }
    for r in &hwx.relocations {
        let _ = r.kernel_channel(0x300);
        let _ = r.kernel_channel(0);
    }
    if let Ok(file) = Anec::from_hwx(&hwx) {
        // What we write must read back.
        let parsed = Anec::parse(&file).unwrap_or_else(|e| panic!("own .anec unreadable: {e}"));
        let _ = parsed.header.issues();
    }
});
