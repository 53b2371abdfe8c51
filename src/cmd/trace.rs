//! `nfbpf trace`: run a program on the cycle-accurate pipeline model (or,
//! with `--rtl`, on the engine RTL) and print its retire records (`cycle` =
//! retire cycle), and optionally the cycle records, a pipeline diagram, a
//! VCD waveform and statistics. `--cosim` runs model and RTL in lockstep and
//! reports the first difference.
//!
//! PROG may also be an object (C source or clang object): the loader lays
//! it out (`--program`, `--abi`, `--map-size` as for `nfbpf run`), its maps
//! are configured empty, and `--mem` is the frame it runs on, through its
//! ABI's context, on the pipeline model.

use super::input::{parse_hex, read_program};
use anyhow::Context;
use nfbpf_vm::helpers::Helpers;
use nfbpf_vm::interp::conformance_memory;
use nfbpf_vm::pipeline::{self, CollectCycles, Pacing, view};
use nfbpf_vm::trace::Collect;
use nfbpf_vm::{Program, contract};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Program: assembly (.s), raw little-endian image, or an object (C
    /// source or clang object; `--mem` is then the frame).
    prog: PathBuf,
    /// Packet bytes in hex (FIFO_MD); r1 points at them, r2 holds their length.
    #[arg(long, default_value = "")]
    mem: String,
    /// Print the pipeline diagram (rows instructions, columns cycles).
    #[arg(long)]
    pipeline_diagram: bool,
    /// Print one cycle record per clock.
    #[arg(long)]
    cycles: bool,
    /// Write the cycle records as a VCD waveform.
    #[arg(long, value_name = "FILE")]
    vcd: Option<PathBuf>,
    /// Print cycles, instructions, CPI and stall cycles by cause.
    #[arg(long)]
    stats: bool,
    /// All packet words valid at once (default: 10 Gb/s port pacing).
    #[arg(long)]
    instant: bool,
    /// Instruction budget.
    #[arg(long, default_value_t = contract::DEFAULT_INSN_BUDGET)]
    budget: u64,
    /// Run every packet of this pcap/pcapng file, queued in FIFO_MD one
    /// after another as they arrive (r1 = the packet, r2 = its length).
    #[arg(long, value_name = "FILE", conflicts_with = "mem")]
    pcap: Option<PathBuf>,
    /// Run on the engine RTL (Verilated) instead of the model.
    #[arg(long, conflicts_with_all = ["stats", "cosim"])]
    rtl: bool,
    /// Run model and RTL in lockstep, comparing every clock; print the
    /// first difference with the cycles around it.
    #[arg(long)]
    cosim: bool,
    /// One JSON object per retired instruction, then a summary object
    /// (docs/cli.md).
    #[arg(long, conflicts_with_all = ["pipeline_diagram", "cycles", "stats", "cosim"])]
    json: bool,
    /// For objects: the ABI (default: from the section: `xdp*` is XDP,
    /// `.text` SUME; other sections need it).
    #[arg(long, value_enum)]
    abi: Option<super::run::AbiArg>,
    #[command(flatten)]
    object: super::object::ObjectArgs,
}

/// An object on the pipeline model: the frame of `--mem` through the ABI's
/// context, the image's maps configured (empty), the device's helper units.
fn run_object(a: &Args) -> anyhow::Result<ExitCode> {
    use nfbpf_vm::abi::RxMeta;
    use nfbpf_vm::units::{SharedDeviceState, UnitsConfig};
    if a.pcap.is_some() || a.rtl || a.cosim {
        anyhow::bail!(
            "{}: --pcap, --rtl and --cosim trace raw programs; an object (C source or clang object) runs on one frame given with --mem",
            a.prog.display()
        );
    }
    let opts = nfbpf_loader::Options {
        abi: a.abi.map(super::run::AbiArg::abi),
        ..a.object.options()
    };
    let image = nfbpf_loader::load_file(&a.prog, &opts)
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.prog.display()))?;
    a.object.report(&a.prog, &image);
    let prog = image
        .program()
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.prog.display()))?;
    let abi = image.abi;
    let dev = SharedDeviceState::new(UnitsConfig::default());
    dev.with(|d| nfbpf_loader::install::configure_maps(&image, &mut d.maps))
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.prog.display()))?;
    let data = parse_hex(&a.mem).context("--mem")?;
    let (mut mem, args) = abi
        .context(&data, &RxMeta::default())
        .map_err(|e| anyhow::anyhow!("--mem: {e}"))?;
    let mut helpers = abi.engine_helpers(&dev, 0);
    dev.with(|d| {
        d.engine_mut(0).begin_packet();
        d.maps.lend(&mut mem)
    })
    .map_err(|e| anyhow::anyhow!("{}: {e}", a.prog.display()))?;
    let cfg = pipeline::Config {
        helper_latency: pipeline::HelperLatency::from_device(dev.clone(), 0),
        ..pipeline_config(a)
    };
    let mut retires = Collect::default();
    let mut cycles = CollectCycles::default();
    let rep = pipeline::run_report(
        &prog,
        &mut mem,
        &mut helpers,
        args,
        &cfg,
        &mut retires,
        &mut cycles,
    );
    dev.with(|d| d.maps.reclaim(&mut mem));
    finish(a, &prog, &retires, &cycles, rep)
}

