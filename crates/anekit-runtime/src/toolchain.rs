//! Apple's toolchain below Core ML as portable plans: Espresso's plan-build-and-dump sequence
//! (`.mlmodelc` → `net.plist` and companions) and ANECompiler's `ANECCompile` call
//! (`net.plist` → `.hwx`), chained for `ane hwx compile MODEL.mlmodelc`.
//!
//! Everything here is data: the option and flag dictionaries, the C calls in order with their
//! arguments, and the files each step reads and writes. `macos::espresso` and
//! `macos::anecompiler` only translate these plans into calls (type-checked, never run on
//! hardware); `--dry-run` prints them on any OS.
//!
//! Facts and their status (reference/private-api.md §20.1, hwx-td.md §1.8/§6/§7.1,
//! espresso.md §6): the ANECCompile keys are [source] (tinygrad, freedomtan, eiln/anecc);
//! which target strings the compiler accepts beyond t0/m9/h11/h12/h13 is unverified; the
//! Espresso C signatures are [source] only as far as the reference docs list them, and their
//! argument types were inferred by the projects that call them (unverified).

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Where a fact comes from, as the reference documents tag it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Evidence {
    /// Read in the code of a named public project ([source]).
    Source,
    /// Prose, inference or a guess ([unverified]).
    Unverified,
}

/// A property-list value; `macos::plist` turns it into Foundation objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum PlistValue {
    Bool(bool),
    /// Sent as an `NSNumber`; `DebugMask` is a 32-bit int in every known caller.
    Int(i64),
    String(String),
    Array(Vec<PlistValue>),
    Dict(PlistDict),
}

/// A dictionary with string keys, sorted for stable output.
pub type PlistDict = BTreeMap<String, PlistValue>;

/// Why a toolchain plan cannot be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ToolchainError {
    #[error(
        "unknown ANECompiler target `{0}` (expected one of t0, m9, h11, h12, h13, h14, h15, \
         h16, h17, h18)"
    )]
    UnknownTarget(String),
    #[error("{path}: {reason}")]
    BadPath { path: String, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not an ANECompiler network plist: {reason}")]
    Plist { path: String, reason: String },
    /// Not macOS: what would have run.
    #[error("{tool} needs macOS (it calls {library}), and this is {os}; it would run: {would_run}")]
    NotMacos {
        tool: &'static str,
        library: &'static str,
        os: &'static str,
        would_run: String,
    },
    /// A framework or one of its functions is missing.
    #[error("cannot use {library}: {reason}")]
    Unavailable { library: String, reason: String },
    /// A C entry point reported failure.
    #[error("{function} failed: {status}")]
    CallFailed { function: String, status: String },
    /// The call succeeded but the file it should have written is not there.
    #[error("{function} succeeded but did not write {path}")]
    MissingOutput {
        function: &'static str,
        path: String,
    },
}

impl ToolchainError {
    /// A stable machine-readable code for `--json` errors.
    pub fn code(&self) -> &'static str {
        match self {
            ToolchainError::UnknownTarget(_) => "unknown_target",
            ToolchainError::BadPath { .. } => "bad_path",
            ToolchainError::Io { .. } => "io",
            ToolchainError::Plist { .. } => "bad_plist",
            ToolchainError::NotMacos { .. } => "not_macos",
            ToolchainError::Unavailable { .. } => "unavailable",
            ToolchainError::CallFailed { .. } => "call_failed",
            ToolchainError::MissingOutput { .. } => "missing_output",
        }
    }
}

