//! `ane lint` end to end: exit codes, the rendered finding (line:col, snippet, evidence, hint),
//! JSON fields, and the three input kinds (.mil, .mlmodelc folder, .mlpackage).

mod common;

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn ane() -> Command {
    Command::cargo_bin("ane").unwrap()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(lint: &str, which: &str) -> String {
    root()
        .join("crates/anekit-lint/tests/fixtures")
        .join(lint)
        .join(format!("{which}.mil"))
        .display()
        .to_string()
}

fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(a.get_output().stdout.clone()).unwrap()
}

#[test]
fn error_finding_is_rendered_with_span_evidence_and_hint_and_exits_1() {
    let f = fixture("concat-axis-tensor", "fail");
    let a = ane().args(["lint", &f, "--target", "m4"]).assert().code(1);
    let out = stdout(&a);
    assert!(
        out.starts_with(&format!(
            "{f}:6:53: error[concat-axis-tensor]: concat axis is a tensor<int32, [1]>, not an int32 scalar\n"
        )),
        "{out}"
    );
    assert!(out.contains("^^^^^^^^^^^^^\n"), "{out}");
    assert!(
        out.contains("  = evidence: verified by source (private-api.md §10 #1"),
        "{out}"
    );
    assert!(out.contains("  = hint: pass the axis as a scalar"), "{out}");
    let err = String::from_utf8(a.get_output().stderr.clone()).unwrap();
    assert_eq!(
        err,
        format!("error: {f}: M4 (H16): 1 lint finding(s), 1 error(s), 0 warning(s)\n")
    );
}

#[test]
fn warnings_only_exit_0_with_a_summary() {
    let f = root().join("examples/cnn/model.mil").display().to_string();
    let a = ane()
        .args(["lint", &f, "--target", "m1"])
        .assert()
        .success();
    let out = stdout(&a);
    assert!(
        out.starts_with(&format!("{f}:4:5: warning[dialect-chip]: ")),
        "{out}"
    );
    assert!(out.ends_with(&format!(
        "{f}: M1 (H13): 1 lint finding(s), 0 error(s), 1 warning(s)\n"
    )));
}

#[test]
fn json_lists_findings_with_positions() {
    let f = fixture("fp16-io-required", "fail");
    let a = ane()
        .args(["lint", &f, "--target", "m2", "--json"])
        .assert()
        .code(1);
    let v: serde_json::Value = serde_json::from_str(&stdout(&a)).unwrap();
    assert_eq!(v["target"]["id"], "m2");
    assert_eq!(v["target"]["generation"], "H14");
    assert_eq!(v["kind"], "mil");
    assert_eq!(v["ok"], false);
    assert_eq!(v["errors"], 2);
    let findings = v["findings"].as_array().unwrap();
    let ids: Vec<&str> = findings
        .iter()
        .map(|f| f["lint"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["fp16-io-required", "fp16-io-required"]);
    assert_eq!(findings[0]["severity"], "error");
    assert_eq!(findings[0]["evidence"], "source");
    assert_eq!(
        (findings[0]["line"].as_u64(), findings[0]["col"].as_u64()),
        (Some(3), Some(44))
    );
    assert_eq!(
        findings[0]["snippet"],
        "func main<ios16>(tensor<fp32, [1, 64]> x) {"
    );
}

#[test]
fn compiles_option_drives_the_budget_lint() {
    let f = fixture("compile-budget", "fail");
    ane()
        .args(["lint", &f, "--target", "m4", "--compiles", "60"])
        .assert()
        .success();
    let a = ane()
        .args(["lint", &f, "--target", "m4", "--compiles", "120", "--json"])
        .assert()
        .code(1);
    let v: serde_json::Value = serde_json::from_str(&stdout(&a)).unwrap();
    assert_eq!(v["findings"][0]["lint"], "compile-budget");
}

#[test]
fn mlmodelc_folder_and_mlpackage_are_linted() {
    let dir = tempfile::tempdir().unwrap();
    let modelc = dir.path().join("m.mlmodelc");
    std::fs::create_dir(&modelc).unwrap();
    std::fs::copy(
        fixture("sdpa-mask-ignored", "fail"),
        modelc.join("model.mil"),
    )
    .unwrap();
    let a = ane()
        .args(["lint", modelc.to_str().unwrap(), "--target", "m5", "--json"])
        .assert()
        .code(1);
    let v: serde_json::Value = serde_json::from_str(&stdout(&a)).unwrap();
    assert_eq!(v["kind"], "mlmodelc");
    assert_eq!(v["findings"][0]["lint"], "sdpa-mask-ignored");

    // An .mlpackage written by `ane convert` from the bundled CNN example.
    let pkg = dir.path().join("cnn.mlpackage");
    let cnn = root().join("examples/cnn/model.mil");
    ane()
        .args([
            "convert",
            cnn.to_str().unwrap(),
            "-o",
            pkg.to_str().unwrap(),
        ])
        .assert()
        .success();
    let a = ane()
        .args(["lint", pkg.to_str().unwrap(), "--target", "m4max", "--json"])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_str(&stdout(&a)).unwrap();
    assert_eq!(v["kind"], "mlpackage");
    assert_eq!(v["ok"], true);
    assert_eq!(v["findings"].as_array().unwrap().len(), 0);
    let a = ane()
        .args(["lint", pkg.to_str().unwrap(), "--target", "m2", "--json"])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_str(&stdout(&a)).unwrap();
    assert_eq!(v["findings"][0]["lint"], "dialect-chip");
}

#[test]
fn unknown_target_and_missing_model_are_one_line_errors() {
    let f = fixture("dialect-chip", "pass");
    let a = ane()
        .args(["lint", &f, "--target", "m9"])
        .assert()
        .failure();
    let err = String::from_utf8(a.get_output().stderr.clone()).unwrap();
    assert!(
        err.starts_with("error: unknown --target m9; one of: m1, m1pro,"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
    let missing = Path::new("/nonexistent/x.mil");
    ane()
        .args(["lint", missing.to_str().unwrap(), "--target", "m4"])
        .assert()
        .failure()
        .stderr(predicates::str::starts_with(
            "error: cannot read /nonexistent/x.mil",
        ));
}

#[test]
fn a_compiled_coremltools_mlmodelc_is_lint_clean() {
    // coremltools' add_model.mlmodelc (program 1.0, ios16, fp16 I/O) from the corpus: clean on
    // M1 and on M4 (an older dialect on a newer chip is not flagged).
    let Some((_tmp, b)) = common::corpus_add_model_mlmodelc() else {
        return;
    };
    for chip in ["m1", "m4"] {
        let a = ane()
            .args(["lint", b.to_str().unwrap(), "--target", chip, "--json"])
            .assert()
            .success();
        let v: serde_json::Value = serde_json::from_str(&stdout(&a)).unwrap();
        assert_eq!(v["kind"], "mlmodelc");
        assert_eq!(v["ok"], true);
        assert_eq!(v["errors"], 0);
        assert_eq!(v["findings"].as_array().unwrap().len(), 0, "{chip}");
    }
}
