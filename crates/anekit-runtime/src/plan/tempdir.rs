//! The temp-directory rule (private-api.md §6, [source]): before `compileWithQoS`, both
//! known projects create `NSTemporaryDirectory()/<hexStringIdentifier>/weights/` and write
//! `model.mil` (the same bytes as the descriptor's MIL) and each weight file under its
//! dictionary key with `@model_path/` stripped; the directory is deleted when the model is
//! freed. After compile it holds the compiler's `net.plist` (and `data` for BLOBFILE models),
//! which the optional compile cache keeps (§8.3 #5, [unverified]).

use crate::error::RuntimeError;
use crate::plan::weights::WeightsDictionary;
use std::path::{Path, PathBuf};

/// The files the compiler leaves in the temp directory that a compile cache keeps.
pub const COMPILER_OUTPUT_FILES: [&str; 2] = ["net.plist", "data"];

/// Where one model's files go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TempLayout {
    /// `<temp root>/<hexStringIdentifier>`.
    pub dir: PathBuf,
    /// `<dir>/model.mil`.
    pub model_mil: PathBuf,
    /// `<dir>/weights/...`, one per dictionary entry, in dictionary order.
    pub weight_files: Vec<PathBuf>,
}

impl TempLayout {
    /// The layout for a model whose `hexStringIdentifier` is `hex_id`. The identifier becomes
    /// a path component, so it must be a plain name (the framework's is hex digits).
    pub fn new(
        temp_root: &Path,
        hex_id: &str,
        weights: &WeightsDictionary,
    ) -> Result<TempLayout, RuntimeError> {
        let plain = !hex_id.is_empty()
            && hex_id.len() <= 255
            && hex_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !plain {
            return Err(RuntimeError::Plan {
                name: "hexStringIdentifier".into(),
                reason: format!("{hex_id:?} is not a plain directory name"),
            });
        }
        let dir = temp_root.join(hex_id);
        let weight_files = weights
            .entries
            .iter()
            .map(|e| Ok(dir.join(e.relative_path()?)))
            .collect::<Result<_, RuntimeError>>()?;
        Ok(TempLayout {
            model_mil: dir.join("model.mil"),
            dir,
            weight_files,
        })
    }

    /// Create the directory and write `model.mil` and the weight files.
    pub fn write(&self, mil: &[u8], weights: &WeightsDictionary) -> Result<(), RuntimeError> {
        std::fs::create_dir_all(self.dir.join("weights"))
            .map_err(|e| RuntimeError::io(&self.dir, e))?;
        std::fs::write(&self.model_mil, mil).map_err(|e| RuntimeError::io(&self.model_mil, e))?;
        for (path, entry) in self.weight_files.iter().zip(&weights.entries) {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| RuntimeError::io(parent, e))?;
            }
            std::fs::write(path, &entry.data).map_err(|e| RuntimeError::io(path, e))?;
        }
        Ok(())
    }

    /// Delete the directory (missing is fine).
    pub fn remove(&self) -> Result<(), RuntimeError> {
        match std::fs::remove_dir_all(&self.dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(RuntimeError::io(&self.dir, e))
            }
            _ => Ok(()),
        }
    }

    /// Copy the compiler's output files that exist from the temp directory to
    /// `<cache_dir>/<hexStringIdentifier>/`. Returns the names copied.
    pub fn save_to_cache(&self, cache_dir: &Path) -> Result<Vec<&'static str>, RuntimeError> {
        let Some(id) = self.dir.file_name() else {
            return Ok(Vec::new());
        };
        let target = cache_dir.join(id);
        let mut copied = Vec::new();
        for name in COMPILER_OUTPUT_FILES {
            let from = self.dir.join(name);
            if from.is_file() {
                std::fs::create_dir_all(&target).map_err(|e| RuntimeError::io(&target, e))?;
                std::fs::copy(&from, target.join(name)).map_err(|e| RuntimeError::io(&from, e))?;
                copied.push(name);
            }
        }
        Ok(copied)
    }

    /// If `<cache_dir>/<hexStringIdentifier>/net.plist` exists, copy the cached compiler
    /// output into the temp directory and return true (the model can then be loaded without
    /// compiling).
    pub fn restore_from_cache(&self, cache_dir: &Path) -> Result<bool, RuntimeError> {
        let Some(id) = self.dir.file_name() else {
            return Ok(false);
        };
        let source = cache_dir.join(id);
        if !source.join(COMPILER_OUTPUT_FILES[0]).is_file() {
            return Ok(false);
        }
        for name in COMPILER_OUTPUT_FILES {
            let from = source.join(name);
            if from.is_file() {
                std::fs::copy(&from, self.dir.join(name))
                    .map_err(|e| RuntimeError::io(&from, e))?;
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::weights::WeightEntry;

    fn dict() -> WeightsDictionary {
        WeightsDictionary {
            entries: vec![
                WeightEntry {
                    key: "@model_path/weights/weight.bin".into(),
                    offset: 0,
                    data: vec![1, 2, 3],
                },
                WeightEntry {
                    key: "@model_path/weights/sub/wq.bin".into(),
                    offset: 0,
                    data: vec![9],
                },
            ],
        }
    }

    #[test]
    fn layout_paths_follow_the_hex_identifier_rule() {
        let layout = TempLayout::new(Path::new("/var/folders/xy/T"), "4f2a09", &dict()).unwrap();
        assert_eq!(layout.dir, PathBuf::from("/var/folders/xy/T/4f2a09"));
        assert_eq!(
            layout.model_mil,
            PathBuf::from("/var/folders/xy/T/4f2a09/model.mil")
        );
        assert_eq!(
            layout.weight_files,
            vec![
                PathBuf::from("/var/folders/xy/T/4f2a09/weights/weight.bin"),
                PathBuf::from("/var/folders/xy/T/4f2a09/weights/sub/wq.bin"),
            ]
        );
    }

    #[test]
    fn identifiers_that_are_not_plain_names_are_refused() {
        for bad in ["", "..", "a/b", "x y", "a\0b"] {
            assert!(
                TempLayout::new(Path::new("/tmp"), bad, &dict()).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn write_then_cache_round_trip() {
        let root = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        let layout = TempLayout::new(root.path(), "abc123", &dict()).unwrap();
        layout.write(b"program(1.3)", &dict()).unwrap();
        assert_eq!(std::fs::read(&layout.model_mil).unwrap(), b"program(1.3)");
        assert_eq!(std::fs::read(&layout.weight_files[0]).unwrap(), [1, 2, 3]);
        assert_eq!(std::fs::read(&layout.weight_files[1]).unwrap(), [9]);
        // Nothing cached before a compile wrote net.plist.
        assert!(!layout.restore_from_cache(cache.path()).unwrap());
        assert!(layout.save_to_cache(cache.path()).unwrap().is_empty());
        std::fs::write(layout.dir.join("net.plist"), b"plist").unwrap();
        assert_eq!(
            layout.save_to_cache(cache.path()).unwrap(),
            vec!["net.plist"]
        );
        assert_eq!(
            std::fs::read(cache.path().join("abc123/net.plist")).unwrap(),
            b"plist"
        );
        layout.remove().unwrap();
        assert!(!layout.dir.exists());
        layout.remove().unwrap();
        layout.write(b"program(1.3)", &dict()).unwrap();
        assert!(layout.restore_from_cache(cache.path()).unwrap());
        assert_eq!(
            std::fs::read(layout.dir.join("net.plist")).unwrap(),
            b"plist"
        );
    }
}
