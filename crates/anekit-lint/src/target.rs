//! The chip a program is checked for: what the lints and the cost model need to know about it.
//!
//! Temporary local table (until `anekit_kb::chips` lands): transcribed from
//! `../shared/reference/private-api.md` §9 (MIL dialect per chip) and `benchmarks.md` §1.1 (SRAM
//! estimates).

use anekit_ir::ops::Opset;
use serde::Serialize;
use std::fmt;

/// How well a fact is established, as the reference documents tag it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Evidence {
    Verified,
    Source,
    Data,
    Unverified,
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Evidence::Verified => "verified",
            Evidence::Source => "verified by source",
            Evidence::Data => "published data",
            Evidence::Unverified => "reported, unverified",
        })
    }
}

/// The MIL form the chip's compiler accepts on the in-memory path.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TargetDialect {
    /// `program(X)`: `1.0` or `1.3`.
    pub program_version: &'static str,
    pub opset: Opset,
    /// fp32 I/O with in-graph `cast` accepted; false: fp16 I/O only and no `cast`.
    pub fp32_io: bool,
    pub evidence: Evidence,
    pub source: &'static str,
}

/// The working-set budget above which weights spill out of the ANE's on-chip memory.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SramBudget {
    /// Bytes (the reference's "MB" are MiB).
    pub bytes: u64,
    pub evidence: Evidence,
    pub source: &'static str,
}

/// One `--target` chip.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Target {
    /// CLI id: `m1`, `m4pro`, ...
    pub id: &'static str,
    /// Marketing name: `M4 Pro`.
    pub name: &'static str,
    /// ANE generation: `H16`.
    pub generation: &'static str,
    pub dialect: TargetDialect,
    /// None when the reference has no estimate for this chip.
    pub sram: Option<SramBudget>,
}

/// Every `--target` id, oldest chip first.
pub const TARGET_IDS: &[&str] = &[
    "m1", "m1pro", "m1max", "m1ultra", "m2", "m2pro", "m2max", "m2ultra", "m3", "m3pro", "m3max",
    "m3ultra", "m4", "m4pro", "m4max", "m5", "m5max",
];

const MIB: u64 = 1024 * 1024;

const DIALECT_M1_M2: TargetDialect = TargetDialect {
    program_version: "1.0",
    opset: Opset::Ios16,
    fp32_io: false,
    evidence: Evidence::Source,
    source: "maderix/ANE PR #6 and dev-erik/ANE (private-api.md §9)",
};
const DIALECT_M3: TargetDialect = TargetDialect {
    program_version: "1.3",
    opset: Opset::Ios18,
    fp32_io: false,
    evidence: Evidence::Unverified,
    source: "private-api.md §9 (M3 is not characterised; fp32 I/O not reported)",
};
const DIALECT_M4_M5: TargetDialect = TargetDialect {
    program_version: "1.3",
    opset: Opset::Ios18,
    fp32_io: true,
    evidence: Evidence::Source,
    source: "maderix/ANE generators (private-api.md §9)",
};

/// The chip with CLI id `id` (`m4pro`; case-insensitive, `-`, `_` and spaces ignored).
pub fn target(id: &str) -> Option<Target> {
    let norm: String = id
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | ' '))
        .flat_map(char::to_lowercase)
        .collect();
    let id = *TARGET_IDS.iter().find(|t| **t == norm)?;
    let (name, generation, dialect, sram) = match id {
        "m1" => ("M1", "H13", DIALECT_M1_M2, sram(16, Evidence::Unverified)),
        "m1pro" => (
            "M1 Pro",
            "H13",
            DIALECT_M1_M2,
            sram(16, Evidence::Unverified),
        ),
        "m1max" => (
            "M1 Max",
            "H13",
            DIALECT_M1_M2,
            sram(16, Evidence::Unverified),
        ),
        "m1ultra" => (
            "M1 Ultra",
            "H13",
            DIALECT_M1_M2,
            sram(16, Evidence::Unverified),
        ),
        "m2" => ("M2", "H14", DIALECT_M1_M2, sram(24, Evidence::Unverified)),
        "m2pro" => (
            "M2 Pro",
            "H14",
            DIALECT_M1_M2,
            sram(24, Evidence::Unverified),
        ),
        "m2max" => (
            "M2 Max",
            "H14",
            DIALECT_M1_M2,
            sram(24, Evidence::Unverified),
        ),
        "m2ultra" => (
            "M2 Ultra",
            "H14",
            DIALECT_M1_M2,
            sram(24, Evidence::Unverified),
        ),
        "m3" => ("M3", "H15", DIALECT_M3, None),
        "m3pro" => ("M3 Pro", "H15", DIALECT_M3, None),
        "m3max" => ("M3 Max", "H15", DIALECT_M3, None),
        "m3ultra" => ("M3 Ultra", "H15", DIALECT_M3, None),
        "m4" => ("M4", "H16", DIALECT_M4_M5, sram(32, Evidence::Data)),
        "m4pro" => ("M4 Pro", "H16", DIALECT_M4_M5, sram(32, Evidence::Data)),
        "m4max" => ("M4 Max", "H16", DIALECT_M4_M5, sram(32, Evidence::Data)),
        "m5" => ("M5", "H16", DIALECT_M4_M5, None),
        "m5max" => ("M5 Max", "H17", DIALECT_M4_M5, None),
        _ => return None,
    };
    Some(Target {
        id,
        name,
        generation,
        dialect,
        sram,
    })
}

fn sram(mib: u64, evidence: Evidence) -> Option<SramBudget> {
    Some(SramBudget {
        bytes: mib * MIB,
        evidence,
        source: "benchmarks.md §1.1",
    })
}
