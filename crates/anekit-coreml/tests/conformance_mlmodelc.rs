//! Conformance over the corpus compiled-bundle files and the legacy NeuralNetwork .mlmodel.
//! The corpus stores .mlmodelc members flattened (`X.mlmodelc__metadata.json`), so the test
//! rebuilds the folder in a temp dir from the named files (never copying them into the repo).

use anekit_coreml::MlModelFile;
use anekit_coreml::mlmodelc::{self, MlModelc};

#[test]
fn apple_coremltools_add_model_mlmodelc() {
    let Some(dir) = anekit_core::corpus::corpus_dir("mil") else {
        return;
    };
    let src = dir.join("apple__coremltools");
    let pre = "coremltools__modelrunner__ModelRunner__add_model.mlmodelc__";
    let tmp = tempfile::tempdir().unwrap();
    let b = tmp.path().join("add_model.mlmodelc");
    std::fs::create_dir_all(b.join("analytics")).unwrap();
    for (from, to) in [
        ("model.mil", "model.mil"),
        ("metadata.json", "metadata.json"),
        ("coremldata.bin", "coremldata.bin"),
        ("analytics__coremldata.bin", "analytics/coremldata.bin"),
    ] {
        std::fs::copy(src.join(format!("{pre}{from}")), b.join(to)).unwrap();
    }
    let c = MlModelc::open(&b).unwrap();
    assert_eq!(c.flavour, "mlProgram");
    let p = c.program.as_ref().unwrap();
    assert_eq!(p.functions[0].name.name, "main");
    assert_eq!(p.functions[0].opset.name, "ios16");
    let md = &c.metadata.as_ref().unwrap()[0];
    assert_eq!(md.specification_version, Some(7));
    assert_eq!(md.metadata_output_version.as_deref(), Some("3.0"));
    assert_eq!(
        md.ml_program_operation_type_histogram.get("Ios16.mul"),
        Some(&1)
    );
    assert_eq!(
        md.input_schema
            .iter()
            .map(|e| e.name.as_str())
            .collect::<Vec<_>>(),
        ["x", "y"]
    );
    assert_eq!(
        md.input_schema[0].formatted_type.as_deref(),
        Some("MultiArray (Float16 1 × 10)")
    );
    assert_eq!(md.output_schema[0].shape.as_deref(), Some("[1, 10]"));
    assert_eq!(
        md.availability.get("macOS").map(String::as_str),
        Some("13.0")
    );
    assert_eq!(md.generated_class_name.as_deref(), Some("add_model"));
    // coremldata.bin: 319 bytes; type word 502 = mlProgram, repeated in the 16-byte trailer;
    // the embedded description names x, y -> var_3 (fp16 [1, 10]).
    let cd = c.coremldata.as_ref().unwrap();
    assert_eq!(cd.size, 319);
    assert_eq!(cd.model_type_field, Some(502));
    assert!(cd.trailer_repeats_type);
    let d = cd.description.as_ref().unwrap();
    assert_eq!(
        d.inputs.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
        ["x", "y"]
    );
    assert_eq!(d.outputs[0].name, "var_3");
    assert_eq!(d.outputs[0].shape, vec![1, 10]);
    assert_eq!(d.outputs[0].dtype.as_deref(), Some("fp16"));
    assert_eq!(
        d.metadata
            .user_defined
            .get("com.github.apple.coremltools.version")
            .map(String::as_str),
        Some("8.1")
    );
    assert!(c.analytics_size.unwrap() > 0);
}

#[test]
fn fluidaudio_metadata_json() {
    let Some(dir) = anekit_core::corpus::corpus_dir("mil") else {
        return;
    };
    let f = dir.join("FluidInference__FluidAudio/Sources__FluidAudio__Resources__OptimizationModels__Argmax.mlmodelc__metadata.json");
    let md = mlmodelc::parse_metadata(&std::fs::read(&f).unwrap(), &f).unwrap();
    assert_eq!(md.len(), 1);
    assert_eq!(md[0].author.as_deref(), Some("FluidAudio"));
    assert_eq!(
        md[0].compute_precision.as_deref(),
        Some("Mixed (Float16, Int32)")
    );
    assert_eq!(
        md[0]
            .output_schema
            .iter()
            .map(|e| e.name.as_str())
            .collect::<Vec<_>>(),
        ["index", "score"]
    );
    let f = dir.join("FluidInference__FluidAudio/Models__ParakeetEOU__Streaming__1280ms__streaming_encoder.mlmodelc__metadata.json");
    let md = mlmodelc::parse_metadata(&std::fs::read(&f).unwrap(), &f).unwrap();
    assert!(!md[0].input_schema.is_empty());
}

#[test]
fn tinygrad_neural_network_mlmodel() {
    let Some(dir) = anekit_core::corpus::corpus_dir("tinygrad-ane") else {
        return;
    };
    let path = dir.join("1_build/test.mlmodel");
    let bytes = std::fs::read(&path).unwrap();
    let f = MlModelFile::parse(&bytes, "test.mlmodel").unwrap();
    let info = f.info();
    assert_eq!(info.model_type, "neuralNetwork");
    assert!(f.model.ml_program.is_none());
    assert_eq!(info.specification_version, 1);
    let ins: Vec<(&str, Option<&str>, &[i64])> = info
        .inputs
        .iter()
        .map(|i| (i.name.as_str(), i.dtype.as_deref(), i.shape.as_slice()))
        .collect();
    assert_eq!(
        ins,
        [
            ("image", Some("fp64"), &[64][..]),
            ("image2", Some("fp64"), &[64][..])
        ]
    );
    assert_eq!(info.outputs[0].name, "probs");
    assert_eq!(f.layers.len(), 1);
    let l = &f.layers[0];
    assert_eq!((l.name.as_str(), l.kind.as_str()), ("element", "add"));
    assert_eq!(l.inputs, ["image", "image2"]);
    assert_eq!(l.outputs, ["probs"]);
    assert_eq!(l.params, serde_json::json!({}));
    let e = anekit_coreml::package::model_to_ast(&f.model, &f.model_types, None).unwrap_err();
    assert!(
        e.to_string().contains("neuralNetwork (Model field 500)"),
        "{e}"
    );
}
