//! ANECompiler input `net.plist` (reference/espresso.md §6, verified on the 23 + 5 tinygrad
//! plists): `Networks` names the networks; each network dict lists `Inputs`, `Outputs`,
//! `Units` (execution order) and optional `Weights` files, and holds one dict per tensor and
//! unit. XML and binary plists are both read (via the `plist` crate).

use plist::{Dictionary, Value};
use serde::Serialize;

/// Why a net.plist was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlistError {
    #[error("not a property list: {0}")]
    Plist(String),
    #[error("net.plist: {path}: expected {expected}")]
    Field {
        path: String,
        expected: &'static str,
    },
}

/// A tensor description: a network input (`Input…` keys) or a `<name>@output` dict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TensorDesc {
    pub name: String,
    pub bottom: Option<String>,
    pub batch_size: Option<i64>,
    pub channels: Option<i64>,
    pub height: Option<i64>,
    pub width: Option<i64>,
    pub depth: Option<i64>,
    /// `InputType` / `OutputType` (`Float16`, `UInt8`).
    pub data_type: Option<String>,
    pub interleave: Option<i64>,
    /// Strides in bytes.
    pub row_stride: Option<i64>,
    pub plane_stride: Option<i64>,
    pub depth_stride: Option<i64>,
    pub batch_stride: Option<i64>,
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `BiasScaleGroupData` of a GOC unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BiasScaleGroup {
    pub bias_count: Option<i64>,
    pub bias_index: Option<i64>,
    pub bias_offset: Option<i64>,
    pub bias_type: Option<String>,
}

/// `Params` of a unit, by unit `Type`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind")]
pub enum UnitParams {
    Conv {
        kernel_width: Option<i64>,
        kernel_height: Option<i64>,
        kernel_depth: Option<i64>,
        /// Index into the network's `Weights` list.
        kernel_index: Option<i64>,
        /// Byte offset inside that weights file.
        kernel_offset: Option<i64>,
        kernel_type: Option<String>,
        kernel_mode: Option<String>,
        kernel_group_reuse: Option<bool>,
        step: Vec<i64>,
        pad_top: Option<i64>,
        pad_bot: Option<i64>,
        pad_left: Option<i64>,
        pad_right: Option<i64>,
    },
    Neuron {
        /// `Sigmoid`, `Sign`, `Exp2`, `ReLU`, ...
        neuron: Option<String>,
    },
    #[serde(rename = "GOC")]
    Goc {
        bias: Option<BiasScaleGroup>,
        /// fp16 bit pattern as an integer.
        bias_scalar: Option<i64>,
        scale_scalar: Option<i64>,
    },
    ScaledElementWise {
        /// `Add`, `Min`, ...
        operation: Option<String>,
        /// fp16 bit pattern as an integer (15360 = 1.0).
        scale: Option<i64>,
    },
    Concat {
        dimension: Option<String>,
    },
    Broadcast {
        /// (Dimension, Size) pairs.
        info: Vec<(String, i64)>,
    },
    InputView {
        dimension: Option<String>,
        offset: Option<i64>,
        size: Option<i64>,
    },
    Reshape {
        batch: Option<i64>,
        channel: Option<i64>,
        depth: Option<i64>,
        height: Option<i64>,
        width: Option<i64>,
    },
    /// A unit type without typed params: every key is in the unit's `extra_params`.
    Other,
}

/// One unit (layer).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unit {
    pub name: String,
    #[serde(rename = "type")]
    pub unit_type: Option<String>,
    /// `Bottom`, a name or a list.
    pub bottoms: Vec<String>,
    pub output_channels: Option<i64>,
    pub output_type: Option<String>,
    pub params: UnitParams,
    /// `Params` keys not typed, in file order.
    pub extra_params: serde_json::Map<String, serde_json::Value>,
    /// Unit keys not typed (`UnescapedName`, ...), in file order.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// One network of the plist.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Network {
    pub name: String,
    pub inputs: Vec<TensorDesc>,
    pub outputs: Vec<TensorDesc>,
    pub units: Vec<Unit>,
    pub weights: Vec<String>,
}

/// A kernel or bias that a unit reads from a weights file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WeightRef {
    pub unit: String,
    /// `kernel` or `bias`.
    pub role: &'static str,
    pub file_index: i64,
    /// The file named at that index of `Weights`, when present.
    pub file: Option<String>,
    pub offset: i64,
    pub data_type: Option<String>,
}

