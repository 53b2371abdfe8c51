//! `nfbpf conformance-plugin`: the bpf_conformance plugin protocol.
//!
//! The program arrives on stdin as hex (16 digits per instruction, bytes in
//! memory order), the memory as hex in the first positional argument. Prints
//! r0 in hex and exits 0, or prints the error on stderr and exits 1.

use super::conform::Engine;
use super::input::parse_hex;
use nfbpf_vm::{Program, conformance, insn};
use std::io::Read;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Initial memory as hex (r1 points at it, r2 holds its length).
    #[arg(default_value = "")]
    memory: String,
    #[arg(long, value_enum, default_value_t = Engine::Interp)]
    engine: Engine,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text)?;
    let outcome = (|| -> anyhow::Result<u64> {
        let bytes = parse_hex(&text).map_err(|e| anyhow::anyhow!("program on stdin: {e}"))?;
        let mem = parse_hex(&a.memory).map_err(|e| anyhow::anyhow!("memory argument: {e}"))?;
        let insns = insn::from_image(&bytes)?;
        let prog = Program::with_limits(insns, &conformance::limits())?;
        a.engine
            .executor()
            .execute(&prog, &mem)
            .map_err(anyhow::Error::msg)
    })();
    match outcome {
        Ok(r0) => {
            println!("{r0:x}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(ExitCode::from(1))
        }
    }
}
