//! What a backend compiles: MIL text plus its weight files, from a path or inline.

use crate::error::RuntimeError;
use anekit_cpu::exec::IoSpec;
use anekit_ir::Program;
use anekit_ir::types::Type;
use anekit_ir::weights::MODEL_PATH;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

/// Largest MIL text accepted (the largest corpus model.mil is well under 1 MB).
pub const MAX_MIL_BYTES: u64 = 256 << 20;
/// Largest single weight file read into memory for the descriptor's dictionary.
pub const MAX_WEIGHT_FILE_BYTES: u64 = 8 << 30;

/// Where the BLOBFILE paths of a program point.
#[derive(Debug, Clone, Default)]
pub enum WeightSource {
    /// The program has no BLOBFILE constants (or must not read any).
    #[default]
    None,
    /// The folder `@model_path/` stands for.
    Dir(PathBuf),
    /// Weight files in memory, keyed by their full BLOBFILE path
    /// (`@model_path/weights/weight.bin`).
    Inline(BTreeMap<String, Vec<u8>>),
}

/// A program to compile: MIL text and its weights.
#[derive(Debug, Clone)]
pub struct ProgramSource {
    pub mil_text: String,
    pub weights: WeightSource,
    /// The file or folder it was read from, for messages (and the Core ML backend, which
    /// compiles packages).
    pub origin: Option<PathBuf>,
}

impl ProgramSource {
    pub fn from_text(mil_text: impl Into<String>, weights: WeightSource) -> ProgramSource {
        ProgramSource {
            mil_text: mil_text.into(),
            weights,
            origin: None,
        }
    }

    /// Read a program from `path`: a `.mil` file (weights relative to its folder), a folder
    /// holding `model.mil` (an `.mlmodelc` or an `ane convert` output), or an `.mlpackage`
    /// (converted to MIL text; weights from its `Data/com.apple.CoreML/weights`).
    pub fn from_path(path: &Path) -> Result<ProgramSource, RuntimeError> {
        let is_package = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("mlpackage"));
        if is_package {
            let pkg = anekit_coreml::MlPackage::open(path)
                .map_err(|e| RuntimeError::Program(e.to_string()))?;
            let converted = pkg
                .to_ast(None)
                .map_err(|e| RuntimeError::Program(e.to_string()))?;
            // `@model_path/weights/x` names `<weights dir>/x`, so `@model_path` is its parent.
            let weights = match pkg.weights_dir.as_deref().and_then(Path::parent) {
                Some(root) => WeightSource::Dir(root.to_path_buf()),
                None => WeightSource::None,
            };
            return Ok(ProgramSource {
                mil_text: converted.text(),
                weights,
                origin: Some(path.to_path_buf()),
            });
        }
        let (mil_path, root) = if path.is_dir() {
            (path.join("model.mil"), path.to_path_buf())
        } else {
            let root = path
                .parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
            (path.to_path_buf(), root)
        };
        let mil_text = read_text(&mil_path)?;
        Ok(ProgramSource {
            mil_text,
            weights: WeightSource::Dir(root),
            origin: Some(path.to_path_buf()),
        })
    }

    /// Parse and check the MIL text; the first error diagnostic becomes the error.
    pub fn program(&self) -> Result<Program, RuntimeError> {
        let checked = anekit_ir::check(&self.mil_text);
        let index = anekit_mil::LineIndex::new(&self.mil_text);
        let first_error = checked
            .diagnostics
            .iter()
            .find(|d| d.severity == anekit_ir::Severity::Error);
        if let Some(d) = first_error {
            let (line, col) = index.line_col(&self.mil_text, d.span.start);
            return Err(RuntimeError::Program(format!(
                "{line}:{col}: {}: {}",
                d.code, d.message
            )));
        }
        checked
            .program
            .ok_or_else(|| RuntimeError::Program("the program did not parse".into()))
    }

    /// The bytes of the weight file a BLOBFILE path names.
    pub fn read_weight_file(&self, blob_path: &str) -> Result<Vec<u8>, RuntimeError> {
        let rel = weight_relative_path(blob_path)?;
        match &self.weights {
            WeightSource::None => Err(RuntimeError::Weights(format!(
                "{blob_path}: the program references a weight file but none was given"
            ))),
            WeightSource::Inline(files) => files.get(blob_path).cloned().ok_or_else(|| {
                RuntimeError::Weights(format!("{blob_path}: not among the inline weight files"))
            }),
            WeightSource::Dir(root) => {
                let path = root.join(rel);
                let len = std::fs::metadata(&path)
                    .map_err(|e| RuntimeError::io(&path, e))?
                    .len();
                if len > MAX_WEIGHT_FILE_BYTES {
                    return Err(RuntimeError::Weights(format!(
                        "{}: {len} bytes is more than the {MAX_WEIGHT_FILE_BYTES}-byte limit",
                        path.display()
                    )));
                }
                std::fs::read(&path).map_err(|e| RuntimeError::io(&path, e))
            }
        }
    }
}

/// `@model_path/weights/w.bin` → `weights/w.bin`, refusing anything that could leave the
/// model folder (the same rule as `anekit_ir::weights::Weights::resolve_path`).
pub fn weight_relative_path(blob_path: &str) -> Result<PathBuf, RuntimeError> {
    let rel = blob_path.strip_prefix(MODEL_PATH).ok_or_else(|| {
        RuntimeError::Weights(format!("{blob_path}: does not start with {MODEL_PATH}"))
    })?;
    let rel = Path::new(rel);
    if rel.as_os_str().is_empty() || !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(RuntimeError::Weights(format!(
            "{blob_path}: must name a file below {MODEL_PATH} without `..` or absolute components"
        )));
    }
    Ok(rel.to_path_buf())
}

