//! The engine RTL (`rtl/ebpf_engine.v`) behind the pipeline model's run
//! interface.
//!
//! [`RtlEngine`] owns a Verilated core and the harness around it, which
//! plays the parts of the system the core talks to, exactly as the model's
//! engine does internally:
//!
//! - the instruction memory host port (the program goes into bank 0, active);
//! - the traffic source feeding FIFO_MD: a [`FifoMd`] of the model's kind
//!   decides, clock by clock, which word arrives (10 Gb/s pacing or all at
//!   once), and the harness writes that word through the core's port so it
//!   is valid in the clock the model makes it valid;
//! - the memory outside the packet and the stack (context, map values, and
//!   any access that is out of bounds): served from a [`Memory`] in the same
//!   clock, answering with the data or the fault;
//! - the helper unit: a [`Helpers`] registry answered after the model's
//!   per-helper latency ([`HelperLatency`]), with the packet and the stack
//!   copied to and from the memory around the call, as the model does.
//!
//! The core reports each clock's retire record and cycle record on debug
//! ports; the harness turns them into [`Retire`] and [`CycleRecord`] values.

use crate::rtl::{EngIn, EngOut, RtlCore};
use crate::rtlgen::IMEM_SLOTS;
use nfbpf_vm::conformance::Executor;
use nfbpf_vm::contract;
use nfbpf_vm::helpers::{HelperOutcome, Helpers};
use nfbpf_vm::interp::{self, Fault, FaultKind, Outcome};
use nfbpf_vm::isa::{Kind, Width};
use nfbpf_vm::mem::Memory;
use nfbpf_vm::pipeline::{Config, CycleRecord, CycleTracer, FifoMd, Fwd, StageSlot, Stall};
use nfbpf_vm::program::Program;
use nfbpf_vm::trace::{MemAccess, NoTrace, Retire, Tracer};

/// Fault codes on `dbg_fault_code_o` (see `rtlgen::FAULTS`).
const F_MEM: u64 = 1;
const F_BUDGET: u64 = 2;
const F_UNKNOWN_HELPER: u64 = 3;
const F_HELPER: u64 = 4;
const F_CALL_DEPTH: u64 = 5;

const FWD: [Fwd; 4] = [Fwd::None, Fwd::Reg, Fwd::ExMem, Fwd::MemWb];
const WIDTHS: [Width; 4] = [Width::B, Width::H, Width::W, Width::DW];

/// One packet's run on the core.
#[derive(Debug)]
struct Run {
    prog: Program,
    cfg: Config,
    /// The port's view of the packet (which words have arrived).
    port: FifoMd,
    packet: Vec<u8>,
    pkt_len: usize,
    stack_en: bool,
    cycle: u64,
    retired: u64,
    /// Fault the harness answered (memory, helper) for the retire record.
    pending: Option<FaultKind>,
    /// Clocks the current helper request has been up.
    helper_clocks: u64,
    /// Give up (an RTL defect) after this many clocks.
    limit: u64,
}

/// The Verilated engine core plus its harness. One packet at a time.
#[derive(Debug, Default)]
pub struct RtlEngine {
    core: RtlCore,
    inp: EngIn,
    run: Option<Run>,
}

fn fifo_fault(msg: String) -> Fault {
    Fault {
        pc: 0,
        kind: FaultKind::Helper {
            id: 0,
            name: "fifo_md",
            msg,
        },
    }
}

/// The packet bytes `mem` holds at [`contract::PKT_BASE`] (as the model's
/// `pipeline::run` takes them).
pub fn packet_of(mem: &Memory) -> Vec<u8> {
    match mem.region("packet") {
        Some(r) if r.base == contract::PKT_BASE => r.data.clone(),
        _ => Vec::new(),
    }
}

impl RtlEngine {
    pub fn new() -> Self {
        Self::default()
    }

    /// The cycle number of the next clock.
    pub fn cycle(&self) -> u64 {
        self.run.as_ref().map_or(0, |r| r.cycle)
    }

    fn edge(&mut self) {
        self.core.eval(&self.inp);
        self.core.tick();
    }

