//! `.espresso.net`: the network description (reference/espresso.md §2).
//!
//! All three writing styles (Apple's `"key" : value` with `\/` escapes, Python's `json.dumps`
//! indentation, compact one-line JSON) are plain JSON, so serde_json reads them all. Each layer
//! keeps its original JSON object (key order preserved), so a net prints back with every key,
//! known or not, in its original order; the typed view ([`Layer`], [`LayerParams`]) is parsed
//! from it and lists the keys it did not recognise in `extra`.

use crate::codes::{ActivationMode, ElementwiseOp, PoolKind};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashSet;

/// Why an `.espresso.net` was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    Json {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("espresso.net: {path}: expected {expected}, found {found}")]
    Field {
        /// Where: `layers[3] "conv1" .C`, or a top-level key.
        path: String,
        expected: &'static str,
        found: String,
    },
    #[error(transparent)]
    Pbze(#[from] crate::pbze::PbzeError),
    #[error("espresso.net: decompressed payload is not UTF-8 JSON text (byte offset {0:#x})")]
    NotUtf8(usize),
}

pub(crate) fn json_error(e: &serde_json::Error) -> NetError {
    NetError::Json {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    }
}

fn describe(v: &Value) -> String {
    let mut s = v.to_string();
    if s.len() > 60 {
        s.truncate(57);
        s.push_str("...");
    }
    s
}

/// Typed access to one JSON object that remembers which keys were read.
pub(crate) struct Fields<'a> {
    map: &'a Map<String, Value>,
    used: HashSet<&'a str>,
    path: String,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(map: &'a Map<String, Value>, path: String) -> Self {
        Fields {
            map,
            used: HashSet::new(),
            path,
        }
    }

    fn get(&mut self, key: &'a str) -> Option<&'a Value> {
        let (k, v) = self.map.get_key_value(key)?;
        self.used.insert(k.as_str());
        Some(v)
    }

    fn err(&self, key: &str, expected: &'static str, v: &Value) -> NetError {
        NetError::Field {
            path: format!("{}.{key}", self.path),
            expected,
            found: describe(v),
        }
    }

    /// An integer; integral floats (`3.0`) and booleans are accepted since writers differ.
    pub(crate) fn int(&mut self, key: &'a str) -> Result<Option<i64>, NetError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        as_int(v)
            .map(Some)
            .ok_or_else(|| self.err(key, "an integer", v))
    }

    /// A blob id: a non-negative integer.
    pub(crate) fn blob(&mut self, key: &'a str) -> Result<Option<u64>, NetError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        as_int(v)
            .and_then(|i| u64::try_from(i).ok())
            .map(Some)
            .ok_or_else(|| self.err(key, "a non-negative blob id", v))
    }

    /// A flag written as `true`/`false` or `0`/`1` (both occur, §2.1).
    pub(crate) fn flag(&mut self, key: &'a str) -> Result<Option<bool>, NetError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        match v {
            Value::Bool(b) => Ok(Some(*b)),
            other => match as_int(other) {
                Some(0) => Ok(Some(false)),
                Some(1) => Ok(Some(true)),
                _ => Err(self.err(key, "a flag (0, 1, true or false)", v)),
            },
        }
    }

    pub(crate) fn float(&mut self, key: &'a str) -> Result<Option<f64>, NetError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        v.as_f64()
            .map(Some)
            .ok_or_else(|| self.err(key, "a number", v))
    }

    pub(crate) fn string(&mut self, key: &'a str) -> Result<Option<String>, NetError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        v.as_str()
            .map(|s| Some(s.to_string()))
            .ok_or_else(|| self.err(key, "a string", v))
    }

    pub(crate) fn object(
        &mut self,
        key: &'a str,
    ) -> Result<Option<&'a Map<String, Value>>, NetError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        v.as_object()
            .map(Some)
            .ok_or_else(|| self.err(key, "an object", v))
    }

    pub(crate) fn value(&mut self, key: &'a str) -> Option<&'a Value> {
        self.get(key)
    }

    /// Keys starting with `prefix` followed by a decimal index, as (index, integer) in file order.
    fn indexed_ints(&mut self, prefix: &str) -> Result<Vec<(u32, i64)>, NetError> {
        let mut out = Vec::new();
        for (k, v) in self.map {
            let Some(index) = k.strip_prefix(prefix).and_then(|i| i.parse::<u32>().ok()) else {
                continue;
            };
            self.used.insert(k.as_str());
            let value = as_int(v).ok_or_else(|| self.err(k, "an integer", v))?;
            out.push((index, value));
        }
        out.sort_by_key(|&(i, _)| i);
        Ok(out)
    }

    /// The keys not read, in file order.
    pub(crate) fn rest(&self) -> Map<String, Value> {
        self.map
            .iter()
            .filter(|(k, _)| !self.used.contains(k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            let f = n.as_f64()?;
            (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
        }),
        Value::Bool(b) => Some(i64::from(*b)),
        _ => None,
    }
}

/// Split a comma-separated blob list (`bottom`/`top`); `""` is no blob.
pub fn split_blobs(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// Padding as written by convolution and pool layers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Padding {
    pub top: Option<i64>,
    pub bottom: Option<i64>,
    pub left: Option<i64>,
    pub right: Option<i64>,
    /// `pad_mode` (1 = "same" per espresso2onnx; unverified).
    pub mode: Option<i64>,
    pub fill_mode: Option<i64>,
    /// `pad_value`.
    pub value: Option<f64>,
}

impl Padding {
    fn read<'a>(f: &mut Fields<'a>) -> Result<Self, NetError> {
        Ok(Padding {
            top: f.int("pad_t")?,
            bottom: f.int("pad_b")?,
            left: f.int("pad_l")?,
            right: f.int("pad_r")?,
            mode: f.int("pad_mode")?,
            fill_mode: f.int("pad_fill_mode")?,
            value: f.float("pad_value")?,
        })
    }
}

