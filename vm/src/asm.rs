//! Assembler for the conformance suite's syntax, driven by the ISA table.
//!
//! A line is a label (`name:`), an instruction, or both; `#` starts a comment.
//! The mnemonic selects the table rows; the operand [`Form`] of each row says
//! which operands it takes and which instruction fields they fill, so this
//! file holds no opcode knowledge of its own. Syntax:
//!
//! ```text
//! mov %r0, 1            add32 %r1, %r2        neg %r3       be16 %r0
//! lddw %r0, 0x123456789abcdef0
//! ldxw %r1, [%r1+4]     stxdw [%r10-8], %r0   stb [%r1], 5
//! lock fetch add [%r10-8], %r1                lock cmpxchg32 [%r10-8], %r2
//! jeq %r1, 5, label     jne %r1, %r2, +3      ja exit       ja32 -2
//! call 5                call local func       call %r2      exit
//! .quad 0x0000000000000095   (a raw 64-bit instruction word)
//! ```
//!
//! Jump targets are labels or signed relative offsets (`+N`/`-N`, in
//! instruction slots after the next one), the form the disassembler prints.
//! The first `exit` defines the label `exit` unless a label of that name
//! exists. Immediates are decimal (-2^31..2^31-1) or hex (up to 0xffffffff,
//! taken as the 32-bit pattern); `lddw` takes any 64-bit value; offsets are
//! signed 16-bit. Aliases: `swapN` for `bswapN`, `callx %rN` for `call %rN`,
//! `ldxsb/sh/sw` for `ldxbsx/hsx/wsx`.
//!
//! Every error names the line, the text and the cause.

use crate::Insn;
use crate::isa::{Form, OpDef, isa};
use std::collections::HashMap;
use std::fmt;

/// What is wrong with a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AsmErrorKind {
    InvalidMnemonic(String),
    InvalidRegister(String),
    /// `expected` operands for `mnemonic`, `found` given.
    OperandCount {
        mnemonic: String,
        expected: usize,
        found: usize,
    },
    /// The operand at `index` (from 1) is not what the instruction takes.
    InvalidOperand {
        index: usize,
        expected: &'static str,
        found: String,
    },
    InvalidNumber(String),
    ImmediateRange(String),
    OffsetRange(String),
    UnknownLabel(String),
    DuplicateLabel(String),
    InvalidLabel(String),
    /// A label's distance does not fit the instruction's offset field.
    JumpRange {
        label: String,
        distance: i64,
    },
}

impl fmt::Display for AsmErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use AsmErrorKind::*;
        match self {
            InvalidMnemonic(m) => write!(f, "invalid mnemonic `{m}`"),
            InvalidRegister(r) => write!(f, "invalid register `{r}` (registers are %r0..%r10)"),
            OperandCount {
                mnemonic,
                expected,
                found,
            } => write!(
                f,
                "invalid operand count: `{mnemonic}` takes {expected}, found {found}"
            ),
            InvalidOperand {
                index,
                expected,
                found,
            } => write!(f, "operand {index} `{found}`: expected {expected}"),
            InvalidNumber(s) => write!(f, "invalid number `{s}`"),
            ImmediateRange(s) => write!(f, "immediate `{s}` out of 32-bit range"),
            OffsetRange(s) => write!(f, "offset `{s}` out of 16-bit range"),
            UnknownLabel(l) => write!(f, "invalid label `{l}`: not defined"),
            DuplicateLabel(l) => write!(f, "label `{l}` defined twice"),
            InvalidLabel(l) => write!(f, "invalid label name `{l}`"),
            JumpRange { label, distance } => {
                write!(f, "jump to `{label}` ({distance:+} slots) out of range")
            }
        }
    }
}

/// An assembly error at a source line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsmError {
    /// Line number, from 1.
    pub line: usize,
    /// The line's text, without comment.
    pub text: String,
    pub kind: AsmErrorKind,
}

impl fmt::Display for AsmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {} in `{}`", self.line, self.kind, self.text)
    }
}

impl std::error::Error for AsmError {}

/// A parsed operand.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Operand {
    Reg(u8),
    Mem(u8, i16),
    /// A number, with its text for messages.
    Num(i128, String),
    /// A label (relative targets `+N`/`-N` are numbers).
    Label(String),
}

impl Operand {
    fn describe(&self) -> String {
        match self {
            Operand::Reg(r) => format!("%r{r}"),
            Operand::Mem(r, o) => format!("[%r{r}{o:+}]"),
            Operand::Num(_, s) => s.clone(),
            Operand::Label(l) => l.clone(),
        }
    }
}

