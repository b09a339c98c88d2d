//! `ane mil fmt` (in progress).
use crate::{CmdResult, Ctx};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct FmtArgs {
    /// The MIL text file.
    pub file: PathBuf,
}

pub fn run(args: FmtArgs, _ctx: &Ctx) -> CmdResult {
    Err(miette::miette!("ane mil fmt {}: not implemented yet", args.file.display()))
}
