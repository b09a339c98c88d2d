//! Every pass: it fires on a graph made for it, and the program computes the same outputs
//! before and after (CPU executor on the lowered programs, and the reference evaluator).

use anekit_build::builder::{Binary, Conv2d, GraphBuilder};
use anekit_build::eval::evaluate;
use anekit_build::graph::{ConstData, Graph, Operand, ValueDef, random_values};
use anekit_build::lower::{LowerOptions, Target, lower};
use anekit_build::passes::{DEFAULT_PIPELINE, run_pass, run_passes};
use anekit_cpu::exec::{ExecOptions, Executor, NamedTensor};

fn inputs(g: &Graph) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    g.inputs
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let v = g.value(*id);
            (
                v.name.clone(),
                v.shape.clone(),
                random_values(11 + i as u64, 1.0, v.element_count()),
            )
        })
        .collect()
}

/// Outputs of `g` lowered for M4 and run on the CPU executor (ANE numerics).
fn execute(g: &Graph) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    let l = lower(g, &Target::chip("m4").unwrap(), &LowerOptions::default()).unwrap();
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
    let named: Vec<NamedTensor> = inputs(g)
        .into_iter()
        .map(|(name, shape, data)| NamedTensor {
            name,
            shape,
            data: anekit_core::TensorData::F32(data),
        })
        .collect();
    exec.run(&named)
        .unwrap()
        .into_iter()
        .map(|t| (t.name, t.shape, t.data.to_f32()))
        .collect()
}

fn reference(g: &Graph) -> Vec<Vec<f32>> {
    let ins = inputs(g);
    let feed: Vec<(&str, Vec<f32>)> = ins
        .iter()
        .map(|(n, _, d)| (n.as_str(), d.clone()))
        .collect();
    evaluate(g, &feed)
        .unwrap()
        .into_iter()
        .map(|a| a.data)
        .collect()
}

fn rel_err(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(1f32, |m, v| m.max(v.abs()));
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs())) / scale
}

/// Largest relative output difference allowed between a graph and its rewrite: on the
/// executor (ANE numerics, every op rounded to fp16) and on the f32 reference evaluator (the
/// rewrite may round constants to fp16 differently, e.g. conv-bn's fused weights).
const EXEC_TOL: f32 = 1e-2;
const REF_TOL: f32 = 5e-3;

/// The largest output differences (executor, reference) between `g` and `after`, asserting
/// equal output names and shapes.
fn differences(g: &Graph, after: &Graph, pass: &str) -> (f32, f32) {
    let (before, ref_before) = (execute(g), reference(g));
    let (after, ref_after) = (execute(after), reference(after));
    assert_eq!(before.len(), after.len());
    let mut worst = (0f32, 0f32);
    for ((a, b), (ra, rb)) in before
        .iter()
        .zip(&after)
        .zip(ref_before.iter().zip(&ref_after))
    {
        assert_eq!(a.0, b.0, "{pass}: output names");
        assert_eq!(a.1, b.1, "{pass}: output shapes");
        worst.0 = worst.0.max(rel_err(&b.2, &a.2));
        worst.1 = worst.1.max(rel_err(rb, ra));
    }
    worst
}

/// Run `pass` on `g`; assert it made `fired` rewrites and left outputs (names, shapes, values)
/// unchanged within tolerance. Returns the rewritten graph.
fn check_pass(g: &Graph, pass: &str, fired: usize) -> Graph {
    let mut after_g = g.clone();
    let n = run_pass(&mut after_g, pass).unwrap();
    assert_eq!(n, fired, "{pass} rewrites");
    let (e, r) = differences(g, &after_g, pass);
    assert!(e < EXEC_TOL, "{pass}: executor outputs differ by {e}");
    assert!(r < REF_TOL, "{pass}: reference outputs differ by {r}");
    after_g
}

fn ops(g: &Graph) -> Vec<&str> {
    g.nodes.iter().map(|n| n.op.as_str()).collect()
}

