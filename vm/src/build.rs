//! Instruction builders: every instruction the loader, the simulator, the
//! program generators and the tests write is made here from its row of the
//! ISA table ([`crate::isa`]), chosen by what it does ([`Kind`]) or by its
//! mnemonic and operand form. No caller writes an opcode number.
//!
//! The builders place operands only in the fields the row's [`Form`] uses
//! (as [`OpDef::with_operands`] does), so what they make always decodes to
//! the row asked for. Asking for a kind the table has no row for (a
//! sign-extending move from an immediate, a 24-bit byte swap, ...) is a
//! programming error: [`of`] panics naming the kind, [`try_of`] returns
//! `None`.

use crate::Insn;
use crate::isa::{AluOp, AtomicOp, Cond, Form, Kind, OpDef, Order, Src, Width, isa};

/// The table row that does `kind`, if the ISA has one.
pub fn row(kind: Kind) -> Option<&'static OpDef> {
    isa().by_kind(kind)
}

/// The instruction of `kind` with these operands, if the ISA has that kind.
pub fn try_of(kind: Kind, dst: u8, src: u8, off: i16, imm: i32) -> Option<Insn> {
    row(kind).map(|r| r.with_operands(dst, src, off, imm))
}

/// The instruction of `kind` with these operands.
///
/// # Panics
/// When the ISA table has no row for `kind` (see the module documentation).
pub fn of(kind: Kind, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    try_of(kind, dst, src, off, imm)
        .unwrap_or_else(|| panic!("the ISA table has no instruction of kind {kind:?}"))
}

/// The instruction by assembler mnemonic and operand form (the conformance
/// suite's names: "add32", "ldxdw", "lock fetch add", ...), operands placed
/// as the form uses them.
///
/// # Panics
/// When no row has this mnemonic in this form.
pub fn named(mnemonic: &str, form: Form, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    isa()
        .by_mnemonic(mnemonic)
        .find(|r| r.form == form)
        .unwrap_or_else(|| panic!("the ISA table has no {mnemonic} in form {form:?}"))
        .with_operands(dst, src, off, imm)
}

/// Does `insn` decode to an instruction of `kind`?
pub fn is(insn: &Insn, kind: Kind) -> bool {
    isa().decode(insn).is_ok_and(|r| r.kind == kind)
}

/// Does `insn` carry the opcode byte of `kind`'s row, whatever its other
/// fields say? (An object file's `lddw` with a map-reference `src`, or a
/// kfunc `call`, has no row of its own but the opcode of one.)
pub fn has_opcode(insn: &Insn, kind: Kind) -> bool {
    row(kind).is_some_and(|r| r.opcode == insn.opc)
}

/// `op dst, imm` (ALU64 class when `wide`, else ALU).
pub fn alu_imm(op: AluOp, wide: bool, dst: u8, imm: i32) -> Insn {
    of(
        Kind::Alu {
            op,
            wide,
            src: Src::Imm,
        },
        dst,
        0,
        0,
        imm,
    )
}

/// `op dst, src` (ALU64 class when `wide`, else ALU).
pub fn alu_reg(op: AluOp, wide: bool, dst: u8, src: u8) -> Insn {
    of(
        Kind::Alu {
            op,
            wide,
            src: Src::Reg,
        },
        dst,
        src,
        0,
        0,
    )
}

/// `mov dst, imm` (64-bit: the immediate is sign-extended).
pub fn mov64_imm(dst: u8, imm: i32) -> Insn {
    alu_imm(AluOp::Mov, true, dst, imm)
}

/// `mov dst, src` (64-bit).
pub fn mov64_reg(dst: u8, src: u8) -> Insn {
    alu_reg(AluOp::Mov, true, dst, src)
}

/// `mov32 dst, imm` (the upper half of dst is zeroed).
pub fn mov32_imm(dst: u8, imm: i32) -> Insn {
    alu_imm(AluOp::Mov, false, dst, imm)
}

/// `add dst, imm` (64-bit).
pub fn add64_imm(dst: u8, imm: i32) -> Insn {
    alu_imm(AluOp::Add, true, dst, imm)
}

/// `neg dst` (64-bit when `wide`).
pub fn neg(wide: bool, dst: u8) -> Insn {
    of(Kind::Neg { wide }, dst, 0, 0, 0)
}

/// Byte-order conversion of the low `bits` (16, 32 or 64) of dst.
pub fn end(order: Order, bits: u8, dst: u8) -> Insn {
    of(Kind::End { order, bits }, dst, 0, 0, 0)
}

/// `lddw dst, v`: the two slots of the 64-bit immediate load.
pub fn lddw(dst: u8, v: u64) -> [Insn; 2] {
    let lo = of(Kind::Lddw, dst, 0, 0, v as u32 as i32);
    [lo, Insn::second_slot((v >> 32) as u32 as i32)]
}

/// `ldx<w> dst, [src+off]` (zero-extending).
pub fn ldx(width: Width, dst: u8, src: u8, off: i16) -> Insn {
    of(Kind::Ldx { width, sx: false }, dst, src, off, 0)
}

/// `st<w> [dst+off], imm`.
pub fn st(width: Width, dst: u8, off: i16, imm: i32) -> Insn {
    of(Kind::St { width }, dst, 0, off, imm)
}

/// `stx<w> [dst+off], src`.
pub fn stx(width: Width, dst: u8, src: u8, off: i16) -> Insn {
    of(Kind::Stx { width }, dst, src, off, 0)
}

