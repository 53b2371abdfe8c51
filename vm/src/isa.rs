//! The ISA table: every fact about every opcode of RFC 9669, written once.
//!
//! One [`OpDef`] row per instruction form: its assembler mnemonic, opcode byte,
//! the extra field value that selects it (`off` for sdiv/smod/movsx, `imm` for
//! byte swaps and atomics, `src` for the call kinds), its semantic [`Kind`],
//! its operand [`Form`] (which fields it uses, hence which must be zero), the
//! registers it reads and writes, its memory width, its conformance group, the
//! ISA version that introduced it, and the pipeline functional [`Unit`] that
//! times it.
//!
//! The decoder, validator, assembler, disassembler, interpreter and pipeline
//! all read this table; none of them restates an opcode fact. The table is
//! generated once from the compact lists below (one line per operation), and
//! a test checks that no two rows overlap and that decode(encode(x)) == x.

use std::sync::LazyLock;

/// Access width of a load, store or atomic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Width {
    B,
    H,
    W,
    DW,
}

impl Width {
    pub const fn bytes(self) -> u32 {
        match self {
            Width::B => 1,
            Width::H => 2,
            Width::W => 4,
            Width::DW => 8,
        }
    }
    /// The size field of the opcode (bits 4:3).
    pub const fn code(self) -> u8 {
        match self {
            Width::W => 0x00,
            Width::H => 0x08,
            Width::B => 0x10,
            Width::DW => 0x18,
        }
    }
    pub const fn suffix(self) -> &'static str {
        match self {
            Width::B => "b",
            Width::H => "h",
            Width::W => "w",
            Width::DW => "dw",
        }
    }
    pub const ALL: [Width; 4] = [Width::B, Width::H, Width::W, Width::DW];
}

/// Binary ALU operation (the second operand is a register or the immediate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AluOp {
    Add,
    Sub,
    Mul,
    Div,
    Sdiv,
    Or,
    And,
    Lsh,
    Rsh,
    Mod,
    Smod,
    Xor,
    Mov,
    /// Sign-extending move from the low N bits of the source (8, 16 or 32).
    Movsx(u8),
    Arsh,
}

/// Jump condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cond {
    Eq,
    Gt,
    Ge,
    Set,
    Ne,
    Sgt,
    Sge,
    Lt,
    Le,
    Slt,
    Sle,
}

impl Cond {
    /// Every condition, in declaration order (the RTL's branch-condition
    /// codes are positions in this list).
    pub const ALL: [Cond; 11] = [
        Cond::Eq,
        Cond::Gt,
        Cond::Ge,
        Cond::Set,
        Cond::Ne,
        Cond::Sgt,
        Cond::Sge,
        Cond::Lt,
        Cond::Le,
        Cond::Slt,
        Cond::Sle,
    ];
}

/// Atomic read-modify-write operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AtomicOp {
    Add,
    Or,
    And,
    Xor,
    Xchg,
    Cmpxchg,
}

impl AtomicOp {
    /// Every operation, in declaration order (the RTL's atomic-operation
    /// codes are positions in this list).
    pub const ALL: [AtomicOp; 6] = [
        AtomicOp::Add,
        AtomicOp::Or,
        AtomicOp::And,
        AtomicOp::Xor,
        AtomicOp::Xchg,
        AtomicOp::Cmpxchg,
    ];
}

/// Byte-order operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Order {
    /// Convert to little endian (truncate on a little-endian machine).
    Le,
    /// Convert to big endian.
    Be,
    /// Unconditional byte swap (v4, ALU64 class).
    Swap,
}

/// Where the second operand comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Src {
    Imm,
    Reg,
}

/// What an instruction does. Semantics are keyed on this (see [`crate::sem`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Alu {
        op: AluOp,
        wide: bool,
        src: Src,
    },
    Neg {
        wide: bool,
    },
    End {
        order: Order,
        bits: u8,
    },
    /// 64-bit immediate load (two slots).
    Lddw,
    Ldx {
        width: Width,
        sx: bool,
    },
    St {
        width: Width,
    },
    Stx {
        width: Width,
    },
    Atomic {
        width: Width,
        op: AtomicOp,
        fetch: bool,
    },
    /// Legacy packet access: r0 = ntoh(packet[imm]).
    LdAbs {
        width: Width,
    },
    /// Legacy packet access: r0 = ntoh(packet[src + imm]).
    LdInd {
        width: Width,
    },
    Jmp {
        cond: Cond,
        wide: bool,
        src: Src,
    },
    /// Unconditional jump by `off`.
    Ja,
    /// Unconditional jump by the 32-bit `imm` (v4 `gotol`).
    Ja32,
    /// Helper call by static id in `imm`.
    Call,
    /// bpf-to-bpf call, target pc + 1 + imm.
    CallLocal,
    /// Helper call by id held in register `dst`.
    Callx,
    Exit,
}

