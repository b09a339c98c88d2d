//! The second batch of kernels (index_ops, misc_ops, resize, quant) against independent numpy
//! references (`scripts/gen_kernel_fixtures_extra.py`, fixtures in `tests/fixtures_extra/`),
//! in both numerics modes, plus their error cases.
//!
//! Tolerances are per case in `cases.json` with the meaning documented in `tests/fixtures.rs`:
//! exact mode `|got - want| ≤ atol + rtol·|want|` against the f64 reference cast to f32; ane
//! mode: the output rounded to fp16 within `ane_ulps` fp16 ulps of the reference rounded to
//! fp16. Data movement and lookups compare with 0 tolerance; arithmetic ops (scatter modes,
//! dequantize) allow 1e-7 relative (one f32 rounding) and 1 fp16 ulp; einsum uses the GEMM
//! bound 2e-6·K. Indices compare exactly.

mod common;

use common::{Case, In};

use anekit_cpu::index_ops::{self, ScatterMode};
use anekit_cpu::quant::{self, QuantDtype};
use anekit_cpu::resize::{self, SamplingMode};
use anekit_cpu::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures_extra")
}

fn load(name: &str) -> In {
    common::load(&dir(), name)
}

enum Out {
    F(Tensor),
    I(Tensor<i32>),
}

fn run(kernel: &str, c: &Case<'_>) -> Out {
    let f = |t: anekit_cpu::Result<Tensor>| Out::F(t.unwrap_or_else(|e| panic!("{}: {e}", c.name)));
    let i = |t: anekit_cpu::Result<Tensor<i32>>| {
        Out::I(t.unwrap_or_else(|e| panic!("{}: {e}", c.name)))
    };
    let mode = || ScatterMode::from_mil(c.s("mode")).unwrap();
    match kernel {
        "gather_batched" => f(index_ops::gather(
            c.f("x"),
            c.i("indices"),
            c.int("axis"),
            c.int("batch_dims") as usize,
        )),
        "gather_nd" => f(index_ops::gather_nd(
            c.f("x"),
            c.i("indices"),
            c.int("batch_dims") as usize,
        )),
        "scatter" => f(index_ops::scatter(
            c.f("data"),
            c.i("indices"),
            c.f("updates"),
            c.int("axis"),
            mode(),
        )),
        "scatter_along_axis" => f(index_ops::scatter_along_axis(
            c.f("data"),
            c.i("indices"),
            c.f("updates"),
            c.int("axis"),
            mode(),
        )),
        "scatter_nd" => f(index_ops::scatter_nd(
            c.f("data"),
            c.i("indices"),
            c.f("updates"),
            mode(),
        )),
        "one_hot" => f(index_ops::one_hot(
            c.i("indices"),
            c.int("depth") as usize,
            c.int("axis"),
            c.num64("on_value") as f32,
            c.num64("off_value") as f32,
        )),
        "argsort" => i(index_ops::argsort(
            c.f("x"),
            c.int("axis"),
            c.p["ascending"].as_bool().unwrap(),
        )),
        "non_zero" => i(index_ops::non_zero(c.f("x"))),
        "einsum" => {
            let mut ops = Vec::new();
            for k in ["v0", "v1"] {
                if let Some(v) = c.fo(k) {
                    ops.push(v);
                }
            }
            f(misc_ops::einsum(c.s("equation"), &ops))
        }
        "range_1d" => f(misc_ops::range_1d(
            c.num64("start"),
            c.num64("end"),
            c.num64("step"),
        )),
        "fill" => {
            let shape: Vec<i64> = c.us("shape").iter().map(|&d| d as i64).collect();
            f(misc_ops::fill(&shape, c.num64("value") as f32))
        }
        "reverse_sequence" => f(misc_ops::reverse_sequence(
            c.f("x"),
            c.i("lengths").data(),
            c.int("seq_axis"),
            c.int("batch_axis"),
        )),
        "sliding_windows" => f(misc_ops::sliding_windows(
            c.f("x"),
            c.int("axis"),
            c.int("size") as usize,
            c.int("stride") as usize,
        )),
        "flatten2d" => f(misc_ops::flatten2d(c.f("x"), c.int("axis"))),
        "resize_bilinear" => f(resize::resize_bilinear(
            c.f("x"),
            c.int("h") as usize,
            c.int("w") as usize,
            SamplingMode::from_mil(c.s("mode")).unwrap(),
        )),
        "resize_nearest_neighbor" => f(resize::resize_nearest_neighbor(
            c.f("x"),
            c.int("h") as usize,
            c.int("w") as usize,
        )),
        "depth_to_space" => f(resize::depth_to_space(c.f("x"), c.int("block") as usize)),
        "space_to_depth" => f(resize::space_to_depth(c.f("x"), c.int("block") as usize)),
        "pixel_shuffle" => f(resize::pixel_shuffle(c.f("x"), c.int("block") as usize)),
        "pixel_unshuffle" => f(resize::pixel_unshuffle(c.f("x"), c.int("block") as usize)),
        "quantize" => f(quant::quantize(
            c.f("x"),
            c.f("scale"),
            c.fo("zero_point"),
            c.opt_int("axis"),
            QuantDtype::from_mil(c.s("dtype")).unwrap(),
        )),
        "dequantize" => f(quant::dequantize(
            c.f("x"),
            c.f("scale"),
            c.fo("zero_point"),
            c.opt_int("axis"),
        )),
        "blockwise_shift_scale" => f(quant::blockwise_shift_scale(
            c.f("data"),
            c.f("scale"),
            c.fo("offset"),
        )),
        "lut_to_dense_ios16" => f(quant::lut_to_dense_ios16(
            c.bytes("indices"),
            c.f("lut"),
            &c.us("shape"),
        )),
        "lut_to_dense" => f(quant::lut_to_dense(
            c.f("indices"),
            c.f("lut"),
            c.opt_int("vector_axis"),
        )),
        "sparse_to_dense_ios16" => f(quant::sparse_to_dense_ios16(
            c.f("nonzero_data"),
            c.bytes("mask"),
            &c.us("shape"),
        )),
        "sparse_to_dense" => f(quant::sparse_to_dense(c.f("nonzero_data"), c.f("mask"))),
        k => panic!("no dispatch for kernel {k}"),
    }
}

