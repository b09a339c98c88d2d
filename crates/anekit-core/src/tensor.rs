//! Typed element storage shared by blob storage, npy I/O and the executor.
//!
//! One variant per element type, holding the decoded values. Types that Rust has no native
//! element for keep a lossless representation: sub-byte integers one value per byte (`int4` as
//! `i8`, `uintN` as `u8`), and the fp8 formats as their raw bit patterns (decode with
//! [`fp8_e4m3fn_to_f32`] / [`fp8_e5m2_to_f32`] or [`TensorData::to_f32`]).

use crate::DType;
use half::{bf16, f16};

/// The values of a tensor, flat in C (row-major) order.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    F16(Vec<f16>),
    Bf16(Vec<bf16>),
    F32(Vec<f32>),
    F64(Vec<f64>),
    I8(Vec<i8>),
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
    U64(Vec<u64>),
    Bool(Vec<bool>),
    /// Signed 4-bit integers, each in `-8..=7`.
    I4(Vec<i8>),
    /// 1-bit unsigned integers, each in `0..=1`.
    U1(Vec<u8>),
    /// 2-bit unsigned integers, each in `0..=3`.
    U2(Vec<u8>),
    /// 3-bit unsigned integers, each in `0..=7`.
    U3(Vec<u8>),
    /// 4-bit unsigned integers, each in `0..=15`.
    U4(Vec<u8>),
    /// 6-bit unsigned integers, each in `0..=63`.
    U6(Vec<u8>),
    /// OCP fp8 E4M3FN, raw bit patterns.
    F8E4M3Fn(Vec<u8>),
    /// OCP fp8 E5M2, raw bit patterns.
    F8E5M2(Vec<u8>),
}

/// Apply `$body` to the inner vector of any variant.
macro_rules! each_variant {
    ($self:expr, $v:ident => $body:expr) => {
        match $self {
            TensorData::F16($v) => $body,
            TensorData::Bf16($v) => $body,
            TensorData::F32($v) => $body,
            TensorData::F64($v) => $body,
            TensorData::I8($v) => $body,
            TensorData::I16($v) => $body,
            TensorData::I32($v) => $body,
            TensorData::I64($v) => $body,
            TensorData::U8($v) => $body,
            TensorData::U16($v) => $body,
            TensorData::U32($v) => $body,
            TensorData::U64($v) => $body,
            TensorData::Bool($v) => $body,
            TensorData::I4($v) => $body,
            TensorData::U1($v) => $body,
            TensorData::U2($v) => $body,
            TensorData::U3($v) => $body,
            TensorData::U4($v) => $body,
            TensorData::U6($v) => $body,
            TensorData::F8E4M3Fn($v) => $body,
            TensorData::F8E5M2($v) => $body,
        }
    };
}

