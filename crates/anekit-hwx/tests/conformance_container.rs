//! Conformance of the `.hwx` container parser against the 17 staged tinygrad files.
//!
//! Expected values are the [verified] facts of reference/hwx-td.md §1 and §5.2 (checked there
//! against the bytes); every failure names the corpus file.

use anekit_hwx::container::{Generation, Hwx, TensorRole};
use std::path::PathBuf;

/// All 17 `.hwx` files of the tinygrad corpus folder (7 current + 10 historical).
const ALL_HWX: [&str; 17] = [
    "ops/conv.hwx",
    "ops/relu.hwx",
    "ops/sigmoid.hwx",
    "ops/sum.hwx",
    "ops/gemm.hwx",
    "ops/concat.hwx",
    "2_compile/model.hwx.golden",
    "history/73536a7539/ane/compiled/model.hwx",
    "history/73ae6d7821/ane/ops/gemm.hwx",
    "history/a42df9a4a0/ane/compiled/model.hwx.signed",
    "history/d4d8bd0337/ane/2_compile/model.hwx.golden",
    "history/ddd6778423/ane/2_compile/model.hwx.golden",
    "history/e03759f01d/ane/ops/concat.hwx",
    "history/e2184c20ad/ane/2_compile/model.hwx.golden",
    "history/f37fecddf4/ane/ops/relu.hwx",
    "history/f459291c15/ane/2_compile/model.hwx.golden",
    "history/ff52f832dc/ane/ops/conv.hwx",
];

fn corpus() -> Option<PathBuf> {
    anekit_core::corpus::corpus_dir("tinygrad-ane")
}

fn read(dir: &std::path::Path, rel: &str) -> Vec<u8> {
    std::fs::read(dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: cannot read: {e}"))
}

/// One row of reference/hwx-td.md §5.2.
struct Row {
    file: &'static str,
    ncmds: u32,
    sizeofcmds: u32,
    symtab: (u32, u32, u32, u32),
    text_size: u64,
    text_flags: u32,
    const_off: u32,
    const_size: u64,
    nreloc: u32,
    reloff: u32,
    /// (name, role, vmaddr, bytes, slot per §1.5)
    tensors: &'static [(&'static str, TensorRole, u64, u64, Option<u8>)],
    td_count: u32,
}

use TensorRole::{Input as I, Output as O};

