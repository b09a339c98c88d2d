//! Espresso files of Apple's NeuralNetwork-era Core ML runtime, and the ANECompiler input.
//!
//! - [`lzfse`]: LZFSE streams (every block type), bounded decoding, encoding;
//! - [`pbze`]: the PBZE wrapper (28-byte header + LZFSE) of compressed `.net`/`.shape` files;
//! - [`net`]: `.espresso.net` JSON in all three writing styles, as typed layers;
//! - [`weights`]: the `.espresso.weights` blob table; [`shape`]: `.espresso.shape`;
//! - [`net_plist`]: ANECompiler `net.plist`; [`bundle`]: a net with its companions on disk;
//! - [`diff`]: comparing two nets (CPU vs ANE variants).
//!
//! Facts and their status: reference/espresso.md; user guide: docs/espresso.md.
#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod bundle;
pub mod codes;
pub mod diff;
pub mod lower;
pub mod lzfse;
pub mod net;
pub mod net_plist;
pub mod pbze;
pub mod shape;
pub mod weights;

pub use bundle::Bundle;
pub use codes::{ActivationMode, ElementwiseOp, PoolKind};
pub use net::{EspressoNet, Layer, LayerParams, NetError};
pub use net_plist::NetPlist;
pub use shape::ShapeFile;
pub use weights::WeightsTable;

/// The JSON text of a `.net`/`.shape` file: decompressed when it is PBZE (at most `limit`
/// bytes), else the bytes themselves.
pub fn json_text(bytes: &[u8], limit: u64) -> Result<String, NetError> {
    let owned;
    let raw: &[u8] = if pbze::is_pbze(bytes) {
        owned = pbze::decode(bytes, limit)?;
        &owned
    } else {
        bytes
    };
    match std::str::from_utf8(raw) {
        Ok(s) => Ok(s.to_string()),
        Err(e) => Err(NetError::NotUtf8(e.valid_up_to())),
    }
}
