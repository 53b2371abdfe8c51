//! A validated, pre-decoded program: what every executor runs.
//!
//! [`Program::new`] runs the validator over raw slots and records, per slot,
//! the ISA-table row and the operands (with `lddw`'s two halves joined), so
//! the interpreter and the pipeline never decode twice.

use crate::Insn;
use crate::fast::Fast;
use crate::isa::{Kind, OpDef, isa};
use crate::validate::{Limits, ValidationError, branch_offset, validate};

/// One decoded slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    pub kind: Kind,
    pub dst: u8,
    pub src: u8,
    pub off: i16,
    /// Immediate: sign-extended `imm`, or the whole 64-bit value for `lddw`.
    pub imm: i64,
    /// Index of the ISA-table row; `u16::MAX` marks the second slot of `lddw`.
    pub row: u16,
    /// Flat dispatch form of `kind` (see [`crate::fast`]).
    pub fast: Fast,
}

impl Decoded {
    pub fn def(&self) -> Option<&'static OpDef> {
        (self.row != u16::MAX).then(|| isa().row(self.row))
    }
}

/// A validated program.
#[derive(Debug, Clone)]
pub struct Program {
    insns: Vec<Insn>,
    decoded: Vec<Decoded>,
}

impl Program {
    /// Validate with default limits and decode.
    pub fn new(insns: Vec<Insn>) -> Result<Self, ValidationError> {
        Self::with_limits(insns, &Limits::default())
    }

    pub fn with_limits(insns: Vec<Insn>, limits: &Limits) -> Result<Self, ValidationError> {
        validate(&insns, limits)?;
        let t = isa();
        let mut decoded = Vec::with_capacity(insns.len());
        let mut pc = 0;
        while pc < insns.len() {
            let i = insns[pc];
            // validate() succeeded, so every executable slot decodes.
            let row = t
                .decode_index(&i)
                .map_err(|e| ValidationError::at(pc, i, e.into()))?;
            let def = t.row(row);
            let mut imm = i.imm as i64;
            if def.slots() == 2 {
                let hi = insns[pc + 1].imm as u32 as u64;
                imm = ((hi << 32) | i.imm as u32 as u64) as i64;
            }
            let d = Decoded {
                kind: def.kind,
                dst: i.dst,
                src: i.src,
                off: i.off,
                imm,
                row,
                fast: Fast::of(def.kind),
            };
            decoded.push(d);
            if def.slots() == 2 {
                decoded.push(Decoded {
                    row: u16::MAX,
                    fast: Fast::Slow,
                    ..d
                });
            }
            pc += def.slots();
        }
        Ok(Program { insns, decoded })
    }

    pub fn insns(&self) -> &[Insn] {
        &self.insns
    }

    pub fn decoded(&self) -> &[Decoded] {
        &self.decoded
    }

    pub fn len(&self) -> usize {
        self.insns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.insns.is_empty()
    }

    /// The most instructions one run from pc 0 can execute (what the
    /// instruction budget counts: every instruction once, `lddw` once, a
    /// bpf-to-bpf call's callee with its `exit`), over every path of the
    /// control flow whatever the data; `None` when a loop or a recursive
    /// call makes it unbounded. Helpers count as their `call` alone.
    pub fn worst_path(&self) -> Option<u64> {
        // Longest path from each pc to the `exit` that ends its function,
        // memoized; `Busy` marks a pc on the current path (a cycle).
        #[derive(Clone, Copy)]
        enum State {
            New,
            Busy,
            Done(u64),
        }
        fn from(p: &Program, pc: usize, st: &mut [State]) -> Option<u64> {
            match *st.get(pc)? {
                State::Done(n) => return Some(n),
                State::Busy => return None,
                State::New => {}
            }
            st[pc] = State::Busy;
            let d = p.decoded.get(pc)?;
            let def = d.def()?;
            let insn = p.insns[pc];
            let target = |st: &mut [State]| {
                let off = branch_offset(d.kind, &insn)?;
                from(p, usize::try_from(pc as i64 + 1 + off).ok()?, st)
            };
            let rest = match d.kind {
                Kind::Exit => 0,
                Kind::Ja | Kind::Ja32 => target(st)?,
                Kind::Jmp { .. } => target(st)?.max(from(p, pc + 1, st)?),
                Kind::CallLocal => target(st)? + from(p, pc + 1, st)?,
                _ => from(p, pc + def.slots(), st)?,
            };
            st[pc] = State::Done(rest + 1);
            Some(rest + 1)
        }
        let mut st = vec![State::New; self.insns.len()];
        from(self, 0, &mut st)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asm::assemble;

    fn worst(src: &str) -> Option<u64> {
        Program::new(assemble(src).unwrap()).unwrap().worst_path()
    }

    #[test]
    fn worst_path_takes_the_longest_branch_and_counts_callees() {
        // Straight line, lddw counted once.
        assert_eq!(worst("lddw %r0, 0x100000000\nmov %r1, 1\nexit"), Some(3));
        // The taken side is longer: jeq, 3 movs, exit.
        assert_eq!(
            worst("jeq %r1, 0, +1\nja exit\nmov %r0, 1\nmov %r0, 2\nmov %r0, 3\nexit"),
            Some(5)
        );
        // A bpf-to-bpf call: call, the callee (mov, exit), mov, exit.
        assert_eq!(
            worst("call local f\nmov %r0, 0\nexit\nf: mov %r0, 1\nexit"),
            Some(5)
        );
    }

    #[test]
    fn worst_path_of_a_loop_is_unbounded() {
        assert_eq!(worst("mov %r0, 0\nja -1\nexit"), None);
        assert_eq!(worst("top: add %r0, 1\njlt %r0, 9, top\nexit"), None);
        // Recursion.
        assert_eq!(worst("f: call local f\nexit"), None);
    }
}
