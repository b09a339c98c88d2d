//! Espresso: layer types and their attributes, the 40 optimization passes, elementwise
//! operation codes and other per-attribute codes.
//!
//! Transcribed from `../shared/reference/knowledge-base.md` §3–§5 and `espresso.md` §2.4, §3.

use crate::evidence::Evidence;
use serde::Serialize;

/// One Espresso layer type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EspressoLayer {
    /// The `type` string in `.espresso.net`.
    pub name: &'static str,
    /// mdaiter/ane's category, where given.
    pub category: Option<&'static str>,
    /// Attributes as the notes claim them. [unverified]
    pub attributes_claimed: &'static [&'static str],
    /// Attributes seen in real files (Apple compiler output). [verified]
    pub attributes_observed: &'static [&'static str],
    /// [verified] when the type was seen in real files, else the claim's level.
    pub evidence: Evidence,
    pub source: &'static str,
    pub notes: &'static str,
}

const MDAITER_LAYERS: &str =
    "mdaiter/ane README layer table; observed keys from real files (knowledge-base.md §3.1)";
const REAL_FILES: &str = "real .espresso.net files (espresso.md §2.4)";
const NETRON: &str = "Netron / espresso2onnx (knowledge-base.md §3.1, espresso.md §2.4)";

/// mdaiter/ane's 22 layer types, then the types seen only in real files, then those named only
/// by Netron/espresso2onnx.
pub static LAYERS: &[EspressoLayer] = &[
    EspressoLayer {
        name: "activation",
        category: Some("Compute"),
        attributes_claimed: &["type (relu/gelu/tanh/sigmoid/…)", "alpha", "beta"],
        attributes_observed: &["mode (0 = ReLU)", "alpha", "beta"],
        evidence: Evidence::Verified,
        source: MDAITER_LAYERS,
        notes: "claim [unverified]; observed keys [verified]",
    },
    EspressoLayer {
        name: "batch_matmul",
        category: Some("Compute"),
        attributes_claimed: &["transpose_a", "transpose_b", "adj_x", "adj_y"],
        attributes_observed: &[],
        evidence: Evidence::Unverified,
        source: MDAITER_LAYERS,
        notes: "",
    },
    EspressoLayer {
        name: "concat",
        category: Some("Shape"),
        attributes_claimed: &["axis"],
        attributes_observed: &[],
        evidence: Evidence::Unverified,
        source: MDAITER_LAYERS,
        notes: "",
    },
    EspressoLayer {
        name: "convolution",
        category: Some("Compute"),
        attributes_claimed: &["kernel_size", "stride", "pad", "C", "groups", "dilation"],
        attributes_observed: &[
            "C (out)",
            "K (in)",
            "Nx",
            "Ny",
            "n_groups",
            "n_parallel",
            "stride_x/y",
            "pad_t/b/l/r",
            "pad_mode",
            "pad_value",
            "pad_fill_mode",
            "fused_relu",
            "fused_tanh",
            "has_batch_norm",
            "has_biases",
            "blob_weights",
            "blob_biases",
        ],
        evidence: Evidence::Verified,
        source: MDAITER_LAYERS,
        notes: "",
    },
    EspressoLayer {
        name: "dynamic_dequantize",
        category: Some("Quantization"),
        attributes_claimed: &["scale_blob", "zero_point_blob"],
        attributes_observed: &[],
        evidence: Evidence::Unverified,
        source: MDAITER_LAYERS,
        notes: "",
    },
    EspressoLayer {
        name: "dynamic_quantize",
        category: Some("Quantization"),
        attributes_claimed: &["axis", "mode"],
        attributes_observed: &[],
        evidence: Evidence::Unverified,
        source: MDAITER_LAYERS,
        notes: "",
    },
    EspressoLayer {
        name: "elementwise",
        category: Some("Compute"),
        attributes_claimed: &["operation", "alpha", "broadcast"],
        attributes_observed: &["operation", "alpha", "beta", "fused_relu", "nd_mode"],
        evidence: Evidence::Verified,
        source: MDAITER_LAYERS,
        notes: "",
    },
    EspressoLayer {
        name: "expand_dims",
        category: Some("Shape"),
        attributes_claimed: &["axes"],
        attributes_observed: &["nd_axis", "size_of_axes", "axes_0", "axes_1", "version"],
        evidence: Evidence::Verified,
        source: MDAITER_LAYERS,
        notes: "",
    },
    EspressoLayer {
        name: "general_concat",
        category: Some("Shape"),
        attributes_claimed: &["axis", "interleave"],
        attributes_observed: &[],
        evidence: Evidence::Unverified,
        source: MDAITER_LAYERS,
        notes: "",
    },
    EspressoLayer {
        name: "general_slice",
        category: Some("Shape"),
        attributes_claimed: &["starts", "ends", "strides", "axes"],
        attributes_observed: &[],
        evidence: Evidence::Unverified,
        source: MDAITER_LAYERS,
        notes: "",
    },
    EspressoLayer {
        name: "get_shape",
        category: Some("Utility"),
        attributes_claimed: &[],
        attributes_observed: &[],
        evidence: Evidence::Unverified,
        source: MDAITER_LAYERS,
        notes: "",
    },
    EspressoLayer {
        name: "inner_product",
        category: Some("Compute"),
        attributes_claimed: &["nB", "nC", "has_biases", "quantization_mode", "is_lookup"],
        attributes_observed: &[
            "nB",
            "nC",
            "has_biases",
            "has_relu",
            "has_tanh",
            "has_prelu",
            "blob_weights",
            "blob_biases",
            "quantization_mode 1 with weights {W_U8, per_ch_qscale, per_ch_qbias}",
        ],
        evidence: Evidence::Verified,
        source: MDAITER_LAYERS,
        notes: "quantization_mode 2 / is_lookup [unverified]; mode 1 [verified]",
    },
    EspressoLayer {
        name: "instancenorm_1d",
        category: Some("Normalization"),
        attributes_claimed: &["C", "epsilon"],
        attributes_observed: &[],
        evidence: Evidence::Unverified,
        source: MDAITER_LAYERS,
        notes: "",
    },
    EspressoLayer {
        name: "load_constant",
        category: Some("Memory"),
        attributes_claimed: &["blob_weights", "shape"],
        attributes_observed: &[],
        evidence: Evidence::Unverified,
        source: MDAITER_LAYERS,
        notes: "",
    },
    EspressoLayer {
        name: "nonzero",
        category: Some("Utility"),
        attributes_claimed: &[],
        attributes_observed: &[],
        evidence: Evidence::Unverified,
        source: MDAITER_LAYERS,
        notes: "",
    },
    EspressoLayer {
        name: "reduce",
        category: Some("Compute"),
        attributes_claimed: &["mode (sum/mean/max/min/prod)", "axes", "keepdims"],
        attributes_observed: &[],
        evidence: Evidence::Unverified,
        source: MDAITER_LAYERS,
        notes: "",
    },
    EspressoLayer {
        name: "reshape",
        category: Some("Shape"),
        attributes_claimed: &["shape"],
        attributes_observed: &[
            "dst_n",
            "dst_k",
            "dst_h",
            "dst_w",
            "dst_seq",
            "dst_nd_rank",
            "mode",
            "version",
            "dynamic_shape",
        ],
        evidence: Evidence::Verified,
        source: MDAITER_LAYERS,
        notes: "",
    },
    EspressoLayer {
        name: "scatter_nd",
        category: Some("Memory"),
        attributes_claimed: &[],
        attributes_observed: &[],
        evidence: Evidence::Unverified,
        source: MDAITER_LAYERS,
        notes: "",
    },
    EspressoLayer {
        name: "softmax",
        category: Some("Compute"),
        attributes_claimed: &["axis"],
        attributes_observed: &["C"],
        evidence: Evidence::Verified,
        source: MDAITER_LAYERS,
        notes: "",
    },
    EspressoLayer {
        name: "split_nd",
        category: Some("Shape"),
        attributes_claimed: &["axis", "num_splits", "split_sizes"],
        attributes_observed: &["nd_axis", "begin_<i>"],
        evidence: Evidence::Verified,
        source: MDAITER_LAYERS,
        notes: "",
    },
    EspressoLayer {
        name: "tile",
        category: Some("Shape"),
        attributes_claimed: &["reps"],
        attributes_observed: &[],
        evidence: Evidence::Unverified,
        source: MDAITER_LAYERS,
        notes: "",
    },
    EspressoLayer {
        name: "transpose",
        category: Some("Shape"),
        attributes_claimed: &["axes"],
        attributes_observed: &["axis_w", "axis_h", "axis_k", "axis_n", "axis_seq"],
        evidence: Evidence::Verified,
        source: MDAITER_LAYERS,
        notes: "",
    },
    EspressoLayer {
        name: "pool",
        category: None,
        attributes_claimed: &[],
        attributes_observed: &[
            "size_x",
            "size_y",
            "stride_x",
            "stride_y",
            "avg_or_max (0 average, 1 max)",
            "is_global",
            "average_count_exclude_padding",
            "top_shape_style",
            "pad_t/b/l/r",
        ],
        evidence: Evidence::Verified,
        source: REAL_FILES,
        notes: "missing from mdaiter's table",
    },
    EspressoLayer {
        name: "batchnorm",
        category: None,
        attributes_claimed: &[],
        attributes_observed: &[
            "C",
            "blob_batchnorm_params",
            "training",
            "training_eps",
            "training_momentum",
            "training_instancenorm",
        ],
        evidence: Evidence::Verified,
        source: REAL_FILES,
        notes: "params blob holds 4·C floats; order [unverified]",
    },
    EspressoLayer {
        name: "softmax_nd",
        category: None,
        attributes_claimed: &[],
        attributes_observed: &["nd_axis"],
        evidence: Evidence::Verified,
        source: REAL_FILES,
        notes: "missing from mdaiter's table",
    },
    EspressoLayer {
        name: "flatten",
        category: None,
        attributes_claimed: &[],
        attributes_observed: &["mode (0 or 1)", "nd_axis"],
        evidence: Evidence::Verified,
        source: REAL_FILES,
        notes: "missing from mdaiter's table",
    },
    EspressoLayer {
        name: "squeeze",
        category: None,
        attributes_claimed: &[],
        attributes_observed: &["nd_axis", "size_of_axes", "axes_0", "axes_1", "version"],
        evidence: Evidence::Verified,
        source: REAL_FILES,
        notes: "missing from mdaiter's table",
    },
    EspressoLayer {
        name: "rnn_arch",
        category: None,
        attributes_claimed: &[],
        attributes_observed: &[
            "input_size",
            "hidden_size",
            "arch",
            "mode",
            "weights {W_t_x, W_t_h, b, *_reverse}",
        ],
        evidence: Evidence::Verified,
        source: REAL_FILES,
        notes: "bidirectional LSTM; ~40 nonlinearity/quantization knobs",
    },
    EspressoLayer {
        name: "upsample",
        category: None,
        attributes_claimed: &["mode", "scaling_factor_x/y"],
        attributes_observed: &[],
        evidence: Evidence::Source,
        source: NETRON,
        notes: "not seen in a real file",
    },
    EspressoLayer {
        name: "crop",
        category: None,
        attributes_claimed: &["t", "l", "b", "r"],
        attributes_observed: &[],
        evidence: Evidence::Source,
        source: NETRON,
        notes: "not seen in a real file",
    },
    EspressoLayer {
        name: "copy",
        category: None,
        attributes_claimed: &[],
        attributes_observed: &[],
        evidence: Evidence::Source,
        source: NETRON,
        notes: "not seen in a real file",
    },
    EspressoLayer {
        name: "pool3d",
        category: None,
        attributes_claimed: &[],
        attributes_observed: &[],
        evidence: Evidence::Source,
        source: NETRON,
        notes: "not seen in a real file",
    },
    EspressoLayer {
        name: "deconvolution",
        category: None,
        attributes_claimed: &[],
        attributes_observed: &[],
        evidence: Evidence::Source,
        source: NETRON,
        notes: "not seen in a real file",
    },
    EspressoLayer {
        name: "loop",
        category: None,
        attributes_claimed: &["conditionNetwork", "bodyNetwork"],
        attributes_observed: &[],
        evidence: Evidence::Source,
        source: NETRON,
        notes: "Netron: sub-networks",
    },
    EspressoLayer {
        name: "branch",
        category: None,
        attributes_claimed: &["ifBranch", "elseBranch"],
        attributes_observed: &[],
        evidence: Evidence::Source,
        source: NETRON,
        notes: "Netron: sub-networks",
    },
];

