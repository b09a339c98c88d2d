//! The bundled examples (examples/transformer_block, examples/cnn) run through the executor
//! and compared with the float32 numpy outputs `examples/gen_examples.py` stored next to them.
//!
//! Tolerances: `exact` numerics compute the same graph in f32 as numpy (different summation
//! order, fp16 weights in both); the declared fp16 output is then converted to fp16 once, so
//! every element must be within 1 fp16 ulp (of |want|) of numpy's f32 value, plus 1e-6
//! absolute for results that cancel to far below their O(1) terms (f32 summation-order noise). `ane` numerics round
//! every op result to fp16 (≈ 3 significant digits, ~20 roundings deep), so the bound is
//! 2e-2 + 2e-2·|want| per element — a loose check that the fp16 pipeline stays on the f32
//! answer, plus a mean absolute error bound of 5e-3.

use anekit_core::TensorData;
use anekit_core::npy::read_npy;
use anekit_cpu::Numerics;
use anekit_cpu::exec::{ExecOptions, Executor, NamedTensor};
use anekit_ir::weights::Weights;
use std::path::PathBuf;

fn example_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}

fn npy(path: PathBuf) -> (Vec<usize>, TensorData) {
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let a = read_npy(&bytes).unwrap();
    (a.shape.iter().map(|&d| d as usize).collect(), a.data)
}

fn run_example(name: &str, input: &str, output: &str, numerics: Numerics) -> (Vec<f32>, Vec<f32>) {
    let dir = example_dir(name);
    let src = std::fs::read_to_string(dir.join("model.mil")).unwrap();
    let checked = anekit_ir::check(&src);
    assert!(checked.is_valid(), "{:?}", checked.diagnostics);
    let exec = Executor::new(
        checked.program.unwrap(),
        Some(Weights::new(&dir)),
        ExecOptions {
            numerics,
            ..ExecOptions::default()
        },
    )
    .unwrap();
    let (shape, data) = npy(dir.join(format!("reference/input_{input}.npy")));
    let out = exec
        .run(&[NamedTensor {
            name: input.into(),
            shape: shape.clone(),
            data,
        }])
        .unwrap();
    let (want_shape, want) = npy(dir.join(format!("reference/output_{output}.npy")));
    let got = out.iter().find(|o| o.name == output).unwrap();
    assert_eq!(got.shape, want_shape);
    (got.data.to_f32(), want.to_f32())
}

/// One fp16 ulp at magnitude |x| (subnormal spacing below 2^-14).
fn f16_ulp(x: f32) -> f32 {
    let e = x.abs().max(2f32.powi(-14)).log2().floor();
    2f32.powf(e - 10.0)
}

fn within_one_ulp(got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len());
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= f16_ulp(w) + 1e-6,
            "element {i}: got {g}, want {w}"
        );
    }
}

fn compare(got: &[f32], want: &[f32], atol: f32, rtol: f32, mean_tol: f32) {
    assert_eq!(got.len(), want.len());
    let mut sum = 0.0f64;
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let d = (g - w).abs();
        assert!(d <= atol + rtol * w.abs(), "element {i}: got {g}, want {w}");
        sum += f64::from(d);
    }
    let mean = sum / got.len() as f64;
    assert!(mean <= f64::from(mean_tol), "mean abs error {mean}");
}

#[test]
fn transformer_block_exact_matches_numpy() {
    let (g, w) = run_example("transformer_block", "x", "y", Numerics::Exact);
    within_one_ulp(&g, &w);
}

#[test]
fn transformer_block_ane_close_to_numpy() {
    let (g, w) = run_example("transformer_block", "x", "y", Numerics::Ane);
    compare(&g, &w, 2e-2, 2e-2, 5e-3);
}

#[test]
fn cnn_exact_matches_numpy() {
    let (g, w) = run_example("cnn", "image", "probs", Numerics::Exact);
    within_one_ulp(&g, &w);
}

#[test]
fn cnn_ane_close_to_numpy() {
    let (g, w) = run_example("cnn", "image", "probs", Numerics::Ane);
    compare(&g, &w, 2e-3, 2e-2, 5e-4);
}
