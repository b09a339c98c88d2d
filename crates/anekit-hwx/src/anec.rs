//! The Asahi Linux `.anec` container (eiln/anecc → eiln/ane libane), reference/hwx-td.md §7.
//!
//! An `.anec` file is a 0x1000-byte little-endian header followed by the payload: the TD
//! microcode padded to 16 bytes, then the kernel (weight) bytes. [`Anec::from_hwx`] derives the
//! header from the parsed Mach-O (segments, LC_THREAD, stabs) instead of anecc's word-scanning
//! heuristics (which fail on newer compilers, §7.2). [`Anec::parse`] reads headered files;
//! [`scan_payload`] reads the headerless payloads of eiln's kernel archive.

use crate::container::{Hwx, HwxError, TensorBinding, TensorRole};
use anekit_core::{ReadError, Reader, align_up};
use serde::Serialize;

/// Header size written by anecc and read by libane before eiln/ane e585747 (§7.2: use 0x1000;
/// later libane reads at 0x800, which is incompatible with anecc).
pub const ANEC_HEADER_SIZE: usize = 0x1000;
/// Bytes of the header that carry fields; the rest is zero.
pub const ANEC_HEADER_USED: usize = 0x6A8;
/// Buffer sizes are counted in 16 KiB tiles (the driver assumes 16 KiB pages).
pub const TILE_BYTES: u64 = 0x4000;
/// BAR slots (`ANE_TILE_COUNT`).
pub const SLOT_COUNT: usize = 32;
/// Slot of the command buffer (TD microcode + weights).
pub const SLOT_COMMAND: usize = 0;
/// Slot the kernel driver sets to the weights (BAR0 + round_up(tsk_size, 16)).
pub const SLOT_WEIGHTS: usize = 1;
/// Slot of the (single) intermediate buffer, itm0.
pub const SLOT_INTERMEDIATE: usize = 3;
/// First output slot; inputs follow the outputs.
pub const SLOT_FIRST_OUTPUT: usize = 4;
/// The first register-write command header of every H13 TD from the v4 compiler (KernelDMASrc,
/// 62 words at 0x1F800), at TD offset 0x28 (§2.3).
pub const H13_FIRST_STREAM_HEADER: u32 = 0xF401_F800;
/// TD stride inside `__text` / the payload for multi-TD H13 programs (§1.4, §7.4).
pub const H13_TD_STRIDE: u64 = 0x300;

/// Errors building or reading an `.anec`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnecError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("invalid hwx: {0}")]
    Hwx(#[from] HwxError),
    #[error("hwx has no {what}; cannot derive the .anec {field}")]
    MissingInHwx {
        what: &'static str,
        field: &'static str,
    },
    #[error(
        "hwx tensor {name:?} ({role}) is bound to slot {slot}, but .anec readers expect {expected}"
    )]
    SlotConvention {
        name: String,
        role: TensorRole,
        slot: u8,
        expected: String,
    },
    #[error("hwx has {count} {what} buffers; the .anec header has room for {max}")]
    TooManyBuffers {
        what: &'static str,
        count: usize,
        max: usize,
    },
    #[error("{what} {value:#x} does not fit the .anec header field")]
    Overflow { what: &'static str, value: u64 },
    #[error("byte offset {offset:#x}: header field {field} = {value:#x}: expected {expected}")]
    BadField {
        offset: u64,
        field: &'static str,
        value: u64,
        expected: String,
    },
    #[error(
        "byte offset {offset:#x}: no H13 task descriptor here (expected stream header 0xF401F800 at TD offset 0x28, found {found:#010x})"
    )]
    NoTaskDescriptor { offset: u64, found: u32 },
    #[error("hwx section {section} declares {size:#x} bytes but has none in the file (offset 0)")]
    SectionNotInFile { section: &'static str, size: u64 },
}

