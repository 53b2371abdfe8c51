//! `nfbpf completions SHELL` and `nfbpf man`: the shell completion scripts
//! and the manual page, generated from the command-line definition itself
//! (so they list every subcommand and flag of this build).

use clap::CommandFactory;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

#[derive(clap::Args)]
pub struct ManArgs {
    /// Write one page per subcommand (`nfbpf.1`, `nfbpf-run.1`, ...) into
    /// this directory instead of printing the main page.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

pub fn completions<C: CommandFactory>(a: CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut cmd = C::command();
    let name = cmd.get_name().to_string();
    clap_complete::generate(a.shell, &mut cmd, name, &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}

pub fn man<C: CommandFactory>(a: ManArgs) -> anyhow::Result<ExitCode> {
    let cmd = C::command();
    match a.dir {
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut out)?;
            std::io::stdout().write_all(&out)?;
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
            clap_mangen::generate_to(cmd, &dir)
                .map_err(|e| anyhow::anyhow!("writing pages into {}: {e}", dir.display()))?;
            eprintln!("manual pages written into {}", dir.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
