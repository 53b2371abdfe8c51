//! `nfbpf`: the one command-line tool, a thin layer over the crates.
//!
//! Each subcommand lives in its own module under `cmd/`, with its clap
//! arguments and a `run` function returning the process exit code.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod cmd;

#[derive(Parser)]
#[command(
    name = "nfbpf",
    version = env!("NFBPF_VERSION"),
    about = "eBPF packet processing in hardware: model, RTL, loader, agent",
    after_help = format!("{}\n{}", cmd::ENVIRONMENT, cmd::exit::TABLE)
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Assemble a program in the conformance suite's syntax to raw bytes.
    Asm(cmd::asm::Args),
    /// Disassemble a raw program.
    Disasm(cmd::disasm::Args),
    /// Run a program once on an engine and print r0 and counts.
    Run(cmd::run::Args),
    /// Run conformance `.data` files and print `N passed, M failed`.
    Conform(cmd::conform::Args),
    /// Speak the bpf_conformance plugin protocol (program on stdin, memory in argv).
    #[command(name = "conformance-plugin")]
    ConformancePlugin(cmd::plugin::Args),
    /// Benchmarks: `nfbpf bench interp` compares the interpreter with rbpf.
    Bench(cmd::bench::Args),
    /// Print the device's register map.
    Regs(cmd::regs::Args),
    /// A simulated board (`serve`), and programming/status of any board.
    Device(cmd::device::Args),
    /// Program a function into a device (`nfbpf device load`).
    Load(cmd::device::LoadArgs),
    /// A device's identification and counters (`nfbpf device status`).
    Status(cmd::device::StatusArgs),
    /// Check a new board: identification, scratch register, bank flip, Wire with host traffic.
    Bringup(cmd::bringup::Args),
    /// The maps of a function loaded in a device.
    Map(cmd::map::Args),
    /// Generate test traffic into a pcapng file.
    Traffic(cmd::traffic::Args),
    /// The evaluation under line-rate load: plots, summary.md, summary.json.
    Report(cmd::report::Args),
    /// Run a program on the pipeline model: retire/cycle traces, diagram, VCD, stats.
    Trace(cmd::trace::Args),
    /// Random programs on interpreter and pipeline; print any counterexample.
    FuzzDiff(cmd::fuzz_diff::Args),
    /// The agent: serverless functions scheduled onto a device (`serve`, `bench`).
    Agent(cmd::agent::Args),
    /// Client of the agent's API: create|get|list|update|delete|invoke|queue|cancel|status.
    Fn(cmd::fn_client::Args),
    /// The data plane model and its RTL in lockstep on a capture.
    Cosim(cmd::cosim::Args),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(cmd::manual::CompletionsArgs),
    /// Print the manual page (roff; `nfbpf man | man -l -`).
    Man(cmd::manual::ManArgs),
}

/// Die quietly on a closed pipe (`nfbpf trace ... | head`), as Unix tools
/// do, instead of Rust's default of a panic on the failed write. Not for
/// the servers (`agent serve`, `device serve`): there a client that resets
/// its connection must cost that connection only, so SIGPIPE stays ignored
/// (Rust's default) and the write fails with EPIPE.
#[allow(unsafe_code)]
fn default_sigpipe() {
    // SAFETY: restoring the default disposition of SIGPIPE at start-up,
    // before any thread exists; no handler code runs.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let server = match &cli.command {
        Command::Agent(a) => a.is_server(),
        Command::Device(a) => a.is_server(),
        _ => false,
    };
    if !server {
        default_sigpipe();
    }
    let r = match cli.command {
        Command::Asm(a) => cmd::asm::run(a),
        Command::Disasm(a) => cmd::disasm::run(a),
        Command::Run(a) => cmd::run::run(a),
        Command::Conform(a) => cmd::conform::run(a),
        Command::ConformancePlugin(a) => cmd::plugin::run(a),
        Command::Bench(a) => cmd::bench::run(a),
        Command::Regs(a) => cmd::regs::run(a),
        Command::Device(a) => cmd::device::run(a),
        Command::Load(a) => cmd::device::load(a),
        Command::Status(a) => cmd::device::status_cmd(a),
        Command::Bringup(a) => cmd::bringup::run(a),
        Command::Map(a) => cmd::map::run(a),
        Command::Traffic(a) => cmd::traffic::run(a),
        Command::Report(a) => cmd::report::run(a),
        Command::Trace(a) => cmd::trace::run(a),
        Command::FuzzDiff(a) => cmd::fuzz_diff::run(a),
        Command::Agent(a) => cmd::agent::run(a),
        Command::Fn(a) => cmd::fn_client::run(a),
        Command::Cosim(a) => cmd::cosim::run(a),
        Command::Completions(a) => cmd::manual::completions::<Cli>(a),
        Command::Man(a) => cmd::manual::man::<Cli>(a),
    };
    match r {
        Ok(code) => code,
        Err(e) => {
            eprintln!("nfbpf: {e:#}");
            cmd::exit::classify(&e).exit()
        }
    }
}
