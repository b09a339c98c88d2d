//! Bare `.mlmodel` files: the same `Model` protobuf as inside a package. ML Programs convert
//! like a package's model; legacy NeuralNetwork models (`neuralNetwork`,
//! `neuralNetworkClassifier`, `neuralNetworkRegressor`) are summarised layer by layer with the
//! table-driven decoder.

use crate::describe::{self, ModelInfo};
use crate::error::{CoremlError, Result};
use crate::proto::{self, dynamic, nn_tables};
use serde::Serialize;

/// A decoded `.mlmodel`.
#[derive(Clone, Debug)]
pub struct MlModelFile {
    pub model: proto::Model,
    pub size: u64,
    pub model_types: Vec<(u32, &'static str)>,
    /// Layers of a NeuralNetwork-family model (empty otherwise).
    pub layers: Vec<Layer>,
}

/// One NeuralNetwork layer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Layer {
    pub name: String,
    /// The layer oneof member (`convolution`, `innerProduct`, `activation`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    /// The layer's parameter message, decoded by field name (weights summarised).
    pub params: serde_json::Value,
}

impl MlModelFile {
    /// Decode `bytes`; `what` names the file in errors.
    pub fn parse(bytes: &[u8], what: &str) -> Result<MlModelFile> {
        let model = proto::decode_model(bytes, what)?;
        let wire = |e: dynamic::WireError| CoremlError::Wire {
            what: what.to_string(),
            offset: e.offset,
            detail: e.detail,
        };
        let model_types = proto::model_types(bytes).map_err(wire)?;
        let mut layers = Vec::new();
        for f in dynamic::fields(bytes) {
            let f = f.map_err(wire)?;
            // neuralNetwork, neuralNetworkClassifier, neuralNetworkRegressor: all three keep
            // their layers in field 1.
            if !matches!(f.number, 500 | 403 | 303) {
                continue;
            }
            let dynamic::WireValue::Bytes(nn) = f.value else {
                return Err(CoremlError::Wire {
                    what: what.to_string(),
                    offset: f.offset,
                    detail: format!("Model field {} is not a message", f.number),
                });
            };
            let base = f.offset;
            for lf in dynamic::fields(nn) {
                let lf = lf.map_err(|e| CoremlError::Wire {
                    what: what.to_string(),
                    offset: base + e.offset,
                    detail: e.detail,
                })?;
                if lf.number != 1 {
                    continue;
                }
                let dynamic::WireValue::Bytes(lb) = lf.value else {
                    continue;
                };
                layers.push(layer(lb).map_err(|e| CoremlError::Wire {
                    what: format!("{what}: layer {}", layers.len()),
                    offset: e.offset,
                    detail: e.detail,
                })?);
            }
        }
        Ok(MlModelFile {
            model,
            size: bytes.len() as u64,
            model_types,
            layers,
        })
    }

    pub fn info(&self) -> ModelInfo {
        let kind = self.model_types.first().map_or("none", |(_, n)| n);
        describe::model_info(
            self.model.specification_version,
            kind,
            self.model.description.as_ref(),
        )
    }
}

fn layer(bytes: &[u8]) -> Result<Layer, dynamic::WireError> {
    let table = nn_tables::MESSAGES;
    let desc = table
        .get(nn_tables::NEURAL_NETWORK_LAYER)
        .ok_or(dynamic::WireError {
            offset: 0,
            detail: "no NeuralNetworkLayer table".into(),
        })?;
    let mut out = Layer {
        name: String::new(),
        kind: "unknown".into(),
        inputs: Vec::new(),
        outputs: Vec::new(),
        params: serde_json::Value::Null,
    };
    for f in dynamic::fields(bytes) {
        let f = f?;
        match (f.number, f.value) {
            (1, dynamic::WireValue::Bytes(b)) => out.name = String::from_utf8_lossy(b).into_owned(),
            (2, dynamic::WireValue::Bytes(b)) => {
                out.inputs.push(String::from_utf8_lossy(b).into_owned())
            }
            (3, dynamic::WireValue::Bytes(b)) => {
                out.outputs.push(String::from_utf8_lossy(b).into_owned())
            }
            (n, dynamic::WireValue::Bytes(b)) if n >= 100 => {
                if let Some(fd) = desc.fields.iter().find(|d| d.number == n) {
                    out.kind = fd.name.to_string();
                    if let dynamic::Kind::Message(i) = fd.kind {
                        out.params =
                            dynamic::decode(table, i, b).map_err(|e| dynamic::WireError {
                                offset: e.offset + f.offset,
                                detail: e.detail,
                            })?;
                    }
                } else {
                    out.kind = format!("unknown field {n}");
                }
            }
            _ => {}
        }
    }
    Ok(out)
}
