//! `ane run MODEL`: evaluate a program (MIL text, an .mlmodelc-style folder, an .mlpackage, or
//! an Espresso net, lowered to MIL by `anekit_espresso::lower`) on a backend — today the CPU reference executor (`anekit_cpu::exec`) — with inputs from
//! `.npy` files or seeded random values, print per-output statistics and the time per
//! evaluation, and optionally write every output as `<out>/<name>.npy`. See docs/run.md.
use super::run_profile::ProfileReport;
use crate::{CmdResult, Ctx};
use anekit_core::npy::{read_npy, write_npy};
use anekit_core::{DType, TensorData};
use anekit_cpu::Numerics;
use anekit_cpu::exec::{ExecError, ExecOptions, Executor, IoSpec, NamedTensor, Profile};
use anekit_ir::weights::Weights;
use anekit_ir::{Diagnostic, Program, Severity};
use anekit_mil::LineIndex;
use miette::{IntoDiagnostic, WrapErr, miette};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct RunArgs {
    /// The model: a .mil file, a folder holding model.mil (an .mlmodelc, or examples/<name>),
    /// an .mlpackage folder, or an Espresso net (`*.espresso.net`, JSON or PBZE, or a folder
    /// holding one, such as an .mlmodelc of the NeuralNetwork era).
    pub model: PathBuf,
    /// The folder `@model_path` in BLOBFILE paths stands for (default: the .mil file's folder,
    /// the model folder, or the package's Data/com.apple.CoreML). A `weights/` folder itself is
    /// accepted too.
    #[arg(long, value_name = "DIR")]
    pub weights: Option<PathBuf>,
    /// Replace every BLOBFILE constant by seeded random values (no weight files are read).
    #[arg(long, value_name = "SEED", num_args = 0..=1, require_equals = true, default_missing_value = "0")]
    pub random_weights: Option<u64>,
    /// An input: `NAME=FILE.npy`, `NAME=random` or `NAME=random:SEED`. Inputs not given are
    /// `random` (seed 0).
    #[arg(
        long = "input",
        short = 'i',
        value_name = "NAME=FILE.npy|random[:SEED]"
    )]
    pub inputs: Vec<String>,
    /// The size of dynamic (`?`) input dims: `INPUT:AXIS=N` (one dim, e.g.
    /// `audio_signal:1=16000`), `INPUT=N` (every dynamic dim of that input) or `?=N` (all).
    #[arg(long = "dim", value_name = "INPUT:AXIS=N")]
    pub dims: Vec<String>,
    /// The function to run (default: an .mlpackage's default function, else `main`, else the
    /// only function).
    #[arg(long, value_name = "NAME")]
    pub function: Option<String>,
    /// Write every output as `<DIR>/<output name>.npy` (the folder is created).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Evaluate N times; the time reported is the median (and the minimum).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub repeat: u32,
    /// Where to run: `cpu` (the reference executor), `auto` (= cpu off macOS), `ane` and
    /// `coreml` (macOS only).
    #[arg(long, value_enum, default_value_t = Backend::Cpu)]
    pub backend: Backend,
    /// `ane`: every op result rounded to its declared dtype (fp16 as the ANE stores
    /// activations); `exact`: f32 throughout.
    #[arg(long, value_enum, default_value_t = NumericsArg::Ane)]
    pub numerics: NumericsArg,
    /// Time every op of every evaluation (cpu backend only) and report where the time goes:
    /// per op kind and the slowest ops, medians over the --repeat evaluations.
    #[arg(long)]
    pub profile: bool,
    #[command(flatten)]
    pub device: super::serve::DeviceArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Auto,
    Cpu,
    Ane,
    Coreml,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum NumericsArg {
    Ane,
    Exact,
}

impl NumericsArg {
    fn numerics(self) -> Numerics {
        match self {
            NumericsArg::Ane => Numerics::Ane,
            NumericsArg::Exact => Numerics::Exact,
        }
    }
}

/// Where an input's values came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum InputSource {
    /// Read from an .npy file.
    File { path: String },
    /// Seeded random values; `defaulted` when the input was not given on the command line.
    Random { seed: u64, defaulted: bool },
}

#[derive(Serialize)]
struct InputReport {
    name: String,
    dtype: DType,
    shape: Vec<usize>,
    source: InputSource,
}

/// Statistics of one output. Min/max/mean are over the finite values (`null` when none).
#[derive(Serialize)]
struct OutputReport {
    name: String,
    dtype: DType,
    shape: Vec<usize>,
    min: Option<f64>,
    max: Option<f64>,
    mean: Option<f64>,
    nan: usize,
    inf: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<String>,
}

#[derive(Serialize)]
struct Timing {
    repeat: u32,
    /// Median wall time of one evaluation (`Executor::run`), in milliseconds.
    median_ms: f64,
    min_ms: f64,
    /// One-time preparation (constant decoding, weight resolution) in milliseconds.
    prepare_ms: f64,
}

#[derive(Serialize)]
struct WeightsReport {
    /// `files` (read from `root`), `espresso` (the net's .espresso.weights file, `root`, lowered
    /// to fp32), `random` (seeded), or `none` (the program has no BLOBFILE).
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    root: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
}

