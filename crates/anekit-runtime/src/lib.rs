//! Backends for anekit programs: compile -> load -> evaluate -> unload, with a per-process
//! compile budget.
//!
//! ```no_run
//! use anekit_runtime::{select_backend, BackendConfig, CompileOptions, ProgramSource};
//! let selection = select_backend("auto", &BackendConfig::default())?;
//! eprintln!("backend {}: {}", selection.backend.kind(), selection.reason);
//! let source = ProgramSource::from_path("examples/cnn/model.mil".as_ref())?;
//! let mut model = selection.backend.compile(&source, &CompileOptions::default())?;
//! model.load()?;
//! let mut outputs = Vec::new();
//! # let inputs = Vec::new();
//! model.evaluate_into(&inputs, &mut outputs)?; // repeat with new inputs; buffers are reused
//! model.unload()?;
//! # Ok::<(), anekit_runtime::RuntimeError>(())
//! ```
//!
//! Backends: [`cpu`] (the CPU reference executor, everywhere), `ane` (AppleNeuralEngine.framework
//! through its private in-memory API, macOS only) and `coreml` (Core ML, macOS only). The
//! Neural Engine backend's logic lives in portable code ([`plan`], [`ane`]) driven through the
//! [`ane::AneDriver`] trait; only `macos/` talks to Objective-C.

pub mod ane;
pub mod budget;
pub mod compute_plan;
pub mod cpu;
pub mod error;
#[cfg(target_os = "macos")]
pub mod macos;
pub mod plan;
pub mod server;
pub mod source;
pub mod toolchain;

pub use anekit_cpu::exec::{IoSpec, NamedTensor};
pub use budget::{BudgetStatus, CompileBudget, DEFAULT_COMPILE_BUDGET};
pub use compute_plan::{ComputePlan, OpPlacement};
pub use error::{RuntimeError, Stage};
pub use source::{ProgramSource, WeightSource};

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// Which backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    Cpu,
    Ane,
    Coreml,
}

impl BackendKind {
    /// The name used on the command line and in reports (`cpu`, `ane`, `coreml`).
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Cpu => "cpu",
            BackendKind::Ane => "ane",
            BackendKind::Coreml => "coreml",
        }
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the `ane` backend submits a request (reference/private-api.md §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EvalPath {
    /// `-[_ANEInMemoryModel evaluateWithQoS:options:request:error:]`: the most reliable path.
    #[default]
    Standard,
    /// `-[_ANEClient evaluateRealTimeWithModel:options:request:error:]` on the shared client.
    RealTime,
    /// `-[_ANEProgramForEvaluation processRequest:model:qos:qIndex:modelStringID:options:
    /// returnValue:error:]` on the model's `program`.
    ProcessRequest,
}

impl EvalPath {
    pub fn parse(s: &str) -> Option<EvalPath> {
        match s {
            "standard" => Some(EvalPath::Standard),
            "realtime" | "real-time" | "real_time" => Some(EvalPath::RealTime),
            "process-request" | "process_request" | "processrequest" => {
                Some(EvalPath::ProcessRequest)
            }
            _ => None,
        }
    }
}

/// Core ML compute units (`MLComputeUnits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ComputeUnits {
    /// `MLComputeUnitsAll`: Core ML places ops on CPU, GPU or Neural Engine.
    All,
    /// `MLComputeUnitsCPUAndNeuralEngine` (no GPU): the default here.
    #[default]
    CpuAndNeuralEngine,
    /// `MLComputeUnitsCPUOnly`.
    CpuOnly,
}

impl ComputeUnits {
    pub fn parse(s: &str) -> Option<ComputeUnits> {
        match s {
            "all" => Some(ComputeUnits::All),
            "cpu-and-ne" | "cpu_and_neural_engine" | "cpuAndNeuralEngine" => {
                Some(ComputeUnits::CpuAndNeuralEngine)
            }
            "cpu-only" | "cpu_only" | "cpuOnly" => Some(ComputeUnits::CpuOnly),
            _ => None,
        }
    }
}

