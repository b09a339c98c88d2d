//! A protobuf wire-format scanner and a table-driven decoder.
//!
//! prost drops unknown fields, so anekit scans the wire format itself where it needs to know
//! *which* fields a message carries (the `Model.Type` member of a model) or where the schema is
//! too large to derive structs for (the ~200 legacy NeuralNetwork messages, described by the
//! generated tables in `nn_tables.rs`). The scanner borrows the input, checks every length
//! against the remaining bytes before slicing, and reports byte offsets.

use serde_json::{Map, Value};

/// The payload of one field occurrence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireValue<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    /// Length-delimited: a string, bytes, a sub-message or a packed repeated scalar.
    Bytes(&'a [u8]),
}

/// One field occurrence: its number, the byte offset of its key within the scanned buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WireField<'a> {
    pub number: u32,
    pub offset: u64,
    pub value: WireValue<'a>,
}

/// A wire-format error at `offset` (relative to the scanned buffer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireError {
    pub offset: u64,
    pub detail: String,
}

fn err(offset: usize, detail: impl Into<String>) -> WireError {
    WireError {
        offset: offset as u64,
        detail: detail.into(),
    }
}

/// Read a varint at `*pos`, advancing it.
pub fn read_varint(bytes: &[u8], pos: &mut usize) -> Result<u64, WireError> {
    let start = *pos;
    let mut value = 0u64;
    for i in 0..10u32 {
        let Some(&b) = bytes.get(*pos) else {
            return Err(err(start, "truncated varint"));
        };
        *pos += 1;
        if i == 9 && b > 1 {
            return Err(err(start, "varint longer than 64 bits"));
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(err(start, "varint longer than 10 bytes"))
}

fn take<'a>(bytes: &'a [u8], pos: &mut usize, n: u64, what: &str) -> Result<&'a [u8], WireError> {
    let start = *pos;
    let remaining = bytes.len().saturating_sub(start) as u64;
    if n > remaining {
        return Err(err(
            start,
            format!("{what} of {n} bytes, but only {remaining} bytes remain"),
        ));
    }
    let end = start + n as usize;
    let slice = bytes
        .get(start..end)
        .ok_or_else(|| err(start, "slice out of range"))?;
    *pos = end;
    Ok(slice)
}

/// Iterator over the fields of one message, in wire order. Yields at most one error.
pub struct Fields<'a> {
    bytes: &'a [u8],
    pos: usize,
    failed: bool,
}

/// Scan the top-level fields of `bytes`.
pub fn fields(bytes: &[u8]) -> Fields<'_> {
    Fields {
        bytes,
        pos: 0,
        failed: false,
    }
}

impl<'a> Fields<'a> {
    fn next_field(&mut self) -> Result<WireField<'a>, WireError> {
        let offset = self.pos;
        let key = read_varint(self.bytes, &mut self.pos)?;
        let number = key >> 3;
        if number == 0 || number > 0x1FFF_FFFF {
            return Err(err(offset, format!("invalid field number {number}")));
        }
        let number = number as u32;
        let value = match key & 7 {
            0 => WireValue::Varint(read_varint(self.bytes, &mut self.pos)?),
            1 => {
                let b = take(self.bytes, &mut self.pos, 8, "fixed64")?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                WireValue::Fixed64(u64::from_le_bytes(a))
            }
            2 => {
                let len = read_varint(self.bytes, &mut self.pos)?;
                let payload = self.pos;
                WireValue::Bytes(
                    take(self.bytes, &mut self.pos, len, "length-delimited field").map_err(
                        |e| {
                            err(
                                offset,
                                format!("field {number}: {} (payload at byte {payload})", e.detail),
                            )
                        },
                    )?,
                )
            }
            5 => {
                let b = take(self.bytes, &mut self.pos, 4, "fixed32")?;
                let mut a = [0u8; 4];
                a.copy_from_slice(b);
                WireValue::Fixed32(u32::from_le_bytes(a))
            }
            w => {
                return Err(err(
                    offset,
                    format!(
                        "field {number}: unsupported wire type {w} (groups are not used by Core ML)"
                    ),
                ));
            }
        };
        Ok(WireField {
            number,
            offset: offset as u64,
            value,
        })
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<WireField<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.bytes.len() {
            return None;
        }
        let r = self.next_field();
        if r.is_err() {
            self.failed = true;
        }
        Some(r)
    }
}

/// Field numbers present at the top level of `bytes`, in first-seen order.
pub fn field_numbers(bytes: &[u8]) -> Result<Vec<u32>, WireError> {
    let mut out: Vec<u32> = Vec::new();
    for f in fields(bytes) {
        let f = f?;
        if !out.contains(&f.number) {
            out.push(f.number);
        }
    }
    Ok(out)
}

// ---- table-driven decoding ----------------------------------------------------------------

/// A message schema: its name and fields (generated tables).
#[derive(Debug)]
pub struct MsgDesc {
    pub name: &'static str,
    pub fields: &'static [FieldDesc],
}

