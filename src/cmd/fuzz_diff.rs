//! `nfbpf fuzz-diff`: run random valid programs on the reference interpreter
//! and on the pipeline model and stop at the first difference, printing the
//! counterexample as disassembly.

use nfbpf_vm::pipeline::diff;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Number of random programs.
    #[arg(long, default_value_t = 10_000)]
    cases: u64,
    /// First seed (case i uses seed + i).
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let (mut retired, mut faults) = (0usize, 0u64);
    for i in 0..a.cases {
        let seed = a.seed.wrapping_add(i);
        match diff::check_seed(seed) {
            Ok(ok) => {
                retired += ok.retired;
                faults += ok.faulted as u64;
            }
            Err(m) => {
                println!("counterexample at seed {seed} (case {i}):\n{m}");
                return Ok(ExitCode::from(1));
            }
        }
    }
    println!(
        "{} cases agree ({} instructions retired, {} ended in a fault)",
        a.cases, retired, faults
    );
    Ok(ExitCode::SUCCESS)
}
