//! nfbpf-loader: ELF objects from `clang -target bpf` to device [`Image`]s.
//!
//! Three steps, kept apart:
//! - [`compile`]: C source -> object (runs clang; only for `.c` inputs);
//! - [`load`]: object bytes -> [`Image`] (pure: no I/O, never panics);
//! - device writes (the `RegisterBus` sequence) consume an [`Image`].
//!
//! What [`load`] does:
//! - picks the program: the global function of an XDP section (libbpf's
//!   `xdp`, `xdp/*`, `xdp.*`, and older names starting with `xdp` such as
//!   `xdp1`, `xdp_prog`; XDP ABI), or, when there is none, the global
//!   function of `.text` (the existing SUME system's convention, SUME ABI);
//!   [`Options::program`] names it (a function or section name; any other
//!   code section, laid out with [`Options::abi`]). Sections of program
//!   types the device cannot run (`tc`, `classifier`, `socket*`,
//!   `kprobe*`, ...) are named with their type ([`section_kind`]);
//! - lays out the entry function behind a two-slot prologue and appends the
//!   static subprograms it calls, fixing each `call` (src = 1, relocation
//!   `R_BPF_64_32` or none) to the callee's new relative position;
//! - builds the map table: BTF-defined maps of `.maps` (read from `.BTF`,
//!   see [`btf`]), legacy `maps` (libbpf's five u32, iproute2's 28 or 36 bytes or
//!   eBPFlow's 32 bytes, told apart by the definition's size), then each
//!   global-data section (`.rodata*`, `.data*`, `.bss*`) as a one-entry
//!   ARRAY map with its initial bytes; [`Options::map_sizes`] gives
//!   `max_entries` to maps declared without it. Only the maps the program
//!   references stay in the image (renumbered, in object order); the others
//!   are named in [`Image::dropped_maps`], and their problems (an
//!   unsupported type, no `max_entries`) do not stop the load;
//! - resolves every `R_BPF_64_64` on `lddw`: a map reference loads the map's
//!   handle [`contract::map_handle`]`(i)`; a global-data reference loads the
//!   address of the referenced byte, `map_handle(i) + st_value + imm` (this
//!   is Linux's `BPF_PSEUDO_MAP_VALUE`, src = 2, resolved at load time: the
//!   image's `lddw` always has src = 0 and carries the final address);
//! - checks what the hardware cannot run: helpers outside the ABI's set
//!   (named from [`nfbpf_vm::helpers::linux_name`]), map types other than HASH, ARRAY,
//!   LPM_TRIE and DEVMAP, more than [`contract::MAX_MAPS`] maps, keys and
//!   values wider than [`contract::SW_MAX_KEY_BYTES`] /
//!   [`contract::SW_MAX_VALUE_BYTES`] (8 B each for the SUME ABI, which
//!   passes them by value; the device's narrower XDP limits,
//!   [`contract::MAX_KEY_BYTES`] / [`contract::MAX_VALUE_BYTES`], are
//!   checked when a program goes onto it, `device::check_maps`), programs over [`contract::IMEM_SLOTS`] slots, jumps
//!   leaving their function; then runs the vm validator with
//!   [`Image::limits`]. Every error names the section and instruction (or
//!   the section and byte offset, or the map);
//! - unless [`Options::verify`] is off, checks that the image can finish
//!   ([`verify`]): no jump out of its function or into an `lddw`, no
//!   recursion, at most [`contract::MAX_FRAMES`] frames, every frame inside
//!   the device's stack, and every loop bounded (a bounded abstract
//!   interpretation, in the spirit of the kernel verifier).
//!
//! The prologue is `mov64 r1, ctx` and `mov64 r10, STACK_TOP` (opcode 0xb7,
//! sign-extended imm32; all addresses of the contract are positive 32-bit
//! values). r1 is [`contract::CTX_BASE`] (`xdp_md`) for XDP and
//! [`contract::PKT_BASE`] (metadata header + frame) for SUME. The validator
//! accepts the r10 write because [`Image::limits`] sets `prologue`.
//!
//! [`contract::map_handle`]: nfbpf_vm::contract::map_handle
//! [`contract::MAX_MAPS`]: nfbpf_vm::contract::MAX_MAPS
//! [`contract::MAX_KEY_BYTES`]: nfbpf_vm::contract::MAX_KEY_BYTES
//! [`contract::MAX_VALUE_BYTES`]: nfbpf_vm::contract::MAX_VALUE_BYTES
//! [`contract::SW_MAX_KEY_BYTES`]: nfbpf_vm::contract::SW_MAX_KEY_BYTES
//! [`contract::SW_MAX_VALUE_BYTES`]: nfbpf_vm::contract::SW_MAX_VALUE_BYTES
//! [`contract::IMEM_SLOTS`]: nfbpf_vm::contract::IMEM_SLOTS
//! [`contract::CTX_BASE`]: nfbpf_vm::contract::CTX_BASE
//! [`contract::MAX_FRAMES`]: nfbpf_vm::contract::MAX_FRAMES
//! [`contract::PKT_BASE`]: nfbpf_vm::contract::PKT_BASE

pub mod bringup;
pub mod btf;
pub mod builtin;
pub mod bus;
pub mod compile;
pub mod device;
mod elf;
pub mod error;
pub mod image;
pub mod install;
pub mod kernel;
mod link;
pub mod maps;
pub mod optimize;
pub mod rules;
pub mod verify;

