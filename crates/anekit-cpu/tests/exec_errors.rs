//! How the executor refuses: unsupported ops and bad inputs name what failed.

use anekit_core::TensorData;
use anekit_cpu::exec::{ExecError, ExecOptions, Executor, NamedTensor};
use half::f16;

const RELU: &str = r#"program(1.3)
{
    func main<ios18>(tensor<fp16, [2, 3]> x) {
            tensor<fp16, [2, 3]> y = relu(x = x)[name = string("y")];
        } -> (y);
}"#;

fn exec(src: &str) -> Result<Executor, ExecError> {
    let program = anekit_ir::check(src).program.expect("parses");
    Executor::new(program, None, ExecOptions::default())
}

fn x(shape: Vec<usize>) -> NamedTensor {
    let n = shape.iter().product();
    NamedTensor {
        name: "x".into(),
        shape,
        data: TensorData::F16(vec![f16::from_f32(-1.5); n]),
    }
}

#[test]
fn unsupported_op_is_named_with_its_line() {
    // `non_maximum_suppression` is a registry op without a kernel.
    let src = r#"program(1.3)
{
    func main<ios18>(tensor<fp16, [1, 4, 4]> b, tensor<fp16, [1, 4, 2]> s) {
            tensor<fp16, [1, 2, 4]> ob, tensor<fp16, [1, 2, 2]> os, tensor<int32, [1, 2]> oi, tensor<int32, [1]> n = non_maximum_suppression(boxes = b, iou_threshold = fp16(0x1p-1), max_boxes = int32(2), scores = s, score_threshold = fp16(0x0p+0))[name = string("nms")];
        } -> (ob);
}"#;
    let program = anekit_ir::check(src).program.unwrap();
    let err =
        Executor::new_with_source(program.clone(), None, ExecOptions::default(), src).unwrap_err();
    match &err {
        ExecError::UnsupportedOp { op, value, line } => {
            assert_eq!(op, "non_maximum_suppression");
            assert_eq!(value, "ob");
            assert_eq!(*line, 4);
        }
        e => panic!("{e}"),
    }
    assert!(
        err.to_string().contains("`non_maximum_suppression`"),
        "{err}"
    );
    // Without the source the line is 0 (unknown).
    let err = Executor::new(program, None, ExecOptions::default()).unwrap_err();
    assert!(matches!(err, ExecError::UnsupportedOp { line: 0, .. }));
}

#[test]
fn unknown_op_is_unsupported_not_silent() {
    let src = RELU.replace("relu(x = x)", "frobnicate(x = x)");
    let err = exec(&src).unwrap_err();
    assert!(
        matches!(&err, ExecError::UnsupportedOp { op, .. } if op == "frobnicate"),
        "{err}"
    );
}

#[test]
fn wrong_input_shape_names_the_input() {
    let e = exec(RELU).unwrap();
    let err = e.run(&[x(vec![3, 2])]).unwrap_err();
    assert!(
        matches!(&err, ExecError::Input { name, .. } if name == "x"),
        "{err}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("[3, 2]") && msg.contains("tensor<fp16, [2, 3]>"),
        "{msg}"
    );
    assert!(e.run(&[x(vec![2, 3, 1])]).is_err(), "rank differs");
}

#[test]
fn wrong_dtype_missing_and_extra_inputs_are_named() {
    let e = exec(RELU).unwrap();
    let f32_input = NamedTensor {
        name: "x".into(),
        shape: vec![2, 3],
        data: TensorData::F32(vec![0.0; 6]),
    };
    let err = e.run(&[f32_input]).unwrap_err();
    assert!(
        err.to_string().contains("input `x`: dtype is fp32"),
        "{err}"
    );

    let err = e.run(&[]).unwrap_err();
    assert!(
        matches!(&err, ExecError::Input { name, reason } if name == "x" && reason.contains("missing")),
        "{err}"
    );

    let mut extra = x(vec![1]);
    extra.name = "z".into();
    let err = e.run(&[x(vec![2, 3]), extra]).unwrap_err();
    assert!(
        matches!(&err, ExecError::Input { name, .. } if name == "z"),
        "{err}"
    );
}

#[test]
fn runs_and_checks_values() {
    let e = exec(RELU).unwrap();
    assert_eq!(e.inputs()[0].shape, vec![Some(2), Some(3)]);
    let out = e.run(&[x(vec![2, 3])]).unwrap();
    assert_eq!(out[0].name, "y");
    assert_eq!(out[0].data, TensorData::F16(vec![f16::ZERO; 6]));
}