/// The 0x1000-byte `.anec` header (§7.2). All fields little-endian.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnecHeader {
    /// 0x000: payload length = round_up(tsk_size, 16) + krn_size.
    pub size: u64,
    /// 0x008: size of the first TD (bootstrap copy, queue size field).
    pub td_size: u32,
    /// 0x00C: number of TDs.
    pub td_count: u32,
    /// 0x010: `__text` size.
    pub tsk_size: u64,
    /// 0x018: `__const` size.
    pub krn_size: u64,
    /// 0x020: number of input buffers.
    pub src_count: u32,
    /// 0x024: number of output buffers.
    pub dst_count: u32,
    /// 0x028: buffer size per BAR slot in 16 KiB tiles.
    pub tiles: [u32; SLOT_COUNT],
    /// 0x0A8: per BAR slot N, C, H, W, plane stride, row stride (bytes).
    pub nchw: [[u64; 6]; SLOT_COUNT],
}

/// What a BAR slot holds, by anecc's convention (§8.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SlotKind {
    Command,
    Weights,
    Intermediate,
    Output,
    Input,
    Unused,
}

/// One used BAR slot of a header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlotUse {
    pub slot: u8,
    pub kind: SlotKind,
    pub tiles: u32,
    /// tiles × 16 KiB.
    pub bytes: u64,
    /// N, C, H, W, plane stride, row stride (zero for command/intermediate slots).
    pub nchw: [u64; 6],
}

impl AnecHeader {
    /// Role of slot `i` by the header's own counts: 0 command, 1 weights, 2–3 intermediates,
    /// 4.. outputs (dst_count of them), then inputs (src_count).
    pub fn slot_kind(&self, i: usize) -> SlotKind {
        let dst_end = SLOT_FIRST_OUTPUT + self.dst_count as usize;
        let src_end = dst_end + self.src_count as usize;
        match i {
            SLOT_COMMAND => SlotKind::Command,
            SLOT_WEIGHTS => SlotKind::Weights,
            2 | SLOT_INTERMEDIATE => SlotKind::Intermediate,
            _ if i >= SLOT_FIRST_OUTPUT && i < dst_end => SlotKind::Output,
            _ if i >= dst_end && i < src_end => SlotKind::Input,
            _ => SlotKind::Unused,
        }
    }

    /// Slots with a non-zero tile count, in slot order.
    pub fn used_slots(&self) -> Vec<SlotUse> {
        self.tiles
            .iter()
            .zip(self.nchw.iter())
            .enumerate()
            .filter(|(_, (t, _))| **t != 0)
            .map(|(i, (&tiles, &nchw))| SlotUse {
                slot: i as u8,
                kind: self.slot_kind(i),
                tiles,
                bytes: u64::from(tiles) * TILE_BYTES,
                nchw,
            })
            .collect()
    }

