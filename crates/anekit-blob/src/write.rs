//! Writing blob storage v2 exactly as coremltools' `StorageWriter`/`FileWriter` do
//! (reference/mil-blob.md §1.5): header with version 2; per blob, metadata at
//! M = align64(end of file), payload at M + 64, gaps zero-filled, header count updated; no
//! trailing padding.

use crate::read::{HEADER_SIZE, METADATA_SIZE, SENTINEL, STORAGE_VERSION};
use crate::{BlobError, BlobFile, pack};
use anekit_core::{DType, TensorData, align_up};

/// The offsets [`BlobWriter`] gives, without building the bytes: for planning the
/// `BLOBFILE(offset=…)` values of a file that is not written (e.g. checking the MIL text of a
/// full-size model). Same rule as the writer: metadata at align64(end of file), payload after it.
#[derive(Debug, Clone, Copy)]
pub struct BlobLayout {
    end: u64,
}

impl Default for BlobLayout {
    fn default() -> Self {
        Self::new()
    }
}

impl BlobLayout {
    /// An empty file: just the header.
    pub fn new() -> Self {
        BlobLayout { end: HEADER_SIZE }
    }

    /// Reserve a blob whose encoded payload is `payload_size` bytes; its metadata offset.
    pub fn add(&mut self, payload_size: u64) -> Result<u64, BlobError> {
        let metadata_offset = align_up(self.end, 64).ok_or(BlobError::TooLarge)?;
        self.end = metadata_offset
            .checked_add(METADATA_SIZE)
            .and_then(|d| d.checked_add(payload_size))
            .ok_or(BlobError::TooLarge)?;
        Ok(metadata_offset)
    }
}

/// An in-memory blob storage file being built. Write the bytes of [`BlobWriter::finish`] to disk.
#[derive(Debug, Clone)]
pub struct BlobWriter {
    bytes: Vec<u8>,
    count: u32,
}

impl Default for BlobWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl BlobWriter {
    /// An empty file: the 64-byte header with count 0 and version 2.
    pub fn new() -> Self {
        let mut bytes = vec![0u8; HEADER_SIZE as usize];
        bytes.splice(4..8, STORAGE_VERSION.to_le_bytes());
        BlobWriter { bytes, count: 0 }
    }

    /// Continue an existing version-2 file. Every record the header counts must read cleanly;
    /// new blobs go after the end of the file, as coremltools does when appending.
    pub fn append_to(existing: Vec<u8>) -> Result<Self, BlobError> {
        let file = BlobFile::parse(&existing)?;
        let count = file.count();
        for blob in file.blobs() {
            blob?;
        }
        Ok(BlobWriter {
            bytes: existing,
            count,
        })
    }

    /// Number of blobs in the file so far.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Append `data` (packing sub-byte types) and return its metadata offset, the value for
    /// `BLOBFILE(offset=…)`.
    pub fn add(&mut self, data: &TensorData) -> Result<u64, BlobError> {
        let dtype = data.dtype();
        let (payload, padding_bits) = pack::encode(data)?;
        self.add_raw(dtype, &payload, padding_bits)
    }

    /// Append an already-encoded payload of `dtype` with `padding_bits` unused bits in its last
    /// byte. The size must be a whole number of elements.
    pub fn add_raw(
        &mut self,
        dtype: DType,
        payload: &[u8],
        padding_bits: u64,
    ) -> Result<u64, BlobError> {
        let code = dtype
            .blob_code()
            .ok_or(BlobError::UnsupportedDtype { dtype })?;
        let size = payload.len() as u64;
        let metadata_offset = align_up(self.bytes.len() as u64, 64).ok_or(BlobError::TooLarge)?;
        if pack::element_count(dtype, size, padding_bits).is_none() {
            return Err(BlobError::BadSize {
                offset: metadata_offset,
                dtype,
                size,
                padding_bits,
            });
        }
        let count = self.count.checked_add(1).ok_or(BlobError::TooLarge)?;
        let data_offset = metadata_offset
            .checked_add(HEADER_SIZE)
            .ok_or(BlobError::TooLarge)?;
        let meta_start = usize::try_from(metadata_offset).map_err(|_| BlobError::TooLarge)?;
        self.bytes.resize(meta_start, 0);
        self.bytes.extend_from_slice(&SENTINEL.to_le_bytes());
        self.bytes.extend_from_slice(&code.to_le_bytes());
        self.bytes.extend_from_slice(&size.to_le_bytes());
        self.bytes.extend_from_slice(&data_offset.to_le_bytes());
        self.bytes.extend_from_slice(&padding_bits.to_le_bytes());
        self.bytes.extend_from_slice(&[0u8; 32]);
        self.bytes.extend_from_slice(payload);
        self.count = count;
        self.bytes.splice(0..4, count.to_le_bytes());
        Ok(metadata_offset)
    }

    /// The file bytes.
    pub fn finish(self) -> Vec<u8> {
        self.bytes
    }

    /// The file bytes so far.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use half::f16;

    #[test]
    fn layout_offsets_are_the_writers() {
        // Payloads of 2, 66, 132, 0 and 8 bytes: aligned and unaligned file ends.
        let data = [
            TensorData::F16(vec![f16::ONE]),
            TensorData::F16(vec![f16::ONE; 33]),
            TensorData::F32(vec![1.0; 33]),
            TensorData::F32(Vec::new()),
            TensorData::F32(vec![1.0; 2]),
        ];
        let mut w = BlobWriter::new();
        let mut layout = BlobLayout::new();
        let mut planned = Vec::new();
        let mut written = Vec::new();
        for d in &data {
            written.push(w.add(d).unwrap());
            let width = if d.dtype() == DType::Fp16 { 2 } else { 4 };
            planned.push(layout.add(d.len() as u64 * width).unwrap());
        }
        // 64 + 64 + 2 → 192; 192 + 64 + 66 → 384; 384 + 64 + 132 → 640; 640 + 64 + 0 = 704.
        assert_eq!(written, [64, 192, 384, 640, 704]);
        assert_eq!(planned, written);
        assert_eq!(layout.end, w.finish().len() as u64);
    }
}
