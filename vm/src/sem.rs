//! Instruction semantics, written once (RFC 9669 sections 4 and 5).
//!
//! Pure functions over values: the reference interpreter and the pipeline's
//! EX/MEM stages both call these, so the two can only differ in timing.
//! Edge cases follow the RFC: division by zero gives 0, modulo by zero leaves
//! the dividend; INT_MIN / -1 wraps to INT_MIN and INT_MIN % -1 is 0; shift
//! amounts are masked to the operand width; 32-bit results are zero-extended.

use crate::isa::{AluOp, AtomicOp, Cond, Order, Width};

/// 64-bit ALU operation.
#[inline(always)]
pub fn alu64(op: AluOp, a: u64, b: u64) -> u64 {
    match op {
        AluOp::Add => a.wrapping_add(b),
        AluOp::Sub => a.wrapping_sub(b),
        AluOp::Mul => a.wrapping_mul(b),
        AluOp::Div => udiv64(a, b),
        AluOp::Sdiv => {
            if b == 0 {
                0
            } else {
                (a as i64).wrapping_div(b as i64) as u64
            }
        }
        AluOp::Or => a | b,
        AluOp::And => a & b,
        AluOp::Lsh => a.wrapping_shl(b as u32 & 63),
        AluOp::Rsh => a.wrapping_shr(b as u32 & 63),
        AluOp::Mod => urem64(a, b),
        AluOp::Smod => {
            if b == 0 {
                a
            } else {
                (a as i64).wrapping_rem(b as i64) as u64
            }
        }
        AluOp::Xor => a ^ b,
        AluOp::Mov => b,
        AluOp::Movsx(bits) => sign_extend(b, bits as u32),
        AluOp::Arsh => ((a as i64) >> (b as u32 & 63)) as u64,
    }
}

/// Unsigned 64-bit division (by zero: 0). Operands that fit in 32 bits take
/// the 32-bit divide, several times faster on x86-64; the result is the same.
#[inline(always)]
fn udiv64(a: u64, b: u64) -> u64 {
    if b == 0 {
        0
    } else if (a | b) >> 32 == 0 {
        (a as u32 / b as u32) as u64
    } else {
        a / b
    }
}

/// Unsigned 64-bit modulo (by zero: the dividend), as [`udiv64`].
#[inline(always)]
fn urem64(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else if (a | b) >> 32 == 0 {
        (a as u32 % b as u32) as u64
    } else {
        a % b
    }
}

/// 32-bit ALU operation on the low halves; the result is zero-extended.
#[inline(always)]
pub fn alu32(op: AluOp, a: u64, b: u64) -> u64 {
    let (a, b) = (a as u32, b as u32);
    let r: u32 = match op {
        AluOp::Add => a.wrapping_add(b),
        AluOp::Sub => a.wrapping_sub(b),
        AluOp::Mul => a.wrapping_mul(b),
        AluOp::Div => a.checked_div(b).unwrap_or(0),
        AluOp::Sdiv => {
            if b == 0 {
                0
            } else {
                (a as i32).wrapping_div(b as i32) as u32
            }
        }
        AluOp::Or => a | b,
        AluOp::And => a & b,
        AluOp::Lsh => a.wrapping_shl(b & 31),
        AluOp::Rsh => a.wrapping_shr(b & 31),
        AluOp::Mod => a.checked_rem(b).unwrap_or(a),
        AluOp::Smod => {
            if b == 0 {
                a
            } else {
                (a as i32).wrapping_rem(b as i32) as u32
            }
        }
        AluOp::Xor => a ^ b,
        AluOp::Mov => b,
        AluOp::Movsx(bits) => sign_extend(b as u64, bits as u32) as u32,
        AluOp::Arsh => ((a as i32) >> (b & 31)) as u32,
    };
    r as u64
}

/// ALU operation of either width.
#[inline(always)]
pub fn alu(op: AluOp, wide: bool, a: u64, b: u64) -> u64 {
    if wide {
        alu64(op, a, b)
    } else {
        alu32(op, a, b)
    }
}

/// Negation.
#[inline(always)]
pub fn neg(wide: bool, a: u64) -> u64 {
    if wide {
        a.wrapping_neg()
    } else {
        (a as u32).wrapping_neg() as u64
    }
}

/// Byte-order conversion on a little-endian machine.
#[inline(always)]
pub fn endian(order: Order, bits: u8, a: u64) -> u64 {
    match (order, bits) {
        (Order::Le, 16) => a as u16 as u64,
        (Order::Le, 32) => a as u32 as u64,
        (Order::Le, _) => a,
        (_, 16) => (a as u16).swap_bytes() as u64,
        (_, 32) => (a as u32).swap_bytes() as u64,
        (_, _) => a.swap_bytes(),
    }
}

