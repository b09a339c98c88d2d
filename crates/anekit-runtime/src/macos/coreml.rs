//! The `coreml` backend: Core ML's public API with a chosen set of compute units
//! (private-api.md §15). Compile = write/locate an `.mlpackage` ([`crate::plan::package`]) and
//! `+[MLModel compileModelAtURL:error:]`; load = `modelWithContentsOfURL:configuration:error:`
//! with `computeUnits`; evaluate = `predictionFromFeatures:error:` over `MLMultiArray`s. After
//! a load, `MLComputePlan` (macOS 14.4+) reports the device Core ML prefers per ML Program op.
//! Type-checked only; never run on hardware.

use super::ns_error_info;
use crate::budget::{BudgetStatus, CompileBudget};
use crate::compute_plan::{ComputePlan, OpPlacement, device_name};
use crate::error::{RuntimeError, Stage};
use crate::plan::nserror::to_runtime_error;
use crate::plan::package::{CoremlInput, coreml_input};
use crate::source::{ProgramSource, function_io};
use crate::{
    Backend, BackendInfo, BackendKind, CompileOptions, ComputeUnits, IoSpec, LoadInfo, Model,
    ModelInfo, ModelState, NamedTensor,
};
use anekit_core::{DType, TensorData};
use block2::{RcBlock, StackBlock};
use half::f16;
use objc2::AnyThread;
use objc2::rc::Retained;
use objc2::runtime::{AnyClass, AnyObject, ProtocolObject};
use objc2_core_ml::{
    MLComputeDeviceProtocol, MLComputePlan, MLComputeUnits, MLDictionaryFeatureProvider,
    MLFeatureProvider, MLFeatureValue, MLModel, MLModelConfiguration, MLModelStructureProgramBlock,
    MLMultiArray, MLMultiArrayDataType,
};
use objc2_foundation::{NSArray, NSDictionary, NSError, NSInteger, NSNumber, NSString, NSURL};
use std::cell::RefCell;
use std::ffi::c_void;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::mpsc;
use std::time::Duration;

/// How long to wait for `MLComputePlan`'s completion handler.
const COMPUTE_PLAN_TIMEOUT: Duration = Duration::from_secs(60);

/// Core ML as a backend.
#[derive(Debug, Clone)]
pub struct CoremlBackend {
    budget: CompileBudget,
}

impl CoremlBackend {
    /// Check that Core ML's classes are present.
    pub fn open(budget: CompileBudget) -> Result<CoremlBackend, RuntimeError> {
        for name in [c"MLModel", c"MLModelConfiguration", c"MLMultiArray"] {
            if AnyClass::get(name).is_none() {
                return Err(RuntimeError::Unavailable {
                    backend: "coreml".into(),
                    reason: format!("class {} is missing", name.to_string_lossy()),
                });
            }
        }
        Ok(CoremlBackend { budget })
    }
}

fn file_url(path: &Path) -> Retained<NSURL> {
    NSURL::fileURLWithPath(&NSString::from_str(&path.display().to_string()))
}

fn compute_units(units: ComputeUnits) -> MLComputeUnits {
    match units {
        ComputeUnits::All => MLComputeUnits::All,
        ComputeUnits::CpuAndNeuralEngine => MLComputeUnits::CPUAndNeuralEngine,
        ComputeUnits::CpuOnly => MLComputeUnits::CPUOnly,
    }
}

/// A compiled Core ML model.
pub struct CoremlModel {
    compiled: PathBuf,
    units: ComputeUnits,
    function: String,
    inputs: Vec<IoSpec>,
    outputs: Vec<IoSpec>,
    model: Option<Retained<MLModel>>,
    /// Holds the written package, when there is one.
    _dir: tempfile::TempDir,
}

// SAFETY: `MLModel` has no thread affinity; anekit uses one model from one thread at a time
// (every call takes `&mut self`).
unsafe impl Send for CoremlModel {}

