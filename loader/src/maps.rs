//! The map table: BTF-defined maps (`.maps`), legacy maps (`maps`), and the
//! global-data sections (`.rodata*`, `.data*`, `.bss*`) as one-entry ARRAY
//! maps, in that order. Map `i`'s handle is [`contract::map_handle`]`(i)`.

use crate::abi::Abi;
use crate::btf::Btf;
use crate::elf::{Object, STT_FUNC, STT_SECTION};
use crate::error::{LoadError, section_err};
use nfbpf_vm::contract;
use std::collections::BTreeMap;

/// Map types the map coprocessor implements: the coprocessor's own type
/// (one definition of the type codes, in `nfbpf_vm::contract`).
pub use nfbpf_vm::maps::MapType;

/// Linux's name of map type `code` (for messages about unsupported types).
pub fn linux_map_type_name(code: u32) -> &'static str {
    const NAMES: &[&str] = &[
        "UNSPEC",
        "HASH",
        "ARRAY",
        "PROG_ARRAY",
        "PERF_EVENT_ARRAY",
        "PERCPU_HASH",
        "PERCPU_ARRAY",
        "STACK_TRACE",
        "CGROUP_ARRAY",
        "LRU_HASH",
        "LRU_PERCPU_HASH",
        "LPM_TRIE",
        "ARRAY_OF_MAPS",
        "HASH_OF_MAPS",
        "DEVMAP",
        "SOCKMAP",
        "CPUMAP",
        "XSKMAP",
        "SOCKHASH",
        "CGROUP_STORAGE",
        "REUSEPORT_SOCKARRAY",
        "PERCPU_CGROUP_STORAGE",
        "QUEUE",
        "STACK",
        "SK_STORAGE",
        "DEVMAP_HASH",
        "STRUCT_OPS",
        "RINGBUF",
        "INODE_STORAGE",
        "TASK_STORAGE",
        "BLOOM_FILTER",
        "USER_RINGBUF",
        "CGRP_STORAGE",
        "ARENA",
    ];
    NAMES.get(code as usize).copied().unwrap_or("unknown")
}

/// `BPF_F_RDONLY_PROG`: the program may only read the map (set on `.rodata`).
pub const BPF_F_RDONLY_PROG: u32 = 1 << 7;
/// Bytes of one legacy `maps` definition: type, key_size, value_size,
/// max_entries, flags (five little-endian u32).
pub const LEGACY_DEF_BYTES: usize = 20;

/// Where a map was defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapOrigin {
    /// A variable in `.maps`, described by BTF.
    Btf,
    /// A `struct { u32 type, key_size, value_size, max_entries, flags; }`
    /// in the legacy `maps` section.
    Legacy,
    /// A global-data section (`.rodata`, `.data`, `.bss`, `.rodata.str1.1`,
    /// ...) as a one-entry ARRAY map whose value is the section.
    Global,
}

/// One entry of the map table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapDef {
    /// Symbol name (the section name for global data).
    pub name: String,
    pub map_type: MapType,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub flags: u32,
    pub origin: MapOrigin,
    /// Section that defined it (`.maps`, `maps`, `.rodata`, ...).
    pub section: String,
    /// Initial value of entry 0 for global-data maps (zeros for `.bss`).
    pub initial: Option<Vec<u8>>,
}

impl MapDef {
    /// Is this a read-only global (`.rodata*`)?
    pub fn is_readonly(&self) -> bool {
        self.flags & BPF_F_RDONLY_PROG != 0
    }
}

/// The map table plus what relocation needs to find entries.
#[derive(Debug, Default)]
pub struct MapTable {
    pub defs: Vec<MapDef>,
    /// (section index, offset of the definition) -> map index.
    by_def: BTreeMap<(usize, u64), usize>,
    /// Global-data section index -> map index.
    by_global: BTreeMap<usize, usize>,
}

impl MapTable {
    pub fn at_def(&self, shndx: usize, offset: u64) -> Option<usize> {
        self.by_def.get(&(shndx, offset)).copied()
    }
    pub fn global(&self, shndx: usize) -> Option<usize> {
        self.by_global.get(&shndx).copied()
    }
    pub fn is_map_section(&self, shndx: usize) -> bool {
        self.by_def.keys().any(|&(s, _)| s == shndx)
    }
}