/// Assembler operand syntax; it also says which instruction fields carry
/// operands. A field that is neither an operand nor the row's selector must be
/// zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Form {
    /// `op %dst, %src`
    AluReg,
    /// `op %dst, imm`
    AluImm,
    /// `op %dst`
    Unary,
    /// `lddw %dst, imm64`
    Lddw,
    /// `op %dst, [%src+off]`
    Load,
    /// `op [%dst+off], imm`
    StoreImm,
    /// `op [%dst+off], %src` (also `lock ... [%dst+off], %src`)
    StoreReg,
    /// `op imm`
    LdAbs,
    /// `op %src, imm`
    LdInd,
    /// `op %dst, %src, target`
    JmpReg,
    /// `op %dst, imm, target`
    JmpImm,
    /// `ja target` (16-bit offset)
    Ja,
    /// `ja32 target` (32-bit offset in imm)
    Ja32,
    /// `call imm`
    Call,
    /// `call local target`
    CallLocal,
    /// `call %dst`
    Callx,
    /// `exit`
    Exit,
}

/// Instruction fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fields {
    pub dst: bool,
    pub src: bool,
    pub off: bool,
    pub imm: bool,
}

impl Form {
    /// Which fields carry operands in this form.
    pub const fn operands(self) -> Fields {
        const fn f(dst: bool, src: bool, off: bool, imm: bool) -> Fields {
            Fields { dst, src, off, imm }
        }
        match self {
            Form::AluReg => f(true, true, false, false),
            Form::AluImm => f(true, false, false, true),
            Form::Unary => f(true, false, false, false),
            Form::Lddw => f(true, false, false, true),
            Form::Load => f(true, true, true, false),
            Form::StoreImm => f(true, false, true, true),
            Form::StoreReg => f(true, true, true, false),
            Form::LdAbs => f(false, false, false, true),
            Form::LdInd => f(false, true, false, true),
            Form::JmpReg => f(true, true, true, false),
            Form::JmpImm => f(true, false, true, true),
            Form::Ja => f(false, false, true, false),
            Form::Ja32 => f(false, false, false, true),
            Form::Call => f(false, false, false, true),
            Form::CallLocal => f(false, false, false, true),
            Form::Callx => f(true, false, false, false),
            Form::Exit => f(false, false, false, false),
        }
    }
}

/// The extra field value that tells rows with the same opcode byte apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sel {
    None,
    Off(i16),
    Imm(i32),
    Src(u8),
}

/// RFC 9669 conformance group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Group {
    Base32,
    Base64,
    Atomic32,
    Atomic64,
    Divmul32,
    Divmul64,
    Packet,
    Callx,
}

impl Group {
    pub const fn name(self) -> &'static str {
        match self {
            Group::Base32 => "base32",
            Group::Base64 => "base64",
            Group::Atomic32 => "atomic32",
            Group::Atomic64 => "atomic64",
            Group::Divmul32 => "divmul32",
            Group::Divmul64 => "divmul64",
            Group::Packet => "packet",
            Group::Callx => "callx",
        }
    }
}

/// Pipeline functional unit: the timing attribute of an instruction. Latencies
/// per unit are hardware facts and live in [`crate::contract`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Unit {
    Alu,
    Mul,
    Div,
    Load,
    Store,
    Atomic,
    Lddw,
    Branch,
    Call,
    Exit,
}

impl Unit {
    /// Every unit, in declaration order (the RTL's functional-unit codes are
    /// positions in this list).
    pub const ALL: [Unit; 10] = [
        Unit::Alu,
        Unit::Mul,
        Unit::Div,
        Unit::Load,
        Unit::Store,
        Unit::Atomic,
        Unit::Lddw,
        Unit::Branch,
        Unit::Call,
        Unit::Exit,
    ];
}

