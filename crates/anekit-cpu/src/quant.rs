//! Quantization: MIL `quantize` / `dequantize` (iOS17) and the weight decompressors behind the
//! `constexpr_*` ops, as pure functions over already-decoded arrays (reading the packed
//! storage from weight.bin is anekit-blob's job).
//!
//! Integer-valued tensors (quantized data, palette indices, masks) are passed as `f32` holding
//! exact integers, the executor's storage for every numeric dtype; the iOS16 forms whose MIL
//! inputs are packed byte streams take `&[u8]`. Formulas follow coremltools' op definitions
//! (`iOS16/constexpr_ops.py`, `iOS17/quantization_ops.py`, `iOS18/compression.py`).

use crate::tensor::{normalize_axis, num_elements};
use crate::{KernelError, Result, Tensor, TensorView};

/// The integer type `quantize` produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantDtype {
    Int8,
    Uint8,
}

impl QuantDtype {
    pub fn from_mil(s: &str) -> Result<Self> {
        match s {
            "int8" => Ok(QuantDtype::Int8),
            "uint8" => Ok(QuantDtype::Uint8),
            other => Err(KernelError::param(
                "quantize",
                "output_dtype",
                format!("{other:?} is not int8 or uint8"),
            )),
        }
    }
    fn range(self) -> (f32, f32) {
        match self {
            QuantDtype::Int8 => (-128.0, 127.0),
            QuantDtype::Uint8 => (0.0, 255.0),
        }
    }
}

/// A scalar or per-axis (vector along `axis`) parameter, resolved against a data shape so that
/// `at(flat_index)` returns the value for that element.
struct AxisParam<'a> {
    values: &'a [f32],
    /// Elements per step along the axis (product of the dims after it).
    inner: usize,
    dim: usize,
}

impl<'a> AxisParam<'a> {
    fn new(
        op: &'static str,
        name: &'static str,
        p: TensorView<'a>,
        shape: &[usize],
        axis: Option<i64>,
    ) -> Result<Self> {
        match (p.rank(), axis) {
            (0, _) => Ok(AxisParam {
                values: p.data(),
                inner: 1,
                dim: 1,
            }),
            (1, Some(a)) => {
                let ax = normalize_axis(op, a, shape.len())?;
                if p.len() != shape[ax] {
                    return Err(KernelError::shape(
                        op,
                        shape,
                        p.shape(),
                        format!(
                            "{name} has {} values for axis {ax} of size {}",
                            p.len(),
                            shape[ax]
                        ),
                    ));
                }
                Ok(AxisParam {
                    values: p.data(),
                    inner: shape[ax + 1..].iter().product(),
                    dim: shape[ax],
                })
            }
            (1, None) => Err(KernelError::param(
                op,
                "axis",
                format!("a vector {name} needs an axis"),
            )),
            _ => Err(KernelError::param(
                op,
                name,
                format!("must be a scalar or a vector, got shape {:?}", p.shape()),
            )),
        }
    }
    fn at(&self, i: usize) -> f32 {
        if self.dim == 1 {
            self.values[0]
        } else {
            self.values[(i / self.inner) % self.dim]
        }
    }
}

/// MIL `quantize`: `clip(round_half_even(x / scale) + zero_point)` to the range of `dtype`.
/// `scale` and `zero_point` are scalars or vectors along `axis`.
pub fn quantize(
    x: TensorView<'_>,
    scale: TensorView<'_>,
    zero_point: Option<TensorView<'_>>,
    axis: Option<i64>,
    dtype: QuantDtype,
) -> Result<Tensor> {
    const OP: &str = "quantize";
    let sc = AxisParam::new(OP, "scale", scale, x.shape(), axis)?;
    let zp = zero_point
        .map(|z| AxisParam::new(OP, "zero_point", z, x.shape(), axis))
        .transpose()?;
    let (lo, hi) = dtype.range();
    let out = x
        .data()
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let z = zp.as_ref().map_or(0.0, |z| z.at(i));
            ((v / sc.at(i)).round_ties_even() + z).clamp(lo, hi)
        })
        .collect();
    Ok(Tensor::from_parts(x.shape().to_vec(), out))
}

