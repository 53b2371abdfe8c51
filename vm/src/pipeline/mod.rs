//! Cycle-accurate model of one eBPF engine: a five-stage pipeline (IF, ID,
//! EX, MEM, WB) with forwarding and hazard units, multi-cycle multiplier and
//! divider, helper-unit interface, a shadow-register frame stack for
//! bpf-to-bpf calls, FIFO_MD packet memory and a double-buffered instruction
//! memory.
//!
//! Architectural effects come from the same semantics as the reference
//! interpreter ([`crate::sem`]) and are reported through the same
//! [`crate::trace::Retire`] records (with `cycle` = the retire cycle); the
//! pipeline adds only timing, reported per clock as a [`CycleRecord`].
//! The stall and latency table is in `docs/pipeline.md`; the latencies are
//! constants in [`crate::contract`].
//!
//! - [`Engine`]: one engine; [`Engine::step`] is one clock;
//! - [`run`]: run one program on one packet, mirroring [`crate::interp::run`];
//! - [`InstrMem`]: the two instruction banks; [`FifoMd`]: packet memory;
//! - [`view`]: text traces, the pipeline diagram, VCD;
//! - [`randprog`]: random valid programs for differential testing.

pub mod bench;
pub mod conform;
pub mod decode;
pub mod diff;
pub mod engine;
pub mod fifo;
pub mod imem;
pub mod randprog;
pub mod record;
pub mod view;

pub use conform::PipelineExecutor;
pub use engine::{Config, Ctl, Engine, HelperLatency, Stats, Verdict};
pub use fifo::{FifoError, FifoMd, Pacing};
pub use imem::{BankBusy, InstrMem};
pub use record::{
    CollectCycles, CollectDevice, CycleRecord, CycleTracer, DeviceRecords, EngineClock, Fwd,
    NoCycles, NoRecords, StageSlot, Stall, StallCauses,
};

use crate::contract;
use crate::helpers::Helpers;
use crate::interp::{Fault, Outcome};
use crate::mem::Memory;
use crate::program::Program;
use crate::trace::Tracer;
use std::sync::Arc;

/// A finished [`run`]: the result and the cycle statistics.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub result: Result<Outcome, Fault>,
    pub stats: Stats,
    /// Cycles from the first fetch to the last retirement.
    pub cycles: u64,
}

/// The packet bytes `mem` holds at [`contract::PKT_BASE`] (region "packet").
fn packet_of(mem: &Memory) -> Vec<u8> {
    match mem.region("packet") {
        Some(r) if r.base == contract::PKT_BASE => r.data.clone(),
        _ => Vec::new(),
    }
}

/// Run `prog` on one packet, like [`crate::interp::run`]: r1..r5 = `args`,
/// r10 at the top of the stack, the "packet" region of `mem` (if any, at
/// [`contract::PKT_BASE`]) loaded into FIFO_MD and written back at the
/// verdict. Retire records go to `tracer`, cycle records to `cycles`.
pub fn run<T: Tracer, C: CycleTracer>(
    prog: &Program,
    mem: &mut Memory,
    helpers: &mut Helpers,
    args: [u64; 5],
    cfg: &Config,
    tracer: &mut T,
    cycles: &mut C,
) -> Result<Outcome, Fault> {
    run_report(prog, mem, helpers, args, cfg, tracer, cycles).result
}

/// [`run`], also returning the statistics.
pub fn run_report<T: Tracer, C: CycleTracer>(
    prog: &Program,
    mem: &mut Memory,
    helpers: &mut Helpers,
    args: [u64; 5],
    cfg: &Config,
    tracer: &mut T,
    cycles: &mut C,
) -> RunReport {
    let mut imem = InstrMem::with_program(Arc::new(prog.clone()));
    run_report_on(&mut imem, mem, helpers, args, cfg, tracer, cycles)
}

/// [`run_report`] on the program of `imem`'s active bank: a caller that
/// runs one program on packet after packet builds the instruction memory
/// (and its decode table) once.
pub fn run_report_on<T: Tracer, C: CycleTracer>(
    imem: &mut InstrMem,
    mem: &mut Memory,
    helpers: &mut Helpers,
    args: [u64; 5],
    cfg: &Config,
    tracer: &mut T,
    cycles: &mut C,
) -> RunReport {
    let mut e = Engine::new(cfg.clone());
    let pkt = packet_of(mem);
    if pkt.len() > contract::PKT_WINDOW {
        // Larger than FIFO_MD: no hardware engine can hold it. Run it from
        // the "packet" region of `mem` as plain memory (no word timing), so
        // the result still matches the interpreter's.
        e.bypass_packet_window();
    }
    let first = if e.packet_window_bypassed() {
        &[][..]
    } else {
        &pkt[..]
    };
    // One packet into an empty FIFO_MD fits when it fits the window.
    let _ = e.push_packet(first, args);
    loop {
        if let Some(v) = e.step(imem, mem, helpers, tracer, cycles) {
            return RunReport {
                cycles: v.cycles(),
                result: v.result,
                stats: e.stats().clone(),
            };
        }
    }
}
