//! Subcommands, one module each.

pub mod asm;
pub mod bench;
pub mod conform;
pub mod disasm;
pub mod fuzz_diff; // pipeline branch
pub mod input;
pub mod plugin;
pub mod regs;
pub mod run;
pub mod trace; // pipeline branch
