//! Type and shape inference, one function per op family, attached to registry entries
//! ([`crate::ops::OpDef::infer`]). Semantics follow coremltools' `type_inference` methods
//! (reference/mil-text.md §6, [source]); unknown dims (`?`) propagate as unknown.

use crate::ir::ConstData;
use crate::ops::Opset;
use crate::types::{Dim, TensorType, Type};
use anekit_core::DType;

/// Inference for one op: the result types, in order.
pub type InferFn = fn(&InferCtx<'_>) -> Result<Vec<Type>, InferError>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InferError {
    /// The inputs are inconsistent (a real error in the program).
    Invalid(String),
    /// The result cannot be known statically (e.g. a reshape to a non-constant shape of unknown
    /// length); the declared type is trusted.
    Unknowable,
}

fn invalid<T>(msg: impl Into<String>) -> Result<T, InferError> {
    Err(InferError::Invalid(msg.into()))
}

/// One input as inference sees it: its type and, when it is a constant, its value.
#[derive(Debug, Clone)]
pub enum ArgInfo<'a> {
    One {
        ty: &'a Type,
        value: Option<&'a ConstData>,
    },
    Tuple(Vec<ArgInfo<'a>>),
    /// Did not resolve (already reported).
    Missing,
}

/// What an inference function gets: the op's bound inputs and how many results it declares.
#[derive(Debug)]
pub struct InferCtx<'a> {
    pub opset: Opset,
    pub args: Vec<(&'a str, ArgInfo<'a>)>,
    pub result_count: usize,
}

impl<'a> InferCtx<'a> {
    pub fn arg(&self, name: &str) -> Option<&ArgInfo<'a>> {
        self.args.iter().find(|(n, _)| *n == name).map(|(_, a)| a)
    }

    /// The type of a single (non-tuple) input.
    pub fn ty(&self, name: &str) -> Result<&'a Type, InferError> {
        match self.arg(name) {
            Some(ArgInfo::One { ty, .. }) => Ok(ty),
            Some(ArgInfo::Missing) | None => Err(InferError::Unknowable),
            Some(ArgInfo::Tuple(_)) => invalid(format!("input `{name}` is a tuple")),
        }
    }

    pub fn tensor(&self, name: &str) -> Result<&'a TensorType, InferError> {
        match self.ty(name)? {
            Type::Tensor(t) => Ok(t),
            other => invalid(format!(
                "input `{name}` is a {}, expected a tensor",
                other.kind_name()
            )),
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.arg(name).is_some()
    }

    pub fn value(&self, name: &str) -> Option<&'a ConstData> {
        match self.arg(name) {
            Some(ArgInfo::One { value, .. }) => *value,
            _ => None,
        }
    }

    /// The constant integer contents of an input (None when absent or not constant).
    pub fn ints(&self, name: &str) -> Option<Vec<i64>> {
        self.value(name)?.as_i64s()
    }

    /// A constant integer scalar (or one-element tensor).
    pub fn int(&self, name: &str) -> Option<i64> {
        match self.ints(name)?.as_slice() {
            [v] => Some(*v),
            _ => None,
        }
    }

    pub fn bools(&self, name: &str) -> Option<Vec<bool>> {
        self.value(name)?.as_bools().map(<[bool]>::to_vec)
    }

    pub fn bool(&self, name: &str) -> Option<bool> {
        match self.value(name)?.as_bools()? {
            [b] => Some(*b),
            _ => None,
        }
    }

    pub fn string(&self, name: &str) -> Option<&'a str> {
        self.value(name)?.as_str()
    }

    /// The tensors of a tuple input.
    pub fn tuple(&self, name: &str) -> Result<Vec<&'a TensorType>, InferError> {
        match self.arg(name) {
            Some(ArgInfo::Tuple(items)) => items
                .iter()
                .map(|a| match a {
                    ArgInfo::One {
                        ty: Type::Tensor(t),
                        ..
                    } => Ok(t),
                    ArgInfo::One { ty, .. } => invalid(format!(
                        "an item of `{name}` is a {}, expected a tensor",
                        ty.kind_name()
                    )),
                    _ => Err(InferError::Unknowable),
                })
                .collect(),
            Some(ArgInfo::One { .. }) => {
                invalid(format!("input `{name}` must be a tuple `(a, b, ...)`"))
            }
            _ => Err(InferError::Unknowable),
        }
    }
}

/// Normalise a possibly negative axis for a tensor of rank `rank`.
pub fn norm_axis(axis: i64, rank: usize) -> Result<usize, InferError> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if (0..r).contains(&a) {
        Ok(a as usize)
    } else {
        invalid(format!("axis {axis} is out of range for rank {rank}"))
    }
}

/// The largest rank inference allocates for when a rank comes from a shape tensor's length.
const MAX_RANK: u64 = 4096;

fn one(t: TensorType) -> Result<Vec<Type>, InferError> {
    Ok(vec![Type::Tensor(t)])
}

fn known(n: u64) -> Dim {
    Dim::Known(n)
}

fn dim_from_i64(v: i64) -> Dim {
    u64::try_from(v).map_or(Dim::Unknown, Dim::Known)
}

fn dtype_named(name: &str, input: &str) -> Result<DType, InferError> {
    match DType::from_mil_name(name) {
        Some(d) => Ok(d),
        None => invalid(format!("`{input}` names unknown dtype \"{name}\"")),
    }
}

// ---- elementwise ----

pub fn same_as_x(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    Ok(vec![c.ty("x")?.clone()])
}

pub fn same_as_data(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    one(c.tensor("data")?.clone())
}

pub fn cast(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let x = c.tensor("x")?;
    let dtype = c.string("dtype").ok_or(InferError::Unknowable)?;
    one(TensorType::new(
        dtype_named(dtype, "dtype")?,
        x.shape.clone(),
    ))
}

/// Numpy broadcasting of two shapes.
pub fn broadcast(a: &[Dim], b: &[Dim]) -> Result<Vec<Dim>, InferError> {
    let rank = a.len().max(b.len());
    let pad = |s: &[Dim], i: usize| -> Dim {
        let offset = rank - s.len();
        if i < offset {
            Dim::Known(1)
        } else {
            s.get(i - offset).copied().unwrap_or(Dim::Unknown)
        }
    };
    (0..rank)
        .map(|i| match (pad(a, i), pad(b, i)) {
            (Dim::Known(1), d) | (d, Dim::Known(1)) => Ok(d),
            (Dim::Known(x), Dim::Known(y)) if x == y => Ok(Dim::Known(x)),
            (Dim::Known(x), Dim::Known(y)) => invalid(format!(
                "shapes {} and {} do not broadcast (dim {x} vs {y})",
                fmt_shape(a),
                fmt_shape(b)
            )),
            (Dim::Known(x), Dim::Unknown) | (Dim::Unknown, Dim::Known(x)) => Ok(Dim::Known(x)),
            (Dim::Unknown, Dim::Unknown) => Ok(Dim::Unknown),
        })
        .collect()
}

