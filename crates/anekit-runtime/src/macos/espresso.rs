//! Espresso.framework's C API: runs a [`EspressoDumpPlan`] (context → plan → add network →
//! build → `espresso_dump_ir`) to write `net.plist` and companions (hwx-td.md §7.1).
//! Type-checked only; never run on hardware.
//!
//! The C prototypes are not published. The argument types below are those the public callers
//! use (reference/private-api.md §20.1); 64-bit integer arguments are passed where a caller
//! might declare `int`, which on arm64 leaves the low 32 bits — the value the callee reads —
//! unchanged.

use crate::toolchain::{EspressoDumpPlan, EspressoStep, ToolchainError};
use std::ffi::{CStr, CString, c_char, c_void};
use std::path::{Path, PathBuf};

/// Where the framework lives.
pub const FRAMEWORK_PATH: &CStr = c"/System/Library/PrivateFrameworks/Espresso.framework/Espresso";

type CreateContextFn = unsafe extern "C" fn(engine: i64, device: i64) -> *mut c_void;
type CreatePlanFn = unsafe extern "C" fn(context: *mut c_void, flags: u64) -> *mut c_void;
type AddNetworkFn = unsafe extern "C" fn(
    plan: *mut c_void,
    path: *const c_char,
    storage_type: u64,
    network: *mut NetworkHandle,
) -> i32;
type PlanFn = unsafe extern "C" fn(plan: *mut c_void) -> i32;
type DumpIrFn = unsafe extern "C" fn(plan: *mut c_void, dir: *mut *const c_char) -> i32;
type ContextFn = unsafe extern "C" fn(context: *mut c_void) -> i32;

/// `espresso_network_t` as Apple's class dumps print it: `{ void *plan; int network_index; }`.
#[repr(C)]
#[derive(Debug)]
struct NetworkHandle {
    plan: *mut c_void,
    index: i32,
}

/// A dlopen'ed library; never closed (its symbols may be referenced by objects it creates).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Library {
    handle: *mut c_void,
    path: &'static CStr,
}

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

impl Library {
    pub(crate) fn open(path: &'static CStr) -> Result<Library, ToolchainError> {
        // SAFETY: a NUL-terminated path and a valid flag.
        let handle = unsafe { libc::dlopen(path.as_ptr(), libc::RTLD_NOW) };
        if handle.is_null() {
            return Err(ToolchainError::Unavailable {
                library: path.to_string_lossy().into_owned(),
                reason: dl_error(),
            });
        }
        Ok(Library { handle, path })
    }

    /// The address of `name`, or `None` when the library does not export it.
    pub(crate) fn symbol(&self, name: &CStr) -> Option<*mut c_void> {
        // SAFETY: a handle from dlopen and a NUL-terminated name.
        let sym = unsafe { libc::dlsym(self.handle, name.as_ptr()) };
        (!sym.is_null()).then_some(sym)
    }

    pub(crate) fn require(&self, name: &CStr) -> Result<*mut c_void, ToolchainError> {
        self.symbol(name)
            .ok_or_else(|| ToolchainError::Unavailable {
                library: self.path.to_string_lossy().into_owned(),
                reason: format!("it does not export `{}`", name.to_string_lossy()),
            })
    }
}

/// The entry points of the dump sequence.
#[derive(Debug, Clone, Copy)]
pub struct Espresso {
    create_context: CreateContextFn,
    create_plan: CreatePlanFn,
    add_network: AddNetworkFn,
    build: PlanFn,
    dump_ir: DumpIrFn,
    plan_destroy: Option<PlanFn>,
    context_destroy: Option<ContextFn>,
}

impl Espresso {
    /// dlopen the framework and resolve every function (the destroy calls are optional).
    pub fn open() -> Result<Espresso, ToolchainError> {
        let lib = Library::open(FRAMEWORK_PATH)?;
        // SAFETY (all transmutes below): each pointer is the address dlsym returned for the
        // named function; the function-pointer types are the prototypes its public callers
        // use (module docs). A wrong prototype would be undefined behaviour at the call,
        // which is why every call site is listed in docs/macos.md as never run.
        unsafe {
            Ok(Espresso {
                create_context: std::mem::transmute::<*mut c_void, CreateContextFn>(
                    lib.require(c"espresso_create_context")?,
                ),
                create_plan: std::mem::transmute::<*mut c_void, CreatePlanFn>(
                    lib.require(c"espresso_create_plan")?,
                ),
                add_network: std::mem::transmute::<*mut c_void, AddNetworkFn>(
                    lib.require(c"espresso_plan_add_network")?,
                ),
                build: std::mem::transmute::<*mut c_void, PlanFn>(
                    lib.require(c"espresso_plan_build")?,
                ),
                dump_ir: std::mem::transmute::<*mut c_void, DumpIrFn>(
                    lib.require(c"espresso_dump_ir")?,
                ),
                plan_destroy: lib
                    .symbol(c"espresso_plan_destroy")
                    .map(|p| std::mem::transmute::<*mut c_void, PlanFn>(p)),
                context_destroy: lib
                    .symbol(c"espresso_context_destroy")
                    .map(|p| std::mem::transmute::<*mut c_void, ContextFn>(p)),
            })
        }
    }

