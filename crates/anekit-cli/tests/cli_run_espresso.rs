//! `ane run` on Espresso nets (lowered to MIL by `anekit_espresso::lower`, run on the CPU
//! executor): the Chiron bundle of the corpus on a random input of its declared shape, the same
//! net as PBZE, hand-made nets against their numpy references, and the errors.
//!
//! Tolerance for the hand-made nets: that of `crates/anekit-espresso/tests/lower.rs`
//! (`small_nets_match_numpy`), `|got - numpy| <= 1e-4 + 1e-4·|numpy|` per element — the lowered
//! programs are fp32 throughout, so `--numerics ane` rounds to fp32 only.

use anekit_core::TensorData;
use anekit_core::corpus::corpus_dir;
use anekit_core::npy::read_npy;
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

fn lower_fixtures() -> PathBuf {
    root().join("crates/anekit-espresso/tests/fixtures/lower")
}

fn chiron() -> Option<PathBuf> {
    corpus_dir("espresso").map(|d| d.join("ameeSun__Chiron-Swift-Student-Challenge"))
}

fn f32s(path: &Path) -> (Vec<u64>, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let a = read_npy(&bytes).unwrap();
    match a.data {
        TensorData::F32(v) => (a.shape, v),
        other => panic!("{}: expected float32, got {other:?}", path.display()),
    }
}

