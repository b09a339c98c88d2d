//! XPC services and the `_ANEDaemonConnection` operations (knowledge-base.md §7–§8,
//! private-api.md §18).

use crate::evidence::Evidence;
use serde::Serialize;

/// One XPC / Mach service. [unverified]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct XpcService {
    pub name: &'static str,
    pub purpose: &'static str,
}

impl XpcService {
    pub const EVIDENCE: Evidence = Evidence::Unverified;
    pub const SOURCE: &'static str = "mdaiter/ane README (knowledge-base.md §7)";
}

pub static SERVICES: &[XpcService] = &[
    XpcService {
        name: "com.apple.appleneuralengine",
        purpose: "main service (requires entitlements)",
    },
    XpcService {
        name: "com.apple.appleneuralengine.private",
        purpose: "private/internal service",
    },
    XpcService {
        name: "com.apple.aned",
        purpose: "daemon Mach service",
    },
];

/// One `_ANEDaemonConnection` selector. The list is [source] (mdaiter `XPC_OPERATIONS`), the
/// semantics [unverified].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct XpcOperation {
    /// `compile`, `load`, `execute`, `realtime` or `utility`.
    pub category: &'static str,
    pub selector: &'static str,
    pub notes: &'static str,
}

impl XpcOperation {
    pub const EVIDENCE: Evidence = Evidence::Source;
    pub const SOURCE: &'static str =
        "mdaiter/ane XPC_OPERATIONS (knowledge-base.md §8, private-api.md §18)";
}

const fn op(category: &'static str, selector: &'static str) -> XpcOperation {
    XpcOperation {
        category,
        selector,
        notes: "",
    }
}

pub static OPERATIONS: &[XpcOperation] = &[
    op(
        "compile",
        "compileModel:sandboxExtension:options:qos:withReply:",
    ),
    op("compile", "compiledModelExistsFor:withReply:"),
    op("compile", "compiledModelExistsMatchingHash:withReply:"),
    op("compile", "purgeCompiledModel:withReply:"),
    op("load", "loadModel:sandboxExtension:options:qos:withReply:"),
    op(
        "load",
        "loadModelNewInstance:options:modelInstParams:qos:withReply:",
    ),
    op("load", "unloadModel:options:qos:withReply:"),
    op(
        "execute",
        "prepareChainingWithModel:options:chainingReq:qos:withReply:",
    ),
    op("realtime", "beginRealTimeTaskWithReply:"),
    op("realtime", "endRealTimeTaskWithReply:"),
    op("utility", "echo:withReply:"),
    XpcOperation {
        category: "utility",
        selector: "reportTelemetryToPPS:playload:",
        notes: "(sic)",
    },
];

/// mdaiter's `XPC_OPERATIONS` counts per category (compile 5, load 3, execute 1, realtime 2,
/// utility 2); only 4 compile selectors are named.
pub const STATED_COUNTS: [(&str, usize); 5] = [
    ("compile", 5),
    ("load", 3),
    ("execute", 1),
    ("realtime", 2),
    ("utility", 2),
];
