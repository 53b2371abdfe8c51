//! Helper functions as hardware units, and the device state they share.
//!
//! Every helper a program may call is a unit of the device with a modeled
//! latency ([`HelperUnit`], table [`UNITS`]): map operations go to the map
//! coprocessor (CAM/TCAM/block RAM latencies from [`MapTable::latency`]);
//! the timer and PRNG are one register read; redirect and the XDP window
//! adjustments one register write; `csum_diff`, the copies and
//! `trace_printk` one helper-port word (8 bytes) per cycle
//! ([`contract::helper_mem_clocks`]).
//! The bodies run against a [`SharedDeviceState`] (map table, timer, PRNG,
//! the trace FIFOs ([`TraceLog`], bounded), per-engine state) and are registered into a
//! [`Helpers`] registry per engine by [`crate::abi::Abi::helpers`].
//!
//! After each call the engine's [`EngineState::last_call`] holds the helper
//! id and its latency, so a pipeline model can stall for it (in a data plane
//! map operations additionally wait for the map unit's issue slot:
//! [`DeviceState::arbitrate`], [`contract::MapIssue`]). State the engine needs
//! after the run is in [`EngineState`]: the redirect target set by
//! `bpf_redirect`/`bpf_redirect_map`; the adjusted XDP window is in the
//! context (`xdp_md.data`/`data_end`) of the run's memory.

use crate::abi::{self, CTX_REGION, PACKET_REGION};
use crate::contract::{self, EINVAL};
use crate::helpers::{HelperOutcome, Helpers, Tick};
use crate::isa::Width;
use crate::maps::{MapConfig, MapError, MapOp, MapTable, MapType};
use crate::mem::Memory;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Default PRNG seed (any non-zero value; xorshift needs one).
pub const DEFAULT_SEED: u32 = 0x2545_f491;

/// Device-wide configuration of the shared units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnitsConfig {
    pub maps: MapConfig,
    /// Engines (four on the board).
    pub engines: usize,
    /// Seed of `bpf_get_prandom_u32`'s xorshift32 (0 is replaced by
    /// [`DEFAULT_SEED`]).
    pub seed: u32,
}

/// The software engines' units (interpreter, pipeline): the device's map
/// coprocessor but for its direct store, which holds any ARRAY
/// ([`contract::SW_DIRECT_WORDS`]); the device model passes its own
/// [`MapConfig`].
impl Default for UnitsConfig {
    fn default() -> Self {
        UnitsConfig {
            maps: MapConfig {
                direct_words: contract::SW_DIRECT_WORDS,
                ..MapConfig::default()
            },
            engines: 4,
            seed: DEFAULT_SEED,
        }
    }
}

/// Where `bpf_redirect`/`bpf_redirect_map` sent the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectTarget {
    /// One port (the ifindex, which on this device is the port number).
    Port(u32),
    /// `BPF_F_BROADCAST`: every port of the devmap.
    Broadcast { exclude_ingress: bool },
    /// A host queue (CPUMAP, XSKMAP).
    Host(HostQueue),
    /// tc `bpf_redirect` with `BPF_F_INGRESS`: into this port's receive
    /// path.
    Ingress(u32),
}

/// Where a redirect to the host goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostQueue {
    /// CPUMAP: the queue of this host CPU.
    Cpu(u32),
    /// XSKMAP: the AF_XDP socket of this index (the receive queue).
    Xsk(u32),
}

impl std::fmt::Display for HostQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostQueue::Cpu(c) => write!(f, "cpu:{c}"),
            HostQueue::Xsk(q) => write!(f, "xsk:{q}"),
        }
    }
}

/// The latency of the last helper call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallRecord {
    pub id: u32,
    pub cycles: u32,
}

/// State of one engine the helpers set and the engine reads after the run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EngineState {
    pub redirect: Option<RedirectTarget>,
    pub last_call: Option<CallRecord>,
    /// Totals since the device was created.
    pub helper_calls: u64,
    pub helper_cycles: u64,
    /// Clocks spent waiting for the map coprocessor while another engine's
    /// operation held it (the arbiter's wait; only when the device arbitrates).
    pub coproc_wait: u64,
    /// What the tc helpers know of the packet beyond its context.
    pub skb: SkbState,
    /// Tail calls: the resident program a `bpf_tail_call` of this packet
    /// jumps to (taken by the runner, which starts it), and the tail calls
    /// the packet has made (at most [`contract::MAX_TAIL_CALL_CNT`]).
    pub tail: Option<u32>,
    pub tail_calls: u32,
    /// The buffer helper call under way whose words in map values are read
    /// a clock at a time ([`BufCall`]).
    pub buf_call: Option<BufCall>,
}

/// A buffer helper's words in map values on the data plane (an arbitrating
/// [`DeviceState`]), read as the RTL's helper memory port reads them: a
/// port word a clock from the request's on ([`contract::helper_mem_clocks`];
/// `csum_diff`'s `from`, then `to`; a copy from its first word, or from its
/// last when the destination is above the source), each at the engine's
/// place in its clock's order, so it sees the other engines' stores up to
/// then. The body reads every buffer in the request's clock (word 0's);
/// the pipeline's hook ([`Helpers::tick`]) reads each later word in its
/// clock, and at the answer's clock `csum_diff` answers from the words so
/// read and `xdp_store_bytes` writes them into the packet. A copy into a
/// map value (`xdp_load_bytes`) lands a word at a time instead, as
/// [`PendingWrite`]s, each in the clock after the one its word is written
/// in by the port (two after its read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BufCall {
    /// The device clock of the request.
    pub start: u64,
    /// Clocks after the request's of the answer.
    pub last: u32,
    /// The words in map values: the clock after the request's each is
    /// read in, its address and size, its buffer and offset there.
    pub reads: Vec<(u32, u64, usize, usize, usize)>,
    /// The buffers as read so far (`csum_diff`'s `from` and `to`; a
    /// copy's in the first).
    pub bufs: [Vec<u8>; 2],
    pub kind: BufKind,
}

/// What a [`BufCall`] does at its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BufKind {
    /// `csum_diff` with this seed.
    Csum(u32),
    /// `xdp_store_bytes` into the packet at this address.
    Store(u64),
}

/// Whether `addr` is in the map values' part of the address map.
fn in_map_values(addr: u64) -> bool {
    addr.wrapping_sub(contract::MAP_BASE) < contract::MAX_MAPS as u64 * contract::MAP_STRIDE
}

/// The port words of a buffer of `n` bytes at `addr` (at most
/// [`contract::HELPER_MEM_MAX_BYTES`] counted): (word index, address,
/// bytes, offset in the buffer).
fn port_words(addr: u64, n: usize) -> impl Iterator<Item = (u32, u64, usize, usize)> {
    let wb = contract::HELPER_MEM_BYTES_PER_CLOCK as usize;
    let words = contract::helper_mem_words(n as u64) as usize;
    (0..words).map(move |j| {
        let off = j * wb;
        (j as u32, addr + off as u64, wb.min(n - off), off)
    })
}

/// The clock after the request's a copy of `words` port words reads word
/// `j` in: from the first, or from the last when `dst` is above `src`.
fn copy_clock(src: u64, dst: u64, words: u32, j: u32) -> u32 {
    if dst > src { words - 1 - j } else { j }
}

/// The hook of an XDP engine's helpers ([`Helpers::tick`]): this clock's
/// words of its [`BufCall`], and at the answer's clock the answer or the
/// packet's bytes.
fn buf_tick(s: &mut DeviceState, engine: usize, mem: &Memory, k: u32) -> Tick {
    let now = s.cycle;
    let Some(bc) = s.engines.get_mut(engine).and_then(|e| e.buf_call.as_mut()) else {
        return Tick::default();
    };
    if bc.start + u64::from(k) != now || k > bc.last {
        // Not this call's (its program stopped before the answer).
        s.engines[engine].buf_call = None;
        return Tick::default();
    }
    for &(at, addr, n, b, off) in &bc.reads {
        if at == k
            && let Ok(v) = mem.read_bytes(addr, n)
        {
            bc.bufs[b][off..off + n].copy_from_slice(v);
        }
    }
    if k < bc.last {
        return Tick::default();
    }
    let Some(bc) = s.engines[engine].buf_call.take() else {
        return Tick::default();
    };
    let [a, b] = bc.bufs;
    match bc.kind {
        BufKind::Csum(seed) => Tick {
            answer: Some(Ok(HelperOutcome::Return(u64::from(csum_diff(
                &a, &b, seed,
            ))))),
            packet: None,
        },
        BufKind::Store(at) => Tick {
            answer: None,
            packet: Some((at, a)),
        },
    }
}

/// The parts of a Linux `sk_buff` the tc helpers use that `__sk_buff`
/// does not show (per packet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkbState {
    /// Offset of the network header from `data` (`ETH_HLEN` on arrival;
    /// `bpf_skb_change_head` moves the MAC header in front of it).
    pub net_off: u32,
    /// `bpf_skb_adjust_room` has encapsulated the packet once already.
    pub encapsulation: bool,
}

impl Default for SkbState {
    fn default() -> Self {
        SkbState {
            net_off: contract::ETH_HLEN as u32,
            encapsulation: false,
        }
    }
}

impl EngineState {
    /// Forget per-packet state (redirect target, last call, skb state).
    pub fn begin_packet(&mut self) {
        self.redirect = None;
        self.last_call = None;
        self.skb = SkbState::default();
        self.tail = None;
        self.tail_calls = 0;
    }
}

/// The units all engines share.
#[derive(Debug, Clone)]
pub struct DeviceState {
    pub maps: MapTable,
    /// The device timer: cycles since reset (advanced by whoever models
    /// time; `ktime_get_ns` converts it at [`contract::CLOCK_HZ`]).
    pub cycle: u64,
    rng: u32,
    /// The trace unit's FIFOs, one per engine (bounded; the host drains
    /// them).
    pub log: TraceLog,
    pub engines: Vec<EngineState>,
    /// Serialize coprocessor operations in time (set by a data plane that
    /// advances [`Self::cycle`]): an operation issued while another holds
    /// the coprocessor waits for it. Single-packet runs leave it off.
    pub arbitrate: bool,
    /// First clock the map unit takes another operation (its issue slot;
    /// [`contract::MapIssue`]).
    pub coproc_free_at: u64,
    /// The clock the map unit last ran an operation of its queue: the
    /// next runs in a later clock, once its words are read
    /// ([`contract::ptr_map_issue_clocks`]); an update's value lands in
    /// the map values in the clock after it runs.
    pub coproc_ran_at: u64,
    /// The forwarding table `bpf_fib_lookup` reads (empty: no interface
    /// but the loopback).
    pub fib: Arc<crate::fib::Fib>,
    /// XDP updates' value bytes and `xdp_load_bytes` words not yet in the
    /// map values (arbitrating data plane only): each lands at `addr` in
    /// the clock `at` (an update's the one after the helper's answer, a
    /// copy word's the one after the port writes it), before the engines
    /// of that clock run, as the RTL's value memory takes it at the edge
    /// of the clock before; those of one clock in the RTL's order
    /// ([`Self::land_pending`]).
    pub pending: Vec<PendingWrite>,
}

