//! Time per packet of a program (what `nfbpf bench run` measures): the
//! passes it times and the CPU clock they are timed with.
//!
//! - [`bare`]: the engine alone ([`interp::run`], or the pipeline model
//!   with its decoded instruction memory) and the map values lent and taken
//!   back; the memory of the first [`BARE_RING`] packets is built before
//!   timing and cycled through (each packet's window and context restored
//!   before it runs, as the program rewrites them);
//! - [`runner`]: [`Runner::run`] per packet, the packets in memory:
//!   context, map lending, verdict and frame;
//! - [`child`]: a command run as a child process (its standard output
//!   discarded), timed by the children's CPU time;
//! - [`best_of`]: the fastest of several passes.
//!
//! Times are CPU time (user + system, from `/proc/self/stat`: this
//! process's, or its waited-for children's for [`child`]), so that they
//! hold on a machine shared with other work; wall time is kept beside.

use crate::traffic::Frame;
use anyhow::{Context, anyhow, bail};
use nfbpf_vm::Program;
use nfbpf_vm::abi::{Abi, CTX_REGION, EngineKind, PACKET_REGION, Runner, RxMeta};
use nfbpf_vm::interp::{self, Config};
use nfbpf_vm::pipeline;
use nfbpf_vm::trace::NoTrace;
use nfbpf_vm::units::SharedDeviceState;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

/// Packets whose memory [`bare`] prepares (a few KB each) and cycles
/// through.
pub const BARE_RING: usize = 1024;

/// Linux's clock ticks per second in `/proc` (USER_HZ).
const USER_HZ: f64 = 100.0;

/// One timed pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// CPU seconds.
    pub secs: f64,
    /// Wall seconds.
    pub wall: f64,
    /// Simulated cycles (pipeline model; 0 otherwise).
    pub cycles: u64,
}

/// CPU seconds (user + system) of this process and of its waited-for
/// children, from `/proc/self/stat`.
pub fn cpu_secs() -> anyhow::Result<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").context("reading /proc/self/stat")?;
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| anyhow!("/proc/self/stat: no command name"))?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime, stime, cutime, cstime are fields 14..=17; `f[0]` is field 3.
    let tick = |i: usize| -> anyhow::Result<f64> {
        f.get(i - 3)
            .and_then(|v| v.parse::<f64>().ok())
            .map(|v| v / USER_HZ)
            .ok_or_else(|| anyhow!("/proc/self/stat: field {i} missing"))
    };
    Ok((tick(14)? + tick(15)?, tick(16)? + tick(17)?))
}

/// The pass of `passes` with the least CPU time (the first of equals).
pub fn best_of(
    passes: usize,
    mut pass: impl FnMut() -> anyhow::Result<Timing>,
) -> anyhow::Result<Timing> {
    let mut best: Option<Timing> = None;
    for _ in 0..passes {
        let t = pass()?;
        if best.is_none_or(|b| t.secs < b.secs) {
            best = Some(t);
        }
    }
    best.ok_or_else(|| anyhow!("no pass to time"))
}

