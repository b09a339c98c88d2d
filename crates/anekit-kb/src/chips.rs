//! The chip table: ANE generation, cores, rated TOPS, measured fp16 peaks, SRAM estimates and
//! the MIL dialect each chip accepts.
//!
//! Transcribed from `../shared/reference/benchmarks.md` §1 (chip table), §1.1 (SRAM), §2 (peak
//! fp16 by method) and `private-api.md` §9 (MIL dialect per chip). Rows that the reference
//! merges ("M3 Pro / M3 Max") are split into one entry per marketing name with the same data.
//! Apple's core counts and TOPS are marketing figures; nothing here was measured by anekit.

use crate::evidence::{Evidence, Tagged};
use serde::Serialize;
use std::fmt;

/// ANE hardware generation (codename family). `H13` = A14/M1, `H14` = A15/M2, `H15` = A16/M3,
/// `H16` = A17 Pro/M4, `H17` = A18/M5, `H18` = A19.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Generation {
    H11,
    H12,
    H13,
    H14,
    H15,
    H16,
    H17,
    H18,
}

impl Generation {
    pub const ALL: [Generation; 8] = [
        Generation::H11,
        Generation::H12,
        Generation::H13,
        Generation::H14,
        Generation::H15,
        Generation::H16,
        Generation::H17,
        Generation::H18,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Generation::H11 => "H11",
            Generation::H12 => "H12",
            Generation::H13 => "H13",
            Generation::H14 => "H14",
            Generation::H15 => "H15",
            Generation::H16 => "H16",
            Generation::H17 => "H17",
            Generation::H18 => "H18",
        }
    }

    /// The `.hwx` Mach-O cpusubtype of this generation (`hwx-td.md` §6; 4 = H13 is verified on
    /// the staged files, the others are freedomtan's mapping).
    pub fn hwx_cpusubtype(self) -> u32 {
        match self {
            Generation::H11 => 1,
            Generation::H12 => 3,
            Generation::H13 => 4,
            Generation::H14 => 5,
            Generation::H15 => 6,
            Generation::H16 => 7,
            Generation::H17 => 9,
            Generation::H18 => 10,
        }
    }

    /// The MIL dialect programs for this generation should use (see [`MilDialect`]).
    pub fn mil_dialect(self) -> &'static MilDialect {
        match self {
            Generation::H11 | Generation::H12 | Generation::H13 | Generation::H14 => {
                &PROGRAM_1_0_IOS16
            }
            Generation::H15 => &PROGRAM_1_3_IOS18_FP16_IO,
            Generation::H16 | Generation::H17 | Generation::H18 => &PROGRAM_1_3_IOS18,
        }
    }
}

impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The MIL text form a chip's compiler accepts on the in-memory path (`private-api.md` §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MilDialect {
    /// `program(X)` version: `"1.0"` or `"1.3"`.
    pub program_version: &'static str,
    /// Function opset: `func main<ios16>` or `func main<ios18>`.
    pub opset: &'static str,
    /// fp32 inputs/outputs with an in-graph `cast` to/from fp16 are accepted. When false, I/O
    /// must be fp16 and no `cast` may appear ("cast op unsupported" on M1/M2).
    pub fp32_io: bool,
    /// Outputs must be produced by an `identity` op (the M1/M2 form of PR #6 / dev-erik).
    pub identity_outputs: bool,
    /// Scalars written verbose (`tensor<fp16, []>(...)`) as the 1.0 form does.
    pub verbose_scalars: bool,
}

/// `program(1.0)` + `func main<ios16>`, fp16 I/O only, outputs via `identity` (M1/M2). [source]
pub const PROGRAM_1_0_IOS16: MilDialect = MilDialect {
    program_version: "1.0",
    opset: "ios16",
    fp32_io: false,
    identity_outputs: true,
    verbose_scalars: true,
};

/// `program(1.3)` + `func main<ios18>`, compact scalars, fp32 I/O with casts allowed (M4/M5).
/// [source]
pub const PROGRAM_1_3_IOS18: MilDialect = MilDialect {
    program_version: "1.3",
    opset: "ios18",
    fp32_io: true,
    identity_outputs: false,
    verbose_scalars: false,
};

/// `program(1.3)` + `func main<ios18>` with fp16 I/O: the M3 (H15) choice. fp32 I/O on M3 is
/// not reported anywhere, so it is not allowed. [unverified]
pub const PROGRAM_1_3_IOS18_FP16_IO: MilDialect = MilDialect {
    program_version: "1.3",
    opset: "ios18",
    fp32_io: false,
    identity_outputs: false,
    verbose_scalars: false,
};

/// A chip's MIL dialect with the evidence for it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DialectFact {
    pub dialect: &'static MilDialect,
    pub evidence: Evidence,
    pub source: &'static str,
    pub note: &'static str,
}

