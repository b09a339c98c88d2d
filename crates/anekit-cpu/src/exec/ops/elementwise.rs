//! Elementwise binary arithmetic, comparisons, logical ops, unary math, `cast`, `select`.

use super::{OpFn, one};
use crate::elementwise::{
    BinaryOp, CompareOp, LogicalOp, UnaryOp, binary as fbinary, broadcast_binary, compare, logical,
    logical_not, unary as funary,
};
use crate::exec::ExecError;
use crate::exec::ctx::{OpCtx, element_count};
use crate::exec::value::{Storage, Val};
use crate::tensor::{broadcast_shapes, broadcast_to};
use crate::{Tensor, TensorView};
use anekit_core::DType;

pub(crate) const OPS: &[(&str, OpFn)] = &[
    ("add", binary),
    ("sub", binary),
    ("mul", binary),
    ("real_div", binary),
    ("floor_div", binary),
    ("pow", binary),
    ("maximum", binary),
    ("minimum", binary),
    ("mod", binary),
    ("equal", comparison),
    ("not_equal", comparison),
    ("greater", comparison),
    ("greater_equal", comparison),
    ("less", comparison),
    ("less_equal", comparison),
    ("logical_and", logical_binary),
    ("logical_or", logical_binary),
    ("logical_xor", logical_binary),
    ("logical_not", logical_unary),
    ("abs", unary),
    ("neg", unary),
    ("sqrt", unary),
    ("rsqrt", unary),
    ("inverse", unary),
    ("exp", unary),
    ("exp2", unary),
    ("log", unary),
    ("square", unary),
    ("floor", unary),
    ("ceil", unary),
    ("round", unary),
    ("sign", unary),
    ("sin", unary),
    ("cos", unary),
    ("tan", unary),
    ("asin", unary),
    ("acos", unary),
    ("atan", unary),
    ("sinh", unary),
    ("cosh", unary),
    ("atanh", unary),
    ("erf", unary),
    ("clip", unary),
    ("threshold", unary),
    ("cast", cast),
    ("select", select),
];

/// Refuse a broadcast result above the executor's element limit before the kernel allocates
/// it: operands within the limit can still broadcast to its square (`[n, 1]` with `[1, n]`)
/// when their dims are only known at run time. Shapes that do not broadcast are left to the
/// kernel's own error.
fn check_broadcast(ctx: &OpCtx<'_>, shapes: &[&[usize]]) -> Result<(), ExecError> {
    let mut shape: Vec<usize> = Vec::new();
    for s in shapes {
        match broadcast_shapes("broadcast", &shape, s) {
            Ok(b) => shape = b,
            Err(_) => return Ok(()),
        }
    }
    ctx.check_result_size(element_count(shape.iter().map(|&d| d as u128)))
}

fn binary_op(kind: &str) -> Option<BinaryOp> {
    Some(match kind {
        "add" => BinaryOp::Add,
        "sub" => BinaryOp::Sub,
        "mul" => BinaryOp::Mul,
        "real_div" => BinaryOp::RealDiv,
        "floor_div" => BinaryOp::FloorDiv,
        "pow" => BinaryOp::Pow,
        "maximum" => BinaryOp::Maximum,
        "minimum" => BinaryOp::Minimum,
        "mod" => BinaryOp::Mod,
        _ => return None,
    })
}

fn i64_tensor(v: &Val) -> Tensor<i64> {
    match v {
        Val::I64(t) => t.clone(),
        other => Tensor::from_parts(other.shape().to_vec(), other.to_i64_vec()),
    }
}