/// One instruction awaiting label resolution.
struct Pending {
    line: usize,
    text: String,
    def: &'static OpDef,
    /// Raw `.quad` word instead of a row.
    raw: Option<u64>,
    ops: Vec<Operand>,
    pc: usize,
}

/// Assemble source text into instruction slots.
///
/// ```
/// use nfbpf_vm::asm::assemble;
/// let slots = assemble("mov %r0, 7\nlddw %r1, 0x100000002\nexit\n").unwrap();
/// // lddw takes two slots.
/// assert_eq!(slots.len(), 4);
/// assert_eq!(slots[0].opc, 0xb7); // mov64 dst, imm
/// assert_eq!(slots[0].imm, 7);
/// assert_eq!(slots[3].opc, 0x95); // exit
/// // An error names the line and what is wrong with it.
/// let e = assemble("mov %r0, 1\nfrob %r1\n").unwrap_err();
/// assert!(e.to_string().contains("line 2"), "{e}");
/// ```
pub fn assemble(src: &str) -> Result<Vec<Insn>, AsmError> {
    let mut labels: HashMap<String, usize> = HashMap::new();
    let mut pending: Vec<Pending> = Vec::new();
    let mut pc = 0usize;
    let mut first_exit: Option<usize> = None;

    for (n, raw_line) in src.lines().enumerate() {
        let line = n + 1;
        let text = raw_line.split('#').next().unwrap_or("").trim();
        if text.is_empty() {
            continue;
        }
        let err = |kind| AsmError {
            line,
            text: text.to_string(),
            kind,
        };
        let mut body = text;
        // Labels: `name:` at the start of the line (possibly followed by an
        // instruction).
        if let Some((head, rest)) = split_label(body) {
            if !valid_label(head) {
                return Err(err(AsmErrorKind::InvalidLabel(head.to_string())));
            }
            if labels.insert(head.to_string(), pc).is_some() {
                return Err(err(AsmErrorKind::DuplicateLabel(head.to_string())));
            }
            body = rest.trim();
            if body.is_empty() {
                continue;
            }
        }
        let (mnemonic, operands) = split_mnemonic(body);
        let ops = parse_operands(operands).map_err(err)?;
        if mnemonic == ".quad" {
            let word = match ops.as_slice() {
                [Operand::Num(v, s)] => u64::try_from(*v)
                    .or_else(|_| i64::try_from(*v).map(|x| x as u64))
                    .map_err(|_| err(AsmErrorKind::ImmediateRange(s.clone())))?,
                _ => {
                    return Err(err(AsmErrorKind::OperandCount {
                        mnemonic: ".quad".into(),
                        expected: 1,
                        found: ops.len(),
                    }));
                }
            };
            pending.push(Pending {
                line,
                text: text.to_string(),
                def: isa().row(0),
                raw: Some(word),
                ops,
                pc,
            });
            pc += 1;
            continue;
        }
        let def = select_row(&mnemonic, &ops).map_err(err)?;
        if matches!(def.form, Form::Exit) && first_exit.is_none() {
            first_exit = Some(pc);
        }
        pending.push(Pending {
            line,
            text: text.to_string(),
            def,
            raw: None,
            ops,
            pc,
        });
        pc += def.slots();
    }
    if let Some(e) = first_exit {
        labels.entry("exit".to_string()).or_insert(e);
    }

    let mut out = Vec::with_capacity(pc);
    for p in &pending {
        let err = |kind| AsmError {
            line: p.line,
            text: p.text.clone(),
            kind,
        };
        if let Some(w) = p.raw {
            out.push(Insn::from_u64(w));
            continue;
        }
        encode(p, &labels, &mut out).map_err(err)?;
    }
    Ok(out)
}

/// `label: rest` -> (label, rest). A `:` inside an operand never occurs in
/// this syntax, so the first `:` before any space-separated operand decides.
fn split_label(s: &str) -> Option<(&str, &str)> {
    let colon = s.find(':')?;
    let head = s[..colon].trim();
    if head.contains(char::is_whitespace) {
        return None;
    }
    Some((head, &s[colon + 1..]))
}

