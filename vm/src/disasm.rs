//! Disassembler: one line per instruction in the conformance suite's syntax,
//! driven entirely by the ISA table's mnemonic and operand form.
//!
//! Branch targets print as signed relative offsets (`+3`, `-2`), which the
//! assembler accepts, so disassembling and assembling again gives the same
//! bytes.

use crate::Insn;
use crate::isa::{Form, isa};

/// Text of the instruction at `slots[0]` (`slots[1]` is read for `lddw`).
/// Undecodable slots print as `.quad 0x...`.
pub fn disasm_one(slots: &[Insn]) -> String {
    let Some(&i) = slots.first() else {
        return String::new();
    };
    let def = match isa().decode(&i) {
        Ok(d) => d,
        Err(_) => return format!(".quad {:#018x}", i.to_u64()),
    };
    let m = def.mnemonic;
    let (d, s, off, imm) = (i.dst, i.src, i.off, i.imm);
    match def.form {
        Form::AluReg => format!("{m} %r{d}, %r{s}"),
        Form::AluImm => format!("{m} %r{d}, {imm}"),
        Form::Unary => format!("{m} %r{d}"),
        Form::Lddw => {
            let hi = slots.get(1).map_or(0, |h| h.imm as u32 as u64);
            format!("{m} %r{d}, {:#x}", (hi << 32) | imm as u32 as u64)
        }
        Form::Load => format!("{m} %r{d}, [%r{s}{off:+}]"),
        Form::StoreImm => format!("{m} [%r{d}{off:+}], {imm}"),
        Form::StoreReg => format!("{m} [%r{d}{off:+}], %r{s}"),
        Form::LdAbs => format!("{m} {imm}"),
        Form::LdInd => format!("{m} %r{s}, {imm}"),
        Form::JmpReg => format!("{m} %r{d}, %r{s}, {off:+}"),
        Form::JmpImm => format!("{m} %r{d}, {imm}, {off:+}"),
        Form::Ja => format!("{m} {off:+}"),
        Form::Ja32 => format!("{m} {imm:+}"),
        Form::Call => format!("{m} {imm}"),
        Form::CallLocal => format!("{m} {imm:+}"),
        Form::Callx => format!("call %r{d}"),
        Form::Exit => m.to_string(),
    }
}

/// One line per instruction (the second slot of `lddw` is skipped).
pub fn disasm(insns: &[Insn]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pc = 0;
    while pc < insns.len() {
        let slots = isa().decode(&insns[pc]).map_or(1, |d| d.slots());
        out.push((pc, disasm_one(&insns[pc..])));
        pc += slots;
    }
    out
}

/// objdump-style listing: `pc: bytes  text`.
pub fn listing(insns: &[Insn]) -> String {
    let mut s = String::new();
    for (pc, text) in disasm(insns) {
        let b = insns[pc].to_bytes();
        let hex: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
        s.push_str(&format!("{pc:5}: {}  {text}\n", hex.join(" ")));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let t = |i: Insn| disasm_one(&[i, Insn::default()]);
        assert_eq!(t(Insn::new(0x07, 1, 0, 0, -1)), "add %r1, -1");
        assert_eq!(t(Insn::new(0x61, 0, 1, 4, 0)), "ldxw %r0, [%r1+4]");
        assert_eq!(
            t(Insn::new(0xdb, 10, 1, -8, 1)),
            "lock fetch add [%r10-8], %r1"
        );
        assert_eq!(
            t(Insn::new(0xc3, 10, 1, -8, 0xf1)),
            "lock cmpxchg32 [%r10-8], %r1"
        );
        assert_eq!(t(Insn::new(0x85, 0, 1, 0, 3)), "call local +3");
        assert_eq!(t(Insn::new(0x8d, 2, 0, 0, 0)), "call %r2");
        assert_eq!(t(Insn::new(0xbf, 0, 1, 8, 0)), "movsx864 %r0, %r1");
        assert_eq!(t(Insn::new(0xd7, 0, 0, 0, 16)), "bswap16 %r0");
        assert_eq!(t(Insn::new(0x06, 0, 0, 0, -3)), "ja32 -3");
        assert_eq!(t(Insn::new(0xff, 0, 0, 0, 0)), ".quad 0x00000000000000ff");
        let lddw = [
            Insn::new(0x18, 3, 0, 0, 0x89ab_cdefu32 as i32),
            Insn::new(0, 0, 0, 0, 0x0123_4567),
        ];
        assert_eq!(disasm_one(&lddw), "lddw %r3, 0x123456789abcdef");
    }
}