/// Register use, as bit sets over r0..r10.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegUse {
    /// Reads the register named by `dst`.
    pub dst: bool,
    /// Reads the register named by `src`.
    pub src: bool,
    /// Fixed registers read (bit i = ri): r0 for cmpxchg, r1..r5 for calls.
    pub fixed: u16,
}

/// Which register an instruction writes, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writes {
    None,
    Dst,
    /// The `src` register (atomic fetch, xchg).
    Src,
    R0,
}

/// One row of the ISA table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpDef {
    /// Assembler mnemonic in the conformance suite's syntax ("add32", "ldxw",
    /// "lock fetch add", "call local", ...).
    pub mnemonic: &'static str,
    pub opcode: u8,
    pub sel: Sel,
    pub kind: Kind,
    pub form: Form,
    pub group: Group,
    /// ISA version that introduced the instruction (clang `-mcpu=vN`).
    pub version: u8,
    pub unit: Unit,
}

pub const CLS_LD: u8 = 0x00;
pub const CLS_LDX: u8 = 0x01;
pub const CLS_ST: u8 = 0x02;
pub const CLS_STX: u8 = 0x03;
pub const CLS_ALU: u8 = 0x04;
pub const CLS_JMP: u8 = 0x05;
pub const CLS_JMP32: u8 = 0x06;
pub const CLS_ALU64: u8 = 0x07;
const SRC_X: u8 = 0x08;
const MODE_IMM: u8 = 0x00;
const MODE_ABS: u8 = 0x20;
const MODE_IND: u8 = 0x40;
const MODE_MEM: u8 = 0x60;
const MODE_MEMSX: u8 = 0x80;
const MODE_ATOMIC: u8 = 0xc0;
/// Atomic `imm` flag: also return the old value.
pub const ATOMIC_FETCH: i32 = 0x01;

impl OpDef {
    /// Registers this instruction reads.
    pub const fn reads(&self) -> RegUse {
        let none = RegUse {
            dst: false,
            src: false,
            fixed: 0,
        };
        match self.kind {
            Kind::Alu {
                op: AluOp::Mov | AluOp::Movsx(_),
                src: Src::Reg,
                ..
            } => RegUse { src: true, ..none },
            Kind::Alu {
                op: AluOp::Mov,
                src: Src::Imm,
                ..
            } => none,
            Kind::Alu { src: Src::Reg, .. } => RegUse {
                dst: true,
                src: true,
                ..none
            },
            Kind::Alu { src: Src::Imm, .. } | Kind::Neg { .. } | Kind::End { .. } => {
                RegUse { dst: true, ..none }
            }
            Kind::Lddw => none,
            Kind::Ldx { .. } => RegUse { src: true, ..none },
            Kind::St { .. } => RegUse { dst: true, ..none },
            Kind::Stx { .. } => RegUse {
                dst: true,
                src: true,
                ..none
            },
            Kind::Atomic {
                op: AtomicOp::Cmpxchg,
                ..
            } => RegUse {
                dst: true,
                src: true,
                fixed: 1,
            },
            Kind::Atomic { .. } => RegUse {
                dst: true,
                src: true,
                ..none
            },
            // Legacy loads read the packet through the implicit context in r6.
            Kind::LdAbs { .. } => RegUse {
                fixed: 1 << 6,
                ..none
            },
            Kind::LdInd { .. } => RegUse {
                src: true,
                fixed: 1 << 6,
                ..none
            },
            Kind::Jmp { src: Src::Reg, .. } => RegUse {
                dst: true,
                src: true,
                ..none
            },
            Kind::Jmp { src: Src::Imm, .. } => RegUse { dst: true, ..none },
            Kind::Ja | Kind::Ja32 => none,
            Kind::Call | Kind::CallLocal => RegUse {
                fixed: 0b11_1110,
                ..none
            },
            Kind::Callx => RegUse {
                dst: true,
                fixed: 0b11_1110,
                ..none
            },
            Kind::Exit => RegUse { fixed: 1, ..none },
        }
    }

