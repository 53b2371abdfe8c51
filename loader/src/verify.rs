//! The load-time check that a program can finish.
//!
//! This module owns one question about a linked [`Image`]: can it run
//! forever, recurse, call too deep, or overflow the device's stack? The
//! device stops a runaway program at its per-packet instruction budget, but a
//! port whose program loops refuses almost every frame, so [`crate::load`]
//! refuses such images up front (unless `Options::verify` is off). Four steps,
//! each answering from the ISA table's [`Kind`]s and the hardware contract's
//! constants ([`contract::MAX_FRAMES`], [`contract::STACK_FRAME`],
//! [`contract::STACK_SIZE`]):
//!
//! 1. **Control flow.** Every function (the entry, with the loader's prologue
//!    in front of it, and each bpf-to-bpf subprogram) gets a CFG. A jump must
//!    stay inside its function and not land on the second slot of an `lddw`,
//!    a local call must reach the first instruction of a function, and no
//!    function may run past its last instruction. Unreachable code is fine.
//! 2. **Calls.** The call graph (calls on reachable code) must be acyclic
//!    (the error names the cycle) and no chain may need more than
//!    [`contract::MAX_FRAMES`] frames, the entry's included.
//! 3. **Loops.** A bounded abstract interpreter explores every path from pc 0,
//!    as the kernel verifier does, much simplified: each register (and each
//!    stack slot written with a known address) holds an unsigned interval
//!    `[lo, hi]`; a branch whose outcome the intervals decide is followed one
//!    way, otherwise both ways with both sides' intervals refined. Helper
//!    calls return an unknown r0 and leave r1..r5 unknown. At jump targets the
//!    state is compared with the states already explored there: a state
//!    covered by one whose paths all finished is pruned; a state covered by
//!    one still being explored (its own ancestor) means the loop can come back
//!    to where it was, so it cannot be bounded. Registers that cannot affect a
//!    branch or an address from here on (a backwards "relevance" analysis over
//!    the ISA table's register use) are forgotten at those points, so
//!    straight-line and branchy code merges. A loop with a constant trip count
//!    is explored trip by trip (so is one bounded by a packet byte: at most
//!    255 trips, as in the kernel; a wider bound exhausts the limit).
//!    Exploration stops after [`EXPLORE_LIMIT`] instructions; the loop whose
//!    trips took the largest share is named with the registers its exits
//!    depend on and where they come from (packet data, a map value, a
//!    helper's result, ...), or, when no loop took a real share, the program
//!    has too many paths.
//! 4. **Stack.** The exploration records, per function, the lowest stack
//!    address it touches relative to its own r10 (loads, stores, atomics and
//!    stack pointers handed to helpers or called functions), rounded up to 8
//!    bytes as the kernel does. The device gives frame `k` of a call chain the fixed slot below
//!    `STACK_TOP - k * STACK_FRAME`: a function that calls another must stay
//!    within [`contract::STACK_FRAME`] bytes (beyond that it overlaps its
//!    callee's frame), and the deepest access of every frame of every chain
//!    must stay inside the [`contract::STACK_SIZE`]-byte region.
//!
//! Because a path ends either at `exit` or where it joins an already finished
//! path, no run of an accepted program is longer than the number of
//! instructions the check explored, which is at most [`EXPLORE_LIMIT`], the
//! device's default per-packet budget.
//!
//! What the domain does not see: values in memory other than stack slots
//! (packet bytes, map values and the context read as "any value of the load's
//! width"), relations between registers (`i < len` refines `i` and `len`
//! separately), and pointer provenance (an unknown address may alias the
//! stack, so a store through it forgets the stack slots it may hit). Loops
//! that need more are refused with a message saying how to bound them.

use crate::image::Image;
use nfbpf_vm::Insn;
use nfbpf_vm::contract;
use nfbpf_vm::disasm::disasm_one;
use nfbpf_vm::helpers::linux_name;
use nfbpf_vm::isa::{AluOp, Cond, Kind, OpDef, Order, Src, Writes, isa};
use nfbpf_vm::sem;
use nfbpf_vm::validate::branch_offset;
use std::fmt;

/// Instructions the exploration may execute (summed over all paths) before
/// it gives up: the device's default per-packet instruction budget, so an
/// accepted program finishes within that budget on every packet. The
/// kernel's own limit is 1 M instructions.
pub const EXPLORE_LIMIT: u64 = contract::DEFAULT_INSN_BUDGET;

/// States remembered per jump target for pruning (the oldest is forgotten
/// first). Forgetting only costs exploration time, never soundness.
const STATES_PER_PC: usize = 64;

/// Bit masks over r0..r9.
const R0_5: u16 = 0b11_1111;
const R1_5: u16 = 0b11_1110;
const R6_9: u16 = 0b11_1100_0000;
const R0_9: u16 = 0b11_1111_1111;

/// What the check found, for an accepted image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Instructions the exploration executed (summed over all paths): no run
    /// of the program is longer.
    pub explored: u64,
    /// States remembered at jump targets.
    pub states: usize,
    /// Frames of the deepest call chain (1: no calls).
    pub frames: usize,
    /// Stack bytes per function (rounded up to 8), image order.
    pub stack: Vec<(String, u64)>,
}

/// Where an instruction is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// Image pc (prologue included), as `nfbpf disasm` lists it.
    pub pc: usize,
    pub function: String,
    pub section: String,
    /// The instruction, disassembled.
    pub insn: String,
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pc {} (`{}`) in function `{}` (section {})",
            self.pc, self.insn, self.function, self.section
        )
    }
}

/// One step of a call chain: `function`, entered by the call at `call_pc`
/// (`None` for the entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub function: String,
    pub call_pc: Option<usize>,
}

fn chain_text(chain: &[Frame]) -> String {
    chain
        .iter()
        .map(|f| match f.call_pc {
            None => format!("`{}`", f.function),
            Some(pc) => format!("`{}` (call at pc {pc})", f.function),
        })
        .collect::<Vec<_>>()
        .join(" -> ")
}

/// A branch that leaves a loop, and what its operands depended on the last
/// time the exploration executed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoopExit {
    pub pc: usize,
    pub insn: String,
    /// Operand registers whose value was not known, with where it came from
    /// ("packet data, loaded at pc 9").
    pub depends_on: Vec<(u8, String)>,
    /// Known operand values at the last visit (when nothing was unknown).
    pub known: Vec<(u8, u64)>,
    /// The exploration never executed this branch.
    pub never_reached: bool,
}

impl fmt::Display for LoopExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "its exit at pc {} (`{}`) ", self.pc, self.insn)?;
        if self.never_reached {
            return write!(f, "is never reached");
        }
        if self.depends_on.is_empty() {
            let vals: Vec<String> = self
                .known
                .iter()
                .map(|(r, v)| format!("r{r} = {v}"))
                .collect();
            return write!(
                f,
                "is not taken in the states explored (last seen with {})",
                vals.join(", ")
            );
        }
        write!(f, "depends on ")?;
        for (k, (r, from)) in self.depends_on.iter().enumerate() {
            if k > 0 {
                write!(f, " and ")?;
            }
            write!(f, "r{r}, which comes from {from}")?;
        }
        Ok(())
    }
}

/// How the exploration found that a loop cannot be bounded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoopEvidence {
    /// The exploration came back to `pc` in a state it was already exploring
    /// from (the loop can repeat forever).
    Repeats { pc: usize },
    /// The exploration ran out of its instruction limit, `trips` of them
    /// around this loop's back edge.
    Limit { explored: u64, trips: u64 },
}

impl fmt::Display for LoopEvidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoopEvidence::Repeats { pc } => write!(
                f,
                "the check came back to pc {pc} in a state it was already exploring"
            ),
            LoopEvidence::Limit { explored, trips } => write!(
                f,
                "the check explored {explored} instructions, its limit, going around this loop {trips} times"
            ),
        }
    }
}

/// Which stack rule a frame breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackRule {
    /// A function that calls another uses more than its frame: its callee's
    /// frame starts `STACK_FRAME` bytes below its r10.
    OverlapsCallee,
    /// The frame's deepest byte is below the device's stack region.
    OutsideStack,
}

