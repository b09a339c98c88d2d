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
    let flex = flexible_shape_information(model);
    // Respell every scalar type for the dialect (`tensor<T, []>` in 1.0, `T` in 1.3) by
    // printing in that dialect and parsing back: the tree is then exactly what the text says.
    let text = anekit_mil::print(
        &program,
        &anekit_mil::PrintOptions {
            dialect: Some(dialect),
            final_newline: Some(false),
        },
    );
    let text = insert_function_attributes(&text, &flex);
    let program = anekit_mil::parse(&text).map_err(|e| {
        CoremlError::program(
            "converted program",
            format!("the printed MIL text does not parse back ({e}); this is an anekit bug"),
        )
    })?;
    let program = if flex.is_empty() {
        program
    } else {
        // The inserted attribute is spelled compactly; respell it for the dialect.
        let text = anekit_mil::print(
            &program,
            &anekit_mil::PrintOptions {
                dialect: Some(dialect),
                final_newline: Some(false),
            },
        );
        anekit_mil::parse(&text).map_err(|e| {
            CoremlError::program(
                "converted program",
                format!("the printed MIL text does not parse back ({e}); this is an anekit bug"),
            )
        })?
    };
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

/// `[FlexibleShapeInformation = ...]` function attributes (mil-text.md §4.1), which Apple's
/// compiler derives from the model description: for each function with flexible multi-array
/// inputs, ("DefaultShapes", {{input, shape}}) plus ("RangeDims", {{input, [[lo, hi], ...]}})
/// and/or ("EnumeratedShapes", {{id, {{input, shape}}}, ...}). Returns (function, attribute
/// text in the compact spelling). The 8-hex ids of enumerated shapes are anekit's (the index in
/// hex); how Apple derives its ids is unknown. An unbounded range upper bound is written -1.
pub fn flexible_shape_information(model: &proto::Model) -> Vec<(String, String)> {
    let Some(d) = &model.description else {
        return Vec::new();
    };
    let mut per_fn: Vec<(String, Vec<describe::FeatureInfo>)> = Vec::new();
    if d.functions.is_empty() {
        per_fn.push((
            "main".into(),
            d.input.iter().map(describe::feature).collect(),
        ));
    } else {
        for f in &d.functions {
            per_fn.push((
                f.name.clone(),
                f.input.iter().map(describe::feature).collect(),
            ));
        }
    }
    let list = |v: &[i64]| {
        format!(
            "[{}]",
            v.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
        )
    };
    let quote = |s: &str| {
        let mut o = String::new();
        anekit_mil::write_string(&mut o, s);
        o
    };
    let mut out = Vec::new();
    for (fname, inputs) in per_fn {
        // Only inputs the function really has (a description may name others).
        let params: Vec<&str> = model
            .ml_program
            .as_ref()
            .and_then(|p| p.functions.get(&fname))
            .map(|f| f.inputs.iter().map(|i| i.name.as_str()).collect())
            .unwrap_or_default();
        let flex: Vec<&describe::FeatureInfo> = inputs
            .iter()
            .filter(|f| {
                f.kind == "multiArray"
                    && f.flexibility.is_some()
                    && params.contains(&f.name.as_str())
            })
            .collect();
        if flex.is_empty() {
            continue;
        }
        let defaults: Vec<String> = flex
            .iter()
            .map(|f| format!("{{{}, {}}}", quote(&f.name), list(&f.shape)))
            .collect();
        let mut types = vec!["tuple<string, dict<string, tensor<int32, [?]>>>".to_string()];
        let mut values = vec![format!("(\"DefaultShapes\", {{{}}})", defaults.join(", "))];
        let ranges: Vec<String> = flex
            .iter()
            .filter_map(|f| match &f.flexibility {
                Some(describe::Flexibility::Range(r)) => Some(format!(
                    "{{{}, [{}]}}",
                    quote(&f.name),
                    r.iter()
                        .map(|(lo, hi)| format!("[{lo}, {hi}]"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                _ => None,
            })
            .collect();
        if !ranges.is_empty() {
            types.push("tuple<string, dict<string, list<tensor<int32, [2]>, ?>>>".into());
            values.push(format!("(\"RangeDims\", {{{}}})", ranges.join(", ")));
        }
        let mut enumerated = Vec::new();
        for f in &flex {
            if let Some(describe::Flexibility::Enumerated(shapes)) = &f.flexibility {
                for (i, s) in shapes.iter().enumerate() {
                    enumerated.push(format!(
                        "{{\"{i:08x}\", {{{{{}, {}}}}}}}",
                        quote(&f.name),
                        list(s)
                    ));
                }
            }
        }
        if !enumerated.is_empty() {
            types.push("tuple<string, dict<string, dict<string, tensor<int32, [?]>>>>".into());
            values.push(format!(
                "(\"EnumeratedShapes\", {{{}}})",
                enumerated.join(", ")
            ));
        }
        out.push((
            fname,
            format!(
                "[FlexibleShapeInformation = tuple<{}>(({}))]",
                types.join(", "),
                values.join(", ")
            ),
        ));
    }
    out
}

/// Insert `attrs` (function name, `[...]` text) into canonical text: `    func NAME<...>(...) {`
/// becomes `    func NAME<...>(...) [...] {` for functions that have no attributes yet.
fn insert_function_attributes(text: &str, attrs: &[(String, String)]) -> String {
    if attrs.is_empty() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 256);
    for line in text.split_inclusive('\n') {
        let header = attrs
            .iter()
            .find(|(f, _)| line.starts_with(&format!("    func {f}<")) && line.ends_with(") {\n"));
        match header.and_then(|(_, a)| line.strip_suffix(" {\n").map(|h| (h, a))) {
            Some((head, a)) => {
                out.push_str(head);
                out.push(' ');
                out.push_str(a);
                out.push_str(" {\n");
            }
            None => out.push_str(line),
        }
    }
    out
}
