//! Payload encoding: little-endian element bytes, and sub-byte packing (reference/mil-blob.md
//! §1.7): element i starts at bit i × bits of the byte stream, bits fill each byte least
//! significant first, 3- and 6-bit elements may straddle two bytes, int4 is two's complement.

use crate::BlobError;
use anekit_core::{DType, TensorData};
use half::{bf16, f16};

/// Element count of a payload of `size` bytes with `padding_bits` unused bits in the last byte,
/// or `None` when that is not a whole number of `dtype` elements.
pub fn element_count(dtype: DType, size: u64, padding_bits: u64) -> Option<u64> {
    let bits = u64::from(dtype.bits()?);
    if dtype.is_sub_byte() {
        // Only the last byte can be partly unused; an empty payload has no padding.
        if padding_bits >= 8 || (size == 0 && padding_bits != 0) {
            return None;
        }
        let used = size.checked_mul(8)?.checked_sub(padding_bits)?;
        used.is_multiple_of(bits).then_some(used / bits)
    } else {
        let width = bits / 8;
        (padding_bits == 0 && size.is_multiple_of(width)).then_some(size / width)
    }
}

/// Packed size in bytes and padding bits for `n` elements of `bits` bits each.
pub fn packed_size(n: u64, bits: u32) -> Option<(u64, u64)> {
    let total_bits = n.checked_mul(u64::from(bits))?;
    Some((total_bits.div_ceil(8), (8 - total_bits % 8) % 8))
}

/// Unpack `n` unsigned `bits`-bit fields (bits ≤ 8) from `data`, LSB first.
pub fn unpack_bits(data: &[u8], bits: u32, n: usize) -> Vec<u8> {
    let mask = (1u16 << bits) - 1;
    (0..n)
        .map(|i| {
            let bit = i * bits as usize;
            let byte = bit / 8;
            let lo = u16::from(data.get(byte).copied().unwrap_or(0));
            let hi = u16::from(data.get(byte + 1).copied().unwrap_or(0));
            // The field fits in 16 bits since bits ≤ 8 and the shift is < 8.
            (((lo | (hi << 8)) >> (bit % 8)) & mask) as u8
        })
        .collect()
}

/// Pack unsigned `bits`-bit fields (bits ≤ 8; each value already checked < 2^bits), LSB first.
pub fn pack_bits(values: impl ExactSizeIterator<Item = u8>, bits: u32) -> Vec<u8> {
    let total_bits = values.len() * bits as usize;
    let mut out = vec![0u8; total_bits.div_ceil(8)];
    for (i, v) in values.enumerate() {
        let bit = i * bits as usize;
        let field = u16::from(v) << (bit % 8);
        if let Some(b) = out.get_mut(bit / 8) {
            *b |= field as u8;
        }
        if let Some(b) = out.get_mut(bit / 8 + 1) {
            *b |= (field >> 8) as u8;
        }
    }
    out
}

fn chunks<const N: usize>(data: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
    data.chunks_exact(N).map(|c| {
        let mut a = [0u8; N];
        a.copy_from_slice(c);
        a
    })
}

