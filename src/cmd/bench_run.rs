//! `nfbpf bench run PROG`: time per packet of `nfbpf run` against the bare
//! engine, on the same program and packets (generated traffic: UDP from
//! 16 flows on ports 0..3, as `nfbpf traffic --ports 0,1,2,3`).
//!
//! Three rows, each the best of three passes (the passes and their CPU
//! clock are `nfbpf_sim::timing`):
//! - `bare`: the engine alone ([`timing::bare`]);
//! - `runner`: [`timing::runner`], as `nfbpf run` runs each packet;
//! - `run`: the `nfbpf run PROG --pcap FILE --out FILE` command itself (this
//!   executable, a child process, its standard output discarded) on a
//!   pcapng file of the packets: reading, running, printing, writing. Its
//!   time includes loading the program (milliseconds: for a C source, the
//!   clang compile too; give a clang object).
//!
//! Times are CPU time (this process's for `bare` and `runner`, the child's
//! for `run`); wall time is printed beside. With `--engine pipeline`,
//! simulated cycles per CPU second too.

use super::rules;
use anyhow::{Context, anyhow, bail};
use nfbpf_loader::{Options, load_file};
use nfbpf_sim::capture::Writer;
use nfbpf_sim::timing::{self, Timing};
use nfbpf_sim::traffic::{Generator, Spec};
use nfbpf_vm::abi::EngineKind;
use nfbpf_vm::interp::Config;
use nfbpf_vm::units::{SharedDeviceState, UnitsConfig};
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Duration;

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

struct Row {
    name: &'static str,
    t: Timing,
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
    let t = timing::best_of(3, || {
        timing::bare(&prog, abi, &frames, kind, &device(&a, &image)?, &cfg)
    })?;
    rows.push(Row { name: "bare", t });
    // runner: what `nfbpf run` does per packet, packets in memory.
    let t = timing::best_of(3, || {
        timing::runner(&prog, abi, &frames, kind, &device(&a, &image)?, &cfg)
    })?;
    rows.push(Row { name: "runner", t });

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
    let mut t = timing::best_of(3, || {
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
        timing::child(&mut c, "`nfbpf run`")
    })?;
    t.cycles = rows[1].t.cycles;
    rows.push(Row { name: "run", t });

    let n = frames.len() as f64;
    let bare = rows[0].t.secs;
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
    for Row { name, t: r } in &rows {
        let us = r.secs / n * 1e6;
        let mcps = (a.engine == Engine::Pipeline).then(|| r.cycles as f64 / r.secs / 1e6);
        if a.json {
            let o = serde_json::json!({
                "row": name, "packets": frames.len(), "cpu_us_per_packet": us,
                "wall_us_per_packet": r.wall / n * 1e6,
                "ratio_vs_bare": r.secs / bare, "cycles": (a.engine == Engine::Pipeline).then_some(r.cycles),
                "mcycles_per_sec": mcps,
            });
            println!("{o}");
        } else {
            println!(
                "{:<8} {:>14.3} {:>8.2}x {:>15.3} {:>14}",
                name,
                us,
                r.secs / bare,
                r.wall / n * 1e6,
                mcps.map_or("-".to_string(), |m| format!("{m:.1}"))
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
