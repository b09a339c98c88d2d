//! The registry data. Inputs are in declaration order (mil-text.md §6), opset changes from §7.
//! `konst()` marks inputs that coremltools declares `const=True` (only where clear).

use super::InputKind::{Block, List, State, TensorBuffer, Variadic};
use super::Opset::{Ios15, Ios16, Ios17, Ios18};
use super::*;
use crate::infer as inf;

const fn r(name: &'static str, dtypes: DTypeSet) -> InputDef {
    InputDef::required(name, dtypes)
}
const fn o(name: &'static str, dtypes: DTypeSet) -> InputDef {
    InputDef::optional(name, dtypes)
}

const BASE: OpDef = OpDef {
    name: "",
    category: Category::ElementwiseUnary,
    origin: OpOrigin::Registry,
    since: Ios15,
    signatures: &[],
    redefined_same: &[],
    outputs: OutputCount::ONE,
    operands_in_attributes_before_ios18: false,
    infer: None,
};

const fn outs(min: u32, max: Option<u32>) -> OutputCount {
    OutputCount { min, max }
}

/// `op!(name, Category, since, [inputs] ; field: value, ...)` for an op whose input names never
/// changed; `op!(name, Category, since, sigs [Opset => [inputs], ...] ; ...)` otherwise.
macro_rules! op {
    ($name:literal, $cat:ident, $since:ident, [$($inp:expr),* $(,)?] $(; $($field:ident : $val:expr),* $(,)?)?) => {
        OpDef {
            name: $name,
            category: Category::$cat,
            since: $since,
            signatures: &[Signature { since: $since, inputs: &[$($inp),*] }],
            $($($field: $val,)*)?
            ..BASE
        }
    };
    ($name:literal, $cat:ident, $since:ident, sigs [$($s:ident => [$($inp:expr),* $(,)?]),+ $(,)?] $(; $($field:ident : $val:expr),* $(,)?)?) => {
        OpDef {
            name: $name,
            category: Category::$cat,
            since: $since,
            signatures: &[$(Signature { since: $s, inputs: &[$($inp),*] }),+],
            $($($field: $val,)*)?
            ..BASE
        }
    };
}

macro_rules! unary {
    ($name:literal, $cat:ident, $dt:expr) => {
        op!($name, $cat, Ios15, [r("x", $dt)]; infer: Some(inf::same_as_x))
    };
}

macro_rules! binary {
    ($name:literal, $dt:expr, $infer:path) => {
        op!($name, ElementwiseBinary, Ios15, [r("x", $dt), r("y", $dt)]; infer: Some($infer))
    };
}

const S17: &[Opset] = &[Ios17];

const CONV_TAIL: [InputDef; 5] = [
    o("strides", I32).konst(),
    o("pad_type", STRING).konst(),
    o("pad", I32).konst(),
    o("dilations", I32).konst(),
    o("groups", I32).konst(),
];

