//! `nfbpf report [--out DIR] [--engines N] [--quick]`: the evaluation of
//! the data plane model under line-rate load (`nfbpf_sim::sysrun`), written
//! as plots (SVG and PNG), `summary.md` and `summary.json`, with the summary
//! table on stdout.
//!
//! What it runs, all on the device model programmed through its register
//! interface (`nfbpf_loader::device::program`), with built-in traffic
//! (`nfbpf_sim::traffic`, 10 Gb/s per port, preamble and gap counted):
//!
//! - the four published functions (Wire, L2 switch, router, DDoS; the
//!   `programs/*_sume.c` functions with map entries that make them work) at
//!   frame sizes 64..1500 B on all four ports, with `--engines` engines:
//!   throughput, loss, latency, CPI, stall clocks by cause;
//! - engine scaling: each function at 64 B with 1..16 engines, and the
//!   smallest engine count that sustains line rate on 4 x 10 Gb/s;
//! - the serverless switch: P1 (`port1_sume`) forwards to port 1, at the
//!   deadline P2 (`port0_sume`) is programmed and swapped in and forwards to
//!   port 0; output throughput per port over time and the loss;
//! - zero downtime: `wire_sume` reloaded several times under 10 Gb/s of
//!   512-byte frames on every port; the loss;
//! - latency without overload: the four functions at 64 B and 1 Gb/s per
//!   port; and hXDP's baselines (`xdp_drop`, `firewall`, XDP ABI) at 64 B,
//!   with each engine's capacity (200 MHz over busy clocks per packet).
//!
//! Independent runs go to worker threads (one per core).

use super::plot::{Chart, Series, Style, Ticks, write_figure};
use anyhow::{Context, anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};
use nfbpf_loader::image::Image;
use nfbpf_loader::{Options, load_file};
use nfbpf_sim::sysrun::{self, RunStats, Runner, Window};
use nfbpf_sim::traffic::{Proto, Size, Spec};
use nfbpf_vm::contract::CLOCK_HZ;
use nfbpf_vm::device::{Dest, Device, DeviceConfig, MAX_ENGINES, PORTS};
use nfbpf_vm::pipeline::Stall;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(clap::Args)]
pub struct Args {
    /// Directory for the plots, summary.md and summary.json.
    #[arg(long, default_value = "target/report")]
    out: PathBuf,
    /// Engines of the frame-size runs and the scenarios (1..16; engine e
    /// serves port e % 4).
    #[arg(long, default_value_t = 4)]
    engines: usize,
    /// Short windows and fewer points (a few seconds).
    #[arg(long)]
    quick: bool,
    /// Where the functions are: NAME.o (`make programs`) or NAME.c. Default:
    /// target/programs if it holds them, else programs/, else the ones
    /// built into nfbpf.
    #[arg(long)]
    programs: Option<PathBuf>,
    /// Worker threads (default: the machine's cores).
    #[arg(long)]
    jobs: Option<usize>,
}

/// Output port of a route and of the switch's known MAC.
const ROUTE_PORT: u64 = 2;
const MAC_PORT: u64 = 3;

