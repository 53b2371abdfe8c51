//! `nfbpf asm FILE.s -o FILE.bin`: assemble to a raw little-endian image.

use anyhow::Context;
use nfbpf_vm::insn::to_image;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Assembly source in the conformance suite's syntax.
    src: PathBuf,
    /// Output image (default: the source path with extension `.bin`).
    #[arg(short, long)]
    output: Option<PathBuf>,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&a.src)
        .with_context(|| format!("cannot read {}", a.src.display()))?;
    let insns =
        nfbpf_vm::asm::assemble(&text).map_err(|e| anyhow::anyhow!("{}: {e}", a.src.display()))?;
    let out = a.output.unwrap_or_else(|| a.src.with_extension("bin"));
    std::fs::write(&out, to_image(&insns))
        .with_context(|| format!("cannot write {}", out.display()))?;
    eprintln!("{}: {} instruction slots", out.display(), insns.len());
    Ok(ExitCode::SUCCESS)
}
