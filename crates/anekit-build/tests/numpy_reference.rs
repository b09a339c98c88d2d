//! Builder graphs against numpy (scripts/gen_builder_fixtures.py): the reference evaluator, and
//! the lowered programs on the CPU executor for M1 and M4.
//!
//! Tolerances (absolute): the reference evaluator computes in f32 from the same fp16-rounded
//! constants as numpy's f64 → 1e-5 (seen: 5e-7). The executor with exact numerics rounds at
//! the fp16 boundaries (outputs ≈ 0.1 for the CNN, up to ≈ 2 for attention, where half an fp16
//! ulp is 1e-3) → 1e-4 / 2e-3 (seen: 3e-5 / 1.2e-3). With ANE numerics every op result is
//! rounded to fp16 → 2e-4 / 4e-3 (seen: 3e-5 / 1.3e-3). The transformer block (outputs up to
//! ≈ 1.4, 20 ops deep): 1e-3 exact, 2.5e-3 ANE (seen: 4.8e-4 / 1.1e-3).

use anekit_build::Graph;
use anekit_build::builder::GraphBuilder;
use anekit_build::eval::evaluate;
use anekit_build::lower::{LowerOptions, Target, lower};
use anekit_build::{Conv2d, PoolKind};
use anekit_cpu::Numerics;
use anekit_cpu::exec::{ExecOptions, Executor, NamedTensor};
use std::path::PathBuf;

fn fixture(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("{name}.npy"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn values(name: &str) -> Vec<f32> {
    anekit_core::npy::read_npy(&fixture(name))
        .unwrap()
        .data
        .to_f32()
}

fn cnn() -> Graph {
    let mut b = GraphBuilder::new();
    let x = b.input("image", &[1, 3, 32, 32]);
    let w1 = b.constant_npy("w1", &fixture("cnn_w1")).unwrap();
    let w2 = b.constant_npy("w2", &fixture("cnn_w2")).unwrap();
    let w3 = b.constant_npy("w3", &fixture("cnn_w3")).unwrap();
    let c1 = b
        .conv2d("conv1", x, w1, None, Conv2d::default().stride(2).pad(3))
        .unwrap();
    let p1 = b
        .pool2d("pool1", c1, PoolKind::Max, [3, 3], [2, 2], [1; 4])
        .unwrap();
    let c2 = b
        .conv2d("conv2", p1, w2, None, Conv2d::default().pad(1))
        .unwrap();
    let c3 = b
        .conv2d("conv3", c2, w3, None, Conv2d::default().pad(1))
        .unwrap();
    let p2 = b
        .pool2d("pool2", c3, PoolKind::Max, [2, 2], [2, 2], [0; 4])
        .unwrap();
    let f = b.reshape("flatten", p2, &[1, 256]).unwrap();
    let f1w = b.constant_npy("fc1_w", &fixture("cnn_fc1_w")).unwrap();
    let f1b = b.constant_npy("fc1_b", &fixture("cnn_fc1_b")).unwrap();
    let f2w = b.constant_npy("fc2_w", &fixture("cnn_fc2_w")).unwrap();
    let f2b = b.constant_npy("fc2_b", &fixture("cnn_fc2_b")).unwrap();
    let h = b.linear("fc1", f, f1w, Some(f1b)).unwrap();
    let h = b.linear("fc2", h, f2w, Some(f2b)).unwrap();
    let y = b.softmax("softmax", h, -1).unwrap();
    b.output(y);
    b.finish()
}

fn attention() -> Graph {
    let mut b = GraphBuilder::new();
    let x = b.input("x", &[1, 2, 6, 8]);
    let g = b.constant_npy("gamma", &fixture("attn_gamma")).unwrap();
    let be = b.constant_npy("beta", &fixture("attn_beta")).unwrap();
    let h = b
        .layer_norm("ln", x, &[-1], Some(g), Some(be), 1e-5)
        .unwrap();
    let h = b.gelu("gelu", h).unwrap();
    let y = b
        .scaled_dot_product_attention("attn", h, h, h, None, true)
        .unwrap();
    b.output(y);
    b.finish()
}

/// The canned `transformer_block`'s layers (models.rs `transformer_block_on`) with the fixture's
/// weights: dim 8, 2 heads of 4, seq 4, hidden 16, causal, RoPE.
fn block() -> Graph {
    let (dim, heads, hd, seq) = (8i64, 2i64, 4i64, 4i64);
    let mut b = GraphBuilder::new();
    let x = b.input("x", &[1, 8, 1, 4]);
    let w =
        |b: &mut GraphBuilder, n: &str| b.constant_npy(n, &fixture(&format!("block_{n}"))).unwrap();
    let g1 = w(&mut b, "g1");
    let xn = b.rms_norm("attn_norm", x, 1, Some(g1), 1e-5).unwrap();
    let heads_of = |b: &mut GraphBuilder, n: &str| {
        let wt = w(b, n);
        let t = b.linear_conv(n, xn, wt, None).unwrap();
        let r = b
            .reshape(&format!("{n}_heads"), t, &[1, heads, hd, seq])
            .unwrap();
        b.transpose(&format!("{n}_t"), r, &[0, 1, 3, 2]).unwrap()
    };
    let q = heads_of(&mut b, "wq");
    let k = heads_of(&mut b, "wk");
    let v = heads_of(&mut b, "wv");
    let q = b.rope("q_rope", q, 10000.0).unwrap();
    let k = b.rope("k_rope", k, 10000.0).unwrap();
    let a = b
        .scaled_dot_product_attention("attn", q, k, v, None, true)
        .unwrap();
    let at = b.transpose("attn_t", a, &[0, 1, 3, 2]).unwrap();
    let af = b.reshape("attn_merge", at, &[1, dim, 1, seq]).unwrap();
    let wo = w(&mut b, "wo");
    let o = b.linear_conv("wo", af, wo, None).unwrap();
    let h = b.add("attn_residual", x, o).unwrap();
    let g2 = w(&mut b, "g2");
    let hn = b.rms_norm("ffn_norm", h, 1, Some(g2), 1e-5).unwrap();
    let (w1, w3, w2) = (w(&mut b, "w1"), w(&mut b, "w3"), w(&mut b, "w2"));
    let u = b.linear_conv("w1", hn, w1, None).unwrap();
    let u3 = b.linear_conv("w3", hn, w3, None).unwrap();
    let act = b.silu("silu", u).unwrap();
    let gated = b.mul("gate", act, u3).unwrap();
    let down = b.linear_conv("w2", gated, w2, None).unwrap();
    let y = b.add("ffn_residual", h, down).unwrap();
    b.output(y);
    b.finish()
}

fn max_abs(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()))
}

