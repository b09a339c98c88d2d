//! End-to-end tests of `ane mil fmt`.

use assert_cmd::Command;
use std::path::Path;

const HAND_WRITTEN: &str = "program(1.3)\n{\n  func main<ios18>(tensor<fp16, [1,4]> x) {\n    tensor<int32, [2]> s = const()[name=string(\"s\"), val=tensor<int32, [2]>([1,2])];\n    tensor<fp16, [1,2]> y = slice_by_size(x=x,size=s,begin=s)[name=string(\"y\")];\n  } -> (y);\n}\n";

const CANONICAL_1_3: &str = "program(1.3)\n{\n    func main<ios18>(tensor<fp16, [1, 4]> x) {\n            tensor<int32, [2]> s = const()[name = string(\"s\"), val = tensor<int32, [2]>([1, 2])];\n            tensor<fp16, [1, 2]> y = slice_by_size(begin = s, size = s, x = x)[name = string(\"y\")];\n        } -> (y);\n}\n";

const CANONICAL_1_0: &str = "program(1.0)\n{\n    func main<ios18>(tensor<fp16, [1, 4]> x) {\n            tensor<int32, [2]> s = const()[name = tensor<string, []>(\"s\"), val = tensor<int32, [2]>([1, 2])];\n            tensor<fp16, [1, 2]> y = slice_by_size(begin = s, size = s, x = x)[name = tensor<string, []>(\"y\")];\n        } -> (y);\n}\n";

fn ane() -> Command {
    Command::cargo_bin("ane").unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn prints_canonical_text_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "a.mil", HAND_WRITTEN);
    let out = ane().args(["mil", "fmt", &file]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), CANONICAL_1_3);
}

#[test]
fn converts_dialects_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "a.mil", HAND_WRITTEN);
    let out = ane()
        .args(["mil", "fmt", &file, "--dialect", "1.0"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), CANONICAL_1_0);
    let verbose = write(dir.path(), "v.mil", CANONICAL_1_0);
    let out = ane()
        .args(["mil", "fmt", &verbose, "--dialect", "1.3"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), CANONICAL_1_3);
    ane()
        .args(["mil", "fmt", &file, "--dialect", "1.5"])
        .assert()
        .failure();
}

#[test]
fn check_passes_on_canonical_and_fails_with_position_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.mil", CANONICAL_1_3);
    let out = ane()
        .args(["mil", "fmt", "--check", &good])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{good}: canonical\n")
    );

    let bad = write(dir.path(), "bad.mil", HAND_WRITTEN);
    let out = ane()
        .args(["mil", "fmt", "--check", &bad])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        format!("error: {bad}:3:3: not canonical MIL text (run `ane mil fmt {bad} -o {bad}`)\n")
    );
    // Canonical for 1.3 is not canonical for 1.0.
    ane()
        .args(["mil", "fmt", "--check", "--dialect", "1.0", &good])
        .assert()
        .code(1);
}

#[test]
fn writes_output_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "a.mil", HAND_WRITTEN);
    let out_path = dir.path().join("b.mil").display().to_string();
    let out = ane()
        .args(["mil", "fmt", &file, "-o", &out_path])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{file} -> {out_path}: reformatted, program(1.3)\n")
    );
    assert_eq!(std::fs::read_to_string(&out_path).unwrap(), CANONICAL_1_3);
    // In place, then it is canonical.
    ane()
        .args(["mil", "fmt", &file, "-o", &file])
        .assert()
        .success();
    ane()
        .args(["mil", "fmt", "--check", &file])
        .assert()
        .success();
}

#[test]
fn json_document() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "a.mil", HAND_WRITTEN);
    let out = ane()
        .args(["--json", "mil", "fmt", &file, "--dialect", "1.0"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["file"], file.as_str());
    assert_eq!(doc["dialect"], "1.0");
    assert_eq!(doc["canonical"], false);
    assert_eq!(doc["output"], serde_json::Value::Null);
    assert_eq!(doc["text"], CANONICAL_1_0);

    let good = write(dir.path(), "good.mil", CANONICAL_1_3);
    let out = ane()
        .args(["--json", "mil", "fmt", "--check", &good])
        .output()
        .unwrap();
    assert!(out.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["canonical"], true);
    assert_eq!(doc["dialect"], "1.3");
    assert_eq!(doc["text"], serde_json::Value::Null);
}

#[test]
fn parse_errors_are_one_line_with_position() {
    let dir = tempfile::tempdir().unwrap();
    let text = "program(1.3)\n{\n    func main<ios18>(tensor<fp16, [1]> x) {\n            tensor<fp16, [1]> y = relu(x = x;\n        } -> (y);\n}";
    let file = write(dir.path(), "broken.mil", text);
    let out = ane().args(["mil", "fmt", &file]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        format!("error: {file}:4:45: expected `)` after argument list, found `;`\n")
    );
    let out = ane()
        .args(["--json", "mil", "fmt", &file])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["error"]["message"],
        format!("{file}:4:45: expected `)` after argument list, found `;`")
    );
}

#[test]
fn unreadable_and_non_utf8_files_fail() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.mil").display().to_string();
    let out = ane().args(["mil", "fmt", &missing]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with(&format!("error: cannot read {missing}: ")),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);

    let bin = dir.path().join("bin.mil");
    std::fs::write(&bin, b"program(1.3)\xff").unwrap();
    let bin = bin.display().to_string();
    let out = ane().args(["mil", "fmt", &bin]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        format!("error: {bin}: not UTF-8 text (invalid byte at offset 12)\n")
    );
}

#[test]
fn byte_exact_corpus_file_is_already_canonical() {
    let Some(dir) = anekit_core::corpus::corpus_dir("mil") else {
        return;
    };
    let file = dir.join("FluidInference__FluidAudio/Models__ParakeetEOU__Streaming__1280ms__decoder.mlmodelc__model.mil");
    let file = file.display().to_string();
    let out = ane()
        .args(["mil", "fmt", "--check", &file])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{file}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Converting the 1.0 file to 1.3 and back gives the original bytes.
    let tmp = tempfile::tempdir().unwrap();
    let compact = tmp.path().join("c.mil").display().to_string();
    ane()
        .args(["mil", "fmt", &file, "--dialect", "1.3", "-o", &compact])
        .assert()
        .success();
    let out = ane()
        .args(["mil", "fmt", &compact, "--dialect", "1.0"])
        .output()
        .unwrap();
    assert_eq!(
        out.stdout,
        std::fs::read(&file).unwrap(),
        "{file}: 1.0 -> 1.3 -> 1.0 changed bytes"
    );
}
