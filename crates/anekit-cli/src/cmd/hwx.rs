//! `ane hwx`: task descriptors of compiled ANE programs — disassemble, diff, patch, and list the
//! register map. Reads .hwx files, headerless eiln .anec payloads and m1n1 TD template .npy
//! arrays (see docs/hwx.md).
use crate::{CmdResult, Ctx};
use anekit_hwx::disasm::{FieldDiff, TdListing, diff, disassemble, name_slots, render};
use anekit_hwx::program::{Program, SourceKind, load_program};
use anekit_hwx::regmap::{Generation, Loc, parse_generation, regmap};
use anekit_hwx::td::FieldChange;
use miette::{IntoDiagnostic, WrapErr, miette};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand)]
pub enum HwxCmd {
    /// Decode every task descriptor: a one-line summary, then each named field.
    Disasm(DisasmArgs),
    /// Compare two programs TD by TD and list the fields that differ.
    Diff(DiffArgs),
    /// Set TD fields by name and write a new file; only those fields' bytes change.
    Patch(PatchArgs),
    /// List a generation's register map: every field with its location, width and unit.
    Regs(RegsArgs),
    /// Compile a net.plist (or an .mlmodelc, dumped with Espresso first) to .hwx with
    /// ANECompiler (macOS; --dry-run prints the options and flags dictionaries anywhere).
    Compile(crate::cmd::toolchain::CompileArgs),
}

#[derive(clap::Args)]
pub struct DisasmArgs {
    /// An .hwx, a headerless eiln .anec payload, or an m1n1 TD template .npy.
    pub file: PathBuf,
    /// Also print the header words and each register-write command with its raw values.
    #[arg(long)]
    pub raw: bool,
    /// Only this TD (0-based).
    #[arg(long)]
    pub td: Option<usize>,
}

#[derive(clap::Args)]
pub struct DiffArgs {
    pub a: PathBuf,
    pub b: PathBuf,
}

#[derive(clap::Args)]
pub struct PatchArgs {
    /// The program to patch (.hwx or headerless .anec payload).
    pub input: PathBuf,
    /// Which TD to change (0-based).
    #[arg(long)]
    pub td: usize,
    /// FIELD=VALUE, e.g. Header.KBase0=6 or Common.InDim.Win=0x40; repeatable, applied in order.
    #[arg(long = "set", required = true, value_name = "FIELD=VALUE")]
    pub sets: Vec<String>,
    /// Where to write the patched program.
    #[arg(short, long)]
    pub output: PathBuf,
}

#[derive(clap::Args)]
pub struct RegsArgs {
    /// Generation: h13 (checked) or h14-h18 (provisional).
    #[arg(long, default_value = "h13")]
    pub generation: String,
}

pub fn run(cmd: HwxCmd, ctx: &Ctx) -> CmdResult {
    match cmd {
        HwxCmd::Disasm(args) => disasm_cmd(args, ctx),
        HwxCmd::Diff(args) => diff_cmd(args, ctx),
        HwxCmd::Patch(args) => patch_cmd(args, ctx),
        HwxCmd::Regs(args) => regs_cmd(args, ctx),
        HwxCmd::Compile(args) => crate::cmd::toolchain::compile(args, ctx),
    }
}

fn read(path: &Path) -> miette::Result<Vec<u8>> {
    std::fs::read(path)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot read {}", path.display()))
}

fn load(path: &Path, bytes: &[u8]) -> miette::Result<Program> {
    load_program(bytes).map_err(|e| miette!("{}: {e}", path.display()))
}

fn kind_name(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Hwx => "hwx",
        SourceKind::AnecPayload => "anec-payload",
        SourceKind::NpyTemplate => "npy-template",
    }
}

#[derive(Serialize)]
struct DisasmOut {
    file: String,
    kind: &'static str,
    generation: Generation,
    provisional: bool,
    /// File offset of the TD stream (TD offsets below are file offsets).
    stream_offset: u64,
    td_count: usize,
    tds: Vec<TdListing>,
}

