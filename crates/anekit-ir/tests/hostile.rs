//! Extreme values that once could overflow or allocate without bound in inference: each must
//! give a diagnostic (or be accepted), never panic or allocate gigabytes.

use anekit_ir::check;

fn codes(params: &str, body: &str) -> Vec<&'static str> {
    let src = format!(
        "program(1.3)\n{{\n    func main<ios18>({params}) {{\n{body}\n        }} -> ();\n}}"
    );
    check(&src).errors().map(|d| d.code).collect()
}

#[test]
fn range_1d_with_extreme_bounds() {
    let got = codes(
        "",
        "            tensor<int64, [?]> r = range_1d(end = int64(9223372036854775807), start = int64(-9223372036854775808), step = int64(1));",
    );
    // 2^64 - 1 elements: fits u64, compatible with the declared `?`.
    assert_eq!(got, Vec::<&str>::new());
}

#[test]
fn slice_with_minimum_stride() {
    let got = codes(
        "tensor<fp32, [4]> x",
        "            tensor<fp32, [1]> y = slice_by_index(begin = tensor<int32, [1]>([3]), end = tensor<int32, [1]>([0]), stride = tensor<int64, [1]>([-9223372036854775808]), x = x);",
    );
    assert_eq!(got, Vec::<&str>::new());
}

#[test]
fn split_into_two_billion_parts() {
    let got = codes(
        "tensor<fp32, [?]> x",
        "            tensor<fp32, [?]> y = split(axis = int32(0), num_splits = int32(2000000000), x = x);",
    );
    assert_eq!(got, ["E-invalid-op"]);
}

#[test]
fn reshape_to_a_shape_tensor_of_huge_length() {
    let got = codes(
        "tensor<fp32, [4]> x, tensor<int32, [4000000000]> s",
        "            tensor<fp32, [4]> y = reshape(shape = s, x = x);",
    );
    assert_eq!(got, Vec::<&str>::new());
}

#[test]
fn padding_beyond_u64() {
    let got = codes(
        "tensor<fp32, [18446744073709551615]> x",
        "            tensor<fp32, [1]> y = pad(pad = tensor<int64, [2]>([9223372036854775807, 9223372036854775807]), x = x);",
    );
    assert_eq!(got, ["E-invalid-op"]);
}
