//! The evaluation of the data plane model under line-rate load (what
//! `nfbpf report` runs and then plots and summarises): the functions and
//! their traffic, the frame-size, engine-scaling and light-load runs, the
//! serverless-switch and zero-downtime scenarios, and the runner that
//! spreads them over worker threads ([`evaluate`]).
//!
//! Everything runs on the device model programmed through its register
//! interface (`nfbpf_loader::device::program`), with built-in traffic
//! ([`crate::traffic`], 10 Gb/s per port, preamble and gap counted):
//!
//! - the four published functions (Wire, L2 switch, router, DDoS; the
//!   `programs/*_sume.c` functions with map entries that make them work) at
//!   frame sizes 64..1500 B on all four ports, with [`Plan::engines`]
//!   engines: throughput, loss, latency, CPI, stall clocks by cause;
//! - engine scaling: each function at 64 B with 1..16 engines, and the
//!   smallest engine count that sustains line rate on 4 x 10 Gb/s; the same
//!   runs with the published system's map unit, which takes one operation
//!   at a time ([`MapTiming::published`]), beside the pipelined one, and
//!   with the functions loaded with the loader's rewrite (`--optimize`)
//!   when the run itself is not;
//! - the serverless switch: P1 (`port1_sume`) forwards to port 1, at the
//!   deadline P2 (`port0_sume`) is programmed and swapped in and forwards to
//!   port 0; output throughput per port over time and the loss;
//! - zero downtime: `wire_sume` reloaded several times under 10 Gb/s of
//!   512-byte frames on every port; the loss;
//! - latency without overload: the four functions at 64 B and 1 Gb/s per
//!   port; and hXDP's baselines (`xdp_drop`, `firewall`, XDP ABI) at 64 B,
//!   with each engine's capacity (200 MHz over busy clocks per packet);
//! - the output queues throttled: the four functions at
//!   [`THROTTLE_BYTES`] on all four ports at line rate with the egress
//!   stream's `tready` following each pattern of [`THROTTLES`]
//!   ([`Device::set_tready`]), against the same run unthrottled: what the
//!   held stream costs in throughput, in frames lost at the input (FIFO_MD
//!   full while retired packets wait for the stream) and in latency.
//!
//! Independent runs go to worker threads (one per core).

use crate::sysrun::{self, RunStats, Runner, Window};
use crate::traffic::{Proto, Size, Spec};
use anyhow::{anyhow, bail};
use nfbpf_loader::image::Image;
use nfbpf_loader::{Options, load_file};
use nfbpf_vm::contract::CLOCK_HZ;
use nfbpf_vm::device::{
    Dest, Device, DeviceConfig, MAX_ENGINES, PORTS, Tready, tready_bursty, tready_random,
};
use nfbpf_vm::maps::{MapConfig, MapTiming};
use nfbpf_vm::pipeline::Stall;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What to evaluate.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Engines of the frame-size runs and the scenarios (1..16; engine e
    /// serves port e % 4).
    pub engines: usize,
    /// Short windows and fewer points (a few seconds).
    pub quick: bool,
    /// Where the functions are: NAME.o or NAME.c. None: target/programs if
    /// it holds them, else programs/, else the ones built into nfbpf.
    pub programs: Option<PathBuf>,
    /// Worker threads (None: the machine's cores).
    pub threads: Option<usize>,
    /// Load every function with the loader's rewrite
    /// (`nfbpf_loader::optimize`): the same results in fewer instructions.
    pub optimize: bool,
}

