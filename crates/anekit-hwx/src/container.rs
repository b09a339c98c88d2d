//! The `.hwx` container: a Mach-O variant written by Apple's ANE compiler.
//!
//! Layout facts are from `reference/hwx-td.md` §1 (verified on the 17 staged tinygrad files).
//!
//! Parsed by hand on [`anekit_core::Reader`] rather than with the `object` crate: the magic is
//! `0xBEEFFACE`, which `object` rejects, and the pieces that carry meaning here (LC_LOADFVMLIB
//! tensor names, LC_THREAD flavors 1 and 3, stabs tensor strings) are outside what its Mach-O
//! reader interprets. Every read is bounds-checked; counts from the file are checked against
//! the bytes actually present before anything is allocated.
//!
//! Entry point: [`Hwx::parse`]. What the task-descriptor side needs: [`Hwx::generation`],
//! [`Hwx::text`] / [`Hwx::text_bytes`], [`Hwx::td_count`], [`Hwx::td_size`],
//! [`Hwx::td_stride`], [`Hwx::tensors`] (the bindings of tensors to base-address slots).

use anekit_core::{DType, ReadError, Reader};
use serde::Serialize;
use std::fmt;

/// The magic every ANE compiler output starts with (bytes `CE FA EF BE`).
pub const HWX_MAGIC: u32 = 0xBEEF_FACE;
/// The ordinary 64-bit Mach-O magic; freedomtan's parser accepts it too, so do we.
pub const MH_MAGIC_64: u32 = 0xFEED_FACF;

/// Load command numbers that appear in `.hwx` files.
pub const LC_SYMTAB: u32 = 0x2;
pub const LC_THREAD: u32 = 0x4;
pub const LC_LOADFVMLIB: u32 = 0x6;
pub const LC_IDENT: u32 = 0x8;
pub const LC_SEGMENT_64: u32 = 0x19;

const HEADER_SIZE: u64 = 32;
const SEGMENT_COMMAND_SIZE: u64 = 72;
const SECTION_SIZE: u64 = 80;
const NLIST_SIZE: u64 = 16;
const RELOC_SIZE: u64 = 8;
/// Number of base-address slots a TD can name (5-bit slot fields, §2.1; 32 BAR slots, §8.4).
pub const SLOT_COUNT: usize = 32;

/// Errors from [`Hwx::parse`]. Each names the byte offset where the input went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HwxError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(
        "byte offset 0x0: magic {found:#010x} is neither 0xBEEFFACE (hwx) nor 0xFEEDFACF (Mach-O 64)"
    )]
    BadMagic { found: u32 },
    #[error(
        "byte offset {offset:#x}: ncmds {ncmds} cannot fit in sizeofcmds {sizeofcmds} (8 bytes per command at least)"
    )]
    TooManyCommands {
        offset: u64,
        ncmds: u32,
        sizeofcmds: u32,
    },
    #[error(
        "byte offset {offset:#x}: load command {index} has cmdsize {cmdsize}; expected a multiple of 4, at least {min}, within sizeofcmds"
    )]
    BadCommandSize {
        offset: u64,
        index: u32,
        cmdsize: u32,
        min: u64,
    },
    #[error(
        "byte offset {offset:#x}: segment declares {nsects} sections, but its cmdsize {cmdsize} holds at most {max}"
    )]
    TooManySections {
        offset: u64,
        nsects: u32,
        cmdsize: u32,
        max: u64,
    },
    #[error(
        "byte offset {offset:#x}: thread state count {count} words does not fit in cmdsize {cmdsize}"
    )]
    BadThreadCount {
        offset: u64,
        count: u32,
        cmdsize: u32,
    },
    #[error("byte offset {offset:#x}: {what}: expected a NUL-terminated UTF-8 string")]
    BadString { offset: u64, what: &'static str },
    #[error(
        "byte offset {offset:#x}: stabs tensor string {text:?}: expected `name:tN=ar1;0;COUNT;M=sSTRIDEx:...:TYPE` ({why})"
    )]
    BadStabs {
        offset: u64,
        text: String,
        why: &'static str,
    },
    #[error(
        "byte offset {offset:#x}: {what}: names and copies would exceed {budget} bytes (4× the input); refusing a file built to exhaust memory"
    )]
    TooMuchOutput {
        offset: u64,
        what: &'static str,
        budget: u64,
    },
}

/// ANE hardware generation, from the header's cpusubtype (§1.1, §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Generation {
    H11,
    H12,
    H13,
    H14,
    H15,
    H16,
    H17,
    H18,
}

impl Generation {
    /// 1 = H11, 3 = H12, 4 = H13 (the only one seen in real bytes), 5 = H14, 6 = H15, 7 = H16,
    /// 9 = H17, 10 = H18. The values above 4 come from freedomtan's tables [unverified].
    pub fn from_cpusubtype(cpusubtype: u32) -> Option<Generation> {
        Some(match cpusubtype {
            1 => Generation::H11,
            3 => Generation::H12,
            4 => Generation::H13,
            5 => Generation::H14,
            6 => Generation::H15,
            7 => Generation::H16,
            9 => Generation::H17,
            10 => Generation::H18,
            _ => return None,
        })
    }

    /// Lower-case name as Apple's tools spell it (`h13`).
    pub fn name(self) -> &'static str {
        match self {
            Generation::H11 => "h11",
            Generation::H12 => "h12",
            Generation::H13 => "h13",
            Generation::H14 => "h14",
            Generation::H15 => "h15",
            Generation::H16 => "h16",
            Generation::H17 => "h17",
            Generation::H18 => "h18",
        }
    }

    /// True when the mapping from cpusubtype has been checked against real files (H13 only).
    pub fn is_verified(self) -> bool {
        self == Generation::H13
    }
}

impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name().to_uppercase())
    }
}

/// The 32-byte header (`mach_header_64` layout, little-endian).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Header {
    pub magic: u32,
    pub cputype: u32,
    pub cpusubtype: u32,
    /// `None` when cpusubtype is not in the known table.
    pub generation: Option<Generation>,
    pub filetype: u32,
    pub ncmds: u32,
    pub sizeofcmds: u32,
    pub flags: u32,
    pub reserved: u32,
}

/// One load command in file order, with its position; the typed views are in [`Hwx`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadCommand<'a> {
    pub index: u32,
    pub cmd: u32,
    pub cmdsize: u32,
    /// File offset of the command.
    pub offset: u64,
    /// The whole command, header included (kept raw so unknown commands survive).
    #[serde(skip)]
    pub raw: &'a [u8],
}

impl LoadCommand<'_> {
    /// Conventional name of the command (`LC_SEGMENT_64`, ...), or `None` when unknown.
    pub fn name(&self) -> Option<&'static str> {
        Some(match self.cmd {
            LC_SYMTAB => "LC_SYMTAB",
            LC_THREAD => "LC_THREAD",
            LC_LOADFVMLIB => "LC_LOADFVMLIB",
            LC_IDENT => "LC_IDENT",
            LC_SEGMENT_64 => "LC_SEGMENT_64",
            _ => return None,
        })
    }
}

/// An LC_SEGMENT_64 command and its sections.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Segment {
    /// Index of the load command.
    pub command_index: u32,
    pub name: String,
    pub vmaddr: u64,
    pub vmsize: u64,
    pub fileoff: u64,
    pub filesize: u64,
    pub maxprot: u32,
    pub initprot: u32,
    pub flags: u32,
    pub sections: Vec<Section>,
}

/// A section of a segment. `index` is the 1-based Mach-O section number that symbols'
/// `n_sect` refers to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Section {
    pub index: u8,
    pub segname: String,
    pub sectname: String,
    pub addr: u64,
    pub size: u64,
    /// File offset of the bytes; 0 for `__FVMLIB` sections, which have no bytes in the file.
    pub offset: u32,
    /// Alignment as a power of two.
    pub align: u32,
    pub reloff: u32,
    pub nreloc: u32,
    /// Flags; the low byte is not a standard Mach-O section type (0x28, 0x26, 0x21, 0x23 seen)
    /// and is kept opaque.
    pub flags: u32,
}

/// What a `__FVMLIB` segment holds, from its protections (§1.3; intermediates per eiln/anecc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TensorRole {
    /// maxprot = initprot = 1 (read).
    Input,
    /// maxprot = initprot = 2 (write).
    Output,
    /// maxprot = initprot = 3 (read/write) [source: eiln/anecc, no staged file has one].
    Intermediate,
    /// Any other protection pair.
    Unknown,
}

impl TensorRole {
    fn from_prot(maxprot: u32, initprot: u32) -> TensorRole {
        match (maxprot, initprot) {
            (1, 1) => TensorRole::Input,
            (2, 2) => TensorRole::Output,
            (3, 3) => TensorRole::Intermediate,
            _ => TensorRole::Unknown,
        }
    }
}

impl fmt::Display for TensorRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TensorRole::Input => "input",
            TensorRole::Output => "output",
            TensorRole::Intermediate => "intermediate",
            TensorRole::Unknown => "unknown",
        })
    }
}

/// An LC_LOADFVMLIB command: names the tensor whose `__FVMLIB` segment starts at `header_addr`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FvmLib {
    pub command_index: u32,
    pub name: String,
    pub minor_version: u32,
    pub header_addr: u32,
}

/// LC_THREAD flavor 1: the base-address slot table (§1.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlotTable {
    pub command_index: u32,
    /// File offset of the first state word.
    pub words_offset: u64,
    /// Slot `i` = the u64 at words 2i, 2i+1; 0 = unused.
    pub slots: Vec<u64>,
    /// All state words, raw (532 in v4.2.1 output).
    pub words: Vec<u32>,
    /// The string after the state (the network name, `net`).
    pub network_name: Option<String>,
}

impl SlotTable {
    /// Word 515: number of TDs [verified on all staged files].
    pub fn td_count(&self) -> Option<u32> {
        self.words.get(515).copied()
    }

    /// Word 514 (0x9C in v4.2.1 output): first TD size in bytes / 4 − 1. Its meaning is a guess
    /// (it matches the TD header's NextSize) [unverified].
    pub fn td_size_words_minus_one(&self) -> Option<u32> {
        self.words.get(514).copied()
    }

    /// Slot number holding `addr`, if any.
    pub fn slot_of(&self, addr: u64) -> Option<u8> {
        if addr == 0 {
            return None;
        }
        self.slots
            .iter()
            .position(|&a| a == addr)
            .and_then(|i| u8::try_from(i).ok())
    }
}

/// LC_THREAD flavor 3: one per tensor (§1.6). Word names after the first two are guesses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TensorDescriptor {
    pub command_index: u32,
    /// Word 1: 1 = input, 2 = output.
    pub direction: u32,
    /// Name at the offset in word 4.
    pub name: String,
    /// Network name at the offset in word 2.
    pub network_name: String,
    /// Word 5: stabs element type number (5 = float16).
    pub element_type: u32,
    /// Words 6–10 ([1, C, 1, W, 1] in all staged files; which 1 is N, H or D is unknown).
    pub dims: [u32; 5],
    /// Words 16–17: buffer bytes.
    pub buffer_size: u64,
    /// Words 18–19: row stride in bytes.
    pub row_stride: u64,
    /// Words 20–21: plane stride in bytes.
    pub plane_stride: u64,
    /// Words 22–23: element size in bytes (guess).
    pub element_size: u64,
    /// Words 24–25: same as buffer size in staged files (guess: batch stride).
    pub batch_stride: u64,
    /// Word 28: buffer bytes (inputs) or the end of the last valid element (outputs).
    pub extent: u32,
    /// All 30 (or however many) state words, raw.
    pub words: Vec<u32>,
}

