//! Co-simulation of the helper units, map coprocessor and map registers
//! (`rtl/ebpf_units.v`, four engines) against the model.
//!
//! The model side is what the data plane model runs: a [`Device`] (SUME ABI)
//! for the host's register accesses ([`RegisterBus`]) and, on the same
//! shared device state, each engine's SUME helpers
//! ([`units::sume_helpers`]) called in the device's rotating engine order
//! with the device timer set to the clock, with arbitration on (as
//! [`Device`] sets it). A helper's answer is due `cycles - 1` clocks after
//! its request, `cycles` being what the unit reported
//! ([`units::EngineState::last_call`]) or, for an id the ABI lacks,
//! [`contract::HELPER_DEFAULT_CYCLES`] (what the engine model does).
//!
//! [`UnitsCosim`] drives both with the same stimulus, one clock at a time,
//! and compares in every clock: each engine's ack (so the latency, and with
//! it the arbiter's grant order), return value, fault and fault code; the
//! map-wait counters; every host register read and whether a host access is
//! refused. Host map operations (OPERATION) are compared when the RTL's ACK
//! rises: ERROR and the value registers; wide operations (WIDEOP) when
//! WIDESTATUS is done: WIDESTATUS and the 16 words of WIDEKEY and
//! WIDEVALUE. [`random_run`] is the seeded random stimulus (map tables
//! through the registers, MAPLOADs of some rows with large ARRAY/DEVMAP
//! rows filling the direct store, helper calls from all engines at once,
//! host and wide operations, after each phase a read-back of every key
//! through the host registers and a dump of every map by next-entry steps).
//!
//! The model's host operations take the RTL's clocks
//! ([`Device::set_host_clocked`]): ACK and WIDESTATUS polls are compared
//! clock by clock, a next-entry scan's busy clocks included. The RTL runs a
//! host operation when the coprocessor's queue is empty, which the model
//! assumes; the stimulus issues no engine request while a host operation
//! or a register write is under way. WIDEOP on a map with keys or values over 8
//! bytes (the RTL answers E2BIG, the model holds them) is not issued.
//! trace_printk (it reads its format through the engine's helper memory
//! port, which this harness does not drive) is never called here; the
//! data plane co-simulation (`tests/rtl_device.rs`) runs it.

use crate::rtl::{RtlUnits, UNITS_ENGINES, UnitsIn, UnitsOut};
use nfbpf_vm::abi::Abi;
use nfbpf_vm::contract;
use nfbpf_vm::device::{Device, DeviceConfig};
use nfbpf_vm::helpers::{HelperOutcome, Helpers};
use nfbpf_vm::mem::Memory;
use nfbpf_vm::pipeline::HelperLatency;
use nfbpf_vm::regs::{self, RegisterBus};
use nfbpf_vm::units::{self, SharedDeviceState};
use std::sync::{Arc, Mutex, PoisonError};

const N: usize = UNITS_ENGINES;
/// Fault codes of the helper port (`vm::regs` FAULTCAUSE encoding).
const F_UNKNOWN_HELPER: u64 = 3;
const F_HELPER: u64 = 4;

/// A difference between the RTL and the model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("clock {cycle}: {what}")]
pub struct Mismatch {
    pub cycle: u64,
    pub what: String,
}

/// What a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UnitsStats {
    pub clocks: u64,
    /// Helper calls answered (all ids).
    pub helper_calls: u64,
    /// Of which map operations (ids 1, 2, 3).
    pub map_calls: u64,
    /// Map operations that waited for another engine's.
    pub contended: u64,
    /// Map lookups that found their key.
    pub lookup_hits: u64,
    /// Map updates and deletes answered with -errno.
    pub errnos: u64,
    /// Calls answered with a helper fault.
    pub faults: u64,
    pub host_writes: u64,
    pub host_reads: u64,
    /// Host map operations (OPERATION), the final read-back included.
    pub host_ops: u64,
    /// Wide operations (WIDEOP), the dumps' next-key steps included.
    pub wide_ops: u64,
    /// Entries seen by the dumps.
    pub dumped: u64,
    /// MAPLOAD row reloads (refused ones included).
    pub reloads: u64,
    /// Map table rows read back holding a map (MAPROWTYPE not 0).
    pub rows_read: u64,
    /// Map rows the model and the RTL refused (shape, direct store, rows).
    pub refused_rows: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Ret(u64),
    Fault(u64),
}

#[derive(Debug, Clone, Copy)]
struct Call {
    id: u32,
    args: [u64; 5],
    issued: u64,
    due: u64,
    answer: Answer,
}

