//! Every lint: its id, default severity, evidence level, the reference it rests on and its fix.
//!
//! Severity follows the consequence (error: the program is rejected or computes wrong results
//! on the hardware; warning: slow, or the claim conflicts with other evidence), the evidence
//! level says how well the rule is established (the reference's tags). The two are independent:
//! an unverified report of silent zeros is still an error.

use crate::target::Evidence;
use anekit_ir::Severity;
use serde::Serialize;

/// One lint's fixed description.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct LintDef {
    pub id: &'static str,
    pub summary: &'static str,
    pub severity: Severity,
    pub evidence: Evidence,
    /// Where the rule comes from (reference section and its sources).
    pub reference: &'static str,
    pub hint: &'static str,
}

macro_rules! lint {
    ($id:literal, $sev:ident, $ev:ident, $summary:literal, $reference:literal, $hint:literal) => {
        LintDef {
            id: $id,
            summary: $summary,
            severity: Severity::$sev,
            evidence: Evidence::$ev,
            reference: $reference,
            hint: $hint,
        }
    };
}

pub const DIALECT_CHIP: &str = "dialect-chip";
pub const PROGRAM_OPSET_MISMATCH: &str = "program-opset-mismatch";
pub const SDPA_NEEDS_IOS18: &str = "sdpa-needs-ios18";
pub const CAST_UNSUPPORTED: &str = "cast-unsupported";
pub const FP16_IO_REQUIRED: &str = "fp16-io-required";
pub const DYNAMIC_SHAPE: &str = "dynamic-shape";
pub const CONTROL_FLOW: &str = "control-flow";
pub const CONCAT_INTERLEAVE: &str = "concat-interleave";
pub const CONCAT_AXIS_TENSOR: &str = "concat-axis-tensor";
pub const SCALAR_PARAM: &str = "scalar-param";
pub const DIM_LIMIT: &str = "dim-limit";
pub const CONV_INPUT_CHANNELS: &str = "conv-input-channels";
pub const MATMUL_INNER_32: &str = "matmul-inner-multiple-32";
pub const SURFACE_ORDER: &str = "surface-order";
pub const SDPA_MASK_IGNORED: &str = "sdpa-mask-ignored";
pub const SRAM_BUDGET: &str = "sram-budget";
pub const INT8_WEIGHT_ONLY: &str = "int8-weight-only";
pub const COMPILE_BUDGET: &str = "compile-budget";