fn valid_label(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == '.')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// Split `lock fetch add32 [%r1+0], %r2` into ("lock fetch add32", operands):
/// the mnemonic is the run of leading words before the first operand-looking
/// token; `call local` is one mnemonic.
fn split_mnemonic(s: &str) -> (String, &str) {
    let mut words = Vec::new();
    let mut rest = s;
    loop {
        let t = rest.trim_start();
        let end = t.find(char::is_whitespace).unwrap_or(t.len());
        let word = &t[..end];
        if word.is_empty() {
            rest = t;
            break;
        }
        let is_word = words.is_empty()
            || (matches!(words.first().map(String::as_str), Some("lock"))
                && word.chars().all(|c| c.is_ascii_alphanumeric()))
            || (words.len() == 1 && words[0] == "call" && word == "local");
        if !is_word {
            rest = t;
            break;
        }
        words.push(word.to_string());
        rest = &t[end..];
    }
    (words.join(" "), rest)
}

fn parse_operands(s: &str) -> Result<Vec<Operand>, AsmErrorKind> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(Vec::new());
    }
    s.split(',').map(|o| parse_operand(o.trim())).collect()
}

fn parse_reg(s: &str) -> Result<u8, AsmErrorKind> {
    let bad = || AsmErrorKind::InvalidRegister(s.to_string());
    let n = s.strip_prefix("%r").ok_or_else(bad)?;
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) || (n.len() > 1 && n.starts_with('0'))
    {
        return Err(bad());
    }
    match n.parse::<u8>() {
        Ok(r) if r <= 10 => Ok(r),
        _ => Err(bad()),
    }
}

/// A number: optional sign, decimal or `0x` hex.
fn parse_num(s: &str) -> Result<i128, AsmErrorKind> {
    let bad = || AsmErrorKind::InvalidNumber(s.to_string());
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() || body.len() > 40 {
        return Err(bad());
    }
    let v = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        if h.is_empty() {
            return Err(bad());
        }
        i128::from_str_radix(h, 16).map_err(|_| bad())?
    } else {
        if !body.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        body.parse::<i128>().map_err(|_| bad())?
    };
    Ok(if neg { -v } else { v })
}

fn parse_operand(s: &str) -> Result<Operand, AsmErrorKind> {
    if s.is_empty() {
        return Err(AsmErrorKind::InvalidNumber(String::new()));
    }
    if let Some(inner) = s.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or_else(|| AsmErrorKind::InvalidOperand {
                index: 0,
                expected: "memory operand `[%rN+off]`",
                found: s.to_string(),
            })?;
        let inner = inner.trim();
        let split = inner[1..].find(['+', '-']).map(|i| i + 1);
        let (reg, off) = match split {
            Some(i) => (inner[..i].trim(), Some(inner[i..].trim())),
            None => (inner, None),
        };
        let r = parse_reg(reg)?;
        let o = match off {
            None => 0,
            Some(t) => {
                let sign_free = t[1..].trim();
                let text = format!("{}{}", &t[..1], sign_free);
                let v = parse_num(&text)?;
                i16::try_from(v).map_err(|_| AsmErrorKind::OffsetRange(text))?
            }
        };
        return Ok(Operand::Mem(r, o));
    }
    if s.starts_with('%') {
        return Ok(Operand::Reg(parse_reg(s)?));
    }
    let first = s.as_bytes()[0];
    if first.is_ascii_digit() || first == b'-' || first == b'+' {
        // Signed text may be a relative target or an immediate: the form decides.
        return Ok(Operand::Num(parse_num(s)?, s.to_string()));
    }
    if valid_label(s) {
        return Ok(Operand::Label(s.to_string()));
    }
    Err(AsmErrorKind::InvalidNumber(s.to_string()))
}

fn alias(m: &str) -> &str {
    match m {
        "swap16" => "bswap16",
        "swap32" => "bswap32",
        "swap64" => "bswap64",
        "ldxsb" => "ldxbsx",
        "ldxsh" => "ldxhsx",
        "ldxsw" => "ldxwsx",
        other => other,
    }
}

/// The operand kinds a form takes, for counting and messages.
fn form_operands(form: Form) -> &'static [&'static str] {
    const REG: &str = "a register `%rN`";
    const IMM: &str = "an immediate";
    const MEM: &str = "a memory operand `[%rN+off]`";
    const TGT: &str = "a jump target (label or +N/-N)";
    const REG_OR_IMM: &str = "a register or an immediate";
    match form {
        Form::AluReg | Form::AluImm => &[REG, REG_OR_IMM],
        Form::Unary | Form::Callx => &[REG],
        Form::Lddw => &[REG, IMM],
        Form::Load => &[REG, MEM],
        Form::StoreImm | Form::StoreReg => &[MEM, REG_OR_IMM],
        Form::LdAbs | Form::Call => &[IMM],
        Form::LdInd => &[REG, IMM],
        Form::JmpReg | Form::JmpImm => &[REG, REG_OR_IMM, TGT],
        Form::Ja | Form::Ja32 | Form::CallLocal => &[TGT],
        Form::Exit => &[],
    }
}

