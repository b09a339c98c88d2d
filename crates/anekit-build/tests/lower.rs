//! Lowered canned models parse, validate (anekit_ir::check + Weights::check) in each dialect,
//! run on the CPU executor against the builder's reference evaluator, and keep to the M1/M2
//! dialect. The small variants run; every canned model at full size is checked as text
//! (`lower_text`, same text without materialising the weights).

/// One chip per MIL dialect family: M1, M2 (program 1.0/ios16, fp16 I/O); M3 (1.3/ios18, fp16
/// I/O); M4, M5 (1.3/ios18, fp32 I/O with casts).
const FAMILIES: &[&str] = &["m1", "m2", "m3", "m4", "m5"];

use anekit_build::lower::{LowerOptions, Target, lower, lower_text};
use anekit_build::models;

fn tiny_models() -> Vec<(&'static str, anekit_build::Graph)> {
    vec![
        (
            "notes-cnn-tiny",
            models::notes_cnn(&models::CnnConfig::TINY).unwrap(),
        ),
        (
            "notes-attention-tiny",
            models::notes_attention(&models::AttentionConfig::TINY).unwrap(),
        ),
        (
            "transformer-block-tiny",
            models::transformer_block(&models::TransformerConfig::TINY).unwrap(),
        ),
        (
            "decoder-tiny",
            models::decoder(&models::TransformerConfig::TINY).unwrap(),
        ),
        ("conv-stack", models::conv_stack(64, 4, 16).unwrap().graph),
        ("sram-probe", models::sram_probe(256, 16).unwrap().graph),
        ("matmul", models::matmul_bench(32, 64, 16).unwrap().graph),
    ]
}

#[test]
fn every_model_validates_in_every_dialect() {
    for &chip in FAMILIES {
        let target = Target::chip(chip).unwrap();
        for (name, g) in tiny_models() {
            let l = lower(&g, &target, &LowerOptions::default()).unwrap();
            let checked = anekit_ir::check(&l.text);
            let errors: Vec<String> = checked.errors().map(|d| d.message.clone()).collect();
            assert!(
                errors.is_empty(),
                "{name} on {chip}: {errors:?}\n{}",
                l.text
            );
            let dir = tempfile::tempdir().unwrap();
            l.write_to(dir.path()).unwrap();
            let w = anekit_ir::weights::Weights::new(dir.path());
            let (diags, n) = w.check(checked.program.as_ref().unwrap());
            assert!(diags.is_empty(), "{name} on {chip}: {diags:?}");
            assert!(
                n > 0 || name == "matmul",
                "{name}: no blob constants checked"
            );
        }
    }
}

/// Deterministic inputs in [-1, 1] for every graph input.
fn inputs_for(g: &anekit_build::Graph) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    g.inputs
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let v = g.value(*id);
            let data = anekit_build::graph::random_values(100 + i as u64, 1.0, v.element_count());
            (v.name.clone(), v.shape.clone(), data)
        })
        .collect()
}

/// Largest |a - b| relative to the largest |b| (at least 1).
fn rel_err(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(1f32, |m, v| m.max(v.abs()));
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs())) / scale
}

#[test]
fn lowered_models_run_on_the_cpu_executor_and_match_the_reference() {
    use anekit_cpu::exec::{ExecOptions, Executor, NamedTensor};
    for &chip in FAMILIES {
        let target = Target::chip(chip).unwrap();
        for (name, g) in tiny_models() {
            let l = lower(&g, &target, &LowerOptions::default()).unwrap();
            let dir = tempfile::tempdir().unwrap();
            l.write_to(dir.path()).unwrap();
            let program = anekit_ir::check(&l.text).program.unwrap();
            let weights = anekit_ir::weights::Weights::new(dir.path());
            let exec = Executor::new(program, Some(weights), ExecOptions::default())
                .unwrap_or_else(|e| panic!("{name} on {chip}: {e}"));
            let inputs = inputs_for(&g);
            let named: Vec<NamedTensor> = inputs
                .iter()
                .zip(&l.inputs)
                .map(|((n, shape, data), (io_name, dtype, _))| {
                    assert_eq!(n, io_name);
                    let data = anekit_core::TensorData::F32(data.clone())
                        .convert(*dtype)
                        .unwrap();
                    NamedTensor {
                        name: n.clone(),
                        shape: shape.clone(),
                        data,
                    }
                })
                .collect();
            let out = exec
                .run(&named)
                .unwrap_or_else(|e| panic!("{name} on {chip}: {e}"));
            let feed: Vec<(&str, Vec<f32>)> = inputs
                .iter()
                .map(|(n, _, d)| (n.as_str(), d.clone()))
                .collect();
            let reference = anekit_build::eval::evaluate(&g, &feed).unwrap();
            assert_eq!(out.len(), reference.len());
            for (o, r) in out.iter().zip(&reference) {
                assert_eq!(o.shape, r.shape, "{name} on {chip}");
                let err = rel_err(&o.data.to_f32(), &r.data);
                // fp16 rounding of every op result (executor, ANE numerics) vs the f32 reference.
                assert!(err < 2e-2, "{name} on {chip}: relative error {err}");
            }
        }
    }
}

