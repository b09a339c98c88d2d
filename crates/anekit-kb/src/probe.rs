//! The portable half of `ane probe`: the sentinel analysis that measures ANEC descriptor sizes
//! from what an `ANEC*Initialize(void *)` call wrote, its comparison with the descriptor table,
//! and the plan of probe steps a Mac runs (the Objective-C/C calls themselves belong to the
//! runtime's macOS module; nothing here calls them).
//!
//! The notes' method (knowledge-base.md §1): fill a 1024-byte buffer with 0xAA, call the
//! initializer, take the index of the last byte that changed + 1. It undercounts when the
//! initializer writes 0xAA into the last byte(s). Running the call twice, on buffers filled with
//! two different sentinels, closes that hole: a byte the call writes differs from at least one
//! sentinel, because a deterministic initializer writes the same value both times. Trailing
//! bytes the initializer never writes stay invisible to any sentinel method, so the result is
//! still a lower bound on the struct size.

use crate::descriptors::{self, Descriptor};
use crate::evidence::Evidence;
use crate::objc;
use serde::Serialize;

/// Size of each probe buffer. The notes used 1024 bytes; a struct larger than the buffer would
/// be written past its end (heap corruption), so the probe allows four times that. Every size
/// in the table is far below either.
pub const BUFFER_LEN: usize = 4096;
/// The notes' sentinel, and a second one with every bit flipped.
pub const SENTINELS: [u8; 2] = [0xAA, 0x55];

/// Errors of the sentinel analysis.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    #[error("the two probe buffers differ in length ({0} vs {1} bytes)")]
    LengthMismatch(usize, usize),
    #[error("empty probe buffer")]
    Empty,
}

/// Index of the last byte that differs from `sentinel`, plus one (0 when none does): the notes'
/// single-sentinel measure.
pub fn extent(after: &[u8], sentinel: u8) -> usize {
    after
        .iter()
        .rposition(|&b| b != sentinel)
        .map_or(0, |i| i + 1)
}

/// What two sentinel runs of one initializer show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SentinelAnalysis {
    pub buffer_len: usize,
    /// The notes' measure: last byte changed from 0xAA, + 1.
    pub extent_single_sentinel: usize,
    /// Last byte written under either sentinel, + 1: the size estimate (a lower bound).
    pub extent: usize,
    /// Bytes written inside `extent` (fewer than `extent` when the struct has padding or
    /// fields the initializer leaves alone).
    pub written_bytes: usize,
    /// The initializer wrote up to the end of the buffer: the struct may be larger, the
    /// estimate is inconclusive.
    pub buffer_exhausted: bool,
}

/// Analyse the buffers after `init(buf)` ran on a buffer filled with `SENTINELS[0]`
/// (`after_first`) and on one filled with `SENTINELS[1]` (`after_second`).
pub fn analyse(after_first: &[u8], after_second: &[u8]) -> Result<SentinelAnalysis, ProbeError> {
    if after_first.len() != after_second.len() {
        return Err(ProbeError::LengthMismatch(
            after_first.len(),
            after_second.len(),
        ));
    }
    if after_first.is_empty() {
        return Err(ProbeError::Empty);
    }
    let [s0, s1] = SENTINELS;
    let written = |(a, b): (&u8, &u8)| *a != s0 || *b != s1;
    let extent = after_first
        .iter()
        .zip(after_second)
        .rposition(written)
        .map_or(0, |i| i + 1);
    let written_bytes = after_first
        .iter()
        .zip(after_second)
        .filter(|p| written(*p))
        .count();
    Ok(SentinelAnalysis {
        buffer_len: after_first.len(),
        extent_single_sentinel: self::extent(after_first, s0),
        extent,
        written_bytes,
        buffer_exhausted: extent == after_first.len(),
    })
}

/// How a probed size compares with the descriptor table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SizeVerdict {
    /// Same as the table.
    Matches,
    /// Larger than the table: the table's probe missed trailing bytes (or the OS changed the
    /// struct).
    LargerThanTable,
    /// Smaller than the table: this OS's initializer writes fewer bytes.
    SmallerThanTable,
    /// The initializer filled the whole buffer; no conclusion.
    Inconclusive,
    /// The initializer symbol is not in the table.
    NotInTable,
}

