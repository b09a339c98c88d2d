//! `.mlpackage` folders (reference/mil-blob.md §5.1).
//!
//! ```text
//! X.mlpackage/Manifest.json
//! X.mlpackage/Data/com.apple.CoreML/model.mlmodel      Model protobuf (the root item)
//! X.mlpackage/Data/com.apple.CoreML/weights/weight.bin blob storage v2 (the weights item)
//! ```

use crate::describe::{self, ModelInfo};
use crate::error::{CoremlError, Result};
use crate::manifest::{self, Manifest};
use crate::proto;
use crate::to_ast::{self, ToAstOptions};
use anekit_mil::ast;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// An opened package: its manifest and decoded model. Weight files are not read until asked.
#[derive(Clone, Debug)]
pub struct MlPackage {
    pub root: PathBuf,
    pub manifest: Manifest,
    /// `Data/<root item path>`.
    pub model_path: PathBuf,
    /// `Data/<weights item path>` when the manifest has a weights item.
    pub weights_dir: Option<PathBuf>,
    pub model: proto::Model,
    /// Size of the serialized model.
    pub model_size: u64,
    /// `Model.Type` members found in the bytes: (field number, name).
    pub model_types: Vec<(u32, &'static str)>,
}

/// An ML Program converted to the MIL text syntax tree.
#[derive(Clone, Debug)]
pub struct Converted {
    pub program: ast::Program,
    pub dialect: ast::Dialect,
    /// Weight file names referenced (`weight.bin`), relative to the weights folder.
    pub blob_files: Vec<String>,
}

impl Converted {
    /// The canonical MIL text (Apple's layout, no final newline).
    pub fn text(&self) -> String {
        anekit_mil::print(
            &self.program,
            &anekit_mil::PrintOptions {
                dialect: Some(self.dialect),
                final_newline: Some(false),
            },
        )
    }
}

impl MlPackage {
    /// Open `path` (a `.mlpackage` folder): parse Manifest.json, find and decode the root model.
    pub fn open(path: &Path) -> Result<MlPackage> {
        let manifest_path = path.join("Manifest.json");
        let bytes = crate::read_limited(
            &manifest_path,
            manifest::MAX_MANIFEST_BYTES,
            "Manifest.json",
        )?;
        let manifest = Manifest::parse(&bytes, &manifest_path)?;
        let root_item = manifest.root_item().ok_or_else(|| CoremlError::Manifest {
            path: manifest_path.clone(),
            detail: "no root model item".into(),
        })?;
        let model_path = Manifest::item_path(path, root_item);
        if !model_path.is_file() {
            return Err(CoremlError::Manifest {
                path: manifest_path.clone(),
                detail: format!(
                    "root model item {} ({}) is missing: {} is not a file",
                    root_item.id,
                    root_item.path,
                    model_path.display()
                ),
            });
        }
        let weights_dir = manifest
            .weights_item()
            .map(|i| Manifest::item_path(path, i));
        let model_bytes =
            crate::read_limited(&model_path, proto::MAX_MODEL_BYTES, "a Core ML model")?;
        let what = model_path.display().to_string();
        let model = proto::decode_model(&model_bytes, &what)?;
        let model_types = proto::model_types(&model_bytes).map_err(|e| CoremlError::Wire {
            what: what.clone(),
            offset: e.offset,
            detail: e.detail,
        })?;
        Ok(MlPackage {
            root: path.to_path_buf(),
            manifest,
            model_path,
            weights_dir,
            model,
            model_size: model_bytes.len() as u64,
            model_types,
        })
    }

    /// Inputs, outputs, states and metadata.
    pub fn info(&self) -> ModelInfo {
        let kind = self.model_types.first().map_or("none", |(_, n)| n);
        describe::model_info(
            self.model.specification_version,
            kind,
            self.model.description.as_ref(),
        )
    }

    /// Convert the ML Program; `dialect` `None` picks [`to_ast::default_dialect`].
    pub fn to_ast(&self, dialect: Option<ast::Dialect>) -> Result<Converted> {
        model_to_ast(&self.model, &self.model_types, dialect)
    }

    /// The file a BLOBFILE path refers to (`@model_path/weights/X` → `<weights dir>/X`).
    pub fn blob_path(&self, blobfile_path: &str) -> Option<PathBuf> {
        let name = to_ast::blob_file_name(blobfile_path)?;
        Some(self.weights_dir.as_ref()?.join(name))
    }
}

/// Convert a decoded model (the shared part of .mlpackage and bare .mlmodel conversion).
pub fn model_to_ast(
    model: &proto::Model,
    model_types: &[(u32, &'static str)],
    dialect: Option<ast::Dialect>,
) -> Result<Converted> {
    let Some(program) = &model.ml_program else {
        let (field, kind) = model_types
            .iter()
            .find(|(n, _)| *n != 502)
            .copied()
            .unwrap_or((0, "model with no type"));
        return Err(CoremlError::NotMlProgram {
            kind: kind.to_string(),
            field,
        });
    };
    let dialect = dialect.unwrap_or_else(|| to_ast::default_dialect(program));
    let program = to_ast::program_to_ast(program, &ToAstOptions { dialect })?;
    // Respell every scalar type for the dialect (`tensor<T, []>` in 1.0, `T` in 1.3) by
    // printing in that dialect and parsing back: the tree is then exactly what the text says.
    let text = anekit_mil::print(
        &program,
        &anekit_mil::PrintOptions {
            dialect: Some(dialect),
            final_newline: Some(false),
        },
    );
    let program = anekit_mil::parse(&text).map_err(|e| {
        CoremlError::program(
            "converted program",
            format!("the printed MIL text does not parse back ({e}); this is an anekit bug"),
        )
    })?;
    let mut files = BTreeSet::new();
    for (_, _, _, _, lit) in crate::blobcheck::blob_literals(&program) {
        if let ast::PayloadKind::Blob(b) = &lit.value.kind
            && let Some(name) = b.path_str().and_then(to_ast::blob_file_name)
        {
            files.insert(name.to_string());
        }
    }
    Ok(Converted {
        program,
        dialect,
        blob_files: files.into_iter().collect(),
    })
}
