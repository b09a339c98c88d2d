//! Resolve every `BLOBFILE` of a program in its weight files (anekit-blob): the record must
//! exist at the offset, hold the literal's dtype, and as many elements as the literal's shape.

use crate::error::{CoremlError, Result};
use anekit_mil::ast::{self, ArgValue, Dim, Literal, Payload, PayloadKind, TypeKind};
use serde::Serialize;

/// One resolved blob reference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BlobRef {
    pub function: String,
    /// The first result of the statement holding the literal.
    pub value: String,
    pub op: String,
    /// The argument or attribute name (`val`, `data`, `weight`, ...).
    pub param: String,
    /// The path as written (`@model_path/weights/weight.bin`).
    pub file: String,
    pub offset: u64,
    pub dtype: anekit_core::DType,
    pub shape: Vec<u64>,
    pub elements: u64,
}

/// Every BLOBFILE literal of `program` in order, unresolved: (function, value, op, param, literal).
pub fn blob_literals(program: &ast::Program) -> Vec<(String, String, String, String, &Literal)> {
    let mut out = Vec::new();
    for f in &program.functions {
        walk_block(&f.body, &f.name.name, &mut out);
    }
    out
}

fn walk_block<'a>(
    b: &'a ast::Block,
    func: &str,
    out: &mut Vec<(String, String, String, String, &'a Literal)>,
) {
    for s in &b.statements {
        let value = s
            .results
            .first()
            .map(|r| r.name.name.clone())
            .unwrap_or_default();
        let mut push = |param: &str, l: &'a Literal| {
            if matches!(l.value.kind, PayloadKind::Blob(_)) {
                out.push((
                    func.to_string(),
                    value.to_string(),
                    s.op.name.to_string(),
                    param.to_string(),
                    l,
                ));
            }
        };
        for a in &s.args {
            let mut stack = vec![&a.value];
            while let Some(v) = stack.pop() {
                match v {
                    ArgValue::Literal(l) => push(&a.name.name, l),
                    ArgValue::Tuple { items, .. } => stack.extend(items.iter()),
                    ArgValue::Name(_) => {}
                }
            }
        }
        for a in &s.attributes {
            push(&a.name.name, &a.value);
        }
        for nb in &s.blocks {
            walk_block(&nb.body, func, out);
        }
    }
}

fn blob_of(p: &Payload) -> Option<&ast::BlobFile> {
    match &p.kind {
        PayloadKind::Blob(b) => Some(b),
        _ => None,
    }
}

/// Check every BLOBFILE of `program`. `open(path)` returns the bytes of the weight file a
/// BLOBFILE path names (`None` = missing file).
pub fn check_blobs<'f>(
    program: &ast::Program,
    mut open: impl FnMut(&str) -> Option<&'f [u8]>,
) -> Result<Vec<BlobRef>> {
    let mut refs = Vec::new();
    for (function, value, op, param, lit) in blob_literals(program) {
        let path = format!("function {function}, {value} = {op}(...), {param}");
        let Some(b) = blob_of(&lit.value) else {
            continue;
        };
        let file = b.path_str().unwrap_or_default().to_string();
        let offset = b
            .offset_u64()
            .ok_or_else(|| CoremlError::program(&path, "BLOBFILE offset is not a u64"))?;
        let (dtype, shape) = match &lit.ty.kind {
            TypeKind::Tensor { dtype, shape } => (*dtype, shape.clone()),
            TypeKind::Scalar(d) => (*d, Vec::new()),
            _ => {
                return Err(CoremlError::program(
                    &path,
                    "BLOBFILE literal of a non-tensor type",
                ));
            }
        };
        let mut dims = Vec::with_capacity(shape.len());
        for d in &shape {
            match d {
                Dim::Known(n) => dims.push(*n),
                Dim::Unknown => {
                    return Err(CoremlError::program(
                        &path,
                        "BLOBFILE tensor with an unknown dimension",
                    ));
                }
            }
        }
        let bytes = open(&file)
            .ok_or_else(|| CoremlError::program(&path, format!("weight file {file} is missing")))?;
        let blob_err = |source| CoremlError::Blob {
            path: path.clone(),
            file: file.clone(),
            offset,
            source: Box::new(source),
        };
        let bf = anekit_blob::BlobFile::parse(bytes).map_err(blob_err)?;
        let blob = bf.blob_at(offset, Some(dtype)).map_err(blob_err)?;
        blob.check_shape(&dims).map_err(blob_err)?;
        refs.push(BlobRef {
            function,
            value,
            op,
            param,
            file,
            offset,
            dtype,
            shape: dims,
            elements: blob.element_count(),
        });
    }
    Ok(refs)
}