impl SizeVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            SizeVerdict::Matches => "matches",
            SizeVerdict::LargerThanTable => "larger than table",
            SizeVerdict::SmallerThanTable => "smaller than table",
            SizeVerdict::Inconclusive => "inconclusive",
            SizeVerdict::NotInTable => "not in table",
        }
    }
}

/// One descriptor's probe result next to the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DescriptorProbe {
    pub initializer: &'static str,
    pub name: Option<&'static str>,
    pub table_size: Option<u32>,
    pub analysis: SentinelAnalysis,
    pub verdict: SizeVerdict,
}

/// Compare one initializer's analysis with the table. `initializer` must be a table symbol to
/// get a name and size; other symbols (found by a class dump) are reported as `NotInTable`.
pub fn compare(initializer: &'static str, analysis: SentinelAnalysis) -> DescriptorProbe {
    let row: Option<&Descriptor> = descriptors::by_initializer(initializer);
    let verdict = match row {
        None => SizeVerdict::NotInTable,
        Some(_) if analysis.buffer_exhausted => SizeVerdict::Inconclusive,
        Some(d) => match (analysis.extent as u64).cmp(&u64::from(d.size)) {
            std::cmp::Ordering::Equal => SizeVerdict::Matches,
            std::cmp::Ordering::Greater => SizeVerdict::LargerThanTable,
            std::cmp::Ordering::Less => SizeVerdict::SmallerThanTable,
        },
    };
    DescriptorProbe {
        initializer,
        name: row.map(|d| d.name),
        table_size: row.map(|d| d.size),
        analysis,
        verdict,
    }
}

/// One step of the macOS probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeStep {
    pub id: &'static str,
    pub what: &'static str,
    /// The calls the step makes, in order (selectors, C functions, sysctl names, paths).
    pub calls: Vec<String>,
    /// What the knowledge base expects, to compare the live result with.
    pub expected: String,
    pub evidence: Evidence,
}

/// Framework binaries the probe loads. The AppleNeuralEngine path is the one the projects
/// dlopen [source]; the others follow the same PrivateFrameworks layout (guess).
pub const FRAMEWORKS: [&str; 4] = [
    "/System/Library/PrivateFrameworks/AppleNeuralEngine.framework/AppleNeuralEngine",
    "/System/Library/PrivateFrameworks/ANECompiler.framework/ANECompiler",
    "/System/Library/PrivateFrameworks/Espresso.framework/Espresso",
    "/System/Library/PrivateFrameworks/ANEServices.framework/ANEServices",
];

/// The operations of the "what works without entitlements" matrix (private-api.md §14), each
/// tried and reported, never crashing.
pub const ENTITLEMENT_MATRIX: [&str; 10] = [
    "dlopen the four frameworks",
    "call ANEC*Initialize (descriptor probe)",
    "EspressoContext initWithPlatform:0 (CPU)",
    "[_ANEClient sharedConnection]",
    "_ANEClient initWithRestrictedAccessAllowed:YES",
    "_ANEInMemoryModel compile/load/evaluate/unload of a one-op program (QoS 21)",
    "_ANEClient compileModel:options:qos:error: on a Core ML-compiled .mlmodelc",
    "_ANEDeviceController access",
    "MLComputePlan computeDevicesBySupportedComputeUnits",
    "MLModel with MLComputeUnitsAll",
];

