//! The map kinds that queue values or carry events to the host: QUEUE,
//! STACK, RINGBUF and PERF_EVENT_ARRAY (software engines only; the device
//! refuses them, [`MapType::not_on_device`]).
//!
//! # QUEUE and STACK
//! Linux's `queue_stack_maps.c`: no key (`key_size` 0), `max_entries`
//! values. `push` with a full map fails with `-E2BIG`, unless the flags
//! have `BPF_EXIST`, which drops the oldest value to make room (for both
//! kinds); `BPF_NOEXIST` and flags above `BPF_EXIST` are `-EINVAL`. `pop` and `peek` take the
//! oldest value (QUEUE) or the newest (STACK); an empty map is `-ENOENT`.
//!
//! # RINGBUF
//! Linux's `ringbuf.c`: no key or value size; `max_entries` is the ring's
//! size in bytes, a power of two multiple of the 4 KiB page. A record takes
//! its size plus an 8-byte header, rounded up to 8 bytes, from the producer
//! position; a reservation that would take the producer more than `size -
//! 1` bytes ahead of the consumer fails (reserve returns NULL, output
//! `-EAGAIN`). Records reach the host in the order of their positions: the
//! host's consumer ([`MapTable::take_events`]) walks from its position,
//! skips discarded records and stops at one still reserved, as libbpf's
//! does. Positions count bytes from the map's creation
//! (`bpf_ringbuf_query`). A program writes a reserved record through its
//! pointer into the map's value area, which is the data area twice (Linux
//! maps the data pages twice, so a record is contiguous across the wrap).
//!
//! # PERF_EVENT_ARRAY
//! Index `i` holds the perf event the host opened on CPU `i` (libbpf's perf
//! buffer opens one per CPU; here every index below `max_entries` has one,
//! and one engine is one CPU). `bpf_perf_event_output` to an index that is
//! not the running engine's fails with `-EOPNOTSUPP`, as Linux refuses an
//! event of another CPU. Events are kept until the host takes them.

use super::{ConfigError, MapDef, MapError, MapTable, MapType};
use crate::contract::{self, BPF_EXIST, PAGE_BYTES, RINGBUF_HDR_BYTES};
use crate::mem::Memory;
use std::collections::VecDeque;

/// Where an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventSource {
    /// A RINGBUF record (`bpf_ringbuf_output`, or reserve and submit).
    Ringbuf,
    /// A `bpf_perf_event_output` sample on this CPU's event (the index of
    /// the PERF_EVENT_ARRAY).
    PerfEvent { cpu: u32 },
}

/// Data a program sent to the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Map index and name.
    pub map: usize,
    pub name: String,
    pub source: EventSource,
    /// The record (ringbuf) or the sample: the data, then the packet bytes
    /// the flags asked for (perf).
    pub data: Vec<u8>,
}

