//! `.anec` conformance: headers derived from the staged tinygrad `.hwx` files (reference
//! hwx-td.md §7.3) and the headerless eiln payloads against `kernels-metadata.json` (§7.4).

use anekit_hwx::anec::{Anec, AnecHeader, SlotKind, scan_payload};
use anekit_hwx::container::Hwx;
use std::path::Path;

fn read(dir: &Path, rel: &str) -> Vec<u8> {
    std::fs::read(dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: cannot read: {e}"))
}

/// (file, tsk_size, krn_size, size, td_count, tiles by slot, nchw by slot) from §7.3.
type Row = (
    &'static str,
    u64,
    u64,
    u64,
    u32,
    &'static [(usize, u32)],
    &'static [(usize, [u64; 6])],
);

const RELU_NCHW: [u64; 6] = [1, 1, 1, 77, 0xC0, 0xC0];
const CONV_NCHW: [u64; 6] = [1, 3, 1, 1, 0x40, 0x40];
const SUM_NCHW: [u64; 6] = [1, 64, 1, 1, 0x40, 0x40];
const GEMM_NCHW: [u64; 6] = [1, 512, 1, 1, 0x40, 0x40];

const ROWS: [Row; 7] = [
    (
        "ops/relu.hwx",
        0x274,
        0x4000,
        0x4280,
        1,
        &[(0, 2), (4, 1), (5, 1)],
        &[(4, RELU_NCHW), (5, RELU_NCHW)],
    ),
    (
        "ops/sigmoid.hwx",
        0x274,
        0x80,
        0x300,
        1,
        &[(0, 1), (4, 1), (5, 1)],
        &[(4, RELU_NCHW), (5, RELU_NCHW)],
    ),
    (
        "ops/sum.hwx",
        0x274,
        0x4000,
        0x4280,
        1,
        &[(0, 2), (4, 1), (5, 1), (6, 1)],
        &[(4, SUM_NCHW), (5, SUM_NCHW), (6, SUM_NCHW)],
    ),
    (
        "ops/conv.hwx",
        0x274,
        0xC0,
        0x340,
        1,
        &[(0, 1), (4, 1), (5, 1)],
        &[(4, CONV_NCHW), (5, CONV_NCHW)],
    ),
    (
        "2_compile/model.hwx.golden",
        0x274,
        0xC0,
        0x340,
        1,
        &[(0, 1), (4, 1), (5, 1)],
        &[(4, CONV_NCHW), (5, CONV_NCHW)],
    ),
    (
        "ops/gemm.hwx",
        0x274,
        0x80000,
        0x80280,
        1,
        &[(0, 33), (4, 2), (5, 2)],
        &[(4, GEMM_NCHW), (5, GEMM_NCHW)],
    ),
    (
        "ops/concat.hwx",
        0x574,
        0x4000,
        0x4580,
        2,
        &[(0, 2), (4, 65), (5, 1), (6, 64)],
        &[
            (4, [1, 16400, 1, 1, 0x40, 0x40]),
            (5, [1, 16, 1, 1, 0x40, 0x40]),
            (6, [1, 16384, 1, 1, 0x40, 0x40]),
        ],
    ),
];

#[test]
fn anec_from_each_tinygrad_hwx_has_the_derived_header() {
    let Some(dir) = anekit_core::corpus::corpus_dir("tinygrad-ane") else {
        return;
    };
    for (rel, tsk, krn, size, td_count, tiles, nchw) in ROWS {
        let bytes = read(&dir, rel);
        let hwx = Hwx::parse(&bytes).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let file = Anec::from_hwx(&hwx).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert_eq!(file.len() as u64, 0x1000 + size, "{rel}: .anec length");
        let anec = Anec::parse(&file).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let h = &anec.header;
        assert_eq!(
            (h.tsk_size, h.krn_size, h.size),
            (tsk, krn, size),
            "{rel}: sizes"
        );
        assert_eq!((h.td_count, h.td_size), (td_count, 0x274), "{rel}: TDs");
        let inputs = nchw.len() as u32 - 1;
        assert_eq!((h.src_count, h.dst_count), (inputs, 1), "{rel}: counts");
        let mut want_tiles = [0u32; 32];
        for &(slot, t) in tiles {
            want_tiles[slot] = t;
        }
        assert_eq!(h.tiles, want_tiles, "{rel}: tiles");
        let mut want_nchw = [[0u64; 6]; 32];
        for &(slot, v) in nchw {
            want_nchw[slot] = v;
        }
        assert_eq!(h.nchw, want_nchw, "{rel}: nchw");
        assert!(h.issues().is_empty(), "{rel}: {:?}", h.issues());
        // Payload = hwx[0x4000 .. 0x4000 + size] (§7.3; tsk_start = first TD offset 0x4000).
        assert_eq!(
            anec.payload,
            &bytes[0x4000..0x4000 + size as usize],
            "{rel}: payload"
        );
        assert_eq!(anec.trailing_bytes, 0, "{rel}");
        // The header round-trips byte for byte.
        assert_eq!(h.to_bytes(), file[..0x1000], "{rel}: header bytes");
        assert_eq!(AnecHeader::parse(&file[..0x1000]).as_ref(), Ok(h), "{rel}");
    }
}

#[test]
fn anec_slots_match_the_hwx_tensor_bindings() {
    let Some(dir) = anekit_core::corpus::corpus_dir("tinygrad-ane") else {
        return;
    };
    for (rel, ..) in ROWS {
        let bytes = read(&dir, rel);
        let hwx = Hwx::parse(&bytes).unwrap_or_else(|e| panic!("{rel}: {e}"));
        let (h, _) = Anec::header_from_hwx(&hwx).unwrap_or_else(|e| panic!("{rel}: {e}"));
        for t in &hwx.tensors {
            let slot = usize::from(t.slot.unwrap_or_else(|| panic!("{rel}: {}", t.name)));
            let kind = h.slot_kind(slot);
            let want = match t.role {
                anekit_hwx::container::TensorRole::Input => SlotKind::Input,
                _ => SlotKind::Output,
            };
            assert_eq!(kind, want, "{rel}: {} slot {slot}", t.name);
        }
    }
}

#[test]
fn eiln_payloads_agree_with_kernels_metadata() {
    let Some(dir) = anekit_core::corpus::corpus_dir("asahi-ane") else {
        return;
    };
    let dir = dir.join("eiln-ane-h13-kernels");
    let meta: serde_json::Value = serde_json::from_slice(&read(&dir, "kernels-metadata.json"))
        .unwrap_or_else(|e| panic!("kernels-metadata.json: {e}"));
    let kernels = meta["kernels"]
        .as_array()
        .unwrap_or_else(|| panic!("kernels-metadata.json: no kernels"));
    assert_eq!(kernels.len(), 36, "kernels-metadata.json: kernel count");
    for k in kernels {
        let rel = k["file"]
            .as_str()
            .unwrap_or_else(|| panic!("metadata entry without file"));
        let bytes = read(&dir, rel);
        let num = |f: &str| {
            k[f].as_u64()
                .unwrap_or_else(|| panic!("{rel}: metadata {f}"))
        };
        let scan = scan_payload(&bytes).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert_eq!(scan.size, num("size"), "{rel}: size");
        assert_eq!(u64::from(scan.td_count), num("td_count"), "{rel}: td_count");
        assert_eq!(u64::from(scan.td_size), num("td_size"), "{rel}: td_size");
        // eiln's softmin header declares tsk_size 0x1774 (8 TD slots) although its chain ends
        // after 6 TDs at 0x1174; its kernel bytes sit at 0x1180, right after the chain, and
        // 0x1780.. (where the header puts them) is zero. Every other payload agrees exactly.
        let tsk = num("tsk_size");
        let expected_chain_end = if rel == "activation/softmin.bin" {
            0x1174
        } else {
            tsk
        };
        assert_eq!(
            scan.tsk_size, expected_chain_end,
            "{rel}: end of the TD chain"
        );
        let krn = bytes.len() as u64 - tsk.next_multiple_of(16);
        assert_eq!(krn, num("krn_size"), "{rel}: krn_size");
        if scan.tsk_size == tsk {
            assert_eq!(scan.krn_size, krn, "{rel}: scanned krn_size");
        }
        let cmd_tiles = k["tiles_16k"]["0"]
            .as_u64()
            .unwrap_or_else(|| panic!("{rel}: tiles 0"));
        assert_eq!(scan.command_tiles, cmd_tiles, "{rel}: command tiles");
        // TDs at the 0x300 stride, 0x274 bytes each (§7.4).
        for (i, &(off, len)) in scan.tds.iter().enumerate() {
            assert_eq!((off, len), (0x300 * i as u64, 0x274), "{rel}: TD {i}");
        }
    }
}

#[test]
fn truncated_anec_files_fail_with_offsets() {
    let Some(dir) = anekit_core::corpus::corpus_dir("tinygrad-ane") else {
        return;
    };
    let bytes = read(&dir, "ops/conv.hwx");
    let hwx = Hwx::parse(&bytes).unwrap_or_else(|e| panic!("ops/conv.hwx: {e}"));
    let file = Anec::from_hwx(&hwx).unwrap_or_else(|e| panic!("ops/conv.hwx: {e}"));
    for len in (0..file.len()).step_by(13) {
        let e = Anec::parse(&file[..len])
            .err()
            .unwrap_or_else(|| panic!("conv.anec[..{len}] parsed"));
        assert!(e.to_string().contains("0x"), "conv.anec[..{len}]: {e}");
    }
}
