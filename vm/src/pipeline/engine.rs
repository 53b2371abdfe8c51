//! One eBPF engine: the five-stage pipeline, its forwarding and hazard units,
//! the call-frame stack and the engine's FIFO_MD.
//!
//! Each pipeline register is a struct ([`IfId`], [`IdEx`], [`ExMem`],
//! [`MemWb`]); [`Engine::step`] is one clock. Stages are evaluated from WB
//! back to IF so each reads its input register before the stage upstream
//! overwrites it; forwarding sources are sampled at the start of the clock.
//! Semantics come from [`crate::sem`]; this file decides only *when* things
//! happen. See `docs/pipeline.md` for the stall and latency table.

use super::decode::{Lite, NO_REG, PipeDecoded};
use super::fifo::{FifoError, FifoMd, Pacing};
use super::imem::{Bank, InstrMem};
use super::record::{
    CycleRecord, CycleTracer, EX, Fwd, ID, IF, MEM, StageSlot, Stall, StallCauses, WB,
};
use crate::contract;
use crate::helpers::{HelperOutcome, Helpers};
use crate::interp::{Fault, FaultKind, Outcome};
use crate::isa::{Kind, Src, Unit, Width};
use crate::mem::{MemFault, Memory};
use crate::sem;
use crate::trace::{MemAccess, Retire, Tracer};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A latency the helper unit reports after a call (e.g. the map
/// coprocessor's CAM/TCAM cycles for the operation just done), or `None` to
/// use the table.
pub type LatencyFn = Arc<dyn Fn(u32) -> Option<u64> + Send + Sync>;

/// Helper latency: cycles in MEM from request to answer, per helper id.
/// The helper runs when the request issues (the first MEM cycle); MEM then
/// holds the call until the answer.
#[derive(Clone)]
pub struct HelperLatency {
    pub default: u64,
    pub by_id: BTreeMap<u32, u64>,
    /// Asked after each call; its answer wins over the table.
    pub after_call: Option<LatencyFn>,
}

impl std::fmt::Debug for HelperLatency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HelperLatency")
            .field("default", &self.default)
            .field("by_id", &self.by_id)
            .field("after_call", &self.after_call.is_some())
            .finish()
    }
}

impl Default for HelperLatency {
    fn default() -> Self {
        HelperLatency {
            default: contract::HELPER_DEFAULT_CYCLES,
            by_id: BTreeMap::new(),
            after_call: None,
        }
    }
}

impl HelperLatency {
    /// Latency of helper `id` from the table (at least 1 cycle).
    pub fn of(&self, id: u32) -> u64 {
        self.by_id.get(&id).copied().unwrap_or(self.default).max(1)
    }

    /// Latency of the call to `id` that just ran.
    pub fn after(&self, id: u32) -> u64 {
        self.after_call
            .as_ref()
            .and_then(|f| f(id))
            .unwrap_or_else(|| self.of(id))
            .max(1)
    }

    /// Latencies as the device's helper units report them
    /// ([`crate::units::EngineState::last_call`] of `engine`), falling back
    /// to the table.
    pub fn from_device(dev: crate::units::SharedDeviceState, engine: usize) -> Self {
        HelperLatency {
            after_call: Some(Arc::new(move |id| {
                dev.with(|d| d.engine(engine).last_call)
                    .filter(|c| c.id == id)
                    .map(|c| c.cycles as u64)
            })),
            ..HelperLatency::default()
        }
    }
}

/// Engine configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Instruction budget per packet (counted like the interpreter counts),
    /// for a packet whose bank sets none ([`Bank::budget`] 0).
    pub budget: u64,
    pub max_frames: usize,
    pub engine: u8,
    pub helper_latency: HelperLatency,
    /// FIFO_MD word arrival.
    pub pacing: Pacing,
    /// A verdict retires its FIFO_MD slot until the data plane's egress
    /// releases it ([`Engine::retired`]) instead of freeing it.
    pub hold: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            budget: contract::DEFAULT_INSN_BUDGET,
            max_frames: contract::MAX_FRAMES,
            engine: 0,
            helper_latency: HelperLatency::default(),
            pacing: Pacing::default(),
            hold: false,
        }
    }
}

impl From<&crate::interp::Config> for Config {
    fn from(c: &crate::interp::Config) -> Self {
        Config {
            budget: c.budget,
            max_frames: c.max_frames,
            engine: c.engine,
            ..Config::default()
        }
    }
}

/// Cycle statistics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Clocks stepped (idle ones included).
    pub cycles: u64,
    /// Clocks with a packet running.
    pub busy_cycles: u64,
    pub retired: u64,
    /// Clocks per stall cause, indexed by [`Stall::index`].
    pub stalls: [u64; Stall::COUNT],
    /// Clocks in which IF and ID were discarded.
    pub flushes: u64,
    pub packets: u64,
}

impl Stats {
    /// Cycles per retired instruction over the busy cycles.
    pub fn cpi(&self) -> f64 {
        if self.retired == 0 {
            0.0
        } else {
            self.busy_cycles as f64 / self.retired as f64
        }
    }

    pub fn stall(&self, s: Stall) -> u64 {
        self.stalls[s.index()]
    }

    /// Human-readable summary.
    pub fn report(&self) -> String {
        let mut s = format!(
            "cycles {}\nbusy cycles {}\ninstructions retired {}\nCPI {:.3}\npackets {}\nflushes {}\n",
            self.cycles,
            self.busy_cycles,
            self.retired,
            self.cpi(),
            self.packets,
            self.flushes
        );
        for c in Stall::ALL {
            if c != Stall::None && self.stall(c) > 0 {
                s.push_str(&format!("stall {} {}\n", c.name(), self.stall(c)));
            }
        }
        s
    }
}