fn disasm_cmd(args: DisasmArgs, ctx: &Ctx) -> CmdResult {
    let bytes = read(&args.file)?;
    let program = load(&args.file, &bytes)?;
    let indices: Vec<usize> = match args.td {
        Some(i) => {
            program
                .td(i)
                .map_err(|e| miette!("{}: {e}", args.file.display()))?;
            vec![i]
        }
        None => (0..program.tds.len()).collect(),
    };
    let mut tds = Vec::with_capacity(indices.len());
    for i in indices {
        let td = program
            .td(i)
            .map_err(|e| miette!("{}: {e}", args.file.display()))?;
        let mut listing = disassemble(td, i, program.stream_offset, args.raw)
            .map_err(|e| miette!("{}: TD {i}: {e}", args.file.display()))?;
        name_slots(&mut listing, &program.slot_names);
        tds.push(listing);
    }
    let out = DisasmOut {
        file: args.file.display().to_string(),
        kind: kind_name(program.kind),
        generation: program.generation,
        provisional: program.provisional,
        stream_offset: program.stream_offset,
        td_count: program.tds.len(),
        tds,
    };
    ctx.emit(&out, || {
        let mut s = String::new();
        let prov = if out.provisional {
            " (provisional register map: unverified)"
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "{}: {} {}, {} TD(s), stream at {:#x}{prov}",
            out.file,
            out.kind,
            out.generation.name(),
            out.td_count,
            out.stream_offset
        );
        if program.kind == SourceKind::NpyTemplate {
            let _ = writeln!(s, "(offsets count the template's words packed as LE u32)");
        }
        for td in &out.tds {
            s.push_str(&render(td));
        }
        s
    })
}

#[derive(Serialize)]
struct DiffOut {
    a: String,
    b: String,
    td_count_a: usize,
    td_count_b: usize,
    identical: bool,
    differences: Vec<FieldDiff>,
}

fn value_text(v: Option<u32>) -> String {
    v.map_or_else(|| "absent".to_string(), |v| format!("{v} ({v:#x})"))
}

fn diff_cmd(args: DiffArgs, ctx: &Ctx) -> CmdResult {
    let bytes_a = read(&args.a)?;
    let bytes_b = read(&args.b)?;
    let pa = load(&args.a, &bytes_a)?;
    let pb = load(&args.b, &bytes_b)?;
    let differences = diff(&pa.tds, &pb.tds).map_err(|e| miette!("{e}"))?;
    let out = DiffOut {
        a: args.a.display().to_string(),
        b: args.b.display().to_string(),
        td_count_a: pa.tds.len(),
        td_count_b: pb.tds.len(),
        identical: differences.is_empty(),
        differences,
    };
    ctx.emit(&out, || {
        let mut s = format!(
            "--- {} ({} TD(s))\n+++ {} ({} TD(s))\n",
            out.a, out.td_count_a, out.b, out.td_count_b
        );
        if out.identical {
            s.push_str("no field differs\n");
        }
        for d in &out.differences {
            let _ = writeln!(
                s,
                "TD {} {}: {} -> {}",
                d.td,
                d.name,
                value_text(d.a),
                value_text(d.b)
            );
        }
        s
    })
}

/// `0x1f`, `0b101` or decimal.
fn parse_value(text: &str) -> Option<u64> {
    let t = text.trim().replace('_', "");
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()
    } else if let Some(bin) = t.strip_prefix("0b").or_else(|| t.strip_prefix("0B")) {
        u64::from_str_radix(bin, 2).ok()
    } else {
        t.parse().ok()
    }
}

#[derive(Serialize)]
struct PatchOut {
    input: String,
    output: String,
    td: usize,
    changes: Vec<FieldChange>,
    bytes_changed: usize,
}