fn bad_path(path: &Path, reason: &str) -> ToolchainError {
    ToolchainError::BadPath {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

// --------------------------------------------------------------------------------------------
// ANECompiler

/// `TargetArchitecture` flag values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CompileTarget {
    T0,
    M9,
    H11,
    H12,
    H13,
    H14,
    H15,
    H16,
    H17,
    H18,
}

/// The target every public caller hard-codes and ANETools uses by default (hwx-td.md §7.1).
pub const DEFAULT_TARGET: CompileTarget = CompileTarget::H13;

impl CompileTarget {
    pub const ALL: [CompileTarget; 10] = [
        CompileTarget::T0,
        CompileTarget::M9,
        CompileTarget::H11,
        CompileTarget::H12,
        CompileTarget::H13,
        CompileTarget::H14,
        CompileTarget::H15,
        CompileTarget::H16,
        CompileTarget::H17,
        CompileTarget::H18,
    ];

    /// The `TargetArchitecture` string (also what LC_IDENT records after `-t`).
    pub fn as_str(self) -> &'static str {
        match self {
            CompileTarget::T0 => "t0",
            CompileTarget::M9 => "m9",
            CompileTarget::H11 => "h11",
            CompileTarget::H12 => "h12",
            CompileTarget::H13 => "h13",
            CompileTarget::H14 => "h14",
            CompileTarget::H15 => "h15",
            CompileTarget::H16 => "h16",
            CompileTarget::H17 => "h17",
            CompileTarget::H18 => "h18",
        }
    }

    /// Case-insensitive: `h13`, `H13`.
    pub fn parse(s: &str) -> Result<CompileTarget, ToolchainError> {
        let lower = s.to_ascii_lowercase();
        CompileTarget::ALL
            .into_iter()
            .find(|t| t.as_str() == lower)
            .ok_or_else(|| ToolchainError::UnknownTarget(s.to_string()))
    }

    /// ANETools lists t0, m9, h11, h12 and h13 as `-arch` values [source]; later generations
    /// are the chip names of hwx-td.md §6, and whether ANECCompile accepts them is unverified.
    pub fn evidence(self) -> Evidence {
        match self {
            CompileTarget::T0
            | CompileTarget::M9
            | CompileTarget::H11
            | CompileTarget::H12
            | CompileTarget::H13 => Evidence::Source,
            _ => Evidence::Unverified,
        }
    }

    /// The Mach-O `cpusubtype` an `.hwx` of this generation carries (hwx-td.md §6); only H13
    /// (4) is checked against bytes. `None` for t0/m9, which have no known hwx.
    pub fn hwx_cpusubtype(self) -> Option<u32> {
        match self {
            CompileTarget::H11 => Some(1),
            CompileTarget::H12 => Some(3),
            CompileTarget::H13 => Some(4),
            CompileTarget::H14 => Some(5),
            CompileTarget::H15 => Some(6),
            CompileTarget::H16 => Some(7),
            CompileTarget::H17 => Some(9),
            CompileTarget::H18 => Some(10),
            CompileTarget::T0 | CompileTarget::M9 => None,
        }
    }
}

impl fmt::Display for CompileTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The debug flags of ANETools' `-debug` (private-api.md §20.1): the compiler writes DOT
/// graphs, register allocation and perf tables next to the output.
pub const DEBUG_MASK: i64 = 0x7fff_ffff;

/// One `ANECCompile(options, flags, block)` call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AneCompilePlan {
    /// The network plist (`net.plist`).
    pub plist: PathBuf,
    /// The `.hwx` to write.
    pub output: PathBuf,
    pub target: CompileTarget,
    pub target_evidence: Evidence,
    pub debug: bool,
    /// The first argument.
    pub options: PlistDict,
    /// The second argument.
    pub flags: PlistDict,
    /// Files the compiler reads: the plist, then the weight files its `Weights` lists name.
    pub consumes: Vec<PathBuf>,
    /// Files it writes: the `.hwx` (debug files are not listed; their names vary).
    pub produces: Vec<PathBuf>,
}

/// A folder as the compiler is given it: with a trailing `/`, the form of every known caller
/// (whether the compiler needs the slash is unverified).
fn folder_string(dir: &Path) -> String {
    let s = dir.display().to_string();
    if s.ends_with('/') {
        s
    } else if s.is_empty() {
        "./".into()
    } else {
        format!("{s}/")
    }
}

fn split_file(path: &Path) -> Result<(PathBuf, String), ToolchainError> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| bad_path(path, "has no UTF-8 file name"))?
        .to_string();
    let dir = path
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let dir = if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir
    };
    if dir.to_str().is_none() {
        return Err(bad_path(path, "the folder name is not UTF-8"));
    }
    Ok((dir, name))
}