/// Decode the payload `data` of a `dtype` blob holding `n` elements. The caller has checked
/// that `n` matches the payload size (see [`element_count`]).
pub fn decode(dtype: DType, data: &[u8], n: usize) -> Result<TensorData, BlobError> {
    Ok(match dtype {
        DType::Fp16 => TensorData::F16(chunks(data).map(f16::from_le_bytes).collect()),
        DType::Bf16 => TensorData::Bf16(chunks(data).map(bf16::from_le_bytes).collect()),
        DType::Fp32 => TensorData::F32(chunks(data).map(f32::from_le_bytes).collect()),
        DType::Int8 => TensorData::I8(data.iter().map(|&b| b as i8).collect()),
        DType::Uint8 => TensorData::U8(data.to_vec()),
        DType::Int16 => TensorData::I16(chunks(data).map(i16::from_le_bytes).collect()),
        DType::Uint16 => TensorData::U16(chunks(data).map(u16::from_le_bytes).collect()),
        DType::Int32 => TensorData::I32(chunks(data).map(i32::from_le_bytes).collect()),
        DType::Uint32 => TensorData::U32(chunks(data).map(u32::from_le_bytes).collect()),
        DType::Fp8E4M3Fn => TensorData::F8E4M3Fn(data.to_vec()),
        DType::Fp8E5M2 => TensorData::F8E5M2(data.to_vec()),
        // Sign-extend the nibble: shift it to the top of an i8 and back.
        DType::Int4 => TensorData::I4(
            unpack_bits(data, 4, n)
                .into_iter()
                .map(|v| ((v << 4) as i8) >> 4)
                .collect(),
        ),
        DType::Uint1 => TensorData::U1(unpack_bits(data, 1, n)),
        DType::Uint2 => TensorData::U2(unpack_bits(data, 2, n)),
        DType::Uint3 => TensorData::U3(unpack_bits(data, 3, n)),
        DType::Uint4 => TensorData::U4(unpack_bits(data, 4, n)),
        DType::Uint6 => TensorData::U6(unpack_bits(data, 6, n)),
        other => return Err(BlobError::UnsupportedDtype { dtype: other }),
    })
}

fn check_range(dtype: DType, values: &[u8], max: u8) -> Result<(), BlobError> {
    match values.iter().position(|&v| v > max) {
        Some(index) => Err(BlobError::ValueOutOfRange {
            dtype,
            index,
            value: values.get(index).copied().map_or(0, i128::from),
            min: 0,
            max: i128::from(max),
        }),
        None => Ok(()),
    }
}

