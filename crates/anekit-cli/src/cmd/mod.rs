//! One module per command family. Each exposes its clap arguments and a `run` function.
pub mod anec;
pub mod blob;
pub mod espresso;
pub mod hwx;
pub mod inspect;
pub mod mil;
pub mod pbze;
