//! The map table: BTF-defined maps (`.maps`), legacy maps (`maps`), and the
//! global-data sections (`.rodata*`, `.data*`, `.bss*`) as one-entry ARRAY
//! maps, in that order. Map `i`'s handle is [`contract::map_handle`]`(i)`.

use crate::btf::Btf;
use crate::elf::{Object, STT_FUNC, STT_SECTION};
use crate::error::{LoadError, section_err};
use nfbpf_vm::abi::Abi;
use nfbpf_vm::contract;
use std::collections::BTreeMap;

/// A map's row definition (one type across the crates).
pub use nfbpf_vm::maps::MapDef;
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
/// Bytes of one legacy `maps` definition in libbpf's layout
/// (`struct bpf_map_def`): type, key_size, value_size, max_entries, flags
/// (five little-endian u32).
pub const LEGACY_DEF_BYTES: usize = 20;
/// iproute2's `struct bpf_elf_map` of its first versions: the five u32 of
/// libbpf, then `id` and `pinning` (ignored here).
pub const IPROUTE2_DEF_BYTES: usize = 28;
/// iproute2's `struct bpf_elf_map` today: the 28 bytes above, then
/// `inner_id` and `inner_idx` (map-in-map templates; ignored here, as for a
/// map that is not one).
pub const IPROUTE2_FULL_DEF_BYTES: usize = 36;
/// eBPFlow's `struct bpf_map_def`: `unsigned int type; uint64_t key_size;
/// uint64_t value_size; unsigned int max_entries; unsigned int map_flags;`
/// (type at 0, padding, key_size at 8, value_size at 16, max_entries at 24,
/// map_flags at 28).
pub const EBPFLOW_DEF_BYTES: usize = 32;
/// eBPFlow's `BPF_MAP_TYPE_HASH` (its `ebpflow_consts.h`: 2, Linux's
/// ARRAY); its loader takes 2 (HASH, in the CAM) and 11 (LPM_TRIE, in the
/// TCAM) only.
pub const EBPFLOW_MAP_TYPE_HASH: u32 = 2;

/// The legacy definition sizes the loader reads, for messages.
pub const KNOWN_LEGACY_SIZES: &str = "20 (libbpf's struct bpf_map_def: five u32), \
28 (iproute2's first struct bpf_elf_map: five u32, id, pinning), \
36 (iproute2's struct bpf_elf_map: five u32, id, pinning, inner_id, inner_idx) or \
32 (eBPFlow's struct bpf_map_def: type u32, key_size u64, value_size u64, max_entries u32, map_flags u32)";

/// Where a map was defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapOrigin {
    /// A variable in `.maps`, described by BTF.
    Btf,
    /// A definition in the legacy `maps` section: libbpf's five u32,
    /// iproute2's 28 or 36 bytes or eBPFlow's 32 bytes (told apart by size).
    Legacy,
    /// A global-data section (`.rodata`, `.data`, `.bss`, `.rodata.str1.1`,
    /// ...) as a one-entry ARRAY map whose value is the section.
    Global,
}

/// One map of the image: the coprocessor's definition of its row and where
/// the object declared it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageMap {
    /// The row as the map coprocessor takes it (the name is the symbol, or
    /// the section name for global data).
    pub def: MapDef,
    pub origin: MapOrigin,
    /// Section that defined it (`.maps`, `maps`, `.rodata`, ...).
    pub section: String,
    /// Initial value of entry 0 for global-data maps (zeros for `.bss`).
    pub initial: Option<Vec<u8>>,
    /// ARRAY_OF_MAPS, HASH_OF_MAPS: the inner map's definition from BTF
    /// (`__array(values, struct { ... })`), which every map put in a slot
    /// must match.
    pub inner: Option<MapDef>,
    /// PROG_ARRAY and map-in-map slots the object fills (`.values = {
    /// [KEY] = &target }`): key and target, resolved by the linker.
    pub slots: Vec<(u32, SlotTarget)>,
    /// PROG_ARRAY: the programs its slots may hold, by function name;
    /// program id `k` (what a slot holds, from 1) is `programs[k - 1]`
    /// (the image's entry first, then [`crate::image::Image::tails`]).
    pub programs: Vec<String>,
    /// Byte offset of the value's `struct bpf_spin_lock` (from BTF): the
    /// kernel oracle describes it to Linux, which refuses
    /// `bpf_spin_lock` on a map without one.
    pub spin_lock: Option<u32>,
}