/// Every lint, in the order they are documented (docs/lints.md).
pub const LINTS: &[LintDef] = &[
    lint!(
        "dialect-chip",
        Warning,
        Source,
        "the program header or function opset is not the MIL dialect the target chip's compiler is known to accept",
        "private-api.md §9, mil-text.md §2 (maderix/ANE PR #6, dev-erik/ANE); evidence per chip from the chip table",
        "write `program(<version>)` and `func main<<opset>>` as the target's dialect (`ane mil fmt --dialect`)"
    ),
    lint!(
        "program-opset-mismatch",
        Error,
        Source,
        "a program(1.0) header with an ios18 function, or a program(1.3+) header with an ios15/ios16 function, fails with InvalidMILProgram",
        "private-api.md §9 (dev-erik/ANE commit 54aa4d2)",
        "pair program(1.0) with ios16 functions and program(1.3) with ios18 functions"
    ),
    lint!(
        "sdpa-needs-ios18",
        Error,
        Source,
        "scaled_dot_product_attention exists only from the ios18 opset; the function or the target's dialect is older",
        "knowledge-base.md §20.3 (dev-erik/ANE test_mil_custom.m, iOS 18+); the op registry",
        "use explicit matmul + softmax + matmul, or target an ios18 chip"
    ),
    lint!(
        "cast-unsupported",
        Error,
        Source,
        "`cast` is rejected on chips that take fp16 I/O only (\"cast op unsupported\")",
        "private-api.md §10 #12 (maderix/ANE PR #6)",
        "make the function inputs and outputs fp16 and remove the casts; produce outputs with `identity`"
    ),
    lint!(
        "fp16-io-required",
        Error,
        Source,
        "a function input or output is not fp16 on a chip that takes fp16 I/O only",
        "private-api.md §4, §9, §10 #12 (maderix/ANE PR #6)",
        "declare the input/output as fp16 and convert on the CPU (NEON vcvt)"
    ),
    lint!(
        "dynamic-shape",
        Error,
        Unverified,
        "a tensor has an unknown (`?`) dimension; the ANE needs every dimension at compile time",
        "private-api.md §10 #18, knowledge-base.md §20.4 (dev-erik/ANE ANE_INTERNALS.md)",
        "fix the shape (one program per shape, or pad to a fixed size)"
    ),
    lint!(
        "control-flow",
        Error,
        Unverified,
        "control flow (cond, while_loop, lists) cannot run on the ANE",
        "private-api.md §10 #18, knowledge-base.md §20.4 (dev-erik/ANE ANE_INTERNALS.md)",
        "unroll the loop or branch on the CPU and compile one program per path"
    ),
    lint!(
        "concat-interleave",
        Error,
        Source,
        "`concat` without `interleave = bool(false)`; the ANE path requires it",
        "private-api.md §10 #1, mil-text.md §8 (maderix/ANE and dev-erik/ANE generators)",
        "add `interleave = bool(false)` (a const) to the concat"
    ),
    lint!(
        "concat-axis-tensor",
        Error,
        Source,
        "`concat` axis is a tensor (e.g. `tensor<int32, [1]>`) instead of an int32 scalar; it is rejected",
        "private-api.md §10 #1, mil-text.md §8",
        "pass the axis as a scalar: `int32 axis = const()[val = int32(1)]`"
    ),
    lint!(
        "scalar-param",
        Warning,
        Source,
        "a parameter coremltools documents as a scalar is given as a tensor",
        "coremltools 9.0 op docstrings (scripts/gen_scalar_params.py); the ANE rejects the concat case (private-api.md §10 #1), other ops are untested",
        "pass a rank-0 const (`int32(1)`, `bool(false)`, ...)"
    ),
    lint!(
        "dim-limit",
        Error,
        Source,
        "a tensor dimension is above 65536, the ANE's per-dimension maximum",
        "private-api.md §10 #5 (dev-erik/ANE inference: the 151936-entry LM head is split into 16 × 9496)",
        "split the tensor along that dimension into pieces of at most 65536"
    ),
    lint!(
        "conv-input-channels",
        Error,
        Source,
        "conv input channels too large: 32000 input channels are rejected; above 8192 (the largest conv in the published sweeps) is untested",
        "private-api.md §10 #6 (maderix/ANE classifier backward uses matmul instead); benchmarks.md §4 (8192 channels compiled)",
        "use matmul for very wide reductions, or split the input channels and sum the partial convs"
    ),
    lint!(
        "matmul-inner-multiple-32",
        Error,
        Unverified,
        "matmul inner dimension not a multiple of 32: reported to give silently zero output",
        "private-api.md §10 #2, mil-text.md §8 (maderix/ANE issue #47, M1)",
        "zero-pad the inner dimension of both operands to a multiple of 32"
    ),
    lint!(
        "surface-order",
        Warning,
        Unverified,
        "several inputs whose byte sizes decrease, or several outputs whose sizes increase: the reported rule (strictly ascending inputs, strictly descending outputs) gives silent zeros otherwise; equal sizes are not flagged",
        "private-api.md §4, §10 #3 (maderix/ANE issue #47, M1); contradicted by working 3-output kernels (§4)",
        "reorder the function inputs by increasing size and the outputs by decreasing size, or pack them into one surface"
    ),
    lint!(
        "sdpa-mask-ignored",
        Error,
        Source,
        "scaled_dot_product_attention with attn_mask: the mask is ignored on the hardware",
        "private-api.md §10 #8, knowledge-base.md §3.3 (maderix/ANE tests)",
        "compute attention explicitly: matmul, add the mask, softmax, matmul"
    ),
    lint!(
        "sram-budget",
        Warning,
        Data,
        "one op's weights reach the chip's SRAM budget: the published sweeps run 2-4× slower there (spill)",
        "benchmarks.md §1.1, §4 (dev-erik/ANE sram_probe files); private-api.md §10 #15",
        "split the op (e.g. the output channels into two convs) so each part's weights stay below the budget"
    ),
    lint!(
        "int8-weight-only",
        Warning,
        Unverified,
        "weight-only int8 is dequantized at compile time and gives no compute speed-up",
        "benchmarks.md §3, knowledge-base.md §20.5 (dev-erik/ANE, maderix blog); only int8 activations (W8A8) sped up",
        "keep fp16 weights, or quantize the activations too (quantize/dequantize between layers) if speed is the goal"
    ),
    lint!(
        "compile-budget",
        Error,
        Unverified,
        "the plan compiles more programs than one process is known to survive (~119; maderix/ANE budgets 100)",
        "private-api.md §8.2-§8.3 (dev-erik/ANE, maderix/ANE MAX_COMPILES = 100, PR #23 ~119-132 on M4)",
        "pass weights as inputs and compile once, reuse compiled programs (load without compile), or checkpoint and re-exec before the budget"
    ),
];

/// The lint called `id`.
pub fn lint_def(id: &str) -> Option<&'static LintDef> {
    LINTS.iter().find(|l| l.id == id)
}
