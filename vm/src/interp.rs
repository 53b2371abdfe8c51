//! The reference interpreter: the golden model of architectural state.
//!
//! It runs a validated [`Program`] over a [`Memory`] of named regions with a
//! [`Helpers`] registry. Semantics come from [`crate::sem`]; this file adds
//! only control flow: bpf-to-bpf call frames (r6..r9 preserved, a fresh 512 B
//! frame and r10 per call, depth bounded by [`contract::MAX_FRAMES`]), the
//! instruction budget, and faults that name the pc and the address.

use crate::contract;
use crate::fast::{self, Fast};
use crate::helpers::{HelperOutcome, Helpers};
use crate::isa::{Kind, Src, Width};
use crate::mem::{MemFault, Memory};
use crate::program::Program;
use crate::sem;
use crate::trace::{MemAccess, Retire, Tracer};
use std::fmt;

/// Why a run stopped abnormally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    Mem(MemFault),
    /// More instructions than the budget.
    Budget(u64),
    UnknownHelper(u32),
    Helper {
        id: u32,
        name: &'static str,
        msg: String,
    },
    /// A bpf-to-bpf call beyond the frame limit.
    CallDepth(usize),
}

/// A fault at an instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub pc: usize,
    pub kind: FaultKind,
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultKind::Mem(m) => write!(f, "{m}"),
            FaultKind::Budget(n) => {
                write!(
                    f,
                    "instruction budget of {n} exhausted (runaway program stopped)"
                )
            }
            FaultKind::UnknownHelper(id) => write!(f, "call to unknown helper {id}"),
            FaultKind::Helper { id, name, msg } => write!(f, "helper {id} ({name}) failed: {msg}"),
            FaultKind::CallDepth(n) => write!(f, "call depth exceeds {n} frames"),
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fault at pc {}: {}", self.pc, self.kind)
    }
}

impl std::error::Error for Fault {}

/// A finished run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub r0: u64,
    /// Instructions executed (lddw counts once).
    pub insns: u64,
}

/// Run-time limits.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    pub budget: u64,
    pub max_frames: usize,
    pub engine: u8,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            budget: contract::DEFAULT_INSN_BUDGET,
            max_frames: contract::MAX_FRAMES,
            engine: 0,
        }
    }
}

#[derive(Clone, Copy)]
struct Frame {
    ret: usize,
    saved: [u64; 4],
    r10: u64,
}

/// Name of the stack region.
pub const STACK_REGION: &str = "stack";

/// Add the stack region of the address map to `mem` (zeroed).
pub fn add_stack(mem: &mut Memory) -> Result<(), crate::mem::OverlapError> {
    mem.add(
        STACK_REGION,
        contract::STACK_BASE,
        vec![0; contract::STACK_SIZE as usize],
        true,
    )
}

/// Memory for a conformance-style run: the stack, plus `data` as the packet
/// region at [`contract::PKT_BASE`]. Returns the memory and (r1, r2).
pub fn conformance_memory(data: &[u8]) -> (Memory, [u64; 5]) {
    let mut m = Memory::new();
    // Both regions are at fixed, disjoint bases: adding them cannot overlap.
    let _ = add_stack(&mut m);
    let mut args = [0u64; 5];
    if !data.is_empty() {
        let _ = m.add("packet", contract::PKT_BASE, data.to_vec(), true);
        args[0] = contract::PKT_BASE;
        args[1] = data.len() as u64;
    }
    (m, args)
}

