//! Small queries over the typed IR shared by the lints and the cost model.

use anekit_core::DType;
use anekit_ir::Program;
use anekit_ir::ir::{Arg, Constant, Function, Op, ValueDef};
use anekit_ir::types::{TensorType, Type};

/// The type an op input is bound to (a value's declared type, or a literal's type).
pub fn arg_type<'a>(program: &'a Program, func: &'a Function, arg: &Arg) -> Option<&'a Type> {
    match arg {
        Arg::Value(v) => func.value(*v).map(|v| &v.ty),
        Arg::Const(c) => program.constant(*c).map(|c| &c.ty),
        Arg::Tuple(_) | Arg::Undefined(_) => None,
    }
}

/// The tensor type of an op input.
pub fn arg_tensor<'a>(
    program: &'a Program,
    func: &'a Function,
    arg: &Arg,
) -> Option<&'a TensorType> {
    arg_type(program, func, arg)?.tensor()
}

/// The constant an input is bound to: an inline literal or a `const` op's value.
pub fn arg_const<'a>(program: &'a Program, func: &'a Function, arg: &Arg) -> Option<&'a Constant> {
    match arg {
        Arg::Const(c) => program.constant(*c),
        Arg::Value(v) => program.constant(func.value(*v)?.constant?),
        Arg::Tuple(_) | Arg::Undefined(_) => None,
    }
}

/// The boolean value of a const input (`transpose_x`, `interleave`).
pub fn arg_bool(program: &Program, func: &Function, arg: &Arg) -> Option<bool> {
    arg_const(program, func, arg)?
        .data
        .as_bools()?
        .first()
        .copied()
}

/// True when the input is known at compile time: a literal, a `const` result, or the result of
/// a `constexpr_*` op (weights the compiler bakes in).
pub fn is_compile_time(func: &Function, arg: &Arg) -> bool {
    match arg {
        Arg::Const(_) => true,
        Arg::Value(v) => func.value(*v).is_some_and(|val| {
            val.constant.is_some()
                || matches!(val.def, ValueDef::Op { op, .. }
                    if func.ops.get(op).is_some_and(|o| o.kind.starts_with("constexpr_")))
        }),
        Arg::Tuple(_) | Arg::Undefined(_) => false,
    }
}

/// The type of result `i` of `op`: what inference computed, else the declared type.
pub fn result_type<'a>(func: &'a Function, op: &'a Op, i: usize) -> Option<&'a Type> {
    if let Some(t) = op.inferred.as_ref().and_then(|v| v.get(i)) {
        return Some(t);
    }
    func.value(*op.results.get(i)?).map(|v| &v.ty)
}

/// Bytes of a fully known tensor (sub-byte types rounded up); None for unknown dims or strings.
pub fn tensor_bytes(t: &TensorType) -> Option<u64> {
    let bits = u64::from(t.dtype.bits()?);
    t.element_count()?.checked_mul(bits).map(|b| b.div_ceil(8))
}

/// Compile-time weight bytes an op reads: every floating-point tensor input (rank ≥ 1) that is a
/// constant or a `constexpr_*` result, at the size the compiler stores it (a constexpr result is
/// its dequantized fp16/fp32 tensor: weight-only compression is expanded at compile time,
/// benchmarks.md §3).
pub fn weight_bytes(program: &Program, func: &Function, op: &Op) -> u64 {
    if op.kind == "const" || op.kind.starts_with("constexpr_") {
        return 0;
    }
    op.inputs
        .iter()
        .filter(|i| is_compile_time(func, &i.arg))
        .filter_map(|i| arg_tensor(program, func, &i.arg))
        .filter(|t| t.rank() >= 1 && t.dtype.is_float())
        .filter_map(tensor_bytes)
        .sum()
}

/// True for fp16.
pub fn is_fp16(t: &TensorType) -> bool {
    t.dtype == DType::Fp16
}