#[test]
fn m1_m2_text_has_no_program_1_3_construct_and_no_fp32_io() {
    for chip in ["m1", "m2"] {
        let target = Target::chip(chip).unwrap();
        for (name, g) in tiny_models() {
            let text = lower(&g, &target, &LowerOptions::default()).unwrap().text;
            assert_m1_dialect(name, chip, &text);
        }
    }
}

#[test]
fn lower_text_is_lower_without_the_weights() {
    for &chip in FAMILIES {
        let target = Target::chip(chip).unwrap();
        for (name, g) in tiny_models() {
            let full = lower(&g, &target, &LowerOptions::default()).unwrap();
            let text = lower_text(&g, &target, &LowerOptions::default()).unwrap();
            assert_eq!(text.text, full.text, "{name} on {chip}");
            assert_eq!(text.inputs, full.inputs);
            assert_eq!(text.outputs, full.outputs);
            assert!(text.weights.is_empty());
        }
    }
}

#[test]
fn every_canned_model_at_full_size_validates_in_every_dialect() {
    for name in models::CANNED {
        let g = models::by_name(name).unwrap().unwrap();
        for &chip in FAMILIES {
            let l = lower_text(&g, &Target::chip(chip).unwrap(), &LowerOptions::default()).unwrap();
            let checked = anekit_ir::check(&l.text);
            let errors: Vec<String> = checked.errors().map(|d| d.message.clone()).collect();
            assert!(errors.is_empty(), "{name} on {chip}: {errors:?}");
            if chip == "m1" || chip == "m2" {
                assert_m1_dialect(name, chip, &l.text);
            } else {
                assert!(l.text.starts_with("program(1.3)\n"), "{name} on {chip}");
            }
        }
    }
}

/// program(1.0)/ios16, no 1.3 construct (compact literals, cast, fp32), fp16 I/O, identity
/// outputs.
fn assert_m1_dialect(name: &str, chip: &str, text: &str) {
    assert!(text.starts_with("program(1.0)\n"), "{name}");
    assert!(text.contains("func main<ios16>("), "{name}");
    for bad in [
        "program(1.3)",
        "ios18",
        "fp32",
        "cast(",
        " = string(",
        "uint64(",
        "int32(",
        "bool(",
    ] {
        // Compact scalars (`int32(1)`) never appear; verbose ones are `tensor<int32, []>(1)`.
        let hits = text
            .match_indices(bad)
            .filter(|(i, _)| !text[..*i].ends_with("[]>"))
            .count();
        assert_eq!(hits, 0, "{name} on {chip}: found `{bad}`");
    }
    // Every function output is produced by `identity`.
    let checked = anekit_ir::check(text);
    let p = checked.program.unwrap();
    let f = p.function("main").unwrap();
    assert!(!f.outputs.is_empty());
    for o in &f.outputs {
        let v = f.value(*o).unwrap();
        match v.def {
            anekit_ir::ir::ValueDef::Op { op, .. } => {
                assert_eq!(f.ops[op].kind, "identity", "{name}")
            }
            _ => panic!("{name}: output is not an op result"),
        }
        assert_eq!(v.ty.tensor().unwrap().dtype, anekit_core::DType::Fp16);
    }
    for i in &f.inputs {
        assert_eq!(
            f.value(*i).unwrap().ty.tensor().unwrap().dtype,
            anekit_core::DType::Fp16
        );
    }
}

