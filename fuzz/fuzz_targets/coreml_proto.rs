//! Arbitrary bytes as a Core ML `Model` protobuf: decode (prost + anekit's wire scanner and the
//! NeuralNetwork layer decoder), convert an ML Program to the MIL syntax tree (which prints and
//! re-parses it) and back to a protobuf, check BLOBFILEs against the input as a weight file; also Manifest.json and
//! coremldata.bin parsing. Nothing may panic, and a converted program must print to text that
//! anekit-mil parses back to the same tree.
#![no_main]

use anekit_coreml::{Manifest, MlModelFile, blobcheck, from_ast, mlmodelc, package};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(f) = MlModelFile::parse(data, "fuzz") {
        let _ = f.info();
        match package::model_to_ast(&f.model, &f.model_types, None) {
            Ok(conv) => {
                let text = conv.text();
                let back = anekit_mil::parse(&text).expect("converted text parses");
                assert_eq!(back, conv.program);
                let _ = blobcheck::check_blobs(&conv.program, |_| Some(data));
                // And back to a protobuf (the .mlpackage writer's path).
                let _ = from_ast::model_from_ast(&conv.program);
            }
            Err(e) => assert!(!e.to_string().contains("anekit bug"), "{e}"),
        }
    }
    let _ = Manifest::parse(data, std::path::Path::new("Manifest.json"));
    let _ = mlmodelc::summarize_coremldata(data);
    let _ = mlmodelc::parse_metadata(data, std::path::Path::new("metadata.json"));
});
