//! The validator, driven by the ISA table.
//!
//! It rejects what no executor may run: unknown opcodes and selector values,
//! non-zero unused fields, registers outside r0..r10, writes to r10 (except in
//! the loader's prologue, see [`Limits::prologue`]), broken `lddw` pairs, jump
//! and call targets outside the program or into the middle of an `lddw`,
//! unknown helpers, programs over the size limit, and programs that can run
//! off their end.

use crate::Insn;
use crate::isa::{DecodeError, Form, Kind, Sel, Writes, isa};
use std::fmt;

/// Limits that depend on the target.
#[derive(Clone)]
pub struct Limits {
    /// Maximum number of 8-byte slots.
    pub max_insns: usize,
    /// Highest ISA version accepted (clang's `-mcpu=vN`).
    pub max_version: u8,
    /// Which helper ids exist; `None` accepts any id.
    pub helper_known: Option<fn(u32) -> bool>,
    /// Number of leading slots that form the loader's prologue (the two
    /// instructions that set r1 and r10). They are exempt from the rule that
    /// forbids writing r10; every other rule still applies to them.
    pub prologue: usize,
}

impl fmt::Debug for Limits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limits")
            .field("max_insns", &self.max_insns)
            .field("max_version", &self.max_version)
            .field("helper_known", &self.helper_known.is_some())
            .field("prologue", &self.prologue)
            .finish()
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_insns: 1 << 16,
            max_version: 4,
            helper_known: None,
            prologue: 0,
        }
    }
}

/// What is wrong with one instruction (or the whole program).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    Empty,
    TooLong {
        len: usize,
        max: usize,
    },
    Decode(DecodeError),
    UnusedField {
        field: &'static str,
        value: i64,
    },
    BadRegister {
        field: &'static str,
        reg: u8,
    },
    WritesR10,
    LddwIncomplete,
    LddwBadSecondSlot,
    JumpOutOfRange {
        target: i64,
        len: usize,
    },
    JumpIntoLddw {
        target: usize,
    },
    UnknownHelper(u32),
    FallsOffEnd,
    Version {
        mnemonic: &'static str,
        version: u8,
        max: u8,
    },
}

impl From<DecodeError> for Problem {
    fn from(e: DecodeError) -> Self {
        Problem::Decode(e)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Empty => write!(f, "program has no instructions"),
            Problem::TooLong { len, max } => {
                write!(f, "program has {len} instructions, the limit is {max}")
            }
            Problem::Decode(e) => write!(f, "{e}"),
            Problem::UnusedField { field, value } => {
                write!(f, "unused field {field} is {value}, must be 0")
            }
            Problem::BadRegister { field, reg } => {
                write!(
                    f,
                    "invalid register r{reg} in {field} (registers are r0..r10)"
                )
            }
            Problem::WritesR10 => write!(f, "writes r10, the read-only frame pointer"),
            Problem::LddwIncomplete => write!(f, "lddw is missing its second slot"),
            Problem::LddwBadSecondSlot => {
                write!(
                    f,
                    "second slot of lddw must have opcode, registers and offset 0"
                )
            }
            Problem::JumpOutOfRange { target, len } => {
                write!(f, "jump target {target} is outside the program (0..{len})")
            }
            Problem::JumpIntoLddw { target } => {
                write!(f, "jump target {target} is the second slot of an lddw")
            }
            Problem::UnknownHelper(id) => write!(f, "call to unknown helper {id}"),
            Problem::FallsOffEnd => {
                write!(
                    f,
                    "execution can fall off the end of the program (last instruction is not exit or ja)"
                )
            }
            Problem::Version {
                mnemonic,
                version,
                max,
            } => {
                write!(
                    f,
                    "{mnemonic} needs ISA v{version}, the target accepts up to v{max}"
                )
            }
        }
    }
}

/// A validation failure, naming the instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    pub pc: Option<usize>,
    pub insn: Option<Insn>,
    pub problem: Problem,
}

