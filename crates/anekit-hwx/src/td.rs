//! Task descriptors (TDs): decode, field access, re-encode and patch.
//!
//! An H13 TD (reference hwx-td.md §2) is a header of 10 u32 words (11 in some of eiln's
//! templates) followed by register-write commands. A command is one LE u32 — register byte
//! address in bits [25:0], register count − 1 in bits [31:26] — followed by that many values.
//! [`Td`] keeps every word it read, so [`Td::encode`] reproduces the input byte for byte and a
//! field change touches only the bytes of that field's word.
//!
//! A TD stream (`__TEXT,__text`, or the start of an eiln payload) chains TDs through the header:
//! `NextPointer` gives the next TD's offset from the start of the stream and `NextSize` its size
//! in words − 1; `EON` marks the last TD.

use anekit_core::{ReadError, Reader};
use serde::Serialize;

use crate::regmap::{FieldDef, Generation, Loc, RegMap, regmap};

/// Why a TD could not be decoded or changed. Offsets are bytes from the start of the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TdError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(
        "register-write command {word:#010x} at byte offset {offset:#x} writes {count} register(s) \
         ({needed} bytes) but the TD has {available} byte(s) left; expected a command that ends \
         inside the TD"
    )]
    CommandOverrun {
        offset: u64,
        word: u32,
        count: u32,
        needed: u64,
        available: u64,
    },
    #[error(
        "TD at byte offset {offset:#x} is {len} bytes, shorter than its {header_bytes}-byte header"
    )]
    TooShort {
        offset: u64,
        len: u64,
        header_bytes: u64,
    },
    #[error(
        "cannot decode {0} task descriptors: anekit decodes H13 only (other generations encode \
         TDs differently and have at most a provisional register map, see docs/hwx.md)"
    )]
    NoMap(Generation),
    #[error(
        "unknown field `{0}`: expected Block.Register.Field as printed by `ane hwx disasm` \
         (e.g. Header.KBase0, Common.InDim.Win, KernelDMASrc.CoeffBaseAddr[1].Addr)"
    )]
    UnknownField(String),
    #[error("value {value:#x} does not fit field {field}: {width} bit(s), at most {max:#x}")]
    ValueTooWide {
        field: String,
        value: u64,
        width: u8,
        max: u32,
    },
    #[error("field {field} is in register {address:#07x}, which this TD does not write")]
    NotWritten { field: String, address: u32 },
    #[error(
        "not a TD: word {word:#010x} at byte offset {offset:#x}, right after the header, is not \
         a register-write command for a known register block"
    )]
    NoCommands { offset: u64, word: u32 },
    #[error("TD chain at byte offset {offset:#x}: {reason}")]
    Chain { offset: u64, reason: String },
}

/// One register-write command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Command {
    /// Byte offset of the command word in the input.
    pub offset: u64,
    /// Byte address of the first register written.
    pub address: u32,
    /// Values for `address`, `address + 4`, ...
    pub values: Vec<u32>,
}

impl Command {
    /// The command word: count − 1 in [31:26], address in [25:0].
    pub fn word(&self) -> u32 {
        let count = u32::try_from(self.values.len())
            .unwrap_or(1)
            .saturating_sub(1);
        ((count & 0x3F) << 26) | (self.address & 0x03FF_FFFF)
    }

    /// Bytes this command occupies.
    pub fn size(&self) -> usize {
        4 + 4 * self.values.len()
    }
}

/// A decoded task descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Td {
    pub generation: Generation,
    /// Byte offset of the TD in the input.
    pub offset: u64,
    /// Header words.
    pub header: Vec<u32>,
    pub commands: Vec<Command>,
}

/// Where a decoded field was found and what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    pub field: String,
    pub old: u32,
    pub new: u32,
    /// Byte offset (in the input) of the u32 word holding the field.
    pub word_offset: u64,
    pub old_word: u32,
    pub new_word: u32,
}

const HEADER_EON_BIT: u32 = 1 << 25;
const MAX_COUNT: u32 = 64;

/// The map of a generation whose TDs anekit decodes, or the error saying it cannot.
pub(crate) fn map_for(generation: Generation) -> Result<&'static RegMap, TdError> {
    regmap(generation)
        .filter(|m| m.decodable)
        .ok_or(TdError::NoMap(generation))
}

/// Decode the TD that occupies all of `bytes` (one TD, no padding).
pub fn decode_td(bytes: &[u8], generation: Generation) -> Result<Td, TdError> {
    decode_td_at(bytes, 0, bytes.len() as u64, generation)
}

