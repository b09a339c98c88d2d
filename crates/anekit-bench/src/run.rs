//! Timing the suites on a backend through anekit-runtime (`Backend::compile`, `Model::load`,
//! `Model::evaluate_into`).

use crate::BenchError;
use crate::flops;
use crate::report::{
    BackendRecord, Benchmarks, DispatchRow, PeakRow, Provenance, Report, SramRow, Summary,
    TargetRecord,
};
use crate::suite::{Case, Sizes, Suite, cases, lower_case};
use anekit_build::lower::Target;
use anekit_core::{DType, TensorData};
use anekit_runtime::{
    Backend, BackendKind, CompileOptions, EvalPath, IoSpec, Model, NamedTensor, ProgramSource,
};
use half::f16;
use std::time::{Duration, Instant};

/// How long and how often to time each graph.
#[derive(Debug, Clone)]
pub struct Timing {
    /// Untimed evaluations first (caches, lazy allocation).
    pub warmup: u32,
    /// At least this many timed evaluations ...
    pub min_iterations: u32,
    /// ... and more until this much time has passed ...
    pub min_time: Duration,
    /// ... but never more than this many.
    pub max_iterations: u32,
}

impl Timing {
    pub fn published() -> Timing {
        Timing {
            warmup: 3,
            min_iterations: 10,
            min_time: Duration::from_millis(500),
            max_iterations: 1000,
        }
    }

    pub fn quick() -> Timing {
        Timing {
            warmup: 1,
            min_iterations: 3,
            min_time: Duration::ZERO,
            max_iterations: 3,
        }
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub suites: Vec<Suite>,
    pub sizes: Sizes,
    pub timing: Timing,
    pub quick: bool,
    /// The chip whose MIL dialect the graphs are lowered to.
    pub target: Target,
}

impl Plan {
    pub fn new(suites: Vec<Suite>, quick: bool, target: Target) -> Plan {
        Plan {
            suites,
            sizes: if quick {
                Sizes::quick()
            } else {
                Sizes::published()
            },
            timing: if quick {
                Timing::quick()
            } else {
                Timing::published()
            },
            quick,
            target,
        }
    }

    /// Every (suite, case, evaluate path) the plan times, in order.
    pub fn steps(&self, backend: BackendKind) -> Vec<(Case, Option<EvalPath>)> {
        let mut steps = Vec::new();
        for &suite in &self.suites {
            for case in cases(suite, &self.sizes) {
                if suite == Suite::Dispatch {
                    for path in eval_paths(backend) {
                        steps.push((case.clone(), path));
                    }
                } else {
                    steps.push((case, None));
                }
            }
        }
        steps
    }
}

/// The evaluate paths the runtime exposes per backend: the `ane` backend's three
/// (`CompileOptions::ane.eval_path`); one (`None`) for `cpu` and `coreml`.
pub fn eval_paths(backend: BackendKind) -> Vec<Option<EvalPath>> {
    match backend {
        BackendKind::Ane => vec![
            Some(EvalPath::Standard),
            Some(EvalPath::RealTime),
            Some(EvalPath::ProcessRequest),
        ],
        BackendKind::Cpu | BackendKind::Coreml => vec![None],
    }
}

/// The name of a dispatch path in the report.
pub fn path_name(backend: BackendKind, path: Option<EvalPath>) -> String {
    match path {
        Some(EvalPath::Standard) => "standard".into(),
        Some(EvalPath::RealTime) => "real_time".into(),
        Some(EvalPath::ProcessRequest) => "process_request".into(),
        None => backend.to_string(),
    }
}

/// Progress events for a progress bar.
#[derive(Debug, Clone)]
pub enum Progress {
    /// A step starts: its index, the total and a label (`sram 4096ch sp64`).
    Step {
        index: usize,
        total: usize,
        label: String,
    },
}

/// Per-evaluation times of one step.
#[derive(Debug, Clone)]
pub struct Samples {
    pub ms: Vec<f64>,
}

impl Samples {
    pub fn mean(&self) -> f64 {
        if self.ms.is_empty() {
            return 0.0;
        }
        self.ms.iter().sum::<f64>() / self.ms.len() as f64
    }