/// Does the operand list fit the form's kinds (count already checked)?
fn fits(form: Form, ops: &[Operand]) -> bool {
    use Operand::*;
    let is_tgt = |o: &Operand| matches!(o, Label(_) | Num(..));
    match (form, ops) {
        (Form::AluReg, [Reg(_), Reg(_)]) => true,
        (Form::AluImm, [Reg(_), Num(..)]) => true,
        (Form::Unary | Form::Callx, [Reg(_)]) => true,
        (Form::Lddw, [Reg(_), Num(..)]) => true,
        (Form::Load, [Reg(_), Mem(..)]) => true,
        (Form::StoreImm, [Mem(..), Num(..)]) => true,
        (Form::StoreReg, [Mem(..), Reg(_)]) => true,
        (Form::LdAbs | Form::Call, [Num(..)]) => true,
        (Form::LdInd, [Reg(_), Num(..)]) => true,
        (Form::JmpReg, [Reg(_), Reg(_), t]) => is_tgt(t),
        (Form::JmpImm, [Reg(_), Num(..), t]) => is_tgt(t),
        (Form::Ja | Form::Ja32 | Form::CallLocal, [t]) => is_tgt(t),
        (Form::Exit, []) => true,
        _ => false,
    }
}

/// Pick the table row for a mnemonic and its operands.
fn select_row(mnemonic: &str, ops: &[Operand]) -> Result<&'static OpDef, AsmErrorKind> {
    let mut m = alias(mnemonic);
    // `call %rN` is callx; `callx` is accepted too.
    if m == "call" && matches!(ops.first(), Some(Operand::Reg(_))) {
        m = "callx";
    }
    let rows: Vec<&'static OpDef> = isa().rows.iter().filter(|r| r.mnemonic == m).collect();
    if rows.is_empty() {
        if m == "lock" || m.starts_with("lock ") {
            // `lock` with no operation, or an operation this ISA lacks.
            return Err(AsmErrorKind::OperandCount {
                mnemonic: m.to_string(),
                expected: 2,
                found: ops.len(),
            });
        }
        return Err(AsmErrorKind::InvalidMnemonic(mnemonic.to_string()));
    }
    if let Some(r) = rows.iter().find(|r| fits(r.form, ops)) {
        return Ok(r);
    }
    let kinds = form_operands(rows[0].form);
    if kinds.len() != ops.len() {
        return Err(AsmErrorKind::OperandCount {
            mnemonic: m.to_string(),
            expected: kinds.len(),
            found: ops.len(),
        });
    }
    // Name the first operand that fits no row.
    for (i, o) in ops.iter().enumerate() {
        let ok = rows.iter().any(|r| {
            let mut probe: Vec<Operand> = rows_probe(r.form);
            if probe.len() != ops.len() {
                return false;
            }
            probe[i] = o.clone();
            fits(r.form, &probe)
        });
        if !ok {
            return Err(AsmErrorKind::InvalidOperand {
                index: i + 1,
                expected: kinds[i],
                found: o.describe(),
            });
        }
    }
    Err(AsmErrorKind::InvalidMnemonic(mnemonic.to_string()))
}

/// A sample operand list that fits `form`, for locating a bad operand.
fn rows_probe(form: Form) -> Vec<Operand> {
    let n = || Operand::Num(0, "0".into());
    let r = Operand::Reg(0);
    let mem = Operand::Mem(0, 0);
    match form {
        Form::AluReg => vec![r.clone(), r],
        Form::AluImm => vec![r, n()],
        Form::Unary | Form::Callx => vec![r],
        Form::Lddw | Form::LdInd => vec![r, n()],
        Form::Load => vec![r, mem],
        Form::StoreImm => vec![mem, n()],
        Form::StoreReg => vec![mem, r],
        Form::LdAbs | Form::Call | Form::Ja | Form::Ja32 | Form::CallLocal => vec![n()],
        Form::JmpReg => vec![r.clone(), r, n()],
        Form::JmpImm => vec![r, n(), n()],
        Form::Exit => vec![],
    }
}