/// Decode the TD of `len` bytes at `offset` of `data`; errors carry offsets into `data`.
pub fn decode_td_at(
    data: &[u8],
    offset: u64,
    len: u64,
    generation: Generation,
) -> Result<Td, TdError> {
    let map = map_for(generation)?;
    let reader = Reader::new(data).sub(offset, len, "task descriptor")?;
    let base_words = map.header_words;
    // eiln's templates carry one extra header word in some TDs (reference §2.1, §7.4). Both
    // readings are tried; the one whose commands all write registers of known blocks wins,
    // the standard header length on a tie.
    let standard = decode_with_header(reader, base_words, generation);
    if standard
        .as_ref()
        .is_ok_and(|td| writes_known_blocks(td, map))
    {
        return standard;
    }
    let extended = decode_with_header(reader, base_words + 1, generation);
    match (standard, extended) {
        (Ok(s), Ok(e)) if writes_known_blocks(&e, map) => {
            let _ = s;
            Ok(e)
        }
        (Ok(s), _) => Ok(s),
        (Err(_), Ok(e)) => Ok(e),
        (Err(first), Err(_)) => Err(first),
    }
}

/// True when every command writes only registers inside one known block of `map`.
fn writes_known_blocks(td: &Td, map: &RegMap) -> bool {
    td.commands.iter().all(|c| {
        let last = c
            .address
            .saturating_add(4 * (c.values.len() as u32).saturating_sub(1));
        map.block_of(c.address).is_some_and(|b| b.contains(last))
    })
}

fn decode_with_header(
    reader: Reader<'_>,
    header_words: usize,
    generation: Generation,
) -> Result<Td, TdError> {
    let header_bytes = 4 * header_words as u64;
    if reader.len() < header_bytes {
        return Err(TdError::TooShort {
            offset: reader.offset(),
            len: reader.len(),
            header_bytes,
        });
    }
    let mut r = reader;
    let start = r.offset();
    let mut header = Vec::with_capacity(header_words);
    for _ in 0..header_words {
        header.push(r.u32_le("TD header word")?);
    }
    let mut commands = Vec::new();
    while r.remaining() > 0 {
        let at = r.offset();
        let word = r.u32_le("register-write command")?;
        let count = (word >> 26) + 1;
        let needed = 4 * u64::from(count);
        if needed > r.remaining() {
            return Err(TdError::CommandOverrun {
                offset: at,
                word,
                count,
                needed,
                available: r.remaining(),
            });
        }
        let mut values = Vec::with_capacity(count as usize);
        for _ in 0..count {
            values.push(r.u32_le("register value")?);
        }
        commands.push(Command {
            offset: at,
            address: word & 0x03FF_FFFF,
            values,
        });
    }
    Ok(Td {
        generation,
        offset: start,
        header,
        commands,
    })
}

impl Td {
    /// Size in bytes.
    pub fn size(&self) -> usize {
        4 * self.header.len() + self.commands.iter().map(Command::size).sum::<usize>()
    }

