//! Every table against the counts the reference states and exact spot values
//! (`../shared/reference/knowledge-base.md`, `private-api.md`, `hwx-td.md`).

use anekit_kb::evidence::Evidence;
use anekit_kb::{
    access, bundles, catalog, chips::Generation, compiler, espresso, objc, runtime, xpc, zin,
};

#[test]
fn espresso_passes_are_the_40_of_the_notes() {
    assert_eq!(espresso::PASSES.len(), 40);
    let numbers: Vec<u32> = espresso::PASSES.iter().map(|p| p.number).collect();
    assert_eq!(numbers, (1..=40).collect::<Vec<_>>());
    assert!(espresso::PASSES.iter().all(|p| p.name.starts_with("Pass_")));
    assert_eq!(espresso::PASSES[0].name, "Pass_add_fp16_fp32_conversions");
    assert_eq!(espresso::PASSES[20].name, "Pass_fuse_linear_ops");
    assert_eq!(espresso::PASSES[39].name, "Pass_vectorize_ops");
    // The notes' "eliminate_dead_code" is not in the list; dead_code_elimination is.
    assert!(
        !espresso::PASSES
            .iter()
            .any(|p| p.name == "Pass_eliminate_dead_code")
    );
    assert!(
        espresso::PASSES
            .iter()
            .any(|p| p.name == "Pass_dead_code_elimination")
    );
    assert_eq!(
        espresso::PASSES
            .iter()
            .filter(|p| p.description.is_some())
            .count(),
        8
    );
    // Alphabetical, as the reference lists them.
    assert!(espresso::PASSES.windows(2).all(|w| w[0].name < w[1].name));
}

#[test]
fn elementwise_codes_mark_verified_and_claimed_meanings() {
    assert_eq!(espresso::ELEMENTWISE_CODES.len(), 26);
    let verified: Vec<u32> = espresso::ELEMENTWISE_CODES
        .iter()
        .filter(|c| c.evidence == Evidence::Verified)
        .map(|c| c.code)
        .collect();
    assert_eq!(verified, [0, 1, 2, 3, 119]);
    assert!(
        espresso::ELEMENTWISE_CODES
            .iter()
            .all(|c| (c.evidence == Evidence::Verified) == c.verified_meaning.is_some())
    );
    assert_eq!(espresso::elementwise_meaning(1), Some("a × b (two inputs)"));
    assert_eq!(
        espresso::elementwise_meaning(119),
        Some("clip(x, alpha, beta)")
    );
    assert_eq!(
        espresso::elementwise_meaning(10),
        None,
        "code 10 is disputed"
    );
    let c1 = espresso::ELEMENTWISE_CODES
        .iter()
        .find(|c| c.code == 1)
        .unwrap();
    assert_eq!(c1.mdaiter_claim, Some("sub"));
    assert!(c1.conflict);
    let c24 = espresso::ELEMENTWISE_CODES
        .iter()
        .find(|c| c.code == 24)
        .unwrap();
    assert_eq!(
        (c24.mdaiter_claim, c24.espresso2onnx_claim),
        (Some("reciprocal"), Some("abs"))
    );
    let conflicts: Vec<u32> = espresso::ELEMENTWISE_CODES
        .iter()
        .filter(|c| c.conflict)
        .map(|c| c.code)
        .collect();
    assert_eq!(conflicts, [1, 2, 3, 10, 24, 106]);
    let act0 = espresso::ATTRIBUTE_CODES
        .iter()
        .find(|c| c.attribute == "activation.mode" && c.code == 0)
        .unwrap();
    assert_eq!((act0.meaning, act0.evidence), ("ReLU", Evidence::Verified));
    assert_eq!(
        espresso::ATTRIBUTE_CODES
            .iter()
            .filter(|c| c.attribute == "activation.mode")
            .count(),
        9
    );
}

