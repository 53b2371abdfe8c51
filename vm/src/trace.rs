//! Trace records shared by every executor (interpreter, pipeline, RTL).
//!
//! A retire record says what one instruction did to architectural state; all
//! executors emit the same records so that two traces compare with `diff`.
//! The text format is one tab-separated line per record:
//!
//! `order  cycle  engine  pc  word  disassembly  regwrite  memaccess  fault`
//!
//! where `regwrite` is `rN=0x...` or `-`, `memaccess` is
//! `R4@0xADDR=0xVALUE`, `W4@0xADDR=0xVALUE`, `RW8@0xADDR=0xOLD>0xNEW`
//! (atomics) or `-`, and `fault` is the fault message or `-`.

use crate::Insn;
use crate::disasm::disasm_one;
use std::fmt::Write as _;

/// One memory access of an instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemAccess {
    pub addr: u64,
    pub width: u8,
    /// Value read (loads, atomics).
    pub read: Option<u64>,
    /// Value written (stores, atomics that store).
    pub write: Option<u64>,
}

/// One retired instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retire {
    /// Position in retirement order, from 0.
    pub order: u64,
    /// Cycle of retirement (the interpreter reports the order).
    pub cycle: u64,
    pub engine: u8,
    pub pc: u32,
    pub insn: Insn,
    /// Second slot, for lddw.
    pub insn_hi: Option<Insn>,
    pub reg: Option<(u8, u64)>,
    pub mem: Option<MemAccess>,
    pub fault: Option<String>,
}

impl Retire {
    /// The record as one line of the trace text format.
    pub fn to_line(&self) -> String {
        let mut s = String::with_capacity(96);
        let slots = [self.insn, self.insn_hi.unwrap_or_default()];
        let _ = write!(
            s,
            "{}\t{}\t{}\t{}\t{:016x}\t{}\t",
            self.order,
            self.cycle,
            self.engine,
            self.pc,
            u64::from_be_bytes(self.insn.to_bytes()),
            disasm_one(&slots)
        );
        match self.reg {
            Some((r, v)) => {
                let _ = write!(s, "r{r}={v:#x}\t");
            }
            None => s.push_str("-\t"),
        }
        match self.mem {
            Some(MemAccess {
                addr,
                width,
                read: Some(r),
                write: Some(w),
            }) => {
                let _ = write!(s, "RW{width}@{addr:#x}={r:#x}>{w:#x}\t");
            }
            Some(MemAccess {
                addr,
                width,
                read: Some(r),
                write: None,
            }) => {
                let _ = write!(s, "R{width}@{addr:#x}={r:#x}\t");
            }
            Some(MemAccess {
                addr,
                width,
                read: None,
                write: Some(w),
            }) => {
                let _ = write!(s, "W{width}@{addr:#x}={w:#x}\t");
            }
            _ => s.push_str("-\t"),
        }
        s.push_str(self.fault.as_deref().unwrap_or("-"));
        s
    }

    /// Equal in every field but the cycle (interpreter vs pipeline).
    pub fn same_effect(&self, other: &Retire) -> bool {
        Retire {
            cycle: 0,
            ..self.clone()
        } == Retire {
            cycle: 0,
            ..other.clone()
        }
    }
}

/// Receives retire records. `ENABLED = false` compiles tracing away.
pub trait Tracer {
    const ENABLED: bool;
    fn retire(&mut self, r: Retire);
}

/// No tracing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoTrace;

impl Tracer for NoTrace {
    const ENABLED: bool = false;
    #[inline(always)]
    fn retire(&mut self, _: Retire) {}
}

/// Collects records in memory.
#[derive(Debug, Default, Clone)]
pub struct Collect(pub Vec<Retire>);

impl Tracer for Collect {
    const ENABLED: bool = true;
    fn retire(&mut self, r: Retire) {
        self.0.push(r);
    }
}

/// A fault as the data plane reports it, in its counters (`ENGFAULTCAUSE`,
/// `ENGFAULTADDR`) and on the RTL's debug ports: the cause and, for a memory
/// fault, the address. The device-level co-simulation compares faults in
/// this form (the model's message names its memory map, which the hardware
/// does not know).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceFault {
    /// 1 memory, 2 instruction budget, 3 unknown helper, 4 helper failed,
    /// 5 call depth.
    pub cause: u32,
    /// The faulting address of a memory fault, else 0.
    pub addr: u64,
}

impl DeviceFault {
    pub fn of(kind: &crate::interp::FaultKind) -> Self {
        use crate::interp::FaultKind;
        match kind {
            FaultKind::Mem(m) => DeviceFault {
                cause: 1,
                addr: m.addr,
            },
            FaultKind::Budget(_) => DeviceFault { cause: 2, addr: 0 },
            FaultKind::UnknownHelper(_) => DeviceFault { cause: 3, addr: 0 },
            FaultKind::Helper { .. } => DeviceFault { cause: 4, addr: 0 },
            FaultKind::CallDepth(_) => DeviceFault { cause: 5, addr: 0 },
        }
    }

    /// The text a device-level retire record carries in `fault`.
    pub fn text(&self) -> String {
        match self.cause {
            1 => format!("memory fault at {:#x}", self.addr),
            2 => "instruction budget exhausted".into(),
            3 => "call to an unknown helper".into(),
            4 => "helper failed".into(),
            5 => "call depth exceeded".into(),
            c => format!("fault cause {c}"),
        }
    }
}