#[derive(Debug)]
pub struct FieldDesc {
    pub number: u32,
    pub name: &'static str,
    pub kind: Kind,
    pub repeated: bool,
}

#[derive(Debug)]
pub enum Kind {
    Double,
    Float,
    Int64,
    Uint64,
    Int32,
    Fixed64,
    Fixed32,
    Bool,
    String,
    Bytes,
    Uint32,
    Sfixed32,
    Sfixed64,
    Sint32,
    Sint64,
    Enum(&'static [(i32, &'static str)]),
    /// Index into the same table.
    Message(usize),
    /// A map field (kept as a count of entries).
    Map,
}

/// Longest repeated scalar list written out in full; longer ones become a summary.
pub const MAX_LISTED: usize = 16;
/// Deepest message nesting the decoder follows.
pub const MAX_DEPTH: usize = 64;

/// Decode `bytes` as message `index` of `table` into JSON: known fields by name, unknown ones
/// under `"_unknown_fields"` by number. Long numeric lists and byte fields are summarised
/// (`{"count": n, "first": [...]}`, `{"bytes": n}`), so weights never blow up the output.
pub fn decode(table: &[MsgDesc], index: usize, bytes: &[u8]) -> Result<Value, WireError> {
    decode_at(table, index, bytes, 0)
}

fn decode_at(
    table: &[MsgDesc],
    index: usize,
    bytes: &[u8],
    depth: usize,
) -> Result<Value, WireError> {
    if depth > MAX_DEPTH {
        return Err(err(0, format!("messages nested deeper than {MAX_DEPTH}")));
    }
    let desc = table
        .get(index)
        .ok_or_else(|| err(0, format!("no message table {index}")))?;
    let mut obj = Map::new();
    let mut unknown: Vec<Value> = Vec::new();
    let mut scalars: Vec<(usize, Vec<Value>)> = Vec::new();
    for f in fields(bytes) {
        let f = f?;
        let Some((fi, fd)) = desc
            .fields
            .iter()
            .enumerate()
            .find(|(_, d)| d.number == f.number)
        else {
            if !unknown.contains(&Value::from(f.number)) {
                unknown.push(Value::from(f.number));
            }
            continue;
        };
        let shift = |e: WireError| WireError {
            offset: e.offset + f.offset,
            detail: format!("{}.{}: {}", desc.name, fd.name, e.detail),
        };
        let values = field_values(table, fd, f.value, depth).map_err(shift)?;
        if fd.repeated {
            match scalars.iter_mut().find(|(i, _)| *i == fi) {
                Some((_, v)) => v.extend(values),
                None => scalars.push((fi, values)),
            }
        } else if let Some(v) = values.into_iter().last() {
            obj.insert(fd.name.to_string(), v);
        }
    }
    for (fi, values) in scalars {
        let Some(fd) = desc.fields.get(fi) else {
            continue;
        };
        let is_scalar = !matches!(fd.kind, Kind::Message(_) | Kind::String | Kind::Bytes);
        let v = if is_scalar && values.len() > MAX_LISTED {
            let first: Vec<Value> = values.iter().take(8).cloned().collect();
            serde_json::json!({ "count": values.len(), "first": first })
        } else {
            Value::Array(values)
        };
        obj.insert(fd.name.to_string(), v);
    }
    if !unknown.is_empty() {
        obj.insert("_unknown_fields".to_string(), Value::Array(unknown));
    }
    Ok(Value::Object(obj))
}

fn zigzag32(v: u64) -> i64 {
    let v = v as u32;
    i64::from(((v >> 1) as i32) ^ -((v & 1) as i32))
}

