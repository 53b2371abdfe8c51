//! Installing an [`Image`]'s maps into the device's map table.
//!
//! Each map of the image becomes row `i` of the coprocessor's table (the
//! same index its handle [`nfbpf_vm::contract::map_handle`]`(i)` names), and
//! each global-data map gets its initial bytes as entry 0. The register-bus
//! programming sequence of the device does the same through registers; this
//! is the in-process path the engines use directly (`nfbpf run`, tests).

use crate::image::Image;
use crate::maps::SlotTarget;
use nfbpf_vm::maps::{self, MapTable};

/// Why a map could not be installed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstallError {
    #[error("map {index} `{name}`: {source}")]
    Config {
        index: usize,
        name: String,
        source: maps::ConfigError,
    },
    #[error("map {index} `{name}`: initial value: {source}")]
    Initial {
        index: usize,
        name: String,
        source: maps::MapError,
    },
    #[error("map {index} `{name}`: .values[{key}]: {source}")]
    Slot {
        index: usize,
        name: String,
        key: u32,
        source: maps::MapError,
    },
    #[error("tail-call program {name}: {source}")]
    Program {
        name: String,
        source: nfbpf_vm::validate::ValidationError,
    },
}

/// Configure rows `image.map_base..` (one per map) of `table` and write
/// initial data; with tail calls, make the image's programs resident
/// ([`Image::resident_programs`]) and fill the PROG_ARRAY and map-in-map
/// slots the object initialises (`.values`).
pub fn configure_maps(image: &Image, table: &mut MapTable) -> Result<(), InstallError> {
    if image
        .maps
        .iter()
        .any(|m| m.kind == nfbpf_vm::maps::MapType::ProgArray)
    {
        let progs = image
            .resident_programs()
            .map_err(|source| InstallError::Program {
                name: image.function.clone(),
                source,
            })?;
        table.set_programs(progs.into_iter().map(std::sync::Arc::new).collect());
    }
    for (index, m) in image.maps.iter().enumerate() {
        table
            .configure(image.map_base + index, m.def.clone())
            .map_err(|source| InstallError::Config {
                index,
                name: m.name.clone(),
                source,
            })?;
        if let Some(init) = &m.initial {
            let handle = nfbpf_vm::contract::map_handle(image.map_base + index);
            let mut value = init.clone();
            value.resize(m.value_size as usize, 0);
            table
                .update(
                    handle,
                    &0u32.to_le_bytes(),
                    &value,
                    nfbpf_vm::contract::BPF_ANY,
                )
                .value
                .map_err(|source| InstallError::Initial {
                    index,
                    name: m.name.clone(),
                    source,
                })?;
        }
    }
    for (index, m) in image.maps.iter().enumerate() {
        for (key, target) in &m.slots {
            let id = match target {
                SlotTarget::Map(i) => image.map_row(*i) as u32 + 1,
                SlotTarget::Program(p) => m
                    .programs
                    .iter()
                    .position(|n| n == p)
                    .map_or(0, |k| k as u32 + 1),
            };
            let handle = nfbpf_vm::contract::map_handle(image.map_base + index);
            table
                .update(
                    handle,
                    &key.to_le_bytes(),
                    &id.to_le_bytes(),
                    nfbpf_vm::contract::BPF_ANY,
                )
                .value
                .map_err(|source| InstallError::Slot {
                    index,
                    name: m.name.clone(),
                    key: *key,
                    source,
                })?;
        }
    }
    Ok(())
}