/// Options of the `ane` backend.
#[derive(Debug, Clone, Serialize)]
pub struct AneOptions {
    /// Quality of service for compile/load/evaluate/unload; every known client passes 21
    /// ([`plan::parse_qos`] reads names and numbers).
    pub qos: u32,
    pub eval_path: EvalPath,
    /// The chip generation (`h13`, `h16`, ...) when known; decides the MIL dialect rules.
    pub chip: Option<String>,
    /// Reuse the compiler's output folder across processes (`<dir>/<hexStringIdentifier>/`).
    pub cache_dir: Option<PathBuf>,
    /// Round every surface up to this many bytes (1 = no padding; 128 is PR #35's M5 claim).
    pub surface_alignment: usize,
    /// Refuse (instead of warn about) I/O surface sizes that break the M1 ordering rule.
    pub enforce_surface_order: bool,
    pub load_retry: plan::RetryPolicy,
}

impl Default for AneOptions {
    fn default() -> AneOptions {
        AneOptions {
            qos: plan::DEFAULT_QOS,
            eval_path: EvalPath::Standard,
            chip: None,
            cache_dir: None,
            surface_alignment: 1,
            enforce_surface_order: false,
            load_retry: plan::RetryPolicy::default(),
        }
    }
}

/// What to compile and how; fields a backend does not use are ignored by it.
#[derive(Debug, Clone, Default)]
pub struct CompileOptions {
    /// The function to run; `None` = `main` (or the only function).
    pub function: Option<String>,
    /// CPU: numerics mode.
    pub numerics: anekit_cpu::Numerics,
    /// CPU: values for symbolic dims.
    pub dims: BTreeMap<String, usize>,
    /// CPU: replace BLOBFILE constants by seeded random values.
    pub random_weights: Option<u64>,
    pub ane: AneOptions,
    pub compute_units: ComputeUnits,
}

/// Where a model is in its life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelState {
    Compiled,
    Loaded,
}

impl ModelState {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelState::Compiled => "compiled",
            ModelState::Loaded => "loaded",
        }
    }
}

/// A description of a compiled model.
#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    pub backend: BackendKind,
    /// The backend's identifier of the compiled program (the ANE's `hexStringIdentifier`, a
    /// content hash on the CPU).
    pub identifier: String,
    pub function: String,
    pub state: ModelState,
    #[serde(serialize_with = "serialize_specs")]
    pub inputs: Vec<IoSpec>,
    #[serde(serialize_with = "serialize_specs")]
    pub outputs: Vec<IoSpec>,
    /// Non-fatal findings (e.g. surface sizes that break the unverified M1 ordering rule).
    pub warnings: Vec<String>,
}

fn serialize_specs<S: serde::Serializer>(specs: &[IoSpec], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(specs.len()))?;
    for spec in specs {
        seq.serialize_element(&serde_json::json!({
            "name": spec.name,
            "dtype": spec.dtype,
            "shape": spec.shape,
        }))?;
    }
    seq.end()
}

/// What a successful load reports.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LoadInfo {
    /// The ANE program handle (`programHandle`), where the backend has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub program_handle: Option<u64>,
    /// Whether the compiled program came from the compile cache.
    pub from_cache: bool,
    /// Load attempts made (the ANE backend retries once by default).
    pub attempts: u32,
    /// `coreml`: where Core ML plans to run each op (`MLComputePlan`), or why it cannot say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compute_plan: Option<ComputePlan>,
}

/// A compiled program of one backend.
///
/// Dropping a loaded model unloads it.
pub trait Model: Send {
    fn info(&self) -> ModelInfo;

    /// Make the compiled program ready to evaluate (allocates the I/O buffers).
    fn load(&mut self) -> Result<LoadInfo, RuntimeError>;

    /// Evaluate once. `outputs` is filled in declaration order; when it already holds tensors
    /// of the right names and sizes from an earlier call, their buffers are reused.
    fn evaluate_into(
        &mut self,
        inputs: &[NamedTensor],
        outputs: &mut Vec<NamedTensor>,
    ) -> Result<(), RuntimeError>;

