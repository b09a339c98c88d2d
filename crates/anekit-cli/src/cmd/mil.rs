//! `ane mil`: MIL text programs. `fmt` lives in mil_fmt.rs, `check` in mil_check.rs.
use crate::{CmdResult, Ctx};

use super::{mil_check, mil_fmt};

#[derive(clap::Subcommand)]
pub enum MilCmd {
    /// Print a program in the canonical layout of Apple's compiler (either dialect).
    Fmt(mil_fmt::FmtArgs),
    /// Validate a program: syntax, ops and their inputs, opsets, types, BLOBFILE references.
    Check(mil_check::CheckArgs),
}

pub fn run(cmd: MilCmd, ctx: &Ctx) -> CmdResult {
    match cmd {
        MilCmd::Fmt(args) => mil_fmt::run(args, ctx),
        MilCmd::Check(args) => mil_check::run(args, ctx),
    }
}
