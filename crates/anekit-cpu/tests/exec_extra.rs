//! The ops wired in `exec/extra.rs`, run through `anekit_cpu::exec::Executor` as one-op MIL
//! programs on the numpy fixtures of `scripts/gen_kernel_fixtures_extra.py`
//! (`tests/fixtures_extra/`).
//!
//! Each case is built twice: with fp32 inputs/outputs and run in `exact` numerics (compared
//! with the float64 reference within the case's atol/rtol), and with fp16 inputs/outputs run
//! in `ane` numerics (the executor rounds the result to fp16; compared with the reference
//! rounded to fp16 within the case's fp16-ulp bound). Integer outputs compare exactly. The
//! MIL text, not the kernel API, carries every parameter, so these tests also check the
//! argument names, defaults and dtype handling of the wiring.

use anekit_core::{TensorData, npy};
use anekit_cpu::Numerics;
use anekit_cpu::exec::{ExecOptions, Executor, NamedTensor};
use half::f16;
use serde_json::Value;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures_extra")
}

fn load(file: &str) -> (Vec<usize>, TensorData) {
    let bytes = std::fs::read(dir().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let a = npy::read_npy(&bytes).unwrap();
    (a.shape.iter().map(|&d| d as usize).collect(), a.data)
}

fn case_json(name: &str) -> Value {
    let text = std::fs::read_to_string(dir().join("cases.json")).unwrap();
    let all: Value = serde_json::from_str(&text).unwrap();
    all["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no fixture case {name}"))
        .clone()
}