/// What a PROG_ARRAY or map-in-map slot holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlotTarget {
    /// A program of the image's program table, by name (its function).
    Program(String),
    /// Map `i` of the image.
    Map(usize),
}

/// An image's map is read as its row definition (`map.key_size`, ...).
impl std::ops::Deref for ImageMap {
    type Target = MapDef;
    fn deref(&self) -> &MapDef {
        &self.def
    }
}

/// A map as the tools show it (`nfbpf map list --json`, the agent's
/// function records): the one vocabulary of map descriptions.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MapInfo {
    pub name: String,
    /// The type, lowercase without separators (`hash`, `array`, `lpmtrie`,
    /// `devmap`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
}

impl From<&ImageMap> for MapInfo {
    fn from(m: &ImageMap) -> MapInfo {
        MapInfo {
            name: m.name.clone(),
            kind: m.kind.name().replace('_', "").to_lowercase(),
            key_size: m.key_size,
            value_size: m.value_size,
            max_entries: m.max_entries,
        }
    }
}

impl ImageMap {
    /// A map declared in `.maps` with BTF, with nothing else attached (no
    /// initial values, inner map, slots, programs or lock): what rules,
    /// tests and examples start from.
    pub fn declared(def: MapDef) -> ImageMap {
        ImageMap {
            def,
            origin: MapOrigin::Btf,
            section: ".maps".into(),
            initial: None,
            inner: None,
            slots: Vec::new(),
            programs: Vec::new(),
            spin_lock: None,
        }
    }

    /// Is this a read-only global (`.rodata*`)?
    pub fn is_readonly(&self) -> bool {
        self.flags & BPF_F_RDONLY_PROG != 0
    }
}

/// One map of the object: its definition, or why it cannot be used. The
/// error is reported only if the program references the map: a map that
/// only another program of the object uses must not stop this one.
#[derive(Debug)]
struct Entry {
    name: String,
    def: Result<ImageMap, LoadError>,
    /// Bytes a reference may point into (global data: the section size).
    size: u64,
    /// Where the definition (or the global data) lies: section index and
    /// byte range.
    range: (usize, u64, u64),
    /// Byte offset of `.values` initialisers in the definition.
    values_at: Option<u64>,
}

/// Every map the object defines plus what relocation needs to find them;
/// [`MapTable::select`] keeps the ones the program references.
#[derive(Debug, Default)]
pub struct MapTable {
    entries: Vec<Entry>,
    /// (section index, offset of the definition) -> map index.
    by_def: BTreeMap<(usize, u64), usize>,
    /// Global-data section index -> map index.
    by_global: BTreeMap<usize, usize>,
}

/// The maps a program references, renumbered.
#[derive(Debug)]
pub struct Selected {
    pub defs: Vec<ImageMap>,
    /// Object map index -> index in `defs` (`None`: not referenced).
    pub index: Vec<Option<usize>>,
    /// Names of the maps left out, in object order.
    pub dropped: Vec<String>,
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
    /// Number of maps the object defines.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    /// Bytes of map `i`'s value a reference may point into.
    pub fn size(&self, i: usize) -> u64 {
        self.entries.get(i).map_or(0, |e| e.size)
    }
    /// Section index and byte range of map `i`'s definition or data.
    pub fn range(&self, i: usize) -> Option<(usize, u64, u64)> {
        self.entries.get(i).map(|e| e.range)
    }

    /// Byte range of map `i`'s `.values` initialisers in its section.
    pub fn values_range(&self, i: usize) -> Option<(u64, u64)> {
        let e = self.entries.get(i)?;
        let at = e.values_at?;
        Some((e.range.1 + at, e.range.2))
    }

    /// Map `i`'s name.
    pub fn name(&self, i: usize) -> Option<&str> {
        self.entries.get(i).map(|e| e.name.as_str())
    }

    /// Map `i`'s definition, if it is usable.
    pub fn def(&self, i: usize) -> Option<&ImageMap> {
        self.entries.get(i)?.def.as_ref().ok()
    }

