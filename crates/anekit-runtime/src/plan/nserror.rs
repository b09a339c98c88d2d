//! NSError (domain, code, description) → anekit error kinds (private-api.md §11 and §14).
//!
//! The framework reports failures as `NO` plus an optional NSError; some failures are silent
//! (`NO` or `nil` without an error, e.g. past the ~119-compile limit). The Objective-C layer
//! only extracts the three fields; the meaning is decided here.

use crate::error::{RuntimeError, Stage};
use serde::Serialize;

/// The AppleNeuralEngine framework's error domain.
pub const ANE_DOMAIN: &str = "com.apple.appleneuralengine";
/// Foundation's file-system errors.
pub const COCOA_DOMAIN: &str = "NSCocoaErrorDomain";

/// The fields of an NSError.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NsErrorInfo {
    pub domain: String,
    pub code: i64,
    /// `localizedDescription` (or `description`).
    pub description: String,
}

/// What a framework failure means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FrameworkErrorKind {
    /// `InvalidMILProgram`: syntax or dialect mismatch, or an unsupported construct.
    InvalidProgram,
    /// Error 0x1d, reported for multi-input requests (README of maderix/ANE).
    MultiInputRequest,
    /// `Code=15 "ANEProgramChainingPrepare() Failed"`.
    ChainingPrepare,
    /// Espresso `Code=-1`: the file-based client was given a MIL-only model.
    NotEspresso,
    /// The temp directory or a file could not be read or written.
    FileAccess,
    /// The call returned NO/nil without an NSError.
    Silent,
    /// An Objective-C exception was raised (e.g. an unrecognised selector).
    Exception,
    /// A class or selector is missing from this macOS version.
    MissingApi,
    Other,
}

impl FrameworkErrorKind {
    /// A short explanation added to the message.
    pub fn hint(self, stage: Stage) -> &'static str {
        match self {
            FrameworkErrorKind::InvalidProgram => {
                "the compiler rejected the MIL (syntax, or a dialect the chip does not take: \
                 see `ane mil check` and docs/runtime.md)"
            }
            FrameworkErrorKind::MultiInputRequest => {
                "error 0x1d: multi-input request refused (check the surface size ordering)"
            }
            FrameworkErrorKind::ChainingPrepare => "chaining prepare is not supported here",
            FrameworkErrorKind::NotEspresso => "the model has no model.espresso.net",
            FrameworkErrorKind::FileAccess => "the temp directory is not writable or readable",
            FrameworkErrorKind::Silent if stage == Stage::Compile => {
                "returned NO without an NSError (the per-process compile limit may be reached)"
            }
            FrameworkErrorKind::Silent => "returned NO without an NSError",
            FrameworkErrorKind::Exception => "an Objective-C exception was raised",
            FrameworkErrorKind::MissingApi => "the private API differs on this macOS version",
            FrameworkErrorKind::Other => "",
        }
    }
}

/// Classify an NSError (or its absence).
pub fn classify(error: Option<&NsErrorInfo>) -> FrameworkErrorKind {
    let Some(e) = error else {
        return FrameworkErrorKind::Silent;
    };
    let domain = e.domain.as_str();
    let text = e.description.as_str();
    if text.contains("InvalidMILProgram") {
        FrameworkErrorKind::InvalidProgram
    } else if (domain == ANE_DOMAIN && e.code == 0x1d) || text.contains("0x1d") {
        FrameworkErrorKind::MultiInputRequest
    } else if (domain == ANE_DOMAIN && e.code == 15) || text.contains("ChainingPrepare") {
        FrameworkErrorKind::ChainingPrepare
    } else if domain.to_ascii_lowercase().contains("espresso") && e.code == -1 {
        FrameworkErrorKind::NotEspresso
    } else if domain == COCOA_DOMAIN && matches!(e.code, 4 | 257 | 260 | 513 | 640 | 642) {
        // NSFileNoSuchFile, NSFileReadNoPermission, NSFileReadNoSuchFile,
        // NSFileWriteNoPermission, NSFileWriteOutOfSpace, NSFileWriteVolumeReadOnly.
        FrameworkErrorKind::FileAccess
    } else {
        FrameworkErrorKind::Other
    }
}

/// The anekit error for a failed framework call at `stage`.
pub fn to_runtime_error(stage: Stage, error: Option<&NsErrorInfo>) -> RuntimeError {
    let kind = classify(error);
    let hint = kind.hint(stage);
    let message = match (error, hint.is_empty()) {
        (Some(e), true) => format!("{} code {}: {}", e.domain, e.code, e.description),
        (Some(e), false) => format!("{hint} ({} code {}: {})", e.domain, e.code, e.description),
        (None, _) => hint.to_string(),
    };
    RuntimeError::Framework {
        stage,
        kind,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(domain: &str, code: i64, description: &str) -> NsErrorInfo {
        NsErrorInfo {
            domain: domain.into(),
            code,
            description: description.into(),
        }
    }

    #[test]
    fn known_errors_map_to_their_kinds() {
        let cases = [
            (
                ns(ANE_DOMAIN, 1, "InvalidMILProgram"),
                FrameworkErrorKind::InvalidProgram,
            ),
            (
                ns(ANE_DOMAIN, 0x1d, "eval failed"),
                FrameworkErrorKind::MultiInputRequest,
            ),
            (
                ns("other", 3, "status 0x1d"),
                FrameworkErrorKind::MultiInputRequest,
            ),
            (
                ns(ANE_DOMAIN, 15, "ANEProgramChainingPrepare() Failed"),
                FrameworkErrorKind::ChainingPrepare,
            ),
            (
                ns("com.apple.Espresso", -1, "x"),
                FrameworkErrorKind::NotEspresso,
            ),
            (
                ns(COCOA_DOMAIN, 513, "no permission"),
                FrameworkErrorKind::FileAccess,
            ),
            (ns(COCOA_DOMAIN, 1, "?"), FrameworkErrorKind::Other),
        ];
        for (e, kind) in cases {
            assert_eq!(classify(Some(&e)), kind, "{e:?}");
        }
        assert_eq!(classify(None), FrameworkErrorKind::Silent);
    }

    #[test]
    fn runtime_errors_carry_stage_code_and_text() {
        let e = to_runtime_error(Stage::Compile, None);
        assert_eq!(e.code(), "compile_failed");
        assert_eq!(
            e.to_string(),
            "compile failed: returned NO without an NSError (the per-process compile limit may \
             be reached)"
        );
        let e = to_runtime_error(Stage::Load, Some(&ns("d", 7, "busy")));
        assert_eq!(e.code(), "load_failed");
        assert_eq!(e.to_string(), "load failed: d code 7: busy");
        let e = to_runtime_error(Stage::Evaluate, Some(&ns(ANE_DOMAIN, 0x1d, "bad")));
        assert_eq!(e.code(), "eval_failed");
        assert!(matches!(
            e,
            RuntimeError::Framework {
                kind: FrameworkErrorKind::MultiInputRequest,
                ..
            }
        ));
        assert_eq!(
            e.to_string(),
            "evaluate failed: error 0x1d: multi-input request refused (check the surface size \
             ordering) (com.apple.appleneuralengine code 29: bad)"
        );
    }
}
