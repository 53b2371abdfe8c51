//! Compiling C network functions with clang (`-target bpf`). Separate from
//! parsing: [`crate::load`] never runs a process.

use crate::builtin;
use crate::error::LoadError;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// ISA version clang emits (`-mcpu=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Cpu {
    /// v3: 32-bit jumps, atomics; what clang 14 emits at most.
    #[default]
    V3,
    /// v4: adds sdiv/smod, movsx, ldsx, bswap, gotol.
    V4,
}

impl Cpu {
    pub const fn flag(self) -> &'static str {
        match self {
            Cpu::V3 => "-mcpu=v3",
            Cpu::V4 => "-mcpu=v4",
        }
    }
}

/// The clang used when [`CLANG_ENV`] is not set.
pub const DEFAULT_CLANG: &str = "clang-19";
/// The environment variable naming the clang to use.
pub const CLANG_ENV: &str = "NFBPF_CLANG";

/// The clang to use: `$NFBPF_CLANG`, else `clang-19`.
pub fn default_clang() -> PathBuf {
    std::env::var_os(CLANG_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CLANG))
}

/// The command line used for `src` -> `out`:
/// `clang -O2 -g -target bpf -mcpu=vN -I/usr/include/x86_64-linux-gnu [-I dir]... -c src -o out`.
pub fn clang_command(
    clang: &Path,
    src: &Path,
    out: &Path,
    cpu: Cpu,
    include: &[PathBuf],
) -> Command {
    let mut c = Command::new(clang);
    c.args(clang_args(src, out, cpu, include));
    c
}

/// The arguments of [`clang_command`] (after the program), for callers
/// that run clang their own way (the agent runs it in a sandbox).
pub fn clang_args(src: &Path, out: &Path, cpu: Cpu, include: &[PathBuf]) -> Vec<OsString> {
    args(src, out, cpu, include, &[])
}

/// [`clang_args`] with `last` searched after every other include directory.
fn args(src: &Path, out: &Path, cpu: Cpu, include: &[PathBuf], last: &[PathBuf]) -> Vec<OsString> {
    let mut a: Vec<OsString> = ["-O2", "-g", "-target", "bpf", cpu.flag()]
        .into_iter()
        .map(OsString::from)
        .collect();
    a.push("-I/usr/include/x86_64-linux-gnu".into());
    for d in include {
        a.push("-I".into());
        a.push(d.into());
    }
    // The source's own directory and its `include/`, as a build next to the
    // file would see them (`programs/include/nf_common.h`).
    if let Some(dir) = src.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        a.push("-I".into());
        a.push(dir.into());
        a.push("-I".into());
        a.push(dir.join("include").into());
    }
    for d in last {
        a.push("-I".into());
        a.push(d.into());
    }
    a.push("-c".into());
    a.push(src.into());
    a.push("-o".into());
    a.push(out.into());
    a
}

/// Compile `src` to the object `out`. `src` is a `.c` file or a built-in
/// program (`builtin:NAME`, [`builtin`]); the built-in headers (`sume.h`,
/// `nf_common.h`, `lambda.h`) are on the include path after every other
/// directory.
/// clang's stderr is in the error.
pub fn compile(
    clang: &Path,
    src: &Path,
    out: &Path,
    cpu: Cpu,
    include: &[PathBuf],
) -> Result<(), LoadError> {
    let io = |source| LoadError::Io {
        path: src.to_path_buf(),
        source,
    };
    let tmp = tempfile::Builder::new()
        .prefix("nfbpf-cc-")
        .tempdir()
        .map_err(io)?;
    let headers = tmp.path().join("builtin-include");
    builtin::write_headers(&headers).map_err(io)?;
    let file = match builtin::name_of(src) {
        Some(name) => {
            let f = tmp.path().join(format!("{name}.c"));
            std::fs::write(&f, builtin::source(name)?).map_err(io)?;
            f
        }
        None => src.to_path_buf(),
    };
    let output = Command::new(clang)
        .args(args(&file, out, cpu, include, &[headers]))
        .output()
        .map_err(|source| LoadError::ClangMissing {
            clang: clang.to_path_buf(),
            source,
        })?;
    if !output.status.success() {
        return Err(LoadError::Compile {
            path: src.to_path_buf(),
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    Ok(())
}

/// [`compile`] into a temporary directory (removed afterwards): the object's
/// bytes.
pub fn compile_to_bytes(
    clang: &Path,
    src: &Path,
    cpu: Cpu,
    include: &[PathBuf],
) -> Result<Vec<u8>, LoadError> {
    let io = |source| LoadError::Io {
        path: src.to_path_buf(),
        source,
    };
    let tmp = tempfile::Builder::new()
        .prefix("nfbpf-obj-")
        .tempdir()
        .map_err(io)?;
    let out = tmp.path().join("prog.o");
    compile(clang, src, &out, cpu, include)?;
    std::fs::read(&out).map_err(io)
}

/// Is `path` C to compile: a `.c` file or a built-in program
/// (`builtin:NAME`)?
pub fn is_c_source(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "c") || builtin::name_of(path).is_some()
}

/// Is `clang` runnable?
pub fn clang_available(clang: &Path) -> bool {
    Command::new(clang)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}
