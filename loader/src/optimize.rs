//! Load-time transformations that keep every observable result the same:
//! fewer instructions per packet for the same verdict, output packet and
//! maps (`Options::optimize`, `--optimize` on the CLI; off by default).
//!
//! This module owns the rewrite of a linked [`Image`] and the facts it rests
//! on: which registers may still be read (liveness), which memory region a
//! pointer register points into, and which straight-line byte sequences a
//! wider access does in fewer instructions, and which order of a block's
//! loads and ALU instructions waits least. The device reads and writes 1,
//! 2, 4 or 8 bytes at any byte address in one access (FIFO_MD, the stack and
//! the map values; `docs/pipeline.md`), so clang's byte-by-byte code for data
//! it cannot prove aligned is the main waste in real programs. Seven
//! rewrites, the first six each inside one basic block (no jump lands inside what they
//! replace):
//!
//! 1. **Byte copies.** A run of `ldxb T, [S+a]; stxb [D+a+d], T` pairs over
//!    a contiguous range of `a` (any order: `__builtin_memcpy` of an
//!    unaligned struct) becomes the same copy with 8-, 4-, 2- and 1-byte
//!    accesses through `T` (plus one `ldxb` when `T`'s last byte is still
//!    read afterwards). Only when the two ranges cannot overlap (the same
//!    base register and disjoint offsets, or bases known to point into
//!    different regions: context, packet, stack, map values) and the
//!    destination is the packet or the stack: a fault half-way aborts the
//!    packet, and only those two regions die with it, so a copy stopped at
//!    a different byte leaves nothing anyone sees.
//! 2. **Byte loads assembled with shifts and ors.** A sequence of `ldxb`
//!    from one base register combined by `lsh`, `or` and `mov` into a
//!    value whose bytes are consecutive in memory, in little- or big-endian
//!    order (`p[0] | p[1] << 8`, or a MAC address as `p[0] << 40 | ... |
//!    p[5]`), becomes one to three wider loads (with `be16`/`be32`/`be64`
//!    for big-endian order, shifts and ors to join parts). Every byte the
//!    original loads is loaded, and no other: a packet that faulted still
//!    faults, and the sequence stores nothing.
//! 3. **A register's bytes stored one by one.** `stxb [D+o], V` and `mov T,
//!    V; rsh T, k; stxb [D+o], T` storing bytes of one register `V` to
//!    consecutive addresses in little- or big-endian order (a 48-bit MAC
//!    address from a map value, a checksum) become one to four stores of
//!    `V`, or of a copy shifted (and byte-swapped with `be64` for
//!    big-endian order) in a register the sequence wrote and nothing reads
//!    afterwards. Only when `D` points into the packet or the stack, as for
//!    copies.
//!
//! 4. **Instructions reordered around load-use bubbles.** After those, in
//!    each run of ALU instructions and loads inside one block, an
//!    instruction that reads a register right behind the load (or call)
//!    that gives it waits a clock in the pipeline
//!    (`nfbpf_vm::pipeline::decode::load_use`, `LOAD_USE_PENALTY`); a list
//!    schedule puts an independent instruction between when the run's
//!    register dependences allow, keeping the slot count and every jump.
//!    Stores, atomics, calls, `lddw` and the legacy packet loads keep their
//!    slots and bound the runs, so the same stores are done before any
//!    fault or budget stop; loads may pass each other only. A run changes
//!    only when its bubbles go down.
//! 5. **Byte loads assembled across the rest of a block.** Rewrite 2 when
//!    clang spreads it over a helper call: bytes loaded through a packet
//!    pointer before the call, kept in callee-saved registers or spilled
//!    to the stack and reloaded, and assembled after it. The loads,
//!    shifts, ors, moves, spills and reloads go and every other
//!    instruction stays in its order; each value is loaded whole right
//!    before the first kept instruction that reads it (or at the block's
//!    end). Only across helpers that write no packet (the map operations,
//!    the timer, the random number) and stores to the stack outside the
//!    spill slots; only when every removed byte is below the end of a
//!    load through the same pointer done before each kept store or call
//!    (so a byte past the packet still faults before any side effect the
//!    original did not do), and when nothing else in the function reads
//!    the spill slots or takes a pointer to the stack. It is taken at a
//!    byte load only where it saves more slots than rewrites 1 to 3 would
//!    in the same slots (it can take the bytes a copy would have used),
//!    and before 4.
//! 6. **A copy of r0 and back before `exit`.** `mov rX, r0; mov r0, rX;
//!    exit` with nothing reading `rX` afterwards is `exit`.
//! 7. **The prologue.** The entry program's `mov r1, <context>; mov r10,
//!    STACK_TOP` go: every engine starts a packet with those values in r1
//!    and r10 (the loader prepends them for hardware that does not, as
//!    the published system's); not in an image with tail programs.
//!
//! A rewrite must leave every register that may still be read holding what
//! it held; registers the sequence wrote that nothing reads again may end
//! with other values. Liveness is conservative: a helper call reads the
//! argument registers its unit reads (`nfbpf_vm::units::HelperUnit::args`,
//! its Linux prototype's, r1..r5 for a helper the device lacks) and
//! changes only r0; a bpf-to-bpf call reads r1..r9 (the callee may read
//! anything) and its callee's exit passes on what any of its call sites
//! reads afterwards. What changes is what a trace shows: the pcs, the
//! instructions, and where in a rewritten sequence a fault happens. A
//! location ([`Image::locate`]) still names the object's instruction as
//! clang emitted it ([`Report::origin`]: a rewritten sequence's slots name
//! its first instruction).
//!
//! The interpreter and the Linux kernel check it: `loader/tests/optimize.rs`
//! runs every program of `programs/` with and without the rewrite on random
//! packets and compares verdicts, packets and maps; `tests/kernel_oracle.rs`
//! compares the rewritten programs with the kernel running the originals.

use crate::image::{Function, Image, Relocation, Target};
use nfbpf_vm::Insn;
use nfbpf_vm::abi::{Abi, sk_buff, xdp_md};
use nfbpf_vm::build;
use nfbpf_vm::contract;
use nfbpf_vm::isa::{AluOp, Kind, OpDef, Order, Src, Width, Writes, isa};
use nfbpf_vm::pipeline::decode::{NO_REG, load_use, reg_use};
use nfbpf_vm::units;
use nfbpf_vm::validate::branch_offset;
use std::fmt;

/// What [`optimize`] did to an image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Slots of the image (its tail programs included) before and after.
    pub before: usize,
    pub after: usize,
    /// Each rewrite, in the order of the original image's pcs.
    pub rewrites: Vec<Rewrite>,
    /// Per program (0 the image, `k + 1` its tail `k`) and new pc, the pc
    /// it came from (a rewritten sequence's slots: the sequence's first);
    /// empty for a program left as it was.
    pub origins: Vec<Vec<usize>>,
}

impl Report {
    /// The original pc of slot `pc` of program `program` (0 the image,
    /// `k + 1` tail `k`).
    pub fn origin(&self, program: usize, pc: usize) -> usize {
        self.origins
            .get(program)
            .and_then(|o| o.get(pc))
            .copied()
            .unwrap_or(pc)
    }
}

/// One replaced sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewrite {
    /// Program: 0 the image, `k + 1` its tail `k`.
    pub program: usize,
    /// First pc of the sequence in the original program.
    pub pc: usize,
    pub old_len: usize,
    pub new_len: usize,
    pub what: &'static str,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "optimize: {} slots -> {} ({} rewrites)",
            self.before,
            self.after,
            self.rewrites.len()
        )?;
        for r in &self.rewrites {
            let prog = if r.program == 0 {
                String::new()
            } else {
                format!("tail {} ", r.program - 1)
            };
            writeln!(
                f,
                "  {prog}pc {}: {} ({} -> {} instructions)",
                r.pc, r.what, r.old_len, r.new_len
            )?;
        }
        Ok(())
    }
}

/// The image rewritten (its tail programs too), and what changed. An image
/// the rewrite cannot analyze (an undecodable slot, a jump out of range) is
/// returned unchanged.
pub fn optimize(image: &Image) -> (Image, Report) {
    let mut out = image.clone();
    let mut report = Report::default();
    let mut one = |program: usize,
                   insns: &mut Vec<Insn>,
                   functions: &mut Vec<Function>,
                   relocations: &mut Vec<Relocation>| {
        report.before += insns.len();
        let starts: Vec<usize> = functions.iter().map(|f| f.pc).collect();
        let mut origin = Vec::new();
        let mut scheduled = Vec::new();
        if let Some(done) = rewrite(insns, &starts, image.prologue_len, image.abi) {
            origin = done.origin;
            for f in functions.iter_mut() {
                let end = done.map[f.pc + f.len];
                f.pc = done.map[f.pc];
                f.len = end - f.pc;
            }
            for r in relocations.iter_mut() {
                r.pc = done.map[r.pc];
                if let Target::Call { pc, .. } = &mut r.target {
                    *pc = done.map[*pc];
                }
            }
            *insns = done.insns;
            report
                .rewrites
                .extend(done.rewrites.into_iter().map(|r| Rewrite { program, ..r }));
        }
        // Then each block's loads and ALU instructions reordered around
        // load-use bubbles (4.): no slot count or jump changes.
        let starts: Vec<usize> = functions.iter().map(|f| f.pc).collect();
        if let Some((order, runs)) = schedule(insns, &starts, image.prologue_len, image.abi) {
            if origin.is_empty() {
                origin = (0..insns.len()).collect();
            }
            scheduled.extend(runs.into_iter().map(|(pc, len)| Rewrite {
                program,
                pc: origin[pc],
                old_len: len,
                new_len: len,
                what: "reordered around a load-use bubble",
            }));
            origin = order.iter().map(|&pc| origin[pc]).collect();
            *insns = order.iter().map(|&pc| insns[pc]).collect();
        }
        if !scheduled.is_empty() {
            report.rewrites.extend(scheduled);
            report.rewrites.sort_by_key(|r| (r.program, r.pc));
        }
        report.after += insns.len();
        report.origins.push(origin);
    };
    one(0, &mut out.insns, &mut out.functions, &mut out.relocations);
    for (k, t) in out.tails.iter_mut().enumerate() {
        one(k + 1, &mut t.insns, &mut t.functions, &mut t.relocations);
    }
    drop_prologue(&mut out, &mut report);
    (out, report)
}

