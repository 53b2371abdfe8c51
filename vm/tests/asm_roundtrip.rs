//! Disassembling any valid program and assembling the text again gives the
//! same bytes.

use nfbpf_vm::Insn;
use nfbpf_vm::asm::assemble;
use nfbpf_vm::disasm::disasm;
use nfbpf_vm::isa::isa;
use nfbpf_vm::validate::{Limits, validate};
use proptest::prelude::*;

type Spec = (u16, u8, u8, i16, i32, u32);

/// A random instruction: a random table row with random operand fields;
/// the last field picks a branch target inside the program.
fn insn_strategy() -> impl Strategy<Value = Spec> {
    let rows = isa().rows.len() as u16;
    (
        0..rows,
        0u8..10,
        0u8..11,
        any::<i16>(),
        any::<i32>(),
        any::<u32>(),
    )
}

fn build(spec: &[Spec]) -> Vec<Insn> {
    let t = isa();
    let mut out = Vec::new();
    let mut starts = Vec::new();
    for &(row, dst, src, off, imm, _) in spec {
        let r = t.row(row);
        let i = r.with_operands(dst, src, off, imm);
        starts.push(out.len());
        out.push(i);
        if r.slots() == 2 {
            out.push(Insn::second_slot(imm.rotate_left(7)));
        }
    }
    out.push(nfbpf_vm::build::exit());
    for (k, &(row, _, _, _, _, tgt)) in spec.iter().enumerate() {
        let r = t.row(row);
        if r.is_branch() {
            let to = starts[tgt as usize % starts.len()] as i64;
            let d = to - starts[k] as i64 - 1;
            let i = &mut out[starts[k]];
            if r.form.operands().off {
                i.off = d as i16;
            } else {
                i.imm = d as i32;
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]
    #[test]
    fn disasm_asm_roundtrip(spec in prop::collection::vec(insn_strategy(), 1..40)) {
        let prog = build(&spec);
        // Only valid programs are promised to round-trip; the generator
        // keeps r10 unwritten, targets inside and an exit at the end.
        prop_assume!(validate(&prog, &Limits::default()).is_ok());
        let text: String = disasm(&prog).into_iter().map(|(_, t)| t + "\n").collect();
        let back = assemble(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(back, prog, "{}", text);
    }
}
