//! ANECompiler descriptor structs (47): name, size, initializer symbol; and which descriptor each
//! layer kind maps to.
//!
//! Transcribed from `../shared/reference/knowledge-base.md` §1, §1.1, §1.2, §2 and §22. The
//! sizes were "runtime probed" by mdaiter/ane: fill a 1024-byte buffer with 0xAA, call the
//! initializer, report the index of the last changed byte + 1. That is a **lower bound** (a
//! trailing field left untouched or set to 0xAA is not counted) and [unverified]: nobody here
//! ran the probe.

use crate::evidence::Evidence;
use serde::Serialize;

/// One ANECompiler descriptor struct.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Descriptor {
    /// Struct name, e.g. `ANECConvLayerDesc`.
    pub name: &'static str,
    /// Probed size in bytes (a lower bound).
    pub size: u32,
    /// The exported initializer, `void NAME(void *)`, as the notes print it.
    pub initializer: &'static str,
    /// Field layout inferred by mdaiter/ane (§1.1), where given. [unverified]
    pub layout: Option<&'static str>,
    /// mdaiter/ane's `compiler.py` hard-codes this size in `STRUCT_SIZES`. [source]
    pub size_hardcoded_by_mdaiter: bool,
    /// mdaiter/ane's `compiler.py` binds this initializer. [source]
    pub initializer_bound_by_mdaiter: bool,
    pub notes: &'static str,
}

impl Descriptor {
    /// Evidence for the size and initializer name: the notes' runtime probe.
    pub const EVIDENCE: Evidence = Evidence::Unverified;
    /// Where the table comes from.
    pub const SOURCE: &'static str = "mdaiter/ane README (runtime probe), via knowledge-base.md §1";
}

/// Every descriptor struct, sorted by name as in the reference.
pub fn all() -> &'static [Descriptor] {
    DESCRIPTORS
}

/// A descriptor by its exact struct name (`ANECConvLayerDesc`); case-insensitive.
pub fn by_name(name: &str) -> Option<&'static Descriptor> {
    DESCRIPTORS
        .iter()
        .find(|d| d.name.eq_ignore_ascii_case(name))
}

/// A descriptor by its initializer symbol (`ANECConvLayerDescInitialize`).
pub fn by_initializer(symbol: &str) -> Option<&'static Descriptor> {
    DESCRIPTORS.iter().find(|d| d.initializer == symbol)
}

/// Which descriptor a layer kind maps to, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LayerDescriptor {
    /// Layer kind as the builder names it (`conv2d`, `softmax`, ...).
    pub layer: &'static str,
    /// Other spellings accepted by [`for_layer`].
    pub aliases: &'static [&'static str],
    /// The descriptor struct, or `None` when the table has none for this kind.
    pub descriptor: Option<&'static str>,
    pub evidence: Evidence,
    pub basis: &'static str,
}

const SAMPLE_GRAPH: &str =
    "mdaiter/ane SimpleANEGraph uses this descriptor's size for the method (knowledge-base.md §22)";
const BY_CATEGORY: &str = "layer type of the ANECompiler category table (knowledge-base.md §2) with a descriptor of that name";

const fn map(
    layer: &'static str,
    aliases: &'static [&'static str],
    descriptor: &'static str,
) -> LayerDescriptor {
    LayerDescriptor {
        layer,
        aliases,
        descriptor: Some(descriptor),
        evidence: Evidence::Unverified,
        basis: BY_CATEGORY,
    }
}

const fn sample(
    layer: &'static str,
    aliases: &'static [&'static str],
    descriptor: &'static str,
) -> LayerDescriptor {
    LayerDescriptor {
        layer,
        aliases,
        descriptor: Some(descriptor),
        evidence: Evidence::Source,
        basis: SAMPLE_GRAPH,
    }
}

const fn none(
    layer: &'static str,
    aliases: &'static [&'static str],
    basis: &'static str,
) -> LayerDescriptor {
    LayerDescriptor {
        layer,
        aliases,
        descriptor: None,
        evidence: Evidence::Unverified,
        basis,
    }
}

