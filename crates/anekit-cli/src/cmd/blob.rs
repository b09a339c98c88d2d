//! `ane blob`: MIL blob storage files (`weight.bin`): pack npy arrays, list, extract.
use crate::{CmdResult, Ctx};
use anekit_blob::{Blob, BlobFile, BlobWriter, MappedBlobFile};
use anekit_core::npy::{read_npy, write_npy};
use anekit_core::{DType, TensorData};
use miette::{IntoDiagnostic, WrapErr, miette};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand)]
pub enum BlobCmd {
    /// Pack .npy arrays into a weight.bin, one blob per array, as coremltools writes it.
    Pack(PackArgs),
    /// List the blobs of a weight.bin (offset, dtype, element count, size).
    List(ListArgs),
    /// Write the blob at a BLOBFILE offset as a 1-D .npy file.
    Extract(ExtractArgs),
}

/// Blob dtypes `pack --dtype` converts to.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum PackDtype {
    Fp16,
    Fp32,
    Int8,
    Uint8,
    Int16,
    Uint16,
    Int32,
    Uint32,
    Int4,
    Uint1,
    Uint2,
    Uint3,
    Uint4,
    Uint6,
}

impl PackDtype {
    fn dtype(self) -> DType {
        match self {
            PackDtype::Fp16 => DType::Fp16,
            PackDtype::Fp32 => DType::Fp32,
            PackDtype::Int8 => DType::Int8,
            PackDtype::Uint8 => DType::Uint8,
            PackDtype::Int16 => DType::Int16,
            PackDtype::Uint16 => DType::Uint16,
            PackDtype::Int32 => DType::Int32,
            PackDtype::Uint32 => DType::Uint32,
            PackDtype::Int4 => DType::Int4,
            PackDtype::Uint1 => DType::Uint1,
            PackDtype::Uint2 => DType::Uint2,
            PackDtype::Uint3 => DType::Uint3,
            PackDtype::Uint4 => DType::Uint4,
            PackDtype::Uint6 => DType::Uint6,
        }
    }
}

#[derive(clap::Args)]
pub struct PackArgs {
    /// The weight.bin to write.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Input arrays (.npy), packed in order.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Convert every array to this dtype (integer narrowing is range-checked; floats must hold
    /// integers to become integers). Default: the array's own dtype.
    #[arg(long, value_enum)]
    pub dtype: Option<PackDtype>,
    /// Add the blobs to an existing weight.bin instead of replacing it.
    #[arg(long)]
    pub append: bool,
}

#[derive(clap::Args)]
pub struct ListArgs {
    /// A weight.bin (blob storage v2).
    pub file: PathBuf,
}

#[derive(clap::Args)]
pub struct ExtractArgs {
    /// A weight.bin (blob storage v2).
    pub file: PathBuf,
    /// The metadata offset, as in BLOBFILE(offset=...); decimal or 0x-prefixed hex.
    #[arg(long, value_parser = parse_offset)]
    pub offset: u64,
    /// The .npy file to write.
    #[arg(short, long)]
    pub output: PathBuf,
}

fn parse_offset(s: &str) -> Result<u64, String> {
    let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse(),
    };
    parsed.map_err(|e| format!("not an offset: {e}"))
}

pub fn run(cmd: BlobCmd, ctx: &Ctx) -> CmdResult {
    match cmd {
        BlobCmd::Pack(args) => pack(args, ctx),
        BlobCmd::List(args) => list(args, ctx),
        BlobCmd::Extract(args) => extract(args, ctx),
    }
}

#[derive(Serialize)]
struct PackedBlob {
    input: String,
    offset: u64,
    dtype: DType,
    elements: usize,
}

#[derive(Serialize)]
struct PackReport {
    output: String,
    /// Blobs in the file after packing (including appended-to ones).
    count: u32,
    bytes: usize,
    blobs: Vec<PackedBlob>,
}

