use super::*;
use anekit_core::corpus::corpus_dir;

fn s(v: &str) -> PlistValue {
    PlistValue::String(v.into())
}

#[test]
fn compile_options_and_flags_have_the_documented_keys_and_values() {
    let plan = AneCompilePlan::new(
        Path::new("/tmp/ir/net.plist"),
        Path::new("/tmp/out/model.hwx"),
        CompileTarget::H13,
        false,
        &["model.espresso.weights".into(), "/abs/extra.weights".into()],
    )
    .unwrap();
    // private-api.md §20.1 / hwx-td.md §7.1: InputNetworks = [{NetworkPlistName,
    // NetworkPlistPath}], OutputFilePath, OutputFileName; flags TargetArchitecture.
    let network = PlistDict::from([
        ("NetworkPlistName".to_string(), s("net.plist")),
        ("NetworkPlistPath".to_string(), s("/tmp/ir/")),
    ]);
    let expected_options = PlistDict::from([
        (
            "InputNetworks".to_string(),
            PlistValue::Array(vec![PlistValue::Dict(network)]),
        ),
        ("OutputFilePath".to_string(), s("/tmp/out/")),
        ("OutputFileName".to_string(), s("model.hwx")),
    ]);
    assert_eq!(plan.options, expected_options);
    assert_eq!(
        plan.flags,
        PlistDict::from([("TargetArchitecture".to_string(), s("h13"))])
    );
    assert_eq!(
        plan.consumes,
        vec![
            PathBuf::from("/tmp/ir/net.plist"),
            PathBuf::from("/tmp/ir/model.espresso.weights"),
            PathBuf::from("/abs/extra.weights"),
        ]
    );
    assert_eq!(plan.produces, vec![PathBuf::from("/tmp/out/model.hwx")]);
    assert_eq!(plan.target_evidence, Evidence::Source);
}

#[test]
fn debug_flags_are_anetools_debug_values() {
    let plan = AneCompilePlan::new(
        Path::new("net.plist"),
        Path::new("model.hwx"),
        CompileTarget::H16,
        true,
        &[],
    )
    .unwrap();
    assert_eq!(
        plan.flags,
        PlistDict::from([
            ("TargetArchitecture".to_string(), s("h16")),
            (
                "CompileANEProgramForDebugging".to_string(),
                PlistValue::Bool(true)
            ),
            ("DebugMask".to_string(), PlistValue::Int(2_147_483_647)),
        ])
    );
    // A bare file name lives in the current folder, given to the compiler as "./".
    assert_eq!(
        plan.options.get("OutputFilePath"),
        Some(&PlistValue::String("./".into()))
    );
    let net = match plan.options.get("InputNetworks") {
        Some(PlistValue::Array(a)) => a.clone(),
        other => panic!("InputNetworks: {other:?}"),
    };
    assert_eq!(
        net,
        vec![PlistValue::Dict(PlistDict::from([
            ("NetworkPlistName".to_string(), s("net.plist")),
            ("NetworkPlistPath".to_string(), s("./")),
        ]))]
    );
    assert_eq!(plan.target_evidence, Evidence::Unverified);
}

#[test]
fn targets_parse_print_and_carry_their_evidence_and_cpusubtype() {
    let names: Vec<&str> = CompileTarget::ALL.iter().map(|t| t.as_str()).collect();
    assert_eq!(
        names,
        [
            "t0", "m9", "h11", "h12", "h13", "h14", "h15", "h16", "h17", "h18"
        ]
    );
    for t in CompileTarget::ALL {
        assert_eq!(CompileTarget::parse(t.as_str()).unwrap(), t);
        assert_eq!(
            CompileTarget::parse(&t.as_str().to_ascii_uppercase()).unwrap(),
            t
        );
    }
    let err = CompileTarget::parse("h99").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("unknown ANECompiler target `h99`")
    );
    assert_eq!(DEFAULT_TARGET, CompileTarget::H13);
    // hwx-td.md §6: H13 → 4 (verified); the rest provisional.
    assert_eq!(CompileTarget::H13.hwx_cpusubtype(), Some(4));
    assert_eq!(CompileTarget::H16.hwx_cpusubtype(), Some(7));
    assert_eq!(CompileTarget::H17.hwx_cpusubtype(), Some(9));
    assert_eq!(CompileTarget::T0.hwx_cpusubtype(), None);
    let sourced: Vec<CompileTarget> = CompileTarget::ALL
        .into_iter()
        .filter(|t| t.evidence() == Evidence::Source)
        .collect();
    assert_eq!(
        sourced,
        [
            CompileTarget::T0,
            CompileTarget::M9,
            CompileTarget::H11,
            CompileTarget::H12,
            CompileTarget::H13
        ]
    );
}

