//! Elementwise ops: binary arithmetic with NumPy broadcasting, comparisons and logical ops
//! (giving `Tensor<bool>` masks, as MIL's `bool` dtype), `select`, and unary math.

use crate::par::{PAR_MIN_ELEMS, Sink, build, build_rows, simd};
use crate::tensor::{broadcast_shapes, broadcast_strides, coalesce, num_elements};
use crate::{Result, Tensor, TensorView};

/// Apply `f` to every element (parallel for large tensors).
pub(crate) fn map<A: Copy + Sync, O: Copy + Default + Send>(
    x: TensorView<'_, A>,
    f: impl Fn(A) -> O + Sync + Send,
) -> Tensor<O> {
    const CH: usize = PAR_MIN_ELEMS / 4;
    let src = x.data();
    let out = build(src.len(), CH, 4, |ci, sink| {
        let xs = src.get(ci * CH..).unwrap_or_default();
        simd(
            #[inline(always)]
            || sink.extend(xs.iter().map(|&v| f(v))),
        )
    });
    Tensor::from_parts(x.shape().to_vec(), out)
}

/// `f(x, y)` over the NumPy broadcast of `x` and `y`.
///
/// Fast paths for equal shapes and scalar operands; otherwise dimensions are coalesced and
/// each output row is produced from two reads with the row's strides: contiguous rows, rows
/// against one broadcast value (stride 0; per-channel vectors) and general strides each have
/// their own loop. Every loop is compiled for AVX-512 too (`par::simd`), where the CPU has it.
pub fn broadcast_binary<A, B, O>(
    op: &'static str,
    x: TensorView<'_, A>,
    y: TensorView<'_, B>,
    f: impl Fn(A, B) -> O + Sync + Send,
) -> Result<Tensor<O>>
where
    A: Copy + Sync,
    B: Copy + Sync,
    O: Copy + Default + Send,
{
    let shape = broadcast_shapes(op, x.shape(), y.shape())?;
    let n = num_elements(op, &shape)?;
    let (xd, yd) = (x.data(), y.data());
    if n == 0 {
        return Ok(Tensor::from_parts(shape, Vec::new()));
    }
    const CH: usize = PAR_MIN_ELEMS / 4;
    let f = &f;
    let out = if x.shape() == y.shape() {
        build(n, CH, 4, |ci, sink| {
            let xs = xd.get(ci * CH..).unwrap_or_default();
            let ys = yd.get(ci * CH..).unwrap_or_default();
            simd(
                #[inline(always)]
                || sink.extend(xs.iter().zip(ys).map(|(&a, &b)| f(a, b))),
            )
        })
    } else if let ([s], true) = (yd, xd.len() == n) {
        build(n, CH, 4, |ci, sink| {
            let xs = xd.get(ci * CH..).unwrap_or_default();
            simd(
                #[inline(always)]
                || sink.extend(xs.iter().map(|&a| f(a, *s))),
            )
        })
    } else if let ([s], true) = (xd, yd.len() == n) {
        build(n, CH, 4, |ci, sink| {
            let ys = yd.get(ci * CH..).unwrap_or_default();
            simd(
                #[inline(always)]
                || sink.extend(ys.iter().map(|&b| f(*s, b))),
            )
        })
    } else {
        let sx = broadcast_strides(x.shape(), &shape);
        let sy = broadcast_strides(y.shape(), &shape);
        let (cshape, cstr) = coalesce(&shape, &[&sx, &sy]);
        let (sx, sy) = (&cstr[0], &cstr[1]);
        let last = cshape.len() - 1;
        let row = cshape[last].max(1);
        let (ix, iy) = (sx[last], sy[last]);
        let outer = &cshape[..last];
        build_rows(n, row, 4, |r, sink| {
            // Offsets of this row's first element in x and y.
            let mut rem = r;
            let (mut ox, mut oy) = (0usize, 0usize);
            for d in (0..outer.len()).rev() {
                let i = rem % outer[d];
                rem /= outer[d];
                ox += i * sx[d];
                oy += i * sy[d];
            }
            binary_row(sink, xd, yd, (ox, ix), (oy, iy), row, f);
            true
        })
    };
    Ok(Tensor::from_parts(shape, out))
}

