//! Lazy `BLOBFILE` resolution (reference/mil-text.md §4.3, mil-blob.md §1).
//!
//! `BLOBFILE(path = "@model_path/weights/weight.bin", offset = M)` names the 64-byte metadata
//! record at byte M of a blob storage file; `@model_path` is the model folder given to
//! [`Weights::new`]. Files are memory-mapped once and shared by every constant that uses them.

use crate::diag::{Diagnostic, codes};
use crate::ir::{BlobRef, ConstData, Constant, Program};
use crate::types::Type;
use anekit_blob::{BlobError, MappedBlobFile};
use anekit_core::{DType, TensorData};
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Why a `BLOBFILE` constant does not resolve.
#[derive(Debug, thiserror::Error)]
pub enum WeightError {
    #[error("BLOBFILE path \"{path}\": {reason}")]
    Path { path: String, reason: &'static str },
    #[error("weight file {file}: {message}")]
    File { file: String, message: String },
    #[error("{file}: offset {offset} is not a blob record: {source}")]
    Record {
        file: String,
        offset: u64,
        #[source]
        source: BlobError,
    },
    #[error("{file} at offset {offset}: the blob holds {found}, but the MIL type says {expected}")]
    Dtype {
        file: String,
        offset: u64,
        found: DType,
        expected: DType,
    },
    #[error(
        "{file} at offset {offset}: the blob holds {found} element(s), but {ty} has {expected}"
    )]
    Shape {
        file: String,
        offset: u64,
        found: u64,
        expected: u64,
        ty: String,
    },
    #[error("a BLOBFILE constant must have a tensor type with known dims, found {ty}")]
    Type { ty: String },
    #[error("{file} at offset {offset}: {source}")]
    Decode {
        file: String,
        offset: u64,
        #[source]
        source: BlobError,
    },
    #[error("constant is not a BLOBFILE reference")]
    NotBlob,
}

impl WeightError {
    /// The diagnostic code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            WeightError::Path { .. } => codes::BLOB_PATH,
            WeightError::File { .. } => codes::BLOB_FILE,
            WeightError::Record { .. } | WeightError::Decode { .. } | WeightError::NotBlob => {
                codes::BLOB_RECORD
            }
            WeightError::Dtype { .. } => codes::BLOB_DTYPE,
            WeightError::Shape { .. } | WeightError::Type { .. } => codes::BLOB_SHAPE,
        }
    }
}

/// The weight files of one model folder, opened on first use.
#[derive(Debug)]
pub struct Weights {
    root: PathBuf,
    /// Open files (or why they could not be opened), by resolved path.
    files: Mutex<HashMap<PathBuf, Result<Arc<MappedBlobFile>, String>>>,
}

/// The prefix every BLOBFILE path starts with.
pub const MODEL_PATH: &str = "@model_path/";

