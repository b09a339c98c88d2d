//! `ane anec` (in progress).
use crate::{CmdResult, Ctx};

#[derive(clap::Subcommand)]
pub enum AnecCmd {}

pub fn run(cmd: AnecCmd, _ctx: &Ctx) -> CmdResult {
    match cmd {}
}
