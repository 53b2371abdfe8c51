//! The map coprocessor: map table, CAM, TCAM and direct-indexed memories.
//! Engines share it in time through [`crate::units::DeviceState`]'s
//! arbitration (first come, first served; the engines of one clock in the
//! data plane's rotating order), which `rtl/ebpf_map_arbiter.v` mirrors.
//!
//! # Map table
//! [`MapTable`] holds, per map index (`0..MAX_MAPS`), a [`MapDef`]: type,
//! key size, value size (from which the key and value masks of the register
//! interface follow, [`MapDef::key_mask`]), maximum entries and flags. The
//! loader and the register interface configure it with
//! [`MapTable::configure`]; programs reach a map through its handle
//! ([`contract::map_handle`]).
//!
//! # Where entries live
//! - HASH: keys in the one [`Cam`] shared by all HASH maps (entries tagged
//!   with the map index, capacity [`MapConfig::cam_entries`]); a map is also
//!   limited by its own `max_entries`. Values in the map's value area, one
//!   slot per entry (slots are reused after deletes, last freed first).
//! - ARRAY: direct-indexed memory, slot = the u32 key; every slot exists and
//!   starts zeroed.
//! - LPM_TRIE: the one [`Tcam`] shared by all LPM maps; Linux's key layout
//!   (`u32 prefixlen` little-endian, then the data bytes in network order).
//! - DEVMAP: direct-indexed memory of `{u32 ifindex[, u32 prog]}`; a slot is
//!   present when its ifindex is non-zero (Linux's NULL entry otherwise).
//! - ARRAY and DEVMAP share one direct store of [`MapConfig::direct_words`]
//!   words, one word per index (`rtl/ebpf_map_coproc.v` holds a 64-bit word
//!   each): a row takes `max_entries` words from the store's *window*, in
//!   commit order, and is refused ([`ConfigError::DirectStore`]) when they
//!   do not fit. The window is the whole store after [`MapTable::clear`]; a
//!   row reload ([`MapTable::reload`], the MAPLOAD register) takes the larger
//!   free end of the store beside the rows that stay (below the lowest or
//!   above the highest of their words), so two halves of the table can be
//!   loaded in turn.
//!
//! Values of map `i` live at `map_handle(i) + slot * value_size`, so an XDP
//! lookup can return a pointer. The table owns the value bytes; around a
//! program run it *lends* them to the run's [`Memory`] as a region per map
//! named `map<i>:<name>` ([`MapTable::lend`]) and takes them back afterwards
//! ([`MapTable::reclaim`]). Moving the buffers costs O(maps), never a copy.
//! While lent, operations that touch values must be given that memory
//! ([`MapTable::update_in`], [`MapTable::value_in`]).
//!
//! # Errors and flags
//! As in Linux, returned to programs as `-errno` in r0: flags other than
//! `BPF_ANY`/`BPF_NOEXIST`/`BPF_EXIST` give `-EINVAL`; `BPF_NOEXIST` on a
//! present key `-EEXIST`; `BPF_EXIST` on an absent key `-ENOENT`; a full HASH
//! map (or full CAM) `-E2BIG`; deleting an absent key `-ENOENT`. ARRAY:
//! index out of range `-E2BIG` on update, `BPF_NOEXIST` always `-EEXIST`,
//! delete always `-EINVAL`. LPM_TRIE: prefix longer than the data
//! `-EINVAL`; full map (or full TCAM) `-ENOSPC` (Linux's trie returns
//! ENOSPC, not E2BIG). DEVMAP: index out of range `-E2BIG` on update and
//! `-EINVAL` on delete; `BPF_NOEXIST` always `-EEXIST`; ifindex 0 empties
//! the slot.
//!
//! # Timing
//! Every operation returns its latency with its result ([`Timed`]): HASH on
//! the CAM (read 4, write 4 by default), LPM_TRIE on the TCAM (read 5,
//! write 5), ARRAY and DEVMAP on block RAM (2, 2); the published
//! coprocessor's CAM 10/12 and TCAM 10/26 are [`MapTiming::published`]. Lookups are reads;
//! updates and deletes are writes, whether or not they succeed.

mod cam;
pub mod events;
mod tcam;

pub use cam::{Cam, CamEntry};
pub use events::{Event, EventSource};
pub use tcam::{Tcam, TcamEntry, masked, prefix_mask};

use crate::contract::{self, MAP_STRIDE, MAX_MAPS};
use crate::mem::{Memory, OverlapError};
use std::collections::BTreeMap;
use std::fmt;

/// Map types of the map table. HASH, ARRAY, LPM_TRIE and DEVMAP are the
/// coprocessor's (model and RTL). The others are the software engines'
/// (interpreter and pipeline; [`MapType::on_device`] is false): the device
/// refuses them at TYPEMAP ([`MapDef::from_masks`]) with the reason.
///
/// - PERCPU_HASH and PERCPU_ARRAY are one CPU's copy: a software engine is
///   one CPU, so a program sees exactly what Linux gives it on the CPU it
///   runs on (the host reads the one copy; Linux shows one per CPU, each
///   rounded up to 8 bytes).
/// - LRU_HASH (and LRU_PERCPU_HASH) is a HASH that, when an insert finds the
///   map full, evicts the entry used least recently (a program's lookup or
///   update uses an entry; the host's reads do not, as in Linux) instead of
///   failing with `-E2BIG`. Linux's LRU is approximate (per-CPU free lists,
///   a second-chance reference bit) and may evict before the map is full;
///   until the map is full both agree.
/// - DEVMAP_HASH is a DEVMAP keyed by any u32 (a HASH of `{ifindex[,
///   prog]}`), for `bpf_redirect_map` to a port.
/// - CPUMAP and XSKMAP are DEVMAP's kin: `bpf_redirect_map` through them
///   hands the packet to a host CPU's queue or an AF_XDP socket (the
///   verdict [`crate::abi::Verdict::Host`]); an index is present when its
///   first 4 value bytes (CPUMAP's queue size, XSKMAP's socket) are
///   non-zero.
/// - QUEUE and STACK hold values without keys, first in first out and last
///   in first out (`bpf_map_push_elem`, `_pop_elem`, `_peek_elem`).
/// - RINGBUF and PERF_EVENT_ARRAY carry events to the host
///   ([`events`]: `bpf_ringbuf_*`, `bpf_perf_event_output`); the host takes
///   them with [`MapTable::take_events`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MapType {
    Hash,
    Array,
    LpmTrie,
    Devmap,
    PercpuHash,
    PercpuArray,
    LruHash,
    LruPercpuHash,
    Cpumap,
    Xskmap,
    DevmapHash,
    PerfEventArray,
    Queue,
    Stack,
    Ringbuf,
    ProgArray,
    ArrayOfMaps,
    HashOfMaps,
}

impl MapType {
    /// Every type, in Linux's numbering order.
    pub const ALL: [MapType; 18] = [
        MapType::Hash,
        MapType::Array,
        MapType::ProgArray,
        MapType::PerfEventArray,
        MapType::PercpuHash,
        MapType::PercpuArray,
        MapType::LruHash,
        MapType::LruPercpuHash,
        MapType::LpmTrie,
        MapType::ArrayOfMaps,
        MapType::HashOfMaps,
        MapType::Devmap,
        MapType::Cpumap,
        MapType::Xskmap,
        MapType::Queue,
        MapType::Stack,
        MapType::DevmapHash,
        MapType::Ringbuf,
    ];