    /// Evaluate once into fresh output tensors.
    fn evaluate(&mut self, inputs: &[NamedTensor]) -> Result<Vec<NamedTensor>, RuntimeError> {
        let mut outputs = Vec::new();
        self.evaluate_into(inputs, &mut outputs)?;
        Ok(outputs)
    }

    /// Release what `load` acquired; the model can be loaded again.
    fn unload(&mut self) -> Result<(), RuntimeError>;
}

/// A description of a backend.
#[derive(Debug, Clone, Serialize)]
pub struct BackendInfo {
    pub kind: BackendKind,
    /// What executes: `cpu (reference executor, ane numerics)`, `Apple Neural Engine`, ...
    pub device: String,
    pub budget: BudgetStatus,
}

/// Compiles programs for one kind of device.
pub trait Backend: Send + Sync {
    fn kind(&self) -> BackendKind;

    /// Compile `source`. Takes one compile from the budget (also when the compile fails).
    fn compile(
        &self,
        source: &ProgramSource,
        options: &CompileOptions,
    ) -> Result<Box<dyn Model>, RuntimeError>;

    fn budget(&self) -> BudgetStatus;

    fn info(&self) -> BackendInfo;
}

/// Settings shared by every backend of a selection.
#[derive(Debug, Clone)]
pub struct BackendConfig {
    pub budget: CompileBudget,
}

impl Default for BackendConfig {
    fn default() -> BackendConfig {
        BackendConfig {
            budget: CompileBudget::process(),
        }
    }
}

/// The outcome of [`select_backend`].
#[derive(Clone)]
pub struct Selection {
    pub backend: Arc<dyn Backend>,
    /// Why this backend: what `auto` tried and why it fell back, or that it was asked for.
    pub reason: String,
    /// Set when `auto` chose a device backend: the CPU backend (sharing the budget) that a
    /// failure to compile or load there falls back to ([`compile_and_load`]).
    pub fallback: Option<Arc<dyn Backend>>,
}

impl fmt::Debug for Selection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Selection")
            .field("backend", &self.backend.kind())
            .field("reason", &self.reason)
            .field("fallback", &self.fallback.as_ref().map(|b| b.kind()))
            .finish()
    }
}

/// Pick a backend by name: `cpu`, `ane`, `coreml`, or `auto` (the Neural Engine where it
/// loads, else the CPU, with the reason in [`Selection::reason`]). Asking for `ane` or
/// `coreml` where it cannot load is an [`RuntimeError::Unavailable`] with the reason.
pub fn select_backend(name: &str, config: &BackendConfig) -> Result<Selection, RuntimeError> {
    let cpu = || -> Arc<dyn Backend> { Arc::new(cpu::CpuBackend::new(config.budget.clone())) };
    match name {
        "cpu" => Ok(Selection {
            backend: cpu(),
            reason: "cpu requested".into(),
            fallback: None,
        }),
        "ane" => Ok(Selection {
            backend: open_ane(config)?,
            reason: "ane requested".into(),
            fallback: None,
        }),
        "coreml" => Ok(Selection {
            backend: open_coreml(config)?,
            reason: "coreml requested".into(),
            fallback: None,
        }),
        "auto" => Ok(match open_ane(config) {
            Ok(backend) => Selection {
                backend,
                reason: "auto: AppleNeuralEngine.framework loaded".into(),
                fallback: Some(cpu()),
            },
            Err(e) => Selection {
                backend: cpu(),
                reason: format!("auto: using cpu because {e}"),
                fallback: None,
            },
        }),
        other => Err(RuntimeError::UnknownBackend(other.to_string())),
    }
}

/// What [`compile_and_load`] gives.
pub enum Prepared {
    /// Compiled and loaded on the selected backend.
    Ready {
        model: Box<dyn Model>,
        load: LoadInfo,
    },
    /// `auto` chose a device backend and a step failed there: run on the CPU, for this reason.
    Fallback { reason: String },
}

impl fmt::Debug for Prepared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Prepared::Ready { load, .. } => f.debug_struct("Ready").field("load", load).finish(),
            Prepared::Fallback { reason } => {
                f.debug_struct("Fallback").field("reason", reason).finish()
            }
        }
    }
}

