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
use nfbpf_vm::pipeline::{
    BankBusy, Config, CycleRecord, CycleTracer, FifoError, FifoMd, Fwd, Pacing, StageSlot, Stall,
    Verdict,
};
use nfbpf_vm::program::Program;
use nfbpf_vm::trace::{MemAccess, NoTrace, Retire, Tracer};
use std::collections::VecDeque;

/// Fault codes on `dbg_fault_code_o` (see `rtlgen::FAULTS`).
const F_MEM: u64 = 1;
const F_BUDGET: u64 = 2;
const F_UNKNOWN_HELPER: u64 = 3;
const F_HELPER: u64 = 4;
const F_CALL_DEPTH: u64 = 5;

const FWD: [Fwd; 4] = [Fwd::None, Fwd::Reg, Fwd::ExMem, Fwd::MemWb];
const WIDTHS: [Width; 4] = [Width::B, Width::H, Width::W, Width::DW];

/// The packet running on the core.
#[derive(Debug)]
struct Cur {
    bank: u8,
    start: u64,
    retired: u64,
}

/// A helper's answer, held for its latency.
#[derive(Debug)]
enum Answer {
    Return(u64),
    Unwind(u64),
    Fault(u64, FaultKind),
}

/// The head packet's descriptor as given to the core.
#[derive(Debug, Clone, Copy)]
struct Desc {
    pkt_len: usize,
}