/// One `nlist_64` symbol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Symbol {
    pub name: String,
    pub n_type: u8,
    pub n_sect: u8,
    pub n_desc: u16,
    pub n_value: u64,
}

impl Symbol {
    /// N_STAB bits set (0xE0): a debugger entry (type definitions, tensor layouts).
    pub fn is_stab(&self) -> bool {
        self.n_type & 0xE0 != 0
    }
}

/// A kernel (weights) symbol `K<hash>[_ne_<i>]` in `__TEXT,__const` (§1.7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KernelSymbol {
    pub name: String,
    /// The 64 hex digits after `K` (meaning unknown: not a SHA-256 of the weights).
    pub hash: String,
    /// The `_ne_<i>` channel, absent for a single unsuffixed LUT symbol.
    pub channel: Option<u32>,
    pub addr: u64,
    /// Offset inside `__TEXT,__const`.
    pub const_offset: u64,
}

/// One dimension of a stabs tensor layout: `ar1;0;COUNT;T=sSTRIDE<letter>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StabsDim {
    /// `n`, `c`, `h`, `w` (or whatever letter the compiler wrote).
    pub letter: char,
    /// Element count (the `0;K` bound is a count, not an inclusive bound: §1.7).
    pub count: u64,
    /// Byte stride of one step along this dimension.
    pub stride: u64,
}

/// A stabs N_GSYM tensor layout string decoded (§1.7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TensorLayout {
    pub name: String,
    pub dims: Vec<StabsDim>,
    /// Stabs type number of the element (5 = float16).
    pub element_type: u32,
    /// Name of that type from the stabs type definitions (`float16`), if defined.
    pub element_type_name: Option<String>,
    /// The same as an anekit dtype, where one corresponds.
    pub dtype: Option<DType>,
}

impl TensorLayout {
    fn dim(&self, letter: char) -> Option<&StabsDim> {
        self.dims.iter().find(|d| d.letter == letter)
    }
    /// (count, stride) of dimension `letter`, 1 and 0 when absent.
    fn count_of(&self, letter: char) -> u64 {
        self.dim(letter).map_or(1, |d| d.count)
    }
    pub fn n(&self) -> u64 {
        self.count_of('n')
    }
    pub fn c(&self) -> u64 {
        self.count_of('c')
    }
    pub fn h(&self) -> u64 {
        self.count_of('h')
    }
    pub fn w(&self) -> u64 {
        self.count_of('w')
    }
    /// Byte stride between planes (channels).
    pub fn plane_stride(&self) -> Option<u64> {
        self.dim('c').map(|d| d.stride)
    }
    /// Byte stride between rows.
    pub fn row_stride(&self) -> Option<u64> {
        self.dim('h').map(|d| d.stride)
    }
}

/// A relocation entry on a section (`relocation_info`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Relocation {
    /// Index of the section (in [`Hwx::sections`]) the relocation applies to.
    pub section: u8,
    /// Byte offset inside that section (for `__text`: TD stream offset of the patched word).
    pub r_address: i32,
    pub symbolnum: u32,
    pub pcrel: bool,
    /// log2 of the patched width in bytes.
    pub length: u8,
    pub is_extern: bool,
    pub r_type: u8,
    /// File offset of the patched word.
    pub file_offset: u64,
    /// The 32-bit value stored in the file at the patched word (for kernel bases: the offset
    /// inside `__TEXT,__const`).
    pub stored_value: Option<u32>,
    /// The kernel symbol whose block the stored value points at.
    pub target_symbol: Option<String>,
}

impl Relocation {
    /// For H13 `__text` relocations: (TD index, kernel-DMA channel) of the patched
    /// `KernelDMASrc.CoeffBaseAddr[i]` word (TD offset 0x74 + 4·i, §1.7) given the TD stride.
    pub fn kernel_channel(&self, td_stride: u64) -> Option<(u64, u32)> {
        let addr = u64::try_from(self.r_address).ok()?;
        let td = addr.checked_div(td_stride)?;
        let within = addr.checked_rem(td_stride)?;
        if !(0x74..0x74 + 4 * 16).contains(&within) || !within.is_multiple_of(4) {
            return None;
        }
        Some((td, u32::try_from((within - 0x74) / 4).ok()?))
    }
}

/// LC_IDENT text: compiler banner and command line (§1.8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ident {
    /// The whole text up to the first NUL.
    pub text: String,
    /// First line (`ANEC v1`).
    pub format: Option<String>,
    /// `zin_ane_compiler v4.2.1` line.
    pub compiler: Option<String>,
    /// The version after ` v` in the compiler line (`4.2.1`).
    pub compiler_version: Option<String>,
    /// Remaining lines, trimmed (`-t h13`, `--fdram-allocator=ffreuse`, ...).
    pub options: Vec<String>,
}

impl Ident {
    fn parse(text: &str) -> Ident {
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        let format = lines.next().map(str::to_string);
        let compiler = lines.next().map(str::to_string);
        let compiler_version = compiler
            .as_deref()
            .and_then(|c| c.rsplit_once(" v"))
            .map(|(_, v)| v.to_string());
        Ident {
            text: text.to_string(),
            format,
            compiler,
            compiler_version,
            options: lines.map(str::to_string).collect(),
        }
    }