fn pack(args: PackArgs, ctx: &Ctx) -> CmdResult {
    let mut writer = if args.append && args.output.exists() {
        let existing = std::fs::read(&args.output)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot read {}", args.output.display()))?;
        BlobWriter::append_to(existing)
            .map_err(|e| miette!("cannot append to {}: {e}", args.output.display()))?
    } else {
        BlobWriter::new()
    };
    let mut blobs = Vec::new();
    for input in &args.inputs {
        let bytes = std::fs::read(input)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot read {}", input.display()))?;
        let array = read_npy(&bytes).map_err(|e| miette!("{}: {e}", input.display()))?;
        let data = match args.dtype {
            Some(d) => array
                .data
                .convert(d.dtype())
                .map_err(|e| miette!("{}: {e}", input.display()))?,
            None => array.data,
        };
        let offset = writer.add(&data).map_err(|e| match e {
            anekit_blob::BlobError::UnsupportedDtype { dtype } => miette!(
                "{}: blob storage cannot hold {dtype} values; convert with --dtype (e.g. --dtype fp32)",
                input.display()
            ),
            e => miette!("{}: {e}", input.display()),
        })?;
        blobs.push(PackedBlob {
            input: input.display().to_string(),
            offset,
            dtype: data.dtype(),
            elements: data.len(),
        });
    }
    let count = writer.count();
    let bytes = writer.finish();
    std::fs::write(&args.output, &bytes)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot write {}", args.output.display()))?;
    let report = PackReport {
        output: args.output.display().to_string(),
        count,
        bytes: bytes.len(),
        blobs,
    };
    ctx.emit(&report, || {
        let mut s = String::new();
        for b in &report.blobs {
            let _ = writeln!(
                s,
                "BLOBFILE offset {:>8}  {:<7} {:>10} elements  {}",
                b.offset,
                b.dtype.mil_name(),
                b.elements,
                b.input
            );
        }
        let _ = write!(
            s,
            "wrote {} ({} blobs, {} bytes)",
            report.output, report.count, report.bytes
        );
        s
    })
}

#[derive(Serialize)]
struct BlobRow {
    offset: u64,
    data_offset: u64,
    dtype: DType,
    dtype_code: u32,
    elements: u64,
    bytes: u64,
    padding_bits: u64,
}

impl BlobRow {
    fn of(b: &Blob<'_>) -> Self {
        BlobRow {
            offset: b.metadata_offset,
            data_offset: b.data_offset,
            dtype: b.dtype,
            dtype_code: b.dtype.blob_code().unwrap_or(0),
            elements: b.element_count(),
            bytes: b.size(),
            padding_bits: b.padding_bits,
        }
    }
}

#[derive(Serialize)]
struct BlobTable {
    file: String,
    format: &'static str,
    file_bytes: u64,
    count: u32,
    payload_bytes: u64,
    blobs: Vec<BlobRow>,
}

fn blob_table(path: &Path, bytes: &[u8]) -> miette::Result<BlobTable> {
    let file = BlobFile::parse(bytes).map_err(|e| miette!("{}: {e}", path.display()))?;
    let blobs: Vec<BlobRow> = file
        .blobs()
        .map(|b| {
            b.as_ref()
                .map(BlobRow::of)
                .map_err(|e| miette!("{}: {e}", path.display()))
        })
        .collect::<miette::Result<_>>()?;
    Ok(BlobTable {
        file: path.display().to_string(),
        format: "MIL blob storage v2",
        file_bytes: bytes.len() as u64,
        count: file.count(),
        payload_bytes: blobs.iter().map(|b| b.bytes).sum(),
        blobs,
    })
}

fn render_table(t: &BlobTable) -> String {
    let mut s = format!(
        "{}: {}, {} blobs, {} bytes\n",
        t.file, t.format, t.count, t.file_bytes
    );
    let _ = writeln!(
        s,
        "{:>4}  {:>10}  {:>10}  {:<7}  {:>10}  {:>10}  {:>3}",
        "#", "offset", "data", "dtype", "elements", "bytes", "pad"
    );
    for (i, b) in t.blobs.iter().enumerate() {
        let _ = writeln!(
            s,
            "{:>4}  {:>10}  {:>10}  {:<7}  {:>10}  {:>10}  {:>3}",
            i,
            b.offset,
            b.data_offset,
            b.dtype.mil_name(),
            b.elements,
            b.bytes,
            b.padding_bits
        );
    }
    let _ = write!(s, "total payload: {} bytes", t.payload_bytes);
    s
}

