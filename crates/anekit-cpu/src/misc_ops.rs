//! Tensor-construction and restructuring ops: `einsum`, `range_1d`, `fill`,
//! `reverse_sequence`, `sliding_windows`, `flatten2d`.
//!
//! (`cumsum`, `band_part` and `reverse` are in [`crate::shape_ops`].)

use crate::matmul::matmul;
use crate::reduce::{ReduceOp, reduce};
use crate::shape_ops::{Element, transpose};
use crate::tensor::{contiguous_strides, normalize_axis, num_elements};
use crate::{KernelError, Result, Tensor, TensorView};

/// Parsed einsum operand/output subscripts.
struct Equation {
    inputs: Vec<Vec<u8>>,
    output: Vec<u8>,
}

fn parse_equation(eq: &str, n_operands: usize) -> Result<Equation> {
    const OP: &str = "einsum";
    let bad = |why: String| KernelError::param(OP, "equation", format!("{eq:?}: {why}"));
    let clean: String = eq.chars().filter(|c| !c.is_whitespace()).collect();
    if clean.contains("...") || clean.contains('.') {
        return Err(bad("ellipsis (`...`) is not supported".into()));
    }
    let (lhs, rhs) = match clean.split_once("->") {
        Some((l, r)) => (l.to_string(), Some(r.to_string())),
        None => (clean.clone(), None),
    };
    let inputs: Vec<Vec<u8>> = lhs.split(',').map(|s| s.as_bytes().to_vec()).collect();
    if inputs.len() != n_operands {
        return Err(bad(format!(
            "{} operand subscripts for {n_operands} operand(s)",
            inputs.len()
        )));
    }
    for sub in &inputs {
        if let Some(c) = sub.iter().find(|c| !c.is_ascii_alphabetic()) {
            return Err(bad(format!("invalid subscript character {:?}", *c as char)));
        }
    }
    let output = match rhs {
        Some(r) => {
            let r = r.into_bytes();
            if let Some(c) = r.iter().find(|c| !c.is_ascii_alphabetic()) {
                return Err(bad(format!("invalid subscript character {:?}", *c as char)));
            }
            r
        }
        None => {
            // Implicit output: the letters that occur exactly once, in alphabetical order.
            let mut letters: Vec<u8> = inputs.concat();
            letters.sort_unstable();
            let mut out = Vec::new();
            for &c in &letters {
                if letters.iter().filter(|&&x| x == c).count() == 1 {
                    out.push(c);
                }
            }
            out
        }
    };
    for sub in inputs.iter().chain(std::iter::once(&output)) {
        let mut s = sub.clone();
        s.sort_unstable();
        if s.windows(2).any(|w| w[0] == w[1]) {
            return Err(bad(format!(
                "repeated subscript in {:?} (diagonals/traces are not supported)",
                String::from_utf8_lossy(sub)
            )));
        }
    }
    for &c in &output {
        if !inputs.iter().any(|s| s.contains(&c)) {
            return Err(bad(format!(
                "output subscript {:?} appears in no operand",
                c as char
            )));
        }
    }
    Ok(Equation { inputs, output })
}

fn pos(sub: &[u8], c: u8) -> usize {
    sub.iter().position(|&x| x == c).unwrap_or(usize::MAX)
}

/// Sum `x` (subscripts `sub`) over the letters in `drop`, returning the reduced tensor and its
/// remaining subscripts.
fn sum_out(x: TensorView<'_>, sub: &[u8], drop: &[u8]) -> Result<(Tensor, Vec<u8>)> {
    if drop.is_empty() {
        return Ok((x.to_tensor(), sub.to_vec()));
    }
    let axes: Vec<i64> = drop.iter().map(|&c| pos(sub, c) as i64).collect();
    let t = reduce(ReduceOp::Sum, x, Some(&axes), false)?;
    let rest = sub.iter().copied().filter(|c| !drop.contains(c)).collect();
    Ok((t, rest))
}

/// Transpose `x` (subscripts `sub`) so its dims follow `order`.
fn permute(x: Tensor, sub: &[u8], order: &[u8]) -> Result<Tensor> {
    let perm: Vec<i64> = order.iter().map(|&c| pos(sub, c) as i64).collect();
    if perm.iter().enumerate().all(|(i, &p)| p == i as i64) {
        return Ok(x);
    }
    transpose(x.view(), &perm)
}