/// `convolution`. **K = input channels, C = output channels** (verified on Chiron).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Convolution {
    /// Output channels.
    pub c: Option<i64>,
    /// Input channels.
    pub k: Option<i64>,
    pub nx: Option<i64>,
    pub ny: Option<i64>,
    pub n_groups: Option<i64>,
    pub n_parallel: Option<i64>,
    /// Absent means 1.
    pub stride_x: Option<i64>,
    pub stride_y: Option<i64>,
    pub padding: Padding,
    pub fused_relu: Option<bool>,
    pub fused_tanh: Option<bool>,
    pub has_batch_norm: Option<bool>,
    pub has_biases: Option<bool>,
    pub blob_weights: Option<u64>,
    pub blob_weights_f16: Option<u64>,
    pub blob_biases: Option<u64>,
    pub quantization_lut_weights_blob: Option<u64>,
    pub quantization_ranges_blob: Option<u64>,
}

/// `pool`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pool {
    pub kind: Option<PoolKind>,
    pub size_x: Option<i64>,
    pub size_y: Option<i64>,
    pub stride_x: Option<i64>,
    pub stride_y: Option<i64>,
    pub is_global: Option<bool>,
    pub average_count_exclude_padding: Option<bool>,
    pub top_shape_style: Option<i64>,
    pub padding: Padding,
}

/// `inner_product` (fully connected).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InnerProduct {
    /// Inputs.
    pub n_b: Option<i64>,
    /// Outputs.
    pub n_c: Option<i64>,
    pub has_biases: Option<bool>,
    pub has_relu: Option<bool>,
    pub has_tanh: Option<bool>,
    pub has_prelu: Option<bool>,
    pub blob_weights: Option<u64>,
    pub blob_weights_f16: Option<u64>,
    pub blob_biases: Option<u64>,
    /// 1 = u8 weights with per-channel scale/bias (verified); 2 claimed for ANE nets (unverified).
    pub quantization_mode: Option<i64>,
    /// Embedding lookup (claimed for ANE nets; unverified).
    pub is_lookup: Option<bool>,
    pub nd_mode: Option<bool>,
}

