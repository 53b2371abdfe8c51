//! The data plane model: several engines behind a demultiplexer, one shared
//! double-buffered instruction memory, the map coprocessor, the timer, and
//! the verdicts turned into output packets; driven by the host only through
//! [`RegisterBus`].
//!
//! - Ports and engines: `engines` engines (default 4, up to 16) serve
//!   [`PORTS`] input ports; engine `e` serves port `e % PORTS`, and a port
//!   with several engines feeds them round-robin, skipping an engine whose
//!   FIFO_MD is full. A packet no engine of its port can take is dropped and
//!   counted (`rx_dropped`).
//! - Each engine is a [`pipeline::Engine`] with its own FIFO_MD (frames
//!   arrive word by word at the port's pacing), stack and ABI context; all
//!   engines share one [`Memory`] for the map values, so a value written by
//!   one engine is what the next lookup anywhere reads. Before an engine's
//!   clock its private regions (stack, context, packet window) are swapped
//!   into the shared memory and out again after it (a move of buffers, not a
//!   copy).
//! - The packet window an engine receives is the ABI's: SUME, the 32-byte
//!   metadata header then the frame; XDP, `XDP_HEADROOM` bytes of headroom
//!   then the frame (the headroom occupies FIFO_MD words too: the price of
//!   `bpf_xdp_adjust_head`).
//! - A verdict sends the packet to a port, all ports but the input one
//!   (flood), the host (pass/controller), or nowhere (drop, abort); the
//!   counters move in the verdict's clock. A fault aborts the packet, counts
//!   it, and records the pc and address in the engine's fault registers; the
//!   engine goes on with its next packet at once.
//! - Egress: one 256-bit output stream (the AXI4-Stream master of the RTL,
//!   `tuser` naming the destination ports as on NetFPGA SUME) behind an
//!   output arbiter. A packet to send keeps its FIFO_MD words after its
//!   verdict (the engine's slot is *retired*, [`pipeline::Config::hold`]).
//!   Each clock, after the words of the clock arrived and before the
//!   engines step: when the stream is idle, the
//!   arbiter takes the next engine, round-robin from the one after the last
//!   served, whose oldest retired packet is one to send and is ready: all
//!   its words are in FIFO_MD, or the ones still to come will each arrive
//!   before the beat that sends it ([`pipeline::FifoMd::retired_front_ready`]:
//!   cut-through without ever stalling the stream, so that one slow frame
//!   never holds it, as AXI4-Stream frames cannot interleave, and a large
//!   frame leaves as its last word arrives). The stream sends one 256-bit
//!   beat per clock from that clock on (the frame without the ABI's header
//!   or headroom, from FIFO_MD as the program left it). The
//!   clock of the last beat releases the slot's words and makes the packet
//!   an [`Output`] (`sent`); at most one packet leaves per clock. A dropped packet's
//!   words are freed at its verdict, unless an earlier retired packet of the
//!   engine still waits for the stream: then it is freed, in ring order, in
//!   a later clock (one release per engine per clock, decided on the state
//!   at the start of the clock). The stream's `tready` is an input
//!   ([`Device::set_tready`], always 1 by default): a beat is taken when
//!   the stream's register is empty or its beat leaves in that clock, as
//!   in the RTL.
//! - Map operations of all engines share the one map unit, which takes an
//!   operation a clock and answers each after its latency
//!   ([`contract::MapIssue`]; [`crate::maps::MapTiming::published`] is the
//!   published one-at-a-time coprocessor): first come, first served, the
//!   engines of one clock in the rotating step order below
//!   ([`crate::units::DeviceState::arbitrate`]); each engine counts its
//!   wait (`ENGMAPWAIT`).
//! - Back-pressure from the TX queues is the egress `tready` above
//!   ([`tready_random`] and [`tready_bursty`] are seeded patterns): a
//!   stream held longer keeps retired packets' FIFO_MD words longer, and
//!   what no engine can then take is dropped at the input (`rx_dropped`).
//!
//! The register map is [`crate::regs`]; programs are written into the idle
//! bank and become active on `FLIP`, at each engine's next packet boundary.
//! Each program carries its instruction budget per packet (`BUDGET`, staged
//! with the program and put in its bank by the `FLIP`; 0 is
//! [`DeviceConfig::budget`]): a packet runs under the budget of the bank it
//! started on, and one that executes more instructions is aborted with
//! fault cause 2 like any other fault.

use crate::abi::{Abi, RxMeta, Verdict};
use crate::contract::{self, FIFO_WORD_BYTES, PKT_BASE, SUME_MD_SIZE};
use crate::helpers::Helpers;
use crate::insn::Insn;
use crate::interp::FaultKind;
use crate::maps::{MapConfig, MapDef};
use crate::mem::Memory;
use crate::pipeline::{self, Engine, HelperLatency, InstrMem, NoCycles, Pacing};
use crate::pipeline::{CollectCycles, DeviceRecords, NoRecords};
use crate::program::Program;
use crate::regs::{self, BusError, RegisterBus};
use crate::trace::{Collect, NoTrace};
use crate::units::{SharedDeviceState, UnitsConfig};
use crate::validate::Limits;
use std::collections::VecDeque;
use std::sync::Arc;

/// Input ports of the board (four SFP+ ports).
pub const PORTS: usize = 4;
/// Most engines a data plane may have.
pub const MAX_ENGINES: usize = 16;

/// Shape of a data plane.
#[derive(Debug, Clone)]
pub struct DeviceConfig {
    pub engines: usize,
    pub abi: Abi,
    pub pacing: Pacing,
    pub maps: MapConfig,
    /// Instruction budget per packet of a program loaded with `BUDGET` 0
    /// (the power-on default; the loader sets each program's own through
    /// the register).
    pub budget: u64,
}

impl Default for DeviceConfig {
    fn default() -> Self {
        DeviceConfig {
            engines: 4,
            abi: Abi::Sume,
            pacing: Pacing::default(),
            maps: MapConfig::default(),
            budget: contract::DEVICE_INSN_BUDGET,
        }
    }
}

/// Where an output packet goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dest {
    Port(u32),
    /// Every port but the input one.
    Flood,
    /// The host (XDP_PASS, SUME CONTROLLER).
    Host,
}

/// A processed packet leaving the data plane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub seq: u64,
    pub engine: usize,
    pub in_port: u32,
    pub dest: Dest,
    pub frame: Vec<u8>,
    /// Cycle the packet entered the device and the cycle of its verdict.
    pub arrival: u64,
    pub done: u64,
    /// Instruction bank the packet ran on.
    pub bank: u8,
    pub verdict: Verdict,
    /// Cycle the egress stream took the packet's last beat out of FIFO_MD
    /// (on the RTL's AXI4-Stream bus one clock later).
    pub sent: u64,
}

/// The output arbiter and the egress stream.
#[derive(Debug, Clone, Copy)]
struct Egress {
    /// Engine being sent from and its next beat.
    cur: Option<(usize, usize)>,
    /// Engine served last (round-robin).
    last: usize,
    /// The clock in which the beat on the bus (the stream's register) is
    /// taken by the receiver (`tready` high), when one was put there.
    leaves: Option<u64>,
}

/// The egress stream's `tready` in each clock (the receiver's back-pressure;
/// see [`Device::set_tready`]): a function of the clock, high infinitely
/// often.
pub type Tready = std::sync::Arc<dyn Fn(u64) -> bool + Send + Sync>;

/// A seeded `tready` pattern high in `pct` percent of the clocks, each
/// clock drawn on its own (a hash of the seed and the clock).
pub fn tready_random(seed: u64, pct: u64) -> Tready {
    std::sync::Arc::new(move |c| mix(seed, c) % 100 < pct)
}

/// A seeded bursty `tready` pattern: blocks of `burst` clocks, each wholly
/// high (`pct` percent of them) or wholly low.
pub fn tready_bursty(seed: u64, burst: u64, pct: u64) -> Tready {
    let burst = burst.max(1);
    std::sync::Arc::new(move |c| mix(seed, c / burst) % 100 < pct)
}