/// One host register access in a clock.
#[derive(Debug, Clone, Copy)]
enum Host {
    Write(u32, u32),
    /// Read and compare.
    Read(u32),
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Ret(v) => write!(f, "r0 = {v:#x}"),
            Answer::Fault(code) => write!(f, "fault code {code:#x}"),
        }
    }
}

impl std::fmt::Display for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Host::Write(off, v) => write!(f, "write of {v:#x} to {off:#x}"),
            Host::Read(off) => write!(f, "read of {off:#x}"),
        }
    }
}

/// Model and RTL side by side.
pub struct UnitsCosim {
    rtl: RtlUnits,
    dev: Device,
    shared: SharedDeviceState,
    helpers: Vec<Helpers>,
    mem: Memory,
    cycle: u64,
    calls: [Option<Call>; N],
    new: [Option<(u32, [u64; 5])>; N],
    pub stats: UnitsStats,
    /// The last host access was refused (by both sides: compared).
    pub last_refused: bool,
}

impl std::fmt::Debug for UnitsCosim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UnitsCosim")
            .field("cycle", &self.cycle)
            .field("calls", &self.calls)
            .field("stats", &self.stats)
            .finish()
    }
}

impl Default for UnitsCosim {
    fn default() -> Self {
        Self::new()
    }
}

impl UnitsCosim {
    pub fn new() -> Self {
        let mut dev = Device::new(DeviceConfig {
            engines: N,
            abi: Abi::Sume,
            ..DeviceConfig::default()
        })
        .expect("four engines is a valid device");
        // Host map operations in the RTL's clocks: every poll compared.
        dev.set_host_clocked(true);
        let shared = dev.units().clone();
        let helpers = (0..N).map(|e| units::sume_helpers(&shared, e)).collect();
        UnitsCosim {
            rtl: RtlUnits::new(),
            dev,
            shared,
            helpers,
            mem: Memory::new(),
            cycle: 0,
            calls: [None; N],
            new: [None; N],
            stats: UnitsStats::default(),
            last_refused: false,
        }
    }

    pub fn cycle(&self) -> u64 {
        self.cycle
    }

    /// Engine `e` has a call outstanding (or one issued for the next clock).
    pub fn busy(&self, e: usize) -> bool {
        self.calls[e].is_some() || self.new[e].is_some()
    }

    pub fn all_idle(&self) -> bool {
        (0..N).all(|e| !self.busy(e))
    }

    /// Engine `e` calls helper `id` with r1..r5 in the next clock.
    pub fn issue(&mut self, e: usize, id: u32, args: [u64; 5]) {
        assert!(!self.busy(e), "engine {e} already has a call outstanding");
        self.new[e] = Some((id, args));
    }

    fn err(&self, what: String) -> Mismatch {
        Mismatch {
            cycle: self.cycle,
            what,
        }
    }

    /// One clock, with at most one host access. Returns the RTL's read data.
    fn clock(&mut self, host: Option<Host>) -> Result<u32, Mismatch> {
        let c = self.cycle;
        self.shared.with(|d| d.cycle = c);
        let waits: Vec<u64> = (0..N)
            .map(|e| self.shared.with(|d| d.engine(e).coproc_wait))
            .collect();
        let mut inp = UnitsIn {
            cycle: c,
            ..UnitsIn::default()
        };
        // Host access (before the engines: the stimulus never mixes a write
        // with a new engine request in one clock).
        let mut want_read = None;
        let mut want_err = false;
        match host {
            Some(Host::Write(off, v)) => {
                inp.mreg_wr = 1;
                inp.mreg_addr = off.into();
                inp.mreg_wdata = v.into();
                // The model takes a register write after the clock it is
                // in (between steps, the units' cycle past it, as
                // vm::device's own stepping leaves it): a write of clock c.
                self.shared.with(|d| d.cycle = c + 1);
                want_err = self.dev.write32(off, v).is_err();
                self.shared.with(|d| d.cycle = c);
                self.stats.host_writes += 1;
            }
            Some(Host::Read(off)) => {
                inp.mreg_rd = 1;
                inp.mreg_addr = off.into();
                match self.dev.read32(off) {
                    Ok(v) => want_read = Some(v),
                    Err(_) => want_err = true,
                }
                self.stats.host_reads += 1;
            }
            None => {}
        }
        // New requests, in the device's rotating order.
        let first = (c % N as u64) as usize;
        for k in 0..N {
            let e = (first + k) % N;
            let Some((id, args)) = self.new[e].take() else {
                continue;
            };
            let r = self.helpers[e].call(id, &mut self.mem, args);
            let last = self.shared.with(|d| d.engine(e).last_call);
            let cycles = match (&r, last) {
                (Some(_), Some(l)) if l.id == id => u64::from(l.cycles),
                _ => contract::HELPER_DEFAULT_CYCLES,
            }
            .max(1);
            let answer = match r {
                None => Answer::Fault(F_UNKNOWN_HELPER),
                Some(Err(_)) => Answer::Fault(F_HELPER),
                Some(Ok(HelperOutcome::Return(v) | HelperOutcome::Unwind(v))) => Answer::Ret(v),
            };
            self.calls[e] = Some(Call {
                id,
                args,
                issued: c,
                due: c + cycles - 1,
                answer,
            });
        }
        for (e, call) in self.calls.iter().enumerate() {
            if let Some(call) = call {
                inp.helper_req |= 1 << e;
                inp.helper_id[e] = call.id.into();
                inp.args[e] = call.args;
            }
        }
        let o = self.rtl.eval(&inp);
        self.compare(&o, &waits, want_read, want_err, host)?;
        self.rtl.tick();
        self.cycle += 1;
        self.stats.clocks += 1;
        Ok(o.mreg_rdata as u32)
    }

