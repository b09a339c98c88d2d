//! Register maps: where each named task-descriptor (TD) field lives, per ANE generation.
//!
//! A field is located either in a TD header word or in a hardware register (a byte address in
//! the ANE's register space, written by the TD's register-write commands). Keying block fields
//! by register address rather than by TD byte offset makes decoding independent of the order
//! and grouping of the commands inside a TD.
//!
//! H13 (A14/M1) is complete and checked: the 258 fields Apple's own debug printer names (as
//! recovered in tinygrad's `aneregs.json`), plus the planar-engine (PE) block from freedomtan's
//! map, which Apple's printer does not name and which is marked provisional. H14–H18 have
//! provisional maps transcribed from freedomtan's notes: listed, never checked against a TD, and
//! not used for decoding, since those generations encode TDs differently (see docs/hwx.md).

use serde::Serialize;

#[path = "regmap_h13.rs"]
mod h13;
#[path = "regmap_prov.rs"]
mod prov;

pub use crate::container::Generation;

/// Parse a generation name: `h13` / `H13`.
pub fn parse_generation(text: &str) -> Option<Generation> {
    [
        Generation::H11,
        Generation::H12,
        Generation::H13,
        Generation::H14,
        Generation::H15,
        Generation::H16,
        Generation::H17,
        Generation::H18,
    ]
    .into_iter()
    .find(|g| g.name().eq_ignore_ascii_case(text.trim()))
}

/// Where a field's bits live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Loc {
    /// TD header word `n` (u32 index from the start of the TD).
    Header(u8),
    /// The 32-bit register at this byte address of the ANE register space.
    Register(u32),
}

/// How to read a field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Unit {
    /// A plain number or flag.
    Raw,
    /// Count of 64-byte units (26 bits at bit 6 of a byte-valued register).
    Bytes64,
    /// Count of 16-byte units (17 bits at bit 4 of a byte-valued register, L2).
    Bytes16,
    /// Bytes.
    Bytes,
    /// Elements along a tensor dimension.
    Elements,
    /// Channels.
    Channels,
    /// IEEE half-precision bits.
    Fp16,
    /// A 5-bit base-address slot number (index into the program's slot table).
    BaseSlot,
    /// Size of the next TD in u32 words, minus one (0x9C = 0x274 bytes).
    TdWordsMinusOne,
    /// Tensor element format: 0 int8, 1 uint8, 2 fp16.
    DataFormat,
    /// Cache hint: 0 ALLOC, 1 NOALLOC, 2 DROP, 3 DEPRI.
    CacheHint,
    /// NE non-linear mode as encoded in the TD (not the Zin enumeration): 0 none, 1 ReLU, 2 LUT.
    TdNonlinearMode,
}

impl Unit {
    /// Short label used in outputs ("64B" = value counts 64-byte units).
    pub fn label(self) -> &'static str {
        match self {
            Unit::Raw => "",
            Unit::Bytes64 => "64B",
            Unit::Bytes16 => "16B",
            Unit::Bytes => "bytes",
            Unit::Elements => "elements",
            Unit::Channels => "channels",
            Unit::Fp16 => "fp16",
            Unit::BaseSlot => "slot",
            Unit::TdWordsMinusOne => "words-1",
            Unit::DataFormat => "format",
            Unit::CacheHint => "cache-hint",
            Unit::TdNonlinearMode => "nl-mode",
        }
    }

    /// What `value` means in this unit, when that says more than the number itself.
    pub fn describe(self, value: u32) -> Option<String> {
        match self {
            Unit::Bytes64 if value != 0 => Some(format!("{:#x} bytes", u64::from(value) * 64)),
            Unit::Bytes16 if value != 0 => Some(format!("{:#x} bytes", u64::from(value) * 16)),
            Unit::Bytes if value != 0 => Some(format!("{value:#x} bytes")),
            Unit::Fp16 => {
                let bits = u16::try_from(value).ok()?;
                Some(format!("{}", half::f16::from_bits(bits)))
            }
            Unit::TdWordsMinusOne if value != 0 => {
                Some(format!("next TD {:#x} bytes", (u64::from(value) + 1) * 4))
            }
            Unit::DataFormat => crate::zin::DATA_FORMATS
                .get(value as usize)
                .map(|s| (*s).to_string()),
            Unit::CacheHint => crate::zin::CACHE_HINTS
                .get(value as usize)
                .map(|s| (*s).to_string()),
            Unit::TdNonlinearMode => crate::zin::TD_NONLINEAR_MODES
                .get(value as usize)
                .map(|s| (*s).to_string()),
            _ => None,
        }
    }
}

