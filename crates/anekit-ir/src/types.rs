//! IR types: tensors (scalars are rank-0 tensors), lists, dicts, tuples, states and the
//! analysis-dump tensor buffers.

use anekit_core::DType;
use serde::Serialize;
use std::fmt;

/// One dimension: a known size or `?`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Dim {
    Known(u64),
    Unknown,
}

impl Dim {
    pub fn known(self) -> Option<u64> {
        match self {
            Dim::Known(n) => Some(n),
            Dim::Unknown => None,
        }
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Known(n) => write!(f, "{n}"),
            Dim::Unknown => f.write_str("?"),
        }
    }
}

/// A tensor type; rank 0 is a scalar.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct TensorType {
    pub dtype: DType,
    pub shape: Vec<Dim>,
}

impl TensorType {
    pub fn new(dtype: DType, shape: Vec<Dim>) -> TensorType {
        TensorType { dtype, shape }
    }

    /// A tensor with every dimension known.
    pub fn known(dtype: DType, shape: &[u64]) -> TensorType {
        TensorType::new(dtype, shape.iter().map(|&d| Dim::Known(d)).collect())
    }

    pub fn scalar(dtype: DType) -> TensorType {
        TensorType::new(dtype, Vec::new())
    }

    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// The dims when all are known.
    pub fn known_shape(&self) -> Option<Vec<u64>> {
        self.shape.iter().map(|d| d.known()).collect()
    }

    /// The element count when every dim is known (None on overflow too).
    pub fn element_count(&self) -> Option<u64> {
        self.shape
            .iter()
            .try_fold(1u64, |acc, d| acc.checked_mul(d.known()?))
    }
}

impl fmt::Display for TensorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tensor<{}, [", self.dtype)?;
        for (i, d) in self.shape.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{d}")?;
        }
        f.write_str("]>")
    }
}

/// A value's type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Type {
    Tensor(TensorType),
    /// `list<T, N>`; `len` None is `?`.
    List {
        elem: Box<Type>,
        len: Option<u64>,
    },
    Dict {
        key: Box<Type>,
        value: Box<Type>,
    },
    Tuple(Vec<Type>),
    /// `state<T>` (iOS18).
    State(Box<Type>),
    /// `tensor_buffer<DT, shape=.., strides=.., interleave_factors=..>` (analysis dumps).
    TensorBuffer {
        dtype: DType,
        shape: Vec<i64>,
        strides: Vec<i64>,
        interleave_factors: Vec<i64>,
    },
}

impl Type {
    pub fn tensor(&self) -> Option<&TensorType> {
        match self {
            Type::Tensor(t) => Some(t),
            _ => None,
        }
    }

    /// The kind, for messages ("tensor", "list", ...).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Type::Tensor(t) if t.shape.is_empty() => "scalar",
            Type::Tensor(_) => "tensor",
            Type::List { .. } => "list",
            Type::Dict { .. } => "dict",
            Type::Tuple(_) => "tuple",
            Type::State(_) => "state",
            Type::TensorBuffer { .. } => "tensor_buffer",
        }
    }
}

impl From<TensorType> for Type {
    fn from(t: TensorType) -> Type {
        Type::Tensor(t)
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Tensor(t) => write!(f, "{t}"),
            Type::List { elem, len } => match len {
                Some(n) => write!(f, "list<{elem}, {n}>"),
                None => write!(f, "list<{elem}, ?>"),
            },
            Type::Dict { key, value } => write!(f, "dict<{key}, {value}>"),
            Type::Tuple(items) => {
                f.write_str("tuple<")?;
                for (i, t) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                f.write_str(">")
            }
            Type::State(t) => write!(f, "state<{t}>"),
            Type::TensorBuffer {
                dtype,
                shape,
                strides,
                interleave_factors,
            } => write!(
                f,
                "tensor_buffer<{dtype}, shape={shape:?}, strides={strides:?}, interleave_factors={interleave_factors:?}>"
            ),
        }
    }
}

/// Why a declared type and an inferred type disagree, or None when they are compatible.
/// Unknown dims on either side are compatible with anything.
pub fn mismatch(declared: &Type, inferred: &Type) -> Option<String> {
    match (declared, inferred) {
        (Type::Tensor(d), Type::Tensor(i)) => {
            if d.dtype != i.dtype {
                return Some(format!("dtype {} but the op produces {}", d.dtype, i.dtype));
            }
            if d.rank() != i.rank() {
                return Some(format!(
                    "rank {} but the op produces rank {}",
                    d.rank(),
                    i.rank()
                ));
            }
            for (axis, (a, b)) in d.shape.iter().zip(&i.shape).enumerate() {
                if let (Dim::Known(a), Dim::Known(b)) = (a, b)
                    && a != b
                {
                    return Some(format!("dim {axis} is {a} but the op produces {b}"));
                }
            }
            None
        }
        (Type::State(d), Type::State(i)) => mismatch(d, i),
        (
            Type::TensorBuffer {
                dtype: d,
                shape: ds,
                ..
            },
            Type::TensorBuffer {
                dtype: i,
                shape: is,
                ..
            },
        ) => {
            if d != i || ds != is {
                Some(format!("{declared} but the op produces {inferred}"))
            } else {
                None
            }
        }
        (d, i) if std::mem::discriminant(d) == std::mem::discriminant(i) => None,
        (d, i) => Some(format!(
            "a {} but the op produces a {}",
            d.kind_name(),
            i.kind_name()
        )),
    }
}
