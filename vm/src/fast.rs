//! Flat dispatch forms for the hot instructions, derived from [`Kind`].
//!
//! The ISA table describes an ALU instruction as `Kind::Alu { op, wide, src }`;
//! dispatching on that costs a branch per field. [`Fast`] flattens the common
//! ALU, jump and memory kinds into one enum so the interpreter takes a single
//! indirect branch per instruction. It adds no facts: [`Fast::of`] is a pure
//! function of the table's [`Kind`], and [`exec`] calls the shared semantics
//! in [`crate::sem`] with a constant operation, which inlines to one machine
//! operation. Everything else is [`Fast::Slow`] and takes the general path.

use crate::isa::{AluOp, Cond, Kind, Src, Width};
use crate::sem;

macro_rules! fast_forms {
    (
        alu: [$(($op:ident, $i64:ident, $r64:ident, $i32:ident, $r32:ident)),* $(,)?],
        jmp: [$(($c:ident, $ji64:ident, $jr64:ident, $ji32:ident, $jr32:ident)),* $(,)?]
    ) => {
        /// A flat dispatch form.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Fast {
            $($i64, $r64, $i32, $r32,)*
            $($ji64, $jr64, $ji32, $jr32,)*
            Ja,
            LdxB, LdxH, LdxW, LdxDW,
            StxB, StxH, StxW, StxDW,
            StB, StH, StW, StDW,
            /// Any other kind: the executor's general path.
            Slow,
        }

        impl Fast {
            /// The flat form of a table kind.
            pub const fn of(k: Kind) -> Fast {
                match k {
                    $(
                        Kind::Alu { op: AluOp::$op, wide: true, src: Src::Imm } => Fast::$i64,
                        Kind::Alu { op: AluOp::$op, wide: true, src: Src::Reg } => Fast::$r64,
                        Kind::Alu { op: AluOp::$op, wide: false, src: Src::Imm } => Fast::$i32,
                        Kind::Alu { op: AluOp::$op, wide: false, src: Src::Reg } => Fast::$r32,
                    )*
                    $(
                        Kind::Jmp { cond: Cond::$c, wide: true, src: Src::Imm } => Fast::$ji64,
                        Kind::Jmp { cond: Cond::$c, wide: true, src: Src::Reg } => Fast::$jr64,
                        Kind::Jmp { cond: Cond::$c, wide: false, src: Src::Imm } => Fast::$ji32,
                        Kind::Jmp { cond: Cond::$c, wide: false, src: Src::Reg } => Fast::$jr32,
                    )*
                    Kind::Ja => Fast::Ja,
                    Kind::Ldx { width: Width::B, sx: false } => Fast::LdxB,
                    Kind::Ldx { width: Width::H, sx: false } => Fast::LdxH,
                    Kind::Ldx { width: Width::W, sx: false } => Fast::LdxW,
                    Kind::Ldx { width: Width::DW, sx: false } => Fast::LdxDW,
                    Kind::Stx { width: Width::B } => Fast::StxB,
                    Kind::Stx { width: Width::H } => Fast::StxH,
                    Kind::Stx { width: Width::W } => Fast::StxW,
                    Kind::Stx { width: Width::DW } => Fast::StxDW,
                    Kind::St { width: Width::B } => Fast::StB,
                    Kind::St { width: Width::H } => Fast::StH,
                    Kind::St { width: Width::W } => Fast::StW,
                    Kind::St { width: Width::DW } => Fast::StDW,
                    _ => Fast::Slow,
                }
            }
        }

        /// Execute a flat register-only form. Returns `Some(true)` when a
        /// branch is taken, `Some(false)` to fall through, `None` for memory
        /// forms and [`Fast::Slow`] (nothing was done; memory forms are
        /// executed by the caller, which owns the memory and its faults).
        #[inline(always)]
        pub fn exec(f: Fast, r: &mut [u64; 16], dst: usize, src: usize, imm: u64) -> Option<bool> {
            match f {
                $(
                    Fast::$i64 => r[dst] = sem::alu64(AluOp::$op, r[dst], imm),
                    Fast::$r64 => r[dst] = sem::alu64(AluOp::$op, r[dst], r[src]),
                    Fast::$i32 => r[dst] = sem::alu32(AluOp::$op, r[dst], imm),
                    Fast::$r32 => r[dst] = sem::alu32(AluOp::$op, r[dst], r[src]),
                )*
                $(
                    Fast::$ji64 => return Some(sem::cond(Cond::$c, true, r[dst], imm)),
                    Fast::$jr64 => return Some(sem::cond(Cond::$c, true, r[dst], r[src])),
                    Fast::$ji32 => return Some(sem::cond(Cond::$c, false, r[dst], imm)),
                    Fast::$jr32 => return Some(sem::cond(Cond::$c, false, r[dst], r[src])),
                )*
                Fast::Ja => return Some(true),
                _ => return None,
            }
            Some(false)
        }
    };
}