#[test]
fn const_fold() {
    let mut b = GraphBuilder::new();
    let x = b.input("x", &[1, 8]);
    let c1 = b
        .constant("c1", &[1, 8], (0..8).map(|i| i as f32 / 8.0).collect())
        .unwrap();
    let c2 = b.constant("c2", &[1, 8], vec![0.5; 8]).unwrap();
    let s = b.add("s", c1, c2).unwrap();
    let t = b.scale("t", s, 2.0).unwrap();
    let y = b.mul("y", x, t).unwrap();
    b.output(y);
    let g = b.finish();
    let after = check_pass(&g, "const-fold", 2);
    assert_eq!(ops(&after), ["mul"]);
}

#[test]
fn dce() {
    let mut b = GraphBuilder::new();
    let x = b.input("x", &[1, 8]);
    let dead = b.relu("dead", x).unwrap();
    let _dead2 = b.sigmoid("dead2", dead).unwrap();
    let y = b.relu("y", x).unwrap();
    b.output(y);
    let after = check_pass(&b.finish(), "dce", 2);
    assert_eq!(ops(&after), ["relu"]);
}

#[test]
fn conv_bn() {
    let after = check_pass(&conv_bn_graph(), "conv-bn", 1);
    assert_eq!(ops(&after), ["conv", "relu"]);
}

fn conv_bn_graph() -> Graph {
    let mut b = GraphBuilder::new();
    let x = b.input("x", &[1, 4, 6, 6]);
    let c = b
        .conv2d_random("conv", x, 8, 3, true, Conv2d::default().pad(1))
        .unwrap();
    let mean = b.random("mean", &[8], 0.5);
    let var = b
        .constant("var", &[8], (0..8).map(|i| 0.5 + i as f32 / 8.0).collect())
        .unwrap();
    let gamma = b.random("gamma", &[8], 1.0);
    let beta = b.random("beta", &[8], 0.5);
    let bn = b
        .batch_norm("bn", c, mean, var, Some(gamma), Some(beta), 1e-3)
        .unwrap();
    let y = b.relu("y", bn).unwrap();
    b.output(y);
    b.finish()
}

#[test]
fn a_wrong_rewrite_fails_the_check() {
    // The comparison behind every pass test can fail: conv-bn's result with its fused weights
    // off by 2 % (as a slip in the scale would make them) is beyond both tolerances.
    let g = conv_bn_graph();
    let mut wrong = g.clone();
    assert_eq!(run_pass(&mut wrong, "conv-bn").unwrap(), 1);
    let conv = wrong.nodes.iter().find(|n| n.op == "conv").unwrap();
    let w = conv.arg("weight").unwrap();
    let scaled: Vec<f32> = wrong
        .const_floats(w)
        .unwrap()
        .iter()
        .map(|v| v * 1.02)
        .collect();
    wrong.values[w.index()].def = ValueDef::Const(ConstData::Floats(scaled));
    let (e, r) = differences(&g, &wrong, "conv-bn (wrong)");
    assert!(e > EXEC_TOL, "executor difference {e}");
    assert!(r > REF_TOL, "reference difference {r}");
}

#[test]
fn bias_fusion_for_conv_and_linear() {
    let mut b = GraphBuilder::new();
    let x = b.input("x", &[1, 4, 5, 5]);
    let c = b
        .conv2d_random("conv", x, 6, 1, false, Conv2d::default())
        .unwrap();
    let cb = b.random("cb", &[1, 6, 1, 1], 0.5);
    let y = b.add("y", c, cb).unwrap();
    b.output(y);
    let v = b.input("v", &[3, 16]);
    let l = b.linear_random("fc", v, 8, false).unwrap();
    let lb = b.random("lb", &[8], 0.5);
    let z = b.add("z", lb, l).unwrap();
    b.output(z);
    let after = check_pass(&b.finish(), "bias-fusion", 2);
    assert_eq!(ops(&after), ["conv", "linear"]);
    // The outputs keep their names: y and z are now the conv and the linear.
    let names: Vec<&str> = after
        .outputs
        .iter()
        .map(|o| after.value(*o).name.as_str())
        .collect();
    assert_eq!(names, ["y", "z"]);
}