    fn compare(
        &mut self,
        o: &UnitsOut,
        waits: &[u64],
        want_read: Option<u32>,
        want_err: bool,
        host: Option<Host>,
    ) -> Result<(), Mismatch> {
        let c = self.cycle;
        for (e, &w) in waits.iter().enumerate() {
            if o.mapwait[e] != w & 0xffff_ffff {
                return Err(self.err(format!(
                    "engine {e}: map wait counter {} (model {w})",
                    o.mapwait[e]
                )));
            }
        }
        if o.helper_unwind != 0 || o.ext_rdata != [0; N] {
            return Err(self.err("unwind or ext data from the SUME units".into()));
        }
        for e in 0..N {
            let acked = o.helper_ack >> e & 1 == 1;
            let Some(call) = self.calls[e] else {
                if acked {
                    return Err(self.err(format!("engine {e}: ack without a request")));
                }
                continue;
            };
            if acked != (call.due == c) {
                return Err(self.err(format!(
                    "engine {e}: helper {} issued at clock {} acked {} (model: due at clock {})",
                    call.id,
                    call.issued,
                    if acked { "now" } else { "not yet" },
                    call.due
                )));
            }
            if !acked {
                continue;
            }
            let fault = o.helper_fault >> e & 1 == 1;
            let got = if fault {
                Answer::Fault(o.helper_fault_code[e])
            } else {
                Answer::Ret(o.helper_ret[e])
            };
            if got != call.answer {
                return Err(self.err(format!(
                    "engine {e}: helper {} args {} answered {got}, model {}",
                    call.id,
                    call.args
                        .iter()
                        .map(|a| format!("{a:#x}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    call.answer
                )));
            }
            self.stats.helper_calls += 1;
            match call.answer {
                Answer::Fault(_) => self.stats.faults += 1,
                Answer::Ret(v) if call.id == 1 && v != contract::SUME_LOOKUP_MISS => {
                    self.stats.lookup_hits += 1
                }
                Answer::Ret(v) if (2..=3).contains(&call.id) && v != 0 => self.stats.errnos += 1,
                _ => {}
            }
            if (1..=3).contains(&call.id) {
                self.stats.map_calls += 1;
                let lat = self.shared.with(|d| {
                    let op = match call.id {
                        1 => nfbpf_vm::maps::MapOp::Lookup,
                        2 => nfbpf_vm::maps::MapOp::Update,
                        _ => nfbpf_vm::maps::MapOp::Delete,
                    };
                    d.maps.latency(call.args[0], op)
                });
                if call.due + 1 - call.issued > u64::from(lat) {
                    self.stats.contended += 1;
                }
            }
            self.calls[e] = None;
        }
        let got_err = o.mreg_err == 1;
        self.last_refused = got_err;
        if got_err != want_err {
            return Err(self.err(format!(
                "host access {}: RTL {} it, the model {}",
                host.map_or("none".into(), |h| h.to_string()),
                if got_err { "refuses" } else { "accepts" },
                if want_err { "refuses" } else { "accepts" }
            )));
        }
        if let Some(v) = want_read
            && o.mreg_rdata as u32 != v
        {
            return Err(self.err(format!(
                "host read {}: RTL {:#x}, model {v:#x}",
                host.map_or("none".into(), |h| h.to_string()),
                o.mreg_rdata
            )));
        }
        Ok(())
    }

    /// One clock without a host access.
    pub fn step(&mut self) -> Result<(), Mismatch> {
        self.clock(None).map(|_| ())
    }

    /// Write a register (one clock), comparing acceptance.
    pub fn write(&mut self, off: u32, v: u32) -> Result<(), Mismatch> {
        self.clock(Some(Host::Write(off, v))).map(|_| ())
    }

    /// Read a register (one clock), comparing the data.
    pub fn read(&mut self, off: u32) -> Result<u32, Mismatch> {
        self.clock(Some(Host::Read(off)))
    }

    /// Clock until every engine's call is answered.
    pub fn drain(&mut self) -> Result<(), Mismatch> {
        let mut n = 0;
        while !self.all_idle() {
            self.step()?;
            n += 1;
            if n > 10_000 {
                return Err(self.err("calls still outstanding after 10000 clocks".into()));
            }
        }
        Ok(())
    }

    /// A host map operation through the registers: map `map`, key, value,
    /// OPERATION `op`; waits for the RTL's ACK, then compares ERROR and the
    /// value registers.
    pub fn host_op(&mut self, map: u32, key: u64, value: u64, op: u32) -> Result<(), Mismatch> {
        self.write(regs::MAPSELECT, map)?;
        self.write(regs::HIKEY, (key >> 32) as u32)?;
        self.write(regs::LOKEY, key as u32)?;
        self.write(regs::HIDIN, (value >> 32) as u32)?;
        self.write(regs::LODIN, value as u32)?;
        self.write(regs::OPERATION, op)?;
        let mut n = 0;
        while self.read(regs::ACK)? != 1 {
            n += 1;
            if n > 1000 {
                return Err(self.err("host operation: no ACK after 1000 clocks".into()));
            }
        }
        self.stats.host_ops += 1;
        for r in [regs::ERROR, regs::HIDIN, regs::LODIN] {
            self.read(r)?;
        }
        Ok(())
    }
}

impl UnitsCosim {
    /// Poll `reg` until `done(value)`, every read compared (the model's
    /// host operations take the RTL's clocks).
    fn poll(&mut self, reg: u32, done: fn(u32) -> bool, what: &str) -> Result<(), Mismatch> {
        let mut n = 0;
        while !done(self.read(reg)?) {
            n += 1;
            if n > 5000 {
                return Err(self.err(format!("{what}: not done after 5000 clocks")));
            }
        }
        Ok(())
    }

    /// Read `reg` every clock from now until `done(value)` (at most
    /// `limit` clocks), every read compared: the values with their clocks.
    pub fn trace(
        &mut self,
        reg: u32,
        done: fn(u32) -> bool,
        limit: u64,
    ) -> Result<Vec<(u64, u32)>, Mismatch> {
        let mut out = Vec::new();
        loop {
            let c = self.cycle;
            let v = self.read(reg)?;
            out.push((c, v));
            if done(v) {
                return Ok(out);
            }
            if out.len() as u64 >= limit {
                return Err(self.err(format!("{reg:#x}: not done after {limit} clocks")));
            }
        }
    }

    /// A wide operation through the WIDE* window: map `map`, key and value
    /// in words 0 and 1 (`junk` in the other words, which a map of at most
    /// 8-byte keys and values ignores), WIDEOP `op`; polls WIDESTATUS until
    /// done, then compares it and the key and value windows. Returns the
    /// errno.
    pub fn wide_op(
        &mut self,
        map: u32,
        key: u64,
        value: u64,
        op: u32,
        junk: u32,
    ) -> Result<u32, Mismatch> {
        self.write(regs::MAPSELECT, map)?;
        for w in 0..regs::WIDE_WORDS {
            let (k, v) = match w {
                0 => (key as u32, value as u32),
                1 => ((key >> 32) as u32, (value >> 32) as u32),
                _ => (junk, !junk),
            };
            if w < 2 || junk != 0 {
                self.write(regs::WIDEKEY + 4 * w, k)?;
                self.write(regs::WIDEVALUE + 4 * w, v)?;
            }
        }
        self.write(regs::WIDEOP, op)?;
        self.poll(regs::WIDESTATUS, |v| v & 1 == 1, "wide operation")?;
        self.stats.wide_ops += 1;
        for w in 0..regs::WIDE_WORDS {
            self.read(regs::WIDEKEY + 4 * w)?;
            self.read(regs::WIDEVALUE + 4 * w)?;
        }
        Ok(self.dev.read32(regs::WIDESTATUS).unwrap_or(0) >> 16)
    }

    /// Every entry of map `map` in key order through WIDEOP 4 (the first
    /// with bit 8, then from the key left in WIDEKEY), compared step by
    /// step; returns the number of entries.
    pub fn dump(&mut self, map: u32) -> Result<u64, Mismatch> {
        self.write(regs::MAPSELECT, map)?;
        let mut op = 4 | 0x100;
        let mut n = 0;
        loop {
            self.write(regs::WIDEOP, op)?;
            self.poll(regs::WIDESTATUS, |v| v & 1 == 1, "next key")?;
            self.stats.wide_ops += 1;
            for w in 0..2 {
                self.read(regs::WIDEKEY + 4 * w)?;
                self.read(regs::WIDEVALUE + 4 * w)?;
            }
            if self.dev.read32(regs::WIDESTATUS).unwrap_or(0) >> 16 != 0 {
                return Ok(n);
            }
            n += 1;
            if n > 5000 {
                return Err(self.err(format!("map {map}: more than 5000 entries in a dump")));
            }
            op = 4;
        }
    }
}

/// xorshift64*: the stimulus's generator (reproducible from the seed).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        // splitmix64 of the seed: nearby seeds give unrelated streams.
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `p` percent.
    pub fn pct(&mut self, p: u64) -> bool {
        self.below(100) < p
    }

    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
}

/// A map row as the stimulus wrote it, and keys worth asking for.
#[derive(Debug, Clone)]
struct RowGen {
    keys: Vec<u64>,
}

fn low_mask(bytes: u64) -> u64 {
    if bytes >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * bytes)) - 1
    }
}

