//! MIL blob storage version 2 (`weight.bin`): zero-copy reader, decoder for every dtype, and a
//! writer that reproduces coremltools' `StorageWriter` byte for byte.
//!
//! Format (reference/mil-blob.md §1): a 64-byte header (`count`, `version` = 2), then per blob a
//! 64-byte metadata record at a 64-aligned offset M (sentinel `0xDEADBEEF`, dtype code, size,
//! absolute payload offset, padding bits) followed by its payload at M + 64. `BLOBFILE(offset=M)`
//! in MIL text names the metadata offset.
//!
//! ```
//! use anekit_blob::{BlobFile, BlobWriter};
//! use anekit_core::TensorData;
//!
//! let mut w = BlobWriter::new();
//! let off = w.add(&TensorData::I4(vec![-8, 7, 1])).unwrap();
//! let bytes = w.finish();
//! let file = BlobFile::parse(&bytes).unwrap();
//! let blob = file.blob_at(off, Some(anekit_core::DType::Int4)).unwrap();
//! assert_eq!(blob.data, &[0x78, 0x01]);
//! assert_eq!(blob.decode().unwrap(), TensorData::I4(vec![-8, 7, 1]));
//! ```
#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

mod error;
mod mapped;
pub mod pack;
mod read;
mod write;

pub use error::BlobError;
pub use mapped::MappedBlobFile;
pub use read::{Blob, BlobFile, Blobs, HEADER_SIZE, METADATA_SIZE, SENTINEL, STORAGE_VERSION};
pub use write::{BlobLayout, BlobWriter};
