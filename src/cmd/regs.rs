//! `nfbpf regs [--markdown | --json]`: print the device's register map.

use nfbpf_vm::regs::{self, REG_BASE, REGISTERS};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// Print docs/registers.md instead of the plain table.
    #[arg(long, conflicts_with = "json")]
    markdown: bool,
    /// One JSON object per register (docs/cli.md).
    #[arg(long)]
    json: bool,
}

/// One register of `--json`.
#[derive(serde::Serialize)]
struct RegJson {
    name: &'static str,
    /// Bus address (`REG_BASE` + offset).
    address: u32,
    offset: u32,
    /// `ro`, `rw` or `wo`.
    access: String,
    /// Registers in the array (1 for a single register).
    count: u32,
    doc: &'static str,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    if a.markdown {
        print!("{}", regs::markdown());
        return Ok(ExitCode::SUCCESS);
    }
    let cols = ["address", "offset", "access", "name"];
    let mut t = super::table::new(&cols, &[]);
    for r in REGISTERS {
        let addr = REG_BASE + r.offset;
        if a.json {
            let j = RegJson {
                name: r.name,
                address: addr,
                offset: r.offset,
                access: r.access.name().to_lowercase(),
                count: r.count,
                doc: r.doc,
            };
            println!("{}", serde_json::to_string(&j)?);
            continue;
        }
        let n = if r.count > 1 {
            format!("[{}]", r.count)
        } else {
            String::new()
        };
        t.add_row(vec![
            format!("{addr:#010x}"),
            format!("{:#05x}", r.offset),
            r.access.name().to_string(),
            format!("{}{n}", r.name),
        ]);
    }
    if !a.json {
        print!("{}", super::table::render(&t, ""));
    }
    Ok(ExitCode::SUCCESS)
}