/// A map value write waiting for its clock ([`DeviceState::pending`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingWrite {
    pub at: u64,
    pub addr: u64,
    pub bytes: Vec<u8>,
    /// What writes it, and for which engine: the writes due in one clock
    /// land in the RTL's order of them ([`DeviceState::land_pending`]).
    pub source: WriteSource,
    pub engine: usize,
}

/// The unit a [`PendingWrite`] comes from. The order of the variants is
/// the order the RTL's value memory takes writes landing in one clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum WriteSource {
    /// `bpf_map_update_elem`'s value (at most one answers in a clock).
    Update,
    /// A word of `bpf_xdp_load_bytes` into a map value.
    Copy,
}

impl Default for DeviceState {
    fn default() -> Self {
        Self::new(UnitsConfig::default())
    }
}

impl DeviceState {
    pub fn new(cfg: UnitsConfig) -> Self {
        DeviceState {
            maps: MapTable::new(cfg.maps),
            cycle: 0,
            rng: if cfg.seed == 0 {
                DEFAULT_SEED
            } else {
                cfg.seed
            },
            log: TraceLog::default(),
            engines: vec![EngineState::default(); cfg.engines],
            arbitrate: false,
            coproc_free_at: 0,
            coproc_ran_at: 0,
            fib: Arc::default(),
            pending: Vec::new(),
        }
    }

    /// The timer in nanoseconds.
    pub fn now_ns(&self) -> u64 {
        now_ns(self.cycle)
    }

    pub fn advance(&mut self, cycles: u64) {
        self.cycle += cycles;
    }

    pub fn reseed(&mut self, seed: u32) {
        self.rng = if seed == 0 { DEFAULT_SEED } else { seed };
    }

    /// xorshift32 (Marsaglia 13/17/5).
    pub fn next_random(&mut self) -> u32 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng = x;
        x
    }

    /// Write the pending map value bytes due by clock `now` (all of them
    /// with `None`) into `mem`, where the map values are lent: clock by
    /// clock, and within a clock in the RTL's order, so that where two
    /// writes of a clock cover the same bytes the one the RTL keeps lands
    /// last. The value memory's always block (`rtl/ebpf_units.v`, "value
    /// memory writes") writes, at the edge of a clock, the update answered
    /// in it (at most one: map operations answer in turn), then the copy
    /// words of `xdp_load_bytes` in engine index order (engine 0 first,
    /// not the clock's rotating order), the last nonblocking write to a
    /// byte winning. The order of the calls does not decide it: an update
    /// requested after a copy started, or a copy of a lower engine stepped
    /// later in the rotation, still lands under the other. The sort is
    /// stable (one source and engine write no two overlapping words in a
    /// clock).
    pub fn land_pending(&mut self, mem: &mut Memory, now: Option<u64>) {
        if self.pending.is_empty() {
            return;
        }
        self.pending.sort_by_key(|w| (w.at, w.source, w.engine));
        let n = self
            .pending
            .partition_point(|w| now.is_none_or(|n| w.at <= n));
        for w in self.pending.drain(..n) {
            // The slot's bytes are the map's own (the update found them).
            let _ = mem.write_bytes(w.addr, &w.bytes);
        }
    }

    pub fn engine(&self, e: usize) -> EngineState {
        self.engines.get(e).cloned().unwrap_or_default()
    }

    pub fn engine_mut(&mut self, e: usize) -> &mut EngineState {
        if e >= self.engines.len() {
            self.engines.resize(e + 1, EngineState::default());
        }
        &mut self.engines[e]
    }
}

/// The device state behind a lock, shared by every engine's helpers, the
/// loader and the register interface.
#[derive(Debug, Clone, Default)]
pub struct SharedDeviceState(Arc<Mutex<DeviceState>>);

impl SharedDeviceState {
    pub fn new(cfg: UnitsConfig) -> Self {
        SharedDeviceState(Arc::new(Mutex::new(DeviceState::new(cfg))))
    }

    pub fn lock(&self) -> MutexGuard<'_, DeviceState> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut DeviceState) -> R) -> R {
        f(&mut self.lock())
    }
}

/// A helper's latency, from the device state, the calling engine's
/// memory as the call finds it (its context: `xdp_adjust_head`'s depends
/// on the metadata before `data`; `trace_printk` reads its format to know
/// its strings) and r1..r5.
pub type LatencyFn = fn(&DeviceState, &Memory, &[u64; 5]) -> u32;

/// One helper unit.
#[derive(Debug, Clone, Copy)]
pub struct HelperUnit {
    pub id: u32,
    pub name: &'static str,
    /// Argument registers the helper reads, r1 up to r`args`: its Linux
    /// prototype's parameters (`trace_printk` its format, size and three
    /// values). The unit reads no other; a load-time rewrite
    /// (`nfbpf_loader::optimize`) may take the others as not read.
    pub args: u8,
    pub latency: LatencyFn,
    /// The call goes to the map coprocessor, which the engines share in time
    /// ([`DeviceState::arbitrate`]; the other units are per engine or
    /// contention-free).
    pub coprocessor: bool,
}

fn lat_simple(_: &DeviceState, _: &Memory, _: &[u64; 5]) -> u32 {
    contract::SIMPLE_HELPER_CYCLES
}
fn lat_lookup(d: &DeviceState, _: &Memory, a: &[u64; 5]) -> u32 {
    d.maps.latency(a[0], MapOp::Lookup)
}
fn lat_update(d: &DeviceState, _: &Memory, a: &[u64; 5]) -> u32 {
    d.maps.latency(a[0], MapOp::Update)
}
/// `map_update_elem` in the pointer ABIs (XDP, tc): the key's and value's
/// port words past the write latency ([`contract::ptr_update_cycles`]).
fn lat_ptr_update(d: &DeviceState, m: &Memory, a: &[u64; 5]) -> u32 {
    let write = lat_update(d, m, a);
    match d.maps.index_of(a[0]).ok().and_then(|i| d.maps.def(i)) {
        Some(def) => contract::ptr_update_cycles(write, def.key_size, def.value_size),
        None => write,
    }
}
fn lat_delete(d: &DeviceState, _: &Memory, a: &[u64; 5]) -> u32 {
    d.maps.latency(a[0], MapOp::Delete)
}
/// One buffer through the helper memory port
/// ([`contract::helper_mem_clocks`]).
fn per_word(bytes: u64) -> u32 {
    contract::helper_mem_clocks(&[bytes])
}
/// `from` and `to`, each its own port words.
fn lat_csum(_: &DeviceState, _: &Memory, a: &[u64; 5]) -> u32 {
    contract::helper_mem_clocks(&[a[1] as u32 as u64, a[3] as u32 as u64])
}
/// `xdp_load_bytes`/`xdp_store_bytes`: `len` is r4.
fn lat_copy(_: &DeviceState, _: &Memory, a: &[u64; 5]) -> u32 {
    per_word(a[3] as u32 as u64)
}
/// `trace_printk`: the format's words, then [`contract::PRINTK_STR_WORDS`]
/// of each `%s` of a valid format ([`contract::printk_clocks`]).
fn lat_printk(_: &DeviceState, mem: &Memory, a: &[u64; 5]) -> u32 {
    let fmt_size = a[1] as u32 as u64;
    let strings = printk_strings(mem, a[0], fmt_size, contract::PRINTK_ARGS);
    contract::printk_clocks(fmt_size, strings)
}
/// `xdp_adjust_tail`: one register write; growing the frame (r2 > 0)
/// zeroes the bytes it exposes through the helper memory port, a word a
/// clock ([`contract::helper_mem_clocks`] over r2 bytes), whether or not
/// the window has room.
fn lat_tail(_: &DeviceState, _: &Memory, a: &[u64; 5]) -> u32 {
    let off = a[1] as u32 as i32;
    if off > 0 {
        contract::helper_mem_clocks(&[off as u64])
    } else {
        contract::SIMPLE_HELPER_CYCLES
    }
}
/// `xdp_adjust_head`: one register write; with metadata before `data`
/// (`data - data_meta` bytes in the context) the metadata moves through
/// the helper memory port, a word read and written a clock
/// ([`contract::xdp_adjust_head_clocks`]), whether or not the adjustment
/// is taken.
fn lat_head(_: &DeviceState, mem: &Memory, _: &[u64; 5]) -> u32 {
    let field = |off| mem.load(contract::CTX_BASE + off, Width::W).ok();
    let meta_bytes = match (field(abi::xdp_md::DATA), field(abi::xdp_md::DATA_META)) {
        (Some(data), Some(meta)) => data.saturating_sub(meta),
        _ => 0,
    };
    contract::xdp_adjust_head_clocks(meta_bytes)
}
/// `ringbuf_output`: `size` is r3; `perf_event_output`: r5.
fn lat_r3(_: &DeviceState, _: &Memory, a: &[u64; 5]) -> u32 {
    per_word(a[2])
}
fn lat_r5(_: &DeviceState, _: &Memory, a: &[u64; 5]) -> u32 {
    per_word(a[4])
}
/// `trace_vprintk`: the format and the argument array, then each `%s`'s
/// words ([`contract::vprintk_clocks`]).
fn lat_vprintk(_: &DeviceState, mem: &Memory, a: &[u64; 5]) -> u32 {
    let (fmt_size, len) = (a[1] as u32 as u64, a[3] as u32 as u64);
    let nargs = (len / 8) as usize;
    let ok = len.is_multiple_of(8)
        && nargs <= contract::MAX_BPRINTF_VARARGS
        && (len == 0 || a[2] != 0)
        && (len == 0 || mem.read_bytes(a[2], len as usize).is_ok());
    let strings = if ok {
        printk_strings(mem, a[0], fmt_size, nargs)
    } else {
        0
    };
    contract::vprintk_clocks(fmt_size, len, strings)
}