/// Rewrite 7: the entry program's prologue goes. Every engine starts a
/// packet with r1 the ABI's context pointer and r10 the stack's top (the
/// model's `pipeline::Engine`, the RTL's `ebpf_regfile`; the interpreter
/// is run the same way), the values the prologue (`link::prologue`) sets
/// again, so its two instructions change nothing there. Not in an image
/// with tail programs: they keep theirs (a tail program starts with the
/// registers its caller left), and the image's `prologue_len` is theirs too.
fn drop_prologue(out: &mut Image, report: &mut Report) {
    let len = out.prologue_len;
    if len == 0
        || !out.tails.is_empty()
        || out.entry != len
        || out.insns.get(..len) != Some(&crate::link::prologue(out.abi)[..])
        || out.relocations.iter().any(|r| r.pc < len)
        || out.functions.iter().any(|f| f.pc < len)
    {
        return;
    }
    out.insns.drain(..len);
    for f in &mut out.functions {
        f.pc -= len;
    }
    for r in &mut out.relocations {
        r.pc -= len;
        if let Target::Call { pc, .. } = &mut r.target {
            *pc -= len;
        }
    }
    out.entry = 0;
    out.prologue_len = 0;
    let n = out.insns.len();
    match report.origins.first_mut() {
        Some(o) if !o.is_empty() => {
            o.drain(..len);
        }
        Some(o) => *o = (len..len + n).collect(),
        None => report.origins.push((len..len + n).collect()),
    }
    report.after -= len;
    report.rewrites.insert(
        0,
        Rewrite {
            program: 0,
            pc: 0,
            old_len: len,
            new_len: 0,
            what: "the prologue (r1 and r10 as every engine starts a packet)",
        },
    );
}

const R0: u16 = 1;
const R1_9: u16 = 0b11_1111_1110;
const R0_5: u16 = 0b11_1111;
const R1_5: u16 = 0b11_1110;
const R0_9: u16 = 0b11_1111_1111;
const R10: u8 = 10;

struct Done {
    insns: Vec<Insn>,
    /// Old pc -> new pc (one past the end included).
    map: Vec<usize>,
    /// New pc -> old pc.
    origin: Vec<usize>,
    rewrites: Vec<Rewrite>,
}

/// A replacement: old slots `start..end` become `with`.
struct Patch {
    start: usize,
    end: usize,
    with: Vec<Insn>,
    what: &'static str,
    /// Old instructions the patch keeps as they were: (old pc, its slot in
    /// `with`), so that a relocation or a location still finds them.
    kept: Vec<(usize, usize)>,
}

/// The decoded program and the facts the rewrites need.
struct Code<'a> {
    insns: &'a [Insn],
    defs: Vec<Option<&'static OpDef>>,
    /// Function entries, sorted (pc 0 first).
    starts: Vec<usize>,
    /// Function (index into `starts`) of each slot.
    func_of: Vec<usize>,
    /// A jump or call lands here, or a function starts here.
    leader: Vec<bool>,
    /// Registers that may be read from each pc on (before it executes).
    live: Vec<u16>,
    /// Region each register points into before each pc executes.
    kinds: Vec<Option<[Ptr; 11]>>,
    abi: Abi,
}

fn rewrite(insns: &[Insn], starts: &[usize], prologue_len: usize, abi: Abi) -> Option<Done> {
    let code = Code::new(insns, starts, abi)?;
    let mut patches = Vec::new();
    let mut pc = prologue_len;
    while pc < insns.len() {
        // Rewrite 5 where it saves more than rewrites 1 to 3 would in the
        // same slots.
        let across = code
            .assembled_across(pc)
            .filter(|b| b.end - b.start - b.with.len() > code.saved_by_others(pc, b.end));
        if let Some(p) = across.or_else(|| code.other_patch(pc)) {
            pc = p.end;
            patches.push(p);
        } else {
            pc += 1;
        }
    }
    if patches.is_empty() {
        return None;
    }
    // Lay out: each patch's slots replaced, then every branch re-aimed.
    let n = insns.len();
    let mut map = vec![0usize; n + 1];
    let mut out = Vec::with_capacity(n);
    let mut origin = Vec::with_capacity(n);
    let mut rewrites = Vec::new();
    let mut next = patches.iter().peekable();
    let mut pc = 0;
    while pc < n {
        if let Some(p) = next.next_if(|p| p.start == pc) {
            let at = out.len();
            for slot in &mut map[p.start..p.end] {
                *slot = at;
            }
            rewrites.push(Rewrite {
                program: 0,
                pc,
                old_len: p.end - p.start,
                new_len: p.with.len(),
                what: p.what,
            });
            out.extend_from_slice(&p.with);
            origin.extend(std::iter::repeat_n((pc, false), p.with.len()));
            // A kept instruction (an `lddw` with both its slots) keeps its
            // own pc; none of them jumps, so nothing is re-aimed.
            for &(old, slot) in &p.kept {
                let slots = if code.kind_at(old, Kind::Lddw) { 2 } else { 1 };
                for k in 0..slots {
                    map[old + k] = at + slot + k;
                    origin[at + slot + k].0 = old + k;
                }
            }
            pc = p.end;
        } else {
            map[pc] = out.len();
            out.push(insns[pc]);
            origin.push((pc, true));
            pc += 1;
        }
    }
    map[n] = out.len();
    for (new_pc, &(old, kept)) in origin.iter().enumerate() {
        if !kept {
            continue;
        }
        let Some(def) = code.defs[old] else { continue };
        let Some(off) = branch_offset(def.kind, &insns[old]) else {
            continue;
        };
        let target = map[usize::try_from(old as i64 + 1 + off).ok()?];
        let rel = target as i64 - new_pc as i64 - 1;
        match def.kind {
            Kind::Jmp { .. } | Kind::Ja => out[new_pc].off = i16::try_from(rel).ok()?,
            _ => out[new_pc].imm = i32::try_from(rel).ok()?,
        }
    }
    Some(Done {
        insns: out,
        map,
        origin: origin.into_iter().map(|(pc, _)| pc).collect(),
        rewrites,
    })
}

/// Whether `i` may move within its block (4.): an ALU instruction or a
/// load. Everything else keeps its slot: stores (so the same stores are done
/// before any fault or budget stop), atomics, jumps, calls, exits, `lddw`
/// (its relocation names its slot) and the legacy packet loads (which end
/// the program when out of bounds).
fn movable(def: &OpDef) -> bool {
    matches!(
        def.kind,
        Kind::Alu { .. } | Kind::Neg { .. } | Kind::End { .. } | Kind::Ldx { .. }
    )
}

/// Load-use bubbles of instructions executed in this order (the hazard
/// unit's rule, `nfbpf_vm::pipeline::decode::load_use`).
fn bubbles(seq: &[Insn]) -> usize {
    seq.windows(2).filter(|w| load_use(&w[0], &w[1])).count()
}

/// Reorder each run of movable instructions (4.) so that fewer are right
/// behind a load (or a call) whose result they read: a list schedule that
/// keeps every register and memory dependence (a load never passes a
/// store: runs end at stores), taking a load first and otherwise the
/// earliest instruction that does not wait. A run is kept as it was unless
/// its bubbles, counting the instruction before it in its block and the one
/// after it, go down. Returns the new order (new pc -> pc) and each
/// reordered run's first pc and length; None when nothing changes.
#[allow(clippy::type_complexity)] // the order and the runs, used once
fn schedule(
    insns: &[Insn],
    starts: &[usize],
    prologue_len: usize,
    abi: Abi,
) -> Option<(Vec<usize>, Vec<(usize, usize)>)> {
    let code = Code::new(insns, starts, abi)?;
    let n = insns.len();
    let mut order: Vec<usize> = (0..n).collect();
    let mut runs = Vec::new();
    let mut pc = prologue_len;
    while pc < n {
        let is_movable = |p: usize| code.defs[p].is_some_and(movable);
        if !is_movable(pc) {
            pc += 1;
            continue;
        }
        let start = pc;
        pc += 1;
        while pc < n && is_movable(pc) && !code.leader[pc] {
            pc += 1;
        }
        let end = pc;
        if end - start < 2 {
            continue;
        }
        let before = (start > prologue_len && !code.leader[start])
            .then(|| insns[start - 1])
            .filter(|_| code.defs[start - 1].is_some_and(|d| d.kind != Kind::Lddw));
        let after = insns.get(end).copied().filter(|_| code.defs[end].is_some());
        let seq = |idx: &[usize]| -> Vec<Insn> {
            before
                .iter()
                .copied()
                .chain(idx.iter().map(|&p| insns[p]))
                .chain(after)
                .collect()
        };
        let old: Vec<usize> = (start..end).collect();
        let new = list_schedule(&code, start, end, before);
        if bubbles(&seq(&new)) < bubbles(&seq(&old)) {
            order[start..end].copy_from_slice(&new);
            runs.push((start, end - start));
        }
    }
    (!runs.is_empty()).then_some((order, runs))
}

