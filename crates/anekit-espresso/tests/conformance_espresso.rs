//! Conformance over the real files of the corpus: the Chiron `.mlmodelc` Espresso trio
//! (genuine Apple compiler output) and tinygrad's ANECompiler plists and weights.
//! Expected values are the [verified] facts of reference/espresso.md §4, §5, §6, §9.

use anekit_core::corpus::corpus_dir;
use anekit_espresso::bundle::{Bundle, blobs_without_shape};
use anekit_espresso::lzfse::DEFAULT_LIMIT;
use anekit_espresso::net_plist::UnitParams;
use anekit_espresso::{LayerParams, NetPlist, PoolKind, WeightsTable};
use std::path::{Path, PathBuf};

fn chiron() -> Option<PathBuf> {
    corpus_dir("espresso").map(|d| d.join("ameeSun__Chiron-Swift-Student-Challenge"))
}

#[test]
fn chiron_weights_table_is_exactly_the_reference_table() {
    let Some(dir) = chiron() else { return };
    let path = dir.join("model.espresso.weights");
    let data = std::fs::read(&path).unwrap();
    let t = WeightsTable::parse(&data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let expected: [(u64, u64); 24] = [
        (0, 56),
        (1, 512),
        (2, 0),
        (3, 12800),
        (4, 0),
        (5, 256),
        (6, 0),
        (7, 819200),
        (8, 0),
        (9, 128),
        (10, 0),
        (11, 73728),
        (12, 0),
        (13, 128),
        (14, 0),
        (15, 36864),
        (16, 0),
        (17, 1024),
        (18, 0),
        (19, 8192),
        (20, 0),
        (21, 32),
        (22, 32),
        (23, 512),
    ];
    let got: Vec<(u64, u64)> = t.entries.iter().map(|e| (e.id, e.size)).collect();
    assert_eq!(got, expected, "{}", path.display());
    assert_eq!(t.header_size, 392);
    assert_eq!(t.file_size, 953_856);
    assert_eq!(t.trailing_bytes, 0);
    // Blobs are packed in table order with no padding: blob 3 starts at 392 + 56 + 512.
    assert_eq!(t.entry(3).unwrap().offset, 960);
    // id 0 is a 56-byte all-zero blob (§4 conventions).
    assert!(t.blob(&data, 0).unwrap().iter().all(|&b| b == 0));
}

#[test]
fn chiron_bundle_parses_completely() {
    let Some(dir) = chiron() else { return };
    // Opening the folder (as for an .mlmodelc) finds model.espresso.net and its companions.
    let b = Bundle::open(&dir, DEFAULT_LIMIT).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let file = b.net_path.display().to_string();
    let net = &b.net;
    assert_eq!(net.format_version, Some(200), "{file}");
    assert_eq!(
        net.storage.as_deref(),
        Some("model.espresso.weights"),
        "{file}"
    );
    assert_eq!(net.layers.len(), 14, "{file}");
    let counts = net.type_counts();
    let count = |t: &str| counts.iter().find(|(n, _)| n == t).map_or(0, |(_, c)| *c);
    assert_eq!(count("transpose"), 2, "{file}");
    assert_eq!(count("convolution"), 4, "{file}");
    assert_eq!(count("pool"), 4, "{file}");
    assert_eq!(count("reshape"), 1, "{file}");
    assert_eq!(count("inner_product"), 2, "{file}");
    assert_eq!(count("softmax_nd"), 1, "{file}");

    for l in &net.layers {
        // Every layer type of Chiron is typed, and every key is recognised.
        assert!(
            !matches!(l.params, LayerParams::Other),
            "{file}: layer {} ({}) untyped",
            l.name,
            l.type_name
        );
        assert!(
            l.extra.is_empty(),
            "{file}: layer {} has unrecognised keys {:?}",
            l.name,
            l.extra.keys().collect::<Vec<_>>()
        );
        assert_eq!(l.top.len(), 1, "{file}: layer {}", l.name);
        assert_eq!(l.bottom.len(), 1, "{file}: layer {}", l.name);
    }

    // conv1: K = 1 input channel, C = 128 output channels, 5×5, fused ReLU; `\/` unescaped.
    let conv1 = &net.layers[1];
    assert_eq!(conv1.name, "sequential/conv1/BiasAdd", "{file}");
    assert_eq!(
        conv1.top,
        vec!["sequential/conv1/Relu".to_string()],
        "{file}"
    );
    let LayerParams::Convolution(c) = &conv1.params else {
        panic!("{file}: conv1 is {:?}", conv1.params)
    };
    assert_eq!(
        (c.k, c.c, c.nx, c.ny),
        (Some(1), Some(128), Some(5), Some(5))
    );
    assert_eq!(c.fused_relu, Some(true));
    assert_eq!((c.blob_weights, c.blob_biases), (Some(3), Some(1)));

    let weights = b
        .weights
        .as_ref()
        .expect("weights file found through `storage`");
    for l in &net.layers {
        match &l.params {
            // Weight layout [C][K/groups][Ny][Nx] as f32 (§2.4).
            LayerParams::Convolution(c) => {
                let (cc, k, nx, ny, g) = (
                    c.c.unwrap(),
                    c.k.unwrap(),
                    c.nx.unwrap(),
                    c.ny.unwrap(),
                    c.n_groups.unwrap_or(1),
                );
                let size = weights.entry(c.blob_weights.unwrap()).unwrap().size;
                assert_eq!(
                    size as i64,
                    cc * (k / g) * ny * nx * 4,
                    "{file}: {}",
                    l.name
                );
                assert_eq!(c.fused_relu, Some(true), "{file}: {}", l.name);
            }
            // inner_product: weights nB·nC·4 bytes; bias 16·nC bytes (§2.4).
            LayerParams::InnerProduct(p) => {
                let (nb, nc) = (p.n_b.unwrap(), p.n_c.unwrap());
                let w = weights.entry(p.blob_weights.unwrap()).unwrap().size as i64;
                let bias = weights.entry(p.blob_biases.unwrap()).unwrap().size as i64;
                assert_eq!(w, nb * nc * 4, "{file}: {}", l.name);
                assert_eq!(bias, 16 * nc, "{file}: {}", l.name);
            }
            LayerParams::Pool(p) => assert_eq!(p.kind, Some(PoolKind::Max), "{file}: {}", l.name),
            _ => {}
        }
    }

    // Every blob id resolves through the table.
    let refs = b.blob_refs();
    assert_eq!(
        refs.len(),
        12,
        "{file}: 4 conv + 2 inner_product layers × (weights, biases)"
    );
    for r in &refs {
        assert!(
            r.size.is_some(),
            "{file}: layer {} blob {} unresolved",
            r.layer,
            r.id
        );
    }

    // The output layer.
    let last = net.layers.last().unwrap();
    assert_eq!(last.type_name, "softmax_nd");
    assert!(last.is_output(), "{file}");
    assert_eq!(last.top, vec!["Identity".to_string()]);

    // Shapes: 15 blobs (the input plus the 14 layer outputs), ranks 4 and 2.
    let shape = b.shape.as_ref().expect(".shape found next to the .net");
    assert_eq!(shape.shapes.len(), 15, "{file}");
    assert!(blobs_without_shape(net, shape).is_empty(), "{file}");
    let reshape = shape.get("sequential/flatten/Reshape").unwrap();
    assert_eq!((reshape.rank, reshape.w, reshape.k), (2, Some(32), Some(1)));
    let relu1 = shape.get("sequential/conv1/Relu").unwrap();
    assert_eq!(relu1.rank, 4);
    assert_eq!(relu1.k, Some(128));

    // Printing back keeps Apple's key order in every layer.
    let printed = net.to_json_value();
    let first_keys: Vec<&String> = printed["layers"][1].as_object().unwrap().keys().collect();
    assert_eq!(first_keys[0], "pad_r");
    assert_eq!(first_keys.last().unwrap().as_str(), "n_parallel");
}

fn plists() -> Option<Vec<PathBuf>> {
    let root = corpus_dir("tinygrad-ane")?;
    let mut out = Vec::new();
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "plist") {
                out.push(p);
            }
        }
    }
    walk(&root, &mut out);
    out.sort();
    Some(out)
}

