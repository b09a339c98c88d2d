//! Errors of the Core ML bundle readers. Each says where: the file, the protobuf field path or
//! the JSON key, and the byte offset when one is known.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoremlError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path}: {size} bytes is larger than the {limit}-byte limit for {what}")]
    TooLarge {
        path: PathBuf,
        what: &'static str,
        size: u64,
        limit: u64,
    },

    /// A protobuf that does not decode (truncated, bad wire type, bad UTF-8, nesting too deep).
    #[error("{what}: malformed protobuf: {detail}")]
    Protobuf { what: String, detail: String },

    /// Wire-format error found by anekit's own scanner, with the byte offset.
    #[error("{what}: malformed protobuf at byte offset {offset}: {detail}")]
    Wire {
        what: String,
        offset: u64,
        detail: String,
    },

    #[error("{path}: {detail}")]
    Manifest { path: PathBuf, detail: String },

    #[error("{path}: invalid JSON: {detail}")]
    Json { path: PathBuf, detail: String },

    /// The model is not an ML Program (another `Model.Type`).
    #[error(
        "the model is a {kind} (Model field {field}), not an ML Program; only mlProgram models convert to MIL"
    )]
    NotMlProgram { kind: String, field: u32 },

    /// A value the MIL syntax tree (or MIL text) cannot represent, or a proto that breaks a MIL rule.
    #[error("{path}: {detail}")]
    Program { path: String, detail: String },

    /// A BLOBFILE reference that does not resolve in the weight file.
    #[error("{path}: BLOBFILE offset {offset} in {file}: {source}")]
    Blob {
        path: String,
        file: String,
        offset: u64,
        #[source]
        source: Box<anekit_blob::BlobError>,
    },

    #[error("{path}: {source}")]
    Mil {
        path: PathBuf,
        #[source]
        source: Box<anekit_mil::ParseError>,
    },
}

impl CoremlError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> CoremlError {
        CoremlError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn program(path: impl Into<String>, detail: impl Into<String>) -> CoremlError {
        CoremlError::Program {
            path: path.into(),
            detail: detail.into(),
        }
    }
}

pub type Result<T, E = CoremlError> = std::result::Result<T, E>;
