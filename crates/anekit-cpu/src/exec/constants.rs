//! Constant resolution at prepare time: inline literals, BLOBFILE weights (or seeded random
//! values), and the `constexpr_*` decompressors (reference/mil-text.md §6.3–6.4; semantics as
//! coremltools' `decompress` implementations define them; the block/palette/mask kernels are
//! `crate::quant`'s).

use super::ExecError;
use super::ctx::OpCtx;
use super::value::{Storage, Val};
use crate::{Numerics, Tensor, quant};
use anekit_core::DType;
use anekit_ir::ir::{ConstData, ConstId, Constant, Program};
use anekit_ir::ops::Opset;
use anekit_ir::types::Type;
use anekit_ir::weights::Weights;

/// splitmix64: a tiny, well-known seeded generator (a dependency would buy nothing here; the
/// values only need to be deterministic and spread out).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// The value the `i`-th call of `next` returns (0-based), without the calls before it:
    /// the state only advances by a constant, so any element of the stream can be computed
    /// alone, and a large constant can be generated in parallel with the same values.
    fn nth(&self, i: u64) -> u64 {
        SplitMix(self.0.wrapping_add(i.wrapping_mul(0x9E37_79B9_7F4A_7C15))).next()
    }
}

/// Uniform in [0, 1) from 53 bits of `bits`.
fn unit(bits: u64) -> f64 {
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// Elements per parallel task when generating random floats.
const RANDOM_CHUNK: usize = 1 << 14;

/// Seeded random contents for a constant of `dtype` and `shape`: floats uniform in
/// `±1/√fan_in` (fan_in = product of all dims but the first, so a weight matrix keeps
/// activations near unit scale), integers of ≤ 8 bits over their whole range (quantized data,
/// palette indices), wider integers in {0, 1} (always-valid indices), bools fair coins.
pub(crate) fn random_val(seed: u64, key: u64, dtype: DType, shape: &[usize]) -> Option<Val> {
    let mut rng = SplitMix(seed ^ key.wrapping_mul(0xD6E8_FEB8_6659_FD93));
    let n: usize = shape.iter().product();
    let shape = shape.to_vec();
    Some(match Storage::of(dtype)? {
        Storage::F32 => {
            let fan_in: usize = shape.iter().skip(1).product::<usize>().max(1);
            let a = (1.0 / (fan_in as f64).sqrt()).min(0.5);
            // Element i is the stream's i-th value, generated in parallel chunks (a serial
            // loop was most of `ane run --random-weights`' 0.6 s preparation of a 1174-op
            // encoder).
            let rng = &rng;
            let data = crate::par::build(n, RANDOM_CHUNK, 8, |ci, sink| {
                let start = ci * RANDOM_CHUNK;
                let end = (start + RANDOM_CHUNK).min(n);
                sink.extend(
                    (start..end).map(|i| ((unit(rng.nth(i as u64)) * 2.0 - 1.0) * a) as f32),
                );
            });
            Val::F32(Tensor::from_parts(shape, data))
        }
        Storage::Bool => Val::Bool(Tensor::from_parts(
            shape,
            (0..n).map(|_| rng.next() & 1 == 1).collect(),
        )),
        s => {
            let (lo, hi): (i64, i64) = match dtype {
                DType::Int4 => (-8, 7),
                DType::Int8 => (-128, 127),
                DType::Uint1 => (0, 1),
                DType::Uint2 => (0, 3),
                DType::Uint3 => (0, 7),
                DType::Uint4 => (0, 15),
                DType::Uint6 => (0, 63),
                DType::Uint8 => (0, 255),
                _ => (0, 1),
            };
            let span = (hi - lo + 1) as u64;
            let vals: Vec<i64> = (0..n).map(|_| lo + (rng.next() % span) as i64).collect();
            if s == Storage::I64 {
                Val::I64(Tensor::from_parts(shape, vals))
            } else {
                Val::I32(Tensor::from_parts(
                    shape,
                    vals.into_iter().map(|v| v as i32).collect(),
                ))
            }
        }
    })
}

/// A constant's tensor value, or None for constants that are not tensors of a numeric or bool
/// dtype (strings, dicts: parameters read directly from the IR).
pub(crate) fn resolve(
    program: &Program,
    id: ConstId,
    weights: Option<&Weights>,
    random: Option<u64>,
    numerics: Numerics,
    what: &str,
) -> Result<Option<Val>, ExecError> {
    let Some(c) = program.constant(id) else {
        return Ok(None);
    };
    let err = |reason: String| ExecError::Constant {
        value: what.to_owned(),
        reason,
    };
    let Type::Tensor(tt) = &c.ty else {
        return Ok(None);
    };
    let Some(storage) = Storage::of(tt.dtype) else {
        return Ok(None);
    };
    let Some(shape) = tt.known_shape() else {
        return Err(err(format!("type {} has unknown dims", c.ty)));
    };
    let shape: Vec<usize> = shape
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<Result<_, _>>()
        .map_err(|_| err("dims too large".into()))?;
    let n = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| err("too many elements".into()))?;
    let mut val = match &c.data {
        ConstData::Blob(_) => match (random, weights) {
            (Some(seed), _) => random_val(seed, u64::from(id.0), tt.dtype, &shape)
                .ok_or_else(|| err(format!("no random values for dtype {}", tt.dtype)))?,
            (None, Some(w)) => {
                let data = w.tensor(c)?;
                Val::from_tensor_data(shape, &data, tt.dtype).map_err(err)?
            }
            (None, None) => {
                return Err(err(
                    "is stored in a weight file, but no weights were given (pass the model \
                     folder, or use random weights)"
                        .into(),
                ));
            }
        },
        data => literal(c, data, storage, shape, n).map_err(err)?,
    };
    if let Val::F32(t) = &mut val {
        numerics.round_output(t.data_mut(), tt.dtype);
    }
    Ok(Some(val))
}

