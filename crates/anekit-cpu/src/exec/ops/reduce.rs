//! The `reduce_*` family.

use super::{OpFn, one};
use crate::exec::ExecError;
use crate::exec::ctx::OpCtx;
use crate::exec::value::Val;
use crate::reduce::{ReduceOp, argmax, argmin, reduce as kreduce};
use crate::{Tensor, TensorView};

pub(crate) const OPS: &[(&str, OpFn)] = &[
    ("reduce_sum", reduce),
    ("reduce_mean", reduce),
    ("reduce_max", reduce),
    ("reduce_min", reduce),
    ("reduce_prod", reduce),
    ("reduce_l1_norm", reduce),
    ("reduce_l2_norm", reduce),
    ("reduce_log_sum", reduce),
    ("reduce_log_sum_exp", reduce),
    ("reduce_sum_square", reduce),
    ("reduce_argmax", arg),
    ("reduce_argmin", arg),
];

fn float_input<'a>(
    ctx: &OpCtx<'a>,
    holder: &'a mut Option<Tensor>,
) -> Result<TensorView<'a>, ExecError> {
    let x = ctx.input("x")?;
    Ok(match x {
        Val::F32(t) => t.view(),
        other => holder.insert(other.to_f32_tensor()).view(),
    })
}

fn reduce(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let op = match ctx.op.kind.as_str() {
        "reduce_sum" => ReduceOp::Sum,
        "reduce_mean" => ReduceOp::Mean,
        "reduce_max" => ReduceOp::Max,
        "reduce_min" => ReduceOp::Min,
        "reduce_prod" => ReduceOp::Prod,
        "reduce_l1_norm" => ReduceOp::L1Norm,
        "reduce_l2_norm" => ReduceOp::L2Norm,
        "reduce_log_sum" => ReduceOp::LogSum,
        "reduce_log_sum_exp" => ReduceOp::LogSumExp,
        "reduce_sum_square" => ReduceOp::SumSquare,
        _ => return Err(ctx.err("not a reduction")),
    };
    let mut holder = None;
    let x = float_input(ctx, &mut holder)?;
    let axes = ctx.ints("axes")?;
    let keep = ctx.bool_or("keep_dims", false)?;
    let t = kreduce(op, x, axes.as_deref(), keep).map_err(|e| ctx.kernel(e))?;
    one(Val::F32(t))
}

fn arg(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let mut holder = None;
    let x = float_input(ctx, &mut holder)?;
    let axis = ctx.int_or("axis", -1)?;
    let keep = ctx.bool_or("keep_dims", false)?;
    let t = if ctx.op.kind == "reduce_argmax" {
        argmax(x, axis, keep)
    } else {
        argmin(x, axis, keep)
    };
    one(Val::I32(t.map_err(|e| ctx.kernel(e))?))
}