/// The Verilated engine core plus its harness: one engine with its FIFO_MD
/// and the two-bank instruction memory, like `vm::pipeline::Engine` with an
/// `InstrMem`. [`RtlEngine::begin`] / [`RtlEngine::run`] run one packet;
/// [`RtlEngine::device`], [`RtlEngine::push_packet`],
/// [`RtlEngine::write_idle`], [`RtlEngine::swap`] and [`RtlEngine::step`]
/// drive it as a data plane does.
#[derive(Debug, Default)]
pub struct RtlEngine {
    core: RtlCore,
    inp: EngIn,
    cfg: Config,
    /// Programs in the two banks (for the retire records' instructions).
    banks: [Option<Program>; 2],
    active: u8,
    /// The port's view of FIFO_MD (which words have arrived, ring slots).
    port: Option<FifoMd>,
    /// Every queued packet, head first: first ring word, words, bytes (the
    /// port's sources; ring slots allocated as `FifoMd` allocates them).
    sources: VecDeque<(usize, usize, Vec<u8>)>,
    /// Next ring word to allocate.
    tail: usize,
    /// FIFO_MD valid bits as delivered to the core.
    delivered: nfbpf_vm::pipeline::fifo::WordMask,
    desc: Option<Desc>,
    cur: Option<Cur>,
    /// Instruction-memory writes still to go through the host port.
    writes: VecDeque<(u64, u64)>,
    write_len: Option<u64>,
    cycle: u64,
    stack_en: bool,
    /// Fault the harness answered (memory, helper) for the retire record.
    pending: Option<FaultKind>,
    /// Clocks the current helper request has been up.
    helper_clocks: u64,
    /// The current call's latency and answer (the helper ran at the request).
    helper_lat: u64,
    helper_answer: Option<Answer>,
    /// The packet is larger than FIFO_MD: it stays in `Memory` and every
    /// packet access goes out on the external port (as the model's bypass).
    bypass: bool,
    /// Give up (an RTL defect) when a packet runs this many clocks.
    limit: u64,
    /// A verdict was taken in the current clock.
    ended: bool,
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
        self.cycle
    }

    /// A packet is running.
    pub fn busy(&self) -> bool {
        self.cur.is_some()
    }

    /// Instruction-memory writes still going through the host port (a swap
    /// must wait for them).
    pub fn writes_pending(&self) -> bool {
        !self.writes.is_empty() || self.write_len.is_some()
    }

    fn edge(&mut self) {
        self.core.eval(&self.inp);
        self.core.tick();
    }

    /// Reset into an empty device with configuration `cfg`, `prog` in the
    /// active bank 0 (as `InstrMem::with_program`) and `mem`'s stack region
    /// (if it has one) in the stack RAM. No clock is counted.
    pub fn device(&mut self, prog: &Program, mem: &Memory, cfg: &Config) -> Result<(), Fault> {
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
        self.cfg = cfg.clone();
        // Program into the idle bank, swap; twice, so bank 0 is the active
        // one holding it.
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
        self.banks = [Some(prog.clone()), Some(prog.clone())];
        self.active = 0;
        self.port = Some(FifoMd::new(cfg.pacing));
        self.sources.clear();
        self.tail = 0;
        self.delivered = 0;
        self.desc = None;
        self.cur = None;
        self.writes.clear();
        self.write_len = None;
        self.cycle = 0;
        self.ended = false;
        self.pending = None;
        self.helper_clocks = 0;
        self.helper_lat = 1;
        self.helper_answer = None;
        self.bypass = false;
        self.limit = cfg
            .budget
            .saturating_mul(80)
            .saturating_add(1 << 16)
            .min(1 << 32);
        self.stack_en = match mem.region("stack") {
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
        Ok(())
    }

    /// Queue a packet into FIFO_MD with r1..r5 = `args` (as
    /// `Engine::push_packet`); its words arrive at the configured pacing.
    pub fn push_packet(&mut self, bytes: &[u8], args: [u64; 5]) -> Result<(), FifoError> {
        let port = self
            .port
            .get_or_insert_with(|| FifoMd::new(Pacing::default()));
        port.push(bytes, args)?;
        let words = bytes.len().div_ceil(contract::FIFO_WORD_BYTES);
        self.sources.push_back((self.tail, words, bytes.to_vec()));
        self.tail = (self.tail + words) % contract::FIFO_WORDS;
        Ok(())
    }

    /// Write `prog` into the idle bank through the host port, one slot per
    /// clock from the next clock on (as `InstrMem::write_idle`, refused while
    /// the running packet uses that bank).
    pub fn write_idle(&mut self, prog: &Program) -> Result<(), BankBusy> {
        let idle = self.active ^ 1;
        if self.cur.as_ref().is_some_and(|c| c.bank == idle) {
            return Err(BankBusy {
                bank: idle,
                users: 1,
            });
        }
        self.writes = prog
            .insns()
            .iter()
            .enumerate()
            .map(|(i, x)| (i as u64, u64::from_le_bytes(x.to_bytes())))
            .collect();
        self.write_len = Some(prog.insns().len() as u64);
        self.banks[idle as usize] = Some(prog.clone());
        Ok(())
    }

    /// Make the idle bank active at the next clock edge (`CURRINSTMEM`).
    pub fn swap(&mut self) {
        self.inp.imem_swap = 1;
        self.active ^= 1;
    }

    /// Load `prog`, queue the "packet" region of `mem` with r1..r5 = `args`,
    /// and bring the core to the clock before cycle 0 (one packet, like
    /// `pipeline::run`).
    pub fn begin(
        &mut self,
        prog: &Program,
        mem: &mut Memory,
        args: [u64; 5],
        cfg: &Config,
    ) -> Result<(), Fault> {
        self.device(prog, mem, cfg)?;
        let packet = packet_of(mem);
        // Larger than FIFO_MD (as `pipeline::run`): an empty packet, and the
        // program reaches the bytes in `mem` through the external port.
        self.bypass = packet.len() > contract::PKT_WINDOW;
        let first = if self.bypass { &[][..] } else { &packet[..] };
        self.push_packet(first, args)
            .map_err(|e| fifo_fault(e.to_string()))?;
        self.prime(mem);
        Ok(())
    }

    /// Put the head packet's descriptor on the core's inputs for the next
    /// edge, with the packet window mirrored into `mem` as the model's
    /// start_packet does.
    fn give_descriptor(&mut self, mem: &mut Memory) {
        let Some(head) = self.port.as_ref().and_then(|p| p.head()) else {
            return;
        };
        let (len, args, start) = (head.len, head.args, head.start);
        let mut pkt_len = len;
        let mut pkt_writable = true;
        match mem.region_mut("packet") {
            _ if self.bypass => pkt_len = 0,
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
        self.inp.pkt_push = 1;
        self.inp.pkt_start = start as u64;
        self.inp.pkt_len = pkt_len as u64;
        self.inp.pkt_writable = pkt_writable as u64;
        self.inp.stack_en = self.stack_en as u64;
        self.inp.pkt_args = args;
        self.desc = Some(Desc { pkt_len });
    }

    /// Put ring word `w` of the packet starting at ring word `start` on the
    /// FIFO_MD write port.
    fn set_word(&mut self, w: usize, start: usize, packet: &[u8]) {
        let bytes = word_bytes(w, start, packet);
        self.inp.fifo_wr = 1;
        self.inp.fifo_wr_word = w as u64;
        for (k, limb) in self.inp.fifo_wr_data.iter_mut().enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[8 * k..8 * k + 8]);
            *limb = u64::from_le_bytes(b);
        }
    }

    fn ring(&self, off: usize) -> usize {
        let start = self
            .port
            .as_ref()
            .and_then(|p| p.head())
            .map_or(0, |s| s.start);
        (start * contract::FIFO_WORD_BYTES + off) % contract::PKT_WINDOW
    }

    /// Head packet bytes as the core holds them (words not yet arrived come
    /// from the source, as `FifoMd::pop`).
    fn packet_now(&self) -> Vec<u8> {
        let arrived = self
            .port
            .as_ref()
            .and_then(|p| p.head())
            .map_or(0, |s| s.arrived);
        let src = self.sources.front().map_or(&[][..], |v| &v.2[..]);
        (0..src.len())
            .map(|i| {
                if i / contract::FIFO_WORD_BYTES < arrived {
                    self.core.fifo_get(self.ring(i))
                } else {
                    src[i]
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

    fn pkt_len(&self) -> usize {
        self.desc.map_or(0, |d| d.pkt_len)
    }

    fn sync_packet_to_mem(&self, mem: &mut Memory, bytes: &[u8]) {
        if self.pkt_len() > 0
            && let Some(reg) = mem.region_mut("packet")
            && reg.data.len() == bytes.len()
        {
            reg.data.copy_from_slice(bytes);
        }
    }

    /// A helper request issues (its first clock in MEM): the unit runs the
    /// helper now, as the model does, and answers after its latency.
    fn call_helper(&mut self, o: &EngOut, mem: &mut Memory, helpers: &mut Helpers) {
        let hid = o.helper_id as u32;
        let synced = self.pkt_len() > 0;
        if synced {
            let b = self.packet_now();
            self.sync_packet_to_mem(mem, &b);
        }
        if self.stack_en {
            self.stack_to_mem(mem);
        }
        let r = helpers.call(hid, mem, o.helper_args);
        if synced && let Some(reg) = mem.region("packet") {
            let b = reg.data.clone();
            for (i, v) in b.iter().enumerate() {
                let at = self.ring(i);
                self.core.fifo_set(at, *v);
            }
        }
        if self.stack_en {
            self.stack_from_mem(mem);
        }
        self.helper_lat = self.cfg.helper_latency.after(hid);
        self.helper_answer = Some(match r {
            None => Answer::Fault(F_UNKNOWN_HELPER, FaultKind::UnknownHelper(hid)),
            Some(Err(msg)) => Answer::Fault(
                F_HELPER,
                FaultKind::Helper {
                    id: hid,
                    name: helpers.name(hid).unwrap_or("?"),
                    msg,
                },
            ),
            Some(Ok(HelperOutcome::Return(v))) => Answer::Return(v),
            Some(Ok(HelperOutcome::Unwind(v))) => Answer::Unwind(v),
        });
    }

    /// The helper unit's answer goes to the core.
    fn answer_helper(&mut self) {
        self.inp.helper_ack = 1;
        match self.helper_answer.take() {
            Some(Answer::Return(v)) => self.inp.helper_ret = v,
            Some(Answer::Unwind(v)) => {
                self.inp.helper_ret = v;
                self.inp.helper_unwind = 1;
            }
            Some(Answer::Fault(code, kind)) => {
                self.inp.helper_fault = 1;
                self.inp.helper_fault_code = code;
                self.pending = Some(kind);
            }
            None => {}
        }
    }

    /// One clock ([`RtlEngine::clock`] then [`RtlEngine::finish_clock`]).
    /// `Some` with the packet's verdict in the clock it ends.
    pub fn step<T: Tracer, C: CycleTracer>(
        &mut self,
        mem: &mut Memory,
        helpers: &mut Helpers,
        tracer: &mut T,
        ct: &mut C,
    ) -> Option<Verdict> {
        let v = self.clock(mem, helpers, tracer, ct);
        self.finish_clock(mem);
        v
    }

    /// The first half of a clock: settle the core, serve its memory and
    /// helper requests, report the clock's records. Events for the next
    /// clock (packets, bank writes, a swap) may be given before
    /// [`RtlEngine::finish_clock`].
    pub fn clock<T: Tracer, C: CycleTracer>(
        &mut self,
        mem: &mut Memory,
        helpers: &mut Helpers,
        tracer: &mut T,
        ct: &mut C,
    ) -> Option<Verdict> {
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
        if o.running != 0 && self.cur.is_none() {
            self.cur = Some(Cur {
                bank: o.bank as u8,
                start: self.cycle,
                retired: 0,
            });
        }
        if o.ext_rd != 0 {
            match mem.load(o.ext_addr, WIDTHS[o.ext_width as usize & 3]) {
                Ok(v) => self.inp.ext_rdata = v,
                Err(f) => {
                    self.inp.ext_rd_fault = 1;
                    self.pending = Some(FaultKind::Mem(f));
                }
            }
            o = self.core.eval(&self.inp);
        }
        if o.ext_wr != 0 {
            if let Err(f) = mem.store(o.ext_addr, WIDTHS[o.ext_width as usize & 3], o.ext_wdata) {
                self.inp.ext_wr_fault = 1;
                self.pending = Some(FaultKind::Mem(f));
            }
            o = self.core.eval(&self.inp);
        }
        if o.helper_req != 0 {
            if self.helper_clocks == 0 {
                self.call_helper(&o, mem, helpers);
            }
            self.helper_clocks += 1;
            if self.helper_clocks >= self.helper_lat {
                self.helper_clocks = 0;
                self.answer_helper();
                o = self.core.eval(&self.inp);
            }
        }

        if C::ENABLED {
            ct.cycle(&cycle_record(&o, self.cycle, self.cfg.engine));
        }
        let mut result = None;
        if o.retire != 0
            && let Some(cur) = self.cur.as_mut()
        {
            let pc = o.retire_pc as usize;
            let prog = self.banks[cur.bank as usize & 1].as_ref();
            let insns = prog.map_or(&[][..], |p| p.insns());
            let insn = insns.get(pc).copied().unwrap_or_default();
            if o.fault != 0 {
                let kind = match o.fault_code {
                    F_BUDGET => FaultKind::Budget(self.cfg.budget),
                    F_CALL_DEPTH => FaultKind::CallDepth(self.cfg.max_frames),
                    F_MEM | F_UNKNOWN_HELPER | F_HELPER => self
                        .pending
                        .take()
                        .unwrap_or(FaultKind::Budget(self.cfg.budget)),
                    _ => FaultKind::Budget(self.cfg.budget),
                };
                if T::ENABLED {
                    tracer.retire(Retire {
                        order: cur.retired,
                        cycle: self.cycle,
                        engine: self.cfg.engine,
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
                    let lddw = prog
                        .and_then(|p| p.decoded().get(pc))
                        .is_some_and(|d| matches!(d.kind, Kind::Lddw) && d.row != u16::MAX);
                    tracer.retire(Retire {
                        order: cur.retired,
                        cycle: self.cycle,
                        engine: self.cfg.engine,
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
                cur.retired += 1;
                if o.done != 0 {
                    result = Some(Ok(Outcome {
                        r0: o.r0,
                        insns: cur.retired,
                    }));
                }
            }
        }
        if result.is_none()
            && let Some(cur) = &self.cur
            && self.cycle - cur.start >= self.limit
        {
            result = Some(Err(Fault {
                pc: 0,
                kind: FaultKind::Helper {
                    id: 0,
                    name: "rtl",
                    msg: format!("no verdict after {} clocks", self.limit),
                },
            }));
        }
        let mut verdict = None;
        if let Some(r) = result {
            // Verdict: the packet (as it stands in FIFO_MD) and the stack
            // back to the memory, as the model's finish does; the slot is
            // freed and the next packet's descriptor goes in at this edge.
            let bytes = self.packet_now();
            self.sync_packet_to_mem(mem, &bytes);
            if self.stack_en {
                self.stack_to_mem(mem);
            }
            if let Some(p) = self.port.as_mut() {
                p.pop();
                self.delivered = p.valid_bits();
            }
            self.sources.pop_front();
            let cur = self.cur.take();
            self.desc = None;
            verdict = Some(Verdict {
                result: r,
                packet: bytes,
                start: cur.as_ref().map_or(0, |c| c.start),
                end: self.cycle,
                bank: cur.map_or(0, |c| c.bank),
            });
        }
        self.ended = verdict.is_some();
        verdict
    }

    /// The second half of a clock: the host port's next instruction-memory
    /// write, the next head packet's descriptor, the words that arrive in
    /// the next clock, then the clock edge.
    pub fn finish_clock(&mut self, mem: &mut Memory) {
        self.edge_inputs(mem);
        self.ended = false;
        self.cycle += 1;
    }

    /// Before cycle 0: the descriptor and the words valid in cycle 0 go in
    /// at one edge that is not counted.
    pub fn prime(&mut self, mem: &mut Memory) {
        self.edge_inputs(mem);
    }

    fn edge_inputs(&mut self, mem: &mut Memory) {
        // Host port: one instruction-memory write per clock.
        self.inp.imem_wr = 0;
        self.inp.imem_len_wr = 0;
        if let Some((a, d)) = self.writes.pop_front() {
            self.inp.imem_wr = 1;
            self.inp.imem_wr_addr = a;
            self.inp.imem_wr_data = d;
        } else if let Some(n) = self.write_len.take() {
            self.inp.imem_len_wr = 1;
            self.inp.imem_len = n;
        }
        // Next head packet's descriptor, when the core can take it.
        self.inp.pkt_push = 0;
        if self.desc.is_none() && (self.cur.is_none() || self.ended) {
            self.give_descriptor(mem);
        }
        // Words arriving in the next clock go in at this edge: through the
        // port when one arrives, directly when several do (instant arrival).
        self.inp.fifo_wr = 0;
        if let Some(port) = self.port.as_mut() {
            port.tick();
            let new = port.valid_bits() & !self.delivered;
            self.delivered = port.valid_bits();
            let mut head_words = Vec::new();
            // Ring word -> (slot start, queue index).
            for w in 0..contract::FIFO_WORDS {
                if new & (1u128 << w) != 0 {
                    head_words.push(w);
                }
            }
            let sources = &self.sources;
            let find = |w: usize| -> Option<(usize, usize)> {
                sources.iter().enumerate().find_map(|(k, &(st, n, _))| {
                    let rel = (w + contract::FIFO_WORDS - st) % contract::FIFO_WORDS;
                    (rel < n).then_some((k, st))
                })
            };
            if head_words.len() == 1 {
                let w = head_words[0];
                if let Some((k, st)) = find(w) {
                    let src = self.sources[k].2.clone();
                    self.set_word(w, st, &src);
                }
            } else if head_words.len() > 1 {
                for &w in &head_words {
                    if let Some((k, st)) = find(w) {
                        let bytes = word_bytes(w, st, &self.sources[k].2);
                        for (b, v) in bytes.iter().enumerate() {
                            self.core.fifo_set(w * contract::FIFO_WORD_BYTES + b, *v);
                        }
                    }
                }
                let v = self.core.valid_get();
                self.core.valid_set(v | new);
            }
        }
        self.core.eval(&self.inp);
        self.core.tick();
        self.inp.imem_swap = 0;
        self.inp.fifo_wr = 0;
        self.inp.pkt_push = 0;
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
            if let Some(v) = self.step(mem, helpers, tracer, cycles) {
                return v.result;
            }
        }
    }
}

/// Bytes of ring word `w` of a packet whose slot starts at ring word `start`.
fn word_bytes(w: usize, start: usize, packet: &[u8]) -> [u8; 32] {
    let rel = (w + contract::FIFO_WORDS - start) % contract::FIFO_WORDS;
    let lo = rel * contract::FIFO_WORD_BYTES;
    let mut bytes = [0u8; 32];
    for (k, b) in bytes.iter_mut().enumerate() {
        *b = packet.get(lo + k).copied().unwrap_or(0);
    }
    bytes
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