/// One of the 40 `Pass_*` classes (subclasses of `EspressoCustomPass`). [unverified]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EspressoPass {
    /// Position in the notes' list (1-based, alphabetical).
    pub number: u32,
    pub name: &'static str,
    /// Description given in the notes, where any.
    pub description: Option<&'static str>,
}

impl EspressoPass {
    pub const EVIDENCE: Evidence = Evidence::Unverified;
    pub const SOURCE: &'static str = "mdaiter/ane README (knowledge-base.md §4)";
}

const fn pass(number: u32, name: &'static str) -> EspressoPass {
    EspressoPass {
        number,
        name,
        description: None,
    }
}

const fn pass_d(number: u32, name: &'static str, description: &'static str) -> EspressoPass {
    EspressoPass {
        number,
        name,
        description: Some(description),
    }
}

pub static PASSES: &[EspressoPass] = &[
    pass(1, "Pass_add_fp16_fp32_conversions"),
    pass(2, "Pass_batch_matmul_transpose_fusion"),
    pass(3, "Pass_broadcast_optimization"),
    pass(4, "Pass_canonicalize_ops"),
    pass(5, "Pass_constant_folding"),
    pass(6, "Pass_convert_gather_to_slice"),
    pass_d(7, "Pass_convert_to_ane_layout", "ANE memory layout"),
    pass_d(
        8,
        "Pass_dead_code_elimination",
        "DCE (the notes call it eliminate_dead_code, a name not in the list)",
    ),
    pass(9, "Pass_decompose_complex_ops"),
    pass(10, "Pass_eliminate_identity_ops"),
    pass(11, "Pass_eliminate_redundant_transpose"),
    pass_d(12, "Pass_fold_constants", "constant folding"),
    pass_d(
        13,
        "Pass_fuse_activation",
        "fuse relu/gelu into the preceding op",
    ),
    pass(14, "Pass_fuse_add_mul"),
    pass(15, "Pass_fuse_bias"),
    pass_d(16, "Pass_fuse_conv_batchnorm", "fold BN into conv weights"),
    pass(17, "Pass_fuse_conv_bias"),
    pass(18, "Pass_fuse_elementwise"),
    pass(19, "Pass_fuse_gelu"),
    pass(20, "Pass_fuse_layernorm"),
    pass(21, "Pass_fuse_linear_ops"),
    pass(22, "Pass_fuse_matmul_add"),
    pass(23, "Pass_fuse_mul_add"),
    pass(24, "Pass_fuse_pad_conv"),
    pass(25, "Pass_fuse_reshape_transpose"),
    pass(26, "Pass_insert_copies_for_ane"),
    pass(27, "Pass_legalize_for_ane"),
    pass(28, "Pass_lower_to_ane_ops"),
    pass(29, "Pass_optimize_memory_layout"),
    pass(30, "Pass_optimize_reshape_chain"),
    pass_d(31, "Pass_optimize_transpose", "remove redundant transposes"),
    pass(32, "Pass_propagate_shapes"),
    pass_d(33, "Pass_quantize_weights", "weight quantization"),
    pass(34, "Pass_remove_unused_outputs"),
    pass(35, "Pass_replace_div_with_mul"),
    pass(36, "Pass_simplify_arithmetic"),
    pass_d(
        37,
        "Pass_split_large_tensors",
        "split tensors for the ANE tile size",
    ),
    pass(38, "Pass_tensor_parallel_partition"),
    pass(39, "Pass_tile_for_ane"),
    pass(40, "Pass_vectorize_ops"),
];

