//! The sentinel analysis of `ane probe` against simulated `ANEC*Initialize` calls, and its
//! comparison with the descriptor table (knowledge-base.md §1).

use anekit_kb::descriptors;
use anekit_kb::probe::{self, BUFFER_LEN, ProbeError, SENTINELS, SizeVerdict};

/// A deterministic stand-in for an initializer that writes `values` at the start of the
/// buffer and leaves the rest alone, run the way the probe runs it.
fn run(values: &[u8], sentinel: u8) -> Vec<u8> {
    let mut buf = vec![sentinel; BUFFER_LEN];
    buf[..values.len()].copy_from_slice(values);
    buf
}

fn probe_of(values: &[u8]) -> probe::SentinelAnalysis {
    probe::analyse(&run(values, SENTINELS[0]), &run(values, SENTINELS[1])).unwrap()
}

#[test]
fn single_sentinel_undercounts_when_the_last_written_byte_is_the_sentinel() {
    // 24 bytes (ANECKernelSize: 3 × u64 = 1, 1, 1) written as defaults.
    let mut values = Vec::new();
    for v in [1u64, 1, 1] {
        values.extend_from_slice(&v.to_le_bytes());
    }
    let a = probe_of(&values);
    // Little-endian u64 1: the last 7 bytes of the last field are 0, so both measures agree.
    assert_eq!(
        (a.extent_single_sentinel, a.extent, a.written_bytes),
        (24, 24, 24)
    );

    // A struct whose last field is set to 0xAAAA: the notes' method stops 2 bytes early.
    let mut v2 = vec![0u8; 14];
    v2.extend_from_slice(&[0xAA, 0xAA]);
    let a = probe_of(&v2);
    assert_eq!((a.extent_single_sentinel, a.extent), (14, 16));
    assert!(!a.buffer_exhausted);
}

#[test]
fn untouched_bytes_are_not_counted_as_written() {
    // Writes bytes 0..8 and 16..20, skips 8..16 (padding): extent 20, 12 bytes written.
    let mut a_buf = vec![SENTINELS[0]; 64];
    let mut b_buf = vec![SENTINELS[1]; 64];
    for buf in [&mut a_buf, &mut b_buf] {
        buf[..8].copy_from_slice(&[0; 8]);
        buf[16..20].copy_from_slice(&[7; 4]);
    }
    let a = probe::analyse(&a_buf, &b_buf).unwrap();
    assert_eq!((a.extent, a.written_bytes, a.buffer_len), (20, 12, 64));
    assert_eq!(probe::extent(&[0xAA; 8], 0xAA), 0);
    assert_eq!(
        probe::analyse(&[0; 4], &[0; 5]),
        Err(ProbeError::LengthMismatch(4, 5))
    );
    assert_eq!(probe::analyse(&[], &[]), Err(ProbeError::Empty));
}

#[test]
fn every_table_size_is_recovered_even_in_the_worst_case_for_the_notes_method() {
    // For each of the 47 structs: an initializer writing exactly `size` bytes whose last byte
    // is 0xAA. The two-sentinel analysis finds the table size; the notes' method does not.
    for d in descriptors::all() {
        let size = d.size as usize;
        let mut values = vec![0u8; size];
        values[size - 1] = 0xAA;
        let a = probe_of(&values);
        assert_eq!(a.extent, size, "{}", d.name);
        assert!(a.extent_single_sentinel < size, "{}", d.name);
        let p = probe::compare(d.initializer, a);
        assert_eq!(
            (p.name, p.table_size, p.verdict),
            (Some(d.name), Some(d.size), SizeVerdict::Matches)
        );
    }
}

#[test]
fn verdicts_against_the_table() {
    let conv = descriptors::by_name("ANECConvLayerDesc").unwrap();
    let bigger = probe::compare(conv.initializer, probe_of(&[1; 184]));
    assert_eq!(
        (bigger.table_size, bigger.verdict),
        (Some(176), SizeVerdict::LargerThanTable)
    );
    let smaller = probe::compare(conv.initializer, probe_of(&[1; 168]));
    assert_eq!(smaller.verdict, SizeVerdict::SmallerThanTable);
    let full = probe::compare(conv.initializer, probe_of(&[1; BUFFER_LEN]));
    assert_eq!(full.verdict, SizeVerdict::Inconclusive);
    let other = probe::compare("ANECSomethingNewInitialize", probe_of(&[1; 8]));
    assert_eq!((other.name, other.verdict), (None, SizeVerdict::NotInTable));
}