fn patch_cmd(args: PatchArgs, ctx: &Ctx) -> CmdResult {
    let mut sets = Vec::with_capacity(args.sets.len());
    for s in &args.sets {
        let (name, value) = s
            .split_once('=')
            .ok_or_else(|| miette!("--set {s}: expected FIELD=VALUE (e.g. Header.KBase0=6)"))?;
        let value = parse_value(value).ok_or_else(|| {
            miette!("--set {s}: value `{value}` is not a number (decimal, 0x hex or 0b binary)")
        })?;
        sets.push((name.trim().to_string(), value));
    }
    let bytes = read(&args.input)?;
    let program = load(&args.input, &bytes)?;
    let (patched, changes) = program
        .patch(&bytes, args.td, &sets)
        .map_err(|e| miette!("{}: TD {}: {e}", args.input.display(), args.td))?;
    let bytes_changed = bytes.iter().zip(&patched).filter(|(a, b)| a != b).count();
    std::fs::write(&args.output, &patched)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot write {}", args.output.display()))?;
    let out = PatchOut {
        input: args.input.display().to_string(),
        output: args.output.display().to_string(),
        td: args.td,
        changes,
        bytes_changed,
    };
    ctx.emit(&out, || {
        let mut s = String::new();
        for c in &out.changes {
            let _ = writeln!(
                s,
                "TD {} {}: {} -> {} (word @ {:#x}: {:#010x} -> {:#010x})",
                out.td, c.field, c.old, c.new, c.word_offset, c.old_word, c.new_word
            );
        }
        let _ = writeln!(
            s,
            "wrote {} ({} byte(s) differ from {})",
            out.output, out.bytes_changed, out.input
        );
        s
    })
}

#[derive(Serialize)]
struct RegsOut {
    generation: Generation,
    provisional: bool,
    fields: Vec<RegField>,
}

#[derive(Serialize)]
struct RegField {
    name: String,
    dump_name: String,
    /// `header[N]` or the register byte address in hex.
    location: String,
    lsb: u8,
    width: u8,
    unit: &'static str,
    provisional: bool,
}

fn regs_cmd(args: RegsArgs, ctx: &Ctx) -> CmdResult {
    let generation = parse_generation(&args.generation).ok_or_else(|| {
        miette!(
            "unknown generation `{}` (expected h11 … h18)",
            args.generation
        )
    })?;
    let map = regmap(generation).ok_or_else(|| {
        miette!(
            "no register map for {}: anekit has H13 (checked) and H14-H18 (provisional) maps \
             (see docs/hwx.md)",
            generation.name()
        )
    })?;
    let out = RegsOut {
        generation,
        provisional: map.provisional,
        fields: map
            .fields()
            .map(|f| RegField {
                name: f.full_name(),
                dump_name: f.dump_name(),
                location: match f.loc {
                    Loc::Header(w) => format!("header[{w}]"),
                    Loc::Register(a) => format!("{a:#07x}"),
                },
                lsb: f.lsb,
                width: f.width,
                unit: f.unit.label(),
                provisional: f.provisional || map.provisional,
            })
            .collect(),
    };
    ctx.emit(&out, || {
        let status = if out.provisional {
            " (provisional: transcribed from freedomtan's notes, unverified; not used to decode)"
        } else {
            ""
        };
        let mut s = format!(
            "{} register map, {} fields{status}\n",
            out.generation.name(),
            out.fields.len()
        );
        for f in &out.fields {
            let bits = if f.width == 1 {
                format!("[{}]", f.lsb)
            } else {
                format!("[{}:{}]", u32::from(f.lsb) + u32::from(f.width) - 1, f.lsb)
            };
            let _ = writeln!(
                s,
                "{:<48} {:<10} {:<8} {:<10}{}",
                f.name,
                f.location,
                bits,
                f.unit,
                if f.provisional { " provisional" } else { "" }
            );
        }
        s
    })
}