    /// Value of the `-t` option (target architecture, `h13`).
    pub fn target(&self) -> Option<&str> {
        self.options.iter().find_map(|o| o.strip_prefix("-t "))
    }
}

/// LC_SYMTAB fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SymtabCommand {
    pub symoff: u32,
    pub nsyms: u32,
    pub stroff: u32,
    pub strsize: u32,
}

/// A tensor binding: one `__FVMLIB` segment joined with everything else that describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TensorBinding {
    /// From LC_LOADFVMLIB (or the I/O symbol); empty when neither names it.
    pub name: String,
    pub role: TensorRole,
    /// Segment address (what the slot table and the I/O symbol hold).
    pub vmaddr: u64,
    /// Segment size (tensor bytes rounded up to 0x4000).
    pub vmsize: u64,
    /// Section size: the tensor's bytes.
    pub size: u64,
    /// The base-address slot (LC_THREAD flavor 1) that holds `vmaddr`: what the TD header's
    /// RBase/WBase/KBase fields select.
    pub slot: Option<u8>,
    /// Index of the segment in [`Hwx::segments`].
    pub segment_index: usize,
    /// Decoded stabs layout of the same name.
    pub layout: Option<TensorLayout>,
    /// Flavor-3 descriptor of the same name.
    pub descriptor: Option<TensorDescriptor>,
}

/// A parsed `.hwx` file. Borrowed from the input bytes.
#[derive(Debug, Clone, Serialize)]
pub struct Hwx<'a> {
    #[serde(skip)]
    data: &'a [u8],
    pub header: Header,
    pub load_commands: Vec<LoadCommand<'a>>,
    pub segments: Vec<Segment>,
    pub fvmlibs: Vec<FvmLib>,
    pub slot_table: Option<SlotTable>,
    pub tensor_descriptors: Vec<TensorDescriptor>,
    pub ident: Option<Ident>,
    pub symtab: Option<SymtabCommand>,
    pub symbols: Vec<Symbol>,
    pub kernel_symbols: Vec<KernelSymbol>,
    pub layouts: Vec<TensorLayout>,
    pub relocations: Vec<Relocation>,
    pub tensors: Vec<TensorBinding>,
    /// Bytes still allowed for copied names and bindings: strings may be shared by many
    /// symbols, so copying them is bounded separately from the input size.
    #[serde(skip)]
    copy_budget: u64,
}

fn fixed_name(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(bytes.get(..end).unwrap_or_default()).into_owned()
}

/// NUL-terminated string at `offset` inside `within` (whose first byte is at file offset
/// `base`).
fn c_string(within: &[u8], offset: u64, base: u64, what: &'static str) -> Result<String, HwxError> {
    let err = HwxError::BadString {
        offset: base.saturating_add(offset),
        what,
    };
    let start = usize::try_from(offset).map_err(|_| err.clone())?;
    let tail = within.get(start..).ok_or_else(|| err.clone())?;
    let len = tail
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| err.clone())?;
    let s = tail.get(..len).ok_or_else(|| err.clone())?;
    std::str::from_utf8(s).map(str::to_string).map_err(|_| err)
}

