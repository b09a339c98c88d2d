//! `ane pbze` (in progress).
use crate::{CmdResult, Ctx};

#[derive(clap::Subcommand)]
pub enum PbzeCmd {}

pub fn run(cmd: PbzeCmd, _ctx: &Ctx) -> CmdResult {
    match cmd {}
}
