//! What each suite runs: the benchmark graphs (anekit-build's canned bench graphs), their sizes
//! (published or `--quick`), and their lowering to MIL text + weights in a chip's dialect.

use crate::BenchError;
use anekit_build::lower::{LowerOptions, Target, lower};
use anekit_build::models::{self, BenchGraph};
use anekit_runtime::{ProgramSource, WeightSource};
use serde::Serialize;
use std::collections::BTreeMap;

/// A suite of `ane bench`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Suite {
    /// Deep 1×1 conv stacks (`inmem_peak`).
    Peak,
    /// One 1×1 conv per channel count (`sram_probe`).
    Sram,
    /// Evaluate latency of a small conv per evaluate path.
    Dispatch,
}

impl Suite {
    pub const ALL: [Suite; 3] = [Suite::Peak, Suite::Sram, Suite::Dispatch];

    /// `peak`, `sram`, `dispatch`, or `all`.
    pub fn parse_list(s: &str) -> Option<Vec<Suite>> {
        Some(match s {
            "peak" => vec![Suite::Peak],
            "sram" => vec![Suite::Sram],
            "dispatch" => vec![Suite::Dispatch],
            "all" => Suite::ALL.to_vec(),
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Suite::Peak => "peak",
            Suite::Sram => "sram",
            Suite::Dispatch => "dispatch",
        }
    }
}

/// The published `inmem_peak` grid (depth, channels) at spatial 64 (benchmarks.md §2.1).
pub const PEAK_GRID: &[(usize, usize)] = &[
    (32, 512),
    (48, 512),
    (64, 512),
    (96, 512),
    (128, 512),
    (64, 256),
    (128, 256),
    (256, 256),
    (64, 384),
    (128, 384),
];
/// Spatial size of the published peak and SRAM runs.
pub const PUBLISHED_SPATIAL: usize = 64;
/// Dispatch kernels (channels, spatial): dev-erik's `test_bench_paths` range, 64×32 … 768×256.
pub const DISPATCH_SHAPES: &[(usize, usize)] = &[(64, 32), (256, 64), (768, 256)];

/// `--quick`: the same families at sizes the CPU executor of a debug build runs in seconds.
pub const QUICK_PEAK_GRID: &[(usize, usize)] = &[(2, 64), (4, 64), (8, 32)];
pub const QUICK_SRAM_CHANNELS: &[usize] = &[32, 64, 128, 256];
pub const QUICK_SPATIAL: usize = 16;
pub const QUICK_DISPATCH_SHAPES: &[(usize, usize)] = &[(32, 16)];

/// Sizes of one run.
#[derive(Debug, Clone, Serialize)]
pub struct Sizes {
    /// (depth, channels) of each peak graph.
    pub peak: Vec<(usize, usize)>,
    pub peak_spatial: usize,
    pub sram_channels: Vec<usize>,
    pub sram_spatial: usize,
    /// (channels, spatial) of each dispatch kernel.
    pub dispatch: Vec<(usize, usize)>,
}

impl Sizes {
    /// The published sizes: the `inmem_peak` grid, anekit-build's SRAM sweep (256 … 8192) at
    /// spatial 64, and the dispatch kernels.
    pub fn published() -> Sizes {
        Sizes {
            peak: PEAK_GRID.to_vec(),
            peak_spatial: PUBLISHED_SPATIAL,
            sram_channels: models::SRAM_SWEEP_CHANNELS.to_vec(),
            sram_spatial: PUBLISHED_SPATIAL,
            dispatch: DISPATCH_SHAPES.to_vec(),
        }
    }

    pub fn quick() -> Sizes {
        Sizes {
            peak: QUICK_PEAK_GRID.to_vec(),
            peak_spatial: QUICK_SPATIAL,
            sram_channels: QUICK_SRAM_CHANNELS.to_vec(),
            sram_spatial: QUICK_SPATIAL,
            dispatch: QUICK_DISPATCH_SHAPES.to_vec(),
        }
    }
}

/// One graph to time.
#[derive(Debug, Clone)]
pub struct Case {
    pub suite: Suite,
    /// Conv depth (1 for SRAM and dispatch kernels).
    pub depth: usize,
    pub channels: usize,
    pub spatial: usize,
}

impl Case {
    /// The published config string (`128x conv 512ch sp64`, maderix's `inmem_peak` rows).
    pub fn config(&self) -> String {
        format!(
            "{}x conv {}ch sp{}",
            self.depth, self.channels, self.spatial
        )
    }

    /// The graph (anekit-build's canned bench graph of this family).
    pub fn graph(&self) -> Result<BenchGraph, BenchError> {
        Ok(match self.suite {
            Suite::Peak => models::conv_stack(self.channels, self.depth, self.spatial)?,
            Suite::Sram | Suite::Dispatch => models::sram_probe(self.channels, self.spatial)?,
        })
    }

