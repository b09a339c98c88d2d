//! The reader's checks (reference/mil-blob.md §1.6) on hand-made hostile files. Each file is
//! built field by field here, independently of the writer.

use anekit_blob::{BlobError, BlobFile, BlobWriter};
use anekit_core::{DType, TensorData};

/// Header + one record at 64 with the given fields, payload at `data_offset` if it fits.
fn file_with(
    count: u32,
    version: u32,
    sentinel: u32,
    code: u32,
    size: u64,
    data_offset: u64,
    pad: u64,
) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&count.to_le_bytes());
    f.extend_from_slice(&version.to_le_bytes());
    f.extend_from_slice(&[0; 56]);
    f.extend_from_slice(&sentinel.to_le_bytes());
    f.extend_from_slice(&code.to_le_bytes());
    f.extend_from_slice(&size.to_le_bytes());
    f.extend_from_slice(&data_offset.to_le_bytes());
    f.extend_from_slice(&pad.to_le_bytes());
    f.extend_from_slice(&[0; 32]);
    f
}

fn good() -> Vec<u8> {
    // fp16 [1.0, -2.0] = 00 3C 00 C0.
    let mut f = file_with(1, 2, 0xDEAD_BEEF, 1, 4, 128, 0);
    f.extend_from_slice(&[0x00, 0x3c, 0x00, 0xc0]);
    f
}

#[test]
fn hand_built_file_reads_and_matches_writer() {
    let f = good();
    let file = BlobFile::parse(&f).unwrap();
    let blob = file.blob_at(64, Some(DType::Fp16)).unwrap();
    assert_eq!(blob.data_offset, 128);
    assert_eq!(blob.decode().unwrap().to_f32(), vec![1.0, -2.0]);
    let mut w = BlobWriter::new();
    w.add(&TensorData::F16(vec![
        half::f16::from_f32(1.0),
        half::f16::from_f32(-2.0),
    ]))
    .unwrap();
    assert_eq!(w.finish(), f);
}

#[test]
fn reserved_words_are_ignored() {
    let mut f = good();
    f[64 + 0x20..64 + 0x40].fill(0xAA); // pre-iOS18 writers left these uninitialised
    f[8..64].fill(0x55);
    let file = BlobFile::parse(&f).unwrap();
    assert_eq!(file.blob_at(64, None).unwrap().element_count(), 2);
}

#[test]
fn version_other_than_2_is_rejected() {
    let mut f = good();
    f[4] = 1;
    assert!(matches!(
        BlobFile::parse(&f),
        Err(BlobError::Version { found: 1 })
    ));
}