/// Write a random map table through the registers (refused rows
/// included); returns the key pools of the committed rows, in row order.
fn configure(s: &mut UnitsCosim, rng: &mut Rng) -> Result<Vec<RowGen>, Mismatch> {
    // Sometimes a refused NUMMAP first.
    if rng.pct(5) {
        s.write(regs::NUMMAP, contract::MAX_MAPS as u32 + 1)?;
    }
    let n = 1 + rng.below(8) as u32;
    s.write(regs::NUMMAP, n)?;
    s.read(regs::NUMMAP)?;
    let mut rows = Vec::new();
    for _ in 0..n + u32::from(rng.pct(10)) {
        if let Some(r) = write_row(s, rng, rows.len())? {
            rows.push(r);
        }
    }
    for r in [
        regs::TYPEMAP,
        regs::LOKEYMASKMAP,
        regs::MAXELEMSMAP,
        regs::KEYSIZEMAP,
    ] {
        s.read(r)?;
    }
    read_table(s, rng, n as usize + 1)?;
    Ok(rows)
}

/// Read back rows 0..n of the map table (MAPROWTYPE..MAPROWMAXELEMS), and
/// sometimes an index past the table, comparing the definitions.
fn read_table(s: &mut UnitsCosim, rng: &mut Rng, n: usize) -> Result<(), Mismatch> {
    let past = rng.pct(10).then_some(contract::MAX_MAPS as u32);
    for row in (0..n as u32).chain(past) {
        s.write(regs::MAPSELECT, row)?;
        for r in [
            regs::MAPROWTYPE,
            regs::MAPROWKEYSIZE,
            regs::MAPROWVALUESIZE,
            regs::MAPROWMAXELEMS,
        ] {
            let v = s.read(r)?;
            if r == regs::MAPROWTYPE && v != 0 {
                s.stats.rows_read += 1;
            }
        }
    }
    Ok(())
}