/// The pipeline's configuration from `--budget` and `--instant`.
fn pipeline_config(a: &Args) -> pipeline::Config {
    pipeline::Config {
        budget: a.budget,
        pacing: if a.instant {
            Pacing::Instant
        } else {
            Pacing::default()
        },
        ..pipeline::Config::default()
    }
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    if super::nf::is_nf(&a.prog) {
        return run_object(&a);
    }
    let insns = read_program(&a.prog)?;
    let prog = Program::new(insns).with_context(|| a.prog.display().to_string())?;
    let data = parse_hex(&a.mem).context("--mem")?;
    let (mut mem, args) = conformance_memory(&data);
    let cfg = pipeline_config(&a);
    if a.cosim {
        return match nfbpf_sim::cosim::cosim(&prog, &mem, Helpers::conformance, args, &cfg) {
            Ok(r) => {
                println!(
                    "model and RTL cycle-exact: {} clocks, {} retired, {}",
                    r.cycles,
                    r.retired,
                    match &r.result {
                        Ok(o) => format!("r0 = {:#x} after {} instructions", o.r0, o.insns),
                        Err(f) => format!("fault: {f}"),
                    }
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(m) => {
                print!("{m}");
                Ok(ExitCode::from(1))
            }
        };
    }
    let mut retires = Collect::default();
    let mut cycles = CollectCycles::default();
    if a.rtl {
        let mut e = nfbpf_sim::engine::RtlEngine::new();
        e.begin(&prog, &mut mem, args, &cfg)
            .map_err(|f| anyhow::anyhow!("{f}"))?;
        let v = loop {
            if let Some(v) = e.step(
                &mut mem,
                &mut Helpers::conformance(),
                &mut retires,
                &mut cycles,
            ) {
                break v;
            }
        };
        let rep = pipeline::RunReport {
            cycles: v.cycles(),
            result: v.result,
            stats: pipeline::Stats::default(),
        };
        return finish(&a, &prog, &retires, &cycles, rep);
    }
    if let Some(pcap) = &a.pcap {
        let (stats, (result, cycles_n)) = run_pcap(&prog, pcap, &cfg, &mut retires, &mut cycles)?;
        let rep = pipeline::RunReport {
            cycles: cycles_n,
            result,
            stats,
        };
        return finish(&a, &prog, &retires, &cycles, rep);
    }
    let rep = pipeline::run_report(
        &prog,
        &mut mem,
        &mut Helpers::conformance(),
        args,
        &cfg,
        &mut retires,
        &mut cycles,
    );
    finish(&a, &prog, &retires, &cycles, rep)
}

fn finish(
    a: &Args,
    prog: &Program,
    retires: &Collect,
    cycles: &CollectCycles,
    rep: pipeline::RunReport,
) -> anyhow::Result<ExitCode> {
    if let Some(path) = &a.vcd {
        let f = std::fs::File::create(path).with_context(|| path.display().to_string())?;
        view::write_vcd(std::io::BufWriter::new(f), &cycles.0)
            .with_context(|| path.display().to_string())?;
    }
    if a.json {
        return finish_json(retires, rep);
    }
    for r in &retires.0 {
        println!("{}", r.to_line());
    }
    if a.cycles {
        print!("{}", view::cycle_text(&cycles.0));
    }
    if a.pipeline_diagram {
        print!("{}", view::diagram(&cycles.0, prog.insns()));
    }
    if a.stats {
        print!("{}", rep.stats.report());
    }
    match rep.result {
        Ok(o) => {
            println!(
                "r0 = {:#x} ({}) after {} cycles",
                o.r0, o.r0 as i64, rep.cycles
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(f) => {
            eprintln!("{}: {f}", a.prog.display());
            Ok(ExitCode::from(1))
        }
    }
}

/// One retired instruction of `--json`.
#[derive(serde::Serialize)]
struct RetireJson {
    order: u64,
    cycle: u64,
    engine: u8,
    pc: u32,
    /// The instruction as the disassembler writes it.
    insn: String,
    /// The register written and its value.
    #[serde(skip_serializing_if = "Option::is_none")]
    reg: Option<RegJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mem: Option<MemJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fault: Option<String>,
}

#[derive(serde::Serialize)]
struct RegJson {
    reg: u8,
    value: u64,
}

#[derive(serde::Serialize)]
struct MemJson {
    addr: u64,
    width: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    read: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    write: Option<u64>,
}

/// The last object of `--json`, in `nfbpf run --json`'s words.
#[derive(serde::Serialize)]
struct SummaryJson {
    summary: bool,
    r0: Option<u64>,
    instructions: usize,
    cycles: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    fault: Option<String>,
}

fn finish_json(retires: &Collect, rep: pipeline::RunReport) -> anyhow::Result<ExitCode> {
    for r in &retires.0 {
        let slots = [r.insn, r.insn_hi.unwrap_or_default()];
        let j = RetireJson {
            order: r.order,
            cycle: r.cycle,
            engine: r.engine,
            pc: r.pc,
            insn: nfbpf_vm::disasm::disasm_one(&slots),
            reg: r.reg.map(|(reg, value)| RegJson { reg, value }),
            mem: r.mem.map(|m| MemJson {
                addr: m.addr,
                width: m.width,
                read: m.read,
                write: m.write,
            }),
            fault: r.fault.clone(),
        };
        println!("{}", serde_json::to_string(&j)?);
    }
    let s = SummaryJson {
        summary: true,
        r0: rep.result.as_ref().ok().map(|o| o.r0),
        instructions: retires.0.len(),
        cycles: rep.cycles,
        fault: rep.result.as_ref().err().map(ToString::to_string),
    };
    println!("{}", serde_json::to_string(&s)?);
    Ok(if rep.result.is_ok() {
        ExitCode::SUCCESS
    } else {
        super::exit::Code::No.exit()
    })
}

/// A packet's result and its cycles.
type Last = (
    Result<nfbpf_vm::interp::Outcome, nfbpf_vm::interp::Fault>,
    u64,
);

/// Queue the packets of `pcap` into one engine's FIFO_MD (as many as fit,
/// the next whenever a verdict frees a slot) and run until every packet has
/// its verdict. Prints one line per verdict; returns the engine's stats and
/// the last packet's result with its cycles.
fn run_pcap(
    prog: &Program,
    pcap: &std::path::Path,
    cfg: &pipeline::Config,
    retires: &mut Collect,
    cycles: &mut CollectCycles,
) -> anyhow::Result<(pipeline::Stats, Last)> {
    let packets = super::nf::read_packets(pcap)?;
    anyhow::ensure!(!packets.is_empty(), "{}: no packets", pcap.display());
    let mut imem = pipeline::InstrMem::with_program(std::sync::Arc::new(prog.clone()));
    let mut e = pipeline::Engine::new(cfg.clone());
    let (mut mem, _) = conformance_memory(&[]);
    let mut helpers = Helpers::conformance();
    let (mut next, mut done) = (0usize, 0usize);
    let mut last = None;
    while done < packets.len() {
        while next < packets.len() {
            let d = &packets[next].data;
            let args = [contract::PKT_BASE, d.len() as u64, 0, 0, 0];
            if e.push_packet(d, args).is_err() {
                break;
            }
            next += 1;
        }
        if let Some(v) = e.step(&mut imem, &mut mem, &mut helpers, retires, cycles) {
            match &v.result {
                Ok(o) => println!(
                    "packet {done}: r0 = {:#x}, cycles {}..{} ({})",
                    o.r0,
                    v.start,
                    v.end,
                    v.cycles()
                ),
                Err(f) => println!("packet {done}: {f}, cycles {}..{}", v.start, v.end),
            }
            last = Some((v.result.clone(), v.cycles()));
            done += 1;
        }
    }
    let last = last.ok_or_else(|| anyhow::anyhow!("no verdict"))?;
    Ok((e.stats().clone(), last))
}
