//! `ane mil`: MIL text programs. `fmt` lives in mil_fmt.rs, `check` in mil_check.rs.
use crate::{CmdResult, Ctx};

#[derive(clap::Subcommand)]
pub enum MilCmd {}

pub fn run(cmd: MilCmd, _ctx: &Ctx) -> CmdResult {
    match cmd {}
}