#[derive(Serialize)]
struct RunReport {
    model: String,
    /// `mil`, `folder` (model.mil inside), `mlpackage` or `espresso`.
    model_kind: &'static str,
    function: String,
    backend: &'static str,
    /// Why this backend, when `--backend` was not `cpu` (e.g. what `auto` fell back from).
    #[serde(skip_serializing_if = "Option::is_none")]
    backend_reason: Option<String>,
    /// `coreml`: Core ML's planned device per op (`MLComputePlan`), or why it is unavailable.
    #[serde(skip_serializing_if = "Option::is_none")]
    compute_plan: Option<anekit_runtime::ComputePlan>,
    /// `ane` or `exact` on the CPU; `device` on the ane/coreml backends.
    numerics: &'static str,
    weights: WeightsReport,
    inputs: Vec<InputReport>,
    outputs: Vec<OutputReport>,
    timing: Timing,
    /// `--profile`: per-op times.
    #[serde(skip_serializing_if = "Option::is_none")]
    profile: Option<ProfileReport>,
}

/// A loaded model: its IR and the `@model_path` folder its BLOBFILEs are relative to.
struct Loaded {
    program: Program,
    model_root: PathBuf,
    kind: &'static str,
    /// The package description's `defaultFunctionName` (multi-function .mlpackages).
    default_function: Option<String>,
    /// Set for an Espresso net: `model_root` is then a temporary folder holding the lowered
    /// program, removed when this is dropped.
    espresso: Option<LoweredNet>,
}

/// An Espresso net lowered to MIL for this run.
struct LoweredNet {
    /// The lowered program's text (what the runtime backends compile).
    mil_text: String,
    /// The net's `.espresso.weights`, when it has one (for the report).
    weights_file: Option<PathBuf>,
    /// Holds `model.mil` and `weights/weight.bin`; deleted on drop.
    _dir: tempfile::TempDir,
}

/// What evaluates: the CPU executor directly, or a backend of anekit-runtime (ane, coreml).
enum Engine {
    Cpu(Box<Executor>),
    Runtime(Box<dyn anekit_runtime::Model>),
}

impl Engine {
    fn inputs(&self) -> Vec<IoSpec> {
        match self {
            Engine::Cpu(exec) => exec.inputs(),
            Engine::Runtime(model) => model.info().inputs,
        }
    }

    /// One evaluation. `Ok(Err(e))`: the device backend failed (the caller may move the run
    /// to the CPU); `Err`: a failure to report.
    /// With `profile`, the CPU executor also records each op's time (device backends are
    /// never chosen with `--profile`).
    fn evaluate(
        &mut self,
        model: &str,
        inputs: &[NamedTensor],
        outputs: &mut Vec<NamedTensor>,
        reading_weights: bool,
        profile: Option<&mut Profile>,
    ) -> miette::Result<Result<(), anekit_runtime::RuntimeError>> {
        match self {
            Engine::Cpu(exec) => {
                let result = match profile {
                    Some(p) => exec.run_profiled(inputs, &mut exec.new_states(), p),
                    None => exec.run(inputs),
                };
                *outputs = result.map_err(|e| exec_error(model, e, reading_weights))?;
                Ok(Ok(()))
            }
            Engine::Runtime(m) => Ok(m.evaluate_into(inputs, outputs)),
        }
    }
}

/// The backend to use: `None` = the CPU executor; else a runtime backend. The string says why
/// (for `auto`).
fn choose_backend(
    backend: Backend,
) -> miette::Result<(Option<anekit_runtime::Selection>, Option<String>)> {
    let name = match backend {
        Backend::Cpu => return Ok((None, None)),
        Backend::Auto => "auto",
        Backend::Ane => "ane",
        Backend::Coreml => "coreml",
    };
    let selection = anekit_runtime::select_backend(name, &anekit_runtime::BackendConfig::default())
        .map_err(|e| miette!("{e}; use --backend cpu"))?;
    let reason = Some(selection.reason.clone());
    if selection.backend.kind() == anekit_runtime::BackendKind::Cpu {
        return Ok((None, reason));
    }
    Ok((Some(selection), reason))
}

/// Options that exist only on the CPU executor (`--random-weights`: the device backends
/// compile real weight files; `--profile`: it times the executor's ops). Under `auto` a device
/// selection gives way to the CPU with this reason; an explicitly chosen device backend is an
/// error. `Ok(None)`: keep the selection.
fn cpu_only_option(
    backend: Backend,
    device_selected: bool,
    option: Option<&str>,
) -> miette::Result<Option<String>> {
    let Some(option) = option.filter(|_| device_selected) else {
        return Ok(None);
    };
    match backend {
        Backend::Auto => Ok(Some(format!("auto: {option} runs on the cpu backend only"))),
        _ => Err(miette!(
            "{option} runs on the cpu backend only; use --backend cpu or auto"
        )),
    }
}