/// Registers an instruction reads and writes (bit masks). A helper call
/// reads the argument registers its unit reads (`HelperUnit::args`), all
/// five for a helper the device does not have.
fn regs(def: &OpDef, i: &Insn) -> (u16, u16) {
    let (mut reads, wreg) = reg_use(def, i.dst, i.src);
    if def.kind == Kind::Call {
        let args = units::unit(i.imm as u32).map_or(5, |u| u.args.min(5));
        reads &= !R1_5 | (R1_5 & ((1u16 << (args + 1)) - 1));
    }
    (reads, if wreg == NO_REG { 0 } else { bit(wreg) })
}

/// The list schedule of pcs `start..end` (movable instructions of one
/// block; `before` the instruction ahead of them in the block).
fn list_schedule(code: &Code<'_>, start: usize, end: usize, before: Option<Insn>) -> Vec<usize> {
    let len = end - start;
    let rw: Vec<(u16, u16)> = (start..end)
        .map(|p| code.defs[p].map_or((0, 0), |d| regs(d, &code.insns[p])))
        .collect();
    // deps[j]: the earlier ones j must follow (RAW, WAR, WAW; loads are
    // the only memory accesses in a run and may pass each other).
    let deps: Vec<Vec<usize>> = (0..len)
        .map(|j| {
            (0..j)
                .filter(|&i| {
                    let ((ri, wi), (rj, wj)) = (rw[i], rw[j]);
                    wi & rj != 0 || ri & wj != 0 || wi & wj != 0
                })
                .collect()
        })
        .collect();
    let is_load =
        |k: usize| code.defs[start + k].is_some_and(|d| matches!(d.kind, Kind::Ldx { .. }));
    let mut done = vec![false; len];
    let mut out = Vec::with_capacity(len);
    let mut last = before;
    while out.len() < len {
        let ready: Vec<usize> = (0..len)
            .filter(|&k| !done[k] && deps[k].iter().all(|&d| done[d]))
            .collect();
        let waits = |k: usize| last.is_some_and(|l| load_use(&l, &code.insns[start + k]));
        let pick = ready
            .iter()
            .copied()
            .find(|&k| is_load(k) && !waits(k))
            .or_else(|| ready.iter().copied().find(|&k| !waits(k)))
            .or_else(|| ready.first().copied());
        let Some(k) = pick else { break };
        done[k] = true;
        out.push(start + k);
        last = Some(code.insns[start + k]);
    }
    if out.len() == len {
        out
    } else {
        (start..end).collect()
    }
}

