//! Kernel tensors: a shape plus contiguous row-major storage, and NumPy broadcasting.
//!
//! Activations are `f32` values. In `ane` numerics every activation is an fp16-*representable*
//! f32 (the executor rounds each op's output with [`crate::Numerics::round_output`]), so this
//! layout holds exactly what the ANE stores, while the kernels run at full f32 SIMD speed: the
//! `gemm` crate and the CPU's FMA units work on f32, and converting fp16 ↔ f32 on every load
//! would cost more than the arithmetic. One layout for both numerics modes also means one set
//! of kernels. The cost is memory (4 bytes per element instead of 2), which a reference
//! executor can afford.
//!
//! Tensors are generic over the element so that masks (`bool`) and indices (`i32`) have their
//! own types instead of being smuggled through floats; shape ops work for any `Copy` element.

use crate::{KernelError, Result};

/// An owned tensor: `shape` and `data.len() == shape.iter().product()` elements in C order.
/// A rank-0 tensor (`shape == []`) holds one element.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor<T = f32> {
    shape: Vec<usize>,
    data: Vec<T>,
}

/// A borrowed tensor, as kernels take their inputs (weights can stay wherever they live).
#[derive(Debug, PartialEq)]
pub struct TensorView<'a, T = f32> {
    shape: &'a [usize],
    data: &'a [T],
}

impl<T> Clone for TensorView<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for TensorView<'_, T> {}

/// Number of elements of `shape`, or an error when the product overflows `usize`.
pub fn num_elements(op: &'static str, shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| KernelError::Overflow {
            op,
            shape: shape.to_vec(),
        })
}

fn check_len(shape: &[usize], len: usize) -> Result<()> {
    let expected = num_elements("tensor", shape)?;
    if expected != len {
        return Err(KernelError::DataLength {
            shape: shape.to_vec(),
            expected,
            found: len,
        });
    }
    Ok(())
}

impl<T> Tensor<T> {
    /// A tensor from a shape and its C-order data; the lengths must agree.
    pub fn new(shape: impl Into<Vec<usize>>, data: Vec<T>) -> Result<Self> {
        let shape = shape.into();
        check_len(&shape, data.len())?;
        Ok(Tensor { shape, data })
    }

    /// Internal constructor for kernels that computed `data` for `shape` themselves.
    pub(crate) fn from_parts(shape: Vec<usize>, data: Vec<T>) -> Self {
        debug_assert_eq!(shape.iter().product::<usize>(), data.len());
        Tensor { shape, data }
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
    pub fn rank(&self) -> usize {
        self.shape.len()
    }
    pub fn len(&self) -> usize {
        self.data.len()
    }
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    pub fn data(&self) -> &[T] {
        &self.data
    }
    pub fn data_mut(&mut self) -> &mut [T] {
        &mut self.data
    }
    pub fn into_data(self) -> Vec<T> {
        self.data
    }
    pub fn into_parts(self) -> (Vec<usize>, Vec<T>) {
        (self.shape, self.data)
    }
    pub fn view(&self) -> TensorView<'_, T> {
        TensorView {
            shape: &self.shape,
            data: &self.data,
        }
    }
    /// The same data under another shape with the same element count (MIL `reshape`).
    pub fn reshape(self, shape: impl Into<Vec<usize>>) -> Result<Self> {
        let shape = shape.into();
        if num_elements("reshape", &shape)? != self.data.len() {
            return Err(KernelError::shape(
                "reshape",
                &self.shape,
                &shape,
                "element counts differ",
            ));
        }
        Ok(Tensor {
            shape,
            data: self.data,
        })
    }
}

impl<T: Clone> Tensor<T> {
    /// A tensor of `shape` with every element `value`.
    pub fn full(shape: impl Into<Vec<usize>>, value: T) -> Result<Self> {
        let shape = shape.into();
        let n = num_elements("full", &shape)?;
        Ok(Tensor {
            shape,
            data: vec![value; n],
        })
    }
}

