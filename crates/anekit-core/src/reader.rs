//! Checked, zero-copy reading of binary formats.
//!
//! Every read is bounds-checked and reports the absolute byte offset where it failed, so a
//! parser built on [`Reader`] cannot panic on hostile input and its errors say where the input
//! went wrong. Modelled on the `Bytes` reader of gimli-rs/object.

use std::fmt;

/// A failed read: what was wanted, where, and how much input was left.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ReadError {
    /// Absolute offset (from the start of the buffer the reader was created on) of the read.
    pub offset: u64,
    /// Bytes the read needed.
    pub needed: u64,
    /// Bytes that were available at `offset`.
    pub available: u64,
    /// What was being read, for the message (e.g. "blob metadata sentinel").
    pub what: &'static str,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "truncated input at byte offset {:#x} ({}): reading {} needs {} byte(s), {} available",
            self.offset, self.offset, self.what, self.needed, self.available
        )
    }
}

/// A cursor over a byte slice. Cloning is cheap; sub-readers keep absolute offsets.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    data: &'a [u8],
    /// Position inside `data`.
    pos: usize,
    /// Absolute offset of `data[0]` in the original input, for error messages.
    base: u64,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Reader {
            data,
            pos: 0,
            base: 0,
        }
    }

    /// A reader over `len` bytes starting at absolute `offset` of the same input.
    pub fn sub(&self, offset: u64, len: u64, what: &'static str) -> Result<Reader<'a>, ReadError> {
        let bytes = self.slice_at(offset, len, what)?;
        Ok(Reader {
            data: bytes,
            pos: 0,
            base: self.base + offset,
        })
    }

    /// Absolute offset of the cursor.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Total length of the underlying slice.
    pub fn len(&self) -> u64 {
        self.data.len() as u64
    }

    /// True when the underlying slice is empty.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Bytes left after the cursor.
    pub fn remaining(&self) -> u64 {
        (self.data.len() - self.pos.min(self.data.len())) as u64
    }

    /// The whole underlying slice.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// Move the cursor to `offset` (relative to this reader's start).
    pub fn seek(&mut self, offset: u64, what: &'static str) -> Result<(), ReadError> {
        if offset > self.data.len() as u64 {
            return Err(self.error_at(offset, 0, what));
        }
        self.pos = offset as usize;
        Ok(())
    }

    /// Skip `n` bytes.
    pub fn skip(&mut self, n: u64, what: &'static str) -> Result<(), ReadError> {
        self.bytes(n, what).map(|_| ())
    }

    fn error_at(&self, rel_offset: u64, needed: u64, what: &'static str) -> ReadError {
        let available = (self.data.len() as u64).saturating_sub(rel_offset);
        ReadError {
            offset: self.base.saturating_add(rel_offset),
            needed,
            available,
            what,
        }
    }

    /// `len` bytes at `offset` relative to this reader's start, without moving the cursor.
    pub fn slice_at(
        &self,
        offset: u64,
        len: u64,
        what: &'static str,
    ) -> Result<&'a [u8], ReadError> {
        let end = offset
            .checked_add(len)
            .ok_or_else(|| self.error_at(offset, len, what))?;
        if end > self.data.len() as u64 {
            return Err(self.error_at(offset, len, what));
        }
        // In range: end <= data.len() was checked above, so both fit in usize.
        self.data
            .get(offset as usize..end as usize)
            .ok_or_else(|| self.error_at(offset, len, what))
    }

    /// The next `n` bytes; advances the cursor.
    pub fn bytes(&mut self, n: u64, what: &'static str) -> Result<&'a [u8], ReadError> {
        let out = self.slice_at(self.pos as u64, n, what)?;
        self.pos += out.len();
        Ok(out)
    }

    /// The next `N` bytes as an array; advances the cursor.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], ReadError> {
        let b = self.bytes(N as u64, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    pub fn u8(&mut self, what: &'static str) -> Result<u8, ReadError> {
        Ok(self.array::<1>(what)?[0])
    }
    pub fn u16_le(&mut self, what: &'static str) -> Result<u16, ReadError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }
    pub fn u32_le(&mut self, what: &'static str) -> Result<u32, ReadError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }
    pub fn u64_le(&mut self, what: &'static str) -> Result<u64, ReadError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }
    pub fn i32_le(&mut self, what: &'static str) -> Result<i32, ReadError> {
        Ok(i32::from_le_bytes(self.array(what)?))
    }
    pub fn u16_be(&mut self, what: &'static str) -> Result<u16, ReadError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }
    pub fn u32_be(&mut self, what: &'static str) -> Result<u32, ReadError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }
    pub fn u64_be(&mut self, what: &'static str) -> Result<u64, ReadError> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    /// Little-endian u32 at `offset` (relative), without moving the cursor.
    pub fn u32_le_at(&self, offset: u64, what: &'static str) -> Result<u32, ReadError> {
        let b = self.slice_at(offset, 4, what)?;
        let mut a = [0u8; 4];
        a.copy_from_slice(b);
        Ok(u32::from_le_bytes(a))
    }

    /// Little-endian u64 at `offset` (relative), without moving the cursor.
    pub fn u64_le_at(&self, offset: u64, what: &'static str) -> Result<u64, ReadError> {
        let b = self.slice_at(offset, 8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
}

/// Round `v` up to a multiple of `align` (a power of two), or `None` on overflow.
pub fn align_up(v: u64, align: u64) -> Option<u64> {
    debug_assert!(align.is_power_of_two());
    Some(v.checked_add(align - 1)? & !(align - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_little_and_big_endian() {
        let data = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08];
        let mut r = Reader::new(&data);
        assert_eq!(r.u32_le("a").unwrap(), 0x0403_0201);
        assert_eq!(r.u32_be("b").unwrap(), 0x0506_0708);
        assert_eq!(r.offset(), 8);
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn truncated_read_reports_offset_and_sizes() {
        let data = [0u8; 6];
        let mut r = Reader::new(&data);
        r.u32_le("first").unwrap();
        let err = r.u32_le("second word").unwrap_err();
        assert_eq!(
            err,
            ReadError {
                offset: 4,
                needed: 4,
                available: 2,
                what: "second word"
            }
        );
        assert!(err.to_string().contains("0x4"));
    }

    #[test]
    fn sub_reader_keeps_absolute_offsets() {
        let data = [0u8; 32];
        let r = Reader::new(&data);
        let mut s = r.sub(16, 8, "sub").unwrap();
        s.u64_le("x").unwrap();
        let err = s.u8("y").unwrap_err();
        assert_eq!(err.offset, 24);
    }

    #[test]
    fn overflowing_ranges_are_errors_not_panics() {
        let data = [0u8; 4];
        let r = Reader::new(&data);
        assert!(r.slice_at(u64::MAX, 2, "x").is_err());
        assert!(r.slice_at(2, u64::MAX, "x").is_err());
        assert!(r.sub(5, 0, "x").is_err());
        assert_eq!(align_up(u64::MAX, 64), None);
        assert_eq!(align_up(65, 64), Some(128));
        assert_eq!(align_up(64, 64), Some(64));
    }
}