/// A packet's end: its result, its bytes as the program left them, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub result: Result<Outcome, Fault>,
    pub packet: Vec<u8>,
    /// Cycle of the packet's first fetch and of its last retirement.
    pub start: u64,
    pub end: u64,
    pub bank: u8,
}

impl Verdict {
    /// Cycles from first fetch to last retirement, both included.
    pub fn cycles(&self) -> u64 {
        self.end - self.start + 1
    }
}

/// Control effect carried to WB (the RTL's `CTL_*` codes are
/// [`Ctl::code`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Ctl {
    #[default]
    None,
    /// bpf-to-bpf call: push a frame at WB.
    Call { ret: u32 },
    /// Return from a bpf-to-bpf call: pop the frame at WB.
    Return,
    /// Final `exit` (or a helper's unwind): r0 goes to the action unit.
    Final,
}

impl Ctl {
    /// One of each effect, in code order.
    pub const ALL: [Ctl; 4] = [Ctl::None, Ctl::Call { ret: 0 }, Ctl::Return, Ctl::Final];

    /// The effect's code in the EX/MEM and MEM/WB registers of the RTL.
    pub const fn code(self) -> u8 {
        match self {
            Ctl::None => 0,
            Ctl::Call { .. } => 1,
            Ctl::Return => 2,
            Ctl::Final => 3,
        }
    }

    /// The effect's name, upper case (`CTL_<name>` in the RTL).
    pub const fn name(self) -> &'static str {
        match self {
            Ctl::None => "NONE",
            Ctl::Call { .. } => "CALL",
            Ctl::Return => "RET",
            Ctl::Final => "FINAL",
        }
    }
}

/// IF/ID pipeline register.
#[derive(Debug, Clone, Copy, Default)]
pub struct IfId {
    pub valid: bool,
    pub pc: u32,
    pub seq: u32,
}

/// ID/EX pipeline register.
#[derive(Debug, Clone, Copy)]
pub struct IdEx {
    pub valid: bool,
    pub pc: u32,
    pub seq: u32,
    pub p: PipeDecoded,
    /// Cycles spent in EX so far.
    ecount: u32,
}

/// EX/MEM pipeline register.
#[derive(Debug, Clone, Copy)]
pub struct ExMem {
    pub valid: bool,
    pub pc: u32,
    pub seq: u32,
    pub l: Lite,
    /// Result made in EX (or, after MEM, the loaded value).
    pub val: u64,
    /// Memory address of a load, store or atomic.
    pub addr: u64,
    /// Store value / atomic operand.
    pub sval: u64,
    /// r0 for cmpxchg.
    pub cmp: u64,
    /// Helper id (arguments wait in `Engine::call_args`).
    hid: u32,
    ctl: Ctl,
    faulted: bool,
    /// Cycles spent in MEM so far (counting from the first cycle its words
    /// are valid).
    mcount: u32,
    /// Cycles the helper unit takes for this call (known once it ran).
    mlat: u32,
}

/// MEM/WB pipeline register.
#[derive(Debug, Clone, Copy)]
pub struct MemWb {
    pub valid: bool,
    pub pc: u32,
    pub seq: u32,
    pub l: Lite,
    pub val: u64,
    pub mem: Option<MemAccess>,
    ctl: Ctl,
    faulted: bool,
}

#[derive(Debug, Clone, Copy)]
struct Frame {
    ret: u32,
    saved: [u64; 4],
    r10: u64,
}

const BUBBLE_P: PipeDecoded = PipeDecoded {
    d: crate::program::Decoded {
        kind: Kind::Exit,
        dst: 0,
        src: 0,
        off: 0,
        imm: 0,
        row: u16::MAX,
        fast: crate::fast::Fast::of(Kind::Exit),
    },
    unit: Unit::Alu,
    reads: 0,
    wreg: NO_REG,
    mem_result: false,
    ex_cycles: 1,
    slots: 1,
    uses_mem: false,
};

const EXMEM_BUBBLE: ExMem = ExMem {
    valid: false,
    pc: 0,
    seq: 0,
    l: BUBBLE_P.lite(),
    val: 0,
    addr: 0,
    sval: 0,
    cmp: 0,
    hid: 0,
    ctl: Ctl::None,
    faulted: false,
    mcount: 0,
    mlat: 0,
};

const MEMWB_BUBBLE: MemWb = MemWb {
    valid: false,
    pc: 0,
    seq: 0,
    l: BUBBLE_P.lite(),
    val: 0,
    mem: None,
    ctl: Ctl::None,
    faulted: false,
};

const IDEX_BUBBLE: IdEx = IdEx {
    valid: false,
    pc: 0,
    seq: 0,
    p: BUBBLE_P,
    ecount: 0,
};

/// Result of a data-memory access in MEM.
enum Access<T> {
    Done(T),
    /// The FIFO_MD word has not arrived.
    Wait,
    Fault(MemFault),
}