fn zigzag64(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn scalar_from_varint(kind: &Kind, v: u64) -> Option<Value> {
    Some(match kind {
        Kind::Int64 => Value::from(v as i64),
        Kind::Uint64 => Value::from(v),
        Kind::Int32 => Value::from(v as i64 as i32),
        Kind::Uint32 => Value::from(v as u32),
        Kind::Bool => Value::from(v != 0),
        Kind::Sint32 => Value::from(zigzag32(v)),
        Kind::Sint64 => Value::from(zigzag64(v)),
        Kind::Enum(values) => {
            let n = v as i64 as i32;
            match values.iter().find(|(k, _)| *k == n) {
                Some((_, name)) => Value::from(*name),
                None => Value::from(n),
            }
        }
        _ => return None,
    })
}

fn field_values(
    table: &[MsgDesc],
    fd: &FieldDesc,
    value: WireValue<'_>,
    depth: usize,
) -> Result<Vec<Value>, WireError> {
    let mismatch = || err(0, "wire type does not match the field type");
    match (&fd.kind, value) {
        (Kind::Double, WireValue::Fixed64(b)) => Ok(vec![float_json(f64::from_bits(b))]),
        (Kind::Fixed64, WireValue::Fixed64(b)) => Ok(vec![Value::from(b)]),
        (Kind::Sfixed64, WireValue::Fixed64(b)) => Ok(vec![Value::from(b as i64)]),
        (Kind::Float, WireValue::Fixed32(b)) => Ok(vec![float_json(f64::from(f32::from_bits(b)))]),
        (Kind::Fixed32, WireValue::Fixed32(b)) => Ok(vec![Value::from(b)]),
        (Kind::Sfixed32, WireValue::Fixed32(b)) => Ok(vec![Value::from(b as i32)]),
        (k, WireValue::Varint(v)) => scalar_from_varint(k, v)
            .map(|x| vec![x])
            .ok_or_else(mismatch),
        (Kind::String, WireValue::Bytes(b)) => {
            Ok(vec![Value::from(String::from_utf8_lossy(b).into_owned())])
        }
        (Kind::Bytes, WireValue::Bytes(b)) => Ok(vec![serde_json::json!({ "bytes": b.len() })]),
        (Kind::Map, WireValue::Bytes(_)) => Ok(vec![serde_json::json!({ "map_entry": true })]),
        (Kind::Message(i), WireValue::Bytes(b)) => Ok(vec![decode_at(table, *i, b, depth + 1)?]),
        (k, WireValue::Bytes(b)) => unpack(k, b),
        _ => Err(mismatch()),
    }
}

/// Decode a packed repeated scalar (checks the payload length against the element width).
fn unpack(kind: &Kind, b: &[u8]) -> Result<Vec<Value>, WireError> {
    let fixed = |w: usize| -> Result<std::slice::ChunksExact<'_, u8>, WireError> {
        if !b.len().is_multiple_of(w) {
            return Err(err(
                0,
                format!("packed field of {} bytes is not a multiple of {w}", b.len()),
            ));
        }
        Ok(b.chunks_exact(w))
    };
    match kind {
        Kind::Float => Ok(fixed(4)?
            .map(|c| {
                let mut a = [0u8; 4];
                a.copy_from_slice(c);
                float_json(f64::from(f32::from_le_bytes(a)))
            })
            .collect()),
        Kind::Double => Ok(fixed(8)?
            .map(|c| {
                let mut a = [0u8; 8];
                a.copy_from_slice(c);
                float_json(f64::from_le_bytes(a))
            })
            .collect()),
        Kind::Fixed32 | Kind::Sfixed32 => Ok(fixed(4)?
            .map(|c| {
                let mut a = [0u8; 4];
                a.copy_from_slice(c);
                let u = u32::from_le_bytes(a);
                if matches!(kind, Kind::Sfixed32) {
                    Value::from(u as i32)
                } else {
                    Value::from(u)
                }
            })
            .collect()),
        Kind::Fixed64 | Kind::Sfixed64 => Ok(fixed(8)?
            .map(|c| {
                let mut a = [0u8; 8];
                a.copy_from_slice(c);
                let u = u64::from_le_bytes(a);
                if matches!(kind, Kind::Sfixed64) {
                    Value::from(u as i64)
                } else {
                    Value::from(u)
                }
            })
            .collect()),
        k => {
            let mut out = Vec::new();
            let mut pos = 0;
            while pos < b.len() {
                let v = read_varint(b, &mut pos)?;
                out.push(
                    scalar_from_varint(k, v)
                        .ok_or_else(|| err(pos, "wire type does not match the field type"))?,
                );
            }
            Ok(out)
        }
    }
}

fn float_json(v: f64) -> Value {
    serde_json::Number::from_f64(v).map_or_else(|| Value::from(v.to_string()), Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_fields_and_reports_offsets() {
        // field 1 varint 150; field 2 bytes "hi"; field 5 fixed32 1.0f
        let b = [
            0x08, 0x96, 0x01, 0x12, 0x02, b'h', b'i', 0x2d, 0, 0, 0x80, 0x3f,
        ];
        let f: Vec<_> = fields(&b).collect::<Result<_, _>>().unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(
            f[0],
            WireField {
                number: 1,
                offset: 0,
                value: WireValue::Varint(150)
            }
        );
        assert_eq!(f[1].offset, 3);
        assert_eq!(f[1].value, WireValue::Bytes(b"hi"));
        assert_eq!(f[2].value, WireValue::Fixed32(0x3f80_0000));
    }

    #[test]
    fn hostile_length_prefix_is_an_error_not_an_allocation() {
        // field 2, length 2^62
        let b = [0x12, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40];
        let e = fields(&b).next().unwrap().unwrap_err();
        assert_eq!(e.offset, 0);
        assert_eq!(
            e.detail,
            "field 2: length-delimited field of 4611686018427387904 bytes, but only 0 bytes remain (payload at byte 10)"
        );
    }

    #[test]
    fn truncated_varint_and_group_wire_type() {
        assert_eq!(fields(&[0x08, 0x80]).next().unwrap().unwrap_err().offset, 1);
        let e = fields(&[0x0b]).next().unwrap().unwrap_err();
        assert!(e.detail.contains("wire type 3"));
        assert_eq!(
            field_numbers(&[0x08, 1, 0x10, 2, 0x08, 3]).unwrap(),
            vec![1, 2]
        );
    }

    #[test]
    fn zigzag() {
        assert_eq!(zigzag32(1), -1);
        assert_eq!(zigzag32(4), 2);
        assert_eq!(zigzag64(3), -2);
    }
}
