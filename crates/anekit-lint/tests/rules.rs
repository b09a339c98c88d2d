//! Severity and evidence variants the fixtures do not cover, and spans.

use anekit_ir::Severity;
use anekit_lint::{Evidence, Finding, LintOptions, lint, target};

fn run(src: &str, chip: &str, compiles: Option<u64>) -> Vec<Finding> {
    let program = anekit_ir::check(src).program.expect("parses");
    lint(
        &program,
        &target(chip).expect("target"),
        &LintOptions { compiles },
    )
}

const RELU: &str = "program(1.3)\n{\n    func main<ios18>(tensor<fp16, [1, 64]> x) {\n            tensor<fp16, [1, 64]> y = relu(x = x)[name = string(\"y\")];\n        } -> (y);\n}\n";

#[test]
fn compile_budget_warns_above_100_and_errors_from_119() {
    assert!(run(RELU, "m4", Some(100)).is_empty());
    let warn = run(RELU, "m4", Some(101));
    assert_eq!(warn.len(), 1);
    assert_eq!(
        (warn[0].lint, warn[0].severity, warn[0].evidence),
        ("compile-budget", Severity::Warning, Evidence::Source)
    );
    let err = run(RELU, "m4", Some(119));
    assert_eq!(
        (err[0].lint, err[0].severity, err[0].evidence),
        ("compile-budget", Severity::Error, Evidence::Unverified)
    );
}

fn conv(channels: u64) -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/conv-input-channels/fail.mil"
    ))
    .expect("fixture")
    .replace("32000", &channels.to_string())
}

#[test]
fn conv_channels_between_8192_and_32000_are_a_warning() {
    assert!(run(&conv(8192), "m5", None).is_empty());
    let f = run(&conv(8193), "m5", None);
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0].lint, f[0].severity),
        ("conv-input-channels", Severity::Warning)
    );
    let f = run(&conv(32000), "m5", None);
    assert_eq!(
        (f[0].lint, f[0].severity),
        ("conv-input-channels", Severity::Error)
    );
}

#[test]
fn interleave_true_fires_and_the_span_points_at_it() {
    let src = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/concat-interleave/pass.mil"
    ))
    .expect("fixture")
    .replace("bool(false)", "bool(true)");
    let f = run(&src, "m4", None);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].lint, "concat-interleave");
    assert_eq!(
        &src[f[0].span.start..f[0].span.end],
        "interleave = interleave_0"
    );
}

#[test]
fn sram_budget_uses_the_chip_estimate() {
    let src = conv(4096)
        .replace("[32, 4096, 1, 1]", "[4096, 4096, 1, 1]")
        .replace("[1, 32, 1, 64]", "[1, 4096, 1, 64]");
    // 32 MiB of weights: at M4 Max's budget; M1's estimate is 16 MiB; M5 has no estimate.
    let ids = |chip| {
        run(&src, chip, None)
            .iter()
            .map(|f| f.lint)
            .collect::<Vec<_>>()
    };
    assert_eq!(ids("m4max"), ["sram-budget"]);
    assert!(ids("m5").is_empty());
    let m1 = run(&src, "m1", None);
    assert!(
        m1.iter()
            .any(|f| f.lint == "sram-budget" && f.evidence == Evidence::Unverified)
    );
}

#[test]
fn matmul_inner_dim_follows_transpose_x() {
    let src = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/matmul-inner-multiple-32/pass.mil"
    ))
    .expect("fixture")
    .replace(
        "y_transpose_x_0\"), val = bool(false)",
        "y_transpose_x_0\"), val = bool(true)",
    )
    .replace("tensor<fp16, [1, 8, 32]> y", "tensor<fp16, [1, 64, 32]> y");
    // x is [1, 8, 64] transposed: the inner dimension is 8.
    let f = run(&src, "m4", None);
    assert!(
        f.iter()
            .any(|f| f.lint == "matmul-inner-multiple-32" && f.message.contains("is 8")),
        "{f:?}"
    );
}
