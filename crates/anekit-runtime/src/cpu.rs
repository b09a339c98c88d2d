//! The `cpu` backend: the CPU reference executor (`anekit_cpu::exec`) behind the [`Backend`]
//! interface, on every OS.

use crate::budget::{BudgetStatus, CompileBudget};
use crate::error::RuntimeError;
use crate::source::{ProgramSource, WeightSource, function_io, weight_relative_path};
use crate::{
    Backend, BackendInfo, BackendKind, CompileOptions, IoSpec, LoadInfo, Model, ModelInfo,
    ModelState, NamedTensor,
};
use anekit_cpu::exec::{ExecOptions, Executor};
use anekit_ir::weights::Weights;
use std::hash::{Hash, Hasher};

/// The CPU reference executor as a backend.
#[derive(Debug, Clone)]
pub struct CpuBackend {
    budget: CompileBudget,
}

impl CpuBackend {
    pub fn new(budget: CompileBudget) -> CpuBackend {
        CpuBackend { budget }
    }
}

/// A program prepared by the executor.
#[derive(Debug)]
pub struct CpuModel {
    executor: Executor,
    identifier: String,
    function: String,
    inputs: Vec<IoSpec>,
    outputs: Vec<IoSpec>,
    state: ModelState,
    /// Inline weight files are written here for the executor's `Weights` (it reads folders);
    /// kept alive as long as the model.
    _weights_dir: Option<tempfile::TempDir>,
}

/// A stable identifier of the program text (not of its weights), as hex.
fn text_identifier(source: &ProgramSource, function: &str) -> String {
    // std's DefaultHasher is SipHash with fixed keys: stable within a build, which is all an
    // in-process identifier needs.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    source.mil_text.hash(&mut h);
    function.hash(&mut h);
    format!("{:016x}", h.finish())
}

impl Backend for CpuBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Cpu
    }

    fn compile(
        &self,
        source: &ProgramSource,
        options: &CompileOptions,
    ) -> Result<Box<dyn Model>, RuntimeError> {
        self.budget.acquire()?;
        let program = source.program()?;
        let io = function_io(&program, options.function.as_deref())?;
        let (weights, weights_dir) = match (&source.weights, options.random_weights) {
            (_, Some(_)) | (WeightSource::None, None) => (None, None),
            (WeightSource::Dir(root), None) => (Some(Weights::new(root)), None),
            (WeightSource::Inline(files), None) => {
                let dir = tempfile::Builder::new()
                    .prefix("anekit-weights-")
                    .tempdir()
                    .map_err(|e| RuntimeError::io(std::env::temp_dir(), e))?;
                for (blob_path, bytes) in files {
                    let path = dir.path().join(weight_relative_path(blob_path)?);
                    if let Some(parent) = path.parent() {
                        std::fs::create_dir_all(parent).map_err(|e| RuntimeError::io(parent, e))?;
                    }
                    std::fs::write(&path, bytes).map_err(|e| RuntimeError::io(&path, e))?;
                }
                (Some(Weights::new(dir.path())), Some(dir))
            }
        };
        let executor = Executor::new(
            program,
            weights,
            ExecOptions {
                numerics: options.numerics,
                function: Some(io.name.clone()),
                dims: options.dims.clone(),
                random_weights: options.random_weights,
                ..ExecOptions::default()
            },
        )?;
        Ok(Box::new(CpuModel {
            executor,
            identifier: text_identifier(source, &io.name),
            function: io.name,
            inputs: io.inputs,
            outputs: io.outputs,
            state: ModelState::Compiled,
            _weights_dir: weights_dir,
        }))
    }

    fn budget(&self) -> BudgetStatus {
        self.budget.status()
    }

    fn info(&self) -> BackendInfo {
        BackendInfo {
            kind: BackendKind::Cpu,
            device: "CPU reference executor".into(),
            budget: self.budget.status(),
        }
    }
}

impl CpuModel {
    pub fn executor(&self) -> &Executor {
        &self.executor
    }

    /// The declared float type a float input must be converted to, if it differs.
    fn needs_conversion(&self, given: &NamedTensor) -> Option<anekit_core::DType> {
        use anekit_core::DType::{Bf16, Fp16, Fp32, Fp64};
        let declared = self.inputs.iter().find(|s| s.name == given.name)?.dtype;
        let have = given.data.dtype();
        let float = |d| matches!(d, Fp16 | Fp32 | Fp64 | Bf16);
        (have != declared && float(have) && float(declared)).then_some(declared)
    }
}

