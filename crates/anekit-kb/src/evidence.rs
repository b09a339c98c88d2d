//! How well a fact is established, exactly as the reference documents tag it
//! (`../shared/reference/README.md`, "Status tags").

use serde::Serialize;
use std::fmt;

/// The evidence level of one fact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Evidence {
    /// Checked against the bytes of real files (the corpus, or a named public file).
    Verified,
    /// Read in the code or committed data of a named public repository; not checked against
    /// bytes or hardware.
    Source,
    /// A number present in a corpus data file; the measurement itself is third-party.
    Data,
    /// Prose claim (notes, blog, issue, unmerged PR) or inference.
    Unverified,
}

impl Evidence {
    /// Every level, strongest first.
    pub const ALL: [Evidence; 4] = [
        Evidence::Verified,
        Evidence::Source,
        Evidence::Data,
        Evidence::Unverified,
    ];

    /// The tag as the reference writes it, e.g. `[verified]`.
    pub fn tag(self) -> &'static str {
        match self {
            Evidence::Verified => "[verified]",
            Evidence::Source => "[source]",
            Evidence::Data => "[data]",
            Evidence::Unverified => "[unverified]",
        }
    }

    /// What the level means (for `ane kb` and the export).
    pub fn meaning(self) -> &'static str {
        match self {
            Evidence::Verified => {
                "checked against the bytes of real files (the corpus, or a named public file)"
            }
            Evidence::Source => {
                "read in the code or committed data of a named public repository; not checked against bytes or hardware"
            }
            Evidence::Data => {
                "a number present in a corpus data file; the measurement itself is third-party and was not reproduced"
            }
            Evidence::Unverified => {
                "prose claim (original notes, blog, issue, unmerged PR) or inference"
            }
        }
    }
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

/// One value together with its evidence level and where it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Tagged<T> {
    pub value: T,
    pub evidence: Evidence,
    pub source: &'static str,
}