/// Run `prog` with r1..r5 = `args` and r10 at the top of the stack region.
///
/// ```
/// use nfbpf_vm::helpers::Helpers;
/// use nfbpf_vm::interp::{self, Config, conformance_memory};
/// use nfbpf_vm::trace::NoTrace;
/// use nfbpf_vm::{Program, asm};
/// // r0 = the packet's length (r2) + its first byte.
/// let prog = Program::new(asm::assemble("ldxb %r0, [%r1]\nadd %r0, %r2\nexit\n").unwrap()).unwrap();
/// let (mut mem, args) = conformance_memory(&[40, 1, 2]);
/// let out = interp::run(
///     &prog,
///     &mut mem,
///     &mut Helpers::conformance(),
///     args,
///     &Config::default(),
///     &mut NoTrace,
/// )
/// .unwrap();
/// assert_eq!((out.r0, out.insns), (43, 3));
/// // A load outside every region faults, naming the address.
/// let bad = Program::new(asm::assemble("ldxw %r0, [%r2+0]\nexit\n").unwrap()).unwrap();
/// let f = interp::run(&bad, &mut mem, &mut Helpers::conformance(), args, &Config::default(), &mut NoTrace);
/// assert!(f.is_err());
/// ```
pub fn run<T: Tracer>(
    prog: &Program,
    mem: &mut Memory,
    helpers: &mut Helpers,
    args: [u64; 5],
    cfg: &Config,
    tracer: &mut T,
) -> Result<Outcome, Fault> {
    let code = prog.decoded();
    let mut r = [0u64; 16];
    r[1..6].copy_from_slice(&args);
    r[10] = contract::STACK_TOP;
    let mut frames: Vec<Frame> = Vec::new();
    let mut pc: usize = 0;
    let mut count: u64 = 0;
    let budget = cfg.budget;

    macro_rules! fault {
        ($kind:expr) => {{
            let f = Fault { pc, kind: $kind };
            if T::ENABLED {
                tracer.retire(Retire {
                    order: count - 1,
                    cycle: count - 1,
                    engine: cfg.engine,
                    pc: pc as u32,
                    insn: prog.insns()[pc],
                    insn_hi: None,
                    reg: None,
                    mem: None,
                    fault: Some(f.kind.to_string()),
                });
            }
            return Err(f);
        }};
    }
    macro_rules! retire {
        ($reg:expr, $mem:expr) => {
            if T::ENABLED {
                let hi = matches!(code[pc].kind, Kind::Lddw).then(|| prog.insns()[pc + 1]);
                tracer.retire(Retire {
                    order: count - 1,
                    cycle: count - 1,
                    engine: cfg.engine,
                    pc: pc as u32,
                    insn: prog.insns()[pc],
                    insn_hi: hi,
                    reg: $reg,
                    mem: $mem,
                    fault: None,
                });
            }
        };
    }

    loop {
        let d = code[pc];
        if count >= budget {
            count += 1;
            fault!(FaultKind::Budget(budget));
        }
        count += 1;
        let dst = (d.dst & 15) as usize;
        let src = (d.src & 15) as usize;
        // Untraced runs take the flat path for the common ALU and jump forms.
        if !T::ENABLED {
            if let Some(taken) = fast::exec(d.fast, &mut r, dst, src, d.imm as u64) {
                pc = if taken {
                    (pc as i64 + 1 + d.off as i64) as usize
                } else {
                    pc + 1
                };
                continue;
            }
            macro_rules! ldx {
                ($w:expr) => {{
                    let addr = r[src].wrapping_add(d.off as i64 as u64);
                    match mem.load(addr, $w) {
                        Ok(v) => r[dst] = v,
                        Err(e) => fault!(FaultKind::Mem(e)),
                    }
                    pc += 1;
                    continue;
                }};
            }
            macro_rules! st {
                ($w:expr, $v:expr) => {{
                    let addr = r[dst].wrapping_add(d.off as i64 as u64);
                    if let Err(e) = mem.store(addr, $w, $v) {
                        fault!(FaultKind::Mem(e));
                    }
                    pc += 1;
                    continue;
                }};
            }
            match d.fast {
                Fast::LdxB => ldx!(Width::B),
                Fast::LdxH => ldx!(Width::H),
                Fast::LdxW => ldx!(Width::W),
                Fast::LdxDW => ldx!(Width::DW),
                Fast::StxB => st!(Width::B, r[src]),
                Fast::StxH => st!(Width::H, r[src]),
                Fast::StxW => st!(Width::W, r[src]),
                Fast::StxDW => st!(Width::DW, r[src]),
                Fast::StB => st!(Width::B, d.imm as u64),
                Fast::StH => st!(Width::H, d.imm as u64),
                Fast::StW => st!(Width::W, d.imm as u64),
                Fast::StDW => st!(Width::DW, d.imm as u64),
                _ => {}
            }
        }
        let mut next = pc + 1;
        match d.kind {
            Kind::Alu { op, wide, src: s } => {
                let b = if let Src::Reg = s {
                    r[src]
                } else {
                    d.imm as u64
                };
                r[dst] = if wide {
                    sem::alu64(op, r[dst], b)
                } else {
                    sem::alu32(op, r[dst], b)
                };
                retire!(Some((dst as u8, r[dst])), None);
            }
            Kind::Jmp { cond, wide, src: s } => {
                let b = if let Src::Reg = s {
                    r[src]
                } else {
                    d.imm as u64
                };
                if sem::cond(cond, wide, r[dst], b) {
                    next = (pc as i64 + 1 + d.off as i64) as usize;
                }
                retire!(None, None);
            }
            Kind::Ldx { width, sx } => {
                let addr = r[src].wrapping_add(d.off as i64 as u64);
                let v = match mem.load(addr, width) {
                    Ok(v) => v,
                    Err(e) => fault!(FaultKind::Mem(e)),
                };
                r[dst] = if sx {
                    sem::sign_extend(v, width.bytes() * 8)
                } else {
                    v
                };
                retire!(
                    Some((dst as u8, r[dst])),
                    Some(MemAccess {
                        addr,
                        width: width.bytes() as u8,
                        read: Some(v),
                        write: None
                    })
                );
            }
            Kind::Stx { width } | Kind::St { width } => {
                let addr = r[dst].wrapping_add(d.off as i64 as u64);
                let v = if let Kind::Stx { .. } = d.kind {
                    r[src]
                } else {
                    d.imm as u64
                };
                if let Err(e) = mem.store(addr, width, v) {
                    fault!(FaultKind::Mem(e));
                }
                retire!(
                    None,
                    Some(MemAccess {
                        addr,
                        width: width.bytes() as u8,
                        read: None,
                        write: Some(sem::truncate(v, width)),
                    })
                );
            }
            Kind::Ja => {
                next = (pc as i64 + 1 + d.off as i64) as usize;
                retire!(None, None);
            }
            Kind::Ja32 => {
                next = (pc as i64 + 1 + d.imm) as usize;
                retire!(None, None);
            }
            Kind::Lddw => {
                r[dst] = d.imm as u64;
                retire!(Some((dst as u8, r[dst])), None);
                next = pc + 2;
            }
            Kind::Neg { wide } => {
                r[dst] = sem::neg(wide, r[dst]);
                retire!(Some((dst as u8, r[dst])), None);
            }
            Kind::End { order, bits } => {
                r[dst] = sem::endian(order, bits, r[dst]);
                retire!(Some((dst as u8, r[dst])), None);
            }
            Kind::Atomic { width, op, fetch } => {
                let addr = r[dst].wrapping_add(d.off as i64 as u64);
                let old = match mem.load(addr, width) {
                    Ok(v) => v,
                    Err(e) => fault!(FaultKind::Mem(e)),
                };
                let res = sem::atomic(op, fetch, width, old, r[src], r[0]);
                if let Some(v) = res.store
                    && let Err(e) = mem.store(addr, width, v)
                {
                    fault!(FaultKind::Mem(e));
                }
                let reg = match (res.fetched, op) {
                    (Some(v), crate::isa::AtomicOp::Cmpxchg) => {
                        r[0] = v;
                        Some((0, v))
                    }
                    (Some(v), _) => {
                        r[src] = v;
                        Some((src as u8, v))
                    }
                    (None, _) => None,
                };
                retire!(
                    reg,
                    Some(MemAccess {
                        addr,
                        width: width.bytes() as u8,
                        read: Some(old),
                        write: res.store,
                    })
                );
            }
            Kind::LdAbs { width } | Kind::LdInd { width } => {
                let base = if let Kind::LdInd { .. } = d.kind {
                    r[src]
                } else {
                    0
                };
                let off = (base as u32).wrapping_add(d.imm as u32) as u64;
                let addr = contract::PKT_BASE + off;
                let v = match mem.load(addr, width) {
                    Ok(v) => v,
                    Err(e) => fault!(FaultKind::Mem(e)),
                };
                r[0] = sem::ntoh(v, width);
                retire!(
                    Some((0, r[0])),
                    Some(MemAccess {
                        addr,
                        width: width.bytes() as u8,
                        read: Some(v),
                        write: None
                    })
                );
            }
            Kind::Call | Kind::Callx => {
                let id = if let Kind::Call = d.kind {
                    d.imm as u32
                } else {
                    r[dst] as u32
                };
                let a = [r[1], r[2], r[3], r[4], r[5]];
                let out = match helpers.call(id, mem, a) {
                    None => fault!(FaultKind::UnknownHelper(id)),
                    Some(Err(msg)) => {
                        fault!(FaultKind::Helper {
                            id,
                            name: helpers.name(id).unwrap_or("?"),
                            msg
                        })
                    }
                    Some(Ok(o)) => o,
                };
                match out {
                    HelperOutcome::Return(v) => {
                        r[0] = v;
                        retire!(Some((0, v)), None);
                    }
                    HelperOutcome::Unwind(v) => {
                        retire!(Some((0, v)), None);
                        return Ok(Outcome {
                            r0: v,
                            insns: count,
                        });
                    }
                }
            }
            Kind::CallLocal => {
                if frames.len() + 1 >= cfg.max_frames {
                    fault!(FaultKind::CallDepth(cfg.max_frames));
                }
                frames.push(Frame {
                    ret: pc + 1,
                    saved: [r[6], r[7], r[8], r[9]],
                    r10: r[10],
                });
                r[10] -= contract::STACK_FRAME;
                next = (pc as i64 + 1 + d.imm) as usize;
                retire!(None, None);
            }
            Kind::Exit => {
                retire!(None, None);
                match frames.pop() {
                    None => {
                        return Ok(Outcome {
                            r0: r[0],
                            insns: count,
                        });
                    }
                    Some(f) => {
                        r[6..10].copy_from_slice(&f.saved);
                        r[10] = f.r10;
                        next = f.ret;
                    }
                }
            }
        }
        pc = next;
    }
}