/// A parsed net.plist.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetPlist {
    pub version: Option<String>,
    pub networks: Vec<Network>,
}

impl NetPlist {
    /// Parse XML or binary plist bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, PlistError> {
        let value = Value::from_reader(std::io::Cursor::new(bytes))
            .map_err(|e| PlistError::Plist(e.to_string()))?;
        let Value::Dictionary(root) = value else {
            return Err(field("(root)", "a dictionary"));
        };
        let version = string(&root, "Version");
        let names = string_list(&root, "Networks", "(root)")?;
        let mut networks = Vec::new();
        for name in names {
            let Some(Value::Dictionary(dict)) = root.get(&name) else {
                return Err(field(&name, "a network dictionary named in Networks"));
            };
            networks.push(parse_network(&name, dict)?);
        }
        Ok(NetPlist { version, networks })
    }

    /// Every kernel/bias reference of every unit.
    pub fn weight_refs(&self) -> Vec<WeightRef> {
        let mut out = Vec::new();
        for net in &self.networks {
            let file = |i: i64| {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| net.weights.get(i))
                    .cloned()
            };
            for u in &net.units {
                match &u.params {
                    UnitParams::Conv {
                        kernel_index,
                        kernel_offset,
                        kernel_type,
                        ..
                    } => {
                        if let (Some(i), Some(o)) = (kernel_index, kernel_offset) {
                            out.push(WeightRef {
                                unit: u.name.clone(),
                                role: "kernel",
                                file_index: *i,
                                file: file(*i),
                                offset: *o,
                                data_type: kernel_type.clone(),
                            });
                        }
                    }
                    UnitParams::Goc { bias: Some(b), .. } => {
                        if let (Some(i), Some(o)) = (b.bias_index, b.bias_offset) {
                            out.push(WeightRef {
                                unit: u.name.clone(),
                                role: "bias",
                                file_index: i,
                                file: file(i),
                                offset: o,
                                data_type: b.bias_type.clone(),
                            });
                        }
                    }
                    _ => {}
                }
            }
        }
        out
    }
}

fn field(path: &str, expected: &'static str) -> PlistError {
    PlistError::Field {
        path: path.to_string(),
        expected,
    }
}

fn string(d: &Dictionary, key: &str) -> Option<String> {
    d.get(key).and_then(Value::as_string).map(str::to_string)
}

fn int(d: &Dictionary, key: &str) -> Option<i64> {
    d.get(key).and_then(|v| match v {
        Value::Integer(i) => i.as_signed(),
        Value::Real(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i64),
        _ => None,
    })
}

/// A list of strings, or a single string (as `Bottom` is written).
fn string_list(d: &Dictionary, key: &str, path: &str) -> Result<Vec<String>, PlistError> {
    match d.get(key) {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_string()
                    .map(str::to_string)
                    .ok_or_else(|| field(&format!("{path}.{key}"), "a list of strings"))
            })
            .collect(),
        Some(_) => Err(field(
            &format!("{path}.{key}"),
            "a string or a list of strings",
        )),
    }
}

/// plist values as JSON, for printing unknown keys. Data becomes a byte list, dates strings.
pub fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Array(a) => J::Array(a.iter().map(to_json).collect()),
        Value::Dictionary(d) => J::Object(d.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
        Value::Boolean(b) => J::Bool(*b),
        Value::Data(d) => J::Array(d.iter().map(|b| J::from(*b)).collect()),
        Value::Date(d) => J::String(d.to_xml_format()),
        Value::Real(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        Value::Integer(i) => i
            .as_signed()
            .map(J::from)
            .or_else(|| i.as_unsigned().map(J::from))
            .unwrap_or(J::Null),
        Value::String(s) => J::String(s.clone()),
        Value::Uid(u) => J::from(u.get()),
        _ => J::Null,
    }
}

fn rest(d: &Dictionary, known: &[&str]) -> serde_json::Map<String, serde_json::Value> {
    d.iter()
        .filter(|(k, _)| !known.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), to_json(v)))
        .collect()
}