    /// The 0x1000 header bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(ANEC_HEADER_SIZE);
        out.extend_from_slice(&self.size.to_le_bytes());
        out.extend_from_slice(&self.td_size.to_le_bytes());
        out.extend_from_slice(&self.td_count.to_le_bytes());
        out.extend_from_slice(&self.tsk_size.to_le_bytes());
        out.extend_from_slice(&self.krn_size.to_le_bytes());
        out.extend_from_slice(&self.src_count.to_le_bytes());
        out.extend_from_slice(&self.dst_count.to_le_bytes());
        for t in self.tiles {
            out.extend_from_slice(&t.to_le_bytes());
        }
        for slot in self.nchw {
            for v in slot {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        debug_assert_eq!(out.len(), ANEC_HEADER_USED);
        out.resize(ANEC_HEADER_SIZE, 0);
        out
    }

    /// Read the header fields (the first 0x6A8 bytes of `bytes`).
    pub fn parse(bytes: &[u8]) -> Result<AnecHeader, AnecError> {
        let mut r = Reader::new(bytes);
        let size = r.u64_le("anec size")?;
        let td_size = r.u32_le("anec td_size")?;
        let td_count = r.u32_le("anec td_count")?;
        let tsk_size = r.u64_le("anec tsk_size")?;
        let krn_size = r.u64_le("anec krn_size")?;
        let src_count = r.u32_le("anec src_count")?;
        let dst_count = r.u32_le("anec dst_count")?;
        let mut tiles = [0u32; SLOT_COUNT];
        for t in &mut tiles {
            *t = r.u32_le("anec tiles")?;
        }
        let mut nchw = [[0u64; 6]; SLOT_COUNT];
        for slot in &mut nchw {
            for v in slot.iter_mut() {
                *v = r.u64_le("anec nchw")?;
            }
        }
        let header = AnecHeader {
            size,
            td_size,
            td_count,
            tsk_size,
            krn_size,
            src_count,
            dst_count,
            tiles,
            nchw,
        };
        let io = u64::from(src_count) + u64::from(dst_count);
        if io > (SLOT_COUNT - SLOT_FIRST_OUTPUT) as u64 {
            return Err(AnecError::BadField {
                offset: 0x20,
                field: "src_count + dst_count",
                value: io,
                expected: format!("at most {}", SLOT_COUNT - SLOT_FIRST_OUTPUT),
            });
        }
        Ok(header)
    }

    /// Consistency rules that anecc's output satisfies and libane/the kernel rely on (§7.2,
    /// §8.2). Returns one line per violated rule; empty when consistent.
    pub fn issues(&self) -> Vec<String> {
        let mut out = Vec::new();
        let expected_size = align_up(self.tsk_size, 16).and_then(|t| t.checked_add(self.krn_size));
        if expected_size != Some(self.size) {
            out.push(format!(
                "size {:#x} != round_up(tsk_size {:#x}, 16) + krn_size {:#x}",
                self.size, self.tsk_size, self.krn_size
            ));
        }
        if self.td_size == 0 || self.td_count == 0 || self.tsk_size == 0 {
            out.push(
                "td_size, td_count and tsk_size must be non-zero (SUBMIT returns EINVAL)".into(),
            );
        }
        if u64::from(self.td_size) > self.tsk_size {
            out.push(format!(
                "td_size {:#x} exceeds tsk_size {:#x}",
                self.td_size, self.tsk_size
            ));
        }
        let cmd_tiles = self.size.div_ceil(TILE_BYTES);
        if u64::from(self.tiles[SLOT_COMMAND]) != cmd_tiles {
            out.push(format!(
                "tiles[0] = {} but the payload needs ceil({:#x} / 16 KiB) = {cmd_tiles}",
                self.tiles[SLOT_COMMAND], self.size
            ));
        }
        if self.tiles[SLOT_WEIGHTS] != 0 {
            out.push("tiles[1] must be 0: the driver sets slot 1 itself".into());
        }
        if self.src_count == 0 || self.dst_count == 0 {
            out.push("anecc requires at least one input and one output".into());
        }
        for u in self.used_slots() {
            if matches!(u.kind, SlotKind::Input | SlotKind::Output) {
                let [n, c, _h, _w, plane, _row] = u.nchw;
                let need = n
                    .saturating_mul(c)
                    .saturating_mul(plane)
                    .div_ceil(TILE_BYTES);
                if need != u64::from(u.tiles) {
                    out.push(format!(
                        "slot {}: {} tiles, but N·C·plane stride needs {need}",
                        u.slot, u.tiles
                    ));
                }
            }
        }
        for k in [SlotKind::Output, SlotKind::Input] {
            let expected = if k == SlotKind::Output {
                self.dst_count
            } else {
                self.src_count
            };
            let got = (0..SLOT_COUNT)
                .filter(|&i| self.slot_kind(i) == k && self.tiles.get(i).is_some_and(|&t| t != 0))
                .count();
            if got != expected as usize {
                out.push(format!(
                    "{expected} {k:?} buffers declared, {got} have tiles"
                ));
            }
        }
        out
    }
}

/// A headered `.anec` file.
#[derive(Debug, Clone, Serialize)]
pub struct Anec<'a> {
    pub header: AnecHeader,
    /// Exactly `header.size` bytes after the header.
    #[serde(skip)]
    pub payload: &'a [u8],
    /// Bytes after the payload (anecc writes none).
    pub trailing_bytes: u64,
}

