//! TD decode/encode/patch over the real corpus. Expected values are the [verified] facts of
//! /work/shared/reference/hwx-td.md (§2.3, §3.2, §5.1, §5.3, §7.4), or are read at test time
//! from the corpus's own files (aneregs.json, the aneregs text dump, kernels-metadata.json).

use std::path::{Path, PathBuf};

use anekit_core::corpus::corpus_dir;
use anekit_hwx::disasm::{diff, field_values, summarize};
use anekit_hwx::program::{Program, SourceKind, load_program};
use anekit_hwx::regmap::{Generation, Loc, regmap};
use anekit_hwx::td::Td;

/// The seven (register address, count) commands of every staged H13 TD, with the TD offset of
/// each command word (reference §2.3).
const H13_COMMANDS: [(u64, u32, usize); 7] = [
    (0x028, 0x1F800, 62),
    (0x124, 0x00000, 16),
    (0x168, 0x13800, 28),
    (0x1DC, 0x04800, 18),
    (0x228, 0x08800, 4),
    (0x23C, 0x0C800, 5),
    (0x254, 0x17800, 7),
];

fn hwx_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if std::fs::read(&path)
                .map(|b| b.starts_with(&[0xCE, 0xFA, 0xEF, 0xBE]))
                .unwrap_or(false)
            {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn load(path: &Path) -> (Vec<u8>, Program) {
    let bytes = std::fs::read(path).unwrap();
    let program = load_program(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (bytes, program)
}

fn get(td: &Td, name: &str) -> u32 {
    td.get_named(name)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .unwrap_or_else(|| panic!("{name} not in TD"))
}

fn tg() -> Option<PathBuf> {
    corpus_dir("tinygrad-ane")
}

#[test]
fn every_staged_hwx_decodes_into_the_seven_blocks() {
    let Some(dir) = tg() else { return };
    let files = hwx_files(&dir);
    assert_eq!(
        files.len(),
        17,
        "expected the 17 staged .hwx files, found {files:?}"
    );
    for path in &files {
        let (_, program) = load(path);
        let name = path.display();
        assert_eq!(program.kind, SourceKind::Hwx, "{name}");
        assert_eq!(program.generation, Generation::H13, "{name}");
        assert_eq!(program.stream_offset, 0x4000, "{name}");
        let concat = path.to_string_lossy().contains("concat");
        assert_eq!(
            program.tds.len(),
            if concat { 2 } else { 1 },
            "{name}: TD count"
        );
        for (i, td) in program.tds.iter().enumerate() {
            assert_eq!(
                td.offset,
                0x300 * i as u64,
                "{name} TD {i}: offset in __text"
            );
            assert_eq!(td.size(), 0x274, "{name} TD {i}: size");
            assert_eq!(td.header.len(), 10, "{name} TD {i}: header words");
            let got: Vec<(u64, u32, usize)> = td
                .commands
                .iter()
                .map(|c| (c.offset - td.offset, c.address, c.values.len()))
                .collect();
            assert_eq!(got, H13_COMMANDS, "{name} TD {i}: commands");
        }
    }
}

#[test]
fn header_words_match_reference() {
    let Some(dir) = tg() else { return };
    let single = |w8: u32, w9: u32| {
        vec![
            0x0200_0000,
            0,
            0x422,
            0,
            0xFF_F86A,
            0,
            0x3000_9800,
            0,
            w8,
            w9,
        ]
    };
    let cases: [(&str, Vec<Vec<u32>>); 7] = [
        ("ops/conv.hwx", vec![single(0x0302_4025, 0x21)]),
        (
            "2_compile/model.hwx.golden",
            vec![single(0x0302_4025, 0x21)],
        ),
        ("ops/relu.hwx", vec![single(0x0102_4025, 0)]),
        ("ops/sigmoid.hwx", vec![single(0x0102_4025, 0x21)]),
        ("ops/sum.hwx", vec![single(0x0002_4966, 0)]),
        ("ops/gemm.hwx", vec![single(0x0502_4025, 0x21)]),
        (
            "ops/concat.hwx",
            vec![
                vec![
                    0,
                    0x009C_0000,
                    0x400,
                    0,
                    0x68,
                    0,
                    0x3000_9800,
                    0x300,
                    0x0582_4026,
                    0,
                ],
                vec![
                    0x0300_0001,
                    0,
                    0x422,
                    0,
                    0x6A,
                    0,
                    0x3000_9800,
                    0,
                    0x0502_4025,
                    0,
                ],
            ],
        ),
    ];
    for (file, expected) in cases {
        let (_, program) = load(&dir.join(file));
        let got: Vec<Vec<u32>> = program.tds.iter().map(|t| t.header.clone()).collect();
        assert_eq!(got, expected, "{file}: header words");
    }
}

#[test]
fn decoded_field_values_match_reference() {
    let Some(dir) = tg() else { return };
    let td = |file: &str, i: usize| load(&dir.join(file)).1.tds[i].clone();

    let conv = td("ops/conv.hwx", 0);
    for (name, value) in [
        ("Common.Cin.Cin", 3),
        ("Common.Cout.Cout", 3),
        ("Common.InDim.Win", 1),
        ("Common.OutDim.Wout", 1),
        ("KernelDMASrc.CoeffBaseAddr[1].Addr", 1),
        ("KernelDMASrc.CoeffBaseAddr[2].Addr", 2),
        ("KernelDMASrc.CoeffBfrSize[0].MemBfrSize", 1),
        ("KernelDMASrc.CoeffDMAConfig[2].En", 1),
        ("KernelDMASrc.CoeffDMAConfig[3].En", 0),
        ("Header.RBase0", 5),
        ("Header.WBase", 4),
        ("Header.ENE", 3),
        ("Header.KBase0", 1),
        ("NE.KernelCfg.KernelFmt", 2),
        ("NE.KernelCfg.PalettizedBits", 8),
        ("NE.MACCfg.BinaryPoint", 28),
        ("NE.MACCfg.OpMode", 0),
        ("NE.MACCfg.NonlinearMode", 0),
        ("NE.PostScale.PostScale", 0x3C00),
        ("TileDMASrc.RowStride.Stride", 1),
        ("TileDMASrc.DepthStride.Stride", 3),
        ("L2.SourceChannelStride.Stride", 1),
        ("L2.SourceRowStride.Stride", 3),
        ("L2.ResultBase.Addr", 3),
        ("Common.Cfg.ActiveNE", 2),
    ] {
        assert_eq!(get(&conv, name), value, "ops/conv.hwx {name}");
    }
    let golden = td("2_compile/model.hwx.golden", 0);
    assert_eq!(
        golden.encode(),
        conv.encode(),
        "golden TD identical to conv TD"
    );

    let relu = td("ops/relu.hwx", 0);
    for (name, value) in [
        ("Common.InDim.Win", 77),
        ("NE.MACCfg.NonlinearMode", 1),
        ("NE.MACCfg.OpMode", 4),
        ("NE.MACCfg.KernelMode", 1),
        ("Common.GroupConvCfg.UnicastEn", 1),
        ("TileDMASrc.RowStride.Stride", 3),
        ("L2.ResultBase.Addr", 0xA),
    ] {
        assert_eq!(get(&relu, name), value, "ops/relu.hwx {name}");
    }
    let sigmoid = td("ops/sigmoid.hwx", 0);
    assert_eq!(
        get(&sigmoid, "NE.MACCfg.NonlinearMode"),
        2,
        "sigmoid NonlinearMode"
    );
    assert_eq!(get(&sigmoid, "KernelDMASrc.CoeffBfrSize[0].MemBfrSize"), 2);

    let gemm = td("ops/gemm.hwx", 0);
    assert_eq!(get(&gemm, "Common.Cin.Cin"), 512, "gemm Cin");
    assert_eq!(get(&gemm, "Common.ConvCfg.OCGSize"), 5, "gemm OCGSize");
    assert_eq!(
        get(&gemm, "KernelDMASrc.CoeffBaseAddr[15].Addr"),
        7680,
        "gemm CoeffBaseAddr[15]"
    );
    assert_eq!(get(&gemm, "L2.ConvResultRowStride.Stride"), 0x202, "gemm");
    assert_eq!(get(&gemm, "Common.Cfg.ActiveNE"), 4, "gemm ActiveNE");

    let sum = td("ops/sum.hwx", 0);
    assert_eq!(get(&sum, "Header.RBase0"), 6);
    assert_eq!(get(&sum, "Header.RBase1"), 5);
    assert_eq!(get(&sum, "Header.RBE1"), 1);
    assert_eq!(get(&sum, "PE.Cfg.OpMode"), 0, "sum PE op add");
    assert_eq!(get(&sum, "PE.BiasScale.Scale"), 0x3C00);
    let pe: Vec<u32> = (0..4)
        .map(|i| sum.word(Loc::Register(0x8800 + 4 * i)).unwrap().0)
        .collect();
    assert_eq!(
        pe,
        [0x0008_0000, 0x3C00_0000, 0x3C00_0000, 0x3F80_0000],
        "sum PE block"
    );

    let c0 = td("ops/concat.hwx", 0);
    let c1 = td("ops/concat.hwx", 1);
    assert_eq!(get(&c0, "Common.Cin.Cin"), 16384);
    assert_eq!(get(&c0, "Header.TBE"), 1);
    assert_eq!(get(&c1, "Common.Cin.Cin"), 16);
    assert_eq!(
        get(&c1, "TileDMADst.BaseAddr.Addr"),
        16384,
        "concat TD1 dst base"
    );
    assert_eq!(get(&c1, "L2.SourceCfg.AliasPlanarSrc"), 0);

    // Summaries are inferred but follow from the asserted fields.
    assert_eq!(summarize(&conv).unwrap().kind, "conv");
    assert_eq!(summarize(&conv).unwrap().kernel_channels, 3);
    assert_eq!(summarize(&relu).unwrap().kind, "activation relu");
    assert_eq!(summarize(&sigmoid).unwrap().kind, "activation lut");
    assert_eq!(summarize(&sum).unwrap().kind, "pe-elementwise add");
    assert_eq!(summarize(&c1).unwrap().kind, "copy");
    assert_eq!(summarize(&sum).unwrap().reads, [6, 5]);
    assert_eq!(summarize(&sum).unwrap().writes, [4]);
}

/// Byte offset in the stored TD of the first data word of each H13 block (§2.3).
fn h13_td_offset(loc: Loc) -> u64 {
    match loc {
        Loc::Header(w) => 4 * u64::from(w),
        Loc::Register(a) => {
            let (start, base) = [
                (0x02Cu64, 0x1F800u32),
                (0x128, 0x00000),
                (0x16C, 0x13800),
                (0x1E0, 0x04800),
                (0x22C, 0x08800),
                (0x240, 0x0C800),
                (0x258, 0x17800),
            ]
            .into_iter()
            .filter(|(_, b)| a >= *b)
            .max_by_key(|(_, b)| *b)
            .unwrap();
            start + u64::from(a - base)
        }
    }
}

#[test]
fn h13_table_matches_aneregs_json() {
    let Some(dir) = tg() else { return };
    let path = dir.join("lib/aneregs.json");
    let json: Vec<(String, (u64, u32, u32))> =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(json.len(), 258, "{}", path.display());
    let map = regmap(Generation::H13).unwrap();
    let checked: Vec<_> = map.fields().filter(|f| !f.provisional).collect();
    assert_eq!(checked.len(), 258);
    for ((name, (byte, bit, width)), ours) in json.iter().zip(&checked) {
        assert_eq!(
            &ours.dump_name(),
            name,
            "{}: field order/name",
            path.display()
        );
        let word_offset = h13_td_offset(ours.loc);
        let at = word_offset * 8 + u64::from(ours.lsb);
        assert_eq!(
            at,
            byte * 8 + u64::from(*bit),
            "{}: {name} position",
            path.display()
        );
        assert_eq!(
            u32::from(ours.width),
            *width,
            "{}: {name} width",
            path.display()
        );
    }
}

#[test]
fn sigmoid_matches_aneregs_text_dump_except_the_twelve_known_bits() {
    let Some(dir) = tg() else { return };
    let dump_path = dir.join("aneregs");
    let dump = std::fs::read_to_string(&dump_path).unwrap();
    let (_, program) = load(&dir.join("ops/sigmoid.hwx"));
    let values = field_values(&program.tds[0]).unwrap();
    let mut lines = 0;
    let mut comparable = 0;
    let mut differing = Vec::new();
    for line in dump.lines() {
        let Some((name, value)) = line.split_once(" = ") else {
            continue;
        };
        let name = name.trim();
        if !name.starts_with("ane") {
            continue;
        }
        lines += 1;
        let value: u32 = value.trim().parse().unwrap();
        if let Some(ours) = values.iter().find(|f| f.dump_name == name) {
            comparable += 1;
            if ours.value != value {
                differing.push(name.to_string());
            }
        }
    }
    assert_eq!(lines, 192, "{}: name = value lines", dump_path.display());
    assert_eq!(
        comparable,
        180,
        "{}: lines naming a field of the map",
        dump_path.display()
    );
    differing.sort();
    let mut expected: Vec<String> = [
        "aneTD.Header[0].LNID",
        "aneTD.Header[6].SPL",
        "aneTD.Header[6].TSR",
        "aneTD.Header[6].TSE",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for reg in ["SourceCfg", "ResultCfg"] {
        for f in [
            "AliasConvSrc",
            "AliasConvRslt",
            "AliasPlanarSrc",
            "AliasPlanarRslt",
        ] {
            expected.push(format!("aneRegs.L2.{reg}.{f}"));
        }
    }
    expected.sort();
    assert_eq!(
        differing,
        expected,
        "{}: differing fields",
        dump_path.display()
    );
}

#[test]
fn patch_without_change_reproduces_every_file() {
    let Some(dir) = tg() else { return };
    for path in hwx_files(&dir) {
        let (bytes, program) = load(&path);
        for i in 0..program.tds.len() {
            let (out, changes) = program.patch(&bytes, i, &[]).unwrap();
            assert!(changes.is_empty());
            assert!(
                out == bytes,
                "{} TD {i}: re-encoding changed bytes",
                path.display()
            );
        }
    }
}

#[test]
fn kbase0_six_changes_one_byte() {
    let Some(dir) = tg() else { return };
    let path = dir.join("ops/conv.hwx");
    let (bytes, program) = load(&path);
    let (out, changes) = program
        .patch(&bytes, 0, &[("Header.KBase0".into(), 6)])
        .unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!((changes[0].old, changes[0].new), (1, 6));
    assert_eq!(changes[0].word_offset, 0x4024);
    let differing: Vec<(usize, u8, u8)> = bytes
        .iter()
        .zip(&out)
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .map(|(i, (a, b))| (i, *a, *b))
        .collect();
    assert_eq!(differing, [(0x4024, 0x21, 0x26)], "{}", path.display());
    // The patched file decodes and differs from the original in exactly that field.
    let patched = load_program(&out).unwrap();
    let d = diff(&program.tds, &patched.tds).unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].name, "Header[9].KBase0");
    assert_eq!((d[0].a, d[0].b), (Some(1), Some(6)));
}

#[test]
fn patch_rejects_values_too_wide() {
    let Some(dir) = tg() else { return };
    let (bytes, program) = load(&dir.join("ops/conv.hwx"));
    let err = program
        .patch(&bytes, 0, &[("Header.KBase0".into(), 32)])
        .unwrap_err();
    assert!(err.to_string().contains("5 bit(s)"), "{err}");
    let err = program.patch(&bytes, 1, &[]).unwrap_err();
    assert!(err.to_string().contains("1 TD(s)"), "{err}");
}

#[derive(serde::Deserialize)]
struct Kernel {
    name: String,
    file: String,
    size: u64,
    tsk_size: u64,
    td_count: usize,
    td_size: usize,
}

#[test]
fn eiln_kernel_payloads_decode_and_agree_with_metadata() {
    let Some(dir) = corpus_dir("asahi-ane") else {
        return;
    };
    let dir = dir.join("eiln-ane-h13-kernels");
    #[derive(serde::Deserialize)]
    struct Meta {
        kernels: Vec<Kernel>,
    }
    let meta: Meta =
        serde_json::from_slice(&std::fs::read(dir.join("kernels-metadata.json")).unwrap()).unwrap();
    assert_eq!(meta.kernels.len(), 36);
    for k in &meta.kernels {
        let path = dir.join(&k.file);
        let (bytes, program) = load(&path);
        let name = path.display();
        assert_eq!(bytes.len() as u64, k.size, "{name}");
        assert_eq!(program.kind, SourceKind::AnecPayload, "{name}");
        assert_eq!(program.tds.len(), k.td_count, "{name}: td_count");
        assert_eq!(program.tds[0].size(), k.td_size, "{name}: td_size");
        for (i, td) in program.tds.iter().enumerate() {
            assert_eq!(td.offset, 0x300 * i as u64, "{name} TD {i}: 0x300 stride");
            let got: Vec<(u64, u32, usize)> = td
                .commands
                .iter()
                .map(|c| (c.offset - td.offset, c.address, c.values.len()))
                .collect();
            assert_eq!(got, H13_COMMANDS, "{name} TD {i}: commands");
        }
        let last = program.tds.last().unwrap();
        let end = last.offset + last.size() as u64;
        if k.name == "softmin" {
            // Its metadata gives norm's tsk_size (8 slots) for 6 TDs; the file itself puts the
            // kernel LUT right after the sixth TD, at round_up(0x1174, 16).
            assert_eq!(end, 0x1174, "{name}: TDs end");
            assert_ne!(
                &bytes[0x1180..0x1184],
                &[0u8; 4],
                "{name}: kernel data at 0x1180"
            );
        } else {
            assert_eq!(end, k.tsk_size, "{name}: TDs end at tsk_size");
        }
        let first = &program.tds[0];
        if k.td_count == 1 {
            // Single-TD kernels are elementwise over W 1600, H 2560 (§7.4).
            assert_eq!(get(first, "Common.InDim.Win"), 1600, "{name}");
            assert_eq!(get(first, "Common.InDim.Hin"), 2560, "{name}");
        }
        let pe_cfg = first.word(Loc::Register(0x8800)).unwrap().0;
        let expected_pe = match k.name.as_str() {
            "add" => Some(0x8_0000),
            "mul" => Some(0x8_0004),
            "max" => Some(0x8_0008),
            "min" => Some(0x8_000C),
            _ => None,
        };
        if let Some(pe) = expected_pe {
            assert_eq!(pe_cfg, pe, "{name}: PE Cfg");
            assert_eq!(get(first, "PE.Cfg.OpMode"), (pe >> 2) & 7, "{name}");
        }
        let mac = first.word(Loc::Register(0xC804)).unwrap().0;
        match k.name.as_str() {
            "relu" => assert_eq!(mac, 0x11_1C0C, "{name}: NE MACCfg"),
            "exp" | "exp2" | "log2" | "tanh" => {
                assert_eq!(mac, 0x12_1C0C, "{name}: NE MACCfg");
                assert_eq!(get(first, "NE.MACCfg.NonlinearMode"), 2, "{name}");
            }
            _ => {}
        }
        // No change: bytes come back.
        let (out, _) = program.patch(&bytes, 0, &[]).unwrap();
        assert!(out == bytes, "{name}: re-encode");
    }
}

#[test]
fn m1n1_templates_follow_the_header_chain() {
    let Some(dir) = corpus_dir("asahi-ane") else {
        return;
    };
    let dir = dir.join("m1n1-eiln-ane-td-templates");
    for (file, count, offsets) in [
        (
            "matmul2d_base.npy",
            5usize,
            vec![0x0u64, 0x300, 0x600, 0x900, 0xC00],
        ),
        ("matmul3d_base.npy", 17, vec![]),
    ] {
        let path = dir.join(file);
        let (_, program) = load(&path);
        assert_eq!(program.kind, SourceKind::NpyTemplate);
        assert_eq!(program.tds.len(), count, "{}", path.display());
        if !offsets.is_empty() {
            let got: Vec<u64> = program.tds.iter().map(|t| t.offset).collect();
            assert_eq!(got, offsets, "{}", path.display());
        }
        for td in &program.tds {
            // 0x278-byte TDs carry an 11th header word; the commands are the usual seven.
            let expected_header = if td.size() == 0x278 { 11 } else { 10 };
            assert_eq!(
                td.header.len(),
                expected_header,
                "{} TD @{:#x}",
                path.display(),
                td.offset
            );
            assert_eq!(
                td.commands.len(),
                7,
                "{} TD @{:#x}",
                path.display(),
                td.offset
            );
        }
        let words = std::fs::read(&path).unwrap();
        let last = program.tds.last().unwrap();
        assert!(last.is_last(), "{}: last TD has EON", path.display());
        let _ = words;
    }
}

/// Every field of the provisional H14–H18 maps names a register row of freedomtan's Markdown
/// map for that generation: the row's address, the register name and the field name appear on
/// one table line (the transcription in scripts/gen_prov_regmaps.py keeps nothing else).
#[test]
fn provisional_maps_match_freedomtan() {
    let Some(dir) = corpus_dir("asahi-ane") else {
        return;
    };
    for (generation, file, registers) in [
        (Generation::H14, "h14_register_map.md", 173),
        (Generation::H15, "h15_register_map.md", 79),
        (Generation::H16, "h16_register_map.md", 277),
        (Generation::H17, "h17_register_map.md", 287),
        (Generation::H18, "h18_register_map.md", 299),
    ] {
        let path = dir.join("freedomtan-register-maps").join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("| **0x")).collect();
        let map = regmap(generation).unwrap();
        assert!(map.provisional && !map.decodable, "{}", path.display());
        let mut seen = std::collections::BTreeSet::new();
        for f in map.fields() {
            assert!(f.provisional, "{}: {}", path.display(), f.full_name());
            let Loc::Register(address) = f.loc else {
                panic!("header field in provisional map")
            };
            seen.insert(address);
            // Arrays written as one row (`CoeffSize[0-15]` over an address range) name the base.
            let register = f.register.split('[').next().unwrap();
            let ok = rows.iter().any(|row| {
                let first = row
                    .trim_start_matches("| **")
                    .split(|c: char| !c.is_ascii_hexdigit() && c != 'x')
                    .next()
                    .and_then(|h| u32::from_str_radix(h.trim_start_matches("0x"), 16).ok());
                let in_range =
                    first.is_some_and(|a| a == address || (a < address && row.contains('-')));
                in_range
                    && row.contains(register)
                    && (f.name == "Value" || row.replace(' ', "").contains(f.name))
            });
            assert!(
                ok,
                "{}: no row for {:#06x} {}",
                path.display(),
                address,
                f.full_name()
            );
        }
        assert_eq!(seen.len(), registers, "{}: register count", path.display());
    }
}