const ROWS: [Row; 7] = [
    Row {
        file: "ops/conv.hwx",
        ncmds: 11,
        sizeofcmds: 0xDE8,
        symtab: (3592, 17, 3864, 560),
        text_size: 0x274,
        text_flags: 0x128,
        const_off: 0x4280,
        const_size: 0xC0,
        nreloc: 3,
        reloff: 0x1148,
        tensors: &[
            ("image", I, 0x3000_4000, 0xC0, Some(5)),
            ("probs@output", O, 0x3000_8000, 0xC0, Some(4)),
        ],
        td_count: 1,
    },
    Row {
        file: "2_compile/model.hwx.golden",
        ncmds: 11,
        sizeofcmds: 0xDE8,
        symtab: (3592, 17, 3864, 560),
        text_size: 0x274,
        text_flags: 0x128,
        const_off: 0x4280,
        const_size: 0xC0,
        nreloc: 3,
        reloff: 0x1148,
        tensors: &[
            ("image", I, 0x3000_4000, 0xC0, Some(5)),
            ("probs@output", O, 0x3000_8000, 0xC0, Some(4)),
        ],
        td_count: 1,
    },
    Row {
        file: "ops/relu.hwx",
        ncmds: 11,
        sizeofcmds: 0xDE8,
        symtab: (3592, 14, 3816, 353),
        text_size: 0x274,
        text_flags: 0x28,
        const_off: 0x4280,
        const_size: 0x4000,
        nreloc: 0,
        reloff: 0,
        tensors: &[
            ("image", I, 0x3000_8000, 0xC0, Some(5)),
            ("probs@output", O, 0x3000_C000, 0xC0, Some(4)),
        ],
        td_count: 1,
    },
    Row {
        file: "ops/sigmoid.hwx",
        ncmds: 11,
        sizeofcmds: 0xDE8,
        symtab: (3592, 15, 3832, 419),
        text_size: 0x274,
        text_flags: 0x128,
        const_off: 0x4280,
        const_size: 0x80,
        nreloc: 1,
        reloff: 0x10A0,
        tensors: &[
            ("image", I, 0x3000_4000, 0xC0, Some(5)),
            ("probs@output", O, 0x3000_8000, 0xC0, Some(4)),
        ],
        td_count: 1,
    },
    Row {
        file: "ops/sum.hwx",
        ncmds: 14,
        sizeofcmds: 0xF40,
        symtab: (3936, 16, 4192, 437),
        text_size: 0x274,
        text_flags: 0x28,
        const_off: 0x4280,
        const_size: 0x4000,
        nreloc: 0,
        reloff: 0,
        tensors: &[
            ("image2", I, 0x3000_8000, 0x1000, Some(5)),
            ("image", I, 0x3000_C000, 0x1000, Some(6)),
            ("probs@output", O, 0x3001_0000, 0x1000, Some(4)),
        ],
        td_count: 1,
    },
    Row {
        file: "ops/gemm.hwx",
        ncmds: 11,
        sizeofcmds: 0xDE8,
        symtab: (3592, 30, 4072, 1497),
        text_size: 0x274,
        text_flags: 0x128,
        const_off: 0x4280,
        const_size: 0x80000,
        nreloc: 16,
        reloff: 0x15C8,
        tensors: &[
            ("image", I, 0x3008_4000, 0x8000, Some(5)),
            ("probs@output", O, 0x3008_C000, 0x8000, Some(4)),
        ],
        td_count: 1,
    },
    Row {
        file: "ops/concat.hwx",
        ncmds: 14,
        sizeofcmds: 0xF48,
        symtab: (3944, 16, 4200, 457),
        text_size: 0x574,
        text_flags: 0x28,
        const_off: 0x4580,
        const_size: 0x4000,
        nreloc: 0,
        reloff: 0,
        tensors: &[
            ("input_1", I, 0x3000_8000, 0x400, Some(5)),
            ("input_0", I, 0x3000_C000, 0x10_0000, Some(6)),
            ("output@output", O, 0x3010_C000, 0x10_0400, Some(4)),
        ],
        td_count: 2,
    },
];

