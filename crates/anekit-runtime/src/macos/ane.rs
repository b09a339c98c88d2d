//! [`AneDriver`] over AppleNeuralEngine.framework's in-memory API (private-api.md §2).
//! Type-checked only; never run on hardware.

use super::{class_has_class_method, class_has_instance_method, ns_error_opt, responds};
use crate::EvalPath;
use crate::ane::{AneDriver, DriverError};
use crate::error::RuntimeError;
use crate::plan::request::RequestPlan;
use crate::plan::surface::SurfaceSpec;
use crate::plan::weights::WeightsDictionary;
use objc2::rc::Retained;
use objc2::runtime::{AnyClass, AnyObject, Bool, Sel};
use objc2::{msg_send, sel};
use objc2_core_foundation::{CFDictionary, CFRetained};
use objc2_foundation::{
    NSArray, NSData, NSDictionary, NSError, NSNumber, NSString, NSTemporaryDirectory, ns_string,
};
use objc2_io_surface::{IOSurfaceLockOptions, IOSurfaceRef};
use std::ffi::CStr;
use std::path::PathBuf;

/// Where the framework lives (dlopen'ed, as every known client does).
pub const FRAMEWORK_PATH: &CStr =
    c"/System/Library/PrivateFrameworks/AppleNeuralEngine.framework/AppleNeuralEngine";

/// The classes the in-memory path needs.
#[derive(Debug, Clone, Copy)]
struct Classes {
    descriptor: &'static AnyClass,
    model: &'static AnyClass,
    request: &'static AnyClass,
    surface_object: &'static AnyClass,
    /// `_ANEClient`, only for the real-time evaluate path.
    client: Option<&'static AnyClass>,
}

/// The framework, opened and checked.
#[derive(Debug)]
pub struct ObjcDriver {
    classes: Classes,
}

/// An `_ANEInMemoryModel`.
pub struct ObjcModel(Retained<AnyObject>);
/// An IOSurface and its `_ANEIOSurfaceObject`.
pub struct ObjcSurface {
    surface: CFRetained<IOSurfaceRef>,
    object: Retained<AnyObject>,
}
/// An `_ANERequest`.
pub struct ObjcRequest(Retained<AnyObject>);

// SAFETY: the handles are reference-counted Objective-C/CoreFoundation objects without thread
// affinity (the reference projects use them from GCD queues). anekit never uses one handle
// from two threads at once: `AneModel` takes `&mut self` for every call that touches them.
unsafe impl Send for ObjcModel {}
// SAFETY: as for `ObjcModel`.
unsafe impl Send for ObjcSurface {}
// SAFETY: as for `ObjcModel`.
unsafe impl Send for ObjcRequest {}

fn unavailable(reason: String) -> RuntimeError {
    RuntimeError::Unavailable {
        backend: "ane".into(),
        reason,
    }
}

fn empty_options() -> Retained<NSDictionary<NSString, AnyObject>> {
    NSDictionary::new()
}

fn failed(ok: bool, error: Option<Retained<NSError>>) -> Result<(), DriverError> {
    if ok {
        Ok(())
    } else {
        Err(DriverError::Failed(ns_error_opt(error)))
    }
}

fn require(object: &AnyObject, sel: Sel) -> Result<(), DriverError> {
    if responds(object, sel) {
        Ok(())
    } else {
        Err(DriverError::Missing(format!(
            "-[{} {}]",
            object.class().name().to_string_lossy(),
            sel.name().to_string_lossy()
        )))
    }
}

