//! Enumerations of Apple's ANE compiler (Zin), as tables.
//!
//! Source: the enum-to-string functions of ANECompiler quoted in tinygrad's notes (reference
//! hwx-td.md §4). These are compiler-level names; the TD itself stores different, smaller
//! encodings (see [`TD_NONLINEAR_MODES`]).

/// `ZinIrEnumToStringUtil::OpCodeToString`, indexed by op code (0–48).
pub const OP_CODES: [&str; 49] = [
    "CONV",
    "POOL",
    "SCALE_BIAS",
    "TERNARY_DYNAMIC_GOC",
    "BINARY_DYNAMIC_GOC",
    "ACTIVATION",
    "EW",
    "SCALED_EW",
    "CONCAT",
    "SPLIT",
    "COPY",
    "FLATTEN",
    "UNFLATTEN",
    "CROSS_CORRELATION",
    "KERNEL_RASTERIZER",
    "ARG_MIN_MAX",
    "MATRIX_MULT",
    "BROADCAST",
    "FLATTEN_COMPOSITE",
    "UNFLATTEN_COMPOSITE",
    "KERNEL_RASTERIZER_COMPOSITE",
    "CROSS_CORRELATION_COMPOSITE",
    "LIVE_IN",
    "CONST_IN",
    "LIVE_OUT",
    "REDUCTION",
    "ALIAS",
    "Typecast",
    "RESHAPE",
    "VIEW",
    "TRANSPOSE",
    "SPACE_TO_BATCH",
    "BATCH_TO_SPACE",
    "SOFTMAX",
    "INSTANCE_NORM",
    "L2_NORM",
    "MINMAX_NORM",
    "LRN",
    "COST_VOLUME",
    "PIXEL_SHUFFLE",
    "FPS",
    "RS",
    "PEFUSED_ELEMENTWISE",
    "PEFUSED_POOL",
    "PEFUSED_GOC",
    "NEFUSED_CONV",
    "NEFUSED_POOL",
    "NEFUSED_EW",
    "NEFUSED_BYPASS",
];

/// `NonLinearModeToString`, indexed by mode (0–31).
pub const NONLINEAR_MODES: [&str; 32] = [
    "NONE",
    "RELU",
    "SIGMOID",
    "SIGMOID_HIGH_PRECISION",
    "TANH",
    "CLAMPED_RELU",
    "PRELU",
    "DIRAC",
    "INT",
    "FRAC",
    "SQRT",
    "RSQRT",
    "INV",
    "SQR",
    "LOG2",
    "EXP2",
    "ELU",
    "SIGN",
    "EQUAL_ZERO",
    "NON_ZERO",
    "LESS_THAN_ZERO",
    "LESS_EQUAL_ZERO",
    "GREATER_EQUAL_ZERO",
    "GREATER_THAN_ZERO",
    "CUSTOM_LUT",
    "C_DIM_CONCAT",
    "C_DIM_STRIDED_CONCAT",
    "H_DIM_CONCAT",
    "W_DIM_CONCAT",
    "D_DIM_CONCAT",
    "N_DIM_CONCAT",
    "H_DIM_STRIDED_CONCAT",
];

/// `ZinMirCacheHintUtil::CacheHintToString` (0–3). TDs also hold 12 and 14 in
/// TileDMASrc CacheHintReuse/NoReuse, outside this table.
pub const CACHE_HINTS: [&str; 4] = ["ALLOC", "NOALLOC", "DROP", "DEPRI"];

/// `ZinMirKernelSizeSplitterEngine::ConvKindToString`.
pub const CONV_KINDS: [&str; 3] = ["regular", "channelwise", "grouped"];

/// Element format codes of Common ChCfg.InFmt/OutFmt and TileDMA Fmt.MemFmt (freedomtan, eiln;
/// fp16 = 2 is the only value seen in files).
pub const DATA_FORMATS: [&str; 3] = ["int8", "uint8", "fp16"];

/// The 2-bit `NE.MACCfg.NonlinearMode` of an H13 TD: 0 passes through, 1 is ReLU, 2 runs the
/// LUT loaded from the kernel section (sigmoid, exp, tanh, ... on eiln's kernels).
pub const TD_NONLINEAR_MODES: [&str; 3] = ["none", "relu", "lut"];

/// PE Cfg.OpMode as seen on eiln's H13 binary kernels (0 add, 1 mul, 2 max, 3 min).
pub const PE_OPS: [&str; 4] = ["add", "mul", "max", "min"];