    /// Linux's type number (the TYPEMAP register).
    pub const fn code(self) -> u32 {
        match self {
            MapType::Hash => contract::MAP_TYPE_HASH,
            MapType::Array => contract::MAP_TYPE_ARRAY,
            MapType::LpmTrie => contract::MAP_TYPE_LPM_TRIE,
            MapType::Devmap => contract::MAP_TYPE_DEVMAP,
            MapType::PercpuHash => contract::MAP_TYPE_PERCPU_HASH,
            MapType::PercpuArray => contract::MAP_TYPE_PERCPU_ARRAY,
            MapType::LruHash => contract::MAP_TYPE_LRU_HASH,
            MapType::LruPercpuHash => contract::MAP_TYPE_LRU_PERCPU_HASH,
            MapType::Cpumap => contract::MAP_TYPE_CPUMAP,
            MapType::Xskmap => contract::MAP_TYPE_XSKMAP,
            MapType::DevmapHash => contract::MAP_TYPE_DEVMAP_HASH,
            MapType::PerfEventArray => contract::MAP_TYPE_PERF_EVENT_ARRAY,
            MapType::Queue => contract::MAP_TYPE_QUEUE,
            MapType::Stack => contract::MAP_TYPE_STACK,
            MapType::Ringbuf => contract::MAP_TYPE_RINGBUF,
            MapType::ProgArray => contract::MAP_TYPE_PROG_ARRAY,
            MapType::ArrayOfMaps => contract::MAP_TYPE_ARRAY_OF_MAPS,
            MapType::HashOfMaps => contract::MAP_TYPE_HASH_OF_MAPS,
        }
    }

    pub const fn from_code(code: u32) -> Option<Self> {
        match code {
            contract::MAP_TYPE_HASH => Some(MapType::Hash),
            contract::MAP_TYPE_ARRAY => Some(MapType::Array),
            contract::MAP_TYPE_LPM_TRIE => Some(MapType::LpmTrie),
            contract::MAP_TYPE_DEVMAP => Some(MapType::Devmap),
            contract::MAP_TYPE_PERCPU_HASH => Some(MapType::PercpuHash),
            contract::MAP_TYPE_PERCPU_ARRAY => Some(MapType::PercpuArray),
            contract::MAP_TYPE_LRU_HASH => Some(MapType::LruHash),
            contract::MAP_TYPE_LRU_PERCPU_HASH => Some(MapType::LruPercpuHash),
            contract::MAP_TYPE_CPUMAP => Some(MapType::Cpumap),
            contract::MAP_TYPE_XSKMAP => Some(MapType::Xskmap),
            contract::MAP_TYPE_DEVMAP_HASH => Some(MapType::DevmapHash),
            contract::MAP_TYPE_PERF_EVENT_ARRAY => Some(MapType::PerfEventArray),
            contract::MAP_TYPE_QUEUE => Some(MapType::Queue),
            contract::MAP_TYPE_STACK => Some(MapType::Stack),
            contract::MAP_TYPE_RINGBUF => Some(MapType::Ringbuf),
            contract::MAP_TYPE_PROG_ARRAY => Some(MapType::ProgArray),
            contract::MAP_TYPE_ARRAY_OF_MAPS => Some(MapType::ArrayOfMaps),
            contract::MAP_TYPE_HASH_OF_MAPS => Some(MapType::HashOfMaps),
            _ => None,
        }
    }

    /// Linux's name without the `BPF_MAP_TYPE_` prefix.
    pub const fn name(self) -> &'static str {
        match self {
            MapType::Hash => "HASH",
            MapType::Array => "ARRAY",
            MapType::LpmTrie => "LPM_TRIE",
            MapType::Devmap => "DEVMAP",
            MapType::PercpuHash => "PERCPU_HASH",
            MapType::PercpuArray => "PERCPU_ARRAY",
            MapType::LruHash => "LRU_HASH",
            MapType::LruPercpuHash => "LRU_PERCPU_HASH",
            MapType::Cpumap => "CPUMAP",
            MapType::Xskmap => "XSKMAP",
            MapType::DevmapHash => "DEVMAP_HASH",
            MapType::PerfEventArray => "PERF_EVENT_ARRAY",
            MapType::Queue => "QUEUE",
            MapType::Stack => "STACK",
            MapType::Ringbuf => "RINGBUF",
            MapType::ProgArray => "PROG_ARRAY",
            MapType::ArrayOfMaps => "ARRAY_OF_MAPS",
            MapType::HashOfMaps => "HASH_OF_MAPS",
        }
    }

    /// Keys in the CAM, values in slots (HASH and its per-CPU and LRU kinds).
    pub const fn is_hash(self) -> bool {
        matches!(
            self,
            MapType::Hash
                | MapType::PercpuHash
                | MapType::LruHash
                | MapType::LruPercpuHash
                | MapType::DevmapHash
                | MapType::HashOfMaps
        )
    }

    /// Direct-indexed, every index present (ARRAY, PERCPU_ARRAY).
    pub const fn is_array(self) -> bool {
        matches!(self, MapType::Array | MapType::PercpuArray)
    }

    /// Indexed by the u32 key (the array kinds and the redirect maps);
    /// on the device, in the direct store.
    pub const fn is_direct(self) -> bool {
        self.is_array() || self.is_slotted()
    }

    /// Indexed by the u32 key, an index present when its first 4 value
    /// bytes are non-zero: the redirect maps, PROG_ARRAY (a program id) and
    /// ARRAY_OF_MAPS (a map id).
    pub const fn is_slotted(self) -> bool {
        self.is_redirect() || matches!(self, MapType::ProgArray | MapType::ArrayOfMaps)
    }

    /// ARRAY_OF_MAPS and HASH_OF_MAPS: a value is the id of another map of
    /// the table (row + 1), and a program's lookup returns that map's
    /// handle, usable as a map in further map calls (as in Linux).
    pub const fn is_map_in_map(self) -> bool {
        matches!(self, MapType::ArrayOfMaps | MapType::HashOfMaps)
    }

    /// `bpf_redirect_map` targets: DEVMAP, CPUMAP, XSKMAP (an index is
    /// present when its first 4 value bytes are non-zero).
    pub const fn is_redirect(self) -> bool {
        matches!(self, MapType::Devmap | MapType::Cpumap | MapType::Xskmap)
    }

    /// A full map evicts its least recently used entry.
    pub const fn is_lru(self) -> bool {
        matches!(self, MapType::LruHash | MapType::LruPercpuHash)
    }

    /// One copy per CPU in Linux.
    pub const fn is_percpu(self) -> bool {
        matches!(
            self,
            MapType::PercpuHash | MapType::PercpuArray | MapType::LruPercpuHash
        )
    }

    /// Values without keys (QUEUE, STACK), or no values at all (RINGBUF):
    /// the key-value operations (lookup, update, delete) do not apply.
    pub const fn is_keyless(self) -> bool {
        matches!(self, MapType::Queue | MapType::Stack | MapType::Ringbuf)
    }

    /// Maps the key-value operations do not apply to: the keyless kinds
    /// and PERF_EVENT_ARRAY (whose values are perf events the host opened).
    pub const fn has_entries(self) -> bool {
        !self.is_keyless() && !matches!(self, MapType::PerfEventArray)
    }

    /// Does the map coprocessor (model and RTL) take this type?
    pub const fn on_device(self) -> bool {
        matches!(
            self,
            MapType::Hash | MapType::Array | MapType::LpmTrie | MapType::Devmap
        )
    }

    /// Why the device does not take this type (`None` when it does).
    pub const fn not_on_device(self) -> Option<&'static str> {
        match self {
            MapType::PercpuHash | MapType::PercpuArray | MapType::LruPercpuHash => Some(
                "per-CPU maps need a copy per engine, which the map coprocessor does not keep \
                 yet; the interpreter and the pipeline run them (one engine is one CPU)",
            ),
            MapType::LruHash => Some(
                "the map coprocessor's CAM has no least-recently-used eviction yet; the \
                 interpreter and the pipeline run LRU_HASH maps",
            ),
            MapType::DevmapHash => Some(
                "the map coprocessor's DEVMAP is indexed, not hashed, yet; the interpreter and \
                 the pipeline run DEVMAP_HASH maps",
            ),
            MapType::Cpumap | MapType::Xskmap => Some(
                "the device has no path from an engine to a host CPU's queue or an AF_XDP \
                 socket yet; the interpreter and the pipeline run them (redirects to the host)",
            ),
            MapType::Ringbuf | MapType::PerfEventArray => Some(
                "the device has no path from an engine to the host for events yet; the \
                 interpreter and the pipeline deliver them to the host (`nfbpf run` prints \
                 them)",
            ),
            MapType::Queue | MapType::Stack => Some(
                "the map coprocessor has no first-in-first-out or last-in-first-out storage \
                 yet; the interpreter and the pipeline run QUEUE and STACK maps",
            ),
            MapType::ProgArray => Some(
                "tail calls (bpf_tail_call through a PROG_ARRAY) need several resident programs \
                 and a jump between them, which the engines' instruction memory does not have \
                 yet; the interpreter and the pipeline run them",
            ),
            MapType::ArrayOfMaps | MapType::HashOfMaps => Some(
                "the map coprocessor cannot return a map as a lookup's value (map-in-map) yet; \
                 the interpreter and the pipeline run ARRAY_OF_MAPS and HASH_OF_MAPS",
            ),
            _ => None,
        }
    }
}

