//! The only Objective-C in anekit: thin calls into AppleNeuralEngine.framework (private, the
//! [`ane::ObjcDriver`]) and Core ML (public, [`coreml::CoremlBackend`]).
//!
//! Every decision — sizes, layouts, retries, the meaning of errors — is made by the portable
//! code in [`crate::plan`] and [`crate::ane`], which is tested on Linux with a fake driver.
//! This module only translates those plans into messages. It type-checks for
//! `aarch64-apple-darwin` and has **never run on Apple hardware** (docs/macos.md).
//!
//! Objective-C exceptions are not caught (catching needs objc2's `exception` feature, whose C
//! helper cannot be cross-compiled here); instead every class and selector is checked with
//! `respondsToSelector:`-style lookups before it is sent, which is what turns an API change
//! into an error rather than an exception.
#![allow(unsafe_code)]

pub mod ane;
pub mod anecompiler;
pub mod coreml;
pub mod espresso;
pub mod probe;

use crate::plan::nserror::NsErrorInfo;
use objc2::rc::Retained;
use objc2::runtime::{AnyClass, AnyObject, Sel};
use objc2_foundation::NSError;

/// The fields of an NSError.
pub(crate) fn ns_error_info(error: &NSError) -> NsErrorInfo {
    NsErrorInfo {
        domain: error.domain().to_string(),
        code: error.code() as i64,
        description: error.localizedDescription().to_string(),
    }
}

pub(crate) fn ns_error_opt(error: Option<Retained<NSError>>) -> Option<NsErrorInfo> {
    error.as_deref().map(ns_error_info)
}

/// Whether instances of `class` answer `sel`.
pub(crate) fn class_has_instance_method(class: &AnyClass, sel: Sel) -> bool {
    class.instance_method(sel).is_some()
}

/// Whether `class` itself answers `sel` (a class method).
pub(crate) fn class_has_class_method(class: &AnyClass, sel: Sel) -> bool {
    class.class_method(sel).is_some()
}

/// Whether `object` answers `sel`.
pub(crate) fn responds(object: &AnyObject, sel: Sel) -> bool {
    object.class().responds_to(sel)
}