/// Run `ane run ARGS --json`, expecting success; the JSON report.
fn run_json(args: &[&str]) -> Value {
    let o = ane().args(args).arg("--json").output().unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

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

/// Issue #5's acceptance: the Chiron bundle runs on a random input of its declared shape; its
/// output is a two-class softmax.
#[test]
fn chiron_runs_on_a_random_input_of_its_declared_shape() {
    let Some(dir) = chiron() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let d = dir.display().to_string();
    let out = tmp.path().join("out");
    let v = run_json(&[
        "run",
        &d,
        "--input",
        "input_1=random:7",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(v["model_kind"], "espresso");
    assert_eq!(v["backend"], "cpu");
    assert_eq!(v["function"], "main");
    assert_eq!(v["weights"]["kind"], "espresso");
    assert_eq!(
        v["weights"]["root"],
        dir.join("model.espresso.weights").display().to_string()
    );
    // The declared shape: [n, k, h, w] of input_1 in model.espresso.shape.
    assert_eq!(v["inputs"][0]["name"], "input_1");
    assert_eq!(v["inputs"][0]["dtype"], "fp32");
    assert_eq!(v["inputs"][0]["shape"], serde_json::json!([1, 128, 128, 1]));
    let outputs = v["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0]["name"], "Identity");
    assert_eq!(outputs[0]["shape"], serde_json::json!([1, 1, 1, 2]));
    let (shape, probs) = f32s(&out.join("Identity.npy"));
    assert_eq!(shape, [1, 1, 1, 2]);
    assert!(probs.iter().all(|p| (0.0..=1.0).contains(p)), "{probs:?}");
    assert!((probs.iter().sum::<f32>() - 1.0).abs() < 1e-5, "{probs:?}");
    // The file given directly is the same net.
    let out2 = tmp.path().join("out2");
    let net = dir.join("model.espresso.net").display().to_string();
    run_json(&[
        "run",
        &net,
        "--input",
        "input_1=random:7",
        "--out",
        out2.to_str().unwrap(),
    ]);
    assert_eq!(f32s(&out2.join("Identity.npy")).1, probs);
}

/// Random inputs in [-1, 1) saturate Chiron's softmax (exactly 0 and 1); a dim input in
/// [0, 0.01) does not. `ane run` gives bit for bit what the library path gives (lowering,
/// anekit-ir, the CPU executor called directly), and two probabilities strictly between 0 and 1
/// that sum to 1.
#[test]
fn chiron_from_an_npy_input_equals_the_library_path() {
    let Some(dir) = chiron() else { return };
    let mut state = 0x2545_f491_u32;
    let image: Vec<f32> = (0..128 * 128)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 8) as f32 / (1u32 << 24) as f32 * 0.01
        })
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("image.npy");
    let data = TensorData::F32(image.clone());
    std::fs::write(
        &input,
        anekit_core::npy::write_npy(&[1, 128, 128, 1], &data).unwrap(),
    )
    .unwrap();
    let out = tmp.path().join("out");
    let d = dir.display().to_string();
    let arg = format!("input_1={}", input.display());
    run_json(&["run", &d, "--input", &arg, "--out", out.to_str().unwrap()]);
    let (_, probs) = f32s(&out.join("Identity.npy"));

    let bundle = anekit_espresso::Bundle::open(&dir, 1 << 26).unwrap();
    let lowered = anekit_espresso::lower::lower_bundle(&bundle).unwrap();
    let model_dir = tmp.path().join("lowered");
    lowered.write(&model_dir).unwrap();
    let (program, diags) = anekit_ir::build(&lowered.program);
    assert!(diags.is_empty(), "{diags:?}");
    let exec = anekit_cpu::exec::Executor::new(
        program,
        Some(anekit_ir::weights::Weights::new(&model_dir)),
        anekit_cpu::exec::ExecOptions::default(),
    )
    .unwrap();
    let direct = exec
        .run(&[anekit_cpu::exec::NamedTensor {
            name: "input_1".into(),
            shape: vec![1, 128, 128, 1],
            data,
        }])
        .unwrap();
    assert_eq!(direct.len(), 1);
    assert_eq!(direct[0].data, TensorData::F32(probs.clone()));
    assert_eq!(probs.len(), 2);
    assert!(
        probs.iter().all(|p| *p > 1e-3 && *p < 1.0 - 1e-3),
        "{probs:?}"
    );
    assert!((probs.iter().sum::<f32>() - 1.0).abs() < 1e-6, "{probs:?}");
}

/// A PBZE-compressed net (made by `ane pbze encode`) runs and gives the same output as the
/// JSON net it was made from.
#[test]
fn pbze_net_runs_like_its_json() {
    let Some(dir) = chiron() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let bundle = tmp.path().join("bundle");
    std::fs::create_dir(&bundle).unwrap();
    for f in ["model.espresso.weights", "model.espresso.shape"] {
        std::fs::copy(dir.join(f), bundle.join(f)).unwrap();
    }
    let pbze = bundle.join("model.espresso.net");
    let o = ane()
        .args(["pbze", "encode"])
        .arg(dir.join("model.espresso.net"))
        .arg("-o")
        .arg(&pbze)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(&std::fs::read(&pbze).unwrap()[..4], b"pbze");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let d = dir.display().to_string();
    run_json(&["run", &d, "--out", a.to_str().unwrap()]);
    let v = run_json(&["run", pbze.to_str().unwrap(), "--out", b.to_str().unwrap()]);
    assert_eq!(v["model_kind"], "espresso");
    assert_eq!(f32s(&a.join("Identity.npy")), f32s(&b.join("Identity.npy")));
}

/// Hand-made nets of crates/anekit-espresso/tests/fixtures/lower (made with a numpy reference
/// by scripts/espresso_lower_fixtures.py) run through `ane run --out` and match numpy.
#[test]
fn hand_made_nets_match_numpy() {
    // (case, its inputs in input order)
    let cases: [(&str, &[&str]); 4] = [
        ("conv_same_bias_relu", &["x"]),
        ("inner_product_flatten", &["x"]),
        ("batchnorm", &["x"]),
        ("batch_matmul_transpose_b", &["a", "c"]),
    ];
    for (case, inputs) in cases {
        let dir = lower_fixtures().join(case);
        let tmp = tempfile::tempdir().unwrap();
        let mut cmd = ane();
        cmd.arg("run").arg(&dir).arg("--json");
        for (i, name) in inputs.iter().enumerate() {
            cmd.arg("--input").arg(format!(
                "{name}={}",
                dir.join(format!("input_{i}.npy")).display()
            ));
        }
        let o = cmd.arg("--out").arg(tmp.path()).output().unwrap();
        assert!(
            o.status.success(),
            "{case}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let v: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["model_kind"], "espresso", "{case}");
        let outputs = v["outputs"].as_array().unwrap();
        assert_eq!(outputs.len(), 1, "{case}");
        let file = outputs[0]["file"].as_str().unwrap();
        let (shape, got) = f32s(Path::new(file));
        let (exp_shape, exp) = f32s(&dir.join("expected.npy"));
        assert_eq!(shape, exp_shape, "{case}");
        assert_eq!(got.len(), exp.len(), "{case}");
        for (i, (g, e)) in got.iter().zip(&exp).enumerate() {
            assert!(
                (g - e).abs() <= 1e-4 + 1e-4 * e.abs(),
                "{case}: element {i}: got {g}, numpy {e}"
            );
        }
    }
}

/// The lowered program lives in a temporary folder that is gone once `ane run` exits.
#[test]
fn the_lowered_folder_is_removed_afterwards() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = lower_fixtures().join("conv_same_bias_relu");
    let o = ane()
        .env("TMPDIR", tmp.path())
        .arg("run")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8(o.stdout).unwrap();
    assert!(
        stdout.contains("(Espresso blobs, lowered to an fp32 weight.bin)"),
        "{stdout}"
    );
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn unsupported_layers_are_named_in_a_one_line_error() {
    let tmp = tempfile::tempdir().unwrap();
    let net = tmp.path().join("up.espresso.net");
    std::fs::write(
        &net,
        r#"{"layers":[{"name":"up1","type":"upsample","bottom":"x","top":"y","weights":{}}]}"#,
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("up.espresso.shape"),
        r#"{"layer_shapes":{"x":{"n":1,"k":1,"h":2,"w":2},"y":{"n":1,"k":1,"h":4,"w":4}}}"#,
    )
    .unwrap();
    let n = net.display().to_string();
    expect_error(
        &["run", &n],
        &[
            &n,
            "layer `up1` (type `upsample`): layer type not supported by the lowering",
        ],
    );
    // The folder form finds the same net.
    let t = tmp.path().display().to_string();
    expect_error(&["run", &t], &["layer `up1` (type `upsample`)"]);
}

#[test]
fn espresso_errors_are_one_line() {
    let dir = lower_fixtures().join("conv_same_bias_relu");
    let d = dir.display().to_string();
    expect_error(
        &["run", &d, "--weights", &d],
        &["--weights does not apply to an Espresso net"],
    );
    expect_error(
        &["run", &d, "--input", "nope=random"],
        &["input `nope`", "inputs: x"],
    );
    // A folder with neither model.mil, Manifest.json nor a net.
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path().display().to_string();
    expect_error(
        &["run", &t],
        &["model.mil", "Manifest.json", "espresso.net"],
    );
    // A net that is not JSON.
    let bad = tmp.path().join("bad.espresso.net");
    std::fs::write(&bad, b"{ not json").unwrap();
    expect_error(&["run", bad.to_str().unwrap()], &["bad.espresso.net"]);
}
