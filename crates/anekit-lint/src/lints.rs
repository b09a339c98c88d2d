//! The lint pass: every rule of [`crate::registry::LINTS`] over a checked program.

use crate::ir_util::{
    arg_bool, arg_const, arg_tensor, arg_type, is_fp16, result_type, tensor_bytes, weight_bytes,
};
use crate::registry::{self, LintDef};
use crate::scalar_params::SCALAR_PARAMS;
use crate::target::{Evidence, Target};
use anekit_ir::Program;
use anekit_ir::Severity;
use anekit_ir::ir::{Function, Op};
use anekit_ir::ops::{Opset, OpsetTag};
use anekit_ir::types::{Dim, Type};
use anekit_mil::ast::Span;
use serde::Serialize;

/// The per-dimension maximum (private-api.md §10 #5). [source]
pub const MAX_DIM: u64 = 65536;
/// Input channels reported rejected by the compiler (private-api.md §10 #6). [source]
pub const CONV_CHANNELS_REJECTED: u64 = 32000;
/// The widest conv in the published sweeps (benchmarks.md §4, 8192 channels). [data]
pub const CONV_CHANNELS_LARGEST_SEEN: u64 = 8192;
/// matmul inner dimensions must be multiples of this (private-api.md §10 #2). [unverified]
pub const MATMUL_INNER_MULTIPLE: u64 = 32;
/// maderix/ANE's `MAX_COMPILES` per process (private-api.md §8.3). [source]
pub const COMPILE_BUDGET_SAFE: u64 = 100;
/// Compiles after which further compiles are reported to fail (private-api.md §8.2). [unverified]
pub const COMPILE_LIMIT_REPORTED: u64 = 119;

/// What the program alone does not say.
#[derive(Debug, Clone, Default)]
pub struct LintOptions {
    /// Compiles the process plans (programs compiled before it exits), for `compile-budget`.
    pub compiles: Option<u64>,
}

/// One problem found by a lint.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub lint: &'static str,
    pub severity: Severity,
    pub evidence: Evidence,
    pub message: String,
    pub hint: String,
    pub reference: &'static str,
    /// Byte range in the checked MIL source.
    #[serde(skip)]
    pub span: Span,
}

impl Finding {
    fn new(def: &LintDef, span: Span, message: String) -> Finding {
        Finding {
            lint: def.id,
            severity: def.severity,
            evidence: def.evidence,
            message,
            hint: def.hint.to_string(),
            reference: def.reference,
            span,
        }
    }
    fn severity(mut self, s: Severity) -> Finding {
        self.severity = s;
        self
    }
    fn evidence(mut self, e: Evidence) -> Finding {
        self.evidence = e;
        self
    }
    fn hint(mut self, h: String) -> Finding {
        self.hint = h;
        self
    }
}

fn def(id: &str) -> &'static LintDef {
    // Every id used below is in LINTS (tested in `every_lint_id_is_registered`).
    static UNREGISTERED: LintDef = LintDef {
        id: "unregistered",
        summary: "",
        severity: Severity::Error,
        evidence: Evidence::Unverified,
        reference: "",
        hint: "",
    };
    registry::lint_def(id).unwrap_or(&UNREGISTERED)
}

/// Run every lint over `program` for `target`. Findings are sorted by source position.
pub fn lint(program: &Program, target: &Target, options: &LintOptions) -> Vec<Finding> {
    let mut out = Vec::new();
    for func in &program.functions {
        dialect(program, func, target, &mut out);
        io(func, target, &mut out);
        for op in &func.ops {
            op_rules(program, func, op, target, &mut out);
        }
        int8_weight_only(program, func, &mut out);
    }
    compile_budget(program, options, &mut out);
    out.sort_by_key(|f| (f.span.start, lint_index(f.lint)));
    out
}

fn lint_index(id: &str) -> usize {
    registry::LINTS
        .iter()
        .position(|l| l.id == id)
        .unwrap_or(usize::MAX)
}

