//! The subcommands of the `bmc-catcher` binary, one file each; `main.rs` only parses arguments and
//! dispatches here.

pub mod demo;
pub mod power;
pub mod probe;
pub mod table;
pub mod views;
