//! `nfbpf bringup -t TARGET [--wire PROG]`: the checks a person runs on a
//! new board before loading programs (`nfbpf_loader::bringup`): the
//! identification and version registers against this build, a scratch
//! register written and read back, the instruction-bank flip both ways with
//! Wire, and frames from the host's DMA queues through Wire with the
//! per-port counters. Each check is printed with its result; the first
//! failure names the register and the expected and read values, and ends
//! the command with exit code 1.
//!
//! TARGET is `sim:PATH` (`nfbpf device serve`, model or RTL backend) or
//! `sume:IFNAME` (a board; the traffic step sends on the driver's `nf0`..
//! `nf3` and needs CAP_NET_RAW). The target is opened without the ID check
//! of the other device commands, so that a wrong ID is reported as a step.

use super::exit::{Code, err};
use nfbpf_loader::bringup::{self, Check};
use nfbpf_loader::bus::{Target, socket::SocketBus, sume::SumeBus};
use nfbpf_loader::{Options, load_file};
use nfbpf_vm::regs::RegisterBus;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The device: `sim:PATH` or `sume:IFNAME`.
    #[arg(short = 't', long)]
    target: String,
    /// The Wire program (C source or clang object of programs/wire_sume.c;
    /// default: the built-in copy, compiled with clang).
    #[arg(long, value_name = "PROG", default_value = "builtin:wire_sume")]
    wire: PathBuf,
    /// Seconds the traffic step waits for the port counters.
    #[arg(long, value_name = "SECS", default_value_t = bringup::TRAFFIC_TIMEOUT.as_secs_f64())]
    timeout: f64,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    if !(a.timeout.is_finite() && a.timeout > 0.0 && a.timeout <= 3600.0) {
        return Err(err(
            Code::Usage,
            format!("--timeout {}: expected 0 < SECS <= 3600", a.timeout),
        ));
    }
    let t: Target = a
        .target
        .parse()
        .map_err(|e: nfbpf_vm::regs::BusError| err(Code::Usage, e.to_string()))?;
    let wire =
        load_file(&a.wire, &Options::default()).map_err(|e| super::exit::load_err(&a.wire, e))?;
    let mut bus: Box<dyn RegisterBus> = match &t {
        Target::Sim(p) => {
            Box::new(SocketBus::connect(p).map_err(|e| err(Code::Io, e.to_string()))?)
        }
        Target::Sume(i) => Box::new(SumeBus::open(i).map_err(|e| err(Code::Io, e.to_string()))?),
    };
    println!("nfbpf bringup: {t}");
    let mut last: Option<Check> = None;
    let ok = bringup::run(
        &mut *bus,
        &wire,
        std::time::Duration::from_secs_f64(a.timeout),
        &mut |c: &Check| {
            match &c.result {
                Ok(m) => println!("  ok    {:<15} {:<28} {m}", c.step, c.what),
                Err(f) => println!("  FAIL  {:<15} {:<28} {f}", c.step, c.what),
            }
            last = Some(c.clone());
        },
    );
    if ok {
        println!("nfbpf bringup: {t}: every check passed");
        return Ok(ExitCode::SUCCESS);
    }
    let why = last
        .and_then(|c| {
            c.result
                .err()
                .map(|f| format!("{} ({}): {f}", c.step, c.what))
        })
        .unwrap_or_else(|| "a check failed".into());
    Err(err(Code::No, format!("bringup of {t} failed at {why}")))
}
