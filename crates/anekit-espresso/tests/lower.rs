//! Lowering Espresso nets to MIL: the Chiron bundle from the corpus (every layer lowers, the
//! program validates, shapes match the .espresso.shape file, it runs), and one small net per
//! layer type checked against numpy (fixtures made by scripts/espresso_lower_fixtures.py).

use anekit_core::TensorData;
use anekit_core::corpus::corpus_dir;
use anekit_cpu::exec::{ExecOptions, Executor, NamedTensor};
use anekit_espresso::Bundle;
use anekit_espresso::lower::{self, LowerError};
use std::path::{Path, PathBuf};

fn chiron() -> Option<PathBuf> {
    corpus_dir("espresso").map(|d| d.join("ameeSun__Chiron-Swift-Student-Challenge"))
}

/// Check the written model with anekit-ir and return an executor over it.
fn executor(dir: &Path) -> Executor {
    let text = std::fs::read_to_string(dir.join("model.mil")).unwrap();
    let checked = anekit_ir::check(&text);
    let errors: Vec<String> = checked.errors().map(|d| d.message.clone()).collect();
    assert!(
        errors.is_empty(),
        "lowered program does not validate: {errors:?}\n{text}"
    );
    let weights = anekit_ir::weights::Weights::new(dir);
    Executor::new(
        checked.program.unwrap(),
        Some(weights),
        ExecOptions::default(),
    )
    .unwrap()
}

fn f32s(t: &TensorData) -> Vec<f32> {
    match t {
        TensorData::F32(v) => v.clone(),
        TensorData::F16(v) => v.iter().map(|x| x.to_f32()).collect(),
        other => panic!("unexpected output dtype {other:?}"),
    }
}

#[test]
fn chiron_lowers_validates_matches_shapes_and_runs() {
    let Some(dir) = chiron() else { return };
    let bundle = Bundle::open(&dir, 1 << 26).unwrap();
    let lowered = lower::lower_bundle(&bundle).unwrap();
    // One statement per layer plus the weight consts (2 per conv / inner_product).
    let f = &lowered.program.functions[0];
    let ops: Vec<&str> = f
        .body
        .statements
        .iter()
        .map(|s| s.op.name.as_str())
        .filter(|o| *o != "const")
        .collect();
    assert_eq!(
        ops,
        [
            "transpose",
            "conv",
            "relu",
            "max_pool",
            "conv",
            "relu",
            "max_pool",
            "conv",
            "relu",
            "max_pool",
            "conv",
            "relu",
            "max_pool",
            "transpose",
            "reshape",
            "linear",
            "relu",
            "linear",
            "softmax"
        ]
    );
    let consts = f.body.statements.len() - ops.len();
    assert_eq!(consts, 12);
    // Every blob of the shape file is defined with exactly that [n, k, h, w].
    let shapes = bundle.shape.as_ref().unwrap();
    assert_eq!(shapes.shapes.len(), 15);
    for s in &shapes.shapes {
        let b = lowered
            .blobs
            .iter()
            .find(|b| b.blob == s.name)
            .unwrap_or_else(|| panic!("blob {} not lowered", s.name));
        let expected = [s.n, s.k, s.h, s.w].map(|d| d.unwrap() as usize);
        assert_eq!(b.shape, expected, "{}", s.name);
    }
    assert_eq!(lowered.inputs.len(), 1);
    assert_eq!(lowered.inputs[0].blob, "input_1");
    assert_eq!(lowered.inputs[0].shape, [1, 128, 128, 1]);
    assert_eq!(lowered.outputs.len(), 1);
    assert_eq!(lowered.outputs[0].blob, "Identity");
    assert_eq!(lowered.outputs[0].shape, [1, 1, 1, 2]);

    let tmp = tempfile::tempdir().unwrap();
    let (program, model_dir) = lower::to_mil(&bundle, tmp.path()).unwrap();
    assert_eq!(program, lowered.program);
    // The text round-trips through the parser.
    let text = std::fs::read_to_string(model_dir.join("model.mil")).unwrap();
    assert_eq!(anekit_mil::parse(&text).unwrap(), lowered.program);
    let exec = executor(&model_dir);
    // Deterministic pseudo-random input in [0, 1).
    let mut state = 0x2545_f491_u32;
    let data: Vec<f32> = (0..128 * 128)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 8) as f32 / (1u32 << 24) as f32
        })
        .collect();
    let out = exec
        .run(&[NamedTensor {
            name: lowered.inputs[0].value.clone(),
            shape: vec![1, 128, 128, 1],
            data: TensorData::F32(data),
        }])
        .unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].shape, [1, 1, 1, 2]);
    let probs = f32s(&out[0].data);
    // A softmax over two classes.
    assert!(probs.iter().all(|p| p.is_finite() && *p >= 0.0));
    assert!((probs.iter().sum::<f32>() - 1.0).abs() < 1e-5, "{probs:?}");
}

