//! The `ane` backend's logic, independent of Objective-C.
//!
//! [`AneBackend`] runs the in-memory sequence of private-api.md §2 — describe, write the temp
//! directory, compile (or restore from the compile cache), load with retry, create surfaces
//! and one reusable request, evaluate, unload, clean up — through the [`AneDriver`] trait. The
//! macOS module implements the trait with real framework calls; tests implement it in plain
//! Rust, so the sequencing, retries, budget and error mapping are tested on any OS.

use crate::budget::{BudgetStatus, CompileBudget};
use crate::error::{RuntimeError, Stage};
use crate::plan::dialect::{dialect_for_chip, dialect_problems};
use crate::plan::nserror::{FrameworkErrorKind, NsErrorInfo, to_runtime_error};
use crate::plan::request::{RequestPlan, plan_request};
use crate::plan::surface::{SurfaceSpec, pack, unpack_into};
use crate::plan::tempdir::TempLayout;
use crate::plan::weights::WeightsDictionary;
use crate::source::{ProgramSource, function_io};
use crate::{
    AneOptions, Backend, BackendInfo, BackendKind, CompileOptions, EvalPath, IoSpec, LoadInfo,
    Model, ModelInfo, ModelState, NamedTensor,
};
use anekit_core::TensorData;
use std::path::PathBuf;
use std::sync::Arc;

/// How a driver call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverError {
    /// The call returned NO/nil, with the NSError when there was one.
    Failed(Option<NsErrorInfo>),
    /// A class or selector is missing.
    Missing(String),
    /// An Objective-C exception, with its reason.
    Exception(String),
    /// Something else (surface creation, locking).
    Other(String),
}

impl DriverError {
    fn into_runtime(self, stage: Stage) -> RuntimeError {
        let (kind, message) = match self {
            DriverError::Failed(ns) => return to_runtime_error(stage, ns.as_ref()),
            DriverError::Missing(what) => (
                FrameworkErrorKind::MissingApi,
                format!(
                    "{what} is missing ({})",
                    FrameworkErrorKind::MissingApi.hint(stage)
                ),
            ),
            DriverError::Exception(reason) => (
                FrameworkErrorKind::Exception,
                format!("{}: {reason}", FrameworkErrorKind::Exception.hint(stage)),
            ),
            DriverError::Other(message) => (FrameworkErrorKind::Other, message),
        };
        RuntimeError::Framework {
            stage,
            kind,
            message,
        }
    }
}

/// The framework calls the `ane` backend needs, one method per step of private-api.md §2.
///
/// Implementations are thin: every decision (sizes, layouts, retries, error meaning) is made by
/// the caller. Handles are only used by one thread at a time (the model serialises its calls).
pub trait AneDriver: Send + Sync + 'static {
    /// An `_ANEInMemoryModel`.
    type Model: Send;
    /// An IOSurface with its `_ANEIOSurfaceObject`.
    type Surface: Send;
    /// An `_ANERequest`.
    type Request: Send;

    /// `NSTemporaryDirectory()`: the root the framework's temp directories live under.
    fn temp_root(&self) -> PathBuf;
    /// Steps 1–2: descriptor (MIL as NSData, the weights dictionary, nil options) and model.
    fn describe(&self, mil: &[u8], weights: &WeightsDictionary)
    -> Result<Self::Model, DriverError>;
    /// Step 3: `hexStringIdentifier`.
    fn hex_identifier(&self, model: &Self::Model) -> Result<String, DriverError>;
    /// Step 5: `compileWithQoS:options:error:`.
    fn compile(&self, model: &Self::Model, qos: u32) -> Result<(), DriverError>;
    /// Step 6: `loadWithQoS:options:error:`.
    fn load(&self, model: &Self::Model, qos: u32) -> Result<(), DriverError>;
    /// `programHandle` after a load, where readable.
    fn program_handle(&self, model: &Self::Model) -> Option<u64>;
    /// Steps 7–8: `IOSurfaceCreate` with [`SurfaceSpec::properties`] and `objectWithIOSurface:`.
    fn create_surface(&self, spec: &SurfaceSpec) -> Result<Self::Surface, DriverError>;
    /// Lock, copy `bytes` to the base address, unlock.
    fn write_surface(&self, surface: &Self::Surface, bytes: &[u8]) -> Result<(), DriverError>;
    /// Lock read-only, copy out, unlock.
    fn read_surface(&self, surface: &Self::Surface, out: &mut [u8]) -> Result<(), DriverError>;
    /// Step 9: the request over the surfaces with the plan's indices and procedure index.
    fn create_request(
        &self,
        inputs: &[&Self::Surface],
        outputs: &[&Self::Surface],
        plan: &RequestPlan,
    ) -> Result<Self::Request, DriverError>;
    /// Step 10 through the chosen path.
    fn evaluate(
        &self,
        model: &Self::Model,
        request: &Self::Request,
        path: EvalPath,
        qos: u32,
    ) -> Result<(), DriverError>;
    /// Step 11: `unloadWithQoS:error:`.
    fn unload(&self, model: &Self::Model, qos: u32) -> Result<(), DriverError>;
    /// Pause between load attempts (a real sleep; tests record it).
    fn sleep(&self, duration: std::time::Duration) {
        std::thread::sleep(duration);
    }
}

