//! End-to-end tests of `ane run` on the bundled examples (examples/gen_examples.py writes their
//! numpy float32 reference outputs) and its errors.
//!
//! Tolerances (the outputs are fp16; docs/run.md explains them):
//! - `--numerics exact`: f32 throughout, the output rounded once to fp16 at the end, so each
//!   element is within half an fp16 ulp of numpy (`2^-11·|ref|`) plus 1e-5 of f32 slack.
//! - `--numerics ane` (every op rounded to fp16): transformer block (values up to ≈5, 20 ops in
//!   a chain) within 1e-2 absolute; CNN softmax probabilities (≈0.1) within 2.5e-4 absolute
//!   (two fp16 ulps at 0.1–0.25).

mod common;

use anekit_core::TensorData;
use anekit_core::npy::{read_npy, write_npy};
use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn ane() -> Command {
    let mut c = Command::cargo_bin("ane").unwrap_or_else(|e| panic!("ane binary: {e}"));
    c.current_dir(root());
    c
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn npy(path: &Path) -> (Vec<u64>, TensorData) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let a = read_npy(&bytes).unwrap();
    (a.shape, a.data)
}

/// Run `ane run <example> --input NAME=reference/input_NAME.npy --out DIR`, return the output.
fn run_example(example: &str, input: &str, output: &str, numerics: &str) -> (Vec<u64>, Vec<f32>) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = format!("examples/{example}");
    let o = ane()
        .args(["run", &dir, "--input"])
        .arg(format!("{input}={dir}/reference/input_{input}.npy"))
        .arg("--out")
        .arg(tmp.path())
        .args(["--numerics", numerics, "--backend", "cpu"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8(o.stdout).unwrap();
    assert!(
        stdout.contains(&format!("backend cpu, numerics {numerics}")),
        "{stdout}"
    );
    let (shape, data) = npy(&tmp.path().join(format!("{output}.npy")));
    assert_eq!(
        data.dtype(),
        anekit_core::DType::Fp16,
        "declared output dtype"
    );
    (shape, data.to_f32())
}

fn reference(example: &str, output: &str) -> (Vec<u64>, Vec<f32>) {
    let (shape, data) =
        npy(&root().join(format!("examples/{example}/reference/output_{output}.npy")));
    (shape, data.to_f32())
}

/// Largest |got - want| and whether every element is within `tol(want)`.
fn compare(got: &[f32], want: &[f32], tol: impl Fn(f32) -> f32) -> (f32, Vec<usize>) {
    assert_eq!(got.len(), want.len());
    let mut worst = 0f32;
    let mut bad = Vec::new();
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let d = (g - w).abs();
        worst = worst.max(d);
        if d.is_nan() || d > tol(w) {
            bad.push(i);
        }
    }
    (worst, bad)
}

const HALF_ULP_FP16: f32 = 1.0 / 2048.0;

#[test]
fn transformer_block_matches_numpy_in_both_numerics_modes() {
    let (ref_shape, want) = reference("transformer_block", "y");
    let mut results = Vec::new();
    for (mode, tol) in [
        (
            "exact",
            Box::new(|w: f32| HALF_ULP_FP16 * w.abs() + 1e-5) as Box<dyn Fn(f32) -> f32>,
        ),
        ("ane", Box::new(|_| 1e-2)),
    ] {
        let (shape, got) = run_example("transformer_block", "x", "y", mode);
        assert_eq!(shape, ref_shape);
        assert_eq!(shape, vec![1, 64, 1, 32]);
        let (worst, bad) = compare(&got, &want, tol);
        assert!(
            bad.is_empty(),
            "{mode}: {} of {} elements out of tolerance (worst {worst}), first at {:?}",
            bad.len(),
            got.len(),
            bad.first()
        );
        results.push(got);
    }
    // fp16 rounding after every op really happens in `ane` mode and not in `exact` mode.
    assert_ne!(
        results[0], results[1],
        "ane and exact numerics agree bit for bit"
    );
}

