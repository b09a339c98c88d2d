//! Shape inference against coremltools' own type inference: every expected shape below is
//! printed by `scripts/ir_infer_vectors.py` (coremltools 9.0 MIL builder, Linux), case by case.
//! Each case states the same op in MIL text, declares the expected result types, and checks
//! that inference computes exactly those types and reports no error.

use anekit_core::DType;
use anekit_ir::check;
use anekit_ir::types::{Dim, TensorType, Type};

/// Check `body` (statements) in a function with `params`, at `opset`; return the inferred
/// result types of the last statement.
fn infer_at(opset: &str, params: &str, body: &str) -> Vec<Type> {
    let src = format!(
        "program(1.3)\n{{\n    func main<{opset}>({params}) {{\n{body}\n        }} -> ();\n}}"
    );
    let checked = check(&src);
    let errors: Vec<_> = checked.errors().collect();
    assert!(errors.is_empty(), "{body}\n{errors:#?}");
    let program = checked.program.unwrap();
    let op = program.functions[0].ops.last().unwrap().clone();
    op.inferred
        .unwrap_or_else(|| panic!("no inference ran for {body}"))
}

fn infer(params: &str, body: &str) -> Vec<Type> {
    infer_at("ios17", params, body)
}

fn t(dtype: DType, shape: &[u64]) -> Type {
    Type::Tensor(TensorType::known(dtype, shape))
}

fn f32s(shape: &[u64]) -> Vec<Type> {
    vec![t(DType::Fp32, shape)]
}

#[test]
fn conv_custom_pad_strides_dilations() {
    let got = infer(
        "tensor<fp32, [1, 3, 17, 20]> x",
        r#"            tensor<fp32, [8, 3, 3, 3]> w = const()[val = tensor<fp32, [8, 3, 3, 3]>(BLOBFILE(path = string("@model_path/weights/weight.bin"), offset = uint64(64)))];
            tensor<fp32, [1, 8, 8, 7]> y = conv(dilations = [2, 1], pad = [1, 2, 0, 1], pad_type = string("custom"), strides = [2, 3], weight = w, x = x);"#
            .replace("[2, 1],", "tensor<int32, [2]>([2, 1]),")
            .replace("[1, 2, 0, 1],", "tensor<int32, [4]>([1, 2, 0, 1]),")
            .replace("[2, 3],", "tensor<int32, [2]>([2, 3]),")
            .as_str(),
    );
    assert_eq!(got, f32s(&[1, 8, 8, 7]));
}

#[test]
fn conv_same_padding_rounds_up() {
    let got = infer(
        "tensor<fp32, [1, 3, 17, 20]> x, tensor<fp32, [4, 3, 3, 3]> w",
        "            tensor<fp32, [1, 4, 9, 10]> y = conv(pad_type = string(\"same\"), strides = tensor<int32, [2]>([2, 2]), weight = w, x = x);",
    );
    assert_eq!(got, f32s(&[1, 4, 9, 10]));
}

#[test]
fn conv_groups_valid() {
    let got = infer(
        "tensor<fp32, [1, 6, 10, 10]> x, tensor<fp32, [12, 2, 3, 3]> w",
        "            tensor<fp32, [1, 12, 8, 8]> y = conv(groups = int32(3), pad_type = string(\"valid\"), weight = w, x = x);",
    );
    assert_eq!(got, f32s(&[1, 12, 8, 8]));
}

#[test]
fn max_pool_ceil_mode() {
    let got = infer(
        "tensor<fp32, [1, 6, 10, 10]> x",
        "            tensor<fp32, [1, 6, 5, 5]> y = max_pool(ceil_mode = bool(true), kernel_sizes = tensor<int32, [2]>([3, 3]), pad_type = string(\"valid\"), strides = tensor<int32, [2]>([2, 2]), x = x);",
    );
    assert_eq!(got, f32s(&[1, 6, 5, 5]));
}

#[test]
fn matmul_transpose_x_with_broadcast_batch() {
    let got = infer(
        "tensor<fp32, [2, 1, 4, 3]> a, tensor<fp32, [5, 4, 6]> b",
        "            tensor<fp32, [2, 5, 3, 6]> y = matmul(transpose_x = bool(true), x = a, y = b);",
    );
    assert_eq!(got, f32s(&[2, 5, 3, 6]));
}

