//! Builder calls: shape errors name the layer, the op and the shapes; each op family lowers,
//! runs on the CPU executor and matches the reference evaluator.

use anekit_build::builder::{Binary, Conv2d, GraphBuilder, PoolKind};
use anekit_build::eval::evaluate;
use anekit_build::lower::{LowerOptions, Target, lower};
use anekit_cpu::exec::{ExecOptions, Executor, NamedTensor};

#[test]
fn conv_channel_mismatch_names_layer_op_and_shapes() {
    let mut b = GraphBuilder::new();
    let x = b.input("x", &[1, 3, 8, 8]);
    let w = b.random("w", &[4, 5, 3, 3], 0.1);
    let err = b
        .conv2d("c", x, w, None, Conv2d::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(
            "conv2d `c`: conv: `x` has 3 channels but `weight` expects 5 per group x 1 group(s)"
        ),
        "{err}"
    );
    assert!(err.contains("x: fp16[1, 3, 8, 8]"), "{err}");
    assert!(err.contains("weight: fp16[4, 5, 3, 3]"), "{err}");
    // The failed layer left nothing behind.
    assert!(b.graph().nodes.is_empty());
    assert!(b.graph().layers.is_empty());
}

#[test]
fn other_shape_errors() {
    let mut b = GraphBuilder::new();
    let x = b.input("x", &[2, 16]);
    let y = b.input("y", &[3, 16]);
    let e = b.add("s", x, y).unwrap_err().to_string();
    assert!(e.starts_with("add `s`: add:"), "{e}");
    assert!(e.contains("x: fp16[2, 16], y: fp16[3, 16]"), "{e}");
    let e = b.matmul("m", x, y, false, false).unwrap_err().to_string();
    assert!(e.starts_with("matmul `m`: matmul:"), "{e}");
    let w = b.random("w", &[8, 15], 0.1);
    let e = b.linear("fc", x, w, None).unwrap_err().to_string();
    assert!(
        e.contains("the last dim of `x` must equal dim 1 of `weight`"),
        "{e}"
    );
    let e = b.reshape("r", x, &[5, 7]).unwrap_err().to_string();
    assert!(e.starts_with("reshape `r`: reshape:"), "{e}");
    let e = b.concat("c", &[x, y], 1, false).unwrap_err().to_string();
    assert!(e.starts_with("concat `c`: concat:"), "{e}");
    let e = b
        .constant("k", &[2, 2], vec![1.0; 3])
        .unwrap_err()
        .to_string();
    assert_eq!(e, "constant `k`: shape [2, 2] holds 4 values, 3 given");
    let e = b
        .linear_conv_random("lc", x, 4, false)
        .unwrap_err()
        .to_string();
    assert_eq!(e, "linear_conv `lc`: x must be [1, C, 1, S], got [2, 16]");
}

/// `g` lowered for `chip`, checked, written to a temporary folder (kept alive by the returned
/// guard) and loaded on the executor, with the input dtypes the lowering chose.
fn executor_for(
    g: &anekit_build::Graph,
    chip: &str,
) -> (Executor, Vec<anekit_core::DType>, tempfile::TempDir) {
    let l = lower(g, &Target::chip(chip).unwrap(), &LowerOptions::default()).unwrap();
    let checked = anekit_ir::check(&l.text);
    assert!(
        checked.is_valid(),
        "{:?}\n{}",
        checked.errors().collect::<Vec<_>>(),
        l.text
    );
    let dir = tempfile::tempdir().unwrap();
    l.write_to(dir.path()).unwrap();
    let exec = Executor::new(
        checked.program.unwrap(),
        Some(anekit_ir::weights::Weights::new(dir.path())),
        ExecOptions::default(),
    )
    .unwrap();
    (exec, l.inputs.iter().map(|i| i.1).collect(), dir)
}