/// Every distinct BLOBFILE path of a program, sorted.
pub fn blob_paths(program: &Program) -> BTreeSet<String> {
    program
        .blob_constants()
        .map(|(_, _, b)| b.path.clone())
        .collect()
}

pub(crate) fn read_text(path: &Path) -> Result<String, RuntimeError> {
    let len = std::fs::metadata(path)
        .map_err(|e| RuntimeError::io(path, e))?
        .len();
    if len > MAX_MIL_BYTES {
        return Err(RuntimeError::Program(format!(
            "{}: {len} bytes is more than the {MAX_MIL_BYTES}-byte limit for MIL text",
            path.display()
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| RuntimeError::io(path, e))?;
    String::from_utf8(bytes).map_err(|e| {
        RuntimeError::Program(format!(
            "{}: not UTF-8 at byte {}",
            path.display(),
            e.utf8_error().valid_up_to()
        ))
    })
}

/// The chosen function of a program with its declared inputs and outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionIo {
    pub name: String,
    /// Position in the program: the `procedureIndex` of an ANE request.
    pub index: usize,
    pub inputs: Vec<IoSpec>,
    pub outputs: Vec<IoSpec>,
}

/// Pick `function` (`None`: `main`, or the only function) and describe its I/O from the
/// declared types.
pub fn function_io(program: &Program, function: Option<&str>) -> Result<FunctionIo, RuntimeError> {
    let wanted = function.unwrap_or("main");
    let found = program
        .functions
        .iter()
        .enumerate()
        .find(|(_, f)| f.name == wanted)
        .or(match (function, program.functions.as_slice()) {
            (None, [only]) => Some((0, only)),
            _ => None,
        });
    let Some((index, f)) = found else {
        return Err(RuntimeError::Program(format!(
            "function `{wanted}` not found in the program"
        )));
    };
    let spec = |id: anekit_ir::ir::ValueId| -> Result<IoSpec, RuntimeError> {
        let v = f
            .value(id)
            .ok_or_else(|| RuntimeError::Program(format!("dangling value in `{}`", f.name)))?;
        match &v.ty {
            Type::Tensor(t) => Ok(IoSpec {
                name: v.name.clone(),
                dtype: t.dtype,
                shape: t
                    .shape
                    .iter()
                    .map(|d| d.known().map(|n| n as usize))
                    .collect(),
            }),
            other => Err(RuntimeError::Program(format!(
                "`{}` has type {other:?}; only tensors can cross the program boundary",
                v.name
            ))),
        }
    };
    Ok(FunctionIo {
        name: f.name.clone(),
        index,
        inputs: f
            .inputs
            .iter()
            .map(|&id| spec(id))
            .collect::<Result<_, _>>()?,
        outputs: f
            .outputs
            .iter()
            .map(|&id| spec(id))
            .collect::<Result<_, _>>()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_FUNCS: &str = "program(1.3)\n{\n    func main<ios18>(tensor<fp16, [1, 4, 1, 8]> x) {\n            tensor<fp16, [1, 4, 1, 8]> y = relu(x = x)[name = string(\"y\")];\n        } -> (y);\n    func second<ios18>(tensor<fp32, [1, 2, 1, 3]> a) {\n            tensor<fp32, [1, 2, 1, 3]> b = relu(x = a)[name = string(\"b\")];\n        } -> (b);\n}\n";

    #[test]
    fn function_io_picks_main_or_named_function_with_its_index() {
        let src = ProgramSource::from_text(TWO_FUNCS, WeightSource::None);
        let program = src.program().unwrap();
        let main = function_io(&program, None).unwrap();
        assert_eq!(main.name, "main");
        assert_eq!(main.index, 0);
        assert_eq!(main.inputs[0].name, "x");
        assert_eq!(
            main.inputs[0].shape,
            vec![Some(1), Some(4), Some(1), Some(8)]
        );
        let second = function_io(&program, Some("second")).unwrap();
        assert_eq!(second.index, 1);
        assert_eq!(second.outputs[0].name, "b");
        assert_eq!(second.outputs[0].dtype, anekit_core::DType::Fp32);
        assert!(function_io(&program, Some("nope")).is_err());
    }

    #[test]
    fn program_errors_carry_line_and_code() {
        let src =
            ProgramSource::from_text("program(1.3)\n{\n  func main<ios18>(", WeightSource::None);
        let err = src.program().unwrap_err();
        assert_eq!(err.code(), "invalid_program");
        assert!(err.to_string().starts_with("invalid program: 3:"), "{err}");
    }

    #[test]
    fn weight_paths_must_stay_below_model_path() {
        assert_eq!(
            weight_relative_path("@model_path/weights/w.bin").unwrap(),
            PathBuf::from("weights/w.bin")
        );
        for bad in [
            "/etc/passwd",
            "@model_path/../x",
            "@model_path/",
            "@model_path//abs",
        ] {
            assert!(weight_relative_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn inline_weights_are_looked_up_by_full_blob_path() {
        let mut files = BTreeMap::new();
        files.insert("@model_path/weights/w.bin".to_string(), vec![1, 2, 3]);
        let src = ProgramSource::from_text("", WeightSource::Inline(files));
        assert_eq!(
            src.read_weight_file("@model_path/weights/w.bin").unwrap(),
            vec![1, 2, 3]
        );
        assert!(
            src.read_weight_file("@model_path/weights/other.bin")
                .is_err()
        );
    }
}