fn is_program_1_0(program: &Program) -> bool {
    matches!(program.version.as_str(), "1" | "1.0")
}

fn dialect(program: &Program, func: &Function, target: &Target, out: &mut Vec<Finding>) {
    let want = &target.dialect;
    let func_opset = func.opset_tag.map(OpsetTag::effective);
    let newer_opset = func_opset.is_some_and(|o| o > want.opset)
        || matches!(func.opset_tag, Some(OpsetTag::Newer(_)));
    let newer_version = want.program_version == "1.0" && !is_program_1_0(program);
    if newer_opset || newer_version {
        out.push(
            Finding::new(
                def(registry::DIALECT_CHIP),
                func.span,
                format!(
                    "program({}) with `func {}<{}>`: {} programs are known to compile as program({}) + <{}> ({})",
                    program.version,
                    func.name,
                    func.opset_text,
                    target.name,
                    want.program_version,
                    want.opset,
                    want.source
                ),
            )
            .evidence(want.evidence)
            .hint(format!(
                "write `program({})` and `func {}<{}>` (`ane mil fmt --dialect {}`)",
                want.program_version, func.name, want.opset, want.program_version
            )),
        );
    }
    // The header/opset pairing rule holds on every chip.
    let mismatch = match func.opset_tag {
        Some(OpsetTag::Newer(_)) | Some(OpsetTag::Known(Opset::Ios18)) => is_program_1_0(program),
        Some(OpsetTag::Known(o)) => o <= Opset::Ios16 && !is_program_1_0(program),
        None => false,
    };
    if mismatch {
        out.push(Finding::new(
            def(registry::PROGRAM_OPSET_MISMATCH),
            func.span,
            format!(
                "program({}) header with `func {}<{}>`: this pairing fails with InvalidMILProgram",
                program.version, func.name, func.opset_text
            ),
        ));
    }
}

fn io(func: &Function, target: &Target, out: &mut Vec<Finding>) {
    let sized = |ids: &[anekit_ir::ir::ValueId]| -> Vec<(Span, String, Option<u64>)> {
        ids.iter()
            .filter_map(|id| func.value(*id))
            .map(|v| {
                let bytes = v.ty.tensor().and_then(tensor_bytes);
                (v.span, v.name.clone(), bytes)
            })
            .collect()
    };
    for (role, ids) in [("input", &func.inputs), ("output", &func.outputs)] {
        for id in ids.iter() {
            let Some(v) = func.value(*id) else { continue };
            let Some(t) = v.ty.tensor() else { continue };
            if !target.dialect.fp32_io && !is_fp16(t) {
                out.push(
                    Finding::new(
                        def(registry::FP16_IO_REQUIRED),
                        v.span,
                        format!(
                            "{role} `{}` of `{}` is {}: {} takes fp16 inputs and outputs only",
                            v.name, func.name, t, target.name
                        ),
                    )
                    .evidence(target.dialect.evidence),
                );
            }
            if role == "input" && t.shape.contains(&Dim::Unknown) {
                out.push(Finding::new(
                    def(registry::DYNAMIC_SHAPE),
                    v.span,
                    format!("input `{}` has a dynamic shape: {}", v.name, t),
                ));
            }
            if role == "input" {
                dim_limit(&v.ty, v.span, &format!("input `{}`", v.name), out);
            }
        }
    }
    // Surface ordering: inputs strictly ascending by size, outputs strictly descending.
    for (role, ids, ascending) in [
        ("input", &func.inputs, true),
        ("output", &func.outputs, false),
    ] {
        let sizes = sized(ids);
        for pair in sizes.windows(2) {
            let [(_, prev_name, Some(prev)), (span, name, Some(cur))] = pair else {
                continue;
            };
            // Equal sizes are not flagged: equal-size 3-output kernels are reported to work
            // (private-api.md §4), so only inversions are known to be suspect.
            let ok = if ascending { cur >= prev } else { cur <= prev };
            if !ok {
                out.push(Finding::new(
                    def(registry::SURFACE_ORDER),
                    *span,
                    format!(
                        "{role} `{name}` ({cur} bytes) follows `{prev_name}` ({prev} bytes): {role} surfaces must be {} by size",
                        if ascending { "ascending" } else { "descending" }
                    ),
                ));
                break;
            }
        }
    }
}