pub fn fmt_shape(s: &[Dim]) -> String {
    let parts: Vec<String> = s.iter().map(ToString::to_string).collect();
    format!("[{}]", parts.join(", "))
}

fn same_dtype(a: &TensorType, b: &TensorType, an: &str, bn: &str) -> Result<(), InferError> {
    if a.dtype == b.dtype {
        Ok(())
    } else {
        invalid(format!("`{an}` is {} but `{bn}` is {}", a.dtype, b.dtype))
    }
}

pub fn binary_arith(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let (x, y) = (c.tensor("x")?, c.tensor("y")?);
    same_dtype(x, y, "x", "y")?;
    one(TensorType::new(x.dtype, broadcast(&x.shape, &y.shape)?))
}

pub fn binary_compare(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let (x, y) = (c.tensor("x")?, c.tensor("y")?);
    same_dtype(x, y, "x", "y")?;
    one(TensorType::new(DType::Bool, broadcast(&x.shape, &y.shape)?))
}

pub fn select(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let (cond, a, b) = (c.tensor("cond")?, c.tensor("a")?, c.tensor("b")?);
    same_dtype(a, b, "a", "b")?;
    let ab = broadcast(&a.shape, &b.shape)?;
    one(TensorType::new(a.dtype, broadcast(&cond.shape, &ab)?))
}

// ---- linear algebra ----

fn check_eq(a: Dim, b: Dim, what: impl FnOnce() -> String) -> Result<(), InferError> {
    match (a, b) {
        (Dim::Known(x), Dim::Known(y)) if x != y => invalid(format!("{} ({x} vs {y})", what())),
        _ => Ok(()),
    }
}

fn last(s: &[Dim]) -> Dim {
    s.last().copied().unwrap_or(Dim::Unknown)
}

fn at(s: &[Dim], i: usize) -> Dim {
    s.get(i).copied().unwrap_or(Dim::Unknown)
}

pub fn linear(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let (x, w) = (c.tensor("x")?, c.tensor("weight")?);
    if x.rank() == 0 {
        return invalid("`x` must have rank >= 1");
    }
    if w.rank() != 2 {
        return invalid(format!(
            "`weight` must have rank 2 ([out, in]), has rank {}",
            w.rank()
        ));
    }
    check_eq(last(&x.shape), at(&w.shape, 1), || {
        "the last dim of `x` must equal dim 1 of `weight`".into()
    })?;
    if let Ok(b) = c.tensor("bias") {
        check_eq(last(&b.shape), at(&w.shape, 0), || {
            "`bias` length must equal dim 0 of `weight`".into()
        })?;
    }
    let mut shape = x.shape.clone();
    if let Some(l) = shape.last_mut() {
        *l = at(&w.shape, 0);
    }
    one(TensorType::new(x.dtype, shape))
}

pub fn matmul(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let (x, y) = (c.tensor("x")?, c.tensor("y")?);
    same_dtype(x, y, "x", "y")?;
    let tx = c.bool("transpose_x").unwrap_or(false);
    let ty = c.bool("transpose_y").unwrap_or(false);
    if x.rank() == 0 || y.rank() == 0 {
        return invalid("matmul inputs must have rank >= 1");
    }
    // Rank-1 operands are promoted to matrices and the added dim removed afterwards (numpy).
    let mut xs = x.shape.clone();
    let mut ys = y.shape.clone();
    let x_vec = xs.len() == 1;
    let y_vec = ys.len() == 1;
    if (x_vec && tx) || (y_vec && ty) {
        return invalid("a rank-1 operand cannot be transposed");
    }
    if x_vec {
        xs.insert(0, known(1));
    } else if tx {
        let n = xs.len();
        xs.swap(n - 2, n - 1);
    }
    if y_vec {
        ys.push(known(1));
    } else if ty {
        let n = ys.len();
        ys.swap(n - 2, n - 1);
    }
    let (xn, yn) = (xs.len(), ys.len());
    check_eq(at(&xs, xn - 1), at(&ys, yn - 2), || {
        "the inner dimensions of `x` and `y` differ".into()
    })?;
    let mut shape = broadcast(
        xs.get(..xn - 2).unwrap_or_default(),
        ys.get(..yn - 2).unwrap_or_default(),
    )?;
    shape.push(at(&xs, xn - 2));
    if !y_vec {
        shape.push(at(&ys, yn - 1));
    }
    if x_vec {
        // coremltools removes the *first* dim of the result for a rank-1 `x` (numpy removes the
        // prepended 1 at -2); they differ only with batch dims. Compiled files carry
        // coremltools' declared types, so follow it.
        shape.remove(0);
    }
    one(TensorType::new(x.dtype, shape))
}

// ---- convolution and pooling ----

/// Output length of one spatial dim (coremltools `spatial_dimensions_out_shape`).
fn conv_out(
    input: Dim,
    kernel: u64,
    stride: u64,
    dilation: u64,
    pad: (u64, u64),
    pad_type: &str,
    ceil_mode: bool,
) -> Result<Dim, InferError> {
    let Dim::Known(n) = input else {
        return Ok(Dim::Unknown);
    };
    if stride == 0 || dilation == 0 {
        return invalid("strides and dilations must be positive");
    }
    let eff = kernel
        .saturating_sub(1)
        .saturating_mul(dilation)
        .saturating_add(1);
    let padded = match pad_type {
        "valid" => n,
        "custom" => n.saturating_add(pad.0).saturating_add(pad.1),
        "same" | "same_lower" => return Ok(known(n.div_ceil(stride))),
        other => return invalid(format!("unknown pad_type \"{other}\"")),
    };
    if padded < eff {
        return invalid(format!(
            "spatial size {padded} (after padding) is smaller than the effective kernel size {eff}"
        ));
    }
    let span = padded - eff;
    Ok(known(
        if ceil_mode {
            span.div_ceil(stride)
        } else {
            span / stride
        }
        .saturating_add(1),
    ))
}

fn positive_list(
    c: &InferCtx<'_>,
    name: &str,
    len: usize,
    default: u64,
) -> Result<Vec<u64>, InferError> {
    match c.ints(name) {
        None if c.has(name) => Err(InferError::Unknowable),
        None => Ok(vec![default; len]),
        Some(v) if v.len() == len => v
            .iter()
            .map(|&i| {
                u64::try_from(i)
                    .map_err(|_| InferError::Invalid(format!("`{name}` has a negative entry")))
            })
            .collect(),
        Some(v) => invalid(format!("`{name}` has {} entries, expected {len}", v.len())),
    }
}

fn pads(c: &InferCtx<'_>, spatial: usize, pad_type: &str) -> Result<Vec<(u64, u64)>, InferError> {
    if pad_type != "custom" {
        return Ok(vec![(0, 0); spatial]);
    }
    let p = positive_list(c, "pad", 2 * spatial, 0)?;
    Ok(p.chunks(2)
        .map(|ch| {
            (
                ch.first().copied().unwrap_or(0),
                ch.get(1).copied().unwrap_or(0),
            )
        })
        .collect())
}