pub fn run(args: RunArgs, ctx: &Ctx) -> CmdResult {
    let (mut selection, mut backend_reason) = choose_backend(args.backend)?;
    let cpu_only = [
        args.random_weights.map(|_| "--random-weights"),
        args.profile.then_some("--profile"),
    ];
    for option in cpu_only {
        if let Some(reason) = cpu_only_option(args.backend, selection.is_some(), option)? {
            selection = None;
            backend_reason = Some(reason);
        }
    }
    let loaded = load_model(&args.model, args.weights.as_deref())?;
    let dims = parse_dims(&args.dims)?;
    let has_blobs = loaded.program.blob_constants().next().is_some();
    let weights_report = match (args.random_weights, has_blobs) {
        (Some(seed), _) => WeightsReport {
            kind: "random",
            root: None,
            seed: Some(seed),
        },
        (None, true) => match &loaded.espresso {
            Some(net) => WeightsReport {
                kind: "espresso",
                root: net.weights_file.as_ref().map(|p| p.display().to_string()),
                seed: None,
            },
            None => WeightsReport {
                kind: "files",
                root: Some(loaded.model_root.display().to_string()),
                seed: None,
            },
        },
        (None, false) => WeightsReport {
            kind: "none",
            root: None,
            seed: None,
        },
    };
    let wanted = args.function.clone().or(loaded.default_function.clone());
    let function = pick_function(&loaded.program, wanted.as_deref())?;
    let model = args.model.display().to_string();
    let reading_weights = args.random_weights.is_none();
    let started = Instant::now();
    // A device backend compiles and loads first: under `auto`, a failure there leaves the run
    // on the CPU executor with the reason.
    let mut compute_plan = None;
    let mut device = None;
    if let Some(selection) = &selection {
        let mut source = match &loaded.espresso {
            Some(net) => anekit_runtime::ProgramSource::from_text(
                net.mil_text.clone(),
                anekit_runtime::WeightSource::None,
            ),
            None => anekit_runtime::ProgramSource::from_path(&args.model)
                .map_err(|e| miette!("{model}: {e}"))?,
        };
        source.weights = anekit_runtime::WeightSource::Dir(loaded.model_root.clone());
        let mut options = anekit_runtime::CompileOptions {
            function: wanted.clone(),
            dims: dims.clone(),
            ..Default::default()
        };
        args.device.apply(&mut options);
        match anekit_runtime::compile_and_load(selection, &source, &options)
            .map_err(|e| miette!("{model}: {e}"))?
        {
            anekit_runtime::Prepared::Ready { model, load } => {
                compute_plan = load.compute_plan;
                device = Some((model, selection.backend.kind().as_str()));
            }
            anekit_runtime::Prepared::Fallback { reason } => backend_reason = Some(reason),
        }
    }
    let exec_options = ExecOptions {
        numerics: args.numerics.numerics(),
        function: wanted,
        dims,
        random_weights: args.random_weights,
        ..ExecOptions::default()
    };
    let cpu_engine = |program: Program| -> miette::Result<Engine> {
        let weights = reading_weights.then(|| Weights::new(&loaded.model_root));
        Executor::new(program, weights, exec_options.clone())
            .map(|exec| Engine::Cpu(Box::new(exec)))
            .map_err(|e| exec_error(&model, e, reading_weights))
    };
    let cpu_numerics = args.numerics.numerics().name();
    // Under `auto`, the program is kept to move the run to the CPU if the device fails to
    // evaluate.
    let mut spare_program = None;
    let (mut engine, mut backend, mut numerics) = match device {
        None => (cpu_engine(loaded.program)?, "cpu", cpu_numerics),
        // The device computes with its own arithmetic; --numerics is the CPU's.
        Some((compiled, backend)) => {
            if selection.as_ref().is_some_and(|s| s.fallback.is_some()) {
                spare_program = Some(loaded.program.clone());
            }
            (Engine::Runtime(compiled), backend, "device")
        }
    };
    let prepare = started.elapsed();

    let specs = engine.inputs();
    let (inputs, input_reports) = gather_inputs(&specs, &args.inputs)?;

    let repeat = args.repeat;
    let bar = progress_bar(ctx, repeat);
    let mut times = Vec::with_capacity(repeat as usize);
    let mut outputs = Vec::new();
    let mut profile = args.profile.then(Profile::default);
    while times.len() < repeat as usize {
        let t = Instant::now();
        if let Err(e) = engine.evaluate(
            &model,
            &inputs,
            &mut outputs,
            reading_weights,
            profile.as_mut(),
        )? {
            let spare = spare_program.take().filter(|_| e.is_device_failure());
            let (Some(program), Some(sel)) = (spare, &selection) else {
                return Err(miette!("{model}: {e}"));
            };
            // `auto`: the device failed to evaluate; start the timing over on the CPU.
            backend_reason = Some(anekit_runtime::fallback_reason(
                "evaluate",
                sel.backend.kind(),
                &e,
            ));
            engine = cpu_engine(program)?;
            (backend, numerics) = ("cpu", cpu_numerics);
            compute_plan = None;
            times.clear();
            if let Some(b) = &bar {
                b.set_position(0);
            }
            continue;
        }
        times.push(t.elapsed());
        if let Some(b) = &bar {
            b.inc(1);
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if let Engine::Runtime(m) = &mut engine {
        m.unload().map_err(|e| miette!("{model}: {e}"))?;
    }

    let mut output_reports = Vec::with_capacity(outputs.len());
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot create {}", dir.display()))?;
    }
    for o in &outputs {
        let mut report = output_stats(o);
        if let Some(dir) = &args.out {
            let path = dir.join(format!("{}.npy", file_stem(&o.name)));
            let shape: Vec<u64> = o.shape.iter().map(|&d| d as u64).collect();
            let bytes = write_npy(&shape, &o.data)
                .into_diagnostic()
                .wrap_err_with(|| format!("output `{}`", o.name))?;
            std::fs::write(&path, bytes)
                .into_diagnostic()
                .wrap_err_with(|| format!("cannot write {}", path.display()))?;
            report.file = Some(path.display().to_string());
        }
        output_reports.push(report);
    }

    let report = RunReport {
        model,
        model_kind: loaded.kind,
        function,
        backend,
        backend_reason,
        compute_plan,
        numerics,
        weights: weights_report,
        inputs: input_reports,
        outputs: output_reports,
        timing: timing(&times, repeat, prepare),
        profile: profile.map(|p| ProfileReport::new(&p)),
    };
    ctx.emit(&report, || human(&report))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The middle element, or the mean of the two middle ones; zero for none.
pub(super) fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    match (sorted.get(n / 2), n % 2) {
        (Some(&hi), 0) => {
            let lo = sorted.get(n / 2 - 1).copied().unwrap_or(hi);
            (lo + hi) / 2
        }
        (Some(&mid), _) => mid,
        (None, _) => Duration::ZERO,
    }
}

fn timing(times: &[Duration], repeat: u32, prepare: Duration) -> Timing {
    Timing {
        repeat,
        median_ms: ms(median(times)),
        min_ms: times.iter().min().copied().map_or(0.0, ms),
        prepare_ms: ms(prepare),
    }
}

/// A progress bar on stderr for long repeats (indicatif hides it when stderr is not a
/// terminal); none with `--json` or few repeats.
fn progress_bar(ctx: &Ctx, repeat: u32) -> Option<indicatif::ProgressBar> {
    if ctx.json || repeat < 20 {
        return None;
    }
    let bar = indicatif::ProgressBar::new(u64::from(repeat));
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} evaluating {pos}/{len} [{bar:30}] {per_sec} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    Some(bar)
}

