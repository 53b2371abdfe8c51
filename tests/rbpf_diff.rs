//! T2 differential tier: random valid programs give the same r0 and the same
//! memory on our reference interpreter and on rbpf's interpreter.
//!
//! Restricted to what rbpf 0.4.1 gets right:
//! ISA v1..v3 without atomics (rbpf rejects them), division and modulo only
//! by non-zero immediates (rbpf returns 2^64-1 for 32-bit modulo by zero),
//! no sdiv/smod/movsx/ldsx/bswap (rbpf ignores the v4 `off` field), and no
//! negative immediates on 64-bit jeq/jne/jgt/jge/jlt/jle (rbpf zero-extends
//! them where RFC 9669 sign-extends; the conformance suite covers that
//! case on our side). Programs
//! use r1 as the buffer pointer and r10 as the frame pointer and never leak
//! either into results (host and device addresses differ by design).

use nfbpf_vm::helpers::Helpers;
use nfbpf_vm::interp;
use nfbpf_vm::isa::{AluOp, Cond, Order, Width};
use nfbpf_vm::{Insn, Program, build, insn};
use proptest::prelude::*;

const BUF: usize = 64;
/// General registers a program may compute with (not r1, not r10).
const REGS: [u8; 9] = [0, 2, 3, 4, 5, 6, 7, 8, 9];

/// One body item: a single 8-byte slot, or a forward jump that skips items.
#[derive(Debug, Clone)]
enum Item {
    Slot(Insn),
    /// Conditional jump template; its offset is fixed when the program is built.
    Jump(Insn, u8),
}

fn reg() -> impl Strategy<Value = u8> {
    prop::sample::select(REGS.to_vec())
}

fn alu() -> impl Strategy<Value = Insn> {
    // (operation, may use register source, immediate must be non-zero)
    let ops: Vec<(AluOp, bool, bool)> = vec![
        (AluOp::Add, true, false),
        (AluOp::Sub, true, false),
        (AluOp::Mul, true, false),
        (AluOp::Div, false, true), // non-zero imm only
        (AluOp::Or, true, false),
        (AluOp::And, true, false),
        (AluOp::Lsh, true, false),
        (AluOp::Rsh, true, false),
        (AluOp::Mod, false, true), // non-zero imm only
        (AluOp::Xor, true, false),
        (AluOp::Mov, true, false),
        (AluOp::Arsh, true, false),
    ];
    (
        prop::sample::select(ops),
        any::<bool>(),
        any::<bool>(),
        reg(),
        reg(),
        any::<i32>(),
    )
        .prop_map(|((op, reg_ok, nonzero), wide, use_reg, dst, src, imm)| {
            if use_reg && reg_ok {
                build::alu_reg(op, wide, dst, src)
            } else {
                let imm = if nonzero && imm == 0 { 7 } else { imm };
                build::alu_imm(op, wide, dst, imm)
            }
        })
}

fn unary() -> impl Strategy<Value = Insn> {
    prop_oneof![
        (any::<bool>(), reg()).prop_map(|(w, d)| build::neg(w, d)),
        (
            prop::sample::select(vec![16u8, 32, 64]),
            any::<bool>(),
            reg()
        )
            .prop_map(|(bits, be, d)| build::end(
                if be { Order::Be } else { Order::Le },
                bits,
                d
            )),
    ]
}

fn width() -> impl Strategy<Value = (Width, usize)> {
    prop::sample::select(Width::ALL.map(|w| (w, w.bytes() as usize)).to_vec())
}