/// One elementwise `operation` code. Only codes with a `verified_meaning` may be decoded; the
/// notes' table is wrong for codes 1–3 (espresso.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ElementwiseCode {
    pub code: u32,
    /// Meaning shown by real Apple files. [verified]
    pub verified_meaning: Option<&'static str>,
    /// What real file showed it.
    pub verified_by: Option<&'static str>,
    /// mdaiter/ane's claim. [unverified]
    pub mdaiter_claim: Option<&'static str>,
    /// espresso2onnx's claim. [unverified]
    pub espresso2onnx_claim: Option<&'static str>,
    pub evidence: Evidence,
    /// Claims that disagree with each other or with the verified meaning.
    pub conflict: bool,
}

impl ElementwiseCode {
    pub const SOURCE: &'static str = "espresso.md §3 (Apple NeuralHash and Vision nets); mdaiter/ane README and espresso.py; espresso2onnx";
}

const fn ew_v(
    code: u32,
    meaning: &'static str,
    by: &'static str,
    mdaiter: Option<&'static str>,
) -> ElementwiseCode {
    ElementwiseCode {
        code,
        verified_meaning: Some(meaning),
        verified_by: Some(by),
        mdaiter_claim: mdaiter,
        espresso2onnx_claim: None,
        evidence: Evidence::Verified,
        conflict: mdaiter.is_some(),
    }
}