fn check(name: &str, got: &Tensor, numerics: Numerics, case: &Value) {
    let file = match numerics {
        Numerics::Exact => format!("{name}.out.exact.npy"),
        Numerics::Ane => format!("{name}.out.ane.npy"),
    };
    common::check_f32(&dir(), name, got, &file, numerics, case);
}

fn run_cases(kernels: &[&str]) {
    let all = common::cases(&dir());
    let mut ran = 0;
    for case in all["cases"].as_array().unwrap() {
        let kernel = case["kernel"].as_str().unwrap();
        if !kernels.contains(&kernel) {
            continue;
        }
        let c = Case::load(&dir(), case);
        let name = c.name;
        match run(kernel, &c) {
            Out::F(t) => {
                check(name, &t, Numerics::Exact, case);
                check(name, &t, Numerics::Ane, case);
            }
            Out::I(t) => {
                let In::I(w) = load(&format!("{name}.out.exact.npy")) else {
                    panic!("{name}: expected int reference")
                };
                assert_eq!(t, w, "{name}: indices");
            }
        }
        ran += 1;
    }
    assert!(ran > 0, "no fixture case for {kernels:?}");
}

#[test]
fn gather_batched_and_gather_nd() {
    run_cases(&["gather_batched", "gather_nd"]);
}

#[test]
fn scatter_family_all_modes() {
    run_cases(&["scatter", "scatter_along_axis", "scatter_nd"]);
}