/// One published peak-throughput figure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PeakMeasurement {
    /// How it was measured, e.g. `inmem_peak sp64` (the benchmark and its spatial size).
    pub method: &'static str,
    /// The graph: depth × channels and spatial size.
    pub config: &'static str,
    /// Measured fp16 TFLOPS.
    pub fp16_tflops: f64,
    /// INT8 W8A8 TOPS measured on the same graph, where published.
    pub int8_tops: Option<f64>,
    /// Machine and OS as reported.
    pub machine: &'static str,
    pub evidence: Evidence,
    pub source: &'static str,
}

/// What an SRAM figure describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SramKind {
    /// Weight/working-set size above which throughput falls off (what programs should fit in).
    WorkingSetBudget,
    /// A physical on-chip memory region (L2) from an MMIO map or a compiler flag.
    OnChipMemory,
}

/// One SRAM estimate. `MB` in the reference is MiB: the sweeps' "12.5 MB" is 2560² × 2 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SramEstimate {
    pub kind: SramKind,
    pub low_mib: f64,
    pub high_mib: f64,
    pub basis: &'static str,
    pub evidence: Evidence,
    pub source: &'static str,
}

/// One row of the chip table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Chip {
    /// Marketing name, e.g. `M4 Pro`.
    pub name: &'static str,
    /// Other names of the same row (`A12X`), accepted by [`by_name`].
    pub aliases: &'static [&'static str],
    /// SoC id (`t8103`), when the table gives one.
    pub soc: Option<&'static str>,
    pub generation: Option<Generation>,
    /// Base / Pro-Max-Ultra variant codename (`H13G`, `H13J`).
    pub variant: Option<&'static str>,
    /// What `_ANEDeviceInfo aneSubType` reports, where known. [source]
    pub ane_subtype: Option<&'static str>,
    /// `.hwx` Mach-O cpusubtype (4 = H13 verified on staged files).
    pub hwx_cpusubtype: Option<Tagged<u32>>,
    /// Compiler "ISA" version (freedomtan).
    pub compiler_isa: Option<Tagged<u32>>,
    /// ANE cores (Apple marketing figure).
    pub cores: Tagged<u32>,
    /// Rated TOPS (Apple marketing; INT8 from M4 on).
    pub rated_tops: Option<Tagged<f64>>,
    /// Remarks on the rated figure (conflicts, method).
    pub rated_tops_note: &'static str,
    /// ADT `ane type` (Asahi device tree).
    pub adt_ane_type: Option<u32>,
    /// Linux support status (2026).
    pub linux: &'static str,
    /// Published fp16 peaks, best method first.
    pub peaks: &'static [PeakMeasurement],
    pub sram: &'static [SramEstimate],
    /// The MIL dialect programs for this chip should use; `None` where the chip has no ANE
    /// generation in the table.
    pub mil: Option<DialectFact>,
    pub notes: &'static str,
}

impl Chip {
    /// The working-set budget in bytes (low end of the first budget estimate), e.g. for the
    /// SRAM-probe channel sweep. `None` when the reference gives no estimate for this chip.
    pub fn sram_budget_bytes(&self) -> Option<u64> {
        self.sram
            .iter()
            .find(|s| s.kind == SramKind::WorkingSetBudget)
            .map(|s| (s.low_mib * 1024.0 * 1024.0) as u64)
    }

    /// The best published fp16 peak (largest TFLOPS of any method), if any.
    pub fn best_fp16_peak(&self) -> Option<&'static PeakMeasurement> {
        self.peaks
            .iter()
            .max_by(|a, b| a.fp16_tflops.total_cmp(&b.fp16_tflops))
    }
}

/// Every chip of the table, in the table's order.
pub fn all() -> &'static [Chip] {
    CHIPS
}

/// Normalise a chip spelling: lowercase, no spaces, dashes, underscores or slashes, no
/// leading "apple".
fn normalise(name: &str) -> String {
    let s: String = name
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_' | '/' | '\t'))
        .flat_map(char::to_lowercase)
        .collect();
    match s.strip_prefix("apple") {
        Some(rest) if !rest.is_empty() => rest.to_string(),
        _ => s,
    }
}

/// Look a chip up by any CLI spelling: `m4`, `M4 Pro`, `m4pro`, `m4-pro`, `m1_ultra`,
/// `apple-m2`, `a12x`, or its SoC id (`t8103`). Case-insensitive.
pub fn by_name(name: &str) -> Option<&'static Chip> {
    let want = normalise(name);
    if want.is_empty() {
        return None;
    }
    CHIPS.iter().find(|c| {
        normalise(c.name) == want
            || c.aliases.iter().any(|a| normalise(a) == want)
            || c.soc.is_some_and(|s| normalise(s) == want)
    })
}

/// Every chip of one generation.
pub fn by_generation(generation: Generation) -> impl Iterator<Item = &'static Chip> {
    CHIPS
        .iter()
        .filter(move |c| c.generation == Some(generation))
}

// --- sources -------------------------------------------------------------------------------

const HOLLANCE: &str = "hollance/neural-engine docs/supported-devices.md @ d0bb530 (Apple marketing figure), via benchmarks.md §1";
const FREEDOMTAN: &str =
    "freedomtan/coreml_to_ane_hwx GUIDE_ANE_HWX_FORMAT.md @ ce54664, via benchmarks.md §1";