impl fmt::Display for MapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One map's definition (a row of the map table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapDef {
    pub kind: MapType,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    pub flags: u32,
    /// For messages and region names only.
    pub name: String,
    /// LPM_TRIE in eBPFlow's form: a by-value (64-bit) key is the data
    /// alone, its low `key_size - 4` bytes as they lie in memory, looked up
    /// at the full prefix length ([`MapDef::key_from_u64`]). Entries,
    /// rules and dumps keep Linux's layout (`u32` prefix length, then the
    /// data). eBPFlow's headers declare LPM maps so (`key_size` counts the
    /// data) and its helpers pass `*(u64 *)keyptr`. The device's TCAM reads
    /// the prefix length from the key, so the device refuses such a map.
    pub data_key: bool,
}

/// Bytes of the LPM key header (`u32 prefixlen`).
pub const LPM_HEADER: u32 = 4;
/// Largest LPM data part Linux accepts.
pub const LPM_MAX_DATA: u32 = 256;

fn low_bytes_mask(bytes: u32) -> u64 {
    if bytes >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * bytes)) - 1
    }
}

fn bytes_of_mask(mask: u64) -> u32 {
    (64 - mask.leading_zeros()).div_ceil(8)
}

impl MapDef {
    pub fn new(kind: MapType, key_size: u32, value_size: u32, max_entries: u32) -> Self {
        MapDef {
            kind,
            key_size,
            value_size,
            max_entries,
            flags: 0,
            name: String::new(),
            data_key: false,
        }
    }

    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The map table row written through the register interface: type code,
    /// key and value masks (sizes are the bytes the masks cover) and maximum
    /// entries.
    pub fn from_masks(
        type_code: u32,
        key_mask: u64,
        value_mask: u64,
        max_entries: u32,
    ) -> Result<Self, ConfigError> {
        let kind = MapType::from_code(type_code).ok_or(ConfigError::Type(type_code))?;
        if let Some(why) = kind.not_on_device() {
            return Err(ConfigError::NotOnDevice {
                kind: kind.name(),
                why,
            });
        }
        let d = MapDef::new(
            kind,
            bytes_of_mask(key_mask),
            bytes_of_mask(value_mask),
            max_entries,
        );
        d.check()?;
        Ok(d)
    }

    /// Key mask of the register interface: the low `key_size` bytes (all 64
    /// bits for keys of 8 bytes or more).
    pub fn key_mask(&self) -> u64 {
        low_bytes_mask(self.key_size)
    }

    /// Value mask of the register interface.
    pub fn value_mask(&self) -> u64 {
        low_bytes_mask(self.value_size)
    }

    /// A 64-bit by-value key cut by the key mask to the map's key bytes
    /// (SUME ABI and the register interface). `None` for keys over 8 bytes.
    pub fn key_from_u64(&self, key: u64) -> Option<Vec<u8>> {
        if self.data_key {
            // eBPFlow's LPM key: the data alone, at its full length.
            let data = self.lpm_data_size();
            return (data <= 8).then(|| {
                let mut k = self.max_prefixlen().to_le_bytes().to_vec();
                k.extend_from_slice(&key.to_le_bytes()[..data as usize]);
                k
            });
        }
        (self.key_size <= 8)
            .then(|| (key & self.key_mask()).to_le_bytes()[..self.key_size as usize].to_vec())
    }

    /// A 64-bit by-value value cut by the value mask. `None` for values over
    /// 8 bytes.
    pub fn value_from_u64(&self, value: u64) -> Option<Vec<u8>> {
        (self.value_size <= 8)
            .then(|| (value & self.value_mask()).to_le_bytes()[..self.value_size as usize].to_vec())
    }

    /// Value bytes as the 64-bit by-value result (first 8 bytes, masked).
    pub fn value_to_u64(&self, bytes: &[u8]) -> u64 {
        let mut b = [0u8; 8];
        let n = bytes.len().min(8);
        b[..n].copy_from_slice(&bytes[..n]);
        u64::from_le_bytes(b) & self.value_mask()
    }

    /// Bytes of the map's value area: the values a program reaches by
    /// address. A ring buffer's is its data area twice, as Linux maps the
    /// data pages twice so that a record is contiguous across the wrap;
    /// QUEUE, STACK and PERF_EVENT_ARRAY have none (values go by copy).
    pub fn value_area(&self) -> u64 {
        match self.kind {
            MapType::Ringbuf => 2 * self.max_entries as u64,
            k if !k.has_entries() => 0,
            _ => self.max_entries as u64 * self.value_size as u64,
        }
    }

    /// LPM_TRIE: bytes of the data part and the longest prefix.
    pub fn lpm_data_size(&self) -> u32 {
        self.key_size.saturating_sub(LPM_HEADER)
    }

    pub fn max_prefixlen(&self) -> u32 {
        self.lpm_data_size() * 8
    }

    /// Name of the map's value region in a program's memory.
    pub fn region_name(&self, index: usize) -> String {
        if self.name.is_empty() {
            format!("map{index}")
        } else {
            format!("map{index}:{}", self.name)
        }
    }