#[test]
fn one_hot_argsort_non_zero() {
    run_cases(&["one_hot", "argsort", "non_zero"]);
}

#[test]
fn einsum_forms() {
    run_cases(&["einsum"]);
}

#[test]
fn range_fill_reverse_sequence_sliding_flatten() {
    run_cases(&[
        "range_1d",
        "fill",
        "reverse_sequence",
        "sliding_windows",
        "flatten2d",
    ]);
}

#[test]
fn resize_modes_and_nearest() {
    run_cases(&["resize_bilinear", "resize_nearest_neighbor"]);
}

#[test]
fn block_rearrangements() {
    run_cases(&[
        "depth_to_space",
        "space_to_depth",
        "pixel_shuffle",
        "pixel_unshuffle",
    ]);
}

#[test]
fn quantize_dequantize() {
    run_cases(&["quantize", "dequantize", "blockwise_shift_scale"]);
}

#[test]
fn lut_and_sparse_decompression() {
    run_cases(&[
        "lut_to_dense_ios16",
        "lut_to_dense",
        "sparse_to_dense_ios16",
        "sparse_to_dense",
    ]);
}

// ---------------------------------------------------------------- error cases

fn t(shape: &[usize]) -> Tensor {
    let n = shape.iter().product();
    Tensor::new(shape.to_vec(), (0..n).map(|v| v as f32).collect()).unwrap()
}
fn ti(shape: &[usize], v: Vec<i32>) -> Tensor<i32> {
    Tensor::new(shape.to_vec(), v).unwrap()
}

fn param_op<T: std::fmt::Debug>(r: anekit_cpu::Result<T>) -> (&'static str, &'static str) {
    match r {
        Err(KernelError::Param { op, param, .. }) => (op, param),
        other => panic!("expected a Param error, got {other:?}"),
    }
}

fn shape_op<T: std::fmt::Debug>(r: anekit_cpu::Result<T>) -> &'static str {
    match r {
        Err(KernelError::Shape { op, .. }) | Err(KernelError::InvalidInput { op, .. }) => op,
        other => panic!("expected a Shape/InvalidInput error, got {other:?}"),
    }
}

#[test]
fn index_op_errors() {
    let x = t(&[2, 3, 4]);
    let idx = ti(&[2, 2], vec![0, 1, 2, 3]);
    // index 3 out of range for axis of size 3
    assert_eq!(
        param_op(index_ops::gather(x.view(), idx.view(), 1, 1)),
        ("gather", "indices")
    );
    // axis inside the batch dims
    assert_eq!(
        param_op(index_ops::gather(
            x.view(),
            ti(&[2, 1], vec![0, 0]).view(),
            0,
            1
        )),
        ("gather", "axis")
    );
    // batch dims disagree
    assert_eq!(
        shape_op(index_ops::gather(
            x.view(),
            ti(&[3, 1], vec![0; 3]).view(),
            1,
            1
        )),
        "gather"
    );
    assert_eq!(
        param_op(index_ops::gather(x.view(), idx.view(), 1, 3)),
        ("gather", "batch_dims")
    );
    assert_eq!(
        shape_op(index_ops::gather_nd(
            x.view(),
            ti(&[1, 4], vec![0; 4]).view(),
            0
        )),
        "gather_nd"
    );
    assert_eq!(
        param_op(index_ops::gather_nd(
            x.view(),
            ti(&[1, 2], vec![-3, 0]).view(),
            0
        )),
        ("gather_nd", "indices")
    );
    assert_eq!(
        param_op(ScatterMode::from_mil("replace")),
        ("scatter", "mode")
    );
    let upd = t(&[2, 1, 4]);
    assert_eq!(
        shape_op(index_ops::scatter(
            x.view(),
            ti(&[2], vec![0, 1]).view(),
            upd.view(),
            1,
            ScatterMode::Add
        )),
        "scatter"
    );
    assert_eq!(
        param_op(index_ops::scatter(
            x.view(),
            ti(&[1], vec![5]).view(),
            upd.view(),
            1,
            ScatterMode::Add
        )),
        ("scatter", "indices")
    );
    assert_eq!(
        shape_op(index_ops::scatter_along_axis(
            x.view(),
            ti(&[2, 3, 2], vec![0; 12]).view(),
            t(&[2, 3, 2]).view(),
            1,
            ScatterMode::Update
        )),
        "scatter_along_axis"
    );
    assert_eq!(
        shape_op(index_ops::scatter_nd(
            x.view(),
            ti(&[1, 2], vec![0, 0]).view(),
            t(&[1, 3]).view(),
            ScatterMode::Update
        )),
        "scatter_nd"
    );
    assert_eq!(
        param_op(index_ops::one_hot(idx.view(), 3, 3, 1.0, 0.0)),
        ("one_hot", "axis")
    );
    assert_eq!(
        param_op(index_ops::argsort(x.view(), -4, true)),
        ("argsort", "axis")
    );
    assert_eq!(
        shape_op(index_ops::non_zero(Tensor::scalar(1.0).view())),
        "non_zero"
    );
}

