//! anekit_core::npy against files written by numpy (scripts/gen_blob_fixtures.py).

use anekit_core::TensorData;
use anekit_core::npy::{NpyError, read_npy, write_npy};
use std::path::PathBuf;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_numpy_save_fixture_round_trips_byte_for_byte() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        // v2/v3 headers and the rejected variants are covered below.
        if !name.ends_with(".npy")
            || name.starts_with("npy_v")
            || name.contains("fortran")
            || name.contains("bigendian")
        {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let array = read_npy(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let out = write_npy(&array.shape, &array.data).unwrap();
        assert_eq!(out, bytes, "{name}: write_npy differs from numpy.save");
        checked += 1;
    }
    assert!(checked >= 19, "only {checked} fixtures");
}

#[test]
fn values_and_shapes_from_numpy() {
    let a = read_npy(&fixture("npy_v2_u2_2x3.npy")).unwrap();
    assert_eq!(a.shape, vec![2, 3]);
    assert_eq!(a.data, TensorData::U16(vec![0, 1, 2, 3, 4, 5]));
    let b = read_npy(&fixture("npy_v3_b1.npy")).unwrap();
    assert_eq!(b.shape, vec![3]);
    assert_eq!(b.data, TensorData::Bool(vec![true, false, true]));
    let i = read_npy(&fixture("npy_i8.npy")).unwrap();
    assert_eq!(i.data, TensorData::I64(vec![i64::MIN, (1 << 62) + 1]));
    let s = read_npy(&fixture("npy_u8_scalar.npy")).unwrap();
    assert_eq!(s.shape, Vec::<u64>::new());
    assert_eq!(s.data, TensorData::U64(vec![u64::MAX]));
    let u16s = read_npy(&fixture("u16_2x2.npy")).unwrap();
    assert_eq!(u16s.shape, vec![2, 2]);
    assert_eq!(u16s.data, TensorData::U16(vec![0, 1, 40000, 65535]));
    let f = read_npy(&fixture("f16_2x3.npy")).unwrap();
    let bits: Vec<u16> = match &f.data {
        TensorData::F16(v) => v.iter().map(|x| x.to_bits()).collect(),
        other => panic!("{other:?}"),
    };
    // 0, 1, -2, 65504, 2^-14, 0.33325195 as IEEE binary16 bit patterns.
    assert_eq!(bits, vec![0x0000, 0x3c00, 0xc000, 0x7bff, 0x0400, 0x3555]);
}

#[test]
fn fortran_order_and_big_endian_are_rejected() {
    assert_eq!(
        read_npy(&fixture("npy_fortran_f4.npy")),
        Err(NpyError::FortranOrder)
    );
    let err = read_npy(&fixture("npy_bigendian_i4.npy")).unwrap_err();
    assert_eq!(
        err,
        NpyError::BigEndian {
            descr: ">i4".into()
        }
    );
    assert!(err.to_string().contains("big-endian"));
}