/// Where a register points: a region of the device's address map and a
/// constant offset from where the value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ptr {
    Unknown,
    At(Region, i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Region {
    Ctx,
    Packet,
    Stack,
    MapValue,
}

/// Past this much constant offset a pointer is no longer trusted to stay in
/// its region (regions are `0x1000_0000` apart).
const DRIFT: i64 = 0x1_0000;

fn region_of_constant(v: u64) -> Ptr {
    let r = if (contract::CTX_BASE..contract::PKT_BASE).contains(&v) {
        Region::Ctx
    } else if (contract::PKT_BASE..contract::STACK_BASE).contains(&v) {
        Region::Packet
    } else if (contract::STACK_BASE..contract::MAP_BASE).contains(&v) {
        Region::Stack
    } else if (contract::MAP_BASE
        ..contract::MAP_BASE + contract::MAX_MAPS as u64 * contract::MAP_STRIDE)
        .contains(&v)
    {
        Region::MapValue
    } else {
        return Ptr::Unknown;
    };
    Ptr::At(r, 0)
}

fn bit(r: u8) -> u16 {
    1u16 << r
}

impl<'a> Code<'a> {
    fn new(insns: &'a [Insn], starts: &[usize], abi: Abi) -> Option<Code<'a>> {
        let n = insns.len();
        let mut defs = vec![None; n];
        let mut pc = 0;
        while pc < n {
            let def = isa().decode(&insns[pc]).ok()?;
            defs[pc] = Some(def);
            pc += if def.kind == Kind::Lddw { 2 } else { 1 };
        }
        if pc != n {
            return None;
        }
        let mut starts: Vec<usize> = starts.to_vec();
        starts.push(0);
        starts.sort_unstable();
        starts.dedup();
        let mut func_of = vec![0usize; n];
        for (k, &s) in starts.iter().enumerate() {
            let end = starts.get(k + 1).copied().unwrap_or(n);
            for f in func_of.get_mut(s..end)? {
                *f = k;
            }
        }
        let mut leader = vec![false; n + 1];
        for &s in &starts {
            *leader.get_mut(s)? = true;
        }
        for pc in 0..n {
            let Some(def) = defs[pc] else { continue };
            if let Some(off) = branch_offset(def.kind, &insns[pc]) {
                let t = usize::try_from(pc as i64 + 1 + off).ok()?;
                *leader.get_mut(t)? = true;
                if def.kind == Kind::CallLocal && !starts.contains(&t) {
                    return None;
                }
            }
        }
        let mut code = Code {
            insns,
            defs,
            starts,
            func_of,
            leader,
            live: vec![0; n + 1],
            kinds: vec![None; n + 1],
            abi,
        };
        code.liveness()?;
        code.pointers()?;
        Some(code)
    }

    fn target(&self, pc: usize) -> Option<usize> {
        let def = self.defs[pc]?;
        let off = branch_offset(def.kind, &self.insns[pc])?;
        usize::try_from(pc as i64 + 1 + off).ok()
    }

    fn callee(&self, pc: usize) -> Option<usize> {
        let t = self.target(pc)?;
        self.starts.iter().position(|&s| s == t)
    }

    /// Backwards, to a fixed point: the registers each pc may read from
    /// there on.
    fn liveness(&mut self) -> Option<()> {
        let n = self.insns.len();
        let mut exit_out = vec![0u16; self.starts.len()];
        loop {
            let mut changed = false;
            for pc in (0..n).rev() {
                let Some(def) = self.defs[pc] else { continue };
                let i = self.insns[pc];
                let after = |s: &Self, p: usize| s.live.get(p).copied().unwrap_or(0);
                let new = match def.kind {
                    Kind::Exit => R0 | exit_out[self.func_of[pc]],
                    Kind::Ja | Kind::Ja32 => after(self, self.target(pc)?),
                    Kind::Jmp { src, .. } => {
                        let reads = bit(i.dst) | if src == Src::Reg { bit(i.src) } else { 0 };
                        after(self, pc + 1) | after(self, self.target(pc)?) | reads
                    }
                    Kind::CallLocal => {
                        let out = after(self, pc + 1);
                        let callee = self.callee(pc)?;
                        if exit_out[callee] | (out & R0_5) != exit_out[callee] {
                            exit_out[callee] |= out & R0_5;
                            changed = true;
                        }
                        (out & !R0) | R1_9 | after(self, self.starts[callee])
                    }
                    _ => {
                        let next = if def.kind == Kind::Lddw {
                            pc + 2
                        } else {
                            pc + 1
                        };
                        let out = after(self, next);
                        let (reads, writes) = regs(def, &i);
                        // r10 is always live; a helper call reads its arguments.
                        (out & !writes) | reads
                    }
                } & R0_9;
                if new != self.live[pc] {
                    self.live[pc] = new;
                    changed = true;
                }
            }
            if !changed {
                return Some(());
            }
        }
    }

    /// Forwards, to a fixed point: the region each register points into.
    fn pointers(&mut self) -> Option<()> {
        let n = self.insns.len();
        let mut entry = [Ptr::Unknown; 11];
        entry[R10 as usize] = Ptr::At(Region::Stack, 0);
        // Execution starts at pc 0 (the loader's prologue, which sets r1
        // and r10); a subprogram starts with r10 its own frame's top.
        self.kinds[0] = Some([Ptr::Unknown; 11]);
        let mut work: Vec<usize> = vec![0];
        let mut steps = 0usize;
        while let Some(pc) = work.pop() {
            steps += 1;
            if steps > 64 * (n + 1) {
                return None;
            }
            let Some(def) = self.defs.get(pc).copied().flatten() else {
                continue;
            };
            let Some(mut st) = self.kinds[pc] else {
                continue;
            };
            let i = self.insns[pc];
            let mut succ: [Option<usize>; 2] = [Some(pc + 1), None];
            let mut callee = None;
            match def.kind {
                Kind::Alu {
                    op: AluOp::Mov,
                    wide: true,
                    src: Src::Reg,
                } => st[i.dst as usize] = st[i.src as usize],
                Kind::Alu {
                    op: AluOp::Mov,
                    wide: true,
                    src: Src::Imm,
                } => st[i.dst as usize] = region_of_constant(i.imm as i64 as u64),
                Kind::Alu {
                    op: op @ (AluOp::Add | AluOp::Sub),
                    wide: true,
                    src: Src::Imm,
                } => {
                    let d = if op == AluOp::Add {
                        i.imm as i64
                    } else {
                        -(i.imm as i64)
                    };
                    st[i.dst as usize] = match st[i.dst as usize] {
                        Ptr::At(r, o) if (o + d).abs() <= DRIFT => Ptr::At(r, o + d),
                        _ => Ptr::Unknown,
                    };
                }
                Kind::Lddw => {
                    let hi = self.insns.get(pc + 1)?.imm as u32 as u64;
                    st[i.dst as usize] = region_of_constant(hi << 32 | i.imm as u32 as u64);
                    succ[0] = Some(pc + 2);
                }
                Kind::Ldx { .. } => {
                    let packet = match st[i.src as usize] {
                        Ptr::At(Region::Ctx, o) => {
                            let at = o + i.off as i64;
                            let fields: &[u64] = match self.abi {
                                Abi::Xdp => &[xdp_md::DATA, xdp_md::DATA_END, xdp_md::DATA_META],
                                Abi::Tc => &[sk_buff::DATA, sk_buff::DATA_END, sk_buff::DATA_META],
                                Abi::Sume => &[],
                            };
                            fields.iter().any(|&f| f as i64 == at)
                        }
                        _ => false,
                    };
                    st[i.dst as usize] = if packet {
                        Ptr::At(Region::Packet, 0)
                    } else {
                        Ptr::Unknown
                    };
                }
                Kind::Call | Kind::Callx => {
                    let lookup = def.kind == Kind::Call
                        && i.imm as u32 == contract::HELPER_MAP_LOOKUP_ELEM
                        && self.abi != Abi::Sume;
                    for r in st.iter_mut().take(6) {
                        *r = Ptr::Unknown;
                    }
                    if lookup {
                        st[0] = Ptr::At(Region::MapValue, 0);
                    }
                }
                Kind::CallLocal => {
                    callee = Some(self.target(pc)?);
                    for r in st.iter_mut().take(6) {
                        *r = Ptr::Unknown;
                    }
                }
                Kind::Exit => succ = [None, None],
                Kind::Ja | Kind::Ja32 => succ = [self.target(pc), None],
                Kind::Jmp { .. } => succ[1] = self.target(pc),
                _ => match def.writes() {
                    Writes::None => {}
                    Writes::Dst => st[i.dst as usize] = Ptr::Unknown,
                    Writes::Src => st[i.src as usize] = Ptr::Unknown,
                    Writes::R0 => st[0] = Ptr::Unknown,
                },
            }
            let flows = succ
                .into_iter()
                .flatten()
                .map(|s| (s, st))
                .chain(callee.map(|c| (c, entry)));
            for (s, st) in flows {
                if s >= n {
                    continue;
                }
                let merged = match self.kinds[s] {
                    None => st,
                    Some(old) => {
                        let mut m = old;
                        for (a, b) in m.iter_mut().zip(st.iter()) {
                            if *a != *b {
                                *a = Ptr::Unknown;
                            }
                        }
                        m
                    }
                };
                if self.kinds[s] != Some(merged) {
                    self.kinds[s] = Some(merged);
                    work.push(s);
                }
            }
        }
        Some(())
    }

    /// No jump lands strictly inside `start..end`, and it stays in one
    /// function.
    fn straight(&self, start: usize, end: usize) -> bool {
        end <= self.insns.len()
            && (start + 1..end).all(|p| !self.leader[p])
            && self.func_of[start] == self.func_of[end - 1]
    }

    fn kind_at(&self, pc: usize, k: Kind) -> bool {
        self.defs
            .get(pc)
            .copied()
            .flatten()
            .is_some_and(|d| d.kind == k)
    }

    /// Rewrite 1: a run of byte-copy pairs starting at `pc`.
    fn copy_run(&self, pc: usize) -> Option<Patch> {
        let ldxb = Kind::Ldx {
            width: Width::B,
            sx: false,
        };
        let stxb = Kind::Stx { width: Width::B };
        let first = self.insns[pc];
        let (t, s) = (first.dst, first.src);
        let second = *self.insns.get(pc + 1)?;
        if !self.kind_at(pc, ldxb) || !self.kind_at(pc + 1, stxb) || second.src != t {
            return None;
        }
        let d = second.dst;
        if t == s || t == d || t == R10 {
            return None;
        }
        let delta = second.off as i64 - first.off as i64;
        let mut offs = Vec::new();
        let mut p = pc;
        while self.kind_at(p, ldxb) && self.kind_at(p + 1, stxb) {
            let (l, st) = (self.insns[p], self.insns[p + 1]);
            if l.dst != t
                || l.src != s
                || st.src != t
                || st.dst != d
                || st.off as i64 - l.off as i64 != delta
                || (p > pc && (self.leader[p] || self.leader[p + 1]))
                || (p == pc && self.leader[p + 1])
            {
                break;
            }
            offs.push(l.off as i64);
            p += 2;
        }
        let kinds = self.kinds[pc]?;
        // The longest prefix whose offsets are distinct and contiguous.
        for k in (2..=offs.len()).rev() {
            let mut o = offs[..k].to_vec();
            o.sort_unstable();
            if o.windows(2).any(|w| w[1] != w[0] + 1) {
                continue;
            }
            let (lo, len) = (o[0], k as i64);
            let end = pc + 2 * k;
            if !self.straight(pc, end) {
                continue;
            }
            let dst_kind = kinds[d as usize];
            let disjoint = if s == d {
                lo + len <= lo + delta || lo + delta + len <= lo
            } else {
                matches!((kinds[s as usize], dst_kind),
                    (Ptr::At(a, _), Ptr::At(b, _)) if a != b)
            };
            let dies = matches!(dst_kind, Ptr::At(Region::Packet | Region::Stack, _));
            if !disjoint || !dies {
                continue;
            }
            let mut with = Vec::new();
            let mut at = lo;
            while at < lo + len {
                let w = widest(lo + len - at)?;
                with.push(build::ldx(w, t, s, i16::try_from(at).ok()?));
                with.push(build::stx(w, d, t, i16::try_from(at + delta).ok()?));
                at += w.bytes() as i64;
            }
            if self.live[end] & bit(t) != 0 {
                with.push(build::ldx(Width::B, t, s, i16::try_from(offs[k - 1]).ok()?));
            }
            if with.len() < 2 * k {
                return Some(Patch {
                    start: pc,
                    end,
                    with,
                    what: "byte copy",
                    kept: Vec::new(),
                });
            }
        }
        None
    }

    /// Rewrite 2: byte loads assembled by shifts and ors, starting at `pc`.
    fn assembled_load(&self, pc: usize) -> Option<Patch> {
        let first = self.insns[pc];
        let ldxb = Kind::Ldx {
            width: Width::B,
            sx: false,
        };
        if !self.kind_at(pc, ldxb) || first.dst == first.src {
            return None;
        }
        let base = first.src;
        // Symbolic values after each instruction of the longest window.
        let mut sym: [Sym; 11] = std::array::from_fn(|_| Sym::Orig);
        let mut written = 0u16;
        let mut loaded: Vec<i64> = Vec::new();
        let mut states = Vec::new();
        let mut p = pc;
        while p < self.insns.len() && (p == pc || !self.leader[p]) {
            let Some(def) = self.defs[p] else { break };
            let i = self.insns[p];
            if i.dst == R10 {
                break;
            }
            let v = match def.kind {
                Kind::Ldx {
                    width: Width::B,
                    sx: false,
                } if i.src == base && sym[base as usize] == Sym::Orig => {
                    loaded.push(i.off as i64);
                    Sym::Bytes(vec![(i.off as i64, 0)])
                }
                Kind::Alu {
                    op: AluOp::Lsh,
                    wide,
                    src: Src::Imm,
                } => sym[i.dst as usize].shifted(i.imm, wide),
                Kind::Alu {
                    op: AluOp::Or,
                    wide,
                    src: Src::Reg,
                } => sym[i.dst as usize].or(&sym[i.src as usize], wide),
                Kind::Alu {
                    op: AluOp::Mov,
                    wide,
                    src: Src::Reg,
                } => sym[i.src as usize].moved(wide),
                _ => break,
            };
            sym[i.dst as usize] = v;
            written |= bit(i.dst);
            p += 1;
            states.push((sym.clone(), written, loaded.clone()));
        }
        for end in (pc + 2..=p).rev() {
            let (sym, written, loaded) = &states[end - pc - 1];
            if !self.straight(pc, end) {
                continue;
            }
            let live = self.live[end];
            let mut outs: Vec<(u8, &Vec<(i64, u32)>)> = Vec::new();
            let mut ok = true;
            for r in 0..10u8 {
                if written & bit(r) == 0 || live & bit(r) == 0 {
                    continue;
                }
                match &sym[r as usize] {
                    Sym::Bytes(b) => outs.push((r, b)),
                    _ => ok = false,
                }
            }
            if !ok || outs.is_empty() {
                continue;
            }
            // Every byte loaded is loaded again.
            let covered = loaded
                .iter()
                .all(|o| outs.iter().any(|(_, b)| b.iter().any(|(bo, _)| bo == o)));
            if !covered {
                continue;
            }
            // The base is read by every load: its own value last.
            outs.sort_by_key(|(r, _)| *r == base);
            let busy = outs
                .iter()
                .fold(bit(base) | bit(R10), |m, (r, _)| m | bit(*r));
            let temp = (0..10u8).find(|r| (live | busy) & bit(*r) == 0);
            let mut with = Vec::new();
            for (r, bytes) in &outs {
                match emit_bytes(*r, base, bytes, temp) {
                    Some(code)
                        if !(*r == base
                            && code.len() > 1
                            && uses_base_after_first(&code, base)) =>
                    {
                        with.extend(code)
                    }
                    _ => {
                        ok = false;
                        break;
                    }
                }
            }
            if ok && with.len() < end - pc {
                return Some(Patch {
                    start: pc,
                    end,
                    with,
                    what: "byte loads assembled into one value",
                    kept: Vec::new(),
                });
            }
        }
        None
    }
}

impl Code<'_> {
    /// Rewrite 3: the bytes of one register stored one by one, starting at
    /// `pc`: `stxb [D+o], V` and `mov T, V; rsh T, k; stxb [D+o], T` (64-
    /// or 32-bit moves and shifts), the bytes landing on consecutive
    /// addresses in little- or big-endian order.
    fn split_store(&self, pc: usize) -> Option<Patch> {
        let stxb = Kind::Stx { width: Width::B };
        // Per register: Some((source, shift, bits)) when it holds the source
        // register's value shifted right by `shift` (`bits`: the width the
        // value was truncated to, 64 or 32).
        let mut held: [Option<(u8, u32, u32)>; 11] = [None; 11];
        let mut source: Option<u8> = None;
        let mut dst: Option<u8> = None;
        let mut written = 0u16;
        let mut stores: Vec<(i64, u32)> = Vec::new();
        let mut best = None;
        let mut p = pc;
        while p < self.insns.len() && (p == pc || !self.leader[p]) {
            let Some(def) = self.defs[p] else { break };
            let i = self.insns[p];
            // The value register a move or a store reads: the source, or a
            // register holding part of it.
            let value = |r: u8, source: &mut Option<u8>| -> Option<(u8, u32, u32)> {
                if let Some(h) = held[r as usize] {
                    return Some(h);
                }
                if written & bit(r) != 0 || r == R10 {
                    return None;
                }
                match *source {
                    None => {
                        *source = Some(r);
                        Some((r, 0, 64))
                    }
                    Some(v) if v == r => Some((r, 0, 64)),
                    Some(_) => None,
                }
            };
            match def.kind {
                Kind::Alu {
                    op: AluOp::Mov,
                    wide,
                    src: Src::Reg,
                } if i.dst != R10 => {
                    let Some((v, sh, bits)) = value(i.src, &mut source) else {
                        break;
                    };
                    if Some(i.dst) == source || Some(i.dst) == dst {
                        break;
                    }
                    let bits = if wide { bits } else { bits.min(32) };
                    held[i.dst as usize] = Some((v, sh, bits));
                    written |= bit(i.dst);
                }
                Kind::Alu {
                    op: AluOp::Rsh,
                    wide,
                    src: Src::Imm,
                } if held[i.dst as usize].is_some() => {
                    let Some((v, sh, bits)) = held[i.dst as usize] else {
                        break;
                    };
                    let bits = if wide { bits } else { bits.min(32) };
                    let Some(k) = u32::try_from(i.imm).ok().filter(|&k| k < bits) else {
                        break;
                    };
                    // What is left: bits sh + k .. sh + bits of the source.
                    held[i.dst as usize] = Some((v, sh + k, bits - k));
                }
                Kind::Stx { .. } if def.kind == stxb => {
                    if *dst.get_or_insert(i.dst) != i.dst || written & bit(i.dst) != 0 {
                        break;
                    }
                    let Some((_, sh, bits)) = value(i.src, &mut source) else {
                        break;
                    };
                    if bits < 8 || Some(i.dst) == source {
                        break;
                    }
                    stores.push((i.off as i64, sh));
                }
                _ => break,
            }
            p += 1;
            if def.kind == stxb && stores.len() >= 2 {
                best = Some((p, stores.clone(), written));
            }
        }
        let (d, v) = (dst?, source?);
        let kinds = self.kinds[pc]?;
        if !matches!(
            kinds[d as usize],
            Ptr::At(Region::Packet | Region::Stack, _)
        ) {
            return None;
        }
        // The longest window that ends on a store and can be rewritten.
        let (mut end, mut st, mut wr) = best?;
        loop {
            if let Some(patch) = self.emit_split_store(pc, end, d, v, &st, wr) {
                return Some(patch);
            }
            // Shorten to the previous store.
            loop {
                end -= 1;
                if end <= pc + 1 {
                    return None;
                }
                if self.kind_at(end - 1, stxb) {
                    break;
                }
            }
            let n = (pc..end).filter(|&q| self.kind_at(q, stxb)).count();
            if n < 2 {
                return None;
            }
            st.truncate(n);
            wr = (pc..end).fold(0u16, |m, q| match self.defs[q].map(OpDef::writes) {
                Some(Writes::Dst) => m | bit(self.insns[q].dst),
                _ => m,
            });
        }
    }

    fn emit_split_store(
        &self,
        pc: usize,
        end: usize,
        d: u8,
        v: u8,
        stores: &[(i64, u32)],
        written: u16,
    ) -> Option<Patch> {
        // Registers the window wrote must be dead after it.
        if !self.straight(pc, end) || self.live[end] & written != 0 {
            return None;
        }
        let mut b = stores.to_vec();
        b.sort_unstable();
        let n = b.len() as i64;
        let lo = b[0].0;
        if b.iter().enumerate().any(|(k, &(o, _))| o != lo + k as i64) || n > 8 {
            return None;
        }
        let shift = |k: i64| b[k as usize].1 as i64;
        let le = (0..n).all(|k| shift(k) == shift(0) + 8 * k);
        let be = (0..n).all(|k| shift(k) == shift(n - 1) + 8 * (n - 1 - k));
        if !(le || be) || shift(0).max(shift(n - 1)) + 8 > 64 {
            return None;
        }
        let mut with = Vec::new();
        let single = [1, 2, 4, 8].contains(&n);
        let from = if le && shift(0) == 0 && single {
            v
        } else {
            // A temporary: written by the window (dead after it), or any
            // register dead after it, not the value's or the base.
            let t = (0..10u8).find(|&r| {
                r != v && r != d && (self.live[end] & bit(r) == 0) && (written & bit(r) != 0)
            })?;
            with.push(build::mov64_reg(t, v));
            if le {
                if shift(0) > 0 {
                    with.push(build::alu_imm(AluOp::Rsh, true, t, shift(0) as i32));
                }
            } else {
                // Byte k (address lo + k) is the source's bits at shift(k):
                // move the highest, shift(0), to the top, then swap.
                let up = 56 - shift(0);
                if up > 0 {
                    with.push(build::alu_imm(AluOp::Lsh, true, t, up as i32));
                }
                with.push(build::end(Order::Be, 64, t));
            }
            t
        };
        let mut at = 0;
        let mut last = 0;
        while at < n {
            let w = widest(n - at)?;
            if last > 0 {
                with.push(build::alu_imm(AluOp::Rsh, true, from, 8 * last));
            }
            with.push(build::stx(w, d, from, i16::try_from(lo + at).ok()?));
            last = w.bytes() as i32;
            at += w.bytes() as i64;
        }
        (with.len() < end - pc).then_some(Patch {
            start: pc,
            end,
            with,
            what: "bytes of a register stored one by one",
            kept: Vec::new(),
        })
    }
}

/// The widest access of at most `left` bytes (the rewrites cut a run of
/// bytes into 8-, 4-, 2- and 1-byte accesses, widest first).
/// Helpers that change no memory a packet load reads (the map unit's
/// operations, the timer, the random number): a packet byte reads the
/// same before such a call as after it.
fn keeps_packet(helper: u32) -> bool {
    [
        contract::HELPER_MAP_LOOKUP_ELEM,
        contract::HELPER_MAP_UPDATE_ELEM,
        contract::HELPER_MAP_DELETE_ELEM,
        contract::HELPER_KTIME_GET_NS,
        contract::HELPER_GET_PRANDOM_U32,
    ]
    .contains(&helper)
}

impl Code<'_> {
    /// The first of rewrites 1 to 3 and 6 that applies at `pc`.
    fn other_patch(&self, pc: usize) -> Option<Patch> {
        self.copy_run(pc)
            .or_else(|| self.assembled_load(pc))
            .or_else(|| self.split_store(pc))
            .or_else(|| self.exit_copy(pc))
    }

    /// Rewrite 6: `mov rX, r0; mov r0, rX; exit` (64-bit moves, clang's
    /// return value taken through the register its paths join in) is
    /// `exit` where nothing reads `rX` after the `exit`. When a jump lands
    /// on the second move, it and the `exit` stay for that path.
    fn exit_copy(&self, pc: usize) -> Option<Patch> {
        let mov = Kind::Alu {
            op: AluOp::Mov,
            wide: true,
            src: Src::Reg,
        };
        let (a, b) = (self.insns[pc], *self.insns.get(pc + 1)?);
        let x = a.dst;
        if !self.kind_at(pc, mov)
            || !self.kind_at(pc + 1, mov)
            || !self.kind_at(pc + 2, Kind::Exit)
            || a.src != 0
            || x == 0
            || b.dst != 0
            || b.src != x
            || self.live[pc + 2] & bit(x) != 0
            || self.leader[pc + 2]
            || self.func_of[pc] != self.func_of[pc + 2]
        {
            return None;
        }
        let end = if self.leader[pc + 1] { pc + 1 } else { pc + 3 };
        Some(Patch {
            start: pc,
            end,
            with: vec![self.insns[pc + 2]],
            what: "a copy of r0 and back before exit",
            kept: Vec::new(),
        })
    }

    /// Slots rewrites 1 to 3 save from `from` on, taken as the main loop
    /// takes them, up to `to` (a patch that reaches past `to` counts whole).
    fn saved_by_others(&self, from: usize, to: usize) -> usize {
        let (mut pc, mut saved) = (from, 0);
        while pc < to {
            match self.other_patch(pc) {
                Some(p) => {
                    saved += p.end - p.start - p.with.len();
                    pc = p.end;
                }
                None => pc += 1,
            }
        }
        saved
    }

    /// Rewrite 5: rewrite 2 across the rest of a block. From an `ldxb` at
    /// `pc` through a packet pointer `B`, the byte loads through `B`, the
    /// shifts, ors and moves that assemble them, their 8-byte spills to
    /// the stack and the reloads go, while every other instruction of the
    /// block stays in its order (clang keeps such bytes in callee-saved
    /// registers and stack slots across a helper call, and assembles them
    /// after it). Each assembled value is loaded whole (`emit_bytes`) right
    /// before the first kept instruction that reads it, and at the end of
    /// the block if it is still read there.
    ///
    /// What keeps every result the same:
    /// - the memory those bytes are in does not change in between: the
    ///   kept stores go to the stack through `r10`, outside the spill
    ///   slots, and the kept calls are helpers that write no packet
    ///   ([`keeps_packet`]);
    /// - no fault goes missing or lands behind a side effect: at every
    ///   kept store or call, and at the end, each removed load's byte is
    ///   below the end of a load through `B` done by then (kept, or
    ///   emitted), so a removed load that would have faulted (past the
    ///   packet's end: the window only grows upwards from `B`'s offset,
    ///   which is not negative) leaves one that faults before any side
    ///   effect the original did not do;
    /// - the spill slots are read by nothing else in the function, and
    ///   `r10` is used there only as a load or store base (no pointer to
    ///   the stack escapes);
    /// - registers: a kept instruction reads each register as the original
    ///   had it (a value still pending is loaded first), `B` is never
    ///   written in the window, and a temporary is a register nothing reads
    ///   from there on.
    fn assembled_across(&self, pc: usize) -> Option<Patch> {
        let ldxb = Kind::Ldx {
            width: Width::B,
            sx: false,
        };
        let first = self.insns[pc];
        if !self.kind_at(pc, ldxb) || first.dst == first.src || first.dst == R10 {
            return None;
        }
        let base = first.src;
        let Ptr::At(Region::Packet, c) = self.kinds[pc]?[base as usize] else {
            return None;
        };
        let mut sym: [Sym; 11] = std::array::from_fn(|_| Sym::Orig);
        // Registers whose assembled value is not loaded yet.
        let mut pending = 0u16;
        // Stack slots (8 bytes at r10 + offset) holding an assembled value.
        let mut slots: Vec<(i64, Sym)> = Vec::new();
        let mut used_slots: Vec<i64> = Vec::new();
        // Offsets from the packet pointer's origin: of the removed byte
        // loads, and the end of the loads through B done so far.
        let mut removed: Vec<i64> = Vec::new();
        let mut done_end = i64::MIN;
        let mut gone: Vec<usize> = Vec::new();
        let mut with: Vec<Insn> = Vec::new();
        let mut kept: Vec<(usize, usize)> = Vec::new();
        let overlaps = |slots: &[(i64, Sym)], off: i64, n: i64| {
            slots.iter().any(|&(s, _)| s < off + n && off < s + 8)
        };
        // Load `r`'s pending value before `at` (None: cannot).
        let load = |r: u8,
                    at: usize,
                    sym: &mut [Sym; 11],
                    pending: &mut u16,
                    done_end: &mut i64,
                    code: &mut Vec<Insn>|
         -> Option<()> {
            let Sym::Bytes(b) = &sym[r as usize] else {
                return None;
            };
            let busy = self.live[at] | bit(base) | bit(R10) | bit(r);
            let temp = (0..10u8).find(|t| busy & bit(*t) == 0);
            let emitted = emit_bytes(r, base, b, temp)?;
            let lo = b.iter().map(|&(o, _)| o).min()?;
            *done_end = (*done_end).max(c + lo + b.len() as i64);
            if let Some(t) = temp
                && emitted.iter().any(|i| i.dst == t)
            {
                sym[t as usize] = Sym::Other;
                *pending &= !bit(t);
            }
            *pending &= !bit(r);
            code.extend(emitted);
            Some(())
        };
        let mut p = pc;
        while p < self.insns.len() && (p == pc || !self.leader[p]) {
            if self.func_of[p] != self.func_of[pc] {
                break;
            }
            let Some(def) = self.defs[p] else { break };
            let i = self.insns[p];
            let (reads, writes) = regs(def, &i);
            let sym_of = |r: u8| match &sym[r as usize] {
                Sym::Bytes(_) => Some(sym[r as usize].clone()),
                _ => None,
            };
            // Removed: a byte through B, an assembling step, a spill, a reload.
            let removed_as = match def.kind {
                Kind::Ldx {
                    width: Width::B,
                    sx: false,
                } if i.src == base && i.dst != base && i.dst != R10 => {
                    let at = c + i.off as i64;
                    if at < 0 {
                        break;
                    }
                    removed.push(at);
                    Some(Sym::Bytes(vec![(i.off as i64, 0)]))
                }
                Kind::Alu {
                    op: AluOp::Lsh,
                    wide,
                    src: Src::Imm,
                } if i.dst != base => sym_of(i.dst)
                    .map(|v| v.shifted(i.imm, wide))
                    .filter(|v| matches!(v, Sym::Bytes(_))),
                Kind::Alu {
                    op: AluOp::Or,
                    wide,
                    src: Src::Reg,
                } if i.dst != base => match (sym_of(i.dst), sym_of(i.src)) {
                    (Some(a), Some(b)) => {
                        Some(a.or(&b, wide)).filter(|v| matches!(v, Sym::Bytes(_)))
                    }
                    _ => None,
                },
                Kind::Alu {
                    op: AluOp::Mov,
                    wide,
                    src: Src::Reg,
                } if i.dst != base && i.dst != R10 => sym_of(i.src)
                    .map(|v| v.moved(wide))
                    .filter(|v| matches!(v, Sym::Bytes(_))),
                Kind::Stx { width: Width::DW } if i.dst == R10 => match sym_of(i.src) {
                    Some(v) => {
                        let off = i.off as i64;
                        if overlaps(&slots, off, 8) && !slots.iter().any(|&(s, _)| s == off) {
                            break;
                        }
                        slots.retain(|&(s, _)| s != off);
                        slots.push((off, v));
                        used_slots.push(off);
                        gone.push(p);
                        p += 1;
                        continue;
                    }
                    None => None,
                },
                Kind::Ldx {
                    width: Width::DW,
                    sx: false,
                } if i.src == R10 && i.dst != base && i.dst != R10 => slots
                    .iter()
                    .find(|&&(s, _)| s == i.off as i64)
                    .map(|(_, v)| v.clone()),
                _ => None,
            };
            if let Some(v) = removed_as {
                sym[i.dst as usize] = v;
                pending |= bit(i.dst);
                gone.push(p);
                p += 1;
                continue;
            }
            // Kept: one this window may pass.
            let side_effect = match def.kind {
                Kind::Alu { .. } | Kind::Neg { .. } | Kind::End { .. } | Kind::Lddw => false,
                Kind::Ldx { width, .. } => {
                    if i.src == R10 && overlaps(&slots, i.off as i64, width.bytes() as i64) {
                        break;
                    }
                    false
                }
                Kind::St { width } | Kind::Stx { width } => {
                    if i.dst != R10 || overlaps(&slots, i.off as i64, width.bytes() as i64) {
                        break;
                    }
                    true
                }
                Kind::Call if keeps_packet(i.imm as u32) => true,
                _ => break,
            };
            if writes & bit(base) != 0 || writes & bit(R10) != 0 {
                break;
            }
            let mut code = Vec::new();
            let (mut s2, mut pend2, mut end2) = (sym.clone(), pending, done_end);
            let mut ok = true;
            for r in 0..10u8 {
                if reads & pending & bit(r) != 0
                    && load(r, p, &mut s2, &mut pend2, &mut end2, &mut code).is_none()
                {
                    ok = false;
                }
            }
            if matches!(def.kind, Kind::Ldx { .. }) && i.src == base {
                let w = def.width().map_or(1, |w| w.bytes() as i64);
                end2 = end2.max(c + i.off as i64 + w);
            }
            if !ok || (side_effect && removed.iter().any(|&o| o >= end2)) {
                break;
            }
            with.extend(code);
            kept.push((p, with.len()));
            with.push(i);
            if def.kind == Kind::Lddw {
                with.push(*self.insns.get(p + 1)?);
            }
            (sym, pending, done_end) = (s2, pend2, end2);
            for r in 0..11u8 {
                if writes & bit(r) != 0 {
                    sym[r as usize] = Sym::Other;
                    pending &= !bit(r);
                }
            }
            p += if def.kind == Kind::Lddw { 2 } else { 1 };
        }
        let end = p;
        if kept.is_empty() || gone.is_empty() || !self.straight(pc, end) {
            return None;
        }
        // What is still read after the window, loaded at its end.
        for r in 0..10u8 {
            if pending & self.live[end] & bit(r) != 0 {
                load(r, end, &mut sym, &mut pending, &mut done_end, &mut with)?;
            }
        }
        if removed.iter().any(|&o| o >= done_end) {
            return None;
        }
        // The spill slots: read by nothing kept, and no pointer to the
        // stack anywhere in the function.
        if !used_slots.is_empty() {
            let f = self.func_of[pc];
            for q in 0..self.insns.len() {
                if self.func_of[q] != f || gone.contains(&q) {
                    continue;
                }
                let Some(d) = self.defs[q] else { continue };
                let iq = self.insns[q];
                let (rq, _) = regs(d, &iq);
                let base_use = match d.kind {
                    Kind::Ldx { width, .. } if iq.src == R10 => {
                        if used_slots.iter().any(|&s| {
                            s < iq.off as i64 + width.bytes() as i64 && (iq.off as i64) < s + 8
                        }) {
                            return None;
                        }
                        true
                    }
                    Kind::St { .. } if iq.dst == R10 => true,
                    Kind::Stx { .. } if iq.dst == R10 && iq.src != R10 => true,
                    _ => false,
                };
                if !base_use && rq & bit(R10) != 0 {
                    return None;
                }
            }
        }
        (with.len() < end - pc).then_some(Patch {
            start: pc,
            end,
            with,
            what: "byte loads assembled into one value across a block",
            kept,
        })
    }
}

