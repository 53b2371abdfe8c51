//! Subcommands, one module each.

pub mod asm;
pub mod bench;
pub mod conform;
pub mod disasm;
pub mod input;
pub mod plugin;
pub mod regs;
pub mod run;
