//! Reading and writing NumPy `.npy` files (format versions 1.0, 2.0 and 3.0).
//!
//! Written by hand rather than with `npyz` because anekit needs what that crate does not give:
//! errors carrying the byte offset, a hard rejection of Fortran order and big-endian data (npyz
//! reads both), an exact data-length check before any allocation, and output byte-identical to
//! `numpy.save` (checked against numpy in tests). The format is small: magic `\x93NUMPY`, major and
//! minor version, a header length (u16 in v1, u32 in v2/v3), a Python dict literal
//! `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` padded with spaces and a
//! newline so the data starts at a multiple of 64, then the raw elements in C order.

use crate::{Reader, TensorData, tensor};
use half::f16;

/// A loaded array: its shape and its values in C order.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    pub shape: Vec<u64>,
    pub data: TensorData,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum NpyError {
    #[error(transparent)]
    Read(#[from] crate::ReadError),
    #[error("not an npy file: byte offset 0 should hold the magic \\x93NUMPY")]
    Magic,
    #[error(
        "npy format version {major}.{minor} at byte offset 6 is not supported (expected 1.0, 2.0 or 3.0)"
    )]
    Version { major: u8, minor: u8 },
    #[error("npy header at byte offset {offset}: {message}")]
    Header { offset: u64, message: String },
    #[error(
        "npy dtype '{descr}' is not supported (expected one of f2 f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1, little-endian)"
    )]
    Dtype { descr: String },
    #[error("npy dtype '{descr}' is big-endian; only little-endian data is supported")]
    BigEndian { descr: String },
    #[error("npy array is in Fortran (column-major) order; only C order is supported")]
    FortranOrder,
    #[error(
        "npy data at byte offset {offset}: shape {shape:?} needs {expected} byte(s), found {found}"
    )]
    DataSize {
        offset: u64,
        shape: Vec<u64>,
        expected: u64,
        found: u64,
    },
    #[error("npy shape {shape:?} has {expected} element(s), but {found} value(s) were given")]
    ShapeMismatch {
        shape: Vec<u64>,
        expected: u64,
        found: u64,
    },
}

const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// npy element kinds anekit reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    F2,
    F4,
    F8,
    I1,
    I2,
    I4,
    I8,
    U1,
    U2,
    U4,
    U8,
    B1,
}

impl Kind {
    fn width(self) -> u64 {
        match self {
            Kind::I1 | Kind::U1 | Kind::B1 => 1,
            Kind::F2 | Kind::I2 | Kind::U2 => 2,
            Kind::F4 | Kind::I4 | Kind::U4 => 4,
            Kind::F8 | Kind::I8 | Kind::U8 => 8,
        }
    }

    /// The descr numpy writes: `|` for one-byte types, `<` otherwise.
    fn descr(self) -> &'static str {
        match self {
            Kind::F2 => "<f2",
            Kind::F4 => "<f4",
            Kind::F8 => "<f8",
            Kind::I1 => "|i1",
            Kind::I2 => "<i2",
            Kind::I4 => "<i4",
            Kind::I8 => "<i8",
            Kind::U1 => "|u1",
            Kind::U2 => "<u2",
            Kind::U4 => "<u4",
            Kind::U8 => "<u8",
            Kind::B1 => "|b1",
        }
    }

    fn from_descr(descr: &str) -> Result<Kind, NpyError> {
        let unsupported = || NpyError::Dtype {
            descr: descr.to_string(),
        };
        let (order, code) = match descr.as_bytes().first() {
            Some(b'<' | b'>' | b'|' | b'=') => descr.split_at(1),
            _ => ("", descr),
        };
        let kind = match code {
            "f2" | "e" => Kind::F2,
            "f4" | "f" => Kind::F4,
            "f8" | "d" => Kind::F8,
            "i1" | "b" => Kind::I1,
            "i2" | "h" => Kind::I2,
            "i4" | "i" => Kind::I4,
            "i8" | "q" => Kind::I8,
            "u1" | "B" => Kind::U1,
            "u2" | "H" => Kind::U2,
            "u4" | "I" => Kind::U4,
            "u8" | "Q" => Kind::U8,
            "b1" | "?" => Kind::B1,
            _ => return Err(unsupported()),
        };
        // Byte order only matters for multi-byte types; '=' (native) is not portable.
        match (order, kind.width()) {
            (">", w) if w > 1 => Err(NpyError::BigEndian {
                descr: descr.to_string(),
            }),
            ("<", _) | ("|", 1) | ("", 1) | ("=", 1) | (">", 1) => Ok(kind),
            _ => Err(unsupported()),
        }
    }
}