    /// Check the shape as Linux's `map_alloc_check` does for each type.
    pub fn check(&self) -> Result<(), ConfigError> {
        let bad = |what: String| {
            Err(ConfigError::Shape {
                kind: self.kind.name(),
                what,
            })
        };
        if let Some(r) = events::check(self) {
            return r;
        }
        if self.key_size == 0 || self.value_size == 0 || self.max_entries == 0 {
            return bad(format!(
                "key_size {}, value_size {} and max_entries {} must be non-zero",
                self.key_size, self.value_size, self.max_entries
            ));
        }
        match self.kind {
            MapType::DevmapHash if self.key_size != 4 || !matches!(self.value_size, 4 | 8) => {
                return bad(format!(
                    "key_size {} / value_size {} (must be 4 / 4 or 8)",
                    self.key_size, self.value_size
                ));
            }
            k if k.is_hash() => {}
            k if k.is_array() && self.key_size != 4 => {
                return bad(format!("key_size {} (must be 4)", self.key_size));
            }
            MapType::Array | MapType::PercpuArray => {}
            MapType::LpmTrie => {
                let d = self.lpm_data_size();
                if self.key_size <= LPM_HEADER || d > LPM_MAX_DATA {
                    return bad(format!(
                        "key_size {} (must be 4 + 1..={LPM_MAX_DATA} data bytes)",
                        self.key_size
                    ));
                }
            }
            _ => {
                if self.key_size != 4 || !matches!(self.value_size, 4 | 8) {
                    return bad(format!(
                        "key_size {} / value_size {} (must be 4 / 4 or 8)",
                        self.key_size, self.value_size
                    ));
                }
            }
        }
        if self.value_area() > MAP_STRIDE {
            return Err(ConfigError::TooBig {
                need: self.value_area(),
            });
        }
        Ok(())
    }
}

/// A map definition the table cannot hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("map index {0} out of range (the table has {MAX_MAPS} rows)")]
    Index(usize),
    #[error("unknown map type {0}")]
    Type(u32),
    #[error("{kind} maps are not on the device: {why}")]
    NotOnDevice {
        kind: &'static str,
        why: &'static str,
    },
    #[error("{kind} map: {what}")]
    Shape { kind: &'static str, what: String },
    #[error("map values need {need} bytes, more than the {MAP_STRIDE}-byte area of one map")]
    TooBig { need: u64 },
    #[error(
        "{kind} map of {need} entries: the direct store (ARRAY and DEVMAP, {total} words) has {free} words free for it"
    )]
    DirectStore {
        kind: &'static str,
        need: u32,
        free: u32,
        total: u32,
    },
}

/// Why a map operation failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    /// Linux error numbers (returned to programs as `-errno`).
    #[error("-ENOENT (no such entry)")]
    NoEnt,
    #[error("-E2BIG (map full or index out of range)")]
    TooBig,
    #[error("-EEXIST (entry exists)")]
    Exist,
    #[error("-EINVAL (invalid flags, prefix or operation)")]
    Inval,
    #[error("-ENOSPC (LPM map full)")]
    NoSpc,
    /// Not an errno: the handle names no configured map (the program or the
    /// caller is wrong; helpers fault on it).
    #[error("{0:#x} is not the handle of a configured map")]
    NoMap(u64),
    /// Not an errno: a key or value slice of the wrong length.
    #[error("{what} of {got} bytes, the map's is {want}")]
    Size {
        what: &'static str,
        got: usize,
        want: u32,
    },
    /// Not an errno: the values are lent to a memory that was not passed.
    #[error("map {0}'s values are lent to a program's memory")]
    Lent(usize),
    /// Not an errno: an operation the map's kind does not have (Linux's
    /// verifier refuses the program; the host's syscall says EINVAL).
    #[error("{op} is not an operation of {kind} maps{hint}")]
    NotOp {
        kind: &'static str,
        op: &'static str,
        hint: &'static str,
    },
}

impl MapError {
    /// The positive Linux errno, for errors a program sees.
    pub fn errno(self) -> Option<i64> {
        Some(match self {
            MapError::NoEnt => contract::ENOENT,
            MapError::TooBig => contract::E2BIG,
            MapError::Exist => contract::EEXIST,
            MapError::Inval => contract::EINVAL,
            MapError::NoSpc => contract::ENOSPC,
            _ => return None,
        })
    }

    /// The r0 a helper returns for this error (`-errno` as u64).
    pub fn r0(self) -> Option<u64> {
        self.errno().map(|e| (-e) as u64)
    }
}

/// A result and the cycles the coprocessor spent on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timed<T> {
    pub value: T,
    pub cycles: u32,
}

/// Where an entry's value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub index: u32,
    /// `map_handle(map) + index * value_size`.
    pub addr: u64,
}

/// Kind of coprocessor operation, for latencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapOp {
    Lookup,
    Update,
    Delete,
}

/// Latencies in cycles, and how the unit takes operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapTiming {
    pub cam_read: u32,
    pub cam_write: u32,
    pub tcam_read: u32,
    pub tcam_write: u32,
    pub array_read: u32,
    pub array_write: u32,
    /// One operation a clock (the RTL's) or one at a time (the published
    /// coprocessor's: [`MapTiming::published`]).
    pub issue: contract::MapIssue,
}

impl MapTiming {
    /// The published system's map unit: its CAM/TCAM latencies
    /// (`contract::PUBLISHED_*_CYCLES`), one operation at a time.
    pub fn published() -> Self {
        MapTiming {
            cam_read: contract::PUBLISHED_CAM_READ_CYCLES,
            cam_write: contract::PUBLISHED_CAM_WRITE_CYCLES,
            tcam_read: contract::PUBLISHED_TCAM_READ_CYCLES,
            tcam_write: contract::PUBLISHED_TCAM_WRITE_CYCLES,
            issue: contract::MapIssue::Serial,
            ..MapTiming::default()
        }
    }
}

impl Default for MapTiming {
    fn default() -> Self {
        MapTiming {
            cam_read: contract::CAM_READ_CYCLES,
            cam_write: contract::CAM_WRITE_CYCLES,
            tcam_read: contract::TCAM_READ_CYCLES,
            tcam_write: contract::TCAM_WRITE_CYCLES,
            array_read: contract::ARRAY_READ_CYCLES,
            array_write: contract::ARRAY_WRITE_CYCLES,
            issue: contract::MapIssue::Pipelined,
        }
    }
}

/// Capacities and timing of the coprocessor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapConfig {
    pub cam_entries: usize,
    pub tcam_entries: usize,
    /// Words of the direct store shared by ARRAY and DEVMAP maps (one per
    /// index); `rtl/ebpf_units_params.vh`'s `U_DIRECT_WORDS` is generated
    /// from the default.
    pub direct_words: u32,
    pub timing: MapTiming,
}

/// Default size of the direct store ([`MapConfig::direct_words`]): 1,024
/// 64-bit words, 8 KiB of distributed RAM in the RTL.
pub const DIRECT_WORDS: u32 = 1024;

impl Default for MapConfig {
    fn default() -> Self {
        MapConfig {
            cam_entries: contract::CAM_ENTRIES,
            tcam_entries: contract::TCAM_ENTRIES,
            direct_words: DIRECT_WORDS,
            timing: MapTiming::default(),
        }
    }
}

#[derive(Debug, Clone)]
struct Row {
    def: MapDef,
    /// Value bytes; `None` while lent to a program's memory.
    values: Option<Vec<u8>>,
    /// Entries present (HASH, LPM_TRIE, DEVMAP).
    count: u32,
    /// HASH/LPM slot allocator: next never-used slot and freed slots.
    fresh: u32,
    freed: Vec<u32>,
    /// DEVMAP presence.
    present: Vec<bool>,
    /// ARRAY/DEVMAP: first word in the direct store.
    base: u32,
    /// The software engines' hash kinds (not [`MapType::on_device`]): keys
    /// in a CAM of the map's own, `max_entries` deep, so they neither take
    /// nor are limited by the device's shared CAM.
    own_cam: Option<Cam>,
    /// LRU kinds: per slot, when it was last used (0: free) and its CAM
    /// address; the slots by last use; the clock of the stamps.
    used: Vec<u64>,
    addr: Vec<usize>,
    order: BTreeMap<u64, u32>,
    clock: u64,
    /// QUEUE and STACK values, ring buffer records, perf events.
    ev: events::RowEvents,
}

