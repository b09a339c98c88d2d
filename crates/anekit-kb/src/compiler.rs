//! ANECompiler layer categories and the `net.plist` unit types seen in real files.
//!
//! Transcribed from `../shared/reference/knowledge-base.md` §2 and `espresso.md` §6.2.

use crate::evidence::Evidence;
use serde::Serialize;

/// One ANECompiler layer category (mdaiter/ane). [unverified]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LayerCategory {
    pub name: &'static str,
    pub layer_types: &'static [&'static str],
    /// Layer types of this category that have no descriptor struct in the table.
    pub without_descriptor: &'static [&'static str],
}

impl LayerCategory {
    pub const EVIDENCE: Evidence = Evidence::Unverified;
    pub const SOURCE: &'static str = "mdaiter/ane README (knowledge-base.md §2)";
}

pub static CATEGORIES: &[LayerCategory] = &[
    LayerCategory {
        name: "Attention/Transformer",
        layer_types: &["SDPA"],
        without_descriptor: &[],
    },
    LayerCategory {
        name: "Convolution",
        layer_types: &["Conv", "CrossCorrelation", "DepthwiseConv"],
        without_descriptor: &["DepthwiseConv"],
    },
    LayerCategory {
        name: "Pooling",
        layer_types: &["Pool", "GlobalPool", "AdaptivePool"],
        without_descriptor: &["GlobalPool", "AdaptivePool"],
    },
    LayerCategory {
        name: "Normalization",
        layer_types: &["Norm", "BatchNorm", "LayerNorm", "GroupNorm", "LRN"],
        without_descriptor: &[],
    },
    LayerCategory {
        name: "Linear/Matrix",
        layer_types: &["Linear", "MatrixMult", "Einsum"],
        without_descriptor: &["Einsum"],
    },
    LayerCategory {
        name: "Activation",
        layer_types: &["Neuron", "Softmax", "LogSoftmax", "Dropout"],
        without_descriptor: &["LogSoftmax"],
    },
    LayerCategory {
        name: "Reshape/Layout",
        layer_types: &[
            "Reshape",
            "Transpose",
            "Flatten",
            "Unflatten",
            "Concat",
            "Split",
            "Tile",
            "Expand",
            "Squeeze",
        ],
        without_descriptor: &[],
    },
    LayerCategory {
        name: "Spatial",
        layer_types: &[
            "Resize",
            "Pad",
            "CropResize",
            "Resample",
            "AffineTransform",
            "GridSample",
        ],
        without_descriptor: &[],
    },
    LayerCategory {
        name: "Reduction",
        layer_types: &["Reduction", "TopK", "Sort", "ArgMax", "ArgMin"],
        without_descriptor: &["ArgMax", "ArgMin"],
    },
    LayerCategory {
        name: "Scatter/Gather",
        layer_types: &["Gather", "GatherND", "Scatter", "ScatterND"],
        without_descriptor: &[],
    },
    LayerCategory {
        name: "Misc",
        layer_types: &[
            "Shape",
            "Range",
            "Random",
            "Fill",
            "RingBuffer",
            "InputView",
            "Copy",
        ],
        without_descriptor: &["Range", "Copy"],
    },
];

/// One `net.plist` unit type seen in real ANECompiler input files. [verified]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PlistUnitType {
    pub name: &'static str,
    pub params: &'static [&'static str],
    pub values_seen: &'static str,
}

impl PlistUnitType {
    pub const EVIDENCE: Evidence = Evidence::Verified;
    pub const SOURCE: &'static str = "tinygrad-ane corpus plists (espresso.md §6.2)";
}

pub static PLIST_UNIT_TYPES: &[PlistUnitType] = &[
    PlistUnitType {
        name: "Conv",
        params: &[
            "KernelWidth",
            "KernelHeight",
            "KernelDepth",
            "KernelIndex",
            "KernelOffset",
            "KernelType",
            "KernelMode",
            "KernelGroupReuse",
            "Step",
            "PadTop",
            "PadBot",
            "PadLeft",
            "PadRight",
            "Type",
        ],
        values_seen: "KernelType Float16/Float32/UInt8; KernelMode Dense; Step [1, 1]",
    },
    PlistUnitType {
        name: "Neuron",
        params: &["Type"],
        values_seen: "Sigmoid, Sign, Exp2 (ReLU in older revisions)",
    },
    PlistUnitType {
        name: "GOC",
        params: &["BiasScaleGroupData", "BiasScalar", "ScaleScalar"],
        values_seen: "gain/offset/channel (scale + bias); scalars are fp16 bit patterns as integers (16354, 20544)",
    },
    PlistUnitType {
        name: "ScaledElementWise",
        params: &["Type", "Scale"],
        values_seen: "Add, Min; Scale 15360 = fp16 1.0 as an integer",
    },
    PlistUnitType {
        name: "Concat",
        params: &["Dimension"],
        values_seen: "Channel",
    },
    PlistUnitType {
        name: "Broadcast",
        params: &["BroadcastInfo"],
        values_seen: "[{Dimension, Size}] with Width, Depth, Batch, Channel, Height",
    },
    PlistUnitType {
        name: "InputView",
        params: &["Dimension", "Offset", "Size"],
        values_seen: "channel slices",
    },
    PlistUnitType {
        name: "Reshape",
        params: &[
            "ReshapedBatch",
            "ReshapedChannel",
            "ReshapedDepth",
            "ReshapedHeight",
            "ReshapedWidth",
        ],
        values_seen: "",
    },
];
