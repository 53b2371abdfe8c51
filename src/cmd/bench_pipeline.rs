//! `nfbpf bench pipeline`: simulated clocks per second of one engine of the
//! pipeline model, untraced, in this build, on three workloads:
//! - `loop`: a load/ALU/branch loop (hazards every iteration);
//! - `parser`: the Ethernet/IPv4/UDP parser of `nfbpf bench interp`, one
//!   packet after another through FIFO_MD;
//! - `conformance`: every program of the conformance suite (`--conformance
//!   DIR`, else the suite's `tests/` as `nfbpf conform --help` says where),
//!   each run as one packet, the whole suite repeated.

use super::bench::{PARSER, udp_frame};
use nfbpf_vm::Program;
use nfbpf_vm::conformance;
use nfbpf_vm::helpers::Helpers;
use nfbpf_vm::interp;
use nfbpf_vm::pipeline::{self, NoCycles, bench};
use nfbpf_vm::trace::NoTrace;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Args {
    /// One JSON object per workload.
    #[arg(long)]
    json: bool,
    /// Directory of conformance `.data` files (default: the suite's `tests/`
    /// under $NFBPF_CONFORMANCE, else the copy `make conformance` fetches;
    /// see `nfbpf conform --help`).
    #[arg(long, value_name = "DIR")]
    conformance: Option<PathBuf>,
}

struct Row {
    name: &'static str,
    cycles: u64,
    retired: u64,
    secs: f64,
}

/// Best of five of `f`, each returning (cycles, retired, elapsed).
fn best(
    mut f: impl FnMut() -> anyhow::Result<(u64, u64, Duration)>,
) -> anyhow::Result<(u64, u64, f64)> {
    let mut out = (0, 0, f64::MAX);
    for _ in 0..5 {
        let (c, r, t) = f()?;
        if t.as_secs_f64() < out.2 {
            out = (c, r, t.as_secs_f64());
        }
    }
    Ok(out)
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    // Where the suite is, before the first workload runs.
    let dir = match a.conformance {
        Some(d) => d,
        None => conformance::suite_dir(conformance::Part::Tests)?,
    };
    let mut rows = Vec::new();

    let lp = bench::loop_program(1_000_000);
    let (c, r, s) = best(|| {
        let t = bench::measure(&lp, &[0; 64], 1);
        Ok((t.cycles, t.retired, t.elapsed))
    })?;
    rows.push(Row {
        name: "loop",
        cycles: c,
        retired: r,
        secs: s,
    });

    let parser =
        Program::new(nfbpf_vm::asm::assemble(PARSER).map_err(|e| anyhow::anyhow!("parser: {e}"))?)?;
    let frame = udp_frame();
    let (c, r, s) = best(|| {
        let t = bench::measure(&parser, &frame, 200_000);
        Ok((t.cycles, t.retired, t.elapsed))
    })?;
    rows.push(Row {
        name: "parser",
        cycles: c,
        retired: r,
        secs: s,
    });

    let files = conformance::collect(std::slice::from_ref(&dir))
        .map_err(|e| anyhow::anyhow!("conformance programs: {e}"))?;
    let mut cases = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f)?;
        let Ok(tc) = conformance::parse(&text) else {
            continue;
        };
        let Ok(insns) = conformance::program_of(&tc) else {
            continue;
        };
        if let Ok(p) = Program::with_limits(insns, &conformance::limits()) {
            cases.push((p, tc.mem));
        }
    }
    anyhow::ensure!(
        !cases.is_empty(),
        "no conformance programs under {}",
        dir.display()
    );
    let cfg = pipeline::Config::default();
    let (c, r, s) = best(|| {
        let t0 = Instant::now();
        let (mut cycles, mut retired) = (0, 0);
        for _ in 0..20 {
            for (p, mem) in &cases {
                let (mut m, args) = interp::conformance_memory(mem);
                let mut h = Helpers::conformance();
                let rep = pipeline::run_report(
                    p,
                    &mut m,
                    &mut h,
                    args,
                    &cfg,
                    &mut NoTrace,
                    &mut NoCycles,
                );
                cycles += rep.stats.cycles;
                retired += rep.stats.retired;
            }
        }
        Ok((cycles, retired, t0.elapsed()))
    })?;
    rows.push(Row {
        name: "conformance",
        cycles: c,
        retired: r,
        secs: s,
    });

    if !a.json {
        println!(
            "{:<12} {:>12} {:>12} {:>14} {:>14} {:>6}",
            "workload", "cycles", "retired", "cycles/s", "insns/s", "CPI"
        );
    }
    for r in rows {
        let cps = r.cycles as f64 / r.secs;
        let ips = r.retired as f64 / r.secs;
        let cpi = r.cycles as f64 / r.retired.max(1) as f64;
        if a.json {
            println!(
                "{}",
                serde_json::json!({"workload": r.name, "cycles": r.cycles, "retired": r.retired,
                "cycles_per_sec": cps, "insns_per_sec": ips, "cpi": cpi})
            );
        } else {
            println!(
                "{:<12} {:>12} {:>12} {:>11.1} M/s {:>11.1} M/s {:>6.3}",
                r.name,
                r.cycles,
                r.retired,
                cps / 1e6,
                ips / 1e6,
                cpi
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