/// splitmix64 of `seed` and `x`.
fn mix(seed: u64, x: u64) -> u64 {
    let mut z = seed ^ x.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Counters of one engine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineCounters {
    pub pkt_in: u64,
    pub pkt_out: u64,
    pub dropped: u64,
    pub faults: u64,
    pub busy: u64,
    pub stalled: u64,
    pub last_r0: u64,
    pub fault_pc: u32,
    pub fault_addr: u32,
    pub fault_cause: u32,
    /// Clocks waiting for the map coprocessor's arbiter.
    pub map_wait: u64,
}

/// Counters of one port.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortCounters {
    pub rx: u64,
    pub rx_dropped: u64,
    pub tx: u64,
}

struct Pending {
    seq: u64,
    rx: RxMeta,
    ctx: Vec<u8>,
    arrival: u64,
}

/// One engine and its private memory.
struct Lane {
    engine: Engine,
    helpers: Helpers,
    queue: VecDeque<Pending>,
    /// Finished packets still holding FIFO_MD words, oldest first: one to
    /// send, or a dropped one (`None`) waiting to be freed in ring order.
    retired: VecDeque<Option<Output>>,
    started: bool,
    /// Private regions while another engine runs: stack, ctx, packet.
    stack: Vec<u8>,
    ctx: Vec<u8>,
    packet: Vec<u8>,
    counters: EngineCounters,
}

/// Register-interface staging (what the host has written so far).
#[derive(Debug, Default)]
struct Staging {
    numinst: u32,
    /// BUDGET: the staged program's instruction budget (0: the default).
    budget: u32,
    wrptr: u32,
    hiinst: u32,
    insns: Vec<u64>,
    /// A LOINST came while an engine still ran a packet on the idle bank
    /// (the RTL writes each LOINST through to that bank, and refuses the
    /// write then): FLIP is refused until the program is written again
    /// from `WRINST 0`, as `rtl/ebpf_axil_regs.v`'s `refused_q`.
    loinst_lost: bool,
    rdaddr: u32,
    nummap: u32,
    maprow: u32,
    /// End (exclusive) of the rows the current table load writes.
    maprowend: u32,
    typemap: u32,
    maxelems: u32,
    keymask: u64,
    valuemask: u64,
    keysize: u32,
    valuesize: u32,
    mapselect: u32,
    selectmemory: u32,
    key: u64,
    mask: u64,
    value: u64,
    ack: u32,
    error: u32,
    widekey: [u32; regs::WIDE_WORDS as usize],
    widevalue: [u32; regs::WIDE_WORDS as usize],
    widestatus: u32,
    /// WIDEVOFF: the window's byte offset in an ARRAY map's value.
    widevoff: u32,
    cyclehi: u32,
    engselect: u32,
    /// TRACEIDX: the head trace record's word TRACEWORD reads.
    traceidx: u32,
    debug: u32,
    routermode: u32,
    portselect: u32,
}

/// The data plane.
pub struct Device {
    cfg: DeviceConfig,
    lanes: Vec<Lane>,
    imem: InstrMem,
    dev: SharedDeviceState,
    mem: Memory,
    ports: [PortCounters; PORTS],
    rr: [usize; PORTS],
    cycle: u64,
    seq: u64,
    out: Vec<Output>,
    egress: Egress,
    st: Staging,
    /// Map values are in `mem` (engines running) rather than the table.
    lent: bool,
    /// Host map operations take the RTL's clocks ([`Device::set_host_clocked`]).
    host_clocked: bool,
    /// The host map operation under way, its result held until its clock.
    pending: Option<HostPending>,
    /// The egress stream's `tready` (`None`: always high).
    tready: Option<Tready>,
}

/// A host map operation (OPERATION or WIDEOP) done in the model at its
/// write, its result shown from clock `due` on (the RTL's clocks).
#[derive(Debug, Clone)]
struct HostPending {
    due: u64,
    /// A next-key scan (a map table write before its end ends it).
    scan: bool,
    done: HostDone,
}

#[derive(Debug, Clone)]
enum HostDone {
    /// OPERATION: ACK 1, ERROR, the value into HIDIN/LODIN (a lookup's hit).
    Op { error: u32, value: Option<u64> },
    /// WIDEOP: WIDESTATUS done with the errno, the windows (when written).
    Wide {
        errno: u32,
        key: Option<[u32; regs::WIDE_WORDS as usize]>,
        value: Option<[u32; regs::WIDE_WORDS as usize]>,
    },
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("engines", &self.lanes.len())
            .field("abi", &self.cfg.abi)
            .field("cycle", &self.cycle)
            .finish()
    }
}

/// Why a device could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    #[error("{0} engines: a data plane has 1..={MAX_ENGINES}")]
    Engines(usize),
}

const STACK: &str = "stack";
const CTX: &str = "ctx";
const PACKET: &str = "packet";

impl Device {
    pub fn new(cfg: DeviceConfig) -> Result<Self, DeviceError> {
        if cfg.engines == 0 || cfg.engines > MAX_ENGINES {
            return Err(DeviceError::Engines(cfg.engines));
        }
        let dev = SharedDeviceState::new(UnitsConfig {
            maps: cfg.maps,
            engines: cfg.engines,
            ..UnitsConfig::default()
        });
        dev.with(|d| d.arbitrate = true);
        let mut mem = Memory::new();
        // Fixed, disjoint bases: these adds cannot overlap.
        let _ = mem.add(STACK, contract::STACK_BASE, Vec::new(), true);
        let _ = mem.add(CTX, contract::CTX_BASE, Vec::new(), false);
        let _ = mem.add(PACKET, PKT_BASE, Vec::new(), true);
        let lanes = (0..cfg.engines)
            .map(|i| Lane {
                engine: Engine::new(pipeline::Config {
                    budget: cfg.budget,
                    engine: i as u8,
                    helper_latency: HelperLatency::from_device(dev.clone(), i),
                    pacing: cfg.pacing,
                    hold: true,
                    ..pipeline::Config::default()
                }),
                helpers: cfg.abi.engine_helpers(&dev, i),
                queue: VecDeque::new(),
                retired: VecDeque::new(),
                started: false,
                stack: vec![0; contract::STACK_SIZE as usize],
                ctx: Vec::new(),
                packet: Vec::new(),
                counters: EngineCounters::default(),
            })
            .collect();
        let lanes_n = cfg.engines;
        Ok(Device {
            cfg,
            lanes,
            imem: InstrMem::new(),
            dev,
            mem,
            ports: [PortCounters::default(); PORTS],
            rr: [0; PORTS],
            cycle: 0,
            seq: 0,
            out: Vec::new(),
            egress: Egress {
                cur: None,
                last: lanes_n - 1,
                leaves: None,
            },
            st: Staging::default(),
            lent: false,
            host_clocked: false,
            pending: None,
            tready: None,
        })
    }

    /// The egress stream's `tready`, clock by clock (`None`, the default:
    /// always high). The egress takes a beat in a clock when the stream's
    /// register is empty or `tready` is high, as `rtl/ebpf_egress.v`; a
    /// frame's `sent` is the clock before the one its last beat leaves the
    /// register in. The function must be high infinitely often.
    pub fn set_tready(&mut self, tready: Option<Tready>) {
        self.tready = tready;
    }

    /// The first clock after `c` with `tready` high.
    fn tready_after(&self, c: u64) -> u64 {
        match &self.tready {
            None => c + 1,
            Some(f) => (c + 1..).find(|&d| f(d)).unwrap_or(c + 1),
        }
    }

    /// Host map operations in the RTL's clocks (off by default: software
    /// users see a host operation done at its write). On, an OPERATION or
    /// WIDEOP is done [`contract::HOST_OP_CLOCKS`] clocks after its write
    /// (a next-key scan [`contract::scan_clocks`]), ACK reading 0 and
    /// WIDESTATUS busy until then, the clock being the units' (which
    /// [`Device::step`] advances, or a co-simulation sets); another
    /// OPERATION or WIDEOP meanwhile is refused, and a NUMMAP, CLEAN or
    /// MAPLOAD write ends a scan with ENOENT, as in `rtl/ebpf_units.v`.
    /// The RTL runs the operation only when the coprocessor's queue of
    /// engine map requests is empty (it holds those of the last few
    /// clocks, one leaving a clock); the model assumes it is. Off, what is
    /// under way is done at once.
    pub fn set_host_clocked(&mut self, on: bool) {
        self.host_clocked = on;
        if !on && let Some(p) = self.pending.take() {
            self.finish(p.done);
        }
    }

