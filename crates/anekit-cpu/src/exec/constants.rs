//! Constant resolution at prepare time: inline literals, BLOBFILE weights (or seeded random
//! values), and the `constexpr_*` decompressors (reference/mil-text.md §6.3–6.4; semantics as
//! coremltools' `decompress` implementations define them).

use super::ExecError;
use super::ctx::OpCtx;
use super::value::{Storage, Val};
use crate::{Numerics, Tensor};
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

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

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
            Val::F32(Tensor::from_parts(
                shape,
                (0..n)
                    .map(|_| ((rng.unit() * 2.0 - 1.0) * a) as f32)
                    .collect(),
            ))
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

/// Index of the block (in a tensor of `block_shape`) that element `flat` of a tensor of
/// `shape` belongs to, with `block[i] = shape[i] / block_shape[i]`.
fn block_index(flat: usize, shape: &[usize], block_shape: &[usize]) -> usize {
    let mut rem = flat;
    let mut coords = vec![0usize; shape.len()];
    for d in (0..shape.len()).rev() {
        coords[d] = rem % shape[d];
        rem /= shape[d];
    }
    let mut idx = 0;
    for d in 0..shape.len() {
        let bs = shape[d] / block_shape[d].max(1);
        idx = idx * block_shape[d] + coords[d] / bs.max(1);
    }
    idx
}

fn check_blocks(
    ctx: &OpCtx<'_>,
    shape: &[usize],
    blocks: &[usize],
    what: &str,
) -> Result<(), ExecError> {
    let ok =
        shape.len() == blocks.len() && shape.iter().zip(blocks).all(|(&d, &b)| b > 0 && d % b == 0);
    if ok {
        Ok(())
    } else {
        Err(ctx.err(format!(
            "`{what}` shape {blocks:?} must have the rank of {shape:?} and divide each dim"
        )))
    }
}

/// `scale · (data - offset)` with scale/offset repeated over blocks (iOS18).
fn blockwise_shift_scale(ctx: &OpCtx<'_>) -> Result<Val, ExecError> {
    let data = ctx.input("data")?.to_f32_tensor();
    let scale = ctx.input("scale")?.to_f32_tensor();
    let offset = ctx.opt_input("offset")?.map(|v| v.to_f32_tensor());
    let shape = data.shape().to_vec();
    check_blocks(ctx, &shape, scale.shape(), "scale")?;
    if let Some(o) = &offset
        && o.shape() != scale.shape()
    {
        return Err(ctx.err("`offset` must have the shape of `scale`"));
    }
    let out = data
        .data()
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let b = block_index(i, &shape, scale.shape());
            let o = offset.as_ref().map_or(0.0, |o| o.data()[b]);
            scale.data()[b] * (v - o)
        })
        .collect();
    Ok(Val::F32(Tensor::from_parts(shape, out)))
}

/// Bit `j` of a little-endian packed bit array (numpy `unpackbits(bitorder="little")`).
fn bit(bytes: &[i64], j: usize) -> Option<u8> {
    bytes.get(j / 8).map(|&b| ((b >> (j % 8)) & 1) as u8)
}

fn out_shape(ctx: &OpCtx<'_>) -> Result<Vec<usize>, ExecError> {
    ctx.usizes("shape")?
        .ok_or_else(|| ctx.err("missing parameter `shape`"))
}