    /// The register this instruction writes.
    pub const fn writes(&self) -> Writes {
        match self.kind {
            Kind::Alu { .. } | Kind::Neg { .. } | Kind::End { .. } => Writes::Dst,
            Kind::Lddw | Kind::Ldx { .. } => Writes::Dst,
            Kind::St { .. } | Kind::Stx { .. } => Writes::None,
            Kind::Atomic {
                op: AtomicOp::Cmpxchg,
                ..
            } => Writes::R0,
            Kind::Atomic { fetch: true, .. } => Writes::Src,
            Kind::Atomic { fetch: false, .. } => Writes::None,
            Kind::LdAbs { .. } | Kind::LdInd { .. } => Writes::R0,
            Kind::Jmp { .. } | Kind::Ja | Kind::Ja32 => Writes::None,
            Kind::Call | Kind::Callx => Writes::R0,
            // A local call changes frames (r10); modeled as frame state, not a write.
            Kind::CallLocal | Kind::Exit => Writes::None,
        }
    }

    /// Memory access width, for loads, stores and atomics.
    pub const fn width(&self) -> Option<Width> {
        match self.kind {
            Kind::Ldx { width, .. }
            | Kind::St { width }
            | Kind::Stx { width }
            | Kind::Atomic { width, .. }
            | Kind::LdAbs { width }
            | Kind::LdInd { width } => Some(width),
            _ => None,
        }
    }

    /// Number of 8-byte slots (2 for lddw).
    pub const fn slots(&self) -> usize {
        if matches!(self.kind, Kind::Lddw) {
            2
        } else {
            1
        }
    }

    /// True when control may continue at the next slot (not `ja`, not `exit`).
    pub const fn falls_through(&self) -> bool {
        !matches!(self.kind, Kind::Ja | Kind::Ja32 | Kind::Exit)
    }

    /// True for instructions whose target is pc-relative (`off` or `imm`).
    pub const fn is_branch(&self) -> bool {
        matches!(
            self.kind,
            Kind::Jmp { .. } | Kind::Ja | Kind::Ja32 | Kind::CallLocal
        )
    }

    /// The encoding with every operand field zero and the selector applied.
    pub const fn template(&self) -> crate::Insn {
        let mut i = crate::Insn::new(self.opcode, 0, 0, 0, 0);
        match self.sel {
            Sel::None => {}
            Sel::Off(o) => i.off = o,
            Sel::Imm(v) => i.imm = v,
            Sel::Src(s) => i.src = s,
        }
        i
    }

    /// This row's instruction with the given operands placed in the fields
    /// its form uses (the others stay as the template has them: zero, or
    /// the selector).
    pub const fn with_operands(&self, dst: u8, src: u8, off: i16, imm: i32) -> crate::Insn {
        let mut i = self.template();
        let f = self.form.operands();
        if f.dst {
            i.dst = dst;
        }
        if f.src {
            i.src = src;
        }
        if f.off {
            i.off = off;
        }
        if f.imm {
            i.imm = imm;
        }
        i
    }

    /// Does this row's selector match the instruction?
    pub const fn selects(&self, i: &crate::Insn) -> bool {
        match self.sel {
            Sel::None => true,
            Sel::Off(o) => i.off == o,
            Sel::Imm(v) => i.imm == v,
            Sel::Src(s) => i.src == s,
        }
    }
}