#[test]
fn all_17_files_parse_with_common_values() {
    let Some(dir) = corpus() else { return };
    for rel in ALL_HWX {
        let bytes = read(&dir, rel);
        let hwx = Hwx::parse(&bytes).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let h = &hwx.header;
        assert_eq!(h.magic, 0xBEEF_FACE, "{rel}: magic");
        assert_eq!(h.cputype, 0x80, "{rel}: cputype");
        assert_eq!(h.cpusubtype, 4, "{rel}: cpusubtype");
        assert_eq!(hwx.generation(), Some(Generation::H13), "{rel}: generation");
        assert_eq!(h.filetype, 2, "{rel}: filetype");
        assert_eq!(h.flags, 0x0020_0000, "{rel}: flags");
        assert_eq!(hwx.load_commands.len(), h.ncmds as usize, "{rel}: ncmds");

        // Load-command order of §1.3.
        let order: Vec<u32> = hwx.load_commands.iter().map(|c| c.cmd).collect();
        let n_io = hwx.tensors.len();
        let mut expected = vec![0x19, 0x19];
        expected.extend(std::iter::repeat_n(0x19, n_io));
        expected.extend(std::iter::repeat_n(0x6, n_io));
        expected.push(0x4);
        expected.extend(std::iter::repeat_n(0x4, n_io));
        expected.extend([0x8, 0x2]);
        assert_eq!(order, expected, "{rel}: load command order");
        assert_eq!(hwx.segments[0].name, "__PAGEZERO", "{rel}");
        assert_eq!(hwx.segments[0].vmsize, 0x4000, "{rel}");

        // __text at file 0x4000 / addr 0x30000000; file size = 0x4000 + __TEXT.filesize.
        let text = hwx.text().unwrap_or_else(|| panic!("{rel}: no __text"));
        assert_eq!(
            (text.offset, text.addr),
            (0x4000, 0x3000_0000),
            "{rel}: __text"
        );
        assert_eq!(text.align, 14, "{rel}: __text align");
        let text_seg = &hwx.segments[1];
        assert_eq!(text_seg.name, "__TEXT", "{rel}");
        assert_eq!((text_seg.maxprot, text_seg.initprot), (5, 5), "{rel}");
        assert_eq!(
            bytes.len() as u64,
            0x4000 + text_seg.filesize,
            "{rel}: file size"
        );

        // symoff = 0x20 + sizeofcmds; stroff = symoff + 16·nsyms; reloff = align8(stroff + strsize).
        let st = hwx.symtab.unwrap_or_else(|| panic!("{rel}: no LC_SYMTAB"));
        assert_eq!(st.symoff, 0x20 + h.sizeofcmds, "{rel}: symoff");
        assert_eq!(st.stroff, st.symoff + 16 * st.nsyms, "{rel}: stroff");
        assert_eq!(hwx.symbols.len(), st.nsyms as usize, "{rel}: nsyms");
        if text.nreloc > 0 {
            assert_eq!(
                text.reloff,
                (st.stroff + st.strsize).next_multiple_of(8),
                "{rel}: reloff"
            );
        }

        // TDs: 0x274 each; __text size = 0x300·(n−1) + 0x274 (§1.4).
        let n = hwx
            .td_count()
            .unwrap_or_else(|| panic!("{rel}: no TD count"));
        assert_eq!(hwx.td_size(), Some(0x274), "{rel}: td size");
        assert_eq!(
            text.size,
            0x300 * u64::from(n - 1) + 0x274,
            "{rel}: text size vs TD count"
        );
        if n > 1 {
            assert_eq!(hwx.td_stride(), Some(0x300), "{rel}: td stride");
        }
        // Slot 0 = __text, slot 1 = __const (§1.5).
        let slots = &hwx
            .slot_table
            .as_ref()
            .unwrap_or_else(|| panic!("{rel}"))
            .slots;
        assert_eq!(slots[0], 0x3000_0000, "{rel}: slot 0");
        assert_eq!(
            Some(slots[1]),
            hwx.const_section().map(|s| s.addr),
            "{rel}: slot 1"
        );

        // Every tensor has a name, a slot, a layout and a descriptor that agree on size.
        for t in &hwx.tensors {
            assert!(
                !t.name.is_empty(),
                "{rel}: unnamed tensor at {:#x}",
                t.vmaddr
            );
            assert!(t.slot.is_some(), "{rel}: {} has no slot", t.name);
            let l = t
                .layout
                .as_ref()
                .unwrap_or_else(|| panic!("{rel}: {} no stabs", t.name));
            assert_eq!(l.element_type, 5, "{rel}: {} element type", t.name);
            assert_eq!(
                l.element_type_name.as_deref(),
                Some("float16"),
                "{rel}: {}",
                t.name
            );
            assert_eq!(l.dtype, Some(anekit_core::DType::Fp16), "{rel}: {}", t.name);
            let d = t
                .descriptor
                .as_ref()
                .unwrap_or_else(|| panic!("{rel}: {} no flavor-3", t.name));
            assert_eq!(d.buffer_size, t.size, "{rel}: {} flavor-3 bytes", t.name);
            assert_eq!(d.dims[1] as u64, l.c(), "{rel}: {} C", t.name);
            assert_eq!(d.dims[3] as u64, l.w(), "{rel}: {} W", t.name);
            assert_eq!(
                Some(d.plane_stride),
                l.plane_stride(),
                "{rel}: {} plane",
                t.name
            );
            assert_eq!(Some(d.row_stride), l.row_stride(), "{rel}: {} row", t.name);
            assert_eq!(d.element_size, 2, "{rel}: {}", t.name);
            let dir = if t.role == TensorRole::Input { 1 } else { 2 };
            assert_eq!(d.direction, dir, "{rel}: {} direction", t.name);
        }

        // LC_IDENT (§1.8).
        let ident = hwx
            .ident
            .as_ref()
            .unwrap_or_else(|| panic!("{rel}: no LC_IDENT"));
        assert_eq!(ident.format.as_deref(), Some("ANEC v1"), "{rel}");
        assert_eq!(
            ident.compiler.as_deref(),
            Some("zin_ane_compiler v4.2.1"),
            "{rel}"
        );
        assert_eq!(ident.compiler_version.as_deref(), Some("4.2.1"), "{rel}");
        assert_eq!(ident.target(), Some("h13"), "{rel}");
        assert!(
            ident
                .options
                .iter()
                .any(|o| o == "--fkernel-rewind=enabled"),
            "{rel}: options {:?}",
            ident.options
        );

        // Relocations: r_address = 0x74 + 4·i, second word 0x05000002 (§1.7).
        for (i, r) in hwx.relocations.iter().enumerate() {
            assert_eq!(r.r_address, 0x74 + 4 * i as i32, "{rel}: reloc {i} address");
            assert_eq!(
                (r.symbolnum, r.pcrel, r.length, r.is_extern, r.r_type),
                (2, true, 2, false, 0),
                "{rel}: reloc {i} info"
            );
            assert_eq!(
                r.kernel_channel(0x300),
                Some((0, i as u32)),
                "{rel}: reloc {i}"
            );
        }
    }
}