fn lut_to_dense(ctx: &OpCtx<'_>) -> Result<Val, ExecError> {
    let lut = ctx.input("lut")?;
    let storage = ctx
        .result_dtype(0)
        .and_then(Storage::of)
        .unwrap_or(Storage::F32);
    let lutf = lut.to_f32_tensor();
    let indices = ctx.input("indices")?;
    if ctx.op.opset < Opset::Ios18 || ctx.has_input("shape") {
        // iOS16: one palette of 2^nbits entries, indices bit-packed into uint8 bytes.
        let shape = out_shape(ctx)?;
        let n: usize = shape.iter().product();
        let palettes = lutf.len();
        if !palettes.is_power_of_two() || palettes > 256 {
            return Err(ctx.err(format!("lut has {palettes} entries; needs 2^nbits ≤ 256")));
        }
        let nbits = palettes.trailing_zeros() as usize;
        let bytes = indices.to_i64_vec();
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let mut k = 0usize;
            for b in 0..nbits {
                let bv = bit(&bytes, i * nbits + b)
                    .ok_or_else(|| ctx.err("`indices` has too few bytes for `shape`"))?;
                k |= usize::from(bv) << b;
            }
            out.push(lutf.data()[k]);
        }
        return Ok(Val::F32(Tensor::from_parts(shape, out)).convert(storage));
    }
    // iOS18: lut [blocks..., NUM_PALETTES, VECTOR_SIZE], indices unpacked.
    let ishape = indices.shape().to_vec();
    let r = ishape.len();
    let ls = lutf.shape().to_vec();
    if ls.len() != r + 2 {
        return Err(ctx.err(format!(
            "lut shape {ls:?} must have rank {} (indices {ishape:?})",
            r + 2
        )));
    }
    let (np, vs) = (ls[r], ls[r + 1]);
    check_blocks(ctx, &ishape, &ls[..r], "lut")?;
    let idx = indices.to_i64_vec();
    let va = match ctx.int("vector_axis")? {
        None if vs > 1 => return Err(ctx.err("`vector_axis` is needed when VECTOR_SIZE > 1")),
        None => 0,
        Some(a) => usize::try_from(if a < 0 { a + r as i64 } else { a })
            .ok()
            .filter(|&a| a < r)
            .ok_or_else(|| ctx.err(format!("vector_axis {a} out of range")))?,
    };
    let mut oshape = ishape.clone();
    if let Some(d) = oshape.get_mut(va) {
        *d *= vs;
    }
    let n: usize = oshape.iter().product();
    let ostrides = crate::tensor::contiguous_strides(&oshape);
    let istrides = crate::tensor::contiguous_strides(&ishape);
    let mut out = Vec::with_capacity(n);
    for o in 0..n {
        // Output coords → index coords (vector axis divided by VECTOR_SIZE) and vector slot.
        let mut flat_i = 0;
        let mut v = 0;
        for d in 0..r {
            let mut c = (o / ostrides[d]) % oshape[d];
            if d == va && vs > 1 {
                v = c % vs;
                c /= vs;
            }
            flat_i += c * istrides[d];
        }
        let table = block_index(flat_i, &ishape, &ls[..r]);
        let k = usize::try_from(idx[flat_i])
            .ok()
            .filter(|&k| k < np)
            .ok_or_else(|| {
                ctx.err(format!(
                    "index {} out of range for {np} palettes",
                    idx[flat_i]
                ))
            })?;
        out.push(lutf.data()[(table * np + k) * vs + v]);
    }
    Ok(Val::F32(Tensor::from_parts(oshape, out)).convert(storage))
}

fn sparse_to_dense(ctx: &OpCtx<'_>) -> Result<Val, ExecError> {
    let nz = ctx.input("nonzero_data")?;
    let storage = ctx
        .result_dtype(0)
        .and_then(Storage::of)
        .unwrap_or(nz.storage());
    let nzf = nz.to_f32_tensor();
    let mask = ctx.input("mask")?;
    let (shape, bits): (Vec<usize>, Vec<bool>) =
        if ctx.op.opset < Opset::Ios18 || ctx.has_input("shape") {
            // iOS16: mask bit-packed into uint8 bytes.
            let shape = out_shape(ctx)?;
            let n: usize = shape.iter().product();
            let bytes = mask.to_i64_vec();
            let bits = (0..n)
                .map(|j| bit(&bytes, j).map(|b| b == 1))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| ctx.err("`mask` has too few bytes for `shape`"))?;
            (shape, bits)
        } else {
            (mask.shape().to_vec(), mask.to_bool_vec())
        };
    let ones = bits.iter().filter(|&&b| b).count();
    if ones != nzf.len() {
        return Err(ctx.err(format!(
            "mask has {ones} set bit(s) but nonzero_data has {} value(s)",
            nzf.len()
        )));
    }
    let mut it = nzf.data().iter();
    let out = bits
        .iter()
        .map(|&b| {
            if b {
                it.next().copied().unwrap_or(0.0)
            } else {
                0.0
            }
        })
        .collect();
    Ok(Val::F32(Tensor::from_parts(shape, out)).convert(storage))
}