/// Layer kind → descriptor. The six kinds of mdaiter's `SimpleANEGraph` are [source]; the rest
/// follow the category table by name [unverified].
pub static LAYER_DESCRIPTORS: &[LayerDescriptor] = &[
    sample("conv2d", &["conv", "convolution"], "ANECConvLayerDesc"),
    sample(
        "pool2d",
        &["pool", "max_pool", "avg_pool", "pooling"],
        "ANECPoolLayerDesc",
    ),
    sample(
        "linear",
        &["inner_product", "fully_connected"],
        "ANECLinearLayerDesc",
    ),
    sample(
        "matmul",
        &["batch_matmul", "matrix_mult"],
        "ANECMatrixMultLayerDesc",
    ),
    sample("softmax", &[], "ANECSoftmaxLayerDesc"),
    sample(
        "sdpa",
        &["scaled_dot_product_attention", "attention"],
        "ANECSDPALayerDesc",
    ),
    map("cross_correlation", &[], "ANECCrossCorrelationLayerDesc"),
    map("batch_norm", &["batchnorm"], "ANECBatchNormLayerDesc"),
    map("layer_norm", &["layernorm"], "ANECLayerNormLayerDesc"),
    map("group_norm", &["groupnorm"], "ANECGroupNormLayerDesc"),
    map("norm", &["l2_norm", "instance_norm"], "ANECNormLayerDesc"),
    map("lrn", &["local_response_norm"], "ANECLRNLayerDesc"),
    map(
        "activation",
        &[
            "neuron",
            "relu",
            "gelu",
            "silu",
            "sigmoid",
            "tanh",
            "elu",
            "leaky_relu",
            "exp",
            "log",
            "sqrt",
            "rsqrt",
        ],
        "ANECNeuronLayerDesc",
    ),
    map("dropout", &[], "ANECDropoutLayerDesc"),
    map("reshape", &[], "ANECReshapeLayerDesc"),
    map("transpose", &["permute"], "ANECTransposeLayerDesc"),
    map("flatten", &[], "ANECFlattenLayerDesc"),
    map("unflatten", &[], "ANECUnflattenLayerDesc"),
    map("concat", &["general_concat"], "ANECConcatLayerDesc"),
    map("split", &["split_nd"], "ANECSplitLayerDesc"),
    map("tile", &[], "ANECTileLayerDesc"),
    map("expand", &["expand_dims"], "ANECExpandLayerDesc"),
    map("squeeze", &[], "ANECSqueezeLayerDesc"),
    map("resize", &["upsample"], "ANECResizeLayerDesc"),
    map("pad", &["padding"], "ANECPadLayerDesc"),
    map("crop_resize", &[], "ANECCropResizeLayerDesc"),
    map("resample", &[], "ANECResampleLayerDesc"),
    map("affine_transform", &[], "ANECAffineTransformLayerDesc"),
    map("grid_sample", &[], "ANECGridSampleLayerDesc"),
    map(
        "reduction",
        &[
            "reduce",
            "reduce_sum",
            "reduce_mean",
            "reduce_max",
            "reduce_min",
        ],
        "ANECReductionLayerDesc",
    ),
    map("topk", &[], "ANECTopKLayerDesc"),
    map("sort", &[], "ANECSortLayerDesc"),
    map("gather", &[], "ANECGatherLayerDesc"),
    map("gather_nd", &[], "ANECGatherNDLayerDesc"),
    map("scatter", &[], "ANECScatterLayerDesc"),
    map("scatter_nd", &[], "ANECScatterNDLayerDesc"),
    map("shape", &["get_shape"], "ANECShapeLayerDesc"),
    map("random", &[], "ANECRandomLayerDesc"),
    map("fill", &[], "ANECFillLayerDesc"),
    map("ring_buffer", &[], "ANECRingBufferLayerDesc"),
    map("input_view", &[], "ANECInputViewLayerDesc"),
    none(
        "depthwise_conv",
        &["grouped_conv"],
        "category table lists DepthwiseConv but the table has no DepthwiseConv descriptor (guess: ANECConvLayerDesc with groups)",
    ),
    none(
        "global_pool",
        &["adaptive_pool"],
        "category table lists GlobalPool/AdaptivePool; no descriptor",
    ),
    none("einsum", &[], "category table lists Einsum; no descriptor"),
    none(
        "log_softmax",
        &[],
        "category table lists LogSoftmax; no descriptor",
    ),
    none(
        "argmax",
        &["argmin"],
        "category table lists ArgMax/ArgMin; no descriptor",
    ),
    none("range", &[], "category table lists Range; no descriptor"),
    none("copy", &[], "category table lists Copy; no descriptor"),
    none(
        "elementwise",
        &[
            "add", "sub", "mul", "div", "real_div", "maximum", "minimum", "pow",
        ],
        "no elementwise descriptor; ANECompiler plists express it as GOC / ScaledElementWise units",
    ),
    none(
        "rms_norm",
        &[],
        "no descriptor; not in the category table (decomposed)",
    ),
    none("cast", &[], "no descriptor; not in the category table"),
    none(
        "slice",
        &["slice_by_index", "slice_by_size", "general_slice"],
        "no descriptor; not in the category table",
    ),
];

