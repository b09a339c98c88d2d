//! `ane espresso` (in progress).
use crate::{CmdResult, Ctx};

#[derive(clap::Subcommand)]
pub enum EspressoCmd {}

pub fn run(cmd: EspressoCmd, _ctx: &Ctx) -> CmdResult {
    match cmd {}
}
