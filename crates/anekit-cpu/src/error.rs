//! The one error type of the kernels.

/// A kernel refused its arguments. Every variant names the kernel (`op`) so the executor can
/// attach it to the MIL operation that failed without re-deriving what went wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum KernelError {
    /// Two shapes that must agree (or broadcast) do not.
    #[error("{op}: shapes {lhs:?} and {rhs:?} are incompatible: {reason}")]
    Shape {
        op: &'static str,
        lhs: Vec<usize>,
        rhs: Vec<usize>,
        reason: String,
    },
    /// A tensor has the wrong rank or size for this kernel.
    #[error("{op}: input shape {shape:?} is invalid: {reason}")]
    InvalidInput {
        op: &'static str,
        shape: Vec<usize>,
        reason: String,
    },
    /// A scalar or list parameter (axis, stride, kernel size, permutation...) is out of range.
    #[error("{op}: parameter {param} is invalid: {reason}")]
    Param {
        op: &'static str,
        param: &'static str,
        reason: String,
    },
    /// A shape's element count does not match the data length, or overflows `usize`.
    #[error("tensor of shape {shape:?} needs {expected} element(s), but {found} were given")]
    DataLength {
        shape: Vec<usize>,
        expected: usize,
        found: usize,
    },
    /// A shape whose element count overflows `usize`.
    #[error("{op}: shape {shape:?} has too many elements")]
    Overflow { op: &'static str, shape: Vec<usize> },
}

impl KernelError {
    pub(crate) fn shape(
        op: &'static str,
        lhs: &[usize],
        rhs: &[usize],
        reason: impl Into<String>,
    ) -> Self {
        KernelError::Shape {
            op,
            lhs: lhs.to_vec(),
            rhs: rhs.to_vec(),
            reason: reason.into(),
        }
    }

    pub(crate) fn input(op: &'static str, shape: &[usize], reason: impl Into<String>) -> Self {
        KernelError::InvalidInput {
            op,
            shape: shape.to_vec(),
            reason: reason.into(),
        }
    }

    pub(crate) fn param(op: &'static str, param: &'static str, reason: impl Into<String>) -> Self {
        KernelError::Param {
            op,
            param,
            reason: reason.into(),
        }
    }
}
