//! Map rules files (`nfbpf run -r RULES`, `nfbpf map load RULES`): the
//! command line's side of [`nfbpf_loader::rules`], the one parser (text or
//! JSON, docs/rules.md).

use anyhow::{Context, anyhow};
use nfbpf_loader::image::Image;
use nfbpf_vm::contract::{BPF_ANY, map_handle};
use nfbpf_vm::maps::MapTable;
use std::path::Path;

pub use nfbpf_loader::rules::Entry;

/// Parse a rules text (text or JSON) against an image's map table.
pub fn parse(text: &str, image: &Image) -> anyhow::Result<Vec<Entry>> {
    Ok(nfbpf_loader::rules::parse(text, &image.maps)?)
}

/// Read and parse the rules file `path`.
pub fn read(path: &Path, image: &Image) -> anyhow::Result<Vec<Entry>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse(&text, image).with_context(|| path.display().to_string())
}

/// Read `path` and load its entries into `table`.
pub fn load(path: &Path, image: &Image, table: &mut MapTable) -> anyhow::Result<usize> {
    let entries = read(path, image)?;
    for e in &entries {
        // A map-in-map value names a map by image index + 1: its row + 1.
        let mut value = e.value.clone();
        if image.maps[e.map].kind.is_map_in_map()
            && let Ok(b) = <[u8; 4]>::try_from(&value[..])
            && let Some(i) = (u32::from_le_bytes(b) as usize).checked_sub(1)
        {
            value = (image.map_row(i) as u32 + 1).to_le_bytes().to_vec();
        }
        table
            .update(map_handle(image.map_row(e.map)), &e.key, &value, BPF_ANY)
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