#[test]
fn weight_files_of_the_tinygrad_plist_resolve_next_to_it() {
    let Some(dir) = corpus_dir("tinygrad-ane/2_compile") else {
        eprintln!("corpus missing; skipped");
        return;
    };
    let plist = dir.join("net.plist");
    let bytes = std::fs::read(&plist).unwrap();
    // espresso.md §6.2 [verified]: Weights = [model.espresso.weights, net.additional.weights].
    assert_eq!(
        plist_weight_files(&bytes).unwrap(),
        ["model.espresso.weights", "net.additional.weights"]
    );
    let plan = AneCompilePlan::for_plist_file(
        &plist,
        Path::new("/tmp/x/model.hwx"),
        CompileTarget::H13,
        false,
    )
    .unwrap();
    assert_eq!(
        plan.consumes,
        vec![
            plist.clone(),
            dir.join("model.espresso.weights"),
            dir.join("net.additional.weights")
        ]
    );
    assert!(
        plan.missing_inputs().is_empty(),
        "{:?}",
        plan.missing_inputs()
    );
    let err = plist_weight_files(b"not a plist").unwrap_err();
    assert!(!err.is_empty());
}

#[test]
fn dump_plan_is_the_tohwx_sequence() {
    let plan = EspressoDumpPlan::new(Path::new("/m/model.espresso.net"), Path::new("/ir"));
    let functions: Vec<&str> = plan.steps.iter().map(EspressoStep::function).collect();
    assert_eq!(
        functions,
        [
            "espresso_create_context",
            "espresso_create_plan",
            "espresso_plan_add_network",
            "espresso_plan_build",
            "espresso_dump_ir",
            "espresso_plan_destroy",
            "espresso_context_destroy"
        ]
    );
    assert_eq!(
        plan.steps[0],
        EspressoStep::EspressoCreateContext {
            engine: 10008,
            device: -1
        }
    );
    assert_eq!(
        plan.steps[2],
        EspressoStep::EspressoPlanAddNetwork {
            path: PathBuf::from("/m/model.espresso.net"),
            storage_type: 0x10010
        }
    );
    assert_eq!(
        plan.steps[0].render(),
        "ctx = espresso_create_context(0x2718, -1)"
    );
    assert_eq!(
        plan.steps[2].render(),
        "espresso_plan_add_network(plan, \"/m/model.espresso.net\", 0x10010, &network)"
    );
    let required: Vec<bool> = plan.steps.iter().map(EspressoStep::required).collect();
    assert_eq!(required, [true, true, true, true, true, false, false]);
    assert_eq!(
        plan.steps[4],
        EspressoStep::EspressoDumpIr {
            dir: PathBuf::from("/ir/")
        }
    );
    assert_eq!(plan.steps[4].render(), "espresso_dump_ir(plan, &\"/ir/\")");
    assert_eq!(plan.net_plist, PathBuf::from("/ir/net.plist"));
    assert_eq!(
        plan.produces,
        vec![
            PathBuf::from("/ir/net.plist"),
            PathBuf::from("/ir/net.additional.weights"),
            PathBuf::from("/ir/net_aux.json")
        ]
    );
    let json = serde_json::to_value(&plan.steps[0]).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"call": "espresso_create_context", "engine": 10008, "device": -1})
    );
    // knowledge-base.md §9: EspressoContext platforms 0 CPU, 1 GPU, 2 ANE.
    assert_eq!(EspressoPlatform::Cpu as i32, 0);
    assert_eq!(EspressoPlatform::Gpu as i32, 1);
    assert_eq!(EspressoPlatform::Ane as i32, 2);
}

