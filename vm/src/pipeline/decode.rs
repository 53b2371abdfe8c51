//! Pipeline pre-decode: what the ID stage's hazard logic and the EX/MEM
//! timing need per instruction, derived from the ISA table only (register use
//! from `OpDef::reads`/`writes`, timing from `OpDef::unit` and the latencies
//! in [`crate::contract`]). No opcode fact is restated here.

use crate::contract;
use crate::isa::{Kind, OpDef, Unit, Writes};
use crate::program::{Decoded, Program};

/// Register index meaning "writes no register".
pub const NO_REG: u8 = 0xff;

/// Where an instruction's register result becomes available for forwarding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultStage {
    /// End of EX (ALU, multiplier, divider, lddw).
    Ex,
    /// End of MEM (loads, atomic fetches, helper r0): a consumer right behind
    /// it waits one cycle (load-use).
    Mem,
}

/// Stage in which a unit's result is ready (a timing attribute of the unit).
pub const fn result_stage(unit: Unit) -> ResultStage {
    match unit {
        Unit::Load | Unit::Atomic | Unit::Call => ResultStage::Mem,
        Unit::Alu
        | Unit::Mul
        | Unit::Div
        | Unit::Lddw
        | Unit::Store
        | Unit::Branch
        | Unit::Exit => ResultStage::Ex,
    }
}

/// Whether `next`, right behind `first` in the pipeline, waits a clock in ID
/// for `first`'s result (the hazard unit's load-use bubble,
/// [`contract::LOAD_USE_PENALTY`]): `first` gives its register in MEM (a
/// load, an atomic fetch, a call's r0) and `next` reads that register. An
/// instruction that does not decode has no hazard.
pub fn load_use(first: &crate::Insn, next: &crate::Insn) -> bool {
    let isa = crate::isa::isa();
    let (Ok(a), Ok(b)) = (isa.decode(first), isa.decode(next)) else {
        return false;
    };
    let (_, wreg) = reg_use(a, first.dst, first.src);
    let (reads, _) = reg_use(b, next.dst, next.src);
    wreg != NO_REG && result_stage(a.unit) == ResultStage::Mem && reads & (1 << wreg) != 0
}

/// The registers an instruction of row `def` with fields `dst` and `src`
/// reads (bit i = ri) and the one it writes ([`NO_REG`] for none), from
/// the ISA table's `reads`/`writes`: what the hazard logic compares.
pub fn reg_use(def: &OpDef, dst: u8, src: u8) -> (u16, u8) {
    let r = def.reads();
    let reads =
        r.fixed | if r.dst { 1 << (dst & 15) } else { 0 } | if r.src { 1 << (src & 15) } else { 0 };
    let wreg = match def.writes() {
        Writes::None => NO_REG,
        Writes::Dst => dst & 15,
        Writes::Src => src & 15,
        Writes::R0 => 0,
    };
    (reads, wreg)
}

/// Cycles an instruction occupies EX (1 except on the multiplier and divider).
pub const fn ex_cycles(unit: Unit, wide: bool) -> u64 {
    match unit {
        Unit::Mul => contract::MUL_CYCLES,
        Unit::Div if wide => contract::DIV64_CYCLES,
        Unit::Div => contract::DIV32_CYCLES,
        _ => 1,
    }
}

/// What EX/MEM and MEM/WB carry of an instruction's decode (small, so the
/// pipeline registers stay cheap to move).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lite {
    pub kind: Kind,
    pub wreg: u8,
    pub mem_result: bool,
    pub uses_mem: bool,
    pub slots: u8,
}

/// Per-slot decode for the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PipeDecoded {
    pub d: Decoded,
    pub unit: Unit,
    /// Registers read (bit i = ri), for the load-use interlock.
    pub reads: u16,
    /// Register written, or [`NO_REG`].
    pub wreg: u8,
    /// The result is made in MEM.
    pub mem_result: bool,
    pub ex_cycles: u32,
    /// Slots (2 for lddw).
    pub slots: u8,
    /// Does something in MEM (data memory or the helper unit).
    pub uses_mem: bool,
}

impl PipeDecoded {
    /// Decode of one program slot (the second slot of `lddw` decodes as a
    /// bubble-only placeholder that is never issued).
    pub fn of(d: &Decoded) -> Self {
        let Some(def) = d.def() else {
            return PipeDecoded {
                d: *d,
                unit: Unit::Alu,
                reads: 0,
                wreg: NO_REG,
                mem_result: false,
                ex_cycles: 1,
                slots: 1,
                uses_mem: false,
            };
        };
        let (reads, wreg) = reg_use(def, d.dst, d.src);
        let wide = match def.kind {
            Kind::Alu { wide, .. } => wide,
            _ => true,
        };
        PipeDecoded {
            d: *d,
            unit: def.unit,
            reads,
            wreg,
            mem_result: wreg != NO_REG && matches!(result_stage(def.unit), ResultStage::Mem),
            ex_cycles: ex_cycles(def.unit, wide) as u32,
            slots: def.slots() as u8,
            uses_mem: def.width().is_some() || matches!(def.kind, Kind::Call | Kind::Callx),
        }
    }

    pub const fn lite(&self) -> Lite {
        Lite {
            kind: self.d.kind,
            wreg: self.wreg,
            mem_result: self.mem_result,
            uses_mem: self.uses_mem,
            slots: self.slots,
        }
    }

    /// The pre-decode of every slot of `prog`.
    pub fn table(prog: &Program) -> Vec<PipeDecoded> {
        prog.decoded().iter().map(PipeDecoded::of).collect()
    }
}