/// Integer arithmetic (shape computations: `mul(gather(shape(x)), 2)`), in i64. Division by
/// zero gives 0 and overflow wraps: such values are never used as sizes without a later check.
fn int_binary(ctx: &OpCtx<'_>, op: BinaryOp, x: &Val, y: &Val) -> Result<Val, ExecError> {
    let (a, b) = (i64_tensor(x), i64_tensor(y));
    let name = op.mil_name();
    let f = move |a: i64, b: i64| -> i64 {
        match op {
            BinaryOp::Add => a.wrapping_add(b),
            BinaryOp::Sub => a.wrapping_sub(b),
            BinaryOp::Mul => a.wrapping_mul(b),
            // MIL real_div on ints is true division; the declared dtype is then a float and
            // the float path is taken, so here it only truncates like floor_div for ints.
            BinaryOp::RealDiv | BinaryOp::FloorDiv => {
                if b == 0 {
                    0
                } else {
                    a.div_euclid(b) - i64::from(b < 0 && a.rem_euclid(b) != 0)
                }
            }
            BinaryOp::Pow => u32::try_from(b).map_or(0, |e| a.wrapping_pow(e)),
            BinaryOp::Maximum => a.max(b),
            BinaryOp::Minimum => a.min(b),
            BinaryOp::Mod => {
                if b == 0 {
                    0
                } else {
                    let r = a % b;
                    if r != 0 && ((r < 0) != (b < 0)) {
                        r + b
                    } else {
                        r
                    }
                }
            }
        }
    };
    let t = broadcast_binary(name, a.view(), b.view(), f).map_err(|e| ctx.kernel(e))?;
    Ok(Val::I64(t))
}

fn binary(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let op = binary_op(&ctx.op.kind).ok_or_else(|| ctx.err("not a binary op"))?;
    let (x, y) = (ctx.input("x")?, ctx.input("y")?);
    check_broadcast(ctx, &[x.shape(), y.shape()])?;
    let float_result = ctx.result_dtype(0).is_none_or(|d| d.is_float());
    match (x, y) {
        (Val::F32(a), Val::F32(b)) => one(Val::F32(
            fbinary(op, a.view(), b.view()).map_err(|e| ctx.kernel(e))?,
        )),
        (a, b) if !float_result && !matches!(a, Val::F32(_)) && !matches!(b, Val::F32(_)) => {
            one(int_binary(ctx, op, a, b)?)
        }
        (a, b) => {
            let (a, b) = (a.to_f32_tensor(), b.to_f32_tensor());
            one(Val::F32(
                fbinary(op, a.view(), b.view()).map_err(|e| ctx.kernel(e))?,
            ))
        }
    }
}

fn comparison(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let kind = ctx.op.kind.as_str();
    let op = match kind {
        "equal" => CompareOp::Equal,
        "not_equal" => CompareOp::NotEqual,
        "greater" => CompareOp::Greater,
        "greater_equal" => CompareOp::GreaterEqual,
        "less" => CompareOp::Less,
        "less_equal" => CompareOp::LessEqual,
        _ => return Err(ctx.err("not a comparison")),
    };
    let (x, y) = (ctx.input("x")?, ctx.input("y")?);
    check_broadcast(ctx, &[x.shape(), y.shape()])?;
    let k = |e| ctx.kernel(e);
    let t = match (x, y) {
        (Val::F32(a), Val::F32(b)) => compare(op, a.view(), b.view()).map_err(k)?,
        (a, b) if matches!(a, Val::F32(_)) || matches!(b, Val::F32(_)) => {
            let (a, b) = (a.to_f32_tensor(), b.to_f32_tensor());
            compare(op, a.view(), b.view()).map_err(k)?
        }
        (a, b) => {
            let (a, b) = (i64_tensor(a), i64_tensor(b));
            let name: &'static str = match op {
                CompareOp::Equal => "equal",
                CompareOp::NotEqual => "not_equal",
                CompareOp::Greater => "greater",
                CompareOp::GreaterEqual => "greater_equal",
                CompareOp::Less => "less",
                CompareOp::LessEqual => "less_equal",
            };
            broadcast_binary(name, a.view(), b.view(), move |a, b| match op {
                CompareOp::Equal => a == b,
                CompareOp::NotEqual => a != b,
                CompareOp::Greater => a > b,
                CompareOp::GreaterEqual => a >= b,
                CompareOp::Less => a < b,
                CompareOp::LessEqual => a <= b,
            })
            .map_err(k)?
        }
    };
    one(Val::Bool(t))
}