const STAGED_HWX: &str = "cpusubtype of the staged H13 .hwx files (hwx-td.md §1.1)";
const MADERIX_COMMUNITY: &str =
    "maderix/ANE community_results.json (../shared/corpus/maderix-ane/), via benchmarks.md §2";
const DIALECT_M1_M2: &str = "maderix/ANE PR #6 and dev-erik/ANE, via private-api.md §9";
const DIALECT_M4_M5: &str = "maderix/ANE generators, via private-api.md §9";
const DIALECT_M3: &str =
    "issue #7 rule (program 1.3 for M3+); private-api.md §9 notes dev-erik emits 1.0/ios16 for M3";
const DIALECT_BY_GENERATION: &str = "inferred from the generation (no report for this chip)";

const fn t_u32(value: u32, evidence: Evidence, source: &'static str) -> Tagged<u32> {
    Tagged {
        value,
        evidence,
        source,
    }
}

const fn t_f64(value: f64, evidence: Evidence, source: &'static str) -> Tagged<f64> {
    Tagged {
        value,
        evidence,
        source,
    }
}

const fn cores(n: u32) -> Tagged<u32> {
    t_u32(n, Evidence::Unverified, HOLLANCE)
}

const fn tops(v: f64) -> Option<Tagged<f64>> {
    Some(t_f64(v, Evidence::Unverified, HOLLANCE))
}

const fn subtype(v: u32, gen_is_h13: bool) -> Option<Tagged<u32>> {
    if gen_is_h13 {
        Some(t_u32(v, Evidence::Verified, STAGED_HWX))
    } else {
        Some(t_u32(v, Evidence::Unverified, FREEDOMTAN))
    }
}

const fn isa(v: u32) -> Option<Tagged<u32>> {
    Some(t_u32(v, Evidence::Unverified, FREEDOMTAN))
}

const M1_M2: Option<DialectFact> = Some(DialectFact {
    dialect: &PROGRAM_1_0_IOS16,
    evidence: Evidence::Source,
    source: DIALECT_M1_M2,
    note: "fp16 I/O only (\"cast op unsupported\"); output via identity; mixing a 1.0 header with an ios18 function fails with InvalidMILProgram",
});

const M3: Option<DialectFact> = Some(DialectFact {
    dialect: &PROGRAM_1_3_IOS18_FP16_IO,
    evidence: Evidence::Unverified,
    source: DIALECT_M3,
    note: "dev-erik uses program(1.0)/ios16 for M1/M2/M3 compatibility; single-conv benches on M3 Pro/Ultra compiled only at 512 channels (issue #42); fp32 I/O on M3 unreported, so fp16 I/O",
});

const M4_M5: Option<DialectFact> = Some(DialectFact {
    dialect: &PROGRAM_1_3_IOS18,
    evidence: Evidence::Source,
    source: DIALECT_M4_M5,
    note: "fp32 I/O with in-graph cast works; direct fp16 I/O is faster (README: ~37 %)",
});

const fn by_gen(generation: Generation) -> Option<DialectFact> {
    Some(DialectFact {
        dialect: match generation {
            Generation::H11 | Generation::H12 | Generation::H13 | Generation::H14 => {
                &PROGRAM_1_0_IOS16
            }
            Generation::H15 => &PROGRAM_1_3_IOS18_FP16_IO,
            Generation::H16 | Generation::H17 | Generation::H18 => &PROGRAM_1_3_IOS18,
        },
        evidence: Evidence::Unverified,
        source: DIALECT_BY_GENERATION,
        note: "same rule as the Mac chips of this generation (guess)",
    })
}

// --- SRAM (benchmarks.md §1.1) ---------------------------------------------------------------

const SRAM_A12_A13: &[SramEstimate] = &[SramEstimate {
    kind: SramKind::WorkingSetBudget,
    low_mib: 4.0,
    high_mib: 4.0,
    basis: "dev-erik ANE_INTERNALS.md chip table (≈ 4 MB)",
    evidence: Evidence::Unverified,
    source: "dev-erik/ANE docs/ANE_INTERNALS.md, via benchmarks.md §1.1",
}];

const SRAM_A14_BUDGET: SramEstimate = SramEstimate {
    kind: SramKind::WorkingSetBudget,
    low_mib: 16.0,
    high_mib: 16.0,
    basis: "dev-erik ANE_INTERNALS.md chip table (≈ 16 MB)",
    evidence: Evidence::Unverified,
    source: "dev-erik/ANE docs/ANE_INTERNALS.md, via benchmarks.md §1.1",
};

const SRAM_A14: &[SramEstimate] = &[SRAM_A14_BUDGET];