#[test]
fn espresso_layers() {
    // 22 rows of mdaiter's table + 6 seen only in real files + 7 named only by Netron.
    assert_eq!(espresso::LAYERS.len(), 35);
    let conv = espresso::LAYERS
        .iter()
        .find(|l| l.name == "convolution")
        .unwrap();
    assert_eq!(conv.evidence, Evidence::Verified);
    assert_eq!(conv.attributes_observed.len(), 17);
    assert_eq!(conv.attributes_observed[0], "C (out)");
    let bm = espresso::LAYERS
        .iter()
        .find(|l| l.name == "batch_matmul")
        .unwrap();
    assert_eq!(
        (bm.category, bm.evidence),
        (Some("Compute"), Evidence::Unverified)
    );
    assert_eq!(
        bm.attributes_claimed,
        ["transpose_a", "transpose_b", "adj_x", "adj_y"]
    );
    assert_eq!(
        espresso::LAYERS
            .iter()
            .filter(|l| l.category.is_some())
            .count(),
        22
    );
}

#[test]
fn compiler_categories() {
    assert_eq!(compiler::CATEGORIES.len(), 11);
    let total: usize = compiler::CATEGORIES
        .iter()
        .map(|c| c.layer_types.len())
        .sum();
    assert_eq!(total, 50); // 1 + 3 + 3 + 5 + 3 + 4 + 9 + 6 + 5 + 4 + 7 in §2
    let missing: Vec<&str> = compiler::CATEGORIES
        .iter()
        .flat_map(|c| c.without_descriptor.iter().copied())
        .collect();
    assert_eq!(
        missing,
        [
            "DepthwiseConv",
            "GlobalPool",
            "AdaptivePool",
            "Einsum",
            "LogSoftmax",
            "ArgMax",
            "ArgMin",
            "Range",
            "Copy"
        ]
    );
    // Every layer type not marked as missing has an ANEC<Type>LayerDesc (SDPA, Conv, ...).
    for c in compiler::CATEGORIES {
        for t in c
            .layer_types
            .iter()
            .filter(|t| !c.without_descriptor.contains(t))
        {
            let name = format!("ANEC{t}LayerDesc");
            assert!(anekit_kb::descriptors::by_name(&name).is_some(), "{name}");
        }
    }
    assert_eq!(compiler::PLIST_UNIT_TYPES.len(), 8);
}

#[test]
fn objc_classes_and_members() {
    let inmem = objc::class("_ANEInMemoryModel").unwrap();
    let compile = inmem.member("compileWithQoS:options:error:").unwrap();
    assert_eq!(
        (compile.kind, compile.evidence),
        (objc::MemberKind::Method, Evidence::Source)
    );
    assert_eq!(
        inmem.factories().map(|m| m.name).collect::<Vec<_>>(),
        ["inMemoryModelWithDescriptor:"]
    );
    let client = objc::class("_ANEClient").unwrap();
    assert_eq!(client.members.len(), 20);
    assert_eq!(client.factories().count(), 2);
    let model = objc::class("_ANEModel").unwrap();
    assert_eq!(
        model
            .members
            .iter()
            .filter(|m| m.kind == objc::MemberKind::Property)
            .count(),
        12
    );
    let info = objc::class("_ANEDeviceInfo").unwrap();
    assert_eq!(info.members.len(), 18);
    assert_eq!(
        info.member("restrictedAccessEntitlement").unwrap().notes,
        "\"com.apple.aned.private.allow\""
    );
    // evaluateWithQoS:… is on the in-memory model only; evaluateWithModel:… on the client.
    let holders: Vec<&str> = objc::classes_with("evaluateWithModel:options:request:qos:error:")
        .map(|(c, _)| c.name)
        .collect();
    assert_eq!(holders, ["_ANEClient"]);
    let mut names: Vec<&str> = objc::CLASSES.iter().map(|c| c.name).collect();
    let n = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), n, "class names are unique");
    assert_eq!(
        objc::class("EspressoNetwork").unwrap().members[0].name,
        "initWithJSFile:context:computePath:"
    );
}