impl ObjcDriver {
    /// dlopen the framework and look up every class and selector the sequence uses.
    pub fn open() -> Result<ObjcDriver, RuntimeError> {
        // SAFETY: a NUL-terminated path and a valid flag. The handle is never closed: the
        // classes it registers must stay valid for the life of the process.
        let handle = unsafe { libc::dlopen(FRAMEWORK_PATH.as_ptr(), libc::RTLD_NOW) };
        if handle.is_null() {
            // SAFETY: dlerror returns NULL or a NUL-terminated string owned by libc.
            let detail = unsafe {
                let e = libc::dlerror();
                if e.is_null() {
                    String::from("unknown error")
                } else {
                    CStr::from_ptr(e).to_string_lossy().into_owned()
                }
            };
            return Err(unavailable(format!(
                "cannot load {}: {detail}",
                FRAMEWORK_PATH.to_string_lossy()
            )));
        }
        let class = |name: &CStr| {
            AnyClass::get(name).ok_or_else(|| {
                unavailable(format!(
                    "class {} is missing from AppleNeuralEngine.framework",
                    name.to_string_lossy()
                ))
            })
        };
        let classes = Classes {
            descriptor: class(c"_ANEInMemoryModelDescriptor")?,
            model: class(c"_ANEInMemoryModel")?,
            request: class(c"_ANERequest")?,
            surface_object: class(c"_ANEIOSurfaceObject")?,
            client: AnyClass::get(c"_ANEClient"),
        };
        let class_methods = [
            (
                classes.descriptor,
                sel!(modelWithMILText:weights:optionsPlist:),
            ),
            (classes.model, sel!(inMemoryModelWithDescriptor:)),
            (
                classes.request,
                sel!(requestWithInputs:inputIndices:outputs:outputIndices:weightsBuffer:perfStats:procedureIndex:),
            ),
            (classes.surface_object, sel!(objectWithIOSurface:)),
        ];
        let instance_methods = [
            sel!(hexStringIdentifier),
            sel!(compileWithQoS:options:error:),
            sel!(loadWithQoS:options:error:),
            sel!(evaluateWithQoS:options:request:error:),
            sel!(unloadWithQoS:error:),
        ];
        for (cls, sel) in class_methods {
            if !class_has_class_method(cls, sel) {
                return Err(unavailable(format!(
                    "+[{} {}] is missing",
                    cls.name().to_string_lossy(),
                    sel.name().to_string_lossy()
                )));
            }
        }
        for sel in instance_methods {
            if !class_has_instance_method(classes.model, sel) {
                return Err(unavailable(format!(
                    "-[_ANEInMemoryModel {}] is missing",
                    sel.name().to_string_lossy()
                )));
            }
        }
        Ok(ObjcDriver { classes })
    }

    fn weights_dictionary(
        weights: &WeightsDictionary,
    ) -> Retained<NSDictionary<NSString, NSDictionary<NSString, AnyObject>>> {
        let keys: Vec<Retained<NSString>> = weights
            .entries
            .iter()
            .map(|e| NSString::from_str(&e.key))
            .collect();
        let values: Vec<Retained<NSDictionary<NSString, AnyObject>>> = weights
            .entries
            .iter()
            .map(|e| {
                let offset = NSNumber::new_u64(e.offset);
                let data = NSData::with_bytes(&e.data);
                let objects: [&AnyObject; 2] = [offset.as_ref(), data.as_ref()];
                NSDictionary::from_slices(&[ns_string!("offset"), ns_string!("data")], &objects)
            })
            .collect();
        let key_refs: Vec<&NSString> = keys.iter().map(|k| &**k).collect();
        let value_refs: Vec<&NSDictionary<NSString, AnyObject>> =
            values.iter().map(|v| &**v).collect();
        NSDictionary::from_slices(&key_refs, &value_refs)
    }
}

impl AneDriver for ObjcDriver {
    type Model = ObjcModel;
    type Surface = ObjcSurface;
    type Request = ObjcRequest;

    fn temp_root(&self) -> PathBuf {
        PathBuf::from(NSTemporaryDirectory().to_string())
    }

