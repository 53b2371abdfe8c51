//! Views of a run: the retire and cycle traces as text, a pipeline diagram,
//! a VCD waveform and the statistics report.

use super::record::{CycleRecord, STAGE_NAMES, Stall};
use crate::Insn;
use crate::disasm::disasm_one;
use std::collections::BTreeMap;
use std::io::{self, Write};
use vcd::{TimescaleUnit, Value, VarType};

/// The cycle trace as text: a header line and one line per record.
pub fn cycle_text(recs: &[CycleRecord]) -> String {
    let mut s = String::from(CycleRecord::HEADER);
    s.push('\n');
    for r in recs {
        s.push_str(&r.to_line());
        s.push('\n');
    }
    s
}

const LETTERS: [char; 5] = ['F', 'D', 'X', 'M', 'W'];

/// One-letter code of a stall cause for the diagram's bottom row.
pub const fn stall_code(s: Stall) -> char {
    match s {
        Stall::None => '.',
        Stall::FifoWait => 'f',
        Stall::Atomic => 'a',
        Stall::Helper => 'h',
        Stall::Mul => 'm',
        Stall::Div => 'd',
        Stall::LoadUse => 'l',
        Stall::Drain => 'r',
        Stall::Idle => 'i',
    }
}

/// Pipeline diagram: one row per fetched instruction (in fetch order), one
/// column per cycle. `F D X M W` mark the first cycle in IF, ID, EX, MEM, WB;
/// the lowercase letter marks a further cycle in the same stage (a stall);
/// `*` marks the cycle after an instruction was discarded (flush) before
/// reaching WB. The last rows give the stall cause per cycle (`.` none,
/// `l` load-use, `m` mul, `d` div, `a` atomic, `h`
/// helper, `f` FIFO_MD word not valid, `r` drain, `i` idle), the flushes
/// (`^`) and the forward selects of EX's two operands (`e` EX/MEM, `w`
/// MEM/WB, `r` register file). `insns` are the program's slots, for labels.
pub fn diagram(recs: &[CycleRecord], insns: &[Insn]) -> String {
    if recs.is_empty() {
        return String::new();
    }
    let c0 = recs[0].cycle;
    let ncol = recs.len();
    // (packet start index, seq) -> row; packets restart seq at 0, so split
    // rows at idle gaps by keying on the start of each run of busy cycles.
    let mut rows: Vec<(u32, Vec<char>)> = Vec::new();
    let mut index: BTreeMap<(usize, u32), usize> = BTreeMap::new();
    let mut epoch = 0usize;
    let mut last: BTreeMap<usize, (usize, usize)> = BTreeMap::new(); // row -> (col, stage)
    for (col, r) in recs.iter().enumerate() {
        if r.stall == Stall::Idle {
            epoch = col + 1;
            continue;
        }
        for (st, slot) in r.stage.iter().enumerate() {
            if !slot.valid {
                continue;
            }
            let key = (epoch, slot.seq);
            let row = *index.entry(key).or_insert_with(|| {
                rows.push((slot.pc, vec![' '; ncol]));
                rows.len() - 1
            });
            let again = last
                .get(&row)
                .is_some_and(|&(c, s)| s == st && c + 1 == col);
            rows[row].1[col] = if again {
                LETTERS[st].to_ascii_lowercase()
            } else {
                LETTERS[st]
            };
            last.insert(row, (col, st));
        }
    }
    for (row, &(col, st)) in &last {
        if st != 4 && col + 1 < ncol {
            rows[*row].1[col + 1] = '*';
        }
    }
    let label = |pc: u32| {
        let pc = pc as usize;
        let text = if pc < insns.len() {
            disasm_one(&insns[pc..])
        } else {
            String::from("?")
        };
        format!("{pc:4}: {text}")
    };
    let width = rows
        .iter()
        .map(|(pc, _)| label(*pc).len())
        .max()
        .unwrap_or(8)
        .max(8);
    let mut s = String::new();
    // Cycle ruler: last digit of each cycle number, tens on a line above.
    let tens: String = (0..ncol)
        .map(|i| char::from(b'0' + (((c0 + i as u64) / 10) % 10) as u8))
        .collect();
    let ones: String = (0..ncol)
        .map(|i| char::from(b'0' + ((c0 + i as u64) % 10) as u8))
        .collect();
    s.push_str(&format!(
        "{:width$}  {tens}\n{:width$}  {ones}\n",
        "cycle", ""
    ));
    for (pc, cells) in &rows {
        let line: String = cells.iter().collect();
        s.push_str(&format!("{:width$}  {}\n", label(*pc), line.trim_end()));
    }
    let stalls: String = recs.iter().map(|r| stall_code(r.stall)).collect();
    let flush: String = recs
        .iter()
        .map(|r| if r.flush { '^' } else { ' ' })
        .collect();
    let fwd = |k: usize| -> String {
        recs.iter()
            .map(|r| match r.fwd[k] {
                super::Fwd::None => ' ',
                super::Fwd::Reg => 'r',
                super::Fwd::ExMem => 'e',
                super::Fwd::MemWb => 'w',
            })
            .collect()
    };
    s.push_str(&format!("{:width$}  {stalls}\n", "stall"));
    s.push_str(&format!("{:width$}  {}\n", "flush", flush.trim_end()));
    s.push_str(&format!("{:width$}  {}\n", "fwd a", fwd(0).trim_end()));
    s.push_str(&format!("{:width$}  {}\n", "fwd b", fwd(1).trim_end()));
    s
}

