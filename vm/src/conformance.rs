//! The conformance suite's `.data` test format and its runner, shared by every
//! executor (interpreter, pipeline, RTL).
//!
//! A test passes when the program validates and returns the expected r0, or
//! when an `-- error` is expected and the validator rejects the program or it
//! faults. Everything else fails with a cause: a file without a program, an
//! unknown section, assembly that does not assemble (the suite's malformed
//! files), `-- asm` and `-- raw` that disagree, no expectation at all, a wrong
//! r0, or success where an error was expected.

use crate::Insn;
use crate::asm::assemble;
use crate::helpers::{HELPER_UNWIND, Helpers};
use crate::insn::from_image;
use crate::interp::{self, Config};
use crate::program::Program;
use crate::trace::NoTrace;
use crate::validate::Limits;
use std::fmt;
use std::path::{Path, PathBuf};

/// One parsed `.data` file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TestCase {
    pub asm: Option<String>,
    pub raw: Option<Vec<u8>>,
    pub mem: Vec<u8>,
    pub result: Option<u64>,
    /// Expected error text (may be empty).
    pub error: Option<String>,
}

/// Why a file cannot be a test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    UnknownSection {
        line: usize,
        name: String,
    },
    BadHex {
        section: &'static str,
        line: usize,
        text: String,
    },
    BadResult {
        line: usize,
        text: String,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::UnknownSection { line, name } => {
                write!(f, "line {line}: unknown section `-- {name}`")
            }
            ParseError::BadHex {
                section,
                line,
                text,
            } => write!(f, "line {line}: invalid hex byte `{text}` in -- {section}"),
            ParseError::BadResult { line, text } => {
                write!(f, "line {line}: invalid -- result `{text}` (expected hex)")
            }
        }
    }
}

impl std::error::Error for ParseError {}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    None,
    Asm,
    Raw,
    Mem,
    Result,
    Error,
    Ignored,
}

fn hex_bytes(
    section: &'static str,
    line: usize,
    text: &str,
    out: &mut Vec<u8>,
) -> Result<(), ParseError> {
    for tok in text.split_whitespace() {
        // `-- raw` is written either as bytes (`95 00 ...`) or as 64-bit
        // little-endian words (`0x0000000000000095`).
        if let Some(word) = tok.strip_prefix("0x").filter(|w| w.len() > 2) {
            let w = u64::from_str_radix(word, 16).map_err(|_| ParseError::BadHex {
                section,
                line,
                text: tok.to_string(),
            })?;
            out.extend_from_slice(&w.to_le_bytes());
            continue;
        }
        let b = (tok.len() == 2)
            .then(|| u8::from_str_radix(tok, 16).ok())
            .flatten()
            .ok_or_else(|| ParseError::BadHex {
                section,
                line,
                text: tok.to_string(),
            })?;
        out.push(b);
    }
    Ok(())
}

/// Parse the text of a `.data` file.
pub fn parse(text: &str) -> Result<TestCase, ParseError> {
    let mut tc = TestCase::default();
    let mut sec = Section::None;
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        if let Some(name) = line.strip_prefix("--") {
            let name = name.trim();
            sec = match name {
                "asm" => Section::Asm,
                "raw" => Section::Raw,
                "mem" => Section::Mem,
                "result" => Section::Result,
                "error" => Section::Error,
                "c" | "no register offset" => Section::Ignored,
                _ => {
                    return Err(ParseError::UnknownSection {
                        line: line_no,
                        name: name.to_string(),
                    });
                }
            };
            match sec {
                Section::Asm => {
                    tc.asm.get_or_insert_with(String::new);
                }
                Section::Raw => {
                    tc.raw.get_or_insert_with(Vec::new);
                }
                Section::Error => {
                    tc.error.get_or_insert_with(String::new);
                }
                _ => {}
            }
            continue;
        }
        let t = line.trim();
        if sec != Section::Asm && (t.is_empty() || t.starts_with('#')) {
            continue;
        }
        match sec {
            Section::Asm => {
                if let Some(a) = tc.asm.as_mut() {
                    a.push_str(line);
                    a.push('\n');
                }
            }
            Section::Raw => {
                if let Some(r) = tc.raw.as_mut() {
                    hex_bytes("raw", line_no, t, r)?;
                }
            }
            Section::Mem => hex_bytes("mem", line_no, t, &mut tc.mem)?,
            Section::Result => {
                let h = t.trim_start_matches("0x").trim_start_matches("0X");
                let v = u64::from_str_radix(h, 16).map_err(|_| ParseError::BadResult {
                    line: line_no,
                    text: t.to_string(),
                })?;
                tc.result = Some(v);
            }
            Section::Error => {
                if let Some(e) = tc.error.as_mut() {
                    if !e.is_empty() {
                        e.push(' ');
                    }
                    e.push_str(t);
                }
            }
            Section::None | Section::Ignored => {}
        }
    }
    Ok(tc)
}