/// MAPLOAD: reload `count` random rows at a random base (sometimes past the
/// table, refused), then write them (refused rows included); `rows` gets
/// the new key pools (an empty pool for a row left empty).
fn reload(s: &mut UnitsCosim, rng: &mut Rng, rows: &mut Vec<RowGen>) -> Result<(), Mismatch> {
    let base = if rng.pct(5) {
        contract::MAX_MAPS as u64 - rng.below(2)
    } else {
        rng.below(rows.len() as u64 + 2)
    };
    let count = 1 + rng.below(4);
    s.stats.reloads += 1;
    s.write(regs::MAPLOAD, ((base << 8) | count) as u32)?;
    if (base + count) as usize > contract::MAX_MAPS {
        return Ok(());
    }
    let (base, end) = (base as usize, (base + count) as usize);
    if rows.len() < end {
        rows.resize(end, RowGen { keys: Vec::new() });
    }
    for r in &mut rows[base..end] {
        r.keys.clear();
    }
    let mut idx = base;
    for _ in 0..count + u64::from(rng.pct(10)) {
        if let Some(r) = write_row(s, rng, idx)? {
            rows[idx] = r;
            idx += 1;
        }
    }
    read_table(s, rng, end + 1)
}

/// Write one random map row (TYPEMAP..MAXELEMSMAP); the key pool when the
/// model committed it at row `idx`.
fn write_row(s: &mut UnitsCosim, rng: &mut Rng, idx: usize) -> Result<Option<RowGen>, Mismatch> {
    let t = rng.pick(&[
        contract::MAP_TYPE_HASH,
        contract::MAP_TYPE_HASH,
        contract::MAP_TYPE_ARRAY,
        contract::MAP_TYPE_LPM_TRIE,
        contract::MAP_TYPE_LPM_TRIE,
        contract::MAP_TYPE_DEVMAP,
        5,
    ]);
    // Direct rows sometimes large, so the direct store fills up.
    let big = |rng: &mut Rng, n: u64| {
        if rng.pct(15) {
            100 + rng.below(600)
        } else {
            1 + rng.below(n)
        }
    };
    let (ks, vs, max) = match t {
        contract::MAP_TYPE_ARRAY => (4, 1 + rng.below(8), big(rng, 64)),
        contract::MAP_TYPE_DEVMAP => (4, rng.pick(&[4, 8]), big(rng, 32)),
        contract::MAP_TYPE_LPM_TRIE => (5 + rng.below(4), 1 + rng.below(8), 1 + rng.below(80)),
        _ => (1 + rng.below(8), 1 + rng.below(8), 1 + rng.below(80)),
    };
    // Occasionally a shape the model refuses or a wide size.
    let (ks, vs, max) = match rng.below(20) {
        0 => (ks, vs, 0),
        1 => (ks + 1, vs, max),
        2 => (ks, 0, max),
        _ => (ks, vs, max),
    };
    s.write(regs::TYPEMAP, t)?;
    let km = low_mask(ks);
    let vm = low_mask(vs);
    s.write(regs::HIKEYMASKMAP, (km >> 32) as u32)?;
    s.write(regs::LOKEYMASKMAP, km as u32)?;
    s.write(regs::HIVALUEMASKMAP, (vm >> 32) as u32)?;
    s.write(regs::LOVALUEMASKMAP, vm as u32)?;
    if rng.pct(4) {
        s.write(regs::KEYSIZEMAP, rng.pick(&[4, 8, 12, 16]))?;
    }
    if rng.pct(4) {
        s.write(regs::VALUESIZEMAP, rng.pick(&[4, 8, 16]))?;
    }
    s.write(regs::MAXELEMSMAP, max as u32)?;
    // A refused row leaves the next write to the same row index.
    let Some(def) = s.shared.with(|d| d.maps.def(idx).cloned()) else {
        s.stats.refused_rows += 1;
        return Ok(None);
    };
    let mut keys = Vec::new();
    let kmask = low_mask(u64::from(def.key_size));
    match def.kind {
        nfbpf_vm::maps::MapType::Array | nfbpf_vm::maps::MapType::Devmap => {
            let m = u64::from(def.max_entries);
            keys.extend(0..m.min(40) + 2);
            keys.extend([m - 1, m, m + 1, rng.below(m + 4)]);
        }
        nfbpf_vm::maps::MapType::LpmTrie => {
            let maxp = u64::from(def.key_size.saturating_sub(4)) * 8;
            let bases: Vec<u64> = (0..4).map(|_| rng.next_u64()).collect();
            for _ in 0..12 {
                let plen = rng.below(maxp + 3);
                let data = rng.pick(&bases) ^ (rng.below(4) << rng.below(32));
                keys.push(((data << 32) | plen) & kmask);
            }
        }
        // HASH (the device's rows are of its four types only).
        _ => {
            for _ in 0..12 {
                keys.push(rng.next_u64() & kmask & rng.pick(&[0xff, 0xffff, u64::MAX]));
            }
        }
    }
    Ok(Some(RowGen { keys }))
}

