//! `nfbpf map list|dump|lookup|update|delete|load|clean`: the maps of a function
//! loaded in a device, through the device's registers (any target).
//!
//! The device knows maps by row; `--prog` names the loaded function so
//! maps are addressed by name and keys and values are sized and parsed as
//! in rules files (docs/rules.md). The device is asked which program it
//! holds first (its ABI mode and instruction slots, read back): an object
//! that is not that program is refused with what differs, since its map
//! table would describe rows the device does not have. A program whose
//! maps a host placed at other rows (the agent) is found at those rows.
//! Then the device's map table is read back at those rows (type, key size,
//! value size, max entries): a map the device holds otherwise is refused,
//! naming both definitions. `map list` shows the device's table, with
//! names where `--prog` gives them.

use super::exit::{Code, err};
use super::rules;
use anyhow::anyhow;
use nfbpf_loader::device as dev;
use nfbpf_loader::image::Image;
use nfbpf_loader::load_file;
use nfbpf_vm::regs::RegisterBus;
use serde::Serialize;
use std::path::{Path, PathBuf};
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
    #[command(flatten)]
    object: super::object::ObjectArgs,
    /// JSON output: `list` one object per map, the others one object per
    /// entry in the rules' JSON form (docs/cli.md).
    #[arg(long)]
    json: bool,
}

/// `map list`: the device's table; `--prog` names the program's rows.
#[derive(clap::Args)]
struct ListArgs {
    /// The function loaded in the device (C source or clang object): its
    /// maps' rows are shown with their names (checked as the other map
    /// commands check it).
    #[arg(long)]
    prog: Option<PathBuf>,
    /// The device: `sim:PATH` or `sume:IFNAME`.
    #[arg(short = 't', long)]
    target: String,
    #[command(flatten)]
    object: super::object::ObjectArgs,
    /// JSON output: one object per map row (docs/cli.md).
    #[arg(long)]
    json: bool,
}