#[test]
fn current_files_match_reference_table_5_2() {
    let Some(dir) = corpus() else { return };
    for row in &ROWS {
        let rel = row.file;
        let bytes = read(&dir, rel);
        let hwx = Hwx::parse(&bytes).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert_eq!(hwx.header.ncmds, row.ncmds, "{rel}: ncmds");
        assert_eq!(hwx.header.sizeofcmds, row.sizeofcmds, "{rel}: sizeofcmds");
        let st = hwx.symtab.unwrap_or_else(|| panic!("{rel}"));
        assert_eq!(
            (st.symoff, st.nsyms, st.stroff, st.strsize),
            row.symtab,
            "{rel}: symtab"
        );
        let text = hwx.text().unwrap_or_else(|| panic!("{rel}"));
        assert_eq!(
            (text.size, text.flags),
            (row.text_size, row.text_flags),
            "{rel}: __text"
        );
        assert_eq!(
            (text.nreloc, text.reloff),
            (row.nreloc, row.reloff),
            "{rel}: relocs"
        );
        assert_eq!(
            hwx.relocations.len() as u32,
            row.nreloc,
            "{rel}: parsed relocs"
        );
        let konst = hwx.const_section().unwrap_or_else(|| panic!("{rel}"));
        assert_eq!(
            (konst.offset, konst.size),
            (row.const_off, row.const_size),
            "{rel}: __const"
        );
        assert_eq!(konst.flags, 0x26, "{rel}: __const flags");
        assert_eq!(hwx.td_count(), Some(row.td_count), "{rel}: td count");
        let got: Vec<_> = hwx
            .tensors
            .iter()
            .map(|t| (t.name.as_str(), t.role, t.vmaddr, t.size, t.slot))
            .collect();
        assert_eq!(got, row.tensors.to_vec(), "{rel}: tensors");
        for t in &hwx.tensors {
            let sect = &hwx.segments[t.segment_index].sections[0];
            let (sname, sflags) = match t.role {
                TensorRole::Input => ("__const", 0x21),
                _ => ("__data", 0x23),
            };
            assert_eq!(
                (sect.sectname.as_str(), sect.flags),
                (sname, sflags),
                "{rel}: {}",
                t.name
            );
            assert_eq!(
                t.vmsize,
                t.size.next_multiple_of(0x4000),
                "{rel}: {} vmsize",
                t.name
            );
        }
    }
}