fn imm32(v: i128, text: &str) -> Result<i32, AsmErrorKind> {
    let hex = text.trim_start_matches(['-', '+']).starts_with("0x");
    if hex && v >= 0 && v <= u32::MAX as i128 {
        return Ok(v as u32 as i32);
    }
    i32::try_from(v).map_err(|_| AsmErrorKind::ImmediateRange(text.to_string()))
}

fn imm64(v: i128, text: &str) -> Result<u64, AsmErrorKind> {
    if let Ok(u) = u64::try_from(v) {
        return Ok(u);
    }
    i64::try_from(v)
        .map(|x| x as u64)
        .map_err(|_| AsmErrorKind::ImmediateRange(text.to_string()))
}

/// Relative distance (in slots, from the next one) of a target.
fn distance(
    t: &Operand,
    pc: usize,
    labels: &HashMap<String, usize>,
) -> Result<(i64, String), AsmErrorKind> {
    match t {
        Operand::Label(l) => {
            let at = labels
                .get(l)
                .ok_or_else(|| AsmErrorKind::UnknownLabel(l.clone()))?;
            Ok((*at as i64 - pc as i64 - 1, l.clone()))
        }
        Operand::Num(v, s) => {
            let d = i64::try_from(*v).map_err(|_| AsmErrorKind::OffsetRange(s.clone()))?;
            Ok((d, s.clone()))
        }
        other => Err(AsmErrorKind::InvalidOperand {
            index: 0,
            expected: "a jump target",
            found: other.describe(),
        }),
    }
}

