//! What the commands that load an object (`run`, `disasm`, `load`,
//! `trace`, `cosim`) share: which program of the object (`--program`), map
//! sizes (`--map-size`), include directories for C sources (`-I`), and `-v`
//! to name the maps left out.

use nfbpf_loader::{Image, Options};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Clone, Debug, Default)]
pub struct ObjectArgs {
    /// The program to load when the object has several: a function name or
    /// a section name (`xdp/drop`). Sections other than `xdp*` and `.text`
    /// also need `--abi`.
    #[arg(long, value_name = "NAME")]
    pub program: Option<String>,
    /// max_entries of map NAME, for maps declared without it (or with 0),
    /// or to override it. Repeatable.
    #[arg(long = "map-size", value_name = "NAME=N", value_parser = parse_map_size)]
    pub map_size: Vec<(String, u32)>,
    /// For C sources: a directory clang searches for `#include "..."`
    /// (`-I DIR`, repeatable). The built-in sume.h, nf_common.h and
    /// lambda.h are always found, after these.
    #[arg(short = 'I', long = "include", value_name = "DIR")]
    pub include: Vec<PathBuf>,
    /// Say which maps of the object are left out (the program does not use
    /// them).
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Rewrite byte-by-byte loads and copies into wider accesses that give
    /// the same verdicts, packets and maps in fewer instructions (`-v` or
    /// `nfbpf disasm` lists each rewrite).
    #[arg(long)]
    pub optimize: bool,
}

/// `NAME=N` with N in 1..=u32::MAX.
pub fn parse_map_size(s: &str) -> Result<(String, u32), String> {
    let (name, n) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}`: expected NAME=N (a map name and its max_entries)"))?;
    if name.is_empty() {
        return Err(format!("`{s}`: the map name is empty"));
    }
    let n: u32 = n
        .parse()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("`{s}`: N must be a number of entries, 1..={}", u32::MAX))?;
    Ok((name.to_string(), n))
}

impl ObjectArgs {
    /// Loader options with the program and map sizes.
    pub fn options(&self) -> Options {
        let mut o = Options::default();
        self.apply(&mut o);
        o
    }

    pub fn apply(&self, o: &mut Options) {
        o.program.clone_from(&self.program);
        o.map_sizes = self.map_size.iter().cloned().collect();
        o.include_dirs.clone_from(&self.include);
        o.optimize = self.optimize;
    }

    /// With `-v`: the program loaded and the maps left out, on stderr.
    pub fn report(&self, prog: &Path, image: &Image) {
        if !self.verbose {
            return;
        }
        eprintln!(
            "{}: program {} (section {}, {} ABI), {} maps",
            prog.display(),
            image.function,
            image.section,
            image.abi.title(),
            image.maps.len()
        );
        if let Some(r) = &image.optimized {
            eprint!("{}: {r}", prog.display());
        }
        if !image.dropped_maps.is_empty() {
            eprintln!(
                "{}: maps the program does not use, left out: {}",
                prog.display(),
                image.dropped_maps.join(", ")
            );
        }
        if !image.tails.is_empty() {
            eprintln!(
                "{}: programs loaded for tail calls: {}",
                prog.display(),
                image
                    .tails
                    .iter()
                    .map(|t| format!("{} (section {})", t.function, t.section))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
}
