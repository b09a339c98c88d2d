//! `ane inspect` end to end on the bundled examples (their content is fixed by
//! examples/gen_examples.py) and on bad input.

mod common;

use assert_cmd::Command;
use serde_json::Value;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn ane() -> Command {
    let mut cmd = Command::cargo_bin("ane").unwrap();
    cmd.current_dir(root());
    cmd
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
fn mil_summary_of_the_transformer_example() {
    let v = json(&["inspect", "examples/transformer_block/model.mil"]);
    assert_eq!(v["kind"], "mil-text");
    assert_eq!(v["version"], "1.3");
    assert_eq!(v["build_info"]["anekit-example"], "1");
    let f = &v["functions"][0];
    assert_eq!(f["name"], "main");
    assert_eq!(f["opset"], "ios18");
    assert_eq!(f["inputs"][0]["name"], "x");
    assert_eq!(f["inputs"][0]["type"], "tensor<fp16, [1, 64, 1, 32]>");
    assert_eq!(f["outputs"][0]["name"], "y");
    assert_eq!(f["outputs"][0]["type"], "tensor<fp16, [1, 64, 1, 32]>");
    // The generator emits 7 convolutions (q, k, v, o, gate, up, down) and 2 matmuls.
    let ops: Vec<(String, u64)> = f["ops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_str().unwrap().to_string(), p[1].as_u64().unwrap()))
        .collect();
    assert!(ops.contains(&("conv".into(), 7)), "{ops:?}");
    assert!(ops.contains(&("matmul".into(), 2)), "{ops:?}");
    assert!(ops.contains(&("softmax".into(), 1)), "{ops:?}");
    // 2 gammas (64) + 4 attention projections (64x64) + 3 FFN (128x64) + mask (32x32) = 10 blobs.
    let blobs = f["blobs"].as_array().unwrap();
    assert_eq!(blobs.len(), 10);
    assert_eq!(blobs[0]["offset"], 64);
    assert_eq!(blobs[0]["elements"], 64);
}

#[test]
fn blob_offsets_in_the_program_match_the_weight_file() {
    let mil = json(&["inspect", "examples/transformer_block/model.mil"]);
    let mut from_mil: Vec<u64> = mil["functions"][0]["blobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["offset"].as_u64().unwrap())
        .collect();
    from_mil.sort_unstable();
    let bin = json(&["inspect", "examples/transformer_block/weights/weight.bin"]);
    let text = bin.to_string();
    for off in &from_mil {
        assert!(
            text.contains(&off.to_string()),
            "offset {off} not in blob table {text}"
        );
    }
}

#[test]
fn npy_summary_matches_numpy() {
    // numpy: float16 (1, 3, 32, 32) min -3.1953125 max 3.3828125
    let v = json(&["inspect", "examples/cnn/reference/input_image.npy"]);
    assert_eq!(v["dtype"], "fp16");
    assert_eq!(v["shape"], serde_json::json!([1, 3, 32, 32]));
    assert_eq!(v["elements"], 3072);
    assert_eq!(v["min"], -3.1953125);
    assert_eq!(v["max"], 3.3828125);
}

#[test]
fn folder_listing_names_each_file_kind() {
    let v = json(&["inspect", "examples/cnn"]);
    assert_eq!(v["kind"], "ml-modelc");
    let files = v["files"].as_array().unwrap();
    let kind_of = |p: &str| {
        files
            .iter()
            .find(|f| f["path"] == p)
            .map(|f| f["kind"].as_str().unwrap().to_string())
    };
    assert_eq!(kind_of("model.mil").as_deref(), Some("mil-text"));
    assert_eq!(
        kind_of("weights/weight.bin").as_deref(),
        Some("blob-storage")
    );
    assert_eq!(kind_of("reference/input_image.npy").as_deref(), Some("npy"));
}

#[test]
fn unknown_and_missing_files_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.dat");
    std::fs::write(&junk, b"\x00\x01\x02 not a format").unwrap();
    let out = ane().arg("inspect").arg(&junk).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("not a format anekit knows"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");

    let out = ane()
        .args(["inspect", "no/such/file.mil"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("no/such/file.mil"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}

#[test]
fn json_errors_are_a_document_on_stdout() {
    let out = ane()
        .args(["inspect", "no/such/file.mil", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no/such/file.mil")
    );
}

#[test]
fn mil_syntax_error_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.mil");
    std::fs::write(
        &bad,
        "program(1.3)\n{\n    func main<ios18>(fp16 x) {\n        } -> (x)\n}",
    )
    .unwrap();
    let out = ane().arg("inspect").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("bad.mil:5:1"), "{err}");
}

/// An .mlmodelc folder: the file listing plus what anekit-coreml reads of the bundle
/// (flavour, metadata.json inputs/outputs, the model.mil functions). On coremltools'
/// `add_model.mlmodelc` from the corpus (members stored flattened, rebuilt in a temp dir).
#[test]
fn mlmodelc_summary_has_flavour_schema_and_functions() {
    let v = json(&["inspect", "examples/cnn"]);
    assert_eq!(v["modelc"]["flavour"], "mlProgram");
    assert_eq!(v["modelc"]["functions"][0]["name"], "main");
    assert_eq!(
        v["modelc"]["functions"][0]["inputs"][0]["type"],
        "tensor<fp16, [1, 3, 32, 32]>"
    );
    let Some((_tmp, b)) = common::corpus_add_model_mlmodelc() else {
        return;
    };
    let bs = b.display().to_string();
    let v = json(&["inspect", &bs]);
    assert_eq!(v["kind"], "ml-modelc");
    let m = &v["modelc"];
    assert_eq!(m["flavour"], "mlProgram");
    assert_eq!(m["specification_version"], 7);
    let names = |k: &str| -> Vec<String> {
        m[k].as_array()
            .unwrap()
            .iter()
            .map(|e| format!("{} {} {}", e["name"], e["type"], e["shape"]))
            .collect()
    };
    assert_eq!(
        names("inputs"),
        [
            r#""x" "MultiArray (Float16 1 × 10)" "[1, 10]""#,
            r#""y" "MultiArray (Float16 1 × 10)" "[1, 10]""#
        ]
    );
    assert_eq!(
        names("outputs"),
        [r#""var_3" "MultiArray (Float16 1 × 10)" "[1, 10]""#]
    );
    let f = &m["functions"][0];
    assert_eq!(f["opset"], "ios16");
    assert_eq!(f["statements"], 1);
    assert_eq!(f["ops"], serde_json::json!([["mul", 1]]));
    let o = ane().args(["inspect", &bs]).output().unwrap();
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.contains("  flavour mlProgram, specification version 7\n")
            && text.contains(
                "  function main<ios16>(x: tensor<fp16, [1, 10]>, y: tensor<fp16, [1, 10]>) -> (var_3: tensor<fp16, [1, 10]>): 1 statements\n"
            ),
        "{text}"
    );
}
