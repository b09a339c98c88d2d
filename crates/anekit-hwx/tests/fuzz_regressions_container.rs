//! Regressions found by fuzzing the container and .anec targets (fuzz/fuzz_targets/
//! hwx_container.rs, anec.rs). Inputs are built here, byte by byte, from the layout of
//! reference/hwx-td.md §1.

use anekit_hwx::anec::{Anec, AnecError};
use anekit_hwx::container::Hwx;

fn push_u32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_le_bytes());
}
fn push_u64(v: &mut Vec<u8>, x: u64) {
    v.extend_from_slice(&x.to_le_bytes());
}
fn push_name(v: &mut Vec<u8>, name: &str) {
    let mut b = [0u8; 16];
    b[..name.len()].copy_from_slice(name.as_bytes());
    v.extend_from_slice(&b);
}

/// A minimal hwx: one `__TEXT` segment with a `__text` section (`text_offset`, `text_size`)
/// and a flavor-1 LC_THREAD saying 1 TD of 0x274 bytes.
fn minimal_hwx(text_offset: u32, text_size: u64) -> Vec<u8> {
    let mut cmds = Vec::new();
    // LC_SEGMENT_64 __TEXT with one section.
    push_u32(&mut cmds, 0x19);
    push_u32(&mut cmds, 72 + 80);
    push_name(&mut cmds, "__TEXT");
    for x in [0x3000_0000u64, 0x4000, 0x4000, 0x4000] {
        push_u64(&mut cmds, x);
    }
    for x in [5u32, 5, 1, 0] {
        push_u32(&mut cmds, x);
    }
    push_name(&mut cmds, "__text");
    push_name(&mut cmds, "__TEXT");
    push_u64(&mut cmds, 0x3000_0000);
    push_u64(&mut cmds, text_size);
    for x in [text_offset, 14, 0, 0, 0x28, 0, 0, 0] {
        push_u32(&mut cmds, x);
    }
    // LC_THREAD flavor 1, 532 words: word 514 = 0x9C, word 515 = 1.
    push_u32(&mut cmds, 0x4);
    push_u32(&mut cmds, 16 + 532 * 4);
    push_u32(&mut cmds, 1);
    push_u32(&mut cmds, 532);
    for i in 0..532u32 {
        push_u32(
            &mut cmds,
            [0x9C, 1][..]
                .get(i.wrapping_sub(514) as usize)
                .copied()
                .unwrap_or(0),
        );
    }
    let mut file = Vec::new();
    for x in [
        0xBEEF_FACEu32,
        0x80,
        4,
        2,
        2,
        cmds.len() as u32,
        0x0020_0000,
        0,
    ] {
        push_u32(&mut file, x);
    }
    file.extend_from_slice(&cmds);
    file.resize(0x4000 + 0x274, 0);
    file
}

#[test]
fn builder_sanity() {
    let bytes = minimal_hwx(0x4000, 0x274);
    let hwx = Hwx::parse(&bytes).unwrap();
    assert_eq!((hwx.td_count(), hwx.td_size()), (Some(1), Some(0x274)));
    assert_eq!(hwx.text_bytes().unwrap().len(), 0x274);
}

/// crash-f0b5d33b: a `__text` with file offset 0 and a 0x4273000000-byte size made
/// `Anec::from_hwx` allocate the claimed size (out of memory).
#[test]
fn text_without_file_bytes_is_an_error_not_an_allocation() {
    let bytes = minimal_hwx(0, 0x42_7300_0000);
    let hwx = Hwx::parse(&bytes).unwrap();
    assert_eq!(
        Anec::from_hwx(&hwx),
        Err(AnecError::SectionNotInFile {
            section: "__TEXT,__text",
            size: 0x42_7300_0000
        })
    );
}

/// A `__text` whose size runs past the end of the file is a read error with the offset.
#[test]
fn text_past_the_end_reports_the_offset() {
    let bytes = minimal_hwx(0x4000, 0x10_0000);
    let hwx = Hwx::parse(&bytes).unwrap();
    let e = Anec::from_hwx(&hwx).unwrap_err();
    assert!(e.to_string().contains("0x4000"), "{e}");
}

/// Many symbols naming the same long string: without a copy budget, a 124 KB file would make
/// 240 MB of name copies (quadratic growth). Now an error at the string table's offset.
#[test]
fn shared_symbol_strings_cannot_multiply_memory() {
    const NSYMS: u32 = 4000;
    const NAME_LEN: usize = 60_000;
    let symoff = 32 + 24;
    let stroff = symoff + 16 * NSYMS;
    let mut file = Vec::new();
    for x in [0xBEEF_FACEu32, 0x80, 4, 2, 1, 24, 0, 0] {
        push_u32(&mut file, x);
    }
    for x in [0x2u32, 24, symoff, NSYMS, stroff, NAME_LEN as u32 + 1] {
        push_u32(&mut file, x);
    }
    for _ in 0..NSYMS {
        push_u32(&mut file, 0); // n_strx: all the same string
        file.extend_from_slice(&[0x0F, 0, 0, 0]);
        push_u64(&mut file, 0);
    }
    file.extend(std::iter::repeat_n(b'A', NAME_LEN));
    file.push(0);
    let e = Hwx::parse(&file).unwrap_err();
    assert!(
        matches!(e, anekit_hwx::container::HwxError::TooMuchOutput { offset, .. } if offset == u64::from(stroff)),
        "{e}"
    );
}
