//! `ane mil check` end to end: exit codes, exact summary and diagnostic lines, JSON fields,
//! weights auto-detection and BLOBFILE errors.

use anekit_core::TensorData;
use assert_cmd::Command;
use std::path::Path;

const VALID: &str = "program(1.3)\n{\n    func main<ios18>(tensor<fp16, [1, 4]> x) {\n            tensor<fp16, [1, 4]> y = relu(x = x);\n        } -> (y);\n}";
const UNKNOWN_OP: &str = "program(1.3)\n{\n    func main<ios18>(tensor<fp16, [1, 4]> x) {\n            tensor<fp16, [1, 4]> y = frobnicate(x = x);\n        } -> (y);\n}";
const WITH_BLOB: &str = "program(1.3)\n{\n    func main<ios18>(tensor<fp16, [1, 3]> x) {\n            tensor<fp16, [1, 3]> b = const()[name = string(\"b\"), val = tensor<fp16, [1, 3]>(BLOBFILE(path = string(\"@model_path/weights/weight.bin\"), offset = uint64(64)))];\n            tensor<fp16, [1, 3]> y = add(x = x, y = b);\n        } -> (y);\n}";

fn ane() -> Command {
    Command::cargo_bin("ane").unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

fn weights(dir: &Path, data: TensorData) {
    let mut w = anekit_blob::BlobWriter::new();
    assert_eq!(w.add(&data).unwrap(), 64);
    std::fs::create_dir_all(dir.join("weights")).unwrap();
    std::fs::write(dir.join("weights/weight.bin"), w.finish()).unwrap();
}

fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(a.get_output().stdout.clone()).unwrap()
}

#[test]
fn valid_program_prints_one_summary_line() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "model.mil", VALID);
    let a = ane().args(["mil", "check", &f]).assert().success();
    assert_eq!(
        stdout(&a),
        format!("{f}: valid: 1 function(s), 1 op(s), 2 value(s), no BLOBFILE constants\n")
    );
}

#[test]
fn invalid_program_prints_located_diagnostics_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "bad.mil", UNKNOWN_OP);
    let a = ane().args(["mil", "check", &f]).assert().code(1);
    let out = stdout(&a);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "{f}:4:38: error[E-unknown-op]: unknown op `frobnicate` (not in the iOS15-iOS18 registry)"
        )
    );
    assert_eq!(lines[1], "  |");
    assert_eq!(
        lines[2],
        "4 |             tensor<fp16, [1, 4]> y = frobnicate(x = x);"
    );
    assert_eq!(
        lines[3],
        format!("  | {}{}", " ".repeat(37), "^".repeat("frobnicate".len()))
    );
    let err = String::from_utf8(a.get_output().stderr.clone()).unwrap();
    assert_eq!(
        err,
        format!("error: {f}: invalid: 1 error(s), 0 warning(s), 0 note(s)\n")
    );
}

#[test]
fn json_lists_every_diagnostic_with_position() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "bad.mil", UNKNOWN_OP);
    let a = ane().args(["--json", "mil", "check", &f]).assert().code(1);
    let v: serde_json::Value = serde_json::from_str(&stdout(&a)).unwrap();
    assert_eq!(v["file"], f.as_str());
    assert_eq!(v["valid"], false);
    assert_eq!(v["errors"], 1);
    let d = &v["diagnostics"][0];
    assert_eq!(d["severity"], "error");
    assert_eq!(d["code"], "E-unknown-op");
    assert_eq!((d["line"].as_u64(), d["col"].as_u64()), (Some(4), Some(38)));
    assert_eq!(
        d["offset"].as_u64().unwrap() as usize,
        UNKNOWN_OP.find("frobnicate").unwrap()
    );
    assert_eq!(d["len"], 10);
    assert_eq!(v["diagnostics"].as_array().unwrap().len(), 1);
}

#[test]
fn json_valid_program() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "model.mil", VALID);
    let a = ane()
        .args(["--json", "mil", "check", &f])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_str(&stdout(&a)).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(
        (
            v["functions"].as_u64(),
            v["ops"].as_u64(),
            v["values"].as_u64()
        ),
        (Some(1), Some(1), Some(2))
    );
    assert_eq!(v["diagnostics"].as_array().unwrap().len(), 0);
}

#[test]
fn weights_folder_next_to_the_file_is_used_as_model_path() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "model.mil", WITH_BLOB);
    weights(dir.path(), TensorData::F16(vec![half::f16::ONE; 3]));
    let a = ane().args(["mil", "check", &f]).assert().success();
    assert_eq!(
        stdout(&a),
        format!(
            "{f}: valid: 1 function(s), 2 op(s), 3 value(s), 1/1 BLOBFILE constants resolved\n"
        )
    );
}

#[test]
fn blob_dtype_mismatch_with_explicit_weights_dir() {
    let dir = tempfile::tempdir().unwrap();
    let model = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "model.mil", WITH_BLOB);
    weights(model.path(), TensorData::F32(vec![1.0; 3]));
    let a = ane()
        .args(["--json", "mil", "check", &f, "--weights"])
        .arg(model.path())
        .assert()
        .code(1);
    let v: serde_json::Value = serde_json::from_str(&stdout(&a)).unwrap();
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "E-blob-dtype");
    assert_eq!(d["line"], 4);
    assert_eq!(
        d["col"].as_u64().unwrap() as usize,
        WITH_BLOB.lines().nth(3).unwrap().find("BLOBFILE").unwrap() + 1
    );
    assert_eq!(v["blobs"]["checked"], true);
    assert_eq!(v["blobs"]["resolved"], 0);
}

#[test]
fn without_weights_blobfiles_are_skipped_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(dir.path(), "model.mil", WITH_BLOB);
    let a = ane().args(["mil", "check", &f]).assert().success();
    let out = stdout(&a);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with(&format!("{f}:4:")), "{out}");
    assert!(lines[0].contains("info[I-blobs-skipped]"), "{out}");
    assert_eq!(
        lines[1],
        format!(
            "{f}: valid: 1 function(s), 2 op(s), 3 value(s), 1 BLOBFILE constants not checked (no weights) (1 note(s))"
        )
    );
}

#[test]
fn unreadable_file_is_a_one_line_error() {
    ane()
        .args(["mil", "check", "/nonexistent/model.mil"])
        .assert()
        .code(1)
        .stderr(predicates::str::starts_with(
            "error: cannot read /nonexistent/model.mil:",
        ));
}

#[test]
fn syntax_error_is_reported_as_a_diagnostic() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "bad.mil",
        "program(1.3)\n{\n    func main<ios18>() {\n",
    );
    let a = ane().args(["--json", "mil", "check", &f]).assert().code(1);
    let v: serde_json::Value = serde_json::from_str(&stdout(&a)).unwrap();
    assert_eq!(v["diagnostics"][0]["code"], "E-parse");
    assert_eq!(v["functions"], 0);
}
