//! `nfbpf disasm FILE`: objdump-style listing of a program.

use super::input::read_program;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Program: raw little-endian image or assembly.
    prog: PathBuf,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let insns = read_program(&a.prog)?;
    print!("{}", nfbpf_vm::disasm::listing(&insns));
    Ok(ExitCode::SUCCESS)
}
