//! Errors of the blob reader and writer. Each says where (byte offset) and what was expected.

use anekit_core::{DType, ReadError};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlobError {
    #[error(transparent)]
    Read(#[from] ReadError),

    #[error("blob storage header at byte offset 0x4: version {found}, expected 2")]
    Version { found: u32 },

    #[error(
        "blob metadata at byte offset {offset:#x} ({offset}): sentinel {found:#010x}, expected 0xdeadbeef"
    )]
    Sentinel { offset: u64, found: u32 },

    #[error("blob metadata offset {offset:#x} ({offset}) is not a multiple of 64")]
    Misaligned { offset: u64 },

    #[error(
        "blob metadata at byte offset {offset:#x} ({offset}): unknown blob dtype code {code} (expected 1..=17)"
    )]
    UnknownDtype { offset: u64, code: u32 },

    #[error(
        "blob metadata at byte offset {offset:#x} ({offset}): dtype {found}, but the caller expected {expected}"
    )]
    DtypeMismatch {
        offset: u64,
        found: DType,
        expected: DType,
    },

    #[error(
        "blob metadata at byte offset {offset:#x} ({offset}): payload [{data_offset}, {data_offset}+{size}) lies outside the {file_len}-byte file"
    )]
    DataOutOfRange {
        offset: u64,
        data_offset: u64,
        size: u64,
        file_len: u64,
    },

    #[error(
        "blob metadata at byte offset {offset:#x} ({offset}): {dtype} payload of {size} byte(s) with {padding_bits} padding bit(s) is not a whole number of elements"
    )]
    BadSize {
        offset: u64,
        dtype: DType,
        size: u64,
        padding_bits: u64,
    },

    #[error(
        "blob at byte offset {offset:#x} ({offset}): holds {found} element(s), but the expected shape {shape:?} has {expected}"
    )]
    ElementCount {
        offset: u64,
        found: u64,
        expected: u64,
        shape: Vec<u64>,
    },

    #[error("blob storage cannot hold {dtype} values (no blob dtype code)")]
    UnsupportedDtype { dtype: DType },

    #[error("{dtype} value {value} at index {index} is out of range {min}..={max}")]
    ValueOutOfRange {
        dtype: DType,
        index: usize,
        value: i128,
        min: i128,
        max: i128,
    },

    #[error("blob storage file is too large: offsets overflow u64")]
    TooLarge,

    #[error("cannot open {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}