impl<'a> Hwx<'a> {
    /// Parse a `.hwx` file.
    pub fn parse(data: &'a [u8]) -> Result<Hwx<'a>, HwxError> {
        let file = Reader::new(data);
        let mut r = file;
        let magic = r.u32_le("hwx magic")?;
        if magic != HWX_MAGIC && magic != MH_MAGIC_64 {
            return Err(HwxError::BadMagic { found: magic });
        }
        let cputype = r.u32_le("cputype")?;
        let cpusubtype = r.u32_le("cpusubtype")?;
        let filetype = r.u32_le("filetype")?;
        let ncmds = r.u32_le("ncmds")?;
        let sizeofcmds = r.u32_le("sizeofcmds")?;
        let flags = r.u32_le("flags")?;
        let reserved = r.u32_le("reserved")?;
        let header = Header {
            magic,
            cputype,
            cpusubtype,
            generation: Generation::from_cpusubtype(cpusubtype),
            filetype,
            ncmds,
            sizeofcmds,
            flags,
            reserved,
        };
        let cmds = file.sub(HEADER_SIZE, u64::from(sizeofcmds), "load commands")?;
        if u64::from(ncmds) * 8 > u64::from(sizeofcmds) {
            return Err(HwxError::TooManyCommands {
                offset: 0x10,
                ncmds,
                sizeofcmds,
            });
        }

        let mut hwx = Hwx {
            data,
            header,
            load_commands: Vec::with_capacity(ncmds as usize),
            segments: Vec::new(),
            fvmlibs: Vec::new(),
            slot_table: None,
            tensor_descriptors: Vec::new(),
            ident: None,
            symtab: None,
            symbols: Vec::new(),
            kernel_symbols: Vec::new(),
            layouts: Vec::new(),
            relocations: Vec::new(),
            tensors: Vec::new(),
            copy_budget: (data.len() as u64)
                .saturating_mul(4)
                .saturating_add(1 << 16),
        };

        let mut pos: u64 = 0;
        let mut section_count: u8 = 0;
        for index in 0..ncmds {
            let offset = HEADER_SIZE + pos;
            let cmd = cmds.u32_le_at(pos, "load command cmd")?;
            let cmdsize = cmds.u32_le_at(pos + 4, "load command cmdsize")?;
            let min = match cmd {
                LC_SEGMENT_64 => SEGMENT_COMMAND_SIZE,
                LC_SYMTAB => 24,
                LC_LOADFVMLIB => 20,
                LC_THREAD => 16,
                _ => 8,
            };
            if u64::from(cmdsize) < min
                || !cmdsize.is_multiple_of(4)
                || pos + u64::from(cmdsize) > u64::from(sizeofcmds)
            {
                return Err(HwxError::BadCommandSize {
                    offset,
                    index,
                    cmdsize,
                    min,
                });
            }
            let body = file.sub(offset, u64::from(cmdsize), "load command")?;
            let raw = body.data();
            hwx.load_commands.push(LoadCommand {
                index,
                cmd,
                cmdsize,
                offset,
                raw,
            });
            match cmd {
                LC_SEGMENT_64 => {
                    let seg = parse_segment(body, offset, index, &mut section_count)?;
                    hwx.segments.push(seg);
                }
                LC_LOADFVMLIB => {
                    let name_off = body.u32_le_at(8, "fvmlib name offset")?;
                    let minor_version = body.u32_le_at(12, "fvmlib minor version")?;
                    let header_addr = body.u32_le_at(16, "fvmlib header address")?;
                    let name = c_string(raw, u64::from(name_off), offset, "LC_LOADFVMLIB name")?;
                    hwx.fvmlibs.push(FvmLib {
                        command_index: index,
                        name,
                        minor_version,
                        header_addr,
                    });
                }
                LC_THREAD => parse_thread(&mut hwx, body, offset, index, cmdsize)?,
                LC_IDENT => {
                    let text = raw.get(8..).unwrap_or_default();
                    let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
                    let text = String::from_utf8_lossy(text.get(..end).unwrap_or_default());
                    hwx.ident = Some(Ident::parse(&text));
                }
                LC_SYMTAB => {
                    hwx.symtab = Some(SymtabCommand {
                        symoff: body.u32_le_at(8, "symoff")?,
                        nsyms: body.u32_le_at(12, "nsyms")?,
                        stroff: body.u32_le_at(16, "stroff")?,
                        strsize: body.u32_le_at(20, "strsize")?,
                    });
                }
                _ => {}
            }
            pos += u64::from(cmdsize);
        }

        if let Some(symtab) = hwx.symtab {
            hwx.parse_symbols(file, symtab)?;
        }
        hwx.parse_relocations(file)?;
        hwx.bind_tensors()?;
        Ok(hwx)
    }

    /// The input bytes.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// The ANE generation from cpusubtype, if known.
    pub fn generation(&self) -> Option<Generation> {
        self.header.generation
    }

    /// All sections of all segments in Mach-O numbering order (section `index` = position + 1).
    pub fn sections(&self) -> impl Iterator<Item = &Section> {
        self.segments.iter().flat_map(|s| s.sections.iter())
    }

    /// The section `segname,sectname`.
    pub fn section(&self, segname: &str, sectname: &str) -> Option<&Section> {
        self.sections()
            .find(|s| s.segname == segname && s.sectname == sectname)
    }

    /// `__TEXT,__text`: the task descriptors.
    pub fn text(&self) -> Option<&Section> {
        self.section("__TEXT", "__text")
    }

    /// `__TEXT,__const`: kernel (weight / LUT) bytes.
    pub fn const_section(&self) -> Option<&Section> {
        self.section("__TEXT", "__const")
    }

    /// File bytes of a section (empty for `__FVMLIB` sections, which have none).
    pub fn section_bytes(&self, section: &Section) -> Result<&'a [u8], HwxError> {
        if section.offset == 0 {
            return Ok(&[]);
        }
        Ok(Reader::new(self.data).slice_at(
            u64::from(section.offset),
            section.size,
            "section bytes",
        )?)
    }