#[test]
fn m4_uses_program_1_3_with_fp32_io_and_m3_fp16_io() {
    let g = models::notes_cnn(&models::CnnConfig::TINY).unwrap();
    let m4 = lower(&g, &Target::chip("m4").unwrap(), &LowerOptions::default()).unwrap();
    assert!(m4.text.starts_with("program(1.3)\n"));
    assert!(
        m4.text
            .contains("func main<ios18>(tensor<fp32, [1, 3, 32, 32]> image)")
    );
    assert!(
        m4.text.contains(
            "tensor<fp32, [1, 10]> softmax = cast(dtype = softmax_dtype, x = softmax_fp16)"
        )
    );
    assert_eq!(m4.outputs[0].1, anekit_core::DType::Fp32);
    let m3 = lower(&g, &Target::chip("m3").unwrap(), &LowerOptions::default()).unwrap();
    assert!(
        m3.text
            .contains("func main<ios18>(tensor<fp16, [1, 3, 32, 32]> image)")
    );
    assert!(!m3.text.contains("cast("));
    // Names are stable: the same graph lowers to the same text.
    let again = lower(&g, &Target::chip("m4").unwrap(), &LowerOptions::default()).unwrap();
    assert_eq!(m4.text, again.text);
    assert_eq!(m4.weights, again.weights);
}

#[test]
fn blob_offsets_follow_the_writer_rule() {
    // conv1 8x3x7x7 fp16 = 2352 B at data 128 -> next metadata align64(128 + 2352) = 2496, etc.
    // Constants are written in argument-name order: a layer's bias before its weight.
    let g = models::notes_cnn(&models::CnnConfig::TINY).unwrap();
    let l = lower(&g, &Target::chip("m1").unwrap(), &LowerOptions::default()).unwrap();
    let offsets: Vec<u64> = l
        .text
        .match_indices("offset = tensor<uint64, []>(")
        .map(|(i, m)| {
            let rest = &l.text[i + m.len()..];
            rest[..rest.find(')').unwrap()].parse().unwrap()
        })
        .collect();
    let sizes = [8 * 3 * 49, 8 * 8 * 9, 16 * 8 * 9, 32, 32 * 256, 10, 10 * 32].map(|n| n * 2u64);
    let mut expect = Vec::new();
    let mut next = 64u64;
    for s in sizes {
        expect.push(next);
        next = (next + 64 + s).div_ceil(64) * 64;
    }
    assert_eq!(offsets, expect);
    assert_eq!(offsets[..3], [64, 2496, 3712]);
    let file = anekit_blob::BlobFile::parse(&l.weights).unwrap();
    assert_eq!(file.count(), 7);
    assert_eq!(l.weights.len() as u64, offsets[6] + 64 + 640);
    assert_eq!(
        anekit_build::lower::blob_constant_names(&g, &LowerOptions::default()),
        [
            "conv1_weight",
            "conv2_weight",
            "conv3_weight",
            "fc1_bias",
            "fc1_weight",
            "fc2_bias",
            "fc2_weight"
        ]
    );
}

#[test]
fn full_size_notes_attention_runs_and_matches_the_reference() {
    // The one full-size canned model cheap enough for a debug test (≈ 0.8 GMAC, ≈ 25 s, most
    // of it in the plain-loop reference evaluator): the notes' attention at seq 512, 8 heads of
    // 64, in the M1 and the M4 dialect. The other full-size models are checked as text
    // (`every_canned_model_at_full_size_validates_in_every_dialect`).
    use anekit_cpu::exec::{ExecOptions, Executor, NamedTensor};
    let g = models::by_name("notes-attention").unwrap().unwrap();
    let inputs = inputs_for(&g);
    let feed: Vec<(&str, Vec<f32>)> = inputs
        .iter()
        .map(|(n, _, d)| (n.as_str(), d.clone()))
        .collect();
    let reference = anekit_build::eval::evaluate(&g, &feed).unwrap();
    for chip in ["m1", "m4"] {
        let l = lower(&g, &Target::chip(chip).unwrap(), &LowerOptions::default()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        l.write_to(dir.path()).unwrap();
        let program = anekit_ir::check(&l.text).program.unwrap();
        let exec = Executor::new(
            program,
            Some(anekit_ir::weights::Weights::new(dir.path())),
            ExecOptions::default(),
        )
        .unwrap();
        let (name, shape, data) = &inputs[0];
        let data = anekit_core::TensorData::F32(data.clone())
            .convert(l.inputs[0].1)
            .unwrap();
        let out = exec
            .run(&[NamedTensor {
                name: name.clone(),
                shape: shape.clone(),
                data,
            }])
            .unwrap();
        assert_eq!(out[0].shape, [512, 512]);
        let err = rel_err(&out[0].data.to_f32(), &reference[0].data);
        assert!(err < 2e-2, "{chip}: relative error {err}");
    }
}
