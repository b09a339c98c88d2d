//! Numerics modes and bulk rounding of f32 buffers to narrower float formats.
//!
//! The ANE stores activations as fp16 and accumulates inside matmul/conv/reductions in a wider
//! format. anekit reproduces that in mode [`Numerics::Ane`]: kernels compute in f32 (with f32
//! accumulation) and the executor rounds every op's output to its declared dtype with
//! [`Numerics::round_output`]. [`Numerics::Exact`] keeps plain f32 everywhere, to separate
//! "the model is wrong" from "fp16 lost precision". The contract is in `docs/numerics.md`.

use anekit_core::DType;
use half::{bf16, f16, slice::HalfFloatSliceExt};
use rayon::prelude::*;

/// How the executor treats float precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Numerics {
    /// ANE numerics (the default): every op result is rounded to its declared dtype (fp16:
    /// round-to-nearest-even, overflow to ±inf, subnormals kept); accumulation is f32.
    #[default]
    Ane,
    /// Plain f32 everywhere; no rounding at all, even where a dtype says fp16.
    Exact,
}

impl Numerics {
    /// Round an op's output buffer as this mode requires for declared dtype `dtype`.
    ///
    /// `Ane`: fp16 and bf16 outputs are rounded (see [`round_to_dtype`]); fp32 and non-float
    /// dtypes are left alone. `Exact`: nothing is rounded.
    pub fn round_output(self, data: &mut [f32], dtype: DType) {
        match self {
            Numerics::Ane => round_to_dtype(data, dtype),
            Numerics::Exact => {}
        }
    }

    /// Parse the CLI spelling (`ane`, `exact`).
    pub fn from_name(name: &str) -> Option<Numerics> {
        match name {
            "ane" => Some(Numerics::Ane),
            "exact" => Some(Numerics::Exact),
            _ => None,
        }
    }

    /// The mode's name as the CLI spells it (`ane`, `exact`).
    pub const fn name(self) -> &'static str {
        match self {
            Numerics::Ane => "ane",
            Numerics::Exact => "exact",
        }
    }
}

/// Round `data` in place to the values representable in float dtype `dtype` (fp16, bf16, fp8
/// are rounded; fp32 and wider, and non-float dtypes, are left unchanged).
pub fn round_to_dtype(data: &mut [f32], dtype: DType) {
    match dtype {
        DType::Fp16 => round_f16(data),
        DType::Bf16 => round_bf16(data),
        // fp8 activations are not an ANE storage format anekit knows of; weights in fp8 are
        // decoded by anekit-core. Nothing to do for wider floats and non-floats.
        _ => {}
    }
}

/// Chunk of the on-stack staging buffer for slice conversions. 4 KiB of f16 fits L1 easily and
/// amortizes the per-call feature detection inside `half`.
const CHUNK: usize = 2048;
/// Elements above which rounding is split across threads.
const PAR_ROUND_MIN: usize = 1 << 17;

/// Round every element to the nearest fp16 value (ties to even), in place. Values beyond the
/// fp16 range (|x| ≥ 65520) become ±inf, fp16 subnormals are kept (not flushed), NaN stays NaN.
///
/// Uses `half`'s slice conversions, which use the F16C `vcvtps2ph`/`vcvtph2ps` instructions
/// (immediate rounding mode = nearest-even) when the CPU has them and a bit-exact software
/// fallback otherwise.
pub fn round_f16(data: &mut [f32]) {
    fn run(data: &mut [f32]) {
        crate::par::avx512_or!(round_f16_avx512(data), {
            let mut buf = [f16::ZERO; CHUNK];
            for chunk in data.chunks_mut(CHUNK) {
                let b = &mut buf[..chunk.len()];
                b.convert_from_f32_slice(chunk);
                b.convert_to_f32_slice(chunk);
            }
        })
    }
    if data.len() >= PAR_ROUND_MIN {
        data.par_chunks_mut(PAR_ROUND_MIN / 4).for_each(run);
    } else {
        run(data);
    }
}

/// [`round_f16`] with AVX-512: 16 lanes through `vcvtps2ph` (immediate round-to-nearest-even,
/// the same instruction F16C has at 8 lanes, which `half` uses one 8-lane call at a time; this
/// runs ~2× faster and fp16 rounding of every op result was ~10 % of a transformer block's
/// profile). The tail goes through `half`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(unsafe_code)]
fn round_f16_avx512(data: &mut [f32]) {
    use std::arch::x86_64::{
        _MM_FROUND_NO_EXC, _MM_FROUND_TO_NEAREST_INT, _mm512_cvtph_ps, _mm512_cvtps_ph,
        _mm512_loadu_ps, _mm512_storeu_ps,
    };
    let mut chunks = data.chunks_exact_mut(16);
    for c in &mut chunks {
        // SAFETY: `c` holds exactly 16 f32s; unaligned loads/stores are allowed.
        unsafe {
            let v = _mm512_loadu_ps(c.as_ptr());
            let h = _mm512_cvtps_ph::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(v);
            _mm512_storeu_ps(c.as_mut_ptr(), _mm512_cvtph_ps(h));
        }
    }
    for v in chunks.into_remainder() {
        *v = f16::from_f32(*v).to_f32();
    }
}

