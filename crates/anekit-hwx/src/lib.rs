//! Compiled ANE programs: the .hwx Mach-O container, task descriptors decoded through
//! per-generation register maps, the Asahi .anec container, and the Asahi driver interface.
#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod anec;
pub mod asahi;
pub mod container;
pub mod disasm;
pub mod program;
pub mod regmap;
pub mod td;
pub mod zin;