    pub fn flops(&self) -> u64 {
        crate::flops::conv_stack_flops(self.channels as u64, self.depth as u64, self.spatial as u64)
    }

    pub fn weight_mb(&self) -> f64 {
        crate::flops::conv_stack_weight_mb(self.channels as u64, self.depth as u64)
    }
}

/// The cases of `suite` at `sizes`.
pub fn cases(suite: Suite, sizes: &Sizes) -> Vec<Case> {
    match suite {
        Suite::Peak => sizes
            .peak
            .iter()
            .map(|&(depth, channels)| Case {
                suite,
                depth,
                channels,
                spatial: sizes.peak_spatial,
            })
            .collect(),
        Suite::Sram => sizes
            .sram_channels
            .iter()
            .map(|&channels| Case {
                suite,
                depth: 1,
                channels,
                spatial: sizes.sram_spatial,
            })
            .collect(),
        Suite::Dispatch => sizes
            .dispatch
            .iter()
            .map(|&(channels, spatial)| Case {
                suite,
                depth: 1,
                channels,
                spatial,
            })
            .collect(),
    }
}

/// The dialect used when no chip is asked for.
pub const DEFAULT_CHIP: &str = "m4";

/// The target when `--chip` is not given: the machine's own chip (`Apple M1` from
/// `machdep.cpu.brand_string`) when the knowledge base knows its dialect, else [`DEFAULT_CHIP`].
pub fn default_target(machine_chip: Option<&str>) -> Result<Target, BenchError> {
    match machine_chip.and_then(|c| Target::chip(c).ok()) {
        Some(t) => Ok(t),
        None => Ok(Target::chip(DEFAULT_CHIP)?),
    }
}

/// Lower a bench graph to MIL text + inline weights in `target`'s dialect (fp32 I/O with casts
/// where the dialect allows it, as the published runs on M4; fp16 I/O on M1/M2).
pub fn lower_case(graph: &BenchGraph, target: &Target) -> Result<ProgramSource, BenchError> {
    let options = LowerOptions::default();
    let lowered = lower(&graph.graph, target, &options)?;
    let mut files = BTreeMap::new();
    files.insert(options.weight_path.clone(), lowered.weights);
    Ok(ProgramSource::from_text(
        lowered.text,
        WeightSource::Inline(files),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_grid_matches_benchmarks_md_rows() {
        let s = Sizes::published();
        let peak = cases(Suite::Peak, &s);
        assert_eq!(peak.len(), 10);
        assert_eq!(peak[4].config(), "128x conv 512ch sp64");
        assert_eq!(peak[4].flops(), 4_294_967_296);
        assert_eq!(peak[4].weight_mb(), 64.0);
        let sram = cases(Suite::Sram, &s);
        assert_eq!(sram.first().map(|c| c.channels), Some(256));
        assert_eq!(sram.last().map(|c| c.channels), Some(8192));
        assert!(
            sram.iter()
                .any(|c| c.channels == 4096 && c.weight_mb() == 32.0)
        );
    }

    #[test]
    fn default_target_is_the_machines_chip_when_known() {
        let m1 = default_target(Some("Apple M1")).unwrap();
        assert_eq!(m1.chip, "M1");
        assert_eq!(m1.dialect.program_version, "1.0");
        assert!(!m1.dialect.fp32_io);
        let m4max = default_target(Some("Apple M4 Max")).unwrap();
        assert_eq!(m4max.dialect.program_version, "1.3");
        for other in [None, Some("AMD EPYC 7B13 64-Core Processor"), Some("")] {
            assert_eq!(default_target(other).unwrap().chip, "M4", "{other:?}");
        }
    }

    #[test]
    fn lowered_per_dialect() {
        let case = Case {
            suite: Suite::Peak,
            depth: 2,
            channels: 8,
            spatial: 4,
        };
        let g = case.graph().unwrap();
        let m4 = lower_case(&g, &Target::chip("m4").unwrap()).unwrap();
        assert!(m4.mil_text.starts_with("program(1.3)"), "{}", m4.mil_text);
        assert!(m4.mil_text.contains("ios18"));
        assert!(m4.mil_text.contains("tensor<fp32, [1, 8, 1, 4]> x"));
        assert_eq!(m4.mil_text.matches("conv(").count(), 2);
        let m1 = lower_case(&g, &Target::chip("m1").unwrap()).unwrap();
        assert!(m1.mil_text.starts_with("program(1.0)"), "{}", m1.mil_text);
        assert!(m1.mil_text.contains("tensor<fp16, [1, 8, 1, 4]> x"));
        assert!(!m1.mil_text.contains("cast("));
        // Two 8×8 fp16 weight tensors in the blob after its 64-byte header.
        let WeightSource::Inline(files) = &m1.weights else {
            panic!("inline weights expected")
        };
        let blob = files.get("@model_path/weights/weight.bin").unwrap();
        assert!(blob.len() >= 64 + 2 * 8 * 8 * 2, "{}", blob.len());
    }
}