const fn ew_u(
    code: u32,
    mdaiter: &'static str,
    espresso2onnx: Option<&'static str>,
) -> ElementwiseCode {
    ElementwiseCode {
        code,
        verified_meaning: None,
        verified_by: None,
        mdaiter_claim: Some(mdaiter),
        espresso2onnx_claim: espresso2onnx,
        evidence: Evidence::Unverified,
        conflict: espresso2onnx.is_some(),
    }
}

/// All 26 codes of knowledge-base.md §5, ascending.
pub static ELEMENTWISE_CODES: &[ElementwiseCode] = &[
    ElementwiseCode {
        conflict: false,
        ..ew_v(
            0,
            "a + b (two inputs; alpha 1, beta 0)",
            "NeuralHash \".../add\" residual; Vision model sums BiLSTM halves",
            Some("add"),
        )
    },
    ew_v(
        1,
        "a × b (two inputs)",
        "NeuralHash \"mul_1\" (hard-swish)",
        Some("sub"),
    ),
    ew_v(
        2,
        "x + alpha (one input)",
        "\".../add\" with alpha 3",
        Some("mul"),
    ),
    ew_v(
        3,
        "x × alpha (one input)",
        "\".../mul\" with alpha 1/6",
        Some("div"),
    ),
    ew_u(4, "floor_div", None),
    ew_u(10, "max", Some("divide")),
    ew_u(11, "min", None),
    ew_u(20, "sqrt", None),
    ew_u(21, "rsqrt", None),
    ew_u(22, "square", None),
    ew_u(23, "neg", None),
    ew_u(24, "reciprocal", Some("abs")),
    ew_u(25, "pow", None),
    ew_u(26, "exp", None),
    ew_u(27, "log", None),
    ew_u(28, "abs", None),
    ew_u(101, "select (a ? b : c)", None),
    ew_u(105, "less_than", None),
    ew_u(106, "less_equal", Some("greater")),
    ew_u(107, "not_equal", None),
    ew_u(108, "equal", None),
    ew_u(109, "greater_equal", None),
    ew_u(110, "greater_than", None),
    ew_u(117, "floor", None),
    ew_u(118, "ceil", None),
    ew_v(
        119,
        "clip(x, alpha, beta)",
        "\"Relu6\" with alpha 0, beta 6",
        None,
    ),
];