#[test]
fn transpose_cancel() {
    let mut b = GraphBuilder::new();
    let x = b.input("x", &[1, 2, 3, 4]);
    let r = b.relu("r", x).unwrap();
    let t1 = b.transpose("t1", r, &[0, 2, 1, 3]).unwrap();
    let t2 = b.transpose("t2", t1, &[0, 2, 1, 3]).unwrap(); // identity
    let a = b.scale("a", t2, 3.0).unwrap();
    let t3 = b.transpose("t3", a, &[0, 2, 3, 1]).unwrap();
    let t4 = b.transpose("t4", t3, &[0, 3, 1, 2]).unwrap(); // merged into one (identity too)
    let t5 = b.transpose("t5", t4, &[3, 2, 1, 0]).unwrap();
    let t6 = b.transpose("t6", t5, &[1, 0, 2, 3]).unwrap(); // merged into [2, 3, 1, 0]
    b.output(t6);
    let after = check_pass(&b.finish(), "transpose-cancel", 3);
    assert_eq!(ops(&after), ["relu", "mul", "transpose"]);
}

#[test]
fn reshape_cancel() {
    let mut b = GraphBuilder::new();
    let x = b.input("x", &[2, 12]);
    let r = b.relu("r", x).unwrap();
    let a = b.reshape("a", r, &[24]).unwrap();
    let c = b.reshape("c", a, &[4, 6]).unwrap();
    let d = b.reshape("d", c, &[2, 12]).unwrap(); // back to r's shape
    let e = b.scale("e", d, 2.0).unwrap();
    let f = b.reshape("f", e, &[3, 8]).unwrap();
    let h = b.reshape("h", f, &[6, 4]).unwrap(); // merged: reshape(e, [6, 4])
    b.output(h);
    let after = check_pass(&b.finish(), "reshape-cancel", 3);
    assert_eq!(ops(&after), ["relu", "mul", "reshape"]);
}

#[test]
fn identity_removal() {
    let mut b = GraphBuilder::new();
    let x = b.input("x", &[1, 8]);
    let y = b.relu("y", x).unwrap();
    let mut g = b.finish();
    let i1 = g
        .add_op(
            "identity",
            vec![("x".into(), Operand::Value(y.0))],
            "mid",
            None,
        )
        .unwrap()[0];
    let s = g
        .add_op("sigmoid", vec![("x".into(), Operand::Value(i1))], "s", None)
        .unwrap()[0];
    let out = g
        .add_op(
            "identity",
            vec![("x".into(), Operand::Value(s))],
            "out",
            None,
        )
        .unwrap()[0];
    g.outputs.push(out);
    let after = check_pass(&g, "identity", 1);
    // The identity producing the function output stays (the M1/M2 form needs it).
    assert_eq!(ops(&after), ["relu", "sigmoid", "identity"]);
    assert_eq!(after.value(after.outputs[0]).name, "out");
}

#[test]
fn div_to_mul() {
    let mut b = GraphBuilder::new();
    let x = b.input("x", &[2, 8]);
    let c = b
        .constant("c", &[1, 8], (1..9).map(|i| i as f32 * 0.5).collect())
        .unwrap();
    let y = b.binary("y", Binary::Div, x, c).unwrap();
    let z = b.binary("z", Binary::Div, c, x).unwrap(); // divisor not constant: untouched
    b.output(y);
    b.output(z);
    let after = check_pass(&b.finish(), "div-to-mul", 1);
    assert_eq!(ops(&after), ["mul", "real_div"]);
}

#[test]
fn linear_to_conv() {
    let mut b = GraphBuilder::new();
    let x = b.input("x", &[8, 16]);
    let y = b.linear_random("fc", x, 12, true).unwrap();
    let v = b.input("v", &[1, 4, 12]);
    let z = b.linear_random("fc3", v, 6, false).unwrap();
    b.output(y);
    b.output(z);
    let after = check_pass(&b.finish(), "linear-to-conv", 2);
    let o = ops(&after);
    assert_eq!(o.iter().filter(|op| **op == "conv").count(), 2);
    assert!(!o.contains(&"linear"));
    let conv = after.nodes.iter().find(|n| n.op == "conv").unwrap();
    assert_eq!(after.shape(conv.arg("weight").unwrap()), [12, 16, 1, 1]);
    assert_eq!(after.shape(conv.arg("x").unwrap()), [1, 16, 1, 8]);
}

