//! Parse arbitrary text as MIL; whenever it parses, the canonical print must parse back to
//! the same tree (arguments and attributes sorted), and printing in either dialect must be a
//! fixed point. Any disagreement between printer and parser is a bug.
#![no_main]

use anekit_mil::{Dialect, PrintOptions, parse, parse_bytes, print};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(program) = parse_bytes(data) else {
        return;
    };
    let keep = PrintOptions::default();
    let printed = print(&program, &keep);
    let reparsed = parse(&printed)
        .unwrap_or_else(|e| panic!("canonical print does not parse: {e}\n{printed}"));
    let mut sorted = program.clone();
    sorted.sort_canonical();
    assert!(reparsed == sorted, "tree changed through print:\n{printed}");
    for dialect in [Dialect::V1_0, Dialect::V1_3] {
        let options = PrintOptions {
            dialect: Some(dialect),
            final_newline: None,
        };
        let converted = print(&program, &options);
        let again = parse(&converted)
            .unwrap_or_else(|e| panic!("{dialect:?} print does not parse: {e}\n{converted}"));
        assert_eq!(
            print(&again, &options),
            converted,
            "{dialect:?} print is not a fixed point"
        );
        assert_eq!(again.dialect(), dialect);
    }
});
