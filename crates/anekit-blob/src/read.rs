//! Zero-copy reading of blob storage v2 files (reference/mil-blob.md §1.1–1.6).

use crate::{BlobError, pack};
use anekit_core::{DType, Reader, TensorData, align_up, tensor};

/// Size of the file header and of each metadata record.
pub const HEADER_SIZE: u64 = 64;
pub const METADATA_SIZE: u64 = 64;
/// The only supported storage version.
pub const STORAGE_VERSION: u32 = 2;
/// First word of every metadata record (bytes `EF BE AD DE`).
pub const SENTINEL: u32 = 0xDEAD_BEEF;
const ALIGNMENT: u64 = 64;

/// A parsed blob storage file borrowing its bytes. Parsing checks only the header; records are
/// read and checked when asked for, so a hostile `count` costs nothing until iterated.
#[derive(Debug, Clone, Copy)]
pub struct BlobFile<'a> {
    bytes: &'a [u8],
    count: u32,
}

/// One blob: its metadata and a borrowed view of its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blob<'a> {
    pub dtype: DType,
    /// Offset of the metadata record: the value of `BLOBFILE(offset=…)`.
    pub metadata_offset: u64,
    /// Absolute offset of the payload.
    pub data_offset: u64,
    /// The payload (`sizeInBytes` bytes at `data_offset`).
    pub data: &'a [u8],
    /// Unused bits in the last payload byte (sub-byte types; 0 otherwise).
    pub padding_bits: u64,
}

impl<'a> BlobFile<'a> {
    /// Check the header (64 bytes, version 2) of `bytes`.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, BlobError> {
        let mut r = Reader::new(bytes);
        let count = r.u32_le("blob storage header count")?;
        let version = r.u32_le("blob storage header version")?;
        // The reserved words must be present even though their values are ignored.
        r.skip(HEADER_SIZE - 8, "blob storage header reserved words")?;
        if version != STORAGE_VERSION {
            return Err(BlobError::Version { found: version });
        }
        Ok(BlobFile { bytes, count })
    }

    /// The blob count stated by the header.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The whole file.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The records in file order, following the header count: the first at 64, each next one
    /// at align64(end of the previous payload). Stops after the first error.
    pub fn blobs(&self) -> Blobs<'a> {
        Blobs {
            file: *self,
            next: Some(HEADER_SIZE),
            remaining: u64::from(self.count),
            until_eof: false,
        }
    }

    /// Like [`BlobFile::blobs`] but ignoring the header count: reads records until the end of
    /// the file. Hand-built files write count 1 for several blobs (mil-blob.md §4).
    pub fn scan(&self) -> Blobs<'a> {
        Blobs {
            file: *self,
            next: Some(HEADER_SIZE),
            remaining: u64::MAX,
            until_eof: true,
        }
    }

    /// The blob whose metadata record is at `metadata_offset`, with every check of
    /// mil-blob.md §1.6: 64-aligned offset, sentinel, known dtype (equal to `expected` when
    /// given), payload range inside the file, and a size that is a whole number of elements.
    pub fn blob_at(
        &self,
        metadata_offset: u64,
        expected: Option<DType>,
    ) -> Result<Blob<'a>, BlobError> {
        let offset = metadata_offset;
        if !offset.is_multiple_of(ALIGNMENT) || offset < HEADER_SIZE {
            return Err(BlobError::Misaligned { offset });
        }
        let mut r = Reader::new(self.bytes).sub(offset, METADATA_SIZE, "blob metadata record")?;
        let sentinel = r.u32_le("blob metadata sentinel")?;
        if sentinel != SENTINEL {
            return Err(BlobError::Sentinel {
                offset,
                found: sentinel,
            });
        }
        let code = r.u32_le("blob metadata dtype")?;
        let size = r.u64_le("blob metadata sizeInBytes")?;
        let data_offset = r.u64_le("blob metadata data offset")?;
        let padding_bits = r.u64_le("blob metadata padding bits")?;
        // reserved_1..4 are ignored: before iOS18 they could hold anything (mil-blob.md §1.2).
        let dtype = DType::from_blob_code(code).ok_or(BlobError::UnknownDtype { offset, code })?;
        if let Some(expected) = expected
            && expected != dtype
        {
            return Err(BlobError::DtypeMismatch {
                offset,
                found: dtype,
                expected,
            });
        }
        let file_len = self.bytes.len() as u64;
        let data = Reader::new(self.bytes)
            .slice_at(data_offset, size, "blob payload")
            .map_err(|_| BlobError::DataOutOfRange {
                offset,
                data_offset,
                size,
                file_len,
            })?;
        if pack::element_count(dtype, size, padding_bits).is_none() {
            return Err(BlobError::BadSize {
                offset,
                dtype,
                size,
                padding_bits,
            });
        }
        Ok(Blob {
            dtype,
            metadata_offset: offset,
            data_offset,
            data,
            padding_bits,
        })
    }

    /// [`BlobFile::blob_at`] with the dtype and shape a MIL `BLOBFILE` constant declares: the
    /// record must have exactly that dtype and `shape`'s element count.
    pub fn blob_for(
        &self,
        metadata_offset: u64,
        dtype: DType,
        shape: &[u64],
    ) -> Result<Blob<'a>, BlobError> {
        let blob = self.blob_at(metadata_offset, Some(dtype))?;
        blob.check_shape(shape)?;
        Ok(blob)
    }
}