fn widest(left: i64) -> Option<Width> {
    [Width::DW, Width::W, Width::H, Width::B]
        .into_iter()
        .find(|w| i64::from(w.bytes()) <= left)
}

/// Does code after its first instruction read memory through `base`?
fn uses_base_after_first(code: &[Insn], base: u8) -> bool {
    code.iter().skip(1).any(|i| {
        isa()
            .decode(i)
            .is_ok_and(|d| matches!(d.kind, Kind::Ldx { .. }) && i.src == base)
    })
}

/// A register's value in an assembled-load window.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Sym {
    /// What it held before the window.
    Orig,
    /// The OR of whole bytes `[base + offset]` shifted left by `shift`
    /// bits, no two overlapping: every other bit zero.
    Bytes(Vec<(i64, u32)>),
    /// Anything else.
    Other,
}

impl Sym {
    fn fits(b: &[(i64, u32)], bits: u32) -> bool {
        b.iter().all(|&(_, s)| s + 8 <= bits)
    }

    fn shifted(&self, by: i32, wide: bool) -> Sym {
        let bits = if wide { 64 } else { 32 };
        match self {
            Sym::Bytes(b) if Sym::fits(b, bits) && (0..bits as i32).contains(&by) => {
                let n: Vec<_> = b.iter().map(|&(o, s)| (o, s + by as u32)).collect();
                if Sym::fits(&n, bits) {
                    Sym::Bytes(n)
                } else {
                    Sym::Other
                }
            }
            _ => Sym::Other,
        }
    }