/// One named bit field of a TD.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FieldDef {
    /// Block name: `Header`, `KernelDMASrc`, `Common`, `TileDMASrc`, `L2`, `PE`, `NE`, `TileDMADst`.
    pub block: &'static str,
    /// Register name inside the block (`CoeffDMAConfig[3]`, `InDim`; `Header[9]` for the header).
    pub register: &'static str,
    /// Field name inside the register (`En`, `Win`, `KBase0`).
    pub name: &'static str,
    pub loc: Loc,
    /// Least significant bit inside the 32-bit word.
    pub lsb: u8,
    /// Width in bits (1..=32).
    pub width: u8,
    pub unit: Unit,
    /// True when the field comes from an unchecked source (not Apple's printer via tinygrad).
    pub provisional: bool,
}

impl FieldDef {
    /// Bit mask of the field inside its word (already shifted).
    pub fn mask(&self) -> u32 {
        let ones = if self.width >= 32 {
            u32::MAX
        } else {
            (1u32 << self.width) - 1
        };
        ones.checked_shl(u32::from(self.lsb)).unwrap_or(0)
    }

    /// Largest value the field can hold.
    pub fn max_value(&self) -> u32 {
        self.mask() >> self.lsb
    }

    /// The field's value in `word`.
    pub fn extract(&self, word: u32) -> u32 {
        (word & self.mask()) >> self.lsb
    }

    /// `word` with the field replaced by `value` (caller checks `value <= max_value()`).
    pub fn insert(&self, word: u32, value: u32) -> u32 {
        (word & !self.mask()) | ((value << self.lsb) & self.mask())
    }

    /// `Header[9].KBase0` or `KernelDMASrc.CoeffBaseAddr[1].Addr`.
    pub fn full_name(&self) -> String {
        if self.block == "Header" {
            format!("{}.{}", self.register, self.name)
        } else {
            format!("{}.{}.{}", self.block, self.register, self.name)
        }
    }

    /// The name Apple's `ZinIrRegBitPrintOutDebug` prints: `aneTD.Header[9].KBase0`,
    /// `aneRegs.Common.InDim.Win`.
    pub fn dump_name(&self) -> String {
        if self.block == "Header" {
            format!("aneTD.{}.{}", self.register, self.name)
        } else {
            format!("aneRegs.{}.{}.{}", self.block, self.register, self.name)
        }
    }

    /// Whether `query` names this field: the dump name, the full name, or for header fields
    /// `Header.<Field>` without the word index. Case-insensitive.
    pub fn matches(&self, query: &str) -> bool {
        // Compared piecewise, without building the names: lookups run once per field per query.
        let q = query.trim();
        let q = strip_prefix_ci(q, "aneTD.")
            .or_else(|| strip_prefix_ci(q, "aneRegs."))
            .unwrap_or(q);
        let Some(rest) = strip_prefix_ci(q, self.block) else {
            return false;
        };
        let Some(rest) = rest.strip_prefix('.') else {
            // `Header[9].KBase0`: the register carries the block name.
            return self.block == "Header" && self.register_and_name_are(q);
        };
        if self.block == "Header" {
            rest.eq_ignore_ascii_case(self.name)
        } else {
            self.register_and_name_are(rest)
        }
    }

    /// `text` is `<register>.<name>`.
    fn register_and_name_are(&self, text: &str) -> bool {
        strip_prefix_ci(text, self.register)
            .and_then(|r| r.strip_prefix('.'))
            .is_some_and(|n| n.eq_ignore_ascii_case(self.name))
    }
}

fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| text.get(prefix.len()..))
        .flatten()
}

/// A block of consecutive registers a TD writes with one command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BlockDef {
    pub name: &'static str,
    /// Byte address of the block's first register.
    pub base: u32,
    /// Registers (u32 words) in the block as far as any known TD writes them.
    pub words: u32,
}

impl BlockDef {
    pub fn contains(&self, address: u32) -> bool {
        address >= self.base && address - self.base < self.words.saturating_mul(4)
    }
}

/// One generation's register map.
#[derive(Debug, Serialize)]
pub struct RegMap {
    pub generation: Generation,
    /// True when nothing in this map was checked against real files.
    pub provisional: bool,
    /// True when anekit can decode this generation's TDs (the H13 command encoding).
    pub decodable: bool,
    /// Header length in u32 words (the optional extra word is detected while decoding).
    pub header_words: usize,
    pub blocks: &'static [BlockDef],
    /// Fields from the checked source, in TD order.
    checked: &'static [FieldDef],
    /// Fields from unchecked sources.
    extra: &'static [FieldDef],
}

impl RegMap {
    /// Every field, checked ones first.
    pub fn fields(&self) -> impl Iterator<Item = &'static FieldDef> + '_ {
        self.checked.iter().chain(self.extra.iter())
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.checked.len() + self.extra.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The field `query` names (see [`FieldDef::matches`]).
    pub fn field(&self, query: &str) -> Option<&'static FieldDef> {
        self.fields().find(|f| f.matches(query))
    }

    /// The block holding the register at `address`.
    pub fn block_of(&self, address: u32) -> Option<&'static BlockDef> {
        self.blocks.iter().find(|b| b.contains(address))
    }
}

/// H13 register blocks, in the order every staged TD writes them (reference hwx-td.md §2.3).
static H13_BLOCKS: [BlockDef; 7] = [
    BlockDef {
        name: "KernelDMASrc",
        base: 0x1F800,
        words: 62,
    },
    BlockDef {
        name: "Common",
        base: 0x00000,
        words: 16,
    },
    BlockDef {
        name: "TileDMASrc",
        base: 0x13800,
        words: 28,
    },
    BlockDef {
        name: "L2",
        base: 0x04800,
        words: 18,
    },
    BlockDef {
        name: "PE",
        base: 0x08800,
        words: 4,
    },
    BlockDef {
        name: "NE",
        base: 0x0C800,
        words: 5,
    },
    BlockDef {
        name: "TileDMADst",
        base: 0x17800,
        words: 7,
    },
];

const fn pe(
    register: &'static str,
    name: &'static str,
    address: u32,
    lsb: u8,
    width: u8,
    unit: Unit,
) -> FieldDef {
    FieldDef {
        block: "PE",
        register,
        name,
        loc: Loc::Register(address),
        lsb,
        width,
        unit,
        provisional: true,
    }
}

/// The H13 planar-engine block, which Apple's printer leaves unnamed. Names and bit ranges from
/// freedomtan's h13 map; only OpMode/SecSrc values were seen on real kernels (eiln's add, mul,
/// max, min: Cfg 0x80000 + 4·op), so every PE field is provisional.
static H13_PE_FIELDS: [FieldDef; 10] = [
    pe("Cfg", "En", 0x8800, 1, 1, Unit::Raw),
    pe("Cfg", "OpMode", 0x8800, 2, 3, Unit::Raw),
    pe("Cfg", "ReluEn", 0x8800, 5, 1, Unit::Raw),
    pe("Cfg", "Cond", 0x8800, 6, 1, Unit::Raw),
    pe("Cfg", "FirstSrc", 0x8800, 16, 1, Unit::Raw),
    pe("Cfg", "SecSrc", 0x8800, 18, 2, Unit::Raw),
    pe("BiasScale", "Bias", 0x8804, 0, 16, Unit::Fp16),
    pe("BiasScale", "Scale", 0x8804, 16, 16, Unit::Fp16),
    pe("PreScale", "PreScale", 0x8808, 0, 16, Unit::Raw),
    pe("FinalScale", "FinalScale", 0x880C, 0, 32, Unit::Raw),
];