/// Something that runs a validated program over a conformance memory buffer
/// (r1 = its address, r2 = its length; helper 5 = unwind) and returns r0 or
/// an error message.
pub trait Executor {
    fn name(&self) -> &'static str;
    fn execute(&mut self, prog: &Program, mem: &[u8]) -> Result<u64, String>;
}

/// The reference interpreter as an executor.
#[derive(Debug, Default)]
pub struct InterpExecutor {
    pub config: Config,
}

impl Executor for InterpExecutor {
    fn name(&self) -> &'static str {
        "interp"
    }

    fn execute(&mut self, prog: &Program, mem: &[u8]) -> Result<u64, String> {
        let (mut m, args) = interp::conformance_memory(mem);
        let mut h = Helpers::conformance();
        interp::run(prog, &mut m, &mut h, args, &self.config, &mut NoTrace)
            .map(|o| o.r0)
            .map_err(|f| f.to_string())
    }
}

/// Validation limits for conformance programs: ISA v4, helper 5 only.
pub fn limits() -> Limits {
    Limits {
        helper_known: Some(|id| id == HELPER_UNWIND),
        ..Limits::default()
    }
}

/// The outcome of one test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail(String),
}

/// The program of a test: from `-- raw` when present (checked against
/// `-- asm` when both are), else assembled from `-- asm`.
pub fn program_of(tc: &TestCase) -> Result<Vec<Insn>, String> {
    let from_asm = tc
        .asm
        .as_deref()
        .map(|a| assemble(a).map_err(|e| format!("assembly failed: {e}")));
    match (&tc.raw, from_asm) {
        (Some(raw), asm) => {
            let insns = from_image(raw).map_err(|e| format!("bad -- raw section: {e}"))?;
            if let Some(a) = asm {
                let a = a?;
                if a != insns {
                    return Err("-- asm and -- raw sections disagree".to_string());
                }
            }
            Ok(insns)
        }
        (None, Some(a)) => a,
        (None, None) => Err("no program (no -- asm or -- raw section)".to_string()),
    }
}

/// Judge one parsed test on an executor.
pub fn judge(tc: &TestCase, exec: &mut dyn Executor) -> Verdict {
    let insns = match program_of(tc) {
        Ok(i) => i,
        Err(e) => return Verdict::Fail(e),
    };
    if tc.result.is_none() && tc.error.is_none() {
        return Verdict::Fail("no expected result or error (no -- result or -- error)".into());
    }
    if insns.is_empty() {
        return Verdict::Fail("the program is empty".into());
    }
    let prog = match Program::with_limits(insns, &limits()) {
        Ok(p) => p,
        Err(e) => {
            return match &tc.error {
                Some(_) => Verdict::Pass,
                None => Verdict::Fail(format!("rejected by the validator: {e}")),
            };
        }
    };
    match (exec.execute(&prog, &tc.mem), &tc.error, tc.result) {
        (Err(_), Some(_), _) => Verdict::Pass,
        (Err(e), None, _) => Verdict::Fail(e),
        (Ok(r0), Some(err), _) => Verdict::Fail(format!(
            "expected error `{err}`, but the program returned {r0:#x}"
        )),
        (Ok(r0), None, Some(want)) if r0 == want => Verdict::Pass,
        (Ok(r0), None, want) => Verdict::Fail(format!(
            "r0 = {r0:#x}, expected {:#x}",
            want.unwrap_or_default()
        )),
    }
}

/// Read, parse and judge one file.
pub fn run_file(path: &Path, exec: &mut dyn Executor) -> Verdict {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return Verdict::Fail(format!("cannot read: {e}")),
    };
    match parse(&text) {
        Ok(tc) => judge(&tc, exec),
        Err(e) => Verdict::Fail(e.to_string()),
    }
}