/// The Neural Engine backend over a driver.
pub struct AneBackend<D: AneDriver> {
    driver: Arc<D>,
    budget: CompileBudget,
}

impl<D: AneDriver> AneBackend<D> {
    pub fn new(driver: D, budget: CompileBudget) -> AneBackend<D> {
        AneBackend {
            driver: Arc::new(driver),
            budget,
        }
    }

    pub fn driver(&self) -> &D {
        &self.driver
    }

    /// Compile into the concrete model type (the trait method boxes it).
    pub fn compile_model(
        &self,
        source: &ProgramSource,
        options: &CompileOptions,
    ) -> Result<AneModel<D>, RuntimeError> {
        let ane = &options.ane;
        // Everything that can be decided without the framework is decided before a compile
        // is taken from the budget.
        let program = source.program()?;
        let io = function_io(&program, options.function.as_deref())?;
        if let Some(chip) = &ane.chip {
            let (dialect, chip_name) = dialect_for_chip(chip)?;
            let problems = dialect_problems(&program, &io.name, dialect);
            if !problems.is_empty() {
                return Err(RuntimeError::Program(format!(
                    "not in the dialect {chip_name} accepts: {}",
                    problems.join("; ")
                )));
            }
        }
        let plan = plan_request(&io, ane.surface_alignment, ane.enforce_surface_order)?;
        let weights = WeightsDictionary::build(source, &program)?;
        let mil = source.mil_text.as_bytes();

        let driver = &self.driver;
        let handle = driver
            .describe(mil, &weights)
            .map_err(|e| e.into_runtime(Stage::Describe))?;
        let hex_id = driver
            .hex_identifier(&handle)
            .map_err(|e| e.into_runtime(Stage::Describe))?;
        let layout = TempLayout::new(&driver.temp_root(), &hex_id, &weights)?;
        // Take a share of the directory before writing it, so that an identical model dropped
        // meanwhile cannot delete it under us; the share is released in `Drop`.
        live_dirs::retain(&layout.dir);
        if let Err(e) = layout.write(mil, &weights) {
            if live_dirs::release(&layout.dir) {
                let _ = layout.remove();
            }
            return Err(e);
        }
        let mut model = AneModel {
            driver: Arc::clone(driver),
            budget: self.budget.clone(),
            handle,
            hex_id,
            layout,
            plan,
            function: io.name,
            inputs: io.inputs,
            outputs: io.outputs,
            options: ane.clone(),
            from_cache: false,
            loaded: None,
        };
        if let Some(cache) = &ane.cache_dir
            && model.layout.restore_from_cache(cache)?
        {
            model.from_cache = true;
            return Ok(model);
        }
        model.compile_now()?;
        Ok(model)
    }
}

impl<D: AneDriver> Backend for AneBackend<D> {
    fn kind(&self) -> BackendKind {
        BackendKind::Ane
    }

    fn compile(
        &self,
        source: &ProgramSource,
        options: &CompileOptions,
    ) -> Result<Box<dyn Model>, RuntimeError> {
        Ok(Box::new(self.compile_model(source, options)?))
    }

    fn budget(&self) -> BudgetStatus {
        self.budget.status()
    }

    fn info(&self) -> BackendInfo {
        BackendInfo {
            kind: BackendKind::Ane,
            device: "Apple Neural Engine (AppleNeuralEngine.framework, in-memory path)".into(),
            budget: self.budget.status(),
        }
    }
}

/// What `load` creates and `unload` releases.
struct Loaded<D: AneDriver> {
    inputs: Vec<D::Surface>,
    outputs: Vec<D::Surface>,
    request: D::Request,
    /// One staging buffer per surface, reused by every evaluation.
    input_staging: Vec<Vec<u8>>,
    output_staging: Vec<Vec<u8>>,
}

