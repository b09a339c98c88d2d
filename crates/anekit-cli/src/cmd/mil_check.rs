//! `ane mil check` (in progress).
use crate::{CmdResult, Ctx};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct CheckArgs {
    /// The MIL text file.
    pub file: PathBuf,
}

pub fn run(args: CheckArgs, _ctx: &Ctx) -> CmdResult {
    Err(miette::miette!("ane mil check {}: not implemented yet", args.file.display()))
}