/// Every op, grouped as in mil-text.md §6. Count: 168 registry ops + 3 text-only ops.
pub static OPS: &[OpDef] = &[
    // §6.1 activation
    op!("clamped_relu", Activation, Ios15, [r("x", FLOAT), r("alpha", FLOAT).konst(), r("beta", FLOAT).konst()]; redefined_same: S17, infer: Some(inf::same_as_x)),
    op!("elu", Activation, Ios15, [r("x", FLOAT), r("alpha", FLOAT).konst()]; redefined_same: S17, infer: Some(inf::same_as_x)),
    op!("gelu", Activation, Ios15, [r("x", FLOAT), o("mode", STRING).konst()]; infer: Some(inf::same_as_x)),
    op!("leaky_relu", Activation, Ios15, [r("x", FLOAT), r("alpha", FLOAT).konst()]; redefined_same: S17, infer: Some(inf::same_as_x)),
    op!("linear_activation", Activation, Ios15, [r("x", FLOAT), r("alpha", FLOAT).konst(), r("beta", FLOAT).konst()]; redefined_same: S17, infer: Some(inf::same_as_x)),
    op!("prelu", Activation, Ios15, [r("x", FLOAT), r("alpha", FLOAT).konst()]; redefined_same: S17, infer: Some(inf::same_as_x)),
    unary!("relu", Activation, FLOAT),
    unary!("relu6", Activation, FLOAT),
    op!("scaled_tanh", Activation, Ios15, [r("x", FLOAT), r("alpha", FLOAT).konst(), r("beta", FLOAT).konst()]; redefined_same: S17, infer: Some(inf::same_as_x)),
    unary!("sigmoid", Activation, FLOAT),
    op!("sigmoid_hard", Activation, Ios15, [r("x", FLOAT), r("alpha", FLOAT).konst(), r("beta", FLOAT).konst()]; redefined_same: S17, infer: Some(inf::same_as_x)),
    unary!("silu", Activation, FLOAT),
    op!("softmax", Activation, Ios15, [r("x", FLOAT), o("axis", I32).konst()]; infer: Some(inf::same_as_x)),
    unary!("softplus", Activation, FLOAT),
    op!("softplus_parametric", Activation, Ios15, [r("x", FLOAT), r("alpha", FLOAT).konst(), r("beta", FLOAT).konst()]; redefined_same: S17, infer: Some(inf::same_as_x)),
    unary!("softsign", Activation, FLOAT),
    op!("thresholded_relu", Activation, Ios15, [r("x", FLOAT), r("alpha", FLOAT).konst()]; redefined_same: S17, infer: Some(inf::same_as_x)),
    // §6.2 classify: a class label and a probability dict
    op!("classify", Classify, Ios15, [r("probabilities", FLOAT), r("classes", ANY).konst().kind(List)]; outputs: outs(2, Some(2))),
    // §6.3 compression (iOS18)
    op!("constexpr_blockwise_shift_scale", Compression, Ios18, [r("data", STORED).konst(), r("scale", FLOAT).konst(), o("offset", STORED).konst()]; infer: Some(inf::constexpr_blockwise_shift_scale)),
    op!("constexpr_lut_to_sparse", Compression, Ios18, [r("indices_mask", STORED).konst(), r("indices_nonzero_data", STORED).konst(), r("lut", STORED).konst(), o("vector_axis", I32).konst()]; outputs: outs(2, Some(2))),
    op!("constexpr_sparse_blockwise_shift_scale", Compression, Ios18, [r("data_mask", STORED).konst(), r("nonzero_data", STORED).konst(), r("scale", FLOAT).konst(), o("offset", STORED).konst()]; outputs: outs(2, Some(2))),
    // §6.4 constexpr_ops (iOS16): operands are attributes before iOS18
    op!("constexpr_affine_dequantize", ConstexprOps, Ios16, [r("quantized_data", STORED).konst(), r("zero_point", STORED).konst(), r("scale", FLOAT).konst(), r("axis", I32).konst()]; operands_in_attributes_before_ios18: true, infer: Some(inf::constexpr_affine_dequantize)),
    op!("constexpr_cast", ConstexprOps, Ios16, [r("source_val", STORED).konst(), r("output_dtype", STRING).konst()]; redefined_same: &[Ios18], operands_in_attributes_before_ios18: true, infer: Some(inf::constexpr_cast)),
    op!("constexpr_lut_to_dense", ConstexprOps, Ios16, sigs [
        Ios16 => [r("indices", STORED).konst(), r("lut", STORED).konst(), r("shape", INT).konst()],
        Ios18 => [r("indices", STORED).konst(), r("lut", STORED).konst(), o("vector_axis", I32).konst()],
    ]; operands_in_attributes_before_ios18: true),
    op!("constexpr_sparse_to_dense", ConstexprOps, Ios16, sigs [
        Ios16 => [r("nonzero_data", STORED).konst(), r("mask", STORED).konst(), r("shape", INT).konst()],
        Ios18 => [r("nonzero_data", STORED).konst(), r("mask", STORED).konst()],
    ]; operands_in_attributes_before_ios18: true),
    // §6.5 control_flow
    op!("_const_symbolic", ControlFlow, Ios15, [r("val", ANY).konst()]; origin: OpOrigin::Internal),
    op!("cond", ControlFlow, Ios15, [r("pred", BOOL), r("_true_fn", ANY).kind(Block), r("_false_fn", ANY).kind(Block), o("_existing_blocks", ANY).kind(Block)]; outputs: outs(1, None)),
    op!("const", ControlFlow, Ios15, [r("val", ANY).konst()]),
    op!(
        "list_gather",
        ControlFlow,
        Ios15,
        [r("ls", ANY).kind(List), r("indices", INT)]
    ),
    op!("list_length", ControlFlow, Ios15, [r("ls", ANY).kind(List)]),
    op!(
        "list_read",
        ControlFlow,
        Ios15,
        [r("ls", ANY).kind(List), r("index", INT)]
    ),
    op!(
        "list_scatter",
        ControlFlow,
        Ios15,
        [
            r("ls", ANY).kind(List),
            r("indices", INT),
            r("value", TENSOR)
        ]
    ),
    op!(
        "list_write",
        ControlFlow,
        Ios15,
        [r("ls", ANY).kind(List), r("index", INT), r("value", TENSOR)]
    ),
    op!(
        "make_list",
        ControlFlow,
        Ios15,
        [
            o("init_length", INT),
            o("dynamic_length", BOOL),
            r("elem_shape", ANY),
            o("dtype", STRING).konst()
        ]
    ),
    op!("select", ControlFlow, Ios15, [r("cond", BOOL), r("a", TENSOR), r("b", TENSOR)]; infer: Some(inf::select)),
    op!("while_loop", ControlFlow, Ios15, [r("_cond", ANY).kind(Block), r("_body", ANY).kind(Block), r("loop_vars", ANY).kind(Variadic), o("_existing_blocks", ANY).kind(Block)]; outputs: outs(1, None)),
    // §6.6 conv
    op!("conv", Conv, Ios15, [r("x", FLOAT), r("weight", FLOAT), o("bias", FLOAT), CONV_TAIL[0], CONV_TAIL[1], CONV_TAIL[2], CONV_TAIL[3], CONV_TAIL[4]]; redefined_same: S17, infer: Some(inf::conv)),
    op!(
        "conv_quantized",
        Conv,
        Ios15,
        [
            r("x", FLOAT),
            r("weight", TENSOR),
            o("bias", FLOAT),
            r("quantization_type", STRING).konst(),
            o("nbits", I32).konst(),
            r("quant_scale", FLOAT).konst(),
            r("quant_bias", FLOAT).konst(),
            CONV_TAIL[0],
            CONV_TAIL[1],
            CONV_TAIL[2],
            CONV_TAIL[3],
            CONV_TAIL[4]
        ]
    ),
    op!("conv_transpose", Conv, Ios15, [r("x", FLOAT), r("weight", FLOAT), o("bias", FLOAT), o("pad", I32).konst(), o("output_shape", I32).konst(), o("pad_type", STRING).konst(), o("strides", I32).konst(), o("dilations", I32).konst(), o("groups", I32).konst()]; redefined_same: S17, infer: Some(inf::conv_transpose)),
    // §6.7 elementwise_binary
    binary!("add", NUMERIC, inf::binary_arith),
    binary!("equal", TENSOR, inf::binary_compare),
    binary!("floor_div", NUMERIC, inf::binary_arith),
    binary!("greater", NUMERIC, inf::binary_compare),
    binary!("greater_equal", NUMERIC, inf::binary_compare),
    binary!("less", NUMERIC, inf::binary_compare),
    binary!("less_equal", NUMERIC, inf::binary_compare),
    binary!("logical_and", BOOL, inf::binary_compare),
    binary!("logical_or", BOOL, inf::binary_compare),
    binary!("logical_xor", BOOL, inf::binary_compare),
    binary!("maximum", NUMERIC, inf::binary_arith),
    binary!("minimum", NUMERIC, inf::binary_arith),
    binary!("mod", NUMERIC, inf::binary_arith),
    binary!("mul", NUMERIC, inf::binary_arith),
    binary!("not_equal", TENSOR, inf::binary_compare),
    binary!("pow", NUMERIC, inf::binary_arith),
    binary!("real_div", NUMERIC, inf::binary_arith),
    binary!("sub", NUMERIC, inf::binary_arith),
    // §6.8 elementwise_unary
    unary!("abs", ElementwiseUnary, NUMERIC),
    unary!("acos", ElementwiseUnary, FLOAT),
    unary!("asin", ElementwiseUnary, FLOAT),
    unary!("atan", ElementwiseUnary, FLOAT),
    unary!("atanh", ElementwiseUnary, FLOAT),
    unary!("ceil", ElementwiseUnary, NUMERIC),
    unary!("cos", ElementwiseUnary, FLOAT),
    unary!("cosh", ElementwiseUnary, FLOAT),
    unary!("erf", ElementwiseUnary, FLOAT),
    unary!("exp", ElementwiseUnary, FLOAT),
    unary!("exp2", ElementwiseUnary, FLOAT),
    unary!("floor", ElementwiseUnary, NUMERIC),
    unary!("logical_not", ElementwiseUnary, BOOL),
    unary!("round", ElementwiseUnary, NUMERIC),
    unary!("sign", ElementwiseUnary, NUMERIC),
    unary!("sin", ElementwiseUnary, FLOAT),
    unary!("sinh", ElementwiseUnary, FLOAT),
    unary!("sqrt", ElementwiseUnary, FLOAT),
    unary!("square", ElementwiseUnary, NUMERIC),
    unary!("tan", ElementwiseUnary, FLOAT),
    unary!("tanh", ElementwiseUnary, FLOAT),
    op!("cast", ElementwiseUnary, Ios15, [r("x", TENSOR), r("dtype", STRING).konst()]; redefined_same: S17, infer: Some(inf::cast)),
    op!("clip", ElementwiseUnary, Ios15, [r("x", NUMERIC), r("alpha", NUMERIC).konst(), r("beta", NUMERIC).konst()]; redefined_same: S17, infer: Some(inf::same_as_x)),
    op!("inverse", ElementwiseUnary, Ios15, [r("x", FLOAT), o("epsilon", FLOAT).konst()]; redefined_same: S17, infer: Some(inf::same_as_x)),
    op!("log", ElementwiseUnary, Ios15, [r("x", FLOAT), o("epsilon", FLOAT).konst()]; redefined_same: S17, infer: Some(inf::same_as_x)),
    op!("rsqrt", ElementwiseUnary, Ios15, [r("x", FLOAT), o("epsilon", FLOAT).konst()]; redefined_same: S17, infer: Some(inf::same_as_x)),
    op!("threshold", ElementwiseUnary, Ios15, [r("x", NUMERIC), r("alpha", NUMERIC).konst()]; infer: Some(inf::same_as_x)),
    // §6.9 image_resizing
    op!(
        "affine",
        ImageResizing,
        Ios15,
        [
            r("x", FLOAT),
            r("transform_matrix", FLOAT),
            r("output_height", I32),
            r("output_width", I32),
            r("sampling_mode", STRING).konst(),
            r("padding_mode", STRING).konst(),
            r("padding_value", FLOAT).konst(),
            r("coordinates_mode", STRING).konst(),
            r("align_corners", BOOL).konst()
        ]
    ),
    op!(
        "crop",
        ImageResizing,
        Ios15,
        [
            r("x", FLOAT),
            r("crop_height", I32).konst(),
            r("crop_width", I32).konst()
        ]; infer: Some(inf::crop)),
    op!("crop_resize", ImageResizing, Ios15, sigs [
        Ios15 => [r("x", FLOAT), r("roi", FLOAT), o("target_height", I32).konst(), o("target_width", I32).konst(), o("normalized_coordinates", BOOL).konst(), o("spatial_scale", FLOAT).konst(), o("box_coordinate_mode", STRING).konst(), o("sampling_mode", STRING).konst()],
        Ios16 => [r("x", FLOAT), r("roi", FLOAT), o("target_height", I32).konst(), o("target_width", I32).konst(), o("normalized_coordinates", BOOL).konst(), o("spatial_scale", FLOAT).konst(), o("box_coordinate_mode", STRING).konst(), o("sampling_mode", STRING).konst(), o("pad_value", FLOAT).konst()],
        Ios17 => [r("x", FLOAT), r("boxes", FLOAT), o("box_indices", INT), o("target_height", I32).konst(), o("target_width", I32).konst(), o("normalized_coordinates", BOOL).konst(), o("spatial_scale", FLOAT).konst(), o("box_coordinate_mode", STRING).konst(), o("sampling_mode", STRING).konst(), o("pad_value", FLOAT).konst()],
    ]),
    op!("resample", ImageResizing, Ios15, [r("x", FLOAT), r("coordinates", NUMERIC), r("sampling_mode", STRING).konst(), r("padding_mode", STRING).konst(), r("padding_value", FLOAT).konst(), r("coordinates_mode", STRING).konst(), r("align_corners", BOOL).konst()]; redefined_same: &[Ios16, Ios17]),
    op!(
        "resize",
        ImageResizing,
        Ios17,
        [
            r("x", FLOAT),
            r("shape", INT),
            r("resized_dims", INT).konst(),
            o("interpolation_mode", STRING).konst(),
            o("sampling_mode", STRING).konst()
        ]
    ),
    op!(
        "resize_bilinear",
        ImageResizing,
        Ios15,
        [
            r("x", FLOAT),
            o("target_size_height", I32),
            o("target_size_width", I32),
            o("sampling_mode", STRING).konst()
        ]
    ),
    op!(
        "resize_nearest_neighbor",
        ImageResizing,
        Ios15,
        [
            r("x", FLOAT),
            r("target_size_height", I32),
            r("target_size_width", I32)
        ]; infer: Some(inf::resize_nearest_neighbor)),
    op!("upsample_bilinear", ImageResizing, Ios15, sigs [
        Ios15 => [r("x", FLOAT), o("scale_factor_height", NUMERIC), o("scale_factor_width", NUMERIC), o("align_corners", BOOL).konst()],
        Ios16 => [r("x", FLOAT), o("scale_factor_height", NUMERIC), o("scale_factor_width", NUMERIC), o("align_corners", BOOL).konst(), o("half_pixel_centers", BOOL).konst()],
    ]),
    op!(
        "upsample_nearest_neighbor",
        ImageResizing,
        Ios15,
        [
            r("x", FLOAT),
            o("scale_factor_height", NUMERIC),
            o("scale_factor_width", NUMERIC)
        ]; infer: Some(inf::upsample_nearest_neighbor)),
    // §6.10 linear
    op!(
        "einsum",
        Linear,
        Ios15,
        [
            r("values", FLOAT).kind(Variadic),
            r("equation", STRING).konst()
        ]
    ),
    op!("linear", Linear, Ios15, [r("x", FLOAT), r("weight", FLOAT), o("bias", FLOAT)]; redefined_same: S17, infer: Some(inf::linear)),
    op!("matmul", Linear, Ios15, [r("x", NUMERIC), r("y", NUMERIC), o("transpose_x", BOOL).konst(), o("transpose_y", BOOL).konst()]; redefined_same: S17, infer: Some(inf::matmul)),
    // §6.11 normalization
    op!("batch_norm", Normalization, Ios15, [r("x", FLOAT), r("mean", FLOAT).konst(), r("variance", FLOAT).konst(), o("gamma", FLOAT).konst(), o("beta", FLOAT).konst(), o("epsilon", FLOAT).konst()]; redefined_same: S17, infer: Some(inf::same_as_x)),
    op!("instance_norm", Normalization, Ios15, [r("x", FLOAT), o("gamma", FLOAT).konst(), o("beta", FLOAT).konst(), o("epsilon", FLOAT).konst()]; redefined_same: S17, infer: Some(inf::same_as_x)),
    op!("l2_norm", Normalization, Ios15, [r("x", FLOAT), o("epsilon", FLOAT).konst()]; redefined_same: S17, infer: Some(inf::same_as_x)),
    op!("layer_norm", Normalization, Ios15, [r("x", FLOAT), o("axes", I32).konst(), o("gamma", FLOAT).konst(), o("beta", FLOAT).konst(), o("epsilon", FLOAT).konst()]; redefined_same: S17, infer: Some(inf::same_as_x)),
    op!("local_response_norm", Normalization, Ios15, [r("x", FLOAT), r("size", I32).konst(), o("alpha", FLOAT).konst(), o("beta", FLOAT).konst(), o("k", FLOAT).konst()]; redefined_same: S17, infer: Some(inf::same_as_x)),
    // §6.12 pool
    op!("avg_pool", Pool, Ios15, [o("exclude_padding_from_average", BOOL).konst(), r("x", FLOAT), r("kernel_sizes", I32).konst(), o("strides", I32).konst(), r("pad_type", STRING).konst(), o("pad", I32).konst(), o("ceil_mode", BOOL).konst()]; infer: Some(inf::pool)),
    op!("l2_pool", Pool, Ios15, [r("x", FLOAT), r("kernel_sizes", I32).konst(), o("strides", I32).konst(), r("pad_type", STRING).konst(), o("pad", I32).konst(), o("ceil_mode", BOOL).konst()]; infer: Some(inf::pool)),
    op!("max_pool", Pool, Ios15, [r("x", FLOAT), r("kernel_sizes", I32).konst(), o("strides", I32).konst(), r("pad_type", STRING).konst(), o("pad", I32).konst(), o("ceil_mode", BOOL).konst()]; infer: Some(inf::pool)),
    // §6.13 quantization_ops (iOS17)
    op!(
        "dequantize",
        QuantizationOps,
        Ios17,
        [
            r("input", INT),
            o("zero_point", INT).konst(),
            r("scale", FLOAT).konst(),
            o("axis", I32).konst()
        ]; infer: Some(inf::dequantize)),
    op!(
        "quantize",
        QuantizationOps,
        Ios17,
        [
            r("input", FLOAT),
            o("zero_point", INT).konst(),
            r("scale", FLOAT).konst(),
            o("axis", I32).konst(),
            r("output_dtype", STRING).konst()
        ]; infer: Some(inf::quantize)),
    // §6.14 random
    op!(
        "random_bernoulli",
        Random,
        Ios15,
        [
            r("shape", I32),
            o("prob", FLOAT).konst(),
            o("seed", I32).konst()
        ]
    ),
    op!(
        "random_categorical",
        Random,
        Ios15,
        [
            r("x", FLOAT),
            o("mode", STRING).konst(),
            o("size", I32).konst(),
            o("seed", I32).konst()
        ]
    ),
    op!(
        "random_normal",
        Random,
        Ios15,
        [
            r("shape", I32),
            o("mean", FLOAT).konst(),
            o("stddev", FLOAT).konst(),
            o("seed", I32).konst()
        ]
    ),
    op!(
        "random_uniform",
        Random,
        Ios15,
        [
            r("shape", I32),
            o("low", FLOAT).konst(),
            o("high", FLOAT).konst(),
            o("seed", I32).konst()
        ]
    ),
    // §6.15 recurrent
    op!("gru", Recurrent, Ios15, sigs [
        Ios15 => [r("x", FLOAT), r("initial_h", FLOAT), r("weight_ih", FLOAT).konst(), r("weight_hh", FLOAT).konst(), o("bias", FLOAT).konst(), o("direction", STRING).konst(), o("output_sequence", BOOL).konst(), o("recurrent_activation", STRING).konst(), o("activation", STRING).konst()],
        Ios18 => [r("x", FLOAT), r("initial_h", FLOAT), r("weight_ih", FLOAT).konst(), r("weight_hh", FLOAT).konst(), o("bias", FLOAT).konst(), o("direction", STRING).konst(), o("output_sequence", BOOL).konst(), o("recurrent_activation", STRING).konst(), o("activation", STRING).konst(), o("reset_after", BOOL).konst(), o("input_bias", FLOAT).konst()],
    ]; redefined_same: S17, outputs: outs(2, Some(2)), infer: Some(inf::gru_rnn)),
    op!("lstm", Recurrent, Ios15, [r("x", FLOAT), r("initial_h", FLOAT), r("initial_c", FLOAT), r("weight_ih", FLOAT).konst(), r("weight_hh", FLOAT).konst(), o("bias", FLOAT).konst(), o("peephole", FLOAT).konst(), o("weight_ih_back", FLOAT).konst(), o("weight_hh_back", FLOAT).konst(), o("bias_back", FLOAT).konst(), o("peephole_back", FLOAT).konst(), o("direction", STRING).konst(), o("output_sequence", BOOL).konst(), o("recurrent_activation", STRING).konst(), o("cell_activation", STRING).konst(), o("activation", STRING).konst(), o("clip", FLOAT).konst()]; redefined_same: S17, outputs: outs(3, Some(3)), infer: Some(inf::lstm)),
    op!("rnn", Recurrent, Ios15, [r("x", FLOAT), r("initial_h", FLOAT), r("weight_ih", FLOAT).konst(), r("weight_hh", FLOAT).konst(), o("bias", FLOAT).konst(), o("direction", STRING).konst(), o("output_sequence", BOOL).konst(), o("activation", STRING).konst()]; redefined_same: S17, outputs: outs(2, Some(2)), infer: Some(inf::gru_rnn)),
    // §6.16 reduction
    op!("reduce_argmax", Reduction, Ios15, sigs [
        Ios15 => [r("x", NUMERIC), o("axis", I32).konst(), o("keep_dims", BOOL).konst()],
        Ios17 => [r("x", NUMERIC), o("axis", I32).konst(), o("keep_dims", BOOL).konst(), o("output_dtype", STRING).konst()],
    ]; infer: Some(inf::reduce_arg)),
    op!("reduce_argmin", Reduction, Ios15, sigs [
        Ios15 => [r("x", NUMERIC), o("axis", I32).konst(), o("keep_dims", BOOL).konst()],
        Ios17 => [r("x", NUMERIC), o("axis", I32).konst(), o("keep_dims", BOOL).konst(), o("output_dtype", STRING).konst()],
    ]; infer: Some(inf::reduce_arg)),
    op!("reduce_l1_norm", Reduction, Ios15, [r("x", NUMERIC), o("axes", I32).konst(), o("keep_dims", BOOL).konst()]; infer: Some(inf::reduce)),
    op!("reduce_l2_norm", Reduction, Ios15, [r("x", NUMERIC), o("axes", I32).konst(), o("keep_dims", BOOL).konst()]; infer: Some(inf::reduce)),
    op!("reduce_log_sum", Reduction, Ios15, [r("x", NUMERIC), o("axes", I32).konst(), o("keep_dims", BOOL).konst()]; infer: Some(inf::reduce)),
    op!("reduce_log_sum_exp", Reduction, Ios15, [r("x", NUMERIC), o("axes", I32).konst(), o("keep_dims", BOOL).konst()]; infer: Some(inf::reduce)),
    op!("reduce_max", Reduction, Ios15, [r("x", NUMERIC), o("axes", I32).konst(), o("keep_dims", BOOL).konst()]; infer: Some(inf::reduce)),
    op!("reduce_mean", Reduction, Ios15, [r("x", NUMERIC), o("axes", I32).konst(), o("keep_dims", BOOL).konst()]; infer: Some(inf::reduce)),
    op!("reduce_min", Reduction, Ios15, [r("x", NUMERIC), o("axes", I32).konst(), o("keep_dims", BOOL).konst()]; infer: Some(inf::reduce)),
    op!("reduce_prod", Reduction, Ios15, [r("x", NUMERIC), o("axes", I32).konst(), o("keep_dims", BOOL).konst()]; infer: Some(inf::reduce)),
    op!("reduce_sum", Reduction, Ios15, [r("x", NUMERIC), o("axes", I32).konst(), o("keep_dims", BOOL).konst()]; infer: Some(inf::reduce)),
    op!("reduce_sum_square", Reduction, Ios15, [r("x", NUMERIC), o("axes", I32).konst(), o("keep_dims", BOOL).konst()]; infer: Some(inf::reduce)),
    // §6.17 scatter_gather
    op!("gather", ScatterGather, Ios15, sigs [
        Ios15 => [r("x", TENSOR), r("indices", INT), o("axis", I32).konst()],
        Ios16 => [r("x", TENSOR), r("indices", INT), o("axis", I32).konst(), o("batch_dims", I32).konst()],
        Ios17 => [r("x", TENSOR), r("indices", INT), o("axis", I32).konst(), o("batch_dims", I32).konst(), o("validate_indices", BOOL).konst()],
    ]; infer: Some(inf::gather)),
    op!("gather_along_axis", ScatterGather, Ios15, sigs [
        Ios15 => [r("x", TENSOR), r("indices", INT), o("axis", I32).konst()],
        Ios17 => [r("x", TENSOR), r("indices", INT), o("axis", I32).konst(), o("validate_indices", BOOL).konst()],
    ]; redefined_same: &[Ios16], infer: Some(inf::gather_along_axis)),
    op!("gather_nd", ScatterGather, Ios15, sigs [
        Ios15 => [r("x", TENSOR), r("indices", INT)],
        Ios16 => [r("x", TENSOR), r("indices", INT), o("batch_dims", I32).konst()],
        Ios17 => [r("x", TENSOR), r("indices", INT), o("batch_dims", I32).konst(), o("validate_indices", BOOL).konst()],
    ]; infer: Some(inf::gather_nd)),
    op!("scatter", ScatterGather, Ios15, sigs [
        Ios15 => [r("data", TENSOR), r("indices", INT), r("updates", TENSOR), o("axis", I32).konst(), o("mode", STRING).konst()],
        Ios17 => [r("data", TENSOR), r("indices", INT), r("updates", TENSOR), o("axis", I32).konst(), o("mode", STRING).konst(), o("validate_indices", BOOL).konst()],
    ]; infer: Some(inf::same_as_data)),
    op!("scatter_along_axis", ScatterGather, Ios15, sigs [
        Ios15 => [r("data", TENSOR), r("indices", INT), r("updates", TENSOR), o("axis", I32).konst(), o("mode", STRING).konst()],
        Ios17 => [r("data", TENSOR), r("indices", INT), r("updates", TENSOR), o("axis", I32).konst(), o("mode", STRING).konst(), o("validate_indices", BOOL).konst()],
    ]; infer: Some(inf::same_as_data)),
    op!("scatter_nd", ScatterGather, Ios15, sigs [
        Ios15 => [r("data", TENSOR), r("indices", INT), r("updates", TENSOR), o("mode", STRING).konst()],
        Ios17 => [r("data", TENSOR), r("indices", INT), r("updates", TENSOR), o("mode", STRING).konst(), o("validate_indices", BOOL).konst()],
    ]; infer: Some(inf::same_as_data)),
    // §6.18 states (iOS18)
    op!("read_state", States, Ios18, [r("input", ANY).kind(State)]; infer: Some(inf::read_state)),
    // §6.19 tensor_operation
    op!(
        "argsort",
        TensorOperation,
        Ios15,
        [
            r("x", NUMERIC),
            o("axis", I32).konst(),
            o("ascending", BOOL).konst()
        ]; infer: Some(inf::argsort)),
    op!("band_part", TensorOperation, Ios15, [r("x", TENSOR), o("lower", I32).konst(), o("upper", I32).konst()]; infer: Some(inf::same_as_x)),
    op!("concat", TensorOperation, Ios15, [r("values", TENSOR).kind(Variadic), r("axis", I32).konst(), o("interleave", BOOL).konst()]; infer: Some(inf::concat)),
    op!("cumsum", TensorOperation, Ios15, [r("x", NUMERIC), o("axis", I32).konst(), o("exclusive", BOOL).konst(), o("reverse", BOOL).konst()]; infer: Some(inf::same_as_x)),
    op!(
        "fill",
        TensorOperation,
        Ios15,
        [r("shape", INT), o("value", TENSOR).konst()]
    ),
    op!(
        "fill_like",
        TensorOperation,
        Ios16,
        [r("ref_tensor", TENSOR), o("value", TENSOR).konst()]; infer: Some(inf::fill_like)),
    op!("flatten2d", TensorOperation, Ios15, [r("x", TENSOR), o("axis", I32).konst()]; infer: Some(inf::flatten2d)),
    op!("identity", TensorOperation, Ios15, [r("x", ANY)]; infer: Some(inf::same_as_x)),
    op!("non_maximum_suppression", TensorOperation, Ios15, sigs [
        Ios15 => [r("boxes", FLOAT), r("scores", FLOAT), r("iou_threshold", FLOAT).konst(), r("score_threshold", FLOAT).konst(), r("max_boxes", I32).konst(), o("per_class_suppression", BOOL).konst()],
        Ios17 => [r("boxes", FLOAT), r("scores", FLOAT), r("iou_threshold", FLOAT), r("max_boxes", I32).konst(), o("per_class_suppression", BOOL).konst()],
    ]; outputs: outs(4, Some(4))),
    op!("non_zero", TensorOperation, Ios15, [r("x", TENSOR)]; infer: Some(inf::non_zero)),
    op!(
        "one_hot",
        TensorOperation,
        Ios15,
        [
            r("indices", INT),
            r("one_hot_vector_size", I32),
            o("axis", I32).konst(),
            o("on_value", TENSOR).konst(),
            o("off_value", TENSOR).konst()
        ]; infer: Some(inf::one_hot)),
    op!("pad", TensorOperation, Ios15, [r("x", TENSOR), r("pad", I32), o("mode", STRING).konst(), o("constant_val", TENSOR).konst()]; infer: Some(inf::pad)),
    op!("range_1d", TensorOperation, Ios15, [r("end", NUMERIC), r("start", NUMERIC), r("step", NUMERIC)]; infer: Some(inf::range_1d)),
    op!("shape", TensorOperation, Ios15, [r("x", ANY)]; infer: Some(inf::shape)),
    op!("split", TensorOperation, Ios15, [r("x", TENSOR), o("num_splits", I32).konst(), o("split_sizes", I32).konst(), r("axis", I32).konst()]; outputs: outs(1, None), infer: Some(inf::split)),
    op!("stack", TensorOperation, Ios15, [r("values", TENSOR).kind(Variadic), r("axis", I32).konst()]; infer: Some(inf::stack)),
    op!("tile", TensorOperation, Ios15, [r("x", TENSOR), r("reps", I32)]; infer: Some(inf::tile)),
    op!("topk", TensorOperation, Ios15, sigs [
        Ios15 => [r("x", NUMERIC), o("k", I32), o("axis", I32).konst(), o("ascending", BOOL).konst()],
        Ios16 => [r("x", NUMERIC), o("k", I32), o("axis", I32).konst(), o("ascending", BOOL).konst(), o("sort", BOOL).konst(), o("return_indices", BOOL).konst()],
        Ios17 => [r("x", NUMERIC), o("k", I32), o("axis", I32).konst(), o("ascending", BOOL).konst(), o("sort", BOOL).konst(), o("return_indices", BOOL).konst(), o("output_indices_dtype", STRING).konst()],
    ]; outputs: outs(1, Some(2)), infer: Some(inf::topk)),
    // §6.20 tensor_transformation
    op!(
        "batch_to_space",
        TensorTransformation,
        Ios15,
        [
            r("x", TENSOR),
            r("block_shape", I32).konst(),
            r("crops", I32).konst()
        ]
    ),
    op!(
        "depth_to_space",
        TensorTransformation,
        Ios15,
        [r("x", TENSOR), r("block_size", I32).konst()]; infer: Some(inf::depth_to_space)),
    op!("expand_dims", TensorTransformation, Ios15, [r("x", TENSOR), r("axes", I32).konst()]; redefined_same: S17, infer: Some(inf::expand_dims)),
    op!(
        "pixel_shuffle",
        TensorTransformation,
        Ios15,
        [r("x", TENSOR), r("upscale_factor", INT).konst()]; infer: Some(inf::pixel_shuffle)),
    op!(
        "pixel_unshuffle",
        TensorTransformation,
        Ios16,
        [r("x", TENSOR), r("downscale_factor", INT).konst()]; infer: Some(inf::pixel_unshuffle)),
    op!("reshape", TensorTransformation, Ios15, [r("x", TENSOR), r("shape", I32)]; redefined_same: S17, infer: Some(inf::reshape)),
    op!("reshape_like", TensorTransformation, Ios16, [r("x", TENSOR), r("ref_tensors", TENSOR).kind(Variadic), r("begins", I32).konst(), r("ends", I32).konst(), r("end_masks", BOOL).konst()]; redefined_same: S17),
    op!("reverse", TensorTransformation, Ios15, [r("x", TENSOR), o("axes", I32).konst()]; redefined_same: S17, infer: Some(inf::same_as_x)),
    op!("reverse_sequence", TensorTransformation, Ios15, [r("x", TENSOR), r("lengths", INT), o("seq_axis", I32).konst(), o("batch_axis", I32).konst()]; redefined_same: S17, infer: Some(inf::same_as_x)),
    op!("slice_by_index", TensorTransformation, Ios15, [r("x", TENSOR), r("begin", I32), r("end", I32), o("stride", I32), o("begin_mask", BOOL).konst(), o("end_mask", BOOL).konst(), o("squeeze_mask", BOOL).konst()]; redefined_same: S17, infer: Some(inf::slice_by_index)),
    op!("slice_by_size", TensorTransformation, Ios15, [r("x", TENSOR), r("begin", I32), r("size", I32)]; redefined_same: S17, infer: Some(inf::slice_by_size)),
    op!("slice_update", TensorTransformation, Ios18, [r("x", TENSOR), r("update", TENSOR), r("begin", I32), r("end", I32), o("stride", I32), o("begin_mask", BOOL).konst(), o("end_mask", BOOL).konst(), o("squeeze_mask", BOOL).konst()]; infer: Some(inf::same_as_x)),
    op!("sliding_windows", TensorTransformation, Ios15, [r("x", TENSOR), r("axis", I32).konst(), r("size", I32).konst(), o("stride", I32).konst()]; redefined_same: S17, infer: Some(inf::sliding_windows)),
    op!(
        "space_to_batch",
        TensorTransformation,
        Ios15,
        [
            r("x", TENSOR),
            r("block_shape", I32).konst(),
            r("paddings", I32).konst()
        ]
    ),
    op!(
        "space_to_depth",
        TensorTransformation,
        Ios15,
        [r("x", TENSOR), r("block_size", I32).konst()]; infer: Some(inf::space_to_depth)),
    op!("squeeze", TensorTransformation, Ios15, [r("x", TENSOR), o("axes", I32).konst()]; redefined_same: S17, infer: Some(inf::squeeze)),
    op!("transpose", TensorTransformation, Ios15, [r("x", TENSOR), r("perm", I32).konst()]; redefined_same: S17, infer: Some(inf::transpose)),
    // §6.21 transformers (iOS18)
    op!("scaled_dot_product_attention", Transformers, Ios18, [r("query", FLOAT), r("key", FLOAT), r("value", FLOAT), o("attn_mask", TENSOR)]; infer: Some(inf::sdpa)),
    // §6.22 in text but not in the registry
    op!("write_state", States, Ios18, [r("input", ANY).kind(State), r("data", TENSOR)]; origin: OpOrigin::TextOnly, outputs: outs(0, Some(1))),
    op!("tensor_buffer_to_tensor", AnalysisDump, Ios17, [r("input", ANY).kind(TensorBuffer)]; origin: OpOrigin::TextOnly, infer: Some(inf::tensor_buffer_to_tensor)),
    op!("tensor_to_tensor_buffer", AnalysisDump, Ios17, [r("input", TENSOR), o("strides", INT).konst(), o("interleave_factors", INT).konst()]; origin: OpOrigin::TextOnly, infer: Some(inf::tensor_to_tensor_buffer)),
];