/// Map entries: map name, key bytes, value bytes.
type Rules = Vec<(&'static str, Vec<u8>, Vec<u8>)>;

/// A network function of the evaluation.
struct Function {
    name: &'static str,
    program: &'static str,
    proto: Proto,
    flows: u32,
    rules: fn() -> Rules,
    what: &'static str,
}

fn no_rules() -> Rules {
    Vec::new()
}

const FUNCTIONS: [Function; 4] = [
    Function {
        name: "wire",
        program: "wire_sume",
        proto: Proto::Udp,
        flows: 32,
        rules: no_rules,
        what: "every packet to the neighbouring port (in_port ^ 1)",
    },
    Function {
        name: "l2_switch",
        program: "l2_switch_sume",
        proto: Proto::Udp,
        flows: 32,
        // The generated frames' destination MAC 02:00:00:00:00:01, seeded on
        // port 3; every source MAC is learned (a CAM update per packet), flow
        // 1's source being that same MAC, so the destination follows flow 1.
        rules: || {
            vec![(
                "mac_table",
                0x0200_0000_0001u64.to_le_bytes().to_vec(),
                MAC_PORT.to_le_bytes().to_vec(),
            )]
        },
        what: "learns 32 source MACs (one is the destination's, seeded on port 3), forwards to the destination's learned port, drops what would leave by its input port",
    },
    Function {
        name: "router",
        program: "router_sume",
        proto: Proto::Udp,
        flows: 32,
        // 192.168.0.0/16 (the generated destination 192.168.0.1) via port 2.
        rules: || {
            let mut k = 16u32.to_le_bytes().to_vec();
            k.extend_from_slice(&[192, 168, 0, 0]);
            let v = (0x0200_0000_00aa_u64 << 16) | ROUTE_PORT;
            vec![("routes", k, v.to_le_bytes().to_vec())]
        },
        what: "LPM route 192.168.0.0/16 -> port 2, TTL-1, next-hop MAC",
    },
    Function {
        name: "ddos",
        program: "ddos_sume",
        proto: Proto::Mix,
        flows: 32,
        // TCP to port 80 is blocked: a third of the mixed traffic.
        rules: || vec![("blocked", 80u16.to_le_bytes().to_vec(), vec![1])],
        what: "UDP/TCP/ICMP mix, TCP to port 80 blocked, per-source counters",
    },
];

/// The hXDP baselines (XDP ABI), at 64 B with `--engines` engines.
const BASELINES: [Function; 2] = [
    Function {
        name: "xdp_drop",
        program: "xdp_drop",
        proto: Proto::Udp,
        flows: 32,
        rules: no_rules,
        what: "drops everything (hXDP's XDP_DROP)",
    },
    Function {
        name: "firewall",
        program: "firewall",
        proto: Proto::Mix,
        flows: 32,
        // TCP to port 80 blocked; the flow table empty (lookups miss).
        rules: || vec![("blocked_ports", 80u16.to_be_bytes().to_vec(), vec![1])],
        what: "hXDP's simple firewall: blocked destination ports and per-flow verdicts, TCP to port 80 blocked",
    },
];

/// Offered load per port of the light-load latency runs, Gb/s.
const LIGHT_GBPS: f64 = 1.0;

/// Sizes of the frame-size runs.
const SIZES: [usize; 6] = [64, 128, 256, 512, 1024, 1500];
const QUICK_SIZES: [usize; 3] = [64, 512, 1500];
const QUICK_ENGINES: [usize; 4] = [1, 2, 4, 8];

/// How much traffic each kind of run offers.
#[derive(Debug, Clone, Copy)]
struct Scale {
    /// Frames per port: warm-up and measured.
    warmup: u64,
    measure: u64,
    /// Serverless switch and zero-downtime runs, simulated microseconds.
    switch_us: f64,
    reload_us: f64,
    reloads: u32,
}

/// The published switch happens at t = 5 s; here at 5 ms: time scaled
/// down 1000 times.
const FULL: Scale = Scale {
    warmup: 1000,
    measure: 20_000,
    switch_us: 10_000.0,
    reload_us: 10_000.0,
    reloads: 9,
};
const QUICK: Scale = Scale {
    warmup: 50,
    measure: 300,
    switch_us: 100.0,
    reload_us: 100.0,
    reloads: 3,
};

/// One line of summary.json.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    pub function: String,
    pub frame_bytes: usize,
    pub engines: usize,
    pub offered_mpps: f64,
    pub mpps: f64,
    pub gbps: f64,
    pub line_rate_pct: f64,
    pub loss: f64,
    pub latency_p50_ns: Option<f64>,
    pub latency_p99_ns: Option<f64>,
    pub latency_max_ns: Option<f64>,
    pub cpi: f64,
    /// CPI of the core alone: busy clocks less the clocks waiting for
    /// units outside it (helper/map coprocessor, FIFO_MD words) and the
    /// drain after `exit`, over retired instructions.
    pub cpi_core: f64,
    /// One engine's capacity with packets always waiting: 200 MHz over the
    /// busy clocks per packet.
    pub engine_capacity_mpps: f64,
    pub offered: u64,
    pub accepted: u64,
    pub fifo_drops: u64,
    pub forwarded: u64,
    /// Of those, sent to the host (XDP_PASS, SUME CONTROLLER).
    pub to_host: u64,
    pub verdict_drops: u64,
    pub faults: u64,
    pub retired: u64,
    pub busy_clocks: u64,
    pub stall_clocks: BTreeMap<&'static str, u64>,
    /// Per input port: offered, accepted, FIFO_MD drops; tx per output port.
    pub ports: Vec<PortRecord>,
    pub window_us: f64,
    /// Clocks simulated (warm-up, window and drain) and the host seconds
    /// they took.
    pub clocks: u64,
    pub host_s: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PortRecord {
    pub port: usize,
    pub offered: u64,
    pub accepted: u64,
    pub fifo_drops: u64,
    pub tx: u64,
}

fn record(function: &str, frame_bytes: usize, st: &RunStats) -> Record {
    let outside = st.stall(Stall::Drain) + st.stall(Stall::Helper) + st.stall(Stall::FifoWait);
    Record {
        function: function.to_string(),
        frame_bytes,
        engines: st.engines,
        offered_mpps: st.offered_mpps(),
        mpps: st.mpps(),
        gbps: st.gbps(),
        line_rate_pct: st.line_rate_pct(),
        loss: st.loss(),
        latency_p50_ns: st.latency_ns(0.5),
        latency_p99_ns: st.latency_ns(0.99),
        latency_max_ns: st.latency_ns(1.0),
        cpi: st.cpi(),
        cpi_core: if st.retired == 0 {
            0.0
        } else {
            st.busy_clocks.saturating_sub(outside) as f64 / st.retired as f64
        },
        engine_capacity_mpps: st.engine_capacity_mpps(),
        offered: st.offered,
        accepted: st.accepted,
        fifo_drops: st.dropped,
        forwarded: st.forwarded,
        to_host: st.to_host,
        verdict_drops: st.verdict_drops,
        faults: st.faults,
        retired: st.retired,
        busy_clocks: st.busy_clocks,
        stall_clocks: Stall::ALL
            .iter()
            .filter(|&&s| !matches!(s, Stall::None | Stall::Idle))
            .map(|&s| (s.name(), st.stall(s)))
            .collect(),
        ports: (0..PORTS)
            .map(|p| PortRecord {
                port: p,
                offered: st.ports[p].offered,
                accepted: st.ports[p].accepted,
                fifo_drops: st.ports[p].dropped,
                tx: st.ports[p].tx,
            })
            .collect(),
        window_us: st.window_clocks as f64 * 1e6 / CLOCK_HZ as f64,
        clocks: st.clocks,
        host_s: 0.0,
    }
}

/// The loaded functions, by program name.
struct Programs {
    images: BTreeMap<&'static str, Image>,
}

impl Programs {
    fn load(dir: Option<&Path>) -> anyhow::Result<Self> {
        let mut names: Vec<&'static str> = FUNCTIONS
            .iter()
            .chain(&BASELINES)
            .map(|f| f.program)
            .collect();
        names.extend(["port0_sume", "port1_sume"]);
        let dirs: Vec<PathBuf> = match dir {
            Some(d) => vec![d.to_path_buf()],
            None => vec![PathBuf::from("target/programs"), PathBuf::from("programs")],
        };
        let mut images = BTreeMap::new();
        for n in names {
            let path = dirs
                .iter()
                .flat_map(|d| [d.join(format!("{n}.o")), d.join(format!("{n}.c"))])
                .find(|p| p.is_file())
                // Without --programs, the one built into nfbpf: the report
                // runs from any directory.
                .or_else(|| dir.is_none().then(|| PathBuf::from(format!("builtin:{n}"))))
                .ok_or_else(|| {
                    anyhow!(
                        "program `{n}`: no {n}.o or {n}.c in {} (run `make programs`, or pass --programs DIR)",
                        dirs.iter()
                            .map(|d| d.display().to_string())
                            .collect::<Vec<_>>()
                            .join(" or ")
                    )
                })?;
            let img = load_file(&path, &Options::default())
                .map_err(|e| anyhow!("{}: {e}", path.display()))?;
            images.insert(n, img);
        }
        Ok(Programs { images })
    }

    fn get(&self, name: &str) -> anyhow::Result<&Image> {
        self.images
            .get(name)
            .ok_or_else(|| anyhow!("program `{name}` is not loaded"))
    }
}

/// A device with `engines` engines running `f`'s program and its map
/// entries, all written through the register interface.
fn device_for(progs: &Programs, f: &Function, engines: usize) -> anyhow::Result<Device> {
    let img = progs.get(f.program)?;
    let mut dev = Device::new(DeviceConfig {
        engines,
        ..DeviceConfig::default()
    })?;
    nfbpf_loader::device::program(&mut dev, img).map_err(|e| anyhow!("{}: {e}", f.program))?;
    for (map, k, v) in (f.rules)() {
        let (index, def) = img
            .map(map)
            .ok_or_else(|| anyhow!("{}: no map `{map}`", f.program))?;
        nfbpf_loader::device::update_entry(&mut dev, index, def.map_type, &k, &v)
            .map_err(|e| anyhow!("{}: map `{map}`: {e}", f.program))?;
    }
    Ok(dev)
}

fn spec(f: &Function, bytes: usize, ports: Vec<u32>, gbps: f64) -> Spec {
    Spec {
        size: Size::Fixed(bytes),
        proto: f.proto,
        flows: f.flows,
        gbps,
        ports,
        seed: 7,
    }
}

/// One line-rate run: `f` on all four ports at `bytes`.
fn line_rate_run(
    progs: &Programs,
    f: &Function,
    bytes: usize,
    engines: usize,
    scale: Scale,
) -> anyhow::Result<Record> {
    load_run(progs, f, bytes, engines, scale, sysrun::PORT_GBPS)
}

/// `f` at 64 B, `LIGHT_GBPS` per port (a quarter of the frames: they are
/// ten times further apart).
fn light_run(
    progs: &Programs,
    f: &Function,
    engines: usize,
    scale: Scale,
) -> anyhow::Result<Record> {
    let scale = Scale {
        warmup: scale.warmup / 4,
        measure: scale.measure / 4,
        ..scale
    };
    load_run(progs, f, 64, engines, scale, LIGHT_GBPS)
}

/// `f` on all four ports at `bytes` and `gbps` per port.
fn load_run(
    progs: &Programs,
    f: &Function,
    bytes: usize,
    engines: usize,
    scale: Scale,
    gbps: f64,
) -> anyhow::Result<Record> {
    let mut dev = device_for(progs, f, engines)?;
    let all: Vec<u32> = (0..PORTS as u32).collect();
    let t0 = std::time::Instant::now();
    let st = sysrun::run(
        &mut dev,
        spec(f, bytes, all, gbps),
        Window::frames(bytes, gbps, scale.warmup, scale.measure),
    )?;
    let host_s = t0.elapsed().as_secs_f64();
    if st.stuck > 0 {
        bail!(
            "{} at {bytes} B, {engines} engines: {} packets still inside after the drain",
            f.name,
            st.stuck
        );
    }
    let mut r = record(f.name, bytes, &st);
    r.host_s = host_s;
    Ok(r)
}

/// Program `img` under traffic: the device refuses the write while its idle
/// bank still runs packets of the program before; the clock goes on.
fn reprogram(r: &mut Runner<'_>, img: &Image) -> anyhow::Result<()> {
    for _ in 0..100_000 {
        match nfbpf_loader::device::program(r.device(), img) {
            Ok(_) => return Ok(()),
            Err(e) if e.to_string().contains("retry") => r.step(),
            Err(e) => return Err(anyhow!("reprogramming: {e}")),
        }
    }
    bail!("reprogramming: the idle bank stayed busy for 100,000 clocks")
}

/// Result of a timeline scenario.
#[derive(Debug, Clone, Serialize)]
struct Scenario {
    name: &'static str,
    what: String,
    engines: usize,
    simulated_us: f64,
    offered: u64,
    accepted: u64,
    fifo_drops: u64,
    forwarded: u64,
    /// Packets out of each port.
    tx: [u64; PORTS],
    /// Clocks of the reprogramming events.
    events_us: Vec<f64>,
    /// Output Gb/s per port in bins of `bin_us`.
    bin_us: f64,
    series: [Vec<f64>; PORTS],
    /// Serverless switch: from the last packet out of port 1 (P1) to the
    /// first out of port 0 (P2).
    switch_gap_us: Option<f64>,
    /// Serverless switch: every packet out around the switch, at the
    /// resolution of a clock (the bins above are far wider than the gap).
    zoom: Option<Zoom>,
    lossless: bool,
}

/// The packets out in a short window of a scenario.
#[derive(Debug, Clone, Serialize)]
struct Zoom {
    from_us: f64,
    to_us: f64,
    /// (microseconds, output port) of each packet out to a port.
    departures: Vec<(f64, u32)>,
}

/// Simulated microseconds of `clocks`.
fn us_of(clocks: u64) -> f64 {
    clocks as f64 * 1e6 / CLOCK_HZ as f64
}

/// How far the zoom reaches on each side of the switch: about eight
/// 64-byte frames at 10 Gb/s.
const ZOOM_MARGIN_US: f64 = 0.5;

const BINS: usize = 50;

fn scenario_stats(
    name: &'static str,
    what: String,
    st: &RunStats,
    total_clocks: u64,
    events: &[u64],
) -> Scenario {
    let bin = (total_clocks / BINS as u64).max(1);
    let mut tx = [0u64; PORTS];
    for d in &st.timeline {
        if let Dest::Port(q) = d.dest
            && (q as usize) < PORTS
        {
            tx[q as usize] += 1;
        }
    }
    let us = |c: u64| c as f64 * 1e6 / CLOCK_HZ as f64;
    Scenario {
        name,
        what,
        engines: st.engines,
        simulated_us: us(total_clocks),
        offered: st.offered,
        accepted: st.accepted,
        fifo_drops: st.dropped,
        forwarded: st.timeline.len() as u64,
        tx,
        events_us: events.iter().map(|&c| us(c)).collect(),
        bin_us: us(bin),
        series: sysrun::throughput_series(&st.timeline, bin, BINS),
        switch_gap_us: None,
        zoom: None,
        lossless: st.dropped == 0
            && st.timeline.len() as u64 == st.accepted
            && st.faults == 0
            && st.stuck == 0,
    }
}

/// Ports with at least one engine (engine e serves port e % 4).
fn served(engines: usize) -> Vec<u32> {
    (0..PORTS.min(engines) as u32).collect()
}

/// (a) P1 to port 1, at the deadline P2 to port 0; 10 Gb/s of 64-byte frames
/// in all on ports 2 and 3.
fn serverless_switch(progs: &Programs, engines: usize, scale: Scale) -> anyhow::Result<Scenario> {
    let (p1, p2) = (progs.get("port1_sume")?, progs.get("port0_sume")?);
    let mut dev = Device::new(DeviceConfig {
        engines,
        ..DeviceConfig::default()
    })?;
    nfbpf_loader::device::program(&mut dev, p1).map_err(|e| anyhow!("port1_sume: {e}"))?;
    // Ports 2 and 3 (with fewer than 4 engines: the highest ports that
    // have an engine), 10 Gb/s in all.
    let inputs: Vec<u32> = served(engines).into_iter().rev().take(2).collect();
    let gbps = sysrun::PORT_GBPS / inputs.len() as f64;
    let inputs_text = format!(
        "port{} {}",
        if inputs.len() > 1 { "s" } else { "" },
        inputs
            .iter()
            .rev()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(" and ")
    );
    let s = spec(&FUNCTIONS[0], 64, inputs, gbps);
    let window = Window {
        warmup_ns: 0.0,
        measure_ns: scale.switch_us * 1e3,
    };
    let mut r = Runner::new(&mut dev, s, window)?.with_timeline();
    let total = r.end();
    let deadline = total / 2;
    r.run_until(deadline);
    reprogram(&mut r, p2)?;
    let st = r.finish(1_000_000);
    let last_p1 = st
        .timeline
        .iter()
        .filter(|d| d.dest == Dest::Port(1))
        .map(|d| d.done)
        .max();
    let first_p2 = st
        .timeline
        .iter()
        .filter(|d| d.dest == Dest::Port(0))
        .map(|d| d.done)
        .min();
    let mut sc = scenario_stats(
        "serverless_switch",
        format!(
            "P1 (to port 1) until the deadline at {:.0} us, then P2 (to port 0) programmed through the registers and swapped in; {gbps} Gb/s of 64 B frames on {inputs_text}",
            deadline as f64 * 1e6 / CLOCK_HZ as f64
        ),
        &st,
        total,
        &[deadline],
    );
    sc.switch_gap_us = match (last_p1, first_p2) {
        (Some(a), Some(b)) => Some((b as f64 - a as f64) * 1e6 / CLOCK_HZ as f64),
        _ => None,
    };
    if let (Some(a), Some(b)) = (last_p1, first_p2) {
        let from_us = us_of(a.min(b).min(deadline)) - ZOOM_MARGIN_US;
        let to_us = us_of(a.max(b)) + ZOOM_MARGIN_US;
        sc.zoom = Some(Zoom {
            from_us,
            to_us,
            departures: st
                .timeline
                .iter()
                .filter_map(|d| match d.dest {
                    Dest::Port(q) => Some((us_of(d.done), q)),
                    _ => None,
                })
                .filter(|&(t, _)| t >= from_us && t <= to_us)
                .collect(),
        });
    }
    Ok(sc)
}

/// (b) `wire_sume` reloaded `reloads` times under 10 Gb/s of 512 B frames
/// on every port.
fn zero_downtime(progs: &Programs, engines: usize, scale: Scale) -> anyhow::Result<Scenario> {
    let f = &FUNCTIONS[0];
    let img = progs.get(f.program)?;
    let mut dev = device_for(progs, f, engines)?;
    let window = Window {
        warmup_ns: 0.0,
        measure_ns: scale.reload_us * 1e3,
    };
    let mut r = Runner::new(
        &mut dev,
        spec(f, 512, served(engines), sysrun::PORT_GBPS),
        window,
    )?
    .with_timeline();
    let total = r.end();
    let mut events = Vec::new();
    for k in 1..=u64::from(scale.reloads) {
        let at = total * k / (u64::from(scale.reloads) + 1);
        r.run_until(at);
        events.push(r.clock());
        reprogram(&mut r, img)?;
    }
    let st = r.finish(1_000_000);
    Ok(scenario_stats(
        "zero_downtime",
        format!(
            "wire_sume reloaded {} times through the registers under 10 Gb/s of 512 B frames on each port with an engine ({})",
            scale.reloads,
            match served(engines).len() {
                PORTS => "all 4".to_string(),
                n => format!("{n} of 4"),
            }
        ),
        &st,
        total,
        &events,
    ))
}

/// Work for the worker threads.
enum Job {
    LineRate {
        f: usize,
        bytes: usize,
        engines: usize,
    },
    Baseline {
        f: usize,
        engines: usize,
    },
    /// 64 B at `LIGHT_GBPS` per port: latency without queueing.
    Light {
        f: usize,
        engines: usize,
    },
    Switch,
    Reload,
}

enum Done {
    Rec(Record),
    Light(Record),
    Scen(Scenario),
}

fn run_jobs(
    progs: &Programs,
    jobs: &[Job],
    engines: usize,
    scale: Scale,
    threads: usize,
) -> anyhow::Result<Vec<Done>> {
    let bar = ProgressBar::new(jobs.len() as u64);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} runs {msg}",
    ) {
        bar.set_style(style);
    }
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<anyhow::Result<Done>>>> =
        Mutex::new((0..jobs.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(i) else { break };
                    let r = match *job {
                        Job::LineRate { f, bytes, engines } => {
                            line_rate_run(progs, &FUNCTIONS[f], bytes, engines, scale)
                                .map(Done::Rec)
                        }
                        Job::Baseline { f, engines } => {
                            line_rate_run(progs, &BASELINES[f], 64, engines, scale).map(Done::Rec)
                        }
                        Job::Light { f, engines } => {
                            light_run(progs, &FUNCTIONS[f], engines, scale).map(Done::Light)
                        }
                        Job::Switch => serverless_switch(progs, engines, scale).map(Done::Scen),
                        Job::Reload => zero_downtime(progs, engines, scale).map(Done::Scen),
                    };
                    if let Ok(mut v) = results.lock() {
                        v[i] = Some(r);
                    }
                    bar.inc(1);
                }
            });
        }
    });
    bar.finish_and_clear();
    let v = results
        .into_inner()
        .map_err(|_| anyhow!("a worker thread panicked"))?;
    v.into_iter()
        .map(|r| r.unwrap_or_else(|| Err(anyhow!("a run did not finish"))))
        .collect()
}