/// One engine.
#[derive(Debug)]
pub struct Engine {
    cfg: Config,
    pub fifo: FifoMd,
    /// The port's clock was already run this cycle ([`Engine::tick_port`]).
    ticked: bool,
    cycle: u64,
    stats: Stats,
    // Per packet.
    running: bool,
    bank: Option<Bank>,
    bank_idx: u8,
    /// Instruction budget of the running packet (its bank's).
    budget: u64,
    start: u64,
    r: [u64; 16],
    frames: Vec<Frame>,
    pc: u32,
    fetch_on: bool,
    next_seq: u32,
    executed: u64,
    retired: u64,
    /// Fault of the instruction flagged `faulted` (at most one in flight).
    fault: Option<FaultKind>,
    /// Length of the running packet's window (0: no packet mapped).
    pkt_len: usize,
    pkt_writable: bool,
    ifid: IfId,
    idex: IdEx,
    exmem: ExMem,
    memwb: MemWb,
    /// Result computed on a multi-cycle instruction's first EX cycle, held
    /// while the unit is busy.
    ex_hold: ExMem,
    /// r1..r5 of the helper call in EX/MEM (one call in flight at most).
    call_args: [u64; 5],
    /// The helper's answer, waiting for its latency to pass.
    helper_answer: Option<Option<Result<HelperOutcome, String>>>,
    /// The packet is not in FIFO_MD but in `Memory` (oversized, see
    /// [`Engine::bypass_packet_window`]).
    bypass: bool,
}

impl Engine {
    pub fn new(cfg: Config) -> Self {
        Engine {
            budget: cfg.budget,
            ticked: false,
            fifo: if cfg.hold {
                FifoMd::with_hold(cfg.pacing)
            } else {
                FifoMd::new(cfg.pacing)
            },
            cfg,
            cycle: 0,
            stats: Stats::default(),
            running: false,
            bank: None,
            bank_idx: 0,
            start: 0,
            r: [0; 16],
            frames: Vec::with_capacity(contract::MAX_FRAMES),
            pc: 0,
            fetch_on: false,
            next_seq: 0,
            executed: 0,
            retired: 0,
            fault: None,
            pkt_len: 0,
            pkt_writable: true,
            ifid: IfId::default(),
            idex: IDEX_BUBBLE,
            exmem: EXMEM_BUBBLE,
            memwb: MEMWB_BUBBLE,
            ex_hold: EXMEM_BUBBLE,
            call_args: [0; 5],
            helper_answer: None,
            bypass: false,
        }
    }

    /// Leave the "packet" region of `Memory` alone: packet accesses go to
    /// plain memory without FIFO_MD timing. For packets larger than the
    /// FIFO_MD window, which the hardware cannot hold; push empty packets.
    pub fn bypass_packet_window(&mut self) {
        self.bypass = true;
    }