#[test]
fn unknown_dims_are_fixed_by_options_or_inputs() {
    let src = RELU
        .replace("tensor<fp16, [2, 3]> x", "tensor<fp16, [?, 3]> x")
        .replace("tensor<fp16, [2, 3]> y", "tensor<fp16, [?, 3]> y");
    let e = exec(&src).unwrap();
    assert_eq!(e.inputs()[0].shape, vec![None, Some(3)]);
    let program = anekit_ir::check(&src).program.unwrap();
    let mut options = ExecOptions::default();
    options.dims.insert("x:0".into(), 5);
    let fixed = Executor::new(program, None, options).unwrap();
    assert_eq!(fixed.inputs()[0].shape, vec![Some(5), Some(3)]);
    // The fixed dim is enforced; without it any size runs.
    assert!(fixed.run(&[x(vec![4, 3])]).is_err());
    assert_eq!(fixed.run(&[x(vec![5, 3])]).unwrap()[0].shape, vec![5, 3]);
    assert_eq!(e.run(&[x(vec![4, 3])]).unwrap()[0].shape, vec![4, 3]);
}

#[test]
fn blobfile_without_weights_is_a_named_error() {
    let src = r#"program(1.3)
{
    func main<ios18>(tensor<fp16, [2]> x) {
            tensor<fp16, [2]> w = const()[name = string("w"), val = tensor<fp16, [2]>(BLOBFILE(path = string("@model_path/weights/weight.bin"), offset = uint64(64)))];
            tensor<fp16, [2]> y = add(x = x, y = w)[name = string("y")];
        } -> (y);
}"#;
    let err = exec(src).unwrap_err();
    assert!(
        matches!(&err, ExecError::Constant { value, .. } if value == "w"),
        "{err}"
    );
    // Random weights need no file, and are deterministic for a seed.
    let run = |seed| {
        let program = anekit_ir::check(src).program.unwrap();
        let e = Executor::new(
            program,
            None,
            ExecOptions {
                random_weights: Some(seed),
                ..ExecOptions::default()
            },
        )
        .unwrap();
        let input = NamedTensor {
            name: "x".into(),
            shape: vec![2],
            data: TensorData::F16(vec![f16::ZERO; 2]),
        };
        e.run(&[input]).unwrap().remove(0).data
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
}

#[test]
fn executor_is_sync_and_runs_from_threads() {
    fn assert_sync<T: Sync + Send>() {}
    assert_sync::<Executor>();
    let e = exec(RELU).unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| assert_eq!(e.run(&[x(vec![2, 3])]).unwrap().len(), 1));
        }
    });
}

#[test]
fn debug_output_summarizes() {
    let e = exec(RELU).unwrap();
    let d = format!("{e:?}");
    assert!(
        d.starts_with("Executor {") && d.contains("function: \"main\""),
        "{d}"
    );
    assert!(d.contains("runtime_ops: 1"), "{d}");
}

#[test]
fn declared_tensors_above_the_element_limit_are_refused_before_allocating() {
    // A hostile program: a 2^40-element BLOBFILE constant under --random-weights would
    // otherwise be allocated while preparing.
    let huge = r#"program(1.3)
{
    func main<ios18>(tensor<fp16, [2]> x) {
            tensor<fp16, [1048576, 1048576]> w = const()[name = string("w"), val = tensor<fp16, [1048576, 1048576]>(BLOBFILE(path = string("@model_path/weights/weight.bin"), offset = uint64(64)))];
            tensor<fp16, [2]> y = relu(x = x)[name = string("y")];
        } -> (y);
}"#;
    let program = anekit_ir::check(huge).program.unwrap();
    let options = ExecOptions {
        random_weights: Some(1),
        ..ExecOptions::default()
    };
    let err = Executor::new(program, None, options).unwrap_err();
    match &err {
        ExecError::TooLarge {
            value,
            elements,
            limit,
            ..
        } => {
            assert_eq!(value, "w");
            assert_eq!(*elements, 1u128 << 40);
            assert_eq!(*limit, anekit_cpu::exec::DEFAULT_MAX_ELEMENTS);
        }
        other => panic!("{other}"),
    }
    assert_eq!(
        err.to_string(),
        "`w`: 1099511627776 elements (tensor<fp16, [1048576, 1048576]>), above the executor's limit of 268435456"
    );

    // The limit is the caller's: 6 elements pass at 6 and fail at 5 (RELU's x is [2, 3]).
    let with_limit = |max| {
        let program = anekit_ir::check(RELU).program.unwrap();
        Executor::new(
            program,
            None,
            ExecOptions {
                max_elements: Some(max),
                ..ExecOptions::default()
            },
        )
    };
    assert!(with_limit(6).is_ok());
    assert!(matches!(
        with_limit(5).unwrap_err(),
        ExecError::TooLarge {
            elements: 6,
            limit: 5,
            ..
        }
    ));

    // Unknown input dims fixed by --dim count as well.
    let dynamic = r#"program(1.3)
{
    func main<ios18>(tensor<fp16, [?, 3]> x) {
            tensor<fp16, [?, 3]> y = relu(x = x)[name = string("y")];
        } -> (y);
}"#;
    let program = anekit_ir::check(dynamic).program.unwrap();
    let mut options = ExecOptions::default();
    options.dims.insert("x:0".into(), 1 << 30);
    let err = Executor::new(program, None, options).unwrap_err();
    assert!(
        matches!(&err, ExecError::TooLarge { value, elements, .. } if value == "x" && *elements == 3u128 << 30),
        "{err}"
    );
}