/// Row stride of an fp16 tensor of width `w` as anecc lays it out: round_up(2·W, 64).
pub fn anecc_row_stride(w: u64) -> Option<u64> {
    align_up(w.checked_mul(2)?, 64)
}

/// Tensor shape and strides for a header slot: from the stabs layout when present, else
/// from the flavor-3 descriptor, else anecc's rule from the byte size.
fn slot_nchw(t: &TensorBinding) -> Option<[u64; 6]> {
    if let Some(l) = &t.layout {
        let plane = l.plane_stride()?;
        let row = l.row_stride()?;
        return Some([l.n(), l.c(), l.h(), l.w(), plane, row]);
    }
    let d = t.descriptor.as_ref()?;
    Some([
        1,
        u64::from(*d.dims.get(1)?),
        1,
        u64::from(*d.dims.get(3)?),
        d.plane_stride,
        d.row_stride,
    ])
}

impl<'a> Anec<'a> {
    /// Build the header and payload for a parsed `.hwx` (§7.2, §7.3).
    ///
    /// Buffers take the slots the hwx's own slot table gives them (what the TDs read and write,
    /// §8.4); tensors missing from the table get anecc's convention (outputs from slot 4, then
    /// inputs, intermediate in slot 3). A binding that contradicts the convention libane reads
    /// roles by is an error rather than a silently wrong file.
    pub fn header_from_hwx(hwx: &Hwx<'_>) -> Result<(AnecHeader, Vec<u8>), AnecError> {
        let text = hwx.text().ok_or(AnecError::MissingInHwx {
            what: "__TEXT,__text section",
            field: "tsk_size",
        })?;
        let td_count = hwx.td_count().ok_or(AnecError::MissingInHwx {
            what: "LC_THREAD flavor-1 TD count",
            field: "td_count",
        })?;
        let td_size = hwx.td_size().ok_or(AnecError::MissingInHwx {
            what: "LC_THREAD flavor-1 TD size word",
            field: "td_size",
        })?;
        let tsk_size = text.size;
        let text_bytes = hwx.text_bytes()?;
        // A __text without file bytes (offset 0) would otherwise make an all-zero payload of
        // whatever size the section claims (found by fuzzing: a 285 GB allocation).
        if text_bytes.len() as u64 != tsk_size {
            return Err(AnecError::SectionNotInFile {
                section: "__TEXT,__text",
                size: tsk_size,
            });
        }
        let const_bytes = match hwx.const_section() {
            Some(s) => hwx.section_bytes(s)?,
            None => &[],
        };
        let krn_size = const_bytes.len() as u64;
        if let Some(s) = hwx.const_section()
            && s.size != krn_size
        {
            return Err(AnecError::SectionNotInFile {
                section: "__TEXT,__const",
                size: s.size,
            });
        }
        let tsk_padded = align_up(tsk_size, 16).ok_or(AnecError::Overflow {
            what: "tsk_size",
            value: tsk_size,
        })?;
        let size = tsk_padded
            .checked_add(krn_size)
            .ok_or(AnecError::Overflow {
                what: "payload size",
                value: krn_size,
            })?;
        // The payload is built rather than sliced from the file so the weights always start at
        // round_up(tsk_size, 16), where the driver points BAR1 (§8.3).
        let mut payload = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        payload.extend_from_slice(text_bytes);
        payload.resize(usize::try_from(tsk_padded).unwrap_or(usize::MAX), 0);
        payload.extend_from_slice(const_bytes);

        let outputs: Vec<&TensorBinding> = hwx.tensors_with_role(TensorRole::Output).collect();
        let inputs: Vec<&TensorBinding> = hwx.tensors_with_role(TensorRole::Input).collect();
        let itms: Vec<&TensorBinding> = hwx.tensors_with_role(TensorRole::Intermediate).collect();
        let io_max = SLOT_COUNT - SLOT_FIRST_OUTPUT;
        if outputs.len() + inputs.len() > io_max {
            return Err(AnecError::TooManyBuffers {
                what: "input/output",
                count: outputs.len() + inputs.len(),
                max: io_max,
            });
        }
        if itms.len() > 1 {
            return Err(AnecError::TooManyBuffers {
                what: "intermediate",
                count: itms.len(),
                max: 1,
            });
        }

        let mut tiles = [0u32; SLOT_COUNT];
        let mut nchw = [[0u64; 6]; SLOT_COUNT];
        let tile_count = |what: &'static str, bytes: u64| -> Result<u32, AnecError> {
            u32::try_from(bytes.div_ceil(TILE_BYTES))
                .map_err(|_| AnecError::Overflow { what, value: bytes })
        };
        *tiles.get_mut(SLOT_COMMAND).ok_or(AnecError::Overflow {
            what: "slot",
            value: 0,
        })? = tile_count("payload size", size)?;