/// Every helper unit of the device (both ABIs; SUME's 1..3 take keys and
/// values by value but cost the same).
pub const UNITS: &[HelperUnit] = &[
    HelperUnit {
        id: contract::HELPER_MAP_LOOKUP_ELEM,
        name: "map_lookup_elem",
        args: 2,
        latency: lat_lookup,
        coprocessor: true,
    },
    HelperUnit {
        id: contract::HELPER_MAP_UPDATE_ELEM,
        name: "map_update_elem",
        args: 4,
        latency: lat_update,
        coprocessor: true,
    },
    HelperUnit {
        id: contract::HELPER_MAP_DELETE_ELEM,
        name: "map_delete_elem",
        args: 2,
        latency: lat_delete,
        coprocessor: true,
    },
    HelperUnit {
        id: contract::HELPER_KTIME_GET_NS,
        name: "ktime_get_ns",
        args: 0,
        latency: lat_simple,
        coprocessor: false,
    },
    HelperUnit {
        id: contract::HELPER_TRACE_PRINTK,
        name: "trace_printk",
        args: 5,
        latency: lat_printk,
        coprocessor: false,
    },
    HelperUnit {
        id: contract::HELPER_GET_PRANDOM_U32,
        name: "get_prandom_u32",
        args: 0,
        latency: lat_simple,
        coprocessor: false,
    },
    HelperUnit {
        id: contract::HELPER_TAIL_CALL,
        name: "tail_call",
        args: 3,
        latency: lat_simple,
        coprocessor: false,
    },
    HelperUnit {
        id: contract::HELPER_REDIRECT,
        name: "redirect",
        args: 2,
        latency: lat_simple,
        coprocessor: false,
    },
    HelperUnit {
        id: contract::HELPER_CSUM_DIFF,
        name: "csum_diff",
        args: 5,
        latency: lat_csum,
        coprocessor: false,
    },
    HelperUnit {
        id: contract::HELPER_XDP_ADJUST_HEAD,
        name: "xdp_adjust_head",
        args: 2,
        latency: lat_head,
        coprocessor: false,
    },
    HelperUnit {
        id: contract::HELPER_REDIRECT_MAP,
        name: "redirect_map",
        args: 3,
        latency: lat_lookup,
        coprocessor: true,
    },
    HelperUnit {
        id: contract::HELPER_XDP_ADJUST_TAIL,
        name: "xdp_adjust_tail",
        args: 2,
        latency: lat_tail,
        coprocessor: false,
    },
    HelperUnit {
        id: contract::HELPER_GET_SMP_PROCESSOR_ID,
        name: "get_smp_processor_id",
        args: 0,
        latency: lat_simple,
        coprocessor: false,
    },
    HelperUnit {
        id: contract::HELPER_XDP_ADJUST_META,
        name: "xdp_adjust_meta",
        args: 2,
        latency: lat_simple,
        coprocessor: false,
    },
    HelperUnit {
        id: contract::HELPER_XDP_GET_BUFF_LEN,
        name: "xdp_get_buff_len",
        args: 1,
        latency: lat_simple,
        coprocessor: false,
    },
    HelperUnit {
        id: contract::HELPER_XDP_LOAD_BYTES,
        name: "xdp_load_bytes",
        args: 4,
        latency: lat_copy,
        coprocessor: false,
    },
    HelperUnit {
        id: contract::HELPER_XDP_STORE_BYTES,
        name: "xdp_store_bytes",
        args: 4,
        latency: lat_copy,
        coprocessor: false,
    },
    // The tc ABI's own helpers (software engines only: the device runs no
    // tc programs). Copies cost a word per cycle, the rest one cycle.
    HelperUnit {
        id: contract::HELPER_SKB_STORE_BYTES,
        name: "skb_store_bytes",
        args: 5,
        latency: lat_copy,
        coprocessor: false,
    },
    HelperUnit {
        id: contract::HELPER_SKB_LOAD_BYTES,
        name: "skb_load_bytes",
        args: 4,
        latency: lat_copy,
        coprocessor: false,
    },
    HelperUnit {
        id: contract::HELPER_L3_CSUM_REPLACE,
        name: "l3_csum_replace",
        args: 5,
        latency: lat_simple,
        coprocessor: false,
    },
    HelperUnit {
        id: contract::HELPER_L4_CSUM_REPLACE,
        name: "l4_csum_replace",
        args: 5,
        latency: lat_simple,
        coprocessor: false,
    },
    HelperUnit {
        id: contract::HELPER_SKB_PULL_DATA,
        name: "skb_pull_data",
        args: 2,
        latency: lat_simple,
        coprocessor: false,
    },
    HelperUnit {
        id: contract::HELPER_SKB_VLAN_PUSH,
        name: "skb_vlan_push",
        args: 3,
        latency: lat_simple,
        coprocessor: false,
    },
    HelperUnit {
        id: contract::HELPER_SKB_VLAN_POP,
        name: "skb_vlan_pop",
        args: 1,
        latency: lat_simple,
        coprocessor: false,
    },
    HelperUnit {
        id: contract::HELPER_SKB_CHANGE_PROTO,
        name: "skb_change_proto",
        args: 3,
        latency: lat_simple,
        coprocessor: false,
    },
    HelperUnit {
        id: contract::HELPER_SKB_CHANGE_HEAD,
        name: "skb_change_head",
        args: 3,
        latency: lat_simple,
        coprocessor: false,
    },
    HelperUnit {
        id: contract::HELPER_SKB_ADJUST_ROOM,
        name: "skb_adjust_room",
        args: 4,
        latency: lat_simple,
        coprocessor: false,
    },
    HelperUnit {
        id: contract::HELPER_REDIRECT_NEIGH,
        name: "redirect_neigh",
        args: 4,
        latency: lat_simple,
        coprocessor: false,
    },
    HelperUnit {
        id: contract::HELPER_KTIME_GET_BOOT_NS,
        name: "ktime_get_boot_ns",
        args: 0,
        latency: lat_simple,
        coprocessor: false,
    },
    // Software engines only ([`not_on_device`]): one lookup, costed as a
    // simple unit.
    HelperUnit {
        id: contract::HELPER_FIB_LOOKUP,
        name: "fib_lookup",
        args: 4,
        latency: lat_simple,
        coprocessor: false,
    },
    // Queue and event maps and the simple helpers of `events` (software
    // engines: the device refuses those maps). A value is copied a word
    // per cycle, as the other copies; queue operations cost a direct
    // store's access (`MapTable::latency` of their kinds).
    HelperUnit {
        id: contract::HELPER_MAP_PUSH_ELEM,
        name: "map_push_elem",
        args: 3,
        latency: lat_update,
        coprocessor: false,
    },
    HelperUnit {
        id: contract::HELPER_MAP_POP_ELEM,
        name: "map_pop_elem",
        args: 2,
        latency: lat_update,
        coprocessor: false,
    },
    HelperUnit {
        id: contract::HELPER_MAP_PEEK_ELEM,
        name: "map_peek_elem",
        args: 2,
        latency: lat_lookup,
        coprocessor: false,
    },
    HelperUnit {
        id: contract::HELPER_RINGBUF_OUTPUT,
        name: "ringbuf_output",
        args: 4,
        latency: lat_r3,
        coprocessor: false,
    },
    HelperUnit {
        id: contract::HELPER_RINGBUF_RESERVE,
        name: "ringbuf_reserve",
        args: 3,
        latency: lat_simple,
        coprocessor: false,
    },
    HelperUnit {
        id: contract::HELPER_RINGBUF_SUBMIT,
        name: "ringbuf_submit",
        args: 2,
        latency: lat_simple,
        coprocessor: false,
    },
    HelperUnit {
        id: contract::HELPER_RINGBUF_DISCARD,
        name: "ringbuf_discard",
        args: 2,
        latency: lat_simple,
        coprocessor: false,
    },
    HelperUnit {
        id: contract::HELPER_RINGBUF_QUERY,
        name: "ringbuf_query",
        args: 2,
        latency: lat_simple,
        coprocessor: false,
    },
    HelperUnit {
        id: contract::HELPER_PERF_EVENT_OUTPUT,
        name: "perf_event_output",
        args: 5,
        latency: lat_r5,
        coprocessor: false,
    },
    HelperUnit {
        id: contract::HELPER_KTIME_GET_COARSE_NS,
        name: "ktime_get_coarse_ns",
        args: 0,
        latency: lat_simple,
        coprocessor: false,
    },
    HelperUnit {
        id: contract::HELPER_TRACE_VPRINTK,
        name: "trace_vprintk",
        args: 4,
        latency: lat_vprintk,
        coprocessor: false,
    },
    // Software engines only ([`not_on_device`]): an engine runs one packet
    // at a time, so the lock is always free.
    HelperUnit {
        id: contract::HELPER_SPIN_LOCK,
        name: "spin_lock",
        args: 1,
        latency: lat_simple,
        coprocessor: false,
    },
    HelperUnit {
        id: contract::HELPER_SPIN_UNLOCK,
        name: "spin_unlock",
        args: 1,
        latency: lat_simple,
        coprocessor: false,
    },
];

/// Why the device (model and RTL) does not provide helper `id`, for the
/// helpers only the software engines run.
pub const fn not_on_device(id: u32) -> Option<&'static str> {
    match id {
        contract::HELPER_FIB_LOOKUP => Some(
            "the device has no forwarding table (interfaces, routes, neighbours) and no \
             registers to load one; the interpreter and the pipeline run it against `nfbpf run \
             --fib FILE`",
        ),
        contract::HELPER_SPIN_LOCK | contract::HELPER_SPIN_UNLOCK => Some(
            "the device has no lock between its engines, which run packets in parallel over \
             shared map values; the interpreter and the pipeline run one packet at a time per \
             engine, where the lock is always free",
        ),
        _ => None,
    }
}

/// `bpf_spin_lock(lock)` / `bpf_spin_unlock(lock)` for XDP and tc on the
/// software engines: an engine runs one packet at a time, so the lock is
/// always free and both return 0 without writing the lock word (which stays
/// 0, as Linux shows it: a program cannot read it, and the syscall side's
/// copies of the value give 0 there). `lock` must lie in the value area of
/// a HASH or ARRAY map (the only kinds Linux lets hold a lock), 4-aligned.
fn spin_lock_at(s: &DeviceState, what: &str, lock: u64) -> Result<u64, String> {
    let base = lock & !(contract::MAP_STRIDE - 1);
    let in_value = s.maps.defs().any(|(i, d)| {
        contract::map_handle(i) == base
            && matches!(
                d.kind,
                crate::maps::MapType::Hash | crate::maps::MapType::Array
            )
            && lock - base + 4 <= d.value_area()
    });
    if !in_value || !lock.is_multiple_of(4) {
        return Err(format!(
            "{what}: r1 = {lock:#x} is not a struct bpf_spin_lock in a HASH or ARRAY map value"
        ));
    }
    Ok(0)
}

/// `bpf_spin_lock(lock)` ([`spin_lock_at`]).
pub fn spin_lock(
    s: &mut DeviceState,
    _: usize,
    _: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    spin_lock_at(s, "spin_lock", a[0])
}

/// `bpf_spin_unlock(lock)` ([`spin_lock_at`]).
pub fn spin_unlock(
    s: &mut DeviceState,
    _: usize,
    _: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    spin_lock_at(s, "spin_unlock", a[0])
}

/// `bpf_fib_lookup(ctx, params, plen, flags)` for XDP and tc
/// ([`crate::fib::fib_lookup`]): the struct is read and written back
/// whole; `plen` bytes at `params` must be the program's (the verifier's
/// check).
pub fn fib_lookup(
    s: &mut DeviceState,
    _: usize,
    mem: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    use crate::fib::PARAMS_SIZE;
    if a[0] != contract::CTX_BASE {
        return Err(format!("fib_lookup: r1 = {:#x} is not the context", a[0]));
    }
    let plen = a[2] as u32 as i32;
    if plen > 0 {
        mem.read_bytes(a[1], plen as usize).map_err(|e| {
            format!(
                "fib_lookup: params: {plen} bytes at {:#x} (r2, the size in r3) are not the program's memory: {e}",
                a[1]
            )
        })?;
    }
    if plen < PARAMS_SIZE as i32 {
        return Ok(neg(EINVAL));
    }
    let mut p = [0u8; PARAMS_SIZE];
    p.copy_from_slice(&read(mem, a[1], PARAMS_SIZE, "fib_lookup params")?);
    // tc: the packet's length (`skb->len`).
    let skb_len = match mem.region(&crate::abi::skb_region("len")) {
        Some(_) => Some(
            mem.load(contract::CTX_BASE + crate::abi::sk_buff::LEN, Width::W)
                .map_err(|e| format!("__sk_buff.len: {e}"))? as u32,
        ),
        None => None,
    };
    let r0 = crate::fib::fib_lookup(&s.fib, &mut p, plen, a[3] as u32, skb_len);
    mem.write_bytes(a[1], &p)
        .map_err(|e| format!("fib_lookup params: {e}"))?;
    Ok(r0)
}

