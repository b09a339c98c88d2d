//! PBZE: Apple's LZFSE-compressed wrapper of `.espresso.net` / `.espresso.shape`.
//!
//! Layout (reference/espresso.md §7, verified on Apple's NeuralHash files): magic `pbze`, a
//! big-endian u64 that is 0x40000000 in every known file, then a chunk made of a big-endian u64
//! uncompressed size, a big-endian u64 compressed size and that many bytes of LZFSE stream.
//! The layout is that of Apple's pbzx framing, so this reader loops over chunks until the end of
//! the file instead of assuming exactly one (multi-chunk files are unverified: none is known).

use crate::lzfse::{self, LzfseError, StreamInfo};
use anekit_core::{ReadError, Reader};
use serde::Serialize;

/// `pbze`
pub const MAGIC: [u8; 4] = *b"pbze";
/// The second header field in every known PBZE file (1 GiB; probably a pbzx-style chunk size).
pub const USUAL_FLAGS: u64 = 0x4000_0000;
/// Magic + flags + one chunk header.
pub const HEADER_LEN: u64 = 28;

/// True when `data` starts with the PBZE magic.
pub fn is_pbze(data: &[u8]) -> bool {
    data.starts_with(&MAGIC)
}

/// Why a PBZE file was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PbzeError {
    #[error("not a PBZE file: expected magic \"pbze\" at byte offset 0, found {found:02x?}")]
    BadMagic { found: Vec<u8> },
    #[error(transparent)]
    Truncated(#[from] ReadError),
    #[error(
        "PBZE chunk at byte offset {offset:#x} declares {declared} compressed bytes but its LZFSE stream ends after {actual}"
    )]
    StreamLength {
        offset: u64,
        declared: u64,
        actual: u64,
    },
    #[error(
        "PBZE chunk at byte offset {offset:#x} declares {declared} uncompressed bytes but its LZFSE blocks declare {actual}"
    )]
    RawSizeMismatch {
        offset: u64,
        declared: u64,
        actual: u64,
    },
    #[error("PBZE file declares {declared} uncompressed bytes, over the limit of {limit}")]
    TooLarge { declared: u64, limit: u64 },
    #[error("cannot encode {0} bytes as PBZE: one chunk holds at most 1 GiB")]
    PayloadTooLarge(u64),
    #[error(transparent)]
    Lzfse(#[from] LzfseError),
}

/// One chunk: sizes from its header, and the blocks of its LZFSE stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Chunk {
    /// Byte offset of the chunk header (the uncompressed-size field).
    pub offset: u64,
    pub uncompressed_size: u64,
    pub compressed_size: u64,
    pub stream: StreamInfo,
}

/// The structure of a PBZE file, read without decompressing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PbzeInfo {
    pub file_size: u64,
    /// The u64 at offset 4 (0x40000000 in every known file).
    pub flags: u64,
    pub chunks: Vec<Chunk>,
    pub uncompressed_size: u64,
    pub compressed_size: u64,
    /// Things a reader tolerates but that no known Apple file does.
    pub warnings: Vec<String>,
}

impl PbzeInfo {
    /// Uncompressed / compressed payload bytes (NeuralHash `.net`: 128297 / 6491 ≈ 19.77).
    pub fn ratio(&self) -> f64 {
        if self.compressed_size == 0 {
            0.0
        } else {
            self.uncompressed_size as f64 / self.compressed_size as f64
        }
    }
}