/// One ALU operation line: mnemonic, op code (bits 7:4), operation, `off`
/// selector, 32-bit group, 64-bit group, unit, version, whether an immediate
/// form exists.
struct AluLine(&'static str, u8, AluOp, i16, Group, Group, Unit, u8, bool);

const ALU_LINES: &[AluLine] = &[
    AluLine(
        "add",
        0x0,
        AluOp::Add,
        0,
        Group::Base32,
        Group::Base64,
        Unit::Alu,
        1,
        true,
    ),
    AluLine(
        "sub",
        0x1,
        AluOp::Sub,
        0,
        Group::Base32,
        Group::Base64,
        Unit::Alu,
        1,
        true,
    ),
    AluLine(
        "mul",
        0x2,
        AluOp::Mul,
        0,
        Group::Divmul32,
        Group::Divmul64,
        Unit::Mul,
        1,
        true,
    ),
    AluLine(
        "div",
        0x3,
        AluOp::Div,
        0,
        Group::Divmul32,
        Group::Divmul64,
        Unit::Div,
        1,
        true,
    ),
    AluLine(
        "sdiv",
        0x3,
        AluOp::Sdiv,
        1,
        Group::Divmul32,
        Group::Divmul64,
        Unit::Div,
        4,
        true,
    ),
    AluLine(
        "or",
        0x4,
        AluOp::Or,
        0,
        Group::Base32,
        Group::Base64,
        Unit::Alu,
        1,
        true,
    ),
    AluLine(
        "and",
        0x5,
        AluOp::And,
        0,
        Group::Base32,
        Group::Base64,
        Unit::Alu,
        1,
        true,
    ),
    AluLine(
        "lsh",
        0x6,
        AluOp::Lsh,
        0,
        Group::Base32,
        Group::Base64,
        Unit::Alu,
        1,
        true,
    ),
    AluLine(
        "rsh",
        0x7,
        AluOp::Rsh,
        0,
        Group::Base32,
        Group::Base64,
        Unit::Alu,
        1,
        true,
    ),
    AluLine(
        "mod",
        0x9,
        AluOp::Mod,
        0,
        Group::Divmul32,
        Group::Divmul64,
        Unit::Div,
        1,
        true,
    ),
    AluLine(
        "smod",
        0x9,
        AluOp::Smod,
        1,
        Group::Divmul32,
        Group::Divmul64,
        Unit::Div,
        4,
        true,
    ),
    AluLine(
        "xor",
        0xa,
        AluOp::Xor,
        0,
        Group::Base32,
        Group::Base64,
        Unit::Alu,
        1,
        true,
    ),
    AluLine(
        "mov",
        0xb,
        AluOp::Mov,
        0,
        Group::Base32,
        Group::Base64,
        Unit::Alu,
        1,
        true,
    ),
    AluLine(
        "arsh",
        0xc,
        AluOp::Arsh,
        0,
        Group::Base32,
        Group::Base64,
        Unit::Alu,
        1,
        true,
    ),
];

/// Sign-extending moves (v4): source bits, 64-bit form exists, 32-bit form exists.
const MOVSX_LINES: &[(u8, bool, bool)] = &[(8, true, true), (16, true, true), (32, true, false)];

const JMP_LINES: &[(&str, u8, Cond)] = &[
    ("jeq", 0x1, Cond::Eq),
    ("jgt", 0x2, Cond::Gt),
    ("jge", 0x3, Cond::Ge),
    ("jset", 0x4, Cond::Set),
    ("jne", 0x5, Cond::Ne),
    ("jsgt", 0x6, Cond::Sgt),
    ("jsge", 0x7, Cond::Sge),
    ("jlt", 0xa, Cond::Lt),
    ("jle", 0xb, Cond::Le),
    ("jslt", 0xc, Cond::Slt),
    ("jsle", 0xd, Cond::Sle),
];

/// Atomic operations: name, `imm` code (without the fetch flag), which fetch
/// variants exist (plain, fetch).
const ATOMIC_LINES: &[(&str, i32, AtomicOp, bool, bool)] = &[
    ("add", 0x00, AtomicOp::Add, true, true),
    ("or", 0x40, AtomicOp::Or, true, true),
    ("and", 0x50, AtomicOp::And, true, true),
    ("xor", 0xa0, AtomicOp::Xor, true, true),
    ("xchg", 0xe0, AtomicOp::Xchg, false, true),
    ("cmpxchg", 0xf0, AtomicOp::Cmpxchg, false, true),
];

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn build() -> Vec<OpDef> {
    let mut t = Vec::with_capacity(180);
    let mut row = |mnemonic: &'static str, opcode, sel, kind, form, group, version, unit| {
        t.push(OpDef {
            mnemonic,
            opcode,
            sel,
            kind,
            form,
            group,
            version,
            unit,
        })
    };

    // ALU and ALU64 (RFC 9669 section 4.1).
    for &AluLine(name, code, op, off, g32, g64, unit, ver, has_imm) in ALU_LINES {
        for (wide, cls, group) in [(false, CLS_ALU, g32), (true, CLS_ALU64, g64)] {
            let base = if wide {
                name.to_string()
            } else {
                format!("{name}32")
            };
            let m = leak(base);
            let sel = Sel::Off(off);
            row(
                m,
                (code << 4) | SRC_X | cls,
                sel,
                Kind::Alu {
                    op,
                    wide,
                    src: Src::Reg,
                },
                Form::AluReg,
                group,
                ver,
                unit,
            );
            if has_imm {
                row(
                    m,
                    (code << 4) | cls,
                    sel,
                    Kind::Alu {
                        op,
                        wide,
                        src: Src::Imm,
                    },
                    Form::AluImm,
                    group,
                    ver,
                    unit,
                );
            }
        }
    }
    for &(bits, w64, w32) in MOVSX_LINES {
        for (wide, cls, group, exists) in [
            (true, CLS_ALU64, Group::Base64, w64),
            (false, CLS_ALU, Group::Base32, w32),
        ] {
            if exists {
                let m = leak(format!("movsx{bits}{}", if wide { 64 } else { 32 }));
                row(
                    m,
                    0xb0 | SRC_X | cls,
                    Sel::Off(bits as i16),
                    Kind::Alu {
                        op: AluOp::Movsx(bits),
                        wide,
                        src: Src::Reg,
                    },
                    Form::AluReg,
                    group,
                    4,
                    Unit::Alu,
                );
            }
        }
    }
    row(
        "neg32",
        0x80 | CLS_ALU,
        Sel::None,
        Kind::Neg { wide: false },
        Form::Unary,
        Group::Base32,
        1,
        Unit::Alu,
    );
    row(
        "neg",
        0x80 | CLS_ALU64,
        Sel::None,
        Kind::Neg { wide: true },
        Form::Unary,
        Group::Base64,
        1,
        Unit::Alu,
    );
    for bits in [16u8, 32, 64] {
        let g = if bits == 64 {
            Group::Base64
        } else {
            Group::Base32
        };
        for (prefix, opcode, order, ver) in [
            ("le", 0xd0 | CLS_ALU, Order::Le, 1),
            ("be", 0xd0 | SRC_X | CLS_ALU, Order::Be, 1),
            ("bswap", 0xd0 | CLS_ALU64, Order::Swap, 4),
        ] {
            row(
                leak(format!("{prefix}{bits}")),
                opcode,
                Sel::Imm(bits as i32),
                Kind::End { order, bits },
                Form::Unary,
                g,
                ver,
                Unit::Alu,
            );
        }
    }

    // Jumps (section 4.3).
    for &(name, code, cond) in JMP_LINES {
        for (wide, cls, ver) in [(true, CLS_JMP, 1), (false, CLS_JMP32, 3)] {
            let ver = if matches!(cond, Cond::Lt | Cond::Le | Cond::Slt | Cond::Sle) {
                ver.max(2)
            } else {
                ver
            };
            let m = if wide {
                name
            } else {
                leak(format!("{name}32"))
            };
            row(
                m,
                (code << 4) | SRC_X | cls,
                Sel::None,
                Kind::Jmp {
                    cond,
                    wide,
                    src: Src::Reg,
                },
                Form::JmpReg,
                Group::Base32,
                ver,
                Unit::Branch,
            );
            row(
                m,
                (code << 4) | cls,
                Sel::None,
                Kind::Jmp {
                    cond,
                    wide,
                    src: Src::Imm,
                },
                Form::JmpImm,
                Group::Base32,
                ver,
                Unit::Branch,
            );
        }
    }
    row(
        "ja",
        CLS_JMP,
        Sel::None,
        Kind::Ja,
        Form::Ja,
        Group::Base32,
        1,
        Unit::Branch,
    );
    row(
        "ja32",
        CLS_JMP32,
        Sel::None,
        Kind::Ja32,
        Form::Ja32,
        Group::Base32,
        4,
        Unit::Branch,
    );
    row(
        "call",
        0x80 | CLS_JMP,
        Sel::Src(0),
        Kind::Call,
        Form::Call,
        Group::Base32,
        1,
        Unit::Call,
    );
    row(
        "call local",
        0x80 | CLS_JMP,
        Sel::Src(1),
        Kind::CallLocal,
        Form::CallLocal,
        Group::Base32,
        1,
        Unit::Call,
    );
    row(
        "callx",
        0x80 | SRC_X | CLS_JMP,
        Sel::None,
        Kind::Callx,
        Form::Callx,
        Group::Callx,
        1,
        Unit::Call,
    );
    row(
        "exit",
        0x90 | CLS_JMP,
        Sel::None,
        Kind::Exit,
        Form::Exit,
        Group::Base32,
        1,
        Unit::Exit,
    );

    // Loads and stores (section 5).
    row(
        "lddw",
        MODE_IMM | Width::DW.code() | CLS_LD,
        Sel::Src(0),
        Kind::Lddw,
        Form::Lddw,
        Group::Base64,
        1,
        Unit::Lddw,
    );
    for w in Width::ALL {
        let g = if w == Width::DW {
            Group::Base64
        } else {
            Group::Base32
        };
        let s = w.suffix();
        row(
            leak(format!("ldx{s}")),
            MODE_MEM | w.code() | CLS_LDX,
            Sel::None,
            Kind::Ldx {
                width: w,
                sx: false,
            },
            Form::Load,
            g,
            1,
            Unit::Load,
        );
        if w != Width::DW {
            row(
                leak(format!("ldx{s}sx")),
                MODE_MEMSX | w.code() | CLS_LDX,
                Sel::None,
                Kind::Ldx { width: w, sx: true },
                Form::Load,
                g,
                4,
                Unit::Load,
            );
            row(
                leak(format!("ldabs{s}")),
                MODE_ABS | w.code() | CLS_LD,
                Sel::None,
                Kind::LdAbs { width: w },
                Form::LdAbs,
                Group::Packet,
                1,
                Unit::Load,
            );
            row(
                leak(format!("ldind{s}")),
                MODE_IND | w.code() | CLS_LD,
                Sel::None,
                Kind::LdInd { width: w },
                Form::LdInd,
                Group::Packet,
                1,
                Unit::Load,
            );
        }
        row(
            leak(format!("st{s}")),
            MODE_MEM | w.code() | CLS_ST,
            Sel::None,
            Kind::St { width: w },
            Form::StoreImm,
            g,
            1,
            Unit::Store,
        );
        row(
            leak(format!("stx{s}")),
            MODE_MEM | w.code() | CLS_STX,
            Sel::None,
            Kind::Stx { width: w },
            Form::StoreReg,
            g,
            1,
            Unit::Store,
        );
    }
    for (width, group, sfx) in [
        (Width::W, Group::Atomic32, "32"),
        (Width::DW, Group::Atomic64, ""),
    ] {
        for &(name, code, op, plain, fetch) in ATOMIC_LINES {
            let opcode = MODE_ATOMIC | width.code() | CLS_STX;
            // xchg and cmpxchg always fetch; their mnemonic has no "fetch".
            let always = !plain;
            if plain {
                // Plain atomic add is the original BPF_XADD (v1); the rest came with v3.
                let ver = if op == AtomicOp::Add { 1 } else { 3 };
                row(
                    leak(format!("lock {name}{sfx}")),
                    opcode,
                    Sel::Imm(code),
                    Kind::Atomic {
                        width,
                        op,
                        fetch: false,
                    },
                    Form::StoreReg,
                    group,
                    ver,
                    Unit::Atomic,
                );
            }
            if fetch {
                let m = if always {
                    leak(format!("lock {name}{sfx}"))
                } else {
                    leak(format!("lock fetch {name}{sfx}"))
                };
                row(
                    m,
                    opcode,
                    Sel::Imm(code | ATOMIC_FETCH),
                    Kind::Atomic {
                        width,
                        op,
                        fetch: true,
                    },
                    Form::StoreReg,
                    group,
                    3,
                    Unit::Atomic,
                );
            }
        }
    }
    t
}