fn dim_limit(ty: &Type, span: Span, what: &str, out: &mut Vec<Finding>) {
    let Some(t) = ty.tensor() else { return };
    if let Some(d) = t
        .shape
        .iter()
        .filter_map(|d| d.known())
        .find(|&d| d > MAX_DIM)
    {
        out.push(Finding::new(
            def(registry::DIM_LIMIT),
            span,
            format!("{what} has a dimension of {d} ({t}), above the ANE maximum of {MAX_DIM}"),
        ));
    }
}

const CONTROL_FLOW_OPS: &[&str] = &[
    "cond",
    "while_loop",
    "make_list",
    "list_read",
    "list_write",
    "list_gather",
    "list_scatter",
    "list_length",
];

const WEIGHT_ONLY_QUANT_OPS: &[&str] = &[
    "constexpr_affine_dequantize",
    "constexpr_blockwise_shift_scale",
];

fn op_rules(program: &Program, func: &Function, op: &Op, target: &Target, out: &mut Vec<Finding>) {
    let name = op.name.as_deref().unwrap_or(op.kind.as_str());
    // Result shapes: dynamic dims and the dimension limit.
    let mut dynamic_reported = false;
    for i in 0..op.results.len() {
        let Some(ty) = result_type(func, op, i) else {
            continue;
        };
        if op.kind != "const"
            && !dynamic_reported
            && ty.tensor().is_some_and(|t| t.shape.contains(&Dim::Unknown))
        {
            dynamic_reported = true;
            out.push(Finding::new(
                def(registry::DYNAMIC_SHAPE),
                op.span,
                format!("`{name}` ({}) produces a dynamic shape: {ty}", op.kind),
            ));
        }
        dim_limit(ty, op.span, &format!("`{name}` ({})", op.kind), out);
    }
    if CONTROL_FLOW_OPS.contains(&op.kind.as_str()) {
        out.push(Finding::new(
            def(registry::CONTROL_FLOW),
            op.span,
            format!("`{}` is control flow", op.kind),
        ));
    }
    match op.kind.as_str() {
        "scaled_dot_product_attention" => sdpa(op, target, out),
        "cast" if !target.dialect.fp32_io => out.push(
            Finding::new(
                def(registry::CAST_UNSUPPORTED),
                op.span,
                format!("`{name}` is a cast: {} rejects `cast`", target.name),
            )
            .evidence(target.dialect.evidence),
        ),
        "concat" => concat(program, func, op, out),
        "conv" => conv(program, func, op, out),
        "matmul" => matmul(program, func, op, out),
        _ => {}
    }
    scalar_params(program, func, op, out);
    if let Some(budget) = target.sram {
        let w = weight_bytes(program, func, op);
        if w >= budget.bytes && w > 0 {
            out.push(
                Finding::new(
                    def(registry::SRAM_BUDGET),
                    op.span,
                    format!(
                        "`{name}` ({}) reads {:.1} MiB of weights, at or above {}'s SRAM budget of {:.1} MiB ({})",
                        op.kind,
                        w as f64 / MIB,
                        target.name,
                        budget.bytes as f64 / MIB,
                        budget.source
                    ),
                )
                .evidence(budget.evidence),
            );
        }
    }
}

const MIB: f64 = 1024.0 * 1024.0;

