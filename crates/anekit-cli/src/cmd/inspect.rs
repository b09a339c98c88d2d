//! `ane inspect PATH`: detect what a file or folder is and summarise it.
use crate::{CmdResult, Ctx};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct InspectArgs {
    /// A file or folder (model.mil, weight.bin, .hwx, .anec, .espresso.*, net.plist, bundles).
    pub path: PathBuf,
}

pub fn run(args: InspectArgs, _ctx: &Ctx) -> CmdResult {
    Err(miette::miette!("cannot inspect {}: not implemented yet", args.path.display()))
}