fn random_call(rng: &mut Rng, rows: &[RowGen]) -> (u32, [u64; 5]) {
    let r = rng.below(100);
    let id = match r {
        0..=69 => rng.pick(&[
            contract::HELPER_MAP_LOOKUP_ELEM,
            contract::HELPER_MAP_UPDATE_ELEM,
            contract::HELPER_MAP_UPDATE_ELEM,
            contract::HELPER_MAP_DELETE_ELEM,
        ]),
        70..=79 => contract::HELPER_KTIME_GET_NS,
        80..=91 => contract::HELPER_GET_PRANDOM_U32,
        _ => rng.pick(&[0, 4, 8, 23, 28, 51, 200]),
    };
    let mut a = [0u64; 5];
    for x in a.iter_mut() {
        *x = rng.next_u64();
    }
    if (1..=3).contains(&id) {
        let row = if !rows.is_empty() && rng.pct(90) {
            rng.below(rows.len() as u64) as usize
        } else {
            rows.len()
        };
        a[0] = match rng.below(40) {
            0 => contract::MAP_BASE + 8,
            1 => 0,
            _ => contract::map_handle(row),
        };
        let pool = rows.get(row).map(|r| r.keys.as_slice()).unwrap_or(&[]);
        if !pool.is_empty() && rng.pct(90) {
            a[1] = rng.pick(pool);
        }
        a[2] = match rng.below(10) {
            0 => 0,
            1 => rng.next_u64() << 32,
            _ => rng.next_u64(),
        };
        a[3] = match rng.below(20) {
            0 => 3,
            1 => 1 << 40,
            2..=5 => contract::BPF_NOEXIST,
            6..=9 => contract::BPF_EXIST,
            _ => contract::BPF_ANY,
        };
    }
    (id, a)
}