impl Backend for CoremlBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Coreml
    }

    fn compile(
        &self,
        source: &ProgramSource,
        options: &CompileOptions,
    ) -> Result<Box<dyn Model>, RuntimeError> {
        let program = source.program()?;
        let io = function_io(&program, options.function.as_deref())?;
        let dir = tempfile::Builder::new()
            .prefix("anekit-coreml-")
            .tempdir()
            .map_err(|e| RuntimeError::io(std::env::temp_dir(), e))?;
        let compiled = match coreml_input(source, dir.path())? {
            CoremlInput::Compiled(path) => path,
            CoremlInput::Package(path) => {
                self.budget.acquire()?;
                let url = file_url(&path);
                // The synchronous form is what a command-line tool wants; Apple deprecated it
                // in favour of a completion handler.
                #[allow(deprecated)]
                // SAFETY: a file URL; returns the compiled model's URL or an NSError.
                let compiled = unsafe { MLModel::compileModelAtURL_error(&url) }
                    .map_err(|e| to_runtime_error(Stage::Compile, Some(&ns_error_info(&e))))?;
                let path = compiled.path().ok_or_else(|| RuntimeError::Framework {
                    stage: Stage::Compile,
                    kind: crate::plan::nserror::FrameworkErrorKind::Other,
                    message: "the compiled model URL has no path".into(),
                })?;
                PathBuf::from(path.to_string())
            }
        };
        Ok(Box::new(CoremlModel {
            compiled,
            units: options.compute_units,
            function: io.name,
            inputs: io.inputs,
            outputs: io.outputs,
            model: None,
            _dir: dir,
        }))
    }

    fn budget(&self) -> BudgetStatus {
        self.budget.status()
    }

    fn info(&self) -> BackendInfo {
        BackendInfo {
            kind: BackendKind::Coreml,
            device: "Core ML (public API)".into(),
            budget: self.budget.status(),
        }
    }
}

/// An `MLMultiArray` holding `tensor` as fp16 or fp32 (the declared type).
fn multi_array(
    spec: &IoSpec,
    tensor: &NamedTensor,
) -> Result<Retained<MLMultiArray>, RuntimeError> {
    let bad = |reason: String| RuntimeError::Input {
        name: spec.name.clone(),
        reason,
    };
    let (data_type, bytes): (MLMultiArrayDataType, Vec<u8>) = match spec.dtype {
        DType::Fp16 => {
            let TensorData::F16(v) = tensor
                .data
                .convert(DType::Fp16)
                .map_err(|e| bad(e.to_string()))?
            else {
                return Err(bad("cannot convert to fp16".into()));
            };
            (
                MLMultiArrayDataType::Float16,
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            )
        }
        DType::Fp32 => {
            let TensorData::F32(v) = tensor
                .data
                .convert(DType::Fp32)
                .map_err(|e| bad(e.to_string()))?
            else {
                return Err(bad("cannot convert to fp32".into()));
            };
            (
                MLMultiArrayDataType::Float32,
                v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            )
        }
        other => {
            return Err(bad(format!(
                "{other} inputs are not supported by this backend"
            )));
        }
    };
    let dims: Vec<Retained<NSNumber>> = tensor
        .shape
        .iter()
        .map(|&d| NSNumber::new_usize(d))
        .collect();
    let shape = NSArray::from_retained_slice(&dims);
    // SAFETY: a shape of NSNumbers and a supported data type; returns the array or an NSError.
    let array = unsafe {
        MLMultiArray::initWithShape_dataType_error(MLMultiArray::alloc(), &shape, data_type)
    }
    .map_err(|e| bad(ns_error_info(&e).description))?;
    let failure: RefCell<Option<String>> = RefCell::new(None);
    let block = StackBlock::new(
        |ptr: NonNull<c_void>, size: NSInteger, _strides: NonNull<NSArray<NSNumber>>| {
            // A freshly created array is first-major contiguous, so the buffer is the tensor.
            if usize::try_from(size).ok() != Some(bytes.len()) {
                *failure.borrow_mut() = Some(format!(
                    "MLMultiArray buffer is {size} bytes, {} expected",
                    bytes.len()
                ));
                return;
            }
            // SAFETY: Core ML passes a writable buffer of `size` bytes, valid inside the block;
            // `size` equals `bytes.len()` (checked above).
            unsafe {
                std::ptr::copy_nonoverlapping(
                    bytes.as_ptr(),
                    ptr.as_ptr().cast::<u8>(),
                    bytes.len(),
                )
            };
        },
    );
    // SAFETY: the block only writes within the buffer Core ML hands it.
    unsafe { array.getMutableBytesWithHandler(&block) };
    if let Some(reason) = failure.into_inner() {
        return Err(bad(reason));
    }
    Ok(array)
}