    /// The units' clock (the register path's time).
    fn now(&mut self) -> u64 {
        self.dev.with(|d| d.cycle)
    }

    /// Show the result of the operation under way once its clock came.
    fn settle(&mut self) {
        let now = self.now();
        if self
            .pending
            .as_ref()
            .is_some_and(|p| !self.host_clocked || now >= p.due)
            && let Some(p) = self.pending.take()
        {
            self.finish(p.done);
        }
    }

    fn finish(&mut self, done: HostDone) {
        match done {
            HostDone::Op { error, value } => {
                self.st.error = error;
                if let Some(v) = value {
                    self.st.value = v;
                }
                self.st.ack = 1;
            }
            HostDone::Wide { errno, key, value } => {
                if let Some(k) = key {
                    self.st.widekey = k;
                }
                if let Some(v) = value {
                    self.st.widevalue = v;
                }
                self.st.widestatus = 1 | (errno << 16);
            }
        }
    }

    /// The clock of a register write: the one just stepped. A register
    /// access comes between two steps; a write takes effect at the end of
    /// the clock before (the units' cycle has already moved past it), as
    /// the RTL's AXI4-Lite slave hands it to the units in the clock it
    /// takes it, and the host operation's clocks count from there
    /// ([`contract::HOST_OP_CLOCKS`]: "counting the write's clock"). A
    /// read sees the state after that clock, so its clock is [`Self::now`].
    fn write_clock(&mut self) -> u64 {
        self.now().saturating_sub(1)
    }

    /// Hold `done` until `clocks` after the write's clock (at once when not
    /// clocked).
    fn start_host_op(&mut self, clocks: u64, scan: bool, done: HostDone) {
        let due = self.write_clock() + clocks;
        self.pending = Some(HostPending { due, scan, done });
        self.settle();
    }

    /// A map table write (NUMMAP, CLEAN, MAPLOAD) ends a scan under way:
    /// nothing found, [`contract::HOST_OP_CLOCKS`] after the write (a scan
    /// whose result is already on its way to the window keeps it).
    fn end_scan(&mut self) {
        let at = self.write_clock() + contract::HOST_OP_CLOCKS;
        if let Some(p) = &mut self.pending
            && p.scan
            && at <= p.due
        {
            p.due = at;
            p.done = HostDone::Wide {
                errno: contract::ENOENT as u32,
                key: None,
                value: None,
            };
        }
    }

    /// Refuse an OPERATION or WIDEOP while one is under way.
    fn host_idle(&mut self, reg: &str) -> Result<(), BusError> {
        self.settle();
        if self.pending.is_some() {
            return Err(BusError::Transport(format!(
                "{reg}: a host map operation is under way (poll ACK or WIDESTATUS)"
            )));
        }
        Ok(())
    }

    pub fn config(&self) -> &DeviceConfig {
        &self.cfg
    }

    pub fn cycle(&self) -> u64 {
        self.cycle
    }

    /// The sequence number ([`Output::seq`]) the next frame [`Device::rx`]
    /// takes will get: a harness remembers the ones of its own frames.
    pub fn next_seq(&self) -> u64 {
        self.seq
    }

    /// The shared units (map table, timer, per-engine helper state), with
    /// the map values back in the table.
    pub fn units(&mut self) -> &SharedDeviceState {
        self.home();
        &self.dev
    }

    /// Take the map values back from the engines' memory into the table.
    fn home(&mut self) {
        if self.lent {
            self.dev.with(|d| {
                // Values still on their way land now: the host sees them.
                d.land_pending(&mut self.mem, None);
                d.maps.reclaim(&mut self.mem);
            });
            self.lent = false;
        }
    }

    pub fn engine_counters(&self, e: usize) -> Option<EngineCounters> {
        self.lanes.get(e).map(|l| {
            let s = l.engine.stats();
            EngineCounters {
                map_wait: self.dev.with(|d| d.engine(e).coproc_wait),
                busy: s.busy_cycles,
                stalled: s.stalls.iter().sum::<u64>()
                    - s.stall(pipeline::Stall::None)
                    - s.stall(pipeline::Stall::Idle),
                ..l.counters
            }
        })
    }

    /// The pipeline statistics of engine `e`: clocks, busy clocks, retired
    /// instructions, stall clocks by cause (observability only).
    pub fn engine_stats(&self, e: usize) -> Option<&pipeline::Stats> {
        self.lanes.get(e).map(|l| l.engine.stats())
    }

    pub fn port_counters(&self, p: usize) -> Option<PortCounters> {
        self.ports.get(p).copied()
    }

    /// Active instruction bank (CURRINSTMEM).
    pub fn active_bank(&self) -> u8 {
        self.imem.active()
    }

    /// Load a validated program into the idle bank (the in-process path the
    /// register sequence ends in), with the instruction budget staged in
    /// `BUDGET` (0 unless written since the last `WRINST 0`: the default).
    pub fn write_idle(&mut self, prog: Program) -> Result<(), BusError> {
        let budget = self.st.budget;
        self.imem
            .write_idle_budget(Arc::new(prog), budget)
            .map_err(|b| {
                BusError::Transport(format!(
                    "{b}: the idle bank still runs packets of the previous program; retry the write"
                ))
            })
    }

    /// Make the idle bank active; engines switch at their next packet.
    pub fn flip(&mut self) {
        self.imem.swap();
    }

    /// The instruction budget per packet of bank `b` as the engines apply
    /// it (its `BUDGET`, or the configured default for 0 or an empty bank).
    pub fn bank_budget(&self, b: u8) -> u64 {
        self.imem
            .bank(b)
            .map_or(self.cfg.budget, |k| k.budget_or(self.cfg.budget))
    }

    /// Packets still inside the device (queued, running, or holding FIFO_MD
    /// words for the egress).
    pub fn in_flight(&self) -> usize {
        self.lanes
            .iter()
            .map(|l| l.queue.len() + l.retired.len())
            .sum()
    }

    /// Packets queued or running, before their verdict (the ones the
    /// engines' counters have not counted out yet).
    pub fn awaiting_verdict(&self) -> usize {
        self.lanes.iter().map(|l| l.queue.len()).sum()
    }

    /// The output arbiter's state (OUTARBFSMSTATE): the engine whose packet
    /// the stream is sending, or 0xf when it is idle.
    pub fn egress_engine(&self) -> Option<usize> {
        self.egress.cur.map(|(e, _)| e)
    }

    /// One clock of the egress (before the engines step; see the module
    /// comment).
    fn egress(&mut self) {
        let n = self.lanes.len();
        // Engines whose oldest retired packet is a drop (bit e; at most
        // MAX_ENGINES), as at the start of the clock: no allocation per clock.
        let front_drop: u32 = self
            .lanes
            .iter()
            .enumerate()
            .filter(|(_, l)| matches!(l.retired.front(), Some(None)))
            .fold(0, |m, (e, _)| m | 1 << e);
        // A beat is taken when the stream's register is empty or its beat
        // leaves in this clock (`tready`); else the stream holds, and an
        // engine is not chosen.
        let c = self.cycle;
        let take = match self.egress.leaves {
            Some(d) if d >= c => d == c,
            _ => true,
        };
        if take && self.egress.cur.is_none() {
            let last = self.egress.last;
            for i in (last + 1..n).chain(0..=last) {
                let l = &self.lanes[i];
                if l.engine.egress_ready() && matches!(l.retired.front(), Some(Some(_))) {
                    self.egress.cur = Some((i, 0));
                    self.egress.last = i;
                    break;
                }
            }
        }
        let cur = if take { self.egress.cur } else { None };
        if let Some((i, beat)) = cur {
            let leaves = self.tready_after(c);
            self.egress.leaves = Some(leaves);
            let l = &mut self.lanes[i];
            let beats = match l.retired.front() {
                Some(Some(o)) => o.frame.len().div_ceil(FIFO_WORD_BYTES).max(1),
                _ => 1,
            };
            if beat + 1 < beats {
                self.egress.cur = Some((i, beat + 1));
            } else {
                l.engine.release_retired();
                if let Some(Some(mut o)) = l.retired.pop_front() {
                    // The last beat is on the bus from the next clock until
                    // the receiver takes it.
                    o.sent = leaves - 1;
                    self.out.push(o);
                }
                self.egress.cur = None;
            }
        }
        for (e, l) in self.lanes.iter_mut().enumerate() {
            if front_drop >> e & 1 == 1 {
                l.retired.pop_front();
                l.engine.release_retired();
            }
        }
    }

