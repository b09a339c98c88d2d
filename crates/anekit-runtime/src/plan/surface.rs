//! IOSurfaces for request inputs and outputs (private-api.md §4, [source]).
//!
//! A surface is a flat byte buffer created with exactly six properties: width = bytes-per-row
//! = alloc size = the byte count, height 1, bytes-per-element 1, pixel format 0. Tensors use
//! the `[1, C, 1, S]` channel-major layout: channel `c` holds elements `c·S … c·S + S − 1`,
//! which is also the row-major layout of a `[1, C, H, W]` tensor with `S = H·W`. Elements are
//! fp16 (the portable default) or fp32 (only with an in-graph `cast`, M4/M5). Neither known
//! project pads surfaces; PR #35 claims M5 wants 128-byte alignment, so padding is an option.

use crate::IoSpec;
use crate::error::RuntimeError;
use anekit_core::{DType, TensorData};
use half::f16;
use serde::Serialize;

/// The element type on the surface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SurfaceElement {
    Fp16,
    Fp32,
}

impl SurfaceElement {
    pub fn size(self) -> usize {
        match self {
            SurfaceElement::Fp16 => 2,
            SurfaceElement::Fp32 => 4,
        }
    }

    pub fn dtype(self) -> DType {
        match self {
            SurfaceElement::Fp16 => DType::Fp16,
            SurfaceElement::Fp32 => DType::Fp32,
        }
    }
}

/// Whether a surface feeds the program or receives a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Input,
    Output,
}

/// The plan of one IOSurface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SurfaceSpec {
    /// The MIL parameter or result name.
    pub name: String,
    pub role: Role,
    /// Position in the request's input or output array (MIL parameter/result order).
    pub index: u32,
    /// The declared shape.
    pub shape: Vec<usize>,
    pub channels: usize,
    pub spatial: usize,
    pub element: SurfaceElement,
    /// C × S × element size.
    pub byte_count: usize,
    /// `byte_count` rounded up to the alignment (equal to it without padding).
    pub alloc_size: usize,
}

/// IOSurface property keys (the string values of the `kIOSurface*` constants).
pub const PROP_WIDTH: &str = "IOSurfaceWidth";
pub const PROP_HEIGHT: &str = "IOSurfaceHeight";
pub const PROP_BYTES_PER_ELEMENT: &str = "IOSurfaceBytesPerElement";
pub const PROP_BYTES_PER_ROW: &str = "IOSurfaceBytesPerRow";
pub const PROP_ALLOC_SIZE: &str = "IOSurfaceAllocSize";
pub const PROP_PIXEL_FORMAT: &str = "IOSurfacePixelFormat";

impl SurfaceSpec {
    /// Plan the surface of a declared input or output. `alignment` (a power of two; 1 = none)
    /// pads the allocation.
    pub fn new(
        spec: &IoSpec,
        role: Role,
        index: u32,
        alignment: usize,
    ) -> Result<SurfaceSpec, RuntimeError> {
        let fail = |reason: String| RuntimeError::Plan {
            name: spec.name.clone(),
            reason,
        };
        if !alignment.is_power_of_two() {
            return Err(fail(format!("alignment {alignment} is not a power of two")));
        }
        let element = match spec.dtype {
            DType::Fp16 => SurfaceElement::Fp16,
            DType::Fp32 => SurfaceElement::Fp32,
            other => {
                return Err(fail(format!(
                    "{other:?} I/O is not supported (fp16, or fp32 with an in-graph cast)"
                )));
            }
        };
        let shape: Vec<usize> = spec
            .shape
            .iter()
            .map(|d| d.ok_or_else(|| fail("every dim must be known".into())))
            .collect::<Result<_, _>>()?;
        let [1, channels, h, w] = shape.as_slice() else {
            return Err(fail(format!(
                "shape {shape:?} is not [1, C, 1, S] (or [1, C, H, W])"
            )));
        };
        let channels = *channels;
        let spatial = h
            .checked_mul(*w)
            .ok_or_else(|| fail("size overflows".into()))?;
        let byte_count = channels
            .checked_mul(spatial)
            .and_then(|n| n.checked_mul(element.size()))
            .filter(|&n| n > 0)
            .ok_or_else(|| fail("size is zero or overflows".into()))?;
        let alloc_size = byte_count
            .checked_next_multiple_of(alignment)
            .ok_or_else(|| fail("size overflows".into()))?;
        Ok(SurfaceSpec {
            name: spec.name.clone(),
            role,
            index,
            shape,
            channels,
            spatial,
            element,
            byte_count,
            alloc_size,
        })
    }

