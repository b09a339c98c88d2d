//! Fuzz the .anec readers: headered files, headerless payload scanning, and submission
//! planning from a parsed header. Errors are fine; panics are bugs.
#![no_main]
use anekit_hwx::anec::{Anec, scan_payload};
use anekit_hwx::asahi::{bootstrap_td, plan_submission};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = scan_payload(data);
    if let Ok(anec) = Anec::parse(data) {
        let _ = anec.header.issues();
        let _ = anec.header.used_slots();
        let _ = (anec.microcode(), anec.kernels());
        if plan_submission(&anec.header).is_ok() {
            let _ = bootstrap_td(anec.payload, anec.header.td_size);
        }
        let round = anec.header.to_bytes();
        assert_eq!(
            anekit_hwx::anec::AnecHeader::parse(&round).ok().as_ref(),
            Some(&anec.header),
            "header does not round-trip"
        );
    }
});
