//! `ane run` on the coremltools fixture packages (crates/anekit-coreml/tests/fixtures, written by
//! scripts/gen_coreml_fixtures.py) matches numpy. The references are computed by
//! scripts/gen_run_package_references.py: a numpy interpreter of each package's program (float32
//! math, `cast` and decompressed constants rounded to their declared dtype), with coremltools only
//! reading the package. Inputs and outputs are committed under tests/fixtures/run_packages/.
//!
//! Tolerances, per element (`ref` = the numpy value, `scale` = the largest |ref| of that output):
//! - `--numerics exact`: `|got - ref| ≤ 2^-11·|ref| + 2^-12·scale + 1e-6` — half an fp16 ulp
//!   for the rounding of an fp16 output, plus a term for fp16 constants: the reference rounds
//!   decompressed weights to their declared fp16, the exact mode keeps them in f32, which moves
//!   a dot product by up to about 2^-12 of its magnitude;
//! - `--numerics ane` (every op result rounded to its declared dtype): `|got - ref| ≤
//!   2^-9·(|ref| + scale) + 1e-6` — a few fp16 ulps accumulated over the chain of fp16 ops.
//!
//! fp32 programs (cnn_fp32, the relu packages) compute in f32 in both modes; the relu packages
//! are exact (checked: error 0 in both modes).

use anekit_core::npy::read_npy;
use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn references() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run_packages")
}

fn package(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../anekit-coreml/tests/fixtures")
        .join(format!("{name}.mlpackage"))
}

fn load(path: &Path) -> (Vec<u64>, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let a = read_npy(&bytes).unwrap();
    (a.shape, a.data.to_f32())
}

/// Files in `dir` named `<prefix><name>.npy`, as (name, path), sorted.
fn named(dir: &Path, prefix: &str) -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let f = p.file_name()?.to_str()?.to_string();
            let name = f.strip_prefix(prefix)?.strip_suffix(".npy")?.to_string();
            Some((name, p))
        })
        .collect();
    out.sort();
    out
}

/// Every (package, function) reference folder.
fn cases() -> Vec<(String, String, PathBuf)> {
    let mut out = Vec::new();
    for pkg in std::fs::read_dir(references()).unwrap() {
        let pkg = pkg.unwrap().path();
        for func in std::fs::read_dir(&pkg).unwrap() {
            let func = func.unwrap().path();
            let name = |p: &Path| p.file_name().unwrap().to_string_lossy().into_owned();
            out.push((name(&pkg), name(&func), func));
        }
    }
    out.sort();
    out
}

fn run_case(pkg: &str, func: &str, dir: &Path, numerics: &str) -> Vec<String> {
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = Command::cargo_bin("ane").unwrap();
    cmd.arg("run")
        .arg(package(pkg))
        .args(["--function", func, "--numerics", numerics, "--out"])
        .arg(tmp.path());
    for (name, path) in named(dir, "input_") {
        cmd.arg("--input").arg(format!("{name}={}", path.display()));
    }
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "{pkg}/{func} {numerics}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut failures = Vec::new();
    let outputs = named(dir, "output_");
    assert!(!outputs.is_empty(), "{pkg}/{func}: no reference outputs");
    for (name, ref_path) in outputs {
        let (want_shape, want) = load(&ref_path);
        let (shape, got) = load(&tmp.path().join(format!("{name}.npy")));
        assert_eq!(shape, want_shape, "{pkg}/{func} {name}");
        let scale = want.iter().fold(0f32, |m, r| m.max(r.abs()));
        let tol = |r: f32| match numerics {
            "exact" => r.abs() / 2048.0 + scale / 4096.0 + 1e-6,
            _ => (r.abs() + scale) / 512.0 + 1e-6,
        };
        let mut worst = (0f32, 0usize);
        let mut bad = Vec::new();
        for (i, (&g, &r)) in got.iter().zip(&want).enumerate() {
            let d = (g - r).abs();
            if d > worst.0 || d.is_nan() {
                worst = (d, i);
            }
            if d.is_nan() || d > tol(r) {
                bad.push(format!("[{i}] got {g} want {r}"));
            }
        }
        if pkg.starts_with("flexible") || pkg == "multifunction" {
            assert_eq!(got, want, "{pkg}/{func}: relu is exact");
        }
        println!(
            "{pkg:<20} {func:<11} {name:<6} {numerics:<5} max |got-ref| {:.3e} (element {})",
            worst.0, worst.1
        );
        if !bad.is_empty() {
            failures.push(format!(
                "{pkg}/{func} {name} {numerics}: {} of {} elements out of tolerance: {}",
                bad.len(),
                got.len(),
                bad.join(", ")
            ));
        }
    }
    failures
}

#[test]
fn every_fixture_package_matches_numpy_in_both_numerics_modes() {
    let cases = cases();
    let names: Vec<String> = cases.iter().map(|(p, f, _)| format!("{p}/{f}")).collect();
    assert_eq!(
        names,
        [
            "cnn_fp16/main",
            "cnn_fp32/main",
            "compressed_ios17/main",
            "compressed_ios18/main",
            "flexible_enumerated/main",
            "flexible_range/main",
            "multifunction/relu_enum",
            "multifunction/relu_range",
            "transformer_fp16/main",
        ]
    );
    let mut failures = Vec::new();
    for (pkg, func, dir) in &cases {
        for numerics in ["exact", "ane"] {
            failures.extend(run_case(pkg, func, dir, numerics));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_multifunction_package_runs_its_default_function() {
    let o = Command::cargo_bin("ane")
        .unwrap()
        .arg("run")
        .arg(package("multifunction"))
        .args(["--dim", "x:1=3", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["function"], "relu_range");
    assert_eq!(v["model_kind"], "mlpackage");
    assert_eq!(v["outputs"][0]["shape"], serde_json::json!([1, 3]));
    // relu of values in [-1, 1): never negative.
    assert!(v["outputs"][0]["min"].as_f64().unwrap() >= 0.0);
}
