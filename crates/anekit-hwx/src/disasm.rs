//! TD disassembly (a one-line summary plus every named field) and TD-by-TD program diff.

use serde::Serialize;

use crate::regmap::{FieldDef, Loc, RegMap, Unit};
use crate::td::{Td, TdError};
use crate::zin;

/// One named field with its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldValue {
    /// `Header[9].KBase0`, `Common.InDim.Win`.
    pub name: String,
    /// Apple's printer name: `aneTD.Header[9].KBase0`, `aneRegs.Common.InDim.Win`.
    pub dump_name: String,
    pub block: &'static str,
    pub value: u32,
    /// Unit label (empty for plain numbers); see docs/hwx.md.
    pub unit: &'static str,
    /// What the value means in that unit (bytes, format name, fp16 value...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meaning: Option<String>,
    /// Byte offset (in the input) of the u32 word that holds the field.
    pub word_offset: u64,
    pub lsb: u8,
    pub width: u8,
    /// From an unchecked source.
    pub provisional: bool,
}

/// A word, or the bits of a word, that no field names. Kept so nothing in a TD goes unseen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnnamedBits {
    /// `Header[10]`, or `Block+0xOFF` for a register at that offset from the block's base, or
    /// the register address when no block holds it.
    pub location: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<u32>,
    pub word_offset: u64,
    /// The whole word.
    pub word: u32,
    /// Bits of the word outside every named field.
    pub unnamed_mask: u32,
}

/// The operation-level reading of a TD. Everything here is inferred from fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// `conv`, `activation`, `copy`, `pe-elementwise` (inferred from NE/PE configuration).
    pub kind: String,
    /// Closest Zin op code name for `kind` (inferred, not stored in the TD).
    pub zin_op: Option<&'static str>,
    /// Kernel width/height, stride x/y, pad x/y.
    pub kernel: [u32; 6],
    /// Input W, H, C and format name.
    pub input: Dims,
    pub output: Dims,
    /// TD non-linear mode name (none, relu, lut) and the PE op when the PE is active.
    pub activation: String,
    /// TileDMASrc / TileDMADst cache hints.
    pub cache_src: Option<String>,
    pub cache_dst: Option<String>,
    /// Base-slot numbers read (RBase0/1), written (WBase), and read for kernels (KBase0-3).
    pub reads: Vec<u32>,
    pub writes: Vec<u32>,
    pub kernel_slots: Vec<u32>,
    /// Kernel DMA channels enabled.
    pub kernel_channels: u32,
    /// What the container binds to the slots above (tensor names, `__const`), when known.
    pub slot_names: Vec<SlotName>,
}

/// A base-address slot and what the container puts there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlotName {
    pub slot: u32,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dims {
    pub w: Option<u32>,
    pub h: Option<u32>,
    pub c: Option<u32>,
    pub format: Option<String>,
}

/// Decoded TD: summary, named fields, unnamed bits, and (on request) raw words.
#[derive(Debug, Clone, Serialize)]
pub struct TdListing {
    pub index: usize,
    /// Byte offset in the input.
    pub offset: u64,
    pub size: usize,
    pub generation: String,
    /// True when the generation's map is provisional.
    pub provisional: bool,
    pub summary: Summary,
    pub summary_line: String,
    pub fields: Vec<FieldValue>,
    pub unnamed: Vec<UnnamedBits>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw: Option<RawTd>,
}

/// Raw words of a TD.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RawTd {
    pub header: Vec<u32>,
    pub commands: Vec<RawCommand>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RawCommand {
    pub offset: u64,
    pub word: u32,
    pub address: u32,
    pub block: Option<&'static str>,
    pub values: Vec<u32>,
}

fn map_of(td: &Td) -> Result<&'static RegMap, TdError> {
    crate::td::map_for(td.generation)
}

/// Every named field the TD holds, in map order.
pub fn field_values(td: &Td) -> Result<Vec<FieldValue>, TdError> {
    let map = map_of(td)?;
    // TD order (stable, so fields of one word keep the map's order).
    let mut values: Vec<FieldValue> = map
        .fields()
        .filter_map(|f| {
            let (word, word_offset) = td.word(f.loc)?;
            let value = f.extract(word);
            Some(FieldValue {
                name: f.full_name(),
                dump_name: f.dump_name(),
                block: f.block,
                value,
                unit: f.unit.label(),
                meaning: f.unit.describe(value),
                word_offset,
                lsb: f.lsb,
                width: f.width,
                provisional: f.provisional || map.provisional,
            })
        })
        .collect();
    values.sort_by_key(|v| v.word_offset);
    Ok(values)
}