/// Map `row` exists with keys and values of at most 8 bytes, or does not
/// exist (wide operations on wider maps: the RTL answers E2BIG, the model
/// holds them; the stimulus leaves them out, docs/rtl.md).
fn narrow(s: &UnitsCosim, row: u32) -> bool {
    s.shared.with(|d| {
        d.maps
            .def(row as usize)
            .is_none_or(|def| def.key_size <= 8 && def.value_size <= 8)
    })
}

/// A seeded random run of at least `ops` helper calls and host operations:
/// map tables written through the registers, helper calls from all four
/// engines at once (with contention at the coprocessor), host operations
/// between them, and after each phase every key of every map read back
/// through the host registers.
pub fn random_run(seed: u64, ops: u64) -> Result<UnitsStats, Mismatch> {
    let mut rng = Rng::new(seed);
    let mut s = UnitsCosim::new();
    let mut rows: Vec<RowGen> = Vec::new();
    while s.stats.helper_calls + s.stats.host_ops < ops {
        // Traffic on at least one map (a table of refused rows only is
        // configured again); after a MAPLOAD the table as reloaded.
        while rows.iter().all(|r| r.keys.is_empty()) {
            rows = configure(&mut s, &mut rng)?;
        }
        let clocks = 200 + rng.below(800);
        let load = 20 + rng.below(80);
        for _ in 0..clocks {
            if rng.pct(3) {
                // A host operation: no new engine request until it is done.
                let row = rng.below(rows.len() as u64 + 1) as u32;
                let key = rows
                    .get(row as usize)
                    .filter(|r| !r.keys.is_empty())
                    .map_or(rng.next_u64(), |r| rng.pick(&r.keys));
                if rng.pct(50) {
                    s.host_op(row, key, rng.next_u64(), rng.pick(&[0, 1, 1, 2, 3, 3, 4]))?;
                } else if narrow(&s, row) {
                    let op = rng.pick(&[0, 1, 1, 1, 2, 3, 3, 4, 0x104, 5]);
                    let flags = rng.pick(&[0, 0, 0, 1, 2, 3]) << 8;
                    let junk = if rng.pct(20) {
                        rng.next_u64() as u32
                    } else {
                        0
                    };
                    let op = if op & 0xff == 1 { op | flags } else { op };
                    s.wide_op(row, key, rng.next_u64(), op, junk)?;
                }
                continue;
            }
            for e in 0..N {
                if !s.busy(e) && rng.pct(load) {
                    let (id, a) = random_call(&mut rng, &rows);
                    s.issue(e, id, a);
                }
            }
            if rng.pct(3) {
                s.read(rng.pick(&[regs::CAMFULL, regs::TCAMFULL, regs::COPROCARBFSMSTATE]))?;
            } else {
                s.step()?;
            }
        }
        s.drain()?;
        for (i, r) in rows.iter().enumerate() {
            for &k in &r.keys {
                s.host_op(i as u32, k, 0, 3)?;
            }
            if narrow(&s, i as u32) {
                s.stats.dumped += s.dump(i as u32)?;
            }
        }
        if rng.pct(40) {
            reload(&mut s, &mut rng, &mut rows)?;
            continue;
        }
        rows.clear();
        if rng.pct(20) {
            s.write(regs::CLEAN, 1)?;
            s.read(regs::CLEANACK)?;
        }
    }
    Ok(s.stats)
}

/// `ebpf_units` as the helper unit of engine `engine` of the engine harness
/// ([`crate::engine::RtlEngine`]): a call drives the units' helper port of
/// that engine until its ack, clocking the units; the answer and the clocks
/// it took become the harness's helper answer and latency
/// ([`UnitsPort::helpers`]). With one engine calling, the units see exactly
/// what they would in lockstep with the engine (nothing else moves them).
/// The units' timer (`cycle_i`) is their own clock count. Maps are set up
/// and read back through the host registers.
#[derive(Debug)]
pub struct UnitsPort {
    rtl: RtlUnits,
    engine: usize,
    cycle: u64,
    last: Option<(u32, u64)>,
}