#[test]
fn the_macos_plan_covers_the_issue_steps() {
    let plan = probe::macos_plan();
    let ids: Vec<&str> = plan.iter().map(|s| s.id).collect();
    assert_eq!(
        ids,
        [
            "system",
            "device_info",
            "frameworks",
            "classes",
            "entitlement_matrix",
            "descriptor_sizes",
            "class_dump"
        ]
    );
    let sizes = plan.iter().find(|s| s.id == "descriptor_sizes").unwrap();
    assert_eq!(sizes.calls.len(), 47);
    assert_eq!(
        sizes.calls[3],
        "dlsym(ANECompiler, \"ANECConvLayerDescInitialize\")"
    );
    let info = plan.iter().find(|s| s.id == "device_info").unwrap();
    assert_eq!(info.calls.len(), 18);
    assert!(
        info.calls
            .contains(&"+[_ANEDeviceInfo numANECores]".to_string())
    );
}

/// A report as a Mac would produce it, with one entry of every kind.
fn synthetic_report() -> probe::ProbeReport {
    use probe::*;
    let conv = descriptors::by_name("ANECConvLayerDesc").unwrap();
    let pool = descriptors::by_name("ANECPoolLayerDesc").unwrap();
    let mut conv_bytes = vec![0u8; conv.size as usize];
    conv_bytes[0] = 1;
    ProbeReport {
        schema_version: REPORT_SCHEMA_VERSION,
        anekit_version: "0.1.0".into(),
        timestamp: "2026-11-22T10:00:00Z".into(),
        os: "macos".into(),
        arch: "aarch64".into(),
        macos: true,
        probed: true,
        reason: "macOS".into(),
        mac: Some(MacProbe {
            system: SystemInfo {
                os_version: Some("15.3.1".into()),
                os_build: Some("24D70".into()),
                hw_model: Some("Mac14,2".into()),
                chip: Some("Apple M2".into()),
                boot_args: None,
            },
            device_info: vec![
                DeviceInfoValue {
                    selector: "hasANE".into(),
                    encoding: Some("B".into()),
                    status: Status::Works,
                    value: Some(InfoValue::Bool(true)),
                    detail: String::new(),
                },
                DeviceInfoValue {
                    selector: "numANECores".into(),
                    encoding: Some("q".into()),
                    status: Status::Works,
                    value: Some(InfoValue::Int(16)),
                    detail: String::new(),
                },
                DeviceInfoValue {
                    selector: "isBootArgPresent:".into(),
                    encoding: None,
                    status: Status::NotAttempted,
                    value: None,
                    detail: "takes an argument; not called".into(),
                },
            ],
            frameworks: vec![
                FrameworkLoad {
                    path: FRAMEWORKS[0].into(),
                    loaded: true,
                    error: None,
                },
                FrameworkLoad {
                    path: FRAMEWORKS[3].into(),
                    loaded: false,
                    error: Some("image not found".into()),
                },
            ],
            classes: vec![ClassPresence {
                class: "_ANEClient".into(),
                framework: "AppleNeuralEngine".into(),
                present: true,
                members_found: 3,
                members_missing: vec!["beginRealTimeTask".into()],
            }],
            entitlement_matrix: vec![MatrixEntry {
                step: ENTITLEMENT_MATRIX[3].into(),
                status: Status::Works,
                detail: "<_ANEClient: 0x1>".into(),
            }],
            descriptor_sizes: vec![
                DescriptorSize::Probed(probe::compare(conv.initializer, probe_of(&conv_bytes))),
                DescriptorSize::Probed(probe::compare(pool.initializer, probe_of(&[3; 200]))),
                DescriptorSize::Missing {
                    initializer: "ANECFooInitialize".into(),
                },
            ],
            class_dump: vec![ImageDump {
                image: "/System/Library/PrivateFrameworks/AppleNeuralEngine.framework/Versions/A/AppleNeuralEngine".into(),
                classes: vec![ClassDump {
                    name: "_ANEDeviceInfo".into(),
                    superclass: Some("NSObject".into()),
                    class_methods: vec![MethodDump {
                        selector: "hasANE".into(),
                        types: Some("B16@0:8".into()),
                    }],
                    instance_methods: vec![],
                }],
            }],
        }),
        asahi: None,
        plan: probe::macos_plan(),
    }
}