#[test]
fn default_pipeline_keeps_the_decoder_result() {
    let g = anekit_build::models::decoder(&anekit_build::models::TransformerConfig::TINY).unwrap();
    let before = execute(&g);
    let mut after_g = g.clone();
    let reports = run_passes(&mut after_g, DEFAULT_PIPELINE).unwrap();
    assert_eq!(reports.len(), DEFAULT_PIPELINE.len());
    let after = execute(&after_g);
    for (a, b) in before.iter().zip(&after) {
        assert_eq!(a.0, b.0);
        assert!(rel_err(&b.2, &a.2) < 1e-2);
    }
}

#[test]
fn import_round_trip_reproduces_the_lowered_text_and_weights() {
    for chip in ["m1", "m4"] {
        let g = anekit_build::models::notes_cnn(&anekit_build::models::CnnConfig::TINY).unwrap();
        let l = lower(&g, &Target::chip(chip).unwrap(), &LowerOptions::default()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        l.write_to(dir.path()).unwrap();
        let w = anekit_ir::weights::Weights::new(dir.path());
        let (again, reports) = anekit_build::import::optimize(&l.text, Some(&w), &[]).unwrap();
        assert!(reports.is_empty());
        assert_eq!(again.text, l.text, "{chip}");
        assert_eq!(again.weights, l.weights, "{chip}");
    }
}

#[test]
fn optimize_a_file_with_every_pass() {
    // An M1 file (identity output) with a division by a constant and a conv + bias add.
    let mut b = GraphBuilder::new();
    let x = b.input("x", &[1, 4, 5, 5]);
    let c = b
        .conv2d_random("conv", x, 6, 3, false, Conv2d::default().pad(1))
        .unwrap();
    let cb = b.random("cb", &[1, 6, 1, 1], 0.5);
    let y = b.add("y", c, cb).unwrap();
    let two = b.scalar("two", 2.0);
    let d = b.binary("d", Binary::Div, y, two).unwrap();
    b.output(d);
    let g = b.finish();
    let l = lower(&g, &Target::chip("m1").unwrap(), &LowerOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    l.write_to(dir.path()).unwrap();
    let w = anekit_ir::weights::Weights::new(dir.path());
    let (opt, reports) =
        anekit_build::import::optimize(&l.text, Some(&w), DEFAULT_PIPELINE).unwrap();
    let fired: Vec<(&str, usize)> = reports
        .iter()
        .map(|r| (r.pass.as_str(), r.rewrites))
        .collect();
    assert!(fired.contains(&("identity", 0)), "{fired:?}");
    assert!(fired.contains(&("div-to-mul", 1)), "{fired:?}");
    assert!(fired.contains(&("bias-fusion", 1)), "{fired:?}");
    assert!(opt.text.starts_with("program(1.0)\n"));
    assert!(!opt.text.contains("real_div"));
    assert_eq!(opt.text.matches("identity(").count(), 1);
    // Same output name and values as the original on the executor.
    let run = |text: &str, weights: &[u8]| {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("weights")).unwrap();
        std::fs::write(d.path().join("weights/weight.bin"), weights).unwrap();
        let p = anekit_ir::check(text).program.unwrap();
        let e = Executor::new(
            p,
            Some(anekit_ir::weights::Weights::new(d.path())),
            ExecOptions::default(),
        )
        .unwrap();
        let data = anekit_core::TensorData::F32(random_values(5, 1.0, 100))
            .convert(anekit_core::DType::Fp16)
            .unwrap();
        e.run(&[NamedTensor {
            name: "x".into(),
            shape: vec![1, 4, 5, 5],
            data,
        }])
        .unwrap()
    };
    let a = run(&l.text, &l.weights);
    let b2 = run(&opt.text, &opt.weights);
    assert_eq!(a[0].name, "d");
    assert_eq!(b2[0].name, "d");
    assert!(rel_err(&b2[0].data.to_f32(), &a[0].data.to_f32()) < 1e-2);
}