/// The probe steps a Mac runs, derived from the knowledge base.
pub fn macos_plan() -> Vec<ProbeStep> {
    let device_info: Vec<String> = objc::class("_ANEDeviceInfo")
        .map(|c| {
            c.members
                .iter()
                .map(|m| format!("+[_ANEDeviceInfo {}]", m.name))
                .collect()
        })
        .unwrap_or_default();
    let classes: Vec<String> = objc::CLASSES
        .iter()
        .map(|c| {
            format!(
                "objc_getClass(\"{}\") + class_getInstanceMethod/class_getClassMethod for its {} members",
                c.name,
                c.members.len()
            )
        })
        .collect();
    let initializers: Vec<String> = descriptors::all()
        .iter()
        .map(|d| format!("dlsym(ANECompiler, \"{}\")", d.initializer))
        .collect();
    vec![
        ProbeStep {
            id: "system",
            what: "OS build and chip",
            calls: ["sysctl kern.osversion", "sysctl kern.osproductversion", "sysctl hw.model", "sysctl machdep.cpu.brand_string", "sysctl kern.bootargs"]
                .map(String::from)
                .to_vec(),
            expected: "a chip of the chips table (ane kb list chips)".into(),
            evidence: Evidence::Source,
        },
        ProbeStep {
            id: "device_info",
            what: "_ANEDeviceInfo: hasANE, cores, architecture type, subtype, VM, internal build",
            calls: device_info,
            expected: "numANECores 16 on M1; aneSubType h16 on M4/M5, h17 on M5 Max; isInternalBuild 0".into(),
            evidence: Evidence::Unverified,
        },
        ProbeStep {
            id: "frameworks",
            what: "which frameworks load (dlopen RTLD_NOW, result checked)",
            calls: FRAMEWORKS.map(|p| format!("dlopen(\"{p}\")")).to_vec(),
            expected: "all load unsigned (mdaiter/ane, maderix/ANE)".into(),
            evidence: Evidence::Source,
        },
        ProbeStep {
            id: "classes",
            what: "which private classes and selectors exist",
            calls: classes,
            expected: format!("{} classes of the objc_classes table", objc::CLASSES.len()),
            evidence: Evidence::Unverified,
        },
        ProbeStep {
            id: "entitlement_matrix",
            what: "what works without entitlements, each step tried and reported",
            calls: ENTITLEMENT_MATRIX.map(String::from).to_vec(),
            expected: "in-memory path works unsigned [source]; file-based path disputed (private-api.md §14)".into(),
            evidence: Evidence::Unverified,
        },
        ProbeStep {
            id: "descriptor_sizes",
            what: "ANEC descriptor sizes by sentinel probing (two sentinel-filled buffers per initializer, 0xAA and 0x55)",
            calls: initializers,
            expected: format!("{} sizes of the descriptors table (lower bounds)", descriptors::all().len()),
            evidence: Evidence::Unverified,
        },
        ProbeStep {
            id: "class_dump",
            what: "Objective-C class/method dump of the ANE frameworks",
            calls: ["objc_copyImageNames", "objc_copyClassNamesForImage", "class_copyMethodList (class and metaclass)", "method_getTypeEncoding"]
                .map(String::from)
                .to_vec(),
            expected: "AppleNeuralEngine 40+ / 67+ classes; _ANEModel 52 instance methods (unverified counts)".into(),
            evidence: Evidence::Unverified,
        },
    ]
}

/// Version of the `ane probe --json` report layout (`schemas/probe.schema.json`); bumped when
/// a field changes meaning or goes away.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// How one probe step went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The step ran and did what it should.
    Works,
    /// The step ran and failed (an error, a nil result).
    Fails,
    /// A class, selector or symbol the step needs does not exist, so it was not run.
    Missing,
    /// Deliberately not run (the reason is in `detail`).
    NotAttempted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Works => "works",
            Status::Fails => "fails",
            Status::Missing => "missing",
            Status::NotAttempted => "not attempted",
        }
    }
}

/// OS build and chip (sysctl); `None` where the sysctl failed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SystemInfo {
    /// `kern.osproductversion`, e.g. `15.3.1`.
    pub os_version: Option<String>,
    /// `kern.osversion`, e.g. `24D70`.
    pub os_build: Option<String>,
    /// `hw.model`, e.g. `Mac14,2`.
    pub hw_model: Option<String>,
    /// `machdep.cpu.brand_string`, e.g. `Apple M2`.
    pub chip: Option<String>,
    /// `kern.bootargs`.
    pub boot_args: Option<String>,
}

/// A value a class method returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum InfoValue {
    Bool(bool),
    Int(i64),
    Text(String),
}