#[test]
fn tensor_layouts_and_descriptors_per_reference() {
    let Some(dir) = corpus() else { return };
    // (file, tensor, [n, c, h, w], strides n/c/h/w, flavor-3 extent) from §1.6, §1.7, §7.3.
    type Case = (&'static str, &'static str, [u64; 4], [u64; 4], u32);
    let cases: [Case; 6] = [
        (
            "ops/relu.hwx",
            "image",
            [1, 1, 1, 77],
            [192, 192, 192, 2],
            0xC0,
        ),
        (
            "ops/relu.hwx",
            "probs@output",
            [1, 1, 1, 77],
            [192, 192, 192, 2],
            0x9A,
        ),
        (
            "ops/conv.hwx",
            "probs@output",
            [1, 3, 1, 1],
            [192, 64, 64, 2],
            0x82,
        ),
        (
            "ops/sum.hwx",
            "probs@output",
            [1, 64, 1, 1],
            [4096, 64, 64, 2],
            0xFC2,
        ),
        (
            "ops/gemm.hwx",
            "probs@output",
            [1, 512, 1, 1],
            [0x8000, 64, 64, 2],
            0x7FC2,
        ),
        (
            "ops/concat.hwx",
            "output@output",
            [1, 16400, 1, 1],
            [0x100400, 64, 64, 2],
            0x10_03C2,
        ),
    ];
    for (rel, name, nchw, strides, extent) in cases {
        let bytes = read(&dir, rel);
        let hwx = Hwx::parse(&bytes).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let t = hwx
            .tensors
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("{rel}: no tensor {name}"));
        let l = t.layout.as_ref().unwrap_or_else(|| panic!("{rel}: {name}"));
        assert_eq!([l.n(), l.c(), l.h(), l.w()], nchw, "{rel}: {name} dims");
        let got: Vec<u64> = l.dims.iter().map(|d| d.stride).collect();
        assert_eq!(got, strides.to_vec(), "{rel}: {name} strides");
        let letters: String = l.dims.iter().map(|d| d.letter).collect();
        assert_eq!(letters, "nchw", "{rel}: {name}");
        let d = t
            .descriptor
            .as_ref()
            .unwrap_or_else(|| panic!("{rel}: {name}"));
        assert_eq!(d.extent, extent, "{rel}: {name} flavor-3 word 28");
        assert_eq!(
            d.dims,
            [1, nchw[1] as u32, 1, nchw[3] as u32, 1],
            "{rel}: {name}"
        );
    }
}

