//! `.espresso.weights`: a blob table and the blobs (reference/espresso.md §4, verified on six
//! real files): u64 LE count N, N × (u64 LE id, u64 LE size), then the blobs back to back in
//! table order with no padding. Layers refer to blobs by id, not offset.

use anekit_core::{ReadError, Reader};
use serde::Serialize;

/// Why a weights file was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeightsError {
    #[error(transparent)]
    Truncated(#[from] ReadError),
    #[error(
        "espresso.weights declares {count} table entries at byte offset 0x0, but the {len}-byte file holds at most {max}"
    )]
    HugeCount { count: u64, len: u64, max: u64 },
    #[error(
        "espresso.weights blob id {id} (table entry {index} at byte offset {entry_offset:#x}) is {size} bytes at offset {offset:#x}, past the end of the {len}-byte file"
    )]
    BlobPastEnd {
        id: u64,
        index: usize,
        entry_offset: u64,
        offset: u64,
        size: u64,
        len: u64,
    },
    #[error(
        "espresso.weights blob id {id} appears twice (table entries {first} and {second}, the second at byte offset {entry_offset:#x})"
    )]
    DuplicateId {
        id: u64,
        first: usize,
        second: usize,
        entry_offset: u64,
    },
}

/// One blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BlobEntry {
    pub id: u64,
    pub size: u64,
    /// Absolute byte offset of the blob in the file.
    pub offset: u64,
}

/// The blob table of a weights file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WeightsTable {
    pub entries: Vec<BlobEntry>,
    /// 8 + 16·N.
    pub header_size: u64,
    pub file_size: u64,
    /// Bytes after the last blob (0 in every real file).
    pub trailing_bytes: u64,
}

impl WeightsTable {
    pub fn parse(data: &[u8]) -> Result<Self, WeightsError> {
        let mut r = Reader::new(data);
        let len = data.len() as u64;
        let count = r.u64_le("espresso.weights entry count")?;
        // Reject hostile counts before allocating: every entry takes 16 bytes of the file.
        let max = len.saturating_sub(8) / 16;
        if count > max {
            return Err(WeightsError::HugeCount { count, len, max });
        }
        let header_size = 8 + 16 * count;
        let mut entries: Vec<BlobEntry> = Vec::with_capacity(count as usize);
        let mut offset = header_size;
        let mut seen = std::collections::HashMap::with_capacity(count as usize);
        for index in 0..count as usize {
            let entry_offset = r.offset();
            let id = r.u64_le("espresso.weights blob id")?;
            let size = r.u64_le("espresso.weights blob size")?;
            let end = offset.checked_add(size).filter(|&e| e <= len);
            let Some(end) = end else {
                return Err(WeightsError::BlobPastEnd {
                    id,
                    index,
                    entry_offset,
                    offset,
                    size,
                    len,
                });
            };
            if let Some(&first) = seen.get(&id) {
                return Err(WeightsError::DuplicateId {
                    id,
                    first,
                    second: index,
                    entry_offset,
                });
            }
            seen.insert(id, index);
            entries.push(BlobEntry { id, size, offset });
            offset = end;
        }
        Ok(WeightsTable {
            entries,
            header_size,
            file_size: len,
            trailing_bytes: len - offset,
        })
    }

    pub fn entry(&self, id: u64) -> Option<&BlobEntry> {
        self.entries.iter().find(|e| e.id == id)
    }

    /// The bytes of blob `id` inside `data` (the same file the table was parsed from).
    pub fn blob<'a>(&self, data: &'a [u8], id: u64) -> Option<&'a [u8]> {
        let e = self.entry(id)?;
        let start = usize::try_from(e.offset).ok()?;
        let end = usize::try_from(e.offset.checked_add(e.size)?).ok()?;
        data.get(start..end)
    }

    /// Sum of the blob sizes.
    pub fn total_blob_bytes(&self) -> u64 {
        self.entries.iter().map(|e| e.size).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(entries: &[(u64, u64)]) -> Vec<u8> {
        let mut out = (entries.len() as u64).to_le_bytes().to_vec();
        for (id, size) in entries {
            out.extend_from_slice(&id.to_le_bytes());
            out.extend_from_slice(&size.to_le_bytes());
        }
        for (i, (_, size)) in entries.iter().enumerate() {
            out.extend(std::iter::repeat_n(i as u8, *size as usize));
        }
        out
    }

    #[test]
    fn table_offsets_and_blobs() {
        let data = file(&[(0, 3), (1, 0), (5, 2)]);
        let t = WeightsTable::parse(&data).unwrap();
        assert_eq!(t.header_size, 56);
        assert_eq!(
            t.entries,
            vec![
                BlobEntry {
                    id: 0,
                    size: 3,
                    offset: 56
                },
                BlobEntry {
                    id: 1,
                    size: 0,
                    offset: 59
                },
                BlobEntry {
                    id: 5,
                    size: 2,
                    offset: 59
                },
            ]
        );
        assert_eq!(t.blob(&data, 5), Some(&[2u8, 2][..]));
        assert_eq!(t.trailing_bytes, 0);
    }

    #[test]
    fn hostile_tables_are_rejected() {
        let mut data = u64::MAX.to_le_bytes().to_vec();
        data.extend_from_slice(&[0; 16]);
        assert_eq!(
            WeightsTable::parse(&data).unwrap_err(),
            WeightsError::HugeCount {
                count: u64::MAX,
                len: 24,
                max: 1
            }
        );
        let mut data = file(&[(0, 3)]);
        data.truncate(25);
        assert!(matches!(
            WeightsTable::parse(&data).unwrap_err(),
            WeightsError::BlobPastEnd {
                id: 0,
                offset: 24,
                size: 3,
                len: 25,
                ..
            }
        ));
        let data = file(&[(7, 0), (7, 0)]);
        assert!(matches!(
            WeightsTable::parse(&data).unwrap_err(),
            WeightsError::DuplicateId {
                id: 7,
                first: 0,
                second: 1,
                entry_offset: 24
            }
        ));
    }
}