const SRAM_M1: &[SramEstimate] = &[
    SRAM_A14_BUDGET,
    SramEstimate {
        kind: SramKind::OnChipMemory,
        low_mib: 2.0,
        high_mib: 2.0625,
        basis: "tile L2 2 MiB (0x26BD00000–0x26BF00000) + kernel L2 64 KiB in the M1 MMIO map",
        evidence: Evidence::Source,
        source: "eiln/m1n1 ane-2022 MMIO map, via benchmarks.md §1.1",
    },
    SramEstimate {
        kind: SramKind::OnChipMemory,
        low_mib: 4.0,
        high_mib: 4.0,
        basis: "tinygrad: 4 MB L2 \"manually managed\"; compiler flag --memcache-size=4194304 (size semantics unverified)",
        evidence: Evidence::Source,
        source: "tinygrad extra/accel/ane README; LC_IDENT of the staged H13 .hwx",
    },
];

const SRAM_M2: &[SramEstimate] = &[SramEstimate {
    kind: SramKind::WorkingSetBudget,
    low_mib: 24.0,
    high_mib: 24.0,
    basis: "dev-erik ANE_INTERNALS.md chip table (≈ 24 MB)",
    evidence: Evidence::Unverified,
    source: "dev-erik/ANE docs/ANE_INTERNALS.md, via benchmarks.md §1.1",
}];

const SRAM_M4: &[SramEstimate] = &[
    SramEstimate {
        kind: SramKind::WorkingSetBudget,
        low_mib: 24.0,
        high_mib: 32.0,
        basis: "SRAM cliff on M4 Max: peak efficiency at 12.5 MB weights (282.6 GFLOPS/MB), first spill at 32 MB (59.2 GFLOPS/MB), catastrophic at 128 MB (8.0 GFLOPS/MB)",
        evidence: Evidence::Data,
        source: "dev-erik/ANE apple_m4_max_*.json (../shared/corpus/maderix-ane/), via benchmarks.md §1.1/§4",
    },
    SramEstimate {
        kind: SramKind::WorkingSetBudget,
        low_mib: 32.0,
        high_mib: 32.0,
        basis: "blog: 2048² matmul working set (24 MB) 5.7 TFLOPS vs 4096² (96 MB) 4.0 TFLOPS → ≈ 32 MB",
        evidence: Evidence::Unverified,
        source: "maderix Substack Part 1, via benchmarks.md §1.1",
    },
];

// --- peaks (benchmarks.md §2) ----------------------------------------------------------------

const CFG_128X512_SP64: &str = "128× conv 512ch, spatial 64";

const PEAKS_M1: &[PeakMeasurement] = &[PeakMeasurement {
    method: "inmem_peak sp64",
    config: CFG_128X512_SP64,
    fp16_tflops: 5.40,
    int8_tops: None,
    machine: "MacBook Air M1, 8 GB, macOS 15.3.1, fp16 I/O",
    evidence: Evidence::Data,
    source: "dev-erik/ANE PR #2 apple_m1_20260310.json",
}];

const PEAKS_M3_PRO: &[PeakMeasurement] = &[
    PeakMeasurement {
        method: "inmem_peak sp2048",
        config: "128× conv 512ch, spatial 2048",
        fp16_tflops: 16.77,
        int8_tops: None,
        machine: "M3 Pro, 36 GB, macOS 15.7.4",
        evidence: Evidence::Data,
        source: "maderix/ANE issue #3, benchmarks/ANE_BENCHMARK_REPORT.md, community_results.json",
    },
    PeakMeasurement {
        method: "sustained 5 s",
        config: "128× conv 512ch, spatial 2048",
        fp16_tflops: 15.04,
        int8_tops: None,
        machine: "M3 Pro, 36 GB, macOS 15.7.4 (95.2 % of 15.8)",
        evidence: Evidence::Data,
        source: "maderix/ANE community_results.json",
    },
    PeakMeasurement {
        method: "inmem_peak sp64",
        config: CFG_128X512_SP64,
        fp16_tflops: 9.98,
        int8_tops: None,
        machine: "M3 Pro, 36 GB, macOS 15.7.4",
        evidence: Evidence::Unverified,
        source: "maderix/ANE issue #3",
    },
];

const PEAKS_M3_ULTRA: &[PeakMeasurement] = &[
    PeakMeasurement {
        method: "inmem_peak sp64",
        config: CFG_128X512_SP64,
        fp16_tflops: 8.08,
        int8_tops: None,
        machine: "Mac Studio M3 Ultra (2×16 NE), 256 GB, macOS 26.3",
        evidence: Evidence::Data,
        source: "maderix/ANE PR #28 metrics file",
    },
    PeakMeasurement {
        method: "inmem_peak sp64",
        config: "96× conv 512ch, spatial 64",
        fp16_tflops: 8.47,
        int8_tops: None,
        machine: "M3 Ultra, 512 GB, macOS 15.7.4",
        evidence: Evidence::Unverified,
        source: "maderix/ANE issue #42",
    },
];

