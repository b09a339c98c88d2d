//! The ANE knowledge base as typed data: descriptor structs, layer kinds, codes, private
//! classes, XPC services, entitlements, chips.
//!
//! Every table is a `&'static [T]` of plain structs with `pub` fields and `serde::Serialize`.
//! Every entry carries the evidence level the reference documents give it ([`Evidence`]):
//! most rows are what the original reverse-engineering notes report and are [unverified].
//! Source of truth: `../shared/reference/knowledge-base.md`, `benchmarks.md`, `private-api.md`,
//! `hwx-td.md`, `espresso.md`. [`catalog`] gives one uniform view over all tables (list, show,
//! search, export) for `ane kb`.

pub mod access;
pub mod bundles;
pub mod catalog;
pub mod chips;
pub mod compiler;
pub mod descriptors;
pub mod espresso;
pub mod evidence;
pub mod objc;
pub mod probe;
pub mod runtime;
pub mod xpc;
pub mod zin;

pub use chips::{Chip, Generation, MilDialect};
pub use descriptors::Descriptor;
pub use evidence::{Evidence, Tagged};