#[test]
fn xpc_entitlements_boot_args() {
    assert_eq!(xpc::SERVICES.len(), 3);
    assert_eq!(xpc::OPERATIONS.len(), 12);
    for (category, stated) in xpc::STATED_COUNTS {
        let named = xpc::OPERATIONS
            .iter()
            .filter(|o| o.category == category)
            .count();
        // mdaiter counts 5 compile selectors but names only 4.
        let expected = if category == "compile" {
            stated - 1
        } else {
            stated
        };
        assert_eq!(named, expected, "{category}");
    }
    assert!(
        xpc::OPERATIONS
            .iter()
            .any(|o| o.selector == "reportTelemetryToPPS:playload:")
    );

    assert_eq!(access::ENTITLEMENTS.len(), 13);
    let required: Vec<&str> = access::ENTITLEMENTS
        .iter()
        .filter(|e| e.in_mdaiter_required)
        .map(|e| e.name)
        .collect();
    assert_eq!(
        required,
        [
            "com.apple.private.ane-client",
            "com.apple.aned.internal",
            "com.apple.developer.kernel.extended-virtual-addressing"
        ]
    );
    assert_eq!(
        access::ENTITLEMENTS
            .iter()
            .filter(|e| e.in_mdaiter_device_list)
            .count(),
        9
    );
    assert!(
        access::ENTITLEMENTS
            .iter()
            .filter(|e| e.in_mdaiter_device_list)
            .all(|e| e.name.ends_with(".allow"))
    );
    let iokit = &access::ENTITLEMENTS[0];
    assert_eq!(
        (iokit.name, iokit.evidence),
        ("com.apple.ane.iokit-user-access", Evidence::Source)
    );

    assert_eq!(access::BOOT_ARGS.len(), 5);
    assert_eq!(
        access::BOOT_ARGS
            .iter()
            .filter(|b| b.internal_build_only)
            .count(),
        4
    );
    assert_eq!(access::INTERNAL_BUILD_CHECKS.len(), 3);
}

#[test]
fn runtime_tables() {
    assert_eq!(runtime::COMPUTE_UNIT_MASKS.len(), 7);
    let m5 = runtime::COMPUTE_UNIT_MASKS
        .iter()
        .find(|m| m.mask == 5)
        .unwrap();
    assert_eq!(
        (m5.cpu, m5.gpu, m5.neural_engine, m5.devices),
        (true, false, true, "CPU + Neural Engine")
    );
    assert_eq!(runtime::CACHE.len(), 7);
    assert_eq!(
        runtime::CACHE
            .iter()
            .filter(|c| c.item == "Cache operation")
            .count(),
        3
    );
    assert_eq!(
        runtime::CACHE
            .iter()
            .filter(|c| c.evidence == Evidence::Verified)
            .count(),
        1
    );
    assert_eq!(runtime::PROFILING.len(), 10);
}

#[test]
fn bundle_files_per_generation() {
    let hwx: Vec<(&str, Option<Generation>)> = bundles::FILES
        .iter()
        .filter(|f| f.bundle == "hwx")
        .map(|f| (f.file, f.generation))
        .collect();
    assert_eq!(
        hwx,
        [
            (".H13.espresso.hwx", Some(Generation::H13)),
            (".H14.espresso.hwx", Some(Generation::H14)),
            (".H15.espresso.hwx", Some(Generation::H15)),
            (".H16.espresso.hwx", Some(Generation::H16)),
        ]
    );
    for (file, generation) in hwx {
        assert_eq!(bundles::hwx_suffix(generation.unwrap()), file);
    }
    assert_eq!(
        bundles::FILES
            .iter()
            .filter(|f| f.bundle == "espresso")
            .count(),
        5
    );
}

#[test]
fn zin_enumerations() {
    let ops = zin::enumeration("zin_op").unwrap();
    assert_eq!(ops.values.len(), 49);
    assert_eq!(ops.name_of(0), Some("CONV"));
    assert_eq!(ops.name_of(16), Some("MATRIX_MULT"));
    assert_eq!(ops.name_of(27), Some("Typecast"));
    assert_eq!(ops.name_of(48), Some("NEFUSED_BYPASS"));
    assert_eq!(ops.name_of(49), None);
    let nl = zin::enumeration("zin_nonlinear_mode").unwrap();
    assert_eq!(nl.values.len(), 32);
    assert_eq!(nl.name_of(24), Some("CUSTOM_LUT"));
    assert_eq!(nl.name_of(31), Some("H_DIM_STRIDED_CONCAT"));
    assert_eq!(
        zin::enumeration("zin_cache_hint").unwrap().name_of(3),
        Some("DEPRI")
    );
    assert_eq!(
        zin::enumeration("zin_tensor_format").unwrap().evidence,
        Evidence::Unverified
    );
    for e in zin::ENUMS {
        assert!(
            e.values
                .iter()
                .enumerate()
                .all(|(i, v)| v.code as usize == i),
            "{}",
            e.name
        );
    }
}