impl Tensor<f32> {
    pub fn zeros(shape: impl Into<Vec<usize>>) -> Result<Self> {
        Self::full(shape, 0.0)
    }
    /// A rank-0 tensor.
    pub fn scalar(value: f32) -> Self {
        Tensor {
            shape: Vec::new(),
            data: vec![value],
        }
    }
    /// Decode typed storage (fp16, int8, fp8, ...) into a kernel tensor. Every dtype anekit
    /// stores is exactly representable in f32 except 32/64-bit integers beyond 2^24 and f64.
    pub fn from_tensor_data(shape: &[u64], data: &anekit_core::TensorData) -> Result<Self> {
        let shape: Vec<usize> = shape
            .iter()
            .map(|&d| usize::try_from(d))
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| KernelError::Overflow {
                op: "from_tensor_data",
                shape: Vec::new(),
            })?;
        Tensor::new(shape, data.to_f32())
    }
}

impl<'a, T> TensorView<'a, T> {
    /// A view of `data` as `shape`; the lengths must agree.
    pub fn new(shape: &'a [usize], data: &'a [T]) -> Result<Self> {
        check_len(shape, data.len())?;
        Ok(TensorView { shape, data })
    }
    pub fn shape(&self) -> &'a [usize] {
        self.shape
    }
    pub fn data(&self) -> &'a [T] {
        self.data
    }
    pub fn rank(&self) -> usize {
        self.shape.len()
    }
    pub fn len(&self) -> usize {
        self.data.len()
    }
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

impl<T: Clone> TensorView<'_, T> {
    pub fn to_tensor(&self) -> Tensor<T> {
        Tensor {
            shape: self.shape.to_vec(),
            data: self.data.to_vec(),
        }
    }
}

impl<'a, T> From<&'a Tensor<T>> for TensorView<'a, T> {
    fn from(t: &'a Tensor<T>) -> Self {
        t.view()
    }
}

/// Row-major strides of `shape` (in elements).
pub fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1].saturating_mul(shape[i + 1]);
    }
    strides
}

/// Resolve a possibly negative axis (`-1` = last) against `rank`.
pub fn normalize_axis(op: &'static str, axis: i64, rank: usize) -> Result<usize> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if a < 0 || a >= r {
        return Err(KernelError::param(
            op,
            "axis",
            format!("axis {axis} is out of range for rank {rank}"),
        ));
    }
    Ok(a as usize)
}

/// Resolve a list of axes: each normalized, no duplicates; returned sorted.
pub fn normalize_axes(op: &'static str, axes: &[i64], rank: usize) -> Result<Vec<usize>> {
    let mut out = axes
        .iter()
        .map(|&a| normalize_axis(op, a, rank))
        .collect::<Result<Vec<_>>>()?;
    out.sort_unstable();
    let before = out.len();
    out.dedup();
    if out.len() != before {
        return Err(KernelError::param(
            op,
            "axes",
            format!("axes {axes:?} name the same axis twice"),
        ));
    }
    Ok(out)
}

/// The broadcast shape of `a` and `b` under NumPy rules: align trailing dimensions; each pair
/// must be equal or contain a 1.
pub fn broadcast_shapes(op: &'static str, a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0usize; rank];
    for i in 0..rank {
        let da = if i < rank - a.len() {
            1
        } else {
            a[i - (rank - a.len())]
        };
        let db = if i < rank - b.len() {
            1
        } else {
            b[i - (rank - b.len())]
        };
        out[i] = if da == db || db == 1 {
            da
        } else if da == 1 {
            db
        } else {
            return Err(KernelError::shape(
                op,
                a,
                b,
                format!("dimension {da} does not broadcast against {db}"),
            ));
        };
    }
    Ok(out)
}