#[test]
fn report_json_fields() {
    let doc = serde_json::to_value(synthetic_report()).unwrap();
    assert_eq!(doc["schema_version"], 1);
    let mac = &doc["mac"];
    assert_eq!(mac["system"]["chip"], "Apple M2");
    assert_eq!(mac["system"]["boot_args"], serde_json::Value::Null);
    let info = &mac["device_info"];
    assert_eq!(
        (&info[0]["value"], &info[1]["value"], &info[2]["value"]),
        (
            &serde_json::json!(true),
            &serde_json::json!(16),
            &serde_json::Value::Null
        )
    );
    assert_eq!(info[2]["status"], "not_attempted");
    let conv = &mac["descriptor_sizes"][0];
    assert_eq!(
        conv,
        &serde_json::json!({
            "status": "probed",
            "initializer": "ANECConvLayerDescInitialize",
            "name": "ANECConvLayerDesc",
            "table_size": 176,
            "analysis": {
                "buffer_len": BUFFER_LEN,
                "extent_single_sentinel": 176,
                "extent": 176,
                "written_bytes": 176,
                "buffer_exhausted": false
            },
            "verdict": "matches"
        })
    );
    assert_eq!(mac["descriptor_sizes"][1]["verdict"], "larger_than_table");
    assert_eq!(
        mac["descriptor_sizes"][2],
        serde_json::json!({"status": "missing", "initializer": "ANECFooInitialize"})
    );
    assert_eq!(
        mac["class_dump"][0]["classes"][0]["class_methods"][0]["types"],
        "B16@0:8"
    );
    assert_eq!(doc["plan"].as_array().unwrap().len(), 7);
}

#[test]
fn report_text_lists_every_finding() {
    let r = synthetic_report();
    let pool = descriptors::by_name("ANECPoolLayerDesc").unwrap();
    let text = probe::render_text(&r);
    let expected_lines = [
        "anekit 0.1.0 probe (schema 1) at 2026-11-22T10:00:00Z".to_string(),
        "probed: yes".into(),
        "macOS 15.3.1 (24D70), Mac14,2, chip Apple M2".into(),
        format!("  {:<46} true", "hasANE"),
        format!("  {:<46} 16", "numANECores"),
        format!(
            "  {:<46} (not attempted: takes an argument; not called)",
            "isBootArgPresent:"
        ),
        format!("  {} loaded", probe::FRAMEWORKS[0]),
        format!("  {} not loaded: image not found", probe::FRAMEWORKS[3]),
        "classes: 1 of 1 knowledge-base classes resolve".into(),
        "  _ANEClient lacks beginRealTimeTask".into(),
        "  works         [_ANEClient sharedConnection]: <_ANEClient: 0x1>".into(),
        "descriptor sizes: 1 match the table, 1 differ, 1 missing, 0 not attempted".into(),
        format!(
            "  ANECPoolLayerDesc: table {}, probed 200 (larger than table)",
            pool.size
        ),
        "class dump: 1 classes, 1 methods in /System/Library/PrivateFrameworks/AppleNeuralEngine.framework/Versions/A/AppleNeuralEngine (full list in --json)".into(),
    ];
    let lines: Vec<&str> = text.lines().collect();
    for line in &expected_lines {
        assert!(
            lines.contains(&line.as_str()),
            "missing {line:?} in\n{text}"
        );
    }
    // Once the probe ran, the plan is not repeated in the text.
    assert!(!text.contains("step system"), "{text}");
}

fn schema_validator() -> jsonschema::Validator {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/probe.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::draft202012::new(&schema).unwrap()
}

#[test]
fn synthetic_mac_report_validates_against_the_schema() {
    let validator = schema_validator();
    let doc = serde_json::to_value(synthetic_report()).unwrap();
    let errors: Vec<String> = validator.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");

    // The schema is strict: a dropped field, an unknown status or a stray field fails.
    let mut dropped = doc.clone();
    dropped.as_object_mut().unwrap().remove("timestamp");
    assert!(!validator.is_valid(&dropped));
    let mut bad_status = doc.clone();
    bad_status["mac"]["entitlement_matrix"][0]["status"] = "maybe".into();
    assert!(!validator.is_valid(&bad_status));
    let mut stray = doc.clone();
    stray["mac"]["descriptor_sizes"][2]["extent"] = 3.into();
    assert!(!validator.is_valid(&stray));
    let mut bad_time = doc;
    bad_time["timestamp"] = "22 Nov 2026".into();
    assert!(!validator.is_valid(&bad_time));
}