/// What the evaluation measured, records sorted by function, frame size
/// and engines.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub scale: Scale,
    /// Line-rate runs: frame sizes, engine scaling and the baselines.
    pub records: Vec<Record>,
    /// 64 B at [`LIGHT_GBPS`] per port: latency without queueing.
    pub light: Vec<Record>,
    /// Line rate at [`THROTTLE_BYTES`] with the egress throttled, by
    /// function then pattern ([`THROTTLES`] order).
    pub throttled: Vec<Throttled>,
    pub scaling: Vec<ScalingRow>,
    /// The 64-byte line-rate runs of each engine count again with the
    /// published system's map unit (one operation at a time,
    /// [`MapTiming::published`]), and their scaling rows.
    pub published: Vec<Record>,
    pub published_scaling: Vec<ScalingRow>,
    /// The 64-byte line-rate runs of each engine count again with the
    /// functions loaded with the loader's rewrite (`Plan::optimize`), and
    /// their scaling rows; empty when the run itself is optimized.
    pub optimized: Vec<Record>,
    pub optimized_scaling: Vec<ScalingRow>,
    pub scenarios: Vec<Scenario>,
    /// How many runs it took.
    pub runs: usize,
}

/// Output port of a route and of the switch's known MAC.
const ROUTE_PORT: u64 = 2;
const MAC_PORT: u64 = 3;

