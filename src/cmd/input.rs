//! Reading programs and data given on the command line.
//!
//! A program file is assembly (`.s`, `.asm`: the conformance suite's syntax)
//! or a raw little-endian image (anything else). ELF objects are recognised
//! by their magic and reported as needing the loader.

use anyhow::{Context, bail};
use nfbpf_vm::{Insn, insn};
use std::path::Path;

/// Read a program file into instruction slots.
pub fn read_program(path: &Path) -> anyhow::Result<Vec<Insn>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if matches!(ext, "s" | "asm") {
        let text = String::from_utf8(bytes)
            .with_context(|| format!("{}: assembly is not UTF-8 text", path.display()))?;
        return nfbpf_vm::asm::assemble(&text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()));
    }
    if bytes.starts_with(b"\x7fELF") {
        bail!(
            "{}: is an ELF object; loading ELF objects needs the loader, which this build does not have yet",
            path.display()
        );
    }
    insn::from_image(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Parse hex bytes ("aa bb 01", "aabb01", "0xaa 0xbb"); whitespace ignored.
pub fn parse_hex(s: &str) -> anyhow::Result<Vec<u8>> {
    let mut digits = String::with_capacity(s.len());
    for tok in s.split_whitespace() {
        let t = tok
            .strip_prefix("0x")
            .or_else(|| tok.strip_prefix("0X"))
            .unwrap_or(tok);
        digits.push_str(t);
    }
    if !digits.len().is_multiple_of(2) {
        bail!("hex data has an odd number of digits ({})", digits.len());
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&digits[i..i + 2], 16)
                .with_context(|| format!("invalid hex byte `{}` at digit {i}", &digits[i..i + 2]))
        })
        .collect()
}