#[test]
fn unsupported_layer_is_named() {
    let net = anekit_espresso::EspressoNet::parse_json(
        r#"{"layers":[{"name":"up1","type":"upsample","bottom":"x","top":"y","weights":{}}]}"#,
    )
    .unwrap();
    let shapes = anekit_espresso::ShapeFile::parse_json(
        r#"{"layer_shapes":{"x":{"n":1,"k":1,"h":2,"w":2}}}"#,
    )
    .unwrap();
    let err = lower::lower(&net, None, Some(&shapes)).unwrap_err();
    assert!(matches!(err, LowerError::Unsupported { .. }));
    assert_eq!(
        err.to_string(),
        "layer `up1` (type `upsample`): layer type not supported by the lowering"
    );
}

#[test]
fn unverified_codes_are_refused() {
    let net = anekit_espresso::EspressoNet::parse_json(
        r#"{"layers":[{"name":"e","type":"elementwise","operation":10,"bottom":"x","top":"y","weights":{}}]}"#,
    )
    .unwrap();
    let shapes = anekit_espresso::ShapeFile::parse_json(
        r#"{"layer_shapes":{"x":{"n":1,"k":1,"h":2,"w":2}}}"#,
    )
    .unwrap();
    let err = lower::lower(&net, None, Some(&shapes)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "layer `e` (type `elementwise`): elementwise operation 10 is unverified and not lowered (verified: 0, 1, 2, 3, 119)"
    );
    // No shape for the input: a clear error too.
    let err = lower::lower(&net, None, None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "input blob `x` has no shape: the bundle needs its .espresso.shape"
    );
}

/// Every case folder under tests/fixtures/lower: a bundle, `input_*.npy` (one per net input,
/// in input order) and `expected.npy` (numpy's result for the single output).
#[test]
fn small_nets_match_numpy() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lower");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 15, "{} cases", cases.len());
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let bundle = Bundle::open(case, 1 << 20).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let lowered = lower::lower_bundle(&bundle).unwrap_or_else(|e| panic!("{name}: {e}"));
        lowered.write(tmp.path()).unwrap();
        let exec = executor(tmp.path());
        let inputs: Vec<NamedTensor> = lowered
            .inputs
            .iter()
            .enumerate()
            .map(|(i, inp)| {
                let arr = anekit_core::npy::read_npy(
                    &std::fs::read(case.join(format!("input_{i}.npy"))).unwrap(),
                )
                .unwrap();
                let shape: Vec<usize> = arr.shape.iter().map(|&d| d as usize).collect();
                let data = arr.data;
                assert_eq!(shape, inp.shape, "{name}: input {i} shape");
                NamedTensor {
                    name: inp.value.clone(),
                    shape,
                    data,
                }
            })
            .collect();
        let out = exec.run(&inputs).unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected =
            anekit_core::npy::read_npy(&std::fs::read(case.join("expected.npy")).unwrap()).unwrap();
        let exp_shape: Vec<usize> = expected.shape.iter().map(|&d| d as usize).collect();
        let exp = expected.data;
        assert_eq!(out.len(), 1, "{name}");
        assert_eq!(out[0].shape, exp_shape, "{name}: output shape");
        let got = f32s(&out[0].data);
        let exp = f32s(&exp);
        for (i, (g, e)) in got.iter().zip(&exp).enumerate() {
            // fp32 throughout; sums of up to a few hundred products.
            assert!(
                (g - e).abs() <= 1e-4 + 1e-4 * e.abs(),
                "{name}: element {i}: got {g}, numpy {e}"
            );
        }
    }
}
