//! The chip a program is checked for: what the lints and the cost model need to know about it,
//! read from the knowledge base's chip table (`anekit_kb::chips`, the one source of chip facts).

use anekit_ir::ops::{Opset, OpsetTag};
use anekit_kb::chips::{self, Chip, SramKind};
use serde::Serialize;

pub use anekit_kb::Evidence;

/// The evidence level in words, for human output.
pub fn evidence_label(e: Evidence) -> &'static str {
    match e {
        Evidence::Verified => "verified",
        Evidence::Source => "verified by source",
        Evidence::Data => "published data, not reproduced",
        Evidence::Unverified => "reported, unverified",
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
    /// Bytes: the high end of the chip table's working-set estimate (the reference's "MB" are
    /// MiB; on M4 the measured cliff is at that high end, 32 MiB).
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
    /// None when the chip table has no estimate for this chip.
    pub sram: Option<SramBudget>,
}

/// Every `--target` id (the Mac chips of the chip table), oldest first.
pub const TARGET_IDS: &[&str] = &[
    "m1", "m1pro", "m1max", "m1ultra", "m2", "m2pro", "m2max", "m2ultra", "m3", "m3pro", "m3max",
    "m3ultra", "m4", "m4pro", "m4max", "m5", "m5pro", "m5max",
];

const MIB: f64 = 1024.0 * 1024.0;

/// The chip with CLI id `id` (`m4pro`; `M4 Pro`, `m4-pro` and other chip-table spellings work).
pub fn target(id: &str) -> Option<Target> {
    let chip = chips::by_name(id)?;
    let id = *TARGET_IDS
        .iter()
        .find(|t| chips::by_name(t).is_some_and(|c| std::ptr::eq(c, chip)))?;
    from_chip(id, chip)
}

fn from_chip(id: &'static str, chip: &'static Chip) -> Option<Target> {
    let mil = chip.mil.as_ref()?;
    let opset = OpsetTag::parse(mil.dialect.opset)?.effective();
    let sram = chip
        .sram
        .iter()
        .find(|s| s.kind == SramKind::WorkingSetBudget)
        .map(|s| SramBudget {
            bytes: (s.high_mib * MIB) as u64,
            evidence: s.evidence,
            source: s.source,
        });
    Some(Target {
        id,
        name: chip.name,
        generation: chip.generation?.name(),
        dialect: TargetDialect {
            program_version: mil.dialect.program_version,
            opset,
            fp32_io: mil.dialect.fp32_io,
            evidence: mil.evidence,
            source: mil.source,
        },
        sram,
    })
}