/// Is a section named like global data?
pub fn is_global_data_name(name: &str) -> bool {
    [".rodata", ".data", ".bss"]
        .iter()
        .any(|p| name == *p || name.strip_prefix(p).is_some_and(|r| r.starts_with('.')))
}

fn map_symbols<'o>(obj: &'o Object<'_>, shndx: usize) -> Vec<&'o crate::elf::Symbol> {
    let mut v: Vec<_> = obj
        .symbols
        .iter()
        .filter(|s| {
            s.shndx == shndx
                && s.st_type != STT_SECTION
                && s.st_type != STT_FUNC
                && !s.name.is_empty()
        })
        .collect();
    v.sort_by_key(|s| s.value);
    v
}

fn check(def: &MapDef, abi: Abi) -> Result<(), LoadError> {
    let e = |msg: String| LoadError::Map {
        map: def.name.clone(),
        section: def.section.clone(),
        msg,
    };
    if def.origin == MapOrigin::Global {
        // Global data is read and written by address in the map-value
        // region, never through the coprocessor's key/value datapath, so
        // the key/value width limits do not apply; the section must fit the
        // map's address window.
        if u64::from(def.value_size) > contract::MAP_STRIDE {
            return Err(e(format!(
                "{} bytes of global data, a map's value area holds at most {} bytes",
                def.value_size,
                contract::MAP_STRIDE
            )));
        }
        return Ok(());
    }
    let (max_key, max_value) = abi.max_key_value();
    if def.key_size == 0 || def.key_size as usize > max_key {
        return Err(e(format!(
            "key of {} bytes: the {abi} ABI's map coprocessor takes keys of 1..={max_key} bytes",
            def.key_size
        )));
    }
    if def.value_size == 0 || def.value_size as usize > max_value {
        return Err(e(format!(
            "value of {} bytes: the {abi} ABI's map coprocessor takes values of 1..={max_value} bytes",
            def.value_size
        )));
    }
    if def.max_entries == 0 {
        return Err(e("max_entries is 0".into()));
    }
    if def.map_type.is_direct() && def.key_size != 4 {
        return Err(e(format!(
            "{} maps need a 4-byte key, this one has {} bytes",
            def.map_type.name(),
            def.key_size
        )));
    }
    if def.map_type == MapType::LpmTrie && def.key_size <= 4 {
        return Err(e(format!(
            "LPM_TRIE keys are a u32 prefix length followed by the data, {} bytes is too short",
            def.key_size
        )));
    }
    Ok(())
}

