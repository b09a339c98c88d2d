//! Matrix multiply (`matmul`, `linear`) on the `gemm` crate.
//!
//! `gemm` provides cache-blocked, AVX-512/AVX2/NEON f32 micro-kernels with rayon threading
//! (the workspace enables its `x86-v4` feature so AVX-512 machines get the 16-lane kernels).
//! Accumulation is in f32, which is the accumulation width the ANE contract assumes.

use crate::tensor::{broadcast_shapes, broadcast_strides, num_elements};
use crate::{KernelError, Result, Tensor, TensorView};
use rayon::prelude::*;

/// A read-only strided matrix: element `(i, j)` is `data[i * rs + j * cs]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MatRef<'a> {
    pub data: &'a [f32],
    pub rs: usize,
    pub cs: usize,
}

/// Below this many multiply-adds one GEMM runs on the calling thread: thread wake-up costs
/// more than the work (measured order of magnitude: a 64³ product takes ~10 µs on one core).
const GEMM_PAR_MIN_MACS: usize = 1 << 18;

/// `dst (m×n, row-major, contiguous) (+)= a (m×k) · b (k×n)`.
///
/// Checks that every element the strides can reach lies inside its slice, then calls
/// `gemm::gemm`. With `accumulate`, the product is added to `dst`; otherwise `dst` is
/// overwritten. `threads`: let gemm split the work across the rayon pool.
#[allow(unsafe_code, clippy::too_many_arguments)]
pub(crate) fn gemm_f32(
    op: &'static str,
    m: usize,
    n: usize,
    k: usize,
    a: MatRef<'_>,
    b: MatRef<'_>,
    dst: &mut [f32],
    accumulate: bool,
    threads: bool,
) -> Result<()> {
    if m == 0 || n == 0 {
        return Ok(());
    }
    let dst_len = m.checked_mul(n);
    if dst_len.is_none_or(|l| l > dst.len()) {
        return Err(KernelError::input(
            op,
            &[m, n],
            "internal: destination buffer too small",
        ));
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(0.0);
        }
        return Ok(());
    }
    // Highest element index each operand can touch; must be inside its slice.
    let reach = |r: MatRef<'_>, rows: usize, cols: usize| -> Option<usize> {
        (rows - 1)
            .checked_mul(r.rs)?
            .checked_add((cols - 1).checked_mul(r.cs)?)
    };
    let a_ok = reach(a, m, k).is_some_and(|i| i < a.data.len());
    let b_ok = reach(b, k, n).is_some_and(|i| i < b.data.len());
    let strides_ok = [a.rs, a.cs, b.rs, b.cs, n]
        .iter()
        .all(|&s| isize::try_from(s).is_ok());
    if !(a_ok && b_ok && strides_ok) {
        return Err(KernelError::input(
            op,
            &[m, k, n],
            "internal: operand strides reach outside their buffers",
        ));
    }
    let par = if threads && m.saturating_mul(n).saturating_mul(k) >= GEMM_PAR_MIN_MACS {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: `dst` holds at least m·n elements and is written at i·n + j for i < m, j < n
    // (row stride n, column stride 1), all < m·n ≤ dst.len(); it is a unique &mut borrow, so
    // it aliases neither operand. `a` is read at i·a.rs + p·a.cs for i < m, p < k, whose maximum
    // (m-1)·a.rs + (k-1)·a.cs was checked above to be < a.data.len(); likewise `b` at
    // p·b.rs + j·b.cs for p < k, j < n. All strides fit in isize (checked). m, n, k > 0.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            par,
        );
    }
    Ok(())
}