fn normalise(kind: &str) -> String {
    kind.chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The mapping row for a layer kind (by name or alias, ignoring case and `_`/`-`).
pub fn layer_mapping(kind: &str) -> Option<&'static LayerDescriptor> {
    let want = normalise(kind);
    LAYER_DESCRIPTORS
        .iter()
        .find(|m| normalise(m.layer) == want || m.aliases.iter().any(|a| normalise(a) == want))
}

/// The descriptor a layer kind maps to, e.g. `for_layer("conv2d")` → `ANECConvLayerDesc`
/// (176 bytes). `None` for unknown kinds and kinds without a descriptor.
pub fn for_layer(kind: &str) -> Option<&'static Descriptor> {
    layer_mapping(kind)
        .and_then(|m| m.descriptor)
        .and_then(by_name)
}

/// ANECompiler version query functions (knowledge-base.md §1.2). [source]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct VersionFunction {
    pub name: &'static str,
    pub returns: &'static str,
}

pub static VERSION_FUNCTIONS: &[VersionFunction] = &[
    VersionFunction {
        name: "ANECGetMPSDialectSupportedVersion",
        returns: "u64",
    },
    VersionFunction {
        name: "ANECGetMPSSPIDialectSupportedVersion",
        returns: "u64",
    },
    VersionFunction {
        name: "ANECGetValidateNetworkSupportedVersion",
        returns: "u64",
    },
    VersionFunction {
        name: "ANECGetAnalyticsBufferSize",
        returns: "size_t",
    },
];