/// Words (and bits) the TD holds that no field names.
pub fn unnamed_bits(td: &Td) -> Result<Vec<UnnamedBits>, TdError> {
    let map = map_of(td)?;
    let covered = |loc: Loc| -> u32 {
        map.fields()
            .filter(|f| f.loc == loc)
            .fold(0u32, |m, f| m | f.mask())
    };
    let mut out = Vec::new();
    for (i, &word) in td.header.iter().enumerate() {
        let Ok(index) = u8::try_from(i) else { break };
        let mask = !covered(Loc::Header(index));
        if word & mask != 0 {
            out.push(UnnamedBits {
                location: format!("Header[{i}]"),
                address: None,
                word_offset: td.offset + 4 * i as u64,
                word,
                unnamed_mask: mask,
            });
        }
    }
    for c in &td.commands {
        for (i, &word) in c.values.iter().enumerate() {
            let address = c.address.wrapping_add(4 * i as u32);
            let mask = !covered(Loc::Register(address));
            if word & mask == 0 {
                continue;
            }
            let location = match map.block_of(address) {
                Some(b) => format!("{}+{:#04x}", b.name, address - b.base),
                None => format!("reg {address:#07x}"),
            };
            out.push(UnnamedBits {
                location,
                address: Some(address),
                word_offset: c.offset + 4 + 4 * i as u64,
                word,
                unnamed_mask: mask,
            });
        }
    }
    Ok(out)
}

fn get(td: &Td, map: &RegMap, name: &str) -> Option<u32> {
    map.field(name).and_then(|f: &FieldDef| td.get(f))
}

fn name_of(table: &[&str], value: Option<u32>) -> Option<String> {
    let v = value?;
    Some(
        table
            .get(v as usize)
            .map_or_else(|| v.to_string(), |s| (*s).to_string()),
    )
}

/// The operation-level summary of a TD (inferred; see [`Summary`]).
pub fn summarize(td: &Td) -> Result<Summary, TdError> {
    let map = map_of(td)?;
    let g = |n: &str| get(td, map, n);
    let enabled =
        |flag: &str, slot: &str| -> Option<u32> { (g(flag)? == 1).then(|| g(slot)).flatten() };
    let reads: Vec<u32> = [
        ("Header.RBE0", "Header.RBase0"),
        ("Header.RBE1", "Header.RBase1"),
    ]
    .iter()
    .filter_map(|(f, s)| enabled(f, s))
    .collect();
    let writes: Vec<u32> = enabled("Header.WBE", "Header.WBase").into_iter().collect();
    let kernel_slots: Vec<u32> = (0..4)
        .filter_map(|i| enabled(&format!("Header.KBE{i}"), &format!("Header.KBase{i}")))
        .collect();
    let kernel_channels = (0..16)
        .filter(|i| g(&format!("KernelDMASrc.CoeffDMAConfig[{i}].En")) == Some(1))
        .count() as u32;
    let pe_cfg = td.word(Loc::Register(0x8800)).map(|(w, _)| w).unwrap_or(0);
    let op_mode = g("NE.MACCfg.OpMode");
    let nl = g("NE.MACCfg.NonlinearMode");
    let nl_name = name_of(&zin::TD_NONLINEAR_MODES, nl).unwrap_or_else(|| "?".into());
    let pe_op = g("PE.Cfg.OpMode").and_then(|v| zin::PE_OPS.get(v as usize).copied());
    let (kind, zin_op) = if pe_cfg != 0 {
        (
            format!("pe-elementwise {}", pe_op.unwrap_or("?")),
            Some("EW"),
        )
    } else if op_mode == Some(0) && kernel_channels > 0 {
        ("conv".to_string(), Some("CONV"))
    } else if nl.is_some_and(|v| v != 0) {
        (format!("activation {nl_name}"), Some("ACTIVATION"))
    } else if op_mode.is_some() {
        ("copy".to_string(), Some("COPY"))
    } else {
        ("unknown".to_string(), None)
    };
    let activation = match pe_op {
        Some(op) if pe_cfg != 0 => format!("{nl_name}, pe {op}"),
        _ => nl_name,
    };
    let fmt = |n: &str| name_of(&zin::DATA_FORMATS, g(n));
    let hint = |n: &str| name_of(&zin::CACHE_HINTS, g(n));
    Ok(Summary {
        kind,
        zin_op,
        kernel: [
            g("Common.ConvCfg.Kw").unwrap_or(0),
            g("Common.ConvCfg.Kh").unwrap_or(0),
            g("Common.ConvCfg.Sx").unwrap_or(0),
            g("Common.ConvCfg.Sy").unwrap_or(0),
            g("Common.ConvCfg.Px").unwrap_or(0),
            g("Common.ConvCfg.Py").unwrap_or(0),
        ],
        input: Dims {
            w: g("Common.InDim.Win"),
            h: g("Common.InDim.Hin"),
            c: g("Common.Cin.Cin"),
            format: fmt("Common.ChCfg.InFmt"),
        },
        output: Dims {
            w: g("Common.OutDim.Wout"),
            h: g("Common.OutDim.Hout"),
            c: g("Common.Cout.Cout"),
            format: fmt("Common.ChCfg.OutFmt"),
        },
        activation,
        cache_src: hint("TileDMASrc.DMAConfig.CacheHint"),
        cache_dst: hint("TileDMADst.DMAConfig.CacheHint"),
        reads,
        writes,
        kernel_slots,
        kernel_channels,
        slot_names: Vec::new(),
    })
}