pub fn conv(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let (x, w) = (c.tensor("x")?, c.tensor("weight")?);
    if x.rank() < 3 {
        return invalid(format!(
            "`x` must be [N, C, spatial...], has rank {}",
            x.rank()
        ));
    }
    if w.rank() != x.rank() {
        return invalid(format!(
            "`weight` has rank {} but `x` has rank {} (weight layout [C_out, C_in/groups, k...])",
            w.rank(),
            x.rank()
        ));
    }
    let spatial = x.rank() - 2;
    let groups = match c.int("groups") {
        Some(g) if g >= 1 => g as u64,
        Some(g) => return invalid(format!("groups must be >= 1, got {g}")),
        None if c.has("groups") => return Err(InferError::Unknowable),
        None => 1,
    };
    if let (Dim::Known(cin), Dim::Known(wc)) = (at(&x.shape, 1), at(&w.shape, 1))
        && cin != wc.saturating_mul(groups)
    {
        return invalid(format!(
            "`x` has {cin} channels but `weight` expects {wc} per group x {groups} group(s)"
        ));
    }
    if let Ok(b) = c.tensor("bias") {
        check_eq(last(&b.shape), at(&w.shape, 0), || {
            "`bias` length must equal the output channels (dim 0 of `weight`)".into()
        })?;
    }
    let pad_type = match c.string("pad_type") {
        Some(p) => p,
        None if c.has("pad_type") => return Err(InferError::Unknowable),
        None => "valid",
    };
    let strides = positive_list(c, "strides", spatial, 1)?;
    let dilations = positive_list(c, "dilations", spatial, 1)?;
    let pad = pads(c, spatial, pad_type)?;
    let mut shape = vec![at(&x.shape, 0), at(&w.shape, 0)];
    for i in 0..spatial {
        let Dim::Known(k) = at(&w.shape, i + 2) else {
            shape.push(Dim::Unknown);
            continue;
        };
        shape.push(conv_out(
            at(&x.shape, i + 2),
            k,
            strides.get(i).copied().unwrap_or(1),
            dilations.get(i).copied().unwrap_or(1),
            pad.get(i).copied().unwrap_or((0, 0)),
            pad_type,
            false,
        )?);
    }
    one(TensorType::new(x.dtype, shape))
}

pub fn pool(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let x = c.tensor("x")?;
    if x.rank() < 3 {
        return invalid(format!(
            "`x` must be [N, C, spatial...], has rank {}",
            x.rank()
        ));
    }
    let spatial = x.rank() - 2;
    let kernel = positive_list(c, "kernel_sizes", spatial, 1)?;
    let strides = positive_list(c, "strides", spatial, 1)?;
    let pad_type = c.string("pad_type").ok_or(InferError::Unknowable)?;
    let pad = pads(c, spatial, pad_type)?;
    let ceil_mode = c.bool("ceil_mode").unwrap_or(false);
    let mut shape = vec![at(&x.shape, 0), at(&x.shape, 1)];
    for i in 0..spatial {
        shape.push(conv_out(
            at(&x.shape, i + 2),
            kernel.get(i).copied().unwrap_or(1),
            strides.get(i).copied().unwrap_or(1),
            1,
            pad.get(i).copied().unwrap_or((0, 0)),
            pad_type,
            ceil_mode,
        )?);
    }
    one(TensorType::new(x.dtype, shape))
}

// ---- shape manipulation ----

/// What a 0 in a reshape target means: iOS15/16 copy the input dim at the same index (and need
/// a target of the input's rank); iOS17 aligns the target with the input from the right, and a
/// 0 with no matching input dim is 1 (coremltools iOS17 `reshape` docs).
fn zero_dim(opset: Opset, input: &[Dim], i: usize, target_len: usize) -> Result<Dim, InferError> {
    if opset < Opset::Ios17 {
        if target_len != input.len() {
            return invalid(format!(
                "`shape` contains 0 but has {target_len} entries for an input of rank {} (allowed from ios17)",
                input.len()
            ));
        }
        return Ok(at(input, i));
    }
    // shape[i] matches input[j] when target_len - i == rank - j.
    let from_right = target_len - i;
    Ok(match input.len().checked_sub(from_right) {
        Some(j) => at(input, j),
        None => known(1),
    })
}

pub fn reshape(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let x = c.tensor("x")?;
    let Some(target) = c.ints("shape") else {
        // Dynamic shape: the rank is the length of the shape tensor, when known.
        let s = c.tensor("shape")?;
        return match s.shape.as_slice() {
            // A rank beyond any real tensor is not worth allocating for.
            [Dim::Known(n)] if *n <= MAX_RANK => {
                one(TensorType::new(x.dtype, vec![Dim::Unknown; *n as usize]))
            }
            _ => Err(InferError::Unknowable),
        };
    };
    let mut dims = Vec::with_capacity(target.len());
    let mut infer_at = None;
    for (i, &t) in target.iter().enumerate() {
        dims.push(match t {
            -1 if infer_at.is_none() => {
                infer_at = Some(i);
                Dim::Unknown
            }
            -1 => return invalid("`shape` has more than one -1"),
            0 => zero_dim(c.opset, &x.shape, i, target.len())?,
            t if t > 0 => known(t as u64),
            t => return invalid(format!("`shape` has invalid entry {t}")),
        });
    }
    let total = x.element_count();
    let rest: Option<u64> = dims
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != infer_at)
        .try_fold(1u64, |acc, (_, d)| acc.checked_mul(d.known()?));
    if let (Some(total), Some(rest)) = (total, rest) {
        match infer_at {
            Some(i) => {
                if rest == 0 || total % rest != 0 {
                    return invalid(format!(
                        "cannot reshape {} ({total} elements) to {target:?}",
                        fmt_shape(&x.shape)
                    ));
                }
                if let Some(d) = dims.get_mut(i) {
                    *d = known(total / rest);
                }
            }
            None if rest != total => {
                return invalid(format!(
                    "cannot reshape {} ({total} elements) to {target:?} ({rest} elements)",
                    fmt_shape(&x.shape)
                ));
            }
            None => {}
        }
    }
    one(TensorType::new(x.dtype, dims))
}

pub fn transpose(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let x = c.tensor("x")?;
    let perm = c.ints("perm").ok_or(InferError::Unknowable)?;
    if perm.len() != x.rank() {
        return invalid(format!(
            "`perm` has {} entries but `x` has rank {}",
            perm.len(),
            x.rank()
        ));
    }
    let mut seen = vec![false; x.rank()];
    let mut shape = Vec::with_capacity(x.rank());
    for &p in &perm {
        let a = norm_axis(p, x.rank())?;
        match seen.get_mut(a) {
            Some(s) if !*s => *s = true,
            _ => return invalid(format!("`perm` {perm:?} is not a permutation")),
        }
        shape.push(at(&x.shape, a));
    }
    one(TensorType::new(x.dtype, shape))
}

fn sum_dims(a: Dim, b: Dim) -> Dim {
    match (a, b) {
        (Dim::Known(x), Dim::Known(y)) => x.checked_add(y).map_or(Dim::Unknown, Dim::Known),
        _ => Dim::Unknown,
    }
}

