//! The generated fixtures of scripts/gen_pbze_fixtures.py: PBZE files made by the reference
//! encoder (PyPI `lzfse`), a synthetic net in Python-json and compact styles with every typed
//! layer, and its weights and shape companions. Expected values come from manifest.json, which
//! the script computes independently of this crate.

use anekit_espresso::bundle::{Bundle, blobs_without_shape};
use anekit_espresso::lzfse::DEFAULT_LIMIT;
use anekit_espresso::pbze::{self, PbzeError};
use anekit_espresso::{ActivationMode, ElementwiseOp, EspressoNet, LayerParams, WeightsTable};
use serde_json::Value;
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn manifest() -> Value {
    serde_json::from_slice(&read("manifest.json")).unwrap()
}

const CASES: [&str; 6] = ["empty", "tiny", "small", "under4k", "net", "shape"];

#[test]
fn reference_pbze_files_decode_to_their_payloads() {
    let m = manifest();
    for case in CASES {
        let file = format!("{case}.pbze");
        let data = read(&file);
        let payload = read(&format!("payload_{case}.bin"));
        let exp = &m["pbze"][case];
        let info = pbze::read_info(&data, DEFAULT_LIMIT).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(info.file_size, exp["file_size"].as_u64().unwrap(), "{file}");
        assert_eq!(info.flags, 0x4000_0000, "{file}");
        assert_eq!(info.chunks.len(), 1, "{file}");
        assert_eq!(
            info.uncompressed_size,
            exp["uncompressed_size"].as_u64().unwrap(),
            "{file}"
        );
        assert_eq!(
            info.compressed_size,
            exp["compressed_size"].as_u64().unwrap(),
            "{file}"
        );
        assert!(info.warnings.is_empty(), "{file}: {:?}", info.warnings);
        let magics: Vec<&str> = info.chunks[0]
            .stream
            .blocks
            .iter()
            .map(|b| b.kind.magic())
            .collect();
        let expected: Vec<&str> = exp["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(magics, expected, "{file}");
        // The first chunk's stream starts right after the 28-byte header.
        assert_eq!(info.chunks[0].stream.blocks[0].offset, 28, "{file}");
        let out = pbze::decode(&data, DEFAULT_LIMIT).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(
            out == payload,
            "{file}: decoded bytes differ from payload_{case}.bin"
        );
    }
}

// Byte-identical output needs the reference encoder (feature `reference-encoder`, which the
// CLI turns on, so `cargo test --workspace` runs this test).
#[cfg(feature = "reference-encoder")]
#[test]
fn encode_reproduces_the_reference_bytes() {
    let m = manifest();
    for case in CASES {
        let payload = read(&format!("payload_{case}.bin"));
        let expected = read(&format!("{case}.pbze"));
        let ours = pbze::encode(&payload).unwrap();
        assert!(
            ours == expected,
            "{case}.pbze: encode output differs from the reference"
        );
        let header_hex: String = ours[..28].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            header_hex,
            m["pbze"][case]["header_hex"].as_str().unwrap(),
            "{case}"
        );
    }
}

#[test]
fn broken_pbze_files_are_rejected_with_the_reason() {
    let good = read("net.pbze");
    let mut bad_magic = good.clone();
    bad_magic[0] = b'x';
    assert!(matches!(
        pbze::decode(&bad_magic, DEFAULT_LIMIT),
        Err(PbzeError::BadMagic { .. })
    ));

    let err = pbze::decode(&good[..20], DEFAULT_LIMIT).unwrap_err();
    assert!(
        matches!(err, PbzeError::Truncated(ref e) if e.offset == 20),
        "{err}"
    );

    // Uncompressed size that disagrees with the blocks.
    let mut wrong_size = good.clone();
    wrong_size[19] ^= 1;
    assert!(matches!(
        pbze::decode(&wrong_size, DEFAULT_LIMIT),
        Err(PbzeError::RawSizeMismatch { offset: 12, .. })
    ));

    // Compressed size larger than the file.
    let mut too_long = good.clone();
    too_long[27] = too_long[27].wrapping_add(1);
    let err = pbze::decode(&too_long, DEFAULT_LIMIT).unwrap_err();
    assert!(matches!(err, PbzeError::Truncated(_)), "{err}");

    // Missing bvx$: drop it and shrink the declared compressed size to match.
    let mut no_end = good[..good.len() - 4].to_vec();
    let size = u64::from_be_bytes(no_end[20..28].try_into().unwrap()) - 4;
    no_end[20..28].copy_from_slice(&size.to_be_bytes());
    let err = pbze::decode(&no_end, DEFAULT_LIMIT).unwrap_err();
    assert!(err.to_string().contains("LZFSE block magic"), "{err}");

    // A declared size over the caller's limit is refused before anything is decoded.
    assert!(matches!(
        pbze::decode(&good, 100),
        Err(PbzeError::TooLarge { limit: 100, .. })
    ));

    // An unusual header field is tolerated with a warning.
    let mut odd_flags = good.clone();
    odd_flags[8] = 0x20;
    let info = pbze::read_info(&odd_flags, DEFAULT_LIMIT).unwrap();
    assert_eq!(info.flags, 0x2000_0000);
    assert_eq!(info.warnings.len(), 1);
}

