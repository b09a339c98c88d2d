//! Activation functions and `softmax`.

use super::elementwise::need_float;
use super::{OpFn, one};
use crate::activation::{
    Activation, GeluMode, activation as kact, prelu as kprelu, softmax as ksoftmax,
};
use crate::exec::ExecError;
use crate::exec::ctx::OpCtx;
use crate::exec::value::Val;

pub(crate) const OPS: &[(&str, OpFn)] = &[
    ("relu", act),
    ("relu6", act),
    ("leaky_relu", act),
    ("elu", act),
    ("sigmoid", act),
    ("sigmoid_hard", act),
    ("tanh", act),
    ("gelu", act),
    ("silu", act),
    ("softplus", act),
    ("softsign", act),
    ("clamped_relu", act),
    ("linear_activation", act),
    ("scaled_tanh", act),
    ("softplus_parametric", act),
    ("thresholded_relu", act),
    ("prelu", prelu),
    ("softmax", softmax),
];

fn act(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let x = ctx.f32("x")?;
    let a = match ctx.op.kind.as_str() {
        "relu" => Activation::Relu,
        "relu6" => Activation::Relu6,
        "leaky_relu" => Activation::LeakyRelu {
            alpha: ctx.float_or("alpha", 0.01)?,
        },
        "elu" => Activation::Elu {
            alpha: ctx.float_or("alpha", 1.0)?,
        },
        "sigmoid" => Activation::Sigmoid,
        "sigmoid_hard" => Activation::SigmoidHard {
            alpha: ctx.float_or("alpha", 0.2)?,
            beta: ctx.float_or("beta", 0.5)?,
        },
        "tanh" => Activation::Tanh,
        "gelu" => {
            let mode = ctx.string("mode")?.unwrap_or("EXACT");
            Activation::Gelu(
                GeluMode::from_mil(mode)
                    .ok_or_else(|| ctx.err(format!("unknown gelu mode `{mode}`")))?,
            )
        }
        "silu" => Activation::Silu,
        "softplus" => Activation::Softplus,
        "softsign" => Activation::Softsign,
        "clamped_relu" => Activation::ClampedRelu {
            alpha: need_float(ctx, "alpha")?,
            beta: need_float(ctx, "beta")?,
        },
        "linear_activation" => Activation::LinearActivation {
            alpha: need_float(ctx, "alpha")?,
            beta: ctx.float_or("beta", 0.0)?,
        },
        "scaled_tanh" => Activation::ScaledTanh {
            alpha: ctx.float_or("alpha", 1.0)?,
            beta: ctx.float_or("beta", 1.0)?,
        },
        "softplus_parametric" => {
            // The kernel covers one alpha/beta for all channels; per-channel vectors must
            // be uniform to be accepted (else a clear error, not a wrong answer).
            let uniform = |name: &str| -> Result<f32, ExecError> {
                let v = ctx
                    .floats(name)?
                    .ok_or_else(|| ctx.err(format!("missing parameter `{name}`")))?;
                match v.first() {
                    Some(&f) if v.iter().all(|&g| g == f) => Ok(f),
                    _ => Err(ctx.err(format!(
                        "per-channel `{name}` with different values is not supported"
                    ))),
                }
            };
            Activation::SoftplusParametric {
                alpha: uniform("alpha")?,
                beta: uniform("beta")?,
            }
        }
        "thresholded_relu" => Activation::ThresholdedRelu {
            alpha: ctx.float_or("alpha", 1.0)?,
        },
        _ => return Err(ctx.err("not an activation")),
    };
    one(Val::F32(kact(a, x)))
}

fn prelu(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let (x, alpha) = (ctx.f32("x")?, ctx.f32("alpha")?);
    one(Val::F32(kprelu(x, alpha).map_err(|e| ctx.kernel(e))?))
}

fn softmax(ctx: &OpCtx<'_>) -> Result<Vec<Val>, ExecError> {
    let x = ctx.f32("x")?;
    let axis = ctx.int_or("axis", -1)?;
    one(Val::F32(ksoftmax(x, axis).map_err(|e| ctx.kernel(e))?))
}