#[test]
fn short_header_is_a_read_error_with_offset() {
    let f = good();
    match BlobFile::parse(&f[..40]) {
        Err(BlobError::Read(e)) => assert_eq!((e.offset, e.needed, e.available), (8, 56, 32)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_sentinel_names_its_offset() {
    let mut f = good();
    f[64] = 0xEE;
    let err = BlobFile::parse(&f).unwrap().blob_at(64, None).unwrap_err();
    assert!(
        matches!(
            err,
            BlobError::Sentinel {
                offset: 64,
                found: 0xDEAD_BEEE
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("0x40"));
}

#[test]
fn misaligned_and_header_offsets_are_rejected() {
    let f = good();
    let file = BlobFile::parse(&f).unwrap();
    assert!(matches!(
        file.blob_at(65, None),
        Err(BlobError::Misaligned { offset: 65 })
    ));
    assert!(matches!(
        file.blob_at(0, None),
        Err(BlobError::Misaligned { offset: 0 })
    ));
    // A record past the end is a truncated read at that offset.
    match file.blob_at(1 << 40, None) {
        Err(BlobError::Read(e)) => assert_eq!(e.offset, 1 << 40),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_dtype_and_mismatch() {
    let mut f = good();
    f[68] = 18;
    let file = BlobFile::parse(&f).unwrap();
    assert!(matches!(
        file.blob_at(64, None),
        Err(BlobError::UnknownDtype {
            offset: 64,
            code: 18
        })
    ));
    let f = good();
    let file = BlobFile::parse(&f).unwrap();
    assert!(matches!(
        file.blob_at(64, Some(DType::Fp32)),
        Err(BlobError::DtypeMismatch {
            found: DType::Fp16,
            expected: DType::Fp32,
            ..
        })
    ));
}

#[test]
fn payload_outside_the_file_and_overflow() {
    for (size, data_offset) in [
        (5u64, 128u64),
        (4, 129),
        (u64::MAX, 128),
        (16, u64::MAX - 8),
    ] {
        let mut f = file_with(1, 2, 0xDEAD_BEEF, 1, size, data_offset, 0);
        f.extend_from_slice(&[0; 4]);
        let err = BlobFile::parse(&f).unwrap().blob_at(64, None).unwrap_err();
        assert!(
            matches!(
                err,
                BlobError::DataOutOfRange {
                    offset: 64,
                    file_len: 132,
                    ..
                }
            ),
            "size {size} at {data_offset}: {err:?}"
        );
    }
}

#[test]
fn sizes_that_are_not_whole_elements() {
    // 3 bytes of fp16.
    let mut f = file_with(1, 2, 0xDEAD_BEEF, 1, 3, 128, 0);
    f.extend_from_slice(&[0; 3]);
    assert!(matches!(
        BlobFile::parse(&f).unwrap().blob_at(64, None),
        Err(BlobError::BadSize { size: 3, .. })
    ));
    // uint3 with 4 bytes and padding 4: 28 bits is not a multiple of 3.
    let mut f = file_with(1, 2, 0xDEAD_BEEF, 12, 4, 128, 4);
    f.extend_from_slice(&[0; 4]);
    assert!(matches!(
        BlobFile::parse(&f).unwrap().blob_at(64, None),
        Err(BlobError::BadSize {
            padding_bits: 4,
            ..
        })
    ));
    // padding ≥ 8 bits.
    let mut f = file_with(1, 2, 0xDEAD_BEEF, 11, 4, 128, 8);
    f.extend_from_slice(&[0; 4]);
    assert!(BlobFile::parse(&f).unwrap().blob_at(64, None).is_err());
}

#[test]
fn shape_check() {
    let f = good();
    let blob = BlobFile::parse(&f).unwrap().blob_at(64, None).unwrap();
    blob.check_shape(&[2]).unwrap();
    blob.check_shape(&[1, 2, 1]).unwrap();
    assert!(matches!(
        blob.check_shape(&[3]),
        Err(BlobError::ElementCount {
            offset: 64,
            found: 2,
            expected: 3,
            ..
        })
    ));
    assert!(blob.check_shape(&[u64::MAX, 4]).is_err());
    let file = BlobFile::parse(&f).unwrap();
    assert_eq!(file.blob_for(64, DType::Fp16, &[2, 1]).unwrap(), blob);
    assert!(matches!(
        file.blob_for(64, DType::Fp16, &[4]),
        Err(BlobError::ElementCount {
            found: 2,
            expected: 4,
            ..
        })
    ));
    assert!(matches!(
        file.blob_for(64, DType::Int16, &[2]),
        Err(BlobError::DtypeMismatch { .. })
    ));
}

#[test]
fn hostile_count_iterates_lazily_and_stops_at_first_error() {
    let mut f = good();
    f[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
    let file = BlobFile::parse(&f).unwrap();
    let items: Vec<_> = file.blobs().collect();
    assert_eq!(items.len(), 2);
    assert!(items[0].is_ok());
    // The second record would be at align64(132) = 192, past the end.
    match &items[1] {
        Err(BlobError::Read(e)) => assert_eq!(e.offset, 192),
        other => panic!("{other:?}"),
    }
    // scan() ignores the count and ends cleanly at end of file.
    assert_eq!(file.scan().filter(Result::is_ok).count(), 1);
    assert_eq!(file.scan().count(), 1);
}

#[test]
fn hand_built_multi_blob_file_with_count_1_scans() {
    // mil-blob.md §4: third-party builders write count 1 for several blobs.
    let mut w = BlobWriter::new();
    w.add(&TensorData::U8(vec![1, 2, 3])).unwrap();
    w.add(&TensorData::U8(vec![4])).unwrap();
    let mut f = w.finish();
    f[0] = 1;
    let file = BlobFile::parse(&f).unwrap();
    assert_eq!(file.blobs().count(), 1);
    let offsets: Vec<u64> = file.scan().map(|b| b.unwrap().metadata_offset).collect();
    assert_eq!(offsets, vec![64, 192]);
}

#[test]
fn append_refuses_a_broken_file() {
    let mut f = good();
    f[64] = 0;
    assert!(matches!(
        BlobWriter::append_to(f),
        Err(BlobError::Sentinel { .. })
    ));
}

#[test]
fn every_blob_dtype_round_trips_through_the_writer() {
    let cases = vec![
        TensorData::F16(vec![
            half::f16::from_bits(0x7bff),
            half::f16::from_bits(0x0001),
        ]),
        TensorData::Bf16(vec![half::bf16::from_bits(0x3f80)]),
        TensorData::F32(vec![f32::MIN_POSITIVE, -0.0]),
        TensorData::I8(vec![-128, 127]),
        TensorData::U8(vec![255]),
        TensorData::I16(vec![-32768]),
        TensorData::U16(vec![65535]),
        TensorData::I32(vec![i32::MIN]),
        TensorData::U32(vec![u32::MAX]),
        TensorData::I4(vec![-8, -1, 0, 7, 3]),
        TensorData::U1(vec![1, 0, 1]),
        TensorData::U2(vec![3, 0, 2]),
        TensorData::U3(vec![7, 1, 4, 2]),
        TensorData::U4(vec![15, 0, 8]),
        TensorData::U6(vec![63, 1, 32]),
        TensorData::F8E4M3Fn(vec![0x7e, 0x01]),
        TensorData::F8E5M2(vec![0x7c, 0x3c]),
    ];
    let mut w = BlobWriter::new();
    let offsets: Vec<u64> = cases.iter().map(|c| w.add(c).unwrap()).collect();
    let bytes = w.finish();
    let file = BlobFile::parse(&bytes).unwrap();
    assert_eq!(file.count() as usize, cases.len());
    for (case, off) in cases.iter().zip(offsets) {
        let blob = file.blob_at(off, Some(case.dtype())).unwrap();
        assert_eq!(&blob.decode().unwrap(), case);
        assert_eq!(blob.dtype.blob_code(), case.dtype().blob_code());
    }
    // bf16 0x3f80 = 1.0; fp8 E4M3FN 0x7e = 448; E5M2 0x7c = inf.
    let f8 = file.blobs().nth(15).unwrap().unwrap().decode().unwrap();
    assert_eq!(f8.to_f32(), vec![448.0, 2f32.powi(-9)]);
}