pub use compile::Cpu;
pub use error::{InsnLoc, LoadError};
pub use image::{Function, Image, Relocation, Target};
pub use link::{SectionKind, is_tc_section, is_xdp_section, prologue, section_kind};
pub use maps::{ImageMap, MapDef, MapOrigin, MapType};
/// The program ABI (the engine model's; one type across the crates).
pub use nfbpf_vm::abi::Abi;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How to load an object.
#[derive(Debug, Clone)]
pub struct Options {
    /// Program section to load (`xdp`, `xdp/firewall`, `.text`); default:
    /// the only program of the object.
    pub section: Option<String>,
    /// Entry function by name; default: the only global function of the
    /// program section.
    pub function: Option<String>,
    /// The program by name (`--program`): a function name, or the name of a
    /// code section with one global function. Takes precedence over
    /// `section` and `function`.
    pub program: Option<String>,
    /// ABI; default: XDP for `xdp*` sections, SUME for `.text`; required
    /// for other sections. Overrides the section's type for any section.
    pub abi: Option<Abi>,
    /// `max_entries` by map name (`--map-size NAME=N`): for maps declared
    /// without it, or to override it.
    pub map_sizes: BTreeMap<String, u32>,
    /// Highest ISA version accepted (4 = everything clang 19 emits).
    pub max_version: u8,
    /// For `.c` inputs: clang's `-mcpu`.
    pub cpu: Cpu,
    /// For `.c` inputs: the clang binary (default `$NFBPF_CLANG` or `clang-19`).
    pub clang: PathBuf,
    /// For `.c` inputs: extra include directories.
    pub include_dirs: Vec<PathBuf>,
    /// Refuse images that may not finish (unbounded loops, recursion, calls
    /// too deep, stack beyond the device's): see [`verify`]. Default on;
    /// off loads them anyway, and the device's per-packet instruction
    /// budget stops them when they run.
    pub verify: bool,
    /// Rewrite byte-by-byte loads and copies into wider accesses with the
    /// same results ([`optimize`]): fewer instructions per packet. Default
    /// off: the image is the code clang emitted.
    pub optimize: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            section: None,
            function: None,
            program: None,
            abi: None,
            map_sizes: BTreeMap::new(),
            max_version: 4,
            cpu: Cpu::default(),
            clang: compile::default_clang(),
            include_dirs: Vec::new(),
            verify: true,
            optimize: false,
        }
    }
}

/// Object bytes -> image. Pure: no files, no processes, no device.
pub fn load(bytes: &[u8], opts: &Options) -> Result<Image, LoadError> {
    let obj = elf::Object::parse(bytes)?;
    // BTF is read only when BTF-defined maps need it: a debug-info problem
    // must not stop an object whose maps are all legacy.
    let btf = match (obj.section_index(".maps"), obj.section_index(".BTF")) {
        (Some(_), Some(i)) => Some(btf::Btf::parse(obj.sections[i].data()?)?),
        _ => None,
    };
    let mut image = link::link(&obj, btf.as_ref(), opts)?;
    if opts.optimize {
        let (mut rewritten, report) = optimize::optimize(&image);
        rewritten.optimized = Some(report);
        image = rewritten;
    }
    if opts.verify {
        verify::verify(&image).map_err(LoadError::Verify)?;
    }
    Ok(image)
}

/// Load an object file, or a `.c` file or built-in program
/// (`builtin:NAME`) after compiling it with clang into a temporary
/// directory (removed afterwards).
pub fn load_file(path: &Path, opts: &Options) -> Result<Image, LoadError> {
    if compile::is_c_source(path) {
        let bytes = compile::compile_to_bytes(&opts.clang, path, opts.cpu, &opts.include_dirs)?;
        return load(&bytes, opts);
    }
    let bytes = std::fs::read(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    load(&bytes, opts)
}

/// The listing of an object (or `.c` file) as `nfbpf disasm FILE` prints it.
pub fn disasm_file(path: &Path, opts: &Options) -> Result<String, LoadError> {
    Ok(load_file(path, opts)?.listing())
}

/// Raw listing of every code section of an object, without linking or
/// validating: function headers, instructions, and each relocation's type
/// and symbol. For objects [`load`] rejects (the error names a section and
/// instruction; this shows it).
pub fn disasm_object(bytes: &[u8]) -> Result<String, LoadError> {
    let obj = elf::Object::parse(bytes)?;
    let mut s = String::new();
    for (shndx, sec) in obj.sections.iter().enumerate() {
        if !sec.is_exec() || sec.size == 0 {
            continue;
        }
        s.push_str(&format!("\nsection {}:\n", sec.name));
        let data = sec.data()?;
        let insns: Vec<nfbpf_vm::Insn> = data
            .chunks_exact(8)
            .map(|c| {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                nfbpf_vm::Insn::from_bytes(b)
            })
            .collect();
        let funcs = obj.functions_in(shndx);
        for (pc, text) in nfbpf_vm::disasm::disasm(&insns) {
            for f in funcs.iter().filter(|f| f.value == pc as u64 * 8) {
                s.push_str(&format!("<{}>:\n", f.name));
            }
            let mut line = format!("{pc:5}: {text}");
            if let Some(r) = obj.reloc_at(shndx, pc as u64 * 8) {
                let name = obj.symbols.get(r.sym).map_or("?", |x| x.name.as_str());
                line.push_str(&format!("  ; {} {name}", elf::reloc_type_name(r.rtype)));
            }
            s.push_str(&line);
            s.push('\n');
        }
        if data.len() % 8 != 0 {
            s.push_str(&format!("  ; {} trailing bytes\n", data.len() % 8));
        }
    }
    Ok(s)
}
