//! Kernel library of anekit's CPU reference executor.
//!
//! Every kernel is a plain function over [`TensorView`]s with explicit shapes and parameters,
//! computing in `f32` and returning a fresh [`Tensor`] or a [`KernelError`] that names the kernel
//! and the offending shapes. Kernels know nothing about the IR: the executor maps each MIL op to
//! one call and then applies [`Numerics::round_output`] with the op's declared output dtype, which
//! is where ANE numerics (fp16 storage between ops) differ from `exact` numerics (plain f32).
//! See `docs/numerics.md` for the contract.
//!
//! Modules, one per op family:
//! [`numerics`], [`tensor`] (storage and broadcasting), [`matmul`] (matmul, linear),
//! [`conv`], [`pool`], [`elementwise`] (binary, comparison, logical, unary math),
//! [`activation`] (incl. softmax), [`norm`], [`reduce`], [`attention`], [`shape_ops`],
//! [`index_ops`] (gather_nd, scatter*, one_hot, argsort, non_zero), [`misc_ops`] (einsum,
//! range_1d, ...), [`resize`], [`quant`] (quantize/dequantize, constexpr decompressors).
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod activation;
pub mod attention;
pub mod conv;
pub mod elementwise;
mod error;
pub mod exec;
pub mod index_ops;
pub mod matmul;
pub mod misc_ops;
pub mod norm;
pub mod numerics;
mod par;
pub mod pool;
pub mod quant;
pub mod reduce;
pub mod resize;
pub mod shape_ops;
mod small_m;
pub mod tensor;
mod winograd;

pub use error::KernelError;
pub use numerics::Numerics;
pub use tensor::{Tensor, TensorView};

/// Result of a kernel.
pub type Result<T, E = KernelError> = std::result::Result<T, E>;