#[test]
fn misc_op_errors() {
    let x = t(&[2, 3]);
    for eq in [
        "ij,jk->ik",
        "ii->i",
        "i...->i",
        "ij->iz",
        "ij->ii",
        "i j->j i 1",
    ] {
        assert_eq!(
            param_op(misc_ops::einsum(eq, &[x.view()])),
            ("einsum", "equation"),
            "{eq}"
        );
    }
    assert_eq!(
        shape_op(misc_ops::einsum("ij,jk->ik", &[x.view(), x.view()])),
        "einsum"
    );
    assert_eq!(
        param_op(misc_ops::einsum(
            "ij,jk,kl->il",
            &[x.view(), x.view(), x.view()]
        )),
        ("einsum", "values")
    );
    assert_eq!(
        param_op(misc_ops::range_1d(0.0, 5.0, 0.0)),
        ("range_1d", "step")
    );
    assert_eq!(
        param_op(misc_ops::range_1d(0.0, 1e30, 1.0)),
        ("range_1d", "end")
    );
    assert_eq!(
        param_op(misc_ops::fill(&[2, -1], 0.0f32)),
        ("fill", "shape")
    );
    assert_eq!(
        param_op(misc_ops::reverse_sequence(x.view(), &[1, 4], 1, 0)),
        ("reverse_sequence", "lengths")
    );
    assert_eq!(
        param_op(misc_ops::reverse_sequence(x.view(), &[1, 1], 1, 1)),
        ("reverse_sequence", "seq_axis")
    );
    assert_eq!(
        param_op(misc_ops::reverse_sequence(x.view(), &[1], 1, 0)),
        ("reverse_sequence", "lengths")
    );
    assert_eq!(
        param_op(misc_ops::sliding_windows(x.view(), 1, 4, 1)),
        ("sliding_windows", "size")
    );
    assert_eq!(
        param_op(misc_ops::sliding_windows(x.view(), 1, 2, 0)),
        ("sliding_windows", "size")
    );
    assert_eq!(
        param_op(misc_ops::flatten2d(x.view(), 3)),
        ("flatten2d", "axis")
    );
    assert_eq!(misc_ops::flatten2d(x.view(), -2).unwrap().shape(), &[1, 6]);
}

