//! `.espresso.shape`: per-blob shapes, `{"layer_shapes": {name: {k, w, n, _rank, h}}}`
//! (reference/espresso.md §5). k = channels, h = height, w = width, n = batch; rank-2 blobs keep
//! their feature count in `w`; a missing `_rank` means 4 (as freedomtan's parser assumes).

use crate::net::{Fields, NetError};
use serde::Serialize;
use serde_json::{Map, Value};

/// The shape of one blob.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlobShape {
    pub name: String,
    pub n: Option<i64>,
    pub k: Option<i64>,
    pub h: Option<i64>,
    pub w: Option<i64>,
    /// `_rank`, 4 when absent.
    pub rank: i64,
    /// Keys other than n/k/h/w/_rank, in file order.
    pub extra: Map<String, Value>,
}

/// A parsed `.espresso.shape`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShapeFile {
    /// In file order.
    pub shapes: Vec<BlobShape>,
    /// Top-level keys other than `layer_shapes`.
    pub extra: Map<String, Value>,
}

impl ShapeFile {
    pub fn parse_json(text: &str) -> Result<Self, NetError> {
        let value: Value = serde_json::from_str(text).map_err(|e| crate::net::json_error(&e))?;
        let Value::Object(root) = value else {
            return Err(NetError::Field {
                path: "espresso.shape (document)".into(),
                expected: "a JSON object",
                found: "another JSON value".into(),
            });
        };
        let mut f = Fields::new(&root, "espresso.shape".into());
        let mut shapes = Vec::new();
        if let Some(map) = f.object("layer_shapes")? {
            for (name, v) in map {
                let Value::Object(dims) = v else {
                    return Err(NetError::Field {
                        path: format!("espresso.shape .layer_shapes.\"{name}\""),
                        expected: "an object {k, w, n, _rank, h}",
                        found: v.to_string(),
                    });
                };
                let mut d = Fields::new(dims, format!("espresso.shape .layer_shapes.\"{name}\""));
                shapes.push(BlobShape {
                    name: name.clone(),
                    n: d.int("n")?,
                    k: d.int("k")?,
                    h: d.int("h")?,
                    w: d.int("w")?,
                    rank: d.int("_rank")?.unwrap_or(4),
                    extra: d.rest(),
                });
            }
        }
        Ok(ShapeFile {
            shapes,
            extra: f.rest(),
        })
    }

    /// Parse a `.espresso.shape` file: PBZE-compressed or JSON.
    pub fn parse_bytes(bytes: &[u8], limit: u64) -> Result<Self, NetError> {
        let text = crate::json_text(bytes, limit)?;
        Self::parse_json(&text)
    }

    pub fn get(&self, name: &str) -> Option<&BlobShape> {
        self.shapes.iter().find(|s| s.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_defaults_to_four_and_order_is_kept() {
        let s = ShapeFile::parse_json(
            r#"{"layer_shapes":{"z":{"k":1,"w":64,"n":1,"_rank":2,"h":1},"a":{"k":3,"w":5,"n":1,"h":7}}}"#,
        )
        .unwrap();
        assert_eq!(s.shapes[0].name, "z");
        assert_eq!(s.shapes[0].rank, 2);
        assert_eq!(s.shapes[0].w, Some(64));
        assert_eq!(s.shapes[1].rank, 4);
        assert_eq!(s.shapes[1].h, Some(7));
    }
}