fn sdpa(op: &Op, target: &Target, out: &mut Vec<Finding>) {
    if op.opset < Opset::Ios18 || target.dialect.opset < Opset::Ios18 {
        let why = if op.opset < Opset::Ios18 {
            format!("the op is checked in {}", op.opset)
        } else {
            format!("{}'s dialect is {}", target.name, target.dialect.opset)
        };
        out.push(Finding::new(
            def(registry::SDPA_NEEDS_IOS18),
            op.span,
            format!("scaled_dot_product_attention needs ios18, but {why}"),
        ));
    }
    if let Some(mask) = op.inputs.iter().find(|i| i.name == "attn_mask") {
        out.push(Finding::new(
            def(registry::SDPA_MASK_IGNORED),
            mask.span,
            "attn_mask is given, but the hardware ignores it: the result is unmasked attention"
                .to_string(),
        ));
    }
}

fn concat(program: &Program, func: &Function, op: &Op, out: &mut Vec<Finding>) {
    match op.inputs.iter().find(|i| i.name == "interleave") {
        None => out.push(Finding::new(
            def(registry::CONCAT_INTERLEAVE),
            op.span,
            "concat has no `interleave` input".to_string(),
        )),
        Some(i) if arg_bool(program, func, &i.arg) != Some(false) => out.push(Finding::new(
            def(registry::CONCAT_INTERLEAVE),
            i.span,
            "concat `interleave` is not the constant false".to_string(),
        )),
        Some(_) => {}
    }
    if let Some(axis) = op.inputs.iter().find(|i| i.name == "axis")
        && let Some(t) = arg_tensor(program, func, &axis.arg)
        && t.rank() > 0
    {
        out.push(Finding::new(
            def(registry::CONCAT_AXIS_TENSOR),
            axis.span,
            format!("concat axis is a {t}, not an int32 scalar"),
        ));
    }
}

fn conv(program: &Program, func: &Function, op: &Op, out: &mut Vec<Finding>) {
    let Some(x) = op.input("x").and_then(|a| arg_tensor(program, func, a)) else {
        return;
    };
    let Some(channels) = x.shape.get(1).and_then(|d| d.known()) else {
        return;
    };
    let d = def(registry::CONV_INPUT_CHANNELS);
    if channels >= CONV_CHANNELS_REJECTED {
        out.push(Finding::new(
            d,
            op.span,
            format!(
                "conv with {channels} input channels: {CONV_CHANNELS_REJECTED} input channels are rejected by the compiler"
            ),
        ));
    } else if channels > CONV_CHANNELS_LARGEST_SEEN {
        out.push(
            Finding::new(
                d,
                op.span,
                format!(
                    "conv with {channels} input channels: above {CONV_CHANNELS_LARGEST_SEEN}, the widest conv known to compile, and below the {CONV_CHANNELS_REJECTED} known to be rejected"
                ),
            )
            .severity(Severity::Warning),
        );
    }
}

fn matmul(program: &Program, func: &Function, op: &Op, out: &mut Vec<Finding>) {
    let Some(x) = op.input("x").and_then(|a| arg_tensor(program, func, a)) else {
        return;
    };
    let transpose_x = op
        .input("transpose_x")
        .and_then(|a| arg_bool(program, func, a))
        .unwrap_or(false);
    let rank = x.rank();
    let inner_axis = match (rank, transpose_x) {
        (0, _) => return,
        (1, _) => 0,
        (_, false) => rank - 1,
        (_, true) => rank - 2,
    };
    let Some(inner) = x.shape.get(inner_axis).and_then(|d| d.known()) else {
        return;
    };
    if inner % MATMUL_INNER_MULTIPLE != 0 {
        out.push(Finding::new(
            def(registry::MATMUL_INNER_32),
            op.span,
            format!("matmul inner dimension is {inner}, not a multiple of {MATMUL_INNER_MULTIPLE}"),
        ));
    }
}