    /// Run the plan's steps in order. Returns the folder Espresso reports it dumped into
    /// (normally `plan.out_dir`).
    pub fn run_dump(&self, plan: &EspressoDumpPlan) -> Result<PathBuf, ToolchainError> {
        let mut context: *mut c_void = std::ptr::null_mut();
        let mut espresso_plan: *mut c_void = std::ptr::null_mut();
        let mut dumped = plan.out_dir.clone();
        let result = (|| {
            for step in &plan.steps {
                match step {
                    EspressoStep::EspressoCreateContext { engine, device } => {
                        // SAFETY: a resolved function taking two integers; returns a context
                        // or NULL.
                        context = unsafe { (self.create_context)(*engine, *device) };
                        if context.is_null() {
                            return Err(null_result(step));
                        }
                    }
                    EspressoStep::EspressoCreatePlan { flags } => {
                        // SAFETY: `context` is the non-null context created above.
                        espresso_plan = unsafe { (self.create_plan)(context, *flags) };
                        if espresso_plan.is_null() {
                            return Err(null_result(step));
                        }
                    }
                    EspressoStep::EspressoPlanAddNetwork { path, storage_type } => {
                        let c_path = c_string(path)?;
                        let mut network = NetworkHandle {
                            plan: std::ptr::null_mut(),
                            index: 0,
                        };
                        // SAFETY: a live plan, a NUL-terminated path that outlives the call,
                        // and a writable handle of the layout Apple's headers print.
                        let status = unsafe {
                            (self.add_network)(
                                espresso_plan,
                                c_path.as_ptr(),
                                *storage_type,
                                &mut network,
                            )
                        };
                        check(step, status)?;
                    }
                    EspressoStep::EspressoPlanBuild => {
                        // SAFETY: a live plan with a network added.
                        check(step, unsafe { (self.build)(espresso_plan) })?;
                    }
                    EspressoStep::EspressoDumpIr { dir } => {
                        std::fs::create_dir_all(dir).map_err(|source| ToolchainError::Io {
                            path: dir.display().to_string(),
                            source,
                        })?;
                        let c_dir = c_string(dir)?;
                        let mut dir_ptr: *const c_char = c_dir.as_ptr();
                        // SAFETY: a built plan and a pointer to a NUL-terminated folder name
                        // that outlives the call; Espresso may replace the pointer with the
                        // folder it used, which is read (not freed) right after.
                        let status = unsafe { (self.dump_ir)(espresso_plan, &mut dir_ptr) };
                        check(step, status)?;
                        if !dir_ptr.is_null() && dir_ptr != c_dir.as_ptr() {
                            // SAFETY: a non-null C string Espresso returned.
                            let s = unsafe { CStr::from_ptr(dir_ptr) };
                            dumped = PathBuf::from(s.to_string_lossy().into_owned());
                        }
                    }
                    // Teardown happens below, also after a failure.
                    EspressoStep::EspressoPlanDestroy | EspressoStep::EspressoContextDestroy => {}
                }
            }
            Ok(())
        })();
        if !espresso_plan.is_null()
            && let Some(destroy) = self.plan_destroy
        {
            // SAFETY: the plan created above, destroyed once.
            unsafe { destroy(espresso_plan) };
        }
        if !context.is_null()
            && let Some(destroy) = self.context_destroy
        {
            // SAFETY: the context created above, destroyed once after its plan.
            unsafe { destroy(context) };
        }
        result.map(|()| dumped)
    }
}

fn c_string(path: &Path) -> Result<CString, ToolchainError> {
    CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| ToolchainError::BadPath {
        path: path.display().to_string(),
        reason: "contains a NUL byte".into(),
    })
}

fn null_result(step: &EspressoStep) -> ToolchainError {
    ToolchainError::CallFailed {
        function: step.function().into(),
        status: "returned NULL".into(),
    }
}

fn check(step: &EspressoStep, status: i32) -> Result<(), ToolchainError> {
    if status == 0 {
        Ok(())
    } else {
        Err(ToolchainError::CallFailed {
            function: step.function().into(),
            status: format!("returned status {status}"),
        })
    }
}