/// MIL `dequantize` and iOS16 `constexpr_affine_dequantize`: `scale · (q - zero_point)`,
/// parameters scalar or vectors along `axis`.
pub fn dequantize(
    q: TensorView<'_>,
    scale: TensorView<'_>,
    zero_point: Option<TensorView<'_>>,
    axis: Option<i64>,
) -> Result<Tensor> {
    const OP: &str = "dequantize";
    let sc = AxisParam::new(OP, "scale", scale, q.shape(), axis)?;
    let zp = zero_point
        .map(|z| AxisParam::new(OP, "zero_point", z, q.shape(), axis))
        .transpose()?;
    let out = q
        .data()
        .iter()
        .enumerate()
        .map(|(i, &v)| sc.at(i) * (v - zp.as_ref().map_or(0.0, |z| z.at(i))))
        .collect();
    Ok(Tensor::from_parts(q.shape().to_vec(), out))
}

/// iOS18 `constexpr_blockwise_shift_scale`: `scale[blk] · (data - offset[blk])` where `scale`
/// (and `offset`, same shape) has `data`'s rank and each of its dims divides `data`'s; element
/// `i` of a dim belongs to block `i / (data_dim / scale_dim)`.
pub fn blockwise_shift_scale(
    data: TensorView<'_>,
    scale: TensorView<'_>,
    offset: Option<TensorView<'_>>,
) -> Result<Tensor> {
    const OP: &str = "constexpr_blockwise_shift_scale";
    let (ds, ss) = (data.shape(), scale.shape());
    let ok = ds.len() == ss.len()
        && !ds.is_empty()
        && ds
            .iter()
            .zip(ss)
            .all(|(&d, &s)| s > 0 && d.is_multiple_of(s));
    if !ok {
        return Err(KernelError::shape(
            OP,
            ds,
            ss,
            "scale needs data's rank (≥ 1) and dims that divide data's",
        ));
    }
    if let Some(o) = offset
        && o.shape() != ss
    {
        return Err(KernelError::shape(
            OP,
            ss,
            o.shape(),
            "offset must have scale's shape",
        ));
    }
    let r = ds.len();
    let block: Vec<usize> = ds.iter().zip(ss).map(|(&d, &s)| d / s).collect();
    let mut idx = vec![0usize; r];
    let mut out = Vec::with_capacity(data.len());
    for &v in data.data() {
        let mut p = 0usize;
        for d in 0..r {
            p = p * ss[d] + idx[d] / block[d];
        }
        let off = offset.map_or(0.0, |o| o.data()[p]);
        out.push(scale.data()[p] * (v - off));
        for d in (0..r).rev() {
            idx[d] += 1;
            if idx[d] < ds[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    Ok(Tensor::from_parts(ds.to_vec(), out))
}

/// Unpack `count` `nbits`-wide unsigned fields from a byte stream, least significant bit first
/// (fields may straddle bytes), as coremltools packs palette indices and sparsity masks.
/// Written here because this crate does not depend on anekit-blob's storage layer.
pub fn unpack_bits_lsb(packed: &[u8], nbits: u32, count: usize) -> Result<Vec<u32>> {
    const OP: &str = "unpack_bits";
    if !(1..=8).contains(&nbits) {
        return Err(KernelError::param(
            OP,
            "nbits",
            format!("{nbits} is not in 1..=8"),
        ));
    }
    let need = count
        .checked_mul(nbits as usize)
        .map(|b| b.div_ceil(8))
        .ok_or_else(|| KernelError::param(OP, "count", "too many elements"))?;
    if packed.len() < need {
        return Err(KernelError::param(
            OP,
            "indices",
            format!(
                "{} bytes hold fewer than {count} {nbits}-bit fields",
                packed.len()
            ),
        ));
    }
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let mut v = 0u32;
        for b in 0..nbits as usize {
            let bit = i * nbits as usize + b;
            v |= u32::from((packed[bit / 8] >> (bit % 8)) & 1) << b;
        }
        out.push(v);
    }
    Ok(out)
}

/// iOS16 `constexpr_lut_to_dense`: `lut` has 2, 4, 16, 64 or 256 entries (n = log2 bits per
/// index); `indices` is the packed index stream of exactly `ceil(n · prod(shape) / 8)` bytes.
pub fn lut_to_dense_ios16(indices: &[u8], lut: TensorView<'_>, shape: &[usize]) -> Result<Tensor> {
    const OP: &str = "constexpr_lut_to_dense";
    let nbits = match lut.shape() {
        [2] => 1,
        [4] => 2,
        [16] => 4,
        [64] => 6,
        [256] => 8,
        s => {
            return Err(KernelError::input(
                OP,
                s,
                "lut must be a vector of 2, 4, 16, 64 or 256 entries",
            ));
        }
    };
    let count = num_elements(OP, shape)?;
    let want = (count * nbits as usize).div_ceil(8);
    if indices.len() != want {
        return Err(KernelError::param(
            OP,
            "indices",
            format!(
                "{} bytes, expected {want} for shape {shape:?}",
                indices.len()
            ),
        ));
    }
    let idx = unpack_bits_lsb(indices, nbits, count)?;
    let out = idx.iter().map(|&i| lut.data()[i as usize]).collect();
    Ok(Tensor::from_parts(shape.to_vec(), out))
}

/// iOS18 `constexpr_lut_to_dense`: `indices` (rank K, integer values) and `lut` of shape
/// `[L_0 .. L_{K-1}, NUM_PALETTES, VECTOR_SIZE]`, each `L_d` dividing `indices.shape[d]`
/// (block `i / (indices_dim / L_d)` uses table `i`'s coordinates). With `VECTOR_SIZE > 1` each
/// index expands to a vector laid out along `vector_axis`, whose output size is
/// `indices.shape[vector_axis] · VECTOR_SIZE`.
pub fn lut_to_dense(
    indices: TensorView<'_>,
    lut: TensorView<'_>,
    vector_axis: Option<i64>,
) -> Result<Tensor> {
    const OP: &str = "constexpr_lut_to_dense";
    let (is, ls) = (indices.shape(), lut.shape());
    let k = is.len();
    let ok = k >= 1
        && ls.len() == k + 2
        && is
            .iter()
            .zip(ls)
            .all(|(&i, &l)| l > 0 && i.is_multiple_of(l));
    if !ok {
        return Err(KernelError::shape(
            OP,
            is,
            ls,
            "lut needs rank = indices rank + 2 and leading dims that divide indices' dims",
        ));
    }
    let (palettes, vsize) = (ls[k], ls[k + 1]);
    let vax = match vector_axis {
        Some(a) => Some(normalize_axis(OP, a, k)?),
        None if vsize > 1 => {
            return Err(KernelError::param(
                OP,
                "vector_axis",
                "required when VECTOR_SIZE > 1",
            ));
        }
        None => None,
    };
    let block: Vec<usize> = is.iter().zip(ls).map(|(&i, &l)| i / l).collect();
    let mut shape = is.to_vec();
    if let Some(a) = vax {
        shape[a] *= vsize;
    }
    let n = num_elements(OP, &shape)?;
    let mut out = vec![0.0f32; n];
    // Output strides, to place vector element `e` of index element `idx` at idx[vax]·vsize + e.
    let ostrides = crate::tensor::contiguous_strides(&shape);
    let mut idx = vec![0usize; k];
    for &v in indices.data() {
        if !(v >= 0.0 && v.fract() == 0.0 && (v as usize) < palettes) {
            return Err(KernelError::param(
                OP,
                "indices",
                format!("index {v} is not an integer in 0..{palettes}"),
            ));
        }
        let mut table = 0usize;
        for d in 0..k {
            table = table * ls[d] + idx[d] / block[d];
        }
        let entry = (table * palettes + v as usize) * vsize;
        let mut base = 0usize;
        for d in 0..k {
            let c = if Some(d) == vax {
                idx[d] * vsize
            } else {
                idx[d]
            };
            base += c * ostrides[d];
        }
        let step = vax.map_or(0, |a| ostrides[a]);
        for e in 0..vsize {
            out[base + e * step] = lut.data()[entry + e];
        }
        for d in (0..k).rev() {
            idx[d] += 1;
            if idx[d] < is[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    Ok(Tensor::from_parts(shape, out))
}

/// iOS16 `constexpr_sparse_to_dense`: `mask` is a packed bit stream (LSB first, exactly
/// `ceil(prod(shape) / 8)` bytes, padding bits zero); set bits take the next value of
/// `nonzero_data`, in C order; the rest are 0.
pub fn sparse_to_dense_ios16(
    nonzero_data: TensorView<'_>,
    mask: &[u8],
    shape: &[usize],
) -> Result<Tensor> {
    const OP: &str = "constexpr_sparse_to_dense";
    let count = num_elements(OP, shape)?;
    if mask.len() != count.div_ceil(8) {
        return Err(KernelError::param(
            OP,
            "mask",
            format!(
                "{} bytes, expected {} for shape {shape:?}",
                mask.len(),
                count.div_ceil(8)
            ),
        ));
    }
    let bits = unpack_bits_lsb(mask, 1, mask.len() * 8)?;
    if bits[count..].iter().any(|&b| b != 0) {
        return Err(KernelError::param(OP, "mask", "padding bits must be zero"));
    }
    scatter_mask(
        OP,
        nonzero_data,
        bits[..count].iter().map(|&b| b != 0),
        shape,
    )
}

/// iOS18 `constexpr_sparse_to_dense`: `mask` (values 0/1) has the output's shape; non-zero
/// positions take the next value of `nonzero_data` in C order.
pub fn sparse_to_dense(nonzero_data: TensorView<'_>, mask: TensorView<'_>) -> Result<Tensor> {
    const OP: &str = "constexpr_sparse_to_dense";
    scatter_mask(
        OP,
        nonzero_data,
        mask.data().iter().map(|&b| b != 0.0),
        mask.shape(),
    )
}

fn scatter_mask(
    op: &'static str,
    values: TensorView<'_>,
    mask: impl Iterator<Item = bool> + Clone,
    shape: &[usize],
) -> Result<Tensor> {
    let set = mask.clone().filter(|&b| b).count();
    if values.rank() != 1 || values.len() != set {
        return Err(KernelError::param(
            op,
            "nonzero_data",
            format!("shape {:?} for {set} set mask bits", values.shape()),
        ));
    }
    let mut next = values.data().iter();
    let out = mask
        .map(|b| {
            if b {
                next.next().copied().unwrap_or(0.0)
            } else {
                0.0
            }
        })
        .collect();
    Ok(Tensor::from_parts(shape.to_vec(), out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpack_straddles_bytes_lsb_first() {
        // coremltools' example: n_bits = 2, 5 elements: byte0 = 0b01_10_11_00, byte1 = 0b11.
        let v = unpack_bits_lsb(&[0b0110_1100, 0b0000_0011], 2, 5).unwrap();
        assert_eq!(v, vec![0, 3, 2, 1, 3]);
        let v = unpack_bits_lsb(&[0b1100_0001, 0b0000_0001], 6, 2).unwrap();
        assert_eq!(v, vec![1, 0b000111]);
        assert!(unpack_bits_lsb(&[0], 2, 5).is_err());
    }
}