const PEAKS_M4: &[PeakMeasurement] = &[
    PeakMeasurement {
        method: "conv bench (README)",
        config: "128× conv 512ch, 4-D input 64×64",
        fp16_tflops: 18.6,
        int8_tops: Some(35.1),
        machine: "Mac mini M4 (\"H16G\")",
        evidence: Evidence::Unverified,
        source: "maderix/ANE README",
    },
    PeakMeasurement {
        method: "inmem_peak sp64",
        config: CFG_128X512_SP64,
        fp16_tflops: 11.74,
        int8_tops: None,
        machine: "Mac mini M4",
        evidence: Evidence::Unverified,
        source: "maderix/ANE issue #3",
    },
    PeakMeasurement {
        method: "blog \"true peak\"",
        config: "matmul",
        fp16_tflops: 19.0,
        int8_tops: None,
        machine: "Mac mini M4, macOS 15",
        evidence: Evidence::Unverified,
        source: "maderix Substack Part 1",
    },
    PeakMeasurement {
        method: "inmem_peak sp64",
        config: CFG_128X512_SP64,
        fp16_tflops: 7.50,
        int8_tops: None,
        machine: "M4, 32 GB (outlier)",
        evidence: Evidence::Unverified,
        source: "dev-erik/ANE PROBE_RESULTS.md",
    },
];

const PEAKS_M4_PRO: &[PeakMeasurement] = &[
    PeakMeasurement {
        method: "inmem_peak sp64",
        config: CFG_128X512_SP64,
        fp16_tflops: 12.57,
        int8_tops: None,
        machine: "M4 Pro",
        evidence: Evidence::Data,
        source: MADERIX_COMMUNITY,
    },
    PeakMeasurement {
        method: "inmem_peak sp64",
        config: CFG_128X512_SP64,
        fp16_tflops: 12.31,
        int8_tops: None,
        machine: "Mac16,8, 48 GB, macOS 26.4 beta",
        evidence: Evidence::Data,
        source: "dev-erik/ANE PR #1 apple_m4_pro_20260309.json",
    },
];

const M4_MAX_RUNS: &str =
    "dev-erik/ANE apple_m4_max_20260303.json, …20260304.json, …20260304_2.json, …20260304_3.json";

const PEAKS_M4_MAX: &[PeakMeasurement] = &[
    PeakMeasurement {
        method: "inmem_peak sp64",
        config: CFG_128X512_SP64,
        fp16_tflops: 11.57,
        int8_tops: None,
        machine: "Mac16,5, 128 GB, macOS 26.2 (dev-erik run 2)",
        evidence: Evidence::Data,
        source: M4_MAX_RUNS,
    },
    PeakMeasurement {
        method: "inmem_peak sp64",
        config: CFG_128X512_SP64,
        fp16_tflops: 11.41,
        int8_tops: None,
        machine: "Mac16,5, 128 GB, macOS 26.2 (dev-erik run 4)",
        evidence: Evidence::Data,
        source: M4_MAX_RUNS,
    },
    PeakMeasurement {
        method: "inmem_peak sp64",
        config: CFG_128X512_SP64,
        fp16_tflops: 11.31,
        int8_tops: None,
        machine: "Mac16,5, 128 GB, macOS 26.2 (dev-erik run 3)",
        evidence: Evidence::Data,
        source: M4_MAX_RUNS,
    },
    PeakMeasurement {
        method: "inmem_peak sp64",
        config: CFG_128X512_SP64,
        fp16_tflops: 11.14,
        int8_tops: None,
        machine: "Mac16,5, 128 GB, macOS 26.2 (dev-erik run 1; the doc's quoted peak)",
        evidence: Evidence::Data,
        source: M4_MAX_RUNS,
    },
    PeakMeasurement {
        method: "inmem_peak sp64",
        config: CFG_128X512_SP64,
        fp16_tflops: 10.93,
        int8_tops: None,
        machine: "M4 Max (issue #3)",
        evidence: Evidence::Data,
        source: MADERIX_COMMUNITY,
    },
];

const PEAKS_M5: &[PeakMeasurement] = &[
    PeakMeasurement {
        method: "inmem_peak sp64",
        config: CFG_128X512_SP64,
        fp16_tflops: 12.44,
        int8_tops: None,
        machine: "M5, 16 GB, macOS 26.3",
        evidence: Evidence::Data,
        source: MADERIX_COMMUNITY,
    },
    PeakMeasurement {
        method: "inmem_peak sp64",
        config: CFG_128X512_SP64,
        fp16_tflops: 12.17,
        int8_tops: None,
        machine: "M5, 32 GB, macOS 26.4",
        evidence: Evidence::Data,
        source: MADERIX_COMMUNITY,
    },
];

const PEAKS_M5_MAX: &[PeakMeasurement] = &[PeakMeasurement {
    method: "conv bench (PR)",
    config: "conv stack",
    fp16_tflops: 19.27,
    int8_tops: Some(35.61),
    machine: "M5 Max (H17)",
    evidence: Evidence::Unverified,
    source: "maderix/ANE PR #50 (open)",
}];

// --- the table -------------------------------------------------------------------------------

const NONE_LINUX: &str = "none";

