//! Summaries of compiled programs for `ane inspect`: `.hwx` containers and `.anec` files
//! (headered, or the headerless payloads of eiln's kernel archive).
//!
//! Both summaries list tensors in the same shape (role, BAR slot, N/C/H/W, strides) so an
//! `.anec` made from an `.hwx` can be compared with it; the `.anec` header carries no names or
//! element types, so those stay empty there.

use crate::{CmdResult, Ctx};
use anekit_hwx::anec::{self, Anec, AnecHeader, PayloadScan, SlotKind};
use anekit_hwx::container::{Hwx, TensorBinding, TensorRole};
use miette::miette;
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;

/// One tensor as both summaries report it.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct TensorRow {
    pub role: String,
    pub slot: Option<u8>,
    pub name: Option<String>,
    pub n: u64,
    pub c: u64,
    pub h: u64,
    pub w: u64,
    pub plane_stride: Option<u64>,
    pub row_stride: Option<u64>,
    pub dtype: Option<String>,
    /// Buffer bytes (hwx: section size; anec: tiles × 16 KiB).
    pub bytes: u64,
}

#[derive(Serialize)]
struct CommandRow {
    index: u32,
    offset: u64,
    cmd: u32,
    name: String,
    cmdsize: u32,
}

#[derive(Serialize)]
struct SectionRow {
    segment: String,
    section: String,
    addr: u64,
    size: u64,
    offset: u32,
    flags: u32,
    nreloc: u32,
}

#[derive(Serialize)]
struct RelocRow {
    td_offset: i32,
    file_offset: u64,
    td: Option<u64>,
    kernel_channel: Option<u32>,
    stored_value: Option<u32>,
    target: Option<String>,
}

#[derive(Serialize)]
struct HwxSummary {
    file: String,
    format: &'static str,
    generation: Option<String>,
    cpusubtype: u32,
    compiler: Option<String>,
    compiler_version: Option<String>,
    target: Option<String>,
    compiler_options: Vec<String>,
    td_count: Option<u32>,
    td_size: Option<u32>,
    td_stride: Option<u64>,
    load_commands: Vec<CommandRow>,
    sections: Vec<SectionRow>,
    slots: Vec<(u8, u64)>,
    tensors: Vec<TensorRow>,
    kernel_symbols: Vec<String>,
    relocations: Vec<RelocRow>,
}

fn role_name(role: TensorRole) -> String {
    role.to_string()
}

fn hwx_tensor_row(t: &TensorBinding) -> TensorRow {
    let (n, c, h, w, plane, row, dtype) = match (&t.layout, &t.descriptor) {
        (Some(l), _) => (
            l.n(),
            l.c(),
            l.h(),
            l.w(),
            l.plane_stride(),
            l.row_stride(),
            l.dtype
                .map(|d| d.mil_name().to_string())
                .or_else(|| l.element_type_name.clone()),
        ),
        (None, Some(d)) => (
            1,
            u64::from(d.dims[1]),
            1,
            u64::from(d.dims[3]),
            Some(d.plane_stride),
            Some(d.row_stride),
            None,
        ),
        (None, None) => (0, 0, 0, 0, None, None, None),
    };
    TensorRow {
        role: role_name(t.role),
        slot: t.slot,
        name: Some(t.name.clone()),
        n,
        c,
        h,
        w,
        plane_stride: plane,
        row_stride: row,
        dtype,
        bytes: t.size,
    }
}

fn tensor_table(out: &mut String, rows: &[TensorRow]) {
    let _ = writeln!(
        out,
        "tensors:\n  {:<13} {:>4}  {:<16} {:>20}  {:>9} {:>9}  {:<6} {:>10}",
        "role", "slot", "name", "N×C×H×W", "plane", "row", "dtype", "bytes"
    );
    for r in rows {
        let slot = r.slot.map_or("-".to_string(), |s| s.to_string());
        let dims = format!("{}×{}×{}×{}", r.n, r.c, r.h, r.w);
        let hex = |v: Option<u64>| v.map_or("-".to_string(), |v| format!("{v:#x}"));
        let _ = writeln!(
            out,
            "  {:<13} {:>4}  {:<16} {:>20}  {:>9} {:>9}  {:<6} {:>10}",
            r.role,
            slot,
            r.name.as_deref().unwrap_or("-"),
            dims,
            hex(r.plane_stride),
            hex(r.row_stride),
            r.dtype.as_deref().unwrap_or("-"),
            format!("{:#x}", r.bytes),
        );
    }
}