fast_forms! {
    alu: [
        (Add, AddI64, AddR64, AddI32, AddR32),
        (Sub, SubI64, SubR64, SubI32, SubR32),
        (Mul, MulI64, MulR64, MulI32, MulR32),
        (Div, DivI64, DivR64, DivI32, DivR32),
        (Mod, ModI64, ModR64, ModI32, ModR32),
        (Or, OrI64, OrR64, OrI32, OrR32),
        (And, AndI64, AndR64, AndI32, AndR32),
        (Xor, XorI64, XorR64, XorI32, XorR32),
        (Lsh, LshI64, LshR64, LshI32, LshR32),
        (Rsh, RshI64, RshR64, RshI32, RshR32),
        (Arsh, ArshI64, ArshR64, ArshI32, ArshR32),
        (Mov, MovI64, MovR64, MovI32, MovR32),
    ],
    jmp: [
        (Eq, JeqI64, JeqR64, JeqI32, JeqR32),
        (Ne, JneI64, JneR64, JneI32, JneR32),
        (Gt, JgtI64, JgtR64, JgtI32, JgtR32),
        (Ge, JgeI64, JgeR64, JgeI32, JgeR32),
        (Lt, JltI64, JltR64, JltI32, JltR32),
        (Le, JleI64, JleR64, JleI32, JleR32),
        (Sgt, JsgtI64, JsgtR64, JsgtI32, JsgtR32),
        (Sge, JsgeI64, JsgeR64, JsgeI32, JsgeR32),
        (Slt, JsltI64, JsltR64, JsltI32, JsltR32),
        (Sle, JsleI64, JsleR64, JsleI32, JsleR32),
        (Set, JsetI64, JsetR64, JsetI32, JsetR32),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::isa;

    /// The fast path computes exactly what the general semantics compute, for
    /// every table row it covers.
    #[test]
    fn fast_forms_agree_with_sem() {
        let vals = [0u64, 1, 7, u64::MAX, 1 << 63, 0x8000_0000, 0xffff_ffff, 33];
        for row in &isa().rows {
            let f = Fast::of(row.kind);
            if f == Fast::Slow {
                continue;
            }
            for &a in &vals {
                for &b in &vals {
                    let mut r = [0u64; 16];
                    r[1] = a;
                    r[2] = b;
                    let taken = exec(f, &mut r, 1, 2, b);
                    match row.kind {
                        Kind::Alu { op, wide, .. } => {
                            assert_eq!(taken, Some(false));
                            assert_eq!(r[1], sem::alu(op, wide, a, b), "{}", row.mnemonic);
                        }
                        Kind::Jmp { cond, wide, .. } => {
                            assert_eq!(
                                taken,
                                Some(sem::cond(cond, wide, a, b)),
                                "{}",
                                row.mnemonic
                            );
                        }
                        Kind::Ja => assert_eq!(taken, Some(true)),
                        Kind::Ldx { .. } | Kind::Stx { .. } | Kind::St { .. } => {
                            assert_eq!(taken, None)
                        }
                        other => panic!("unexpected fast kind {other:?}"),
                    }
                }
            }
        }
    }
}