/// `elementwise`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Elementwise {
    pub operation: Option<ElementwiseOp>,
    pub alpha: Option<f64>,
    pub beta: Option<f64>,
    pub fused_relu: Option<bool>,
    pub nd_mode: Option<bool>,
}

/// `activation`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Activation {
    pub mode: Option<ActivationMode>,
    pub alpha: Option<f64>,
    pub beta: Option<f64>,
}

/// `batchnorm`. The parameter blob holds 4·C floats; their order is unverified.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchNorm {
    pub c: Option<i64>,
    pub blob_batchnorm_params: Option<u64>,
    pub training: Option<bool>,
    pub training_eps: Option<f64>,
    pub training_momentum: Option<f64>,
    pub training_instancenorm: Option<bool>,
}

/// `reshape`. `-1` is a wildcard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reshape {
    pub dst_n: Option<i64>,
    pub dst_k: Option<i64>,
    pub dst_h: Option<i64>,
    pub dst_w: Option<i64>,
    pub dst_seq: Option<i64>,
    pub dst_nd_rank: Option<i64>,
    pub mode: Option<i64>,
    pub version: Option<i64>,
    pub dynamic_shape: Option<bool>,
}

/// `transpose`: output dim X = input dim `axis_X`, dims numbered w=0, h=1, k=2, n=3, seq=4
/// (likely; unverified).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transpose {
    pub axis_w: Option<i64>,
    pub axis_h: Option<i64>,
    pub axis_k: Option<i64>,
    pub axis_n: Option<i64>,
    pub axis_seq: Option<i64>,
}

/// The parameters of a layer, by `type`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LayerParams {
    Convolution(Convolution),
    Pool(Pool),
    InnerProduct(InnerProduct),
    Elementwise(Elementwise),
    Activation(Activation),
    Batchnorm(BatchNorm),
    Softmax {
        c: Option<i64>,
    },
    SoftmaxNd {
        nd_axis: Option<i64>,
    },
    Flatten {
        mode: Option<i64>,
        nd_axis: Option<i64>,
    },
    Reshape(Reshape),
    Transpose(Transpose),
    SplitNd {
        nd_axis: Option<i64>,
        /// `begin_<i>` keys as (i, value), sorted by i.
        begins: Vec<(u32, i64)>,
    },
    ExpandDims {
        nd_axis: Option<i64>,
        size_of_axes: Option<i64>,
        /// `axes_<i>` keys, sorted by i.
        axes: Vec<(u32, i64)>,
        version: Option<i64>,
    },
    Squeeze {
        nd_axis: Option<i64>,
        size_of_axes: Option<i64>,
        axes: Vec<(u32, i64)>,
        version: Option<i64>,
    },
    /// `rnn_arch`: the ~40 nonlinearity/quantization knobs stay in `extra`.
    RnnArch {
        input_size: Option<i64>,
        hidden_size: Option<i64>,
        arch: Option<i64>,
        mode: Option<i64>,
    },
    /// A type with no typed parameters (yet): every key is in `extra`.
    Other,
}

/// One layer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Layer {
    /// Position in `layers`.
    pub index: usize,
    pub name: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub debug_info: Option<String>,
    /// Input blob names (`bottom` split at commas).
    pub bottom: Vec<String>,
    /// Output blob names (`top` split at commas).
    pub top: Vec<String>,
    /// The `weights` object: role → blob id (`{"W_t_x": 69}`), in file order.
    pub weights: Vec<(String, u64)>,
    /// The `attributes` object (e.g. `is_output`).
    pub attributes: Map<String, Value>,
    pub hint_fallback_from_ane: Option<bool>,
    pub hint_fallback_from_metal: Option<bool>,
    pub params: LayerParams,
    /// Keys not recognised, in file order.
    pub extra: Map<String, Value>,
    /// The layer exactly as written (every key, original order).
    #[serde(skip)]
    pub raw: Map<String, Value>,
}

