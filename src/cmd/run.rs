//! `nfbpf run`: run a program once and print r0 and the instruction count.
//!
//! The program is assembly or a raw image (see [`super::input`]); `--mem`
//! gives the packet bytes that r1 points at (r2 holds their length), as in
//! the conformance suite.

use super::input::{parse_hex, read_program};
use anyhow::Context;
use nfbpf_vm::helpers::Helpers;
use nfbpf_vm::interp::{self, Config};
use nfbpf_vm::trace::{Collect, NoTrace};
use nfbpf_vm::{Program, contract};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Program: assembly (.s) or raw little-endian image.
    prog: PathBuf,
    /// Packet/memory bytes in hex; r1 points at them, r2 holds their length.
    #[arg(long, default_value = "")]
    mem: String,
    /// Instruction budget (runaway programs stop with a fault).
    #[arg(long, default_value_t = contract::DEFAULT_INSN_BUDGET)]
    budget: u64,
    /// Print every retired instruction (trace text format).
    #[arg(long)]
    trace: bool,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let insns = read_program(&a.prog)?;
    let prog = Program::new(insns).with_context(|| a.prog.display().to_string())?;
    let data = parse_hex(&a.mem).context("--mem")?;
    let (mut mem, args) = interp::conformance_memory(&data);
    let mut helpers = Helpers::conformance();
    let cfg = Config {
        budget: a.budget,
        ..Config::default()
    };
    let result = if a.trace {
        let mut t = Collect::default();
        let r = interp::run(&prog, &mut mem, &mut helpers, args, &cfg, &mut t);
        for rec in &t.0 {
            println!("{}", rec.to_line());
        }
        r
    } else {
        interp::run(&prog, &mut mem, &mut helpers, args, &cfg, &mut NoTrace)
    };
    match result {
        Ok(o) => {
            println!("r0 = {:#x} ({})", o.r0, o.r0 as i64);
            println!("instructions: {}", o.insns);
            Ok(ExitCode::SUCCESS)
        }
        Err(f) => {
            eprintln!("{}: {f}", a.prog.display());
            Ok(ExitCode::from(1))
        }
    }
}
