//! LZFSE streams: block walking, bounded decoding and encoding.
//!
//! Decoding is done by the `lzfse_rust` crate (pure Rust, decodes every block type and was
//! measured at parity with or faster than the reference C decoder, see docs/espresso.md).
//! It trusts the sizes declared in block headers when it allocates, so every stream is first
//! walked here, block header by block header (reference/espresso.md §8.1–8.3): the walk proves
//! that every block lies inside the input, that the stream ends with `bvx$`, and that the sum of
//! the declared raw sizes stays under the caller's limit, before a single output byte is
//! allocated.

use anekit_core::{ReadError, Reader};
use serde::Serialize;

/// `bvx$`: end of stream.
pub const MAGIC_END: u32 = u32::from_le_bytes(*b"bvx$");
/// `bvx-`: stored (uncompressed) block.
pub const MAGIC_RAW: u32 = u32::from_le_bytes(*b"bvx-");
/// `bvxn`: LZVN block.
pub const MAGIC_LZVN: u32 = u32::from_le_bytes(*b"bvxn");
/// `bvx1`: LZFSE block with uncompressed frequency tables.
pub const MAGIC_V1: u32 = u32::from_le_bytes(*b"bvx1");
/// `bvx2`: LZFSE block with compressed frequency tables.
pub const MAGIC_V2: u32 = u32::from_le_bytes(*b"bvx2");

/// Size of the fixed `bvx1` header (reference/espresso.md §8.2).
const V1_HEADER_LEN: u64 = 772;
/// Size of the fixed part of a `bvx2` header (§8.3).
const V2_FIXED_LEN: u64 = 32;
/// The reference encoder's per-block caps (§8.4); headers above them are corrupt.
const MAX_LITERALS: u64 = 40_000;
const MAX_MATCHES: u64 = 10_000;

/// Default cap on decoded output: 1 GiB, the value every known PBZE header carries in its
/// second field (reference/espresso.md §7).
pub const DEFAULT_LIMIT: u64 = 1 << 30;

/// The kind of one LZFSE block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum BlockKind {
    #[serde(rename = "bvx-")]
    Raw,
    #[serde(rename = "bvxn")]
    Lzvn,
    #[serde(rename = "bvx1")]
    V1,
    #[serde(rename = "bvx2")]
    V2,
    #[serde(rename = "bvx$")]
    End,
}

impl BlockKind {
    /// The four magic bytes as text (`bvx2`, ...).
    pub const fn magic(self) -> &'static str {
        match self {
            BlockKind::Raw => "bvx-",
            BlockKind::Lzvn => "bvxn",
            BlockKind::V1 => "bvx1",
            BlockKind::V2 => "bvx2",
            BlockKind::End => "bvx$",
        }
    }
}

/// One block as its header declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BlockInfo {
    /// Byte offset of the block's magic in the input.
    pub offset: u64,
    pub kind: BlockKind,
    /// Bytes the block decodes to (`n_raw_bytes`).
    pub raw_size: u64,
    /// Bytes the block occupies in the stream, header included.
    pub encoded_size: u64,
}

/// The block structure of one stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreamInfo {
    /// Every block, the final `bvx$` included.
    pub blocks: Vec<BlockInfo>,
    /// Sum of the declared raw sizes.
    pub raw_size: u64,
    /// Bytes from the first magic to the end of `bvx$` inclusive.
    pub encoded_size: u64,
}

/// Why an LZFSE stream was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LzfseError {
    #[error(transparent)]
    Truncated(#[from] ReadError),
    #[error(
        "unknown LZFSE block magic {found:02x?} at byte offset {offset:#x}: expected bvx2, bvx1, bvxn, bvx- or bvx$"
    )]
    BadMagic { offset: u64, found: [u8; 4] },
    #[error("bad {kind} block header at byte offset {offset:#x}: {reason}")]
    BadHeader {
        offset: u64,
        kind: &'static str,
        reason: String,
    },
    #[error(
        "LZFSE stream declares {declared} decoded bytes, over the limit of {limit} (at block offset {offset:#x})"
    )]
    TooLarge {
        offset: u64,
        declared: u64,
        limit: u64,
    },
    #[error("corrupt LZFSE data in the {kind} block at byte offset {offset:#x}: {reason}")]
    Corrupt {
        offset: u64,
        kind: &'static str,
        reason: String,
    },
    #[error("LZFSE stream decoded to {actual} bytes, its blocks declare {declared}")]
    SizeMismatch { declared: u64, actual: u64 },
    #[error("cannot allocate {0} bytes for the decoded output")]
    Alloc(u64),
    #[error("LZFSE encoder failed: {0}")]
    Encode(String),
}