impl Row {
    fn new(def: MapDef) -> Self {
        let n = def.value_area() as usize;
        let (def_lru, max) = (def.kind.is_lru(), def.max_entries);
        let (def_hash, def_device) = (def.kind.is_hash(), def.kind.on_device());
        let present = if def.kind.is_slotted() {
            vec![false; def.max_entries as usize]
        } else {
            Vec::new()
        };
        Row {
            def,
            values: Some(vec![0; n]),
            count: 0,
            fresh: 0,
            freed: Vec::new(),
            present,
            base: 0,
            own_cam: (def_hash && !def_device).then(|| Cam::new(max as usize)),
            used: if def_lru {
                vec![0; max as usize]
            } else {
                Vec::new()
            },
            addr: if def_lru {
                vec![0; max as usize]
            } else {
                Vec::new()
            },
            order: BTreeMap::new(),
            clock: 0,
            ev: events::RowEvents::default(),
        }
    }

    /// Mark `slot` used now (LRU kinds).
    fn touch(&mut self, slot: u32) {
        if let Some(u) = self.used.get_mut(slot as usize) {
            if *u != 0 {
                self.order.remove(u);
            }
            self.clock += 1;
            *u = self.clock;
            self.order.insert(self.clock, slot);
        }
    }

    /// `slot` was freed (LRU kinds).
    fn forget(&mut self, slot: u32) {
        if let Some(u) = self.used.get_mut(slot as usize)
            && *u != 0
        {
            self.order.remove(u);
            *u = 0;
        }
    }

    /// Insert (or find) `key` of hash row `self` (map `i`) in `cam`: its slot.
    fn hash_slot(
        &mut self,
        i: usize,
        cam: &mut Cam,
        key: &[u8],
        flags: u64,
    ) -> Result<u32, MapError> {
        let max = self.def.max_entries;
        match cam.search(i as u8, key).and_then(|a| cam.get(a)) {
            Some(_) if flags == contract::BPF_NOEXIST => Err(MapError::Exist),
            Some(e) => Ok(e.slot),
            None if flags == contract::BPF_EXIST => Err(MapError::NoEnt),
            None => {
                if self.def.kind.is_lru()
                    && (self.count >= max || cam.is_full())
                    && let Some((_, victim)) = self.order.pop_first()
                {
                    self.used[victim as usize] = 0;
                    cam.remove(self.addr[victim as usize]);
                    self.freed.push(victim);
                    self.count -= 1;
                }
                if self.count >= max || cam.is_full() {
                    return Err(MapError::TooBig);
                }
                let s = self.alloc().ok_or(MapError::TooBig)?;
                let a = cam
                    .insert(CamEntry {
                        map: i as u8,
                        key: key.to_vec(),
                        slot: s,
                    })
                    .ok_or(MapError::TooBig)?;
                if let Some(x) = self.addr.get_mut(s as usize) {
                    *x = a;
                }
                self.count += 1;
                Ok(s)
            }
        }
    }

    /// Direct-store words of the row: `[base, end)` (ARRAY and DEVMAP).
    fn words(&self) -> Option<(u32, u32)> {
        (self.def.kind.is_direct() && self.def.kind.on_device())
            .then(|| (self.base, self.base + self.def.max_entries))
    }

    fn alloc(&mut self) -> Option<u32> {
        if let Some(s) = self.freed.pop() {
            return Some(s);
        }
        (self.fresh < self.def.max_entries).then(|| {
            self.fresh += 1;
            self.fresh - 1
        })
    }
}

/// The map coprocessor's state: the map table, CAM, TCAM and value areas.
#[derive(Debug, Clone)]
pub struct MapTable {
    cfg: MapConfig,
    rows: Vec<Option<Row>>,
    cam: Cam,
    tcam: Tcam,
    /// Direct-store window new rows take words from: next free, end.
    dnext: u32,
    dend: u32,
    /// The resident programs a PROG_ARRAY slot names: program id `k` (what
    /// the slot holds, from 1) is `programs[k - 1]`.
    programs: Vec<std::sync::Arc<crate::Program>>,
}

impl Default for MapTable {
    fn default() -> Self {
        Self::new(MapConfig::default())
    }
}

fn flags_ok(flags: u64) -> bool {
    flags <= contract::BPF_EXIST
}

fn u32_key(key: &[u8]) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&key[..4]);
    u32::from_le_bytes(b)
}

impl MapTable {
    pub fn new(cfg: MapConfig) -> Self {
        MapTable {
            cfg,
            rows: vec![None; MAX_MAPS],
            cam: Cam::new(cfg.cam_entries),
            tcam: Tcam::new(cfg.tcam_entries),
            dnext: 0,
            dend: cfg.direct_words,
            programs: Vec::new(),
        }
    }

    /// The resident programs PROG_ARRAY slots name (ids 1..=n), as the
    /// loader links them (the entry program first).
    pub fn set_programs(&mut self, programs: Vec<std::sync::Arc<crate::Program>>) {
        self.programs = programs;
    }

    /// Resident program `id` (from 1).
    pub fn program(&self, id: u32) -> Option<&std::sync::Arc<crate::Program>> {
        self.programs.get((id as usize).checked_sub(1)?)
    }

    /// A value written into PROG_ARRAY or map-in-map row `kind` must name a
    /// resident program or another map that is not itself a map-in-map
    /// (0: an empty ARRAY-like slot), as Linux takes only such fds.
    fn check_id(&self, kind: MapType, id: u32) -> Result<(), MapError> {
        let ok = match kind {
            MapType::ProgArray => id == 0 || self.program(id).is_some(),
            MapType::ArrayOfMaps | MapType::HashOfMaps => {
                (id == 0 && kind == MapType::ArrayOfMaps)
                    || (id as usize)
                        .checked_sub(1)
                        .and_then(|r| self.def(r))
                        .is_some_and(|d| !d.kind.is_map_in_map() && d.kind != MapType::ProgArray)
            }
            _ => true,
        };
        if ok { Ok(()) } else { Err(MapError::Inval) }
    }

    pub fn config(&self) -> &MapConfig {
        &self.cfg
    }

    pub fn cam(&self) -> &Cam {
        &self.cam
    }

    pub fn tcam(&self) -> &Tcam {
        &self.tcam
    }

    /// Define map `index` (any earlier map there and its entries go away).
    pub fn configure(&mut self, index: usize, def: MapDef) -> Result<(), ConfigError> {
        if index >= MAX_MAPS {
            return Err(ConfigError::Index(index));
        }
        def.check()?;
        self.unconfigure(index);
        let mut row = Row::new(def);
        if let Some((_, n)) = row.words() {
            let free = self.dend - self.dnext;
            if n > free {
                return Err(ConfigError::DirectStore {
                    kind: row.def.kind.name(),
                    need: n,
                    free,
                    total: self.cfg.direct_words,
                });
            }
            row.base = self.dnext;
            self.dnext += n;
        }
        self.rows[index] = Some(row);
        Ok(())
    }

