//! The writer against coremltools' own `_BlobStorageWriter`: the fixtures were written by
//! scripts/gen_blob_fixtures.py from the .npy inputs beside them.

use anekit_blob::{BlobFile, BlobWriter};
use anekit_core::{DType, npy::read_npy};
use std::path::PathBuf;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

#[test]
fn writer_matches_coremltools_byte_for_byte() {
    let dir = fixtures();
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let files = expected.as_object().unwrap();
    assert_eq!(files.len(), 7);
    for (name, spec) in files {
        let dtype = spec["dtype"]
            .as_str()
            .map(|d| DType::from_mil_name(d).unwrap());
        let reference = std::fs::read(dir.join(name)).unwrap();
        let mut w = BlobWriter::new();
        let inputs = spec["inputs"].as_array().unwrap();
        let offsets = spec["offsets"].as_array().unwrap();
        let mut arrays = Vec::new();
        for (input, offset) in inputs.iter().zip(offsets) {
            let path = dir.join(input.as_str().unwrap());
            let array = read_npy(&std::fs::read(&path).unwrap()).unwrap();
            let data = match dtype {
                Some(d) => array.data.convert(d).unwrap(),
                None => array.data,
            };
            let got = w.add(&data).unwrap();
            assert_eq!(Some(got), offset.as_u64(), "{name}: {}", path.display());
            arrays.push((got, data));
        }
        assert_eq!(
            w.finish(),
            reference,
            "{name}: bytes differ from coremltools"
        );

        // And the reader decodes coremltools' file back to the inputs.
        let file = BlobFile::parse(&reference).unwrap();
        assert_eq!(file.count() as usize, arrays.len(), "{name}");
        for (offset, data) in arrays {
            let blob = file.blob_at(offset, Some(data.dtype())).unwrap();
            assert_eq!(blob.decode().unwrap(), data, "{name} blob at {offset}");
        }
    }
}

#[test]
fn append_continues_a_coremltools_file() {
    let dir = fixtures();
    let reference = std::fs::read(dir.join("mixed.weight.bin")).unwrap();
    let mut first = BlobWriter::new();
    let f16 = read_npy(&std::fs::read(dir.join("f16_2x3.npy")).unwrap()).unwrap();
    first.add(&f16.data).unwrap();
    // Appending the remaining inputs to a one-blob file gives the full coremltools file.
    let mut w = BlobWriter::append_to(first.finish()).unwrap();
    for name in [
        "f32_4", "i8_5", "u8_7", "i16_3", "u16_2x2", "i32_3", "u32_2", "f16_rand",
    ] {
        let a = read_npy(&std::fs::read(dir.join(format!("{name}.npy"))).unwrap()).unwrap();
        w.add(&a.data).unwrap();
    }
    assert_eq!(w.count(), 9);
    assert_eq!(w.finish(), reference);
}