    fn or(&self, other: &Sym, wide: bool) -> Sym {
        let bits = if wide { 64 } else { 32 };
        match (self, other) {
            (Sym::Bytes(a), Sym::Bytes(b)) if Sym::fits(a, bits) && Sym::fits(b, bits) => {
                let overlap = a
                    .iter()
                    .any(|&(_, sa)| b.iter().any(|&(_, sb)| sa < sb + 8 && sb < sa + 8));
                if overlap {
                    Sym::Other
                } else {
                    Sym::Bytes(a.iter().chain(b).copied().collect())
                }
            }
            _ => Sym::Other,
        }
    }

    fn moved(&self, wide: bool) -> Sym {
        match self {
            Sym::Bytes(b) if Sym::fits(b, if wide { 64 } else { 32 }) => self.clone(),
            _ => Sym::Other,
        }
    }
}

/// Code that loads `bytes` (offsets from `base`, shifts) into `r`: the bytes
/// must be consecutive in memory and in little- or big-endian order, with a
/// common extra shift. Up to three loads joined by shifts and ors through
/// `temp`.
fn emit_bytes(r: u8, base: u8, bytes: &[(i64, u32)], temp: Option<u8>) -> Option<Vec<Insn>> {
    let mut b = bytes.to_vec();
    b.sort_unstable();
    let n = b.len() as i64;
    let lo = b[0].0;
    if b.iter().enumerate().any(|(k, &(o, _))| o != lo + k as i64) || n > 8 {
        return None;
    }
    let shift_of = |k: i64| b[k as usize].1 as i64;
    let le = (0..n).all(|k| shift_of(k) == shift_of(0) + 8 * k);
    let be = (0..n).all(|k| shift_of(k) == shift_of(n - 1) + 8 * (n - 1 - k));
    if !le && !be {
        return None;
    }
    let extra = if le { shift_of(0) } else { shift_of(n - 1) };
    // Parts: widest first, each a power of two.
    let mut parts = Vec::new();
    let mut at = 0;
    while at < n {
        let w = widest(n - at)?;
        parts.push((at, w));
        at += w.bytes() as i64;
    }
    let mut code = Vec::new();
    for (k, &(at, w)) in parts.iter().enumerate() {
        let into = if k == 0 { r } else { temp? };
        code.push(build::ldx(w, into, base, i16::try_from(lo + at).ok()?));
        let wb = w.bytes() as i64;
        if be && wb > 1 {
            code.push(build::end(Order::Be, (wb * 8) as u8, into));
        }
        // Where this part's lowest-addressed byte sits in the value.
        let sh = if le {
            extra + 8 * at
        } else {
            extra + 8 * (n - at - wb)
        };
        if sh > 0 {
            code.push(build::alu_imm(AluOp::Lsh, true, into, sh as i32));
        }
        if k > 0 {
            code.push(build::alu_reg(AluOp::Or, true, r, into));
        }
    }
    Some(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nfbpf_vm::asm::assemble;

    fn run(src: &str) -> (Vec<Insn>, Option<Done>) {
        let insns = assemble(src).expect("assembles");
        let done = rewrite(&insns, &[0], 0, Abi::Xdp);
        (insns, done)
    }

    #[test]
    fn a_big_endian_mac_address_becomes_two_loads() {
        let (_, done) = run(
            "ldxb %r2, [%r1+0]\nlsh %r2, 40\nldxb %r0, [%r1+1]\nlsh %r0, 32\nor %r0, %r2\n\
             ldxb %r2, [%r1+2]\nlsh %r2, 24\nor %r0, %r2\nldxb %r2, [%r1+3]\nlsh %r2, 16\n\
             or %r0, %r2\nldxb %r2, [%r1+4]\nlsh %r2, 8\nor %r0, %r2\nldxb %r1, [%r1+5]\n\
             or %r0, %r1\nexit",
        );
        let done = done.expect("rewritten");
        assert_eq!(done.insns.len(), 7, "{:?}", done.insns);
        assert_eq!(done.rewrites[0].old_len, 16);
    }

    /// The shape clang gives a value built from packet bytes across a
    /// helper call: one byte kept in a callee-saved register, one spilled
    /// to the stack and reloaded.
    const ACROSS: &str = "mov %r6, 536870912\nldxb %r7, [%r6+0]\nldxw %r2, [%r6+8]\n\
        ldxb %r1, [%r6+1]\nstxdw [%r10-8], %r1\nmov %r1, 1\nCALL\nlsh %r7, 8\n\
        ldxdw %r1, [%r10-8]\nor %r7, %r1\nmov %r0, %r7\nTAIL\nexit";

    /// [`ACROSS`] with `call` and `tail`, less the line `without`.
    fn across(call: &str, tail: &str, without: &str) -> (Vec<Insn>, Option<Done>) {
        let src = ACROSS.replace("CALL", call).replace("TAIL", tail);
        run(&src.replace(without, ""))
    }

    /// [`across`] rewritten (or not): it still spills byte 1 to the stack.
    fn keeps_spill(call: &str, tail: &str, without: &str) {
        let (insns, done) = across(call, tail, without);
        let out = done.map_or(insns, |d| d.insns);
        assert!(has(&out, "stxdw [%r10-8], %r1"), "{out:?}");
    }

    fn has(insns: &[Insn], text: &str) -> bool {
        insns
            .iter()
            .any(|i| nfbpf_vm::disasm::disasm_one(std::slice::from_ref(i)).contains(text))
    }

    #[test]
    fn bytes_kept_across_a_call_are_loaded_after_it() {
        let (_, done) = across("call 1", "mov %r3, 0", "\0");
        let done = done.expect("rewritten");
        // The two bytes, their spill and reload, the shift, the or and the
        // move go; r0 takes the big-endian halfword at the end.
        assert!(!has(&done.insns, "%r10"), "{:?}", done.insns);
        assert!(has(&done.insns, "ldxh %r0, [%r6+0]"), "{:?}", done.insns);
        assert!(has(&done.insns, "be16 %r0"));
        assert_eq!(done.insns.len(), 8, "{:?}", done.insns);
        // The kept instructions keep their own pcs (the call at 6).
        assert_eq!(done.origin.iter().filter(|&&o| o == 6).count(), 1);
        assert_eq!(
            done.rewrites[0].what,
            "byte loads assembled into one value across a block"
        );
    }

    #[test]
    fn a_byte_no_load_covers_before_a_call_stays_ahead_of_it() {
        // Without the word at 8..12 nothing shows byte 1 is in the packet
        // before the call's side effect: the loads stay where they are.
        keeps_spill("call 1", "mov %r3, 0", "ldxw %r2, [%r6+8]\n");
    }

    #[test]
    fn a_helper_that_may_write_the_packet_ends_the_window() {
        // bpf_xdp_adjust_head (44) moves the packet: nothing crosses it.
        keeps_spill("call 44", "mov %r3, 0", "\0");
    }

    #[test]
    fn a_byte_copy_is_not_swallowed_by_a_window_across_a_call() {
        // (r10 set as the prologue sets it: the copy goes to the stack.) A
        // window from pc 2 would keep the four byte stores of the copy
        // (each byte loaded again for its store) and save less than the
        // copy does: the copy is taken, and the window after it.
        let (_, done) = run(
            "mov %r10, 805310464\nmov %r6, 536870912\nldxb %r7, [%r6+4]\n\
             ldxb %r1, [%r6+0]\nstxb [%r10-16], %r1\nldxb %r1, [%r6+1]\nstxb [%r10-15], %r1\n\
             ldxb %r1, [%r6+2]\nstxb [%r10-14], %r1\nldxb %r1, [%r6+3]\nstxb [%r10-13], %r1\n\
             ldxb %r1, [%r6+5]\nstxdw [%r10-8], %r1\nldxw %r2, [%r6+8]\nmov %r1, 1\ncall 1\n\
             lsh %r7, 8\nldxdw %r1, [%r10-8]\nor %r7, %r1\nmov %r0, %r7\nexit",
        );
        let done = done.expect("rewritten");
        assert!(has(&done.insns, "stxw [%r10-16], %r1"), "{:?}", done.insns);
        assert!(!has(&done.insns, "stxdw [%r10-8]"), "{:?}", done.insns);
    }

    #[test]
    fn a_copy_of_r0_and_back_before_exit_is_exit() {
        // Fallthrough into the join block: it goes, and the jump's path
        // keeps its move and exit.
        let (_, done) =
            run("mov %r0, 1\njeq %r1, 0, +2\nmov %r0, 2\nmov %r2, %r0\nmov %r0, %r2\nexit");
        let done = done.expect("rewritten");
        assert_eq!(done.insns.len(), 6, "{:?}", done.insns);
        assert!(has(&done.insns[3..4], "exit"), "{:?}", done.insns);
        // A 32-bit move truncates: it stays.
        let (_, done) = run("mov %r0, 2\nmov32 %r2, %r0\nmov %r0, %r2\nexit");
        assert!(done.is_none());
        // No jump to the second move: all three become one exit.
        let (_, done) = run("mov %r0, 2\nmov %r2, %r0\nmov %r0, %r2\nexit");
        assert_eq!(done.expect("rewritten").insns.len(), 2);
    }

    #[test]
    fn a_helper_call_reads_only_its_arguments() {
        // bpf_map_lookup_elem reads r1 and r2: r3's value before the call
        // is dead, so the byte loaded into it need not be loaded.
        let src = "mov %r6, 536870912\nldxw %r2, [%r6+0]\nldxb %r3, [%r6+4]\nlsh %r3, 8\n\
                   mov %r1, 0\ncall 1\nmov %r3, 0\nexit";
        let insns = assemble(src).expect("assembles");
        let code = Code::new(&insns, &[0], Abi::Xdp).expect("decodes");
        assert_eq!(code.live[5] & bit(3), 0);
        assert_ne!(code.live[5] & bit(2), 0);
        // A helper the device lacks reads all five.
        let insns = assemble(&src.replace("call 1", "call 999")).expect("assembles");
        let code = Code::new(&insns, &[0], Abi::Xdp).expect("decodes");
        assert_ne!(code.live[5] & bit(3), 0);
    }

    #[test]
    fn a_spill_slot_read_elsewhere_stays() {
        keeps_spill("call 1", "ldxw %r3, [%r10-8]", "\0");
    }

    #[test]
    fn live_registers_keep_their_values() {
        // r1 is read after the sequence: it keeps byte 12, r3 gets the
        // halfword.
        let (_, done) = run(
            "ldxb %r1, [%r6+12]\nldxb %r3, [%r6+13]\nlsh32 %r3, 8\nor32 %r3, %r1\n\
             add %r0, %r1\nadd %r0, %r3\nexit",
        );
        let done = done.expect("rewritten");
        assert_eq!(done.insns[0], build::ldx(Width::B, 1, 6, 12));
        assert_eq!(done.insns[1], build::ldx(Width::H, 3, 6, 12));
        assert_eq!(done.insns.len(), 5);
        let (_, done) = run(
            "ldxb %r1, [%r6+12]\nldxb %r3, [%r6+13]\nlsh32 %r3, 8\nor32 %r3, %r1\n\
             mov %r0, %r3\nexit",
        );
        // The move is part of it: r3 is dead after it, r0 gets the value.
        let done = done.expect("rewritten");
        assert_eq!(done.insns[0], build::ldx(Width::H, 0, 6, 12));
        assert_eq!(done.insns.len(), 2);
    }

    #[test]
    fn bytes_not_next_to_each_other_stay() {
        let (_, done) = run(
            "ldxb %r1, [%r6+12]\nldxb %r3, [%r6+14]\nlsh32 %r3, 8\nor32 %r3, %r1\n\
             mov %r0, %r3\nexit",
        );
        assert!(done.is_none());
    }

    #[test]
    fn a_jump_into_the_sequence_blocks_it() {
        let (_, done) = run(
            "jeq %r0, 0, +2\nldxb %r1, [%r6+12]\nldxb %r3, [%r6+13]\nlsh32 %r3, 8\n\
             or32 %r3, %r1\nmov %r0, %r3\nexit",
        );
        // The jump lands on the shift: the loads before it alone gain
        // nothing.
        assert!(done.is_none());
    }

    #[test]
    fn copies_need_regions_that_cannot_overlap() {
        // Same base, overlapping ranges: a byte-order-dependent copy.
        let (_, done) = run(
            "mov %r1, 0x20000000\nldxb %r2, [%r1+0]\nstxb [%r1+1], %r2\nldxb %r2, [%r1+1]\n\
             stxb [%r1+2], %r2\nmov %r0, 0\nexit",
        );
        assert!(done.is_none());
        // Same base, disjoint: rewritten.
        let (_, done) = run(
            "mov %r1, 0x20000000\nldxb %r2, [%r1+0]\nstxb [%r1+8], %r2\nldxb %r2, [%r1+1]\n\
             stxb [%r1+9], %r2\nmov %r0, 0\nexit",
        );
        let done = done.expect("rewritten");
        assert_eq!(done.insns[1], build::ldx(Width::H, 2, 1, 0));
        assert_eq!(done.insns[2], build::stx(Width::H, 1, 2, 8));
        assert_eq!(done.insns.len(), 5);
        // Unknown bases: refused.
        let (_, done) = run(
            "ldxb %r2, [%r1+0]\nstxb [%r3+8], %r2\nldxb %r2, [%r1+1]\nstxb [%r3+9], %r2\n\
             mov %r0, 0\nexit",
        );
        assert!(done.is_none());
    }

    #[test]
    fn a_register_stored_byte_by_byte_becomes_wider_stores() {
        // Bytes 2..7 of r0 stored big-endian at [r1+32..38), r1 the packet.
        let (_, done) = run("mov %r1, 0x20000000\n\
             mov %r3, %r0\nrsh %r3, 16\nstxb [%r1+37], %r3\n\
             mov %r3, %r0\nrsh %r3, 24\nstxb [%r1+36], %r3\n\
             mov %r3, %r0\nrsh %r3, 32\nstxb [%r1+35], %r3\n\
             mov %r3, %r0\nrsh %r3, 40\nstxb [%r1+34], %r3\n\
             mov %r3, %r0\nrsh %r3, 48\nstxb [%r1+33], %r3\n\
             mov %r3, %r0\nrsh %r3, 56\nstxb [%r1+32], %r3\n\
             exit");
        let done = done.expect("rewritten");
        assert_eq!(
            &done.insns[1..6],
            &[
                build::mov64_reg(3, 0),
                build::end(Order::Be, 64, 3),
                build::stx(Width::W, 1, 3, 32),
                build::alu_imm(AluOp::Rsh, true, 3, 32),
                build::stx(Width::H, 1, 3, 36),
            ][..]
        );
        // Little-endian, from the register itself.
        let (_, done) = run(
            "mov %r1, 0x30000000\nstxb [%r1+0], %r2\nmov %r3, %r2\nrsh %r3, 8\n\
             stxb [%r1+1], %r3\nmov %r0, 0\nexit",
        );
        let done = done.expect("rewritten");
        assert_eq!(done.insns[1], build::stx(Width::H, 1, 2, 0));
        assert_eq!(done.insns.len(), 4);
        // The scratch register read afterwards: left alone.
        let (_, done) = run(
            "mov %r1, 0x30000000\nstxb [%r1+0], %r2\nmov %r3, %r2\nrsh %r3, 8\n\
             stxb [%r1+1], %r3\nmov %r0, %r3\nexit",
        );
        assert!(done.is_none());
        // A destination that might be a map value: left alone.
        let (_, done) =
            run("stxb [%r1+0], %r2\nmov %r3, %r2\nrsh %r3, 8\nstxb [%r1+1], %r3\nmov %r0, 0\nexit");
        assert!(done.is_none());
    }

    #[test]
    fn branches_are_re_aimed_over_a_shorter_sequence() {
        let (_, done) = run(
            "jeq %r0, 1, +5\nldxb %r1, [%r6+12]\nldxb %r3, [%r6+13]\nlsh32 %r3, 8\n\
             or32 %r3, %r1\nmov %r0, %r3\nexit",
        );
        let done = done.expect("rewritten");
        // jeq jumped over 5 slots to the exit; now over 1 (the five
        // slots after it became `ldxh %r0, [%r6+12]`).
        assert_eq!(done.insns[0].off, 1);
        assert_eq!(done.map, vec![0, 1, 1, 1, 1, 1, 2, 3]);
    }

    fn sched(src: &str) -> (Vec<Insn>, Option<Vec<usize>>) {
        let insns = assemble(src).expect("assembles");
        let order = schedule(&insns, &[0], 0, Abi::Xdp).map(|(o, _)| o);
        (insns, order)
    }

    #[test]
    fn an_independent_instruction_fills_a_load_use_bubble() {
        // r2's load is read right behind it; r3's move does not depend on
        // either and goes between (the load first: it has the bubble).
        let (insns, order) =
            sched("mov %r3, 5\nldxw %r2, [%r1+0]\nadd %r2, 1\nadd %r3, %r2\nmov %r0, %r3\nexit");
        let order = order.expect("reordered");
        assert_eq!(order, vec![1, 0, 2, 3, 4, 5]);
        let new: Vec<Insn> = order.iter().map(|&p| insns[p]).collect();
        assert_eq!(bubbles(&insns), 1);
        assert_eq!(bubbles(&new), 0);
    }

    #[test]
    fn dependences_and_stores_keep_the_order() {
        // Every instruction reads the one before: nothing can move.
        let (_, order) = sched("ldxw %r2, [%r1+0]\nadd %r2, 1\nmov %r0, %r2\nexit");
        assert_eq!(order, None);
        // The store keeps its slot, and a load does not pass it: the move
        // behind it may not fill the bubble in front of it.
        let (_, order) =
            sched("ldxw %r2, [%r1+0]\nstxw [%r1+4], %r2\nmov %r3, 1\nmov %r0, %r3\nexit");
        assert_eq!(order, None);
        // A write of the register the load reads (WAR) stays behind the
        // load, and there fills its bubble; ahead of it, it stays ahead.
        let (_, order) = sched("ldxw %r2, [%r1+0]\nadd %r2, 1\nmov %r1, 0\nexit");
        assert_eq!(order, Some(vec![0, 2, 1, 3]));
        let (_, order) = sched("mov %r1, 0\nldxw %r2, [%r1+0]\nadd %r2, 1\nexit");
        assert_eq!(order, None);
    }

    #[test]
    fn a_call_result_read_right_behind_it_waits_too() {
        // r0 of the call comes in MEM: the move of r6 fills the bubble.
        let (insns, order) = sched("call 5\nadd %r0, 1\nmov %r6, 2\nadd %r0, %r6\nexit");
        let order = order.expect("reordered");
        assert_eq!(order, vec![0, 2, 1, 3, 4]);
        assert!(load_use(&insns[0], &insns[1]));
    }
}