/// MIL `einsum` with one or two operands and explicit (`ab,bc->ac`) or implicit (`ab,bc`)
/// output. Two-operand forms are lowered to one batched GEMM: letters in both operands and the
/// output are batch dims, letters in both but not the output are contracted, letters in one
/// operand and the output are free, and letters in one operand only are summed out first. This
/// covers every form MIL emits (`nchw,nwhu->nchu`, `bhqd,bhkd->bhqk`, `ij,jk->ik`, ...).
/// Unsupported, with a clear error: ellipsis, repeated subscripts in one operand (diagonals),
/// more than two operands, and size-1 broadcasting between operands.
pub fn einsum(equation: &str, operands: &[TensorView<'_>]) -> Result<Tensor> {
    const OP: &str = "einsum";
    if operands.is_empty() || operands.len() > 2 {
        return Err(KernelError::param(
            OP,
            "values",
            format!("{} operands; only 1 or 2 are supported", operands.len()),
        ));
    }
    let eq = parse_equation(equation, operands.len())?;
    // Letter sizes must agree everywhere.
    let mut size = [0usize; 128];
    let mut seen = [false; 128];
    for (sub, x) in eq.inputs.iter().zip(operands) {
        if sub.len() != x.rank() {
            return Err(KernelError::param(
                OP,
                "equation",
                format!(
                    "{equation:?}: subscripts {:?} for an operand of shape {:?}",
                    String::from_utf8_lossy(sub),
                    x.shape()
                ),
            ));
        }
        for (&c, &d) in sub.iter().zip(x.shape()) {
            let c = c as usize;
            if seen[c] && size[c] != d {
                return Err(KernelError::shape(
                    OP,
                    operands[0].shape(),
                    x.shape(),
                    format!(
                        "subscript {:?} has sizes {} and {d}",
                        c as u8 as char, size[c]
                    ),
                ));
            }
            seen[c] = true;
            size[c] = d;
        }
    }
    let out_shape: Vec<usize> = eq.output.iter().map(|&c| size[c as usize]).collect();
    num_elements(OP, &out_shape)?;
    if operands.len() == 1 {
        let sub = &eq.inputs[0];
        let drop: Vec<u8> = sub
            .iter()
            .copied()
            .filter(|c| !eq.output.contains(c))
            .collect();
        let (t, rest) = sum_out(operands[0], sub, &drop)?;
        return permute(t, &rest, &eq.output);
    }
    let (a_sub, b_sub, o) = (&eq.inputs[0], &eq.inputs[1], &eq.output);
    let only = |s: &[u8], other: &[u8]| -> Vec<u8> {
        s.iter()
            .copied()
            .filter(|c| !other.contains(c) && !o.contains(c))
            .collect()
    };
    let (a, a_sub) = sum_out(operands[0], a_sub, &only(a_sub, b_sub))?;
    let (b, b_sub) = sum_out(operands[1], b_sub, &only(b_sub, &a_sub))?;
    let batch: Vec<u8> = o
        .iter()
        .copied()
        .filter(|c| a_sub.contains(c) && b_sub.contains(c))
        .collect();
    let a_free: Vec<u8> = o
        .iter()
        .copied()
        .filter(|c| a_sub.contains(c) && !b_sub.contains(c))
        .collect();
    let b_free: Vec<u8> = o
        .iter()
        .copied()
        .filter(|c| b_sub.contains(c) && !a_sub.contains(c))
        .collect();
    let contract: Vec<u8> = a_sub
        .iter()
        .copied()
        .filter(|c| b_sub.contains(c) && !o.contains(c))
        .collect();
    let prod = |cs: &[u8]| cs.iter().map(|&c| size[c as usize]).product::<usize>();
    let (nb, m, n, k) = (prod(&batch), prod(&a_free), prod(&b_free), prod(&contract));
    let a_order: Vec<u8> = [&batch[..], &a_free, &contract].concat();
    let b_order: Vec<u8> = [&batch[..], &contract, &b_free].concat();
    let a = permute(a, &a_sub, &a_order)?.reshape(vec![nb, m, k])?;
    let b = permute(b, &b_sub, &b_order)?.reshape(vec![nb, k, n])?;
    let c = matmul(a.view(), b.view(), false, false)?;
    let c_sub: Vec<u8> = [&batch[..], &a_free, &b_free].concat();
    let c_shape: Vec<usize> = c_sub.iter().map(|&ch| size[ch as usize]).collect();
    let c = c.reshape(c_shape)?;
    permute(c, &c_sub, o)
}

/// MIL `range_1d`: `start, start + step, ...` up to (excluding) `end` (numpy `arange`, values
/// computed as `start + i·step` in f64).
pub fn range_1d(start: f64, end: f64, step: f64) -> Result<Tensor> {
    const OP: &str = "range_1d";
    if step == 0.0 || !(start.is_finite() && end.is_finite() && step.is_finite()) {
        return Err(KernelError::param(
            OP,
            "step",
            format!("start {start}, end {end}, step {step}: need finite values and step ≠ 0"),
        ));
    }
    let n = ((end - start) / step).ceil().max(0.0);
    if n > (1u64 << 31) as f64 {
        return Err(KernelError::param(
            OP,
            "end",
            format!("{n} elements is too many"),
        ));
    }
    let n = n as usize;
    let data = (0..n).map(|i| (start + i as f64 * step) as f32).collect();
    Ok(Tensor::from_parts(vec![n], data))
}

/// MIL `fill`: a tensor of `shape` (non-negative dims) filled with `value`.
pub fn fill<T: Element>(shape: &[i64], value: T) -> Result<Tensor<T>> {
    let dims: Vec<usize> = shape
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| {
            KernelError::param("fill", "shape", format!("{shape:?} has a negative dim"))
        })?;
    Tensor::full(dims, value)
}

