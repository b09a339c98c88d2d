//! anekit's subset of the Core ML protobuf schema.
//!
//! [`generated`] holds prost structs written by `scripts/gen_coreml_proto.py` from the
//! descriptors coremltools 9.0 ships (checked in: no `build.rs`, no protoc at build time). The
//! same subset as proto3 text is `crates/anekit-coreml/proto/coreml_subset.proto`.
//! [`dynamic`] scans the wire format directly (field numbers, offsets) and decodes the legacy
//! NeuralNetwork messages from the generated tables in [`nn_tables`].

pub mod dynamic;
#[rustfmt::skip]
#[allow(clippy::all, clippy::pedantic)]
mod generated;
#[rustfmt::skip]
pub mod nn_tables;

pub use generated::*;

use crate::error::CoremlError;
use prost::Message as _;

/// Largest serialized model anekit decodes (protobuf itself caps messages at 2 GiB).
pub const MAX_MODEL_BYTES: u64 = 2 << 30;

/// Decode `bytes` as a `Model`. `what` names the input in errors (a path).
///
/// prost checks every length prefix against the remaining input before reading it, so a
/// hostile length cannot allocate; nesting is limited to 100 levels.
pub fn decode_model(bytes: &[u8], what: &str) -> Result<Model, CoremlError> {
    if bytes.len() as u64 > MAX_MODEL_BYTES {
        return Err(CoremlError::Protobuf {
            what: what.to_string(),
            detail: format!("{} bytes exceeds the 2 GiB protobuf limit", bytes.len()),
        });
    }
    // Our own scan first: it reports the byte offset of a truncation, which prost does not.
    for f in dynamic::fields(bytes) {
        if let Err(e) = f {
            return Err(CoremlError::Wire {
                what: format!("{what}: Model"),
                offset: e.offset,
                detail: e.detail,
            });
        }
    }
    Model::decode(bytes).map_err(|e| CoremlError::Protobuf {
        what: what.to_string(),
        detail: e.to_string(),
    })
}

/// The `Model.Type` members present in a serialized model: (field number, name).
pub fn model_types(bytes: &[u8]) -> Result<Vec<(u32, &'static str)>, dynamic::WireError> {
    let numbers = dynamic::field_numbers(bytes)?;
    Ok(nn_tables::MODEL_TYPES
        .iter()
        .filter(|(n, _)| numbers.contains(n))
        .copied()
        .collect())
}

/// The proto `DataType` of a tensor type as an anekit dtype.
pub fn dtype_of(data_type: i32) -> Option<anekit_core::DType> {
    u32::try_from(data_type)
        .ok()
        .and_then(anekit_core::DType::from_proto_number)
}