#[test]
fn every_tinygrad_plist_parses() {
    let Some(files) = plists() else { return };
    // 23 current + 5 historical (reference/espresso.md §9).
    assert_eq!(files.len(), 28, "{files:?}");
    let mut unit_types = std::collections::BTreeSet::new();
    for f in &files {
        let p = NetPlist::parse(&std::fs::read(f).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert_eq!(p.networks.len(), 1, "{}", f.display());
        let net = &p.networks[0];
        assert_eq!(net.name, "net", "{}", f.display());
        assert!(!net.units.is_empty(), "{}", f.display());
        assert!(!net.inputs.is_empty(), "{}", f.display());
        for o in &net.outputs {
            assert!(o.name.ends_with("@output"), "{}: {}", f.display(), o.name);
            assert!(o.bottom.is_some(), "{}: {}", f.display(), o.name);
        }
        for u in &net.units {
            let t = u.unit_type.clone().unwrap_or_default();
            assert!(
                !matches!(u.params, UnitParams::Other),
                "{}: unit {} of type {t} untyped",
                f.display(),
                u.name
            );
            unit_types.insert(t);
        }
    }
    // Every unit type of §6.2 occurs.
    for t in [
        "Conv",
        "Neuron",
        "GOC",
        "ScaledElementWise",
        "Concat",
        "Broadcast",
        "InputView",
        "Reshape",
    ] {
        assert!(
            unit_types.contains(t),
            "unit type {t} not seen: {unit_types:?}"
        );
    }
}

#[test]
fn tinygrad_net_plist_kernel_offset_points_at_blob_3() {
    let Some(root) = corpus_dir("tinygrad-ane") else {
        return;
    };
    let dir = root.join("2_compile");
    let plist_path = dir.join("net.plist");
    let p = NetPlist::parse(&std::fs::read(&plist_path).unwrap()).unwrap();
    let net = &p.networks[0];
    assert_eq!(p.version.as_deref(), Some("1.0.9"));
    assert_eq!(
        net.weights,
        vec!["model.espresso.weights", "net.additional.weights"]
    );
    let refs = p.weight_refs();
    let kernel = refs.iter().find(|r| r.role == "kernel").unwrap();
    assert_eq!(
        (
            kernel.file.as_deref(),
            kernel.offset,
            kernel.data_type.as_deref()
        ),
        (Some("model.espresso.weights"), 192, Some("Float32")),
        "{}",
        plist_path.display()
    );
    let bias = refs.iter().find(|r| r.role == "bias").unwrap();
    assert_eq!(
        (bias.file.as_deref(), bias.offset),
        (Some("net.additional.weights"), 0)
    );

    let wpath = dir.join("model.espresso.weights");
    let data = std::fs::read(&wpath).unwrap();
    let t = WeightsTable::parse(&data).unwrap();
    let got: Vec<(u64, u64, u64)> = t.entries.iter().map(|e| (e.id, e.size, e.offset)).collect();
    assert_eq!(
        got,
        vec![(0, 56, 0x48), (1, 32, 0x80), (2, 32, 0xA0), (3, 24, 0xC0)],
        "{}",
        wpath.display()
    );
    // The plist's KernelOffset is blob 3's absolute offset; it holds six fp32 3.0.
    assert_eq!(t.entry(3).unwrap().offset, kernel.offset as u64);
    let blob3: Vec<f32> = t
        .blob(&data, 3)
        .unwrap()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(blob3, vec![3.0; 6]);
    let blob1 = t.blob(&data, 1).unwrap();
    assert_eq!(&blob1[..8], &[0, 0, 0x80, 0x3f, 0, 0, 0x80, 0x3f]);
}
