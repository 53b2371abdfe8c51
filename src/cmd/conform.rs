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

/// Where the suite comes from, for `nfbpf conform --help`.
const SUITE_HELP: &str = "\
Conformance vectors:
  The suite is the public bpf_conformance suite by Alan Jowett
  (Alan-Jowett/bpf_conformance on GitHub), pinned at commit f558566 of
  2026-03-31: tests/ holds programs with their expected result, negative/
  cases built to fail (45 unused-* programs a conformant runtime rejects,
  15 malformed test files that must be reported as failed).
  Without PATHS, the suite's tests/ is looked for under $NFBPF_CONFORMANCE
  (the root of a copy, holding tests/ and negative/) if set, else under
  ../shared/conformance beside the repository, else under
  target/bpf_conformance of the repository, where `make conformance` clones
  the pinned commit.";

#[derive(clap::Args)]
#[command(after_help = SUITE_HELP)]
pub struct Args {
    /// `.data` files or directories holding them (default: the suite's
    /// tests/, see below).
    paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Engine::Interp)]
    engine: Engine,
    /// Also print a line for every passing test.
    #[arg(short, long)]
    verbose: bool,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let paths = if a.paths.is_empty() {
        vec![conformance::suite_dir(conformance::Part::Tests)?]
    } else {
        a.paths
    };
    let files = conformance::collect(&paths)?;
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