fn literal(
    c: &Constant,
    data: &ConstData,
    storage: Storage,
    shape: Vec<usize>,
    n: usize,
) -> Result<Val, String> {
    let len = data.len().unwrap_or(0);
    if len != n {
        return Err(format!(
            "{} holds {len} value(s), its type {} needs {n}",
            "the literal", c.ty
        ));
    }
    let v = match (storage, data) {
        (Storage::F32, ConstData::Floats(f)) => Val::F32(Tensor::from_parts(
            shape,
            f.iter().map(|&v| v as f32).collect(),
        )),
        (Storage::F32, ConstData::Ints(i)) => Val::F32(Tensor::from_parts(
            shape,
            i.iter().map(|&v| v as f32).collect(),
        )),
        (Storage::Bool, ConstData::Bools(b)) => Val::Bool(Tensor::from_parts(shape, b.clone())),
        (Storage::I32, ConstData::Ints(i)) => Val::I32(Tensor::from_parts(
            shape,
            i.iter()
                .map(|&v| i32::try_from(v).map_err(|_| format!("{v} does not fit in int32")))
                .collect::<Result<_, _>>()?,
        )),
        (Storage::I64, ConstData::Ints(i)) => Val::I64(Tensor::from_parts(
            shape,
            i.iter().map(|&v| v as i64).collect(),
        )),
        (s, ConstData::Bools(b)) => Val::Bool(Tensor::from_parts(shape, b.clone())).convert(s),
        (s, ConstData::Floats(f)) => Val::F32(Tensor::from_parts(
            shape,
            f.iter().map(|&v| v as f32).collect(),
        ))
        .convert(s),
        _ => return Err(format!("cannot read {:?} as {}", storage, c.ty)),
    };
    Ok(v)
}

/// Evaluate a `constexpr_*` op (all its inputs are prepared constants).
pub(crate) fn constexpr(ctx: &OpCtx<'_>) -> Result<Val, ExecError> {
    match ctx.op.kind.as_str() {
        "constexpr_affine_dequantize" => affine_dequantize(ctx),
        "constexpr_blockwise_shift_scale" => blockwise_shift_scale(ctx),
        "constexpr_cast" => {
            let v = ctx.input("source_val")?.clone();
            let to = ctx
                .result_dtype(0)
                .and_then(Storage::of)
                .unwrap_or(Storage::F32);
            Ok(v.convert(to))
        }
        "constexpr_lut_to_dense" => lut_to_dense(ctx),
        "constexpr_sparse_to_dense" => sparse_to_dense(ctx),
        k => Err(ExecError::UnsupportedOp {
            op: k.to_owned(),
            value: ctx.value_name(),
            line: 0,
        }),
    }
}

/// `(quantized_data - zero_point) · scale`, with scalar or per-`axis` zero point and scale.
fn affine_dequantize(ctx: &OpCtx<'_>) -> Result<Val, ExecError> {
    let q = ctx.input("quantized_data")?.to_f32_tensor();
    let zp = ctx.input("zero_point")?.to_f32_tensor();
    let scale = ctx.input("scale")?.to_f32_tensor();
    let shape = q.shape().to_vec();
    let r = shape.len() as i64;
    let axis = ctx.int_or("axis", 0)?;
    let ax = usize::try_from(if axis < 0 { axis + r } else { axis })
        .ok()
        .filter(|&a| a < shape.len() || shape.is_empty())
        .ok_or_else(|| ctx.err(format!("axis {axis} out of range for {shape:?}")))?;
    let dim = shape.get(ax).copied().unwrap_or(1);
    let inner: usize = shape.get(ax + 1..).map_or(1, |s| s.iter().product());
    let pick = |t: &Tensor, what: &str| -> Result<Vec<f32>, ExecError> {
        match t.len() {
            1 => Ok(vec![t.data()[0]; dim]),
            l if l == dim => Ok(t.data().to_vec()),
            l => Err(ctx.err(format!(
                "`{what}` has {l} values; needs 1 or {dim} (axis {axis} of {shape:?})"
            ))),
        }
    };
    let (zp, scale) = (pick(&zp, "zero_point")?, pick(&scale, "scale")?);
    let data = q
        .data()
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let c = (i / inner.max(1)) % dim.max(1);
            (v - zp[c]) * scale[c]
        })
        .collect();
    Ok(Val::F32(Tensor::from_parts(shape, data)))
}