/// The function `ane run` evaluates (the same rule as the executor: `--function`, else `main`,
/// else the only function), for the report.
fn pick_function(program: &Program, wanted: Option<&str>) -> miette::Result<String> {
    let names: Vec<&str> = program.functions.iter().map(|f| f.name.as_str()).collect();
    match wanted {
        Some(w) if names.contains(&w) => Ok(w.to_string()),
        Some(w) => Err(miette!(
            "function `{w}` not found in the program (functions: {})",
            names.join(", ")
        )),
        None if names.contains(&"main") => Ok("main".into()),
        None if names.len() == 1 => Ok(names.first().copied().unwrap_or_default().to_string()),
        None => Err(miette!(
            "the program has {} functions and none is `main`; choose one with --function ({})",
            names.len(),
            names.join(", ")
        )),
    }
}

/// Make an executor error one line naming the model, with a hint for missing weights.
fn exec_error(model: &str, e: ExecError, reading_weights: bool) -> miette::Report {
    match e {
        ExecError::Input { .. } => miette!("{e}"),
        ExecError::Weights(_) if reading_weights => {
            miette!("{model}: {e} (use --weights DIR, or --random-weights to run without them)")
        }
        other => miette!("{model}: {other}"),
    }
}

// ---- loading -----------------------------------------------------------------------------

fn load_model(path: &Path, weights: Option<&Path>) -> miette::Result<Loaded> {
    let meta = std::fs::metadata(path)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot read {}", path.display()))?;
    if meta.is_dir() {
        if path.join("Manifest.json").is_file() {
            return load_package(path, weights);
        }
        let mil = path.join("model.mil");
        if !mil.is_file() {
            // An .mlmodelc of the NeuralNetwork era holds an Espresso net instead.
            if anekit_espresso::bundle::find_net(path).is_ok() {
                return load_espresso(path, weights);
            }
            return Err(miette!(
                "{}: a folder model needs model.mil (an .mlmodelc), Manifest.json (an .mlpackage) or an *.espresso.net",
                path.display()
            ));
        }
        let program = load_mil_text(&mil)?;
        return Ok(Loaded {
            program,
            model_root: model_root(weights, path),
            kind: "folder",
            default_function: None,
            espresso: None,
        });
    }
    if path.extension().is_some_and(|e| e == "mlpackage") {
        return Err(miette!(
            "{}: an .mlpackage is a folder, this is a file",
            path.display()
        ));
    }
    if is_espresso_net(path) {
        return load_espresso(path, weights);
    }
    let program = load_mil_text(path)?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok(Loaded {
        program,
        model_root: model_root(weights, &parent),
        kind: "mil",
        default_function: None,
        espresso: None,
    })
}

/// A `*.espresso.net` file by name, or any file that starts with the PBZE magic (a compressed
/// net under another name; MIL text never starts with it).
fn is_espresso_net(path: &Path) -> bool {
    if path.to_string_lossy().ends_with(".espresso.net") {
        return true;
    }
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok_and(|()| &magic == b"pbze")
}

/// Lower an Espresso net (file or folder) to MIL with `anekit_espresso::lower` and write it to
/// a temporary model folder for the executor's `Weights`, which reads weight files from a
/// folder. The folder lives as long as the returned `Loaded`.
fn load_espresso(path: &Path, weights: Option<&Path>) -> miette::Result<Loaded> {
    if weights.is_some() {
        return Err(miette!(
            "{}: --weights does not apply to an Espresso net (its weights are the .espresso.weights file its `storage` key names)",
            path.display()
        ));
    }
    let bundle = anekit_espresso::Bundle::open(path, anekit_espresso::lzfse::DEFAULT_LIMIT)
        .map_err(|e| miette!("{e}"))?;
    let net = bundle.net_path.display().to_string();
    let lowered = anekit_espresso::lower::lower_bundle(&bundle)
        .map_err(|e| miette!("{net}: cannot lower the Espresso net to MIL: {e}"))?;
    let (program, diags) = anekit_ir::build(&lowered.program);
    let mil_text = lowered.text();
    if diags.iter().any(|d| d.severity == Severity::Error) {
        let checked = anekit_ir::check(&mil_text);
        let file = format!("{net} (as lowered to model.mil)");
        return Err(first_error(&checked.diagnostics, &file, &mil_text)
            .unwrap_or_else(|| miette!("{net}: the lowered program does not validate")));
    }
    let dir = tempfile::Builder::new()
        .prefix("anekit-espresso-")
        .tempdir()
        .into_diagnostic()
        .wrap_err("cannot create a temporary folder for the lowered net")?;
    lowered.write(dir.path()).map_err(|e| miette!("{e}"))?;
    Ok(Loaded {
        program,
        model_root: dir.path().to_path_buf(),
        kind: "espresso",
        default_function: None,
        espresso: Some(LoweredNet {
            mil_text,
            weights_file: bundle.weights_path,
            _dir: dir,
        }),
    })
}