    /// A frame arrives on `port`. Returns false when it was dropped because
    /// no engine of the port had room.
    pub fn rx(&mut self, port: usize, frame: &[u8]) -> bool {
        let Some(pc) = self.ports.get_mut(port) else {
            return false;
        };
        pc.rx += 1;
        let rx = RxMeta {
            in_port: port as u32,
            timestamp_ns: self.dev.with(|d| d.now_ns()),
            ..RxMeta::default()
        };
        let (win, ctx, args) = match self.window(frame, &rx) {
            Some(x) => x,
            None => {
                self.ports[port].rx_dropped += 1;
                return false;
            }
        };
        // The ABI's header or headroom is not on the wire: whole words of it
        // arrive ahead of the frame at no cost (FifoMd::push_framed).
        let header = (win.len() - frame.len().min(win.len())) / FIFO_WORD_BYTES;
        // Engines of this port: port, port + PORTS, port + 2 * PORTS, ...
        let mine = (self.lanes.len() + PORTS - 1 - port) / PORTS;
        for k in 0..mine {
            let e = port + PORTS * ((self.rr[port] + k) % mine);
            if self.lanes[e].engine.push_framed(&win, header, args).is_ok() {
                self.rr[port] = (self.rr[port] + k + 1) % mine;
                let seq = self.seq;
                self.seq += 1;
                let l = &mut self.lanes[e];
                l.counters.pkt_in += 1;
                l.queue.push_back(Pending {
                    seq,
                    rx,
                    ctx,
                    arrival: self.cycle,
                });
                return true;
            }
        }
        self.ports[port].rx_dropped += 1;
        false
    }

    /// The ABI window pushed into FIFO_MD, the context, and r1..r5.
    fn window(&self, frame: &[u8], rx: &RxMeta) -> Option<(Vec<u8>, Vec<u8>, [u64; 5])> {
        let (win, ctx, args) = self.cfg.abi.window(frame, rx).ok()?;
        if win.len() > contract::PKT_WINDOW {
            return None;
        }
        Some((win, ctx.unwrap_or_default(), args))
    }

    fn swap_in(mem: &mut Memory, l: &mut Lane) {
        // The first three regions of the shared memory, in the order
        // `Device::new` adds them.
        for (i, buf) in [&mut l.stack, &mut l.ctx, &mut l.packet]
            .into_iter()
            .enumerate()
        {
            if let Some(r) = mem.region_at_mut(i) {
                std::mem::swap(&mut r.data, buf);
            }
        }
    }

    /// One clock of the whole data plane.
    pub fn step(&mut self) {
        self.step_recorded(&mut NoRecords);
    }

    /// [`Device::step`], handing each engine's retire records and cycle
    /// record of the clock to `rec` (engines in the clock's step order).
    pub fn step_recorded<R: DeviceRecords>(&mut self, rec: &mut R) {
        // Map values live in the engines' memory while they run; the host's
        // register accesses take them home first (see `home`).
        if !self.lent {
            self.dev.with(|d| {
                let _ = d.maps.lend(&mut self.mem);
            });
            self.lent = true;
        }
        // XDP updates' values due in this clock, before the engines run
        // (only XDP map helpers defer their value: no lock per clock in the
        // SUME ABI).
        if self.cfg.abi == Abi::Xdp {
            self.dev.with(|d| {
                let now = d.cycle;
                d.land_pending(&mut self.mem, Some(now));
            });
        }
        // The ports' clock first: the egress sees this clock's arrivals (as
        // the RTL's egress reads words written at the end of the last clock).
        for l in &mut self.lanes {
            l.engine.tick_port();
        }
        self.egress();
        // Rotating order: the engine stepped first (and so first to the map
        // coprocessor in a clock) changes every clock: round-robin.
        let n = self.lanes.len();
        let first = (self.cycle % n as u64) as usize;
        // (A range, not `(first + k) % n`: a division per engine per clock
        // costs more than an idle engine's clock.)
        for i in (first..n).chain(0..first) {
            let l = &mut self.lanes[i];
            // An engine with no packet running or queued only counts an
            // idle clock (`Engine::step_idle`): its memory need not be
            // swapped in, and it has no verdict and no packet to start.
            if !R::ENABLED && l.engine.step_idle() {
                continue;
            }
            Self::swap_in(&mut self.mem, l);
            let v = if R::ENABLED {
                let (mut t, mut c) = (Collect::default(), CollectCycles::default());
                let v = l.engine.step(
                    &mut self.imem,
                    &mut self.mem,
                    &mut l.helpers,
                    &mut t,
                    &mut c,
                );
                let fault = v.as_ref().and_then(|v| v.result.as_ref().err());
                rec.engine_clock(i, t.0, &c.0, fault.map(|f| &f.kind));
                v
            } else {
                l.engine.step(
                    &mut self.imem,
                    &mut self.mem,
                    &mut l.helpers,
                    &mut NoTrace,
                    &mut NoCycles,
                )
            };
            // Context of a packet that starts this clock (read in MEM, three
            // clocks later at the earliest).
            Self::swap_in(&mut self.mem, l);
            if let Some(v) = v {
                let p = l.queue.pop_front();
                l.started = false;
                if let Some(p) = p {
                    let redirect = self.dev.with(|d| d.engine(i).redirect);
                    let (verdict, r0) = match &v.result {
                        Ok(o) => (self.cfg.abi.verdict(o.r0, &p.rx, redirect), o.r0),
                        Err(f) => {
                            l.counters.faults += 1;
                            l.counters.fault_pc = f.pc as u32;
                            l.counters.fault_addr = match &f.kind {
                                FaultKind::Mem(m) => m.addr as u32,
                                _ => 0,
                            };
                            l.counters.fault_cause = match f.kind {
                                FaultKind::Mem(_) => 1,
                                FaultKind::Budget(_) => 2,
                                FaultKind::UnknownHelper(_) => 3,
                                FaultKind::Helper { .. } => 4,
                                FaultKind::CallDepth(_) => 5,
                            };
                            (Verdict::Aborted, 0)
                        }
                    };
                    l.counters.last_r0 = r0;
                    let frame = frame_of(self.cfg.abi, &v.packet, &l.ctx);
                    let dest = match verdict {
                        Verdict::Tx(p) | Verdict::Redirect(p) => Some(Dest::Port(p)),
                        Verdict::Flood => Some(Dest::Flood),
                        // A host queue is the host's path (the device
                        // refuses CPUMAP and XSKMAP at load, and tc
                        // programs, whose ingress redirect this is).
                        Verdict::Pass | Verdict::Host(_) | Verdict::Ingress(_) => Some(Dest::Host),
                        Verdict::Drop | Verdict::Aborted => None,
                    };
                    match dest {
                        Some(d) => {
                            l.counters.pkt_out += 1;
                            match d {
                                Dest::Port(q) if (q as usize) < PORTS => {
                                    self.ports[q as usize].tx += 1
                                }
                                Dest::Flood => {
                                    for (q, pc) in self.ports.iter_mut().enumerate() {
                                        if q as u32 != p.rx.in_port {
                                            pc.tx += 1;
                                        }
                                    }
                                }
                                _ => {}
                            }
                            l.retired.push_back(Some(Output {
                                seq: p.seq,
                                engine: i,
                                in_port: p.rx.in_port,
                                dest: d,
                                frame,
                                arrival: p.arrival,
                                done: self.cycle,
                                bank: v.bank,
                                verdict,
                                sent: 0,
                            }));
                        }
                        None => {
                            l.counters.dropped += u64::from(verdict == Verdict::Drop);
                            l.engine.drop_retired();
                            if l.engine.retired() > l.retired.len() {
                                l.retired.push_back(None);
                            }
                        }
                    }
                }
            }
            if l.engine.busy() && !l.started {
                l.started = true;
                if let Some(p) = l.queue.front() {
                    l.ctx.clone_from(&p.ctx);
                }
                self.dev.with(|d| d.engine_mut(i).begin_packet());
            }
        }
        self.dev.with(|d| d.advance(1));
        self.cycle += 1;
    }