/// Nanoseconds per engine clock ([`crate::contract::CLOCK_HZ`]): 5 at 200 MHz.
pub const VCD_NS_PER_CYCLE: u64 = 1_000_000_000 / crate::contract::CLOCK_HZ;

/// Write cycle records as a VCD waveform: per stage a valid bit and a
/// 32-bit pc, the stall cause (as a string and as its 4-bit code), flush,
/// the two forward selects (2 bits each) and the active bank.
///
/// The timescale is `1 ns` (VCD allows only 1, 10 or 100 of a unit) and
/// cycle `c` is at time `c * VCD_NS_PER_CYCLE`; a `$comment` states the
/// clock period.
pub fn write_vcd<W: Write>(out: W, recs: &[CycleRecord]) -> io::Result<()> {
    let mut w = vcd::Writer::new(out);
    w.comment(&format!(
        "engine clock {} MHz: one cycle is {VCD_NS_PER_CYCLE} ns; cycle c is at time c * {VCD_NS_PER_CYCLE}",
        crate::contract::CLOCK_HZ / 1_000_000
    ))?;
    w.timescale(1, TimescaleUnit::NS)?;
    w.add_module("engine")?;
    let mut valid = Vec::new();
    let mut pc = Vec::new();
    for name in STAGE_NAMES {
        let n = name.to_ascii_lowercase();
        valid.push(w.add_wire(1, &format!("{n}_valid"))?);
        pc.push(w.add_wire(32, &format!("{n}_pc"))?);
    }
    let stall = w.add_wire(4, "stall")?;
    let stall_s = w.add_var(VarType::String, 1, "stall_cause", None)?;
    let flush = w.add_wire(1, "flush")?;
    let fa = w.add_wire(2, "fwd_a")?;
    let fb = w.add_wire(2, "fwd_b")?;
    let bank = w.add_wire(1, "bank")?;
    w.upscope()?;
    w.enddefinitions()?;
    let bits = |v: u64, n: u32| -> Vec<Value> {
        (0..n)
            .rev()
            .map(|i| {
                if v >> i & 1 == 1 {
                    Value::V1
                } else {
                    Value::V0
                }
            })
            .collect()
    };
    let fcode = |f: super::Fwd| match f {
        super::Fwd::None => 0,
        super::Fwd::Reg => 1,
        super::Fwd::ExMem => 2,
        super::Fwd::MemWb => 3,
    };
    let mut prev: Option<CycleRecord> = None;
    for r in recs {
        w.timestamp(r.cycle * VCD_NS_PER_CYCLE)?;
        for k in 0..5 {
            let s = r.stage[k];
            if prev.is_none_or(|p| p.stage[k].valid != s.valid) {
                w.change_scalar(valid[k], s.valid)?;
            }
            if prev.is_none_or(|p| p.stage[k].pc != s.pc) {
                w.change_vector(pc[k], bits(s.pc as u64, 32))?;
            }
        }
        if prev.is_none_or(|p| p.stall != r.stall) {
            w.change_vector(stall, bits(r.stall.index() as u64, 4))?;
            w.change_string(stall_s, r.stall.name())?;
        }
        if prev.is_none_or(|p| p.flush != r.flush) {
            w.change_scalar(flush, r.flush)?;
        }
        if prev.is_none_or(|p| p.fwd != r.fwd) {
            w.change_vector(fa, bits(fcode(r.fwd[0]), 2))?;
            w.change_vector(fb, bits(fcode(r.fwd[1]), 2))?;
        }
        if prev.is_none_or(|p| p.bank != r.bank) {
            w.change_scalar(bank, r.bank == 1)?;
        }
        prev = Some(*r);
    }
    if let Some(p) = prev {
        w.timestamp((p.cycle + 1) * VCD_NS_PER_CYCLE)?;
    }
    w.flush()
}