        let dst_range = SLOT_FIRST_OUTPUT..SLOT_FIRST_OUTPUT + outputs.len();
        let src_range = dst_range.end..dst_range.end + inputs.len();
        let groups: [(&[&TensorBinding], std::ops::Range<usize>, &str); 3] = [
            (&outputs, dst_range, "an output slot"),
            (&inputs, src_range, "an input slot"),
            (
                &itms,
                SLOT_INTERMEDIATE..SLOT_INTERMEDIATE + 1,
                "the intermediate slot 3",
            ),
        ];
        for (tensors, range, expected) in groups {
            for (position, t) in tensors.iter().enumerate() {
                let slot = match t.slot {
                    Some(s) => usize::from(s),
                    None => range.start + position,
                };
                if !range.contains(&slot) {
                    return Err(AnecError::SlotConvention {
                        name: t.name.clone(),
                        role: t.role,
                        slot: u8::try_from(slot).unwrap_or(u8::MAX),
                        expected: format!(
                            "{expected} ({}..{})",
                            range.start,
                            range.end.saturating_sub(1)
                        ),
                    });
                }
                let shape = slot_nchw(t);
                let bytes = match shape {
                    Some([n, c, _, _, plane, _]) if t.role != TensorRole::Intermediate => {
                        n.saturating_mul(c).saturating_mul(plane)
                    }
                    _ => t.size,
                };
                if let Some(tile) = tiles.get_mut(slot) {
                    *tile = tile_count("tensor size", bytes)?;
                }
                if t.role != TensorRole::Intermediate
                    && let (Some(dst), Some(shape)) = (nchw.get_mut(slot), shape)
                {
                    *dst = shape;
                }
            }
        }

        let header = AnecHeader {
            size,
            td_size,
            td_count,
            tsk_size,
            krn_size,
            src_count: inputs.len() as u32,
            dst_count: outputs.len() as u32,
            tiles,
            nchw,
        };
        Ok((header, payload))
    }

    /// The complete `.anec` file (header + payload) for a parsed `.hwx`.
    pub fn from_hwx(hwx: &Hwx<'_>) -> Result<Vec<u8>, AnecError> {
        let (header, payload) = Anec::header_from_hwx(hwx)?;
        let mut out = header.to_bytes();
        out.extend_from_slice(&payload);
        Ok(out)
    }

    /// Read a headered `.anec`: the header, then `size` payload bytes at 0x1000.
    pub fn parse(bytes: &'a [u8]) -> Result<Anec<'a>, AnecError> {
        let file = Reader::new(bytes);
        let header_bytes = file.slice_at(0, ANEC_HEADER_SIZE as u64, "anec header")?;
        let header = AnecHeader::parse(header_bytes)?;
        if header.tsk_size > header.size {
            return Err(AnecError::BadField {
                offset: 0x10,
                field: "tsk_size",
                value: header.tsk_size,
                expected: format!("at most size {:#x}", header.size),
            });
        }
        let payload = file.slice_at(ANEC_HEADER_SIZE as u64, header.size, "anec payload")?;
        let trailing_bytes = file.len() - ANEC_HEADER_SIZE as u64 - header.size;
        Ok(Anec {
            header,
            payload,
            trailing_bytes,
        })
    }

    /// The TD microcode (`tsk_size` bytes at the start of the payload).
    pub fn microcode(&self) -> &'a [u8] {
        self.payload
            .get(..usize::try_from(self.header.tsk_size).unwrap_or(usize::MAX))
            .unwrap_or(self.payload)
    }

    /// The kernel bytes (after the microcode padded to 16 bytes).
    pub fn kernels(&self) -> &'a [u8] {
        let start = align_up(self.header.tsk_size, 16).unwrap_or(u64::MAX);
        usize::try_from(start)
            .ok()
            .and_then(|s| self.payload.get(s..))
            .unwrap_or_default()
    }
}

