//! Every ANE artifact anekit reads, re-exported from the format crates, plus [`detect`], which
//! sniffs a file or folder and says what it is.
pub use anekit_blob as blob;
pub use anekit_espresso as espresso;
pub use anekit_hwx as hwx;
pub use anekit_mil as mil;

pub mod detect;
pub use detect::{Kind, detect_path};