/// Lower for `chip`, run on the executor and compare with the reference (relative error).
fn run_and_compare(g: &anekit_build::Graph, chip: &str) -> f32 {
    let (exec, dtypes, _dir) = executor_for(g, chip);
    let mut feed = Vec::new();
    let mut named = Vec::new();
    for (i, id) in g.inputs.iter().enumerate() {
        let v = g.value(*id);
        let data = anekit_build::graph::random_values(7 + i as u64, 1.0, v.element_count());
        named.push(NamedTensor {
            name: v.name.clone(),
            shape: v.shape.clone(),
            data: anekit_core::TensorData::F32(data.clone())
                .convert(dtypes[i])
                .unwrap(),
        });
        feed.push((v.name.as_str(), data));
    }
    let out = exec.run(&named).unwrap();
    let reference = evaluate(g, &feed).unwrap();
    let mut worst = 0f32;
    for (o, r) in out.iter().zip(&reference) {
        assert_eq!(o.shape, r.shape);
        let scale = r.data.iter().fold(1f32, |m, v| m.max(v.abs()));
        let a = o.data.to_f32();
        worst = worst.max(
            a.iter()
                .zip(&r.data)
                .fold(0f32, |m, (x, y)| m.max((x - y).abs()))
                / scale,
        );
    }
    worst
}

#[test]
fn depthwise_grouped_strided_dilated_convs_and_pools_run() {
    let mut b = GraphBuilder::new();
    let x = b.input("x", &[1, 8, 12, 12]);
    let dw = b
        .conv2d_random("dw", x, 8, 3, true, Conv2d::default().groups(8).pad(1))
        .unwrap();
    assert_eq!(b.shape(dw), [1, 8, 12, 12]);
    assert_eq!(b.graph().layers.last().unwrap().detail, "depthwise_conv2d");
    let gr = b
        .conv2d_random(
            "grouped",
            dw,
            16,
            3,
            false,
            Conv2d::default().groups(2).stride(2),
        )
        .unwrap();
    assert_eq!(b.shape(gr), [1, 16, 5, 5]);
    let di = b
        .conv2d_random(
            "dilated",
            gr,
            8,
            3,
            false,
            Conv2d::default().dilation(2).pad(2),
        )
        .unwrap();
    assert_eq!(b.shape(di), [1, 8, 5, 5]);
    let mp = b
        .pool2d("mp", di, PoolKind::Max, [2, 2], [1, 1], [0; 4])
        .unwrap();
    let ap = b
        .pool2d("ap", mp, PoolKind::Avg, [3, 3], [1, 1], [1, 1, 1, 1])
        .unwrap();
    assert_eq!(b.shape(ap), [1, 8, 4, 4]);
    b.output(ap);
    let g = b.finish();
    for chip in ["m1", "m4"] {
        let err = run_and_compare(&g, chip);
        assert!(err < 1e-2, "{chip}: {err}");
    }
}

#[test]
fn transformer_ops_run() {
    let mut b = GraphBuilder::new();
    let x = b.input("x", &[1, 2, 6, 16]);
    let g = b.random("gamma", &[16], 0.5);
    let be = b.random("beta", &[16], 0.5);
    let ln = b
        .layer_norm("ln", x, &[-1], Some(g), Some(be), 1e-5)
        .unwrap();
    let rms = b.rms_norm("rms", ln, -1, None, 1e-5).unwrap();
    let ge = b.gelu("gelu", rms).unwrap();
    let si = b.silu("silu", ge).unwrap();
    let re = b.relu("relu", si).unwrap();
    let ro = b.rope("rope", re, 10000.0).unwrap();
    let att = b
        .scaled_dot_product_attention("attn", ro, x, x, None, true)
        .unwrap();
    let mm = b.matmul("mm", att, x, true, false).unwrap();
    assert_eq!(b.shape(mm), [1, 2, 16, 16]);
    let sm = b.softmax("sm", mm, -1).unwrap();
    let t = b.transpose("t", sm, &[0, 2, 1, 3]).unwrap();
    let r = b.reshape("r", t, &[1, 16, 32]).unwrap();
    let s1 = b.slice("s1", r, &[0, 0, 0], &[1, 16, 16]).unwrap();
    let s2 = b.slice("s2", r, &[0, 0, 16], &[1, 16, 32]).unwrap();
    let c = b.concat("c", &[s2, s1], 2, false).unwrap();
    let half = b.constant("half", &[1, 1, 32], vec![0.5; 32]).unwrap();
    let d = b.binary("d", Binary::Div, c, half).unwrap();
    let m = b.binary("mx", Binary::Maximum, d, r).unwrap();
    let sc = b.scale("sc", m, 0.25).unwrap();
    b.output(sc);
    b.output(att);
    let graph = b.finish();
    for chip in ["m1", "m4"] {
        let err = run_and_compare(&graph, chip);
        assert!(err < 1e-2, "{chip}: {err}");
    }
}

