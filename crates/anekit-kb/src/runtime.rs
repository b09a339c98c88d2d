//! Runtime facts: Core ML compute-unit masks, aned model-cache operations and profiling
//! members (knowledge-base.md §13, §14, §16).

use crate::evidence::Evidence;
use serde::Serialize;

/// One `MLComputePlan.computeDevicesBySupportedComputeUnits` mask. [unverified]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ComputeUnitMask {
    pub mask: u32,
    pub cpu: bool,
    pub gpu: bool,
    pub neural_engine: bool,
    pub devices: &'static str,
}

impl ComputeUnitMask {
    pub const EVIDENCE: Evidence = Evidence::Unverified;
    pub const SOURCE: &'static str =
        "mdaiter/ane COMPUTE_UNIT_MASKS (knowledge-base.md §16, private-api.md §15)";
}

const fn mask(mask: u32, devices: &'static str) -> ComputeUnitMask {
    ComputeUnitMask {
        mask,
        cpu: mask & 1 != 0,
        gpu: mask & 2 != 0,
        neural_engine: mask & 4 != 0,
        devices,
    }
}

pub static COMPUTE_UNIT_MASKS: &[ComputeUnitMask] = &[
    mask(1, "CPU only"),
    mask(2, "GPU only"),
    mask(3, "CPU + GPU"),
    mask(4, "Neural Engine only"),
    mask(5, "CPU + Neural Engine"),
    mask(6, "GPU + Neural Engine"),
    mask(7, "CPU + GPU + Neural Engine"),
];

/// One model-cache item (location or operation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CacheItem {
    pub item: &'static str,
    pub value: &'static str,
    pub evidence: Evidence,
}

impl CacheItem {
    pub const SOURCE: &'static str = "knowledge-base.md §13, private-api.md §21";
}

pub static CACHE: &[CacheItem] = &[
    CacheItem {
        item: "Cache directory",
        value: "/var/folders/<user_hash>/com.apple.aned/",
        evidence: Evidence::Unverified,
    },
    CacheItem {
        item: "Cache operation",
        value: "com.apple.aned.modelCacheAsyncIO",
        evidence: Evidence::Unverified,
    },
    CacheItem {
        item: "Cache operation",
        value: "com.apple.aned.modelCacheGC",
        evidence: Evidence::Unverified,
    },
    CacheItem {
        item: "Cache operation",
        value: "com.apple.aned.danglingModelsGC",
        evidence: Evidence::Unverified,
    },
    CacheItem {
        item: "macOS 11 aned compile paths",
        value: "/Library/Caches/com.apple.aned/tmp/run/<hash>/<hash>/net.plist → /Library/Caches/com.apple.aned/<build>/run/<hash>/<hash>/model.hwx.tmp",
        evidence: Evidence::Verified,
    },
    CacheItem {
        item: "E5 specialization cache",
        value: "~/Library/Caches/<binary_name>/",
        evidence: Evidence::Unverified,
    },
    CacheItem {
        item: "In-memory compile temp dir",
        value: "NSTemporaryDirectory()/<hexStringIdentifier>/ (model.mil, weights/, net.plist, data)",
        evidence: Evidence::Source,
    },
];

/// One profiling member (knowledge-base.md §14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ProfilingMember {
    pub class: &'static str,
    pub member: &'static str,
    pub r#type: &'static str,
    pub evidence: Evidence,
}

impl ProfilingMember {
    pub const SOURCE: &'static str = "knowledge-base.md §14, private-api.md §22";
}

const fn prof(class: &'static str, member: &'static str, r#type: &'static str) -> ProfilingMember {
    ProfilingMember {
        class,
        member,
        r#type,
        evidence: Evidence::Unverified,
    }
}

pub static PROFILING: &[ProfilingMember] = &[
    prof("EspressoProfilingLayerInfo", "name", "NSString"),
    prof("EspressoProfilingLayerInfo", "debug_name", "NSString"),
    prof(
        "EspressoProfilingLayerInfo",
        "average_runtime",
        "double (seconds)",
    ),
    prof(
        "EspressoProfilingLayerInfo",
        "selected_runtime_engine",
        "int (0 CPU, 1 GPU, 2 ANE)",
    ),
    prof("EspressoProfilingLayerInfo", "runtimes", "NSArray"),
    prof(
        "EspressoProfilingNetworkANEInfo",
        "total_ane_time_ns",
        "uint64",
    ),
    prof(
        "EspressoProfilingNetworkANEInfo",
        "ane_time_per_eval_ns",
        "uint64",
    ),
    prof(
        "_ANERequest",
        "perfStatsMask",
        "uint32 bitmask of stats to collect",
    ),
    prof("_ANERequest", "perfStats, perfStatsArray", "id, NSArray"),
    ProfilingMember {
        class: "_ANEPerformanceStats",
        member: "hwExecutionTime, perfCounterData, pStatsRawData, performanceCounters",
        r#type: "(nil on M4/macOS 15)",
        evidence: Evidence::Source,
    },
];