/// Strides (in elements of a contiguous tensor of shape `from`) for reading it as the larger
/// broadcast shape `to`: 0 on broadcast dimensions. `from` must broadcast to `to`.
pub fn broadcast_strides(from: &[usize], to: &[usize]) -> Vec<usize> {
    let own = contiguous_strides(from);
    let lead = to.len().saturating_sub(from.len());
    (0..to.len())
        .map(|i| {
            if i < lead {
                0
            } else {
                let j = i - lead;
                if from[j] == 1 && to[i] != 1 {
                    0
                } else {
                    own[j]
                }
            }
        })
        .collect()
}

/// Materialize `x` broadcast to `shape` (NumPy `broadcast_to`).
pub fn broadcast_to<T: Copy + Default + Send + Sync>(
    x: TensorView<'_, T>,
    shape: &[usize],
) -> Result<Tensor<T>> {
    let target = broadcast_shapes("broadcast_to", x.shape(), shape)?;
    if target != shape {
        return Err(KernelError::shape(
            "broadcast_to",
            x.shape(),
            shape,
            "input does not broadcast to the target shape",
        ));
    }
    let strides = broadcast_strides(x.shape(), shape);
    num_elements("broadcast_to", shape)?;
    let out = strided_copy(x.data(), shape, &strides);
    Ok(Tensor::from_parts(shape.to_vec(), out))
}

/// The elements `src[Σ index·stride]` for every index of `shape` in C order (a transpose, a
/// broadcast, any strided view), without a per-element callback: dimensions are coalesced,
/// then each output row is one contiguous copy (innermost stride 1), one repeated value
/// (stride 0) or a strided gather; parallel over rows for large outputs. An offset outside
/// `src` (inconsistent strides) ends its row early and the row is padded with `T::default()`.
pub(crate) fn strided_copy<T: Copy + Default + Send + Sync>(
    src: &[T],
    shape: &[usize],
    strides: &[usize],
) -> Vec<T> {
    let n: usize = shape.iter().product();
    if n == 0 {
        return Vec::new();
    }
    let (cshape, cstr) = coalesce(shape, &[strides]);
    let cstr = &cstr[0];
    let last = cshape.len() - 1;
    let (row, step) = (cshape[last].max(1), cstr[last]);
    if last >= 1
        && cstr[last - 1] == 1
        && step > 1
        && let Some(out) = transpose_blocks(src, &cshape, cstr)
    {
        return out;
    }
    let outer = &cshape[..last];
    crate::par::build_rows(n, row, 1, |r, sink| {
        let mut rem = r;
        let mut base = 0usize;
        for d in (0..outer.len()).rev() {
            base += (rem % outer[d]) * cstr[d];
            rem /= outer[d];
        }
        let Some(xs) = src.get(base..base + (row - 1) * step + 1) else {
            return false;
        };
        crate::par::simd(
            #[inline(always)]
            || match step {
                1 => sink.extend_from_slice(xs),
                0 => sink.extend(std::iter::repeat_n(xs[0], row)),
                _ => sink.extend(xs.iter().step_by(step).copied()),
            },
        );
        true
    })
}

/// Side of the square blocks of [`transpose_blocks`].
const BLOCK: usize = 16;