/// `--weights DIR` names the `@model_path` folder; accept the `weights/` folder itself too
/// (what `ane convert --weights` takes), since BLOBFILE paths are `@model_path/weights/...`.
fn model_root(weights: Option<&Path>, default: &Path) -> PathBuf {
    match weights {
        Some(dir)
            if !dir.join("weights").is_dir() && dir.file_name().is_some_and(|n| n == "weights") =>
        {
            dir.parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
        }
        Some(dir) => dir.to_path_buf(),
        None => default.to_path_buf(),
    }
}

/// Models larger than this are refused before reading (the largest real model.mil is < 1 MB).
const MAX_MIL_BYTES: u64 = 256 << 20;

fn load_mil_text(path: &Path) -> miette::Result<Program> {
    let len = std::fs::metadata(path)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot read {}", path.display()))?
        .len();
    if len > MAX_MIL_BYTES {
        return Err(miette!(
            "{}: {len} bytes is larger than the {MAX_MIL_BYTES}-byte limit for MIL text",
            path.display()
        ));
    }
    let bytes = std::fs::read(path)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot read {}", path.display()))?;
    let src = String::from_utf8(bytes).map_err(|e| {
        miette!(
            "{}: not UTF-8 at byte {}",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })?;
    let checked = anekit_ir::check(&src);
    if let Some(err) = first_error(&checked.diagnostics, &path.display().to_string(), &src) {
        return Err(err);
    }
    checked
        .program
        .ok_or_else(|| miette!("{}: the program did not parse", path.display()))
}

/// The first error diagnostic as a one-line error (`FILE:LINE:COL: code: message`).
fn first_error(diags: &[Diagnostic], file: &str, src: &str) -> Option<miette::Report> {
    let errors: Vec<&Diagnostic> = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    let first = errors.first()?;
    let (line, col) = LineIndex::new(src).line_col(src, first.span.start);
    let more = match errors.len() {
        1 => String::new(),
        n => format!(" ({} more errors; `ane mil check` lists them)", n - 1),
    };
    Some(miette!(
        "{file}:{line}:{col}: the program does not validate: {}: {}{more}",
        first.code,
        first.message
    ))
}

fn load_package(path: &Path, weights: Option<&Path>) -> miette::Result<Loaded> {
    let pkg = anekit_coreml::MlPackage::open(path).into_diagnostic()?;
    let conv = pkg
        .to_ast(None)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot convert {} to MIL", path.display()))?;
    let (program, diags) = anekit_ir::build(&conv.program);
    if diags.iter().any(|d| d.severity == Severity::Error) {
        // Report the error at its line in the canonical text (`ane convert` writes the same).
        let text = conv.text();
        let checked = anekit_ir::check(&text);
        let file = format!("{} (as converted to model.mil)", path.display());
        return Err(
            first_error(&checked.diagnostics, &file, &text).unwrap_or_else(|| {
                miette!(
                    "{}: the converted program does not validate",
                    path.display()
                )
            }),
        );
    }
    // BLOBFILE paths are `@model_path/weights/<file>`; the package keeps the files in its
    // weights item (Data/com.apple.CoreML/weights), so `@model_path` is that item's parent.
    let default_root = pkg
        .weights_dir
        .as_deref()
        .and_then(Path::parent)
        .map_or_else(
            || {
                pkg.model_path
                    .parent()
                    .map_or_else(|| path.to_path_buf(), Path::to_path_buf)
            },
            Path::to_path_buf,
        );
    Ok(Loaded {
        program,
        model_root: model_root(weights, &default_root),
        kind: "mlpackage",
        default_function: pkg
            .model
            .description
            .as_ref()
            .map(|d| d.default_function_name.clone())
            .filter(|n| !n.is_empty()),
        espresso: None,
    })
}

// ---- inputs ------------------------------------------------------------------------------

fn parse_dims(specs: &[String]) -> miette::Result<BTreeMap<String, usize>> {
    let mut dims = BTreeMap::new();
    for s in specs {
        let (name, value) = s
            .split_once('=')
            .ok_or_else(|| miette!("--dim {s}: expected INPUT:AXIS=N, INPUT=N or ?=N"))?;
        let n: usize = value
            .parse()
            .map_err(|_| miette!("--dim {s}: `{value}` is not a size"))?;
        dims.insert(name.to_string(), n);
    }
    Ok(dims)
}

/// What `--input NAME=...` asked for.
enum InputArg {
    File(PathBuf),
    Random(u64),
}

fn parse_input_args(args: &[String]) -> miette::Result<Vec<(String, InputArg)>> {
    let mut out: Vec<(String, InputArg)> = Vec::new();
    for a in args {
        let (name, value) = a
            .split_once('=')
            .ok_or_else(|| miette!("--input {a}: expected NAME=FILE.npy or NAME=random[:SEED]"))?;
        if out.iter().any(|(n, _)| n == name) {
            return Err(miette!("input `{name}` is given twice"));
        }
        let arg = if value == "random" {
            InputArg::Random(0)
        } else if let Some(seed) = value.strip_prefix("random:") {
            InputArg::Random(
                seed.parse()
                    .map_err(|_| miette!("input `{name}`: random seed `{seed}` is not a number"))?,
            )
        } else {
            InputArg::File(PathBuf::from(value))
        };
        out.push((name.to_string(), arg));
    }
    Ok(out)
}

/// Build every declared input from the command line (or random values), in declaration order.
fn gather_inputs(
    specs: &[IoSpec],
    args: &[String],
) -> miette::Result<(Vec<NamedTensor>, Vec<InputReport>)> {
    let given = parse_input_args(args)?;
    for (name, _) in &given {
        if !specs.iter().any(|s| &s.name == name) {
            let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
            return Err(miette!(
                "input `{name}`: the function has no such input (inputs: {})",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ));
        }
    }
    let mut tensors = Vec::with_capacity(specs.len());
    let mut reports = Vec::with_capacity(specs.len());
    for spec in specs {
        let arg = given.iter().find(|(n, _)| n == &spec.name).map(|(_, a)| a);
        let (tensor, source) = match arg {
            Some(InputArg::File(path)) => (
                read_input_file(spec, path)?,
                InputSource::File {
                    path: path.display().to_string(),
                },
            ),
            Some(InputArg::Random(seed)) => (
                random_input(spec, *seed)?,
                InputSource::Random {
                    seed: *seed,
                    defaulted: false,
                },
            ),
            None => (
                random_input(spec, 0)?,
                InputSource::Random {
                    seed: 0,
                    defaulted: true,
                },
            ),
        };
        reports.push(InputReport {
            name: spec.name.clone(),
            dtype: tensor.data.dtype(),
            shape: tensor.shape.clone(),
            source,
        });
        tensors.push(tensor);
    }
    Ok((tensors, reports))
}

fn shape_text(shape: &[Option<usize>]) -> String {
    let dims: Vec<String> = shape
        .iter()
        .map(|d| d.map_or_else(|| "?".to_string(), |n| n.to_string()))
        .collect();
    format!("[{}]", dims.join(", "))
}

/// Largest .npy input read (hostile sizes are refused before reading).
const MAX_NPY_BYTES: u64 = 4 << 30;

fn read_input_file(spec: &IoSpec, path: &Path) -> miette::Result<NamedTensor> {
    let name = &spec.name;
    let len = std::fs::metadata(path)
        .map_err(|e| miette!("input `{name}`: cannot read {}: {e}", path.display()))?
        .len();
    if len > MAX_NPY_BYTES {
        return Err(miette!(
            "input `{name}`: {} is {len} bytes, larger than the {MAX_NPY_BYTES}-byte limit",
            path.display()
        ));
    }
    let bytes = std::fs::read(path)
        .map_err(|e| miette!("input `{name}`: cannot read {}: {e}", path.display()))?;
    let arr = read_npy(&bytes).map_err(|e| miette!("input `{name}`: {}: {e}", path.display()))?;
    let shape: Vec<usize> = arr
        .shape
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<Result<_, _>>()
        .map_err(|_| miette!("input `{name}`: {}: shape too large", path.display()))?;
    let fits = shape.len() == spec.shape.len()
        && shape
            .iter()
            .zip(&spec.shape)
            .all(|(&got, want)| want.is_none_or(|w| w == got));
    if !fits {
        return Err(miette!(
            "input `{name}`: {} has shape {shape:?}, but the model declares {}",
            path.display(),
            shape_text(&spec.shape)
        ));
    }
    let found = arr.data.dtype();
    if found != spec.dtype {
        return Err(miette!(
            "input `{name}`: {} holds {found}, but the model declares {} (convert the array, e.g. numpy .astype)",
            path.display(),
            spec.dtype
        ));
    }
    Ok(NamedTensor {
        name: name.clone(),
        shape,
        data: arr.data,
    })
}

/// SplitMix64 (Steele, Lea, Flood 2014). Written out rather than taken from `rand` because the
/// value stream of `random:SEED` is part of the CLI's contract (docs/run.md) and must not change
/// with a dependency's version; the generator is six lines.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1) with 53 random bits.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

/// The seed stream of one input: the user's seed mixed with the input's name (FNV-1a), so
/// inputs given the same seed still get different values.
fn input_seed(seed: u64, name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    seed ^ h
}

/// Largest random input generated (elements).
const MAX_RANDOM_ELEMENTS: usize = 1 << 31;

/// Seeded random values of the declared dtype and shape: floats uniform in [-1, 1), integers
/// and bools uniform in {0, 1} (valid as indices and lengths for any non-empty axis).
fn random_input(spec: &IoSpec, seed: u64) -> miette::Result<NamedTensor> {
    let name = &spec.name;
    // The executor's `inputs()` already applied `--dim`; what is still unknown needs one.
    let mut shape = Vec::with_capacity(spec.shape.len());
    for (axis, d) in spec.shape.iter().enumerate() {
        match d {
            Some(n) => shape.push(*n),
            None => {
                return Err(miette!(
                    "input `{name}`: dim {axis} of {} is dynamic; give its size with --dim {name}:{axis}=N (or pass an .npy file)",
                    shape_text(&spec.shape)
                ));
            }
        }
    }
    let count = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= MAX_RANDOM_ELEMENTS)
        .ok_or_else(|| {
            miette!("input `{name}`: shape {shape:?} is too large to generate random values")
        })?;
    let mut rng = SplitMix64(input_seed(seed, name));
    let data = if spec.dtype.is_float() {
        TensorData::F64((0..count).map(|_| rng.unit()).collect())
    } else if spec.dtype.is_int() || spec.dtype == DType::Bool {
        TensorData::I64((0..count).map(|_| (rng.next() >> 63) as i64).collect())
    } else {
        return Err(miette!(
            "input `{name}`: cannot make random values of type {}; pass an .npy file",
            spec.dtype
        ));
    };
    let data = data
        .convert(spec.dtype)
        .map_err(|e| miette!("input `{name}`: {e}"))?;
    Ok(NamedTensor {
        name: name.clone(),
        shape,
        data,
    })
}

