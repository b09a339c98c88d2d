//! Zin (ANECompiler internals) enumerations, from the compiler's enum-to-string functions as
//! tinygrad's README.old lists them (knowledge-base.md §19, hwx-td.md §4). [source]

use crate::evidence::Evidence;
use serde::Serialize;

/// One enumerator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ZinCode {
    pub code: u32,
    pub name: &'static str,
}

/// One Zin enumeration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ZinEnum {
    /// Short name used by `ane kb` (`zin_op`, `zin_nonlinear_mode`, ...).
    pub name: &'static str,
    /// What it enumerates.
    pub title: &'static str,
    /// The compiler function that prints it.
    pub function: &'static str,
    pub values: &'static [ZinCode],
    pub evidence: Evidence,
    pub notes: &'static str,
}

impl ZinEnum {
    pub const SOURCE: &'static str =
        "tinygrad extra/accel/ane README.old (knowledge-base.md §19, hwx-td.md §4)";

    /// The name of a value.
    pub fn name_of(&self, code: u32) -> Option<&'static str> {
        self.values.iter().find(|v| v.code == code).map(|v| v.name)
    }
}

/// An enumeration by name.
pub fn enumeration(name: &str) -> Option<&'static ZinEnum> {
    ENUMS.iter().find(|e| e.name == name)
}

pub static ENUMS: &[ZinEnum] = &[
    ZinEnum {
        name: "zin_op",
        title: "Zin op codes",
        function: "ZinIrEnumToStringUtil::OpCodeToString",
        values: OP_CODES,
        evidence: Evidence::Source,
        notes: "0–48",
    },
    ZinEnum {
        name: "zin_nonlinear_mode",
        title: "Zin activation / non-linear modes",
        function: "NonLinearModeToString",
        values: NONLINEAR_MODES,
        evidence: Evidence::Source,
        notes: "0–31; the 2-bit TD field NE.MACCfg.NonlinearMode is a different encoding (1 = ReLU, 2 = LUT path) [verified]",
    },
    ZinEnum {
        name: "zin_cache_hint",
        title: "Zin cache hints",
        function: "ZinMirCacheHintUtil::CacheHintToString",
        values: &[
            ZinCode {
                code: 0,
                name: "ALLOC",
            },
            ZinCode {
                code: 1,
                name: "NOALLOC",
            },
            ZinCode {
                code: 2,
                name: "DROP",
            },
            ZinCode {
                code: 3,
                name: "DEPRI",
            },
        ],
        evidence: Evidence::Source,
        notes: "TD CacheHintReuse 14 / CacheHintNoReuse 12 fall outside 0–3 (mapped register value; guess)",
    },
    ZinEnum {
        name: "zin_conv_kind",
        title: "Zin convolution kinds",
        function: "ZinMirKernelSizeSplitterEngine::ConvKindToString",
        values: &[
            ZinCode {
                code: 0,
                name: "regular",
            },
            ZinCode {
                code: 1,
                name: "channelwise",
            },
            ZinCode {
                code: 2,
                name: "grouped",
            },
        ],
        evidence: Evidence::Source,
        notes: "",
    },
    ZinEnum {
        name: "zin_tensor_format",
        title: "Zin tensor formats (guess)",
        function: "(guessed from the hwx, README.old)",
        values: &[
            ZinCode {
                code: 0,
                name: "UInt8",
            },
            ZinCode {
                code: 1,
                name: "Int8",
            },
            ZinCode {
                code: 2,
                name: "Float16",
            },
        ],
        evidence: Evidence::Unverified,
        notes: "guess; fp16 = 2 agrees with ChCfg and TileDMA Fmt.MemFmt in every staged file",
    },
];

