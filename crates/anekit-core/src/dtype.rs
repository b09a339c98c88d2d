//! The one element-type table of anekit.
//!
//! MIL text names, MIL protobuf `DataType` numbers and blob-storage dtype codes are three
//! different numberings of the same types (reference/mil-text.md §3.3, mil-blob.md §1.3).
//! Every crate converts through this table so the numberings are never mixed.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An element type of a MIL tensor or scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    Bool,
    String,
    Fp16,
    Fp32,
    Fp64,
    Bf16,
    Int4,
    Int8,
    Int16,
    Int32,
    Int64,
    Uint1,
    Uint2,
    Uint3,
    Uint4,
    Uint6,
    Uint8,
    Uint16,
    Uint32,
    Uint64,
    /// OCP fp8 E4M3 (finite-only). The MIL text spelling is unknown (never seen in a file).
    Fp8E4M3Fn,
    /// OCP fp8 E5M2. The MIL text spelling is unknown (never seen in a file).
    Fp8E5M2,
}

/// Every dtype, in proto-number order.
pub const ALL_DTYPES: [DType; 22] = [
    DType::Bool,
    DType::String,
    DType::Fp16,
    DType::Fp32,
    DType::Fp64,
    DType::Bf16,
    DType::Int8,
    DType::Int16,
    DType::Int32,
    DType::Int64,
    DType::Int4,
    DType::Uint8,
    DType::Uint16,
    DType::Uint32,
    DType::Uint64,
    DType::Uint4,
    DType::Uint2,
    DType::Uint1,
    DType::Uint6,
    DType::Uint3,
    DType::Fp8E4M3Fn,
    DType::Fp8E5M2,
];