/// Read the header and walk every chunk's block headers; `limit` caps the declared output.
pub fn read_info(data: &[u8], limit: u64) -> Result<PbzeInfo, PbzeError> {
    if !is_pbze(data) {
        return Err(PbzeError::BadMagic {
            found: data.iter().take(4).copied().collect(),
        });
    }
    let mut r = Reader::new(data);
    r.skip(4, "PBZE magic")?;
    let flags = r.u64_be("PBZE flags (u64 BE at 0x4)")?;
    let mut warnings = Vec::new();
    if flags != USUAL_FLAGS {
        warnings.push(format!(
            "header field at 0x4 is {flags:#x}; every known PBZE file has {USUAL_FLAGS:#x}"
        ));
    }
    let mut chunks = Vec::new();
    let (mut total_raw, mut total_compressed) = (0u64, 0u64);
    // At least one chunk, even for an empty payload (its stream is still `bvx-`/`bvx$`).
    while chunks.is_empty() || r.remaining() > 0 {
        let offset = r.offset();
        let uncompressed_size = r.u64_be("PBZE uncompressed size (u64 BE)")?;
        let compressed_size = r.u64_be("PBZE compressed size (u64 BE)")?;
        total_raw = total_raw.saturating_add(uncompressed_size);
        if total_raw > limit {
            return Err(PbzeError::TooLarge {
                declared: total_raw,
                limit,
            });
        }
        let stream_reader = r.sub(r.offset(), compressed_size, "PBZE compressed payload")?;
        let stream = lzfse::walk_at(stream_reader, limit)?;
        if stream.encoded_size != compressed_size {
            return Err(PbzeError::StreamLength {
                offset,
                declared: compressed_size,
                actual: stream.encoded_size,
            });
        }
        if stream.raw_size != uncompressed_size {
            return Err(PbzeError::RawSizeMismatch {
                offset,
                declared: uncompressed_size,
                actual: stream.raw_size,
            });
        }
        r.skip(compressed_size, "PBZE compressed payload")?;
        total_compressed = total_compressed.saturating_add(compressed_size);
        chunks.push(Chunk {
            offset,
            uncompressed_size,
            compressed_size,
            stream,
        });
    }
    if chunks.len() > 1 {
        warnings.push(format!(
            "{} chunks; every known PBZE file has one (multi-chunk layout assumed from pbzx, unverified)",
            chunks.len()
        ));
    }
    Ok(PbzeInfo {
        file_size: data.len() as u64,
        flags,
        chunks,
        uncompressed_size: total_raw,
        compressed_size: total_compressed,
        warnings,
    })
}

/// Decompress a PBZE file, producing at most `limit` bytes.
pub fn decode(data: &[u8], limit: u64) -> Result<Vec<u8>, PbzeError> {
    decode_with_info(data, limit).map(|(out, _)| out)
}

/// [`decode`], also returning the file structure.
pub fn decode_with_info(data: &[u8], limit: u64) -> Result<(Vec<u8>, PbzeInfo), PbzeError> {
    let info = read_info(data, limit)?;
    let capacity = usize::try_from(info.uncompressed_size).map_err(|_| PbzeError::TooLarge {
        declared: info.uncompressed_size,
        limit,
    })?;
    let mut out = Vec::new();
    out.try_reserve_exact(capacity)
        .map_err(|_| LzfseError::Alloc(info.uncompressed_size))?;
    let r = Reader::new(data);
    for chunk in &info.chunks {
        let stream = r.sub(
            chunk.offset + 16,
            chunk.compressed_size,
            "PBZE compressed payload",
        )?;
        let (bytes, _) = lzfse::decode_at(stream, chunk.uncompressed_size)?;
        out.extend_from_slice(&bytes);
    }
    Ok((out, info))
}

/// The 28-byte header for a single-chunk file.
pub fn header(uncompressed_size: u64, compressed_size: u64) -> [u8; 28] {
    let mut out = Vec::with_capacity(28);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&USUAL_FLAGS.to_be_bytes());
    out.extend_from_slice(&uncompressed_size.to_be_bytes());
    out.extend_from_slice(&compressed_size.to_be_bytes());
    let mut h = [0u8; 28];
    h.copy_from_slice(&out);
    h
}

/// Compress `payload` into a single-chunk PBZE file: the 28-byte header followed by the
/// stream [`lzfse::encode`] makes. With the reference encoder (default feature) these are the
/// bytes Apple's tooling writes for the same payload wherever the reference encoder matches
/// Apple's (checked on both public Apple PBZE files, reference/espresso.md §9).
pub fn encode(payload: &[u8]) -> Result<Vec<u8>, PbzeError> {
    let len = payload.len() as u64;
    if len > USUAL_FLAGS {
        return Err(PbzeError::PayloadTooLarge(len));
    }
    let stream = lzfse::encode(payload)?;
    let mut out = Vec::with_capacity(stream.len() + 28);
    out.extend_from_slice(&header(len, stream.len() as u64));
    out.extend_from_slice(&stream);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_matches_neuralhash_bytes() {
        // First 28 bytes of Apple's NeuralHash .net (reference/espresso.md §7, verified).
        let expected: [u8; 28] = [
            0x70, 0x62, 0x7a, 0x65, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x01, 0xf5, 0x29, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x19, 0x5b,
        ];
        assert_eq!(header(128_297, 6491), expected);
    }
}