#[test]
fn cnn_matches_numpy_in_both_numerics_modes() {
    let (ref_shape, want) = reference("cnn", "probs");
    for (mode, tol) in [
        (
            "exact",
            Box::new(|w: f32| HALF_ULP_FP16 * w.abs() + 1e-5) as Box<dyn Fn(f32) -> f32>,
        ),
        ("ane", Box::new(|_| 2.5e-4)),
    ] {
        let (shape, got) = run_example("cnn", "image", "probs", mode);
        assert_eq!(shape, ref_shape);
        assert_eq!(shape, vec![1, 10]);
        let (worst, bad) = compare(&got, &want, tol);
        assert!(bad.is_empty(), "{mode}: worst error {worst} at {bad:?}");
        let sum: f32 = got.iter().sum();
        assert!((sum - 1.0).abs() < 5e-3, "{mode}: softmax sums to {sum}");
    }
}

#[test]
fn a_mil_file_runs_with_its_folder_as_model_path() {
    let tmp = tempfile::tempdir().unwrap();
    let o = ane()
        .args(["run", "examples/cnn/model.mil", "-i"])
        .arg("image=examples/cnn/reference/input_image.npy")
        .arg("--out")
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (_, want) = reference("cnn", "probs");
    let (_, got) = npy(&tmp.path().join("probs.npy"));
    let (worst, bad) = compare(&got.to_f32(), &want, |_| 2.5e-4);
    assert!(bad.is_empty(), "worst {worst}");
}

