//! `nfbpf regs [--markdown]`: print the device's register map.

use nfbpf_vm::regs::{self, REG_BASE, REGISTERS};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Print docs/registers.md instead of the plain table.
    #[arg(long)]
    markdown: bool,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    if a.markdown {
        print!("{}", regs::markdown());
        return Ok(ExitCode::SUCCESS);
    }
    for r in REGISTERS {
        let addr = REG_BASE + r.offset;
        let n = if r.count > 1 {
            format!("[{}]", r.count)
        } else {
            String::new()
        };
        println!(
            "{addr:#010x}  {:#05x}  {:<2}  {}{n}",
            r.offset,
            r.access.name(),
            r.name
        );
    }
    Ok(ExitCode::SUCCESS)
}
