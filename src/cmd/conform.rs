//! `nfbpf conform PATH... [--engine E]`: run conformance `.data` files.
//!
//! Prints one `FAIL file: cause` line per failing test, then
//! `N passed, M failed`; exits 1 when any test failed.

use clap::ValueEnum;
use nfbpf_sim::engine::RtlExecutor;
use nfbpf_vm::conformance::{self, Executor, InterpExecutor, Verdict};
use std::path::PathBuf;
use std::process::ExitCode;

/// Which executor runs the programs.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Engine {
    /// The reference interpreter.
    Interp,
    /// The cycle-accurate pipeline model.
    Pipeline,
    /// The engine RTL, Verilated (sim::engine).
    Rtl,
}

impl Engine {
    pub fn executor(self) -> Box<dyn Executor> {
        match self {
            Engine::Interp => Box::new(InterpExecutor::default()),
            Engine::Pipeline => Box::new(nfbpf_vm::pipeline::PipelineExecutor::default()),
            Engine::Rtl => Box::new(RtlExecutor::default()),
        }
    }
}

#[derive(clap::Args)]
pub struct Args {
    /// `.data` files or directories holding them.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Engine::Interp)]
    engine: Engine,
    /// Also print a line for every passing test.
    #[arg(short, long)]
    verbose: bool,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let files = conformance::collect(&a.paths)?;
    if files.is_empty() {
        anyhow::bail!("no .data files under the given paths");
    }
    let mut exec = a.engine.executor();
    let (mut pass, mut fail) = (0usize, 0usize);
    for f in &files {
        match conformance::run_file(f, exec.as_mut()) {
            Verdict::Pass => {
                pass += 1;
                if a.verbose {
                    println!("PASS {}", f.display());
                }
            }
            Verdict::Fail(cause) => {
                fail += 1;
                println!("FAIL {}: {cause}", f.display());
            }
        }
    }
    println!("{pass} passed, {fail} failed");
    Ok(if fail == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