#[test]
fn catalog_counts_match_the_stated_counts_and_every_entry_is_tagged() {
    let tables = catalog::tables();
    for t in &tables {
        if let Some(n) = t.stated_count {
            assert_eq!(t.entries.len(), n, "{}", t.name);
        }
        let mut keys: Vec<&str> = t.entries.iter().map(|e| e.key.as_str()).collect();
        keys.sort_unstable();
        let n = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), n, "keys unique in {}", t.name);
        for e in &t.entries {
            assert!(
                e.record.get("evidence").is_some_and(|v| v.is_string()),
                "{} {}",
                t.name,
                e.key
            );
            assert!(
                e.record.get("source").is_some_and(|v| v.is_string()),
                "{} {}",
                t.name,
                e.key
            );
        }
    }
    let stated: Vec<(&str, usize)> = tables
        .iter()
        .filter_map(|t| t.stated_count.map(|n| (t.name, n)))
        .collect();
    assert_eq!(
        stated,
        [
            ("descriptors", 47),
            ("espresso_passes", 40),
            ("zin_op", 49),
            ("zin_nonlinear_mode", 32)
        ]
    );
}

#[test]
fn catalog_show_search_suggest() {
    let conv = catalog::show("ANECConvLayerDesc");
    assert_eq!(conv.len(), 1);
    assert_eq!(conv[0].table, "descriptors");
    assert_eq!(conv[0].record["size"], 176);
    assert_eq!(conv[0].record["evidence"], "unverified");

    // A bare selector finds the member row; a chip alias finds the chip.
    let sel = catalog::show("compileWithQoS:options:error:");
    assert_eq!(
        sel.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(),
        ["_ANEInMemoryModel compileWithQoS:options:error:"]
    );
    assert_eq!(catalog::show("m4pro").len(), 0, "show takes exact names");
    assert_eq!(catalog::show("t8103")[0].key, "M1");
    assert_eq!(
        catalog::show("m1")[0].key,
        "M1",
        "falls back to a case-insensitive match"
    );
    assert!(catalog::show("NoSuchThing").is_empty());

    let hits = catalog::search("compileWithQoS", None);
    assert!(
        hits.iter().any(|h| h.table == "objc_classes"
            && h.key == "_ANEInMemoryModel"
            && h.field == "members[1].name"
            && h.text == "compileWithQoS:options:error:"),
        "{hits:?}"
    );
    assert!(
        hits.iter()
            .all(|h| h.text.to_lowercase().contains("compilewithqos"))
    );
    let dce = catalog::search("DEAD_CODE", Some("espresso_passes"));
    assert_eq!(dce.len(), 2, "{dce:?}"); // key + description of Pass_dead_code_elimination
    assert!(catalog::search("", None).is_empty());

    let near = catalog::suggest("ANECConvLayerDsc", 3);
    assert_eq!(near.first().map(String::as_str), Some("ANECConvLayerDesc"));
    assert!(catalog::suggest("zzzzqqqq", 3).is_empty());
}

#[test]
fn export_tree_shape() {
    let tree = catalog::export();
    assert_eq!(tree["format"], "anekit-kb");
    assert_eq!(tree["version"], 1);
    assert_eq!(tree["evidence_levels"].as_array().unwrap().len(), 4);
    assert_eq!(tree["tables"]["descriptors"]["count"], 47);
    assert_eq!(
        tree["tables"]["descriptors"]["entries"][3]["name"],
        "ANECConvLayerDesc"
    );
    assert_eq!(tree["tables"]["chips"]["entries"][4]["name"], "M1");
    assert_eq!(
        tree["tables"]["chips"]["entries"][4]["mil"]["dialect"]["program_version"],
        "1.0"
    );
}