impl TensorData {
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            TensorData::F16(_) => DType::Fp16,
            TensorData::Bf16(_) => DType::Bf16,
            TensorData::F32(_) => DType::Fp32,
            TensorData::F64(_) => DType::Fp64,
            TensorData::I8(_) => DType::Int8,
            TensorData::I16(_) => DType::Int16,
            TensorData::I32(_) => DType::Int32,
            TensorData::I64(_) => DType::Int64,
            TensorData::U8(_) => DType::Uint8,
            TensorData::U16(_) => DType::Uint16,
            TensorData::U32(_) => DType::Uint32,
            TensorData::U64(_) => DType::Uint64,
            TensorData::Bool(_) => DType::Bool,
            TensorData::I4(_) => DType::Int4,
            TensorData::U1(_) => DType::Uint1,
            TensorData::U2(_) => DType::Uint2,
            TensorData::U3(_) => DType::Uint3,
            TensorData::U4(_) => DType::Uint4,
            TensorData::U6(_) => DType::Uint6,
            TensorData::F8E4M3Fn(_) => DType::Fp8E4M3Fn,
            TensorData::F8E5M2(_) => DType::Fp8E5M2,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        each_variant!(self, v => v.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every element as `f32` (64-bit values are rounded; fp8 and bf16 are exact).
    pub fn to_f32(&self) -> Vec<f32> {
        match self {
            TensorData::F16(v) => v.iter().map(|x| x.to_f32()).collect(),
            TensorData::Bf16(v) => v.iter().map(|x| x.to_f32()).collect(),
            TensorData::F32(v) => v.clone(),
            TensorData::F64(v) => v.iter().map(|&x| x as f32).collect(),
            TensorData::I8(v) | TensorData::I4(v) => v.iter().map(|&x| f32::from(x)).collect(),
            TensorData::I16(v) => v.iter().map(|&x| f32::from(x)).collect(),
            TensorData::I32(v) => v.iter().map(|&x| x as f32).collect(),
            TensorData::I64(v) => v.iter().map(|&x| x as f32).collect(),
            TensorData::U8(v)
            | TensorData::U1(v)
            | TensorData::U2(v)
            | TensorData::U3(v)
            | TensorData::U4(v)
            | TensorData::U6(v) => v.iter().map(|&x| f32::from(x)).collect(),
            TensorData::U16(v) => v.iter().map(|&x| f32::from(x)).collect(),
            TensorData::U32(v) => v.iter().map(|&x| x as f32).collect(),
            TensorData::U64(v) => v.iter().map(|&x| x as f32).collect(),
            TensorData::Bool(v) => v.iter().map(|&x| if x { 1.0 } else { 0.0 }).collect(),
            TensorData::F8E4M3Fn(v) => v.iter().map(|&x| fp8_e4m3fn_to_f32(x)).collect(),
            TensorData::F8E5M2(v) => v.iter().map(|&x| fp8_e5m2_to_f32(x)).collect(),
        }
    }

    /// Every element as `f64` when the type is a float (exact), else `None`.
    pub fn float_values_f64(&self) -> Option<Vec<f64>> {
        match self {
            TensorData::F64(v) => Some(v.clone()),
            d if d.dtype().is_float() => Some(d.to_f32().into_iter().map(f64::from).collect()),
            _ => None,
        }
    }

    /// Every element as `i128` when the type is an integer or bool (exact), else `None`.
    pub fn int_values(&self) -> Option<Vec<i128>> {
        Some(match self {
            TensorData::I8(v) | TensorData::I4(v) => v.iter().map(|&x| i128::from(x)).collect(),
            TensorData::I16(v) => v.iter().map(|&x| i128::from(x)).collect(),
            TensorData::I32(v) => v.iter().map(|&x| i128::from(x)).collect(),
            TensorData::I64(v) => v.iter().map(|&x| i128::from(x)).collect(),
            TensorData::U8(v)
            | TensorData::U1(v)
            | TensorData::U2(v)
            | TensorData::U3(v)
            | TensorData::U4(v)
            | TensorData::U6(v) => v.iter().map(|&x| i128::from(x)).collect(),
            TensorData::U16(v) => v.iter().map(|&x| i128::from(x)).collect(),
            TensorData::U32(v) => v.iter().map(|&x| i128::from(x)).collect(),
            TensorData::U64(v) => v.iter().map(|&x| i128::from(x)).collect(),
            TensorData::Bool(v) => v.iter().map(|&x| i128::from(x)).collect(),
            _ => return None,
        })
    }
}

/// Why [`TensorData::convert`] refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConvertError {
    #[error("element {index} ({value}) does not fit in {to} (range {min}..={max})")]
    OutOfRange {
        to: DType,
        index: usize,
        value: String,
        min: i128,
        max: i128,
    },
    #[error("element {index} ({value}) is not an integer; {to} needs integer values")]
    NotIntegral { to: DType, index: usize, value: f64 },
    #[error("cannot convert {from} to {to}")]
    Unsupported { from: DType, to: DType },
}

/// Inclusive value range of an integer dtype.
fn int_range(d: DType) -> Option<(i128, i128)> {
    Some(match d {
        DType::Int4 => (-8, 7),
        DType::Int8 => (i8::MIN.into(), i8::MAX.into()),
        DType::Int16 => (i16::MIN.into(), i16::MAX.into()),
        DType::Int32 => (i32::MIN.into(), i32::MAX.into()),
        DType::Int64 => (i64::MIN.into(), i64::MAX.into()),
        DType::Uint1 => (0, 1),
        DType::Uint2 => (0, 3),
        DType::Uint3 => (0, 7),
        DType::Uint4 => (0, 15),
        DType::Uint6 => (0, 63),
        DType::Uint8 => (0, u8::MAX.into()),
        DType::Uint16 => (0, u16::MAX.into()),
        DType::Uint32 => (0, u32::MAX.into()),
        DType::Uint64 => (0, u64::MAX.into()),
        DType::Bool => (0, 1),
        _ => return None,
    })
}