/// One `+[_ANEDeviceInfo selector]` call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceInfoValue {
    pub selector: String,
    /// The method's Objective-C return type encoding (`B`, `q`, `@`, ...), which decides how
    /// the result is read; `None` when the method is missing.
    pub encoding: Option<String>,
    pub status: Status,
    pub value: Option<InfoValue>,
    pub detail: String,
}

/// One framework `dlopen`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FrameworkLoad {
    pub path: String,
    pub loaded: bool,
    /// `dlerror()` when it did not load.
    pub error: Option<String>,
}

/// Whether a knowledge-base class resolves, and which of its members it answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClassPresence {
    pub class: String,
    pub framework: String,
    pub present: bool,
    pub members_found: usize,
    /// Members of the table the class does not answer (empty when absent: nothing checked).
    pub members_missing: Vec<String>,
}

/// One row of the "what works without entitlements" matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MatrixEntry {
    pub step: String,
    pub status: Status,
    pub detail: String,
}

/// One `ANEC*Initialize` of the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum DescriptorSize {
    /// dlsym found it and both sentinel runs returned.
    Probed(DescriptorProbe),
    /// ANECompiler does not export it.
    Missing { initializer: String },
    /// Not run (ANECompiler did not load, or the analysis rejected the buffers).
    NotAttempted { initializer: String, detail: String },
}

/// One method of a class dump.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MethodDump {
    pub selector: String,
    /// `method_getTypeEncoding`, e.g. `@36@0:8r*16@24i32`.
    pub types: Option<String>,
}

/// One class of a class dump.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClassDump {
    pub name: String,
    pub superclass: Option<String>,
    pub class_methods: Vec<MethodDump>,
    pub instance_methods: Vec<MethodDump>,
}

/// The classes one framework image registers (`objc_copyClassNamesForImage`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageDump {
    pub image: String,
    pub classes: Vec<ClassDump>,
}

/// What `ane probe` found on a Mac. Every list holds what was tried, including failures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MacProbe {
    pub system: SystemInfo,
    pub device_info: Vec<DeviceInfoValue>,
    pub frameworks: Vec<FrameworkLoad>,
    pub classes: Vec<ClassPresence>,
    pub entitlement_matrix: Vec<MatrixEntry>,
    pub descriptor_sizes: Vec<DescriptorSize>,
    pub class_dump: Vec<ImageDump>,
}

/// Whether Linux has DRM accel nodes, where Asahi Linux's `ane` driver appears.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccelCheck {
    pub accel_dir: String,
    /// `accel*` nodes present; which (if any) is the ANE needs `DRM_IOCTL_VERSION` (name "ane").
    pub nodes: Vec<String>,
    pub note: String,
}

/// The `ane probe` report: a file a user can send us.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeReport {
    pub schema_version: u32,
    pub anekit_version: String,
    /// When the probe ran, RFC 3339 UTC.
    pub timestamp: String,
    pub os: String,
    pub arch: String,
    pub macos: bool,
    /// Whether the macOS probe ran.
    pub probed: bool,
    /// Why there is (or is no) probe result.
    pub reason: String,
    /// The macOS probe's findings (`None` off macOS).
    pub mac: Option<MacProbe>,
    /// Off macOS on Linux: the Asahi accel node check.
    pub asahi: Option<AccelCheck>,
    /// The steps the macOS probe runs and what the knowledge base expects of each.
    pub plan: Vec<ProbeStep>,
}

/// Counts of a probe's descriptor verdicts, for the summary line.
fn descriptor_summary(sizes: &[DescriptorSize]) -> String {
    let mut matches = 0;
    let mut differ = Vec::new();
    let mut missing = 0;
    let mut not_attempted = 0;
    for s in sizes {
        match s {
            DescriptorSize::Probed(p) if p.verdict == SizeVerdict::Matches => matches += 1,
            DescriptorSize::Probed(p) => differ.push(format!(
                "{}: table {}, probed {} ({})",
                p.name.unwrap_or(p.initializer),
                p.table_size.map_or("-".into(), |t| t.to_string()),
                p.analysis.extent,
                p.verdict.as_str()
            )),
            DescriptorSize::Missing { .. } => missing += 1,
            DescriptorSize::NotAttempted { .. } => not_attempted += 1,
        }
    }
    let mut s = format!(
        "{matches} match the table, {} differ, {missing} missing, {not_attempted} not attempted",
        differ.len()
    );
    for d in differ {
        s.push_str("\n  ");
        s.push_str(&d);
    }
    s
}

