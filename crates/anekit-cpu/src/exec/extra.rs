//! Ops wired by the kernel modules written alongside the executor (`index_ops`, `misc_ops`,
//! `resize`, `quant`). This file belongs to whoever wires those kernels; the executor only
//! calls the two functions below.
//!
//! Contract:
//! - [`SUPPORTED`] lists every op kind (registry name, e.g. `"gather_nd"`) that [`dispatch`]
//!   handles. `Executor::new` checks every op of the program against the executor's own table
//!   and this list, so an op in neither fails early with `ExecError::UnsupportedOp`.
//! - [`dispatch`] is called for every op kind that is *not* in the executor's own table
//!   (`exec::ops::supported_ops()`): return `None` when the kind is not handled here, else
//!   `Some(Ok(results))` with one [`Val`] per declared result, in order, or
//!   `Some(Err(ctx.err("why")))` / `Some(Err(ctx.kernel(kernel_error)))`.
//! - Read inputs with `ctx.input("x")` / `ctx.f32("x")` / `ctx.opt_f32(..)` / `ctx.tuple(..)`
//!   (tensors: runtime values, constants, constexpr results alike) and parameters with
//!   `ctx.int(..)`, `ctx.int_or(..)`, `ctx.ints(..)`, `ctx.usizes(..)`, `ctx.bool_or(..)`,
//!   `ctx.bools(..)`, `ctx.float_or(..)`, `ctx.floats(..)`, `ctx.string(..)`; `ctx.op.opset`
//!   tells the opset; `ctx.result_dtype(i)` the declared dtype of result `i`.
//! - Return raw f32 results: the executor rounds every float result to its declared dtype
//!   (`Numerics::round_output`) and converts the storage class (f32/i32/i64/bool) to the
//!   declared dtype afterwards, then checks the shape against the declared one.

use super::ExecError;
use super::ctx::OpCtx;
use super::value::Val;

/// Op kinds [`dispatch`] handles.
pub(crate) const SUPPORTED: &[&str] = &[];

/// Evaluate `ctx.op` if its kind is handled here; `None` otherwise.
pub(crate) fn dispatch(ctx: &OpCtx<'_>) -> Option<Result<Vec<Val>, ExecError>> {
    let _ = ctx;
    None
}