fn dims_text(d: &Dims) -> String {
    let n = |v: Option<u32>| v.map_or_else(|| "?".to_string(), |v| v.to_string());
    format!(
        "{}x{}x{} {}",
        n(d.w),
        n(d.h),
        n(d.c),
        d.format.as_deref().unwrap_or("?")
    )
}

fn slots_text(slots: &[u32], names: &[SlotName]) -> String {
    if slots.is_empty() {
        return "-".into();
    }
    slots
        .iter()
        .map(|s| match names.iter().find(|n| n.slot == *s) {
            Some(n) => format!("{s} ({})", n.name),
            None => s.to_string(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Record what the container binds to the slots the TD uses, and redo the summary line.
pub fn name_slots(listing: &mut TdListing, names: &[(u32, String)]) {
    let s = &mut listing.summary;
    let used: Vec<u32> = s
        .reads
        .iter()
        .chain(&s.writes)
        .chain(&s.kernel_slots)
        .copied()
        .collect();
    s.slot_names = names
        .iter()
        .filter(|(slot, _)| used.contains(slot))
        .map(|(slot, name)| SlotName {
            slot: *slot,
            name: name.clone(),
        })
        .collect();
    s.slot_names.sort_by_key(|n| n.slot);
    listing.summary_line = summary_line(&listing.summary);
}

/// `conv k1x1 s1x1 p0,0 | in 1x1x3 fp16 -> out 1x1x3 fp16 | act none | read slot 5 | kernel slot 1 (3 ch) | write slot 4 | cache DROP/DEPRI`
pub fn summary_line(s: &Summary) -> String {
    let [kw, kh, sx, sy, px, py] = s.kernel;
    format!(
        "{} k{kw}x{kh} s{sx}x{sy} p{px},{py} | in {} -> out {} | act {} | read slot {} | kernel slot {} ({} ch) | write slot {} | cache {}/{}",
        s.kind,
        dims_text(&s.input),
        dims_text(&s.output),
        s.activation,
        slots_text(&s.reads, &s.slot_names),
        slots_text(&s.kernel_slots, &s.slot_names),
        s.kernel_channels,
        slots_text(&s.writes, &s.slot_names),
        s.cache_src.as_deref().unwrap_or("-"),
        s.cache_dst.as_deref().unwrap_or("-"),
    )
}

/// Disassemble one TD. `offset_base` is added to offsets (e.g. the stream's file offset).
pub fn disassemble(
    td: &Td,
    index: usize,
    offset_base: u64,
    raw: bool,
) -> Result<TdListing, TdError> {
    let map = map_of(td)?;
    let summary = summarize(td)?;
    let mut fields = field_values(td)?;
    for f in &mut fields {
        f.word_offset += offset_base;
    }
    let mut unnamed = unnamed_bits(td)?;
    for u in &mut unnamed {
        u.word_offset += offset_base;
    }
    let raw = raw.then(|| RawTd {
        header: td.header.clone(),
        commands: td
            .commands
            .iter()
            .map(|c| RawCommand {
                offset: c.offset + offset_base,
                word: c.word(),
                address: c.address,
                block: map.block_of(c.address).map(|b| b.name),
                values: c.values.clone(),
            })
            .collect(),
    });
    Ok(TdListing {
        index,
        offset: td.offset + offset_base,
        size: td.size(),
        generation: td.generation.name().to_string(),
        provisional: map.provisional,
        summary_line: summary_line(&summary),
        summary,
        fields,
        unnamed,
        raw,
    })
}

/// Human text of a listing: the summary line, then `name = value` lines named as Apple's
/// printer names them (so they compare with tinygrad's `aneregs` dump), grouped by block.
pub fn render(listing: &TdListing) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let prov = if listing.provisional {
        " [provisional map]"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "TD {} @ {:#x} ({:#x} bytes, {}){prov}: {}",
        listing.index, listing.offset, listing.size, listing.generation, listing.summary_line
    );
    let mut block = "";
    for f in &listing.fields {
        if f.block != block {
            block = f.block;
            let _ = writeln!(out, "  ; {block}");
        }
        let mut note = Vec::new();
        if !f.unit.is_empty() {
            note.push(f.unit.to_string());
        }
        if let Some(m) = &f.meaning {
            note.push(m.clone());
        }
        if f.provisional {
            note.push("provisional".into());
        }
        let note = if note.is_empty() {
            String::new()
        } else {
            format!("  # {}", note.join(", "))
        };
        let _ = writeln!(out, "  {} = {}{note}", f.dump_name, f.value);
    }
    if !listing.unnamed.is_empty() {
        let _ = writeln!(out, "  ; unnamed bits");
        for u in &listing.unnamed {
            let _ = writeln!(
                out,
                "  {} @ {:#x} = {:#010x}  # unnamed bits {:#010x}",
                u.location,
                u.word_offset,
                u.word,
                u.word & u.unnamed_mask
            );
        }
    }
    if let Some(raw) = &listing.raw {
        let _ = writeln!(out, "  ; raw");
        let hdr: Vec<String> = raw.header.iter().map(|w| format!("{w:08x}")).collect();
        let _ = writeln!(out, "  header: {}", hdr.join(" "));
        for c in &raw.commands {
            let vals: Vec<String> = c.values.iter().map(|w| format!("{w:08x}")).collect();
            let _ = writeln!(
                out,
                "  {:#06x}: {:08x} write {} @ {:#07x} ({}): {}",
                c.offset,
                c.word,
                c.values.len(),
                c.address,
                c.block.unwrap_or("?"),
                vals.join(" ")
            );
        }
    }
    out
}

/// One field-level difference between two programs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldDiff {
    pub td: usize,
    /// Field name, or an unnamed location (`Header[10]`, `Common+0x20`), or `<structure>`.
    pub name: String,
    pub a: Option<u32>,
    pub b: Option<u32>,
}

/// Compare two programs TD by TD: differing named fields, differing unnamed bits, and TDs
/// present in only one program (reported as `<td>` entries with the TD size).
pub fn diff(a: &[Td], b: &[Td]) -> Result<Vec<FieldDiff>, TdError> {
    let mut out = Vec::new();
    for i in 0..a.len().max(b.len()) {
        let (ta, tb) = (a.get(i), b.get(i));
        let (Some(ta), Some(tb)) = (ta, tb) else {
            out.push(FieldDiff {
                td: i,
                name: "<td>".into(),
                a: ta.map(|t| t.size() as u32),
                b: tb.map(|t| t.size() as u32),
            });
            continue;
        };
        let fa = field_values(ta)?;
        let fb = field_values(tb)?;
        let mut names: Vec<&str> = fa.iter().map(|f| f.name.as_str()).collect();
        for f in &fb {
            if !names.contains(&f.name.as_str()) {
                names.push(f.name.as_str());
            }
        }
        for name in names {
            let va = fa.iter().find(|f| f.name == name).map(|f| f.value);
            let vb = fb.iter().find(|f| f.name == name).map(|f| f.value);
            if va != vb {
                out.push(FieldDiff {
                    td: i,
                    name: name.to_string(),
                    a: va,
                    b: vb,
                });
            }
        }
        let ua = unnamed_map(ta)?;
        let ub = unnamed_map(tb)?;
        let mut locs: Vec<&String> = ua.iter().map(|(l, _)| l).collect();
        for (l, _) in &ub {
            if !locs.contains(&l) {
                locs.push(l);
            }
        }
        for loc in locs {
            let va = ua.iter().find(|(l, _)| l == loc).map(|(_, v)| *v);
            let vb = ub.iter().find(|(l, _)| l == loc).map(|(_, v)| *v);
            if va.unwrap_or(0) != vb.unwrap_or(0) {
                out.push(FieldDiff {
                    td: i,
                    name: format!("unnamed {loc}"),
                    a: va,
                    b: vb,
                });
            }
        }
    }
    Ok(out)
}

fn unnamed_map(td: &Td) -> Result<Vec<(String, u32)>, TdError> {
    Ok(unnamed_bits(td)?
        .into_iter()
        .map(|u| (u.location, u.word & u.unnamed_mask))
        .collect())
}

/// True when `unit` counts bytes in units (for docs and tests).
pub fn unit_scale(unit: Unit) -> Option<u64> {
    match unit {
        Unit::Bytes64 => Some(64),
        Unit::Bytes16 => Some(16),
        Unit::Bytes => Some(1),
        _ => None,
    }
}