/// One output row of [`broadcast_binary`]: `row` elements `f(x[ox + j·ix], y[oy + j·iy])`.
#[inline(always)]
fn binary_row<A: Copy, B: Copy, O: Default>(
    sink: &mut Sink<'_, O>,
    xd: &[A],
    yd: &[B],
    (ox, ix): (usize, usize),
    (oy, iy): (usize, usize),
    row: usize,
    f: &impl Fn(A, B) -> O,
) {
    let span = |o: usize, i: usize| o..o + (row - 1) * i + 1;
    let (Some(xs), Some(ys)) = (xd.get(span(ox, ix)), yd.get(span(oy, iy))) else {
        // Unreachable for consistent shapes; a row of defaults keeps later rows in place.
        sink.extend(std::iter::repeat_with(O::default).take(row));
        return;
    };
    simd(
        #[inline(always)]
        || match (ix, iy) {
            (1, 1) => sink.extend(xs.iter().zip(ys).map(|(&a, &b)| f(a, b))),
            (1, 0) => sink.extend(xs.iter().map(|&a| f(a, ys[0]))),
            (0, 1) => sink.extend(ys.iter().map(|&b| f(xs[0], b))),
            _ => sink.extend((0..row).map(|j| f(xs[j * ix], ys[j * iy]))),
        },
    )
}

/// Binary arithmetic ops of MIL's `elementwise_binary` family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    /// `x / y` (IEEE: x/0 = ±inf, 0/0 = NaN).
    RealDiv,
    /// `floor(x / y)`.
    FloorDiv,
    /// `x ^ y` (`powf`).
    Pow,
    Maximum,
    Minimum,
    /// `x - floor(x / y) · y`: the result has the sign of `y` (NumPy `mod`).
    Mod,
}

impl BinaryOp {
    pub const fn mil_name(self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "sub",
            BinaryOp::Mul => "mul",
            BinaryOp::RealDiv => "real_div",
            BinaryOp::FloorDiv => "floor_div",
            BinaryOp::Pow => "pow",
            BinaryOp::Maximum => "maximum",
            BinaryOp::Minimum => "minimum",
            BinaryOp::Mod => "mod",
        }
    }
}

/// `x ∘ y` with broadcasting.
pub fn binary(op: BinaryOp, x: TensorView<'_>, y: TensorView<'_>) -> Result<Tensor> {
    let name = op.mil_name();
    match op {
        BinaryOp::Add => broadcast_binary(name, x, y, |a, b| a + b),
        BinaryOp::Sub => broadcast_binary(name, x, y, |a, b| a - b),
        BinaryOp::Mul => broadcast_binary(name, x, y, |a, b| a * b),
        BinaryOp::RealDiv => broadcast_binary(name, x, y, |a, b| a / b),
        BinaryOp::FloorDiv => broadcast_binary(name, x, y, |a, b| (a / b).floor()),
        BinaryOp::Pow => broadcast_binary(name, x, y, f32::powf),
        // NaN-propagating like numpy's maximum/minimum (f32::max would drop the NaN).
        BinaryOp::Maximum => broadcast_binary(name, x, y, |a, b| {
            if a.is_nan() || b.is_nan() {
                f32::NAN
            } else {
                a.max(b)
            }
        }),
        BinaryOp::Minimum => broadcast_binary(name, x, y, |a, b| {
            if a.is_nan() || b.is_nan() {
                f32::NAN
            } else {
                a.min(b)
            }
        }),
        BinaryOp::Mod => broadcast_binary(name, x, y, |a, b| {
            let r = a % b;
            if r != 0.0 && ((r < 0.0) != (b < 0.0)) {
                r + b
            } else {
                r
            }
        }),
    }
}

/// Comparison ops; results are masks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Equal,
    NotEqual,
    Greater,
    GreaterEqual,
    Less,
    LessEqual,
}

/// `x ⋚ y` with broadcasting. NaN compares unequal to everything (IEEE).
pub fn compare(op: CompareOp, x: TensorView<'_>, y: TensorView<'_>) -> Result<Tensor<bool>> {
    match op {
        CompareOp::Equal => broadcast_binary("equal", x, y, |a, b| a == b),
        CompareOp::NotEqual => broadcast_binary("not_equal", x, y, |a, b| a != b),
        CompareOp::Greater => broadcast_binary("greater", x, y, |a, b| a > b),
        CompareOp::GreaterEqual => broadcast_binary("greater_equal", x, y, |a, b| a >= b),
        CompareOp::Less => broadcast_binary("less", x, y, |a, b| a < b),
        CompareOp::LessEqual => broadcast_binary("less_equal", x, y, |a, b| a <= b),
    }
}

/// Logical ops on masks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogicalOp {
    And,
    Or,
    Xor,
}

pub fn logical(
    op: LogicalOp,
    x: TensorView<'_, bool>,
    y: TensorView<'_, bool>,
) -> Result<Tensor<bool>> {
    match op {
        LogicalOp::And => broadcast_binary("logical_and", x, y, |a, b| a && b),
        LogicalOp::Or => broadcast_binary("logical_or", x, y, |a, b| a || b),
        LogicalOp::Xor => broadcast_binary("logical_xor", x, y, |a, b| a != b),
    }
}