const fn a_series(
    name: &'static str,
    aliases: &'static [&'static str],
    generation: Generation,
    cpusubtype: u32,
    compiler_isa: Option<Tagged<u32>>,
    rated: Option<Tagged<f64>>,
    sram: &'static [SramEstimate],
) -> Chip {
    Chip {
        name,
        aliases,
        soc: None,
        generation: Some(generation),
        variant: None,
        ane_subtype: None,
        hwx_cpusubtype: subtype(cpusubtype, matches!(generation, Generation::H13)),
        compiler_isa,
        cores: cores(if matches!(generation, Generation::H11 | Generation::H12) {
            8
        } else {
            16
        }),
        rated_tops: rated,
        rated_tops_note: "",
        adt_ane_type: None,
        linux: NONE_LINUX,
        peaks: &[],
        sram,
        mil: by_gen(generation),
        notes: "",
    }
}

/// Every row of `benchmarks.md` §1, merged rows split.
pub static CHIPS: &[Chip] = &[
    Chip {
        name: "A11",
        aliases: &[],
        soc: None,
        generation: None,
        variant: None,
        ane_subtype: None,
        hwx_cpusubtype: None,
        compiler_isa: None,
        cores: cores(2),
        rated_tops: tops(0.6),
        rated_tops_note: "",
        adt_ane_type: None,
        linux: NONE_LINUX,
        peaks: &[],
        sram: &[],
        mil: None,
        notes: "not usable from Core ML",
    },
    a_series(
        "A12",
        &["A12X", "A12Z"],
        Generation::H11,
        1,
        isa(5),
        tops(5.0),
        SRAM_A12_A13,
    ),
    Chip {
        rated_tops_note: "\"20 % faster than A12\" (no figure)",
        ..a_series("A13", &[], Generation::H12, 3, isa(6), None, SRAM_A12_A13)
    },
    a_series("A14", &[], Generation::H13, 4, isa(7), tops(11.0), SRAM_A14),
    Chip {
        name: "M1",
        aliases: &[],
        soc: Some("t8103"),
        generation: Some(Generation::H13),
        variant: Some("H13G"),
        ane_subtype: None,
        hwx_cpusubtype: subtype(4, true),
        compiler_isa: isa(7),
        cores: cores(16),
        rated_tops: tops(11.0),
        rated_tops_note: "the notes' \"up to 15.8 TOPS (M1)\" is wrong: 15.8 is A15/M2",
        adt_ane_type: Some(64),
        linux: "eiln ane.ko (needs DT node patch); omarchy tested",
        peaks: PEAKS_M1,
        sram: SRAM_M1,
        mil: M1_M2,
        notes: "eiln: one M1 ANE has 8 NE cores × 256 MAC (2048 MAC/cycle); _ANEDeviceInfo numANECores 16 [unverified]",
    },
    Chip {
        name: "M1 Pro",
        aliases: &[],
        soc: Some("t6000"),
        generation: Some(Generation::H13),
        variant: Some("H13J"),
        ane_subtype: None,
        hwx_cpusubtype: subtype(4, true),
        compiler_isa: isa(7),
        cores: cores(16),
        rated_tops: tops(11.0),
        rated_tops_note: "",
        adt_ane_type: Some(96),
        linux: "eiln compatible string (untested by eiln); omarchy tested",
        peaks: &[],
        sram: &[],
        mil: M1_M2,
        notes: "inmem_peak FAILed before the PR #6 dialect fix (issue #3) [data]",
    },
    Chip {
        name: "M1 Max",
        aliases: &[],
        soc: Some("t6001"),
        generation: Some(Generation::H13),
        variant: Some("H13J"),
        ane_subtype: None,
        hwx_cpusubtype: subtype(4, true),
        compiler_isa: isa(7),
        cores: cores(16),
        rated_tops: tops(11.0),
        rated_tops_note: "",
        adt_ane_type: Some(96),
        linux: "omarchy tested (ane0 only)",
        peaks: &[],
        sram: &[],
        mil: M1_M2,
        notes: "inmem_peak FAILed before the PR #6 dialect fix (issue #3) [data]; second ANE power path disabled on shipping hardware (AsahiLinux PR 584)",
    },
    Chip {
        name: "M1 Ultra",
        aliases: &[],
        soc: Some("t6002"),
        generation: Some(Generation::H13),
        variant: Some("H13J"),
        ane_subtype: None,
        hwx_cpusubtype: subtype(4, true),
        compiler_isa: isa(7),
        cores: cores(32),
        rated_tops: tops(22.0),
        rated_tops_note: "",
        adt_ane_type: Some(96),
        linux: "omarchy opt-in, untested",
        peaks: &[],
        sram: &[],
        mil: M1_M2,
        notes: "",
    },
    a_series("A15", &[], Generation::H14, 5, isa(11), tops(15.8), SRAM_M2),
    Chip {
        name: "M2",
        aliases: &[],
        soc: Some("t8112"),
        generation: Some(Generation::H14),
        variant: Some("H14G"),
        ane_subtype: None,
        hwx_cpusubtype: subtype(5, false),
        compiler_isa: isa(11),
        cores: cores(16),
        rated_tops: tops(15.8),
        rated_tops_note: "",
        adt_ane_type: Some(128),
        linux: "omarchy ane_t6021 (ABI v2) opt-in, untested",
        peaks: &[],
        sram: SRAM_M2,
        mil: M1_M2,
        notes: "an M2 benchmark was submitted in maderix/ANE PR #51, not reviewed",
    },
    Chip {
        name: "M2 Pro",
        aliases: &[],
        soc: Some("t6020"),
        generation: Some(Generation::H14),
        variant: Some("H14J"),
        ane_subtype: None,
        hwx_cpusubtype: subtype(5, false),
        compiler_isa: isa(11),
        cores: cores(16),
        rated_tops: tops(15.8),
        rated_tops_note: "",
        adt_ane_type: Some(160),
        linux: "omarchy ane_t6021 tested",
        peaks: &[],
        sram: &[],
        mil: M1_M2,
        notes: "",
    },
    Chip {
        name: "M2 Max",
        aliases: &[],
        soc: Some("t6021"),
        generation: Some(Generation::H14),
        variant: Some("H14J"),
        ane_subtype: None,
        hwx_cpusubtype: subtype(5, false),
        compiler_isa: isa(11),
        cores: cores(16),
        rated_tops: tops(15.8),
        rated_tops_note: "",
        adt_ane_type: Some(160),
        linux: "omarchy tested; AsahiLinux PR #584 DT runtime-tested",
        peaks: &[],
        sram: &[],
        mil: M1_M2,
        notes: "",
    },
    Chip {
        name: "M2 Ultra",
        aliases: &[],
        soc: Some("t6022"),
        generation: Some(Generation::H14),
        variant: Some("H14J"),
        ane_subtype: None,
        hwx_cpusubtype: subtype(5, false),
        compiler_isa: isa(11),
        cores: cores(32),
        rated_tops: tops(31.6),
        rated_tops_note: "",
        adt_ane_type: None,
        linux: "omarchy opt-in, untested",
        peaks: &[],
        sram: &[],
        mil: M1_M2,
        notes: "",
    },
    Chip {
        notes: "compiler ISA 8 (freedomtan value) looks odd next to 11 and 17",
        ..a_series("A16", &[], Generation::H15, 6, isa(8), tops(17.0), &[])
    },
    Chip {
        name: "M3",
        aliases: &[],
        soc: Some("t8122"),
        generation: Some(Generation::H15),
        variant: Some("H15G"),
        ane_subtype: None,
        hwx_cpusubtype: subtype(6, false),
        compiler_isa: None,
        cores: cores(16),
        rated_tops: tops(15.8),
        rated_tops_note: "15.8 per hollance, probably wrong; Apple's launch figure was 18",
        adt_ane_type: Some(176),
        linux: NONE_LINUX,
        peaks: &[],
        sram: &[],
        mil: M3,
        notes: "ADT compatible iop;ascwrap-v6 (ASC IOP)",
    },
    Chip {
        name: "M3 Pro",
        aliases: &[],
        soc: Some("t6030"),
        generation: Some(Generation::H15),
        variant: Some("H15J"),
        ane_subtype: None,
        hwx_cpusubtype: subtype(6, false),
        compiler_isa: None,
        cores: cores(16),
        rated_tops: tops(15.8),
        rated_tops_note: "probably wrong (hollance)",
        adt_ane_type: None,
        linux: NONE_LINUX,
        peaks: PEAKS_M3_PRO,
        sram: &[],
        mil: M3,
        notes: "MLNeuralEngineComputeDevice totalCoreCount returns 16 [unverified]; only 512-channel single-conv benches compile (issue #42)",
    },
    Chip {
        name: "M3 Max",
        aliases: &[],
        soc: Some("t6031"),
        generation: Some(Generation::H15),
        variant: Some("H15J"),
        ane_subtype: None,
        hwx_cpusubtype: subtype(6, false),
        compiler_isa: None,
        cores: cores(16),
        rated_tops: tops(15.8),
        rated_tops_note: "probably wrong (hollance)",
        adt_ane_type: None,
        linux: NONE_LINUX,
        peaks: &[],
        sram: &[],
        mil: M3,
        notes: "",
    },
    Chip {
        name: "M3 Ultra",
        aliases: &[],
        soc: Some("t6034"),
        generation: Some(Generation::H15),
        variant: Some("H15J"),
        ane_subtype: None,
        hwx_cpusubtype: subtype(6, false),
        compiler_isa: None,
        cores: cores(32),
        rated_tops: tops(36.0),
        rated_tops_note: "36 per hollance; 31.6 per the maderix community file",
        adt_ane_type: None,
        linux: NONE_LINUX,
        peaks: PEAKS_M3_ULTRA,
        sram: &[],
        mil: M3,
        notes: "the macOS 26.3 submission has working 256/384-channel rows, unlike issue #42 on macOS 15.7.4 [data]",
    },
    a_series(
        "A17 Pro",
        &["A17"],
        Generation::H16,
        7,
        isa(17),
        tops(35.0),
        &[],
    ),
    Chip {
        name: "M4",
        aliases: &[],
        soc: Some("t8132"),
        generation: Some(Generation::H16),
        variant: None,
        ane_subtype: Some("h16 / H16G"),
        hwx_cpusubtype: subtype(7, false),
        compiler_isa: isa(17),
        cores: cores(16),
        rated_tops: tops(38.0),
        rated_tops_note: "INT8 (\"38 TOPS\" ≈ 19 TFLOPS fp16 × 2); compare measured fp16 instead",
        adt_ane_type: None,
        linux: "omarchy experimental module",
        peaks: PEAKS_M4,
        sram: SRAM_M4,
        mil: M4_M5,
        notes: "blog: M4 ANE = H16G, 16 cores, queue depth 127, independent DVFS, hard power gating to 0 mW at idle [unverified]",
    },
    Chip {
        name: "M4 Pro",
        aliases: &[],
        soc: Some("t6040"),
        generation: Some(Generation::H16),
        variant: None,
        ane_subtype: None,
        hwx_cpusubtype: subtype(7, false),
        compiler_isa: isa(17),
        cores: cores(16),
        rated_tops: tops(38.0),
        rated_tops_note: "INT8",
        adt_ane_type: None,
        linux: NONE_LINUX,
        peaks: PEAKS_M4_PRO,
        sram: SRAM_M4,
        mil: M4_M5,
        notes: "",
    },
    Chip {
        name: "M4 Max",
        aliases: &[],
        soc: Some("t6041"),
        generation: Some(Generation::H16),
        variant: None,
        ane_subtype: None,
        hwx_cpusubtype: subtype(7, false),
        compiler_isa: isa(17),
        cores: cores(16),
        rated_tops: tops(38.0),
        rated_tops_note: "INT8",
        adt_ane_type: None,
        linux: NONE_LINUX,
        peaks: PEAKS_M4_MAX,
        sram: SRAM_M4,
        mil: M4_M5,
        notes: "runs span 10.93–11.57 TFLOPS (±20 % run-to-run noise is typical)",
    },
    a_series(
        "A18",
        &["A18 Pro"],
        Generation::H17,
        9,
        isa(19),
        tops(35.0),
        &[],
    ),
    Chip {
        name: "M5",
        aliases: &[],
        soc: None,
        generation: Some(Generation::H17),
        variant: None,
        ane_subtype: Some("h16 / H16G"),
        hwx_cpusubtype: subtype(9, false),
        compiler_isa: isa(19),
        cores: cores(16),
        rated_tops: None,
        rated_tops_note: "none published (community estimate 19 fp16)",
        adt_ane_type: None,
        linux: NONE_LINUX,
        peaks: PEAKS_M5,
        sram: &[],
        mil: M4_M5,
        notes: "M5 family row (omarchy lists t6050, t814x); H17 per freedomtan but base M5 reports h16/H16G and community data says \"H16 ANE family (same as M4)\" — conflict",
    },
    Chip {
        name: "M5 Pro",
        aliases: &[],
        soc: None,
        generation: Some(Generation::H17),
        variant: None,
        ane_subtype: None,
        hwx_cpusubtype: subtype(9, false),
        compiler_isa: isa(19),
        cores: cores(16),
        rated_tops: None,
        rated_tops_note: "none published",
        adt_ane_type: None,
        linux: NONE_LINUX,
        peaks: &[],
        sram: &[],
        mil: M4_M5,
        notes: "M5 family row; no chip-specific data",
    },
    Chip {
        name: "M5 Max",
        aliases: &[],
        soc: None,
        generation: Some(Generation::H17),
        variant: None,
        ane_subtype: Some("h17"),
        hwx_cpusubtype: subtype(9, false),
        compiler_isa: isa(19),
        cores: cores(16),
        rated_tops: None,
        rated_tops_note: "none published",
        adt_ane_type: None,
        linux: NONE_LINUX,
        peaks: PEAKS_M5_MAX,
        sram: &[],
        mil: M4_M5,
        notes: "M5 family row; reports aneSubType h17 (maderix/ANE PR #50)",
    },
    a_series("A19", &["A19 Pro"], Generation::H18, 10, isa(20), None, &[]),
    Chip {
        name: "Watch S4-S8",
        aliases: &["S4", "S5", "S6", "S7", "S8"],
        soc: None,
        generation: None,
        variant: None,
        ane_subtype: None,
        hwx_cpusubtype: None,
        compiler_isa: None,
        cores: cores(2),
        rated_tops: None,
        rated_tops_note: "",
        adt_ane_type: None,
        linux: "—",
        peaks: &[],
        sram: &[],
        mil: None,
        notes: "",
    },
    Chip {
        name: "Watch S9/S10",
        aliases: &["S9", "S10"],
        soc: None,
        generation: None,
        variant: None,
        ane_subtype: None,
        hwx_cpusubtype: None,
        compiler_isa: None,
        cores: cores(4),
        rated_tops: None,
        rated_tops_note: "",
        adt_ane_type: None,
        linux: "—",
        peaks: &[],
        sram: &[],
        mil: None,
        notes: "",
    },
];
