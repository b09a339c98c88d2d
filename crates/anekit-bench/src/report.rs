//! The result document of `ane bench --json` (schemas/bench.schema.json) and its field-by-field
//! mapping onto the community result files (dev-erik/ANE `community_benchmarks/*.json`, schema
//! version 1; reference/benchmarks.md §9).
//!
//! The row and summary fields keep the community names (`sram_probe`, `inmem_peak`,
//! `ms_per_eval`, `tflops`, `gflops_per_mb`, ...), so the mapping is mostly one-to-one; the
//! differences are listed on [`Report::from_dev_erik`] and in docs/bench.md.

use crate::BenchError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// `format` of every document.
pub const FORMAT: &str = "anekit-bench";
/// `version` of the document layout.
pub const VERSION: u32 = 1;
/// The community files' `schema_version` this mapping was written for.
pub const DEV_ERIK_SCHEMA_VERSION: u64 = 1;

/// One `ane bench` result document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub format: String,
    pub version: u32,
    /// UTC, RFC 3339 to the second (`2026-03-03T11:46:08Z`).
    pub timestamp: String,
    /// Who submitted an imported file (the files' optional `username`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Where the numbers come from.
    pub provenance: Provenance,
    pub backend: BackendRecord,
    pub system: System,
    /// The chip whose MIL dialect the graphs were lowered to (absent for imported files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetRecord>,
    /// Whether the `--quick` sizes were used.
    pub quick: bool,
    pub benchmarks: Benchmarks,
    pub summary: Summary,
}

/// `measured` by this anekit run, or `imported` from a community file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// `measured` or `imported`.
    pub kind: String,
    /// `anekit <version>` or the imported file's format (`dev-erik/ANE community_benchmarks`).
    pub source: String,
    /// The imported file's `schema_version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<u64>,
    /// Whether the figures were measured on a Neural Engine. False for every CPU run; an
    /// anekit run on the `ane` backend says true but is unverified on hardware by anekit itself.
    pub neural_engine: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendRecord {
    /// `cpu`, `ane`, `coreml`; imported community files are `ane` (their private-API runs).
    pub kind: String,
    pub device: String,
    /// Why this backend (`cpu requested`, `auto: using cpu because ...`, `imported`).
    pub reason: String,
}

/// The machine. Names follow the community files where they have the field.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct System {
    /// `Apple M4 Max` on a Mac (`machdep.cpu.brand_string`); the CPU's model name elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chip: Option<String>,
    /// `Mac16,5` (`hw.model`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
    /// `macos`, `linux`, ... (`std::env::consts::OS`).
    pub os: String,
    /// `26.2` (the files' `macos_version`) or the kernel release elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    /// `25C56` (the files' `macos_build`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_build: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_cores: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_gb: Option<u64>,
    /// As the files write it: a string, `"16"` or `"unknown"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neural_engine_cores: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetRecord {
    pub chip: String,
    pub program_version: String,
    pub opset: String,
    pub fp32_io: bool,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Benchmarks {
    /// The SRAM sweep (suite `sram`), ascending channels.
    #[serde(default)]
    pub sram_probe: Vec<SramRow>,
    /// Peak throughput (suite `peak`).
    #[serde(default)]
    pub inmem_peak: Vec<PeakRow>,
    /// Dispatch latency per evaluate path (suite `dispatch`; not in the community files).
    #[serde(default)]
    pub dispatch: Vec<DispatchRow>,
    /// Training step figures of imported files (anekit does not run these).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_cpu_classifier: Option<Training>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_ane_classifier: Option<Training>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SramRow {
    pub channels: u64,
    /// Absent in the community files, whose probe runs at 64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spatial: Option<u64>,
    pub weight_mb: f64,
    pub ms_per_eval: f64,
    pub tflops: f64,
    pub gflops_per_mb: f64,
    /// Timed evaluations (anekit runs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iterations: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeakRow {
    pub depth: u64,
    pub channels: u64,
    pub spatial: u64,
    pub weight_mb: f64,
    /// GFLOP per evaluation (the files call it `gflops`).
    pub gflops: f64,
    pub ms_per_eval: f64,
    pub tflops: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iterations: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DispatchRow {
    /// `cpu`, `standard`, `real_time`, `process_request`, `coreml`.
    pub path: String,
    pub channels: u64,
    pub spatial: u64,
    pub iterations: u64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub min_ms: f64,
}

/// The files' training objects; every field optional (older files lack some).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Training {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ms_per_step: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ane_tflops: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ane_tflops_sustained: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_tflops: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ane_util_pct: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compile_pct: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_pct: Option<f64>,
}