impl Layer {
    /// Every blob id the layer references: typed `blob_*` keys and `weights` entries, as
    /// (role, id) in a fixed order.
    pub fn blob_refs(&self) -> Vec<(String, u64)> {
        let mut out: Vec<(String, u64)> = Vec::new();
        let mut push = |role: &str, id: Option<u64>| {
            if let Some(id) = id {
                out.push((role.to_string(), id));
            }
        };
        match &self.params {
            LayerParams::Convolution(c) => {
                push("blob_weights", c.blob_weights);
                push("blob_weights_f16", c.blob_weights_f16);
                push("blob_biases", c.blob_biases);
                push(
                    "quantization_lut_weights_blob",
                    c.quantization_lut_weights_blob,
                );
                push("quantization_ranges_blob", c.quantization_ranges_blob);
            }
            LayerParams::InnerProduct(p) => {
                push("blob_weights", p.blob_weights);
                push("blob_weights_f16", p.blob_weights_f16);
                push("blob_biases", p.blob_biases);
            }
            LayerParams::Batchnorm(b) => push("blob_batchnorm_params", b.blob_batchnorm_params),
            _ => {}
        }
        // Unknown `blob_*` keys on other layer types are still blob ids (§2.5).
        for (k, v) in &self.extra {
            if k.starts_with("blob_")
                && let Some(id) = v.as_u64()
            {
                out.push((k.clone(), id));
            }
        }
        out.extend(self.weights.iter().cloned());
        out
    }

    /// `is_output` in `attributes`.
    pub fn is_output(&self) -> bool {
        self.attributes
            .get("is_output")
            .and_then(as_int)
            .is_some_and(|v| v != 0)
    }

    /// The two fields mdaiter/ane reports as differing between CPU and ANE nets.
    pub fn is_lookup(&self) -> Option<bool> {
        match &self.params {
            LayerParams::InnerProduct(p) => p.is_lookup,
            _ => self.raw.get("is_lookup").and_then(as_int).map(|v| v != 0),
        }
    }

    pub fn quantization_mode(&self) -> Option<i64> {
        match &self.params {
            LayerParams::InnerProduct(p) => p.quantization_mode,
            _ => self.raw.get("quantization_mode").and_then(as_int),
        }
    }
}

/// A parsed `.espresso.net`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EspressoNet {
    /// Weights file name relative to the `.net` (`storage`).
    pub storage: Option<String>,
    pub format_version: Option<i64>,
    pub layers: Vec<Layer>,
    pub properties: Map<String, Value>,
    pub analyses: Map<String, Value>,
    /// A list in every compiler output (not the bool mdaiter/ane documents).
    pub metadata_in_weights: Option<Value>,
    pub transform_params: Option<Value>,
    /// Top-level keys not recognised, in file order (`configurations`, ...).
    pub extra: Map<String, Value>,
    /// The document exactly as written (key order preserved).
    #[serde(skip)]
    pub raw: Map<String, Value>,
}

impl EspressoNet {
    /// Parse JSON text (any of the three writing styles).
    pub fn parse_json(text: &str) -> Result<Self, NetError> {
        let value: Value = serde_json::from_str(text).map_err(|e| json_error(&e))?;
        Self::from_value(value)
    }

    /// Parse a `.espresso.net` file: PBZE-compressed (decompressed up to `limit` bytes) or JSON.
    pub fn parse_bytes(bytes: &[u8], limit: u64) -> Result<Self, NetError> {
        let text = crate::json_text(bytes, limit)?;
        Self::parse_json(&text)
    }

