//! Compiled `.mlmodelc` folders (reference/mil-blob.md §5.2, §5.3).
//!
//! ```text
//! X.mlmodelc/model.mil                MIL text (ML Program flavour), parsed with anekit-mil
//! X.mlmodelc/weights/weight.bin       blob storage v2
//! X.mlmodelc/metadata.json            JSON array of one object (typed: CompiledMetadata)
//! X.mlmodelc/coremldata.bin           undocumented; summarised (CoremlData)
//! X.mlmodelc/analytics/coremldata.bin undocumented; size only
//! X.mlmodelc/model.espresso.net ...   NeuralNetwork (Espresso) flavour: detected, see anekit-espresso
//! ```

use crate::describe::{self, ModelInfo};
use crate::error::{CoremlError, Result};
use crate::proto;
use anekit_mil::ast;
use prost::Message as _;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Largest model.mil / metadata.json / coremldata.bin read.
pub const MAX_TEXT_BYTES: u64 = 1 << 30;
pub const MAX_SMALL_BYTES: u64 = 64 << 20;

/// One input/output/state entry of metadata.json. Values are strings as Apple writes them
/// (`"hasShapeFlexibility": "0"`, `"shape": "[1, 10]"`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SchemaEntry {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub data_type: Option<String>,
    pub shape: Option<String>,
    pub formatted_type: Option<String>,
    pub has_shape_flexibility: Option<String>,
    pub is_optional: Option<String>,
    pub short_description: Option<String>,
    /// Other keys (`shapeFlexibility`, `shapeRange`, `enumeratedShapes`, ...).
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// The object in metadata.json (keys seen on corpus samples; others kept in `other`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CompiledMetadata {
    pub metadata_output_version: Option<String>,
    pub specification_version: Option<i64>,
    pub short_description: Option<String>,
    pub author: Option<String>,
    pub license: Option<String>,
    pub version: Option<String>,
    pub input_schema: Vec<SchemaEntry>,
    pub output_schema: Vec<SchemaEntry>,
    pub state_schema: Vec<SchemaEntry>,
    pub model_parameters: Vec<serde_json::Value>,
    pub compute_precision: Option<String>,
    pub storage_precision: Option<String>,
    pub is_updatable: Option<String>,
    pub availability: BTreeMap<String, String>,
    pub model_type: Option<BTreeMap<String, serde_json::Value>>,
    pub ml_program_operation_type_histogram: BTreeMap<String, u64>,
    pub neural_network_layer_type_histogram: BTreeMap<String, u64>,
    pub user_defined_metadata: BTreeMap<String, String>,
    pub generated_class_name: Option<String>,
    pub method: Option<String>,
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// Parse metadata.json (a JSON array of objects).
pub fn parse_metadata(bytes: &[u8], path: &Path) -> Result<Vec<CompiledMetadata>> {
    serde_json::from_slice(bytes).map_err(|e| CoremlError::Json {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })
}

/// What anekit can say about a `coremldata.bin`.
///
/// Observed on the one ML Program sample in the corpus (apple/coremltools `add_model`,
/// 319 bytes) and therefore **[unverified] in general**: the first u32 is the `Model.Type`
/// field number (502 = mlProgram); the last 16 bytes repeat it (the "loader trailer"); a u64
/// at byte 0x4b gives the length of a serialized `ModelDescription` that starts at 0x53.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CoremlData {
    pub size: u64,
    pub model_type_field: Option<u32>,
    pub model_type: Option<String>,
    /// The last 16 bytes start with the same u32 as the file.
    pub trailer_repeats_type: bool,
    /// The embedded description, when the 0x4b/0x53 layout holds and decodes.
    pub description: Option<ModelInfo>,
}