/// Walk the block headers of the stream at the start of `data` without decoding.
///
/// Stops after `bvx$`; bytes after it are not part of the stream (the reference decoder
/// ignores them too). Fails when a block runs past the input, a magic is unknown, a header
/// is inconsistent, or the declared output exceeds `limit`.
pub fn walk(data: &[u8], limit: u64) -> Result<StreamInfo, LzfseError> {
    walk_at(Reader::new(data), limit)
}

/// [`walk`] over a sub-reader, so offsets in errors are those of the enclosing file.
pub fn walk_at(mut r: Reader<'_>, limit: u64) -> Result<StreamInfo, LzfseError> {
    let start = r.offset();
    let mut blocks = Vec::new();
    let mut raw_total: u64 = 0;
    loop {
        let offset = r.offset();
        let magic_bytes: [u8; 4] = r.array("LZFSE block magic")?;
        let magic = u32::from_le_bytes(magic_bytes);
        let (kind, raw_size, rest) = match magic {
            MAGIC_END => (BlockKind::End, 0, 0),
            MAGIC_RAW => {
                let n = u64::from(r.u32_le("bvx- n_raw_bytes")?);
                (BlockKind::Raw, n, n)
            }
            MAGIC_LZVN => {
                let n_raw = u64::from(r.u32_le("bvxn n_raw_bytes")?);
                let n_payload = u64::from(r.u32_le("bvxn n_payload_bytes")?);
                (BlockKind::Lzvn, n_raw, n_payload)
            }
            MAGIC_V1 => {
                let (n_raw, rest) = v1_sizes(&mut r, offset)?;
                (BlockKind::V1, n_raw, rest)
            }
            MAGIC_V2 => {
                let (n_raw, rest) = v2_sizes(&mut r, offset)?;
                (BlockKind::V2, n_raw, rest)
            }
            _ => {
                return Err(LzfseError::BadMagic {
                    offset,
                    found: magic_bytes,
                });
            }
        };
        r.skip(rest, "LZFSE block payload")?;
        raw_total = raw_total.saturating_add(raw_size);
        if raw_total > limit {
            return Err(LzfseError::TooLarge {
                offset,
                declared: raw_total,
                limit,
            });
        }
        blocks.push(BlockInfo {
            offset,
            kind,
            raw_size,
            encoded_size: r.offset() - offset,
        });
        if kind == BlockKind::End {
            return Ok(StreamInfo {
                blocks,
                raw_size: raw_total,
                encoded_size: r.offset() - start,
            });
        }
    }
}

/// `bvx1` header (§8.2): returns n_raw_bytes and the bytes after the magic+n_raw fields that
/// the block still occupies (rest of header + payloads).
fn v1_sizes(r: &mut Reader<'_>, offset: u64) -> Result<(u64, u64), LzfseError> {
    let n_raw = u64::from(r.u32_le("bvx1 n_raw_bytes")?);
    let _n_payload = r.u32_le("bvx1 n_payload_bytes")?;
    let n_literals = u64::from(r.u32_le("bvx1 n_literals")?);
    let n_matches = u64::from(r.u32_le("bvx1 n_matches")?);
    let n_lit_payload = u64::from(r.u32_le("bvx1 n_literal_payload_bytes")?);
    let n_lmd_payload = u64::from(r.u32_le("bvx1 n_lmd_payload_bytes")?);
    check_counts(offset, "bvx1", n_literals, n_matches)?;
    // 28 header bytes read so far (magic + six u32).
    Ok((n_raw, V1_HEADER_LEN - 28 + n_lit_payload + n_lmd_payload))
}

/// `bvx2` header (§8.3): unpacks the three packed words for the block length.
fn v2_sizes(r: &mut Reader<'_>, offset: u64) -> Result<(u64, u64), LzfseError> {
    let n_raw = u64::from(r.u32_le("bvx2 n_raw_bytes")?);
    let w0 = r.u64_le("bvx2 packed header word 0")?;
    let w1 = r.u64_le("bvx2 packed header word 1")?;
    let w2 = r.u64_le("bvx2 packed header word 2")?;
    let field = |w: u64, lo: u32, bits: u32| (w >> lo) & ((1u64 << bits) - 1);
    let n_literals = field(w0, 0, 20);
    let n_lit_payload = field(w0, 20, 20);
    let n_matches = field(w0, 40, 20);
    let n_lmd_payload = field(w1, 40, 20);
    let header_size = field(w2, 0, 32);
    check_counts(offset, "bvx2", n_literals, n_matches)?;
    if header_size < V2_FIXED_LEN {
        return Err(LzfseError::BadHeader {
            offset,
            kind: "bvx2",
            reason: format!("header_size {header_size} is below the 32-byte fixed part"),
        });
    }
    Ok((
        n_raw,
        header_size - V2_FIXED_LEN + n_lit_payload + n_lmd_payload,
    ))
}