fn merge_dims(a: Dim, b: Dim) -> Dim {
    if a == Dim::Unknown { b } else { a }
}

pub fn concat(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let values = c.tuple("values")?;
    let axis = c.int("axis").ok_or(InferError::Unknowable)?;
    let Some(first) = values.first() else {
        return invalid("`values` is empty");
    };
    let rank = first.rank();
    let axis = norm_axis(axis, rank)?;
    let mut shape = first.shape.clone();
    for (n, v) in values.iter().enumerate().skip(1) {
        same_dtype(first, v, "values[0]", &format!("values[{n}]"))?;
        if v.rank() != rank {
            return invalid(format!(
                "values[{n}] has rank {} but values[0] has rank {rank}",
                v.rank()
            ));
        }
        for (i, (s, d)) in shape.iter_mut().zip(&v.shape).enumerate() {
            if i == axis {
                *s = sum_dims(*s, *d);
            } else {
                check_eq(*s, *d, || format!("values[{n}] differs in dim {i}"))?;
                *s = merge_dims(*s, *d);
            }
        }
    }
    one(TensorType::new(first.dtype, shape))
}

pub fn stack(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let values = c.tuple("values")?;
    let axis = c.int("axis").ok_or(InferError::Unknowable)?;
    let Some(first) = values.first() else {
        return invalid("`values` is empty");
    };
    let mut shape = first.shape.clone();
    for (n, v) in values.iter().enumerate().skip(1) {
        same_dtype(first, v, "values[0]", &format!("values[{n}]"))?;
        if v.rank() != shape.len() {
            return invalid(format!(
                "values[{n}] has rank {} but values[0] has rank {}",
                v.rank(),
                shape.len()
            ));
        }
        for (i, (s, d)) in shape.iter_mut().zip(&v.shape).enumerate() {
            check_eq(*s, *d, || format!("values[{n}] differs in dim {i}"))?;
            *s = merge_dims(*s, *d);
        }
    }
    let axis = norm_axis(axis, shape.len() + 1)?;
    shape.insert(axis, known(values.len() as u64));
    one(TensorType::new(first.dtype, shape))
}

pub fn split(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let x = c.tensor("x")?;
    let axis = norm_axis(c.int("axis").ok_or(InferError::Unknowable)?, x.rank())?;
    let n = at(&x.shape, axis);
    let sizes: Vec<Dim> = if let Some(sizes) = c.ints("split_sizes") {
        if let Dim::Known(n) = n {
            let total: i128 = sizes.iter().map(|&s| i128::from(s)).sum();
            if total != i128::from(n) {
                return invalid(format!(
                    "`split_sizes` {sizes:?} sum to {total}, but dim {axis} is {n}"
                ));
            }
        }
        sizes.into_iter().map(dim_from_i64).collect()
    } else if c.has("split_sizes") {
        vec![Dim::Unknown; c.result_count]
    } else {
        let parts = match c.int("num_splits") {
            Some(p) if p > 0 => p as u64,
            Some(p) => return invalid(format!("num_splits must be positive, got {p}")),
            None if c.has("num_splits") => return Err(InferError::Unknowable),
            None => c.result_count as u64,
        };
        if parts != c.result_count as u64 {
            return invalid(format!(
                "num_splits is {parts} but the statement binds {} result(s)",
                c.result_count
            ));
        }
        match n {
            Dim::Known(n) if parts > 0 && n % parts == 0 => vec![known(n / parts); parts as usize],
            Dim::Known(n) => {
                return invalid(format!(
                    "dim {axis} of size {n} does not split into {parts} equal parts"
                ));
            }
            Dim::Unknown => vec![Dim::Unknown; parts as usize],
        }
    };
    Ok(sizes
        .into_iter()
        .map(|d| {
            let mut shape = x.shape.clone();
            if let Some(s) = shape.get_mut(axis) {
                *s = d;
            }
            Type::Tensor(TensorType::new(x.dtype, shape))
        })
        .collect())
}

/// Length of python `range(dim)[begin:end:stride]`, begin/end None meaning "from the start/to the
/// end". i128 so that no i64/u64 input can overflow.
fn slice_len(dim: i128, begin: Option<i128>, end: Option<i128>, stride: i128) -> i128 {
    let clamp = |v: i128, lo: i128, hi: i128| v.max(lo).min(hi);
    let norm = |v: i128| if v < 0 { v + dim } else { v };
    if stride > 0 {
        let b = begin.map_or(0, |b| clamp(norm(b), 0, dim));
        let e = end.map_or(dim, |e| clamp(norm(e), 0, dim));
        if e > b {
            (e - b + stride - 1) / stride
        } else {
            0
        }
    } else {
        let b = begin.map_or(dim - 1, |b| clamp(norm(b), -1, dim - 1));
        let e = end.map_or(-1, |e| clamp(norm(e), -1, dim - 1));
        let s = -stride;
        if b > e { (b - e + s - 1) / s } else { 0 }
    }
}

pub fn slice_by_index(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let x = c.tensor("x")?;
    let r = x.rank();
    let begin = c.ints("begin");
    let end = c.ints("end");
    let stride = c.ints("stride");
    let mask = |name: &str| -> Result<Vec<bool>, InferError> {
        match c.bools(name) {
            Some(m) if m.len() == r => Ok(m),
            Some(m) => invalid(format!("`{name}` has {} entries, expected {r}", m.len())),
            None if c.has(name) => Err(InferError::Unknowable),
            None => Ok(vec![false; r]),
        }
    };
    let (begin_mask, end_mask, squeeze_mask) = (
        mask("begin_mask")?,
        mask("end_mask")?,
        mask("squeeze_mask")?,
    );
    for (name, v) in [("begin", &begin), ("end", &end), ("stride", &stride)] {
        if let Some(v) = v
            && v.len() != r
        {
            return invalid(format!(
                "`{name}` has {} entries but `x` has rank {r}",
                v.len()
            ));
        }
    }
    if c.has("stride") && stride.is_none() {
        return one(TensorType::new(
            x.dtype,
            vec![Dim::Unknown; r - squeeze_mask.iter().filter(|&&s| s).count()],
        ));
    }
    let mut shape = Vec::with_capacity(r);
    for i in 0..r {
        if squeeze_mask.get(i).copied().unwrap_or(false) {
            continue;
        }
        let st = stride.as_ref().and_then(|s| s.get(i).copied()).unwrap_or(1);
        if st == 0 {
            return invalid(format!("`stride` entry {i} is 0"));
        }
        let bm = begin_mask.get(i).copied().unwrap_or(false);
        let em = end_mask.get(i).copied().unwrap_or(false);
        let b = if bm {
            Some(None)
        } else {
            begin.as_ref().and_then(|v| v.get(i)).map(|&b| Some(b))
        };
        let e = if em {
            Some(None)
        } else {
            end.as_ref().and_then(|v| v.get(i)).map(|&e| Some(e))
        };
        let d = match (at(&x.shape, i), b, e) {
            (Dim::Known(n), Some(b), Some(e)) => known(
                u64::try_from(slice_len(
                    i128::from(n),
                    b.map(i128::from),
                    e.map(i128::from),
                    i128::from(st),
                ))
                .unwrap_or(0),
            ),
            // Non-negative constant bounds give the size without knowing the dim.
            (Dim::Unknown, Some(Some(b)), Some(Some(e))) if b >= 0 && e >= 0 && st > 0 => {
                known(if e > b {
                    u64::try_from(
                        (i128::from(e) - i128::from(b) + i128::from(st) - 1) / i128::from(st),
                    )
                    .unwrap_or(0)
                } else {
                    0
                })
            }
            _ => Dim::Unknown,
        };
        shape.push(d);
    }
    one(TensorType::new(x.dtype, shape))
}