#[test]
fn python_compact_and_pbze_styles_give_the_same_typed_net() {
    let m = manifest();
    let python = EspressoNet::parse_bytes(&read("synthetic.espresso.net"), DEFAULT_LIMIT).unwrap();
    let compact = EspressoNet::parse_bytes(&read("compact.espresso.net"), DEFAULT_LIMIT).unwrap();
    let from_pbze = EspressoNet::parse_bytes(&read("net.pbze"), DEFAULT_LIMIT).unwrap();
    assert_eq!(python, compact);
    assert_eq!(python, from_pbze);
    let net = python;

    let names: Vec<&str> = net.layers.iter().map(|l| l.name.as_str()).collect();
    let exp_names: Vec<&str> = m["net"]["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(names, exp_names);
    for (t, n) in m["net"]["types"].as_object().unwrap() {
        let got = net
            .type_counts()
            .iter()
            .find(|(x, _)| x == t)
            .map_or(0, |(_, c)| *c);
        assert_eq!(got as u64, n.as_u64().unwrap(), "type {t}");
    }
    assert_eq!(net.properties["ane_compiler_batch"], "1");
    assert_eq!(
        net.extra.keys().collect::<Vec<_>>(),
        vec!["zz_top_level_unknown"]
    );

    let LayerParams::Convolution(c) = &net.layers[0].params else {
        panic!()
    };
    assert_eq!((c.c, c.k, c.nx, c.ny), (Some(8), Some(3), Some(3), Some(3)));
    assert_eq!((c.stride_x, c.stride_y), (Some(2), None));
    // `true` and `0` are both flags.
    assert_eq!((c.fused_relu, c.has_batch_norm), (Some(true), Some(false)));
    assert_eq!(c.padding.top, Some(1));
    assert_eq!(
        net.layers[0].extra.keys().collect::<Vec<_>>(),
        vec!["zz_future_key"]
    );

    let LayerParams::Activation(a) = &net.layers[2].params else {
        panic!()
    };
    assert_eq!(a.mode, Some(ActivationMode::Unknown(3)));
    assert_eq!(
        a.mode.unwrap().to_string(),
        "unknown activation mode 3 (claimed sigmoid by espresso2onnx; unverified)"
    );
    let ops: Vec<Option<ElementwiseOp>> = net.layers[4..7]
        .iter()
        .map(|l| match &l.params {
            LayerParams::Elementwise(e) => e.operation,
            _ => None,
        })
        .collect();
    assert_eq!(
        ops,
        vec![
            Some(ElementwiseOp::AddAlpha),
            Some(ElementwiseOp::Clip),
            Some(ElementwiseOp::Unknown(10))
        ]
    );
    assert_eq!(net.layers[6].bottom, vec!["clip_out", "add3_out"]);
    let LayerParams::SplitNd { nd_axis, begins } = &net.layers[9].params else {
        panic!()
    };
    assert_eq!((*nd_axis, begins.clone()), (Some(-1), vec![(0, 0), (1, 2)]));
    assert_eq!(net.layers[9].top, vec!["s0", "s1"]);
    let lstm = &net.layers[10];
    assert_eq!(
        lstm.weights,
        vec![("W_t_x".to_string(), 11), ("b".to_string(), 13)]
    );
    assert_eq!(
        lstm.extra.keys().collect::<Vec<_>>(),
        vec!["cell_clip_threshold"]
    );
    let future = &net.layers[11];
    assert_eq!(future.params, LayerParams::Other);
    assert_eq!(future.extra.keys().collect::<Vec<_>>(), vec!["knob"]);
    assert!(future.is_output());
}

#[test]
fn synthetic_bundle_resolves_every_blob() {
    let m = manifest();
    let data = read("synthetic.espresso.weights");
    let t = WeightsTable::parse(&data).unwrap();
    let entries: Vec<(u64, u64, u64)> = m["weights"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["id"].as_u64().unwrap(),
                e["size"].as_u64().unwrap(),
                e["offset"].as_u64().unwrap(),
            )
        })
        .collect();
    let got: Vec<(u64, u64, u64)> = t.entries.iter().map(|e| (e.id, e.size, e.offset)).collect();
    assert_eq!(got, entries);
    assert_eq!(t.file_size, m["weights"]["file_size"].as_u64().unwrap());
    // The script fills blob i with byte i.
    assert!(t.blob(&data, 9).unwrap().iter().all(|&b| b == 9));

    let b = Bundle::open(&dir().join("synthetic.espresso.net"), DEFAULT_LIMIT).unwrap();
    let refs = b.blob_refs();
    let ids: Vec<u64> = refs.iter().map(|r| r.id).collect();
    assert_eq!(ids, vec![3, 1, 5, 9, 7, 11, 13]);
    assert!(refs.iter().all(|r| r.size.is_some()));
    let shape = b.shape.as_ref().unwrap();
    assert_eq!(
        shape.shapes.len() as u64,
        m["net"]["shape_blobs"].as_u64().unwrap()
    );
    assert!(blobs_without_shape(&b.net, shape).is_empty());
    // The PBZE-compressed shape parses to the same shapes.
    let from_pbze =
        anekit_espresso::ShapeFile::parse_bytes(&read("shape.pbze"), DEFAULT_LIMIT).unwrap();
    assert_eq!(&from_pbze, shape);
    assert_eq!(
        b.net
            .layers
            .iter()
            .filter(|l| l.type_name == "elementwise")
            .count(),
        3
    );
}