/// Round every element to the nearest bf16 value (ties to even), in place; NaN stays NaN.
/// (`half` has no hardware path for bf16; the conversion is a few integer ops per element.)
pub fn round_bf16(data: &mut [f32]) {
    fn run(data: &mut [f32]) {
        let mut buf = [bf16::ZERO; CHUNK];
        for chunk in data.chunks_mut(CHUNK) {
            let b = &mut buf[..chunk.len()];
            b.convert_from_f32_slice(chunk);
            b.convert_to_f32_slice(chunk);
        }
    }
    if data.len() >= PAR_ROUND_MIN {
        data.par_chunks_mut(PAR_ROUND_MIN / 4).for_each(run);
    } else {
        run(data);
    }
}

/// Convert f32 values to fp16 storage (RNE), for handing results to fp16 consumers.
pub fn to_f16_vec(data: &[f32]) -> Vec<f16> {
    let mut out = vec![f16::ZERO; data.len()];
    out.convert_from_f32_slice(data);
    out
}

/// Widen fp16 storage to f32 (exact).
pub fn from_f16_slice(data: &[f16]) -> Vec<f32> {
    let mut out = vec![0.0f32; data.len()];
    data.convert_to_f32_slice(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_edge_cases() {
        let mut v = vec![
            65504.0,            // max finite fp16
            65519.99,           // rounds down to 65504
            65520.0,            // halfway to the next (non-existent) binade step: ties to inf
            -1e6,               // overflow → -inf
            1.0 + 1.0 / 2048.0, // tie between 1 and 1+2^-10: even mantissa → 1.0
            1.0 + 3.0 / 2048.0, // tie between 1+2^-10 and 1+2^-9: even → 1+2^-9
            5.960_464_5e-8,     // smallest subnormal 2^-24, kept
            2.0e-8,             // below half the smallest subnormal → 0
            f32::NAN,
        ];
        round_f16(&mut v);
        assert_eq!(v[0], 65504.0);
        assert_eq!(v[1], 65504.0);
        assert_eq!(v[2], f32::INFINITY);
        assert_eq!(v[3], f32::NEG_INFINITY);
        assert_eq!(v[4], 1.0);
        assert_eq!(v[5], 1.0 + 2.0 / 1024.0);
        assert_eq!(v[6], 2f32.powi(-24));
        assert_eq!(v[7], 0.0);
        assert!(v[8].is_nan());
    }

    #[test]
    fn modes() {
        let mut a = vec![0.1f32];
        Numerics::Exact.round_output(&mut a, DType::Fp16);
        assert_eq!(a[0], 0.1);
        Numerics::Ane.round_output(&mut a, DType::Fp32);
        assert_eq!(a[0], 0.1);
        Numerics::Ane.round_output(&mut a, DType::Fp16);
        assert_eq!(a[0], f16::from_f32(0.1).to_f32());
        assert_eq!(Numerics::from_name("exact"), Some(Numerics::Exact));
        assert_eq!(
            Numerics::from_name(Numerics::Ane.name()),
            Some(Numerics::Ane)
        );
        assert_eq!(Numerics::from_name("fp16"), None);
        let mut b = vec![1.0f32 + 1.0 / 256.0]; // bf16 tie (8 mantissa bits): even → 1.0
        round_bf16(&mut b);
        assert_eq!(b[0], 1.0);
    }

    /// The 16-lane path (whole chunks of 16) on the edge cases, bit for bit against `half`'s
    /// software conversion: overflow, ties, subnormals, signed zeros, NaN, infinities.
    #[test]
    fn wide_path_edge_cases_match_scalar() {
        let edges = [
            65504.0,
            65519.99,
            65520.0,
            -1e6,
            1.0 + 1.0 / 2048.0,
            1.0 + 3.0 / 2048.0,
            5.960_464_5e-8,
            2.0e-8,
            2.980_232_2e-8, // exactly half the smallest subnormal: tie → 0
            8.940_697e-8,   // 1.5 × 2^-24: tie → 2 × 2^-24 (even)
            -6.1e-5,        // near the smallest normal
            -0.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MIN_POSITIVE,
            f32::NAN,
        ];
        let mut v: Vec<f32> = edges.iter().chain(edges.iter().rev()).copied().collect();
        let expect: Vec<u32> = v
            .iter()
            .map(|&x| f16::from_f32(x).to_f32().to_bits())
            .collect();
        round_f16(&mut v);
        let got: Vec<u32> = v.iter().map(|x| x.to_bits()).collect();
        for (i, (g, e)) in got.iter().zip(&expect).enumerate() {
            let both_nan = f32::from_bits(*g).is_nan() && f32::from_bits(*e).is_nan();
            assert!(
                g == e || both_nan,
                "element {i} ({}): {g:#x} vs {e:#x}",
                v[i]
            );
        }
    }

    #[test]
    fn parallel_path_matches_scalar() {
        let mut v: Vec<f32> = (0..(PAR_ROUND_MIN * 2 + 7))
            .map(|i| (i as f32) * 0.37 - 1000.0)
            .collect();
        let expect: Vec<f32> = v.iter().map(|&x| f16::from_f32(x).to_f32()).collect();
        round_f16(&mut v);
        assert_eq!(v, expect);
    }
}