pub static OP_CODES: &[ZinCode] = &[
    ZinCode {
        code: 0,
        name: "CONV",
    },
    ZinCode {
        code: 1,
        name: "POOL",
    },
    ZinCode {
        code: 2,
        name: "SCALE_BIAS",
    },
    ZinCode {
        code: 3,
        name: "TERNARY_DYNAMIC_GOC",
    },
    ZinCode {
        code: 4,
        name: "BINARY_DYNAMIC_GOC",
    },
    ZinCode {
        code: 5,
        name: "ACTIVATION",
    },
    ZinCode {
        code: 6,
        name: "EW",
    },
    ZinCode {
        code: 7,
        name: "SCALED_EW",
    },
    ZinCode {
        code: 8,
        name: "CONCAT",
    },
    ZinCode {
        code: 9,
        name: "SPLIT",
    },
    ZinCode {
        code: 10,
        name: "COPY",
    },
    ZinCode {
        code: 11,
        name: "FLATTEN",
    },
    ZinCode {
        code: 12,
        name: "UNFLATTEN",
    },
    ZinCode {
        code: 13,
        name: "CROSS_CORRELATION",
    },
    ZinCode {
        code: 14,
        name: "KERNEL_RASTERIZER",
    },
    ZinCode {
        code: 15,
        name: "ARG_MIN_MAX",
    },
    ZinCode {
        code: 16,
        name: "MATRIX_MULT",
    },
    ZinCode {
        code: 17,
        name: "BROADCAST",
    },
    ZinCode {
        code: 18,
        name: "FLATTEN_COMPOSITE",
    },
    ZinCode {
        code: 19,
        name: "UNFLATTEN_COMPOSITE",
    },
    ZinCode {
        code: 20,
        name: "KERNEL_RASTERIZER_COMPOSITE",
    },
    ZinCode {
        code: 21,
        name: "CROSS_CORRELATION_COMPOSITE",
    },
    ZinCode {
        code: 22,
        name: "LIVE_IN",
    },
    ZinCode {
        code: 23,
        name: "CONST_IN",
    },
    ZinCode {
        code: 24,
        name: "LIVE_OUT",
    },
    ZinCode {
        code: 25,
        name: "REDUCTION",
    },
    ZinCode {
        code: 26,
        name: "ALIAS",
    },
    ZinCode {
        code: 27,
        name: "Typecast",
    },
    ZinCode {
        code: 28,
        name: "RESHAPE",
    },
    ZinCode {
        code: 29,
        name: "VIEW",
    },
    ZinCode {
        code: 30,
        name: "TRANSPOSE",
    },
    ZinCode {
        code: 31,
        name: "SPACE_TO_BATCH",
    },
    ZinCode {
        code: 32,
        name: "BATCH_TO_SPACE",
    },
    ZinCode {
        code: 33,
        name: "SOFTMAX",
    },
    ZinCode {
        code: 34,
        name: "INSTANCE_NORM",
    },
    ZinCode {
        code: 35,
        name: "L2_NORM",
    },
    ZinCode {
        code: 36,
        name: "MINMAX_NORM",
    },
    ZinCode {
        code: 37,
        name: "LRN",
    },
    ZinCode {
        code: 38,
        name: "COST_VOLUME",
    },
    ZinCode {
        code: 39,
        name: "PIXEL_SHUFFLE",
    },
    ZinCode {
        code: 40,
        name: "FPS",
    },
    ZinCode {
        code: 41,
        name: "RS",
    },
    ZinCode {
        code: 42,
        name: "PEFUSED_ELEMENTWISE",
    },
    ZinCode {
        code: 43,
        name: "PEFUSED_POOL",
    },
    ZinCode {
        code: 44,
        name: "PEFUSED_GOC",
    },
    ZinCode {
        code: 45,
        name: "NEFUSED_CONV",
    },
    ZinCode {
        code: 46,
        name: "NEFUSED_POOL",
    },
    ZinCode {
        code: 47,
        name: "NEFUSED_EW",
    },
    ZinCode {
        code: 48,
        name: "NEFUSED_BYPASS",
    },
];

pub static NONLINEAR_MODES: &[ZinCode] = &[
    ZinCode {
        code: 0,
        name: "NONE",
    },
    ZinCode {
        code: 1,
        name: "RELU",
    },
    ZinCode {
        code: 2,
        name: "SIGMOID",
    },
    ZinCode {
        code: 3,
        name: "SIGMOID_HIGH_PRECISION",
    },
    ZinCode {
        code: 4,
        name: "TANH",
    },
    ZinCode {
        code: 5,
        name: "CLAMPED_RELU",
    },
    ZinCode {
        code: 6,
        name: "PRELU",
    },
    ZinCode {
        code: 7,
        name: "DIRAC",
    },
    ZinCode {
        code: 8,
        name: "INT",
    },
    ZinCode {
        code: 9,
        name: "FRAC",
    },
    ZinCode {
        code: 10,
        name: "SQRT",
    },
    ZinCode {
        code: 11,
        name: "RSQRT",
    },
    ZinCode {
        code: 12,
        name: "INV",
    },
    ZinCode {
        code: 13,
        name: "SQR",
    },
    ZinCode {
        code: 14,
        name: "LOG2",
    },
    ZinCode {
        code: 15,
        name: "EXP2",
    },
    ZinCode {
        code: 16,
        name: "ELU",
    },
    ZinCode {
        code: 17,
        name: "SIGN",
    },
    ZinCode {
        code: 18,
        name: "EQUAL_ZERO",
    },
    ZinCode {
        code: 19,
        name: "NON_ZERO",
    },
    ZinCode {
        code: 20,
        name: "LESS_THAN_ZERO",
    },
    ZinCode {
        code: 21,
        name: "LESS_EQUAL_ZERO",
    },
    ZinCode {
        code: 22,
        name: "GREATER_EQUAL_ZERO",
    },
    ZinCode {
        code: 23,
        name: "GREATER_THAN_ZERO",
    },
    ZinCode {
        code: 24,
        name: "CUSTOM_LUT",
    },
    ZinCode {
        code: 25,
        name: "C_DIM_CONCAT",
    },
    ZinCode {
        code: 26,
        name: "C_DIM_STRIDED_CONCAT",
    },
    ZinCode {
        code: 27,
        name: "H_DIM_CONCAT",
    },
    ZinCode {
        code: 28,
        name: "W_DIM_CONCAT",
    },
    ZinCode {
        code: 29,
        name: "D_DIM_CONCAT",
    },
    ZinCode {
        code: 30,
        name: "N_DIM_CONCAT",
    },
    ZinCode {
        code: 31,
        name: "H_DIM_STRIDED_CONCAT",
    },
];
