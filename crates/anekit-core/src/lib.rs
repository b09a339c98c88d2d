//! Shared foundations of anekit: checked byte reading ([`reader`]), the single element-type
//! table ([`dtype`]), and corpus location for conformance tests ([`corpus`]).
#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod corpus;
pub mod dtype;
pub mod npy;
pub mod reader;
pub mod tensor;

pub use dtype::DType;
pub use reader::{ReadError, Reader, align_up};
pub use tensor::{ConvertError, TensorData};