/// The 47 structs of knowledge-base.md §1.
pub static DESCRIPTORS: &[Descriptor] = &[
    Descriptor {
        name: "ANECAffineTransformLayerDesc",
        size: 48,
        initializer: "ANECAffineTransformLayerDescInitialize",
        layout: None,
        size_hardcoded_by_mdaiter: false,
        initializer_bound_by_mdaiter: false,
        notes: "",
    },
    Descriptor {
        name: "ANECBatchNormLayerDesc",
        size: 40,
        initializer: "ANECBatchNormLayerDescInitialize",
        layout: None,
        size_hardcoded_by_mdaiter: false,
        initializer_bound_by_mdaiter: false,
        notes: "",
    },
    Descriptor {
        name: "ANECConcatLayerDesc",
        size: 16,
        initializer: "ANECConcatLayerDescInitialize",
        layout: Some("axis"),
        size_hardcoded_by_mdaiter: false,
        initializer_bound_by_mdaiter: true,
        notes: "",
    },
    Descriptor {
        name: "ANECConvLayerDesc",
        size: 176,
        initializer: "ANECConvLayerDescInitialize",
        layout: Some("kernel, stride, padding, dilation, groups, …"),
        size_hardcoded_by_mdaiter: true,
        initializer_bound_by_mdaiter: true,
        notes: "",
    },
    Descriptor {
        name: "ANECCropResizeLayerDesc",
        size: 64,
        initializer: "ANECCropResizeLayerDescInitialize",
        layout: None,
        size_hardcoded_by_mdaiter: false,
        initializer_bound_by_mdaiter: false,
        notes: "",
    },
    Descriptor {
        name: "ANECCrossCorrelationLayerDesc",
        size: 96,
        initializer: "ANECrossCorrelationLayerDescInitialize",
        layout: None,
        size_hardcoded_by_mdaiter: false,
        initializer_bound_by_mdaiter: false,
        notes: "initializer name as printed in the notes has a typo (one \"C\"); verify the real export name with `dyld_info -exports`",
    },
    Descriptor {
        name: "ANECDropoutLayerDesc",
        size: 16,
        initializer: "ANECDropoutLayerDescInitialize",
        layout: None,
        size_hardcoded_by_mdaiter: false,
        initializer_bound_by_mdaiter: false,
        notes: "",
    },
    Descriptor {
        name: "ANECExpandLayerDesc",
        size: 32,
        initializer: "ANECExpandLayerDescInitialize",
        layout: None,
        size_hardcoded_by_mdaiter: false,
        initializer_bound_by_mdaiter: false,
        notes: "",
    },
    Descriptor {
        name: "ANECFillLayerDesc",
        size: 24,
        initializer: "ANECFillLayerDescInitialize",
        layout: None,
        size_hardcoded_by_mdaiter: false,
        initializer_bound_by_mdaiter: false,
        notes: "",
    },
    Descriptor {
        name: "ANECFlattenLayerDesc",
        size: 16,
        initializer: "ANECFlattenLayerDescInitialize",
        layout: None,
        size_hardcoded_by_mdaiter: false,
        initializer_bound_by_mdaiter: false,
        notes: "",
    },
    Descriptor {
        name: "ANECGatherLayerDesc",
        size: 24,
        initializer: "ANECGatherLayerDescInitialize",
        layout: Some("axis, batch_dims"),
        size_hardcoded_by_mdaiter: false,
        initializer_bound_by_mdaiter: true,
        notes: "",
    },
    Descriptor {
        name: "ANECGatherNDLayerDesc",
        size: 24,
        initializer: "ANECGatherNDLayerDescInitialize",
        layout: None,
        size_hardcoded_by_mdaiter: false,
        initializer_bound_by_mdaiter: false,
        notes: "",
    },
    Descriptor {
        name: "ANECGridSampleLayerDesc",
        size: 32,
        initializer: "ANECGridSampleLayerDescInitialize",
        layout: None,
        size_hardcoded_by_mdaiter: false,
        initializer_bound_by_mdaiter: false,
        notes: "",
    },
    Descriptor {
        name: "ANECGroupNormLayerDesc",
        size: 40,
        initializer: "ANECGroupNormLayerDescInitialize",
        layout: None,
        size_hardcoded_by_mdaiter: false,
        initializer_bound_by_mdaiter: false,
        notes: "",
    },
    Descriptor {
        name: "ANECInputViewLayerDesc",
        size: 32,
        initializer: "ANECInputViewLayerDescInitialize",
        layout: None,
        size_hardcoded_by_mdaiter: false,
        initializer_bound_by_mdaiter: false,
        notes: "",
    },
    Descriptor {
        name: "ANECKernelSize",
        size: 24,
        initializer: "ANECKernelSizeInitialize",
        layout: Some("3 × u64: depth, height, width (default 1, 1, 1)"),
        size_hardcoded_by_mdaiter: true,
        initializer_bound_by_mdaiter: true,
        notes: "",
    },
    Descriptor {
        name: "ANECLRNLayerDesc",
        size: 32,
        initializer: "ANECLRNLayerDescInitialize",
        layout: None,
        size_hardcoded_by_mdaiter: false,
        initializer_bound_by_mdaiter: false,
        notes: "",
    },
    Descriptor {
        name: "ANECLayerNormLayerDesc",
        size: 40,
        initializer: "ANECLayerNormLayerDescInitialize",
        layout: None,
        size_hardcoded_by_mdaiter: false,
        initializer_bound_by_mdaiter: false,
        notes: "",
    },
    Descriptor {
        name: "ANECLinearLayerDesc",
        size: 64,
        initializer: "ANECLinearLayerDescInitialize",
        layout: Some("input features, output features, bias"),
        size_hardcoded_by_mdaiter: true,
        initializer_bound_by_mdaiter: true,
        notes: "",
    },
    Descriptor {
        name: "ANECMatrixMultLayerDesc",
        size: 16,
        initializer: "ANECMatrixMultLayerDescInitialize",
        layout: Some("transpose_a, transpose_b flags"),
        size_hardcoded_by_mdaiter: true,
        initializer_bound_by_mdaiter: true,
        notes: "",
    },
    Descriptor {
        name: "ANECNMSLayerDesc",
        size: 48,
        initializer: "ANECNMSLayerDescInitialize",
        layout: None,
        size_hardcoded_by_mdaiter: false,
        initializer_bound_by_mdaiter: false,
        notes: "",
    },
    Descriptor {
        name: "ANECNeuronLayerDesc",
        size: 32,
        initializer: "ANECNeuronLayerDescInitialize",
        layout: Some("activation type, params"),
        size_hardcoded_by_mdaiter: false,
        initializer_bound_by_mdaiter: true,
        notes: "",
    },
    Descriptor {
        name: "ANECNormLayerDesc",
        size: 40,
        initializer: "ANECNormLayerDescInitialize",
        layout: None,
        size_hardcoded_by_mdaiter: false,
        initializer_bound_by_mdaiter: false,
        notes: "",
    },
    Descriptor {
        name: "ANECPadLayerDesc",
        size: 48,
        initializer: "ANECPadLayerDescInitialize",
        layout: None,
        size_hardcoded_by_mdaiter: false,
        initializer_bound_by_mdaiter: false,
        notes: "",
    },
    Descriptor {
        name: "ANECPadding",
        size: 24,
        initializer: "ANECPaddingInitialize",
        layout: Some(
            "6 × u32: depth_front, depth_back, height_front, height_back, width_front, width_back",
        ),
        size_hardcoded_by_mdaiter: true,
        initializer_bound_by_mdaiter: true,
        notes: "",
    },
    Descriptor {
        name: "ANECPoolLayerDesc",
        size: 96,
        initializer: "ANECPoolLayerDescInitialize",
        layout: Some("kernel, stride, pool type, …"),
        size_hardcoded_by_mdaiter: true,
        initializer_bound_by_mdaiter: true,
        notes: "",
    },
    Descriptor {
        name: "ANECRandomLayerDesc",
        size: 32,
        initializer: "ANECRandomLayerDescInitialize",
        layout: None,
        size_hardcoded_by_mdaiter: false,
        initializer_bound_by_mdaiter: false,
        notes: "",
    },
    Descriptor {
        name: "ANECReductionLayerDesc",
        size: 24,
        initializer: "ANECReductionLayerDescInitialize",
        layout: Some("reduction mode, axes"),
        size_hardcoded_by_mdaiter: false,
        initializer_bound_by_mdaiter: true,
        notes: "",
    },
    Descriptor {
        name: "ANECResampleLayerDesc",
        size: 48,
        initializer: "ANECResampleLayerDescInitialize",
        layout: None,
        size_hardcoded_by_mdaiter: false,
        initializer_bound_by_mdaiter: false,
        notes: "",
    },
    Descriptor {
        name: "ANECReshapeLayerDesc",
        size: 48,
        initializer: "ANECReshapeLayerDescInitialize",
        layout: Some("target shape"),
        size_hardcoded_by_mdaiter: false,
        initializer_bound_by_mdaiter: true,
        notes: "",
    },
    Descriptor {
        name: "ANECResizeLayerDesc",
        size: 40,
        initializer: "ANECResizeLayerDescInitialize",
        layout: None,
        size_hardcoded_by_mdaiter: false,
        initializer_bound_by_mdaiter: false,
        notes: "",
    },
    Descriptor {
        name: "ANECRingBufferLayerDesc",
        size: 32,
        initializer: "ANECRingBufferLayerDescInitialize",
        layout: None,
        size_hardcoded_by_mdaiter: false,
        initializer_bound_by_mdaiter: false,
        notes: "",
    },
    Descriptor {
        name: "ANECSDPALayerDesc",
        size: 8,
        initializer: "ANECSDPALayerDescInitialize",
        layout: Some("minimal"),
        size_hardcoded_by_mdaiter: true,
        initializer_bound_by_mdaiter: true,
        notes: "\"native attention\" claim rests only on this size; another write-up says SDPA parses a single `SubtractMax` key",
    },
    Descriptor {
        name: "ANECScatterLayerDesc",
        size: 24,
        initializer: "ANECScatterLayerDescInitialize",
        layout: None,
        size_hardcoded_by_mdaiter: false,
        initializer_bound_by_mdaiter: false,
        notes: "",
    },
    Descriptor {
        name: "ANECScatterNDLayerDesc",
        size: 24,
        initializer: "ANECScatterNDLayerDescInitialize",
        layout: None,
        size_hardcoded_by_mdaiter: false,
        initializer_bound_by_mdaiter: false,
        notes: "",
    },
    Descriptor {
        name: "ANECShapeLayerDesc",
        size: 16,
        initializer: "ANECShapeLayerDescInitialize",
        layout: None,
        size_hardcoded_by_mdaiter: false,
        initializer_bound_by_mdaiter: false,
        notes: "",
    },
    Descriptor {
        name: "ANECSoftmaxLayerDesc",
        size: 48,
        initializer: "ANECSoftmaxLayerDescInitialize",
        layout: Some("axis, stable flag"),
        size_hardcoded_by_mdaiter: true,
        initializer_bound_by_mdaiter: true,
        notes: "",
    },
    Descriptor {
        name: "ANECSortLayerDesc",
        size: 24,
        initializer: "ANECSortLayerDescInitialize",
        layout: None,
        size_hardcoded_by_mdaiter: false,
        initializer_bound_by_mdaiter: false,
        notes: "",
    },
    Descriptor {
        name: "ANECSplitLayerDesc",
        size: 24,
        initializer: "ANECSplitLayerDescInitialize",
        layout: None,
        size_hardcoded_by_mdaiter: false,
        initializer_bound_by_mdaiter: false,
        notes: "",
    },
    Descriptor {
        name: "ANECSqueezeLayerDesc",
        size: 32,
        initializer: "ANECSqueezeLayerDescInitialize",
        layout: None,
        size_hardcoded_by_mdaiter: false,
        initializer_bound_by_mdaiter: false,
        notes: "",
    },
    Descriptor {
        name: "ANECStep",
        size: 12,
        initializer: "ANECStepInitialize",
        layout: Some("3 × u32: depth, height, width"),
        size_hardcoded_by_mdaiter: true,
        initializer_bound_by_mdaiter: true,
        notes: "",
    },
    Descriptor {
        name: "ANECTensorDesc",
        size: 64,
        initializer: "ANECTensorDescInitialize",
        layout: Some(
            "ptr (8) + dims at bytes 8..48 (the notes' \"dims(48)\" contradicts the 40-byte dims; treat the 48 as wrong) + flags",
        ),
        size_hardcoded_by_mdaiter: true,
        initializer_bound_by_mdaiter: true,
        notes: "",
    },
    Descriptor {
        name: "ANECTensorDims",
        size: 40,
        initializer: "ANECTensorDimsInitialize",
        layout: Some("5 × u64 in order n, c, h, w, d (default 1)"),
        size_hardcoded_by_mdaiter: true,
        initializer_bound_by_mdaiter: true,
        notes: "",
    },
    Descriptor {
        name: "ANECTileLayerDesc",
        size: 32,
        initializer: "ANECTileLayerDescInitialize",
        layout: None,
        size_hardcoded_by_mdaiter: false,
        initializer_bound_by_mdaiter: false,
        notes: "",
    },
    Descriptor {
        name: "ANECTopKLayerDesc",
        size: 24,
        initializer: "ANECTopKLayerDescInitialize",
        layout: None,
        size_hardcoded_by_mdaiter: false,
        initializer_bound_by_mdaiter: false,
        notes: "",
    },
    Descriptor {
        name: "ANECTransposeLayerDesc",
        size: 32,
        initializer: "ANECTransposeLayerDescInitialize",
        layout: Some("permutation"),
        size_hardcoded_by_mdaiter: false,
        initializer_bound_by_mdaiter: true,
        notes: "",
    },
    Descriptor {
        name: "ANECUnflattenLayerDesc",
        size: 24,
        initializer: "ANECUnflattenLayerDescInitialize",
        layout: None,
        size_hardcoded_by_mdaiter: false,
        initializer_bound_by_mdaiter: false,
        notes: "",
    },
];
