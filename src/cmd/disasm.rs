//! `nfbpf disasm FILE`: objdump-style listing of a program: a raw image,
//! assembly, an ELF object from clang, or a `.c` file (compiled first).
//! Objects are shown as the loader lays them out (prologue, entry function,
//! subprograms, resolved map references); `--raw` lists an object's code
//! sections as they are, even when the loader rejects it.

use super::input::read_program;
use anyhow::Context;
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
        std::fs::read(&a.prog).with_context(|| format!("cannot read {}", a.prog.display()))?
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
                abi: a.abi.map(super::run::AbiArg::abi),
                ..a.object.options()
            };
            let image = nfbpf_loader::load_file(&a.prog, &opts)
                .map_err(|e| super::exit::load_err(&a.prog, e))?;
            a.object.report(&a.prog, &image);
            print!("{}", image.listing());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let asm = a.prog.extension().is_some_and(|e| e == "s" || e == "asm");
    if !asm && let Some(what) = text_kind(&bytes) {
        return Err(super::exit::err(
            super::exit::Code::Refused,
            format!(
                "{}: is {what}, not a program: disasm takes an ELF object (clang -target bpf), a .c file, assembly (.s, .asm) or a raw little-endian image",
                a.prog.display()
            ),
        ));
    }
    let insns = read_program(&a.prog)?;
    print!("{}", nfbpf_vm::disasm::listing(&insns));
    Ok(ExitCode::SUCCESS)
}

/// What a file that is text is (`None` for binary data): a raw program
/// image of real instructions holds zero bytes (registers, offsets and
/// immediates are mostly small), text holds none.
fn text_kind(bytes: &[u8]) -> Option<String> {
    if bytes.is_empty() || bytes.contains(&0) {
        return None;
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let lines = text.lines().count();
    Some(format!(
        "UTF-8 text ({} bytes, {lines} line{})",
        bytes.len(),
        if lines == 1 { "" } else { "s" }
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn text_is_told_from_images() {
        assert_eq!(
            super::text_kind(b"# nfbpf\nhello\n").as_deref(),
            Some("UTF-8 text (14 bytes, 2 lines)")
        );
        // exit: b7 00 .. 95 00 ..: binary.
        let image = [0xb7, 0, 0, 0, 1, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(super::text_kind(&image), None);
        assert_eq!(super::text_kind(&[0xff, 0xfe, 0x41]), None);
    }
}
