//! `nfbpf bench run PROG`: time per packet of `nfbpf run` against the bare
//! engine, on the same program and packets (generated traffic: UDP from
//! 16 flows on ports 0..3, as `nfbpf traffic --ports 0,1,2,3`).
//!
//! Three rows, each the best of three passes:
//! - `bare`: the engine alone ([`interp::run`], or the pipeline model with
//!   its decoded instruction memory) and the map values lent and taken
//!   back; the memory of the first [`BARE_RING`] packets is built before
//!   timing and cycled through (each packet's window and context restored
//!   before it runs, as the program rewrites them);
//! - `runner`: [`Runner::run`] per packet, the packets in memory: context,
//!   map lending, verdict and frame, as `nfbpf run` runs each packet;
//! - `run`: the `nfbpf run PROG --pcap FILE --out FILE` command itself (this
//!   executable, a child process, its standard output discarded) on a
//!   pcapng file of the packets: reading, running, printing, writing. Its
//!   time includes loading the program (milliseconds: for a C source, the
//!   clang compile too; give a clang object).
//!
//! Times are CPU time (user + system, from `/proc/self/stat`: this
//! process's for `bare` and `runner`, the child's for `run`), so that they
//! hold on a machine shared with other work; wall time is printed beside.
//! With `--engine pipeline`, simulated cycles per CPU second too.

use super::rules;
use anyhow::{Context, anyhow, bail};
use nfbpf_loader::{Options, load_file};
use nfbpf_sim::capture::Writer;
use nfbpf_sim::traffic::{Generator, Spec};
use nfbpf_vm::abi::{CTX_REGION, EngineKind, PACKET_REGION, Runner, RxMeta};
use nfbpf_vm::interp::{self, Config};
use nfbpf_vm::pipeline;
use nfbpf_vm::trace::NoTrace;
use nfbpf_vm::units::{SharedDeviceState, UnitsConfig};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Args {
    /// The network function: a clang object (or C source).
    prog: PathBuf,
    /// Map entries to pre-load (as `nfbpf run -r`).
    #[arg(short = 'r', long = "rules")]
    rules: Option<PathBuf>,
    /// Packets per pass.
    #[arg(long, default_value_t = 200_000)]
    count: usize,
    /// Engine model.
    #[arg(long, value_enum, default_value_t = Engine::Interp)]
    engine: Engine,
    /// One JSON object per row instead of the table.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Engine {
    Interp,
    Pipeline,
}

/// Packets whose memory `bare` prepares (a few KB each) and cycles through.
const BARE_RING: usize = 1024;

struct Row {
    name: &'static str,
    /// CPU seconds.
    secs: f64,
    wall: f64,
    cycles: u64,
}

/// Linux's clock ticks per second in `/proc` (USER_HZ).
const USER_HZ: f64 = 100.0;