    /// Empty rows `rows` for a reload beside the others (the MAPLOAD
    /// register): their maps and entries go; the direct-store window for the
    /// rows configured next is the larger free end of the store beside the
    /// rows that stay (all of it when none of them uses the store; the lower
    /// end on a tie).
    pub fn reload(&mut self, rows: std::ops::Range<usize>) {
        for r in rows {
            self.unconfigure(r);
        }
        let used = self.rows.iter().flatten().filter_map(Row::words);
        let (lo, hi) = used.fold((u32::MAX, 0), |(lo, hi), (b, e)| (lo.min(b), hi.max(e)));
        let total = self.cfg.direct_words;
        (self.dnext, self.dend) = if lo == u32::MAX {
            (0, total)
        } else if lo >= total - hi {
            (0, lo)
        } else {
            (hi, total)
        };
    }

    /// Remove map `index` and its entries.
    pub fn unconfigure(&mut self, index: usize) {
        if let Some(slot) = self.rows.get_mut(index)
            && slot.take().is_some()
        {
            self.cam.remove_map(index as u8);
            self.tcam.remove_map(index as u8);
        }
    }

    /// Remove every map (the CLEAN register); the whole direct store is free.
    pub fn clear(&mut self) {
        for i in 0..MAX_MAPS {
            self.unconfigure(i);
        }
        self.dnext = 0;
        self.dend = self.cfg.direct_words;
    }

    pub fn def(&self, index: usize) -> Option<&MapDef> {
        self.rows.get(index)?.as_ref().map(|r| &r.def)
    }