fn check_counts(
    offset: u64,
    kind: &'static str,
    n_literals: u64,
    n_matches: u64,
) -> Result<(), LzfseError> {
    if n_literals > MAX_LITERALS || n_matches > MAX_MATCHES {
        return Err(LzfseError::BadHeader {
            offset,
            kind,
            reason: format!(
                "{n_literals} literals / {n_matches} matches exceed the per-block caps {MAX_LITERALS} / {MAX_MATCHES}"
            ),
        });
    }
    Ok(())
}

/// Decode the LZFSE stream at the start of `data`, producing at most `limit` bytes.
pub fn decode(data: &[u8], limit: u64) -> Result<Vec<u8>, LzfseError> {
    decode_at(Reader::new(data), limit).map(|(out, _)| out)
}

/// [`decode`] over a sub-reader (error offsets are those of the enclosing file); also returns
/// the block structure.
pub fn decode_at(r: Reader<'_>, limit: u64) -> Result<(Vec<u8>, StreamInfo), LzfseError> {
    let info = walk_at(r, limit)?;
    let stream = r.slice_at(0, info.encoded_size, "LZFSE stream")?;
    // The walk bounded raw_size by `limit`; a limit above usize::MAX cannot be allocated anyway.
    let capacity = usize::try_from(info.raw_size).map_err(|_| LzfseError::TooLarge {
        offset: r.offset(),
        declared: info.raw_size,
        limit,
    })?;
    let mut out = Vec::new();
    out.try_reserve_exact(capacity)
        .map_err(|_| LzfseError::Alloc(info.raw_size))?;
    if let Err(e) = decode_with_cached_decoder(stream, &mut out) {
        return Err(locate_error(stream, &info, r.offset(), &e.to_string()));
    }
    if out.len() as u64 != info.raw_size {
        return Err(LzfseError::SizeMismatch {
            declared: info.raw_size,
            actual: out.len() as u64,
        });
    }
    Ok((out, info))
}

thread_local! {
    /// `lzfse_rust`'s decoder owns ~0.5 MB of block buffers; building one per call cost more
    /// than decoding a small stream (3 KiB JSON: 0.33× the reference C speed), so each thread
    /// keeps one.
    static DECODER: std::cell::RefCell<lzfse_rust::LzfseDecoder> =
        std::cell::RefCell::new(lzfse_rust::LzfseDecoder::default());
}

fn decode_with_cached_decoder(stream: &[u8], out: &mut Vec<u8>) -> lzfse_rust::Result<u64> {
    DECODER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut decoder) => {
            let result = decoder.decode_bytes(stream, out);
            if result.is_err() {
                // Do not carry state from a failed decode into the next one.
                *decoder = lzfse_rust::LzfseDecoder::default();
            }
            result
        }
        Err(_) => lzfse_rust::decode_bytes(stream, out),
    })
}

/// Find the first block whose prefix stream fails to decode, by bisection over prefixes
/// (blocks may copy from earlier blocks' output, so blocks cannot be decoded alone). Only
/// runs on the error path; costs log2(blocks) extra decodes.
fn locate_error(stream: &[u8], info: &StreamInfo, base: u64, reason: &str) -> LzfseError {
    let data_blocks: Vec<&BlockInfo> = info
        .blocks
        .iter()
        .filter(|b| b.kind != BlockKind::End)
        .collect();
    let prefix_fails = |n: usize| -> bool {
        let Some(last) = n.checked_sub(1).and_then(|i| data_blocks.get(i)) else {
            return false;
        };
        let end = (last.offset + last.encoded_size - base) as usize;
        let Some(head) = stream.get(..end) else {
            return true;
        };
        let mut prefix = Vec::with_capacity(end + 4);
        prefix.extend_from_slice(head);
        prefix.extend_from_slice(b"bvx$");
        let mut out = Vec::new();
        lzfse_rust::decode_bytes(&prefix, &mut out).is_err()
    };
    // Smallest n in 1..=len with prefix_fails(n); the whole stream fails, so n exists unless
    // the failure is at the end marker itself.
    let (mut lo, mut hi) = (1usize, data_blocks.len());
    let found = hi > 0 && prefix_fails(hi);
    if found {
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if prefix_fails(mid) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
    }
    let block = if found {
        data_blocks.get(lo - 1).copied()
    } else {
        info.blocks.last()
    };
    LzfseError::Corrupt {
        offset: block.map_or(base, |b| b.offset),
        kind: block.map_or("bvx$", |b| b.kind.magic()),
        reason: reason.to_string(),
    }
}

