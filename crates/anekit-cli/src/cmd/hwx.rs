//! `ane hwx` (in progress).
use crate::{CmdResult, Ctx};

#[derive(clap::Subcommand)]
pub enum HwxCmd {}

pub fn run(cmd: HwxCmd, _ctx: &Ctx) -> CmdResult {
    match cmd {}
}