static H13: RegMap = RegMap {
    generation: Generation::H13,
    provisional: false,
    decodable: true,
    header_words: 10,
    blocks: &H13_BLOCKS,
    checked: &h13::H13_FIELDS,
    extra: &H13_PE_FIELDS,
};

const fn block(name: &'static str, base: u32) -> BlockDef {
    // freedomtan's maps give each block a 0x400-byte window.
    BlockDef {
        name,
        base,
        words: 0x100,
    }
}

/// H14 block bases (the "old" layout its TDs use, reference §6).
static H14_BLOCKS: [BlockDef; 7] = [
    block("Common", 0x0000),
    block("L2", 0x0500),
    block("PE", 0x0900),
    block("NE", 0x0D00),
    block("TileDMASrc", 0x1100),
    block("TileDMADst", 0x1500),
    block("KernelDMASrc", 0x1900),
];

/// H15–H18 block bases (reference §6).
static MODERN_BLOCKS: [BlockDef; 8] = [
    block("Common", 0x0000),
    block("L2", 0x4100),
    block("PE", 0x4500),
    block("NE", 0x4900),
    block("TileDMASrc", 0x4D00),
    block("TileDMADst", 0x5100),
    block("KernelDMASrc", 0x5500),
    block("CacheDMA", 0x5900),
];

const fn provisional(
    generation: Generation,
    header_words: usize,
    blocks: &'static [BlockDef],
    fields: &'static [FieldDef],
) -> RegMap {
    RegMap {
        generation,
        provisional: true,
        decodable: false,
        header_words,
        blocks,
        checked: &[],
        extra: fields,
    }
}

// Header lengths: 32 bytes on H14, 36 on H16 (adds DTID), per freedomtan; H15, H17 and H18
// are taken as H16's. Unverified.
static H14: RegMap = provisional(Generation::H14, 8, &H14_BLOCKS, &prov::H14_FIELDS);
static H15: RegMap = provisional(Generation::H15, 9, &MODERN_BLOCKS, &prov::H15_FIELDS);
static H16: RegMap = provisional(Generation::H16, 9, &MODERN_BLOCKS, &prov::H16_FIELDS);
static H17: RegMap = provisional(Generation::H17, 9, &MODERN_BLOCKS, &prov::H17_FIELDS);
static H18: RegMap = provisional(Generation::H18, 9, &MODERN_BLOCKS, &prov::H18_FIELDS);

/// The register map of `generation`, when anekit has one (H11 and H12: none).
pub fn regmap(generation: Generation) -> Option<&'static RegMap> {
    match generation {
        Generation::H13 => Some(&H13),
        Generation::H14 => Some(&H14),
        Generation::H15 => Some(&H15),
        Generation::H16 => Some(&H16),
        Generation::H17 => Some(&H17),
        Generation::H18 => Some(&H18),
        Generation::H11 | Generation::H12 => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_resolve_in_every_spelling() {
        let map = regmap(Generation::H13).unwrap();
        for q in [
            "Header.KBase0",
            "header[9].kbase0",
            "aneTD.Header[9].KBase0",
            " Header[9].KBase0 ",
        ] {
            assert_eq!(
                map.field(q).map(|f| f.full_name()).as_deref(),
                Some("Header[9].KBase0"),
                "{q}"
            );
        }
        let f = map
            .field("aneRegs.KernelDMASrc.CoeffDMAConfig[1].En")
            .unwrap();
        assert_eq!(f.loc, Loc::Register(0x1F80C));
        let f = map.field("KernelDMASrc.CoeffDMAConfig[10].En").unwrap();
        assert_eq!(f.loc, Loc::Register(0x1F830));
        for q in [
            "Header[8].KBase0",
            "Common.InDim",
            "InDim.Win",
            "Common.InDim.Win.",
            "CommonX.InDim.Win",
            "",
        ] {
            assert!(map.field(q).is_none(), "{q}");
        }
    }
}