impl AneCompilePlan {
    /// The call for `plist` → `output`. `weight_files` are the `Weights` entries of the plist
    /// (see [`plist_weight_files`]); relative ones resolve against the plist's folder.
    pub fn new(
        plist: &Path,
        output: &Path,
        target: CompileTarget,
        debug: bool,
        weight_files: &[String],
    ) -> Result<AneCompilePlan, ToolchainError> {
        let (plist_dir, plist_name) = split_file(plist)?;
        let (out_dir, out_name) = split_file(output)?;
        let network = PlistDict::from([
            (
                "NetworkPlistName".to_string(),
                PlistValue::String(plist_name),
            ),
            (
                "NetworkPlistPath".to_string(),
                PlistValue::String(folder_string(&plist_dir)),
            ),
        ]);
        let options = PlistDict::from([
            (
                "InputNetworks".to_string(),
                PlistValue::Array(vec![PlistValue::Dict(network)]),
            ),
            (
                "OutputFilePath".to_string(),
                PlistValue::String(folder_string(&out_dir)),
            ),
            ("OutputFileName".to_string(), PlistValue::String(out_name)),
        ]);
        let mut flags = PlistDict::from([(
            "TargetArchitecture".to_string(),
            PlistValue::String(target.as_str().into()),
        )]);
        if debug {
            flags.insert(
                "CompileANEProgramForDebugging".into(),
                PlistValue::Bool(true),
            );
            flags.insert("DebugMask".into(), PlistValue::Int(DEBUG_MASK));
        }
        let mut consumes = vec![plist.to_path_buf()];
        consumes.extend(weight_files.iter().map(|w| {
            let p = Path::new(w);
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                plist_dir.join(p)
            }
        }));
        Ok(AneCompilePlan {
            plist: plist.to_path_buf(),
            output: output.to_path_buf(),
            target,
            target_evidence: target.evidence(),
            debug,
            options,
            flags,
            consumes,
            produces: vec![output.to_path_buf()],
        })
    }

    /// The plan for a plist on disk: reads its `Weights` lists.
    pub fn for_plist_file(
        plist: &Path,
        output: &Path,
        target: CompileTarget,
        debug: bool,
    ) -> Result<AneCompilePlan, ToolchainError> {
        let bytes = std::fs::read(plist).map_err(|source| ToolchainError::Io {
            path: plist.display().to_string(),
            source,
        })?;
        let weights = plist_weight_files(&bytes).map_err(|reason| ToolchainError::Plist {
            path: plist.display().to_string(),
            reason,
        })?;
        AneCompilePlan::new(plist, output, target, debug, &weights)
    }

    /// Inputs that do not exist (the compiler's own error for them is not known).
    pub fn missing_inputs(&self) -> Vec<PathBuf> {
        self.consumes
            .iter()
            .filter(|p| !p.is_file())
            .cloned()
            .collect()
    }
}

/// The weight files a network plist names (every network's `Weights`, first use order).
pub fn plist_weight_files(bytes: &[u8]) -> Result<Vec<String>, String> {
    let plist = anekit_espresso::NetPlist::parse(bytes).map_err(|e| e.to_string())?;
    let mut files: Vec<String> = Vec::new();
    for net in &plist.networks {
        for w in &net.weights {
            if !files.contains(w) {
                files.push(w.clone());
            }
        }
    }
    Ok(files)
}

// --------------------------------------------------------------------------------------------
// Espresso

/// `espresso_create_context` engine that makes a plan dumpable for ANECompiler (10008 =
/// 0x2718, eiln/anecc `tohwx`) [source].
pub const ESPRESSO_ENGINE_ANE_COMPILER: i64 = 0x2718;
/// `espresso_create_context` device argument: −1 [source].
pub const ESPRESSO_DEVICE_DEFAULT: i64 = -1;
/// `espresso_plan_add_network` storage type used by `tohwx` [source].
pub const ESPRESSO_STORAGE_DEFAULT: u64 = 0x10010;
/// The other storage type the notes list [source]; not used here.
pub const ESPRESSO_STORAGE_ALT: u64 = 0x10020;

/// `EspressoContext -initWithPlatform:` values (knowledge-base.md §9) [unverified]. The notes
/// report platform 0 (CPU) works without entitlements and platform 2 (ANE) crashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EspressoPlatform {
    Cpu = 0,
    Gpu = 1,
    Ane = 2,
}