fn opt_ns(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{v:.0}"))
}

fn table(recs: &[&Record]) -> String {
    let mut s = String::from(
        "| function | frame B | engines | offered Mpps | Mpps | Gb/s | % line rate | loss | p50 ns | p99 ns | max ns | CPI |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in recs {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.1} | {:.2}% | {} | {} | {} | {:.2} |",
            r.function,
            r.frame_bytes,
            r.engines,
            r.offered_mpps,
            r.mpps,
            r.gbps,
            r.line_rate_pct,
            100.0 * r.loss,
            opt_ns(r.latency_p50_ns),
            opt_ns(r.latency_p99_ns),
            opt_ns(r.latency_max_ns),
            r.cpi
        );
    }
    s
}

/// Full line rate: no loss and (within rounding of the window) all offered
/// packets served.
fn at_line_rate(r: &Record) -> bool {
    r.loss == 0.0 && r.line_rate_pct > 99.5
}

#[derive(Serialize)]
struct Summary<'a> {
    clock_mhz: f64,
    quick: bool,
    engines: usize,
    frames_per_port_measured: u64,
    frames_per_port_warmup: u64,
    records: &'a [Record],
    /// 64 B at 1 Gb/s per port: latency without queueing.
    light_load: &'a [Record],
    scaling: Vec<ScalingRow>,
    scenarios: &'a [Scenario],
    elapsed_s: f64,
}

