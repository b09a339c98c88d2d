//! The weights dictionary of `+[_ANEInMemoryModelDescriptor modelWithMILText:weights:
//! optionsPlist:]`: NSString BLOBFILE path → `{ "offset": NSNumber, "data": NSData }`
//! (private-api.md §2 step 1, [source]). Keys are the paths exactly as the MIL text writes
//! them (`@model_path/weights/weight.bin`); `offset` is 0 in every production caller (its
//! meaning is unknown, §24 #6).

use crate::error::RuntimeError;
use crate::source::{ProgramSource, blob_paths, weight_relative_path};
use anekit_ir::Program;
use std::path::PathBuf;

/// Size of a blob storage metadata record: a BLOBFILE offset must leave room for it.
const BLOB_METADATA_BYTES: u64 = 64;

/// One entry of the weights dictionary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightEntry {
    /// The dictionary key: the BLOBFILE path as written.
    pub key: String,
    /// The `offset` value (always 0, as every known caller passes).
    pub offset: u64,
    /// The file's bytes (the `data` value).
    pub data: Vec<u8>,
}

impl WeightEntry {
    /// The file's path relative to the temp directory (`weights/weight.bin`).
    pub fn relative_path(&self) -> Result<PathBuf, RuntimeError> {
        weight_relative_path(&self.key)
    }
}

/// The whole dictionary, sorted by key. Empty for weightless programs (passed as `@{}`, as
/// upstream maderix/ANE does).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WeightsDictionary {
    pub entries: Vec<WeightEntry>,
}

impl WeightsDictionary {
    /// Read every weight file `program` references from `source`, checking that each BLOBFILE
    /// offset leaves room for its 64-byte metadata record.
    pub fn build(
        source: &ProgramSource,
        program: &Program,
    ) -> Result<WeightsDictionary, RuntimeError> {
        let mut entries = Vec::new();
        for key in blob_paths(program) {
            weight_relative_path(&key)?;
            let data = source.read_weight_file(&key)?;
            entries.push(WeightEntry {
                key,
                offset: 0,
                data,
            });
        }
        for (_, _, blob) in program.blob_constants() {
            let Some(entry) = entries.iter().find(|e| e.key == blob.path) else {
                continue;
            };
            let end = blob.offset.checked_add(BLOB_METADATA_BYTES);
            if end.is_none_or(|end| end > entry.data.len() as u64) {
                return Err(RuntimeError::Weights(format!(
                    "{}: BLOBFILE offset {} is past the end of the {}-byte file",
                    blob.path,
                    blob.offset,
                    entry.data.len()
                )));
            }
        }
        Ok(WeightsDictionary { entries })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Total bytes of all files.
    pub fn total_bytes(&self) -> u64 {
        self.entries.iter().map(|e| e.data.len() as u64).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::WeightSource;
    use std::collections::BTreeMap;

    fn program_with_two_files() -> String {
        "program(1.3)\n{\n    func main<ios18>(tensor<fp16, [1, 2, 1, 4]> x) {\n            tensor<fp16, [2]> a = const()[name = string(\"a\"), val = tensor<fp16, [2]>(BLOBFILE(path = string(\"@model_path/weights/b.bin\"), offset = uint64(64)))];\n            tensor<fp16, [2]> c = const()[name = string(\"c\"), val = tensor<fp16, [2]>(BLOBFILE(path = string(\"@model_path/weights/a.bin\"), offset = uint64(64)))];\n            tensor<fp16, [1, 2, 1, 4]> y = relu(x = x)[name = string(\"y\")];\n        } -> (y);\n}\n".to_string()
    }

    #[test]
    fn dictionary_keys_are_blobfile_paths_with_offset_zero() {
        let mut files = BTreeMap::new();
        files.insert("@model_path/weights/a.bin".to_string(), vec![0xA; 132]);
        files.insert("@model_path/weights/b.bin".to_string(), vec![0xB; 200]);
        files.insert("@model_path/weights/unused.bin".to_string(), vec![0; 8]);
        let src = ProgramSource::from_text(program_with_two_files(), WeightSource::Inline(files));
        let program = src.program().unwrap();
        let dict = WeightsDictionary::build(&src, &program).unwrap();
        let keys: Vec<_> = dict.entries.iter().map(|e| e.key.as_str()).collect();
        // Sorted, only the referenced files.
        assert_eq!(
            keys,
            ["@model_path/weights/a.bin", "@model_path/weights/b.bin"]
        );
        assert!(dict.entries.iter().all(|e| e.offset == 0));
        assert_eq!(dict.entries[0].data, vec![0xA; 132]);
        assert_eq!(dict.total_bytes(), 332);
        assert_eq!(
            dict.entries[1].relative_path().unwrap(),
            PathBuf::from("weights/b.bin")
        );
    }

    #[test]
    fn blobfile_offset_past_the_file_is_refused() {
        let mut files = BTreeMap::new();
        files.insert("@model_path/weights/a.bin".to_string(), vec![0; 127]);
        files.insert("@model_path/weights/b.bin".to_string(), vec![0; 200]);
        let src = ProgramSource::from_text(program_with_two_files(), WeightSource::Inline(files));
        let program = src.program().unwrap();
        let err = WeightsDictionary::build(&src, &program).unwrap_err();
        assert_eq!(
            err.to_string(),
            "weights: @model_path/weights/a.bin: BLOBFILE offset 64 is past the end of the 127-byte file"
        );
    }

    #[test]
    fn weightless_program_gives_an_empty_dictionary() {
        let src = ProgramSource::from_text(
            "program(1.3)\n{\n    func main<ios18>(tensor<fp16, [1, 2, 1, 4]> x) {\n            tensor<fp16, [1, 2, 1, 4]> y = relu(x = x)[name = string(\"y\")];\n        } -> (y);\n}\n",
            WeightSource::None,
        );
        let program = src.program().unwrap();
        assert!(WeightsDictionary::build(&src, &program).unwrap().is_empty());
    }
}