/// Tokens of the header dict literal.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Punct(u8),
    Str(String),
    Int(u64),
    Bool(bool),
}

/// Tokenize the Python literal subset numpy writes, with absolute offsets for errors.
fn tokenize(text: &[u8], base: u64) -> Result<Vec<(u64, Tok)>, NpyError> {
    let err = |at: usize, message: String| NpyError::Header {
        offset: base + at as u64,
        message,
    };
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = text.get(i) {
        let start = i;
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'{' | b'}' | b'(' | b')' | b',' | b':' | b'[' | b']' => {
                out.push((base + i as u64, Tok::Punct(c)));
                i += 1;
            }
            b'\'' | b'"' => {
                let rest = text.get(i + 1..).unwrap_or_default();
                let len = rest
                    .iter()
                    .position(|&b| b == c)
                    .ok_or_else(|| err(start, "unterminated string".into()))?;
                let s = rest.get(..len).unwrap_or_default();
                let s =
                    std::str::from_utf8(s).map_err(|_| err(start, "string is not UTF-8".into()))?;
                out.push((base + start as u64, Tok::Str(s.to_string())));
                i += len + 2;
            }
            b'0'..=b'9' => {
                let len = text
                    .get(i..)
                    .unwrap_or_default()
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                let digits = text.get(i..i + len).unwrap_or_default();
                let value = std::str::from_utf8(digits)
                    .ok()
                    .and_then(|s| s.parse::<u64>().ok())
                    .ok_or_else(|| err(start, "integer too large".into()))?;
                // Python 2 era files may write `3L`.
                i += len;
                if text.get(i) == Some(&b'L') {
                    i += 1;
                }
                out.push((base + start as u64, Tok::Int(value)));
            }
            _ => {
                let word_len = text
                    .get(i..)
                    .unwrap_or_default()
                    .iter()
                    .take_while(|b| b.is_ascii_alphabetic())
                    .count();
                match text.get(i..i + word_len) {
                    Some(b"True") => out.push((base + start as u64, Tok::Bool(true))),
                    Some(b"False") => out.push((base + start as u64, Tok::Bool(false))),
                    _ => {
                        return Err(err(
                            start,
                            format!("unexpected character {:?}", char::from(c)),
                        ));
                    }
                }
                i += word_len;
            }
        }
    }
    Ok(out)
}

struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<u64>,
}