// ---- outputs -----------------------------------------------------------------------------

fn output_stats(t: &NamedTensor) -> OutputReport {
    let values: Vec<f64> = match (t.data.float_values_f64(), t.data.int_values()) {
        (Some(f), _) => f,
        (None, Some(i)) => i.into_iter().map(|v| v as f64).collect(),
        (None, None) => Vec::new(),
    };
    let (mut nan, mut inf, mut n, mut sum) = (0usize, 0usize, 0usize, 0f64);
    let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values {
        if v.is_nan() {
            nan += 1;
        } else if v.is_infinite() {
            inf += 1;
        } else {
            n += 1;
            sum += v;
            min = min.min(v);
            max = max.max(v);
        }
    }
    OutputReport {
        name: t.name.clone(),
        dtype: t.data.dtype(),
        shape: t.shape.clone(),
        min: (n > 0).then_some(min),
        max: (n > 0).then_some(max),
        mean: (n > 0).then(|| sum / n as f64),
        nan,
        inf,
        file: None,
    }
}

/// An output name as a file name: anything outside `[A-Za-z0-9_.-]` becomes `_`, so a name from
/// a hostile model cannot leave the output folder.
fn file_stem(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.chars().all(|c| c == '.') {
        format!("_{s}")
    } else {
        s
    }
}

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.6}"))
}

