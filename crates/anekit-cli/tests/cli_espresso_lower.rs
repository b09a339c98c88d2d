//! `ane espresso lower NET -o DIR` on the Chiron bundle of the corpus, and its errors.

use anekit_core::corpus::corpus_dir;
use assert_cmd::Command;
use predicates::prelude::*;

fn ane() -> Command {
    Command::cargo_bin("ane").unwrap()
}

#[test]
fn lower_chiron_writes_a_checked_model() {
    let Some(dir) =
        corpus_dir("espresso").map(|d| d.join("ameeSun__Chiron-Swift-Student-Challenge"))
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("chiron");
    let assert = ane()
        .args(["--json", "espresso", "lower"])
        .arg(&dir)
        .arg("-o")
        .arg(&out)
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&assert.get_output().stdout).unwrap();
    assert_eq!(v["layers"], 14);
    // 19 op statements (14 layers, 5 fused relus) and 12 weight consts.
    assert_eq!(v["statements"], 31);
    assert_eq!(v["inputs"][0]["blob"], "input_1");
    assert_eq!(v["inputs"][0]["shape"], serde_json::json!([1, 128, 128, 1]));
    assert_eq!(v["outputs"][0]["blob"], "Identity");
    assert_eq!(v["outputs"][0]["shape"], serde_json::json!([1, 1, 1, 2]));
    // The weights: 64-byte header, then per blob 64 bytes of metadata + the fp32 payload
    // aligned to 64 (12 consts, 238,272 floats in all).
    let bin = std::fs::read(out.join("weights/weight.bin")).unwrap();
    assert_eq!(bin.len() as u64, v["weight_bytes"].as_u64().unwrap());
    assert_eq!(&bin[..4], &12u32.to_le_bytes());
    ane()
        .args(["mil", "check"])
        .arg(out.join("model.mil"))
        .arg("--weights")
        .arg(&out)
        .assert()
        .success();
    // Human output names the files.
    ane()
        .args(["espresso", "lower"])
        .arg(&dir)
        .arg("-o")
        .arg(tmp.path().join("again"))
        .assert()
        .success()
        .stdout(predicate::str::contains("14 layers -> 31 MIL statements"))
        .stdout(predicate::str::contains(
            "input  input_1 (blob `input_1`) fp32 [1, 128, 128, 1]",
        ));
}

#[test]
fn lower_unsupported_layer_is_one_line_error() {
    let tmp = tempfile::tempdir().unwrap();
    let net = tmp.path().join("model.espresso.net");
    std::fs::write(
        &net,
        r#"{"layers":[{"name":"up","type":"upsample","bottom":"x","top":"y","weights":{}}]}"#,
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("model.espresso.shape"),
        r#"{"layer_shapes":{"x":{"n":1,"k":1,"h":2,"w":2}}}"#,
    )
    .unwrap();
    ane()
        .args(["espresso", "lower"])
        .arg(&net)
        .arg("-o")
        .arg(tmp.path().join("out"))
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "layer `up` (type `upsample`): layer type not supported by the lowering",
        ));
}