fn map(path: &Path) -> miette::Result<MappedBlobFile> {
    MappedBlobFile::open(path).map_err(|e| miette!("{e}"))
}

fn list(args: ListArgs, ctx: &Ctx) -> CmdResult {
    let mapped = map(&args.file)?;
    let table = blob_table(&args.file, mapped.bytes())?;
    ctx.emit(&table, || render_table(&table))
}

/// The blob table summary of a weight.bin, for `ane inspect`.
// Called from `cmd::inspect` once file detection is wired; until then nothing else calls it.
#[allow(dead_code)]
pub fn inspect(path: &Path, bytes: &[u8], ctx: &Ctx) -> CmdResult {
    let table = blob_table(path, bytes)?;
    ctx.emit(&table, || render_table(&table))
}

#[derive(Serialize)]
struct ExtractReport {
    file: String,
    offset: u64,
    dtype: DType,
    elements: usize,
    output: String,
    npy_dtype: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

fn extract(args: ExtractArgs, ctx: &Ctx) -> CmdResult {
    let mapped = map(&args.file)?;
    let file = mapped
        .file()
        .map_err(|e| miette!("{}: {e}", args.file.display()))?;
    let blob = file
        .blob_at(args.offset, None)
        .map_err(|e| miette!("{}: {e}", args.file.display()))?;
    let data = blob
        .decode()
        .map_err(|e| miette!("{}: {e}", args.file.display()))?;
    let npy = write_npy(&[data.len() as u64], &data).map_err(|e| miette!("{e}"))?;
    std::fs::write(&args.output, &npy)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot write {}", args.output.display()))?;
    // write_npy widens the types npy lacks; say so rather than silently changing the dtype.
    let (npy_dtype, note) = match &data {
        TensorData::I4(_) => ("int8", Some("int4 values unpacked to int8".to_string())),
        TensorData::U1(_)
        | TensorData::U2(_)
        | TensorData::U3(_)
        | TensorData::U4(_)
        | TensorData::U6(_) => (
            "uint8",
            Some(format!("{} values unpacked to uint8", data.dtype())),
        ),
        TensorData::Bf16(_) | TensorData::F8E4M3Fn(_) | TensorData::F8E5M2(_) => (
            "float32",
            Some(format!(
                "{} values widened to float32 (exact)",
                data.dtype()
            )),
        ),
        TensorData::F16(_) => ("float16", None),
        TensorData::F32(_) => ("float32", None),
        TensorData::I8(_) => ("int8", None),
        TensorData::U8(_) => ("uint8", None),
        TensorData::I16(_) => ("int16", None),
        TensorData::U16(_) => ("uint16", None),
        TensorData::I32(_) => ("int32", None),
        TensorData::U32(_) => ("uint32", None),
        // Blob storage has no 64-bit or bool types; listed for completeness.
        TensorData::F64(_) => ("float64", None),
        TensorData::I64(_) => ("int64", None),
        TensorData::U64(_) => ("uint64", None),
        TensorData::Bool(_) => ("bool", None),
    };
    let report = ExtractReport {
        file: args.file.display().to_string(),
        offset: args.offset,
        dtype: blob.dtype,
        elements: data.len(),
        output: args.output.display().to_string(),
        npy_dtype,
        note,
    };
    ctx.emit(&report, || {
        let mut s = format!(
            "blob at offset {}: {} x {} -> {} ({})",
            report.offset, report.elements, report.dtype, report.output, report.npy_dtype
        );
        if let Some(note) = &report.note {
            let _ = write!(s, "\nnote: {note}");
        }
        s
    })
}