/// Read an `MLMultiArray` (contiguous fp16, fp32 or fp64) into a tensor.
fn read_multi_array(name: &str, array: &MLMultiArray) -> Result<NamedTensor, RuntimeError> {
    let fail = |reason: String| RuntimeError::Framework {
        stage: Stage::Evaluate,
        kind: crate::plan::nserror::FrameworkErrorKind::Other,
        message: format!("output `{name}`: {reason}"),
    };
    // SAFETY: plain property reads.
    let (shape, strides, data_type) = unsafe { (array.shape(), array.strides(), array.dataType()) };
    let shape: Vec<usize> = shape.iter().map(|n| n.as_usize()).collect();
    let strides: Vec<usize> = strides.iter().map(|n| n.as_usize()).collect();
    let mut expected = 1usize;
    for (dim, stride) in shape.iter().zip(&strides).rev() {
        if *stride != expected {
            return Err(fail("non-contiguous MLMultiArray".into()));
        }
        expected = expected.saturating_mul(*dim);
    }
    let bytes: RefCell<Vec<u8>> = RefCell::new(Vec::new());
    let block = StackBlock::new(|ptr: NonNull<c_void>, size: NSInteger| {
        let len = usize::try_from(size).unwrap_or(0);
        // SAFETY: Core ML passes a readable buffer of `size` bytes, valid inside the block.
        let slice = unsafe { std::slice::from_raw_parts(ptr.as_ptr().cast::<u8>(), len) };
        bytes.borrow_mut().extend_from_slice(slice);
    });
    // SAFETY: the block only reads the buffer Core ML hands it.
    unsafe { array.getBytesWithHandler(&block) };
    let bytes = bytes.into_inner();
    let data = if data_type == MLMultiArrayDataType::Float16 {
        TensorData::F16(
            bytes
                .chunks_exact(2)
                .map(|c| f16::from_le_bytes([c[0], c[1]]))
                .collect(),
        )
    } else if data_type == MLMultiArrayDataType::Float32 {
        TensorData::F32(
            bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        )
    } else if data_type == MLMultiArrayDataType::Float64 {
        TensorData::F64(
            bytes
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect(),
        )
    } else {
        return Err(fail(format!(
            "unsupported MLMultiArray data type {}",
            data_type.0
        )));
    };
    if data.len() != expected {
        return Err(fail(format!(
            "{} elements read, shape {shape:?} has {expected}",
            data.len()
        )));
    }
    Ok(NamedTensor {
        name: name.to_string(),
        shape,
        data,
    })
}

impl Model for CoremlModel {
    fn info(&self) -> ModelInfo {
        ModelInfo {
            backend: BackendKind::Coreml,
            identifier: self.compiled.display().to_string(),
            function: self.function.clone(),
            state: if self.model.is_some() {
                ModelState::Loaded
            } else {
                ModelState::Compiled
            },
            inputs: self.inputs.clone(),
            outputs: self.outputs.clone(),
            warnings: Vec::new(),
        }
    }

