//! `ane blob` (in progress).
use crate::{CmdResult, Ctx};

#[derive(clap::Subcommand)]
pub enum BlobCmd {}

pub fn run(cmd: BlobCmd, _ctx: &Ctx) -> CmdResult {
    match cmd {}
}