fn mem_op() -> impl Strategy<Value = Insn> {
    prop_oneof![
        // ldx dst, [r1+off]
        (width(), reg(), any::<u16>()).prop_map(|((w, n), d, o)| {
            build::ldx(w, d, 1, (o as usize % (BUF - n + 1)) as i16)
        }),
        // stx [r1+off], src
        (width(), reg(), any::<u16>()).prop_map(|((w, n), s, o)| {
            build::stx(w, 1, s, (o as usize % (BUF - n + 1)) as i16)
        }),
        // st [r1+off], imm
        (width(), any::<u16>(), any::<i32>()).prop_map(|((w, n), o, imm)| {
            build::st(w, 1, (o as usize % (BUF - n + 1)) as i16, imm)
        }),
        // stack spill and fill through r10
        (reg(), 1i16..=8).prop_map(|(s, k)| build::stx(Width::DW, 10, s, -8 * k)),
        (reg(), 1i16..=8).prop_map(|(d, k)| build::ldx(Width::DW, d, 10, -8 * k)),
    ]
}

fn jump() -> impl Strategy<Value = Item> {
    (
        prop::sample::select(Cond::ALL.to_vec()),
        any::<bool>(),
        any::<bool>(),
        reg(),
        reg(),
        any::<i32>(),
        0u8..6,
    )
        .prop_map(|(c, wide, use_reg, d, s, imm, skip)| {
            // rbpf zero-extends the immediate of 64-bit jeq/jne/jgt/jge/jlt/jle
            // (RFC 9669 sign-extends it): keep those immediates non-negative.
            let zero_ext_bug = wide
                && matches!(
                    c,
                    Cond::Eq | Cond::Gt | Cond::Ge | Cond::Ne | Cond::Lt | Cond::Le
                );
            let imm = if zero_ext_bug { imm & i32::MAX } else { imm };
            let i = if use_reg {
                build::jmp_reg(c, wide, d, s, 0)
            } else {
                build::jmp_imm(c, wide, d, imm, 0)
            };
            Item::Jump(i, skip)
        })
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        4 => alu().prop_map(Item::Slot),
        1 => unary().prop_map(Item::Slot),
        3 => mem_op().prop_map(Item::Slot),
        2 => jump(),
    ]
}

/// Initial register values, body, buffer.
fn case() -> impl Strategy<Value = (Vec<u64>, Vec<Item>, Vec<u8>)> {
    (
        prop::collection::vec(any::<u64>(), REGS.len()),
        prop::collection::vec(item(), 1..60),
        prop::collection::vec(any::<u8>(), BUF),
    )
}

fn build(init: &[u64], body: &[Item]) -> Vec<Insn> {
    let mut p = Vec::new();
    for (&r, &v) in REGS.iter().zip(init) {
        p.extend(build::lddw(r, v));
    }
    let n = body.len();
    for (k, it) in body.iter().enumerate() {
        match *it {
            Item::Slot(i) => p.push(i),
            Item::Jump(mut i, skip) => {
                // Forward only, landing at most on the epilogue's first slot.
                i.off = (skip as usize).min(n - 1 - k) as i16;
                p.push(i);
            }
        }
    }
    // Make every register observable in r0.
    for &r in &REGS[1..] {
        p.push(build::alu_reg(AluOp::Xor, true, 0, r));
    }
    p.push(build::exit());
    p
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn interpreter_matches_rbpf((init, body, buf) in case()) {
        let insns = build(&init, &body);
        let prog = Program::new(insns.clone()).expect("generated programs are valid");

        let (mut mem, args) = interp::conformance_memory(&buf);
        let ours = interp::run_plain(&prog, &mut mem, &mut Helpers::new(), args)
            .expect("generated programs do not fault");
        let our_buf = mem.region("packet").expect("packet region").data.clone();

        let bytes = insn::to_image(&insns);
        let vm = rbpf::EbpfVmRaw::new(Some(&bytes)).expect("rbpf accepts the program");
        let mut rbuf = buf.clone();
        let theirs = vm.execute_program(&mut rbuf).expect("rbpf runs the program");

        prop_assert_eq!(ours.r0, theirs, "r0 differs");
        prop_assert_eq!(our_buf, rbuf, "memory differs");
    }
}
