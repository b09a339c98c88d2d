//! A program's TD stream, found in whichever file holds it: an .hwx (Mach-O), a headerless
//! eiln `.anec` payload (TD microcode then kernel bytes, H13), or one of eiln's m1n1 TD
//! template arrays (`.npy`, one u32 TD word per int64 element, H13).

use anekit_core::TensorData;
use anekit_core::npy::{NpyError, read_npy};
use serde::Serialize;

use crate::container::{Hwx, HwxError};
use crate::regmap::Generation;
use crate::td::{FieldChange, Td, TdError, decode_stream, patch_file};

/// What kind of file the stream came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    Hwx,
    /// Headerless eiln payload: TDs from byte 0; assumed H13 (the only generation eiln targets).
    AnecPayload,
    /// NumPy array of TD words; offsets refer to the words packed as LE u32 bytes.
    NpyTemplate,
}

#[derive(Debug, thiserror::Error)]
pub enum ProgramError {
    #[error(transparent)]
    Hwx(#[from] HwxError),
    #[error(transparent)]
    Td(#[from] TdError),
    #[error(transparent)]
    Npy(#[from] NpyError),
    #[error(".hwx has cpusubtype {0}, which names no known ANE generation")]
    UnknownGeneration(u32),
    #[error(".hwx has no __TEXT,__text section (expected the TDs there)")]
    NoText,
    #[error("npy template must hold integer TD words (got another element type)")]
    NpyType,
    #[error("npy template element {index} = {value} is not a u32 TD word")]
    NpyWord { index: usize, value: i128 },
    #[error("TD {index} does not exist: the program has {count} TD(s)")]
    NoSuchTd { index: usize, count: usize },
    #[error("patching needs the TD bytes in the file; {0:?} files store them re-encoded")]
    NotPatchable(SourceKind),
}

/// A decoded TD stream and where it sits in its file.
#[derive(Debug, Clone)]
pub struct Program {
    pub kind: SourceKind,
    pub generation: Generation,
    /// True when the generation's register map is provisional.
    pub provisional: bool,
    /// File offset of the stream's first byte (TD offsets are relative to it).
    pub stream_offset: u64,
    pub tds: Vec<Td>,
    /// What the container binds to base-address slots (.hwx: tensor names from LC_LOADFVMLIB,
    /// `__const` for the kernel section), for naming the slots TD headers select.
    pub slot_names: Vec<(u32, String)>,
}

const HWX_MAGICS: [[u8; 4]; 2] = [[0xCE, 0xFA, 0xEF, 0xBE], [0xCF, 0xFA, 0xED, 0xFE]];
const NPY_MAGIC: &[u8] = b"\x93NUMPY";

/// Find and decode the TD stream in `bytes`.
pub fn load_program(bytes: &[u8]) -> Result<Program, ProgramError> {
    let head = bytes.get(..4);
    if head.is_some_and(|h| HWX_MAGICS.iter().any(|m| m == h)) {
        return load_hwx(bytes);
    }
    if bytes.starts_with(NPY_MAGIC) {
        let stream = npy_words(bytes)?;
        return finish(SourceKind::NpyTemplate, Generation::H13, 0, &stream, None);
    }
    finish(SourceKind::AnecPayload, Generation::H13, 0, bytes, None)
}

fn load_hwx(bytes: &[u8]) -> Result<Program, ProgramError> {
    let hwx = Hwx::parse(bytes)?;
    let generation = hwx
        .generation()
        .ok_or(ProgramError::UnknownGeneration(hwx.header.cpusubtype))?;
    let text = hwx.text().ok_or(ProgramError::NoText)?;
    let offset = u64::from(text.offset);
    let stream = hwx.text_bytes()?;
    let mut program = finish(
        SourceKind::Hwx,
        generation,
        offset,
        stream,
        hwx.td_size().map(u64::from),
    )?;
    let table = hwx.slot_table.as_ref();
    let mut names: Vec<(u32, String)> = Vec::new();
    let sections = [(hwx.text(), "__text"), (hwx.const_section(), "__const")];
    for (section, name) in sections {
        let slot = table.zip(section).and_then(|(t, s)| t.slot_of(s.addr));
        if let Some(slot) = slot {
            names.push((u32::from(slot), name.into()));
        }
    }
    for t in &hwx.tensors {
        if let Some(slot) = t.slot {
            names.push((u32::from(slot), t.name.clone()));
        }
    }
    program.slot_names = names;
    Ok(program)
}

fn finish(
    kind: SourceKind,
    generation: Generation,
    stream_offset: u64,
    stream: &[u8],
    first_size: Option<u64>,
) -> Result<Program, ProgramError> {
    let map = crate::td::map_for(generation)?;
    let tds = decode_stream(stream, generation, first_size)
        .map_err(|e| shift_offsets(e, stream_offset))?;
    Ok(Program {
        kind,
        generation,
        provisional: map.provisional,
        stream_offset,
        tds,
        slot_names: Vec::new(),
    })
}

/// Make stream-relative offsets in an error file-relative.
fn shift_offsets(err: TdError, by: u64) -> TdError {
    match err {
        TdError::Read(mut e) => {
            e.offset += by;
            TdError::Read(e)
        }
        TdError::CommandOverrun {
            offset,
            word,
            count,
            needed,
            available,
        } => TdError::CommandOverrun {
            offset: offset + by,
            word,
            count,
            needed,
            available,
        },
        TdError::TooShort {
            offset,
            len,
            header_bytes,
        } => TdError::TooShort {
            offset: offset + by,
            len,
            header_bytes,
        },
        TdError::NoCommands { offset, word } => TdError::NoCommands {
            offset: offset + by,
            word,
        },
        TdError::Chain { offset, reason } => TdError::Chain {
            offset: offset + by,
            reason,
        },
        other => other,
    }
}

fn npy_words(bytes: &[u8]) -> Result<Vec<u8>, ProgramError> {
    let array = read_npy(bytes)?;
    let values: Vec<i128> = match &array.data {
        TensorData::I64(v) => v.iter().map(|&x| i128::from(x)).collect(),
        TensorData::U64(v) => v.iter().map(|&x| i128::from(x)).collect(),
        TensorData::I32(v) => v.iter().map(|&x| i128::from(x)).collect(),
        TensorData::U32(v) => v.iter().map(|&x| i128::from(x)).collect(),
        _ => return Err(ProgramError::NpyType),
    };
    let mut out = Vec::with_capacity(values.len() * 4);
    for (index, value) in values.into_iter().enumerate() {
        let word = u32::try_from(value).map_err(|_| ProgramError::NpyWord { index, value })?;
        out.extend_from_slice(&word.to_le_bytes());
    }
    Ok(out)
}

impl Program {
    /// TD `index`, or the error naming how many there are.
    pub fn td(&self, index: usize) -> Result<&Td, ProgramError> {
        self.tds.get(index).ok_or(ProgramError::NoSuchTd {
            index,
            count: self.tds.len(),
        })
    }

    /// A copy of `file` with TD `index` changed by `sets` (`(field, value)` pairs, applied in
    /// order). Only the bytes of the changed words differ from `file`.
    pub fn patch(
        &self,
        file: &[u8],
        index: usize,
        sets: &[(String, u64)],
    ) -> Result<(Vec<u8>, Vec<FieldChange>), ProgramError> {
        if self.kind == SourceKind::NpyTemplate {
            return Err(ProgramError::NotPatchable(self.kind));
        }
        let mut td = self.td(index)?.clone();
        let mut changes = Vec::with_capacity(sets.len());
        for (name, value) in sets {
            let mut change = td.set(name, *value)?;
            change.word_offset += self.stream_offset;
            changes.push(change);
        }
        let out = patch_file(file, self.stream_offset, &td)?;
        Ok((out, changes))
    }
}