impl UnitsPort {
    pub fn new(engine: usize) -> Self {
        assert!(engine < N, "ebpf_units serves engines 0..{N}");
        UnitsPort {
            rtl: RtlUnits::new(),
            engine,
            cycle: 0,
            last: None,
        }
    }

    fn clock(&mut self, mut i: UnitsIn) -> UnitsOut {
        i.cycle = self.cycle;
        let o = self.rtl.eval(&i);
        self.rtl.tick();
        self.cycle += 1;
        o
    }

    /// Write a map register; `Err` when the units refuse it.
    pub fn write(&mut self, off: u32, v: u32) -> Result<(), String> {
        let o = self.clock(UnitsIn {
            mreg_wr: 1,
            mreg_addr: off.into(),
            mreg_wdata: v.into(),
            ..UnitsIn::default()
        });
        if o.mreg_err != 0 {
            return Err(format!("register {off:#x} refused the write of {v:#x}"));
        }
        Ok(())
    }

    pub fn read(&mut self, off: u32) -> u32 {
        self.clock(UnitsIn {
            mreg_rd: 1,
            mreg_addr: off.into(),
            ..UnitsIn::default()
        })
        .mreg_rdata as u32
    }

    /// A host map operation (OPERATION `op` on map `map`): ERROR and the
    /// 64-bit value registers once ACK rises.
    pub fn host_op(
        &mut self,
        map: u32,
        key: u64,
        value: u64,
        op: u32,
    ) -> Result<(u32, u64), String> {
        for (r, v) in [
            (regs::MAPSELECT, map),
            (regs::HIKEY, (key >> 32) as u32),
            (regs::LOKEY, key as u32),
            (regs::HIDIN, (value >> 32) as u32),
            (regs::LODIN, value as u32),
            (regs::OPERATION, op),
        ] {
            self.write(r, v)?;
        }
        let mut n = 0;
        while self.read(regs::ACK) != 1 {
            n += 1;
            if n > 1000 {
                return Err("host operation: no ACK after 1000 clocks".into());
            }
        }
        let err = self.read(regs::ERROR);
        let v = (u64::from(self.read(regs::HIDIN)) << 32) | u64::from(self.read(regs::LODIN));
        Ok((err, v))
    }

    /// One helper call: `Ok(r0)` or `Err(fault code)`, and the clocks from
    /// request to ack (both counted).
    pub fn call(&mut self, id: u32, args: [u64; 5]) -> (Result<u64, u64>, u64) {
        let e = self.engine;
        let mut i = UnitsIn {
            helper_req: 1 << e,
            ..UnitsIn::default()
        };
        i.helper_id[e] = id.into();
        i.args[e] = args;
        let mut clocks = 0;
        loop {
            clocks += 1;
            let o = self.clock(i);
            if o.helper_ack >> e & 1 == 1 {
                let r = if o.helper_fault >> e & 1 == 1 {
                    Err(o.helper_fault_code[e])
                } else {
                    Ok(o.helper_ret[e])
                };
                self.last = Some((id, clocks));
                return (r, clocks);
            }
            if clocks > 100_000 {
                self.last = Some((id, clocks));
                return (Err(F_HELPER), clocks);
            }
        }
    }

    /// The SUME ABI's helper ids but trace_printk (no engine memory here)
    /// answered by `port`, and the latency each call took there.
    pub fn helpers(port: &Arc<Mutex<UnitsPort>>) -> (Helpers, HelperLatency) {
        let mut h = Helpers::new();
        for &id in units::SUME_HELPER_IDS {
            if id == contract::HELPER_TRACE_PRINTK {
                continue;
            }
            let Some(u) = units::unit(id) else { continue };
            let p = port.clone();
            h.register(id, u.name, move |_, args| {
                let mut p = p.lock().unwrap_or_else(PoisonError::into_inner);
                match p.call(id, args).0 {
                    Ok(v) => Ok(HelperOutcome::Return(v)),
                    Err(code) => Err(format!("ebpf_units answered fault code {code}")),
                }
            });
        }
        let p = port.clone();
        let lat = HelperLatency {
            after_call: Some(Arc::new(move |id| {
                p.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .last
                    .filter(|(i, _)| *i == id)
                    .map(|(_, c)| c)
            })),
            ..HelperLatency::default()
        };
        (h, lat)
    }
}
