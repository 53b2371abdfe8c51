//! `nfbpf regs [--markdown | --json | --sume-project DIR]`: print the
//! device's register map, or write the NetFPGA SUME project files
//! (`nfbpf_sim::sumegen`: IP and placement scripts, register defines in the
//! NetFPGA formats; `make sume-project`, docs/sume.md).

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
    /// Write the NetFPGA SUME project files into DIR (docs/sume.md).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["markdown", "json"])]
    sume_project: Option<std::path::PathBuf>,
    /// The RTL the project script packages (default: rtl/ of the
    /// repository nfbpf was built from).
    #[arg(long, value_name = "DIR", requires = "sume_project")]
    rtl: Option<std::path::PathBuf>,
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
    if let Some(dir) = &a.sume_project {
        let rtl = a
            .rtl
            .clone()
            .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rtl"));
        let rtl = std::fs::canonicalize(&rtl).map_err(|e| {
            super::exit::err(
                super::exit::Code::NotFound,
                format!("{}: {e}", rtl.display()),
            )
        })?;
        let names = nfbpf_sim::sumegen::write_project(dir, &rtl)?;
        for n in names {
            println!("{}", dir.join(n).display());
        }
        return Ok(ExitCode::SUCCESS);
    }
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
