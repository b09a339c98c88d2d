//! An Espresso trio on disk: the `.net`, the weights file its `storage` key names, and the
//! `.shape` next to it; plus the checks that tie them together (blob ids resolve, shapes cover
//! every blob).

use crate::net::{EspressoNet, NetError};
use crate::shape::ShapeFile;
use crate::weights::{WeightsError, WeightsTable};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Why a bundle could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: no *.espresso.net in this folder")]
    NoNet { path: PathBuf },
    #[error("{path}: {source}")]
    Net { path: PathBuf, source: NetError },
    #[error("{path}: {source}")]
    Weights { path: PathBuf, source: WeightsError },
}

/// A net with its companions, when present.
#[derive(Debug)]
pub struct Bundle {
    pub net_path: PathBuf,
    pub net: EspressoNet,
    pub weights_path: Option<PathBuf>,
    pub weights: Option<WeightsTable>,
    pub shape_path: Option<PathBuf>,
    pub shape: Option<ShapeFile>,
}

fn read(path: &Path) -> Result<Vec<u8>, BundleError> {
    std::fs::read(path).map_err(|source| BundleError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The `.espresso.net` for `path`: the file itself, or the one inside a folder (an
/// `.mlmodelc`): `model.espresso.net` if present, else the first `*.espresso.net` by name.
pub fn find_net(path: &Path) -> Result<PathBuf, BundleError> {
    if !path.is_dir() {
        return Ok(path.to_path_buf());
    }
    let preferred = path.join("model.espresso.net");
    if preferred.is_file() {
        return Ok(preferred);
    }
    let entries = std::fs::read_dir(path).map_err(|source| BundleError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut nets: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".espresso.net"))
        .collect();
    nets.sort();
    nets.into_iter().next().ok_or_else(|| BundleError::NoNet {
        path: path.to_path_buf(),
    })
}

impl Bundle {
    /// Open a `.espresso.net` file or a folder holding one; `limit` caps PBZE output.
    pub fn open(path: &Path, limit: u64) -> Result<Self, BundleError> {
        let net_path = find_net(path)?;
        let net = EspressoNet::parse_bytes(&read(&net_path)?, limit).map_err(|source| {
            BundleError::Net {
                path: net_path.clone(),
                source,
            }
        })?;
        let dir = net_path.parent().unwrap_or(Path::new("."));
        let weights_path = net
            .storage
            .as_ref()
            .map(|s| dir.join(s))
            .filter(|p| p.is_file());
        let weights = match &weights_path {
            Some(p) => {
                Some(
                    WeightsTable::parse(&read(p)?).map_err(|source| BundleError::Weights {
                        path: p.clone(),
                        source,
                    })?,
                )
            }
            None => None,
        };
        let name = net_path.to_string_lossy();
        let shape_path = name
            .strip_suffix(".net")
            .map(|stem| PathBuf::from(format!("{stem}.shape")))
            .filter(|p| p.is_file());
        let shape = match &shape_path {
            Some(p) => Some(ShapeFile::parse_bytes(&read(p)?, limit).map_err(|source| {
                BundleError::Net {
                    path: p.clone(),
                    source,
                }
            })?),
            None => None,
        };
        Ok(Bundle {
            net_path,
            net,
            weights_path,
            weights,
            shape_path,
            shape,
        })
    }

    /// Every blob reference of every layer, resolved against the weights table.
    pub fn blob_refs(&self) -> Vec<BlobRef> {
        resolve(&self.net, self.weights.as_ref())
    }
}

/// One (layer, role, blob id) reference and the size the weights table gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlobRef {
    pub layer: String,
    pub role: String,
    pub id: u64,
    /// `None` when the id is not in the table (or no table was loaded).
    pub size: Option<u64>,
}

pub fn resolve(net: &EspressoNet, table: Option<&WeightsTable>) -> Vec<BlobRef> {
    let mut out = Vec::new();
    for l in &net.layers {
        for (role, id) in l.blob_refs() {
            out.push(BlobRef {
                layer: l.name.clone(),
                role,
                id,
                size: table.and_then(|t| t.entry(id)).map(|e| e.size),
            });
        }
    }
    out
}

/// Blob names (layer inputs and outputs) that the `.shape` file does not describe.
pub fn blobs_without_shape(net: &EspressoNet, shape: &ShapeFile) -> Vec<String> {
    let mut missing: Vec<String> = Vec::new();
    for l in &net.layers {
        for b in l.bottom.iter().chain(l.top.iter()) {
            if shape.get(b).is_none() && !missing.contains(b) {
                missing.push(b.clone());
            }
        }
    }
    missing
}
