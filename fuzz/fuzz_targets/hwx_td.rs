//! Decode arbitrary bytes as task descriptors of every generation. A TD that decodes must
//! re-encode to exactly its input bytes; stream walking, disassembly, diff and field setting
//! must not panic.
#![no_main]

use anekit_hwx::disasm::{diff, disassemble};
use anekit_hwx::program::load_program;
use anekit_hwx::regmap::Generation;
use anekit_hwx::td::{decode_stream, decode_td};
use libfuzzer_sys::fuzz_target;

const GENERATIONS: [Generation; 8] = [
    Generation::H11,
    Generation::H12,
    Generation::H13,
    Generation::H14,
    Generation::H15,
    Generation::H16,
    Generation::H17,
    Generation::H18,
];

fuzz_target!(|data: &[u8]| {
    for generation in GENERATIONS {
        if let Ok(td) = decode_td(data, generation) {
            assert_eq!(td.encode(), data, "decode -> encode must be the identity");
            let _ = disassemble(&td, 0, 0, true);
            let mut changed = td.clone();
            if changed.set("Header.KBase0", 6).is_ok() {
                assert_eq!(changed.encode().len(), data.len());
            }
        }
        if let Ok(tds) = decode_stream(data, generation, None) {
            for td in &tds {
                let start = td.offset as usize;
                let bytes = td.encode();
                assert_eq!(Some(bytes.as_slice()), data.get(start..start + bytes.len()));
            }
            let _ = diff(&tds, &tds);
        }
    }
    if let Ok(program) = load_program(data) {
        for i in 0..program.tds.len() {
            if let Ok((out, _)) = program.patch(data, i, &[]) {
                assert_eq!(out, data);
            }
        }
    }
});