pub fn slice_by_size(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let x = c.tensor("x")?;
    let r = x.rank();
    let Some(size) = c.ints("size") else {
        return one(TensorType::new(x.dtype, vec![Dim::Unknown; r]));
    };
    if size.len() != r {
        return invalid(format!(
            "`size` has {} entries but `x` has rank {r}",
            size.len()
        ));
    }
    let begin = c.ints("begin");
    let mut shape = Vec::with_capacity(r);
    for (i, &s) in size.iter().enumerate() {
        let n = at(&x.shape, i);
        let b = begin.as_ref().and_then(|b| b.get(i).copied());
        let d = match s {
            -1 => match (n, b) {
                (Dim::Known(n), Some(b)) => {
                    let (n, b) = (i128::from(n), i128::from(b));
                    let b = if b < 0 { b + n } else { b };
                    u64::try_from(n - b).map_or(Dim::Unknown, Dim::Known)
                }
                _ => Dim::Unknown,
            },
            s if s >= 0 => {
                if let (Dim::Known(n), Some(b)) = (n, b) {
                    let (n, b) = (i128::from(n), i128::from(b));
                    let b0 = if b < 0 { b + n } else { b };
                    if b0 < 0 || b0 + i128::from(s) > n {
                        return invalid(format!(
                            "slice [{b}, {b}+{s}) is out of range for dim {i} of size {n}"
                        ));
                    }
                }
                known(s as u64)
            }
            s => return invalid(format!("`size` entry {i} is {s}")),
        };
        shape.push(d);
    }
    one(TensorType::new(x.dtype, shape))
}

pub fn squeeze(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let x = c.tensor("x")?;
    let drop: Vec<usize> = match c.ints("axes") {
        Some(axes) => axes
            .iter()
            .map(|&a| norm_axis(a, x.rank()))
            .collect::<Result<_, _>>()?,
        None if c.has("axes") => return Err(InferError::Unknowable),
        None => {
            if x.shape.contains(&Dim::Unknown) {
                return Err(InferError::Unknowable);
            }
            (0..x.rank())
                .filter(|&i| at(&x.shape, i) == known(1))
                .collect()
        }
    };
    for &a in &drop {
        if let Dim::Known(n) = at(&x.shape, a)
            && n != 1
        {
            return invalid(format!("cannot squeeze dim {a} of size {n}"));
        }
    }
    let shape = (0..x.rank())
        .filter(|i| !drop.contains(i))
        .map(|i| at(&x.shape, i))
        .collect();
    one(TensorType::new(x.dtype, shape))
}

pub fn expand_dims(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let x = c.tensor("x")?;
    let axes = c.ints("axes").ok_or(InferError::Unknowable)?;
    let out_rank = x.rank() + axes.len();
    let mut new: Vec<usize> = axes
        .iter()
        .map(|&a| norm_axis(a, out_rank))
        .collect::<Result<_, _>>()?;
    new.sort_unstable();
    new.dedup();
    if new.len() != axes.len() {
        return invalid(format!("`axes` {axes:?} has repeated entries"));
    }
    let mut rest = x.shape.iter();
    let shape = (0..out_rank)
        .map(|i| {
            if new.contains(&i) {
                known(1)
            } else {
                rest.next().copied().unwrap_or(Dim::Unknown)
            }
        })
        .collect();
    one(TensorType::new(x.dtype, shape))
}

pub fn flatten2d(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let x = c.tensor("x")?;
    let axis = c.int("axis").unwrap_or(1);
    let axis = if axis < 0 {
        axis + x.rank() as i64
    } else {
        axis
    };
    if axis < 0 || axis > x.rank() as i64 {
        return invalid(format!("axis {axis} is out of range for rank {}", x.rank()));
    }
    let prod = |s: &[Dim]| {
        s.iter()
            .try_fold(1u64, |a, d| a.checked_mul(d.known()?))
            .map_or(Dim::Unknown, known)
    };
    let (a, b) = x.shape.split_at(axis as usize);
    one(TensorType::new(x.dtype, vec![prod(a), prod(b)]))
}

fn reduced(x: &TensorType, axes: &[usize], keep: bool) -> Vec<Dim> {
    (0..x.rank())
        .filter_map(|i| {
            if axes.contains(&i) {
                keep.then_some(known(1))
            } else {
                Some(at(&x.shape, i))
            }
        })
        .collect()
}

pub fn reduce(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let x = c.tensor("x")?;
    let keep = c.bool("keep_dims").unwrap_or(false);
    let axes: Vec<usize> = match c.ints("axes") {
        Some(a) => a
            .iter()
            .map(|&a| norm_axis(a, x.rank()))
            .collect::<Result<_, _>>()?,
        None if c.has("axes") => return Err(InferError::Unknowable),
        None => (0..x.rank()).collect(),
    };
    one(TensorType::new(x.dtype, reduced(x, &axes, keep)))
}

pub fn reduce_arg(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let x = c.tensor("x")?;
    let keep = c.bool("keep_dims").unwrap_or(false);
    let axis = norm_axis(c.int("axis").unwrap_or(-1), x.rank())?;
    let dtype = match c.string("output_dtype") {
        Some(d) => dtype_named(d, "output_dtype")?,
        None => DType::Int32,
    };
    one(TensorType::new(dtype, reduced(x, &[axis], keep)))
}

// ---- gather, pad, tile, misc ----

pub fn gather(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let (x, idx) = (c.tensor("x")?, c.tensor("indices")?);
    let axis = norm_axis(c.int("axis").unwrap_or(0), x.rank())?;
    let batch_dims = c.int("batch_dims").unwrap_or(0);
    let batch_dims = usize::try_from(if batch_dims < 0 {
        batch_dims + idx.rank() as i64
    } else {
        batch_dims
    })
    .map_err(|_| InferError::Invalid("`batch_dims` is out of range".into()))?;
    if batch_dims > axis || batch_dims > idx.rank() {
        return invalid(format!(
            "`batch_dims` {batch_dims} must be <= axis {axis} and <= rank of `indices`"
        ));
    }
    let mut shape: Vec<Dim> = x.shape.get(..axis).unwrap_or_default().to_vec();
    shape.extend_from_slice(idx.shape.get(batch_dims..).unwrap_or_default());
    shape.extend_from_slice(x.shape.get(axis + 1..).unwrap_or_default());
    one(TensorType::new(x.dtype, shape))
}

