//! `ane anec`: Asahi Linux `.anec` programs — build one from an `.hwx`, show a header.
//!
//! No command here runs anything: anekit has no Asahi execution path (see docs/anec.md).
use crate::cmd::hwx_inspect::{anec_human, anec_summary};
use crate::{CmdResult, Ctx};
use anekit_hwx::anec::Anec;
use anekit_hwx::container::Hwx;
use miette::{IntoDiagnostic, WrapErr, miette};
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand)]
pub enum AnecCmd {
    /// Convert an .hwx (Apple ANE compiler output) to an Asahi .anec (0x1000-byte header +
    /// TD microcode + weights), deriving the header from the Mach-O structure.
    FromHwx(FromHwxArgs),
    /// Show the header of an .anec file, or what a headerless .anec payload holds.
    Info(InfoArgs),
}

#[derive(clap::Args)]
pub struct FromHwxArgs {
    /// The .hwx file.
    pub input: PathBuf,
    /// Where to write the .anec.
    #[arg(short, long)]
    pub output: PathBuf,
}

#[derive(clap::Args)]
pub struct InfoArgs {
    /// An .anec file, or a headerless payload.
    pub file: PathBuf,
}

pub fn run(cmd: AnecCmd, ctx: &Ctx) -> CmdResult {
    match cmd {
        AnecCmd::FromHwx(args) => from_hwx(&args, ctx),
        AnecCmd::Info(args) => info(&args.file, ctx),
    }
}

fn read(path: &Path) -> miette::Result<Vec<u8>> {
    std::fs::read(path)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot read {}", path.display()))
}

#[derive(Serialize)]
struct FromHwxReport {
    input: String,
    output: String,
    bytes: u64,
    size: u64,
    tsk_size: u64,
    krn_size: u64,
    td_count: u32,
    td_size: u32,
    src_count: u32,
    dst_count: u32,
    tiles: Vec<(usize, u32)>,
}

fn from_hwx(args: &FromHwxArgs, ctx: &Ctx) -> CmdResult {
    let bytes = read(&args.input)?;
    let hwx = Hwx::parse(&bytes).map_err(|e| miette!("{}: {e}", args.input.display()))?;
    let (header, payload) =
        Anec::header_from_hwx(&hwx).map_err(|e| miette!("{}: {e}", args.input.display()))?;
    let mut out = header.to_bytes();
    out.extend_from_slice(&payload);
    std::fs::write(&args.output, &out)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot write {}", args.output.display()))?;
    let report = FromHwxReport {
        input: args.input.display().to_string(),
        output: args.output.display().to_string(),
        bytes: out.len() as u64,
        size: header.size,
        tsk_size: header.tsk_size,
        krn_size: header.krn_size,
        td_count: header.td_count,
        td_size: header.td_size,
        src_count: header.src_count,
        dst_count: header.dst_count,
        tiles: header
            .tiles
            .iter()
            .enumerate()
            .filter(|(_, t)| **t != 0)
            .map(|(i, t)| (i, *t))
            .collect(),
    };
    ctx.emit(&report, || {
        let tiles: Vec<String> = report
            .tiles
            .iter()
            .map(|(s, t)| format!("{s}:{t}"))
            .collect();
        format!(
            "wrote {} ({} bytes): size {:#x}, tsk_size {:#x}, krn_size {:#x}, {} TD(s) of {:#x} bytes, {} input(s), {} output(s), tiles {}",
            report.output,
            report.bytes,
            report.size,
            report.tsk_size,
            report.krn_size,
            report.td_count,
            report.td_size,
            report.src_count,
            report.dst_count,
            tiles.join(" ")
        )
    })
}

fn info(path: &Path, ctx: &Ctx) -> CmdResult {
    let bytes = read(path)?;
    let summary = anec_summary(path, &bytes)?;
    ctx.emit(&summary, || anec_human(&summary))
}