    /// Configured maps in index order.
    pub fn defs(&self) -> impl Iterator<Item = (usize, &MapDef)> {
        self.rows
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.as_ref().map(|r| (i, &r.def)))
    }

    /// Index of the configured map `handle` names.
    pub fn index_of(&self, handle: u64) -> Result<usize, MapError> {
        contract::map_index(handle)
            .filter(|&i| self.rows[i].is_some())
            .ok_or(MapError::NoMap(handle))
    }

    /// Entries present in map `index` (ARRAY: `max_entries`).
    pub fn len(&self, index: usize) -> usize {
        match self.rows.get(index).and_then(Option::as_ref) {
            Some(r) if r.def.kind.is_array() => r.def.max_entries as usize,
            Some(r) if !r.def.kind.has_entries() => r.ev.len(),
            Some(r) => r.count as usize,
            None => 0,
        }
    }

    /// No map has any entry.
    pub fn is_empty(&self) -> bool {
        (0..MAX_MAPS).all(|i| self.len(i) == 0)
    }

    /// Latency of `op` on the map `handle` names (1 cycle for a bad handle:
    /// the table row is read and the request refused).
    pub fn latency(&self, handle: u64, op: MapOp) -> u32 {
        let t = &self.cfg.timing;
        let Ok(i) = self.index_of(handle) else {
            return 1;
        };
        let read = op == MapOp::Lookup;
        match self.rows[i].as_ref().map(|r| r.def.kind) {
            Some(k) if k.is_hash() && read => t.cam_read,
            Some(k) if k.is_hash() => t.cam_write,
            Some(MapType::LpmTrie) if read => t.tcam_read,
            Some(MapType::LpmTrie) => t.tcam_write,
            Some(_) if read => t.array_read,
            _ => t.array_write,
        }
    }

    fn row(&self, handle: u64) -> Result<(usize, &Row), MapError> {
        let i = self.index_of(handle)?;
        match &self.rows[i] {
            Some(r) => Ok((i, r)),
            None => Err(MapError::NoMap(handle)),
        }
    }

    fn slot(i: usize, def: &MapDef, index: u32) -> Slot {
        Slot {
            index,
            addr: contract::map_handle(i) + index as u64 * def.value_size as u64,
        }
    }

    fn check_key(def: &MapDef, key: &[u8]) -> Result<(), MapError> {
        if key.len() != def.key_size as usize {
            return Err(MapError::Size {
                what: "key",
                got: key.len(),
                want: def.key_size,
            });
        }
        Ok(())
    }

    /// Find `key` in the map `handle` names.
    pub fn lookup(&self, handle: u64, key: &[u8]) -> Timed<Result<Option<Slot>, MapError>> {
        let cycles = self.latency(handle, MapOp::Lookup);
        Timed {
            value: self.lookup_inner(handle, key),
            cycles,
        }
    }

    fn lookup_inner(&self, handle: u64, key: &[u8]) -> Result<Option<Slot>, MapError> {
        let (i, r) = self.row(handle)?;
        let def = &r.def;
        events::keyed(def.kind, "lookup")?;
        Self::check_key(def, key)?;
        let found = match def.kind {
            k if k.is_hash() => {
                let cam = r.own_cam.as_ref().unwrap_or(&self.cam);
                cam.search(i as u8, key)
                    .and_then(|a| cam.get(a))
                    .map(|e| e.slot)
            }
            k if k.is_array() => {
                let k = u32_key(key);
                (k < def.max_entries).then_some(k)
            }
            k if k.is_slotted() => {
                let k = u32_key(key);
                (k < def.max_entries && r.present[k as usize]).then_some(k)
            }
            _ => {
                let plen = u32_key(key);
                if plen > def.max_prefixlen() {
                    None
                } else {
                    self.tcam
                        .search(i as u8, &key[4..], plen)
                        .and_then(|a| self.tcam.get(a))
                        .map(|e| e.slot)
                }
            }
        };
        Ok(found.map(|s| Self::slot(i, def, s)))
    }

    /// Insert or replace `key` with `value`, values in the table's own
    /// storage (not lent).
    pub fn update(
        &mut self,
        handle: u64,
        key: &[u8],
        value: &[u8],
        flags: u64,
    ) -> Timed<Result<Slot, MapError>> {
        self.update_impl(handle, key, value, flags, None)
    }

    /// [`MapTable::update`] while the values may be lent to `mem`.
    pub fn update_in(
        &mut self,
        handle: u64,
        key: &[u8],
        value: &[u8],
        flags: u64,
        mem: &mut Memory,
    ) -> Timed<Result<Slot, MapError>> {
        self.update_impl(handle, key, value, flags, Some(mem))
    }

    /// [`MapTable::update_in`] but for the value bytes, which are not
    /// written: they come back with the slot for the caller to write at the
    /// slot's address when it chooses (the device writes an XDP update's
    /// value when the helper answers, as the RTL's value memory does).
    pub fn update_in_deferred(
        &mut self,
        handle: u64,
        key: &[u8],
        value: &[u8],
        flags: u64,
        mem: &mut Memory,
    ) -> Timed<Result<(Slot, Vec<u8>), MapError>> {
        let cycles = self.latency(handle, MapOp::Update);
        let mut bytes = Some(Vec::new());
        let r = self.update_inner(handle, key, value, flags, Some(mem), &mut bytes);
        Timed {
            value: r.map(|s| (s, bytes.unwrap_or_default())),
            cycles,
        }
    }

    fn update_impl(
        &mut self,
        handle: u64,
        key: &[u8],
        value: &[u8],
        flags: u64,
        mem: Option<&mut Memory>,
    ) -> Timed<Result<Slot, MapError>> {
        let cycles = self.latency(handle, MapOp::Update);
        Timed {
            value: self.update_inner(handle, key, value, flags, mem, &mut None),
            cycles,
        }
    }

    /// The update; the value bytes are written at the slot, or left in
    /// `defer` when it is `Some` (for the caller to write).
    fn update_inner(
        &mut self,
        handle: u64,
        key: &[u8],
        value: &[u8],
        flags: u64,
        mem: Option<&mut Memory>,
        defer: &mut Option<Vec<u8>>,
    ) -> Result<Slot, MapError> {
        let i = self.index_of(handle)?;
        if let Some(kind) = self.def(i).map(|d| d.kind)
            && value.len() >= 4
        {
            self.check_id(kind, u32_key(value))?;
        }
        let (cam, tcam) = (&mut self.cam, &mut self.tcam);
        let Some(r) = self.rows[i].as_mut() else {
            return Err(MapError::NoMap(handle));
        };
        events::keyed(r.def.kind, "update")?;
        Self::check_key(&r.def, key)?;
        if value.len() != r.def.value_size as usize {
            return Err(MapError::Size {
                what: "value",
                got: value.len(),
                want: r.def.value_size,
            });
        }
        if !flags_ok(flags) {
            return Err(MapError::Inval);
        }
        // Check the value area is reachable before changing anything.
        let area = r.def.value_area() as usize;
        let reachable = r.values.is_some()
            || mem
                .as_deref()
                .and_then(|m| m.region(&r.def.region_name(i)))
                .is_some_and(|g| g.data.len() == area);
        if !reachable {
            return Err(MapError::Lent(i));
        }
        let max = r.def.max_entries;
        let slot = match r.def.kind {
            k if k.is_array() => {
                let k = u32_key(key);
                if k >= max {
                    return Err(MapError::TooBig);
                }
                if flags == contract::BPF_NOEXIST {
                    return Err(MapError::Exist);
                }
                k
            }
            k if k.is_slotted() => {
                let k = u32_key(key);
                if k >= max {
                    return Err(MapError::TooBig);
                }
                if flags == contract::BPF_NOEXIST {
                    return Err(MapError::Exist);
                }
                let on = u32_key(value) != 0;
                let was = r.present[k as usize];
                r.present[k as usize] = on;
                match (was, on) {
                    (false, true) => r.count += 1,
                    (true, false) => r.count -= 1,
                    _ => {}
                }
                if !on {
                    let zero = vec![0; value.len()];
                    match defer {
                        Some(d) => *d = zero,
                        None => write_value(r, i, k, &zero, mem)?,
                    }
                    return Ok(Self::slot(i, &r.def, k));
                }
                k
            }
            k if k.is_hash() => {
                let mut own = r.own_cam.take();
                let slot = r.hash_slot(i, own.as_mut().unwrap_or(cam), key, flags);
                r.own_cam = own;
                slot?
            }
            _ => {
                let plen = u32_key(key);
                if plen > r.def.max_prefixlen() {
                    return Err(MapError::Inval);
                }
                let mask = prefix_mask(key.len() - 4, plen);
                let v = masked(&key[4..], &mask);
                match tcam.find_exact(i as u8, plen, &v).and_then(|a| tcam.get(a)) {
                    Some(_) if flags == contract::BPF_NOEXIST => return Err(MapError::Exist),
                    Some(e) => e.slot,
                    None if flags == contract::BPF_EXIST => return Err(MapError::NoEnt),
                    None => {
                        if r.count >= max || tcam.is_full() {
                            return Err(MapError::NoSpc);
                        }
                        let s = r.alloc().ok_or(MapError::NoSpc)?;
                        tcam.insert(TcamEntry {
                            map: i as u8,
                            prefixlen: plen,
                            value: v,
                            mask,
                            slot: s,
                        });
                        r.count += 1;
                        s
                    }
                }
            }
        };
        match defer {
            Some(d) => *d = value.to_vec(),
            None => write_value(r, i, slot, value, mem)?,
        }
        r.touch(slot);
        Ok(Self::slot(i, &r.def, slot))
    }

    /// A program's lookup: [`MapTable::lookup`], and a hit marks the entry
    /// used (LRU kinds). The helpers call this; the host's reads call
    /// `lookup`, which leaves the order alone, as Linux's syscalls do.
    pub fn lookup_used(
        &mut self,
        handle: u64,
        key: &[u8],
    ) -> Timed<Result<Option<Slot>, MapError>> {
        let t = self.lookup(handle, key);
        if let Ok(Some(s)) = t.value
            && let Ok(i) = self.index_of(handle)
            && let Some(r) = self.rows[i].as_mut()
        {
            r.touch(s.index);
        }
        t
    }

    /// Remove `key`.
    pub fn delete(&mut self, handle: u64, key: &[u8]) -> Timed<Result<(), MapError>> {
        let cycles = self.latency(handle, MapOp::Delete);
        Timed {
            value: self.delete_inner(handle, key),
            cycles,
        }
    }

    fn delete_inner(&mut self, handle: u64, key: &[u8]) -> Result<(), MapError> {
        let i = self.index_of(handle)?;
        let (cam, tcam) = (&mut self.cam, &mut self.tcam);
        let Some(r) = self.rows[i].as_mut() else {
            return Err(MapError::NoMap(handle));
        };
        events::keyed(r.def.kind, "delete")?;
        Self::check_key(&r.def, key)?;
        match r.def.kind {
            k if k.is_array() => Err(MapError::Inval),
            k if k.is_slotted() => {
                let k = u32_key(key);
                if k >= r.def.max_entries {
                    return Err(MapError::Inval);
                }
                if r.present[k as usize] {
                    r.present[k as usize] = false;
                    r.count -= 1;
                }
                Ok(())
            }
            k if k.is_hash() => {
                let cam = r.own_cam.as_mut().unwrap_or(cam);
                let a = cam.search(i as u8, key).ok_or(MapError::NoEnt)?;
                let e = cam.remove(a).ok_or(MapError::NoEnt)?;
                r.forget(e.slot);
                r.freed.push(e.slot);
                r.count -= 1;
                Ok(())
            }
            _ => {
                let plen = u32_key(key);
                if plen > r.def.max_prefixlen() {
                    return Err(MapError::Inval);
                }
                let v = masked(&key[4..], &prefix_mask(key.len() - 4, plen));
                let a = tcam.find_exact(i as u8, plen, &v).ok_or(MapError::NoEnt)?;
                let e = tcam.remove(a).ok_or(MapError::NoEnt)?;
                r.freed.push(e.slot);
                r.count -= 1;
                Ok(())
            }
        }
    }

    /// The value bytes of `slot` in the table's own storage.
    pub fn value(&self, handle: u64, slot: u32) -> Result<&[u8], MapError> {
        let (i, r) = self.row(handle)?;
        let vs = r.def.value_size as usize;
        let v = r.values.as_deref().ok_or(MapError::Lent(i))?;
        v.get(slot as usize * vs..(slot as usize + 1) * vs)
            .ok_or(MapError::NoEnt)
    }

    /// The value bytes of `slot`, wherever they are (table or `mem`).
    pub fn value_in<'a>(
        &'a self,
        handle: u64,
        slot: u32,
        mem: &'a Memory,
    ) -> Result<&'a [u8], MapError> {
        let (i, r) = self.row(handle)?;
        if r.values.is_some() {
            return self.value(handle, slot);
        }
        let a = Self::slot(i, &r.def, slot).addr;
        mem.read_bytes(a, r.def.value_size as usize)
            .map_err(|_| MapError::Lent(i))
    }

    /// Lookup returning a copy of the value (table storage; for the loader,
    /// the register interface and tests).
    pub fn lookup_value(&self, handle: u64, key: &[u8]) -> Result<Option<Vec<u8>>, MapError> {
        match self.lookup(handle, key).value? {
            None => Ok(None),
            Some(s) => Ok(Some(self.value(handle, s.index)?.to_vec())),
        }
    }

    fn by_value(&self, handle: u64, key: u64) -> Result<(MapDef, Vec<u8>), MapError> {
        let (_, r) = self.row(handle)?;
        let k = r.def.key_from_u64(key).ok_or(MapError::Size {
            what: "by-value key",
            got: 8,
            want: r.def.key_size,
        })?;
        Ok((r.def.clone(), k))
    }

    /// Lookup with a 64-bit key and value by value (the SUME ABI's and the
    /// register interface's view; table storage).
    pub fn lookup_u64(&self, handle: u64, key: u64) -> Timed<Result<Option<u64>, MapError>> {
        let cycles = self.latency(handle, MapOp::Lookup);
        let value = self
            .by_value(handle, key)
            .and_then(|(def, k)| Ok(self.lookup_value(handle, &k)?.map(|v| def.value_to_u64(&v))));
        Timed { value, cycles }
    }

    /// Update with a 64-bit key and value by value (table storage).
    pub fn update_u64(
        &mut self,
        handle: u64,
        key: u64,
        value: u64,
        flags: u64,
    ) -> Timed<Result<(), MapError>> {
        let cycles = self.latency(handle, MapOp::Update);
        let value = self.by_value(handle, key).and_then(|(def, k)| {
            let v = def.value_from_u64(value).ok_or(MapError::Size {
                what: "by-value value",
                got: 8,
                want: def.value_size,
            })?;
            self.update(handle, &k, &v, flags).value.map(|_| ())
        });
        Timed { value, cycles }
    }

    /// Delete with a 64-bit key by value.
    pub fn delete_u64(&mut self, handle: u64, key: u64) -> Timed<Result<(), MapError>> {
        let cycles = self.latency(handle, MapOp::Delete);
        let value = self
            .by_value(handle, key)
            .and_then(|(_, k)| self.delete(handle, &k).value);
        Timed { value, cycles }
    }

    /// The entry (key, value bytes) of map `index` whose key follows
    /// `after` (the first one when `None`) in key order: keys compared as
    /// little-endian unsigned integers (ARRAY and DEVMAP by index, HASH keys
    /// as numbers, LPM_TRIE keys by their data bytes read backwards, then
    /// the prefix length). Stateless like Linux's `get_next_key`, so
    /// entries added or removed between two calls do not shift it; the RTL
    /// finds it by scanning the map's storage (`rtl/ebpf_map_coproc.v`).
    pub fn next_entry(&self, index: usize, after: Option<&[u8]>) -> Option<(Vec<u8>, Vec<u8>)> {
        let le = |a: &[u8], b: &[u8]| a.iter().rev().cmp(b.iter().rev());
        let h = contract::map_handle(index);
        let r = self.rows.get(index)?.as_ref()?;
        if r.def.kind.is_direct() {
            // By index, without listing every index.
            let from = after.map_or(0, |a| u64::from(u32_key(a)) + 1);
            let k = (from..u64::from(r.def.max_entries))
                .find(|&k| r.def.kind.is_array() || r.present[k as usize])?;
            let v = self.value(h, k as u32).ok()?.to_vec();
            return Some(((k as u32).to_le_bytes().to_vec(), v));
        }
        let (k, slot) = self
            .keys(index)
            .into_iter()
            .filter(|(k, _)| after.is_none_or(|a| le(k, a).is_gt()))
            .min_by(|a, b| le(&a.0, &b.0))?;
        let v = self.value(h, slot).ok()?.to_vec();
        Some((k, v))
    }

    /// Keys present in map `index` with their slots (HASH and LPM in CAM
    /// address / TCAM priority order; ARRAY and DEVMAP by index).
    pub fn keys(&self, index: usize) -> Vec<(Vec<u8>, u32)> {
        let Some(r) = self.rows.get(index).and_then(Option::as_ref) else {
            return Vec::new();
        };
        match r.def.kind {
            k if !k.has_entries() => Vec::new(),
            k if k.is_hash() => r
                .own_cam
                .as_ref()
                .unwrap_or(&self.cam)
                .entries()
                .filter(|(_, e)| e.map as usize == index)
                .map(|(_, e)| (e.key.clone(), e.slot))
                .collect(),
            MapType::LpmTrie => self
                .tcam
                .entries()
                .iter()
                .filter(|e| e.map as usize == index)
                .map(|e| {
                    let mut k = e.prefixlen.to_le_bytes().to_vec();
                    k.extend_from_slice(&e.value);
                    (k, e.slot)
                })
                .collect(),
            k if k.is_array() => (0..r.def.max_entries)
                .map(|k| (k.to_le_bytes().to_vec(), k))
                .collect(),
            _ => (0..r.def.max_entries)
                .filter(|&k| r.present[k as usize])
                .map(|k| (k.to_le_bytes().to_vec(), k))
                .collect(),
        }
    }

    /// Move every map's values into `mem` as regions `map<i>[:name]` at
    /// `map_handle(i)` (reusing regions of those names left by an earlier
    /// [`MapTable::reclaim`]).
    pub fn lend(&mut self, mem: &mut Memory) -> Result<(), OverlapError> {
        for (i, row) in self.rows.iter_mut().enumerate() {
            let Some(r) = row else { continue };
            let Some(v) = r.values.take() else { continue };
            let name = r.def.region_name(i);
            let base = contract::map_handle(i);
            // A region left at this base by an earlier map of the same row
            // (another program's) is reused under the new map's name.
            match mem.region_at_base_mut(base) {
                Some(reg) => {
                    reg.data = v;
                    reg.name = name;
                }
                None => {
                    if let Err(e) = mem.add(name, base, Vec::new(), true) {
                        r.values = Some(v);
                        return Err(e);
                    }
                    if let Some(reg) = mem.region_mut(&r.def.region_name(i)) {
                        reg.data = v;
                    }
                }
            }
        }
        Ok(())
    }

    /// Take back the values lent to `mem` (the regions stay, empty, so any
    /// later access through an old pointer faults).
    pub fn reclaim(&mut self, mem: &mut Memory) {
        for (i, row) in self.rows.iter_mut().enumerate() {
            let Some(r) = row else { continue };
            if r.values.is_some() {
                continue;
            }
            let name = r.def.region_name(i);
            if let Some(reg) = mem.region_mut(&name) {
                r.values = Some(std::mem::take(&mut reg.data));
            }
        }
    }

    /// Every map's values are in the table (none lent).
    pub fn is_home(&self) -> bool {
        self.rows.iter().flatten().all(|r| r.values.is_some())
    }
}

fn write_value(
    r: &mut Row,
    i: usize,
    slot: u32,
    value: &[u8],
    mem: Option<&mut Memory>,
) -> Result<(), MapError> {
    let vs = r.def.value_size as usize;
    let off = slot as usize * vs;
    let buf: &mut [u8] = match (&mut r.values, mem) {
        (Some(v), _) => v,
        (None, Some(m)) => match m.region_mut(&r.def.region_name(i)) {
            Some(reg) if reg.data.len() >= off + vs => &mut reg.data,
            _ => return Err(MapError::Lent(i)),
        },
        (None, None) => return Err(MapError::Lent(i)),
    };
    buf[off..off + vs].copy_from_slice(value);
    Ok(())
}

#[cfg(test)]
mod tests;