impl ValidationError {
    pub fn at(pc: usize, insn: Insn, problem: Problem) -> Self {
        ValidationError {
            pc: Some(pc),
            insn: Some(insn),
            problem,
        }
    }
    fn whole(problem: Problem) -> Self {
        ValidationError {
            pc: None,
            insn: None,
            problem,
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.pc, self.insn) {
            (Some(pc), Some(i)) => write!(
                f,
                "invalid instruction at pc {pc} ({:016x}): {}",
                u64::from_be_bytes(i.to_bytes()),
                self.problem
            ),
            _ => write!(f, "invalid program: {}", self.problem),
        }
    }
}

impl std::error::Error for ValidationError {}

/// Check a program against the ISA table and the limits.
pub fn validate(insns: &[Insn], limits: &Limits) -> Result<(), ValidationError> {
    if insns.is_empty() {
        return Err(ValidationError::whole(Problem::Empty));
    }
    if insns.len() > limits.max_insns {
        return Err(ValidationError::whole(Problem::TooLong {
            len: insns.len(),
            max: limits.max_insns,
        }));
    }
    let t = isa();
    let len = insns.len();
    // Slots that are the second half of an lddw: not valid jump targets.
    let mut second = vec![false; len];
    let mut pc = 0;
    let mut last_falls_through = true;
    while pc < len {
        let i = insns[pc];
        let err = |p: Problem| Err(ValidationError::at(pc, i, p));
        let def = match t.decode(&i) {
            Ok(d) => d,
            Err(e) => return err(e.into()),
        };
        if def.version > limits.max_version {
            return err(Problem::Version {
                mnemonic: def.mnemonic,
                version: def.version,
                max: limits.max_version,
            });
        }
        let used = def.form.operands();
        let (sel_off, sel_imm, sel_src) = match def.sel {
            Sel::Off(_) => (true, false, false),
            Sel::Imm(_) => (false, true, false),
            Sel::Src(_) => (false, false, true),
            Sel::None => (false, false, false),
        };
        if !used.dst && i.dst != 0 {
            return err(Problem::UnusedField {
                field: "dst",
                value: i.dst as i64,
            });
        }
        if !used.src && !sel_src && i.src != 0 {
            return err(Problem::UnusedField {
                field: "src",
                value: i.src as i64,
            });
        }
        if !used.off && !sel_off && i.off != 0 {
            return err(Problem::UnusedField {
                field: "offset",
                value: i.off as i64,
            });
        }
        if !used.imm && !sel_imm && i.imm != 0 {
            return err(Problem::UnusedField {
                field: "imm",
                value: i.imm as i64,
            });
        }
        if used.dst && i.dst > 10 {
            return err(Problem::BadRegister {
                field: "dst",
                reg: i.dst,
            });
        }
        if used.src && i.src > 10 {
            return err(Problem::BadRegister {
                field: "src",
                reg: i.src,
            });
        }
        match def.writes() {
            _ if pc < limits.prologue => {}
            Writes::Dst if i.dst == 10 => return err(Problem::WritesR10),
            Writes::Src if i.src == 10 => return err(Problem::WritesR10),
            _ => {}
        }
        if def.form == Form::Lddw {
            let Some(hi) = insns.get(pc + 1) else {
                return err(Problem::LddwIncomplete);
            };
            if !hi.is_second_slot() {
                return err(Problem::LddwBadSecondSlot);
            }
            second[pc + 1] = true;
        }
        if let Kind::Call = def.kind
            && let Some(known) = limits.helper_known
            && !known(i.imm as u32)
        {
            return err(Problem::UnknownHelper(i.imm as u32));
        }
        last_falls_through = def.falls_through();
        pc += def.slots();
    }
    if last_falls_through {
        let last = insns.len() - 1;
        return Err(ValidationError::at(last, insns[last], Problem::FallsOffEnd));
    }
    // Branch targets, now that every lddw second slot is known.
    let mut pc = 0;
    while pc < len {
        let i = insns[pc];
        let def = t
            .decode(&i)
            .map_err(|e| ValidationError::at(pc, i, e.into()))?;
        if let Some(rel) = branch_offset(def.kind, &i) {
            let target = pc as i64 + 1 + rel;
            if target < 0 || target >= len as i64 {
                return Err(ValidationError::at(
                    pc,
                    i,
                    Problem::JumpOutOfRange { target, len },
                ));
            }
            if second[target as usize] {
                return Err(ValidationError::at(
                    pc,
                    i,
                    Problem::JumpIntoLddw {
                        target: target as usize,
                    },
                ));
            }
        }
        pc += def.slots();
    }
    Ok(())
}

