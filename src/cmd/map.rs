//! `nfbpf map list|dump|lookup|update|delete|load|clean`: the maps of a function
//! loaded in a device, through the device's registers (any target).
//!
//! The device knows maps by index; `--prog` names the loaded function so
//! maps are addressed by name and keys and values are sized and parsed as
//! in rules files (see [`super::rules`]).

use super::rules;
use anyhow::{Context, anyhow, bail};
use nfbpf_loader::device as dev;
use nfbpf_loader::image::Image;
use nfbpf_loader::install::map_def;
use nfbpf_loader::{Options, load_file};
use nfbpf_vm::regs::RegisterBus;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Args)]
struct Common {
    /// The function loaded in the device (C source or clang object).
    #[arg(long)]
    prog: PathBuf,
    /// The device: `sim:PATH` or `sume:IFNAME`.
    #[arg(short = 't', long)]
    target: String,
}

#[derive(clap::Subcommand)]
enum What {
    /// The function's maps and how many entries each holds.
    List(Common),
    /// Every entry of a map.
    Dump {
        map: String,
        #[command(flatten)]
        c: Common,
    },
    /// One entry's value (KEY as in rules files), as `dump` prints it.
    Lookup {
        map: String,
        key: String,
        #[command(flatten)]
        c: Common,
    },
    /// Insert or replace one entry (KEY and VALUE as in rules files).
    Update {
        map: String,
        key: String,
        value: String,
        #[command(flatten)]
        c: Common,
    },
    /// Remove one entry.
    Delete {
        map: String,
        key: String,
        #[command(flatten)]
        c: Common,
    },
    /// Load a rules file.
    Load {
        rules: PathBuf,
        #[command(flatten)]
        c: Common,
    },
    /// Remove every entry of every map.
    Clean {
        #[arg(short = 't', long)]
        target: String,
    },
}

fn setup(c: &Common) -> anyhow::Result<(Image, Box<dyn RegisterBus + Send>)> {
    let image = load_file(&c.prog, &Options::default())
        .map_err(|e| anyhow!("{}: {e}", c.prog.display()))?;
    let t: nfbpf_loader::bus::Target = c.target.parse()?;
    Ok((image, nfbpf_loader::bus::open(&t)?))
}

fn index(image: &Image, name: &str) -> anyhow::Result<usize> {
    image
        .maps
        .iter()
        .position(|m| m.name == name)
        .ok_or_else(|| {
            let names: Vec<&str> = image.maps.iter().map(|m| m.name.as_str()).collect();
            anyhow!("no map `{name}` (the program has: {})", names.join(", "))
        })
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// An LPM key of `u32 prefixlen` + IPv4 address as `a.b.c.d/len`.
fn show_key(image: &Image, i: usize, k: &[u8]) -> String {
    let m = &image.maps[i];
    if m.map_type == nfbpf_loader::maps::MapType::LpmTrie && k.len() == 8 {
        let len = u32::from_le_bytes([k[0], k[1], k[2], k[3]]);
        return format!("{}.{}.{}.{}/{len}", k[4], k[5], k[6], k[7]);
    }
    format!("hex:{}", hex(k))
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    match a.what {
        What::List(c) => {
            let (image, mut bus) = setup(&c)?;
            for (i, m) in image.maps.iter().enumerate() {
                let d = map_def(m);
                let n =
                    dev::entries(&mut *bus, i, d.key_size as usize, d.value_size as usize)?.len();
                println!(
                    "{i:2} {:<16} {:<8} key {:3} B  value {:4} B  max {:5}  entries {n}",
                    m.name,
                    d.kind.name(),
                    d.key_size,
                    d.value_size,
                    d.max_entries
                );
            }
        }
        What::Dump { map, c } => {
            let (image, mut bus) = setup(&c)?;
            let i = index(&image, &map)?;
            let d = map_def(&image.maps[i]);
            for (k, v) in dev::entries(&mut *bus, i, d.key_size as usize, d.value_size as usize)? {
                println!("{map} {} hex:{}", show_key(&image, i, &k), hex(&v));
            }
        }
        What::Lookup { map, key, c } => {
            let (image, mut bus) = setup(&c)?;
            let e = rules::parse(&format!("{map} {key} 0"), &image)?;
            let e = &e[0];
            let vs = map_def(&image.maps[e.map]).value_size as usize;
            let Some(v) = dev::lookup_entry(&mut *bus, e.map, &e.key, vs)? else {
                bail!("{map}: no entry {}", show_key(&image, e.map, &e.key));
            };
            println!("{map} {} hex:{}", show_key(&image, e.map, &e.key), hex(&v));
        }
        What::Update { map, key, value, c } => {
            let (image, mut bus) = setup(&c)?;
            let e = rules::parse(&format!("{map} {key} {value}"), &image)?;
            let e = &e[0];
            dev::update_entry(
                &mut *bus,
                e.map,
                map_def(&image.maps[e.map]).kind,
                &e.key,
                &e.value,
            )?;
            println!("{map}: {} updated", show_key(&image, e.map, &e.key));
        }
        What::Delete { map, key, c } => {
            let (image, mut bus) = setup(&c)?;
            let e = rules::parse(&format!("{map} {key} 0"), &image)?;
            let e = &e[0];
            if !dev::delete_entry(&mut *bus, e.map, &e.key)? {
                bail!("{map}: no entry {}", show_key(&image, e.map, &e.key));
            }
            println!("{map}: {} deleted", show_key(&image, e.map, &e.key));
        }
        What::Load { rules: path, c } => {
            let (image, mut bus) = setup(&c)?;
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let entries =
                rules::parse(&text, &image).with_context(|| path.display().to_string())?;
            for e in &entries {
                dev::update_entry(
                    &mut *bus,
                    e.map,
                    map_def(&image.maps[e.map]).kind,
                    &e.key,
                    &e.value,
                )
                .map_err(|err| {
                    anyhow!(
                        "{}: map `{}`: {err}",
                        path.display(),
                        image.maps[e.map].name
                    )
                })?;
            }
            println!("{} entries loaded", entries.len());
        }
        What::Clean { target } => {
            let t: nfbpf_loader::bus::Target = target.parse()?;
            let mut bus = nfbpf_loader::bus::open(&t)?;
            dev::clean(&mut *bus)?;
            println!("{target}: every map entry removed");
        }
    }
    Ok(ExitCode::SUCCESS)
}