/// What makes an image unable to finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A jump or call that leaves its function or lands inside an `lddw`,
    /// code that runs past its function's end, an undecodable instruction.
    ControlFlow { at: Site, msg: String },
    /// The call graph has a cycle: each function calls the next, the last
    /// calls the first (`call_pc` of each step is the call in its caller).
    Recursion { cycle: Vec<Frame> },
    /// A call chain needs more frames than the device has.
    CallDepth { chain: Vec<Frame>, max: usize },
    /// A frame of a call chain does not fit the device's stack.
    Stack {
        chain: Vec<Frame>,
        /// Stack bytes the chain's last function uses (rounded up to 8).
        bytes: u64,
        /// Its deepest stack access.
        deepest: Site,
        rule: StackRule,
    },
    /// A loop the exploration cannot bound.
    Loop {
        /// First pc of the loop (the back edge's target).
        head: usize,
        /// The back edge's source.
        tail: usize,
        function: String,
        section: String,
        /// Branches leaving the loop (empty: it has none).
        exits: Vec<LoopExit>,
        evidence: LoopEvidence,
    },
    /// The exploration ran out of its limit and no loop is to blame.
    Paths { explored: u64 },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::ControlFlow { at, msg } => write!(f, "{at}: {msg}"),
            Problem::Recursion { cycle } => {
                write!(f, "recursion: ")?;
                for (k, fr) in cycle.iter().enumerate() {
                    let next = &cycle[(k + 1) % cycle.len()];
                    if k > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "`{}` calls `{}`", fr.function, next.function)?;
                    if let Some(pc) = next.call_pc {
                        write!(f, " at pc {pc}")?;
                    }
                }
                write!(
                    f,
                    "; the device has no recursion (bpf-to-bpf calls must not form a cycle): \
                     rewrite it as a loop bounded by a constant"
                )
            }
            Problem::CallDepth { chain, max } => write!(
                f,
                "call chain {} needs {} frames, the device has {max}; call less deep or inline some functions",
                chain_text(chain),
                chain.len()
            ),
            Problem::Stack {
                chain,
                bytes,
                deepest,
                rule,
            } => {
                let frame = chain.len() - 1;
                let last = &chain[frame].function;
                if frame > 0 {
                    write!(f, "call chain {}: ", chain_text(chain))?;
                }
                write!(
                    f,
                    "`{last}` (frame {frame}) uses {bytes} bytes of stack, its deepest access at {deepest}; "
                )?;
                match rule {
                    StackRule::OverlapsCallee => write!(
                        f,
                        "it calls another function, whose frame starts {} bytes below its r10, so the two frames would overlap: \
                         keep functions that make calls within {} bytes of stack",
                        contract::STACK_FRAME,
                        contract::STACK_FRAME
                    ),
                    StackRule::OutsideStack => write!(
                        f,
                        "with the {frame} frames of {} bytes above it, that reaches below the device's {}-byte stack",
                        contract::STACK_FRAME,
                        contract::STACK_SIZE
                    ),
                }
            }
            Problem::Loop {
                head,
                tail,
                function,
                section,
                exits,
                evidence,
            } => {
                write!(
                    f,
                    "loop at pc {head}..{tail} in function `{function}` (section {section}) "
                )?;
                if exits.is_empty() {
                    return write!(
                        f,
                        "never exits: no branch leaves it ({evidence}); give it an exit bounded by a constant"
                    );
                }
                write!(f, "cannot be bounded: ")?;
                for (k, e) in exits.iter().enumerate() {
                    if k > 0 {
                        write!(f, "; ")?;
                    }
                    write!(f, "{e}")?;
                }
                write!(
                    f,
                    " ({evidence}); bound it with a constant, e.g. `for (i = 0; i < N && i < len; i++)`, \
                     or unroll it (`#pragma unroll`)"
                )
            }
            Problem::Paths { explored } => write!(
                f,
                "the check explored {explored} instructions, its limit, without finishing every path, \
                 and no loop is to blame: the program has too many paths through its branches \
                 (values that differ between paths and are used later keep them apart); \
                 simplify its branches"
            ),
        }
    }
}

/// Why an image cannot be loaded: it may not finish.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("program `{program}` (section {section}): {problem}")]
pub struct VerifyError {
    /// The entry function.
    pub program: String,
    /// Its section.
    pub section: String,
    pub problem: Problem,
}

/// Check that `image` can finish (see the module documentation), exploring
/// at most [`EXPLORE_LIMIT`] instructions.
pub fn verify(image: &Image) -> Result<Report, Box<VerifyError>> {
    verify_with_limit(image, EXPLORE_LIMIT)
}

/// [`verify`] with another exploration limit.
pub fn verify_with_limit(image: &Image, limit: u64) -> Result<Report, Box<VerifyError>> {
    let err = |problem| {
        Box::new(VerifyError {
            program: image.function.clone(),
            section: image.section.clone(),
            problem,
        })
    };
    let cfg = Cfg::build(image).map_err(err)?;
    let frames = cfg.check_calls().map_err(err)?;
    let mut x = Explorer::new(&cfg, limit);
    if let Err(fail) = x.run() {
        return Err(err(x.diagnose(fail)));
    }
    cfg.check_stack(&x.stack_use).map_err(err)?;
    Ok(Report {
        explored: x.explored,
        states: x.stored,
        frames,
        stack: cfg
            .funcs
            .iter()
            .zip(&x.stack_use)
            .map(|(f, u)| (f.name.clone(), round8(u.map_or(0, |(b, _)| b))))
            .collect(),
    })
}

fn round8(b: u64) -> u64 {
    b.div_ceil(8) * 8
}

// ---------------------------------------------------------------------------
// Control flow, calls and relevance
// ---------------------------------------------------------------------------

/// A function's slots in the image.
#[derive(Debug, Clone)]
struct Func {
    name: String,
    section: String,
    /// First slot (0 for the entry: the prologue runs into it).
    start: usize,
    /// One past the last slot.
    end: usize,
    /// Where calls enter it.
    entry: usize,
}

/// A natural loop: the back edge `tail -> head` and the pcs that reach
/// `tail` without passing `head`.
#[derive(Debug, Clone)]
struct Loop {
    func: usize,
    head: usize,
    tail: usize,
    body: Vec<bool>,
    size: usize,
}

const NONE: u32 = u32::MAX;

/// The image's control flow, computed once.
struct Cfg<'a> {
    image: &'a Image,
    insns: &'a [Insn],
    /// Decoded first slots of instructions inside functions.
    defs: Vec<Option<&'static OpDef>>,
    funcs: Vec<Func>,
    func_of: Vec<u32>,
    reachable: Vec<bool>,
    /// Local calls on reachable code per function: (pc, callee).
    calls: Vec<Vec<(usize, usize)>>,
    loops: Vec<Loop>,
    /// Per pc: the back edges leaving it, as (target, loop index).
    back: Vec<Vec<(usize, usize)>>,
    /// Registers (bits r0..r9) whose value may still decide a branch or an
    /// address, at the start of each pc.
    relevant: Vec<u16>,
    /// Jump targets and the fall-through of conditional jumps: where states
    /// are compared.
    checkpoint: Vec<bool>,
}