fn human(r: &RunReport) -> String {
    let mut s = format!(
        "{}: function {}, backend {}, numerics {}\n",
        r.model, r.function, r.backend, r.numerics
    );
    if let Some(reason) = &r.backend_reason {
        let _ = writeln!(s, "  backend: {reason}");
    }
    if let Some(plan) = &r.compute_plan {
        let _ = writeln!(s, "  compute plan (ops per device): {}", plan.summary());
    }
    match (&r.weights.root, r.weights.seed) {
        (Some(root), _) if r.weights.kind == "espresso" => {
            let _ = writeln!(
                s,
                "  weights: read from {root} (Espresso blobs, lowered to an fp32 weight.bin)"
            );
        }
        (Some(root), _) => {
            let _ = writeln!(s, "  weights: read from {root} (@model_path)");
        }
        (None, Some(seed)) => {
            let _ = writeln!(s, "  weights: random (seed {seed})");
        }
        _ => {}
    }
    for i in &r.inputs {
        let src = match &i.source {
            InputSource::File { path } => format!("from {path}"),
            InputSource::Random {
                seed,
                defaulted: true,
            } => format!("random (seed {seed}; not given, so random by default)"),
            InputSource::Random { seed, .. } => format!("random (seed {seed})"),
        };
        let _ = writeln!(s, "  input  {} {} {:?}: {src}", i.name, i.dtype, i.shape);
    }
    for o in &r.outputs {
        let _ = write!(
            s,
            "  output {} {} {:?}: min {} max {} mean {}",
            o.name,
            o.dtype,
            o.shape,
            num(o.min),
            num(o.max),
            num(o.mean)
        );
        if o.nan > 0 || o.inf > 0 {
            let _ = write!(s, ", {} NaN, {} inf", o.nan, o.inf);
        }
        if let Some(f) = &o.file {
            let _ = write!(s, " -> {f}");
        }
        s.push('\n');
    }
    let t = &r.timing;
    if t.repeat > 1 {
        let _ = writeln!(
            s,
            "  time: {:.3} ms per evaluation (median of {}, min {:.3} ms); prepare {:.3} ms",
            t.median_ms, t.repeat, t.min_ms, t.prepare_ms
        );
    } else {
        let _ = writeln!(
            s,
            "  time: {:.3} ms per evaluation (1 run; --repeat N for a median); prepare {:.3} ms",
            t.median_ms, t.prepare_ms
        );
    }
    if let Some(p) = &r.profile {
        s.push_str(&p.human());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_only_options_move_auto_to_the_cpu_and_refuse_an_explicit_device() {
        for option in ["--random-weights", "--profile"] {
            // A device backend was selected (as on a Mac where the ANE loads).
            assert_eq!(
                cpu_only_option(Backend::Auto, true, Some(option)).unwrap(),
                Some(format!("auto: {option} runs on the cpu backend only"))
            );
            for explicit in [Backend::Ane, Backend::Coreml] {
                let e = cpu_only_option(explicit, true, Some(option)).unwrap_err();
                assert_eq!(
                    e.to_string(),
                    format!("{option} runs on the cpu backend only; use --backend cpu or auto")
                );
            }
            // Nothing to change: no device selected.
            assert_eq!(
                cpu_only_option(Backend::Auto, false, Some(option)).unwrap(),
                None
            );
            assert_eq!(
                cpu_only_option(Backend::Cpu, false, Some(option)).unwrap(),
                None
            );
        }
        // The option not given.
        assert_eq!(cpu_only_option(Backend::Ane, true, None).unwrap(), None);
    }

    fn spec(name: &str, dtype: DType, shape: &[Option<usize>]) -> IoSpec {
        IoSpec {
            name: name.into(),
            dtype,
            shape: shape.to_vec(),
        }
    }

    #[test]
    fn splitmix64_matches_the_published_reference_values() {
        // First outputs for seed 1234567 from the reference C implementation (Vigna's
        // splitmix64.c).
        let mut r = SplitMix64(1234567);
        assert_eq!(r.next(), 6457827717110365317);
        assert_eq!(r.next(), 3203168211198807973);
        assert_eq!(r.next(), 9817491932198370423);
    }

    #[test]
    fn random_inputs_are_deterministic_typed_and_bounded() {
        let s = spec("x", DType::Fp16, &[Some(2), Some(3)]);
        let a = random_input(&s, 5).unwrap();
        let b = random_input(&s, 5).unwrap();
        let c = random_input(&s, 6).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.data, c.data);
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.data.dtype(), DType::Fp16);
        assert!(a.data.to_f32().iter().all(|v| (-1.0..1.0).contains(v)));
        // Same seed, different name: different values.
        let y = random_input(&spec("y", DType::Fp16, &[Some(2), Some(3)]), 5).unwrap();
        assert_ne!(a.data, y.data);
        let i = random_input(&spec("i", DType::Int32, &[Some(64)]), 0).unwrap();
        let TensorData::I32(v) = &i.data else {
            panic!("int32 expected")
        };
        assert!(v.iter().all(|&x| x == 0 || x == 1));
        assert!(v.contains(&0) && v.contains(&1));
        let m = random_input(&spec("m", DType::Bool, &[Some(8)]), 0).unwrap();
        assert_eq!(m.data.dtype(), DType::Bool);
    }

    #[test]
    fn dynamic_dims_need_a_size_and_name_the_dim() {
        let s = spec("audio", DType::Fp32, &[Some(1), None]);
        let e = random_input(&s, 0).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("input `audio`") && msg.contains("--dim audio:1=N"),
            "{msg}"
        );
        let fixed = spec("audio", DType::Fp32, &[Some(1), Some(7)]);
        assert_eq!(random_input(&fixed, 0).unwrap().shape, vec![1, 7]);
    }

    #[test]
    fn output_stats_skip_non_finite_values_and_count_them() {
        let t = NamedTensor {
            name: "y".into(),
            shape: vec![5],
            data: TensorData::F32(vec![1.0, -3.0, f32::NAN, f32::INFINITY, 5.0]),
        };
        let r = output_stats(&t);
        assert_eq!((r.min, r.max, r.mean), (Some(-3.0), Some(5.0), Some(1.0)));
        assert_eq!((r.nan, r.inf), (1, 1));
        let empty = output_stats(&NamedTensor {
            name: "e".into(),
            shape: vec![1],
            data: TensorData::F32(vec![f32::NAN]),
        });
        assert_eq!((empty.min, empty.mean, empty.nan), (None, None, 1));
    }

    #[test]
    fn median_of_even_and_odd_counts() {
        let d = |v: &[u64]| {
            v.iter()
                .map(|&m| Duration::from_millis(m))
                .collect::<Vec<_>>()
        };
        let t = timing(&d(&[5, 1, 3]), 3, Duration::ZERO);
        assert_eq!((t.median_ms, t.min_ms), (3.0, 1.0));
        let t = timing(&d(&[4, 1, 3, 10]), 4, Duration::ZERO);
        assert_eq!(t.median_ms, 3.5);
    }

    /// The runtime path (used for the ane/coreml backends, macOS only) driven through the
    /// runtime's cpu backend gives what the direct executor path gives.
    #[test]
    fn runtime_engine_matches_the_direct_executor() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/cnn");
        let loaded = load_model(&example, None).unwrap();
        let exec = Executor::new(
            loaded.program,
            Some(Weights::new(&loaded.model_root)),
            ExecOptions::default(),
        )
        .unwrap();
        let mut direct = Engine::Cpu(Box::new(exec));
        let selection =
            anekit_runtime::select_backend("cpu", &anekit_runtime::BackendConfig::default())
                .unwrap();
        let source = anekit_runtime::ProgramSource::from_path(&example).unwrap();
        let mut compiled = selection
            .backend
            .compile(&source, &anekit_runtime::CompileOptions::default())
            .unwrap();
        compiled.load().unwrap();
        let mut runtime = Engine::Runtime(compiled);
        assert_eq!(direct.inputs(), runtime.inputs());
        let (inputs, _) = gather_inputs(&direct.inputs(), &["image=random:3".into()]).unwrap();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        direct
            .evaluate("cnn", &inputs, &mut a, true, None)
            .unwrap()
            .unwrap();
        runtime
            .evaluate("cnn", &inputs, &mut b, true, None)
            .unwrap()
            .unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!(a, b);
    }

    #[test]
    fn output_file_names_stay_in_the_folder() {
        assert_eq!(file_stem("logits"), "logits");
        assert_eq!(file_stem("../../etc/passwd"), ".._.._etc_passwd");
        assert_eq!(file_stem(".."), "_..");
        assert_eq!(file_stem(""), "_");
    }
}