    pub fn from_value(value: Value) -> Result<Self, NetError> {
        let Value::Object(raw) = value else {
            return Err(NetError::Field {
                path: "(document)".into(),
                expected: "a JSON object",
                found: describe(&value),
            });
        };
        let mut f = Fields::new(&raw, String::new());
        let storage = f.string("storage")?;
        let format_version = f.int("format_version")?;
        let properties = f.object("properties")?.cloned().unwrap_or_default();
        let analyses = f.object("analyses")?.cloned().unwrap_or_default();
        let metadata_in_weights = f.value("metadata_in_weights").cloned();
        let transform_params = f.value("transform_params").cloned();
        let layers_value = f.value("layers");
        let mut layers = Vec::new();
        match layers_value {
            None => {}
            Some(Value::Array(items)) => {
                for (index, item) in items.iter().enumerate() {
                    layers.push(parse_layer(index, item)?);
                }
            }
            Some(other) => {
                return Err(NetError::Field {
                    path: ".layers".into(),
                    expected: "an array of layers",
                    found: describe(other),
                });
            }
        }
        let extra = f.rest();
        Ok(EspressoNet {
            storage,
            format_version,
            layers,
            properties,
            analyses,
            metadata_in_weights,
            transform_params,
            extra,
            raw,
        })
    }

    /// The net as JSON, every key in its original order (unknown keys included).
    pub fn to_json_value(&self) -> Value {
        Value::Object(self.raw.clone())
    }

    /// Layer counts per type, in order of first appearance.
    pub fn type_counts(&self) -> Vec<(String, usize)> {
        let mut out: Vec<(String, usize)> = Vec::new();
        for l in &self.layers {
            match out.iter_mut().find(|(t, _)| *t == l.type_name) {
                Some((_, n)) => *n += 1,
                None => out.push((l.type_name.clone(), 1)),
            }
        }
        out
    }
}

fn parse_layer(index: usize, item: &Value) -> Result<Layer, NetError> {
    let Value::Object(raw) = item else {
        return Err(NetError::Field {
            path: format!(".layers[{index}]"),
            expected: "a layer object",
            found: describe(item),
        });
    };
    let name_for_path = raw.get("name").and_then(Value::as_str).unwrap_or("");
    let mut f = Fields::new(raw, format!(".layers[{index}] \"{name_for_path}\""));
    let name = f.string("name")?.unwrap_or_default();
    let type_name = f.string("type")?.ok_or_else(|| NetError::Field {
        path: format!(".layers[{index}] \"{name}\".type"),
        expected: "a layer type string",
        found: "nothing".into(),
    })?;
    let debug_info = f.string("debug_info")?;
    let bottom = f
        .string("bottom")?
        .map(|s| split_blobs(&s))
        .unwrap_or_default();
    let top = f
        .string("top")?
        .map(|s| split_blobs(&s))
        .unwrap_or_default();
    let mut weights = Vec::new();
    if let Some(w) = f.object("weights")? {
        for (role, v) in w {
            let id = as_int(v)
                .and_then(|i| u64::try_from(i).ok())
                .ok_or_else(|| NetError::Field {
                    path: format!(".layers[{index}] \"{name}\".weights.{role}"),
                    expected: "a blob id",
                    found: describe(v),
                })?;
            weights.push((role.clone(), id));
        }
    }
    let attributes = f.object("attributes")?.cloned().unwrap_or_default();
    let hint_fallback_from_ane = f.flag("hint_fallback_from_ane")?;
    let hint_fallback_from_metal = f.flag("hint_fallback_from_metal")?;
    let params = parse_params(&type_name, &mut f)?;
    let extra = f.rest();
    Ok(Layer {
        index,
        name,
        type_name,
        debug_info,
        bottom,
        top,
        weights,
        attributes,
        hint_fallback_from_ane,
        hint_fallback_from_metal,
        params,
        extra,
        raw: raw.clone(),
    })
}