/// CPU seconds (user + system) of this process and of its waited-for
/// children, from `/proc/self/stat`.
fn cpu_secs() -> anyhow::Result<(f64, f64)> {
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

/// A device with the program's maps, pre-loaded from the rules.
fn device(a: &Args, image: &nfbpf_loader::Image) -> anyhow::Result<SharedDeviceState> {
    let dev = SharedDeviceState::new(UnitsConfig::default());
    dev.with(|d| nfbpf_loader::install::configure_maps(image, &mut d.maps))
        .map_err(|e| anyhow!("{}: {e}", a.prog.display()))?;
    if let Some(r) = &a.rules {
        dev.with(|d| rules::load(r, image, &mut d.maps))?;
    }
    Ok(dev)
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    if a.count == 0 {
        bail!("--count: at least one packet");
    }
    let image = load_file(&a.prog, &Options::default())
        .map_err(|e| anyhow!("{}: {e}", a.prog.display()))?;
    let abi = image.abi;
    let prog = image
        .program()
        .map_err(|e| anyhow!("{}: {e}", a.prog.display()))?;
    let spec = Spec {
        ports: vec![0, 1, 2, 3],
        ..Spec::default()
    };
    let frames: Vec<_> = Generator::new(spec)?.take(a.count).collect();
    let kind = match a.engine {
        Engine::Interp => EngineKind::Interp,
        Engine::Pipeline => EngineKind::Pipeline,
    };
    let cfg = Config::default();
    let mut rows = Vec::new();

    // bare: the engine alone, each packet's memory prepared before timing.
    let mut best = Row {
        name: "bare",
        secs: f64::MAX,
        wall: 0.0,
        cycles: 0,
    };
    for _ in 0..3 {
        let dev = device(&a, &image)?;
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
        let mut helpers = abi.engine_helpers(&dev, 0);
        let mut imem = pipeline::InstrMem::with_program(Arc::new(prog.clone()));
        let pcfg = pipeline::Config {
            helper_latency: pipeline::HelperLatency::from_device(dev.clone(), 0),
            pacing: pipeline::Pacing::Instant,
            ..pipeline::Config::from(&cfg)
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
                    let _ = interp::run(&prog, mem, &mut helpers, *args, &cfg, &mut NoTrace);
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
        if secs < best.secs {
            best = Row {
                name: "bare",
                secs,
                wall,
                cycles,
            };
        }
    }
    rows.push(best);

    // runner: what `nfbpf run` does per packet, packets in memory.
    let mut best = Row {
        name: "runner",
        secs: f64::MAX,
        wall: 0.0,
        cycles: 0,
    };
    for _ in 0..3 {
        let dev = device(&a, &image)?;
        let mut runner = Runner::new(kind, abi, &prog, &dev, 0, &cfg);
        let mut cycles = 0u64;
        let (c0, _) = cpu_secs()?;
        let t0 = Instant::now();
        for f in &frames {
            let rx = RxMeta {
                in_port: f.port,
                ..RxMeta::default()
            };
            let ex = runner.run(&f.data, &rx, &mut NoTrace)?;
            cycles += ex.cycles.unwrap_or(0);
        }
        let wall = t0.elapsed().as_secs_f64();
        let secs = cpu_secs()?.0 - c0;
        if secs < best.secs {
            best = Row {
                name: "runner",
                secs,
                wall,
                cycles,
            };
        }
    }
    rows.push(best);

    // run: the command, on a capture of the same packets.
    let dir = tempfile::tempdir().context("temporary directory")?;
    let input = dir.path().join("in.pcapng");
    let out = dir.path().join("out.pcapng");
    let mut w = Writer::create(
        &input,
        &(0..4).map(|p| format!("port{p}")).collect::<Vec<_>>(),
    )?;
    for f in &frames {
        w.write(
            f.port,
            Duration::from_nanos(f.time_ns.round() as u64),
            &f.data,
        )?;
    }
    w.finish()?;
    let exe = std::env::current_exe().context("this executable")?;
    let mut best = Row {
        name: "run",
        secs: f64::MAX,
        wall: 0.0,
        cycles: rows[1].cycles,
    };
    for _ in 0..3 {
        let mut c = Command::new(&exe);
        c.arg("run")
            .arg(&a.prog)
            .arg("--pcap")
            .arg(&input)
            .arg("--out")
            .arg(&out)
            .arg("--engine")
            .arg(match a.engine {
                Engine::Interp => "interp",
                Engine::Pipeline => "pipeline",
            });
        if let Some(r) = &a.rules {
            c.arg("-r").arg(r);
        }
        let (_, c0) = cpu_secs()?;
        let t0 = Instant::now();
        let o = c
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .context("running `nfbpf run`")?;
        let wall = t0.elapsed().as_secs_f64();
        let secs = cpu_secs()?.1 - c0;
        if !o.status.success() {
            bail!(
                "`nfbpf run` failed: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            );
        }
        if secs < best.secs {
            best.secs = secs;
            best.wall = wall;
        }
    }
    rows.push(best);

    let n = frames.len() as f64;
    let bare = rows[0].secs;
    if !a.json {
        println!(
            "{} on {} packets, {} engine",
            a.prog.display(),
            frames.len(),
            match a.engine {
                Engine::Interp => "interp",
                Engine::Pipeline => "pipeline",
            }
        );
        println!(
            "{:<8} {:>14} {:>9} {:>15} {:>14}",
            "row", "CPU us/packet", "vs bare", "wall us/packet", "Mcycles/CPU s"
        );
    }
    for r in &rows {
        let us = r.secs / n * 1e6;
        let mcps = (a.engine == Engine::Pipeline).then(|| r.cycles as f64 / r.secs / 1e6);
        if a.json {
            let o = serde_json::json!({
                "row": r.name, "packets": frames.len(), "cpu_us_per_packet": us,
                "wall_us_per_packet": r.wall / n * 1e6,
                "ratio_vs_bare": r.secs / bare, "cycles": (a.engine == Engine::Pipeline).then_some(r.cycles),
                "mcycles_per_sec": mcps,
            });
            println!("{o}");
        } else {
            println!(
                "{:<8} {:>14.3} {:>8.2}x {:>15.3} {:>14}",
                r.name,
                us,
                r.secs / bare,
                r.wall / n * 1e6,
                mcps.map_or("-".to_string(), |m| format!("{m:.1}"))
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