#[test]
fn resize_errors() {
    let x = t(&[1, 4, 2, 3]);
    assert_eq!(
        param_op(SamplingMode::from_mil("BILINEAR")),
        ("resize_bilinear", "sampling_mode")
    );
    assert_eq!(
        param_op(resize::resize_bilinear(
            x.view(),
            0,
            2,
            SamplingMode::Default
        )),
        ("resize_bilinear", "target_size")
    );
    assert_eq!(
        shape_op(resize::resize_nearest_neighbor(t(&[2, 3]).view(), 2, 2)),
        "resize_nearest_neighbor"
    );
    assert_eq!(
        shape_op(resize::depth_to_space(x.view(), 3)),
        "depth_to_space"
    );
    assert_eq!(
        shape_op(resize::space_to_depth(x.view(), 2)),
        "space_to_depth"
    );
    assert_eq!(
        shape_op(resize::pixel_shuffle(t(&[3, 4, 2]).view(), 2)),
        "pixel_shuffle"
    );
    assert_eq!(
        shape_op(resize::pixel_unshuffle(x.view(), 2)),
        "pixel_unshuffle"
    );
    assert_eq!(
        param_op(resize::depth_to_space(x.view(), 0)),
        ("depth_to_space", "block_size")
    );
}

#[test]
fn quant_errors() {
    let x = t(&[2, 3]);
    let v3 = t(&[3]);
    let v2 = t(&[2]);
    assert_eq!(
        param_op(QuantDtype::from_mil("int4")),
        ("quantize", "output_dtype")
    );
    // vector scale without axis, wrong length, matrix scale
    assert_eq!(
        param_op(quant::quantize(
            x.view(),
            v3.view(),
            None,
            None,
            QuantDtype::Int8
        )),
        ("quantize", "axis")
    );
    assert_eq!(
        shape_op(quant::dequantize(x.view(), v3.view(), None, Some(0))),
        "dequantize"
    );
    assert_eq!(
        param_op(quant::dequantize(x.view(), x.view(), None, Some(0))),
        ("dequantize", "scale")
    );
    assert!(quant::dequantize(x.view(), v2.view(), Some(v2.view()), Some(-2)).is_ok());
    assert_eq!(
        shape_op(quant::blockwise_shift_scale(
            x.view(),
            t(&[2, 2]).view(),
            None
        )),
        "constexpr_blockwise_shift_scale"
    );
    assert_eq!(
        shape_op(quant::blockwise_shift_scale(
            x.view(),
            t(&[1, 3]).view(),
            Some(t(&[1, 1]).view())
        )),
        "constexpr_blockwise_shift_scale"
    );
    assert_eq!(
        shape_op(quant::lut_to_dense_ios16(&[0], t(&[3]).view(), &[2])),
        "constexpr_lut_to_dense"
    );
    assert_eq!(
        param_op(quant::lut_to_dense_ios16(&[0, 0], t(&[4]).view(), &[2])),
        ("constexpr_lut_to_dense", "indices")
    );
    let idx = Tensor::new(vec![2], vec![0.0f32, 4.0]).unwrap();
    assert_eq!(
        param_op(quant::lut_to_dense(idx.view(), t(&[1, 4, 1]).view(), None)),
        ("constexpr_lut_to_dense", "indices")
    );
    assert_eq!(
        param_op(quant::lut_to_dense(
            t(&[2]).view(),
            t(&[1, 4, 2]).view(),
            None
        )),
        ("constexpr_lut_to_dense", "vector_axis")
    );
    assert_eq!(
        shape_op(quant::lut_to_dense(
            t(&[3]).view(),
            t(&[2, 4, 1]).view(),
            None
        )),
        "constexpr_lut_to_dense"
    );
    // 3 set bits but 2 values; padding bit set
    assert_eq!(
        param_op(quant::sparse_to_dense_ios16(
            v2.view(),
            &[0b0000_0111],
            &[5]
        )),
        ("constexpr_sparse_to_dense", "nonzero_data")
    );
    assert_eq!(
        param_op(quant::sparse_to_dense_ios16(
            v2.view(),
            &[0b1000_0011],
            &[5]
        )),
        ("constexpr_sparse_to_dense", "mask")
    );
    assert_eq!(
        param_op(quant::sparse_to_dense(
            v3.view(),
            Tensor::new(vec![2], vec![1.0f32, 1.0]).unwrap().view()
        )),
        ("constexpr_sparse_to_dense", "nonzero_data")
    );
}
