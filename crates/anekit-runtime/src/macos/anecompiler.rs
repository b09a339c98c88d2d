//! ANECompiler.framework's `ANECCompile(options, flags, block)`: runs an [`AneCompilePlan`]
//! (`net.plist` → `.hwx`, reference/private-api.md §20.1). Type-checked only; never run on
//! hardware.
//!
//! The completion block is passed as NULL, as tinygrad's and freedomtan's command-line
//! compilers do; the integer result is the status.

use super::espresso::Library;
use crate::toolchain::{AneCompilePlan, PlistDict, PlistValue, ToolchainError};
use objc2::rc::Retained;
use objc2::runtime::AnyObject;
use objc2_foundation::{NSArray, NSDictionary, NSNumber, NSString};
use std::ffi::{CStr, c_void};

/// Where the framework lives.
pub const FRAMEWORK_PATH: &CStr =
    c"/System/Library/PrivateFrameworks/ANECompiler.framework/ANECompiler";

type AnecCompileFn = unsafe extern "C" fn(
    options: *const NSDictionary<NSString, AnyObject>,
    flags: *const NSDictionary<NSString, AnyObject>,
    completion: *const c_void,
) -> i32;

/// The compile entry point.
#[derive(Debug, Clone, Copy)]
pub struct AneCompiler {
    compile: AnecCompileFn,
}

/// A property-list value as a Foundation object (`NSNumber`, `NSString`, `NSArray`,
/// `NSDictionary`), the types the compiler's callers pass.
fn to_object(value: &PlistValue) -> Retained<AnyObject> {
    match value {
        PlistValue::Bool(b) => NSNumber::new_bool(*b).into(),
        // DebugMask, the only integer, fits in the 32-bit int callers pass.
        PlistValue::Int(i) => match i32::try_from(*i) {
            Ok(small) => NSNumber::new_i32(small).into(),
            Err(_) => NSNumber::new_i64(*i).into(),
        },
        PlistValue::String(s) => NSString::from_str(s).into(),
        PlistValue::Array(items) => {
            let objects: Vec<Retained<AnyObject>> = items.iter().map(to_object).collect();
            NSArray::from_retained_slice(&objects).into()
        }
        PlistValue::Dict(dict) => to_dictionary(dict).into(),
    }
}

/// An `NSDictionary` of a portable dictionary.
pub fn to_dictionary(dict: &PlistDict) -> Retained<NSDictionary<NSString, AnyObject>> {
    let keys: Vec<Retained<NSString>> = dict.keys().map(|k| NSString::from_str(k)).collect();
    let key_refs: Vec<&NSString> = keys.iter().map(|k| &**k).collect();
    let values: Vec<Retained<AnyObject>> = dict.values().map(to_object).collect();
    NSDictionary::from_retained_objects(&key_refs, &values)
}

impl AneCompiler {
    /// dlopen the framework and resolve `ANECCompile`.
    pub fn open() -> Result<AneCompiler, ToolchainError> {
        let lib = Library::open(FRAMEWORK_PATH)?;
        let symbol = lib.require(c"ANECCompile")?;
        // SAFETY: the address dlsym returned for `ANECCompile`; the prototype is the one its
        // public callers declare (two dictionaries and a block pointer, int result).
        let compile = unsafe { std::mem::transmute::<*mut c_void, AnecCompileFn>(symbol) };
        Ok(AneCompiler { compile })
    }

    /// Call `ANECCompile` with the plan's dictionaries. The caller checks the output file.
    pub fn run(&self, plan: &AneCompilePlan) -> Result<(), ToolchainError> {
        let options = to_dictionary(&plan.options);
        let flags = to_dictionary(&plan.flags);
        // SAFETY: two live dictionaries of the documented keys and a NULL block (allowed by
        // every known caller); the dictionaries outlive the synchronous call.
        let status = unsafe {
            (self.compile)(
                Retained::as_ptr(&options),
                Retained::as_ptr(&flags),
                std::ptr::null(),
            )
        };
        if status == 0 {
            Ok(())
        } else {
            Err(ToolchainError::CallFailed {
                function: "ANECCompile".into(),
                status: format!("returned status {status}"),
            })
        }
    }
}