/// Summarise coremldata.bin bytes.
pub fn summarize_coremldata(bytes: &[u8]) -> CoremlData {
    let r = anekit_core::Reader::new(bytes);
    let mut out = CoremlData {
        size: bytes.len() as u64,
        ..CoremlData::default()
    };
    let first = r.u32_le_at(0, "coremldata.bin type").ok();
    if let Some(t) = first
        && let Some((_, name)) = proto::nn_tables::MODEL_TYPES.iter().find(|(n, _)| *n == t)
    {
        out.model_type_field = Some(t);
        out.model_type = Some((*name).to_string());
    }
    let len = bytes.len() as u64;
    if len >= 16 {
        out.trailer_repeats_type =
            first.is_some() && r.u32_le_at(len - 16, "trailer").ok() == first;
    }
    if let Ok(dlen) = r.u64_le_at(0x4b, "description length")
        && let Ok(desc) = r.slice_at(0x53, dlen, "description")
        && let Ok(d) = proto::ModelDescription::decode(desc)
        && !(d.input.is_empty() && d.output.is_empty())
    {
        let kind = out.model_type.clone().unwrap_or_default();
        out.description = Some(describe::model_info(0, &kind, Some(&d)));
    }
    out
}

/// A weight file of the bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WeightFile {
    pub name: String,
    pub size: u64,
}

/// An opened `.mlmodelc` folder.
#[derive(Clone, Debug)]
pub struct MlModelc {
    pub root: PathBuf,
    /// `mlProgram` (model.mil present), `neuralNetwork (Espresso)` (model.espresso.net),
    /// `pipeline` (model0/ ...), or `unknown`.
    pub flavour: String,
    pub program: Option<ast::Program>,
    pub model_mil_size: Option<u64>,
    pub weights: Vec<WeightFile>,
    pub metadata: Option<Vec<CompiledMetadata>>,
    pub coremldata: Option<CoremlData>,
    pub analytics_size: Option<u64>,
    /// Sub-model folders of a pipeline (`model0`, `model1`, ...).
    pub sub_models: Vec<String>,
}

impl MlModelc {
    pub fn open(path: &Path) -> Result<MlModelc> {
        if !path.is_dir() {
            return Err(CoremlError::io(
                path,
                std::io::Error::new(std::io::ErrorKind::NotFound, "not a folder"),
            ));
        }
        let mil = path.join("model.mil");
        let (program, model_mil_size) = if mil.is_file() {
            let bytes = crate::read_limited(&mil, MAX_TEXT_BYTES, "model.mil")?;
            let text = String::from_utf8(bytes).map_err(|e| CoremlError::Program {
                path: mil.display().to_string(),
                detail: format!("not UTF-8 at byte {}", e.utf8_error().valid_up_to()),
            })?;
            let p = anekit_mil::parse(&text).map_err(|source| CoremlError::Mil {
                path: mil.clone(),
                source: Box::new(source),
            })?;
            (Some(p), Some(text.len() as u64))
        } else {
            (None, None)
        };
        let mut weights = Vec::new();
        if let Ok(rd) = std::fs::read_dir(path.join("weights")) {
            for e in rd.flatten() {
                if let Ok(m) = e.metadata()
                    && m.is_file()
                {
                    weights.push(WeightFile {
                        name: e.file_name().to_string_lossy().into_owned(),
                        size: m.len(),
                    });
                }
            }
        }
        weights.sort_by(|a, b| a.name.cmp(&b.name));
        let md = path.join("metadata.json");
        let metadata = if md.is_file() {
            let b = crate::read_limited(&md, MAX_SMALL_BYTES, "metadata.json")?;
            Some(parse_metadata(&b, &md)?)
        } else {
            None
        };
        let cd = path.join("coremldata.bin");
        let coremldata = if cd.is_file() {
            let b = crate::read_limited(&cd, MAX_SMALL_BYTES, "coremldata.bin")?;
            Some(summarize_coremldata(&b))
        } else {
            None
        };
        let analytics_size = std::fs::metadata(path.join("analytics").join("coremldata.bin"))
            .ok()
            .map(|m| m.len());
        let mut sub_models = Vec::new();
        for i in 0..1024 {
            let name = format!("model{i}");
            if path.join(&name).is_dir() {
                sub_models.push(name);
            } else {
                break;
            }
        }
        let flavour = if program.is_some() {
            "mlProgram"
        } else if path.join("model.espresso.net").is_file() {
            "neuralNetwork (Espresso)"
        } else if !sub_models.is_empty() {
            "pipeline"
        } else {
            "unknown"
        }
        .to_string();
        Ok(MlModelc {
            root: path.to_path_buf(),
            flavour,
            program,
            model_mil_size,
            weights,
            metadata,
            coremldata,
            analytics_size,
            sub_models,
        })
    }
}