/// [`strided_copy`] of a batch of transposes: coalesced `shape` `[..., A, C]` whose `A` axis
/// is contiguous in `src` (stride 1) and whose `C` axis is not, so output row `a` is gathered
/// from `C` input rows. Row by row, at the power-of-two strides attention's heads have (256
/// or 64 floats), those `C` cache lines fall into a few L1 sets and every read missed: ~2 ns
/// per element, 0.7 ms for the transformer block's four transposes. Here 16 output rows are
/// built at a time in 16 × 16 blocks, whose 16 input lines stay in L1 (~4× faster on the
/// block's `[12, 64, 256]` transposes). `None` if `src` is too short for the strides.
fn transpose_blocks<T: Copy + Default + Send + Sync>(
    src: &[T],
    shape: &[usize],
    strides: &[usize],
) -> Option<Vec<T>> {
    let last = shape.len() - 1;
    let (a_len, c_len, c_step) = (shape[last - 1], shape[last], strides[last]);
    let outer = &shape[..last - 1];
    // The highest element any output reads must be inside `src`.
    let reach = shape
        .iter()
        .zip(strides)
        .try_fold(0usize, |acc, (&d, &st)| {
            acc.checked_add(d.checked_sub(1)?.checked_mul(st)?)
        })?;
    if reach >= src.len() || a_len < BLOCK || c_len < BLOCK {
        return None;
    }
    let n = shape.iter().product();
    // Rows per task: a whole matrix, or a power-of-two multiple of 16 that divides it
    // (tasks of up to ~16 K elements).
    let rows_per = if a_len % BLOCK == 0 {
        let mut r = BLOCK;
        while a_len % (2 * r) == 0 && 2 * r * c_len <= 1 << 14 {
            r *= 2;
        }
        r
    } else {
        a_len
    };
    Some(crate::par::build(n, rows_per * c_len, 1, |ci, sink| {
        let r0 = ci * rows_per;
        let (mut rem, first) = (r0 / a_len, r0 % a_len);
        let mut base = 0usize;
        for d in (0..outer.len()).rev() {
            base += (rem % outer[d]) * strides[d];
            rem /= outer[d];
        }
        let end = (first + rows_per).min(a_len);
        // 16 output rows, filled block by block, then appended.
        let mut rows = vec![T::default(); BLOCK * c_len];
        for a0 in (first..end).step_by(BLOCK) {
            let na = BLOCK.min(end - a0);
            for c0 in (0..c_len).step_by(BLOCK) {
                let nc = BLOCK.min(c_len - c0);
                if (na, nc) == (BLOCK, BLOCK)
                    && let Some(block) = input_block(src, base + a0 + c0 * c_step, c_step)
                {
                    // Whole blocks as fixed-size arrays: no bounds checks, no stride
                    // arithmetic per element (the general loop below is ~3× slower).
                    for (i, row) in rows.chunks_exact_mut(c_len).enumerate() {
                        if let Ok(dst) = <&mut [T; BLOCK]>::try_from(&mut row[c0..c0 + BLOCK]) {
                            for (d, line) in dst.iter_mut().zip(&block) {
                                *d = line[i];
                            }
                        }
                    }
                    continue;
                }
                for i in 0..na {
                    let dst = &mut rows[i * c_len + c0..][..nc];
                    // Inside `src`: base + a + c·c_step ≤ reach for a < a_len, c < c_len.
                    let column = src[base + a0 + i + c0 * c_step..].iter().step_by(c_step);
                    for (d, s) in dst.iter_mut().zip(column) {
                        *d = *s;
                    }
                }
            }
            for i in 0..na {
                sink.extend_from_slice(&rows[i * c_len..(i + 1) * c_len]);
            }
        }
    }))
}

/// The 16 runs of 16 elements at `at + j·step` (j < 16) of `src`, or `None` past its end.
#[inline(always)]
fn input_block<T>(src: &[T], at: usize, step: usize) -> Option<[&[T; BLOCK]; BLOCK]> {
    let mut block: [&[T; BLOCK]; BLOCK] = [src.get(at..at + BLOCK)?.try_into().ok()?; BLOCK];
    for (j, line) in block.iter_mut().enumerate().skip(1) {
        let from = at + j * step;
        *line = src.get(from..from + BLOCK)?.try_into().ok()?;
    }
    Some(block)
}

