//! Every kernel against independent numpy references (`scripts/gen_kernel_fixtures.py`), in
//! both numerics modes.
//!
//! Tolerances (per case in `fixtures/cases.json`, chosen by the script):
//! - `exact` mode: `|got - want| ≤ atol + rtol·|want|` against the float64 reference cast to
//!   f32. The kernels compute in f32, so atol/rtol cover f32 rounding: for a dot product of
//!   length K with |terms| ≤ 1 the bound is ~K·2⁻²⁴, hence atol = 2e-6·K for matmul/conv;
//!   data-movement ops use 0.
//! - `ane` mode: the kernel output rounded to fp16 (as the executor does) must be within
//!   `ane_ulps` fp16 ulps of the float64 reference rounded to fp16. 1 ulp allows for the f32
//!   result landing on the other side of an fp16 rounding boundary than the f64 one; exact ops
//!   (data movement, single products of fp16 values) use 0. Where a sum cancels to a value much
//!   smaller than its terms, the f32 accumulation error (bounded by `ane_atol`, normally the
//!   exact-mode atol) can exceed one fp16 ulp of the tiny result, so where a case sets
//!   `ane_atol` above 0 an element also passes when `|fp16(got) - fp16(want)| ≤ ane_atol +
//!   ulp(want)`. Attention's `ane_atol` is larger
//!   because its ane-mode intermediates are rounded to fp16 and the reference's are not.
//! - Masks and indices compare exactly.
//!
//! Loading, parameter access and the check live in `tests/common/mod.rs`, shared with
//! `tests/kernels_extra.rs`.

mod common;

use common::{Case, In};

use anekit_cpu::activation::{Activation, GeluMode};
use anekit_cpu::attention::AttnMask;
use anekit_cpu::conv::{Conv2dParams, ConvTranspose2dParams};
use anekit_cpu::elementwise::{BinaryOp, CompareOp, LogicalOp, UnaryOp};
use anekit_cpu::pool::Pool2dParams;
use anekit_cpu::reduce::ReduceOp;
use anekit_cpu::shape_ops::{BilinearMode, PadMode, SliceParams};
use anekit_cpu::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

enum Out {
    F(Tensor),
    B(Tensor<bool>),
    I(Tensor<i32>),
}

fn load(name: &str) -> In {
    common::load(&dir(), name)
}