    pub fn element_count(&self) -> usize {
        self.channels * self.spatial
    }

    /// The six creation properties, in the order the reference lists them.
    pub fn properties(&self) -> [(&'static str, u64); 6] {
        let size = self.alloc_size as u64;
        [
            (PROP_WIDTH, size),
            (PROP_HEIGHT, 1),
            (PROP_BYTES_PER_ELEMENT, 1),
            (PROP_BYTES_PER_ROW, size),
            (PROP_ALLOC_SIZE, size),
            (PROP_PIXEL_FORMAT, 0),
        ]
    }

    /// Byte offset of channel `c` (for channel-offset reads and copies).
    pub fn channel_offset(&self, c: usize) -> Option<usize> {
        (c < self.channels).then(|| c * self.spatial * self.element.size())
    }
}

/// Write `data` onto a surface buffer `out` (`alloc_size` bytes): elements converted to the
/// surface's type (fp32 → fp16 rounds to nearest even, as NEON `vcvt_f16_f32` does),
/// little-endian, padding zeroed.
pub fn pack(data: &TensorData, spec: &SurfaceSpec, out: &mut [u8]) -> Result<(), RuntimeError> {
    let fail = |reason: String| RuntimeError::Input {
        name: spec.name.clone(),
        reason,
    };
    if out.len() != spec.alloc_size {
        return Err(fail(format!(
            "surface buffer is {} bytes, the plan says {}",
            out.len(),
            spec.alloc_size
        )));
    }
    if data.len() != spec.element_count() {
        return Err(fail(format!(
            "{} elements given, shape {:?} needs {}",
            data.len(),
            spec.shape,
            spec.element_count()
        )));
    }
    let (payload, padding) = out.split_at_mut(spec.byte_count);
    padding.fill(0);
    match spec.element {
        SurfaceElement::Fp16 => {
            let write = |values: &mut dyn Iterator<Item = f16>, payload: &mut [u8]| {
                for (dst, v) in payload.chunks_exact_mut(2).zip(values) {
                    dst.copy_from_slice(&v.to_le_bytes());
                }
            };
            match data {
                TensorData::F16(v) => write(&mut v.iter().copied(), payload),
                TensorData::F32(v) => write(&mut v.iter().map(|&x| f16::from_f32(x)), payload),
                TensorData::F64(v) => write(&mut v.iter().map(|&x| f16::from_f64(x)), payload),
                other => match other.convert(DType::Fp16) {
                    Ok(TensorData::F16(v)) => write(&mut v.iter().copied(), payload),
                    _ => return Err(fail(format!("cannot convert {:?} to fp16", other.dtype()))),
                },
            }
        }
        SurfaceElement::Fp32 => {
            let write = |values: &mut dyn Iterator<Item = f32>, payload: &mut [u8]| {
                for (dst, v) in payload.chunks_exact_mut(4).zip(values) {
                    dst.copy_from_slice(&v.to_le_bytes());
                }
            };
            match data {
                TensorData::F32(v) => write(&mut v.iter().copied(), payload),
                TensorData::F16(v) => write(&mut v.iter().map(|x| x.to_f32()), payload),
                other => match other.convert(DType::Fp32) {
                    Ok(TensorData::F32(v)) => write(&mut v.iter().copied(), payload),
                    _ => return Err(fail(format!("cannot convert {:?} to fp32", other.dtype()))),
                },
            }
        }
    }
    Ok(())
}

/// Read a surface buffer into `out`, reusing its allocation when it already has the surface's
/// element type.
pub fn unpack_into(
    bytes: &[u8],
    spec: &SurfaceSpec,
    out: &mut TensorData,
) -> Result<(), RuntimeError> {
    let payload = bytes
        .get(..spec.byte_count)
        .ok_or_else(|| RuntimeError::Plan {
            name: spec.name.clone(),
            reason: format!(
                "surface buffer is {} bytes, the plan says {}",
                bytes.len(),
                spec.byte_count
            ),
        })?;
    match spec.element {
        SurfaceElement::Fp16 => {
            if !matches!(out, TensorData::F16(_)) {
                *out = TensorData::F16(Vec::new());
            }
            if let TensorData::F16(v) = out {
                v.clear();
                v.extend(
                    payload
                        .chunks_exact(2)
                        .map(|c| f16::from_le_bytes([c[0], c[1]])),
                );
            }
        }
        SurfaceElement::Fp32 => {
            if !matches!(out, TensorData::F32(_)) {
                *out = TensorData::F32(Vec::new());
            }
            if let TensorData::F32(v) = out {
                v.clear();
                v.extend(
                    payload
                        .chunks_exact(4)
                        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                );
            }
        }
    }
    Ok(())
}

/// Read a surface buffer into a new tensor of the surface's element type.
pub fn unpack(bytes: &[u8], spec: &SurfaceSpec) -> Result<TensorData, RuntimeError> {
    let mut out = TensorData::F16(Vec::new());
    unpack_into(bytes, spec, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io(name: &str, dtype: DType, shape: &[usize]) -> IoSpec {
        IoSpec {
            name: name.into(),
            dtype,
            shape: shape.iter().map(|&d| Some(d)).collect(),
        }
    }

    #[test]
    fn stories_sized_surface_is_c_times_s_times_two() {
        // Stories: DIM 768 × SEQ 256 fp16 → 393,216 bytes (a multiple of 512, §4).
        let s =
            SurfaceSpec::new(&io("x", DType::Fp16, &[1, 768, 1, 256]), Role::Input, 0, 1).unwrap();
        assert_eq!(s.channels, 768);
        assert_eq!(s.spatial, 256);
        assert_eq!(s.byte_count, 393_216);
        assert_eq!(s.alloc_size, 393_216);
        assert_eq!(
            s.properties(),
            [
                ("IOSurfaceWidth", 393_216),
                ("IOSurfaceHeight", 1),
                ("IOSurfaceBytesPerElement", 1),
                ("IOSurfaceBytesPerRow", 393_216),
                ("IOSurfaceAllocSize", 393_216),
                ("IOSurfacePixelFormat", 0),
            ]
        );
        assert_eq!(s.channel_offset(1), Some(512));
        assert_eq!(s.channel_offset(768), None);
    }

    #[test]
    fn fp32_and_nchw_and_alignment() {
        let s =
            SurfaceSpec::new(&io("img", DType::Fp32, &[1, 3, 32, 32]), Role::Input, 1, 1).unwrap();
        assert_eq!((s.channels, s.spatial, s.byte_count), (3, 1024, 12_288));
        // 3 × 5 × 2 = 30 bytes, padded to 128.
        let s =
            SurfaceSpec::new(&io("y", DType::Fp16, &[1, 3, 1, 5]), Role::Output, 0, 128).unwrap();
        assert_eq!((s.byte_count, s.alloc_size), (30, 128));
        assert_eq!(s.properties()[0], ("IOSurfaceWidth", 128));
    }

    #[test]
    fn unsupported_io_is_refused_with_the_reason() {
        let cases = [
            (
                io("a", DType::Int32, &[1, 2, 1, 2]),
                "Int32 I/O is not supported",
            ),
            (io("b", DType::Fp16, &[2, 2, 1, 2]), "is not [1, C, 1, S]"),
            (io("c", DType::Fp16, &[4, 8]), "is not [1, C, 1, S]"),
            (io("d", DType::Fp16, &[1, 0, 1, 2]), "size is zero"),
        ];
        for (spec, want) in cases {
            let err = SurfaceSpec::new(&spec, Role::Input, 0, 1).unwrap_err();
            assert!(err.to_string().contains(want), "{err}");
        }
        let unknown = IoSpec {
            name: "u".into(),
            dtype: DType::Fp16,
            shape: vec![Some(1), None, Some(1), Some(4)],
        };
        assert!(SurfaceSpec::new(&unknown, Role::Input, 0, 1).is_err());
        assert!(SurfaceSpec::new(&io("e", DType::Fp16, &[1, 1, 1, 1]), Role::Input, 0, 3).is_err());
    }

    #[test]
    fn fp32_input_packs_to_exact_fp16_bytes() {
        let s = SurfaceSpec::new(&io("x", DType::Fp16, &[1, 2, 1, 3]), Role::Input, 0, 16).unwrap();
        let data = TensorData::F32(vec![1.0, -2.0, 0.5, 65504.0, 1e-8, 1.0 + 1.0 / 2048.0]);
        let mut buf = vec![0xFFu8; 16];
        pack(&data, &s, &mut buf).unwrap();
        assert_eq!(
            buf,
            [
                0x00, 0x3C, // 1.0
                0x00, 0xC0, // -2.0
                0x00, 0x38, // 0.5
                0xFF, 0x7B, // 65504 (max fp16)
                0x00, 0x00, // 1e-8 underflows to +0 (below half the smallest subnormal)
                0x00, 0x3C, // 1 + 2^-11 is a tie: rounds to even (1.0)
                0, 0, 0, 0, // padding zeroed
            ]
        );
        let back = unpack(&buf, &s).unwrap();
        assert_eq!(back.to_f32(), vec![1.0, -2.0, 0.5, 65504.0, 0.0, 1.0]);
    }

    #[test]
    fn fp32_surface_round_trips_and_reuses_the_output_buffer() {
        let s = SurfaceSpec::new(&io("y", DType::Fp32, &[1, 1, 1, 2]), Role::Output, 0, 1).unwrap();
        let mut buf = vec![0u8; 8];
        pack(
            &TensorData::F16(vec![f16::from_f32(1.5), f16::from_f32(-3.0)]),
            &s,
            &mut buf,
        )
        .unwrap();
        assert_eq!(buf, [0, 0, 0xC0, 0x3F, 0, 0, 0x40, 0xC0]);
        let mut out = TensorData::F32(Vec::with_capacity(64));
        unpack_into(&buf, &s, &mut out).unwrap();
        assert_eq!(out, TensorData::F32(vec![1.5, -3.0]));
        let TensorData::F32(v) = &out else {
            unreachable!()
        };
        assert!(v.capacity() >= 64, "allocation reused");
    }

    #[test]
    fn pack_checks_element_count_and_buffer_size() {
        let s = SurfaceSpec::new(&io("x", DType::Fp16, &[1, 2, 1, 2]), Role::Input, 0, 1).unwrap();
        let mut buf = vec![0u8; 8];
        let err = pack(&TensorData::F32(vec![0.0; 3]), &s, &mut buf).unwrap_err();
        assert_eq!(
            err.to_string(),
            "input `x`: 3 elements given, shape [1, 2, 1, 2] needs 4"
        );
        let mut small = vec![0u8; 4];
        assert!(pack(&TensorData::F32(vec![0.0; 4]), &s, &mut small).is_err());
        // Integers convert exactly.
        pack(&TensorData::I32(vec![1, 2, 3, -4]), &s, &mut buf).unwrap();
        assert_eq!(
            unpack(&buf, &s).unwrap().to_f32(),
            vec![1.0, 2.0, 3.0, -4.0]
        );
    }
}
