//! `Manifest.json` of an `.mlpackage` (reference/mil-blob.md §5.1).
//!
//! Rules enforced (those of coremltools' `ModelPackage` reader): `fileFormatVersion` must be
//! `1.0.0` or older; every `itemInfoEntries` entry needs string `path`, `name`, `author` and
//! `description`; `rootModelIdentifier` must name an entry (UUIDs compare case-insensitively).
//! anekit additionally refuses item paths that are absolute or contain `..`.

use crate::error::{CoremlError, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Largest Manifest.json read (real ones are ~600 bytes).
pub const MAX_MANIFEST_BYTES: u64 = 1 << 20;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ItemInfo {
    /// The entry's key (a UUID).
    pub id: String,
    pub path: String,
    pub name: String,
    pub author: String,
    pub description: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Manifest {
    pub file_format_version: String,
    pub items: Vec<ItemInfo>,
    pub root_model_identifier: String,
}

impl Manifest {
    /// Parse Manifest.json text; `path` names the file in errors.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Manifest> {
        let bad = |detail: String| CoremlError::Manifest {
            path: path.to_path_buf(),
            detail,
        };
        let v: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| CoremlError::Json {
                path: path.to_path_buf(),
                detail: e.to_string(),
            })?;
        let obj = v
            .as_object()
            .ok_or_else(|| bad("the top level is not a JSON object".into()))?;
        let version = obj
            .get("fileFormatVersion")
            .and_then(|v| v.as_str())
            .ok_or_else(|| bad("missing string key `fileFormatVersion`".into()))?;
        let parts: Vec<Option<u64>> = version.split('.').map(|p| p.parse().ok()).collect();
        let nums: Option<Vec<u64>> = parts.into_iter().collect();
        match nums.as_deref() {
            Some([major, minor, patch]) => {
                if (*major, *minor, *patch) > (1, 0, 0) {
                    return Err(bad(format!(
                        "fileFormatVersion {version} is newer than 1.0.0, the only version known"
                    )));
                }
            }
            _ => {
                return Err(bad(format!(
                    "fileFormatVersion {version:?} is not MAJOR.MINOR.PATCH"
                )));
            }
        }
        let entries = obj
            .get("itemInfoEntries")
            .and_then(|v| v.as_object())
            .ok_or_else(|| bad("missing object key `itemInfoEntries`".into()))?;
        let mut items = Vec::new();
        for (id, e) in entries {
            let field = |k: &str| -> Result<String> {
                e.get(k)
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
                    .ok_or_else(|| bad(format!("itemInfoEntries[{id}]: missing string key `{k}`")))
            };
            let item = ItemInfo {
                id: id.clone(),
                path: field("path")?,
                name: field("name")?,
                author: field("author")?,
                description: field("description")?,
            };
            if item.path.is_empty()
                || item.path.starts_with('/')
                || item.path.split(['/', '\\']).any(|c| c == "..")
            {
                return Err(bad(format!(
                    "itemInfoEntries[{id}].path {:?} must be a relative path inside Data/",
                    item.path
                )));
            }
            items.push(item);
        }
        let root = obj
            .get("rootModelIdentifier")
            .and_then(|v| v.as_str())
            .ok_or_else(|| bad("missing string key `rootModelIdentifier`".into()))?;
        if !items.iter().any(|i| i.id.eq_ignore_ascii_case(root)) {
            return Err(bad(format!(
                "rootModelIdentifier {root} names no itemInfoEntries entry"
            )));
        }
        Ok(Manifest {
            file_format_version: version.to_string(),
            items,
            root_model_identifier: root.to_string(),
        })
    }

    /// The root model item.
    pub fn root_item(&self) -> Option<&ItemInfo> {
        self.items
            .iter()
            .find(|i| i.id.eq_ignore_ascii_case(&self.root_model_identifier))
    }

    /// The weights folder item (`name` "weights" or description "CoreML Model Weights").
    pub fn weights_item(&self) -> Option<&ItemInfo> {
        self.items
            .iter()
            .find(|i| i.name == "weights" || i.description == "CoreML Model Weights")
    }

    /// Where an item lives: `<package>/Data/<item.path>`.
    pub fn item_path(package: &Path, item: &ItemInfo) -> PathBuf {
        let mut p = package.join("Data");
        for c in item.path.split('/').filter(|c| !c.is_empty() && *c != ".") {
            p.push(c);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"fileFormatVersion":"1.0.0","itemInfoEntries":{
        "A-1":{"author":"com.apple.CoreML","description":"CoreML Model Specification","name":"model.mlmodel","path":"com.apple.CoreML/model.mlmodel"},
        "b-2":{"author":"com.apple.CoreML","description":"CoreML Model Weights","name":"weights","path":"com.apple.CoreML/weights"}},
        "rootModelIdentifier":"a-1"}"#;

    #[test]
    fn parses_and_finds_items_case_insensitively() {
        let m = Manifest::parse(GOOD.as_bytes(), Path::new("M.json")).unwrap();
        assert_eq!(
            m.root_item().unwrap().path,
            "com.apple.CoreML/model.mlmodel"
        );
        assert_eq!(m.weights_item().unwrap().id, "b-2");
        assert_eq!(
            Manifest::item_path(Path::new("x.mlpackage"), m.root_item().unwrap()),
            Path::new("x.mlpackage/Data/com.apple.CoreML/model.mlmodel")
        );
    }

    #[test]
    fn rejects_what_coremltools_rejects() {
        let p = Path::new("M.json");
        let e = Manifest::parse(GOOD.replace("1.0.0", "2.0.0").as_bytes(), p).unwrap_err();
        assert!(e.to_string().contains("newer than 1.0.0"), "{e}");
        let e = Manifest::parse(
            GOOD.replace(
                r#""author":"com.apple.CoreML","description":"CoreML Model Weights","#,
                r#""description":"CoreML Model Weights","#,
            )
            .as_bytes(),
            p,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "M.json: itemInfoEntries[b-2]: missing string key `author`"
        );
        let e = Manifest::parse(
            GOOD.replace(
                r#""rootModelIdentifier":"a-1""#,
                r#""rootModelIdentifier":"zz""#,
            )
            .as_bytes(),
            p,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("rootModelIdentifier zz names no"),
            "{e}"
        );
        let e = Manifest::parse(
            GOOD.replace("com.apple.CoreML/weights", "../../etc")
                .as_bytes(),
            p,
        )
        .unwrap_err();
        assert!(e.to_string().contains("relative path inside Data/"), "{e}");
        assert!(Manifest::parse(b"[1]", p).is_err());
    }
}