    /// The TD's bytes: header words, then each command word and its values, little-endian.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.size());
        for w in &self.header {
            out.extend_from_slice(&w.to_le_bytes());
        }
        for c in &self.commands {
            out.extend_from_slice(&c.word().to_le_bytes());
            for v in &c.values {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        out
    }

    /// True when the header marks this TD as the last of its network (EON).
    pub fn is_last(&self) -> bool {
        self.header.first().is_some_and(|w| w & HEADER_EON_BIT != 0)
    }

    /// NextPointer: the next TD's offset from the start of the stream (0 = none).
    pub fn next_pointer(&self) -> u32 {
        self.header.get(7).copied().unwrap_or(0)
    }

    /// Size in bytes of the next TD announced by NextSize, when non-zero.
    pub fn next_size(&self) -> Option<u64> {
        let words = (self.header.get(1).copied().unwrap_or(0) >> 16) & 0x1FF;
        (words != 0).then(|| (u64::from(words) + 1) * 4)
    }

    /// The word at `loc` and its byte offset in the input. For a register written more than
    /// once, the last write is the one that takes effect.
    pub fn word(&self, loc: Loc) -> Option<(u32, u64)> {
        match loc {
            Loc::Header(i) => {
                let w = *self.header.get(usize::from(i))?;
                Some((w, self.offset + 4 * u64::from(i)))
            }
            Loc::Register(address) => self.commands.iter().rev().find_map(|c| {
                let index = register_index(c, address)?;
                let w = *c.values.get(index)?;
                Some((w, c.offset + 4 + 4 * index as u64))
            }),
        }
    }

    fn word_mut(&mut self, loc: Loc) -> Option<&mut u32> {
        match loc {
            Loc::Header(i) => self.header.get_mut(usize::from(i)),
            Loc::Register(address) => self.commands.iter_mut().rev().find_map(|c| {
                let index = register_index(c, address)?;
                c.values.get_mut(index)
            }),
        }
    }

    /// The value of `field`, or None when the TD does not hold its word.
    pub fn get(&self, field: &FieldDef) -> Option<u32> {
        self.word(field.loc).map(|(w, _)| field.extract(w))
    }

    /// The value of the field `query` names (see [`FieldDef::matches`]).
    pub fn get_named(&self, query: &str) -> Result<Option<u32>, TdError> {
        let field = map_for(self.generation)?
            .field(query)
            .ok_or_else(|| TdError::UnknownField(query.to_string()))?;
        Ok(self.get(field))
    }

    /// Set the field `query` names to `value`, checking it fits the field's width. Only that
    /// field's bits change.
    pub fn set(&mut self, query: &str, value: u64) -> Result<FieldChange, TdError> {
        let field = map_for(self.generation)?
            .field(query)
            .ok_or_else(|| TdError::UnknownField(query.to_string()))?;
        let max = field.max_value();
        let fitted = u32::try_from(value).ok().filter(|v| *v <= max);
        let Some(value) = fitted else {
            return Err(TdError::ValueTooWide {
                field: field.full_name(),
                value,
                width: field.width,
                max,
            });
        };
        let (old_word, word_offset) = self.word(field.loc).ok_or_else(|| TdError::NotWritten {
            field: field.full_name(),
            address: match field.loc {
                Loc::Register(a) => a,
                Loc::Header(i) => u32::from(i) * 4,
            },
        })?;
        let new_word = field.insert(old_word, value);
        if let Some(w) = self.word_mut(field.loc) {
            *w = new_word;
        }
        Ok(FieldChange {
            field: field.full_name(),
            old: field.extract(old_word),
            new: value,
            word_offset,
            old_word,
            new_word,
        })
    }
}

fn register_index(c: &Command, address: u32) -> Option<usize> {
    let delta = address.checked_sub(c.address)?;
    if delta % 4 != 0 {
        return None;
    }
    let index = (delta / 4) as usize;
    (index < c.values.len()).then_some(index)
}

/// Decode a TD stream by following the header chain from the TD at offset 0.
///
/// `first_size` is the first TD's size when the container says it (an .hwx's slot table, an
/// .anec header's `td_size`); otherwise it is found by walking commands (see
/// [`guess_td_size`]). Later TDs take their size from the previous TD's NextSize.
pub fn decode_stream(
    stream: &[u8],
    generation: Generation,
    first_size: Option<u64>,
) -> Result<Vec<Td>, TdError> {
    let map = map_for(generation)?;
    let total = stream.len() as u64;
    let mut tds: Vec<Td> = Vec::new();
    let mut offset = 0u64;
    let mut size = match first_size {
        Some(s) => s,
        None => guess_td_size(stream, 0, map)?,
    };
    loop {
        if offset.checked_add(size).is_none_or(|end| end > total) {
            return Err(TdError::Chain {
                offset,
                reason: format!(
                    "TD {} needs {size:#x} bytes but the stream has {:#x} left",
                    tds.len(),
                    total.saturating_sub(offset)
                ),
            });
        }
        let td = decode_td_at(stream, offset, size, generation)?;
        let next = u64::from(td.next_pointer());
        let last = td.is_last() || next == 0;
        let announced = td.next_size();
        tds.push(td);
        if last {
            return Ok(tds);
        }
        if next < offset + size || next >= total {
            return Err(TdError::Chain {
                offset,
                reason: format!(
                    "NextPointer {next:#x} must point past this TD (ends at {:#x}) and inside the \
                     {total:#x}-byte stream",
                    offset + size
                ),
            });
        }
        offset = next;
        size = match announced {
            Some(s) => s,
            None => guess_td_size(stream, offset, map)?,
        };
    }
}

/// Size of the TD at `offset` when nothing states it: walk the commands after the header and
/// stop at the end of the data (or the next TD, when NextPointer names one), at a zero command
/// word (padding: no real TD writes one register at address 0), or at a word that is not a
/// plausible command for this generation (its registers fall outside every known block), which
/// is where kernel data follows the TDs in eiln's payloads. A heuristic: containers that state
/// the size should pass it to [`decode_stream`].
pub fn guess_td_size(stream: &[u8], offset: u64, map: &RegMap) -> Result<u64, TdError> {
    let r = Reader::new(stream);
    let header_bytes = 4 * map.header_words as u64;
    let next_pointer = u64::from(r.u32_le_at(offset + 28, "TD header NextPointer")?);
    let eon = r.u32_le_at(offset, "TD header word 0")? & HEADER_EON_BIT != 0;
    let mut limit = stream.len() as u64;
    if !eon && next_pointer > offset && next_pointer < limit {
        limit = next_pointer;
    }
    let mut pos = offset + header_bytes;
    while pos + 4 <= limit {
        let word = r.u32_le_at(pos, "register-write command")?;
        if word == 0 {
            break;
        }
        let count = (word >> 26) + 1;
        let address = word & 0x03FF_FFFF;
        let last = address.saturating_add(4 * (count - 1));
        let plausible =
            count <= MAX_COUNT && map.block_of(address).is_some_and(|b| b.contains(last));
        let end = pos + 4 + 4 * u64::from(count);
        if !plausible || end > limit {
            break;
        }
        pos = end;
    }
    if pos == offset + header_bytes {
        let word = r.u32_le_at(pos, "register-write command").unwrap_or(0);
        return Err(TdError::NoCommands { offset: pos, word });
    }
    Ok(pos.min(limit) - offset)
}

/// Replace the bytes of `td` inside `file`, where the TD stream starts at `stream_offset`.
/// Returns a new byte vector; nothing outside the TD changes.
pub fn patch_file(file: &[u8], stream_offset: u64, td: &Td) -> Result<Vec<u8>, TdError> {
    let bytes = td.encode();
    let start = stream_offset + td.offset;
    let target = Reader::new(file).slice_at(start, bytes.len() as u64, "patched TD")?;
    debug_assert_eq!(target.len(), bytes.len());
    let mut out = file.to_vec();
    let start = usize::try_from(start).map_err(|_| TdError::Chain {
        offset: start,
        reason: "offset does not fit in memory".into(),
    })?;
    if let Some(dst) = out.get_mut(start..start + bytes.len()) {
        dst.copy_from_slice(&bytes);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(ws: &[u32]) -> Vec<u8> {
        ws.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    #[test]
    fn command_word_layout() {
        // Header of 10 zero words, then "write 2 registers at 0x13800".
        let mut ws = vec![0u32; 10];
        ws.extend([0x0401_3800, 0xAA, 0xBB]);
        let td = decode_td(&words(&ws), Generation::H13).unwrap();
        assert_eq!(td.commands.len(), 1);
        assert_eq!(td.commands[0].address, 0x13800);
        assert_eq!(td.commands[0].values, vec![0xAA, 0xBB]);
        assert_eq!(td.commands[0].offset, 0x28);
        assert_eq!(td.encode(), words(&ws));
    }

    #[test]
    fn overrun_reports_offset() {
        let mut ws = vec![0u32; 10];
        ws.extend([0x0801_3800, 1]); // 3 registers announced, 1 present
        let err = decode_td(&words(&ws), Generation::H13).unwrap_err();
        assert!(
            matches!(
                err,
                TdError::CommandOverrun {
                    offset: 0x28,
                    count: 3,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn set_checks_width_and_changes_one_word() {
        let mut ws = vec![0u32; 10];
        ws[9] = 0x21;
        let mut td = decode_td(&words(&ws), Generation::H13).unwrap();
        let change = td.set("Header.KBase0", 6).unwrap();
        assert_eq!((change.old, change.new), (1, 6));
        assert_eq!((change.old_word, change.new_word), (0x21, 0x26));
        assert_eq!(change.word_offset, 0x24);
        assert!(matches!(
            td.set("Header.KBase0", 32),
            Err(TdError::ValueTooWide {
                width: 5,
                max: 31,
                ..
            })
        ));
        assert!(matches!(
            td.set("Common.InDim.Win", 1),
            Err(TdError::NotWritten { .. })
        ));
        assert!(matches!(td.set("Nope.X", 1), Err(TdError::UnknownField(_))));
    }
}