    /// Bytes of `__TEXT,__text` (all TDs, back to back on their stride).
    pub fn text_bytes(&self) -> Result<&'a [u8], HwxError> {
        match self.text() {
            Some(s) => self.section_bytes(s),
            None => Ok(&[]),
        }
    }

    /// TD count from the flavor-1 thread command (word 515).
    pub fn td_count(&self) -> Option<u32> {
        self.slot_table.as_ref().and_then(SlotTable::td_count)
    }

    /// Size in bytes of the first TD, from flavor-1 word 514 as (w + 1)·4 (0x274 for v4.2.1
    /// H13 output). The word's meaning is inferred from agreement with the TD header's
    /// NextSize [unverified as a rule; the value matches on all staged files].
    pub fn td_size(&self) -> Option<u32> {
        let w = self.slot_table.as_ref()?.td_size_words_minus_one()?;
        w.checked_add(1)?.checked_mul(4)
    }

    /// Distance between consecutive TDs in `__text`, derived from the text size:
    /// (text size − td_size) / (count − 1). `None` for single-TD programs, where the stride is
    /// not observable in the container (it is 0x300 in every multi-TD H13 file seen), and when
    /// the division is not exact.
    pub fn td_stride(&self) -> Option<u64> {
        let count = u64::from(self.td_count()?);
        let size = u64::from(self.td_size()?);
        let text = self.text()?.size;
        let gaps = count.checked_sub(1).filter(|&g| g > 0)?;
        let span = text.checked_sub(size)?;
        span.is_multiple_of(gaps).then(|| span / gaps)
    }

    /// Tensors with a given role, in `__FVMLIB` segment order.
    pub fn tensors_with_role(&self, role: TensorRole) -> impl Iterator<Item = &TensorBinding> {
        self.tensors.iter().filter(move |t| t.role == role)
    }

    fn charge(&mut self, bytes: usize, offset: u64, what: &'static str) -> Result<(), HwxError> {
        let bytes = bytes as u64 + 32;
        if bytes > self.copy_budget {
            return Err(HwxError::TooMuchOutput {
                offset,
                what,
                budget: (self.data.len() as u64)
                    .saturating_mul(4)
                    .saturating_add(1 << 16),
            });
        }
        self.copy_budget -= bytes;
        Ok(())
    }

    fn parse_symbols(&mut self, file: Reader<'a>, symtab: SymtabCommand) -> Result<(), HwxError> {
        let table = file.sub(
            u64::from(symtab.symoff),
            u64::from(symtab.nsyms) * NLIST_SIZE,
            "symbol table",
        )?;
        let strings = file.sub(
            u64::from(symtab.stroff),
            u64::from(symtab.strsize),
            "string table",
        )?;
        // nsyms is bounded by the bytes just checked, so this allocation is too.
        let mut symbols = Vec::with_capacity(symtab.nsyms as usize);
        let mut r = table;
        for _ in 0..symtab.nsyms {
            let strx = r.u32_le("nlist n_strx")?;
            let n_type = r.u8("nlist n_type")?;
            let n_sect = r.u8("nlist n_sect")?;
            let n_desc = r.u16_le("nlist n_desc")?;
            let n_value = r.u64_le("nlist n_value")?;
            let name = c_string(
                strings.data(),
                u64::from(strx),
                u64::from(symtab.stroff),
                "symbol name",
            )?;
            self.charge(
                name.len(),
                u64::from(symtab.stroff) + u64::from(strx),
                "symbol name",
            )?;
            symbols.push(Symbol {
                name,
                n_type,
                n_sect,
                n_desc,
                n_value,
            });
        }

        // Stabs type definitions (`float16:t5=r1;2;0`) give names to element type numbers.
        let mut type_names: Vec<(u32, String)> = Vec::new();
        for s in symbols.iter().filter(|s| s.n_type == 0x80) {
            if let Some((name, rest)) = s.name.split_once(":t") {
                let num: String = rest.chars().take_while(char::is_ascii_digit).collect();
                if let Ok(n) = num.parse::<u32>() {
                    type_names.push((n, name.to_string()));
                }
            }
        }
        let const_addr = self.const_section().map(|s| s.addr);
        for (i, s) in symbols.iter().enumerate() {
            if s.n_type == 0x20 {
                let offset = u64::from(symtab.symoff) + i as u64 * NLIST_SIZE;
                let mut layout = parse_stabs_layout(&s.name, offset)?;
                layout.element_type_name = type_names
                    .iter()
                    .find(|(n, _)| *n == layout.element_type)
                    .map(|(_, name)| name.clone());
                layout.dtype = layout.element_type_name.as_deref().and_then(stabs_dtype);
                self.layouts.push(layout);
            } else if !s.is_stab()
                && let Some(rest) = s.name.strip_prefix('K')
            {
                let (hash, channel) = match rest.split_once("_ne_") {
                    Some((h, c)) => (h, c.parse::<u32>().ok()),
                    None => (rest, None),
                };
                if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                    self.kernel_symbols.push(KernelSymbol {
                        name: s.name.clone(),
                        hash: hash.to_string(),
                        channel,
                        addr: s.n_value,
                        const_offset: const_addr
                            .and_then(|a| s.n_value.checked_sub(a))
                            .unwrap_or(0),
                    });
                }
            }
        }
        self.symbols = symbols;
        Ok(())
    }

    fn parse_relocations(&mut self, file: Reader<'a>) -> Result<(), HwxError> {
        let sections: Vec<(u8, u32, u32, u32)> = self
            .sections()
            .filter(|s| s.nreloc > 0)
            .map(|s| (s.index, s.reloff, s.nreloc, s.offset))
            .collect();
        let const_addr = self.const_section().map(|s| s.addr);
        for (section, reloff, nreloc, sect_offset) in sections {
            let mut r = file.sub(
                u64::from(reloff),
                u64::from(nreloc) * RELOC_SIZE,
                "relocation entries",
            )?;
            for _ in 0..nreloc {
                let r_address = r.i32_le("relocation r_address")?;
                let info = r.u32_le("relocation info")?;
                let file_offset =
                    u64::from(sect_offset).saturating_add_signed(i64::from(r_address));
                let stored_value = file.u32_le_at(file_offset, "relocated word").ok();
                let target_symbol = match (stored_value, const_addr) {
                    (Some(v), Some(base)) => self
                        .kernel_symbols
                        .iter()
                        .find(|k| k.addr == base + u64::from(v))
                        .map(|k| k.name.clone()),
                    _ => None,
                };
                let target_len = target_symbol.as_ref().map_or(0, String::len);
                self.charge(target_len, u64::from(reloff), "relocation targets")?;
                self.relocations.push(Relocation {
                    section,
                    r_address,
                    symbolnum: info & 0x00FF_FFFF,
                    pcrel: (info >> 24) & 1 == 1,
                    length: ((info >> 25) & 3) as u8,
                    is_extern: (info >> 27) & 1 == 1,
                    r_type: (info >> 28) as u8,
                    file_offset,
                    stored_value,
                    target_symbol,
                });
            }
        }
        Ok(())
    }

    fn bind_tensors(&mut self) -> Result<(), HwxError> {
        let mut tensors = Vec::new();
        let mut cost = 0usize;
        for (segment_index, seg) in self.segments.iter().enumerate() {
            if seg.name != "__FVMLIB" {
                continue;
            }
            let name = self
                .fvmlibs
                .iter()
                .find(|f| u64::from(f.header_addr) == seg.vmaddr)
                .map(|f| f.name.clone())
                .or_else(|| {
                    self.symbols
                        .iter()
                        .find(|s| {
                            !s.is_stab() && s.n_value == seg.vmaddr && !s.name.starts_with('K')
                        })
                        .map(|s| s.name.clone())
                })
                .unwrap_or_default();
            let size = seg.sections.first().map_or(0, |s| s.size);
            tensors.push(TensorBinding {
                role: TensorRole::from_prot(seg.maxprot, seg.initprot),
                vmaddr: seg.vmaddr,
                vmsize: seg.vmsize,
                size,
                slot: self.slot_table.as_ref().and_then(|t| t.slot_of(seg.vmaddr)),
                segment_index,
                layout: self.layouts.iter().find(|l| l.name == name).cloned(),
                descriptor: self
                    .tensor_descriptors
                    .iter()
                    .find(|d| d.name == name)
                    .cloned(),
                name,
            });
            if let Some(t) = tensors.last() {
                cost = cost
                    .saturating_add(t.name.len())
                    .saturating_add(
                        t.layout
                            .as_ref()
                            .map_or(0, |l| l.name.len() + 24 * l.dims.len()),
                    )
                    .saturating_add(t.descriptor.as_ref().map_or(0, |d| {
                        d.name.len() + d.network_name.len() + 4 * d.words.len()
                    }));
            }
            // Checked per tensor so a hostile file stops early rather than after the copies.
            if cost as u64 > self.copy_budget {
                return Err(HwxError::TooMuchOutput {
                    offset: self
                        .load_commands
                        .get(seg.command_index as usize)
                        .map_or(0, |c| c.offset),
                    what: "tensor bindings",
                    budget: (self.data.len() as u64)
                        .saturating_mul(4)
                        .saturating_add(1 << 16),
                });
            }
        }
        self.copy_budget -= cost as u64;
        self.tensors = tensors;
        Ok(())
    }
}