fn scalar_params(program: &Program, func: &Function, op: &Op, out: &mut Vec<Finding>) {
    for input in &op.inputs {
        if op.kind == "concat" && input.name == "axis" {
            continue; // concat-axis-tensor
        }
        if !SCALAR_PARAMS.contains(&(op.kind.as_str(), input.name.as_ref())) {
            continue;
        }
        if let Some(t) = arg_type(program, func, &input.arg).and_then(Type::tensor)
            && t.rank() > 0
        {
            out.push(Finding::new(
                def(registry::SCALAR_PARAM),
                input.span,
                format!(
                    "`{}.{}` is a {t}; coremltools defines it as a scalar",
                    op.kind, input.name
                ),
            ));
        }
    }
}

fn int8_weight_only(program: &Program, func: &Function, out: &mut Vec<Finding>) {
    let int8 = |op: &Op| {
        let data = match op.kind.as_str() {
            "constexpr_affine_dequantize" => op.input("quantized_data"),
            "constexpr_blockwise_shift_scale" => op.input("data"),
            _ => None,
        };
        data.and_then(|a| arg_const(program, func, a))
            .is_some_and(|c| {
                c.ty.tensor().is_some_and(|t| {
                    matches!(
                        t.dtype,
                        anekit_core::DType::Int8 | anekit_core::DType::Uint8
                    )
                })
            })
    };
    let quantized: Vec<&Op> = func
        .ops
        .iter()
        .filter(|op| WEIGHT_ONLY_QUANT_OPS.contains(&op.kind.as_str()) && int8(op))
        .collect();
    let activations_quantized = func.ops.iter().any(|op| op.kind == "quantize");
    if let (Some(first), false) = (quantized.first(), activations_quantized) {
        out.push(Finding::new(
            def(registry::INT8_WEIGHT_ONLY),
            first.span,
            format!(
                "{} int8 weight tensor(s) in `{}` and no `quantize` of activations: weight-only int8 is dequantized at compile time",
                quantized.len(),
                func.name
            ),
        ));
    }
}

fn compile_budget(program: &Program, options: &LintOptions, out: &mut Vec<Finding>) {
    let Some(n) = options.compiles else { return };
    let span = program
        .functions
        .first()
        .map(|f| Span::new(f.span.start, f.span.start))
        .unwrap_or_default();
    let d = def(registry::COMPILE_BUDGET);
    if n >= COMPILE_LIMIT_REPORTED {
        out.push(Finding::new(
            d,
            span,
            format!(
                "the plan compiles {n} programs in one process: compiles are reported to fail silently after ~{COMPILE_LIMIT_REPORTED}"
            ),
        ));
    } else if n > COMPILE_BUDGET_SAFE {
        out.push(
            Finding::new(
                d,
                span,
                format!(
                    "the plan compiles {n} programs in one process: above maderix/ANE's budget of {COMPILE_BUDGET_SAFE}, close to the ~{COMPILE_LIMIT_REPORTED} reported limit"
                ),
            )
            .severity(Severity::Warning)
            .evidence(Evidence::Source),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lint_id_is_registered() {
        for id in [
            registry::DIALECT_CHIP,
            registry::PROGRAM_OPSET_MISMATCH,
            registry::SDPA_NEEDS_IOS18,
            registry::CAST_UNSUPPORTED,
            registry::FP16_IO_REQUIRED,
            registry::DYNAMIC_SHAPE,
            registry::CONTROL_FLOW,
            registry::CONCAT_INTERLEAVE,
            registry::CONCAT_AXIS_TENSOR,
            registry::SCALAR_PARAM,
            registry::DIM_LIMIT,
            registry::CONV_INPUT_CHANNELS,
            registry::MATMUL_INNER_32,
            registry::SURFACE_ORDER,
            registry::SDPA_MASK_IGNORED,
            registry::SRAM_BUDGET,
            registry::INT8_WEIGHT_ONLY,
            registry::COMPILE_BUDGET,
        ] {
            assert!(registry::lint_def(id).is_some(), "{id}");
        }
        assert_eq!(registry::LINTS.len(), 18);
    }
}