fn encode(
    p: &Pending,
    labels: &HashMap<String, usize>,
    out: &mut Vec<Insn>,
) -> Result<(), AsmErrorKind> {
    let def = p.def;
    let mut i = def.template();
    let off16 = |d: i64, label: String| {
        i16::try_from(d).map_err(|_| AsmErrorKind::JumpRange { label, distance: d })
    };
    let off32 = |d: i64, label: String| {
        i32::try_from(d).map_err(|_| AsmErrorKind::JumpRange { label, distance: d })
    };
    let mut hi = None;
    use Operand::*;
    match (def.form, p.ops.as_slice()) {
        (Form::AluReg, [Reg(d), Reg(s)]) => (i.dst, i.src) = (*d, *s),
        (Form::AluImm, [Reg(d), Num(v, t)]) => (i.dst, i.imm) = (*d, imm32(*v, t)?),
        (Form::Unary | Form::Callx, [Reg(d)]) => i.dst = *d,
        (Form::Lddw, [Reg(d), Num(v, t)]) => {
            let x = imm64(*v, t)?;
            i.dst = *d;
            i.imm = x as u32 as i32;
            hi = Some(Insn::second_slot((x >> 32) as u32 as i32));
        }
        (Form::Load, [Reg(d), Mem(s, o)]) => (i.dst, i.src, i.off) = (*d, *s, *o),
        (Form::StoreImm, [Mem(d, o), Num(v, t)]) => (i.dst, i.off, i.imm) = (*d, *o, imm32(*v, t)?),
        (Form::StoreReg, [Mem(d, o), Reg(s)]) => (i.dst, i.off, i.src) = (*d, *o, *s),
        (Form::LdAbs | Form::Call, [Num(v, t)]) => i.imm = imm32(*v, t)?,
        (Form::LdInd, [Reg(s), Num(v, t)]) => (i.src, i.imm) = (*s, imm32(*v, t)?),
        (Form::JmpReg, [Reg(d), Reg(s), t]) => {
            let (dist, l) = distance(t, p.pc, labels)?;
            (i.dst, i.src, i.off) = (*d, *s, off16(dist, l)?);
        }
        (Form::JmpImm, [Reg(d), Num(v, txt), t]) => {
            let (dist, l) = distance(t, p.pc, labels)?;
            (i.dst, i.imm, i.off) = (*d, imm32(*v, txt)?, off16(dist, l)?);
        }
        (Form::Ja, [t]) => {
            let (dist, l) = distance(t, p.pc, labels)?;
            i.off = off16(dist, l)?;
        }
        (Form::Ja32 | Form::CallLocal, [t]) => {
            let (dist, l) = distance(t, p.pc, labels)?;
            i.imm = off32(dist, l)?;
        }
        (Form::Exit, []) => {}
        _ => {
            return Err(AsmErrorKind::InvalidMnemonic(def.mnemonic.to_string()));
        }
    }
    out.push(i);
    if let Some(h) = hi {
        out.push(h);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disasm::disasm;

    fn one(s: &str) -> Insn {
        assemble(s).expect(s)[0]
    }

    #[test]
    fn forms() {
        assert_eq!(one("mov %r0, 1"), Insn::new(0xb7, 0, 0, 0, 1));
        assert_eq!(one("add32 %r1, %r2"), Insn::new(0x0c, 1, 2, 0, 0));
        assert_eq!(one("ldxw %r1, [%r1+4]"), Insn::new(0x61, 1, 1, 4, 0));
        assert_eq!(one("ldxb %r0, [%r1]"), Insn::new(0x71, 0, 1, 0, 0));
        assert_eq!(one("ldxb %r8, [%r0+0x1]"), Insn::new(0x71, 8, 0, 1, 0));
        assert_eq!(one("stxdw [%r10-8], %r0"), Insn::new(0x7b, 10, 0, -8, 0));
        assert_eq!(one("stw [%r10-4], -1"), Insn::new(0x62, 10, 0, -4, -1));
        assert_eq!(
            one("lock fetch add [%r10-8], %r1"),
            Insn::new(0xdb, 10, 1, -8, 1)
        );
        assert_eq!(
            one("lock cmpxchg32 [%r10-8], %r1"),
            Insn::new(0xc3, 10, 1, -8, 0xf1)
        );
        assert_eq!(one("call 5"), Insn::new(0x85, 0, 0, 0, 5));
        assert_eq!(one("call %r2"), Insn::new(0x8d, 2, 0, 0, 0));
        assert_eq!(one("swap16 %r0"), one("bswap16 %r0"));
        assert_eq!(one("mov32 %r0, 0xffffffff"), Insn::new(0xb4, 0, 0, 0, -1));
        assert_eq!(one("exit"), Insn::new(0x95, 0, 0, 0, 0));
        let l = assemble("lddw %r3, 0x123456789abcdef0").unwrap();
        assert_eq!(l[0], Insn::new(0x18, 3, 0, 0, 0x9abc_def0_u32 as i32));
        assert_eq!(l[1], Insn::new(0, 0, 0, 0, 0x1234_5678));
    }

    #[test]
    fn labels_and_targets() {
        let p = assemble(
            "mov %r0, 0\n\
             jeq %r1, 0, skip # comment\n\
             ja exit\n\
             skip:\n\
             call local f\n\
             exit\n\
             f: mov %r0, 7\n\
             exit\n",
        )
        .unwrap();
        assert_eq!(p[1].off, 1); // to `skip` (pc 3) from pc 1
        assert_eq!(p[2].off, 1); // to the first exit (pc 4) from pc 2
        assert_eq!(p[3].imm, 1); // to f (pc 5) from pc 3
        assert_eq!(one("ja -1").off, -1);
        assert_eq!(one("ja32 +3").imm, 3);
    }

    fn err(s: &str) -> String {
        assemble(s).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_cause() {
        assert!(err("or %r0, %r50").contains("invalid register `%r50`"));
        assert!(err("ja NOT_A_LABEL\nexit").contains("invalid label `NOT_A_LABEL`"));
        assert!(err("ldxq %r0, %r1").contains("invalid mnemonic `ldxq`"));
        assert!(err("lddw %r0").contains("invalid operand count"));
        assert!(err("lock or [%r10-8]").contains("invalid operand count"));
        assert!(err("lock\nexit").contains("invalid operand count"));
        assert!(err("ldxb %r0, %r1").contains("operand 2 `%r1`: expected a memory operand"));
        assert!(err("ldxb %r0, [%r1+0x10000]").contains("offset `+0x10000` out of 16-bit range"));
        assert!(err("mov32 %r0, 2147483648").contains("out of 32-bit range"));
        assert!(err("mov32 %r0, 0x100000000").contains("out of 32-bit range"));
        assert!(err("a:\na:\nexit").contains("defined twice"));
        assert!(err("mov %r0, 12z").contains("invalid number `12z`"));
        assert!(err("mov %r0, 1\nexit\nfoo bar").starts_with("line 3:"));
    }

    #[test]
    fn disasm_then_asm_is_identity_on_every_row() {
        for r in &isa().rows {
            let i = r.with_operands(3, 4, -7, -9);
            let mut prog = vec![i];
            if r.slots() == 2 {
                prog.push(Insn::second_slot(0x55));
            }
            let text: String = disasm(&prog).into_iter().map(|(_, t)| t + "\n").collect();
            assert_eq!(assemble(&text).expect(&text), prog, "{text}");
        }
    }
}