fn parse_segment(
    body: Reader<'_>,
    offset: u64,
    index: u32,
    section_count: &mut u8,
) -> Result<Segment, HwxError> {
    let mut r = body;
    r.skip(8, "segment command header")?;
    let name = fixed_name(&r.array::<16>("segment name")?);
    let vmaddr = r.u64_le("segment vmaddr")?;
    let vmsize = r.u64_le("segment vmsize")?;
    let fileoff = r.u64_le("segment fileoff")?;
    let filesize = r.u64_le("segment filesize")?;
    let maxprot = r.u32_le("segment maxprot")?;
    let initprot = r.u32_le("segment initprot")?;
    let nsects = r.u32_le("segment nsects")?;
    let flags = r.u32_le("segment flags")?;
    let max = (body.len() - SEGMENT_COMMAND_SIZE) / SECTION_SIZE;
    if u64::from(nsects) > max {
        return Err(HwxError::TooManySections {
            offset,
            nsects,
            cmdsize: body.len() as u32,
            max,
        });
    }
    let mut sections = Vec::with_capacity(nsects as usize);
    for _ in 0..nsects {
        let sectname = fixed_name(&r.array::<16>("section name")?);
        let segname = fixed_name(&r.array::<16>("section segment name")?);
        let addr = r.u64_le("section addr")?;
        let size = r.u64_le("section size")?;
        let sect_offset = r.u32_le("section offset")?;
        let align = r.u32_le("section align")?;
        let reloff = r.u32_le("section reloff")?;
        let nreloc = r.u32_le("section nreloc")?;
        let sflags = r.u32_le("section flags")?;
        r.skip(12, "section reserved words")?;
        // Mach-O numbers sections 1..=255 across the file; later ones cannot be referenced.
        *section_count = section_count.saturating_add(1);
        sections.push(Section {
            index: *section_count,
            segname,
            sectname,
            addr,
            size,
            offset: sect_offset,
            align,
            reloff,
            nreloc,
            flags: sflags,
        });
    }
    Ok(Segment {
        command_index: index,
        name,
        vmaddr,
        vmsize,
        fileoff,
        filesize,
        maxprot,
        initprot,
        flags,
        sections,
    })
}

fn parse_thread(
    hwx: &mut Hwx<'_>,
    body: Reader<'_>,
    offset: u64,
    index: u32,
    cmdsize: u32,
) -> Result<(), HwxError> {
    let flavor = body.u32_le_at(8, "thread flavor")?;
    let count = body.u32_le_at(12, "thread state count")?;
    let state_len = u64::from(count) * 4;
    if 16 + state_len > u64::from(cmdsize) {
        return Err(HwxError::BadThreadCount {
            offset: offset + 12,
            count,
            cmdsize,
        });
    }
    let mut r = body.sub(16, state_len, "thread state")?;
    let mut words = Vec::with_capacity(count as usize);
    for _ in 0..count {
        words.push(r.u32_le("thread state word")?);
    }
    let raw = body.data();
    let word = |i: usize| words.get(i).copied().unwrap_or(0);
    let word64 = |i: usize| u64::from(word(i)) | (u64::from(word(i + 1)) << 32);
    match flavor {
        1 if hwx.slot_table.is_none() => {
            let slots = (0..SLOT_COUNT).map(|i| word64(2 * i)).collect();
            let tail = raw.get(16 + state_len as usize..).unwrap_or_default();
            let network_name = tail
                .iter()
                .position(|&b| b == 0)
                .and_then(|end| tail.get(..end))
                .and_then(|s| std::str::from_utf8(s).ok())
                .filter(|s| !s.is_empty())
                .map(str::to_string);
            hwx.slot_table = Some(SlotTable {
                command_index: index,
                words_offset: offset + 16,
                slots,
                words,
                network_name,
            });
        }
        3 => {
            let name = c_string(raw, u64::from(word(4)), offset, "tensor descriptor name")?;
            let network_name = c_string(
                raw,
                u64::from(word(2)),
                offset,
                "tensor descriptor network name",
            )?;
            hwx.tensor_descriptors.push(TensorDescriptor {
                command_index: index,
                direction: word(1),
                name,
                network_name,
                element_type: word(5),
                dims: [word(6), word(7), word(8), word(9), word(10)],
                buffer_size: word64(16),
                row_stride: word64(18),
                plane_stride: word64(20),
                element_size: word64(22),
                batch_stride: word64(24),
                extent: word(28),
                words,
            });
        }
        _ => {}
    }
    Ok(())
}

