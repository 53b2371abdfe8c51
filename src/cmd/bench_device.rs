//! `nfbpf bench device`: simulated device clocks per second of the data
//! plane model (`vm::device::Device`) and of its RTL through Verilator
//! (`sim::device::RtlDevice`), in one run on the same function and traffic:
//! PROG (a SUME function, default the built-in `l2_switch_sume`) loaded
//! through the registers of each, then `--cycles` clocks of 64-byte frames
//! at 10 Gb/s on all four ports. The outputs of both must be the same
//! number (the lockstep comparison is `tests/rtl_device.rs`).

use anyhow::{Context, bail};
use nfbpf_loader::{Options, device::program, load_file};
use nfbpf_sim::device::RtlDevice;
use nfbpf_vm::device::{Device, DeviceConfig, PORTS};
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
    let img = load_file(&a.prog, &Options::default())
        .with_context(|| format!("cannot load {}", a.prog.display()))?;
    let mut model = Device::new(DeviceConfig::default())?;
    program(&mut model, &img).context("programming the model device")?;
    let mut rtl = RtlDevice::new(DeviceConfig::default())?;
    program(&mut rtl, &img).context("programming the RTL device")?;
    let (ms, msent, mout) = drive!(model, a.cycles);
    let (rs, rsent, rout) = drive!(rtl, a.cycles);
    if (msent, mout) != (rsent, rout) {
        bail!(
            "the devices disagree: model {msent} frames in, {mout} out; RTL {rsent} in, {rout} out"
        );
    }
    let (mc, rc) = (a.cycles as f64 / ms, a.cycles as f64 / rs);
    if a.json {
        println!(
            "{}",
            serde_json::json!({"prog": a.prog.display().to_string(), "cycles": a.cycles,
                "frames_in": msent, "frames_out": mout,
                "model_cycles_per_sec": mc.round(), "rtl_cycles_per_sec": rc.round()})
        );
    } else {
        println!(
            "{}: {} clocks, 4 ports x 10 Gb/s of 64-byte frames, {msent} frames in, {mout} out",
            a.prog.display(),
            a.cycles
        );
        println!("device  clocks/s     seconds");
        println!("model   {mc:>10.0}  {ms:8.3}");
        println!("rtl     {rc:>10.0}  {rs:8.3}");
        println!("model / rtl: {:.1}x", mc / rc);
    }
    Ok(ExitCode::SUCCESS)
}