fn map_type(code: Option<u32>, name: &str, section: &str) -> Result<MapType, LoadError> {
    let e = |msg: String| LoadError::Map {
        map: name.to_string(),
        section: section.to_string(),
        msg,
    };
    let code = code.ok_or_else(|| e("no map type".into()))?;
    MapType::from_code(code).ok_or_else(|| {
        e(format!(
            "unsupported map type {code} ({}); supported: {}",
            linux_map_type_name(code),
            MapType::ALL
                .iter()
                .map(|t| format!("{t} {}", t.code()))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

/// Build the map table of an object.
pub fn collect(obj: &Object<'_>, btf: Option<&Btf<'_>>, abi: Abi) -> Result<MapTable, LoadError> {
    let mut t = MapTable::default();
    let push = |t: &mut MapTable,
                def: MapDef,
                key: Option<(usize, u64)>,
                global: Option<usize>|
     -> Result<(), LoadError> {
        check(&def, abi)?;
        let i = t.defs.len();
        if let Some(k) = key {
            t.by_def.insert(k, i);
        }
        if let Some(g) = global {
            t.by_global.insert(g, i);
        }
        t.defs.push(def);
        Ok(())
    };

    // BTF-defined maps.
    if let Some(shndx) = obj.section_index(".maps") {
        let btf = btf.ok_or_else(|| {
            section_err(
                ".maps",
                "BTF-defined maps need the .BTF section (compile with -g)",
            )
        })?;
        let bmaps = btf.maps()?;
        for sym in map_symbols(obj, shndx) {
            let Some(bm) = bmaps.iter().find(|m| m.name == sym.name) else {
                return Err(section_err(
                    ".maps",
                    format!(
                        "symbol {} has no BTF description in DATASEC .maps",
                        sym.name
                    ),
                ));
            };
            let f = &bm.fields;
            let bad = |what: &str| LoadError::Btf {
                offset: bm.at,
                msg: format!("map {}: no {what}", bm.name),
            };
            let def = MapDef {
                name: bm.name.clone(),
                map_type: map_type(f.map_type, &bm.name, ".maps")?,
                key_size: f.key_size.ok_or_else(|| bad("key or key_size"))?,
                value_size: f.value_size.ok_or_else(|| bad("value or value_size"))?,
                max_entries: f.max_entries.ok_or_else(|| bad("max_entries"))?,
                flags: f.map_flags.unwrap_or(0),
                origin: MapOrigin::Btf,
                section: ".maps".into(),
                initial: None,
            };
            push(&mut t, def, Some((shndx, sym.value)), None)?;
        }
        if let Some(m) = bmaps
            .iter()
            .find(|m| t.defs.iter().all(|d| d.name != m.name))
        {
            return Err(LoadError::Btf {
                offset: m.at,
                msg: format!(
                    "map {} is in DATASEC .maps but has no symbol in section .maps",
                    m.name
                ),
            });
        }
    }

    // Legacy maps: five u32 per definition, located by their symbols.
    if let Some(shndx) = obj.section_index("maps") {
        let sec = &obj.sections[shndx];
        let data = sec.data()?;
        let syms = map_symbols(obj, shndx);
        if syms.is_empty() && !data.is_empty() {
            return Err(section_err("maps", "legacy map section has no map symbols"));
        }
        for sym in syms {
            let start = usize::try_from(sym.value).ok();
            let bytes = start
                .and_then(|s| data.get(s..s.checked_add(LEGACY_DEF_BYTES)?))
                .ok_or_else(|| {
                    section_err(
                        "maps",
                        format!(
                            "map {} at offset {:#x}: a definition needs {LEGACY_DEF_BYTES} bytes, the section has {}",
                            sym.name,
                            sym.value,
                            data.len()
                        ),
                    )
                })?;
            let w = |i: usize| {
                u32::from_le_bytes([
                    bytes[4 * i],
                    bytes[4 * i + 1],
                    bytes[4 * i + 2],
                    bytes[4 * i + 3],
                ])
            };
            let def = MapDef {
                name: sym.name.clone(),
                map_type: map_type(Some(w(0)), &sym.name, "maps")?,
                key_size: w(1),
                value_size: w(2),
                max_entries: w(3),
                flags: w(4),
                origin: MapOrigin::Legacy,
                section: "maps".into(),
                initial: None,
            };
            push(&mut t, def, Some((shndx, sym.value)), None)?;
        }
    }

    // Global data.
    for (shndx, sec) in obj.sections.iter().enumerate() {
        if !sec.is_alloc() || sec.is_exec() || !is_global_data_name(&sec.name) || sec.size == 0 {
            continue;
        }
        if sec.size > contract::MAP_STRIDE {
            return Err(LoadError::Map {
                map: sec.name.clone(),
                section: sec.name.clone(),
                msg: format!(
                    "{} bytes of global data, a map's value area holds at most {} bytes",
                    sec.size,
                    contract::MAP_STRIDE
                ),
            });
        }
        let initial = if sec.is_nobits() {
            vec![0; sec.size as usize]
        } else {
            sec.data()?.to_vec()
        };
        let readonly = sec.name.starts_with(".rodata");
        let def = MapDef {
            name: sec.name.clone(),
            map_type: MapType::Array,
            key_size: 4,
            value_size: sec.size as u32,
            max_entries: 1,
            flags: if readonly { BPF_F_RDONLY_PROG } else { 0 },
            origin: MapOrigin::Global,
            section: sec.name.clone(),
            initial: Some(initial),
        };
        push(&mut t, def, None, Some(shndx))?;
    }

    if t.defs.len() > contract::MAX_MAPS {
        return Err(LoadError::TooManyMaps {
            count: t.defs.len(),
            max: contract::MAX_MAPS,
        });
    }
    Ok(t)
}