    /// Step until no packet is left inside (or `limit` clocks passed).
    pub fn drain(&mut self, limit: u64) -> u64 {
        let start = self.cycle;
        while self.in_flight() > 0 && self.cycle - start < limit {
            self.step();
        }
        self.cycle - start
    }

    /// Take the packets that left the device so far.
    pub fn take_outputs(&mut self) -> Vec<Output> {
        std::mem::take(&mut self.out)
    }

    /// What the FLIP check accepts: the ABI's helpers less those only the
    /// software engines run ([`crate::units::not_on_device`]), the
    /// prologue, a bank.
    pub fn limits(&self) -> Limits {
        let mut l = limits(self.cfg.abi);
        if self.cfg.abi == Abi::Xdp {
            l.helper_known = Some(crate::units::xdp_device_helper_known);
        }
        l
    }

    /// OPERATION `op`: the errno for ERROR and a lookup's value.
    fn map_op(&mut self, op: u32) -> (u32, Option<u64>) {
        let h = contract::map_handle(self.st.mapselect as usize);
        let (key, value) = (self.st.key, self.st.value);
        let r = self.dev.with(|d| match op {
            1 => d
                .maps
                .update_u64(h, key, value, contract::BPF_ANY)
                .value
                .map(|_| None),
            2 => d.maps.delete_u64(h, key).value.map(|_| None),
            3 => d.maps.lookup_u64(h, key).value,
            _ => Err(crate::maps::MapError::Inval),
        });
        match r {
            Ok(Some(v)) => (0, Some(v)),
            // A lookup that finds nothing: ENOENT, as Linux reports it.
            Ok(None) if op == 3 => (contract::ENOENT as u32, None),
            Ok(None) => (0, None),
            Err(e) => (e.errno().unwrap_or(contract::EINVAL) as u32, None),
        }
    }

    /// WIDEOP `w`: the result for WIDESTATUS and the windows, and the
    /// steps of a next-key scan's walk (`None` for the other operations).
    fn wide_op(&mut self, w: u32) -> (HostDone, Option<u64>) {
        let idx = self.st.mapselect as usize;
        let h = contract::map_handle(idx);
        let Some(def) = self.dev.with(|d| d.maps.def(idx).cloned()) else {
            // ENOENT: no such map
            let done = HostDone::Wide {
                errno: contract::ENOENT as u32,
                key: None,
                value: None,
            };
            return (done, None);
        };
        let bytes = |words: &[u32], n: u32| -> Vec<u8> {
            words
                .iter()
                .flat_map(|w| w.to_le_bytes())
                .take(n as usize)
                .collect()
        };
        let key = bytes(&self.st.widekey, def.key_size);
        // An ARRAY map's value over the window: the window at WIDEVOFF (a
        // multiple of the window below the value's size; other maps take 0
        // only).
        let window = 4 * regs::WIDE_WORDS;
        let (off, vs) = (self.st.widevoff, def.value_size);
        let array = def.kind == crate::maps::MapType::Array;
        let split = array && (vs > window || off != 0);
        if off != 0 && !(array && off.is_multiple_of(window) && off < vs) {
            let done = HostDone::Wide {
                errno: contract::EINVAL as u32,
                key: None,
                value: None,
            };
            return (done, None);
        }
        let part = |v: Vec<u8>| -> Vec<u8> {
            if split {
                let end = (off + window).min(vs) as usize;
                v.get(off as usize..end)
                    .map(<[u8]>::to_vec)
                    .unwrap_or_default()
            } else {
                v
            }
        };
        let mut new_key = None;
        let mut steps = None;
        let r = match w & 0xff {
            1 if split => {
                let flags = u64::from((w >> 8) & 3);
                let n = (vs - off).min(window);
                let win = bytes(&self.st.widevalue, n);
                self.dev.with(|d| {
                    let mut value = match d.maps.lookup_value(h, &key) {
                        Ok(Some(v)) => v,
                        _ => vec![0; vs as usize],
                    };
                    value[off as usize..(off + n) as usize].copy_from_slice(&win);
                    d.maps.update(h, &key, &value, flags).value.map(|_| None)
                })
            }
            1 => {
                let value = bytes(&self.st.widevalue, def.value_size);
                let flags = u64::from((w >> 8) & 3);
                self.dev
                    .with(|d| d.maps.update(h, &key, &value, flags).value.map(|_| None))
            }
            2 => self
                .dev
                .with(|d| d.maps.delete(h, &key).value.map(|_| None)),
            3 => self.dev.with(|d| d.maps.lookup_value(h, &key)),
            // Next entry after the key in WIDEKEY in key order (bit 8: the
            // first): key into WIDEKEY, value into WIDEVALUE; ENOENT after
            // the last (`MapTable::next_entry`).
            4 => {
                let after = (w & 0x100 == 0).then_some(key.as_slice());
                let next = self.dev.with(|d| d.maps.next_entry(idx, after));
                // The RTL's walk (`ebpf_map_coproc`): the whole CAM or TCAM,
                // or the indices from the key + 1 to the one found.
                let walk = if def.kind.is_direct() {
                    let word = |b: &[u8]| {
                        let mut w = [0u8; 4];
                        for (d, s) in w.iter_mut().zip(b) {
                            *d = *s;
                        }
                        u64::from(u32::from_le_bytes(w))
                    };
                    contract::ScanWalk::Direct {
                        from: after.map_or(0, |a| word(a) + 1),
                        stop: next
                            .as_ref()
                            .map_or(u64::from(def.max_entries), |(k, _)| word(k)),
                    }
                } else if def.kind == crate::maps::MapType::LpmTrie {
                    contract::ScanWalk::Tcam
                } else {
                    contract::ScanWalk::Cam
                };
                steps = Some(contract::scan_steps(walk));
                match next {
                    Some((k, v)) => {
                        new_key = Some(words_of(&k));
                        Ok(Some(v))
                    }
                    None => Ok(None),
                }
            }
            _ => Err(crate::maps::MapError::Inval),
        };
        let (errno, value) = match r {
            Ok(Some(v)) => (0, Some(words_of(&part(v)))),
            Ok(None) if matches!(w & 0xff, 3 | 4) => (contract::ENOENT as u32, None),
            Ok(None) => (0, None),
            Err(e) => (e.errno().unwrap_or(contract::EINVAL) as u32, None),
        };
        let done = HostDone::Wide {
            errno,
            key: new_key,
            value,
        };
        (done, steps)
    }

    fn commit_map_row(&mut self) -> Result<(), BusError> {
        let row = self.st.maprow as usize;
        let mut def = MapDef::from_masks(
            self.st.typemap,
            self.st.keymask,
            self.st.valuemask,
            self.st.maxelems,
        )
        .map_err(|e| BusError::Transport(format!("map table row {row}: {e}")))?;
        if self.st.keysize != 0 {
            def.key_size = self.st.keysize;
        }
        if self.st.valuesize != 0 {
            def.value_size = self.st.valuesize;
        }
        self.dev
            .with(|d| d.maps.configure(row, def))
            .map_err(|e| BusError::Transport(format!("map table row {row}: {e}")))?;
        self.st.maprow += 1;
        self.st.keysize = 0;
        self.st.valuesize = 0;
        Ok(())
    }

    fn load_staged(&mut self) -> Result<(), BusError> {
        if self.st.loinst_lost {
            return Err(BusError::Transport(
                "FLIP: a LOINST came while the idle bank still ran packets of the previous \
                 program, so that bank missed it; retry: write the program again from WRINST 0"
                    .into(),
            ));
        }
        let n = self.st.numinst as usize;
        if n == 0 || n > self.st.insns.len() {
            return Err(BusError::Transport(format!(
                "FLIP: NUMINST is {n} but {} instruction slots were written",
                self.st.insns.len()
            )));
        }
        let insns: Vec<Insn> = self.st.insns[..n]
            .iter()
            .map(|&w| Insn::from_u64(w))
            .collect();
        let prog = Program::with_limits(insns, &self.limits()).map_err(|e| {
            BusError::Transport(format!(
                "FLIP: the program in the idle bank is invalid: {e}"
            ))
        })?;
        self.write_idle(prog)?;
        self.flip();
        Ok(())
    }

    fn selected(&self) -> Option<EngineCounters> {
        self.engine_counters(self.st.engselect as usize)
    }
}

