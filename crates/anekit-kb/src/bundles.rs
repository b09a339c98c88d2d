//! Bundle file kinds: the Espresso bundle, `.hwx` files per ANE generation and the ML Program
//! bundle (knowledge-base.md §15).

use crate::chips::Generation;
use crate::evidence::Evidence;
use serde::Serialize;

/// One file of a model bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BundleFile {
    /// `espresso`, `hwx` or `ml_program`.
    pub bundle: &'static str,
    /// File name or suffix (`model.espresso.net`, `.H13.espresso.hwx`).
    pub file: &'static str,
    pub description: &'static str,
    /// For `.hwx` files: the generation the suffix names.
    pub generation: Option<Generation>,
    pub evidence: Evidence,
}

impl BundleFile {
    pub const SOURCE: &'static str = "mdaiter/ane (knowledge-base.md §15); mil-blob.md";
}

const fn esp(file: &'static str, description: &'static str, evidence: Evidence) -> BundleFile {
    BundleFile {
        bundle: "espresso",
        file,
        description,
        generation: None,
        evidence,
    }
}

const fn hwx(file: &'static str, description: &'static str, generation: Generation) -> BundleFile {
    BundleFile {
        bundle: "hwx",
        file,
        description,
        generation: Some(generation),
        evidence: Evidence::Unverified,
    }
}

const fn mlp(file: &'static str, description: &'static str) -> BundleFile {
    BundleFile {
        bundle: "ml_program",
        file,
        description,
        generation: None,
        evidence: Evidence::Verified,
    }
}

pub static FILES: &[BundleFile] = &[
    esp(
        "model.espresso.net",
        "network description (JSON or PBZE)",
        Evidence::Verified,
    ),
    esp(
        "model.espresso.weights",
        "binary weights",
        Evidence::Verified,
    ),
    esp(
        "model.espresso.shape",
        "shape information",
        Evidence::Verified,
    ),
    esp(
        "model.H14.espresso.hwx",
        "precompiled ANE binary (chip-specific)",
        Evidence::Unverified,
    ),
    esp(
        "model.H14.espresso.precompilation_info",
        "compiler metadata (JSON)",
        Evidence::Unverified,
    ),
    hwx(
        ".H13.espresso.hwx",
        "notes: \"A14/M1\"; H13 = A14, M1 family (cpusubtype 4)",
        Generation::H13,
    ),
    hwx(
        ".H14.espresso.hwx",
        "notes: \"A15/M2\"; H14 = A15, M2 family (cpusubtype 5)",
        Generation::H14,
    ),
    hwx(
        ".H15.espresso.hwx",
        "notes: \"A16/M3\"; H15 = A16, M3 family (cpusubtype 6)",
        Generation::H15,
    ),
    hwx(
        ".H16.espresso.hwx",
        "notes: \"A17/M4\"; H16 = A17 Pro, M4 family (cpusubtype 7)",
        Generation::H16,
    ),
    mlp("X.mlpackage/Manifest.json", "package manifest"),
    mlp(
        "X.mlpackage/Data/com.apple.CoreML/model.mlmodel",
        "MIL protobuf",
    ),
    mlp(
        "X.mlpackage/Data/com.apple.CoreML/weights/weight.bin",
        "blob storage v2",
    ),
    mlp("X.mlmodelc/model.mil", "MIL text"),
    mlp("X.mlmodelc/weights/weight.bin", "blob storage v2"),
    mlp("X.mlmodelc/coremldata.bin", "model description"),
    mlp("X.mlmodelc/metadata.json", "metadata"),
    mlp("X.mlmodelc/analytics/coremldata.bin", "analytics"),
];

/// The `.hwx` file suffix Espresso uses for a generation (`.H13.espresso.hwx`).
pub fn hwx_suffix(generation: Generation) -> String {
    format!(".{}.espresso.hwx", generation.name())
}