/// Parse `{'descr': str, 'fortran_order': bool, 'shape': (ints,)}` in any key order.
fn parse_header(text: &[u8], base: u64) -> Result<Header, NpyError> {
    let toks = tokenize(text, base)?;
    let end = base + text.len() as u64;
    let mut it = toks.into_iter().peekable();
    let err = |offset: u64, message: &str| NpyError::Header {
        offset,
        message: message.to_string(),
    };
    let mut expect = |want: u8, what: &str| -> Result<u64, NpyError> {
        match it.next() {
            Some((at, Tok::Punct(c))) if c == want => Ok(at),
            Some((at, _)) => Err(err(at, &format!("expected {what}"))),
            None => Err(err(end, &format!("expected {what}, found end of header"))),
        }
    };
    expect(b'{', "'{' opening the header dict")?;
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    loop {
        let (at, key) = match it.next() {
            Some((_, Tok::Punct(b'}'))) => break,
            Some((at, Tok::Str(k))) => (at, k),
            Some((at, _)) => return Err(err(at, "expected a string key or '}'")),
            None => return Err(err(end, "header dict is not closed")),
        };
        match it.next() {
            Some((_, Tok::Punct(b':'))) => {}
            Some((at, _)) => return Err(err(at, "expected ':' after key")),
            None => return Err(err(end, "expected ':' after key")),
        }
        match key.as_str() {
            "descr" => match it.next() {
                Some((_, Tok::Str(s))) => descr = Some(s),
                Some((at, _)) => {
                    return Err(err(
                        at,
                        "descr must be a type string (structured dtypes are not supported)",
                    ));
                }
                None => return Err(err(end, "missing descr value")),
            },
            "fortran_order" => match it.next() {
                Some((_, Tok::Bool(b))) => fortran = Some(b),
                Some((at, _)) => return Err(err(at, "fortran_order must be True or False")),
                None => return Err(err(end, "missing fortran_order value")),
            },
            "shape" => {
                match it.next() {
                    Some((_, Tok::Punct(b'('))) => {}
                    Some((at, _)) => return Err(err(at, "shape must be a tuple")),
                    None => return Err(err(end, "missing shape value")),
                }
                let mut dims = Vec::new();
                loop {
                    match it.next() {
                        Some((_, Tok::Punct(b')'))) => break,
                        Some((_, Tok::Int(d))) => {
                            dims.push(d);
                            match it.next() {
                                Some((_, Tok::Punct(b','))) => {}
                                Some((_, Tok::Punct(b')'))) => break,
                                Some((at, _)) => {
                                    return Err(err(at, "expected ',' or ')' in shape"));
                                }
                                None => return Err(err(end, "shape tuple is not closed")),
                            }
                        }
                        Some((at, _)) => {
                            return Err(err(at, "shape entries must be non-negative integers"));
                        }
                        None => return Err(err(end, "shape tuple is not closed")),
                    }
                }
                shape = Some(dims);
            }
            _ => return Err(err(at, &format!("unexpected header key '{key}'"))),
        }
        match it.next() {
            Some((_, Tok::Punct(b','))) => {}
            Some((_, Tok::Punct(b'}'))) => break,
            Some((at, _)) => return Err(err(at, "expected ',' or '}' after a value")),
            None => return Err(err(end, "header dict is not closed")),
        }
    }
    if let Some((at, _)) = it.next() {
        return Err(err(at, "unexpected text after the header dict"));
    }
    Ok(Header {
        descr: descr.ok_or_else(|| err(base, "header has no 'descr'"))?,
        fortran_order: fortran.ok_or_else(|| err(base, "header has no 'fortran_order'"))?,
        shape: shape.ok_or_else(|| err(base, "header has no 'shape'"))?,
    })
}

fn chunks<const N: usize>(data: &[u8]) -> impl Iterator<Item = [u8; N]> + '_ {
    data.chunks_exact(N).map(|c| {
        let mut a = [0u8; N];
        a.copy_from_slice(c);
        a
    })
}

/// Read a `.npy` file. The data length must equal shape × element size exactly, and is checked
/// before anything is allocated.
pub fn read_npy(bytes: &[u8]) -> Result<NpyArray, NpyError> {
    let mut r = Reader::new(bytes);
    if r.bytes(6, "npy magic").ok() != Some(MAGIC.as_slice()) {
        return Err(NpyError::Magic);
    }
    let major = r.u8("npy major version")?;
    let minor = r.u8("npy minor version")?;
    let header_len = match (major, minor) {
        (1, 0) => u64::from(r.u16_le("npy header length")?),
        (2, 0) | (3, 0) => u64::from(r.u32_le("npy header length")?),
        _ => return Err(NpyError::Version { major, minor }),
    };
    let header_start = r.offset();
    let text = r.bytes(header_len, "npy header")?;
    // v1/v2 headers are latin-1 in numpy; every byte we accept is ASCII anyway.
    let header = parse_header(text, header_start)?;
    if header.fortran_order {
        return Err(NpyError::FortranOrder);
    }
    let kind = Kind::from_descr(&header.descr)?;
    let data_offset = r.offset();
    let data = r.data().get(r.offset() as usize..).unwrap_or_default();
    let expected = tensor::element_count(&header.shape)
        .and_then(|n| n.checked_mul(kind.width()))
        .filter(|&len| len == data.len() as u64)
        .ok_or_else(|| NpyError::DataSize {
            offset: data_offset,
            shape: header.shape.clone(),
            expected: tensor::element_count(&header.shape)
                .and_then(|n| n.checked_mul(kind.width()))
                .unwrap_or(u64::MAX),
            found: data.len() as u64,
        })?;
    debug_assert_eq!(expected, data.len() as u64);
    let data = match kind {
        Kind::F2 => TensorData::F16(chunks(data).map(f16::from_le_bytes).collect()),
        Kind::F4 => TensorData::F32(chunks(data).map(f32::from_le_bytes).collect()),
        Kind::F8 => TensorData::F64(chunks(data).map(f64::from_le_bytes).collect()),
        Kind::I1 => TensorData::I8(data.iter().map(|&b| b as i8).collect()),
        Kind::I2 => TensorData::I16(chunks(data).map(i16::from_le_bytes).collect()),
        Kind::I4 => TensorData::I32(chunks(data).map(i32::from_le_bytes).collect()),
        Kind::I8 => TensorData::I64(chunks(data).map(i64::from_le_bytes).collect()),
        Kind::U1 => TensorData::U8(data.to_vec()),
        Kind::U2 => TensorData::U16(chunks(data).map(u16::from_le_bytes).collect()),
        Kind::U4 => TensorData::U32(chunks(data).map(u32::from_le_bytes).collect()),
        Kind::U8 => TensorData::U64(chunks(data).map(u64::from_le_bytes).collect()),
        Kind::B1 => TensorData::Bool(data.iter().map(|&b| b != 0).collect()),
    };
    Ok(NpyArray {
        shape: header.shape,
        data,
    })
}