/// The table and its decode index.
pub struct Isa {
    pub rows: Vec<OpDef>,
    /// Row indices for each opcode byte.
    by_opcode: Vec<Vec<u16>>,
}

impl std::fmt::Debug for Isa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Isa({} rows)", self.rows.len())
    }
}

static ISA: LazyLock<Isa> = LazyLock::new(|| {
    let rows = build();
    let mut by_opcode = vec![Vec::new(); 256];
    for (i, r) in rows.iter().enumerate() {
        by_opcode[r.opcode as usize].push(i as u16);
    }
    Isa { rows, by_opcode }
});

/// The ISA table.
pub fn isa() -> &'static Isa {
    &ISA
}

/// Why an instruction has no row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// No row has this opcode byte.
    UnknownOpcode(u8),
    /// The opcode exists but the selecting field has a value no row uses
    /// (e.g. `off` = 2 on a div, `imm` = 0x30 on an atomic, `src` = 2 on call).
    BadSelector {
        opcode: u8,
        field: &'static str,
        value: i64,
    },
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::UnknownOpcode(o) => write!(f, "unknown opcode {o:#04x}"),
            DecodeError::BadSelector {
                opcode,
                field,
                value,
            } => {
                write!(f, "opcode {opcode:#04x} has no form with {field} = {value}")
            }
        }
    }
}