/// One argument of the op under test.
enum A {
    /// A function input fed from fixture input `key` (float or int32 as stored; `Int8` feeds
    /// a float fixture of integer values as int8).
    In(&'static str, &'static str),
    Int8In(&'static str, &'static str),
    /// A tuple of function inputs.
    Tuple(&'static str, &'static [&'static str]),
    Int(&'static str, i64),
    Bool(&'static str, bool),
    Float(&'static str, f32),
    Str(&'static str, &'static str),
    /// A float constant tensor from a fixture input (quantization scales).
    FloatConst(&'static str, &'static str),
    /// An integer constant tensor (dtype given) from a float fixture input of integers.
    IntConst(&'static str, &'static str, &'static str),
}

struct Spec {
    case: &'static str,
    op: &'static str,
    args: Vec<A>,
    /// Declared output dtype when not the float dtype of the program.
    out_dtype: Option<&'static str>,
}

fn spec(case: &'static str, op: &'static str, args: Vec<A>) -> Spec {
    Spec {
        case,
        op,
        args,
        out_dtype: None,
    }
}

fn shape_str(s: &[usize]) -> String {
    let v: Vec<String> = s.iter().map(|d| d.to_string()).collect();
    format!("[{}]", v.join(", "))
}

fn float_list(v: &[f32]) -> String {
    let v: Vec<String> = v.iter().map(|x| format!("{x:?}")).collect();
    v.join(", ")
}

/// Build the program text and its inputs for float dtype `fp` ("fp32" or "fp16").
fn build(s: &Spec, fp: &str) -> (String, Vec<NamedTensor>) {
    let mut inputs = Vec::new();
    let mut params = Vec::new();
    let mut body = String::new();
    let mut call = Vec::new();
    let mut feed = |name: &str, key: &str, int8: bool, params: &mut Vec<String>| {
        let (shape, data) = load(&format!("{}.{key}.npy", s.case));
        let (dtype, data) = match data {
            TensorData::I32(v) => ("int32", TensorData::I32(v)),
            other if int8 => (
                "int8",
                TensorData::I8(other.to_f32().iter().map(|&v| v as i8).collect()),
            ),
            other if fp == "fp16" => (
                "fp16",
                TensorData::F16(other.to_f32().iter().map(|&v| f16::from_f32(v)).collect()),
            ),
            other => ("fp32", TensorData::F32(other.to_f32())),
        };
        params.push(format!("tensor<{dtype}, {}> {name}", shape_str(&shape)));
        inputs.push(NamedTensor {
            name: name.to_string(),
            shape,
            data,
        });
    };
    for a in &s.args {
        let (arg, val) = match a {
            A::In(arg, key) => {
                feed(key, key, false, &mut params);
                (*arg, key.to_string())
            }
            A::Int8In(arg, key) => {
                feed(key, key, true, &mut params);
                (*arg, key.to_string())
            }
            A::Tuple(arg, keys) => {
                for k in keys.iter() {
                    feed(k, k, false, &mut params);
                }
                (*arg, format!("({})", keys.join(", ")))
            }
            other => {
                let (arg, ty, lit) = match other {
                    A::Int(a, v) => (*a, "int32".to_string(), format!("int32({v})")),
                    A::Bool(a, v) => (*a, "bool".to_string(), format!("bool({v})")),
                    A::Float(a, v) => (*a, fp.to_string(), format!("{fp}({v:?})")),
                    A::Str(a, v) => (*a, "string".to_string(), format!("string(\"{v}\")")),
                    A::FloatConst(a, key) => {
                        let (shape, data) = load(&format!("{}.{key}.npy", s.case));
                        let ty = format!("tensor<{fp}, {}>", shape_str(&shape));
                        let lit = if shape.is_empty() {
                            format!("{fp}({:?})", data.to_f32()[0])
                        } else {
                            format!("{ty}([{}])", float_list(&data.to_f32()))
                        };
                        let ty = if shape.is_empty() { fp.to_string() } else { ty };
                        (*a, ty, lit)
                    }
                    A::IntConst(a, key, dt) => {
                        let (shape, data) = load(&format!("{}.{key}.npy", s.case));
                        let v: Vec<String> = data
                            .to_f32()
                            .iter()
                            .map(|&x| (x as i64).to_string())
                            .collect();
                        let ty = format!("tensor<{dt}, {}>", shape_str(&shape));
                        (*a, ty.clone(), format!("{ty}([{}])", v.join(", ")))
                    }
                    _ => unreachable!(),
                };
                let cname = format!("c_{arg}");
                writeln!(
                    body,
                    "        {ty} {cname} = const()[name = string(\"{cname}\"), val = {lit}];"
                )
                .unwrap();
                (arg, cname)
            }
        };
        call.push(format!("{arg} = {val}"));
    }
    call.sort(); // MIL text writes arguments alphabetically
    let (out_shape, out_data) = load(&format!("{}.out.exact.npy", s.case));
    let out_dtype = match (&out_data, s.out_dtype) {
        (_, Some(d)) => d,
        (TensorData::I32(_), None) => "int32",
        _ => fp,
    };
    writeln!(
        body,
        "        tensor<{out_dtype}, {}> y = {}({})[name = string(\"y\")];",
        shape_str(&out_shape),
        s.op,
        call.join(", ")
    )
    .unwrap();
    let text = format!(
        "program(1.3)\n{{\n    func main<ios18>({}) {{\n{body}    }} -> (y);\n}}\n",
        params.join(", ")
    );
    (text, inputs)
}

fn run(s: &Spec, fp: &str, numerics: Numerics) -> NamedTensor {
    let (text, inputs) = build(s, fp);
    let checked = anekit_ir::check(&text);
    assert!(
        checked.is_valid(),
        "{}: {:?}\n{text}",
        s.case,
        checked.diagnostics
    );
    let exec = Executor::new(
        checked.program.unwrap(),
        None,
        ExecOptions {
            numerics,
            ..ExecOptions::default()
        },
    )
    .unwrap_or_else(|e| panic!("{}: {e}\n{text}", s.case));
    let mut out = exec
        .run(&inputs)
        .unwrap_or_else(|e| panic!("{}: {e}\n{text}", s.case));
    assert_eq!(out.len(), 1);
    out.remove(0)
}

fn ulps(a: f16, b: f16) -> u32 {
    if a == b || a.is_nan() && b.is_nan() {
        return 0;
    }
    let ord = |x: f16| {
        let b = x.to_bits() as i32;
        if b & 0x8000 != 0 { -(b & 0x7fff) } else { b }
    };
    (ord(a) - ord(b)).unsigned_abs()
}

fn check(s: &Spec) {
    let c = case_json(s.case);
    let (want_shape, want) = load(&format!("{}.out.exact.npy", s.case));
    let int_out = matches!(want, TensorData::I32(_)) || s.out_dtype.is_some();
    // exact numerics, fp32 program
    let got = run(s, "fp32", Numerics::Exact);
    assert_eq!(got.shape, want_shape, "{}: shape", s.case);
    let (g, w) = (got.data.to_f32(), want.to_f32());
    let (atol, rtol) = (
        c["atol"].as_f64().unwrap() as f32,
        c["rtol"].as_f64().unwrap() as f32,
    );
    for (i, (&g, &w)) in g.iter().zip(&w).enumerate() {
        let ok = if int_out {
            g == w
        } else {
            g == w || (g - w).abs() <= atol + rtol * w.abs()
        };
        assert!(ok, "{} (exact) element {i}: got {g}, want {w}", s.case);
    }
    // ane numerics, fp16 program
    let got = run(s, "fp16", Numerics::Ane);
    assert_eq!(got.shape, want_shape, "{}: shape (ane)", s.case);
    let g = got.data.to_f32();
    if int_out {
        assert_eq!(g, w, "{} (ane): values", s.case);
        return;
    }
    let (_, want_ane) = load(&format!("{}.out.ane.npy", s.case));
    let max_ulps = c["ane_ulps"].as_u64().unwrap() as u32;
    for (i, (&g, &w)) in g.iter().zip(&want_ane.to_f32()).enumerate() {
        let d = ulps(f16::from_f32(g), f16::from_f32(w));
        assert!(
            d <= max_ulps,
            "{} (ane) element {i}: got {g}, want {w} ({d} ulps)",
            s.case
        );
    }
}

#[test]
fn gather_batch_dims_and_gather_nd() {
    use A::*;
    check(&spec(
        "gather_bd2_axis2",
        "gather",
        vec![
            In("x", "x"),
            In("indices", "indices"),
            Int("axis", 2),
            Int("batch_dims", 2),
        ],
    ));
    check(&spec(
        "gather_bd1_axis_neg3",
        "gather",
        vec![
            In("x", "x"),
            In("indices", "indices"),
            Int("axis", -3),
            Int("batch_dims", 1),
        ],
    ));
    check(&spec(
        "gather_nd_k2",
        "gather_nd",
        vec![In("x", "x"), In("indices", "indices")],
    ));
    check(&spec(
        "gather_nd_bd1",
        "gather_nd",
        vec![In("x", "x"), In("indices", "indices"), Int("batch_dims", 1)],
    ));
}

#[test]
fn scatter_family() {
    use A::*;
    let sc = |case, mode| {
        spec(
            case,
            "scatter",
            vec![
                In("data", "data"),
                In("indices", "indices"),
                In("updates", "updates"),
                Int("axis", -2),
                Str("mode", mode),
            ],
        )
    };
    check(&sc("scatter_update", "update"));
    check(&sc("scatter_sub", "sub"));
    check(&sc("scatter_div", "div"));
    // mode omitted: coremltools' default is "add"
    check(&spec(
        "scatter_add",
        "scatter",
        vec![
            In("data", "data"),
            In("indices", "indices"),
            In("updates", "updates"),
            Int("axis", -2),
        ],
    ));
    check(&spec(
        "scatter_along_axis_max",
        "scatter_along_axis",
        vec![
            In("data", "data"),
            In("indices", "indices"),
            In("updates", "updates"),
            Int("axis", 0),
            Str("mode", "max"),
        ],
    ));
    check(&spec(
        "scatter_nd_mul",
        "scatter_nd",
        vec![
            In("data", "data"),
            In("indices", "indices"),
            In("updates", "updates"),
            Str("mode", "mul"),
        ],
    ));
}

#[test]
fn one_hot_argsort_non_zero() {
    use A::*;
    check(&spec(
        "one_hot_axis0",
        "one_hot",
        vec![
            In("indices", "indices"),
            Int("one_hot_vector_size", 4),
            Int("axis", 0),
            Float("on_value", 2.5),
            Float("off_value", -1.0),
        ],
    ));
    // defaults: axis -1, on 1, off 0 (int32 values, so an int32 result)
    check(&Spec {
        case: "one_hot_last",
        op: "one_hot",
        args: vec![In("indices", "indices"), Int("one_hot_vector_size", 5)],
        out_dtype: Some("int32"),
    });
    // defaults: descending
    check(&spec(
        "argsort_desc_ties",
        "argsort",
        vec![In("x", "x"), Int("axis", 1)],
    ));
    check(&spec(
        "argsort_asc_last",
        "argsort",
        vec![In("x", "x"), Bool("ascending", true)],
    ));
    check(&spec("non_zero_3d", "non_zero", vec![In("x", "x")]));
}

#[test]
fn einsum_programs() {
    use A::*;
    for (case, eq) in [
        ("einsum_nchw_nwhu", "nchw,nwhu->nchu"),
        ("einsum_attn_scores", "bhqd,bhkd->bhqk"),
        ("einsum_matmul", "ij,jk->ik"),
        ("einsum_out_perm", "bij,bjk->kbi"),
    ] {
        check(&spec(
            case,
            "einsum",
            vec![Tuple("values", &["v0", "v1"]), Str("equation", eq)],
        ));
    }
}

#[test]
fn range_fill_reverse_sequence_sliding_windows() {
    use A::*;
    check(&spec(
        "range_frac",
        "range_1d",
        vec![Float("start", 0.5), Float("end", 2.0), Float("step", 0.25)],
    ));
    check(&spec(
        "range_neg",
        "range_1d",
        vec![Float("start", 5.0), Float("end", -4.0), Float("step", -2.0)],
    ));
    check(&spec(
        "reverse_sequence_neg_axes",
        "reverse_sequence",
        vec![
            In("x", "x"),
            In("lengths", "lengths"),
            Int("seq_axis", -3),
            Int("batch_axis", -2),
        ],
    ));
    check(&spec(
        "sliding_windows_s2",
        "sliding_windows",
        vec![
            In("x", "x"),
            Int("axis", 1),
            Int("size", 4),
            Int("stride", 2),
        ],
    ));
}

#[test]
fn fill_from_shape_constant() {
    // No fixture input: shape and value are constants; checked against the fixture output.
    let s = Spec {
        case: "fill_f",
        op: "fill",
        args: vec![A::Float("value", -1.5)],
        out_dtype: None,
    };
    let (text, _) = build(&s, "fp32");
    let text = text.replace("(value = c_value)", "(shape = c_shape, value = c_value)");
    let text = text.replace(
        "        fp32 c_value",
        "        tensor<int32, [3]> c_shape = const()[name = string(\"c_shape\"), val = tensor<int32, [3]>([2, 3, 1])];\n        fp32 c_value",
    );
    let checked = anekit_ir::check(&text);
    assert!(checked.is_valid(), "{:?}\n{text}", checked.diagnostics);
    let exec = Executor::new(checked.program.unwrap(), None, ExecOptions::default()).unwrap();
    let out = exec.run(&[]).unwrap();
    assert_eq!(out[0].shape, vec![2, 3, 1]);
    assert_eq!(out[0].data.to_f32(), vec![-1.5; 6]);
}

#[test]
fn resize_programs() {
    use A::*;
    for (case, mode) in [
        ("resize_bilinear_unalign_corners_9x7", "UNALIGN_CORNERS"),
        ("resize_bilinear_offset_corners_3x2", "OFFSET_CORNERS"),
        ("resize_bilinear_align_corners_1x1", "ALIGN_CORNERS"),
    ] {
        let (h, w) = match case.rsplit('_').next().unwrap() {
            "9x7" => (9, 7),
            "3x2" => (3, 2),
            _ => (1, 1),
        };
        check(&spec(
            case,
            "resize_bilinear",
            vec![
                In("x", "x"),
                Int("target_size_height", h),
                Int("target_size_width", w),
                Str("sampling_mode", mode),
            ],
        ));
    }
    // sampling_mode omitted: DEFAULT
    check(&spec(
        "resize_bilinear_default_9x7",
        "resize_bilinear",
        vec![
            In("x", "x"),
            Int("target_size_height", 9),
            Int("target_size_width", 7),
        ],
    ));
    check(&spec(
        "resize_nearest_7x3",
        "resize_nearest_neighbor",
        vec![
            In("x", "x"),
            Int("target_size_height", 7),
            Int("target_size_width", 3),
        ],
    ));
    check(&spec(
        "depth_to_space_b2",
        "depth_to_space",
        vec![In("x", "x"), Int("block_size", 2)],
    ));
    check(&spec(
        "space_to_depth_b2",
        "space_to_depth",
        vec![In("x", "x"), Int("block_size", 2)],
    ));
    check(&spec(
        "pixel_shuffle_r2",
        "pixel_shuffle",
        vec![In("x", "x"), Int("upscale_factor", 2)],
    ));
    check(&spec(
        "pixel_unshuffle_r3",
        "pixel_unshuffle",
        vec![In("x", "x"), Int("downscale_factor", 3)],
    ));
}

#[test]
fn quantize_and_dequantize_programs() {
    use A::*;
    check(&Spec {
        case: "quantize_uint8_axis_neg1",
        op: "quantize",
        args: vec![
            In("input", "x"),
            FloatConst("scale", "scale"),
            IntConst("zero_point", "zero_point", "uint8"),
            Int("axis", -1),
            Str("output_dtype", "uint8"),
        ],
        out_dtype: Some("uint8"),
    });
    check(&Spec {
        case: "quantize_int8_scalar_ties",
        op: "quantize",
        args: vec![
            In("input", "x"),
            FloatConst("scale", "scale"),
            Str("output_dtype", "int8"),
        ],
        out_dtype: Some("int8"),
    });
    check(&spec(
        "dequantize_axis1",
        "dequantize",
        vec![
            Int8In("input", "x"),
            FloatConst("scale", "scale"),
            IntConst("zero_point", "zero_point", "int8"),
            Int("axis", 1),
        ],
    ));
}

#[test]
fn unsupported_einsum_form_is_a_named_error() {
    let text = "program(1.3)\n{\n    func main<ios18>(tensor<fp32, [3, 3]> a) {\n        string eq = const()[name = string(\"eq\"), val = string(\"ii->i\")];\n        tensor<fp32, [3]> y = einsum(equation = eq, values = (a))[name = string(\"y\")];\n    } -> (y);\n}\n";
    let checked = anekit_ir::check(text);
    // The IR accepts the form (it does not know which einsum forms the kernel supports), so
    // the refusal must come from the executor, naming the op and the reason.
    let program = checked.program.expect("the IR accepts a diagonal einsum");
    let exec = Executor::new(program, None, ExecOptions::default()).unwrap();
    let err = exec
        .run(&[NamedTensor {
            name: "a".into(),
            shape: vec![3, 3],
            data: TensorData::F32(vec![0.0; 9]),
        }])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("einsum") && err.contains("repeated subscript"),
        "{err}"
    );
}
