//! Random *valid* programs for differential testing (interpreter vs
//! pipeline, and later model vs RTL).
//!
//! [`generate`] turns a 64-bit seed into a [`Case`]: a program that passes
//! validation, a packet, a budget and the arrival pacing to use. Programs mix
//! every instruction class the table has (ALU incl. mul/div/mod/sdiv/smod,
//! movsx, neg, byte swaps; loads incl. sign-extending and legacy packet loads;
//! stores to the packet and the stack; atomics; lddw; forward branches; helper
//! calls by id and by register; bpf-to-bpf calls), with operands drawn so that
//! most memory accesses hit the packet (through r6, which the prologue sets
//! from r1) or the current stack frame (through r10), some straddle FIFO_MD
//! word boundaries, and a few fault. Instruction rows are drawn from the ISA
//! table, so new rows are covered without touching this file.
//!
//! Branches go forward, except the backward `jne` closing a counted loop
//! (1..=4 iterations on r9, which the loop body never writes and no branch
//! from outside enters), and calls only go to later functions (except in the
//! occasional self-recursive case, which ends in a call-depth fault), so
//! every program terminates; small budgets exercise budget faults.

use crate::Insn;
use crate::build;
use crate::contract;
use crate::helpers::{HelperOutcome, Helpers};
use crate::isa::{Cond, Form, Kind, OpDef, isa};
use std::sync::LazyLock;

/// Small deterministic generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    /// True with probability `p` percent.
    pub fn pct(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}

/// Helper ids registered by [`helpers`].
pub const HELPER_MIX: u32 = 1;
pub const HELPER_PEEK: u32 = 2;
pub const HELPER_POKE: u32 = 3;
/// An id no helper has (calls to it fault).
pub const HELPER_UNKNOWN: u32 = 99;

/// The helpers generated programs call: 1 mixes r1..r5, 2 reads 8 bytes at
/// r1 (0 when unmapped), 3 writes r2 as 4 bytes at r1 (errors when
/// unmapped), 5 is the conformance suite's unwind.
pub fn helpers() -> Helpers {
    let mut h = Helpers::conformance();
    h.register(HELPER_MIX, "mix", |_, a| {
        let mut x = 0x1234_5678_u64;
        for v in a {
            x = (x ^ v).wrapping_mul(0x100_0000_01b3).rotate_left(13);
        }
        Ok(HelperOutcome::Return(x))
    });
    h.register(HELPER_PEEK, "peek", |m, a| {
        Ok(HelperOutcome::Return(
            m.load(a[0], crate::isa::Width::DW).unwrap_or(0),
        ))
    });
    h.register(HELPER_POKE, "poke", |m, a| {
        m.write_bytes(a[0], &(a[1] as u32).to_le_bytes())
            .map_err(|e| e.to_string())?;
        Ok(HelperOutcome::Return(a[1] ^ 0xff))
    });
    h
}

/// One generated case.
#[derive(Debug, Clone)]
pub struct Case {
    pub insns: Vec<Insn>,
    pub packet: Vec<u8>,
    pub budget: u64,
    /// Words arrive at 10 Gb/s (true) or all at once.
    pub paced: bool,
}

struct Rows {
    alu: Vec<&'static OpDef>,
    ldx: Vec<&'static OpDef>,
    st: Vec<&'static OpDef>,
    stx: Vec<&'static OpDef>,
    atomic: Vec<&'static OpDef>,
    ldpkt: Vec<&'static OpDef>,
    jmp: Vec<&'static OpDef>,
    by_kind: Vec<&'static OpDef>,
}

static ROWS: LazyLock<Rows> = LazyLock::new(|| {
    let t = isa();
    let f = |p: fn(&Kind) -> bool| t.rows.iter().filter(|r| p(&r.kind)).collect::<Vec<_>>();
    Rows {
        alu: f(|k| matches!(k, Kind::Alu { .. } | Kind::Neg { .. } | Kind::End { .. })),
        ldx: f(|k| matches!(k, Kind::Ldx { .. })),
        st: f(|k| matches!(k, Kind::St { .. })),
        stx: f(|k| matches!(k, Kind::Stx { .. })),
        atomic: f(|k| matches!(k, Kind::Atomic { .. })),
        ldpkt: f(|k| matches!(k, Kind::LdAbs { .. } | Kind::LdInd { .. })),
        jmp: f(|k| matches!(k, Kind::Jmp { .. })),
        by_kind: t.rows.iter().collect(),
    }
});