/// Encode `data` as an LZFSE stream.
///
/// With the default `reference-encoder` feature this runs the reference C encoder of
/// lzfse/lzfse, whose output is byte-identical to Apple's for the files checked
/// (reference/espresso.md §8.9); otherwise `lzfse_rust`'s encoder (valid, different bytes).
pub fn encode(data: &[u8]) -> Result<Vec<u8>, LzfseError> {
    #[cfg(feature = "reference-encoder")]
    {
        encode_reference(data)
    }
    #[cfg(not(feature = "reference-encoder"))]
    {
        encode_rust(data)
    }
}

/// True when [`encode`] uses the reference encoder (Apple-identical bytes).
pub const ENCODER_IS_REFERENCE: bool = cfg!(feature = "reference-encoder");

/// Encode with the reference C encoder.
#[cfg(feature = "reference-encoder")]
pub fn encode_reference(data: &[u8]) -> Result<Vec<u8>, LzfseError> {
    // The reference encoder falls back to a stored block when compression does not fit, and a
    // stored stream is `bvx-` + u32 + data + `bvx$` = len + 12 bytes; it needs one spare byte
    // to tell "fits exactly" from "too small".
    let capacity = data.len().saturating_add(64);
    let mut out = vec![0u8; capacity];
    let n =
        lzfse::encode_buffer(data, &mut out).map_err(|e| LzfseError::Encode(format!("{e:?}")))?;
    out.truncate(n);
    Ok(out)
}

/// Encode with `lzfse_rust`'s encoder.
pub fn encode_rust(data: &[u8]) -> Result<Vec<u8>, LzfseError> {
    let mut out = Vec::new();
    lzfse_rust::encode_bytes(data, &mut out).map_err(|e| LzfseError::Encode(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_block_walks_and_decodes() {
        // The example stream from lzfse_rust's docs, built here by hand from §8.1.
        let mut s = b"bvx-".to_vec();
        s.extend_from_slice(&4u32.to_le_bytes());
        s.extend_from_slice(b"test");
        s.extend_from_slice(b"bvx$");
        let info = walk(&s, 100).unwrap();
        assert_eq!(info.blocks.len(), 2);
        assert_eq!(info.blocks[0].kind, BlockKind::Raw);
        assert_eq!(info.blocks[0].encoded_size, 12);
        assert_eq!(info.blocks[1].offset, 12);
        assert_eq!(info.encoded_size, 16);
        assert_eq!(decode(&s, 100).unwrap(), b"test");
        assert_eq!(
            decode(&s, 3).unwrap_err(),
            LzfseError::TooLarge {
                offset: 0,
                declared: 4,
                limit: 3
            }
        );
    }

    #[test]
    fn bomb_header_is_rejected_before_allocating() {
        // bvxn declaring 4 GiB - 1 of output from a 0-byte payload.
        let mut s = b"bvxn".to_vec();
        s.extend_from_slice(&u32::MAX.to_le_bytes());
        s.extend_from_slice(&0u32.to_le_bytes());
        s.extend_from_slice(b"bvx$");
        assert!(matches!(
            decode(&s, DEFAULT_LIMIT),
            Err(LzfseError::TooLarge { .. })
        ));
    }

    #[test]
    fn missing_end_and_bad_magic_carry_offsets() {
        let mut s = b"bvx-".to_vec();
        s.extend_from_slice(&1u32.to_le_bytes());
        s.push(b'x');
        let err = decode(&s, 100).unwrap_err();
        assert!(matches!(
            err,
            LzfseError::Truncated(ReadError { offset: 9, .. })
        ));
        s.extend_from_slice(b"bvxQ");
        assert_eq!(
            decode(&s, 100).unwrap_err(),
            LzfseError::BadMagic {
                offset: 9,
                found: *b"bvxQ"
            }
        );
    }
}