fn bool_tensor(v: &Val) -> Tensor<bool> {
    match v {
        Val::Bool(t) => t.clone(),
        other => Tensor::from_parts(other.shape().to_vec(), other.to_bool_vec()),
    }
}

fn logical_binary(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let op = match ctx.op.kind.as_str() {
        "logical_and" => LogicalOp::And,
        "logical_or" => LogicalOp::Or,
        _ => LogicalOp::Xor,
    };
    check_broadcast(ctx, &[ctx.input("x")?.shape(), ctx.input("y")?.shape()])?;
    let (x, y) = (bool_tensor(ctx.input("x")?), bool_tensor(ctx.input("y")?));
    one(Val::Bool(
        logical(op, x.view(), y.view()).map_err(|e| ctx.kernel(e))?,
    ))
}

fn logical_unary(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let x = bool_tensor(ctx.input("x")?);
    one(Val::Bool(logical_not(x.view())))
}

fn unary(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let kind = ctx.op.kind.as_str();
    let x = ctx.input("x")?;
    // Integer inputs of the ops MIL allows on ints stay integers.
    if let Val::I32(_) | Val::I64(_) = x
        && matches!(
            kind,
            "abs" | "neg" | "square" | "floor" | "ceil" | "round" | "sign" | "clip" | "threshold"
        )
    {
        let (lo, hi) = match kind {
            "clip" => (
                ctx.float("alpha")?.map(|v| v as i64),
                ctx.float("beta")?.map(|v| v as i64),
            ),
            "threshold" => (ctx.float("alpha")?.map(|v| v as i64), None),
            _ => (None, None),
        };
        let t = i64_tensor(x);
        let f = |v: i64| -> i64 {
            match kind {
                "abs" => v.wrapping_abs(),
                "neg" => v.wrapping_neg(),
                "square" => v.wrapping_mul(v),
                "sign" => v.signum(),
                "clip" | "threshold" => {
                    let v = lo.map_or(v, |l| v.max(l));
                    hi.map_or(v, |h| v.min(h))
                }
                _ => v,
            }
        };
        let data = t.data().iter().map(|&v| f(v)).collect();
        return one(Val::I64(Tensor::from_parts(t.shape().to_vec(), data)));
    }
    let xf;
    let view: TensorView<'_> = match x {
        Val::F32(t) => t.view(),
        other => {
            xf = other.to_f32_tensor();
            xf.view()
        }
    };
    let op = match kind {
        "abs" => UnaryOp::Abs,
        "neg" => UnaryOp::Neg,
        "sqrt" => UnaryOp::Sqrt,
        "rsqrt" => UnaryOp::Rsqrt {
            epsilon: ctx.float_or("epsilon", 1e-12)?,
        },
        "inverse" => UnaryOp::Inverse {
            epsilon: ctx.float_or("epsilon", 1e-4)?,
        },
        "exp" => UnaryOp::Exp,
        "exp2" => UnaryOp::Exp2,
        "log" => UnaryOp::Log {
            epsilon: ctx.float_or("epsilon", 1e-45)?,
        },
        "square" => UnaryOp::Square,
        "floor" => UnaryOp::Floor,
        "ceil" => UnaryOp::Ceil,
        "round" => UnaryOp::Round,
        "sign" => UnaryOp::Sign,
        "sin" => UnaryOp::Sin,
        "cos" => UnaryOp::Cos,
        "tan" => UnaryOp::Tan,
        "asin" => UnaryOp::Asin,
        "acos" => UnaryOp::Acos,
        "atan" => UnaryOp::Atan,
        "sinh" => UnaryOp::Sinh,
        "cosh" => UnaryOp::Cosh,
        "atanh" => UnaryOp::Atanh,
        "erf" => UnaryOp::Erf,
        "clip" => UnaryOp::Clip {
            alpha: need_float(ctx, "alpha")?,
            beta: need_float(ctx, "beta")?,
        },
        "threshold" => UnaryOp::Threshold {
            alpha: need_float(ctx, "alpha")?,
        },
        _ => return Err(ctx.err("not a unary op")),
    };
    one(Val::F32(funary(op, view)))
}

