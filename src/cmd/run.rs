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
    /// Network function mode: run PROG (C source or clang object) on every
    /// packet of this pcap/pcapng file.
    #[arg(long)]
    pcap: Option<PathBuf>,
    /// Program ABI (default: from the section: `xdp*` is XDP, `tc`,
    /// `tc/ingress`, `classifier*`... tc, `.text` SUME; other sections need
    /// it). Overrides the section's type.
    #[arg(long, value_enum)]
    abi: Option<AbiArg>,
    #[command(flatten)]
    object: super::object::ObjectArgs,
    /// Engine for network functions: a model, or `kernel` (XDP and tc: the
    /// running Linux kernel's BPF_PROG_TEST_RUN, needs root / CAP_BPF).
    #[arg(long, value_enum, default_value_t = EngineArg::Interp)]
    engine: EngineArg,
    /// Input port of every packet (default: the pcapng interface id, or 0).
    #[arg(long)]
    in_port: Option<u32>,
    /// Map entries to pre-load: a rules file, text or JSON (docs/rules.md).
    #[arg(short = 'r', long = "rules")]
    rules: Option<PathBuf>,
    /// The forwarding table `bpf_fib_lookup` reads: interfaces, routes and
    /// neighbours (docs/fib.md). With `--engine kernel` the same table is
    /// built in a new network namespace (needs root).
    #[arg(long)]
    fib: Option<PathBuf>,
    /// Write the packets as the program left them to this pcapng file, each
    /// on the interface of its output port: ids 0..3 `port0`..`port3`
    /// (a flood on every port but the input), 4 `host` (XDP_PASS, SUME
    /// CONTROLLER, CPUMAP/XSKMAP), then `portN` for a redirect to a port
    /// N >= 4 and (kernel) `redirect`, in order of first use. Drops and
    /// aborts are not written. Timestamps are in nanoseconds: the input
    /// packet's, plus (pipeline engine) the modelled processing latency,
    /// its cycles at 200 MHz; the interpreter and the kernel model no time.
    #[arg(long, verbatim_doc_comment)]
    out: Option<PathBuf>,
    /// One JSON object per packet, then a summary object.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum AbiArg {
    Xdp,
    /// tc classifier, direct action (`struct __sk_buff`; software engines
    /// and the kernel).
    Tc,
    Sume,
}

impl AbiArg {
    /// The ABI this flag names.
    pub fn abi(self) -> nfbpf_vm::abi::Abi {
        match self {
            AbiArg::Xdp => nfbpf_vm::abi::Abi::Xdp,
            AbiArg::Tc => nfbpf_vm::abi::Abi::Tc,
            AbiArg::Sume => nfbpf_vm::abi::Abi::Sume,
        }
    }
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum EngineArg {
    Interp,
    Pipeline,
    Kernel,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    if let Some(pcap) = &a.pcap {
        return super::nf::run(super::nf::NfArgs {
            prog: &a.prog,
            pcap,
            abi: a.abi.map(|x| x.abi()),
            engine: match a.engine {
                EngineArg::Interp | EngineArg::Kernel => nfbpf_vm::abi::EngineKind::Interp,
                EngineArg::Pipeline => nfbpf_vm::abi::EngineKind::Pipeline,
            },
            kernel: matches!(a.engine, EngineArg::Kernel),
            in_port: a.in_port,
            rules: a.rules.as_deref(),
            fib: a.fib.as_deref(),
            out: a.out.as_deref(),
            json: a.json,
            budget: a.budget,
            object: &a.object,
        });
    }
    if super::nf::is_nf(&a.prog) {
        anyhow::bail!(
            "{}: a network function (C source or object) runs over traffic: add --pcap FILE",
            a.prog.display()
        );
    }
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