    fn load(&mut self) -> Result<LoadInfo, RuntimeError> {
        // SAFETY: a fresh configuration object; setting a documented enum value.
        let config = unsafe {
            let config = MLModelConfiguration::new();
            config.setComputeUnits(compute_units(self.units));
            config
        };
        let url = file_url(&self.compiled);
        // SAFETY: a file URL of a compiled model and a configuration; returns the model or an
        // NSError.
        let model = unsafe { MLModel::modelWithContentsOfURL_configuration_error(&url, &config) }
            .map_err(|e| to_runtime_error(Stage::Load, Some(&ns_error_info(&e))))?;
        self.model = Some(model);
        Ok(LoadInfo {
            program_handle: None,
            from_cache: false,
            attempts: 1,
            compute_plan: Some(compute_plan(&url, &config)),
        })
    }

    fn evaluate_into(
        &mut self,
        inputs: &[NamedTensor],
        outputs: &mut Vec<NamedTensor>,
    ) -> Result<(), RuntimeError> {
        let Some(model) = &self.model else {
            return Err(RuntimeError::State {
                model: self.compiled.display().to_string(),
                state: "compiled",
                wanted: "load it before evaluating",
            });
        };
        let mut names = Vec::new();
        let mut values = Vec::new();
        for spec in &self.inputs {
            let given =
                inputs
                    .iter()
                    .find(|t| t.name == spec.name)
                    .ok_or_else(|| RuntimeError::Input {
                        name: spec.name.clone(),
                        reason: "missing".into(),
                    })?;
            let array = multi_array(spec, given)?;
            // SAFETY: wraps a valid multi-array.
            values.push(unsafe { MLFeatureValue::featureValueWithMultiArray(&array) });
            names.push(NSString::from_str(&spec.name));
        }
        let name_refs: Vec<&NSString> = names.iter().map(|n| &**n).collect();
        let value_refs: Vec<&AnyObject> = values.iter().map(|v| v.as_ref()).collect();
        let dict: Retained<NSDictionary<NSString, AnyObject>> =
            NSDictionary::from_slices(&name_refs, &value_refs);
        // SAFETY: a dictionary of name -> MLFeatureValue, as the initializer documents.
        let provider = unsafe {
            MLDictionaryFeatureProvider::initWithDictionary_error(
                MLDictionaryFeatureProvider::alloc(),
                &dict,
            )
        }
        .map_err(|e| to_runtime_error(Stage::Evaluate, Some(&ns_error_info(&e))))?;
        let provider: &ProtocolObject<dyn MLFeatureProvider> = ProtocolObject::from_ref(&*provider);
        // SAFETY: a loaded model and a feature provider; returns the outputs or an NSError.
        let result = unsafe { model.predictionFromFeatures_error(provider) }
            .map_err(|e| to_runtime_error(Stage::Evaluate, Some(&ns_error_info(&e))))?;
        outputs.clear();
        for spec in &self.outputs {
            let name = NSString::from_str(&spec.name);
            // SAFETY: looking a feature up by name; nil when absent.
            let value = unsafe { result.featureValueForName(&name) };
            // SAFETY: reading the multi-array of a feature value; nil for other kinds.
            let array = value.and_then(|v| unsafe { v.multiArrayValue() });
            let array = array.ok_or_else(|| RuntimeError::Framework {
                stage: Stage::Evaluate,
                kind: crate::plan::nserror::FrameworkErrorKind::Other,
                message: format!("output `{}` is missing or not a multi-array", spec.name),
            })?;
            outputs.push(read_multi_array(&spec.name, &array)?);
        }
        Ok(())
    }

    fn unload(&mut self) -> Result<(), RuntimeError> {
        self.model = None;
        Ok(())
    }
}

/// The class name of a compute device object.
fn device_class(device: &ProtocolObject<dyn MLComputeDeviceProtocol>) -> String {
    let object: &AnyObject = device.as_ref();
    device_name(&object.class().name().to_string_lossy())
}