impl EventSource {
    /// `ringbuf`, `perf_event_array`.
    pub fn kind(self) -> &'static str {
        match self {
            EventSource::Ringbuf => "ringbuf",
            EventSource::PerfEvent { .. } => "perf_event_array",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum RecState {
    Busy,
    Committed(Vec<u8>),
    Discarded,
}

#[derive(Debug, Clone)]
struct Record {
    pos: u64,
    /// Bytes the record takes in the ring (header and padding included).
    span: u64,
    size: u32,
    state: RecState,
}

/// The per-map state of these kinds (empty for the others).
#[derive(Debug, Clone, Default)]
pub(super) struct RowEvents {
    /// QUEUE and STACK: oldest first.
    values: VecDeque<Vec<u8>>,
    /// RINGBUF: consumer and producer positions, records not yet consumed.
    cons: u64,
    prod: u64,
    records: VecDeque<Record>,
    /// PERF_EVENT_ARRAY: samples (CPU, data) not yet taken by the host.
    perf: Vec<(u32, Vec<u8>)>,
}

impl RowEvents {
    /// Values held (QUEUE, STACK), records not consumed (RINGBUF), samples
    /// not taken (PERF_EVENT_ARRAY).
    pub(super) fn len(&self) -> usize {
        self.values.len() + self.records.len() + self.perf.len()
    }
}

/// The shape checks of these kinds, as Linux's `map_alloc_check`s (`None`
/// for the other kinds).
pub(super) fn check(d: &MapDef) -> Option<Result<(), ConfigError>> {
    let bad = |what: String| {
        Some(Err(ConfigError::Shape {
            kind: d.kind.name(),
            what,
        }))
    };
    match d.kind {
        MapType::Queue | MapType::Stack => {
            if d.key_size != 0 || d.value_size == 0 || d.max_entries == 0 {
                return bad(format!(
                    "key_size {}, value_size {}, max_entries {} (the key size must be 0, the \
                     value size and max_entries non-zero)",
                    d.key_size, d.value_size, d.max_entries
                ));
            }
        }
        MapType::Ringbuf => {
            if d.key_size != 0 || d.value_size != 0 {
                return bad(format!(
                    "key_size {} / value_size {} (a ring buffer has neither: both must be 0)",
                    d.key_size, d.value_size
                ));
            }
            let n = d.max_entries;
            if !n.is_power_of_two() || !n.is_multiple_of(PAGE_BYTES) {
                return bad(format!(
                    "max_entries {n}: a ring buffer's size in bytes must be a power of two \
                     multiple of the {PAGE_BYTES}-byte page"
                ));
            }
            if d.value_area() > contract::MAP_STRIDE {
                return bad(format!(
                    "max_entries {n}: a ring buffer of at most {} bytes fits one map's value \
                     area (its data is mapped twice)",
                    contract::MAP_STRIDE / 2
                ));
            }
        }
        MapType::PerfEventArray => {
            if d.key_size != 4 || d.value_size != 4 || d.max_entries == 0 {
                return bad(format!(
                    "key_size {} / value_size {} / max_entries {} (must be 4 / 4 / non-zero)",
                    d.key_size, d.value_size, d.max_entries
                ));
            }
        }
        _ => return None,
    }
    Some(Ok(()))
}

/// The key-value operations on a kind that has none: the error naming
/// what to use instead.
pub(super) fn keyed(kind: MapType, op: &'static str) -> Result<(), MapError> {
    let hint = match kind {
        MapType::Queue | MapType::Stack => {
            " (push, pop and peek are; Linux's verifier refuses the program)"
        }
        MapType::Ringbuf => " (bpf_ringbuf_output, _reserve, _submit and _discard are)",
        MapType::PerfEventArray => " (bpf_perf_event_output is; the host opens its events)",
        _ => return Ok(()),
    };
    Err(MapError::NotOp {
        kind: kind.name(),
        op,
        hint,
    })
}

impl MapTable {
    fn ev_row(
        &mut self,
        handle: u64,
        want: &[MapType],
        op: &'static str,
    ) -> Result<(usize, &mut super::Row), MapError> {
        let i = self.index_of(handle)?;
        let r = self.rows[i].as_mut().ok_or(MapError::NoMap(handle))?;
        if !want.contains(&r.def.kind) {
            return Err(MapError::NotOp {
                kind: r.def.kind.name(),
                op,
                hint: "",
            });
        }
        Ok((i, r))
    }

    /// `bpf_map_push_elem`: `value` into a QUEUE or STACK.
    pub fn push(&mut self, handle: u64, value: &[u8], flags: u64) -> Result<(), MapError> {
        let (_, r) = self.ev_row(handle, &[MapType::Queue, MapType::Stack], "push")?;
        if value.len() != r.def.value_size as usize {
            return Err(MapError::Size {
                what: "value",
                got: value.len(),
                want: r.def.value_size,
            });
        }
        if flags & contract::BPF_NOEXIST != 0 || flags > BPF_EXIST {
            return Err(MapError::Inval);
        }
        let q = &mut r.ev.values;
        if q.len() >= r.def.max_entries as usize {
            if flags & BPF_EXIST == 0 {
                return Err(MapError::TooBig);
            }
            q.pop_front();
        }
        q.push_back(value.to_vec());
        Ok(())
    }

    /// `bpf_map_pop_elem` (`remove`) or `bpf_map_peek_elem`: the oldest
    /// value of a QUEUE, the newest of a STACK.
    pub fn pop(&mut self, handle: u64, remove: bool) -> Result<Vec<u8>, MapError> {
        let op = if remove { "pop" } else { "peek" };
        let (_, r) = self.ev_row(handle, &[MapType::Queue, MapType::Stack], op)?;
        let stack = r.def.kind == MapType::Stack;
        let q = &mut r.ev.values;
        let v = match (stack, remove) {
            (false, true) => q.pop_front(),
            (true, true) => q.pop_back(),
            (false, false) => q.front().cloned(),
            (true, false) => q.back().cloned(),
        };
        v.ok_or(MapError::NoEnt)
    }

    /// The values of QUEUE or STACK map `index` in the order `pop` takes
    /// them (empty for other kinds).
    pub fn queued(&self, index: usize) -> Vec<Vec<u8>> {
        let Some(r) = self.rows.get(index).and_then(Option::as_ref) else {
            return Vec::new();
        };
        match r.def.kind {
            MapType::Queue => r.ev.values.iter().cloned().collect(),
            MapType::Stack => r.ev.values.iter().rev().cloned().collect(),
            _ => Vec::new(),
        }
    }

    /// `bpf_ringbuf_reserve`: the address of a record of `size` bytes, or
    /// `None` when the ring has no room for it.
    pub fn ring_reserve(&mut self, handle: u64, size: u64) -> Result<Option<u64>, MapError> {
        let (i, r) = self.ev_row(handle, &[MapType::Ringbuf], "ringbuf_reserve")?;
        let ring = u64::from(r.def.max_entries);
        // Linux's RINGBUF_MAX_RECORD_SZ.
        if size > u64::from(u32::MAX / 4) {
            return Ok(None);
        }
        let span = (size + RINGBUF_HDR_BYTES).next_multiple_of(8);
        let e = &mut r.ev;
        if span > ring || e.prod + span - e.cons > ring - 1 {
            return Ok(None);
        }
        let pos = e.prod;
        e.prod += span;
        e.records.push_back(Record {
            pos,
            span,
            size: size as u32,
            state: RecState::Busy,
        });
        Ok(Some(
            contract::map_handle(i) + (pos & (ring - 1)) + RINGBUF_HDR_BYTES,
        ))
    }

    /// `bpf_ringbuf_submit` (`discard` false) or `bpf_ringbuf_discard` of
    /// the record at `addr`, its bytes read from `mem` (where the values
    /// are lent while a program runs). `Err` names what is wrong when
    /// `addr` is not a reserved record (Linux's verifier refuses that).
    pub fn ring_commit(&mut self, addr: u64, discard: bool, mem: &Memory) -> Result<(), String> {
        let base = addr & !(contract::MAP_STRIDE - 1);
        let what = if discard {
            "ringbuf_discard"
        } else {
            "ringbuf_submit"
        };
        let not = || format!("{what}: {addr:#x} is not a record reserved by bpf_ringbuf_reserve");
        let (_, r) = self
            .ev_row(base, &[MapType::Ringbuf], what)
            .map_err(|_| not())?;
        let ring = u64::from(r.def.max_entries);
        let rec = r
            .ev
            .records
            .iter_mut()
            .find(|x| {
                x.state == RecState::Busy && base + (x.pos & (ring - 1)) + RINGBUF_HDR_BYTES == addr
            })
            .ok_or_else(not)?;
        rec.state = if discard {
            RecState::Discarded
        } else {
            let b = mem
                .read_bytes(addr, rec.size as usize)
                .map_err(|e| format!("{what}: the record: {e}"))?;
            RecState::Committed(b.to_vec())
        };
        Ok(())
    }

    /// `bpf_ringbuf_output`: reserve, copy `data`, submit; `false` when
    /// the ring has no room.
    pub fn ring_output(&mut self, handle: u64, data: &[u8]) -> Result<bool, MapError> {
        if self.ring_reserve(handle, data.len() as u64)?.is_none() {
            return Ok(false);
        }
        let (_, r) = self.ev_row(handle, &[MapType::Ringbuf], "ringbuf_output")?;
        if let Some(rec) = r.ev.records.back_mut() {
            rec.state = RecState::Committed(data.to_vec());
        }
        Ok(true)
    }

    /// `bpf_ringbuf_query(ring, flags)`: available bytes, size, consumer
    /// or producer position; 0 for other flags, as Linux.
    pub fn ring_query(&mut self, handle: u64, flags: u64) -> Result<u64, MapError> {
        let (_, r) = self.ev_row(handle, &[MapType::Ringbuf], "ringbuf_query")?;
        let e = &r.ev;
        Ok(match flags {
            contract::BPF_RB_AVAIL_DATA => e.prod - e.cons,
            contract::BPF_RB_RING_SIZE => u64::from(r.def.max_entries),
            contract::BPF_RB_CONS_POS => e.cons,
            contract::BPF_RB_PROD_POS => e.prod,
            _ => 0,
        })
    }

    /// A `bpf_perf_event_output` sample on CPU `cpu`'s event of a
    /// PERF_EVENT_ARRAY.
    pub fn perf_output(&mut self, handle: u64, cpu: u32, data: Vec<u8>) -> Result<(), MapError> {
        let (_, r) = self.ev_row(handle, &[MapType::PerfEventArray], "perf_event_output")?;
        r.ev.perf.push((cpu, data));
        Ok(())
    }

    /// The host takes the events waiting in every RINGBUF and
    /// PERF_EVENT_ARRAY: map by map in index order, each map's in its own
    /// order (ring position, output order). A ring's consumer stops at a
    /// record still reserved.
    pub fn take_events(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        for (i, row) in self.rows.iter_mut().enumerate() {
            let Some(r) = row else { continue };
            let e = &mut r.ev;
            while e.records.front().is_some_and(|x| x.state != RecState::Busy) {
                let Some(rec) = e.records.pop_front() else {
                    break;
                };
                e.cons = rec.pos + rec.span;
                if let RecState::Committed(data) = rec.state {
                    out.push(Event {
                        map: i,
                        name: r.def.name.clone(),
                        source: EventSource::Ringbuf,
                        data,
                    });
                }
            }
            for (cpu, data) in e.perf.drain(..) {
                out.push(Event {
                    map: i,
                    name: r.def.name.clone(),
                    source: EventSource::PerfEvent { cpu },
                    data,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{BPF_ANY, BPF_NOEXIST, map_handle};

    fn table(defs: &[MapDef]) -> MapTable {
        let mut t = MapTable::default();
        for (i, d) in defs.iter().enumerate() {
            t.configure(i, d.clone()).unwrap();
        }
        t
    }

    #[test]
    fn shapes_are_checked_as_linux_does() {
        let ring = |n| MapDef::new(MapType::Ringbuf, 0, 0, n).named("rb");
        let e = MapTable::default()
            .configure(0, ring(5000))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("RINGBUF map: max_entries 5000")
                && e.contains("power of two multiple of the 4096-byte page"),
            "{e}"
        );
        assert!(MapTable::default().configure(0, ring(2048)).is_err());
        assert!(MapTable::default().configure(0, ring(1 << 20)).is_err());
        assert!(MapTable::default().configure(0, ring(8192)).is_ok());
        let e = MapTable::default()
            .configure(0, MapDef::new(MapType::Queue, 4, 4, 8))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("QUEUE map") && e.contains("key size must be 0"),
            "{e}"
        );
        assert!(
            MapTable::default()
                .configure(0, MapDef::new(MapType::PerfEventArray, 4, 8, 2))
                .is_err()
        );
    }

    #[test]
    fn queue_and_stack_push_pop_peek() {
        let mut t = table(&[
            MapDef::new(MapType::Queue, 0, 4, 3),
            MapDef::new(MapType::Stack, 0, 4, 3),
        ]);
        for h in [map_handle(0), map_handle(1)] {
            assert_eq!(t.pop(h, true), Err(MapError::NoEnt));
            for v in 1u32..=3 {
                t.push(h, &v.to_le_bytes(), BPF_ANY).unwrap();
            }
            // Full: -E2BIG, BPF_NOEXIST and unknown flags -EINVAL, BPF_EXIST
            // drops the oldest.
            assert_eq!(t.push(h, &[4, 0, 0, 0], BPF_ANY), Err(MapError::TooBig));
            assert_eq!(t.push(h, &[4, 0, 0, 0], BPF_NOEXIST), Err(MapError::Inval));
            assert_eq!(t.push(h, &[4, 0, 0, 0], 4), Err(MapError::Inval));
            t.push(h, &[4, 0, 0, 0], BPF_EXIST).unwrap();
        }
        assert_eq!(t.len(0), 3);
        assert_eq!(t.queued(0), [[2, 0, 0, 0], [3, 0, 0, 0], [4, 0, 0, 0]]);
        assert_eq!(t.queued(1), [[4, 0, 0, 0], [3, 0, 0, 0], [2, 0, 0, 0]]);
        assert_eq!(t.pop(map_handle(0), false).unwrap(), [2, 0, 0, 0]);
        assert_eq!(t.pop(map_handle(0), true).unwrap(), [2, 0, 0, 0]);
        assert_eq!(t.pop(map_handle(1), true).unwrap(), [4, 0, 0, 0]);
        assert_eq!(t.queued(1), [[3, 0, 0, 0], [2, 0, 0, 0]]);
        // The key-value operations are refused, naming the ones to use.
        let e = t.lookup(map_handle(0), &[]).value.unwrap_err().to_string();
        assert!(
            e.contains("lookup is not an operation of QUEUE maps"),
            "{e}"
        );
        assert!(t.keys(0).is_empty());
    }

    #[test]
    fn ring_reserve_until_full_and_consume_in_order() {
        let mut t = table(&[MapDef::new(MapType::Ringbuf, 0, 0, 4096).named("rb")]);
        let h = map_handle(0);
        let mut mem = Memory::new();
        t.lend(&mut mem).unwrap();
        // 19 records of 200 bytes (208 with the header) fit, not 20.
        let mut at = Vec::new();
        while let Some(a) = t.ring_reserve(h, 200).unwrap() {
            at.push(a);
        }
        assert_eq!(at.len(), 19);
        assert_eq!(t.ring_query(h, contract::BPF_RB_AVAIL_DATA), Ok(19 * 208));
        assert!(!t.ring_output(h, &[1; 200]).unwrap());
        // Submitted out of order, discarded, and one left reserved: the
        // host gets them in ring order and stops at the reserved one.
        mem.write_bytes(at[1], &[7; 200]).unwrap();
        t.ring_commit(at[1], false, &mem).unwrap();
        t.ring_commit(at[0], true, &mem).unwrap();
        assert!(
            t.ring_commit(at[0], false, &mem).is_err(),
            "already discarded"
        );
        assert!(t.ring_commit(at[0] + 1, false, &mem).is_err());
        mem.write_bytes(at[3], &[9; 200]).unwrap();
        t.ring_commit(at[3], false, &mem).unwrap();
        let ev = t.take_events();
        assert_eq!(ev.len(), 1);
        assert_eq!((ev[0].data.len(), ev[0].data[0]), (200, 7));
        assert_eq!(t.ring_query(h, contract::BPF_RB_CONS_POS), Ok(2 * 208));
        for &a in &at[2..] {
            if a != at[3] {
                t.ring_commit(a, false, &mem).unwrap();
            }
        }
        let ev = t.take_events();
        assert_eq!(ev.len(), 17);
        assert_eq!(ev[1].data, [9; 200]);
        assert_eq!(t.ring_query(h, contract::BPF_RB_AVAIL_DATA), Ok(0));
        assert_eq!(t.ring_query(h, contract::BPF_RB_PROD_POS), Ok(19 * 208));
        assert_eq!(t.ring_query(h, contract::BPF_RB_RING_SIZE), Ok(4096));
        // The ring wraps: a record across the end is contiguous in the
        // value area (the data twice).
        let a = t.ring_reserve(h, 1000).unwrap().unwrap();
        assert!(a - h + 1000 > 4096);
        mem.write_bytes(a, &[3; 1000]).unwrap();
        t.ring_commit(a, false, &mem).unwrap();
        assert_eq!(t.take_events()[0].data, [3; 1000]);
        t.reclaim(&mut mem);
    }
}