/// Encode `data` as a blob payload: the payload bytes, the padding bits of the last byte, and
/// the dtype. Sub-byte values outside their type's range are an error (never truncated).
pub fn encode(data: &TensorData) -> Result<(Vec<u8>, u64), BlobError> {
    fn le<T, const N: usize>(v: &[T], f: impl Fn(&T) -> [u8; N]) -> Vec<u8> {
        v.iter().flat_map(f).collect()
    }
    let dtype = data.dtype();
    let sub = |values: &[u8], bits: u32| -> Result<(Vec<u8>, u64), BlobError> {
        check_range(dtype, values, ((1u16 << bits) - 1) as u8)?;
        let (_, pad) = packed_size(values.len() as u64, bits).ok_or(BlobError::TooLarge)?;
        Ok((pack_bits(values.iter().copied(), bits), pad))
    };
    Ok(match data {
        TensorData::F16(v) => (le(v, |x| x.to_le_bytes()), 0),
        TensorData::Bf16(v) => (le(v, |x| x.to_le_bytes()), 0),
        TensorData::F32(v) => (le(v, |x| x.to_le_bytes()), 0),
        TensorData::I8(v) => (le(v, |x| x.to_le_bytes()), 0),
        TensorData::U8(v) | TensorData::F8E4M3Fn(v) | TensorData::F8E5M2(v) => (v.clone(), 0),
        TensorData::I16(v) => (le(v, |x| x.to_le_bytes()), 0),
        TensorData::U16(v) => (le(v, |x| x.to_le_bytes()), 0),
        TensorData::I32(v) => (le(v, |x| x.to_le_bytes()), 0),
        TensorData::U32(v) => (le(v, |x| x.to_le_bytes()), 0),
        TensorData::I4(v) => {
            if let Some(index) = v.iter().position(|x| !(-8..=7).contains(x)) {
                return Err(BlobError::ValueOutOfRange {
                    dtype,
                    index,
                    value: v.get(index).copied().map_or(0, i128::from),
                    min: -8,
                    max: 7,
                });
            }
            let (_, pad) = packed_size(v.len() as u64, 4).ok_or(BlobError::TooLarge)?;
            (pack_bits(v.iter().map(|&x| (x as u8) & 0x0f), 4), pad)
        }
        TensorData::U1(v) => sub(v, 1)?,
        TensorData::U2(v) => sub(v, 2)?,
        TensorData::U3(v) => sub(v, 3)?,
        TensorData::U4(v) => sub(v, 4)?,
        TensorData::U6(v) => sub(v, 6)?,
        TensorData::F64(_) | TensorData::I64(_) | TensorData::U64(_) | TensorData::Bool(_) => {
            return Err(BlobError::UnsupportedDtype { dtype });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // reference/mil-blob.md §1.7, verified with coremltools 9.0.
    #[test]
    fn int4_worked_example() {
        let (bytes, pad) = encode(&TensorData::I4(vec![-8, 7, 1])).unwrap();
        assert_eq!(bytes, [0x78, 0x01]);
        assert_eq!(pad, 4);
        assert_eq!(element_count(DType::Int4, 2, 4), Some(3));
        assert_eq!(
            decode(DType::Int4, &bytes, 3).unwrap(),
            TensorData::I4(vec![-8, 7, 1])
        );
    }

    #[test]
    fn uint3_worked_example_straddles_bytes() {
        let values = vec![1, 2, 3, 4, 5, 6, 7];
        let (bytes, pad) = encode(&TensorData::U3(values.clone())).unwrap();
        assert_eq!(bytes, [0xd1, 0x58, 0x1f]);
        assert_eq!(pad, 3);
        assert_eq!(element_count(DType::Uint3, 3, 3), Some(7));
        assert_eq!(
            decode(DType::Uint3, &bytes, 7).unwrap(),
            TensorData::U3(values)
        );
    }

    #[test]
    fn sub_byte_sizes_and_paddings_from_reference() {
        // mil-blob.md §1.7: int4×5 → 3 B pad 4; uint1×10 → 2 B pad 6; uint2×5 → 2 B pad 6;
        // uint4×5 → 3 B pad 4; uint3×9 → 4 B pad 5; uint6×5 → 4 B pad 2.
        assert_eq!(packed_size(5, 4), Some((3, 4)));
        assert_eq!(packed_size(10, 1), Some((2, 6)));
        assert_eq!(packed_size(5, 2), Some((2, 6)));
        assert_eq!(packed_size(9, 3), Some((4, 5)));
        assert_eq!(packed_size(5, 6), Some((4, 2)));
        assert_eq!(element_count(DType::Uint6, 4, 2), Some(5));
        assert_eq!(element_count(DType::Uint1, 2, 6), Some(10));
    }

    #[test]
    fn inconsistent_sizes_are_rejected() {
        assert_eq!(element_count(DType::Fp16, 3, 0), None);
        assert_eq!(element_count(DType::Fp32, 8, 1), None);
        assert_eq!(element_count(DType::Uint3, 4, 8), None);
        assert_eq!(element_count(DType::Uint3, 4, 4), None); // 28 bits is not 3k
        assert_eq!(element_count(DType::Uint1, 0, 1), None);
        assert_eq!(element_count(DType::Uint4, u64::MAX, 0), None);
        assert_eq!(element_count(DType::String, 8, 0), None);
    }

    #[test]
    fn out_of_range_sub_byte_values_are_errors() {
        let err = encode(&TensorData::U3(vec![1, 8])).unwrap_err();
        assert!(matches!(
            err,
            BlobError::ValueOutOfRange {
                index: 1,
                value: 8,
                ..
            }
        ));
        assert!(encode(&TensorData::I4(vec![-9])).is_err());
        assert!(encode(&TensorData::I64(vec![1])).is_err());
    }

    #[test]
    fn uint6_straddling_round_trip() {
        let values: Vec<u8> = (0..64).collect();
        let (bytes, pad) = encode(&TensorData::U6(values.clone())).unwrap();
        assert_eq!((bytes.len(), pad), (48, 0));
        // Independent bit arithmetic for element 1 (value 1): bits 6..12 → byte0 bits 6,7 = 01.
        assert_eq!(bytes[0] >> 6, 1);
        assert_eq!(unpack_bits(&bytes, 6, 64), values);
    }
}