#[test]
fn slot_table_and_kernel_symbols_per_reference() {
    let Some(dir) = corpus() else { return };
    // §1.5: flavor-1 words.
    for (rel, w528, w530) in [("ops/conv.hwx", 0x11, 0x3), ("ops/concat.hwx", 0x7, 0x4)] {
        let bytes = read(&dir, rel);
        let hwx = Hwx::parse(&bytes).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let t = hwx.slot_table.as_ref().unwrap_or_else(|| panic!("{rel}"));
        assert_eq!(t.words.len(), 532, "{rel}: flavor-1 count");
        assert_eq!(t.words[512], 0x3000_0000, "{rel}: word 512");
        assert_eq!(t.words[514], 0x9C, "{rel}: word 514");
        assert_eq!(t.words[517], 0xFFFF, "{rel}: word 517");
        assert_eq!(t.words[523], 0x860, "{rel}: word 523");
        assert_eq!(
            (t.words[528], t.words[530]),
            (w528, w530),
            "{rel}: words 528/530"
        );
        assert_eq!(
            t.network_name.as_deref(),
            Some("net"),
            "{rel}: network name"
        );
        assert_eq!(
            hwx.load_commands[t.command_index as usize].cmdsize, 2152,
            "{rel}"
        );
    }
    // Concat slot addresses (§1.5 table).
    let bytes = read(&dir, "ops/concat.hwx");
    let hwx = Hwx::parse(&bytes).unwrap_or_else(|e| panic!("ops/concat.hwx: {e}"));
    let s = &hwx
        .slot_table
        .as_ref()
        .unwrap_or_else(|| panic!("concat"))
        .slots;
    assert_eq!(
        s[..7],
        [
            0x3000_0000,
            0x3000_0580,
            0,
            0,
            0x3010_C000,
            0x3000_8000,
            0x3000_C000
        ],
        "ops/concat.hwx: slots"
    );

    // §1.7: kernel symbols and relocation targets.
    let bytes = read(&dir, "ops/conv.hwx");
    let hwx = Hwx::parse(&bytes).unwrap_or_else(|e| panic!("ops/conv.hwx: {e}"));
    let ks: Vec<_> = hwx
        .kernel_symbols
        .iter()
        .map(|k| (k.channel, k.addr, k.const_offset))
        .collect();
    assert_eq!(
        ks,
        vec![
            (Some(0), 0x3000_0280, 0),
            (Some(1), 0x3000_02C0, 0x40),
            (Some(2), 0x3000_0300, 0x80)
        ],
        "ops/conv.hwx: kernel symbols"
    );
    for (i, r) in hwx.relocations.iter().enumerate() {
        assert_eq!(
            r.stored_value,
            Some(0x40 * i as u32),
            "ops/conv.hwx: reloc {i} value"
        );
        assert_eq!(
            r.file_offset,
            0x4074 + 4 * i as u64,
            "ops/conv.hwx: reloc {i}"
        );
        let target = r.target_symbol.as_deref().unwrap_or("");
        assert!(
            target.ends_with(&format!("_ne_{i}")),
            "ops/conv.hwx: reloc {i} -> {target}"
        );
    }
    let bytes = read(&dir, "ops/gemm.hwx");
    let hwx = Hwx::parse(&bytes).unwrap_or_else(|e| panic!("ops/gemm.hwx: {e}"));
    assert_eq!(hwx.kernel_symbols.len(), 16, "ops/gemm.hwx");
    for (i, r) in hwx.relocations.iter().enumerate() {
        assert_eq!(
            r.stored_value,
            Some(0x8000 * i as u32),
            "ops/gemm.hwx: reloc {i}"
        );
    }
    let bytes = read(&dir, "ops/sigmoid.hwx");
    let hwx = Hwx::parse(&bytes).unwrap_or_else(|e| panic!("ops/sigmoid.hwx: {e}"));
    assert_eq!(hwx.kernel_symbols.len(), 1, "ops/sigmoid.hwx");
    assert_eq!(
        hwx.kernel_symbols[0].channel, None,
        "ops/sigmoid.hwx: LUT symbol has no _ne_"
    );
    // Symbol counts of §1.7.
    for (rel, n) in [
        ("ops/relu.hwx", 14),
        ("ops/sum.hwx", 16),
        ("ops/concat.hwx", 16),
    ] {
        let bytes = read(&dir, rel);
        let hwx = Hwx::parse(&bytes).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert_eq!(hwx.symbols.len(), n, "{rel}: symbol count");
    }
}

#[test]
fn every_truncation_of_a_real_file_errors_with_an_offset() {
    let Some(dir) = corpus() else { return };
    let bytes = read(&dir, "ops/conv.hwx");
    // The container ends at the relocations (0x1148 + 3·8); __TEXT bytes are checked lazily.
    for len in (0..0x1160).step_by(7) {
        let cut = &bytes[..len];
        match Hwx::parse(cut) {
            Ok(_) => panic!("ops/conv.hwx truncated to {len} bytes parsed"),
            Err(e) => assert!(e.to_string().contains("0x"), "ops/conv.hwx[..{len}]: {e}"),
        }
    }
}
