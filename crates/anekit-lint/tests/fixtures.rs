//! Every lint has a passing and a failing fixture (tests/fixtures/<lint-id>/{pass,fail}.mil):
//! on the passing one no lint fires, on the failing one exactly the listed lints fire.

use anekit_lint::{LINTS, LintOptions, lint, target};
use std::path::PathBuf;

struct Case {
    lint: &'static str,
    target: &'static str,
    /// `--compiles` for the pass and the fail fixture.
    compiles: (Option<u64>, Option<u64>),
    /// Exactly the lints that fire on fail.mil, in source order.
    fail: &'static [&'static str],
}

const CASES: &[Case] = &[
    case("dialect-chip", "m1", &["dialect-chip"]),
    case("program-opset-mismatch", "m4", &["program-opset-mismatch"]),
    case("sdpa-needs-ios18", "m4", &["sdpa-needs-ios18"]),
    case(
        "cast-unsupported",
        "m1",
        &["cast-unsupported", "cast-unsupported"],
    ),
    case(
        "fp16-io-required",
        "m1",
        &["fp16-io-required", "fp16-io-required"],
    ),
    case("dynamic-shape", "m4", &["dynamic-shape", "dynamic-shape"]),
    case("control-flow", "m4", &["control-flow"]),
    case("concat-interleave", "m4", &["concat-interleave"]),
    case("concat-axis-tensor", "m4", &["concat-axis-tensor"]),
    case("scalar-param", "m4", &["scalar-param"]),
    case("dim-limit", "m4", &["dim-limit", "dim-limit"]),
    case("conv-input-channels", "m4", &["conv-input-channels"]),
    case(
        "matmul-inner-multiple-32",
        "m4",
        &["matmul-inner-multiple-32"],
    ),
    case("surface-order", "m4", &["surface-order"]),
    case("sdpa-mask-ignored", "m4", &["sdpa-mask-ignored"]),
    case("sram-budget", "m4max", &["sram-budget"]),
    case("int8-weight-only", "m4", &["int8-weight-only"]),
    Case {
        lint: "compile-budget",
        target: "m4",
        compiles: (Some(60), Some(120)),
        fail: &["compile-budget"],
    },
];

const fn case(lint: &'static str, target: &'static str, fail: &'static [&'static str]) -> Case {
    Case {
        lint,
        target,
        compiles: (None, None),
        fail,
    }
}

fn fixture(lint: &str, which: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(lint)
        .join(format!("{which}.mil"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn fired(src: &str, chip: &str, compiles: Option<u64>) -> Vec<&'static str> {
    let checked = anekit_ir::check(src);
    let program = checked.program.expect("fixture parses");
    let t = target(chip).expect("known target");
    lint(&program, &t, &LintOptions { compiles })
        .iter()
        .map(|f| f.lint)
        .collect()
}

#[test]
fn every_lint_has_a_case_and_both_fixtures() {
    let ids: Vec<&str> = LINTS.iter().map(|l| l.id).collect();
    let cased: Vec<&str> = CASES.iter().map(|c| c.lint).collect();
    assert_eq!(ids, cased, "one case per lint, in registry order");
}

#[test]
fn pass_fixtures_are_clean_and_fail_fixtures_fire_exactly_their_lints() {
    for c in CASES {
        let pass = fired(&fixture(c.lint, "pass"), c.target, c.compiles.0);
        assert!(pass.is_empty(), "{}: pass.mil fired {pass:?}", c.lint);
        let fail = fired(&fixture(c.lint, "fail"), c.target, c.compiles.1);
        assert_eq!(fail, c.fail, "{}: fail.mil", c.lint);
    }
}

/// The pass fixtures are valid MIL for anekit-ir (the lints are not hiding behind a parse or
/// type error); fail fixtures may be invalid where the rule itself is an IR error.
#[test]
fn pass_fixtures_are_valid_mil() {
    for c in CASES {
        let checked = anekit_ir::check(&fixture(c.lint, "pass"));
        let errors: Vec<String> = checked
            .errors()
            .map(|d| format!("{}: {}", d.code, d.message))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", c.lint);
    }
}