#[test]
fn matmul_transpose_y() {
    let got = infer(
        "tensor<fp32, [7, 8]> a, tensor<fp32, [9, 8]> b",
        "            tensor<fp32, [7, 9]> y = matmul(transpose_x = bool(false), transpose_y = bool(true), x = a, y = b);",
    );
    assert_eq!(got, f32s(&[7, 9]));
}

#[test]
fn matmul_rank1_x_follows_coremltools() {
    // coremltools drops the first result dim for a rank-1 x: [4] x [3, 4, 5] -> [1, 5].
    let got = infer(
        "tensor<fp32, [4]> a, tensor<fp32, [3, 4, 5]> b",
        "            tensor<fp32, [1, 5]> y = matmul(x = a, y = b);",
    );
    assert_eq!(got, f32s(&[1, 5]));
    let got = infer_at(
        "ios15",
        "tensor<fp32, [4]> a, tensor<fp32, [4, 5]> b",
        "            tensor<fp32, [5]> y = matmul(x = a, y = b);",
    );
    assert_eq!(got, f32s(&[5]));
}

#[test]
fn reshape_minus_one_and_zero() {
    let p = "tensor<fp32, [2, 3, 4]> x";
    let got = infer(
        p,
        "            tensor<fp32, [4, 6]> y = reshape(shape = tensor<int32, [2]>([4, -1]), x = x);",
    );
    assert_eq!(got, f32s(&[4, 6]));
    // iOS17: a 0 matches the input dim counted from the right.
    let got = infer(
        p,
        "            tensor<fp32, [3, 8]> y = reshape(shape = tensor<int32, [2]>([0, -1]), x = x);",
    );
    assert_eq!(got, f32s(&[3, 8]));
    // iOS15: a 0 copies the input dim at the same index.
    let got = infer_at(
        "ios15",
        p,
        "            tensor<fp32, [2, 6, 2]> y = reshape(shape = tensor<int32, [3]>([0, -1, 2]), x = x);",
    );
    assert_eq!(got, f32s(&[2, 6, 2]));
}

#[test]
fn reshape_to_a_wrong_element_count_is_an_error() {
    let src = "program(1.3)\n{\n    func main<ios17>(tensor<fp32, [2, 3, 4]> x) {\n            tensor<fp32, [5, 5]> y = reshape(shape = tensor<int32, [2]>([5, 5]), x = x);\n        } -> (y);\n}";
    let codes: Vec<_> = check(src).errors().map(|d| d.code).collect();
    assert_eq!(codes, ["E-invalid-op"]);
}

#[test]
fn concat_negative_axis() {
    let got = infer(
        "tensor<fp32, [2, 3]> p, tensor<fp32, [2, 5]> q",
        "            tensor<fp32, [2, 8]> y = concat(axis = int32(-1), interleave = bool(false), values = (p, q));",
    );
    assert_eq!(got, f32s(&[2, 8]));
}

#[test]
fn slice_by_index_with_masks_and_negative_stride() {
    let got = infer(
        "tensor<fp32, [10, 8, 6]> s",
        "            tensor<fp32, [4, 8, 3]> y = slice_by_index(begin = tensor<int32, [3]>([1, 0, 5]), begin_mask = tensor<bool, [3]>([false, true, false]), end = tensor<int32, [3]>([9, 8, 0]), end_mask = tensor<bool, [3]>([false, false, true]), stride = tensor<int32, [3]>([2, 1, -2]), x = s);",
    );
    assert_eq!(got, f32s(&[4, 8, 3]));
}

#[test]
fn slice_by_index_squeeze_mask() {
    let got = infer(
        "tensor<fp32, [10, 8, 6]> s",
        "            tensor<fp32, [8, 6]> y = slice_by_index(begin = tensor<int32, [3]>([2, 0, 0]), end = tensor<int32, [3]>([3, 8, 6]), squeeze_mask = tensor<bool, [3]>([true, false, false]), x = s);",
    );
    assert_eq!(got, f32s(&[8, 6]));
}

#[test]
fn slice_by_size_minus_one() {
    let got = infer(
        "tensor<fp32, [5, 4]> b",
        "            tensor<fp32, [4, 2]> y = slice_by_size(begin = tensor<int32, [2]>([1, 0]), size = tensor<int32, [2]>([-1, 2]), x = b);",
    );
    assert_eq!(got, f32s(&[4, 2]));
}