    /// Load `prog`, queue the "packet" region of `mem` with r1..r5 = `args`,
    /// and bring the core to the clock before cycle 0.
    pub fn begin(
        &mut self,
        prog: &Program,
        mem: &mut Memory,
        args: [u64; 5],
        cfg: &Config,
    ) -> Result<(), Fault> {
        let n = prog.insns().len();
        if n > IMEM_SLOTS {
            return Err(fifo_fault(format!(
                "program of {n} slots does not fit the RTL's {IMEM_SLOTS}-slot bank"
            )));
        }
        self.core.reset();
        self.inp = EngIn {
            budget: cfg.budget,
            max_frames: cfg.max_frames as u64,
            ..EngIn::default()
        };
        // Program into the idle bank, swap; twice, so bank 0 is the active
        // one holding it (as `InstrMem::with_program`).
        for _ in 0..2 {
            for (i, insn) in prog.insns().iter().enumerate() {
                self.inp.imem_wr = 1;
                self.inp.imem_wr_addr = i as u64;
                self.inp.imem_wr_data = u64::from_le_bytes(insn.to_bytes());
                self.edge();
            }
            self.inp.imem_wr = 0;
            self.inp.imem_len_wr = 1;
            self.inp.imem_len = n as u64;
            self.edge();
            self.inp.imem_len_wr = 0;
            self.inp.imem_swap = 1;
            self.edge();
            self.inp.imem_swap = 0;
        }

        let packet = packet_of(mem);
        let mut port = FifoMd::new(cfg.pacing);
        port.push(&packet, args)
            .map_err(|e| fifo_fault(e.to_string()))?;
        // The packet window as the model's start_packet mirrors it.
        let len = packet.len();
        let mut pkt_len = len;
        let mut pkt_writable = true;
        match mem.region_mut("packet") {
            Some(reg) if reg.base == contract::PKT_BASE => {
                reg.data.resize(len, 0);
                pkt_writable = reg.writable;
            }
            Some(_) => pkt_len = 0,
            None => {
                if len > 0
                    && mem
                        .add("packet", contract::PKT_BASE, vec![0; len], true)
                        .is_err()
                {
                    pkt_len = 0;
                }
            }
        }
        // The stack RAM serves the stack region when the memory has it.
        let stack_en = match mem.region("stack") {
            Some(r)
                if r.base == contract::STACK_BASE
                    && r.data.len() as u64 == contract::STACK_SIZE =>
            {
                for (i, b) in r.data.iter().enumerate() {
                    self.core.stack_set(i, *b);
                }
                true
            }
            _ => false,
        };
        // Words valid in cycle 0 (the port's first tick), one per edge; the
        // descriptor goes with the last.
        port.tick();
        let words: Vec<usize> = (0..contract::FIFO_WORDS)
            .filter(|w| port.valid_bits() & (1 << w) != 0)
            .collect();
        let start = port.head().map_or(0, |s| s.start);
        self.inp.pkt_start = start as u64;
        self.inp.pkt_len = pkt_len as u64;
        self.inp.pkt_writable = pkt_writable as u64;
        self.inp.stack_en = stack_en as u64;
        self.inp.pkt_args = args;
        if words.is_empty() {
            self.inp.pkt_push = 1;
            self.edge();
        }
        for (k, &w) in words.iter().enumerate() {
            self.set_word(w, start, &packet);
            self.inp.pkt_push = (k + 1 == words.len()) as u64;
            self.edge();
        }
        self.inp.pkt_push = 0;
        self.inp.fifo_wr = 0;
        self.run = Some(Run {
            prog: prog.clone(),
            cfg: cfg.clone(),
            port,
            packet,
            pkt_len,
            stack_en,
            cycle: 0,
            retired: 0,
            pending: None,
            helper_clocks: 0,
            limit: cfg
                .budget
                .saturating_mul(80)
                .saturating_add(1 << 16)
                .min(1 << 32),
        });
        Ok(())
    }