/// `scale · (data - offset)` with scale/offset repeated over blocks (iOS18).
fn blockwise_shift_scale(ctx: &OpCtx<'_>) -> Result<Val, ExecError> {
    let data = ctx.input("data")?.to_f32_tensor();
    let scale = ctx.input("scale")?.to_f32_tensor();
    let offset = ctx.opt_input("offset")?.map(|v| v.to_f32_tensor());
    let t =
        quant::blockwise_shift_scale(data.view(), scale.view(), offset.as_ref().map(|o| o.view()))
            .map_err(|e| ctx.kernel(e))?;
    Ok(Val::F32(t))
}

/// A bit-packed uint8 operand (iOS16 indices and masks) as bytes.
fn bytes(ctx: &OpCtx<'_>, name: &str) -> Result<Vec<u8>, ExecError> {
    ctx.input(name)?
        .to_i64_vec()
        .into_iter()
        .map(|b| u8::try_from(b).map_err(|_| ctx.err(format!("`{name}` must be uint8 bytes"))))
        .collect()
}

fn out_shape(ctx: &OpCtx<'_>) -> Result<Vec<usize>, ExecError> {
    ctx.usizes("shape")?
        .ok_or_else(|| ctx.err("missing parameter `shape`"))
}

/// The iOS16 signature (bit-packed operands and an explicit `shape`) or the iOS18 one.
fn ios16_form(ctx: &OpCtx<'_>) -> bool {
    ctx.op.opset < Opset::Ios18 || ctx.has_input("shape")
}

fn lut_to_dense(ctx: &OpCtx<'_>) -> Result<Val, ExecError> {
    let storage = ctx
        .result_dtype(0)
        .and_then(Storage::of)
        .unwrap_or(Storage::F32);
    let lut = ctx.input("lut")?.to_f32_tensor();
    let k = |e| ctx.kernel(e);
    let t = if ios16_form(ctx) {
        quant::lut_to_dense_ios16(&bytes(ctx, "indices")?, lut.view(), &out_shape(ctx)?)
            .map_err(k)?
    } else {
        let indices = ctx.input("indices")?.to_f32_tensor();
        quant::lut_to_dense(indices.view(), lut.view(), ctx.int("vector_axis")?).map_err(k)?
    };
    Ok(Val::F32(t).convert(storage))
}

fn sparse_to_dense(ctx: &OpCtx<'_>) -> Result<Val, ExecError> {
    let nz = ctx.input("nonzero_data")?;
    let storage = ctx
        .result_dtype(0)
        .and_then(Storage::of)
        .unwrap_or(nz.storage());
    let nzf = nz.to_f32_tensor();
    let k = |e| ctx.kernel(e);
    let t = if ios16_form(ctx) {
        quant::sparse_to_dense_ios16(nzf.view(), &bytes(ctx, "mask")?, &out_shape(ctx)?)
            .map_err(k)?
    } else {
        let mask = ctx.input("mask")?.to_f32_tensor();
        quant::sparse_to_dense(nzf.view(), mask.view()).map_err(k)?
    };
    Ok(Val::F32(t).convert(storage))
}

#[cfg(test)]
mod random_tests {
    use super::*;

    /// The parallel, indexed generation gives exactly the serial stream's values (so seeds
    /// keep producing the weights they always produced).
    #[test]
    fn random_floats_are_the_serial_stream() {
        let shape = [3, 5, 7919]; // 118 785 elements: several chunks and a partial one
        let Some(Val::F32(t)) = random_val(42, 9, DType::Fp32, &shape) else {
            panic!("floats");
        };
        let mut rng = SplitMix(42 ^ 9u64.wrapping_mul(0xD6E8_FEB8_6659_FD93));
        let a = (1.0 / (5.0f64 * 7919.0).sqrt()).min(0.5);
        let serial: Vec<f32> = (0..t.data().len())
            .map(|_| ((unit(rng.next()) * 2.0 - 1.0) * a) as f32)
            .collect();
        assert_eq!(t.shape(), &shape[..]);
        assert!(
            t.data()
                .iter()
                .zip(&serial)
                .all(|(x, y)| x.to_bits() == y.to_bits())
        );
        let mut s = SplitMix(7);
        let first: Vec<u64> = (0..5).map(|_| s.next()).collect();
        assert_eq!(
            first,
            (0..5).map(|i| SplitMix(7).nth(i)).collect::<Vec<_>>()
        );
    }
}