#[test]
fn split_by_count_and_by_sizes() {
    let p = "tensor<fp32, [6, 9]> t";
    let got = infer(
        p,
        "            tensor<fp32, [6, 3]> a, tensor<fp32, [6, 3]> b, tensor<fp32, [6, 3]> c = split(axis = int32(1), num_splits = int32(3), x = t);",
    );
    assert_eq!(got, [f32s(&[6, 3]), f32s(&[6, 3]), f32s(&[6, 3])].concat());
    let got = infer(
        p,
        "            tensor<fp32, [2, 9]> a, tensor<fp32, [4, 9]> b = split(axis = int32(0), split_sizes = tensor<int32, [2]>([2, 4]), x = t);",
    );
    assert_eq!(got, [f32s(&[2, 9]), f32s(&[4, 9])].concat());
}

#[test]
fn gather_on_inner_axis() {
    let got = infer(
        "tensor<fp32, [4, 5, 6]> u, tensor<int32, [2, 3]> i",
        "            tensor<fp32, [4, 2, 3, 6]> y = gather(axis = int32(1), indices = i, x = u);",
    );
    assert_eq!(got, f32s(&[4, 2, 3, 6]));
}

#[test]
fn pad_applies_to_the_last_dims() {
    let got = infer(
        "tensor<fp32, [2, 3, 4]> x",
        "            tensor<fp32, [2, 6, 11]> y = pad(pad = tensor<int32, [4]>([1, 2, 3, 4]), x = x);",
    );
    assert_eq!(got, f32s(&[2, 6, 11]));
}

#[test]
fn reductions_with_and_without_keep_dims() {
    let p = "tensor<fp32, [2, 3, 4, 5]> r";
    let got = infer(
        p,
        "            tensor<fp32, [2, 4]> y = reduce_mean(axes = tensor<int32, [2]>([1, -1]), keep_dims = bool(false), x = r);",
    );
    assert_eq!(got, f32s(&[2, 4]));
    let got = infer(
        p,
        "            tensor<fp32, [2, 1, 4, 1]> y = reduce_mean(axes = tensor<int32, [2]>([1, -1]), keep_dims = bool(true), x = r);",
    );
    assert_eq!(got, f32s(&[2, 1, 4, 1]));
    let got = infer(
        "tensor<fp32, [2, 5, 3]> a",
        "            tensor<int32, [2, 1, 3]> y = reduce_argmax(axis = int32(1), keep_dims = bool(true), x = a);",
    );
    assert_eq!(got, vec![t(DType::Int32, &[2, 1, 3])]);
}

#[test]
fn expand_dims_and_squeeze() {
    let got = infer(
        "tensor<fp32, [3, 4]> e",
        "            tensor<fp32, [1, 3, 4, 1]> y = expand_dims(axes = tensor<int32, [2]>([0, -1]), x = e);",
    );
    assert_eq!(got, f32s(&[1, 3, 4, 1]));
    let got = infer(
        "tensor<fp32, [1, 3, 1, 4]> z",
        "            tensor<fp32, [3, 4]> y = squeeze(x = z);",
    );
    assert_eq!(got, f32s(&[3, 4]));
}

#[test]
fn topk_values_and_indices() {
    let got = infer(
        "tensor<fp32, [2, 10]> k",
        "            tensor<fp32, [2, 3]> v, tensor<int32, [2, 3]> i = topk(axis = int32(1), k = int32(3), x = k);",
    );
    assert_eq!(got, vec![t(DType::Fp32, &[2, 3]), t(DType::Int32, &[2, 3])]);
}

