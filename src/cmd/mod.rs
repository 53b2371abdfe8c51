//! Subcommands, one module each.

pub mod agent;
pub mod agent_bench;
pub mod asm;
pub mod bench;
pub mod bench_device;
pub mod bench_pipeline;
pub mod bench_run;
pub mod conform;
pub mod cosim;
pub mod device;
pub mod disasm;
pub mod fn_client;
pub mod fuzz_diff; // pipeline branch
pub mod input;
pub mod map;
pub mod nf;
pub mod object;
pub mod plot; // report branch
pub mod plugin;
pub mod regs;
pub mod report; // report branch
pub mod rules;
pub mod run;
pub mod trace;
pub mod traffic; // pipeline branch