impl Model for CpuModel {
    fn info(&self) -> ModelInfo {
        ModelInfo {
            backend: BackendKind::Cpu,
            identifier: self.identifier.clone(),
            function: self.function.clone(),
            state: self.state,
            inputs: self.inputs.clone(),
            outputs: self.outputs.clone(),
            warnings: Vec::new(),
        }
    }

    fn load(&mut self) -> Result<LoadInfo, RuntimeError> {
        // The executor decoded every constant at compile time; loading only changes state.
        self.state = ModelState::Loaded;
        Ok(LoadInfo {
            program_handle: None,
            from_cache: false,
            attempts: 1,
            compute_plan: None,
        })
    }

    fn evaluate_into(
        &mut self,
        inputs: &[NamedTensor],
        outputs: &mut Vec<NamedTensor>,
    ) -> Result<(), RuntimeError> {
        if self.state != ModelState::Loaded {
            return Err(RuntimeError::State {
                model: self.identifier.clone(),
                state: self.state.as_str(),
                wanted: "load it before evaluating",
            });
        }
        // Float inputs are converted to the declared float type (fp32 -> fp16 rounds to
        // nearest even), as the ane backend does when it packs surfaces, so both backends
        // accept the same requests.
        let converted: Vec<NamedTensor>;
        let inputs = if inputs.iter().any(|t| self.needs_conversion(t).is_some()) {
            converted = inputs
                .iter()
                .map(|t| match self.needs_conversion(t) {
                    Some(to) => t
                        .data
                        .convert(to)
                        .map(|data| NamedTensor {
                            name: t.name.clone(),
                            shape: t.shape.clone(),
                            data,
                        })
                        .map_err(|e| RuntimeError::Input {
                            name: t.name.clone(),
                            reason: e.to_string(),
                        }),
                    None => Ok(t.clone()),
                })
                .collect::<Result<_, _>>()?;
            &converted
        } else {
            inputs
        };
        *outputs = self.executor.run(inputs)?;
        Ok(())
    }

    fn unload(&mut self) -> Result<(), RuntimeError> {
        self.state = ModelState::Compiled;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RELU: &str = "program(1.3)\n{\n    func main<ios18>(tensor<fp16, [1, 4, 1, 8]> x) {\n            tensor<fp16, [1, 4, 1, 8]> y = relu(x = x)[name = string(\"y\")];\n        } -> (y);\n}\n";

    #[test]
    fn compile_counts_against_the_budget_and_reports_io() {
        let backend = CpuBackend::new(CompileBudget::new(1));
        let src = ProgramSource::from_text(RELU, WeightSource::None);
        let model = backend.compile(&src, &CompileOptions::default()).unwrap();
        let info = model.info();
        assert_eq!(info.state, ModelState::Compiled);
        assert_eq!(info.function, "main");
        assert_eq!(info.inputs[0].name, "x");
        assert_eq!(info.outputs[0].name, "y");
        assert_eq!(backend.budget().used, 1);
        let err = backend
            .compile(&src, &CompileOptions::default())
            .err()
            .unwrap();
        assert!(matches!(
            err,
            RuntimeError::BudgetExhausted { used: 1, limit: 1 }
        ));
    }

    #[test]
    fn evaluate_before_load_is_a_state_error() {
        let backend = CpuBackend::new(CompileBudget::new(4));
        let src = ProgramSource::from_text(RELU, WeightSource::None);
        let mut model = backend.compile(&src, &CompileOptions::default()).unwrap();
        let err = model.evaluate(&[]).unwrap_err();
        assert_eq!(err.code(), "bad_state");
        model.load().unwrap();
        assert_eq!(model.info().state, ModelState::Loaded);
        model.unload().unwrap();
        assert_eq!(model.info().state, ModelState::Compiled);
    }

    #[test]
    fn a_failed_compile_still_counts() {
        let backend = CpuBackend::new(CompileBudget::new(4));
        let src = ProgramSource::from_text("not mil", WeightSource::None);
        assert!(backend.compile(&src, &CompileOptions::default()).is_err());
        assert_eq!(backend.budget().used, 1);
    }
}
