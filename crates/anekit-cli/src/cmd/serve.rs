//! `ane serve`: the helper protocol (JSON lines, docs/protocol.md) over stdin/stdout, or over
//! a Unix socket with one thread per client. The protocol itself is
//! `anekit_runtime::server`; this module is the transport.
use crate::{CmdResult, Ctx};
use anekit_runtime::server::{DEFAULT_MAX_REQUEST_BYTES, LineRead, Server, read_line_limited};
use anekit_runtime::{
    BackendConfig, CompileBudget, CompileOptions, ComputeUnits, EvalPath, select_backend,
};
use miette::{IntoDiagnostic, WrapErr, miette};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Backend: auto (the Neural Engine where it loads, else cpu), cpu, ane or coreml.
    #[arg(long, default_value = "auto", value_parser = ["auto", "cpu", "ane", "coreml"])]
    pub backend: String,
    /// Listen on this Unix socket (concurrent clients) instead of stdin/stdout.
    #[arg(long)]
    pub socket: Option<PathBuf>,
    /// Compiles allowed in this process (default: ANEKIT_COMPILE_BUDGET, else 100).
    #[arg(long)]
    pub compile_budget: Option<u32>,
    /// Longest request line accepted, in bytes; longer lines get a `too_large` error.
    #[arg(long, default_value_t = DEFAULT_MAX_REQUEST_BYTES)]
    pub max_request_bytes: usize,
    /// CPU numerics: ane (fp16 rounding after every op) or exact (f32).
    #[arg(long, default_value = "ane", value_parser = ["ane", "exact"])]
    pub numerics: String,
    #[command(flatten)]
    pub device: DeviceArgs,
}

/// Options of the device backends (`ane`, `coreml`), shared by `ane run` and `ane serve`; the
/// `cpu` backend ignores them. Nothing here has run on hardware.
#[derive(clap::Args, Debug, Clone)]
pub struct DeviceArgs {
    /// ane: target chip (m1, m4, h16, ...); programs not in its MIL dialect are refused.
    #[arg(long)]
    pub chip: Option<String>,
    /// ane: how requests are submitted: `standard` (evaluateWithQoS), `realtime`
    /// (_ANEClient evaluateRealTimeWithModel) or `process-request` (model.program
    /// processRequest).
    #[arg(long, default_value = "standard", value_parser = ["standard", "realtime", "process-request"])]
    pub eval_path: String,
    /// ane: QoS passed to compile, load, evaluate and unload: a number 0..=63 or a Darwin QoS
    /// class: user-interactive (33), user-initiated (25), default (21), utility (17),
    /// background (9).
    #[arg(long, default_value = "default", value_parser = parse_qos_arg)]
    pub qos: u32,
    /// ane: compile cache folder: the compiler's output (net.plist, data) is kept under
    /// DIR/<hexStringIdentifier>/ and later loaded without compiling (unverified on hardware).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// coreml: compute units for the load.
    #[arg(long, default_value = "cpu-and-ne", value_parser = ["all", "cpu-and-ne", "cpu-only"])]
    pub compute_units: String,
}

fn parse_qos_arg(text: &str) -> Result<u32, String> {
    anekit_runtime::plan::parse_qos(text)
}

impl DeviceArgs {
    /// Set the device fields of `options`.
    pub fn apply(&self, options: &mut CompileOptions) {
        let ane = &mut options.ane;
        ane.chip.clone_from(&self.chip);
        ane.cache_dir.clone_from(&self.cache_dir);
        // The value parsers above only let through names these parsers know.
        ane.eval_path = EvalPath::parse(&self.eval_path).unwrap_or_default();
        ane.qos = self.qos;
        options.compute_units = ComputeUnits::parse(&self.compute_units).unwrap_or_default();
    }
}

pub fn run(args: ServeArgs, _ctx: &Ctx) -> CmdResult {
    let budget = args
        .compile_budget
        .map_or_else(CompileBudget::process, CompileBudget::new);
    let selection =
        select_backend(&args.backend, &BackendConfig { budget }).map_err(|e| miette!("{e}"))?;
    eprintln!(
        "ane serve: backend {} ({})",
        selection.backend.kind(),
        selection.reason
    );
    let mut options = CompileOptions {
        numerics: if args.numerics == "exact" {
            anekit_cpu::Numerics::Exact
        } else {
            anekit_cpu::Numerics::Ane
        },
        ..CompileOptions::default()
    };
    args.device.apply(&mut options);
    let server = Arc::new(Server::new(selection, options));
    let limit = args.max_request_bytes;
    match &args.socket {
        None => {
            let stdin = std::io::stdin();
            let stdout = std::io::stdout();
            serve_stream(&server, stdin.lock(), stdout.lock(), limit)
                .into_diagnostic()
                .wrap_err("stdio")
        }
        Some(path) => serve_socket(&server, path, limit),
    }
}

/// Answer request lines from `reader` on `writer` until end of input or `shutdown`.
fn serve_stream(
    server: &Server,
    mut reader: impl BufRead,
    mut writer: impl Write,
    limit: usize,
) -> std::io::Result<()> {
    let mut line = Vec::new();
    loop {
        let reply = match read_line_limited(&mut reader, limit, &mut line)? {
            LineRead::Eof => return Ok(()),
            LineRead::TooLong => server.too_large_reply(limit),
            LineRead::Line if line.trim_ascii().is_empty() => continue,
            LineRead::Line => server.handle_line(&line),
        };
        writer.write_all(reply.as_bytes())?;
        writer.write_all(b"\n")?;
        writer.flush()?;
        if server.shutting_down() {
            return Ok(());
        }
    }
}

#[cfg(unix)]
fn serve_socket(server: &Arc<Server>, path: &std::path::Path, limit: usize) -> CmdResult {
    use std::os::unix::net::{UnixListener, UnixStream};
    if path.exists() {
        if UnixStream::connect(path).is_ok() {
            return Err(miette!(
                "{}: a server is already listening there",
                path.display()
            ));
        }
        // A stale socket file from a server that died.
        std::fs::remove_file(path)
            .into_diagnostic()
            .wrap_err_with(|| format!("removing stale socket {}", path.display()))?;
    }
    let listener = UnixListener::bind(path)
        .into_diagnostic()
        .wrap_err_with(|| format!("binding {}", path.display()))?;
    eprintln!("ane serve: listening on {}", path.display());
    let wake_path = path.to_path_buf();
    for stream in listener.incoming() {
        if server.shutting_down() {
            break;
        }
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                eprintln!("ane serve: accept failed: {e}");
                continue;
            }
        };
        let server = Arc::clone(server);
        let wake_path = wake_path.clone();
        std::thread::spawn(move || {
            let reader = match stream.try_clone() {
                Ok(r) => std::io::BufReader::new(r),
                Err(e) => {
                    eprintln!("ane serve: client dropped: {e}");
                    return;
                }
            };
            if let Err(e) = serve_stream(&server, reader, &stream, limit) {
                eprintln!("ane serve: client dropped: {e}");
            }
            if server.shutting_down() {
                // Wake the accept loop so it sees the flag.
                let _ = UnixStream::connect(&wake_path);
            }
        });
    }
    let _ = std::fs::remove_file(path);
    Ok(())
}

#[cfg(not(unix))]
fn serve_socket(_server: &Arc<Server>, _path: &std::path::Path, _limit: usize) -> CmdResult {
    Err(miette!("--socket needs a Unix-like OS"))
}