pub fn unit(id: u32) -> Option<&'static HelperUnit> {
    UNITS.iter().find(|u| u.id == id)
}

/// A helper body: device state, engine, the program's memory, r1..r5.
pub type Body = fn(&mut DeviceState, usize, &mut Memory, [u64; 5]) -> Result<u64, String>;

/// Register unit `id` with `body` for `engine` (by-value arguments: the SUME
/// ABI).
pub fn register(h: &mut Helpers, dev: &SharedDeviceState, engine: usize, id: u32, body: Body) {
    if let Some(u) = unit(id) {
        register_timed(h, dev, engine, u, u.latency, by_value_issue, body);
    }
}

/// [`register`] for the pointer ABIs (XDP, tc): an update reads its key and
/// value through the helper memory port ([`lat_ptr_update`]), and a map
/// operation holds the map unit's issue slot while they are read
/// ([`ptr_issue`]).
fn register_ptr(h: &mut Helpers, dev: &SharedDeviceState, engine: usize, id: u32, body: Body) {
    let Some(u) = unit(id) else { return };
    let lat = if id == contract::HELPER_MAP_UPDATE_ELEM {
        lat_ptr_update
    } else {
        u.latency
    };
    let issue = match id {
        contract::HELPER_MAP_UPDATE_ELEM => ptr_update_issue,
        contract::HELPER_MAP_LOOKUP_ELEM | contract::HELPER_MAP_DELETE_ELEM => ptr_key_issue,
        _ => by_value_issue,
    };
    register_timed(h, dev, engine, u, lat, issue, body);
}

/// Clocks a map operation holds the map unit's issue slot
/// ([`contract::ptr_map_issue_clocks`]).
type IssueFn = fn(&DeviceState, &[u64; 5]) -> u32;

fn by_value_issue(_: &DeviceState, _: &[u64; 5]) -> u32 {
    contract::MAP_ISSUE_CLOCKS
}
fn ptr_issue(d: &DeviceState, a: &[u64; 5], update: bool) -> u32 {
    match d.maps.index_of(a[0]).ok().and_then(|i| d.maps.def(i)) {
        Some(def) => contract::ptr_map_issue_clocks(update, def.key_size, def.value_size),
        None => contract::MAP_ISSUE_CLOCKS,
    }
}
fn ptr_update_issue(d: &DeviceState, a: &[u64; 5]) -> u32 {
    ptr_issue(d, a, true)
}
fn ptr_key_issue(d: &DeviceState, a: &[u64; 5]) -> u32 {
    ptr_issue(d, a, false)
}

fn register_timed(
    h: &mut Helpers,
    dev: &SharedDeviceState,
    engine: usize,
    u: &'static HelperUnit,
    lat: LatencyFn,
    issue: IssueFn,
    body: Body,
) {
    let id = u.id;
    let d = dev.clone();
    let coproc = u.coprocessor;
    h.register(id, u.name, move |mem, a| {
        d.with(|s| {
            let mut cycles = lat(s, mem, &a);
            // One map unit for all engines (engines served in rotating
            // order): an operation takes the first free issue slot, and is
            // answered its latency after the slot's start.
            let mut wait = 0;
            if coproc && s.arbitrate {
                let start = s.cycle.max(s.coproc_free_at);
                wait = start - s.cycle;
                let slot = issue(s, &a);
                let held = match s.maps.config().timing.issue {
                    contract::MapIssue::Pipelined => slot,
                    contract::MapIssue::Serial => cycles,
                };
                s.coproc_free_at = start + u64::from(held);
                // The unit runs the operations of configured maps in this
                // order, one a clock, each once its words are read.
                if s.maps.index_of(a[0]).is_ok() {
                    s.coproc_ran_at = (s.cycle + u64::from(slot)).max(s.coproc_ran_at + 1);
                }
                cycles += wait as u32;
            }
            let r = body(s, engine, mem, a);
            let e = s.engine_mut(engine);
            e.coproc_wait += wait;
            e.last_call = Some(CallRecord { id, cycles });
            e.helper_calls += 1;
            e.helper_cycles += cycles as u64;
            r.map(HelperOutcome::Return)
        })
    });
}

fn neg(errno: i64) -> u64 {
    (-errno) as u64
}

fn errno_or_fault(e: MapError) -> Result<u64, String> {
    e.r0().ok_or_else(|| e.to_string())
}

fn map_def(s: &DeviceState, handle: u64) -> Result<(usize, crate::maps::MapDef), String> {
    let i = s.maps.index_of(handle).map_err(|e| e.to_string())?;
    let d = s.maps.def(i).cloned().ok_or("map vanished")?;
    Ok((i, d))
}

/// A map helper's key or value through its pointer (XDP, tc): never in the
/// context, which Linux's verifier refuses there as for a helper's buffer
/// ([`not_ctx`]; the RTL's helper memory port does not reach it either).
fn map_arg(mem: &Memory, helper: &str, addr: u64, len: u32, what: &str) -> Result<Vec<u8>, String> {
    not_ctx(mem, helper, what, addr, u64::from(len))?;
    read(mem, addr, len as usize, what)
}

fn read(mem: &Memory, addr: u64, len: usize, what: &str) -> Result<Vec<u8>, String> {
    mem.read_bytes(addr, len)
        .map(<[u8]>::to_vec)
        .map_err(|e| format!("{what}: {e}"))
}

// ---- XDP map helpers: keys and values through pointers ----

/// A program reaches a PROG_ARRAY only through `bpf_tail_call`, and an
/// ARRAY_OF_MAPS or HASH_OF_MAPS only through lookups (Linux's verifier
/// refuses the rest at load; the model faults naming the map).
fn program_map_use(d: &crate::maps::MapDef, helper: &str, lookup: bool) -> Result<(), String> {
    if d.kind == MapType::ProgArray || (d.kind.is_map_in_map() && !lookup) {
        let only = if d.kind == MapType::ProgArray {
            "bpf_tail_call"
        } else {
            "bpf_map_lookup_elem"
        };
        return Err(format!(
            "{helper} on map {:?}, a {}: programs reach it only through {only}",
            d.name,
            d.kind.name()
        ));
    }
    Ok(())
}

/// The handle of the inner map whose id (row + 1) a map-in-map slot at
/// `addr` holds.
fn inner_handle(s: &DeviceState, mem: &Memory, addr: u64) -> Result<u64, String> {
    let id = mem
        .load(addr, crate::isa::Width::W)
        .map_err(|e| format!("map-in-map slot: {e}"))? as u32;
    let row = (id as usize)
        .checked_sub(1)
        .filter(|&r| s.maps.def(r).is_some())
        .ok_or_else(|| format!("map-in-map slot holds map id {id}, which is not configured"))?;
    Ok(contract::map_handle(row))
}

/// `bpf_tail_call(ctx, prog_array, index)` (helper 12), as Linux's
/// interpreter and JITs: an index past `max_entries` falls through; so does
/// the call once the packet has made [`contract::MAX_TAIL_CALL_CNT`] of
/// them; else the count goes up, and an empty slot falls through too. A
/// taken call stops the program (the runner then starts the slot's
/// program with the same context and packet, a fresh stack and frame). On
/// a fall-through Linux leaves r0 undefined (the verifier lets no program
/// read it); the model gives `-ENOENT`.
pub fn register_tail_call(h: &mut Helpers, dev: &SharedDeviceState, engine: usize) {
    let d = dev.clone();
    h.register(contract::HELPER_TAIL_CALL, "tail_call", move |mem, a| {
        d.with(|s| {
            let (_, def) = map_def(s, a[1])?;
            if def.kind != MapType::ProgArray {
                return Err(format!(
                    "tail_call through map {:?}, a {}: the map must be a PROG_ARRAY",
                    def.name,
                    def.kind.name()
                ));
            }
            let cycles = unit(contract::HELPER_TAIL_CALL).map_or(1, |u| (u.latency)(s, mem, &a));
            let e = s.engine_mut(engine);
            e.last_call = Some(CallRecord {
                id: contract::HELPER_TAIL_CALL,
                cycles,
            });
            e.helper_calls += 1;
            e.helper_cycles += u64::from(cycles);
            let index = a[2] as u32;
            if index >= def.max_entries || e.tail_calls >= contract::MAX_TAIL_CALL_CNT {
                return Ok(HelperOutcome::Return(neg(contract::ENOENT)));
            }
            s.engine_mut(engine).tail_calls += 1;
            let id = match s.maps.lookup(a[1], &index.to_le_bytes()).value {
                Ok(Some(slot)) => {
                    mem.load(slot.addr, crate::isa::Width::W)
                        .map_err(|e| format!("PROG_ARRAY slot: {e}"))? as u32
                }
                Ok(None) => 0,
                Err(e) => return Err(e.to_string()),
            };
            if id == 0 {
                return Ok(HelperOutcome::Return(neg(contract::ENOENT)));
            }
            s.engine_mut(engine).tail = Some(id);
            Ok(HelperOutcome::Unwind(0))
        })
    });
}

pub fn xdp_map_lookup(
    s: &mut DeviceState,
    _: usize,
    mem: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    let (_, d) = map_def(s, a[0])?;
    program_map_use(&d, "map_lookup_elem", true)?;
    let key = map_arg(mem, "map_lookup_elem", a[1], d.key_size, "key")?;
    match s.maps.lookup_used(a[0], &key).value {
        Ok(Some(slot)) if d.kind.is_map_in_map() => inner_handle(s, mem, slot.addr),
        Ok(Some(slot)) => Ok(slot.addr),
        Ok(None) => Ok(0),
        Err(e) => errno_or_fault(e),
    }
}

pub fn xdp_map_update(
    s: &mut DeviceState,
    engine: usize,
    mem: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    let (_, d) = map_def(s, a[0])?;
    program_map_use(&d, "map_update_elem", false)?;
    let key = map_arg(mem, "map_update_elem", a[1], d.key_size, "key")?;
    let val = map_arg(mem, "map_update_elem", a[2], d.value_size, "value")?;
    if s.arbitrate {
        // The data plane: the value lands in the clock after the map unit
        // runs the update, as the RTL's value memory takes it; the entry
        // itself changes now, in the unit's order.
        return match s.maps.update_in_deferred(a[0], &key, &val, a[3], mem).value {
            Ok((slot, bytes)) => {
                let at = s.coproc_ran_at + 1;
                s.pending.push(PendingWrite {
                    at,
                    addr: slot.addr,
                    bytes,
                    source: WriteSource::Update,
                    engine,
                });
                Ok(0)
            }
            Err(e) => errno_or_fault(e),
        };
    }
    match s.maps.update_in(a[0], &key, &val, a[3], mem).value {
        Ok(_) => Ok(0),
        Err(e) => errno_or_fault(e),
    }
}

pub fn xdp_map_delete(
    s: &mut DeviceState,
    _: usize,
    mem: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    let (_, d) = map_def(s, a[0])?;
    program_map_use(&d, "map_delete_elem", false)?;
    let key = map_arg(mem, "map_delete_elem", a[1], d.key_size, "key")?;
    match s.maps.delete(a[0], &key).value {
        Ok(()) => Ok(0),
        Err(e) => errno_or_fault(e),
    }
}

// ---- SUME map helpers: 64-bit keys and values by value ----