/// Atomic read-modify-write of `[dst+off]` with src.
pub fn atomic(width: Width, op: AtomicOp, fetch: bool, dst: u8, src: u8, off: i16) -> Insn {
    of(Kind::Atomic { width, op, fetch }, dst, src, off, 0)
}

/// `j<cond> dst, imm, +off` (JMP class when `wide`, else JMP32).
pub fn jmp_imm(cond: Cond, wide: bool, dst: u8, imm: i32, off: i16) -> Insn {
    of(
        Kind::Jmp {
            cond,
            wide,
            src: Src::Imm,
        },
        dst,
        0,
        off,
        imm,
    )
}

/// `j<cond> dst, src, +off` (JMP class when `wide`, else JMP32).
pub fn jmp_reg(cond: Cond, wide: bool, dst: u8, src: u8, off: i16) -> Insn {
    of(
        Kind::Jmp {
            cond,
            wide,
            src: Src::Reg,
        },
        dst,
        src,
        off,
        0,
    )
}

/// `ja +off`.
pub fn ja(off: i16) -> Insn {
    of(Kind::Ja, 0, 0, off, 0)
}

/// `call id`: a helper call by static id.
pub fn call(id: i32) -> Insn {
    of(Kind::Call, 0, 0, 0, id)
}

/// `call local +rel`: a bpf-to-bpf call to pc + 1 + rel.
pub fn call_local(rel: i32) -> Insn {
    of(Kind::CallLocal, 0, 0, 0, rel)
}

/// `call %reg`: a helper call by the id held in a register.
pub fn callx(reg: u8) -> Insn {
    of(Kind::Callx, reg, 0, 0, 0)
}

/// `exit`.
pub fn exit() -> Insn {
    of(Kind::Exit, 0, 0, 0, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row is reachable by its kind, and the builder makes that row.
    #[test]
    fn every_row_by_kind() {
        let t = isa();
        for (idx, r) in t.rows.iter().enumerate() {
            let i = of(r.kind, 1, 2, 3, 4);
            assert_eq!(t.decode_index(&i), Ok(idx as u16), "{}", r.mnemonic);
            assert!(is(&i, r.kind), "{}", r.mnemonic);
            assert_eq!(named(r.mnemonic, r.form, 1, 2, 3, 4), i, "{}", r.mnemonic);
        }
    }

    /// The encodings RFC 9669 gives, written out independently of the table.
    #[test]
    fn known_encodings() {
        assert_eq!(mov64_imm(1, 7).to_bytes(), [0xb7, 0x01, 0, 0, 7, 0, 0, 0]);
        assert_eq!(mov64_reg(6, 1).to_bytes(), [0xbf, 0x16, 0, 0, 0, 0, 0, 0]);
        assert_eq!(mov32_imm(2, -1).to_bytes()[0], 0xb4);
        assert_eq!(add64_imm(3, -1).to_bytes()[0], 0x07);
        assert_eq!(exit().to_bytes(), [0x95, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(call(5).to_bytes(), [0x85, 0, 0, 0, 5, 0, 0, 0]);
        assert_eq!(call_local(3).to_bytes(), [0x85, 0x10, 0, 0, 3, 0, 0, 0]);
        assert_eq!(callx(2).to_bytes()[..2], [0x8d, 0x02]);
        assert_eq!(ja(-1).to_bytes(), [0x05, 0, 0xff, 0xff, 0, 0, 0, 0]);
        assert_eq!(
            ldx(Width::DW, 2, 10, -8).to_bytes()[..4],
            [0x79, 0xa2, 0xf8, 0xff]
        );
        assert_eq!(stx(Width::DW, 10, 1, -8).to_bytes()[0], 0x7b);
        assert_eq!(st(Width::W, 1, 0, 9).to_bytes()[0], 0x62);
        assert_eq!(jmp_imm(Cond::Ne, true, 1, 0, 2).to_bytes()[0], 0x55);
        assert_eq!(jmp_reg(Cond::Eq, false, 1, 2, 2).to_bytes()[0], 0x1e);
        assert_eq!(neg(true, 0).to_bytes()[0], 0x87);
        assert_eq!(end(Order::Be, 16, 0).to_bytes()[..5], [0xdc, 0, 0, 0, 16]);
        assert_eq!(
            atomic(Width::DW, AtomicOp::Add, false, 10, 1, -8).to_bytes()[..5],
            [0xdb, 0x1a, 0xf8, 0xff, 0]
        );
        let [lo, hi] = lddw(3, 0x0123_4567_89ab_cdef);
        assert_eq!(lo.to_bytes(), [0x18, 3, 0, 0, 0xef, 0xcd, 0xab, 0x89]);
        assert_eq!(hi.to_bytes(), [0, 0, 0, 0, 0x67, 0x45, 0x23, 0x01]);
    }

    #[test]
    fn missing_kinds_are_none() {
        let k = Kind::Alu {
            op: AluOp::Movsx(8),
            wide: true,
            src: Src::Imm,
        };
        assert_eq!(try_of(k, 0, 0, 0, 0), None);
        assert!(!is(&exit(), Kind::Call));
        let mut kfunc = call(0);
        kfunc.src = 2;
        assert!(!is(&kfunc, Kind::Call) && has_opcode(&kfunc, Kind::Call));
        assert!(!has_opcode(&kfunc, Kind::Exit));
    }
}