/// Expand files and directories into the sorted list of `.data` files.
pub fn collect(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(p)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "data"))
                .collect();
            v.sort();
            out.extend(v);
        } else if p.exists() {
            out.push(p.clone());
        } else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{}: no such file or directory", p.display()),
            ));
        }
    }
    Ok(out)
}

/// The environment variable naming the suite's root: the directory that
/// holds `tests/` (and `negative/`).
pub const SUITE_ENV: &str = "NFBPF_CONFORMANCE";
/// The commit of the public bpf_conformance suite the project is measured
/// against (2026-03-31); `make conformance` checks it out.
pub const SUITE_COMMIT: &str = "f558566280d8e76c95a502cfd8014264d8668130";
/// Where `make conformance` puts its copy, relative to the repository.
pub const SUITE_PINNED_DIR: &str = "target/bpf_conformance";

/// A part of the suite: a directory of `.data` files under its root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// `tests/`: programs with their expected result.
    Tests,
    /// `negative/`: cases built to fail (unused fields that are not zero,
    /// malformed test files).
    Negative,
}

impl Part {
    pub const fn dir(self) -> &'static str {
        match self {
            Part::Tests => "tests",
            Part::Negative => "negative",
        }
    }
}

/// The suite (or the part of it asked for) is nowhere to be found: where it
/// was looked for, and how to get it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuiteMissing {
    pub part: Part,
    /// The directories looked at, each with how it was chosen.
    pub looked: Vec<(String, PathBuf)>,
}

impl fmt::Display for SuiteMissing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let part = self.part.dir();
        write!(
            f,
            "conformance vectors not found: no {part}/ with .data files in "
        )?;
        for (i, (how, dir)) in self.looked.iter().enumerate() {
            if i > 0 {
                write!(f, " nor ")?;
            }
            write!(f, "{} ({how})", dir.display())?;
        }
        write!(
            f,
            ". The vectors are the public bpf_conformance suite by Alan Jowett \
             (Alan-Jowett/bpf_conformance on GitHub; tests/ and negative/), pinned at \
             commit {} of 2026-03-31. Get it with `make conformance` (a clone into \
             {SUITE_PINNED_DIR}), or set {SUITE_ENV} to the root of a copy (the \
             directory that holds tests/ and negative/).",
            &SUITE_COMMIT[..7]
        )
    }
}

impl std::error::Error for SuiteMissing {}

/// The repository this crate was built from (the workspace root).
fn repository() -> PathBuf {
    let vm = Path::new(env!("CARGO_MANIFEST_DIR"));
    vm.parent().unwrap_or(vm).to_path_buf()
}

/// The directory of `part` of the conformance suite: under `$NFBPF_CONFORMANCE`
/// if set (and then only there), else under `../shared/conformance` beside the
/// repository, else under the copy `make conformance` fetches into
/// `target/bpf_conformance`. The one place that knows where the suite is; the
/// error says where it looked and how to get the suite.
pub fn suite_dir(part: Part) -> Result<PathBuf, SuiteMissing> {
    suite_dir_from(std::env::var_os(SUITE_ENV), &repository(), part)
}