impl Isa {
    /// Row index of the instruction's form.
    pub fn decode_index(&self, i: &crate::Insn) -> Result<u16, DecodeError> {
        let cands = &self.by_opcode[i.opc as usize];
        if cands.is_empty() {
            return Err(DecodeError::UnknownOpcode(i.opc));
        }
        for &c in cands {
            if self.rows[c as usize].selects(i) {
                return Ok(c);
            }
        }
        let (field, value) = match self.rows[cands[0] as usize].sel {
            Sel::Off(_) => ("offset", i.off as i64),
            Sel::Imm(_) => ("imm", i.imm as i64),
            Sel::Src(_) => ("src", i.src as i64),
            Sel::None => ("opcode", i.opc as i64),
        };
        Err(DecodeError::BadSelector {
            opcode: i.opc,
            field,
            value,
        })
    }

    pub fn decode(&self, i: &crate::Insn) -> Result<&OpDef, DecodeError> {
        self.decode_index(i).map(|x| &self.rows[x as usize])
    }

    /// All rows with this mnemonic (a mnemonic has a register and an immediate
    /// form for ALU and jumps).
    /// The rows of a mnemonic (one per operand form).
    ///
    /// ```
    /// use nfbpf_vm::isa::isa;
    /// let mut add: Vec<u8> = isa().by_mnemonic("add").map(|r| r.opcode).collect();
    /// add.sort();
    /// // add64 with an immediate (0x07) and with a register (0x0f).
    /// assert_eq!(add, vec![0x07, 0x0f]);
    /// let exit = isa().by_mnemonic("exit").next().unwrap();
    /// assert_eq!((exit.opcode, exit.version), (0x95, 1));
    /// ```
    pub fn by_mnemonic<'a>(&'a self, m: &'a str) -> impl Iterator<Item = &'a OpDef> + 'a {
        self.rows.iter().filter(move |r| r.mnemonic == m)
    }

    pub fn row(&self, index: u16) -> &OpDef {
        &self.rows[index as usize]
    }

    /// The row that does `kind` (each kind has at most one row), if any.
    pub fn by_kind(&self, kind: Kind) -> Option<&OpDef> {
        self.rows.iter().find(|r| r.kind == kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Insn;

    #[test]
    fn no_two_rows_overlap() {
        let t = isa();
        for (a, ra) in t.rows.iter().enumerate() {
            for rb in &t.rows[a + 1..] {
                if ra.opcode != rb.opcode {
                    continue;
                }
                // Same opcode: the selectors must be of one kind and differ.
                let clash = match (ra.sel, rb.sel) {
                    (Sel::None, _) | (_, Sel::None) => true,
                    (x, y) => x == y,
                };
                assert!(!clash, "rows {ra:?} and {rb:?} overlap");
                assert_eq!(
                    std::mem::discriminant(&ra.sel),
                    std::mem::discriminant(&rb.sel),
                    "rows {} and {} select on different fields",
                    ra.mnemonic,
                    rb.mnemonic
                );
            }
        }
    }

    #[test]
    fn decode_of_template_is_the_row() {
        let t = isa();
        for (idx, r) in t.rows.iter().enumerate() {
            let i = r.template();
            assert_eq!(t.decode_index(&i), Ok(idx as u16), "{}", r.mnemonic);
        }
    }

    #[test]
    fn covers_rfc9669() {
        let t = isa();
        // 14 ALU ops x 2 widths x 2 sources, 5 movsx, 2 neg, 9 byte-order.
        // 11 conditions x 2 widths x 2 sources, ja, ja32, call, call local, callx, exit.
        // lddw, 4 ldx, 3 ldsx, 3 abs, 3 ind, 4 st, 4 stx, 2 x 10 atomics.
        let expect = 56 + 5 + 2 + 9 + 44 + 6 + 1 + 4 + 3 + 3 + 3 + 4 + 4 + 20;
        assert_eq!(t.rows.len(), expect);
        let groups: std::collections::BTreeSet<_> = t.rows.iter().map(|r| r.group).collect();
        assert_eq!(groups.len(), 8);
    }

    #[test]
    fn bad_selectors_are_named() {
        let t = isa();
        let e = t.decode(&Insn::new(0x3f, 0, 0, 2, 0)).unwrap_err();
        assert_eq!(e.to_string(), "opcode 0x3f has no form with offset = 2");
        let e = t.decode(&Insn::new(0xff, 0, 0, 0, 0)).unwrap_err();
        assert_eq!(e.to_string(), "unknown opcode 0xff");
    }
}