fn row(k: fn(&Kind) -> bool) -> &'static OpDef {
    // Every kind used here has a row in the table.
    ROWS.by_kind
        .iter()
        .find(|r| k(&r.kind))
        .copied()
        .unwrap_or(ROWS.by_kind[0])
}

/// A program item: one instruction (two slots for lddw) or a branch whose
/// target item is resolved after layout.
#[derive(Clone, Copy)]
enum Item {
    Plain(Insn),
    Lddw(u8, u64),
    /// Branch: template with the offset to fill, target item index.
    Branch(Insn, usize),
    /// Local call to function index.
    CallFn(usize),
}

impl Item {
    fn slots(&self) -> usize {
        if let Item::Lddw(..) = self { 2 } else { 1 }
    }
}

/// Registers a generated instruction may write: never r6 (packet pointer)
/// or r10.
const WREGS: [u8; 9] = [0, 1, 2, 3, 4, 5, 7, 8, 9];

fn any_reg(g: &mut Rng) -> u8 {
    g.below(11) as u8
}

fn wreg(g: &mut Rng) -> u8 {
    *g.pick(&WREGS)
}

/// A memory operand: base register and offset, mostly inside the packet or
/// the current stack frame.
fn mem_operand(g: &mut Rng, len: usize, w: u32) -> (u8, i16) {
    match g.below(400) {
        0..=199 if len > 0 => {
            let span = (len as i64 + 4).max(1) as u64;
            let mut off = g.below(span) as i64;
            if g.below(1000) < 995 {
                off = off.min(len as i64 - w as i64).max(0);
            }
            (6, off as i16)
        }
        0..=397 => (
            10,
            -((w as u64 + g.below(contract::STACK_FRAME - w as u64)) as i16),
        ),
        _ => (any_reg(g), g.below(64) as i16 - 32),
    }
}

fn fill(def: &OpDef, g: &mut Rng, len: usize) -> Insn {
    let mut i = def.template();
    let ops = def.form.operands();
    let w = def.width().map_or(8, |w| w.bytes());
    match def.form {
        Form::Load => {
            let (b, off) = mem_operand(g, len, w);
            i.src = b;
            i.off = off;
            i.dst = wreg(g);
        }
        Form::StoreImm | Form::StoreReg => {
            let (b, off) = mem_operand(g, len, w);
            i.dst = b;
            i.off = off;
            if ops.src {
                i.src = if let Kind::Atomic { .. } = def.kind {
                    wreg(g)
                } else {
                    any_reg(g)
                };
            }
            if ops.imm {
                i.imm = g.next_u64() as i32;
            }
        }
        Form::LdAbs | Form::LdInd => {
            i.imm = g.below(len as u64 + 4) as i32;
            if ops.src {
                i.src = any_reg(g);
            }
        }
        _ => {
            if ops.dst {
                i.dst = wreg(g);
            }
            if ops.src {
                i.src = any_reg(g);
            }
            if ops.imm {
                i.imm = match g.below(4) {
                    0 => g.below(8) as i32,
                    1 => -(g.below(8) as i32),
                    _ => g.next_u64() as i32,
                };
            }
        }
    }
    i
}

