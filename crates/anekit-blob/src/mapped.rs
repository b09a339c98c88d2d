//! A memory-mapped blob storage file, so multi-gigabyte weights are never copied.

use crate::{BlobError, BlobFile};
use memmap2::Mmap;
use std::fs::File;
use std::path::Path;

/// An open, memory-mapped `weight.bin`. Borrow it as a [`BlobFile`] with [`MappedBlobFile::file`].
#[derive(Debug)]
pub struct MappedBlobFile {
    map: Mmap,
}

impl MappedBlobFile {
    /// Map `path` read-only. The header is checked by [`MappedBlobFile::file`].
    pub fn open(path: &Path) -> Result<Self, BlobError> {
        let io = |source| BlobError::Io {
            path: path.display().to_string(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        // mmap of a directory fails with a confusing "No such device"; say what is wrong.
        if file.metadata().map_err(io)?.is_dir() {
            return Err(io(std::io::Error::other(
                "is a directory, not a weight.bin file",
            )));
        }
        let map = map_readonly(&file).map_err(io)?;
        Ok(MappedBlobFile { map })
    }

    /// The mapped bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// The parsed file (header checked).
    pub fn file(&self) -> Result<BlobFile<'_>, BlobError> {
        BlobFile::parse(&self.map)
    }
}

#[allow(unsafe_code)]
fn map_readonly(file: &File) -> std::io::Result<Mmap> {
    // SAFETY: the mapping is read-only and treated as immutable input. If another process
    // truncates or rewrites the file while it is mapped, reads may fault or see changed bytes;
    // every read is still bounds-checked against the mapped length, and the contents are never
    // trusted beyond the parser's checks. This is the only unsafe code in the crate.
    unsafe { Mmap::map(file) }
}