fn opt(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("?")
}

/// The human-readable form of a report.
pub fn render_text(r: &ProbeReport) -> String {
    use std::fmt::Write as _;
    let mut s = format!(
        "anekit {} probe (schema {}) at {}\nos: {}/{}\nprobed: {}\nreason: {}\n",
        r.anekit_version,
        r.schema_version,
        r.timestamp,
        r.os,
        r.arch,
        if r.probed { "yes" } else { "no" },
        r.reason
    );
    if let Some(a) = &r.asahi {
        let nodes = if a.nodes.is_empty() {
            "none".to_string()
        } else {
            a.nodes.join(", ")
        };
        let _ = writeln!(s, "{} nodes: {nodes}", a.accel_dir);
    }
    if let Some(m) = &r.mac {
        let sys = &m.system;
        let _ = writeln!(
            s,
            "macOS {} ({}), {}, chip {}",
            opt(&sys.os_version),
            opt(&sys.os_build),
            opt(&sys.hw_model),
            opt(&sys.chip)
        );
        let _ = writeln!(s, "_ANEDeviceInfo:");
        for v in &m.device_info {
            let value = match &v.value {
                Some(InfoValue::Bool(b)) => b.to_string(),
                Some(InfoValue::Int(i)) => i.to_string(),
                Some(InfoValue::Text(t)) => t.clone(),
                None => format!("({}: {})", v.status.as_str(), v.detail),
            };
            let _ = writeln!(s, "  {:<46} {value}", v.selector);
        }
        let _ = writeln!(s, "frameworks:");
        for f in &m.frameworks {
            let outcome = match (&f.error, f.loaded) {
                (_, true) => "loaded".to_string(),
                (Some(e), false) => format!("not loaded: {e}"),
                (None, false) => "not loaded".to_string(),
            };
            let _ = writeln!(s, "  {} {outcome}", f.path);
        }
        let present = m.classes.iter().filter(|c| c.present).count();
        let _ = writeln!(
            s,
            "classes: {present} of {} knowledge-base classes resolve",
            m.classes.len()
        );
        for c in m.classes.iter().filter(|c| !c.present) {
            let _ = writeln!(s, "  missing: {} ({})", c.class, c.framework);
        }
        for c in m.classes.iter().filter(|c| !c.members_missing.is_empty()) {
            let _ = writeln!(s, "  {} lacks {}", c.class, c.members_missing.join(", "));
        }
        let _ = writeln!(s, "without entitlements:");
        for e in &m.entitlement_matrix {
            let _ = writeln!(s, "  {:<13} {}: {}", e.status.as_str(), e.step, e.detail);
        }
        let _ = writeln!(
            s,
            "descriptor sizes: {}",
            descriptor_summary(&m.descriptor_sizes)
        );
        for image in &m.class_dump {
            let methods: usize = image
                .classes
                .iter()
                .map(|c| c.class_methods.len() + c.instance_methods.len())
                .sum();
            let _ = writeln!(
                s,
                "class dump: {} classes, {methods} methods in {} (full list in --json)",
                image.classes.len(),
                image.image
            );
        }
    }
    // The plan is what a Mac would run; once it ran, the results above replace it.
    if r.mac.is_none() && !r.plan.is_empty() {
        s.push_str("on macOS the probe runs these steps:\n");
    }
    for step in r.plan.iter().filter(|_| r.mac.is_none()) {
        let _ = writeln!(
            s,
            "step {:<18} {} ({} calls; expects: {})",
            step.id,
            step.what,
            step.calls.len(),
            step.expected
        );
    }
    s
}
