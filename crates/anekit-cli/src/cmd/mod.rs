//! One module per command family. Each exposes its clap arguments and a `run` function.
pub mod anec;
pub mod blob;
pub mod convert;
pub mod cost;
pub mod espresso;
pub mod hwx;
pub mod hwx_inspect;
pub mod inspect;
pub mod kb;
pub mod lint;
pub mod mil;
pub mod mil_check;
pub mod mil_fmt;
pub mod pbze;
pub mod run;
pub mod serve;