fn run(kernel: &str, c: &Case<'_>, numerics: Numerics) -> Vec<Out> {
    let one = |t: anekit_cpu::Result<Tensor>| vec![Out::F(t.unwrap())];
    match kernel {
        "matmul" => one(matmul::matmul(
            c.f("x"),
            c.f("y"),
            c.flag("transpose_x"),
            c.flag("transpose_y"),
        )),
        "linear" => one(matmul::linear(c.f("x"), c.f("weight"), c.fo("bias"))),
        "conv2d" => one(conv::conv2d(
            c.f("x"),
            c.f("weight"),
            c.fo("bias"),
            &Conv2dParams {
                strides: c.u2("strides"),
                dilations: c.u2("dilations"),
                pads: c.u4("pads"),
                groups: c.int("groups") as usize,
            },
        )),
        "conv_transpose2d" => one(conv::conv_transpose2d(
            c.f("x"),
            c.f("weight"),
            c.fo("bias"),
            &ConvTranspose2dParams {
                strides: c.u2("strides"),
                dilations: c.u2("dilations"),
                pads: c.u4("pads"),
                output_padding: c.u2("output_padding"),
                groups: c.int("groups") as usize,
            },
        )),
        "max_pool" | "avg_pool" => {
            let p = Pool2dParams {
                kernel: c.u2("kernel"),
                strides: c.u2("strides"),
                pads: c.u4("pads"),
                ceil_mode: c.flag("ceil_mode"),
            };
            if kernel == "max_pool" {
                one(pool::max_pool2d(c.f("x"), &p))
            } else {
                one(pool::avg_pool2d(
                    c.f("x"),
                    &p,
                    c.flag("exclude_padding_from_average"),
                ))
            }
        }
        "binary" => {
            let op = match c.s("op") {
                "add" => BinaryOp::Add,
                "sub" => BinaryOp::Sub,
                "mul" => BinaryOp::Mul,
                "real_div" => BinaryOp::RealDiv,
                "floor_div" => BinaryOp::FloorDiv,
                "pow" => BinaryOp::Pow,
                "maximum" => BinaryOp::Maximum,
                "minimum" => BinaryOp::Minimum,
                "mod" => BinaryOp::Mod,
                o => panic!("unknown binary op {o}"),
            };
            one(elementwise::binary(op, c.f("x"), c.f("y")))
        }
        "compare" => {
            let op = match c.s("op") {
                "equal" => CompareOp::Equal,
                "not_equal" => CompareOp::NotEqual,
                "greater" => CompareOp::Greater,
                "greater_equal" => CompareOp::GreaterEqual,
                "less" => CompareOp::Less,
                "less_equal" => CompareOp::LessEqual,
                o => panic!("unknown compare op {o}"),
            };
            vec![Out::B(
                elementwise::compare(op, c.f("x"), c.f("y")).unwrap(),
            )]
        }
        "logical" => {
            let op = match c.s("op") {
                "and" => LogicalOp::And,
                "or" => LogicalOp::Or,
                _ => LogicalOp::Xor,
            };
            vec![Out::B(
                elementwise::logical(op, c.b("x"), c.b("y")).unwrap(),
            )]
        }
        "select" => one(elementwise::select(c.b("cond"), c.f("a"), c.f("b"))),
        "unary" => {
            let op = match c.s("op") {
                "abs" => UnaryOp::Abs,
                "neg" => UnaryOp::Neg,
                "sqrt" => UnaryOp::Sqrt,
                "rsqrt" => UnaryOp::Rsqrt {
                    epsilon: c.num("epsilon"),
                },
                "inverse" => UnaryOp::Inverse {
                    epsilon: c.num("epsilon"),
                },
                "exp" => UnaryOp::Exp,
                "exp2" => UnaryOp::Exp2,
                "log" => UnaryOp::Log {
                    epsilon: c.num("epsilon"),
                },
                "square" => UnaryOp::Square,
                "floor" => UnaryOp::Floor,
                "ceil" => UnaryOp::Ceil,
                "round" => UnaryOp::Round,
                "sign" => UnaryOp::Sign,
                "sin" => UnaryOp::Sin,
                "cos" => UnaryOp::Cos,
                "tan" => UnaryOp::Tan,
                "tanh" => UnaryOp::Tanh,
                "asin" => UnaryOp::Asin,
                "acos" => UnaryOp::Acos,
                "atan" => UnaryOp::Atan,
                "sinh" => UnaryOp::Sinh,
                "cosh" => UnaryOp::Cosh,
                "atanh" => UnaryOp::Atanh,
                "erf" => UnaryOp::Erf,
                "clip" => UnaryOp::Clip {
                    alpha: c.num("alpha"),
                    beta: c.num("beta"),
                },
                "threshold" => UnaryOp::Threshold {
                    alpha: c.num("alpha"),
                },
                o => panic!("unknown unary op {o}"),
            };
            vec![Out::F(elementwise::unary(op, c.f("x")))]
        }
        "activation" => {
            let act = match c.s("op") {
                "relu" => Activation::Relu,
                "relu6" => Activation::Relu6,
                "leaky_relu" => Activation::LeakyRelu {
                    alpha: c.num("alpha"),
                },
                "elu" => Activation::Elu {
                    alpha: c.num("alpha"),
                },
                "sigmoid" => Activation::Sigmoid,
                "sigmoid_hard" => Activation::SigmoidHard {
                    alpha: c.num("alpha"),
                    beta: c.num("beta"),
                },
                "tanh" => Activation::Tanh,
                "gelu_exact" | "gelu_tanh" | "gelu_sigmoid" => {
                    Activation::Gelu(GeluMode::from_mil(c.s("mode")).unwrap())
                }
                "silu" => Activation::Silu,
                "softplus" => Activation::Softplus,
                "softsign" => Activation::Softsign,
                "clamped_relu" => Activation::ClampedRelu {
                    alpha: c.num("alpha"),
                    beta: c.num("beta"),
                },
                "scaled_tanh" => Activation::ScaledTanh {
                    alpha: c.num("alpha"),
                    beta: c.num("beta"),
                },
                "thresholded_relu" => Activation::ThresholdedRelu {
                    alpha: c.num("alpha"),
                },
                o => panic!("unknown activation {o}"),
            };
            vec![Out::F(activation::activation(act, c.f("x")))]
        }
        "softmax" => one(activation::softmax(c.f("x"), c.int("axis"))),
        "layer_norm" => one(norm::layer_norm(
            c.f("x"),
            &c.ints("axes"),
            c.fo("gamma"),
            c.fo("beta"),
            c.num("epsilon"),
        )),
        "rms_norm" => one(norm::rms_norm(
            c.f("x"),
            &c.ints("axes"),
            c.fo("gamma"),
            c.num("epsilon"),
        )),
        "batch_norm" => one(norm::batch_norm(
            c.f("x"),
            c.f("mean"),
            c.f("variance"),
            c.fo("gamma"),
            c.fo("beta"),
            c.num("epsilon"),
        )),
        "instance_norm" => one(norm::instance_norm(
            c.f("x"),
            c.fo("gamma"),
            c.fo("beta"),
            c.num("epsilon"),
        )),
        "l2_norm" => one(norm::l2_norm(c.f("x"), c.num("epsilon"))),
        "local_response_norm" => one(norm::local_response_norm(
            c.f("x"),
            c.int("size") as usize,
            c.num("alpha"),
            c.num("beta"),
            c.num("k"),
        )),
        "reverse" => one(shape_ops::reverse(c.f("x"), &c.ints("axes"))),
        "stack" => one(shape_ops::stack(&[c.f("a"), c.f("b")], c.int("axis"))),
        "reduce" => {
            let op = match c.s("op") {
                "sum" => ReduceOp::Sum,
                "mean" => ReduceOp::Mean,
                "max" => ReduceOp::Max,
                "min" => ReduceOp::Min,
                "prod" => ReduceOp::Prod,
                "l1_norm" => ReduceOp::L1Norm,
                "l2_norm" => ReduceOp::L2Norm,
                "log_sum" => ReduceOp::LogSum,
                "log_sum_exp" => ReduceOp::LogSumExp,
                "sum_square" => ReduceOp::SumSquare,
                o => panic!("unknown reduction {o}"),
            };
            let axes = c.p["axes"].is_array().then(|| c.ints("axes"));
            one(reduce::reduce(
                op,
                c.f("x"),
                axes.as_deref(),
                c.flag("keep_dims"),
            ))
        }
        "argmax" => vec![Out::I(
            reduce::argmax(c.f("x"), c.int("axis"), c.flag("keep_dims")).unwrap(),
        )],
        "argmin" => vec![Out::I(
            reduce::argmin(c.f("x"), c.int("axis"), c.flag("keep_dims")).unwrap(),
        )],
        "sdpa" => {
            let mask = match c.ins.get("mask") {
                None => None,
                Some(In::B(t)) => Some(AttnMask::Bool(t.view())),
                Some(In::F(t)) => Some(AttnMask::Additive(t.view())),
                Some(In::I(_) | In::Bytes(_)) => panic!("{}: mask is not bool or f32", c.name),
            };
            one(attention::scaled_dot_product_attention(
                c.f("q"),
                c.f("k"),
                c.f("v"),
                mask,
                numerics,
            ))
        }
        "transpose" => one(shape_ops::transpose(c.f("x"), &c.ints("perm"))),
        "concat" => {
            let names: Vec<&str> = ["a", "b", "c"]
                .into_iter()
                .filter(|k| c.ins.contains_key(*k))
                .collect();
            let views: Vec<TensorView<'_>> = names.iter().map(|k| c.f(k)).collect();
            one(shape_ops::concat(
                &views,
                c.int("axis"),
                c.flag("interleave"),
            ))
        }
        "split" => shape_ops::split(c.f("x"), &c.us("sizes"), c.int("axis"))
            .unwrap()
            .into_iter()
            .map(Out::F)
            .collect(),
        "slice_by_index" => one(shape_ops::slice_by_index(
            c.f("x"),
            &SliceParams {
                begin: c.ints("begin"),
                end: c.ints("end"),
                stride: c.ints("stride"),
                begin_mask: c.bools("begin_mask"),
                end_mask: c.bools("end_mask"),
                squeeze_mask: c.bools("squeeze_mask"),
            },
        )),
        "slice_by_size" => one(shape_ops::slice_by_size(
            c.f("x"),
            &c.ints("begin"),
            &c.ints("size"),
        )),
        "pad" => {
            let mode = match c.s("mode") {
                "constant" => PadMode::Constant(c.num("value")),
                "reflect" => PadMode::Reflect,
                _ => PadMode::Replicate,
            };
            one(shape_ops::pad(c.f("x"), &c.us("pads"), mode))
        }
        "gather" => one(shape_ops::gather(c.f("x"), c.i("indices"), c.int("axis"))),
        "gather_along_axis" => one(shape_ops::gather_along_axis(
            c.f("x"),
            c.i("indices"),
            c.int("axis"),
        )),
        "tile" => one(shape_ops::tile(c.f("x"), &c.us("reps"))),
        "cumsum" => one(shape_ops::cumsum(
            c.f("x"),
            c.int("axis"),
            c.flag("exclusive"),
            c.flag("reverse"),
        )),
        "topk" => {
            let (v, i) = shape_ops::topk(
                c.f("x"),
                c.int("k") as usize,
                c.int("axis"),
                c.flag("ascending"),
            )
            .unwrap();
            vec![Out::F(v), Out::I(i)]
        }
        "band_part" => one(shape_ops::band_part(
            c.f("x"),
            c.int("lower"),
            c.int("upper"),
        )),
        "upsample_nearest" => one(shape_ops::upsample_nearest(
            c.f("x"),
            c.num("scale_h"),
            c.num("scale_w"),
        )),
        "upsample_bilinear" => {
            let mode = match c.s("mode") {
                "align_corners" => BilinearMode::AlignCorners,
                "half_pixel" => BilinearMode::HalfPixel,
                _ => BilinearMode::Asymmetric,
            };
            one(shape_ops::upsample_bilinear(
                c.f("x"),
                c.num("scale_h"),
                c.num("scale_w"),
                mode,
            ))
        }
        k => panic!("no dispatch for kernel {k}"),
    }
}