impl TensorData {
    /// Convert to `to`. Integer targets keep values exactly: every value must be an integer in
    /// the target's range (floats included), else an error names the first offender. Float
    /// targets round to nearest (fp16/bf16/fp32 from wider types); fp8 targets are refused.
    pub fn convert(&self, to: DType) -> Result<TensorData, ConvertError> {
        let from = self.dtype();
        if from == to {
            return Ok(self.clone());
        }
        let unsupported = ConvertError::Unsupported { from, to };
        if let Some((min, max)) = int_range(to) {
            let ints: Vec<i128> = match self.int_values() {
                Some(v) => v,
                None => {
                    let floats = self.float_values_f64().ok_or(unsupported.clone())?;
                    let mut out = Vec::with_capacity(floats.len());
                    for (index, value) in floats.into_iter().enumerate() {
                        if value.fract() != 0.0 || !value.is_finite() {
                            return Err(ConvertError::NotIntegral { to, index, value });
                        }
                        // Values beyond i128 are caught by the range check (saturating cast).
                        out.push(value as i128);
                    }
                    out
                }
            };
            if let Some(index) = ints.iter().position(|v| !(min..=max).contains(v)) {
                return Err(ConvertError::OutOfRange {
                    to,
                    index,
                    value: ints.get(index).map(i128::to_string).unwrap_or_default(),
                    min,
                    max,
                });
            }
            // In range, so the narrowing casts below are exact.
            let it = ints.into_iter();
            return Ok(match to {
                DType::Int4 => TensorData::I4(it.map(|v| v as i8).collect()),
                DType::Int8 => TensorData::I8(it.map(|v| v as i8).collect()),
                DType::Int16 => TensorData::I16(it.map(|v| v as i16).collect()),
                DType::Int32 => TensorData::I32(it.map(|v| v as i32).collect()),
                DType::Int64 => TensorData::I64(it.map(|v| v as i64).collect()),
                DType::Uint1 => TensorData::U1(it.map(|v| v as u8).collect()),
                DType::Uint2 => TensorData::U2(it.map(|v| v as u8).collect()),
                DType::Uint3 => TensorData::U3(it.map(|v| v as u8).collect()),
                DType::Uint4 => TensorData::U4(it.map(|v| v as u8).collect()),
                DType::Uint6 => TensorData::U6(it.map(|v| v as u8).collect()),
                DType::Uint8 => TensorData::U8(it.map(|v| v as u8).collect()),
                DType::Uint16 => TensorData::U16(it.map(|v| v as u16).collect()),
                DType::Uint32 => TensorData::U32(it.map(|v| v as u32).collect()),
                DType::Uint64 => TensorData::U64(it.map(|v| v as u64).collect()),
                DType::Bool => TensorData::Bool(it.map(|v| v != 0).collect()),
                _ => return Err(unsupported),
            });
        }
        // Float targets: go through f64, which holds every source value exactly except 64-bit
        // integers beyond 2^53 (rounded, as a float target must anyway).
        let values: Vec<f64> = match (self.float_values_f64(), self.int_values()) {
            (Some(f), _) => f,
            (None, Some(i)) => i.into_iter().map(|v| v as f64).collect(),
            (None, None) => return Err(unsupported),
        };
        Ok(match to {
            DType::Fp16 => TensorData::F16(values.into_iter().map(f16::from_f64).collect()),
            DType::Bf16 => TensorData::Bf16(values.into_iter().map(bf16::from_f64).collect()),
            DType::Fp32 => TensorData::F32(values.into_iter().map(|v| v as f32).collect()),
            DType::Fp64 => TensorData::F64(values),
            _ => return Err(unsupported),
        })
    }
}

/// Decode one OCP fp8 E4M3FN value: bias 7, no infinities, `S.1111.111` is NaN.
pub fn fp8_e4m3fn_to_f32(bits: u8) -> f32 {
    let sign = if bits & 0x80 != 0 { -1.0f32 } else { 1.0 };
    let exp = i32::from((bits >> 3) & 0x0f);
    let mant = f32::from(bits & 0x07);
    if exp == 0x0f && bits & 0x07 == 0x07 {
        return f32::NAN;
    }
    if exp == 0 {
        // Subnormal: mant/8 * 2^(1-7).
        return sign * mant / 8.0 * 2f32.powi(-6);
    }
    sign * (1.0 + mant / 8.0) * 2f32.powi(exp - 7)
}