#[derive(Serialize)]
struct ScalingRow {
    function: String,
    /// Smallest engine count with 64-byte line rate on 4 x 10 Gb/s.
    min_engines_line_rate: Option<usize>,
    p99_ns_at_that_count: Option<f64>,
    /// Without line rate: the best throughput's engine count and its p99
    /// (under overload: the FIFO_MDs are full).
    best_engines: Option<usize>,
    best_line_rate_pct: Option<f64>,
    p99_ns_at_best: Option<f64>,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    if a.engines == 0 || a.engines > MAX_ENGINES {
        bail!(
            "--engines {}: a data plane has 1..={MAX_ENGINES}",
            a.engines
        );
    }
    let t0 = std::time::Instant::now();
    let scale = if a.quick { QUICK } else { FULL };
    let progs = Programs::load(a.programs.as_deref())?;
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("cannot create {}", a.out.display()))?;
    let sizes: &[usize] = if a.quick { &QUICK_SIZES } else { &SIZES };
    let counts: Vec<usize> = if a.quick {
        QUICK_ENGINES.to_vec()
    } else {
        (1..=MAX_ENGINES).collect()
    };
    // The slow ones first so the two threads finish together.
    let mut jobs = vec![Job::Switch, Job::Reload];
    for (f, _) in FUNCTIONS.iter().enumerate() {
        for &e in counts.iter().rev() {
            jobs.push(Job::LineRate {
                f,
                bytes: 64,
                engines: e,
            });
        }
        for &bytes in sizes.iter().rev() {
            if bytes != 64 || !counts.contains(&a.engines) {
                jobs.push(Job::LineRate {
                    f,
                    bytes,
                    engines: a.engines,
                });
            }
        }
    }
    for f in 0..FUNCTIONS.len() {
        jobs.push(Job::Light {
            f,
            engines: a.engines,
        });
    }
    for f in 0..BASELINES.len() {
        jobs.push(Job::Baseline {
            f,
            engines: a.engines,
        });
    }
    let threads = a.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let done = run_jobs(&progs, &jobs, a.engines, scale, threads)?;
    let mut records = Vec::new();
    let mut scenarios = Vec::new();
    let mut light = Vec::new();
    for d in done {
        match d {
            Done::Rec(r) => records.push(r),
            Done::Light(r) => light.push(r),
            Done::Scen(s) => scenarios.push(s),
        }
    }
    records.sort_by(|x, y| {
        let fi = |r: &Record| {
            FUNCTIONS
                .iter()
                .chain(&BASELINES)
                .position(|f| f.name == r.function)
        };
        (fi(x), x.frame_bytes, x.engines).cmp(&(fi(y), y.frame_bytes, y.engines))
    });
    let elapsed = t0.elapsed().as_secs_f64();
    let rows: Vec<ScalingRow> = FUNCTIONS
        .iter()
        .map(|f| {
            let hit = records
                .iter()
                .filter(|r| r.function == f.name && r.frame_bytes == 64)
                .filter(|r| at_line_rate(r))
                .min_by_key(|r| r.engines);
            // The fewest engines within 0.5 % of the best throughput.
            let at64 = || {
                records
                    .iter()
                    .filter(|r| r.function == f.name && r.frame_bytes == 64)
            };
            let top = at64().map(|r| r.line_rate_pct).fold(0.0, f64::max);
            let best = at64()
                .filter(|r| r.line_rate_pct >= top - 0.5)
                .min_by_key(|r| r.engines);
            ScalingRow {
                function: f.name.to_string(),
                min_engines_line_rate: hit.map(|r| r.engines),
                p99_ns_at_that_count: hit.and_then(|r| r.latency_p99_ns),
                best_engines: best.map(|r| r.engines),
                best_line_rate_pct: best.map(|r| r.line_rate_pct),
                p99_ns_at_best: best.and_then(|r| r.latency_p99_ns),
            }
        })
        .collect();
    write_plots(&a.out, &records, &scenarios, a.engines)?;
    light.sort_by_key(|r| FUNCTIONS.iter().position(|f| f.name == r.function));
    let md = summary_md(
        &records, &light, &rows, &scenarios, a.engines, scale, a.quick, elapsed,
    );
    std::fs::write(a.out.join("summary.md"), &md)
        .with_context(|| format!("cannot write {}/summary.md", a.out.display()))?;
    let json = serde_json::to_string_pretty(&Summary {
        clock_mhz: CLOCK_HZ as f64 / 1e6,
        quick: a.quick,
        engines: a.engines,
        frames_per_port_measured: scale.measure,
        frames_per_port_warmup: scale.warmup,
        records: &records,
        light_load: &light,
        scaling: rows,
        scenarios: &scenarios,
        elapsed_s: elapsed,
    })?;
    std::fs::write(a.out.join("summary.json"), json)
        .with_context(|| format!("cannot write {}/summary.json", a.out.display()))?;
    print!("{md}");
    println!(
        "\nnfbpf report: {} runs in {elapsed:.1} s; plots, summary.md and summary.json in {}",
        jobs.len(),
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::too_many_arguments)] // the report's parts, each used once
fn summary_md(
    records: &[Record],
    light: &[Record],
    rows: &[ScalingRow],
    scenarios: &[Scenario],
    engines: usize,
    scale: Scale,
    quick: bool,
    elapsed: f64,
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# nfbpf report{}\n\nDevice model at {} MHz, 10 Gb/s per port (preamble and gap counted), {} warm-up and {} measured frames per port per run. Latency: first word in to last 256-bit word out. CPI: busy clocks over retired instructions.\n",
        if quick { " (--quick)" } else { "" },
        CLOCK_HZ / 1_000_000,
        scale.warmup,
        scale.measure
    );
    s.push_str("Functions (programs/*_sume.c, map entries written through the registers):\n\n");
    for f in FUNCTIONS.iter().chain(&BASELINES) {
        let _ = writeln!(s, "- {} (`{}`): {}", f.name, f.program, f.what);
    }
    let _ = writeln!(
        s,
        "\n## Throughput and latency against frame size ({engines} engines, all 4 ports)\n"
    );
    let sweep: Vec<&Record> = records.iter().filter(|r| r.engines == engines).collect();
    s.push_str(&table(&sweep));
    let _ = writeln!(
        s,
        "\nPer port at 64 B ({engines} engines): frames offered / lost at FIFO_MD on each input port, packets sent out of each port and to the host.\n\n| function | in 0 | in 1 | in 2 | in 3 | out 0 | out 1 | out 2 | out 3 | host |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for r in sweep.iter().filter(|r| r.frame_bytes == 64) {
        let _ = write!(s, "| {} |", r.function);
        for p in &r.ports {
            let _ = write!(s, " {} / {} |", p.offered, p.fifo_drops);
        }
        for p in &r.ports {
            let _ = write!(s, " {} |", p.tx);
        }
        let _ = writeln!(s, " {} |", r.to_host);
    }
    let _ = writeln!(s, "\n## Engine scaling at 64 B on 4 x 10 Gb/s\n");
    let counts: Vec<usize> = {
        let mut c: Vec<usize> = records
            .iter()
            .filter(|r| r.frame_bytes == 64)
            .map(|r| r.engines)
            .collect();
        c.sort_unstable();
        c.dedup();
        c
    };
    let _ = write!(s, "| function |");
    for c in &counts {
        let _ = write!(s, " {c} |");
    }
    let _ = write!(s, " line rate from |\n|---|");
    for _ in &counts {
        s.push_str("---:|");
    }
    s.push_str("---:|\n");
    for (f, row) in FUNCTIONS.iter().zip(rows) {
        let _ = write!(s, "| {} |", f.name);
        for c in &counts {
            let r = records
                .iter()
                .find(|r| r.function == f.name && r.frame_bytes == 64 && r.engines == *c);
            let _ = write!(
                s,
                " {} |",
                r.map_or("-".into(), |r| format!("{:.1}%", r.line_rate_pct))
            );
        }
        let _ = writeln!(
            s,
            " {} |",
            row.min_engines_line_rate
                .map_or("not reached".into(), |e| format!("{e} engines"))
        );
    }
    let _ = writeln!(
        s,
        "\n(percent of 4 x 14.88 Mpps served; engine e serves port e % 4, so with fewer than 4 engines some ports have no engine and lose all their frames.)\n\n## Scenarios\n"
    );
    for sc in scenarios {
        let _ = writeln!(
            s,
            "- **{}**: {}. {:.0} us simulated, {} frames offered, {} FIFO_MD drops, {} out (ports 0..3: {}){}: **{}**.",
            sc.name,
            sc.what,
            sc.simulated_us,
            sc.offered,
            sc.fifo_drops,
            sc.forwarded,
            sc.tx
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(" / "),
            sc.switch_gap_us
                .map(|g| format!(", last P1 packet to first P2 packet {g:.3} us"))
                .unwrap_or_default(),
            if sc.lossless { "no loss" } else { "LOSS" }
        );
    }
    let _ = writeln!(
        s,
        "\n## Latency at light load (64 B, {LIGHT_GBPS} Gb/s per port, {engines} engines)\n"
    );
    s.push_str(&table(&light.iter().collect::<Vec<_>>()));
    let _ = writeln!(
        s,
        "\n## Engine capacity (64 B, {engines} engines)\n\nPackets one engine serves per second when packets always wait: 200 MHz over its busy clocks per packet (helper and arbiter waits included).\n\n| function | busy clocks/packet | Mpps per engine | CPI | core CPI |\n|---|---:|---:|---:|---:|"
    );
    for r in records
        .iter()
        .filter(|r| r.frame_bytes == 64 && r.engines == engines)
    {
        let _ = writeln!(
            s,
            "| {} | {:.1} | {:.2} | {:.2} | {:.2} |",
            r.function,
            CLOCK_HZ as f64 / 1e6 / r.engine_capacity_mpps.max(1e-9),
            r.engine_capacity_mpps,
            r.cpi,
            r.cpi_core
        );
    }
    let _ = writeln!(s, "\n## Targets\n");
    let all_lr = rows.iter().all(|r| r.min_engines_line_rate.is_some());
    let _ = writeln!(
        s,
        "- Line rate at 64 B on all four ports for all four functions: **{}** ({}).",
        if all_lr { "met" } else { "not met" },
        rows.iter()
            .map(|r| match r.min_engines_line_rate {
                Some(e) => format!("{} from {e} engines", r.function),
                None => format!(
                    "{} not reached: at most {:.1}% from {} engines",
                    r.function,
                    r.best_line_rate_pct.unwrap_or(0.0),
                    r.best_engines.unwrap_or(0)
                ),
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    let p99_ok = rows
        .iter()
        .all(|r| r.p99_ns_at_that_count.is_some_and(|p| p < 1000.0));
    let _ = writeln!(
        s,
        "- p99 latency under 1 us at 200 MHz at 64 B (at the line-rate engine count): **{}** ({}).",
        if p99_ok { "met" } else { "not met" },
        rows.iter()
            .map(|r| match r.min_engines_line_rate {
                Some(_) => format!("{} {} ns", r.function, opt_ns(r.p99_ns_at_that_count)),
                None => format!(
                    "{} no line-rate count; {} ns at {} engines, overloaded",
                    r.function,
                    opt_ns(r.p99_ns_at_best),
                    r.best_engines.unwrap_or(0)
                ),
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    let light_ok = !light.is_empty()
        && light
            .iter()
            .all(|r| r.latency_p99_ns.is_some_and(|p| p < 1000.0));
    let _ = writeln!(
        s,
        "- The same at light load ({LIGHT_GBPS} Gb/s per port, a tenth of line rate, 64 B, {engines} engines): **{}** ({}).",
        if light_ok {
            "under 1 us"
        } else {
            "not under 1 us"
        },
        light
            .iter()
            .map(|r| format!("{} {} ns", r.function, opt_ns(r.latency_p99_ns)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let common: Vec<&Record> = records
        .iter()
        .filter(|r| r.frame_bytes == 64 && r.engines == engines)
        .filter(|r| FUNCTIONS.iter().any(|f| f.name == r.function))
        .collect();
    let cpi_ok = common.iter().all(|r| r.cpi < 1.2);
    let _ = writeln!(
        s,
        "- CPI under 1.2 on each function's common path (64 B, {engines} engines): **{}** ({}).",
        if cpi_ok { "met" } else { "not met" },
        common
            .iter()
            .map(|r| format!("{} {:.2} (core alone {:.2})", r.function, r.cpi, r.cpi_core))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let (clocks, secs) = records
        .iter()
        .filter(|r| r.engines == engines)
        .fold((0u64, 0.0f64), |(c, t), r| (c + r.clocks, t + r.host_s));
    let speed = if secs > 0.0 {
        format!(
            "{:.2} M device clocks per host second ({clocks} clocks in {secs:.2} s, one thread each)",
            clocks as f64 / secs / 1e6
        )
    } else {
        "no timed run".to_string()
    };
    let _ = writeln!(
        s,
        "- Model at least 5x faster than the Verilated RTL: `nfbpf bench device` runs both devices on the same traffic in one run. The model's side: {} at {engines} engines over this report's runs.\n\n({elapsed:.1} s of host time; scenario time scaled down 1000x from the published seconds: the switch deadline at 5 ms instead of 5 s in the full run.)",
        speed
    );
    s
}

fn write_plots(
    dir: &Path,
    records: &[Record],
    scenarios: &[Scenario],
    engines: usize,
) -> anyhow::Result<()> {
    let by_fn = |pick: &dyn Fn(&Record) -> Option<(f64, f64)>, filt: &dyn Fn(&Record) -> bool| {
        FUNCTIONS
            .iter()
            .map(|f| Series {
                name: f.name.to_string(),
                points: records
                    .iter()
                    .filter(|r| r.function == f.name && filt(r))
                    .filter_map(pick)
                    .collect(),
                under: false,
            })
            .collect::<Vec<_>>()
    };
    let sweep = |r: &Record| r.engines == engines;
    // Against frame size: a tick at each measured size.
    let by_size = |title: String, y: &str, series: Vec<Series>| Chart {
        title,
        x: "frame size (bytes)".into(),
        y: y.into(),
        series,
        style: Style::LinesDots,
        x_ticks: Ticks::Measured,
        ..Chart::default()
    };
    by_size(
        format!("Throughput against frame size, {engines} engines, 4 x 10 Gb/s"),
        "% of line rate",
        by_fn(&|r| Some((r.frame_bytes as f64, r.line_rate_pct)), &sweep),
    )
    .write(dir, "throughput_vs_size")?;
    by_size(
        format!("Mpps against frame size, {engines} engines, 4 x 10 Gb/s"),
        "Mpps",
        by_fn(&|r| Some((r.frame_bytes as f64, r.mpps)), &sweep),
    )
    .write(dir, "mpps_vs_size")?;
    let mut lat = by_fn(
        &|r| r.latency_p99_ns.map(|p| (r.frame_bytes as f64, p)),
        &sweep,
    );
    for s in &mut lat {
        s.name = format!("{} p99", s.name);
    }
    by_size(
        format!("Latency p99 against frame size, {engines} engines, line rate offered"),
        "latency p99 (ns)",
        lat,
    )
    .write(dir, "latency_vs_size")?;
    Chart {
        title: "Engine scaling at 64 B, 4 x 10 Gb/s offered".into(),
        x: "engines".into(),
        y: "% of line rate".into(),
        series: by_fn(&|r| Some((r.engines as f64, r.line_rate_pct)), &|r| {
            r.frame_bytes == 64
        }),
        style: Style::LinesDots,
        x_ticks: Ticks::Integer,
        ..Chart::default()
    }
    .write(dir, "engine_scaling")?;
    for sc in scenarios {
        write_figure(dir, sc.name, &scenario_charts(sc))?;
    }
    Ok(())
}

/// Binned values as steps: each bin's value held from its start to its
/// end (a line from bin centre to bin centre would draw a change inside
/// one bin as a ramp across two).
fn step_points(values: &[f64], bin_us: f64) -> Vec<(f64, f64)> {
    values
        .iter()
        .enumerate()
        .flat_map(|(i, &g)| [(i as f64 * bin_us, g), ((i + 1) as f64 * bin_us, g)])
        .collect()
}

/// A scenario's figure: output throughput per port over the whole run;
/// for the serverless switch also every packet out around the switch, at
/// the time scale of the gap the summary reports.
fn scenario_charts(sc: &Scenario) -> Vec<Chart> {
    let mut series = (0..PORTS)
        .filter(|&p| sc.tx[p] > 0)
        .map(|p| Series {
            name: format!("out port {p}"),
            points: step_points(&sc.series[p], sc.bin_us),
            under: false,
        })
        .collect::<Vec<_>>();
    // Several ports: their sum too (equal port lines overlap).
    if series.len() > 1 {
        let sum: Vec<f64> = (0..BINS)
            .map(|i| (0..PORTS).map(|p| sc.series[p][i]).sum())
            .collect();
        series.push(Series {
            name: "all ports".into(),
            points: step_points(&sum, sc.bin_us),
            under: true,
        });
    }
    let switch = sc.name == "serverless_switch";
    let label = if switch { "deadline: P2" } else { "reload" };
    let mut charts = vec![Chart {
        title: format!(
            "{} ({} engines), output in bins of {} us",
            sc.name.replace('_', " "),
            sc.engines,
            (sc.bin_us * 1e3).round() / 1e3
        ),
        x: "time (us, simulated)".into(),
        y: "output Gb/s".into(),
        series,
        marks: sc
            .events_us
            .iter()
            .map(|&t| (t, label.to_string()))
            .collect(),
        ..Chart::default()
    }];
    if let Some(z) = &sc.zoom {
        let ports: Vec<u32> = {
            let mut p: Vec<u32> = z.departures.iter().map(|d| d.1).collect();
            p.sort_unstable();
            p.dedup();
            p
        };
        let top = ports.last().copied().unwrap_or(0);
        let mut marks: Vec<(f64, String)> = sc
            .events_us
            .iter()
            .filter(|&&t| t >= z.from_us && t <= z.to_us)
            .map(|&t| (t, "deadline".to_string()))
            .collect();
        let out_of = |p: u32| z.departures.iter().filter(move |d| d.1 == p).map(|d| d.0);
        let last_p1 = out_of(1).fold(f64::NEG_INFINITY, f64::max);
        let first_p2 = out_of(0).fold(f64::INFINITY, f64::min);
        if last_p1.is_finite() {
            marks.push((last_p1, "last P1".into()));
        }
        if first_p2.is_finite() {
            marks.push((first_p2, "first P2".into()));
        }
        charts.push(Chart {
            title: format!(
                "Around the switch: each packet out; last P1 to first P2 {} us",
                sc.switch_gap_us.map_or("-".into(), |g| format!("{g:.3}"))
            ),
            x: "time (us, simulated)".into(),
            y: "output port".into(),
            series: ports
                .iter()
                .map(|&p| Series {
                    name: format!("out port {p}"),
                    points: out_of(p).map(|t| (t, f64::from(p))).collect(),
                    under: false,
                })
                .collect(),
            marks,
            style: Style::Dots,
            y_ticks: Ticks::Integer,
            x_range: Some((z.from_us, z.to_us)),
            y_range: Some((-0.5, f64::from(top) + 0.95)),
            ..Chart::default()
        });
    }
    charts
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A switch like the report's: P1's packets to port 1 every 67 ns
    /// until 5000 us, P2's to port 0 from 125 ns after P1's last.
    fn switch_scenario() -> Scenario {
        let mut departures = Vec::new();
        let mut t = 4999.0;
        while t <= 5000.05 {
            departures.push((t, 1));
            t += 0.067;
        }
        let last = departures.last().map_or(0.0, |d| d.0);
        let mut t = last + 0.125;
        while t <= 5001.0 {
            departures.push((t, 0));
            t += 0.067;
        }
        let mut series: [Vec<f64>; PORTS] = std::array::from_fn(|_| vec![0.0; BINS]);
        for i in 0..BINS {
            series[if i < BINS / 2 { 1 } else { 0 }][i] = 10.0;
        }
        Scenario {
            name: "serverless_switch",
            what: String::new(),
            engines: 4,
            simulated_us: 10_000.0,
            offered: 0,
            accepted: 0,
            fifo_drops: 0,
            forwarded: 0,
            tx: [100, 100, 0, 0],
            events_us: vec![5000.0],
            bin_us: 200.0,
            series,
            switch_gap_us: Some(0.125),
            zoom: Some(Zoom {
                from_us: 4999.0,
                to_us: 5001.0,
                departures,
            }),
            lossless: true,
        }
    }

    #[test]
    fn switch_figure_shows_the_reported_gap() {
        let sc = switch_scenario();
        let charts = scenario_charts(&sc);
        assert_eq!(charts.len(), 2);
        let zoom = &charts[1];
        let s = |name: &str| {
            zoom.series
                .iter()
                .find(|s| s.name == name)
                .map(|s| s.points.clone())
                .unwrap_or_default()
        };
        let last_p1 = s("out port 1").iter().map(|p| p.0).fold(0.0, f64::max);
        let first_p2 = s("out port 0").iter().map(|p| p.0).fold(f64::MAX, f64::min);
        let gap = first_p2 - last_p1;
        assert!((gap - 0.125).abs() < 1e-9, "gap in the plot {gap}");
        assert!(zoom.title.contains("0.125 us"), "{}", zoom.title);
        // The zoom's x axis is the gap's scale: a couple of microseconds.
        let ((x0, x1), _) = zoom.ranges();
        assert!(x1 - x0 <= 2.0 && x0 <= last_p1 && x1 >= first_p2);
        // Marks at the packets that bound the gap, and the deadline.
        let at: Vec<f64> = zoom.marks.iter().map(|m| m.0).collect();
        assert!(at.contains(&last_p1) && at.contains(&first_p2) && at.contains(&5000.0));
        // The port axis has integer ticks only.
        let (yt, yd) = crate::cmd::plot::ticks(zoom.y_ticks, -0.5, 1.95, &[]);
        assert_eq!((yt, yd), (vec![0.0, 1.0], 0));
    }

    #[test]
    fn overview_switches_at_the_deadline_not_over_a_bin() {
        let sc = switch_scenario();
        let charts = scenario_charts(&sc);
        assert_eq!(charts[0].series[1].name, "out port 1");
        let p1 = &charts[0].series[1].points;
        // Port 1 holds 10 Gb/s up to 5000 us and is 0 from 5000 us: the
        // change is a vertical step at the bin edge, never a ramp.
        for w in p1.windows(2) {
            let ((xa, ya), (xb, yb)) = (w[0], w[1]);
            assert!(ya == yb || xa == xb, "ramp from {xa},{ya} to {xb},{yb}");
        }
        assert!(p1.contains(&(5000.0, 10.0)) && p1.contains(&(5000.0, 0.0)));
        // The sum of the ports stays at 10 Gb/s across the switch.
        let all = &charts[0].series[2];
        assert_eq!(all.name, "all ports");
        assert!(all.points.iter().all(|p| p.1 == 10.0));
    }

    #[test]
    fn step_points_hold_each_bin() {
        assert_eq!(
            step_points(&[1.0, 3.0], 2.5),
            vec![(0.0, 1.0), (2.5, 1.0), (2.5, 3.0), (5.0, 3.0)]
        );
        assert!(step_points(&[], 1.0).is_empty());
    }
}