fn sume_key(d: &crate::maps::MapDef, k: u64) -> Result<Vec<u8>, String> {
    d.key_from_u64(k).ok_or_else(|| {
        format!(
            "SUME ABI passes keys by value: map {:?} has a {}-byte key",
            d.name, d.key_size
        )
    })
}

fn sume_value(d: &crate::maps::MapDef, v: u64) -> Result<Vec<u8>, String> {
    d.value_from_u64(v).ok_or_else(|| {
        format!(
            "SUME ABI passes values by value: map {:?} has a {}-byte value",
            d.name, d.value_size
        )
    })
}

pub fn sume_map_lookup(
    s: &mut DeviceState,
    _: usize,
    mem: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    let (_, d) = map_def(s, a[0])?;
    let key = sume_key(&d, a[1])?;
    if d.value_size > 8 {
        return Err(format!(
            "SUME ABI returns values by value: map {:?} has a {}-byte value",
            d.name, d.value_size
        ));
    }
    match s.maps.lookup_used(a[0], &key).value {
        Ok(Some(slot)) => {
            let v = s
                .maps
                .value_in(a[0], slot.index, mem)
                .map_err(|e| e.to_string())?;
            Ok(d.value_to_u64(v))
        }
        Ok(None) => Ok(contract::SUME_LOOKUP_MISS),
        Err(e) => errno_or_fault(e),
    }
}

pub fn sume_map_update(
    s: &mut DeviceState,
    _: usize,
    mem: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    let (_, d) = map_def(s, a[0])?;
    let key = sume_key(&d, a[1])?;
    let val = sume_value(&d, a[2])?;
    match s.maps.update_in(a[0], &key, &val, a[3], mem).value {
        Ok(_) => Ok(0),
        Err(e) => errno_or_fault(e),
    }
}

pub fn sume_map_delete(
    s: &mut DeviceState,
    _: usize,
    _: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    let (_, d) = map_def(s, a[0])?;
    let key = sume_key(&d, a[1])?;
    match s.maps.delete(a[0], &key).value {
        Ok(()) => Ok(0),
        Err(e) => errno_or_fault(e),
    }
}

// ---- Timer, PRNG, trace ----

pub fn ktime_get_ns(
    s: &mut DeviceState,
    _: usize,
    _: &mut Memory,
    _: [u64; 5],
) -> Result<u64, String> {
    Ok(s.now_ns())
}

pub fn get_prandom_u32(
    s: &mut DeviceState,
    _: usize,
    _: &mut Memory,
    _: [u64; 5],
) -> Result<u64, String> {
    Ok(s.next_random() as u64)
}

/// `bpf_trace_printk(fmt, fmt_size, a, b, c)`: the format must end with a
/// NUL inside `fmt_size` bytes (else -EINVAL); supports `%d %i %u %x %X %c
/// %s %p %%` with `l`/`ll` and width/`0`/`-` flags, at most three
/// arguments. Logs the text and returns its length, as Linux does.
pub fn trace_printk(
    s: &mut DeviceState,
    engine: usize,
    mem: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    printk(s, engine, mem, a[0], a[1], &[a[2], a[3], a[4]], false)
}

/// The body of `trace_printk` and `trace_vprintk` (`vprintk`: `args` are
/// its array's words): the format at `fmt` (`fmt_size` bytes,
/// NUL-terminated, at most [`contract::PRINTK_FMT_MAX_BYTES`]) with `args`,
/// into the engine's trace FIFO ([`TraceQueue::offer`]).
fn printk(
    s: &mut DeviceState,
    engine: usize,
    mem: &mut Memory,
    fmt: u64,
    fmt_size: u64,
    args: &[u64],
    vprintk: bool,
) -> Result<u64, String> {
    let n = fmt_size as u32 as usize;
    if n == 0 {
        return Ok(neg(EINVAL));
    }
    let raw = read(mem, fmt, n, "format")?;
    if raw[n - 1] != 0 || n as u64 > contract::PRINTK_FMT_MAX_BYTES {
        return Ok(neg(EINVAL));
    }
    let end = raw.iter().position(|&b| b == 0).unwrap_or(n);
    // Each %s's bytes as the trace unit reads them (from its argument to
    // the end of its region, at most PRINTK_STR_BYTES), kept for the record.
    let (mut strs, mut efault) = (Vec::new(), 0u32);
    let formatted = format_printk_with(&raw[..end], args, &mut |v| {
        let b = str_reach(mem, v);
        let (t, n, off_region) = str_text(&b);
        efault |= u32::from(off_region) << strs.len();
        strs.push(b);
        (t, n)
    });
    let Some((text, len)) = formatted else {
        return Ok(neg(EINVAL));
    };
    // The record: the words the trace unit read.
    let mut words = le_words(&raw);
    if vprintk {
        words.extend_from_slice(args);
    }
    let strings = strs.len() as u32;
    for b in &strs {
        let mut w = le_words(b);
        w.resize(contract::PRINTK_STR_WORDS as usize, 0);
        words.extend(w);
    }
    let cycle = s.cycle;
    let nargs = if vprintk {
        args.len()
    } else {
        contract::PRINTK_ARGS
    } as u32;
    let data = if vprintk { 8 * args.len() as u64 } else { 0 };
    let need = contract::trace_record_words(fmt_size as u32 as u64, data, nargs);
    let rec = TraceRecord {
        engine,
        cycle,
        fmt: String::from_utf8_lossy(&raw[..end]).into_owned(),
        text,
        raw: RawTrace {
            cycle,
            ret: len as u32,
            fmt_bytes: n as u32,
            array_words: if vprintk { args.len() as u32 } else { 0 },
            strings,
            vprintk,
            efault,
            args: if vprintk {
                [0; 3]
            } else {
                [args[0], args[1], args[2]]
            },
            words,
        },
    };
    s.log.queue_mut(engine).offer(cycle, need, rec);
    Ok(len as u64)
}

/// `b` as little-endian words, the last padded with zeros.
fn le_words(b: &[u8]) -> Vec<u64> {
    b.chunks(8)
        .map(|c| {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            u64::from_le_bytes(w)
        })
        .collect()
}

/// The `%s` conversions of the format at `fmt` (`fmt_size` bytes) with
/// `nargs` arguments when the format is valid (what `printk` formats
/// rather than answering -EINVAL or faulting), else 0: the strings the
/// trace unit reads ([`contract::printk_clocks`]).
pub fn printk_strings(mem: &Memory, fmt: u64, fmt_size: u64, nargs: usize) -> u32 {
    let n = fmt_size as usize;
    if n == 0 || fmt_size > contract::PRINTK_FMT_MAX_BYTES {
        return 0;
    }
    let Ok(raw) = mem.read_bytes(fmt, n) else {
        return 0;
    };
    if raw[n - 1] != 0 {
        return 0;
    }
    let end = raw.iter().position(|&b| b == 0).unwrap_or(n);
    parse_printk(&raw[..end], nargs).map_or(0, |p| {
        p.iter()
            .filter(|x| matches!(x, Piece::Conv(c) if c.conv == b's'))
            .count() as u32
    })
}

/// The string at `addr` and its length in bytes (at most
/// [`contract::PRINTK_STR_BYTES`]; [`contract::PRINTK_EFAULT_TEXT`] when
/// its memory ends before a NUL).
fn c_string(mem: &Memory, addr: u64) -> (String, usize) {
    let (t, n, _) = str_text(&str_reach(mem, addr));
    (t, n)
}

/// What a `%s` prints of the bytes it reached ([`str_reach`]) and their
/// count: up to the first NUL, all [`contract::PRINTK_STR_BYTES`] without
/// one, or [`contract::PRINTK_EFAULT_TEXT`] (and `true`) when its region
/// ended first.
fn str_text(b: &[u8]) -> (String, usize, bool) {
    match b.iter().position(|&c| c == 0) {
        Some(n) => (String::from_utf8_lossy(&b[..n]).into_owned(), n, false),
        None if b.len() as u64 == contract::PRINTK_STR_BYTES => {
            (String::from_utf8_lossy(b).into_owned(), b.len(), false)
        }
        None => {
            let t = contract::PRINTK_EFAULT_TEXT;
            (t.into(), t.len(), true)
        }
    }
}

/// The bytes a `%s` at `addr` reaches: from `addr` to the end of the
/// region it points into, at most [`contract::PRINTK_STR_BYTES`]; none in
/// the context (the trace unit's port reads the stack, the packet and map
/// values) or outside every region.
fn str_reach(mem: &Memory, addr: u64) -> Vec<u8> {
    let Some(r) = mem
        .regions()
        .iter()
        .find(|r| r.base <= addr && addr < r.end())
    else {
        return Vec::new();
    };
    if r.name == CTX_REGION || r.name.starts_with("__sk_buff.") {
        return Vec::new();
    }
    let n = (r.end() - addr).min(contract::PRINTK_STR_BYTES) as usize;
    mem.read_bytes(addr, n)
        .map(<[u8]>::to_vec)
        .unwrap_or_default()
}

/// One conversion of a format: `%[-][0][width][l|ll]conv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Conv {
    left: bool,
    zero: bool,
    width: usize,
    longs: u32,
    conv: u8,
}

/// A format's pieces: literal bytes (`%%` is one `%`) and conversions.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Lit(Vec<u8>),
    Conv(Conv),
}

/// The format's pieces with `nargs` arguments; `None` for a conversion
/// Linux refuses (unknown, `lll`, cut by the end) or one more than `nargs`.
/// It walks the bytes as the RTL's trace unit does; a width saturates at
/// [`contract::PRINTK_WIDTH_MAX`].
fn parse_printk(fmt: &[u8], nargs: usize) -> Option<Vec<Piece>> {
    let mut out = Vec::new();
    let mut lit = Vec::new();
    let mut it = fmt.iter().copied().peekable();
    let mut n = 0;
    while let Some(c) = it.next() {
        if c != b'%' {
            lit.push(c);
            continue;
        }
        if it.next_if_eq(&b'%').is_some() {
            lit.push(b'%');
            continue;
        }
        let left = it.next_if_eq(&b'-').is_some();
        let zero = it.next_if_eq(&b'0').is_some();
        let mut width = 0usize;
        while let Some(d) = it.next_if(u8::is_ascii_digit) {
            width = (width * 10 + usize::from(d - b'0')).min(contract::PRINTK_WIDTH_MAX as usize);
        }
        let mut longs = 0;
        while it.next_if_eq(&b'l').is_some() {
            longs = (longs + 1).min(3);
        }
        let conv = it.next()?;
        if n >= nargs || longs > 2 || !b"diuxXcps".contains(&conv) {
            return None;
        }
        n += 1;
        if !lit.is_empty() {
            out.push(Piece::Lit(std::mem::take(&mut lit)));
        }
        out.push(Piece::Conv(Conv {
            left,
            zero,
            width,
            longs,
            conv,
        }));
    }
    if !lit.is_empty() {
        out.push(Piece::Lit(lit));
    }
    Some(out)
}

/// The small printf `trace_printk` understands, with `args` (three for
/// `trace_printk`, the array's for `trace_vprintk`). `None` for a bad
/// format or more conversions than arguments.
pub fn format_printk(fmt: &str, args: &[u64], mem: &Memory) -> Option<String> {
    format_printk_bytes(fmt, args, mem).map(|(text, _)| text)
}