/// Bytes as the little-endian words of a wide-entry window.
fn words_of(b: &[u8]) -> [u32; regs::WIDE_WORDS as usize] {
    let mut out = [0u32; regs::WIDE_WORDS as usize];
    for (i, c) in b.chunks(4).enumerate().take(out.len()) {
        let mut w = [0u8; 4];
        w[..c.len()].copy_from_slice(c);
        out[i] = u32::from_le_bytes(w);
    }
    out
}

/// What the device accepts as a program for an ABI (the FLIP check): its
/// helpers, the two-instruction prologue, at most a bank of instructions.
pub fn limits(abi: Abi) -> Limits {
    Limits {
        helper_known: Some(abi.helper_known()),
        prologue: 2,
        max_insns: contract::IMEM_SLOTS,
        ..Limits::default()
    }
}

/// The frame as the program left it: `window` is the packet window at the
/// verdict, `ctx` the context (XDP's data/data_end).
pub fn frame_of(abi: Abi, window: &[u8], ctx: &[u8]) -> Vec<u8> {
    match abi {
        Abi::Xdp | Abi::Tc => {
            let (d, e) = match abi {
                Abi::Tc => (
                    crate::abi::sk_buff::DATA as usize,
                    crate::abi::sk_buff::DATA_END as usize,
                ),
                _ => (0, 4),
            };
            let f = |o: usize| {
                ctx.get(o..o + 4)
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64)
                    .unwrap_or(0)
            };
            let (d, e) = (f(d), f(e));
            let (d, e) = (
                d.wrapping_sub(PKT_BASE) as usize,
                e.wrapping_sub(PKT_BASE) as usize,
            );
            window.get(d..e).map(<[u8]>::to_vec).unwrap_or_default()
        }
        Abi::Sume => {
            let l = crate::abi::sume_md::LENGTH;
            let len = window
                .get(l..l + 2)
                .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
                .unwrap_or(0);
            window
                .get(SUME_MD_SIZE..SUME_MD_SIZE + len)
                .map(<[u8]>::to_vec)
                .unwrap_or_default()
        }
    }
}

impl RegisterBus for Device {
    fn read32(&mut self, off: u32) -> Result<u32, BusError> {
        use regs::*;
        self.home();
        self.settle();
        let (reg, i) = lookup(off).ok_or(BusError::Unmapped(off))?;
        if reg.access == Access::Wo {
            return Ok(0);
        }
        let e = self.selected().unwrap_or_default();
        let lo = |v: u64| v as u32;
        Ok(match reg.offset {
            ID => DEVICE_ID,
            VERSION => DEVICE_VERSION,
            ROUTERMODE => self.st.routermode,
            NUMINST => self.st.numinst,
            CURRINSTMEM => u32::from(self.imem.active()),
            ENG_R0 => {
                let r0 = self
                    .engine_counters((i / 2) as usize)
                    .map_or(0, |c| c.last_r0);
                if i % 2 == 0 {
                    (r0 >> 32) as u32
                } else {
                    r0 as u32
                }
            }
            NUMMAP => self.st.nummap,
            TYPEMAP => self.st.typemap,
            HIKEYMASKMAP => (self.st.keymask >> 32) as u32,
            LOKEYMASKMAP => self.st.keymask as u32,
            HIVALUEMASKMAP => (self.st.valuemask >> 32) as u32,
            LOVALUEMASKMAP => self.st.valuemask as u32,
            MAXELEMSMAP => self.st.maxelems,
            SELECTMEMORY => self.st.selectmemory,
            HIKEY => (self.st.key >> 32) as u32,
            LOKEY => self.st.key as u32,
            HIMASK => (self.st.mask >> 32) as u32,
            LOMASK => self.st.mask as u32,
            HIDIN => (self.st.value >> 32) as u32,
            LODIN => self.st.value as u32,
            ACK | CLEANACK => self.st.ack,
            ERROR => self.st.error,
            CAMFULL => self.dev.with(|d| u32::from(d.maps.cam().is_full())),
            TCAMFULL => self.dev.with(|d| u32::from(d.maps.tcam().is_full())),
            CAMBUSY | TCAMBUSY | CLEANDEBUG => 0,
            ENG_FSM => {
                let busy = self
                    .lanes
                    .get((i / 2) as usize)
                    .is_some_and(|l| l.engine.busy());
                u32::from(busy)
            }
            TUSERREADY => 1,
            COPROCARBFSMSTATE => 0xf,
            OUTARBFSMSTATE => self.egress_engine().map_or(0xf, |e| e as u32),
            RXPKT => self.engine_counters(i as usize).map_or(0, |c| lo(c.pkt_in)),
            TXPKT => self
                .engine_counters(i as usize)
                .map_or(0, |c| lo(c.pkt_out)),
            DEBUG => self.st.debug,
            NUMENGINES => self.lanes.len() as u32,
            ABIMODE => u32::from(self.cfg.abi == Abi::Xdp),
            IMEMSLOTS => contract::IMEM_SLOTS as u32,
            BUDGET => self
                .bank_budget(self.imem.active())
                .min(u64::from(u32::MAX)) as u32,
            CYCLELO => {
                self.st.cyclehi = (self.cycle >> 32) as u32;
                self.cycle as u32
            }
            CYCLEHI => self.st.cyclehi,
            ENGSELECT => self.st.engselect,
            ENGPKTIN => lo(e.pkt_in),
            ENGPKTOUT => lo(e.pkt_out),
            ENGDROP => lo(e.dropped),
            ENGFAULTS => lo(e.faults),
            ENGBUSY => lo(e.busy),
            ENGSTALL => lo(e.stalled),
            ENGFAULTPC => e.fault_pc,
            ENGFAULTADDR => e.fault_addr,
            ENGFAULTCAUSE => e.fault_cause,
            ENGMAPWAIT => lo(e.map_wait),
            MAPSELECT => self.st.mapselect,
            KEYSIZEMAP => self.st.keysize,
            VALUESIZEMAP => self.st.valuesize,
            MAPROWTYPE | MAPROWKEYSIZE | MAPROWVALUESIZE | MAPROWMAXELEMS => {
                let row = self.st.mapselect as usize;
                self.dev.with(|d| {
                    d.maps.def(row).map_or(0, |m| match reg.offset {
                        MAPROWTYPE => m.kind.code(),
                        MAPROWKEYSIZE => m.key_size,
                        MAPROWVALUESIZE => m.value_size,
                        _ => m.max_entries,
                    })
                })
            }
            TRACECOUNT | TRACEDROP | TRACEWORD | TRACEHDR => {
                let (now, sel, idx) = (self.now(), self.st.engselect, self.st.traceidx);
                let n = self.lanes.len();
                self.dev.with(|d| {
                    let Some(q) = d.log.queue(sel as usize).filter(|_| (sel as usize) < n) else {
                        return 0;
                    };
                    match reg.offset {
                        TRACECOUNT => q.count(now) as u32,
                        TRACEDROP => q.dropped(now) as u32,
                        TRACEWORD => q.head(now).map_or(0, |r| {
                            let w = r.raw.words.get(idx as usize).copied().unwrap_or(0);
                            if i == 0 { w as u32 } else { (w >> 32) as u32 }
                        }),
                        _ => q.head(now).map_or(0, |r| r.raw.header(i)),
                    }
                })
            }
            TRACEIDX => self.st.traceidx,
            WIDESTATUS => self.st.widestatus,
            WIDEVOFF => self.st.widevoff,
            WIDEKEY => self.st.widekey[i as usize],
            WIDEVALUE => self.st.widevalue[i as usize],
            RDINSTADDR => self.st.rdaddr,
            PORTSELECT => self.st.portselect,
            PORTRX | PORTRXDROP | PORTTX => {
                let p = self
                    .port_counters(self.st.portselect as usize)
                    .unwrap_or_default();
                lo(match reg.offset {
                    PORTRX => p.rx,
                    PORTRXDROP => p.rx_dropped,
                    _ => p.tx,
                })
            }
            RDINSTHI | RDINSTLO => {
                let w = self
                    .st
                    .insns
                    .get(self.st.rdaddr as usize)
                    .copied()
                    .unwrap_or(0);
                if reg.offset == RDINSTHI {
                    (w >> 32) as u32
                } else {
                    w as u32
                }
            }
            _ => return Err(BusError::Unmapped(off)),
        })
    }