/// Run `src` (inputs given as int32/fp32 scalars or vectors) and expect a `TooLarge` refusal
/// for `value` with exactly `elements` — before anything that size is allocated (if the check
/// were missing, these would ask for 2^32+ elements and abort the test process).
fn expect_result_too_large(
    src: &str,
    inputs: Vec<NamedTensor>,
    limit: Option<u64>,
    value: &str,
    op: &str,
    elements: u128,
) {
    let program = anekit_ir::check(src).program.expect("parses");
    let options = ExecOptions {
        max_elements: limit,
        ..ExecOptions::default()
    };
    let exec = Executor::new(program, None, options).expect("prepares");
    match exec.run(&inputs) {
        Err(ExecError::TooLarge {
            value: v,
            ty,
            elements: n,
            ..
        }) => {
            assert_eq!(v, value);
            assert_eq!(ty, format!("result of {op}"));
            assert_eq!(n, elements, "{op}");
        }
        other => panic!("{op}: expected TooLarge, got {other:?}"),
    }
}

fn ints(name: &str, shape: Vec<usize>, v: Vec<i32>) -> NamedTensor {
    NamedTensor {
        name: name.into(),
        shape,
        data: TensorData::I32(v),
    }
}

fn floats(name: &str, shape: Vec<usize>, v: Vec<f32>) -> NamedTensor {
    NamedTensor {
        name: name.into(),
        shape,
        data: TensorData::F32(v),
    }
}