/// [`format_printk`] and the bytes Linux writes for it (what the helpers
/// return): a `%c` or `%s` byte that is not ASCII is one byte there, where
/// the text shows it as a character.
pub fn format_printk_bytes(fmt: &str, args: &[u64], mem: &Memory) -> Option<(String, usize)> {
    format_printk_raw(fmt.as_bytes(), args, mem)
}

/// [`format_printk_bytes`] of a format's raw bytes (up to its NUL): each
/// byte counts one, whether or not it is UTF-8 (the text shows a bad
/// sequence as U+FFFD).
pub fn format_printk_raw(fmt: &[u8], args: &[u64], mem: &Memory) -> Option<(String, usize)> {
    format_printk_with(fmt, args, &mut |v| c_string(mem, v))
}

/// [`format_printk_raw`] with each `%s`'s text and length from `string`
/// (given its argument): the memory's, or a trace record's words.
pub fn format_printk_with(
    fmt: &[u8],
    args: &[u64],
    string: &mut dyn FnMut(u64) -> (String, usize),
) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut bytes = 0usize;
    for (piece, v) in parse_printk(fmt, args.len())?.into_iter().scan(0, |n, p| {
        let v = match p {
            Piece::Conv(_) => {
                *n += 1;
                args[*n - 1]
            }
            Piece::Lit(_) => 0,
        };
        Some((p, v))
    }) {
        let c = match piece {
            Piece::Lit(b) => {
                bytes += b.len();
                out.push_str(&String::from_utf8_lossy(&b));
                continue;
            }
            Piece::Conv(c) => c,
        };
        let narrow = c.longs == 0;
        let mut raw = None;
        let body = match c.conv {
            b'd' | b'i' if narrow => (v as u32 as i32).to_string(),
            b'd' | b'i' => (v as i64).to_string(),
            b'u' if narrow => (v as u32).to_string(),
            b'u' => v.to_string(),
            b'x' if narrow => format!("{:x}", v as u32),
            b'x' => format!("{v:x}"),
            b'X' if narrow => format!("{:X}", v as u32),
            b'X' => format!("{v:X}"),
            b'c' => {
                raw = Some(1);
                char::from(v as u8).to_string()
            }
            b'p' => format!("0x{v:x}"),
            _ => {
                let (s, n) = string(v);
                raw = Some(n);
                s
            }
        };
        let raw = raw.unwrap_or(body.len());
        let pad = c.width.saturating_sub(raw);
        bytes += raw + pad;
        if c.left {
            out.push_str(&body);
            out.extend(std::iter::repeat_n(' ', pad));
        } else if c.zero && !matches!(c.conv, b's' | b'c') {
            let (sign, digits) = body.split_at(usize::from(body.starts_with('-')));
            out.push_str(sign);
            out.extend(std::iter::repeat_n('0', pad));
            out.push_str(digits);
        } else {
            out.extend(std::iter::repeat_n(' ', pad));
            out.push_str(&body);
        }
    }
    Some((out, bytes))
}

// ---- Redirect ----

/// `bpf_redirect(ifindex, flags)`: any flag gives XDP_ABORTED.
pub fn redirect(
    s: &mut DeviceState,
    engine: usize,
    _: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    if a[1] != 0 {
        return Ok(contract::XDP_ABORTED);
    }
    s.engine_mut(engine).redirect = Some(RedirectTarget::Port(a[0] as u32));
    Ok(contract::XDP_REDIRECT)
}

/// `bpf_redirect_map(devmap, key, flags)` as Linux's
/// `__bpf_xdp_redirect_map`: unknown flag bits give XDP_ABORTED; a miss
/// clears the target and returns the flags' low two bits (the action to
/// take instead); `BPF_F_BROADCAST` redirects to every port of a DEVMAP
/// or DEVMAP_HASH
/// (CPUMAP and XSKMAP take the action bits only, as Linux). A CPUMAP hit
/// sends the packet to the host CPU of the key, an XSKMAP hit to the
/// AF_XDP socket of the key.
pub fn redirect_map(
    s: &mut DeviceState,
    engine: usize,
    mem: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    const ACTION_MASK: u64 = 3;
    let flags = a[2];
    let (_, d) = map_def(s, a[0])?;
    let devmap = matches!(d.kind, MapType::Devmap | MapType::DevmapHash);
    if !d.kind.is_redirect() && !devmap {
        return Err(format!(
            "redirect_map on a {} map (needs a DEVMAP, DEVMAP_HASH, CPUMAP or XSKMAP)",
            d.kind
        ));
    }
    let extra = match devmap {
        true => contract::BPF_F_BROADCAST | contract::BPF_F_EXCLUDE_INGRESS,
        false => 0,
    };
    if flags & !(ACTION_MASK | extra) != 0 {
        return Ok(contract::XDP_ABORTED);
    }
    let key = (a[1] as u32).to_le_bytes();
    let hit = s.maps.lookup(a[0], &key).value.map_err(|e| e.to_string())?;
    let target = if flags & contract::BPF_F_BROADCAST != 0 {
        Some(RedirectTarget::Broadcast {
            exclude_ingress: flags & contract::BPF_F_EXCLUDE_INGRESS != 0,
        })
    } else if let Some(slot) = hit
        && !devmap
    {
        Some(RedirectTarget::Host(match d.kind {
            MapType::Cpumap => HostQueue::Cpu(slot.index),
            _ => HostQueue::Xsk(slot.index),
        }))
    } else if let Some(slot) = hit {
        let v = s
            .maps
            .value_in(a[0], slot.index, mem)
            .map_err(|e| e.to_string())?;
        Some(RedirectTarget::Port(u32::from_le_bytes([
            v[0], v[1], v[2], v[3],
        ])))
    } else {
        None
    };
    s.engine_mut(engine).redirect = target;
    Ok(match target {
        Some(_) => contract::XDP_REDIRECT,
        None => flags & ACTION_MASK,
    })
}

// ---- Checksum ----

/// x86-64 Linux's `csum_partial`: the ones-complement sum of `buf` as
/// little-endian u64 words (a last partial word zero-padded) added to
/// `sum` with end-around carry, folded to 32 bits.
pub fn csum_partial(buf: &[u8], sum: u32) -> u32 {
    let add = |acc: u64, w: u64| {
        let (s, c) = acc.overflowing_add(w);
        s.wrapping_add(u64::from(c))
    };
    let mut t = u64::from(sum);
    let mut words = buf.chunks_exact(8);
    for w in &mut words {
        t = add(t, u64::from_le_bytes(w.try_into().unwrap_or([0; 8])));
    }
    let tail = words.remainder();
    if !tail.is_empty() {
        let mut b = [0u8; 8];
        b[..tail.len()].copy_from_slice(tail);
        t = add(t, u64::from_le_bytes(b));
    }
    (t.wrapping_add(t.rotate_right(32)) >> 32) as u32
}

/// Linux's `csum_add` of two 32-bit partial sums (end-around carry).
pub fn csum_add(a: u32, b: u32) -> u32 {
    let r = a.wrapping_add(b);
    r.wrapping_add(u32::from(r < b))
}

/// Linux's `csum_from32to16`: a 32-bit partial sum folded to 16 bits (not
/// complemented).
pub fn csum_from32to16(x: u32) -> u32 {
    x.wrapping_add(x.rotate_right(16)) >> 16
}

/// Linux's `bpf_csum_diff` as current kernels compute it (the same on
/// every architecture since the helper lost its scratch pad): the sum of
/// `to` (seeded) minus the sum of `from`, folded to 16 bits with
/// `csum_from32to16`; any sizes, a last partial word of either buffer
/// zero-padded. Programs fold the result again (`csum_fold`), which leaves
/// a 16-bit value as it is. Older kernels returned the unfolded 32-bit sum
/// on x86-64 and refused sizes that are not multiples of 4.
pub fn csum_diff(from: &[u8], to: &[u8], seed: u32) -> u32 {
    let ret = match (from.is_empty(), to.is_empty()) {
        (false, false) => csum_add(csum_partial(to, seed), !csum_partial(from, 0)),
        (true, false) => csum_partial(to, seed),
        (false, true) => !csum_partial(from, !seed),
        (true, true) => seed,
    };
    csum_from32to16(ret)
}

/// The helper: `(from, from_size, to, to_size, seed)`. Current kernels
/// take any sizes (the verifier bounds each by the memory passed; the
/// helper's 512-byte scratch pad and its -EINVAL are gone): here a size
/// beyond the memory it names faults, as the verifier would have refused.
pub fn csum_diff_helper(
    s: &mut DeviceState,
    engine: usize,
    mem: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    s.engine_mut(engine).buf_call = None;
    let (fs, ts) = (a[1] as u32, a[3] as u32);
    not_ctx(mem, "csum_diff", "from (r1)", a[0], fs.into())?;
    not_ctx(mem, "csum_diff", "to (r3)", a[2], ts.into())?;
    let from = if fs == 0 {
        Vec::new()
    } else {
        read(mem, a[0], fs as usize, "from")?
    };
    let to = if ts == 0 {
        Vec::new()
    } else {
        read(mem, a[2], ts as usize, "to")?
    };
    let r0 = csum_diff(&from, &to, a[4] as u32) as u64;
    // The data plane: words in map values read a clock at a time.
    let wf = contract::helper_mem_words(fs.into());
    let mut reads = Vec::new();
    if s.arbitrate {
        for (b, addr, n, k0) in [(0, a[0], from.len(), 0), (1, a[2], to.len(), wf)] {
            if in_map_values(addr) {
                reads.extend(port_words(addr, n).map(|(j, w, wn, off)| (k0 + j, w, wn, b, off)));
            }
        }
    }
    let last = wf + contract::helper_mem_words(ts.into());
    let start = s.cycle;
    s.engine_mut(engine).buf_call = (!reads.is_empty()).then(|| BufCall {
        start,
        last,
        reads,
        bufs: [from, to],
        kind: BufKind::Csum(a[4] as u32),
    });
    Ok(r0)
}

/// A helper's buffer may not lie in the context (`xdp_md`, `__sk_buff`):
/// Linux's verifier refuses a context pointer where a helper takes memory
/// (`ARG_PTR_TO_MEM`: `csum_diff`'s buffers, `xdp_load_bytes`' and
/// `xdp_store_bytes`' `buf`), so the model faults on one, naming it (the
/// RTL's helper memory port does not reach the context either:
/// docs/rtl-dataplane.md).
fn not_ctx(mem: &Memory, helper: &str, what: &str, addr: u64, n: u64) -> Result<(), String> {
    if n == 0 {
        return Ok(());
    }
    let end = addr.saturating_add(n);
    let ctx = mem.regions().iter().find(|r| {
        (r.name == CTX_REGION || r.name.starts_with("__sk_buff.")) && addr < r.end() && r.base < end
    });
    match ctx {
        Some(r) => Err(format!(
            "{helper}: {what}: {n} bytes at {addr:#x} are in the context ({}): Linux's verifier \
             refuses a context pointer as a helper's buffer",
            r.name
        )),
        None => Ok(()),
    }
}

// ---- XDP window ----

fn ctx_u32(mem: &Memory, off: u64) -> Result<u64, String> {
    mem.load(contract::CTX_BASE + off, Width::W)
        .map_err(|e| format!("xdp_md: {e}"))
}