/// What can be read from a headerless payload (eiln's kernel archive, §7.4): the TD chain and
/// the sizes derived from it. The I/O tile counts need the TD decode and are not here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PayloadScan {
    /// Payload offset and byte length of each TD, in chain order.
    pub tds: Vec<(u64, u64)>,
    /// Number of TDs (the chain ends at the TD with EON set).
    pub td_count: u32,
    /// Size of the first TD.
    pub td_size: u32,
    /// End of the last TD.
    pub tsk_size: u64,
    /// Payload bytes after round_up(tsk_size, 16).
    pub krn_size: u64,
    /// Payload length.
    pub size: u64,
    /// ceil(size / 16 KiB): the command-buffer tiles a header would give slot 0.
    pub command_tiles: u64,
}

/// Length of the H13 TD at `offset`: walk its register-write commands (§2.2) from 0x28 and
/// stop after the TileDMADst block (register base 0x17800), the last of the seven blocks
/// (§2.3), or at a zero header word (padding). Bounded by the 0x300 slot.
fn h13_td_len(r: &Reader<'_>, offset: u64) -> Result<u64, AnecError> {
    let mut pos = 0x28u64;
    while pos < H13_TD_STRIDE {
        let word = r.u32_le_at(offset + pos, "TD command header")?;
        if word == 0 {
            break;
        }
        let count = u64::from(word >> 26) + 1;
        let addr = word & 0x03FF_FFFF;
        pos += 4 + 4 * count;
        if addr == 0x17800 {
            break;
        }
    }
    if pos > H13_TD_STRIDE || offset + pos > r.len() {
        return Err(AnecError::BadField {
            offset: offset + 0x28,
            field: "TD command stream",
            value: pos,
            expected: "commands ending inside the TD's 0x300-byte slot".into(),
        });
    }
    Ok(pos)
}

/// Read a headerless H13 payload (TD microcode padded to 16 bytes + kernel bytes). TDs sit at
/// a 0x300 stride; each is recognised by its first stream header 0xF401F800 at +0x28, the
/// chain ends at the TD whose header has EON (word 0 bit 25) set. This is specific to the v4
/// compiler's H13 TDs (all staged payloads); other forms are refused.
pub fn scan_payload(bytes: &[u8]) -> Result<PayloadScan, AnecError> {
    let r = Reader::new(bytes);
    let mut tds = Vec::new();
    let mut offset = 0u64;
    loop {
        let first = r.u32_le_at(offset + 0x28, "TD first stream header")?;
        if first != H13_FIRST_STREAM_HEADER {
            return Err(AnecError::NoTaskDescriptor {
                offset: offset + 0x28,
                found: first,
            });
        }
        let len = h13_td_len(&r, offset)?;
        tds.push((offset, len));
        let word0 = r.u32_le_at(offset, "TD header word 0")?;
        if word0 & (1 << 25) != 0 {
            break;
        }
        // Bounded: each step consumes 0x300 bytes of input or fails the read above.
        offset += H13_TD_STRIDE;
    }
    let (last_off, last_len) = tds.last().copied().unwrap_or((0, 0));
    let tsk_size = last_off + last_len;
    let size = bytes.len() as u64;
    let padded = align_up(tsk_size, 16).unwrap_or(u64::MAX);
    Ok(PayloadScan {
        td_count: tds.len() as u32,
        td_size: tds.first().map_or(0, |t| t.1 as u32),
        tds,
        tsk_size,
        krn_size: size.saturating_sub(padded),
        size,
        command_tiles: size.div_ceil(TILE_BYTES),
    })
}

