//! What the `coreml` backend hands to `+[MLModel compileModelAtURL:error:]`: an `.mlpackage`
//! written from the program's MIL text and weights with anekit-coreml's writer (the same as
//! `ane convert model.mil -o X.mlpackage`). Programs that came from an `.mlpackage` or an
//! `.mlmodelc` are used as they are.

use crate::error::RuntimeError;
use crate::plan::weights::WeightsDictionary;
use crate::source::ProgramSource;
use anekit_coreml::to_ast::blob_file_name;
use std::path::{Path, PathBuf};

/// What Core ML should be given for a source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoremlInput {
    /// An `.mlpackage` (or `.mlmodel`) that still needs `compileModelAtURL:`.
    Package(PathBuf),
    /// An `.mlmodelc` that loads directly.
    Compiled(PathBuf),
}

/// The package or compiled model for `source`, writing `<dir>/model.mlpackage` when the
/// source is MIL text.
pub fn coreml_input(source: &ProgramSource, dir: &Path) -> Result<CoremlInput, RuntimeError> {
    if let Some(origin) = &source.origin {
        let ext = origin
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("mlpackage") => return Ok(CoremlInput::Package(origin.clone())),
            Some("mlmodelc") => return Ok(CoremlInput::Compiled(origin.clone())),
            _ => {}
        }
    }
    let out = dir.join("model.mlpackage");
    write_package(source, &out)?;
    Ok(CoremlInput::Package(out))
}

/// Write `source` as an `.mlpackage` at `out`. Weight files must live directly in
/// `@model_path/weights/` (the package layout has no other place for them).
pub fn write_package(source: &ProgramSource, out: &Path) -> Result<(), RuntimeError> {
    let ast =
        anekit_mil::parse(&source.mil_text).map_err(|e| RuntimeError::Program(e.to_string()))?;
    let program = source.program()?;
    let model = anekit_coreml::from_ast::model_from_ast(&ast)
        .map_err(|e| RuntimeError::Program(format!("cannot describe as Core ML: {e}")))?;
    let weights = WeightsDictionary::build(source, &program)?;
    let files = weights
        .entries
        .into_iter()
        .map(|e| match blob_file_name(&e.key) {
            Some(name) => Ok((name.to_string(), e.data)),
            None => Err(RuntimeError::Weights(format!(
                "{}: a Core ML package keeps weights directly in @model_path/weights/",
                e.key
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    anekit_coreml::from_ast::write_mlpackage(&model, &files, out)
        .map_err(|e| RuntimeError::Program(format!("cannot write {}: {e}", out.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::WeightSource;
    use std::collections::BTreeMap;

    #[test]
    fn mil_text_becomes_a_package_that_reads_back() {
        let text = "program(1.3)\n{\n    func main<ios18>(tensor<fp16, [1, 2, 1, 3]> x) {\n            tensor<fp16, [1, 2, 1, 3]> b = const()[name = string(\"b\"), val = tensor<fp16, [1, 2, 1, 3]>(BLOBFILE(path = string(\"@model_path/weights/weight.bin\"), offset = uint64(64)))];\n            tensor<fp16, [1, 2, 1, 3]> y = add(x = x, y = b)[name = string(\"y\")];\n        } -> (y);\n}\n";
        // A real blob file: one fp16 [6] blob at offset 64.
        let mut writer = anekit_blob::BlobWriter::new();
        let offset = writer
            .add(&anekit_core::TensorData::F16(vec![half::f16::ONE; 6]))
            .unwrap();
        assert_eq!(offset, 64);
        let blob = writer.finish();
        let mut files = BTreeMap::new();
        files.insert("@model_path/weights/weight.bin".to_string(), blob.clone());
        let source = ProgramSource::from_text(text, WeightSource::Inline(files));
        let dir = tempfile::tempdir().unwrap();
        let CoremlInput::Package(path) = coreml_input(&source, dir.path()).unwrap() else {
            panic!("expected a package")
        };
        assert_eq!(path, dir.path().join("model.mlpackage"));
        let pkg = anekit_coreml::MlPackage::open(&path).unwrap();
        let info = pkg.info();
        assert_eq!(info.inputs.len(), 1);
        assert_eq!(info.inputs[0].name, "x");
        assert_eq!(info.outputs[0].name, "y");
        assert_eq!(
            std::fs::read(pkg.blob_path("@model_path/weights/weight.bin").unwrap()).unwrap(),
            blob
        );
        // Reading the package back gives a program that checks.
        let back = ProgramSource::from_path(&path).unwrap();
        back.program().unwrap();
    }

    #[test]
    fn packages_and_compiled_models_are_used_as_they_are() {
        let mut source = ProgramSource::from_text("", WeightSource::None);
        source.origin = Some(PathBuf::from("/m/a.mlpackage"));
        let dir = Path::new("/unused");
        assert_eq!(
            coreml_input(&source, dir).unwrap(),
            CoremlInput::Package(PathBuf::from("/m/a.mlpackage"))
        );
        source.origin = Some(PathBuf::from("/m/a.mlmodelc"));
        assert_eq!(
            coreml_input(&source, dir).unwrap(),
            CoremlInput::Compiled(PathBuf::from("/m/a.mlmodelc"))
        );
    }
}
