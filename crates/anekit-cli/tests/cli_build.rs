//! `ane build` and `ane opt` end to end: the written programs pass `ane mil check`, run under
//! `ane run`, and `opt --verify` reports the executor difference.

use assert_cmd::Command;
use serde_json::Value;

fn ane() -> Command {
    Command::cargo_bin("ane").unwrap_or_else(|e| panic!("ane binary: {e}"))
}

fn json(args: &[&str]) -> Value {
    let out = ane().args(args).arg("--json").output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn summary_of_the_notes_cnn_without_writing_anything() {
    let v = json(&["build", "notes-cnn", "--summary"]);
    let s = &v["summary"];
    assert_eq!(s["total_descriptor_bytes"], 944);
    assert_eq!(s["layers"].as_array().unwrap().len(), 9);
    assert_eq!(s["layers"][0]["name"], "conv1");
    assert_eq!(
        s["layers"][0]["output_shape"],
        serde_json::json!([1, 64, 112, 112])
    );
    assert_eq!(s["layers"][0]["descriptor"], "ANECConvLayerDesc");
    assert_eq!(v["inputs"][0]["dtype"], "fp32");
    let human = ane()
        .args(["build", "notes-cnn", "--summary", "--target", "m1"])
        .output()
        .unwrap();
    let text = String::from_utf8(human.stdout).unwrap();
    assert!(text.contains("Total descriptor bytes: 944"), "{text}");
    assert!(text.contains("input image: fp16[1, 3, 224, 224]"), "{text}");
}

#[test]
fn build_check_run_for_m1_and_m4() {
    for chip in ["m1", "m4"] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("cnn");
        let out_s = out.to_str().unwrap();
        let v = json(&["build", "notes-cnn-tiny", "--target", chip, "-o", out_s]);
        assert_eq!(v["ops"], 9);
        let mil = out.join("model.mil");
        let text = std::fs::read_to_string(&mil).unwrap();
        let header = if chip == "m1" {
            "program(1.0)\n"
        } else {
            "program(1.3)\n"
        };
        assert!(text.starts_with(header));
        ane().args(["mil", "check"]).arg(&mil).assert().success();
        let run = json(&["run", mil.to_str().unwrap()]);
        let outputs = run["outputs"].as_array().unwrap();
        assert_eq!(outputs.len(), 1);
        assert_eq!(outputs[0]["name"], "softmax");
    }
}

#[test]
fn opt_verifies_against_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    json(&[
        "build",
        "notes-attention-tiny",
        "--target",
        "m4",
        "-o",
        src.to_str().unwrap(),
    ]);
    let out = dir.path().join("opt");
    let v = json(&[
        "opt",
        src.join("model.mil").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--passes",
        "linear-to-conv,transpose-cancel,reshape-cancel,dce",
        "--verify",
    ]);
    // One rewrite per `linear` of the source program (its QKV and output projections).
    let linears = std::fs::read_to_string(src.join("model.mil"))
        .unwrap()
        .matches(" = linear(")
        .count();
    assert_eq!(linears, 2);
    assert_eq!(v["passes"][0]["pass"], "linear-to-conv");
    assert_eq!(v["passes"][0]["rewrites"], linears);
    let rel = v["verify"]["max_rel_diff"].as_f64().unwrap();
    assert!(rel < 1e-2, "{rel}");
    let text = std::fs::read_to_string(out.join("model.mil")).unwrap();
    assert!(!text.contains(" = linear("));
    ane()
        .args(["mil", "check"])
        .arg(out.join("model.mil"))
        .assert()
        .success();
}

#[test]
fn errors_are_one_line() {
    let out = ane().args(["build", "resnet"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("error: unknown model `resnet` (known: notes-cnn,"),
        "{err}"
    );
    let out = ane()
        .args(["build", "notes-cnn", "--target", "m9", "--summary"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .starts_with("error: unknown chip `m9`")
    );
    let out = ane().args(["build", "notes-cnn-tiny"]).output().unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("nothing to do")
    );
    let out = ane()
        .args(["opt", "/nonexistent.mil", "-o", "/tmp/x"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}
