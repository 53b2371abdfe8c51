//! `nfbpf bench device`: simulated device clocks per second of the data
//! plane model (`vm::device::Device`) and of its RTL through Verilator
//! (`sim::device::RtlDevice`), in one run on the same function and traffic:
//! PROG (a SUME function, default the built-in `l2_switch_sume`) loaded
//! through the registers of each, then `--cycles` clocks of 64-byte frames
//! at 10 Gb/s on all four ports. The outputs of both must be the same
//! number (the lockstep comparison is `tests/rtl_device.rs`). The model
//! also runs the same traffic with each of `--engines` (default 4 and 16:
//! what idle engines cost), reported as nanoseconds per clock and per
//! engine-clock and as frames per host second.

use anyhow::{Context, bail};
use nfbpf_loader::{Options, device::program, load_file};
use nfbpf_sim::device::RtlDevice;
use nfbpf_vm::device::{Device, DeviceConfig, MAX_ENGINES, PORTS};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// The function (C source, clang object, or `builtin:NAME` for
    /// programs/NAME.c built into nfbpf; SUME ABI).
    #[arg(default_value = "builtin:l2_switch_sume")]
    prog: PathBuf,
    /// Device clocks to run on each.
    #[arg(long, default_value_t = 200_000)]
    cycles: u64,
    /// One JSON object instead of the table.
    #[arg(long)]
    json: bool,
    /// Engine counts of the model runs (the RTL runs the default 4).
    #[arg(long, value_delimiter = ',', default_value = "4,16")]
    engines: Vec<usize>,
    /// The model only: no Verilated RTL run.
    #[arg(long)]
    no_rtl: bool,
}

/// One timed run.
struct Run {
    engines: usize,
    secs: f64,
    sent: u64,
    out: u64,
}

impl Run {
    fn ns_per_clock(&self, cycles: u64) -> f64 {
        self.secs * 1e9 / cycles as f64
    }
    fn json(&self, device: &str, cycles: u64) -> serde_json::Value {
        serde_json::json!({
            "device": device,
            "engines": self.engines,
            "frames_in": self.sent,
            "frames_out": self.out,
            "seconds": self.secs,
            "cycles_per_sec": cycles as f64 / self.secs,
            "ns_per_clock": self.ns_per_clock(cycles),
            "ns_per_engine_clock": self.ns_per_clock(cycles) / self.engines as f64,
            "frames_per_sec": self.sent as f64 / self.secs,
        })
    }
}

/// A 64-byte IPv4/UDP frame.
fn frame() -> Vec<u8> {
    let mut f = vec![0u8; 64];
    f[..6].copy_from_slice(&[2, 0, 0, 0, 0, 2]);
    f[6..12].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
    f[12] = 0x08;
    f[14] = 0x45;
    f[23] = 17;
    f
}

/// Clocks between 64-byte frames on one 10 Gb/s port (preamble and gap).
fn gap() -> f64 {
    (64.0 + 20.0) * 8.0 / 10e9 * nfbpf_vm::contract::CLOCK_HZ as f64
}

macro_rules! drive {
    ($dev:expr, $cycles:expr) => {{
        let f = frame();
        let (mut next, mut sent, mut out) = (0.0f64, 0u64, 0u64);
        let t = Instant::now();
        let start = $dev.cycle();
        while $dev.cycle() - start < $cycles {
            if ($dev.cycle() - start) as f64 >= next {
                for p in 0..PORTS {
                    $dev.rx(p, &f);
                    sent += 1;
                }
                next += gap();
            }
            $dev.step();
            out += $dev.take_outputs().len() as u64;
        }
        let secs = t.elapsed().as_secs_f64();
        // Untimed: the packets still inside (the RTL's egress puts a frame
        // on its bus a clock after the model counts it out).
        $dev.drain(1_000_000);
        out += $dev.take_outputs().len() as u64;
        (secs, sent, out)
    }};
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    if a.cycles == 0 {
        bail!("--cycles must be at least 1");
    }
    if let Some(&e) = a.engines.iter().find(|&&e| e == 0 || e > MAX_ENGINES) {
        bail!("--engines {e}: a data plane has 1..={MAX_ENGINES}");
    }
    let img = load_file(&a.prog, &Options::default())
        .with_context(|| format!("cannot load {}", a.prog.display()))?;
    let default = DeviceConfig::default();
    let mut models = Vec::new();
    for &engines in &a.engines {
        let mut model = Device::new(DeviceConfig {
            engines,
            ..default.clone()
        })?;
        program(&mut model, &img)
            .with_context(|| format!("programming the model device ({engines} engines)"))?;
        let (secs, sent, out) = drive!(model, a.cycles);
        models.push(Run {
            engines,
            secs,
            sent,
            out,
        });
    }
    let rtl = if a.no_rtl {
        None
    } else {
        let (ms, msent, mout) = match models.iter().find(|m| m.engines == default.engines) {
            Some(m) => (m.secs, m.sent, m.out),
            None => {
                let mut model = Device::new(default.clone())?;
                program(&mut model, &img).context("programming the model device")?;
                drive!(model, a.cycles)
            }
        };
        let mut rtl = RtlDevice::new(default.clone())?;
        program(&mut rtl, &img).context("programming the RTL device")?;
        let (rs, rsent, rout) = drive!(rtl, a.cycles);
        if (msent, mout) != (rsent, rout) {
            bail!(
                "the devices disagree: model {msent} frames in, {mout} out; RTL {rsent} in, {rout} out"
            );
        }
        Some((
            Run {
                engines: default.engines,
                secs: ms,
                sent: msent,
                out: mout,
            },
            Run {
                engines: default.engines,
                secs: rs,
                sent: rsent,
                out: rout,
            },
        ))
    };
    if a.json {
        let mut runs: Vec<serde_json::Value> =
            models.iter().map(|m| m.json("model", a.cycles)).collect();
        if let Some((_, r)) = &rtl {
            runs.push(r.json("rtl", a.cycles));
        }
        let mut o = serde_json::json!({
            "prog": a.prog.display().to_string(),
            "cycles": a.cycles,
            "runs": runs,
        });
        if let Some((m, r)) = &rtl {
            o["frames_in"] = m.sent.into();
            o["frames_out"] = m.out.into();
            o["model_cycles_per_sec"] = (a.cycles as f64 / m.secs).round().into();
            o["rtl_cycles_per_sec"] = (a.cycles as f64 / r.secs).round().into();
        }
        println!("{o}");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{}: {} clocks, 4 ports x 10 Gb/s of 64-byte frames",
        a.prog.display(),
        a.cycles
    );
    println!(
        "device  engines  frames in  frames out    clocks/s  ns/clock  ns/engine-clock  frames/s  seconds"
    );
    let row = |device: &str, r: &Run| {
        let ns = r.ns_per_clock(a.cycles);
        println!(
            "{device:<7} {:>7} {:>10} {:>11} {:>11.0} {:>9.1} {:>16.1} {:>9.0} {:>8.3}",
            r.engines,
            r.sent,
            r.out,
            a.cycles as f64 / r.secs,
            ns,
            ns / r.engines as f64,
            r.sent as f64 / r.secs,
            r.secs
        );
    };
    for m in &models {
        row("model", m);
    }
    if let Some((m, r)) = &rtl {
        row("rtl", r);
        println!(
            "model / rtl at {} engines: {:.1}x",
            m.engines,
            r.secs / m.secs
        );
    }
    Ok(ExitCode::SUCCESS)
}