#[test]
fn linear_conv_and_npy_constants() {
    let mut b = GraphBuilder::new();
    let x = b.input("x", &[1, 16, 1, 8]);
    // A 2x16 weight from npy bytes (written with anekit-core's npy writer).
    let w: Vec<f32> = (0..32).map(|i| (i as f32 - 16.0) / 16.0).collect();
    let npy =
        anekit_core::npy::write_npy(&[2, 16, 1, 1], &anekit_core::TensorData::F32(w)).unwrap();
    let wt = b.constant_npy("w", &npy).unwrap();
    let y = b.linear_conv("proj", x, wt, None).unwrap();
    assert_eq!(b.shape(y), [1, 2, 1, 8]);
    let c = b.cast("c", y, anekit_core::DType::Fp32).unwrap();
    b.output(c);
    let g = b.finish();
    assert!(run_and_compare(&g, "m4") < 1e-2);
    // Casts are refused for M1/M2 ("cast op unsupported").
    let e = lower(&g, &Target::chip("m1").unwrap(), &LowerOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("`cast`"), "{e}");
}

#[test]
fn random_constants_are_seeded_and_stable() {
    let a = anekit_build::graph::random_values(42, 1.0, 4);
    assert_eq!(a, anekit_build::graph::random_values(42, 1.0, 4));
    assert_ne!(a, anekit_build::graph::random_values(43, 1.0, 4));
    assert!(a.iter().all(|v| v.abs() <= 1.0));
}

/// The reference evaluator reads `epsilon` as the program stores it (an fp16 constant), as the
/// executor does: 1e-7 is an fp16 subnormal stored as 2·2⁻²⁴ ≈ 1.19e-7, and with a variance far
/// below it a layer_norm result depends on epsilon alone (x = ±a, y = ±a / √(a² + ε)).
#[test]
fn layer_norm_epsilon_is_read_as_stored_in_fp16() {
    let mut b = GraphBuilder::new();
    let x = b.input("x", &[1, 2]);
    let y = b.layer_norm("ln", x, &[-1], None, None, 1e-7).unwrap();
    b.output(y);
    let g = b.finish();
    let a = 2f32.powi(-14);
    let want = |eps: f64| f64::from(a) / (f64::from(a) * f64::from(a) + eps).sqrt();
    let stored = f64::from(half::f16::from_f32(1e-7).to_f32());
    assert!((want(stored) - want(1e-7)).abs() > 0.05 * want(1e-7));

    let reference = evaluate(&g, &[("x", vec![a, -a])]).unwrap();
    let r = &reference[0].data;
    assert!(
        (f64::from(r[0]) - want(stored)).abs() < 1e-3 * want(stored),
        "{r:?}"
    );

    let (exec, dtypes, _dir) = executor_for(&g, "m4");
    let input = NamedTensor {
        name: "x".into(),
        shape: vec![1, 2],
        data: anekit_core::TensorData::F32(vec![a, -a])
            .convert(dtypes[0])
            .unwrap(),
    };
    let out = exec.run(&[input]).unwrap()[0].data.to_f32();
    // Both within fp16 rounding of the stored-epsilon value (ulp at 0.17: 2⁻¹³).
    assert!(
        (f64::from(out[0]) - want(stored)).abs() <= 2f64.powi(-13),
        "{out:?}"
    );
    assert!((out[0] - r[0]).abs() <= 2f32.powi(-13), "{out:?} vs {r:?}");
}