/// MIL `reverse_sequence`: for each position `b` along `batch_axis`, reverse the first
/// `lengths[b]` elements along `seq_axis` (the rest is copied), as TF `reverse_sequence`.
pub fn reverse_sequence<T: Element>(
    x: TensorView<'_, T>,
    lengths: &[i32],
    seq_axis: i64,
    batch_axis: i64,
) -> Result<Tensor<T>> {
    const OP: &str = "reverse_sequence";
    let sa = normalize_axis(OP, seq_axis, x.rank())?;
    let ba = normalize_axis(OP, batch_axis, x.rank())?;
    if sa == ba {
        return Err(KernelError::param(
            OP,
            "seq_axis",
            format!("seq_axis and batch_axis are both axis {sa}"),
        ));
    }
    let (seq, nb) = (x.shape()[sa], x.shape()[ba]);
    if lengths.len() != nb {
        return Err(KernelError::param(
            OP,
            "lengths",
            format!("{} lengths for a batch axis of size {nb}", lengths.len()),
        ));
    }
    if let Some(l) = lengths.iter().find(|&&l| l < 0 || l as usize > seq) {
        return Err(KernelError::param(
            OP,
            "lengths",
            format!("length {l} is outside 0..={seq}"),
        ));
    }
    let strides = contiguous_strides(x.shape());
    let mut out = x.data().to_vec();
    for (p, o) in out.iter_mut().enumerate() {
        let s = (p / strides[sa]) % seq;
        let b = (p / strides[ba]) % nb;
        let len = lengths[b] as usize;
        if s < len {
            let src = p - s * strides[sa] + (len - 1 - s) * strides[sa];
            *o = x.data()[src];
        }
    }
    Ok(Tensor::from_parts(x.shape().to_vec(), out))
}

/// MIL `sliding_windows`: windows of `size` elements every `stride` along `axis`; the axis is
/// replaced by `[num_windows, size]` with `num_windows = (dim - size) / stride + 1`.
pub fn sliding_windows<T: Element>(
    x: TensorView<'_, T>,
    axis: i64,
    size: usize,
    stride: usize,
) -> Result<Tensor<T>> {
    const OP: &str = "sliding_windows";
    let ax = normalize_axis(OP, axis, x.rank())?;
    let dim = x.shape()[ax];
    if size == 0 || stride == 0 || size > dim {
        return Err(KernelError::param(
            OP,
            "size",
            format!(
                "size {size}, stride {stride} for an axis of length {dim}: need 0 < size ≤ dim, stride > 0"
            ),
        ));
    }
    let windows = (dim - size) / stride + 1;
    let outer: usize = x.shape()[..ax].iter().product();
    let inner: usize = x.shape()[ax + 1..].iter().product();
    let mut shape = x.shape()[..ax].to_vec();
    shape.push(windows);
    shape.push(size);
    shape.extend_from_slice(&x.shape()[ax + 1..]);
    let n = num_elements(OP, &shape)?;
    let mut out = Vec::with_capacity(n);
    for o in 0..outer {
        for w in 0..windows {
            let start = (o * dim + w * stride) * inner;
            out.extend_from_slice(&x.data()[start..start + size * inner]);
        }
    }
    Ok(Tensor::from_parts(shape, out))
}

/// MIL `flatten2d`: `[prod(shape[..axis]), prod(shape[axis..])]`, `axis` in `-rank..=rank`.
pub fn flatten2d<T: Element>(x: TensorView<'_, T>, axis: i64) -> Result<Tensor<T>> {
    let r = x.rank() as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if a < 0 || a > r {
        return Err(KernelError::param(
            "flatten2d",
            "axis",
            format!("axis {axis} is out of range for rank {r}"),
        ));
    }
    let a = a as usize;
    let rows: usize = x.shape()[..a].iter().product();
    let cols: usize = x.shape()[a..].iter().product();
    Ok(Tensor::from_parts(vec![rows, cols], x.data().to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn einsum_rejects_unsupported_forms() {
        let x = Tensor::new(vec![2, 2], vec![1.0f32; 4]).unwrap();
        for eq in ["ii->i", "...ij->ij", "ij,jk,kl->il", "ij->ik", "i->i"] {
            assert!(einsum(eq, &[x.view()]).is_err(), "{eq}");
        }
    }

    #[test]
    fn einsum_implicit_output() {
        let a = Tensor::new(vec![2, 3], (0..6).map(|v| v as f32).collect()).unwrap();
        let b = Tensor::new(vec![3, 1], vec![1.0f32, 1.0, 1.0]).unwrap();
        let c = einsum("ij,jk", &[a.view(), b.view()]).unwrap();
        assert_eq!(c.shape(), &[2, 1]);
        assert_eq!(c.data(), &[3.0, 12.0]);
    }
}