#[test]
fn chain_finds_the_net_of_a_model_folder_and_compiles_the_dumped_plist() {
    let Some(model) = corpus_dir("espresso/ameeSun__Chiron-Swift-Student-Challenge") else {
        eprintln!("corpus missing; skipped");
        return;
    };
    let chain = ChainPlan::new(
        &model,
        Path::new("/tmp/ir"),
        Path::new("/tmp/out/chiron.hwx"),
        CompileTarget::H14,
        false,
    )
    .unwrap();
    assert_eq!(chain.dump.net, model.join("model.espresso.net"));
    assert_eq!(chain.compile.plist, PathBuf::from("/tmp/ir/net.plist"));
    assert_eq!(
        chain.compile.options.get("OutputFileName"),
        Some(&s("chiron.hwx"))
    );
    assert_eq!(
        chain.compile.flags.get("TargetArchitecture"),
        Some(&s("h14"))
    );
    assert_eq!(classify_input(&model), CompileInput::EspressoModel);
    assert_eq!(
        classify_input(Path::new("x/net.plist")),
        CompileInput::NetPlist
    );
}

#[test]
fn ml_program_bundles_and_missing_nets_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("model.mil"), "program(1.0)\n").unwrap();
    let err = find_espresso_net(dir.path()).unwrap_err().to_string();
    assert!(err.contains("ML Program bundle"), "{err}");
    let empty = tempfile::tempdir().unwrap();
    let err = find_espresso_net(empty.path()).unwrap_err().to_string();
    assert!(
        err.starts_with(&empty.path().display().to_string()),
        "{err}"
    );
    let err = find_espresso_net(&empty.path().join("gone.espresso.net"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("no such .espresso.net"), "{err}");
}

#[test]
fn outcomes_require_the_files_the_tools_must_write() {
    let dir = tempfile::tempdir().unwrap();
    let err = dump_outcome(dir.path()).unwrap_err();
    assert_eq!(err.code(), "missing_output");
    assert_eq!(
        err.to_string(),
        format!(
            "espresso_dump_ir succeeded but did not write {}",
            dir.path().join("net.plist").display()
        )
    );
    std::fs::write(dir.path().join("net.plist"), b"<plist/>").unwrap();
    std::fs::write(dir.path().join("net.additional.weights"), [0u8; 16]).unwrap();
    let ok = dump_outcome(dir.path()).unwrap();
    assert_eq!(
        ok.files,
        vec![
            ("net.additional.weights".to_string(), 16),
            ("net.plist".to_string(), 8)
        ]
    );
    let plan = AneCompilePlan::new(
        &dir.path().join("net.plist"),
        &dir.path().join("model.hwx"),
        CompileTarget::H13,
        false,
        &[],
    )
    .unwrap();
    assert_eq!(compile_outcome(&plan).unwrap_err().code(), "missing_output");
    std::fs::write(dir.path().join("model.hwx"), [0xCEu8, 0xFA, 0xEF, 0xBE]).unwrap();
    assert_eq!(compile_outcome(&plan).unwrap().bytes, 4);
}

#[cfg(not(target_os = "macos"))]
#[test]
fn running_off_macos_is_one_error_naming_what_would_run() {
    let dump = EspressoDumpPlan::new(Path::new("/m/model.espresso.net"), Path::new("/ir"));
    let err = execute_dump(&dump).unwrap_err();
    assert_eq!(err.code(), "not_macos");
    assert_eq!(
        err.to_string(),
        format!(
            "ane espresso dump-plist needs macOS (it calls Espresso.framework), and this is {}; \
             it would run: ctx = espresso_create_context(0x2718, -1); plan = \
             espresso_create_plan(ctx, 0); espresso_plan_add_network(plan, \
             \"/m/model.espresso.net\", 0x10010, &network); espresso_plan_build(plan); \
             espresso_dump_ir(plan, &\"/ir/\")",
            std::env::consts::OS
        )
    );
    let compile = AneCompilePlan::new(
        Path::new("/ir/net.plist"),
        Path::new("/o/m.hwx"),
        CompileTarget::H13,
        false,
        &[],
    )
    .unwrap();
    let err = execute_compile(&compile).unwrap_err().to_string();
    assert!(
        err.ends_with(
            "it would run: ANECCompile(options {\"InputNetworks\":[{\"NetworkPlistName\":\
             \"net.plist\",\"NetworkPlistPath\":\"/ir/\"}],\"OutputFileName\":\"m.hwx\",\
             \"OutputFilePath\":\"/o/\"}, flags {\"TargetArchitecture\":\"h13\"}, NULL)"
        ),
        "{err}"
    );
    let chain = ChainPlan { dump, compile };
    let err = execute_chain(&chain).unwrap_err().to_string();
    assert!(err.contains("; then ANECCompile("), "{err}");
    assert!(err.starts_with("ane hwx compile needs macOS"), "{err}");
}
