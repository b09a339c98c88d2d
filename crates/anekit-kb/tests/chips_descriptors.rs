//! The chip and descriptor tables against the reference (`../shared/reference/benchmarks.md`
//! §1–§2, `private-api.md` §9, `knowledge-base.md` §1, §22): counts and exact values.

use anekit_kb::chips::{self, Generation, SramKind};
use anekit_kb::descriptors;
use anekit_kb::evidence::Evidence;

#[test]
fn descriptor_table_has_the_47_structs_of_the_reference() {
    let all = descriptors::all();
    assert_eq!(all.len(), 47);
    let mut names: Vec<_> = all.iter().map(|d| d.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), 47, "names are unique");
    // 11 sizes hard-coded and 17 initializers bound by mdaiter's compiler.py (§1.1).
    assert_eq!(
        all.iter().filter(|d| d.size_hardcoded_by_mdaiter).count(),
        11
    );
    assert_eq!(
        all.iter()
            .filter(|d| d.initializer_bound_by_mdaiter)
            .count(),
        17
    );
    assert_eq!(all.iter().filter(|d| d.layout.is_some()).count(), 17);
    // Sum of the Size column of §1, computed from the reference file with
    // awk -F'|' '... /^\| ANEC/ {s += $3}' knowledge-base.md.
    assert_eq!(all.iter().map(|d| d.size).sum::<u32>(), 1796);
}

#[test]
fn descriptor_spot_values() {
    let conv = descriptors::by_name("ANECConvLayerDesc").unwrap();
    assert_eq!(conv.size, 176);
    assert_eq!(conv.initializer, "ANECConvLayerDescInitialize");
    assert_eq!(descriptors::by_name("ANECSDPALayerDesc").unwrap().size, 8);
    assert_eq!(descriptors::by_name("ANECStep").unwrap().size, 12);
    assert_eq!(descriptors::by_name("ANECTensorDims").unwrap().size, 40);
    assert_eq!(descriptors::by_name("ancecpoollayerdesc"), None);
    assert_eq!(descriptors::by_name("anecpoollayerdesc").unwrap().size, 96);
    // The notes' typo in the cross-correlation initializer is kept as printed.
    let xc = descriptors::by_name("ANECCrossCorrelationLayerDesc").unwrap();
    assert_eq!(xc.initializer, "ANECrossCorrelationLayerDescInitialize");
    assert_eq!(xc.size, 96);
    assert_eq!(
        descriptors::by_initializer("ANECLinearLayerDescInitialize")
            .unwrap()
            .size,
        64
    );
    assert_eq!(descriptors::VERSION_FUNCTIONS.len(), 4);
}

#[test]
fn layer_kinds_map_to_the_sample_graph_descriptors() {
    let size = |k: &str| descriptors::for_layer(k).map(|d| d.size);
    assert_eq!(size("conv2d"), Some(176));
    assert_eq!(size("pool2d"), Some(96));
    assert_eq!(size("linear"), Some(64));
    assert_eq!(size("matmul"), Some(16));
    assert_eq!(size("softmax"), Some(48));
    assert_eq!(size("scaled_dot_product_attention"), Some(8));
    assert_eq!(size("GELU"), Some(32));
    assert_eq!(size("layer-norm"), Some(40));
    assert_eq!(size("elementwise"), None);
    assert_eq!(size("no_such_layer"), None);
    // mdaiter's build_simple_cnn: 3 conv + 2 pool + 2 linear + 1 softmax = 896 bytes (§22).
    let cnn = [
        "conv2d", "pool2d", "conv2d", "pool2d", "conv2d", "linear", "linear", "softmax",
    ];
    assert_eq!(cnn.iter().filter_map(|k| size(k)).sum::<u32>(), 896);
    // build_transformer_attention: 3 layers, 136 bytes; the only 3-layer combination of the
    // sample-graph sizes giving 136 is linear + linear + sdpa.
    assert_eq!(size("linear").unwrap() * 2 + size("sdpa").unwrap(), 136);
    // Every mapped descriptor exists.
    for m in descriptors::LAYER_DESCRIPTORS {
        if let Some(d) = m.descriptor {
            assert!(descriptors::by_name(d).is_some(), "{d}");
        }
    }
    let sdpa = descriptors::layer_mapping("attention").unwrap();
    assert_eq!(sdpa.evidence, Evidence::Source);
}

#[test]
fn chip_lookup_accepts_cli_spellings() {
    for (spelling, name) in [
        ("m4", "M4"),
        ("M4", "M4"),
        ("m4pro", "M4 Pro"),
        ("m4-pro", "M4 Pro"),
        ("M4 Pro", "M4 Pro"),
        ("m1_ultra", "M1 Ultra"),
        ("apple-m2", "M2"),
        ("Apple M3 Max", "M3 Max"),
        ("a12x", "A12"),
        ("A17", "A17 Pro"),
        ("t8103", "M1"),
        ("m5max", "M5 Max"),
    ] {
        assert_eq!(
            chips::by_name(spelling).map(|c| c.name),
            Some(name),
            "{spelling}"
        );
    }
    assert!(chips::by_name("m9").is_none());
    assert!(chips::by_name("").is_none());
    assert!(chips::by_name("apple").is_none());
}