/// A program compiled for the Neural Engine. Dropping it unloads it and deletes its temp
/// directory once no other live model of the same program uses it.
pub struct AneModel<D: AneDriver> {
    driver: Arc<D>,
    budget: CompileBudget,
    handle: D::Model,
    hex_id: String,
    layout: TempLayout,
    plan: RequestPlan,
    function: String,
    inputs: Vec<IoSpec>,
    outputs: Vec<IoSpec>,
    options: AneOptions,
    from_cache: bool,
    loaded: Option<Loaded<D>>,
}

impl<D: AneDriver> AneModel<D> {
    pub fn hex_identifier(&self) -> &str {
        &self.hex_id
    }

    pub fn plan(&self) -> &RequestPlan {
        &self.plan
    }

    pub fn temp_layout(&self) -> &TempLayout {
        &self.layout
    }

    /// Whether the compiled program came from the compile cache.
    pub fn from_cache(&self) -> bool {
        self.from_cache
    }

    /// Take a compile from the budget, compile, and save the output to the cache.
    fn compile_now(&mut self) -> Result<(), RuntimeError> {
        self.budget.acquire()?;
        self.driver
            .compile(&self.handle, self.options.qos)
            .map_err(|e| e.into_runtime(Stage::Compile))?;
        self.from_cache = false;
        if let Some(cache) = &self.options.cache_dir {
            self.layout.save_to_cache(cache)?;
        }
        Ok(())
    }

    fn load_with_retry(&self) -> (Result<(), DriverError>, u32) {
        let driver = &self.driver;
        self.options.load_retry.run(
            |_| driver.load(&self.handle, self.options.qos),
            |d| driver.sleep(d),
        )
    }

    fn create_io(&self) -> Result<Loaded<D>, RuntimeError> {
        let driver = &self.driver;
        let surfaces = |specs: &[SurfaceSpec]| -> Result<Vec<D::Surface>, RuntimeError> {
            specs
                .iter()
                .map(|s| {
                    driver
                        .create_surface(s)
                        .map_err(|e| e.into_runtime(Stage::Load))
                })
                .collect()
        };
        let inputs = surfaces(&self.plan.inputs)?;
        let outputs = surfaces(&self.plan.outputs)?;
        let request = driver
            .create_request(
                &inputs.iter().collect::<Vec<_>>(),
                &outputs.iter().collect::<Vec<_>>(),
                &self.plan,
            )
            .map_err(|e| e.into_runtime(Stage::Load))?;
        Ok(Loaded {
            input_staging: self
                .plan
                .inputs
                .iter()
                .map(|s| vec![0; s.alloc_size])
                .collect(),
            output_staging: self
                .plan
                .outputs
                .iter()
                .map(|s| vec![0; s.alloc_size])
                .collect(),
            inputs,
            outputs,
            request,
        })
    }
}

impl<D: AneDriver> Model for AneModel<D> {
    fn info(&self) -> ModelInfo {
        ModelInfo {
            backend: BackendKind::Ane,
            identifier: self.hex_id.clone(),
            function: self.function.clone(),
            state: if self.loaded.is_some() {
                ModelState::Loaded
            } else {
                ModelState::Compiled
            },
            inputs: self.inputs.clone(),
            outputs: self.outputs.clone(),
            warnings: self.plan.warnings.clone(),
        }
    }

    fn load(&mut self) -> Result<LoadInfo, RuntimeError> {
        if self.loaded.is_some() {
            return Err(RuntimeError::State {
                model: self.hex_id.clone(),
                state: "loaded",
                wanted: "unload it before loading again",
            });
        }
        let (mut result, mut attempts) = self.load_with_retry();
        if result.is_err() && self.from_cache {
            // The cached compiler output did not load (another OS build, a stale cache):
            // compile for real and try again.
            self.compile_now()?;
            let (retry, more) = self.load_with_retry();
            result = retry;
            attempts += more;
        }
        result.map_err(|e| e.into_runtime(Stage::Load))?;
        let io = match self.create_io() {
            Ok(io) => io,
            Err(e) => {
                // Do not leave the program loaded without a way to unload it.
                let _ = self.driver.unload(&self.handle, self.options.qos);
                return Err(e);
            }
        };
        self.loaded = Some(io);
        Ok(LoadInfo {
            program_handle: self.driver.program_handle(&self.handle),
            from_cache: self.from_cache,
            attempts,
            compute_plan: None,
        })
    }