/// Decode one OCP fp8 E5M2 value. E5M2 is the upper byte of an IEEE binary16, so the
/// conversion goes through `f16` exactly (infinities and NaNs included).
pub fn fp8_e5m2_to_f32(bits: u8) -> f32 {
    f16::from_bits(u16::from(bits) << 8).to_f32()
}

/// Number of elements of `shape` (1 for a scalar), or `None` on overflow.
pub fn element_count(shape: &[u64]) -> Option<u64> {
    shape.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fp8_e4m3fn_known_values() {
        // OCP OFP8 spec table: max normal 0x7E = 448, min normal 0x08 = 2^-6,
        // min subnormal 0x01 = 2^-9, 0x38 = 1.0, 0x7F = NaN.
        assert_eq!(fp8_e4m3fn_to_f32(0x7e), 448.0);
        assert_eq!(fp8_e4m3fn_to_f32(0x08), 2f32.powi(-6));
        assert_eq!(fp8_e4m3fn_to_f32(0x01), 2f32.powi(-9));
        assert_eq!(fp8_e4m3fn_to_f32(0x38), 1.0);
        assert_eq!(fp8_e4m3fn_to_f32(0xb8), -1.0);
        assert!(fp8_e4m3fn_to_f32(0x7f).is_nan());
        assert!(fp8_e4m3fn_to_f32(0xff).is_nan());
        // 0x78 = exponent 15, mantissa 0: 256 (finite, unlike IEEE).
        assert_eq!(fp8_e4m3fn_to_f32(0x78), 256.0);
    }

    #[test]
    fn fp8_e5m2_known_values() {
        // OCP OFP8 spec: max normal 0x7B = 57344, 0x7C = inf, 0x3C = 1.0, min subnormal 2^-16.
        assert_eq!(fp8_e5m2_to_f32(0x7b), 57344.0);
        assert_eq!(fp8_e5m2_to_f32(0x7c), f32::INFINITY);
        assert_eq!(fp8_e5m2_to_f32(0x3c), 1.0);
        assert_eq!(fp8_e5m2_to_f32(0x01), 2f32.powi(-16));
        assert!(fp8_e5m2_to_f32(0x7d).is_nan());
    }

    #[test]
    fn convert_checks_integer_ranges() {
        let v = TensorData::I32(vec![0, 7, 8]);
        assert_eq!(
            v.convert(DType::Uint3),
            Err(ConvertError::OutOfRange {
                to: DType::Uint3,
                index: 2,
                value: "8".into(),
                min: 0,
                max: 7
            })
        );
        assert_eq!(
            TensorData::I8(vec![-8, 7]).convert(DType::Int4),
            Ok(TensorData::I4(vec![-8, 7]))
        );
        assert!(TensorData::U8(vec![200]).convert(DType::Int8).is_err());
        assert_eq!(
            TensorData::F32(vec![3.0, -1.0]).convert(DType::Int8),
            Ok(TensorData::I8(vec![3, -1]))
        );
        assert!(matches!(
            TensorData::F32(vec![0.5]).convert(DType::Int8),
            Err(ConvertError::NotIntegral { index: 0, .. })
        ));
        // 1/3 in fp32 rounds to fp16 0x3555 (numpy: np.float16(np.float32(1/3)).view(np.uint16)).
        let h = TensorData::F32(vec![1.0 / 3.0])
            .convert(DType::Fp16)
            .unwrap();
        assert_eq!(h, TensorData::F16(vec![f16::from_bits(0x3555)]));
        assert!(TensorData::F32(vec![1.0]).convert(DType::Fp8E5M2).is_err());
    }

    #[test]
    fn dtype_len_and_conversions() {
        let t = TensorData::I4(vec![-8, 7, 1]);
        assert_eq!(t.dtype(), DType::Int4);
        assert_eq!(t.len(), 3);
        assert_eq!(t.to_f32(), vec![-8.0, 7.0, 1.0]);
        assert_eq!(t.int_values(), Some(vec![-8, 7, 1]));
        assert_eq!(t.float_values_f64(), None);
        let b = TensorData::Bf16(vec![bf16::from_bits(0x3fc0)]);
        assert_eq!(b.to_f32(), vec![1.5]);
        assert_eq!(element_count(&[2, 3, 4]), Some(24));
        assert_eq!(element_count(&[]), Some(1));
        assert_eq!(element_count(&[u64::MAX, 2]), None);
    }
}
