//! Core ML bundles for anekit: the protobuf subset of `Model.proto`/`MIL.proto`, reading
//! `.mlpackage` folders, compiled `.mlmodelc` folders and bare `.mlmodel` files, and converting
//! an ML Program to the MIL text syntax tree ([`anekit_mil::ast::Program`]), so that
//! `anekit_mil::print` writes the `model.mil` Apple's compiler would.
//!
//! ```no_run
//! let pkg = anekit_coreml::MlPackage::open("tiny.mlpackage".as_ref())?;
//! let conv = pkg.to_ast(None)?;
//! let text = anekit_mil::print(&conv.program, &Default::default());
//! # Ok::<(), anekit_coreml::CoremlError>(())
//! ```
#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod blobcheck;
pub mod describe;
mod error;
pub mod from_ast;
pub mod manifest;
pub mod mlmodel;
pub mod mlmodelc;
pub mod package;
pub mod proto;
pub mod to_ast;

pub use describe::{FeatureInfo, ModelInfo};
pub use error::{CoremlError, Result};
pub use manifest::Manifest;
pub use mlmodel::MlModelFile;
pub use mlmodelc::MlModelc;
pub use package::{Converted, MlPackage};

use std::path::Path;

/// Read a whole file, refusing files larger than `limit` before allocating.
pub(crate) fn read_limited(path: &Path, limit: u64, what: &'static str) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path).map_err(|e| CoremlError::io(path, e))?;
    if meta.len() > limit {
        return Err(CoremlError::TooLarge {
            path: path.to_path_buf(),
            what,
            size: meta.len(),
            limit,
        });
    }
    std::fs::read(path).map_err(|e| CoremlError::io(path, e))
}