/// One call of Espresso's C API, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum EspressoStep {
    /// `void *espresso_create_context(engine, device)`.
    EspressoCreateContext { engine: i64, device: i64 },
    /// `void *espresso_create_plan(context, flags)`; the flags argument (0) is unverified.
    EspressoCreatePlan { flags: u64 },
    /// `int espresso_plan_add_network(plan, path, storage_type, network_out[2])`.
    EspressoPlanAddNetwork { path: PathBuf, storage_type: u64 },
    /// `int espresso_plan_build(plan)`.
    EspressoPlanBuild,
    /// `int espresso_dump_ir(plan, char **dir)`: writes `net.plist` and companions into dir
    /// (given with a trailing `/`).
    EspressoDumpIr { dir: PathBuf },
    /// `espresso_plan_destroy(plan)` (optional symbol).
    EspressoPlanDestroy,
    /// `espresso_context_destroy(context)` (optional symbol).
    EspressoContextDestroy,
}

impl EspressoStep {
    /// The C function this step calls.
    pub fn function(&self) -> &'static str {
        match self {
            EspressoStep::EspressoCreateContext { .. } => "espresso_create_context",
            EspressoStep::EspressoCreatePlan { .. } => "espresso_create_plan",
            EspressoStep::EspressoPlanAddNetwork { .. } => "espresso_plan_add_network",
            EspressoStep::EspressoPlanBuild => "espresso_plan_build",
            EspressoStep::EspressoDumpIr { .. } => "espresso_dump_ir",
            EspressoStep::EspressoPlanDestroy => "espresso_plan_destroy",
            EspressoStep::EspressoContextDestroy => "espresso_context_destroy",
        }
    }

    /// The call as one line of C.
    pub fn render(&self) -> String {
        match self {
            EspressoStep::EspressoCreateContext { engine, device } => {
                format!("ctx = espresso_create_context({engine:#x}, {device})")
            }
            EspressoStep::EspressoCreatePlan { flags } => {
                format!("plan = espresso_create_plan(ctx, {flags})")
            }
            EspressoStep::EspressoPlanAddNetwork { path, storage_type } => format!(
                "espresso_plan_add_network(plan, \"{}\", {storage_type:#x}, &network)",
                path.display()
            ),
            EspressoStep::EspressoPlanBuild => "espresso_plan_build(plan)".into(),
            EspressoStep::EspressoDumpIr { dir } => {
                format!("espresso_dump_ir(plan, &\"{}\")", dir.display())
            }
            EspressoStep::EspressoPlanDestroy => "espresso_plan_destroy(plan)".into(),
            EspressoStep::EspressoContextDestroy => "espresso_context_destroy(ctx)".into(),
        }
    }

    /// Functions that must resolve; the destroy calls are skipped when missing.
    pub fn required(&self) -> bool {
        !matches!(
            self,
            EspressoStep::EspressoPlanDestroy | EspressoStep::EspressoContextDestroy
        )
    }
}

/// The files `espresso_dump_ir` writes, with their status (espresso.md §6.3).
pub const DUMP_OUTPUTS: [(&str, Evidence); 3] = [
    // The input ANECompiler needs; every caller reads it from the dump folder.
    ("net.plist", Evidence::Source),
    // Present in a staged dump (tinygrad 2_compile) beside net.plist.
    ("net.additional.weights", Evidence::Source),
    ("net_aux.json", Evidence::Unverified),
];

/// `ane espresso dump-plist`: `.mlmodelc` (or `.espresso.net`) → `net.plist` and companions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EspressoDumpPlan {
    /// The `.espresso.net` Espresso loads.
    pub net: PathBuf,
    /// The folder `espresso_dump_ir` writes into.
    pub out_dir: PathBuf,
    pub steps: Vec<EspressoStep>,
    /// `<out_dir>/net.plist`: what ANECompiler reads next.
    pub net_plist: PathBuf,
    /// Files the dump is expected to write (only `net.plist` is required afterwards).
    pub produces: Vec<PathBuf>,
}

/// The `.espresso.net` of `model`: the file itself, `model.espresso.net` in a folder, or the
/// first `*.espresso.net` there. ML Program bundles (`model.mil`, no net) are refused: the
/// Espresso route needs NeuralNetwork-era models (hwx-td.md §7.1, "Do not use mlpackages").
pub fn find_espresso_net(model: &Path) -> Result<PathBuf, ToolchainError> {
    let net = anekit_espresso::bundle::find_net(model).map_err(|e| match e {
        anekit_espresso::bundle::BundleError::NoNet { .. } if model.join("model.mil").is_file() => {
            bad_path(
                model,
                "is an ML Program bundle (model.mil, no .espresso.net); Espresso's dump needs \
                 a NeuralNetwork-era .mlmodelc",
            )
        }
        other => ToolchainError::BadPath {
            path: model.display().to_string(),
            reason: other.to_string(),
        },
    })?;
    if !net.is_file() {
        return Err(bad_path(&net, "no such .espresso.net"));
    }
    Ok(net)
}

