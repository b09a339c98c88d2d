//! `ane probe` on macOS: every Objective-C/C call of the probe (issue #10 item 1). What the
//! results mean — the sentinel analysis, the comparison with the descriptor table, the report
//! layout — is portable code in `anekit_kb::probe`, tested on Linux.
//!
//! Each step is tried and recorded; a failing step never aborts the probe. Nothing is called
//! with arguments the reference does not document: class methods are called only when they take
//! no argument and their return type encoding is one this file knows how to read, and
//! initializers only after their argument encoding is checked.
//!
//! Type-checked only; never run on hardware.

use super::{class_has_class_method, class_has_instance_method};
use crate::{BackendConfig, CompileOptions, ProgramSource, WeightSource, select_backend};
use anekit_core::TensorData;
use anekit_cpu::exec::NamedTensor;
use anekit_kb::descriptors;
use anekit_kb::objc::{self, MemberKind};
use anekit_kb::probe::{
    self, BUFFER_LEN, ClassDump, ClassPresence, DescriptorSize, DeviceInfoValue, FRAMEWORKS,
    FrameworkLoad, ImageDump, InfoValue, MacProbe, MatrixEntry, MethodDump, SENTINELS, Status,
    SystemInfo,
};
use half::f16;
use objc2::rc::{Allocated, Retained, autoreleasepool};
use objc2::runtime::{AnyClass, AnyObject, Bool, MessageReceiver, Method, Sel};
use objc2::{ffi, msg_send, sel};
use objc2_foundation::NSString;
use std::ffi::{CStr, CString, c_char, c_uint, c_void};

/// Largest sysctl value read (the strings probed are a few dozen bytes).
const MAX_SYSCTL_LEN: usize = 1 << 16;

/// Run every probe step.
pub fn probe() -> MacProbe {
    let mut handles = Vec::new();
    let frameworks: Vec<FrameworkLoad> = FRAMEWORKS
        .iter()
        .map(|path| {
            let (load, handle) = open_framework(path);
            handles.push(handle);
            load
        })
        .collect();
    let compiler = FRAMEWORKS
        .iter()
        .zip(&handles)
        .find(|(p, _)| p.contains("/ANECompiler.framework/"))
        .and_then(|(_, h)| *h);
    let descriptor_sizes = descriptor_sizes(compiler);
    let entitlement_matrix = entitlement_matrix(&frameworks, &descriptor_sizes);
    MacProbe {
        system: system_info(),
        device_info: device_info(),
        classes: class_presence(),
        class_dump: class_dump(),
        frameworks,
        entitlement_matrix,
        descriptor_sizes,
    }
}

/// A `dlopen`/`dlsym` handle.
#[derive(Clone, Copy)]
struct Handle(*mut c_void);

fn dl_error() -> String {
    // SAFETY: dlerror returns NULL or a NUL-terminated string owned by libc, copied at once.
    unsafe {
        let e = libc::dlerror();
        if e.is_null() {
            String::from("unknown error")
        } else {
            CStr::from_ptr(e).to_string_lossy().into_owned()
        }
    }
}

fn open_framework(path: &str) -> (FrameworkLoad, Option<Handle>) {
    let failed = |error: String| FrameworkLoad {
        path: path.to_string(),
        loaded: false,
        error: Some(error),
    };
    let Ok(c_path) = CString::new(path) else {
        return (failed("path holds a NUL byte".into()), None);
    };
    // SAFETY: a NUL-terminated path and a valid flag. The handle is never closed: the classes
    // a framework registers must stay valid for the life of the process.
    let handle = unsafe { libc::dlopen(c_path.as_ptr(), libc::RTLD_NOW) };
    if handle.is_null() {
        return (failed(dl_error()), None);
    }
    let load = FrameworkLoad {
        path: path.to_string(),
        loaded: true,
        error: None,
    };
    (load, Some(Handle(handle)))
}

