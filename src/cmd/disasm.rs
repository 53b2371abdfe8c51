//! `nfbpf disasm FILE`: objdump-style listing of a program: a raw image,
//! assembly, an ELF object from clang, or a `.c` file (compiled first).
//! Objects are shown as the loader lays them out (prologue, entry function,
//! subprograms, resolved map references); `--raw` lists an object's code
//! sections as they are, even when the loader rejects it.

use super::input::read_program;
use nfbpf_loader::Options;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Program: raw little-endian image, assembly (.s), ELF object or C source.
    prog: PathBuf,
    /// For objects: list every code section unlinked.
    #[arg(long)]
    raw: bool,
    /// For objects: the program section to load (default: the only one).
    #[arg(long)]
    section: Option<String>,
    /// For objects: the ABI to lay the program out with (default: from its
    /// section, as the loader does: `xdp*` XDP, `.text` SUME; other
    /// sections need it).
    #[arg(long, value_enum)]
    abi: Option<super::run::AbiArg>,
    #[command(flatten)]
    object: super::object::ObjectArgs,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let is_c = nfbpf_loader::compile::is_c_source(&a.prog);
    let bytes = if is_c {
        Vec::new()
    } else {
        std::fs::read(&a.prog)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", a.prog.display()))?
    };
    if is_c || bytes.starts_with(b"\x7fELF") {
        if a.raw && !is_c {
            print!(
                "{}",
                nfbpf_loader::disasm_object(&bytes)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", a.prog.display()))?
            );
        } else {
            let opts = Options {
                section: a.section.clone(),
                abi: a.abi.map(super::run::AbiArg::loader),
                ..a.object.options()
            };
            let image = nfbpf_loader::load_file(&a.prog, &opts)
                .map_err(|e| anyhow::anyhow!("{}: {e}", a.prog.display()))?;
            a.object.report(&a.prog, &image);
            print!("{}", image.listing());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let insns = read_program(&a.prog)?;
    print!("{}", nfbpf_vm::disasm::listing(&insns));
    Ok(ExitCode::SUCCESS)
}