#[test]
fn chip_table_values() {
    assert_eq!(chips::all().len(), 29);
    let m1 = chips::by_name("m1").unwrap();
    assert_eq!(m1.generation, Some(Generation::H13));
    assert_eq!(m1.variant, Some("H13G"));
    assert_eq!(m1.soc, Some("t8103"));
    assert_eq!(m1.cores.value, 16);
    assert_eq!(m1.rated_tops.unwrap().value, 11.0);
    assert_eq!(m1.adt_ane_type, Some(64));
    let subtype = m1.hwx_cpusubtype.unwrap();
    assert_eq!((subtype.value, subtype.evidence), (4, Evidence::Verified));
    assert_eq!(m1.best_fp16_peak().unwrap().fp16_tflops, 5.40);
    assert_eq!(m1.best_fp16_peak().unwrap().evidence, Evidence::Data);
    assert_eq!(m1.sram_budget_bytes(), Some(16 << 20));

    let ultra = chips::by_name("m2ultra").unwrap();
    assert_eq!(
        (ultra.cores.value, ultra.rated_tops.unwrap().value),
        (32, 31.6)
    );
    assert_eq!(ultra.hwx_cpusubtype.unwrap().evidence, Evidence::Unverified);

    let m3pro = chips::by_name("m3pro").unwrap();
    let best = m3pro.best_fp16_peak().unwrap();
    assert_eq!(
        (best.method, best.fp16_tflops),
        ("inmem_peak sp2048", 16.77)
    );

    let m4 = chips::by_name("m4").unwrap();
    assert_eq!(m4.rated_tops.unwrap().value, 38.0);
    let readme = m4.peaks.iter().find(|p| p.int8_tops.is_some()).unwrap();
    assert_eq!((readme.fp16_tflops, readme.int8_tops), (18.6, Some(35.1)));
    assert_eq!(m4.sram_budget_bytes(), Some(24 << 20));
    let cliff = &m4.sram[0];
    assert_eq!(
        (cliff.kind, cliff.low_mib, cliff.high_mib),
        (SramKind::WorkingSetBudget, 24.0, 32.0)
    );

    let m4max = chips::by_name("m4max").unwrap();
    assert_eq!(m4max.peaks.len(), 5);
    assert_eq!(m4max.best_fp16_peak().unwrap().fp16_tflops, 11.57);

    assert_eq!(
        chips::by_name("a19").unwrap().hwx_cpusubtype.unwrap().value,
        10
    );
    assert_eq!(chips::by_name("a13").unwrap().rated_tops, None);
    assert_eq!(chips::by_generation(Generation::H13).count(), 5);
    assert_eq!(chips::by_generation(Generation::H16).count(), 4);
    for g in Generation::ALL {
        for c in chips::by_generation(g) {
            assert_eq!(
                c.hwx_cpusubtype.unwrap().value,
                g.hwx_cpusubtype(),
                "{}",
                c.name
            );
        }
    }
}

#[test]
fn mil_dialect_per_chip() {
    for name in [
        "m1", "m1pro", "m1max", "m1ultra", "m2", "m2pro", "m2max", "m2ultra",
    ] {
        let mil = chips::by_name(name).unwrap().mil.unwrap();
        assert_eq!(mil.dialect.program_version, "1.0", "{name}");
        assert_eq!(mil.dialect.opset, "ios16");
        assert!(!mil.dialect.fp32_io && mil.dialect.identity_outputs);
        assert_eq!(mil.evidence, Evidence::Source);
    }
    for name in ["m3", "m3pro", "m3max", "m3ultra"] {
        let mil = chips::by_name(name).unwrap().mil.unwrap();
        assert_eq!(
            (mil.dialect.program_version, mil.dialect.opset),
            ("1.3", "ios18")
        );
        assert!(!mil.dialect.fp32_io, "fp32 I/O on M3 is unreported");
        assert_eq!(mil.evidence, Evidence::Unverified);
    }
    for name in ["m4", "m4pro", "m4max", "m5", "m5pro", "m5max"] {
        let mil = chips::by_name(name).unwrap().mil.unwrap();
        assert_eq!(
            (mil.dialect.program_version, mil.dialect.opset),
            ("1.3", "ios18")
        );
        assert!(mil.dialect.fp32_io && !mil.dialect.identity_outputs);
    }
    // Chips without an ANE generation have no dialect; every other chip follows its generation.
    for c in chips::all() {
        match c.generation {
            None => assert!(c.mil.is_none(), "{}", c.name),
            Some(g) => assert_eq!(c.mil.unwrap().dialect, g.mil_dialect(), "{}", c.name),
        }
    }
}