#[test]
fn stack_tile_transpose_broadcast_linear() {
    let got = infer(
        "tensor<fp32, [2, 3]> p",
        "            tensor<fp32, [2, 2, 3]> y = stack(axis = int32(1), values = (p, p));",
    );
    assert_eq!(got, f32s(&[2, 2, 3]));
    let got = infer(
        "tensor<fp32, [1, 2, 3]> w",
        "            tensor<fp32, [2, 2, 9]> y = tile(reps = tensor<int32, [3]>([2, 1, 3]), x = w);",
    );
    assert_eq!(got, f32s(&[2, 2, 9]));
    let got = infer(
        "tensor<fp32, [2, 3, 4]> x",
        "            tensor<fp32, [4, 2, 3]> y = transpose(perm = tensor<int32, [3]>([2, 0, 1]), x = x);",
    );
    assert_eq!(got, f32s(&[4, 2, 3]));
    let got = infer(
        "tensor<fp32, [2, 1, 4]> a, tensor<fp32, [3, 1]> b",
        "            tensor<fp32, [2, 3, 4]> y = add(x = a, y = b);",
    );
    assert_eq!(got, f32s(&[2, 3, 4]));
    let got = infer(
        "tensor<fp32, [2, 7, 16]> x, tensor<fp32, [32, 16]> w",
        "            tensor<fp32, [2, 7, 32]> y = linear(weight = w, x = x);",
    );
    assert_eq!(got, f32s(&[2, 7, 32]));
}

#[test]
fn unknown_dims_propagate() {
    let got = infer(
        "tensor<fp32, [?, 3]> a, tensor<fp32, [1, 3]> b",
        "            tensor<fp32, [?, 3]> y = add(x = a, y = b);",
    );
    assert_eq!(
        got,
        vec![Type::Tensor(TensorType::new(
            DType::Fp32,
            vec![Dim::Unknown, Dim::Known(3)]
        ))]
    );
}

#[test]
fn space_depth_family() {
    let p = "tensor<fp32, [1, 8, 4, 6]> x";
    let got = infer(
        p,
        "            tensor<fp32, [1, 2, 8, 12]> y = depth_to_space(block_size = int32(2), x = x);",
    );
    assert_eq!(got, f32s(&[1, 2, 8, 12]));
    let got = infer(
        p,
        "            tensor<fp32, [1, 32, 2, 3]> y = space_to_depth(block_size = int32(2), x = x);",
    );
    assert_eq!(got, f32s(&[1, 32, 2, 3]));
    let got = infer(
        p,
        "            tensor<fp32, [1, 2, 8, 12]> y = pixel_shuffle(upscale_factor = int32(2), x = x);",
    );
    assert_eq!(got, f32s(&[1, 2, 8, 12]));
    let got = infer(
        p,
        "            tensor<fp32, [1, 32, 2, 3]> y = pixel_unshuffle(downscale_factor = uint32(2), x = x);",
    );
    assert_eq!(got, f32s(&[1, 32, 2, 3]));
}

#[test]
fn argsort_quantize_dequantize() {
    let got = infer(
        "tensor<fp32, [2, 5]> a",
        "            tensor<int32, [2, 5]> y = argsort(axis = int32(1), x = a);",
    );
    assert_eq!(got, vec![t(DType::Int32, &[2, 5])]);
    let got = infer(
        "tensor<fp32, [1, 8, 4, 6]> x",
        "            tensor<int8, [1, 8, 4, 6]> y = quantize(input = x, output_dtype = string(\"int8\"), scale = fp32(0x1p-1));",
    );
    assert_eq!(got, vec![t(DType::Int8, &[1, 8, 4, 6])]);
    let got = infer(
        "tensor<int8, [1, 2, 8, 6]> q",
        "            tensor<fp32, [1, 2, 8, 6]> y = dequantize(input = q, scale = fp32(0x1p-1));",
    );
    assert_eq!(got, f32s(&[1, 2, 8, 6]));
}

#[test]
fn gru_and_rnn_outputs() {
    let p = "tensor<fp32, [7, 2, 3]> s, tensor<fp32, [2, 4]> h, tensor<fp32, [12, 3]> wi, tensor<fp32, [12, 4]> wh";
    let got = infer(
        p,
        "            tensor<fp32, [12, 3]> wic = identity(x = wi);\n            tensor<fp32, [7, 2, 4]> o, tensor<fp32, [2, 4]> hn = gru(initial_h = h, output_sequence = bool(true), weight_hh = tensor<fp32, [12, 4]>(BLOBFILE(path = string(\"@model_path/weights/weight.bin\"), offset = uint64(64))), weight_ih = tensor<fp32, [12, 3]>(BLOBFILE(path = string(\"@model_path/weights/weight.bin\"), offset = uint64(320))), x = s);",
    );
    assert_eq!(got, [f32s(&[7, 2, 4]), f32s(&[2, 4])].concat());
    let got = infer(
        "tensor<fp32, [7, 2, 3]> s, tensor<fp32, [2, 4]> h",
        "            tensor<fp32, [1, 2, 4]> o, tensor<fp32, [2, 4]> hn = rnn(initial_h = h, weight_hh = tensor<fp32, [4, 4]>(BLOBFILE(path = string(\"@model_path/weights/weight.bin\"), offset = uint64(64))), weight_ih = tensor<fp32, [4, 3]>(BLOBFILE(path = string(\"@model_path/weights/weight.bin\"), offset = uint64(192))), x = s);",
    );
    assert_eq!(got, [f32s(&[1, 2, 4]), f32s(&[2, 4])].concat());
}