/// MIL `matmul`: `x · y` over the last two dimensions with NumPy batch broadcasting.
///
/// - `transpose_x` / `transpose_y` transpose the last two dims of an operand before the product
///   (done with strides, no copy).
/// - A rank-1 `x` is treated as `[1, K]` and a rank-1 `y` as `[K, 1]`, and that dimension is
///   removed from the result (NumPy `matmul` rules; the transpose flags do not apply to rank-1
///   operands).
/// - Batch dims (all but the last two) broadcast.
pub fn matmul(
    x: TensorView<'_>,
    y: TensorView<'_>,
    transpose_x: bool,
    transpose_y: bool,
) -> Result<Tensor> {
    const OP: &str = "matmul";
    if x.rank() == 0 || y.rank() == 0 {
        return Err(KernelError::shape(
            OP,
            x.shape(),
            y.shape(),
            "operands must have rank ≥ 1",
        ));
    }
    let x1 = x.rank() == 1;
    let y1 = y.rank() == 1;
    let xs: Vec<usize> = if x1 {
        vec![1, x.shape()[0]]
    } else {
        x.shape().to_vec()
    };
    let ys: Vec<usize> = if y1 {
        vec![y.shape()[0], 1]
    } else {
        y.shape().to_vec()
    };
    let tx = transpose_x && !x1;
    let ty = transpose_y && !y1;
    let (xr, yr) = (xs.len(), ys.len());
    let (m, kx) = if tx {
        (xs[xr - 1], xs[xr - 2])
    } else {
        (xs[xr - 2], xs[xr - 1])
    };
    let (ky, n) = if ty {
        (ys[yr - 1], ys[yr - 2])
    } else {
        (ys[yr - 2], ys[yr - 1])
    };
    if kx != ky {
        return Err(KernelError::shape(
            OP,
            x.shape(),
            y.shape(),
            format!(
                "inner dimensions differ: {kx} vs {ky} (transpose_x={transpose_x}, transpose_y={transpose_y})"
            ),
        ));
    }
    let k = kx;
    let xb = &xs[..xr - 2];
    let yb = &ys[..yr - 2];
    let batch = broadcast_shapes(OP, xb, yb).map_err(|_| {
        KernelError::shape(
            OP,
            x.shape(),
            y.shape(),
            "batch dimensions do not broadcast",
        )
    })?;
    let nb = num_elements(OP, &batch)?;
    let out_len = nb
        .checked_mul(m)
        .and_then(|v| v.checked_mul(n))
        .ok_or_else(|| KernelError::Overflow {
            op: OP,
            shape: batch.clone(),
        })?;
    // Per-batch offsets into x and y (in matrices), following broadcasting.
    let offsets = batch_offsets(xb, yb, &batch);
    let (xmat, ymat) = (m * k, k * n);
    let xa = |data| {
        if tx {
            MatRef { data, rs: 1, cs: m }
        } else {
            MatRef { data, rs: k, cs: 1 }
        }
    };
    let ya = |data| {
        if ty {
            MatRef { data, rs: 1, cs: k }
        } else {
            MatRef { data, rs: n, cs: 1 }
        }
    };
    let mut out = vec![0.0f32; out_len];
    let per = m * n * k;
    let run = |bi: usize, dst: &mut [f32], threads: bool| -> Result<()> {
        let (ox, oy) = offsets[bi];
        let xd = x.data().get(ox * xmat..(ox + 1) * xmat).unwrap_or_default();
        let yd = y.data().get(oy * ymat..(oy + 1) * ymat).unwrap_or_default();
        gemm_f32(OP, m, n, k, xa(xd), ya(yd), dst, false, threads)
    };
    if m * n > 0 {
        if nb > 1 && (per < GEMM_PAR_MIN_MACS * 4 || nb >= 2 * rayon::current_num_threads()) {
            // Many small products, or at least two per thread: one product per task, each
            // single-threaded. Splitting each product between the threads instead was slower
            // on attention's 12 heads (256×64·64×256: 1.03 → 0.79 ms; 256×256·256×64:
            // 0.69 → 0.58 ms, 2 threads, alternated in one process).
            out.par_chunks_mut(m * n)
                .enumerate()
                .try_for_each(|(bi, dst)| run(bi, dst, false))?;
        } else {
            for (bi, dst) in out.chunks_mut(m * n).enumerate() {
                run(bi, dst, true)?;
            }
        }
    }
    let mut shape = batch;
    if !x1 {
        shape.push(m);
    }
    if !y1 {
        shape.push(n);
    }
    Ok(Tensor::from_parts(shape, out))
}

/// For every batch index of `batch` (C order), the matrix index into x and into y.
fn batch_offsets(xb: &[usize], yb: &[usize], batch: &[usize]) -> Vec<(usize, usize)> {
    let sx = broadcast_strides(xb, batch);
    let sy = broadcast_strides(yb, batch);
    let nb: usize = batch.iter().product();
    let mut out = Vec::with_capacity(nb);
    let mut idx = vec![0usize; batch.len()];
    for _ in 0..nb {
        let ox: usize = idx.iter().zip(&sx).map(|(i, s)| i * s).sum();
        let oy: usize = idx.iter().zip(&sy).map(|(i, s)| i * s).sum();
        out.push((ox, oy));
        for d in (0..batch.len()).rev() {
            idx[d] += 1;
            if idx[d] < batch[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    out
}

/// MIL `linear`: `x · weightᵀ + bias` with `x: [..., K]`, `weight: [N, K]`, `bias: [N]`
/// (optional); result `[..., N]`. The bias is written into the output first and the product
/// accumulated onto it, so the add costs no extra pass.
pub fn linear(
    x: TensorView<'_>,
    weight: TensorView<'_>,
    bias: Option<TensorView<'_>>,
) -> Result<Tensor> {
    const OP: &str = "linear";
    if x.rank() == 0 || weight.rank() != 2 {
        return Err(KernelError::shape(
            OP,
            x.shape(),
            weight.shape(),
            "x must have rank ≥ 1 and weight rank 2 ([N, K])",
        ));
    }
    let k = x.shape()[x.rank() - 1];
    let (n, wk) = (weight.shape()[0], weight.shape()[1]);
    if wk != k {
        return Err(KernelError::shape(
            OP,
            x.shape(),
            weight.shape(),
            format!("x's last dimension {k} differs from weight's {wk}"),
        ));
    }
    if let Some(b) = bias
        && b.shape() != [n]
    {
        return Err(KernelError::shape(
            OP,
            weight.shape(),
            b.shape(),
            format!("bias must have shape [{n}]"),
        ));
    }
    let m = num_elements(OP, &x.shape()[..x.rank() - 1])?;
    let mut shape = x.shape()[..x.rank() - 1].to_vec();
    shape.push(n);
    let len = num_elements(OP, &shape)?;
    let mut out = vec![0.0f32; len];
    if crate::small_m::linear(
        m,
        n,
        k,
        x.data(),
        weight.data(),
        bias.map(|b| b.data()),
        &mut out,
    ) {
        return Ok(Tensor::from_parts(shape, out));
    }
    if let Some(b) = bias
        && n > 0
    {
        for row in out.chunks_mut(n) {
            row.copy_from_slice(b.data());
        }
    }
    gemm_f32(
        OP,
        m,
        n,
        k,
        MatRef {
            data: x.data(),
            rs: k,
            cs: 1,
        },
        MatRef {
            data: weight.data(),
            rs: 1,
            cs: k,
        },
        &mut out,
        bias.is_some(),
        true,
    )?;
    Ok(Tensor::from_parts(shape, out))
}
