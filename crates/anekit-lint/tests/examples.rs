//! The bundled examples (examples/*/model.mil) are lint-clean for the chips they target: every
//! chip whose MIL dialect is program(1.3) + ios18 (M3, M4 and M5 families). On M1/M2 exactly the
//! dialect lint fires (they take program(1.0) + ios16).

use anekit_lint::{LintOptions, TARGET_IDS, lint, target};
use std::path::PathBuf;

const EXAMPLES: &[&str] = &["transformer_block", "cnn"];

fn example(name: &str) -> anekit_ir::Program {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
        .join("model.mil");
    let src = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let checked = anekit_ir::check(&src);
    assert!(checked.is_valid(), "{name} is valid MIL");
    checked.program.expect("parses")
}

#[test]
fn examples_are_lint_clean_for_the_chips_they_target() {
    let targeted = [
        "m3", "m3pro", "m3max", "m3ultra", "m4", "m4pro", "m4max", "m5", "m5pro", "m5max",
    ];
    for name in EXAMPLES {
        let program = example(name);
        for id in TARGET_IDS {
            let t = target(id).expect("known target");
            let fired: Vec<&str> = lint(&program, &t, &LintOptions::default())
                .iter()
                .map(|f| f.lint)
                .collect();
            if targeted.contains(id) {
                assert!(fired.is_empty(), "{name} on {id}: {fired:?}");
            } else {
                assert_eq!(fired, ["dialect-chip"], "{name} on {id}");
            }
        }
    }
}