/// [`suite_dir`] with the environment variable's value and the repository
/// given.
pub fn suite_dir_from(
    env: Option<std::ffi::OsString>,
    repo: &Path,
    part: Part,
) -> Result<PathBuf, SuiteMissing> {
    let roots: Vec<(String, PathBuf)> = match env.filter(|v| !v.is_empty()) {
        Some(root) => vec![(format!("${SUITE_ENV}"), PathBuf::from(root))],
        None => vec![
            (
                "beside the repository".to_string(),
                repo.join("../shared/conformance"),
            ),
            (
                "`make conformance`".to_string(),
                repo.join(SUITE_PINNED_DIR),
            ),
        ],
    };
    let has_data = |d: &Path| collect(&[d.to_path_buf()]).is_ok_and(|v| !v.is_empty());
    let looked: Vec<(String, PathBuf)> = roots
        .into_iter()
        .map(|(how, root)| (how, root.join(part.dir())))
        .collect();
    match looked.iter().find(|(_, d)| has_data(d)) {
        Some((_, d)) => Ok(d.clone()),
        None => Err(SuiteMissing { part, looked }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suite_lookup_names_where_it_looked_and_how_to_get_the_suite() {
        let tmpdir = tempfile::tempdir().unwrap();
        let tmp = tmpdir.path();
        let empty = tmp.join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        // $NFBPF_CONFORMANCE is the only place looked at when set.
        let e = suite_dir_from(
            Some(empty.clone().into()),
            Path::new("/nonexistent"),
            Part::Tests,
        )
        .unwrap_err();
        assert_eq!(
            e.looked,
            vec![("$NFBPF_CONFORMANCE".to_string(), empty.join("tests"))]
        );
        let m = e.to_string();
        for want in [
            "conformance vectors not found: no tests/",
            "bpf_conformance suite by Alan Jowett",
            "commit f558566",
            "make conformance",
            "NFBPF_CONFORMANCE",
        ] {
            assert!(m.contains(want), "`{want}` in {m}");
        }
        // Unset: beside the repository, then the pinned copy.
        let repo = tmp.join("repo");
        let e = suite_dir_from(None, &repo, Part::Negative).unwrap_err();
        assert_eq!(e.looked.len(), 2);
        assert_eq!(e.looked[1].1, repo.join("target/bpf_conformance/negative"));
        assert!(e.to_string().contains("no negative/"), "{e}");
        // The pinned copy with one vector is found; a directory without
        // .data files is not a suite.
        let pinned = repo.join("target/bpf_conformance/tests");
        std::fs::create_dir_all(&pinned).unwrap();
        assert!(suite_dir_from(None, &repo, Part::Tests).is_err());
        std::fs::write(pinned.join("a.data"), "-- asm\nexit\n-- result\n0x0\n").unwrap();
        assert_eq!(suite_dir_from(None, &repo, Part::Tests).unwrap(), pinned);
        tmpdir.close().unwrap();
    }

    fn verdict(text: &str) -> Verdict {
        match parse(text) {
            Ok(tc) => judge(&tc, &mut InterpExecutor::default()),
            Err(e) => Verdict::Fail(e.to_string()),
        }
    }

    #[test]
    fn result_and_mem() {
        let t = "-- asm\nldxb %r0, [%r1+1]\nexit\n-- mem\n01 02\n-- result\n0x2\n";
        assert_eq!(verdict(t), Verdict::Pass);
        let t = "-- asm\nmov %r0, r2\nexit\n-- result\n0x2\n";
        assert!(matches!(verdict(t), Verdict::Fail(m) if m.contains("assembly failed")));
    }

    #[test]
    fn failure_causes() {
        let no_prog = verdict("# nothing\n-- result\n0x0\n");
        assert!(matches!(no_prog, Verdict::Fail(m) if m.contains("no program")));
        let unknown = verdict("-- asm\nexit\n-- Unknown directive\n");
        assert!(matches!(unknown, Verdict::Fail(m) if m.contains("unknown section")));
        let wrong = verdict("-- asm\nmov %r0, 1\nexit\n-- result\n0x2\n");
        assert!(matches!(wrong, Verdict::Fail(m) if m.contains("r0 = 0x1, expected 0x2")));
        let succ = verdict("-- asm\nmov %r0, 1\nexit\n-- error\nboom\n");
        assert!(matches!(succ, Verdict::Fail(m) if m.contains("expected error")));
        let none = verdict("-- asm\nmov %r0, 1\nexit\n");
        assert!(matches!(none, Verdict::Fail(m) if m.contains("no expected")));
    }

    #[test]
    fn errors_pass_on_reject_or_fault() {
        // Nonzero unused field: rejected by the validator.
        let t = "-- raw\n07 00 01 00 01 00 00 00\n95 00 00 00 00 00 00 00\n-- error\n";
        assert_eq!(verdict(t), Verdict::Pass);
        // The same as 64-bit words.
        let t = "-- raw\n0x0000000100010007\n0x0000000000000095\n-- error\n";
        assert_eq!(verdict(t), Verdict::Pass);
        // Out-of-bounds load: a fault.
        let t = "-- asm\nldxdw %r0, [%r1+100]\nexit\n-- mem\n00\n-- error\nout of bounds\n";
        assert_eq!(verdict(t), Verdict::Pass);
    }
}
