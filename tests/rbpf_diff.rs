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
use nfbpf_vm::{Insn, Program, insn};
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
    // (op code, may use register source, immediate must be non-zero)
    let ops: Vec<(u8, bool, bool)> = vec![
        (0x0, true, false), // add
        (0x1, true, false), // sub
        (0x2, true, false), // mul
        (0x3, false, true), // div (non-zero imm only)
        (0x4, true, false), // or
        (0x5, true, false), // and
        (0x6, true, false), // lsh
        (0x7, true, false), // rsh
        (0x9, false, true), // mod (non-zero imm only)
        (0xa, true, false), // xor
        (0xb, true, false), // mov
        (0xc, true, false), // arsh
    ];
    (
        prop::sample::select(ops),
        any::<bool>(),
        any::<bool>(),
        reg(),
        reg(),
        any::<i32>(),
    )
        .prop_map(|((code, reg_ok, nonzero), wide, use_reg, dst, src, imm)| {
            let cls = if wide { 0x07 } else { 0x04 };
            if use_reg && reg_ok {
                Insn::new((code << 4) | 0x08 | cls, dst, src, 0, 0)
            } else {
                let imm = if nonzero && imm == 0 { 7 } else { imm };
                Insn::new((code << 4) | cls, dst, 0, 0, imm)
            }
        })
}

fn unary() -> impl Strategy<Value = Insn> {
    prop_oneof![
        (any::<bool>(), reg()).prop_map(|(w, d)| Insn::new(
            if w { 0x87 } else { 0x84 },
            d,
            0,
            0,
            0
        )),
        (prop::sample::select(vec![16, 32, 64]), any::<bool>(), reg())
            .prop_map(|(bits, be, d)| Insn::new(if be { 0xdc } else { 0xd4 }, d, 0, 0, bits)),
    ]
}

fn width() -> impl Strategy<Value = (u8, usize)> {
    prop::sample::select(vec![(0x10u8, 1usize), (0x08, 2), (0x00, 4), (0x18, 8)])
}

fn mem_op() -> impl Strategy<Value = Insn> {
    prop_oneof![
        // ldx dst, [r1+off]
        (width(), reg(), any::<u16>()).prop_map(|((w, n), d, o)| {
            Insn::new(0x61 | w, d, 1, (o as usize % (BUF - n + 1)) as i16, 0)
        }),
        // stx [r1+off], src
        (width(), reg(), any::<u16>()).prop_map(|((w, n), s, o)| {
            Insn::new(0x63 | w, 1, s, (o as usize % (BUF - n + 1)) as i16, 0)
        }),
        // st [r1+off], imm
        (width(), any::<u16>(), any::<i32>()).prop_map(|((w, n), o, imm)| {
            Insn::new(0x62 | w, 1, 0, (o as usize % (BUF - n + 1)) as i16, imm)
        }),
        // stack spill and fill through r10
        (reg(), 1i16..=8).prop_map(|(s, k)| Insn::new(0x7b, 10, s, -8 * k, 0)),
        (reg(), 1i16..=8).prop_map(|(d, k)| Insn::new(0x79, d, 10, -8 * k, 0)),
    ]
}

fn jump() -> impl Strategy<Value = Item> {
    let conds: Vec<u8> = vec![0x1, 0x2, 0x3, 0x4, 0x5, 0x6, 0x7, 0xa, 0xb, 0xc, 0xd];
    (
        prop::sample::select(conds),
        any::<bool>(),
        any::<bool>(),
        reg(),
        reg(),
        any::<i32>(),
        0u8..6,
    )
        .prop_map(|(c, wide, use_reg, d, s, imm, skip)| {
            let cls = if wide { 0x05 } else { 0x06 };
            // rbpf zero-extends the immediate of 64-bit jeq/jne/jgt/jge/jlt/jle
            // (RFC 9669 sign-extends it): keep those immediates non-negative.
            let zero_ext_bug = wide && matches!(c, 0x1 | 0x2 | 0x3 | 0x5 | 0xa | 0xb);
            let imm = if zero_ext_bug { imm & i32::MAX } else { imm };
            let i = if use_reg {
                Insn::new((c << 4) | 0x08 | cls, d, s, 0, 0)
            } else {
                Insn::new((c << 4) | cls, d, 0, 0, imm)
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
        p.push(Insn::new(0x18, r, 0, 0, v as u32 as i32));
        p.push(Insn::new(0, 0, 0, 0, (v >> 32) as u32 as i32));
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
        p.push(Insn::new(0xaf, 0, r, 0, 0));
    }
    p.push(Insn::new(0x95, 0, 0, 0, 0));
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