    /// The frame enters input `port` in this clock ([`Device::rx`]); a
    /// frame no engine can take is counted in `PORTRXDROP`, as on the board.
    fn host_send(&mut self, port: usize, frame: &[u8]) -> Result<(), BusError> {
        if port >= PORTS {
            return Err(BusError::Transport(format!(
                "host queue {port}: the device has ports 0..{}",
                PORTS - 1
            )));
        }
        self.rx(port, frame);
        Ok(())
    }

    fn write32(&mut self, off: u32, v: u32) -> Result<(), BusError> {
        use regs::*;
        self.home();
        self.settle();
        let (reg, i) = lookup(off).ok_or(BusError::Unmapped(off))?;
        if reg.access == Access::Ro {
            return Err(BusError::Transport(format!(
                "{} ({off:#x}) is read-only",
                reg.name
            )));
        }
        let hi = |x: &mut u64| *x = (*x & 0xffff_ffff) | (u64::from(v) << 32);
        let lo = |x: &mut u64| *x = (*x & !0xffff_ffff) | u64::from(v);
        match reg.offset {
            FLIP if v & 1 == 1 => self.load_staged()?,
            FLIP => {}
            ROUTERMODE => self.st.routermode = v,
            NUMINST => {
                if v as usize > contract::IMEM_SLOTS {
                    return Err(BusError::Transport(format!(
                        "NUMINST {v}: a bank holds {} slots",
                        contract::IMEM_SLOTS
                    )));
                }
                self.st.numinst = v;
            }
            WRINST => {
                self.st.wrptr = v;
                if v == 0 {
                    self.st.insns.clear();
                    self.st.budget = 0;
                    self.st.loinst_lost = false;
                }
            }
            BUDGET => self.st.budget = v,
            HIINST => self.st.hiinst = v,
            LOINST => {
                let at = self.st.wrptr as usize;
                if at >= contract::IMEM_SLOTS {
                    return Err(BusError::Transport(format!(
                        "LOINST: slot {at} is past the bank's {} slots",
                        contract::IMEM_SLOTS
                    )));
                }
                if self.st.insns.len() <= at {
                    self.st.insns.resize(at + 1, 0);
                }
                self.st.insns[at] = (u64::from(self.st.hiinst) << 32) | u64::from(v);
                self.st.wrptr += 1;
                if self.imem.users(self.imem.idle()) > 0 {
                    self.st.loinst_lost = true;
                }
            }
            NUMMAP => {
                if v as usize > contract::MAX_MAPS {
                    return Err(BusError::Transport(format!(
                        "NUMMAP {v}: the table has {} rows",
                        contract::MAX_MAPS
                    )));
                }
                self.end_scan();
                self.st.nummap = v;
                self.st.maprow = 0;
                self.st.maprowend = v;
                self.dev.with(|d| d.maps.clear());
                for r in 0..contract::MAX_MAPS {
                    self.dev.with(|d| d.maps.unconfigure(r));
                }
            }
            TYPEMAP => self.st.typemap = v,
            HIKEYMASKMAP => hi(&mut self.st.keymask),
            LOKEYMASKMAP => lo(&mut self.st.keymask),
            HIVALUEMASKMAP => hi(&mut self.st.valuemask),
            LOVALUEMASKMAP => lo(&mut self.st.valuemask),
            MAXELEMSMAP => {
                self.st.maxelems = v;
                if self.st.maprow >= self.st.maprowend {
                    return Err(BusError::Transport(format!(
                        "MAXELEMSMAP: the table load (NUMMAP or MAPLOAD) ended at row {}, all written",
                        self.st.maprowend
                    )));
                }
                self.commit_map_row()?;
            }
            MAPLOAD => {
                let (base, count) = (v >> 8, v & 0xff);
                if v >> 16 != 0 || (base + count) as usize > contract::MAX_MAPS {
                    return Err(BusError::Transport(format!(
                        "MAPLOAD {v:#x}: rows {base}..{} are past the table's {} rows",
                        base + count,
                        contract::MAX_MAPS
                    )));
                }
                self.end_scan();
                self.st.maprow = base;
                self.st.maprowend = base + count;
                self.dev
                    .with(|d| d.maps.reload(base as usize..(base + count) as usize));
            }
            SELECTMEMORY => self.st.selectmemory = v,
            OPERATION => {
                self.host_idle("OPERATION")?;
                let (error, value) = self.map_op(v);
                self.st.ack = 0;
                let done = HostDone::Op { error, value };
                self.start_host_op(contract::HOST_OP_CLOCKS, false, done);
            }
            HIKEY => hi(&mut self.st.key),
            LOKEY => lo(&mut self.st.key),
            HIMASK => hi(&mut self.st.mask),
            LOMASK => lo(&mut self.st.mask),
            HIDIN => hi(&mut self.st.value),
            LODIN => lo(&mut self.st.value),
            CLEAN => {
                if v & 1 == 1 {
                    self.end_scan();
                    self.dev.with(|d| d.maps.clear());
                    self.st.ack = 1;
                }
            }
            DEBUG => self.st.debug = v,
            ABIMODE => {
                let abi = if v & 1 == 1 { Abi::Xdp } else { Abi::Sume };
                if abi != self.cfg.abi {
                    if self.in_flight() > 0 {
                        return Err(BusError::Transport(
                            "ABIMODE: packets are in flight; change the ABI on an idle device"
                                .into(),
                        ));
                    }
                    self.cfg.abi = abi;
                    for (e, l) in self.lanes.iter_mut().enumerate() {
                        l.helpers = abi.engine_helpers(&self.dev, e);
                    }
                }
            }
            ENGSELECT => self.st.engselect = v,
            TRACEIDX => self.st.traceidx = v,
            TRACEPOP => {
                let (now, sel) = (self.now(), self.st.engselect as usize);
                if v & 1 == 1 && sel < self.lanes.len() {
                    self.dev.with(|d| d.log.queue_mut(sel).pop(now));
                }
            }
            MAPSELECT => self.st.mapselect = v,
            KEYSIZEMAP => self.st.keysize = v,
            VALUESIZEMAP => self.st.valuesize = v,
            WIDEOP => {
                self.host_idle("WIDEOP")?;
                let (done, steps) = self.wide_op(v);
                // Busy (bit 1), the last errno kept until done.
                self.st.widestatus = (self.st.widestatus & 0xffff_0000) | 2;
                let clocks = steps.map_or(contract::HOST_OP_CLOCKS, contract::scan_clocks);
                self.start_host_op(clocks, steps.is_some(), done);
            }
            WIDEVOFF => self.st.widevoff = v,
            WIDEKEY => self.st.widekey[i as usize] = v,
            WIDEVALUE => self.st.widevalue[i as usize] = v,
            RDINSTADDR => self.st.rdaddr = v,
            PORTSELECT => self.st.portselect = v,
            _ => return Err(BusError::Unmapped(off)),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regs::RegisterBus;

    /// Four engines sending everything to port 1, frames whose words are
    /// all there at once.
    fn device() -> Device {
        let mut d = Device::new(DeviceConfig {
            pacing: Pacing::Instant,
            ..DeviceConfig::default()
        })
        .unwrap();
        // r0 = 1; exit
        let p = Program::new(vec![crate::build::mov64_imm(0, 1), crate::build::exit()]);
        d.write_idle(p.unwrap()).unwrap();
        d.flip();
        d
    }

    #[test]
    fn one_stream_sends_packets_one_after_the_other_round_robin() {
        let mut d = device();
        for port in 0..PORTS {
            assert!(d.rx(port, &[port as u8; 128]));
        }
        let mut states = Vec::new();
        while d.in_flight() > 0 {
            d.step();
            states.push(d.read32(regs::OUTARBFSMSTATE).unwrap());
        }
        let out = d.take_outputs();
        // Same verdict clock on every engine; then engine 0 (the one after
        // the last served, 3 at reset), 1, 2, 3, four 256-bit beats each.
        assert!(out.iter().all(|o| o.done == out[0].done));
        let engines: Vec<usize> = out.iter().map(|o| o.engine).collect();
        assert_eq!(engines, vec![0, 1, 2, 3]);
        let sent: Vec<u64> = out.iter().map(|o| o.sent).collect();
        let s0 = out[0].done + 4;
        assert_eq!(sent, vec![s0, s0 + 4, s0 + 8, s0 + 12]);
        assert!(out.iter().all(|o| o.frame == vec![o.in_port as u8; 128]));
        // OUTARBFSMSTATE: the engine being sent from, 0xf when idle.
        let busy: Vec<u32> = states.iter().copied().filter(|&s| s != 0xf).collect();
        assert_eq!(busy, [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]);
        assert_eq!(states.last(), Some(&0xf));
    }

    /// Write `src` through the program registers (BUDGET `budget` unless
    /// None) and FLIP.
    fn load(d: &mut Device, src: &str, budget: Option<u32>) {
        let insns = crate::asm::assemble(src).unwrap();
        d.write32(regs::WRINST, 0).unwrap();
        d.write32(regs::NUMINST, insns.len() as u32).unwrap();
        if let Some(b) = budget {
            d.write32(regs::BUDGET, b).unwrap();
        }
        for i in &insns {
            let w = i.to_u64();
            d.write32(regs::HIINST, (w >> 32) as u32).unwrap();
            d.write32(regs::LOINST, w as u32).unwrap();
        }
        d.write32(regs::FLIP, 1).unwrap();
    }

    /// In XDP mode FLIP refuses a program calling a helper only the
    /// software engines run (`bpf_fib_lookup`), and keeps the running one.
    #[test]
    fn flip_refuses_helpers_the_device_does_not_run() {
        let mut d = device();
        d.write32(regs::ABIMODE, 1).unwrap();
        let insns = [crate::build::call(69), crate::build::exit()];
        d.write32(regs::WRINST, 0).unwrap();
        d.write32(regs::NUMINST, 2).unwrap();
        for i in &insns {
            let w = i.to_u64();
            d.write32(regs::HIINST, (w >> 32) as u32).unwrap();
            d.write32(regs::LOINST, w as u32).unwrap();
        }
        let e = d.write32(regs::FLIP, 1).unwrap_err().to_string();
        assert!(e.contains("unknown helper 69"), "{e}");
        assert!(crate::units::xdp_helper_known(69) && crate::units::tc_helper_known(69));
        assert!(!crate::units::xdp_device_helper_known(69));
        assert!(
            crate::units::not_on_device(69)
                .unwrap()
                .contains("no forwarding table")
        );
        // bpf_spin_lock and bpf_spin_unlock: the same on the software
        // engines' XDP and tc ABIs only.
        for id in [93, 94] {
            assert!(crate::units::xdp_helper_known(id) && crate::units::tc_helper_known(id));
            assert!(!crate::units::xdp_device_helper_known(id));
            assert!(
                crate::units::not_on_device(id)
                    .unwrap()
                    .contains("no lock between its engines")
            );
        }
    }

    /// Counts r0 to `n` (2n + 3 instructions), then sends to port 1.
    fn count_to(n: u32) -> String {
        format!("mov %r0, 0\ntop: add %r0, 1\njlt %r0, {n}, top\nmov %r0, 1\nexit")
    }

    #[test]
    fn the_budget_travels_with_the_program_and_its_bank() {
        // The default: one full-size frame time (203 instructions fit).
        let mut d = device();
        assert_eq!(
            d.read32(regs::BUDGET).unwrap() as u64,
            contract::DEVICE_INSN_BUDGET
        );
        load(&mut d, &count_to(100), None);
        assert!(d.rx(0, &[0; 64]));
        d.drain(100_000);
        assert_eq!(d.take_outputs().len(), 1);
        assert_eq!(d.engine_counters(0).unwrap().faults, 0);
        // BUDGET 64 with the same program: aborted with cause 2.
        load(&mut d, &count_to(100), Some(64));
        assert_eq!(d.read32(regs::BUDGET).unwrap(), 64);
        assert!(d.rx(0, &[0; 64]));
        d.drain(100_000);
        assert!(d.take_outputs().is_empty());
        let c = d.engine_counters(0).unwrap();
        assert_eq!((c.faults, c.fault_cause), (1, 2));
        // The 65th instruction faults: the add or the jlt of iteration 32.
        assert!(c.fault_pc == 1 || c.fault_pc == 2, "{}", c.fault_pc);
        // A program written without BUDGET after WRINST 0: the default again.
        load(&mut d, &count_to(100), None);
        assert_eq!(
            d.read32(regs::BUDGET).unwrap() as u64,
            contract::DEVICE_INSN_BUDGET
        );
        assert!(d.rx(0, &[0; 64]));
        d.drain(100_000);
        assert_eq!(d.take_outputs().len(), 1);
        assert_eq!(d.engine_counters(0).unwrap().faults, 1);
    }

    #[test]
    fn a_packet_in_flight_keeps_the_budget_of_the_bank_it_started_on() {
        let mut d = device();
        // 603 instructions under a budget of 1000.
        load(&mut d, &count_to(300), Some(1000));
        let bank = d.active_bank();
        assert!(d.rx(0, &[1; 64]));
        for _ in 0..20 {
            d.step();
        }
        assert!(d.lanes[0].engine.busy());
        // Swap in the same program under 64 while the packet runs.
        load(&mut d, &count_to(300), Some(64));
        assert_ne!(d.active_bank(), bank);
        assert_eq!(d.read32(regs::BUDGET).unwrap(), 64);
        assert!(d.rx(0, &[2; 64]));
        d.drain(100_000);
        let out = d.take_outputs();
        // The first finished on its bank; the second ran under 64.
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].frame[0], out[0].bank), (1, bank));
        let c = d.engine_counters(0).unwrap();
        assert_eq!((c.faults, c.fault_cause), (1, 2));
        assert_eq!(d.bank_budget(bank), 1000);
        assert_eq!(d.bank_budget(bank ^ 1), 64);
    }

    /// LOINSTs written while an engine still runs a packet on the idle
    /// bank are lost to it (the RTL writes each through to that bank): the
    /// FLIP is refused even once the engine is done, until the program is
    /// written again from WRINST 0.
    #[test]
    fn a_flip_after_loinsts_the_idle_bank_missed_is_refused() {
        let mut d = device();
        load(&mut d, &count_to(300), None);
        assert!(d.rx(0, &[1; 64]));
        for _ in 0..20 {
            d.step();
        }
        // The packet's bank becomes the idle one.
        load(&mut d, &count_to(1), None);
        assert!(d.lanes[0].engine.busy());
        let insns = crate::asm::assemble(&count_to(2)).unwrap();
        d.write32(regs::WRINST, 0).unwrap();
        d.write32(regs::NUMINST, insns.len() as u32).unwrap();
        for i in &insns {
            let w = i.to_u64();
            d.write32(regs::HIINST, (w >> 32) as u32).unwrap();
            d.write32(regs::LOINST, w as u32).unwrap();
        }
        d.drain(100_000);
        assert!(!d.lanes[0].engine.busy());
        let e = d.write32(regs::FLIP, 1).unwrap_err().to_string();
        assert!(e.contains("WRINST 0") && e.contains("retry"), "{e}");
        let bank = d.active_bank();
        load(&mut d, &count_to(2), None);
        assert_ne!(d.active_bank(), bank, "written again: taken");
    }

    #[test]
    fn a_sent_packet_keeps_its_words_until_the_stream_has_sent_them() {
        let mut d = device();
        // 1500 bytes: 48 FIFO_MD words with the header, held until the
        // stream has sent them: two such frames fit the 128 words, with 32
        // left for the next frame.
        assert_eq!(contract::FIFO_WORDS, 128);
        assert!(d.rx(0, &[7; 1500]));
        d.step();
        assert!(
            d.rx(0, &[6; 1500]),
            "room for a second while the first is held"
        );
        d.step();
        assert!(!d.rx(0, &[8; 1500]), "no room for a third");
        assert!(d.rx(0, &[9; 400]));
        d.drain(10_000);
        let out = d.take_outputs();
        assert_eq!(out.len(), 3);
        assert_eq!(out[2].sent, out[1].sent + 13, "13 beats of 400 bytes");
        assert!(d.rx(0, &[8; 1500]), "all words free again");
        assert_eq!(d.port_counters(0).unwrap().rx_dropped, 1);
    }
}