    fn describe(&self, mil: &[u8], weights: &WeightsDictionary) -> Result<ObjcModel, DriverError> {
        // The MIL goes in as NSData of the UTF-8 text (NSString fails silently, §2 step 1).
        let text = NSData::with_bytes(mil);
        let dict = Self::weights_dictionary(weights);
        let no_options: Option<&AnyObject> = None;
        // SAFETY: the selector was checked in `open`; the argument types are those every
        // known caller passes (NSData, NSDictionary, nil) and the result is an object or nil.
        let descriptor: Option<Retained<AnyObject>> = unsafe {
            msg_send![self.classes.descriptor, modelWithMILText: &*text, weights: &*dict, optionsPlist: no_options]
        };
        let descriptor = descriptor.ok_or(DriverError::Failed(None))?;
        // SAFETY: checked in `open`; takes the descriptor object, returns an object or nil.
        let model: Option<Retained<AnyObject>> =
            unsafe { msg_send![self.classes.model, inMemoryModelWithDescriptor: &*descriptor] };
        model.map(ObjcModel).ok_or(DriverError::Failed(None))
    }

    fn hex_identifier(&self, model: &ObjcModel) -> Result<String, DriverError> {
        // SAFETY: checked in `open`; returns an NSString (or nil).
        let id: Option<Retained<NSString>> = unsafe { msg_send![&*model.0, hexStringIdentifier] };
        id.map(|s| s.to_string())
            .ok_or_else(|| DriverError::Other("hexStringIdentifier returned nil".into()))
    }

    fn compile(&self, model: &ObjcModel, qos: u32) -> Result<(), DriverError> {
        let options = empty_options();
        let mut error: Option<Retained<NSError>> = None;
        // SAFETY: checked in `open`; (unsigned int, NSDictionary*, NSError**) -> BOOL.
        let ok: bool = unsafe {
            msg_send![&*model.0, compileWithQoS: qos, options: &*options, error: &mut error]
        };
        failed(ok, error)
    }

    fn load(&self, model: &ObjcModel, qos: u32) -> Result<(), DriverError> {
        let options = empty_options();
        let mut error: Option<Retained<NSError>> = None;
        // SAFETY: checked in `open`; (unsigned int, NSDictionary*, NSError**) -> BOOL.
        let ok: bool = unsafe {
            msg_send![&*model.0, loadWithQoS: qos, options: &*options, error: &mut error]
        };
        failed(ok, error)
    }

    fn program_handle(&self, model: &ObjcModel) -> Option<u64> {
        if !responds(&model.0, sel!(programHandle)) {
            return None;
        }
        // SAFETY: the model answers `programHandle`, a uint64 property.
        let handle: u64 = unsafe { msg_send![&*model.0, programHandle] };
        Some(handle)
    }

    fn create_surface(&self, spec: &SurfaceSpec) -> Result<ObjcSurface, DriverError> {
        let props = spec.properties();
        let keys: Vec<Retained<NSString>> =
            props.iter().map(|(k, _)| NSString::from_str(k)).collect();
        let values: Vec<Retained<NSNumber>> =
            props.iter().map(|&(_, v)| NSNumber::new_u64(v)).collect();
        let key_refs: Vec<&NSString> = keys.iter().map(|k| &**k).collect();
        let value_refs: Vec<&NSNumber> = values.iter().map(|v| &**v).collect();
        let dict: Retained<NSDictionary<NSString, NSNumber>> =
            NSDictionary::from_slices(&key_refs, &value_refs);
        // SAFETY: NSDictionary is toll-free bridged with CFDictionary, so the object pointer is
        // a valid CFDictionaryRef; `dict` outlives the borrow.
        let cf: &CFDictionary = unsafe { &*Retained::as_ptr(&dict).cast::<CFDictionary>() };
        // SAFETY: `cf` holds the six properties IOSurfaceCreate documents (string keys, number
        // values).
        let surface = unsafe { IOSurfaceRef::new(cf) }.ok_or_else(|| {
            DriverError::Other(format!("IOSurfaceCreate failed for `{}`", spec.name))
        })?;
        // SAFETY: checked in `open`; takes an IOSurfaceRef, returns an object or nil.
        let object: Option<Retained<AnyObject>> =
            unsafe { msg_send![self.classes.surface_object, objectWithIOSurface: &*surface] };
        let object = object.ok_or(DriverError::Failed(None))?;
        if surface.alloc_size() < spec.alloc_size {
            return Err(DriverError::Other(format!(
                "IOSurface for `{}` has {} bytes, {} asked",
                spec.name,
                surface.alloc_size(),
                spec.alloc_size
            )));
        }
        Ok(ObjcSurface { surface, object })
    }