fn check_f32(name: &str, got: &Tensor, want_file: &str, numerics: Numerics, case: &Value) {
    common::check_f32(&dir(), name, got, want_file, numerics, case);
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
        for numerics in [Numerics::Exact, Numerics::Ane] {
            let outs = run(kernel, &c, numerics);
            let names = case["outputs"].as_array().unwrap();
            assert_eq!(outs.len(), names.len(), "{name}: output count");
            for (out, oname) in outs.iter().zip(names) {
                let o = oname.as_str().unwrap();
                match out {
                    Out::F(t) => {
                        let file = match numerics {
                            Numerics::Exact => format!("{name}.{o}.exact.npy"),
                            Numerics::Ane => format!("{name}.{o}.ane.npy"),
                        };
                        check_f32(name, t, &file, numerics, case);
                    }
                    Out::B(t) => {
                        let In::B(w) = load(&format!("{name}.{o}.exact.npy")) else {
                            panic!("{name}: expected bool reference")
                        };
                        assert_eq!(t, &w, "{name}: mask");
                    }
                    Out::I(t) => {
                        let In::I(w) = load(&format!("{name}.{o}.exact.npy")) else {
                            panic!("{name}: expected int reference")
                        };
                        assert_eq!(t, &w, "{name}: indices");
                    }
                }
            }
        }
        ran += 1;
    }
    assert!(ran > 0, "no fixture case for {kernels:?}");
}