    /// Put ring word `w` of the packet starting at ring word `start` on the
    /// FIFO_MD write port.
    fn set_word(&mut self, w: usize, start: usize, packet: &[u8]) {
        let rel = (w + contract::FIFO_WORDS - start) % contract::FIFO_WORDS;
        let lo = rel * contract::FIFO_WORD_BYTES;
        let mut bytes = [0u8; 32];
        for (k, b) in bytes.iter_mut().enumerate() {
            *b = packet.get(lo + k).copied().unwrap_or(0);
        }
        self.inp.fifo_wr = 1;
        self.inp.fifo_wr_word = w as u64;
        for (k, limb) in self.inp.fifo_wr_data.iter_mut().enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[8 * k..8 * k + 8]);
            *limb = u64::from_le_bytes(b);
        }
    }

    fn ring(&self, run: &Run, off: usize) -> usize {
        let start = run.port.head().map_or(0, |s| s.start);
        (start * contract::FIFO_WORD_BYTES + off) % contract::PKT_WINDOW
    }

    /// Head packet bytes as the core holds them (words not yet arrived come
    /// from the source, as `FifoMd::pop`).
    fn packet_now(&self, run: &Run) -> Vec<u8> {
        let arrived = run.port.head().map_or(0, |s| s.arrived);
        (0..run.packet.len())
            .map(|i| {
                if i / contract::FIFO_WORD_BYTES < arrived {
                    self.core.fifo_get(self.ring(run, i))
                } else {
                    run.packet[i]
                }
            })
            .collect()
    }

    fn stack_to_mem(&self, mem: &mut Memory) {
        if let Some(r) = mem.region_mut("stack") {
            for (i, b) in r.data.iter_mut().enumerate() {
                *b = self.core.stack_get(i);
            }
        }
    }

    fn stack_from_mem(&mut self, mem: &Memory) {
        if let Some(r) = mem.region("stack") {
            for (i, b) in r.data.iter().enumerate() {
                self.core.stack_set(i, *b);
            }
        }
    }

    fn sync_packet_to_mem(&self, run: &Run, mem: &mut Memory, bytes: &[u8]) {
        if run.pkt_len > 0
            && let Some(reg) = mem.region_mut("packet")
            && reg.data.len() == bytes.len()
        {
            reg.data.copy_from_slice(bytes);
        }
    }

    /// Serve a helper request that has waited its latency.
    fn call_helper(&mut self, run: &mut Run, o: &EngOut, mem: &mut Memory, helpers: &mut Helpers) {
        let hid = o.helper_id as u32;
        let synced = run.pkt_len > 0;
        if synced {
            let b = self.packet_now(run);
            self.sync_packet_to_mem(run, mem, &b);
        }
        if run.stack_en {
            self.stack_to_mem(mem);
        }
        let r = helpers.call(hid, mem, o.helper_args);
        if synced && let Some(reg) = mem.region("packet") {
            let b = reg.data.clone();
            for (i, v) in b.iter().enumerate() {
                let at = self.ring(run, i);
                self.core.fifo_set(at, *v);
            }
        }
        if run.stack_en {
            self.stack_from_mem(mem);
        }
        self.inp.helper_ack = 1;
        match r {
            None => {
                self.inp.helper_fault = 1;
                self.inp.helper_fault_code = F_UNKNOWN_HELPER;
                run.pending = Some(FaultKind::UnknownHelper(hid));
            }
            Some(Err(msg)) => {
                self.inp.helper_fault = 1;
                self.inp.helper_fault_code = F_HELPER;
                run.pending = Some(FaultKind::Helper {
                    id: hid,
                    name: helpers.name(hid).unwrap_or("?"),
                    msg,
                });
            }
            Some(Ok(HelperOutcome::Return(v))) => self.inp.helper_ret = v,
            Some(Ok(HelperOutcome::Unwind(v))) => {
                self.inp.helper_ret = v;
                self.inp.helper_unwind = 1;
            }
        }
    }

    /// One clock. `Some` with the packet's result in the clock it ends.
    pub fn step<T: Tracer, C: CycleTracer>(
        &mut self,
        mem: &mut Memory,
        helpers: &mut Helpers,
        tracer: &mut T,
        ct: &mut C,
    ) -> Option<Result<Outcome, Fault>> {
        let mut run = self.run.take()?;
        let i = &mut self.inp;
        i.ext_rd_fault = 0;
        i.ext_wr_fault = 0;
        i.ext_rdata = 0;
        i.helper_ack = 0;
        i.helper_fault = 0;
        i.helper_unwind = 0;
        i.helper_ret = 0;
        i.helper_fault_code = 0;
        let mut o = self.core.eval(&self.inp);
        if o.ext_rd != 0 {
            match mem.load(o.ext_addr, WIDTHS[o.ext_width as usize & 3]) {
                Ok(v) => self.inp.ext_rdata = v,
                Err(f) => {
                    self.inp.ext_rd_fault = 1;
                    run.pending = Some(FaultKind::Mem(f));
                }
            }
            o = self.core.eval(&self.inp);
        }
        if o.ext_wr != 0 {
            if let Err(f) = mem.store(o.ext_addr, WIDTHS[o.ext_width as usize & 3], o.ext_wdata) {
                self.inp.ext_wr_fault = 1;
                run.pending = Some(FaultKind::Mem(f));
            }
            o = self.core.eval(&self.inp);
        }
        if o.helper_req != 0 {
            run.helper_clocks += 1;
            if run.helper_clocks >= run.cfg.helper_latency.of(o.helper_id as u32) {
                run.helper_clocks = 0;
                self.call_helper(&mut run, &o, mem, helpers);
                o = self.core.eval(&self.inp);
            }
        }

        if C::ENABLED {
            ct.cycle(&cycle_record(&o, run.cycle, run.cfg.engine));
        }
        let mut result = None;
        if o.retire != 0 {
            let pc = o.retire_pc as usize;
            let insns = run.prog.insns();
            let insn = insns.get(pc).copied().unwrap_or_default();
            if o.fault != 0 {
                let kind = match o.fault_code {
                    F_BUDGET => FaultKind::Budget(run.cfg.budget),
                    F_CALL_DEPTH => FaultKind::CallDepth(run.cfg.max_frames),
                    F_MEM | F_UNKNOWN_HELPER | F_HELPER => run
                        .pending
                        .take()
                        .unwrap_or(FaultKind::Budget(run.cfg.budget)),
                    _ => FaultKind::Budget(run.cfg.budget),
                };
                if T::ENABLED {
                    tracer.retire(Retire {
                        order: run.retired,
                        cycle: run.cycle,
                        engine: run.cfg.engine,
                        pc: pc as u32,
                        insn,
                        insn_hi: None,
                        reg: None,
                        mem: None,
                        fault: Some(kind.to_string()),
                    });
                }
                result = Some(Err(Fault { pc, kind }));
            } else {
                if T::ENABLED {
                    let lddw = run
                        .prog
                        .decoded()
                        .get(pc)
                        .is_some_and(|d| matches!(d.kind, Kind::Lddw) && d.row != u16::MAX);
                    tracer.retire(Retire {
                        order: run.retired,
                        cycle: run.cycle,
                        engine: run.cfg.engine,
                        pc: pc as u32,
                        insn,
                        insn_hi: if lddw {
                            insns.get(pc + 1).copied()
                        } else {
                            None
                        },
                        reg: (o.reg_we != 0).then_some((o.reg_idx as u8, o.reg_val)),
                        mem: (o.mem_v != 0).then_some(MemAccess {
                            addr: o.mem_addr,
                            width: WIDTHS[o.mem_width as usize & 3].bytes() as u8,
                            read: (o.mem_rd != 0).then_some(o.mem_rdata),
                            write: (o.mem_wr != 0).then_some(o.mem_wdata),
                        }),
                        fault: None,
                    });
                }
                run.retired += 1;
                if o.done != 0 {
                    result = Some(Ok(Outcome {
                        r0: o.r0,
                        insns: run.retired,
                    }));
                }
            }
        }
        if result.is_none() && run.cycle >= run.limit {
            result = Some(Err(Fault {
                pc: 0,
                kind: FaultKind::Helper {
                    id: 0,
                    name: "rtl",
                    msg: format!("no verdict after {} clocks", run.cycle),
                },
            }));
        }
        if let Some(r) = result {
            // Verdict: the packet (as it stands in FIFO_MD) and the stack
            // back to the memory, as the model's finish does.
            let bytes = self.packet_now(&run);
            self.sync_packet_to_mem(&run, mem, &bytes);
            if run.stack_en {
                self.stack_to_mem(mem);
            }
            self.inp.fifo_wr = 0;
            self.core.eval(&self.inp);
            self.core.tick();
            return Some(r);
        }
        // Word arriving in the next clock goes in at this edge.
        let before = run.port.valid_bits();
        run.port.tick();
        let new = run.port.valid_bits() & !before;
        self.inp.fifo_wr = 0;
        if new != 0 {
            let w = new.trailing_zeros() as usize;
            let start = run.port.head().map_or(0, |s| s.start);
            let packet = std::mem::take(&mut run.packet);
            self.set_word(w, start, &packet);
            run.packet = packet;
        }
        self.core.eval(&self.inp);
        self.core.tick();
        run.cycle += 1;
        self.run = Some(run);
        None
    }

    /// Run `prog` on one packet, like [`nfbpf_vm::pipeline::run`].
    #[allow(clippy::too_many_arguments)]
    pub fn run<T: Tracer, C: CycleTracer>(
        &mut self,
        prog: &Program,
        mem: &mut Memory,
        helpers: &mut Helpers,
        args: [u64; 5],
        cfg: &Config,
        tracer: &mut T,
        cycles: &mut C,
    ) -> Result<Outcome, Fault> {
        self.begin(prog, mem, args, cfg)?;
        loop {
            if let Some(r) = self.step(mem, helpers, tracer, cycles) {
                return r;
            }
        }
    }
}