    fn write_surface(&self, surface: &ObjcSurface, bytes: &[u8]) -> Result<(), DriverError> {
        let s = &surface.surface;
        if bytes.len() > s.alloc_size() {
            return Err(DriverError::Other("write larger than the surface".into()));
        }
        // SAFETY: a null seed pointer is allowed.
        let kr = unsafe { s.lock(IOSurfaceLockOptions::empty(), std::ptr::null_mut()) };
        if kr != 0 {
            return Err(DriverError::Other(format!("IOSurfaceLock returned {kr}")));
        }
        // SAFETY: the surface is locked and its base address points at `alloc_size` bytes,
        // which is at least `bytes.len()` (checked above); the regions cannot overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                s.base_address().as_ptr().cast::<u8>(),
                bytes.len(),
            );
        }
        // SAFETY: unlocking the lock taken above with the same options.
        let kr = unsafe { s.unlock(IOSurfaceLockOptions::empty(), std::ptr::null_mut()) };
        if kr != 0 {
            return Err(DriverError::Other(format!("IOSurfaceUnlock returned {kr}")));
        }
        Ok(())
    }

    fn read_surface(&self, surface: &ObjcSurface, out: &mut [u8]) -> Result<(), DriverError> {
        let s = &surface.surface;
        if out.len() > s.alloc_size() {
            return Err(DriverError::Other("read larger than the surface".into()));
        }
        // SAFETY: a null seed pointer is allowed.
        let kr = unsafe { s.lock(IOSurfaceLockOptions::ReadOnly, std::ptr::null_mut()) };
        if kr != 0 {
            return Err(DriverError::Other(format!("IOSurfaceLock returned {kr}")));
        }
        // SAFETY: locked read-only; the base address holds `alloc_size` >= `out.len()` bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(
                s.base_address().as_ptr().cast::<u8>(),
                out.as_mut_ptr(),
                out.len(),
            );
        }
        // SAFETY: unlocking the lock taken above with the same options.
        let kr = unsafe { s.unlock(IOSurfaceLockOptions::ReadOnly, std::ptr::null_mut()) };
        if kr != 0 {
            return Err(DriverError::Other(format!("IOSurfaceUnlock returned {kr}")));
        }
        Ok(())
    }

    fn create_request(
        &self,
        inputs: &[&ObjcSurface],
        outputs: &[&ObjcSurface],
        plan: &RequestPlan,
    ) -> Result<ObjcRequest, DriverError> {
        let objects = |surfaces: &[&ObjcSurface]| -> Retained<NSArray<AnyObject>> {
            let refs: Vec<&AnyObject> = surfaces.iter().map(|s| &*s.object).collect();
            NSArray::from_slice(&refs)
        };
        let indices = |idx: &[u32]| -> Retained<NSArray<NSNumber>> {
            let numbers: Vec<Retained<NSNumber>> =
                idx.iter().map(|&i| NSNumber::new_u32(i)).collect();
            NSArray::from_retained_slice(&numbers)
        };
        let ins = objects(inputs);
        let outs = objects(outputs);
        let in_idx = indices(&plan.input_indices);
        let out_idx = indices(&plan.output_indices);
        // The procedure index is an NSNumber object, not a raw integer (§2 step 9).
        let procedure = NSNumber::new_u32(plan.procedure_index);
        let none: Option<&AnyObject> = None;
        // SAFETY: checked in `open`; every argument is an object (arrays, nil, nil, NSNumber)
        // as the reference projects pass them; returns an object or nil.
        let request: Option<Retained<AnyObject>> = unsafe {
            msg_send![
                self.classes.request,
                requestWithInputs: &*ins,
                inputIndices: &*in_idx,
                outputs: &*outs,
                outputIndices: &*out_idx,
                weightsBuffer: none,
                perfStats: none,
                procedureIndex: &*procedure
            ]
        };
        request.map(ObjcRequest).ok_or(DriverError::Failed(None))
    }

    fn evaluate(
        &self,
        model: &ObjcModel,
        request: &ObjcRequest,
        path: EvalPath,
        qos: u32,
    ) -> Result<(), DriverError> {
        let options = empty_options();
        let mut error: Option<Retained<NSError>> = None;
        match path {
            EvalPath::Standard => {
                // SAFETY: checked in `open`; (unsigned int, NSDictionary*, _ANERequest*,
                // NSError**) -> BOOL; synchronous.
                let ok: bool = unsafe {
                    msg_send![&*model.0, evaluateWithQoS: qos, options: &*options, request: &*request.0, error: &mut error]
                };
                failed(ok, error)
            }
            EvalPath::RealTime => {
                let client_class = self
                    .classes
                    .client
                    .ok_or_else(|| DriverError::Missing("class _ANEClient".into()))?;
                if !class_has_class_method(client_class, sel!(sharedConnection)) {
                    return Err(DriverError::Missing(
                        "+[_ANEClient sharedConnection]".into(),
                    ));
                }
                // SAFETY: the class answers `sharedConnection` (checked), returning the client.
                let client: Option<Retained<AnyObject>> =
                    unsafe { msg_send![client_class, sharedConnection] };
                let client = client.ok_or(DriverError::Failed(None))?;
                require(
                    &client,
                    sel!(evaluateRealTimeWithModel:options:request:error:),
                )?;
                // SAFETY: checked just above; (model, NSDictionary*, request, NSError**) -> BOOL.
                let ok: bool = unsafe {
                    msg_send![&*client, evaluateRealTimeWithModel: &*model.0, options: &*options, request: &*request.0, error: &mut error]
                };
                failed(ok, error)
            }
            EvalPath::ProcessRequest => {
                require(&model.0, sel!(program))?;
                // SAFETY: the model answers `program` (checked), an object property.
                let program: Option<Retained<AnyObject>> = unsafe { msg_send![&*model.0, program] };
                let program = program.ok_or(DriverError::Failed(None))?;
                require(
                    &program,
                    sel!(processRequest:model:qos:qIndex:modelStringID:options:returnValue:error:),
                )?;
                // SAFETY: checked in `open`.
                let id: Option<Retained<NSString>> =
                    unsafe { msg_send![&*model.0, hexStringIdentifier] };
                let id = id.ok_or(DriverError::Failed(None))?;
                let mut return_value = Bool::NO;
                let return_ptr: *mut Bool = &mut return_value;
                // SAFETY: checked just above; arguments as dev-erik passes them: request, model,
                // qos (unsigned int), qIndex (int 0), the hex identifier, options, a BOOL* that
                // outlives the call, NSError**.
                let ok: bool = unsafe {
                    msg_send![
                        &*program,
                        processRequest: &*request.0,
                        model: &*model.0,
                        qos: qos,
                        qIndex: 0i32,
                        modelStringID: &*id,
                        options: &*options,
                        returnValue: return_ptr,
                        error: &mut error
                    ]
                };
                failed(ok && return_value.as_bool(), error)
            }
        }
    }

    fn unload(&self, model: &ObjcModel, qos: u32) -> Result<(), DriverError> {
        let mut error: Option<Retained<NSError>> = None;
        // SAFETY: checked in `open`; (unsigned int, NSError**) -> BOOL.
        let ok: bool = unsafe { msg_send![&*model.0, unloadWithQoS: qos, error: &mut error] };
        failed(ok, error)
    }
}