/// The engine alone on `frames`, with the maps of `dev` (engine 0).
pub fn bare(
    prog: &Program,
    abi: Abi,
    frames: &[Frame],
    kind: EngineKind,
    dev: &SharedDeviceState,
    cfg: &Config,
) -> anyhow::Result<Timing> {
    let mut prepared = Vec::new();
    for f in frames.iter().take(BARE_RING) {
        let rx = RxMeta {
            in_port: f.port,
            ..RxMeta::default()
        };
        let (mem, args) = abi.context(&f.data, &rx)?;
        prepared.push((mem, args));
    }
    let originals: Vec<(Vec<u8>, Option<Vec<u8>>)> = prepared
        .iter()
        .map(|(m, _)| {
            (
                m.region(PACKET_REGION)
                    .map(|r| r.data.clone())
                    .unwrap_or_default(),
                m.region(CTX_REGION).map(|r| r.data.clone()),
            )
        })
        .collect();
    let mut helpers = abi.engine_helpers(dev, 0);
    let mut imem = pipeline::InstrMem::with_program(Arc::new(prog.clone()));
    let pcfg = pipeline::Config {
        helper_latency: pipeline::HelperLatency::from_device(dev.clone(), 0),
        pacing: pipeline::Pacing::Instant,
        ..pipeline::Config::from(cfg)
    };
    let mut cycles = 0u64;
    let (c0, _) = cpu_secs()?;
    let t0 = Instant::now();
    for i in 0..frames.len() {
        let k = i % prepared.len();
        let (mem, args) = &mut prepared[k];
        let (win, ctx) = &originals[k];
        if let Some(r) = mem.region_mut(PACKET_REGION) {
            r.data.copy_from_slice(win);
        }
        if let (Some(r), Some(c)) = (mem.region_mut(CTX_REGION), ctx) {
            r.data.copy_from_slice(c);
        }
        dev.with(|d| d.maps.lend(mem))?;
        match kind {
            EngineKind::Interp => {
                let _ = interp::run(prog, mem, &mut helpers, *args, cfg, &mut NoTrace);
            }
            EngineKind::Pipeline => {
                let rep = pipeline::run_report_on(
                    &mut imem,
                    mem,
                    &mut helpers,
                    *args,
                    &pcfg,
                    &mut NoTrace,
                    &mut pipeline::NoCycles,
                );
                cycles += rep.cycles;
            }
        }
        dev.with(|d| d.maps.reclaim(mem));
    }
    let wall = t0.elapsed().as_secs_f64();
    let secs = cpu_secs()?.0 - c0;
    Ok(Timing { secs, wall, cycles })
}

/// [`Runner::run`] per packet of `frames`, with the maps of `dev` (engine
/// 0).
pub fn runner(
    prog: &Program,
    abi: Abi,
    frames: &[Frame],
    kind: EngineKind,
    dev: &SharedDeviceState,
    cfg: &Config,
) -> anyhow::Result<Timing> {
    let mut runner = Runner::new(kind, abi, prog, dev, 0, cfg);
    let mut cycles = 0u64;
    let (c0, _) = cpu_secs()?;
    let t0 = Instant::now();
    for f in frames {
        let rx = RxMeta {
            in_port: f.port,
            ..RxMeta::default()
        };
        let ex = runner.run(&f.data, &rx, &mut NoTrace)?;
        cycles += ex.cycles.unwrap_or(0);
    }
    let wall = t0.elapsed().as_secs_f64();
    let secs = cpu_secs()?.0 - c0;
    Ok(Timing { secs, wall, cycles })
}

/// `cmd` run to its end as a child (standard output discarded), timed by
/// the children's CPU time; `what` names it in errors (`running WHAT`,
/// `WHAT failed: STDERR`). No cycles.
pub fn child(cmd: &mut Command, what: &str) -> anyhow::Result<Timing> {
    let (_, c0) = cpu_secs()?;
    let t0 = Instant::now();
    let o = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .with_context(|| format!("running {what}"))?;
    let wall = t0.elapsed().as_secs_f64();
    let secs = cpu_secs()?.1 - c0;
    if !o.status.success() {
        bail!(
            "{what} failed: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        );
    }
    Ok(Timing {
        secs,
        wall,
        cycles: 0,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code

    use super::*;

    #[test]
    fn cpu_time_grows_and_the_best_pass_is_the_least() {
        let (a, _) = cpu_secs().unwrap();
        assert!(a >= 0.0);
        let mut secs = [3.0, 1.0, 2.0, 1.0].into_iter();
        let mut n = 0;
        let b = best_of(4, || {
            n += 1;
            Ok(Timing {
                secs: secs.next().unwrap(),
                wall: 0.0,
                cycles: n,
            })
        })
        .unwrap();
        assert_eq!((b.secs, b.cycles), (1.0, 2));
        assert!(best_of(0, || unreachable!()).is_err());
    }
}