impl Weights {
    /// Weights of the model whose folder (`@model_path`) is `model_root`.
    pub fn new(model_root: impl Into<PathBuf>) -> Weights {
        Weights {
            root: model_root.into(),
            files: Mutex::new(HashMap::new()),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file a BLOBFILE path names. Only relative paths below `@model_path/` are accepted:
    /// a model must not make the checker open arbitrary files (`..`, absolute paths).
    pub fn resolve_path(&self, blob_path: &str) -> Result<PathBuf, WeightError> {
        let err = |reason| WeightError::Path {
            path: blob_path.to_owned(),
            reason,
        };
        let rel = blob_path
            .strip_prefix(MODEL_PATH)
            .ok_or_else(|| err("does not start with @model_path/"))?;
        let rel = Path::new(rel);
        if rel.as_os_str().is_empty()
            || !rel.components().all(|c| matches!(c, Component::Normal(_)))
        {
            return Err(err(
                "must name a file below @model_path without `..` or absolute components",
            ));
        }
        Ok(self.root.join(rel))
    }

    /// Number of distinct files opened so far (successfully or not).
    pub fn files_opened(&self) -> usize {
        self.files.lock().map_or(0, |f| f.len())
    }

    fn file(&self, path: &Path) -> Result<Arc<MappedBlobFile>, WeightError> {
        let mut files = self
            .files
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = files.entry(path.to_path_buf()).or_insert_with(|| {
            let mapped = MappedBlobFile::open(path).map_err(|e| match e {
                BlobError::Io { source, .. } => source.to_string(),
                other => other.to_string(),
            })?;
            // Check the header once, when the file is first opened.
            mapped.file().map_err(|e| e.to_string())?;
            Ok(Arc::new(mapped))
        });
        entry.clone().map_err(|message| WeightError::File {
            file: path.display().to_string(),
            message,
        })
    }

    /// Check one BLOBFILE constant without decoding it: the file opens, the offset is a blob
    /// record, its dtype is the MIL dtype and its element count matches the MIL shape.
    pub fn check_constant(&self, constant: &Constant) -> Result<(), WeightError> {
        self.with_blob(constant, |_| Ok(()))
    }

    /// Resolve a BLOBFILE constant to its decoded values (after the same checks).
    pub fn tensor(&self, constant: &Constant) -> Result<TensorData, WeightError> {
        self.with_blob(constant, |b| b.decode())
    }

    fn with_blob<T>(
        &self,
        constant: &Constant,
        f: impl FnOnce(&anekit_blob::Blob<'_>) -> Result<T, BlobError>,
    ) -> Result<T, WeightError> {
        let ConstData::Blob(blob) = &constant.data else {
            return Err(WeightError::NotBlob);
        };
        let (dtype, shape) = match &constant.ty {
            Type::Tensor(t) => match t.known_shape() {
                Some(s) => (t.dtype, s),
                None => {
                    return Err(WeightError::Type {
                        ty: constant.ty.to_string(),
                    });
                }
            },
            other => {
                return Err(WeightError::Type {
                    ty: other.to_string(),
                });
            }
        };
        let path = self.resolve_path(&blob.path)?;
        let mapped = self.file(&path)?;
        let file_name = path.display().to_string();
        let file = mapped.file().map_err(|e| WeightError::File {
            file: file_name.clone(),
            message: e.to_string(),
        })?;
        let record = file
            .blob_at(blob.offset, None)
            .map_err(|source| WeightError::Record {
                file: file_name.clone(),
                offset: blob.offset,
                source,
            })?;
        if record.dtype != dtype {
            return Err(WeightError::Dtype {
                file: file_name,
                offset: blob.offset,
                found: record.dtype,
                expected: dtype,
            });
        }
        let expected = shape
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d))
            .unwrap_or(u64::MAX);
        if record.element_count() != expected {
            return Err(WeightError::Shape {
                file: file_name,
                offset: blob.offset,
                found: record.element_count(),
                expected,
                ty: constant.ty.to_string(),
            });
        }
        f(&record).map_err(|source| WeightError::Decode {
            file: file_name,
            offset: blob.offset,
            source,
        })
    }

    /// Check every BLOBFILE constant of `program`; returns the diagnostics (spans of the
    /// BLOBFILE literals) and how many constants resolved.
    pub fn check(&self, program: &Program) -> (Vec<Diagnostic>, usize) {
        let mut diags = Vec::new();
        let mut resolved = 0;
        for (_, constant, blob) in program.blob_constants() {
            match self.check_constant(constant) {
                Ok(()) => resolved += 1,
                Err(e) => diags.push(Diagnostic::error(
                    e.code(),
                    blob_span(constant, blob),
                    e.to_string(),
                )),
            }
        }
        (diags, resolved)
    }
}

fn blob_span(constant: &Constant, blob: &BlobRef) -> anekit_mil::ast::Span {
    if blob.span.is_empty() {
        constant.span
    } else {
        blob.span
    }
}