/// Sign-extend the low `bits` bits of `v` to 64 bits.
#[inline(always)]
pub fn sign_extend(v: u64, bits: u32) -> u64 {
    let s = 64 - bits;
    (((v << s) as i64) >> s) as u64
}

/// Truncate to an access width.
#[inline(always)]
pub fn truncate(v: u64, w: Width) -> u64 {
    match w {
        Width::B => v as u8 as u64,
        Width::H => v as u16 as u64,
        Width::W => v as u32 as u64,
        Width::DW => v,
    }
}

/// Jump condition; `wide` false compares the low 32 bits.
#[inline(always)]
pub fn cond(c: Cond, wide: bool, a: u64, b: u64) -> bool {
    if wide {
        cmp(c, a, b, a as i64, b as i64)
    } else {
        cmp(
            c,
            a as u32 as u64,
            b as u32 as u64,
            a as i32 as i64,
            b as i32 as i64,
        )
    }
}

#[inline(always)]
fn cmp(c: Cond, a: u64, b: u64, sa: i64, sb: i64) -> bool {
    match c {
        Cond::Eq => a == b,
        Cond::Gt => a > b,
        Cond::Ge => a >= b,
        Cond::Set => a & b != 0,
        Cond::Ne => a != b,
        Cond::Sgt => sa > sb,
        Cond::Sge => sa >= sb,
        Cond::Lt => a < b,
        Cond::Le => a <= b,
        Cond::Slt => sa < sb,
        Cond::Sle => sa <= sb,
    }
}

/// Outcome of an atomic read-modify-write on a memory word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AtomicResult {
    /// Value to write back to memory (None: cmpxchg that did not match).
    pub store: Option<u64>,
    /// Value for the written register (the old memory value), if the
    /// instruction writes one (fetch forms, xchg, cmpxchg into r0).
    pub fetched: Option<u64>,
}

/// Atomic operation on `old` (memory, already truncated to the width) with
/// operand `val` (src register) and `r0` (compare value for cmpxchg).
#[inline(always)]
pub fn atomic(op: AtomicOp, fetch: bool, w: Width, old: u64, val: u64, r0: u64) -> AtomicResult {
    let val = truncate(val, w);
    let new = match op {
        AtomicOp::Add => Some(truncate(old.wrapping_add(val), w)),
        AtomicOp::Or => Some(old | val),
        AtomicOp::And => Some(old & val),
        AtomicOp::Xor => Some(old ^ val),
        AtomicOp::Xchg => Some(val),
        AtomicOp::Cmpxchg => (old == truncate(r0, w)).then_some(val),
    };
    AtomicResult {
        store: new,
        fetched: fetch.then_some(old),
    }
}

/// Value loaded into a register by a legacy packet load (network byte order).
#[inline(always)]
pub fn ntoh(v: u64, w: Width) -> u64 {
    match w {
        Width::B => v,
        Width::H => (v as u16).swap_bytes() as u64,
        Width::W => (v as u32).swap_bytes() as u64,
        Width::DW => v.swap_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_edge_cases() {
        assert_eq!(alu64(AluOp::Div, 7, 0), 0);
        assert_eq!(alu64(AluOp::Mod, 7, 0), 7);
        assert_eq!(alu32(AluOp::Mod, 0xffff_ffff_0000_0007, 0), 7);
        assert_eq!(
            alu64(AluOp::Sdiv, i64::MIN as u64, u64::MAX),
            i64::MIN as u64
        );
        assert_eq!(alu64(AluOp::Smod, i64::MIN as u64, u64::MAX), 0);
        assert_eq!(alu32(AluOp::Sdiv, 0x8000_0000, 0xffff_ffff), 0x8000_0000);
        assert_eq!(alu64(AluOp::Smod, (-7i64) as u64, 2), (-1i64) as u64);
    }

    #[test]
    fn shifts_mask_and_zero_extend() {
        assert_eq!(alu64(AluOp::Lsh, 1, 65), 2);
        assert_eq!(alu32(AluOp::Lsh, 1, 33), 2);
        assert_eq!(alu32(AluOp::Arsh, 0x8000_0000, 1), 0xc000_0000);
        assert_eq!(alu32(AluOp::Add, u64::MAX, 1), 0);
        assert_eq!(alu64(AluOp::Movsx(8), 0, 0x80), 0xffff_ffff_ffff_ff80);
        assert_eq!(alu32(AluOp::Movsx(16), 0, 0x8000), 0xffff_8000);
    }

    #[test]
    fn atomics() {
        let r = atomic(AtomicOp::Cmpxchg, true, Width::W, 5, 9, 0x1_0000_0005);
        assert_eq!(
            r,
            AtomicResult {
                store: Some(9),
                fetched: Some(5)
            }
        );
        let r = atomic(AtomicOp::Add, false, Width::W, 0xffff_ffff, 1, 0);
        assert_eq!(
            r,
            AtomicResult {
                store: Some(0),
                fetched: None
            }
        );
    }
}