#[test]
fn matmul_and_linear() {
    run_cases(&["matmul", "linear"]);
}

#[test]
fn conv_and_conv_transpose() {
    run_cases(&["conv2d", "conv_transpose2d"]);
}

#[test]
fn pools() {
    run_cases(&["max_pool", "avg_pool"]);
}

#[test]
fn elementwise_binary_compare_logical_select() {
    run_cases(&["binary", "compare", "logical", "select"]);
}

#[test]
fn unary_math() {
    run_cases(&["unary"]);
}

#[test]
fn activations_and_softmax() {
    run_cases(&["activation", "softmax"]);
}

#[test]
fn norms() {
    run_cases(&[
        "layer_norm",
        "rms_norm",
        "batch_norm",
        "instance_norm",
        "l2_norm",
        "local_response_norm",
    ]);
}

#[test]
fn reductions() {
    run_cases(&["reduce", "argmax", "argmin"]);
}

#[test]
fn attention() {
    run_cases(&["sdpa"]);
}

#[test]
fn shape_ops() {
    run_cases(&[
        "transpose",
        "concat",
        "split",
        "slice_by_index",
        "slice_by_size",
        "pad",
        "gather",
        "gather_along_axis",
        "tile",
        "reverse",
        "stack",
        "cumsum",
        "topk",
        "band_part",
        "upsample_nearest",
        "upsample_bilinear",
    ]);
}

/// Bulk fp16/bf16 rounding against numpy's float16 conversion and a bit-level bf16 RNE.
#[test]
fn rounding_matches_numpy() {
    let In::F(x) = load("round_f16.x.npy") else {
        panic!()
    };
    let In::F(want) = load("round_f16.expected.npy") else {
        panic!()
    };
    let mut got = x.data().to_vec();
    numerics::round_f16(&mut got);
    for (i, (g, w)) in got.iter().zip(want.data()).enumerate() {
        assert!(
            g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()),
            "fp16 element {i}: {} → {g}, numpy {w}",
            x.data()[i]
        );
    }
    let In::F(want) = load("round_bf16.expected.npy") else {
        panic!()
    };
    let mut got = x.data().to_vec();
    numerics::round_bf16(&mut got);
    for (i, (g, w)) in got.iter().zip(want.data()).enumerate() {
        assert!(
            g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()),
            "bf16 element {i}: {} → {g}, reference {w}",
            x.data()[i]
        );
    }
}