fn execute(g: &Graph, chip: &str, numerics: Numerics, input: &[f32]) -> Vec<f32> {
    let l = lower(g, &Target::chip(chip).unwrap(), &LowerOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    l.write_to(dir.path()).unwrap();
    let p = anekit_ir::check(&l.text).program.unwrap();
    let e = Executor::new(
        p,
        Some(anekit_ir::weights::Weights::new(dir.path())),
        ExecOptions {
            numerics,
            ..ExecOptions::default()
        },
    )
    .unwrap();
    let (name, dtype, shape) = &l.inputs[0];
    let data = anekit_core::TensorData::F32(input.to_vec())
        .convert(*dtype)
        .unwrap();
    let out = e
        .run(&[NamedTensor {
            name: name.clone(),
            shape: shape.clone(),
            data,
        }])
        .unwrap();
    out[0].data.to_f32()
}

fn check(g: &Graph, prefix: &str, tol_exact: f32, tol_ane: f32) {
    let input = values(&format!("{prefix}_input"));
    let expected = values(&format!("{prefix}_output"));
    let name = g.value(g.inputs[0]).name.clone();
    let reference = evaluate(g, &[(name.as_str(), input.clone())]).unwrap();
    let e = max_abs(&reference[0].data, &expected);
    assert!(e < 1e-5, "{prefix}: reference evaluator vs numpy {e}");
    for chip in ["m1", "m4"] {
        let exact = execute(g, chip, Numerics::Exact, &input);
        let e = max_abs(&exact, &expected);
        assert!(e < tol_exact, "{prefix} {chip} exact: {e}");
        let ane = execute(g, chip, Numerics::Ane, &input);
        let e = max_abs(&ane, &expected);
        assert!(e < tol_ane, "{prefix} {chip} ane: {e}");
    }
}

#[test]
fn notes_cnn_topology_matches_numpy() {
    check(&cnn(), "cnn", 1e-4, 2e-4);
}

#[test]
fn transformer_block_layers_match_numpy() {
    check(&block(), "block", 1e-3, 2.5e-3);
}

#[test]
fn layer_norm_gelu_causal_attention_matches_numpy() {
    check(&attention(), "attn", 2e-3, 4e-3);
}