    /// Record the `.values` slots of map `i` (object map indices for map
    /// targets; [`MapTable::select`] renumbers them).
    pub fn set_slots(&mut self, i: usize, slots: Vec<(u32, SlotTarget)>) {
        if let Some(Ok(d)) = self.entries.get_mut(i).map(|e| &mut e.def) {
            d.slots = slots;
        }
    }

    /// Why map `i` cannot be used, if it cannot (taken out of the table:
    /// for the first reference, which ends the load).
    pub fn take_error(&mut self, i: usize) -> Option<LoadError> {
        let e = self.entries.get_mut(i)?;
        if e.def.is_ok() {
            return None;
        }
        let placeholder = Err(map_err(&e.name, "", "reported"));
        std::mem::replace(&mut e.def, placeholder).err()
    }

    /// The maps in `used` (object indices), in object order: the first
    /// unusable one is the error; the others are dropped (and named).
    pub fn select(self, used: &std::collections::BTreeSet<usize>) -> Result<Selected, LoadError> {
        let mut out = Selected {
            defs: Vec::new(),
            index: vec![None; self.entries.len()],
            dropped: Vec::new(),
        };
        for (i, e) in self.entries.into_iter().enumerate() {
            if !used.contains(&i) {
                out.dropped.push(e.name);
                continue;
            }
            out.index[i] = Some(out.defs.len());
            out.defs.push(e.def?);
        }
        let index = out.index.clone();
        for d in &mut out.defs {
            for (_, t) in &mut d.slots {
                if let SlotTarget::Map(m) = t {
                    *m = index.get(*m).copied().flatten().unwrap_or(*m);
                }
            }
        }
        if out.defs.len() > contract::MAX_MAPS {
            return Err(LoadError::TooManyMaps {
                count: out.defs.len(),
                max: contract::MAX_MAPS,
            });
        }
        Ok(out)
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

fn check(def: &ImageMap, abi: Abi) -> Result<(), LoadError> {
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
    if def.kind.is_keyless() {
        // QUEUE and STACK values go by copy, a RINGBUF has none: the
        // shape is the kind's own (Linux's checks, `MapDef::check`).
        def.def.check().map_err(|x| e(x.to_string()))?;
        if def.value_size as usize > max_value {
            return Err(e(format!(
                "value of {} bytes: the {abi} ABI takes values of 1..={max_value} bytes",
                def.value_size
            )));
        }
        return Ok(());
    }
    // eBPFlow's LPM key is the data alone (`MapDef::data_key`).
    let key_bytes = if def.data_key {
        def.lpm_data_size()
    } else {
        def.key_size
    };
    if key_bytes == 0 || key_bytes as usize > max_key {
        return Err(e(format!(
            "key of {key_bytes} bytes: the {abi} ABI takes keys of 1..={max_key} bytes"
        )));
    }
    if def.value_size == 0 || def.value_size as usize > max_value {
        return Err(e(format!(
            "value of {} bytes: the {abi} ABI takes values of 1..={max_value} bytes",
            def.value_size
        )));
    }
    if def.kind.is_direct() && def.key_size != 4 {
        return Err(e(format!(
            "{} maps need a 4-byte key, this one has {} bytes",
            def.kind.name(),
            def.key_size
        )));
    }
    if def.kind == MapType::LpmTrie && def.key_size <= 4 {
        return Err(e(format!(
            "LPM_TRIE keys are a u32 prefix length followed by the data, {} bytes is too short",
            def.key_size
        )));
    }
    Ok(())
}

/// The key or value size a BTF map of `kind` may leave out, as libbpf
/// creates it: none for QUEUE and STACK keys and RINGBUF keys and values,
/// 4 for a PERF_EVENT_ARRAY (an index and a perf event's fd).
fn implied_size(kind: MapType, what: &str) -> Option<u32> {
    match (kind, what) {
        (MapType::Queue | MapType::Stack, "key") | (MapType::Ringbuf, _) => Some(0),
        (MapType::PerfEventArray, _) => Some(4),
        _ => None,
    }
}

/// `max_entries` a BTF map of `kind` may leave out: a PERF_EVENT_ARRAY
/// gets one event per CPU, as libbpf gives it one per possible CPU; here
/// the device's engines (one engine is one CPU).
fn implied_entries(kind: MapType) -> Option<u32> {
    (kind == MapType::PerfEventArray)
        .then(|| nfbpf_vm::units::UnitsConfig::default().engines as u32)
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

fn map_err(name: &str, section: &str, msg: impl Into<String>) -> LoadError {
    LoadError::Map {
        map: name.to_string(),
        section: section.to_string(),
        msg: msg.into(),
    }
}

/// `max_entries` from the definition, or from `sizes` (which overrides it);
/// a map declared without it (0 or absent) needs `--map-size`.
fn max_entries(
    declared: Option<u32>,
    name: &str,
    section: &str,
    sizes: &BTreeMap<String, u32>,
) -> Result<u32, LoadError> {
    match (sizes.get(name), declared) {
        (Some(&n), _) if n > 0 => Ok(n),
        (Some(_), _) => Err(map_err(
            name,
            section,
            format!("--map-size {name}=0: max_entries must be at least 1"),
        )),
        (None, Some(n)) if n > 0 => Ok(n),
        (None, _) => Err(map_err(
            name,
            section,
            format!(
                "declared without max_entries (or with 0): pass --map-size {name}=N to give it N entries"
            ),
        )),
    }
}

/// A legacy definition's fields: (type, key_size, value_size, max_entries,
/// flags), from `bytes` (exactly the definition) by its size.
fn legacy_fields(name: &str, bytes: &[u8]) -> Result<[u32; 5], LoadError> {
    let u32_at =
        |o: usize| u32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]);
    match bytes.len() {
        LEGACY_DEF_BYTES | IPROUTE2_DEF_BYTES | IPROUTE2_FULL_DEF_BYTES => {
            Ok([u32_at(0), u32_at(4), u32_at(8), u32_at(12), u32_at(16)])
        }
        EBPFLOW_DEF_BYTES => {
            let u64_at = |o: usize| u64::from(u32_at(o)) | (u64::from(u32_at(o + 4)) << 32);
            if u32_at(4) != 0 {
                return Err(map_err(
                    name,
                    "maps",
                    format!(
                        "a 32-byte definition is read in eBPFlow's layout (type u32, padding, key_size u64, value_size u64, max_entries u32, map_flags u32), but its padding at offset 4 is {:#x}, not 0",
                        u32_at(4)
                    ),
                ));
            }
            let narrow = |what: &str, v: u64| {
                u32::try_from(v).map_err(|_| {
                    map_err(
                        name,
                        "maps",
                        format!("{what} of {v} bytes does not fit 32 bits"),
                    )
                })
            };
            Ok([
                u32_at(0),
                narrow("key_size", u64_at(8))?,
                narrow("value_size", u64_at(16))?,
                u32_at(24),
                u32_at(28),
            ])
        }
        n => Err(map_err(
            name,
            "maps",
            format!(
                "a legacy map definition of {n} bytes; the loader reads definitions of {KNOWN_LEGACY_SIZES}"
            ),
        )),
    }
}

/// Build the table of every map of an object: BTF-defined maps, legacy
/// maps, global data. Problems of one map are kept with it (reported when
/// the program references it, see [`MapTable::select`]); `sizes` gives or
/// overrides `max_entries` by map name (`--map-size NAME=N`).
pub fn collect(
    obj: &Object<'_>,
    btf: Option<&Btf<'_>>,
    abi: Abi,
    sizes: &BTreeMap<String, u32>,
) -> Result<MapTable, LoadError> {
    let mut t = MapTable::default();
    let push = |t: &mut MapTable,
                name: String,
                def: Result<ImageMap, LoadError>,
                size: u64,
                range: (usize, u64, u64),
                values_at: Option<u64>,
                global: bool| {
        let def = def.and_then(|d| check(&d, abi).map(|()| d));
        let i = t.entries.len();
        if global {
            t.by_global.insert(range.0, i);
        } else {
            t.by_def.insert((range.0, range.1), i);
        }
        t.entries.push(Entry {
            name,
            def,
            size,
            range,
            values_at,
        });
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
        let syms = map_symbols(obj, shndx);
        let sec_size = obj.sections[shndx].size;
        for (k, sym) in syms.iter().enumerate() {
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
            let def = (|| {
                if let Some((offset, msg)) = &bm.problem {
                    return Err(LoadError::Btf {
                        offset: *offset,
                        msg: msg.clone(),
                    });
                }
                let kind = map_type(f.map_type, &bm.name, ".maps")?;
                // As libbpf: PROG_ARRAY and map-in-map values are 4-byte
                // ids (fds in Linux) when the definition gives no size.
                let slotted = matches!(kind, MapType::ProgArray) || kind.is_map_in_map();
                let value_size = match f.value_size.or(implied_size(kind, "value")) {
                    None if slotted => 4,
                    v => v.ok_or_else(|| bad("value or value_size"))?,
                };
                let inner = match (&f.inner, kind.is_map_in_map()) {
                    (Some(i), true) => Some(MapDef {
                        name: format!("{} (inner)", bm.name),
                        kind: map_type(i.map_type, &bm.name, ".maps")?,
                        key_size: i.key_size.ok_or_else(|| bad("inner map key or key_size"))?,
                        value_size: i
                            .value_size
                            .ok_or_else(|| bad("inner map value or value_size"))?,
                        max_entries: i.max_entries.ok_or_else(|| bad("inner map max_entries"))?,
                        flags: i.map_flags.unwrap_or(0),
                        data_key: false,
                    }),
                    (None, true) => {
                        return Err(map_err(
                            &bm.name,
                            ".maps",
                            format!(
                                "a {} needs its inner map's definition: declare the slots as \
                                 __array(values, struct {{ __uint(type, ...); __type(key, ...); \
                                 __type(value, ...); __uint(max_entries, ...); }})",
                                kind.name()
                            ),
                        ));
                    }
                    (_, false) => None,
                };
                Ok(ImageMap {
                    def: MapDef {
                        name: bm.name.clone(),
                        kind,
                        key_size: f
                            .key_size
                            .or(implied_size(kind, "key"))
                            .ok_or_else(|| bad("key or key_size"))?,
                        value_size,
                        max_entries: max_entries(
                            f.max_entries.filter(|&n| n > 0).or(implied_entries(kind)),
                            &bm.name,
                            ".maps",
                            sizes,
                        )?,
                        flags: f.map_flags.unwrap_or(0),
                        data_key: false,
                    },
                    origin: MapOrigin::Btf,
                    section: ".maps".into(),
                    initial: None,
                    inner,
                    spin_lock: f.spin_lock,
                    slots: Vec::new(),
                    programs: Vec::new(),
                })
            })();
            let end = if sym.size > 0 {
                sym.value.saturating_add(sym.size)
            } else {
                syms.get(k + 1).map_or(sec_size, |n| n.value)
            };
            push(
                &mut t,
                sym.name.clone(),
                def,
                0,
                (shndx, sym.value, end),
                f.values_at.map(u64::from),
                false,
            );
        }
        if let Some(m) = bmaps
            .iter()
            .find(|m| t.entries.iter().all(|d| d.name != m.name))
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

    // Legacy maps, located by their symbols; the layout by the definition's
    // size: the symbol's size, else (as libbpf) the section's size divided
    // by the number of maps, else the distance to the next symbol.
    if let Some(shndx) = obj.section_index("maps") {
        let sec = &obj.sections[shndx];
        let data = sec.data()?;
        let syms = map_symbols(obj, shndx);
        if syms.is_empty() && !data.is_empty() {
            return Err(section_err("maps", "legacy map section has no map symbols"));
        }
        let even = (!syms.is_empty() && data.len() % syms.len() == 0)
            .then(|| (data.len() / syms.len()) as u64);
        for (k, sym) in syms.iter().enumerate() {
            let size = if sym.size > 0 {
                sym.size
            } else if let Some(e) = even {
                e
            } else {
                syms.get(k + 1)
                    .map_or(data.len() as u64, |n| n.value)
                    .saturating_sub(sym.value)
            };
            let end = sym.value.saturating_add(size);
            let def = (|| {
                let bytes = usize::try_from(sym.value)
                    .ok()
                    .zip(usize::try_from(end).ok())
                    .and_then(|(s, e)| data.get(s..e))
                    .ok_or_else(|| {
                        map_err(
                            &sym.name,
                            "maps",
                            format!(
                                "a definition of {size} bytes at offset {:#x} extends beyond the section's {} bytes",
                                sym.value,
                                data.len()
                            ),
                        )
                    })?;
                let w = legacy_fields(&sym.name, bytes)?;
                // An eBPFlow definition in eBPFlow's own ABI (SUME) means
                // what eBPFlow's headers and loader make of it: type 2 is
                // HASH (its headers `#define BPF_MAP_TYPE_HASH 2`, and its
                // loader puts type 2 in the CAM) and an LPM_TRIE's
                // key_size counts the data alone (its helpers pass
                // `*(u64 *)keyptr`, looked up at the full length). In the
                // XDP and tc ABIs the layout is only a layout: Linux's
                // types and sizes.
                let ebpflow = bytes.len() == EBPFLOW_DEF_BYTES && abi == Abi::Sume;
                let kind = match w[0] {
                    EBPFLOW_MAP_TYPE_HASH if ebpflow => MapType::Hash,
                    code => map_type(Some(code), &sym.name, "maps")?,
                };
                let data_key = ebpflow && kind == MapType::LpmTrie;
                let key_size = if data_key {
                    w[1].checked_add(nfbpf_vm::maps::LPM_HEADER)
                        .ok_or_else(|| {
                            map_err(&sym.name, "maps", format!("key_size {} is too large", w[1]))
                        })?
                } else {
                    w[1]
                };
                Ok(ImageMap {
                    def: MapDef {
                        name: sym.name.clone(),
                        kind,
                        key_size,
                        value_size: w[2],
                        max_entries: max_entries(Some(w[3]), &sym.name, "maps", sizes)?,
                        flags: w[4],
                        data_key,
                    },
                    origin: MapOrigin::Legacy,
                    section: "maps".into(),
                    initial: None,
                    inner: None,
                    slots: Vec::new(),
                    programs: Vec::new(),
                    spin_lock: None,
                })
            })();
            push(
                &mut t,
                sym.name.clone(),
                def,
                0,
                (shndx, sym.value, end),
                None,
                false,
            );
        }
    }

    // `--map-size` must name a map of the object.
    if let Some(name) = sizes
        .keys()
        .find(|n| t.entries.iter().all(|e| &e.name != *n))
    {
        let names: Vec<&str> = t.entries.iter().map(|e| e.name.as_str()).collect();
        return Err(LoadError::NoMap {
            name: name.clone(),
            maps: if names.is_empty() {
                "none".into()
            } else {
                names.join(", ")
            },
        });
    }

    // Global data.
    for (shndx, sec) in obj.sections.iter().enumerate() {
        if !sec.is_alloc() || sec.is_exec() || !is_global_data_name(&sec.name) || sec.size == 0 {
            continue;
        }
        let range = (shndx, 0, sec.size);
        if sec.size > contract::MAP_STRIDE {
            let e = map_err(
                &sec.name,
                &sec.name,
                format!(
                    "{} bytes of global data, a map's value area holds at most {} bytes",
                    sec.size,
                    contract::MAP_STRIDE
                ),
            );
            push(
                &mut t,
                sec.name.clone(),
                Err(e),
                sec.size,
                range,
                None,
                true,
            );
            continue;
        }
        let initial = if sec.is_nobits() {
            vec![0; sec.size as usize]
        } else {
            sec.data()?.to_vec()
        };
        let readonly = sec.name.starts_with(".rodata");
        let def = ImageMap {
            def: MapDef {
                name: sec.name.clone(),
                kind: MapType::Array,
                key_size: 4,
                value_size: sec.size as u32,
                max_entries: 1,
                flags: if readonly { BPF_F_RDONLY_PROG } else { 0 },
                data_key: false,
            },
            origin: MapOrigin::Global,
            section: sec.name.clone(),
            initial: Some(initial),
            inner: None,
            slots: Vec::new(),
            programs: Vec::new(),
            spin_lock: None,
        };
        push(
            &mut t,
            sec.name.clone(),
            Ok(def),
            sec.size,
            range,
            None,
            true,
        );
    }
    Ok(t)
}