impl EspressoDumpPlan {
    /// The sequence of hwx-td.md §7.1: context (engine 0x2718, device −1), plan, add network
    /// (storage 0x10010), build, dump, destroy.
    pub fn new(net: &Path, out_dir: &Path) -> EspressoDumpPlan {
        let steps = vec![
            EspressoStep::EspressoCreateContext {
                engine: ESPRESSO_ENGINE_ANE_COMPILER,
                device: ESPRESSO_DEVICE_DEFAULT,
            },
            EspressoStep::EspressoCreatePlan { flags: 0 },
            EspressoStep::EspressoPlanAddNetwork {
                path: net.to_path_buf(),
                storage_type: ESPRESSO_STORAGE_DEFAULT,
            },
            EspressoStep::EspressoPlanBuild,
            // With a trailing `/`, as the public callers pass it: whether Espresso joins the
            // file names with a separator of its own is unverified.
            EspressoStep::EspressoDumpIr {
                dir: PathBuf::from(folder_string(out_dir)),
            },
            EspressoStep::EspressoPlanDestroy,
            EspressoStep::EspressoContextDestroy,
        ];
        EspressoDumpPlan {
            net: net.to_path_buf(),
            out_dir: out_dir.to_path_buf(),
            steps,
            net_plist: out_dir.join("net.plist"),
            produces: DUMP_OUTPUTS
                .iter()
                .map(|(name, _)| out_dir.join(name))
                .collect(),
        }
    }

    /// The plan for a model folder or net file.
    pub fn for_model(model: &Path, out_dir: &Path) -> Result<EspressoDumpPlan, ToolchainError> {
        Ok(EspressoDumpPlan::new(&find_espresso_net(model)?, out_dir))
    }
}

/// `ane hwx compile MODEL.mlmodelc`: the Espresso dump, then ANECCompile on its `net.plist`.
/// The compile plan's weight list is unknown until the dump has run, so it holds the plist
/// alone; the macOS driver re-plans from the dumped file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainPlan {
    pub dump: EspressoDumpPlan,
    pub compile: AneCompilePlan,
}

impl ChainPlan {
    pub fn new(
        model: &Path,
        ir_dir: &Path,
        output: &Path,
        target: CompileTarget,
        debug: bool,
    ) -> Result<ChainPlan, ToolchainError> {
        let dump = EspressoDumpPlan::for_model(model, ir_dir)?;
        let compile = AneCompilePlan::new(&dump.net_plist, output, target, debug, &[])?;
        Ok(ChainPlan { dump, compile })
    }
}

/// What a model path is for `ane hwx compile`: a network plist or something Espresso loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CompileInput {
    NetPlist,
    EspressoModel,
}

/// A `.plist` file is compiled directly; a folder or `.espresso.net` goes through Espresso.
pub fn classify_input(path: &Path) -> CompileInput {
    let is_plist = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("plist"));
    if is_plist && !path.is_dir() {
        CompileInput::NetPlist
    } else {
        CompileInput::EspressoModel
    }
}

// --------------------------------------------------------------------------------------------
// Running the plans (macOS) or saying what would run (elsewhere)

/// What a finished Espresso dump left in its folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DumpOutcome {
    pub dir: PathBuf,
    pub net_plist: PathBuf,
    /// Every file in the folder with its size, sorted by name.
    pub files: Vec<(String, u64)>,
}

/// What a finished compile wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CompileOutcome {
    pub hwx: PathBuf,
    pub bytes: u64,
}

/// The files of `dir` (not recursive) with their sizes, sorted by name.
pub fn list_files(dir: &Path) -> Result<Vec<(String, u64)>, ToolchainError> {
    let io = |source| ToolchainError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let meta = entry.metadata().map_err(io)?;
        if meta.is_file() {
            files.push((entry.file_name().to_string_lossy().into_owned(), meta.len()));
        }
    }
    files.sort();
    Ok(files)
}