/// Build the compute plan of the compiled model at `url` with the load's configuration and
/// list the preferred and supported devices of every ML Program operation. Any failure is
/// reported as [`ComputePlan::Unavailable`] with the reason: the plan is information, the
/// model is loaded either way.
fn compute_plan(url: &NSURL, config: &MLModelConfiguration) -> ComputePlan {
    let unavailable = |reason: String| ComputePlan::Unavailable { reason };
    // A runtime check, not a version number: the class is what the OS offers or not.
    if AnyClass::get(c"MLComputePlan").is_none() {
        return unavailable("MLComputePlan is missing (it needs macOS 14.4 or later)".into());
    }
    let (tx, rx) = mpsc::channel::<Result<Retained<MLComputePlan>, String>>();
    let handler = RcBlock::new(move |plan: *mut MLComputePlan, error: *mut NSError| {
        // SAFETY: Core ML passes a valid plan or null, valid for the call; retaining keeps it
        // alive after the handler returns.
        let result = match unsafe { Retained::retain(plan) } {
            Some(plan) => Ok(plan),
            // SAFETY: null or a valid NSError for the duration of the call.
            None => Err(match unsafe { error.as_ref() } {
                Some(e) => ns_error_info(e).description,
                None => "no plan and no error returned".into(),
            }),
        };
        // The receiver may have timed out and gone; nothing to do then.
        let _ = tx.send(result);
    });
    // SAFETY: the class exists (checked above); a file URL of a compiled model, a
    // configuration and a heap block that lives as long as Core ML keeps it.
    unsafe {
        MLComputePlan::loadContentsOfURL_configuration_completionHandler(url, config, &handler)
    };
    let plan = match rx.recv_timeout(COMPUTE_PLAN_TIMEOUT) {
        Ok(Ok(plan)) => plan,
        Ok(Err(reason)) => return unavailable(format!("MLComputePlan failed: {reason}")),
        Err(_) => {
            return unavailable(format!(
                "MLComputePlan did not answer within {} s",
                COMPUTE_PLAN_TIMEOUT.as_secs()
            ));
        }
    };
    // SAFETY: plain property reads on a plan no other thread uses any more.
    let Some(program) = (unsafe { plan.modelStructure().program() }) else {
        return unavailable(
            "the model is not an ML Program (per-op placement is reported for ML Programs only)"
                .into(),
        );
    };
    let mut ops = Vec::new();
    // SAFETY: a property read returning a dictionary of function name -> function.
    let (names, functions) = unsafe { program.functions() }.to_vecs();
    for (name, function) in names.iter().zip(&functions) {
        // SAFETY: a property read.
        let block = unsafe { function.block() };
        walk_block(&plan, &name.to_string(), &block, &mut ops);
    }
    ComputePlan::from_ops(ops)
}

/// Record every operation of `block` and of the blocks nested in its operations.
fn walk_block(
    plan: &MLComputePlan,
    function: &str,
    block: &MLModelStructureProgramBlock,
    ops: &mut Vec<OpPlacement>,
) {
    // SAFETY: property reads.
    for op in unsafe { block.operations() }.iter() {
        // SAFETY: property reads of an operation of this plan's model structure.
        let (operator, output) = unsafe {
            (
                op.operatorName().to_string(),
                op.outputs().firstObject().map(|v| v.name().to_string()),
            )
        };
        // SAFETY: the operation comes from this plan's model structure, as the method needs.
        let usage = unsafe { plan.computeDeviceUsageForMLProgramOperation(&op) };
        let (preferred, supported) = match usage {
            // SAFETY: property reads of the usage object.
            Some(usage) => unsafe {
                (
                    Some(device_class(&usage.preferredComputeDevice())),
                    usage
                        .supportedComputeDevices()
                        .iter()
                        .map(|d| device_class(&d))
                        .collect(),
                )
            },
            None => (None, Vec::new()),
        };
        ops.push(OpPlacement {
            function: function.to_string(),
            operator,
            output,
            preferred,
            supported,
        });
        // SAFETY: a property read.
        for nested in unsafe { op.blocks() }.iter() {
            walk_block(plan, function, &nested, ops);
        }
    }
}