pub(super) fn need_float(ctx: &OpCtx<'_>, name: &str) -> Result<f32, ExecError> {
    ctx.float(name)?
        .ok_or_else(|| ctx.err(format!("missing parameter `{name}`")))
}

/// MIL `cast`: to the storage class of `dtype` (float → int truncates toward zero, as
/// coremltools' `astype` does); the rounding to fp16 is the executor's usual output rounding.
fn cast(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let x = ctx.input("x")?;
    let name = ctx
        .string("dtype")?
        .ok_or_else(|| ctx.err("missing parameter `dtype`"))?;
    let dtype =
        DType::from_mil_name(name).ok_or_else(|| ctx.err(format!("unknown dtype `{name}`")))?;
    let storage = Storage::of(dtype).ok_or_else(|| ctx.err(format!("cannot cast to `{name}`")))?;
    let v = match (x, storage) {
        // Float → int: truncate toward zero (NaN → 0, saturating), as numpy's astype mostly does.
        (Val::F32(t), Storage::I32) => Val::I32(Tensor::from_parts(
            t.shape().to_vec(),
            t.data().iter().map(|&v| v as i32).collect(),
        )),
        (v, s) => v.clone().convert(s),
    };
    one(v)
}

/// `cond ? a : b` with the three broadcast together, for any element type.
fn select(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let (a, b) = (ctx.input("a")?, ctx.input("b")?);
    check_broadcast(ctx, &[ctx.input("cond")?.shape(), a.shape(), b.shape()])?;
    let cond = bool_tensor(ctx.input("cond")?);
    let k = |e| ctx.kernel(e);
    if let (Val::F32(a), Val::F32(b)) = (a, b) {
        return one(Val::F32(
            crate::elementwise::select(cond.view(), a.view(), b.view()).map_err(k)?,
        ));
    }
    fn sel<T: Copy + Default + Send + Sync + 'static>(
        cond: &Tensor<bool>,
        a: &Tensor<T>,
        b: &Tensor<T>,
    ) -> crate::Result<Tensor<T>> {
        let shape = broadcast_shapes("select", cond.shape(), a.shape())?;
        let shape = broadcast_shapes("select", &shape, b.shape())?;
        let c = broadcast_to(cond.view(), &shape)?;
        let a = broadcast_to(a.view(), &shape)?;
        let b = broadcast_to(b.view(), &shape)?;
        let data = c
            .data()
            .iter()
            .zip(a.data().iter().zip(b.data()))
            .map(|(&c, (&x, &y))| if c { x } else { y })
            .collect();
        Ok(Tensor::from_parts(shape, data))
    }
    let v = match (a, b) {
        (Val::I32(a), Val::I32(b)) => Val::I32(sel(&cond, a, b).map_err(k)?),
        (Val::Bool(a), Val::Bool(b)) => Val::Bool(sel(&cond, a, b).map_err(k)?),
        (a, b) if !matches!(a, Val::F32(_)) && !matches!(b, Val::F32(_)) => {
            Val::I64(sel(&cond, &i64_tensor(a), &i64_tensor(b)).map_err(k)?)
        }
        (a, b) => Val::F32(sel(&cond, &a.to_f32_tensor(), &b.to_f32_tensor()).map_err(k)?),
    };
    one(v)
}
