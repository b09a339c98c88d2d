//! `ane cost` end to end: the JSON prediction equals the model's formula evaluated by hand from
//! the committed parameters; per-op rows and totals; human table; the three input kinds.

mod common;

use assert_cmd::Command;
use std::path::PathBuf;

fn ane() -> Command {
    Command::cargo_bin("ane").unwrap()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn stdout(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(a.get_output().stdout.clone()).unwrap()
}

fn params() -> serde_json::Value {
    let p = root().join("crates/anekit-lint/src/cost_params.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn cost_json(model: &str, target: &str) -> serde_json::Value {
    let a = ane()
        .args(["cost", model, "--target", target, "--json"])
        .assert()
        .success();
    serde_json::from_str(&stdout(&a)).unwrap()
}

#[test]
fn single_conv_latency_is_dispatch_plus_compute_plus_weight_streaming() {
    // One 1x1 conv, 4096 -> 4096 channels, spatial 64: 2·4096²·64 FLOPs and 32 MiB of weights.
    let f = root().join("crates/anekit-lint/tests/fixtures/sram-budget/fail.mil");
    let v = cost_json(f.to_str().unwrap(), "m4max");
    let p = params();
    let chip = &p["chips"]["m4max"];
    let (d, tf, gbps, thr) = (
        chip["dispatch_ms"].as_f64().unwrap(),
        chip["conv_tflops"].as_f64().unwrap(),
        chip["stream_gbps"].as_f64().unwrap(),
        chip["spill_threshold_mib"].as_f64().unwrap(),
    );
    let w0 = p["globals"]["w0_mib"].as_f64().unwrap();
    assert!(32.0 < thr, "32 MiB is below the fitted spill threshold");
    let flops = 2.0 * 4096.0 * 4096.0 * 64.0;
    let expect = d + flops / (tf * 1e12) * 1e3 + (32.0 - w0) * 1048576.0 / (gbps * 1e6);
    let got = v["latency_ms"].as_f64().unwrap();
    assert!((got - expect).abs() / expect < 1e-12, "{got} vs {expect}");
    assert_eq!(v["flops"].as_f64().unwrap(), flops);
    assert_eq!(v["weight_bytes"], 2 * 4096 * 4096);
    let conv: Vec<&serde_json::Value> = v["ops"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["kind"] == "conv")
        .collect();
    assert_eq!(conv.len(), 1);
    assert_eq!(conv[0]["family"], "conv");
    assert_eq!(conv[0]["bound"], "weights");
    assert_eq!(v["target"], "m4max");
    assert_eq!(v["kind"], "mil");
}

#[test]
fn transformer_block_rows_sum_to_the_totals_and_the_table_prints() {
    let dir = root().join("examples/transformer_block");
    let v = cost_json(dir.to_str().unwrap(), "m4");
    assert_eq!(v["kind"], "mlmodelc");
    let ops = v["ops"].as_array().unwrap();
    let src = std::fs::read_to_string(dir.join("model.mil")).unwrap();
    let program = anekit_ir::check(&src).program.unwrap();
    assert_eq!(ops.len(), program.op_count());
    let sum: f64 = ops.iter().map(|o| o["time_ms"].as_f64().unwrap()).sum();
    let total = v["compute_ms"].as_f64().unwrap();
    assert!((sum - total).abs() < 1e-12);
    let latency = v["latency_ms"].as_f64().unwrap();
    assert!((latency - total - v["dispatch_ms"].as_f64().unwrap()).abs() < 1e-12);
    // Six 64/128-wide 1x1 convs over 32 positions: 4·2·64·64·32 + 3·2·64·128·32 FLOPs.
    let conv_flops: f64 = ops
        .iter()
        .filter(|o| o["kind"] == "conv")
        .map(|o| o["flops"].as_f64().unwrap())
        .sum();
    assert_eq!(
        conv_flops,
        4.0 * 2.0 * 64.0 * 64.0 * 32.0 + 3.0 * 2.0 * 64.0 * 128.0 * 32.0
    );

    let a = ane()
        .args(["cost", dir.to_str().unwrap(), "--target", "m4"])
        .assert()
        .success();
    let out = stdout(&a);
    assert!(out.contains("one evaluation on M4 (m4; "), "{out}");
    assert!(out.contains("\nffn_gate "), "{out}");
    assert!(out.contains("free ops not shown"), "{out}");
    assert!(
        out.contains(&format!("total: {} ops, ", program.op_count())),
        "{out}"
    );
    assert!(
        out.trim_end()
            .ends_with("unverified on hardware (docs/cost-model.md)")
    );
}

#[test]
fn mlpackage_input_and_unknown_target() {
    let dir = tempfile::tempdir().unwrap();
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
    let from_pkg = cost_json(pkg.to_str().unwrap(), "m1");
    let from_mil = cost_json(cnn.to_str().unwrap(), "m1");
    assert_eq!(from_pkg["kind"], "mlpackage");
    assert_eq!(from_pkg["flops"], from_mil["flops"]);
    assert_eq!(from_pkg["latency_ms"], from_mil["latency_ms"]);
    ane()
        .args(["cost", cnn.to_str().unwrap(), "--target", "m0"])
        .assert()
        .failure()
        .stderr(predicates::str::starts_with("error: unknown --target m0"));
}

#[test]
fn mlmodelc_folders_are_costed_from_their_model_mil() {
    // A compiled-model folder (examples/cnn holds model.mil + weights/) costs exactly as its
    // model.mil.
    let folder = root().join("examples/cnn");
    let from_dir = cost_json(folder.to_str().unwrap(), "m4");
    let from_mil = cost_json(folder.join("model.mil").to_str().unwrap(), "m4");
    assert_eq!(from_dir["kind"], "mlmodelc");
    assert_eq!(from_dir["flops"], from_mil["flops"]);
    assert_eq!(from_dir["latency_ms"], from_mil["latency_ms"]);
    // coremltools' compiled add_model.mlmodelc from the corpus (members stored flattened):
    // one fp16 mul of two [1, 10] inputs, 10 FLOPs, no weights; latency = dispatch + the op.
    let Some((_tmp, b)) = common::corpus_add_model_mlmodelc() else {
        return;
    };
    let v = cost_json(b.to_str().unwrap(), "m1");
    assert_eq!(v["kind"], "mlmodelc");
    assert_eq!(v["validation_errors"], 0);
    assert_eq!(v["flops"], 10.0);
    assert_eq!(v["weight_bytes"], 0);
    let ops = v["ops"].as_array().unwrap();
    assert_eq!(ops.len(), 1);
    assert_eq!(ops[0]["kind"], "mul");
    let dispatch = params()["chips"]["m1"]["dispatch_ms"].as_f64().unwrap();
    let latency = v["latency_ms"].as_f64().unwrap();
    let op = ops[0]["time_ms"].as_f64().unwrap();
    assert!(
        (latency - (dispatch + op)).abs() < 1e-12,
        "{latency} vs {dispatch} + {op}"
    );
}