/// True when `bytes` look like a headerless H13 payload rather than a headered `.anec`: the
/// word at 0x28 is the first TD's stream header (in a headered file it is tiles[0], a small
/// count).
pub fn is_headerless(bytes: &[u8]) -> bool {
    Reader::new(bytes)
        .u32_le_at(0x28, "word at 0x28")
        .is_ok_and(|w| w == H13_FIRST_STREAM_HEADER)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_header() -> AnecHeader {
        // The relu row of reference/hwx-td.md §7.3.
        let mut tiles = [0u32; SLOT_COUNT];
        tiles[0] = 2;
        tiles[4] = 1;
        tiles[5] = 1;
        let mut nchw = [[0u64; 6]; SLOT_COUNT];
        nchw[4] = [1, 1, 1, 77, 0xC0, 0xC0];
        nchw[5] = [1, 1, 1, 77, 0xC0, 0xC0];
        AnecHeader {
            size: 0x4280,
            td_size: 0x274,
            td_count: 1,
            tsk_size: 0x274,
            krn_size: 0x4000,
            src_count: 1,
            dst_count: 1,
            tiles,
            nchw,
        }
    }

    #[test]
    fn header_bytes_at_the_documented_offsets() {
        let b = sample_header().to_bytes();
        assert_eq!(b.len(), 0x1000);
        assert_eq!(&b[0..8], &0x4280u64.to_le_bytes());
        assert_eq!(&b[8..12], &0x274u32.to_le_bytes());
        assert_eq!(&b[0xC..0x10], &1u32.to_le_bytes());
        assert_eq!(&b[0x18..0x20], &0x4000u64.to_le_bytes());
        assert_eq!(&b[0x28..0x2C], &2u32.to_le_bytes());
        assert_eq!(&b[0x28 + 4 * 5..0x28 + 4 * 6], &1u32.to_le_bytes());
        // nchw[4].W at 0xA8 + 4·48 + 3·8.
        assert_eq!(
            &b[0xA8 + 4 * 48 + 24..0xA8 + 4 * 48 + 32],
            &77u64.to_le_bytes()
        );
        assert!(b[ANEC_HEADER_USED..].iter().all(|&x| x == 0));
        assert_eq!(AnecHeader::parse(&b).unwrap(), sample_header());
        assert!(
            sample_header().issues().is_empty(),
            "{:?}",
            sample_header().issues()
        );
    }

    #[test]
    fn slot_kinds_follow_counts() {
        let h = sample_header();
        let kinds: Vec<_> = h.used_slots().iter().map(|u| (u.slot, u.kind)).collect();
        assert_eq!(
            kinds,
            vec![
                (0, SlotKind::Command),
                (4, SlotKind::Output),
                (5, SlotKind::Input)
            ]
        );
    }

    #[test]
    fn truncated_payload_is_an_error_with_offset() {
        let mut b = sample_header().to_bytes();
        b.extend_from_slice(&[0u8; 0x100]);
        let e = Anec::parse(&b).unwrap_err();
        assert!(e.to_string().contains("0x1000"), "{e}");
    }

    #[test]
    fn inconsistent_header_is_reported() {
        let mut h = sample_header();
        h.size = 0x4290;
        h.tiles[1] = 1;
        let issues = h.issues();
        assert!(issues.iter().any(|i| i.contains("round_up")), "{issues:?}");
        assert!(issues.iter().any(|i| i.contains("tiles[1]")), "{issues:?}");
    }

    #[test]
    fn hostile_counts_rejected() {
        let mut h = sample_header();
        h.src_count = u32::MAX;
        let e = AnecHeader::parse(&h.to_bytes()).unwrap_err();
        assert!(e.to_string().contains("0x20"), "{e}");
    }

    #[test]
    fn headerless_scan_needs_a_td() {
        let e = scan_payload(&[0u8; 0x40]).unwrap_err();
        assert_eq!(
            e,
            AnecError::NoTaskDescriptor {
                offset: 0x28,
                found: 0
            }
        );
        assert!(!is_headerless(&sample_header().to_bytes()));
    }
}
