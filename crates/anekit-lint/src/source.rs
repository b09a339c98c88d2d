//! Loading the MIL text of a model: a `.mil` file, an `.mlmodelc` folder (its `model.mil`) or
//! an `.mlpackage` (converted to canonical MIL text with anekit-coreml, so spans point into that
//! text, the same text `ane convert` writes).

use std::path::{Path, PathBuf};

/// Where the text came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Mil,
    Mlmodelc,
    Mlpackage,
}

/// A model's MIL text.
#[derive(Debug, Clone)]
pub struct ModelSource {
    pub kind: SourceKind,
    /// The file the spans refer to (for an `.mlpackage`: the package; the text is generated).
    pub path: PathBuf,
    pub text: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not UTF-8 text (byte offset {offset})")]
    NotUtf8 { path: String, offset: usize },
    #[error("{0}: not a .mil file, .mlmodelc or .mlpackage folder")]
    Unknown(String),
    #[error("{path}: an .mlmodelc without model.mil (not an ML Program)")]
    NoModelMil { path: String },
    #[error(transparent)]
    Coreml(#[from] anekit_coreml::CoremlError),
}

/// Largest MIL text read (the corpus's largest is 630 KB).
pub const MAX_MIL_BYTES: u64 = 256 * 1024 * 1024;

fn read_text(path: &Path) -> Result<String, SourceError> {
    let display = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|source| SourceError::Io {
        path: display.clone(),
        source,
    })?;
    if meta.len() > MAX_MIL_BYTES {
        return Err(SourceError::Io {
            path: display,
            source: std::io::Error::other(format!("larger than {MAX_MIL_BYTES} bytes")),
        });
    }
    let bytes = std::fs::read(path).map_err(|source| SourceError::Io {
        path: display.clone(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|e| SourceError::NotUtf8 {
        path: display,
        offset: e.utf8_error().valid_up_to(),
    })
}

/// Load `path`: a file is read as MIL text; a folder is an `.mlmodelc` when it holds
/// `model.mil`, an `.mlpackage` when it holds `Manifest.json`.
pub fn load(path: &Path) -> Result<ModelSource, SourceError> {
    if path.is_dir() {
        let mil = path.join("model.mil");
        if mil.is_file() {
            return Ok(ModelSource {
                kind: SourceKind::Mlmodelc,
                text: read_text(&mil)?,
                path: mil,
            });
        }
        if path.join("Manifest.json").is_file() {
            let pkg = anekit_coreml::MlPackage::open(path)?;
            let converted = pkg.to_ast(None)?;
            return Ok(ModelSource {
                kind: SourceKind::Mlpackage,
                path: path.to_path_buf(),
                text: converted.text(),
            });
        }
        let display = path.display().to_string();
        if path.extension().is_some_and(|e| e == "mlmodelc") {
            return Err(SourceError::NoModelMil { path: display });
        }
        return Err(SourceError::Unknown(display));
    }
    Ok(ModelSource {
        kind: SourceKind::Mil,
        path: path.to_path_buf(),
        text: read_text(path)?,
    })
}
