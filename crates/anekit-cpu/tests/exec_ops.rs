//! Per-op tests of the executor against numpy: `scripts/gen_exec_fixtures.py` writes small MIL
//! programs, inputs and numpy's outputs to `tests/fixtures/exec/<family>.json`, in both numerics
//! modes. Tolerances are stated per case in the fixtures:
//! - ane mode (fp16 programs; numpy rounds every op result to float16):
//!   `|got − want| ≤ ulps · ulp16(want) + atol` (1 fp16 ulp for elementwise ops and
//!   activations; + atol 1e-3 for reductions, norms, matmul and conv, whose results can cancel);
//! - exact mode (fp32 programs; numpy in float64): `|got − want| ≤ rtol·|want| + atol`
//!   (rtol 1e-5; atol 1e-6, or 2e-6 per accumulated product for matmul/conv);
//! - `exact`: equal bit for bit (masks, indices, data movement, edge cases).
//!
//! Infinities must match exactly; NaN must be NaN.

use anekit_core::{DType, TensorData};
use anekit_cpu::Numerics;
use anekit_cpu::exec::{ExecOptions, Executor, NamedTensor};
use half::f16;
use serde_json::Value;
use std::path::PathBuf;

fn num(v: &Value) -> f64 {
    match v {
        Value::String(s) if s == "inf" => f64::INFINITY,
        Value::String(s) if s == "-inf" => f64::NEG_INFINITY,
        Value::String(s) if s == "nan" => f64::NAN,
        v => v.as_f64().expect("number"),
    }
}

fn tensor(t: &Value) -> NamedTensor {
    let dtype = DType::from_mil_name(t["dtype"].as_str().unwrap()).unwrap();
    let vals: Vec<f64> = t["data"].as_array().unwrap().iter().map(num).collect();
    let data = match dtype {
        DType::Fp16 => TensorData::F16(vals.iter().map(|&v| f16::from_f64(v)).collect()),
        DType::Fp32 => TensorData::F32(vals.iter().map(|&v| v as f32).collect()),
        DType::Int32 => TensorData::I32(vals.iter().map(|&v| v as i32).collect()),
        DType::Bool => TensorData::Bool(vals.iter().map(|&v| v != 0.0).collect()),
        d => panic!("fixture dtype {d}"),
    };
    NamedTensor {
        name: t["name"].as_str().unwrap().into(),
        shape: t["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect(),
        data,
    }
}

fn f16_ulp(x: f64) -> f64 {
    let e = x.abs().max(2f64.powi(-14)).log2().floor();
    2f64.powf(e - 10.0)
}

/// Why `got` is not within tolerance of `want`, or None.
fn mismatch(got: f64, want: f64, tol: &Value, ane: bool) -> Option<String> {
    if want.is_nan() {
        return (!got.is_nan()).then(|| format!("got {got}, want NaN"));
    }
    if want.is_infinite() || got.is_infinite() || tol.get("exact").is_some() {
        return (got != want).then(|| format!("got {got}, want {want} (exact)"));
    }
    let atol = tol.get("atol").and_then(Value::as_f64).unwrap_or(0.0);
    let bound = if ane && tol.get("ulps").is_some() {
        tol["ulps"].as_f64().unwrap() * f16_ulp(want) + atol
    } else {
        tol["rtol"].as_f64().unwrap_or(0.0) * want.abs() + atol
    };
    ((got - want).abs() > bound).then(|| {
        format!(
            "got {got}, want {want}, |diff| {} > {bound}",
            (got - want).abs()
        )
    })
}

/// Run every case of one family file; returns the failures.
fn run_family(family: &str) -> (usize, Vec<String>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/exec")
        .join(format!("{family}.json"));
    let text = std::fs::read_to_string(&path).unwrap();
    let cases: Vec<Value> = serde_json::from_str(&text).unwrap();
    let mut failures = Vec::new();
    for case in &cases {
        let name = format!(
            "{family}/{}[{}]",
            case["name"].as_str().unwrap(),
            case["mode"].as_str().unwrap()
        );
        let ane = case["mode"] == "ane";
        let src = case["mil"].as_str().unwrap();
        let checked = anekit_ir::check(src);
        if let Some(e) = checked.errors().next() {
            failures.push(format!(
                "{name}: the IR rejects the fixture: {} {}",
                e.code, e.message
            ));
            continue;
        }
        let options = ExecOptions {
            numerics: if ane { Numerics::Ane } else { Numerics::Exact },
            ..ExecOptions::default()
        };
        let result = Executor::new(checked.program.unwrap(), None, options).and_then(|e| {
            let inputs: Vec<NamedTensor> = case["inputs"]
                .as_array()
                .unwrap()
                .iter()
                .map(tensor)
                .collect();
            e.run(&inputs)
        });
        let outs = match result {
            Ok(o) => o,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        for want in case["outputs"].as_array().unwrap() {
            let want = tensor(want);
            let Some(got) = outs.iter().find(|o| o.name == want.name) else {
                failures.push(format!("{name}: no output {}", want.name));
                continue;
            };
            if got.shape != want.shape || got.data.dtype() != want.data.dtype() {
                failures.push(format!(
                    "{name}: output {} is {:?} {}, want {:?} {}",
                    want.name,
                    got.shape,
                    got.data.dtype(),
                    want.shape,
                    want.data.dtype()
                ));
                continue;
            }
            let (g, w) = (got.data.to_f32(), want.data.to_f32());
            let bad: Vec<String> = g
                .iter()
                .zip(&w)
                .enumerate()
                .filter_map(|(i, (&g, &w))| {
                    mismatch(f64::from(g), f64::from(w), &case["tol"], ane)
                        .map(|m| format!("[{i}] {m}"))
                })
                .collect();
            if !bad.is_empty() {
                failures.push(format!(
                    "{name}: output {}: {} of {} elements off, first: {}",
                    want.name,
                    bad.len(),
                    g.len(),
                    bad[0]
                ));
            }
        }
    }
    (cases.len(), failures)
}

fn check_family(family: &str) {
    let (n, failures) = run_family(family);
    assert!(n > 0, "no cases in {family}.json");
    assert!(
        failures.is_empty(),
        "{} of {n} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn elementwise() {
    check_family("elementwise");
}

#[test]
fn fp16_edge_cases() {
    check_family("edge");
}

#[test]
fn comparisons_logical_select_cast() {
    check_family("logical");
}

#[test]
fn activations() {
    check_family("activation");
}

#[test]
fn reductions() {
    check_family("reduce");
}

#[test]
fn normalizations() {
    check_family("norm");
}

#[test]
fn matmul_linear() {
    check_family("linear");
}

#[test]
fn conv_and_pools() {
    check_family("conv");
}

#[test]
fn data_movement() {
    check_family("shape");
}

#[test]
fn attention() {
    check_family("attention");
}

#[test]
fn constexpr_decompression() {
    check_family("constexpr");
}

#[test]
fn lstm_slice_update_lrn_and_parameters() {
    check_family("more");
}