/// Summary figures; null where a suite did not run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub peak_tflops: Option<f64>,
    /// The best peak row as `128x conv 512ch sp64` (anekit runs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_config: Option<String>,
    pub sram_peak_efficiency_gflops_per_mb: Option<f64>,
    /// First channel count whose TFLOPS falls under 60 % of the best smaller one.
    pub sram_spill_start_channels: Option<u64>,
    /// Mean evaluate latency of the smallest dispatch kernel per path (anekit runs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatch_mean_ms: Option<std::collections::BTreeMap<String, f64>>,
    #[serde(default)]
    pub training_ms_per_step_cpu: Option<f64>,
    #[serde(default)]
    pub training_ms_per_step_ane: Option<f64>,
    #[serde(default)]
    pub training_ane_tflops: Option<f64>,
    #[serde(default)]
    pub training_ane_util_pct: Option<f64>,
}

fn obj<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>, BenchError> {
    v.as_object()
        .ok_or_else(|| BenchError::Import(format!("`{what}` is not an object")))
}

fn field<T: serde::de::DeserializeOwned>(
    o: &Map<String, Value>,
    key: &str,
    what: &str,
) -> Result<Option<T>, BenchError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v.clone())
            .map(Some)
            .map_err(|e| BenchError::Import(format!("`{what}.{key}`: {e}"))),
    }
}

fn rows<T: serde::de::DeserializeOwned>(
    v: Option<&Value>,
    what: &str,
) -> Result<Vec<T>, BenchError> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| BenchError::Import(format!("`{what}`: {e}"))),
    }
}

/// Known top-level, `system` and `benchmarks` keys of the community files; anything else is
/// refused rather than silently dropped.
const DEV_ERIK_TOP: &[&str] = &[
    "schema_version",
    "username",
    "timestamp",
    "system",
    "benchmarks",
    "summary",
];
const DEV_ERIK_SYSTEM: &[&str] = &[
    "chip",
    "machine",
    "macos_version",
    "macos_build",
    "cpu_cores",
    "memory_gb",
    "neural_engine_cores",
];
const DEV_ERIK_BENCHMARKS: &[&str] = &[
    "sram_probe",
    "inmem_peak",
    "training_cpu_classifier",
    "training_ane_classifier",
];
const DEV_ERIK_SUMMARY: &[&str] = &[
    "peak_tflops",
    "sram_peak_efficiency_gflops_per_mb",
    "sram_spill_start_channels",
    "training_ms_per_step_cpu",
    "training_ms_per_step_ane",
    "training_ane_tflops",
    "training_ane_util_pct",
];

fn known_keys(o: &Map<String, Value>, known: &[&str], what: &str) -> Result<(), BenchError> {
    match o.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(BenchError::Import(format!("unknown field `{what}.{k}`"))),
        None => Ok(()),
    }
}

impl Report {
    /// Read a community result file (dev-erik/ANE schema 1) into this schema.
    ///
    /// Mapping: `schema_version` → `provenance.schema_version`; `system.macos_version` /
    /// `macos_build` → `system.os_version` / `os_build` with `os` = `macos`; `benchmarks.*` and
    /// `summary.*` keep their names; `backend` = `ane` (`imported`), `quick` = false.
    pub fn from_dev_erik(v: &Value) -> Result<Report, BenchError> {
        let top = obj(v, "")?;
        known_keys(top, DEV_ERIK_TOP, "")?;
        let schema_version: Option<u64> = field(top, "schema_version", "")?;
        if schema_version != Some(DEV_ERIK_SCHEMA_VERSION) {
            return Err(BenchError::Import(format!(
                "schema_version {schema_version:?} (expected {DEV_ERIK_SCHEMA_VERSION})"
            )));
        }
        let sys = obj(top.get("system").unwrap_or(&Value::Null), "system")?;
        known_keys(sys, DEV_ERIK_SYSTEM, "system")?;
        let system = System {
            chip: field(sys, "chip", "system")?,
            machine: field(sys, "machine", "system")?,
            os: "macos".into(),
            os_version: field(sys, "macos_version", "system")?,
            os_build: field(sys, "macos_build", "system")?,
            arch: None,
            cpu_cores: field(sys, "cpu_cores", "system")?,
            memory_gb: field(sys, "memory_gb", "system")?,
            neural_engine_cores: field(sys, "neural_engine_cores", "system")?,
        };
        let b = obj(top.get("benchmarks").unwrap_or(&Value::Null), "benchmarks")?;
        known_keys(b, DEV_ERIK_BENCHMARKS, "benchmarks")?;
        let benchmarks = Benchmarks {
            sram_probe: rows(b.get("sram_probe"), "benchmarks.sram_probe")?,
            inmem_peak: rows(b.get("inmem_peak"), "benchmarks.inmem_peak")?,
            dispatch: Vec::new(),
            training_cpu_classifier: field(b, "training_cpu_classifier", "benchmarks")?,
            training_ane_classifier: field(b, "training_ane_classifier", "benchmarks")?,
        };
        let s = obj(top.get("summary").unwrap_or(&Value::Null), "summary")?;
        known_keys(s, DEV_ERIK_SUMMARY, "summary")?;
        let summary = Summary {
            peak_tflops: field(s, "peak_tflops", "summary")?,
            peak_config: None,
            sram_peak_efficiency_gflops_per_mb: field(
                s,
                "sram_peak_efficiency_gflops_per_mb",
                "summary",
            )?,
            sram_spill_start_channels: field(s, "sram_spill_start_channels", "summary")?,
            dispatch_mean_ms: None,
            training_ms_per_step_cpu: field(s, "training_ms_per_step_cpu", "summary")?,
            training_ms_per_step_ane: field(s, "training_ms_per_step_ane", "summary")?,
            training_ane_tflops: field(s, "training_ane_tflops", "summary")?,
            training_ane_util_pct: field(s, "training_ane_util_pct", "summary")?,
        };
        Ok(Report {
            format: FORMAT.into(),
            version: VERSION,
            timestamp: field(top, "timestamp", "")?
                .ok_or_else(|| BenchError::Import("no `timestamp`".into()))?,
            username: field(top, "username", "")?,
            provenance: Provenance {
                kind: "imported".into(),
                source: "dev-erik/ANE community_benchmarks".into(),
                schema_version,
                neural_engine: true,
            },
            backend: BackendRecord {
                kind: "ane".into(),
                device: "Apple Neural Engine (third-party measurement)".into(),
                reason: "imported".into(),
            },
            system,
            target: None,
            quick: false,
            benchmarks,
            summary,
        })
    }