/// Merge adjacent dimensions that every stride set walks contiguously, so broadcast loops run
/// over as few, as long rows as possible. Returns the coalesced shape and strides.
pub(crate) fn coalesce(shape: &[usize], strides: &[&[usize]]) -> (Vec<usize>, Vec<Vec<usize>>) {
    let mut out_shape: Vec<usize> = Vec::new();
    let mut out_strides: Vec<Vec<usize>> = vec![Vec::new(); strides.len()];
    for (i, &d) in shape.iter().enumerate() {
        if d == 1 && !out_shape.is_empty() {
            continue; // size-1 dims contribute nothing
        }
        if let Some(&prev) = out_shape.last() {
            let mergeable = strides.iter().enumerate().all(|(k, s)| {
                let prev_stride = out_strides[k].last().copied().unwrap_or(0);
                prev_stride == s[i] * d
            });
            if mergeable || prev == 1 {
                let n = out_shape.len() - 1;
                out_shape[n] = prev * d;
                for (k, s) in strides.iter().enumerate() {
                    out_strides[k][n] = s[i];
                }
                continue;
            }
        }
        out_shape.push(d);
        for (k, s) in strides.iter().enumerate() {
            out_strides[k].push(s[i]);
        }
    }
    if out_shape.is_empty() {
        out_shape.push(1);
        for s in &mut out_strides {
            s.push(0);
        }
    }
    (out_shape, out_strides)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_rules() {
        assert_eq!(
            broadcast_shapes("t", &[2, 1, 3], &[4, 1]).unwrap(),
            vec![2, 4, 3]
        );
        assert_eq!(broadcast_shapes("t", &[], &[5]).unwrap(), vec![5]);
        let e = broadcast_shapes("add", &[2, 3], &[4]).unwrap_err();
        assert!(matches!(e, KernelError::Shape { op: "add", .. }));
        assert!(e.to_string().contains("[2, 3]") && e.to_string().contains("[4]"));
    }

    #[test]
    fn broadcast_to_copies_rows() {
        let x = Tensor::new(vec![1, 3], vec![1.0f32, 2.0, 3.0]).unwrap();
        let y = broadcast_to(x.view(), &[2, 3]).unwrap();
        assert_eq!(y.data(), &[1.0, 2.0, 3.0, 1.0, 2.0, 3.0]);
        let x = Tensor::new(vec![2, 1], vec![1.0f32, 2.0]).unwrap();
        let y = broadcast_to(x.view(), &[2, 3]).unwrap();
        assert_eq!(y.data(), &[1.0, 1.0, 1.0, 2.0, 2.0, 2.0]);
        assert!(broadcast_to(x.view(), &[3, 3]).is_err());
        // Rank 0 in and out, an empty target, a middle broadcast dim, an integer type.
        let s = Tensor::new(vec![], vec![7i32]).unwrap();
        assert_eq!(broadcast_to(s.view(), &[]).unwrap().data(), &[7]);
        assert_eq!(broadcast_to(s.view(), &[2, 2]).unwrap().data(), &[7; 4]);
        let r = Tensor::new(vec![3], vec![1i32, 2, 3]).unwrap();
        let e = broadcast_to(r.view(), &[0, 3]).unwrap();
        assert_eq!((e.shape(), e.data().len()), (&[0usize, 3][..], 0));
        let m = Tensor::new(vec![2, 1, 2], vec![1i32, 2, 3, 4]).unwrap();
        let y = broadcast_to(m.view(), &[2, 3, 2]).unwrap();
        assert_eq!(y.data(), &[1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4]);
    }

    #[test]
    fn coalesce_merges_contiguous_dims() {
        let (s, st) = coalesce(&[2, 3, 4], &[&[12, 4, 1], &[0, 0, 1]]);
        assert_eq!(s, vec![6, 4]);
        assert_eq!(st, vec![vec![4, 1], vec![0, 1]]);
    }

    #[test]
    fn new_checks_length() {
        assert!(matches!(
            Tensor::new(vec![2, 2], vec![0.0f32; 3]),
            Err(KernelError::DataLength {
                expected: 4,
                found: 3,
                ..
            })
        ));
        assert!(Tensor::<f32>::new(vec![usize::MAX, 3], vec![]).is_err());
    }
}