/// Map entries: map name, key bytes, value bytes.
pub type Rules = Vec<(&'static str, Vec<u8>, Vec<u8>)>;

/// A network function of the evaluation.
#[derive(Debug)]
pub struct Function {
    pub name: &'static str,
    pub program: &'static str,
    pub proto: Proto,
    pub flows: u32,
    pub rules: fn() -> Rules,
    pub what: &'static str,
}

fn no_rules() -> Rules {
    Vec::new()
}

pub const FUNCTIONS: [Function; 4] = [
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
pub const BASELINES: [Function; 2] = [
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
pub const LIGHT_GBPS: f64 = 1.0;

/// Frame size of the throttled runs (one of the frame-size runs' sizes, so
/// the unthrottled run to compare with is among the records): 16 beats of
/// the 256-bit stream a frame, 75 % of the stream's clocks at line rate on
/// four ports.
pub const THROTTLE_BYTES: usize = 512;

/// A pattern of the egress stream's `tready` (the receiver's back-pressure)
/// for the throttled runs.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Throttle {
    pub name: &'static str,
    /// Percent of the clocks (or of the blocks) with `tready` high.
    pub ready_pct: u64,
    /// 1: each clock drawn on its own; more: blocks of that many clocks,
    /// each wholly high or low.
    pub burst_clocks: u64,
}

/// The throttled runs' patterns (seeded: the same clocks in every run).
pub const THROTTLES: [Throttle; 3] = [
    Throttle {
        name: "random 80 %",
        ready_pct: 80,
        burst_clocks: 1,
    },
    Throttle {
        name: "random 50 %",
        ready_pct: 50,
        burst_clocks: 1,
    },
    Throttle {
        name: "bursty 50 %, 64-clock blocks",
        ready_pct: 50,
        burst_clocks: 64,
    },
];

const THROTTLE_SEED: u64 = 7;

impl Throttle {
    /// The pattern as the device takes it.
    pub fn tready(&self) -> Tready {
        if self.burst_clocks <= 1 {
            tready_random(THROTTLE_SEED, self.ready_pct)
        } else {
            tready_bursty(THROTTLE_SEED, self.burst_clocks, self.ready_pct)
        }
    }
}

/// One throttled run: the pattern and what the run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Throttled {
    pub throttle: Throttle,
    #[serde(flatten)]
    pub record: Record,
}

/// Sizes of the frame-size runs.
const SIZES: [usize; 6] = [64, 128, 256, 512, 1024, 1500];
const QUICK_SIZES: [usize; 3] = [64, 512, 1500];
const QUICK_ENGINES: [usize; 4] = [1, 2, 4, 8];

/// How much traffic each kind of run offers.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    /// Frames per port: warm-up and measured.
    pub warmup: u64,
    pub measure: u64,
    /// Serverless switch and zero-downtime runs, simulated microseconds.
    pub switch_us: f64,
    pub reload_us: f64,
    pub reloads: u32,
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
    fn load(dir: Option<&Path>, optimize: bool) -> anyhow::Result<Self> {
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
            let opts = Options {
                optimize,
                ..Options::default()
            };
            let img = load_file(&path, &opts).map_err(|e| anyhow!("{}: {e}", path.display()))?;
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
/// entries, all written through the register interface; its map unit
/// has `timing` (the project's, or [`MapTiming::published`]).
fn device_for(
    progs: &Programs,
    f: &Function,
    engines: usize,
    timing: MapTiming,
) -> anyhow::Result<Device> {
    let img = progs.get(f.program)?;
    let mut dev = Device::new(DeviceConfig {
        engines,
        maps: MapConfig {
            timing,
            ..MapConfig::default()
        },
        ..DeviceConfig::default()
    })?;
    nfbpf_loader::device::program(&mut dev, img).map_err(|e| anyhow!("{}: {e}", f.program))?;
    for (map, k, v) in (f.rules)() {
        let (index, def) = img
            .map(map)
            .ok_or_else(|| anyhow!("{}: no map `{map}`", f.program))?;
        nfbpf_loader::device::update_entry(&mut dev, index, def.kind, &k, &v)
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
    load_run(progs, f, bytes, engines, scale, sysrun::PORT_GBPS, None)
}

/// [`line_rate_run`] at 64 B with the published system's map unit.
fn published_run(
    progs: &Programs,
    f: &Function,
    engines: usize,
    scale: Scale,
) -> anyhow::Result<Record> {
    let (gbps, window) = (
        sysrun::PORT_GBPS,
        Window::frames(64, sysrun::PORT_GBPS, scale.warmup, scale.measure),
    );
    let mut dev = device_for(progs, f, engines, MapTiming::published())?;
    measure(&mut dev, f, 64, engines, gbps, window)
}

/// `f` at line rate at [`THROTTLE_BYTES`] with the egress throttled by `t`.
fn throttled_run(
    progs: &Programs,
    f: &Function,
    engines: usize,
    scale: Scale,
    t: Throttle,
) -> anyhow::Result<Throttled> {
    let record = load_run(
        progs,
        f,
        THROTTLE_BYTES,
        engines,
        scale,
        sysrun::PORT_GBPS,
        Some(t.tready()),
    )?;
    Ok(Throttled {
        throttle: t,
        record,
    })
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
    load_run(progs, f, 64, engines, scale, LIGHT_GBPS, None)
}

/// `f` on all four ports at `bytes` and `gbps` per port, the egress stream
/// throttled by `tready` if given.
fn load_run(
    progs: &Programs,
    f: &Function,
    bytes: usize,
    engines: usize,
    scale: Scale,
    gbps: f64,
    tready: Option<Tready>,
) -> anyhow::Result<Record> {
    let mut dev = device_for(progs, f, engines, MapTiming::default())?;
    dev.set_tready(tready);
    let window = Window::frames(bytes, gbps, scale.warmup, scale.measure);
    measure(&mut dev, f, bytes, engines, gbps, window)
}

/// `f`'s traffic on all four ports of `dev`, measured.
fn measure(
    dev: &mut Device,
    f: &Function,
    bytes: usize,
    engines: usize,
    gbps: f64,
    window: Window,
) -> anyhow::Result<Record> {
    let all: Vec<u32> = (0..PORTS as u32).collect();
    let t0 = std::time::Instant::now();
    let st = sysrun::run(dev, spec(f, bytes, all, gbps), window)?;
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
pub struct Scenario {
    pub name: &'static str,
    pub what: String,
    pub engines: usize,
    pub simulated_us: f64,
    pub offered: u64,
    pub accepted: u64,
    pub fifo_drops: u64,
    pub forwarded: u64,
    /// Packets out of each port.
    pub tx: [u64; PORTS],
    /// Clocks of the reprogramming events.
    pub events_us: Vec<f64>,
    /// Output Gb/s per port in bins of `bin_us`.
    pub bin_us: f64,
    pub series: [Vec<f64>; PORTS],
    /// Serverless switch: from the last packet out of port 1 (P1) to the
    /// first out of port 0 (P2).
    pub switch_gap_us: Option<f64>,
    /// Serverless switch: every packet out around the switch, at the
    /// resolution of a clock (the bins above are far wider than the gap).
    pub zoom: Option<Zoom>,
    pub lossless: bool,
}

/// The packets out in a short window of a scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Zoom {
    pub from_us: f64,
    pub to_us: f64,
    /// (microseconds, output port) of each packet out to a port.
    pub departures: Vec<(f64, u32)>,
}

/// Simulated microseconds of `clocks`.
pub fn us_of(clocks: u64) -> f64 {
    clocks as f64 * 1e6 / CLOCK_HZ as f64
}

/// How far the zoom reaches on each side of the switch: about eight
/// 64-byte frames at 10 Gb/s.
const ZOOM_MARGIN_US: f64 = 0.5;

pub const BINS: usize = 50;

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
    let mut dev = device_for(progs, f, engines, MapTiming::default())?;
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
    /// 64 B line rate with the published system's map unit.
    Published {
        f: usize,
        engines: usize,
    },
    /// 64 B line rate with the functions loaded with the loader's rewrite.
    Optimized {
        f: usize,
        engines: usize,
    },
    /// 64 B at `LIGHT_GBPS` per port: latency without queueing.
    Light {
        f: usize,
        engines: usize,
    },
    /// Line rate at [`THROTTLE_BYTES`], the egress throttled by
    /// `THROTTLES[t]`.
    Throttled {
        f: usize,
        t: usize,
        engines: usize,
    },
    Switch,
    Reload,
}

enum Done {
    Rec(Record),
    Published(Record),
    Optimized(Record),
    Light(Record),
    Throttled(Box<Throttled>),
    Scen(Scenario),
}

fn run_jobs(
    progs: &Programs,
    optimized: Option<&Programs>,
    jobs: &[Job],
    engines: usize,
    scale: Scale,
    threads: usize,
    progress: &(dyn Fn() + Sync),
) -> anyhow::Result<Vec<Done>> {
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
                        Job::Published { f, engines } => {
                            published_run(progs, &FUNCTIONS[f], engines, scale).map(Done::Published)
                        }
                        Job::Optimized { f, engines } => match optimized {
                            Some(o) => line_rate_run(o, &FUNCTIONS[f], 64, engines, scale)
                                .map(Done::Optimized),
                            None => Err(anyhow!("no rewritten programs for an --optimize run")),
                        },
                        Job::Baseline { f, engines } => {
                            line_rate_run(progs, &BASELINES[f], 64, engines, scale).map(Done::Rec)
                        }
                        Job::Light { f, engines } => {
                            light_run(progs, &FUNCTIONS[f], engines, scale).map(Done::Light)
                        }
                        Job::Throttled { f, t, engines } => {
                            throttled_run(progs, &FUNCTIONS[f], engines, scale, THROTTLES[t])
                                .map(|r| Done::Throttled(Box::new(r)))
                        }
                        Job::Switch => serverless_switch(progs, engines, scale).map(Done::Scen),
                        Job::Reload => zero_downtime(progs, engines, scale).map(Done::Scen),
                    };
                    if let Ok(mut v) = results.lock() {
                        v[i] = Some(r);
                    }
                    progress();
                }
            });
        }
    });
    let v = results
        .into_inner()
        .map_err(|_| anyhow!("a worker thread panicked"))?;
    v.into_iter()
        .map(|r| r.unwrap_or_else(|| Err(anyhow!("a run did not finish"))))
        .collect()
}