    /// Write this report in the community file layout (dev-erik/ANE schema 1): the inverse of
    /// [`Report::from_dev_erik`] on the fields those files have. anekit-only fields (`spatial`
    /// of SRAM rows, `iterations`, `dispatch`, `target`, `backend`, `peak_config`) are left out;
    /// the summary always has its seven keys, null where unknown, as the files do.
    pub fn to_dev_erik(&self) -> Value {
        let mut top = Map::new();
        top.insert(
            "schema_version".into(),
            json!(
                self.provenance
                    .schema_version
                    .unwrap_or(DEV_ERIK_SCHEMA_VERSION)
            ),
        );
        if let Some(u) = &self.username {
            top.insert("username".into(), json!(u));
        }
        top.insert("timestamp".into(), json!(self.timestamp));
        let mut sys = Map::new();
        let s = &self.system;
        let mut put = |k: &str, v: Value| {
            if !v.is_null() {
                sys.insert(k.into(), v);
            }
        };
        put("chip", json!(s.chip));
        put("machine", json!(s.machine));
        put("macos_version", json!(s.os_version));
        put("macos_build", json!(s.os_build));
        put("cpu_cores", json!(s.cpu_cores));
        put("memory_gb", json!(s.memory_gb));
        put("neural_engine_cores", json!(s.neural_engine_cores));
        top.insert("system".into(), Value::Object(sys));
        let b = &self.benchmarks;
        let sram: Vec<Value> = b
            .sram_probe
            .iter()
            .map(|r| {
                json!({"channels": r.channels, "weight_mb": r.weight_mb, "ms_per_eval": r.ms_per_eval,
                       "tflops": r.tflops, "gflops_per_mb": r.gflops_per_mb})
            })
            .collect();
        let peak: Vec<Value> = b
            .inmem_peak
            .iter()
            .map(|r| {
                json!({"depth": r.depth, "channels": r.channels, "spatial": r.spatial,
                       "weight_mb": r.weight_mb, "gflops": r.gflops, "ms_per_eval": r.ms_per_eval,
                       "tflops": r.tflops})
            })
            .collect();
        let mut bench = Map::new();
        bench.insert("sram_probe".into(), Value::Array(sram));
        bench.insert("inmem_peak".into(), Value::Array(peak));
        // Serialising a plain-data struct cannot fail; Null would only hide a bug, not data.
        let training = |t: &Option<Training>| {
            t.as_ref()
                .map(|t| serde_json::to_value(t).unwrap_or(Value::Null))
                .unwrap_or_else(|| json!({}))
        };
        bench.insert(
            "training_cpu_classifier".into(),
            training(&b.training_cpu_classifier),
        );
        bench.insert(
            "training_ane_classifier".into(),
            training(&b.training_ane_classifier),
        );
        top.insert("benchmarks".into(), Value::Object(bench));
        let m = &self.summary;
        top.insert(
            "summary".into(),
            json!({
                "peak_tflops": m.peak_tflops,
                "sram_peak_efficiency_gflops_per_mb": m.sram_peak_efficiency_gflops_per_mb,
                "sram_spill_start_channels": m.sram_spill_start_channels,
                "training_ms_per_step_cpu": m.training_ms_per_step_cpu,
                "training_ms_per_step_ane": m.training_ms_per_step_ane,
                "training_ane_tflops": m.training_ane_tflops,
                "training_ane_util_pct": m.training_ane_util_pct,
            }),
        );
        Value::Object(top)
    }
}