fn set_ctx_u32(mem: &mut Memory, off: u64, v: u64) -> Result<(), String> {
    let r = mem
        .region_mut(CTX_REGION)
        .ok_or("no xdp_md context in this memory")?;
    let o = off as usize;
    r.data
        .get_mut(o..o + 4)
        .ok_or("xdp_md too short")?
        .copy_from_slice(&(v as u32).to_le_bytes());
    Ok(())
}

fn window(mem: &Memory) -> Result<(u64, u64), String> {
    let r = mem
        .region(PACKET_REGION)
        .ok_or("no packet window in this memory")?;
    Ok((r.base, r.end()))
}

fn check_ctx(a0: u64) -> Result<(), String> {
    if a0 != contract::CTX_BASE {
        return Err(format!("r1 = {a0:#x} is not the xdp_md context"));
    }
    Ok(())
}

/// `bpf_xdp_adjust_head(ctx, delta)`: `data += delta`, keeping `data` (and
/// the metadata before it) inside the window past its first
/// [`contract::XDP_FRAME_BYTES`] (as Linux, which keeps its `xdp_frame`
/// there) and at least `ETH_HLEN` bytes before `data_end`; else -EINVAL.
pub fn xdp_adjust_head(
    _: &mut DeviceState,
    _: usize,
    mem: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    check_ctx(a[0])?;
    let delta = a[1] as u32 as i32 as i64;
    let data = ctx_u32(mem, abi::xdp_md::DATA)?;
    let end = ctx_u32(mem, abi::xdp_md::DATA_END)?;
    let meta = ctx_u32(mem, abi::xdp_md::DATA_META)?;
    let (lo, _) = window(mem)?;
    let metalen = data.saturating_sub(meta) as i64;
    let new = data as i64 + delta;
    let lo = (lo + contract::XDP_FRAME_BYTES) as i64;
    if new - metalen < lo || new > end as i64 - contract::ETH_HLEN as i64 {
        return Ok(neg(EINVAL));
    }
    if metalen > 0 {
        // Move the metadata along with the start of the packet.
        let m = read(mem, meta, metalen as usize, "data_meta")?;
        mem.write_bytes((new - metalen) as u64, &m)
            .map_err(|e| e.to_string())?;
    }
    set_ctx_u32(mem, abi::xdp_md::DATA, new as u64)?;
    set_ctx_u32(mem, abi::xdp_md::DATA_META, (meta as i64 + delta) as u64)?;
    Ok(0)
}

/// `bpf_xdp_adjust_tail(ctx, offset)`: `data_end += offset`, keeping it
/// inside the window and at least `ETH_HLEN` bytes after `data`; else
/// -EINVAL. Bytes a grow exposes are zeroed.
pub fn xdp_adjust_tail(
    _: &mut DeviceState,
    _: usize,
    mem: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    check_ctx(a[0])?;
    let off = a[1] as u32 as i32 as i64;
    let data = ctx_u32(mem, abi::xdp_md::DATA)?;
    let end = ctx_u32(mem, abi::xdp_md::DATA_END)?;
    let (_, hi) = window(mem)?;
    let new = end as i64 + off;
    if new > hi as i64 || new < (data + contract::ETH_HLEN as u64) as i64 {
        return Ok(neg(EINVAL));
    }
    if off > 0 {
        mem.write_bytes(end, &vec![0; off as usize])
            .map_err(|e| e.to_string())?;
    }
    set_ctx_u32(mem, abi::xdp_md::DATA_END, new as u64)?;
    Ok(0)
}

/// `bpf_xdp_adjust_meta(ctx, delta)`: `data_meta += delta`, keeping it
/// inside the window past its first [`contract::XDP_FRAME_BYTES`] and at
/// most `data` (else -EINVAL), the metadata (`data - data_meta`) a
/// multiple of 4 bytes (else -EACCES), as Linux.
pub fn xdp_adjust_meta(
    _: &mut DeviceState,
    _: usize,
    mem: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    check_ctx(a[0])?;
    let delta = a[1] as u32 as i32 as i64;
    let data = ctx_u32(mem, abi::xdp_md::DATA)?;
    let meta = ctx_u32(mem, abi::xdp_md::DATA_META)?;
    let (lo, _) = window(mem)?;
    let new = meta as i64 + delta;
    if new < (lo + contract::XDP_FRAME_BYTES) as i64 || new > data as i64 {
        return Ok(neg(EINVAL));
    }
    let metalen = data as i64 - new;
    if metalen % 4 != 0 {
        return Ok(neg(contract::EACCES));
    }
    set_ctx_u32(mem, abi::xdp_md::DATA_META, new as u64)?;
    Ok(0)
}

/// `bpf_xdp_get_buff_len(ctx)`: the packet's length (one buffer, no
/// fragments).
pub fn xdp_get_buff_len(
    _: &mut DeviceState,
    _: usize,
    mem: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    check_ctx(a[0])?;
    Ok(ctx_u32(mem, abi::xdp_md::DATA_END)? - ctx_u32(mem, abi::xdp_md::DATA)?)
}

/// Where `bpf_xdp_{load,store}_bytes(ctx, offset, buf, len)` reach in the
/// packet: `Err(r0)` as Linux answers out of range (-EFAULT beyond 0xffff,
/// -EINVAL past the packet's end).
fn xdp_bytes(mem: &Memory, a: &[u64; 5]) -> Result<Result<(u64, usize), u64>, String> {
    check_ctx(a[0])?;
    let (off, len) = (a[1] as u32 as u64, a[3] as u32 as u64);
    let data = ctx_u32(mem, abi::xdp_md::DATA)?;
    let size = ctx_u32(mem, abi::xdp_md::DATA_END)? - data;
    if off > 0xffff || len > 0xffff {
        return Ok(Err(neg(contract::EFAULT)));
    }
    if off > size || off + len > size {
        return Ok(Err(neg(EINVAL)));
    }
    Ok(Ok((data + off, len as usize)))
}

/// `bpf_xdp_load_bytes(ctx, offset, buf, len)`: packet bytes to `buf`.
pub fn xdp_load_bytes(
    s: &mut DeviceState,
    engine: usize,
    mem: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    let (at, len) = match xdp_bytes(mem, &a)? {
        Ok(x) => x,
        Err(r0) => return Ok(r0),
    };
    not_ctx(mem, "xdp_load_bytes", "buf (r3)", a[2], len as u64)?;
    let b = read(mem, at, len, "packet")?;
    if s.arbitrate && in_map_values(a[2]) && len > 0 {
        // The data plane: into a map value a word at a time, each landing
        // in the clock after the port writes it (BufCall).
        mem.read_bytes(a[2], len).map_err(|e| format!("buf: {e}"))?;
        let words = contract::helper_mem_words(len as u64);
        for (j, addr, n, off) in port_words(a[2], len) {
            let k = copy_clock(at, a[2], words, j);
            s.pending.push(PendingWrite {
                at: s.cycle + u64::from(k) + 2,
                addr,
                bytes: b[off..off + n].to_vec(),
                source: WriteSource::Copy,
                engine,
            });
        }
        return Ok(0);
    }
    mem.write_bytes(a[2], &b).map_err(|e| format!("buf: {e}"))?;
    Ok(0)
}

/// `bpf_xdp_store_bytes(ctx, offset, buf, len)`: `buf` into the packet.
pub fn xdp_store_bytes(
    s: &mut DeviceState,
    engine: usize,
    mem: &mut Memory,
    a: [u64; 5],
) -> Result<u64, String> {
    s.engine_mut(engine).buf_call = None;
    let (at, len) = match xdp_bytes(mem, &a)? {
        Ok(x) => x,
        Err(r0) => return Ok(r0),
    };
    not_ctx(mem, "xdp_store_bytes", "buf (r3)", a[2], len as u64)?;
    let b = read(mem, a[2], len, "buf")?;
    mem.write_bytes(at, &b)
        .map_err(|e| format!("packet: {e}"))?;
    if s.arbitrate && in_map_values(a[2]) && len > 0 {
        // The data plane: the map value's words read a clock at a time,
        // the packet written from them at the answer (BufCall).
        let words = contract::helper_mem_words(len as u64);
        let reads = port_words(a[2], len)
            .map(|(j, addr, n, off)| (copy_clock(a[2], at, words, j), addr, n, 0, off))
            .collect();
        let start = s.cycle;
        s.engine_mut(engine).buf_call = Some(BufCall {
            start,
            last: words,
            reads,
            bufs: [b, Vec::new()],
            kind: BufKind::Store(at),
        });
    }
    Ok(0)
}

/// `bpf_get_smp_processor_id()`: the engine's number (one engine is one
/// CPU, as for per-CPU maps).
pub fn get_smp_processor_id(
    _: &mut DeviceState,
    engine: usize,
    _: &mut Memory,
    _: [u64; 5],
) -> Result<u64, String> {
    Ok(engine as u64)
}

/// Helper ids the XDP ABI provides: every helper unit but the tc ABI's
/// own (the queue and event ones of [`events`] on the software engines
/// only: the device refuses their maps).
pub const XDP_HELPER_IDS: &[u32] = &[
    contract::HELPER_MAP_LOOKUP_ELEM,
    contract::HELPER_MAP_UPDATE_ELEM,
    contract::HELPER_MAP_DELETE_ELEM,
    contract::HELPER_KTIME_GET_NS,
    contract::HELPER_TRACE_PRINTK,
    contract::HELPER_GET_PRANDOM_U32,
    contract::HELPER_REDIRECT,
    contract::HELPER_CSUM_DIFF,
    contract::HELPER_XDP_ADJUST_HEAD,
    contract::HELPER_REDIRECT_MAP,
    contract::HELPER_XDP_ADJUST_TAIL,
    contract::HELPER_GET_SMP_PROCESSOR_ID,
    contract::HELPER_TAIL_CALL,
    contract::HELPER_XDP_ADJUST_META,
    contract::HELPER_XDP_GET_BUFF_LEN,
    contract::HELPER_XDP_LOAD_BYTES,
    contract::HELPER_XDP_STORE_BYTES,
    contract::HELPER_FIB_LOOKUP,
    contract::HELPER_MAP_PUSH_ELEM,
    contract::HELPER_MAP_POP_ELEM,
    contract::HELPER_MAP_PEEK_ELEM,
    contract::HELPER_RINGBUF_OUTPUT,
    contract::HELPER_RINGBUF_RESERVE,
    contract::HELPER_RINGBUF_SUBMIT,
    contract::HELPER_RINGBUF_DISCARD,
    contract::HELPER_RINGBUF_QUERY,
    contract::HELPER_PERF_EVENT_OUTPUT,
    contract::HELPER_KTIME_GET_COARSE_NS,
    contract::HELPER_TRACE_VPRINTK,
    contract::HELPER_SPIN_LOCK,
    contract::HELPER_SPIN_UNLOCK,
];

/// Helper ids the XDP ABI provides (for [`crate::validate::Limits`]).
pub fn xdp_helper_known(id: u32) -> bool {
    XDP_HELPER_IDS.contains(&id)
}

/// Helper ids the XDP ABI provides on the device (less [`not_on_device`]).
pub fn xdp_device_helper_known(id: u32) -> bool {
    xdp_helper_known(id) && not_on_device(id).is_none()
}

