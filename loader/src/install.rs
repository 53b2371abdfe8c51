//! Installing an [`Image`]'s maps into the device's map table.
//!
//! Each map of the image becomes row `i` of the coprocessor's table (the
//! same index its handle [`nfbpf_vm::contract::map_handle`]`(i)` names), and
//! each global-data map gets its initial bytes as entry 0. The register-bus
//! programming sequence of the device does the same through registers; this
//! is the in-process path the engines use directly (`nfbpf run`, tests).

use crate::image::Image;
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
}

/// Configure rows `image.map_base..` (one per map) of `table` and write
/// initial data.
pub fn configure_maps(image: &Image, table: &mut MapTable) -> Result<(), InstallError> {
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
    Ok(())
}