    fn evaluate_into(
        &mut self,
        inputs: &[NamedTensor],
        outputs: &mut Vec<NamedTensor>,
    ) -> Result<(), RuntimeError> {
        let Some(io) = self.loaded.as_mut() else {
            return Err(RuntimeError::State {
                model: self.hex_id.clone(),
                state: "compiled",
                wanted: "load it before evaluating",
            });
        };
        check_input_names(&self.plan, inputs)?;
        let driver = &self.driver;
        for ((spec, surface), staging) in self
            .plan
            .inputs
            .iter()
            .zip(&io.inputs)
            .zip(&mut io.input_staging)
        {
            let Some(given) = inputs.iter().find(|t| t.name == spec.name) else {
                continue; // unreachable: names were checked
            };
            if given.shape != spec.shape {
                return Err(RuntimeError::Input {
                    name: spec.name.clone(),
                    reason: format!("shape {:?} given, {:?} declared", given.shape, spec.shape),
                });
            }
            pack(&given.data, spec, staging)?;
            driver
                .write_surface(surface, staging)
                .map_err(|e| e.into_runtime(Stage::Evaluate))?;
        }
        driver
            .evaluate(
                &self.handle,
                &io.request,
                self.options.eval_path,
                self.options.qos,
            )
            .map_err(|e| e.into_runtime(Stage::Evaluate))?;
        // Reuse the caller's output tensors when they match by position and name.
        let reusable = outputs.len() == self.plan.outputs.len()
            && outputs
                .iter()
                .zip(&self.plan.outputs)
                .all(|(t, s)| t.name == s.name);
        if !reusable {
            *outputs = self
                .plan
                .outputs
                .iter()
                .map(|s| NamedTensor {
                    name: s.name.clone(),
                    shape: s.shape.clone(),
                    data: TensorData::F16(Vec::new()),
                })
                .collect();
        }
        for (((spec, surface), staging), out) in self
            .plan
            .outputs
            .iter()
            .zip(&io.outputs)
            .zip(&mut io.output_staging)
            .zip(outputs.iter_mut())
        {
            driver
                .read_surface(surface, staging)
                .map_err(|e| e.into_runtime(Stage::Evaluate))?;
            out.shape.clone_from(&spec.shape);
            unpack_into(staging, spec, &mut out.data)?;
        }
        Ok(())
    }

    fn unload(&mut self) -> Result<(), RuntimeError> {
        if self.loaded.is_none() {
            return Err(RuntimeError::State {
                model: self.hex_id.clone(),
                state: "compiled",
                wanted: "only a loaded model can be unloaded",
            });
        }
        let result = self.driver.unload(&self.handle, self.options.qos);
        // Surfaces and the request are released whether or not the unload call succeeded.
        self.loaded = None;
        result.map_err(|e| e.into_runtime(Stage::Unload))
    }
}

impl<D: AneDriver> Drop for AneModel<D> {
    fn drop(&mut self) {
        if let Some(io) = self.loaded.take() {
            // Unload first, then release the surfaces and the request (the reference order).
            let _ = self.driver.unload(&self.handle, self.options.qos);
            drop(io);
        }
        if live_dirs::release(&self.layout.dir) {
            let _ = self.layout.remove();
        }
    }
}

/// Identical programs share one temp directory (same `hexStringIdentifier`, private-api.md
/// §6), so a directory is deleted only when the last model using it in this process goes.
mod live_dirs {
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};
    use std::sync::{Mutex, OnceLock};

    fn table() -> &'static Mutex<HashMap<PathBuf, usize>> {
        static TABLE: OnceLock<Mutex<HashMap<PathBuf, usize>>> = OnceLock::new();
        TABLE.get_or_init(Default::default)
    }

    pub(super) fn retain(dir: &Path) {
        if let Ok(mut t) = table().lock() {
            *t.entry(dir.to_path_buf()).or_insert(0) += 1;
        }
    }

    /// Drop one share; true when it was the last one.
    pub(super) fn release(dir: &Path) -> bool {
        let Ok(mut t) = table().lock() else {
            return false;
        };
        match t.get_mut(dir) {
            Some(n) if *n > 1 => {
                *n -= 1;
                false
            }
            _ => {
                t.remove(dir);
                true
            }
        }
    }
}

/// Every declared input given exactly once, nothing else.
fn check_input_names(plan: &RequestPlan, inputs: &[NamedTensor]) -> Result<(), RuntimeError> {
    for spec in &plan.inputs {
        let count = inputs.iter().filter(|t| t.name == spec.name).count();
        if count != 1 {
            return Err(RuntimeError::Input {
                name: spec.name.clone(),
                reason: if count == 0 {
                    "missing".into()
                } else {
                    "given more than once".into()
                },
            });
        }
    }
    if let Some(extra) = inputs
        .iter()
        .find(|t| !plan.inputs.iter().any(|s| s.name == t.name))
    {
        return Err(RuntimeError::Input {
            name: extra.name.clone(),
            reason: "not an input of the program".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod fake;

#[cfg(test)]
mod tests;
