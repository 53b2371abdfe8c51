//! The exit codes of `nfbpf`, one table for every subcommand (printed by
//! `nfbpf --help`, documented in docs/cli.md).
//!
//! An error carries its code as a [`Coded`] somewhere in its chain; an
//! error without one is classified by what it is made of (a missing file is
//! [`Code::NotFound`], another I/O failure or an unreachable device or agent
//! is [`Code::Io`]; the device's transport codes its own failures, and an
//! agent client's error is coded by its kind, see `client_code`), and
//! anything else is [`Code::Refused`].

use nfbpf_agent::bench::BenchError;
use nfbpf_agent::client::ClientError;
use std::fmt;
use std::process::ExitCode;

/// Why `nfbpf` exited, when not with 0 (success).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Code {
    /// The command ran and its answer is no: a conformance test failed, a
    /// program faulted, the agent answered with an error.
    No = 1,
    /// Usage: arguments that do not go together or cannot be parsed.
    Usage = 2,
    /// Not found: a file, a map, a map entry, a function.
    NotFound = 3,
    /// I/O: a file could not be read or written, the device or the agent
    /// could not be reached.
    Io = 4,
    /// Refused: the input is invalid or does not match the device (an
    /// object the loader rejects, a rules error, a program other than the
    /// one loaded, a register write the device refuses).
    Refused = 5,
}

/// The table, as `--help` prints it.
pub const TABLE: &str = "\
Exit codes:
  0  success
  1  the answer is no (a test failed, a program faulted, the agent refused)
  2  usage (bad or conflicting arguments)
  3  not found (a file, map, map entry or function)
  4  I/O (a file, the device or the agent could not be read, written or reached)
  5  refused (invalid input, or input that does not match the device)";

impl Code {
    pub fn exit(self) -> ExitCode {
        ExitCode::from(self as u8)
    }
}

/// An error with its exit code.
#[derive(Debug)]
pub struct Coded {
    pub code: Code,
    pub msg: String,
}

impl fmt::Display for Coded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for Coded {}

/// An error with code `code`.
pub fn err(code: Code, msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Coded {
        code,
        msg: msg.into(),
    })
}

/// A loader error about `path` as a coded error `PATH: WHY`: a file that
/// cannot be read is [`Code::NotFound`] or [`Code::Io`], anything the
/// loader refuses [`Code::Refused`].
pub fn load_err(path: &std::path::Path, e: nfbpf_loader::LoadError) -> anyhow::Error {
    let code = match &e {
        nfbpf_loader::LoadError::Io { source, .. } => io_code(source.kind()),
        _ => Code::Refused,
    };
    err(code, format!("{}: {e}", path.display()))
}

/// The code of an error: the first [`Coded`] in its chain, else what its
/// causes are made of, else [`Code::Refused`].
pub fn classify(e: &anyhow::Error) -> Code {
    for cause in e.chain() {
        if let Some(c) = cause.downcast_ref::<Coded>() {
            return c.code;
        }
        let client = cause
            .downcast_ref::<ClientError>()
            .or_else(|| cause.downcast_ref::<BenchError>()?.client());
        if let Some(code) = client.and_then(client_code) {
            return code;
        }
    }
    for cause in e.chain() {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return io_code(io.kind());
        }
        if let Some(nfbpf_loader::LoadError::Io { source, .. }) =
            cause.downcast_ref::<nfbpf_loader::LoadError>()
        {
            return io_code(source.kind());
        }
        if cause.downcast_ref::<clap::Error>().is_some() {
            return Code::Usage;
        }
    }
    Code::Refused
}

/// The code of an agent client's error: an agent that cannot be reached
/// is [`Code::Io`], an error answer [`Code::NotFound`] (404) or
/// [`Code::No`]; else none (the error's causes say).
fn client_code(e: &ClientError) -> Option<Code> {
    if e.is_unreachable() {
        return Some(Code::Io);
    }
    e.status()
        .map(|s| if s == 404 { Code::NotFound } else { Code::No })
}

fn io_code(kind: std::io::ErrorKind) -> Code {
    match kind {
        std::io::ErrorKind::NotFound => Code::NotFound,
        _ => Code::Io,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn codes_from_the_chain() {
        let nf = std::fs::read("/nonexistent/nfbpf-exit-test")
            .context("reading")
            .unwrap_err();
        assert_eq!(classify(&nf), Code::NotFound);
        let e = err(Code::Usage, "x").context("outer");
        assert_eq!(classify(&e), Code::Usage);
        assert_eq!(classify(&anyhow::anyhow!("plain")), Code::Refused);
        let load: anyhow::Error = nfbpf_loader::load_file(
            std::path::Path::new("/nonexistent/x.o"),
            &Default::default(),
        )
        .unwrap_err()
        .into();
        assert_eq!(classify(&load), Code::NotFound);
    }

    #[test]
    fn the_table_lists_every_code() {
        assert!(TABLE.contains("\n  0  success"));
        for c in [
            Code::No,
            Code::Usage,
            Code::NotFound,
            Code::Io,
            Code::Refused,
        ] {
            assert!(
                TABLE.contains(&format!("\n  {}  ", c as u8)),
                "{c:?} missing"
            );
        }
    }
}