/// Helper ids the SUME ABI provides: map lookup, update and delete by
/// value, and the timer, PRNG and trace units.
pub const SUME_HELPER_IDS: &[u32] = &[
    contract::HELPER_MAP_LOOKUP_ELEM,
    contract::HELPER_MAP_UPDATE_ELEM,
    contract::HELPER_MAP_DELETE_ELEM,
    contract::HELPER_KTIME_GET_NS,
    contract::HELPER_TRACE_PRINTK,
    contract::HELPER_GET_PRANDOM_U32,
];

/// Helper ids the SUME ABI provides.
pub fn sume_helper_known(id: u32) -> bool {
    SUME_HELPER_IDS.contains(&id)
}

/// Helper ids the tc ABI provides (software engines only): map lookup,
/// update and delete through pointers, the timer (also as
/// `ktime_get_boot_ns`), PRNG, trace, `get_smp_processor_id`,
/// `csum_diff`, the skb helpers of [`tc`], and the queue, event and simple
/// helpers of [`events`]. Not `redirect_map`: Linux gives it to XDP
/// programs only.
pub const TC_HELPER_IDS: &[u32] = &[
    contract::HELPER_MAP_LOOKUP_ELEM,
    contract::HELPER_MAP_UPDATE_ELEM,
    contract::HELPER_MAP_DELETE_ELEM,
    contract::HELPER_KTIME_GET_NS,
    contract::HELPER_TRACE_PRINTK,
    contract::HELPER_GET_PRANDOM_U32,
    contract::HELPER_GET_SMP_PROCESSOR_ID,
    contract::HELPER_TAIL_CALL,
    contract::HELPER_SKB_STORE_BYTES,
    contract::HELPER_L3_CSUM_REPLACE,
    contract::HELPER_L4_CSUM_REPLACE,
    contract::HELPER_SKB_VLAN_PUSH,
    contract::HELPER_SKB_VLAN_POP,
    contract::HELPER_REDIRECT,
    contract::HELPER_SKB_LOAD_BYTES,
    contract::HELPER_CSUM_DIFF,
    contract::HELPER_SKB_PULL_DATA,
    contract::HELPER_SKB_CHANGE_PROTO,
    contract::HELPER_SKB_CHANGE_HEAD,
    contract::HELPER_SKB_ADJUST_ROOM,
    contract::HELPER_KTIME_GET_BOOT_NS,
    contract::HELPER_REDIRECT_NEIGH,
    contract::HELPER_FIB_LOOKUP,
    contract::HELPER_MAP_PUSH_ELEM,
    contract::HELPER_MAP_POP_ELEM,
    contract::HELPER_MAP_PEEK_ELEM,
    contract::HELPER_RINGBUF_OUTPUT,
    contract::HELPER_RINGBUF_RESERVE,
    contract::HELPER_RINGBUF_SUBMIT,
    contract::HELPER_RINGBUF_DISCARD,
    contract::HELPER_RINGBUF_QUERY,
    contract::HELPER_PERF_EVENT_OUTPUT,
    contract::HELPER_KTIME_GET_COARSE_NS,
    contract::HELPER_TRACE_VPRINTK,
    contract::HELPER_SPIN_LOCK,
    contract::HELPER_SPIN_UNLOCK,
];

/// Helper ids the tc ABI provides.
pub fn tc_helper_known(id: u32) -> bool {
    TC_HELPER_IDS.contains(&id)
}

/// Why the tc ABI does not provide helper `id`, for the helpers tc
/// programs use that the model deliberately leaves out.
pub fn tc_helper_refusal(id: u32) -> Option<&'static str> {
    Some(match id {
        13 => {
            "bpf_clone_redirect sends a copy of the packet and keeps the original: \
             two outputs, and an engine's verdict has one"
        }
        34 => {
            "the skb hash is Linux's flow dissector hash keyed with a random per-boot \
             secret: a model cannot compute the same value"
        }
        51 => "Linux gives bpf_redirect_map to XDP programs only; tc programs use bpf_redirect",
        20 | 21 | 29 | 30 => {
            "tunnel metadata (bpf_skb_{get,set}_tunnel_*) belongs to a tunnel device \
             the model does not have"
        }
        _ => return None,
    })
}

/// The software engines' helpers that the XDP and tc ABIs share with the
/// same body (their `perf_event_output` differs: the packet's bytes come
/// from `xdp_md` or `__sk_buff`).
const SOFTWARE_SHARED: [(u32, Body); 13] = [
    (contract::HELPER_FIB_LOOKUP, fib_lookup),
    (contract::HELPER_MAP_PUSH_ELEM, events::map_push_elem),
    (contract::HELPER_MAP_POP_ELEM, events::map_pop_elem),
    (contract::HELPER_MAP_PEEK_ELEM, events::map_peek_elem),
    (contract::HELPER_RINGBUF_OUTPUT, events::ringbuf_output),
    (contract::HELPER_RINGBUF_RESERVE, events::ringbuf_reserve),
    (contract::HELPER_RINGBUF_SUBMIT, events::ringbuf_submit),
    (contract::HELPER_RINGBUF_DISCARD, events::ringbuf_discard),
    (contract::HELPER_RINGBUF_QUERY, events::ringbuf_query),
    // Linux's coarse clock is the tick-granular one; the device has one
    // timer, at clock granularity.
    (contract::HELPER_KTIME_GET_COARSE_NS, ktime_get_ns),
    (contract::HELPER_TRACE_VPRINTK, events::trace_vprintk),
    (contract::HELPER_SPIN_LOCK, spin_lock),
    (contract::HELPER_SPIN_UNLOCK, spin_unlock),
];

/// The tc ABI's helpers for `engine`.
pub fn tc_helpers(dev: &SharedDeviceState, engine: usize) -> Helpers {
    let mut h = Helpers::new();
    // All but tail_call, registered after them (it can stop the program).
    let table: [(u32, Body); TC_HELPER_IDS.len() - 1 - SOFTWARE_SHARED.len()] = [
        (contract::HELPER_MAP_LOOKUP_ELEM, xdp_map_lookup),
        (contract::HELPER_MAP_UPDATE_ELEM, xdp_map_update),
        (contract::HELPER_MAP_DELETE_ELEM, xdp_map_delete),
        (contract::HELPER_KTIME_GET_NS, ktime_get_ns),
        (contract::HELPER_TRACE_PRINTK, trace_printk),
        (contract::HELPER_GET_PRANDOM_U32, get_prandom_u32),
        (contract::HELPER_GET_SMP_PROCESSOR_ID, get_smp_processor_id),
        (contract::HELPER_SKB_STORE_BYTES, tc::skb_store_bytes),
        (contract::HELPER_L3_CSUM_REPLACE, tc::l3_csum_replace),
        (contract::HELPER_L4_CSUM_REPLACE, tc::l4_csum_replace),
        (contract::HELPER_SKB_VLAN_PUSH, tc::skb_vlan_push),
        (contract::HELPER_SKB_VLAN_POP, tc::skb_vlan_pop),
        (contract::HELPER_REDIRECT, tc::redirect),
        (contract::HELPER_SKB_LOAD_BYTES, tc::skb_load_bytes),
        (contract::HELPER_CSUM_DIFF, csum_diff_helper),
        (contract::HELPER_SKB_PULL_DATA, tc::skb_pull_data),
        (contract::HELPER_SKB_CHANGE_PROTO, tc::skb_change_proto),
        (contract::HELPER_SKB_CHANGE_HEAD, tc::skb_change_head),
        (contract::HELPER_SKB_ADJUST_ROOM, tc::skb_adjust_room),
        // The device never suspends: boot time is the one timer.
        (contract::HELPER_KTIME_GET_BOOT_NS, ktime_get_ns),
        (contract::HELPER_REDIRECT_NEIGH, tc::redirect_neigh),
        (
            contract::HELPER_PERF_EVENT_OUTPUT,
            events::tc_perf_event_output,
        ),
    ];
    for (id, body) in table.into_iter().chain(SOFTWARE_SHARED) {
        register_ptr(&mut h, dev, engine, id, body);
    }
    register_tail_call(&mut h, dev, engine);
    h
}

/// The XDP ABI's helpers for `engine`.
pub fn xdp_helpers(dev: &SharedDeviceState, engine: usize) -> Helpers {
    let mut h = Helpers::new();
    // All but tail_call, registered after them (it can stop the program).
    let table: [(u32, Body); XDP_HELPER_IDS.len() - 1 - SOFTWARE_SHARED.len()] = [
        (contract::HELPER_MAP_LOOKUP_ELEM, xdp_map_lookup),
        (contract::HELPER_MAP_UPDATE_ELEM, xdp_map_update),
        (contract::HELPER_MAP_DELETE_ELEM, xdp_map_delete),
        (contract::HELPER_KTIME_GET_NS, ktime_get_ns),
        (contract::HELPER_TRACE_PRINTK, trace_printk),
        (contract::HELPER_GET_PRANDOM_U32, get_prandom_u32),
        (contract::HELPER_REDIRECT, redirect),
        (contract::HELPER_CSUM_DIFF, csum_diff_helper),
        (contract::HELPER_XDP_ADJUST_HEAD, xdp_adjust_head),
        (contract::HELPER_REDIRECT_MAP, redirect_map),
        (contract::HELPER_XDP_ADJUST_TAIL, xdp_adjust_tail),
        (contract::HELPER_GET_SMP_PROCESSOR_ID, get_smp_processor_id),
        (contract::HELPER_XDP_ADJUST_META, xdp_adjust_meta),
        (contract::HELPER_XDP_GET_BUFF_LEN, xdp_get_buff_len),
        (contract::HELPER_XDP_LOAD_BYTES, xdp_load_bytes),
        (contract::HELPER_XDP_STORE_BYTES, xdp_store_bytes),
        (
            contract::HELPER_PERF_EVENT_OUTPUT,
            events::xdp_perf_event_output,
        ),
    ];
    for (id, body) in table.into_iter().chain(SOFTWARE_SHARED) {
        register_ptr(&mut h, dev, engine, id, body);
    }
    register_tail_call(&mut h, dev, engine);
    let d = dev.clone();
    h.set_tick(move |mem, k| d.with(|s| buf_tick(s, engine, mem, k)));
    h
}

/// The SUME ABI's helpers for `engine`: map lookup/update/delete by value,
/// plus the timer, PRNG and trace units (which take no pointers but
/// trace_printk's format).
pub fn sume_helpers(dev: &SharedDeviceState, engine: usize) -> Helpers {
    let mut h = Helpers::new();
    let table: [(u32, Body); SUME_HELPER_IDS.len()] = [
        (contract::HELPER_MAP_LOOKUP_ELEM, sume_map_lookup),
        (contract::HELPER_MAP_UPDATE_ELEM, sume_map_update),
        (contract::HELPER_MAP_DELETE_ELEM, sume_map_delete),
        (contract::HELPER_KTIME_GET_NS, ktime_get_ns),
        (contract::HELPER_TRACE_PRINTK, trace_printk),
        (contract::HELPER_GET_PRANDOM_U32, get_prandom_u32),
    ];
    for (id, body) in table {
        register(&mut h, dev, engine, id, body);
    }
    h
}

pub mod events;
pub mod tc;
pub mod trace;
pub use trace::{RawTrace, TraceLog, TraceQueue, TraceRecord};

#[cfg(test)]
mod tests;

/// The device timer at clock `cycle` in nanoseconds.
pub fn now_ns(cycle: u64) -> u64 {
    (cycle as u128 * 1_000_000_000 / contract::CLOCK_HZ as u128) as u64
}