/// `ane inspect` for a `.hwx` file.
pub fn inspect_hwx(path: &Path, bytes: &[u8], ctx: &Ctx) -> CmdResult {
    let hwx = Hwx::parse(bytes).map_err(|e| miette!("{}: {e}", path.display()))?;
    let td_stride = hwx.td_stride();
    let summary = HwxSummary {
        file: path.display().to_string(),
        format: "hwx",
        generation: hwx.generation().map(|g| g.to_string()),
        cpusubtype: hwx.header.cpusubtype,
        compiler: hwx.ident.as_ref().and_then(|i| i.compiler.clone()),
        compiler_version: hwx.ident.as_ref().and_then(|i| i.compiler_version.clone()),
        target: hwx
            .ident
            .as_ref()
            .and_then(|i| i.target().map(str::to_string)),
        compiler_options: hwx
            .ident
            .as_ref()
            .map(|i| i.options.clone())
            .unwrap_or_default(),
        td_count: hwx.td_count(),
        td_size: hwx.td_size(),
        td_stride,
        load_commands: hwx
            .load_commands
            .iter()
            .map(|c| CommandRow {
                index: c.index,
                offset: c.offset,
                cmd: c.cmd,
                name: c
                    .name()
                    .map_or_else(|| format!("{:#x}", c.cmd), str::to_string),
                cmdsize: c.cmdsize,
            })
            .collect(),
        sections: hwx
            .sections()
            .map(|s| SectionRow {
                segment: s.segname.clone(),
                section: s.sectname.clone(),
                addr: s.addr,
                size: s.size,
                offset: s.offset,
                flags: s.flags,
                nreloc: s.nreloc,
            })
            .collect(),
        slots: hwx
            .slot_table
            .as_ref()
            .map(|t| {
                t.slots
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| **a != 0)
                    .map(|(i, a)| (i as u8, *a))
                    .collect()
            })
            .unwrap_or_default(),
        tensors: hwx.tensors.iter().map(hwx_tensor_row).collect(),
        kernel_symbols: hwx.kernel_symbols.iter().map(|k| k.name.clone()).collect(),
        relocations: hwx
            .relocations
            .iter()
            .map(|r| {
                // Single-TD programs: every relocation is in TD 0.
                let stride = td_stride.unwrap_or(u64::MAX);
                let kc = r.kernel_channel(stride);
                RelocRow {
                    td_offset: r.r_address,
                    file_offset: r.file_offset,
                    td: kc.map(|k| k.0),
                    kernel_channel: kc.map(|k| k.1),
                    stored_value: r.stored_value,
                    target: r.target_symbol.clone(),
                }
            })
            .collect(),
    };
    ctx.emit(&summary, || {
        let s = &summary;
        let mut out = String::new();
        let _ = writeln!(out, "{}: compiled ANE program (.hwx)", s.file);
        let _ = writeln!(
            out,
            "generation: {} (cpusubtype {})",
            s.generation.as_deref().unwrap_or("unknown"),
            s.cpusubtype
        );
        let _ = writeln!(
            out,
            "compiler:   {}{}",
            s.compiler.as_deref().unwrap_or("-"),
            s.target
                .as_deref()
                .map_or(String::new(), |t| format!(" (target {t})"))
        );
        let opt = |v: Option<u64>| v.map_or("-".to_string(), |v| format!("{v:#x}"));
        let _ = writeln!(
            out,
            "TDs:        {} × {} bytes, stride {}",
            s.td_count.map_or("-".to_string(), |v| v.to_string()),
            opt(s.td_size.map(u64::from)),
            opt(s.td_stride)
        );
        let _ = writeln!(out, "load commands:");
        for c in &s.load_commands {
            let _ = writeln!(
                out,
                "  {:>2} {:#06x} {:<14} {:>5} bytes",
                c.index, c.offset, c.name, c.cmdsize
            );
        }
        let _ = writeln!(out, "sections:");
        for x in &s.sections {
            let _ = writeln!(
                out,
                "  {:<20} addr {:#010x} size {:#8x} file {:#7x} flags {:#x}{}",
                format!("{},{}", x.segment, x.section),
                x.addr,
                x.size,
                x.offset,
                x.flags,
                if x.nreloc > 0 {
                    format!(" relocs {}", x.nreloc)
                } else {
                    String::new()
                }
            );
        }
        let slots: Vec<String> = s.slots.iter().map(|(i, a)| format!("{i}={a:#x}")).collect();
        let _ = writeln!(out, "slots:      {}", slots.join(" "));
        tensor_table(&mut out, &s.tensors);
        if !s.relocations.is_empty() {
            let _ = writeln!(out, "relocations (TD kernel-base words → weights):");
            for r in &s.relocations {
                let _ = writeln!(
                    out,
                    "  TD {} +{:#x} CoeffBaseAddr[{}] = {} → {}",
                    r.td.map_or("?".to_string(), |t| t.to_string()),
                    r.td_offset,
                    r.kernel_channel.map_or("?".to_string(), |c| c.to_string()),
                    r.stored_value
                        .map_or("-".to_string(), |v| format!("{v:#x}")),
                    r.target.as_deref().unwrap_or("-")
                );
            }
        }
        out
    })
}