/// Check a dump's result: `net.plist` must be in the folder Espresso reported.
pub fn dump_outcome(dir: &Path) -> Result<DumpOutcome, ToolchainError> {
    let net_plist = dir.join("net.plist");
    if !net_plist.is_file() {
        return Err(ToolchainError::MissingOutput {
            function: "espresso_dump_ir",
            path: net_plist.display().to_string(),
        });
    }
    Ok(DumpOutcome {
        dir: dir.to_path_buf(),
        net_plist,
        files: list_files(dir)?,
    })
}

/// Check a compile's result: the `.hwx` must exist.
pub fn compile_outcome(plan: &AneCompilePlan) -> Result<CompileOutcome, ToolchainError> {
    let meta = std::fs::metadata(&plan.output).map_err(|_| ToolchainError::MissingOutput {
        function: "ANECCompile",
        path: plan.output.display().to_string(),
    })?;
    Ok(CompileOutcome {
        hwx: plan.output.clone(),
        bytes: meta.len(),
    })
}

/// One line naming the calls of a dump plan.
pub fn describe_dump(plan: &EspressoDumpPlan) -> String {
    plan.steps
        .iter()
        .filter(|s| s.required())
        .map(EspressoStep::render)
        .collect::<Vec<_>>()
        .join("; ")
}

/// One line naming the compile call.
pub fn describe_compile(plan: &AneCompilePlan) -> String {
    format!(
        "ANECCompile(options {}, flags {}, NULL)",
        serde_json::to_string(&plan.options).unwrap_or_default(),
        serde_json::to_string(&plan.flags).unwrap_or_default()
    )
}

/// Run the Espresso dump (macOS); elsewhere a [`ToolchainError::NotMacos`] naming the calls.
pub fn execute_dump(plan: &EspressoDumpPlan) -> Result<DumpOutcome, ToolchainError> {
    #[cfg(target_os = "macos")]
    {
        let espresso = crate::macos::espresso::Espresso::open()?;
        let dir = espresso.run_dump(plan)?;
        dump_outcome(&dir)
    }
    #[cfg(not(target_os = "macos"))]
    {
        Err(ToolchainError::NotMacos {
            tool: "ane espresso dump-plist",
            library: "Espresso.framework",
            os: std::env::consts::OS,
            would_run: describe_dump(plan),
        })
    }
}

/// Run ANECCompile (macOS); elsewhere a [`ToolchainError::NotMacos`] naming the call.
pub fn execute_compile(plan: &AneCompilePlan) -> Result<CompileOutcome, ToolchainError> {
    #[cfg(target_os = "macos")]
    {
        if let Some(parent) = plan.output.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| ToolchainError::Io {
                path: parent.display().to_string(),
                source,
            })?;
        }
        crate::macos::anecompiler::AneCompiler::open()?.run(plan)?;
        compile_outcome(plan)
    }
    #[cfg(not(target_os = "macos"))]
    {
        Err(ToolchainError::NotMacos {
            tool: "ane hwx compile",
            library: "ANECompiler.framework",
            os: std::env::consts::OS,
            would_run: describe_compile(plan),
        })
    }
}

/// Run the chain (macOS): dump, re-plan the compile from the dumped plist (its weight list),
/// compile. Elsewhere a [`ToolchainError::NotMacos`] naming both steps.
pub fn execute_chain(
    chain: &ChainPlan,
) -> Result<(DumpOutcome, AneCompilePlan, CompileOutcome), ToolchainError> {
    #[cfg(target_os = "macos")]
    {
        let dumped = execute_dump(&chain.dump)?;
        let compile = AneCompilePlan::for_plist_file(
            &dumped.net_plist,
            &chain.compile.output,
            chain.compile.target,
            chain.compile.debug,
        )?;
        let outcome = execute_compile(&compile)?;
        Ok((dumped, compile, outcome))
    }
    #[cfg(not(target_os = "macos"))]
    {
        Err(ToolchainError::NotMacos {
            tool: "ane hwx compile",
            library: "Espresso.framework and ANECompiler.framework",
            os: std::env::consts::OS,
            would_run: format!(
                "{}; then {}",
                describe_dump(&chain.dump),
                describe_compile(&chain.compile)
            ),
        })
    }
}

#[cfg(test)]
mod tests;
