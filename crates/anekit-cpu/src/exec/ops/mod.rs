//! Op dispatch: one table from MIL registry name to implementation, built from the per-family
//! tables below. Ops not in it go to [`super::extra::dispatch`]; an op in neither is an
//! `ExecError::UnsupportedOp`.

mod activation;
mod attention;
mod conv;
mod elementwise;
mod linear;
mod misc;
mod norm;
mod recurrent;
mod reduce;
mod shape;

use super::ExecError;
use super::ctx::OpCtx;
use super::value::Val;
use std::collections::HashMap;
use std::sync::LazyLock;

/// An op implementation: one [`Val`] per declared result, unrounded.
pub(crate) type OpFn = fn(&OpCtx<'_>) -> Result<Vec<Val>, ExecError>;

/// Ops the executor evaluates itself outside the table: at prepare time (`const`,
/// `constexpr_*`, see `constants.rs`) or in the run loop (`read_state`, `write_state`).
pub(crate) const SPECIAL: &[&str] = &[
    "const",
    "constexpr_affine_dequantize",
    "constexpr_blockwise_shift_scale",
    "constexpr_cast",
    "constexpr_lut_to_dense",
    "constexpr_sparse_to_dense",
    "coreml_update_state",
    "read_state",
    "write_state",
];

static TABLE: LazyLock<HashMap<&'static str, OpFn>> = LazyLock::new(|| {
    let families: &[&[(&'static str, OpFn)]] = &[
        elementwise::OPS,
        activation::OPS,
        linear::OPS,
        conv::OPS,
        norm::OPS,
        reduce::OPS,
        shape::OPS,
        misc::OPS,
        attention::OPS,
        recurrent::OPS,
    ];
    families.iter().flat_map(|f| f.iter().copied()).collect()
});

/// Every op kind this executor runs (its own table, the special ops and the extra kernels),
/// sorted.
pub fn supported_ops() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = TABLE.keys().copied().collect();
    v.extend_from_slice(SPECIAL);
    v.extend_from_slice(super::extra::SUPPORTED);
    v.sort_unstable();
    v.dedup();
    v
}

/// The op kinds of the executor's own table and its special ops (`const`, `constexpr_*`,
/// states), sorted: [`supported_ops`] without the ones `exec/extra.rs` adds.
pub fn builtin_ops() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = TABLE.keys().copied().collect();
    v.extend_from_slice(SPECIAL);
    v.sort_unstable();
    v
}

/// The op kinds wired in `exec/extra.rs` (the newer kernel modules), sorted.
pub fn extra_ops() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = super::extra::SUPPORTED
        .iter()
        .copied()
        .filter(|k| !TABLE.contains_key(k) && !SPECIAL.contains(k))
        .collect();
    v.sort_unstable();
    v
}

/// Whether `kind` can be evaluated.
pub(crate) fn is_supported(kind: &str) -> bool {
    TABLE.contains_key(kind) || SPECIAL.contains(&kind) || super::extra::SUPPORTED.contains(&kind)
}

/// Evaluate one op of the table (or of the extra kernels).
pub(crate) fn eval(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    if let Some(f) = TABLE.get(ctx.op.kind.as_str()) {
        return f(ctx);
    }
    match super::extra::dispatch(ctx) {
        Some(r) => r,
        None => Err(ExecError::UnsupportedOp {
            op: ctx.op.kind.clone(),
            value: ctx.value_name(),
            line: 0,
        }),
    }
}

pub(crate) use shape::view_shape;

/// Convert the kernel's result into one output.
pub(crate) fn one(v: Val) -> Result<Vec<Val>, ExecError> {
    Ok(vec![v])
}
