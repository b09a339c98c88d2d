//! Input/output descriptions of a model (`ModelDescription`) in a serialisable form.

use crate::proto;
use serde::Serialize;
use std::collections::BTreeMap;

/// One input, output or state.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FeatureInfo {
    pub name: String,
    /// `multiArray`, `image`, `string`, `int64`, `double`, `dictionary`, `sequence`, `state`,
    /// or `unset`.
    pub kind: String,
    /// Element type (`fp16`, `fp32`, `fp64`, `int32`, `int8`) of multi-arrays and states.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dtype: Option<String>,
    /// The default shape (multi-arrays, states) or `[height, width]` (images).
    pub shape: Vec<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flexibility: Option<Flexibility>,
    pub optional: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Image colour space (`GRAYSCALE`, `RGB`, `BGR`, `GRAYSCALE_FLOAT16`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub color_space: Option<String>,
}

/// Flexible shapes of a multi-array or image input.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Flexibility {
    /// One of these shapes.
    Enumerated(Vec<Vec<i64>>),
    /// Per dimension `(lower, upper)`; upper -1 = unbounded.
    Range(Vec<(u64, i64)>),
}

/// What a model says about itself.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ModelInfo {
    pub specification_version: i32,
    /// The `Model.Type` member present (`mlProgram`, `neuralNetwork`, ...).
    pub model_type: String,
    pub inputs: Vec<FeatureInfo>,
    pub outputs: Vec<FeatureInfo>,
    pub states: Vec<FeatureInfo>,
    /// Multi-function models: one description per function.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<FunctionInfo>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub default_function: String,
    pub metadata: MetadataInfo,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FunctionInfo {
    pub name: String,
    pub inputs: Vec<FeatureInfo>,
    pub outputs: Vec<FeatureInfo>,
    pub states: Vec<FeatureInfo>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct MetadataInfo {
    pub short_description: String,
    pub version: String,
    pub author: String,
    pub license: String,
    pub user_defined: BTreeMap<String, String>,
}

/// The anekit spelling of an `ArrayFeatureType.ArrayDataType`.
pub fn array_dtype_name(v: i32) -> String {
    match proto::ArrayFeatureTypeArrayDataType::try_from(v) {
        Ok(proto::ArrayFeatureTypeArrayDataType::Float32) => "fp32".into(),
        Ok(proto::ArrayFeatureTypeArrayDataType::Double) => "fp64".into(),
        Ok(proto::ArrayFeatureTypeArrayDataType::Int32) => "int32".into(),
        Ok(proto::ArrayFeatureTypeArrayDataType::Int8) => "int8".into(),
        Ok(proto::ArrayFeatureTypeArrayDataType::Float16) => "fp16".into(),
        _ => format!("unknown({v})"),
    }
}

fn array_info(a: &proto::ArrayFeatureType, f: &mut FeatureInfo) {
    f.dtype = Some(array_dtype_name(a.data_type));
    f.shape = a.shape.clone();
    f.flexibility = match &a.shape_flexibility {
        Some(proto::ArrayFeatureTypeShapeFlexibility::EnumeratedShapes(e)) => Some(
            Flexibility::Enumerated(e.shapes.iter().map(|s| s.shape.clone()).collect()),
        ),
        Some(proto::ArrayFeatureTypeShapeFlexibility::ShapeRange(r)) => Some(Flexibility::Range(
            r.size_ranges
                .iter()
                .map(|s| (s.lower_bound, s.upper_bound))
                .collect(),
        )),
        None => None,
    };
}

/// Summarise one `FeatureDescription`.
pub fn feature(d: &proto::FeatureDescription) -> FeatureInfo {
    let mut f = FeatureInfo {
        name: d.name.clone(),
        kind: "unset".into(),
        dtype: None,
        shape: Vec::new(),
        flexibility: None,
        optional: d.r#type.as_ref().is_some_and(|t| t.is_optional),
        description: d.short_description.clone(),
        color_space: None,
    };
    let Some(kind) = d.r#type.as_ref().and_then(|t| t.r#type.as_ref()) else {
        return f;
    };
    f.kind = match kind {
        proto::FeatureTypeKind::Int64Type(_) => "int64",
        proto::FeatureTypeKind::DoubleType(_) => "double",
        proto::FeatureTypeKind::StringType(_) => "string",
        proto::FeatureTypeKind::ImageType(img) => {
            f.shape = vec![img.height, img.width];
            f.color_space = Some(
                proto::ImageFeatureTypeColorSpace::try_from(img.color_space).map_or_else(
                    |_| format!("unknown({})", img.color_space),
                    |c| format!("{c:?}").to_uppercase(),
                ),
            );
            f.flexibility = match &img.size_flexibility {
                Some(proto::ImageFeatureTypeKind::EnumeratedSizes(e)) => {
                    Some(Flexibility::Enumerated(
                        e.sizes
                            .iter()
                            .map(|s| vec![s.height as i64, s.width as i64])
                            .collect(),
                    ))
                }
                Some(proto::ImageFeatureTypeKind::ImageSizeRange(r)) => {
                    let range = |s: &Option<proto::SizeRange>| {
                        s.as_ref()
                            .map_or((0, -1), |s| (s.lower_bound, s.upper_bound))
                    };
                    Some(Flexibility::Range(vec![
                        range(&r.height_range),
                        range(&r.width_range),
                    ]))
                }
                None => None,
            };
            "image"
        }
        proto::FeatureTypeKind::MultiArrayType(a) => {
            array_info(a, &mut f);
            "multiArray"
        }
        proto::FeatureTypeKind::DictionaryType(_) => "dictionary",
        proto::FeatureTypeKind::SequenceType(_) => "sequence",
        proto::FeatureTypeKind::StateType(s) => {
            if let Some(proto::StateFeatureTypeKind::ArrayType(a)) = &s.r#type {
                array_info(a, &mut f);
            }
            "state"
        }
    }
    .into();
    f
}

/// Summarise a `ModelDescription` (absent → empty lists).
pub fn model_info(
    spec_version: i32,
    model_type: &str,
    d: Option<&proto::ModelDescription>,
) -> ModelInfo {
    let mut info = ModelInfo {
        specification_version: spec_version,
        model_type: model_type.to_string(),
        ..ModelInfo::default()
    };
    let Some(d) = d else { return info };
    info.inputs = d.input.iter().map(feature).collect();
    info.outputs = d.output.iter().map(feature).collect();
    info.states = d.state.iter().map(feature).collect();
    info.functions = d
        .functions
        .iter()
        .map(|f| FunctionInfo {
            name: f.name.clone(),
            inputs: f.input.iter().map(feature).collect(),
            outputs: f.output.iter().map(feature).collect(),
            states: f.state.iter().map(feature).collect(),
        })
        .collect();
    info.default_function = d.default_function_name.clone();
    if let Some(m) = &d.metadata {
        info.metadata = MetadataInfo {
            short_description: m.short_description.clone(),
            version: m.version_string.clone(),
            author: m.author.clone(),
            license: m.license.clone(),
            user_defined: m.user_defined.clone().into_iter().collect(),
        };
    }
    info
}