    /// The `q` quantile (0..=1) by the nearest-rank method.
    pub fn quantile(&self, q: f64) -> f64 {
        let mut sorted = self.ms.clone();
        sorted.sort_by(f64::total_cmp);
        if sorted.is_empty() {
            return 0.0;
        }
        let rank = (q * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }

    pub fn min(&self) -> f64 {
        self.ms.iter().copied().fold(f64::INFINITY, f64::min)
    }
}

/// Seeded inputs in the declared dtype and shape (values in [-1, 1)).
pub fn make_inputs(specs: &[IoSpec], seed: u64) -> Result<Vec<NamedTensor>, BenchError> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = move || {
        // SplitMix64: a few lines, deterministic, good enough for benchmark inputs.
        state = state.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^= z >> 31;
        ((z >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    };
    specs
        .iter()
        .map(|spec| {
            let shape: Vec<usize> = spec
                .shape
                .iter()
                .map(|d| {
                    d.ok_or_else(|| {
                        BenchError::Run(format!("input `{}` has a dynamic dim", spec.name))
                    })
                })
                .collect::<Result<_, _>>()?;
            let n: usize = shape.iter().product();
            let data = match spec.dtype {
                DType::Fp32 => TensorData::F32((0..n).map(|_| next()).collect()),
                DType::Fp16 => TensorData::F16((0..n).map(|_| f16::from_f32(next())).collect()),
                other => {
                    return Err(BenchError::Run(format!(
                        "input `{}` has dtype {other:?}; bench graphs take float inputs",
                        spec.name
                    )));
                }
            };
            Ok(NamedTensor {
                name: spec.name.clone(),
                shape,
                data,
            })
        })
        .collect()
}

/// Compile, load, warm up and time one source.
pub fn time_source(
    backend: &dyn Backend,
    source: &ProgramSource,
    options: &CompileOptions,
    timing: &Timing,
) -> Result<Samples, BenchError> {
    let mut model: Box<dyn Model> = backend.compile(source, options)?;
    model.load()?;
    let inputs = make_inputs(&model.info().inputs, 0)?;
    let mut outputs = Vec::new();
    for _ in 0..timing.warmup {
        model.evaluate_into(&inputs, &mut outputs)?;
    }
    let mut ms = Vec::new();
    let start = Instant::now();
    while (ms.len() as u32) < timing.max_iterations.max(1)
        && ((ms.len() as u32) < timing.min_iterations.max(1) || start.elapsed() < timing.min_time)
    {
        let t = Instant::now();
        model.evaluate_into(&inputs, &mut outputs)?;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    model.unload()?;
    Ok(Samples { ms })
}

/// What the report says about the machine and backend, filled in by the caller.
#[derive(Debug, Clone)]
pub struct RunContext {
    pub timestamp: String,
    pub system: crate::report::System,
    pub backend_reason: String,
}

/// Run `plan` on `backend`, reporting progress; the report of every suite that ran.
pub fn run(
    backend: &dyn Backend,
    plan: &Plan,
    context: RunContext,
    mut progress: impl FnMut(Progress),
) -> Result<Report, BenchError> {
    let kind = backend.kind();
    let steps = plan.steps(kind);
    let mut benchmarks = Benchmarks::default();
    for (index, (case, path)) in steps.iter().enumerate() {
        let label = if case.suite == Suite::Dispatch {
            format!(
                "dispatch {} {}ch sp{}",
                path_name(kind, *path),
                case.channels,
                case.spatial
            )
        } else {
            format!("{} {}", case.suite.name(), case.config())
        };
        progress(Progress::Step {
            index,
            total: steps.len(),
            label: label.clone(),
        });
        let graph = case.graph()?;
        let source = lower_case(&graph, &plan.target)?;
        let mut options = CompileOptions::default();
        options.ane.chip = Some(plan.target.chip.clone());
        if let Some(p) = path {
            options.ane.eval_path = *p;
        }
        let samples = time_source(backend, &source, &options, &plan.timing)
            .map_err(|e| BenchError::Run(format!("{label}: {e}")))?;
        let ms = samples.mean();
        let f = case.flops();
        match case.suite {
            Suite::Peak => benchmarks.inmem_peak.push(PeakRow {
                depth: case.depth as u64,
                channels: case.channels as u64,
                spatial: case.spatial as u64,
                weight_mb: case.weight_mb(),
                gflops: flops::gflop(f),
                ms_per_eval: ms,
                tflops: flops::tflops(f, ms),
                iterations: Some(samples.ms.len() as u64),
            }),
            Suite::Sram => benchmarks.sram_probe.push(SramRow {
                channels: case.channels as u64,
                spatial: Some(case.spatial as u64),
                weight_mb: case.weight_mb(),
                ms_per_eval: ms,
                tflops: flops::tflops(f, ms),
                gflops_per_mb: flops::gflops_per_mb(f, ms, case.weight_mb()),
                iterations: Some(samples.ms.len() as u64),
            }),
            Suite::Dispatch => benchmarks.dispatch.push(DispatchRow {
                path: path_name(kind, *path),
                channels: case.channels as u64,
                spatial: case.spatial as u64,
                iterations: samples.ms.len() as u64,
                mean_ms: ms,
                p50_ms: samples.quantile(0.5),
                p99_ms: samples.quantile(0.99),
                min_ms: samples.min(),
            }),
        }
    }
    let summary = summarize(&benchmarks);
    let info = backend.info();
    Ok(Report {
        format: crate::report::FORMAT.into(),
        version: crate::report::VERSION,
        timestamp: context.timestamp,
        username: None,
        provenance: Provenance {
            kind: "measured".into(),
            source: format!("anekit {}", env!("CARGO_PKG_VERSION")),
            schema_version: None,
            neural_engine: kind == BackendKind::Ane,
        },
        backend: BackendRecord {
            kind: kind.to_string(),
            device: info.device,
            reason: context.backend_reason,
        },
        system: context.system,
        target: Some(TargetRecord {
            chip: plan.target.chip.clone(),
            program_version: plan.target.dialect.program_version.into(),
            opset: plan.target.dialect.opset.into(),
            fp32_io: plan.target.dialect.fp32_io,
        }),
        quick: plan.quick,
        benchmarks,
        summary,
    })
}

/// The summary of measured rows (the community files' rules: best TFLOPS, best GFLOPS/MB, the
/// 60 % spill rule).
pub fn summarize(b: &Benchmarks) -> Summary {
    let best = b
        .inmem_peak
        .iter()
        .max_by(|x, y| x.tflops.total_cmp(&y.tflops));
    let spill_rows: Vec<(u32, f64)> = b
        .sram_probe
        .iter()
        .map(|r| (u32::try_from(r.channels).unwrap_or(u32::MAX), r.tflops))
        .collect();
    let mut dispatch = std::collections::BTreeMap::new();
    if let Some(smallest) = b.dispatch.iter().map(|r| r.channels * r.spatial).min() {
        for r in b
            .dispatch
            .iter()
            .filter(|r| r.channels * r.spatial == smallest)
        {
            dispatch.insert(r.path.clone(), r.mean_ms);
        }
    }
    Summary {
        peak_tflops: best.map(|r| r.tflops),
        peak_config: best.map(|r| format!("{}x conv {}ch sp{}", r.depth, r.channels, r.spatial)),
        sram_peak_efficiency_gflops_per_mb: b
            .sram_probe
            .iter()
            .map(|r| r.gflops_per_mb)
            .max_by(f64::total_cmp),
        sram_spill_start_channels: if spill_rows.is_empty() {
            None
        } else {
            flops::sram_spill_start(&spill_rows).map(u64::from)
        },
        dispatch_mean_ms: (!dispatch.is_empty()).then_some(dispatch),
        training_ms_per_step_cpu: None,
        training_ms_per_step_ane: None,
        training_ane_tflops: None,
        training_ane_util_pct: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_by_nearest_rank() {
        let s = Samples {
            ms: vec![5.0, 1.0, 4.0, 2.0, 3.0],
        };
        assert_eq!(s.mean(), 3.0);
        assert_eq!(s.quantile(0.5), 3.0);
        assert_eq!(s.quantile(0.99), 5.0);
        assert_eq!(s.quantile(0.0), 1.0);
        assert_eq!(s.min(), 1.0);
    }

    #[test]
    fn dispatch_paths_per_backend() {
        let t = Target::chip("m4").unwrap();
        let plan = Plan::new(vec![Suite::Dispatch], true, t);
        let ane: Vec<String> = plan
            .steps(BackendKind::Ane)
            .iter()
            .map(|(_, p)| path_name(BackendKind::Ane, *p))
            .collect();
        assert_eq!(ane, ["standard", "real_time", "process_request"]);
        let cpu: Vec<String> = plan
            .steps(BackendKind::Cpu)
            .iter()
            .map(|(_, p)| path_name(BackendKind::Cpu, *p))
            .collect();
        assert_eq!(cpu, ["cpu"]);
    }

    #[test]
    fn inputs_follow_the_declared_dtype_and_shape() {
        let specs = [
            IoSpec {
                name: "x".into(),
                dtype: DType::Fp16,
                shape: vec![Some(1), Some(3), Some(1), Some(2)],
            },
            IoSpec {
                name: "y".into(),
                dtype: DType::Fp32,
                shape: vec![Some(4)],
            },
        ];
        let t = make_inputs(&specs, 7).unwrap();
        assert_eq!(t[0].shape, [1, 3, 1, 2]);
        let TensorData::F16(x) = &t[0].data else {
            panic!()
        };
        assert_eq!(x.len(), 6);
        let TensorData::F32(y) = &t[1].data else {
            panic!()
        };
        assert!(y.iter().all(|v| (-1.0..1.0).contains(v)), "{y:?}");
        // Deterministic per seed.
        assert_eq!(make_inputs(&specs, 7).unwrap()[1].data, t[1].data);
        let dynamic = [IoSpec {
            name: "z".into(),
            dtype: DType::Fp32,
            shape: vec![None],
        }];
        assert!(make_inputs(&dynamic, 0).is_err());
    }

    #[test]
    fn runs_the_quick_suites_on_the_cpu_backend() {
        let config = anekit_runtime::BackendConfig {
            budget: anekit_runtime::CompileBudget::new(100),
        };
        let sel = anekit_runtime::select_backend("cpu", &config).unwrap();
        let plan = Plan::new(Suite::ALL.to_vec(), true, Target::chip("m4").unwrap());
        let mut labels = Vec::new();
        let report = run(
            sel.backend.as_ref(),
            &plan,
            RunContext {
                timestamp: "2026-11-22T00:00:00Z".into(),
                system: Default::default(),
                backend_reason: sel.reason.clone(),
            },
            |Progress::Step { label, .. }| labels.push(label),
        )
        .unwrap();
        assert_eq!(labels.len(), 3 + 4 + 1);
        assert_eq!(labels[0], "peak 2x conv 64ch sp16");
        assert_eq!(labels[7], "dispatch cpu 32ch sp16");
        let b = &report.benchmarks;
        assert_eq!(b.inmem_peak.len(), 3);
        assert_eq!(b.sram_probe.len(), 4);
        assert_eq!(b.dispatch.len(), 1);
        // Every row's TFLOPS is its formula over its own measured time.
        for r in &b.inmem_peak {
            assert_eq!(r.iterations, Some(3));
            let f = flops::conv_stack_flops(r.channels, r.depth, r.spatial);
            assert_eq!(r.tflops, flops::tflops(f, r.ms_per_eval));
            assert!(r.ms_per_eval > 0.0);
        }
        assert_eq!(b.sram_probe[3].weight_mb, 256.0 * 256.0 * 2.0 / 1048576.0);
        assert_eq!(report.backend.kind, "cpu");
        assert!(!report.provenance.neural_engine);
        assert_eq!(sel.backend.budget().used, 8);
        assert_eq!(
            report.summary.dispatch_mean_ms.as_ref().map(|m| m.len()),
            Some(1)
        );
    }
}