fn pf(g: &mut Rng, rows: &[&'static OpDef], len: usize) -> Insn {
    let d: &OpDef = rows[g.below(rows.len() as u64) as usize];
    fill(d, g, len)
}

fn body(
    g: &mut Rng,
    n: usize,
    len: usize,
    fn_idx: usize,
    nfns: usize,
    recursive: bool,
) -> Vec<Item> {
    let mut items = block(g, n, len, fn_idx, nfns, recursive, 0);
    // A function ends with exit; branches may target it.
    items.push(Item::Plain(row(|k| matches!(k, Kind::Exit)).template()));
    items
}

/// Register of the loop counter: loop bodies never write it (r6..r9 survive
/// local and helper calls).
const LOOP_REG: u8 = 9;

/// Rewrite writes of the loop counter to r8 (and `callx r9` to `callx r8`,
/// whose id was moved into r8 by the same rewrite).
fn spare_loop_reg(it: &mut Item) {
    match it {
        Item::Lddw(d, _) if *d == LOOP_REG => *d = 8,
        Item::Plain(i) => {
            let Ok(def) = isa().decode(i) else { return };
            match def.writes() {
                crate::isa::Writes::Dst if i.dst == LOOP_REG => i.dst = 8,
                crate::isa::Writes::Src if i.src == LOOP_REG => i.src = 8,
                _ => {}
            }
            if matches!(def.kind, Kind::Callx) && i.dst == LOOP_REG {
                i.dst = 8;
            }
        }
        _ => {}
    }
}

/// `n` random items; forward branch targets lie inside the block or just
/// past its end. At depth 0 a block may hold one counted loop (1..=4
/// iterations, a backward `jne`).
fn block(
    g: &mut Rng,
    n: usize,
    len: usize,
    fn_idx: usize,
    nfns: usize,
    recursive: bool,
    depth: u32,
) -> Vec<Item> {
    let mut items: Vec<Item> = Vec::with_capacity(n + 2);
    let mut branches: Vec<usize> = Vec::new();
    // Loop interiors (first body item ..= the backward jne): no branch from
    // outside may land there, or the counter would not be set.
    let mut interiors: Vec<(usize, usize)> = Vec::new();
    for _ in 0..n {
        let it = match g.below(100) {
            0..=34 => Item::Plain(pf(g, &ROWS.alu, len)),
            35..=46 => Item::Plain(pf(g, &ROWS.ldx, len)),
            47..=51 => Item::Plain(pf(g, &ROWS.st, len)),
            52..=58 => Item::Plain(pf(g, &ROWS.stx, len)),
            59..=63 => Item::Plain(pf(g, &ROWS.atomic, len)),
            64..=66 if len > 0 => {
                let mut i = pf(g, &ROWS.ldpkt, len);
                if i.src != 0 || g.pct(50) {
                    // ldind: a small index in the index register
                    let r = if i.src != 0 { i.src } else { 0 };
                    if r != 6 && r != 10 {
                        items.push(Item::Plain(build::mov32_imm(r, g.below(len as u64) as i32)));
                        i.imm = g.below(8) as i32;
                    }
                }
                Item::Plain(i)
            }
            67..=70 => Item::Lddw(wreg(g), g.next_u64()),
            71..=82 => {
                let t: &OpDef = if g.pct(85) {
                    ROWS.jmp[g.below(ROWS.jmp.len() as u64) as usize]
                } else {
                    row(|k| matches!(k, Kind::Ja))
                };
                branches.push(items.len());
                Item::Branch(fill(t, g, len), 0)
            }
            83..=89 => {
                let id = match g.below(60) {
                    0 => HELPER_UNKNOWN,
                    1..=3 => crate::helpers::HELPER_UNWIND,
                    4..=20 => HELPER_PEEK,
                    21..=36 => HELPER_POKE,
                    _ => HELPER_MIX,
                };
                // Point r1 at the packet or the stack most of the time.
                match g.below(10) {
                    0..=3 if len >= 4 => {
                        items.push(Item::Plain(build::mov64_reg(1, 6)));
                        items.push(Item::Plain(build::add64_imm(
                            1,
                            g.below(len as u64 - 3) as i32,
                        )));
                    }
                    0..=7 => {
                        items.push(Item::Plain(build::mov64_reg(1, 10)));
                        items.push(Item::Plain(build::add64_imm(1, -8 - g.below(500) as i32)));
                    }
                    _ => {}
                }
                if g.pct(20) {
                    let r = *g.pick(&[7u8, 8, 9]);
                    items.push(Item::Plain(build::mov64_imm(r, id as i32)));
                    let mut c = row(|k| matches!(k, Kind::Callx)).template();
                    c.dst = r;
                    Item::Plain(c)
                } else {
                    let mut c = row(|k| matches!(k, Kind::Call)).template();
                    c.imm = id as i32;
                    Item::Plain(c)
                }
            }
            90..=95 if fn_idx + 1 < nfns || recursive => {
                let target = if recursive && g.pct(50) {
                    fn_idx
                } else if fn_idx + 1 < nfns {
                    fn_idx + 1 + g.below((nfns - fn_idx - 1) as u64) as usize
                } else {
                    fn_idx
                };
                Item::CallFn(target)
            }
            96..=98 if depth == 0 => {
                // mov r9, k ; loop: <block> ; add r9, -1 ; jne r9, 0, loop
                let k = 1 + g.below(4) as i32;
                items.push(Item::Plain(build::mov64_imm(LOOP_REG, k)));
                let top = items.len();
                let m = 1 + g.below(8) as usize;
                let mut inner = block(g, m, len, fn_idx, nfns, recursive, depth + 1);
                for it in inner.iter_mut() {
                    spare_loop_reg(it);
                    if let Item::Branch(_, t) = it {
                        *t += top;
                    }
                }
                items.extend(inner);
                items.push(Item::Plain(build::add64_imm(LOOP_REG, -1)));
                interiors.push((top, items.len()));
                Item::Branch(build::jmp_imm(Cond::Ne, true, LOOP_REG, 0, 0), top)
            }
            _ => Item::Plain(pf(g, &ROWS.alu, len)),
        };
        items.push(it);
    }
    // Forward branch targets: any later item, or just past the block.
    let end = items.len();
    for b in branches {
        if let Item::Branch(i, _) = items[b] {
            let mut t = b + 1 + g.below((end - b) as u64) as usize;
            if let Some(&(_, last)) = interiors.iter().find(|&&(a, z)| a <= t && t <= z) {
                t = last + 1;
            }
            items[b] = Item::Branch(i, t);
        }
    }
    items
}

/// The case for `seed`.
pub fn generate(seed: u64) -> Case {
    let mut g = Rng::new(seed);
    let len = match g.below(4) {
        0 => 0,
        1 => g.below(64) as usize,
        _ => 1 + g.below(300) as usize,
    };
    let packet: Vec<u8> = (0..len).map(|_| g.next_u64() as u8).collect();
    let nfns = 1 + g.below(3) as usize;
    let recursive = g.pct(3);
    let mut fns: Vec<Vec<Item>> = Vec::new();
    for f in 0..nfns {
        let n = if f == 0 {
            4 + g.below(80)
        } else {
            2 + g.below(16)
        } as usize;
        let mut b = body(&mut g, n, len, f, nfns, recursive && f == nfns - 1);
        if f == 0 {
            // Prologue: r6 = packet pointer (r1 at entry).
            b.insert(0, Item::Plain(build::mov64_reg(6, 1)));
            for it in b.iter_mut() {
                if let Item::Branch(_, t) = it {
                    *t += 1;
                }
            }
        }
        fns.push(b);
    }
    // Layout: functions back to back; slot index of every item.
    let mut starts = Vec::new();
    let mut slot_of: Vec<Vec<usize>> = Vec::new();
    let mut pc = 0;
    for f in &fns {
        starts.push(pc);
        let mut v = Vec::new();
        for it in f {
            v.push(pc);
            pc += it.slots();
        }
        slot_of.push(v);
    }
    let mut insns = Vec::with_capacity(pc);
    for (fi, f) in fns.iter().enumerate() {
        for (ii, it) in f.iter().enumerate() {
            let here = slot_of[fi][ii] as i64;
            match *it {
                Item::Plain(i) => insns.push(i),
                Item::Lddw(d, v) => {
                    insns.extend(build::lddw(d, v));
                }
                Item::Branch(mut i, t) => {
                    let rel = slot_of[fi][t] as i64 - here - 1;
                    if let Kind::Ja32 = isa().decode(&i).map(|d| d.kind).unwrap_or(Kind::Exit) {
                        i.imm = rel as i32;
                    } else {
                        i.off = rel as i16;
                    }
                    insns.push(i);
                }
                Item::CallFn(t) => {
                    let mut c = row(|k| matches!(k, Kind::CallLocal)).template();
                    c.imm = (starts[t] as i64 - here - 1) as i32;
                    insns.push(c);
                }
            }
        }
    }
    let budget = if g.pct(5) {
        1 + g.below(40)
    } else {
        contract::DEFAULT_INSN_BUDGET
    };
    Case {
        insns,
        packet,
        budget,
        paced: g.pct(50),
    }
}

/// A "wild" program: 1..24 random table rows with unconstrained operand
/// fields (backward jumps and loops, any register as a pointer, any helper
/// id), then `exit`. Most do not validate; callers keep those that do. It
/// reaches corners the constrained generator avoids.
pub fn wild(g: &mut Rng) -> Vec<crate::Insn> {
    use crate::Insn;
    let rows = &crate::isa::isa().rows;
    let n = 1 + g.below(24) as usize;
    let mut insns = Vec::with_capacity(n + 1);
    for _ in 0..n {
        let def = &rows[g.below(rows.len() as u64) as usize];
        let mut i = def.template();
        let ops = def.form.operands();
        if ops.dst {
            i.dst = g.below(11) as u8;
        }
        if ops.src {
            i.src = g.below(11) as u8;
        }
        if ops.off {
            i.off = g.below(2 * n as u64 + 2) as i16 - n as i16;
        }
        if ops.imm {
            i.imm = if def.is_branch() {
                g.below(2 * n as u64 + 2) as i32 - n as i32
            } else {
                g.next_u64() as i32
            };
        }
        insns.push(i);
        if def.slots() == 2 {
            insns.push(Insn::second_slot(g.next_u64() as i32));
        }
    }
    insns.push(crate::build::exit());
    insns
}