#[test]
fn conv_transpose_pad_types() {
    let p = "tensor<fp32, [1, 4, 5, 6]> x, tensor<fp32, [4, 3, 3, 3]> w";
    let got = infer(
        p,
        "            tensor<fp32, [1, 3, 11, 13]> y = conv_transpose(pad_type = string(\"valid\"), strides = tensor<int32, [2]>([2, 2]), weight = w, x = x);",
    );
    assert_eq!(got, f32s(&[1, 3, 11, 13]));
    let got = infer(
        p,
        "            tensor<fp32, [1, 3, 10, 12]> y = conv_transpose(pad_type = string(\"same\"), strides = tensor<int32, [2]>([2, 2]), weight = w, x = x);",
    );
    assert_eq!(got, f32s(&[1, 3, 10, 12]));
    let got = infer(
        p,
        "            tensor<fp32, [1, 3, 9, 18]> y = conv_transpose(dilations = tensor<int32, [2]>([1, 2]), pad = tensor<int32, [4]>([1, 1, 0, 2]), pad_type = string(\"custom\"), strides = tensor<int32, [2]>([2, 3]), weight = w, x = x);",
    );
    assert_eq!(got, f32s(&[1, 3, 9, 18]));
}

#[test]
fn one_hot_fill_like_gather_nd() {
    let got = infer(
        "tensor<int32, [3, 4]> i",
        "            tensor<int32, [3, 6, 4]> y = one_hot(axis = int32(1), indices = i, one_hot_vector_size = int32(6));",
    );
    assert_eq!(got, vec![t(DType::Int32, &[3, 6, 4])]);
    let got = infer(
        "tensor<fp32, [2, 3, 5]> r",
        "            tensor<fp32, [2, 3, 5]> y = fill_like(ref_tensor = r, value = fp32(0x1.8p+0));",
    );
    assert_eq!(got, f32s(&[2, 3, 5]));
    let got = infer(
        "tensor<fp32, [2, 3, 5]> r, tensor<int32, [4, 2]> i",
        "            tensor<fp32, [4, 5]> y = gather_nd(indices = i, x = r);",
    );
    assert_eq!(got, f32s(&[4, 5]));
}

#[test]
fn resizing_crop_and_windows() {
    let p = "tensor<fp32, [1, 2, 5, 7]> x";
    let got = infer(
        p,
        "            tensor<fp32, [1, 2, 10, 21]> y = upsample_nearest_neighbor(scale_factor_height = int32(2), scale_factor_width = int32(3), x = x);",
    );
    assert_eq!(got, f32s(&[1, 2, 10, 21]));
    let got = infer(
        p,
        "            tensor<fp32, [1, 2, 4, 9]> y = resize_nearest_neighbor(target_size_height = int32(4), target_size_width = int32(9), x = x);",
    );
    assert_eq!(got, f32s(&[1, 2, 4, 9]));
    let got = infer(
        p,
        "            tensor<fp32, [1, 2, 2, 4]> y = crop(crop_height = tensor<int32, [2]>([1, 2]), crop_width = tensor<int32, [2]>([0, 3]), x = x);",
    );
    assert_eq!(got, f32s(&[1, 2, 2, 4]));
    let got = infer(
        "tensor<fp32, [2, 3, 5]> r",
        "            tensor<fp32, [2, 3, 2, 2]> y = sliding_windows(axis = int32(2), size = int32(2), stride = int32(2), x = r);",
    );
    assert_eq!(got, f32s(&[2, 3, 2, 2]));
}
