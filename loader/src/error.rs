//! Load errors. Every error names where it comes from: the file, the section
//! and offset, the map, or the section, function and instruction.

use crate::verify::VerifyError;
use nfbpf_vm::abi::Abi;
use nfbpf_vm::validate::ValidationError;
use std::fmt;
use std::path::PathBuf;

/// Where an instruction came from in the object, and where it landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsnLoc {
    /// Section of the object (`xdp`, `xdp/firewall`, `.text`).
    pub section: String,
    /// Function (ELF symbol) the instruction belongs to.
    pub function: String,
    /// Instruction slot index within the section (byte offset / 8).
    pub insn: usize,
    /// Slot in the image (prologue included), once laid out.
    pub pc: Option<usize>,
}

impl fmt::Display for InsnLoc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "section {}, function {}, instruction {} (offset {:#x})",
            self.section,
            self.function,
            self.insn,
            self.insn * 8
        )?;
        if let Some(pc) = self.pc {
            write!(f, ", image pc {pc}")?;
        }
        Ok(())
    }
}

/// Why an object could not be turned into an [`crate::Image`].
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot run {clang} (install clang-19: `apt-get install clang-19`): {source}")]
    ClangMissing {
        clang: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no built-in program `{name}` (built in: {known})")]
    UnknownBuiltin { name: String, known: String },
    #[error("clang failed to compile {path} ({status}):\n{stderr}")]
    Compile {
        path: PathBuf,
        status: String,
        stderr: String,
    },
    /// The bytes are not a well-formed ELF file.
    #[error("not a valid ELF object: {0}")]
    Elf(String),
    /// A well-formed ELF file, but not a relocatable little-endian eBPF object.
    #[error("not an eBPF object: {0}")]
    NotBpf(String),
    /// A section is truncated, misaligned or otherwise unusable.
    #[error("section {section}: {msg}")]
    Section { section: String, msg: String },
    /// A relocation (or the symbol it names) is unusable.
    #[error("relocation in section {section} at offset {offset:#x}: {msg}")]
    Reloc {
        section: String,
        offset: u64,
        msg: String,
    },
    /// The `.BTF` section is malformed or describes a map we cannot use.
    #[error("section .BTF, offset {offset:#x}: {msg}")]
    Btf { offset: usize, msg: String },
    /// No program (or no unique program) to load.
    #[error("{0}")]
    NoProgram(String),
    /// A map definition the hardware cannot hold.
    #[error("map {map} (section {section}): {msg}")]
    Map {
        map: String,
        section: String,
        msg: String,
    },
    /// `--map-size` ([`crate::Options::map_sizes`]) names a map the object
    /// does not define.
    #[error("--map-size {name}: the object has no map {name} (its maps: {maps})")]
    NoMap { name: String, maps: String },
    #[error("the program uses {count} maps, the map table holds at most {max}")]
    TooManyMaps { count: usize, max: usize },
    #[error(
        "program needs {slots} instruction slots ({prologue} of them the prologue), \
         the instruction memory holds {max} slots per bank"
    )]
    TooLarge {
        slots: usize,
        prologue: usize,
        max: usize,
    },
    #[error(
        "{at}: helper {id} ({name}) is not supported by the {abi} ABI{why} (supported: {supported})"
    )]
    Helper {
        at: Box<InsnLoc>,
        id: u32,
        name: &'static str,
        abi: Abi,
        /// ": <reason>" when the ABI leaves the helper out on purpose.
        why: String,
        supported: String,
    },
    /// An instruction the loader cannot place (bad jump, bad call, ...).
    #[error("{at}: {msg}")]
    Insn { at: Box<InsnLoc>, msg: String },
    /// The program may not finish: an unbounded loop, recursion, calls too
    /// deep, stack beyond the device's, or a jump out of its function (see
    /// [`crate::verify`]). The message names the section, function and pc.
    #[error("{0}")]
    Verify(Box<VerifyError>),
    /// The laid-out program fails the vm validator.
    #[error("{at}: {}", error.problem)]
    Invalid {
        at: Box<InsnLoc>,
        #[source]
        error: ValidationError,
    },
}

pub(crate) fn section_err(section: &str, msg: impl Into<String>) -> LoadError {
    LoadError::Section {
        section: section.to_string(),
        msg: msg.into(),
    }
}

pub(crate) fn reloc_err(section: &str, offset: u64, msg: impl Into<String>) -> LoadError {
    LoadError::Reloc {
        section: section.to_string(),
        offset,
        msg: msg.into(),
    }
}