/// The pc-relative displacement of a branch, call or jump (None otherwise).
pub fn branch_offset(kind: Kind, i: &Insn) -> Option<i64> {
    match kind {
        Kind::Jmp { .. } | Kind::Ja => Some(i.off as i64),
        Kind::Ja32 | Kind::CallLocal => Some(i.imm as i64),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build as b;
    use crate::isa::{AluOp, Cond};

    fn v(insns: &[Insn]) -> Result<(), String> {
        validate(insns, &Limits::default()).map_err(|e| e.to_string())
    }

    #[test]
    fn rejects_with_named_causes() {
        assert_eq!(
            v(&[]).unwrap_err(),
            "invalid program: program has no instructions"
        );
        assert!(
            v(&[
                Insn {
                    src: 1,
                    ..b::alu_imm(AluOp::Add, false, 0, 1)
                },
                b::exit()
            ])
            .unwrap_err()
            .contains("unused field src is 1")
        );
        assert!(
            v(&[b::mov64_imm(10, 1), b::exit()])
                .unwrap_err()
                .contains("writes r10")
        );
        assert!(
            v(&[b::mov64_reg(0, 11), b::exit()])
                .unwrap_err()
                .contains("invalid register r11")
        );
        assert!(
            v(&[b::ja(5), b::exit()])
                .unwrap_err()
                .contains("outside the program")
        );
        assert!(
            v(&[b::mov64_imm(0, 0)])
                .unwrap_err()
                .contains("fall off the end")
        );
        assert!(
            v(&[b::lddw(0, 0)[0]])
                .unwrap_err()
                .contains("missing its second slot")
        );
        assert!(
            v(&[b::ja(1), b::lddw(0, 0)[0], b::lddw(0, 0)[1], b::exit()])
                .unwrap_err()
                .contains("second slot of an lddw")
        );
        assert!(
            v(&[
                Insn {
                    off: 3,
                    ..b::alu_reg(AluOp::Div, true, 0, 1)
                },
                b::exit()
            ])
            .unwrap_err()
            .contains("offset = 3")
        );
        assert!(v(&[b::mov64_imm(0, 1), b::exit()]).is_ok());
    }

    #[test]
    fn conditional_jump_at_end_falls_off() {
        assert!(
            v(&[b::exit(), b::jmp_imm(Cond::Eq, true, 0, 0, -2)])
                .unwrap_err()
                .contains("fall off")
        );
    }

    #[test]
    fn prologue_may_write_r10_and_nothing_after_it() {
        let set_r1 = b::mov64_imm(1, 0x1000_0000);
        let set_r10 = b::mov64_imm(10, 0x3000_1000);
        let prog = [set_r1, set_r10, b::mov64_imm(0, 0), b::exit()];
        let l = Limits {
            prologue: 2,
            ..Limits::default()
        };
        assert!(validate(&prog, &l).is_ok());
        // Without the exemption the same program is rejected at pc 1.
        let e = validate(&prog, &Limits::default()).unwrap_err();
        assert_eq!((e.pc, e.problem), (Some(1), Problem::WritesR10));
        // A write to r10 just past the prologue is still rejected.
        let late = [set_r1, set_r10, set_r10, b::exit()];
        let e = validate(&late, &l).unwrap_err();
        assert_eq!((e.pc, e.problem), (Some(2), Problem::WritesR10));
    }

    #[test]
    fn version_and_helper_limits() {
        let l = Limits {
            max_version: 3,
            helper_known: Some(|id| id == 1),
            ..Limits::default()
        };
        let sdiv = b::alu_imm(AluOp::Sdiv, true, 0, 3);
        assert!(
            validate(&[sdiv, b::exit()], &l)
                .unwrap_err()
                .to_string()
                .contains("needs ISA v4")
        );
        let call = b::call(7);
        assert!(
            validate(&[call, b::exit()], &l)
                .unwrap_err()
                .to_string()
                .contains("unknown helper 7")
        );
    }
}