pub fn gather_along_axis(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let (x, idx) = (c.tensor("x")?, c.tensor("indices")?);
    if x.rank() != idx.rank() {
        return invalid(format!(
            "`indices` has rank {} but `x` has rank {}",
            idx.rank(),
            x.rank()
        ));
    }
    norm_axis(c.int("axis").unwrap_or(0), x.rank())?;
    one(TensorType::new(x.dtype, idx.shape.clone()))
}

pub fn pad(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let x = c.tensor("x")?;
    let mut shape = x.shape.clone();
    let Some(p) = c.ints("pad") else {
        let pt = c.tensor("pad")?;
        return match pt.shape.as_slice() {
            [Dim::Known(n)] if (*n as usize) / 2 <= shape.len() => {
                let k = (*n as usize) / 2;
                let r = shape.len();
                for d in shape.iter_mut().skip(r - k) {
                    *d = Dim::Unknown;
                }
                one(TensorType::new(x.dtype, shape))
            }
            _ => Err(InferError::Unknowable),
        };
    };
    if p.len() % 2 != 0 || p.len() / 2 > x.rank() {
        return invalid(format!(
            "`pad` has {} entries; expected an even number up to 2 x rank ({})",
            p.len(),
            2 * x.rank()
        ));
    }
    let k = p.len() / 2;
    let r = shape.len();
    for (i, d) in shape.iter_mut().skip(r - k).enumerate() {
        let before = p.get(2 * i).copied().unwrap_or(0);
        let after = p.get(2 * i + 1).copied().unwrap_or(0);
        if let Dim::Known(n) = *d {
            let total = i128::from(n) + i128::from(before) + i128::from(after);
            match u64::try_from(total) {
                Ok(t) => *d = known(t),
                Err(_) => {
                    return invalid(format!(
                        "padding gives dim {} an out-of-range size {total}",
                        r - k + i
                    ));
                }
            }
        }
    }
    one(TensorType::new(x.dtype, shape))
}

pub fn tile(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let x = c.tensor("x")?;
    let Some(reps) = c.ints("reps") else {
        return one(TensorType::new(x.dtype, vec![Dim::Unknown; x.rank()]));
    };
    if reps.len() != x.rank() {
        return invalid(format!(
            "`reps` has {} entries but `x` has rank {}",
            reps.len(),
            x.rank()
        ));
    }
    let shape = x
        .shape
        .iter()
        .zip(&reps)
        .map(|(d, &r)| match (d, u64::try_from(r)) {
            (Dim::Known(n), Ok(r)) => n.checked_mul(r).map_or(Dim::Unknown, known),
            _ => Dim::Unknown,
        })
        .collect();
    one(TensorType::new(x.dtype, shape))
}

pub fn shape(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let x = c.tensor("x")?;
    one(TensorType::known(DType::Int32, &[x.rank() as u64]))
}

pub fn range_1d(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let start = c.tensor("start")?;
    let len = match (c.int("start"), c.int("end"), c.int("step")) {
        (Some(s), Some(e), Some(st)) if st != 0 => {
            let (s, e, st) = (i128::from(s), i128::from(e), i128::from(st));
            let n = (e - s + st - st.signum()) / st;
            known(u64::try_from(n).unwrap_or(0))
        }
        (_, _, Some(0)) => return invalid("`step` is 0"),
        _ => Dim::Unknown,
    };
    one(TensorType::new(start.dtype, vec![len]))
}

pub fn lstm(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let x = c.tensor("x")?;
    if x.rank() != 3 {
        return invalid(format!(
            "`x` must be [seq, batch, input], has rank {}",
            x.rank()
        ));
    }
    let whh = c.tensor("weight_hh")?;
    let hidden = at(&whh.shape, 1);
    let dirs = if c.string("direction") == Some("bidirectional") {
        2
    } else {
        1
    };
    let out = match hidden {
        Dim::Known(h) => h.checked_mul(dirs).map_or(Dim::Unknown, known),
        Dim::Unknown => Dim::Unknown,
    };
    let seq = if c.bool("output_sequence").unwrap_or(false) {
        at(&x.shape, 0)
    } else {
        known(1)
    };
    let batch = at(&x.shape, 1);
    Ok(vec![
        TensorType::new(x.dtype, vec![seq, batch, out]).into(),
        TensorType::new(x.dtype, vec![batch, out]).into(),
        TensorType::new(x.dtype, vec![batch, out]).into(),
    ])
}

pub fn topk(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let x = c.tensor("x")?;
    let axis = norm_axis(c.int("axis").unwrap_or(-1), x.rank())?;
    let k = match c.int("k") {
        Some(k) if k >= 0 => known(k as u64),
        Some(k) => return invalid(format!("k must be >= 0, got {k}")),
        None if c.has("k") => Dim::Unknown,
        None => known(1),
    };
    let mut shape = x.shape.clone();
    if let Some(d) = shape.get_mut(axis) {
        *d = k;
    }
    let idx_dtype = match c.string("output_indices_dtype") {
        Some(d) => dtype_named(d, "output_indices_dtype")?,
        None => DType::Int32,
    };
    let mut out = vec![Type::Tensor(TensorType::new(x.dtype, shape.clone()))];
    if c.bool("return_indices").unwrap_or(true) {
        out.push(TensorType::new(idx_dtype, shape).into());
    }
    Ok(out)
}

pub fn sdpa(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let (q, k, v) = (c.tensor("query")?, c.tensor("key")?, c.tensor("value")?);
    if q.rank() < 3 || k.rank() < 3 || v.rank() < 3 {
        return invalid("query, key and value must have rank >= 3");
    }
    check_eq(last(&q.shape), last(&k.shape), || {
        "query and key differ in the embedding dim".into()
    })?;
    let mut shape = q.shape.clone();
    if let Some(l) = shape.last_mut() {
        *l = last(&v.shape);
    }
    one(TensorType::new(q.dtype, shape))
}

// ---- constexpr, state, tensor buffers ----

pub fn constexpr_affine_dequantize(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let (data, scale) = (c.tensor("quantized_data")?, c.tensor("scale")?);
    one(TensorType::new(scale.dtype, data.shape.clone()))
}

pub fn constexpr_blockwise_shift_scale(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let (data, scale) = (c.tensor("data")?, c.tensor("scale")?);
    if data.rank() != scale.rank() {
        return invalid(format!(
            "`scale` has rank {} but `data` has rank {}",
            scale.rank(),
            data.rank()
        ));
    }
    one(TensorType::new(scale.dtype, data.shape.clone()))
}

pub fn constexpr_cast(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let src = c.tensor("source_val")?;
    let d = c.string("output_dtype").ok_or(InferError::Unknowable)?;
    one(TensorType::new(
        dtype_named(d, "output_dtype")?,
        src.shape.clone(),
    ))
}

pub fn read_state(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    match c.ty("input")? {
        Type::State(inner) => Ok(vec![(**inner).clone()]),
        other => invalid(format!(
            "`input` is a {}, expected a state",
            other.kind_name()
        )),
    }
}

