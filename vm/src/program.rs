//! A validated, pre-decoded program: what every executor runs.
//!
//! [`Program::new`] runs the validator over raw slots and records, per slot,
//! the ISA-table row and the operands (with `lddw`'s two halves joined), so
//! the interpreter and the pipeline never decode twice.

use crate::Insn;
use crate::fast::Fast;
use crate::isa::{Kind, OpDef, isa};
use crate::validate::{Limits, ValidationError, validate};

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
}
