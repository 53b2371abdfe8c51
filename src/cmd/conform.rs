//! `nfbpf conform PATH... [--engine E]`: run conformance `.data` files.
//!
//! Prints one `FAIL file: cause` line per failing test, then
//! `N passed, M failed`; exits 1 when any test failed. With `--json`: one
//! object per test, then a summary object (docs/cli.md).

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
    /// The name `--engine` takes, as `--json` reports it.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Interp => "interp",
            Engine::Pipeline => "pipeline",
            Engine::Rtl => "rtl",
        }
    }

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
    /// One JSON object per test (`file`, `verdict`, `cause`), then a
    /// summary object (`summary`, `engine`, `passed`, `failed`).
    #[arg(long)]
    json: bool,
}

/// One test of `--json`.
#[derive(serde::Serialize)]
struct TestJson<'a> {
    file: String,
    /// `pass` or `fail`.
    verdict: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cause: Option<&'a str>,
}

/// The last object of `--json`.
#[derive(serde::Serialize)]
struct SummaryJson {
    summary: bool,
    engine: &'static str,
    passed: usize,
    failed: usize,
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
        let verdict = conformance::run_file(f, exec.as_mut());
        match &verdict {
            Verdict::Pass => pass += 1,
            Verdict::Fail(_) => fail += 1,
        }
        if a.json {
            let (v, cause) = match &verdict {
                Verdict::Pass => ("pass", None),
                Verdict::Fail(c) => ("fail", Some(c.as_str())),
            };
            let t = TestJson {
                file: f.display().to_string(),
                verdict: v,
                cause,
            };
            println!("{}", serde_json::to_string(&t)?);
            continue;
        }
        match verdict {
            Verdict::Pass if a.verbose => println!("PASS {}", f.display()),
            Verdict::Pass => {}
            Verdict::Fail(cause) => println!("FAIL {}: {cause}", f.display()),
        }
    }
    if a.json {
        let s = SummaryJson {
            summary: true,
            engine: a.engine.name(),
            passed: pass,
            failed: fail,
        };
        println!("{}", serde_json::to_string(&s)?);
    } else {
        println!("{pass} passed, {fail} failed");
    }
    Ok(if fail == 0 {
        ExitCode::SUCCESS
    } else {
        super::exit::Code::No.exit()
    })
}