pub fn tensor_buffer_to_tensor(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    match c.ty("input")? {
        Type::TensorBuffer { dtype, shape, .. } => one(TensorType::new(
            *dtype,
            shape.iter().map(|&d| dim_from_i64(d)).collect(),
        )),
        other => invalid(format!(
            "`input` is a {}, expected a tensor_buffer",
            other.kind_name()
        )),
    }
}

pub fn tensor_to_tensor_buffer(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let x = c.tensor("input")?;
    let shape = x
        .shape
        .iter()
        .map(|d| d.known().and_then(|n| i64::try_from(n).ok()).unwrap_or(-1))
        .collect();
    // Strides and interleave factors are a compiler layout decision taken from the inputs when
    // given; only dtype and shape are compared (see types::mismatch).
    Ok(vec![Type::TensorBuffer {
        dtype: x.dtype,
        shape,
        strides: c.ints("strides").unwrap_or_default(),
        interleave_factors: c.ints("interleave_factors").unwrap_or_default(),
    }])
}

// ---- quantization, sorting, space/depth, recurrent ----

pub fn quantize(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let x = c.tensor("input")?;
    let d = c.string("output_dtype").ok_or(InferError::Unknowable)?;
    one(TensorType::new(
        dtype_named(d, "output_dtype")?,
        x.shape.clone(),
    ))
}

pub fn dequantize(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let (x, scale) = (c.tensor("input")?, c.tensor("scale")?);
    one(TensorType::new(scale.dtype, x.shape.clone()))
}

pub fn argsort(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let x = c.tensor("x")?;
    norm_axis(c.int("axis").unwrap_or(-1), x.rank())?;
    one(TensorType::new(DType::Int32, x.shape.clone()))
}

pub fn non_zero(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let x = c.tensor("x")?;
    one(TensorType::new(
        DType::Int32,
        vec![Dim::Unknown, known(x.rank() as u64)],
    ))
}

/// depth_to_space / pixel_shuffle (`up`) and space_to_depth / pixel_unshuffle (down) on
/// [N, C, H, W].
fn space_depth(c: &InferCtx<'_>, factor_input: &str, up: bool) -> Result<Vec<Type>, InferError> {
    let x = c.tensor("x")?;
    if x.rank() != 4 {
        return invalid(format!("`x` must be [N, C, H, W], has rank {}", x.rank()));
    }
    let b = match c.int(factor_input) {
        Some(b) if b > 0 => b as u64,
        Some(b) => return invalid(format!("`{factor_input}` must be positive, got {b}")),
        None => return Err(InferError::Unknowable),
    };
    let map = |d: Dim, f: &dyn Fn(u64) -> Option<u64>| match d {
        Dim::Known(n) => f(n).map_or(Dim::Unknown, known),
        Dim::Unknown => Dim::Unknown,
    };
    let Some(bb) = b.checked_mul(b) else {
        return invalid(format!("`{factor_input}` {b} is too large"));
    };
    let shape = if up {
        if let Dim::Known(ch) = at(&x.shape, 1)
            && ch % bb != 0
        {
            return invalid(format!("channels {ch} are not divisible by {bb}"));
        }
        vec![
            at(&x.shape, 0),
            map(at(&x.shape, 1), &|n| Some(n / bb)),
            map(at(&x.shape, 2), &|n| n.checked_mul(b)),
            map(at(&x.shape, 3), &|n| n.checked_mul(b)),
        ]
    } else {
        for i in [2, 3] {
            if let Dim::Known(n) = at(&x.shape, i)
                && n % b != 0
            {
                return invalid(format!("dim {i} of size {n} is not divisible by {b}"));
            }
        }
        vec![
            at(&x.shape, 0),
            map(at(&x.shape, 1), &|n| n.checked_mul(bb)),
            map(at(&x.shape, 2), &|n| Some(n / b)),
            map(at(&x.shape, 3), &|n| Some(n / b)),
        ]
    };
    one(TensorType::new(x.dtype, shape))
}

pub fn depth_to_space(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    space_depth(c, "block_size", true)
}

pub fn space_to_depth(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    space_depth(c, "block_size", false)
}

pub fn pixel_shuffle(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    space_depth(c, "upscale_factor", true)
}

pub fn pixel_unshuffle(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    space_depth(c, "downscale_factor", false)
}

/// gru and rnn: [seq or 1, batch, hidden] and [batch, hidden]; hidden = dim 1 of weight_hh.
pub fn gru_rnn(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let x = c.tensor("x")?;
    if x.rank() != 3 {
        return invalid(format!(
            "`x` must be [seq, batch, input], has rank {}",
            x.rank()
        ));
    }
    let hidden = at(&c.tensor("weight_hh")?.shape, 1);
    let seq = if c.bool("output_sequence").unwrap_or(false) {
        at(&x.shape, 0)
    } else {
        known(1)
    };
    let batch = at(&x.shape, 1);
    Ok(vec![
        TensorType::new(x.dtype, vec![seq, batch, hidden]).into(),
        TensorType::new(x.dtype, vec![batch, hidden]).into(),
    ])
}

/// conv_transpose (coremltools iOS15 `conv_transpose.type_inference`): weight is
/// [C_in, C_out/groups, k...]; `output_shape` wins when given.
pub fn conv_transpose(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let (x, w) = (c.tensor("x")?, c.tensor("weight")?);
    if x.rank() < 3 || w.rank() != x.rank() {
        return invalid(format!(
            "`x` must be [N, C, spatial...] and `weight` [C_in, C_out/groups, k...] of the same rank (ranks {} and {})",
            x.rank(),
            w.rank()
        ));
    }
    check_eq(at(&x.shape, 1), at(&w.shape, 0), || {
        "`x` channels must equal dim 0 of `weight`".into()
    })?;
    if let Some(out) = c.ints("output_shape") {
        return one(TensorType::new(
            x.dtype,
            out.into_iter().map(dim_from_i64).collect(),
        ));
    }
    let spatial = x.rank() - 2;
    let groups = match c.int("groups") {
        Some(g) if g >= 1 => g as u64,
        Some(g) => return invalid(format!("groups must be >= 1, got {g}")),
        None if c.has("groups") => return Err(InferError::Unknowable),
        None => 1,
    };
    let pad_type = match c.string("pad_type") {
        Some(p @ ("valid" | "same" | "custom")) => p,
        Some(_) => return Err(InferError::Unknowable),
        None if c.has("pad_type") => return Err(InferError::Unknowable),
        None => "valid",
    };
    let strides = positive_list(c, "strides", spatial, 1)?;
    let dilations = positive_list(c, "dilations", spatial, 1)?;
    let pad = pads(c, spatial, pad_type)?;
    let c_out = match at(&w.shape, 1) {
        Dim::Known(n) => n.checked_mul(groups).map_or(Dim::Unknown, known),
        Dim::Unknown => Dim::Unknown,
    };
    let mut shape = vec![at(&x.shape, 0), c_out];
    for i in 0..spatial {
        let (Dim::Known(n), Dim::Known(k)) = (at(&x.shape, i + 2), at(&w.shape, i + 2)) else {
            shape.push(Dim::Unknown);
            continue;
        };
        let s = i128::from(strides.get(i).copied().unwrap_or(1));
        let d = i128::from(dilations.get(i).copied().unwrap_or(1));
        let (n, k) = (i128::from(n), i128::from(k));
        let eff = (k - 1) * d + 1;
        let (pb, pe) = pad.get(i).copied().unwrap_or((0, 0));
        let out = match pad_type {
            "same" => s * n,
            "valid" => s * (n - 1) + eff,
            _ => s * (n - 1) + eff - i128::from(pb) - i128::from(pe),
        };
        match u64::try_from(out) {
            Ok(o) => shape.push(known(o)),
            Err(_) => return invalid(format!("spatial dim {i} would have size {out}")),
        }
    }
    one(TensorType::new(x.dtype, shape))
}