/// The cycle record of one clock from the core's debug outputs.
fn cycle_record(o: &EngOut, cycle: u64, engine: u8) -> CycleRecord {
    if o.running == 0 {
        return CycleRecord {
            cycle,
            engine,
            stall: Stall::Idle,
            bank: o.bank as u8,
            ..CycleRecord::default()
        };
    }
    let mut stage = [StageSlot::default(); 5];
    for (k, s) in stage.iter_mut().enumerate() {
        *s = StageSlot {
            valid: o.stage_v >> k & 1 != 0,
            pc: o.pc[k] as u32,
            seq: o.seq[k] as u32,
        };
    }
    CycleRecord {
        cycle,
        engine,
        stage,
        stall: Stall::ALL
            .get(o.stall as usize)
            .copied()
            .unwrap_or(Stall::None),
        flush: o.flush != 0,
        fwd: [FWD[o.fwd_a as usize & 3], FWD[o.fwd_b as usize & 3]],
        bank: o.bank as u8,
    }
}

/// [`RtlEngine::run`] on a fresh core: the same interface as
/// [`nfbpf_vm::pipeline::run`].
pub fn run<T: Tracer, C: CycleTracer>(
    prog: &Program,
    mem: &mut Memory,
    helpers: &mut Helpers,
    args: [u64; 5],
    cfg: &Config,
    tracer: &mut T,
    cycles: &mut C,
) -> Result<Outcome, Fault> {
    RtlEngine::new().run(prog, mem, helpers, args, cfg, tracer, cycles)
}

/// The engine RTL as a conformance executor (`nfbpf conform --engine rtl`).
#[derive(Debug, Default)]
pub struct RtlExecutor {
    pub config: Config,
    engine: RtlEngine,
}

impl Executor for RtlExecutor {
    fn name(&self) -> &'static str {
        "rtl"
    }

    fn execute(&mut self, prog: &Program, mem: &[u8]) -> Result<u64, String> {
        let (mut m, args) = interp::conformance_memory(mem);
        let mut h = Helpers::conformance();
        self.engine
            .run(
                prog,
                &mut m,
                &mut h,
                args,
                &self.config,
                &mut NoTrace,
                &mut nfbpf_vm::pipeline::NoCycles,
            )
            .map(|o| o.r0)
            .map_err(|f| f.to_string())
    }
}