/// Write `data` with `shape` as a `.npy` file, byte-identical to `numpy.save` (format 1.0, or
/// 2.0 when the header exceeds 65535 bytes).
///
/// Types npy lacks are widened losslessly: int4 → `i1`, uint1/2/3/4/6 → `u1`, bf16 and both fp8
/// formats → `f4`.
pub fn write_npy(shape: &[u64], data: &TensorData) -> Result<Vec<u8>, NpyError> {
    let expected = tensor::element_count(shape).unwrap_or(u64::MAX);
    if expected != data.len() as u64 {
        return Err(NpyError::ShapeMismatch {
            shape: shape.to_vec(),
            expected,
            found: data.len() as u64,
        });
    }
    fn le<T, const N: usize>(v: &[T], f: impl Fn(&T) -> [u8; N]) -> Vec<u8> {
        v.iter().flat_map(f).collect()
    }
    let (kind, body) = match data {
        TensorData::F16(v) => (Kind::F2, le(v, |x| x.to_le_bytes())),
        TensorData::F32(v) => (Kind::F4, le(v, |x| x.to_le_bytes())),
        TensorData::F64(v) => (Kind::F8, le(v, |x| x.to_le_bytes())),
        TensorData::I8(v) | TensorData::I4(v) => (Kind::I1, le(v, |x| x.to_le_bytes())),
        TensorData::I16(v) => (Kind::I2, le(v, |x| x.to_le_bytes())),
        TensorData::I32(v) => (Kind::I4, le(v, |x| x.to_le_bytes())),
        TensorData::I64(v) => (Kind::I8, le(v, |x| x.to_le_bytes())),
        TensorData::U8(v)
        | TensorData::U1(v)
        | TensorData::U2(v)
        | TensorData::U3(v)
        | TensorData::U4(v)
        | TensorData::U6(v) => (Kind::U1, v.clone()),
        TensorData::U16(v) => (Kind::U2, le(v, |x| x.to_le_bytes())),
        TensorData::U32(v) => (Kind::U4, le(v, |x| x.to_le_bytes())),
        TensorData::U64(v) => (Kind::U8, le(v, |x| x.to_le_bytes())),
        TensorData::Bool(v) => (Kind::B1, v.iter().map(|&b| u8::from(b)).collect()),
        TensorData::Bf16(_) | TensorData::F8E4M3Fn(_) | TensorData::F8E5M2(_) => {
            (Kind::F4, le(&data.to_f32(), |x| x.to_le_bytes()))
        }
    };
    let dims: Vec<String> = shape.iter().map(u64::to_string).collect();
    let shape_text = match dims.as_slice() {
        [one] => format!("({one},)"),
        _ => format!("({})", dims.join(", ")),
    };
    let dict = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {shape_text}, }}",
        kind.descr()
    );
    // numpy pads with spaces so magic + version + length + header (ending in '\n') is a
    // multiple of 64, using format 1.0 while the header length fits in a u16.
    let header_for = |prefix: usize| {
        let unpadded = prefix + dict.len() + 1;
        let total = unpadded.div_ceil(64) * 64;
        total - prefix
    };
    let mut out = Vec::with_capacity(body.len() + dict.len() + 80);
    out.extend_from_slice(MAGIC);
    let v1_len = header_for(10);
    let header_len = if let Ok(len16) = u16::try_from(v1_len) {
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&len16.to_le_bytes());
        v1_len
    } else {
        let len = header_for(12);
        out.extend_from_slice(&[2, 0]);
        out.extend_from_slice(&(len as u32).to_le_bytes());
        len
    };
    out.extend_from_slice(dict.as_bytes());
    out.resize(out.len() + header_len - dict.len() - 1, b' ');
    out.push(b'\n');
    out.extend_from_slice(&body);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Produced by numpy 2.4: `np.save(f, np.zeros((2, 3), dtype='<f2'))` (first 128 bytes).
    const NUMPY_F2_2X3_HEADER: &[u8] = b"\x93NUMPY\x01\x00v\x00{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3), }                                                          \n";

    #[test]
    fn writes_numpy_identical_header() {
        let data = TensorData::F16(vec![f16::ZERO; 6]);
        let out = write_npy(&[2, 3], &data).unwrap();
        assert_eq!(&out[..128], NUMPY_F2_2X3_HEADER);
        assert_eq!(out.len(), 128 + 12);
        let back = read_npy(&out).unwrap();
        assert_eq!(back.shape, vec![2, 3]);
        assert_eq!(back.data, data);
    }

    #[test]
    fn rejects_fortran_big_endian_and_bad_sizes() {
        let mut f = NUMPY_F2_2X3_HEADER.to_vec();
        let at = f.windows(5).position(|w| w == b"False").unwrap();
        f.splice(at..at + 5, *b"True ");
        f.extend_from_slice(&[0; 12]);
        assert_eq!(read_npy(&f), Err(NpyError::FortranOrder));

        let mut b = NUMPY_F2_2X3_HEADER.to_vec();
        b[21] = b'>';
        b.extend_from_slice(&[0; 12]);
        assert!(matches!(read_npy(&b), Err(NpyError::BigEndian { .. })));

        let mut short = NUMPY_F2_2X3_HEADER.to_vec();
        short.extend_from_slice(&[0; 11]);
        assert!(matches!(
            read_npy(&short),
            Err(NpyError::DataSize {
                offset: 128,
                expected: 12,
                found: 11,
                ..
            })
        ));
        assert_eq!(read_npy(b"NUMPY"), Err(NpyError::Magic));
        let mut v9 = NUMPY_F2_2X3_HEADER.to_vec();
        v9[6] = 9;
        assert!(matches!(
            read_npy(&v9),
            Err(NpyError::Version { major: 9, .. })
        ));
    }

    #[test]
    fn huge_shapes_do_not_allocate() {
        let dict =
            b"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 16), }\n";
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        bytes.extend_from_slice(dict);
        assert!(matches!(read_npy(&bytes), Err(NpyError::DataSize { .. })));
    }

    #[test]
    fn header_errors_carry_offsets() {
        let dict = b"{'descr': '<f4', 'fortran_order': Maybe, 'shape': (), }\n";
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        bytes.extend_from_slice(dict);
        let err = read_npy(&bytes).unwrap_err();
        // "Maybe" starts 34 bytes into the dict, which starts at offset 10.
        assert!(
            matches!(err, NpyError::Header { offset: 44, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn long_headers_switch_to_format_2() {
        let shape = vec![1u64; 30_000]; // "1, " × 30000 > 65535 header bytes
        let out = write_npy(&shape, &TensorData::U8(vec![9])).unwrap();
        assert_eq!(&out[..8], b"\x93NUMPY\x02\x00");
        let header_len = u32::from_le_bytes(out[8..12].try_into().unwrap()) as usize;
        assert_eq!((12 + header_len) % 64, 0);
        assert_eq!(out[12 + header_len - 1], b'\n');
        let back = read_npy(&out).unwrap();
        assert_eq!(back.shape.len(), 30_000);
        assert_eq!(back.data, TensorData::U8(vec![9]));
    }

    #[test]
    fn scalar_and_widened_types() {
        let out = write_npy(&[], &TensorData::Bool(vec![true])).unwrap();
        assert!(out.starts_with(
            b"\x93NUMPY\x01\x00v\x00{'descr': '|b1', 'fortran_order': False, 'shape': (), }"
        ));
        assert_eq!(out.len(), 129);
        let i4 = write_npy(&[3], &TensorData::I4(vec![-8, 7, 1])).unwrap();
        assert_eq!(read_npy(&i4).unwrap().data, TensorData::I8(vec![-8, 7, 1]));
        assert!(matches!(
            write_npy(&[2, 2], &TensorData::U8(vec![1])),
            Err(NpyError::ShapeMismatch {
                expected: 4,
                found: 1,
                ..
            })
        ));
    }
}