#[derive(clap::Subcommand)]
enum What {
    /// The device's map table (type, sizes, entries of every row holding a
    /// map); with `--prog`, the program's maps by name.
    List(ListArgs),
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

/// The object, the device, and the object placed at the device's rows
/// once the device confirmed it holds that program and its maps.
fn setup(c: &Common) -> anyhow::Result<(Image, Box<dyn RegisterBus + Send>)> {
    open_prog(&c.prog, &c.object, &c.target)
}

/// A map whose device row differs, in words: both definitions.
fn row_msg(prog: &Path, m: &dev::RowMismatch) -> String {
    match m {
        dev::RowMismatch::Differs {
            name,
            row,
            object,
            device,
        } => format!(
            "map `{name}` is {object} in {}; the device's row {row} is {}",
            prog.display(),
            device.map_or_else(|| "empty".to_string(), |d| d.to_string())
        ),
        dev::RowMismatch::Bus(e) => e.to_string(),
    }
}

fn open_prog(
    prog: &Path,
    object: &super::object::ObjectArgs,
    target: &str,
) -> anyhow::Result<(Image, Box<dyn RegisterBus + Send>)> {
    let image = load_file(prog, &object.options()).map_err(|e| super::exit::load_err(prog, e))?;
    let mut bus = super::device::open(target)?;
    let placed = match dev::match_loaded(&mut *bus, &image) {
        Ok(placed) => placed,
        Err(dev::Mismatch::Bus(e)) => return Err(err(Code::Io, format!("{target}: {e}"))),
        Err(m) => {
            // What the device's map table holds at the object's rows.
            let rows = match (&m, dev::match_rows(&mut *bus, &image)) {
                (dev::Mismatch::Empty, _) => String::new(),
                (_, Err(r @ dev::RowMismatch::Differs { .. })) => {
                    format!("; {}", row_msg(prog, &r))
                }
                _ => String::new(),
            };
            return Err(err(
                Code::Refused,
                format!(
                    "{} is not the program loaded on {target}: {m}{rows}; map commands need the object the device runs (load it with `nfbpf load {} -t {target}`)",
                    prog.display(),
                    prog.display(),
                ),
            ));
        }
    };
    dev::match_rows(&mut *bus, &placed).map_err(|m| match m {
        dev::RowMismatch::Bus(e) => err(Code::Io, format!("{target}: {e}")),
        m => err(
            Code::Refused,
            format!(
                "{} is the program loaded on {target}, but its map table is not: {}; load the program again (`nfbpf load {} -t {target}`)",
                prog.display(),
                row_msg(prog, &m),
                prog.display(),
            ),
        ),
    })?;
    Ok((placed, bus))
}

fn index(image: &Image, name: &str) -> anyhow::Result<usize> {
    image
        .maps
        .iter()
        .position(|m| m.name == name)
        .ok_or_else(|| {
            let names: Vec<&str> = image.maps.iter().map(|m| m.name.as_str()).collect();
            err(
                Code::NotFound,
                format!("no map `{name}` (the program has: {})", names.join(", ")),
            )
        })
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A key as rules spell it: an LPM key of `u32 prefixlen` + IPv4 address
/// as `a.b.c.d/len`, else `hex:` bytes.
fn show_key(image: &Image, i: usize, k: &[u8]) -> String {
    let m = &image.maps[i];
    if m.kind == nfbpf_loader::maps::MapType::LpmTrie && k.len() == 8 {
        let len = u32::from_le_bytes([k[0], k[1], k[2], k[3]]);
        return format!("{}.{}.{}.{}/{len}", k[4], k[5], k[6], k[7]);
    }
    format!("hex:{}", hex(k))
}

/// One entry in the rules' JSON form (`nfbpf map load` takes it back).
#[derive(Serialize)]
struct EntryJson<'a> {
    map: &'a str,
    key: String,
    /// Absent for a deleted entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
}

/// One row of `map list --json`: the device's row, its map's name when
/// `--prog` gives it, the definition the device holds and its entries.
#[derive(Serialize)]
struct MapJson {
    row: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    /// The type as `MapInfo` spells it (`hash`, `lpmtrie`, ...).
    #[serde(rename = "type")]
    kind: String,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    entries: usize,
}

fn print_entry(json: bool, image: &Image, i: usize, k: &[u8], v: &[u8]) -> anyhow::Result<()> {
    let map = &image.maps[i].name;
    if json {
        let e = EntryJson {
            map,
            key: show_key(image, i, k),
            value: Some(format!("hex:{}", hex(v))),
        };
        println!("{}", serde_json::to_string(&e)?);
    } else {
        println!("{map} {} hex:{}", show_key(image, i, k), hex(v));
    }
    Ok(())
}

/// The one entry of a `map lookup|update|delete` line.
fn one(image: &Image, map: &str, key: &str, value: &str) -> anyhow::Result<rules::Entry> {
    index(image, map)?;
    let mut e = rules::parse(&format!("{map} {key} {value}"), image)?;
    e.pop().ok_or_else(|| anyhow!("{map}: no entry parsed"))
}

fn dev_err(target: &str) -> impl Fn(dev::ProgramError) -> anyhow::Error + '_ {
    move |e| match e {
        dev::ProgramError::Bus(b) => err(Code::Io, format!("{target}: {b}")),
        other => err(Code::Refused, format!("{target}: {other}")),
    }
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    match a.what {
        What::List(c) => {
            let (named, mut bus) = match &c.prog {
                Some(p) => {
                    let (image, bus) = open_prog(p, &c.object, &c.target)?;
                    (Some(image), bus)
                }
                None => (None, super::device::open(&c.target)?),
            };
            let table = dev::map_table(&mut *bus)
                .map_err(|e| err(Code::Io, format!("{}: {e}", c.target)))?;
            let cols = [
                "row",
                "name",
                "type",
                "key_size",
                "value_size",
                "max_entries",
                "entries",
            ];
            let numeric = ["row", "key_size", "value_size", "max_entries", "entries"];
            let mut t = super::table::new(&cols, &numeric);
            for (row, d) in table {
                let name = named.as_ref().and_then(|img| {
                    (0..img.maps.len())
                        .find(|&i| img.map_row(i) == row)
                        .map(|i| img.maps[i].name.clone())
                });
                let n = dev::entries(&mut *bus, row, d.key_size as usize, d.value_size as usize)
                    .map_err(dev_err(&c.target))?
                    .len();
                if c.json {
                    let m = MapJson {
                        row,
                        name,
                        kind: d.type_name().replace('_', "").to_lowercase(),
                        key_size: d.key_size,
                        value_size: d.value_size,
                        max_entries: d.max_entries,
                        entries: n,
                    };
                    println!("{}", serde_json::to_string(&m)?);
                } else {
                    t.add_row(vec![
                        row.to_string(),
                        name.unwrap_or_else(|| "-".to_string()),
                        d.type_name(),
                        d.key_size.to_string(),
                        d.value_size.to_string(),
                        d.max_entries.to_string(),
                        n.to_string(),
                    ]);
                }
            }
            if !c.json {
                print!("{}", super::table::render(&t, ""));
            }
        }
        What::Dump { map, c } => {
            let (image, mut bus) = setup(&c)?;
            let i = index(&image, &map)?;
            let d = &image.maps[i].def;
            let all = dev::entries(
                &mut *bus,
                image.map_row(i),
                d.key_size as usize,
                d.value_size as usize,
            )
            .map_err(dev_err(&c.target))?;
            for (k, v) in all {
                print_entry(c.json, &image, i, &k, &v)?;
            }
        }
        What::Lookup { map, key, c } => {
            let (image, mut bus) = setup(&c)?;
            let e = one(&image, &map, &key, "0")?;
            let vs = image.maps[e.map].value_size as usize;
            let Some(v) = dev::lookup_entry(&mut *bus, image.map_row(e.map), &e.key, vs)
                .map_err(dev_err(&c.target))?
            else {
                return Err(err(
                    Code::NotFound,
                    format!("{map}: no entry {}", show_key(&image, e.map, &e.key)),
                ));
            };
            print_entry(c.json, &image, e.map, &e.key, &v)?;
        }
        What::Update { map, key, value, c } => {
            let (image, mut bus) = setup(&c)?;
            let e = one(&image, &map, &key, &value)?;
            dev::update_entry(
                &mut *bus,
                image.map_row(e.map),
                image.maps[e.map].kind,
                &e.key,
                &e.value,
            )
            .map_err(dev_err(&c.target))?;
            if c.json {
                print_entry(true, &image, e.map, &e.key, &e.value)?;
            } else {
                println!("{map}: {} updated", show_key(&image, e.map, &e.key));
            }
        }
        What::Delete { map, key, c } => {
            let (image, mut bus) = setup(&c)?;
            let e = one(&image, &map, &key, "0")?;
            if !dev::delete_entry(&mut *bus, image.map_row(e.map), &e.key)
                .map_err(dev_err(&c.target))?
            {
                return Err(err(
                    Code::NotFound,
                    format!("{map}: no entry {}", show_key(&image, e.map, &e.key)),
                ));
            }
            if c.json {
                let e = EntryJson {
                    map: &map,
                    key: show_key(&image, e.map, &e.key),
                    value: None,
                };
                println!("{}", serde_json::to_string(&e)?);
            } else {
                println!("{map}: {} deleted", show_key(&image, e.map, &e.key));
            }
        }
        What::Load { rules: path, c } => {
            let (image, mut bus) = setup(&c)?;
            let entries = rules::read(&path, &image)?;
            for e in &entries {
                dev::update_entry(
                    &mut *bus,
                    image.map_row(e.map),
                    image.maps[e.map].kind,
                    &e.key,
                    &e.value,
                )
                .map_err(|er| {
                    dev_err(&c.target)(er).context(format!(
                        "{}: map `{}`",
                        path.display(),
                        image.maps[e.map].name
                    ))
                })?;
            }
            if c.json {
                println!("{}", serde_json::json!({ "loaded": entries.len() }));
            } else {
                println!("{} entries loaded", entries.len());
            }
        }
        What::Clean { target } => {
            let mut bus = super::device::open(&target)?;
            dev::clean(&mut *bus).map_err(dev_err(&target))?;
            println!(
                "{target}: every map and its entries removed (the map table is empty; load the program again to use its maps)"
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