/// Convenience: run without tracing.
pub fn run_plain(
    prog: &Program,
    mem: &mut Memory,
    helpers: &mut Helpers,
    args: [u64; 5],
) -> Result<Outcome, Fault> {
    run(
        prog,
        mem,
        helpers,
        args,
        &Config::default(),
        &mut crate::trace::NoTrace,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Insn;
    use crate::build as b;
    use crate::isa::Width;
    use crate::trace::Collect;

    fn prog(v: &[Insn]) -> Program {
        Program::new(v.to_vec()).unwrap()
    }

    #[test]
    fn budget_stops_runaway() {
        let p = prog(&[b::ja(-1), b::exit()]);
        let (mut m, a) = conformance_memory(&[]);
        let cfg = Config {
            budget: 100,
            ..Config::default()
        };
        let e = run(
            &p,
            &mut m,
            &mut Helpers::new(),
            a,
            &cfg,
            &mut crate::trace::NoTrace,
        )
        .unwrap_err();
        assert_eq!(e.pc, 0);
        assert!(e.to_string().contains("budget of 100"));
    }

    #[test]
    fn out_of_bounds_names_pc_and_address() {
        let p = prog(&[b::ldx(Width::W, 0, 1, 4), b::exit()]);
        let (mut m, a) = conformance_memory(&[1, 2, 3, 4]);
        let e = run_plain(&p, &mut m, &mut Helpers::new(), a).unwrap_err();
        assert_eq!(e.pc, 0);
        assert!(
            e.to_string()
                .contains("out-of-bounds read of 4 bytes at 0x20000004"),
            "{e}"
        );
    }

    #[test]
    fn recursion_depth_is_bounded() {
        // call local -1 calls itself forever.
        let p = prog(&[b::call_local(-1), b::exit()]);
        let (mut m, a) = conformance_memory(&[]);
        let e = run_plain(&p, &mut m, &mut Helpers::new(), a).unwrap_err();
        assert!(matches!(e.kind, FaultKind::CallDepth(8)), "{e}");
    }

    #[test]
    fn trace_records_effects() {
        let p = prog(&[
            b::mov64_imm(1, 7),
            b::stx(Width::DW, 10, 1, -8),
            b::ldx(Width::DW, 0, 10, -8),
            b::exit(),
        ]);
        let (mut m, a) = conformance_memory(&[]);
        let mut t = Collect::default();
        let o = run(
            &p,
            &mut m,
            &mut Helpers::new(),
            a,
            &Config::default(),
            &mut t,
        )
        .unwrap();
        assert_eq!(o, Outcome { r0: 7, insns: 4 });
        assert_eq!(t.0.len(), 4);
        assert_eq!(t.0[0].reg, Some((1, 7)));
        let w = t.0[1].mem.unwrap();
        assert_eq!((w.addr, w.write), (contract::STACK_TOP - 8, Some(7)));
        assert_eq!(
            t.0[2].to_line(),
            "2\t2\t0\t2\t79a0f8ff00000000\tldxdw %r0, [%r10-8]\tr0=0x7\tR8@0x30000ff8=0x7\t-"
        );
    }
}