impl DType {
    /// The MIL text spelling (`fp16`, `int32`, ...). `bf16` and the fp8 names are guesses: no
    /// real file spells them (reference/mil-text.md §3.3).
    pub const fn mil_name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::String => "string",
            DType::Fp16 => "fp16",
            DType::Fp32 => "fp32",
            DType::Fp64 => "fp64",
            DType::Bf16 => "bf16",
            DType::Int4 => "int4",
            DType::Int8 => "int8",
            DType::Int16 => "int16",
            DType::Int32 => "int32",
            DType::Int64 => "int64",
            DType::Uint1 => "uint1",
            DType::Uint2 => "uint2",
            DType::Uint3 => "uint3",
            DType::Uint4 => "uint4",
            DType::Uint6 => "uint6",
            DType::Uint8 => "uint8",
            DType::Uint16 => "uint16",
            DType::Uint32 => "uint32",
            DType::Uint64 => "uint64",
            DType::Fp8E4M3Fn => "fp8e4m3fn",
            DType::Fp8E5M2 => "fp8e5m2",
        }
    }

    /// Parse a MIL text dtype name.
    pub fn from_mil_name(name: &str) -> Option<DType> {
        ALL_DTYPES.iter().copied().find(|d| d.mil_name() == name)
    }

    /// The MIL protobuf `DataType` enum number.
    pub const fn proto_number(self) -> u32 {
        match self {
            DType::Bool => 1,
            DType::String => 2,
            DType::Fp16 => 10,
            DType::Fp32 => 11,
            DType::Fp64 => 12,
            DType::Bf16 => 13,
            DType::Int8 => 21,
            DType::Int16 => 22,
            DType::Int32 => 23,
            DType::Int64 => 24,
            DType::Int4 => 25,
            DType::Uint8 => 31,
            DType::Uint16 => 32,
            DType::Uint32 => 33,
            DType::Uint64 => 34,
            DType::Uint4 => 35,
            DType::Uint2 => 36,
            DType::Uint1 => 37,
            DType::Uint6 => 38,
            DType::Uint3 => 39,
            DType::Fp8E4M3Fn => 40,
            DType::Fp8E5M2 => 41,
        }
    }

    /// The dtype with protobuf number `n`.
    pub fn from_proto_number(n: u32) -> Option<DType> {
        ALL_DTYPES.iter().copied().find(|d| d.proto_number() == n)
    }

    /// The blob-storage (`weight.bin`) dtype code, for the types blob storage can hold.
    pub const fn blob_code(self) -> Option<u32> {
        Some(match self {
            DType::Fp16 => 1,
            DType::Fp32 => 2,
            DType::Uint8 => 3,
            DType::Int8 => 4,
            DType::Bf16 => 5,
            DType::Int16 => 6,
            DType::Uint16 => 7,
            DType::Int4 => 8,
            DType::Uint1 => 9,
            DType::Uint2 => 10,
            DType::Uint4 => 11,
            DType::Uint3 => 12,
            DType::Uint6 => 13,
            DType::Int32 => 14,
            DType::Uint32 => 15,
            DType::Fp8E4M3Fn => 16,
            DType::Fp8E5M2 => 17,
            DType::Bool | DType::String | DType::Fp64 | DType::Int64 | DType::Uint64 => {
                return None;
            }
        })
    }

    /// The dtype with blob-storage code `code`.
    pub fn from_blob_code(code: u32) -> Option<DType> {
        ALL_DTYPES
            .iter()
            .copied()
            .find(|d| d.blob_code() == Some(code))
    }

    /// Bits per element as stored in blob files and tensors; `None` for `string`.
    /// `bool` is one byte per element in memory.
    pub const fn bits(self) -> Option<u32> {
        Some(match self {
            DType::Uint1 => 1,
            DType::Uint2 => 2,
            DType::Uint3 => 3,
            DType::Int4 | DType::Uint4 => 4,
            DType::Uint6 => 6,
            DType::Bool | DType::Int8 | DType::Uint8 | DType::Fp8E4M3Fn | DType::Fp8E5M2 => 8,
            DType::Fp16 | DType::Bf16 | DType::Int16 | DType::Uint16 => 16,
            DType::Fp32 | DType::Int32 | DType::Uint32 => 32,
            DType::Fp64 | DType::Int64 | DType::Uint64 => 64,
            DType::String => return None,
        })
    }

    /// True for element types narrower than a byte (packed LSB-first in blob files).
    pub const fn is_sub_byte(self) -> bool {
        matches!(
            self,
            DType::Int4 | DType::Uint1 | DType::Uint2 | DType::Uint3 | DType::Uint4 | DType::Uint6
        )
    }

    pub const fn is_float(self) -> bool {
        matches!(
            self,
            DType::Fp16
                | DType::Fp32
                | DType::Fp64
                | DType::Bf16
                | DType::Fp8E4M3Fn
                | DType::Fp8E5M2
        )
    }

    pub const fn is_int(self) -> bool {
        matches!(
            self,
            DType::Int4
                | DType::Int8
                | DType::Int16
                | DType::Int32
                | DType::Int64
                | DType::Uint1
                | DType::Uint2
                | DType::Uint3
                | DType::Uint4
                | DType::Uint6
                | DType::Uint8
                | DType::Uint16
                | DType::Uint32
                | DType::Uint64
        )
    }

    pub const fn is_signed_int(self) -> bool {
        matches!(
            self,
            DType::Int4 | DType::Int8 | DType::Int16 | DType::Int32 | DType::Int64
        )
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mil_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numberings_round_trip_and_are_distinct() {
        for d in ALL_DTYPES {
            assert_eq!(DType::from_mil_name(d.mil_name()), Some(d));
            assert_eq!(DType::from_proto_number(d.proto_number()), Some(d));
            if let Some(code) = d.blob_code() {
                assert_eq!(DType::from_blob_code(code), Some(d));
            }
        }
        let mut protos: Vec<u32> = ALL_DTYPES.iter().map(|d| d.proto_number()).collect();
        protos.sort_unstable();
        protos.dedup();
        assert_eq!(protos.len(), ALL_DTYPES.len());
    }

    #[test]
    fn spot_values_from_reference_tables() {
        // mil-text.md §3.3 and mil-blob.md §1.3: fp16 is 10 in the proto but 1 in blob files.
        assert_eq!(DType::Fp16.proto_number(), 10);
        assert_eq!(DType::Fp16.blob_code(), Some(1));
        assert_eq!(DType::Int32.blob_code(), Some(14));
        assert_eq!(DType::Uint3.proto_number(), 39);
        assert_eq!(DType::Uint3.blob_code(), Some(12));
        assert_eq!(DType::Int64.blob_code(), None);
        assert_eq!(DType::from_blob_code(0), None);
        assert_eq!(DType::from_blob_code(18), None);
    }
}