#[test]
fn results_sized_by_run_time_values_are_refused_before_allocating() {
    let fill = r#"program(1.3)
{
    func main<ios18>(tensor<int32, [2]> s) {
            tensor<fp16, [?, ?]> y = fill(shape = s, value = fp16(0x1p+0))[name = string("y")];
        } -> (y);
}"#;
    let big = ints("s", vec![2], vec![65536, 65536]);
    expect_result_too_large(fill, vec![big], None, "y", "fill", 1 << 32);

    let range = r#"program(1.3)
{
    func main<ios18>(tensor<fp32, []> e) {
            tensor<fp32, [?]> y = range_1d(end = e, start = fp32(0x0p+0), step = fp32(0x1p-1))[name = string("y")];
        } -> (y);
}"#;
    let e = floats("e", vec![], vec![2f32.powi(40)]);
    expect_result_too_large(range, vec![e], None, "y", "range_1d", 1 << 41);

    let one_hot = r#"program(1.3)
{
    func main<ios18>(tensor<int32, [3]> i, tensor<int32, []> d) {
            tensor<fp32, [3, ?]> y = one_hot(axis = int32(-1), indices = i, off_value = fp32(0x0p+0), on_value = fp32(0x1p+0), one_hot_vector_size = d)[name = string("y")];
        } -> (y);
}"#;
    let (i, d) = (
        ints("i", vec![3], vec![0, 1, 2]),
        ints("d", vec![], vec![1 << 30]),
    );
    expect_result_too_large(one_hot, vec![i, d], None, "y", "one_hot", 3 << 30);

    let resize = r#"program(1.3)
{
    func main<ios18>(tensor<fp16, [1, 2, 4, 4]> x, tensor<int32, []> h) {
            tensor<fp16, [1, 2, ?, 65536]> y = resize_nearest_neighbor(target_size_height = h, target_size_width = int32(65536), x = x)[name = string("y")];
        } -> (y);
}"#;
    let x = NamedTensor {
        name: "x".into(),
        shape: vec![1, 2, 4, 4],
        data: TensorData::F16(vec![f16::ONE; 32]),
    };
    let h = ints("h", vec![], vec![65536]);
    expect_result_too_large(
        resize,
        vec![x.clone(), h],
        None,
        "y",
        "resize_nearest_neighbor",
        2 << 32,
    );

    let upsample = r#"program(1.3)
{
    func main<ios18>(tensor<fp16, [1, 2, 4, 4]> x, tensor<fp32, []> s) {
            tensor<fp16, [1, 2, ?, 4]> y = upsample_nearest_neighbor(scale_factor_height = s, x = x)[name = string("y")];
        } -> (y);
}"#;
    let s = floats("s", vec![], vec![1e9]);
    expect_result_too_large(
        upsample,
        vec![x, s],
        None,
        "y",
        "upsample_nearest_neighbor",
        32_000_000_000,
    );

    let tile = r#"program(1.3)
{
    func main<ios18>(tensor<fp16, [2]> x, tensor<int32, [1]> r) {
            tensor<fp16, [?]> y = tile(reps = r, x = x)[name = string("y")];
        } -> (y);
}"#;
    let x2 = NamedTensor {
        name: "x".into(),
        shape: vec![2],
        data: TensorData::F16(vec![f16::ONE; 2]),
    };
    let r = ints("r", vec![1], vec![1 << 30]);
    expect_result_too_large(tile, vec![x2.clone(), r], None, "y", "tile", 1 << 31);

    let pad = r#"program(1.3)
{
    func main<ios18>(tensor<fp16, [2]> x, tensor<int32, [2]> p) {
            tensor<fp16, [?]> y = pad(constant_val = fp16(0x0p+0), mode = string("constant"), pad = p, x = x)[name = string("y")];
        } -> (y);
}"#;
    let p = ints("p", vec![2], vec![1 << 30, 1 << 30]);
    expect_result_too_large(pad, vec![x2, p], None, "y", "pad", (1 << 31) + 2);

    // Operands of 2^16 elements each broadcast to 2^32.
    let outer = r#"program(1.3)
{
    func main<ios18>(tensor<fp16, [?, 1]> a, tensor<fp16, [1, ?]> b) {
            tensor<fp16, [?, ?]> y = add(x = a, y = b)[name = string("y")];
        } -> (y);
}"#;
    let column = |name: &str, shape: Vec<usize>| NamedTensor {
        name: name.into(),
        shape,
        data: TensorData::F16(vec![f16::ONE; 1 << 16]),
    };
    let (a, b) = (column("a", vec![1 << 16, 1]), column("b", vec![1, 1 << 16]));
    expect_result_too_large(outer, vec![a, b], None, "y", "add", 1 << 32);

    // The caller's limit applies too: 21 windows of 10 over a 20-long axis is 210 > 100.
    let windows = r#"program(1.3)
{
    func main<ios18>(tensor<fp16, [20]> x) {
            tensor<fp16, [11, 10]> y = sliding_windows(axis = int32(0), size = int32(10), stride = int32(1), x = x)[name = string("y")];
        } -> (y);
}"#;
    let x = NamedTensor {
        name: "x".into(),
        shape: vec![20],
        data: TensorData::F16(vec![f16::ONE; 20]),
    };
    expect_result_too_large(windows, vec![x], Some(200), "y", "sliding_windows", 210);
}

/// Found by the `exec_mil` fuzz target: an empty batch with a 2^37 scale made the bilinear
/// kernel allocate its 2^38-row coefficient table (9.9 TB) although the result is empty.
#[test]
fn fuzz_regression_upsample_of_an_empty_batch_by_a_huge_scale() {
    let src = r#"program(1.3)
{
    func main<ios18>(tensor<fp32, [0, 2, 3, 9]> x) {
            tensor<fp32, [1, 2, 6, 8]> y = upsample_bilinear(align_corners = bool(false), scale_factor_height = fp32(0x1000000000p+1), x = x)[name = string("y")];
        } -> (y);
}"#;
    let x = floats("x", vec![0, 2, 3, 9], vec![]);
    // One plane (the empty batch counts as one) of ⌈3·2^37⌉ × 9.
    expect_result_too_large(src, vec![x], None, "y", "upsample_bilinear", 27 << 37);
}