/// A string sysctl, `None` when it does not exist or does not fit.
fn sysctl_string(name: &CStr) -> Option<String> {
    let mut len: libc::size_t = 0;
    // SAFETY: a NUL-terminated name; a NULL buffer asks for the value's length only.
    let rc = unsafe {
        libc::sysctlbyname(
            name.as_ptr(),
            std::ptr::null_mut(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    if rc != 0 || len == 0 || len > MAX_SYSCTL_LEN {
        return None;
    }
    let mut buf = vec![0u8; len];
    // SAFETY: `buf` holds `len` writable bytes, and `len` tells sysctl so.
    let rc = unsafe {
        libc::sysctlbyname(
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    if rc != 0 {
        return None;
    }
    buf.truncate(len);
    let text = match CStr::from_bytes_until_nul(&buf) {
        Ok(c) => c.to_string_lossy().into_owned(),
        Err(_) => String::from_utf8_lossy(&buf).into_owned(),
    };
    Some(text)
}

fn system_info() -> SystemInfo {
    SystemInfo {
        os_version: sysctl_string(c"kern.osproductversion"),
        os_build: sysctl_string(c"kern.osversion"),
        hw_model: sysctl_string(c"hw.model"),
        chip: sysctl_string(c"machdep.cpu.brand_string"),
        boot_args: sysctl_string(c"kern.bootargs"),
    }
}

fn selector(name: &str) -> Option<Sel> {
    CString::new(name).ok().map(|c| Sel::register(&c))
}

fn class(name: &str) -> Option<&'static AnyClass> {
    CString::new(name).ok().and_then(|c| AnyClass::get(&c))
}

/// `[object description]`, for objects a getter returned.
fn describe(object: &AnyObject) -> Option<String> {
    // SAFETY: every NSObject answers `description` with an NSString (or nil).
    let text: Option<Retained<NSString>> = unsafe { msg_send![object, description] };
    text.map(|t| t.to_string())
}

/// Call the argument-less class method `sel` of `class` and read its result by the method's
/// own return type encoding.
fn read_class_getter(
    class: &AnyClass,
    method: &Method,
    sel: Sel,
) -> (Status, Option<InfoValue>, String) {
    let encoding = method.return_type().to_string_lossy().into_owned();
    // SAFETY (every arm): `sel` is a class method of `class` that takes no argument (the
    // caller checked for a ':' in its name), and the return type is the one the runtime
    // reports for it, so the message matches the method's signature.
    let value = match encoding.as_str() {
        "B" => Some(InfoValue::Bool(
            unsafe { MessageReceiver::send_message::<(), Bool>(class, sel, ()) }.as_bool(),
        )),
        "c" => Some(InfoValue::Int(i64::from(unsafe {
            MessageReceiver::send_message::<(), i8>(class, sel, ())
        }))),
        "i" => Some(InfoValue::Int(i64::from(unsafe {
            MessageReceiver::send_message::<(), i32>(class, sel, ())
        }))),
        "I" => Some(InfoValue::Int(i64::from(unsafe {
            MessageReceiver::send_message::<(), u32>(class, sel, ())
        }))),
        "q" => Some(InfoValue::Int(unsafe {
            MessageReceiver::send_message::<(), i64>(class, sel, ())
        })),
        "Q" => {
            let v = unsafe { MessageReceiver::send_message::<(), u64>(class, sel, ()) };
            Some(match i64::try_from(v) {
                Ok(v) => InfoValue::Int(v),
                Err(_) => InfoValue::Text(v.to_string()),
            })
        }
        "@" => autoreleasepool(|_| {
            let object =
                unsafe { MessageReceiver::send_message::<(), *mut AnyObject>(class, sel, ()) };
            // SAFETY: the getter returned NULL or an autoreleased object, valid inside this
            // pool; it is only described here.
            unsafe { object.as_ref() }.map(|o| InfoValue::Text(describe(o).unwrap_or_default()))
        }),
        other => {
            return (
                Status::NotAttempted,
                None,
                format!("return type `{other}` is not read by the probe"),
            );
        }
    };
    match value {
        Some(v) => (Status::Works, Some(v), String::new()),
        None => (Status::Fails, None, "returned nil".into()),
    }
}

fn device_info() -> Vec<DeviceInfoValue> {
    let members = objc::class("_ANEDeviceInfo").map_or(&[][..], |c| c.members);
    let info_class = AnyClass::get(c"_ANEDeviceInfo");
    members
        .iter()
        .map(|m| {
            let entry = |encoding: Option<String>, status, value, detail: String| DeviceInfoValue {
                selector: m.name.to_string(),
                encoding,
                status,
                value,
                detail,
            };
            let Some(cls) = info_class else {
                return entry(
                    None,
                    Status::Missing,
                    None,
                    "class _ANEDeviceInfo does not resolve".into(),
                );
            };
            if m.name.contains(':') {
                return entry(
                    None,
                    Status::NotAttempted,
                    None,
                    "takes an argument; not called".into(),
                );
            }
            let Some(sel) = selector(m.name) else {
                return entry(None, Status::Missing, None, "invalid selector".into());
            };
            let Some(method) = cls.class_method(sel) else {
                return entry(None, Status::Missing, None, "no such class method".into());
            };
            let encoding = method.return_type().to_string_lossy().into_owned();
            let (status, value, detail) = read_class_getter(cls, method, sel);
            entry(Some(encoding), status, value, detail)
        })
        .collect()
}

/// Whether a member of the table exists on `class` (properties by their getter).
fn has_member(class: &AnyClass, kind: MemberKind, sel: Sel) -> bool {
    match kind {
        MemberKind::ClassMethod => class_has_class_method(class, sel),
        MemberKind::Init | MemberKind::Method | MemberKind::Property => {
            class_has_instance_method(class, sel)
        }
    }
}

fn class_presence() -> Vec<ClassPresence> {
    objc::CLASSES
        .iter()
        .map(|c| {
            let Some(cls) = class(c.name) else {
                return ClassPresence {
                    class: c.name.to_string(),
                    framework: c.framework.to_string(),
                    present: false,
                    members_found: 0,
                    members_missing: Vec::new(),
                };
            };
            let mut found = 0;
            let mut missing = Vec::new();
            // Selectors the notes print truncated ('…') cannot be looked up.
            for m in c.members.iter().filter(|m| !m.name.contains('…')) {
                match selector(m.name) {
                    Some(sel) if has_member(cls, m.kind, sel) => found += 1,
                    _ => missing.push(m.name.to_string()),
                }
            }
            ClassPresence {
                class: c.name.to_string(),
                framework: c.framework.to_string(),
                present: true,
                members_found: found,
                members_missing: missing,
            }
        })
        .collect()
}

/// `void NAME(void *)`: an ANECompiler descriptor initializer.
type Initializer = unsafe extern "C" fn(*mut c_void);

fn run_initializer(init: Initializer, sentinel: u8) -> Vec<u8> {
    let mut buf = vec![sentinel; BUFFER_LEN];
    // SAFETY: the notes document the signature `void NAME(void *)`: it writes the struct's
    // defaults into the buffer. The buffer is four times the notes' 1024-byte window and
    // every struct of the table is at most a few hundred bytes, so the writes stay in bounds.
    unsafe { init(buf.as_mut_ptr().cast()) };
    buf
}

fn descriptor_sizes(compiler: Option<Handle>) -> Vec<DescriptorSize> {
    descriptors::all()
        .iter()
        .map(|d| {
            let initializer = d.initializer.to_string();
            let Some(Handle(handle)) = compiler else {
                return DescriptorSize::NotAttempted {
                    initializer,
                    detail: "ANECompiler.framework did not load".into(),
                };
            };
            let Ok(symbol) = CString::new(d.initializer) else {
                return DescriptorSize::Missing { initializer };
            };
            // SAFETY: a live dlopen handle and a NUL-terminated symbol name.
            let address = unsafe { libc::dlsym(handle, symbol.as_ptr()) };
            if address.is_null() {
                return DescriptorSize::Missing { initializer };
            }
            // SAFETY: a non-NULL exported function of ANECompiler whose C signature is
            // `void NAME(void *)` (knowledge-base.md §1).
            let init: Initializer =
                unsafe { std::mem::transmute::<*mut c_void, Initializer>(address) };
            let first = run_initializer(init, SENTINELS[0]);
            let second = run_initializer(init, SENTINELS[1]);
            match probe::analyse(&first, &second) {
                Ok(analysis) => DescriptorSize::Probed(probe::compare(d.initializer, analysis)),
                Err(e) => DescriptorSize::NotAttempted {
                    initializer,
                    detail: e.to_string(),
                },
            }
        })
        .collect()
}

fn entry(step: &str, status: Status, detail: impl Into<String>) -> MatrixEntry {
    MatrixEntry {
        step: step.to_string(),
        status,
        detail: detail.into(),
    }
}

/// The encoding of argument `index` (0 = self, 1 = _cmd) of `method`.
fn argument_encoding(method: &Method, index: usize) -> Option<String> {
    method
        .argument_type(index)
        .map(|e| e.to_string_lossy().into_owned())
}

fn espresso_cpu_context(step: &str) -> MatrixEntry {
    let Some(cls) = AnyClass::get(c"EspressoContext") else {
        return entry(
            step,
            Status::Missing,
            "class EspressoContext does not resolve",
        );
    };
    let sel = sel!(initWithPlatform:);
    let Some(method) = cls.instance_method(sel) else {
        return entry(
            step,
            Status::Missing,
            "-[EspressoContext initWithPlatform:] is missing",
        );
    };
    let arg = argument_encoding(method, 2);
    if arg.as_deref() != Some("i") {
        return entry(
            step,
            Status::NotAttempted,
            format!(
                "initWithPlatform: takes `{}`, not the documented int",
                arg.unwrap_or_default()
            ),
        );
    }
    // SAFETY: `alloc` on a class; the result is initialized at once.
    let allocated: Allocated<AnyObject> = unsafe { msg_send![cls, alloc] };
    // SAFETY: the runtime reports `initWithPlatform:(int)`; 0 is the CPU platform
    // (private-api.md §20).
    let context: Option<Retained<AnyObject>> =
        unsafe { msg_send![allocated, initWithPlatform: 0i32] };
    match context {
        Some(c) => entry(step, Status::Works, describe(&c).unwrap_or_default()),
        None => entry(step, Status::Fails, "initWithPlatform:0 returned nil"),
    }
}

fn ane_client_shared(step: &str) -> MatrixEntry {
    let Some(cls) = AnyClass::get(c"_ANEClient") else {
        return entry(step, Status::Missing, "class _ANEClient does not resolve");
    };
    let sel = sel!(sharedConnection);
    let Some(method) = cls.class_method(sel) else {
        return entry(
            step,
            Status::Missing,
            "+[_ANEClient sharedConnection] is missing",
        );
    };
    if method.return_type().to_bytes() != b"@" {
        return entry(
            step,
            Status::NotAttempted,
            "sharedConnection does not return an object",
        );
    }
    autoreleasepool(|_| {
        // SAFETY: an argument-less class method returning an object (checked above).
        let client = unsafe { MessageReceiver::send_message::<(), *mut AnyObject>(cls, sel, ()) };
        // SAFETY: NULL or an object valid inside this pool.
        match unsafe { client.as_ref() } {
            Some(c) => entry(step, Status::Works, describe(c).unwrap_or_default()),
            None => entry(step, Status::Fails, "sharedConnection returned nil"),
        }
    })
}

fn ane_client_restricted(step: &str) -> MatrixEntry {
    let Some(cls) = AnyClass::get(c"_ANEClient") else {
        return entry(step, Status::Missing, "class _ANEClient does not resolve");
    };
    let sel = sel!(initWithRestrictedAccessAllowed:);
    let Some(method) = cls.instance_method(sel) else {
        return entry(
            step,
            Status::Missing,
            "-[_ANEClient initWithRestrictedAccessAllowed:] is missing",
        );
    };
    let arg = argument_encoding(method, 2);
    if arg.as_deref() != Some("B") {
        return entry(
            step,
            Status::NotAttempted,
            format!(
                "initWithRestrictedAccessAllowed: takes `{}`, not BOOL",
                arg.unwrap_or_default()
            ),
        );
    }
    // SAFETY: `alloc` on a class; the result is initialized at once.
    let allocated: Allocated<AnyObject> = unsafe { msg_send![cls, alloc] };
    // SAFETY: the runtime reports a BOOL argument.
    let client: Option<Retained<AnyObject>> =
        unsafe { msg_send![allocated, initWithRestrictedAccessAllowed: Bool::YES] };
    match client {
        Some(c) => entry(step, Status::Works, describe(&c).unwrap_or_default()),
        None => entry(
            step,
            Status::Fails,
            "initWithRestrictedAccessAllowed:YES returned nil",
        ),
    }
}

/// A one-op program (relu) the in-memory path compiles, loads, evaluates and unloads.
const RELU_PROGRAM: &str = "program(1.3)\n{\n    func main<ios18>(tensor<fp16, [1, 4, 1, 8]> x) {\n            tensor<fp16, [1, 4, 1, 8]> y = relu(x = x)[name = string(\"y\")];\n        } -> (y);\n}\n";

/// Run the one-op program through the `ane` backend (the runtime's in-memory path).
fn in_memory_round_trip(step: &str) -> MatrixEntry {
    let input: Vec<f16> = (0..32).map(|i| f16::from_f32(i as f32 - 16.0)).collect();
    let expected: Vec<f16> = input
        .iter()
        .map(|v| f16::from_f32(v.to_f32().max(0.0)))
        .collect();
    let run = || -> Result<Vec<f16>, String> {
        let selection =
            select_backend("ane", &BackendConfig::default()).map_err(|e| format!("open: {e}"))?;
        let source = ProgramSource::from_text(RELU_PROGRAM, WeightSource::None);
        let mut model = selection
            .backend
            .compile(&source, &CompileOptions::default())
            .map_err(|e| format!("compile: {e}"))?;
        model.load().map_err(|e| format!("load: {e}"))?;
        let inputs = [NamedTensor {
            name: "x".into(),
            shape: vec![1, 4, 1, 8],
            data: TensorData::F16(input.clone()),
        }];
        let outputs = model
            .evaluate(&inputs)
            .map_err(|e| format!("evaluate: {e}"))?;
        model.unload().map_err(|e| format!("unload: {e}"))?;
        match outputs.into_iter().next().map(|t| t.data) {
            Some(TensorData::F16(values)) => Ok(values),
            Some(_) => Err("evaluate: output is not fp16".into()),
            None => Err("evaluate: no output".into()),
        }
    };
    match run() {
        Ok(values) if values == expected => entry(
            step,
            Status::Works,
            "relu on 32 fp16 values matched the CPU result",
        ),
        Ok(_) => entry(
            step,
            Status::Fails,
            "evaluate ran but relu's output differs from the expected values",
        ),
        Err(e) => entry(step, Status::Fails, e),
    }
}

fn entitlement_matrix(frameworks: &[FrameworkLoad], sizes: &[DescriptorSize]) -> Vec<MatrixEntry> {
    let [
        dlopen,
        anec,
        espresso,
        shared,
        restricted,
        in_memory,
        file_based,
        controller,
        plan,
        coreml,
    ] = probe::ENTITLEMENT_MATRIX;
    let not_loaded: Vec<&str> = frameworks
        .iter()
        .filter(|f| !f.loaded)
        .map(|f| f.path.as_str())
        .collect();
    let dlopen_entry = if not_loaded.is_empty() {
        entry(
            dlopen,
            Status::Works,
            format!("{} frameworks loaded", frameworks.len()),
        )
    } else {
        entry(
            dlopen,
            Status::Fails,
            format!("not loaded: {}", not_loaded.join(", ")),
        )
    };
    let probed = sizes
        .iter()
        .filter(|s| matches!(s, DescriptorSize::Probed(_)))
        .count();
    let anec_entry = if probed > 0 {
        entry(
            anec,
            Status::Works,
            format!("{probed} of {} initializers ran", sizes.len()),
        )
    } else {
        entry(
            anec,
            Status::Missing,
            "no initializer of the table could be called",
        )
    };
    let present = |name: &CStr| AnyClass::get(name).is_some();
    let controller_entry = if present(c"_ANEDeviceController") {
        entry(
            controller,
            Status::NotAttempted,
            "class resolves; no documented call is safe to make without a device handle",
        )
    } else {
        entry(
            controller,
            Status::Missing,
            "class _ANEDeviceController does not resolve",
        )
    };
    let plan_detail = if present(c"MLComputePlan") {
        "MLComputePlan resolves; inspecting a plan needs a compiled model (not bundled)"
    } else {
        "MLComputePlan does not resolve (macOS 14.4+)"
    };
    vec![
        dlopen_entry,
        anec_entry,
        espresso_cpu_context(espresso),
        ane_client_shared(shared),
        ane_client_restricted(restricted),
        in_memory_round_trip(in_memory),
        entry(
            file_based,
            Status::NotAttempted,
            "needs a Core ML-compiled .mlmodelc with model.espresso.net; the probe bundles none",
        ),
        controller_entry,
        entry(plan, Status::NotAttempted, plan_detail),
        entry(
            coreml,
            Status::NotAttempted,
            "covered by `ane run --backend coreml --compute-units all` on a model",
        ),
    ]
}

/// The methods `class` itself defines (not inherited), with their type encodings.
fn methods_of(class: &AnyClass) -> Vec<MethodDump> {
    let mut methods: Vec<MethodDump> = class
        .instance_methods()
        .iter()
        .map(|m| {
            // SAFETY: a method of a registered class; the encoding (or NULL) is owned by the
            // runtime and copied at once.
            let types = unsafe {
                let t = ffi::method_getTypeEncoding(*m);
                (!t.is_null()).then(|| CStr::from_ptr(t).to_string_lossy().into_owned())
            };
            MethodDump {
                selector: m.name().name().to_string_lossy().into_owned(),
                types,
            }
        })
        .collect();
    methods.sort_by(|a, b| a.selector.cmp(&b.selector));
    methods
}

/// Copy a runtime-allocated array of C strings and free it.
///
/// # Safety
/// `names` is NULL or a `malloc`ed array of `count` NUL-terminated strings owned by the
/// runtime (only the array is freed).
unsafe fn take_names(names: *mut *const c_char, count: c_uint) -> Vec<String> {
    if names.is_null() {
        return Vec::new();
    }
    // SAFETY: per the caller, `names` points to `count` valid string pointers.
    let list = unsafe { std::slice::from_raw_parts(names, count as usize) };
    let out = list
        .iter()
        .filter(|p| !p.is_null())
        // SAFETY: non-NULL, NUL-terminated, owned by the runtime.
        .map(|p| unsafe { CStr::from_ptr(*p) }.to_string_lossy().into_owned())
        .collect();
    // SAFETY: the array was allocated by the runtime with malloc and is not used again.
    unsafe { libc::free(names.cast()) };
    out
}

/// The loaded images of the probed frameworks, by their registered names (which may be the
/// `Versions/A` path rather than the one dlopen was given).
fn framework_images() -> Vec<String> {
    let mut count: c_uint = 0;
    // SAFETY: a valid out pointer; the result is handled by `take_names`.
    let images = unsafe { take_names(ffi::objc_copyImageNames(&mut count), count) };
    let bundles: Vec<String> = FRAMEWORKS
        .iter()
        .filter_map(|p| p.rsplit('/').nth(1).map(|b| format!("/{b}/")))
        .collect();
    images
        .into_iter()
        .filter(|image| bundles.iter().any(|b| image.contains(b.as_str())))
        .collect()
}

fn class_dump() -> Vec<ImageDump> {
    framework_images()
        .into_iter()
        .map(|image| {
            let mut count: c_uint = 0;
            let names = match CString::new(image.as_str()) {
                // SAFETY: a NUL-terminated image name and a valid out pointer; the result is
                // handled by `take_names`.
                Ok(c) => unsafe {
                    take_names(
                        ffi::objc_copyClassNamesForImage(c.as_ptr(), &mut count),
                        count,
                    )
                },
                Err(_) => Vec::new(),
            };
            let mut classes: Vec<ClassDump> = names
                .into_iter()
                .filter_map(|name| {
                    let cls = class(&name)?;
                    Some(ClassDump {
                        superclass: cls
                            .superclass()
                            .map(|s| s.name().to_string_lossy().into_owned()),
                        class_methods: methods_of(cls.metaclass()),
                        instance_methods: methods_of(cls),
                        name,
                    })
                })
                .collect();
            classes.sort_by(|a, b| a.name.cmp(&b.name));
            ImageDump { image, classes }
        })
        .collect()
}
