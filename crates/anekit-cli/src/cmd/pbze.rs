//! `ane pbze`: PBZE containers (a 28-byte header + LZFSE), the compressed form of
//! `.espresso.net` / `.espresso.shape` files. Decodes on any OS, every LZFSE block type.
use crate::{CmdResult, Ctx};
use anekit_espresso::lzfse::DEFAULT_LIMIT;
use anekit_espresso::pbze::{self, PbzeInfo};
use miette::{IntoDiagnostic, WrapErr, miette};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand)]
pub enum PbzeCmd {
    /// Decompress a PBZE file (e.g. a compressed model.espresso.net) to its JSON.
    Decode(DecodeArgs),
    /// Compress a file into PBZE, byte-identical to Apple's tooling where the reference LZFSE
    /// encoder is (see docs/espresso.md).
    Encode(EncodeArgs),
    /// Show the header, the LZFSE blocks (type and sizes) and the compression ratio.
    Stats(StatsArgs),
}

#[derive(clap::Args)]
pub struct DecodeArgs {
    /// The PBZE file.
    pub input: PathBuf,
    /// Where to write the decompressed bytes.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Refuse files that declare more than this many decompressed bytes.
    #[arg(long, default_value_t = DEFAULT_LIMIT)]
    pub limit: u64,
}

#[derive(clap::Args)]
pub struct EncodeArgs {
    /// The file to compress.
    pub input: PathBuf,
    /// Where to write the PBZE file.
    #[arg(short, long)]
    pub output: PathBuf,
}

#[derive(clap::Args)]
pub struct StatsArgs {
    /// The PBZE file.
    pub input: PathBuf,
    /// Refuse files that declare more than this many decompressed bytes.
    #[arg(long, default_value_t = DEFAULT_LIMIT)]
    pub limit: u64,
}

pub fn run(cmd: PbzeCmd, ctx: &Ctx) -> CmdResult {
    match cmd {
        PbzeCmd::Decode(a) => decode(&a, ctx),
        PbzeCmd::Encode(a) => encode(&a, ctx),
        PbzeCmd::Stats(a) => stats(&a, ctx),
    }
}

pub(crate) fn read(path: &Path) -> miette::Result<Vec<u8>> {
    std::fs::read(path)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot read {}", path.display()))
}

fn write(path: &Path, bytes: &[u8]) -> CmdResult {
    std::fs::write(path, bytes)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot write {}", path.display()))
}

#[derive(Serialize)]
struct Transcoded<'a> {
    input: &'a Path,
    output: &'a Path,
    input_bytes: u64,
    output_bytes: u64,
    /// Only for encode: true when the reference (Apple-identical) LZFSE encoder was used.
    #[serde(skip_serializing_if = "Option::is_none")]
    reference_encoder: Option<bool>,
}

fn decode(a: &DecodeArgs, ctx: &Ctx) -> CmdResult {
    let data = read(&a.input)?;
    let out = pbze::decode(&data, a.limit).map_err(|e| miette!("{}: {e}", a.input.display()))?;
    write(&a.output, &out)?;
    let report = Transcoded {
        input: &a.input,
        output: &a.output,
        input_bytes: data.len() as u64,
        output_bytes: out.len() as u64,
        reference_encoder: None,
    };
    ctx.emit(&report, || {
        format!(
            "decoded {} ({} bytes) -> {} ({} bytes)",
            a.input.display(),
            data.len(),
            a.output.display(),
            out.len()
        )
    })
}

fn encode(a: &EncodeArgs, ctx: &Ctx) -> CmdResult {
    let data = read(&a.input)?;
    let out = pbze::encode(&data).map_err(|e| miette!("{}: {e}", a.input.display()))?;
    write(&a.output, &out)?;
    let report = Transcoded {
        input: &a.input,
        output: &a.output,
        input_bytes: data.len() as u64,
        output_bytes: out.len() as u64,
        reference_encoder: Some(anekit_espresso::lzfse::ENCODER_IS_REFERENCE),
    };
    ctx.emit(&report, || {
        format!(
            "encoded {} ({} bytes) -> {} ({} bytes)",
            a.input.display(),
            data.len(),
            a.output.display(),
            out.len()
        )
    })
}

#[derive(Serialize)]
struct StatsReport<'a> {
    file: &'a Path,
    #[serde(flatten)]
    info: &'a PbzeInfo,
    ratio: f64,
}

/// The human text of a PBZE file's structure (also used by `ane inspect`).
pub(crate) fn stats_text(info: &PbzeInfo) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "PBZE file: {} bytes", info.file_size);
    let _ = writeln!(s, "  header field @0x4: {:#x}", info.flags);
    let _ = writeln!(s, "  uncompressed: {} bytes", info.uncompressed_size);
    let _ = writeln!(s, "  compressed:   {} bytes", info.compressed_size);
    let _ = writeln!(s, "  ratio:        {:.2}", info.ratio());
    for (i, c) in info.chunks.iter().enumerate() {
        let _ = writeln!(
            s,
            "  chunk {i} @{:#x}: {} -> {} bytes, {} LZFSE block(s)",
            c.offset,
            c.compressed_size,
            c.uncompressed_size,
            c.stream.blocks.len()
        );
        for b in &c.stream.blocks {
            let _ = writeln!(
                s,
                "    {} @{:#x}: {} bytes encoded, {} bytes raw",
                b.kind.magic(),
                b.offset,
                b.encoded_size,
                b.raw_size
            );
        }
    }
    for w in &info.warnings {
        let _ = writeln!(s, "  warning: {w}");
    }
    s
}

fn stats(a: &StatsArgs, ctx: &Ctx) -> CmdResult {
    let data = read(&a.input)?;
    let info =
        pbze::read_info(&data, a.limit).map_err(|e| miette!("{}: {e}", a.input.display()))?;
    let report = StatsReport {
        file: &a.input,
        info: &info,
        ratio: info.ratio(),
    };
    ctx.emit(&report, || stats_text(&info))
}