/// Full line rate: no loss and (within rounding of the window) all offered
/// packets served.
pub fn at_line_rate(r: &Record) -> bool {
    r.loss == 0.0 && r.line_rate_pct > 99.5
}
#[derive(Debug, Clone, Serialize)]
pub struct ScalingRow {
    pub function: String,
    /// Smallest engine count with 64-byte line rate on 4 x 10 Gb/s.
    pub min_engines_line_rate: Option<usize>,
    pub p99_ns_at_that_count: Option<f64>,
    /// Without line rate: the best throughput's engine count and its p99
    /// (under overload: the FIFO_MDs are full).
    pub best_engines: Option<usize>,
    pub best_line_rate_pct: Option<f64>,
    pub p99_ns_at_best: Option<f64>,
}

/// Per function: the fewest engines reaching 64-byte line rate in
/// `records`, and the best throughput's.
fn scaling_rows(records: &[Record]) -> Vec<ScalingRow> {
    FUNCTIONS
        .iter()
        .map(|f| {
            let at64 = || {
                records
                    .iter()
                    .filter(|r| r.function == f.name && r.frame_bytes == 64)
            };
            let hit = at64().filter(|r| at_line_rate(r)).min_by_key(|r| r.engines);
            // The fewest engines within 0.5 % of the best throughput.
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
        .collect()
}

/// Run the evaluation `plan` describes; `progress(done, runs)` is called
/// from the worker threads after each run.
pub fn evaluate(
    plan: &Plan,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> anyhow::Result<Evaluation> {
    if plan.engines == 0 || plan.engines > MAX_ENGINES {
        bail!(
            "--engines {}: a data plane has 1..={MAX_ENGINES}",
            plan.engines
        );
    }
    let scale = if plan.quick { QUICK } else { FULL };
    let progs = Programs::load(plan.programs.as_deref(), plan.optimize)?;
    // The engine scaling again with the loader's rewrite, beside the code
    // as clang emitted it (unless that is what this run is).
    let optimized = if plan.optimize {
        None
    } else {
        Some(Programs::load(plan.programs.as_deref(), true)?)
    };
    let sizes: &[usize] = if plan.quick { &QUICK_SIZES } else { &SIZES };
    let counts: Vec<usize> = if plan.quick {
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
            jobs.push(Job::Published { f, engines: e });
            if optimized.is_some() {
                jobs.push(Job::Optimized { f, engines: e });
            }
        }
        for &bytes in sizes.iter().rev() {
            if bytes != 64 || !counts.contains(&plan.engines) {
                jobs.push(Job::LineRate {
                    f,
                    bytes,
                    engines: plan.engines,
                });
            }
        }
    }
    for f in 0..FUNCTIONS.len() {
        jobs.push(Job::Light {
            f,
            engines: plan.engines,
        });
    }
    for f in 0..BASELINES.len() {
        jobs.push(Job::Baseline {
            f,
            engines: plan.engines,
        });
    }
    for f in 0..FUNCTIONS.len() {
        for t in 0..THROTTLES.len() {
            jobs.push(Job::Throttled {
                f,
                t,
                engines: plan.engines,
            });
        }
    }
    let threads = plan.threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let runs = jobs.len();
    let done_count = AtomicUsize::new(0);
    let tick = || progress(done_count.fetch_add(1, Ordering::Relaxed) + 1, runs);
    let done = run_jobs(
        &progs,
        optimized.as_ref(),
        &jobs,
        plan.engines,
        scale,
        threads,
        &tick,
    )?;
    let mut records = Vec::new();
    let mut scenarios = Vec::new();
    let mut light = Vec::new();
    let mut throttled = Vec::new();
    let mut published = Vec::new();
    let mut rewritten = Vec::new();
    for d in done {
        match d {
            Done::Rec(r) => records.push(r),
            Done::Published(r) => published.push(r),
            Done::Optimized(r) => rewritten.push(r),
            Done::Light(r) => light.push(r),
            Done::Throttled(r) => throttled.push(*r),
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
    for v in [&mut published, &mut rewritten] {
        v.sort_by_key(|r| {
            (
                FUNCTIONS.iter().position(|f| f.name == r.function),
                r.engines,
            )
        });
    }
    let scaling = scaling_rows(&records);
    let published_scaling = scaling_rows(&published);
    let optimized_scaling = if rewritten.is_empty() {
        Vec::new()
    } else {
        scaling_rows(&rewritten)
    };
    light.sort_by_key(|r| FUNCTIONS.iter().position(|f| f.name == r.function));
    throttled.sort_by_key(|r| {
        (
            FUNCTIONS.iter().position(|f| f.name == r.record.function),
            THROTTLES.iter().position(|t| t.name == r.throttle.name),
        )
    });
    Ok(Evaluation {
        scale,
        records,
        light,
        throttled,
        scaling,
        published,
        published_scaling,
        optimized: rewritten,
        optimized_scaling,
        scenarios,
        runs,
    })
}