/// The verified meaning of an elementwise code, if any (the only safe decoding).
pub fn elementwise_meaning(code: u32) -> Option<&'static str> {
    ELEMENTWISE_CODES
        .iter()
        .find(|c| c.code == code)
        .and_then(|c| c.verified_meaning)
}

/// One value of another Espresso layer attribute (`activation.mode`, `pool.avg_or_max`,
/// `reduce.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AttributeCode {
    /// `layer.attribute`.
    pub attribute: &'static str,
    pub code: u32,
    pub meaning: &'static str,
    pub evidence: Evidence,
    pub source: &'static str,
}

const E2O: &str = "espresso2onnx (knowledge-base.md §5)";
const REAL: &str = "real Apple .espresso.net files (knowledge-base.md §5)";

const fn act(code: u32, meaning: &'static str) -> AttributeCode {
    AttributeCode {
        attribute: "activation.mode",
        code,
        meaning,
        evidence: Evidence::Unverified,
        source: E2O,
    }
}

const fn reduce(code: u32, meaning: &'static str) -> AttributeCode {
    AttributeCode {
        attribute: "reduce.mode",
        code,
        meaning,
        evidence: Evidence::Unverified,
        source: E2O,
    }
}

pub static ATTRIBUTE_CODES: &[AttributeCode] = &[
    AttributeCode {
        attribute: "activation.mode",
        code: 0,
        meaning: "ReLU",
        evidence: Evidence::Verified,
        source: REAL,
    },
    act(1, "tanh"),
    act(2, "leaky ReLU"),
    act(3, "sigmoid"),
    act(4, "PReLU"),
    act(8, "ELU"),
    act(9, "thresholded ReLU"),
    act(10, "softplus"),
    act(12, "softsign"),
    AttributeCode {
        attribute: "pool.avg_or_max",
        code: 0,
        meaning: "average",
        evidence: Evidence::Verified,
        source: REAL,
    },
    AttributeCode {
        attribute: "pool.avg_or_max",
        code: 1,
        meaning: "max",
        evidence: Evidence::Verified,
        source: REAL,
    },
    reduce(0, "sum"),
    reduce(1, "mean"),
    reduce(2, "prod"),
    reduce(3, "min"),
    reduce(4, "max"),
];