/// Why `auto` left `backend` for the CPU: `step` (compile, load) failed with `error`.
pub fn fallback_reason(step: &str, backend: BackendKind, error: &RuntimeError) -> String {
    format!("auto: using cpu because {step} on {backend} failed: {error}")
}

/// Compile and load `source` on the selected backend. When `auto` picked a device backend,
/// a failure to compile (for any reason: the CPU may run what the device cannot) or to load
/// (a [device failure](RuntimeError::is_device_failure)) is not an error: the CPU stays the
/// default, and [`Prepared::Fallback`] carries the reason (backend, step and error) for the
/// caller to show.
pub fn compile_and_load(
    selection: &Selection,
    source: &ProgramSource,
    options: &CompileOptions,
) -> Result<Prepared, RuntimeError> {
    let backend = &selection.backend;
    let fallback = |step: &str, e: RuntimeError| -> Result<Prepared, RuntimeError> {
        if selection.fallback.is_some() {
            Ok(Prepared::Fallback {
                reason: fallback_reason(step, backend.kind(), &e),
            })
        } else {
            Err(e)
        }
    };
    let mut model = match backend.compile(source, options) {
        Ok(model) => model,
        Err(e) => return fallback("compile", e),
    };
    match model.load() {
        Ok(load) => Ok(Prepared::Ready { model, load }),
        Err(e) if e.is_device_failure() => fallback("load", e),
        Err(e) => Err(e),
    }
}

#[cfg(target_os = "macos")]
fn open_ane(config: &BackendConfig) -> Result<Arc<dyn Backend>, RuntimeError> {
    let driver = macos::ane::ObjcDriver::open()?;
    Ok(Arc::new(ane::AneBackend::new(
        driver,
        config.budget.clone(),
    )))
}

#[cfg(target_os = "macos")]
fn open_coreml(config: &BackendConfig) -> Result<Arc<dyn Backend>, RuntimeError> {
    Ok(Arc::new(macos::coreml::CoremlBackend::open(
        config.budget.clone(),
    )?))
}

#[cfg(not(target_os = "macos"))]
fn open_ane(_config: &BackendConfig) -> Result<Arc<dyn Backend>, RuntimeError> {
    Err(not_macos("ane"))
}

#[cfg(not(target_os = "macos"))]
fn open_coreml(_config: &BackendConfig) -> Result<Arc<dyn Backend>, RuntimeError> {
    Err(not_macos("coreml"))
}

#[cfg(not(target_os = "macos"))]
fn not_macos(backend: &str) -> RuntimeError {
    RuntimeError::Unavailable {
        backend: backend.into(),
        reason: format!(
            "it needs macOS on Apple silicon, and this is {}",
            std::env::consts::OS
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_cpu_and_reject_unknown_names() {
        let config = BackendConfig {
            budget: CompileBudget::new(3),
        };
        let sel = select_backend("cpu", &config).unwrap();
        assert_eq!(sel.backend.kind(), BackendKind::Cpu);
        assert_eq!(sel.backend.budget().limit, 3);
        let err = select_backend("gpu", &config).unwrap_err();
        assert_eq!(err.code(), "unknown_backend");
    }

    #[cfg(not(target_os = "macos"))]
    #[test]
    fn auto_falls_back_to_cpu_with_the_reason_off_macos() {
        let config = BackendConfig {
            budget: CompileBudget::new(3),
        };
        let sel = select_backend("auto", &config).unwrap();
        assert_eq!(sel.backend.kind(), BackendKind::Cpu);
        assert_eq!(
            sel.reason,
            format!(
                "auto: using cpu because backend `ane` is unavailable: it needs macOS on Apple \
                 silicon, and this is {}",
                std::env::consts::OS
            )
        );
        for name in ["ane", "coreml"] {
            let err = select_backend(name, &config).unwrap_err();
            assert_eq!(err.code(), "backend_unavailable");
            assert!(err.to_string().contains(name), "{err}");
        }
    }
}