pub fn logical_not(x: TensorView<'_, bool>) -> Tensor<bool> {
    map(x, |a| !a)
}

/// A mask as 0.0 / 1.0 values (MIL `cast` from bool to a float type).
pub fn mask_to_f32(x: TensorView<'_, bool>) -> Tensor {
    map(x, |a| if a { 1.0 } else { 0.0 })
}

/// A float tensor as a mask (MIL `cast` to bool): nonzero (and NaN) is true.
pub fn f32_to_mask(x: TensorView<'_>) -> Tensor<bool> {
    map(x, |a| a != 0.0)
}

/// MIL `select`: `cond ? a : b`, all three broadcast together.
pub fn select(cond: TensorView<'_, bool>, a: TensorView<'_>, b: TensorView<'_>) -> Result<Tensor> {
    let shape = broadcast_shapes("select", cond.shape(), a.shape())?;
    let shape = broadcast_shapes("select", &shape, b.shape())?;
    let ca = crate::tensor::broadcast_to(cond, &shape)?;
    let aa = broadcast_binary("select", ca.view(), a, |c, v| (c, v))?;
    broadcast_binary("select", aa.view(), b, |(c, v), w| if c { v } else { w })
}

/// Unary math ops of MIL's `elementwise_unary` family. Activation functions live in
/// [`crate::activation`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UnaryOp {
    Abs,
    Neg,
    Sqrt,
    /// `1 / sqrt(x + epsilon)` (MIL default epsilon 1e-12).
    Rsqrt {
        epsilon: f32,
    },
    /// `1 / (x + epsilon)` (MIL default epsilon 1e-4).
    Inverse {
        epsilon: f32,
    },
    Exp,
    Exp2,
    /// `ln(x + epsilon)` (MIL default epsilon 1e-45).
    Log {
        epsilon: f32,
    },
    Square,
    Floor,
    Ceil,
    /// Round half to even: coremltools evaluates MIL `round` with `np.round` and documents
    /// "0.5 is rounded to 0" (iOS15 `elementwise_unary.py`). What the ANE does on a tie is not
    /// verified.
    Round,
    /// -1, 0 or 1 (0 for ±0; NaN stays NaN).
    Sign,
    Sin,
    Cos,
    Tan,
    Tanh,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Atanh,
    Erf,
    /// `min(max(x, alpha), beta)`.
    Clip {
        alpha: f32,
        beta: f32,
    },
    /// `max(x, alpha)`.
    Threshold {
        alpha: f32,
    },
}

/// Apply a unary op to every element.
pub fn unary(op: UnaryOp, x: TensorView<'_>) -> Tensor {
    match op {
        UnaryOp::Abs => map(x, f32::abs),
        UnaryOp::Neg => map(x, |v| -v),
        UnaryOp::Sqrt => map(x, f32::sqrt),
        UnaryOp::Rsqrt { epsilon } => map(x, move |v| 1.0 / (v + epsilon).sqrt()),
        UnaryOp::Inverse { epsilon } => map(x, move |v| 1.0 / (v + epsilon)),
        UnaryOp::Exp => map(x, f32::exp),
        UnaryOp::Exp2 => map(x, f32::exp2),
        UnaryOp::Log { epsilon } => map(x, move |v| (v + epsilon).ln()),
        UnaryOp::Square => map(x, |v| v * v),
        UnaryOp::Floor => map(x, f32::floor),
        UnaryOp::Ceil => map(x, f32::ceil),
        UnaryOp::Round => map(x, f32::round_ties_even),
        UnaryOp::Sign => map(x, |v| {
            if v > 0.0 {
                1.0
            } else if v < 0.0 {
                -1.0
            } else {
                v * 0.0 // ±0 → 0, NaN → NaN
            }
        }),
        UnaryOp::Sin => map(x, f32::sin),
        UnaryOp::Cos => map(x, f32::cos),
        UnaryOp::Tan => map(x, f32::tan),
        UnaryOp::Tanh => map(x, f32::tanh),
        UnaryOp::Asin => map(x, f32::asin),
        UnaryOp::Acos => map(x, f32::acos),
        UnaryOp::Atan => map(x, f32::atan),
        UnaryOp::Sinh => map(x, f32::sinh),
        UnaryOp::Cosh => map(x, f32::cosh),
        UnaryOp::Atanh => map(x, f32::atanh),
        UnaryOp::Erf => map(x, libm::erff),
        // NaN passes through (numpy's clip), which f32::max/min would replace by a bound.
        UnaryOp::Clip { alpha, beta } => map(x, move |v| {
            if v.is_nan() {
                v
            } else {
                v.max(alpha).min(beta)
            }
        }),
        UnaryOp::Threshold { alpha } => map(x, move |v| if v.is_nan() { v } else { v.max(alpha) }),
    }
}