fn parse_network(name: &str, d: &Dictionary) -> Result<Network, PlistError> {
    let input_names = string_list(d, "Inputs", name)?;
    let output_names = string_list(d, "Outputs", name)?;
    let unit_names = string_list(d, "Units", name)?;
    let weights = string_list(d, "Weights", name)?;
    let dict_of = |n: &str| -> Result<&Dictionary, PlistError> {
        match d.get(n) {
            Some(Value::Dictionary(x)) => Ok(x),
            _ => Err(field(
                &format!("{name}.{n}"),
                "a dictionary describing this tensor or unit",
            )),
        }
    };
    let mut inputs = Vec::new();
    for n in &input_names {
        inputs.push(tensor(n, dict_of(n)?, "Input"));
    }
    let mut outputs = Vec::new();
    for n in &output_names {
        outputs.push(tensor(n, dict_of(n)?, "Output"));
    }
    let mut units = Vec::new();
    for n in &unit_names {
        units.push(unit(n, dict_of(n)?, &format!("{name}.{n}"))?);
    }
    Ok(Network {
        name: name.to_string(),
        inputs,
        outputs,
        units,
        weights,
    })
}

fn tensor(name: &str, d: &Dictionary, prefix: &str) -> TensorDesc {
    let key = |s: &str| format!("{prefix}{s}");
    let known_suffixes = [
        "Channels",
        "Height",
        "Width",
        "Depth",
        "Type",
        "Interleave",
        "RowStride",
        "PlaneStride",
        "DepthStride",
        "BatchStride",
    ];
    let mut known: Vec<String> = known_suffixes.iter().map(|s| key(s)).collect();
    known.push("BatchSize".into());
    known.push("Bottom".into());
    let known_refs: Vec<&str> = known.iter().map(String::as_str).collect();
    TensorDesc {
        name: name.to_string(),
        bottom: string(d, "Bottom"),
        batch_size: int(d, "BatchSize"),
        channels: int(d, &key("Channels")),
        height: int(d, &key("Height")),
        width: int(d, &key("Width")),
        depth: int(d, &key("Depth")),
        data_type: string(d, &key("Type")),
        interleave: int(d, &key("Interleave")),
        row_stride: int(d, &key("RowStride")),
        plane_stride: int(d, &key("PlaneStride")),
        depth_stride: int(d, &key("DepthStride")),
        batch_stride: int(d, &key("BatchStride")),
        extra: rest(d, &known_refs),
    }
}