impl<'a> Blob<'a> {
    /// Payload size in bytes (`sizeInBytes`).
    pub fn size(&self) -> u64 {
        self.data.len() as u64
    }

    /// Number of elements: size / element width, or (size × 8 − padding) / bits for sub-byte
    /// types. [`BlobFile::blob_at`] has checked that this is exact.
    pub fn element_count(&self) -> u64 {
        pack::element_count(self.dtype, self.size(), self.padding_bits).unwrap_or(0)
    }

    /// Check that the blob holds exactly as many elements as `shape` describes.
    pub fn check_shape(&self, shape: &[u64]) -> Result<(), BlobError> {
        let found = self.element_count();
        match tensor::element_count(shape) {
            Some(expected) if expected == found => Ok(()),
            expected => Err(BlobError::ElementCount {
                offset: self.metadata_offset,
                found,
                expected: expected.unwrap_or(u64::MAX),
                shape: shape.to_vec(),
            }),
        }
    }

    /// Offset just after the payload rounded up to 64: where the writer puts the next record.
    pub fn next_record_offset(&self) -> Option<u64> {
        align_up(self.data_offset.checked_add(self.size())?, ALIGNMENT)
    }

    /// Decode the payload into typed values (allocates at most one element per payload bit).
    pub fn decode(&self) -> Result<TensorData, BlobError> {
        let n = usize::try_from(self.element_count()).map_err(|_| BlobError::TooLarge)?;
        pack::decode(self.dtype, self.data, n)
    }
}

/// Iterator over the records of a [`BlobFile`]; yields at most one error, then stops.
#[derive(Debug, Clone)]
pub struct Blobs<'a> {
    file: BlobFile<'a>,
    next: Option<u64>,
    remaining: u64,
    until_eof: bool,
}

impl<'a> Iterator for Blobs<'a> {
    type Item = Result<Blob<'a>, BlobError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let offset = self.next.take()?;
        // Scanning without a count ends cleanly at end of file.
        if self.until_eof && offset >= self.file.bytes.len() as u64 {
            return None;
        }
        self.remaining -= 1;
        match self.file.blob_at(offset, None) {
            Ok(blob) => {
                self.next = blob.next_record_offset();
                Some(Ok(blob))
            }
            Err(e) => {
                self.remaining = 0;
                Some(Err(e))
            }
        }
    }
}
