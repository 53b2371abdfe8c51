//! `nfbpf cosim PROG --pcap FILE`: the data plane model and its RTL in
//! lockstep (`sim::devcosim`) on a capture. PROG (a SUME function) is
//! loaded through the registers of both at once (`--rules` entries go into
//! both map tables); each packet enters on its pcapng interface's port (or
//! `--port`), every port at 10 Gb/s line rate in the capture's order; the
//! device is drained at the end and the counters of both are read back
//! through the registers. Every clock each engine's cycle record and retire
//! records are compared, then the outputs. Prints `N packets, M cycles, K
//! outputs, R retire records, C cycle records, 0 mismatches`, or the first
//! difference with the last clocks of both sides and the path of a VCD of
//! the RTL around it (`--vcd`, exit 1). The single-engine lockstep is
//! `nfbpf trace --cosim`.

use super::nf::read_packets;
use super::rules;
use anyhow::{Context, anyhow};
use nfbpf_loader::{Options, device::program, load_file};
use nfbpf_sim::devcosim::DevCosim;
use nfbpf_sim::device::read_counters;
use nfbpf_vm::device::{DeviceConfig, PORTS};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The function (C source or clang object, SUME ABI).
    prog: PathBuf,
    /// The packets (pcap or pcapng).
    #[arg(long)]
    pcap: PathBuf,
    /// Input port of every packet (default: the pcapng interface id mod 4).
    #[arg(long)]
    port: Option<usize>,
    /// Map entries to install first: a rules file, text or JSON (docs/rules.md).
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Where a mismatch writes the VCD of the RTL (default:
    /// `nfbpf-devcosim.vcd` in the current directory, named in the message).
    #[arg(long)]
    vcd: Option<PathBuf>,
    /// Instruction budget per packet of the function (the BUDGET register;
    /// a packet that needs more is aborted). Without it: the device's
    /// default, one full-size frame time (contract::DEVICE_INSN_BUDGET); a
    /// lambda's requests need more (the agent gives them
    /// contract::LAMBDA_INSN_BUDGET, 8192).
    #[arg(long, value_name = "N")]
    budget: Option<u32>,
    #[command(flatten)]
    object: super::object::ObjectArgs,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    if let Some(p) = a.port
        && p >= PORTS
    {
        anyhow::bail!("--port {p}: the device has ports 0..{}", PORTS - 1);
    }
    let opts: Options = a.object.options();
    let mut img =
        load_file(&a.prog, &opts).with_context(|| format!("cannot load {}", a.prog.display()))?;
    if a.budget.is_some() {
        img = img.with_budget(a.budget);
    }
    a.object.report(&a.prog, &img);
    let pkts = read_packets(&a.pcap)?;
    // What the RTL cannot run yet is said before anything runs (the
    // device's FLIP would refuse it on the RTL side only).
    if img.abi == nfbpf_vm::abi::Abi::Xdp
        && let Some(why) = nfbpf_sim::device::xdp_unsupported(&img.insns).or_else(|| {
            let mut rows = vec![None; nfbpf_vm::contract::MAX_MAPS];
            for (i, m) in img.maps.iter().enumerate() {
                if let Some(r) = rows.get_mut(img.map_row(i)) {
                    *r = Some(nfbpf_sim::device::MapShape {
                        kind: m.kind.code(),
                        key_size: m.def.key_size,
                        value_size: m.def.value_size,
                        max_entries: m.def.max_entries,
                    });
                }
            }
            let name = |row| {
                (0..img.maps.len())
                    .find(|&i| img.map_row(i) == row)
                    .map(|i| img.maps[i].name.clone())
            };
            nfbpf_sim::device::xdp_unsupported_maps(&img.insns, &rows, name)
        })
    {
        eprintln!("{}: the RTL device cannot run it: {why}", a.prog.display());
        return Ok(ExitCode::from(1));
    }
    let mut c = DevCosim::new(DeviceConfig::default()).map_err(|e| anyhow!(e))?;
    if let Some(v) = &a.vcd {
        c.set_vcd_path(v);
    }
    if let Err(e) = program(&mut c, &img) {
        eprintln!("{}: {e}", a.prog.display());
        return Ok(ExitCode::from(1));
    }
    if let Some(r) = &a.rules {
        // Through the map registers of both devices, in lockstep.
        let text =
            std::fs::read_to_string(r).with_context(|| format!("cannot read {}", r.display()))?;
        let entries = rules::parse(&text, &img).with_context(|| r.display().to_string())?;
        for e in &entries {
            let kind = img.maps[e.map].kind;
            nfbpf_loader::device::update_entry(&mut c, e.map, kind, &e.key, &e.value)
                .with_context(|| r.display().to_string())?;
        }
    }
    let r = (|| -> Result<(), String> {
        // Per port, the clock (in hundredths) the port is free again.
        let mut next = [0u64; PORTS];
        for p in &pkts {
            let port = a.port.unwrap_or(p.iface.unwrap_or(0) as usize % PORTS);
            while next[port] > c.cycle() * 100 || !c.port_free(port) {
                c.step()?;
            }
            c.rx(port, &p.data)?;
            next[port] = c.cycle() * 100 + (p.data.len() as u64 + 20) * 16;
        }
        c.drain(10_000_000)?;
        read_counters(&mut c, 4).map_err(|e| e.to_string())?;
        Ok(())
    })();
    match r {
        Ok(()) => {
            println!(
                "{} packets, {} cycles, {} outputs, {} retire records, {} cycle records, \
                 0 mismatches",
                pkts.len(),
                c.cycle(),
                c.outputs,
                c.retires,
                c.cycle_records
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("mismatch: {e}");
            Ok(ExitCode::from(1))
        }
    }
}