fn parse_params<'a>(type_name: &str, f: &mut Fields<'a>) -> Result<LayerParams, NetError> {
    Ok(match type_name {
        "convolution" => LayerParams::Convolution(Convolution {
            c: f.int("C")?,
            k: f.int("K")?,
            nx: f.int("Nx")?,
            ny: f.int("Ny")?,
            n_groups: f.int("n_groups")?,
            n_parallel: f.int("n_parallel")?,
            stride_x: f.int("stride_x")?,
            stride_y: f.int("stride_y")?,
            padding: Padding::read(f)?,
            fused_relu: f.flag("fused_relu")?,
            fused_tanh: f.flag("fused_tanh")?,
            has_batch_norm: f.flag("has_batch_norm")?,
            has_biases: f.flag("has_biases")?,
            blob_weights: f.blob("blob_weights")?,
            blob_weights_f16: f.blob("blob_weights_f16")?,
            blob_biases: f.blob("blob_biases")?,
            quantization_lut_weights_blob: f.blob("quantization_lut_weights_blob")?,
            quantization_ranges_blob: f.blob("quantization_ranges_blob")?,
        }),
        "pool" => LayerParams::Pool(Pool {
            kind: f.int("avg_or_max")?.map(PoolKind::from_code),
            size_x: f.int("size_x")?,
            size_y: f.int("size_y")?,
            stride_x: f.int("stride_x")?,
            stride_y: f.int("stride_y")?,
            is_global: f.flag("is_global")?,
            average_count_exclude_padding: f.flag("average_count_exclude_padding")?,
            top_shape_style: f.int("top_shape_style")?,
            padding: Padding::read(f)?,
        }),
        "inner_product" => LayerParams::InnerProduct(InnerProduct {
            n_b: f.int("nB")?,
            n_c: f.int("nC")?,
            has_biases: f.flag("has_biases")?,
            has_relu: f.flag("has_relu")?,
            has_tanh: f.flag("has_tanh")?,
            has_prelu: f.flag("has_prelu")?,
            blob_weights: f.blob("blob_weights")?,
            blob_weights_f16: f.blob("blob_weights_f16")?,
            blob_biases: f.blob("blob_biases")?,
            quantization_mode: f.int("quantization_mode")?,
            is_lookup: f.flag("is_lookup")?,
            nd_mode: f.flag("nd_mode")?,
        }),
        "elementwise" => LayerParams::Elementwise(Elementwise {
            operation: f.int("operation")?.map(ElementwiseOp::from_code),
            alpha: f.float("alpha")?,
            beta: f.float("beta")?,
            fused_relu: f.flag("fused_relu")?,
            nd_mode: f.flag("nd_mode")?,
        }),
        "activation" => LayerParams::Activation(Activation {
            mode: f.int("mode")?.map(ActivationMode::from_code),
            alpha: f.float("alpha")?,
            beta: f.float("beta")?,
        }),
        "batchnorm" => LayerParams::Batchnorm(BatchNorm {
            c: f.int("C")?,
            blob_batchnorm_params: f.blob("blob_batchnorm_params")?,
            training: f.flag("training")?,
            training_eps: f.float("training_eps")?,
            training_momentum: f.float("training_momentum")?,
            training_instancenorm: f.flag("training_instancenorm")?,
        }),
        "softmax" => LayerParams::Softmax { c: f.int("C")? },
        "softmax_nd" => LayerParams::SoftmaxNd {
            nd_axis: f.int("nd_axis")?,
        },
        "flatten" => LayerParams::Flatten {
            mode: f.int("mode")?,
            nd_axis: f.int("nd_axis")?,
        },
        "reshape" => LayerParams::Reshape(Reshape {
            dst_n: f.int("dst_n")?,
            dst_k: f.int("dst_k")?,
            dst_h: f.int("dst_h")?,
            dst_w: f.int("dst_w")?,
            dst_seq: f.int("dst_seq")?,
            dst_nd_rank: f.int("dst_nd_rank")?,
            mode: f.int("mode")?,
            version: f.int("version")?,
            dynamic_shape: f.flag("dynamic_shape")?,
        }),
        "transpose" => LayerParams::Transpose(Transpose {
            axis_w: f.int("axis_w")?,
            axis_h: f.int("axis_h")?,
            axis_k: f.int("axis_k")?,
            axis_n: f.int("axis_n")?,
            axis_seq: f.int("axis_seq")?,
        }),
        "split_nd" => LayerParams::SplitNd {
            nd_axis: f.int("nd_axis")?,
            begins: f.indexed_ints("begin_")?,
        },
        "expand_dims" | "squeeze" => {
            let nd_axis = f.int("nd_axis")?;
            let size_of_axes = f.int("size_of_axes")?;
            let axes = f.indexed_ints("axes_")?;
            let version = f.int("version")?;
            if type_name == "squeeze" {
                LayerParams::Squeeze {
                    nd_axis,
                    size_of_axes,
                    axes,
                    version,
                }
            } else {
                LayerParams::ExpandDims {
                    nd_axis,
                    size_of_axes,
                    axes,
                    version,
                }
            }
        }
        "rnn_arch" => LayerParams::RnnArch {
            input_size: f.int("input_size")?,
            hidden_size: f.int("hidden_size")?,
            arch: f.int("arch")?,
            mode: f.int("mode")?,
        },
        _ => LayerParams::Other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_styles_parse_to_the_same_layers() {
        let apple = "{\n  \"layers\" : [\n    {\n      \"top\" : \"a\\/b,c\",\n      \"type\" : \"elementwise\",\n      \"operation\" : 119,\n      \"alpha\" : 0,\n      \"beta\" : 6,\n      \"weights\" : {\n\n      },\n      \"zz_unknown\" : 7,\n      \"bottom\" : \"\",\n      \"name\" : \"relu6\"\n    }\n  ],\n  \"format_version\" : 200\n}";
        let python = "{\n    \"layers\": [\n        {\n            \"top\": \"a/b,c\",\n            \"type\": \"elementwise\",\n            \"operation\": 119,\n            \"alpha\": 0,\n            \"beta\": 6,\n            \"weights\": {},\n            \"zz_unknown\": 7,\n            \"bottom\": \"\",\n            \"name\": \"relu6\"\n        }\n    ],\n    \"format_version\": 200\n}";
        let compact = "{\"layers\":[{\"top\":\"a/b,c\",\"type\":\"elementwise\",\"operation\":119,\"alpha\":0,\"beta\":6,\"weights\":{},\"zz_unknown\":7,\"bottom\":\"\",\"name\":\"relu6\"}],\"format_version\":200}";
        let nets: Vec<EspressoNet> = [apple, python, compact]
            .iter()
            .map(|t| EspressoNet::parse_json(t).unwrap())
            .collect();
        for net in &nets {
            assert_eq!(net.format_version, Some(200));
            let l = &net.layers[0];
            assert_eq!(l.top, vec!["a/b".to_string(), "c".to_string()]);
            assert!(l.bottom.is_empty());
            match &l.params {
                LayerParams::Elementwise(e) => {
                    assert_eq!(e.operation, Some(ElementwiseOp::Clip));
                    assert_eq!(e.beta, Some(6.0));
                }
                other => panic!("{other:?}"),
            }
            assert_eq!(l.extra.keys().collect::<Vec<_>>(), vec!["zz_unknown"]);
            // Printing back keeps every key in file order.
            let keys: Vec<&String> = l.raw.keys().collect();
            assert_eq!(keys.first().map(|s| s.as_str()), Some("top"));
            assert_eq!(keys.last().map(|s| s.as_str()), Some("name"));
        }
        assert_eq!(
            serde_json::to_string(&nets[0].to_json_value()).unwrap(),
            compact
        );
    }

    #[test]
    fn bad_field_names_layer_and_key() {
        let err = EspressoNet::parse_json(
            r#"{"layers":[{"name":"c1","type":"convolution","fused_relu":2}]}"#,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "espresso.net: .layers[0] \"c1\".fused_relu: expected a flag (0, 1, true or false), found 2"
        );
        let err = EspressoNet::parse_json("{\"layers\": [\n  {\"name\": }]}").unwrap_err();
        assert!(matches!(err, NetError::Json { line: 2, .. }), "{err}");
    }
}