/// Map a stabs type name from the hwx type definitions to an anekit dtype.
fn stabs_dtype(name: &str) -> Option<DType> {
    Some(match name {
        "float16" => DType::Fp16,
        "float" => DType::Fp32,
        "int8" => DType::Int8,
        "uint8" => DType::Uint8,
        "int16" => DType::Int16,
        "uint4" => DType::Uint4,
        "uint6" => DType::Uint6,
        _ => return None,
    })
}

/// Decode `name:tN=ar1;0;COUNT;M=sSTRIDE<letter>:ar1;...:TYPE` (§1.7).
pub fn parse_stabs_layout(text: &str, offset: u64) -> Result<TensorLayout, HwxError> {
    let bad = |why| HwxError::BadStabs {
        offset,
        text: text.to_string(),
        why,
    };
    // The tensor name may itself contain ':'; the layout starts at the last ":t<digits>=ar".
    let (name, mut rest) = text
        .match_indices(":t")
        .filter_map(|(i, _)| {
            let tail = text.get(i + 2..)?;
            let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
            let after = tail.get(digits..)?;
            (digits > 0 && after.starts_with("=ar")).then(|| (text.get(..i), after.get(1..)))
        })
        .last()
        .and_then(|(n, r)| Some((n?, r?)))
        .ok_or_else(|| bad("no `:tN=ar` type definition"))?;

    fn number(s: &str) -> Option<(u64, &str)> {
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        let n = s.get(..digits)?.parse().ok()?;
        Some((n, s.get(digits..)?))
    }

    let mut dims = Vec::new();
    while let Some(tail) = rest.strip_prefix("ar1;0;") {
        if dims.len() >= 8 {
            return Err(bad("more than 8 dimensions"));
        }
        let (count, tail) = number(tail).ok_or_else(|| bad("dimension count"))?;
        let tail = tail
            .strip_prefix(';')
            .ok_or_else(|| bad("`;` after the count"))?;
        let (_type_num, tail) = number(tail).ok_or_else(|| bad("nested type number"))?;
        let tail = tail
            .strip_prefix("=s")
            .ok_or_else(|| bad("`=s` before the stride"))?;
        let (stride, tail) = number(tail).ok_or_else(|| bad("stride"))?;
        let mut chars = tail.chars();
        let letter = chars
            .next()
            .filter(char::is_ascii_alphabetic)
            .ok_or_else(|| bad("dimension letter"))?;
        rest = chars
            .as_str()
            .strip_prefix(':')
            .ok_or_else(|| bad("`:` after the dimension letter"))?;
        dims.push(StabsDim {
            letter,
            count,
            stride,
        });
    }
    let (element_type, tail) = number(rest).ok_or_else(|| bad("element type number"))?;
    if !tail.is_empty() || dims.is_empty() {
        return Err(bad("trailing text after the element type"));
    }
    Ok(TensorLayout {
        name: name.to_string(),
        dims,
        element_type: u32::try_from(element_type).map_err(|_| bad("element type number"))?,
        element_type_name: None,
        dtype: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stabs_relu_layout_from_reference() {
        // The relu string quoted in reference/hwx-td.md §1.7.
        let l = parse_stabs_layout(
            "image:t11=ar1;0;1;12=s192n:ar1;0;1;13=s192c:ar1;0;1;14=s192h:ar1;0;77;15=s2w:5",
            0,
        )
        .unwrap();
        assert_eq!(l.name, "image");
        assert_eq!((l.n(), l.c(), l.h(), l.w()), (1, 1, 1, 77));
        let strides: Vec<u64> = l.dims.iter().map(|d| d.stride).collect();
        assert_eq!(strides, vec![192, 192, 192, 2]);
        assert_eq!(l.element_type, 5);
    }

    #[test]
    fn stabs_rejects_garbage_with_offset() {
        let e = parse_stabs_layout("image:t11=ar1;0;x", 0x123).unwrap_err();
        assert!(e.to_string().contains("0x123"), "{e}");
    }

    #[test]
    fn truncated_header_reports_offset() {
        let e = Hwx::parse(&[0xCE, 0xFA, 0xEF, 0xBE, 0x80, 0]).unwrap_err();
        assert!(e.to_string().contains("0x4"), "{e}");
    }

    #[test]
    fn bad_magic() {
        let e = Hwx::parse(&[0u8; 64]).unwrap_err();
        assert_eq!(e, HwxError::BadMagic { found: 0 });
    }

    #[test]
    fn hostile_ncmds_is_refused_before_allocating() {
        let mut h = vec![0u8; 40];
        h[..4].copy_from_slice(&HWX_MAGIC.to_le_bytes());
        h[16..20].copy_from_slice(&u32::MAX.to_le_bytes()); // ncmds
        h[20..24].copy_from_slice(&8u32.to_le_bytes()); // sizeofcmds
        let e = Hwx::parse(&h).unwrap_err();
        assert!(matches!(e, HwxError::TooManyCommands { .. }), "{e}");
    }

    #[test]
    fn generation_table() {
        assert_eq!(Generation::from_cpusubtype(4), Some(Generation::H13));
        assert_eq!(Generation::from_cpusubtype(9), Some(Generation::H17));
        assert_eq!(Generation::from_cpusubtype(2), None);
    }
}