#[test]
fn json_report_has_the_documented_fields() {
    let o = ane()
        .args([
            "run",
            "examples/transformer_block",
            "--repeat",
            "3",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["model"], "examples/transformer_block");
    assert_eq!(v["model_kind"], "folder");
    assert_eq!(v["function"], "main");
    assert_eq!(v["backend"], "cpu");
    assert_eq!(v["numerics"], "ane");
    assert_eq!(v["weights"]["kind"], "files");
    assert_eq!(v["weights"]["root"], "examples/transformer_block");
    let inputs = v["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 1);
    assert_eq!(inputs[0]["name"], "x");
    assert_eq!(inputs[0]["dtype"], "fp16");
    assert_eq!(inputs[0]["shape"], serde_json::json!([1, 64, 1, 32]));
    assert_eq!(
        inputs[0]["source"],
        serde_json::json!({"kind": "random", "seed": 0, "defaulted": true})
    );
    let outputs = v["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), 1);
    let y = &outputs[0];
    assert_eq!(y["name"], "y");
    assert_eq!(y["dtype"], "fp16");
    assert_eq!(y["shape"], serde_json::json!([1, 64, 1, 32]));
    let (min, max, mean) = (
        y["min"].as_f64().unwrap(),
        y["max"].as_f64().unwrap(),
        y["mean"].as_f64().unwrap(),
    );
    assert!(min < mean && mean < max, "{min} {mean} {max}");
    assert_eq!((y["nan"].as_u64(), y["inf"].as_u64()), (Some(0), Some(0)));
    assert!(y.get("file").is_none(), "no --out, no file");
    let t = &v["timing"];
    assert_eq!(t["repeat"], 3);
    let (median, tmin) = (
        t["median_ms"].as_f64().unwrap(),
        t["min_ms"].as_f64().unwrap(),
    );
    assert!(tmin > 0.0 && tmin <= median, "{tmin} {median}");
    assert!(t["prepare_ms"].as_f64().unwrap() >= 0.0);
    assert!(v.get("profile").is_none(), "no --profile, no profile");
}

/// `--profile` times each op that runs: the CNN example's nine non-const ops, in program
/// order, grouped by kind; the human report names the slowest.
#[test]
fn profile_times_every_op_that_runs() {
    let o = ane()
        .args([
            "run",
            "examples/cnn",
            "--repeat",
            "4",
            "--profile",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let p = &v["profile"];
    assert_eq!(p["evaluations"], 4);
    let ops: Vec<&str> = p["ops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["kind"].as_str().unwrap())
        .collect();
    let src = std::fs::read_to_string(root().join("examples/cnn/model.mil")).unwrap();
    let want: Vec<&str> = src
        .lines()
        .filter_map(|l| l.split_once(" = ").map(|(_, rhs)| rhs))
        .filter_map(|rhs| rhs.split_once('(').map(|(kind, _)| kind))
        .filter(|kind| {
            *kind != "const" && kind.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
        .collect();
    assert_eq!(ops, want);
    assert_eq!(
        ops,
        [
            "conv", "relu", "max_pool", "conv", "relu", "avg_pool", "reshape", "linear", "softmax"
        ]
    );
    let first = &p["ops"][0];
    assert_eq!(first["shape"], serde_json::json!([1, 16, 32, 32]));
    let total = p["ops_total_ms"].as_f64().unwrap();
    let kind_sum: f64 = p["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["ms"].as_f64().unwrap())
        .sum();
    assert!(
        total > 0.0 && (kind_sum - total).abs() < 1e-9,
        "{kind_sum} {total}"
    );
    let conv = p["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "conv")
        .unwrap();
    assert_eq!(conv["count"], 2);

    let o = ane()
        .args(["run", "examples/cnn", "--profile"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let stdout = String::from_utf8(o.stdout).unwrap();
    assert!(stdout.contains("profile: ops sum to"), "{stdout}");
    assert!(stdout.contains("(medians of 1 evaluation)"), "{stdout}");
    assert!(
        stdout.contains("slowest ops (9 of 9; --json lists all):"),
        "{stdout}"
    );
}

#[test]
fn random_inputs_are_reproducible_by_seed_and_random_weights_change_the_result() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |dir: &str, extra: &[&str]| {
        let out = tmp.path().join(dir);
        let o = ane()
            .args(["run", "examples/cnn", "--out"])
            .arg(&out)
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::read(out.join("probs.npy")).unwrap()
    };
    let a = run("a", &["--input", "image=random:7"]);
    let b = run("b", &["--input", "image=random:7"]);
    let c = run("c", &["--input", "image=random:8"]);
    let d = run("d", &["--input", "image=random:7", "--random-weights"]);
    let e = run("e", &["--input", "image=random:7", "--random-weights=1"]);
    assert_eq!(a, b, "same seed, same output");
    assert_ne!(a, c, "another seed, another output");
    assert_ne!(a, d, "random weights are not the real weights");
    assert_ne!(d, e, "weight seeds differ");
    // Given nothing, the input is random with seed 0, and the output says so.
    let o = ane().args(["run", "examples/cnn"]).output().unwrap();
    let stdout = String::from_utf8(o.stdout).unwrap();
    assert!(
        stdout.contains("input  image fp16 [1, 3, 32, 32]: random (seed 0; not given"),
        "{stdout}"
    );
    assert!(
        stdout.contains("output probs fp16 [1, 10]: min "),
        "{stdout}"
    );
}

/// Run, expect failure with exactly one `error:` line containing every `needle`.
fn expect_error(args: &[&str], needles: &[&str]) {
    let o = ane().args(args).output().unwrap();
    assert!(!o.status.success(), "{args:?} succeeded");
    let stderr = String::from_utf8(o.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    for n in needles {
        assert!(stderr.contains(n), "{args:?}: {n:?} not in {stderr}");
    }
}

#[test]
fn wrong_inputs_are_one_line_errors_naming_the_input() {
    let tmp = tempfile::tempdir().unwrap();
    let wrong_shape = tmp.path().join("wrong_shape.npy");
    let shape = [1u64, 64, 1, 16];
    let data = TensorData::F16(vec![half::f16::ZERO; 64 * 16]);
    std::fs::write(&wrong_shape, write_npy(&shape, &data).unwrap()).unwrap();
    let wrong_dtype = tmp.path().join("wrong_dtype.npy");
    let data = TensorData::F32(vec![0.0; 64 * 32]);
    std::fs::write(&wrong_dtype, write_npy(&[1, 64, 1, 32], &data).unwrap()).unwrap();
    let ex = "examples/transformer_block";
    let ws = format!("x={}", wrong_shape.display());
    expect_error(
        &["run", ex, "--input", &ws],
        &["input `x`", "[1, 64, 1, 16]", "[1, 64, 1, 32]"],
    );
    let wd = format!("x={}", wrong_dtype.display());
    expect_error(&["run", ex, "--input", &wd], &["input `x`", "fp32", "fp16"]);
    expect_error(
        &["run", ex, "--input", "nope=random"],
        &["input `nope`", "no such input", "inputs: x"],
    );
    expect_error(
        &["run", ex, "--input", "x=/nonexistent/x.npy"],
        &["input `x`", "/nonexistent/x.npy"],
    );
    expect_error(
        &["run", ex, "--input", "x=random:abc"],
        &["input `x`", "abc"],
    );
    expect_error(&["run", "no/such/model.mil"], &["no/such/model.mil"]);
    expect_error(&["run", ex, "--function", "other"], &["`other`", "main"]);
}

#[test]
fn unsupported_backends_are_one_line_errors() {
    if cfg!(target_os = "macos") {
        return; // there the backends exist (unverified on hardware); this checks other OSes
    }
    for b in ["ane", "coreml"] {
        expect_error(
            &["run", "examples/cnn", "--backend", b],
            &[&format!("backend `{b}`"), "needs macOS", "--backend cpu"],
        );
    }
    // `auto` falls back to the CPU here and says why, in JSON and in the human output.
    let o = ane()
        .args(["run", "examples/cnn", "--backend", "auto", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["backend"], "cpu");
    assert_eq!(v["numerics"], "ane");
    let reason = v["backend_reason"].as_str().unwrap();
    assert!(
        reason.starts_with("auto: using cpu because backend `ane` is unavailable")
            && reason.contains("needs macOS"),
        "{reason}"
    );
    let o = ane()
        .args(["run", "examples/cnn", "--backend", "auto"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let stdout = String::from_utf8(o.stdout).unwrap();
    assert!(stdout.contains("backend cpu, numerics ane"), "{stdout}");
    assert!(
        stdout.contains(&format!("  backend: {reason}\n")),
        "{stdout}"
    );
    // `--backend cpu` needs no reason.
    let o = ane()
        .args(["run", "examples/cnn", "--backend", "cpu", "--json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v.get("backend_reason").is_none(), "{v}");
}

#[test]
fn missing_weights_suggest_random_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let mil = tmp.path().join("model.mil");
    std::fs::copy(root().join("examples/cnn/model.mil"), &mil).unwrap();
    let m = mil.display().to_string();
    expect_error(&["run", &m], &["weight", "--random-weights"]);
    let o = ane()
        .args(["run", &m, "--random-weights=3", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["weights"],
        serde_json::json!({"kind": "random", "seed": 3})
    );
}

#[test]
fn dynamic_dims_come_from_dim_or_the_npy_shape() {
    let tmp = tempfile::tempdir().unwrap();
    let mil = tmp.path().join("dyn.mil");
    std::fs::write(
        &mil,
        "program(1.0)\n{\n    func main<ios17>(tensor<fp32, [1, ?]> x) {\n            tensor<fp32, [1, ?]> y = relu(x = x)[name = string(\"y\")];\n        } -> (y);\n}\n",
    )
    .unwrap();
    let m = mil.display().to_string();
    expect_error(&["run", &m], &["input `x`", "--dim x:1=N"]);
    let out = tmp.path().join("out");
    let o = ane()
        .args(["run", &m, "--dim", "x:1=5", "--json", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (shape, _) = npy(&out.join("y.npy"));
    assert_eq!(shape, vec![1, 5]);
    // From a file: relu of known values.
    let input = tmp.path().join("x.npy");
    let xs = vec![-2.0f32, -0.5, 0.0, 0.25, 3.0, -1.0, 7.5];
    std::fs::write(
        &input,
        write_npy(&[1, 7], &TensorData::F32(xs.clone())).unwrap(),
    )
    .unwrap();
    let o = ane()
        .args(["run", &m, "--input"])
        .arg(format!("x={}", input.display()))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (shape, data) = npy(&out.join("y.npy"));
    assert_eq!(shape, vec![1, 7]);
    assert_eq!(
        data,
        TensorData::F32(xs.iter().map(|v| v.max(0.0)).collect())
    );
}

#[test]
fn invalid_programs_are_refused_with_their_first_diagnostic() {
    let tmp = tempfile::tempdir().unwrap();
    let mil = tmp.path().join("bad.mil");
    std::fs::write(
        &mil,
        "program(1.0)\n{\n    func main<ios17>(tensor<fp32, [2]> x) {\n            tensor<fp32, [2]> y = frobnicate(x = x)[name = string(\"y\")];\n        } -> (y);\n}\n",
    )
    .unwrap();
    let m = mil.display().to_string();
    expect_error(&["run", &m], &["bad.mil:4:", "frobnicate"]);
}

/// Issue #4 item 5 on a real compiled bundle: coremltools' `add_model.mlmodelc` (model.mil,
/// metadata.json, coremldata.bin as Apple's compiler wrote them; the corpus stores its members
/// flattened, so the folder is rebuilt in a temp dir). Its program is `var_3 = mul(x, y)` in
/// fp16: the product of two fp16 values is exact in f32, so each output element must equal
/// `f16(x·y)` exactly.
#[test]
fn a_real_mlmodelc_runs_and_multiplies_exactly() {
    let Some((tmp, b)) = common::corpus_add_model_mlmodelc() else {
        return;
    };
    let f16s = |v: &[f32]| {
        v.iter()
            .map(|&x| half::f16::from_f32(x))
            .collect::<Vec<_>>()
    };
    let x = f16s(&[0.5, -1.25, 3.0, 1e-3, 65504.0, -2.0, 0.1, 7.0, -0.0, 1.5]);
    let y = f16s(&[2.0, 4.0, -0.3, 1e-3, 2.0, -2.5, 0.1, 1.0 / 3.0, 5.0, 1.5]);
    for (name, v) in [("x", &x), ("y", &y)] {
        let data = TensorData::F16(v.clone());
        std::fs::write(
            tmp.path().join(format!("{name}.npy")),
            write_npy(&[1, 10], &data).unwrap(),
        )
        .unwrap();
    }
    let out = tmp.path().join("out");
    let o = ane()
        .arg("run")
        .arg(&b)
        .arg("--input")
        .arg(format!("x={}", tmp.path().join("x.npy").display()))
        .arg("--input")
        .arg(format!("y={}", tmp.path().join("y.npy").display()))
        .arg("--out")
        .arg(&out)
        .arg("--json")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["model_kind"], "folder");
    assert_eq!(v["outputs"][0]["name"], "var_3");
    let (shape, got) = npy(&out.join("var_3.npy"));
    assert_eq!(shape, [1, 10]);
    let want: Vec<half::f16> = x
        .iter()
        .zip(&y)
        .map(|(a, b)| half::f16::from_f32(a.to_f32() * b.to_f32()))
        .collect();
    let TensorData::F16(got) = got else {
        panic!("var_3 is not fp16")
    };
    // Bitwise, so that -0 and +inf (65504·2 overflows) are checked too.
    let bits = |v: &[half::f16]| v.iter().map(|h| h.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&got), bits(&want));
    assert!(got[4].is_infinite() && got[8].to_bits() == 0x8000);
    // A wrong dtype for `y` is a one-line error naming it.
    let wrong = tmp.path().join("y32.npy");
    let data = TensorData::F32(vec![1.0; 10]);
    std::fs::write(&wrong, write_npy(&[1, 10], &data).unwrap()).unwrap();
    let bs = b.display().to_string();
    let wy = format!("y={}", wrong.display());
    expect_error(
        &["run", &bs, "--input", "x=random", "--input", &wy],
        &["input `y`", "fp16"],
    );
}