fn unit(name: &str, d: &Dictionary, path: &str) -> Result<Unit, PlistError> {
    let unit_type = string(d, "Type");
    let empty = Dictionary::new();
    let params = match d.get("Params") {
        None => &empty,
        Some(Value::Dictionary(p)) => p,
        Some(_) => return Err(field(&format!("{path}.Params"), "a dictionary")),
    };
    let (typed, known): (UnitParams, &[&str]) = match unit_type.as_deref() {
        Some("Conv") => (
            UnitParams::Conv {
                kernel_width: int(params, "KernelWidth"),
                kernel_height: int(params, "KernelHeight"),
                kernel_depth: int(params, "KernelDepth"),
                kernel_index: int(params, "KernelIndex"),
                kernel_offset: int(params, "KernelOffset"),
                kernel_type: string(params, "KernelType"),
                kernel_mode: string(params, "KernelMode"),
                kernel_group_reuse: params.get("KernelGroupReuse").and_then(Value::as_boolean),
                step: match params.get("Step") {
                    Some(Value::Array(a)) => {
                        a.iter().filter_map(|v| v.as_signed_integer()).collect()
                    }
                    _ => Vec::new(),
                },
                pad_top: int(params, "PadTop"),
                pad_bot: int(params, "PadBot"),
                pad_left: int(params, "PadLeft"),
                pad_right: int(params, "PadRight"),
            },
            &[
                "KernelWidth",
                "KernelHeight",
                "KernelDepth",
                "KernelIndex",
                "KernelOffset",
                "KernelType",
                "KernelMode",
                "KernelGroupReuse",
                "Step",
                "PadTop",
                "PadBot",
                "PadLeft",
                "PadRight",
                "Type",
            ],
        ),
        Some("Neuron") => (
            UnitParams::Neuron {
                neuron: string(params, "Type"),
            },
            &["Type"],
        ),
        Some("GOC") => {
            let bias = match params.get("BiasScaleGroupData") {
                Some(Value::Dictionary(b)) => Some(BiasScaleGroup {
                    bias_count: int(b, "BiasCount"),
                    bias_index: int(b, "BiasIndex"),
                    bias_offset: int(b, "BiasOffset"),
                    bias_type: string(b, "BiasType"),
                }),
                _ => None,
            };
            (
                UnitParams::Goc {
                    bias,
                    bias_scalar: int(params, "BiasScalar"),
                    scale_scalar: int(params, "ScaleScalar"),
                },
                &["BiasScaleGroupData", "BiasScalar", "ScaleScalar"],
            )
        }
        Some("ScaledElementWise") => (
            UnitParams::ScaledElementWise {
                operation: string(params, "Type"),
                scale: int(params, "Scale"),
            },
            &["Type", "Scale"],
        ),
        Some("Concat") => (
            UnitParams::Concat {
                dimension: string(params, "Dimension"),
            },
            &["Dimension"],
        ),
        Some("Broadcast") => {
            let mut info = Vec::new();
            if let Some(Value::Array(items)) = params.get("BroadcastInfo") {
                for item in items {
                    let Value::Dictionary(b) = item else {
                        return Err(field(
                            &format!("{path}.Params.BroadcastInfo"),
                            "a list of {Dimension, Size} dictionaries",
                        ));
                    };
                    info.push((
                        string(b, "Dimension").unwrap_or_default(),
                        int(b, "Size").unwrap_or_default(),
                    ));
                }
            }
            (UnitParams::Broadcast { info }, &["BroadcastInfo"])
        }
        Some("InputView") => (
            UnitParams::InputView {
                dimension: string(params, "Dimension"),
                offset: int(params, "Offset"),
                size: int(params, "Size"),
            },
            &["Dimension", "Offset", "Size"],
        ),
        Some("Reshape") => (
            UnitParams::Reshape {
                batch: int(params, "ReshapedBatch"),
                channel: int(params, "ReshapedChannel"),
                depth: int(params, "ReshapedDepth"),
                height: int(params, "ReshapedHeight"),
                width: int(params, "ReshapedWidth"),
            },
            &[
                "ReshapedBatch",
                "ReshapedChannel",
                "ReshapedDepth",
                "ReshapedHeight",
                "ReshapedWidth",
            ],
        ),
        _ => (UnitParams::Other, &[]),
    };
    Ok(Unit {
        name: string(d, "Name").unwrap_or_else(|| name.to_string()),
        unit_type,
        bottoms: string_list(d, "Bottom", path)?,
        output_channels: int(d, "OutputChannels"),
        output_type: string(d, "OutputType"),
        params: typed,
        extra_params: rest(params, known),
        extra: rest(
            d,
            &[
                "Bottom",
                "Name",
                "Type",
                "OutputChannels",
                "OutputType",
                "Params",
            ],
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_and_xml_plists_read_the_same() {
        let xml = br#"<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
<key>Networks</key><array><string>net</string></array>
<key>Version</key><string>1.0.9</string>
<key>net</key><dict>
 <key>Inputs</key><array><string>x</string></array>
 <key>Outputs</key><array><string>y@output</string></array>
 <key>Units</key><array><string>y</string></array>
 <key>x</key><dict><key>InputChannels</key><integer>3</integer></dict>
 <key>y@output</key><dict><key>Bottom</key><string>y</string></dict>
 <key>y</key><dict><key>Bottom</key><string>x</string><key>Type</key><string>Neuron</string>
  <key>Params</key><dict><key>Type</key><string>Sigmoid</string></dict></dict>
</dict></dict></plist>"#;
        let a = NetPlist::parse(xml).unwrap();
        let value = Value::from_reader(std::io::Cursor::new(&xml[..])).unwrap();
        let mut bin = Vec::new();
        value.to_writer_binary(&mut bin).unwrap();
        assert!(bin.starts_with(b"bplist00"));
        let b = NetPlist::parse(&bin).unwrap();
        assert_eq!(a, b);
        let net = &a.networks[0];
        assert_eq!(net.inputs[0].channels, Some(3));
        assert_eq!(net.outputs[0].bottom.as_deref(), Some("y"));
        assert_eq!(
            net.units[0].params,
            UnitParams::Neuron {
                neuron: Some("Sigmoid".into())
            }
        );
        assert!(NetPlist::parse(b"<plist><dict><key>Networks</key><array><string>gone</string></array></dict></plist>").is_err());
    }
}