#[derive(Serialize)]
pub(crate) struct AnecSummary {
    file: String,
    format: &'static str,
    header: Option<AnecHeader>,
    scan: Option<PayloadScan>,
    tensors: Vec<TensorRow>,
    issues: Vec<String>,
    trailing_bytes: u64,
}

fn anec_rows(h: &AnecHeader) -> Vec<TensorRow> {
    h.used_slots()
        .into_iter()
        .filter(|u| matches!(u.kind, SlotKind::Input | SlotKind::Output))
        .map(|u| {
            let [n, c, hh, w, plane, row] = u.nchw;
            TensorRow {
                role: if u.kind == SlotKind::Input {
                    "input".into()
                } else {
                    "output".into()
                },
                slot: Some(u.slot),
                name: None,
                n,
                c,
                h: hh,
                w,
                plane_stride: Some(plane),
                row_stride: Some(row),
                dtype: None,
                bytes: u.bytes,
            }
        })
        .collect()
}

/// Summarise a headered `.anec` or a headerless payload.
pub(crate) fn anec_summary(path: &Path, bytes: &[u8]) -> miette::Result<AnecSummary> {
    let file = path.display().to_string();
    if anec::is_headerless(bytes) {
        let scan =
            anec::scan_payload(bytes).map_err(|e| miette!("{file}: headerless payload: {e}"))?;
        return Ok(AnecSummary {
            file,
            format: "anec-payload",
            header: None,
            scan: Some(scan),
            tensors: Vec::new(),
            issues: Vec::new(),
            trailing_bytes: 0,
        });
    }
    let a = Anec::parse(bytes).map_err(|e| miette!("{file}: {e}"))?;
    Ok(AnecSummary {
        file,
        format: "anec",
        tensors: anec_rows(&a.header),
        issues: a.header.issues(),
        trailing_bytes: a.trailing_bytes,
        header: Some(a.header),
        scan: None,
    })
}

pub(crate) fn anec_human(s: &AnecSummary) -> String {
    let mut out = String::new();
    if let Some(scan) = &s.scan {
        let _ = writeln!(
            out,
            "{}: Asahi .anec payload without header (H13 TD microcode + kernels)",
            s.file
        );
        let _ = writeln!(
            out,
            "size {:#x}, {} TD(s) of {:#x} bytes, tsk_size {:#x} (end of the TD chain), krn_size {:#x}, command tiles {}",
            scan.size,
            scan.td_count,
            scan.td_size,
            scan.tsk_size,
            scan.krn_size,
            scan.command_tiles
        );
        let offs: Vec<String> = scan.tds.iter().map(|(o, _)| format!("{o:#x}")).collect();
        let _ = writeln!(out, "TD offsets: {}", offs.join(" "));
        let _ = writeln!(
            out,
            "I/O shapes are not in a headerless payload (they are in the TDs: see `ane hwx disasm`)"
        );
        return out;
    }
    let Some(h) = &s.header else { return out };
    let _ = writeln!(out, "{}: Asahi .anec program", s.file);
    let _ = writeln!(
        out,
        "size {:#x}  tsk_size {:#x}  krn_size {:#x}  td_count {}  td_size {:#x}  src {}  dst {}",
        h.size, h.tsk_size, h.krn_size, h.td_count, h.td_size, h.src_count, h.dst_count
    );
    let _ = writeln!(out, "slots (16 KiB tiles):");
    for u in h.used_slots() {
        let _ = writeln!(
            out,
            "  {:>2} {:<12} {:>6} tiles",
            u.slot,
            format!("{:?}", u.kind).to_lowercase(),
            u.tiles
        );
    }
    tensor_table(&mut out, &s.tensors);
    for i in &s.issues {
        let _ = writeln!(out, "warning: {i}");
    }
    if s.trailing_bytes > 0 {
        let _ = writeln!(out, "warning: {} bytes after the payload", s.trailing_bytes);
    }
    out
}

/// `ane inspect` for a `.anec` file (with header) or a headerless `.anec` payload.
pub fn inspect_anec(path: &Path, bytes: &[u8], ctx: &Ctx) -> CmdResult {
    let summary = anec_summary(path, bytes)?;
    ctx.emit(&summary, || anec_human(&summary))
}