// ---- misc tensor ops ----

pub fn one_hot(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let idx = c.tensor("indices")?;
    let depth = match c.int("one_hot_vector_size") {
        Some(n) => dim_from_i64(n),
        None => Dim::Unknown,
    };
    let axis = norm_axis(c.int("axis").unwrap_or(-1), idx.rank() + 1)?;
    // The result takes the dtype of on_value (default int32 1, coremltools).
    let dtype = c.tensor("on_value").map_or(DType::Int32, |t| t.dtype);
    let mut shape = idx.shape.clone();
    shape.insert(axis, depth);
    one(TensorType::new(dtype, shape))
}

pub fn fill_like(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let r = c.tensor("ref_tensor")?;
    let dtype = c.tensor("value").map_or(DType::Fp32, |t| t.dtype);
    one(TensorType::new(dtype, r.shape.clone()))
}

pub fn gather_nd(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let (x, idx) = (c.tensor("x")?, c.tensor("indices")?);
    let Dim::Known(k) = last(&idx.shape) else {
        return Err(InferError::Unknowable);
    };
    let batch = usize::try_from(c.int("batch_dims").unwrap_or(0))
        .map_err(|_| InferError::Invalid("`batch_dims` must be >= 0".into()))?;
    let k = usize::try_from(k).unwrap_or(usize::MAX);
    if idx.rank() == 0 || batch.saturating_add(k) > x.rank() {
        return invalid(format!(
            "`indices` picks {k} dim(s) after {batch} batch dim(s) of a rank-{} `x`",
            x.rank()
        ));
    }
    let mut shape: Vec<Dim> = idx.shape.get(..idx.rank() - 1).unwrap_or_default().to_vec();
    shape.extend_from_slice(x.shape.get(batch + k..).unwrap_or_default());
    one(TensorType::new(x.dtype, shape))
}

/// Scale the last two dims (upsample: by a factor, floor for fractional factors; resize: to a
/// target size).
fn last_two(x: &TensorType, h: Dim, w: Dim) -> Result<Vec<Type>, InferError> {
    if x.rank() < 3 {
        return invalid(format!("`x` must have rank >= 3, has {}", x.rank()));
    }
    let mut shape = x.shape.clone();
    let r = shape.len();
    if let Some(d) = shape.get_mut(r - 2) {
        *d = h;
    }
    if let Some(d) = shape.get_mut(r - 1) {
        *d = w;
    }
    one(TensorType::new(x.dtype, shape))
}

fn scaled(d: Dim, factor: Option<f64>) -> Dim {
    match (d, factor) {
        (Dim::Known(n), Some(f)) if f > 0.0 && f.is_finite() => {
            let v = (n as f64 * f).floor();
            if v >= 0.0 && v < u64::MAX as f64 {
                known(v as u64)
            } else {
                Dim::Unknown
            }
        }
        _ => Dim::Unknown,
    }
}

fn float_scalar(c: &InferCtx<'_>, name: &str) -> Option<f64> {
    match c.value(name)? {
        ConstData::Floats(v) if v.len() == 1 => v.first().copied(),
        ConstData::Ints(v) if v.len() == 1 => v.first().map(|&i| i as f64),
        _ => None,
    }
}

pub fn upsample_nearest_neighbor(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let x = c.tensor("x")?;
    let r = x.rank();
    let fh = if c.has("scale_factor_height") {
        float_scalar(c, "scale_factor_height")
    } else {
        Some(1.0)
    };
    let fw = if c.has("scale_factor_width") {
        float_scalar(c, "scale_factor_width")
    } else {
        Some(1.0)
    };
    last_two(
        x,
        scaled(at(&x.shape, r.saturating_sub(2)), fh),
        scaled(at(&x.shape, r.saturating_sub(1)), fw),
    )
}

pub fn resize_nearest_neighbor(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let x = c.tensor("x")?;
    let h = c
        .int("target_size_height")
        .map_or(Dim::Unknown, dim_from_i64);
    let w = c
        .int("target_size_width")
        .map_or(Dim::Unknown, dim_from_i64);
    last_two(x, h, w)
}

pub fn crop(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let x = c.tensor("x")?;
    let r = x.rank();
    let cut = |d: Dim, name: &str| -> Result<Dim, InferError> {
        let Some(v) = c.ints(name) else {
            return Ok(Dim::Unknown);
        };
        let [a, b] = v.as_slice() else {
            return invalid(format!("`{name}` must have 2 entries"));
        };
        Ok(match d {
            Dim::Known(n) => u64::try_from(i128::from(n) - i128::from(*a) - i128::from(*b))
                .map_err(|_| InferError::Invalid(format!("`{name}` crops more than the dim")))
                .map(known)?,
            Dim::Unknown => Dim::Unknown,
        })
    };
    let h = cut(at(&x.shape, r.saturating_sub(2)), "crop_height")?;
    let w = cut(at(&x.shape, r.saturating_sub(1)), "crop_width")?;
    last_two(x, h, w)
}

pub fn sliding_windows(c: &InferCtx<'_>) -> Result<Vec<Type>, InferError> {
    let x = c.tensor("x")?;
    let axis = norm_axis(c.int("axis").ok_or(InferError::Unknowable)?, x.rank())?;
    let size = c.int("size").ok_or(InferError::Unknowable)?;
    let stride = c.int("stride").unwrap_or(1);
    if size <= 0 || stride <= 0 {
        return invalid("`size` and `stride` must be positive");
    }
    let windows = match at(&x.shape, axis) {
        Dim::Known(n) if i128::from(n) >= i128::from(size) => {
            known(((i128::from(n) - i128::from(size)) / i128::from(stride) + 1) as u64)
        }
        Dim::Known(n) => {
            return invalid(format!("window size {size} exceeds dim {axis} of size {n}"));
        }
        Dim::Unknown => Dim::Unknown,
    };
    let mut shape: Vec<Dim> = x.shape.get(..axis).unwrap_or_default().to_vec();
    shape.push(windows);
    shape.push(known(size as u64));
    shape.extend_from_slice(x.shape.get(axis + 1..).unwrap_or_default());
    one(TensorType::new(x.dtype, shape))
}