impl<'a> Cfg<'a> {
    fn build(image: &'a Image) -> Result<Cfg<'a>, Problem> {
        let insns = &image.insns[..];
        let n = insns.len();
        let mut funcs: Vec<Func> = image
            .functions
            .iter()
            .map(|f| Func {
                name: f.name.clone(),
                section: f.section.clone(),
                start: f.pc,
                end: f.pc.saturating_add(f.len),
                entry: f.pc,
            })
            .collect();
        if funcs.is_empty() {
            funcs.push(Func {
                name: image.function.clone(),
                section: image.section.clone(),
                start: 0,
                end: n,
                entry: 0,
            });
        }
        if funcs[0].start == image.prologue_len {
            funcs[0].start = 0;
        }
        let mut cfg = Cfg {
            image,
            insns,
            defs: vec![None; n],
            func_of: vec![NONE; n],
            reachable: vec![false; n],
            calls: vec![Vec::new(); funcs.len()],
            loops: Vec::new(),
            back: vec![Vec::new(); n],
            relevant: vec![0; n],
            checkpoint: vec![false; n],
            funcs,
        };
        cfg.decode()?;
        cfg.check_edges()?;
        cfg.find_reachable_and_calls();
        cfg.find_loops();
        cfg.find_relevance();
        cfg.find_checkpoints();
        Ok(cfg)
    }

    fn site(&self, pc: usize) -> Site {
        let (function, section) = match self.func_of.get(pc).copied() {
            Some(k) if k != NONE => {
                let f = &self.funcs[k as usize];
                if pc < self.image.prologue_len {
                    ("<prologue>".to_string(), f.section.clone())
                } else {
                    (f.name.clone(), f.section.clone())
                }
            }
            _ => ("?".into(), "?".into()),
        };
        Site {
            pc,
            function,
            section,
            insn: self.insns.get(pc..).map_or_else(String::new, disasm_one),
        }
    }

    fn cf_err(&self, pc: usize, msg: String) -> Problem {
        Problem::ControlFlow {
            at: self.site(pc),
            msg,
        }
    }

    /// Decode every function's instructions; lay out `func_of`.
    fn decode(&mut self) -> Result<(), Problem> {
        let n = self.insns.len();
        if self.funcs[0].start != 0 {
            return Err(Problem::ControlFlow {
                at: Site {
                    pc: 0,
                    function: "?".into(),
                    section: "?".into(),
                    insn: self
                        .insns
                        .first()
                        .map_or_else(String::new, |i| disasm_one(&[*i])),
                },
                msg: "execution starts at pc 0, which is in no function".into(),
            });
        }
        for k in 0..self.funcs.len() {
            let f = self.funcs[k].clone();
            if f.start >= f.end || f.end > n {
                return Err(Problem::ControlFlow {
                    at: Site {
                        pc: f.start,
                        function: f.name.clone(),
                        section: f.section.clone(),
                        insn: String::new(),
                    },
                    msg: format!(
                        "function spans pcs {}..{}, the image has {n} slots",
                        f.start, f.end
                    ),
                });
            }
            for pc in f.start..f.end {
                if self.func_of[pc] != NONE {
                    return Err(self.cf_err(pc, format!("functions overlap at pc {pc}")));
                }
                self.func_of[pc] = k as u32;
            }
            let mut pc = f.start;
            while pc < f.end {
                let i = self.insns[pc];
                let def = isa()
                    .decode(&i)
                    .map_err(|e| self.cf_err(pc, format!("undecodable instruction: {e}")))?;
                if i.dst > 10 || i.src > 10 {
                    return Err(self.cf_err(pc, "register outside r0..r10".into()));
                }
                if pc + def.slots() > f.end {
                    return Err(self.cf_err(
                        pc,
                        format!("lddw is missing its second slot at the end of `{}`", f.name),
                    ));
                }
                self.defs[pc] = Some(def);
                pc += def.slots();
            }
        }
        Ok(())
    }

    fn target(&self, pc: usize) -> Option<i64> {
        let def = self.defs[pc]?;
        branch_offset(def.kind, &self.insns[pc]).map(|off| pc as i64 + 1 + off)
    }

    /// Index of the function whose entry is `pc`.
    fn callee_at(&self, pc: i64) -> Option<usize> {
        self.funcs.iter().position(|f| f.entry as i64 == pc)
    }

    /// Jumps stay in their function and off `lddw` second slots; calls
    /// reach a function's entry; nothing runs past a function's end.
    fn check_edges(&self) -> Result<(), Problem> {
        for (k, f) in self.funcs.iter().enumerate() {
            let mut last = f.start;
            for pc in f.start..f.end {
                let Some(def) = self.defs[pc] else { continue };
                last = pc;
                let Some(t) = self.target(pc) else { continue };
                if let Kind::CallLocal = def.kind {
                    if self.callee_at(t).is_none() {
                        return Err(self.cf_err(
                            pc,
                            format!(
                                "call to pc {t}, which is not the first instruction of a function"
                            ),
                        ));
                    }
                    continue;
                }
                if t < f.start as i64 || t >= f.end as i64 {
                    return Err(self.cf_err(
                        pc,
                        format!(
                            "jump to pc {t} leaves function `{}` (pcs {}..{})",
                            f.name, f.start, f.end
                        ),
                    ));
                }
                if self.defs[t as usize].is_none() {
                    return Err(self.cf_err(
                        pc,
                        format!(
                            "jump to pc {t} lands in the second slot of the lddw at pc {}",
                            t - 1
                        ),
                    ));
                }
                debug_assert_eq!(self.func_of[t as usize], k as u32);
            }
            if let Some(def) = self.defs[last]
                && def.falls_through()
            {
                return Err(self.cf_err(
                    last,
                    format!(
                        "execution can run past the end of function `{}` (its last instruction is not exit or ja)",
                        f.name
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Successors within the function (a local call continues at pc + 1).
    fn succs(&self, pc: usize) -> [Option<usize>; 2] {
        let Some(def) = self.defs[pc] else {
            return [None, None];
        };
        let t = self.target(pc).map(|t| t as usize);
        match def.kind {
            Kind::Exit => [None, None],
            Kind::Ja | Kind::Ja32 => [t, None],
            Kind::Jmp { .. } => [Some(pc + 1), t],
            _ => [Some(pc + def.slots()), None],
        }
    }

    fn find_reachable_and_calls(&mut self) {
        for k in 0..self.funcs.len() {
            let mut work = vec![self.funcs[k].start];
            self.reachable[self.funcs[k].start] = true;
            while let Some(pc) = work.pop() {
                if let Some(def) = self.defs[pc]
                    && let Kind::CallLocal = def.kind
                    && let Some(c) = self.target(pc).and_then(|t| self.callee_at(t))
                {
                    self.calls[k].push((pc, c));
                }
                for s in self.succs(pc).into_iter().flatten() {
                    if !self.reachable[s] {
                        self.reachable[s] = true;
                        work.push(s);
                    }
                }
            }
            self.calls[k].sort_unstable();
        }
    }

    /// Back edges by depth-first search from each function's start, and
    /// their natural loops.
    fn find_loops(&mut self) {
        let n = self.insns.len();
        let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
        for pc in 0..n {
            if self.reachable[pc] {
                for s in self.succs(pc).into_iter().flatten() {
                    preds[s].push(pc);
                }
            }
        }
        let mut color = vec![0u8; n];
        for k in 0..self.funcs.len() {
            let start = self.funcs[k].start;
            let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
            color[start] = 1;
            while let Some(top) = stack.last_mut() {
                let (pc, i) = *top;
                let succs = self.succs(pc);
                if i < 2 {
                    top.1 += 1;
                    let Some(s) = succs[i] else { continue };
                    match color[s] {
                        0 => {
                            color[s] = 1;
                            stack.push((s, 0));
                        }
                        1 => {
                            let mut body = vec![false; n];
                            body[s] = true;
                            let mut work = vec![pc];
                            while let Some(b) = work.pop() {
                                if !body[b] {
                                    body[b] = true;
                                    work.extend(preds[b].iter().copied());
                                }
                            }
                            let size = body.iter().filter(|&&b| b).count();
                            self.back[pc].push((s, self.loops.len()));
                            self.loops.push(Loop {
                                func: k,
                                head: s,
                                tail: pc,
                                body,
                                size,
                            });
                        }
                        _ => {}
                    }
                } else {
                    color[pc] = 2;
                    stack.pop();
                }
            }
        }
    }

    /// Backwards analysis: which registers may still decide a branch, an
    /// address, a value stored to memory or a helper argument. Others are
    /// forgotten at checkpoints, which loses nothing the exploration needs.
    fn find_relevance(&mut self) {
        let n = self.insns.len();
        let mut exit_out = vec![0u16; self.funcs.len()];
        loop {
            let mut changed = false;
            for pc in (0..n).rev() {
                let Some(def) = self.defs[pc] else { continue };
                if !self.reachable[pc] {
                    continue;
                }
                let fk = self.func_of[pc] as usize;
                let i = self.insns[pc];
                let bit = |r: u8| 1u16 << r;
                let new = match def.kind {
                    Kind::Exit => exit_out[fk],
                    Kind::CallLocal => {
                        let after = self.relevant[pc + 1];
                        let callee = self.target(pc).and_then(|t| self.callee_at(t)).unwrap_or(0);
                        let out = after & R0_5;
                        if exit_out[callee] | out != exit_out[callee] {
                            exit_out[callee] |= out;
                            changed = true;
                        }
                        (after & R6_9) | self.relevant[self.funcs[callee].entry]
                    }
                    _ => {
                        let mut out = 0u16;
                        for s in self.succs(pc).into_iter().flatten() {
                            out |= self.relevant[s];
                        }
                        let r = def.reads();
                        let reads = ((r.dst as u16) << i.dst) | ((r.src as u16) << i.src) | r.fixed;
                        let mut writes = match def.writes() {
                            Writes::None => 0,
                            Writes::Dst => bit(i.dst),
                            Writes::Src => bit(i.src),
                            Writes::R0 => 1,
                        };
                        let always = match def.kind {
                            Kind::Ldx { .. } => bit(i.src),
                            Kind::St { .. } => bit(i.dst),
                            Kind::Stx { .. }
                            | Kind::Atomic { .. }
                            | Kind::Jmp { .. }
                            | Kind::LdAbs { .. }
                            | Kind::LdInd { .. } => reads,
                            Kind::Call | Kind::Callx => {
                                writes |= R1_5;
                                reads
                            }
                            _ => 0,
                        };
                        let through = if out & writes != 0 { reads } else { 0 };
                        (out & !writes) | always | through
                    }
                } & R0_9;
                if new != self.relevant[pc] {
                    self.relevant[pc] = new;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }

    fn find_checkpoints(&mut self) {
        for pc in 0..self.insns.len() {
            let Some(def) = self.defs[pc] else { continue };
            if !self.reachable[pc] {
                continue;
            }
            match def.kind {
                Kind::Jmp { .. } => {
                    self.checkpoint[pc + 1] = true;
                    if let Some(t) = self.target(pc) {
                        self.checkpoint[t as usize] = true;
                    }
                }
                Kind::Ja | Kind::Ja32 => {
                    if let Some(t) = self.target(pc) {
                        self.checkpoint[t as usize] = true;
                    }
                }
                Kind::CallLocal => {
                    if let Some(c) = self.target(pc).and_then(|t| self.callee_at(t)) {
                        self.checkpoint[self.funcs[c].entry] = true;
                    }
                }
                _ => {}
            }
        }
    }

    /// No recursion and at most `MAX_FRAMES` frames; returns the deepest
    /// chain's frame count.
    fn check_calls(&self) -> Result<usize, Problem> {
        let nf = self.funcs.len();
        // Cycle search from the entry.
        let mut color = vec![0u8; nf];
        let mut stack: Vec<(usize, usize, Option<usize>)> = vec![(0, 0, None)];
        color[0] = 1;
        while let Some(top) = stack.last_mut() {
            let (f, i, _) = *top;
            if let Some(&(pc, g)) = self.calls[f].get(i) {
                top.1 += 1;
                match color[g] {
                    0 => {
                        color[g] = 1;
                        stack.push((g, 0, Some(pc)));
                    }
                    1 => {
                        let from = stack.iter().position(|s| s.0 == g).unwrap_or(0);
                        let mut cycle: Vec<Frame> = stack[from..]
                            .iter()
                            .map(|s| Frame {
                                function: self.funcs[s.0].name.clone(),
                                call_pc: s.2,
                            })
                            .collect();
                        // The first function is entered by the closing call.
                        cycle[0].call_pc = Some(pc);
                        return Err(Problem::Recursion { cycle });
                    }
                    _ => {}
                }
            } else {
                color[f] = 2;
                stack.pop();
            }
        }
        // Longest chain (the graph is acyclic now).
        /// Per function: frames of its longest chain and its first call.
        type Longest = Option<(usize, Option<(usize, usize)>)>;
        let mut depth: Vec<Longest> = vec![None; nf];
        fn longest(cfg: &Cfg<'_>, f: usize, depth: &mut [Longest]) -> usize {
            if let Some((d, _)) = depth[f] {
                return d;
            }
            let mut best = (1, None);
            for &(pc, g) in &cfg.calls[f] {
                let d = 1 + longest(cfg, g, depth);
                if d > best.0 {
                    best = (d, Some((pc, g)));
                }
            }
            depth[f] = Some(best);
            best.0
        }
        let frames = longest(self, 0, &mut depth);
        if frames > contract::MAX_FRAMES {
            let mut chain = vec![Frame {
                function: self.funcs[0].name.clone(),
                call_pc: None,
            }];
            let mut f = 0;
            while let Some((_, Some((pc, g)))) = depth[f] {
                chain.push(Frame {
                    function: self.funcs[g].name.clone(),
                    call_pc: Some(pc),
                });
                f = g;
            }
            return Err(Problem::CallDepth {
                chain,
                max: contract::MAX_FRAMES,
            });
        }
        Ok(frames)
    }

    /// Every frame of every call chain inside the device's stack (see the
    /// module documentation).
    fn check_stack(&self, uses: &[Option<(u64, usize)>]) -> Result<(), Problem> {
        let mut seen = vec![vec![false; contract::MAX_FRAMES + 1]; self.funcs.len()];
        let mut chain = vec![Frame {
            function: self.funcs[0].name.clone(),
            call_pc: None,
        }];
        self.walk_stack(0, 0, uses, &mut seen, &mut chain)
    }

    fn walk_stack(
        &self,
        f: usize,
        depth: usize,
        uses: &[Option<(u64, usize)>],
        seen: &mut [Vec<bool>],
        chain: &mut Vec<Frame>,
    ) -> Result<(), Problem> {
        if depth >= contract::MAX_FRAMES || seen[f][depth] {
            return Ok(());
        }
        seen[f][depth] = true;
        if let Some((b, at)) = uses[f] {
            let bytes = round8(b);
            let rule = if !self.calls[f].is_empty() && bytes > contract::STACK_FRAME {
                Some(StackRule::OverlapsCallee)
            } else if depth as u64 * contract::STACK_FRAME + bytes > contract::STACK_SIZE {
                Some(StackRule::OutsideStack)
            } else {
                None
            };
            if let Some(rule) = rule {
                return Err(Problem::Stack {
                    chain: chain.clone(),
                    bytes,
                    deepest: self.site(at),
                    rule,
                });
            }
        }
        for &(pc, g) in &self.calls[f] {
            chain.push(Frame {
                function: self.funcs[g].name.clone(),
                call_pc: Some(pc),
            });
            self.walk_stack(g, depth + 1, uses, seen, chain)?;
            chain.pop();
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// The abstract domain
// ---------------------------------------------------------------------------

const fn mask(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

/// An unsigned interval `[lo, hi]`, never empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    lo: u64,
    hi: u64,
}

impl Range {
    const TOP: Range = Range {
        lo: 0,
        hi: u64::MAX,
    };

    const fn k(v: u64) -> Range {
        Range { lo: v, hi: v }
    }

    const fn upto(hi: u64) -> Range {
        Range { lo: 0, hi }
    }

    fn constant(self) -> Option<u64> {
        (self.lo == self.hi).then_some(self.lo)
    }

    fn covers(self, o: Range) -> bool {
        self.lo <= o.lo && o.hi <= self.hi
    }

    fn meet(self, lo: u64, hi: u64) -> Option<Range> {
        let (lo, hi) = (self.lo.max(lo), self.hi.min(hi));
        (lo <= hi).then_some(Range { lo, hi })
    }

    /// `[lo, hi]` (exact integers) modulo 2^bits: exact when it does not
    /// wrap, every value otherwise.
    fn wrap(lo: i128, hi: i128, bits: u32) -> Range {
        let m = 1i128 << bits;
        if hi - lo >= m {
            return Range::upto(mask(bits));
        }
        let (l, h) = (lo.rem_euclid(m), hi.rem_euclid(m));
        if l <= h {
            Range {
                lo: l as u64,
                hi: h as u64,
            }
        } else {
            Range::upto(mask(bits))
        }
    }

    /// The low `bits` bits.
    fn low(self, bits: u32) -> Range {
        if bits >= 64 {
            self
        } else {
            Range::wrap(i128::from(self.lo), i128::from(self.hi), bits)
        }
    }

    fn offset(self, off: i64) -> Range {
        Range::wrap(
            i128::from(self.lo) + i128::from(off),
            i128::from(self.hi) + i128::from(off),
            64,
        )
    }
}

/// Smallest all-ones value at least `x`.
fn fill(x: u64) -> u64 {
    if x == 0 {
        0
    } else {
        u64::MAX >> x.leading_zeros()
    }
}

/// An ALU operation on intervals (RFC 9669 semantics; exact on constants,
/// which go through [`sem`]).
fn alu(op: AluOp, wide: bool, a: Range, b: Range) -> Range {
    if let (Some(x), Some(y)) = (a.constant(), b.constant()) {
        return Range::k(sem::alu(op, wide, x, y));
    }
    let bits = if wide { 64 } else { 32 };
    let (a, b) = (a.low(bits), b.low(bits));
    let top = Range::upto(mask(bits));
    let half = mask(bits) >> 1;
    let lo = |r: Range| i128::from(r.lo);
    let hi = |r: Range| i128::from(r.hi);
    match op {
        AluOp::Mov => b,
        AluOp::Add => Range::wrap(lo(a) + lo(b), hi(a) + hi(b), bits),
        AluOp::Sub => Range::wrap(lo(a) - hi(b), hi(a) - lo(b), bits),
        AluOp::Mul => match a.hi.checked_mul(b.hi) {
            Some(h) if h <= mask(bits) => Range {
                lo: a.lo * b.lo,
                hi: h,
            },
            _ => top,
        },
        AluOp::Div => udiv(a, b),
        AluOp::Mod => umod(a, b),
        AluOp::Sdiv if a.hi <= half && b.hi <= half => udiv(a, b),
        AluOp::Smod if a.hi <= half && b.hi <= half => umod(a, b),
        AluOp::And => Range::upto(a.hi.min(b.hi)),
        AluOp::Or => Range {
            lo: a.lo.max(b.lo),
            hi: fill(a.hi.max(b.hi)),
        },
        AluOp::Xor => Range::upto(fill(a.hi.max(b.hi))),
        AluOp::Lsh => match b.constant() {
            Some(s) => {
                let s = (s & u64::from(bits - 1)) as u32;
                if a.hi <= mask(bits) >> s {
                    Range {
                        lo: a.lo << s,
                        hi: a.hi << s,
                    }
                } else {
                    top
                }
            }
            None => top,
        },
        AluOp::Rsh => shr(a, b, bits),
        AluOp::Arsh if a.hi <= half => shr(a, b, bits),
        AluOp::Movsx(n) if b.hi < 1u64 << (n - 1) => b,
        _ => top,
    }
}

fn udiv(a: Range, b: Range) -> Range {
    match (a.lo.checked_div(b.hi), a.hi.checked_div(b.lo)) {
        (Some(lo), Some(hi)) => Range { lo, hi },
        // The divisor may be 0, which gives 0.
        _ => Range::upto(a.hi),
    }
}

fn umod(a: Range, b: Range) -> Range {
    if b.lo == 0 {
        // Modulo by zero leaves the dividend.
        Range::upto(a.hi)
    } else if a.hi < b.lo {
        a
    } else {
        Range::upto(a.hi.min(b.hi - 1))
    }
}

fn shr(a: Range, b: Range, bits: u32) -> Range {
    match b.constant() {
        Some(s) => {
            let s = (s & u64::from(bits - 1)) as u32;
            Range {
                lo: a.lo >> s,
                hi: a.hi >> s,
            }
        }
        None => Range::upto(a.hi),
    }
}

/// One side of a conditional jump: both operands refined, or `None` when
/// that side cannot happen.
type Side = Option<(Range, Range)>;

fn swap_side(s: Side) -> Side {
    s.map(|(a, b)| (b, a))
}

/// `a < b` (taken) and `a >= b` (not taken).
fn lt(a: Range, b: Range) -> (Side, Side) {
    let taken = match (b.hi.checked_sub(1), a.lo.checked_add(1)) {
        (Some(bh), Some(al)) => a.meet(0, bh).zip(b.meet(al, u64::MAX)),
        _ => None,
    };
    let not = a.meet(b.lo, u64::MAX).zip(b.meet(0, a.hi));
    (taken, not)
}

/// `a <= b` (taken) and `a > b` (not taken).
fn le(a: Range, b: Range) -> (Side, Side) {
    let taken = a.meet(0, b.hi).zip(b.meet(a.lo, u64::MAX));
    (taken, swap_side(lt(b, a).0))
}

/// `r` without the value `v` (only its ends can go).
fn without(r: Range, v: u64) -> Option<Range> {
    if r.constant() == Some(v) {
        None
    } else if r.lo == v {
        Some(Range { lo: v + 1, ..r })
    } else if r.hi == v {
        Some(Range { hi: v - 1, ..r })
    } else {
        Some(r)
    }
}

/// `a == b` (taken) and `a != b` (not taken).
fn eq(a: Range, b: Range) -> (Side, Side) {
    let taken = a.meet(b.lo, b.hi).map(|m| (m, m));
    let not = match (a.constant(), b.constant()) {
        (Some(x), Some(y)) if x == y => None,
        (_, Some(y)) => without(a, y).map(|a| (a, b)),
        (Some(x), _) => without(b, x).map(|b| (a, b)),
        _ => Some((a, b)),
    };
    (taken, not)
}

/// An operand as the comparison sees it: its low 32 bits for 32-bit jumps,
/// with the sign bit flipped for signed ones (so signed order is unsigned
/// order). The flag says whether a refinement of the view can be carried
/// back to the register.
fn view(r: Range, bits: u32, signed: bool) -> (Range, bool) {
    let v = r.low(bits);
    let exact = bits >= 64 || r.lo >> 32 == r.hi >> 32;
    if !signed {
        return (v, exact);
    }
    let s = 1u64 << (bits - 1);
    if v.lo < s && v.hi >= s {
        (Range::upto(mask(bits)), false)
    } else {
        (
            Range {
                lo: v.lo ^ s,
                hi: v.hi ^ s,
            },
            exact,
        )
    }
}

fn unview(orig: Range, v: Range, exact: bool, bits: u32, signed: bool) -> Range {
    if !exact {
        return orig;
    }
    let v = if signed {
        let s = 1u64 << (bits - 1);
        Range {
            lo: v.lo ^ s,
            hi: v.hi ^ s,
        }
    } else {
        v
    };
    if bits >= 64 {
        v
    } else {
        let up = orig.lo & !mask(bits);
        Range {
            lo: up | v.lo,
            hi: up | v.hi,
        }
    }
}

/// A conditional jump on intervals: (taken, not taken).
fn cond(c: Cond, wide: bool, a: Range, b: Range) -> (Side, Side) {
    if let (Some(x), Some(y)) = (a.constant(), b.constant()) {
        return if sem::cond(c, wide, x, y) {
            (Some((a, b)), None)
        } else {
            (None, Some((a, b)))
        };
    }
    let bits = if wide { 64 } else { 32 };
    let signed = matches!(c, Cond::Sgt | Cond::Sge | Cond::Slt | Cond::Sle);
    let (va, ea) = view(a, bits, signed);
    let (vb, eb) = view(b, bits, signed);
    let (t, f) = match c {
        Cond::Eq => eq(va, vb),
        Cond::Ne => {
            let (t, f) = eq(va, vb);
            (f, t)
        }
        Cond::Lt | Cond::Slt => lt(va, vb),
        Cond::Le | Cond::Sle => le(va, vb),
        Cond::Gt | Cond::Sgt => {
            let (t, f) = lt(vb, va);
            (swap_side(t), swap_side(f))
        }
        Cond::Ge | Cond::Sge => {
            let (t, f) = le(vb, va);
            (swap_side(t), swap_side(f))
        }
        Cond::Set => {
            let taken = if va.hi == 0 || vb.hi == 0 {
                None
            } else {
                va.meet(1, u64::MAX).zip(vb.meet(1, u64::MAX))
            };
            (taken, Some((va, vb)))
        }
    };
    let back = |s: Side| {
        s.map(|(x, y)| {
            (
                unview(a, x, ea, bits, signed),
                unview(b, y, eb, bits, signed),
            )
        })
    };
    (back(t), back(f))
}

/// Memory a load came from, as the address tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Region {
    Packet,
    Context,
    Stack,
    Map,
    Memory,
}

/// Where a value comes from (for messages only: never compared).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Const,
    /// The register as the program got it at pc 0.
    Entry(u8),
    Load {
        pc: u32,
        region: Region,
    },
    Helper {
        pc: u32,
        id: Option<u32>,
    },
    /// r1..r5 after the helper call at `pc`.
    Clobbered {
        pc: u32,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Origin::Const => write!(f, "a constant"),
            Origin::Entry(r @ 1..=5) => write!(f, "the program's input register r{r}"),
            Origin::Entry(r) => write!(f, "r{r}'s value at entry (the program never sets it)"),
            Origin::Load { pc, region } => {
                let what = match region {
                    Region::Packet => "packet data",
                    Region::Context => "the context `xdp_md` (a packet pointer or field)",
                    Region::Stack => "the stack",
                    Region::Map => "a map value",
                    Region::Memory => "memory",
                };
                write!(f, "{what}, loaded at pc {pc}")
            }
            Origin::Helper { pc, id } => match id {
                Some(id) => write!(
                    f,
                    "the result of helper {id} (bpf_{}) called at pc {pc}",
                    linux_name(id).unwrap_or("?")
                ),
                None => write!(f, "the result of the helper called at pc {pc}"),
            },
            Origin::Clobbered { pc } => {
                write!(f, "a register the helper call at pc {pc} left undefined")
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Val {
    r: Range,
    origin: Origin,
}

impl Val {
    const fn k(v: u64) -> Val {
        Val {
            r: Range::k(v),
            origin: Origin::Const,
        }
    }
}

/// A caller's frame, saved by a local call.
#[derive(Debug, Clone)]
struct Saved {
    ret: usize,
    regs: [Val; 4],
    r10: Val,
}

/// A stack location written with a known address and width.
#[derive(Debug, Clone)]
struct Slot {
    addr: u64,
    bytes: u32,
    val: Val,
}

#[derive(Debug, Clone)]
struct State {
    regs: [Val; 11],
    frames: Vec<Saved>,
    /// Sorted by address, never overlapping.
    slots: Vec<Slot>,
}

impl State {
    /// Does every concrete state of `o` belong to `self`?
    fn covers(&self, o: &State) -> bool {
        if self.frames.len() != o.frames.len() {
            return false;
        }
        if !self.regs.iter().zip(&o.regs).all(|(a, b)| a.r.covers(b.r)) {
            return false;
        }
        for (a, b) in self.frames.iter().zip(&o.frames) {
            if a.ret != b.ret
                || !a.r10.r.covers(b.r10.r)
                || !a.regs.iter().zip(&b.regs).all(|(x, y)| x.r.covers(y.r))
            {
                return false;
            }
        }
        // A slot `self` does not know holds anything.
        let mut j = 0;
        for s in &self.slots {
            while j < o.slots.len() && o.slots[j].addr < s.addr {
                j += 1;
            }
            match o.slots.get(j) {
                Some(t) if t.addr == s.addr && t.bytes == s.bytes && s.val.r.covers(t.val.r) => {}
                _ => return false,
            }
        }
        true
    }

    /// Forget the stack slots overlapping `[lo, hi)`.
    fn forget(&mut self, lo: u64, hi: u64) {
        self.slots
            .retain(|s| s.addr + u64::from(s.bytes) <= lo || s.addr >= hi);
    }

    /// A store of `bytes` bytes of `val` at `addr`.
    fn store(&mut self, addr: Range, bytes: u32, val: Val) {
        let (base, top) = (contract::STACK_BASE, contract::STACK_TOP);
        let end = addr.hi.saturating_add(u64::from(bytes));
        if addr.lo >= top || end <= base {
            return;
        }
        match addr.constant() {
            Some(a) if a >= base && end <= top => {
                self.forget(a, end);
                let at = self.slots.partition_point(|s| s.addr < a);
                self.slots.insert(
                    at,
                    Slot {
                        addr: a,
                        bytes,
                        val,
                    },
                );
            }
            _ => self.forget(addr.lo.max(base), end.min(top)),
        }
    }

    fn load(&self, addr: Range, bytes: u32) -> Option<Val> {
        let a = addr.constant()?;
        let s = self.slots.iter().find(|s| s.addr == a)?;
        (s.bytes == bytes).then_some(s.val)
    }
}

fn region_of(addr: Range, base: Origin) -> Region {
    let inside = |b: u64, size: u64| addr.lo >= b && addr.hi < b + size;
    if inside(contract::PKT_BASE, contract::PKT_WINDOW as u64) {
        Region::Packet
    } else if inside(contract::CTX_BASE, contract::XDP_MD_SIZE as u64) {
        Region::Context
    } else if inside(contract::STACK_BASE, contract::STACK_SIZE) {
        Region::Stack
    } else if inside(
        contract::MAP_BASE,
        contract::MAX_MAPS as u64 * contract::MAP_STRIDE,
    ) {
        Region::Map
    } else {
        match base {
            // xdp_md's pointers point into the packet.
            Origin::Load {
                region: Region::Context,
                ..
            } => Region::Packet,
            Origin::Load {
                region: Region::Packet,
                ..
            } => Region::Packet,
            Origin::Helper { .. } => Region::Map,
            _ => Region::Memory,
        }
    }
}

// ---------------------------------------------------------------------------
// The exploration
// ---------------------------------------------------------------------------

/// A path being explored.
#[derive(Debug, Clone)]
struct Path {
    pc: usize,
    st: State,
    /// Nearest checkpoint node above it.
    cp: u32,
    /// Last back edge it took (a loop index).
    last_loop: Option<usize>,
}

/// A checkpoint visit: done when every path through it has finished.
#[derive(Debug, Clone, Copy)]
struct Node {
    parent: u32,
    open: u32,
    done: bool,
}

enum Flow {
    Next,
    End,
    Fork(Box<Path>),
}

#[derive(Debug)]
enum Fail {
    Repeats { pc: usize, last_loop: Option<usize> },
    Limit,
    Depth { chain: Vec<Frame> },
}

struct Explorer<'c, 'a> {
    cfg: &'c Cfg<'a>,
    limit: u64,
    explored: u64,
    nodes: Vec<Node>,
    /// Remembered states per pc (node, state), oldest first.
    seen: Vec<Vec<(u32, State)>>,
    stored: usize,
    /// Per loop: how often its back edge was taken.
    trips: Vec<u64>,
    /// Per pc: the operands of the conditional jump there, last time.
    last_ops: Vec<Option<(Val, Option<Val>)>>,
    /// Per function: deepest stack use (bytes below its r10) and where.
    stack_use: Vec<Option<(u64, usize)>>,
}

impl<'c, 'a> Explorer<'c, 'a> {
    fn new(cfg: &'c Cfg<'a>, limit: u64) -> Self {
        let n = cfg.insns.len();
        Explorer {
            cfg,
            limit,
            explored: 0,
            nodes: Vec::new(),
            seen: vec![Vec::new(); n],
            stored: 0,
            trips: vec![0; cfg.loops.len()],
            last_ops: vec![None; n],
            stack_use: vec![None; cfg.funcs.len()],
        }
    }

    fn run(&mut self) -> Result<(), Fail> {
        let mut regs = [Val::k(0); 11];
        for (r, v) in regs.iter_mut().enumerate() {
            *v = Val {
                r: Range::TOP,
                origin: Origin::Entry(r as u8),
            };
        }
        // What the engine sets before pc 0 (the prologue then sets r1 and
        // r10 again).
        regs[10] = Val::k(contract::STACK_TOP);
        let mut pending = vec![Path {
            pc: 0,
            st: State {
                regs,
                frames: Vec::new(),
                slots: Vec::new(),
            },
            cp: NONE,
            last_loop: None,
        }];
        while let Some(mut p) = pending.pop() {
            loop {
                if self.explored >= self.limit {
                    return Err(Fail::Limit);
                }
                self.explored += 1;
                if self.cfg.checkpoint[p.pc] && !self.checkpoint(&mut p)? {
                    self.finish(p.cp);
                    break;
                }
                match self.exec(&mut p)? {
                    Flow::Next => {}
                    Flow::End => {
                        self.finish(p.cp);
                        break;
                    }
                    Flow::Fork(other) => {
                        if p.cp != NONE {
                            self.nodes[p.cp as usize].open += 1;
                        }
                        pending.push(*other);
                    }
                }
            }
        }
        Ok(())
    }

    /// Compare the path's state with those seen at its pc: `false` to prune
    /// it, an error when it repeats an ancestor's state.
    fn checkpoint(&mut self, p: &mut Path) -> Result<bool, Fail> {
        let pc = p.pc;
        // Forget what cannot matter any more.
        let rel = self.cfg.relevant[pc];
        for (r, v) in p.st.regs.iter_mut().enumerate().take(10) {
            if rel & (1 << r) == 0 {
                v.r = Range::TOP;
            }
        }
        for f in &mut p.st.frames {
            let rel = self.cfg.relevant[f.ret];
            for (j, v) in f.regs.iter_mut().enumerate() {
                if rel & (1 << (6 + j)) == 0 {
                    v.r = Range::TOP;
                }
            }
        }
        for (node, old) in &self.seen[pc] {
            if old.covers(&p.st) {
                if self.nodes[*node as usize].done {
                    return Ok(false);
                }
                return Err(Fail::Repeats {
                    pc,
                    last_loop: p.last_loop,
                });
            }
        }
        let id = self.nodes.len() as u32;
        self.nodes.push(Node {
            parent: p.cp,
            open: 1,
            done: false,
        });
        p.cp = id;
        let list = &mut self.seen[pc];
        if list.len() >= STATES_PER_PC {
            list.remove(0);
        } else {
            self.stored += 1;
        }
        list.push((id, p.st.clone()));
        Ok(true)
    }

    /// A path ended: close the checkpoints it leaves with nothing open.
    fn finish(&mut self, mut cp: u32) {
        while cp != NONE {
            let n = &mut self.nodes[cp as usize];
            n.open -= 1;
            if n.open > 0 {
                return;
            }
            n.done = true;
            cp = n.parent;
        }
    }

    fn take_edge(&mut self, p: &mut Path, from: usize, to: usize) {
        for &(t, l) in &self.cfg.back[from] {
            if t == to {
                self.trips[l] += 1;
                p.last_loop = Some(l);
            }
        }
        p.pc = to;
    }

    /// Record a stack access of `[addr.lo, addr.hi + bytes)` for the frame
    /// owning its lowest byte.
    fn touch(&mut self, st: &State, pc: usize, addr: Range, bytes: u32) {
        let lo = addr.lo;
        let hi = addr.hi.saturating_add(u64::from(bytes));
        if hi > contract::STACK_TOP
            || lo < contract::STACK_BASE.saturating_sub(contract::STACK_SIZE)
            || hi - lo > contract::STACK_SIZE
        {
            return;
        }
        let depth = st.frames.len();
        for j in (0..=depth).rev() {
            let (r10, func) = if j == depth {
                (st.regs[10].r.constant(), self.cfg.func_of[pc])
            } else {
                let f = &st.frames[j];
                (f.r10.r.constant(), self.cfg.func_of[f.ret - 1])
            };
            let Some(r10) = r10 else { return };
            if lo < r10 {
                let used = r10 - lo;
                let slot = &mut self.stack_use[func as usize];
                if slot.is_none_or(|(b, _)| used > b) {
                    *slot = Some((used, pc));
                }
                return;
            }
        }
    }

    fn exec(&mut self, p: &mut Path) -> Result<Flow, Fail> {
        let pc = p.pc;
        let cfg = self.cfg;
        let i = cfg.insns[pc];
        let Some(def) = cfg.defs[pc] else {
            // Checked by the CFG: every reachable pc decodes.
            return Ok(Flow::End);
        };
        let (dst, src) = (usize::from(i.dst), usize::from(i.src));
        let imm = Val::k(i.imm as i64 as u64);
        let width_top = |bytes: u32, origin| Val {
            r: Range::upto(mask(bytes * 8)),
            origin,
        };
        match def.kind {
            Kind::Alu { op, wide, src: s } => {
                let a = p.st.regs[dst];
                let b = match s {
                    Src::Reg => p.st.regs[src],
                    Src::Imm => imm,
                };
                let r = alu(op, wide, a.r, b.r);
                let origin = if r.constant().is_some() {
                    Origin::Const
                } else if def.reads().dst && a.origin != Origin::Const {
                    a.origin
                } else {
                    b.origin
                };
                p.st.regs[dst] = Val { r, origin };
                p.pc += 1;
            }
            Kind::Neg { wide } => {
                let a = p.st.regs[dst];
                let bits = if wide { 64 } else { 32 };
                p.st.regs[dst].r = match a.r.constant() {
                    Some(x) => Range::k(sem::neg(wide, x)),
                    None => Range::upto(mask(bits)),
                };
                p.pc += 1;
            }
            Kind::End { order, bits } => {
                let a = p.st.regs[dst];
                p.st.regs[dst].r = match (a.r.constant(), order) {
                    (Some(x), _) => Range::k(sem::endian(order, bits, x)),
                    (None, Order::Le) => a.r.low(u32::from(bits)),
                    (None, _) => Range::upto(mask(u32::from(bits))),
                };
                p.pc += 1;
            }
            Kind::Lddw => {
                let hi = cfg.insns[pc + 1].imm as u32 as u64;
                p.st.regs[dst] = Val::k((hi << 32) | i.imm as u32 as u64);
                p.pc += 2;
            }
            Kind::Ldx { width, sx } => {
                let base = p.st.regs[src];
                let addr = base.r.offset(i.off.into());
                let bytes = width.bytes();
                self.touch(&p.st, pc, addr, bytes);
                let v = p.st.load(addr, bytes).unwrap_or_else(|| {
                    width_top(
                        bytes,
                        Origin::Load {
                            pc: pc as u32,
                            region: region_of(addr, base.origin),
                        },
                    )
                });
                let bits = bytes * 8;
                p.st.regs[dst] = match (sx, v.r.constant()) {
                    (false, _) => v,
                    (true, Some(x)) => Val::k(sem::sign_extend(x, bits)),
                    (true, None) if v.r.hi < 1u64 << (bits - 1) => v,
                    (true, None) => Val {
                        r: Range::TOP,
                        origin: v.origin,
                    },
                };
                p.pc += 1;
            }
            Kind::St { width } | Kind::Stx { width } => {
                let addr = p.st.regs[dst].r.offset(i.off.into());
                let bytes = width.bytes();
                self.touch(&p.st, pc, addr, bytes);
                let v = if let Kind::Stx { .. } = def.kind {
                    p.st.regs[src]
                } else {
                    imm
                };
                let v = Val {
                    r: v.r.low(bytes * 8),
                    origin: v.origin,
                };
                p.st.store(addr, bytes, v);
                p.pc += 1;
            }
            Kind::Atomic { width, .. } => {
                let base = p.st.regs[dst];
                let addr = base.r.offset(i.off.into());
                let bytes = width.bytes();
                self.touch(&p.st, pc, addr, bytes);
                let end = addr.hi.saturating_add(u64::from(bytes));
                p.st.forget(addr.lo, end);
                let old = width_top(
                    bytes,
                    Origin::Load {
                        pc: pc as u32,
                        region: region_of(addr, base.origin),
                    },
                );
                match def.writes() {
                    Writes::R0 => p.st.regs[0] = old,
                    Writes::Src => p.st.regs[src] = old,
                    Writes::Dst | Writes::None => {}
                }
                p.pc += 1;
            }
            Kind::LdAbs { width } | Kind::LdInd { width } => {
                p.st.regs[0] = width_top(
                    width.bytes(),
                    Origin::Load {
                        pc: pc as u32,
                        region: Region::Packet,
                    },
                );
                p.pc += 1;
            }
            Kind::Jmp {
                cond: c,
                wide,
                src: s,
            } => {
                let a = p.st.regs[dst];
                let b = match s {
                    Src::Reg => p.st.regs[src],
                    Src::Imm => imm,
                };
                self.last_ops[pc] = Some((a, matches!(s, Src::Reg).then_some(b)));
                let target = (pc as i64 + 1 + i64::from(i.off)) as usize;
                let (t, f) = cond(c, wide, a.r, b.r);
                let apply = |st: &mut State, (x, y): (Range, Range)| {
                    st.regs[dst].r = x;
                    if let Src::Reg = s
                        && src != dst
                    {
                        st.regs[src].r = y;
                    }
                };
                match (t, f) {
                    (Some(tv), Some(fv)) => {
                        let mut other = Box::new(p.clone());
                        apply(&mut other.st, tv);
                        self.take_edge(&mut other, pc, target);
                        apply(&mut p.st, fv);
                        self.take_edge(p, pc, pc + 1);
                        // Explore the later pc first: forward jumps usually
                        // leave loops, so their paths finish soon.
                        if other.pc > p.pc {
                            std::mem::swap(p, &mut *other);
                        }
                        return Ok(Flow::Fork(other));
                    }
                    (Some(tv), None) => {
                        apply(&mut p.st, tv);
                        self.take_edge(p, pc, target);
                    }
                    (None, Some(fv)) => {
                        apply(&mut p.st, fv);
                        self.take_edge(p, pc, pc + 1);
                    }
                    (None, None) => return Ok(Flow::End),
                }
            }
            Kind::Ja | Kind::Ja32 => {
                let target = cfg.target(pc).map_or(pc, |t| t as usize);
                self.take_edge(p, pc, target);
            }
            Kind::Call | Kind::Callx => {
                let id = match def.kind {
                    Kind::Call => Some(i.imm as u32),
                    _ => p.st.regs[dst].r.constant().map(|v| v as u32),
                };
                // A helper may read (or, for all we assume, write) memory
                // from a stack pointer argument up.
                for a in 1..=5 {
                    let v = p.st.regs[a].r;
                    if v.lo >= contract::STACK_BASE && v.hi < contract::STACK_TOP {
                        self.touch(&p.st, pc, v, 1);
                        p.st.forget(v.lo, contract::STACK_TOP);
                    }
                }
                p.st.regs[0] = Val {
                    r: Range::TOP,
                    origin: Origin::Helper { pc: pc as u32, id },
                };
                for r in &mut p.st.regs[1..=5] {
                    *r = Val {
                        r: Range::TOP,
                        origin: Origin::Clobbered { pc: pc as u32 },
                    };
                }
                p.pc += 1;
            }
            Kind::CallLocal => {
                if p.st.frames.len() + 1 >= contract::MAX_FRAMES {
                    // The call graph check bounds the depth; kept for images
                    // it did not see.
                    let mut calls: Vec<usize> = p.st.frames.iter().map(|f| f.ret - 1).collect();
                    calls.push(pc);
                    let name =
                        |k: Option<usize>| k.map_or("?".to_string(), |k| cfg.funcs[k].name.clone());
                    let mut chain = vec![Frame {
                        function: name(Some(cfg.func_of[calls[0]] as usize)),
                        call_pc: None,
                    }];
                    for c in calls {
                        chain.push(Frame {
                            function: name(cfg.target(c).and_then(|t| cfg.callee_at(t))),
                            call_pc: Some(c),
                        });
                    }
                    return Err(Fail::Depth { chain });
                }
                // A stack pointer handed to the callee is the caller's use
                // (the callee's accesses through it may fall in any frame).
                for a in 1..=5 {
                    let v = p.st.regs[a].r;
                    if v.lo >= contract::STACK_BASE && v.hi < contract::STACK_TOP {
                        self.touch(&p.st, pc, v, 1);
                    }
                }
                let target = cfg.target(pc).map_or(pc, |t| t as usize);
                let r10 = p.st.regs[10];
                p.st.frames.push(Saved {
                    ret: pc + 1,
                    regs: [p.st.regs[6], p.st.regs[7], p.st.regs[8], p.st.regs[9]],
                    r10,
                });
                p.st.regs[10] = Val {
                    r: r10.r.offset(-(contract::STACK_FRAME as i64)),
                    origin: Origin::Const,
                };
                p.pc = target;
            }
            Kind::Exit => match p.st.frames.pop() {
                None => return Ok(Flow::End),
                Some(f) => {
                    p.st.regs[6..10].copy_from_slice(&f.regs);
                    p.st.regs[10] = f.r10;
                    p.pc = f.ret;
                }
            },
        }
        Ok(Flow::Next)
    }

    /// Turn a failed exploration into a problem naming the loop.
    fn diagnose(&self, fail: Fail) -> Problem {
        let cfg = self.cfg;
        let (lp, evidence) = match fail {
            Fail::Depth { chain } => {
                return Problem::CallDepth {
                    chain,
                    max: contract::MAX_FRAMES,
                };
            }
            Fail::Repeats { pc, last_loop } => {
                let containing = |l: &usize| cfg.loops[*l].body[pc];
                let lp = last_loop.filter(containing).or_else(|| {
                    (0..cfg.loops.len())
                        .filter(containing)
                        .min_by_key(|&l| cfg.loops[l].size)
                });
                (lp, LoopEvidence::Repeats { pc })
            }
            Fail::Limit => {
                // The loop whose trips took the largest share; to blame, it
                // must account for at least an eighth of the exploration.
                let share = |l: usize| self.trips[l].saturating_mul(cfg.loops[l].size as u64);
                let lp = (0..cfg.loops.len())
                    .filter(|&l| share(l).saturating_mul(8) >= self.explored)
                    .max_by_key(|&l| share(l));
                let trips = lp.map_or(0, |l| self.trips[l]);
                (
                    lp,
                    LoopEvidence::Limit {
                        explored: self.explored,
                        trips,
                    },
                )
            }
        };
        let Some(l) = lp else {
            return Problem::Paths {
                explored: self.explored,
            };
        };
        let lp = &cfg.loops[l];
        let f = &cfg.funcs[lp.func];
        let mut exits = Vec::new();
        for pc in f.start..f.end {
            if !lp.body[pc] {
                continue;
            }
            let Some(def) = cfg.defs[pc] else { continue };
            // (An `exit` cannot be in a loop's body: nothing follows it.)
            let leaves = matches!(def.kind, Kind::Jmp { .. })
                && cfg.succs(pc).into_iter().flatten().any(|s| !lp.body[s]);
            if leaves {
                exits.push(self.exit_info(pc));
            }
        }
        Problem::Loop {
            head: lp.head,
            tail: lp.tail,
            function: f.name.clone(),
            section: f.section.clone(),
            exits,
            evidence,
        }
    }

    fn exit_info(&self, pc: usize) -> LoopExit {
        let i = self.cfg.insns[pc];
        let mut e = LoopExit {
            pc,
            insn: disasm_one(&self.cfg.insns[pc..]),
            depends_on: Vec::new(),
            known: Vec::new(),
            never_reached: false,
        };
        let Some((a, b)) = self.last_ops[pc] else {
            e.never_reached = true;
            return e;
        };
        for (reg, v) in [(i.dst, Some(a)), (i.src, b)] {
            let Some(v) = v else { continue };
            match v.r.constant() {
                Some(x) => e.known.push((reg, x)),
                None => e.depends_on.push((reg, v.origin.to_string())),
            }
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(lo: u64, hi: u64) -> Range {
        Range { lo, hi }
    }

    #[test]
    fn interval_arithmetic_wraps_to_top() {
        assert_eq!(alu(AluOp::Add, true, r(1, 5), r(10, 10)), r(11, 15));
        assert_eq!(
            alu(AluOp::Add, true, r(0, 1), Range::k(u64::MAX)),
            Range::TOP
        );
        assert_eq!(
            alu(AluOp::Add, true, r(5, 6), Range::k(-1i64 as u64)),
            r(4, 5)
        );
        assert_eq!(
            alu(AluOp::Add, false, r(0, 0xffff_ffff), Range::k(1)),
            r(0, 0xffff_ffff)
        );
        assert_eq!(alu(AluOp::And, true, Range::TOP, Range::k(63)), r(0, 63));
        assert_eq!(alu(AluOp::Rsh, true, r(0, 255), Range::k(4)), r(0, 15));
        assert_eq!(alu(AluOp::Mod, true, Range::TOP, Range::k(16)), r(0, 15));
        assert_eq!(
            alu(AluOp::Lsh, false, r(0, 0xff), Range::k(8)),
            r(0, 0xff00)
        );
        assert_eq!(
            alu(AluOp::Mov, false, Range::TOP, Range::TOP),
            r(0, 0xffff_ffff)
        );
        // Constants take the vm's semantics.
        assert_eq!(
            alu(AluOp::Sdiv, true, Range::k(-7i64 as u64), Range::k(2)),
            Range::k(-3i64 as u64)
        );
    }

    #[test]
    fn conditions_decide_and_refine() {
        // i in [0, 15] < 16: always taken.
        let (t, f) = cond(Cond::Lt, true, r(0, 15), Range::k(16));
        assert!(t.is_some() && f.is_none());
        // n unknown: both, refined.
        let (t, f) = cond(Cond::Lt, true, Range::k(3), Range::TOP);
        assert_eq!(t, Some((Range::k(3), r(4, u64::MAX))));
        assert_eq!(f, Some((Range::k(3), r(0, 3))));
        // != at an end of the interval shrinks it.
        let (t, f) = cond(Cond::Ne, true, r(0, 16), Range::k(16));
        assert_eq!(t, Some((r(0, 15), Range::k(16))));
        assert_eq!(f, Some((Range::k(16), Range::k(16))));
        // Signed: -1 < 0.
        let (t, f) = cond(Cond::Slt, true, Range::k(u64::MAX), r(0, 5));
        assert!(t.is_some() && f.is_none());
        // 32-bit views keep the upper bits.
        let (t, _) = cond(
            Cond::Lt,
            false,
            r(0x1_0000_0000, 0x1_0000_00ff),
            Range::k(16),
        );
        assert_eq!(t.map(|s| s.0), Some(r(0x1_0000_0000, 0x1_0000_000f)));
        // Signed, crossing zero: undecided and not refined.
        let (t, f) = cond(Cond::Sgt, true, Range::TOP, Range::k(0));
        assert_eq!(t.map(|s| s.0), Some(Range::TOP));
        assert_eq!(f.map(|s| s.0), Some(Range::TOP));
        let (t, f) = cond(Cond::Set, true, r(0, 0), Range::TOP);
        assert!(t.is_none() && f.is_some());
    }

    #[test]
    fn states_cover_and_slots() {
        let mut a = State {
            regs: [Val::k(0); 11],
            frames: Vec::new(),
            slots: Vec::new(),
        };
        let mut b = a.clone();
        a.regs[1].r = r(0, 10);
        b.regs[1].r = r(3, 4);
        assert!(a.covers(&b) && !b.covers(&a));
        let sp = contract::STACK_TOP - 8;
        b.store(Range::k(sp), 8, Val::k(5));
        // `a` knows nothing of the slot: it covers `b`, not the reverse.
        assert!(a.covers(&b) && !b.covers(&a));
        assert_eq!(b.load(Range::k(sp), 8).map(|v| v.r), Some(Range::k(5)));
        assert!(b.load(Range::k(sp), 4).is_none());
        b.store(Range::k(sp + 4), 4, Val::k(1));
        assert!(b.load(Range::k(sp), 8).is_none());
        b.store(Range::TOP, 1, Val::k(0));
        assert!(b.slots.is_empty());
    }
}