    pub fn packet_window_bypassed(&self) -> bool {
        self.bypass
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The next clock's number.
    pub fn cycle(&self) -> u64 {
        self.cycle
    }

    /// A packet is running.
    pub fn busy(&self) -> bool {
        self.running
    }

    /// Architectural registers r0..r10 (as written back so far).
    pub fn regs(&self) -> [u64; 11] {
        let mut o = [0; 11];
        o.copy_from_slice(&self.r[..11]);
        o
    }

    /// FIFO_MD's finished packets the egress has not released (see
    /// [`Config::hold`]).
    pub fn retired(&self) -> usize {
        self.fifo.retired()
    }

    /// The egress may start the oldest retired packet now
    /// ([`FifoMd::retired_front_ready`]).
    pub fn egress_ready(&self) -> bool {
        self.fifo.retired_front_ready()
    }

    /// Run this cycle's FIFO_MD port clock (a word may arrive) ahead of
    /// [`Engine::step`], which then does not run it again: the data plane's
    /// egress looks at the arrivals of the cycle before the engines step.
    pub fn tick_port(&mut self) {
        self.fifo.tick();
        self.ticked = true;
    }

    /// Free the oldest retired packet's FIFO_MD words.
    pub fn release_retired(&mut self) -> bool {
        self.fifo.release()
    }

    /// The packet just finished has nothing to send ([`FifoMd::drop_retired`]).
    pub fn drop_retired(&mut self) {
        self.fifo.drop_retired();
    }

    /// Queue a packet into FIFO_MD with r1..r5 = `args` for its run.
    pub fn push_packet(&mut self, bytes: &[u8], args: [u64; 5]) -> Result<(), FifoError> {
        self.fifo.push(bytes, args)
    }

    /// Queue a packet whose first `header` FIFO_MD words are not on the wire
    /// ([`FifoMd::push_framed`]).
    pub fn push_framed(
        &mut self,
        bytes: &[u8],
        header: usize,
        args: [u64; 5],
    ) -> Result<(), FifoError> {
        self.fifo.push_framed(bytes, header, args)
    }

    /// Start the head packet if it is ready; false if it is not.
    fn start_packet(&mut self, imem: &mut InstrMem, mem: &mut Memory) -> bool {
        if !self.fifo.head_ready() {
            return false;
        }
        let Some(b) = imem.begin_packet() else {
            return false;
        };
        let Some(bank) = imem.bank(b).cloned() else {
            imem.end_packet(b);
            return false;
        };
        let Some(head) = self.fifo.head() else {
            imem.end_packet(b);
            return false;
        };
        let (len, args) = (head.len, head.args);
        self.budget = bank.budget_or(self.cfg.budget);
        self.bank = Some(bank);
        self.bank_idx = b;
        self.running = true;
        self.start = self.cycle;
        self.r = [0; 16];
        self.r[1..6].copy_from_slice(&args);
        self.r[10] = contract::STACK_TOP;
        self.frames.clear();
        self.pc = 0;
        self.fetch_on = true;
        self.next_seq = 0;
        self.executed = 0;
        self.retired = 0;
        self.fault = None;
        self.ifid = IfId::default();
        self.idex = IDEX_BUBBLE;
        self.exmem = EXMEM_BUBBLE;
        self.memwb = MEMWB_BUBBLE;
        // The packet window: mirror its extent as the "packet" region so that
        // accesses partly outside it fault exactly as the interpreter's do.
        self.pkt_len = len;
        self.pkt_writable = true;
        match mem.region_mut("packet") {
            _ if self.bypass => self.pkt_len = 0,
            Some(reg) if reg.base == contract::PKT_BASE => {
                reg.data.resize(len, 0);
                self.pkt_writable = reg.writable;
            }
            Some(_) => self.pkt_len = 0,
            None => {
                if len > 0
                    && mem
                        .add("packet", contract::PKT_BASE, vec![0; len], true)
                        .is_err()
                {
                    self.pkt_len = 0;
                }
            }
        }
        true
    }

    fn finish(
        &mut self,
        imem: &mut InstrMem,
        mem: &mut Memory,
        result: Result<Outcome, Fault>,
    ) -> Verdict {
        self.running = false;
        self.bank = None;
        imem.end_packet(self.bank_idx);
        let packet = self.fifo.pop().unwrap_or_default();
        self.sync_to_mem(mem, &packet);
        self.stats.packets += 1;
        Verdict {
            result,
            packet,
            start: self.start,
            end: self.cycle,
            bank: self.bank_idx,
        }
    }

    fn sync_to_mem(&self, mem: &mut Memory, bytes: &[u8]) {
        if self.pkt_len > 0
            && let Some(reg) = mem.region_mut("packet")
            && reg.data.len() == bytes.len()
        {
            reg.data.copy_from_slice(bytes);
        }
    }

    /// Offset into the running packet when `addr..addr + n` lies in it.
    #[inline(always)]
    fn pkt_off(&self, addr: u64, n: u64) -> Option<usize> {
        let off = addr.wrapping_sub(contract::PKT_BASE);
        let len = self.pkt_len as u64;
        (off < len && n <= len - off).then_some(off as usize)
    }

    #[inline]
    fn load(&self, mem: &Memory, addr: u64, w: Width) -> Access<u64> {
        let n = w.bytes() as u64;
        if let Some(off) = self.pkt_off(addr, n) {
            if !self.fifo.valid(off, n as usize) {
                return Access::Wait;
            }
            return Access::Done(self.fifo.read(off, n as usize));
        }
        match mem.load(addr, w) {
            Ok(v) => Access::Done(v),
            Err(e) => Access::Fault(e),
        }
    }

    /// Can a store at `addr` proceed (its FIFO_MD words valid)?
    #[inline]
    fn store_ready(&self, addr: u64, w: Width) -> bool {
        let n = w.bytes() as u64;
        match self.pkt_off(addr, n) {
            Some(off) => self.fifo.valid(off, n as usize),
            None => true,
        }
    }

    #[inline]
    fn store(&mut self, mem: &mut Memory, addr: u64, w: Width, v: u64) -> Result<(), MemFault> {
        let n = w.bytes() as u64;
        if self.pkt_writable
            && let Some(off) = self.pkt_off(addr, n)
        {
            self.fifo.write(off, n as usize, v);
            return Ok(());
        }
        mem.store(addr, w, v)
    }

    /// One clock. Returns the verdict of a packet that ended in this clock.
    pub fn step<T: Tracer, C: CycleTracer>(
        &mut self,
        imem: &mut InstrMem,
        mem: &mut Memory,
        helpers: &mut Helpers,
        tracer: &mut T,
        ct: &mut C,
    ) -> Option<Verdict> {
        if !std::mem::take(&mut self.ticked) {
            self.fifo.tick();
        }
        if !self.running && !self.start_packet(imem, mem) {
            self.stats.cycles += 1;
            self.stats.stalls[Stall::Idle.index()] += 1;
            if C::ENABLED {
                ct.cycle(&CycleRecord {
                    cycle: self.cycle,
                    engine: self.cfg.engine,
                    stall: Stall::Idle,
                    bank: imem.active(),
                    ..CycleRecord::default()
                });
            }
            self.cycle += 1;
            return None;
        }
        let v = self.clock(mem, helpers, tracer, ct);
        let v = v.map(|res| self.finish(imem, mem, res));
        self.cycle += 1;
        v
    }

    /// The clock [`Engine::step`] runs when no packet is running or queued
    /// (the port clock, unless [`Engine::tick_port`] ran it, and an idle
    /// clock in the statistics), without the rest of `step`: for a data
    /// plane that steps many engines most of which wait for traffic. False,
    /// and nothing done, when a packet is running or queued (then call
    /// `step`). No cycle record is made: callers that record cycles call
    /// `step`.
    #[inline]
    pub fn step_idle(&mut self) -> bool {
        if self.running || self.fifo.head().is_some() {
            return false;
        }
        if !std::mem::take(&mut self.ticked) {
            self.fifo.tick();
        }
        self.stats.cycles += 1;
        self.stats.stalls[Stall::Idle.index()] += 1;
        self.cycle += 1;
        true
    }

    /// Snapshot of the stages at the start of the clock.
    fn stages(&self) -> [StageSlot; 5] {
        let mut s = [StageSlot::default(); 5];
        let len = self.bank.as_ref().map_or(0, |b| b.pre.len());
        s[IF] = StageSlot {
            valid: self.fetch_on && (self.pc as usize) < len,
            pc: self.pc,
            seq: self.next_seq,
        };
        s[ID] = StageSlot {
            valid: self.ifid.valid,
            pc: self.ifid.pc,
            seq: self.ifid.seq,
        };
        s[EX] = StageSlot {
            valid: self.idex.valid,
            pc: self.idex.pc,
            seq: self.idex.seq,
        };
        s[MEM] = StageSlot {
            valid: self.exmem.valid,
            pc: self.exmem.pc,
            seq: self.exmem.seq,
        };
        s[WB] = StageSlot {
            valid: self.memwb.valid,
            pc: self.memwb.pc,
            seq: self.memwb.seq,
        };
        s
    }

    fn retire_record(&self, w: &MemWb, reg: Option<(u8, u64)>, fault: Option<String>) -> Retire {
        let insns = self.bank.as_ref().map(|b| b.prog.insns());
        let pc = w.pc as usize;
        let insn = insns.and_then(|i| i.get(pc)).copied().unwrap_or_default();
        let insn_hi = if fault.is_none() && w.l.slots == 2 {
            insns.and_then(|i| i.get(pc + 1)).copied()
        } else {
            None
        };
        Retire {
            order: self.retired,
            cycle: self.cycle,
            engine: self.cfg.engine,
            pc: w.pc,
            insn,
            insn_hi,
            reg,
            mem: if fault.is_none() { w.mem } else { None },
            fault,
        }
    }

    /// Kill everything younger than MEM and stop fetching.
    fn kill_younger(&mut self) {
        self.idex.valid = false;
        self.ifid.valid = false;
        self.fetch_on = false;
    }

    /// One clock of a running packet. `Some` when the packet ends.
    ///
    /// The stages run in the RTL's order, WB, MEM, EX, ID, IF, each in its
    /// own function (`wb_stage` .. `if_stage`) that raises its stall causes
    /// in one [`StallCauses`]; the hazard signals between them are named
    /// here as in `rtl/ebpf_engine.v`: `kill` (a fault or unwind in MEM
    /// discards IF, ID and EX), `frozen` (MEM or EX holds: nothing behind
    /// them moves), `flush`, `redirect`. The reported cause is the one
    /// priority encoder's, [`StallCauses::encode`].
    fn clock<T: Tracer, C: CycleTracer>(
        &mut self,
        mem: &mut Memory,
        helpers: &mut Helpers,
        tracer: &mut T,
        ct: &mut C,
    ) -> Option<Result<Outcome, Fault>> {
        let mut rec = CycleRecord::default();
        if C::ENABLED {
            rec.cycle = self.cycle;
            rec.engine = self.cfg.engine;
            rec.stage = self.stages();
            rec.bank = self.bank_idx;
        }
        self.stats.cycles += 1;
        self.stats.busy_cycles += 1;
        // Forwarding sources as they stand at the start of the clock.
        let fw_exmem = (self.exmem.valid && !self.exmem.l.mem_result)
            .then_some((self.exmem.l.wreg, self.exmem.val));
        let fw_memwb = self
            .memwb
            .valid
            .then_some((self.memwb.l.wreg, self.memwb.val));
        let mut causes = StallCauses::default();

        if let Some(end) = self.wb_stage(tracer) {
            // The verdict: the pipeline has drained.
            causes.raise(Stall::Drain);
            self.end_cycle(ct, rec, causes, false);
            return Some(end);
        }

        // MEM. A fault or an unwind here stops fetch (`kill`).
        let fetching = self.fetch_on;
        let mem_stall = self.exmem.valid && {
            let cause = self.mem_stage(mem, helpers);
            if let Some(c) = cause {
                causes.raise(c);
            }
            cause.is_some()
        };
        let kill = fetching && !self.fetch_on;
        let mut flush = kill;

        // EX, unless MEM holds.
        let mut ex_stall = false;
        let mut redirect: Option<u32> = None;
        if !mem_stall {
            if self.idex.valid {
                let (fwd, r) = self.ex_stage(fw_exmem, fw_memwb);
                rec.fwd = fwd;
                match r {
                    ExResult::Busy(cause) => {
                        ex_stall = true;
                        causes.raise(cause);
                    }
                    ExResult::Done { redirect: rd, stop } => {
                        redirect = rd;
                        flush |= rd.is_some() || stop;
                        if stop {
                            self.fetch_on = false;
                        }
                    }
                }
            } else {
                self.exmem.valid = false;
            }
        }

        // ID and IF, unless MEM or EX holds.
        let frozen = mem_stall || ex_stall;
        let load_use = !frozen && self.id_stage(flush);
        if load_use {
            causes.raise(Stall::LoadUse);
        }
        self.if_stage(redirect, flush, frozen || load_use);
        if !self.fetch_on {
            causes.raise(Stall::Drain);
        }
        self.end_cycle(ct, rec, causes, flush);
        None
    }

    /// WB: retire the instruction in MEM/WB (register write, call frame
    /// push or pop). `Some` when it ends the packet: a fault, or the final
    /// `exit`.
    #[inline(always)]
    fn wb_stage<T: Tracer>(&mut self, tracer: &mut T) -> Option<Result<Outcome, Fault>> {
        if !self.memwb.valid {
            return None;
        }
        let w = self.memwb;
        self.memwb.valid = false;
        if w.faulted {
            let kind = self.fault.take().unwrap_or(FaultKind::Budget(self.budget));
            if T::ENABLED {
                tracer.retire(self.retire_record(&w, None, Some(kind.to_string())));
            }
            self.stats.retired += 1;
            return Some(Err(Fault {
                pc: w.pc as usize,
                kind,
            }));
        }
        let reg = (w.l.wreg != NO_REG).then(|| {
            self.r[w.l.wreg as usize] = w.val;
            (w.l.wreg, w.val)
        });
        if T::ENABLED {
            tracer.retire(self.retire_record(&w, reg, None));
        }
        self.retired += 1;
        self.stats.retired += 1;
        match w.ctl {
            Ctl::None => {}
            Ctl::Call { ret } => {
                self.frames.push(Frame {
                    ret,
                    saved: [self.r[6], self.r[7], self.r[8], self.r[9]],
                    r10: self.r[10],
                });
                self.r[10] = self.r[10].wrapping_sub(contract::STACK_FRAME);
            }
            Ctl::Return => {
                if let Some(f) = self.frames.pop() {
                    self.r[6..10].copy_from_slice(&f.saved);
                    self.r[10] = f.r10;
                }
            }
            Ctl::Final => {
                let r0 = if w.l.wreg == 0 { w.val } else { self.r[0] };
                return Some(Ok(Outcome {
                    r0,
                    insns: self.retired,
                }));
            }
        }
        None
    }

    /// ID, when MEM and EX move: a flush empties IF/ID; otherwise the
    /// instruction in IF/ID goes to EX unless the hazard unit finds a
    /// load-use hazard (a register the MEM-made result ahead of it has not
    /// produced yet). True on a load-use hazard.
    #[inline(always)]
    fn id_stage(&mut self, flush: bool) -> bool {
        if flush {
            self.ifid.valid = false;
            return false;
        }
        if !self.ifid.valid {
            return false;
        }
        let p = self
            .bank
            .as_ref()
            .map_or(BUBBLE_P, |b| b.pre[self.ifid.pc as usize]);
        let e = &self.exmem;
        if e.valid && e.l.mem_result && p.reads & (1u16 << (e.l.wreg & 15)) != 0 {
            return true;
        }
        self.idex = IdEx {
            valid: true,
            pc: self.ifid.pc,
            seq: self.ifid.seq,
            p,
            ecount: 0,
        };
        self.ifid.valid = false;
        false
    }

    /// IF: a taken branch, call or return redirects the pc; a flush
    /// discards the slot; otherwise, unless a later stage holds, fetch the
    /// next instruction, both slots of an `lddw` in one clock (the
    /// instruction memory reads its even and odd halves every clock,
    /// `contract::LDDW_FETCH_CYCLES`), so IF never stalls on its own.
    #[inline(always)]
    fn if_stage(&mut self, redirect: Option<u32>, flush: bool, hold: bool) {
        const { assert!(contract::LDDW_FETCH_CYCLES == 1) };
        if let Some(t) = redirect {
            self.pc = t;
            self.ifid.valid = false;
            if self.fetch_on {
                self.next_seq += 1;
            }
            return;
        }
        if flush {
            self.ifid.valid = false;
            return;
        }
        if hold || !self.fetch_on {
            return;
        }
        let pre = self.bank.as_ref().map(|b| &b.pre[..]).unwrap_or(&[]);
        let Some(p) = pre.get(self.pc as usize) else {
            // Speculative fetch past the end.
            self.ifid.valid = false;
            return;
        };
        let slots = p.slots as u32;
        self.ifid = IfId {
            valid: true,
            pc: self.pc,
            seq: self.next_seq,
        };
        self.next_seq += 1;
        self.pc += slots;
    }

    #[inline(always)]
    fn end_cycle<C: CycleTracer>(
        &mut self,
        ct: &mut C,
        mut rec: CycleRecord,
        causes: StallCauses,
        flush: bool,
    ) {
        self.stats.stalls[causes.index()] += 1;
        if flush {
            self.stats.flushes += 1;
        }
        if C::ENABLED {
            rec.stall = causes.encode();
            rec.flush = flush;
            ct.cycle(&rec);
        }
    }

    /// MEM for the instruction in EX/MEM. `Some(cause)` when it stays.
    #[inline]
    fn mem_stage(&mut self, mem: &mut Memory, helpers: &mut Helpers) -> Option<Stall> {
        // Fast path: nothing to do in MEM (ALU, branches, lddw, local calls).
        if !self.exmem.l.uses_mem || self.exmem.faulted {
            let e = &self.exmem;
            self.memwb = MemWb {
                valid: true,
                pc: e.pc,
                seq: e.seq,
                l: e.l,
                val: e.val,
                mem: None,
                ctl: e.ctl,
                faulted: e.faulted,
            };
            self.exmem.valid = false;
            return None;
        }
        self.mem_stage_slow(mem, helpers)
    }

    fn mem_stage_slow(&mut self, mem: &mut Memory, helpers: &mut Helpers) -> Option<Stall> {
        let mut e = self.exmem;
        let mut out = MemWb {
            valid: true,
            pc: e.pc,
            seq: e.seq,
            l: e.l,
            val: e.val,
            mem: None,
            ctl: e.ctl,
            faulted: e.faulted,
        };
        if e.faulted {
            self.memwb = out;
            self.exmem.valid = false;
            return None;
        }
        let mut fault: Option<FaultKind> = None;
        match e.l.kind {
            Kind::Ldx { width, .. } | Kind::LdAbs { width } | Kind::LdInd { width } => {
                match self.load(mem, e.addr, width) {
                    Access::Wait => return Some(Stall::FifoWait),
                    Access::Fault(f) => fault = Some(FaultKind::Mem(f)),
                    Access::Done(v) => {
                        out.val = match e.l.kind {
                            Kind::Ldx { sx: true, .. } => sem::sign_extend(v, width.bytes() * 8),
                            Kind::Ldx { .. } => v,
                            _ => sem::ntoh(v, width),
                        };
                        out.mem = Some(MemAccess {
                            addr: e.addr,
                            width: width.bytes() as u8,
                            read: Some(v),
                            write: None,
                        });
                    }
                }
            }
            Kind::St { width } | Kind::Stx { width } => {
                if !self.store_ready(e.addr, width) {
                    return Some(Stall::FifoWait);
                }
                match self.store(mem, e.addr, width, e.sval) {
                    Err(f) => fault = Some(FaultKind::Mem(f)),
                    Ok(()) => {
                        out.mem = Some(MemAccess {
                            addr: e.addr,
                            width: width.bytes() as u8,
                            read: None,
                            write: Some(sem::truncate(e.sval, width)),
                        })
                    }
                }
            }
            Kind::Atomic { width, op, fetch } => {
                if !self.store_ready(e.addr, width) {
                    return Some(Stall::FifoWait);
                }
                e.mcount += 1;
                if (e.mcount as u64) < contract::ATOMIC_MEM_CYCLES {
                    self.exmem.mcount = e.mcount;
                    return Some(Stall::Atomic);
                }
                match self.load(mem, e.addr, width) {
                    Access::Wait => return Some(Stall::FifoWait),
                    Access::Fault(f) => fault = Some(FaultKind::Mem(f)),
                    Access::Done(old) => {
                        let res = sem::atomic(op, fetch, width, old, e.sval, e.cmp);
                        let st = match res.store {
                            Some(v) => self.store(mem, e.addr, width, v),
                            None => Ok(()),
                        };
                        match st {
                            Err(f) => fault = Some(FaultKind::Mem(f)),
                            Ok(()) => {
                                if let Some(v) = res.fetched {
                                    out.val = v;
                                }
                                out.mem = Some(MemAccess {
                                    addr: e.addr,
                                    width: width.bytes() as u8,
                                    read: Some(old),
                                    write: res.store,
                                });
                            }
                        }
                    }
                }
            }
            Kind::Call | Kind::Callx => {
                if e.mcount == 0 {
                    // A helper may read the packet through a pointer: wait
                    // for the whole packet before issuing the request.
                    if self.pkt_len > 0 && !self.fifo.head_complete() {
                        return Some(Stall::FifoWait);
                    }
                    // The request issues: the unit runs the helper now.
                    let synced = self.pkt_len > 0;
                    if synced {
                        let b = self.fifo.head_bytes();
                        self.sync_to_mem(mem, &b);
                    }
                    let r = helpers.call(e.hid, mem, self.call_args);
                    if synced && let Some(reg) = mem.region("packet") {
                        let b = reg.data.clone();
                        self.fifo.set_head_bytes(&b);
                    }
                    self.helper_answer = Some(r);
                    e.mlat = self.cfg.helper_latency.after(e.hid) as u32;
                    self.exmem.mlat = e.mlat;
                } else if helpers.has_tick() {
                    // A later clock of the call: a unit reading a buffer a
                    // word a clock reads this clock's (at the engine's place
                    // in the clock) and may answer anew and write the packet.
                    let t = helpers.tick(mem, e.mcount);
                    if let Some((addr, bytes)) = t.packet {
                        if self.pkt_len > 0 {
                            let b = self.fifo.head_bytes();
                            self.sync_to_mem(mem, &b);
                        }
                        let _ = mem.write_bytes(addr, &bytes);
                        if self.pkt_len > 0
                            && let Some(reg) = mem.region("packet")
                        {
                            let b = reg.data.clone();
                            self.fifo.set_head_bytes(&b);
                        }
                    }
                    if let Some(r) = t.answer {
                        self.helper_answer = Some(Some(r));
                    }
                }
                e.mcount += 1;
                if e.mcount < e.mlat {
                    self.exmem.mcount = e.mcount;
                    return Some(Stall::Helper);
                }
                let r = self.helper_answer.take().flatten();
                match r {
                    None => fault = Some(FaultKind::UnknownHelper(e.hid)),
                    Some(Err(msg)) => {
                        fault = Some(FaultKind::Helper {
                            id: e.hid,
                            name: helpers.name(e.hid).unwrap_or("?"),
                            msg,
                        })
                    }
                    Some(Ok(HelperOutcome::Return(v))) => out.val = v,
                    Some(Ok(HelperOutcome::Unwind(v))) => {
                        out.val = v;
                        out.ctl = Ctl::Final;
                        self.kill_younger();
                    }
                }
            }
            _ => {}
        }
        if let Some(f) = fault {
            out.faulted = true;
            self.fault = Some(f);
            self.kill_younger();
        }
        self.memwb = out;
        self.exmem.valid = false;
        None
    }

    /// EX for the instruction in ID/EX.
    fn ex_stage(
        &mut self,
        fw_exmem: Option<(u8, u64)>,
        fw_memwb: Option<(u8, u64)>,
    ) -> ([Fwd; 2], ExResult) {
        let mut sel = [Fwd::None; 2];
        let ix = &mut self.idex;
        if ix.ecount == 0 {
            // First EX cycle: count the instruction against the budget, read
            // the operands through the forwarding unit, compute.
            let p = ix.p;
            let d = p.d;
            let r = &self.r;
            let fwd = |reg: u8, s: &mut Fwd| -> u64 {
                let reg = reg & 15;
                if let Some((w, v)) = fw_exmem
                    && w == reg
                {
                    *s = Fwd::ExMem;
                    return v;
                }
                if let Some((w, v)) = fw_memwb
                    && w == reg
                {
                    *s = Fwd::MemWb;
                    return v;
                }
                *s = Fwd::Reg;
                r[reg as usize]
            };
            let mut out = ExMem {
                valid: true,
                pc: ix.pc,
                seq: ix.seq,
                l: p.lite(),
                ..EXMEM_BUBBLE
            };
            let mut redirect = None;
            let mut stop = false;
            let next = ix.pc as i64 + 1;
            if self.executed >= self.budget {
                out.faulted = true;
                self.fault = Some(FaultKind::Budget(self.budget));
                stop = true;
            } else {
                self.executed += 1;
                let mut scratch = Fwd::None;
                let a = |s: &mut Fwd| fwd(d.dst, s);
                match d.kind {
                    Kind::Alu { op, wide, src } => {
                        let b = match src {
                            Src::Reg => fwd(d.src, &mut sel[1]),
                            Src::Imm => d.imm as u64,
                        };
                        let av = if p.reads & (1 << (d.dst & 15)) != 0 {
                            a(&mut sel[0])
                        } else {
                            0
                        };
                        out.val = sem::alu(op, wide, av, b);
                    }
                    Kind::Neg { wide } => out.val = sem::neg(wide, a(&mut sel[0])),
                    Kind::End { order, bits } => out.val = sem::endian(order, bits, a(&mut sel[0])),
                    Kind::Lddw => out.val = d.imm as u64,
                    Kind::Ldx { .. } => {
                        out.addr = fwd(d.src, &mut sel[1]).wrapping_add(d.off as i64 as u64)
                    }
                    Kind::St { .. } => {
                        out.addr = a(&mut sel[0]).wrapping_add(d.off as i64 as u64);
                        out.sval = d.imm as u64;
                    }
                    Kind::Stx { .. } => {
                        out.addr = a(&mut sel[0]).wrapping_add(d.off as i64 as u64);
                        out.sval = fwd(d.src, &mut sel[1]);
                    }
                    Kind::Atomic { .. } => {
                        out.addr = a(&mut sel[0]).wrapping_add(d.off as i64 as u64);
                        out.sval = fwd(d.src, &mut sel[1]);
                        out.cmp = fwd(0, &mut scratch);
                    }
                    Kind::LdAbs { .. } | Kind::LdInd { .. } => {
                        let base = if let Kind::LdInd { .. } = d.kind {
                            fwd(d.src, &mut sel[1])
                        } else {
                            0
                        };
                        out.addr =
                            contract::PKT_BASE + (base as u32).wrapping_add(d.imm as u32) as u64;
                    }
                    Kind::Jmp { cond, wide, src } => {
                        let b = match src {
                            Src::Reg => fwd(d.src, &mut sel[1]),
                            Src::Imm => d.imm as u64,
                        };
                        if sem::cond(cond, wide, a(&mut sel[0]), b) {
                            redirect = Some((next + d.off as i64) as u32);
                        }
                    }
                    Kind::Ja => redirect = Some((next + d.off as i64) as u32),
                    Kind::Ja32 => redirect = Some((next + d.imm) as u32),
                    Kind::Call | Kind::Callx => {
                        out.hid = if let Kind::Call = d.kind {
                            d.imm as u32
                        } else {
                            a(&mut sel[0]) as u32
                        };
                        for (i, x) in self.call_args.iter_mut().enumerate() {
                            *x = fwd(i as u8 + 1, &mut scratch);
                        }
                    }
                    Kind::CallLocal => {
                        if self.frames.len() + 1 >= self.cfg.max_frames {
                            out.faulted = true;
                            self.fault = Some(FaultKind::CallDepth(self.cfg.max_frames));
                            stop = true;
                        } else {
                            out.ctl = Ctl::Call { ret: next as u32 };
                            redirect = Some((next + d.imm) as u32);
                        }
                    }
                    Kind::Exit => match self.frames.last() {
                        None => {
                            out.ctl = Ctl::Final;
                            stop = true;
                        }
                        Some(f) => {
                            out.ctl = Ctl::Return;
                            redirect = Some(f.ret);
                        }
                    },
                }
            }
            let ix = &mut self.idex;
            ix.ecount = 1;
            if !out.faulted && p.ex_cycles > 1 {
                self.ex_hold = out;
                self.exmem.valid = false;
                let cause = if p.unit == Unit::Mul {
                    Stall::Mul
                } else {
                    Stall::Div
                };
                return (sel, ExResult::Busy(cause));
            }
            self.exmem = out;
            ix.valid = false;
            return (sel, ExResult::Done { redirect, stop });
        }
        // A multi-cycle unit counting down.
        ix.ecount += 1;
        if ix.ecount < ix.p.ex_cycles {
            self.exmem.valid = false;
            let cause = if ix.p.unit == Unit::Mul {
                Stall::Mul
            } else {
                Stall::Div
            };
            return (sel, ExResult::Busy(cause));
        }
        self.exmem = self.ex_hold;
        ix.valid = false;
        (
            sel,
            ExResult::Done {
                redirect: None,
                stop: false,
            },
        )
    }
}

enum ExResult {
    Busy(Stall),
    Done { redirect: Option<u32>, stop: bool },
}
