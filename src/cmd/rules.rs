//! Map rules files (`nfbpf run -r RULES`): entries to pre-load into maps.
//!
//! One entry per line, `#` starts a comment:
//!
//! ```text
//! routes   10.1.0.0/16   hex:0200000000160200000050010100000000
//! tx_ports 1             3
//! mac_table 0x0000020000000a 0
//! mac_table 0x0000020000000a 0xffffffffffffffff 0x2   # the existing loader's form
//! ```
//!
//! - `MAP KEY VALUE`: KEY and VALUE are integers (decimal or `0x` hex),
//!   stored little-endian at the map's key and value sizes; or `hex:` byte
//!   strings of exactly those sizes; an LPM_TRIE key may be an IPv4 prefix
//!   `a.b.c.d/len` (Linux's layout: `u32 prefixlen` then the address).
//! - `MAP KEY MASK VALUE`: the existing eBPFlow loader's line, 64-bit hex.
//!   For an LPM_TRIE map the mask's leading one bits give the prefix length
//!   of a 32-bit key; for exact-match maps the mask must cover the key.

use anyhow::{Context, anyhow, bail};
use nfbpf_loader::image::Image;
use nfbpf_loader::maps::MapType;
use nfbpf_vm::contract::{BPF_ANY, map_handle};
use nfbpf_vm::maps::MapTable;
use std::path::Path;

/// One parsed entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub map: usize,
    pub key: Vec<u8>,
    pub value: Vec<u8>,
}

fn int(tok: &str) -> anyhow::Result<u128> {
    let r = match tok.strip_prefix("0x").or_else(|| tok.strip_prefix("0X")) {
        Some(h) => u128::from_str_radix(h, 16),
        None => tok.parse::<u128>(),
    };
    r.map_err(|_| anyhow!("`{tok}` is not an integer"))
}

/// Bytes of `tok` for a field of `size` bytes.
fn field(tok: &str, size: u32, what: &str) -> anyhow::Result<Vec<u8>> {
    let size = size as usize;
    if let Some(h) = tok.strip_prefix("hex:") {
        let b = super::input::parse_hex(h).with_context(|| format!("{what} `{tok}`"))?;
        if b.len() != size {
            bail!(
                "{what} `{tok}` has {} bytes, the map's {what} is {size}",
                b.len()
            );
        }
        return Ok(b);
    }
    let v = int(tok).with_context(|| what.to_string())?;
    let bytes = v.to_le_bytes();
    if size < 16 && v >> (8 * size) != 0 {
        bail!("{what} `{tok}` does not fit in {size} bytes");
    }
    let mut out = bytes[..size.min(16)].to_vec();
    out.resize(size, 0);
    Ok(out)
}

/// `a.b.c.d/len` as an LPM key of `key_size` bytes.
fn prefix(tok: &str, key_size: u32) -> anyhow::Result<Vec<u8>> {
    let (addr, len) = tok
        .split_once('/')
        .ok_or_else(|| anyhow!("`{tok}` is not a prefix a.b.c.d/len"))?;
    let ip: std::net::Ipv4Addr = addr
        .parse()
        .map_err(|_| anyhow!("`{addr}` is not an IPv4 address"))?;
    let len: u32 = len
        .parse()
        .map_err(|_| anyhow!("prefix length `{len}` is not a number"))?;
    if len > 32 || key_size != 8 {
        bail!(
            "prefix `{tok}`: length must be 0..=32 and the key 4 + 4 bytes (this key is {key_size})"
        );
    }
    let mut k = len.to_le_bytes().to_vec();
    k.extend_from_slice(&ip.octets());
    Ok(k)
}

/// Parse a rules text against an image's map table.
pub fn parse(text: &str, image: &Image) -> anyhow::Result<Vec<Entry>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        let t = line.split('#').next().unwrap_or("").trim();
        if t.is_empty() {
            continue;
        }
        let toks: Vec<&str> = t.split_whitespace().collect();
        let e = (|| -> anyhow::Result<Entry> {
            let name = toks[0];
            let (map, m) = image
                .maps
                .iter()
                .enumerate()
                .find(|(_, m)| m.name == name)
                .ok_or_else(|| {
                    let names: Vec<&str> = image.maps.iter().map(|m| m.name.as_str()).collect();
                    anyhow!("no map `{name}` (the program has: {})", names.join(", "))
                })?;
            let lpm = m.map_type == MapType::LpmTrie;
            match toks.len() {
                3 => {
                    let key = if lpm && toks[1].contains('/') {
                        prefix(toks[1], m.key_size)?
                    } else {
                        field(toks[1], m.key_size, "key")?
                    };
                    Ok(Entry {
                        map,
                        key,
                        value: field(toks[2], m.value_size, "value")?,
                    })
                }
                4 => {
                    let (k, mask, v) = (int(toks[1])?, int(toks[2])?, int(toks[3])?);
                    let key = if lpm {
                        let len = (mask as u32).leading_ones();
                        let mut key = len.to_le_bytes().to_vec();
                        key.extend_from_slice(&((k as u32) & (mask as u32)).to_be_bytes());
                        key.resize(m.key_size as usize, 0);
                        key
                    } else {
                        field(&format!("{k}"), m.key_size, "key")?
                    };
                    Ok(Entry {
                        map,
                        key,
                        value: field(&format!("{v}"), m.value_size, "value")?,
                    })
                }
                n => bail!("expected `MAP KEY VALUE` or `MAP KEY MASK VALUE`, found {n} fields"),
            }
        })()
        .with_context(|| format!("rules line {line_no}: `{t}`"))?;
        out.push(e);
    }
    Ok(out)
}

/// Read `path` and load its entries into `table`.
pub fn load(path: &Path, image: &Image, table: &mut MapTable) -> anyhow::Result<usize> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let entries = parse(&text, image).with_context(|| path.display().to_string())?;
    for e in &entries {
        table
            .update(map_handle(e.map), &e.key, &e.value, BPF_ANY)
            .value
            .map_err(|err| {
                anyhow!(
                    "{}: map `{}`: {err}",
                    path.display(),
                    image.maps[e.map].name
                )
            })?;
    }
    Ok(entries.len())
}
